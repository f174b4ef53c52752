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
    trace,
)


def descending(values: Any) -> np.ndarray:
    """``values`` as floats (missing as 0) sorted from the largest: what :func:`lorenz_points`
    and :func:`top_share` read, made once a column when the chart asks both."""
    array = np.nan_to_num(np.asarray(values, dtype=float))  # a copy: sorted in place
    array.sort()
    return array[::-1]


def lorenz_points(
    values: Any, points: int = 101, *, ordered: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Share of customers (most valuable first) and the share of the total value they hold.

    At ``points`` evenly spaced shares 0..1 of the customers: the top ``round(share * n)``
    customers' value over the total.  Raises ``ValueError`` when the total is not positive.
    ``ordered`` is :func:`descending` of ``values`` when the caller has it.
    """
    array = descending(values) if ordered is None else ordered
    total = float(array.sum())
    if len(array) == 0 or total <= 0:
        raise ValueError("no positive total to share")
    shares = np.linspace(0.0, 1.0, points)
    top = np.rint(shares * len(array)).astype(np.int64)
    cumulative = np.concatenate([[0.0], np.cumsum(array)])
    return shares, cumulative[top] / total


def top_count(n: int, share: float = 0.2) -> int:
    """The customers of a top ``share`` of ``n``: ``round(share * n)``, and at least the most
    valuable one (a fifth of one or two customers rounds to nobody, who holds nothing)."""
    return max(1, int(np.rint(share * n))) if n else 0


def top_share(values: Any, share: float = 0.2, *, ordered: np.ndarray | None = None) -> float:
    """Share of the total value held by the top :func:`top_count` customers; ``ordered`` is
    :func:`descending` of ``values`` when the caller has it."""
    array = descending(values) if ordered is None else ordered
    return float(array[: top_count(len(array), share)].sum() / array.sum())


def concentration_chart(customers: pd.DataFrame) -> Chart:
    title = "Share of customers vs share of value"
    predicted = customers.get("predicted_clv")
    historic = customers.get("historic_clv")
    use_predicted = (
        predicted is not None
        and np.isfinite(predicted.to_numpy(dtype=float)).any()
        # a prediction that rounds to nothing (a fit predicting ~1e-11 in all) shares out none
        and float(np.nansum(predicted.to_numpy(dtype=float))) >= 0.005
    )
    value, what = (predicted, "predicted CLV") if use_predicted else (historic, "historic CLV")
    if value is None or len(customers) == 0 or float(np.nansum(value.to_numpy(float))) <= 0:
        return Chart("concentration-lorenz", title, "No customer value to share out yet.")
    # each column sorted once for its curve and its top 20% (a sort of every customer's value
    # each: 1M customers, ~0.03 s a sort)
    ordered = descending(value)
    x, y = lorenz_points(value, ordered=ordered)
    traces = [
        trace(
            "scatter", x=x * 100, y=y * 100, mode="lines", name=what,
            line={"color": BLUE, "width": 3},
            hovertemplate="top %{x:.0f}% of customers: %{y:.1f}% of " + what + "<extra></extra>",
        )
    ]  # fmt: skip
    with_historic = use_predicted and historic is not None and float(np.nansum(historic)) > 0
    if with_historic:
        historic_ordered = descending(historic)
        hx, hy = lorenz_points(historic, ordered=historic_ordered)
        traces.append(
            trace(
                "scatter", x=hx * 100, y=hy * 100, mode="lines", name="historic CLV",
                line={"color": GREY, "width": 2},
                hovertemplate="top %{x:.0f}% of customers: %{y:.1f}% of historic CLV"
                "<extra></extra>",
            )
        )  # fmt: skip
    traces.append(
        trace(
            "scatter", x=[0, 100], y=[0, 100], mode="lines", name="every customer worth the same",
            line={"color": MUTED, "dash": "dot", "width": 1}, hoverinfo="skip",
        )
    )  # fmt: skip
    share = top_share(value, 0.2, ordered=ordered)
    n = len(ordered)
    if top_count(n) / n > 0.3:  # the top "20%" is one customer of one to three
        holder = (
            "The only customer holds" if n == 1 else f"The most valuable of {n} customers holds"
        )
    else:
        holder = "The top 20% of customers hold"
    reading = f"{holder} {pct_text(share)} of {what}"
    if with_historic:
        historic_share = top_share(historic, 0.2, ordered=historic_ordered)
        reading += f" (and {pct_text(historic_share)} of historic CLV)"
    reading += "."
    figure = plotly_figure(
        traces,
        xaxis=axis_layout("customers, most valuable first (%)", range=[0, 100], ticksuffix="%"),
        yaxis=axis_layout(f"share of {what} (%)", range=[0, 101], ticksuffix="%"),
    )
    return Chart("concentration-lorenz", title, reading, figure)
