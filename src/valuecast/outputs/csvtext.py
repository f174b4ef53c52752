"""pandas' CSV text of a frame, made a column at a time by Arrow's string functions.

``DataFrame.to_csv`` formats and quotes every cell in Python: the product suggestions and
replenishment reminders of a 1M-order shop (1.7M and 1.1M rows) took it 4.1 s.  Here each column
becomes the text pandas writes for it (numbers as Python's ``repr``, ``True``/``False``,
missing values empty, a cell quoted only where it holds a comma, a quote or a line feed), and
the rows are joined by Arrow.  The bytes are pandas' own (``to_csv(index=False)``, the
default ``,`` and ``"`` and ``\\n``); a column of another kind (dates, mixed objects, ...) or a
frame of one column (whose empty cells pandas quotes) returns ``None``, and the caller lets
pandas write it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["csv_chunks"]

ROWS_AT_A_TIME = 65_536
"""Rows made text at once (the text of a chunk is held until it is written)."""

_PADDED_EXPONENT = (r"e([+-])(\d)$", r"e\10\2")  # RE2 reads \1, then 0
"""Python writes an exponent with two digits at least (1e+16), Arrow with one (1e+6 would be)."""


def csv_chunks(frame: pd.DataFrame) -> Iterator[bytes] | None:
    """The bytes of ``frame.to_csv(index=False)`` in pieces (the header first), or ``None``
    where a column's text is not made here (see the module docstring)."""
    if frame.shape[1] < 2 or not all(isinstance(name, str) for name in frame.columns):
        return None
    texts = [_column_text(frame.iloc[:, index]) for index in range(frame.shape[1])]
    if any(text is None for text in texts):
        return None
    columns = [_arrow(frame.iloc[:, index]) for index in range(frame.shape[1])]
    texts = [
        _plain_text if text is _string_text and not _may_need_quotes(column) else text
        for column, text in zip(columns, texts, strict=True)
    ]
    return _chunks(list(frame.columns), columns, texts)  # type: ignore[arg-type]


def _arrow(column: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The column in Arrow, missing values (NaN too) null; no copy where pandas keeps it in
    Arrow (as chunks: each piece of rows is combined on its own)."""
    return pa.array(column, from_pandas=True)


def _chunks(
    names: list[str],
    columns: list[pa.Array | pa.ChunkedArray],
    texts: list[Callable[[pa.Array], pa.Array]],
) -> Iterator[bytes]:
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(names)
    yield header.getvalue().encode("utf-8")
    comma, empty, end = (pa.scalar(mark, pa.string()) for mark in (",", "", "\n"))
    rows = len(columns[0])
    for start in range(0, rows, ROWS_AT_A_TIME):
        cells = [
            text(_combined(column.slice(start, ROWS_AT_A_TIME)))
            for column, text in zip(columns, texts, strict=True)
        ]
        lines = pc.binary_join_element_wise(
            *cells, comma, null_handling="replace", null_replacement=""
        )
        yield _joined_bytes(pc.binary_join_element_wise(lines, empty, end))


def _combined(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _joined_bytes(lines: pa.Array) -> bytes:
    """The strings of ``lines`` (none missing) one after the other, as bytes."""
    offsets = np.frombuffer(lines.buffers()[1], np.int32)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    return lines.buffers()[2][int(offsets[0]) : int(offsets[-1])].to_pybytes()


def _column_text(column: pd.Series) -> Callable[[pa.Array], pa.Array] | None:
    """How a column's cells become pandas' text (missing ones null), or ``None``."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind == "f" and dtype.itemsize == 8:
            return _float_text
        if dtype.kind in "iu":
            return _number_text
        if dtype.kind == "b":
            return _bool_text
        if dtype.kind == "O" and _all_text(column):
            return _string_text
        return None
    if isinstance(dtype, pd.StringDtype):
        return _string_text
    if isinstance(dtype, pd.Int64Dtype | pd.Int32Dtype):
        return _number_text
    if isinstance(dtype, pd.BooleanDtype):
        return _bool_text
    return None


def _all_text(column: pd.Series) -> bool:
    """Whether every cell of an object column is a string or missing (None, NaN)."""
    return pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty")


def _may_need_quotes(values: pa.Array | pa.ChunkedArray) -> bool:
    """Whether a text column's bytes hold a comma, a quote or a line feed anywhere (three
    ``bytes.find`` over its data, ~1 ms per 10 MB: most columns hold none, and their cells are
    then written as they are, without a pattern matched per cell)."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return True
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    for chunk in chunks:
        data = chunk.buffers()[2]
        text = b"" if data is None else data.to_pybytes()
        if any(text.find(mark) >= 0 for mark in (b",", b'"', b"\n")):
            return True
    return False


def _plain_text(values: pa.Array) -> pa.Array:
    return values.cast(pa.string())


def _string_text(values: pa.Array) -> pa.Array:
    values = values.cast(pa.string())
    needs = pc.fill_null(pc.match_substring_regex(values, '[,"\n]'), False)
    if not pc.any(needs).as_py():
        return values
    quote, empty = pa.scalar('"', pa.string()), pa.scalar("", pa.string())
    doubled = pc.replace_substring(values, '"', '""')
    quoted = pc.binary_join_element_wise(quote, doubled, quote, empty)
    return pc.if_else(needs, quoted, values)


def _number_text(values: pa.Array) -> pa.Array:
    return pc.cast(values, pa.string())


def _bool_text(values: pa.Array) -> pa.Array:
    words = pa.scalar("True", pa.string()), pa.scalar("False", pa.string())
    return pc.if_else(values, *words)


def _float_text(column: pa.Array) -> pa.Array:
    """Python's ``repr`` of each number: Arrow writes the same shortest digits, in a layout of
    its own where they differ (``1`` for ``1.0``, ``0.00001`` and ``1e+13`` where Python writes
    ``1e-05`` and ``10000000000000.0``, ``1e+16`` alike)."""
    values = column.to_numpy(zero_copy_only=False)  # missing ones NaN
    size = np.abs(values)
    text = pc.cast(column, pa.string())
    exponent = pc.fill_null(pc.match_substring(text, "e"), False).to_numpy(zero_copy_only=False)
    # Python writes decimals from 1e-4 up to 1e16 and an exponent outside: where Arrow does
    # otherwise the cell is Python's own
    python = (size < 1e-4) & (values != 0) | exponent & (size < 1e16)
    whole = np.isfinite(values) & (values == np.trunc(values)) & (size < 1e16)
    if whole.any():  # a whole number keeps its point: 1.0, -0.0
        point, empty = pa.scalar(".0", pa.string()), pa.scalar("", pa.string())
        dotted = pc.binary_join_element_wise(text, point, empty)
        text = pc.if_else(pa.array(whole), dotted, text)
    if (exponent & ~python).any():
        text = pc.replace_substring_regex(text, *_PADDED_EXPONENT)
    if python.any():
        written = [repr(float(value)) for value in values[python]]
        text = pc.replace_with_mask(text, pa.array(python), pa.array(written, pa.string()))
    return text
