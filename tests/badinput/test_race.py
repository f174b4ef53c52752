"""Two commands started together on a workspace that does not exist yet.

Each trial starts two real processes of the command line; both import valuecast, then wait for a
barrier file and run the command the moment it appears, so their starts are milliseconds apart.
Whatever the interleaving, the workspace holds every order of the command that succeeded: a
process removes a workspace file only when it created that file itself, never after a lock
conflict.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

# races per command: the reported loss happened on every one of 5 ingest and 4 analyze races
TRIALS = {"ingest": 5, "analyze": 3}

# waits for the barrier file, then runs the command line with the remaining arguments
_WAIT_THEN_RUN = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from valuecast.cli import app\n"
    "barrier = Path(sys.argv[1])\n"
    "print('ready', flush=True)\n"
    "while not barrier.exists():\n"
    "    time.sleep(0.0005)\n"
    "sys.argv[1:2] = []\n"
    "app()\n"
)


def _race(args: list[str], barrier: Path) -> list[subprocess.CompletedProcess]:
    """Run ``valuecast ARGS`` twice, released together by ``barrier``."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WAIT_THEN_RUN, str(barrier), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    barrier.touch()
    done = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    return done


def _check_outcomes(done: list[subprocess.CompletedProcess], workspace: Path) -> None:
    """At least one command succeeded; a refused one says so in one line; the workspace stays."""
    codes = sorted(result.returncode for result in done)
    assert codes in ([0, 0], [0, 2]), [(r.returncode, r.stderr) for r in done]
    for result in done:
        assert "Traceback" not in result.stderr, result.stderr
        if result.returncode == 2:
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            assert len(lines) == 1, result.stderr
            assert lines[0].startswith(f"error: {workspace}: workspace is in use by PID ")
    assert workspace.exists(), [(r.returncode, r.stderr) for r in done]


@pytest.mark.parametrize("command", ["ingest", "analyze"])
def test_two_commands_racing_on_a_new_workspace_keep_it(corpus, tmp_path, command):
    export = corpus.write(tmp_path / "orders_export.csv", "shopify", corpus.shop(8))
    expected = None
    started = time.perf_counter()
    for trial in range(TRIALS[command]):
        workspace = tmp_path / f"new{trial}.duckdb"
        args = [command, str(export), "-w", str(workspace)]
        if command == "analyze":
            args += ["-o", str(tmp_path / f"out{trial}")]
        _check_outcomes(_race(args, tmp_path / f"go{trial}"), workspace)
        orders = corpus.stored_orders(workspace)
        expected = expected or orders
        assert len(orders) == 16
        assert orders == expected
    assert not list(tmp_path.glob(".*.creating*"))  # no staging file left behind
    # shown with -s: how long the trials took
    print(f"{command}: {TRIALS[command]} races in {time.perf_counter() - started:.1f} s")
