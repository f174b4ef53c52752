"""Customer lifetime value from a transaction model and a spend model.

CLV over a horizon is the discounted sum, period by period, of the expected number of transactions
in the period times the expected value of a transaction times the margin (the approach of Fader,
Hardie & Lee (2005, JMR) "RFM and CLV: using iso-value curves", with discrete discounting at the end
of each period as in lifetimes and CLVTools' "DERT over a finite horizon").

Time units are explicit.  A transaction model predicts in the unit of the data it was fitted on
(``time_unit_days`` days per unit: 1 for a summary in days, 7 for CDNOW's weeks).  A period is
``period_days`` long; the annual discount rate is converted to a per-period rate by compounding,
``(1 + annual_rate) ** (period_days / 365.25) - 1`` — so a 10% annual rate is the same money whether
periods are weeks, 30-day blocks or calendar-average months.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from valuecast.models._fitting import ArrayLike, as_float_array, compress_histories

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12


def period_discount_rate(annual_discount_rate: float, period_days: float) -> float:
    """Per-period discount rate equivalent to ``annual_discount_rate`` compounded annually."""
    if not math.isfinite(annual_discount_rate) or annual_discount_rate <= -1:
        raise ValueError("annual_discount_rate must be a finite number greater than -1")
    if period_days <= 0:
        raise ValueError("period_days must be positive")
    return float((1.0 + annual_discount_rate) ** (period_days / DAYS_PER_YEAR) - 1.0)


def _distinct_histories(frequency, recency, T, covariates=None):
    """The distinct histories (with their covariate rows, if any) and each customer's row.

    ``covariates`` maps ``purchase_covariates`` / ``dropout_covariates`` to matrices with one row
    per customer; the distinct rows' covariates come back as the keywords for the model.
    """
    columns = [
        as_float_array(values, name)
        for values, name in ((frequency, "frequency"), (recency, "recency"), (T, "T"))
    ]
    columns = list(np.broadcast_arrays(*columns))
    matrices = {
        key: _rows(value, len(columns[0]))
        for key, value in (covariates or {}).items()
        if value is not None
    }
    extra = [column for matrix in matrices.values() for column in matrix.T]
    (f, r, t, *rest), _, inverse = compress_histories(*columns, *extra)
    keywords, start = {}, 0
    for key, matrix in matrices.items():
        width = matrix.shape[1]
        distinct = np.column_stack(rest[start : start + width]) if width else np.zeros((len(f), 0))
        keywords[key] = _like(covariates[key], distinct)
        start += width
    return f, r, t, inverse, keywords


def _rows(values: Any, n: int) -> np.ndarray:
    """Covariates as an ``(n, k)`` matrix (one row given applies to every customer)."""
    matrix = np.asarray(getattr(values, "values", values), dtype=float)
    matrix = matrix.reshape(-1, 1) if matrix.ndim == 1 else matrix
    return np.broadcast_to(matrix, (n, matrix.shape[1]))


def _like(original: Any, distinct: np.ndarray):
    """``distinct`` rows in the form of ``original`` (a DataFrame keeps its column names)."""
    columns = getattr(original, "columns", None)
    return distinct if columns is None else pd.DataFrame(distinct, columns=columns)


def period_ends(horizon: int, period_days: float, time_unit_days: float) -> np.ndarray:
    if horizon < 1 or int(horizon) != horizon:
        raise ValueError("horizon must be a whole number of periods, at least 1")
    if time_unit_days <= 0:
        raise ValueError("time_unit_days must be positive")
    if period_days <= 0:
        raise ValueError("period_days must be positive")
    return (period_days / time_unit_days) * np.arange(1, int(horizon) + 1)


def _per_period(transaction_model, f, r, t, ends, covariates=None):
    """Yield each period's expected transactions for distinct histories, in order.

    ``covariates`` (the model's ``purchase_covariates`` / ``dropout_covariates`` keywords, one row
    per distinct history) are passed on only when given: models without covariates lack them.
    """
    keywords = covariates or {}
    grid = getattr(transaction_model, "expected_transactions_grid", None)
    if grid is not None:  # all horizons in one call where the model offers it
        cumulatives = iter(grid(ends, f, r, t, **keywords))
    else:
        cumulatives = (
            transaction_model.expected_transactions(end, f, r, t, **keywords) for end in ends
        )
    return period_increments(cumulatives)


def period_increments(cumulatives: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Each period's expected transactions from the cumulative expectations at the period ends."""
    previous = 0.0
    for cumulative in cumulatives:
        increment = np.subtract(cumulative, previous)
        # Cumulative expectations are non-decreasing; clip round-off so a period is never < 0.
        np.maximum(increment, 0.0, out=increment)
        yield increment
        previous = cumulative


def discount_periods(periods: Iterable[np.ndarray], rate: float, start: np.ndarray) -> np.ndarray:
    """``start + sum_k periods[k] / (1 + rate) ** k`` (k from 1): each period discounted to today."""
    total = start.copy()
    discounted = np.empty_like(total)  # one scratch array for every period's product
    for k, transactions in enumerate(periods, start=1):
        np.multiply(transactions, (1.0 + rate) ** -k, out=discounted)
        total += discounted
    return total


