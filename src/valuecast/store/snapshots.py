"""Snapshot storage: every analysis kept in the workspace, so CLV can be recalculated and compared.

A snapshot is one run of the analysis: its customers table, its ``summary.json``, the ingest report
it was run after and its growth tables (cohorts, channels, products, ...).  They live in three
tables of the workspace DuckDB file::

    snapshots           snapshot_id, created_at, as_of, summary (JSON), ingest_report (JSON)
    snapshot_customers  snapshot_id + the customers table (valuecast.tables.CUSTOMER_COLUMNS)
    snapshot_tables     snapshot_id, name (e.g. "cohorts.csv"), data (the table as Parquet bytes)
    snapshot_pages      snapshot_id, name, data: what the dashboard shows of the snapshot,
                        computed once, after the snapshot is committed, by what shows it
                        (``analyze``, the dashboard's uploads): the pages' charts and segment
                        counts (``view.json``, written by the dashboard's
                        :func:`valuecast.web.views.store_view`) and which sort orders the
                        snapshot stored (``sort_orders.json``); a snapshot without them has them
                        computed when ``valuecast serve`` starts
    snapshot_sort_orders  snapshot_id + an integer column per sort order of the customers page's
                        columns (:func:`store_sort_orders`), a row per customer

A snapshot is dated by its as-of date: analysing the same as-of date again replaces that date's
snapshot (a corrected export, other options), a later as-of date adds one.  Saving is one
transaction, and :func:`valuecast.jobs.refresh.refresh` holds the ingest, the analysis that
reads it and the snapshot in one transaction too, so a killed process leaves the workspace as it
was before.  This module owns the snapshot tables and their SQL; comparing snapshots is
:mod:`valuecast.analysis.compare`.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from valuecast.errors import ValuecastError
from valuecast.io.schema import sql_string
from valuecast.provenance import source_fingerprint
from valuecast.store.memory import release_unused_memory
from valuecast.store.sort_orders import (
    SORT_ORDERS,
    SORT_ORDERS_TABLE,
    StoredOrders,
    non_decreasing,
    orders_table,
)
from valuecast.store.workspace import connection_table_names
from valuecast.tables import DATE_COLUMNS, PAGE_COLUMNS, predicting_model

__all__ = [
    "SnapshotError",
    "SnapshotCustomers",
    "SnapshotInfo",
    "LaterRewrites",
    "customer_history",
    "customers_arrow",
    "customers_arrow_table",
    "customers_batches",
    "customers_table",
    "frame_from_parquet",
    "high_value_movers",
    "keep_snapshot_current",
    "ingested_since",
    "label_moves",
    "latest_options",
    "latest_snapshot",
    "list_snapshots",
    "load_customers",
    "load_ingest_report",
    "load_pages",
    "load_sort_order",
    "load_sort_orders",
    "load_summary",
    "load_tables",
    "parquet_bytes",
    "renamed_customers",
    "rewrites_between",
    "rewritten_orders",
    "resolve_snapshot",
    "reusable_snapshot",
    "save_pages",
    "save_snapshot",
    "save_sort_orders",
    "snapshot_sort_orders",
    "store_sort_orders",
    "stored_sort_orders",
    "stored_summaries",
]


class SnapshotError(ValuecastError, ValueError):
    """A snapshot that does not exist, or nothing to compare (rendered as one line)."""


@dataclass(frozen=True)
class SnapshotInfo:
    """One stored analysis: its id, as-of date, when it was made and its headline figures."""

    snapshot_id: int
    as_of: date
    created_at: datetime
    n_customers: int
    historic_clv: float
    predicted_clv: float | None
    model: str | None
    currency: str | None = None
    """The currency the amounts are in (None when the files named none)."""
    replaced: tuple[int, ...] = ()
    """The snapshots of the same as-of date this one replaced as it was saved."""
    made_here: bool = True
    """Whether this build of valuecast made it (:mod:`valuecast.provenance`): an earlier
    build's figures follow its definitions."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "snapshot_id": self.snapshot_id,
            "as_of": self.as_of.isoformat(),
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "n_customers": self.n_customers,
            "historic_clv": self.historic_clv,
            "predicted_clv": self.predicted_clv,
            "model": self.model,
            "currency": self.currency,
        }


# ------------------------------------------------------------------------------------------------
# storage
# ------------------------------------------------------------------------------------------------
def _raw(workspace) -> Any:
    # the connection itself: writing and reading stored rows needs no Ibis backend
    return workspace.raw


def _rows(workspace, query: str, params: list | None = None) -> list[tuple]:
    raw = _raw(workspace)
    return (raw.execute(query, params) if params else raw.execute(query)).fetchall()


def _frame(workspace, query: str, params: list) -> pd.DataFrame:
    """A query's rows as a DataFrame, through Arrow (one copy)."""
    return _raw(workspace).sql(query, params=params).to_arrow_table().to_pandas()


def _has_snapshots(workspace) -> bool:
    return "snapshots" in connection_table_names(_raw(workspace))


def customers_arrow(customers: pd.DataFrame) -> pa.Table:
    """The customers table as Arrow with its dates as calendar dates (what files and DuckDB hold)."""
    frame = customers.assign(
        **{
            column: pd.to_datetime(customers[column]).astype("datetime64[s]")
            for column in DATE_COLUMNS
            if column in customers
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    for column in DATE_COLUMNS:
        if column in table.column_names:
            index = table.schema.get_field_index(column)
            table = table.set_column(index, column, pc.cast(table.column(column), pa.date32()))
    return table


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as a Parquet file's bytes (how the workspace keeps small tables in a BLOB)."""
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue()


def frame_from_parquet(data: bytes) -> pd.DataFrame:
    """The frame :func:`parquet_bytes` stored."""
    return pq.read_table(io.BytesIO(data)).to_pandas()


def _ensure_tables(workspace, relation: str) -> None:
    """Create the snapshot tables, and add any customers column a newer version introduced;
    ``relation`` is the SQL relation of the customers table being stored."""
    raw = _raw(workspace)
    raw.execute(
        "CREATE TABLE IF NOT EXISTS snapshots (snapshot_id BIGINT, created_at TIMESTAMP, "
        "as_of DATE, summary VARCHAR, ingest_report VARCHAR, options VARCHAR, ingest_id BIGINT)"
    )
    for table in ("snapshot_tables", "snapshot_pages"):
        raw.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (snapshot_id BIGINT, name VARCHAR, data BLOB)"
        )
    # its order columns are added by the first snapshot that stores them
    raw.execute(f"CREATE TABLE IF NOT EXISTS {SORT_ORDERS_TABLE} (snapshot_id BIGINT)")
    raw.execute(
        "CREATE TABLE IF NOT EXISTS snapshot_customers AS "
        f"SELECT CAST(0 AS BIGINT) AS snapshot_id, * FROM {relation} LIMIT 0"
    )
    present = _column_names(raw, "snapshot_customers")
    types = raw.execute(f"SELECT column_name, column_type FROM (DESCRIBE {relation})").fetchall()
    for column, kind in types:
        if column not in present:
            raw.execute(f'ALTER TABLE snapshot_customers ADD COLUMN "{column}" {kind}')


def _column_names(raw, table: str) -> set[str]:
    """The column names of workspace table ``table``."""
    rows = raw.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ?",
        [table],
    ).fetchall()
    return {row[0] for row in rows}


@contextmanager
def _customers_relation(workspace, analysis) -> Iterator[str | None]:
    """The analysis' customers table as a SQL relation of the workspace's connection: its
    engine table when it is kept there (copied by SQL, no round trip through Python), else its
    frame as a registered Arrow table; None when the analysis wrote it as the snapshot's rows
    already (:class:`SnapshotCustomers`)."""
    written = getattr(analysis, "snapshot_rows", None)
    if written is not None and written.snapshot_id is not None:
        yield None
        return
    if getattr(analysis, "in_engine", False):
        yield _engine_relation(workspace, analysis.table)
        return
    raw = _raw(workspace)
    raw.register("_snapshot_new", customers_arrow(analysis.customers))
    try:
        yield "_snapshot_new"
    finally:
        raw.unregister("_snapshot_new")


def _engine_relation(workspace, table) -> str:
    """``table`` (an Ibis table on the workspace) as a subquery storing NaN as missing, as the
    frame's Arrow table does (pandas holds both as NaN)."""
    columns = [
        f'CASE WHEN isnan("{name}") THEN NULL ELSE "{name}" END AS "{name}"'
        if kind.is_floating()
        else f'"{name}"'
        for name, kind in table.schema().items()
    ]
    return f"(SELECT {', '.join(columns)} FROM ({workspace.con.compile(table)}))"


LABELS_AS_ENUM = 1000
"""A text column of at most this many distinct labels is read from the engine as an ENUM."""


def _distinct_labels(cursor, relation: str, names: list[str]) -> list[list[str]]:
    """The distinct present values of each text column ``names`` of ``relation`` (one scan);
    an empty list for a column of more than :data:`LABELS_AS_ENUM`."""
    if not names:
        return []
    bound = LABELS_AS_ENUM + 1
    lists = ", ".join(
        f'(SELECT list(v) FROM (SELECT DISTINCT "{name}" AS v FROM {relation} '
        f'WHERE "{name}" IS NOT NULL LIMIT {bound}))'
        for name in names
    )
    found = cursor.execute(f"SELECT {lists}").fetchall()[0]
    return [values if values and len(values) <= LABELS_AS_ENUM else [] for values in found]


class SnapshotCustomers:
    """The customers table of the snapshot being made, written into ``snapshot_customers`` by the
    analysis itself (:meth:`store`), so that its rows are written once: the analysis reads them
    there, and :func:`save_snapshot` completes the snapshot around them instead of copying them.

    Only inside the workspace's open transaction (:meth:`Workspace.transaction`), which
    :func:`save_snapshot` joins: rows stored without their snapshot's row are never committed.
    """

    def __init__(self, workspace) -> None:
        self._workspace = workspace
        self.snapshot_id: int | None = None

    def store(self, parts: Sequence[Any]) -> Any:
        """Write ``parts`` (Ibis tables on the workspace of the same columns, the customers
        table in the order its readers scan it, part after part) as the new snapshot's
        customers; returns the stored rows as an Ibis table of their columns and types, read in
        the order they were written.

        Float NaN is stored as it is until :func:`save_snapshot` stores it as missing: what
        reads the rows before (the totals, the growth tables) sees the analysis' values.
        """
        workspace = self._workspace
        if not workspace.in_transaction:
            raise RuntimeError("the snapshot's customers are stored inside a transaction only")
        if self.snapshot_id is not None:
            raise RuntimeError(f"snapshot {self.snapshot_id}'s customers are stored already")
        # the models' arrays, freed by now, are in the C heap's free lists until trimmed
        # (~0.1 GB at 1M customers, in 6 ms), and DuckDB keeps the orders' pages cached, which
        # the rows' query does not read (~0.08 GB, 18 ms): the rows' sort and write use both
        release_unused_memory(collect=False)
        workspace.release_cached_pages()
        schema = parts[0].schema()
        with _empty_like(workspace, parts[0]) as relation:
            _ensure_tables(workspace, relation)
        snapshot_id = _next_snapshot_id(workspace)
        # by Ibis, which registers the in-memory tables the expression reads (compiled SQL text
        # alone would miss them); its ORDER BY stays the outer query's, so the rows are written
        # in that order
        for part in parts:
            numbered = part.mutate(snapshot_id=ibis.literal(snapshot_id, type="int64"))
            workspace.con.insert("snapshot_customers", numbered)
            # the part's sort, for the next part and the Python steps that follow
            workspace.release_freed_memory()
        self.snapshot_id = snapshot_id
        return _typed_as(customers_table(workspace, snapshot_id), schema)


@contextmanager
def _empty_like(workspace, table) -> Iterator[str]:
    """A temporary table of ``table``'s columns and types and no rows, as a SQL relation.

    Made from the schema: a query of ``table`` with no rows still builds its joins' hash tables
    (0.2 s for 1M customers)."""
    name = f"valuecast_columns_{uuid.uuid4().hex[:12]}"
    workspace.con.create_table(name, schema=table.schema(), temp=True)
    try:
        yield f'"{name}"'
    finally:
        _raw(workspace).execute(f'DROP TABLE IF EXISTS "{name}"')


def _typed_as(stored, schema) -> Any:
    """``stored``'s columns of ``schema`` in its order and types: a workspace made by an older
    version holds its columns in the order they were added."""
    return stored.select(
        *(
            stored[name] if stored[name].type() == kind else stored[name].cast(kind).name(name)
            for name, kind in schema.items()
        )
    )


def _insert_customers(workspace, snapshot_id: int, relation: str) -> None:
    """The rows of ``relation`` (the customers table) as snapshot ``snapshot_id``'s customers."""
    _raw(workspace).execute(
        "INSERT INTO snapshot_customers BY NAME "
        f"SELECT CAST({int(snapshot_id)} AS BIGINT) AS snapshot_id, * FROM {relation}"
    )


def _next_snapshot_id(workspace) -> int:
    # ids are never reused: a replaced snapshot's id names nothing afterwards; the result is
    # fetched to its end, as an unfinished one blocks the connection for Ibis
    query = "SELECT coalesce(max(snapshot_id), 0) + 1 FROM snapshots"
    return int(_rows(workspace, query)[0][0])


def _stored_nan_as_missing(workspace, snapshot_id: int, schema) -> None:
    """Store the float NaN of snapshot ``snapshot_id``'s customers as missing, as a frame's
    Arrow table holds them (pandas holds both as NaN): one filtered count of the rows holding
    any (a count per column costs 20 times as much: 0.26 s of CPU for 5M rows), and only when
    there are some, an update per column."""
    floats = [name for name, kind in schema.items() if kind.is_floating()]
    if not floats:
        return
    any_nan = " OR ".join(f'isnan("{name}")' for name in floats)
    query = f"SELECT count(*) FROM snapshot_customers WHERE snapshot_id = ? AND ({any_nan})"
    if not _rows(workspace, query, [snapshot_id])[0][0]:
        return
    for name in floats:
        _raw(workspace).execute(
            f'UPDATE snapshot_customers SET "{name}" = NULL '
            f'WHERE snapshot_id = ? AND isnan("{name}")',
            [snapshot_id],
        )


def save_snapshot(
    workspace,
    analysis,
    tables: dict[str, pd.DataFrame] | None = None,
    ingest_report: dict | None = None,
    options=None,
) -> SnapshotInfo:
    """Store ``analysis`` (and its growth ``tables``) as the snapshot of its as-of date.

    One transaction (or part of the caller's, see :meth:`Workspace.transaction`); a snapshot of
    the same as-of date is replaced.  ``options`` (the ``AnalysisOptions`` it ran with) and the
    workspace's last ingest are recorded, so that commands needing the same analysis of the same
    data can read it instead of running it again (:func:`reusable_snapshot`).  An analysis whose
    customers the analysis stored as the snapshot's already (its ``snapshot_rows``, a
    :class:`SnapshotCustomers` that stored them) keeps that snapshot id and those rows.

    The dashboard's pages of the snapshot (:func:`save_pages`: its sort orders, its charts) are
    made from the committed snapshot by what shows them (:func:`store_sort_orders`), after the
    commit: made inside it, they would hold the page's columns while the analysis runs.
    """
    summary = analysis.summary
    as_of = date.fromisoformat(str(summary["as_of"])[:10])
    created_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with workspace.transaction(), _customers_relation(workspace, analysis) as relation:
        if relation is None:  # the analysis wrote its customers as this snapshot's rows
            snapshot_id = analysis.snapshot_rows.snapshot_id
        else:
            _ensure_tables(workspace, relation)
            snapshot_id = _next_snapshot_id(workspace)
        replaced = _replace_as_of(workspace, as_of)
        _insert_row(workspace, snapshot_id, created_at, as_of, summary, ingest_report, options)
        if relation is not None:
            _insert_customers(workspace, snapshot_id, relation)
        else:
            _stored_nan_as_missing(workspace, snapshot_id, analysis.table.schema())
        for name, frame in (tables or {}).items():
            _raw(workspace).execute(
                "INSERT INTO snapshot_tables VALUES (?, ?, ?)",
                [snapshot_id, name, parquet_bytes(frame)],
            )
        workspace.release_freed_memory()  # before the commit writes the new rows out
    info = _info(snapshot_id, created_at, as_of, summary)
    return replace(info, replaced=tuple(old for old in replaced if old != snapshot_id))


def _replace_as_of(workspace, as_of: date) -> list[int]:
    """Delete the snapshot of ``as_of``, if any (one snapshot per as-of date); return its id."""
    raw = _raw(workspace)
    replaced = [
        row[0]
        for row in raw.execute(
            "SELECT snapshot_id FROM snapshots WHERE as_of = ?", [as_of]
        ).fetchall()
    ]
    for old in replaced:
        for table in (
            "snapshots", "snapshot_customers", "snapshot_tables", "snapshot_pages",
            SORT_ORDERS_TABLE,
        ):  # fmt: skip
            raw.execute(f"DELETE FROM {table} WHERE snapshot_id = ?", [old])
    return replaced


def _insert_row(workspace, snapshot_id, created_at, as_of, summary, ingest_report, options) -> None:
    """The snapshot's row of ``snapshots``: its summary, ingest report, options and ingest."""
    _raw(workspace).execute(
        "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, (SELECT max(ingest_id) FROM ingests))",
        [
            snapshot_id,
            created_at,
            as_of,
            json.dumps(summary, default=str),
            json.dumps(ingest_report or {}, default=str),
            None if options is None else _options_key(options),
        ],
    )


# the sort orders' earlier form, a Parquet file per snapshot; left unread (a snapshot stored
# with it has its orders sorted when the dashboard starts) and replaced when they are stored
_RETIRED_PAGES = ("sort_orders.parquet",)


def store_sort_orders(workspace, snapshot_id: int) -> None:
    """Store the sort orders of committed snapshot ``snapshot_id`` (:func:`snapshot_sort_orders`)
    with its pages, where ``valuecast serve`` reads them instead of sorting at start-up."""
    save_sort_orders(workspace, snapshot_id, snapshot_sort_orders(workspace, snapshot_id))


def snapshot_sort_orders(workspace, snapshot_id: int) -> pa.Table:
    """The sort orders of the customers page's columns of committed snapshot ``snapshot_id``
    (:func:`valuecast.store.sort_orders.orders_table`), as :func:`save_sort_orders` stores them.

    Read on a cursor of its own, so any thread can make them while the workspace's connection
    goes on, and a column at a time: each is read when its order is made and let go of once it
    is made, so the page's columns (~1.2 GB at 10M customers) are never in memory together.
    """
    with _stored_page_columns(workspace, snapshot_id) as columns:
        return orders_table(columns, PAGE_COLUMNS)


def save_sort_orders(workspace, snapshot_id: int, orders: pa.Table) -> None:
    """Store (or replace) ``orders``, the sort orders of snapshot ``snapshot_id``: a row per
    customer of :data:`SORT_ORDERS_TABLE`, an integer column per order, and the page
    :data:`SORT_ORDERS` naming them.

    Rows of integers, not a file in a BLOB: DuckDB holds a BLOB whole in its memory while it
    writes or reads it, and needs twice its size to insert it (the Parquet file of 10M
    customers' orders, ~0.4 GB, failed at times beside the files being written under the
    workspace's 1 GB limit); rows are written out a row group at a time.
    """
    raw = _raw(workspace)
    names = list(orders.column_names)
    with workspace.transaction():
        raw.execute(f"CREATE TABLE IF NOT EXISTS {SORT_ORDERS_TABLE} (snapshot_id BIGINT)")
        present = _column_names(raw, SORT_ORDERS_TABLE)
        for name in names:
            if name not in present:
                raw.execute(f"ALTER TABLE {SORT_ORDERS_TABLE} ADD COLUMN {_quoted(name)} INTEGER")
        raw.execute(f"DELETE FROM {SORT_ORDERS_TABLE} WHERE snapshot_id = ?", [snapshot_id])
        raw.register("_sort_orders_new", orders)
        try:
            columns = ", ".join(_quoted(name) for name in names)
            # the rows in the orders' row order: the insert keeps it (insertion order preserved)
            raw.execute(
                f"INSERT INTO {SORT_ORDERS_TABLE} (snapshot_id, {columns}) "
                f"SELECT CAST(? AS BIGINT), {columns} FROM _sort_orders_new",
                [snapshot_id],
            )
        finally:
            raw.unregister("_sort_orders_new")
        listed = json.dumps({"columns": names, "rows": orders.num_rows})
        save_pages(workspace, snapshot_id, {SORT_ORDERS: listed.encode()})
        for retired in _RETIRED_PAGES:
            raw.execute(
                "DELETE FROM snapshot_pages WHERE snapshot_id = ? AND name = ?",
                [snapshot_id, retired],
            )


def stored_sort_orders(
    pages: dict[str, bytes], read: Callable[[str], np.ndarray]
) -> StoredOrders | None:
    """The sort orders a snapshot stored, as :func:`load_pages` gave its ``pages``, each read
    by ``read(name)`` (:func:`load_sort_order`) when first used; None when it stored none."""
    listed = pages.get(SORT_ORDERS)
    if listed is None:
        return None
    parsed = json.loads(listed)
    return StoredOrders(parsed["columns"], int(parsed["rows"]), read)


def load_sort_orders(workspace, snapshot_id: int) -> StoredOrders | None:
    """The sort orders snapshot ``snapshot_id`` stored, each read from ``workspace`` when first
    used; None when it stored none."""
    return stored_sort_orders(
        load_pages(workspace, snapshot_id),
        lambda name: load_sort_order(workspace, snapshot_id, name),
    )


def load_sort_order(workspace, snapshot_id: int, name: str) -> np.ndarray:
    """Sort order ``name`` that snapshot ``snapshot_id`` stored, as row positions."""
    cursor = _raw(workspace).cursor()
    try:
        # the rows in their stored order: the order's positions in sequence
        cursor.execute("SET SESSION preserve_insertion_order = true")
        column = (
            cursor.sql(
                f"SELECT {_quoted(name)} FROM {SORT_ORDERS_TABLE} "
                f"WHERE snapshot_id = {int(snapshot_id)}"
            )
            .to_arrow_table()
            .column(0)
        )
    finally:
        cursor.close()
    return column.to_numpy()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def _stored_page_columns(workspace, snapshot_id: int) -> Iterator[_StoredPageColumns]:
    """The customers page's columns of committed snapshot ``snapshot_id``, each read when used,
    on a cursor of its own reading one committed state."""
    cursor = _raw(workspace).cursor()
    try:
        # the rows in their stored order, the same for every column's query: the columns line up
        # without a sort by id in each (the workspace's connection reads in any order)
        cursor.execute("SET SESSION preserve_insertion_order = true")
        cursor.begin()
        yield _StoredPageColumns(cursor, int(snapshot_id))
    finally:
        cursor.close()


class _StoredPageColumns(MutableMapping):
    """The customers page's columns of a stored snapshot by name, each read from the workspace
    when it is looked up (rows in customer-id order, text of a few labels as dictionaries);
    deleting a name forgets it (what :func:`~valuecast.store.sort_orders.orders_table` does with
    each column once its order is made).

    ``cursor`` reads the rows in their stored order in one transaction (as
    :func:`_stored_page_columns` opens it): each lookup's rows are the same rows in the same
    order.
    """

    def __init__(self, cursor, snapshot_id: int) -> None:
        self._cursor = cursor
        self._relation = f"(SELECT * FROM snapshot_customers WHERE snapshot_id = {snapshot_id})"
        kinds = dict(
            cursor.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'main' AND table_name = 'snapshot_customers'"
            ).fetchall()
        )
        self._names = [name for name in PAGE_COLUMNS if name in kinds]
        texts = [name for name in self._names if name != "customer_id" and kinds[name] == "VARCHAR"]
        self._labels = dict(
            zip(texts, _distinct_labels(cursor, self._relation, texts), strict=True)
        )
        ids = self._read("customer_id")
        # the analysis stores its customers in id order: no sort of the ids, no copy of a column
        self._in_id_order: pa.Array | None = None
        if not non_decreasing(ids):
            self._in_id_order = pc.sort_indices(ids)
            ids = ids.take(self._in_id_order)
        self._ids: pa.ChunkedArray | None = ids

    def _read(self, name: str) -> pa.ChunkedArray:
        """Column ``name`` in the stored order, a text column of a few labels as an ENUM (the
        engine's dictionary: no hashing of every row's text here)."""
        labels = self._labels.get(name)
        if labels and len(labels) <= LABELS_AS_ENUM:
            shown = f'CAST("{name}" AS ENUM ({", ".join(sql_string(v) for v in labels)}))'
        else:
            shown = f'"{name}"'
        table = self._cursor.sql(f'SELECT {shown} AS "{name}" FROM {self._relation}')
        values = table.to_arrow_table().column(0)
        if pa.types.is_dictionary(values.type):  # the codes pyarrow's dictionary_encode gives
            values = values.cast(pa.dictionary(pa.int32(), values.type.value_type))
        return values

    def __getitem__(self, name: str) -> pa.ChunkedArray:
        if name not in self._names:
            raise KeyError(name)
        if name == "customer_id" and self._ids is not None:
            return self._ids
        values = self._read(name)
        return values if self._in_id_order is None else values.take(self._in_id_order)

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        if name == "customer_id":
            self._ids = None

    def __setitem__(self, name: str, values: pa.ChunkedArray) -> None:
        raise TypeError("the stored columns are read-only")

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)


def save_pages(workspace, snapshot_id: int, pages: dict[str, bytes]) -> None:
    """Store (or replace) what the dashboard shows of snapshot ``snapshot_id``, by name."""
    raw = _raw(workspace)
    with workspace.transaction():
        raw.execute(
            "CREATE TABLE IF NOT EXISTS snapshot_pages "
            "(snapshot_id BIGINT, name VARCHAR, data BLOB)"
        )
        for name, data in pages.items():
            raw.execute(
                "DELETE FROM snapshot_pages WHERE snapshot_id = ? AND name = ?", [snapshot_id, name]
            )
            raw.execute("INSERT INTO snapshot_pages VALUES (?, ?, ?)", [snapshot_id, name, data])


def load_pages(workspace, snapshot_id: int) -> dict[str, bytes]:
    """What :func:`save_pages` stored for the snapshot; empty for a snapshot (or a workspace)
    made before the dashboard's pages were stored."""
    if "snapshot_pages" not in connection_table_names(_raw(workspace)):
        return {}
    retired = ", ".join(sql_string(name) for name in _RETIRED_PAGES)
    rows = _rows(
        workspace,
        f"SELECT name, data FROM snapshot_pages WHERE snapshot_id = ? AND name NOT IN ({retired})",
        [snapshot_id],
    )
    return {name: bytes(data) for name, data in rows}


def _info(snapshot_id: int, created_at: datetime, as_of: date, summary: dict) -> SnapshotInfo:
    totals = summary.get("totals", {})
    predicted = totals.get("predicted_clv")
    return SnapshotInfo(
        snapshot_id=int(snapshot_id),
        as_of=as_of,
        created_at=created_at,
        n_customers=int(summary.get("n_customers", 0)),
        historic_clv=float(totals.get("historic_clv", 0.0)),
        predicted_clv=None if predicted is None else float(predicted),
        model=predicting_model(summary),
        currency=summary.get("currency"),
    )


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------
def stored_summaries(workspace) -> list[tuple[SnapshotInfo, dict[str, Any]]]:
    """Every snapshot with its summary, oldest as-of date first (one read of the summaries)."""
    if not _has_snapshots(workspace):
        return []
    rows = _rows(
        workspace,
        "SELECT snapshot_id, created_at, as_of, summary, options FROM snapshots "
        "ORDER BY as_of, snapshot_id",
    )
    stored = []
    for snapshot_id, created_at, as_of, text, options in rows:
        summary = json.loads(text)
        info = _info(snapshot_id, created_at, as_of, summary)
        # a snapshot saved without its options (the library's save_snapshot) names no build
        made_here = options is None or _made_here(options)
        stored.append((replace(info, made_here=made_here), summary))
    return stored


def list_snapshots(workspace) -> list[SnapshotInfo]:
    """Every snapshot, oldest as-of date first."""
    return [info for info, _ in stored_summaries(workspace)]


def latest_snapshot(workspace) -> SnapshotInfo | None:
    """The snapshot with the latest as-of date, None before the first analysis."""
    snapshots = list_snapshots(workspace)
    return snapshots[-1] if snapshots else None


def resolve_snapshot(workspace, reference: str | int | None = None) -> SnapshotInfo:
    """A snapshot by id (``3``), date (``2026-06-30``), ``latest`` / None, or ``previous``.

    A date that no snapshot is dated on takes the snapshot as of it (:func:`_snapshot_as_of`).
    """
    snapshots = list_snapshots(workspace)
    if not snapshots:
        raise SnapshotError(
            f"{workspace.path}: no snapshots yet (run `valuecast analyze` or `valuecast refresh`)"
        )
    text = "latest" if reference is None else str(reference).strip()
    if text == "latest":
        return snapshots[-1]
    if text == "previous":
        if len(snapshots) < 2:
            only = snapshots[0].as_of
            raise SnapshotError(
                f"{workspace.path}: only one snapshot ({only}), no previous one: `valuecast "
                "refresh NEW_EXPORT` stores the next, `valuecast analyze --as-of` an earlier "
                "date's"
            )
        return snapshots[-2]
    return find_snapshot(snapshots, text)


def find_snapshot(snapshots: Sequence[SnapshotInfo], reference: str | int) -> SnapshotInfo:
    """The snapshot of ``snapshots`` (oldest first) with the id (``3``) or as-of date
    (``2026-06-30``) ``reference``; a date no snapshot is dated on takes the snapshot as of it
    (:func:`_snapshot_as_of`).  :class:`SnapshotError` names the snapshots when none matches."""
    text = str(reference).strip()
    for snapshot in snapshots:
        if text == str(snapshot.snapshot_id) or text == snapshot.as_of.isoformat():
            return snapshot
    known = ", ".join(f"{s.snapshot_id} ({s.as_of})" for s in snapshots) or "none"
    day = _iso_date(text)
    if day is None:
        raise SnapshotError(f"no snapshot {text!r}: the workspace has {known}")
    taken = _snapshot_as_of(snapshots, day)
    if taken is None:
        raise SnapshotError(
            f"no snapshot as of {text}: the workspace has {known} (a date takes the snapshot "
            f"dated on it or in the {DATE_REACH_DAYS} days before it)"
        )
    return taken


DATE_REACH_DAYS = 31
"""How far before a date given for a snapshot its snapshot may be dated: a snapshot is dated by
its last order (2025-12-30), and a merchant names the quarter's end (2025-12-31); a snapshot a
quarter older is another quarter's, never taken for this one."""


def _iso_date(text: str) -> date | None:
    """``text`` as a YYYY-MM-DD date, None when it is none."""
    if len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _snapshot_as_of(snapshots: Sequence[SnapshotInfo], day: date) -> SnapshotInfo | None:
    """The latest of ``snapshots`` (oldest first) dated on ``day`` or in the
    :data:`DATE_REACH_DAYS` days before it: the analysis a merchant had as of that day."""
    earlier = [s for s in snapshots if s.as_of <= day]
    if not earlier or (day - earlier[-1].as_of).days > DATE_REACH_DAYS:
        return None
    return earlier[-1]


def _one(workspace, column: str, snapshot_id: int) -> Any:
    rows = _rows(workspace, f"SELECT {column} FROM snapshots WHERE snapshot_id = ?", [snapshot_id])
    if not rows:
        raise SnapshotError(f"no snapshot {snapshot_id}")
    return rows[0][0]


def load_summary(workspace, snapshot_id: int) -> dict[str, Any]:
    """The ``summary.json`` of a snapshot."""
    return json.loads(_one(workspace, "summary", snapshot_id))


def load_ingest_report(workspace, snapshot_id: int) -> dict[str, Any]:
    """The ingest report the snapshot's analysis ran after."""
    return json.loads(_one(workspace, "ingest_report", snapshot_id))


def customers_table(workspace, snapshot_id: int):
    """A snapshot's customers table as an Ibis expression (for paging and searching in place)."""
    table = workspace.con.table("snapshot_customers")
    return table.filter(table.snapshot_id == int(snapshot_id)).drop("snapshot_id")


def customers_arrow_table(workspace, snapshot_id: int) -> pa.Table:
    """A snapshot's customers table as Arrow, in customer-id order."""
    _one(workspace, "snapshot_id", snapshot_id)
    return (
        _raw(workspace)
        .sql(
            "SELECT * EXCLUDE (snapshot_id) FROM snapshot_customers WHERE snapshot_id = ? "
            "ORDER BY customer_id",
            params=[snapshot_id],
        )
        .to_arrow_table()
    )


def customers_batches(
    workspace, snapshot_id: int, schema: pa.Schema, rows: int = 100_000
) -> Iterator[pa.RecordBatch]:
    """A snapshot's customers table in record batches of ``rows`` rows, in the order it was
    stored (customer-id order), as ``schema``'s columns and types.

    Read on a cursor of its own (:meth:`Workspace.read_view`), so any thread can stream it while
    the workspace's connection goes on; it sees the committed snapshot.  The cursor is made here,
    on the calling thread: making one is a call on the workspace's connection, which refuses a
    call while it is busy with another thread's instead of waiting.
    """
    return _read_batches(workspace.read_view(), snapshot_id, schema, rows)


def _read_batches(view, snapshot_id: int, schema: pa.Schema, rows: int) -> Iterator[pa.RecordBatch]:
    try:
        columns = ", ".join(f'"{name}"' for name in schema.names)
        reader = view.raw.sql(
            f"SELECT {columns} FROM snapshot_customers WHERE snapshot_id = ?",
            params=[int(snapshot_id)],
        ).to_arrow_reader(rows)
        for batch in reader:
            yield batch.cast(schema)
    finally:
        view.raw.close()


def load_customers(workspace, snapshot_id: int) -> pd.DataFrame:
    """A snapshot's customers table, in customer-id order."""
    return customers_arrow_table(workspace, snapshot_id).to_pandas()


def load_tables(workspace, snapshot_id: int) -> dict[str, pd.DataFrame]:
    """A snapshot's growth tables by file name (``cohorts.csv``, ``channels.csv``, ...)."""
    _one(workspace, "snapshot_id", snapshot_id)
    rows = _rows(
        workspace,
        "SELECT name, data FROM snapshot_tables WHERE snapshot_id = ? ORDER BY name",
        [snapshot_id],
    )
    return {name: frame_from_parquet(data) for name, data in rows}


def customer_history(workspace, customer_id: str) -> pd.DataFrame:
    """One customer across the snapshots: as-of date, the id the snapshot names them by, RFM
    group, tier and value, oldest first.

    A snapshot that names them by an earlier id (a registered customer known by the e-mail of
    their latest orders, who gave another since: :func:`renamed_customers`) gives its row under
    that id, as ``compare`` counts them as one customer.
    """
    columns = ["snapshot_id", "as_of", "customer_id", "rfm_group", "predicted_spend_tier",
               "historic_clv", "predicted_clv", "probability_alive"]  # fmt: skip
    if not _has_snapshots(workspace):
        return pd.DataFrame(columns=columns)
    named = _ids_by_snapshot(workspace, str(customer_id))
    if not named:
        return pd.DataFrame(columns=columns)
    pairs = " UNION ALL ".join("SELECT ?, ?" for _ in named)
    return _frame(
        workspace,
        f"SELECT s.snapshot_id, s.as_of, c.customer_id, c.rfm_group, c.predicted_spend_tier, "
        "c.historic_clv, c.predicted_clv, c.probability_alive FROM snapshot_customers c "
        f"JOIN ({pairs}) n(snapshot_id, customer_id) USING (snapshot_id, customer_id) "
        "JOIN snapshots s USING (snapshot_id) ORDER BY s.as_of",
        [value for pair in named.items() for value in pair],
    )


def _ids_by_snapshot(workspace, customer_id: str) -> dict[int, str]:
    """The id each snapshot names ``customer_id`` by: theirs in the snapshots holding it, and in
    an earlier one not holding it the id :func:`renamed_customers` matches to them in the next
    snapshot naming them (an id given up twice is followed back twice)."""
    snapshot_ids = [
        row[0]
        for row in _rows(
            workspace, "SELECT snapshot_id FROM snapshots ORDER BY as_of DESC, snapshot_id DESC"
        )
    ]
    named: dict[int, str] = {}
    current, later = customer_id, None  # the id they have, in the next snapshot naming them
    for snapshot_id in snapshot_ids:
        holds = _rows(
            workspace,
            "SELECT 1 FROM snapshot_customers WHERE snapshot_id = ? AND customer_id = ? LIMIT 1",
            [snapshot_id, current],
        )
        if not holds and later is not None:
            then = renamed_customers(workspace, snapshot_id, later, current)["then_id"].tolist()
            holds, current = bool(then), then[0] if then else current
        if holds:
            named[snapshot_id], later = current, snapshot_id
    return named


def _options_key(options) -> str:
    """The analysis options as canonical JSON (what makes two analyses of one workspace equal).

    No non-product names are recorded as none, as an analysis of an older version recorded
    them, so that its snapshot is still the analysis of these options."""
    return _fields_key(vars(options))


def _fields_key(options: dict[str, Any]) -> str:
    """:func:`_options_key` of the options' fields, and the build of valuecast that ran them
    (``made_by``, :func:`valuecast.provenance.source_fingerprint`): an analysis another build
    made is not what this one would give."""
    fields = dict(sorted(options.items()))
    if not fields.get("not_products"):
        fields.pop("not_products", None)
    fields["made_by"] = source_fingerprint()
    return json.dumps(fields, default=str, sort_keys=True)


def _made_here(stored: str | None) -> bool:
    """Whether the options key ``stored`` was recorded by this build of valuecast."""
    return (json.loads(stored) if stored else {}).get("made_by") == source_fingerprint()


def _same_not_products(workspace, stored: str | None) -> bool:
    """Whether the options key ``stored`` left out the non-product names the workspace keeps
    now (:mod:`valuecast.store.not_products`): a snapshot made before they changed names other
    first products and product tables than an analysis now would."""
    from valuecast.store.not_products import kept_not_products, not_product_names

    recorded = (json.loads(stored) if stored else {}).get("not_products") or ()
    return not_product_names(recorded) == kept_not_products(workspace)


def reusable_snapshot(workspace, options=None, unchanged_by: int | None = None) -> int | None:
    """The id of the latest snapshot when it is exactly what analysing the workspace with
    ``options`` would give now, else None.

    That is: this build of valuecast made it, with the same options (any, when ``options`` is
    None, but the non-product names the workspace keeps), and nothing was ingested after it but
    the ingest
    ``unchanged_by``, which the caller knows changed nothing an analysis reads
    (:meth:`Workspace.stored_fingerprint <valuecast.store.workspace.Workspace.stored_fingerprint>`).
    """
    latest = _latest_snapshot(workspace, unchanged_by)
    if latest is None:
        return None
    snapshot_id, stored, current = latest
    if not current:
        return None
    if options is None:
        kept = _same_not_products(workspace, stored) and _made_here(stored)
        return snapshot_id if kept else None
    if stored is None or stored != _options_now_key(workspace, options):
        return None
    return snapshot_id


def keep_snapshot_current(workspace, snapshot_id: int) -> None:
    """Record snapshot ``snapshot_id`` as made after the workspace's last ingest, which changed
    nothing it read (:func:`reusable_snapshot`'s ``unchanged_by``): it is the analysis of the
    workspace as it is, and commands needing that analysis read it."""
    _raw(workspace).execute(
        "UPDATE snapshots SET ingest_id = (SELECT max(ingest_id) FROM ingests) "
        "WHERE snapshot_id = ?",
        [snapshot_id],
    )


def _options_now_key(workspace, options) -> str:
    """:func:`_options_key` of ``options`` as an analysis now runs them: without non-product
    names given, with those the workspace keeps."""
    fields = dict(vars(options))
    if fields.get("not_products") is None:
        from valuecast.store.not_products import kept_not_products

        fields["not_products"] = kept_not_products(workspace)
    return _fields_key(fields)


def latest_options(workspace) -> dict[str, Any] | None:
    """The options the latest snapshot ran with, as its options key records them (JSON: a
    calendar as its text), or None without a snapshot or a record of them."""
    latest = _latest_snapshot(workspace)
    if latest is None or latest[1] is None:
        return None
    return json.loads(latest[1])


def ingested_since(workspace, snapshot_id: int) -> bool:
    """Whether an export was ingested after snapshot ``snapshot_id`` was made (its orders,
    consent or contacts may differ from what the workspace holds now)."""
    if not _has_snapshots(workspace):
        return False
    rows = _rows(
        workspace,
        "SELECT ingest_id, (SELECT max(ingest_id) FROM ingests) FROM snapshots "
        "WHERE snapshot_id = ?",
        [snapshot_id],
    )
    if not rows:
        return False
    ingest_id, latest_ingest = rows[0]
    return latest_ingest is not None and (ingest_id is None or latest_ingest > ingest_id)


def _latest_snapshot(
    workspace, unchanged_by: int | None = None
) -> tuple[int, str | None, bool] | None:
    """The latest snapshot's id, options key, and whether nothing was ingested after it (but
    the ingest ``unchanged_by``, when that is the last)."""
    if not _has_snapshots(workspace):
        return None
    rows = _rows(
        workspace,
        "SELECT snapshot_id, options, ingest_id, (SELECT max(ingest_id) FROM ingests), "
        "(SELECT max(ingest_id) FROM ingests WHERE ingest_id < ?) "
        "FROM snapshots ORDER BY created_at DESC, snapshot_id DESC LIMIT 1",
        [unchanged_by],
    )
    if not rows:
        return None
    snapshot_id, stored, ingest_id, latest_ingest, before_unchanged = rows[0]
    current = ingest_id == latest_ingest or (
        unchanged_by is not None
        and ingest_id is not None
        and latest_ingest == unchanged_by
        and ingest_id == before_unchanged
    )
    return snapshot_id, stored, current


# ------------------------------------------------------------------------------------------------
# the reads a comparison of two snapshots needs
# ------------------------------------------------------------------------------------------------
def _renamed_query(workspace, one: bool = False) -> str:
    """The query of :func:`renamed_customers` (parameters: the earlier snapshot's id, then the
    later one's), columns ``then_id`` and ``now_id``.

    ``one``: only the pairs that may name the customer of a third parameter now (the ids their
    orders give as e-mail or were moved from, and the customers whose orders give or were moved
    from those too), which decide that customer's pair as the whole query does, without reading
    every customer's orders.
    """
    columns = {row[0] for row in _rows(workspace, "DESCRIBE orders")}
    # an order's e-mail where it is not its customer's id (workspaces before that layout store
    # every order's)
    email = "other_email" if "other_email" in columns else "email"
    # workspaces before the record of moved orders have none
    moves = "moved_orders" in connection_table_names(_raw(workspace))
    moved = "moved_orders" if moves else "(SELECT '' AS order_id, '' AS customer_id LIMIT 0)"
    gone_ids = new_ids = "true"
    if one:
        given = (
            f"(SELECT lower({email}) FROM orders WHERE customer_id = $3 AND NOT is_guest "
            f"AND {email} IS NOT NULL UNION SELECT m.customer_id FROM {moved} m "
            "JOIN orders o ON o.order_id = m.order_id WHERE o.customer_id = $3)"
        )
        gone_ids = f"customer_id IN {given}"
        new_ids = (
            f"customer_id IN (SELECT customer_id FROM orders WHERE lower({email}) IN {given} "
            f"UNION SELECT o.customer_id FROM {moved} m JOIN orders o ON o.order_id = m.order_id "
            f"WHERE m.customer_id IN {given})"
        )
    return (
        f"WITH b AS (SELECT customer_id FROM snapshot_customers WHERE snapshot_id = $1), "
        "a AS (SELECT customer_id FROM snapshot_customers WHERE snapshot_id = $2), "
        f"gone AS (SELECT customer_id FROM b ANTI JOIN a USING (customer_id) WHERE {gone_ids}), "
        f"new AS (SELECT customer_id FROM a ANTI JOIN b USING (customer_id) WHERE {new_ids}), "
        # a customer's orders give their earlier e-mail (a registered customer known by their
        # latest), or a newer export moved their orders to the new one
        "pairs AS (SELECT g.customer_id AS then_id, o.customer_id AS now_id "
        f"FROM gone g JOIN orders o ON lower(o.{email}) = g.customer_id "
        "JOIN new n ON n.customer_id = o.customer_id WHERE NOT o.is_guest "
        "UNION SELECT g.customer_id, o.customer_id "
        f"FROM gone g JOIN {moved} m ON m.customer_id = g.customer_id "
        "JOIN orders o ON o.order_id = m.order_id "
        "JOIN new n ON n.customer_id = o.customer_id WHERE NOT o.is_guest), "
        "single AS (SELECT then_id, now_id FROM pairs "
        "QUALIFY count(*) OVER (PARTITION BY then_id) = 1) "
        "SELECT then_id, now_id FROM single QUALIFY count(*) OVER (PARTITION BY now_id) = 1"
    )


def renamed_customers(
    workspace, before_id: int, after_id: int, customer_id: str | None = None
) -> pd.DataFrame:
    """The customers of snapshot ``before_id`` that snapshot ``after_id`` names by another id:
    columns ``then_id`` and ``now_id``, ordered by ``then_id``; with ``customer_id``, only the
    pair whose ``now_id`` it is (if any).

    A registered customer is known by the e-mail of their latest order (a WooCommerce or
    Magento account, an orders table's customer id beside its e-mail): one who gave another
    address since has a new id, whose stored orders still give the earlier one.  A customer of
    ``before_id`` alone is taken to be the one of ``after_id`` alone whose stored orders give
    their id as e-mail, where those orders name one such customer, and that customer no other.
    """
    if "orders" not in connection_table_names(_raw(workspace)):
        return pd.DataFrame({"then_id": [], "now_id": []}, dtype=object)
    if customer_id is None:
        query = f"SELECT * FROM ({_renamed_query(workspace)}) ORDER BY then_id"
        return _frame(workspace, query, [before_id, after_id])
    query = f"SELECT * FROM ({_renamed_query(workspace, one=True)}) WHERE now_id = $3"
    return _frame(workspace, query, [before_id, after_id, customer_id])


@dataclass(frozen=True)
class _Rewrites:
    """The orders dated on or before an earlier snapshot's as-of date that some ingests rewrote
    (:func:`rewrites_between`): those between it and a later snapshot, or those after it."""

    as_of: date
    """The earlier snapshot's as-of date."""
    written: int
    """Customer orders dated on or before ``as_of`` that those ingests wrote: edited in any
    field (an amount, the consent, a line), or added late."""
    withdrawn: int
    """Stored orders those ingests withdrew (cancelled, refunded in full, ...: a newer export
    excluded them)."""


