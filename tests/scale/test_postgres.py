"""A real PostgreSQL server holding a Magento ``sales_order`` table gives the CSV's results.

The harness starts Debian's PostgreSQL on a loopback port in a temporary folder (conftest.py).
A Magento-style ``sales_order`` table (made from the simulated demo shop: complete, cancelled and
closed orders, guests, discounts, coupon codes, two stores) is written as a CSV dump and loaded
into the database.  ``valuecast analyze sales_order.csv`` (DuckDB) and ``valuecast ingest
--engine URL URL#sales_order`` + ``valuecast analyze --engine URL`` (the analysis running in
PostgreSQL, the customers table written there as ``valuecast_customer_clv``) must agree: numbers
to a relative 1e-9, everything else exactly.
"""

from __future__ import annotations

import json

import ibis
import numpy as np
import pandas as pd
import pytest
from _compare import max_relative_deviation
from typer.testing import CliRunner

from valuecast.cli import app
from valuecast.datasets import data_file
from valuecast.datasets.demo_shop import generate_demo_shop
from valuecast.io import read_exports
from valuecast.store import Workspace

runner = CliRunner()


def _invoke(*args) -> str:
    result = runner.invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result.output


def magento_sales_order(tmp_path) -> pd.DataFrame:
    """A Magento 2 ``sales_order`` table with the demo shop's orders."""
    export = tmp_path / "shopify.csv"
    generate_demo_shop(export, customers=700, seed=21)
    with Workspace(tmp_path / "staging.duckdb") as ws:
        ws.ingest(read_exports([str(export)]))
        orders = ws.orders().order_by("ordered_at").to_pandas()
    n = len(orders)
    rng = np.random.default_rng(4)
    state = np.where(rng.random(n) < 0.04, "canceled", "complete")
    state[rng.random(n) < 0.02] = "closed"
    discount = orders["discount"].fillna(0.0).to_numpy()
    subtotal = orders["net_revenue"].fillna(0.0).to_numpy() + discount
    return pd.DataFrame(
        {
            "entity_id": np.arange(1, n + 1),
            "increment_id": [f"{100000000 + i}" for i in range(1, n + 1)],
            "state": state,
            "customer_email": orders["email"].astype(object).where(orders["email"].notna(), None),
            "created_at": orders["ordered_at"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "base_subtotal": subtotal.round(2),
            "base_discount_amount": (-discount).round(2),
            "base_tax_amount": orders["tax"].fillna(0.0).round(2),
            "base_shipping_amount": orders["shipping"].fillna(0.0).round(2),
            "base_grand_total": orders["gross_revenue"].fillna(0.0).round(2),
            "base_currency_code": "USD",
            "coupon_code": orders["discount_code"]
            .astype(object)
            .where(orders["discount_code"].notna(), None),
            "store_name": np.where(rng.random(n) < 0.7, "Main Website", "Wholesale"),
        }
    )


def test_magento_sales_order_in_postgres_gives_the_csv_results(postgres_url, tmp_path):
    sales_order = magento_sales_order(tmp_path)
    csv = tmp_path / "sales_order.csv"
    sales_order.to_csv(csv, index=False)
    con = ibis.connect(postgres_url)
    try:
        con.create_table("sales_order", sales_order)
    finally:
        con.disconnect()

    _invoke(
        "analyze", csv, "--format", "magento", "--workspace", tmp_path / "w.duckdb",
        "--out", tmp_path / "csv",
    )  # fmt: skip
    _invoke(
        "ingest", f"{postgres_url}#sales_order", "--format", "magento", "--engine", postgres_url
    )
    output = _invoke("analyze", "--engine", postgres_url, "--out", tmp_path / "pg")
    assert "valuecast_customer_clv" in output

    from_csv = pd.read_parquet(tmp_path / "csv" / "customers.parquet")
    con = ibis.connect(postgres_url)
    try:
        in_postgres = con.table("valuecast_customer_clv").to_pandas()
    finally:
        con.disconnect()
    deviations = max_relative_deviation(from_csv, in_postgres)
    print("PostgreSQL vs CSV, largest relative deviations:", deviations)
    csv_summary = json.loads((tmp_path / "csv" / "summary.json").read_text())
    pg_summary = json.loads((tmp_path / "pg" / "summary.json").read_text())
    # the exclusions applied (cancelled and closed orders) and a real model fit
    assert pg_summary["n_orders"] == csv_summary["n_orders"] < len(sales_order)
    assert pg_summary["model"]["params"] == pytest.approx(csv_summary["model"]["params"], rel=1e-9)
    assert pg_summary["rfm_groups"] == csv_summary["rfm_groups"]
    assert set(in_postgres["acquisition_channel"]) == {"Main Website", "Wholesale"}
    assert in_postgres["first_discount_code"].notna().any()


def test_an_analysts_postgres_table_reads_like_its_csv_dump(postgres_url, tmp_path):
    # a table as an analyst's warehouse holds it: UUID customers (NULL for guests), NUMERIC(12,2)
    # amounts with refunds, a TIMESTAMPTZ, created unquoted in mixed case in a schema of its own
    # (stored folded to lower case), a view on it and a table whose quoted name has a space
    rows = [
        (1, "5ef05993-8ba7-49aa-a845-e1c2e8a762bd", "2025-01-03 10:00:00+00", "19.90"),
        (2, None, "2025-01-04 11:00:00+00", "5.00"),
        (3, "5ef05993-8ba7-49aa-a845-e1c2e8a762bd", "2025-02-03 12:30:00+00", "42.10"),
        (4, "76dc611d-6eba-4fc6-8cc0-879c71b5db5c", "2025-02-04 09:00:00+00", "-7.50"),
        (5, "76dc611d-6eba-4fc6-8cc0-879c71b5db5c", "2025-03-05 08:15:00+00", "12.00"),
    ]
    con = ibis.connect(postgres_url)
    try:
        con.raw_sql(
            "CREATE SCHEMA crm; CREATE TABLE crm.ShopOrders (order_id BIGINT, customer_id UUID,"
            " ordered_at TIMESTAMPTZ, revenue NUMERIC(12, 2)); CREATE VIEW crm.OrdersView AS"
            ' SELECT * FROM crm.ShopOrders; CREATE TABLE "Shop Orders" AS SELECT * FROM'
            " crm.ShopOrders"
        ).close()
        for row in rows:
            values = ", ".join("NULL" if v is None else f"'{v}'" for v in row)
            for table in ("crm.ShopOrders", '"Shop Orders"'):
                con.raw_sql(f"INSERT INTO {table} VALUES ({values})").close()
    finally:
        con.disconnect()
    csv = tmp_path / "orders.csv"
    pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "revenue"]).to_csv(
        csv, index=False
    )
    expected = read_exports([str(csv)])[0]
    for table in ("crm.ShopOrders", "crm.OrdersView", '"Shop Orders"', 'public."Shop Orders"'):
        report = json.loads(
            _invoke("ingest", f"{postgres_url}#{table}", "-w", tmp_path / "w.duckdb", "--json")
        )
        assert report["excluded_orders"] == {"negative amount": 1}, table
        with Workspace(tmp_path / "w.duckdb") as ws:
            stored = ws.orders().order_by("order_number").to_pandas()
        (tmp_path / "w.duckdb").unlink()
        columns = ["order_number", "customer_id", "ordered_at", "order_date", "net_revenue"]
        pd.testing.assert_frame_equal(
            stored[columns].reset_index(drop=True),
            expected.orders[columns].reset_index(drop=True),
            check_dtype=False,
            obj=table,
        )


