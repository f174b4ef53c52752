"""The dashboard's hold on its workspace: one writer, pooled readers, per-snapshot caches, jobs.

The server opens the workspace once for writing (DuckDB's file lock keeps every other process
out, as it does for the CLI).  Two kinds of use share it:

* **Writes** (an upload's ingest + analysis + snapshot, a spend file's re-analysis, dropping the
  kept spend) run one at a time on the main connection in a worker thread (:class:`Jobs`),
  inside one transaction (:func:`valuecast.jobs.refresh.refresh`), holding
  :attr:`Dashboard.write_lock`.
* **Reads** run on a small pool of DuckDB cursors opened at start-up (a DuckDB connection is not
  thread-safe; a cursor is a connection of its own on the same database).  A cursor sees the last
  committed state, so pages stay fast and consistent while a refresh is running.

What a page shows about a snapshot (its summary, growth tables, the report's charts, segment
counts, the customers table ready to page) is read once per snapshot by
:class:`~valuecast.web.views.SnapshotView` and kept for the few most recent snapshots.  The
charts, segment counts and sort orders are computed when the snapshot is made and stored with
it, so start-up reads them (a snapshot stored without them has them computed on first use).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from valuecast.store.workspace import ReadView

READ_CURSORS = 6
VIEW_CACHE = 2  # at 1M customers a view holds the customers table (about 300 MB)


# ------------------------------------------------------------------------------------------------
# jobs: uploads and re-analyses, one at a time
@dataclass
class Job:
    """One refresh of the workspace and how far it got (what ``/api/v1/jobs/{id}`` returns)."""

    job_id: str
    kind: str  # upload | spend | drop-spend
    files: list[str]
    state: str = "queued"  # queued | running | done | failed
    step: str = "waiting to start"
    steps: list[dict[str, Any]] = field(default_factory=list)
    progress: float = 0.0
    error: str | None = None
    ingest_report: dict[str, Any] | None = None
    snapshot: dict[str, Any] | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "kind": self.kind,
            "files": list(self.files),
            "state": self.state,
            "step": self.step,
            "steps": list(self.steps),
            "progress": round(self.progress, 3),
            "error": self.error,
            "ingest_report": self.ingest_report,
            "snapshot": self.snapshot,
            "seconds": round((self.finished or time.time()) - self.created, 2),
        }


# the progress messages of refresh (snapshots.refresh, jobs.analyze.analyze_with_growth) in order:
# the progress bar moves by step (their durations vary with the shop; the step names are shown)
STEPS = (
    "receiving the file",
    "reading the export",
    "writing the orders",
    "counting cohorts and repeat orders",
    "summarising customers",
    "backtesting models",
    "fitting models and predicting",
    "segmenting customers",
    "cohorts, channels, products",
    "storing the snapshot",
    "drawing the charts",
)


class Busy(Exception):
    """Another upload or re-analysis is still running."""


class Jobs:
    """Runs one job at a time in a worker thread; keeps the recent jobs for polling."""

    def __init__(self, keep: int = 50) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._keep = keep
        self._thread: threading.Thread | None = None  # the latest job's

    def running_thread(self) -> threading.Thread | None:
        """The thread of the job still running, if any."""
        thread = self._thread
        return thread if thread is not None and thread.is_alive() else None

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def active(self) -> Job | None:
        with self._lock:
            return next(
                (job for job in self._jobs.values() if job.state in ("queued", "running")), None
            )

    def start(
        self, kind: str, files: list[str], work: Callable[[Job], None], first: str = STEPS[0]
    ) -> Job:
        """Queue ``work(job)`` in a new thread; :class:`Busy` if a job is still running.
        ``first``: the step shown until the work says its own (a job without a file to
        receive names what it does)."""
        with self._lock:
            if any(job.state in ("queued", "running") for job in self._jobs.values()):
                raise Busy("an upload is still being processed: wait for it to finish")
            job = Job(job_id=uuid.uuid4().hex, kind=kind, files=files)
            self.advance(job, first)
            self._jobs[job.job_id] = job
            while len(self._jobs) > self._keep:
                self._jobs.popitem(last=False)
        thread = threading.Thread(
            target=self._run, args=(job, work), name=f"valuecast-{kind}", daemon=True
        )
        self._thread = thread
        thread.start()
        return job

    @staticmethod
    def _run(job: Job, work: Callable[[Job], None]) -> None:
        from valuecast.store.memory import frozen_objects

        job.state = "running"
        try:
            # the server's objects are left out of the job's garbage collections
            with frozen_objects():
                work(job)
        except Exception as error:  # reported on the job, never lost in a thread
            job.error = " ".join(str(error).split()) or type(error).__name__
            job.state = "failed"
        else:
            job.state = "done"
            job.progress = 1.0
        finally:
            job.finished = time.time()

    @staticmethod
    def advance(job: Job, text: str) -> None:
        """Record the step ``text`` (a refresh progress message) on ``job``."""
        now = time.time()
        if job.steps:
            job.steps[-1]["seconds"] = round(now - job.steps[-1]["started"], 2)
        job.steps.append({"step": text, "started": now, "seconds": None})
        job.step = text
        if text in STEPS:
            job.progress = max(job.progress, STEPS.index(text) / len(STEPS))
        else:  # an unknown step still moves the bar a little
            job.progress = min(0.95, job.progress + 0.02)


# ------------------------------------------------------------------------------------------------
class Dashboard:
    """The open workspace, its reader pool, the snapshot list and caches, and the job runner."""

    def __init__(self, workspace_path: str | Path, *, readers: int = READ_CURSORS) -> None:
        from valuecast.store import Workspace
        from valuecast.store.spend import stored_spend

        self.path = Path(workspace_path)
        self.workspace = Workspace(self.path)  # write mode: the tables exist from here on
        self.write_lock = threading.RLock()
        self._pool: queue.Queue = queue.Queue()
        for _ in range(readers):  # all opened now, before any thread uses the main connection
            self._pool.put(self.workspace.read_view())
        self._views: OrderedDict[int, Any] = OrderedDict()
        self._view_locks: dict[int, threading.Lock] = {}
        self._cache_lock = threading.Lock()
        self._snapshots: list[Any] = []
        self.jobs = Jobs()
        self._warming: threading.Thread | None = None
        # the spend file last given (uploaded here or to analyze --spend), kept in the workspace
        self.spend, self.spend_name = stored_spend(self.workspace)
        # the non-product names last given (here or to a command's --not-product)
        self.not_products: tuple[str, ...] = ()
        self.reload_not_products()
        self.reload_snapshots()

    def reload_not_products(self) -> None:
        """Read the non-product names the workspace keeps again (a command may have changed
        them)."""
        from valuecast.store.not_products import kept_not_products

        self.not_products = kept_not_products(self.workspace)

    def reload_spend(self) -> None:
        """Read the spend the workspace keeps again (another process may have replaced it)."""
        from valuecast.store.spend import stored_spend

        self.spend, self.spend_name = stored_spend(self.workspace)

    # -- reading --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def reader(self) -> Iterator[ReadView]:
        """A pooled cursor for this thread's reads (waits while every cursor is in use)."""
        view = self._pool.get()
        try:
            yield view
        finally:
            self._pool.put(view)

    def reload_snapshots(self) -> list[Any]:
        """Read the snapshot list again (after a refresh wrote one)."""
        from valuecast.store.snapshots import list_snapshots

        with self.reader() as view:
            snapshots = list_snapshots(view)
        with self._cache_lock:
            self._snapshots = snapshots
            alive = {s.snapshot_id for s in snapshots}
            for stale in [key for key in self._views if key not in alive]:
                del self._views[stale]  # replaced by a re-analysis of the same as-of date
        return snapshots

    @property
    def snapshots(self) -> list[Any]:
        """Every snapshot, oldest as-of date first (:class:`valuecast.store.snapshots.SnapshotInfo`)."""
        with self._cache_lock:
            return list(self._snapshots)

    def snapshot(self, reference: int | str | None = None):
        """The snapshot by id or as-of date (default: the latest), None when there is none.

        A date takes the snapshot as of it, as ``valuecast compare`` does (a merchant names the
        quarter's end, a snapshot is dated by its last order); an id or date that matches no
        snapshot raises :class:`~valuecast.store.snapshots.SnapshotError` naming the snapshots.
        """
        from valuecast.store.snapshots import find_snapshot

        snapshots = self.snapshots
        if not snapshots:
            return None
        if reference is None:
            return snapshots[-1]
        text = str(reference).strip()
        return find_snapshot(snapshots, int(text) if text.isdigit() else text)

    def view(self, info):
        """The :class:`~valuecast.web.views.SnapshotView` of snapshot ``info``, built once."""
        from valuecast.web.views import SnapshotView

        key = info.snapshot_id
        with self._cache_lock:
            if key in self._views:
                self._views.move_to_end(key)
                return self._views[key]
            build_lock = self._view_locks.setdefault(key, threading.Lock())
        with build_lock:  # one thread builds it; the others wait for that one
            with self._cache_lock:
                if key in self._views:
                    return self._views[key]
            built = SnapshotView.build(self.reader, info)
            with self._cache_lock:
                self._views[key] = built
                while len(self._views) > VIEW_CACHE:
                    self._views.popitem(last=False)
                self._view_locks.pop(key, None)
            return built

    def warm(self, *, wait: bool = True) -> threading.Thread | None:
        """Build the latest snapshot's view now (start-up and after a refresh), then what its
        requests would compute on first use (:meth:`~valuecast.web.views.SnapshotView.warm`:
        the search's e-mails, the descending sort orders, the growth tables): in a background
        thread unless ``wait`` (at 1M customers about 1.5 s of CPU that a request needing one
        of them does itself if it comes first)."""
        from valuecast.web.queries import LIST_COLUMNS

        info = self.snapshot()
        if info is None:
            return None
        view = self.view(info)
        if wait:
            view.warm(LIST_COLUMNS)
            return None
        thread = threading.Thread(
            target=view.warm, args=(LIST_COLUMNS,), name="valuecast-warm", daemon=True
        )
        thread.start()
        self._warming = thread
        return thread

    def close(self) -> None:
        if self._warming is not None:  # it reads on a pooled cursor: let it finish first
            self._warming.join()
        self._stop_running_job()
        while not self._pool.empty():
            with contextlib.suppress(Exception):
                self._pool.get_nowait().close()
        self.workspace.close()

    def _stop_running_job(self) -> None:
        """Stop the job still writing the workspace (a server stopped during a re-analysis):
        its queries are interrupted until its thread ends, and its transaction rolls back
        whole, as a killed command's does; the connection refuses to close while it runs."""
        running = self.jobs.running_thread()
        while running is not None and running.is_alive():
            with contextlib.suppress(Exception):
                self.workspace.raw.interrupt()
            running.join(0.1)
