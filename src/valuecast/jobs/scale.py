"""valuecast where the orders are: a SparkSession (local or a cluster's) or a SQL database.

The analysis is the one of the DuckDB workspace (:func:`valuecast.analysis.customers.analyze_tables`,
Ibis expressions); this module finds the canonical tables on the engine, writes the canonical
tables of ingested exports there, and writes the results there.

Where the canonical tables (``orders``, optional ``order_lines`` and ``customers``, the columns of
:mod:`valuecast.io.schema`) live, the *location*:

* ``--engine spark``: a folder (local, ``dbfs:/``, ``s3://``, ``abfss://`` ...) holding
  ``orders.parquet`` (a Parquet file or a folder of parts) and optionally ``order_lines.parquet``
  and ``customers.parquet``, as ``valuecast ingest --engine spark`` writes them; or a catalog
  schema (``main.shop``, ``shop``) holding the tables ``valuecast_orders``,
  ``valuecast_order_lines`` and ``valuecast_customers``.  The results are Parquet folders written
  by Spark (``customers.parquet``) or, for a catalog schema, the table
  ``valuecast_customer_clv`` next to the inputs.
* ``--engine postgres://...``: the tables ``valuecast_orders``, ``valuecast_order_lines`` and
  ``valuecast_customers`` in the database (a schema may be given as the location); the customers
  table is written as ``valuecast_customer_clv`` by ``CREATE TABLE ... AS`` in the database.

Only the compressed model inputs, the backtest sample and one-row aggregates reach Python; the
per-customer tables never leave the engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ibis.expr.types as ir
from ibis.backends import BaseBackend

from valuecast.analysis.backend import drop_table
from valuecast.store.connection import EngineError, connect, connect_spark

CANONICAL = ("orders", "order_lines", "customers")
TABLE_PREFIX = "valuecast_"
CUSTOMERS_TABLE = "valuecast_customer_clv"

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def engine_kind(engine: str | None) -> str:
    """``duckdb``, ``spark`` or ``sql`` for an ``--engine`` value."""
    spec = (engine or "duckdb").strip()
    if spec in ("", "duckdb") or spec.startswith("duckdb://"):
        return "duckdb"
    if spec == "spark" or spec.startswith("spark://") or spec.startswith("local["):
        return "spark"
    if "://" in spec:
        scheme = urlsplit(spec).scheme.lower()
        if scheme.startswith("mysql"):
            raise EngineError(
                "MySQL cannot run the summary (it has no arg-min aggregates or struct types): "
                "read its tables into the DuckDB workspace with `valuecast ingest "
                "mysql://user@host/db#sales_order`"
            )
        return "sql"
    raise EngineError(f"unknown engine {spec!r}: use duckdb, spark or a database URL")


def _is_path(location: str) -> bool:
    return "/" in location or "\\" in location or "://" in location or Path(location).exists()


def _spark_master(engine: str) -> str | None:
    spec = engine.strip()
    return spec if spec.startswith(("spark://", "local[")) else None


# ------------------------------------------------------------------------------------------------
@dataclass
class EngineTables:
    """The canonical tables on an engine, and how results are written back there."""

    con: BaseBackend
    kind: str  # spark | sql | duckdb
    location: str | None
    tables: dict[str, ir.Table] = field(default_factory=dict)
    closer: Callable[[], None] | None = None

    @property
    def orders(self) -> ir.Table:
        return self.tables["orders"]

    def table(self, name: str) -> ir.Table | None:
        return self.tables.get(name)

    def close(self) -> None:
        if self.closer is not None:
            self.closer()
            self.closer = None

    def __enter__(self) -> EngineTables:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def open_engine(engine: str, location: str | None = None, *, create: bool = False) -> EngineTables:
    """Connect to ``engine`` and find the canonical tables at ``location`` (see the module doc).

    With ``create`` the tables need not exist yet (``ingest`` writes them).
    """
    kind = engine_kind(engine)
    if kind == "spark":
        if not location:
            raise EngineError(
                "engine 'spark' needs --tables: a folder of Parquet tables or a catalog schema"
            )
        con = connect_spark(_spark_master(engine))
        found = {} if create else _spark_tables(con, location)
        return EngineTables(con=con, kind=kind, location=location, tables=found)
    if kind == "sql":
        if location and not _SCHEMA_NAME.match(location):
            raise EngineError(f"{location!r} is not a schema name (--tables)")
        from valuecast.store.tables import redact

        if urlsplit(engine).scheme.lower().startswith("postgres"):
            _fix_postgres_struct_fields()
        try:
            con = connect(engine)
        except EngineError as error:
            raise EngineError(str(error).replace(engine, redact(engine))) from None
        found = {} if create else _sql_tables(con, location, redact(engine))
        return EngineTables(
            con=con, kind=kind, location=location, tables=found, closer=con.disconnect
        )
    raise EngineError("engine duckdb: use the workspace (--workspace), not --engine")


def _spark_tables(con, location: str) -> dict[str, ir.Table]:
    session = con._session
    found: dict[str, ir.Table] = {}
    for name in CANONICAL:
        view = f"valuecast_input_{name}"
        try:
            if _is_path(location):
                frame = session.read.parquet(f"{location.rstrip('/')}/{name}.parquet")
            else:
                frame = session.table(f"{location}.{TABLE_PREFIX}{name}")
        except Exception as error:  # AnalysisException: path or table not found
            if name == "orders":
                where = (
                    f"{location.rstrip('/')}/orders.parquet"
                    if _is_path(location)
                    else f"{location}.{TABLE_PREFIX}orders"
                )
                raise EngineError(
                    f"{where}: no orders table ({type(error).__name__}); write it with "
                    "`valuecast ingest --engine spark --tables LOCATION FILE...`"
                ) from None
            continue
        frame.createOrReplaceTempView(view)
        found[name] = con.table(view)
    return found


def _fix_postgres_struct_fields() -> None:
    """Read string fields of PostgreSQL structs as text.

    Ibis 12 compiles a struct field as ``CAST(JSONB_EXTRACT_PATH(TO_JSONB(row), 'f1') AS
    VARCHAR)``, which keeps the JSON quotes (``'"web"'``, ``'null'``); the summary's first-order
    channel and discount code are such fields.  ``JSONB_EXTRACT_PATH_TEXT`` gives the text.
    """
    from ibis.backends.sql.compilers.postgres import PostgresCompiler

    original = PostgresCompiler.visit_StructField
    if getattr(original, "_valuecast", False):
        return

    def visit_struct_field(self, op, *, arg, field):
        if not op.dtype.is_string():
            return original(self, op, arg=arg, field=field)
        index = op.arg.dtype.names.index(field) + 1
        return self.f.jsonb_extract_path_text(self.f.to_jsonb(arg), f"f{index:d}")

    visit_struct_field._valuecast = True  # type: ignore[attr-defined]
    PostgresCompiler.visit_StructField = visit_struct_field


def _sql_tables(con, schema: str | None, shown: str) -> dict[str, ir.Table]:
    found: dict[str, ir.Table] = {}
    for name in CANONICAL:
        try:
            found[name] = con.table(f"{TABLE_PREFIX}{name}", database=schema)
        except Exception as error:
            if name == "orders":
                raise EngineError(
                    f"{shown}: no table {TABLE_PREFIX}orders ({type(error).__name__}); write it "
                    "with `valuecast ingest --engine URL FILE...`"
                ) from None
    return found


# ------------------------------------------------------------------------------------------------
# writing
def write_canonical(target: EngineTables, tables: dict[str, Any]) -> dict[str, str]:
    """Write canonical tables (name -> pyarrow Table) to the engine, replacing what was there."""
    written = {}
    if target.kind == "sql" and target.location:
        target.con.raw_sql(f'CREATE SCHEMA IF NOT EXISTS "{target.location}"')
    for name, data in tables.items():
        if target.kind == "spark":
            frame = target.con._session.createDataFrame(data)
            if _is_path(target.location):
                path = f"{target.location.rstrip('/')}/{name}.parquet"
                frame.write.mode("overwrite").parquet(path)
                written[name] = path
            else:
                full = f"{target.location}.{TABLE_PREFIX}{name}"
                frame.write.mode("overwrite").saveAsTable(full)
                written[name] = full
        else:
            drop_table(target.con, f"{TABLE_PREFIX}{name}", target.location)
            target.con.create_table(f"{TABLE_PREFIX}{name}", data, database=target.location)
            written[name] = (
                f"{target.location + '.' if target.location else ''}{TABLE_PREFIX}{name}"
            )
    return written


def write_result(target: EngineTables, expr: ir.Table, name: str, out: str | None) -> str:
    """Write ``expr`` where the engine keeps results, computed by the engine; returns where.

    Spark: the Parquet folder ``out`` (or, with a catalog schema and no ``out``, the table
    ``<schema>.<name>``); SQL: the table ``name`` (``CREATE TABLE AS``).
    """
    if target.kind == "spark":
        frame = target.con._session.sql(target.con.compile(expr))
        if out is not None:
            frame.write.mode("overwrite").parquet(out)
            return out
        full = f"{target.location}.{name}"
        frame.write.mode("overwrite").saveAsTable(full)
        return full
    drop_table(target.con, name, target.location)
    target.con.create_table(name, expr, database=target.location)
    return f"{target.location + '.' if target.location else ''}{name}"


def count_rows(target: EngineTables, where: str) -> int:
    if target.kind == "spark":
        session = target.con._session
        frame = session.read.parquet(where) if _is_path(where) else session.table(where)
        return int(frame.count())
    schema, _, name = where.rpartition(".")
    return int(target.con.table(name, database=schema or None).count().execute())


# ------------------------------------------------------------------------------------------------
# the jobs
def ingest_to_engine(results, engine: str, location: str | None):
    """Import ``results`` (the importers' output) and write the canonical tables to ``engine``.

    The exports go through the workspace's rules (an in-memory DuckDB workspace: de-duplication,
    exclusions, currencies), then its canonical tables replace those at ``location``.  Returns the
    ingest report and where each table went.
    """
    from valuecast.store.workspace import Workspace

    with open_engine(engine, location, create=True) as target, Workspace(":memory:") as ws:
        report = ws.ingest(results)
        tables = {
            name: ws.con.table(name).drop("ingest_id").to_pyarrow()
            for name in CANONICAL
            if name == "orders" or int(ws.con.table(name).count().execute()) > 0
        }
        written = write_canonical(target, tables)
    return report, written


def summarize_on_engine(
    engine: str,
    location: str | None,
    out: str,
    *,
    as_of=None,
    calibration_end=None,
    compressed: str | None = None,
) -> dict[str, Any]:
    """The per-customer summary (and the compressed table) computed and written by the engine."""
    from valuecast.analysis.summary import summarize

    with open_engine(engine, location) as source:
        result = summarize(
            source.orders,
            as_of=as_of,
            calibration_end=calibration_end,
            customers=source.table("customers"),
        )
        written = {}
        for target, expr, name in (
            (out, result.table, "valuecast_summary"),
            (compressed, result.compressed(), "valuecast_compressed"),
        ):
            if target is None:
                continue
            where = write_result(
                source, expr, target if source.kind == "sql" else name, _spark_out(source, target)
            )
            written[where] = count_rows(source, where)
    return {
        "engine": _shown(engine),
        "tables": location,
        "as_of": result.as_of.isoformat() if result.as_of else None,
        "calibration_end": result.calibration_end.isoformat() if result.calibration_end else None,
        "customers": next(iter(written.values())),
        "files": written,
        "notes": result.notes,
    }


def _spark_out(source: EngineTables, target: str) -> str | None:
    if source.kind != "spark":
        return None
    return target if _is_path(target) else None


def _shown(engine: str) -> str:
    from valuecast.store.tables import redact

    return redact(engine)


def analyze_on_engine(
    engine: str,
    location: str | None,
    options,
    out: str | Path,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The analysis on ``engine``: summary.json in ``out``, the customers table on the engine.

    Spark writes ``out/customers.parquet`` (a Parquet folder); a SQL database gets the table
    ``valuecast_customer_clv``.  Returns (summary, where each output went).
    """
    from valuecast.analysis.customers import analyze_tables

    show = progress or (lambda _: None)
    out = Path(out) if not str(out).startswith(("dbfs:", "s3:", "abfss:", "gs:")) else out
    with open_engine(engine, location) as source:
        result = analyze_tables(
            source.orders, source.table("order_lines"), source.table("customers"), options, show
        )
        try:
            show("writing the customers table")
            if source.kind == "spark":
                target = f"{str(out).rstrip('/')}/customers.parquet"
                where = write_result(source, result.customers, CUSTOMERS_TABLE, target)
            else:
                where = write_result(source, result.customers, CUSTOMERS_TABLE, None)
        finally:
            result.release()
    summary = result.summary
    summary["engine"] = _shown(engine)
    summary["timings"] = result.timings
    written = {"customers": where}
    if isinstance(out, Path):
        out.mkdir(parents=True, exist_ok=True)
        path = out / "summary.json"
        path.write_text(json.dumps(summary, indent=2, default=str))
        written["summary"] = str(path)
    return summary, written
