"""Large orders files parsed by DuckDB's parallel reader, for summaries and for ingest.

``valuecast summary orders.csv`` (:mod:`valuecast.jobs.files`) summarises a large orders table
where DuckDB parsed it, and ``ingest``/``analyze`` load one into the workspace (a
:class:`PendingOrders` the workspace loads on its own connection), without copying the orders
through Python.  This module lets DuckDB parse only where the result is certain to equal what the
importer (:mod:`valuecast.io.csvfile`, :mod:`valuecast.io.generic`) gives, and flags every row
that is not that clean, common case:

* text cells without surrounding whitespace, a leading apostrophe or non-ASCII characters (e-mail
  customer ids are then lower-cased exactly as the importer does);
* dates ``YYYY-MM-DD`` optionally followed by `` HH:MM`` or `` HH:MM:SS`` (or ``T``), from 1990
  to tomorrow (in Parquet also dates stored as ``date32``);
* amounts written as plain numbers (``-12.5``, ``1e3``) within ``MAX_AMOUNT`` (a line-level log's
  quantity and unit price too, their product being the row's amount; in Parquet also stored as
  integers or floats); marketing flags as the same yes/no words;
* orders of several rows (a line-level log's invoices) whose rows name one customer and one time,
  grouped by :func:`group_orders` with the importer's exclusion reasons, order numbers and sums.

Amounts and dates of a CSV file written otherwise (``$1,234.50``, ``(12.00)``, ``05/03/2024``)
are read by the importer's own parser, once per distinct cell of the column, and set on the rows
(:func:`load_rows`); the file stays here unless that parser refuses a value or the amounts name
a currency.  Anything else — an invalid date, a missing value, a row with too many or too few
cells, text that is not UTF-8 — makes :func:`load_rows` return ``False``, and the caller reads
the file with the importer, which accepts every documented notation and reports the first bad
cell by file, row and column.  So this path never changes a result or an error message: it
only makes files fast and small in memory.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from valuecast.io import _build, fx, generic
from valuecast.io.csvfile import (
    AMBIGUOUS_POINT,
    FALSE_WORDS,
    NAMED_SYMBOLS,
    TRUE_WORDS,
    CsvFile,
    Table,
    cut_off_note,
    symbol_currencies,
    title_note,
    written_in_utc,
)
from valuecast.io.generic import AMOUNT_KEYS, LINE_KEYS
from valuecast.io.line_names import gift_card_lines, shipping_lines
from valuecast.io.schema import (
    CUSTOMERS_SCHEMA,
    MAX_AMOUNT,
    ORDER_LINES_SCHEMA,
    ORDERS_SCHEMA,
    SQL_TYPES,
    ImportResult,
    InputError,
    StagedRows,
    empty_frame,
    sql_string,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MIN_BYTES", "ORDERS_TABLE", "ROWS_TABLE", "STAGED_LINES", "STAGED_ORDERS", "PendingOrders",
    "ParquetRows", "TableRows", "group_orders", "load_rows", "pending_orders", "pending_parquet",
    "pending_table", "usable",
]  # fmt: skip

MIN_BYTES = 1 << 20
"""Files smaller than this go to the general reader (DuckDB's start-up is not worth it)."""

LONGEST_RECORD = 1 << 20
"""Bytes of the longest record DuckDB is given.  Its reader rejects a record longer than its
``max_line_size`` (2 MB) after a slow search across its threads (a minute for a cell of millions
of short lines) and drops one longer than its buffer (32 MiB) without a reject; a larger limit
makes it read on one thread.  The importer reads such a file."""

ROWS_TABLE = "_orders_rows"

TEXT_KEYS = ("order_id", "email", "currency", "channel", "discount_code")

LINE_TEXT = ("product", "sku")
"""A line-level log's texts, kept for its order lines."""

LINE_AMOUNTS = ("quantity", "unit_price")
"""A line-level log's numbers: the row's amount is their product when ``unit_price`` is mapped."""

_ISO_DATE = r"\d{4}-\d{2}-\d{2}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?)?"
_PLAIN_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"


def _sql_set(words: set[str]) -> str:
    return "(" + ", ".join(sql_string(word) for word in sorted(words)) + ")"


def _number(cell: str) -> str:
    return f"CASE WHEN regexp_full_match({cell}, '{_PLAIN_NUMBER}') THEN try_cast({cell} AS DOUBLE) END"


# printable ASCII, neither starting with a space or an apostrophe nor ending with a space: a cell
# the general reader would leave as it is (and whose lower-casing is plain ASCII)
_USUAL_TEXT = r"[!-&(-~]([ -~]*[!-~])?"


def _unusual(cell: str) -> str:
    """SQL: the text cell needs the general reader's cleaning (or its Unicode rules)."""
    return f"coalesce(NOT regexp_full_match({cell}, '{_USUAL_TEXT}'), false)"


def _placeholder(cell: str) -> str:
    """SQL: the customer cell is a placeholder naming no customer (``Guest``, ``NULL`` ...) or a
    placeholder address (``noemail@shop.com``), which the importer reads as a guest's and notes
    (:func:`~valuecast.io.generic.placeholder_customers`).

    The lower-casing only for cells as short as a placeholder: a CASE evaluates it on those rows
    alone, where the e-mails and ids of a large file are longer."""
    return (
        f"(coalesce(CASE WHEN length({cell}) <= {generic.LONGEST_PLACEHOLDER} "
        f"THEN lower({cell}) IN {_sql_set(set(generic.GUEST_PLACEHOLDERS))} END, false) "
        f"OR {_placeholder_email(cell)})"
    )


def _placeholder_email(cell: str) -> str:
    """SQL: the text ``cell`` is an address (it holds an ``@``) and a placeholder one."""
    return f"(coalesce(contains({cell}, '@'), false) AND {_build.placeholder_address_sql(cell)})"


IMPORTER_KEYS = (*generic.OPTION_KEYS, "status", *generic.PHONE_KEYS, generic.AMOUNT_UNIT_KEY)
"""Map keys whose rules only the importer applies: a date format and a time zone
(:data:`valuecast.io.generic.OPTION_KEYS`), the statuses that leave orders out
(:data:`valuecast.io.generic.EXCLUDED_STATUSES`), the phone numbers' normalisation
(:mod:`valuecast.io.phones`) and amounts in cents (as a column whose name says so:
:func:`valuecast.io.generic.cents_columns`)."""


def usable(csv: CsvFile, mapping: dict[str, str], min_bytes: int | None = None) -> bool:
    """Whether the file may be tried on this path at all (a UTF-8 file on disk, none of the
    :data:`IMPORTER_KEYS` mapped, a plain header, no record longer than
    :data:`LONGEST_RECORD`, no quote set apart from its cell by spaces)."""
    return (
        csv.path is not None
        and csv.encoding == "utf-8"
        and not csv._data.startswith(codecs.BOM_UTF8)
        and csv.header_row == 1
        and csv.plain_header()
        # a till's line types are checked by the importer
        and csv.find(*generic.LINE_TYPE_COLUMNS) is None
        and not any(key in mapping for key in IMPORTER_KEYS)
        and len(csv._data) >= (MIN_BYTES if min_bytes is None else min_bytes)
        and csv.unusual_layout(LONGEST_RECORD) is None
    )


@dataclass(frozen=True)
class ParquetRows:
    """A Parquet file's header and the columns stored typed (``"date"`` for ``date32``, a
    ``timestamp`` kind for a time of day without a zone, ``"number"`` for integers, doubles and
    decimals, ``"single"`` for a float32 read by its shortest text); every other mapped column
    is text, or read as text (``as_text``: whole numbers such as a ``BIGINT`` customer id,
    written as Arrow writes them)."""

    path: Path
    header: list[str]
    typed: dict[str, str]
    as_text: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class TableRows(ParquetRows):
    """A database table's rows fetched as Arrow (:func:`valuecast.store.tables.read_table`),
    read as a Parquet file's are: ``name`` names it (its URL without a password), ``rows``
    holds them, registered on the loading connection as :data:`TABLE_VIEW` while they load."""

    rows: pa.Table | None = None
    table_name: str = ""

    @property
    def name(self) -> str:
        return self.table_name

    def importer_table(self) -> Table:
        """The importer's table of the rows, as :func:`valuecast.io.read_exports` reads a
        database table: without an order of its own, a row named by its order id in errors."""
        assert self.rows is not None
        table = Table.from_arrow(self.rows, self.table_name)
        table.unordered = True
        return table


TABLE_VIEW = "_engine_table_rows"
"""The name a :class:`TableRows`' Arrow table is registered under while it loads."""


_REJECTS = ("_orders_rejects", "_orders_reject_scans")
"""Where DuckDB's CSV reader puts the rows it cannot parse, rather than failing the statement
(which would end the workspace's open transaction).  One is kept: any sends the file to the
importer, and storing each line of a broken cell's millions is most of the read."""


def rejected_rows(con: Any) -> int:
    """Rows DuckDB's reader of :func:`_read_sql` rejected (malformed, bad encoding ...)."""
    return int(con.execute(f"SELECT count(*) FROM {_REJECTS[0]}").fetchall()[0][0])


def drop_rejects(con: Any) -> None:
    """Drop the reader's rejects tables (none after a failed statement, which ends a
    transaction)."""
    for rejects in _REJECTS:
        with suppress(duckdb.Error):
            con.execute(f"DROP TABLE IF EXISTS {rejects}")


def _money_keys(cols: dict[str, str | None], amounts: tuple[str, ...]) -> list[str]:
    """The mapped keys whose cells the importer reads with its money parser."""
    return [key for key in ("revenue", "unit_price", *amounts) if cols.get(key)]


def _read_sql(source: CsvFile | ParquetRows, names: list[str]) -> str:
    """DuckDB's reader of the file, its columns named ``names`` (text, unless typed)."""
    if isinstance(source, ParquetRows):
        read = (
            TABLE_VIEW
            if isinstance(source, TableRows)
            else f"read_parquet({sql_string(str(source.path))})"
        )
        columns = ", ".join(
            f"CAST({_identifier(col)} AS VARCHAR) AS {name}"
            if col in source.as_text
            else f"{_identifier(col)} AS {name}"
            for col, name in zip(source.header, names, strict=True)
        )
        return f"(SELECT {columns} FROM {read})"
    types = "{" + ", ".join(f"{sql_string(name)}: 'VARCHAR'" for name in names) + "}"
    return (
        f"read_csv({sql_string(str(source.path))}, delim = {sql_string(source.delimiter)}, "
        f"quote = '\"', escape = '\"', header = true, auto_detect = false, columns = {types}, "
        "null_padding = false, strict_mode = true, store_rejects = true, rejects_limit = 1, "
        f"rejects_table = {sql_string(_REJECTS[0])}, rejects_scan = {sql_string(_REJECTS[1])})"
    )


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_rows(
    con: Any,
    csv: CsvFile | ParquetRows,
    cols: dict[str, str | None],
    amounts: tuple[str, ...],
    table: str = ROWS_TABLE,
    pair_hash: bool = False,
    numbered: bool = False,
    found: dict[str, Any] | None = None,
) -> bool:
    """Create the temporary ``table`` of parsed rows on the DuckDB connection ``con``.

    ``found``, where given, gets ``written_symbol``: the symbol of several currencies (``$``)
    the amounts are written with (:meth:`~valuecast.io.csvfile.Table.written_symbol`).

    Amounts and dates are parsed in SQL where written plainly (``12.50``, ``2024-03-05``).  A
    CSV file whose amounts or dates are written otherwise (``$1,234.50``, ``05/03/2024``) is
    loaded again with those columns' distinct cells parsed by the importer's own parser
    (:func:`_set_written_values`), whose column-wide rules (the decimal mark, the day order, one
    currency) see the same set of values as on every row, and its values set on the rows.
    """
    args = (con, csv, cols, amounts, table, pair_hash, numbered)
    if _written_at_the_start(con, csv, cols, amounts):  # SQL's reading would be refused
        loaded = _load_rows(*args, written=True, found=found)[0]
    else:
        loaded, written_may_help = _load_rows(*args, written=False)
        loaded = loaded or (written_may_help and _load_rows(*args, written=True, found=found)[0])
    symbol = found.get("written_symbol") if loaded and found is not None else None
    if symbol and cols.get("currency"):
        # amounts in some dollar beside a currency column: a cell naming a currency the
        # symbol cannot be (EUR) is the importer's error, which names its row
        named = con.execute(
            f"SELECT DISTINCT upper(trim(currency)) FROM {table} WHERE currency IS NOT NULL"
        ).fetchall()
        if any(code not in symbol_currencies(symbol) for (code,) in named):
            return False
    if loaded:
        keyed = cols.get("order_id") is not None
        whole = _whole_number_ids(con, table, "customer", pair_hash and not keyed)
        whole_orders = keyed and _whole_number_ids(con, table, "order_id")
        if found is not None:
            found["whole_number_ids"] = whole
            found["leading_zero_ids"] = _leading_zero_ids(con, table)
            found["case_only_ids"] = _case_only_ids(con, table)
            found["whole_number_order_ids"] = whole_orders
            if cols.get("accepts_marketing") is not None:
                found["unread_consent"] = _unread_consent(con, table)
        linked = _link_emails(con, cols, table, pair_hash and not keyed)
        if found is not None:
            found["linked_by_email"] = linked
    return loaded


UNREAD_CONSENT = "_unread_consent"
"""The rows' column of the consent cells neither yes nor no (lower-cased; NULL for the others)."""


def _unread_consent(con: Any, table: str) -> tuple[int, list[str]]:
    """The consent cells neither yes nor no, and the first four such values (sorted), as the
    importer finds them (:func:`valuecast.io._build.unread_consent_note`)."""
    count, first = con.execute(
        f"SELECT count({UNREAD_CONSENT}), list_sort(list(DISTINCT {UNREAD_CONSENT}) "
        f"FILTER (WHERE {UNREAD_CONSENT} IS NOT NULL)) FROM {table}"
    ).fetchall()[0]
    return int(count), list(first or [])[:4]


def _whole_number_ids(con: Any, table: str, column: str, pair_hash: bool = False) -> bool:
    """Read the id cells of ``column`` (``customer`` or ``order_id``) without their ``.0`` where
    every one is a whole number and some are written as a float, as the importer does
    (:func:`valuecast.io._build.whole_number_ids`); ``pair_hash`` is computed again for the
    customers'.  Returns whether they were."""
    some = f"SELECT bool_or(ends_with({column}, '.0')) FROM {table}"
    if not con.execute(some).fetchall()[0][0]:  # the common case, one cheap pass
        return False
    every = (
        f"SELECT bool_and(regexp_full_match({column}, '{_build.WHOLE_NUMBER_ID}')) "
        f"FROM {table} WHERE {column} IS NOT NULL"
    )
    if not con.execute(every).fetchall()[0][0]:
        return False
    whole = f"regexp_replace({column}, '\\.0+$', '')"
    hashed = f", pair_hash = hash({whole}, ordered_at)" if pair_hash else ""
    con.execute(f"UPDATE {table} SET {column} = {whole}{hashed} WHERE ends_with({column}, '.0')")
    return True


def _leading_zero_ids(con: Any, table: str) -> tuple[int, list[str]]:
    """The ids of digits also written with other leading zeros, and the first such set, as the
    importer finds them (:func:`valuecast.io._build.leading_zero_ids`)."""
    # none unless an id starting with 0 is longer than another starting with a digit: not
    # where no id starts with 0, nor where the ids are padded with zeros to one length
    digit = "customer >= '0' AND customer < ':'"
    some = (
        "SELECT max(strlen(customer)) FILTER (WHERE starts_with(customer, '0')) > "
        f"min(strlen(customer)) FILTER (WHERE {digit}) FROM {table}"
    )
    if not con.execute(some).fetchall()[0][0]:  # the common cases, one cheap pass
        return 0, []
    found = con.execute(
        f"WITH ids AS (SELECT id, ltrim(id, '0') AS value FROM (SELECT DISTINCT customer AS id "
        f"FROM {table}) WHERE regexp_full_match(id, '[0-9]+')), "
        "zeroed AS (SELECT DISTINCT value FROM ids WHERE starts_with(id, '0') AND value <> ''), "
        "several AS (SELECT value, list(id ORDER BY id) AS written FROM ids "
        "SEMI JOIN zeroed USING (value) GROUP BY value HAVING count(*) > 1) "
        "SELECT count(*), arg_min(written, value) FROM several"
    ).fetchall()[0]
    return int(found[0]), list(found[1] or [])


def _case_only_ids(con: Any, table: str) -> tuple[int, list[str]]:
    """The ids also written in other letter cases, and the first such set, as the importer
    finds them (:func:`valuecast.io._build.case_only_ids`)."""
    some = f"SELECT coalesce(bool_or(lower(customer) <> customer), false) FROM {table}"
    if not con.execute(some).fetchall()[0][0]:  # the common case: no id has a capital letter
        return 0, []
    found = con.execute(
        f"WITH several AS (SELECT lower(id) AS value, list(id ORDER BY id) AS written FROM "
        f"(SELECT DISTINCT customer AS id FROM {table} WHERE customer IS NOT NULL) "
        "GROUP BY lower(id) HAVING count(*) > 1) "
        "SELECT count(*), arg_min(written, value) FROM several"
    ).fetchall()[0]
    return int(found[0]), list(found[1] or [])


BY_EMAIL_COLUMN = "by_email"
"""The column marking the rows given a customer by their e-mail (:func:`_link_emails`) in a
table without order ids, which are numbered by their customer cell as written (none), as the
importer numbers them (``generic._parse_rows``' ``numbered_by``); absent where no row is."""


def _number_key(con: Any, rows: str) -> str:
    """SQL of what numbers the orders of ``rows`` (one per row): the customer, none for a row
    given one by its e-mail (:data:`BY_EMAIL_COLUMN`)."""
    columns = {row[0] for row in con.execute(f"DESCRIBE {rows}").fetchall()}
    return (
        f"CASE WHEN {BY_EMAIL_COLUMN} THEN NULL ELSE customer END"
        if BY_EMAIL_COLUMN in columns
        else "customer"
    )


def _link_emails(con: Any, cols: dict[str, str | None], table: str, pair_hash: bool) -> int:
    """Give the rows without a customer cell the customer of their e-mail address, as the
    importer does (:func:`valuecast.io._build.with_emails`): the one customer whose rows carry
    the address, else the address (lower-cased) itself; ``pair_hash`` is computed again for
    them.  Returns how many orders were given a customer whose rows carry their address: the
    rows so linked, or where an order id groups them, the orders all of whose rows are.

    The rows' e-mail cells are plain ASCII (:func:`_unusual`), so SQL's ``lower`` is the
    importer's."""
    if cols.get("email") is None:
        return 0
    address = "lower(email)"  # null where the cell is no address (see _load_rows)
    needed = f"SELECT bool_or(customer IS NULL AND {address} IS NOT NULL) FROM {table}"
    if not con.execute(needed).fetchall()[0][0]:
        return 0
    owners, named = f"{table}_owners", f"{table}_by_email"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {owners} AS SELECT {address} AS address, "
        f"min(customer) AS owner FROM {table} WHERE customer IS NOT NULL "
        f"AND {address} IS NOT NULL GROUP BY 1 HAVING {at_most_one('customer')}"
    )
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {named} AS SELECT r.rowid AS _row, o.owner, "
            f"coalesce(o.owner, {address}) AS customer FROM {table} r "
            f"LEFT JOIN {owners} o ON {address} = o.address "
            f"WHERE r.customer IS NULL AND {address} IS NOT NULL"
        )
        if cols.get("order_id") is None:
            linked = f"SELECT count(owner) FROM {named}"
        else:
            linked = (
                f"SELECT count(*) FROM (SELECT 1 FROM {table} r LEFT JOIN {named} n "
                "ON r.rowid = n._row WHERE r.filled GROUP BY r.order_id "
                "HAVING bool_and(n.owner IS NOT NULL))"
            )
        count = int(con.execute(linked).fetchall()[0][0])
        hashed = f", pair_hash = hash(n.customer, {table}.ordered_at)" if pair_hash else ""
        numbered = ""
        if cols.get("order_id") is None:  # numbered by the cell, whichever its customer
            con.execute(f"ALTER TABLE {table} ADD COLUMN {BY_EMAIL_COLUMN} BOOLEAN")
            numbered = f", {BY_EMAIL_COLUMN} = true"
        con.execute(
            f"UPDATE {table} SET customer = n.customer{hashed}{numbered} FROM {named} n "
            f"WHERE {table}.rowid = n._row"
        )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {owners}")
        con.execute(f"DROP TABLE IF EXISTS {named}")
    return count


