"""The intervals of predicted CLV: resampling customers (the bootstrap), or the delta method.

Predicted CLV is uncertain because the model's parameters are estimated. Two ways to carry that
uncertainty into the prediction:

* **Resampling customers** (:class:`BootstrapIntervals`, CLVTools' ``uncertainty="boots"``):
  draw the shop's customers with replacement (a multinomial reweighting of the distinct
  histories), refit both models from the point estimate, and recompute each distinct history's
  discounted orders and each spend frequency's expected order value. It needs no information
  matrix, so it survives the fits where that matrix is singular (a small shop's Gamma-Gamma ``q``
  and ``v`` running to infinity, a boundary fit), and its spread grows as the data shrink. It
  costs a fixed number of refits on the distinct histories.
* **The delta method** (:class:`DeltaIntervals`): the asymptotic normal of the log parameters
  from the observed information, propagated to log CLV by forward differences. One CLV evaluation
  per parameter: the cheap choice for large shops with a regular fit, where it and the bootstrap
  agree (BENCHMARKS.md, coverage).

Both give, per customer, the variance of log CLV as that of log discounted orders (per distinct
history; the bootstrap's is the robust spread of :func:`robust_variance`) plus the variance of the
expected order value ``A(x) + B(x) m`` (a quadratic in ``m`` per spend frequency ``x``) over its
square; the bounds are ``CLV * exp(-/+ z sd)``, so ``p10 <= CLV <= p90`` holds by construction.
:func:`choose_intervals` picks the method; docs/methodology.md says why.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from valuecast.models import FitError, run_together, takes_part
from valuecast.models.clv import discounted_sum, log_param_jacobian
from valuecast.models.registry import COSTLY_REFITS

REPLICATES = 100
"""Bootstrap replicates: the sd of log CLV is then known to about 7% (1 / sqrt(2 * 100))."""

SEED = 0
"""The resampling's seed: the same data give the same interval."""

BOOTSTRAP_MAX_HISTORIES = 50_000
"""Above this many distinct histories a regular fit uses the delta method (the refits would cost
tens of seconds, and the asymptotics the delta method rests on hold there)."""

BOOTSTRAP_MAX_HISTORIES_BY_MODEL = {"pnbd": 2_000}
"""Lower limits for the models whose refits cost more per distinct history.  A Pareto/NBD refit
evaluates two hypergeometric terms per history and step, about 50 times a BG/NBD refit's work:
on a shop with three years of history its 100 refits took 27 s at 2,754 histories, more than
BG/NBD's at their own limit (6.5 s at 33,970), and a minute at 8,500 (10,000 customers), where
the delta method takes under a second.  The delta method's 80% interval is calibrated below that
limit already: it covered the true CLV in 82% of 100 simulated Pareto/NBD shops of about 1,000
distinct histories (BENCHMARKS.md, *Coverage of the CLV interval*).  The demo shop (1,917
histories) and CDNOW stay below it."""


def bootstrap_max_histories(model_name: str) -> int:
    """The most distinct histories for which ``auto`` resamples a fit of ``model_name``: none
    for the models whose refits are costly at any size (:data:`~valuecast.models.registry.
    COSTLY_REFITS`), else :data:`BOOTSTRAP_MAX_HISTORIES_BY_MODEL` or
    :data:`BOOTSTRAP_MAX_HISTORIES`."""
    if model_name in COSTLY_REFITS:
        return 0
    return BOOTSTRAP_MAX_HISTORIES_BY_MODEL.get(model_name, BOOTSTRAP_MAX_HISTORIES)


STEP = 1e-4
"""Forward-difference step on the log parameters (the delta method)."""


