"""Per-customer attributes and shop-level facts that the analysis adds to the summary (Ibis)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from valuecast.analysis.summary import order_key, prepare_orders


def first_products(
    orders: ir.Table, order_lines: ir.Table, as_of: date, not_products: Iterable[str] = ()
) -> ir.Table:
    """``customer_id, first_product``: the first product of each customer's first order.

    The first order is the earliest by order time (ties broken by order id); its first product
    the one of its lowest line number, among the products it bought as
    :func:`~valuecast.analysis.growth.affinity.product_lines` names and nets them (the name, else
    the sku; a product returned within the order was not bought; a product renamed under its
    SKU goes by its name as of ``as_of``, as affinity names it; shipping, fees and the lines
    ``not_products`` names are no product).  Customers whose first order has no such line get
    no row.
    """
    from valuecast.analysis.growth.affinity import product_lines

    o = prepare_orders(orders)
    dated = o.filter(o.order_date <= ibis.literal(as_of, type="date"))
    known = dated.filter(dated.customer_id.notnull())
    first_orders = known.group_by("customer_id").aggregate(
        order_id=known.order_id.argmin(order_key(known))
    )
    bought = product_lines(
        order_lines,
        first_line=True,
        dated=dated.select("order_id", "order_date"),
        not_products=not_products,
    )
    first_lines = bought.group_by("order_id").aggregate(
        first_product=bought.product.argmin(bought.first_line)
    )
    joined = first_orders.inner_join(
        first_lines, first_orders.order_id.cast("string") == first_lines.order_id
    )
    return joined.select("customer_id", "first_product")


def shop_facts(orders: ir.Table, as_of: date) -> dict[str, Any]:
    """Order counts, revenue, the largest net revenue in absolute value, currency and the date
    range up to ``as_of`` (one small query)."""
    o = prepare_orders(orders)
    o = o.filter(o.order_date <= ibis.literal(as_of, type="date"))
    guest = o.customer_id.isnull()
    row = (
        o.aggregate(
            n_orders=o.count(),
            n_guest_orders=o.count(where=guest),
            guest_revenue=o.net_revenue.sum(where=guest),
            revenue=o.net_revenue.sum(),
            largest_amount=o.net_revenue.abs().max(),
            first_order_date=o.order_date.min(),
            last_order_date=o.order_date.max(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    currency = None
    if "currency" in orders.columns:
        dated = orders.filter(orders.order_date.cast("date") <= ibis.literal(as_of, type="date"))
        counts = (
            dated.filter(dated.currency.notnull())
            .group_by("currency")
            .aggregate(n=ibis._.count())
            .order_by(ibis.desc("n"))
            .limit(1)
            .to_pyarrow()
            .to_pylist()
        )
        currency = counts[0]["currency"] if counts else None
    row["currency"] = currency
    row["revenue"] = float(row["revenue"] or 0.0)
    row["guest_revenue"] = float(row["guest_revenue"] or 0.0)
    return row
