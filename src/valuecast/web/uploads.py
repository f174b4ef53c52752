"""Uploads: a new export (ingest + analysis + snapshot) or a spend file (re-analysis with CAC),
and dropping the kept spend (re-analysis without it, as ``valuecast analyze --no-spend``).

The uploaded bytes are written to a temporary folder under names chosen here (``upload-1.csv``:
only the extension is taken from the client's file name, and only from a fixed list), read by the
same importers as ``valuecast ingest`` (:func:`valuecast.io.read_exports`, with its errors), and
handed to :func:`valuecast.jobs.refresh.refresh` in a worker thread: the ingest, the analysis and
the snapshot are one transaction, as for ``valuecast analyze FILE``.  The client's file name is
shown in the report and in errors, never used as a path.

Limits: the request body is cut at ``--max-upload-mb`` (:mod:`valuecast.web.security`).  A
Parquet file is compressed, so before it is imported its metadata is checked too
(:func:`check_parquet_size`): at most one row per 100 bytes of the limit (a CSV export of the
limit's size holds about that many) and at most twice the limit in uncompressed data; a larger
one is refused at upload, before anything is read into memory.

Temporary folders are named ``valuecast-upload-PID-*`` after the server process: the job removes
its folder, and at start-up :func:`remove_stale_folders` removes those of processes that are gone
(a server killed mid-upload).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from valuecast.io.csvfile import PARQUET_SUFFIXES
from valuecast.web.state import Dashboard, Job, Jobs

EXTENSIONS = {".csv", ".txt", ".tsv", *PARQUET_SUFFIXES}
CHUNK = 1 << 20
BYTES_PER_ROW = 100  # a Parquet upload holds at most max_upload_bytes / 100 rows
UNCOMPRESSED_FACTOR = 2  # ... and at most twice max_upload_bytes of uncompressed data
FOLDER_PREFIX = "valuecast-upload-"
_FOLDER = re.compile(re.escape(FOLDER_PREFIX) + r"(?P<pid>[0-9]+)-.+")


class UploadTooLarge(ValueError):
    """An upload whose content is larger than the dashboard accepts (one line, naming it)."""


def display_name(name: str | None, position: int) -> str:
    """The client's file name as text to show: its last part, printable, at most 120 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()[:120]
    return base or f"upload {position}"


def stored_name(name: str | None, position: int) -> str:
    """The name the upload is stored under: ``upload-N`` plus an allowed extension."""
    suffix = Path(display_name(name, position)).suffix.lower()
    return f"upload-{position}{suffix if suffix in EXTENSIONS else '.csv'}"


async def save_uploads(files: list[Any], folder: Path) -> list[tuple[Path, str]]:
    """Write each UploadFile into ``folder``; return (stored path, display name) pairs."""
    saved = []
    for position, upload in enumerate(files, start=1):
        target = folder / stored_name(upload.filename, position)
        with target.open("wb") as out:
            while chunk := await upload.read(CHUNK):
                out.write(chunk)
        await upload.close()
        saved.append((target, display_name(upload.filename, position)))
    return saved


def _shown(text: str, saved: list[tuple[Path, str]]) -> str:
    """``text`` with the temporary paths replaced by the names the user knows."""
    for path, name in saved:
        text = text.replace(str(path), name)
    return text


def _on_the_command_line(workspace: Path, option: str, alternative: str = "") -> str:
    """How a merchant gives ``option`` to an export the upload cannot take: the dashboard holds
    its workspace open (a second process writing it is refused), so it is stopped first; and
    ``refresh`` does what the upload does (ingests the export and analyses it with the last
    analysis' options), which the dashboard shows once started again, where an ``ingest``
    alone would leave it showing the analysis before."""
    where = shlex.quote(str(workspace))
    return (
        f"stop the dashboard (Ctrl+C), run `valuecast refresh FILE {option} --workspace {where}`"
        f"{alternative}, then start it again with `valuecast serve --workspace {where}`"
    )


def _for_the_dashboard(text: str, workspace: Path) -> str:
    """An importer's message as the dashboard's upload can follow it: the upload takes no
    rates file, format, column map or ``--no-spend``, so advice to give one says where to give
    it."""
    if "--fx" in text:
        return (
            f"{text} (the dashboard's upload takes no rates file: "
            f"{_on_the_command_line(workspace, '--fx RATES.csv')})"
        )
    if "--no-spend" in text:
        # the kept spend refuses the new orders, and a spend file in their currency is refused
        # against the analysis stored: the Channels page drops it (as analyze --no-spend does)
        return (
            f'{text} (the dashboard keeps this spend for every upload: drop it with "Drop the '
            'kept spend" on the Channels page, upload the export, then upload a spend file in '
            "its currency)"
        )
    if "--format" in text or "--map" in text:
        return (
            f"{text} (the dashboard's upload takes no format or column map: "
            f"{_on_the_command_line(workspace, '--format ...', ' (or with `--map ...`)')})"
        )
    return text