_FIRST_ROWS = 1000
"""Rows of a CSV file looked at for amounts or dates written otherwise than SQL reads them."""


def _written_at_the_start(
    con: Any, csv: CsvFile | ParquetRows, cols: dict[str, str | None], amounts: tuple[str, ...]
) -> bool:
    """Whether the first :data:`_FIRST_ROWS` rows of a CSV file hold an amount or date cell
    that SQL does not read (``$1,234.50``, ``05/03/2024``): its load with SQL's reading would
    be refused, so the load with the written cells is made first (0.6 s less at 3M orders)."""
    if not isinstance(csv, CsvFile):
        return False
    names = [f"c{i}" for i in range(len(csv.header))]
    money = [cols[key] for key in _money_keys(cols, amounts)]
    cells = [names[csv.header.index(column)] for column in (*money, cols["ordered_at"])]
    try:
        rows = con.execute(
            f"SELECT {', '.join(cells)} FROM {_read_sql(csv, names)} LIMIT {_FIRST_ROWS}"
        ).fetchall()
    except duckdb.Error:
        return False
    finally:
        drop_rejects(con)
    number, date = re.compile(_PLAIN_NUMBER), re.compile(_ISO_DATE)
    *amount_cells, date_cell = zip(*rows, strict=True) if rows else ([],) * len(cells)
    return any(
        cell and not number.fullmatch(cell) for column in amount_cells for cell in column
    ) or any(cell and not date.fullmatch(cell) for cell in date_cell)


