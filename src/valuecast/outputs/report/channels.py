"""Acquisition channels: CLV per customer by channel and, with spend, CLV:CAC."""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuecast.analysis.growth.channels import BLENDED, NONE_LABEL, NOT_PAID_BACK, channel_notes
from valuecast.analysis.growth.tables import CHANNELS_WITH_SPEND, WHOLE_SHOP_BLENDED
from valuecast.dates import months_text
from valuecast.outputs.report.alive import MIN_CELL
from valuecast.outputs.report.charts import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    RED,
    Chart,
    axis_layout,
    capitalized,
    finite,
    finite_values,
    height_for_labels,
    money_text,
    plotly_figure,
    plural_text,
    trace,
    wrapped_chart_labels,
)

MOST_BARS = 30
"""Channels a chart draws at most: those of the most customers (of spend, for CLV:CAC), in the
chart's order; 2,926 UTM sources drew a smear of bars under labels run together."""


def _most(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """The :data:`MOST_BARS` rows of the greatest ``column`` (all of them where fewer), in
    their order."""
    if len(rows) <= MOST_BARS or column not in rows.columns:
        return rows
    values = pd.to_numeric(rows[column], errors="coerce").fillna(0)
    kept = values.sort_values(ascending=False, kind="stable").index[:MOST_BARS]
    return rows[rows.index.isin(kept)]


def _chart_shows(shown: pd.DataFrame, rows: pd.DataFrame, column: str) -> str:
    """The sentence on the channels a chart leaves out (:func:`_most`); '' where it draws all."""
    if len(shown) == len(rows):
        return ""
    most = "customers" if column == "customers" else "spend"
    return (
        f" The chart draws the {len(shown)} channels of the most {most}; channels.csv lists all "
        f"{len(rows):,}."
    )


def _sizable(rows: pd.DataFrame, column: str = "customers") -> tuple[pd.DataFrame, str]:
    """The rows of :data:`~valuecast.outputs.report.alive.MIN_CELL` customers or more where two
    or more are, as the P(alive) and backtest readings compare their groups (one wholesale
    buyer's channel is no channel to spend on; its bar still shows, with its count), and the
    words saying so; else every row and no words."""
    counts = pd.to_numeric(rows.get(column, pd.Series(0, index=rows.index)), errors="coerce")
    sizable = rows[counts.fillna(0) >= MIN_CELL]
    if len(sizable) < 2 or len(sizable) == len(rows):
        return rows, ""
    return sizable, f"Of the channels of {MIN_CELL} or more customers, "


def acquisition_channels(
    channels: pd.DataFrame | None, summary: dict, currency: str | None
) -> tuple[list[Chart], list[str]]:
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
        margin = summary.get("margin") or 1.0  # predictions are margin: the past is too
        with_customers["total"] = with_customers["historic_clv_mean"].fillna(0) * margin + (
            with_customers["predicted_clv_mean"].fillna(0)
        )
        ordered = with_customers.sort_values("total", ascending=False)
        shown = _most(ordered, "customers")  # the readings name any; the chart its largest
        names = wrapped_chart_labels(shown[label])
        custom = shown["customers"].astype(int).tolist()
        unit = " " + currency if currency else ""
        traces = [
            trace(
                "bar", x=names, y=finite_values(shown["historic_clv_mean"] * margin),
                name="historic CLV (so far)" if margin == 1.0 else
                f"historic CLV x {margin:.0%} margin (so far)",
                marker={"color": GREY}, customdata=custom,
                hovertemplate="%{x}: %{y:,.2f}" + unit + " so far per customer "
                "(%{customdata:,} customers)<extra></extra>",
            )
        ]  # fmt: skip
        has_predicted = np.isfinite(shown["predicted_clv_mean"]).any()
        if has_predicted:
            traces.append(
                trace(
                    "bar", x=names, y=finite_values(shown["predicted_clv_mean"]),
                    name="predicted CLV", marker={"color": BLUE}, customdata=custom,
                    hovertemplate="%{x}: %{y:,.2f}" + unit + " predicted per customer"
                    "<extra></extra>",
                )
            )  # fmt: skip
        new_value = _new_customer_trace(shown, names, unit, summary)
        if new_value is not None:
            traces.append(new_value)
        best, worst = ordered.iloc[0], ordered.iloc[-1]

        def worth(row) -> str:
            text = money_text(row["total"], currency, 2)
            if has_predicted:
                past = money_text(row["historic_clv_mean"], currency, 2)
                if margin != 1.0:
                    past += f" so far times the {margin:.0%} margin"
                else:
                    past += " so far"
                text += (
                    f" ({past} plus {money_text(row['predicted_clv_mean'], currency, 2)} predicted)"
                )
            return text

        if len(ordered) == 1 and str(best[label]) == NONE_LABEL:
            # one group of customers without a channel is no channel they came through
            reading = (
                "The orders name no acquisition channel (no channel or source column), so CLV "
                f"cannot be split by channel: {worth(best)} per customer over all "
                f"{plural_text(int(best['customers']), 'customer')}."
            )
        elif len(ordered) == 1:
            reading = (
                f"All {plural_text(int(best['customers']), 'customer')} came through one channel, "
                f"{best[label]}: {worth(best)} each."
            )
        else:
            read, among = _sizable(ordered)
            best, worst = read.iloc[0], read.iloc[-1]
            customers = "customers" if among else "Customers"
            reading = (
                f"{among}{customers} from {best[label]} are worth the most, {worth(best)} each; "
                f"those from {worst[label]} the least, {money_text(worst['total'], currency, 2)}."
            )
        reading += _new_customer_reading(_sizable(ordered)[0], label, currency, summary)
        reading += _chart_shows(shown, ordered, "customers")
        figure = plotly_figure(
            traces,
            barmode="stack",
            xaxis=axis_layout("acquisition channel"),
            yaxis=axis_layout(f"CLV per customer ({currency or 'amount'})"),
            height=height_for_labels(names),
        )
        charts.append(Chart("channels-clv", title, reading, figure))

    title = "CLV:CAC by channel, with the payback month"
    shop = (summary.get("growth") or {}).get("cac")
    if "clv_to_cac" not in frame.columns and shop is None:
        notes.append(
            "CLV:CAC and payback need marketing spend (a CSV of month, channel, spend, or of "
            "month and spend for the whole shop): give it with `--spend SPEND.csv`, or upload "
            "it on the dashboard's Channels page."
        )
        return charts, notes
    if "clv_to_cac" in frame.columns:
        frame["clv_to_cac"] = pd.to_numeric(frame["clv_to_cac"], errors="coerce")
        paid = frame[np.isfinite(frame["clv_to_cac"])].sort_values("clv_to_cac", ascending=False)
    else:  # the spend names no channel: the whole shop's CAC alone
        title = "CLV:CAC of the whole shop, with the payback month"
        paid = frame.iloc[0:0].assign(clv_to_cac=pd.Series(dtype=float))
    shop_ratio = finite((shop or {}).get("clv_to_cac"))
    blended = _blended_reading(shop, currency)
    if paid.empty and shop_ratio is None:
        if "clv_to_cac" in frame.columns:
            said = "No channel has both spend and acquired customers in the same months"
            said = f"{blended} {said}" if blended else said
        else:  # the whole shop's alone: its spend acquired nobody, or is outside the orders
            said = blended.removesuffix(".") if blended else "No month of the orders has spend"
        charts.append(
            Chart(
                "channels-cac", title,
                f"{said}: CLV:CAC cannot be computed." + _left_out_spend(summary),
            )
        )  # fmt: skip
        return charts, notes + _cac_notes(frame, label, shop)
    none = pd.Series(np.nan, index=paid.index, dtype=float)
    payback = pd.to_numeric(paid.get("payback_month", none), errors="coerce")
    cac = pd.to_numeric(paid.get("cac", none), errors="coerce")
    bars = _most(paid, "spend")
    names, ratios = wrapped_chart_labels(paid.loc[bars.index, label]), list(bars["clv_to_cac"])
    cacs, paybacks = list(cac[bars.index]), list(payback[bars.index])
    lines = [(1, RED), (3, GREEN)]
    if paid.empty:  # the whole shop's bar alone
        names, ratios = [BLENDED_BAR, *names], [shop_ratio, *ratios]
        cacs, paybacks = [shop.get("cac"), *cacs], [shop.get("payback_month"), *paybacks]
    colors = [RED if ratio < 1 else (ORANGE if ratio < 3 else GREEN) for ratio in ratios]
    custom = [
        [money_text(c, currency, 2), _payback_words(p)] for c, p in zip(cacs, paybacks, strict=True)
    ]
    bar = trace(
        "bar", x=names, y=finite_values(pd.Series(ratios, dtype=float)),
        marker={"color": colors}, customdata=custom, name="CLV:CAC",
        text=[
            f"{r:.2f}, "
            + (f"paid back in month {p:.0f}" if finite(p) is not None else NOT_PAID_BACK)
            for r, p in zip(ratios, paybacks, strict=True)
        ],
        textposition="outside",
        hovertemplate="%{x}: CLV:CAC %{y:.2f}, CAC %{customdata[0]}, %{customdata[1]}"
        "<extra></extra>",
    )  # fmt: skip
    if paid.empty:
        reading = f"{blended} " + (
            "The spend names no channel, so CAC is the whole shop's alone."
            if "clv_to_cac" not in frame.columns
            else "No channel has both spend and acquired customers in the same months."
        )
    else:
        counted = "cac_customers" if "cac_customers" in paid.columns else "customers"
        read, among = _sizable(paid, counted)
        top, bottom = read.iloc[0], read.iloc[-1]
        # one channel with a ratio is no "best": a lone losing channel read as the best return
        lead = (
            f"{among}{'the' if among else 'The'} best return on spend comes from {top[label]}"
            if len(paid) > 1
            else f"Only one channel has both spend and customers, {top[label]}"
        )
        reading = (
            f"{lead}: CLV:CAC {top['clv_to_cac']:.2f} (CAC "
            f"{money_text(top.get('cac'), currency, 2)}, "
            f"{_payback_words(top.get('payback_month'))})"
        )
        if len(paid) > 1:
            reading += f"; {bottom[label]} the least, {bottom['clv_to_cac']:.2f}"
        overall = _channels_ratio(summary)
        if overall is not None:
            reading += f". Over all channels with spend: {overall:.2f}"
        reading += "."
        if shop_ratio is not None:
            # beside the channels, a dashed line: no bar of its own to rank among them
            reading += f" {blended}"
            lines.append((shop_ratio, BLUE))
            if (summary.get("growth") or {}).get("clv_to_cac_of") == CHANNELS_WITH_SPEND:
                reading += f" {TWO_RATIOS}"
        reading += _spend_without_customers(frame, label, currency)
    reading += _left_out_spend(summary)
    reading += _clv_of_the_ratio(paid if not paid.empty else frame, summary)
    reading += _chart_shows(bars, paid, "spend")
    figure = plotly_figure(
        [bar],
        xaxis=axis_layout("acquisition channel"),
        yaxis=axis_layout("CLV:CAC", rangemode="tozero"),
        shapes=[
            {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y,
             "line": {"color": color, "dash": "dot" if color != BLUE else "dash", "width": 1}}
            for y, color in lines
        ],
        showlegend=False, height=height_for_labels(names),
        **_blended_label(lines),
    )  # fmt: skip
    charts.append(Chart("channels-cac", title, reading, figure))
    return charts, notes + _cac_notes(frame, label, shop)


def _cac_notes(frame: pd.DataFrame, label: str, shop: dict | None) -> list[str]:
    """What each CAC leaves out, the whole shop's first (summary.json's ``growth.cac``), then
    the channels' (channels.csv's ``note``), as `valuecast channels` says them: the months of
    spend before the first order or after the as-of date, the customers of months without
    spend, a partial month."""
    labels, notes = [BLENDED], [(shop or {}).get("note")]
    if "note" in frame.columns:
        labels += list(frame[label])
        notes += [None if pd.isna(note) else note for note in frame["note"]]
    return [f"{line}." for line in channel_notes(labels, notes)]


# the whole shop's bar of the CLV:CAC chart: every channel's spend over every new customer
BLENDED_BAR = WHOLE_SHOP_BLENDED
# why the shop has two CLV:CAC figures where its spend names channels alone
TWO_RATIOS = (
    "The blended CLV:CAC counts every customer acquired in the months with spend, those who "
    "came without spend too; the channels' leaves them out, and is the one the growth stage "
    "weighs."
)


def _channels_ratio(summary: dict) -> float | None:
    """summary.json's ``growth.clv_to_cac`` where it is the channels' with spend, not the
    blended one (a spend file with total rows beside its channels' gives the blended)."""
    growth = summary.get("growth") or {}
    if growth.get("clv_to_cac_of") == WHOLE_SHOP_BLENDED:
        return None
    return finite(growth.get("clv_to_cac"))


def _blended_label(lines: list[tuple[float, str]]) -> dict:
    """The label of the whole shop's dashed line (the last of ``lines`` when blue), if any."""
    ratio, color = lines[-1]
    if color != BLUE:
        return {}
    text = f"{BLENDED_BAR} {ratio:.2f}"
    return {
        "annotations": [
            {"xref": "paper", "x": 1, "y": ratio, "xanchor": "right", "yanchor": "bottom",
             "text": text, "showarrow": False, "font": {"color": BLUE, "size": 11}}
        ]
    }  # fmt: skip


def _payback_words(value) -> str:
    value = finite(value)
    if value is None:
        return NOT_PAID_BACK
    return (
        "paid back in the month of acquisition" if value == 0 else f"paid back in month {value:.0f}"
    )


def _blended_reading(shop: dict | None, currency: str | None) -> str:
    """The sentence on the whole shop's blended CAC (summary.json's ``growth.cac``): all the
    spend of the months with spend over every customer acquired in them, whatever their
    channel; empty without spend."""
    if not shop:
        return ""
    customers = int(shop.get("customers") or 0)
    spend = money_text(shop.get("spend"), currency, 2)
    if finite(shop.get("spend")) is None:
        return ""
    if not customers:
        return f"The whole shop's spend of {spend} acquired no customer in its months."
    text = (
        f"Whole shop (blended): CAC {money_text(shop.get('cac'), currency, 2)}, {spend} of "
        f"spend over the {plural_text(customers, 'new customer')} of its months, whatever "
        "their channel"
    )
    guests = int(shop.get("guest_orders") or 0)
    if guests:  # no customer id: no acquired customer (the section's notes say why)
        text += f" ({plural_text(guests, 'guest order')} of those months not counted)"
    ratio = finite(shop.get("clv_to_cac"))
    if ratio is not None:
        text += f", CLV:CAC {ratio:.2f}, {_payback_words(shop.get('payback_month'))}"
    return text + "."


def _spend_without_customers(frame: pd.DataFrame, label: str, currency: str | None) -> str:
    """A sentence on the channels that spent and acquired nobody (no bar of the chart shows
    them, but the overall CLV:CAC counts their spend).

    Acquired means in the months of the spend (channels.csv's ``cac_customers``): a channel
    whose customers all came in months it paid nothing for acquired nobody with its spend,
    however many customers it has in all."""
    column = "cac_customers" if "cac_customers" in frame.columns else "customers"
    if "spend" not in frame.columns or column not in frame.columns:
        return ""
    spend = pd.to_numeric(frame["spend"], errors="coerce")
    customers = pd.to_numeric(frame[column], errors="coerce").fillna(0)
    # the spend assigned before the rows are picked: a Series assigned to an empty frame
    # brings every row of its index back (all NaN), which named the paying channels as idle
    idle = frame.assign(_spend=spend)[(spend > 0) & (customers == 0)].sort_values(
        "_spend", ascending=False
    )
    if idle.empty:
        return ""
    listed = ", ".join(
        f"{money_text(row['_spend'], currency)} on {row[label]}" for _, row in idle.iterrows()
    )
    return f" Spend that acquired no customers: {listed}."


def _clv_of_the_ratio(paid: pd.DataFrame, summary: dict) -> str:
    """The sentence on the CLV that CLV:CAC divides (channels.csv's ``clv_per_customer``): the
    revenue the customers acquired in the months with spend brought so far (times the margin)
    plus their predicted CLV, not the CLV of a customer acquired today the chart above gives."""
    margin = summary.get("margin") or 1.0
    revenue = "net revenue" + (f" times the {margin:.0%} margin" if margin != 1.0 else "")
    said = (
        " The CLV in CLV:CAC is what the customers acquired in the months with spend brought so "
        f"far ({revenue})"
    )
    column = paid["predicted_clv_mean"] if "predicted_clv_mean" in paid else pd.Series([])
    if not np.isfinite(pd.to_numeric(column, errors="coerce").astype(float)).any():
        return f"{said}, per customer: no predictions."
    horizon = summary.get("horizon_months")
    over = f"the next {months_text(horizon)}" if horizon else "the horizon"
    return f"{said} plus their predicted CLV over {over}, per customer."


def _left_out_spend(summary: dict) -> str:
    """The sentence on the spend of months outside the orders, which no CAC and no CLV:CAC
    counts (before the first order, after the as-of date)."""
    note = (summary.get("growth") or {}).get("left_out_spend")
    return f" {capitalized(str(note))}." if note else ""


def _new_customer_values(frame: pd.DataFrame) -> pd.Series | None:
    if "new_customer_clv" not in frame.columns:
        return None
    values = pd.to_numeric(frame["new_customer_clv"], errors="coerce")
    return values if np.isfinite(values).any() else None


def _new_customer_trace(ordered: pd.DataFrame, names: list[str], unit: str, summary: dict):
    """Markers over the bars: what a customer acquired today through the channel is worth."""

    values = _new_customer_values(ordered)
    if values is None:
        return None
    months = summary.get("horizon_months")
    return trace(
        "scatter", x=names, y=finite_values(values), mode="markers",
        name="a customer acquired today", marker={"color": ORANGE, "symbol": "diamond", "size": 12},
        hovertemplate="%{x}: %{y:,.2f}" + unit + f" expected from a customer acquired today "
        f"over {months_text(months)}<extra></extra>",
    )  # fmt: skip


def _new_customer_reading(
    ordered: pd.DataFrame, label: str, currency: str | None, summary: dict
) -> str:
    """The sentence on what a new customer is worth per channel, the number to hold against CAC."""
    values = _new_customer_values(ordered)
    if values is None:
        return ""
    top = values.idxmax()
    by_channel = ((summary.get("model") or {}).get("new_customer") or {}).get("by_channel")
    horizon = months_text(summary.get("horizon_months"))
    present = values[np.isfinite(values)]
    if not by_channel and present.max() - present.min() < 0.01 * abs(present.max()):
        # without a channel covariate the values differ by the first order's value alone: a
        # ranking of differences under 1% would be noise read as a finding
        text = (
            f" A customer acquired today is worth about {money_text(present.mean(), currency, 2)}"
            f" from any channel over the next {horizon} (first order included, discounted): the "
            "number to hold against CAC."
        )
    else:
        text = (
            f" A customer acquired today is worth most from {ordered.loc[top, label]}: "
            f"{money_text(values[top], currency, 2)} over the next {horizon} (first order "
            "included, discounted): the number to hold against CAC."
        )
    if not by_channel and len(ordered) > 1:
        # one channel (none named) has nothing to split by a channel covariate; covariates
        # given and dropped by the backtest for the chosen model: giving them again
        # is no advice (kept ones without the channel still leave it to be added)
        kept = ((summary.get("backtest") or {}).get("covariates") or {}).get("kept") or {}
        chosen = str((summary.get("model") or {}).get("name") or "").split("+")[0]
        text += (
            " The model has no channel covariate (the backtest predicted better without the "
            "covariates given), so channels differ only by order value."
            if kept.get(chosen) is False
            else " The model has no channel covariate, so channels differ only by order value "
            "(run with --covariates acquisition_channel)."
        )
    return text
