"""The growth tables `valuecast analyze` writes next to the customers table.

One call computes, from the workspace and the analysis's customers table, everything issue-5 style
decisions need: cohorts and retention (:mod:`~valuecast.analysis.growth.cohorts`), CLV by acquisition
channel with CAC when spend is given (:mod:`~valuecast.analysis.growth.channels`), the growth stage
(:mod:`~valuecast.analysis.growth.stage`), product affinity and next products
(:mod:`~valuecast.analysis.growth.affinity`) and replenishment reminders
(:mod:`~valuecast.analysis.growth.replenishment`).  Each table is computed in the engine from the
workspace; nothing re-reads the exports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis.expr.types as ir
import pandas as pd

__all__ = [
    "CHANNELS_WITH_SPEND",
    "WHOLE_SHOP_BLENDED",
    "GrowthTables",
    "clv_to_cac_of",
    "growth_tables",
    "overall_clv_to_cac",
    "unknown_clv_to_cac_reason",
]

# what the shop's CLV:CAC (:func:`overall_clv_to_cac`) divides, as every output names it: the
# blended ratio counts every new customer, organic ones too, against all the spend; the
# channels' counts only the customers of the channels with spend against their spend, so it is
# the lower where customers also come without spend
WHOLE_SHOP_BLENDED = "whole shop (blended)"
CHANNELS_WITH_SPEND = "channels with spend"


@dataclass
class GrowthTables:
    """``tables``: file name -> frame; ``summary``: JSON-ready figures for summary.json;
    ``unmatched_spend``: the note on spend of channels no customer came through (None without);
    ``left_out_spend``: the note on spend of months outside the orders (None without);
    ``shop_wide_spend``: the note on spend naming no channel beside orders that do."""

    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]
    unmatched_spend: str | None = None
    left_out_spend: str | None = None
    shop_wide_spend: str | None = None


def _finite(value) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def overall_clv_to_cac(cac: pd.DataFrame) -> float | None:
    """Spend-weighted CLV:CAC over every channel's months with spend: total CLV / total spend,
    the spend of a channel that acquired nobody included (it is spend all the same).  Where
    the spend gives the whole shop's spend (``shop_wide_spend``: no channel column, or rows of
    all channels), which no channel's rows count, the whole shop's blended CLV:CAC.

    None without spend, and where no channel acquired anyone in its months with spend: that is
    a spend file whose channels are named otherwise than the orders' (``Facebook Ads`` beside
    ``web``), not a CLV:CAC of 0 (:func:`unknown_clv_to_cac_reason` says which)."""
    if unknown_clv_to_cac_reason(cac) is not None:
        return None
    totals = _with_spend(cac)
    acquired = totals["customers"] > 0
    value = float((totals["clv_per_customer"][acquired] * totals["customers"][acquired]).sum())
    return value / float(totals["spend"].sum()) if math.isfinite(value) else None


def clv_to_cac_of(cac: pd.DataFrame) -> str:
    """Which CLV:CAC :func:`overall_clv_to_cac` gives for the CAC table ``cac``: the whole
    shop's blended one (:data:`WHOLE_SHOP_BLENDED`) where the spend gives the whole shop's
    spend, else the spend-weighted one of the channels with spend (:data:`CHANNELS_WITH_SPEND`),
    which leaves out the customers acquired without spend."""
    return WHOLE_SHOP_BLENDED if cac.attrs.get("shop_wide_spend") else CHANNELS_WITH_SPEND


def unknown_clv_to_cac_reason(cac: pd.DataFrame) -> str | None:
    """Why the CAC table ``cac`` gives the shop no CLV:CAC (:func:`overall_clv_to_cac`), None
    where it gives one."""
    totals = _with_spend(cac)
    if cac.attrs.get("shop_wide_spend"):
        if not float(totals["spend"].sum()) > 0:
            return "the spend file reports no spend in the months of the orders"
        if not (totals["customers"] > 0).any():
            return "no customer was acquired in the months with spend"
        return None
    if not float(totals["spend"].sum()) > 0:
        return "the spend file reports no spend in the months of the orders"
    if not (totals["customers"] > 0).any():
        return (
            "no customer was acquired through the spend's channels in its months (name its "
            "channels as the orders do)"
        )
    return None


def _with_spend(cac: pd.DataFrame) -> pd.DataFrame:
    """The channels' all-months rows of ``cac`` that have spend (more than 0: a free channel
    a spend file lists at 0 came without spend); the whole shop's row alone where the spend
    gives the shop's (``shop_wide_spend``)."""
    from valuecast.analysis.growth.channels import BLENDED

    shop = (cac["channel"] == BLENDED).to_numpy()
    if cac.attrs.get("shop_wide_spend"):
        rows = shop & cac["spend"].notna().to_numpy()
    else:
        rows = ~shop & (cac["spend"].fillna(0) > 0).to_numpy()
    return cac[rows & (cac["cohort_month"] == "all").to_numpy()]


