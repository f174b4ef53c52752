"""Growth stage: the suggested split of effort and revenue from new vs returning."""

from __future__ import annotations

import pandas as pd

from valuecast.analysis.growth.stage import (
    COUNTED_IN_RATIO,
    RATE_WINDOW_DAYS,
    aged_shop,
    partial_month,
    rate_since_first_order,
    revenue_of_whom,
)
from valuecast.dates import days_text
from valuecast.outputs.report.charts import (
    BLUE,
    ORANGE,
    Chart,
    axis_layout,
    capitalized,
    finite,
    finite_values,
    pct_text,
    plotly_figure,
    trace,
)


def _cac_reading(ratio: float | None, of: str | None = None) -> str:
    """What the shop's CLV:CAC says of the split: the stage weighs the order rate alone, and a
    customer who costs more to win than they bring makes more acquisition spend lose money.
    ``of`` names whose ratio it is (summary.json's ``growth_stage.clv_cac_of``): the channels'
    with spend is not the blended one the Channels section leads with."""
    if ratio is None or ratio >= 3:
        return ""
    said = "CLV:CAC" if of is None else f"CLV:CAC of the {of}"
    if ratio < 1:
        return (
            f" But {said} is {ratio:.2f}: a new customer costs more to win than they bring, so "
            "more acquisition spend at today's cost loses money; lower that cost, or raise what "
            "customers bring, before spending more on it."
        )
    return f" {said} is {ratio:.2f}, below the usual target of 3 for a healthy acquisition spend."


def _unmatched_reading(notes: list[str]) -> str:
    """The notes on spend no customer matches (``analyze`` and ``channels`` say them): the
    shop's CLV:CAC counts that spend, so the ratio read here is lower than the matched
    channels' alone."""
    return "".join(f" {capitalized(note)}; {COUNTED_IN_RATIO}." for note in notes)


def _returning_reading(monthly: pd.DataFrame, stage: dict) -> str:
    """The returning customers' share of the last whole month against the first month's; the
    as-of date's month, when the date cuts it short, is said apart (a few days' orders are no
    month's share)."""
    share = monthly[["month", "returning_share"]].dropna()
    whose = revenue_of_whom(stage)
    partial = partial_month(stage)
    cut, so_far = None, ""
    if partial is not None and len(share) and share.iloc[-1]["month"] == partial[0]:
        cut, share = share.iloc[-1], share.iloc[:-1]
        so_far = f"{partial[0]}, {partial[1]} of its {partial[2]} days so far"
    # the last whole month: the as-of date's own month when the date ends it, else the one before
    months = monthly["month"].tolist()  # up to the as-of date's month
    whole_months = months if partial is None else months[:-1]
    whole = whole_months[-1] if whole_months else None

    def named(month: str) -> str:
        if month != whole:  # the months after it had no net revenue to split
            return f"{month}, the last month with net revenue"
        return f"{month}, the last whole month" if cut is not None else month

    if len(share) >= 2:
        first, last = share.iloc[0], share.iloc[-1]
        reading = (
            f"Returning customers brought {pct_text(last['returning_share'])} of {whose} in "
            f"{named(last['month'])}, against "
            f"{pct_text(first['returning_share'])} in {first['month']}"
        )
    elif len(share) == 1:
        reading = (
            f"Returning customers brought {pct_text(share.iloc[0]['returning_share'])} of "
            f"{whose} in {named(share.iloc[0]['month'])}"
        )
    elif cut is not None:
        return (
            f"Returning customers brought {pct_text(cut['returning_share'])} of {whose} in "
            f"{so_far}."
        )
    else:
        return "No net revenue by month to split yet."
    if cut is not None:
        reading += f" ({so_far}: {pct_text(cut['returning_share'])})"
    return reading + "."


def stage_charts(summary: dict, currency: str | None) -> list[Chart]:
    stage = (summary.get("growth") or {}).get("growth_stage")
    title = "Suggested split of marketing effort"
    if not stage:
        return [Chart("stage-effort", title, "No growth stage: the growth tables were not run.")]
    retention = finite(stage.get("retention_share")) or 0.0
    acquisition = finite(stage.get("acquisition_share"))
    acquisition = 1.0 - retention if acquisition is None else acquisition
    donut = trace(
        "pie", labels=["keep customers (retention)", "win new customers (acquisition)"],
        values=[retention, acquisition], hole=0.55, sort=False,
        marker={"colors": [BLUE, ORANGE]}, textinfo="label+percent",
        hovertemplate="%{label}: %{percent}<extra></extra>",
    )  # fmt: skip
    # the shop's own measurements, not the stage's typical description (a ten-year-old shop
    # selling three orders a week is no shop in its "first ~2 months")
    week, age = finite(stage.get("orders_per_week")), finite(stage.get("shop_age_days"))
    window = stage.get("rate_window_days") or RATE_WINDOW_DAYS
    if week is not None and age is not None:
        over = (
            "since its first order"
            if rate_since_first_order(window)
            else f"over the last {days_text(window)}"
        )
        measured = f" ({week:,.1f} orders a week {over}, {aged_shop(age)})"
    else:
        measured = f" ({stage['description']})" if stage.get("description") else ""
    reading = (
        f"At the '{stage.get('stage')}' stage{measured}, put about {pct_text(retention)} of the "
        f"effort into keeping customers and {pct_text(acquisition)} into winning new ones."
    )
    # why the rate or the age holds the shop back, when one does (stage_for's notes)
    held = [note for note in stage.get("notes") or [] if "the stage follows" in note
            or "retention share follows" in note]  # fmt: skip
    if held:
        reading += f" {capitalized(held[0])}."
    reading += _cac_reading(finite(stage.get("clv_cac_ratio")), stage.get("clv_cac_of"))
    reading += _unmatched_reading(stage.get("clv_cac_notes") or [])
    charts = [
        Chart(
            "stage-effort", title, reading,
            plotly_figure([donut], showlegend=False, height=320, margin={"l": 24, "r": 24, "t": 16,
                                                                   "b": 16}),
        )
    ]  # fmt: skip
    monthly = pd.DataFrame(stage.get("monthly_revenue") or [])
    title = "Monthly net revenue from new and returning customers"
    if monthly.empty:
        charts.append(Chart("stage-monthly", title, "No monthly revenue yet."))
        return charts
    unit = " " + currency if currency else ""
    traces = [
        trace(
            "bar", x=monthly["month"].astype(str).tolist(), y=finite_values(monthly[column]),
            name=name, marker={"color": color},
            hovertemplate="%{x}: %{y:,.0f}" + unit + " from " + name + "<extra></extra>",
        )
        for column, name, color in (
            ("new_revenue", "new customers", ORANGE),
            ("returning_revenue", "returning customers", BLUE),
        )
    ]  # fmt: skip
    reading = _returning_reading(monthly, stage)
    figure = plotly_figure(
        traces,
        barmode="stack",
        xaxis=axis_layout("month", type="category"),
        yaxis=axis_layout(f"net revenue ({currency or 'amount'})"),
    )
    charts.append(Chart("stage-monthly", title, reading, figure))
    return charts
