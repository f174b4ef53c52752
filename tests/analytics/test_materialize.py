"""Intermediate tables computed once (``valuecast.analysis.backend.materialize``).

A temporary DuckDB table is held in memory uncompressed; the summary's whole numbers (days,
one customer's orders) are stored in 32 bits and read back as the 64-bit integers they were.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from valuecast.analysis.backend import (
    customer_parts,
    materialize,
    materialize_parts,
    memory_limit_bytes,
    parts_within,
)
from valuecast.analysis.summary import (
    SUMMARY_COLUMNS,
    WHOLE_NUMBER_COLUMNS,
    customer_summary,
    customer_summary_with_calibration,
)


def _temporary_tables(con) -> list[str]:
    rows = con.con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    return [name for (name,) in rows if name.startswith("valuecast_tmp_")]


def _stored_types(con) -> dict[str, str]:
    """The column types of the one temporary table :func:`materialize` made."""
    (name,) = _temporary_tables(con)
    query = "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?"
    return dict(con.con.execute(query, [name]).fetchall())


def test_narrowed_columns_are_stored_in_32_bits_and_read_as_64():
    con = ibis.duckdb.connect()
    rng = np.random.default_rng(3)
    data = pa.table(
        {
            "customer_id": pa.array([f"c{i}" for i in range(1000)]),
            "days": pa.array(rng.integers(0, 2**31 - 1, 1000), pa.int64()),
            "orders": pa.array([None, *rng.integers(1, 50, 999)], pa.int64()),
            "revenue": pa.array(rng.gamma(2.0, 30.0, 1000)),
        }
    )
    source = con.create_table("source", ibis.memtable(data))
    releases: list = []
    stored = materialize(source, releases, narrow=("days", "orders", "revenue", "absent"))
    # only 64-bit integer columns are narrowed; names the table lacks are skipped
    assert _stored_types(con) == {
        "customer_id": "VARCHAR", "days": "INTEGER", "orders": "INTEGER", "revenue": "DOUBLE",
    }  # fmt: skip
    assert stored.schema() == source.schema()
    pd.testing.assert_frame_equal(
        stored.order_by("customer_id").to_pandas(), source.order_by("customer_id").to_pandas()
    )
    releases.pop()()
    assert not _temporary_tables(con)


def test_without_narrow_the_table_is_stored_as_computed():
    con = ibis.duckdb.connect()
    source = con.create_table(
        "source", ibis.memtable(pa.table({"days": pa.array([1, 2], pa.int64())}))
    )
    stored = materialize(source, [])
    assert _stored_types(con) == {"days": "BIGINT"}
    assert sorted(stored.to_pandas()["days"]) == [1, 2]


def test_the_summaries_whole_numbers_are_the_ones_narrowed():
    """A renamed summary column would silently stop being narrowed."""
    orders = ibis.memtable(
        pd.DataFrame(
            {
                "customer_id": ["a", "a", "b"],
                "order_date": pd.to_datetime(["2024-01-02", "2024-01-20", "2024-01-05"]),
                "net_revenue": [10.0, 12.0, 7.0],
            }
        )
    )
    both = customer_summary_with_calibration(
        orders, as_of="2024-01-31", calibration_end="2024-01-15"
    )
    schema = both.schema()
    assert set(WHOLE_NUMBER_COLUMNS) <= set(schema)
    assert all(schema[name] == ibis.dtype("int64") for name in WHOLE_NUMBER_COLUMNS)
    whole_numbers = [c for c, kind in schema.items() if kind.is_integer()]
    assert sorted(whole_numbers) == sorted(WHOLE_NUMBER_COLUMNS)
    assert {"frequency", "recency", "T"} <= set(SUMMARY_COLUMNS)


def test_a_large_customers_table_is_stored_in_two_halves_by_id(monkeypatch):
    """The caller's store gets the rows in customer-id order: in one sorted part for a shop
    under ``_SORTED_IN_HALVES_FROM`` customers, else the ids below the middle one and then the
    others, each sorted (two sorts of half the rows: the peak memory of a 1M-customer analysis)."""
    from valuecast.analysis import customers as customers_module

    ids = [f"c{i:03d}" for i in np.random.default_rng(3).permutation(101)]
    con = ibis.duckdb.connect()
    table = con.create_table("customers", ibis.memtable({"customer_id": ids, "n": range(101)}))
    for halves_from, n_parts in ((len(ids) + 1, 1), (len(ids), 2)):
        monkeypatch.setattr(customers_module, "_SORTED_IN_HALVES_FROM", halves_from)
        parts: list[list[str]] = []

        def store(tables, parts=parts):
            parts.extend(t.customer_id.to_pyarrow().to_pylist() for t in tables)
            return table

        customers_module._stored(table, [], True, store, table, len(ids))
        assert len(parts) == n_parts
        assert [i for part in parts for i in part] == sorted(ids)
        assert all(part == sorted(part) for part in parts)


def _orders(customers: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = customers * 3
    return pd.DataFrame(
        {
            "customer_id": pd.array(
                [None if i % 17 == 0 else f"c{i % customers}" for i in rng.permutation(n)],
                dtype=object,
            ),
            "order_date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
            "net_revenue": rng.gamma(2.0, 30.0, n).round(2),
        }
    )


def test_a_summary_in_parts_of_customers_is_the_summary_in_one_pass():
    """Every order is in one part and each customer's orders in the same one (guests' in one
    the summaries leave them out of), so the parts' summaries hold every customer once, value
    for value the one-pass summary's."""
    con = ibis.duckdb.connect()
    orders = con.create_table("orders", ibis.memtable(_orders(500, seed=5)))
    dates = {"as_of": "2024-12-31", "calibration_end": "2024-07-31"}
    for summary in (customer_summary, customer_summary_with_calibration):
        kwargs = dates if summary is customer_summary_with_calibration else {"as_of": "2024-12-31"}
        whole = materialize(summary(orders, **kwargs), [], narrow=WHOLE_NUMBER_COLUMNS)
        parts = customer_parts(orders, 3)
        sizes = [int(part.count().execute()) for part in parts]
        assert len(sizes) == 3 and min(sizes) > 0
        assert sum(sizes) == int(orders.count().execute())
        releases: list = []
        stored = materialize_parts(
            [summary(part, **kwargs) for part in parts], releases, narrow=WHOLE_NUMBER_COLUMNS
        )
        assert len(_temporary_tables(con)) == 2  # the parts' one table beside the whole's
        assert stored.schema() == whole.schema()
        pd.testing.assert_frame_equal(
            stored.order_by("customer_id").to_pandas(), whole.order_by("customer_id").to_pandas()
        )
        releases.pop()()
        assert len(_temporary_tables(con)) == 1
        con.con.execute(f'DROP TABLE "{_temporary_tables(con)[0]}"')


