"""Refresh: ingest + analysis + snapshot in one transaction.

The analysis' modules (Ibis, SciPy and the steps built on them: ~0.75 s to import) are imported
in a second thread while DuckDB ingests the files, most of which it does without holding
Python's lock; nothing before the ingest needs them, so this module imports none of them.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from valuecast.store.memory import release_unused_memory

if TYPE_CHECKING:  # annotations only: store.snapshots imports Ibis, which the ingest does without
    import pandas as pd

    from valuecast.store.snapshots import SnapshotInfo

__all__ = [
    "ANALYSIS_MODULES", "RefreshResult", "import_analysis_modules", "kept_analysis", "refresh",
]  # fmt: skip

ANALYSIS_MODULES: tuple[str, ...] = (
    "pyarrow.pandas_compat",  # the ingest report's frame: loaded once, before either needs it
    "ibis.backends.duckdb",
    "valuecast.models.registry",
    "valuecast.analysis.customers",
    "valuecast.analysis.growth.tables",
    "valuecast.store.snapshots",
)
"""What the analysis after an ingest imports first, in the order it needs them."""


@dataclass
class RefreshResult:
    report: Any  # store.workspace.IngestReport
    analysis: Any  # jobs.analyze.Analysis
    tables: dict[str, pd.DataFrame]  # the growth tables by file name
    snapshot: SnapshotInfo
    # the latest snapshot kept as it is (the ingest changed nothing it read, the options are
    # its own), not a new analysis
    kept: bool = False


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
    inputs: str | None = None,
    keep_spend_as: str | None = None,
    drop_kept_spend: bool = False,
    keep_not_products: Sequence[str] | None = None,
) -> RefreshResult:
    """Ingest ``results`` (importer output), re-run the analysis and store the snapshot.

    All in one transaction on ``workspace`` (opened for writing): if anything fails, or the
    process is killed, the workspace keeps its orders and snapshots as they were.  ``results``
    are consumed: once stored, their rows are released (:meth:`ImportResult.release_rows`) so
    the analysis has their memory.  ``spend``: the marketing spend frame of the CAC table.
    ``in_engine``: the analysis' customers table stays in the workspace until the caller's
    ``analysis.release()`` (:func:`valuecast.jobs.analyze.analyze`).  ``inputs``: the identity
    of the files and options ``results`` were read from, stored with the ingest
    (:meth:`Workspace.ingest <valuecast.store.workspace.Workspace.ingest>`).
    ``keep_spend_as``: the name of ``spend``'s file, to keep it in the workspace (replacing the
    spend kept before) with the snapshot; None keeps the workspace's spend as it is, or with
    ``drop_kept_spend`` forgets it.  ``keep_not_products``: the non-product names to keep in
    the workspace (replacing those kept before; none forgets them) with the snapshot; None keeps
    them as they are.
    """
    imports = import_analysis_modules()
    # what the analysis reads, to tell an ingest that changes none of it (the same export
    # downloaded again): the latest snapshot is then kept, where the options are its own.
    # Read after the ingest, as last committed, where the ingest reports no change: a new
    # quarter's orders skip that scan (0.3-0.5 s at 3M orders).  Inside a transaction opened
    # before, the committed workspace may not be the one before the ingest: read first.
    may_keep = keep_spend_as is None and not drop_kept_spend and keep_not_products is None
    read_first = may_keep and workspace.in_transaction
    with workspace.transaction():
        progress("writing the orders")
        stored_before = workspace.stored_fingerprint() if read_first else None
        report = workspace.ingest(results, inputs)
        if may_keep and not read_first and _changed_nothing(report):
            stored_before = workspace.stored_fingerprint(committed=True)
        for result in results:
            result.release_rows()
        release_unused_memory()  # the rows' and the staging's pages, before the analysis allocates
        workspace.release_freed_memory()
        imports.join()  # the analysis' imports are done: no two threads import at once
        from valuecast.jobs.analyze import AnalysisOptions, analyze_with_growth
        from valuecast.store.snapshots import save_snapshot

        options = options or AnalysisOptions()
        if (
            stored_before is not None
            and _changed_nothing(report)
            and workspace.stored_fingerprint() == stored_before
        ):
            kept = kept_analysis(workspace, options, unchanged_by=report.ingest_id)
            if kept is not None:
                return RefreshResult(report, *kept, kept=True)
        analysis, tables = analyze_with_growth(
            workspace, options, progress, spend=spend, in_engine=in_engine
        )
        progress("storing the snapshot")
        try:
            snapshot = save_snapshot(workspace, analysis, tables, report.to_dict(), options)
            if spend is not None and keep_spend_as is not None:
                from valuecast.store.spend import store_spend

                store_spend(workspace, spend, keep_spend_as)
            elif drop_kept_spend:
                from valuecast.store.spend import drop_spend

                drop_spend(workspace)
            if keep_not_products is not None:
                from valuecast.store.not_products import store_not_products

                store_not_products(workspace, keep_not_products)
        except BaseException:
            analysis.release()
            raise
    return RefreshResult(report=report, analysis=analysis, tables=tables, snapshot=snapshot)


def _changed_nothing(report) -> bool:
    """Whether the ingest ``report`` counts no order or customer record new, updated or
    withdrawn: only then are the stored data's fingerprints compared to tell."""
    return not (
        report.new_orders
        or report.updated_orders
        or report.withdrawn_orders
        or report.new_customer_records
        or report.updated_customer_records
    )


