"""The stored sort orders of the customers page: by the column, missing last, then lower-cased id."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from valuecast.store import Workspace, snapshots
from valuecast.store.sort_orders import (
    ID_ORDER,
    StoredOrders,
    ascending_order,
    compact_labels,
    descending_order,
    id_order,
    orders_table,
    sort_values,
    stable_argsort,
)

N = 400


def _customers() -> pa.Table:
    """Ids in customer-id order whose lower-cased order differs, and every kind of column with
    ties and missing values."""
    rng = np.random.default_rng(7)
    ids = sorted({f"{'C' if i % 3 == 0 else 'c'}{i:05d}" for i in rng.integers(0, 10**5, N)})
    n = len(ids)
    numbers = rng.integers(0, 6, n).astype(float)
    numbers[rng.random(n) < 0.2] = np.nan
    counts = pd.array(rng.integers(0, 4, n), dtype="Int64")
    counts[rng.random(n) < 0.1] = pd.NA
    table = pa.Table.from_pandas(
        pd.DataFrame(
            {
                "customer_id": ids,
                "number": numbers,
                "count": counts,
                "text": pd.Series(rng.choice(["a", "B", "b", None], n), dtype=object),
                "flag": pd.array(rng.choice([True, False, None], n), dtype="boolean"),
                "day": pd.to_datetime(pd.Series(rng.integers(0, 40, n)), unit="D"),
            }
        ),
        preserve_index=False,
    )
    return table.set_column(5, "day", table["day"].cast(pa.date32()))


def _expected(frame: pd.DataFrame, column: str, descending: bool) -> np.ndarray:
    """The definition, written the plain way: lexsort on (missing, value, lower-cased id rank)."""
    lowered = frame["customer_id"].str.lower().to_numpy(dtype=object)
    rank = np.empty(len(frame), dtype=np.int64)
    rank[np.argsort(lowered, kind="stable")] = np.arange(len(frame))
    values = frame[column]
    missing = values.isna().to_numpy(dtype=bool)
    if column in ("text", "customer_id", "day"):
        key = pd.factorize(values, sort=True, use_na_sentinel=True)[0].astype(float)
    else:
        key = values.astype("float64").to_numpy(dtype=float, na_value=np.nan)
    key = np.where(missing, 0.0, key)
    return np.lexsort((rank, -key if descending else key, missing))


@pytest.mark.parametrize("column", ["customer_id", "number", "count", "text", "flag", "day"])
def test_orders_are_the_definition(column):
    table = _customers()
    frame = table.to_pandas()
    by_id = id_order(table["customer_id"])
    ascending = ascending_order(table[column], by_id)
    assert np.array_equal(ascending, _expected(frame, column, False))
    descending = descending_order(ascending, table[column])
    assert np.array_equal(descending, _expected(frame, column, True))


@pytest.mark.parametrize("column", ["customer_id", "number", "count", "text", "flag", "day"])
def test_orders_of_ids_in_lower_cased_order_are_the_definition(column):
    # every id lower-case, the rows in id order: the lower-cased id order is the rows' own
    table = _customers()
    table = table.set_column(0, "customer_id", pc.utf8_lower(table["customer_id"]))
    table = table.take(pc.sort_indices(table["customer_id"]))
    by_id = id_order(table["customer_id"])
    assert np.array_equal(by_id, np.arange(len(table)))
    ascending = ascending_order(table[column], by_id)
    assert ascending.dtype == by_id.dtype
    assert np.array_equal(ascending, _expected(table.to_pandas(), column, False))


def test_a_nan_that_is_not_null_is_missing_too():
    table = _customers()
    numbers = pa.array(table["number"].to_numpy(zero_copy_only=False), from_pandas=False)
    assert numbers.null_count == 0 and np.isnan(numbers.to_numpy(zero_copy_only=False)).any()
    table = table.set_column(1, "number", numbers)
    by_id = id_order(table["customer_id"])
    ascending = ascending_order(table["number"], by_id)
    expected = _expected(table.to_pandas(), "number", True)
    assert np.array_equal(descending_order(ascending, table["number"]), expected)


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        (["a1", "a1", "b", "c0"], [0, 1, 2, 3]),  # in order, ties kept in order
        (["A1", "b2", "c"], [0, 1, 2]),  # upper case, still in lower-cased order
        (["A", "B", "a", "b"], [0, 2, 1, 3]),  # byte order is not lower-cased order
        (["b", "a", "a"], [1, 2, 0]),
    ],
)
def test_id_order_keeps_rows_already_in_order(ids, expected):
    assert id_order(pa.chunked_array([ids[:2], ids[2:]])).tolist() == expected
    assert id_order(pa.array(ids)).tolist() == expected


def test_orders_of_a_dict_of_columns_let_go_of_each_column():
    table = _customers()
    columns = dict(zip(table.column_names, table.columns, strict=True))
    orders = orders_table(columns, ["number", "text", "day"])
    assert set(columns) == {"customer_id", "count", "flag"}  # the ones not ordered stay
    assert orders.equals(orders_table(table, ["number", "text", "day"]))


def test_labels_dictionary_encoded_sort_as_their_text():
    table = _customers()
    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=97))  # one dictionary each
    compact = {name: compact_labels(chunked[name]) for name in chunked.column_names}
    assert pa.types.is_dictionary(compact["text"].type)
    assert not pa.types.is_dictionary(compact["customer_id"].type)  # ids: every one distinct
    columns = ["customer_id", "text", "number", "day"]
    assert orders_table(compact, columns).equals(orders_table(table, columns))


def test_stored_orders_read_each_column_once_when_first_used():
    orders = orders_table(_customers(), ["text", "day", "absent"])
    reads = []
    stored = StoredOrders(
        orders.column_names, orders.num_rows, lambda name: reads.append(name) or orders[name]
    )
    assert set(stored) == {ID_ORDER, "text", "day"} and stored.rows == orders.num_rows
    assert reads == []
    assert stored["day"] is stored["day"]
    assert reads == ["day"]
    with pytest.raises(KeyError):
        stored["absent"]


@pytest.mark.parametrize(
    "values",
    [
        # many ties (a few amounts), missing values, signed zeros and infinities, in a column
        # long enough that numpy's unstable sort does not keep equal keys in order by chance
        np.random.default_rng(3).choice([0.0, -0.0, 1.5, 2.25, np.inf, -np.inf, np.nan], 20_000),
        np.round(np.random.default_rng(4).random(20_000) * 50) / 2,
        np.random.default_rng(5).random(20_000),  # no two equal
        np.full(5_000, np.nan),
        np.full(5_000, 7.0),
        np.array([np.nan, 1.0]),
        np.array([1.0]),
        np.array([], dtype=float),
        np.random.default_rng(6).integers(0, 70_000, 20_000),  # whole numbers: numpy's own
    ],
)
def test_stable_argsort_is_numpys_stable_sort(values):
    for keys in (values, values.astype(np.float32)):
        assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))


def _permutations(rows: int, names: list[str], seed: int = 11) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({name: rng.permutation(rows).astype(np.int32) for name in names})


def _read_back(ws, snapshot_id: int) -> pa.Table:
    return pa.table(dict(snapshots.load_sort_orders(ws, snapshot_id)))


def test_stored_sort_orders_are_read_back_in_their_order_and_replaced(tmp_path):
    # several row groups, written and read with parallel threads
    first = _permutations(300_000, [ID_ORDER, "historic_clv"])
    with Workspace(tmp_path / "w.duckdb") as ws:
        ws.raw.execute("SET threads = 4")
        snapshots.save_sort_orders(ws, 1, first)
        snapshots.save_sort_orders(ws, 2, _permutations(1_000, [ID_ORDER, "rfm_group"], seed=3))
        assert _read_back(ws, 1).equals(first)
        # stored again: replaced, not added to; a column the first did not have is added
        again = _permutations(300_000, [ID_ORDER, "historic_clv"], seed=5)
        snapshots.save_sort_orders(ws, 1, again)
        assert _read_back(ws, 1).equals(again)
        assert _read_back(ws, 2).equals(_permutations(1_000, [ID_ORDER, "rfm_group"], seed=3))
        assert snapshots.load_sort_orders(ws, 3) is None


def test_sort_orders_larger_than_the_memory_limit_are_stored_and_read(tmp_path):
    # the orders as one Parquet BLOB needed twice their size in DuckDB's memory at once: here
    # that is more than the limit, as 10M customers' orders were beside the analysis' files
    orders = _permutations(4_000_000, [ID_ORDER, "historic_clv", "predicted_clv"])
    assert orders.nbytes > 40 * 2**20
    with Workspace(tmp_path / "w.duckdb", memory_limit="40MB") as ws:
        snapshots.save_sort_orders(ws, 1, orders)
        assert _read_back(ws, 1).equals(orders)


def test_the_earlier_parquet_sort_orders_are_not_read_and_are_replaced(tmp_path):
    with Workspace(tmp_path / "w.duckdb") as ws:
        snapshots.save_pages(ws, 1, {"sort_orders.parquet": b"PAR1 ...", "view.json": b"{}"})
        assert set(snapshots.load_pages(ws, 1)) == {"view.json"}
        orders = _permutations(10, [ID_ORDER])
        snapshots.save_sort_orders(ws, 1, orders)
        assert set(snapshots.load_pages(ws, 1)) == {"view.json", snapshots.SORT_ORDERS}
        stale = ws.raw.execute("SELECT count(*) FROM snapshot_pages WHERE name LIKE '%parquet'")
        assert stale.fetchone() == (0,)
        assert _read_back(ws, 1).equals(orders)


@pytest.mark.parametrize("compact", [False, True])
def test_rfm_groups_and_tiers_sort_by_rank_not_alphabetically(compact):
    ids = [f"c{i}" for i in range(7)]
    groups = ["Promising", "Champions", None, "Dormant", "Loyal", "Champions", "At risk"]
    tiers = ["medium", "low", "high", None, "high", "medium", "low"]
    table = pa.table({"customer_id": ids, "rfm_group": groups, "predicted_spend_tier": tiers})
    columns = {name: table[name] for name in table.column_names}
    if compact:
        columns = {name: compact_labels(column) for name, column in columns.items()}
    orders = orders_table(dict(columns), ["rfm_group", "predicted_spend_tier"])
    by_id = orders[ID_ORDER].to_numpy()

    def shown(name: str, descending: bool) -> list:
        ascending = orders[name].to_numpy()
        values = sort_values(name, table[name])
        order = descending_order(ascending, values) if descending else ascending
        assert np.array_equal(order, ascending_order(values, by_id)) or descending
        return [table[name][int(i)].as_py() for i in order]

    # best first when descending (what the dashboard's "▼" shows), missing last either way
    assert shown("rfm_group", True) == [
        "Champions", "Champions", "Loyal", "Promising", "At risk", "Dormant", None
    ]  # fmt: skip
    assert shown("rfm_group", False) == [
        "Dormant", "At risk", "Promising", "Loyal", "Champions", "Champions", None
    ]  # fmt: skip
    assert shown("predicted_spend_tier", True) == [
        "high", "high", "medium", "medium", "low", "low", None
    ]  # fmt: skip
