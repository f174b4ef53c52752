"""How well the model predicts: the holdout backtest charts and tables."""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np

from valuecast.analysis.backtest import naive_verdict
from valuecast.models.registry import SEASON_SUFFIX
from valuecast.outputs.report.alive import MIN_CELL
from valuecast.outputs.report.charts import (
    BLUE,
    GREY,
    INK,
    MODEL_COLORS,
    Chart,
    HtmlTable,
    axis_layout,
    count_text,
    finite,
    finite_values,
    model_label,
    pct_text,
    plotly_figure,
    plural_text,
    repeat_purchases_text,
    signed_pct_text,
    trace,
)

MIN_BACKTEST_CUSTOMERS = 30
"""Below this many customers in the backtest, the report says its scores cannot tell the
models apart (one customer's holdout chose a model by 3e-8 of its error)."""


def _chosen_model(summary: dict, names: list[str]) -> str | None:
    backtest = summary.get("backtest") or {}
    for name in ((summary.get("model") or {}).get("name"), backtest.get("best")):
        if name in names:
            return name
    return names[0] if names else None


def model_backtest(summary: dict) -> tuple[list[Chart], list[HtmlTable]]:
    backtest = summary.get("backtest") or {}
    weekly_title = "Cumulative repeat purchases in the holdout: actual vs predicted"
    frequency_title = "Holdout orders per customer by calibration frequency"
    if not backtest.get("models"):
        reason = backtest.get("skipped") or "no backtest in this analysis"
        return [Chart("backtest-weekly", weekly_title, f"No backtest: {reason}.")], []
    calibration_end = backtest.get("calibration_end")
    holdout_days = finite(backtest.get("holdout_days"))
    charts = []
    weekly = backtest.get("weekly") or {}
    predicted = {k: v for k, v in (weekly.get("predicted") or {}).items() if v}
    actual = weekly.get("actual")
    if weekly.get("day") and actual and predicted:
        start = date.fromisoformat(calibration_end) if calibration_end else None
        days = [float(d) for d in weekly["day"]]
        x = [(start + timedelta(days=d)).isoformat() for d in days] if start else days
        traces = [
            trace(
                "scatter", x=x, y=finite_values(actual), name="actual", mode="lines+markers",
                line={"color": INK, "width": 3},
                hovertemplate="%{x}: %{y:,.0f} actual<extra></extra>",
            )
        ]  # fmt: skip
        for name, series in predicted.items():
            traces.append(
                trace(
                    "scatter", x=x, y=finite_values(series), name=model_label(name), mode="lines",
                    line={"color": MODEL_COLORS.get(name, BLUE), "dash": "dash"},
                    hovertemplate="%{x}: %{y:,.0f} predicted by " + model_label(name)
                    + "<extra></extra>",
                )
            )  # fmt: skip
        if weekly.get("naive"):
            traces.append(
                trace(
                    "scatter", x=x, y=finite_values(weekly["naive"]), name="naive (own past rate)",
                    mode="lines", line={"color": GREY, "dash": "dot"}, visible="legendonly",
                    hovertemplate="%{x}: %{y:,.0f} naive<extra></extra>",
                )
            )  # fmt: skip
        chosen = _chosen_model(summary, list(predicted))
        total_actual, total_predicted = float(actual[-1]), float(predicted[chosen][-1])
        role = ""
        if chosen == (summary.get("model") or {}).get("name"):
            role = " (the chosen model)" if _predicted(summary) else " (the backtest's choice)"
        customers = int(finite(backtest.get("n_customers")) or 0)
        few = ""
        if 0 < customers < MIN_BACKTEST_CUSTOMERS:  # a model's lead over a handful is chance
            few = (
                f"The backtest holds {plural_text(customers, 'customer')}: too few for its scores "
                "to tell the models apart. "
            )
        reading = few + (
            f"In the {holdout_days:.0f} days after {calibration_end}, the customers made "
            f"{total_actual:,.0f} repeat purchases; {model_label(chosen)}{role}"
            f", fitted on the days before, predicted {total_predicted:,.0f}"
        )
        if total_actual > 0:
            reading += f" ({signed_pct_text(total_predicted / total_actual - 1)})"
        if weekly.get("naive") and total_actual > 0:
            naive_total = float(weekly["naive"][-1])
            change = signed_pct_text(naive_total / total_actual - 1)
            reading += f", the naive guess {naive_total:,.0f} ({change})"
        figure = plotly_figure(
            traces,
            xaxis=axis_layout("holdout week ending" if start else "days after calibration end"),
            yaxis=axis_layout("cumulative repeat purchases", rangemode="tozero"),
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
            trace(
                "bar", x=labels, y=finite_values(by_frequency["actual"]), name="actual",
                marker={"color": GREY}, customdata=counts,
                hovertemplate="%{x} repeat purchases in calibration: %{y:.2f} actual holdout "
                "orders per customer (%{customdata:,} customers)<extra></extra>",
            )
        ]  # fmt: skip
        for name, series in predicted_means.items():
            traces.append(
                trace(
                    "scatter", x=labels, y=finite_values(series), name=model_label(name),
                    mode="lines+markers", line={"color": MODEL_COLORS.get(name, BLUE)},
                    hovertemplate="%{x}: %{y:.2f} predicted by " + model_label(name)
                    + "<extra></extra>",
                )
            )  # fmt: skip
        if by_frequency.get("naive"):
            traces.append(
                trace(
                    "scatter", x=labels, y=finite_values(by_frequency["naive"]),
                    name="naive (own past rate)", mode="lines+markers",
                    line={"color": GREY, "dash": "dot"}, visible="legendonly",
                    hovertemplate="%{x}: %{y:.2f} naive<extra></extra>",
                )
            )  # fmt: skip
        chosen = _chosen_model(summary, list(predicted_means))
        mine = np.asarray(predicted_means[chosen], dtype=float)
        truth = np.asarray(by_frequency["actual"], dtype=float)
        gaps = np.abs(mine - truth)
        # groups of a customer or two say little: among those of MIN_CELL or more customers
        # where two such groups exist, as the P(alive) reading compares its cells
        sizes = np.array([np.nan if n is None else n for n in counts], dtype=float)
        solid = np.flatnonzero(sizes >= MIN_CELL)
        among = solid if len(solid) >= 2 else np.arange(len(gaps))
        narrowed = len(among) < len(gaps)
        worst = int(among[np.argmax(gaps[among])])
        best = int(among[np.argmin(gaps[among])])
        if len(gaps) == 1:  # one group is both the closest and the furthest: say it once
            reading = (
                f"Every customer had {repeat_purchases_text(labels[0])} in calibration: "
                f"{model_label(chosen)} predicted {mine[0]:.2f} holdout orders per customer, "
                f"against {truth[0]:.2f} actual."
            )
        elif gaps[worst] < 0.005:  # closest and furthest would both read 0.00 vs 0.00
            every = (
                f"every group of {MIN_CELL} or more customers by repeat purchases in calibration"
                if narrowed
                else "every number of repeat purchases in calibration"
            )
            reading = (
                f"{model_label(chosen)} is within 0.01 holdout orders per customer of the actual "
                f"for {every}"
                + (
                    ": no customer of these groups ordered in the holdout period."
                    if not np.nansum(truth)
                    else "."
                )
            )
        else:
            reading = (
                (f"Of the groups of {MIN_CELL} or more customers, " if narrowed else "")
                + f"{model_label(chosen)} is closest for customers with "
                f"{repeat_purchases_text(labels[best])} in calibration "
                f"({mine[best]:.2f} holdout orders "
                f"predicted per customer, {truth[best]:.2f} actual) and furthest for "
                f"{repeat_purchases_text(labels[worst])} ({mine[worst]:.2f} vs "
                f"{truth[worst]:.2f})."
            )
        figure = plotly_figure(
            traces,
            xaxis=axis_layout("repeat purchases in the calibration period", type="category"),
            yaxis=axis_layout("holdout orders per customer", rangemode="tozero"),
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
        number = finite(value)
        return "-" if number is None else format(number, spec)

    rows = []
    # with --covariates a candidate competes in one version: with covariates where they lower
    # the holdout RMSE, else without; the other version's row says why it was not chosen
    eligible = (backtest.get("covariates") or {}).get("eligible")
    for name, scores in backtest.get("models", {}).items():
        chose = " (named)" if backtest.get("named_model") else " (chosen)"
        label = model_label(name) + (chose if name == backtest.get("best") else "")
        if eligible is not None and name not in eligible and "error" not in scores:
            label += (
                " (not eligible: covariates did not lower the RMSE)"
                if name.endswith("+covariates")
                else " (not eligible: its covariates lowered the RMSE)"
            )
        if "error" in scores:
            # the reason in words: the error's class name says nothing to a merchant
            reason = re.sub(r"^[A-Za-z]+Error: ", "", str(scores["error"]))
            rows.append([label, "failed", reason, "", ""])
            continue
        rows.append(
            [label, fmt(scores.get("mae_orders"), ".3f"),
             signed_pct_text(scores.get("aggregate_error_orders")),
             fmt(scores.get("spearman_orders"), ".3f"),
             pct_text(scores.get("top_decile_revenue_share"))]
        )  # fmt: skip
    naive = backtest.get("naive")
    if naive:
        rows.append(
            ["naive (own past rate)", fmt(naive.get("mae_orders"), ".3f"),
             signed_pct_text(naive.get("aggregate_error_orders")),
             fmt(naive.get("spearman_orders"), ".3f"),
             pct_text(naive.get("top_decile_revenue_share"))]
        )  # fmt: skip
    sample = ""
    if backtest.get("sampled_from"):
        sample = (
            f", on a random sample of {backtest['n_customers']:,} of "
            f"{backtest['sampled_from']:,} customers"
        )
    models = backtest.get("models", {}).values()
    if models and all("error" in scores for scores in models):
        return [
            HtmlTable(
                "Backtest scores",
                ["model", "MAE orders", "aggregate error", "Spearman", "top-decile revenue"],
                rows,
                f"No model could be fitted on the history to {backtest.get('calibration_end')} "
                f"(the rows say why), so none is chosen by the backtest: {_untested(summary)}.",
            )
        ]
    tables = [
        HtmlTable(
            "Backtest scores",
            ["model", "MAE orders", "aggregate error", "Spearman", "top-decile revenue"],
            rows,
            f"Fitted on the history to {backtest.get('calibration_end')} and scored on the "
            f"{finite(backtest.get('holdout_days')) or 0:.0f} days after{sample}; the "
            + (
                f"model named with --model {backtest['named_model']} is scored alone, no other "
                "candidate beside it"
                if backtest.get("named_model")
                else ("eligible " if eligible is not None else "")
                + "model with the lowest mean absolute error of orders per customer is chosen"
            )
            + (
                " (a candidate keeps its covariates where they lower the holdout root mean "
                "squared error of orders)"
                if eligible is not None
                else ""
            )
            + (
                ", a model with seasons only where its seasons are beyond chance "
                "(likelihood-ratio test against the model without them, p < 0.05)."
                if any(name.endswith(SEASON_SUFFIX) for name in backtest.get("models") or {})
                else "."
            )
            + (f" {verdict}" if (verdict := naive_verdict(backtest, _predicted(summary))) else ""),
        )
    ]
    model = summary.get("model") or {}
    if model.get("params"):
        params = []
        errors = model.get("standard_errors") or {}
        for name, value in model["params"].items():
            params.append([model_label(model.get("name")), name, fmt(value, ".4g"),
                           fmt(errors.get(name), ".3g")])  # fmt: skip
        spend = model.get("spend_model") or {}
        for name, value in (spend.get("params") or {}).items():
            params.append(["Gamma-Gamma (order value)", name, fmt(value, ".4g"),
                           fmt((spend.get("standard_errors") or {}).get(name), ".3g")])  # fmt: skip
        reading = (
            f"{model_label(model.get('name'))} fitted on the whole history: "
            f"{count_text(model.get('n_customers'))} customers "
            f"({count_text(model.get('n_distinct_histories'))} distinct histories), log-likelihood "
            f"{fmt(model.get('log_likelihood'), ',.1f')}; time in days."
        )
        if spend.get("reason"):
            reading += f" Order value: {spend['reason']}."
        tables.append(
            HtmlTable("Parameters", ["model", "parameter", "estimate", "std. error"], params,
                      reading)
        )  # fmt: skip
    return tables


def _untested(summary: dict) -> str:
    """What became of the predictions when no model could be backtested: withheld, or made by
    a model fitted on the whole history that no holdout has tested."""
    if not _predicted(summary):
        return "predictions are withheld and CLV is the historic one"
    name = model_label((summary.get("model") or {}).get("name"))
    return (
        f"the predictions come from {name} fitted on the whole history, which no holdout has tested"
    )


def _predicted(summary: dict) -> bool:
    """Whether the analysis made predictions (a model named but not fitted made none)."""
    return (summary.get("model") or {}).get("fitted") is not False
