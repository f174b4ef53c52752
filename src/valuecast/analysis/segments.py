"""RFM scores and groups and predicted spend tiers of the customers table: the one rule, in Ibis.

:func:`add_segments` computes both where the customers table lives (DuckDB, Spark, SQL); an
analysis on DuckDB reads the money keys to find the monetary score's and the tiers' thresholds
(:func:`valuecast.analysis.tiers.score_thresholds`,
:func:`~valuecast.analysis.tiers.tier_thresholds`).
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
same amounts in a different order never splits equal spenders; predicted CLV in whole cents, as
customers.csv shows it, so that customers who read the same prediction share a tier; ranks count
customers with a strictly better (or worse) value, so ties are defined by value alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from valuecast.analysis.backend import backend_name
from valuecast.analysis.tiers import HIGH_SHARE, LOW_SHARE, score_thresholds, tier_thresholds
from valuecast.tables import round_half_up_expr

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


def _score(key: ir.Value, thresholds: list[ir.Value], *, descending: bool) -> ir.IntegerValue:
    """``1 + floor(5 * worse / n)`` as ``1 +`` the thresholds the key reaches
    (:func:`_score_thresholds`): at or above each (at or below, ``descending``)."""
    score = ibis.literal(1, "int64")
    for threshold in thresholds:
        reached = key <= threshold if descending else key >= threshold
        score = score + ibis.ifelse(reached, 1, 0)
    return score.cast("int8")


def _money_key(value: ir.FloatingValue) -> ir.DecimalValue:
    """``value`` in whole millionths (rounded half away from zero) as a 38-digit decimal.

    38 digits hold the key of any total up to 1e32 in the currency, far beyond any sum of accepted
    amounts (at most 1e12 each); a 64-bit integer overflows from 9.2e12 and aborts the analysis.
    """
    return (value * MONEY_UNITS).cast("decimal(38, 0)")


def _cents_key(value: ir.FloatingValue) -> ir.DecimalValue:
    """``value`` in whole cents as a 38-digit decimal, as :func:`_money_key` keys it in
    millionths: rounded as the CSV files round it (:func:`valuecast.tables.round_half_up_expr`),
    so customers.csv's two equal amounts are one key."""
    return (round_half_up_expr(value, 2) * 100).cast("decimal(38, 0)")


def _rfm_group(r: ir.IntegerValue, fm: ir.IntegerValue) -> ir.StringValue:
    """Shopify's group from R (1-5) and F + M - 2 (0-8) through :data:`RFM_GRID`.

    One lookup in the grid's 45 names laid out row by row (a chain of 45 ``WHEN`` branches cost
    0.4 s of CPU at 1M customers); a pair outside the grid is a Prospect.
    """
    width = len(RFM_GRID[1])
    names = [name for recency in range(1, len(RFM_GRID) + 1) for name in RFM_GRID[recency]]
    index = (r.cast("int32") - 1) * width + fm.cast("int32")  # Spark indexes by INT only
    in_grid = r.between(1, len(RFM_GRID)) & fm.between(0, width - 1)
    return ibis.ifelse(in_grid, ibis.literal(names, type="array<string>")[index], "Prospects")


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


def _score_thresholds(counts: ir.Table, column: str, n: int, *, descending: bool) -> dict:
    """The keys from which a customer's score is at least 2, 3, 4 and 5.

    A customer scores ``1 + floor(5 * worse / n)``, ``worse`` the customers with a strictly
    worse value: the ``below`` of their key in ``counts`` (:func:`_counts_below`), which grows
    with the key (shrinks, ``descending``).  So ``5 * worse >= s n`` holds exactly from the
    least key where it holds (up to the greatest, ``descending``), and the score counts the
    thresholds reached: four numbers instead of a join of every customer to ``counts``.  No key
    reaching a score gives NULL, which no customer reaches.  Whole numbers compare as doubles
    (exact below 2**53; Spark's counts may be 32-bit ints).
    """
    worse = counts.below.cast("float64")
    pick = counts[column].max if descending else counts[column].min
    return {f"s{s}": pick(where=worse * 5.0 >= float(s * n)) for s in range(1, 5)}


def _tier_thresholds(counts: ir.Table, column: str) -> dict:
    """The greatest key of the low tier and the least of the high tier (:data:`LOW_SHARE`,
    :data:`HIGH_SHARE` of the customers with a value, whole millionths compared as doubles):
    the strictly higher (lower) customers shrink (grow) with the key, as in
    :func:`_score_thresholds`."""
    lower, higher = counts.below.cast("float64"), counts.above.cast("float64")
    n_known = lower + counts.equal.cast("float64") + higher
    high_units, low_units = round(HIGH_SHARE * _TIER_SCALE), round(LOW_SHARE * _TIER_SCALE)
    scale = float(_TIER_SCALE)
    return {
        "low": counts[column].max(where=higher * scale >= n_known * (scale - low_units)),
        "high": counts[column].min(where=lower * scale >= n_known * (scale - high_units)),
    }


def _thresholds(
    counts: ir.Table, aggregates: dict, releases: list[Callable[[], None]] | None
) -> dict[str, ir.Value]:
    """``aggregates`` of ``counts`` (one row) as values to compare customers' keys with: one
    small query run now (with ``releases``: the analysis), or scalar subqueries of the lazy
    expression (in-memory tables in tests)."""
    row = counts.aggregate(**aggregates)
    if releases is None:
        return {name: row[name].as_scalar() for name in aggregates}
    values = row.to_pyarrow().to_pylist()[0]
    return {name: ibis.literal(values[name], type=row[name].type()) for name in aggregates}


