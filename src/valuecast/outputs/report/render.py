"""``report.html``: the sections in page order and the page assembled from them.

Every section is a list of charts, each with a one-line reading computed from the same numbers
as the chart (plain words: "The top 20% of customers hold 61% of predicted CLV").  A chart
without data is never drawn: the reading then says why there is nothing to show.  Charts carry
aggregates only (a Lorenz curve at 101 points, mean P(alive) per recency x frequency cell, one
row per cohort, channel or group), so the page stays small whatever the number of customers.

Sections (:data:`SECTIONS`), one module of :mod:`valuecast.outputs.report` each:

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
* ``drivers``: what drives value: each covariate level's multiplier of the purchase rate and
  of the lifetime, with the coefficients' standard errors and p-values (``--covariates``).
* ``stage``: the growth stage with its suggested split of effort, and monthly revenue from new
  and returning customers.
* ``backtest``: actual vs predicted cumulative repeat purchases over the holdout weeks (each
  model, the naive guess), actual vs predicted holdout orders per calibration frequency, the
  scores, and the parameters with standard errors.
* ``data-quality``: rows read, orders used (guest orders among them) and orders excluded by
  reason, from the ingest report; low-confidence reasons and notes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from valuecast.analysis.payload import json_ready
from valuecast.outputs.report.alive import alive_chart
from valuecast.outputs.report.backtest import model_backtest
from valuecast.outputs.report.channels import acquisition_channels
from valuecast.outputs.report.charts import Section, finite, plotly_package_file, script_json
from valuecast.outputs.report.cohorts import churn_chart, ltv_chart, retention_chart
from valuecast.outputs.report.concentration import concentration_chart
from valuecast.outputs.report.data_quality import data_quality
from valuecast.outputs.report.drivers import driver_effects
from valuecast.outputs.report.headline import headline
from valuecast.outputs.report.segments import segment_charts
from valuecast.outputs.report.stage import stage_charts

__all__ = [
    "SECTIONS",
    "Built",
    "build_sections",
    "render_report",
    "report_sections",
    "write_report",
]


SECTIONS: dict[str, str] = {
    "headline": "Headline figures",
    "concentration": "How value concentrates",
    "alive": "Who is still buying",
    "segments": "RFM groups and spend tiers",
    "cohorts": "Cohorts and retention",
    "channels": "Acquisition channels",
    "drivers": "What drives value",
    "stage": "Growth stage",
    "backtest": "How well the model predicts",
    "data-quality": "Data quality",
}
"""Section ids and titles, in page order."""


CUSTOMER_COLUMNS_READ: tuple[str, ...] = (
    "historic_clv", "predicted_clv", "probability_alive", "frequency", "recency", "T",
)  # fmt: skip
"""The customers-table columns the sections read (how value concentrates, who is still buying):
the columns a caller holding the table elsewhere passes."""


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
    items, headline_chart = headline(summary)
    sections = [Section("headline", SECTIONS["headline"], [headline_chart])]
    sections.append(
        Section("concentration", SECTIONS["concentration"], [concentration_chart(customers)])
    )
    model = summary.get("model") or {}
    model_name = str(model.get("name") or "")
    alive = alive_chart(customers, model_name, withheld=model.get("withheld"))
    sections.append(Section("alive", SECTIONS["alive"], [alive]))
    sections.append(Section("segments", SECTIONS["segments"], segment_charts(summary)))
    retention = _table(tables, "retention.csv")
    cohort_charts = [
        retention_chart(retention),
        ltv_chart(_table(tables, "cohorts.csv"), currency, retention),
    ]
    churn = churn_chart((summary.get("growth") or {}).get("churn_threshold"))
    if churn is not None:
        cohort_charts.append(churn)
    sections.append(Section("cohorts", SECTIONS["cohorts"], cohort_charts))
    channel_charts, channel_notes = acquisition_channels(
        _table(tables, "channels.csv"), summary, currency
    )
    sections.append(Section("channels", SECTIONS["channels"], channel_charts, notes=channel_notes))
    driver_charts, driver_tables = driver_effects(summary)
    sections.append(Section("drivers", SECTIONS["drivers"], driver_charts, driver_tables))
    sections.append(Section("stage", SECTIONS["stage"], stage_charts(summary, currency)))
    backtest_charts, backtest_tables = model_backtest(summary)
    sections.append(Section("backtest", SECTIONS["backtest"], backtest_charts, backtest_tables))
    quality_chart, quality_notes = data_quality(summary, ingest_report)
    sections.append(
        Section("data-quality", SECTIONS["data-quality"], [quality_chart], notes=quality_notes)
    )
    return items, sections


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("valuecast.outputs.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


Built = tuple[list[dict[str, Any]], list[Section]]
"""What :func:`report_sections` gives: the headline items and the sections."""


def report_sections(
    summary: dict,
    customers: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    ingest_report: dict | None,
) -> Built:
    """:func:`build_sections` of the summary and ingest report as summary.json and
    ingest_report.json hold them: plain JSON types (numpy scalars from an in-memory analysis
    become Python numbers, dates ISO strings).

    The one chart pass that the report and the dashboard's stored pages
    (:func:`valuecast.web.views.view_parts`) share: neither changes what it is given.
    """
    if ingest_report is not None:
        ingest_report = json_ready(ingest_report)
    return build_sections(json_ready(summary), customers, tables, ingest_report)


def plotly_js_text() -> str:
    """plotly.min.js as the plotly package ships it (the text plotly.offline.get_plotlyjs
    reads), read as a file: the page draws its charts with it, offline."""
    return plotly_package_file("plotly.min.js").read_bytes().decode("utf-8")


def render_report(
    summary: dict,
    customers: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    ingest_report: dict | None,
    built: Built | None = None,
) -> str:
    """The report as one HTML page: Plotly's JavaScript inline once, no external resource.

    ``summary`` is the analysis summary (summary.json, with ``summary["growth"]`` from
    :func:`valuecast.analysis.growth.tables.growth_tables`), ``customers`` the customers table,
    ``tables`` the growth tables by file name (``cohorts.csv``, ``retention.csv``,
    ``channels.csv``, ...) and ``ingest_report`` the last ingest report (or None).  ``built``
    is their :func:`report_sections`, when the caller made it already.
    """
    if built is None:
        built = report_sections(summary, customers, tables, ingest_report)
    items, sections = built
    summary = json_ready(summary)
    figures: dict[str, Any] = {}
    template = None
    for section in sections:
        for chart in section.charts:
            if chart.figure is None:
                continue
            # the shared template is written once for all charts: each figure without it
            layout = dict(chart.figure.get("layout", {}))
            template = layout.pop("template", template)
            if not chart.figure.get("data"):
                raise AssertionError(f"chart {chart.key} has no data")  # a bug, never shown
            figures[chart.key] = {**chart.figure, "layout": layout}
    plotly_js = plotly_js_text()
    # cannot happen with a released plotly.js; searched as HTML matches an end tag (ASCII case
    # ignored), where a lower-cased copy of the 4.8 MB script took 0.035 s a report
    if re.search("</script", plotly_js, re.IGNORECASE | re.ASCII):
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
            has_predictions=finite(totals.get("predicted_clv")) is not None,
            backtest_skipped=(summary.get("backtest") or {}).get("skipped"),
            figures_json=script_json({"template": template, "figures": figures}),
            plotly_js=plotly_js,
        )
    )


def write_report(
    path: str | Path,
    summary: dict,
    customers: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    ingest_report: dict | None,
    built: Built | None = None,
) -> Path:
    """:func:`render_report` written to ``path`` atomically (a reader never sees half a page)."""
    from valuecast.outputs.files import write_atomically

    path = Path(path)
    html = render_report(summary, customers, tables, ingest_report, built)
    write_atomically(path, lambda target: target.write_text(html, encoding="utf-8"))
    return path
