"""Ctrl-C and failures part-way through a command that writes the workspace: one line that says
what the workspace keeps (nothing new, or the ingest the command committed before it stopped),
exit 130 for an interrupt, no traceback, and no empty workspace left by a first command."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import valuecast.cli as cli
from valuecast.cli import app
from valuecast.store import Workspace
from valuecast.store.workspace import Workspace as WorkspaceClass

runner = CliRunner()


def _orders(path, first: int, count: int):
    rows = [
        f"{n},c{n % 7},2024-0{1 + n % 9}-1{n % 10},{10 + n}.00" for n in range(first, first + count)
    ]
    path.write_text("order,customer,date,amount\n" + "\n".join(rows) + "\n")
    return path


MAP = "order_id=order,customer_id=customer,ordered_at=date,revenue=amount"


def _ingest(files, workspace):
    return runner.invoke(app, ["ingest", *map(str, files), "-w", str(workspace), "--map", MAP])


def _stop_after_the_ingest_commits(monkeypatch, error: BaseException) -> None:
    """Make ``Workspace.ingest`` raise ``error`` once it has committed, as Ctrl-C landing in
    its release of freed memory does."""
    ingest = WorkspaceClass.ingest

    def committed_then_stopped(self, *args, **kwargs):
        ingest(self, *args, **kwargs)
        raise error

    monkeypatch.setattr(WorkspaceClass, "ingest", committed_then_stopped)


def _ingests(workspace) -> int:
    with Workspace(workspace, read_only=True) as ws:
        return len(ws.ingests())


@pytest.mark.parametrize(
    "error",
    [KeyboardInterrupt(), RuntimeError("Query interrupted")],
    ids=["KeyboardInterrupt", "DuckDB's interrupted query"],
)
def test_ctrl_c_after_the_ingest_committed_says_it_is_saved(tmp_path, monkeypatch, error):
    workspace = tmp_path / "w.duckdb"
    assert _ingest([_orders(tmp_path / "q1.csv", 1, 30)], workspace).exit_code == 0
    _stop_after_the_ingest_commits(monkeypatch, error)
    result = _ingest([_orders(tmp_path / "q2.csv", 100, 30)], workspace)
    assert result.exit_code == 130
    assert "Traceback" not in result.output
    assert " ".join(result.output.split()) == (
        f"interrupted: {workspace}: ingest 2 was saved before it stopped"
    )
    assert _ingests(workspace) == 2


def test_a_failure_after_the_ingest_committed_does_not_say_nothing_was_written(
    tmp_path, monkeypatch
):
    workspace = tmp_path / "w.duckdb"
    assert _ingest([_orders(tmp_path / "q1.csv", 1, 30)], workspace).exit_code == 0
    _stop_after_the_ingest_commits(monkeypatch, OSError("disk full"))
    result = _ingest([_orders(tmp_path / "q2.csv", 100, 30)], workspace)
    assert result.exit_code == 2
    assert " ".join(result.output.split()) == (
        f"error: {workspace}: ingest failed, ingest 2 was saved before it stopped: "
        "OSError: disk full"
    )


def test_ctrl_c_during_an_ingest_that_saves_nothing_says_so(tmp_path, monkeypatch):
    workspace = tmp_path / "w.duckdb"
    assert _ingest([_orders(tmp_path / "q1.csv", 1, 30)], workspace).exit_code == 0

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(WorkspaceClass, "ingest", interrupted)
    result = _ingest([_orders(tmp_path / "q2.csv", 100, 30)], workspace)
    assert result.exit_code == 130
    assert " ".join(result.output.split()) == f"interrupted: {workspace}: nothing written"
    assert _ingests(workspace) == 1


def test_ctrl_c_during_a_first_ingest_leaves_no_workspace(tmp_path, monkeypatch):
    workspace = tmp_path / "w.duckdb"
    _stop_after_the_ingest_commits(monkeypatch, KeyboardInterrupt())
    result = _ingest([_orders(tmp_path / "q1.csv", 1, 30)], workspace)
    assert result.exit_code == 130
    assert " ".join(result.output.split()) == (
        f"interrupted: {workspace}: nothing written (the new workspace is removed)"
    )
    assert not workspace.exists()


def test_ctrl_c_outside_a_command_is_one_line(monkeypatch, capsys):
    """Ctrl-C while the command line starts (its imports) or after the command (the exit's
    garbage collection): ``interrupted``, exit 130, no traceback."""

    def app() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "app", app)
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"

    def collect() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "app", lambda: None)
    monkeypatch.setattr(cli.gc, "collect", collect)
    cli.main()  # the interrupted collection is let go: the command is done


def test_sigterm_stops_a_command_as_ctrl_c_does():
    """`timeout`, cron, CI and `docker stop` send SIGTERM: it stopped a command silently between
    two of its results' files (exit 143), where Ctrl-C says what was kept.  Run in a process
    of its own: a SIGTERM not handled ends the process that gets it."""
    import subprocess
    import sys

    code = (
        "import os, signal\n"
        "import valuecast.cli as cli\n"
        "before = signal.getsignal(signal.SIGTERM)\n"
        "cli.app = lambda: os.kill(os.getpid(), signal.SIGTERM)\n"
        "try:\n"
        "    cli.main()\n"
        "finally:\n"
        "    assert signal.getsignal(signal.SIGTERM) is before  # the caller's handler again\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (130, "interrupted\n")


def test_a_failure_no_command_handles_is_one_line_naming_the_workspace(monkeypatch, capsys):
    """A corrupted workspace file gave `cohorts`, `stage`, `summary --out` and `report` a
    Python traceback (DuckDB's checksum error); any failure a command does not word itself is
    one line and exit 2, the traceback shown only when asked for."""

    def app() -> None:
        raise RuntimeError("Corrupt database file: computed checksum 1 does not match\nmore")

    monkeypatch.setattr(cli, "app", app)
    monkeypatch.setattr(cli.sys, "argv", ["valuecast", "cohorts", "-w", "shop.duckdb"])
    monkeypatch.delenv("VALUECAST_TRACEBACK", raising=False)
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 2
    assert capsys.readouterr().err == (
        "error: shop.duckdb: cohorts failed: RuntimeError: Corrupt database file: computed "
        "checksum 1 does not match (VALUECAST_TRACEBACK=1 shows where)\n"
    )
    monkeypatch.setenv("VALUECAST_TRACEBACK", "1")
    with pytest.raises(RuntimeError, match="Corrupt database file"):
        cli.main()


def test_an_analysis_step_duckdb_interrupted_is_an_interrupt_not_a_failure(tmp_path, monkeypatch):
    """Ctrl-C in the summary's query read "error: analysis failed at step 'summary' (customer
    summary): RuntimeError: Query interrupted" and exit 2."""
    from valuecast.analysis import customers

    workspace = tmp_path / "w.duckdb"
    assert _ingest([_orders(tmp_path / "q1.csv", 1, 60)], workspace).exit_code == 0

    def interrupted(*args, **kwargs):
        raise RuntimeError("Query interrupted")

    monkeypatch.setattr(customers, "_analyze", interrupted)
    result = runner.invoke(app, ["analyze", "-w", str(workspace), "-o", str(tmp_path / "out")])
    assert result.exit_code == 130, result.output
    assert "failed at step" not in result.output
    assert " ".join(result.output.split()) == f"interrupted: {workspace}: nothing written"


def test_main_outside_the_main_thread_keeps_its_callers_handlers(monkeypatch, capsys):
    """An embedding program calling main() from a thread got "signal only works in main
    thread" before any command ran."""
    import threading

    outcome: list[object] = []

    def run() -> None:
        try:
            cli.main()
        except SystemExit as stopped:
            outcome.append(stopped.code)
        else:
            outcome.append("ran")

    monkeypatch.setattr(cli, "app", lambda: None)
    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=60)
    assert outcome == ["ran"]


def test_serve_stopped_by_sigterm_exits_as_the_signal_does(tmp_path):
    """systemd and `docker stop` send SIGTERM: the dashboard stops gracefully and exits by the
    signal (143), where the CLI's interrupt handling made it 130, a failure to them."""
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "valuecast", "serve", "-w", str(tmp_path / "w.duckdb"),
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == -signal.SIGTERM
    finally:
        server.kill()
        server.wait()
