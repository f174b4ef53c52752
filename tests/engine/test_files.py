"""`summarize_files`: the summary of export files without a workspace, by either route."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from retail_log import MAP as RETAIL_MAP
from retail_log import retail_log
from valuecast.analysis.summary import summarize
from valuecast.cli import app
from valuecast.io import orders_duckdb, read_exports
from valuecast.jobs.files import summarize_files
from valuecast.store import Workspace

MAP = "customer_id=customer,ordered_at=date,revenue=amount"


def _shop_csv(path, *, seed=0, n=600, attributes=False, order_ids=False, repeats=False):
    rng = np.random.default_rng(seed)
    customers = np.array([f"C{i}@Shop.com" for i in range(60)] + [""])
    hours = rng.choice(24 * 500, n, replace=repeats)
    frame = pd.DataFrame(
        {
            "customer": rng.choice(customers, n),
            "date": (pd.Timestamp("2023-01-01") + pd.to_timedelta(hours, "h")).strftime(
                "%Y-%m-%d %H:%M"
            ),
            "amount": np.round(rng.gamma(2.0, 25.0, n) - (rng.random(n) < 0.03) * 90, 2).astype(
                str
            ),
        }
    )
    if repeats:
        frame["date"] = frame["date"].str[:10]
    if attributes:
        frame["channel"] = rng.choice(["google", "meta", ""], n)
        frame["coupon"] = rng.choice(["SPRING", ""], n)
        frame["marketing"] = rng.choice(["yes", "no", ""], n)
    if order_ids:
        frame.insert(0, "order_id", np.arange(5000, 5000 + n).astype(str))
    frame.loc[[3, 40], :] = ""
    frame.to_csv(path, index=False)
    return path


def _mapping(attributes=False, order_ids=False):
    mapping = MAP
    if attributes:
        mapping += ",channel=channel,discount_code=coupon,accepts_marketing=marketing"
    if order_ids:
        mapping += ",order_id=order_id"
    return mapping


def _workspace_summary(path, mapping, **dates):
    """What `valuecast ingest` + `valuecast summary` give."""
    with Workspace(":memory:") as ws:
        ws.ingest(read_exports([path], column_map=mapping))
        result = summarize(ws.orders(), customers=ws.customers(), **dates)
        return result.table.to_pandas(), result.notes


def _assert_general_route(path, mapping):
    """``summarize_files`` reads ``path`` with the importers and gives ingest + summary's rows."""
    result = summarize_files([path], column_map=mapping)
    try:
        assert result.route == "workspace"
        got = result.table.to_pandas()
    finally:
        result.close()
    pd.testing.assert_frame_equal(got, _workspace_summary(path, mapping)[0])


@pytest.mark.parametrize(
    "kind",
    [{}, {"attributes": True}, {"order_ids": True}, {"attributes": True, "order_ids": True}],
)
@pytest.mark.parametrize("dates", [{}, {"as_of": "2024-03-01", "calibration_end": "2023-12-31"}])
def test_direct_route_equals_ingest_then_summary(tmp_path, monkeypatch, kind, dates):
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)
    path = _shop_csv(tmp_path / "orders.csv", **kind)
    mapping = _mapping(**kind)
    result = summarize_files([path], column_map=mapping, **dates)
    try:
        assert result.route == "direct"
        got = result.table.to_pandas()
        notes = result.summary.notes
    finally:
        result.close()
    expected, expected_notes = _workspace_summary(path, mapping, **dates)
    pd.testing.assert_frame_equal(got, expected)
    assert notes == expected_notes
    assert result.excluded_rows["empty row"] == 2
    assert result.excluded_rows["negative amount"] > 0
    if kind.get("attributes"):
        assert got["channel"].notna().any() and got["accepts_marketing"].notna().any()


