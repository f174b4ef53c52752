"""Ibis building blocks shared by the cohort, churn and growth-stage analytics.

Conventions are those of :mod:`valuecast.analysis.summary`: guests (``customer_id`` NULL) are left
out of customer-level figures, orders after the as-of date are ignored, and a *purchase day* is a
calendar ``order_date`` of one customer (same-day orders are one purchase).
"""

from __future__ import annotations

from datetime import date, datetime

import ibis
import ibis.expr.types as ir

from valuecast.analysis.summary import SummaryError, default_as_of, prepare_orders
from valuecast.dates import as_date

AVERAGE_MONTH_DAYS = 365.25 / 12
"""Days in an average month: the unit of "months since the last order" (gaps are in days)."""


def resolve_as_of(orders: ir.Table, as_of: date | datetime | str | None) -> date:
    """``as_of`` as a date; None means the last order date in ``orders`` (guests included)."""
    value = as_date(as_of, "as-of", error=SummaryError)
    if value is None:
        value = default_as_of(orders)
        if value is None:
            raise SummaryError("no orders with an order date: nothing to analyse")
    return value


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


def purchase_days(known: ir.Table) -> ir.Table:
    """``customer_id, order_date, revenue, orders, next_date, gap_days``: one row a purchase day.

    ``next_date`` is the customer's next purchase day (NULL on the last one) and ``gap_days`` the
    whole days between the two (a window function over each customer's days).
    """
    days = known.group_by(["customer_id", "order_date"]).aggregate(
        revenue=known.net_revenue.sum(), orders=known.count()
    )
    window = ibis.window(group_by="customer_id", order_by="order_date")
    days = days.mutate(next_date=days.order_date.lead().over(window))
    return days.mutate(gap_days=days.next_date.delta(days.order_date, unit="day").cast("int64"))


def first_purchases(known: ir.Table) -> ir.Table:
    """``customer_id, first_date, cohort, orders``: one row per customer of ``known``.

    ``first_date`` is the first order date, ``cohort`` its :func:`month_index` and ``orders`` the
    customer's order count.  The cohort tables and the growth stage each need these; the
    analysis materialises them once and hands them to both.
    """
    firsts = known.group_by("customer_id").aggregate(
        first_date=known.order_date.min(), orders=known.count()
    )
    return firsts.mutate(cohort=month_index(firsts.first_date))


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
