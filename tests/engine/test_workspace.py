"""The workspace: schema, atomic ingest, upsert semantics and the ingest report."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from valuecast.io.schema import ORDERS_SCHEMA, SQL_TYPES, InputError
from valuecast.store import EngineError, Workspace, connect
from valuecast.store.workspace import TABLES, table_names
from valuecast.tables import CONTACT_FIELDS

SHOP = [
    {"id": "#1001", "customer": "ann@example.com", "date": "2024-01-05", "net": 50.0},
    {"id": "#1002", "customer": "bob@example.com", "date": "2024-01-06", "net": 20.0},
    {"id": "#1003", "customer": None, "date": "2024-01-07", "net": 15.5},
    {"id": "#1004", "customer": "ann@example.com", "date": "2024-02-01", "net": 30.0},
]
LINES = [
    {"order_id": "shopify:#1001", "line_number": 1, "sku": "A", "quantity": 1, "unit_price": 30.0},
    {"order_id": "shopify:#1001", "line_number": 2, "sku": "B", "quantity": 2, "unit_price": 10.0},
    {"order_id": "shopify:#1002", "line_number": 1, "sku": "A", "quantity": 1, "unit_price": 20.0},
]


def snapshot(ws: Workspace) -> dict[str, pd.DataFrame]:
    """Every canonical table, sorted, to compare workspace states."""
    out = {}
    for name in TABLES:
        table = ws.orders() if name == "orders" else ws.con.table(name)
        frame = table.to_pandas()
        out[name] = frame.sort_values(list(frame.columns)[:2]).reset_index(drop=True)
    return out


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name], b[name])


def test_new_workspace_has_the_canonical_tables(tmp_path):
    with Workspace(tmp_path / "ws.duckdb") as ws:
        tables = table_names(ws.con)
        assert {"orders", "order_lines", "customers", "ingests"} <= tables
        columns = ws.orders().columns
        assert list(columns) == [*ORDERS_SCHEMA, "ingest_id"]
        assert str(ws.orders().schema()["order_date"]).startswith("date")


def _computed_columns(ws: Workspace) -> list[tuple[str]]:
    return ws.raw.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'orders' AND is_generated = 'ALWAYS'"
    ).fetchall()


def test_a_new_workspace_computes_the_order_id_from_source_and_number(tmp_path, make_result):
    """The id is ``source:number`` (the importers make it so): computed on read, not stored."""
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(SHOP, LINES)])
        assert _computed_columns(ws) == [("order_id",), ("email",)]
        ids = ws.raw.execute("SELECT order_id, source, order_number FROM orders").fetchall()
    assert sorted(ids) == [(f"shopify:#100{i}", "shopify", f"#100{i}") for i in range(1, 5)]


def test_the_orders_store_an_email_only_where_it_is_not_the_customer_id(tmp_path, make_result):
    """Each order reads back the e-mail it was given, through the first ingest (written into
    the empty table) and a second (merged), while only the e-mails unlike the customer id are
    stored: the same one in another case, another address, a guest's."""
    given = [
        {"id": "1", "customer": "ann@example.com", "date": "2024-01-05"},
        {
            "id": "2",
            "customer": "ann@example.com",
            "date": "2024-01-06",
            "email": "ANN@example.com",
        },
        {"id": "3", "customer": "17", "date": "2024-01-07", "email": "ed@example.com"},
        {"id": "4", "customer": "18", "date": "2024-01-07", "email": None},
        {"id": "5", "customer": None, "date": "2024-01-08", "email": "guest@example.com"},
        {"id": "6", "customer": "bob@example.com", "date": "2024-01-08", "email": None},
    ]
    # the second export: the same e-mails shifted by one order, and a new order
    emails = [row.get("email", row["customer"]) for row in given]
    later = [
        dict(row, email=email) for row, email in zip(given, emails[1:] + emails[:1], strict=True)
    ]
    later.append({"id": "7", "customer": "ann@example.com", "date": "2024-02-01"})

    def read(ws: Workspace) -> tuple[dict, dict]:
        rows = ws.raw.execute(
            "SELECT order_number, email, email_is_customer_id, other_email FROM orders"
        ).fetchall()
        return {r[0]: r[1] for r in rows}, {r[0]: (r[2], r[3]) for r in rows}

    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(given, fmt="generic")])
        first, stored = read(ws)
        ws.ingest([make_result(later, fmt="generic")])
        second, _ = read(ws)
        assert list(ws.orders().columns) == [*ORDERS_SCHEMA, "ingest_id"]
    assert first == {row["id"]: email for row, email in zip(given, emails, strict=True)}
    assert second == {row["id"]: row.get("email", row["customer"]) for row in later}
    assert stored == {
        "1": (True, None), "2": (False, "ANN@example.com"), "3": (False, "ed@example.com"),
        "4": (False, None), "5": (False, "guest@example.com"), "6": (False, None),
    }  # fmt: skip


def _text_compression(ws: Workspace) -> dict[str, str]:
    ws.raw.execute("CHECKPOINT")
    return dict(
        ws.raw.execute(
            "SELECT column_name, any_value(compression) FROM pragma_storage_info('orders') "
            "WHERE segment_type = 'VARCHAR' GROUP BY column_name"
        ).fetchall()
    )


@pytest.mark.parametrize("zstd", [True, False], ids=["zstd", "older-duckdb"])
def test_a_new_workspace_stores_the_near_unique_order_texts_with_zstd(
    tmp_path, make_result, monkeypatch, zstd
):
    """Order number, customer id and the e-mails that are not the customer id are written with
    ZSTD (where DuckDB has it), the other texts as DuckDB chooses; readers see the same rows
    either way."""
    import valuecast.store.workspace as workspace_module

    monkeypatch.setattr(workspace_module, "_ZSTD_TEXT", zstd)
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(SHOP, LINES)])
        compression = _text_compression(ws)
        state = snapshot(ws)
    with Workspace(tmp_path / "ws.duckdb") as ws:  # reopened: its tables keep their definitions
        assert _text_compression(ws) == compression
    zstd_columns = {name for name, method in compression.items() if method == "ZSTD"}
    assert zstd_columns == ({"order_number", "customer_id", "other_email"} if zstd else set())
    assert state["orders"]["order_number"].tolist() == ["#1001", "#1002", "#1003", "#1004"]
    assert state["orders"]["email"].tolist()[:2] == ["ann@example.com", "bob@example.com"]


