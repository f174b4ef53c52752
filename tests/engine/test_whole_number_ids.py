"""A workspace whose stored customer ids are whole numbers written with ``.0`` (made before the
importers read ``1.0`` as ``1``): its next ingest reads them as the files' ids are read now."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from retail_log import MAP as RETAIL
from retail_log import retail_log
from valuecast.cli import app
from valuecast.io import _build, orders_duckdb
from valuecast.store import Workspace
from valuecast.store import workspace as workspace_module
from valuecast.store.snapshots import label_moves, load_customers, load_tables

HEADER = "order_id,customer_id,ordered_at,revenue,phone"
FIRST_QUARTER = [
    "1,1.0,2025-01-05,10,+44 7700 900123",
    "2,10.0,2025-01-06,20,",
    "3,,2025-01-07,5,",
    "4,1.0,2025-02-05,15,+44 7700 900123",
    "5,7.0,2025-03-01,12,",
]
SECOND_QUARTER = [
    "6,1.0,2025-04-05,30,",
    "7,10.0,2025-04-06,25,",
    "8,,2025-05-01,9,+44 7700 900123",  # customer 1's phone, no customer id
]
MAP = "revenue=revenue,phone=phone"


def _write(path, rows: list[str], order_ids: bool):
    lines = [HEADER, *rows]
    if not order_ids:
        lines = [line.split(",", 1)[1] for line in lines]
    path.write_text("\n".join(lines) + "\n")
    return path


def _ingest(path, workspace, mapping: str = MAP) -> dict:
    result = CliRunner().invoke(
        app, ["ingest", str(path), "-w", str(workspace), "--map", mapping, "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _analyze(workspace, as_of: str, out) -> None:
    result = CliRunner().invoke(
        app, ["analyze", "-w", str(workspace), "--as-of", as_of, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output


def _store_ids_as_written(monkeypatch) -> None:
    """Ingest as valuecast did before it read ``1.0`` as ``1`` (until ``monkeypatch.undo()``)."""
    monkeypatch.setattr(_build, "whole_number_ids", lambda cells, ids=None: None)
    monkeypatch.setattr(orders_duckdb, "_whole_number_ids", lambda *args: False)
    monkeypatch.setattr(workspace_module, "read_whole_number_ids_again", lambda raw: None,
                        raising=False)  # fmt: skip
    monkeypatch.setattr(workspace_module, "read_whole_number_order_ids_again", lambda raw: None,
                        raising=False)  # fmt: skip


def _made_before(tmp_path, order_ids: bool):
    """A workspace of the first quarter as an ingest storing ids as written made it, with a
    snapshot of the quarter."""
    workspace = tmp_path / "w.duckdb"
    with pytest.MonkeyPatch.context() as monkeypatch:
        _store_ids_as_written(monkeypatch)
        _ingest(_write(tmp_path / "q1.csv", FIRST_QUARTER, order_ids), workspace)
    with duckdb.connect(str(workspace), read_only=True) as con:
        stored = con.sql("SELECT DISTINCT customer_id FROM orders WHERE customer_id IS NOT NULL")
        assert sorted(row[0] for row in stored.fetchall()) == ["1.0", "10.0", "7.0"]
    _analyze(workspace, "2025-03-31", tmp_path / "q1")
    return workspace


@pytest.mark.parametrize("order_ids", [True, False], ids=["order ids", "no order ids"])
@pytest.mark.parametrize("given", ["whole history", "new orders"])
def test_a_workspace_storing_ids_with_a_point_zero_keeps_one_customer_per_id(
    made_once, tmp_path, order_ids, given
):
    """The quarter's export (the whole history again, or only its new orders) names the stored
    customers ``1``, ``10``: each is still one customer with all their orders, counted once,
    in the orders, phone links and past analyses alike; a file without order ids numbers its
    orders by the customer, so the stored orders take the number the file gives them."""
    workspace = tmp_path / "w.duckdb"
    shutil.copy(made_once(_made_before, order_ids), workspace)
    rows = FIRST_QUARTER + SECOND_QUARTER if given == "whole history" else SECOND_QUARTER
    report = _ingest(_write(tmp_path / "q2.csv", rows, order_ids), workspace)
    assert (report["new_orders"], report["updated_orders"]) == (3, 0), report
    assert report["workspace_orders"] == 8, report
    assert (
        "4 stored orders named their customer by a whole number written with '.0' (1.0): "
        "read as the whole number (1) now, as the files' ids are, so that each is one "
        "customer; past analyses name those customers so too (3 rows)"
    ) in report["notes"], "\n".join(report["notes"])
    with Workspace(workspace, read_only=True) as ws:
        orders = ws.orders().execute()
        counts = orders.groupby("customer_id")["order_number"].count().to_dict()
        links = ws.raw.sql("SELECT DISTINCT customer_id FROM phone_links").fetchall()
        cells = ws.raw.sql("SELECT DISTINCT customer_id FROM phone_cells").fetchall()
    assert counts == {"1": 4, "10": 2, "7": 1}, counts
    assert orders["customer_id"].isna().sum() == 1
    assert orders["order_id"].is_unique
    assert [row[0] for row in links] == ["1"] and set(cells) <= {("1",)}
    _analyze(workspace, "2025-06-30", tmp_path / "q2")
    with Workspace(workspace) as ws:
        moves = label_moves(ws, 1, 2, "rfm_group", "new", "gone")
        before = ws.raw.sql("SELECT customer_id FROM snapshot_customers WHERE snapshot_id = 1")
        assert sorted(row[0] for row in before.fetchall()) == ["1", "10", "7"]
    assert moves["n"].sum() == 3, moves
    assert not {"new", "gone"} & {*moves["before"], *moves["after"]}, moves


def test_a_line_log_read_again_names_past_analyses_product_tables_by_the_whole_ids(
    tmp_path, monkeypatch
):
    """The "Online Retail" log as pandas writes it (``CustomerID`` 12346.0): a snapshot made
    before names its customers and their next products and reminders by the whole ids once the
    log is ingested again, so the dashboard's customer page of that snapshot finds them."""
    log = retail_log(n_invoices=600, n_customers=60)
    log["CustomerID"] = log["CustomerID"].where(log["CustomerID"] == "", log["CustomerID"] + ".0")
    path = tmp_path / "retail.csv"
    log.to_csv(path, index=False)
    workspace = tmp_path / "w.duckdb"
    _store_ids_as_written(monkeypatch)
    result = CliRunner().invoke(app, ["ingest", str(path), "-w", str(workspace), "--map", RETAIL])
    assert result.exit_code == 0, result.output
    monkeypatch.undo()
    _analyze(workspace, "2023-12-31", tmp_path / "before")
    result = CliRunner().invoke(
        app, ["ingest", str(path), "-w", str(workspace), "--map", RETAIL, "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["new_orders"], report["updated_orders"]) == (0, 0), report
    with Workspace(workspace) as ws:
        customers = set(load_customers(ws, 1)["customer_id"])
        tables = load_tables(ws, 1)
    assert customers and not any(customer.endswith(".0") for customer in customers)
    per_customer = [tables[name] for name in ("next_products.csv", "reminders.csv")]
    assert all(len(table) for table in per_customer)
    for table in per_customer:
        assert set(table["customer_id"]) <= customers, table["customer_id"]


def test_an_order_stored_under_both_ids_is_kept_once_with_its_lines(tmp_path, monkeypatch):
    """A till's file of whole ids and a web shop's of ids with ``.0``, without order ids, were
    stored as two customers, each order of 1 on 2025-01-05 twice (``1|...`` and ``1.0|...``):
    read as the files number them now they are one order, kept once with its lines."""
    header = "customer_id,ordered_at,sku,quantity,unit_price\n"
    points = tmp_path / "web.csv"
    points.write_text(
        header + "1.0,2025-01-05,A,1,10\n1.0,2025-03-05,B,2,5\n10.0,2025-01-06,A,1,10\n"
    )
    till = tmp_path / "till.csv"
    till.write_text(header + "1,2025-01-05,A,1,10\n2,2025-01-08,C,1,4\n")
    lines = "sku=sku,quantity=quantity,unit_price=unit_price"
    workspace = tmp_path / "w.duckdb"

    def ingest(path) -> dict:
        given = ["ingest", str(path), "-w", str(workspace), "--map", lines, "--json"]
        result = CliRunner().invoke(app, given)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    _store_ids_as_written(monkeypatch)
    ingest(points)
    ingest(till)
    monkeypatch.undo()
    report = ingest(points)
    assert (report["new_orders"], report["updated_orders"]) == (0, 0), report
    assert report["workspace_orders"] == 4, report
    assert any("1 more without an order id is then the same order" in n for n in report["notes"]), (
        report["notes"]
    )
    with Workspace(workspace, read_only=True) as ws:
        orders = ws.raw.sql("SELECT order_number, customer_id FROM orders ORDER BY 1").fetchall()
        stored = ws.raw.sql("SELECT order_id, sku FROM order_lines ORDER BY 1").fetchall()
    assert orders == [
        ("10|2025-01-06", "10"), ("1|2025-01-05", "1"), ("1|2025-03-05", "1"), ("2|2025-01-08", "2")
    ]  # fmt: skip
    assert stored == [
        ("orders:10|2025-01-06", "A"), ("orders:1|2025-01-05", "A"), ("orders:1|2025-03-05", "B"),
        ("orders:2|2025-01-08", "C"),
    ]  # fmt: skip


ORDERS = ["order_id,customer_id,date,revenue", "1,123,2024-03-01,50", "2,456,2024-03-02,60",
          "3,123,2024-04-01,40"]  # fmt: skip
SAVED_AGAIN = ["order_id,customer_id,date,revenue", "1.0,123.0,2024-03-01,50",
               "2.0,456.0,2024-03-02,60", "3.0,123.0,2024-04-01,40", "7.0,,2024-05-02,60"]  # fmt: skip
ORDER_MAP = "customer_id=customer_id,ordered_at=date,revenue=revenue,order_id=order_id"


def _ingest_rows(tmp_path, name: str, rows: list[str], workspace) -> dict:
    (tmp_path / name).write_text("\n".join(rows) + "\n")
    return _ingest(tmp_path / name, workspace, ORDER_MAP)


@pytest.mark.parametrize("route", ["engine", "importer"])
def test_an_export_saved_again_with_point_zero_order_ids_names_the_same_orders(
    tmp_path, monkeypatch, route
):
    """A merchant's export saved again by a spreadsheet or pandas writes its ids ``1.0``: its
    orders are the stored ``1``, ``2``, ``3`` (unchanged, counted once) and one new order, on
    the engine's route and the importer's alike, and a note says how the ids were read."""
    if route == "engine":
        monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)
    else:  # the engine's route declines the file: the importer reads it
        monkeypatch.setattr(orders_duckdb, "usable", lambda *args, **kwargs: False)
    workspace = tmp_path / "w.duckdb"
    _ingest_rows(tmp_path, "export.csv", ORDERS, workspace)
    second = _ingest_rows(tmp_path, "saved_again.csv", SAVED_AGAIN, workspace)
    assert (second["new_orders"], second["updated_orders"]) == (1, 0), second
    assert second["workspace_orders"] == 4, second
    assert (
        "saved_again.csv: order_id: ids written as whole numbers with '.0' (1.0, as pandas "
        "writes an id column with gaps) are read as the whole number (1)"
    ) in second["notes"], second["notes"]
    with Workspace(workspace, read_only=True) as ws:
        orders = ws.orders().execute().sort_values("order_number")
    assert orders["order_number"].tolist() == ["1", "2", "3", "7"]
    assert orders["net_revenue"].sum() == 210


@pytest.mark.parametrize("stored", ["saved again", "both"])
def test_a_workspace_storing_point_zero_order_ids_names_its_orders_as_files_do_now(
    tmp_path, stored
):
    """A workspace made before order ids were read without ``.0`` stores the export saved
    again as ``1.0``, ``2.0`` ... (or, given both ways, each order twice): the next ingest of
    the export as first downloaded finds its orders stored, each once, and a note says so."""
    workspace = tmp_path / "w.duckdb"
    with pytest.MonkeyPatch.context() as monkeypatch:
        _store_ids_as_written(monkeypatch)
        if stored == "both":
            _ingest_rows(tmp_path, "export.csv", ORDERS, workspace)
        before = _ingest_rows(tmp_path, "saved_again.csv", SAVED_AGAIN, workspace)
    assert before["workspace_orders"] == (7 if stored == "both" else 4), before
    report = _ingest_rows(tmp_path, "export_again.csv", ORDERS, workspace)
    assert (report["new_orders"], report["updated_orders"]) == (0, 0), report
    assert report["workspace_orders"] == 4, report
    merged = "; 3 of them were the same orders as ones stored under the whole number, kept once"
    assert (
        "4 stored orders had their id as a whole number written with '.0' (1.0): read as the "
        "whole number (1) now, as the files' order ids are, so that the same orders given again "
        "are not counted twice" + (merged if stored == "both" else "")
    ) in report["notes"], "\n".join(report["notes"])
    with Workspace(workspace, read_only=True) as ws:
        orders = ws.orders().execute().sort_values("order_number")
    assert orders["order_number"].tolist() == ["1", "2", "3", "7"]
    assert orders["order_id"].tolist() == ["orders:1", "orders:2", "orders:3", "orders:7"]
    assert orders["net_revenue"].sum() == 210


def test_a_guests_placeholder_leaves_the_other_ids_read_without_their_point_zero(tmp_path):
    # pandas writes a missing customer as `nan` where the column was made text: that cell is a
    # guest's, and customer 12346, written 12346.0 and 12346, is still one customer
    path = tmp_path / "log.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,revenue\n"
        "1,12346.0,2011-03-13,10\n2,12346,2011-03-14,5\n3,nan,2011-03-15,5\n4,Guest,2011-03-15,7\n"
    )
    report = _ingest(path, tmp_path / "w.duckdb", "revenue=revenue")
    assert report["customers"] == 1 and report["guest_orders"] == 2
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        ids = con.sql("SELECT customer_id, count(*) FROM orders GROUP BY ALL ORDER BY 1").fetchall()
    assert ids == [("12346", 2), (None, 2)]
