"""Small tables from Python into the engine of an Ibis table, and cached intermediate tables.

The analysis runs where the orders live (DuckDB, Spark, a SQL database); what it computes in
Python (per-history predictions, a sample's row numbers) goes back to that engine here, and an
intermediate table read several times is computed once here (on DuckDB, in parts of customers
when one query would need more than its memory limit).  Each helper appends to ``releases`` what
drops its table again.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from valuecast.io.generic import memory_size_bytes


def backend_name(table: ir.Table) -> str:
    try:
        return table._find_backend().name
    except Exception:  # an unbound expression (memtables only)
        return "duckdb"


def upload(
    like: ir.Table, data: pa.Table, purpose: str, releases: list[Callable[[], None]]
) -> ir.Table:
    """``data`` (small: one row per distinct history) as a table of ``like``'s engine.

    DuckDB gets an Ibis memtable; Spark a temporary view of a DataFrame made from the Arrow table
    (Ibis' memtables lose nullable integers on Spark); SQL databases a temporary table (dropped
    by ``releases``).
    """
    kind = backend_name(like)
    if kind == "duckdb":
        return ibis.memtable(data)
    con = like._find_backend()
    name = f"valuecast_{purpose}_{uuid.uuid4().hex[:12]}"
    if kind == "pyspark":
        con._session.createDataFrame(data).createOrReplaceTempView(name)
        releases.append(lambda: con._session.catalog.dropTempView(name))
    else:
        con.create_table(name, data, temp=True)
        releases.append(lambda: drop_table(con, name))
    return con.table(name)


def drop_table(con, name: str, database: str | None = None) -> None:
    """``DROP TABLE IF EXISTS`` by hand: Ibis 12's drop_table breaks with sqlglot 30."""
    quoted = f'"{name}"' if database is None else f'"{database}"."{name}"'
    con.raw_sql(f"DROP TABLE IF EXISTS {quoted}")


SUM_DECIMALS = 12
"""Decimals of the exact sums (:func:`exact_sum`): each value is rounded to 1e-12 of the unit."""


def exact_sum(value: ir.FloatingValue, where: ir.BooleanValue | None = None) -> ir.FloatingValue:
    """The sum of ``value`` as a float64, the same whatever order the engine reads the rows in.

    A float sum's last bits depend on the order of its terms, and an engine reads a table in no
    fixed order (DuckDB in parallel, a table stored unsorted), so the shop's totals would change
    from one run to the next.  Each finite value is rounded to :data:`SUM_DECIMALS` decimals and
    summed as a 38-digit decimal, exactly (room for totals up to 1e26); infinities and NaN, which
    a decimal cannot hold, are summed apart, where the result does not depend on the order
    either, so the total is still infinite or NaN when a term is.  ``where``: of the rows where
    it holds (0 when none does).
    """
    decimals, special = exact_sum_terms(value, where)
    return decimals.cast("float64").fill_null(0.0) + special.fill_null(0.0)


def exact_sum_terms(
    value: ir.FloatingValue, where: ir.BooleanValue | None = None
) -> tuple[ir.DecimalValue, ir.FloatingValue]:
    """The two sums :func:`exact_sum` adds, for a caller that adds the sums of several groups
    itself: the finite values as a 38-digit decimal (exact) and the infinities and NaN as a
    float, each NULL when the group has no such value (of the rows where ``where`` holds)."""
    finite = ~(value.isnan() | value.isinf())
    decimals = ibis.ifelse(finite, value, ibis.null()).cast(f"decimal(38, {SUM_DECIMALS})")
    return decimals.sum(where=where), ibis.ifelse(finite, ibis.null(), value).sum(where=where)


