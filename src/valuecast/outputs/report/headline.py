"""The headline figures and the historic vs predicted CLV chart."""

from __future__ import annotations

import json
from typing import Any

from valuecast.analysis.sales_range import sales_range_label
from valuecast.dates import months_text
from valuecast.outputs.report.charts import (
    BLUE,
    GREY,
    INK,
    Chart,
    axis_layout,
    count_text,
    finite,
    model_label,
    money_text,
    plotly_figure,
    trace,
)


def headline(summary: dict) -> tuple[list[dict[str, Any]], Chart]:
    currency = summary.get("currency")
    totals = summary.get("totals") or {}
    model = (summary.get("model") or {}).get("name")
    horizon = summary.get("horizon_months")
    items: list[dict[str, Any]] = [
        {"key": "n_customers", "label": "customers", "value": summary.get("n_customers"),
         "text": count_text(summary.get("n_customers"))},
        {"key": "n_orders", "label": "orders", "value": summary.get("n_orders"),
         "text": count_text(summary.get("n_orders"))},
        {"key": "n_guest_orders", "label": "guest orders (in orders, no customer)",
         "value": summary.get("n_guest_orders"), "text": count_text(summary.get("n_guest_orders"))},
        {"key": "historic_clv", "label": "historic CLV", "value": totals.get("historic_clv"),
         "text": money_text(totals.get("historic_clv"), currency)},
    ]  # fmt: skip
    predicted = finite(totals.get("predicted_clv"))
    low, high = finite(totals.get("predicted_clv_p10")), finite(totals.get("predicted_clv_p90"))
    level = finite(totals.get("interval_level")) or 0.8
    sales_low = finite(totals.get("predicted_sales_p10"))
    sales_high = finite(totals.get("predicted_sales_p90"))
    if predicted is not None:
        items.append(
            {"key": "predicted_clv", "label": f"predicted CLV, next {months_text(horizon)}",
             "value": totals.get("predicted_clv"), "text": money_text(predicted, currency)}
        )  # fmt: skip
        if low is not None and high is not None:
            items.append(
                {"key": "predicted_clv_interval", "label": f"{level:.0%} interval of the expected value",
                 "value": [totals.get("predicted_clv_p10"), totals.get("predicted_clv_p90")],
                 "text": f"{money_text(low, None)} to {money_text(high, currency)}"}
            )  # fmt: skip
        if sales_low is not None and sales_high is not None:
            items.append(
                {"key": "predicted_sales_range",
                 "label": f"{level:.0%} {sales_range_label(summary.get('margin'))}",
                 "value": [totals.get("predicted_sales_p10"), totals.get("predicted_sales_p90")],
                 "text": f"{money_text(sales_low, None)} to {money_text(sales_high, currency)}"}
            )  # fmt: skip
        items.append(
            {"key": "predicted_number_of_orders", "label": "predicted orders",
             "value": totals.get("predicted_number_of_orders"),
             "text": count_text(totals.get("predicted_number_of_orders"))}
        )  # fmt: skip
    if (summary.get("model") or {}).get("fitted") is False:  # a candidate named, not fitted
        model, model_text = None, "none fitted (historic figures only)"
    elif model and model_label(model) != model:  # a name the reader knows
        model_text = f"{model_label(model)} ({model})"
    else:
        model_text = model or "none"
    items.append({"key": "model", "label": "model", "value": model, "text": model_text})
    for item in items:
        item["json"] = json.dumps(item["value"])

    historic = finite(totals.get("historic_clv"))
    customers = count_text(summary.get("n_customers"))
    if historic is None:
        return items, Chart("headline-clv", "Historic and predicted CLV", "No revenue yet.")
    labels, values = ["historic CLV (so far)"], [historic]
    if predicted is not None:
        labels.append(f"predicted CLV (next {months_text(horizon)})")
        values.append(predicted)
        margin = summary.get("margin") or 1.0
        if margin != 1.0:  # the predictions are margin: the bars compare like with like
            labels = [f"historic CLV at the {margin:.0%} margin (so far)",
                      f"predicted CLV at the {margin:.0%} margin (next {months_text(horizon)})"]  # fmt: skip
            values[0] = historic * margin
        if margin == 1.0:
            reading = (
                f"{customers} customers have spent {money_text(historic, currency)} so far; the "
                f"{model_label(model)} model expects {money_text(predicted, currency)} more in "
                f"the next {months_text(horizon)}"
            )
        else:  # the predictions are margin: say so, and give the past in the same unit
            reading = (
                f"{customers} customers have spent {money_text(historic, currency)} so far, "
                f"{money_text(historic * margin, currency)} at the {margin:.0%} margin; the "
                f"{model_label(model)} model expects {money_text(predicted, currency)} more "
                f"margin in the next {months_text(horizon)}"
            )
        if low is not None and high is not None:
            # the interval carries the models' estimation error, not the chance in who orders:
            # a shop's actual sales fall outside it more often than its level says; the range
            # of the sales to come adds that chance
            reading += (
                f" ({level:.0%} interval of that expected value {money_text(low, None)} to "
                f"{money_text(high, currency)}; the sales that come vary more, by who happens "
                "to order)"
            )
            if sales_low is not None and sales_high is not None:
                reading += (
                    f"; {level:.0%} {sales_range_label(summary.get('margin'))} "
                    f"{money_text(sales_low, None)} to {money_text(sales_high, currency)}"
                )
            elif totals.get("sales_range_note"):  # a seasonal model, or covariates
                reading += f"; {totals['sales_range_note']}"
        reading += "."
    else:
        reasons = summary.get("low_confidence_reasons") or []
        reading = f"{customers} customers have spent {money_text(historic, currency)} so far; " + (
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

    bar = trace(
        "bar",
        x=labels,
        y=values,
        marker={"color": [GREY, BLUE][: len(values)]},
        error_y=error,
        text=[money_text(v, currency) for v in values],
        textposition="inside",
        hovertemplate="%{x}: %{y:,.0f} " + (currency or "") + "<extra></extra>",
        name="CLV",
    )
    figure = plotly_figure(
        [bar], yaxis=axis_layout(currency or "amount"), showlegend=False, height=320
    )
    return items, Chart("headline-clv", "Historic and predicted CLV", reading, figure)