def test_duckdb_release_reads_major_and_minor():
    from valuecast.store.workspace import _duckdb_release

    assert _duckdb_release("2.0.1") == (2, 0)
    assert _duckdb_release("1.2.0.dev12") == (1, 2)
    assert _duckdb_release("1.10.3") == (1, 10)


def test_a_workspace_storing_the_order_id_takes_new_and_changed_orders(tmp_path, make_result):
    """A workspace made when the id and the e-mail were stored keeps storing them, and ingests
    as a new one (an e-mail changed too)."""
    old_path = tmp_path / "old.duckdb"
    with duckdb.connect(str(old_path)) as old:  # its tables as they were created then
        for name, schema in TABLES.items():
            columns = ", ".join(
                f"{col} {'DATE' if col == 'order_date' else SQL_TYPES[dtype]}"
                for col, dtype in schema.items()
            )
            old.execute(f"CREATE TABLE {name} ({columns}, ingest_id BIGINT)")
        old.execute(
            "CREATE TABLE ingests (ingest_id BIGINT, ingested_at TIMESTAMP, files VARCHAR, "
            "report VARCHAR)"
        )
    newer = [
        dict(SHOP[0], net=45.0), dict(SHOP[1], email="b@example.com"), *SHOP[2:],
        dict(SHOP[1], id="#1005"),
    ]  # fmt: skip
    states, reports = [], []
    for path in (old_path, tmp_path / "new.duckdb"):
        with Workspace(path) as ws:
            ws.ingest([make_result(SHOP, LINES)])
            report = ws.ingest([make_result(newer, LINES)]).to_dict()
            states.append(snapshot(ws))
            reports.append({key: value for key, value in report.items() if key != "workspace"})
            computed = _computed_columns(ws)
        assert computed == ([] if path == old_path else [("order_id",), ("email",)])
    assert_same(*states)
    assert reports[0] == reports[1]
    assert (reports[0]["new_orders"], reports[0]["updated_orders"]) == (1, 2)
    assert "shopify:#1005" in states[0]["orders"]["order_id"].tolist()
    emails = dict(zip(states[1]["orders"]["order_id"], states[1]["orders"]["email"], strict=True))
    assert emails["shopify:#1002"] == "b@example.com"


def test_ingest_report_counts_everything(tmp_path, make_result):
    result = make_result(
        SHOP,
        LINES,
        customers=[{"customer_id": "ann@example.com", "accepts_marketing": True}],
        rows_read=9,
        excluded={"cancelled": 2, "test order": 1},
        excluded_revenue={"cancelled": 44.0, "test order": 1.0},
        notes=["older header generation"],
    )
    with Workspace(tmp_path / "ws.duckdb") as ws:
        report = ws.ingest([result])
    assert report.ingest_id == 1
    assert report.rows_read == 9
    assert report.orders == 4 and report.new_orders == 4
    assert report.updated_orders == 0 and report.unchanged_orders == 0
    assert report.line_items == 3
    assert report.customers == 2
    assert report.customer_records == 1
    assert report.guest_orders == 1 and report.guest_revenue == 15.5
    assert report.excluded_orders == {"cancelled": 2, "test order": 1}
    assert report.excluded_revenue == {"cancelled": 44.0, "test order": 1.0}
    assert report.net_revenue == 115.5 and report.gross_revenue == 115.5
    assert report.first_order_date == date(2024, 1, 5)
    assert report.last_order_date == date(2024, 2, 1)
    assert report.currencies == {"USD": 4}
    assert report.workspace_orders == 4 and report.workspace_customers == 2
    assert report.files[0].file == "orders_export.csv"
    assert any("older header generation" in note for note in report.notes)
    # --json: serialisable, dates as ISO strings
    data = json.loads(json.dumps(report.to_dict()))
    assert data["first_order_date"] == "2024-01-05"
    assert data["excluded_orders"]["cancelled"] == 2
    assert json.loads(report.to_json())["orders"] == 4


def test_ingest_report_counts_customers_phone_customers_and_guests_with_an_id(
    tmp_path, make_result
):
    """A customer is an id with an order that is not a guest's; phone customers are such ids
    made from a phone number; the workspace's count takes every id."""
    day = {"date": "2024-03-01"}
    orders = [
        {"id": 1, "customer": "ann@example.com", **day},
        {"id": 2, "customer": "ann@example.com", **day},
        {"id": 3, "customer": "bob@example.com", **day},
        {"id": 4, "customer": "bob@example.com", "is_guest": True, **day},
        {"id": 5, "customer": "phone:+15551230000", "email": None, **day},
        {"id": 6, "customer": None, **day},
    ]
    guests_with_id = [
        {"id": 7, "customer": "carl@example.com", "is_guest": True, **day},
        {"id": 8, "customer": "phone:+15559990000", "email": None, "is_guest": True, **day},
    ]
    counts = []
    for rows in (orders, orders + guests_with_id):
        with Workspace(tmp_path / f"{len(counts)}.duckdb") as ws:
            report = ws.ingest([make_result(rows)])
        counts.append((report.customers, report.phone_customers, report.workspace_customers))
    assert counts == [(3, 1, 3), (3, 1, 5)]


def test_ingest_report_totals_do_not_depend_on_the_order_of_the_rows(tmp_path, make_result):
    """The two routes stage the same orders in different orders: their report's sums agree."""
    orders = [{"id": 1, "customer": "ann", "date": "2024-01-05", "net": 2.0**53}] + [
        {"id": n, "customer": "bob", "date": "2024-01-06", "net": 1.0} for n in range(2, 6)
    ]
    totals = []
    for rows in (orders, orders[::-1]):
        with Workspace(tmp_path / f"{len(totals)}.duckdb") as ws:
            report = ws.ingest([make_result(rows)])
        totals.append((report.net_revenue, report.gross_revenue))
    # 2**53 + 1 is not a double: each 1 added after the large amount was lost, one at a time
    assert totals[0] == totals[1] == (2.0**53 + 4, 2.0**53 + 4)


def test_stored_orders_named_in_another_currency_are_noted(tmp_path, make_result):
    """The same orders exported again in pounds replace the euros without an error (the
    workspace holds one currency after it), and the report says so."""
    orders = [{"id": n, "customer": "ann", "date": f"2024-01-0{n}", "currency": "EUR"}
              for n in (1, 2, 3)]  # fmt: skip
    with Workspace(tmp_path / "ws.duckdb") as ws:
        assert ws.ingest([make_result(orders)]).notes == []
        again = [{**order, "currency": "GBP"} for order in orders]
        report = ws.ingest([make_result(again)])
    assert report.updated_orders == 3 and report.currencies == {"GBP": 3}
    assert any(
        note.startswith("3 stored orders in EUR are in GBP in these files") for note in report.notes
    ), report.notes


def test_orders_exported_again_without_a_currency_keep_the_stored_one(tmp_path, make_result):
    """An older export of plain amounts, ingested over orders a later one named in euros, leaves
    them in euros: unchanged, not updated to no currency."""
    orders = [{"id": n, "customer": "ann", "date": f"2024-01-0{n}", "currency": "EUR"}
              for n in (1, 2, 3)]  # fmt: skip
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(orders)])
        plain = [{**order, "currency": None} for order in orders[:2]]
        plain.append({"id": 4, "customer": "bob", "date": "2024-01-04", "currency": None})
        report = ws.ingest([make_result(plain)])
        stored = ws.orders().to_pandas().set_index("order_number")["currency"]
    assert report.unchanged_orders == 2 and report.updated_orders == 0 and report.new_orders == 1
    assert stored.loc[["1", "2", "3"]].tolist() == ["EUR"] * 3 and pd.isna(stored.loc["4"])


_FILLED = {"channel": "web", "discount_code": "A10", "accepts_marketing": False}
# one other value per column an order stores besides its key (source and number)
_CHANGED = {
    "customer_id": "zed@example.com", "email": "zed@example.com", "is_guest": True,
    "ordered_at": pd.Timestamp("2024-01-05 13:00"), "order_date": pd.Timestamp("2024-01-06"),
    "gross_revenue": 51.0, "discount": 1.0, "tax": 2.0, "shipping": 3.0, "refunded": 4.0,
    "net_revenue": 49.0, "channel": "email", "discount_code": "B20", "accepts_marketing": True,
}  # fmt: skip
# (the currency: an ingest leaving orders in two is refused, one without keeps the stored one;
# see test_stored_orders_named_in_another_currency_are_noted)


@pytest.mark.parametrize(
    ("column", "to"),
    [(column, to) for column in _CHANGED for to in ("value", "missing")
     if (column, to) != ("is_guest", "missing")],  # every order is a guest's or not
)  # fmt: skip
def test_an_order_differing_in_one_column_is_updated(tmp_path, make_result, column, to):
    """Every stored column is compared: an order exported again with one field changed (or
    emptied) is updated and stored as the new export says; the others are unchanged."""
    orders = [{**row, **_FILLED} for row in SHOP]
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(orders)])
        result = make_result(orders)
        result.orders.loc[0, column] = _CHANGED[column] if to == "value" else None
        report = ws.ingest([result])
        stored = ws.orders().to_pandas().set_index("order_number")
    assert (report.updated_orders, report.unchanged_orders, report.new_orders) == (1, 3, 0)
    expected = result.orders.set_index("order_number").loc["#1001", column]
    if to == "missing":
        assert pd.isna(stored.loc["#1001", column])
    else:
        assert stored.loc["#1001", column] == expected


_LINE_CHANGES = {
    "sku": "C", "product_name": "Mug", "quantity": 3.0, "unit_price": 31.0, "line_discount": 1.0,
}  # fmt: skip


@pytest.mark.parametrize(
    "change", [*(f"{column}-{to}" for column in _LINE_CHANGES for to in ("value", "missing")),
               "added", "removed", "renumbered"],
)  # fmt: skip
def test_an_order_whose_lines_differ_is_updated(tmp_path, make_result, change):
    """An order's lines are compared line by line: one line changed in any column (or
    emptied), added, removed or numbered otherwise makes the order updated, its lines
    replaced by the new export's."""
    lines = [{**line, "product_name": "Beans", "line_discount": 0.0} for line in LINES]
    changed = [dict(line) for line in lines]
    if change == "added":
        changed.append({**changed[0], "line_number": 3})
    elif change == "removed":
        changed.pop(1)
    elif change == "renumbered":
        changed[1]["line_number"] = 5
    else:
        column, to = change.rsplit("-", 1)
        changed[1][column] = _LINE_CHANGES[column] if to == "value" else None
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(SHOP, lines)])
        report = ws.ingest([make_result(SHOP, changed)])
        stored = ws.order_lines().to_pandas()
    assert (report.updated_orders, report.unchanged_orders, report.new_orders) == (1, 3, 0)
    mine = stored[stored["order_id"] == "shopify:#1001"].sort_values("line_number")
    assert len(mine) == sum(line["order_id"] == "shopify:#1001" for line in changed)
    if change.endswith("-missing"):
        assert mine[change.rsplit("-", 1)[0]].isna().sum() == 1


def test_orders_whose_lines_are_the_same_are_unchanged(tmp_path, make_result):
    """The same lines, some fields empty, in another row order: nothing is updated."""
    lines = [{**line, "product_name": None} for line in LINES]
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(SHOP, lines)])
        report = ws.ingest([make_result(SHOP, lines[::-1])])
    assert (report.updated_orders, report.unchanged_orders, report.new_orders) == (0, 4, 0)


@pytest.mark.parametrize("parts", [1, 2, 4])
def test_orders_and_customers_compared_in_parts_are_the_same(
    tmp_path, make_result, monkeypatch, parts
):
    """A large table is compared with the staged rows in parts by its key's hash: every staged
    row meets its stored one in the same part, so the new, changed and unchanged rows are the
    same in any number of parts."""
    import valuecast.store.workspace as workspace_module

    monkeypatch.setattr(workspace_module, "_COMPARED_ROWS_PER_PART", 1)
    monkeypatch.setattr(workspace_module, "_COMPARED_PARTS_MAX", parts)
    people = [{"customer_id": f"{n}@x.com", "email": f"{n}@x.com", "first_name": f"P{n}"}
              for n in range(6)]  # fmt: skip
    orders = [{**SHOP[n % 4], "id": f"#{n}", "net": float(n)} for n in range(12)]
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(orders, customers=people)])
        again = [dict(order) for order in orders] + [{**SHOP[0], "id": "#99"}]
        again[3]["net"] = 30.0
        again[7]["net"] = 70.0
        renamed = [dict(person) for person in people] + [{"customer_id": "new@x.com"}]
        renamed[2]["first_name"] = "Q2"
        report = ws.ingest([make_result(again, customers=renamed)])
        left = ws.raw.execute("SELECT count(*) FROM orders").fetchone()[0]
    assert (report.new_orders, report.updated_orders, report.unchanged_orders) == (1, 2, 10)
    assert (report.new_customer_records, report.updated_customer_records) == (1, 1)
    assert left == 13


def test_orders_with_empty_fields_exported_again_are_unchanged(tmp_path, make_result):
    """An empty field equals an empty field: the same export twice updates nothing."""
    orders = [{**row, "channel": None, "discount_code": None} for row in SHOP]
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(orders)])
        report = ws.ingest([make_result(orders)])
    assert (report.updated_orders, report.unchanged_orders, report.new_orders) == (0, 4, 0)


def test_an_ingest_leaves_no_stage_in_the_workspace(tmp_path, make_result):
    """The stage of orders merged into stored ones is a table of the workspace file, dropped
    before the ingest commits: nothing of it is left, in this connection or the next."""
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        ws.ingest([make_result(SHOP, LINES)])
        ws.ingest([make_result(SHOP[:2] + [{**SHOP[3], "net": 31.0}], LINES)])
        left = ws.raw.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    assert sorted(name for (name,) in left) == [
        "customers", "ingest_inputs", "ingests", "later_refunds", "moved_orders",
        "order_contacts", "order_lines", "orders", "phone_cells", "phone_links",
        "withdrawn_orders",
    ]  # fmt: skip
    with duckdb.connect(str(path)) as con:
        assert not con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, '_')"
        ).fetchall()


def test_a_workspace_file_of_an_older_storage_version_is_used_as_it_is(tmp_path, make_result):
    """A file of storage version 1.0 (what DuckDB 1.x releases made) has no ZSTD texts: its
    tables and an ingest's stage are defined without them, and it takes new orders and the
    same ones again (the definition with ZSTD was refused: "not available yet")."""
    path = tmp_path / "old.duckdb"
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{path}' AS old (STORAGE_VERSION 'v1.0.0')")
        # a workspace an older release began: its log of ingests, as valuecast defines it
        con.execute(
            "CREATE TABLE old.ingests (ingest_id BIGINT, ingested_at TIMESTAMP, files VARCHAR, "
            "report VARCHAR)"
        )
    with Workspace(path) as ws:
        ws.ingest([make_result(SHOP, LINES)])
        report = ws.ingest([make_result(SHOP[:3] + [{**SHOP[3], "net": 31.0}], LINES)])
        compression = _text_compression(ws)
    assert (report.updated_orders, report.unchanged_orders) == (1, 3)
    assert "ZSTD" not in compression.values()


def test_new_orders_matching_stored_ones_the_files_do_not_hold_are_noted(tmp_path, make_result):
    """A new order is a twin of a stored order these files do not hold (same customer and
    time, or number, or amount within a day); a stored order they hold is no twin's."""
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(SHOP)])
        again = [
            SHOP[0], SHOP[1],  # held: #1001, #1002
            {**SHOP[3], "id": "X-4", "source": "orders"},  # #1004 (not held), written otherwise
            {**SHOP[0], "id": "X-1", "source": "orders"},  # #1001 again, but #1001 is held
            {"id": "#2001", "customer": "bob@example.com", "date": "2024-03-01", "net": 7.0},
        ]  # fmt: skip
        report = ws.ingest([make_result(again)])
    assert report.new_orders == 3
    assert any(note.startswith("1 new order matches a stored order") for note in report.notes)


ANN = "ann@example.com"


@pytest.mark.parametrize(
    ("new", "twins"),
    [
        # #1001 (ann, 2024-01-05 12:00, 50.00) and #1004 (ann, 2024-02-01, 30.00) are not held
        ([{"id": "T-1", "customer": ANN, "date": "2024-01-05", "net": 99.0}], 1),  # its time
        # its number within a month (another export may date it by its payment)
        ([{"id": "1001", "customer": ANN, "date": "2024-01-30", "net": 99.0}], 1),
        ([{"id": "# 1001", "customer": ANN, "date": "2024-01-30", "net": 99.0}], 1),
        # its number a year later: a new platform's numbering starting again
        ([{"id": "1001", "customer": ANN, "date": "2025-01-10", "net": 99.0}], 0),
        ([{"id": "A-1", "customer": ANN, "date": "2024-01-05", "time": "20:00", "net": 50.0}], 1),
        ([{"id": "A-2", "customer": ANN, "date": "2024-01-06", "time": "11:00", "net": 50.0}], 1),
        ([{"id": "A-3", "customer": ANN, "date": "2024-01-06", "time": "12:00", "net": 50.0}], 0),
        ([{"id": "N-1", "customer": ANN, "date": "2024-01-05", "time": "20:00", "net": 51.0}], 0),
        # another customer's order at the same time, or a held order's twin: none
        ([{"id": "B-1", "customer": "cy@example.com", "date": "2024-01-05", "net": 50.0}], 0),
        ([{"id": "B-2", "customer": "bob@example.com", "date": "2024-01-06", "net": 20.0}], 0),
        # the time of #1001 and the number of #1004: one new order, counted once
        ([{"id": "1004", "customer": ANN, "date": "2024-01-05", "net": 99.0}], 1),
        (
            [
                {"id": "T-1", "customer": ANN, "date": "2024-01-05", "net": 99.0},
                {"id": "1004", "customer": ANN, "date": "2024-02-20", "net": 99.0},
                {"id": "N-1", "customer": ANN, "date": "2024-06-02", "net": 99.0},
            ],
            2,
        ),
    ],
)
def test_each_way_of_being_a_twin_is_counted_once(tmp_path, make_result, new, twins):
    """A new order is a twin of a stored order the files do not hold: the same customer with
    the same time, the same number (without '#') less than 31 days apart, or the same amount
    less than a day apart; a new order twin of several stored ones counts once."""
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(SHOP)])
        report = ws.ingest([make_result([SHOP[1], *new])])
    assert report.new_orders == len(new)
    noted = [note for note in report.notes if "a stored order that these files" in note]
    if twins:
        verb = "order matches" if twins == 1 else "orders match"
        assert noted and noted[0].startswith(f"{twins} new {verb} a stored order"), report.notes
    else:
        assert not noted, noted


@pytest.mark.parametrize(("net", "twins"), [(25.0, 0), (10.0, 1)])
def test_two_orders_of_one_day_in_a_table_of_dates_are_twins_only_by_their_amount(
    tmp_path, make_result, net, twins
):
    """A table of dates gives every order of a day the same midnight: a customer's second order
    that day, ingested with the file's other half, is no twin of the first by its "time"; the
    same amount within a day still makes one (the same order written another way)."""
    first = {"id": "D-1", "customer": ANN, "date": "2024-03-01", "time": "00:00", "net": 10.0}
    second = {"id": "D-2", "customer": ANN, "date": "2024-03-01", "time": "00:00", "net": net}
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result([first], fmt="orders")])
        report = ws.ingest([make_result([second], fmt="orders")])
    assert report.new_orders == 1
    noted = [note for note in report.notes if "a stored order that these files" in note]
    assert len(noted) == twins, report.notes


def test_an_updated_order_is_no_twin(tmp_path, make_result):
    """An order the files update (#1004 moved to #1001's time) is not new: not counted as a
    twin of the stored order it now repeats."""
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(SHOP)])
        moved = {**SHOP[3], "date": "2024-01-05", "net": 50.0}
        report = ws.ingest([make_result([SHOP[1], moved])])
    assert (report.new_orders, report.updated_orders) == (0, 1)
    assert not any("a stored order that these files" in note for note in report.notes)


@pytest.mark.parametrize("holds_1004", [True, False])
def test_twins_are_looked_for_only_when_the_files_leave_a_stored_order_out(
    tmp_path, make_result, holds_1004
):
    """Whether the files leave a stored order out is told by counting: the stored orders left
    as they were are the ones held unchanged and the ones not held; orders updated in their
    row or only in their lines are neither."""
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(SHOP, LINES)])
        lines = [dict(line) for line in LINES]
        lines[0]["quantity"] = 5  # #1001: its lines only
        again = [SHOP[0], {**SHOP[1], "net": 21.0}, SHOP[2]] + ([SHOP[3]] if holds_1004 else [])
        twin = {**SHOP[3], "id": "X-4", "source": "orders"}  # #1004 written otherwise
        report = ws.ingest([make_result([*again, twin], lines)])
    assert (report.new_orders, report.updated_orders) == (1, 2)
    noted = any("new order matches a stored order" in note for note in report.notes)
    assert noted is not holds_1004


def test_stored_values_round_trip(tmp_path, make_result):
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        ws.ingest([make_result(SHOP, LINES)])
    with Workspace(path, read_only=True) as ws:
        orders = ws.orders().order_by("order_id").to_pandas()
        lines = ws.order_lines().to_pandas()
    assert orders["order_id"].tolist() == [f"shopify:#100{i}" for i in range(1, 5)]
    assert orders.loc[2, "customer_id"] is None or pd.isna(orders.loc[2, "customer_id"])
    assert bool(orders.loc[2, "is_guest"]) is True
    assert orders["order_date"].tolist()[0] == pd.Timestamp("2024-01-05")
    assert orders["ordered_at"].tolist()[0] == pd.Timestamp("2024-01-05 12:00:00")
    assert orders["net_revenue"].sum() == pytest.approx(115.5)
    assert sorted(lines["sku"]) == ["A", "A", "B"]


def test_reingesting_the_same_export_changes_nothing(tmp_path, make_result):
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(SHOP, LINES, customers=[{"customer_id": "ann@example.com"}])])
        before = snapshot(ws)
        report = ws.ingest(
            [make_result(SHOP, LINES, customers=[{"customer_id": "ann@example.com"}])]
        )
        after = snapshot(ws)
        log = ws.ingests()
    assert report.new_orders == 0 and report.updated_orders == 0
    assert report.unchanged_orders == 4
    assert report.new_customer_records == 0 and report.updated_customer_records == 0
    assert_same(before, after)
    assert log["ingest_id"].tolist() == [1, 2]  # the log records both ingests
    assert json.loads(log["report"][1])["unchanged_orders"] == 4


def test_newer_export_adds_new_and_updates_changed_orders(tmp_path, make_result):
    newer = [dict(row) for row in SHOP]
    newer[1].update(refunded=5.0, net=15.0)  # #1002 partially refunded since
    newer.append({"id": "#1005", "customer": "cy@example.com", "date": "2024-02-03", "net": 9.0})
    newer_lines = [dict(row) for row in LINES]
    newer_lines[1]["quantity"] = 3  # #1001's second line changed (order row unchanged)
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(SHOP, LINES)])
        report = ws.ingest([make_result(newer, newer_lines)])
        orders = ws.orders().to_pandas().set_index("order_id")
        lines = ws.order_lines().to_pandas()
    assert report.new_orders == 1
    assert report.updated_orders == 2  # #1002 (refund) and #1001 (line items)
    assert report.unchanged_orders == 2
    assert len(orders) == 5
    assert orders.loc["shopify:#1002", "net_revenue"] == 15.0
    assert orders.loc["shopify:#1002", "refunded"] == 5.0
    assert orders.loc["shopify:#1002", "ingest_id"] == 2
    assert orders.loc["shopify:#1003", "ingest_id"] == 1  # untouched
    assert orders.loc["shopify:#1001", "ingest_id"] == 2
    assert len(lines) == 3
    assert lines.set_index(["order_id", "line_number"]).loc[("shopify:#1001", 2), "quantity"] == 3


def test_an_order_number_given_another_customer_and_day_is_noted(tmp_path, make_result):
    """A second shop's export numbered from #1001 too replaces the first shop's orders of the
    same numbers: an order whose customer and day both change is another order, and said so;
    a customer changed alone (a phone-only order joining its e-mail customer) is an update."""
    other_shop = [
        {"id": "#1001", "customer": "zed@example.com", "date": "2024-03-05", "net": 60.0},
        {"id": "#1002", "customer": "yan@example.com", "date": "2024-03-06", "net": 10.0},
    ]
    relinked = [{**other_shop[1], "customer": "bea@example.com"}]
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(SHOP)])
        report = ws.ingest([make_result(other_shop)])
        again = ws.ingest([make_result(relinked)])
    assert report.updated_orders == 2
    assert any(
        note.startswith("2 stored orders were replaced by orders of the same number with another "
                        "customer and date (e.g. order #1001: 'ann@example.com' on 2024-01-05 "
                        "stored, 'zed@example.com' on 2024-03-05 in these files)")
        for note in report.notes
    ), report.notes  # fmt: skip
    assert again.updated_orders == 1
    assert not any("same number" in note for note in again.notes)


def test_an_export_without_line_items_keeps_the_stored_ones(tmp_path, make_result):
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result(SHOP, LINES)])
        report = ws.ingest([make_result(SHOP)])
        assert report.unchanged_orders == 4
        assert ws.order_lines().count().execute() == 3


def test_same_order_in_two_files_of_one_ingest_last_file_wins(tmp_path, make_result):
    first = make_result(SHOP[:2], file="jan.csv")
    second = make_result(
        [{"id": "#1002", "customer": "bob@example.com", "date": "2024-01-06", "net": 18.0}],
        file="feb.csv",
    )
    with Workspace(tmp_path / "ws.duckdb") as ws:
        report = ws.ingest([first, second])
        orders = ws.orders().to_pandas().set_index("order_id")
    assert report.orders == 2 and report.new_orders == 2
    assert [f.file for f in report.files] == ["jan.csv", "feb.csv"]
    assert orders.loc["shopify:#1002", "net_revenue"] == 18.0


def test_customer_records_are_upserted_by_customer_id(tmp_path, make_result):
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest([make_result([], customers=[{"customer_id": "ann@example.com", "tags": "vip"}])])
        report = ws.ingest(
            [
                make_result(
                    [],
                    customers=[
                        {"customer_id": "ann@example.com", "tags": "vip, wholesale"},
                        {"customer_id": "bob@example.com", "accepts_marketing": False},
                        {"customer_id": None, "email": None},
                    ],
                )
            ]
        )
        customers = ws.customers().to_pandas().set_index("customer_id")
    assert report.new_customer_records == 1 and report.updated_customer_records == 1
    assert customers.loc["ann@example.com", "tags"] == "vip, wholesale"
    assert len(customers) == 2


def test_mixed_currencies_fail_and_write_nothing(tmp_path, make_result):
    euro = [dict(row, id=f"E{i}", currency="EUR") for i, row in enumerate(SHOP)]
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        ws.ingest([make_result(SHOP, LINES)])
        before = snapshot(ws)
        with pytest.raises(InputError) as caught:
            ws.ingest([make_result(euro, file="eu.csv"), make_result(SHOP, file="us.csv")])
        message = str(caught.value)
        assert "USD (4 orders)" in message and "EUR (4 orders)" in message
        assert "--fx" in message and "\n" not in message
        assert_same(before, snapshot(ws))
        assert len(ws.ingests()) == 1
    # and the workspace stays usable
    with Workspace(path) as ws:
        assert ws.ingest([make_result(SHOP)]).unchanged_orders == 4
        with pytest.raises(InputError, match=r"EUR \(1 order\);"):
            ws.ingest([make_result(euro[:1], file="one.csv")])


def test_failure_in_the_middle_rolls_everything_back(tmp_path, make_result, monkeypatch):
    import valuecast.store.workspace as workspace_module

    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        ws.ingest([make_result(SHOP[:1])])
        before = snapshot(ws)

        def broken_report(*args, **kwargs):
            raise RuntimeError("disk full")

        monkeypatch.setattr(workspace_module, "_build_report", broken_report)
        with pytest.raises(RuntimeError, match="disk full"):
            ws.ingest([make_result(SHOP, LINES)])  # orders were already merged when it fails
        assert_same(before, snapshot(ws))
        assert len(ws.ingests()) == 1


def test_read_only_workspace_must_exist(tmp_path):
    with pytest.raises(EngineError, match="no such workspace"):
        Workspace(tmp_path / "missing.duckdb", read_only=True)


def test_connect_engine_specs(tmp_path):
    con = connect("duckdb")
    assert con.name == "duckdb"
    assert table_names(con) == set()
    path = tmp_path / "shop.duckdb"
    with Workspace(path):
        pass
    for spec in (str(path), f"duckdb://{path}"):
        other = connect(spec)
        assert "orders" in table_names(other)
        other.disconnect()
    # connect("spark"): tests/scale/test_spark.py
    with pytest.raises(EngineError, match="unknown engine"):
        connect("no-such-thing")


class _CommitFailsAfterEndingTheTransaction:
    """A DuckDB connection whose COMMIT fails the way a full disk makes it: the transaction is
    over (rolled back by the engine) and an I/O error is raised."""

    def __init__(self, real) -> None:
        self._real = real

    def commit(self):
        import duckdb

        self._real.rollback()
        raise duckdb.IOException("could not write the checkpoint: No space left on device")

    def __getattr__(self, name):
        return getattr(self._real, name)


def test_a_failed_commit_is_reported_not_the_refused_rollback(tmp_path):
    import duckdb

    ws = Workspace(tmp_path / "w.duckdb")
    real = ws.con.con
    ws.con.con = _CommitFailsAfterEndingTheTransaction(real)
    try:
        with pytest.raises(duckdb.IOException, match="No space left on device"):
            with ws.transaction():
                real.execute("CREATE TABLE t AS SELECT 1 AS x")
    finally:
        ws.con.con = real
    assert not real.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 't'"
    ).fetchone()[0]
    ws.close()


def _with_a_big_table(tmp_path) -> Path:
    """A workspace file holding ``big``: 4,000,000 rows of two numbers (~64 MB of pages)."""
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.raw.execute(
            "CREATE TABLE big AS SELECT hash(range) AS a, random() AS b FROM range(4000000)"
        )
    return path


def _cached_pages(raw) -> int:
    query = "SELECT memory_usage_bytes FROM duckdb_memory() WHERE tag = 'BASE_TABLE'"
    return raw.execute(query).fetchone()[0]


def test_release_cached_pages_drops_the_file_cache_and_keeps_the_limit(tmp_path):
    with Workspace(_with_a_big_table(tmp_path)) as ws:
        raw = ws.raw
        limit = raw.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        raw.execute("CREATE TEMP TABLE kept AS SELECT range AS c FROM range(1000)")
        assert raw.execute("SELECT sum(a), sum(b) FROM big").fetchone()[0] > 0
        assert _cached_pages(raw) > 48 * 2**20  # the scan's pages stay cached
        ws.release_cached_pages()
        assert _cached_pages(raw) <= 16 * 2**20
        assert raw.execute("SELECT current_setting('memory_limit')").fetchone()[0] == limit
        # what DuckDB holds besides the cache stays readable
        assert raw.execute("SELECT count(*) FROM kept").fetchone()[0] == 1000
        assert raw.execute("SELECT count(*) FROM big").fetchone()[0] == 4_000_000


def _anonymous_rss() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("RssAnon:"))
    return int(line.split()[1]) * 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
def test_release_freed_memory_gives_back_what_a_sort_freed_inside_a_transaction(tmp_path):
    with Workspace(tmp_path / "w.duckdb") as ws, ws.transaction():
        raw = ws.raw
        limit = raw.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        raw.execute("CREATE TEMP TABLE kept AS SELECT range AS c FROM range(1000)")
        # a sort of ~150 MB of rows, whose memory DuckDB's allocator keeps once it is done
        sorted_rows = raw.execute(
            "SELECT count(*) FROM (SELECT hash(range) AS a, range::VARCHAR || 'x' AS b, "
            "random() AS c FROM range(3000000) ORDER BY a OFFSET 1)"
        ).fetchone()[0]
        assert sorted_rows == 2_999_999
        before = _anonymous_rss()
        ws.release_freed_memory()
        assert before - _anonymous_rss() > 32 * 2**20
        # the limit is as it was, and the transaction goes on
        assert raw.execute("SELECT current_setting('memory_limit')").fetchone()[0] == limit
        assert raw.execute("SELECT count(*) FROM kept").fetchone()[0] == 1000


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
def test_held_rows_are_given_back_when_released_inside_a_transaction(tmp_path):
    """The order history the cohorts' counts and the summary share is held until the summary
    is stored, inside the refresh's transaction, where DuckDB keeps an unregistered Arrow table
    or a dropped temporary table until the commit."""
    with Workspace(tmp_path / "w.duckdb") as ws, ws.transaction():
        ws.raw.execute(
            "CREATE TEMP TABLE source AS SELECT range AS n, "
            "'customer-' || range::VARCHAR || '@example.com' AS id FROM range(2000000)"
        )
        held, release = ws.held_rows(ws.con.table("source"))
        # read as a table, as often as asked
        for _ in range(2):
            assert held.count().to_pyarrow().as_py() == 2_000_000
        assert held.filter(held.n < 10).id.max().to_pyarrow().as_py() == "customer-9@example.com"
        before = _anonymous_rss()
        release()
        from valuecast.store.memory import release_unused_memory

        release_unused_memory()
        assert before - _anonymous_rss() > 32 * 2**20
        release()  # once, however often it is called
        with pytest.raises(Exception, match="does not exist"):
            held.count().to_pyarrow()


def test_release_cached_pages_inside_a_transaction_keeps_its_rows(tmp_path):
    with Workspace(_with_a_big_table(tmp_path)) as ws:
        raw = ws.raw
        with ws.transaction():
            # uncommitted rows, full row groups of them written out, and a temporary table
            raw.execute("INSERT INTO big SELECT hash(range), -1.0 FROM range(1000000)")
            raw.execute("CREATE TEMP TABLE kept AS SELECT range AS c FROM range(1000)")
            assert raw.execute("SELECT sum(a), sum(b) FROM big").fetchone()[0] > 0
            assert _cached_pages(raw) > 48 * 2**20
            ws.release_cached_pages()
            assert _cached_pages(raw) <= 16 * 2**20
            assert raw.execute("SELECT count(*) FROM big WHERE b = -1.0").fetchone()[0] == 1_000_000
            assert raw.execute("SELECT count(*) FROM kept").fetchone()[0] == 1000
        assert raw.execute("SELECT count(*) FROM big").fetchone()[0] == 5_000_000


def _insert_orders(ws: Workspace, columns_and_values: str) -> None:
    """``INSERT INTO orders {columns_and_values}`` of the orders' columns as an ingest stages
    them, written as the table stores them."""
    from valuecast.store.rawsql import stored_columns
    from valuecast.store.workspace import _stored_select

    ws.raw.execute("CREATE TEMP TABLE _given AS SELECT * FROM orders LIMIT 0")
    ws.raw.execute(f"INSERT INTO _given {columns_and_values}")
    stored = stored_columns(ws.raw, "orders")
    ws.raw.execute(
        f"INSERT INTO orders ({', '.join(stored)}) SELECT {_stored_select(stored)} FROM _given"
    )


def test_contacts_take_the_customers_export_first_then_the_latest_order_email(tmp_path):
    # a shop keyed by customer number stores its e-mails with the orders only
    with Workspace(tmp_path / "w.duckdb") as ws:
        _insert_orders(
            ws,
            "(source, order_number, customer_id, email, ordered_at, order_date, "
            "accepts_marketing) "
            "VALUES ('orders', '1', '17', 'old@example.com', '2024-01-01', '2024-01-01', true), "
            "('orders', '2', '17', ' New@Example.com ', '2024-03-01', '2024-03-01', false), "
            "('orders', '3', '17', NULL, '2024-04-01', '2024-04-01', NULL), "
            "('orders', '4', '18', 'kept@example.com', '2024-01-01', '2024-01-01', false), "
            "('orders', '5', 'ann@example.com', 'ANN@example.com', '2024-01-01', '2024-01-01', "
            "NULL), "
            "('orders', '6', '19', '', '2024-01-01', '2024-01-01', NULL), "
            "('orders', '7', NULL, 'guest@example.com', '2024-01-01', '2024-01-01', true), "
            "('orders', '8', '22', '22@example.com', '2024-01-01', '2024-01-01', true)",
        )
        ws.raw.execute(
            "INSERT INTO customers (customer_id, email, first_name, city, accepts_marketing) "
            "VALUES ('18', 'shop@example.com', 'Ed', 'Oslo', true), ('20', NULL, 'Flo', NULL, "
            "NULL), ('21', 'only@example.com', NULL, NULL, false)"
        )
        contacts = ws.contacts().set_index("customer_id")
    assert list(contacts.columns) == [*CONTACT_FIELDS, "accepts_marketing"]
    # the latest order's e-mail, trimmed; the customers export's over the orders'; an e-mail
    # that is the id itself, an empty one and a guest's add no row (a stated consent does)
    assert sorted(contacts.index) == ["17", "18", "20", "21", "22"]
    # consent: the customers export's, else the latest order's that states one
    assert contacts["accepts_marketing"].dropna().to_dict() == {
        "17": False, "18": True, "21": False, "22": True
    }  # fmt: skip
    assert contacts["email"].dropna().to_dict() == {
        "17": "New@Example.com", "18": "shop@example.com", "21": "only@example.com",
        "22": "22@example.com",
    }  # fmt: skip
    assert contacts.loc["18", "first_name"] == "Ed" and contacts.loc["18", "city"] == "Oslo"
    assert pd.isna(contacts.loc["17", "first_name"])


def test_contacts_keep_a_registered_customers_latest_address_over_an_earlier_one(tmp_path):
    # a WooCommerce or Magento account is known by the e-mail of its latest order: an earlier
    # order's other address is no contact of it, or the audience files would upload the old one
    from valuecast.outputs.audiences import audience_table

    with Workspace(tmp_path / "w.duckdb") as ws:
        _insert_orders(
            ws,
            "(source, order_number, customer_id, email, ordered_at, order_date, "
            "accepts_marketing) "
            "VALUES ('woocommerce', '1', 'new@example.com', 'Old@Example.com', '2024-01-01', "
            "'2024-01-01', true), "
            "('woocommerce', '2', 'new@example.com', ' NEW@example.com ', '2024-05-01', "
            "'2024-05-01', NULL)",
        )
        contacts = ws.contacts().set_index("customer_id")
    assert pd.isna(contacts.loc["new@example.com", "email"])
    assert bool(contacts.loc["new@example.com", "accepts_marketing"])
    customers = pd.DataFrame({"customer_id": ["new@example.com"]})
    table = audience_table(customers, contacts.reset_index())
    assert list(table["email"]) == ["new@example.com"]


def _limit_shown(ws: Workspace) -> str:
    return ws.raw.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_the_default_memory_limit_grows_with_the_orders(tmp_path, monkeypatch, make_result):
    """An ingest raises the default limit to what its orders call for, a workspace holding them
    opens with it, and the memory helpers keep it; a limit the user set is kept."""
    import valuecast.store.workspace as workspace_module

    monkeypatch.delenv("VALUECAST_MEMORY_LIMIT", raising=False)
    # 3 GiB from four orders on (96 bytes an order reach it from 33.6M orders)
    monkeypatch.setattr(
        workspace_module, "workspace_memory_bytes",
        lambda orders: 3 * 2**30 if orders >= 4 else 10**9,
    )  # fmt: skip
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        assert _limit_shown(ws) == "953.6 MiB"
        ws.ingest([make_result(SHOP[:3])])
        assert _limit_shown(ws) == "953.6 MiB"
        ws.ingest([make_result(SHOP)])
        assert _limit_shown(ws) == "3.0 GiB"
        ws.release_cached_pages()
        ws.release_freed_memory()
        assert _limit_shown(ws) == "3.0 GiB"
        # fewer orders (some withdrawn) do not lower it
        monkeypatch.setattr(workspace_module, "workspace_memory_bytes", lambda orders: 10**9)
        ws.fit_memory_to_orders(0)
        assert _limit_shown(ws) == "3.0 GiB"
        monkeypatch.setattr(
            workspace_module, "workspace_memory_bytes",
            lambda orders: 3 * 2**30 if orders >= 4 else 10**9,
        )  # fmt: skip
        # after the analysis, what reads its results gets the default back
        ws.lower_memory_to_default()
        assert _limit_shown(ws) == "953.6 MiB"
        ws.release_freed_memory()
        assert _limit_shown(ws) == "953.6 MiB"
        ws.fit_memory_to_orders(0)  # and the orders can raise it again
        assert _limit_shown(ws) == "3.0 GiB"
    with Workspace(path, read_only=True) as ws:
        assert _limit_shown(ws) == "3.0 GiB"
    with Workspace(path, memory_limit="500MB") as ws:
        ws.ingest([make_result(SHOP)])
        assert _limit_shown(ws) == "476.8 MiB"
        ws.lower_memory_to_default()
        assert _limit_shown(ws) == "476.8 MiB"
    monkeypatch.setenv("VALUECAST_MEMORY_LIMIT", "2GB")
    with Workspace(path) as ws:
        assert _limit_shown(ws) == "1.8 GiB"