def materialize(
    table: ir.Table, releases: list[Callable[[], None]], *, narrow: Sequence[str] = ()
) -> ir.Table:
    """``table`` computed once: a persisted DataFrame on Spark, a temporary table elsewhere.

    ``narrow``: names of 64-bit integer columns whose values fit in 32 bits (days, a customer's
    order count), stored as 32-bit integers and read back as 64-bit ones (names ``table`` lacks
    are skipped).  A temporary table of DuckDB is held in memory uncompressed: the 10 such
    columns of a 1M-customer summary take 40 MB less.  Appends to ``releases`` what drops it
    again.
    """
    con = table._find_backend()
    name = f"valuecast_tmp_{uuid.uuid4().hex[:12]}"
    if con.name == "pyspark":
        from pyspark import StorageLevel

        frame = con._session.sql(con.compile(table)).persist(StorageLevel.MEMORY_AND_DISK)
        frame.createOrReplaceTempView(name)

        def release() -> None:
            con._session.catalog.dropTempView(name)
            frame.unpersist()

        releases.append(release)
        return con.table(name)
    return _stored_parts(con, name, [table], releases, narrow)


def materialize_parts(
    parts: Sequence[ir.Table], releases: list[Callable[[], None]], *, narrow: Sequence[str] = ()
) -> ir.Table:
    """The rows of ``parts`` (tables of the same columns) computed once, part after part, as
    one table: :func:`materialize` of their union, each part's query run alone, so that its
    memory is a part's.  On Spark, where a query is not bound by one machine's memory, the
    union is materialised."""
    if len(parts) == 1:
        return materialize(parts[0], releases, narrow=narrow)
    if backend_name(parts[0]) != "duckdb":
        return materialize(ibis.union(*parts, distinct=False), releases, narrow=narrow)
    con = parts[0]._find_backend()
    return _stored_parts(con, f"valuecast_tmp_{uuid.uuid4().hex[:12]}", parts, releases, narrow)


def _stored_parts(con, name: str, parts: Sequence[ir.Table], releases, narrow) -> ir.Table:
    schema = parts[0].schema()
    narrowed = [c for c in narrow if c in schema and schema[c] == ibis.dtype("int64")]
    if narrowed:
        parts = [part.mutate(**{c: part[c].cast("int32") for c in narrowed}) for part in parts]
    con.create_table(name, parts[0], temp=True)
    releases.append(lambda: drop_table(con, name))
    for part in parts[1:]:
        con.insert(name, part)
    stored = con.table(name)
    if not narrowed:
        return stored
    return stored.mutate(**{c: stored[c].cast("int64") for c in narrowed})


@ibis.udf.scalar.builtin(name="hash", signature=((dt.string,), dt.uint64))
def _duckdb_hash(value):
    """DuckDB's own 64-bit hash of a text (Ibis' ``hash()`` goes through a signed cast)."""


def customer_parts(table: ir.Table, parts: int) -> list[ir.Table]:
    """``table``'s rows in ``parts`` parts by a hash of ``customer_id`` (on DuckDB): every
    customer's rows are in one part.  ``[table]`` for one part."""
    if parts <= 1:
        return [table]
    bucket = _duckdb_hash(table.customer_id) % parts
    return [table.filter(bucket == index) for index in range(parts)]


def memory_limit_bytes(table: ir.Table) -> int | None:
    """The memory limit of the DuckDB connection ``table`` is on, in bytes, as DuckDB shows it
    (``'2.7 GiB'``: to a tenth of its unit); None on another engine, or for memtables alone."""
    try:
        con = table._find_backend()
    except Exception:  # an unbound expression: Ibis' default backend runs it, unlimited
        return None
    if con.name != "duckdb":
        return None
    shown = con.raw_sql("SELECT current_setting('memory_limit')").fetchall()
    return memory_size_bytes(str(shown[0][0]))


def parts_within(memory: int | None, rows: int, bytes_per_row: int, most: int) -> int:
    """How many parts of ``rows`` rows keep a query needing ``bytes_per_row`` a row within
    ``memory`` bytes: one without a limit, at most ``most``."""
    if not memory or rows <= 0:
        return 1
    return max(1, min(most, math.ceil(rows * bytes_per_row / memory)))