@pytest.mark.parametrize("order_ids", [True, False])
def test_direct_route_of_a_line_level_log_equals_ingest_then_summary(
    tmp_path, monkeypatch, order_ids
):
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)
    path = tmp_path / "retail.csv"
    frame = retail_log(n_invoices=500, n_customers=90, seed=21)
    frame.loc[[7, 300], :] = ""
    frame.to_csv(path, index=False)
    mapping = RETAIL_MAP if order_ids else RETAIL_MAP.replace(",order_id=InvoiceNo", "")
    result = summarize_files([path], column_map=mapping, as_of="2024-01-10")
    try:
        assert result.route == "direct"
        got = result.table.to_pandas()
        excluded, orders = result.excluded_rows, result.orders
    finally:
        result.close()
    expected, _ = _workspace_summary(path, mapping, as_of="2024-01-10")
    pd.testing.assert_frame_equal(got, expected)
    imported = read_exports([path], column_map=mapping)[0]
    assert excluded == dict(imported.excluded) and orders == len(imported.orders)
    assert excluded["cancellation"] > 0 and excluded["empty row"] == 2


def test_line_level_orders_whose_rows_disagree_take_the_general_route(tmp_path, monkeypatch):
    """The importer takes an order's customer from its first row naming one: only row order
    can tell (a line without the invoice's customer)."""
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)
    path = tmp_path / "retail.csv"
    frame = retail_log(n_invoices=100, seed=2)
    first = frame.index[frame["InvoiceNo"].duplicated(keep=False)][0]
    frame.loc[first, "CustomerID"] = ""
    frame.to_csv(path, index=False)
    _assert_general_route(path, RETAIL_MAP)


@pytest.mark.parametrize(
    ("case", "edit"),
    [
        (
            "messy cell",
            lambda f: f.assign(customer=f["customer"].where(f.index != 5, " 'c1@shop.com")),
        ),
        (
            "two currencies",
            lambda f: f.assign(
                currency=np.where(f["date"] == "", "", np.where(f.index % 2, "EUR", "USD"))
            ),
        ),
        (
            "multi-line orders",  # a customer's two orders under one number: two days
            lambda f: f.assign(
                order_id=np.where(
                    f["date"] == "",
                    "",
                    f["customer"] + "#" + (f.groupby("customer").cumcount() // 2).astype(str),
                )
            ),
        ),
    ],
)
def test_general_route_when_the_file_needs_it(tmp_path, monkeypatch, case, edit):
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)
    path = _shop_csv(tmp_path / "orders.csv")
    frame = edit(pd.read_csv(path, dtype=str, keep_default_na=False))
    frame.to_csv(path, index=False)
    mapping = MAP + (",currency=currency" if "currency" in frame else "")
    mapping += ",order_id=order_id" if "order_id" in frame else ""
    if case == "two currencies":
        with pytest.raises(ValueError, match="in 2 currencies.*--fx"):
            summarize_files([path], column_map=mapping)
        return
    _assert_general_route(path, mapping)


def test_repeated_times_with_attributes_take_the_general_route(tmp_path, monkeypatch):
    """Same customer, same time: only the order numbers tell which order came first."""
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)
    path = _shop_csv(tmp_path / "orders.csv", attributes=True, repeats=True)
    mapping = _mapping(attributes=True)
    _assert_general_route(path, mapping)