def growth_tables(
    workspace,
    customers: pd.DataFrame | ir.Table,
    as_of: date,
    *,
    spend: pd.DataFrame | None = None,
    margin: float = 1.0,
    new_customer: dict | None = None,
    counts: dict[str, pd.DataFrame] | None = None,
    not_products: Sequence[str] = (),
    products: bool = True,
) -> GrowthTables:
    """Cohorts, retention, channels (and CAC), affinity, next products, reminders and the stage.

    ``customers`` is the customers table of the analysis as of ``as_of``, of which channels.csv
    reads ``acquisition_channel``, ``historic_clv``, ``predicted_clv``, ``total_clv``,
    ``average_order_value`` and ``predicted_average_order_value``, and cac.csv (with ``spend``) ``customer_id`` and
    ``first_order_date`` too: a frame, or without ``spend`` a table of the workspace's engine,
    which channels.csv then groups there
    (:func:`~valuecast.analysis.growth.channels.channel_groups`); the cohorts, the stage, the
    churn curve and the gaps read the orders.  ``new_customer``: summary.json's
    ``model.new_customer`` (a new customer's discounted orders), which channels.csv turns into
    ``new_customer_clv`` per channel.  ``counts``: what
    :func:`~valuecast.analysis.growth.cohorts.growth_counts` gives for ``as_of``, when the
    caller collected them already.  ``not_products``: the line names and SKUs the merchant
    says are no product, left out of affinity, next products and reminders beside the built-in
    ones (:mod:`~valuecast.analysis.growth.non_products`).  ``products`` False leaves the
    product tables (affinity, next products, reminders) empty, for a reader that shows none
    (the report); the buyers of too many products to pair are still counted for their note.
    """
    from valuecast.analysis.backend import materialize
    from valuecast.analysis.growth.affinity import (
        AFFINITY_SCHEMA,
        NEXT_PRODUCTS_SCHEMA,
        names_products,
        next_products,
        non_product_lines,
        product_affinity,
        product_purchases,
        unmatched_not_products,
    )
    from valuecast.analysis.growth.channels import (
        CLV_METRICS,
        canonical_channels,
        channel_groups,
        channels_frame,
        clv_by_group,
        left_out_spend_note,
        monthly_revenue,
        new_customer_columns,
        shop_cac,
        shop_cac_table,
        shop_wide_spend_note,
        unmatched_spend_note,
        with_new_customer_clv,
    )
    from valuecast.analysis.growth.cohorts import (
        churn_from_counts,
        cohorts_from_cells,
        gaps_from_counts,
        growth_counts,
    )
    from valuecast.analysis.growth.replenishment import (
        DUE_WITHIN,
        REMINDER_SCHEMA,
        reminder_counts,
        reminders,
    )
    from valuecast.analysis.growth.stage import growth_stage, stage_to_dict
    from valuecast.io.schema import empty_frame

    orders, lines = workspace.orders(), workspace.order_lines()
    tables: dict[str, pd.DataFrame] = {}

    ratio = ratio_of = unknown_ratio = unmatched = left_out_spend = shop = shop_wide = None
    if not isinstance(customers, pd.DataFrame):  # a table in the engine
        if spend is not None:
            raise ValueError("the CAC table reads the customers as a frame: pass one with spend")
        groups, order_values, shop_order_value = channel_groups(customers)
        tables["channels.csv"] = new_customer_columns(
            groups, order_values, shop_order_value, new_customer, margin=margin
        )
    else:
        # the columns the grouping reads, not a copy of the whole customers table
        by_channel = customers[["acquisition_channel", *CLV_METRICS]].assign(
            acquisition_channel=canonical_channels(customers["acquisition_channel"])
        )
        groups = clv_by_group(by_channel, "acquisition_channel")
        cac = None
        if spend is not None:
            cac = shop_cac_table(
                customers, spend, monthly_revenue(orders, as_of), margin=margin, as_of=as_of
            )
            tables["cac.csv"] = cac
            shop = shop_cac(cac)
            ratio = overall_clv_to_cac(cac)
            ratio_of = clv_to_cac_of(cac)
            unknown_ratio = unknown_clv_to_cac_reason(cac)
            unmatched = unmatched_spend_note(cac, customers["acquisition_channel"])
            left_out_spend = left_out_spend_note(cac)
            shop_wide = shop_wide_spend_note(cac, customers["acquisition_channel"])
        tables["channels.csv"] = with_new_customer_clv(
            channels_frame(groups, "acquisition_channel", cac),
            customers,
            new_customer,
            margin=margin,
            channels=by_channel["acquisition_channel"],
        )

    # every table of the orders from one query over the order history
    if counts is None:
        counts = growth_counts(orders, as_of)
    # cohorts.notes (guests, orders after the as-of date left out) would repeat the summary's
    cohorts = cohorts_from_cells(counts["cells"], as_of)
    stage = growth_stage(
        orders, as_of=as_of, cac_ratio=ratio, cac_ratio_of=ratio_of, cells=counts["cells"],
        unknown_cac_reason=unknown_ratio, cac_notes=[] if unmatched is None else [unmatched],
    )  # fmt: skip
    churn = churn_from_counts(counts, as_of)
    gaps = gaps_from_counts(counts["gaps"], as_of)
    tables["cohorts.csv"], tables["retention.csv"] = cohorts.cohorts, cohorts.retention
    tables["days_between_orders.csv"] = gaps

    left_out = non_product_lines(orders, lines, as_of, not_products)
    named_products = names_products(lines)
    if named_products and not products:
        from valuecast.analysis.growth.affinity import wide_buyers

        pairs = empty_frame(AFFINITY_SCHEMA)
        pairs.attrs["wide_buyers"] = wide_buyers(
            orders, lines, as_of, product_purchases(orders, lines, as_of, not_products=not_products)
        )
        tables["affinity.csv"] = pairs
        tables["next_products.csv"] = empty_frame(NEXT_PRODUCTS_SCHEMA)
        tables["reminders.csv"] = empty_frame(REMINDER_SCHEMA)
    elif named_products:
        # the three tables read each order's products several times: computed once (a 1M-order
        # shop's 1.3M order products, ~0.4 s a reading)
        releases: list = []
        try:
            purchases = materialize(
                product_purchases(orders, lines, as_of, not_products=not_products), releases
            )
            pairs = product_affinity(orders, lines, as_of=as_of, purchases=purchases)
            tables["affinity.csv"] = pairs
            tables["next_products.csv"] = next_products(
                orders, lines, as_of=as_of, affinity=pairs, purchases=purchases
            )
            tables["reminders.csv"] = reminders(orders, lines, as_of=as_of, purchases=purchases)
        finally:
            for release in releases:
                release()
    else:  # an orders table without line items: no product to pair or remind of (1.1 s at 1M)
        pairs = tables["affinity.csv"] = empty_frame(AFFINITY_SCHEMA)
        tables["next_products.csv"] = empty_frame(NEXT_PRODUCTS_SCHEMA)
        tables["reminders.csv"] = empty_frame(REMINDER_SCHEMA)

    due = reminder_counts(tables["reminders.csv"])
    summary = {
        "growth_stage": stage_to_dict(stage),
        "churn_threshold": churn,
        "days_between_orders": {
            "repeat_purchases": int(gaps.attrs.get("gaps") or 0),
            "median_days": _finite(gaps.attrs.get("median_days")),
            "mean_days": _finite(gaps.attrs.get("mean_days")),
        },
        "cohorts": {
            "customers": int(cohorts.customers),
            "repeat_customers": int(cohorts.repeat_customers),
            "repeat_rate": _finite(cohorts.repeat_rate),
        },
        "clv_to_cac": ratio,
        # which CLV:CAC that is: the whole shop's blended one or the channels' with spend
        # (None without spend), said wherever the ratio is shown beside the blended one
        "clv_to_cac_of": None if ratio is None else ratio_of,
        # the whole shop's blended CAC (all spend / every new customer of the months with
        # spend), cac.csv's first rows: the figure merchants read first
        "cac": shop,
        # the note on spend no customer came through, which the Channels page says as
        # `valuecast channels` does (summary.json's notes hold it too)
        "unmatched_spend": unmatched,
        # the spend of months outside the orders, in no CAC: the report says it beside them
        "left_out_spend": left_out_spend,
        "products": {
            # False for orders without line items naming products (an orders table of customer,
            # date and amount): the pages then say what adds them, not that none sold together
            "named_products": bool(named_products),
            "affinity_pairs": int(len(pairs)),
            # buyers of more distinct products than affinity pairs (wholesale accounts)
            "wide_buyers": int(pairs.attrs.get("wide_buyers") or 0),
            "customers_with_next_products": int(
                tables["next_products.csv"]["customer_id"].nunique()
            ),
            "reminders": int(len(tables["reminders.csv"])),
            # due within DUE_WITHIN days either way, before consent: `valuecast reminders` and
            # the dashboard leave out those to customers who decline marketing (the workspace's
            # contacts say who, which this step does not read)
            "reminders_due": due["due"],
            "reminders_due_within_days": DUE_WITHIN,
            # overdue by more (or by more than a cycle): a win-back, not a reminder
            "reminders_lapsed": due["lapsed"],
            "non_product_lines": int(left_out["lines"].sum()),
            "free_lines": int(left_out.attrs.get("free_lines") or 0),
            # the merchant's own non-product names (--not-product), kept by the workspace,
            # and those no line carries (mistyped, or no longer sold)
            "not_products": list(not_products),
            "not_products_unmatched": unmatched_not_products(lines, not_products),
        },
    }
    return GrowthTables(
        tables=tables,
        summary=summary,
        unmatched_spend=unmatched,
        left_out_spend=left_out_spend,
        shop_wide_spend=shop_wide,
    )
