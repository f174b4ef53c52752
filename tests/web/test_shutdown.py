"""The dashboard stopped while a job writes the workspace."""

from __future__ import annotations

import time

from test_cli_not_products import LINES, ORDERS
from test_cli_products import make_workspace
from valuecast.store import Workspace


def test_a_server_stopped_during_a_job_rolls_the_job_back_and_closes(tmp_path):
    """The server stops (Ctrl+C, or the end of a test) while a job re-analyses: the job's
    queries are interrupted, its transaction rolls back, and the workspace closes, instead of
    DuckDB refusing to close a connection still running a query."""
    from valuecast.web.state import Dashboard

    workspace = make_workspace(tmp_path / "w.duckdb", ORDERS, LINES)
    dashboard = Dashboard(workspace)
    started = []

    def work(job) -> None:
        with dashboard.workspace.transaction():
            dashboard.workspace.raw.execute("CREATE TABLE half_written (x INTEGER)")
            started.append(True)
            dashboard.workspace.raw.execute("SELECT count(*) FROM range(10000000000000)")

    job = dashboard.jobs.start("long", [], work)
    deadline = time.monotonic() + 60
    while not started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    dashboard.close()
    assert job.state == "failed" and "INTERRUPT" in job.error.upper()
    with Workspace(workspace, read_only=True) as ws:
        tables = {row[0] for row in ws.raw.execute("SHOW TABLES").fetchall()}
        assert "half_written" not in tables
