"""A process killed at any point leaves the workspace at its last consistent state; a second
writer is told which process holds the workspace.

Each command runs once to the end in a subprocess (the "after" state and its duration), then is
started again from the same "before" workspace and killed with SIGKILL at points spread over that
duration.  After every kill the workspace must open and equal either the before or the after
state, and every result file present must be whole (files are written under a temporary name and
renamed).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from valuecast.store import Workspace

KILLS = int(os.environ.get("VALUECAST_CRASH_KILLS", "5"))


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """Two Shopify exports of a small shop (to 2025-12-31, and to 2026-06-30) and a workspace
    holding the first one, analysed."""
    from valuecast.datasets.demo_shop import generate_demo_shop

    folder = tmp_path_factory.mktemp("crash")
    generate_demo_shop(folder / "full.csv", customers=300, seed=5)
    full = pd.read_csv(folder / "full.csv", dtype=str, keep_default_na=False)
    full[full["Created at"] < "2026-01-01"].to_csv(folder / "early.csv", index=False)
    base = folder / "base.duckdb"
    done = _run(["analyze", str(folder / "early.csv"), "-w", str(base), "-o", str(folder / "o")])
    assert done.returncode == 0, done.stderr
    return folder


def _command(args: list[str]) -> list[str]:
    return [sys.executable, "-c", "from valuecast.cli import app; app()", *args]


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(_command(args), capture_output=True, text=True, timeout=600)


def fingerprint(path: Path) -> tuple:
    """What the workspace holds: orders, lines, customers, ingests and snapshots (no timestamps).

    A missing file and a workspace with no data are the same state: nothing ingested yet.
    """
    if not path.exists():
        return ((0, None, None), 0, 0, 0, (), (0, None))
    with Workspace(path, read_only=True) as ws:
        raw = ws.con.con
        tables = {
            row[0] for row in raw.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        orders = raw.execute(
            "SELECT count(*), round(sum(net_revenue), 6), "
            "md5(string_agg(order_id || ':' || ingest_id, ',' ORDER BY order_id)) FROM orders"
        ).fetchone()
        lines = raw.execute("SELECT count(*) FROM order_lines").fetchone()[0]
        customers = raw.execute("SELECT count(*) FROM customers").fetchone()[0]
        ingests = raw.execute("SELECT count(*) FROM ingests").fetchone()[0]
        if "snapshots" in tables:
            snapshots = tuple(
                raw.execute(
                    "SELECT snapshot_id, as_of FROM snapshots ORDER BY snapshot_id"
                ).fetchall()
            )
            stored = raw.execute(
                "SELECT count(*), round(sum(predicted_clv), 6) FROM snapshot_customers"
            ).fetchone()
        else:
            snapshots, stored = (), (0, None)
    return (orders, lines, customers, ingests, snapshots, stored)


def _whole_files(out: Path, reference: Path) -> None:
    """Every result file present in ``out`` is complete: no half-written file is ever visible."""
    if not out.exists():
        return
    if (out / "customers.csv").exists():
        assert (out / "customers.csv").read_bytes() == (reference / "customers.csv").read_bytes()
    if (out / "customers.parquet").exists():
        assert (
            pq.read_table(out / "customers.parquet").num_rows
            == pq.read_metadata(reference / "customers.parquet").num_rows
        )
    for name in ("summary.json", "ingest_report.json"):
        if (out / name).exists():
            json.loads((out / name).read_text())  # parses: whole


COMMANDS = {
    "ingest": lambda shop, ws, out: ["ingest", str(shop / "full.csv"), "-w", str(ws)],
    # another horizon than the stored snapshot's: the same options would keep that snapshot,
    # writing nothing to the workspace
    "analyze": lambda shop, ws, out: ["analyze", "-w", str(ws), "-o", str(out),
                                      "--horizon", "24"],
    "refresh": lambda shop, ws, out: ["refresh", str(shop / "full.csv"), "-w", str(ws),
                                      "-o", str(out)],
    "first ingest": lambda shop, ws, out: ["ingest", str(shop / "early.csv"), "-w", str(ws)],
}  # fmt: skip


@pytest.mark.parametrize("name", list(COMMANDS))
def test_kill_at_any_point_leaves_before_or_after(shop, tmp_path, name):
    def fresh(tag: str) -> Path:
        path = tmp_path / f"{tag}.duckdb"
        if name != "first ingest":
            shutil.copy(shop / "base.duckdb", path)
        return path

    reference = fresh("reference")
    before = fingerprint(reference)
    started = time.perf_counter()
    done = _run(COMMANDS[name](shop, reference, tmp_path / "reference-out"))
    duration = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    after = fingerprint(reference)
    assert after != before

    rng = random.Random(f"{name}-kills")
    outcomes = []
    for kill in range(KILLS):
        path = fresh(f"kill{kill}")
        out = tmp_path / f"kill{kill}-out"
        # kill points spread over the whole run (start-up included) and a little past its
        # reference duration (runs vary), jittered within each slot
        delay = 1.25 * duration * (kill + rng.random()) / KILLS
        process = subprocess.Popen(
            _command(COMMANDS[name](shop, path, out)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        state = fingerprint(path)
        assert state in (before, after), f"kill {kill} at {delay:.2f} s: {state}"
        outcomes.append("after" if state == after else "before")
        if name in ("analyze", "refresh") and (tmp_path / "reference-out").exists():
            _whole_files(out, tmp_path / "reference-out")
        # the workspace is usable afterwards: the same command now completes
        if kill == 0:
            rerun = _run(COMMANDS[name](shop, path, out))
            assert rerun.returncode == 0, rerun.stderr
            assert fingerprint(path) == after
    # shown with -s: where the kills landed
    print(f"{name}: {duration:.1f} s run, kills left {outcomes}")


@pytest.mark.parametrize(
    ("holding", "said"),
    [
        (["valuecast", "serve", "--port", "8000"], "(the dashboard, `valuecast serve`), which "
         "holds it while it runs: stop it (Ctrl+C where it runs) and run this again"),
        (["-m", "valuecast", "analyze", "orders.csv"],
         "(`valuecast analyze`); wait for it to finish, or stop it"),
    ],
)  # fmt: skip
def test_a_command_refused_a_workspace_is_told_which_command_holds_it(
    shop, tmp_path, holding, said
):
    """Refused while the dashboard was open, a command said "in use by PID 4242 (python3.11);
    wait for it to finish", and the dashboard never finishes."""
    path = tmp_path / "busy.duckdb"
    shutil.copy(shop / "base.duckdb", path)
    # a process with the command line of the command holding the workspace
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom valuecast.store import Workspace\n"
         f"ws = Workspace({str(path)!r})\nprint('open', flush=True)\ntime.sleep(60)",
         *holding],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "open"
        done = _run(["history", "-w", str(path)])
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == (
            f"error: {path}: workspace is in use by PID {holder.pid} {said}"
        )
    finally:
        holder.kill()
        holder.wait()


def test_second_writer_is_told_the_pid(shop, tmp_path):
    path = tmp_path / "busy.duckdb"
    shutil.copy(shop / "base.duckdb", path)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom valuecast.store import Workspace\n"
         f"ws = Workspace({str(path)!r})\nprint('open', flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "open"
        for args in (
            ["ingest", str(shop / "full.csv"), "-w", str(path)],
            ["analyze", "-w", str(path), "-o", str(tmp_path / "o")],
            ["history", "-w", str(path)],
        ):
            done = _run(args)
            assert done.returncode == 2, (args, done.stdout, done.stderr)
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            assert len(lines) == 1, done.stderr
            assert f"workspace is in use by PID {holder.pid}" in lines[0]
            assert "Traceback" not in done.stderr
    finally:
        holder.kill()
        holder.wait()
    # nothing was written by the refused commands, and the workspace still opens
    assert fingerprint(path) == fingerprint(shop / "base.duckdb")
