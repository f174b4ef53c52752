"""RFM groups and predicted spend tiers: share of customers and of value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuecast.dates import days_text
from valuecast.outputs.report.charts import (
    BLUE,
    GREY,
    Chart,
    axis_layout,
    capitalized,
    finite,
    finite_values,
    pct_text,
    plotly_figure,
    trace,
)
from valuecast.tables import ACTIVE_BUT_LOST, LAPSED_GROUPS, LIKELY_ACTIVE, WITHIN_USUAL_GAP

TIER_ORDER = ("high", "medium", "low")


def _group_shares(groups: dict[str, dict]) -> pd.DataFrame | None:
    """Count and value shares per group; value is predicted CLV, else historic CLV."""
    if not groups:
        return None
    frame = pd.DataFrame.from_dict(groups, orient="index")
    frame.index = frame.index.astype(str)
    frame = frame[frame.index != "None"] if "None" in frame.index else frame
    if frame.empty or frame["count"].sum() <= 0:
        return None
    predicted = frame.get("predicted_clv")
    value_column = "predicted_clv"
    # a predicted CLV that rounds to nothing (a fit predicting ~1e-11) shares out no value
    if predicted is None or pd.to_numeric(predicted, errors="coerce").fillna(0).sum() < 0.005:
        value_column = "historic_clv"
    value = pd.to_numeric(frame[value_column], errors="coerce").fillna(0.0)
    if value.sum() <= 0:
        return None
    frame["customer_share"] = frame["count"] / frame["count"].sum()
    frame["value"] = value
    frame["value_share"] = value / value.sum()
    frame.attrs["value_label"] = value_column.replace("_clv", " CLV")
    return frame


def _none_reason(groups: dict[str, dict], what: str) -> str:
    """Why there is no chart of ``what`` (RFM groups, spend tiers)."""
    counts = [row.get("count") or 0 for name, row in groups.items() if str(name) != "None"]
    if sum(counts) > 0:
        return f"No {what} chart: every customer's CLV is 0, so there is no value to share out."
    return f"No {what}: no customers yet."


def _share_bars(frame: pd.DataFrame, order: list[str], currency: str | None) -> list:
    what = frame.attrs["value_label"]
    frame = frame.loc[order]
    custom = np.column_stack([frame["count"].to_numpy(), frame["value"].to_numpy()]).tolist()
    return [
        trace(
            "bar", y=list(frame.index), x=finite_values(frame["customer_share"] * 100),
            orientation="h", name="share of customers", marker={"color": GREY}, customdata=custom,
            hovertemplate="%{y}: %{x:.1f}% of customers (%{customdata[0]:,})<extra></extra>",
        ),
        trace(
            "bar", y=list(frame.index), x=finite_values(frame["value_share"] * 100),
            orientation="h", name=f"share of {what}", marker={"color": BLUE}, customdata=custom,
            hovertemplate="%{y}: %{x:.1f}% of " + what + " (%{customdata[1]:,.0f} "
            + (currency or "") + ")<extra></extra>",
        ),
    ]  # fmt: skip


YOUNG_SHOP_DAYS = 365
"""A history shorter than a year reads its RFM groups with a caveat (docs/segments.md)."""

SHOP_OF_DAYS = 30
"""A history shorter than this is counted in days: its last day's buyers can read as lost."""


QUIET_SHOP_DAYS = 30
"""Days without an order by anyone before the as-of date from which the RFM groups read with a
caveat: the best recency is then that old (a shop that stopped selling, analysed later)."""


def young_shop_words(summary: dict) -> str:
    """The caveat for a young shop's RFM groups: they rank customers against one another, so in
    months of history a buyer of a few weeks ago can be 'Almost lost', in days a buyer of the
    last day, and in a history of one day every buyer scores the lowest recency; '' for an older
    shop. P(alive) and the next order are pointed to where the analysis predicted them.

    So too for a shop whose last order is :data:`QUIET_SHOP_DAYS` or more before the as-of
    date: ranked against one another, its Champions and New customers bought that long ago at
    the latest (the caveat follows the young shop's, where both hold)."""
    first, as_of = summary.get("first_order_date"), summary.get("as_of")
    if not first or not as_of:
        return ""
    days = (pd.Timestamp(as_of) - pd.Timestamp(first)).days
    predicted = finite((summary.get("totals") or {}).get("predicted_clv")) is not None
    beside = "; read P(alive) and the next order beside them." if predicted else "."
    return _young_words(days, beside) + _quiet_words(summary, beside) + _scheduled_words(summary)


def _quiet_words(summary: dict, beside: str) -> str:
    last = summary.get("last_order_date")
    if not last:
        return ""
    quiet = (pd.Timestamp(summary["as_of"]) - pd.Timestamp(last)).days
    if quiet < QUIET_SHOP_DAYS:
        return ""
    return (
        f" No customer has ordered in the {days_text(quiet)} before the as-of date: the groups "
        "rank customers against one another, so even Champions and New customers last bought "
        f"{days_text(quiet)} ago or more" + beside
    )


