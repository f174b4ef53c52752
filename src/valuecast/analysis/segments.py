"""RFM scores and groups and predicted spend tiers of the customers table: the one rule, in Ibis.

:func:`add_segments` computes both where the customers table lives (DuckDB, Spark, SQL).
:func:`valuecast.analysis.tiers.predicted_spend_tier` applies the same tier rule to values already in pandas (the
audience exports' tiers of historic CLV).

RFM
===

RFM scores (1-5 within the shop) and Shopify's RFM group names.

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
Each customer is named from R and ``FM = (F + M) / 2`` on the grid in
:data:`RFM_GRID` (documented for merchants in ``docs/segments.md``)::

    R \\ FM   1 - 2.5          3 - 3.5          4            4.5 - 5
    5        New              Active           Champions    Champions
    4        Promising        Active           Loyal        Champions
    3        Needs attention  Needs attention  Loyal        Loyal
    2        Almost lost      Almost lost      At risk      Previously loyal
    1        Dormant          Almost lost      At risk      Previously loyal

plus Prospects for customers with no orders: the 11 names of Shopify's RFM groups.

Spend tiers
===========

Predicted spend tiers: high, medium and low, the way Shopify's ``predictedSpendTier`` splits them.

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

Money is ranked in whole millionths of the currency unit, so the last-bit noise of summing the
same amounts in a different order never splits equal spenders; ranks count customers with a
strictly better (or worse) value, so ties are defined by value alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from valuecast.analysis.backend import materialize
from valuecast.analysis.tiers import HIGH_SHARE, LOW_SHARE

ArrayLike = Any

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


MONEY_UNITS = 1_000_000
"""Money is ranked in whole millionths of the currency unit (see the module docstring)."""

_TIER_SCALE = 10**6


def _worse_count_score(worse: ir.IntegerValue, n: int) -> ir.IntegerValue:
    """``1 + floor(5 * worse / n)`` as integer comparisons (exact on every engine)."""
    # whole numbers compared as doubles: exact below 2**53, and no 32-bit overflow on Spark,
    # whose RANK() is an int
    worse = worse.cast("float64")
    score = ibis.literal(1, "int64")
    for s in range(1, 5):
        score = score + ibis.ifelse(worse * 5.0 >= float(s * n), 1, 0)
    return score.cast("int8")


def _money_key(value: ir.FloatingValue) -> ir.DecimalValue:
    """``value`` in whole millionths (rounded half away from zero) as a 38-digit decimal.

    38 digits hold the key of any total up to 1e32 in the currency, far beyond any sum of accepted
    amounts (at most 1e12 each); a 64-bit integer overflows from 9.2e12 and aborts the analysis.
    """
    return (value * MONEY_UNITS).cast("decimal(38, 0)")


def _rfm_group(r: ir.IntegerValue, fm: ir.IntegerValue) -> ir.StringValue:
    """Shopify's group from R (1-5) and F + M - 2 (0-8) through :data:`RFM_GRID`."""
    branches = []
    for recency, names in RFM_GRID.items():
        for column, name in enumerate(names):
            branches.append(((r == recency) & (fm == column), name))
    return ibis.cases(*branches, else_="Prospects")


def _counts_below(keys: ir.Table, column: str, *, descending: bool = False) -> ir.Table:
    """``column, below, equal, above``: per distinct non-NULL value, how many keys sort strictly
    before it (what a 0-based ``RANK()`` gives each of its rows), hold it, and sort after it.

    A running sum of the values' counts, joined back by value: a ``RANK()`` window sorts every
    customer with its payload and needs a row key to join back by (the text customer id, whose
    joins dominated the step at 32M customers), while grouping by value is a parallel hash
    aggregate and the running sum sorts the distinct values only (730 days, 69 order counts, one
    row per distinct amount).
    """
    known = keys.filter(keys[column].notnull())
    counts = known.group_by(column).aggregate(_k=known.count())
    order = ibis.desc(counts[column]) if descending else ibis.asc(counts[column])
    running = counts._k.sum().over(ibis.cumulative_window(order_by=order))
    total = counts._k.sum().over(ibis.window())
    return counts.select(column, below=running - counts._k, equal=counts._k, above=total - running)