def _load_rows(
    con: Any,
    csv: CsvFile | ParquetRows,
    cols: dict[str, str | None],
    amounts: tuple[str, ...],
    table: str,
    pair_hash: bool,
    numbered: bool,
    *,
    written: bool,
    found: dict[str, Any] | None = None,
) -> tuple[bool, bool]:
    """:func:`load_rows` once: ``(loaded, written_may_help)``, the second whether a load with
    ``written`` cells could take the file (a CSV file some of whose amount or date cells SQL
    did not read).  With ``written``, the money and date cells of a CSV file are parsed by the
    importer's parser, once per distinct cell.

    Columns: ``customer``, ``ordered_at``, ``revenue`` (``quantity x unit_price`` when
    ``unit_price`` is mapped), ``filled`` (the row has some mapped value), the mapped amounts,
    texts and ``accepts_marketing``; with a line key mapped ``returns`` (the line has a negative
    quantity or amount); and with ``pair_hash`` (and no order id column) ``pair_hash``, a hash of
    customer and time; with ``numbered`` (and no order id column) ``written``, a CSV file's
    date cell as written (a date stored typed is formatted where used), and the rows
    stored in file order, so that the table's ``rowid`` is the row's position in the file (from
    0; a row number computed in the query would make DuckDB parse the file on one thread).
    Returns ``False``, leaving nothing behind, when the file must be read by the importer.
    """
    names = [f"c{i}" for i in range(len(csv.header))]
    column_of = {key: names[csv.header.index(col)] for key, col in cols.items() if col is not None}
    typed = {names[csv.header.index(col)]: kind for col, kind in getattr(csv, "typed", {}).items()}
    source = _read_sql(csv, names)
    mapped = sorted(set(column_of.values()))
    c, d = column_of["customer_id"], column_of["ordered_at"]
    # the cells the importer reads with its money parser, and the date's
    money_keys = _money_keys(cols, amounts)
    later: set[str] = set()  # cells parsed by the importer's parser once the rows are loaded
    kept: set[str] = set()  # cells kept as written in the table, for that parser and the checks
    if written:
        later = {column_of[key] for key in money_keys} | {d}
        # a cell also read as a quantity (another parser), or a typed file: SQL's reading only
        if typed or column_of.get("quantity") in later:
            return False, False
        kept = later | {column_of[k] for k in (*amounts, *LINE_AMOUNTS) if k in column_of}

    def raw(cell: str) -> str:  # the cell as written, in the query or (later) in the table
        return f"_raw_{cell}" if written else cell

    written_amounts: list[str] = []  # the amount cells read from text by SQL

    def number(cell: str) -> str:  # a typed number is taken as stored, as the importer does
        if typed.get(cell) == "single":  # 239.58, not the float's 239.5800018310547
            return f"CAST(CAST({cell} AS VARCHAR) AS DOUBLE)"
        if cell in typed:
            return f"CAST({cell} AS DOUBLE)"
        if cell in later:
            return "CAST(NULL AS DOUBLE)"
        written_amounts.append(cell)
        return _number(cell)

    if "unit_price" in column_of:  # a line's amount: quantity x unit price, as the importer
        revenue = f"{number(column_of['quantity'])} * {number(column_of['unit_price'])}"
    else:
        revenue = number(column_of["revenue"])
    ordered_at = (
        f"CASE WHEN regexp_full_match({d}, '{_ISO_DATE}') THEN try_cast({d} AS TIMESTAMP) END"
    )
    if d in typed:
        ordered_at = f"CAST({d} AS TIMESTAMP)"
    elif d in later:
        ordered_at = "CAST(NULL AS TIMESTAMP)"
    parse = {
        "customer": f"CASE WHEN contains({c}, '@') THEN lower({c}) ELSE {c} END",
        "ordered_at": ordered_at,
        "revenue": revenue,
        "filled": "(" + " OR ".join(f"{name} IS NOT NULL" for name in mapped) + ")",
    }
    # the checks of the parsed values: in the query, or once the later cells' values are set
    values_bad = [
        "(filled AND (ordered_at IS NULL OR revenue IS NULL OR NOT isfinite(revenue)))",
        f"abs(revenue) > {MAX_AMOUNT!r}",
    ]
    # an implausible date is the importer's error (valuecast.io._build.check_order_dates)
    earliest = str(_build.EARLIEST_ORDER_DATE.astype("datetime64[s]")).replace("T", " ")
    latest = str(_build.latest_order_date().astype("datetime64[s]")).replace("T", " ")
    values_bad.append(
        f"(ordered_at < TIMESTAMP '{earliest}' OR ordered_at >= TIMESTAMP '{latest}')"
    )
    for key in (*amounts, *LINE_AMOUNTS):
        if key in column_of:
            cell = column_of[key]
            parse[key] = number(cell)
            values_bad.append(
                f"({raw(cell)} IS NOT NULL AND ({key} IS NULL OR NOT isfinite({key})))"
            )
            values_bad.append(f"abs({key}) > {MAX_AMOUNT!r}")
    for key in (*TEXT_KEYS, *LINE_TEXT):
        if key in column_of:
            parse[key] = column_of[key]
    if "email" in column_of:  # a cell without @ is no address (generic: _build.written_addresses)
        parse["email"] = (
            f"CASE WHEN contains({column_of['email']}, '@') THEN {column_of['email']} END"
        )
    # the date in the numbers of orders without an id (a stored date is formatted where used)
    if numbered and "order_id" not in column_of and d not in typed:
        parse["written"] = d
    for cell in sorted(kept):
        parse[raw(cell)] = cell
    if "accepts_marketing" in column_of:
        x = column_of["accepts_marketing"]
        parse["accepts_marketing"] = (
            f"CASE WHEN lower({x}) IN {_sql_set(TRUE_WORDS)} THEN true "
            f"WHEN lower({x}) IN {_sql_set(FALSE_WORDS - {''})} THEN false END"
        )
        # a cell neither yes nor no, lower-cased, for the importer's note on them
        parse[UNREAD_CONSENT] = (
            f"CASE WHEN lower({x}) NOT IN {_sql_set(TRUE_WORDS | FALSE_WORDS)} THEN lower({x}) END"
        )
    # per amount column: whether its points could separate thousands (1 where a point may do
    # either, 2 where only a decimal point fits), which the importer refuses to guess
    points = {f"_points{i}": cell for i, cell in enumerate(dict.fromkeys(written_amounts))}
    ambiguous = AMBIGUOUS_POINT.strip("^$")
    for name, cell in points.items():
        parse[name] = (
            f"CASE WHEN regexp_full_match({cell}, '{ambiguous}') THEN 1 "
            f"WHEN contains({cell}, '.') THEN 2 ELSE 0 END::UTINYINT"
        )
    outputs = list(parse)
    derived: dict[str, str] = {}  # columns computed from parsed values
    if "unit_price" in column_of:
        derived["revenue"] = "quantity * unit_price"
    if any(key in column_of for key in LINE_KEYS):
        # a line that takes something back: a negative quantity or amount
        quantity = "coalesce(quantity, 0) < 0 OR " if "quantity" in column_of else ""
        outputs.append(f"({quantity}coalesce(revenue, 0) < 0) AS returns")
        # computed from the line's new amount when it is one
        line_amount = derived.get("revenue", "revenue")
        derived["returns"] = f"({quantity}coalesce({line_amount}, 0) < 0)"
    bad = [] if written else list(values_bad)
    if "order_id" in column_of:
        bad.append("(filled AND order_id IS NULL)")
    elif pair_hash:
        derived["pair_hash"] = "hash(customer, ordered_at)"
        outputs.append(f"{derived['pair_hash']} AS pair_hash")
    text = [column_of[key] for key in ("customer_id", *TEXT_KEYS, *LINE_TEXT, "accepts_marketing")
            if key in column_of]  # fmt: skip
    bad += [_unusual(name) for name in dict.fromkeys(text)]
    bad.append(_placeholder(c))  # the importer reads such a file, and notes those rows
    if "email" in column_of:  # a placeholder address is none, and noted: as above
        bad.append(_placeholder_email(column_of["email"]))
    if "currency" in column_of:  # a symbol the importer reads as its code (CA$ -> CAD)
        symbols = {symbol for symbol in NAMED_SYMBOLS if symbol.isascii()}
        bad.append(f"coalesce(upper({column_of['currency']}) IN {_sql_set(symbols)}, false)")
    cells = ", ".join(name if name in typed else f"nullif({name}, '') AS {name}" for name in mapped)
    middle = ", ".join([*mapped, *(f"{sql} AS {key}" for key, sql in parse.items())])
    query = (
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {', '.join(outputs)}, "
        f"({' OR '.join(bad)}) AS _bad FROM (SELECT {middle} FROM (SELECT {cells} FROM {source}))"
    )
    may_help = False
    try:
        if numbered:  # DuckDB's reader and the table keep the file's row order
            con.execute("SET preserve_insertion_order = true")
        con.execute(query)
        rejected = not isinstance(csv, ParquetRows) and rejected_rows(con) > 0
        told = "".join(f" OR (bool_or({name} = 1) AND NOT bool_or({name} = 2))" for name in points)
        refused = (
            rejected or con.execute(f"SELECT bool_or(_bad){told} FROM {table}").fetchall()[0][0]
        )
        if later and not refused:
            by_cell = {cell: [k for k in money_keys if column_of[k] == cell] for cell in later}
            by_cell[d] = ["ordered_at"]
            finish = _Finish(derived, " OR ".join(values_bad), [raw(c) for c in sorted(kept)])
            refused = not _set_written_values(con, csv, table, by_cell, d, finish, found)
            if not refused:
                refused = con.execute(f"SELECT bool_or(_bad) FROM {table}").fetchall()[0][0]
        elif refused and not rejected and not written and not typed:
            # amounts or dates SQL did not read (or could not tell): the importer's parser may
            unread = "filled AND (ordered_at IS NULL OR revenue IS NULL)"
            may_help = bool(
                con.execute(f"SELECT bool_or({unread}){told} FROM {table}").fetchall()[0][0]
            )
        # a shipping line's amount is its order's shipping, and a gift card sold no revenue:
        # the importer sets them apart
        refused = (
            refused
            or _has_lines_set_apart(con, table, column_of)
            or _may_link_cancellations(con, table, column_of)
        )
    except duckdb.Error:
        refused = True  # the general reader says exactly what
    finally:
        drop_rejects(con)
    if refused:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        return False, may_help
    return True, False


