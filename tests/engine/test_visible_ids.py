"""A workspace whose stored customer ids hold a character that shows nothing or an accent
written as a combining mark (made before the importers read ids as they show): its next ingest
reads them as the files' ids are read now."""

from __future__ import annotations

import json
import shutil

import duckdb
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from valuecast.cli import app
from valuecast.io import _build, read_exports
from valuecast.store import Workspace
from valuecast.store import workspace as workspace_module
from valuecast.store.snapshots import customers_arrow_table, label_moves, load_sort_orders
from valuecast.store.sort_orders import ID_ORDER, orders_table

HEADER = "order_id,customer_id,ordered_at,revenue,phone"
ZWSP, BOM = "\u200b", "\ufeff"
FIRST_QUARTER = [
    f"1,C1{ZWSP},2025-01-05,10,+44 7700 900123",
    "2,C2,2025-01-06,20,",
    "3,Jose\u0301,2025-02-01,7,",
    f"4,{BOM}ann@x.com,2025-02-05,15,",
]
SECOND_QUARTER = [
    "5,C1,2025-04-05,30,",
    "6,José,2025-04-06,9,",
    "7,ann@x.com,2025-04-07,12,",
    "8,,2025-05-01,9,+44 7700 900123",  # C1's phone, no customer id
]
MAP = "revenue=revenue,phone=phone"


def _write(path, rows: list[str], order_ids: bool):
    lines = [HEADER, *rows]
    if not order_ids:
        lines = [line.split(",", 1)[1] for line in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _ingest(path, workspace) -> dict:
    return json.loads(_run("ingest", str(path), "-w", str(workspace), "--map", MAP, "--json"))


def _made_before(tmp_path, order_ids: bool):
    """A workspace of the first quarter as an ingest storing ids as written made it, with a
    snapshot of the quarter."""
    workspace = tmp_path / "w.duckdb"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(_build, "visible_ids", lambda cells: pa.chunked_array([cells]))
        monkeypatch.setattr(workspace_module, "read_visible_ids_again", lambda raw: None,
                            raising=False)  # fmt: skip
        _ingest(_write(tmp_path / "q1.csv", FIRST_QUARTER, order_ids), workspace)
    with duckdb.connect(str(workspace), read_only=True) as con:
        stored = con.sql("SELECT DISTINCT customer_id FROM orders").fetchall()
    assert sorted(row[0] for row in stored) == [f"C1{ZWSP}", "C2", "Jose\u0301", f"{BOM}ann@x.com"]
    _run("analyze", "-w", str(workspace), "--as-of", "2025-03-31", "-o", str(tmp_path / "q1"))
    return workspace


@pytest.mark.parametrize("order_ids", [True, False], ids=["order ids", "no order ids"])
@pytest.mark.parametrize("given", ["whole history", "new orders"])
def test_a_workspace_storing_ids_with_invisible_characters_keeps_one_customer_per_id(
    made_once, tmp_path, order_ids, given
):
    """The quarter's export names the stored customers as they show (``C1``, ``José``,
    ``ann@x.com``): each is still one customer with all their orders, counted once, in the
    orders, phone links and past analyses alike; a file without order ids numbers its orders by
    the customer, so the stored orders take the number the file gives them."""
    workspace = tmp_path / "w.duckdb"
    shutil.copy(made_once(_made_before, order_ids), workspace)
    rows = FIRST_QUARTER + SECOND_QUARTER if given == "whole history" else SECOND_QUARTER
    report = _ingest(_write(tmp_path / "q2.csv", rows, order_ids), workspace)
    assert (report["new_orders"], report["updated_orders"]) == (4, 0), report
    assert (report["workspace_orders"], report["workspace_customers"]) == (8, 4), report
    assert (
        "3 stored orders named their customer by an id holding a character that shows nothing "
        "(a zero-width space, byte-order mark, word joiner or soft hyphen) or an accent written "
        "as a combining mark (C1\\u200b): read as it shows now, as the files' ids are, so that "
        "each is one customer; past analyses name those customers so too (3 rows)"
    ) in report["notes"], report["notes"]
    with Workspace(workspace, read_only=True) as ws:
        orders = ws.orders().execute()
        links = ws.raw.sql("SELECT DISTINCT customer_id FROM phone_links").fetchall()
    counts = orders.groupby("customer_id")["order_number"].count().to_dict()
    assert counts == {"C1": 3, "C2": 1, "José": 2, "ann@x.com": 2}, counts
    assert orders["order_id"].is_unique
    assert [row[0] for row in links] == ["C1"]
    _run("analyze", "-w", str(workspace), "--as-of", "2025-06-30", "-o", str(tmp_path / "q2"))
    with Workspace(workspace) as ws:
        moves = label_moves(ws, 1, 2, "rfm_group", "new", "gone")
    assert moves["n"].sum() == 4, moves
    assert not {"new", "gone"} & {*moves["before"], *moves["after"]}, moves


def test_a_workspace_without_such_ids_is_left_as_it_is(tmp_path):
    """Ids of printable ASCII, or of other scripts written in NFC, read as stored: no note."""
    workspace = tmp_path / "w.duckdb"
    rows = ["1,Zoë,2025-01-05,10,", "2,C2,2025-01-06,20,"]
    _ingest(_write(tmp_path / "q1.csv", rows, True), workspace)
    report = _ingest(_write(tmp_path / "q2.csv", ["3,Zoë,2025-04-05,30,"], True), workspace)
    assert report["workspace_customers"] == 2, report
    assert not any("shows nothing" in note for note in report["notes"]), report["notes"]


def test_a_past_analysis_whose_ids_sort_otherwise_keeps_no_stale_sort_order(tmp_path, monkeypatch):
    """``b`` and a zero-width space before ``a``: read as ``a``, the id sorts before ``b``, so
    the customers page's stored orders (positions in id order) of the snapshot made before are
    dropped, and the dashboard sorts its customers again, where they sorted ``a`` last."""
    rows = [f"{i},{customer},2025-01-0{i},{10 * i}," for i, customer in enumerate(
        [f"{ZWSP}a", "b", "c", "b"], start=1)]  # fmt: skip
    monkeypatch.setattr(_build, "visible_ids", lambda cells: pa.chunked_array([cells]))
    monkeypatch.setattr(workspace_module, "read_visible_ids_again", lambda raw: None,
                        raising=False)  # fmt: skip
    workspace = tmp_path / "w.duckdb"
    _ingest(_write(tmp_path / "q1.csv", rows, True), workspace)
    monkeypatch.undo()
    _run("analyze", "-w", str(workspace), "--as-of", "2025-03-31", "-o", str(tmp_path / "q1"))
    _ingest(_write(tmp_path / "q2.csv", ["5,a,2025-04-05,30,"], True), workspace)
    with Workspace(workspace, read_only=True) as ws:
        customers = customers_arrow_table(ws, 1)
        assert customers.column("customer_id").to_pylist() == ["a", "b", "c"]
        stored = load_sort_orders(ws, 1)
        if stored is not None:
            fresh = orders_table(customers, [name for name in stored if name != ID_ORDER])
            for name in stored:
                assert list(stored[name]) == fresh.column(name).to_pylist(), name


SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Accepts Marketing,Currency,Subtotal,Total,Created at\n"
)


