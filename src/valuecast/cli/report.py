"""The ``report`` command: the analysis of a workspace as one self-contained ``report.html``.

Registered in :mod:`valuecast.cli`.  The workspace is
opened read-only; every error (no workspace, a bad date or spend file, an empty workspace) is
one line on stderr and exit code 2, without a traceback.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from valuecast.cli.common import (
    check_options_or_fail,
    check_spend_options_or_fail,
    console,
    fail,
    open_workspace,
    read_spend_or_fail,
    spend_or_kept,
    writing_to,
)
from valuecast.cli.options import (
    LastAsOfOption,
    LastHorizonOption,
    LastMarginOption,
    NoKeptSpendOption,
    WorkspaceOption,
)

if TYPE_CHECKING:  # pandas is imported by the commands that need it (start-up time)
    import pandas as pd


DEFAULT_OUT = Path("valuecast-out") / "report.html"
"""Where ``report`` writes by default: beside the files ``analyze`` writes to its default
``--out``, the report among them."""


def report(
    workspace: WorkspaceOption = Path("valuecast.duckdb"),
    out: Path = typer.Option(
        DEFAULT_OUT,
        "--out",
        "-o",
        help="The HTML file to write (by default where `analyze` writes it, its folder made "
        "when missing; another file's folder must exist).",
    ),
    spend: Path | None = typer.Option(
        None,
        "--spend",
        help=(
            "SPEND.csv (month, channel, spend; month, spend for the whole shop): adds CLV:CAC "
            "and payback (default: the spend kept from the last analyze --spend or dashboard "
            "upload)."
        ),
    ),
    no_spend: NoKeptSpendOption = False,
    margin: LastMarginOption = None,
    horizon: LastHorizonOption = None,
    as_of: LastAsOfOption = None,
) -> None:
    """Write report.html (to valuecast-out/, as analyze does): every chart of the analysis in
    one page that opens offline.

    Headline figures, how value concentrates, P(alive), RFM groups and spend tiers, cohorts and
    retention, CLV (and CLV:CAC with a spend file) by channel, the growth stage, the model backtest
    and data quality, each with a one-line reading.  Plotly's JavaScript is inside the file:
    it needs no network.  The analysis runs with the options of the last `valuecast analyze`
    (horizon, model, margin, discount rate), so the report is the one it wrote; --margin,
    --horizon and --as-of change them.
    """
    from valuecast.analysis.summary import SummaryError
    from valuecast.io.schema import InputError
    from valuecast.jobs.report import analyse_for_report
    from valuecast.outputs.report import write_report
    from valuecast.store import EngineError

    started = time.perf_counter()
    check_options_or_fail(as_of=as_of, margin=margin, horizon=horizon)
    check_spend_options_or_fail(spend, no_spend)
    if out.exists() and out.is_dir():
        fail(f"{out}: is a folder (--out names the HTML file to write)")
    if not out.parent.exists() and out != DEFAULT_OUT:
        fail(f"{out.parent}: no such folder (--out)")
    spend_frame = read_spend_or_fail(spend)
    with open_workspace(workspace) as ws:
        # without --spend, the spend kept from the last analyze --spend (or dashboard upload)
        spend_frame, kept_note = spend_or_kept(ws, spend_frame, no_spend=no_spend)
        try:
            inputs = analyse_for_report(
                ws, spend=spend_frame, margin=margin, as_of=as_of, horizon=horizon
            )
        except (SummaryError, InputError, EngineError, ValueError) as error:
            fail(str(error))
    with writing_to(out, "the report"):
        out.parent.mkdir(parents=True, exist_ok=True)  # the default folder, as analyze makes it
        path = write_report(out, *inputs)
    size = path.stat().st_size / 1e6
    if kept_note is not None:
        console.print(f"note: {kept_note}", highlight=False, soft_wrap=True)
    console.print(
        f"report written to {path} ({size:.1f} MB) in {time.perf_counter() - started:.1f} s",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def report_from_workspace(
    workspace_path: str | Path,
    out_path: str | Path,
    *,
    spend: pd.DataFrame | str | Path | None = None,
    margin: float | None = None,
    as_of: date | str | None = None,
    horizon: int | None = None,
) -> Path:
    """Analyse the workspace at ``workspace_path`` (opened read-only) and write the report; the
    options not given are those of its last analysis (:func:`analyse_for_report`), and without
    ``spend`` the spend kept in the workspace (the last given to ``analyze --spend``), if any.

    Returns the path written.  Raises ``FileNotFoundError`` when there is no workspace there.
    """
    from valuecast.jobs.report import analyse_for_report
    from valuecast.outputs.report.render import write_report
    from valuecast.store import Workspace

    workspace_path = Path(workspace_path)
    if not workspace_path.exists():
        raise FileNotFoundError(f"{workspace_path}: no such workspace")
    with Workspace(workspace_path, read_only=True) as workspace:
        if spend is None:
            spend, _ = spend_or_kept(workspace, None)
        inputs = analyse_for_report(
            workspace, spend=spend, margin=margin, as_of=as_of, horizon=horizon
        )
    return write_report(out_path, *inputs)