ACTIVE_BUT_LOST_SHARE = 0.05
"""The share of the customers of lapsed-sounding RFM groups (Almost lost, At risk, Previously
loyal, Dormant) that P(alive) holds likely active, from which the RFM groups read with a
caveat."""


def _scheduled_words(summary: dict) -> str:
    """The caveat where many customers of the lapsed-sounding groups are likely active by the
    model (summary.json's :data:`~valuecast.tables.ACTIVE_BUT_LOST`): customers who buy on a schedule
    (a subscription, a monthly refill) rank by how recently they bought, so one between two
    orders reads as lapsed though they are due."""
    active = int(summary.get(ACTIVE_BUT_LOST) or 0)
    groups = summary.get("rfm_groups") or {}
    lapsed = sum(int((groups.get(name) or {}).get("count") or 0) for name in LAPSED_GROUPS)
    if not active or active < ACTIVE_BUT_LOST_SHARE * lapsed:
        return ""
    return (
        f" {active:,} of the {lapsed:,} customers in {', '.join(LAPSED_GROUPS[:-1])} and "
        f"{LAPSED_GROUPS[-1]} have bought again, last ordered within {WITHIN_USUAL_GAP:g} times "
        f"their average days between orders and are {LIKELY_ACTIVE:.0%} or more likely "
        "active by the model: the groups rank how recently each customer bought against the "
        "shop's other customers, so where customers "
        "buy on a schedule (a subscription, a monthly refill) one between two orders reads as "
        "lapsed; read the days since their last order against their average days between "
        "orders beside them."
    )


def _young_words(days: int, beside: str) -> str:
    if days >= YOUNG_SHOP_DAYS:
        return ""
    if days <= 0:
        return (
            " Every order is of one day, the as-of date: the groups rank customers against one "
            "another, so that day's buyers all score the lowest recency (R = 1) and read as "
            "Dormant, Almost lost, At risk or Previously loyal, which says nothing of them yet"
            + beside
        )
    when = "in its last days, even on its last day," if days < SHOP_OF_DAYS else "weeks ago"
    return (
        f" The shop's history is {days_text(days)} long: the groups rank customers against one "
        f"another, so a customer who bought {when} can read as Almost lost or Previously loyal"
        + beside
    )


def segment_charts(summary: dict) -> list[Chart]:
    currency = summary.get("currency")
    charts = []
    title = "RFM groups: share of customers and of value"
    groups = _group_shares(summary.get("rfm_groups") or {})
    if groups is None:
        reason = _none_reason(summary.get("rfm_groups") or {}, "RFM groups")
        charts.append(Chart("segments-rfm", title, reason))
    else:
        what = groups.attrs["value_label"]
        order = list(groups.sort_values("value_share").index)  # largest at the top
        top = groups.loc[order[-1]]
        biggest_name = groups["count"].idxmax()
        reading = (
            f"{order[-1]} are {pct_text(top.customer_share)} of customers and hold "
            f"{pct_text(top.value_share)} of {what}"
        )
        if biggest_name != order[-1]:
            big = groups.loc[biggest_name]
            reading += (
                f"; the largest group, {biggest_name} ({pct_text(big.customer_share)} of "
                f"customers), holds {pct_text(big.value_share)}"
            )
        figure = plotly_figure(
            _share_bars(groups, order, currency),
            barmode="group",
            xaxis=axis_layout("share (%)", ticksuffix="%"),
            yaxis=axis_layout(""),
            height=max(360, 44 * len(order) + 120),
        )
        charts.append(
            Chart("segments-rfm", title, reading + "." + young_shop_words(summary), figure)
        )

    # without predictions the tiers rank historic CLV (analysis.segments)
    predicted = finite((summary.get("totals") or {}).get("predicted_clv")) is not None
    title = (
        "Predicted spend tiers" if predicted else "Spend tiers (by historic CLV)"
    ) + ": share of customers and of value"
    tiers = _group_shares(summary.get("spend_tiers") or {})
    if tiers is None:
        reason = _none_reason(summary.get("spend_tiers") or {}, "spend tiers")
        charts.append(Chart("segments-tiers", title, reason))
    else:
        what = tiers.attrs["value_label"]
        order = [t for t in TIER_ORDER if t in tiers.index][::-1]
        order += [t for t in tiers.index if t not in order]
        parts = [
            f"the {name} tier, {pct_text(tiers.loc[name, 'customer_share'])} of customers, holds "
            f"{pct_text(tiers.loc[name, 'value_share'])} of {what}"
            for name in ("high", "low")
            if name in tiers.index
        ]
        if not parts:  # no high or low tier (everyone predicted alike)
            names = list(tiers.index)
            parts = [
                f"every customer is in the {names[0]} tier"
                if len(names) == 1
                else f"customers are in the {', '.join(names)} tiers"
            ]
        reading = capitalized("; ".join(parts)) + "."
        figure = plotly_figure(
            _share_bars(tiers, order, currency),
            barmode="group",
            xaxis=axis_layout("share (%)", ticksuffix="%"),
            yaxis=axis_layout("tier"),
            height=300,
        )
        charts.append(Chart("segments-tiers", title, reading, figure))
    return charts
