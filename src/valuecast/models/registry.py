"""The models by their command-line names: class, label, production penalizer and fit inputs.

The one table the analysis (its candidate transaction models and their penalizers), ``valuecast
fit`` (which class fits which summary columns) and the report (how a model is named) read.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from valuecast.models.beta_geo_tv import BetaGeoTimeVarying, ModifiedBetaGeoTimeVarying
from valuecast.models.bgnbd import BetaGeo
from valuecast.models.ggompertz_nbd import GGompertzNBD
from valuecast.models.mbgnbd import ModifiedBetaGeo
from valuecast.models.pareto_nbd import ParetoNBD
from valuecast.models.pareto_nbd_tv import ParetoNBDTimeVarying


@dataclass(frozen=True)
class ModelInfo:
    """One model: ``class_name`` in :mod:`valuecast.models`, the summary columns it is fitted on."""

    name: str
    class_name: str
    inputs: tuple[str, ...]
    label: str | None = None
    penalizer: float = 0.0
    candidate: bool = False


_HISTORY = ("frequency", "recency", "T")

MODELS: dict[str, ModelInfo] = {
    info.name: info
    for info in (
        ModelInfo("bgnbd", "BetaGeo", _HISTORY, "BG/NBD", candidate=True),
        ModelInfo("pnbd", "ParetoNBD", _HISTORY, "Pareto/NBD", 1e-10, candidate=True),
        ModelInfo("mbgnbd", "ModifiedBetaGeo", _HISTORY, "MBG/NBD", 1e-10, candidate=True),
        ModelInfo("ggnbd", "GGompertzNBD", _HISTORY, "GGompertz/NBD", 1e-10),
        ModelInfo("bgbb", "BetaGeoBetaBinomial", ("frequency", "recency", "n_periods")),
        ModelInfo("gg", "GammaGamma", ("frequency", "monetary_value")),
        ModelInfo("sbg", "ShiftedBetaGeometric", ()),
    )
}
"""Every model ``valuecast fit`` knows, in command-line order."""

CANDIDATES: dict[str, type] = {"bgnbd": BetaGeo, "pnbd": ParetoNBD, "mbgnbd": ModifiedBetaGeo}
"""The candidate transaction models the analysis backtests by default (``--model auto``)."""

OPT_IN: dict[str, type] = {"ggnbd": GGompertzNBD}
"""Transaction models the analysis runs only when ``--model`` names them.  GGompertz/NBD is
opt-in: its likelihood integrates the lifetime numerically, and its fit takes about 20 times the
Pareto/NBD's (docs/methodology.md)."""

COSTLY_REFITS: frozenset[str] = frozenset(OPT_IN)
"""Models whose CLV interval is the delta method's unless asked otherwise: the bootstrap refits
the model 100 times, and a GGompertz/NBD refit integrates the lifetime per distinct history
(100 refits took 78 s of an 86 s analysis of CDNOW's 2,357 customers)."""

SELECTABLE: dict[str, type] = {**CANDIDATES, **OPT_IN}
"""Every transaction model the analysis can use: the candidates and the opt-in models."""

LABELS: dict[str, str] = {name: MODELS[name].label or name for name in SELECTABLE}
"""How the report names each transaction model."""

PENALIZERS: dict[str, float] = {
    name: MODELS[name].penalizer for name in SELECTABLE if MODELS[name].penalizer
}
"""A tiny ridge penalty on the parameters of the candidates that need one in production.

Pareto/NBD and MBG/NBD have a likelihood ridge towards no heterogeneity in dropout ((s, beta) or
(a, b) -> infinity with their ratio fixed) that shops without visible churn climb: the fit then
ends at a singular information matrix (no interval) and every prediction crawls through
hypergeometric functions at z -> 1 or per-customer quadrature, for minutes on a 20,000-customer
shop.  A penalty of 1e-10 times the sum of squared parameters (per customer) stops the climb
where the log-likelihood is flat to about 1 part in 10^5 (the data cannot tell those points
apart) and the fit takes under a second, and it moves a regular fit by far less than its
standard errors (CDNOW in days: Pareto/NBD r and s by under 1e-4 relative).  BG/NBD, whose
predictions stay closed-form, and the published-table tests use the models unpenalized.
"""


def model_class(name: str) -> type:
    """The class of the model called ``name`` (imported on use: ``fit`` needs only one)."""
    return getattr(import_module("valuecast.models"), MODELS[name].class_name)


def candidate_model(name: str, standard_errors: bool = True):
    """An unfitted transaction model of :data:`SELECTABLE`, with its production penalizer
    (``standard_errors=False``: fitted without the information matrix, :class:`~valuecast.models._fitting.BaseModel`)."""
    model = CANDIDATES[name] if name in CANDIDATES else OPT_IN[name]
    return model(penalizer=PENALIZERS.get(name, 0.0), standard_errors=standard_errors)


SEASONAL: dict[str, type] = {
    "bgnbd": BetaGeoTimeVarying,
    "pnbd": ParetoNBDTimeVarying,
    "mbgnbd": ModifiedBetaGeoTimeVarying,
}
"""The candidates' variants with time-varying purchase covariates (seasons, a user calendar):
the analysis names them ``<candidate>+season``."""

SEASON_SUFFIX = "+season"


def split_seasonal(name: str) -> tuple[str, bool]:
    """``"pnbd+season"`` -> ``("pnbd", True)``; a plain name -> ``(name, False)``."""
    if name.endswith(SEASON_SUFFIX):
        return name[: -len(SEASON_SUFFIX)], True
    return name, False


def seasonal_model(
    name: str, start: dict[str, float] | None = None, *, standard_errors: bool = True
):
    """An unfitted time-varying variant of the candidate ``name``, with its production penalizer
    (and ``start``, its fit's starting point, when given); ``standard_errors=False`` as
    :func:`candidate_model`'s."""
    return SEASONAL[name](
        penalizer=PENALIZERS.get(name, 0.0), initial_params=start, standard_errors=standard_errors
    )
