"""Backtest and model choice: fit on the past, predict a held-out stretch, score against what happened.

Its length (about 850 lines) is one job: the split, the candidates' fits (each also with the
covariates and with seasons where asked or possible), the naive baseline and the scores, which
are read together when a model choice is questioned.

The last part of the order history is held out (:func:`holdout_split`), each candidate model is
fitted on the calibration summary (the per-customer summary up to the calibration end, with the
``holdout_orders`` and ``holdout_revenue`` each customer actually produced afterwards), and
its predictions of holdout orders and revenue are scored per customer (:func:`score_predictions`)
next to a naive baseline (:func:`naive_baseline`).  :func:`backtest` picks the model with the
lowest holdout mean absolute error of orders; the result is JSON-ready for ``summary.json``.

Orders here are purchase days, as in the summary (several orders on one day count once), and
every holdout purchase of a calibration customer is a repeat purchase.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from valuecast.dates import as_date, days_text
from valuecast.models import FitError, GammaGamma, compress_histories
from valuecast.models.pareto_nbd_tv import dropout_piece_count
from valuecast.models.registry import (
    SEASON_SUFFIX,
    SEASONAL,
    SELECTABLE,
    candidate_model,
    seasonal_model,
    split_seasonal,
)

ArrayLike = Any

SIMPLICITY: tuple[str, ...] = ("bgnbd", "mbgnbd", "pnbd", "ggnbd")
"""Tie-break order: BG/NBD (closed-form likelihood) first, GGompertz/NBD (quadrature) last."""

SEASONS_BEYOND_CHANCE = 0.05
"""The p-value below which a seasonal variant's seasons are taken to be in the data
(:func:`_seasons_within_chance`)."""

REQUIRED_COLUMNS: tuple[str, ...] = (
    "frequency",
    "recency",
    "T",
    "average_order_value",
    "holdout_orders",
    "holdout_revenue",
)

READ_COLUMNS: tuple[str, ...] = (*REQUIRED_COLUMNS, "avg_repeat_order_value")
"""Every column of the calibration summary :func:`backtest` reads (the last one when present)."""

# what may go wrong in a fit or a prediction on real data, recorded rather than raised
_MODEL_ERRORS = (FitError, ValueError, ArithmeticError, np.linalg.LinAlgError)


# ------------------------------------------------------------------------------------------------
# the split
def holdout_split(
    first_date: date | datetime | str,
    last_date: date | datetime | str,
    holdout_fraction: float = 0.25,
    min_holdout_days: int = 90,
    min_calibration_days: int = 90,
) -> date:
    """The calibration end for a backtest of orders from ``first_date`` to ``last_date``.

    The holdout is the last ``holdout_fraction`` of the window (rounded to whole days), but at
    least ``min_holdout_days``: orders after the returned date (up to ``last_date``) are held
    out, orders on or before it are the calibration.  The calibration must keep at least
    ``min_calibration_days``; a shorter history raises ``ValueError`` saying so (a backtest on a
    few weeks of calibration says nothing about the models).  With the defaults the history needs
    at least 180 days (the 90-day holdout plus 90 days of calibration).
    """
    first = as_date(first_date, "first date", leading=True, optional=False)
    last = as_date(last_date, "last date", leading=True, optional=False)
    if not 0 < holdout_fraction < 1:
        raise ValueError("holdout_fraction must be between 0 and 1")
    if min_holdout_days < 1 or min_calibration_days < 1:
        raise ValueError("min_holdout_days and min_calibration_days must be at least 1")
    window = (last - first).days
    holdout = max(int(round(holdout_fraction * window)), int(min_holdout_days))
    if window - holdout < min_calibration_days:
        raise ValueError(
            f"{days_text(window)} of history from {first} to {last} leave less than "
            f"{min_calibration_days} days of calibration before a {holdout}-day holdout: "
            f"a backtest needs at least {min_holdout_days + min_calibration_days} days"
        )
    return last - timedelta(days=holdout)


# ------------------------------------------------------------------------------------------------
# scoring
def _finite_array(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).reshape(-1)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _relative_error(predicted: float, actual: float) -> float | None:
    return None if actual == 0 else (predicted - actual) / actual


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank (:func:`scipy.stats.rankdata`'s default).

    Written out so that the analysis does not import ``scipy.stats`` (0.9 s at start-up).  The
    sort need not be stable: tied values share one average rank whatever their order among
    themselves, and NumPy's default sort is several times faster (vectorised) than a merge sort.
    """
    order = np.argsort(values)
    ordered = values[order]
    starts = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    dense = np.empty(len(values), dtype=np.intp)
    dense[order] = np.cumsum(starts)
    bounds = np.concatenate((np.flatnonzero(starts), [len(values)]))
    return 0.5 * (bounds[dense] + bounds[dense - 1] + 1)


