"""The report's inputs: the analysis and growth tables of a workspace, ready to render.

:func:`analyse_for_report` runs them on an open workspace; the ``report`` command
(:func:`valuecast.cli.report.report_from_workspace`) renders them with
:func:`valuecast.outputs.report.write_report`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from valuecast.analysis.payload import json_ready


def analyse_for_report(
    workspace,
    *,
    spend: pd.DataFrame | str | Path | None = None,
    margin: float | None = None,
    as_of: date | str | None = None,
    horizon: int | None = None,
) -> tuple[dict, pd.DataFrame, dict[str, pd.DataFrame], dict | None]:
    """Run the analysis and the growth tables on an open workspace: the report's four inputs.

    The analysis runs with the options of the workspace's last one (``valuecast analyze``'s
    horizon, model, margin ...: :func:`valuecast.jobs.snapshots.last_options`), with
    ``margin``, ``as_of`` and ``horizon`` over them where given, so that the report written
    again shows what the analysis showed.  ``spend`` is a frame of
    :func:`valuecast.io.spend.read_spend` or the path of SPEND.csv.  Raises what the analysis
    raises (``SummaryError``, ``InputError``, ``ValueError``).
    """
    from valuecast.jobs.analyze import analyze_with_growth
    from valuecast.jobs.snapshots import last_options

    if spend is not None and not isinstance(spend, pd.DataFrame):
        from valuecast.io.spend import read_spend

        spend = read_spend(Path(spend))
    options = last_options(workspace, as_of=as_of, horizon=horizon, margin=margin)
    options.validate()
    # the report shows no product tables: pairing a long tail's products is most of the work
    analysis, tables = analyze_with_growth(workspace, options, spend=spend, products=False)
    summary = analysis.summary
    # the summary as summary.json holds it (plain JSON types), as the analyze command writes it
    summary = json_ready(summary)
    return summary, analysis.customers, tables, workspace.latest_ingest_report()
