"""Orders tables read straight from a database: ``valuecast ingest "postgres://user@host/shop#sales_order"``.

A source written as an Ibis URL with the table name after ``#`` is read through Ibis (PostgreSQL,
MySQL, a DuckDB file, ...) and handed to the importers as ``(name, DataFrame)``, so a Magento
``sales_order`` table in the shop's own database goes through exactly the rules of its CSV dump.
The password never appears in messages.
"""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from valuecast.io.schema import sql_string
from valuecast.store.connection import EngineError, connect, connect_duckdb

__all__ = ["is_table_url", "read_table", "redact", "split_table_url"]

_PLAIN = r"[A-Za-z_][A-Za-z0-9_$]*"
_QUOTED = r'"(?:[^"]|"")+"'  # SQL's quoted identifier: any characters, "" for a quote
_TABLE_NAME = re.compile(rf"^(?:({_PLAIN}|{_QUOTED})\.)?({_PLAIN}|{_QUOTED})$")

_DRIVERS = {"postgres": "postgres", "postgresql": "postgres", "mysql": "mysql"}

_ARROW_SCHEMES = frozenset({"duckdb", "postgres", "postgresql"})
"""The databases whose tables are fetched as Arrow (:func:`_as_a_frame_gives`), where the
types Ibis gives their DataFrames are known."""


def is_table_url(source: str) -> bool:
    return "://" in str(source)


def redact(url: str) -> str:
    """The URL without its password (``postgres://user:***@host/db``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def split_table_url(source: str) -> tuple[str, str]:
    """``"URL#table"`` -> (URL, table); the table is a name (optionally schema-qualified), each
    part plain or in SQL's double quotes (``crm."Order Lines"``)."""
    url, sep, table = str(source).partition("#")
    if not sep or not table:
        raise EngineError(
            f"{redact(url)}: name the table after '#', e.g. {redact(url)}#sales_order"
        )
    if not _TABLE_NAME.match(table):
        raise EngineError(f"{redact(url)}: {table!r} is not a table name")
    return url, table


def _name_parts(table: str) -> tuple[str | None, str]:
    """(schema or None, table) as written, each plain or quoted."""
    match = _TABLE_NAME.match(table)
    assert match is not None  # split_table_url checked it
    return match[1], match[2]


def _spellings(name: str) -> list[str]:
    """The names a SQL name may be stored under: a quoted name is itself (quotes removed); an
    unquoted one as written, then folded to lower case (PostgreSQL, DuckDB) and to upper case
    (Snowflake, Oracle), as the database folds a name it was created with."""
    if name.startswith('"'):
        return [name[1:-1].replace('""', '"')]
    return list(dict.fromkeys([name, name.lower(), name.upper()]))


def read_table(source: str) -> tuple[str, pd.DataFrame | pa.Table]:
    """(display name, rows) of the table named in ``source`` (``URL#table``).

    The rows are an Arrow table where every column is of a type :func:`_arrow_fits` takes, with
    the types the DataFrame of the other tables gives (:func:`_as_a_frame_gives`): fetched
    without Pandas, and an orders table then loaded by DuckDB as an orders file is
    (:func:`valuecast.io.defer_orders`), with the same result.
    """
    url, table = split_table_url(source)
    name = f"{redact(url)}#{table}"
    scheme = urlsplit(url).scheme.lower()
    try:
        if scheme == "duckdb":  # a database file to read, never to create
            file = Path(url.removeprefix("duckdb://"))
            if not file.exists():
                raise EngineError(f"{file}: no such database file")
            con = connect_duckdb(str(file), read_only=True)
        else:
            con = connect(url)
    except EngineError as error:
        extra = _DRIVERS.get(scheme)
        missing = isinstance(error.__cause__, ImportError)  # not a server that is down
        hint = (
            f" (install the driver: pip install 'valuecast[{extra}]')" if extra and missing else ""
        )
        raise EngineError(f"{name}: {str(error).replace(url, redact(url))}{hint}") from None
    try:
        expr = _whole_numbers_as_text(_table(con, name, table))
        if scheme in ("postgres", "postgresql"):
            expr = _postgres_decimals(expr, _money_columns(con, expr))
            expr = _finite_times(expr)
        try:
            if scheme in _ARROW_SCHEMES and _arrow_fits(expr.schema()):
                return name, _as_a_frame_gives(expr.to_pyarrow())
            frame = expr.to_pandas()
        except Exception as error:  # a column type the driver cannot hand over
            raise EngineError(
                f"{name}: cannot read its rows ({type(error).__name__}: {error})"
            ) from None
        return name, _in_database_zone(con, scheme, frame)
    finally:
        try:
            con.disconnect()
        except Exception:  # pragma: no cover - closing a failed connection
            pass


def _table(con, name: str, table: str):
    """The Ibis table ``table`` names on ``con``, under the first of its spellings found."""
    schema, bare = _name_parts(table)
    failure = None
    for database in [None] if schema is None else _spellings(schema):
        for spelling in _spellings(bare):
            try:
                return con.table(spelling, database=database)
            except Exception as error:  # the backends raise their own "no such table" errors
                failure = failure or error
    raise EngineError(
        f"{name}: no such table ({type(failure).__name__}){_tables_hint(con, schema, bare)}"
    ) from None


MAX_TABLES_IN_HINT = 12
"""Table names an error lists at most: a shop's database may hold hundreds."""


def _tables_hint(con, schema: str | None, bare: str) -> str:
    """What to name instead of a missing table: the schema's table or view closest to it (a
    typo, ``order`` for ``orders``), else its tables and views; nothing where they cannot be
    listed."""
    if schema is None:
        names = _listed(con, None)
    else:  # the schema as the database stores it, as the table was looked up
        names = next(
            (found for spelling in _spellings(schema) if (found := _listed(con, spelling))), []
        )
    if not names:
        return "" if schema is None else _schemas_hint(con, schema)
    wanted = _spellings(bare)[-1 if bare.startswith('"') else 1].lower()
    close = difflib.get_close_matches(wanted, [n.lower() for n in names], n=1, cutoff=0.6)
    if close:
        return f" (did you mean {_as_written(next(n for n in names if n.lower() == close[0]))}?)"
    shown = ", ".join(_as_written(name) for name in names[:MAX_TABLES_IN_HINT])
    more = f", ... ({len(names):,} in all)" if len(names) > MAX_TABLES_IN_HINT else ""
    return f" (its tables: {shown}{more})"


def _schemas_hint(con, schema: str) -> str:
    """What to name instead of a schema holding no tables: the schema closest to it, else the
    schemas that hold tables; nothing where it exists (empty) or they cannot be listed."""
    names = _schemas(con)
    if not names or any(spelling in names for spelling in _spellings(schema)):
        return ""
    wanted = _spellings(schema)[-1 if schema.startswith('"') else 1].lower()
    close = difflib.get_close_matches(wanted, [n.lower() for n in names], n=1, cutoff=0.6)
    if close:
        found = next(n for n in names if n.lower() == close[0])
        return f" (no schema {schema}; did you mean {_as_written(found)}?)"
    shown = ", ".join(_as_written(name) for name in names[:MAX_TABLES_IN_HINT])
    more = f", ... ({len(names):,} in all)" if len(names) > MAX_TABLES_IN_HINT else ""
    return f" (no schema {schema}; its schemas: {shown}{more})"


_SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "pg_toast", "mysql", "sys"})
"""Schemas of the database's own catalogue, never a shop's orders."""


def _schemas(con) -> list[str]:
    """The schemas holding tables or views the connection may see, from ``information_schema``;
    none where it cannot be read."""
    query = "SELECT DISTINCT table_schema FROM information_schema.tables ORDER BY table_schema"
    try:
        names = _fetched(con, query)
    except Exception:  # a database without information_schema, or no right to read it
        return []
    return [name for name in names if name.lower() not in _SYSTEM_SCHEMAS]


def _as_written(name: str) -> str:
    """A table's name as a source names it: plain, or in SQL's double quotes."""
    if re.fullmatch(_PLAIN, name):
        return name
    return '"' + name.replace('"', '""') + '"'


def _listed(con, schema: str | None) -> list[str]:
    """The tables and views of ``schema`` (None: the connection's), from the SQL standard's
    ``information_schema`` (Ibis' own listing fails on some DuckDB versions), else Ibis';
    none where neither can list them (no such schema, no right to see them)."""
    where = "current_schema()" if schema is None else sql_string(schema)
    query = (
        "SELECT table_name FROM information_schema.tables WHERE table_schema = "
        f"{where} ORDER BY table_name"
    )
    try:
        names = _fetched(con, query)
    except Exception:  # a database without current_schema() (MySQL): Ibis lists them
        try:
            names = sorted(con.list_tables(database=schema))
        except Exception:  # no schema of that spelling, or no right to list it
            return []
    return [name for name in names if not name.startswith("ibis_")]  # Ibis' own scratch tables


def _fetched(con, query: str) -> list[str]:
    """The first column of ``query``'s rows, on the backend's own cursor (DuckDB's is its
    connection, left open)."""
    cursor = con.raw_sql(query)
    try:
        return [str(row[0]) for row in cursor.fetchall()]
    finally:
        if cursor is not getattr(con, "con", None):
            cursor.close()


def _whole_numbers_as_text(expr):
    """``expr`` with its integer columns as text, written as the table's CSV dump writes them.

    A pandas column of integers with a NULL among them is a float column, whose text loses
    the digits of an id beyond 2**53 (9007199254740993 read as 9.007199254740992e+15, and two
    customers made one); the importers read whole numbers from text as from a CSV file.
    """
    schema = expr.schema()
    whole = [column for column, kind in schema.items() if kind.is_integer()]
    if not whole:
        return expr
    return expr.mutate(**{column: expr[column].cast("string") for column in whole})


