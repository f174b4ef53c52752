"""The lock file: `make` refuses, in one line and without the network, a pyproject.toml it lacks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UV = ROOT / ".venv-uv" / "bin" / "uv"  # installed by the Makefile's first step

pytestmark = pytest.mark.skipif(
    not UV.exists() or shutil.which("make") is None,
    reason="runs under `make test`, which installs uv into .venv-uv",
)


def check_lock(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "check-lock", f"UV={UV}"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def project(tmp_path):
    for name in ("Makefile", "pyproject.toml", "uv.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_the_committed_lock_matches_pyproject(project):
    result = check_lock(project)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # a dependency added without re-locking
        ('    "numpy>=1.26",\n', '    "numpy>=1.26",\n    "tabulate>=0.9",\n'),
        # a range the locked version does not satisfy
        ('"duckdb>=1.1"', '"duckdb>=99"'),
        # a new development dependency
        ('    "pytest>=8",\n', '    "pytest>=8",\n    "mypy>=1.10",\n'),
    ],
)
def test_a_dependency_changed_without_relocking_fails_in_one_line(project, old, new):
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    assert old in text
    pyproject.write_text(text.replace(old, new, 1))
    result = check_lock(project)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0] == "uv.lock does not match pyproject.toml: run 'make lock' and commit uv.lock"
    # make's own "Error 1" line may follow; nothing else is printed
    assert all(line.startswith("make") for line in lines[1:]), result.stderr
