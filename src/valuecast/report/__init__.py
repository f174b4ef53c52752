"""``report.html``: the analysis as one self-contained page that opens offline.

:func:`render_report` turns an analysis (summary.json, the customers table, the growth tables and
the ingest report) into the HTML text; :func:`write_report` writes it atomically and
:func:`report_from_workspace` runs the analysis on a workspace first.  The page embeds Plotly's
JavaScript once and every chart's (aggregated) data: no request leaves the page, and no
per-customer row is in it.  See :mod:`valuecast.report.build` for what each section shows.
"""

from valuecast.report.build import (
    SECTIONS,
    render_report,
    report_from_workspace,
    write_report,
)

__all__ = ["SECTIONS", "render_report", "report_from_workspace", "write_report"]
