"""Growth stage: the suggested split of effort and revenue from new vs returning."""

from __future__ import annotations

import pandas as pd

from valuecast.outputs.report.charts import (
    BLUE,
    ORANGE,
    Chart,
    axis_layout,
    finite,
    finite_values,
    pct_text,
    plotly_figure,
)


def stage_charts(summary: dict, currency: str | None) -> list[Chart]:
    import plotly.graph_objects as go

    stage = (summary.get("growth") or {}).get("growth_stage")
    title = "Suggested split of marketing effort"
    if not stage:
        return [Chart("stage-effort", title, "No growth stage: the growth tables were not run.")]
    retention = finite(stage.get("retention_share")) or 0.0
    acquisition = finite(stage.get("acquisition_share"))
    acquisition = 1.0 - retention if acquisition is None else acquisition
    donut = go.Pie(
        labels=["keep customers (retention)", "win new customers (acquisition)"],
        values=[retention, acquisition], hole=0.55, sort=False,
        marker={"colors": [BLUE, ORANGE]}, textinfo="label+percent",
        hovertemplate="%{label}: %{percent}<extra></extra>",
    )  # fmt: skip
    description = stage.get("description")
    reading = (
        f"At the '{stage.get('stage')}' stage"
        + (f" ({description})" if description else "")
        + f", put about {pct_text(retention)} of the effort into keeping customers and "
        f"{pct_text(acquisition)} into winning new ones."
    )
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
        go.Bar(
            x=monthly["month"].astype(str).tolist(), y=finite_values(monthly[column]), name=name,
            marker={"color": color},
            hovertemplate="%{x}: %{y:,.0f}" + unit + " from " + name + "<extra></extra>",
        )
        for column, name, color in (
            ("new_revenue", "new customers", ORANGE),
            ("returning_revenue", "returning customers", BLUE),
        )
    ]  # fmt: skip
    share = monthly[["month", "returning_share"]].dropna()
    if len(share) >= 2:
        first, last = share.iloc[0], share.iloc[-1]
        reading = (
            f"Returning customers brought {pct_text(last['returning_share'])} of net revenue in "
            f"{last['month']}, against {pct_text(first['returning_share'])} in {first['month']}."
        )
    elif len(share) == 1:
        reading = (
            f"Returning customers brought {pct_text(share.iloc[0]['returning_share'])} of net "
            f"revenue in {share.iloc[0]['month']}."
        )
    else:
        reading = "No net revenue by month to split yet."
    figure = plotly_figure(
        traces,
        barmode="stack",
        xaxis=axis_layout("month", type="category"),
        yaxis=axis_layout(f"net revenue ({currency or 'amount'})"),
    )
    charts.append(Chart("stage-monthly", title, reading, figure))
    return charts
