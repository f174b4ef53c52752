"""The report's inputs: the analysis and growth tables of a workspace, ready to render.

:func:`analyse_for_report` runs them on an open workspace; :func:`report_from_workspace` opens
the workspace read-only, runs them and writes ``report.html`` with
:func:`valuecast.outputs.report.write_report`.  :func:`json_ready` turns an analysis payload into
the plain JSON types summary.json holds.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def json_ready(payload: Any) -> Any:
    """``payload`` in plain JSON types: numpy scalars as Python numbers, dates as ISO text."""
    return json.loads(json.dumps(payload, default=_json_default))


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
    summary = json_ready(summary)
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
    from valuecast.outputs.report.render import write_report
    from valuecast.store import Workspace

    workspace_path = Path(workspace_path)
    if not workspace_path.exists():
        raise FileNotFoundError(f"{workspace_path}: no such workspace")
    with Workspace(workspace_path, read_only=True) as workspace:
        inputs = analyse_for_report(
            workspace, spend=spend, margin=margin, as_of=as_of, horizon=horizon
        )
    return write_report(out_path, *inputs)
