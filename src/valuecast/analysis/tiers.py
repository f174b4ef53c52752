"""The spend-tier rule on NumPy arrays (no Ibis, so the audience exports and the CLI's start-up
stay light): :func:`predicted_spend_tier` applies to values already in pandas the rule that
:func:`valuecast.analysis.segments.add_segments` applies in the engine, with the same shares;
:func:`tier_thresholds` and :func:`score_thresholds` find the keys from which a tier or an RFM
score is reached, for the analysis to compare its customers with.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ArrayLike = Any

HIGH_SHARE = 0.30
"""Share of customers at most in the high tier: those beating at least 70% of the shop."""
LOW_SHARE = 0.10
"""Share of customers at most in the low tier: those beaten by at least 90% of the shop."""


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
    out[known] = "medium"
    out[beats_share(values, high_share)] = "high"
    out[beaten_by_share(values, low_share)] = "low"
    return out


_SCALE = 10**6
"""Shares as whole fractions of this (exact for the published 0.30 and 0.10)."""


def _needed(n: int, share: float) -> int:
    """The least whole count ``c`` with ``c >= (1 - share) n``, in integer arithmetic:
    ``c * D >= (D - S) n`` with the share as ``S / D``."""
    units = round(share * _SCALE)
    return -(-(_SCALE - units) * n // _SCALE)


def beats_share(values: ArrayLike, share: float = HIGH_SHARE) -> np.ndarray:
    """True where a value is strictly higher than at least ``(1 - share) n`` of the ``n``
    values that are not NaN (the high tier of :func:`predicted_spend_tier`); NaN gives False.

    A value beats ``c`` others exactly when it is higher than the ``c``-th smallest value: one
    partition of the values instead of a sort.
    """
    values = np.asarray(values, dtype=float).reshape(-1)
    known = values[~np.isnan(values)]
    count = _needed(len(known), share)
    if len(known) == 0:
        return np.zeros(len(values), dtype=bool)
    if count == 0:
        return ~np.isnan(values)
    return values > np.partition(known, count - 1)[count - 1]


def beaten_by_share(values: ArrayLike, share: float = LOW_SHARE) -> np.ndarray:
    """True where at least ``(1 - share) n`` of the ``n`` values that are not NaN are strictly
    higher than the value (the low tier of :func:`predicted_spend_tier`); NaN gives False."""
    values = np.asarray(values, dtype=float).reshape(-1)
    return beats_share(-values, share)


def tier_thresholds(
    keys: ArrayLike, high_share: float = HIGH_SHARE, low_share: float = LOW_SHARE
) -> tuple[int | None, int | None]:
    """``(low, high)``: the greatest of ``keys`` in the low tier and the least in the high tier
    of :func:`predicted_spend_tier` (``None`` where that tier is empty), for keys that are
    whole numbers with none missing (the engine's money keys): a key is low when at most
    ``low``, high when at least ``high``.

    High keys are those above the ``c``-th smallest key (:func:`beats_share`), low keys those
    below the ``c``-th largest: two partitions of one copy of the keys and a pass each, where
    ranking the distinct keys sorts them all.
    """
    keys = np.array(keys).reshape(-1)  # a copy: partitioned in place
    n = len(keys)
    high = _least_beating(keys, _needed(n, high_share))
    low_at = n - _needed(n, low_share)  # low: below the key at this place in key order
    low = None if n == 0 else keys.max() if low_at >= n else _greatest_below(keys, low_at)
    return (None if low is None else int(low)), high


def score_thresholds(keys: ArrayLike, n: int, scores: int = 5) -> dict[str, int | None]:
    """``{"s1": ..., "s4": ...}``: ``s<k>`` is the least of ``keys`` from which an RFM score of
    ``k + 1`` or more is reached (``None``: no key reaches it), for whole-number keys with none
    missing, higher better, of a shop of ``n`` customers.  A customer scores
    ``1 + floor(scores * worse / n)``, ``worse`` the keys strictly below theirs, so ``k + 1`` is
    reached from the least key above the ``ceil(k n / scores)``-th smallest
    (:mod:`valuecast.analysis.segments`).
    """
    keys = np.array(keys).reshape(-1)  # a copy: partitioned in place
    return {f"s{k}": _least_beating(keys, -(-k * n // scores)) for k in range(1, scores)}


def _least_beating(keys: np.ndarray, count: int) -> int | None:
    """The least key greater than at least ``count`` of ``keys`` (None: no key is); ``keys``
    is reordered."""
    if count <= 0:  # every key
        return int(keys.min()) if len(keys) else None
    if count > len(keys):
        return None
    value = _least_above(keys, count - 1)
    return None if value is None else int(value)


def _least_above(keys: np.ndarray, place: int) -> Any:
    """The least key greater than the one at ``place`` in key order (None: no such key);
    ``keys`` is reordered."""
    keys.partition(place)
    above = keys[place + 1 :][keys[place + 1 :] > keys[place]]
    return above.min() if len(above) else None


def _greatest_below(keys: np.ndarray, place: int) -> Any:
    """The greatest key less than the one at ``place`` in key order (None: no such key);
    ``keys`` is reordered."""
    keys.partition(place)
    below = keys[:place][keys[:place] < keys[place]]
    return below.max() if len(below) else None