def test_a_shopify_customer_and_their_record_stored_with_such_an_address_stay_one(
    tmp_path, monkeypatch
):
    """A Shopify customer (their e-mail address their id) whose orders and customers record
    were stored with a zero-width space in the address: the next orders export's address
    names the same customer, whose record (the consent it declines) still applies."""
    orders, people = tmp_path / "orders_export.csv", tmp_path / "customers_export.csv"
    orders.write_text(
        SHOPIFY_HEADER + f"#1001,ann{ZWSP}@example.com,paid,no,USD,40.00,40.00,"
        "2024-01-05 10:00:00 -0500\n#1002,cy@example.com,paid,no,USD,30.00,30.00,"
        "2024-01-06 10:00:00 -0500\n",
        encoding="utf-8",
    )
    people.write_text(
        "Customer ID,First Name,Last Name,Email,Accepts Email Marketing\n"
        f"1,Ann,Lee,ann{ZWSP}@example.com,no\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(_build, "visible_ids", lambda cells: pa.chunked_array([cells]))
    monkeypatch.setattr(workspace_module, "read_visible_ids_again", lambda raw: None,
                        raising=False)  # fmt: skip
    workspace = tmp_path / "w.duckdb"
    with Workspace(workspace) as ws:
        ws.ingest(read_exports([str(orders)]))
        ws.ingest(read_exports([str(people)]))
    monkeypatch.undo()
    orders.write_text(
        SHOPIFY_HEADER + "#1003,ann@example.com,paid,no,USD,25.00,25.00,2024-03-05 10:00:00 -0500\n"
    )
    with Workspace(workspace) as ws:
        report = ws.ingest(read_exports([str(orders)])).to_dict()
        stored = ws.orders().execute()
        records = ws.customers().execute()
    assert report["workspace_customers"] == 2, report
    assert set(stored.loc[stored["order_number"] != "#1002", "customer_id"]) == {"ann@example.com"}
    assert records[["customer_id", "accepts_marketing"]].values.tolist() == [
        ["ann@example.com", False]
    ]
