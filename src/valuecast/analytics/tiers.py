"""Predicted spend tiers: high, medium and low, the way Shopify's ``predictedSpendTier`` splits them.

Shopify puts roughly the top 30% of a shop's customers by predicted spend in *high*, the bottom
10% in *low* and everyone else in *medium*.  valuecast does the same on predicted CLV, with a rule
that keeps equal values together:

* **high**: the customer's predicted CLV is higher than that of at least 70% of the customers;
* **low**: at least 90% of the customers have a higher predicted CLV;
* **medium**: everyone else.

On distinct values this is exactly the top 30% and the bottom 10% (rounded down: of 25 customers,
7 are high and 2 are low).  Customers with equal values always share a tier, so a tie across a
threshold makes a tier smaller rather than splitting equals: when every customer has the same
prediction nobody beats anybody and everyone is medium.  Missing predictions (NaN) get no tier
(``None``) and are not counted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from valuecast.analytics.rfm import _smaller_and_larger

ArrayLike = Any

HIGH_SHARE = 0.30
"""Share of customers at most in the high tier: those beating at least 70% of the shop."""
LOW_SHARE = 0.10
"""Share of customers at most in the low tier: those beaten by at least 90% of the shop."""
TIERS: tuple[str, ...] = ("high", "medium", "low")


def predicted_spend_tier(
    predicted_clv: ArrayLike, high_share: float = HIGH_SHARE, low_share: float = LOW_SHARE
) -> np.ndarray:
    """``"high"``, ``"medium"`` or ``"low"`` for each customer (an object array).

    ``high`` when the number of customers with a strictly lower value is at least
    ``(1 - high_share) n``; ``low`` when the number with a strictly higher value is at least
    ``(1 - low_share) n``; ``medium`` otherwise, so all-equal values are all medium.  NaN gives
    ``None``, and ``n`` counts the customers with a prediction.
    """
    if not (0 < high_share < 1 and 0 < low_share < 1 and high_share + low_share <= 1):
        raise ValueError("high_share and low_share must be in (0, 1) and add up to at most 1")
    values = np.asarray(predicted_clv, dtype=float).reshape(-1)
    if np.isinf(values).any():
        raise ValueError("predicted CLV contains infinite values")
    known = ~np.isnan(values)
    out = np.full(len(values), None, dtype=object)
    n = int(known.sum())
    if n == 0:
        return out
    part = values[known]
    lower, higher = _smaller_and_larger(part)
    # integer-exact comparisons: lower >= (1 - high_share) n  <=>  lower * D >= (D - H) n
    # with shares as fractions of 10**6 (exact for the published 0.30 and 0.10)
    scale = 10**6
    high_units, low_units = round(high_share * scale), round(low_share * scale)
    tiers = np.full(n, "medium", dtype=object)
    tiers[lower * scale >= (scale - high_units) * n] = "high"
    tiers[higher * scale >= (scale - low_units) * n] = "low"
    out[known] = tiers
    return out
