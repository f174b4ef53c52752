"""Uploads: a new export (ingest + analysis + snapshot) or a spend file (re-analysis with CAC).

The uploaded bytes are written to a temporary folder under names chosen here (``upload-1.csv``:
only the extension is taken from the client's file name, and only from a fixed list), read by the
same importers as ``valuecast ingest`` (:func:`valuecast.io.read_exports`, with its errors), and
handed to :func:`valuecast.snapshots.refresh` in a worker thread: the ingest, the analysis and
the snapshot are one transaction, as for ``valuecast analyze FILE``.  The client's file name is
shown in the report and in errors, never used as a path.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from valuecast.web.state import Dashboard, Job, Jobs

EXTENSIONS = {".csv", ".txt", ".tsv", ".parquet", ".pq"}
CHUNK = 1 << 20


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


def _options(dashboard: Dashboard):
    """The analysis options: those of the latest snapshot (horizon, margin, discount rate)."""
    from valuecast.pipeline import AnalysisOptions

    info = dashboard.snapshot()
    if info is None:
        return AnalysisOptions()
    summary = dashboard.view(info).summary
    return AnalysisOptions(
        horizon=int(summary.get("horizon_months") or 12),
        margin=float(summary.get("margin") if summary.get("margin") is not None else 1.0),
        annual_discount_rate=float(summary.get("annual_discount_rate") or 0.10),
    )


def _finish(dashboard: Dashboard, job: Job, snapshot) -> None:
    Jobs.advance(job, "drawing the charts")
    dashboard.reload_snapshots()
    dashboard.warm()
    job.snapshot = snapshot.to_dict()


def start_upload(dashboard: Dashboard, saved: list[tuple[Path, str]], folder: Path) -> Job:
    """Queue the ingest + analysis of the saved files; the job owns (and removes) ``folder``."""
    from valuecast.io import read_exports
    from valuecast.snapshots import refresh

    def work(job: Job) -> None:
        try:
            Jobs.advance(job, "reading the export")
            try:
                results = read_exports([path for path, _ in saved])
            except Exception as error:
                raise ValueError(_shown(str(error), saved)) from None
            for result, (_, name) in zip(results, saved, strict=True):
                result.file = name  # the report names the file as the user knows it
            options = _options(dashboard)
            with dashboard.write_lock:
                done = refresh(
                    dashboard.workspace,
                    results,
                    options,
                    spend=dashboard.spend,
                    progress=lambda text: Jobs.advance(job, text),
                )
            job.ingest_report = done.report.to_dict()
            _finish(dashboard, job, done.snapshot)
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

    def work(job: Job) -> None:
        from valuecast.pipeline import analyze_with_growth
        from valuecast.snapshots import save_snapshot
        from valuecast.web.state import store_spend

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


def new_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="valuecast-upload-"))
