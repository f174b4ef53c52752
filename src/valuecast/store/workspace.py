"""The workspace: one DuckDB file holding the canonical orders, order lines and customers.

:meth:`Workspace.ingest` writes what the importers read (:class:`~valuecast.io.schema.ImportResult`)
in ONE transaction: either every file of an ingest lands or none does.  Orders are keyed by
``order_id`` (``"{source}:{order number}"``): an order not in the workspace yet is added, an order
whose fields or line items differ from the stored ones replaces them, and an identical order is left
untouched, so re-ingesting the same export changes nothing and a newer export of the same shop
adds its new orders and updates the changed ones (counted as ``updated_orders``).  Customers (from a
customers export) are keyed by ``customer_id`` the same way.  Every ingest is logged in the
``ingests`` table with its report.

Duplicates across the files of one ingest: an order in several files (overlapping exports) is one
order, and the version of the last file given that holds it is kept (its fields and its line
items), as a later ingest replaces a stored one: files are given oldest first.  Files that agree
on the order's customer, date, amounts and currency (``_ORDER_FACTS``) are the normal case of
re-exporting and stay silent; orders they give different facts are counted in the report
(``conflicting_orders``) with a note naming the first one, both values and both files.  Against
the workspace, the kept version then updates a stored order that differs (``updated_orders``).

Readers on other threads get a :class:`ReadView` of the workspace on a cursor of its own.

The module is longer than most (over 800 lines): staging, merging and reporting one ingest are
SQL steps on one connection inside one transaction, sharing private helpers and temp tables.
The steps that keep one customer under one id across files and ingests (phone and e-mail links,
stored ids read again) are :mod:`valuecast.store.identities`'.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from duckdb import ColumnExpression, ConstantExpression

from valuecast.dates import to_date
from valuecast.errors import is_interrupted_query
from valuecast.io._build import NEGATIVE_AMOUNT, REFUNDED, ZERO_AMOUNT
from valuecast.io.csvfile import PARQUET_SUFFIXES, refused_symbol, symbol_currencies
from valuecast.io.generic import national_phones_note, negative_orders_note
from valuecast.io.orders_duckdb import PendingOrders
from valuecast.io.phones import INVISIBLE, PHONE_ID_PREFIX
from valuecast.io.schema import (
    CONTACT_GROUPS,
    CUSTOMERS_SCHEMA,
    ORDER_CONTACTS_SCHEMA,
    ORDER_LINES_SCHEMA,
    ORDERS_SCHEMA,
    SQL_TYPES,
    ImportResult,
    InputError,
    conform,
)
from valuecast.provenance import source_fingerprint
from valuecast.store import later_refunds
from valuecast.store.connection import (
    DEFAULT_WORKSPACE,
    DEFAULT_WORKSPACE_MEMORY_BYTES,
    DEFAULT_WORKSPACE_MEMORY_LIMIT,
    EngineError,
    duckdb_backend,
    open_duckdb,
    resolved_memory_limit,
    uses_default_memory_limit,
    workspace_memory_bytes,
)
from valuecast.store.identities import (
    join_national_phones,
    join_stored_national_phones,
    link_emails,
    link_phones,
    linked_by_email_note,
    linked_by_phone_note,
    national_phones_joined_note,
    read_visible_ids_again,
    read_whole_number_ids_again,
    read_whole_number_order_ids_again,
    renumbered_phone_orders_note,
    store_phone_cells,
    stored_national_phones_note,
    visible_ids_note,
    whole_number_ids_note,
    whole_number_order_ids_note,
)
from valuecast.store.memory import release_unused_memory
from valuecast.store.rawsql import (
    COMPUTED,
    SPACES_SQL,
    STORED_IN_PLACE,
    connection_table_names,
    sql,
    stored_columns,
)
from valuecast.store.tables import is_table_url
from valuecast.tables import CONTACT_FIELDS, EMAIL_PATTERN

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

# order_date is a calendar date: stored as DATE so that date arithmetic is in whole days.
_DATE_COLUMNS = {"order_date"}

TABLES: dict[str, dict[str, str]] = {
    "orders": ORDERS_SCHEMA,
    "order_lines": ORDER_LINES_SCHEMA,
    "customers": CUSTOMERS_SCHEMA,
}


# An order's number, customer id and e-mail (one other than the id) are nearly unique within a row
# group (a customer's few orders lie far apart), so DuckDB's dictionary compression finds little
# to share and costs twice (analysed, then written); ZSTD writes them in half the CPU (1.0 s less
# of the 2.1 s for the three at 3.1M orders) and reads them as fast, in a file up to a sixth
# larger (137 MB, not 119).
_COMPRESSION = {"orders": dict.fromkeys(("order_number", "customer_id", "other_email"), "zstd")}


NO_CURRENCY_NOTE = "the files name no currency: amounts are in the shop's currency"
"""The ingest's note where no order names its currency."""


def _duckdb_release(version: str) -> tuple[int, int]:
    """DuckDB's (major, minor) release from its version text: ``"1.2.0.dev12"`` -> ``(1, 2)``."""
    major, minor = re.findall(r"\d+", version)[:2]
    return int(major), int(minor)


# DuckDB writes ZSTD only into files of a storage version it creates by default from release 2.0
# on: an older release leaves such a column uncompressed (1.2 to 1.4) or refuses it (1.1), so
# there the columns are defined as before
_ZSTD_TEXT = _duckdb_release(duckdb.__version__) >= (2, 0)
# and only a file of storage version 1.2 or later takes them: a workspace an older release made
# (version 1.0) refuses the definition ("not available yet") and keeps its texts as they are
_ZSTD_STORAGE = (1, 2)


def _zstd_text(raw: Any) -> bool:
    """Whether text columns are defined with ZSTD in the workspace's file (see ``_ZSTD_TEXT``)."""
    if not _ZSTD_TEXT:
        return False
    tags = sql(raw, "SELECT tags FROM duckdb_databases() WHERE database_name = current_database()")
    version = (tags[0][0] or {}).get("storage_version") if tags else None
    return version is None or _duckdb_release(version) >= _ZSTD_STORAGE


def _sql_type(column: str, dtype: str) -> str:
    return "DATE" if column in _DATE_COLUMNS else SQL_TYPES[dtype]


def _column_definitions(table: str, schema: dict[str, str], zstd: bool) -> str:
    """The columns of ``table`` (or of an ingest's stage of it, laid out the same), texts with
    ZSTD where ``zstd`` (see :func:`_zstd_text`): the columns it computes, then those it stores
    in their place."""
    definitions = []
    for name, dtype in schema.items():
        formula = COMPUTED.get(table, {}).get(name)
        if formula:
            generated = f"GENERATED ALWAYS AS ({formula}) VIRTUAL"
            definitions.append(f"{name} {_sql_type(name, dtype)} {generated}")
            continue
        definitions.append(f"{name} {_sql_type(name, dtype)}{_compressed(table, name, zstd)}")
    for name, (sql_type, _) in STORED_IN_PLACE.get(table, {}).items():
        definitions.append(f"{name} {sql_type}{_compressed(table, name, zstd)}")
    return ", ".join(definitions)


def _compressed(table: str, column: str, zstd: bool) -> str:
    compression = _COMPRESSION.get(table, {}).get(column)
    return f" USING COMPRESSION {compression}" if zstd and compression else ""


def _stored_select(stored: dict[str, str]) -> str:
    """The select list of :func:`stored_columns`' columns, each named."""
    return ", ".join(sql if sql == name else f"{sql} AS {name}" for name, sql in stored.items())


def _column_list(schema: dict[str, str], prefix: str = "") -> str:
    return ", ".join(f"{prefix}{name}" for name in schema)


def _cast_list(schema: dict[str, str]) -> str:
    return ", ".join(
        f"CAST({name} AS {_sql_type(name, dtype)}) AS {name}" for name, dtype in schema.items()
    )


def _money(value: float) -> float:
    return (
        0.0
        if value is None or (isinstance(value, float) and math.isnan(value))
        else round(float(value), 2)
    )


@dataclass
class FileReport:
    """What one file contributed: its format, data rows and the rows used / excluded."""

    file: str
    format: str
    rows_read: int
    orders: int
    line_items: int
    customer_records: int
    excluded_rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # the symbol of several currencies (``$``) its amounts are written with, where nothing
    # names their currency: a later file in euros is then refused as this one's are
    amounts_written_in: str | None = None


@dataclass
class IngestReport:
    """The report of one ingest (every number counts what the files of this ingest held).

    ``orders`` are the counted orders read (distinct order ids); of them ``new_orders`` were added
    to the workspace, ``updated_orders`` replaced a stored order that differed (its fields or its
    line items) and ``unchanged_orders`` were already stored as they are.  ``conflicting_orders``
    counts orders that files of this ingest gave different customers, dates, amounts or
    currencies (the last file's version is kept; see the module docstring).  ``phone_customers``
    counts the customers among ``customers`` identified by phone (orders without e-mail, see
    :mod:`valuecast.io.phones`); only orders with neither e-mail nor phone are ``guest_orders``.
    ``excluded_orders`` maps each exclusion reason (cancelled, voided, test order, ...) to the
    number of orders excluded for it, ``excluded_revenue`` to their revenue; ``withdrawn_orders``
    counts, per reason, the orders stored by an earlier ingest that these files exclude (an
    order cancelled or refunded since), which were removed from the workspace.  Money is in the orders' currency (after ``--fx``
    conversion, the base currency); ``currencies`` counts the counted orders per currency.
    """

    workspace: str
    ingest_id: int
    files: list[FileReport]
    rows_read: int
    orders: int
    new_orders: int
    updated_orders: int
    unchanged_orders: int
    line_items: int
    customers: int
    customer_records: int
    new_customer_records: int
    updated_customer_records: int
    guest_orders: int
    guest_revenue: float
    excluded_orders: dict[str, int]
    excluded_rows: dict[str, int]
    excluded_revenue: dict[str, float]
    gross_revenue: float
    discount: float
    refunded: float
    tax: float
    shipping: float
    net_revenue: float
    first_order_date: date | None
    last_order_date: date | None
    currencies: dict[str, int]
    workspace_orders: int
    workspace_customers: int
    conflicting_orders: int = 0
    phone_customers: int = 0
    withdrawn_orders: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # the build of valuecast that read the files (valuecast.provenance.source_fingerprint)
    made_by: str = field(default_factory=source_fingerprint)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (dates as ISO strings)."""
        out = asdict(self)
        for key in ("first_order_date", "last_order_date"):
            out[key] = None if out[key] is None else out[key].isoformat()
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


class _HeldRows:
    """An Arrow table DuckDB reads through the Arrow stream interface (a new stream for each
    scan): what the connection registers is this holder, so setting ``table`` to None gives
    the rows back even while the connection still keeps its registration."""

    def __init__(self, table: pa.Table) -> None:
        self.table: pa.Table | None = table

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        if self.table is None:
            raise ValueError("these rows were released")
        return self.table.__arrow_c_stream__(requested_schema)


def _canonical_orders(con: BaseBackend) -> ir.Table:
    """The orders table of Ibis backend ``con`` without the columns it stores in place of those
    it computes (:data:`STORED_IN_PLACE`)."""
    orders = con.table("orders")
    in_place = [name for name in STORED_IN_PLACE["orders"] if name in orders.columns]
    return orders.drop(*in_place) if in_place else orders


def table_names(con: Any) -> set[str]:
    """Names of the tables and views of a DuckDB backend (main schema and temp)."""
    return connection_table_names(con.con)


def contacts_frame(raw: Any) -> pd.DataFrame:
    """``customer_id`` and :data:`~valuecast.tables.CONTACT_FIELDS`: each customer's row of the
    ``customers`` table (a customers export), and for a customer without an e-mail there the
    e-mail of their latest order that gives one, unless it is the customer id itself: a
    registered WooCommerce or Magento customer is known by their latest address, which an
    earlier order's other address never replaces.

    An orders table keyed by a customer number with an e-mail column (a generic export, a
    database's orders) stores its e-mails with the orders only; a customers export names the
    contact the shop keeps, so it comes first.

    Names, phones and places likewise: a customers export's where it gives them, else those of
    the customer's latest order that carries any (``order_contacts``: its billing address, else
    its shipping address, :func:`valuecast.io._build.order_contacts`), so that a shop that gives
    its orders export alone gets audience files the platforms can match on more than an e-mail.
    The name (first and last), the phone and the address (city, province, country, zip) are
    each taken whole from one of the two, so that a city and a zip are of one address.

    ``accepts_marketing`` is the consent known today, whatever date an analysis is as of: the
    customers export's where it says, else that of the latest order stating it (the summary's
    rule, over every stored order), so an audience file never uploads a customer who has
    opted out since.  An opt-out on an order dated after the day the customers export was
    ingested is newer than the export, and stands.
    """
    return raw.sql(_contacts_query(raw)).to_arrow_table().to_pandas()


_ORDER_ID_KEY = "'n': length(order_id), 'id': order_id"
"""The latest of a customer's orders of one time is the one of the greater order id, the shorter
ids first (order 9 before order 10), as the summary tells it
(:func:`valuecast.analysis.summary.order_id_key`): a struct literal's fields."""
_ORDER_ID_KEY_O = _ORDER_ID_KEY.replace("order_id", "o.order_id")


def _order_contacts_query(raw: Any) -> str:
    """SQL of each customer's name, phone and address from the latest of their stored orders
    giving each (``order_contacts``, read through ``orders``): no rows in a read-only workspace
    made before ``order_contacts``."""
    names = [name for group in CONTACT_GROUPS for name in group]
    if "order_contacts" not in connection_table_names(raw):
        empty = ", ".join(f"NULL::VARCHAR AS {name}" for name in ["customer_id", *names])
        return f"SELECT {empty} LIMIT 0"
    latest = "{'at': coalesce(o.ordered_at, o.order_date), " + _ORDER_ID_KEY_O + "}"
    picked = []
    for index, group in enumerate(CONTACT_GROUPS):
        value = "{" + ", ".join(f"'{name}': k.{name}" for name in group) + "}"
        gives = " OR ".join(f"k.{name} IS NOT NULL" for name in group)
        picked.append(f"arg_max({value}, {latest}) FILTER (WHERE {gives}) AS g{index}")
    unpacked = ", ".join(
        f"g{index}.{name} AS {name}" for index, group in enumerate(CONTACT_GROUPS) for name in group
    )
    return f"""SELECT customer_id, {unpacked} FROM (
        SELECT o.customer_id, {", ".join(picked)}
        FROM order_contacts k JOIN orders o ON o.order_id = k.order_id
        WHERE o.customer_id IS NOT NULL GROUP BY o.customer_id)"""