def _stored(table: ir.Table, releases: list[Callable[[], None]] | None) -> ir.Table:
    """``table`` stored in the engine (lazy without ``releases``: in-memory tables in tests)."""
    return table if releases is None else materialize(table, releases)


def add_segments(
    table: ir.Table,
    as_of: date,
    n: int,
    has_predictions: bool,
    releases: list[Callable[[], None]] | None = None,
    *,
    summary: ir.Table | None = None,
) -> ir.Table:
    """RFM scores and group, the predicted spend tier and the acquisition channel (engine-side).

    The scores and tiers follow the rules of the module docstring (every customer here has
    orders, so no key but a missing prediction is NULL): a customer's score counts the customers
    with a strictly worse value, their tier those with a strictly lower and a strictly higher
    predicted value.  Each key's counts are one small table per distinct value
    (:func:`_counts_below`), stored first (with ``releases``) and joined to the customers by
    value, so the customers table is read once, in one pass with the joins, and never sorted or
    joined by customer id.  ``summary``: a table of the same customers with ``last_order_date``,
    ``historic_number_of_orders`` and ``historic_clv`` that is cheaper to read than ``table``
    (the stored summary, without the predictions' joins).
    """
    as_of_lit = ibis.literal(as_of, type="date")
    summary = table if summary is None else summary

    def days_since(t: ir.Table) -> ir.IntegerValue:
        return as_of_lit.delta(t.last_order_date, unit="day")

    def value_of(t: ir.Table) -> ir.DecimalValue:
        # without predictions the tiers rank historic value instead
        return _money_key(t.predicted_clv if has_predictions else t.historic_clv)

    past = summary.select(
        days_since=days_since(summary),
        orders=summary.historic_number_of_orders,
        money=_money_key(summary.historic_clv),
    )
    recency = _stored(_counts_below(past, "days_since", descending=True), releases)
    frequency = _stored(_counts_below(past, "orders"), releases)
    money = _stored(_counts_below(past, "money"), releases)
    keyed = table.mutate(
        _days_since=days_since(table), _money=_money_key(table.historic_clv), _value=value_of(table)
    )
    joined = (
        keyed.left_join(recency, keyed._days_since == recency.days_since)
        .left_join(frequency, keyed.historic_number_of_orders == frequency.orders)
        .left_join(money, keyed._money == money.money)
    )
    value = money  # without predictions the value is the money, joined once
    if has_predictions:  # the predicted value's key, named like money's so both join alike
        value = _stored(_counts_below(table.select(money=value_of(table)), "money"), releases)
        joined = joined.left_join(value, keyed._value == value.money)
    joined = joined.select(
        keyed,
        _r=recency.below,
        _f=frequency.below,
        _m=money.below,
        _lower=value.below,
        _equal=value.equal,
        _higher=value.above,
    )
    # whole numbers compared as doubles (exact below 2**53; Spark's counts may be 32-bit ints)
    lower, higher = joined._lower.cast("float64"), joined._higher.cast("float64")
    n_known = lower + joined._equal.cast("float64") + higher  # the customers with a value
    high_units, low_units = round(HIGH_SHARE * _TIER_SCALE), round(LOW_SHARE * _TIER_SCALE)
    tier = ibis.cases(
        (joined._value.isnull(), ibis.null().cast("string")),
        (higher * float(_TIER_SCALE) >= n_known * float(_TIER_SCALE - low_units), "low"),
        (lower * float(_TIER_SCALE) >= n_known * float(_TIER_SCALE - high_units), "high"),
        else_="medium",
    )
    ranked = joined.mutate(
        rfm_recency=_worse_count_score(joined._r, n),
        rfm_frequency=_worse_count_score(joined._f, n),
        rfm_monetary=_worse_count_score(joined._m, n),
        predicted_spend_tier=tier,
    )
    return ranked.mutate(
        rfm_score=ranked.rfm_recency.cast("string")
        .concat(ranked.rfm_frequency.cast("string"))
        .concat(ranked.rfm_monetary.cast("string")),
        rfm_group=_rfm_group(ranked.rfm_recency, ranked.rfm_frequency + ranked.rfm_monetary - 2),
        acquisition_channel=ranked.channel,
    ).drop("_days_since", "_money", "_value", "_r", "_f", "_m", "_lower", "_equal", "_higher")