def _may_link_cancellations(con: Any, table: str, column_of: dict[str, str]) -> bool:
    """Whether the loaded lines of a line-level log with order ids hold a cancellation (an
    order of returned lines only) whose customer has a line sold on or before it: the importer
    may net such a return with that sale (:func:`valuecast.io.generic._linked_cancellations`),
    so it reads the file.  Every line the importer could link is found here (its own rule also
    asks the same item at the same price)."""
    if "order_id" not in column_of or not any(key in column_of for key in LINE_KEYS):
        return False
    query = f"""
        WITH lines AS (SELECT order_id, customer, ordered_at, returns FROM {table}
                       WHERE filled AND order_id IS NOT NULL AND customer IS NOT NULL),
        orders AS (SELECT order_id, bool_and(returns) AS returns_only FROM lines GROUP BY ALL),
        marked AS (SELECT * FROM lines JOIN orders USING (order_id))
        SELECT EXISTS (SELECT 1 FROM marked AS back JOIN marked AS sale USING (customer)
                       WHERE back.returns_only AND NOT sale.returns_only AND NOT sale.returns
                       AND sale.ordered_at <= back.ordered_at)
    """
    return bool(con.execute(query).fetchall()[0][0])


def _has_lines_set_apart(con: Any, table: str, column_of: dict[str, str]) -> bool:
    """Whether the loaded lines of a line-level log hold a gift card sold
    (:func:`valuecast.io.line_names.gift_card_lines`) or, no ``shipping`` column mapped, a
    shipping line (:func:`~valuecast.io.line_names.shipping_lines`), read from the distinct
    names and SKUs."""
    texts = [key for key in LINE_TEXT if key in column_of]
    if not texts:
        return False
    distinct = con.sql(f"SELECT DISTINCT {', '.join(texts)} FROM {table}").to_arrow_table()
    nulls = pa.chunked_array([pa.nulls(distinct.num_rows, pa.string())])
    product, sku = (distinct.column(k) if k in texts else nulls for k in LINE_TEXT)
    shipping = "shipping" not in column_of and shipping_lines(product, sku).any()
    return bool(shipping or gift_card_lines(product).any())


@dataclass(frozen=True)
class _Finish:
    """What the rows' table gets once the written cells' values are set: ``derived`` columns
    computed again (column -> SQL), the ``checks`` of the values added to ``_bad``, and the
    ``written`` cells' columns dropped."""

    derived: dict[str, str]
    checks: str
    written: list[str]


def _set_written_values(
    con: Any, csv: CsvFile, table: str, keys_of: dict[str, list[str]], date_cell: str,
    finish: _Finish, found: dict[str, Any] | None = None,
) -> bool:  # fmt: skip
    """Parse each cell of ``keys_of`` (the ``_raw_`` columns of ``table``) by the importer's
    parser, once per distinct cell, and give the rows' ``keys_of[cell]`` columns their values
    and ``derived`` (column -> SQL) its columns again; ``False`` where the importer refuses a
    value, or the amounts name a currency (which the importer gives the orders).

    The importer's column-wide rules (the decimal mark, a point that could separate thousands,
    the day order of a date, one currency) see the column's distinct cells: the same set of
    values as its rows.
    """
    # the values are read and set row by row in the table's order: kept while they are
    ordered = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = true")
    try:
        return _set_in_order(con, csv, table, keys_of, date_cell, finish, found)
    finally:
        con.execute(f"SET preserve_insertion_order = {str(bool(ordered)).lower()}")


def _set_in_order(
    con: Any, csv: CsvFile, table: str, keys_of: dict[str, list[str]], date_cell: str,
    finish: _Finish, found: dict[str, Any] | None,
) -> bool:  # fmt: skip
    header = {f"c{i}": name for i, name in enumerate(csv.header)}
    distinct: dict[str, pa.Array] = {}
    positions: dict[str, pa.ChunkedArray] = {}  # each row's cell among its column's distinct
    for cell in keys_of:
        written = con.sql(f"SELECT _raw_{cell} FROM {table}").to_arrow_table().column(0)
        distinct[cell] = pc.unique(written.combine_chunks()).drop_null()
        positions[cell] = pc.index_in(written, value_set=distinct[cell])  # missing: null
    # the columns' distinct cells in one table (padded to one length with missing cells, which
    # no rule reads), so the amounts' currency is the one Table.written_currency names
    longest = max(len(values) for values in distinct.values())
    cells = Table(csv.name, [header[cell] for cell in keys_of], pa.table({
        header[cell]: pa.concat_arrays([values, pa.nulls(longest - len(values), values.type)])
        for cell, values in distinct.items()
    }))  # fmt: skip
    if date_cell in distinct and written_in_utc(distinct[date_cell].cast(pa.string())):
        return False  # times written in UTC (Z): the importer notes their days are UTC days
    money = [header[cell] for cell in keys_of if cell != date_cell]
    try:
        parsed = {
            cell: pa.array(cells.timestamps(header[cell], extra_formats=True), pa.timestamp("us"))
            if cell == date_cell
            else pa.array(cells.money(header[cell]), pa.float64(), from_pandas=True)
            for cell in keys_of
        }
        if cells.written_currency(money) is not None:  # the importer's, given to the orders
            return False
        if found is not None:
            found["written_symbol"] = cells.written_symbol(money)
    except InputError:
        return False
    per_row = {
        key: parsed[cell].take(positions[cell]) for cell, keys in keys_of.items() for key in keys
    }
    # the rows again with their values, row by row in their order (a positional join; updating
    # the rows in place, or a join and a sort, took 0.6-0.9 s at 3M rows)
    given = ", ".join(f"_written_values.{key} AS {key}" for key in per_row)
    con.register("_written_values", pa.table(per_row))
    del per_row
    try:
        recomputed = ", ".join(f"{sql} AS {column}" for column, sql in finish.derived.items())
        con.execute(
            f"CREATE TEMP TABLE {table}_written AS "
            f"SELECT * EXCLUDE ({', '.join(finish.written)}) "
            f"REPLACE ((_bad OR {finish.checks}) AS _bad) FROM ("
            f"SELECT *{f' REPLACE ({recomputed})' if recomputed else ''} FROM ("
            f"SELECT rows.* REPLACE ({given}) FROM {table} rows "
            "POSITIONAL JOIN _written_values))"
        )
    finally:
        con.unregister("_written_values")
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE {table}_written RENAME TO {table}")
    return True