def spearman_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation: Pearson's correlation of the average ranks (as
    :func:`scipy.stats.spearmanr` computes it; ``nan`` where a ranking is constant)."""
    ranks = np.column_stack((average_ranks(np.asarray(a)), average_ranks(np.asarray(b))))
    return float(np.corrcoef(ranks, rowvar=False)[1, 0])


def _spearman(actual: np.ndarray, predicted: np.ndarray) -> tuple[float | None, str | None]:
    if len(actual) < 2:
        return None, "fewer than two customers"
    if np.ptp(actual) == 0:
        return None, "every customer has the same actual value (correlation undefined)"
    if np.ptp(predicted) == 0:
        return None, "every customer has the same prediction (correlation undefined)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rho = float(spearman_correlation(actual, predicted))
    return (rho, None) if math.isfinite(rho) else (None, "correlation undefined")


def top_decile_share(actual: ArrayLike, predicted: ArrayLike) -> float | None:
    """Share of the total ``actual`` captured by the customers with the top 10% of ``predicted``.

    The top decile holds ``ceil(n / 10)`` customers.  When customers with equal predictions
    straddle its edge, each of them counts for the same fraction (the open places divided by
    the tied customers): the share a random tie-break would give on average, so the result does
    not depend on the order of the rows.  ``None`` when the actual total is not positive.
    """
    a = _finite_array(actual, "actual")
    p = _finite_array(predicted, "predicted")
    if len(a) != len(p):
        raise ValueError("actual and predicted have different lengths")
    total = float(a.sum())
    if len(a) == 0 or total <= 0:
        return None
    k = math.ceil(len(a) / 10)
    edge = np.sort(p)[::-1][k - 1]
    above = p > edge
    tied = p == edge
    open_places = k - int(above.sum())
    captured = float(a[above].sum()) + open_places / int(tied.sum()) * float(a[tied].sum())
    return captured / total


def score_predictions(
    actual_orders: ArrayLike,
    predicted_orders: ArrayLike,
    actual_revenue: ArrayLike,
    predicted_revenue: ArrayLike,
) -> dict[str, Any]:
    """Per-customer accuracy of holdout predictions, JSON-ready.

    Returns a dict with ``n_customers``; ``mae_orders`` and ``mae_revenue`` (mean absolute error
    per customer); ``actual_orders``/``predicted_orders`` and ``actual_revenue``/
    ``predicted_revenue`` (totals) with ``aggregate_error_orders``/``aggregate_error_revenue``
    (``(predicted total - actual total) / actual total``); ``spearman_orders``/
    ``spearman_revenue`` (rank correlation, :func:`scipy.stats.spearmanr`);
    ``top_decile_revenue_share`` (:func:`top_decile_share` of revenue by predicted revenue) and
    ``top_decile_revenue_share_best`` (the same for a perfect ranking: the ceiling).  A figure
    that is undefined (constant input, zero actual total) is ``None`` and ``notes`` says why.
    """
    arrays = {
        name: _finite_array(values, name)
        for name, values in (
            ("actual_orders", actual_orders),
            ("predicted_orders", predicted_orders),
            ("actual_revenue", actual_revenue),
            ("predicted_revenue", predicted_revenue),
        )
    }
    lengths = {len(values) for values in arrays.values()}
    if len(lengths) != 1:
        raise ValueError(
            f"inputs have different lengths: { {k: len(v) for k, v in arrays.items()} }"
        )
    n = lengths.pop()
    if n == 0:
        raise ValueError("no customers to score")
    a_o, p_o = arrays["actual_orders"], arrays["predicted_orders"]
    a_r, p_r = arrays["actual_revenue"], arrays["predicted_revenue"]
    notes: dict[str, str] = {}
    out: dict[str, Any] = {
        "n_customers": int(n),
        "mae_orders": float(np.mean(np.abs(a_o - p_o))),
        "rmse_orders": float(np.sqrt(np.mean((a_o - p_o) ** 2))),
        "mae_revenue": float(np.mean(np.abs(a_r - p_r))),
        "actual_orders": float(a_o.sum()),
        "predicted_orders": float(p_o.sum()),
        "actual_revenue": float(a_r.sum()),
        "predicted_revenue": float(p_r.sum()),
    }
    for kind in ("orders", "revenue"):
        error = _relative_error(out[f"predicted_{kind}"], out[f"actual_{kind}"])
        out[f"aggregate_error_{kind}"] = error
        if error is None:
            notes[f"aggregate_error_{kind}"] = f"no actual holdout {kind}: relative error undefined"
    for kind, actual, predicted in (("orders", a_o, p_o), ("revenue", a_r, p_r)):
        rho, reason = _spearman(actual, predicted)
        out[f"spearman_{kind}"] = rho
        if reason:
            notes[f"spearman_{kind}"] = reason
    out["top_decile_revenue_share"] = top_decile_share(a_r, p_r)
    out["top_decile_revenue_share_best"] = top_decile_share(a_r, a_r)
    if out["top_decile_revenue_share"] is None:
        notes["top_decile_revenue_share"] = "no positive holdout revenue to capture"
    elif len(p_r) and np.ptp(p_r) == 0:  # a tenth picked by tie-break only: chance, not skill
        out["top_decile_revenue_share"] = None
        notes["top_decile_revenue_share"] = "every customer has the same prediction (no ranking)"
    out["notes"] = notes
    return out


# ------------------------------------------------------------------------------------------------
# the naive baseline
def naive_verdict(backtest: dict[str, Any], predicted: bool = True) -> str | None:
    """One plain sentence when no model beat the naive guess on the holdout, else None.

    ``backtest`` is the ``backtest`` entry of summary.json; the printed summary and the report
    show the sentence next to the backtest table.  ``predicted``: whether the analysis made
    predictions (when they are withheld there are none to read as rough estimates).
    """
    if backtest.get("best_beats_naive") is not False:
        return None
    naive = backtest.get("naive") or {}
    best = (backtest.get("models") or {}).get(backtest.get("best")) or {}
    advice = (
        "so read the predictions as rough estimates."
        if predicted
        else "and the predictions are withheld in any case."
    )
    return (
        "No model beat the naive guess (each customer's own past rate) on the holdout: "
        f"mean absolute error {best.get('mae_orders', float('nan')):.3f} orders per customer "
        f"against {naive.get('mae_orders', float('nan')):.3f}, {advice}"
    )


def _column(summary: pd.DataFrame, name: str) -> np.ndarray:
    if name not in summary.columns:
        raise ValueError(f"calibration summary has no {name} column")
    return _finite_array(summary[name], name)


def naive_baseline(calibration_summary: pd.DataFrame, holdout_days: float) -> pd.DataFrame:
    """Each customer's historical repeat-purchase rate carried forward over the holdout.

    ``predicted_orders = frequency / T * holdout_days``: repeat purchase days per day since the
    first purchase (the Poisson rate estimate that ignores dropout and pools nobody: exactly what
    the BTYD models add), 0 when ``T = 0``.  ``predicted_revenue`` is that times the customer's
    ``average_order_value``.  ``frequency`` and ``T`` must be in days, like ``holdout_days``.
    Returns columns ``predicted_orders, predicted_revenue`` on the summary's index.
    """
    if holdout_days <= 0:
        raise ValueError("holdout_days must be positive")
    frequency = _column(calibration_summary, "frequency")
    T = _column(calibration_summary, "T")
    value = _column(calibration_summary, "average_order_value")
    rate = np.divide(frequency, T, out=np.zeros(len(T)), where=T > 0)
    orders = rate * float(holdout_days)
    return pd.DataFrame(
        {"predicted_orders": orders, "predicted_revenue": orders * value},
        index=calibration_summary.index,
    )


# ------------------------------------------------------------------------------------------------
# the backtest
def _json(value: Any) -> Any:
    """Python scalars for numpy ones, None for NaN, recursively (``json.dumps`` ready)."""
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_json(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class CandidateResult:
    """One candidate's backtest: its scores, or the error that stopped it."""

    name: str
    scores: dict[str, Any] | None = None
    params: dict[str, float] | None = None
    log_likelihood: float | None = None
    error: str | None = None
    predicted_orders: np.ndarray | None = field(default=None, repr=False)
    predicted_revenue: np.ndarray | None = field(default=None, repr=False)
    weekly_cumulative: list[float] | None = None
    coefficients: dict[str, dict[str, float]] | None = None