def test_a_table_of_a_database_in_new_york_reads_like_its_psql_dump(postgres_url, tmp_path):
    # the database's zone makes an evening order's day (its dump writes 20:30-05, not 01:30
    # UTC the next day), and BIGINT ids beyond 2**53 beside NULL guests keep their digits
    import psycopg

    con = ibis.connect(postgres_url)
    try:
        con.raw_sql("CREATE DATABASE ny").close()
        con.raw_sql("ALTER DATABASE ny SET timezone TO 'America/New_York'").close()
    finally:
        con.disconnect()
    url = postgres_url.rsplit("/", 1)[0] + "/ny"
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as db:
        db.execute(
            "CREATE TABLE orders (order_id BIGINT, customer_id BIGINT, ordered_at TIMESTAMPTZ,"
            " revenue NUMERIC(12, 2)); INSERT INTO orders VALUES"
            " (1, 9007199254740993, '2025-01-03 01:30:00+00', 19.90),"
            " (2, 9007199254740995, '2025-01-03 02:00:00+00', 5.00),"
            " (3, NULL, '2025-01-04 11:00:00+00', 8.00),"
            " (4, 9007199254740993, '2025-02-03 12:30:00+00', 42.10)"
        )
        with db.cursor().copy("COPY orders TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
            (tmp_path / "dump.csv").write_bytes(b"".join(bytes(block) for block in copy))
    assert "2025-01-02 20:30:00-05" in (tmp_path / "dump.csv").read_text()
    expected = read_exports([str(tmp_path / "dump.csv")])[0].orders
    _invoke("ingest", f"{url}#orders", "-w", tmp_path / "w.duckdb")
    with Workspace(tmp_path / "w.duckdb") as ws:
        stored = ws.orders().order_by("order_number").to_pandas()
    columns = ["order_number", "customer_id", "ordered_at", "order_date", "net_revenue"]
    pd.testing.assert_frame_equal(
        stored[columns].reset_index(drop=True),
        expected[columns].reset_index(drop=True),
        check_dtype=False,
    )
    assert stored["customer_id"].nunique() == 2 and "9007199254740995" in set(stored["customer_id"])


def test_summary_written_by_postgres_and_mysql_refused(postgres_url, tmp_path):
    with data_file("CDNOW_sample.txt") as path:
        _invoke("ingest", path, "--format", "cdnow", "--engine", postgres_url, "--tables", "cdnow")
        _invoke("ingest", path, "--format", "cdnow", "--workspace", tmp_path / "w.duckdb")
    _invoke(
        "summary", "--engine", postgres_url, "--tables", "cdnow", "--out", "valuecast_summary",
        "--compressed", "valuecast_compressed", "--as-of", "1997-09-30",
    )  # fmt: skip
    _invoke(
        "summary", "--workspace", tmp_path / "w.duckdb", "--as-of", "1997-09-30",
        "--out", tmp_path / "summary.parquet",
    )  # fmt: skip
    con = ibis.connect(postgres_url)
    try:
        compressed = con.table("valuecast_compressed", database="cdnow").to_pandas()
        summary = con.table("valuecast_summary", database="cdnow").to_pandas()
    finally:
        con.disconnect()
    assert compressed["count"].sum() == len(summary) == 2357 > len(compressed)
    expected = pd.read_parquet(tmp_path / "summary.parquet").sort_values("customer_id")
    summary = summary.sort_values("customer_id")
    for frame in (summary, expected):
        for column in ("first_order_date", "last_order_date"):
            frame[column] = pd.to_datetime(frame[column])
    pd.testing.assert_frame_equal(
        summary.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )
    result = runner.invoke(app, ["analyze", "--engine", "mysql://u@localhost/shop", "--out", "x"])
    assert result.exit_code == 2 and "MySQL cannot run the summary" in result.output


def test_a_money_column_reads_as_its_dump_writes_it(postgres_url, tmp_path):
    # PostgreSQL writes MONEY with the currency's symbol and separators ($1,234.99), which
    # Ibis would parse as a plain decimal
    con = ibis.connect(postgres_url)
    try:
        con.raw_sql(
            "CREATE TABLE till (order_id BIGINT, customer_id BIGINT, ordered_at DATE,"
            " revenue MONEY, tip NUMERIC(8, 2)); INSERT INTO till VALUES"
            " (1, 7, '2025-01-01', 12.50, 1.00), (2, 7, '2025-02-01', 1234.99, 0.50),"
            " (3, 8, '2025-02-03', 20.00, NULL)"
        ).close()
    finally:
        con.disconnect()
    report = json.loads(
        _invoke("ingest", f"{postgres_url}#till", "-w", tmp_path / "w.duckdb", "--json")
    )
    assert report["orders"] == 3 and report["net_revenue"] == pytest.approx(1267.49)
    with Workspace(tmp_path / "w.duckdb") as ws:
        stored = ws.orders().order_by("order_number").to_pandas()
    assert stored["net_revenue"].tolist() == [12.5, 1234.99, 20.0]
    # a table named with a typo is an error naming the table meant
    typo = runner.invoke(app, ["ingest", f"{postgres_url}#tll", "-w", str(tmp_path / "x.duckdb")])
    assert typo.exit_code == 2 and typo.output.strip().endswith("(did you mean till?)")


def test_a_large_postgres_table_is_fetched_as_arrow_with_the_importers_results(
    postgres_url, tmp_path, monkeypatch
):
    """A table is fetched as Arrow with the types and values of the DataFrame Ibis gives it,
    and a large orders table is loaded by DuckDB with exactly the importer's orders and report
    (a refund, a NaN amount of an empty row, an order of two rows, a guest row without an id)."""
    import pyarrow as pa

    from valuecast.io import orders_duckdb
    from valuecast.store import tables

    con = ibis.connect(postgres_url)
    try:
        con.raw_sql(
            "CREATE TABLE shop_orders (order_id BIGINT, customer_id TEXT, ordered_at TIMESTAMP(0),"
            " revenue NUMERIC(12, 2), shipping FLOAT8, placed DATE, gift BOOLEAN, fee REAL);"
            " INSERT INTO shop_orders VALUES"
            " (1, 'Pat@Example.com', '2025-01-03 10:00:00', 19.90, 4.5, '2025-01-03', true, 1),"
            " (1, 'Pat@Example.com', '2025-01-03 10:00:00', 5.00, 0, '2025-01-03', NULL, NULL),"
            " (2, 'sam@example.com', '2025-02-03 12:30:00', -7.50, NULL, NULL, false, 2),"
            " (3, 'pat@example.com', '2025-03-05 08:15:00', 12.00, 'NaN', '2025-03-05', NULL, 3),"
            " (NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'NaN')"
        ).close()
        expr = tables._whole_numbers_as_text(con.table("shop_orders"))
        expr = tables._postgres_decimals(expr, set())
        frame = expr.to_pandas()
    finally:
        con.disconnect()
    _, rows = tables.read_table(f"{postgres_url}#shop_orders")
    assert isinstance(rows, pa.Table)
    assert rows.equals(pa.Table.from_pandas(frame, preserve_index=False))

    def ingested(name: str) -> tuple[dict, pd.DataFrame]:
        workspace = tmp_path / f"{name}.duckdb"
        report = json.loads(
            _invoke("ingest", f"{postgres_url}#shop_orders", "-w", workspace, "--json")
        )
        report.pop("workspace")
        with Workspace(workspace, read_only=True) as ws:
            return report, ws.orders().order_by("order_number").to_pandas()

    loaded = []
    load = orders_duckdb.PendingOrders.load
    monkeypatch.setattr(
        orders_duckdb.PendingOrders,
        "load",
        lambda self, c: loaded.append(load(self, c)) or loaded[-1],
    )
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)  # as a table of a million rows
    fast = ingested("fast")
    assert len(loaded) == 1 and loaded[0] is not None  # DuckDB loaded it
    monkeypatch.setattr(orders_duckdb, "pending_table", lambda *args: None)
    imported = ingested("imported")
    assert fast[0] == imported[0] and fast[0]["excluded_orders"] == {"negative amount": 1}
    pd.testing.assert_frame_equal(fast[1], imported[1])


