"""Writing result files so that a reader never sees half of one: a temporary name, then a rename.

Every CSV valuecast writes goes through :func:`write_csv` (pandas frames),
:func:`write_arrow_csv` (Arrow tables) or :func:`write_ibis_csv` (database tables), so every one
follows the formula-safe cell rule of :mod:`valuecast.csvsafe`, the one rounding rule of
:func:`valuecast.tables.csv_decimals` and one way of writing each kind of cell, which a BI tool
(DuckDB, pandas, Excel, Power BI) reads as one type per column whatever rows it samples:

* a float column: every number with exactly its column's decimals (``69.00``, ``0.500000``),
  whole amounts too, so that a column is never typed an integer from whole first rows;
* an integer column: integers (``3``);
* a boolean column: ``true`` / ``false``;
* a date (``*_date`` columns and the customers table's dates): ``YYYY-MM-DD``;
* a missing value (NaN too): an empty cell.

The rule keeps 6 decimals of ``valuecast summary``'s ``avg_repeat_order_value``, the spend
``valuecast fit`` reads from that file; its Parquet file keeps full precision.
"""

from __future__ import annotations

import os
import stat
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from valuecast.csvsafe import escape_arrow, escape_frame, escape_ibis
from valuecast.tables import csv_decimals, is_date_column, round_half_up, round_half_up_expr

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "column_decimals",
    "csv_text",
    "fixed_point",
    "rounded_for_csv",
    "write_arrow_csv",
    "write_arrow_batches",
    "write_atomically",
    "write_csv",
    "write_ibis_csv",
    "written_cells",
]