def _contacts_query(raw: Any) -> str:
    """The SQL text of :func:`contacts_frame` on the workspace of DuckDB connection ``raw``."""
    # a customers export's name, phone, address where it gives any of it, else the orders'
    taken = {}
    for group in CONTACT_GROUPS:
        given = " OR ".join(f"nullif(trim(c.{name}), '') IS NOT NULL" for name in group)
        for name in group:
            taken[name] = f"CASE WHEN {given} THEN c.{name} ELSE a.{name} END AS {name}"
    fields = ", ".join(taken.get(name, f"c.{name}") for name in CONTACT_FIELDS if name != "email")
    latest = "{'at': coalesce(ordered_at, order_date), " + _ORDER_ID_KEY + "}"
    return f"""WITH latest AS (
        SELECT customer_id,
        arg_max(trim(email), {latest}) FILTER (WHERE nullif(trim(email), '') IS NOT NULL) AS email,
        arg_max(accepts_marketing, {latest}) FILTER (
            WHERE accepts_marketing IS NOT NULL) AS accepts_marketing,
        max(order_date) FILTER (WHERE accepts_marketing IS NOT NULL) AS stated_on
        FROM orders
        WHERE customer_id IS NOT NULL AND (
            nullif(trim(email), '') IS NOT NULL OR accepts_marketing IS NOT NULL)
        GROUP BY customer_id),
    ordered AS (
        SELECT customer_id, CASE WHEN lower(email) <> lower(customer_id) THEN email END AS email,
        accepts_marketing, stated_on FROM latest
        WHERE lower(email) <> lower(customer_id) OR accepts_marketing IS NOT NULL),
    addressed AS ({_order_contacts_query(raw)})
    SELECT coalesce(c.customer_id, o.customer_id, a.customer_id) AS customer_id,
        coalesce(nullif(trim(c.email), ''), o.email) AS email, {fields},
        CASE WHEN NOT o.accepts_marketing AND o.stated_on > c.ingested_on THEN false
            ELSE coalesce(c.accepts_marketing, o.accepts_marketing) END AS accepts_marketing
    FROM (SELECT c.*, i.ingested_at::DATE AS ingested_on FROM customers c
        LEFT JOIN ingests i ON i.ingest_id = c.ingest_id WHERE c.customer_id IS NOT NULL) c
    FULL JOIN ordered o ON c.customer_id = o.customer_id
    FULL JOIN addressed a ON a.customer_id = coalesce(c.customer_id, o.customer_id)"""


_INVISIBLE_SQL = "[" + INVISIBLE + "\u200c\u200d]"


def email_text_sql(cell: str) -> str:
    """The SQL expression of e-mail cell ``cell`` as text to key (:func:`email_key_sql`): NFC,
    without invisible characters, trimmed and lower-cased; '' for a missing cell."""
    cleaned = (
        f"lower(regexp_replace(regexp_replace(nfc_normalize(coalesce({cell}, '')), "
        f"'{_INVISIBLE_SQL}', '', 'g'), '^{SPACES_SQL}+|{SPACES_SQL}+$', '', 'g'))"
    )
    # most cells are plain printable ASCII: lower-cased alone, spared the regular expressions
    plain = f"lower(coalesce({cell}, ''))"
    return f"CASE WHEN regexp_matches({cell}, '[^!-~]') THEN {cleaned} ELSE {plain} END"


def email_key_sql(text: str) -> str:
    """The SQL expression of the address the audience files key e-mail text ``text`` (a column
    of :func:`email_text_sql`) by, as :func:`valuecast.outputs.audiences.contacts.normalize_email`
    rules: of a cell holding several addresses or a display name (``Dora Lee <dora@x.com>``),
    the first part holding an ``@``; without the angle brackets and a ``mailto:``.  The
    dashboard's consent counts key customers by it, so a decline written under a display name
    reaches them as it reaches the files."""
    # the first run of characters between separators that holds an @: a leftmost match
    first = f"regexp_extract({text}, '[^,;<\\s\\p{{Z}}]*@[^,;<\\s\\p{{Z}}]*')"
    several = (
        f"CASE WHEN strlen({text}) - strlen(replace({text}, '@', '')) > 1 "
        f"OR (contains({text}, '<') AND contains({text}, '@')) THEN {first} ELSE {text} END"
    )
    key = f"regexp_replace(trim({several}, '<>'), '^mailto:', '')"
    # a cell of one @ without <, > or : is its own key
    return f"CASE WHEN regexp_matches({text}, '[<>:]|@[^@]*@') THEN {key} ELSE {text} END"


def _addresses_may_repeat(raw: Any) -> bool:
    """Whether two customers can hold one e-mail address: false where no customers export gives
    an e-mail, every order's e-mail is its customer id as written (a shop keyed by e-mail
    address) and no id needs the key's rules (:func:`email_text_sql`, :func:`email_key_sql`:
    case, spaces, invisible or non-ASCII characters, display names, several addresses), so that
    every address is its customer's id, which no other customer has.  One scan of the orders'
    two text columns, where the grouping it spares reads every customer's latest contact."""
    return bool(
        raw.execute(
            r"""SELECT EXISTS (SELECT 1 FROM customers WHERE nullif(trim(email), '') IS NOT NULL)
            OR EXISTS (SELECT 1 FROM orders WHERE customer_id IS NOT NULL AND (
                (nullif(trim(email), '') IS NOT NULL AND email <> customer_id)
                OR customer_id <> lower(customer_id)
                OR regexp_matches(customer_id, '[^!-~]|[<>:,;]|@.*@')))"""
        ).fetchall()[0][0]
    )


def shared_addresses_frame(raw: Any) -> pd.DataFrame:
    """``customer_id``, ``address`` and ``accepts_marketing`` of the customers whose e-mail
    address another customer holds too (a shop keyed by customer number, a customer who
    registered twice), with the consent known today (:func:`contacts_frame`'s rows).

    The address is the one the audience files key a customer by: the contact e-mail, else the
    customer id when it is an e-mail address, as :func:`email_key_sql` writes it.  Consent belongs to the
    address, so these are the only customers whose consent another record can withdraw; a shop
    whose customers each have their own address has none (one aggregation, no rows), and where
    no record declines marketing there is nothing to withdraw: no rows, without the aggregation
    (which reads every order's e-mail: 0.3 s at 1M customers), nor where every address is its
    customer's id (:func:`_addresses_may_repeat`)."""
    declines = raw.execute(
        "SELECT EXISTS (SELECT 1 FROM orders WHERE accepts_marketing = false) "
        "OR EXISTS (SELECT 1 FROM customers WHERE accepts_marketing = false)"
    ).fetchall()[0][0]
    if not declines or not _addresses_may_repeat(raw):
        return pd.DataFrame(
            {"customer_id": pd.Series(dtype=object), "address": pd.Series(dtype=object),
             "accepts_marketing": pd.Series(dtype="boolean")}
        )  # fmt: skip
    cell = f"""coalesce(nullif(trim(email), ''),
        CASE WHEN regexp_full_match(trim(customer_id), '{EMAIL_PATTERN}') THEN trim(customer_id) END)"""
    return (
        raw.sql(
            f"""WITH contacts AS ({_contacts_query(raw)}),
            cells AS (
                SELECT customer_id, accepts_marketing, {email_text_sql(cell)} AS text
                FROM contacts),
            keyed AS (
                SELECT customer_id, accepts_marketing, {email_key_sql("text")} AS address
                FROM cells)
            SELECT customer_id, address, accepts_marketing FROM keyed
            WHERE address IN (
                SELECT address FROM keyed WHERE address <> ''
                GROUP BY address HAVING count(DISTINCT customer_id) > 1)
            ORDER BY address, customer_id"""
        )
        .to_arrow_table()
        .to_pandas()
    )


def holds_contacts(raw: Any) -> bool:
    """Whether any customer has an e-mail address or a phone number the audience files can
    use (:func:`contacts_frame`'s, or a customer id that is one): an orders table of customer
    numbers, dates and amounts has none, and every audience file of it holds a header only.
    Meta's and Google's files match a name and address too, but no such workspace holds one:
    the exports that give names and addresses (a platform's orders or customers export) name
    their customers by an e-mail or a phone, and an orders table maps neither a name nor an
    address.  An orders table's phone column gives its customers their orders' phones
    (``order_contacts``), whatever names them.  Each test stops at the first row that has one."""
    phoned = ""
    if "order_contacts" in connection_table_names(raw):  # a workspace made before it, read-only
        phoned = (
            "OR EXISTS (SELECT 1 FROM order_contacts WHERE nullif(trim(phone), '') IS NOT NULL)"
        )
    return bool(
        raw.execute(
            f"""SELECT EXISTS (SELECT 1 FROM orders WHERE nullif(trim(email), '') IS NOT NULL)
            OR EXISTS (SELECT 1 FROM customers WHERE nullif(trim(email), '') IS NOT NULL
                OR nullif(trim(phone), '') IS NOT NULL)
            OR EXISTS (SELECT 1 FROM orders WHERE starts_with(customer_id, '{PHONE_ID_PREFIX}+')
                OR regexp_full_match(trim(customer_id), '{EMAIL_PATTERN}'))
            {phoned}"""
        ).fetchall()[0][0]
    )


def prospects_frame(raw: Any) -> pd.DataFrame:
    """``customer_id`` and ``accepts_marketing`` of the customers a customers export names who
    have no order in the workspace (Shopify's Prospects: subscribers who never bought).

    A customer known by a phone alone whose phone an ordering customer's orders carry
    (``phone_links``) has bought, under that customer: no prospect.  Nor has one whose e-mail
    address (the record's, else its id) an order carries, whatever its case: orders keyed by a
    customer number with an e-mail column are that address's purchases."""
    linked = ""
    if "phone_links" in connection_table_names(raw):  # a workspace made before it, read-only
        linked = (
            " AND NOT EXISTS (SELECT 1 FROM phone_links l JOIN orders o "
            "ON o.customer_id = l.customer_id WHERE l.phone_id = c.customer_id)"
        )
    # the few records without orders under their id first: the addresses' check then reads
    # the orders' e-mails against those alone
    address = "lower(trim(coalesce(nullif(trim(c.email), ''), c.customer_id)))"
    return (
        raw.sql(
            f"""WITH candidates AS (
                SELECT c.customer_id, any_value(c.accepts_marketing) AS accepts_marketing,
                    any_value({address}) AS address
                FROM customers c
                WHERE c.customer_id IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id)
                    {linked}
                GROUP BY c.customer_id)
            SELECT customer_id, accepts_marketing FROM candidates c
            WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE lower(trim(o.email)) = c.address)
            ORDER BY customer_id"""
        )
        .to_arrow_table()
        .to_pandas()
    )


class _TableReaders:
    """The table accessors a :class:`Workspace` and its :class:`ReadView` share, over the
    subclass's ``con`` (an Ibis DuckDB backend) and ``raw`` (its DuckDB connection)."""

    con: Any
    raw: Any

    def orders(self) -> ir.Table:
        """The canonical orders table as an Ibis expression."""
        return _canonical_orders(self.con)

    def order_lines(self) -> ir.Table:
        return self.con.table("order_lines")

    def customers(self) -> ir.Table:
        return self.con.table("customers")

    def contacts(self) -> pd.DataFrame:
        """The customers' contact fields (:func:`contacts_frame`)."""
        return contacts_frame(self.raw)

    def prospects(self) -> pd.DataFrame:
        """The customers without orders (:func:`prospects_frame`)."""
        return prospects_frame(self.raw)

    def shared_addresses(self) -> pd.DataFrame:
        """The customers who share their e-mail address (:func:`shared_addresses_frame`)."""
        return shared_addresses_frame(self.raw)

    def holds_contacts(self) -> bool:
        """Whether any customer has an e-mail or a phone (:func:`holds_contacts`)."""
        return holds_contacts(self.raw)

    def customers_without_email(self, snapshot_id: int) -> int:
        """A snapshot's customers without an e-mail (:func:`customers_without_email`)."""
        return customers_without_email(self.raw, snapshot_id)


def customers_without_email(raw: Any, snapshot_id: int) -> int:
    """How many of a snapshot's customers have no e-mail address the audience files can use
    (their customer id is none, and neither the customers export nor an order gives one): the
    Klaviyo and Mailchimp files leave them out, and Meta's and Google's keep only those a phone
    or an address matches."""
    return int(
        raw.execute(
            f"""SELECT count(*) FROM snapshot_customers AS s
            WHERE s.snapshot_id = ? AND NOT coalesce(
                regexp_full_match(trim(s.customer_id), '{EMAIL_PATTERN}'), false)
            AND NOT EXISTS (SELECT 1 FROM customers AS c WHERE c.customer_id = s.customer_id
                AND contains(c.email, '@'))
            AND NOT EXISTS (SELECT 1 FROM orders AS o WHERE o.customer_id = s.customer_id
                AND contains(o.email, '@'))""",
            [int(snapshot_id)],
        ).fetchall()[0][0]
    )


class ReadView(_TableReaders):
    """A read-only stand-in for a :class:`Workspace` on one cursor (:meth:`Workspace.read_view`).

    Holds what the readers of :mod:`valuecast.store.snapshots` and the engine use: ``path``, ``con``
    (an Ibis DuckDB backend whose ``.con`` is the cursor) and the table accessors.  A cursor is a
    connection of its own on the same database, so one view serves one thread at a time.
    """

    def __init__(self, path: Path, cursor: Any) -> None:
        self.path = path
        self.raw = cursor
        self._con: Any = None

    @property
    def con(self) -> Any:
        """The Ibis backend on the cursor, made on first use: loading Ibis' DuckDB backend takes
        ~0.5 s, and what reads stored rows (the dashboard's start-up) needs only ``raw``."""
        if self._con is None:
            import ibis

            self._con = ibis.duckdb.from_connection(self.raw)
        return self._con

    def rows(self, query: str, params: list | None = None) -> list[tuple]:
        """``query`` (SQL text written by valuecast, never user input) with ``params`` bound."""
        result = self.raw.execute(query, params) if params else self.raw.execute(query)
        return result.fetchall()

    def frame(self, query: str, params: list | None = None) -> pd.DataFrame:
        return self.raw.sql(query, params=params).to_arrow_table().to_pandas()

    def close(self) -> None:
        self.raw.close()


