"""Ingest staging through Arrow/DuckDB: several files, line items, report totals; and the summary
shortcut for attribute columns no order fills."""

from __future__ import annotations

import gc
from datetime import date

import ibis
import pandas as pd
import pyarrow as pa

from valuecast.analysis.summary import customer_summary, summarize
from valuecast.io import generic
from valuecast.store import Workspace

ORDERS = [
    {"id": "#1", "customer": "ann@example.com", "date": "2024-01-05", "net": 50.0},
    {"id": "#2", "customer": "bob@example.com", "date": "2024-01-06", "net": 20.0},
    {"id": "#3", "customer": None, "date": "2024-01-07", "net": 15.5},
]


def line(order: str, number: int, sku: str, quantity: float = 1.0) -> dict:
    return {"order_id": f"shopify:{order}", "line_number": number, "sku": sku,
            "quantity": quantity, "unit_price": 10.0}  # fmt: skip


def test_line_items_come_from_the_last_file_listing_them(tmp_path, make_result):
    first = make_result(
        ORDERS,
        [line("#1", 1, "A"), line("#1", 2, "B"), line("#2", 1, "C"), line("#9", 1, "orphan")],
        file="jan.csv",
    )
    second = make_result(
        ORDERS[:1],
        [line("#1", 1, "A2"), line("#1", 1, "A3", 2.0)],  # a repeated line number: last wins
        file="feb.csv",
    )
    with Workspace(tmp_path / "ws.duckdb") as ws:
        report = ws.ingest([first, second])
        lines = ws.order_lines().to_pandas().sort_values(["order_id", "line_number"])
    assert report.orders == 3 and report.new_orders == 3
    assert report.line_items == 2  # #1 from feb.csv (one line), #2 from jan.csv; no orphan
    assert lines[["order_id", "line_number", "sku", "quantity"]].values.tolist() == [
        ["shopify:#1", 1, "A3", 2.0],
        ["shopify:#2", 1, "C", 1.0],
    ]


def test_report_totals_and_distinct_customers(tmp_path, make_result):
    orders = [
        *ORDERS,
        {"id": "#4", "customer": "ann@example.com", "date": "2024-02-01", "net": 30.0,
         "currency": None},
        # a guest checkout that still carries an id: a guest order, not a customer
        {"id": "#5", "customer": "cy@example.com", "date": "2024-02-02", "net": 4.0,
         "is_guest": True},
    ]  # fmt: skip
    with Workspace(tmp_path / "ws.duckdb") as ws:
        report = ws.ingest([make_result(orders)])
        again = ws.ingest([make_result(orders)])
    assert report.orders == 5 and report.customers == 2
    assert report.guest_orders == 2 and report.guest_revenue == 19.5
    assert report.workspace_customers == 3  # every distinct id stored
    assert report.net_revenue == 119.5 and report.gross_revenue == 119.5
    assert report.first_order_date == date(2024, 1, 5)
    assert report.last_order_date == date(2024, 2, 2)
    assert report.currencies == {"USD": 4}
    assert again.unchanged_orders == 5 and again.workspace_customers == 3


def test_generic_csv_ingest_is_idempotent(tmp_path):
    rows = ["customer,date,amount"] + [f"c{i % 5},2024-01-{i % 3 + 1:02d},{i}" for i in range(40)]
    path = tmp_path / "log.csv"
    path.write_text("\n".join(rows) + "\n")
    with Workspace(tmp_path / "ws.duckdb") as ws:
        first = ws.ingest([generic.read_orders(path)])
        stored = ws.orders().to_pandas().sort_values("order_id").reset_index(drop=True)
        second = ws.ingest([generic.read_orders(path)])
        after = ws.orders().to_pandas().sort_values("order_id").reset_index(drop=True)
    assert first.new_orders == 40 and first.customers == 5
    assert second.new_orders == 0 and second.unchanged_orders == 40
    pd.testing.assert_frame_equal(stored, after)
    assert stored["order_id"].is_unique


def test_staging_keeps_no_reference_to_the_rows_it_read(tmp_path):
    """``refresh`` analyses inside the ingest's transaction: the importer's Arrow strings must be
    freeable there, not only at the commit (a registered Arrow table was kept until then)."""
    rows = ["customer,date,amount"] + [
        f"customer-{i % 997:05d}@example.com,2024-01-{i % 28 + 1:02d},{i}" for i in range(20_000)
    ]
    path = tmp_path / "log.csv"
    path.write_text("\n".join(rows) + "\n")
    with Workspace(tmp_path / "ws.duckdb") as ws, ws.transaction():
        for first in (True, False):  # the direct write into empty tables, and the staged merge
            gc.collect()
            before = pa.total_allocated_bytes()
            result = generic.read_orders(path)
            read = pa.total_allocated_bytes() - before
            report = ws.ingest([result])
            result.release_rows()
            gc.collect()
            assert read > 1_000_000  # the strings of 20,000 orders live in Arrow's pool
            assert pa.total_allocated_bytes() - before < 0.05 * read
            assert report.new_orders == (20_000 if first else 0)
            assert result.orders.empty and list(result.orders.columns) == list(
                generic.read_orders(path).orders.columns
            )
        assert ws.orders().count().to_pyarrow().as_py() == 20_000


def test_summary_skips_attributes_no_order_has(make_orders):
    orders = make_orders(
        [
            {"id": "1", "customer": "a", "date": "2024-01-01", "net": 5.0},
            {"id": "2", "customer": "a", "date": "2024-01-03", "net": 7.0},
            {"id": "3", "customer": "b", "date": "2024-01-02", "net": 1.0},
        ]
    )
    assert orders[["channel", "discount_code", "accepts_marketing"]].isna().all().all()
    full = customer_summary(ibis.memtable(orders), as_of="2024-01-05").to_pandas()
    fast = summarize(ibis.memtable(orders), as_of="2024-01-05").table.to_pandas()
    pd.testing.assert_frame_equal(full, fast)
    assert fast["channel"].isna().all() and fast["accepts_marketing"].isna().all()

    def sql(**kwargs) -> str:
        return str(
            ibis.to_sql(customer_summary(ibis.memtable(orders), as_of="2024-01-05", **kwargs))
        )

    empty = ("channel", "discount_code", "accepts_marketing")
    assert "'channel':" in sql() and "'channel':" not in sql(known_empty=empty)
    # with one channel filled, the attribute is carried
    orders.loc[0, "channel"] = "web"
    filled = summarize(ibis.memtable(orders), as_of="2024-01-05").table.to_pandas()
    assert filled.set_index("customer_id").loc["a", "channel"] == "web"
