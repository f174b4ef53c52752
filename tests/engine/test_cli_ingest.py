"""`valuecast ingest` and `valuecast summary` end to end through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import valuecast.io
from valuecast.cli import app
from valuecast.io.schema import InputError
from valuecast.store import Workspace

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
    """A stand-in ``read_exports``: ``good*.csv`` -> ORDERS, ``bad*.csv`` -> InputError."""
    calls = []

    def read_exports(paths, format=None, column_map=None, fx=None, *, defer=False):
        calls.append(
            {"paths": [str(p) for p in paths], "format": format, "map": column_map, "fx": fx,
             "defer": defer}
        )  # fmt: skip
        results = []
        for path in paths:
            if Path(path).name.startswith("bad"):
                raise InputError(str(path), "not a number: 'abc'", row=7, column="Total")
            results.append(make_result(ORDERS, file=str(path), excluded={"cancelled": 1}))
        return results

    monkeypatch.setattr(valuecast.io, "read_exports", read_exports)
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
    assert fake_reader[-1]["paths"] == [str(source)]


def test_map_and_fx_are_passed_to_the_reader(tmp_path, fake_reader):
    source, rates = write(tmp_path / "good.csv"), write(tmp_path / "rates.csv")
    args = ["ingest", str(source), "-w", str(tmp_path / "ws.duckdb"), "--fx", str(rates)]
    args += ["--map", "customer_id=Email, ordered_at=Created,revenue=Total"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert fake_reader[0]["map"] == "customer_id=Email, ordered_at=Created,revenue=Total"
    assert str(fake_reader[0]["fx"]) == str(rates)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--fx", "missing-rates.csv"], "no such file (--fx)"),
        (["--format", "excel"], "Invalid value"),
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

    def read_exports(paths, format=None, column_map=None, fx=None, *, defer=False):
        return [
            make_result(euro if Path(p).name == "eu.csv" else ORDERS, file=str(p)) for p in paths
        ]

    monkeypatch.setattr(valuecast.io, "read_exports", read_exports)
    workspace = tmp_path / "ws.duckdb"
    us, eu = write(tmp_path / "us.csv"), write(tmp_path / "eu.csv")
    result = runner.invoke(app, ["ingest", str(us), str(eu), "-w", str(workspace)])
    assert result.exit_code == 2
    assert "more than one currency" in result.output and "--fx" in result.output
    assert not workspace.exists()
    # one at a time: --fx converts only the files it comes with, so the advice names the
    # stored orders' currency as the base to convert to
    assert runner.invoke(app, ["ingest", str(us), "-w", str(workspace)]).exit_code == 0
    result = runner.invoke(app, ["ingest", str(eu), "-w", str(workspace)])
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert "the stored orders are in USD: give --fx RATES.csv with USD as its base" in flat


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
    assert "1 guest order (" in result.output
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


# ------------------------------------------------------------------------------------------------
# end to end with the real importers
# ------------------------------------------------------------------------------------------------
MAP = "customer_id=Client,ordered_at=When,revenue=Paid,order_id=Ref"
EXPORT = """Client,When,Paid,Ref
Ann@Example.com ,2024-01-01 10:00,10.00,A1
ann@example.com,2024-01-01 18:00,5.00,A2
ann@example.com,2024-01-11 09:00,20.00,A3
bob@example.com,2024-01-21 12:00,7.50,A4
,2024-01-25 12:00,100.00,A5
"""


def test_generic_export_ingest_update_and_summary(tmp_path):
    workspace, out = tmp_path / "ws.duckdb", tmp_path / "summary.csv"
    first = write(tmp_path / "orders_jan.csv", EXPORT)
    result = runner.invoke(
        app, ["ingest", str(first), "-w", str(workspace), "--map", MAP, "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["orders"] == 5 and report["new_orders"] == 5
    assert report["customers"] == 2 and report["guest_orders"] == 1
    assert report["guest_revenue"] == 100.0 and report["net_revenue"] == 142.5

    # the same export again changes nothing
    result = runner.invoke(
        app, ["ingest", str(first), "-w", str(workspace), "--map", MAP, "--json"]
    )
    assert json.loads(result.output)["unchanged_orders"] == 5

    # a newer export: A4 partially refunded (7.50 -> 4.00), a new order A6
    newer = EXPORT.replace("7.50,A4", "4.00,A4") + "bob@example.com,2024-02-02 08:00,12.00,A6\n"
    second = write(tmp_path / "orders_feb.csv", newer)
    result = runner.invoke(
        app, ["ingest", str(second), "-w", str(workspace), "--map", MAP, "--json"]
    )
    report = json.loads(result.output)
    assert (report["new_orders"], report["updated_orders"], report["unchanged_orders"]) == (1, 1, 4)

    result = runner.invoke(app, ["summary", "-w", str(workspace), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out).set_index("customer_id")
    assert frame.index.tolist() == ["ann@example.com", "bob@example.com"]  # messy email merged
    ann, bob = frame.loc["ann@example.com"], frame.loc["bob@example.com"]
    assert (ann["historic_number_of_orders"], ann["frequency"], ann["recency"]) == (3, 1, 10)
    assert ann["T"] == 32 and ann["historic_clv"] == 35.0 and ann["avg_repeat_order_value"] == 20.0
    assert (bob["frequency"], bob["recency"], bob["T"]) == (1, 12, 12)
    assert bob["historic_clv"] == 16.0


def test_cdnow_log_through_the_command_line(tmp_path):
    """CDNOW_sample -> ingest (format detected) -> summary reproduces the published summary."""
    from valuecast.datasets import data_path, load_cdnow_summary

    source = tmp_path / "CDNOW_sample.txt"
    with data_path("CDNOW_sample.txt").open() as handle:
        source.write_text(handle.read())
    workspace, out = tmp_path / "ws.duckdb", tmp_path / "cdnow.parquet"
    result = runner.invoke(app, ["ingest", str(source), "-w", str(workspace), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["files"][0]["format"] == "cdnow"
    assert report["rows_read"] == 6919 and report["customers"] == 2357
    args = ["summary", "-w", str(workspace), "--calibration-end", "1997-09-30", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    got = pd.read_parquet(out)
    got.index = got["customer_id"].astype(int)
    got = got.sort_index()
    published = load_cdnow_summary(with_spend=False).set_index("customer_id").sort_index()
    assert (got.index == published.index).all()
    assert (got["frequency"] == published["frequency"]).all()
    assert ((got["recency"] / 7).round(2) == published["recency"]).all()
    assert ((got["T"] / 7).round(2) == published["T"]).all()


def test_a_real_bad_file_names_file_row_column_and_writes_nothing(tmp_path):
    workspace = tmp_path / "ws.duckdb"
    good = write(tmp_path / "good.csv", EXPORT)
    bad = write(tmp_path / "bad.csv", EXPORT.replace("20.00,A3", "abc,A3"))
    assert (
        runner.invoke(app, ["ingest", str(good), "-w", str(workspace), "--map", MAP]).exit_code == 0
    )
    with Workspace(workspace, read_only=True) as ws:
        before = ws.orders().to_pandas()
    result = runner.invoke(app, ["ingest", str(good), str(bad), "-w", str(workspace), "--map", MAP])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "bad.csv, row 4, column 'Paid'" in lines[0]
    with Workspace(workspace, read_only=True) as ws:
        pd.testing.assert_frame_equal(ws.orders().to_pandas(), before)
        assert len(ws.ingests()) == 1


def test_real_multi_currency_export_needs_rates(tmp_path):
    text = "Client,When,Paid,Ref,Cur\na@x.com,2024-01-01,10,A1,USD\nb@x.com,2024-01-02,5,A2,EUR\n"
    source = write(tmp_path / "shop.csv", text)
    workspace = tmp_path / "ws.duckdb"
    result = runner.invoke(
        app, ["ingest", str(source), "-w", str(workspace), "--map", MAP + ",currency=Cur"]
    )
    assert result.exit_code == 2
    assert "EUR (1 order)" in result.output and "USD (1 order)" in result.output
    assert not workspace.exists()


def test_error_messages_are_printed_as_written(tmp_path):
    """A file name with Rich markup in it must not be eaten or crash the error line."""
    name = tmp_path / "orders [/]x[bold].csv"
    result = runner.invoke(app, ["ingest", str(name), "-w", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 2
    assert "[/]x[bold].csv: no such file" in result.output


@pytest.mark.parametrize("command", ["ingest", "analyze"])
def test_notes_naming_the_files_cells_are_printed_as_written(tmp_path, command):
    """A note quoting the file (the order numbers of refunds written on their own) prints
    them as written: ``[/b]`` is an order number, not Rich markup to crash on."""
    rows = ["1,a@x.com,2024-01-05,10", "[/b],a@x.com,2024-01-06,-5", "2,b@x.com,2024-01-07,3",
            "3,a@x.com,2024-02-05,12", "4,b@x.com,2024-03-07,8"]  # fmt: skip
    source = tmp_path / "orders.csv"
    source.write_text("order_id,customer,date,amount\n" + "\n".join(rows) + "\n")
    args = [command, str(source), "-w", str(tmp_path / "w.duckdb")]
    if command == "analyze":
        args += ["--out", str(tmp_path / "out")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "negative amount ([/b]) is left out" in " ".join(result.output.split())


def test_the_report_names_the_currency_of_every_amount(tmp_path, fake_reader):
    source = write(tmp_path / "good.csv")
    result = runner.invoke(app, ["ingest", str(source), "--workspace", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for label in ("guest orders", "gross revenue", "discounts", "refunded", "net revenue",
                  "tax / shipping"):  # fmt: skip
        line = next(line for line in lines if line.strip().startswith(label))
        assert line.rstrip().endswith("USD") or "USD revenue" in line, line
    # the totals hold tax and shipping, their discounts taken off: said, for the reconciliation
    for label in ("gross revenue (order totals)", "discounts (off the totals)",
                  "net revenue (no tax, shipping)"):  # fmt: skip
        assert any(line.strip().startswith(label) for line in lines), label


def test_a_map_split_by_the_shell_is_named_as_part_of_the_map(tmp_path, fake_reader):
    """``--map customer_id=customer, ordered_at=date`` unquoted gives ``ordered_at=date,`` as a
    file: the error says it reads as part of the map and how to write the map."""
    good = tmp_path / "good.csv"
    good.write_text("x\n")
    args = ["ingest", str(good), "--map", "customer_id=customer,", "ordered_at=date,"]
    result = runner.invoke(app, [*args, "revenue=net", "-w", str(tmp_path / "w")])
    assert result.exit_code == 2 and "ordered_at=date,: no such file" in result.output
    assert "part of a --map" in result.output and "without spaces after its commas" in result.output
    assert fake_reader == []


def test_the_workspace_row_counts_one_order_and_one_customer_in_the_singular(tmp_path):
    """The ingest table's workspace row reads "1 order, 1 customer", not "1 orders, 1 customers"."""
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,order_date,revenue\nA,2026-01-05,10\n")
    result = CliRunner().invoke(app, ["ingest", str(orders), "-w", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 0, result.output
    assert "1 order, 1 customer" in result.output, result.output