class Workspace(_TableReaders):
    """A valuecast workspace: a DuckDB database file with the canonical tables.

    Open it with ``Workspace(path)`` (created with its tables on first use) or read-only with
    ``Workspace(path, read_only=True)``; use as a context manager to close it.  ``con`` is an
    Ibis backend on the workspace, made on first use: writing the tables (``raw``) needs no Ibis.
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_WORKSPACE,
        *,
        read_only: bool = False,
        memory_limit: str | None = None,
    ) -> None:
        self.path = Path(path)
        self._connection = open_duckdb(self.path, read_only=read_only, memory_limit=memory_limit)
        self._memory_limit = resolved_memory_limit(self.path, memory_limit)
        # the default limit's bytes, raised with the orders (None: a limit given is kept)
        self._memory_limit_by_orders = (
            DEFAULT_WORKSPACE_MEMORY_BYTES
            if uses_default_memory_limit(self.path, memory_limit)
            else None
        )
        self.read_only = read_only
        self._in_transaction = False
        if not read_only:
            # a DuckDB database of something else is not made into a workspace
            present = connection_table_names(self.raw)
            if present and "ingests" not in present:
                self.close()
                listed = ", ".join(sorted(present)[:4]) + (", ..." if len(present) > 4 else "")
                raise InputError(
                    str(self.path),
                    f"a DuckDB database of something else (tables {listed}), not a valuecast "
                    "workspace: give --workspace a new file",
                )
            self._create_tables()
        else:
            present = connection_table_names(self.raw)
            missing = [name for name in (*TABLES, "ingests") if name not in present]
            if missing:
                self.close()
                raise InputError(
                    str(self.path), f"not a valuecast workspace (no {missing[0]} table)"
                )
        self.fit_memory_to_orders(0)

    def fit_memory_to_orders(self, orders: int) -> None:
        """Raise DuckDB's default memory limit to what the stored orders, or ``orders`` about to
        be stored when they are more, call for
        (:func:`~valuecast.store.connection.workspace_memory_bytes`).

        A limit given, or set by ``VALUECAST_MEMORY_LIMIT``, is kept, and the limit never goes
        down.  Between two statements, also inside a transaction."""
        if self._memory_limit_by_orders is None:
            return
        stored = sql(self.raw, "SELECT count(*) FROM orders")[0][0]
        wanted = workspace_memory_bytes(max(int(stored), orders))
        if wanted > self._memory_limit_by_orders:
            self._set_limit_by_orders(wanted, f"{wanted // 2**20}MiB")

    def lower_memory_to_default(self) -> None:
        """Set a default limit the orders raised (:meth:`fit_memory_to_orders`) back to the
        default's 1 GB, for work that reads what the analysis stored a batch at a time.

        DuckDB keeps the pages it reads up to its limit: after a 10M-customer analysis under
        3 GB they made the output stage the process' peak (3,656 MiB, against 3,553 MiB with the
        default limit, the analysis' own peak).  A limit given, or never raised, is kept."""
        if self._memory_limit_by_orders in (None, DEFAULT_WORKSPACE_MEMORY_BYTES):
            return
        self._set_limit_by_orders(DEFAULT_WORKSPACE_MEMORY_BYTES, DEFAULT_WORKSPACE_MEMORY_LIMIT)

    def _set_limit_by_orders(self, limit: int, setting: str) -> None:
        """The default limit set to ``limit`` bytes, given to DuckDB as ``setting``."""
        self._memory_limit_by_orders = limit
        self._memory_limit = setting
        self.raw.execute(f"SET memory_limit = '{setting}'")

    @functools.cached_property
    def con(self) -> BaseBackend:
        """The Ibis backend on this workspace's connection."""
        return duckdb_backend(self._connection)

    @property
    def raw(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection (the Ibis backend's, once there is one)."""
        backend = self.__dict__.get("con")
        return self._connection if backend is None else backend.con

    def release_cached_pages(self) -> None:
        """Let DuckDB give back the workspace file's pages it keeps cached.

        DuckDB keeps every page it read or wrote, up to its memory limit, for a later query:
        after a 1M-customer analysis that is ~0.6 GB the steps that follow (charts, files)
        never read again.  Lowering the limit to what DuckDB holds besides those pages makes it
        drop them (they are on disk: nothing is written), and the limit is then set back.

        Also inside a transaction, whose uncommitted rows' full pages are on disk too: between
        two statements no page is in use, and the lowered limit leaves room for all DuckDB
        holds but the cached pages, so only they are evicted and the statement does not fail
        (a failed one would abort the transaction).
        """
        raw = self.raw
        # the limit the workspace was opened with: DuckDB shows it rounded to 0.1 MiB
        limit = (
            self._memory_limit
            or raw.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        )
        held = raw.execute(
            "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() "
            "WHERE tag <> 'BASE_TABLE'"
        ).fetchone()[0]
        floor = int(held) + _CACHE_SLACK_BYTES
        raw.execute(f"SET memory_limit = '{floor // 1024 // 1024}MiB'")
        raw.execute(f"SET memory_limit = '{limit}'")

    def release_freed_memory(self) -> None:
        """Give back to the system the memory DuckDB's queries have freed and its allocator keeps.

        DuckDB's allocator keeps what its operators free (sorts, hash tables, parsed rows) for
        their next allocations: ~0.27 GB after the 1M-customer customers rows are sorted and
        stored, which the Python steps that follow (the totals, the charts) cannot use.  Setting
        the memory limit, to the value it has, flushes the allocator (~40 ms).  The limit does
        not change, so nothing is evicted and the statement cannot fail inside a transaction,
        where a failed one would abort it; a workspace in memory, opened without a limit
        (DuckDB shows its default rounded), is left as it is.
        """
        if self._memory_limit is not None:
            self.raw.execute(f"SET memory_limit = '{self._memory_limit}'")

    def held_rows(self, table: ir.Table) -> tuple[ir.Table, Callable[[], None]]:
        """``table`` (an expression on this workspace) computed once, its rows held by the
        process as Arrow and read by the workspace's connection as a table, and what lets them
        go (once, however often it is called).

        For rows several steps read and none needs after them, inside the workspace's
        transaction: DuckDB keeps what a dropped temporary table or an unregistered Arrow table
        holds until the transaction ends (for a rollback), 150 MB for the order history of 3.1M
        orders, held through the analysis' peak.  The connection reads these rows through a
        :class:`_HeldRows`, which lets them go when released.
        """
        rows = _HeldRows(table.to_pyarrow())
        name = f"valuecast_held_{uuid.uuid4().hex[:12]}"
        self.raw.register(name, rows)

        def release() -> None:
            if rows.table is not None:
                self.raw.unregister(name)
                rows.table = None

        return self.con.table(name), release

    # -- tables ---------------------------------------------------------------------------------
    def _create_tables(self) -> None:
        raw = self.raw
        zstd = _zstd_text(raw)
        for name, schema in TABLES.items():
            columns = _column_definitions(name, schema, zstd)
            sql(raw, f"CREATE TABLE IF NOT EXISTS {name} ({columns}, ingest_id BIGINT)")
        sql(
            raw,
            "CREATE TABLE IF NOT EXISTS ingests (ingest_id BIGINT, ingested_at TIMESTAMP, "
            "files VARCHAR, report VARCHAR)",
        )
        # what identified each ingest's inputs (valuecast.io.inputs), where they had an identity
        sql(raw, "CREATE TABLE IF NOT EXISTS ingest_inputs (ingest_id BIGINT, inputs VARCHAR)")
        # the orders an ingest removed as a newer export excluded them (_withdraw), so that an
        # export counting them again says so
        sql(
            raw,
            "CREATE TABLE IF NOT EXISTS withdrawn_orders (order_id VARCHAR, reason VARCHAR, "
            "ingest_id BIGINT)",
        )
        # the refunds a later export booked under a stored order's number (store.later_refunds)
        sql(raw, later_refunds.TABLE_DDL)
        # the customer a stored order named before an ingest gave it another on the same day
        # (a re-export naming a customer by a new e-mail in every order), so that comparing
        # snapshots counts them as one customer (store.snapshots.renamed_customers)
        sql(
            raw,
            "CREATE TABLE IF NOT EXISTS moved_orders (order_id VARCHAR, customer_id VARCHAR, "
            "ingest_id BIGINT)",
        )
        # the phones orders carried beside their customer (valuecast.io._build.phone_links), so
        # that a customer known by a phone alone in one ingest is the same customer in another
        sql(
            raw,
            "CREATE TABLE IF NOT EXISTS phone_links (phone_id VARCHAR, customer_id VARCHAR, "
            "ingest_id BIGINT)",
        )
        # each customer's latest order's contact fields (valuecast.io._build.latest_contacts),
        # read through the orders they belong to (contacts_frame)
        sql(
            raw,
            "CREATE TABLE IF NOT EXISTS order_contacts "
            f"({_column_definitions('order_contacts', ORDER_CONTACTS_SCHEMA, zstd)}, "
            "ingest_id BIGINT)",
        )
        # phones orders carried beside their customer as written, which DuckDB's route leaves
        # unnormalised: normalised (into phone_links) when a customer known by phone may share one
        sql(
            raw,
            "CREATE TABLE IF NOT EXISTS phone_cells (customer_id VARCHAR, phone VARCHAR, "
            "country VARCHAR, tail VARCHAR, ingest_id BIGINT)",
        )

    def ingests(self) -> pd.DataFrame:
        """The ingest log: one row per ingest with its files and JSON report."""
        return self.con.table("ingests").order_by("ingest_id").to_pandas()

    def saved_marks(self) -> tuple[int, int]:
        """The last committed ingest's and snapshot's ids (0 where there is none): read before
        and after a command that fails, they tell what it saved before it failed."""
        raw = self.raw.cursor()  # the committed state, whatever a failed statement left open
        try:
            names = connection_table_names(raw)
            return tuple(
                int(sql(raw, f"SELECT coalesce(max({key}), 0) FROM {table}")[0][0])
                if table in names
                else 0
                for table, key in (("ingests", "ingest_id"), ("snapshots", "snapshot_id"))
            )
        finally:
            raw.close()

    def latest_ingest_inputs(self) -> tuple[int, str | None] | None:
        """The last ingest's id and the identity of its inputs
        (:func:`valuecast.io.inputs.inputs_fingerprint`; None where they had none, or were
        ingested by a version that did not record it); None before any ingest."""
        raw = self.raw
        (latest,) = sql(raw, "SELECT max(ingest_id) FROM ingests")[0]
        if latest is None:
            return None
        if "ingest_inputs" not in connection_table_names(raw):  # a read-only older workspace
            return int(latest), None
        found = sql(raw, "SELECT inputs FROM ingest_inputs WHERE ingest_id = ?", [latest])
        return int(latest), (found[0][0] if found else None)

    def stored_fingerprint(self, *, committed: bool = False) -> tuple:
        """What an analysis reads of the workspace (its orders, order lines and customers
        export, each row as stored with the ingest that wrote it) as row counts and an XOR of
        the rows' hashes: equal before and after an ingest, that ingest changed nothing an
        analysis reads.

        ``committed``: as last committed, read on a cursor of its own, which the open
        :meth:`transaction`'s writes are not visible to: inside the transaction of an ingest,
        the workspace before it."""
        raw = self.raw.cursor() if committed else self.raw
        try:
            return tuple(
                sql(raw, f"SELECT count(*), bit_xor(hash(t)) FROM {table} t")[0]
                for table in ("orders", "order_lines", "customers")
            )
        finally:
            if committed:
                raw.close()

    def orders_read_by_other_builds(self) -> tuple[int, int]:
        """``(orders, ingests)``: the stored orders as another build of valuecast read them (an
        older version, whose rules of refunds, contacts or attributes may differ from this
        one's), and the ingests that wrote them; ``(0, 0)`` where this build read every stored
        order.

        An ingest of this build whose files held every stored order (as many orders as the
        workspace then stored) read them all again: orders it found unchanged stand as this
        build reads them, so only the ingests of other builds after it count.
        """
        here = source_fingerprint()
        # on the connection of a refresh's transaction, which sees its own ingest
        rows = sql(self.raw, "SELECT ingest_id, report FROM ingests ORDER BY ingest_id")
        reports = [(int(ingest_id), json.loads(report)) for ingest_id, report in rows]
        if all(report.get("made_by") == here for _, report in reports):
            return 0, 0
        read_all = [
            ingest_id for ingest_id, report in reports
            if report.get("made_by") == here
            and int(report.get("orders") or 0) >= int(report.get("workspace_orders") or 0)
        ]  # fmt: skip
        since = max(read_all, default=0)
        others = [ingest_id for ingest_id, report in reports
                  if ingest_id > since and report.get("made_by") != here]  # fmt: skip
        if not others:
            return 0, 0
        listed = ", ".join(str(ingest_id) for ingest_id in others)
        (count,) = sql(self.raw, f"SELECT count(*) FROM orders WHERE ingest_id IN ({listed})")[0]
        return int(count), len(others)

    def latest_ingest_report(self) -> dict[str, Any] | None:
        """The report of the last ingest (as :meth:`IngestReport.to_dict`), None before any."""
        ingests = self.ingests()
        return json.loads(ingests["report"].iloc[-1]) if len(ingests) else None

    def close(self) -> None:
        if "con" in self.__dict__:
            self.con.disconnect()
        else:
            self._connection.close()

    def read_view(self) -> ReadView:
        """A :class:`ReadView` on a new cursor of this workspace: it sees the last committed state."""
        return ReadView(self.path, self.raw.cursor())

    @property
    def in_transaction(self) -> bool:
        """Whether a :meth:`transaction` is open: what is written now is committed with it."""
        return self._in_transaction

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside is committed together, or rolled back on any error (or a kill).

        Re-entrant: inside an open transaction it adds to that one, so ``refresh`` can hold the
        ingest, the analysis reading it and the snapshot in one commit.
        """
        if self._in_transaction:
            yield
            return
        raw = self.raw
        raw.begin()
        self._in_transaction = True
        try:
            yield
            raw.commit()
        except BaseException:
            _roll_back(raw)
            raise
        finally:
            self._in_transaction = False

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- ingest ---------------------------------------------------------------------------------
    def ingest(
        self, results: Sequence[ImportResult | PendingOrders], inputs: str | None = None
    ) -> IngestReport:
        """Write the imported files into the workspace in one transaction and report on them.

        ``inputs``: the identity of the files and options the results were read from
        (:func:`valuecast.io.inputs.inputs_fingerprint`), stored with the ingest: a later command
        given the same inputs finds them held (:meth:`latest_ingest_inputs`).

        A file still pending (:class:`~valuecast.io.orders_duckdb.PendingOrders`) is loaded by
        DuckDB (on a second connection to the workspace's database), or read by its importer first.

        Raises :class:`InputError` (and writes nothing) when the workspace would then hold counted
        orders in more than one currency.
        """
        if self.read_only:
            raise InputError(str(self.path), "workspace opened read-only")
        if not all(isinstance(result, PendingOrders) for result in results):
            release_unused_memory()  # what the importers freed, before staging allocates
        raw = self.raw
        # DuckDB loads pending files on a connection of their own: its temporary tables are
        # freed when it closes, while the same tables on this connection, inside the one
        # transaction of a refresh, would be held until it commits (~0.2 GB per 1M customers)
        loading = raw.cursor() if any(isinstance(r, PendingOrders) for r in results) else None
        try:
            loaded = _loaded(loading or raw, results)
            self.fit_memory_to_orders(sum(result.order_count for result in loaded))
            self.release_freed_memory()  # the load's reads, rankings and checks
            report = self._ingest(raw, loaded, loading, identity=inputs)
            # what the ingest read and built (stored orders' pages, the comparison's hash
            # tables) is not what the analysis that follows reads
            self.release_freed_memory()
            self.release_cached_pages()
            return report
        finally:
            if loading is not None:
                loading.close()

    def _ingest(
        self, raw: Any, results: list[ImportResult], loading: Any, *, identity: str | None
    ) -> IngestReport:
        """:meth:`ingest` of the read (or loaded) ``results``; ``loading``: the connection that
        staged the loaded ones, if any; ``identity``: :meth:`ingest`'s ``inputs``."""
        inputs = _inputs(raw, results, loading)
        # rows are stored in any order (readers sort what they show): this lets DuckDB write
        # and compress row groups in parallel, once, instead of re-writing them at the checkpoint
        sql(raw, "SET preserve_insertion_order = false")
        try:
            with self.transaction():
                ingest_id = sql(raw, "SELECT coalesce(max(ingest_id), 0) + 1 FROM ingests")[0][0]
                conflicts, conflict_note = 0, ""
                excluded_later: dict[str, int] = {}
                excluded = _excluded_details(results)
                refunds = later_refunds.refund_rows(excluded)
                counted_later: set[str] = set()
                if inputs["files"] > 1 and inputs["orders"] is not None:
                    files = [str(result.file) for result in results]
                    conflicts, conflict_note = _conflicting_versions(raw, inputs["orders"], files)
                    excluded_later, counted_later = _excluded_by_a_later_file(
                        raw, inputs["orders"], excluded, refunds
                    )
                direct = _direct(raw)
                # before anything reads the stored customers: named as the files name them now
                visible = None if direct["orders"] else read_visible_ids_again(raw)
                whole = None if direct["orders"] else read_whole_number_ids_again(raw)
                whole_orders = None if direct["orders"] else read_whole_number_order_ids_again(raw)
                latest_before = None if direct["orders"] else _latest_order_date(raw)
                # first, so that the files' contacts are not held through the orders' stage
                _store_order_contacts(raw, results, ingest_id)
                _stage(raw, inputs, ingest_id, direct)
                inputs = None  # DuckDB holds no reference to them: the memory can go now
                if loading is not None:  # and the load's temporary tables, copied now
                    loading.close()
                renamed = []
                if not direct["orders"]:  # stored orders the files name otherwise, or not at all
                    renamed = _renamed_currencies(raw)
                    _keep_stored_currencies(raw)
                # the phones kept as written first: the joins of national numbers read them
                store_phone_cells(raw, results, ingest_id)
                stored_national = (
                    None if direct["orders"] else join_stored_national_phones(raw, results)
                )
                national = join_national_phones(raw, direct, results)
                *linked_by_phone, renumbered = link_phones(raw, results, ingest_id, direct)
                linked_by_email = link_emails(raw, direct, len(results))
                counts = _merge(raw, ingest_id, direct)
                later_refunds.forget_replaced(raw, direct["orders"])
                netted = later_refunds.net_refunds(
                    raw, refunds, ingest_id, counted_later, direct["orders"]
                )
                # an order of these files a later one refunded in full is not stored after all
                counts["new_orders"] -= len(netted.in_full) - netted.in_full_stored
                if netted.ids:  # refunds of stored orders: no excluded orders of their own
                    excluded = _without_orders(excluded, netted.ids)
                _drop_superseded_contacts(raw, ingest_id)
                counted_again = _counted_again(raw)
                withdrawn = {} if direct["orders"] else _withdraw(raw, excluded, ingest_id)
                currencies = sql(
                    raw,
                    "SELECT currency, count(*) FROM orders WHERE currency IS NOT NULL "
                    "GROUP BY currency ORDER BY count(*) DESC, currency",
                )
                _check_written_symbols(raw, results, [code for code, _ in currencies])
                if len(currencies) > 1:
                    listed = ", ".join(
                        f"{code} ({count:,} {'order' if count == 1 else 'orders'})"
                        for code, count in currencies
                    )
                    stored = sql(
                        raw,
                        "SELECT DISTINCT currency FROM orders WHERE ingest_id <> ? AND "
                        "currency IS NOT NULL ORDER BY currency",
                        [ingest_id],
                    )
                    advice = "give --fx RATES.csv to convert them to one base currency"
                    if len(stored) == 1:  # --fx converts only the files it comes with
                        advice = (
                            f"the stored orders are in {stored[0][0]}: give --fx RATES.csv with "
                            f"{stored[0][0]} as its base (rate 1) to convert these files to it"
                        )
                    raise InputError(
                        str(self.path),
                        f"orders in more than one currency after this ingest: {listed}; {advice}",
                    )
                workspace_orders = sql(raw, "SELECT count(*) FROM orders")[0][0]
                staged = _staged_totals(raw)
                if counts["first"]:  # the workspace holds exactly the staged orders
                    workspace_customers = staged["all_customers"]
                else:
                    workspace_customers = _customer_count(raw, "orders")
                report = _build_report(
                    self.path, ingest_id, results, staged, counts, workspace_orders,
                    workspace_customers,
                )  # fmt: skip
                if netted.ids:
                    _count_netted_refunds(report, results, netted)
                if len(results) > 1:  # an order two files exclude is one excluded order
                    distinct = _distinct_exclusions(raw, excluded)
                    if distinct is not None:
                        report.excluded_orders, report.excluded_revenue = distinct
                if len(netted.in_full) > netted.in_full_stored:
                    _count_refunded_in_full(report, netted)
                if visible is not None:
                    report.notes.append(visible_ids_note(visible))
                if whole is not None:
                    report.notes.append(whole_number_ids_note(whole))
                if whole_orders is not None:
                    report.notes.append(whole_number_order_ids_note(whole_orders))
                if conflicts:
                    report.conflicting_orders = conflicts
                    report.notes.append(conflict_note)
                if excluded_later:
                    report.notes.append(_excluded_later_note(excluded_later))
                if withdrawn:
                    report.withdrawn_orders = withdrawn
                    report.notes.append(_withdrawn_note(withdrawn))
                if netted.in_full_stored:
                    report.withdrawn_orders[REFUNDED] = (
                        report.withdrawn_orders.get(REFUNDED, 0) + netted.in_full_stored
                    )
                if (refunds_note := netted.note()) is not None:
                    report.notes.append(refunds_note)
                if counted_again:
                    report.notes.append(_counted_again_note(counted_again))
                for kind in ("replaced", "moved"):
                    if counts[kind][0]:
                        report.notes.append(counts[kind][1])
                if stored_national is not None:
                    report.notes.append(stored_national_phones_note(stored_national))
                if national.moved:
                    report.notes.append(national_phones_joined_note(national))
                if national.joined:
                    _recount_national_phones(report, results, national.joined)
                if any(linked_by_phone):
                    report.notes.append(linked_by_phone_note(*linked_by_phone))
                if renumbered[0]:
                    report.notes.append(renumbered_phone_orders_note(*renumbered))
                if any(linked_by_email):
                    report.notes.append(linked_by_email_note(*linked_by_email))
                if not direct["orders"]:
                    report.notes.extend(
                        _notes_on_stored_orders(
                            raw, report, latest_before, ingest_id, refunds=bool(netted.netted)
                        )
                    )
                copies = _twins_across_formats(raw, report, ingest_id, every_new=direct["orders"])
                if copies:
                    report.notes.append(_copies_note(copies))
                report.notes.extend(_renamed_note(*renaming) for renaming in renamed)
                if identity is not None:
                    sql(raw, "INSERT INTO ingest_inputs VALUES (?, ?)", [ingest_id, identity])
                sql(
                    raw,
                    "INSERT INTO ingests VALUES (?, ?, ?, ?)",
                    [
                        ingest_id,
                        datetime.now(UTC).replace(tzinfo=None),
                        json.dumps([result.file for result in results]),
                        report.to_json(indent=None),
                    ],
                )
                _drop_staged(raw)
        finally:
            sql(raw, "RESET preserve_insertion_order")
            _drop_staged(raw)
        return report


def ingest_holding(path: Path, inputs: str) -> int | None:
    """The id of the last ingest of the workspace at ``path`` when it was of ``inputs``
    (:meth:`Workspace.latest_ingest_inputs`), else None: also when ``path`` cannot be opened to
    read (no workspace, or one another process is writing)."""
    try:
        with Workspace(path, read_only=True) as workspace:
            latest = workspace.latest_ingest_inputs()
    except (InputError, EngineError, duckdb.Error, OSError):
        return None
    return latest[0] if latest is not None and latest[1] == inputs else None


def _roll_back(raw: Any) -> None:
    """Roll back the open transaction, if the engine still has one.

    A COMMIT that fails (a full disk, an I/O error) ends the transaction itself, and the rollback
    is then refused ("no transaction is active"): that refusal must not replace the error that
    names the cause, which the caller re-raises (an open transaction not rolled back here ends
    with the connection, uncommitted).
    """
    with suppress(duckdb.Error):
        raw.rollback()


# ------------------------------------------------------------------------------------------------
# staging: the files of one ingest, last file wins for a repeated key (in DuckDB, from Arrow)
# ------------------------------------------------------------------------------------------------
_STAGED = (
    "_stage_orders", "_stage_order_lines", "_stage_customers", "_new_orders", "_changed_orders",
    "_new_customers", "_changed_customers", "_line_orders", "_lines_changed", "_compared_orders",
    "_compared_customers", "_excluded_later",
)  # fmt: skip


# The columns a staged row meets its stored version on (_upsert) where they are not the key
# itself: an order's id is computed from its source and number (COMPUTED), so matching on them
# reads what is stored instead of building every stored order's id
_MATCHED_ON = {"orders": ("source", "order_number")}
# The stored rows a part of that comparison holds (~0.35 GB of its join at ~240 bytes a row, a
# third of the default 1 GB limit), and its most parts: each reads both tables again, and
# beyond them DuckDB spills what a part does not hold
_COMPARED_ROWS_PER_PART = 1_500_000
_COMPARED_PARTS_MAX = 4

_BATCH_ROWS = 122_880  # DuckDB's row group size
# rows per Arrow batch streamed between two connections: the batches in flight at once cost
# ~0.1 GB more per 3M orders at a row group each, and at this size no more CPU
_STREAMED_ROWS = 32_768
# what Workspace.release_cached_pages leaves DuckDB above the memory it holds besides its cache
_CACHE_SLACK_BYTES = 16 * 1024 * 1024
# what files of one ingest must agree on for an order they share (see the module docstring)
_ORDER_FACTS = (
    "customer_id", "order_date", "gross_revenue", "discount", "tax", "shipping", "refunded",
    "net_revenue", "currency",
)  # fmt: skip


def _drop_staged(raw: Any) -> None:
    """Drop the tables and views an ingest made on ``raw`` (they may be either; a stage table
    is in the workspace file, and dropped before the commit it leaves only free blocks the file
    reuses); what a load staged goes with the connection that loaded it."""
    views = {row[0] for row in sql(raw, "SELECT view_name FROM duckdb_views() WHERE temporary")}
    tables = {
        row[0]
        for row in sql(
            raw,
            "SELECT table_name FROM duckdb_tables() WHERE temporary OR (database_name = "
            "current_database() AND schema_name = 'main' AND starts_with(table_name, '_stage_'))",
        )
    }
    for name in _STAGED:
        if name in views:
            sql(raw, f"DROP VIEW {name}")
        elif name in tables:
            sql(raw, f"DROP TABLE {name}")


def _arrow(frame: pd.DataFrame, schema: dict[str, str], position: int) -> pa.Table:
    """A result's frame as Arrow (zero-copy for text and numbers), with its file position."""
    conformed = conform(frame, schema)
    table = pa.Table.from_pandas(conformed, preserve_index=False)
    table = table.replace_schema_metadata(None)
    table = table.append_column("_file", pa.array(np.full(table.num_rows, position, np.int64)))
    # DuckDB scans an Arrow table one record batch per thread: slice it (no copy) into batches
    # of a row group each, or a column read as one big chunk would be scanned by one thread
    return pa.Table.from_batches(table.to_batches(max_chunksize=_BATCH_ROWS), table.schema)


def _loaded(raw: Any, results: Sequence[ImportResult | PendingOrders]) -> list[ImportResult]:
    """The results with every pending file loaded on ``raw`` (or read by its importer)."""
    return [
        (result.load(raw) or result.read()) if isinstance(result, PendingOrders) else result
        for result in results
    ]


def _inputs(raw: Any, results: Sequence[ImportResult], loading: Any) -> dict[str, Any]:
    """Every file's orders, lines and customers as one DuckDB relation each (``_file`` = the
    file's position): frames through Arrow, staged rows from their temporary views on
    ``loading`` (the connection that staged them), streamed to ``raw`` through Arrow."""
    inputs: dict[str, Any] = {}
    for name, attribute, schema in (
        ("orders", "orders", ORDERS_SCHEMA),
        ("order_lines", "order_lines", ORDER_LINES_SCHEMA),
        ("customers", "customers", CUSTOMERS_SCHEMA),
    ):
        tables = [
            _arrow(getattr(result, attribute), schema, position)
            for position, result in enumerate(results)
            if len(getattr(result, attribute))
        ]
        relations = (
            [raw.from_arrow(pa.concat_tables(tables, promote_options="permissive"))]
            if tables
            else []
        )
        for position, result in enumerate(results):
            staged = getattr(result.staged, attribute, None)  # customers are never staged
            count = result.line_count if name == "order_lines" else result.order_count
            if staged is not None and count:
                query = f"SELECT *, {position}::BIGINT AS _file FROM {staged}"
                derived = result.staged.derived if name == "orders" else {}
                columns = ", ".join(f"{derived.get(c, c)} AS {c}" for c in schema) + ", _file"
                relations.append(_streamed(raw, loading, query, columns, len(results)))
        inputs[name] = functools.reduce(lambda a, b: a.union(b), relations) if relations else None
        # a staged view gives every order its id: only orders from frames may lack one
        if name == "orders":
            inputs["staged"] = not tables
    inputs["files"] = len(results)
    return inputs


def _streamed(raw: Any, loading: Any, query: str, columns: str, files: int) -> Any:
    """The rows of ``query`` on the connection ``loading`` as a relation of ``raw`` of the
    ``columns`` (SQL over the rows' columns): when the files of an ingest are compared
    (:func:`_conflicting_versions` reads them twice), from an Arrow table; else a
    :class:`_Stream` of Arrow batches, scanned once."""
    if files > 1:
        return raw.from_arrow(loading.sql(query).to_arrow_table(_BATCH_ROWS)).project(columns)
    return _Stream(raw, loading, query, columns)


@dataclass(frozen=True)
class _Stream:
    """A query's rows on one connection, to be read once by another as Arrow batches.

    Opened only when read (:meth:`open`): a connection streams one result at a time, so the
    orders' stream must be read before the lines' is opened."""

    raw: Any
    loading: Any
    query: str
    columns: str

    def open(self) -> Any:
        # the stage is stored in any order, and everything the load numbers in file order
        # (lines, repeats) is numbered in its tables already: unordered, the batches are made
        # on every thread instead of in turn (a sixth of the staging's time at 3.1M orders)
        self.loading.execute("SET preserve_insertion_order = false")
        batches = self.loading.sql(self.query).to_arrow_reader(_STREAMED_ROWS)
        return self.raw.from_arrow(batches).project(self.columns)


def _conflicting_versions(raw: Any, relation: Any, files: Sequence[str]) -> tuple[int, str]:
    """How many orders files of one ingest give different facts (_ORDER_FACTS), and a note.

    The note names the first such order (by id), the first differing fact, its value in an
    earlier file and in the last file holding the order (whose version is kept); where that
    fact is the customer, it says what to do for two shops or tills numbering their orders
    alike.  Orders files give alike (overlapping exports) are stored once, without a note.
    """
    facts = ", ".join(_ORDER_FACTS)
    count, order_id = relation.query(
        "_in",
        f"""WITH versions AS (SELECT DISTINCT order_id, {facts} FROM _in WHERE order_id IS NOT NULL),
        conflicted AS (SELECT order_id FROM versions GROUP BY order_id HAVING count(*) > 1)
        SELECT count(*), min(order_id) FROM conflicted""",
    ).fetchall()[0]
    if not count:
        return 0, ""
    shared = relation.filter(ColumnExpression("order_id") == ConstantExpression(order_id))
    versions = shared.query(
        "_in", f"SELECT _file, order_number, {facts} FROM _in ORDER BY _file"
    ).fetchall()
    kept = versions[-1]
    other = next(row for row in versions if row[2:] != kept[2:])
    index = next(i for i in range(2, len(kept)) if other[i] != kept[i])
    note = (
        f"{count:,} order(s) differ between the files of this ingest (customer, date, amounts or "
        f"currency); the last file's version is kept: e.g. order {kept[1]}, "
        f"{_ORDER_FACTS[index - 2]} {_shown(other[index])} in {files[other[0]]}, "
        f"{_shown(kept[index])} in {files[kept[0]]}"
    )
    if _ORDER_FACTS[index - 2] == "customer_id":  # one number, two orders: two shops or tills?
        note += (
            " (files of two shops or tills numbering their orders alike replace each other's "
            "orders: analyse each in a workspace of its own)"
        )
    return int(count), note


def _excluded_details(results: Sequence[ImportResult]) -> pd.DataFrame | None:
    """Every file's excluded orders (``order_id``, ``order_number``, ``reason``, ``rows``,
    ``gross_revenue`` and, where the file gives it, ``refunded``) in file order, ``_file`` the
    file's position; None when no file excludes any."""
    columns = ["order_id", "order_number", "reason", "rows", "gross_revenue", "refunded"]
    details = [
        result.excluded_detail[[name for name in columns if name in result.excluded_detail]].assign(
            _file=position
        )
        for position, result in enumerate(results)
        if result.excluded_detail is not None and len(result.excluded_detail)
    ]
    return pd.concat(details, ignore_index=True) if details else None


def _excluded_by_a_later_file(
    raw: Any, relation: Any, every: pd.DataFrame | None, refunds: pd.DataFrame | None
) -> tuple[dict[str, int], set[str]]:
    """Make ``_excluded_later``: the orders a file of this ingest counts and a later file of it
    excludes (cancelled, refunded in full since), which the stage leaves out, as a later ingest
    of that file would withdraw them; ``every``: :func:`_excluded_details`.  Returns their
    number per reason of the later file, and the orders of ``refunds``
    (:func:`later_refunds.refund_rows`, which are no exclusion of the order they refund) that a
    file after the refund's counts with refunds of its own: that version of the order stands (a
    sale refunding nothing gets the refund taken off, as a refund of a stored order)."""
    if every is None:
        sql(raw, "CREATE OR REPLACE TEMP TABLE _excluded_later (order_id VARCHAR, reason VARCHAR)")
        return {}, set()
    excluded = every[["order_id", "reason", "_file"]].dropna(subset=["order_id"])
    if refunds is not None:
        excluded = excluded[~excluded["order_id"].isin(refunds["order_id"])]
    excluded = excluded.astype({"order_id": "string", "reason": "string", "_file": "int64"})
    # with the refunds the last version of each order takes off itself
    counted = relation.query(
        "_in",
        "SELECT order_id, max(_file) AS _file, arg_max(coalesce(refunded, 0), _file) AS refunded "
        "FROM _in WHERE order_id IS NOT NULL GROUP BY 1",
    ).to_arrow_table()
    raw.register("_excluded_in", excluded)
    raw.register("_counted_in", counted)
    later: set[str] = set()
    try:
        sql(
            raw,
            "CREATE OR REPLACE TEMP TABLE _excluded_later AS SELECT e.order_id, "
            "arg_max(e.reason, e._file) AS reason FROM _excluded_in e "
            "JOIN _counted_in c ON e.order_id = c.order_id AND e._file > c._file "
            "GROUP BY e.order_id",
        )
        if refunds is not None:
            raw.register("_refunds_in", refunds[["order_id", "_file"]])
            try:
                # a later file's version booking refunds of its own (an export written after
                # the refund's) stands; a sale refunding nothing is one the refund's file came
                # after (files given newest first), netted as a later ingest's refund would be
                later = {
                    str(order_id)
                    for (order_id,) in sql(
                        raw,
                        "SELECT r.order_id FROM _refunds_in r JOIN _counted_in c "
                        "ON r.order_id = c.order_id AND c._file > r._file "
                        "WHERE c.refunded >= $1",
                        [ZERO_AMOUNT],
                    )
                }
            finally:
                raw.unregister("_refunds_in")
    finally:
        raw.unregister("_excluded_in")
        raw.unregister("_counted_in")
    counts = sql(raw, "SELECT reason, count(*) FROM _excluded_later GROUP BY 1 ORDER BY 1")
    return {str(reason): int(count) for reason, count in counts}, later


def _without_orders(every: pd.DataFrame, ids: set[str]) -> pd.DataFrame | None:
    """``every`` (:func:`_excluded_details`) without the orders of ``ids``; None when empty."""
    kept = every[~every["order_id"].isin(ids).fillna(False).to_numpy(bool)]
    return kept if len(kept) else None


def _count_netted_refunds(
    report: IngestReport, results: Sequence[ImportResult], netted: later_refunds.NettedRefunds
) -> None:
    """Take the refunds netted with stored orders (:func:`later_refunds.net_refunds`) off the
    files' exclusions (their orders, rows and revenue) and out of the files' note that calls
    them unlinked."""
    for position, (orders, rows, amount) in netted.per_file.items():
        _take(report.files[position].excluded_rows, NEGATIVE_AMOUNT, rows)
        _take(report.excluded_rows, NEGATIVE_AMOUNT, rows)
        _take(report.excluded_orders, NEGATIVE_AMOUNT, orders)
        left = report.excluded_revenue.get(NEGATIVE_AMOUNT, 0.0) - amount
        if NEGATIVE_AMOUNT in report.excluded_orders:
            report.excluded_revenue[NEGATIVE_AMOUNT] = _money(left)
        else:
            report.excluded_revenue.pop(NEGATIVE_AMOUNT, None)
        result = results[position]
        if result.excluded_detail is None:
            continue
        detail = result.excluded_detail
        before = negative_orders_note({"order_id": "order_id"}, detail)
        kept = detail[~detail["order_id"].isin(netted.ids).fillna(False).to_numpy(bool)]
        after = negative_orders_note({"order_id": "order_id"}, kept)
        name = Path(result.file).name
        for old in before:
            report.files[position].notes = _replaced(report.files[position].notes, old, after)
            named = [f"{name}: {note}" for note in after]
            report.notes = _replaced(report.notes, f"{name}: {old}", named)


def _count_refunded_in_full(report: IngestReport, netted: later_refunds.NettedRefunds) -> None:
    """The orders of this ingest's files that a later file's refund left at nothing are
    excluded orders (refunded); those stored before are withdrawn orders instead."""
    this_ingest = len(netted.in_full) - netted.in_full_stored
    report.excluded_orders[REFUNDED] = report.excluded_orders.get(REFUNDED, 0) + this_ingest
    report.excluded_revenue.setdefault(REFUNDED, 0.0)
    report.excluded_rows[REFUNDED] = report.excluded_rows.get(REFUNDED, 0) + netted.in_full_rows


def _take(counts: dict[str, int], key: str, amount: int) -> None:
    left = counts.get(key, 0) - amount
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)


def _last_exclusions(every: pd.DataFrame) -> pd.DataFrame:
    """Each excluded order with an id once, as the last file excluding it says
    (``order_id``, ``reason``, ``gross_revenue``; ``every``: :func:`_excluded_details`)."""
    keyed = every[every["order_id"].notna()].drop_duplicates("order_id", keep="last")
    keyed = keyed.astype({"order_id": "string", "reason": "string", "gross_revenue": "float64"})
    return keyed[["order_id", "reason", "gross_revenue"]]


def _distinct_exclusions(
    raw: Any, every: pd.DataFrame | None
) -> tuple[dict[str, int], dict[str, float]] | None:
    """The orders the files of one ingest exclude (``every``: :func:`_excluded_details`), by
    reason, and their revenue, each order once: by the last file excluding it, and not at all
    where the ingest counts it (a later file's, :func:`_excluded_by_a_later_file`).  Rows are
    rows: their counts stay per file.  None when no file excludes an order (the per-file sums
    stand)."""
    if every is None:
        return None
    raw.register("_excluded_in", _last_exclusions(every))
    try:  # in the engine: the stage may hold millions of counted orders
        excluded = sql(
            raw,
            "SELECT reason, gross_revenue FROM _excluded_in WHERE order_id NOT IN "
            "(SELECT order_id FROM _stage_orders WHERE order_id IS NOT NULL)",
        )
    finally:
        raw.unregister("_excluded_in")
    kept = pd.concat(
        [
            every.loc[every["order_id"].isna(), ["reason", "gross_revenue"]],
            pd.DataFrame(excluded, columns=["reason", "gross_revenue"]),
        ]
    )
    orders: dict[str, int] = {}
    revenue: dict[str, float] = {}
    for reason, group in kept.groupby("reason", sort=True):
        orders[str(reason)] = len(group)
        revenue[str(reason)] = round(float(group["gross_revenue"].sum()), 2)
    return orders, revenue


def _excluded_later_note(excluded: dict[str, int]) -> str:
    total = sum(excluded.values())
    listed = ", ".join(f"{reason} {count:,}" for reason, count in excluded.items())
    return (
        f"{total:,} {'order' if total == 1 else 'orders'} of an earlier file of this ingest "
        f"{'is' if total == 1 else 'are'} excluded by a later one ({listed}): the last file's "
        f"word is kept, so {'it is' if total == 1 else 'they are'} not counted"
    )


def _shown(value: Any) -> str:
    """A fact as the error shows it: money with two decimals, dates as ISO, text quoted."""
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return "empty" if value is None else repr(value)


def _empty_select(schema: dict[str, str]) -> str:
    return ", ".join(
        f"CAST(NULL AS {_sql_type(name, dtype)}) AS {name}" for name, dtype in schema.items()
    )


def _stage(raw: Any, inputs: dict[str, Any], ingest_id: int, direct: dict[str, bool]) -> None:
    """``_stage_orders``, ``_stage_order_lines`` and ``_stage_customers``, typed as the tables.

    Orders: one row per order id (an importer gives one row per order; across the files of an
    ingest the last file wins).  Lines: an order's line items come from the last file that lists
    any for it, and only orders being ingested keep lines.  Customers: last record per id.

    A table in ``direct`` is empty, so nothing stored can match a staged row: its rows are written
    straight into it (tagged ``ingest_id``) and its stage is a view of it, which spares a copy.
    Every other stage is a table of the workspace file, dropped before the ingest commits
    (:func:`_drop_staged`): its rows go compressed to the file's free blocks instead of staying
    in memory, where 3.1M staged orders took 0.9 GB of the 1 GB limit and the comparison with
    the stored orders spilled to disk.  It is laid out as a new table is, computing what the
    table computes (an order's id, its e-mail where it is the customer id), which spares
    compressing that text (0.2 s of 3.1M orders' stage).  Either way the Arrow input is read
    once through a relation, never registered: a registered Arrow table stays referenced by
    DuckDB until the transaction commits, and ``refresh`` runs the whole analysis inside that
    transaction.
    """
    several = inputs["files"] > 1
    zstd = _zstd_text(raw)  # the file's, for every stage table
    for name, schema in TABLES.items():
        table = inputs[name]
        if isinstance(table, _Stream):
            table = table.open()
        stage = f"_stage_{name}"
        if table is None:  # a table, which the refunds of stored orders update (none here)
            sql(raw, f"CREATE TEMP TABLE {stage} AS SELECT {_empty_select(schema)} LIMIT 0")
            continue
        select = _stage_select(name, schema, several, inputs["staged"])
        if direct[name]:
            stored = _stored_select(stored_columns(raw, name))
            rows = table.query("_in", f"SELECT {stored}, {int(ingest_id)} FROM ({select})")
            rows.insert_into(name)
            sql(raw, f"CREATE TEMP VIEW {stage} AS SELECT {_column_list(schema)} FROM {name}")
        else:
            sql(raw, f"CREATE TABLE {stage} ({_column_definitions(name, schema, zstd)})")
            stored = _stored_select(stored_columns(raw, stage, layout=name))
            table.query("_in", f"SELECT {stored} FROM ({select})").insert_into(stage)


def _stage_select(name: str, schema: dict[str, str], several: bool, staged: bool = False) -> str:
    """The staged rows of one input, as a query over the Arrow table ``_in`` (see :func:`_stage`).

    ``staged``: every input was staged by DuckDB (:class:`~valuecast.io.schema.StagedRows`), so
    every order has an id and the test for a missing one is left out (it would build each
    order's id only to test it, 0.1 s of CPU per 3M orders, for a table that stores its ids
    computed from the order numbers), and its lines are those of its orders.

    From one file, an importer numbers each order's lines once, so they are taken as they are,
    those of orders not staged left out: the windows that pick an order's lines from the last
    file listing it took 0.65 s of a 1M-order Shopify export's 1.8 s stage, and sorted the lines
    of a 1M-order WooCommerce export of a row per item in memory (the ingest's peak, 1.13 GB).
    """
    rows = "(SELECT *, row_number() OVER () AS _row FROM _in)"
    if name == "orders":
        if not several:  # an importer gives one row per order
            having_id = "" if staged else " WHERE order_id IS NOT NULL"
            return f"SELECT {_cast_list(schema)} FROM _in{having_id}"
        return (
            f"SELECT {_cast_list(schema)} FROM {rows} WHERE order_id IS NOT NULL "
            "AND order_id NOT IN (SELECT order_id FROM _excluded_later) "
            "QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY _file DESC, _row DESC) = 1"
        )
    if name == "order_lines":
        if not several:  # an importer numbers an order's lines once
            of_orders = "" if staged else " WHERE order_id IN (SELECT order_id FROM _stage_orders)"
            return f"SELECT {_cast_list(schema)} FROM _in{of_orders}"
        return (
            f"SELECT {_cast_list(schema)} FROM {rows} WHERE order_id IS NOT NULL "
            "AND order_id IN (SELECT order_id FROM _stage_orders) "
            "QUALIFY _file = max(_file) OVER (PARTITION BY order_id) AND row_number() OVER "
            "(PARTITION BY order_id, line_number ORDER BY _file DESC, _row DESC) = 1"
        )
    return (
        f"SELECT {_cast_list(schema)} FROM {rows} WHERE customer_id IS NOT NULL QUALIFY "
        "row_number() OVER (PARTITION BY customer_id ORDER BY _file DESC, _row DESC) = 1"
    )


# ------------------------------------------------------------------------------------------------
# merge: inside the caller's transaction
# ------------------------------------------------------------------------------------------------
def _is_empty(raw: Any, table: str) -> bool:
    return not sql(raw, f"SELECT 1 FROM {table} LIMIT 1")


def _upsert(
    raw: Any, table: str, schema: dict[str, str], key: str, ingest_id: int, stored: bool
) -> dict[str, int]:
    """Upsert the staged ``_stage_{table}`` rows into ``table`` by ``key``; return the counts.

    ``stored``: the table was empty and staging wrote the rows into it (every one is new).
    """
    stage = f"_stage_{table}"
    if stored:
        sql(raw, f"CREATE OR REPLACE TEMP VIEW _new_{table} AS SELECT {key} FROM {stage}")
        sql(
            raw,
            f"CREATE OR REPLACE TEMP VIEW _changed_{table} AS SELECT {key} FROM {stage} LIMIT 0",
        )
        return {"new": sql(raw, f"SELECT count(*) FROM {stage}")[0][0], "changed": 0}
    # one join finds both the staged rows no stored row matches (new) and those whose match
    # differs in a column (changed); column by column, as a row() of every column built and
    # compared per order took 8x the time (5.4 s against 0.7 s at 3.1M stored orders)
    matched_on = _MATCHED_ON.get(table, (key,))
    on = " AND ".join(f"s.{name} = t.{name}" for name in matched_on)
    unmatched = f"t.{matched_on[0]} IS NULL"  # a match's key columns are not NULL
    differs = " OR ".join(f"s.{name} IS DISTINCT FROM t.{name}" for name in schema if name != key)
    # in parts by the key's hash when the table is large: the join holds the stored rows
    # (~0.7 GB for 3.1M orders), and a second analysis of the same 3.1M orders peaked with it
    # at 1.25 GB; in three parts at 0.89-0.90 GB, for two more reads of both tables (~0.5 s)
    stored_rows = sql(raw, f"SELECT count(*) FROM {table}")[0][0]
    parts = min(_COMPARED_PARTS_MAX, max(1, math.ceil(stored_rows / _COMPARED_ROWS_PER_PART)))
    sql(
        raw,
        f"CREATE OR REPLACE TEMP TABLE _compared_{table} "
        f"({key} {_sql_type(key, schema[key])}, new BOOLEAN)",
    )
    for part in range(parts):
        inside = "true" if parts == 1 else f"hash({matched_on[-1]}) % {parts} = {part}"
        sql(
            raw,
            f"INSERT INTO _compared_{table} SELECT s.{key}, {unmatched} AS new "
            f"FROM (SELECT * FROM {stage} WHERE {inside}) s "
            f"LEFT JOIN (SELECT * FROM {table} WHERE {inside}) t ON {on} "
            f"WHERE {unmatched} OR {differs}",
        )
    for name, which in (("new", "new"), ("changed", "NOT new")):
        sql(
            raw,
            f"CREATE OR REPLACE TEMP TABLE _{name}_{table} AS "
            f"SELECT {key} FROM _compared_{table} WHERE {which}",
        )
    sql(raw, f"DROP TABLE _compared_{table}")
    replaced = moved = (0, "")
    if table == "orders":
        replaced = _replaced_by_other_orders(raw)
        moved = _record_moved_orders(raw, ingest_id)
    sql(raw, f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM _changed_{table})")
    columns = stored_columns(raw, table)
    sql(
        raw,
        f"INSERT INTO {table} ({', '.join(columns)}, ingest_id) "
        f"SELECT {_stored_select(columns)}, {ingest_id} FROM {stage} "
        f"WHERE {key} IN (SELECT {key} FROM _new_{table} UNION ALL SELECT {key} FROM _changed_{table})",
    )
    new = sql(raw, f"SELECT count(*) FROM _new_{table}")[0][0]
    changed = sql(raw, f"SELECT count(*) FROM _changed_{table}")[0][0]
    return {"new": new, "changed": changed, "replaced": replaced, "moved": moved}


def _replaced_by_other_orders(raw: Any) -> tuple[int, str]:
    """How many changed orders (``_changed_orders``) are given another customer AND another day
    than the stored ones, and a note naming the first; ``(0, "")`` when none.

    A shop's export never moves an order to another day, and a newer export of it changes an
    order's customer at most (a phone-only order joining its e-mail customer): an order number
    whose customer and day both change is another order, most often of another shop numbered
    from ``#1001`` too, and replacing the stored one drops it from the analysis.  Only the
    changed orders are joined, usually few of them (none: nothing is read).
    """
    if not sql(raw, "SELECT count(*) FROM _changed_orders")[0][0]:
        return 0, ""
    rows = sql(
        raw,
        "SELECT count(*) OVER (), s.order_number, t.customer_id, t.order_date, s.customer_id, "
        "s.order_date FROM _changed_orders c JOIN orders t USING (order_id) "
        "JOIN _stage_orders s USING (order_id) WHERE s.customer_id IS DISTINCT FROM t.customer_id "
        "AND s.order_date IS DISTINCT FROM t.order_date ORDER BY order_id LIMIT 1",
    )
    if not rows:
        return 0, ""
    count, number, stored_customer, stored_day, customer, day = rows[0]
    one = count == 1
    note = (
        f"{count:,} stored {'order was' if one else 'orders were'} replaced by "
        f"{'an order' if one else 'orders'} of the same number with another customer and "
        f"date (e.g. order {number}: {_shown(stored_customer)} on {_shown(stored_day)} "
        f"stored, {_shown(customer)} on {_shown(day)} in these files): another shop's "
        "orders numbered as the stored ones replace them; ingest each shop into a workspace "
        "of its own"
    )
    return int(count), note


def _record_moved_orders(raw: Any, ingest_id: int) -> tuple[int, str]:
    """Record in ``moved_orders`` the customer each changed order (``_changed_orders``) named
    before this ingest gives it another customer on the same day (a customer who changed their
    e-mail, named by the new one in every order of a newer export); only the changed orders
    are joined, usually few of them (none: nothing is read).  Returns how many, and a note
    naming the first (``(0, "")`` for none): every one of them may be another shop's order
    numbered alike, which the note says what to do about."""
    if not sql(raw, "SELECT count(*) FROM _changed_orders")[0][0]:
        return 0, ""
    moved = (
        "FROM _changed_orders c JOIN orders t USING (order_id) JOIN _stage_orders s "
        "USING (order_id) WHERE t.customer_id IS NOT NULL AND s.customer_id IS DISTINCT FROM "
        "t.customer_id AND s.order_date IS NOT DISTINCT FROM t.order_date"
    )
    sql(raw, f"INSERT INTO moved_orders SELECT order_id, t.customer_id, ? {moved}", [ingest_id])
    rows = sql(
        raw,
        f"SELECT count(*) OVER (), s.order_number, t.customer_id, s.customer_id {moved} "
        "ORDER BY order_id LIMIT 1",
    )
    if not rows:
        return 0, ""
    count, number, stored, given = rows[0]
    one = count == 1
    note = (
        f"{count:,} stored {'order names' if one else 'orders name'} another customer on the "
        f"same day (e.g. order {number}: {_shown(stored)} stored, {_shown(given)} in these "
        "files), read as a customer known by a new e-mail or id; if another shop numbers its "
        "orders as the stored ones, ingest each shop into a workspace of its own"
    )
    return int(count), note


def _direct(raw: Any) -> dict[str, bool]:
    """Which tables staging writes into directly (see :func:`_stage`): the empty ones; lines only
    when the orders are empty too (else stored orders may gain lines, which counts as an update)."""
    orders = _is_empty(raw, "orders")
    return {
        "orders": orders,
        "order_lines": orders and _is_empty(raw, "order_lines"),
        "customers": _is_empty(raw, "customers"),
    }


def _merge(raw: Any, ingest_id: int, direct: dict[str, bool]) -> dict[str, int]:
    """Merge the stages into the tables (what staging wrote directly is only counted)."""
    first = direct["order_lines"]
    order_counts = _upsert(raw, "orders", ORDERS_SCHEMA, "order_id", ingest_id, direct["orders"])
    # nothing was stored: every staged line is new, no order can have been updated
    updated = 0 if first else _merge_lines(raw, ingest_id)
    customer_counts = _upsert(
        raw, "customers", CUSTOMERS_SCHEMA, "customer_id", ingest_id, direct["customers"]
    )
    return {
        "first": first,
        "new_orders": order_counts["new"],
        "updated_orders": updated,
        "new_customers": customer_counts["new"],
        "changed_customers": customer_counts["changed"],
        "replaced": order_counts.get("replaced", (0, "")),
        "moved": order_counts.get("moved", (0, "")),
    }


def _merge_lines(raw: Any, ingest_id: int) -> int:
    """Replace the stored lines of every staged order whose line set differs; count updates."""
    line_columns = _column_list(ORDER_LINES_SCHEMA)
    sql(
        raw,
        "CREATE OR REPLACE TEMP TABLE _line_orders AS SELECT DISTINCT order_id FROM _stage_order_lines",
    )
    # an order's line is one per line number on both sides (staging keeps the last of each),
    # so its lines differ when a line is on one side only or differs in a column: one join,
    # where two multiset differences of every column took 5x the time (0.54 s against 0.10 s
    # for a 295,000-order Shopify export ingested again)
    differs = " OR ".join(
        f"s.{name} IS DISTINCT FROM t.{name}"
        for name in ORDER_LINES_SCHEMA
        if name not in ("order_id", "line_number")
    )
    sql(
        raw,
        f"""CREATE OR REPLACE TEMP TABLE _lines_changed AS
        SELECT DISTINCT coalesce(s.order_id, t.order_id) AS order_id
        FROM _stage_order_lines s FULL JOIN (
            SELECT {line_columns} FROM order_lines
            WHERE order_id IN (SELECT order_id FROM _line_orders)
        ) t ON s.order_id = t.order_id AND s.line_number IS NOT DISTINCT FROM t.line_number
        WHERE s.order_id IS NULL OR t.order_id IS NULL OR {differs}""",
    )
    sql(raw, "DELETE FROM order_lines WHERE order_id IN (SELECT order_id FROM _lines_changed)")
    sql(
        raw,
        f"INSERT INTO order_lines ({line_columns}, ingest_id) SELECT {line_columns}, {ingest_id} "
        f"FROM _stage_order_lines WHERE order_id IN (SELECT order_id FROM _lines_changed)",
    )
    # an order counts as updated when its row or its line items changed (and it was not new)
    updated = sql(
        raw,
        "SELECT count(*) FROM (SELECT order_id FROM _changed_orders UNION "
        "SELECT order_id FROM _lines_changed WHERE order_id NOT IN (SELECT order_id FROM _new_orders) "
        "AND order_id IN (SELECT order_id FROM orders WHERE ingest_id <> ?))",
        [ingest_id],
    )[0][0]
    lines_only = sql(
        raw,
        "SELECT order_id FROM _lines_changed WHERE order_id NOT IN (SELECT order_id FROM _new_orders) "
        "AND order_id NOT IN (SELECT order_id FROM _changed_orders)",
    )
    if lines_only:  # the order row itself is unchanged: mark it as touched by this ingest
        sql(
            raw,
            "UPDATE orders SET ingest_id = ? WHERE order_id IN (SELECT order_id FROM _lines_changed)",
            [ingest_id],
        )
    return int(updated)


def _check_written_symbols(
    raw: Any, results: Sequence[ImportResult], currencies: list[str]
) -> None:
    """Refuse orders whose amounts a symbol of several currencies (``$``) wrote, beside orders
    in a currency it cannot be (euros): with no currency named, they would be taken to be in
    the others' currency, dollars added to euros.  The files of this ingest and those of
    earlier ingests whose orders still name no currency are checked."""
    if not currencies:
        return
    symbols = {str(r.file): (r.written_symbol, "") for r in results if r.written_symbol}
    if sql(raw, "SELECT 1 FROM orders WHERE currency IS NULL LIMIT 1"):
        ingests = sql(raw, "SELECT ingest_id, report FROM ingests ORDER BY ingest_id")
        for ingest_id, report in ingests:
            for file in json.loads(report).get("files", []):
                if file.get("amounts_written_in"):
                    stored = (file["amounts_written_in"], f" (stored by ingest {ingest_id})")
                    symbols.setdefault(str(file["file"]), stored)
    for file, (symbol, stored) in symbols.items():
        other = [code for code in currencies if code not in symbol_currencies(symbol)]
        if other:
            raise InputError(
                file,
                refused_symbol(
                    symbol, f"while other orders are in {', '.join(other)}",
                    "and give --fx RATES.csv to convert them to one currency", stored,
                ),
            )  # fmt: skip


def _recount_national_phones(
    report: IngestReport, results: Sequence[ImportResult], joined: Sequence[str]
) -> None:
    """Count in each file's note on the customers known by a phone without its country code
    (:func:`valuecast.io.generic.national_phones_note`) only those the ingest left so: the
    ``joined`` ones are the customer of the stored number with its country that they can be
    (:func:`join_national_phones`), by which the audience files match them."""
    for result, file in zip(results, report.files, strict=True):
        national = result.national_phones
        if national is None or not len(national):
            continue
        left = national[~national.isin(joined)]
        if len(left) == len(national):
            continue
        (written,) = national_phones_note(national)
        now = national_phones_note(left)
        file.notes = _replaced(file.notes, written, now)
        name = Path(result.file).name
        report.notes = _replaced(
            report.notes, f"{name}: {written}", [f"{name}: {note}" for note in now]
        )


def _replaced(notes: list[str], old: str, new: list[str]) -> list[str]:
    """``notes`` with ``old`` replaced by the notes ``new`` (none: left out) where it stands."""
    return [kept for note in notes for kept in (new if note == old else [note])]


def _store_order_contacts(raw: Any, results: Sequence[ImportResult], ingest_id: int) -> None:
    """Keep the files' order contacts (:attr:`~valuecast.io.schema.ImportResult.order_contacts`),
    a later file's (and this ingest's) replacing those stored for the same order, and release
    them from the results (a million orders' take tens of MB).

    Once the orders are merged, rows stored before that are no longer a customer's latest giving
    a name, a phone or an address (a later order gives it), or whose order is no longer stored,
    are dropped (:func:`_drop_superseded_contacts`)."""
    columns = _column_list(ORDER_CONTACTS_SCHEMA)
    for result in results:
        contacts, result.order_contacts = result.order_contacts, None
        if contacts is None or not len(contacts):
            continue
        # read through a relation, not registered (see identities.store_phone_cells)
        relation = (
            raw.from_arrow(contacts) if isinstance(contacts, pa.Table) else raw.from_df(contacts)
        )
        if not sql(raw, "SELECT count(*) FROM order_contacts")[0][0]:
            # nothing stored to replace (a first ingest): written straight in, without a stage
            relation.query(
                "_order_contacts_in",
                f"SELECT {columns}, {int(ingest_id)} FROM "
                f"(SELECT {_cast_list(ORDER_CONTACTS_SCHEMA)} FROM _order_contacts_in)",
            ).insert_into("order_contacts")
            continue
        sql(
            raw,
            "CREATE OR REPLACE TEMP TABLE _order_contacts_staged "
            f"({_column_definitions('_order_contacts_staged', ORDER_CONTACTS_SCHEMA, False)})",
        )
        try:
            relation.query(
                "_order_contacts_in",
                f"SELECT {_cast_list(ORDER_CONTACTS_SCHEMA)} FROM _order_contacts_in",
            ).insert_into("_order_contacts_staged")
            sql(
                raw,
                "DELETE FROM order_contacts WHERE order_id IN "
                "(SELECT order_id FROM _order_contacts_staged)",
            )
            sql(
                raw,
                f"INSERT INTO order_contacts SELECT {columns}, {int(ingest_id)} "
                "FROM _order_contacts_staged",
            )
        finally:
            sql(raw, "DROP TABLE IF EXISTS _order_contacts_staged")


def _drop_superseded_contacts(raw: Any, ingest_id: int) -> None:
    """Delete the ``order_contacts`` rows of earlier ingests that :func:`contacts_frame` no
    longer reads: of orders no longer stored, or no customer's latest order giving a name, a
    phone or an address.  A first ingest has none (its files give each customer's latest)."""
    earlier = f"SELECT count(*) FROM order_contacts WHERE ingest_id <> {int(ingest_id)}"
    if not sql(raw, earlier)[0][0]:
        return
    latest = "{'at': coalesce(o.ordered_at, o.order_date), " + _ORDER_ID_KEY_O + "}"
    picked = ", ".join(
        f"arg_max(k.order_id, {latest}) FILTER (WHERE "
        + " OR ".join(f"k.{name} IS NOT NULL" for name in group)
        + f") AS g{index}"
        for index, group in enumerate(CONTACT_GROUPS)
    )
    read = ", ".join(f"g{index}" for index in range(len(CONTACT_GROUPS)))
    sql(
        raw,
        f"""DELETE FROM order_contacts WHERE order_id NOT IN (
            SELECT order_id FROM (SELECT unnest([{read}]) AS order_id FROM (SELECT {picked}
                FROM order_contacts k JOIN orders o ON o.order_id = k.order_id
                WHERE o.customer_id IS NOT NULL GROUP BY o.customer_id))
            WHERE order_id IS NOT NULL)""",
    )


def _counted_again(raw: Any) -> dict[tuple[str, int], int]:
    """The new orders of this ingest that an earlier one withdrew (a newer export excluded
    them), per (reason, that ingest); they leave the record of withdrawn orders."""
    if not sql(raw, "SELECT 1 FROM withdrawn_orders LIMIT 1"):
        return {}
    rows = sql(
        raw,
        "SELECT reason, max(ingest_id), count(*) FROM withdrawn_orders "
        "WHERE order_id IN (SELECT order_id FROM _new_orders) GROUP BY reason ORDER BY reason",
    )
    if rows:
        sql(
            raw,
            "DELETE FROM withdrawn_orders WHERE order_id IN (SELECT order_id FROM _new_orders)",
        )
    return {(str(reason), int(ingest)): int(count) for reason, ingest, count in rows}


def _counted_again_note(again: dict[tuple[str, int], int]) -> str:
    total = sum(again.values())
    listed = ", ".join(f"{reason} {count:,}" for (reason, _), count in again.items())
    ingests = sorted({ingest for _, ingest in again})
    named = ", ".join(str(ingest) for ingest in ingests)
    return (
        f"{total:,} {'order' if total == 1 else 'orders'} that a newer export had excluded "
        f"({listed}; removed by ingest {named}) {'is' if total == 1 else 'are'} counted again, "
        "as these files count them: if they are an older export, ingest the newer one again"
    )


def _withdraw(raw: Any, every: pd.DataFrame | None, ingest_id: int) -> dict[str, int]:
    """Remove the stored orders this ingest's files exclude (``every``:
    :func:`_excluded_details`; cancelled, refunded, voided, ...) and no file of it counts: the
    newer export's word on an order replaces the older one's, as an update does; they are
    recorded in ``withdrawn_orders``.  Returns the orders removed per reason."""
    if every is None:
        return {}
    raw.register("_excluded_in", _last_exclusions(every)[["order_id", "reason"]])
    try:
        sql(
            raw,
            "CREATE OR REPLACE TEMP TABLE _withdrawn AS SELECT e.order_id, e.reason "
            "FROM _excluded_in e SEMI JOIN orders o ON e.order_id = o.order_id "
            "ANTI JOIN _stage_orders s ON e.order_id = s.order_id",
        )
    finally:
        raw.unregister("_excluded_in")
    counts = sql(raw, "SELECT reason, count(*) FROM _withdrawn GROUP BY reason ORDER BY reason")
    if counts:
        sql(raw, "DELETE FROM order_lines WHERE order_id IN (SELECT order_id FROM _withdrawn)")
        sql(raw, "DELETE FROM orders WHERE order_id IN (SELECT order_id FROM _withdrawn)")
        sql(
            raw,
            "INSERT INTO withdrawn_orders SELECT order_id, reason, ? FROM _withdrawn",
            [ingest_id],
        )
    sql(raw, "DROP TABLE _withdrawn")
    return {str(reason): int(count) for reason, count in counts}


def _latest_order_date(raw: Any) -> date | None:
    return sql(raw, "SELECT max(order_date) FROM orders")[0][0]


def _notes_on_stored_orders(
    raw: Any, report: IngestReport, latest_before, ingest_id: int, *, refunds: bool = False
) -> list:
    """Notes on what this ingest did to orders stored before it that a merchant may not mean:
    an export ending before the stored history, whose versions replaced the stored ones (an
    older export ingested again undoes the corrections of a newer one); new orders that repeat
    stored ones under other numbers; and a currency named by only one side (the amounts without
    one are then read in the other's).  ``refunds``: refunds of stored orders were taken off
    them (:mod:`valuecast.store.later_refunds`), which their own note says: the files change
    stored orders then, even where none of their orders is new."""
    notes = []
    last = report.last_order_date
    if report.orders and not report.new_orders and not report.updated_orders and not refunds:
        # a refresh of the same export, or an older one: the analysis sees what it saw before
        older = ""
        if (
            latest_before is not None
            and last is not None
            and to_date(last) < to_date(latest_before)
        ):
            older = (
                f" (they end on {to_date(last)}, before the workspace's latest order, "
                f"{to_date(latest_before)}: an older export?)"
            )
        notes.append(
            f"these files add no new or changed orders: all {report.unchanged_orders:,} of "
            f"theirs are stored already as they are{older}"
        )
    if report.updated_orders and latest_before is not None and last is not None:
        ends, stored = to_date(last), to_date(latest_before)
        if ends < stored:
            notes.append(
                f"these files end on {ends}, before the workspace's latest order ({stored}), "
                f"and their versions replaced {report.updated_orders:,} stored "
                f"{'order' if report.updated_orders == 1 else 'orders'}: if they are an older "
                "export, ingest the newer one again to restore its corrections"
            )
    # another export format keys the same order otherwise (shopify:#1001, orders:1001) and may
    # date it otherwise (a time at the shop's offset, a date only), so a twin is the same
    # customer with the same time, the same order number, or the same amount within a day.  A
    # time is the same order's only where it has one: two orders of a customer on one day of a
    # table of dates (a file ingested in two halves) share a midnight and are no twins.
    # Only a stored order these files do not hold can be one.  The stored orders this ingest
    # left as they were are those the files hold unchanged and those they do not hold, so an
    # export holding them all (a quarter's export of the whole history) leaves no more than its
    # unchanged orders and the join is not made (3.5 s for 2.6M stored orders; an anti join
    # finding the ones not held took 0.25 s there and 13 s for 31M)
    named, unnamed = sql(
        raw,
        "SELECT count(*) FILTER (WHERE currency IS NOT NULL), count(*) FILTER (WHERE currency "
        "IS NULL) FROM orders WHERE ingest_id <> ?",
        [ingest_id],
    )[0]
    twins = 0
    if named + unnamed > report.unchanged_orders:
        # each side is reduced to the join's columns first (the numbers trimmed, the amounts
        # rounded once a row) and the new orders are counted by row: they are this ingest's
        # rows and the stored ones are not, so no pair is one order.  Joined as whole rows and
        # counted by their computed ids, 545,000 new orders against 2.6M stored take 5x as long.
        twins = sql(
            raw,
            "WITH n AS (SELECT rowid AS new_row, customer_id, ordered_at, "
            "ltrim(order_number, '# ') AS number, round(net_revenue, 2) AS amount FROM orders "
            "WHERE ingest_id = ? AND order_id IN (SELECT order_id FROM _new_orders)), "
            "s AS (SELECT customer_id, ordered_at, ltrim(order_number, '# ') AS number, "
            "round(net_revenue, 2) AS amount FROM orders WHERE ingest_id <> ? AND order_id "
            "NOT IN (SELECT order_id FROM _stage_orders WHERE order_id IS NOT NULL)) "
            f"SELECT count(DISTINCT n.new_row) FROM n JOIN s ON n.customer_id = s.customer_id "
            f"AND {_TWINS}",
            [ingest_id, ingest_id],
        )[0][0]
    if twins:
        notes.append(
            f"{twins:,} new {'order matches' if twins == 1 else 'orders match'} a stored order "
            "that these files do not hold (the same customer with the same time, order number "
            "within a month, or amount within a day): if they are the same orders written another way (another "
            "date notation in a log without order ids, another export format), they are now "
            "counted twice; ingest the files as before, or start a new workspace"
        )
    currency = next(iter(report.currencies), None)  # of this ingest's orders
    if unnamed and currency and not named:
        notes.append(
            f"{unnamed:,} {'order' if unnamed == 1 else 'orders'} stored earlier "
            f"{'names' if unnamed == 1 else 'name'} no currency and these files' are in "
            f"{currency}: every amount is now read as {currency} (if the earlier ones were in "
            "another currency, ingest them again with it or convert them with --fx)"
        )
    return notes


_TWINS = (
    "((n.ordered_at = s.ordered_at AND n.ordered_at <> date_trunc('day', n.ordered_at)) "
    "OR (n.number = s.number AND abs(epoch(n.ordered_at) - epoch(s.ordered_at)) < 31 * 86400) "
    "OR (abs(epoch(n.ordered_at) - epoch(s.ordered_at)) < 86400 AND n.amount = s.amount))"
)
"""Two orders of one customer that are one order written twice: the same time (where it has
one), the same number within a month (another export may date an order by its payment or
invoice), or the same amount within a day.  A number years apart is no twin: a shop that
moved platforms numbers from #1001 again, years after the old shop's 1001."""


def _twins_across_formats(
    raw: Any, report: IngestReport, ingest_id: int, *, every_new: bool = False
) -> int:
    """The new orders of this ingest that repeat a new order of another format's file of it
    (:data:`_TWINS`): a Shopify export holding the WooCommerce history a migration app
    imported (``#W501``, the customer's time and amount) beside that history's own export.
    Only files of two formats are compared: one format keys one order alike in both.
    ``every_new``: the ingest wrote its orders directly (into an empty workspace), all new."""
    if len({file.format for file in report.files}) < 2:
        return 0
    new = "" if every_new else "AND order_id IN (SELECT order_id FROM _new_orders)"
    return sql(
        raw,
        "WITH o AS (SELECT rowid AS row_id, source, customer_id, ordered_at, "
        "ltrim(order_number, '# ') AS number, round(net_revenue, 2) AS amount FROM orders "
        f"WHERE ingest_id = ? AND customer_id IS NOT NULL {new}) "
        f"SELECT count(DISTINCT n.row_id) FROM o n JOIN o s ON n.customer_id = s.customer_id "
        f"AND n.source > s.source AND {_TWINS}",
        [ingest_id],
    )[0][0]


def _copies_note(copies: int) -> str:
    """The note on :func:`_twins_across_formats`' orders."""
    return (
        f"{copies:,} new {'order' if copies == 1 else 'orders'} of one format "
        f"{'matches' if copies == 1 else 'match'} a new order of another format in these files "
        "(the same customer with the same time, number within a month, or amount within a "
        "day): if one export holds the other's orders (a migration app's imported copies), "
        "they are counted twice; leave the copies out of one of the files"
    )


def _renamed_currencies(raw: Any) -> list[tuple[str, str, int]]:
    """(stored currency, staged currency, orders) of the stored orders the staged ones name in
    another currency, before the merge replaces them."""
    named = "SELECT 1 FROM {} WHERE currency IS NOT NULL LIMIT 1"
    if not (sql(raw, named.format("orders")) and sql(raw, named.format("_stage_orders"))):
        return []  # no order is named on one side: nothing to join
    return sql(
        raw,
        "SELECT s.currency, n.currency, count(*) FROM orders s JOIN _stage_orders n "
        "ON s.order_id = n.order_id WHERE s.currency <> n.currency GROUP BY ALL ORDER BY 3 DESC",
    )


def _keep_stored_currencies(raw: Any) -> None:
    """Staged orders that name no currency take their stored one: an export that does not say
    it (plain amounts) leaves the unit of the orders it repeats as an earlier one named it."""
    if not (
        sql(raw, "SELECT 1 FROM _stage_orders WHERE currency IS NULL LIMIT 1")
        and sql(raw, "SELECT 1 FROM orders WHERE currency IS NOT NULL LIMIT 1")
    ):
        return
    sql(
        raw,
        "UPDATE _stage_orders SET currency = t.currency FROM orders t "
        "WHERE _stage_orders.order_id = t.order_id AND _stage_orders.currency IS NULL "
        "AND t.currency IS NOT NULL",
    )


def _renamed_note(before: str, after: str, count: int) -> str:
    """The ingest note for ``count`` stored orders in ``before`` that the files name in ``after``."""
    orders, are = ("order", "is") if count == 1 else ("orders", "are")
    return (
        f"{count:,} stored {orders} in {before} {are} in {after} in these files: their amounts "
        f"are now read as {after} (if the shop's currency did not change, these files may be "
        "another store's export)"
    )


def _withdrawn_note(withdrawn: dict[str, int]) -> str:
    total = sum(withdrawn.values())
    listed = ", ".join(f"{reason} {count:,}" for reason, count in withdrawn.items())
    orders, are, were = ("order", "is", "was") if total == 1 else ("orders", "are", "were")
    return (
        f"{total:,} stored {orders} from earlier ingests {are} now excluded by these files and "
        f"{were} removed from the workspace ({listed})"
    )


def _customer_count(raw: Any, table: str, where: str = "true", params: list | None = None) -> int:
    """The distinct customer ids of ``table``'s rows ``where`` holds.

    Grouped, not ``count(DISTINCT ...)``: DuckDB groups in its partitioned hash table, which at
    3M orders of 1M customers takes 0.15 GB and a fifth of the CPU less than the distinct count.
    """
    query = (
        f"SELECT count(*) FROM (SELECT customer_id FROM {table} "
        f"WHERE customer_id IS NOT NULL AND ({where}) GROUP BY customer_id)"
    )
    return int(sql(raw, query, params)[0][0])


def _staged_totals(raw: Any) -> dict[str, Any]:
    """Counts and sums over the staged orders (what this ingest's files hold) for the report.

    The sums are compensated (``fsum``): a plain sum of doubles depends on the order of the rows,
    which differs between the routes that stage them, and a report would differ by a cent."""
    guest = "(coalesce(is_guest, false) OR customer_id IS NULL)"
    row = raw.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE {guest}),
            fsum(net_revenue) FILTER (WHERE {guest}),
            count(*) FILTER (WHERE is_guest AND customer_id IS NOT NULL),
            fsum(gross_revenue), fsum(discount), fsum(refunded), fsum(tax), fsum(shipping),
            fsum(net_revenue), min(order_date), max(order_date),
            count(currency)
        FROM _stage_orders"""
    ).fetchall()[0]
    keys = (
        "orders", "guest_orders", "guest_revenue", "guests_with_id",
        "gross_revenue", "discount", "refunded", "tax", "shipping", "net_revenue",
        "first_order_date", "last_order_date", "with_currency",
    )  # fmt: skip
    totals = dict(zip(keys, row, strict=True))
    totals["all_customers"] = _customer_count(raw, "_stage_orders")
    totals["customers"] = totals["all_customers"]
    if totals["guests_with_id"]:  # guest orders that carry an id do not make a customer
        totals["customers"] = _customer_count(raw, "_stage_orders", f"NOT {guest}")
    totals["currencies"] = sql(
        raw,
        "SELECT currency, count(*) FROM _stage_orders WHERE currency IS NOT NULL "
        "GROUP BY currency ORDER BY count(*) DESC, currency",
    )
    # customers without e-mail, identified by their phone number (valuecast.io.phones)
    totals["phone_customers"] = _customer_count(
        raw, "_stage_orders", f"NOT {guest} AND starts_with(customer_id, ?)", [PHONE_ID_PREFIX]
    )
    totals["line_items"] = sql(raw, "SELECT count(*) FROM _stage_order_lines")[0][0]
    totals["customer_records"] = sql(raw, "SELECT count(*) FROM _stage_customers")[0][0]
    return totals


# ------------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------------


def _no_rows_note(source: str) -> str:
    """What an input without a row of data is told: a database table or a Parquet file has
    no header line to speak of, a CSV file has one with nothing after it."""
    if is_table_url(source):
        return "the table has no rows: nothing read from it"
    path = Path(source)
    if path.suffix.lower() in PARQUET_SUFFIXES or path.is_dir():
        return "no rows in it: nothing read from it"
    return "no rows after its header: nothing read from it"


def _build_report(
    path: Path,
    ingest_id: int,
    results: Sequence[ImportResult],
    staged: dict[str, Any],
    counts: dict[str, int],
    workspace_orders: int,
    workspace_customers: int,
) -> IngestReport:
    excluded_orders: Counter = Counter()
    excluded_rows: Counter = Counter()
    excluded_revenue: Counter = Counter()
    files, notes = [], []
    for result in results:
        excluded_orders.update(result.excluded_orders)
        excluded_rows.update(result.excluded)
        excluded_revenue.update(result.excluded_revenue)
        files.append(
            FileReport(
                file=str(result.file),
                format=result.format,
                rows_read=int(result.rows_read),
                orders=result.order_count,
                line_items=result.line_count,
                customer_records=len(result.customers),
                excluded_rows={str(k): int(v) for k, v in result.excluded.items()},
                notes=list(result.notes),
                amounts_written_in=result.written_symbol,
            )
        )
        notes.extend(f"{Path(result.file).name}: {note}" for note in result.notes)
        if not result.rows_read:
            notes.append(f"{Path(result.file).name}: {_no_rows_note(str(result.file))}")
    n_orders = int(staged["orders"])
    if n_orders and not staged["with_currency"]:
        notes.append(NO_CURRENCY_NOTE)
    elif staged["with_currency"] < n_orders:  # the currencies' counts leave these out
        named = [code for code, _ in staged["currencies"]]
        taken = f"{named[0]}, as the others are" if len(named) == 1 else "the shop's currency"
        blank = n_orders - int(staged["with_currency"])
        notes.append(
            f"{blank:,} {'order names' if blank == 1 else 'orders name'} no currency: "
            f"taken to be in {taken}"
        )
    new, updated = counts["new_orders"], counts["updated_orders"]
    first, last = staged["first_order_date"], staged["last_order_date"]
    return IngestReport(
        workspace=str(path),
        ingest_id=int(ingest_id),
        files=files,
        rows_read=sum(int(result.rows_read) for result in results),
        orders=n_orders,
        new_orders=int(new),
        updated_orders=int(updated),
        unchanged_orders=n_orders - int(new) - int(updated),
        line_items=int(staged["line_items"]),
        customers=int(staged["customers"]),
        phone_customers=int(staged["phone_customers"]),
        customer_records=int(staged["customer_records"]),
        new_customer_records=int(counts["new_customers"]),
        updated_customer_records=int(counts["changed_customers"]),
        guest_orders=int(staged["guest_orders"]),
        guest_revenue=_money(staged["guest_revenue"]),
        excluded_orders={str(k): int(v) for k, v in sorted(excluded_orders.items())},
        excluded_rows={str(k): int(v) for k, v in sorted(excluded_rows.items())},
        excluded_revenue={str(k): _money(v) for k, v in sorted(excluded_revenue.items())},
        gross_revenue=_money(staged["gross_revenue"]),
        discount=_money(staged["discount"]),
        refunded=_money(staged["refunded"]),
        tax=_money(staged["tax"]),
        shipping=_money(staged["shipping"]),
        net_revenue=_money(staged["net_revenue"]),
        first_order_date=_day(first),
        last_order_date=_day(last),
        currencies={str(code): int(count) for code, count in staged["currencies"]},
        workspace_orders=int(workspace_orders),
        workspace_customers=int(workspace_customers),
        notes=notes,
    )


def _day(value: Any) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


# -- creating a workspace file, and removing only the one this process created -------------------
FileIdentity = tuple[int, int]


def _identity(path: Path) -> FileIdentity | None:
    """(device, inode) of the file at ``path``, None when there is none."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino


def _unlink_workspace_files(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def create_workspace_file(path: str | Path) -> FileIdentity | None:
    """Create an empty workspace at ``path`` exclusively; its (device, inode) when this call did.

    The workspace is built under a name of this process's own and hard-linked to ``path``, which
    fails when a file is there already, so of several processes creating one workspace together
    exactly one is its creator.  None when ``path`` exists, or when the folder cannot take the
    file or a hard link (the caller's open of ``path`` then reports, or creates it unowned).
    """
    path = Path(path)
    if path.exists() or not path.parent.is_dir():
        return None
    staging = path.with_name(f".{path.name}.{os.getpid()}.creating")
    try:
        Workspace(staging).close()
        os.link(staging, path)
        return _identity(staging)
    except Exception as error:  # the path exists already, no hard links, a read-only folder
        if is_interrupted_query(error):
            raise KeyboardInterrupt from None  # Ctrl-C as DuckDB raises it: the command stops
        return None
    finally:
        _unlink_workspace_files(staging)


def remove_if_created(workspace: Workspace, identity: FileIdentity | None) -> None:
    """Remove the open ``workspace``'s file when this process created it (``identity``).

    The file is removed while this process still holds its lock (the caller closes it after),
    and only when the file at the path is still the one created, so a workspace another process
    created, or opens once this one closes, is never removed.
    """
    if identity is None or _identity(workspace.path) != identity:
        return
    # the write-ahead log folded into the file first; after a failed statement it cannot be,
    # and is removed with the file
    with suppress(Exception):
        sql(workspace.raw, "CHECKPOINT")
    _unlink_workspace_files(workspace.path)