def test_numeric_amounts_with_three_decimals_are_amounts(postgres_url, tmp_path):
    """A NUMERIC(10, 3) amount (a dinar's fils) is 1.5, not a point that may separate thousands,
    as in a DuckDB DECIMAL(10, 3); a NUMERIC(20, 0) customer id keeps every digit."""
    con = ibis.connect(postgres_url)
    try:
        con.raw_sql(
            "CREATE TABLE fils (order_id INT, customer_id NUMERIC(20, 0), ordered_at DATE,"
            " revenue NUMERIC(10, 3)); INSERT INTO fils VALUES"
            " (1, 9007199254740993, '2025-01-01', 1.500), (2, 9007199254740993, '2025-02-01',"
            " 2.250), (3, 12, '2025-02-03', 12.125)"
        ).close()
    finally:
        con.disconnect()
    report = json.loads(
        _invoke("ingest", f"{postgres_url}#fils", "-w", tmp_path / "w.duckdb", "--json")
    )
    assert report["orders"] == 3 and report["customers"] == 2
    with Workspace(tmp_path / "w.duckdb") as ws:
        stored = ws.orders().order_by("order_number").to_pandas()
    assert stored["net_revenue"].tolist() == [1.5, 2.25, 12.125]
    assert stored["customer_id"].tolist() == ["9007199254740993"] * 2 + ["12"]