ORDERS_TABLE = "_orders_grouped"


def _revenue_parts(cols: dict[str, str | None]) -> dict[str, str]:
    """SQL of each row's part of its order's :func:`~valuecast.io.generic.revenue_parts`, the
    ``gross_revenue`` (a row of a positive amount, the goods sold) and ``refunded`` (one of a
    negative amount, a refund or the goods returned) no column is mapped to: an order's sums of
    them, as the importer's."""
    signed = {1: "revenue", -1: "-revenue"}
    return {
        key: f"CASE WHEN {signed[sign]} > 0 THEN {signed[sign]} ELSE 0.0 END"
        for key, sign in generic.revenue_parts(cols).items()
    }


_ATTRIBUTES = ("channel", "discount_code", "accepts_marketing")
_FIRSTS = ("email", "currency")
"""Texts an order takes from its first row that has one (not from its first row as such)."""


def at_most_one(value: str) -> str:
    """SQL: the group's rows hold at most one distinct non-NULL ``value``.

    Its least and greatest value agree (both NULL without one): ``count(DISTINCT ...) <= 1``
    gives the same answer, but a distinct count in a grouped aggregate keeps every group's values
    (3M rows of 1M orders: 2.1 s CPU against 0.9 s).
    """
    return f"min({value}) IS NOT DISTINCT FROM max({value})"


def _keyed_select(
    cols: dict[str, str | None], rows: str, canonical: bool, ordered: bool,
    repeated: str | None,
) -> str:  # fmt: skip
    """Rows grouped by order id; ``ordered`` sums each order's rows in file order (as the
    importer adds them), else in any order.

    Only the order ids of several rows, listed in the table ``repeated``
    (:func:`_repeated_order_ids`; None where no order id repeats), are grouped; an order of one
    row is that row, given the columns its group would have.  In an order-level export that is
    every order, and a grouped aggregate of every order id with its ~20 states is the slowest
    and largest part of the load (3M orders: 4 s of CPU and 0.4 GB more at peak than the rows
    alone)."""
    lines = any(cols.get(key) for key in LINE_KEYS)
    attributes = [key for key in _ATTRIBUTES if cols.get(key)]
    firsts = [key for key in _FIRSTS if canonical and cols.get(key)]
    order = " ORDER BY rowid" if ordered else ""
    # one customer (or none on every row) and one time per order, so any row is the first
    same = (
        f"{at_most_one('customer')} AND count(customer) IN (0, count(*)) "
        "AND coalesce(min(ordered_at) = max(ordered_at), false)"
    )
    stored = {"email": "email", "currency": "upper(currency)"}  # as the order keeps them
    same += "".join(f" AND {at_most_one(stored[key])}" for key in firsts)
    if attributes:
        same += " AND count(*) = 1"  # the first row's attributes would need row order
    # each column as the grouped orders give it, and as an order of one row is that row
    columns = [
        ("customer", "any_value(customer)", "customer"),
        ("ordered_at", "any_value(ordered_at)", "ordered_at"),
        ("revenue", f"sum(revenue{order})", "revenue"),
        ("rows", "count(*)", "1::BIGINT"),
        ("cancelled", "bool_and(returns)" if lines else "false", "returns" if lines else "false"),
        ("same", same, "ordered_at IS NOT NULL"),
        ("took_back", "coalesce(min(revenue) < 0, false)", "coalesce(revenue < 0, false)"),
        *((key, f"any_value({key})", key) for key in (*attributes, *firsts)),
    ]  # fmt: skip
    if canonical:
        columns += [("order_number", "order_id", "order_id"), ("first_row", "min(rowid)", "rowid")]
        columns += [
            (key, f"sum(coalesce({key}, 0){order})", f"coalesce({key}, 0)")
            if ordered
            else (key, f"any_value({key})", key)
            for key in AMOUNT_KEYS
            if cols.get(key)
        ]
        columns += [(key, f"sum({sql}{order})", sql) for key, sql in _revenue_parts(cols).items()]
    fields = ["order_id", *(f"{grouped} AS {name}" for name, grouped, _ in columns)]
    single = ["order_id", *(f"{alone} AS {name}" for name, _, alone in columns)]
    if repeated is None:
        return f"SELECT {', '.join(single)} FROM {rows} WHERE filled"
    # IS NOT DISTINCT FROM: rows without an order id are one group, as GROUP BY makes them
    among = (
        f"EXISTS (SELECT 1 FROM {repeated} "
        f"WHERE {repeated}.order_id IS NOT DISTINCT FROM {rows}.order_id)"
    )
    return (
        f"SELECT {', '.join(single)} FROM {rows} WHERE filled AND NOT {among} UNION ALL "
        f"SELECT {', '.join(fields)} FROM {rows} WHERE filled AND {among} GROUP BY order_id"
    )


def _repeated_order_ids(con: Any, rows: str) -> str:
    """The temporary table of the order ids (NULL too) that several filled ``rows`` give."""
    repeated = f"{rows}_repeated_ids"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {repeated} AS SELECT order_id FROM {rows} "
        "WHERE filled GROUP BY order_id HAVING count(*) > 1"
    )
    return repeated


def _row_select(
    cols: dict[str, str | None],
    rows: str,
    ranks: str | None = None,
    written: str = "written",
    key: str = "customer",
) -> str:
    """One order per row; with ``ranks`` (see :func:`_rank_repeats`) numbered
    ``<key>|<date as written>`` (``key``: the customer, or :func:`_number_key`; ``written``: the
    date's SQL, see :func:`_written_date`), with
    ``|2``, ``|3`` ... for further rows of the same customer and time in file order."""
    lines = any(cols.get(key) for key in LINE_KEYS)
    kept = [key for key in (*_ATTRIBUTES, *_FIRSTS, *AMOUNT_KEYS) if cols.get(key)]
    fields = [
        "NULL AS order_id", "customer", "ordered_at", "revenue", "1 AS rows",
        f"{'returns' if lines else 'false'} AS cancelled", "true AS same", "false AS took_back",
        *kept,
    ]  # fmt: skip
    if ranks is None:
        return f"SELECT {', '.join(fields)} FROM {rows} WHERE filled"
    # the canonical orders' amounts (the summary's route reads none)
    fields += [f"{sql} AS {key}" for key, sql in _revenue_parts(cols).items()]
    # one concat() builds each number at once (a chain of || makes a string per step); every
    # part is set, as a filled row without a date is refused
    fields += [
        f"concat(coalesce({key}, ''), '|', {written}, CASE WHEN rank > 1 THEN '|' || rank "
        "ELSE '' END) AS order_number",
        f"{rows}.rowid AS first_row",
    ]
    joined = f"LEFT JOIN {ranks} ON {rows}.rowid = {ranks}._row"
    return f"SELECT {', '.join(fields)} FROM {rows} {joined} WHERE filled"


def _rank_repeats(con: Any, rows: str, ranks: str, key: str = "customer") -> None:
    """The temporary table ``ranks``: each row's rank among the rows of its ``key`` (what numbers
    it: :func:`_number_key`) and time (file order), for the rows that share them with another.

    Only rows whose (key, time) hash repeats are ranked exactly (a hash collision makes a
    larger group to rank, never a wrong number).  The repeated hashes are found by sorting them
    in NumPy, whose sort of 64-bit integers is vectorised: a GROUP BY of 31M hashes in DuckDB
    takes 4-5 s of CPU and 1.6 GB, the sort 0.5 s and 0.3 GB.  The rows' ``pair_hash`` is that
    of their customer, which is their key but where rows were given a customer by their e-mail."""
    hashed = "pair_hash" if key == "customer" else f"hash({key}, ordered_at)"
    filled = f"SELECT {hashed} AS h FROM {rows} WHERE filled AND pair_hash IS NOT NULL"
    hashes = np.asarray(con.execute(filled).fetchnumpy()["h"])
    repeated = repeated_values(hashes)
    del hashes
    name = f"{ranks}_pairs"
    con.register(name, pa.table({"pair_hash": pa.array(repeated, pa.uint64())}))
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {ranks} AS SELECT rowid AS _row, row_number() OVER "
            f"(PARTITION BY {key}, ordered_at ORDER BY rowid) AS rank FROM {rows} "
            f"WHERE filled AND {hashed} IN (SELECT pair_hash FROM {name})"
        )
    finally:
        con.unregister(name)


def repeated_values(values: np.ndarray) -> np.ndarray:
    """The distinct values that occur more than once in ``values`` (sorted; ``values`` is
    sorted in place)."""
    values.sort()
    repeats = values[1:][values[1:] == values[:-1]]
    return np.unique(repeats)


def group_orders(
    con: Any,
    cols: dict[str, str | None],
    rows: str = ROWS_TABLE,
    table: str = ORDERS_TABLE,
    *,
    canonical: bool = False,
    written: str = "written",
) -> bool:
    """Create the temporary ``table`` of orders from the parsed ``rows`` as the importer groups
    them: by order id (or one order per row), amounts summed, and the exclusion ``reason``
    (``cancellation``: every line a return, in a line-level log; ``negative amount``;
    ``refunded``: a row takes back and the rows add up to zero).

    Columns: ``order_id``, ``customer``, ``ordered_at``, ``revenue``, ``rows``, ``reason`` and
    the attributes.  The importer takes an order's customer and attributes from its first row
    and its time from its earliest; rows carry no order here, so an order whose rows differ in
    any of them returns
    ``False`` (the importer reads the file), as does one whose total passes ``MAX_AMOUNT``.

    With ``canonical`` (rows loaded ``numbered``, with ``pair_hash`` when no order id is
    mapped) ``table`` is a view with also ``order_number``, ``first_row``, ``email``,
    ``currency`` (an order's e-mail and currency are the first its rows give, so rows giving
    different ones are refused too) and the amounts summed in file order as the importer sums
    them, over the temporary table ``{table}_parts`` (the grouped rows or the repeats' ranks);
    ``written`` is the SQL of the date in an order number (:func:`_written_date`).
    """
    keyed = cols.get("order_id") is not None
    parts = f"{table}_parts"
    if keyed:
        repeated = _repeated_order_ids(con, rows)
        if not canonical:
            _create_grouped(con, _keyed_select(cols, rows, False, False, repeated), table, "TABLE")
        else:
            several = con.execute(f"SELECT count(*) > 0 FROM {repeated}").fetchall()[0][0]
            keyed_rows = _keyed_select(cols, rows, True, several, repeated if several else None)
            # where every order is its one row, the rows are read as orders where used, not
            # copied (an order-level export of 3.1M orders: ~0.2 GB less at the ingest's peak)
            kind = "TABLE" if several else "VIEW"
            con.execute(f"CREATE OR REPLACE TEMP {kind} {parts} AS {keyed_rows}")
            _create_grouped(con, f"SELECT * FROM {parts}", table, "VIEW")
        con.execute(f"DROP TABLE {repeated}")
    elif not canonical:
        _create_grouped(con, _row_select(cols, rows), table, "TABLE")
    else:
        key = _number_key(con, rows)
        _rank_repeats(con, rows, parts, key)
        _create_grouped(con, _row_select(cols, rows, parts, written, key), table, "VIEW")
    # an order of one row has one customer and time, and load_rows checked its amount
    check = f"SELECT coalesce(bool_and(same AND abs(revenue) <= {MAX_AMOUNT!r}), true) FROM {table}"
    usable_orders = not keyed or con.execute(check).fetchall()[0][0]
    if not usable_orders:
        con.execute(f"DROP {'VIEW' if canonical else 'TABLE'} IF EXISTS {table}")
        _drop_temporary(con, parts)
    return bool(usable_orders)


def _drop_temporary(con: Any, name: str) -> None:
    """Drop the temporary table or view ``name`` (a load's parts are either), if there is one."""
    query = "SELECT count(*) > 0 FROM duckdb_views() WHERE temporary AND view_name = ?"
    kind = "VIEW" if con.execute(query, [name]).fetchall()[0][0] else "TABLE"
    con.execute(f"DROP {kind} IF EXISTS {name}")


_EXCLUDABLE = "excludable"
"""A grouped view's column: whether the order may have an exclusion ``reason`` (every order
that has one is), for queries of the excluded orders (:func:`_create_grouped`)."""


def _create_grouped(con: Any, grouped: str, table: str, kind: str) -> None:
    """The temporary table or view ``table`` of the ``grouped`` orders with their exclusion
    ``reason``; a view also gets :data:`_EXCLUDABLE`.

    DuckDB does not push a filter on the reason's ``CASE`` down through the view's projections,
    so ``reason IS NOT NULL`` alone builds every order's number (and joins its rank) to find the
    few excluded ones; the plain condition :data:`_EXCLUDABLE` is pushed down to the rows."""
    excludable = (
        f", (cancelled OR took_back OR revenue < 0) AS {_EXCLUDABLE}" if kind == "VIEW" else ""
    )
    con.execute(
        f"CREATE OR REPLACE TEMP {kind} {table} AS SELECT * EXCLUDE (cancelled, same, took_back), "
        f"CASE WHEN cancelled THEN '{_build.CANCELLATION}' "
        f"WHEN revenue < 0 THEN '{_build.NEGATIVE_AMOUNT}' "
        f"WHEN took_back AND abs(revenue) < {_build.ZERO_AMOUNT!r} THEN '{_build.REFUNDED}' "
        f"END AS reason, same{excludable} FROM ({grouped})"
    )


# ------------------------------------------------------------------------------------------------
# ingest: a clean file's canonical orders, staged on the workspace's own connection
# ------------------------------------------------------------------------------------------------
STAGED_ORDERS = "_engine_orders"
STAGED_LINES = "_engine_order_lines"
_INGEST_ROWS = "_engine_rows"
_INGEST_GROUPED = "_engine_grouped"
_INGEST_VIEWS = (STAGED_LINES, STAGED_ORDERS, _INGEST_GROUPED)
_INGEST_TABLES = (f"{_INGEST_GROUPED}_parts", _INGEST_ROWS)
"""What a load leaves on the connection: views (of the staged rows) over temporary tables (the
grouped orders' parts are a view of the rows where no order has several)."""


def pending_orders(csv: CsvFile, mapping: dict[str, str]) -> PendingOrders | None:
    """The CSV file as :class:`PendingOrders` when DuckDB may try it, else ``None``.

    A missing mapped column is the importer's error, raised here as it would be there.
    """
    if not usable(csv, mapping) or csv.has_blank_lines():  # blank lines shift row numbers
        return None
    cols = generic.resolve_columns(csv, mapping)
    if generic.cents_columns(cols, mapping):
        return None
    return PendingOrders(csv, mapping, cols)


_AMOUNT_COLUMNS = ("revenue", *AMOUNT_KEYS, *LINE_AMOUNTS)


def pending_parquet(path: Path, mapping: dict[str, str]) -> PendingOrders | None:
    """The Parquet file as :class:`PendingOrders` when DuckDB may try it, else ``None``: its
    mapped columns are text, except the order date (``date32``, or a ``TIMESTAMP`` without a
    zone in s, ms or us), amounts (integers, floats, decimals) and whole-number customer and
    order ids, which may be stored typed.  The importer's memory budget is not needed here: DuckDB reads
    the file in row groups within the workspace's memory limit."""
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException):
        return None  # the importer names the problem
    header = list(schema.names)
    if any(key in mapping for key in IMPORTER_KEYS) or len(set(header)) != len(header):
        return None
    source = ParquetRows(path, header, {})
    first_values = generic.parquet_first_values(path)
    cols = generic.resolve_columns(generic.HeaderOnly(str(path), header, first_values), mapping)
    return _typed_pending(source, schema, mapping, cols)


def pending_table(name: str, rows: pa.Table, mapping: dict[str, str]) -> PendingOrders | None:
    """A database table's rows (Arrow, with the types :func:`valuecast.io.read_exports` reads
    a table with) as :class:`PendingOrders` when DuckDB may try them, else ``None``: as a
    Parquet file's (:func:`pending_parquet`), and the importer reads them where DuckDB may not,
    as it reads a table (errors name a row by its order id)."""
    header = [str(column) for column in rows.column_names]
    if rows.nbytes < MIN_BYTES:  # as a small file: the importer reads it as soon
        return None
    if any(key in mapping for key in IMPORTER_KEYS) or len(set(header)) != len(header):
        return None
    source = TableRows(Path(), header, {}, rows=rows, table_name=name)
    table = source.importer_table()
    cols = generic.resolve_columns(table, mapping)
    if table.find(*generic.LINE_TYPE_COLUMNS) is not None:  # a till's line types: the importer's
        return None
    return _typed_pending(source, rows.schema, mapping, cols)


def _typed_pending(
    source: ParquetRows, schema: pa.Schema, mapping: dict[str, str], cols: dict[str, str | None]
) -> PendingOrders | None:
    """``source`` as :class:`PendingOrders` where its mapped columns are stored as the fast route
    reads them (see :func:`pending_parquet`), else ``None``."""
    if generic.cents_columns(cols, mapping):
        return None
    for key, column in cols.items():
        if column is None:
            continue
        stored = schema.field(column).type
        kind = _stored_kind(stored)
        when = kind == "date" or kind in _TIMESTAMP_UNITS.values()
        if when and key == "ordered_at" or kind in ("number", "single") and key in _AMOUNT_COLUMNS:
            source.typed[column] = kind
        elif pa.types.is_integer(stored) and key in _WHOLE_NUMBER_TEXT:
            source.as_text.add(column)
        elif kind != "text":
            return None
    if set(source.typed) & source.as_text:  # one column read two ways: the importer's reading
        return None
    return PendingOrders(source, mapping, cols)


_WHOLE_NUMBER_TEXT = ("customer_id", "order_id")
"""Keys of a text cell a warehouse stores as a whole number (``BIGINT``), which the fast route
reads as text (DuckDB writes an integer as Arrow does: ``-12``, no separators)."""

_TIMESTAMP_UNITS = {"s": "timestamp_s", "ms": "timestamp_ms", "us": "timestamp_us"}
"""A time of day stored without a zone, by unit: the importer writes it (in the numbers of
orders without an id) with the unit's fraction of a second, as Arrow's ``strftime`` does.
Nanoseconds (Arrow refuses to cut them to the importer's microseconds) and zoned times (whose
wall clock the importer reads in their zone) are the importer's."""


def _stored_kind(stored: pa.DataType) -> str | None:
    """How the importer reads a Parquet column of this type, where the fast route follows it."""
    if pa.types.is_string(stored) or pa.types.is_large_string(stored):
        return "text"
    if pa.types.is_date32(stored):
        return "date"
    if pa.types.is_timestamp(stored) and stored.tz is None:
        return _TIMESTAMP_UNITS.get(stored.unit)
    if pa.types.is_floating(stored) and stored.bit_width < 64:
        return "single"  # read by its shortest text, as the importer does (Table.money)
    if pa.types.is_integer(stored) or pa.types.is_floating(stored) or pa.types.is_decimal(stored):
        return "number"
    return None


