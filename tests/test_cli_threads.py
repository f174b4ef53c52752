"""The command line runs NumPy's OpenBLAS on one thread unless the user says otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "import sys, os; import valuecast.cli; import numpy; "
    "from threadpoolctl import threadpool_info; "
    "print(*{i['num_threads'] for i in threadpool_info() if i['internal_api'] == 'openblas'})"
)


@pytest.mark.parametrize(("given", "expected"), [(None, "1"), ("2", "2")])
def test_openblas_threads_are_set_before_numpy_loads(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    # numpy must not be loaded before the setting: OpenBLAS reads it once, when it loads (the
    # command modules load it in their bodies)
    probe = "import sys; assert 'numpy' not in sys.modules; " + PROBE
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


def test_the_command_line_starts_without_the_engine():
    """``valuecast --help`` (and every command's start) loads no engine, frame or model
    library: the command modules import them in their bodies."""
    probe = (
        "import sys; import valuecast.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'numpy', 'pandas', 'pyarrow', 'duckdb', 'ibis', 'scipy', 'plotly', 'fastapi'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