def _options(dashboard: Dashboard):
    """The analysis options: those of the latest analysis (its horizon, margin, discount rate,
    model, seasons, covariates and calendar: :func:`~valuecast.jobs.snapshots.last_options`),
    dated by the orders (the as-of date of none)."""
    import dataclasses

    from valuecast.jobs.snapshots import last_options

    return dataclasses.replace(last_options(dashboard.workspace), as_of=None)


def _finish(dashboard: Dashboard, job: Job, snapshot, kept: bool = False) -> None:
    from valuecast.store.snapshots import store_sort_orders
    from valuecast.web.views import store_view

    Jobs.advance(job, "drawing the charts")
    with dashboard.write_lock:  # stored with the snapshot: a restart reads them
        store_view(dashboard.workspace, snapshot.snapshot_id)
        store_sort_orders(dashboard.workspace, snapshot.snapshot_id)
    dashboard.reload_snapshots()
    dashboard.warm()
    # the snapshots of its as-of date it replaced: an upload holding no order after the latest
    # snapshot's date analyses that date again, which the page says rather than "new snapshot"
    # (or kept it as it is: the upload changed none of the orders it read)
    job.snapshot = {**snapshot.to_dict(), "replaced": list(snapshot.replaced), "kept": kept}


def start_upload(dashboard: Dashboard, saved: list[tuple[Path, str]], folder: Path) -> Job:
    """Queue the ingest + analysis of the saved files; the job owns (and removes) ``folder``."""
    from valuecast.io import read_exports
    from valuecast.io.schema import InputError
    from valuecast.jobs.refresh import refresh

    def work(job: Job) -> None:
        try:
            Jobs.advance(job, "reading the export")
            try:
                results = read_exports([path for path, _ in saved])
            except Exception as error:
                raise ValueError(
                    _for_the_dashboard(_shown(str(error), saved), dashboard.path)
                ) from None
            for result, (_, name) in zip(results, saved, strict=True):
                result.file = name  # the report names the file as the user knows it
            options = _options(dashboard)
            with dashboard.write_lock:
                # the spend the workspace keeps now (uploaded here or given to analyze --spend)
                dashboard.reload_spend()
                try:
                    done = refresh(
                        dashboard.workspace,
                        results,
                        options,
                        spend=dashboard.spend,
                        progress=lambda text: Jobs.advance(job, text),
                    )
                except InputError as error:
                    raise ValueError(_for_the_dashboard(str(error), dashboard.path)) from None
            job.ingest_report = done.report.to_dict()
            _finish(dashboard, job, done.snapshot, done.kept)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return dashboard.jobs.start("upload", [name for _, name in saved], work)


def start_spend(dashboard: Dashboard, path: Path, name: str, folder: Path) -> Job:
    """Read the spend file (errors now, as ``--spend`` does) and queue the re-analysis with it."""
    from valuecast.io.spend import read_spend

    try:
        try:
            spend = read_spend(path)
        except Exception as error:
            raise ValueError(_shown(str(error), [(path, name)])) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if dashboard.snapshot() is None:
        raise ValueError("upload an export first: there is no analysis to add spend to")
    from valuecast.io.spend import check_spend_currency

    try:  # now, not in the queued analysis: the same check, with the name the user knows
        check_spend_currency(spend, dashboard.view(dashboard.snapshot()).summary.get("currency"))
    except Exception as error:
        raise ValueError(_shown(str(error), [(path, name)])) from None
    spend.attrs["file"] = name

    def work(job: Job) -> None:
        from valuecast.jobs.analyze import analyze_with_growth
        from valuecast.store.snapshots import save_snapshot
        from valuecast.store.spend import store_spend

        options = _options(dashboard)
        workspace = dashboard.workspace
        with dashboard.write_lock, workspace.transaction():
            report = workspace.latest_ingest_report() or {}
            analysis, tables = analyze_with_growth(
                workspace, options, lambda text: Jobs.advance(job, text), spend=spend
            )
            Jobs.advance(job, "storing the snapshot")
            snapshot = save_snapshot(workspace, analysis, tables, report)
            store_spend(workspace, spend, name)
        dashboard.spend, dashboard.spend_name = spend, name
        _finish(dashboard, job, snapshot)

    return dashboard.jobs.start("spend", [name], work)