def test_cli_summary_of_a_file(tmp_path, monkeypatch):
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)
    path = _shop_csv(tmp_path / "orders.csv")
    out = tmp_path / "summary.csv"
    runner = CliRunner()
    result = runner.invoke(app, ["summary", str(path), "--map", MAP, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["route"] == "direct"
    assert info["excluded_rows"]["empty row"] == 2
    written = pd.read_csv(out)
    assert info["customers"] == len(written) == 60
    assert not (tmp_path / "valuecast.duckdb").exists()  # nothing stored


def test_cli_summary_of_a_bad_file_is_one_line(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer,date,amount\na@x.com,2023-01-01,12\nb@x.com,2023-13-01,3\n")
    result = CliRunner().invoke(
        app, ["summary", str(path), "--map", MAP, "--out", str(tmp_path / "s.csv")]
    )
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "row 3" in lines[0] and "date" in lines[0], result.output
    assert not (tmp_path / "s.csv").exists()


def test_a_parquet_file_is_loaded_by_duckdb_and_equals_the_importer(tmp_path, monkeypatch):
    """A lone orders Parquet file (the direct route reads only CSV) is loaded into the summary's
    workspace by DuckDB, not by the importer (whose frames cost 600 B a row), with its result."""
    from valuecast.io import generic

    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)
    frame = pd.read_csv(_shop_csv(tmp_path / "o.csv"), dtype=str, keep_default_na=False)
    frame = frame.replace("", None).assign(amount=lambda f: f["amount"].astype(float))
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path, index=False)
    expected, _ = _workspace_summary(path, MAP)
    importer_excluded = read_exports([path], column_map=MAP)[0].excluded

    def importer(*args, **kwargs):
        raise AssertionError("the importer read the file")

    monkeypatch.setattr(generic, "read_orders", importer)
    result = summarize_files([path], column_map=MAP)
    try:
        got = result.table.to_pandas()
    finally:
        result.close()
    pd.testing.assert_frame_equal(got, expected)
    assert result.excluded_rows == {str(k): int(v) for k, v in sorted(importer_excluded.items())}
    assert result.excluded_rows["empty row"] == 2


@pytest.mark.parametrize("route", ["direct", "workspace"])
def test_summary_of_a_file_says_what_reading_it_noticed(tmp_path, monkeypatch, route):
    """An order-status column the rules leave unread is said, as `analyze` says it: counted
    cancelled orders are no surprise to the merchant, by either route."""
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0 if route == "direct" else 10**12)
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer,date,amount,status\na@x.com,2024-01-05,10,completed\n"
        "a@x.com,2024-02-05,12,cancelled\n"
    )
    found = summarize_files([path], column_map=MAP)
    try:
        assert found.route == route
        assert any(
            note.startswith("orders.csv: column 'status' is not read") for note in found.notes
        ), found.notes
    finally:
        found.close()
    result = CliRunner().invoke(
        app, ["summary", str(path), "--map", MAP, "--out", str(tmp_path / "s.csv")]
    )
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "note: orders.csv: column 'status' is not read" in flat
    assert "1 customer (as of 2024-02-05)" in flat and "2 rows read, 2 orders counted" in flat


@pytest.mark.parametrize("route", ["direct", "workspace"])
def test_a_file_whose_every_order_is_excluded_says_so(tmp_path, monkeypatch, route):
    """Not "no orders with an order date": every order had one, and each was excluded."""
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0 if route == "direct" else 10**12)
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer,date,amount,status\na@x.com,2024-01-05,10,cancelled\n"
        "b@x.com,2024-02-05,12,refunded\nc@x.com,2024-02-07,12,cancelled\n"
    )
    mapping = f"{MAP},status=status"
    said = "nothing to summarise: all 3 orders read were excluded (2 cancelled, 1 refunded)"
    result = CliRunner().invoke(
        app, ["summary", str(path), "--map", mapping, "--out", str(tmp_path / "s.csv")]
    )
    assert result.exit_code == 2 and said in " ".join(result.output.split()), result.output
    workspace = tmp_path / "w.duckdb"
    result = CliRunner().invoke(
        app, ["analyze", str(path), "--map", mapping, "-w", str(workspace), "-o", str(tmp_path)]
    )
    assert result.exit_code == 2 and said in " ".join(result.output.split()), result.output


@pytest.mark.parametrize("route", ["direct", "workspace"])
def test_another_summary_error_is_not_said_to_be_every_order_excluded(tmp_path, monkeypatch, route):
    from valuecast.analysis.summary import SummaryError

    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0 if route == "direct" else 10**12)
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer,date,amount,status\na@x.com,2024-01-05,10,cancelled\n"
        "b@x.com,2024-02-05,12,refunded\n"
    )
    # every order excluded, and an as-of date that is no date: the date is what to fix
    with pytest.raises(SummaryError) as raised:
        summarize_files([path], column_map=f"{MAP},status=status", as_of="2024-13-01")
    assert "not a date" in str(raised.value) and "excluded" not in str(raised.value)


def test_an_empty_file_still_says_it_has_no_orders():
    from valuecast.analysis.summary import NoOrdersError, every_order_excluded

    error = NoOrdersError("no orders with an order date: nothing to summarise")
    assert every_order_excluded(error, {}) is error
    assert every_order_excluded(error, {"empty row": 4}) is error
    one = every_order_excluded(error, {"voided": 1})
    assert str(one) == "nothing to summarise: the 1 order read was excluded (1 voided)"