@dataclass
class PendingOrders:
    """An orders file read at ingest: DuckDB loads it straight into the workspace's connection
    (:meth:`load`), or, where that is not certain to equal the importer, the importer reads it
    (:meth:`read`) with its own rules and errors."""

    source: CsvFile | ParquetRows
    mapping: dict[str, str]
    cols: dict[str, str | None]
    # what loading the rows found out (``written_symbol``: :func:`load_rows`' ``found``)
    _found: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    @property
    def file(self) -> str:
        return self.source.name

    def release_rows(self) -> None:
        """Release the CSV file's bytes, read to check it before DuckDB parses it again (a
        caller done with the stored rows has them, in the file's size, for the analysis)."""
        if isinstance(self.source, CsvFile):
            self.source = self.source.without_body()

    def read(self) -> ImportResult:
        """The importer's result, checked as :func:`valuecast.io.read_exports` checks it; an
        importer bug is a one-line error naming the file, as when the importer reads first."""
        if isinstance(self.source, CsvFile):
            self.source = self.source.with_body()  # read again when released
        try:
            result = self._import()
            result.notes.extend(self._cut_off_notes())
            fx.apply_fx([result], None)
            _build.check_stored_amounts(result)
        except InputError:
            raise
        except Exception as error:
            raise InputError(
                self.file, f"could not be read: {type(error).__name__}: {error}"
            ) from None
        return result

    def _import(self) -> ImportResult:
        """The importer's reading of the file."""
        if isinstance(self.source, TableRows):
            return generic.read_orders(self.source.importer_table(), self.mapping)
        source = self.source.path if isinstance(self.source, ParquetRows) else self.source
        return generic.read_orders(source, self.mapping)

    _LEFT = (_INGEST_VIEWS, _INGEST_TABLES)
    """The temporary views and tables a load leaves on its connection."""

    def load(self, con: Any) -> ImportResult | None:
        """Stage the canonical orders (``STAGED_ORDERS``) and order lines (``STAGED_LINES``) as
        temporary views on ``con``, and return the result counting them and the exclusions;
        ``None`` (nothing left behind) when the importer must read the file.  The views read
        temporary tables of parsed rows: load on a connection of its own, closed once the rows
        are stored, and they go with it.

        ``con`` must keep insertion order (DuckDB's default): the rows are numbered in it.
        The file's bytes, read to check it, are released first: DuckDB reads the file from its
        path, and :meth:`read` reads them again if the importer must (1M customers: 91 MB less
        held through the load and the ingest's write).
        """
        self.release_rows()
        staged = None
        rows = self.source.rows if isinstance(self.source, TableRows) else None
        try:
            if rows is not None:
                con.register(TABLE_VIEW, rows)
            if self._parse(con):
                staged = self._staged(con)
            return staged
        except duckdb.Error:
            return None  # e.g. out of memory: the importer reads the file (or says why not)
        finally:
            if rows is not None:
                con.unregister(TABLE_VIEW)
                if staged is not None:  # the staged views read the parsed rows' tables
                    self.source = replace(self.source, rows=None)
            if staged is None:
                views, tables = self._LEFT
                for view in views:
                    con.execute(f"DROP VIEW IF EXISTS {view}")
                for table in tables:
                    _drop_temporary(con, table)

    def _parse(self, con: Any) -> bool:
        """Parse and group the rows into temporary tables; ``False`` when the importer must."""
        cols = self.cols
        keyed = cols["order_id"] is not None
        self._found.clear()
        return (
            load_rows(
                con, self.source, cols, AMOUNT_KEYS, _INGEST_ROWS, not keyed, numbered=True,
                found=self._found,
            )
            and _one_currency(con, cols)
            and group_orders(
                con, cols, _INGEST_ROWS, _INGEST_GROUPED, canonical=True,
                written=_written_date(self.source, cols),
            )
            and not self._repeats_rows(con)
        )  # fmt: skip

    def _repeats_rows(self, con: Any) -> bool:
        """Whether a row of an order repeats another of its rows in every value read, in an
        order-level table (no line keys): the importer reads such a file, and notes them
        (:data:`~valuecast.io.generic.REPEATED_ROWS_COMPARED`).  Looked for only where some
        order has several rows."""
        cols = self.cols
        if cols["order_id"] is None or any(cols.get(key) for key in LINE_KEYS):
            return False
        query = f"SELECT coalesce(max(rows), 1) > 1 FROM {_INGEST_GROUPED}"
        if not con.execute(query).fetchall()[0][0]:
            return False
        return _some_row_repeated(con, _compared(con, generic.REPEATED_ROWS_COMPARED))

    def _staged(self, con: Any) -> ImportResult:
        cols = self.cols
        n_rows, filled = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE filled) FROM {_INGEST_ROWS}"
        ).fetchall()[0]
        # without an order id every filled row is an order of one row
        grouped, several = filled, False
        if cols["order_id"] is not None:
            query = f"SELECT count(*), coalesce(max(rows), 1) > 1 FROM {_INGEST_GROUPED}"
            grouped, several = con.execute(query).fetchall()[0]
        columns = _canonical_columns(cols, several_rows=bool(several))
        derived = _derived_columns(cols)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {STAGED_ORDERS} AS SELECT "
            + ", ".join(f"{sql} AS {name}" for name, sql in columns.items() if name not in derived)
            + f" FROM {_INGEST_GROUPED} WHERE reason IS NULL"
        )
        _stage_lines(con, cols)
        # an excluded order's revenue is its rows added up, as the importer reports it
        gross = "revenue" if "gross_revenue" in _revenue_parts(cols) else columns["gross_revenue"]
        result = self._result(
            con, "orders",
            f"SELECT order_number, {columns['order_id']} AS order_id, reason, rows, "
            f"coalesce({gross}, 0) AS gross_revenue, "
            f"coalesce({columns['refunded']}, 0) AS refunded, "
            f"{columns['currency']} AS currency, first_row FROM {_INGEST_GROUPED} "
            f"WHERE {_EXCLUDABLE} AND reason IS NOT NULL",
            n_rows, n_rows - filled, grouped, derived,
        )  # fmt: skip
        zero = con.execute(
            f"SELECT count(*) FROM {_INGEST_GROUPED} WHERE reason IS NULL "
            f"AND abs(revenue) < {_build.ZERO_AMOUNT!r}"
        ).fetchall()[0][0]
        named, customers = con.execute(
            "SELECT count(*) FILTER (WHERE regexp_full_match(customer, "
            f"'{generic.PERSON_NAME.strip('^$')}')), count(customer) FROM {_INGEST_ROWS} "
            "WHERE filled"
        ).fetchall()[0]
        self._found["named_customers"] = (int(named), int(customers))
        # the importer's notes come before the file's own (a cut-off end), as there
        result.notes[:0] = importer_notes(
            self.source, cols, self._found, result.excluded_detail, int(zero),
            self._repeated_lines(con),
        )  # fmt: skip
        return result

    def _repeated_lines(self, con: Any) -> list[str]:
        """The importer's note on the lines of a line-level log that repeat another line of
        their order in every value read (:func:`~valuecast.io.generic.repeated_rows_note`):
        the rows after the first of each set of equal ones, their orders named in the order
        their first repeat comes in the file."""
        cols = self.cols
        if cols["order_id"] is None or not any(cols.get(key) for key in LINE_KEYS):
            return []
        compared = _compared(con, (*generic.REPEATED_ROWS_COMPARED, *LINE_KEYS))
        # the rows whose hash repeats, grouped on one number, are the few a window compares
        hashed = f"hash({compared})"
        candidates = (
            f"SELECT h FROM (SELECT {hashed} AS h FROM {_INGEST_ROWS} WHERE filled) "
            "GROUP BY h HAVING count(*) > 1"
        )
        repeats = (
            f"SELECT order_id, rowid AS _row FROM (SELECT order_id, rowid, row_number() OVER "
            f"(PARTITION BY {compared} ORDER BY rowid) AS k FROM {_INGEST_ROWS} WHERE filled "
            f"AND {hashed} IN ({candidates})) WHERE k > 1"
        )
        count, orders, examples = con.execute(
            f"WITH repeats AS ({repeats}) SELECT count(*), count(DISTINCT order_id), "
            "(SELECT list(order_id ORDER BY first)[1:3] FROM (SELECT order_id, min(_row) AS "
            "first FROM repeats GROUP BY order_id)) FROM repeats"
        ).fetchall()[0]
        return generic.repeated_rows_note(int(count), examples or [], int(orders), lines=True)

    def _result(
        self, con: Any, fmt: str, excluded_orders: str, n_rows: int, empty_rows: int,
        n_orders: int, derived: dict[str, str],
    ) -> ImportResult:  # fmt: skip
        """The result of the staged views: ``excluded_orders`` is the SQL of the excluded
        orders (``order_number``, ``order_id``, ``reason``, ``rows``, ``gross_revenue``,
        ``refunded``, ``currency``, ``first_row``), ``n_orders`` counts them with the counted
        ones."""
        detail = con.sql(
            f"SELECT * EXCLUDE (first_row) FROM ({excluded_orders}) ORDER BY first_row"
        )
        detail = detail.df().astype(
            {"order_number": "string", "order_id": "string", "currency": "string"}
        )
        excluded, excluded_count, excluded_revenue = _build.count_exclusions(detail, empty_rows)
        lines = con.sql(f"SELECT count(*) FROM {STAGED_LINES}").fetchall()[0][0]
        return ImportResult(
            file=self.source.name,
            format=fmt,
            rows_read=int(n_rows),
            orders=empty_frame(ORDERS_SCHEMA),
            order_lines=empty_frame(ORDER_LINES_SCHEMA),
            customers=empty_frame(CUSTOMERS_SCHEMA),
            excluded=excluded,
            excluded_orders=excluded_count,
            excluded_revenue=excluded_revenue,
            excluded_detail=detail,
            staged=StagedRows(
                STAGED_ORDERS,
                STAGED_LINES,
                int(n_orders) - len(detail),  # the orders counted: the others are excluded
                int(lines),
                derived=derived,
            ),  # fmt: skip
            notes=self._cut_off_notes(),
            # amounts in some dollar, where no currency column names which
            written_symbol=None
            if self.cols.get("currency") is not None
            else self._found.get("written_symbol"),
        )

    def _cut_off_notes(self) -> list[str]:
        return file_notes(self.source)


