"""``report.html``: the analysis as one self-contained page that opens offline.

:func:`render_report` turns an analysis (summary.json, the customers table, the growth tables and
the ingest report) into the HTML text and :func:`write_report` writes it atomically; running the
analysis first is :func:`valuecast.cli.report.report_from_workspace`.  The page embeds Plotly's
JavaScript once and every chart's (aggregated) data: no request leaves the page, and no
per-customer row is in it.  :mod:`~valuecast.outputs.report.render` lists what each section shows;
every section is a module here, and :mod:`~valuecast.outputs.report.charts` holds the chart and
format helpers the sections share with the dashboard.

The names of :mod:`~valuecast.outputs.report.render` are imported on first use: the dashboard
imports :mod:`~valuecast.outputs.report.charts` at start-up, and the sections (SciPy among their
imports, about 0.5 s) only for a snapshot stored without its charts.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SECTIONS", "render_report", "write_report"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from valuecast.outputs.report import render

        return getattr(render, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
