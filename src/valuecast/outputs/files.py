"""Writing result files so that a reader never sees half of one: a temporary name, then a rename.

Every CSV valuecast writes goes through :func:`write_csv` (pandas frames),
:func:`write_arrow_csv` (Arrow tables) or :func:`write_ibis_csv` (database tables), so every one
follows the formula-safe cell rule of :mod:`valuecast.csvsafe` and the one rounding rule of
:func:`valuecast.tables.csv_decimals` (dates of ``*_date`` columns as YYYY-MM-DD).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from valuecast.csvsafe import escape_arrow, escape_frame, escape_ibis
from valuecast.tables import csv_decimals, is_date_column

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "csv_text",
    "rounded_for_csv",
    "write_arrow_csv",
    "write_arrow_csv_batches",
    "write_arrow_parquet_batches",
    "write_atomically",
    "write_csv",
    "write_ibis_csv",
]


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder and rename it over ``path``."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        write(temporary)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def rounded_for_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as its CSV file shows it: numbers rounded by column, ``*_date`` columns as text."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if is_date_column(str(name)) and column.dtype.kind == "M":
            dates = pd.to_datetime(column)
            out[name] = dates.dt.strftime("%Y-%m-%d").where(dates.notna(), None)
        elif column.dtype.kind == "f":
            out[name] = column.round(csv_decimals(str(name)))
    return out


def _rounded_arrow(table: pa.Table) -> pa.Table:
    # NumPy rounds as pandas does; Arrow's round() returns a value within its tolerance of
    # the rounded one unchanged, so 127.42999999999999 stayed that instead of 127.43
    import numpy as np
    import pyarrow as pa

    for index, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            column = table.column(index).combine_chunks()
            values = np.round(column.to_numpy(zero_copy_only=False), csv_decimals(field.name))
            rounded = pa.array(values, type=field.type, mask=column.is_null().to_numpy(False))
            table = table.set_column(index, field.name, rounded)
    return table


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as formula-safe, rounded CSV text without its index (for downloads)."""
    return escape_frame(rounded_for_csv(frame)).to_csv(index=False)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as a formula-safe, rounded UTF-8 CSV file without its index, atomically."""
    safe = escape_frame(rounded_for_csv(frame))
    write_atomically(path, lambda target: safe.to_csv(target, index=False, encoding="utf-8"))


def write_arrow_csv(table: pa.Table, path: Path) -> None:
    """An Arrow table as a formula-safe, rounded CSV file (fields quoted where needed), atomically.

    Arrow writes date columns as YYYY-MM-DD already.
    """
    write_arrow_csv_batches(table.to_batches(), table.schema, path)


def write_arrow_csv_batches(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, path: Path
) -> None:
    """:func:`write_arrow_csv` of the table whose record batches ``batches`` yields (columns
    ``schema``), one batch in memory at a time: the same bytes as the whole table's file."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def safe(table: pa.Table) -> pa.Table:
        return escape_arrow(_rounded_arrow(table))

    options = pacsv.WriteOptions(quoting_style="needed")

    def write(target: Path) -> None:
        header = safe(schema.empty_table()).schema
        with pacsv.CSVWriter(target, header, write_options=options) as writer:
            for batch in batches:
                writer.write_table(safe(pa.Table.from_batches([batch], schema)))

    write_atomically(path, write)


def write_arrow_parquet_batches(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, path: Path
) -> None:
    """The table whose record batches ``batches`` yields as a Parquet file, one batch in
    memory at a time (a row group each), atomically; full precision, as Parquet files keep."""
    import pyarrow.parquet as pq

    def write(target: Path) -> None:
        with pq.ParquetWriter(target, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)

    write_atomically(path, write)


def write_ibis_csv(con: Any, table: Any, path: Path) -> None:
    """An Ibis table expression as a formula-safe CSV file, written by its backend, atomically."""
    safe = escape_ibis(table)
    write_atomically(path, lambda target: con.to_csv(safe, target))
