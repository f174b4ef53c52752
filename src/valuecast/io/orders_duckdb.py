"""Large orders CSV files parsed by DuckDB's parallel CSV reader, for summaries without a workspace.

``valuecast summary orders.csv`` (:mod:`valuecast.jobs.files`) summarises a large orders table
where DuckDB parsed it, without copying the orders through Python.  This module lets DuckDB parse
only where the result is certain to equal what the importer (:mod:`valuecast.io.csvfile`,
:mod:`valuecast.io.generic`) gives, and flags every row that is not that clean, common case:

* text cells without surrounding whitespace, a leading apostrophe or non-ASCII characters (e-mail
  customer ids are then lower-cased exactly as the importer does);
* dates ``YYYY-MM-DD`` optionally followed by `` HH:MM`` or `` HH:MM:SS`` (or ``T``), from 1990
  to tomorrow;
* amounts written as plain numbers (``-12.5``, ``1e3``) within ``MAX_AMOUNT`` (a line-level log's
  quantity and unit price too, their product being the row's amount); marketing flags as the
  same yes/no words;
* orders of several rows (a line-level log's invoices) whose rows name one customer and one time,
  grouped by :func:`group_orders` with the importer's exclusion reasons.

Anything else — other date or amount notations, an invalid date, a missing value, a row with too
many or too few cells, text that is not UTF-8 — makes :func:`load_rows` return ``False``, and the
caller reads the file with the importer, which accepts every documented notation and reports the
first bad cell by file, row and column.  So this path never changes a result or an error
message: it only makes clean files fast.  (Ingest does not use it: there the importer's own
reader is as fast, since the orders go through Python to the workspace anyway.)
"""

from __future__ import annotations

import codecs
from typing import Any

import duckdb

from valuecast.io import _build
from valuecast.io.csvfile import FALSE_WORDS, TRUE_WORDS, CsvFile
from valuecast.io.generic import LINE_KEYS
from valuecast.io.schema import MAX_AMOUNT

__all__ = ["MIN_BYTES", "ORDERS_TABLE", "ROWS_TABLE", "group_orders", "load_rows", "usable"]

MIN_BYTES = 1 << 20
"""Files smaller than this go to the general reader (DuckDB's start-up is not worth it)."""

ROWS_TABLE = "_orders_rows"

TEXT_KEYS = ("order_id", "email", "currency", "channel", "discount_code")

LINE_AMOUNTS = ("quantity", "unit_price")
"""A line-level log's numbers: the row's amount is their product when ``unit_price`` is mapped."""

_ISO_DATE = r"\d{4}-\d{2}-\d{2}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?)?"
_PLAIN_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_set(words: set[str]) -> str:
    return "(" + ", ".join(_quote(word) for word in sorted(words)) + ")"


def _number(cell: str) -> str:
    return f"CASE WHEN regexp_full_match({cell}, '{_PLAIN_NUMBER}') THEN try_cast({cell} AS DOUBLE) END"


# printable ASCII, neither starting with a space or an apostrophe nor ending with a space: a cell
# the general reader would leave as it is (and whose lower-casing is plain ASCII)
_USUAL_TEXT = r"[!-&(-~]([ -~]*[!-~])?"


def _unusual(cell: str) -> str:
    """SQL: the text cell needs the general reader's cleaning (or its Unicode rules)."""
    return f"coalesce(NOT regexp_full_match({cell}, '{_USUAL_TEXT}'), false)"


def usable(csv: CsvFile, mapping: dict[str, str], min_bytes: int | None = None) -> bool:
    """Whether the file may be tried on this path at all (a UTF-8 file on disk, no date format)."""
    return (
        csv.path is not None
        and csv.encoding == "utf-8"
        and not csv._data.startswith(codecs.BOM_UTF8)
        and csv.header_row == 1
        and "date_format" not in mapping
        and len(csv._data) >= (MIN_BYTES if min_bytes is None else min_bytes)
    )