def spend_coefficients(params: dict[str, float], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gamma-Gamma's ``E[M | x, m] = A(x) + B(x) m`` (FH 2013): ``A`` and ``B`` for each ``x``.

    ``A = (q - 1) / (p x + q - 1) * p v / (q - 1)`` and ``B = p x / (p x + q - 1)``, the float
    steps of :meth:`~valuecast.models.GammaGamma.expected_average_value` (``x = 0`` gives the
    population mean). Requires ``q > 1``.
    """
    p, q, v = params["p"], params["q"], params["v"]
    px = p * x
    denominator = px + q - 1
    population = p * v / (q - 1)
    return (q - 1) / denominator * population, px / denominator


@dataclass
class Units:
    """The shop's customers as resampling units: one row per distinct (history, spend history).

    ``history`` indexes the distinct (frequency, recency, T); ``spend`` the spend model's
    distinct (x, m), -1 for customers without a positive repeat purchase; ``grid`` the spend
    frequency the value uses (an index of the spend grid, whose 0 is the population mean);
    ``m`` the mean repeat order value the value uses; ``value_sum`` the customers' own average
    order values summed (the value when there is no spend model); ``count`` the customers.
    """

    history: np.ndarray
    spend: np.ndarray
    grid: np.ndarray
    m: np.ndarray
    value_sum: np.ndarray
    count: np.ndarray


@dataclass
class DeltaIntervals:
    """The delta method's terms: per-history and per-spend-frequency derivatives, covariances."""

    history_variance: np.ndarray
    spend_variance: dict[str, np.ndarray] | None
    g: np.ndarray
    cov: np.ndarray
    spend: dict[str, np.ndarray] | None
    method: str = "delta method"
    info: dict[str, Any] = field(default_factory=dict)

    def total_bounds(self, grouped: pd.DataFrame, where: np.ndarray, z: float, margin: float):
        """The shop total's bounds: the delta method on the sum.

        ``d(sum CLV)/d(log theta) = sum_i CLV_i g_i`` (g per history) plus the spend model's
        ``margin * sum_i disc_i (dA(x_i) + dB(x_i) m_i)``; ``grouped`` holds per
        (history, spend frequency) the sums those need, ``where`` each row's history.
        """
        point = grouped["point"].to_numpy(dtype=float)
        total = float(point.sum())
        total_g = np.bincount(where, weights=point, minlength=len(self.g)) @ self.g
        variance = total_g @ self.cov @ total_g
        if self.spend is not None:
            at = np.searchsorted(self.spend["x"], grouped["_spend_x"].to_numpy(dtype=float))
            s0, s1 = grouped["s0"].to_numpy(dtype=float), grouped["s1"].to_numpy(dtype=float)
            total_h = margin * (s0 @ self.spend["dA"][at] + s1 @ self.spend["dB"][at])
            variance += total_h @ self.spend["cov"] @ total_h
        relative = float(np.sqrt(max(variance, 0.0))) / total if total > 0 else 0.0
        return total * float(np.exp(-z * relative)), total * float(np.exp(z * relative))


@dataclass
class BootstrapIntervals:
    """The resampling's per-history and per-spend-frequency variances and the replicate totals."""

    history_variance: np.ndarray
    spend_variance: dict[str, np.ndarray] | None
    totals: np.ndarray
    method: str = "bootstrap"
    info: dict[str, Any] = field(default_factory=dict)

    def total_bounds(self, grouped: pd.DataFrame, where: np.ndarray, z: float, margin: float):
        """The shop total's bounds: ``total * exp(-/+ z sd)``, sd the replicates' robust spread
        of the log total (:func:`robust_variance`)."""
        total = float(grouped["point"].to_numpy(dtype=float).sum())
        positive = self.totals[self.totals > 0]
        if len(positive) < 2 or total <= 0:
            return total, total
        sd = float(np.sqrt(robust_variance(np.log(positive)[:, None], z)[0]))
        return total * float(np.exp(-z * sd)), total * float(np.exp(z * sd))


def robust_variance(log_values: np.ndarray, z: float) -> np.ndarray:
    """Per column, the variance a normal with the replicates' central spread would have.

    ``((q_hi - q_lo) / (2 z))^2`` with ``q_lo, q_hi`` the quantiles that bound the central
    ``level`` of the replicates (``z`` its normal quantile): the normal's variance where the
    replicates are normal, and unmoved by the few replicates of a small shop whose refit runs
    far (BG/NBD's ``a`` to 0, Gamma-Gamma's ``q`` towards 1), which inflate the sample variance
    (on simulated 300-customer shops, the median sd by a fifth, and the coverage of the 80%
    interval of the shop total to 89%).
    """
    tail = float(ndtr(-z))
    low, high = np.quantile(log_values, [tail, 1.0 - tail], axis=0)
    return ((high - low) / (2.0 * z)) ** 2


def delta_intervals(
    model, spend_model, f, r, t, spend_x, ends, rate, discounted: np.ndarray | None = None
) -> DeltaIntervals | None:
    """The delta method's terms, or None when a covariance is unavailable (singular).

    A covariate model's coefficients are estimated with its base parameters: their joint
    covariance (``covariance_full_``) and derivatives propagate both.  ``discounted``: the
    histories' discounted orders at the estimates, when the caller has them (else computed).
    """
    estimated = _estimated_coefficients(model)
    cov = np.asarray(model.covariance_full_ if estimated else model.covariance_log_, dtype=float)
    if not np.all(np.isfinite(cov)):
        return None

    def evaluate(fitted):
        return discounted_sum(fitted, f, r, t, ends, rate)

    discounted, d_discounted = log_param_jacobian(model, evaluate, STEP, base=discounted)
    if estimated:
        d_discounted = np.column_stack(
            [d_discounted, _coefficient_jacobian(model, evaluate, discounted, estimated)]
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(discounted[:, None] > 0, d_discounted / discounted[:, None], 0.0)
    history_variance = np.einsum("ij,jk,ik->i", g, cov, g)
    spend = spend_variance = None
    if spend_model is not None:
        spend = _delta_spend_terms(spend_model, spend_x)
        if spend is None:
            return None
        spend_variance = {key: spend[key] for key in ("a", "b", "c")}
    return DeltaIntervals(history_variance, spend_variance, g, cov, spend)


def _estimated_coefficients(model) -> list[tuple[str, str]]:
    """``(process, covariate)`` of the coefficients a covariate model estimated, in its order."""
    estimated = getattr(model, "estimated_covariates_", None) or {}
    return [(process, name) for process, names in estimated.items() for name in names]


def _coefficient_jacobian(model, evaluate, base: np.ndarray, estimated) -> np.ndarray:
    """Forward differences of ``evaluate`` in each estimated coefficient (on their own scale:
    a coefficient already multiplies the rate through ``exp``)."""
    columns = []
    for process, name in estimated:
        shifted = {p: dict(values) for p, values in model.coefficients_.items()}
        shifted[process][name] += STEP
        columns.append((evaluate(model.with_params(model.params_, shifted)) - base) / STEP)
    return np.column_stack(columns)


def _delta_spend_terms(spend_model, x: np.ndarray) -> dict[str, np.ndarray] | None:
    """Per spend frequency ``x``: ``A``, ``B``, their forward differences and the variance terms.

    The delta-method variance of ``A + B m`` over the log parameters is ``a + 2 b m + c m^2``
    with ``a = dA' S dA``, ``b = dA' S dB``, ``c = dB' S dB`` (``S`` the covariance of the log
    parameters, ``dA`` the derivatives). None when ``S`` is unavailable.
    """
    cov = np.asarray(spend_model.covariance_log_, dtype=float)
    if not np.all(np.isfinite(cov)):
        return None
    params = dict(spend_model.params_)
    A, B = spend_coefficients(params, x)
    dA, dB = [], []
    for name in params:
        shifted = dict(params)
        shifted[name] = float(np.exp(np.log(shifted[name]) + STEP))
        A_j, B_j = spend_coefficients(shifted, x)
        dA.append(A_j - A)
        dB.append(B_j - B)
    dA, dB = np.column_stack(dA) / STEP, np.column_stack(dB) / STEP
    return {
        "x": x, "A": A, "B": B, "dA": dA, "dB": dB, "cov": cov,
        "a": np.einsum("ij,jk,ik->i", dA, cov, dA),
        "b": np.einsum("ij,jk,ik->i", dA, cov, dB),
        "c": np.einsum("ij,jk,ik->i", dB, cov, dB),
    }  # fmt: skip


def bootstrap_intervals(
    model, spend_model, histories, spend_data, spend_x, units: Units, horizon: float,
    discounted: np.ndarray, margin: float, z: float, replicates: int = REPLICATES,
    seed: int = SEED,
) -> BootstrapIntervals | None:  # fmt: skip
    """Resample the customers ``replicates`` times, refit both models warm, collect the spread.

    ``histories``: the distinct (frequency, recency, T) the transaction model was fitted on,
    ``discounted`` their discounted orders at the point estimate; ``spend_data``: the spend
    model's distinct (x, m); ``spend_x``: the spend grid (0 first). A replicate's discounted
    orders are the point's scaled by its ratio of expected orders over the ``horizon`` (one
    prediction instead of one per period: the timing within the horizon barely moves between
    replicates, and the sd of log CLV it gives is within 1.5% of the period-by-period one on
    simulated shops of 300 and 5,000 customers). A replicate whose refit fails (no repeat
    customer drawn, or Gamma-Gamma's ``q <= 1``: no finite mean) is left out and counted. None
    when fewer than two replicates succeed.
    """
    f, r, t = histories
    at_point = np.asarray(model.expected_transactions(horizon, f, r, t), dtype=float)
    scale = np.where(at_point > 0, discounted / np.where(at_point > 0, at_point, 1.0), 0.0)
    rng = np.random.default_rng(seed)
    share = units.count / units.count.sum()
    n = int(round(units.count.sum()))
    log_discounted, coefficients, totals = [], [], []
    has_spend = units.spend >= 0
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # a replicate's limit or singular-matrix note is noise
        # a model whose likelihoods can be evaluated together runs its refits side by side
        # (the same results as one after the other, in a fraction of the time)
        draws = [rng.multinomial(n, share).astype(float) for _ in range(replicates)]
        run = run_together if takes_part(model) else _one_after_another
        refits = run([
            functools.partial(
                _quiet_replicate, model, spend_model, histories, spend_data, spend_x, units, weights,
                has_spend, horizon,
            )
            for weights in draws
        ])  # fmt: skip
        for drawn in refits:
            if drawn is None:
                continue
            orders, A, B = drawn
            log_discounted.append(np.log(np.maximum(orders, np.finfo(float).tiny)))
            replicate_discounted = scale * orders
            if spend_model is None:
                value = units.value_sum
            else:
                coefficients.append((A, B))
                value = units.count * (A[units.grid] + B[units.grid] * units.m)
            totals.append(margin * float(replicate_discounted[units.history] @ value))
    used = len(totals)
    if used < 2:
        return None
    history_variance = robust_variance(np.asarray(log_discounted), z)
    spend_variance = None
    if spend_model is not None:
        A = np.array([c[0] for c in coefficients])
        B = np.array([c[1] for c in coefficients])
        mean_A, mean_B = A.mean(axis=0), B.mean(axis=0)
        spend_variance = {
            "a": ((A - mean_A) ** 2).sum(axis=0) / (used - 1),
            "b": ((A - mean_A) * (B - mean_B)).sum(axis=0) / (used - 1),
            "c": ((B - mean_B) ** 2).sum(axis=0) / (used - 1),
        }
    info = {"replicates": replicates, "replicates_used": used, "seed": seed}
    return BootstrapIntervals(history_variance, spend_variance, np.asarray(totals), info=info)


def _one_after_another(tasks: list[Callable[[], Any]]) -> list[Any]:
    return [task() for task in tasks]


def _quiet_replicate(*arguments):
    """:func:`_replicate` under ``np.errstate(all="ignore")``, which is the calling thread's."""
    with np.errstate(all="ignore"):
        return _replicate(*arguments)


def _replicate(
    model, spend_model, histories, spend_data, spend_x, units, weights, has_spend, horizon
):
    """One replicate: the refit's expected orders per history and spend coefficients, or None."""
    f, r, t = histories
    tx_weights = np.bincount(units.history, weights=weights, minlength=len(f))
    drawn = tx_weights > 0
    try:
        fitted = model.refit(
            f[drawn], r[drawn], t[drawn], weights=tx_weights[drawn], standard_errors=False
        )
    except (FitError, ValueError):
        return None
    A = B = None
    if spend_model is not None:
        x, m = spend_data
        spend_weights = np.bincount(
            units.spend[has_spend], weights=weights[has_spend], minlength=len(x)
        )
        kept = spend_weights > 0
        try:
            spend_fit = spend_model.refit(
                x[kept], m[kept], weights=spend_weights[kept], standard_errors=False
            )
        except (FitError, ValueError):
            return None
        if not spend_fit.params_["q"] > 1:
            return None
        A, B = spend_coefficients(spend_fit.params_, spend_x)
    return np.asarray(fitted.expected_transactions(horizon, f, r, t), dtype=float), A, B


def choose_intervals(
    model, spend_model, histories, spend_data, spend_x, units: Callable[[], Units],
    discounted: np.ndarray, ends: np.ndarray, rate: float, options,
    max_histories: int = BOOTSTRAP_MAX_HISTORIES,
):  # fmt: skip
    """The interval method for this fit: the bootstrap for small shops and irregular fits.

    The delta method where the shop has more than ``max_histories`` distinct histories
    (:func:`bootstrap_max_histories` of the model: 0 where its refits are costly at any size)
    and both information matrices are regular; the bootstrap otherwise (or as
    ``options.interval_method`` says). ``units`` gives the resampling units (an engine query,
    run only for the bootstrap). None when neither gives an interval.
    """
    f, r, t = histories
    method = options.interval_method
    if method == "delta" or (method == "auto" and len(f) > max_histories):
        delta = delta_intervals(model, spend_model, f, r, t, spend_x, ends, rate, discounted)
        if delta is not None or method == "delta":
            return delta
    z = float(ndtri(0.5 + options.interval_level / 2))
    return bootstrap_intervals(
        model, spend_model, histories, spend_data, spend_x, units(), float(ends[-1]), discounted,
        options.margin, z, replicates=options.interval_replicates,
    )  # fmt: skip