def kept_analysis(workspace, options, *, unchanged_by: int | None = None):
    """The latest snapshot as (analysis, growth tables, snapshot info) when it is what
    analysing the workspace with ``options`` would store now, else None: the same options, and
    nothing ingested since but the ingest ``unchanged_by``, which changed nothing the analysis
    reads (:func:`~valuecast.store.snapshots.reusable_snapshot`); the snapshot is then recorded
    as made after that ingest.

    The analysis reads the snapshot's stored customers in the engine, in customer-id order, as
    a new analysis' are read: a merchant analysing the same export again gets its results
    written again from it, the snapshot kept under its id, and no second analysis of the same
    orders in the history.
    """
    from valuecast.jobs.analyze import Analysis, with_reading_note
    from valuecast.store.snapshots import (
        customers_table,
        keep_snapshot_current,
        list_snapshots,
        load_summary,
        load_tables,
        reusable_snapshot,
    )

    snapshot_id = reusable_snapshot(workspace, options, unchanged_by)
    if snapshot_id is None:
        return None
    if unchanged_by is not None:
        keep_snapshot_current(workspace, snapshot_id)
    info = next(info for info in list_snapshots(workspace) if info.snapshot_id == snapshot_id)
    table = customers_table(workspace, snapshot_id).order_by("customer_id")
    summary = with_reading_note(workspace, load_summary(workspace, snapshot_id))
    analysis = Analysis(summary=summary, table=table)
    return analysis, load_tables(workspace, snapshot_id), info


_started: threading.Thread | None = None
_starting = threading.Lock()


def import_analysis_modules() -> threading.Thread:
    """The thread importing :data:`ANALYSIS_MODULES`, started on the first call of the process.

    A command may start it before it reads the files (``analyze FILE`` does), so the imports
    also overlap reading and checking them; :func:`refresh` joins it after the ingest.
    """
    global _started
    with _starting:
        if _started is None:
            _started = _import_in_background(ANALYSIS_MODULES)
        return _started


def _import_in_background(names: Sequence[str]) -> threading.Thread:
    """A started daemon thread importing ``names``; one that fails is left to the importer that
    needs it, which then raises its error where it is used."""

    def run() -> None:
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001, S112 - raised again by the import that needs it
                continue

    thread = threading.Thread(target=run, name="valuecast-imports", daemon=True)
    thread.start()
    return thread
