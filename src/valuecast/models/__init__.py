"""Probability models of customer purchasing ("buy till you die") and spend.

Each model lives in its own module; they are imported lazily so that ``import valuecast`` stays
fast for commands that never fit a model.
"""

from importlib import import_module
from typing import TYPE_CHECKING

from valuecast.models._fitting import (
    FitError,
    NoStandardErrorsWarning,
    NotFittedError,
    compress_histories,
    remembering_histories,
)
from valuecast.models._lockstep import run_together, takes_part

_MODELS = {
    "BetaGeo": "valuecast.models.bgnbd",
    "ParetoNBD": "valuecast.models.pareto_nbd",
    "GGompertzNBD": "valuecast.models.ggompertz_nbd",
    "ModifiedBetaGeo": "valuecast.models.mbgnbd",
    "BetaGeoBetaBinomial": "valuecast.models.bgbb",
    "GammaGamma": "valuecast.models.gamma_gamma",
    "ShiftedBetaGeometric": "valuecast.models.sbg",
}

__all__ = [
    "BetaGeo",
    "BetaGeoBetaBinomial",
    "FitError",
    "GGompertzNBD",
    "GammaGamma",
    "ModifiedBetaGeo",
    "NoStandardErrorsWarning",
    "NotFittedError",
    "ParetoNBD",
    "ShiftedBetaGeometric",
    "compress_histories",
    "remembering_histories",
    "run_together",
    "takes_part",
]

if TYPE_CHECKING:  # pragma: no cover
    from valuecast.models.bgbb import BetaGeoBetaBinomial
    from valuecast.models.bgnbd import BetaGeo
    from valuecast.models.gamma_gamma import GammaGamma
    from valuecast.models.ggompertz_nbd import GGompertzNBD
    from valuecast.models.mbgnbd import ModifiedBetaGeo
    from valuecast.models.pareto_nbd import ParetoNBD
    from valuecast.models.sbg import ShiftedBetaGeometric


def __getattr__(name: str):
    if name in _MODELS:
        return getattr(import_module(_MODELS[name]), name)
    raise AttributeError(f"module 'valuecast.models' has no attribute {name!r}")