@dataclass
class BacktestResult:
    """Everything :func:`backtest` found; :meth:`to_dict` is what goes into ``summary.json``."""

    holdout_days: float
    time_unit_days: float
    n_customers: int
    sampled_from: int | None
    candidates: dict[str, CandidateResult]
    naive: dict[str, Any]
    best: str | None
    spend_model: dict[str, Any]
    weekly: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    by_frequency: dict[str, Any] | None = None
    covariates: dict[str, Any] | None = None

    @property
    def best_beats_naive(self) -> bool | None:
        """Whether the chosen model's holdout MAE of orders is below the naive baseline's."""
        if self.best is None:
            return None
        return self.candidates[self.best].scores["mae_orders"] < self.naive["mae_orders"]

    def to_dict(self) -> dict[str, Any]:
        models: dict[str, Any] = {}
        for name, result in self.candidates.items():
            if result.error is not None:
                models[name] = {"error": result.error}
                continue
            entry = dict(result.scores or {})
            entry["beats_naive"] = entry["mae_orders"] < self.naive["mae_orders"]
            entry["params"] = result.params
            entry["log_likelihood"] = result.log_likelihood
            if result.coefficients is not None:
                entry["coefficients"] = result.coefficients
            models[name] = entry
        out = {
            "holdout_days": self.holdout_days,
            "time_unit_days": self.time_unit_days,
            "n_customers": self.n_customers,
            "sampled_from": self.sampled_from,
            "selection": f"{LOWEST_MAE_RULE}; {SEASONS_RULE}",
            "best": self.best,
            "best_beats_naive": self.best_beats_naive,
            "models": models,
            "naive": self.naive,
            "spend_model": self.spend_model,
            "notes": list(self.notes),
        }
        if self.weekly is not None:
            out["weekly"] = self.weekly
        if self.by_frequency is not None:
            out["by_frequency"] = self.by_frequency
        if self.covariates is not None:
            out["covariates"] = self.covariates
        return _json(out)