def test_a_never_ending_date_in_a_column_no_order_needs_is_read(postgres_url, tmp_path):
    """PostgreSQL's 'infinity' (a subscription's valid_until) leaves the table readable; as an
    order's date it is a missing date, an error naming the row and the column."""
    con = ibis.connect(postgres_url)
    try:
        con.raw_sql(
            "CREATE TABLE subs (order_id INT, customer_id TEXT, ordered_at TIMESTAMP,"
            " revenue NUMERIC(10, 2), valid_until DATE); INSERT INTO subs VALUES"
            " (1, 'a', '2025-01-01 10:00', 9.90, 'infinity'), (2, 'a', '2025-02-01 10:00', 9.90,"
            " '-infinity'), (3, 'b', '2025-02-03 08:00', 12.00, '2026-01-01')"
        ).close()
    finally:
        con.disconnect()
    report = json.loads(
        _invoke("ingest", f"{postgres_url}#subs", "-w", tmp_path / "w.duckdb", "--json")
    )
    assert report["orders"] == 3 and report["customers"] == 2
    con = ibis.connect(postgres_url)
    try:
        con.raw_sql("UPDATE subs SET ordered_at = 'infinity' WHERE order_id = 2").close()
    finally:
        con.disconnect()
    refused = runner.invoke(app, ["ingest", f"{postgres_url}#subs", "-w", str(tmp_path / "x")])
    assert refused.exit_code == 2
    # the updated row is the table's last now: its order id finds it
    assert refused.output.strip().endswith(
        "#subs, row 3 (order_id 2), column 'ordered_at': value is missing"
    ), refused.output