def start_not_products(dashboard: Dashboard, names: Sequence[str]) -> Job:
    """Queue ``valuecast analyze --not-product NAME...`` (``--clear-not-products`` without
    names): the names are kept in the workspace, replacing those kept before, and the analysis
    re-runs leaving them out, stored as a new snapshot, in one transaction (a failed analysis
    keeps both as they were).  :class:`ValueError` when there is nothing to forget."""
    from valuecast.store.not_products import not_product_names

    kept = not_product_names(names)
    with dashboard.write_lock:
        dashboard.reload_not_products()  # what the workspace keeps now, not what the page showed
        if not kept and not dashboard.not_products:
            raise ValueError("the workspace keeps no non-product names: there is nothing to forget")

    def work(job: Job) -> None:
        from valuecast.store.not_products import store_not_products

        workspace = dashboard.workspace
        snapshot = None
        with dashboard.write_lock, workspace.transaction():
            # without an analysis yet, the first upload's leaves them out
            if dashboard.snapshot() is not None:
                from valuecast.jobs.analyze import analyze_with_growth
                from valuecast.store.snapshots import save_snapshot

                options = _options(dashboard)
                options.not_products = kept
                report = workspace.latest_ingest_report() or {}
                # with the spend the workspace keeps, as an upload's analysis: the snapshot
                # this one replaces had its CAC from it
                dashboard.reload_spend()
                analysis, tables = analyze_with_growth(
                    workspace, options, lambda text: Jobs.advance(job, text), spend=dashboard.spend
                )
                Jobs.advance(job, "storing the snapshot")
                snapshot = save_snapshot(workspace, analysis, tables, report, options)
            store_not_products(workspace, kept)
        dashboard.reload_not_products()
        if snapshot is not None:
            _finish(dashboard, job, snapshot)

    names_given = list(kept) or ["(none)"]
    return dashboard.jobs.start(
        "not-products", names_given, work, first="keeping the non-product names"
    )


def start_spend_drop(dashboard: Dashboard) -> Job:
    """Queue ``valuecast analyze --no-spend``: the analysis re-runs without spend and the spend
    the workspace keeps is dropped with its snapshot, in one transaction (a failed analysis
    keeps both).  :class:`ValueError` when the workspace keeps no spend."""
    with dashboard.write_lock:
        dashboard.reload_spend()  # what the workspace keeps now, not what the page showed
        name = dashboard.spend_name
    if name is None:
        raise ValueError("the workspace keeps no spend file: there is nothing to drop")

    def work(job: Job) -> None:
        from valuecast.store.spend import drop_spend

        workspace = dashboard.workspace
        snapshot = None
        with dashboard.write_lock, workspace.transaction():
            if dashboard.snapshot() is not None:  # no analysis yet: nothing divided the spend
                from valuecast.jobs.analyze import analyze_with_growth
                from valuecast.store.snapshots import save_snapshot

                options = _options(dashboard)
                report = workspace.latest_ingest_report() or {}
                analysis, tables = analyze_with_growth(
                    workspace, options, lambda text: Jobs.advance(job, text)
                )
                Jobs.advance(job, "storing the snapshot")
                snapshot = save_snapshot(workspace, analysis, tables, report)
            drop_spend(workspace)
        dashboard.spend = dashboard.spend_name = None
        if snapshot is not None:
            _finish(dashboard, job, snapshot)

    return dashboard.jobs.start("drop-spend", [name], work, first="dropping the kept spend")


def parquet_limits(max_upload_bytes: int) -> tuple[int, int]:
    """(rows, uncompressed bytes) a Parquet upload may hold under ``max_upload_bytes``."""
    return max_upload_bytes // BYTES_PER_ROW, max_upload_bytes * UNCOMPRESSED_FACTOR


def _mb(size: int) -> str:
    return f"{size / 2**20:,.1f} MB"


def check_parquet_size(saved: list[tuple[Path, str]], max_upload_bytes: int) -> None:
    """Raise :class:`UploadTooLarge` for a saved Parquet file over :func:`parquet_limits`.

    Only the footer is read (row count and each row group's uncompressed size); a file whose
    footer cannot be read is left to the importer, which reports it.
    """
    import pyarrow.parquet as pq

    max_rows, max_bytes = parquet_limits(max_upload_bytes)
    for path, name in saved:
        if path.suffix.lower() not in PARQUET_SUFFIXES:
            continue
        try:
            meta = pq.ParquetFile(path).metadata
        except Exception:
            continue
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if meta.num_rows > max_rows or size > max_bytes:
            raise UploadTooLarge(
                f"{name}: {meta.num_rows:,} rows, {_mb(size)} uncompressed: more than an upload "
                f"may hold under the {_mb(max_upload_bytes)} limit (at most {max_rows:,} rows "
                f"and {_mb(max_bytes)} uncompressed); start the dashboard with a larger "
                "--max-upload-mb, or use `valuecast ingest`"
            )


def new_folder() -> Path:
    """A new temporary folder for one upload, named after this process (``valuecast-upload-PID-*``)."""
    return Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))


def _alive(pid: int) -> bool:
    """True when process ``pid`` exists (one of another user counts as existing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_stale_folders(root: Path | None = None) -> list[Path]:
    """Remove this user's upload folders whose owning process is gone; return them.

    Only folders named ``valuecast-upload-PID-*`` are considered, so a folder of a running
    server (any PID that exists) and any folder without a PID are kept.
    """
    if os.name != "posix":  # os.kill(pid, 0) is no existence check elsewhere
        return []
    removed = []
    for folder in Path(root or tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*"):
        found = _FOLDER.fullmatch(folder.name)
        if found is None or folder.is_symlink() or not folder.is_dir():
            continue
        if folder.stat().st_uid != os.getuid() or _alive(int(found["pid"])):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed
