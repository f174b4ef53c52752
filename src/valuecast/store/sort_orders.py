"""The sort orders of a snapshot's customers table: computed once, after the snapshot is stored.

A sort order is a permutation of the table's rows, the rows being in customer-id order (as
:func:`valuecast.store.snapshots.customers_arrow_table` reads them): by the column's value,
missing values last in both directions, ties by the lower-cased customer id.  The dashboard pages
the customers table by slicing one (:mod:`valuecast.web.customers`), so the orders of the columns
its customers page shows (:data:`valuecast.tables.PAGE_COLUMNS`) are stored with the snapshot
(:func:`valuecast.store.snapshots.store_sort_orders`) instead of being sorted when the server
starts.

Only the ascending order is stored: the descending one is the same blocks of equal values in
reverse order (each block keeps its id order, the missing values stay last), an O(n) step
(:func:`descending_order`) where a sort of a million values is 0.1-0.3 s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from valuecast.io.csvfile import release_arrow_pages
from valuecast.tables import GROUPS, TIERS

RANKED_LABELS: dict[str, tuple[str, ...]] = {
    "rfm_group": GROUPS,
    "predicted_spend_tier": TIERS,
    "historic_spend_tier": TIERS,
}
"""Columns of labels that sort by rank, not alphabetically (best first: descending)."""

SORT_ORDERS = "sort_orders.json"
"""The snapshot's page naming the sort orders it stored and its number of rows."""

SORT_ORDERS_TABLE = "snapshot_sort_orders"
"""The table of the snapshots' stored sort orders: a row per customer, a column per order."""

ID_ORDER = "__lower_case_id__"
"""The stored order of the rows by lower-cased customer id (the tie-break and the id search)."""


def id_order(ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Row positions sorted by lower-cased id; rows whose lower-cased ids are equal keep their
    order (the customer-id order of the table)."""
    lowered = pc.utf8_lower(ids)
    if non_decreasing(lowered):  # already in lower-cased id order: no sort of the texts
        return _positions(np.arange(len(ids)))
    return _positions(pc.sort_indices(lowered))


def non_decreasing(values: pa.ChunkedArray | pa.Array) -> bool:
    """Whether a stable sort leaves ``values`` as they are: none missing and none smaller than
    the one before (one comparison per row, where a sort of 10M texts takes seconds)."""
    if values.null_count:
        return False
    return len(values) < 2 or bool(pc.all(pc.less_equal(values[:-1], values[1:])).as_py())


def _positions(indices: pa.Array | np.ndarray) -> np.ndarray:
    positions = np.asarray(indices)
    return positions.astype(np.int32) if len(positions) < 2**31 else positions.astype(np.int64)


def _key(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The column as sort keys with missing values last: float64 (missing NaN) for fractional
    numbers; for text (the rank of the sorted distinct values), dates, booleans and integers,
    whole numbers from 0 with missing the largest, 16-bit when they fit (numpy sorts those
    stably by radix, 10x faster than a merge sort of floats)."""
    kind = values.type
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        key = values.cast(pa.float64())
        key = key.combine_chunks() if isinstance(key, pa.ChunkedArray) else key
        return key.to_numpy(zero_copy_only=False)  # nulls as NaN
    if pa.types.is_dictionary(kind):
        values = _label_ranks(_one_dictionary(values))
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        # dense ranks from 1; the missing values share the last one
        values = _dense_ranks(values)
    elif pa.types.is_timestamp(kind):
        values = values.cast(pa.int64())
    elif pa.types.is_date(kind):
        values = values.cast(pa.int32())
    elif pa.types.is_boolean(kind):
        values = values.cast(pa.int8())
    present = pc.min_max(values)
    low, high = present["min"].as_py() or 0, present["max"].as_py() or 0
    whole = values.cast(pa.int64()).fill_null(high + 1)
    whole = whole.combine_chunks() if isinstance(whole, pa.ChunkedArray) else whole
    key = whole.to_numpy() - low
    return key.astype(np.uint16) if high + 1 - low < 2**16 else key


def sort_values(column: str, values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """What ``column`` sorts by: its values, or for labels of a rank (:data:`RANKED_LABELS`:
    RFM groups, spend tiers) the rank, worst 0 to best highest, so that a descending sort puts
    Champions and the high tier first (a label of no rank counts as missing)."""
    best_first = RANKED_LABELS.get(column)
    if best_first is None:
        return values
    worst_first = pa.array(list(reversed(best_first)), pa.string())
    if pa.types.is_dictionary(values.type):
        encoded = _one_dictionary(values)
        ranks = pc.index_in(encoded.dictionary.cast(pa.string()), value_set=worst_first)
        return pc.take(ranks, encoded.indices)
    return pc.index_in(values.cast(pa.string()), value_set=worst_first)


def _dense_ranks(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """``pc.rank(values, tiebreaker="dense")``: the missing values share the last rank.

    A column of a few labels (RFM groups, tiers, channels) is ranked through its distinct
    values: one hash pass and a sort of the labels, where ranking sorts every row's text
    (0.15 s a column at 1M customers).
    """
    if non_decreasing(values):
        # text in order already (the ids): the rank goes up by one wherever the text changes,
        # where ranking sorts every row's text (seconds and two index arrays at 10M ids)
        if len(values) == 0:
            return pa.array([], pa.int64())
        changes = pc.not_equal(values[1:], values[:-1]).to_numpy(zero_copy_only=False)
        return pa.array(np.concatenate(([1], 1 + np.cumsum(changes))))
    if not _few_labels(values):
        # mostly distinct values (ids): ranking them is cheaper than hashing them first
        return pc.rank(values, sort_keys="ascending", tiebreaker="dense")
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return _label_ranks(pc.dictionary_encode(values))


def _few_labels(values: pa.ChunkedArray | pa.Array) -> bool:
    """Whether the text's first rows repeat a few labels (RFM groups, tiers, channels)."""
    sample = values.slice(0, 4096)
    return pc.count_distinct(sample, mode="all").as_py() * 4 <= len(sample)


def compact_labels(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text of a few labels dictionary-encoded (a 4-byte code a row where 10M customers' labels
    take ~170 MB as text); anything else as it is.  :func:`orders_table` ranks either."""
    kind = values.type
    if (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and _few_labels(values):
        return values.dictionary_encode()
    return values


def _one_dictionary(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.unify_dictionaries().combine_chunks()
    return values


def _label_ranks(encoded: pa.DictionaryArray) -> pa.Array:
    """The dense ranks of dictionary-encoded text, through its sorted labels."""
    labels = encoded.dictionary
    label_ranks = np.empty(len(labels) + 1, dtype=np.int64)
    label_ranks[np.asarray(pc.sort_indices(labels))] = np.arange(1, len(labels) + 1)
    label_ranks[len(labels)] = len(labels) + 1  # the missing values
    codes = encoded.indices.fill_null(len(labels)).to_numpy()
    return pa.array(label_ranks[codes])


def ascending_order(values: pa.ChunkedArray | pa.Array, by_id: np.ndarray) -> np.ndarray:
    """Row positions sorted by ``values`` (missing last), ties by lower-cased id; ``by_id`` is
    :func:`id_order` of the same rows."""
    keys = _key(values)
    # a stable sort keeps the id order within equal values; NaN (missing) sorts last
    if _each_in_place(by_id):  # ids of digits or lower-case text: no gathers of every row
        return stable_argsort(keys).astype(by_id.dtype, copy=False)
    return by_id[stable_argsort(keys[by_id])]


def _each_in_place(positions: np.ndarray) -> bool:
    """Whether ``positions`` is 0, 1, 2, ...: one pass, where a gather by it is a random read
    of every row (~1.3 s of CPU of the 10M customers' sort orders)."""
    if len(positions) == 0:
        return True
    return bool(positions[0] == 0 and (np.diff(positions) == 1).all())


def stable_argsort(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")``: positions by key, equal keys in position order, NaN
    last (the missing values, equal to each other).

    Float keys are sorted by numpy's vectorised sort, which is not stable, and then each run of
    equal keys is put in position order by one sort of whole numbers (run, position): 0.05-0.08 s
    a column of a million floats where the stable merge sort takes 0.09-0.12 s.
    """
    if keys.dtype.kind != "f" or len(keys) < 2:
        return np.argsort(keys, kind="stable")
    order = np.argsort(keys)
    values = keys[order]
    missing = np.isnan(values)
    starts_run = values[1:] != values[:-1]
    starts_run &= ~(missing[1:] & missing[:-1])  # NaN is unequal to NaN, but one run here
    del values, missing
    if starts_run.all():  # no two keys equal: the order is the stable one
        return order
    # (run, position) as one number, run * len + position, sorted: positions within each run
    # in ascending order; below 2**63 for up to three billion rows
    ranked = np.zeros(len(keys), dtype=np.int64)
    np.cumsum(starts_run, out=ranked[1:])
    del starts_run
    ranked *= len(keys)
    ranked += order
    del order
    ranked.sort()
    ranked %= len(keys)
    return ranked


def descending_order(ascending: np.ndarray, values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The descending order from the ascending one: the blocks of equal values in reverse order,
    each block in its id order, missing values still last."""
    present = len(ascending) - pc.sum(pc.is_null(values, nan_is_null=True)).as_py()
    sorted_values = values.take(pa.array(ascending[:present]))
    if isinstance(sorted_values, pa.ChunkedArray):
        sorted_values = sorted_values.combine_chunks()
    if present == 0:
        return ascending.copy()
    changes = pc.not_equal(sorted_values[1:], sorted_values[:-1]).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.concatenate(([True], changes)))
    lengths = np.diff(np.append(starts, present))
    starts, lengths = starts[::-1], lengths[::-1]
    # position i of the result takes the i-th element of the blocks laid out in reverse order
    shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    taken = np.arange(present) + shift
    return np.concatenate((ascending[:present][taken], ascending[present:]))


def orders_table(
    customers: pa.Table | MutableMapping[str, pa.ChunkedArray], columns: Iterable[str]
) -> pa.Table:
    """The ascending orders of ``columns`` and :data:`ID_ORDER` of ``customers`` (rows in
    customer-id order), one int column each.

    ``customers`` is a table or a mapping of its columns by name (a dict, or columns read from
    the workspace when looked up); a mapping is emptied as the orders are made, each column let
    go of once its order is made (the page's columns of 10M customers hold ~1.2 GB, their
    orders ~0.5 GB).
    """
    by_name = isinstance(customers, MutableMapping)
    column = customers.pop if by_name else customers.column
    names = set(customers) if by_name else set(customers.column_names)
    by_id = id_order(customers["customer_id"])
    orders = {ID_ORDER: by_id}
    for name in columns:
        if name in names:
            orders[name] = ascending_order(sort_values(name, column(name)), by_id)
            release_arrow_pages()  # the column's text and keys, let go of just now
    return pa.table(orders)


class StoredOrders(Mapping):
    """The ascending orders a snapshot stored, by column name, each read when first used
    (``read(name)``: most are never clicked) and kept."""

    def __init__(self, names: Iterable[str], rows: int, read: Callable[[str], np.ndarray]) -> None:
        self._names = tuple(names)
        self.rows = rows
        self._read = read
        self._read_orders: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()  # one read of a column, however many ask for it

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._names:
            raise KeyError(name)
        with self._lock:
            if name not in self._read_orders:
                self._read_orders[name] = self._read(name)
            return self._read_orders[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)
