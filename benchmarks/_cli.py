"""One `valuecast` command in a process of its own, measured: what the benchmarks time."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

# The command is started by a small Python process that measures it: a process this one starts
# (vfork, then exec) reports as its peak RSS at least this process' own peak, which Linux carries
# across exec, and a benchmark that had simulated its 10M orders here reported 4.5 GB for a run
# of 3.3 GB.  Started by the launcher, it carries the launcher's few megabytes.
_LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(process.pid, 0)
print(json.dumps({
    "seconds": time.perf_counter() - started,
    "exit": os.waitstatus_to_exitcode(status),
    "cpu_seconds": usage.ru_utime + usage.ru_stime,
    "peak_rss_mb": usage.ru_maxrss / 1024,
}))
"""


def run_cli(args: list[str]) -> dict:
    """``valuecast ARGS`` in a fresh process: its wall seconds, CPU seconds and peak RSS.

    The measures are the process's own rusage (``wait4``, taken by :data:`_LAUNCHER`):
    RUSAGE_CHILDREN's peak would include the jobs run before it.  Its output is discarded and
    its errors kept in a file (a pipe left unread until the end could fill and stall it); a
    non-zero exit raises with them.
    """
    command = [str(Path(sys.executable).with_name("valuecast")), *args]
    with tempfile.TemporaryFile() as errors:
        launched = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, *command],
            stdout=subprocess.PIPE, stderr=errors, check=False,
        )  # fmt: skip
        measured = json.loads(launched.stdout) if launched.returncode == 0 else {"exit": -1}
        if measured["exit"] != 0:
            errors.seek(0)
            raise RuntimeError(f"valuecast {' '.join(args)} failed:\n{errors.read().decode()}")
    return {key: measured[key] for key in ("seconds", "cpu_seconds", "peak_rss_mb")}