CSV_ROWS_AT_A_TIME = 8192
"""Rows Arrow's CSV writer turns into text at a time (its default: 1024).  The same bytes; the
numbers' formatting runs over longer columns (1M customers: 1.07 -> 0.98 s of CPU for
customers.csv; 4096 and 16384 rows are about as fast, 32768 slower)."""


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder and rename it over ``path``.

    A named pipe, and a device the user named (``/dev/stdout``, ``/dev/null``: a path in
    ``/dev`` or ``/proc``), is written to as it is: renaming over it would put a file where the
    device was (as root, for every later process).  ``/dev/stdout`` redirected to a file is
    that file, replaced.  Any other link is replaced as a file is, never followed: a link
    planted in a shared results folder must not make a run write wherever it points."""
    system = str(path.absolute()).startswith(("/dev/", "/proc/"))
    try:
        mode = path.stat().st_mode
    except OSError:  # no such file (or a link to none): made by the rename
        mode = None
    if mode is not None and (
        stat.S_ISFIFO(mode) and not path.is_symlink() or system and not stat.S_ISREG(mode)
    ):
        write(path)
        return
    if system and path.is_symlink():
        path = Path(os.path.realpath(path))
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        write(temporary)
        temporary.replace(path)
    except OSError as error:
        # an error of the system's (an errno) names its file; one raised with a message alone
        # ("disk full" from a writer) keeps it as it is
        if error.errno is not None and str(error.filename or temporary) == str(temporary):
            # a full disk names no file ("File too large"): the one being written is the clue
            error.filename = str(path)
        raise
    finally:
        temporary.unlink(missing_ok=True)


def rounded_for_csv(frame: pd.DataFrame, decimals: Mapping[str, int] | None = None) -> pd.DataFrame:
    """``frame`` as its CSV file shows it: numbers rounded by column, ``*_date`` columns as text.

    ``decimals`` gives the places of columns :func:`~valuecast.tables.csv_decimals` does not
    name (an audience file's platform columns, ``Predicted CLV``); the rest follow the rule.
    """
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if is_date_column(str(name)) and column.dtype.kind == "M":
            out[name] = _day_text(column)
        elif column.dtype.kind == "f":
            out[name] = rounded_series(column, column_decimals(str(name), decimals))
    return out


def column_decimals(column: str, decimals: Mapping[str, int] | None = None) -> int:
    """The places a CSV file writes of the float column ``column``: ``decimals``' where it
    names the column, else :func:`~valuecast.tables.csv_decimals`'."""
    if decimals is not None and column in decimals:
        return decimals[column]
    return csv_decimals(column)


DECIMAL_DIGITS = 38
"""Digits of the decimal type a float column is written as: the widest 128-bit decimal of Arrow
and DuckDB, whose CSV writers write every value of it with all its scale's places."""

WHOLE_UNITS = 2.0**50
"""Units of the last place (cents at 2 places) below which a rounded double times the units of
a whole is its integer count of them within 0.375, so that rounding it gives the count exactly:
the decimal's 128-bit integer is then made in NumPy, 13x faster than Arrow's cast from the
double, and the same number (1.1e13 at 2 places, 1.1e9 at 6: any amount a shop's files hold)."""


def fixed_point(values: np.ndarray, decimals: int) -> pa.Array:
    """Float ``values`` (rounded to ``decimals`` places) as the cells a CSV file writes of them:
    Arrow decimals of ``decimals`` places, written with exactly that many (``69.00``,
    ``0.500000``: the exact decimal of each double, as Python's ``f"{x:.2f}"`` writes it), a
    missing value (NaN) null.

    A value no decimal of :data:`DECIMAL_DIGITS` digits holds (an infinity, ``1e40`` of a
    degenerate fit) makes the whole column text in Python's fixed-point layout (``inf``),
    which still reads as a number."""
    import pyarrow as pa

    scaled = values * 10.0**decimals
    # the largest size of a unit count, missing ones left out (-inf: all missing, or none)
    largest = max(np.fmax.reduce(scaled, initial=-np.inf), -np.fmin.reduce(scaled, initial=np.inf))
    if largest < WHOLE_UNITS and sys.byteorder == "little":
        return _decimals_of_units(np.rint(scaled, out=scaled), decimals)
    missing = np.isnan(values)
    with np.errstate(invalid="ignore"):
        fits = np.abs(values) < 10.0 ** (DECIMAL_DIGITS - decimals)
    if (fits | missing).all():
        filled = np.where(missing, 0.0, values) if missing.any() else values
        numbers = pa.array(filled, pa.float64(), mask=missing if missing.any() else None)
        return numbers.cast(pa.decimal128(DECIMAL_DIGITS, decimals))
    texts = [
        None if gap else f"{value:.{decimals}f}" for value, gap in zip(values, missing, strict=True)
    ]
    return pa.array(texts, pa.string())


def _decimals_of_units(units: np.ndarray, decimals: int) -> pa.Array:
    """Arrow decimals of ``decimals`` places holding the whole ``units`` (doubles, NaN where
    missing: null) of the last place, each a little-endian 128-bit integer whose high half is
    the sign.  ``units`` is overwritten."""
    import pyarrow as pa

    missing = np.isnan(units)
    gaps = bool(missing.any())
    if gaps:
        units[missing] = 0.0
    words = np.empty((len(units), 2), dtype=np.int64)
    words[:, 0] = units
    np.right_shift(words[:, 0], 63, out=words[:, 1])
    validity = pa.array(~missing).buffers()[1] if gaps else None
    kind = pa.decimal128(DECIMAL_DIGITS, decimals)
    return pa.Array.from_buffers(kind, len(units), [validity, pa.py_buffer(words)])


def rounded_series(column: pd.Series, decimals: int) -> pd.Series:
    """A float column rounded as the engine rounds (:func:`valuecast.tables.round_half_up`),
    its dtype and missing values kept."""
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    rounded = pd.Series(round_half_up(values, decimals), index=column.index, name=column.name)
    return rounded.astype(column.dtype)


def _day_text(column: pd.Series) -> pd.Series:
    """A date column's days as YYYY-MM-DD text, missing ones missing: cast by Arrow where the
    dates carry no time zone (1.1M dates: 0.09 s against 0.25 s for pandas' ``strftime``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column.dtype, np.dtype):
        try:
            days = pc.cast(pa.array(column, from_pandas=True).cast(pa.date32()), pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        else:
            return _text_series(days, column)
    dates = pd.to_datetime(column)
    return dates.dt.strftime("%Y-%m-%d").where(dates.notna(), None)


def _fixed_point_arrow(table: pa.Table) -> pa.Table:
    """``table`` with each float column rounded by the CSV rule and made :func:`fixed_point`'s
    decimals, which Arrow's CSV writer writes with all their places (its float text is the
    shortest: ``69`` beside ``31.33``)."""
    # rounded as the engine rounds; Arrow's round() returns a value within its tolerance of
    # the rounded one unchanged, so 127.42999999999999 stayed that instead of 127.43
    import pyarrow as pa

    for index, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            column = table.column(index).combine_chunks()
            # missing values as NaN, then null again: Arrow's own conversion of a column
            # with missing values took 15x as long as filling them
            if column.null_count:
                column = column.fill_null(np.nan)
            places = csv_decimals(field.name)
            values = round_half_up(column.to_numpy(zero_copy_only=False), places)
            table = table.set_column(index, field.name, fixed_point(values, places))
    return table


def _safe_csv(
    frame: pd.DataFrame, decimals: Mapping[str, int] | None
) -> tuple[pd.DataFrame, Iterator[bytes] | None]:
    """``frame`` formula-safe, rounded and its cells as its CSV writes them
    (:func:`written_cells`), and pandas' text of it made by Arrow in pieces where its columns
    allow (:mod:`valuecast.outputs.csvtext`), else None."""
    from valuecast.outputs.csvtext import csv_chunks

    # escaped before the numbers become text: a negative amount is a number, not a formula
    safe = written_cells(escape_frame(rounded_for_csv(frame, decimals)), decimals)
    return safe, csv_chunks(safe)


def written_cells(frame: pd.DataFrame, decimals: Mapping[str, int] | None = None) -> pd.DataFrame:
    """``frame`` (rounded) with its float columns as :func:`fixed_point`'s text and its boolean
    columns as ``true``/``false`` (missing ones missing), as every CSV file writes them;
    the other columns as they are."""
    import pyarrow as pa

    out = frame.copy(deep=False)
    for index, name in enumerate(frame.columns):
        column = frame.iloc[:, index]
        if pd.api.types.is_float_dtype(column.dtype):
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            cells = fixed_point(values, column_decimals(str(name), decimals)).cast(pa.string())
        elif pd.api.types.is_bool_dtype(column.dtype):
            cells = _boolean_words(pa.array(column, type=pa.bool_(), from_pandas=True))
        else:
            continue
        out.isetitem(index, _text_series(cells, column))
    return out


def _text_series(cells: pa.Array, column: pd.Series) -> pd.Series:
    """Arrow text ``cells`` as the cells of ``column``: its index (by position: the index of
    ``to_pandas`` is 0, 1, ..., which a frame filtered or sorted does not have) and name."""
    import pyarrow as pa

    text = cells.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    return pd.Series(text.array, index=column.index, name=column.name)


def _boolean_words(values: pa.Array) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    words = pa.scalar("true", pa.string()), pa.scalar("false", pa.string())
    return pc.if_else(values, *words)


def csv_text(frame: pd.DataFrame, *, decimals: Mapping[str, int] | None = None) -> str:
    """``frame`` as formula-safe, rounded CSV text without its index (for downloads);
    ``decimals`` as :func:`rounded_for_csv` takes it."""
    safe, chunks = _safe_csv(frame, decimals)
    return safe.to_csv(index=False) if chunks is None else b"".join(chunks).decode("utf-8")


def write_csv(
    frame: pd.DataFrame, path: Path, *, decimals: Mapping[str, int] | None = None
) -> None:
    """``frame`` as a formula-safe, rounded UTF-8 CSV file without its index, atomically;
    ``decimals`` as :func:`rounded_for_csv` takes it."""
    safe, chunks = _safe_csv(frame, decimals)
    if chunks is None:
        write_atomically(path, lambda target: safe.to_csv(target, index=False, encoding="utf-8"))
        return

    def write(target: Path) -> None:
        with open(target, "wb") as file:
            for chunk in chunks:
                file.write(chunk)

    write_atomically(path, write)


def write_arrow_csv(table: pa.Table, path: Path) -> None:
    """An Arrow table as a formula-safe, rounded CSV file (fields quoted where needed), atomically.

    Arrow writes date columns as YYYY-MM-DD already.
    """
    write_arrow_batches(table.to_batches(), table.schema, csv=path)


def write_arrow_batches(
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    *,
    csv: Path | None = None,
    parquet: Path | None = None,
    parquet_schema: pa.Schema | None = None,
) -> None:
    """The table whose record batches ``batches`` yields (columns ``schema``) as a CSV file
    (:func:`write_arrow_csv`'s: the same bytes as the whole table's file) and/or a Parquet file
    (full precision, a row group per batch, columns ``parquet_schema``, by default ``schema``),
    both from one pass, a few batches in memory at a time, each written atomically.

    The Parquet file is written in a thread of its own and the CSV text is made by
    :data:`CSV_TEXT_THREADS` others (Arrow and NumPy let go of the GIL), while this one reads
    the batches and writes the text in order.
    """

    def write(csv_target: Path | None, parquet_target: Path | None) -> None:
        with ExitStack() as stack:
            text = None if csv_target is None else stack.enter_context(
                _CsvThreads(csv_target, schema)
            )  # fmt: skip
            table = None if parquet_target is None else stack.enter_context(
                _ParquetThread(parquet_target, parquet_schema or schema)
            )  # fmt: skip
            for batch in batches:
                if table is not None:
                    table.write(batch)
                if text is not None:
                    text.write(batch)

    def atomically(path: Path | None, then: Callable[[Path | None], None]) -> None:
        if path is None:
            then(None)
        else:
            write_atomically(path, then)

    atomically(csv, lambda c: atomically(parquet, lambda p: write(c, p)))


CSV_TEXT_THREADS = 2
"""Threads that turn customers.csv's rows into text: its numbers' formatting is the longest
part of writing the customers files (1M customers: ~1.0 s of CPU, 0.8 s of it the floats)."""

CSV_ROWS_PER_PIECE = 16_384
"""Rows a CSV thread turns into text at once: a piece's text (~4 MB of the customers table) is
held until it is written, :attr:`_CsvThreads.AHEAD` at a time; a table given whole is cut into
such pieces (pieces of 50,000 rows add ~50 MB to a 1M-customer `analyze`'s peak)."""


class _InOrder:
    """Work done by ``workers`` threads, its results handed to ``take`` in the order it was
    submitted, at most ``ahead`` submitted and not yet taken."""

    def __init__(self, workers: int, ahead: int, take: Callable[[Any], None]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._pending: deque[Future[Any]] = deque()
        self._ahead = ahead
        self._take = take

    def submit(self, work: Callable[..., Any], *args: Any) -> None:
        while len(self._pending) >= self._ahead:
            self._take(self._pending.popleft().result())
        self._pending.append(self._pool.submit(work, *args))

    def drain(self) -> None:
        """Take every result still waiting (raising what the work raised)."""
        while self._pending:
            self._take(self._pending.popleft().result())

    def close(self) -> None:
        """Cancel the work not started and wait for the rest."""
        for waiting in self._pending:
            waiting.cancel()
        self._pool.shutdown()


class _CsvThreads:
    """A formula-safe, rounded CSV file of ``schema`` (:func:`write_arrow_csv`'s bytes): each
    batch, in pieces of at most :data:`CSV_ROWS_PER_PIECE` rows, is rounded, escaped and made
    text by one of :data:`CSV_TEXT_THREADS` threads, and the text is written in the order the
    batches came (rows never depend on one another in a CSV file, so the pieces' texts make
    the whole table's)."""

    AHEAD = CSV_TEXT_THREADS + 1

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._schema = schema
        self._file = open(path, "wb")  # noqa: SIM115 - closed by __exit__
        self._texts = _InOrder(CSV_TEXT_THREADS, self.AHEAD, self._file.write)
        try:
            self._file.write(self._text(schema.empty_table(), header=True))
        except BaseException:
            self._close()
            raise

    @staticmethod
    def _text(table: pa.Table, *, header: bool = False) -> bytes:
        import io

        import pyarrow.csv as pacsv

        out = io.BytesIO()
        options = pacsv.WriteOptions(
            quoting_style="needed", batch_size=CSV_ROWS_AT_A_TIME, include_header=header
        )
        # escaped before the numbers become text, as the pandas path does: -inf is no formula
        pacsv.write_csv(_fixed_point_arrow(escape_arrow(table)), out, options)
        return out.getvalue()

    def write(self, batch: pa.RecordBatch) -> None:
        import pyarrow as pa

        for start in range(0, batch.num_rows, CSV_ROWS_PER_PIECE):
            piece = pa.Table.from_batches([batch.slice(start, CSV_ROWS_PER_PIECE)], self._schema)
            self._texts.submit(self._text, piece)

    def __enter__(self) -> _CsvThreads:
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        try:
            if exc_type is None:  # a failed file is removed: its text is not waited for
                self._texts.drain()
        finally:
            self._close()

    def _close(self) -> None:
        self._texts.close()
        self._file.close()


class _ParquetThread:
    """A Parquet file of ``schema`` written in a thread of its own, batch after batch in the
    order given (each cast to ``schema``), at most :attr:`AHEAD` batches waiting."""

    AHEAD = 2

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._schema = schema
        # no dictionary for the float columns, whose values hardly repeat in a row group, nor
        # for the customer ids, one a row: Parquet would build each dictionary only to fall
        # back to plain values (1M customers: 0.82 s -> 0.46 s of CPU, 85 -> 82 MB without
        # the floats'; 0.45 -> 0.41 s, 84.8 -> 83.7 MB without the ids')
        keyed = [
            field.name
            for field in schema
            if not pa.types.is_floating(field.type) and field.name != "customer_id"
        ]
        self._writer = pq.ParquetWriter(path, schema, use_dictionary=keyed)
        self._writes = _InOrder(1, self.AHEAD, lambda _: None)

    def write(self, batch: pa.RecordBatch) -> None:
        self._writes.submit(self._write, batch)

    def _write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch.cast(self._schema))

    def __enter__(self) -> _ParquetThread:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._writes.drain()
        finally:
            self._writes.close()
            self._writer.close()


def write_ibis_csv(con: Any, table: Any, path: Path) -> None:
    """An Ibis table expression as a formula-safe, rounded CSV file, written by its backend,
    atomically (the database rounds and escapes the rows as it streams them)."""
    safe = escape_ibis(_fixed_point_ibis(table))
    write_atomically(path, lambda target: con.to_csv(safe, target))


def _fixed_point_ibis(table: Any) -> Any:
    """An Ibis table expression with each floating column rounded by the CSV rule, as NumPy
    rounds the other files, and cast to a decimal of its places, which the database writes
    with all of them (``69.00``) as Arrow writes :func:`fixed_point`'s; NaN as null (empty).

    The database's cast scales the double by its places in floating point: it writes what
    :func:`fixed_point` writes up to 3.5e13 at 2 places (4.2e9 at 6), every amount a shop's
    summary holds; beyond, its last places are those of the scaled double (36194699146417.95
    is written ...17.96, 1e21 999999999999999916113.92).  The
    summaries it writes add up amounts each within ``MAX_AMOUNT`` (10^12), far within the
    decimal's 38 digits."""
    import ibis
    import ibis.expr.datatypes as dt

    columns = []
    for name, kind in table.schema().items():
        column = table[name]
        if kind.is_floating():
            places = csv_decimals(name)
            rounded = round_half_up_expr(column, places)
            known = ibis.ifelse(rounded.isnan(), ibis.null(rounded.type()), rounded)
            column = known.cast(dt.Decimal(DECIMAL_DIGITS, places))
        columns.append(column.name(name))
    return table.select(columns)
