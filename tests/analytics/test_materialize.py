"""Intermediate tables computed once (``valuecast.analysis.backend.materialize``).

A temporary DuckDB table is held in memory uncompressed; the summary's whole numbers (days,
one customer's orders) are stored in 32 bits and read back as the 64-bit integers they were.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from valuecast.analysis.backend import materialize
from valuecast.analysis.summary import (
    SUMMARY_COLUMNS,
    WHOLE_NUMBER_COLUMNS,
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