def test_direct_route_gives_an_order_without_an_id_to_the_customer_of_its_email(
    tmp_path, monkeypatch
):
    """The summary of a file whose guest checkout carries a registered customer's e-mail counts
    the order as that customer's on the direct route, as ingest + summary do."""
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)
    path = tmp_path / "shop.csv"
    path.write_text(
        "Customer ID,Email,Order Date,Total\n1001,Jane.Doe@Example.com,2024-01-05,50.00\n"
        "1001,jane.doe@example.com,2024-03-05,40.00\n,JANE.DOE@example.com,2024-05-05,30.00\n"
        "1002,bob@example.com,2024-02-01,20.00\n"
    )
    result = summarize_files([path], format="orders")
    try:
        assert result.route == "direct"
        got = result.table.to_pandas()
    finally:
        result.close()
    pd.testing.assert_frame_equal(got, _workspace_summary(path, None)[0])
    jane = got.set_index("customer_id").loc["1001"]
    assert (jane["historic_number_of_orders"], jane["historic_clv"]) == (3, 120.0)


@pytest.mark.parametrize("route", ["direct", "workspace"])
def test_summary_of_a_file_gives_the_importers_notes_by_either_route(tmp_path, monkeypatch, route):
    """An order linked to a customer by its e-mail and a return written as an order of its own
    are said by `summary FILE` as `analyze` says them, whichever route reads the file."""
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0 if route == "direct" else 10**12)
    path = tmp_path / "orders.csv"
    path.write_text(
        "order,customer,email,date,amount\n"
        "A1,1001,jane@x.com,2024-01-05,50\nA2,,JANE@x.com,2024-02-05,30\n"
        "A3,1002,bob@x.com,2024-02-07,20\nR1,1002,bob@x.com,2024-02-09,-20\n"
    )
    mapping = "order_id=order,customer_id=customer,email=email,ordered_at=date,revenue=amount"
    found = summarize_files([path], column_map=mapping)
    try:
        assert found.route == route
        flat = " ".join(found.notes)
    finally:
        found.close()
    assert "orders.csv: 1 order without a customer id belongs to the customer" in flat, flat
    assert "negative" in flat and "R1" in flat, flat


@pytest.mark.parametrize("order_ids", [True, False])
def test_ids_written_as_floats_are_the_customers_of_whole_ids(tmp_path, order_ids):
    """pandas writes an integer id column with gaps as ``1.0``: the customer ``1`` of another
    export; real decimals stay as written (the engine's route: test_ingest_routes)."""
    header = "order_id,customer_id,ordered_at,revenue\n"
    files = {
        "floats.csv": "1,1.0,2025-01-05,10\n2,10.0,2025-01-06,20\n3,,2025-01-07,5\n",
        "whole.csv": "4,1,2025-02-05,10\n5,10,2025-02-06,20\n",
        "decimals.csv": "6,2.0,2025-03-05,10\n7,2.5,2025-03-06,20\n",
    }
    for name, rows in files.items():
        if not order_ids:
            rows = "".join(line.split(",", 1)[1] + "\n" for line in rows.splitlines())
        (tmp_path / name).write_text((header if order_ids else header[9:]) + rows)
    workspace = tmp_path / "w.duckdb"
    given = ["ingest", *(str(tmp_path / name) for name in files), "-w", str(workspace), "--json"]
    result = CliRunner().invoke(app, [*given, "--map", "revenue=revenue"])
    assert result.exit_code == 0, result.output
    notes = json.loads(result.output)["notes"]
    assert [n for n in notes if "'.0'" in n] == [
        "floats.csv: customer_id: ids written as whole numbers with '.0' (1.0, as pandas writes"
        " an id column with gaps) are read as the whole number (1)"
    ]
    with Workspace(workspace, read_only=True) as ws:
        ids = sorted(ws.orders().execute()["customer_id"].dropna().unique())
    assert ids == ["1", "10", "2.0", "2.5"]