_MONEY_TYPE = 790
"""PostgreSQL's type id of ``MONEY``, which Ibis reads as a decimal."""


def _money_columns(con, expr) -> set[str] | None:
    """The columns of ``expr`` PostgreSQL stores as ``MONEY``, from the types of its result;
    ``None`` where they cannot be told."""
    try:
        cursor = con.raw_sql(con.compile(expr.limit(0)))
    except Exception:  # no right to run it: the read says why
        return None
    try:
        return {column.name for column in cursor.description if column.type_code == _MONEY_TYPE}
    finally:
        cursor.close()


def _postgres_decimals(expr, money: set[str] | None):
    """``expr`` with PostgreSQL's decimal columns read as the importers read them.

    A ``MONEY`` column, and a ``NUMERIC`` without decimals (an id may be one), as text, as the
    table's CSV dump writes them (``$1,234.99``, ``9007199254740993``): Ibis reads ``MONEY`` as
    a decimal it cannot parse from the symbol and separators PostgreSQL writes in it. A
    ``NUMERIC`` with decimals (``NUMERIC(10, 3)``) as the nearest float, which is its text's
    (PostgreSQL converts it through its text): its point marks decimals, where its text,
    ``1.500``, could separate thousands, which the importers refuse to guess.
    """
    schema = expr.schema()
    casts = {}
    for column, kind in schema.items():
        if not kind.is_decimal():
            continue
        exact = money is None or column in money or not kind.scale
        casts[column] = expr[column].cast("string" if exact else "float64")
    return expr.mutate(**casts) if casts else expr


def _finite_times(expr):
    """``expr`` with PostgreSQL's ``infinity`` and ``-infinity`` dates and times (a column's
    "never", as in ``valid_until``), and any beyond the years 1 to 9999, as missing: no driver
    hands them over, so that one such cell, in a column no order needs, made the whole table
    unreadable; in the order date it is a missing date, an error naming its row."""
    import ibis

    casts = {}
    for column, kind in expr.schema().items():
        if kind.is_date():
            low, high = date(1, 1, 1), date(9999, 12, 31)
        elif kind.is_timestamp():
            low, high = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)
        else:
            continue
        value = expr[column]
        casts[column] = ibis.ifelse(value.between(low, high), value, ibis.null(kind))
    return expr.mutate(**casts) if casts else expr


def _in_database_zone(con, scheme: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its zoned times (``TIMESTAMPTZ``) on the wall clock of the PostgreSQL
    database's own time zone, as ``psql`` and the database's CSV dump write them: the dates of
    orders are the shop's days, not UTC's (Ibis reads every session in UTC). A zone pandas
    does not know leaves the times in UTC."""
    zoned = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    if not zoned or scheme not in ("postgres", "postgresql"):
        return frame
    query = "SELECT reset_val FROM pg_settings WHERE name = 'TimeZone'"
    try:
        with con.raw_sql(query) as cursor:
            zone = cursor.fetchone()[0]
        return frame.assign(**{c: frame[c].dt.tz_convert(zone) for c in zoned})
    except Exception:  # a zone written as PostgreSQL alone writes it (a POSIX rule): UTC
        return frame


def _arrow_fits(schema) -> bool:
    """Whether every column of the Ibis ``schema`` is of a type read as Arrow with the values
    and types of the DataFrame Ibis gives (:func:`_as_a_frame_gives`): text, dates, times
    without a zone, floats, booleans and decimals (whole numbers are read as text already)."""
    return all(
        kind.is_string()
        or kind.is_date()
        or (kind.is_timestamp() and kind.timezone is None)
        or kind.is_floating()
        or kind.is_boolean()
        or kind.is_decimal()
        for kind in schema.types
    )


def _as_a_frame_gives(table: pa.Table) -> pa.Table:
    """``table`` (fetched as Arrow) with the types and values Arrow gives the DataFrame Ibis
    reads the same rows into (``pa.Table.from_pandas``), which the importers read: text as
    ``large_string``, a date as a midnight time in seconds, a time of day in microseconds
    (nanoseconds kept), a float's NaN as missing, a boolean or decimal column without a value
    as Arrow's null type (Pandas holds it as objects, all None). A decimal stays a decimal of
    its scale: the importers read decimals through their text, which the scale alone writes."""
    columns = []
    for column in table.columns:
        kind = column.type
        objects = pa.types.is_boolean(kind) or pa.types.is_decimal(kind)
        if objects and column.null_count == len(column) > 0:
            column = pa.chunked_array([pa.nulls(len(column))])
        elif pa.types.is_string(kind):
            column = column.cast(pa.large_string())
        elif pa.types.is_date(kind):
            column = column.cast(pa.timestamp("s"))
        elif pa.types.is_timestamp(kind) and kind.unit != "ns":
            column = column.cast(pa.timestamp("us"))
        elif pa.types.is_floating(kind) and column.null_count < len(column):
            column = pc.if_else(pc.is_nan(column), pa.scalar(None, kind), column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)