def _compared(con: Any, keys: Sequence[str]) -> str:
    """The columns of ``keys`` the loaded rows hold, as a list in SQL."""
    present = {row[0] for row in con.execute(f"DESCRIBE {_INGEST_ROWS}").fetchall()}
    return ", ".join(key for key in keys if key in present)


def _some_row_repeated(con: Any, compared: str) -> bool:
    """Whether a filled row of the loaded rows repeats another in every column ``compared``."""
    distinct = f"SELECT count(*) FROM (SELECT DISTINCT {compared} FROM {_INGEST_ROWS} WHERE filled)"
    query = f"SELECT count(*) > ({distinct}) FROM {_INGEST_ROWS} WHERE filled"
    return bool(con.execute(query).fetchall()[0][0])


def importer_notes(
    source: CsvFile | ParquetRows,
    cols: dict[str, str | None],
    found: dict[str, Any],
    excluded: pd.DataFrame,
    zero_orders: int = 0,
    repeated_lines: Sequence[str] = (),
) -> list[str]:
    """The notes the importer gives a file it reads (:func:`valuecast.io.generic.table_notes`,
    the orders linked by e-mail, the cancellations and negative orders left out, the orders of
    an amount of 0 counted: ``zero_orders``), as loading the file with :func:`load_rows`
    (``found``) and grouping it (``excluded``: the excluded orders' ``order_number`` and
    ``reason``) found them."""
    whole = found.get("whole_number_ids", False)
    zeros = found.get("leading_zero_ids", (0, []))
    whole_orders = found.get("whole_number_order_ids", False)
    cancelled = (excluded["reason"] == _build.CANCELLATION).to_numpy(bool)
    numbers = excluded["order_number"][cancelled] if cols["order_id"] is not None else None
    return (
        (_build.whole_number_ids_note(cols["customer_id"]) if whole else [])
        + _build.leading_zero_ids_note(cols["customer_id"], *zeros)
        + _build.case_only_ids_note(cols["customer_id"], *found.get("case_only_ids", (0, [])))
        + (_build.whole_number_ids_note(cols["order_id"]) if whole_orders else [])
        + _build.unread_consent_note(
            cols["accepts_marketing"], *found.get("unread_consent", (0, []))
        )
        + generic.table_notes(list(source.header), cols)
        + generic.named_customers_note(cols["customer_id"], *found.get("named_customers", (0, 0)))
        + _build.email_linked_note(found.get("linked_by_email", 0))
        + generic.cancellations_note(numbers, int(cancelled.sum()))
        + list(repeated_lines)
        + generic.negative_orders_note(cols, excluded)
        + _build.zero_orders_note(zero_orders, generic.ZERO_ORDERS_REMEDY)
    )


def file_notes(source: CsvFile | ParquetRows) -> list[str]:
    """:func:`~valuecast.io.csvfile.title_note` and :func:`~valuecast.io.csvfile.cut_off_note`
    of a CSV file, as a list of notes (none for a Parquet file)."""
    if not isinstance(source, CsvFile):
        return []
    notes = (title_note(source), cut_off_note(source.path or source.with_body()))
    return [note for note in notes if note is not None]


def _written_date(source: CsvFile | ParquetRows, cols: dict[str, str | None]) -> str:
    """SQL of an order's date as its number writes it: a CSV file's date cell as written, a
    date stored typed formatted as the importer formats it, from ``ordered_at`` (the stored
    date): not kept with the rows, where it was a 19-character text per row.

    A stored date is a midnight ``TIMESTAMP``, which DuckDB's cast to text writes as
    ``strftime(ordered_at, '%Y-%m-%d %H:%M:%S')`` does (with no fraction of a second) in 0.6
    of its CPU time.
    """
    kind = getattr(source, "typed", {}).get(cols["ordered_at"])
    if kind == "date":
        return "CAST(ordered_at AS VARCHAR)"
    if kind is not None:  # a time of day, with its unit's fraction of a second (none for s)
        fraction = {"timestamp_ms": ".%g", "timestamp_us": ".%f"}.get(kind, "")
        return f"strftime(ordered_at, '%Y-%m-%d %H:%M:%S{fraction}')"
    return "written"


def _one_currency(con: Any, cols: dict[str, str | None]) -> bool:
    """At most one currency in the file (several are the importer's error, or need ``--fx``)."""
    if cols["currency"] is None:
        return True
    query = f"SELECT {at_most_one('upper(currency)')} FROM {_INGEST_ROWS} WHERE filled"
    return bool(con.execute(query).fetchall()[0][0])


def _canonical_columns(cols: dict[str, str | None], several_rows: bool) -> dict[str, str]:
    """SQL of each ``ORDERS_SCHEMA`` column over the grouped orders, as the importer fills it.

    The importer keeps a missing amount of a one-row order as missing while no order of the file
    has several rows, and otherwise adds each order's amounts with missing ones as 0.
    """

    def optional(key: str, missing: str = "NULL") -> str:
        return key if cols[key] is not None else missing

    amounts = {key: optional(key, "0.0") for key in AMOUNT_KEYS}
    amounts |= {key: key for key in _revenue_parts(cols)}  # the grouped orders' sums
    if several_rows:  # ... summed over the order's rows: a one-row order's missing amount is 0
        amounts = {key: f"coalesce({sql}, 0.0)" for key, sql in amounts.items()}
    email = "CASE WHEN contains(customer, '@') THEN customer END"
    columns = {
        # a filled row without an order id or a date is refused: no part is NULL
        "order_id": "concat('orders:', order_number)",
        "source": "'orders'",
        "order_number": "order_number",
        "customer_id": "customer",
        "email": email if cols["email"] is None else f"coalesce(email, {email})",
        "is_guest": "customer IS NULL",
        "ordered_at": "ordered_at",
        "order_date": "date_trunc('day', ordered_at)",
        **amounts,
        "net_revenue": "revenue",
        "currency": "upper(currency)" if cols["currency"] is not None else "NULL",
        "channel": optional("channel"),
        "discount_code": optional("discount_code"),
        "accepts_marketing": optional("accepts_marketing"),
    }
    return {name: f"CAST({columns[name]} AS {SQL_TYPES[dtype]})"
            for name, dtype in ORDERS_SCHEMA.items()}  # fmt: skip


def _derived_columns(cols: dict[str, str | None]) -> dict[str, str]:
    """SQL of the ``ORDERS_SCHEMA`` columns that repeat another staged column (the order id, the
    e-mail read from the customer id, the order's day, whether a guest's) or hold a constant (an
    unmapped column), over the staged columns: computed by the connection that reads the staged
    orders, as it reads them, they cost nothing to pass between connections (as Arrow, 3M orders'
    order ids and e-mails alone cost ~0.6 s of CPU).  Each is the value of
    :func:`_canonical_columns`' column of the same name."""
    derived = {
        "order_id": "concat('orders:', order_number)",
        "source": "'orders'",
        "is_guest": "customer_id IS NULL",
        "order_date": "date_trunc('day', ordered_at)",
    }
    if cols["email"] is None:
        derived["email"] = "CASE WHEN contains(customer_id, '@') THEN customer_id END"
    for key in ("currency", "channel", "discount_code", "accepts_marketing"):
        if cols[key] is None:
            derived[key] = "NULL"
    staged = _revenue_parts(cols)  # the grouped orders' sums of their rows
    for key in AMOUNT_KEYS:  # summed as coalesce(0.0, 0.0) over several rows: the same 0.0
        if cols[key] is None and key not in staged:
            derived[key] = "0.0"
    return {name: f"CAST({derived[name]} AS {SQL_TYPES[dtype]})"
            for name, dtype in ORDERS_SCHEMA.items() if name in derived}  # fmt: skip


def _stage_lines(con: Any, cols: dict[str, str | None]) -> None:
    """``STAGED_LINES``: a line-level log's rows of counted orders, numbered from 1 in file order
    within their order (no table rows when no line key is mapped)."""
    lines = any(cols[key] for key in LINE_KEYS)
    keyed = cols["order_id"] is not None
    joined = "r.order_id = g.order_number" if keyed else "r.rowid = g.first_row"

    def column(key: str) -> str:
        return f"r.{key}" if cols[key] is not None else "NULL"

    # a return line's items are taken back, one where it writes no quantity, as the importer
    # nets them (generic.LineRows.signed_quantity)
    written = f"CAST({column('quantity')} AS DOUBLE)"
    quantity = (
        f"CASE WHEN r.returns THEN -abs(coalesce({written}, 1.0)) ELSE {written} END"
        if lines
        else written
    )

    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {STAGED_LINES} AS SELECT "
        "CAST('orders:' || g.order_number AS VARCHAR) AS order_id, CAST(row_number() OVER "
        "(PARTITION BY g.order_number ORDER BY r.rowid) AS BIGINT) AS line_number, "
        f"CAST({column('sku')} AS VARCHAR) AS sku, "
        f"CAST({column('product')} AS VARCHAR) AS product_name, "
        f"CAST({quantity} AS DOUBLE) AS quantity, "
        f"CAST({column('unit_price')} AS DOUBLE) AS unit_price, 0.0 AS line_discount "
        f"FROM {_INGEST_ROWS} r JOIN {_INGEST_GROUPED} g ON {joined} "
        f"WHERE r.filled AND g.reason IS NULL{'' if lines else ' AND false'}"
    )