def _money_keys_in_memory(
    keys: ir.Table, releases: list[Callable[[], None]] | None
) -> np.ndarray | None:
    """The money keys of ``keys`` (column ``money``, whole millionths) that are not missing, read
    from DuckDB as 64-bit integers for the analysis (``releases``) to split in NumPy
    (:func:`~valuecast.analysis.tiers.score_thresholds`,
    :func:`~valuecast.analysis.tiers.tier_thresholds`); ``None`` for lazy expressions, other
    engines and keys beyond 64 bits.

    Money has nearly as many distinct keys as customers: ranking them in the engine sorts them on
    one thread (the predicted values of 1M customers: 0.25 s), reading the keys and partitioning
    them takes 0.08 s.
    """
    if releases is None or backend_name(keys) != "duckdb":
        return None
    # the engine's 128-bit decimals are let go of a chunk at a time as they become 64-bit keys
    # (32M customers: 0.51 GB of decimals, 0.26 GB of keys)
    chunks = keys.filter(keys.money.notnull()).to_pyarrow().column("money").chunks
    parts = []
    while chunks:
        try:
            whole = pc.cast(chunks.pop(0), pa.int64())  # exact, or refused past 64 bits
        except pa.ArrowInvalid:
            return None
        parts.append(whole.to_numpy())
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


def _literals(values: dict[str, int | None], kind: Any) -> dict[str, ir.Value]:
    return {name: ibis.literal(value, type=kind) for name, value in values.items()}


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
    predicted value.  Each key's counts per distinct value (:func:`_counts_below`) give the
    keys from which a score or tier is reached (:func:`_score_thresholds`,
    :func:`_tier_thresholds`), computed first with ``releases`` (else lazy subqueries), so the
    customers are compared with a handful of numbers: never joined to a table of values,
    sorted or joined by customer id.  ``summary``: a table of the same customers with
    ``last_order_date``, ``historic_number_of_orders`` and ``historic_clv`` that is cheaper to
    read than ``table`` (the stored summary, without the predictions' joins).
    """
    as_of_lit = ibis.literal(as_of, type="date")
    summary = table if summary is None else summary

    def days_since(t: ir.Table) -> ir.IntegerValue:
        return as_of_lit.delta(t.last_order_date, unit="day")

    def value_of(t: ir.Table) -> ir.DecimalValue:
        # without predictions the tiers rank historic value instead; a prediction in whole cents,
        # as customers.csv shows it (a limit model predicts every customer 93.43 give or take
        # 1/40 of a cent of the optimiser's noise, which would rank 30% of them high)
        return _cents_key(t.predicted_clv) if has_predictions else _money_key(t.historic_clv)

    past = summary.select(
        days_since=days_since(summary),
        orders=summary.historic_number_of_orders,
        money=_money_key(summary.historic_clv),
    )
    scores = {}
    for column, descending in (("days_since", True), ("orders", False), ("money", False)):
        read = _money_keys_in_memory(past.select("money"), releases) if column == "money" else None
        if read is not None:
            found = score_thresholds(read, n)
            if not has_predictions:  # the tiers rank the money too
                found["low"], found["high"] = tier_thresholds(read)
            scores[column] = _literals(found, past.money.type())
            continue
        counts = _counts_below(past, column, descending=descending)
        aggregates = _score_thresholds(counts, column, n, descending=descending)
        if column == "money" and not has_predictions:  # the tiers rank the money too
            aggregates.update(_tier_thresholds(counts, column))
        scores[column] = _thresholds(counts, aggregates, releases)
    tiers = scores["money"]
    if has_predictions:
        keys = table.select(money=value_of(table))
        read = _money_keys_in_memory(keys, releases)
        if read is not None:
            low, high = tier_thresholds(read)
            tiers = _literals({"low": low, "high": high}, keys.money.type())
        else:
            value = _counts_below(keys, "money")
            tiers = _thresholds(value, _tier_thresholds(value, "money"), releases)
    key = value_of(table)
    tier = ibis.cases(
        (key.isnull(), ibis.null().cast("string")),
        (key <= tiers["low"], "low"),
        (key >= tiers["high"], "high"),
        else_="medium",
    )

    def score(key: ir.Value, column: str, descending: bool = False) -> ir.IntegerValue:
        return _score(key, [scores[column][f"s{s}"] for s in range(1, 5)], descending=descending)

    ranked = table.mutate(
        rfm_recency=score(days_since(table), "days_since", descending=True),
        rfm_frequency=score(table.historic_number_of_orders, "orders"),
        rfm_monetary=score(_money_key(table.historic_clv), "money"),
        predicted_spend_tier=tier,
    )
    return ranked.mutate(
        rfm_score=ranked.rfm_recency.cast("string")
        .concat(ranked.rfm_frequency.cast("string"))
        .concat(ranked.rfm_monetary.cast("string")),
        rfm_group=_rfm_group(ranked.rfm_recency, ranked.rfm_frequency + ranked.rfm_monetary - 2),
        acquisition_channel=ranked.channel,
    )