def test_one_part_is_the_table_itself():
    orders = ibis.memtable(_orders(10, seed=1))
    assert customer_parts(orders, 1) == [orders]


def test_the_memory_limit_is_read_as_duckdb_shows_it():
    con = ibis.duckdb.connect()
    table = con.create_table("t", ibis.memtable({"a": [1]}))
    for setting, shown_bytes in (
        ("3GB", 2.7 * 2**30),
        ("1GB", 953.6 * 2**20),
        ("500KB", 488.2 * 2**10),
    ):
        con.raw_sql(f"SET memory_limit = '{setting}'")
        assert memory_limit_bytes(table) == int(shown_bytes)
    assert memory_limit_bytes(ibis.memtable({"a": [1]})) is None  # on no engine yet


def test_parts_keep_each_part_within_the_memory():
    assert parts_within(None, 10**9, 256, 8) == 1  # no limit known
    assert parts_within(10**9, 0, 256, 8) == 1
    assert parts_within(10**9, 3_906_250, 256, 8) == 1  # exactly the limit
    assert parts_within(10**9, 3_906_251, 256, 8) == 2
    # 10M customers' 31.2M orders under the 3.0 GB DuckDB shows as 2.7 GiB: three parts
    assert parts_within(int(2.7 * 2**30), 31_224_909, 256, 8) == 3
    assert parts_within(10**9, 10**10, 256, 8) == 8  # at most ``most``


def test_parts_on_another_engine_are_stored_as_their_union():
    """Another engine is not bound by DuckDB's memory limit: the parts are one query there."""
    con = ibis.sqlite.connect()
    source = con.create_table(
        "source", ibis.memtable({"customer_id": ["a", "b", "c"], "n": [1, 2, 3]})
    )
    releases: list = []
    stored = materialize_parts(
        [source.filter(source.n < 2), source.filter(source.n >= 2)], releases
    )
    assert sorted(stored.to_pyarrow().to_pylist(), key=lambda row: row["n"]) == [
        {"customer_id": "a", "n": 1}, {"customer_id": "b", "n": 2}, {"customer_id": "c", "n": 3},
    ]  # fmt: skip
    assert memory_limit_bytes(source) is None
    releases.pop()()
