"""The RFM rule of :mod:`valuecast.analysis.segments` in NumPy: the oracle its tests compare with.

Written independently of the Ibis expressions (sorting and counting in NumPy), on the rule of
that module's docstring; the spend tiers' NumPy form is
:func:`~valuecast.analysis.tiers.predicted_spend_tier` itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from valuecast.analysis.segments import RFM_GRID

ArrayLike = Any

SEGMENTED_SCHEMA = {
    "customer_id": "string",
    "last_order_date": "date",
    "historic_number_of_orders": "int64",
    "historic_clv": "float64",
    "predicted_clv": "float64",
    "channel": "string",
}
"""The columns the segments' tests give :func:`~valuecast.analysis.segments.add_segments`."""

_VALID_SCORES = np.arange(6, dtype=float)
_SCORE_STRINGS = np.array([f"{code:03d}" for code in range(1000)], dtype=object)


def _scores_from_below(below: np.ndarray, n: int) -> np.ndarray:
    """``1 + floor(5 * below / n)`` in exact integer arithmetic (below < n, so at most 5)."""
    return (1 + (5 * below) // n).astype(np.int8)


def smaller_and_larger(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each value, how many values are strictly smaller and how many strictly larger.

    Equal values get equal counts.  Whole numbers in a modest range (days, order counts) are
    counted without sorting; anything else takes one stable argsort.
    """
    n = len(values)
    low, high = values.min(), values.max()
    if high - low < 4 * n + 1000 and np.array_equal(values, np.floor(values)):
        offsets = (values - low).astype(np.intp)
        counts = np.bincount(offsets, minlength=int(high - low) + 1)
        at_most = np.cumsum(counts)
        return (at_most - counts)[offsets], (n - at_most)[offsets]
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    change = ordered[1:] != ordered[:-1]
    positions = np.arange(n)
    # sorted position of the first value of each run of equal values = number strictly smaller
    first = np.maximum.accumulate(np.where(np.r_[True, change], positions, 0))
    # sorted position of the last value of the run: n - 1 - it = number strictly larger
    last = np.minimum.accumulate(np.where(np.r_[change, True], positions, n - 1)[::-1])[::-1]
    smaller = np.empty(n, dtype=np.int64)
    larger = np.empty(n, dtype=np.int64)
    smaller[order] = first
    larger[order] = n - 1 - last
    return smaller, larger


def percentile_scores(values: ArrayLike, higher_is_better: bool = True) -> np.ndarray:
    """1-5 scores of ``values`` within themselves: ``1 + floor(5 * share strictly worse)``.

    Equal values always get equal scores and the worst value scores 1.  ``values`` must be finite.
    Costs one sort, or a count for whole numbers in a modest range.
    """
    array = np.asarray(values, dtype=float).reshape(-1)
    if not np.all(np.isfinite(array)):
        raise ValueError("values to score must be finite (no NaN or infinity)")
    n = len(array)
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    smaller, larger = smaller_and_larger(array)
    worse = smaller if higher_is_better else larger
    return _scores_from_below(worse.astype(np.int64), n)


def rfm_scores(
    recency_days_since_last_order: ArrayLike,
    frequency_orders: ArrayLike,
    monetary: ArrayLike,
) -> pd.DataFrame:
    """R, F and M scores (1-5, 5 best) of each customer within the shop, and the ``"543"`` string.

    Parameters
    ----------
    recency_days_since_last_order
        Days from the customer's last order to the as-of date (fewer is better).
    frequency_orders
        Number of orders (more is better); 0 marks a customer without orders (a prospect).
    monetary
        Money spent, e.g. historic net revenue (more is better).

    Returns
    -------
    pandas.DataFrame
        Columns ``rfm_recency``, ``rfm_frequency``, ``rfm_monetary`` (int8, 1-5; 0 for customers
        without orders) and ``rfm_score`` (the three digits as a string, ``"000"`` without
        orders), in input order.  Scores follow ``1 + floor(5 * share of customers with orders
        whose value is strictly worse)``, which keeps ties together (see the module docstring).
    """
    recency = np.asarray(recency_days_since_last_order, dtype=float).reshape(-1)
    frequency = np.asarray(frequency_orders, dtype=float).reshape(-1)
    money = np.asarray(monetary, dtype=float).reshape(-1)
    if not (len(recency) == len(frequency) == len(money)):
        raise ValueError(
            f"recency, frequency and monetary have different lengths "
            f"({len(recency)}, {len(frequency)}, {len(money)})"
        )
    if np.isnan(frequency).any() or (frequency < 0).any():
        raise ValueError("frequency_orders must be a non-negative number of orders (no NaN)")
    buyers = frequency > 0
    scores = np.zeros((3, len(frequency)), dtype=np.int8)
    if buyers.any():
        for row, (values, name) in enumerate(
            ((recency, "recency"), (frequency, "frequency"), (money, "monetary"))
        ):
            part = values[buyers]
            if not np.all(np.isfinite(part)):
                raise ValueError(f"{name} must be finite for every customer with orders")
            scores[row, buyers] = percentile_scores(part, higher_is_better=row != 0)
    code = scores[0].astype(np.int16) * 100 + scores[1] * 10 + scores[2]
    return pd.DataFrame(
        {
            "rfm_recency": scores[0],
            "rfm_frequency": scores[1],
            "rfm_monetary": scores[2],
            "rfm_score": _SCORE_STRINGS[code],
        }
    )


_GROUP_TABLE = np.array(
    [["Prospects"] * 9] + [list(RFM_GRID[recency]) for recency in range(1, 6)], dtype=object
)


def rfm_group(r: ArrayLike, f: ArrayLike, m: ArrayLike) -> np.ndarray | str:
    """Shopify's RFM group name of each customer from the R, F and M scores.

    The group depends on R and ``FM = (F + M) / 2`` through :data:`RFM_GRID` (see the module
    docstring).  Scores of 0 (from :func:`rfm_scores`, customers without orders) give
    ``"Prospects"``.  Arrays give an object array of names; three scalars give one name.
    """
    scalar = all(np.ndim(value) == 0 for value in (r, f, m))
    try:
        floats = np.broadcast_arrays(*(np.asarray(v, dtype=float).reshape(-1) for v in (r, f, m)))
    except (ValueError, TypeError) as error:
        raise ValueError(f"RFM scores must be whole numbers from 0 to 5: {error}") from error
    for name, values in zip("RFM", floats, strict=True):
        if not (np.isin(values, _VALID_SCORES)).all():
            raise ValueError(f"{name} scores must be whole numbers from 0 to 5 (0: no orders)")
    r_arr, f_arr, m_arr = (values.astype(np.int64) for values in floats)
    prospect = (r_arr == 0) | (f_arr == 0) | (m_arr == 0)
    if (prospect & ~((r_arr == 0) & (f_arr == 0) & (m_arr == 0))).any():
        raise ValueError("a score of 0 (no orders) must be 0 for all of R, F and M")
    column = np.where(prospect, 0, f_arr + m_arr - 2)
    names = _GROUP_TABLE[r_arr, column]
    return str(names[0]) if scalar else names
