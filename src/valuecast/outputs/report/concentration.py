"""How value concentrates: the Lorenz curve of predicted (or historic) CLV."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from valuecast.outputs.report.charts import (
    BLUE,
    GREY,
    MUTED,
    Chart,
    axis_layout,
    pct_text,
    plotly_figure,
)


def lorenz_points(values: Any, points: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """Share of customers (most valuable first) and the share of the total value they hold.

    At ``points`` evenly spaced shares 0..1 of the customers: the top ``round(share * n)``
    customers' value over the total.  Raises ``ValueError`` when the total is not positive.
    """
    array = np.sort(np.nan_to_num(np.asarray(values, dtype=float)))[::-1]
    total = float(array.sum())
    if len(array) == 0 or total <= 0:
        raise ValueError("no positive total to share")
    shares = np.linspace(0.0, 1.0, points)
    top = np.rint(shares * len(array)).astype(np.int64)
    cumulative = np.concatenate([[0.0], np.cumsum(array)])
    return shares, cumulative[top] / total


def top_share(values: Any, share: float = 0.2) -> float:
    """Share of the total value held by the top ``round(share * n)`` customers."""
    array = np.sort(np.nan_to_num(np.asarray(values, dtype=float)))[::-1]
    k = int(np.rint(share * len(array)))
    return float(array[:k].sum() / array.sum())


def concentration_chart(customers: pd.DataFrame) -> Chart:
    import plotly.graph_objects as go

    title = "Share of customers vs share of value"
    predicted = customers.get("predicted_clv")
    historic = customers.get("historic_clv")
    use_predicted = (
        predicted is not None
        and np.isfinite(predicted.to_numpy(dtype=float)).any()
        and float(np.nansum(predicted.to_numpy(dtype=float))) > 0
    )
    value, what = (predicted, "predicted CLV") if use_predicted else (historic, "historic CLV")
    if value is None or len(customers) == 0 or float(np.nansum(value.to_numpy(float))) <= 0:
        return Chart("concentration-lorenz", title, "No customer value to share out yet.")
    x, y = lorenz_points(value)
    traces = [
        go.Scatter(
            x=x * 100, y=y * 100, mode="lines", name=what, line={"color": BLUE, "width": 3},
            hovertemplate="top %{x:.0f}% of customers: %{y:.1f}% of " + what + "<extra></extra>",
        )
    ]  # fmt: skip
    if use_predicted and historic is not None and float(np.nansum(historic)) > 0:
        hx, hy = lorenz_points(historic)
        traces.append(
            go.Scatter(
                x=hx * 100, y=hy * 100, mode="lines", name="historic CLV",
                line={"color": GREY, "width": 2},
                hovertemplate="top %{x:.0f}% of customers: %{y:.1f}% of historic CLV"
                "<extra></extra>",
            )
        )  # fmt: skip
    traces.append(
        go.Scatter(
            x=[0, 100], y=[0, 100], mode="lines", name="every customer worth the same",
            line={"color": MUTED, "dash": "dot", "width": 1}, hoverinfo="skip",
        )
    )  # fmt: skip
    share = top_share(value, 0.2)
    reading = f"The top 20% of customers hold {pct_text(share)} of {what}"
    if use_predicted and historic is not None and float(np.nansum(historic)) > 0:
        reading += f" (and {pct_text(top_share(historic, 0.2))} of historic CLV)"
    reading += "."
    figure = plotly_figure(
        traces,
        xaxis=axis_layout("customers, most valuable first (%)", range=[0, 100], ticksuffix="%"),
        yaxis=axis_layout(f"share of {what} (%)", range=[0, 101], ticksuffix="%"),
    )
    return Chart("concentration-lorenz", title, reading, figure)