def load_rows(
    con: Any,
    csv: CsvFile,
    cols: dict[str, str | None],
    amounts: tuple[str, ...],
    table: str = ROWS_TABLE,
    pair_hash: bool = False,
) -> bool:
    """Create the temporary ``table`` of parsed rows on the DuckDB connection ``con``.

    Columns: ``customer``, ``ordered_at``, ``revenue`` (``quantity x unit_price`` when
    ``unit_price`` is mapped), ``filled`` (the row has some mapped value), the mapped amounts,
    texts and ``accepts_marketing``; with a line key mapped ``returns`` (the line has a negative
    quantity or amount); and with ``pair_hash`` (and no order id column) ``pair_hash``, a hash of
    customer and time.  Returns ``False``, leaving nothing behind, when the file must be read by
    the importer.
    """
    names = [f"c{i}" for i in range(len(csv.header))]
    column_of = {key: names[csv.header.index(col)] for key, col in cols.items() if col is not None}
    types = "{" + ", ".join(f"{_quote(name)}: 'VARCHAR'" for name in names) + "}"
    source = (
        f"read_csv({_quote(str(csv.path))}, delim = {_quote(csv.delimiter)}, quote = '\"', "
        f"escape = '\"', header = true, auto_detect = false, columns = {types}, "
        "null_padding = false, strict_mode = true)"
    )
    mapped = sorted(set(column_of.values()))
    c, d = column_of["customer_id"], column_of["ordered_at"]
    if "unit_price" in column_of:  # a line's amount: quantity x unit price, as the importer
        revenue = f"{_number(column_of['quantity'])} * {_number(column_of['unit_price'])}"
    else:
        revenue = _number(column_of["revenue"])
    parse = {
        "customer": f"CASE WHEN contains({c}, '@') THEN lower({c}) ELSE {c} END",
        "ordered_at": f"CASE WHEN regexp_full_match({d}, '{_ISO_DATE}') "
        f"THEN try_cast({d} AS TIMESTAMP) END",
        "revenue": revenue,
        "filled": "(" + " OR ".join(f"{name} IS NOT NULL" for name in mapped) + ")",
    }
    bad = [
        "(filled AND (ordered_at IS NULL OR revenue IS NULL OR NOT isfinite(revenue)))",
        f"abs(revenue) > {MAX_AMOUNT!r}",
    ]
    # an implausible date is the importer's error (valuecast.io._build.check_order_dates)
    earliest = str(_build.EARLIEST_ORDER_DATE.astype("datetime64[s]")).replace("T", " ")
    latest = str(_build.latest_order_date().astype("datetime64[s]")).replace("T", " ")
    bad.append(f"(ordered_at < TIMESTAMP '{earliest}' OR ordered_at >= TIMESTAMP '{latest}')")
    for key in (*amounts, *LINE_AMOUNTS):
        if key in column_of:
            parse[key] = _number(column_of[key])
            bad.append(f"({column_of[key]} IS NOT NULL AND ({key} IS NULL OR NOT isfinite({key})))")
            bad.append(f"abs({key}) > {MAX_AMOUNT!r}")
    for key in TEXT_KEYS:
        if key in column_of:
            parse[key] = column_of[key]
    if "accepts_marketing" in column_of:
        x = column_of["accepts_marketing"]
        parse["accepts_marketing"] = (
            f"CASE WHEN lower({x}) IN {_sql_set(TRUE_WORDS)} THEN true "
            f"WHEN lower({x}) IN {_sql_set(FALSE_WORDS - {''})} THEN false END"
        )
    outputs = list(parse)
    if any(key in column_of for key in LINE_KEYS):
        # a line that takes something back: a negative quantity or amount
        quantity = "coalesce(quantity, 0) < 0 OR " if "quantity" in column_of else ""
        outputs.append(f"({quantity}coalesce(revenue, 0) < 0) AS returns")
    if "order_id" in column_of:
        bad.append("(filled AND order_id IS NULL)")
    elif pair_hash:
        outputs.append("hash(customer, ordered_at) AS pair_hash")
    text = [column_of[key] for key in ("customer_id", *TEXT_KEYS, "accepts_marketing")
            if key in column_of]  # fmt: skip
    bad += [_unusual(name) for name in dict.fromkeys(text)]
    cells = ", ".join(f"nullif({name}, '') AS {name}" for name in mapped)
    middle = ", ".join([*mapped, *(f"{sql} AS {key}" for key, sql in parse.items())])
    query = (
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {', '.join(outputs)}, "
        f"({' OR '.join(bad)}) AS _bad FROM (SELECT {middle} FROM (SELECT {cells} FROM {source}))"
    )
    try:
        con.execute(query)
        refused = con.execute(f"SELECT bool_or(_bad) FROM {table}").fetchall()[0][0]
    except duckdb.Error:
        refused = True  # malformed rows, bad encoding ...: the general reader says exactly what
    if refused:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        return False
    return True