def expected_transactions_by_period(
    transaction_model,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    horizon: int,
    period_days: float = DAYS_PER_MONTH,
    time_unit_days: float = 1.0,
    **covariates: Any,
) -> np.ndarray:
    """Expected transactions of each customer in each of the next ``horizon`` periods.

    Returns an array of shape ``(n_customers, horizon)``: column ``k`` holds
    ``E[X(T, T + (k+1) P) - X(T, T + k P) | history]``.  ``covariates``: the model's
    ``purchase_covariates`` / ``dropout_covariates``, one row per customer.
    """
    ends = period_ends(horizon, period_days, time_unit_days)
    # Predict once per distinct history: many customers share (frequency, recency, T).
    f, r, t, inverse, keywords = _distinct_histories(frequency, recency, T, covariates)
    return np.column_stack(list(_per_period(transaction_model, f, r, t, ends, keywords)))[inverse]


def discounted_expected_transactions(
    transaction_model,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    horizon: int,
    period_days: float = DAYS_PER_MONTH,
    annual_discount_rate: float = 0.10,
    time_unit_days: float = 1.0,
    **covariates: Any,
) -> np.ndarray:
    """``sum_k E[transactions in period k | history] / (1 + d) ** k`` for each customer."""
    ends = period_ends(horizon, period_days, time_unit_days)
    rate = period_discount_rate(annual_discount_rate, period_days)
    f, r, t, inverse, keywords = _distinct_histories(frequency, recency, T, covariates)
    return discounted_sum(transaction_model, f, r, t, ends, rate, keywords)[inverse]


def discounted_sum(transaction_model, f, r, t, ends, rate, covariates=None) -> np.ndarray:
    """Per distinct history: each period's expected transactions discounted to today, summed.

    A model with ``discounted_transactions(ends, rate, f, r, t)`` (the BG/NBD family) sums the
    periods itself, on what its periods share; any other is summed here period by period.
    """
    own = getattr(transaction_model, "discounted_transactions", None)
    if own is not None:
        return np.asarray(own(ends, rate, f, r, t, **(covariates or {})), dtype=float)
    periods = _per_period(transaction_model, f, r, t, ends, covariates)
    return discount_periods(periods, rate, np.zeros(len(f)))


def customer_lifetime_value(
    transaction_model,
    spend_model,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    horizon: int = 12,
    period: float = DAYS_PER_MONTH,
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
    time_unit_days: float = 1.0,
    **covariates: Any,
) -> np.ndarray:
    """Discounted expected value of each customer's purchases over the next ``horizon`` periods.

    Parameters
    ----------
    transaction_model
        A fitted BTYD model with ``expected_transactions(t, frequency, recency, T)``.
    spend_model
        A fitted spend model with ``expected_average_value(frequency, monetary_value)``
        (:class:`~valuecast.models.GammaGamma`), or ``None`` to use ``monetary_value`` as given.
    frequency, recency, T
        Each customer's history, in the transaction model's time unit.
    monetary_value
        Mean value of the customer's repeat transactions (0 where there is none).
    horizon
        Number of periods to sum over.
    period
        Length of one period in days (default: an average calendar month, 30.44 days).
    annual_discount_rate
        Yearly discount rate, converted to a per-period rate by compounding.
    margin
        Share of revenue kept as profit (1.0 gives revenue CLV).
    time_unit_days
        Days per time unit of ``recency`` and ``T`` (1 for days, 7 for weeks).
    covariates
        ``purchase_covariates`` / ``dropout_covariates`` of a transaction model fitted with
        covariates, one row per customer.

    Returns
    -------
    numpy.ndarray
        ``sum_k margin * E[value] * E[transactions in period k] / (1 + d) ** k``.
    """
    if not 0 <= margin:
        raise ValueError("margin must be non-negative")
    transactions = discounted_expected_transactions(
        transaction_model,
        frequency,
        recency,
        T,
        horizon,
        period,
        annual_discount_rate,
        time_unit_days,
        **covariates,
    )
    if spend_model is None:
        value = as_float_array(monetary_value, "monetary_value")
    else:
        value = spend_model.expected_average_value(frequency, monetary_value)
    return margin * np.asarray(value, dtype=float) * transactions


@dataclass
class CLVInterval:
    """Predicted CLV per customer with an interval from parameter uncertainty, and their totals."""

    point: np.ndarray
    low: np.ndarray
    high: np.ndarray
    total: float
    total_low: float
    total_high: float
    level: float