def _spend_values(summary: pd.DataFrame, frequency: np.ndarray) -> tuple[np.ndarray, dict]:
    """Expected order value per customer: Gamma-Gamma on calibration repeaters, else AOV."""
    aov = _column(summary, "average_order_value")
    reason = None
    if "avg_repeat_order_value" not in summary.columns:
        reason = "the summary has no avg_repeat_order_value column"
    else:
        repeat_value = np.nan_to_num(summary["avg_repeat_order_value"].to_numpy(dtype=float))
        usable = (frequency > 0) & (repeat_value > 0)
        if not usable.any():
            reason = "no calibration customer has a repeat purchase with positive value"
        else:
            try:
                # its estimates and log-likelihood are reported, never its standard errors
                model = GammaGamma(standard_errors=False).fit(
                    frequency[usable], repeat_value[usable]
                )
                # customers without a usable repeat purchase get the population mean (x = 0)
                values = model.expected_average_value(
                    np.where(usable, frequency, 0.0), np.where(usable, repeat_value, 0.0)
                )
                info = {
                    "name": "gamma_gamma",
                    "params": model.params_,
                    "log_likelihood": model.log_likelihood_,
                    "n_customers": int(usable.sum()),
                }
                return values, info
            except _MODEL_ERRORS as error:
                reason = f"Gamma-Gamma could not be fitted ({error})"
    return aov, {
        "name": "historic average",
        "reason": f"{reason}; each customer's own average order value is used",
    }


def _week_ends(holdout_days: float) -> np.ndarray:
    ends = np.arange(7.0, float(holdout_days), 7.0)
    return np.append(ends, float(holdout_days))


def cumulative_orders_by_week(days_after_calibration_end: ArrayLike, holdout_days: float) -> list:
    """Actual cumulative holdout purchases at the end of each holdout week (the last one partial).

    ``days_after_calibration_end`` has one entry per holdout purchase day of a calibration
    customer: how many days after the calibration end it fell (1 = the day after).  The week ends
    are days 7, 14, ... and ``holdout_days``, as in :attr:`BacktestResult.weekly`.
    """
    offsets = _finite_array(days_after_calibration_end, "days after calibration end")
    if ((offsets <= 0) | (offsets > holdout_days)).any():
        raise ValueError("holdout purchases must fall 1 to holdout_days days after calibration end")
    ends = _week_ends(holdout_days)
    return np.searchsorted(np.sort(offsets), ends, side="right").astype(float).tolist()


FREQUENCY_GROUPS = 8
"""Calibration frequencies 0, 1, ..., 6 and "7+" in :func:`holdout_by_frequency`."""


def holdout_by_frequency(
    frequency: ArrayLike,
    actual_orders: ArrayLike,
    predicted_orders: dict[str, ArrayLike],
    groups: int = FREQUENCY_GROUPS,
) -> dict[str, Any]:
    """Mean actual and predicted holdout orders per customer by calibration frequency.

    Customers are grouped by their calibration ``frequency`` (repeat purchase days): 0, 1, ...,
    ``groups - 2`` and ``"{groups - 1}+"`` for the rest, the classic calibration-by-frequency
    check of Fader, Hardie & Lee (2005, Figure 4).  Returns ``frequency`` (the group labels),
    ``customers`` (how many in each), ``actual`` (mean actual holdout orders) and ``predicted``
    (per name in ``predicted_orders``, the mean prediction), JSON-ready; groups without customers
    are left out.
    """
    if groups < 2:
        raise ValueError("groups must be at least 2")
    f = _finite_array(frequency, "frequency")
    actual = _finite_array(actual_orders, "actual orders")
    if len(actual) != len(f):
        raise ValueError("frequency and actual orders have different lengths")
    group = np.clip(np.floor(f), 0, groups - 1).astype(np.int64)
    counts = np.bincount(group, minlength=groups)
    present = counts > 0
    labels = [str(g) for g in range(groups - 1)] + [f"{groups - 1}+"]

    def means(values: np.ndarray) -> list[float]:
        sums = np.bincount(group, weights=values, minlength=groups)
        return (sums[present] / counts[present]).tolist()

    predicted = {}
    for name, values in predicted_orders.items():
        array = _finite_array(values, f"{name} predicted orders")
        if len(array) != len(f):
            raise ValueError(f"{name}: predictions and frequency have different lengths")
        predicted[name] = means(array)
    return {
        "frequency": [label for label, keep in zip(labels, present, strict=True) if keep],
        "customers": counts[present].tolist(),
        "actual": means(actual),
        "predicted": predicted,
    }


def sample_rows(n: int, max_customers: int, seed: int = 0) -> np.ndarray:
    """The sorted row positions (of ``n`` customers in customer_id order) :func:`backtest` keeps."""
    return np.sort(np.random.default_rng(seed).choice(n, max_customers, replace=False))


def _expected_by_horizon(model, horizons: np.ndarray, frequency, recency, T):
    """Each horizon's expected transactions per history: in one call where the model can (its
    P(alive) computed once), else one call per horizon."""
    grid = getattr(model, "expected_transactions_grid", None)
    if grid is not None:
        return grid(horizons, frequency, recency, T)
    return (model.expected_transactions(h, frequency, recency, T) for h in horizons)


def _weekly_actuals(given: ArrayLike | Callable[[], ArrayLike], weeks: int) -> np.ndarray:
    """The actual cumulative holdout purchases, one per week (called first when a function)."""
    actual = _finite_array(given() if callable(given) else given, "actual weekly cumulative")
    if len(actual) != weeks:
        raise ValueError(f"actual_weekly_cumulative needs {weeks} values, one per week")
    return actual


