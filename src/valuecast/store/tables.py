"""Orders tables read straight from a database: ``valuecast ingest "postgres://user@host/shop#sales_order"``.

A source written as an Ibis URL with the table name after ``#`` is read through Ibis (PostgreSQL,
MySQL, a DuckDB file, ...) and handed to the importers as ``(name, DataFrame)``, so a Magento
``sales_order`` table in the shop's own database goes through exactly the rules of its CSV dump.
The password never appears in messages.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from valuecast.store.connection import EngineError, connect, connect_duckdb

__all__ = ["is_table_url", "read_table", "redact", "split_table_url"]

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")

_DRIVERS = {"postgres": "postgres", "postgresql": "postgres", "mysql": "mysql"}


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
    """``"URL#table"`` -> (URL, table); the table is a plain (optionally schema-qualified) name."""
    url, sep, table = str(source).partition("#")
    if not sep or not table:
        raise EngineError(
            f"{redact(url)}: name the table after '#', e.g. {redact(url)}#sales_order"
        )
    if not _TABLE_NAME.match(table):
        raise EngineError(f"{redact(url)}: {table!r} is not a table name")
    return url, table


def read_table(source: str) -> tuple[str, pd.DataFrame]:
    """(display name, rows) of the table named in ``source`` (``URL#table``)."""
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
        hint = f" (install the driver: pip install 'valuecast[{extra}]')" if extra else ""
        raise EngineError(f"{name}: {str(error).replace(url, redact(url))}{hint}") from None
    try:
        schema, _, bare = table.rpartition(".")
        try:
            expr = con.table(bare, database=schema) if schema else con.table(bare)
        except Exception as error:  # the backends raise their own "no such table" errors
            raise EngineError(f"{name}: no such table ({type(error).__name__})") from None
        return name, expr.to_pandas()
    finally:
        try:
            con.disconnect()
        except Exception:  # pragma: no cover - closing a failed connection
            pass
