"""When the data can tell dropout from a slow purchase rate, and when a fit contradicts them.

A dropout model (BG/NBD, MBG/NBD, Pareto/NBD) learns that customers leave from repeat buyers who
went silent for much longer than their pace of buying.  A young shop, or one where almost nobody
has bought twice, holds no such silence: any dropout the fit reports is an artefact of the
optimiser (a 4-day-old shop's only repeat buyer, who ordered yesterday, came out "gone" with
probability 1).  :func:`unidentified_dropout` is the rule that withholds the predictions then;
:func:`contradiction` is the check that withholds a fit calling recent buyers gone anyway.
docs/methodology.md ("Short and tiny histories") gives the reasoning.
"""

from __future__ import annotations

import numpy as np

from valuecast.dates import days_text

MIN_REPEAT_CUSTOMERS = 5
"""Fewer customers with a repeat purchase than this: dropout is not identified."""

HISTORY_SHARE = 0.5
"""The history must span at least this share of the days observed per repeat order."""

RECENT_DAYS = 7
"""A customer who ordered within this many days of the as-of date is not more likely gone than not."""


NO_REPEAT_CUSTOMERS = "no repeat customers: predictions cannot be fitted, historic figures only"


def unidentified_dropout(
    n_repeat_customers: int, total_repeat_orders: float, total_days_observed: float,
    history_days: int, *, same_day_customers: int = 0,
) -> str | None:  # fmt: skip
    """Why the predictions are withheld, or ``None`` when the data can identify dropout.

    ``total_repeat_orders`` and ``total_days_observed`` are the sums over customers of
    ``frequency`` and ``T`` (days since each customer's first order): their ratio is the
    maximum-likelihood mean gap of a shop without dropout.  Where customers do leave, the days
    they are gone count too, so the ratio overstates the gap of the customers still buying: a
    realistic shop with a year of orders (the demo shop cut at 12 months: 447 days observed per
    repeat order, 54 days between a repeat buyer's orders) shows dropout well.  The history must
    therefore span :data:`HISTORY_SHARE` of the ratio, not all of it; a shorter one cannot show a
    customer silent for longer than their usual gap.

    ``same_day_customers`` counts the customers whose two or more orders all fall on one day.
    The models count purchase days, so each of them bought once; the growth stage and the cohorts
    count orders and call them repeat customers, and the reason says which count it is.
    """
    same_day = (
        f"{same_day_customers:,} customer{'' if same_day_customers == 1 else 's'} placed two or "
        "more orders, all on one day: one purchase to the models"
    )
    if n_repeat_customers == 0:
        if not same_day_customers:
            return NO_REPEAT_CUSTOMERS
        return (
            f"no customer ordered again on a later day ({same_day}): predictions cannot be "
            "fitted, historic figures only"
        )
    if n_repeat_customers < MIN_REPEAT_CUSTOMERS:
        return (
            f"only {n_repeat_customers} customer(s) ordered again on a later day (fewer than "
            f"{MIN_REPEAT_CUSTOMERS}{'; ' + same_day if same_day_customers else ''}): dropout "
            "cannot be told from a slow purchase rate, so predictions are withheld (historic "
            "figures only)"
        )
    typical_gap = total_days_observed / max(total_repeat_orders, 1.0)
    if history_days < HISTORY_SHARE * typical_gap:
        return (
            f"the history ({history_days} day{'' if history_days == 1 else 's'}) is shorter "
            "than half the typical time between "
            f"repeat orders ({typical_gap:.0f} days observed per repeat order): with so few "
            "repeat orders for the time observed, dropout cannot be told from a slow purchase "
            "rate, so predictions are withheld (historic figures only; a longer history helps "
            "only if more customers order again)"
        )
    return None


NO_DROPOUT_LIMITS = {"a": "0", "s": "0"}
"""The parameter at the limit of a fit that finds nobody leaving: BG/NBD-type models' ``a`` and
Pareto/NBD's ``s`` (each then reduces to the NBD)."""

HORIZON_SHARE = 0.5
"""The history a fit that finds no dropout needs to predict, as a share of the horizon (see
:func:`endless_on_short_history`)."""


def endless_on_short_history(model, history_days: float, horizon_days: float) -> str | None:
    """Why a fit that finds no dropout may not predict, or ``None`` when it may.

    A fit at the no-dropout limit says every customer keeps buying at their pace for ever.  Over a
    history shorter than :data:`HORIZON_SHARE` of the horizon that is an extrapolation the
    orders cannot support: a 5-day-old shop whose customers reorder daily came out at 138 orders
    each over 12 months, every customer alive.  Over a longer history the absence of dropout is
    itself evidence, and the prediction stands.
    """
    limits = getattr(model, "limits_", None) or {}
    if not any(limits.get(name) == edge for name, edge in NO_DROPOUT_LIMITS.items()):
        return None
    if history_days >= HORIZON_SHARE * horizon_days:
        return None
    return (
        f"the fit finds no dropout in {days_text(history_days)} of history and would predict "
        f"{horizon_days:.0f} days as if no customer ever left: dropout cannot be seen yet, so "
        "predictions are withheld (historic figures only)"
    )


def contradiction(model, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> str | None:
    """Why ``model`` contradicts the recent orders, or ``None`` when it does not.

    A customer who ordered within :data:`RECENT_DAYS` of the as-of date (``T - recency`` in days)
    may be called more likely gone than alive only by a BG/NBD-type model whose chance that a
    purchase is the customer's last, ``a / (a + b)``, itself exceeds 0.5, and only where some
    customer bought again after a repeat purchase (a frequency of 2 or more): where nobody has
    yet, the orders cannot tell "gone after a repeat purchase" from "not had the time for the
    next one" (a young shop's repeat buyers all came out gone, with a predicted CLV of 0).
    Otherwise such a fit has run off on data that cannot identify dropout.
    """
    recent = (T - recency) <= RECENT_DAYS
    if not np.any(recent):
        return None
    params = model.params_
    last = "a" in params and params["a"] / (params["a"] + params["b"]) > 0.5
    if last and np.any(np.asarray(frequency) >= 2):
        return None
    # a model with covariates bound to the histories binds those of the recent ones
    picked = model.rows(recent) if hasattr(type(model), "rows") else model
    alive = np.asarray(
        picked.probability_alive(frequency[recent], recency[recent], T[recent]), dtype=float
    )
    if np.all(alive >= 0.5):
        return None
    return (
        f"the fitted model calls a customer who ordered in the last {RECENT_DAYS} days more likely "
        f"gone than alive (P(alive) {alive.min():.2g}): the data do not identify dropout, so "
        "predictions are withheld (historic figures only)"
    )
