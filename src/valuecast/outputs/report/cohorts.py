"""Cohorts and retention: retention by cohort, cumulative LTV and churn threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuecast.outputs.report.charts import (
    BLUE,
    BLUES,
    GREY,
    RED,
    Chart,
    axis_layout,
    finite,
    finite_values,
    money_text,
    pct_text,
    plotly_figure,
    plural_text,
    trace,
    viridis_colors,
)


def _ltv_columns(cohorts: pd.DataFrame) -> list[tuple[int, str]]:
    out = []
    for column in cohorts.columns:
        if column.startswith("ltv_m") and column[5:].isdigit():
            out.append((int(column[5:]), column))
    return sorted(out)


def _is_partial(retention: pd.DataFrame) -> pd.Series:
    """Which rows of ``retention`` are of a month the as-of date cuts short (``partial_month``,
    also as read back from CSV text)."""
    if "partial_month" not in retention.columns:
        return pd.Series(False, index=retention.index)
    return retention["partial_month"].astype(str).str.lower().isin(("true", "1"))


FEW_COHORTS = 3
"""A month's retention resting on fewer cohorts than this names them instead of an average."""


def _month_one_words(frame: pd.DataFrame, rate: float) -> str:
    """Month 1's retention over the complete months of ``frame``: the customer-weighted average
    of the cohorts that reached it, or, where fewer than :data:`FEW_COHORTS` did, those cohorts
    by name and size: a young shop's "21% on average" was one cohort of 29 customers (the three
    days before its first month's end), beside 221 customers not yet a month old."""
    month = frame[frame["months_since_acquisition"] == 1]
    cohorts = sorted(month["cohort_month"].unique())
    if len(cohorts) >= FEW_COHORTS:
        return f"{pct_text(rate)} of a cohort's customers order again on average"
    names = " and ".join(cohorts)
    customers = plural_text(int(month["customers"].sum()), "customer")
    return (
        f"{pct_text(rate)} of the {customers} of cohort{'' if len(cohorts) == 1 else 's'} "
        f"{names} ordered again, the only {'one' if len(cohorts) == 1 else 'ones'} with that "
        "month complete: too few to read as the shop's retention yet"
    )


