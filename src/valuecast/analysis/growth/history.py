"""Ibis building blocks shared by the cohort, churn and growth-stage analytics.

Conventions are those of :mod:`valuecast.analysis.summary`: guests (``customer_id`` NULL) are left
out of customer-level figures, orders after the as-of date are ignored, and a *purchase day* is a
calendar ``order_date`` of one customer (same-day orders are one purchase).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow.compute as pc

from valuecast.analysis.backend import exact_sum
from valuecast.analysis.summary import ORDER_RANK, order_key_parts, prepare_orders
from valuecast.analysis.summary import resolve_as_of as summary_as_of

AVERAGE_MONTH_DAYS = 365.25 / 12
"""Days in an average month: the unit of "months since the last order" (gaps are in days)."""
NONE_LABEL = "(none)"
"""The group of customers whose acquisition attribute is missing (and of every customer when
the cohorts are not split)."""


def resolve_as_of(orders: ir.Table, as_of: date | datetime | str | None) -> date:
    """``as_of`` as a date; None means the last order date in ``orders`` (guests included)."""
    return summary_as_of(orders, as_of, step="analyse")


def date_literal(value: date) -> ir.DateScalar:
    return ibis.literal(value, type="date")


def dated_orders(orders: ir.Table, as_of: date) -> ir.Table:
    """Prepared orders (guests included) dated up to and including ``as_of``."""
    o = prepare_orders(orders)
    return o.filter(o.order_date.notnull(), o.order_date <= date_literal(as_of))


def known_orders(orders: ir.Table, as_of: date) -> ir.Table:
    """Prepared orders of identified customers (no guests) dated up to ``as_of``."""
    o = dated_orders(orders, as_of)
    return o.filter(o.customer_id.notnull())


def order_history(known: ir.Table, carried: Sequence[str] = ()) -> ir.Table:
    """Every order of ``known`` with its place in its customer's history: one row an order.

    ``customer_id, order_date, net_revenue``, the columns of ``known`` named in ``carried`` as
    they are (the order attributes the summary reads, :func:`~valuecast.analysis.summary.
    history_columns`), ``order_rank`` where ``carried`` names it (below), and

    * ``first_date``: the customer's first order date (the cohort is its :func:`month_index`);
    * ``first_order``: the customer's first row; ``repeat``: that row, for a customer with two or
      more orders (Shopify's repeat customer);
    * ``month_head``: the customer's first row in its calendar month (a count of these is a count
      of active customers per month, without a distinct count);
    * ``day_tail``: the last row of its purchase day (one per purchase day), and ``gap_days`` on
      it (int32): the whole days to the customer's next purchase day (NULL on the last one);
      ``day_head``: the first row of its purchase day (a row that is both is a day of one order,
      which the summary reads as its purchase day without grouping it).

    One window over each customer's orders sorted by date computes them all: the cohorts, the
    retention, the growth stage, the churn curve and the days between orders each read this
    table instead of joining the orders to a table of first purchases or grouping them by day.
    Each flag compares dates only, so exactly one row of each day, customer and month carries
    it, whatever the order of a day's rows.

    ``order_rank`` (int32): the order's place in its customer's history, a day's orders by
    time, then order id (NULL last), as the summary tells a day's first and latest order
    (:func:`~valuecast.analysis.summary.order_key`).  The same window sorts a day's orders so:
    a 4-byte rank is held instead of the order id and time (84 of 270 MB at 3.1M orders).
    """
    ranked = ORDER_RANK in carried
    k = known.select(
        "customer_id", "order_date", "net_revenue",
        *(name for name in carried if name != ORDER_RANK),
        *(("ordered_at", "order_id") if ranked else ()),
    )  # fmt: skip
    order_by = [k.order_date, *(order_key_parts(k) if ranked else ())]
    window = ibis.window(group_by="customer_id", order_by=order_by)
    previous, following = k.order_date.lag().over(window), k.order_date.lead().over(window)
    month = month_index(k.order_date)
    rank = {ORDER_RANK: ibis.row_number().over(window).cast("int32")} if ranked else {}
    history = k.mutate(
        **rank,
        first_date=k.order_date.first().over(window),
        first_order=previous.isnull(),
        repeat=previous.isnull() & following.notnull(),
        month_head=previous.isnull() | (month_index(previous) != month),
        day_tail=following.isnull() | (following != k.order_date),
        day_head=previous.isnull() | (previous != k.order_date),
        gap_days=ibis.ifelse(
            following != k.order_date, following.delta(k.order_date, unit="day"), None
        ).cast("int32"),  # days between dates: 4 bytes of each held row, not 8
    )
    # the order id and time are read by the window only: their rank is what is carried
    return history.drop("ordered_at", "order_id") if ranked else history


@dataclass
class StoredHistory:
    """An :func:`order_history` of the known orders up to ``as_of`` computed once and held for
    the steps that read it (the growth counts, then the analysis' summary): its window over
    every order is the costly part of the growth counts, and the summary reads its purchase
    days from the same rows instead of grouping the orders again.  ``release`` lets the rows go
    (once, however often it is called)."""

    table: ir.Table
    as_of: date
    release: Callable[[], None]


def purchase_days(known: ir.Table) -> ir.Table:
    """:func:`history_days` of the :func:`order_history` of ``known``."""
    return history_days(order_history(known))


def history_days(history: ir.Table) -> ir.Table:
    """``customer_id, order_date, first_day, gap_days``: one row a purchase day of ``history``.

    ``first_day`` tells the customer's first purchase day, ``gap_days`` the whole days to the
    customer's next purchase day (NULL on the last one).
    """
    days = history.filter(history.day_tail)
    return days.select(
        "customer_id", "order_date", "gap_days", first_day=days.order_date == days.first_date
    )


def cohort_cells(history: ir.Table) -> ir.Table:
    """Per cohort x group x age (months since acquisition): ``active_customers``, ``revenue``
    (its ``new_revenue`` on the customers' first purchase days and ``returning_revenue`` on
    later ones) and, at age 0, the cohort's ``customers`` and ``repeat_customers``.

    ``history``: an :func:`order_history`, with a ``group`` column to split the cohorts by
    (without one, every customer is in :data:`NONE_LABEL`).  One GROUP BY: the history's flags
    count each customer once per month (active), once in all (at the first order, which is at
    age 0) and once as a repeat customer, so no distinct count and no join to the first
    purchases is needed.  The cohort tables and the growth stage (revenue per calendar month,
    ``cohort + age``) read it.  The new and returning revenues are exact sums (:func:`exact_sum`,
    0 where a cell has none) and ``revenue`` their sum: a float sum's last bits follow the order
    the engine's threads add the orders in, which moved a cohort's lifetime value across a
    cent's rounding from one run to the next.
    """
    h = history
    cohort = month_index(h.first_date)
    new = h.order_date == h.first_date
    group = h.group if "group" in h.columns else ibis.literal(NONE_LABEL)
    cells = h.group_by(
        cohort=cohort, group=group, age=month_index(h.order_date) - cohort
    ).aggregate(
        active_customers=h.count(where=h.month_head),
        new_revenue=exact_sum(h.net_revenue, where=new),
        returning_revenue=exact_sum(h.net_revenue, where=~new),
        customers=h.count(where=h.first_order),
        repeat_customers=h.count(where=h.repeat),
    )
    return cells.select(
        "cohort", "group", "age", "active_customers",
        revenue=cells.new_revenue + cells.returning_revenue,
        new_revenue=cells.new_revenue, returning_revenue=cells.returning_revenue,
        customers=cells.customers, repeat_customers=cells.repeat_customers,
    )  # fmt: skip


def collect_together(queries: dict[str, ir.Table]) -> dict[str, pd.DataFrame]:
    """Several small results in one query: each of ``queries`` as a frame, by name.

    The queries are stacked (UNION ALL, each padded with NULL columns to the union of their
    columns) so the engine computes an input they share, such as an :func:`order_history`,
    once for all of them (DuckDB keeps a common table expression read twice) rather than once
    per query or in a table written for them.  A column name means one type in every query.
    """
    types: dict[str, object] = {}
    for query in queries.values():
        for name, dtype in query.schema().items():
            if types.setdefault(name, dtype) != dtype:
                raise ValueError(f"column {name!r} has two types: {types[name]} and {dtype}")
    padded = [
        query.select(
            _query=ibis.literal(key),
            **{name: query[name] if name in query.columns else ibis.null(dtype)
               for name, dtype in types.items()},
        )
        for key, query in queries.items()
    ]  # fmt: skip
    stacked = padded[0] if len(padded) == 1 else ibis.union(*padded, distinct=False)
    result = stacked.to_pyarrow()
    return {
        key: result.filter(pc.equal(result["_query"], key)).select(list(query.columns)).to_pandas()
        for key, query in queries.items()
    }


def month_index(value: ir.DateValue) -> ir.IntegerValue:
    """Months since year 0 (``year * 12 + month - 1``): differences are calendar-month steps."""
    return (value.year() * 12 + value.month() - 1).cast("int64")


def month_index_of(value: date) -> int:
    return value.year * 12 + value.month - 1


def month_label(index: int) -> str:
    """``'YYYY-MM'`` of a :func:`month_index` value."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def is_month_end(value: date) -> bool:
    """Whether ``value`` is the last day of its month (its month is then complete)."""
    return date.fromordinal(value.toordinal() + 1).day == 1
