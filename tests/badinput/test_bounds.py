"""Bounds: amounts beyond 1e12 are refused before they reach a workspace, amounts up to it are
analysed whatever their sum, an analysis failure names its step, and a Parquet file is held in
memory only within the memory limit."""

from __future__ import annotations

import csv
from datetime import date, timedelta

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

FORMATS = ["shopify", "orders", "magento", "woocommerce"]
HUGE = "amount 1,000,000,000,000,000.00 is out of range (more than 1,000,000,000,000 either way)"


def _two(corpus, first_amount: str) -> list[dict]:
    return [
        corpus.order(1, "a@x.com", date(2024, 1, 2), first_amount),
        corpus.order(2, "b@x.com", date(2024, 1, 3), "12.00"),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_amount_beyond_1e12_is_one_error_and_changes_nothing(corpus, tmp_path, fmt):
    workspace = tmp_path / "ws.duckdb"
    good = corpus.write(tmp_path / "good.csv", fmt, corpus.shop(2))
    corpus.report(corpus.ingest(good, workspace, "--json"))
    before = corpus.state(workspace)
    bad = corpus.write(tmp_path / "bad.csv", fmt, _two(corpus, "1e15"))
    result = corpus.ingest([good, bad], workspace)
    corpus.one_error(result, bad, 2, corpus.AMOUNT[fmt], HUGE)
    assert corpus.state(workspace) == before


def test_a_parquet_amount_beyond_1e12_is_one_error(corpus, tmp_path):
    path = tmp_path / "orders.parquet"
    pq.write_table(
        pa.table(
            {
                "customer_id": ["a@x.com", "b@x.com"],
                "order_date": ["2024-01-02", "2024-01-03"],
                "revenue": [12.0, -1e15],
            }
        ),
        path,
    )
    result = corpus.ingest(path, tmp_path / "ws.duckdb")
    # a Parquet file has no header row: its first data row is row 1
    corpus.one_error(result, path, 2, "revenue", "amount -1,000,000,000,000,000.00 is out of range")
    assert not (tmp_path / "ws.duckdb").exists()


def test_summary_of_a_large_file_refuses_a_huge_amount_too(corpus, tmp_path):
    """``summary FILE`` parses large clean files with DuckDB: it must refuse what ingest does."""
    orders = [
        corpus.order(i, f"c{i % 5000}@example.com", date(2024, 1, 1) + timedelta(i % 300))
        for i in range(30_000)
    ]
    orders[20_000]["amount"] = "1e15"
    path = corpus.write(tmp_path / "orders.csv", "orders", orders)
    assert path.stat().st_size > 1 << 20  # large enough for the DuckDB route
    result = corpus.invoke("summary", path, "--format", "orders", "--out", tmp_path / "s.csv")
    corpus.one_error(result, path, 20_002, "revenue", HUGE)
    assert not (tmp_path / "s.csv").exists()


def _big_spender_shop(corpus) -> list[dict]:
    """A small shop plus one customer with ten orders of exactly 1e12: their total, 1e13, is
    past the largest 64-bit integer in millionths (9.2e12)."""
    orders = corpus.shop(6)
    for month in range(1, 11):
        when = date(2024, month, 15)
        orders.append(corpus.order(f"9{month:03d}", "big@x.com", when, "1000000000000"))
    return orders


@pytest.mark.parametrize("fmt", ["orders", "shopify"])
def test_amounts_of_1e12_are_accepted_and_analysed_whatever_their_sum(corpus, tmp_path, fmt):
    path = corpus.write(tmp_path / "export.csv", fmt, _big_spender_shop(corpus))
    workspace, out = tmp_path / "ws.duckdb", tmp_path / "out"
    report = corpus.report(corpus.ingest(path, workspace, "--json"))
    assert report["orders"] == 22
    result = corpus.analyze(None, workspace, out)
    corpus.no_traceback(result)
    assert result.exit_code == 0, result.output
    with open(out / "customers.csv", newline="") as handle:
        customers = {row["customer_id"]: row for row in csv.DictReader(handle)}
    assert float(customers["big@x.com"]["historic_clv"]) == 1e13
    assert customers["big@x.com"]["rfm_score"].endswith("5")  # the largest spender


def test_a_failed_analysis_step_is_named_not_the_aborted_transaction(corpus, tmp_path, monkeypatch):
    """A statement that fails inside ``analyze FILE``'s one transaction aborts it: the error
    names the step that failed, not DuckDB's refusal of the statements after it."""
    from valuecast.engine import predict

    def failing_segments(table, *args, **kwargs):
        table._find_backend().con.execute("SELECT CAST(1e21 AS BIGINT)")

    monkeypatch.setattr(predict, "add_segments", failing_segments)
    path = corpus.write(tmp_path / "export.csv", "orders", corpus.shop(4))
    workspace, out = tmp_path / "ws.duckdb", tmp_path / "out"
    result = corpus.analyze(path, workspace, out)
    corpus.one_error(
        result, workspace, None, None,
        "analysis failed at step 'segments' (customers table): ConversionException: ",
    )  # fmt: skip
    assert not workspace.exists() and not out.exists()


def test_a_stored_order_beyond_the_bound_is_named_by_analyze(corpus, tmp_path):
    """A workspace written before ingest refused such amounts: analyze names the order."""
    path = corpus.write(tmp_path / "export.csv", "orders", corpus.shop(4))
    workspace, out = tmp_path / "ws.duckdb", tmp_path / "out"
    corpus.report(corpus.ingest(path, workspace, "--json"))
    con = duckdb.connect(str(workspace))
    con.execute("UPDATE orders SET net_revenue = 1e15 WHERE order_number = '1003'")
    con.close()
    before = corpus.state(workspace)
    result = corpus.analyze(None, workspace, out)
    corpus.one_error(
        result, workspace, None, None,
        "order 'orders:1003' has a net revenue of 1,000,000,000,000,000.00, beyond",
    )  # fmt: skip
    assert corpus.state(workspace) == before and not out.exists()
    # a corrected export of the order replaces it, and the analysis runs
    corpus.report(corpus.ingest(path, workspace, "--json"))
    assert corpus.analyze(None, workspace, out).exit_code == 0
