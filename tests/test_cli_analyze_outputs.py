"""`valuecast analyze` when its results cannot be written: before the work, a --out that is no
folder; after the snapshot is committed, a failing write keeps the snapshot and says so."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from valuecast.cli import analyze as analyze_command
from valuecast.cli import app
from valuecast.datasets.demo_shop import generate_demo_shop
from valuecast.store import Workspace
from valuecast.store.snapshots import list_snapshots

runner = CliRunner()


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    path = tmp_path_factory.mktemp("outputs") / "orders_export.csv"
    generate_demo_shop(path, customers=150, seed=5)
    return path


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def test_an_out_path_under_a_file_fails_before_the_work(export, tmp_path):
    workspace = tmp_path / "w.duckdb"
    result = runner.invoke(
        app, ["analyze", str(export), "-w", str(workspace), "-o", str(export / "results")]
    )
    assert result.exit_code == 2
    line = _one_line(result.output)
    assert line.startswith(f"error: {export / 'results'}: not a folder") and "is a file" in line
    assert not workspace.exists()  # nothing ingested, nothing analysed


@pytest.mark.parametrize("step", ["_store_pages", "_write_results"])
def test_a_write_failing_after_the_commit_keeps_the_snapshot_and_says_so(
    export, tmp_path, monkeypatch, step
):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(analyze_command, step, full_disk)
    workspace, out = tmp_path / "w.duckdb", tmp_path / "results"
    result = runner.invoke(app, ["analyze", str(export), "-w", str(workspace), "-o", str(out)])
    assert result.exit_code == 2
    line = _one_line(result.output)
    assert line.startswith(f"error: {out}: writing the results failed: OSError:")
    assert "No space left on device" in line
    with Workspace(workspace, read_only=True) as ws:
        (stored,) = list_snapshots(ws)
    assert line.endswith(
        f"the analysis is stored in {workspace} as snapshot {stored.snapshot_id} "
        f"(as of {stored.as_of})"
    )
    assert not (out / "customers.csv").exists()
