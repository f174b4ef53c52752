"""Snapshot use cases: refresh (ingest + analysis + snapshot in one transaction), reusing a
current snapshot, and the history and comparison of the stored snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from valuecast.analysis.compare import AT_RISK_GROUPS, NEW, Comparison, comparison, history_table
from valuecast.store.memory import release_unused_memory
from valuecast.store.snapshots import (
    SnapshotError,
    SnapshotInfo,
    high_value_movers,
    label_moves,
    load_customers,
    load_summary,
    resolve_snapshot,
    reusable_snapshot,
    save_snapshot,
    stored_summaries,
)

__all__ = ["RefreshResult", "compare", "history", "refresh", "reusable_analysis"]


def reusable_analysis(workspace, options):
    """The latest snapshot as an :class:`~valuecast.jobs.analyze.Analysis` when it is exactly what
    analysing the workspace with ``options`` would give now, else None.

    That is: it ran with the same options, and nothing was ingested after it.
    """
    from valuecast.jobs.analyze import Analysis

    snapshot_id = reusable_snapshot(workspace, options)
    if snapshot_id is None:
        return None
    customers = load_customers(workspace, snapshot_id)
    for column in ("first_order_date", "last_order_date"):  # as the pipeline gives them
        customers[column] = pd.to_datetime(customers[column]).astype("datetime64[s]")
    return Analysis(customers=customers, summary=load_summary(workspace, snapshot_id))


# ------------------------------------------------------------------------------------------------
# history and comparison
# ------------------------------------------------------------------------------------------------
def history(workspace) -> pd.DataFrame:
    """One row per snapshot (:func:`valuecast.analysis.compare.history_table`)."""
    return history_table(stored_summaries(workspace))


def compare(
    workspace, before: str | int | None = "previous", after: str | int | None = "latest"
) -> Comparison:
    """Compare two snapshots (ids, as-of dates, ``latest`` or ``previous``); see :class:`Comparison`."""
    first = resolve_snapshot(workspace, before)
    second = resolve_snapshot(workspace, after)
    if first.snapshot_id == second.snapshot_id:
        raise SnapshotError(f"both sides are snapshot {first.snapshot_id} ({first.as_of})")
    moves = {
        column: label_moves(workspace, first.snapshot_id, second.snapshot_id, column, NEW)
        for column in ("rfm_group", "predicted_spend_tier")
    }
    movers = high_value_movers(workspace, first.snapshot_id, second.snapshot_id, AT_RISK_GROUPS)
    return comparison(first, second, moves["rfm_group"], moves["predicted_spend_tier"], movers)


# ------------------------------------------------------------------------------------------------
# refresh: ingest + analysis + snapshot in one transaction
# ------------------------------------------------------------------------------------------------
@dataclass
class RefreshResult:
    report: Any  # store.workspace.IngestReport
    analysis: Any  # pipeline.Analysis
    tables: dict[str, pd.DataFrame]
    snapshot: SnapshotInfo


def _noop(_: str) -> None:
    return None


def refresh(
    workspace,
    results: Sequence[Any],
    options=None,
    *,
    spend: pd.DataFrame | None = None,
    progress: Callable[[str], None] = _noop,
    in_engine: bool = False,
) -> RefreshResult:
    """Ingest ``results`` (importer output), re-run the analysis and store the snapshot.

    All in one transaction on ``workspace`` (opened for writing): if anything fails, or the
    process is killed, the workspace keeps its orders and snapshots as they were.  ``results``
    are consumed: once stored, their rows are released (:meth:`ImportResult.release_rows`) so
    the analysis has their memory.  ``in_engine``: the analysis' customers table stays in the
    workspace until the caller's ``analysis.release()`` (:func:`valuecast.jobs.analyze.analyze`).
    """
    from valuecast.jobs.analyze import AnalysisOptions, analyze_with_growth

    options = options or AnalysisOptions()
    with workspace.transaction():
        progress("writing the orders")
        report = workspace.ingest(results)
        for result in results:
            result.release_rows()
        release_unused_memory()  # the rows' and the staging's pages, before the analysis allocates
        analysis, tables = analyze_with_growth(
            workspace, options, progress, spend=spend, in_engine=in_engine
        )
        progress("storing the snapshot")
        try:
            snapshot = save_snapshot(workspace, analysis, tables, report.to_dict(), options)
        except BaseException:
            analysis.release()
            raise
    return RefreshResult(report=report, analysis=analysis, tables=tables, snapshot=snapshot)