ORDERS_TABLE = "_orders_grouped"

_ATTRIBUTES = ("channel", "discount_code", "accepts_marketing")


def group_orders(
    con: Any, cols: dict[str, str | None], rows: str = ROWS_TABLE, table: str = ORDERS_TABLE
) -> bool:
    """Create the temporary ``table`` of orders from the parsed ``rows`` as the importer groups
    them: by order id (or one order per row), amounts summed, and the exclusion ``reason``
    (``cancellation``: every line a return, in a line-level log; ``negative amount``).

    Columns: ``order_id``, ``customer``, ``ordered_at``, ``revenue``, ``rows``, ``reason`` and
    the attributes.  The importer takes an order's customer, time and attributes from its first
    row; rows carry no order here, so an order whose rows differ in any of them returns
    ``False`` (the importer reads the file), as does one whose total passes ``MAX_AMOUNT``.
    """
    lines = any(cols.get(key) for key in LINE_KEYS)
    cancelled = "bool_and(returns)" if lines else "false"
    keyed = cols.get("order_id") is not None
    attributes = [key for key in _ATTRIBUTES if cols.get(key)]
    passed = ", ".join(attributes)
    if keyed:
        # one customer (or none on every row) and one time per order, so any row is the first
        same = (
            "count(DISTINCT customer) <= 1 AND count(customer) IN (0, count(*)) "
            "AND count(DISTINCT ordered_at) = 1"
        )
        if attributes:
            same += " AND count(*) = 1"  # the first row's attributes would need row order
        grouped = (
            "SELECT order_id, any_value(customer) AS customer, any_value(ordered_at) AS ordered_at, "
            f"sum(revenue) AS revenue, count(*) AS rows, {cancelled} AS cancelled, "
            f"{same} AS same"
            + "".join(f", any_value({key}) AS {key}" for key in attributes)
            + f" FROM {rows} WHERE filled GROUP BY order_id"
        )
    else:
        row_cancelled = "returns" if lines else "false"
        grouped = (
            "SELECT NULL AS order_id, customer, ordered_at, revenue, 1 AS rows, "
            f"{row_cancelled} AS cancelled, true AS same{', ' + passed if passed else ''} "
            f"FROM {rows} WHERE filled"
        )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * EXCLUDE (cancelled, same), "
        f"CASE WHEN cancelled THEN '{_build.CANCELLATION}' "
        f"WHEN revenue < 0 THEN '{_build.NEGATIVE_AMOUNT}' "
        f"END AS reason, same FROM ({grouped})"
    )
    usable_orders = con.execute(
        f"SELECT coalesce(bool_and(same AND abs(revenue) <= {MAX_AMOUNT!r}), true) FROM {table}"
    ).fetchall()[0][0]
    if not usable_orders:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return bool(usable_orders)
