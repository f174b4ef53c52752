"""Formula-safe CSV cells: the one rule every CSV valuecast writes follows.

A spreadsheet opening a CSV runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some
run one after a leading tab or carriage return) as a formula.  Customer data (e-mails, channels,
discount codes, tags, product names, SKUs) reaches the analysis files, so every text cell is
escaped as OWASP's CSV-injection advice says:

* **Writing.** A text cell that starts with ``= + - @``, a tab or a carriage return, possibly after
  leading apostrophes, gets one more ``'`` in front: ``=SUM(1)`` -> ``'=SUM(1)``,
  ``-john@x.com`` -> ``'-john@x.com``, ``'=x`` -> ``''=x``.  Every other text cell is written
  as it is.  Cells of number columns are numbers and are never changed (``-12.5`` stays
  ``-12.5``); a text cell is escaped even when it looks like a number (a phone ``+4412345`` in a
  text column is written ``'+4412345``), because a spreadsheet must keep it as text.  Column
  names follow the same rule.  A cell holding a comma, quote or line break is quoted as CSV
  requires, so no cell can be split into a second one that starts a formula.
* **Reading back.** :func:`unescape_cell` removes one leading ``'`` from a cell whose text after
  its leading apostrophes starts with one of those characters, and leaves every other cell alone.
  Because the writer escapes ``'=x`` too, reading undoes writing exactly:
  ``unescape_cell(escape_cell(s)) == s`` for every string ``s``.

The frame and table functions apply the rule column by column with vectorised string operations
(pandas ``.str`` / ``pyarrow.compute``), never cell by cell in Python, so a million-row
``customers.csv`` stays fast.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pyarrow is imported where an Arrow table is escaped
    import pyarrow as pa

__all__ = [
    "FORMULA_STARTS",
    "escape_arrow",
    "escape_cell",
    "escape_frame",
    "escape_ibis",
    "unescape_cell",
    "unescape_frame",
]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""The first characters that make a spreadsheet read a cell as a formula (OWASP's list)."""

ESCAPED = r"^'*[=+\-@\t\r]"
"""A cell the writer prefixes with ``'``: formula characters after any leading apostrophes."""

UNESCAPED = r"^'+[=+\-@\t\r]"
"""A cell the reader strips one ``'`` from: what :data:`ESCAPED` cells become once written."""

_ESCAPED = re.compile(ESCAPED)
_UNESCAPED = re.compile(UNESCAPED)


def escape_cell(text: str) -> str:
    """``text`` as the writer puts it in a CSV: one ``'`` in front if it matches :data:`ESCAPED`."""
    return "'" + text if _ESCAPED.match(text) else text


def unescape_cell(text: str) -> str:
    """The value a cell written by :func:`escape_cell` holds: one leading ``'`` removed."""
    return text[1:] if _UNESCAPED.match(text) else text


def _is_text(series: pd.Series) -> bool:
    """Whether a column can hold text cells (object or string dtype; numbers, dates are not)."""
    return pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)


def _prefixed(series: pd.Series, pattern: str) -> pd.Series:
    """The cells of ``series`` that are strings matching ``pattern``, as a boolean mask."""
    try:
        matches = series.str.contains(pattern, regex=True, na=False)
    except AttributeError:  # an object column without any string (dates, decimals)
        return pd.Series(False, index=series.index)
    return matches.fillna(False).astype(bool)


def _escape_series(series: pd.Series) -> pd.Series:
    """``series`` with :func:`escape_cell` applied to its string cells (or text categories)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = series.cat.categories
        if not _is_text(categories.to_series()):
            return series
        return series.cat.rename_categories(_escape_series(categories.to_series()).tolist())
    if not _is_text(series):
        return series
    mask = _prefixed(series, ESCAPED)
    if not mask.any():
        return series
    out = series.copy()
    out[mask] = "'" + series[mask].astype(str)
    return out


def _unescape_series(series: pd.Series) -> pd.Series:
    """``series`` with :func:`unescape_cell` applied to its string cells."""
    if not _is_text(series):
        return series
    mask = _prefixed(series, UNESCAPED)
    if not mask.any():
        return series
    out = series.copy()
    out[mask] = series[mask].astype(str).str.slice(1)
    return out


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name escaped by :func:`escape_cell`.

    Number, boolean and date columns, and cells of an object column that are not strings, are
    left as they are.
    """
    return _map_text(frame, _escape_series, escape_cell)


def unescape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A CSV read back into the values written: :func:`unescape_cell` on text cells and names."""
    return _map_text(frame, _unescape_series, unescape_cell)


def _map_text(frame: pd.DataFrame, on_column, on_name) -> pd.DataFrame:
    """``frame`` with ``on_column`` applied to each column and ``on_name`` to each text name."""
    out = pd.DataFrame(
        {index: on_column(frame.iloc[:, index]) for index in range(frame.shape[1])},
        index=frame.index,
    )
    out.columns = [on_name(c) if isinstance(c, str) else c for c in frame.columns]
    return out


def _escape_arrow_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """``column`` with :func:`escape_cell` applied to its strings, vectorised by Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_string_view(column.type):
        column = column.cast(pa.string())
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column
    # a cell the rule escapes starts with an apostrophe or a formula character: when none
    # does (the usual case), the column is left as it is without running the pattern on
    # every cell or copying its text
    first = pc.utf8_slice_codeunits(column, 0, 1)
    if not pc.any(pc.is_in(first, pa.array(["'", *FORMULA_STARTS], first.type))).as_py():
        return column
    mask = pc.fill_null(pc.match_substring_regex(column, ESCAPED), False)
    quote, empty = pa.scalar("'", column.type), pa.scalar("", column.type)
    prefixed = pc.binary_join_element_wise(quote, column, empty)
    return pc.if_else(mask, prefixed, column)


def escape_arrow(table: pa.Table) -> pa.Table:
    """``table`` with every string cell and column name escaped by :func:`escape_cell`.

    Number, boolean and date columns are left as they are; dictionary-encoded text is decoded.
    """
    import pyarrow as pa

    columns = [_escape_arrow_column(table.column(i)) for i in range(table.num_columns)]
    return pa.table(columns, names=[escape_cell(name) for name in table.column_names])


def escape_ibis(table: Any) -> Any:
    """An Ibis table expression with every string cell and column name escaped by the rule.

    The database evaluates the rule (:data:`ESCAPED`) as it streams the rows into its own CSV
    writer, so a summary of millions of customers is never held in memory to be escaped.
    """
    import ibis

    columns = []
    for name, kind in table.schema().items():
        column = table[name]
        if kind.is_string():
            column = ibis.ifelse(column.re_search(ESCAPED), "'" + column, column)
        columns.append(column.name(escape_cell(name)))
    return table.select(columns)