def log_param_jacobian(model, evaluate, step: float = 1e-4, base: np.ndarray | None = None):
    """Forward differences of ``evaluate(model)`` (an array) with respect to the log parameters.

    Returns ``evaluate(model)`` and the derivatives; ``base``: ``evaluate(model)`` when the caller
    has it already (it is then not evaluated again).
    """
    base = evaluate(model) if base is None else base
    names = list(model.params_)
    columns = []
    for name in names:
        shifted = dict(model.params_)
        shifted[name] = float(np.exp(np.log(shifted[name]) + step))
        columns.append((evaluate(model.with_params(shifted)) - base) / step)
    return base, np.column_stack(columns)


def _transactions_jacobian(model, evaluate, step: float = 1e-4):
    """:func:`log_param_jacobian` of a transaction model, with the columns of its estimated
    covariate coefficients after the log parameters' (a coefficient shifted by ``step`` as it
    stands: it is on the log scale already), and the covariance those columns go with."""
    base, jacobian = log_param_jacobian(model, evaluate, step)
    estimated = getattr(model, "estimated_covariates_", None)
    if not estimated or not any(estimated.values()):
        return base, jacobian, model.covariance_log_
    columns = []
    for process, names in estimated.items():
        for name in names:
            shifted = {p: dict(values) for p, values in model.coefficients_.items()}
            shifted[process][name] += step
            columns.append((evaluate(model.with_params(model.params_, shifted)) - base) / step)
    return base, np.column_stack([jacobian, *columns]), model.covariance_full_


def customer_lifetime_value_interval(
    transaction_model,
    spend_model,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    horizon: int = 12,
    period: float = DAYS_PER_MONTH,
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
    time_unit_days: float = 1.0,
    level: float = 0.80,
    spend_frequency: ArrayLike | None = None,
    **covariates: Any,
) -> CLVInterval:
    """CLV (as :func:`customer_lifetime_value`) with a ``level`` interval from parameter uncertainty.

    The interval reflects the uncertainty of the fitted parameters (their asymptotic normal on the
    log scale, from the observed information), propagated by the delta method on the log of
    CLV: ``sd(log CLV)^2 = g' Sigma_tx g + h' Sigma_spend h`` where ``g`` and ``h`` are the
    derivatives of log CLV with respect to the log parameters of the transaction and the spend
    model (fitted independently, so their covariances add). The bounds are
    ``CLV * exp(-/+ z sd)``, log-normal like the parameter draws of ``sample_params``. The
    same propagation on the sum gives an interval for the shop's total. It costs one CLV
    evaluation per parameter (on distinct histories), rather than hundreds for simulation.
    ``spend_frequency`` (default ``frequency``) is the frequency the spend model sees, for
    callers that give customers without a usable repeat purchase the population mean.
    ``covariates``: ``purchase_covariates`` / ``dropout_covariates`` of a transaction model
    fitted with covariates, one row per customer; their coefficients' uncertainty (and its
    covariance with the parameters') is propagated with the parameters'.
    """
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    z = float(ndtri(0.5 + level / 2))
    ends = period_ends(horizon, period, time_unit_days)
    rate = period_discount_rate(annual_discount_rate, period)
    f, r, t, inverse, by_row = _distinct_histories(frequency, recency, T, covariates or None)
    transactions, d_transactions, tx_cov = _transactions_jacobian(
        transaction_model, lambda model: discounted_sum(model, f, r, t, ends, rate, by_row)
    )
    if spend_model is None:
        value = as_float_array(monetary_value, "monetary_value")
        d_value = np.zeros((len(value), 0))
        spend_cov = np.zeros((0, 0))
    else:
        value, d_value = log_param_jacobian(
            spend_model,
            lambda model: model.expected_average_value(
                frequency if spend_frequency is None else spend_frequency, monetary_value
            ),
        )
        spend_cov = spend_model.covariance_log_
    point = margin * value * transactions[inverse]
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(transactions[:, None] > 0, d_transactions / transactions[:, None], 0.0)
        h = np.where(value[:, None] > 0, d_value / value[:, None], 0.0)
    if not (np.all(np.isfinite(tx_cov)) and np.all(np.isfinite(spend_cov))):
        raise ValueError(
            "parameter covariance unavailable (singular information matrix): refit with a small "
            "penalizer to get intervals"
        )
    variance = np.einsum("ij,jk,ik->i", g, tx_cov, g)[inverse] + np.einsum(
        "ij,jk,ik->i", h, spend_cov, h
    )
    sd = np.sqrt(np.maximum(variance, 0.0))
    # totals: d(sum CLV)/d(log theta) = sum_i CLV_i g_i (and likewise for the spend model)
    weights = np.bincount(inverse, weights=point, minlength=len(f))
    total_g = weights @ g
    total_h = point @ h
    total = float(point.sum())
    total_sd = float(np.sqrt(max(total_g @ tx_cov @ total_g + total_h @ spend_cov @ total_h, 0.0)))
    relative = total_sd / total if total > 0 else 0.0
    return CLVInterval(
        point=point,
        low=point * np.exp(-z * sd),
        high=point * np.exp(z * sd),
        total=total,
        total_low=total * float(np.exp(-z * relative)),
        total_high=total * float(np.exp(z * relative)),
        level=level,
    )
