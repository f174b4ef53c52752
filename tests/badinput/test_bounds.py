"""Bounds: amounts beyond 1e12 are refused before they reach a workspace, amounts up to it are
analysed whatever their sum, an analysis failure names its step, and a Parquet file is held in
memory only within the memory limit."""

from __future__ import annotations

import csv
from datetime import date

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


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_amount_of_hundreds_of_digits_is_shown_in_six(corpus, tmp_path, fmt):
    bad = corpus.write(tmp_path / "bad.csv", fmt, _two(corpus, "1e308"))
    result = corpus.ingest(bad, tmp_path / "ws.duckdb")
    corpus.one_error(
        result, bad, 2, corpus.AMOUNT[fmt],
        "amount 1e+308 is out of range (more than 1,000,000,000,000 either way)",
    )  # fmt: skip


def test_an_order_whose_rows_add_up_beyond_1e12_is_one_error(corpus, tmp_path):
    """Rows sharing an order id are the order's lines: their sum is the stored amount."""
    orders = [
        corpus.order(7, "b@x.com", date(2024, 1, 3), "12.00"),
        corpus.order(8, "a@x.com", date(2024, 1, 2), "600000000000"),
        corpus.order(8, "a@x.com", date(2024, 1, 2), "600000000000"),
    ]
    path = corpus.write(tmp_path / "orders.csv", "orders", orders)
    result = corpus.ingest(path, tmp_path / "ws.duckdb")
    corpus.one_error(
        result, path, 3, "revenue",
        "order total 1,200,000,000,000.00 (its rows added up) is out of range",
    )  # fmt: skip
    assert not (tmp_path / "ws.duckdb").exists()


def test_an_order_whose_net_revenue_comes_to_beyond_1e12_is_one_error(corpus, tmp_path):
    """A Subtotal within the bound, converted by --fx to a base currency past it."""
    orders = _two(corpus, "1000000000000")
    orders[0]["extra"] = {"Currency": "KWD"}
    path = corpus.write(tmp_path / "orders.csv", "shopify", orders)
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate\nUSD,1\nKWD,2\n")
    result = corpus.ingest(path, tmp_path / "ws.duckdb", "--fx", str(rates))
    corpus.one_error(
        result, path, None, None,
        "order 1: net revenue 2,000,000,000,000.00 is out of range (more than 1,000,000,000,000",
    )  # fmt: skip
    assert not (tmp_path / "ws.duckdb").exists()


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
    orders = corpus.large_shop()
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
    from valuecast.analysis import customers as predict

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


def _identical_rows(path, n_rows: int, group: int = 500_000, customer: str = "c1@example.com"):
    """``n_rows`` identical orders written a row group at a time: a few KB on disk."""
    block = pa.table(
        {
            "customer_id": pa.array([customer] * min(group, n_rows)),
            "order_date": pa.array(["2024-03-05"] * min(group, n_rows)),
            "revenue": pa.array([12.5] * min(group, n_rows)),
        }
    )
    with pq.ParquetWriter(path, block.schema, compression="zstd") as writer:
        for start in range(0, n_rows, group):
            writer.write_table(block.slice(0, min(group, n_rows - start)))
    return path


def test_a_parquet_bomb_is_refused_from_its_metadata_without_reading_a_row(
    corpus, tmp_path, monkeypatch
):
    """2M identical rows compress to a few KB; their import would hold ~1.3 GB. The default
    limit (1 GB) refuses them from the file's footer: no row is read."""
    monkeypatch.delenv("VALUECAST_MEMORY_LIMIT", raising=False)
    path = _identical_rows(tmp_path / "bomb.parquet", 2_000_000)
    assert path.stat().st_size < 100_000

    def no_rows(*args, **kwargs):
        raise AssertionError("a row was read")

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", no_rows)
    monkeypatch.setattr(pq, "read_table", no_rows)
    workspace = tmp_path / "ws.duckdb"
    result = corpus.ingest(path, workspace)
    corpus.one_error(
        result, path, None, None,
        "its 2,000,000 rows need about 1.2 GB of memory, more than the 1 GB memory limit; "
        "raise it with VALUECAST_MEMORY_LIMIT (e.g. VALUECAST_MEMORY_LIMIT=3GB)",
    )  # fmt: skip
    assert not workspace.exists()


def test_a_parquet_file_whose_text_decodes_past_the_limit_is_refused(corpus, tmp_path, monkeypatch):
    """20,000 rows of one 10 KB customer id: a small footer, 0.2 GB once decoded. The batches
    are read dictionary-encoded and refused by their decoded size, before decoding."""
    monkeypatch.setenv("VALUECAST_MEMORY_LIMIT", "50MB")
    path = _identical_rows(tmp_path / "wide.parquet", 20_000, customer="c" * 10_000)
    workspace = tmp_path / "ws.duckdb"
    result = corpus.ingest(path, workspace)
    corpus.one_error(
        result, path, None, None,
        "its first 20,000 rows need about 0.213 GB of memory, more than the 0.05 GB memory limit",
    )  # fmt: skip
    assert not workspace.exists()


def test_a_parquet_file_within_the_limit_is_read_whole_batch_by_batch(
    corpus, tmp_path, monkeypatch
):
    """Several row groups and batches: every row is stored, as the same table in a CSV is."""
    from valuecast.io import generic

    monkeypatch.setattr(generic, "_BATCH_ROWS", 700)
    frame = pa.table(
        {
            "order_id": [f"{i}" for i in range(5_000)],
            "customer_id": [f" C{i % 900}@Example.com" for i in range(5_000)],
            "order_date": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(5_000)],
            "revenue": [f"{i % 97}.25" for i in range(5_000)],
            "channel": ["web", "shop", None, "ads", "web"] * 1_000,
        }
    )
    parquet = tmp_path / "orders.parquet"
    pq.write_table(frame, parquet, row_group_size=1_500)
    csv_path = tmp_path / "orders.csv"
    frame.to_pandas().to_csv(csv_path, index=False)
    stored = {}
    for path in (parquet, csv_path):
        workspace = tmp_path / f"{path.suffix[1:]}.duckdb"
        report = corpus.report(corpus.ingest(path, workspace, "--json"))
        assert report["orders"] == 5_000 and report["excluded_rows"] == {}
        stored[path.suffix] = corpus.stored_orders(workspace)
    assert stored[".parquet"] == stored[".csv"]
    assert sum(v[2] for v in stored[".parquet"].values()) == sum(
        i % 97 + 0.25 for i in range(5_000)
    )


def test_the_memory_budget_is_the_workspace_memory_limit(monkeypatch):
    from valuecast.io import generic
    from valuecast.store import connection

    assert generic.MEMORY_LIMIT_VARIABLE == connection.MEMORY_LIMIT_VARIABLE
    assert generic.DEFAULT_MEMORY_LIMIT == connection.DEFAULT_WORKSPACE_MEMORY_LIMIT
    for setting, budget in [(None, 10**9), ("512MB", 512 * 10**6), ("4GiB", 4 * 2**30),
                            ("1.5 GB", 15 * 10**8), ("lots", 10**9)]:  # fmt: skip
        if setting is None:
            monkeypatch.delenv("VALUECAST_MEMORY_LIMIT", raising=False)
        else:
            monkeypatch.setenv("VALUECAST_MEMORY_LIMIT", setting)
        assert generic.memory_budget() == budget
