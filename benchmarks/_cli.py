"""One `valuecast` command in a process of its own, measured: what the benchmarks time."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_cli(args: list[str]) -> dict:
    """``valuecast ARGS`` in a fresh process: its wall seconds, CPU seconds and peak RSS.

    The measures are the process's own rusage (``wait4``): RUSAGE_CHILDREN's peak would include
    the jobs run before it.  Its output is discarded and its errors kept in a file (a pipe left
    unread until the end could fill and stall it); a non-zero exit raises with them.
    """
    command = [str(Path(sys.executable).with_name("valuecast")), *args]
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise RuntimeError(f"valuecast {' '.join(args)} failed:\n{errors.read().decode()}")
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }
