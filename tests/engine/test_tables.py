"""Tables read straight from a database URL (``URL#table``) go through the same importers."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from valuecast.cli import app
from valuecast.store import EngineError, Workspace
from valuecast.store.tables import read_table, redact, split_table_url


def _sales_order_rows() -> pd.DataFrame:
    base = {
        "state": "complete", "status": "complete", "customer_is_guest": 0,
        "base_currency_code": "USD", "base_subtotal": 100.0, "base_discount_amount": 0.0,
        "base_tax_amount": 8.25, "base_shipping_amount": 10.0, "base_grand_total": 118.25,
    }  # fmt: skip
    rows = [
        {**base, "entity_id": 1, "increment_id": "000000001", "customer_email": "Pat@Example.com",
         "created_at": "2024-03-05 04:30:00"},
        {**base, "entity_id": 2, "increment_id": "000000002", "customer_email": "pat@example.com",
         "created_at": "2024-04-05 10:00:00", "coupon_code": "SPRING10"},
        {**base, "entity_id": 3, "increment_id": "000000003", "customer_email": "sam@example.com",
         "created_at": "2024-04-06 10:00:00", "state": "canceled", "status": "canceled"},
    ]  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def shop_db(tmp_path):
    path = tmp_path / "magento.duckdb"
    con = duckdb.connect(str(path))
    frame = _sales_order_rows()  # noqa: F841 - read by DuckDB
    con.execute("CREATE TABLE sales_order AS SELECT * FROM frame")
    con.close()
    return path


def test_ingest_a_magento_table_by_url(tmp_path, shop_db):
    workspace = tmp_path / "w.duckdb"
    result = CliRunner().invoke(
        app, ["ingest", f"duckdb://{shop_db}#sales_order", "-w", str(workspace), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["files"][0]["format"] == "magento"
    assert report["orders"] == 2 and report["excluded_orders"] == {"cancelled": 1}
    assert report["customers"] == 1


def test_summary_of_a_table_url_is_the_workspaces_summary(tmp_path, shop_db):
    runner = CliRunner()
    url = f"duckdb://{shop_db}#sales_order"
    direct = runner.invoke(app, ["summary", url, "--out", str(tmp_path / "direct.csv")])
    assert direct.exit_code == 0, direct.output
    ingested = runner.invoke(app, ["ingest", url, "-w", str(tmp_path / "w.duckdb")])
    assert ingested.exit_code == 0, ingested.output
    stored = runner.invoke(
        app, ["summary", "-w", str(tmp_path / "w.duckdb"), "--out", str(tmp_path / "ws.csv")]
    )
    assert stored.exit_code == 0, stored.output
    assert (tmp_path / "direct.csv").read_text() == (tmp_path / "ws.csv").read_text()


def test_a_table_url_reads_like_its_csv_dump(tmp_path, shop_db):
    from valuecast.io import read_exports

    name, frame = read_table(f"duckdb://{shop_db}#sales_order")
    csv = tmp_path / "sales_order.csv"
    _sales_order_rows().to_csv(csv, index=False)
    from_db = read_exports([(name, frame)])[0]
    from_csv = read_exports([csv])[0]
    pd.testing.assert_frame_equal(from_db.orders, from_csv.orders)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("postgres://u:secret@localhost:1/shop", "name the table after '#'"),
        ("postgres://u:secret@localhost:1/shop#x;drop", "is not a table name"),
    ],
)
def test_bad_table_urls(source, message):
    with pytest.raises(EngineError, match=message) as caught:
        split_table_url(source)
    assert "secret" not in str(caught.value)


def test_missing_table_or_database_is_one_line(tmp_path, shop_db):
    runner = CliRunner()
    for source in (f"duckdb://{shop_db}#nope", f"duckdb://{tmp_path / 'none.duckdb'}#sales_order"):
        result = runner.invoke(app, ["ingest", source, "-w", str(tmp_path / "w.duckdb")])
        assert result.exit_code == 2, result.output
        assert len(result.output.strip().splitlines()) == 1
    assert "none.duckdb: no such database file" in result.output  # a source, no workspace
    assert not (tmp_path / "none.duckdb").exists()


def test_a_table_named_after_its_database_files_path_alone_is_told_the_url(tmp_path, shop_db):
    result = CliRunner().invoke(
        app, ["ingest", f"{shop_db}#sales_order", "-w", str(tmp_path / "w.duckdb")]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip() == (
        f"error: {shop_db}#sales_order: no such file: for the table sales_order of the database "
        f"file {shop_db}, give duckdb://{shop_db}#sales_order"
    )
    # a CSV file's path with a '#' after it is no database's
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,ordered_at,revenue\n")
    result = CliRunner().invoke(app, ["ingest", f"{csv}#x", "-w", str(tmp_path / "w.duckdb")])
    assert result.output.strip() == f"error: {csv}#x: no such file"


@pytest.mark.parametrize("command", ["ingest", "analyze", "summary"])
def test_a_database_file_given_as_an_export_is_told_the_url(tmp_path, shop_db, command):
    """A DuckDB file (a database, or a workspace) given where an export goes: one line naming
    both ways to read it, not the text reader's "mixes two encodings"."""
    where = ["--out", str(tmp_path / "out.csv")] if command == "summary" else [
        "-w", str(tmp_path / "w.duckdb")]  # fmt: skip
    result = CliRunner().invoke(app, [command, str(shop_db), *where])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert " ".join(result.output.split()) == (
        f"error: {shop_db}: a DuckDB database, not an export: give duckdb://{shop_db}#TABLE for "
        f"a table of it, or --workspace {shop_db} to analyse a valuecast workspace"
    )


def test_a_quoted_table_name_is_read(tmp_path):
    path = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(path))
    frame = _sales_order_rows()  # noqa: F841 - read by DuckDB
    con.execute('CREATE SCHEMA crm; CREATE TABLE crm."Sales Order" AS SELECT * FROM frame')
    con.close()
    name, read = read_table(f'duckdb://{path}#crm."Sales Order"')
    assert name.endswith('#crm."Sales Order"') and len(read) == 3
    with pytest.raises(EngineError, match="is not a table name"):
        split_table_url(f"duckdb://{path}#crm.Sales Order")


def test_a_server_that_refuses_is_not_a_missing_driver():
    with pytest.raises(EngineError, match="cannot connect") as caught:
        read_table("postgres://u:secret@127.0.0.1:1/shop#orders")
    assert "install the driver" not in str(caught.value) and "secret" not in str(caught.value)


def test_redact_hides_the_password():
    assert redact("postgres://shop:hunter2@db:5432/m") == "postgres://shop:***@db:5432/m"
    assert redact("duckdb:///x.duckdb") == "duckdb:///x.duckdb"


def test_times_with_a_zone_are_put_on_the_shops_days_by_its_time_zone(tmp_path):
    # a DuckDB TIMESTAMPTZ (and a Parquet time in UTC, as Spark writes one) holds instants:
    # read in UTC, an evening order in New York falls on the next day; the note says so and
    # --map time_zone puts the orders on the shop's own days
    path = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE orders AS SELECT * FROM (VALUES"
        " (1, 7, TIMESTAMPTZ '2025-03-02 04:30:00+00', 10.00::DECIMAL(18, 2)),"
        " (2, 7, TIMESTAMPTZ '2025-03-02 05:30:00+00', 20.00),"
        " (3, 8, TIMESTAMPTZ '2025-03-10 16:00:00+00', 5.00))"
        " t(order_id, customer_id, ordered_at, revenue)"
    )
    con.execute(f"COPY orders TO '{tmp_path / 'orders.parquet'}' (FORMAT parquet)")
    con.close()
    runner = CliRunner()
    for source in (f"duckdb://{path}#orders", str(tmp_path / "orders.parquet")):
        in_utc = runner.invoke(app, ["ingest", source, "-w", str(tmp_path / "utc.duckdb")])
        assert in_utc.exit_code == 0, in_utc.output
        assert "ordered_at holds times with a zone, read in UTC" in " ".join(in_utc.output.split())
        given = ["ingest", source, "-w", str(tmp_path / "ny.duckdb")]
        in_ny = runner.invoke(app, [*given, "--map", "time_zone=America/New_York", "--json"])
        assert in_ny.exit_code == 0, in_ny.output
        assert not [note for note in json.loads(in_ny.output)["notes"] if "UTC" in note]
        for workspace, days in (("utc", ["2025-03-02"] * 2), ("ny", ["2025-03-01", "2025-03-02"])):
            with Workspace(tmp_path / f"{workspace}.duckdb", read_only=True) as ws:
                stored = ws.orders().order_by("ordered_at").execute()
            assert stored["order_date"].astype(str).tolist()[:2] == days, (source, workspace)
            (tmp_path / f"{workspace}.duckdb").unlink()
    # a time without a zone is the shop's own: the zone is refused, naming the table as given
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE plain AS SELECT * REPLACE (ordered_at::TIMESTAMP AS ordered_at)"
                " FROM orders")  # fmt: skip
    con.close()
    given = ["ingest", f"duckdb://{path}#plain", "-w", str(tmp_path / "w.duckdb")]
    refused = runner.invoke(app, [*given, "--map", "time_zone=America/New_York"])
    assert refused.exit_code == 2
    assert refused.output.startswith(f"error: duckdb://{path}#plain: --map time_zone applies")


def test_a_missing_table_is_named_beside_the_tables_there_are(tmp_path, shop_db):
    con = duckdb.connect(str(shop_db))
    con.execute('CREATE SCHEMA crm; CREATE TABLE crm.orders (id INT); CREATE VIEW "Order Lines"'
                " AS SELECT 1 AS id")  # fmt: skip
    con.close()
    runner = CliRunner()
    for table, hint in (
        ("sales_ordr", "(did you mean sales_order?)"),
        ("crm.ordrs", "(did you mean orders?)"),
        ("refunds", '(its tables: "Order Lines", sales_order)'),
    ):
        result = runner.invoke(
            app, ["ingest", f"duckdb://{shop_db}#{table}", "-w", str(tmp_path / "w.duckdb")]
        )
        assert result.exit_code == 2, result.output
        assert len(result.output.strip().splitlines()) == 1
        assert result.output.strip().endswith(f"#{table}: no such table (TableNotFound) {hint}")


def test_a_missing_schema_is_named_beside_the_schemas_there_are(tmp_path, shop_db):
    con = duckdb.connect(str(shop_db))
    con.execute("CREATE SCHEMA crm; CREATE TABLE crm.orders (id INT)")
    con.close()
    runner = CliRunner()
    for table, hint in (
        ("nope.orders", "(no schema nope; its schemas: crm, main)"),
        ("crn.orders", "(no schema crn; did you mean crm?)"),
    ):
        result = runner.invoke(
            app, ["ingest", f"duckdb://{shop_db}#{table}", "-w", str(tmp_path / "w.duckdb")]
        )
        assert result.exit_code == 2, result.output
        assert len(result.output.strip().splitlines()) == 1
        assert result.output.strip().endswith(f"#{table}: no such table (TableNotFound) {hint}")


def test_an_empty_table_or_parquet_file_is_told_so_without_a_header(tmp_path, shop_db):
    """As an empty CSV file, an empty table is a note (exit 0), worded for what was read."""
    con = duckdb.connect(str(shop_db))
    con.execute("CREATE TABLE orders_empty (order_id INT, customer_id INT, ordered_at TIMESTAMP,"
                f" revenue DOUBLE); COPY orders_empty TO '{tmp_path / 'empty.parquet'}'"
                " (FORMAT parquet)")  # fmt: skip
    con.close()
    runner = CliRunner()
    for source, note in (
        (f"duckdb://{shop_db}#orders_empty", "the table has no rows: nothing read from it"),
        (str(tmp_path / "empty.parquet"), "no rows in it: nothing read from it"),
    ):
        result = runner.invoke(app, ["ingest", source, "-w", str(tmp_path / "w.duckdb"), "--json"])
        assert result.exit_code == 0, result.output
        notes = json.loads(result.output)["notes"]
        assert [n for n in notes if "nothing read" in n] == [f"{source.split('/')[-1]}: {note}"]


