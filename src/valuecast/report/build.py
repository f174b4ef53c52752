"""What ``report.html`` shows, computed from an analysis, and the page itself.

Every section is a list of charts, each with a one-line reading computed from the same numbers
as the chart (plain words: "The top 20% of customers hold 61% of predicted CLV").  A chart
without data is never drawn: the reading then says why there is nothing to show.  Charts carry
aggregates only (a Lorenz curve at 101 points, mean P(alive) per recency x frequency cell, one
row per cohort, channel or group), so the page stays small whatever the number of customers.

Sections (:data:`SECTIONS`):

* ``headline``: customers, orders, historic and predicted CLV with its interval, the model;
  historic vs predicted CLV as bars, the interval as the error bar.
* ``concentration``: share of customers (most valuable first) against the share of predicted
  CLV they hold (a Lorenz curve; historic CLV when there are no predictions).
* ``alive``: mean P(alive) by days since the last order and repeat purchases.
* ``segments``: RFM groups and predicted spend tiers: share of customers and of value.
* ``cohorts``: retention by cohort and month since acquisition (complete months only),
  cumulative net revenue per customer by cohort, and the churn threshold curve.
* ``channels``: CLV per customer by acquisition channel (historic plus predicted) and, with
  marketing spend, CLV:CAC with the payback month.
* ``stage``: the growth stage with its suggested split of effort, and monthly revenue from new
  and returning customers.
* ``backtest``: actual vs predicted cumulative repeat purchases over the holdout weeks (each
  model, the naive guess), actual vs predicted holdout orders per calibration frequency, the
  scores, and the parameters with standard errors.
* ``data-quality``: rows read, orders used (guest orders among them) and orders excluded by
  reason, from the ingest report; low-confidence reasons and notes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from valuecast.models.registry import LABELS as MODEL_LABELS

__all__ = ["SECTIONS", "render_report", "report_from_workspace", "write_report"]

SECTIONS: dict[str, str] = {
    "headline": "Headline figures",
    "concentration": "How value concentrates",
    "alive": "Who is still buying",
    "segments": "RFM groups and spend tiers",
    "cohorts": "Cohorts and retention",
    "channels": "Acquisition channels",
    "stage": "Growth stage",
    "backtest": "How well the model predicts",
    "data-quality": "Data quality",
}
"""Section ids and titles, in page order."""

FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK, MUTED = "#1f2933", "#7b8794"
BLUE, ORANGE, GREEN, RED, GREY = "#2563eb", "#f59e0b", "#16a34a", "#dc2626", "#9aa5b1"
MODEL_COLORS = {"bgnbd": "#2563eb", "pnbd": "#db2777", "mbgnbd": "#0d9488"}

RECENCY_EDGES = (30, 60, 90, 180, 365, 730)
RECENCY_LABELS = ("0-30", "31-60", "61-90", "91-180", "181-365", "366-730", "over 730")
FREQUENCY_LABELS = ("0", "1", "2", "3", "4", "5-9", "10+")
TIER_ORDER = ("high", "medium", "low")


# ------------------------------------------------------------------------------------------------
# page structure
@dataclass
class Chart:
    """One chart and its reading; ``figure`` None means no data (the reading says why)."""

    key: str
    title: str
    reading: str
    figure: dict[str, Any] | None = None


@dataclass
class HtmlTable:
    title: str
    columns: list[str]
    rows: list[list[str]]
    reading: str | None = None


@dataclass
class Section:
    key: str
    title: str
    charts: list[Chart] = field(default_factory=list)
    tables: list[HtmlTable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------
# formatting
def _finite(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _money(value: Any, currency: str | None, decimals: int = 0) -> str:
    number = _finite(value)
    if number is None:
        return "-"
    text = f"{number:,.{decimals}f}"
    return f"{text} {currency}" if currency else text


def _pct(value: Any) -> str:
    number = _finite(value)
    if number is None:
        return "-"
    if 0 < abs(number) < 0.005:
        return "under 1%" if number > 0 else "-under 1%"
    return f"{number:.0%}"


def _signed_pct(value: Any) -> str:
    number = _finite(value)
    return "-" if number is None else f"{number:+.0%}"


def _count(value: Any) -> str:
    number = _finite(value)
    return "-" if number is None else f"{number:,.0f}"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _model_label(name: str | None) -> str:
    return MODEL_LABELS.get(name or "", name or "the model")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# ------------------------------------------------------------------------------------------------
# figures
def _figure(traces: list, **layout: Any) -> dict[str, Any]:
    """A Plotly figure (validated by plotly.graph_objects) as plain JSON-ready data."""
    import plotly.graph_objects as go
    from plotly.utils import PlotlyJSONEncoder

    base = {
        "template": "plotly_white",
        "font": {"family": FONT, "size": 13, "color": INK},
        "margin": {"l": 64, "r": 24, "t": 16, "b": 56},
        "height": 380,
        "legend": {"orientation": "h", "y": -0.2, "x": 0},
        "hoverlabel": {"font": {"family": FONT}},
    }
    base.update(layout)
    figure = go.Figure(data=traces, layout=base)
    # the encoder turns numpy values into plain ones and NaN into null
    return _plain(json.loads(json.dumps(figure.to_plotly_json(), cls=PlotlyJSONEncoder)))


def _numbers(value: Any) -> Any:
    """Nested lists with NaN and infinities as None (null in JSON)."""
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    return _finite(value) if isinstance(value, float) else value


def _plain(value: Any) -> Any:
    """Plotly's base64 typed arrays (``{"dtype", "bdata"[, "shape"]}``) as plain JSON lists.

    The charts hold a few hundred numbers each: plain lists cost nothing and keep the page's
    data readable (and checkable) as JSON.
    """
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "bdata" in value and "dtype" in value:
        import base64

        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            shape = value["shape"]
            shape = [int(n) for n in (shape.split(",") if isinstance(shape, str) else shape)]
            array = array.reshape(shape)
        return _numbers(array.tolist())
    return {key: _plain(item) for key, item in value.items()}


def _values(series: Any) -> list[float | None]:
    return [_finite(value) for value in np.asarray(series, dtype=float).tolist()]


def _axis(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "automargin": True, **extra}


# ------------------------------------------------------------------------------------------------
# headline
def _headline(summary: dict) -> tuple[list[dict[str, Any]], Chart]:
    currency = summary.get("currency")
    totals = summary.get("totals") or {}
    model = (summary.get("model") or {}).get("name")
    horizon = summary.get("horizon_months")
    items: list[dict[str, Any]] = [
        {"key": "n_customers", "label": "customers", "value": summary.get("n_customers"),
         "text": _count(summary.get("n_customers"))},
        {"key": "n_orders", "label": "orders", "value": summary.get("n_orders"),
         "text": _count(summary.get("n_orders"))},
        {"key": "n_guest_orders", "label": "guest orders (in orders, no customer)",
         "value": summary.get("n_guest_orders"), "text": _count(summary.get("n_guest_orders"))},
        {"key": "historic_clv", "label": "historic CLV", "value": totals.get("historic_clv"),
         "text": _money(totals.get("historic_clv"), currency)},
    ]  # fmt: skip
    predicted = _finite(totals.get("predicted_clv"))
    low, high = _finite(totals.get("predicted_clv_p10")), _finite(totals.get("predicted_clv_p90"))
    level = _finite(totals.get("interval_level")) or 0.8
    if predicted is not None:
        items.append(
            {"key": "predicted_clv", "label": f"predicted CLV, next {horizon} months",
             "value": totals.get("predicted_clv"), "text": _money(predicted, currency)}
        )  # fmt: skip
        if low is not None and high is not None:
            items.append(
                {"key": "predicted_clv_interval", "label": f"{level:.0%} interval",
                 "value": [totals.get("predicted_clv_p10"), totals.get("predicted_clv_p90")],
                 "text": f"{_money(low, None)} to {_money(high, currency)}"}
            )  # fmt: skip
        items.append(
            {"key": "predicted_number_of_orders", "label": "predicted orders",
             "value": totals.get("predicted_number_of_orders"),
             "text": _count(totals.get("predicted_number_of_orders"))}
        )  # fmt: skip
    model_text = f"{_model_label(model)} ({model})" if model in MODEL_LABELS else (model or "none")
    items.append({"key": "model", "label": "model", "value": model, "text": model_text})
    for item in items:
        item["json"] = json.dumps(item["value"])

    historic = _finite(totals.get("historic_clv"))
    customers = _count(summary.get("n_customers"))
    if historic is None:
        return items, Chart("headline-clv", "Historic and predicted CLV", "No revenue yet.")
    labels, values = ["historic CLV (so far)"], [historic]
    if predicted is not None:
        labels.append(f"predicted CLV (next {horizon} months)")
        values.append(predicted)
        reading = (
            f"{customers} customers have spent {_money(historic, currency)} so far; the "
            f"{_model_label(model)} model expects {_money(predicted, currency)} more in the next "
            f"{horizon} months"
        )
        if low is not None and high is not None:
            reading += f" ({level:.0%} interval {_money(low, None)} to {_money(high, currency)})"
        reading += "."
    else:
        reasons = summary.get("low_confidence_reasons") or []
        reading = f"{customers} customers have spent {_money(historic, currency)} so far; " + (
            f"no predictions: {reasons[-1]}." if reasons else "no predictions."
        )
    error = None
    if predicted is not None and low is not None and high is not None:
        error = {
            "type": "data",
            "symmetric": False,
            "array": [0.0, max(high - predicted, 0.0)],
            "arrayminus": [0.0, max(predicted - low, 0.0)],
            "color": INK,
            "thickness": 2,
            "width": 12,
        }
    import plotly.graph_objects as go

    bar = go.Bar(
        x=labels,
        y=values,
        marker={"color": [GREY, BLUE][: len(values)]},
        error_y=error,
        text=[_money(v, currency) for v in values],
        textposition="inside",
        hovertemplate="%{x}: %{y:,.0f} " + (currency or "") + "<extra></extra>",
        name="CLV",
    )
    figure = _figure([bar], yaxis=_axis(currency or "amount"), showlegend=False, height=320)
    return items, Chart("headline-clv", "Historic and predicted CLV", reading, figure)


# ------------------------------------------------------------------------------------------------
# concentration
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


def _concentration(customers: pd.DataFrame) -> Chart:
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
    reading = f"The top 20% of customers hold {_pct(share)} of {what}"
    if use_predicted and historic is not None and float(np.nansum(historic)) > 0:
        reading += f" (and {_pct(top_share(historic, 0.2))} of historic CLV)"
    reading += "."
    figure = _figure(
        traces,
        xaxis=_axis("customers, most valuable first (%)", range=[0, 100], ticksuffix="%"),
        yaxis=_axis(f"share of {what} (%)", range=[0, 101], ticksuffix="%"),
    )
    return Chart("concentration-lorenz", title, reading, figure)


# ------------------------------------------------------------------------------------------------
# P(alive)
def alive_grid(customers: pd.DataFrame) -> pd.DataFrame:
    """Mean P(alive) and customers per (repeat purchases, days since the last order) cell.

    Columns ``frequency_bin, recency_bin`` (indices into :data:`FREQUENCY_LABELS` and
    :data:`RECENCY_LABELS`), ``customers`` and ``probability_alive`` (the mean); only cells
    with customers whose P(alive) is known.  Days since the last order are ``T - recency``.
    """
    alive = customers["probability_alive"].to_numpy(dtype=float)
    known = np.isfinite(alive)
    frequency = customers["frequency"].to_numpy(dtype=float)[known]
    days = (customers["T"].to_numpy(dtype=float) - customers["recency"].to_numpy(dtype=float))[
        known
    ]
    recency_bin = np.searchsorted(np.asarray(RECENCY_EDGES, dtype=float), days, side="left")
    frequency_bin = np.where(frequency >= 10, 6, np.where(frequency >= 5, 5, frequency))
    frame = pd.DataFrame(
        {
            "frequency_bin": frequency_bin.astype(np.int64),
            "recency_bin": recency_bin.astype(np.int64),
            "probability_alive": alive[known],
        }
    )
    return (
        frame.groupby(["frequency_bin", "recency_bin"])
        .agg(
            customers=("probability_alive", "size"), probability_alive=("probability_alive", "mean")
        )
        .reset_index()
    )


def _repeat_words(label: str) -> str:
    return f"{label} repeat purchase" + ("" if label == "1" else "s")


def _alive(customers: pd.DataFrame) -> Chart:
    import plotly.graph_objects as go

    title = "Mean P(alive) by days since the last order and repeat purchases"
    needed = {"probability_alive", "frequency", "recency", "T"}
    if (
        not needed <= set(customers.columns)
        or not np.isfinite(customers["probability_alive"].to_numpy(dtype=float)).any()
    ):
        return Chart("alive-heatmap", title, "No P(alive): the purchase model could not be fitted.")
    grid = alive_grid(customers)
    rows = sorted(grid["frequency_bin"].unique())
    columns = sorted(grid["recency_bin"].unique())
    z = np.full((len(rows), len(columns)), np.nan)
    counts = np.zeros((len(rows), len(columns)), dtype=np.int64)
    for cell in grid.itertuples():
        i, j = rows.index(cell.frequency_bin), columns.index(cell.recency_bin)
        z[i, j], counts[i, j] = cell.probability_alive, cell.customers
    heat = go.Heatmap(
        z=[_values(row) for row in z],
        x=[RECENCY_LABELS[j] for j in columns],
        y=[FREQUENCY_LABELS[i] for i in rows],
        customdata=counts.tolist(),
        zmin=0, zmax=1, colorscale="RdYlGn",
        colorbar={"title": {"text": "P(alive)"}, "tickformat": ".0%"},
        texttemplate="%{z:.0%}", hoverongaps=False,
        hovertemplate="last order %{x} days ago, %{y} repeat purchases: mean P(alive) "
        "%{z:.0%} (%{customdata:,} customers)<extra></extra>",
    )  # fmt: skip
    # the most and least likely cells among those with enough customers to mean something
    solid = grid[grid["customers"] >= 10]
    if solid.empty:
        solid = grid
    best = solid.loc[solid["probability_alive"].idxmax()]
    worst = solid.loc[solid["probability_alive"].idxmin()]
    reading = (
        f"Customers with {_repeat_words(FREQUENCY_LABELS[int(best.frequency_bin)])} and a last "
        f"order {RECENCY_LABELS[int(best.recency_bin)]} days ago are the most likely to still be "
        f"buying (mean P(alive) {_pct(best.probability_alive)}); those with "
        f"{_repeat_words(FREQUENCY_LABELS[int(worst.frequency_bin)])} and no order for "
        f"{RECENCY_LABELS[int(worst.recency_bin)]} days the least "
        f"({_pct(worst.probability_alive)})."
    )
    figure = _figure(
        [heat],
        xaxis=_axis("days since the last order", type="category"),
        yaxis=_axis("repeat purchases", type="category"),
        height=360,
    )
    return Chart("alive-heatmap", title, reading, figure)


# ------------------------------------------------------------------------------------------------
# RFM groups and spend tiers
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
    if predicted is None or not (pd.to_numeric(predicted, errors="coerce").fillna(0) > 0).any():
        value_column = "historic_clv"
    value = pd.to_numeric(frame[value_column], errors="coerce").fillna(0.0)
    if value.sum() <= 0:
        return None
    frame["customer_share"] = frame["count"] / frame["count"].sum()
    frame["value"] = value
    frame["value_share"] = value / value.sum()
    frame.attrs["value_label"] = value_column.replace("_clv", " CLV")
    return frame


def _share_bars(frame: pd.DataFrame, order: list[str], currency: str | None) -> list:
    import plotly.graph_objects as go

    what = frame.attrs["value_label"]
    frame = frame.loc[order]
    custom = np.column_stack([frame["count"].to_numpy(), frame["value"].to_numpy()]).tolist()
    return [
        go.Bar(
            y=list(frame.index), x=_values(frame["customer_share"] * 100), orientation="h",
            name="share of customers", marker={"color": GREY}, customdata=custom,
            hovertemplate="%{y}: %{x:.1f}% of customers (%{customdata[0]:,})<extra></extra>",
        ),
        go.Bar(
            y=list(frame.index), x=_values(frame["value_share"] * 100), orientation="h",
            name=f"share of {what}", marker={"color": BLUE}, customdata=custom,
            hovertemplate="%{y}: %{x:.1f}% of " + what + " (%{customdata[1]:,.0f} "
            + (currency or "") + ")<extra></extra>",
        ),
    ]  # fmt: skip


def _segments(summary: dict) -> list[Chart]:
    currency = summary.get("currency")
    charts = []
    title = "RFM groups: share of customers and of value"
    groups = _group_shares(summary.get("rfm_groups") or {})
    if groups is None:
        charts.append(Chart("segments-rfm", title, "No RFM groups: no customers yet."))
    else:
        what = groups.attrs["value_label"]
        order = list(groups.sort_values("value_share").index)  # largest at the top
        top = groups.loc[order[-1]]
        biggest_name = groups["count"].idxmax()
        reading = (
            f"{order[-1]} are {_pct(top.customer_share)} of customers and hold "
            f"{_pct(top.value_share)} of {what}"
        )
        if biggest_name != order[-1]:
            big = groups.loc[biggest_name]
            reading += (
                f"; the largest group, {biggest_name} ({_pct(big.customer_share)} of "
                f"customers), holds {_pct(big.value_share)}"
            )
        figure = _figure(
            _share_bars(groups, order, currency),
            barmode="group",
            xaxis=_axis("share (%)", ticksuffix="%"),
            yaxis=_axis(""),
            height=max(360, 44 * len(order) + 120),
        )
        charts.append(Chart("segments-rfm", title, reading + ".", figure))

    title = "Predicted spend tiers: share of customers and of value"
    tiers = _group_shares(summary.get("spend_tiers") or {})
    if tiers is None:
        charts.append(Chart("segments-tiers", title, "No spend tiers: no customers yet."))
    else:
        what = tiers.attrs["value_label"]
        order = [t for t in TIER_ORDER if t in tiers.index][::-1]
        order += [t for t in tiers.index if t not in order]
        parts = [
            f"the {name} tier, {_pct(tiers.loc[name, 'customer_share'])} of customers, holds "
            f"{_pct(tiers.loc[name, 'value_share'])} of {what}"
            for name in ("high", "low")
            if name in tiers.index
        ]
        reading = _capital("; ".join(parts) or f"{len(tiers)} tiers") + "."
        figure = _figure(
            _share_bars(tiers, order, currency),
            barmode="group",
            xaxis=_axis("share (%)", ticksuffix="%"),
            yaxis=_axis("tier"),
            height=300,
        )
        charts.append(Chart("segments-tiers", title, reading, figure))
    return charts


# ------------------------------------------------------------------------------------------------
# cohorts
def _ltv_columns(cohorts: pd.DataFrame) -> list[tuple[int, str]]:
    out = []
    for column in cohorts.columns:
        if column.startswith("ltv_m") and column[5:].isdigit():
            out.append((int(column[5:]), column))
    return sorted(out)


def _retention_chart(retention: pd.DataFrame | None) -> Chart:
    import plotly.graph_objects as go

    title = "Retention: share of each cohort ordering in month k after acquisition"
    if retention is None or retention.empty:
        return Chart("cohorts-retention", title, "No cohorts yet.")
    frame = retention.copy()
    if "partial_month" in frame.columns:
        partial = frame["partial_month"].astype(str).str.lower().isin(("true", "1"))
        frame = frame[~partial]
    frame = frame[pd.to_numeric(frame["months_since_acquisition"], errors="coerce") >= 1]
    if frame.empty:
        return Chart(
            "cohorts-retention", title,
            "No cohort has a complete month after its first yet: retention needs more history.",
        )  # fmt: skip
    frame["cohort_month"] = frame["cohort_month"].astype(str)
    frame["months_since_acquisition"] = frame["months_since_acquisition"].astype(int)
    pivot = frame.pivot_table(
        index="cohort_month", columns="months_since_acquisition", values="retention",
        aggfunc="mean",
    )  # fmt: skip
    active = frame.pivot_table(
        index="cohort_month", columns="months_since_acquisition", values="active_customers",
        aggfunc="sum",
    ).reindex_like(pivot)  # fmt: skip
    heat = go.Heatmap(
        z=[_values(row) for row in pivot.to_numpy()],
        x=[str(m) for m in pivot.columns],
        y=list(pivot.index),
        customdata=np.nan_to_num(active.to_numpy()).astype(int).tolist(),
        colorscale="Blues", zmin=0,
        colorbar={"title": {"text": "retention"}, "tickformat": ".0%"},
        hoverongaps=False,
        hovertemplate="cohort %{y}, month %{x}: %{z:.1%} ordered "
        "(%{customdata:,} customers)<extra></extra>",
    )  # fmt: skip
    # customer-weighted retention in month 1 and in the latest of months 12, 6, 3 reached
    by_month = frame.groupby("months_since_acquisition").agg(
        active=("active_customers", "sum"), customers=("customers", "sum")
    )
    rate = by_month["active"] / by_month["customers"]
    reading = (
        f"In month 1 after their first order, {_pct(rate.get(1))} of a cohort's customers "
        "order again on average"
        if 1 in rate.index
        else ""
    )
    later = next((m for m in (12, 6, 3) if m in rate.index), None)
    if later is not None:
        reading += f"{'; in month ' if reading else 'In month '}{later}, {_pct(rate[later])}"
    reading = (reading or "Retention by cohort and month") + "."
    figure = _figure(
        [heat],
        xaxis=_axis("months since acquisition", type="category"),
        yaxis=_axis("cohort (first order month)", type="category", autorange="reversed"),
        height=max(320, 22 * len(pivot) + 120),
    )
    return Chart("cohorts-retention", title, reading, figure)


def _ltv_chart(cohorts: pd.DataFrame | None, currency: str | None) -> Chart:
    import plotly.graph_objects as go
    from plotly.colors import sample_colorscale

    title = "Cumulative net revenue per customer by cohort"
    columns = _ltv_columns(cohorts) if cohorts is not None else []
    if cohorts is None or cohorts.empty or not columns:
        return Chart("cohorts-ltv", title, "No cohorts yet.")
    values = cohorts[[c for _, c in columns]].apply(pd.to_numeric, errors="coerce")
    months = [m for m, _ in columns]
    label = cohorts["cohort_month"].astype(str) if "cohort_month" in cohorts else cohorts.index
    colors = sample_colorscale("Viridis", np.linspace(0.0, 0.9, max(len(cohorts), 2)).tolist())
    traces = []
    for position, (name, row) in enumerate(zip(label, values.to_numpy(), strict=True)):
        keep = np.isfinite(row)
        if not keep.any():
            continue
        traces.append(
            go.Scatter(
                x=np.asarray(months)[keep].tolist(), y=_values(row[keep]),
                mode="lines+markers" if keep.sum() == 1 else "lines",
                name=str(name), line={"color": colors[position], "width": 1.5},
                hovertemplate="cohort " + str(name) + ", month %{x}: %{y:,.2f} "
                + (currency or "") + " per customer<extra></extra>",
            )
        )  # fmt: skip
    if not traces:
        return Chart("cohorts-ltv", title, "No cohort revenue yet.")
    # customer-weighted mean at month 0 and at the latest of months 12, 6, 3, 1 that a cohort
    # has reached, over the same cohorts
    weights = pd.to_numeric(cohorts["customers"], errors="coerce").fillna(0).to_numpy(float)
    reading = None
    for month in (12, 6, 3, 1):
        column = f"ltv_m{month}"
        if column not in values:
            continue
        reached = np.isfinite(values[column].to_numpy()) & (weights > 0)
        if not reached.any():
            continue
        w = weights[reached]
        start = float(np.average(values["ltv_m0"].to_numpy()[reached], weights=w))
        end = float(np.average(values[column].to_numpy()[reached], weights=w))
        reading = (
            f"A new customer brings {_money(start, currency, 2)} in the month of their first "
            f"order and {_money(end, currency, 2)} by month {month} on average "
            f"({_plural(int(reached.sum()), 'cohort')} that got there)."
        )
        break
    if reading is None:
        first = values["ltv_m0"].to_numpy()
        keep = np.isfinite(first) & (weights > 0)
        mean = float(np.average(first[keep], weights=weights[keep])) if keep.any() else None
        reading = (
            f"A new customer brings {_money(mean, currency, 2)} in the month of their first "
            "order; no cohort has a later month yet."
        )
    figure = _figure(
        traces,
        xaxis=_axis("months since acquisition"),
        yaxis=_axis(f"cumulative net revenue per customer ({currency or 'amount'})"),
        legend={"title": {"text": "cohort"}},
        height=420,
    )
    return Chart("cohorts-ltv", title, reading, figure)


def _churn_chart(churn: dict | None) -> Chart | None:
    import plotly.graph_objects as go

    if not churn:
        return None
    points = [p for p in churn.get("curve") or [] if _finite(p.get("probability")) is not None]
    initial = _finite(churn.get("initial_repeat_probability"))
    if not points or initial is None:
        return None
    title = "Chance of another order after m months without one"
    follow = churn.get("follow_up_months")
    traces = [
        go.Scatter(
            x=[p["months"] for p in points], y=[p["probability"] for p in points],
            mode="lines+markers", name="P(order again) after m quiet months",
            line={"color": BLUE}, customdata=[p.get("points") for p in points],
            hovertemplate="%{x} months without an order: %{y:.0%} order again "
            "(%{customdata:,} cases)<extra></extra>",
        ),
        go.Scatter(
            x=[points[0]["months"], points[-1]["months"]], y=[initial / 2, initial / 2],
            mode="lines", name="half the chance right after an order",
            line={"color": RED, "dash": "dash"}, hoverinfo="skip",
        ),
    ]  # fmt: skip
    threshold = churn.get("threshold_months")
    window = f"within {follow} months" if follow else "again"
    if threshold is not None:
        at = next((p for p in points if p["months"] == threshold), None)
        reading = (
            f"After {_plural(int(threshold), 'month')} without an order the chance of ordering "
            f"{window} falls to {_pct(at['probability'] if at else None)}, under half the "
            f"{_pct(initial)} right after an order: customers quiet that long are churning."
        )
    else:
        reading = (
            f"The chance of ordering {window} starts at {_pct(initial)} after an order and never "
            "halves within the months the history covers: no churn threshold yet."
        )
    figure = _figure(
        traces,
        xaxis=_axis("months without an order"),
        yaxis=_axis("chance of another order", tickformat=".0%", rangemode="tozero"),
        height=340,
    )
    return Chart("cohorts-churn", title, reading, figure)


# ------------------------------------------------------------------------------------------------
# channels
def _channels(
    channels: pd.DataFrame | None, summary: dict, currency: str | None
) -> tuple[list[Chart], list[str]]:
    import plotly.graph_objects as go

    title = "CLV per customer by acquisition channel"
    notes: list[str] = []
    if channels is None or channels.empty:
        return [Chart("channels-clv", title, "No acquisition channels in the data.")], notes
    label = "acquisition_channel" if "acquisition_channel" in channels else channels.columns[0]
    frame = channels.copy()
    frame["customers"] = pd.to_numeric(frame["customers"], errors="coerce").fillna(0)
    with_customers = frame[frame["customers"] > 0].copy()
    for column in ("historic_clv_mean", "predicted_clv_mean", "total_clv_mean"):
        if column in with_customers:
            with_customers[column] = pd.to_numeric(with_customers[column], errors="coerce")
    charts = []
    if with_customers.empty or not np.isfinite(with_customers["historic_clv_mean"]).any():
        charts.append(Chart("channels-clv", title, "No customers with a known channel yet."))
    else:
        with_customers["total"] = with_customers["historic_clv_mean"].fillna(0) + with_customers[
            "predicted_clv_mean"
        ].fillna(0)
        ordered = with_customers.sort_values("total", ascending=False)
        names = ordered[label].astype(str).tolist()
        custom = ordered["customers"].astype(int).tolist()
        unit = " " + currency if currency else ""
        traces = [
            go.Bar(
                x=names, y=_values(ordered["historic_clv_mean"]), name="historic CLV (so far)",
                marker={"color": GREY}, customdata=custom,
                hovertemplate="%{x}: %{y:,.2f}" + unit + " so far per customer "
                "(%{customdata:,} customers)<extra></extra>",
            )
        ]  # fmt: skip
        has_predicted = np.isfinite(ordered["predicted_clv_mean"]).any()
        if has_predicted:
            traces.append(
                go.Bar(
                    x=names, y=_values(ordered["predicted_clv_mean"]), name="predicted CLV",
                    marker={"color": BLUE}, customdata=custom,
                    hovertemplate="%{x}: %{y:,.2f}" + unit + " predicted per customer"
                    "<extra></extra>",
                )
            )  # fmt: skip
        best, worst = ordered.iloc[0], ordered.iloc[-1]

        def worth(row) -> str:
            text = _money(row["total"], currency, 2)
            if has_predicted:
                text += (
                    f" ({_money(row['historic_clv_mean'], currency, 2)} so far plus "
                    f"{_money(row['predicted_clv_mean'], currency, 2)} predicted)"
                )
            return text

        if len(ordered) == 1:
            reading = (
                f"All {_plural(int(best['customers']), 'customer')} came through one channel, "
                f"{best[label]}: {worth(best)} each."
            )
        else:
            reading = (
                f"Customers from {best[label]} are worth the most, {worth(best)} each; those "
                f"from {worst[label]} the least, {_money(worst['total'], currency, 2)}."
            )
        figure = _figure(
            traces,
            barmode="stack",
            xaxis=_axis("acquisition channel"),
            yaxis=_axis(f"CLV per customer ({currency or 'amount'})"),
        )
        charts.append(Chart("channels-clv", title, reading, figure))

    title = "CLV:CAC by channel, with the payback month"
    if "clv_to_cac" not in frame.columns:
        notes.append(
            "CLV:CAC and payback need marketing spend: run `valuecast report --spend SPEND.csv` "
            "(month, channel, spend)."
        )
        return charts, notes
    frame["clv_to_cac"] = pd.to_numeric(frame["clv_to_cac"], errors="coerce")
    paid = frame[np.isfinite(frame["clv_to_cac"])].sort_values("clv_to_cac", ascending=False)
    if paid.empty:
        charts.append(
            Chart(
                "channels-cac", title,
                "No channel has both spend and acquired customers in the same months: CLV:CAC "
                "cannot be computed.",
            )
        )  # fmt: skip
        return charts, notes
    payback = pd.to_numeric(paid.get("payback_month"), errors="coerce")

    def payback_words(value) -> str:
        value = _finite(value)
        if value is None:
            return "not paid back yet"
        return (
            "paid back in the month of acquisition"
            if value == 0
            else (f"paid back in month {value:.0f}")
        )

    colors = [
        RED if ratio < 1 else (ORANGE if ratio < 3 else GREEN) for ratio in paid["clv_to_cac"]
    ]
    cac = pd.to_numeric(paid.get("cac"), errors="coerce")
    custom = [[_money(c, currency, 2), payback_words(p)] for c, p in zip(cac, payback, strict=True)]
    bar = go.Bar(
        x=paid[label].astype(str).tolist(), y=_values(paid["clv_to_cac"]),
        marker={"color": colors}, customdata=custom, name="CLV:CAC",
        text=[
            f"{r:.1f}, "
            + (f"paid back in month {p:.0f}" if _finite(p) is not None else "not paid back yet")
            for r, p in zip(paid["clv_to_cac"], payback, strict=True)
        ],
        textposition="outside",
        hovertemplate="%{x}: CLV:CAC %{y:.2f}, CAC %{customdata[0]}, %{customdata[1]}"
        "<extra></extra>",
    )  # fmt: skip
    top, bottom = paid.iloc[0], paid.iloc[-1]
    reading = (
        f"The best return on spend comes from {top[label]}: CLV:CAC "
        f"{top['clv_to_cac']:.1f} (CAC {_money(top.get('cac'), currency, 2)}, "
        f"{payback_words(top.get('payback_month'))})"
    )
    if len(paid) > 1:
        reading += f"; {bottom[label]} the least, {bottom['clv_to_cac']:.1f}"
    overall = _finite((summary.get("growth") or {}).get("clv_to_cac"))
    if overall is not None:
        reading += f". Over all channels with spend: {overall:.1f}"
    reading += "."
    figure = _figure(
        [bar],
        xaxis=_axis("acquisition channel"),
        yaxis=_axis("CLV:CAC", rangemode="tozero"),
        shapes=[
            {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y,
             "line": {"color": color, "dash": "dot", "width": 1}}
            for y, color in ((1, RED), (3, GREEN))
        ],
        showlegend=False,
    )  # fmt: skip
    charts.append(Chart("channels-cac", title, reading, figure))
    return charts, notes


# ------------------------------------------------------------------------------------------------
# growth stage
def _stage(summary: dict, currency: str | None) -> list[Chart]:
    import plotly.graph_objects as go

    stage = (summary.get("growth") or {}).get("growth_stage")
    title = "Suggested split of marketing effort"
    if not stage:
        return [Chart("stage-effort", title, "No growth stage: the growth tables were not run.")]
    retention = _finite(stage.get("retention_share")) or 0.0
    acquisition = _finite(stage.get("acquisition_share"))
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
        + f", put about {_pct(retention)} of the effort into keeping customers and "
        f"{_pct(acquisition)} into winning new ones."
    )
    charts = [
        Chart(
            "stage-effort", title, reading,
            _figure([donut], showlegend=False, height=320, margin={"l": 24, "r": 24, "t": 16,
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
            x=monthly["month"].astype(str).tolist(), y=_values(monthly[column]), name=name,
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
            f"Returning customers brought {_pct(last['returning_share'])} of net revenue in "
            f"{last['month']}, against {_pct(first['returning_share'])} in {first['month']}."
        )
    elif len(share) == 1:
        reading = (
            f"Returning customers brought {_pct(share.iloc[0]['returning_share'])} of net "
            f"revenue in {share.iloc[0]['month']}."
        )
    else:
        reading = "No net revenue by month to split yet."
    figure = _figure(
        traces,
        barmode="stack",
        xaxis=_axis("month", type="category"),
        yaxis=_axis(f"net revenue ({currency or 'amount'})"),
    )
    charts.append(Chart("stage-monthly", title, reading, figure))
    return charts


# ------------------------------------------------------------------------------------------------
# backtest
def _chosen_model(summary: dict, names: list[str]) -> str | None:
    backtest = summary.get("backtest") or {}
    for name in ((summary.get("model") or {}).get("name"), backtest.get("best")):
        if name in names:
            return name
    return names[0] if names else None


def _backtest(summary: dict) -> tuple[list[Chart], list[HtmlTable]]:
    import plotly.graph_objects as go

    backtest = summary.get("backtest") or {}
    weekly_title = "Cumulative repeat purchases in the holdout: actual vs predicted"
    frequency_title = "Holdout orders per customer by calibration frequency"
    if not backtest.get("models"):
        reason = backtest.get("skipped") or "no backtest in this analysis"
        return [Chart("backtest-weekly", weekly_title, f"No backtest: {reason}.")], []
    calibration_end = backtest.get("calibration_end")
    holdout_days = _finite(backtest.get("holdout_days"))
    charts = []
    weekly = backtest.get("weekly") or {}
    predicted = {k: v for k, v in (weekly.get("predicted") or {}).items() if v}
    actual = weekly.get("actual")
    if weekly.get("day") and actual and predicted:
        start = date.fromisoformat(calibration_end) if calibration_end else None
        days = [float(d) for d in weekly["day"]]
        x = [(start + timedelta(days=d)).isoformat() for d in days] if start else days
        traces = [
            go.Scatter(
                x=x, y=_values(actual), name="actual", mode="lines+markers",
                line={"color": INK, "width": 3},
                hovertemplate="%{x}: %{y:,.0f} actual<extra></extra>",
            )
        ]  # fmt: skip
        for name, series in predicted.items():
            traces.append(
                go.Scatter(
                    x=x, y=_values(series), name=_model_label(name), mode="lines",
                    line={"color": MODEL_COLORS.get(name, BLUE), "dash": "dash"},
                    hovertemplate="%{x}: %{y:,.0f} predicted by " + _model_label(name)
                    + "<extra></extra>",
                )
            )  # fmt: skip
        if weekly.get("naive"):
            traces.append(
                go.Scatter(
                    x=x, y=_values(weekly["naive"]), name="naive (own past rate)",
                    mode="lines", line={"color": GREY, "dash": "dot"}, visible="legendonly",
                    hovertemplate="%{x}: %{y:,.0f} naive<extra></extra>",
                )
            )  # fmt: skip
        chosen = _chosen_model(summary, list(predicted))
        total_actual, total_predicted = float(actual[-1]), float(predicted[chosen][-1])
        reading = (
            f"In the {holdout_days:.0f} days after {calibration_end}, the customers made "
            f"{total_actual:,.0f} repeat purchases; {_model_label(chosen)}"
            f"{' (the chosen model)' if chosen == (summary.get('model') or {}).get('name') else ''}"
            f", fitted on the days before, predicted {total_predicted:,.0f}"
        )
        if total_actual > 0:
            reading += f" ({_signed_pct(total_predicted / total_actual - 1)})"
        if weekly.get("naive") and total_actual > 0:
            naive_total = float(weekly["naive"][-1])
            reading += f", the naive guess {naive_total:,.0f} ({_signed_pct(naive_total / total_actual - 1)})"
        figure = _figure(
            traces,
            xaxis=_axis("holdout week ending" if start else "days after calibration end"),
            yaxis=_axis("cumulative repeat purchases", rangemode="tozero"),
        )
        charts.append(Chart("backtest-weekly", weekly_title, reading + ".", figure))
    else:
        charts.append(
            Chart("backtest-weekly", weekly_title, "No weekly holdout series in this analysis.")
        )

    by_frequency = backtest.get("by_frequency") or {}
    groups = by_frequency.get("frequency") or []
    predicted_means = {k: v for k, v in (by_frequency.get("predicted") or {}).items() if v}
    if groups and by_frequency.get("actual") and predicted_means:
        labels = [str(g) for g in groups]
        counts = by_frequency.get("customers") or [None] * len(labels)
        traces = [
            go.Bar(
                x=labels, y=_values(by_frequency["actual"]), name="actual",
                marker={"color": GREY}, customdata=counts,
                hovertemplate="%{x} repeat purchases in calibration: %{y:.2f} actual holdout "
                "orders per customer (%{customdata:,} customers)<extra></extra>",
            )
        ]  # fmt: skip
        for name, series in predicted_means.items():
            traces.append(
                go.Scatter(
                    x=labels, y=_values(series), name=_model_label(name), mode="lines+markers",
                    line={"color": MODEL_COLORS.get(name, BLUE)},
                    hovertemplate="%{x}: %{y:.2f} predicted by " + _model_label(name)
                    + "<extra></extra>",
                )
            )  # fmt: skip
        if by_frequency.get("naive"):
            traces.append(
                go.Scatter(
                    x=labels, y=_values(by_frequency["naive"]), name="naive (own past rate)",
                    mode="lines+markers", line={"color": GREY, "dash": "dot"},
                    visible="legendonly",
                    hovertemplate="%{x}: %{y:.2f} naive<extra></extra>",
                )
            )  # fmt: skip
        chosen = _chosen_model(summary, list(predicted_means))
        mine = np.asarray(predicted_means[chosen], dtype=float)
        truth = np.asarray(by_frequency["actual"], dtype=float)
        gaps = np.abs(mine - truth)
        worst = int(np.argmax(gaps))
        best = int(np.argmin(gaps))
        reading = (
            f"{_model_label(chosen)} is closest for customers with "
            f"{_repeat_words(labels[best])} in calibration ({mine[best]:.2f} holdout orders "
            f"predicted per customer, {truth[best]:.2f} actual) and furthest for "
            f"{_repeat_words(labels[worst])} ({mine[worst]:.2f} vs {truth[worst]:.2f})."
        )
        figure = _figure(
            traces,
            xaxis=_axis("repeat purchases in the calibration period", type="category"),
            yaxis=_axis("holdout orders per customer", rangemode="tozero"),
        )
        charts.append(Chart("backtest-frequency", frequency_title, reading, figure))
    else:
        charts.append(
            Chart(
                "backtest-frequency", frequency_title,
                "No per-frequency comparison in this analysis.",
            )
        )  # fmt: skip
    return charts, _backtest_tables(summary, backtest)


def _backtest_tables(summary: dict, backtest: dict) -> list[HtmlTable]:
    def fmt(value, spec):
        number = _finite(value)
        return "-" if number is None else format(number, spec)

    rows = []
    for name, scores in backtest.get("models", {}).items():
        label = _model_label(name) + (" (chosen)" if name == backtest.get("best") else "")
        if "error" in scores:
            rows.append([label, "failed", scores["error"], "", ""])
            continue
        rows.append(
            [label, fmt(scores.get("mae_orders"), ".3f"),
             _signed_pct(scores.get("aggregate_error_orders")),
             fmt(scores.get("spearman_orders"), ".3f"),
             _pct(scores.get("top_decile_revenue_share"))]
        )  # fmt: skip
    naive = backtest.get("naive")
    if naive:
        rows.append(
            ["naive (own past rate)", fmt(naive.get("mae_orders"), ".3f"),
             _signed_pct(naive.get("aggregate_error_orders")),
             fmt(naive.get("spearman_orders"), ".3f"),
             _pct(naive.get("top_decile_revenue_share"))]
        )  # fmt: skip
    sample = ""
    if backtest.get("sampled_from"):
        sample = (
            f", on a random sample of {backtest['n_customers']:,} of "
            f"{backtest['sampled_from']:,} customers"
        )
    tables = [
        HtmlTable(
            "Backtest scores",
            ["model", "MAE orders", "aggregate error", "Spearman", "top-decile revenue"],
            rows,
            f"Fitted on the history to {backtest.get('calibration_end')} and scored on the "
            f"{_finite(backtest.get('holdout_days')) or 0:.0f} days after{sample}; the model "
            "with the lowest mean absolute error of orders per customer is chosen.",
        )
    ]
    model = summary.get("model") or {}
    if model.get("params"):
        params = []
        errors = model.get("standard_errors") or {}
        for name, value in model["params"].items():
            params.append([_model_label(model.get("name")), name, fmt(value, ".4g"),
                           fmt(errors.get(name), ".3g")])  # fmt: skip
        spend = model.get("spend_model") or {}
        for name, value in (spend.get("params") or {}).items():
            params.append(["Gamma-Gamma (order value)", name, fmt(value, ".4g"),
                           fmt((spend.get("standard_errors") or {}).get(name), ".3g")])  # fmt: skip
        reading = (
            f"{_model_label(model.get('name'))} fitted on the whole history: "
            f"{_count(model.get('n_customers'))} customers "
            f"({_count(model.get('n_distinct_histories'))} distinct histories), log-likelihood "
            f"{fmt(model.get('log_likelihood'), ',.1f')}; time in days."
        )
        if spend.get("reason"):
            reading += f" Order value: {spend['reason']}."
        tables.append(
            HtmlTable("Parameters", ["model", "parameter", "estimate", "std. error"], params,
                      reading)
        )  # fmt: skip
    return tables


# ------------------------------------------------------------------------------------------------
# data quality
def _data_quality(summary: dict, ingest_report: dict | None) -> tuple[Chart, list[str]]:
    import plotly.graph_objects as go

    title = "What happened to the orders read"
    notes = [f"Low confidence: {reason}." for reason in summary.get("low_confidence_reasons") or []]
    notes += [f"{_capital(str(note))}." for note in summary.get("notes") or []]
    report = ingest_report or {}
    if "orders" not in report:
        return Chart(
            "data-quality-orders", title,
            "No ingest report: this workspace was not filled by `valuecast ingest`.",
        ), notes  # fmt: skip
    orders = int(report.get("orders") or 0)
    guests = int(report.get("guest_orders") or 0)
    excluded = {
        str(k): int(v) for k, v in (report.get("excluded_orders") or {}).items() if int(v) > 0
    }
    labels = ["used: customers' orders", "used: guest orders"]
    values = [orders - guests, guests]
    colors = [GREEN, ORANGE]
    for reason, count in sorted(excluded.items(), key=lambda item: -item[1]):
        labels.append(f"excluded: {reason}")
        values.append(count)
        colors.append(RED)
    bar = go.Bar(
        y=labels[::-1], x=values[::-1], orientation="h", marker={"color": colors[::-1]},
        text=[f"{v:,}" for v in values[::-1]], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:,} orders<extra></extra>", name="orders",
    )  # fmt: skip
    rows = int(report.get("rows_read") or 0)
    reading = (
        f"Of {_plural(rows, 'row')} read, {_plural(orders, 'order')} were used "
        f"({guests:,} of them guest orders, left out of the customer figures)"
    )
    total_excluded = sum(excluded.values())
    if excluded:
        reading += f"; {_plural(total_excluded, 'order')} were excluded: " + ", ".join(
            f"{reason} {count:,}" for reason, count in sorted(excluded.items(), key=lambda i: -i[1])
        )
    else:
        reading += "; none was excluded"
    figure = _figure(
        [bar],
        xaxis=_axis("orders"),
        yaxis=_axis(""),
        showlegend=False,
        height=max(240, 40 * len(labels) + 100),
    )
    return Chart("data-quality-orders", title, reading + ".", figure), notes


# ------------------------------------------------------------------------------------------------
# the page
def _table(tables: dict[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    frame = (tables or {}).get(name)
    return frame if isinstance(frame, pd.DataFrame) else None


def build_sections(
    summary: dict,
    customers: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    ingest_report: dict | None,
) -> tuple[list[dict[str, Any]], list[Section]]:
    """The headline items and every section's charts, tables and notes."""
    currency = summary.get("currency")
    items, headline_chart = _headline(summary)
    sections = [Section("headline", SECTIONS["headline"], [headline_chart])]
    sections.append(
        Section("concentration", SECTIONS["concentration"], [_concentration(customers)])
    )
    sections.append(Section("alive", SECTIONS["alive"], [_alive(customers)]))
    sections.append(Section("segments", SECTIONS["segments"], _segments(summary)))
    cohort_charts = [
        _retention_chart(_table(tables, "retention.csv")),
        _ltv_chart(_table(tables, "cohorts.csv"), currency),
    ]
    churn = _churn_chart((summary.get("growth") or {}).get("churn_threshold"))
    if churn is not None:
        cohort_charts.append(churn)
    sections.append(Section("cohorts", SECTIONS["cohorts"], cohort_charts))
    channel_charts, channel_notes = _channels(_table(tables, "channels.csv"), summary, currency)
    sections.append(Section("channels", SECTIONS["channels"], channel_charts, notes=channel_notes))
    sections.append(Section("stage", SECTIONS["stage"], _stage(summary, currency)))
    backtest_charts, backtest_tables = _backtest(summary)
    sections.append(Section("backtest", SECTIONS["backtest"], backtest_charts, backtest_tables))
    quality_chart, quality_notes = _data_quality(summary, ingest_report)
    sections.append(
        Section("data-quality", SECTIONS["data-quality"], [quality_chart], notes=quality_notes)
    )
    return items, sections


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("valuecast.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _script_json(payload: Any) -> str:
    """JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` written as ``\\u`` escapes,
    so no text from the data (a channel named ``</script>``) can end or confuse the element."""
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def render_report(
    summary: dict,
    customers: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    ingest_report: dict | None,
) -> str:
    """The report as one HTML page: Plotly's JavaScript inline once, no external resource.

    ``summary`` is the analysis summary (summary.json, with ``summary["growth"]`` from
    :func:`valuecast.analysis.growth.tables.growth_tables`), ``customers`` the customers table,
    ``tables`` the growth tables by file name (``cohorts.csv``, ``retention.csv``,
    ``channels.csv``, ...) and ``ingest_report`` the last ingest report (or None).
    """
    from plotly.offline import get_plotlyjs

    # as summary.json and ingest_report.json hold them: plain JSON types (numpy scalars from an
    # in-memory analysis become Python numbers, dates ISO strings)
    summary = json.loads(json.dumps(summary, default=_json_default))
    if ingest_report is not None:
        ingest_report = json.loads(json.dumps(ingest_report, default=_json_default))
    items, sections = build_sections(summary, customers, tables, ingest_report)
    figures: dict[str, Any] = {}
    template = None
    for section in sections:
        for chart in section.charts:
            if chart.figure is None:
                continue
            layout = chart.figure.setdefault("layout", {})
            template = layout.pop("template", template)
            if not chart.figure.get("data"):
                raise AssertionError(f"chart {chart.key} has no data")  # a bug, never shown
            figures[chart.key] = chart.figure
    plotly_js = get_plotlyjs()
    if "</script" in plotly_js.lower():  # cannot happen with a released plotly.js
        raise RuntimeError("plotly.js contains '</script': it cannot be inlined")
    totals = summary.get("totals") or {}
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            summary=summary,
            currency=summary.get("currency"),
            period=(summary.get("first_order_date"), summary.get("last_order_date")),
            items=items,
            sections=sections,
            low_confidence=bool(summary.get("low_confidence")),
            low_confidence_reasons=summary.get("low_confidence_reasons") or [],
            horizon=summary.get("horizon_months"),
            margin=summary.get("margin"),
            has_predictions=_finite(totals.get("predicted_clv")) is not None,
            figures_json=_script_json({"template": template, "figures": figures}),
            plotly_js=plotly_js,
        )
    )