@dataclass(frozen=True)
class RewrittenOrders(_Rewrites):
    """The orders dated on or before an earlier snapshot's as-of date that ingests between it
    and a later snapshot rewrote (:func:`rewritten_orders`)."""

    historic_clv_now: float
    """The net revenue of the customer orders dated on or before ``as_of`` as the later
    snapshot read them: the earlier snapshot's historic CLV recomputed on its successor's
    orders."""


@dataclass(frozen=True)
class LaterRewrites(_Rewrites):
    """The orders dated on or before an earlier snapshot's as-of date that ingests after a
    later snapshot rewrote (:func:`rewrites_between`): the stored orders are no longer those
    the later snapshot read, and the past rewritten between the two is not told apart."""


def rewritten_orders(workspace, before_id: int, after_id: int) -> RewrittenOrders | None:
    """What the ingests between snapshots ``before_id`` and ``after_id`` rewrote of the orders
    dated on or before ``before_id``'s as-of date (:func:`rewrites_between`)."""
    return rewrites_between(workspace, before_id, after_id)[0]


def rewrites_between(
    workspace, before_id: int, after_id: int
) -> tuple[RewrittenOrders | None, LaterRewrites | None]:
    """What the ingests between snapshots ``before_id`` and ``after_id`` rewrote of the orders
    dated on or before ``before_id``'s as-of date, and what the ingests after ``after_id``
    rewrote of them; (None, None) when ``after_id`` is dated before ``before_id`` or was made on
    no later ingest.  The first is None too where an ingest after ``after_id`` rewrote such
    orders (the stored orders are then no longer those it read), and the second is None where
    none did.

    An order keeps the id of the last ingest that wrote it, and a withdrawn one that of the
    ingest that withdrew it, so one scan of the orders' dates, ids and amounts tells them apart
    without reading any order's earlier version: the earlier snapshot's historic CLV less
    :attr:`RewrittenOrders.historic_clv_now` is what the rewrites changed.  Withdrawn orders are
    counted whatever their date (the record keeps none).
    """
    raw = _raw(workspace)
    present = connection_table_names(raw)
    if not {"snapshots", "orders", "withdrawn_orders"} <= present:
        return None, None
    rows = _rows(
        workspace,
        "SELECT b.as_of, b.ingest_id, a.ingest_id FROM snapshots b, snapshots a "
        "WHERE b.snapshot_id = ? AND a.snapshot_id = ? AND a.as_of > b.as_of",
        [before_id, after_id],
    )
    if not rows or rows[0][1] is None or rows[0][2] is None or rows[0][2] <= rows[0][1]:
        return None, None
    as_of, first, last = rows[0]
    # a customer order up to the as-of date, as the summary reads historic CLV
    past = "customer_id IS NOT NULL AND CAST(order_date AS DATE) <= $1"
    written, later, now = _rows(
        workspace,
        "SELECT count(*) FILTER (WHERE ingest_id > $2 AND ingest_id <= $3), "
        "count(*) FILTER (WHERE ingest_id > $3), fsum(coalesce(net_revenue, 0)) "
        f"FROM orders WHERE {past}",
        [as_of, first, last],
    )[0]
    withdrawn, withdrawn_later = _rows(
        workspace,
        "SELECT count(*) FILTER (WHERE ingest_id > $1 AND ingest_id <= $2), "
        "count(*) FILTER (WHERE ingest_id > $2) FROM withdrawn_orders",
        [first, last],
    )[0]
    if later or withdrawn_later:
        return None, LaterRewrites(as_of, int(later), int(withdrawn_later))
    return RewrittenOrders(as_of, int(written), int(withdrawn), float(now or 0.0)), None


def _earlier_customers(workspace) -> str:
    """The earlier snapshot's customers (parameters: its id, then the later one's), each by
    the id the later one names them by (:func:`renamed_customers`)."""
    return (
        "(SELECT c.* REPLACE (coalesce(r.now_id, c.customer_id) AS customer_id) "
        "FROM (SELECT * FROM snapshot_customers WHERE snapshot_id = $1) c "
        f"LEFT JOIN ({_renamed_query(workspace)}) r ON r.then_id = c.customer_id)"
    )


def label_moves(
    workspace, before_id: int, after_id: int, column: str, new: str, gone: str
) -> pd.DataFrame:
    """Customers of snapshots ``before_id`` and ``after_id`` counted by (label then, label now).

    Columns ``before``, ``after``, ``n``; a customer absent from ``before_id`` has the label
    ``new`` there, one absent from ``after_id`` (whose orders were all removed since, or a
    phone customer now known by e-mail) the label ``gone``; a customer ``after_id`` names by
    another e-mail (:func:`renamed_customers`) is the same customer.  ``column`` is a
    customers-table column name (never user input).
    """
    return _frame(
        workspace,
        f"SELECT CASE WHEN b.customer_id IS NULL THEN '{new}' ELSE b.{column} END AS before, "
        f"CASE WHEN a.customer_id IS NULL THEN '{gone}' ELSE a.{column} END AS after, "
        "count(*) AS n "
        "FROM (SELECT * FROM snapshot_customers WHERE snapshot_id = $2) a "
        f"FULL JOIN {_earlier_customers(workspace)} b "
        "ON a.customer_id = b.customer_id GROUP BY ALL",
        [before_id, after_id],
    )


def high_value_movers(
    workspace, before_id: int, after_id: int, groups: Sequence[str]
) -> pd.DataFrame:
    """Customers in the high predicted-spend tier in ``before_id`` whose RFM group in
    ``after_id`` is one of ``groups`` (and was not before), highest ``before`` predicted CLV first;
    each by the id ``after_id`` names them by (:func:`renamed_customers`).
    """
    placeholders = ", ".join(f"${3 + k}" for k in range(len(groups)))
    return _frame(
        workspace,
        "SELECT customer_id, b.rfm_group AS rfm_group_before, a.rfm_group AS rfm_group_after, "
        "b.predicted_clv AS predicted_clv_before, a.predicted_clv AS predicted_clv_after, "
        "b.historic_clv AS historic_clv_before, a.historic_clv AS historic_clv_after, "
        "a.churn_probability AS churn_probability_after, a.last_order_date "
        f"FROM {_earlier_customers(workspace)} b "
        "JOIN (SELECT * FROM snapshot_customers WHERE snapshot_id = $2) a USING (customer_id) "
        f"WHERE b.predicted_spend_tier = 'high' AND a.rfm_group IN ({placeholders}) "
        f"AND b.rfm_group NOT IN ({placeholders}) "
        "ORDER BY b.predicted_clv DESC NULLS LAST, customer_id",
        [before_id, after_id, *groups],
    )