def test_an_error_in_a_table_names_the_rows_order_id(tmp_path, shop_db):
    """A table's rows have no order of their own: its row 2 is found by its order id."""
    con = duckdb.connect(str(shop_db))
    con.execute("CREATE TABLE nulls AS SELECT * FROM (VALUES (7, 10, TIMESTAMP '2025-01-05',"
                " 100.0), (3, 10, NULL, 50.0)) t(order_id, customer_id, ordered_at, revenue);"
                " UPDATE sales_order SET created_at = 'soon' WHERE entity_id = 2")  # fmt: skip
    con.close()
    runner = CliRunner()
    for table, where in (
        ("nulls", "row 2 (order_id 3), column 'ordered_at': value is missing"),
        ("sales_order", "row 2 (increment_id 000000002), column 'created_at': "),
    ):
        result = runner.invoke(
            app, ["ingest", f"duckdb://{shop_db}#{table}", "-w", str(tmp_path / "w.duckdb")]
        )
        assert result.exit_code == 2, result.output
        assert len(result.output.strip().splitlines()) == 1
        assert f"#{table}, {where}" in result.output, result.output


_TABLES = {
    # e-mail customers in mixed case and a guest, dates, amounts as DECIMAL with a refund
    "by_email": "SELECT * FROM (VALUES ('Pat@Example.com', DATE '2024-03-05', 19.90::DECIMAL(12, 2)),"
    " ('pat@example.com', DATE '2024-04-05', 5.00), (NULL, DATE '2024-04-06', 7.25),"
    " ('sam@example.com', DATE '2024-04-07', -3.10), (NULL, NULL, NULL))"
    " t(customer_id, ordered_at, revenue)",
    # BIGINT ids, an order of two rows, times in seconds, DOUBLE amounts (a NaN is no amount)
    "keyed": "SELECT * FROM (VALUES (1::BIGINT, 9007199254740993::BIGINT,"
    " TIMESTAMP_S '2024-03-05 10:11:12', 19.9::DOUBLE), (1, 9007199254740993,"
    " TIMESTAMP_S '2024-03-05 10:11:12', 5.0), (2, 12, TIMESTAMP_S '2024-05-01 08:00:00', 7.5),"
    " (3, 12, TIMESTAMP_S '2024-06-01 08:00:00', -2.0)) t(order_id, customer_id, ordered_at,"
    " revenue)",
    # no order ids, times in milliseconds: the orders are numbered by customer and time
    "timed": "SELECT * FROM (VALUES ('c1', TIMESTAMP_MS '2024-03-05 10:11:12.123', 10.0::FLOAT),"
    " ('c1', TIMESTAMP_MS '2024-03-06 10:11:12.5', 10.0), ('c2', TIMESTAMP_MS '2024-03-07 00:00:00',"
    " 4.0)) t(customer_id, ordered_at, revenue)",
}


