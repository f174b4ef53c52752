"""RFM scores (1-5 within the shop) and Shopify's RFM group names.

Scores
------
Each customer gets a recency, a frequency and a monetary score from 1 to 5, where 5 is best
(most recent, most orders, most money).  The score says how much of the shop the customer beats:

    score = 1 + floor(5 * share of the shop's customers with a strictly worse value)

so a 5 beats at least 80% of the shop, a 4 at least 60% (and less than 80%), and so on down to a
1, which beats fewer than 20%.  On values without ties these are exactly the quintiles (the top
fifth gets 5); on tied values it is the rule that keeps ties together: customers with equal values
beat the same customers and so always get the same score, and the worst value in the shop always
scores 1.

Ties matter most for frequency.  In a shop where 70% of customers have exactly one order, those
customers beat nobody and all score F = 1; a two-order customer beats the 70% and scores
1 + floor(5 * 0.70) = 4; three or more orders (beating, say, 85%) scores 5.  There are then no
F = 2 or F = 3 customers: a "quintile" that would split one-time buyers arbitrarily into F = 1 and
F = 2 would say something about them that the data does not.  The scores stay comparable across
shops: F = 4 always means "more orders than at least 60% of this shop's customers".

Customers without orders (``frequency_orders == 0``) are not ranked: their three scores are 0,
their ``rfm_score`` is ``"000"`` and their group is Prospects.  Everyone else is ranked among the
customers with orders only.

Groups
------
:func:`rfm_group` names each customer from R and ``FM = (F + M) / 2`` on the grid in
:data:`RFM_GRID` (documented for merchants in ``docs/segments.md``)::

    R \\ FM   1 - 2.5          3 - 3.5          4            4.5 - 5
    5        New              Active           Champions    Champions
    4        Promising        Active           Loyal        Champions
    3        Needs attention  Needs attention  Loyal        Loyal
    2        Almost lost      Almost lost      At risk      Previously loyal
    1        Dormant          Almost lost      At risk      Previously loyal

plus Prospects for customers with no orders: the 11 names of Shopify's RFM groups.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

ArrayLike = Any

GROUPS: tuple[str, ...] = (
    "Champions",
    "Loyal",
    "Active",
    "New",
    "Promising",
    "Needs attention",
    "At risk",
    "Previously loyal",
    "Almost lost",
    "Dormant",
    "Prospects",
)
"""Shopify's RFM group names, best first; Prospects are the customers without orders."""

# Columns: F + M = 2, 3, ..., 10, i.e. FM = (F + M) / 2 = 1, 1.5, ..., 5.  Rows: R = 1 .. 5.
_NAMES = {
    # R: (FM 1 - 2.5 [4 columns], FM 3 - 3.5 [2], FM 4 [1], FM 4.5 - 5 [2])
    5: ("New", "Active", "Champions", "Champions"),
    4: ("Promising", "Active", "Loyal", "Champions"),
    3: ("Needs attention", "Needs attention", "Loyal", "Loyal"),
    2: ("Almost lost", "Almost lost", "At risk", "Previously loyal"),
    1: ("Dormant", "Almost lost", "At risk", "Previously loyal"),
}
_BAND_WIDTHS = (4, 2, 1, 2)  # columns per FM band: 1-2.5, 3-3.5, 4, 4.5-5

RFM_GRID: dict[int, tuple[str, ...]] = {
    recency: tuple(
        name for name, width in zip(names, _BAND_WIDTHS, strict=True) for _ in range(width)
    )
    for recency, names in _NAMES.items()
}
"""``RFM_GRID[R][F + M - 2]``: the group of a customer with recency score R and F + M."""

_VALID_SCORES = np.arange(6, dtype=float)
_SCORE_STRINGS = np.array([f"{code:03d}" for code in range(1000)], dtype=object)


def _scores_from_below(below: np.ndarray, n: int) -> np.ndarray:
    """``1 + floor(5 * below / n)`` in exact integer arithmetic (below < n, so at most 5)."""
    return (1 + (5 * below) // n).astype(np.int8)


def _smaller_and_larger(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    smaller, larger = _smaller_and_larger(array)
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