def write_report(
    path: str | Path,
    summary: dict,
    customers: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    ingest_report: dict | None,
) -> Path:
    """:func:`render_report` written to ``path`` atomically (a reader never sees half a page)."""
    from valuecast.outputs import write_atomically

    path = Path(path)
    html = render_report(summary, customers, tables, ingest_report)
    write_atomically(path, lambda target: target.write_text(html, encoding="utf-8"))
    return path


# ------------------------------------------------------------------------------------------------
# from a workspace
def analyse_for_report(
    workspace,
    *,
    spend: pd.DataFrame | str | Path | None = None,
    margin: float = 1.0,
    as_of: date | str | None = None,
    horizon: int = 12,
) -> tuple[dict, pd.DataFrame, dict[str, pd.DataFrame], dict | None]:
    """Run the analysis and the growth tables on an open workspace: the report's four inputs.

    ``spend`` is a frame of :func:`valuecast.io.spend.read_spend` or the path of SPEND.csv.
    Raises what the analysis raises (``SummaryError``, ``InputError``, ``ValueError``).
    """
    from valuecast.jobs.analyze import AnalysisOptions, analyze_with_growth

    if spend is not None and not isinstance(spend, pd.DataFrame):
        from valuecast.io.spend import read_spend

        spend = read_spend(Path(spend))
    options = AnalysisOptions(as_of=as_of, horizon=horizon, margin=margin)
    options.validate()
    analysis, tables = analyze_with_growth(workspace, options, spend=spend)
    summary = analysis.summary
    # the summary as summary.json holds it (plain JSON types), as the analyze command writes it
    summary = json.loads(json.dumps(summary, default=_json_default))
    return summary, analysis.customers, tables, workspace.latest_ingest_report()


def report_from_workspace(
    workspace_path: str | Path,
    out_path: str | Path,
    *,
    spend: pd.DataFrame | str | Path | None = None,
    margin: float = 1.0,
    as_of: date | str | None = None,
    horizon: int = 12,
) -> Path:
    """Analyse the workspace at ``workspace_path`` (opened read-only) and write the report.

    Returns the path written.  Raises ``FileNotFoundError`` when there is no workspace there.
    """
    from valuecast.engine import Workspace

    workspace_path = Path(workspace_path)
    if not workspace_path.exists():
        raise FileNotFoundError(f"{workspace_path}: no such workspace")
    with Workspace(workspace_path, read_only=True) as workspace:
        inputs = analyse_for_report(
            workspace, spend=spend, margin=margin, as_of=as_of, horizon=horizon
        )
    return write_report(out_path, *inputs)