def _ingested(tmp_path, url: str, name: str) -> tuple[dict, pd.DataFrame]:
    workspace = tmp_path / f"{name}.duckdb"
    result = CliRunner().invoke(app, ["ingest", url, "-w", str(workspace), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    for key in ("workspace", "seconds", "ingest_id"):
        report.pop(key, None)
    with Workspace(workspace, read_only=True) as ws:
        orders = ws.orders().order_by("order_number").to_pandas()
    return report, orders


@pytest.mark.parametrize("table", sorted(_TABLES))
def test_a_large_orders_table_is_loaded_by_duckdb_with_the_importers_results(
    tmp_path, monkeypatch, table
):
    """An orders table fetched as Arrow is loaded as an orders file is (DuckDB's rules, no
    Pandas), with exactly the orders, exclusions and notes the importer gives it."""
    from valuecast.io import orders_duckdb

    path = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE orders AS {_TABLES[table]}")
    con.close()
    url = f"duckdb://{path}#orders"
    loaded = []
    load = orders_duckdb.PendingOrders.load

    def spied(self, con):
        loaded.append(load(self, con))
        # the rows are let go of once staged: the ingest's write holds the parsed rows alone
        assert loaded[-1] is None or self.source.rows is None
        return loaded[-1]

    monkeypatch.setattr(orders_duckdb.PendingOrders, "load", spied)
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)  # as a table of a million rows
    fast = _ingested(tmp_path, url, "fast")
    assert len(loaded) == 1 and loaded[0] is not None  # DuckDB loaded it
    monkeypatch.setattr(orders_duckdb, "pending_table", lambda *args: None)
    imported = _ingested(tmp_path, url, "imported")
    assert len(loaded) == 1  # the importer read it
    assert fast[0] == imported[0]
    pd.testing.assert_frame_equal(fast[1], imported[1])


def test_an_error_in_a_large_table_is_the_importers(tmp_path, shop_db, monkeypatch):
    """A table DuckDB may not load (a missing date) is read by the importer: the same one-line
    error, naming the table, the row and its order id."""
    from valuecast.io import orders_duckdb

    con = duckdb.connect(str(shop_db))
    con.execute("CREATE TABLE nulls AS SELECT * FROM (VALUES (7, 10, TIMESTAMP '2025-01-05',"
                " 100.0), (3, 10, NULL, 50.0)) t(order_id, customer_id, ordered_at, revenue)")  # fmt: skip
    con.close()
    url = f"duckdb://{shop_db}#nulls"
    given = ["ingest", url, "-w", str(tmp_path / "w.duckdb")]
    small = CliRunner().invoke(app, given)
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)  # as a table of a million rows
    large = CliRunner().invoke(app, given)
    assert small.exit_code == large.exit_code == 2, large.output
    assert large.output == small.output and len(large.output.strip().splitlines()) == 1
    # the table's last row holds numbers alone, and is no spreadsheet's totals row
    assert large.output.strip() == (
        f"error: {url}, row 2 (order_id 3), column 'ordered_at': value is missing"
    )


def test_a_table_fetched_as_arrow_has_the_types_and_values_of_its_dataframe(tmp_path):
    """The Arrow rows of a table are those Ibis' DataFrame of it gives the importers."""
    import ibis
    import pyarrow as pa

    from valuecast.store import tables

    path = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES ('a', DATE '2024-01-02',"
        " TIMESTAMP '2024-01-02 10:11:12.5', TIMESTAMP_S '2024-01-02 10:11:12',"
        " TIMESTAMP_MS '2024-01-02 10:11:12.123', TIMESTAMP_NS '2024-01-02 10:11:12.123',"
        " 1.5::DOUBLE, 2.5::FLOAT, 1.234::DECIMAL(10, 3), 7, true, NULL::BOOLEAN,"
        " NULL::DECIMAL(9, 2)), (NULL, NULL, NULL, NULL, NULL, NULL, 'NaN'::DOUBLE, NULL, NULL,"
        " NULL, NULL, NULL, NULL), ('', DATE '1999-01-01', NULL, NULL, NULL, NULL, 2.0, 'NaN',"
        " 100.5, 8, false, NULL, NULL)) v(s, d, ts, tss, tsm, tsn, f, r, n, i, b, nb, nd)"
    )
    con.close()
    name, rows = tables.read_table(f"duckdb://{path}#t")
    assert isinstance(rows, pa.Table)
    backend = ibis.duckdb.connect(str(path), read_only=True)
    frame = tables._whole_numbers_as_text(backend.table("t")).to_pandas()
    backend.disconnect()
    expected = pa.Table.from_pandas(frame, preserve_index=False)
    for column in expected.column_names:
        got, want = rows.column(column), expected.column(column)
        if pa.types.is_decimal(want.type):  # the scale writes a decimal's text, not precision
            assert got.type.scale == want.type.scale, column
            got, want = got.cast(pa.string()), want.cast(pa.string())
        assert got.type == want.type, column
        assert got.to_pylist() == want.to_pylist(), column