def retention_chart(retention: pd.DataFrame | None) -> Chart:
    title = "Retention: share of each cohort ordering in calendar month k after acquisition"
    if retention is None or retention.empty:
        return Chart("cohorts-retention", title, "No cohorts yet.")
    frame = retention[~_is_partial(retention)].copy()
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
    # a scale from 0 to the largest retention, at least 5%: Plotly centres an all-zero scale on
    # zero, which drew no retention at all as a mid-blue between -40% and 40%
    largest = float(np.nanmax(pivot.to_numpy(float), initial=0.0))
    heat = trace(
        "heatmap", z=[finite_values(row) for row in pivot.to_numpy()],
        x=[str(m) for m in pivot.columns],
        y=list(pivot.index),
        customdata=np.nan_to_num(active.to_numpy()).astype(int).tolist(),
        colorscale=BLUES, zmin=0, zmax=max(largest, 0.05),
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
    # month k is a calendar month: a first order on 31 January and the next on 1 February
    # is month 1, one on 1 January and the next on 31 January month 0
    reading = (
        "In the calendar month after the one of their first order (month 1), "
        + _month_one_words(frame, rate[1])
        if 1 in rate.index
        else ""
    )
    later = next((m for m in (12, 6, 3) if m in rate.index), None)
    if later is not None:
        reading += f"{'; in month ' if reading else 'In month '}{later}, {pct_text(rate[later])}"
    reading = (reading or "Retention by cohort and month") + "."
    figure = plotly_figure(
        [heat],
        xaxis=axis_layout("months since acquisition", type="category"),
        yaxis=axis_layout("cohort (first order month)", type="category", autorange="reversed"),
        height=max(320, 22 * len(pivot) + 120),
    )
    return Chart("cohorts-retention", title, reading, figure)


def _partial_months(retention: pd.DataFrame | None) -> set[tuple[str, int]]:
    """(cohort, months since acquisition) of the cells whose month the as-of date cuts short."""
    if retention is None or retention.empty:
        return set()
    partial = retention[_is_partial(retention)]
    return {
        (str(cohort), int(month))
        for cohort, month in partial[["cohort_month", "months_since_acquisition"]].itertuples(
            index=False
        )
    }


def partial_ltv_cells(retention: pd.DataFrame | None) -> set[str]:
    """``"<cohort>|ltv_m<month>"`` of the cohorts table's cells whose month the as-of date cuts
    short: a part of a month, not comparable with the whole months of older cohorts."""
    return {f"{cohort}|ltv_m{month}" for cohort, month in _partial_months(retention)}


def ltv_chart(
    cohorts: pd.DataFrame | None, currency: str | None, retention: pd.DataFrame | None = None
) -> Chart:
    title = "Cumulative net revenue per customer by cohort"
    columns = _ltv_columns(cohorts) if cohorts is not None else []
    if cohorts is None or cohorts.empty or not columns:
        return Chart("cohorts-ltv", title, "No cohorts yet.")
    values = cohorts[[c for _, c in columns]].apply(pd.to_numeric, errors="coerce")
    months = [m for m, _ in columns]
    label = cohorts["cohort_month"].astype(str) if "cohort_month" in cohorts else cohorts.index
    colors = viridis_colors(np.linspace(0.0, 0.9, max(len(cohorts), 2)).tolist())
    partial = _partial_months(retention)
    unit = f" {currency}" if currency else ""
    traces = []
    for position, (name, row) in enumerate(zip(label, values.to_numpy(), strict=True)):
        keep = np.isfinite(row)
        if not keep.any():
            continue
        shown = np.asarray(months)[keep].tolist()
        # the month the as-of date cuts short is said so, and drawn as a marker: its revenue
        # so far is not a whole month's, as the older cohorts' are
        cut = [(str(name), int(month)) in partial for month in shown]
        traces.append(
            trace(
                "scatter", x=shown, y=finite_values(row[keep]),
                mode="lines+markers" if keep.sum() == 1 or any(cut) else "lines",
                name=str(name), line={"color": colors[position], "width": 1.5},
                marker={"symbol": ["circle-open" if c else "circle" for c in cut],
                        "size": [8 if c else 6 if len(cut) == 1 else 0 for c in cut]},
                customdata=[" (a part of the month: the as-of date cuts it short)" if c else ""
                            for c in cut],
                hovertemplate="cohort " + str(name) + ", month %{x}: %{y:,.2f}" + unit
                + " per customer%{customdata}<extra></extra>",
            )
        )  # fmt: skip
    if not traces:
        return Chart("cohorts-ltv", title, "No cohort revenue yet.")
    # customer-weighted mean at month 0 and at the latest of months 12, 6, 3, 1 that a cohort
    # has reached, over the same cohorts; a month the as-of date cuts short is not reached yet
    # (as the retention reading counts only complete months)
    weights = pd.to_numeric(cohorts["customers"], errors="coerce").fillna(0).to_numpy(float)
    names = [str(name) for name in label]
    reading = None
    for month in (12, 6, 3, 1):
        column = f"ltv_m{month}"
        if column not in values:
            continue
        complete = np.array([(name, month) not in partial for name in names], dtype=bool)
        reached = np.isfinite(values[column].to_numpy()) & (weights > 0) & complete
        if not reached.any():
            continue
        w = weights[reached]
        start = float(np.average(values["ltv_m0"].to_numpy()[reached], weights=w))
        end = float(np.average(values[column].to_numpy()[reached], weights=w))
        reading = (
            f"A new customer brings {money_text(start, currency, 2)} in the month of their first "
            f"order and {money_text(end, currency, 2)} by month {month} on average "
            f"({plural_text(int(reached.sum()), 'cohort')} that got there)."
        )
        break
    if reading is None:
        first = values["ltv_m0"].to_numpy()
        keep = np.isfinite(first) & (weights > 0)
        whole = keep & np.array([(name, 0) not in partial for name in names], dtype=bool)
        if whole.any():  # the month cut short by the as-of date is no whole month's revenue
            mean = float(np.average(first[whole], weights=weights[whole]))
            reading = (
                f"A new customer brings {money_text(mean, currency, 2)} in the month of their "
                "first order; no cohort has a later month yet."
            )
        else:
            mean = float(np.average(first[keep], weights=weights[keep])) if keep.any() else None
            reading = (
                f"A new customer has brought {money_text(mean, currency, 2)} so far in the month "
                "of their first order, which the as-of date cuts short; no cohort has a whole "
                "month yet."
            )
    figure = plotly_figure(
        traces,
        # whole months: a short history's axis would otherwise tick at half months (and a
        # month 0 alone would run from -1 to 1)
        xaxis=axis_layout(
            "months since acquisition",
            dtick=1 if max(months) <= 12 else None,
            range=[-0.25, 1] if max(months) == 0 else None,
        ),  # fmt: skip
        yaxis=axis_layout(f"cumulative net revenue per customer ({currency or 'amount'})"),
        legend={"title": {"text": "cohort"}},
        height=420,
    )
    return Chart("cohorts-ltv", title, reading, figure)


def churn_chart(churn: dict | None) -> Chart | None:
    if not churn:
        return None
    every = [p for p in churn.get("curve") or [] if finite(p.get("probability")) is not None]
    initial = finite(churn.get("initial_repeat_probability"))
    if not every or initial is None:
        return None
    # the threshold reads only months with enough cases: the line shows those, and the thinner
    # months (a handful of customers, often 0% or 100%) apart, so that chart and text agree
    least = max(int(churn.get("min_points") or 1), 1)
    points = [p for p in every if int(p.get("points") or 0) >= least]
    thin = [p for p in every if int(p.get("points") or 0) < least]
    title = "Chance of another order after m months without one"
    follow = churn.get("follow_up_months")
    traces = [
        trace(
            "scatter", x=[p["months"] for p in points], y=[p["probability"] for p in points],
            mode="lines+markers", name="P(order again) after m quiet months",
            line={"color": BLUE}, customdata=[p.get("points") for p in points],
            hovertemplate="%{x} months without an order: %{y:.0%} order again "
            "(%{customdata:,} cases)<extra></extra>",
        ),
    ]  # fmt: skip
    if thin:
        traces.append(
            trace(
                "scatter", x=[p["months"] for p in thin], y=[p["probability"] for p in thin],
                mode="markers", name=f"fewer than {least} cases (too few to read)",
                marker={"color": GREY, "symbol": "circle-open"},
                customdata=[p.get("points") for p in thin],
                hovertemplate="%{x} months without an order: %{y:.0%} order again "
                "(only %{customdata:,} cases)<extra></extra>",
            )
        )  # fmt: skip
    span = points or every
    traces.append(
        trace(
            "scatter", x=[span[0]["months"], span[-1]["months"]], y=[initial / 2, initial / 2],
            mode="lines", name="half the chance right after an order",
            line={"color": RED, "dash": "dash"}, hoverinfo="skip",
        )
    )  # fmt: skip
    threshold = churn.get("threshold_months")
    window = f"within {follow} months" if follow else "again"
    if initial == 0:  # no comeback at all: there is no chance to halve
        reading = (
            f"No order was followed by another{f' within {follow} months' if follow else ''}: "
            "with no customer coming back yet, "
            "there is no churn threshold to read."
        )
    elif threshold is not None:
        at = next((p for p in points if p["months"] == threshold), None)
        reading = (
            f"After {plural_text(int(threshold), 'month')} without an order the chance of ordering "
            f"{window} falls to {pct_text(at['probability'] if at else None)}, under half the "
            f"{pct_text(initial)} right after an order: customers quiet that long are churning."
        )
    else:
        covered = (
            "the months the history covers"
            if not thin
            else f"the months with at least {least} cases (grey: fewer, too few to read)"
        )
        reading = (
            f"The chance of ordering {window} starts at {pct_text(initial)} after an order "
            f"and never halves within {covered}: no churn threshold yet."
        )
        if not points:
            reading = (
                f"The chance of ordering {window} starts at {pct_text(initial)} after an order; "
                f"no month without an order has {least} cases yet (grey: too few to read), so "
                "no churn threshold can be read."
            )
    figure = plotly_figure(
        traces,
        xaxis=axis_layout(
            "months without an order", dtick=1 if max(p["months"] for p in every) <= 12 else None
        ),
        yaxis=axis_layout("chance of another order", tickformat=".0%", rangemode="tozero"),
        height=340,
    )
    return Chart("cohorts-churn", title, reading, figure)