@dataclass
class _Holdout:
    """What every candidate is scored on: the calibration histories (in the model's unit), the
    holdout horizon, the actual holdout orders and revenue, the expected order values, the
    sample's scale-up and the weekly grid (with the compressed histories) when asked."""

    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    horizon: float
    actual_orders: np.ndarray
    actual_revenue: np.ndarray
    value: np.ndarray
    scale: float
    week_ends: np.ndarray | None
    compressed: tuple | None


def _evaluate(name: str, fit, holdout: _Holdout) -> CandidateResult:
    """Fit one candidate (``fit()`` returns the fitted model), predict the holdout, score it; a
    failure is recorded as the candidate's error."""
    h = holdout
    result = CandidateResult(name=name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            model = fit()
            predicted = np.asarray(
                model.expected_transactions(h.horizon, h.frequency, h.recency, h.T), dtype=float
            )
            if not np.all(np.isfinite(predicted)):
                raise FitError("non-finite holdout predictions")
            if h.week_ends is not None:
                uf, ur, uT, counts = h.compressed
                result.weekly_cumulative = [
                    h.scale * float(counts @ expected)
                    for expected in _expected_by_horizon(model, h.week_ends, uf, ur, uT)
                ]
    except _MODEL_ERRORS as error:
        message = " ".join(str(error).split()) or type(error).__name__
        result.error = f"{type(error).__name__}: {message}"
        result.weekly_cumulative = None
        return result
    result.params = dict(model.params_)
    result.log_likelihood = float(model.log_likelihood_)
    result.predicted_orders = predicted
    result.predicted_revenue = predicted * h.value
    result.scores = score_predictions(
        h.actual_orders, predicted, h.actual_revenue, result.predicted_revenue
    )
    return result


SEASONAL_PNBD_MAX_PIECES = 2_000_000
"""The time-varying Pareto/NBD is tried only while its likelihood, on the whole shop, stays under
this many period pieces (each distinct history's months between its last purchase and the end):
one likelihood-and-gradient costs about 1.3 s per million pieces on 2 cores, a fit takes 25 to 60
of them, and the final fit's information matrix one more per parameter (sixteen with the month
dummies).  The BG/NBD and MBG/NBD variants (closed form) have no limit."""


def _seasonal_candidates(
    candidates: Sequence[str], seasonal, summary: pd.DataFrame, holdout: _Holdout, unit: float,
    notes: list[str],
) -> dict[str, CandidateResult]:  # fmt: skip
    """Each candidate that has a time-varying variant, fitted with ``seasonal``'s covariates."""
    periods = seasonal.periods
    if unit != 1.0:
        periods = type(periods)(periods.edges / unit, periods.values, periods.names)
    sums = seasonal.row_sums(*(summary[c].to_numpy(float) for c in ("frequency", "recency", "T")))
    (_, ur, uT), _, _ = compress_histories(holdout.frequency, holdout.recency, holdout.T)
    pieces = holdout.scale * dropout_piece_count(periods, ur, uT)
    out = {}
    for name in dict.fromkeys(candidates):
        if name not in SEASONAL:
            continue
        if name == "pnbd" and pieces > SEASONAL_PNBD_MAX_PIECES:
            notes.append(
                f"pnbd{SEASON_SUFFIX} not tried: its likelihood would take {pieces:,.0f} period "
                f"pieces (more than {SEASONAL_PNBD_MAX_PIECES:,})"
            )
            continue
        # scored by their estimates alone, as the plain candidates are
        fit = lambda name=name: seasonal_model(name, standard_errors=False).fit(  # noqa: E731
            holdout.frequency, holdout.recency, holdout.T, periods=periods, purchase_sums=sums
        )
        out[name + SEASON_SUFFIX] = _evaluate(name + SEASON_SUFFIX, fit, holdout)
    return out


def _seasons_within_chance(
    name: str, results: dict[str, CandidateResult], notes: list[str]
) -> bool:
    """Whether the seasonal variant ``name`` scored below its plain model while its seasons are
    within chance, and so is not chosen (noted).  Its month multipliers are eleven more
    parameters: on a shop without seasons they fit noise, and a 0.05% lower holdout error (one
    such shop) chose it, with a narrower interval and no range of the sales to come.  The plain
    model is the seasonal one with every multiplier 1, so the likelihood-ratio test of the two
    fits on the calibration histories (chi-squared with a degree of freedom per multiplier;
    Wilks 1938) says whether the data hold seasons at all."""
    from scipy.special import chdtrc

    base, seasonal = split_seasonal(name)
    plain, variant = results.get(base), results[name]
    if not seasonal or plain is None or plain.error is not None or variant.error is not None:
        return False
    if variant.scores["mae_orders"] >= plain.scores["mae_orders"]:
        return False  # not lower: the usual rule leaves it
    extra = len(variant.params or {}) - len(plain.params or {})
    if extra <= 0 or variant.log_likelihood is None or plain.log_likelihood is None:
        return False
    ratio = max(2.0 * (variant.log_likelihood - plain.log_likelihood), 0.0)
    p_value = float(chdtrc(extra, ratio))
    if p_value < SEASONS_BEYOND_CHANCE:
        return False
    lower = 1.0 - variant.scores["mae_orders"] / plain.scores["mae_orders"]
    said = f"{lower:.2%}" if lower >= 0.0001 else "less than 0.01%"
    notes.append(
        f"{name} scored {said} below {base} in the holdout (mean absolute error of orders), but "
        f"its {extra} season multipliers are within chance (likelihood-ratio test, "
        f"p = {p_value:.2f}): the seasons are left out"
    )
    return True


LOWEST_MAE_RULE = (
    "lowest holdout mean absolute error of orders per customer; ties go to the simpler model ("
    + ", ".join(SIMPLICITY)
    + ")"
)
"""summary.json's ``backtest.selection``: how the best of several candidates is chosen."""

SEASONS_RULE = (
    "a seasonal variant only where its seasons are beyond chance (likelihood-ratio test against "
    f"its plain model, p < {SEASONS_BEYOND_CHANCE})"
)
"""summary.json's ``backtest.selection``: when a seasonal variant is kept."""


def seasons_left_out(backtest: dict[str, Any] | None, chosen: str | None) -> list[str]:
    """The backtest's note that the chosen model's seasonal variant scored lower but was left
    out (:func:`_seasons_within_chance`), for the analysis' own notes: the backtest table shows
    the lower score beside the chosen model."""
    if not backtest or chosen is None:
        return []
    said = f"{split_seasonal(chosen)[0]}{SEASON_SUFFIX} scored "
    return [note for note in backtest.get("notes") or () if note.startswith(said)]


def backtest(
    calibration_summary: pd.DataFrame,
    holdout_days: float,
    candidates: Sequence[str] = ("bgnbd", "pnbd", "mbgnbd"),
    time_unit_days: float = 1.0,
    weekly: bool = False,
    actual_weekly_cumulative: ArrayLike | Callable[[], ArrayLike] | None = None,
    max_customers: int | None = None,
    seed: int = 0,
    sampled_from: int | None = None,
    seasonal=None,
    covariates: pd.DataFrame | None = None,
) -> BacktestResult:
    """Fit each candidate on the calibration summary, predict the holdout, score, pick the best.

    Parameters
    ----------
    calibration_summary
        The customer summary with a calibration end (``valuecast.analysis.summary.summarize(...,
        calibration_end=...)``): ``frequency``, ``recency``, ``T`` (days), ``average_order_value``,
        ``avg_repeat_order_value`` and the actual ``holdout_orders`` and ``holdout_revenue``.
    holdout_days
        Days from the calibration end to the end of the holdout.
    candidates
        Names from :data:`valuecast.models.registry.SELECTABLE`.
    time_unit_days
        The unit the models are fitted in (1 = days, 7 = weeks); recency, T and the holdout are
        divided by it.  Predictions do not depend on it beyond the fitted parameters' scale.
    weekly, actual_weekly_cumulative
        With ``weekly``, also the predicted cumulative holdout purchases of every model (and the
        naive baseline) at the end of each holdout week; ``actual_weekly_cumulative`` (from
        :func:`cumulative_orders_by_week`) adds the actual ones for the chart; given as a
        function, it is called once the candidates are scored (an engine can count them in
        another thread meanwhile).
    max_customers, seed
        Backtest a seeded random sample of at most ``max_customers`` customers (``None``: all).
        Scores from a few hundred thousand customers are as informative as from millions and
        the fits cost a fraction; ``n_customers`` and ``sampled_from`` in the result say so, and
        the weekly series are scaled up to the whole shop so they compare with its actuals.
    sampled_from
        Says that ``calibration_summary`` already is the sample :func:`sample_rows` drew from
        that many customers (the engine draws it where the summary lives, so only the sample
        crosses to Python); it is then not sampled again.
    seasonal
        A :class:`~valuecast.analysis.seasons.SeasonalInputs` of the calibration (periods from
        the calibration end, purchase sums per history): each candidate is also backtested with
        those time-varying purchase covariates, as ``<candidate>+season``
        (:func:`_seasonal_candidates`), and may be chosen like any other.
    covariates
        The design matrix (:mod:`valuecast.analysis.covariates`), one row per row of
        ``calibration_summary``: each candidate is then also fitted with these covariates in
        both processes and scored as ``"<name>+covariates"`` (:func:`covariate_candidate`), so
        the choice keeps covariates only where they predict the holdout better.

    Each model is fitted by maximum likelihood on the calibration ``frequency, recency, T`` and
    predicts ``expected_transactions(holdout)`` purchases per customer; revenue is that times the
    Gamma-Gamma expected order value (fitted on calibration repeaters with a positive
    ``avg_repeat_order_value``; when it cannot be fitted each customer's own average order value
    is used, and ``spend_model`` says why).  A model that fails to fit or predict is recorded
    with its error and skipped.  The best model has the lowest holdout MAE of orders; ties go to
    the simpler one (:data:`SIMPLICITY`).  ``by_frequency`` holds the mean actual and predicted
    holdout orders of every fitted model and the naive baseline per calibration frequency
    (:func:`holdout_by_frequency`), on the customers backtested.
    """
    unknown = [name for name in candidates if name not in SELECTABLE]
    if unknown or not candidates:
        raise ValueError(
            f"unknown candidate model(s) {unknown or list(candidates)}: use {', '.join(SELECTABLE)}"
        )
    if not holdout_days > 0:
        raise ValueError("holdout_days must be positive")
    if not time_unit_days > 0:
        raise ValueError("time_unit_days must be positive")
    for name in REQUIRED_COLUMNS:
        _column(calibration_summary, name)
    if len(calibration_summary) == 0:
        raise ValueError("the calibration summary has no customers")
    if max_customers is not None and max_customers < 1:
        raise ValueError("max_customers must be at least 1")
    if sampled_from is not None:
        if sampled_from < len(calibration_summary):
            raise ValueError("sampled_from is smaller than the sample")
    elif max_customers is not None and len(calibration_summary) > max_customers:
        sampled_from = len(calibration_summary)
        rows = sample_rows(sampled_from, max_customers, seed)
        calibration_summary = calibration_summary.iloc[rows]
        covariates = None if covariates is None else covariates.iloc[rows]
    scale = 1.0 if sampled_from is None else sampled_from / len(calibration_summary)
    frequency = _column(calibration_summary, "frequency")
    recency = _column(calibration_summary, "recency") / time_unit_days
    T = _column(calibration_summary, "T") / time_unit_days
    actual_orders = _column(calibration_summary, "holdout_orders")
    actual_revenue = _column(calibration_summary, "holdout_revenue")
    horizon = float(holdout_days) / time_unit_days

    value, spend_info = _spend_values(calibration_summary, frequency)
    naive = naive_baseline(calibration_summary, holdout_days)
    naive_scores = score_predictions(
        actual_orders, naive["predicted_orders"], actual_revenue, naive["predicted_revenue"]
    )
    naive_scores["method"] = (
        "each customer's repeat purchases per day since the first purchase (frequency / T) "
        "times the holdout days; revenue at the customer's average order value"
    )
    notes: list[str] = []
    if sampled_from is not None:
        notes.append(
            f"backtested on a random sample of {len(calibration_summary):,} of the "
            f"{sampled_from:,} customers (seed {seed})"
        )
    week_ends = _week_ends(holdout_days) if weekly else None
    if actual_weekly_cumulative is not None and week_ends is None:
        raise ValueError("actual_weekly_cumulative is only used with weekly=True")
    if weekly:
        (uf, ur, uT), counts, _ = compress_histories(frequency, recency, T)

    holdout = _Holdout(
        frequency, recency, T, horizon, actual_orders, actual_revenue, value, scale,
        None if week_ends is None else np.asarray(week_ends, float) / time_unit_days,
        (uf, ur, uT, counts) if weekly else None,
    )  # fmt: skip
    results: dict[str, CandidateResult] = {}
    for name in dict.fromkeys(candidates):
        # scored by their estimates alone: no information matrix (standard errors) is needed
        fit = lambda name=name: candidate_model(name, standard_errors=False).fit(  # noqa: E731
            frequency, recency, T
        )
        results[name] = _evaluate(name, fit, holdout)
    if seasonal is not None:
        results.update(_seasonal_candidates(candidates, seasonal, calibration_summary, holdout,
                                            time_unit_days, notes))  # fmt: skip
    notes.extend(f"{n} skipped: {r.error}" for n, r in results.items() if r.error is not None)

    if covariates is not None:
        for name in dict.fromkeys(candidates):
            history = (frequency, recency, T, horizon)
            result = covariate_candidate(name, covariates, history, week_ends, time_unit_days)
            result = _scored(result, value, actual_orders, actual_revenue, scale, notes)
            results[result.name] = result

    fitted = [name for name, result in results.items() if result.error is None]
    kept = covariate_choice(results) if covariates is not None else None
    best = None
    if fitted:
        # the seasonal variants compete with whatever the static covariates' choice kept
        eligible = (
            fitted
            if kept is None
            else [n for n in fitted if n in kept["eligible"] or split_seasonal(n)[1]]
        )
        # a seasonal variant whose seasons are chance gives way to its plain model (if eligible)
        eligible = [
            n
            for n in eligible
            if not (split_seasonal(n)[0] in eligible and _seasons_within_chance(n, results, notes))
        ]
        lowest = min(results[name].scores["mae_orders"] for name in eligible)
        tolerance = 1e-12 * max(1.0, abs(lowest))
        tied = [n for n in eligible if results[n].scores["mae_orders"] <= lowest + tolerance]
        best = min(tied, key=_simplicity)
    else:
        notes.append("no candidate model could be fitted")

    weekly_info = None
    if actual_weekly_cumulative is not None:
        actual_weekly = _weekly_actuals(actual_weekly_cumulative, len(week_ends))
    if week_ends is not None:
        naive_total = scale * float(naive["predicted_orders"].sum())
        weekly_info = {
            "day": week_ends.tolist(),
            "actual": None if actual_weekly_cumulative is None else actual_weekly.tolist(),
            "predicted": {name: results[name].weekly_cumulative for name in fitted},
            "naive": (naive_total * week_ends / float(holdout_days)).tolist(),
        }

    by_frequency = holdout_by_frequency(
        frequency,
        actual_orders,
        {name: results[name].predicted_orders for name in fitted},
    )
    by_frequency["naive"] = holdout_by_frequency(
        frequency, actual_orders, {"naive": naive["predicted_orders"].to_numpy()}
    )["predicted"]["naive"]

    return BacktestResult(
        holdout_days=float(holdout_days),
        time_unit_days=float(time_unit_days),
        n_customers=len(calibration_summary),
        sampled_from=sampled_from,
        candidates=results,
        naive=naive_scores,
        best=best,
        spend_model=spend_info,
        weekly=weekly_info,
        notes=notes,
        by_frequency=by_frequency,
        covariates=kept,
    )


# ------------------------------------------------------------------------------------------------
# candidates with covariates
WITH_COVARIATES = "+covariates"


def _simplicity(name: str) -> tuple[int, bool, bool]:
    """Tie-break: :data:`SIMPLICITY`, and a model without covariates (static, then seasonal)
    before the same with."""
    base, seasonal = split_seasonal(name)
    plain = base.removesuffix(WITH_COVARIATES)
    return SIMPLICITY.index(plain), base.endswith(WITH_COVARIATES), seasonal


def covariate_candidate(
    name: str,
    covariates: pd.DataFrame,
    history: tuple[np.ndarray, np.ndarray, np.ndarray, float],
    week_ends: np.ndarray | None,
    time_unit_days: float = 1.0,
) -> CandidateResult:
    """Candidate ``name`` fitted with ``covariates`` in the purchase and the dropout process.

    ``history`` is ``(frequency, recency, T, horizon)`` in the fitting unit; the result holds
    the holdout predictions (not yet scored), the fit and, with ``week_ends`` (days), the
    expected cumulative purchases at each, summed per distinct history and pattern.
    """
    frequency, recency, T, horizon = history
    result = CandidateResult(name=name + WITH_COVARIATES)
    X = covariates.reset_index(drop=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            model = candidate_model(name, standard_errors=False).fit(
                frequency, recency, T, purchase_covariates=X, dropout_covariates=X
            )
            kw = {"purchase_covariates": X, "dropout_covariates": X}
            predicted = np.asarray(
                model.expected_transactions(horizon, frequency, recency, T, **kw), dtype=float
            )
            if not np.all(np.isfinite(predicted)):
                raise FitError("non-finite holdout predictions")
            if week_ends is not None:
                result.weekly_cumulative = _weekly_with_covariates(
                    model, X, frequency, recency, T, week_ends / time_unit_days
                )
    except _MODEL_ERRORS as error:
        message = " ".join(str(error).split()) or type(error).__name__
        result.error = f"{type(error).__name__}: {message}"
        return result
    result.params = dict(model.params_)
    result.coefficients = {k: dict(v) for k, v in model.coefficients_.items()}
    result.log_likelihood = float(model.log_likelihood_)
    result.predicted_orders = predicted
    return result


def covariate_choice(results: dict[str, CandidateResult]) -> dict[str, Any]:
    """Per candidate, whether its covariates are kept: when they lower the holdout root mean
    squared error of orders (or only the variant with them could be fitted).

    The squared error is the consistent score of a forecast of the mean (Gneiting 2011, "Making
    and evaluating point forecasts", JASA 106), which these models give; the absolute error is
    that of the median, and for skewed purchase counts it rewards predicting below the mean: it
    rejects covariates that correct an under-prediction (on a shop whose newest channel buys
    most, the plain fit predicted 30% too few holdout orders and a lower absolute error).  The
    model is then chosen among the kept variants by the absolute error as before.
    """
    eligible, kept = [], {}
    for name, result in results.items():
        if name.endswith(WITH_COVARIATES) or split_seasonal(name)[1]:
            continue
        other = results.get(name + WITH_COVARIATES)
        use = other is not None and other.error is None
        if use and result.error is None:
            use = other.scores["rmse_orders"] < result.scores["rmse_orders"]
        kept[name] = use
        eligible.append(name + WITH_COVARIATES if use else name)
    return {
        "criterion": "covariates kept where they lower the holdout root mean squared error of "
        "orders per customer (the score of a forecast of the mean)",
        "kept": kept,
        "eligible": eligible,
    }


def _weekly_with_covariates(model, X, frequency, recency, T, ends) -> list[float]:
    """Expected cumulative purchases at ``ends``: once per distinct (history, covariates)."""
    rows = np.column_stack([frequency, recency, T, X.to_numpy(dtype=float)])
    distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), minlength=len(distinct)).astype(float)
    f, r, t = distinct[:, 0], distinct[:, 1], distinct[:, 2]
    Xd = pd.DataFrame(distinct[:, 3:], columns=X.columns)
    kw = {"purchase_covariates": Xd, "dropout_covariates": Xd}
    return [float(counts @ model.expected_transactions(end, f, r, t, **kw)) for end in ends]


def _scored(result, value, actual_orders, actual_revenue, scale, notes) -> CandidateResult:
    """``result`` scored on the holdout (revenue at ``value`` per order), or its error noted;
    the weekly series scaled to the shop (``scale``)."""
    if result.error is not None:
        notes.append(f"{result.name} skipped: {result.error}")
        result.weekly_cumulative = None
        return result
    if result.weekly_cumulative is not None:
        result.weekly_cumulative = [scale * v for v in result.weekly_cumulative]
    result.predicted_revenue = result.predicted_orders * value
    result.scores = score_predictions(
        actual_orders, result.predicted_orders, actual_revenue, result.predicted_revenue
    )
    return result
