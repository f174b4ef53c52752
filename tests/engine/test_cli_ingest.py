"""`valuecast ingest` and `valuecast summary` end to end through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import valuecast.io
from valuecast.cli import app
from valuecast.engine import Workspace
from valuecast.io.schema import InputError

runner = CliRunner()

ORDERS = [
    {"id": 1, "customer": "ann@example.com", "date": "2024-01-01", "net": 10.0, "channel": "web"},
    {"id": 2, "customer": "ann@example.com", "date": "2024-01-11", "net": 20.0},
    {"id": 3, "customer": "bob@example.com", "date": "2024-01-21", "net": 7.5},
    {"id": 4, "customer": None, "date": "2024-01-25", "net": 100.0},
    {"id": 5, "customer": "ann@example.com", "date": "2024-02-10", "net": 5.0},
]


@pytest.fixture
def fake_reader(monkeypatch, make_result):
    """A stand-in ``read_export``: ``good*.csv`` -> ORDERS, ``bad*.csv`` -> InputError."""
    calls = []

    def read_export(path, format=None, column_map=None, fx=None):
        calls.append({"path": str(path), "format": format, "column_map": column_map, "fx": fx})
        if Path(path).name.startswith("bad"):
            raise InputError(str(path), "not a number: 'abc'", row=7, column="Total")
        return [make_result(ORDERS, file=str(path), excluded={"cancelled": 1})]

    monkeypatch.setattr(valuecast.io, "read_export", read_export, raising=False)
    return calls


def write(path, text="x\n"):
    path.write_text(text)
    return path


def test_ingest_prints_a_report_and_json(tmp_path, fake_reader):
    source = write(tmp_path / "good.csv")
    workspace = tmp_path / "ws.duckdb"
    result = runner.invoke(app, ["ingest", str(source), "--workspace", str(workspace)])
    assert result.exit_code == 0, result.output
    assert "good.csv" in result.output and "guest orders" in result.output
    assert "cancelled" in result.output
    result = runner.invoke(
        app, ["ingest", str(source), "--workspace", str(workspace), "--json", "--format", "orders"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["orders"] == 5 and report["unchanged_orders"] == 5 and report["new_orders"] == 0
    assert report["guest_orders"] == 1 and report["excluded_orders"] == {"cancelled": 1}
    assert fake_reader[-1]["format"] == "orders"


def test_map_and_fx_are_passed_to_the_reader(tmp_path, fake_reader):
    source, rates = write(tmp_path / "good.csv"), write(tmp_path / "rates.csv")
    args = ["ingest", str(source), "-w", str(tmp_path / "ws.duckdb"), "--fx", str(rates)]
    args += ["--map", "customer_id=Email, ordered_at=Created,revenue=Total"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert fake_reader[0]["column_map"] == {
        "customer_id": "Email",
        "ordered_at": "Created",
        "revenue": "Total",
    }
    assert str(fake_reader[0]["fx"]) == str(rates)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--map", "customer_id"], "is not NAME=COLUMN"),
        (["--fx", "missing-rates.csv"], "no such file (--fx)"),
    ],
)
def test_bad_options_exit_2(tmp_path, fake_reader, extra, message):
    source = write(tmp_path / "good.csv")
    result = runner.invoke(app, ["ingest", str(source), "-w", str(tmp_path / "w.duckdb"), *extra])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "w.duckdb").exists()


def test_a_bad_file_exits_2_and_writes_nothing(tmp_path, fake_reader):
    good, bad = write(tmp_path / "good.csv"), write(tmp_path / "bad.csv")
    workspace = tmp_path / "ws.duckdb"
    # a new workspace is not even created
    result = runner.invoke(app, ["ingest", str(good), str(bad), "-w", str(workspace)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "bad.csv, row 7, column 'Total': not a number" in lines[0]
    assert not workspace.exists()
    # an existing workspace keeps exactly what it had
    assert runner.invoke(app, ["ingest", str(good), "-w", str(workspace)]).exit_code == 0
    with Workspace(workspace, read_only=True) as ws:
        before = ws.orders().to_pandas()
        ingests = len(ws.ingests())
    result = runner.invoke(app, ["ingest", str(good), str(bad), "-w", str(workspace)])
    assert result.exit_code == 2
    with Workspace(workspace, read_only=True) as ws:
        pd.testing.assert_frame_equal(ws.orders().to_pandas(), before)
        assert len(ws.ingests()) == ingests


def test_a_missing_file_exits_2(tmp_path, fake_reader):
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope.csv"), "-w", str(tmp_path / "w")])
    assert result.exit_code == 2 and "nope.csv: no such file" in result.output
    assert fake_reader == []


def test_mixed_currencies_across_ingests_exit_2(tmp_path, monkeypatch, make_result):
    euro = [dict(row, currency="EUR", id=f"E{row['id']}") for row in ORDERS]

    def read_export(path, format=None, column_map=None, fx=None):
        return [make_result(euro if Path(path).name == "eu.csv" else ORDERS, file=str(path))]

    monkeypatch.setattr(valuecast.io, "read_export", read_export, raising=False)
    workspace = tmp_path / "ws.duckdb"
    us, eu = write(tmp_path / "us.csv"), write(tmp_path / "eu.csv")
    result = runner.invoke(app, ["ingest", str(us), str(eu), "-w", str(workspace)])
    assert result.exit_code == 2
    assert "more than one currency" in result.output and "--fx" in result.output
    assert not workspace.exists()


# ------------------------------------------------------------------------------------------------
# summary
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def workspace(tmp_path, make_result):
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        ws.ingest([make_result(ORDERS)])
    return path


def test_summary_to_csv_and_parquet(tmp_path, workspace):
    out = tmp_path / "summary.csv"
    result = runner.invoke(app, ["summary", "-w", str(workspace), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 customers (as of 2024-02-10)" in result.output
    assert "1 guest orders" in result.output
    frame = pd.read_csv(out).set_index("customer_id")
    assert frame.loc["ann@example.com", "frequency"] == 2
    assert frame.loc["ann@example.com", "T"] == 40
    assert frame.loc["bob@example.com", "T"] == 20
    assert frame.loc["ann@example.com", "channel"] == "web"

    parquet, compressed = tmp_path / "s.parquet", tmp_path / "c.parquet"
    args = ["summary", "-w", str(workspace), "--out", str(parquet), "--as-of", "2024-01-31"]
    args += ["--calibration-end", "2024-01-15", "--compressed", str(compressed), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["customers"] == 1 and info["as_of"] == "2024-01-31"
    assert info["files"][str(compressed)] == 1
    assert any("after the as-of date" in note for note in info["notes"])
    frame = pd.read_parquet(parquet)
    assert frame["holdout_orders"].tolist() == [0] and frame["T"].tolist() == [14]
    assert pd.read_parquet(compressed).to_dict("records") == [
        {"frequency": 1, "recency": 10, "T": 14, "count": 1}
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--out", "s.txt"], "must be a .csv or .parquet"),
        (["--out", "s.csv", "--as-of", "yesterday"], "is not a date"),
        (["--out", "s.csv", "--as-of", "2024-01-01", "--calibration-end", "2024-02-01"], "after"),
        (["--out", "no/such/dir/s.csv"], "does not exist"),
    ],
)
def test_summary_errors_exit_2(tmp_path, workspace, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["summary", "-w", str(workspace), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_summary_without_a_workspace_exits_2(tmp_path):
    result = runner.invoke(
        app, ["summary", "-w", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "s.csv")]
    )
    assert result.exit_code == 2 and "no such workspace" in result.output
    assert not (tmp_path / "none.duckdb").exists()
