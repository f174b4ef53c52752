"""Any orders table (CSV, Parquet or a DataFrame read from a database), and CDNOW-style logs.

Its length (about 1,000 lines) is the orders-table rules: column aliases, the per-row checks with
their one-line errors, the line-level logs' quantity x unit price, the phone-named customers and
the Parquet reader's memory budget belong together.

Orders tables
-------------
One row per order (or per order line, when an ``order_id`` column repeats). Columns are given by
a column map — on the command line ``--map customer_id=COL,ordered_at=COL,revenue=COL[,...]`` —
whose keys are:

``customer_id``, ``ordered_at``, ``revenue`` (required), and optionally ``order_id``, ``email``,
``currency``, ``channel``, ``discount_code``, ``gross_revenue``, ``discount``, ``tax``,
``shipping``, ``refunded``, ``accepts_marketing``, ``phone``, ``country``, the line keys
``quantity``, ``unit_price``, ``product`` and ``sku`` (below), plus ``date_format`` (a
``strptime`` format such as ``%d/%m/%Y``, not a column). Keys the map leaves out are looked up
among usual names (``customer_id``/``email``.../``customer``, ``ordered_at``/``order_date``/
``date``..., ``revenue``/``net_revenue``/``amount``/``total``...), so a table already in
canonical form needs no map; the line keys and the phone keys are read only when mapped. A
customer id or e-mail column is the customer's before a ``customer`` column, which is as often
a name that two people share, unless that column holds ids (most of its first cells hold a digit:
``C1042``), which then identify the customers, the orders without an address included; an
e-mail column beside another customer column is read as the customers' e-mail (which the
audience files need). Names are compared without case, and without punctuation where none
matches as written (``Order #`` is ``order``, ``Customer E-mail`` is ``customer_e-mail``).
A mapped column missing from the table is an error naming it.

Rules:

* ``revenue`` is the order's net revenue as the merchant defines it, taken as is, in the
  shop's currency; ``amount_unit=cents`` (not a column) reads every amount column in cents, as
  is a column whose name says so (``amount_cents``; :func:`cents_columns`).
  ``gross_revenue`` defaults to it (to an order's rows of a positive amount, where it has
  refund rows: below); the other amounts default to 0. ``refunded``, ``tax`` and
  ``shipping`` are reported, not subtracted from it, and a note says so.
* ``customer_id`` is the cell trimmed, in NFC and without the characters that show nothing (a
  zero-width space, a byte-order mark, a soft hyphen; in an address a zero-width joiner too:
  :func:`valuecast.io._build.visible_ids`), as is an ``email`` cell; values containing ``@``
  (emails) are also lower-cased and copied to ``email``. Ids of digits written with and without
  leading zeros (``00123``, ``123``: a spreadsheet drops them) stay apart, as written, and a note
  names them; so do ids written in several letter cases (``C0001``, ``c0001``). An empty
  customer cell makes a guest order, and so does a placeholder written where there is no
  customer (:data:`GUEST_PLACEHOLDERS`: ``Guest``, ``NULL``, ``N/A``,
  ``-`` ..., in any case), or a placeholder address typed for a phone or in-store order
  (``noemail@shop.com``, ``none@none.com``, ``pos@``: :data:`valuecast.io._build.PLACEHOLDER_ADDRESS`):
  a note counts those rows.
* ``email`` in a column of its own names the customer of a row without one: the customer whose
  rows carry the same address (compared lower-cased: a registered customer's guest checkout),
  when they all name one, else the address lower-cased (an address two ids share links
  nothing), as :func:`valuecast.io._build.with_emails` reads them; a cell without ``@``
  (``n/a``, ``-``) is no address, nor the order's e-mail, which audience files send, and
  neither is a placeholder address (``noemail@shop.com``; a note counts those rows). Within an order, a row naming its customer by its cell comes before one named by its
  e-mail. A note counts the orders given to a customer so.
* ``phone`` (read only when mapped) names the customer of a row without a customer cell or an
  e-mail, or with a placeholder in it and no e-mail: ``phone:+`` and the number's digits with
  its country code, as the Shopify and WooCommerce readers identify phone-only customers
  (:mod:`valuecast.io.phones`), so
  ``+1 (616) 954-7888`` and ``+1 616-954-7888`` are one customer. ``country`` (a column of ISO
  codes or country names, per row, or, where the file has no column of that name, one country
  for every row: ``country=FR``) gives a national number such as ``(616) 954-7888`` its calling
  code; without it such a number is kept as written, and a note counts its customers (no ad
  platform matches them). A phone that rows with a customer carry belongs
  to that customer (when they all name the same one), so its rows without one join them, as
  the platform readers do (:func:`valuecast.io._build.with_phones`); a note counts them. With
  ``phone`` mapped, ``customer_id`` may be left out: every customer is then named by a phone
  number. A cell with fewer than 6 digits is no number, and its row a guest's. Whichever
  customer a row names, the cell of the latest order giving a number, and its row's country, is
  that customer's contact phone and country in the audience files (``order_contacts``, as the
  platform readers keep their orders' phones: :func:`valuecast.io._build.latest_contacts`).
* ``ordered_at`` accepts ISO timestamps, ``YYYYMMDD`` and unambiguous day/month orders (see
  :mod:`valuecast.io.csvfile`), or ``date_format``. A date before 1990 or after tomorrow is an
  error naming its row (a placeholder such as 1970-01-01, or a typo). A column of instants (a
  database's ``TIMESTAMPTZ``, a Parquet time with a zone) is read on the clock of
  ``--map time_zone`` where given, else of its own zone, and a note says when that is UTC; so is
  a column of Unix times (whole seconds or milliseconds since 1970, all of one width), in UTC.
* With an ``order_id`` column, rows sharing an id are one order: amounts are summed, the
  customer taken from its first row naming one, its time the earliest of its rows' (a refund
  row dated after the sale does not move it), other fields from the first row (a row that
  repeats another of its order in every value read, as two exports pasted into one file do, is
  summed too, and noted). Rows of one id naming two customers are an error naming the second's
  row: one number given to two orders. Order ids that are all whole numbers, some written with
  ``.0`` (``1.0``: an export saved again from a spreadsheet or pandas), are read without it, as
  customer ids are (:func:`valuecast.io._build.whole_number_ids`), so that the same orders
  keep their numbers; a note says so. Without an ``order_id`` column,
  every row is an order and its number is ``<customer>|<date as written>`` (with ``|2``, ``|3``
  ... for further rows of the same customer and time; a row without a customer cell is
  numbered as a guest's, whichever customer its e-mail gives it, and by its phone's id
  (``phone:+16169547888``), whichever customer its phone gives it), so re-reading the same or
  a longer log gives the same numbers. A workspace that stores a phone-linked order under its
  customer's number (``1001|2024-05-05``) gives it its phone's when a file numbers it so, and a
  note says so.
* An order whose revenue is negative (a return or chargeback in a transaction log) is excluded as
  ``"negative amount"``; zero is a valid amount. Empty rows are ``"empty row"``. Such an order
  takes back a sale the file does not link it to, so it is subtracted from no customer's spend,
  and a note names it and says to give a refund's rows its sale's order id, with which they are
  netted (an order of refund rows alone under the id of a sale an earlier export held is that
  sale's refund: the workspace nets them, :mod:`valuecast.store.later_refunds`). Written under
  its sale's id, a refund row is netted with the sale, and a sale so
  refunded in full (its rows adding up to zero) is excluded as ``"refunded"``: counted, it
  would be a purchase worth nothing. Where no ``gross_revenue`` or ``refunded`` column is
  mapped, an order's rows of a positive amount are its ``gross_revenue`` and those of a
  negative amount its ``refunded`` (a positive sum; :data:`REVENUE_PARTS`, as a line-level
  log's returned lines are): a partial refund booked later under the order number, as admin
  exports and accounting logs write one, is the order's refund, its net revenue unchanged. An
  excluded order's revenue in the ingest report is its rows added up.
* A till's sales export (Vend, Lightspeed) may give each sale's row, then rows of its lines and
  payments with amounts of their own, told apart by a ``Line Type`` column
  (:data:`LINE_TYPE_COLUMNS`): a row of a payment type, or of a line type beside a sale's own
  row (:data:`DETAIL_LINE_TYPES`, :data:`SALE_ROW_TYPES`), is an error naming it, since adding a
  receipt's rows up would count the sale again. Sale and return rows alone are read as any
  orders table, and so are rows of lines alone (a line-level log), each order their sum.
* A folder of Parquet files (a table written in parts, Hive partition folders included) is one
  table; a bad cell is named by its part file and row there.
* A Parquet file is read in batches, within the memory limit ``VALUECAST_MEMORY_LIMIT`` (default
  1 GB; see :func:`_parquet_table`): a file whose rows need more is an error naming it.

Line-level logs
---------------
A transaction log with one row per invoice line and no order total (the public "Online Retail"
log: ``InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID``) is read
with ``--map order_id=InvoiceNo,customer_id=CustomerID,ordered_at=InvoiceDate,quantity=Quantity,
unit_price=UnitPrice,product=Description,sku=StockCode``. Mapping any line key makes every row an
order line:

* With ``unit_price`` a row's amount is ``quantity x unit_price``; both cells are required and
  must be numbers (else an error naming the row and column), and ``revenue`` may not be mapped as
  well: which of the two the merchant meant cannot be told, so the map is refused. Without
  ``unit_price``, ``revenue`` is the row's (the line's) amount and ``quantity`` only describes it.
* A shipping line (named ``Shipping``, ``POSTAGE``, ``Versandkosten``...: no ``shipping`` column
  mapped, :mod:`valuecast.io.line_names`) is its order's shipping, not its revenue, as every
  platform's export counts it.  A gift card sold (``Gift card $50``) is no revenue: money held
  for a customer, revenue when spent on the order it pays for; an order of gift cards alone is
  excluded as ``"gift card purchase"``, and a note counts the orders that sold some beside goods.
  An order of shipping lines alone (postage paid apart) sold nothing: excluded as
  ``"shipping alone"``.
  A gift card line of a negative amount is one redeemed, a payment: it takes nothing off the
  revenue of the goods it paid for.
* Lines sharing an ``order_id`` are one order, their amounts summed (netted). Without an
  ``order_id`` column each line is an order of its own, and a note says so.
* A return line has a negative quantity or amount. An order whose lines are all returns (a
  cancellation invoice such as ``C536379``) names no sale, but each of its lines names the
  customer, the item and its price: a line taking back the customer's latest earlier order in
  the file selling that item at that price (with as many left to take back) is that sale's
  refund, netted within its order as a partial return is, and a note counts them
  (:func:`_linked_cancellations`).  The rest of a cancellation takes back a sale the file does
  not hold (one before it, or in another file): it is excluded as ``"cancellation"``, nothing
  is subtracted from any other order, and a note counts them.
* A partial return (an order with some return lines among bought ones) is netted within its order;
  an order netting below zero is excluded as ``"negative amount"``. An order's lines of a
  positive amount are its ``gross_revenue`` and those of a negative amount its ``refunded`` (a
  positive sum), where those columns are not mapped, as an orders table's refund rows are:
  its net revenue, every line added up, is the one less the other, and the ingest report shows
  the returns as refunds (an excluded order's revenue there is its lines added up: a
  cancellation's is below zero).
* The lines of counted orders become order lines (``product`` as the product name, ``sku``,
  ``quantity``, ``unit_price``), which affinity, next products, reminders and ``first_product``
  read; return lines are kept with a negative quantity (one item taken back where the line
  writes none, or writes it unsigned beside a negative amount) and count as no purchase there.
* Rows without a customer are guests' lines, as above.

CDNOW-style transaction logs
----------------------------
Whitespace-separated files like ``CDNOW_master.txt``: ``customer_id date(YYYYMMDD) quantity
amount`` with an optional header line, or the 5-field sample layout ``master_id customer_id date
quantity amount``. They are read with the orders-table rules above (source ``cdnow``).
"""

from __future__ import annotations

import difflib
import math
import os
import re
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from valuecast.io import _build
from valuecast.io.csvfile import (
    CsvFile,
    Table,
    bare_name,
    check_unique,
    currency_codes,
    find_column,
    is_parquet,
    open_csv,
    open_header,
    parquet_parts,
    symbol_currencies,
    written_in_utc,
    zone_offsets,
)
from valuecast.io.line_names import gift_card_lines, shipping_lines
from valuecast.io.phones import (
    CALLING_CODES,
    PHONE_ID_PREFIX,
    country_code,
    phone_ids,
    spoiled_phone,
)
from valuecast.io.schema import MAX_AMOUNT, ImportResult, InputError, amount_text
from valuecast.io.shopify import GIFT_CARD_REASON, gift_card_note

__all__ = [
    "MAP_KEYS",
    "parse_column_map",
    "read_orders",
    "read_orders_frame",
    "read_cdnow",
    "looks_like_cdnow",
]

MAP_KEYS: dict[str, tuple[str, ...]] = {
    # an id or an e-mail address before ``customer``, which is as often a name two people share
    "customer_id": ("customer_id", "client_id", "user_id", "customer_number", "customer_no",
                    "customer_code", "customer_email", "customer_e-mail", "email", "e-mail",
                    "email_address", "customer"),
    "ordered_at": ("ordered_at", "order_date", "date", "created_at", "order_datetime",
                   "transaction_date", "timestamp", "datetime", "date_created", "created",
                   "created_date", "order_created", "sale_date", "purchase_date"),
    # an amount without tax before one with it
    "revenue": ("revenue", "net_revenue", "net_sales", "amount", "total", "value", "sales",
                "order_total",
                "dollar_value", "total_excl_vat", "total_excl_tax", "total_ex_vat",
                "total_incl_vat", "total_incl_tax", "grand_total"),
    "order_id": ("order_id", "order_number", "order", "order_no", "transaction_id", "invoice",
                 "invoice_no", "invoice_number", "receipt", "receipt_number", "receipt_no",
                 "sale_id"),
    # read beside a customer id or number (as the customer's e-mail, for the audience files)
    "email": ("email", "customer_email", "customer_e-mail", "e-mail", "email_address"),
    "currency": ("currency", "currency_code"),
    "channel": ("channel", "source"),
    "discount_code": ("discount_code", "coupon_code", "coupon"),
    "gross_revenue": ("gross_revenue",),
    "discount": ("discount",),
    "tax": ("tax",),
    "shipping": ("shipping",),
    "refunded": ("refunded",),
    "accepts_marketing": ("accepts_marketing",),
    "status": (),
    "quantity": (),
    "unit_price": (),
    "product": (),
    "sku": (),
    "phone": (),
    "country": (),
}  # fmt: skip
REQUIRED = ("customer_id", "ordered_at", "revenue")
OPTION_KEYS = ("date_format", "time_zone")
"""Map keys that name no column: a ``strptime`` format reading the dates of any export, and
the store's time zone, into which a Magento ``sales_order`` table's UTC times are shifted."""
AMOUNT_UNIT_KEY = "amount_unit"
"""The map key saying what unit the amount columns are written in (:data:`AMOUNT_UNITS`); like a
column it makes the file an orders table, whose amounts it applies to."""
AMOUNT_UNITS = {"cents": 100, "units": 1}
"""Amounts per unit of the shop's currency: ``cents`` (a warehouse's integer ``amount``, as
Stripe's API stores it: 1250 is 12.50) or ``units`` (as written, the default)."""
AMOUNT_KEYS = ("gross_revenue", "discount", "tax", "shipping", "refunded")
REVENUE_PARTS = {"gross_revenue": 1, "refunded": -1}
"""The amounts an order's rows of revenue make where no column gives them, each with the sign
that makes a row's revenue its part of it where above zero: the rows of a positive amount (goods
sold) add up to its ``gross_revenue``, those of a negative one (a returned line, a refund row
under the sale's order id) to its ``refunded``, and its net revenue, every row added up, is the
one less the other, as a shop's own export writes a return as a refund off its order's sales."""
LINE_KEYS = ("quantity", "unit_price", "product", "sku")
"""Keys that make every row an order line; they are read only when mapped (no usual names)."""
PHONE_KEYS = ("phone", "country")
"""Keys that identify the customers of rows without a customer cell by their phone number; read
only when mapped (a table's phone column may be the shop's, not the buyer's)."""


def parse_column_map(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """``"customer_id=Customer,ordered_at=Date,revenue=Amount"`` -> dict (validated keys).

    A column whose name holds a comma is written in double quotes, as a CSV cell is:
    ``revenue="Total (USD, incl tax)"`` (a quote inside it doubled)."""
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        items = list(spec.items())
    else:
        items = []
        for part in _map_parts(str(spec)):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            value = _unquoted(value.strip())
            if not sep or not value.strip():
                raise InputError("--map", f"expected KEY=COLUMN, got {part.strip()!r}")
            items.append((key, value))
    mapping = {}
    for key, value in items:
        key = str(key).strip().lower()
        if key not in MAP_KEYS and key not in OPTION_KEYS and key != AMOUNT_UNIT_KEY:
            known = ", ".join([*MAP_KEYS, *OPTION_KEYS, AMOUNT_UNIT_KEY])
            raise InputError("--map", f"unknown key {key!r} (known: {known})")
        value = str(value).strip()
        if mapping.get(key, value) != value:
            # two --map options (or one naming it twice): which column was meant is unknown
            raise InputError(
                "--map", f"{key} is given twice ({mapping[key]!r} and {value!r}): give it once"
            )
        mapping[key] = value
    if "time_zone" in mapping:
        mapping["time_zone"] = time_zone_name(mapping["time_zone"])
    if "date_format" in mapping:
        _check_date_format(mapping["date_format"])
    if AMOUNT_UNIT_KEY in mapping:
        mapping[AMOUNT_UNIT_KEY] = _amount_unit(mapping[AMOUNT_UNIT_KEY])
    _check_line_keys(mapping)
    if "country" in mapping and "phone" not in mapping:
        raise InputError(
            "--map", "country needs phone (it gives national phone numbers their calling code)"
        )
    return mapping


def _check_date_format(fmt: str) -> None:
    """Refuse a ``date_format`` that is no ``strptime`` format (``%Q``) before any file is
    read: the error is the map's, not the file's."""
    from datetime import UTC, datetime

    try:  # an instant with its zone, so that %z and %Z write something to read back
        datetime.strptime(datetime(2024, 3, 5, 14, 30, tzinfo=UTC).strftime(fmt), fmt)
    except ValueError as error:
        raise InputError(
            "--map", f"date_format {fmt!r} is not a date format ({error}); write it as "
            "strptime does, e.g. %d/%m/%Y"
        ) from None  # fmt: skip


def _map_parts(spec: str) -> list[str]:
    """``spec`` split at its commas outside double quotes."""
    parts, current, quoted = [], [], False
    for char in spec:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted:
        raise InputError("--map", f"a double quote is never closed: {spec.strip()!r}")
    parts.append("".join(current))
    return parts


def _unquoted(value: str) -> str:
    """A column name as written in the map: a quoted one without its quotes, doubled quotes
    inside it single."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('""', '"')
    return value


def maps_columns(mapping: Mapping[str, str]) -> bool:
    """Whether a parsed column map names columns (an orders table), not only the
    :data:`OPTION_KEYS` (which apply to other formats too)."""
    return any(key not in OPTION_KEYS for key in mapping)


def time_zone_name(written: str) -> str:
    """The IANA name of the time zone ``written`` (``Europe/Paris``, any case), or an error
    naming it."""
    name = written.strip()
    try:
        zoneinfo.ZoneInfo(name)
        return name
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    by_case = {known.lower(): known for known in zoneinfo.available_timezones()}
    if name.lower() in by_case:
        return by_case[name.lower()]
    raise InputError(
        "--map",
        f"unknown time zone {name!r} in time_zone (give the store's time zone by its IANA "
        "name, such as Europe/Paris or America/New_York)",
    )


def _amount_unit(written: str) -> str:
    """The unit ``amount_unit`` names (:data:`AMOUNT_UNITS`), or an error naming it."""
    unit = written.strip().lower()
    if unit not in AMOUNT_UNITS:
        raise InputError(
            "--map",
            f"amount_unit is cents (amounts written in cents: 1250 is 12.50) or units (as "
            f"written), not {written.strip()!r}",
        )
    return unit


def cents_columns(cols: Mapping[str, str | None], mapping: Mapping[str, str]) -> list[str]:
    """The amount columns read in cents: every one with ``amount_unit=cents``, none with
    ``units``, else those whose name says so (``amount_cents``, ``TotalCents``,
    ``Total (in cents)``), which read as written would make every order a hundred times its
    worth."""
    amounts = [cols.get(key) for key in ("revenue", "unit_price", *AMOUNT_KEYS)]
    amounts = [column for column in dict.fromkeys(amounts) if column is not None]
    unit = mapping.get(AMOUNT_UNIT_KEY)
    if unit is not None:
        return amounts if unit == "cents" else []
    return [column for column in amounts if "cents" in _name_words(column)]


def _name_words(name: str) -> list[str]:
    """The words of a column name, lower-cased: ``amountCents`` and ``amount_cents`` both hold
    ``cents``."""
    return [word.lower() for word in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


def cents_note(cents: list[str], mapping: Mapping[str, str]) -> list[str]:
    """The note naming the columns read in cents because their names say so."""
    if not cents or AMOUNT_UNIT_KEY in mapping:
        return []
    named = ", ".join(repr(column) for column in cents)
    return [
        f"{named} read in cents, as the name says (1250 is 12.50); --map amount_unit=units "
        "reads the amounts as written"
    ]


def _check_line_keys(mapping: dict[str, str]) -> None:
    """A row's amount is either ``revenue`` or ``quantity x unit_price``: refuse a map naming
    both (which one the merchant meant cannot be told), and a unit price without a quantity."""
    if "unit_price" not in mapping:
        return
    if "revenue" in mapping:
        raise InputError(
            "--map",
            "give revenue (each row's amount) or quantity and unit_price (each row's amount is "
            "their product), not both",
        )
    if "quantity" not in mapping:
        raise InputError("--map", "unit_price needs quantity (a line's amount is their product)")


def resolve_columns(source: CsvFile | Table, mapping: dict[str, str]) -> dict[str, str | None]:
    """The file's column for each map key (``None`` where absent); a mapped column or a required
    one missing from the file is an error naming it."""
    cols: dict[str, str | None] = {}
    for key, aliases in MAP_KEYS.items():
        if key in mapping:
            found = source.find(mapping[key])
            if found is None and key == "country" and every_row_country(mapping):
                cols[key] = None  # a country every row is in, not a column
                continue
            if found is None:
                raise InputError(
                    source.name,
                    f"column given for {key} in --map is not in the file"
                    + _header_hint(getattr(source, "header", []), mapping[key]),
                    row=getattr(source, "header_row", None), column=mapping[key],
                )  # fmt: skip
            cols[key] = found
        elif key == "revenue" and "unit_price" in mapping:
            cols[key] = None  # each line's amount is quantity x unit_price
        elif key in REQUIRED:
            found = source.find(*NET_REVENUE_COLUMNS) if key == "revenue" else None
            found = found or source.find(*aliases)
            if found is None and key == "customer_id" and "phone" in mapping:
                cols[key] = None  # every customer is named by a phone number
                continue
            if found is None:
                raise InputError(
                    source.name,
                    f"required column is missing (name the {key} column with --map {key}=COLUMN)",
                    row=getattr(source, "header_row", None),
                    column=key,
                )
            cols[key] = found
        else:
            cols[key] = source.find(*aliases) if aliases else None
    if "customer_id" not in mapping and cols["customer_id"] is not None:
        cols["customer_id"] = _customer_column(source, cols["customer_id"])
    if "email" not in mapping and cols["email"] == cols["customer_id"]:
        cols["email"] = None  # the customer's cell is its e-mail, lower-cased as the id is
    return cols


MAX_NAMES_IN_HINT = 12
"""Header names an error lists at most: a wide admin export's 80 would fill the screen."""


def _header_hint(header: list[str], name: str) -> str:
    """What to write instead of a mapped column the file lacks: the header's name closest to it
    (a typo, ``Kunde (Email)`` for ``Kunde (E-Mail)``), else the header's names."""
    by_bare = {bare_name(column): column for column in header}
    close = difflib.get_close_matches(bare_name(name), list(by_bare), n=1, cutoff=0.6)
    if close:
        return f" (did you mean {by_bare[close[0]]!r}?)"
    if not header:
        return ""
    shown = ", ".join(header[:MAX_NAMES_IN_HINT])
    more = f", ... ({len(header):,} in all)" if len(header) > MAX_NAMES_IN_HINT else ""
    return f" (its columns: {shown}{more})"


NET_REVENUE_COLUMNS = ("revenue", "net_revenue", "net_sales", "total_excl_vat", "total_excl_tax",
                       "total_ex_vat")  # fmt: skip
"""The usual names of an amount without tax, preferred to any other amount column, even where
only their name without punctuation matches (``Total (excl. VAT)`` beside a ``Total`` that
holds the tax)."""

EMAIL_COLUMNS = tuple(name for name in MAP_KEYS["customer_id"] if name in MAP_KEYS["email"])
"""The usual names of an e-mail column, in the order the customer id looks them up."""


def _customer_column(source: CsvFile | Table, found: str) -> str:
    """The column identifying customers where the usual names found ``found``: an e-mail column
    gives way to a ``customer`` column of ids (``C1042``, ``1042``: the customer's record, kept
    for the orders without an address), not to one of names (``Jane Smith``, ``Jane``, which two
    people share).  Ids are told by their digits: at least half of the column's first cells hold
    one, and fewer than half read as two words of a name."""
    customer = source.find("customer")
    if customer is None or customer == found or source.find(*EMAIL_COLUMNS) != found:
        return found
    values = source.first_values(customer)
    numbered = sum(1 for value in values if any(char.isdigit() for char in value))
    names = sum(1 for value in values if _PERSON_NAME.search(value))
    ids = bool(values) and numbered * 2 >= len(values) and names * 2 < len(values)
    return customer if ids else found


_PERSON_NAME = re.compile(r"[^\W\d_](?:[.,]\s*|\s+)[^\W\d_]")
"""Two words of letters, apart or after a comma or a dot (``Smith, Jane``, ``SMITH,JANE``,
``Dr. Li``, as accounting exports write names): a person's or a company's name, which an id
never is."""


def read_orders(
    source: str | Path | CsvFile | Table, column_map: str | Mapping[str, str] | None = None
) -> ImportResult:
    """Read an orders table from a CSV or Parquet file (by the ``.parquet``/``.pq`` suffix), or
    from a folder of Parquet parts."""
    mapping = parse_column_map(column_map)
    if not isinstance(source, CsvFile | Table) and is_parquet(source):
        table, header, notes = _parquet_table(Path(source), mapping)  # the mapped columns only
        result = _orders(table, resolve_columns(table, mapping), mapping, "orders", header)
        result.notes[:0] = notes  # how the file was read, before what its rows hold
        return result
    csv = source if isinstance(source, CsvFile | Table) else open_csv(source)
    cols = resolve_columns(csv, mapping)
    line_type = csv.find(*LINE_TYPE_COLUMNS)
    wanted = [c for c in dict.fromkeys([*cols.values(), line_type]) if c is not None]
    table = csv.read(wanted, dictionary=_parsed(cols))
    if line_type is not None:
        check_line_types(table, line_type)
    return _orders(table, cols, mapping, "orders", list(csv.header))


LINE_TYPE_COLUMNS = ("line_type", "row_type", "record_type")
"""Names of the column a till's sales export (Vend, Lightspeed) tells a sale's own row from the
rows of its lines and payments with."""

ITEM_LINE_TYPES = frozenset({"sale line", "line", "line item", "item", "product"})
PAYMENT_LINE_TYPES = frozenset({"payment", "tender"})
DETAIL_LINE_TYPES = ITEM_LINE_TYPES | PAYMENT_LINE_TYPES
"""Line types (lower-cased, ``_``/``-`` as spaces) of a row that details a sale: its amount is
part of the sale's, not another."""

SALE_ROW_TYPES = frozenset({"sale", "return"})
"""Line types of a sale's own row, whose amount its item lines' rows would count again."""


def check_line_types(table: Table, column: str) -> None:
    """Refuse a table whose line-type column marks rows of a sale's payments, or rows of its
    lines beside the sale's own row (:data:`DETAIL_LINE_TYPES`): an order's rows are added up,
    which would count each sale again. Rows of lines alone (a line-level log) add up to their
    sale."""
    written = table.text_series(column)
    types = _build.per_distinct(written, _status_words)
    sales = bool(types.isin(SALE_ROW_TYPES).any())
    detail = types.isin(DETAIL_LINE_TYPES if sales else PAYMENT_LINE_TYPES).to_numpy(bool)
    if not detail.any():
        return
    row = int(np.flatnonzero(detail)[0])
    if sales:
        gives, keep = "lines or payments on rows of their own beside the sale's row", "sales' own"
    else:
        gives, keep = "payments on rows of their own beside its lines", "lines'"
    raise table.error(
        f"a {written.iloc[row]!r} row: the file gives each sale's {gives}, and adding them up "
        f"would count the sale again; keep only the {keep} rows (filter column {column!r} in the "
        "spreadsheet) and give the file again",
        row,
        column,
    )


def _parsed(cols: dict[str, str | None]) -> list[str]:
    """Columns parsed as dates or amounts, and only those: read dictionary-encoded."""
    numeric = ("ordered_at", "revenue", "quantity", "unit_price", *AMOUNT_KEYS)
    parsed = {cols[key] for key in numeric} - {None}
    text = {cols[key] for key in cols if key not in numeric}
    return sorted(column for column in parsed - text if column is not None)


def read_orders_frame(
    frame: pd.DataFrame,
    column_map: str | Mapping[str, str] | None = None,
    name: str = "orders",
) -> ImportResult:
    """The same rules on a DataFrame (a DuckDB/PostgreSQL table the engine read)."""
    mapping = parse_column_map(column_map)
    table = Table.from_frame(frame, name)
    table.unordered = True
    return _orders(table, resolve_columns(table, mapping), mapping, "orders")


MEMORY_LIMIT_VARIABLE = "VALUECAST_MEMORY_LIMIT"
"""The memory limit of the workspace's DuckDB, which also bounds what a Parquet read may hold."""

DEFAULT_MEMORY_LIMIT = "1GB"

ROW_BYTES = 600
"""Memory the import of one Parquet row holds besides its values (parsed dates and amounts, order
numbers, the canonical frame, the workspace write): 1M rows of three short columns took 0.61 GB."""

_BATCH_ROWS = 1 << 20

_UNITS = {"": 1, "b": 1, "bytes": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6,
          "g": 10**9, "gb": 10**9, "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20,
          "gib": 2**30, "tib": 2**40}  # fmt: skip


def memory_budget() -> int:
    """Bytes a Parquet file's rows may take in memory: ``VALUECAST_MEMORY_LIMIT`` (DuckDB's
    notation, e.g. ``4GB`` or ``512MiB``), else 1 GB. A value this cannot read gives the default
    here; opening the workspace reports one DuckDB cannot read either."""
    given = memory_size_bytes(os.environ.get(MEMORY_LIMIT_VARIABLE) or "")
    return given or memory_size_bytes(DEFAULT_MEMORY_LIMIT) or 10**9


def memory_size_bytes(text: str) -> int | None:
    """A memory size in DuckDB's notation in bytes: ``"4GB"`` -> 4e9, ``"2.7 GiB"`` (as DuckDB
    shows a limit) -> 2.7 * 2**30 (KB, MB ... are powers of 1000, KiB, MiB ... of 1024, as in
    DuckDB); None for text that is not one."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text.strip().lower())
    if match is None or match[2] not in _UNITS:
        return None
    return int(float(match[1]) * _UNITS[match[2]])


def _parquet_table(path: Path, mapping: dict[str, str]) -> tuple[Table, list[str], list[str]]:
    """The mapped columns of a Parquet file, or of a folder's Parquet parts as one table
    (:func:`~valuecast.io.csvfile.parquet_parts`), read in batches within :func:`memory_budget`;
    the header (every column's name); and a note for each part without a column others have.

    Parquet compresses repeated values to almost nothing (30M identical rows take 363 KB), so the
    file's size says nothing about its rows' memory. The row count and uncompressed size in the
    files' metadata are checked before any row is read, then every batch's decoded size (text
    columns are read dictionary-encoded, so a short dictionary repeated over many rows is
    counted, not decoded) before it is kept. A file beyond the budget is an error naming
    ``VALUECAST_MEMORY_LIMIT``; nothing valid is dropped. A part's Hive partition folders
    (``country=DE/``) are columns of its rows, as Spark and Arrow read them. A part without a
    column the other parts have (a ``channel`` added to the table later) has it empty, as Spark's
    ``mergeSchema`` and DuckDB's ``union_by_name`` read it, and a note names it; a part without
    a column of :data:`PART_KEYS` is an error, since its rows would have no customer, date,
    amount or order.
    """
    name = str(path)
    parts = parquet_parts(path) or [path]
    budget = memory_budget()
    try:
        schemas = [(part, pq.read_schema(part), _partition_values(path, part)) for part in parts]
        header = _header(schemas)
        cols = resolve_columns(HeaderOnly(name, header, parquet_first_values(path)), mapping)
        columns = [c for c in dict.fromkeys(cols.values()) if c]
        essential = _part_columns(cols)
        _check_metadata(name, [pq.read_metadata(part) for part in parts], columns, budget)
        tables, needed, starts, rows = [], 0, [], 0
        lacking: dict[str, list[tuple[str, int]]] = {}  # a column: the parts without it, rows
        for part, schema, keys in schemas:
            part_name = str(part)
            missing = [c for c in columns if c not in schema.names and c not in keys]
            if any(c in essential for c in missing):
                column = next(c for c in missing if c in essential)
                raise InputError(part_name, f"has no column {column!r}, which the other parts have")
            stored = [c for c in columns if c in schema.names]
            parquet = pq.ParquetFile(part, read_dictionary=_text_columns(schema, stored) or None)
            keep_encoded = set(_parsed(cols)) & set(_text_columns(schema, stored))
            arrow, needed = _read_batches(
                part_name, parquet, schema, stored, keep_encoded, budget, needed, rows
            )
            for column in columns:
                if column in missing:
                    arrow = arrow.append_column(column, pa.nulls(arrow.num_rows))
                elif column not in schema.names:
                    value = pa.scalar(keys[column], pa.string())
                    arrow = arrow.append_column(column, pa.repeat(value, arrow.num_rows))
            for column in missing:
                lacking.setdefault(column, []).append((part_name, arrow.num_rows))
            tables.append(arrow.select(columns))
            starts.append((part_name, rows))
            rows += arrow.num_rows
        arrow = _concatenated(name, tables, starts)
    except (OSError, pa.ArrowException) as error:
        raise InputError(name, f"cannot read the Parquet file: {error}") from None
    table = Table.from_arrow(arrow, name)
    if len(parts) > 1:
        table.parts = starts
    return table, header, _missing_columns_notes(lacking)


PART_KEYS = ("customer_id", "ordered_at", "revenue", "order_id", "quantity", "unit_price")
"""Keys whose column every part of a folder must have: without it a part's rows would have no
customer, date, amount or order number (``phone`` too, where it alone names the customers)."""


def _part_columns(cols: dict[str, str | None]) -> set[str]:
    """The columns of :data:`PART_KEYS` (and of ``phone`` without a customer column) in ``cols``."""
    keys = [*PART_KEYS, *(("phone",) if cols["customer_id"] is None else ())]
    return {column for key in keys if (column := cols[key]) is not None}


def _missing_columns_notes(lacking: dict[str, list[tuple[str, int]]]) -> list[str]:
    """A note for each column some parts have not (``lacking``: the parts without it and their
    rows), naming the part, or the first of several (a year of daily parts gives one note)."""
    notes = []
    for column, parts in lacking.items():
        rows = sum(count for _, count in parts)
        if len(parts) == 1:
            where = f"{parts[0][0]} has no column {column!r}, which other parts have: its"
        else:
            where = (
                f"{len(parts):,} parts ({parts[0][0]} the first) have no column {column!r}, "
                "which other parts have: their"
            )
        notes.append(f"{where} {rows:,} {'row is' if rows == 1 else 'rows are'} read with it empty")
    return notes


def _header(schemas: list[tuple[Path, pa.Schema, dict[str, str | None]]]) -> list[str]:
    """The columns of the first part as written (two alike are the importer's error), then
    its partition folders' and any other part's further ones."""
    _, first, keys = schemas[0]
    header = [*first.names, *(key for key in keys if key not in first.names)]
    for _, schema, keys in schemas[1:]:
        header += [c for c in dict.fromkeys([*schema.names, *keys]) if c not in header]
    return header


_HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


def _partition_values(folder: Path, part: Path) -> dict[str, str | None]:
    """The Hive partition folders between ``folder`` and its ``part`` (``year=2025/``) as
    ``{column: value}``, their values unquoted as Hive writes them (``%20``; its
    ``__HIVE_DEFAULT_PARTITION__`` is an empty cell)."""
    if part == folder:
        return {}
    keys: dict[str, str | None] = {}
    for segment in part.relative_to(folder).parts[:-1]:
        column, sep, value = segment.partition("=")
        if sep and column:
            keys[column] = None if value == _HIVE_NULL else unquote(value)
    return keys


def _concatenated(name: str, tables: list[pa.Table], starts: list[tuple[str, int]]) -> pa.Table:
    """The parts' columns as one table; a part whose column cannot take the others' type (text
    in one, numbers in another) is an error naming it and the column."""
    if len(tables) == 1:
        return tables[0]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        # each column's type is the first part's that has the column (a part without it holds
        # nulls, which take any type)
        first: dict[str, tuple[str, pa.DataType]] = {}
        for (part_name, _), table in zip(starts, tables, strict=True):
            for field in table.schema:
                if pa.types.is_null(field.type):
                    continue
                first_name, kind = first.setdefault(field.name, (part_name, field.type))
                if field.type != kind:
                    raise InputError(
                        part_name,
                        f"column holds {_type_name(field.type)} where {first_name} holds "
                        f"{_type_name(kind)}: write the parts with one type",
                        column=field.name,
                    ) from None
        raise


def _type_name(kind: pa.DataType) -> str:
    """A column type as an error names it: ``text`` for Arrow's string types, read encoded or not."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return "text" if pa.types.is_string(kind) or pa.types.is_large_string(kind) else str(kind)


def _text_columns(schema: pa.Schema, columns: list[str]) -> list[str]:
    return [
        c for c in columns
        if pa.types.is_string(schema.field(c).type) or pa.types.is_large_string(schema.field(c).type)
    ]  # fmt: skip


def _too_big(rows: str, needed: float, budget: int) -> str:
    """The error for ``rows`` (e.g. "its 30,000,000 rows") that need ``needed`` bytes."""
    return (
        f"{rows} need about {needed / 1e9:.3g} GB of memory, more than the {budget / 1e9:.3g} "
        f"GB memory limit; raise it with {MEMORY_LIMIT_VARIABLE} (e.g. "
        f"{MEMORY_LIMIT_VARIABLE}={math.ceil(needed / 1e9) + 1}GB)"
    )


def _check_metadata(
    name: str, metadatas: list[pq.FileMetaData], columns: list[str], budget: int
) -> None:
    """Refuse files whose row count and uncompressed column sizes alone pass ``budget``."""
    stored, rows = 0, 0
    for metadata in metadatas:
        rows += metadata.num_rows
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            for position in range(row_group.num_columns):
                chunk = row_group.column(position)
                if chunk.path_in_schema.split(".")[0] in columns:
                    stored += chunk.total_uncompressed_size
    needed = rows * ROW_BYTES + stored
    if needed > budget:
        raise InputError(name, _too_big(f"its {rows:,} rows", needed, budget))


def _decoded_bytes(column: pa.Array) -> int:
    """Bytes ``column`` takes once its dictionary is decoded (its own size otherwise)."""
    if not pa.types.is_dictionary(column.type):
        return column.nbytes
    lengths = pc.binary_length(column.dictionary)
    return int(pc.sum(pc.take(lengths, column.indices)).as_py() or 0) + 4 * (len(column) + 1)


def _read_batches(
    name: str,
    parquet: pq.ParquetFile,
    schema: pa.Schema,
    columns: list[str],
    keep_encoded: set[str],
    budget: int,
    needed: int = 0,
    rows: int = 0,
) -> tuple[pa.Table, int]:
    """``columns`` batch by batch, text decoded except ``keep_encoded``, and the bytes the rows
    read so far need (``needed`` and ``rows`` those of earlier parts); an error once they need
    more than ``budget``."""
    fields = [schema.field(c) for c in columns]
    out = pa.schema(
        [pa.field(f.name, pa.dictionary(pa.int32(), f.type)) if f.name in keep_encoded else f
         for f in fields]
    )  # fmt: skip
    batches = []
    for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=columns):
        needed += batch.num_rows * ROW_BYTES + sum(_decoded_bytes(c) for c in batch.columns)
        rows += batch.num_rows
        if needed > budget:
            raise InputError(name, _too_big(f"its first {rows:,} rows", needed, budget))
        batches.append(
            pa.record_batch([batch.column(f.name).cast(f.type) for f in out], schema=out)
        )
    return pa.Table.from_batches(batches, schema=out), needed


class HeaderOnly:
    """Column lookup on a header without data (for choosing what to read)."""

    def __init__(
        self,
        name: str,
        header: list[str],
        first_values: Callable[[str, int], list[str]] | None = None,
    ) -> None:
        self.name, self.header = name, header
        self._first_values = first_values

    def find(self, *aliases: str) -> str | None:
        found = find_column(self.header, aliases)
        check_unique(self.name, self.header, found, 1)  # a Parquet file may name two alike
        return found

    def first_values(self, column: str, limit: int = 200) -> list[str]:
        """The first ``limit`` non-empty cells of ``column`` where the header comes with a
        reader of them (:func:`parquet_first_values`), else none."""
        return [] if self._first_values is None else self._first_values(column, limit)


def parquet_first_values(path: Path) -> Callable[[str, int], list[str]]:
    """A reader of a column's first non-empty cells (as text, trimmed) in the Parquet file at
    ``path``, or the first part of a folder of them: one batch read, so that a Parquet file's
    columns are chosen as the same table's CSV file's are (a ``Customer`` column of ids)."""

    def read(column: str, limit: int) -> list[str]:
        part = (parquet_parts(path) or [path])[0]
        try:
            parquet = pq.ParquetFile(part)
            if column not in parquet.schema_arrow.names:  # a partition folder's column
                return []
            batch = next(parquet.iter_batches(batch_size=10 * limit, columns=[column]), None)
        except (OSError, pa.ArrowException):
            return []  # the importer names the problem
        if batch is None:
            return []
        return Table.from_arrow(pa.table(batch), str(part)).first_values(column, limit)

    return read


@dataclass
class ParsedRows:
    """An orders table's rows parsed and cleaned, one entry per data row (before grouping).

    Built from a :class:`Table` by :func:`_parse_rows`; :func:`_assemble` groups them into
    orders and an :class:`ImportResult`.
    """

    name: str
    n_rows: int
    filled: np.ndarray  # bool: the row has a value in some mapped column
    customer: pa.ChunkedArray  # cleaned; e-mail addresses lower-cased; null for guests
    ordered_at: np.ndarray  # datetime64[us], wall-clock as written
    revenue: np.ndarray  # float64
    written: pa.ChunkedArray  # the order date cell as written (cleaned)
    text: dict[str, pa.ChunkedArray | None]  # order_id, email, currency, channel, discount_code
    amounts: dict[str, np.ndarray | None]  # gross_revenue, discount, tax, shipping, refunded
    accepts_marketing: pd.Series | None  # nullable booleans, one per row
    lines: LineRows | None = None  # when a line key is mapped: every row is an order line
    # the customer cells the orders without an id are numbered by, where placeholders made
    # guests of some (None: ``customer``): the numbers do not change with that reading
    numbered_by: pa.ChunkedArray | None = None
    # the rows' (phone id, customer id) pairs, when a phone column is mapped
    phone_links: pd.DataFrame | None = None
    # per row, the phone cell where it holds a number and its country (the customers' contacts:
    # :func:`_contact_phones`), when a phone column is mapped
    contact_phones: pd.DataFrame | None = None
    # the customers named by a phone without its country code (:func:`national_phone_ids`),
    # when a phone column is mapped
    national_phones: pd.Series | None = None
    # the symbol of several currencies the amounts are written with (``$``), none named
    written_symbol: str | None = None
    # the rows without a customer cell named by their e-mail (:func:`_build.with_emails`), and
    # those of them given the customer whose rows carry it (None: no such row)
    by_email: np.ndarray | None = None
    emailed: np.ndarray | None = None
    # the lines selling a gift card (None: no such line), whose amount is no revenue
    gift_cards: np.ndarray | None = None
    # the shipping lines (None: no such line), whose amount is their order's shipping
    shipping_rows: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    order_id_column: str | None = None  # the column mapped as order_id, as the file names it


@dataclass
class LineRows:
    """The order-line fields of an orders table whose rows are lines (a line key is mapped)."""

    quantity: np.ndarray  # float64, NaN where not given
    unit_price: np.ndarray  # float64, NaN where not given
    product: pa.ChunkedArray  # cleaned text, null where empty
    sku: pa.ChunkedArray
    # each line's amount, a shipping line's included (the revenue leaves it out), which tells
    # the lines that take something back
    amount: np.ndarray | None = None

    def returns(self, amount: np.ndarray) -> np.ndarray:
        """Per row, whether the line takes something back: a negative quantity or amount."""
        return (np.nan_to_num(self.quantity) < 0) | (np.nan_to_num(amount) < 0)

    def signed_quantity(self, amount: np.ndarray) -> np.ndarray:
        """Per row, the line's quantity as its order's lines are netted by: a return line's
        items are taken back (negative), one item where it writes no quantity, as a line
        without a quantity counts one bought; other lines keep the quantity as written."""
        taken_back = -np.abs(np.where(np.isnan(self.quantity), 1.0, self.quantity))
        return np.where(self.returns(amount), taken_back, self.quantity)


_TEXT_KEYS = ("order_id", "email", "currency", "channel", "discount_code", "status")

EXCLUDED_STATUSES: dict[str, str] = {
    "cancelled": "cancelled", "canceled": "cancelled", "cancel": "cancelled",
    "voided": "voided", "void": "voided",
    "failed": "failed", "declined": "failed", "denied": "failed", "payment failed": "failed",
    "refunded": "refunded", "fully refunded": "refunded", "reversed": "refunded",
    "chargeback": "refunded", "charged back": "refunded",
    "draft": "draft", "checkout draft": "draft", "deleted": "draft", "trash": "draft",
    # a till's sale parked before it is paid (Vend, Lightspeed)
    "saved": "draft", "parked": "draft",
    "expired": "expired",
}  # fmt: skip
"""A mapped ``status`` (lower-cased, ``_`` and ``-`` read as spaces, a ``wc-`` prefix dropped;
a translated label as its English word, :data:`TRANSLATED_STATUSES`) that leaves its order
out, and under which reason (the platforms' own words and Stripe's, PayPal's, Etsy's and
accounting tools')."""

COUNTED_STATUSES = frozenset({
    "paid", "completed", "complete", "processing", "shipped", "delivered", "fulfilled",
    "partially fulfilled", "unfulfilled", "authorised", "authorized", "succeeded", "success",
    "captured", "settled", "pending", "on hold", "partially refunded", "partially paid", "open",
    "sent", "submitted", "approved", "confirmed", "awaiting shipment", "ready for pickup",
    "picked up", "sold", "invoiced", "active", "new",
    # a till's sales (Vend, Lightspeed): paid, on the customer's account, or a layby being paid
    "closed", "on account", "onaccount", "on account closed", "onaccount closed", "layby",
    "layby closed", "awaiting dispatch", "awaiting pickup", "dispatched closed",
    "picked up closed",
    # not paid yet: counted, and named in a note (:data:`UNPAID_STATUSES`)
    "pending payment", "payment pending", "awaiting payment", "unpaid", "not paid",
})  # fmt: skip
"""Statuses known to be sales; any other a mapped ``status`` holds is named in a note."""

UNPAID_STATUSES: dict[str, str] = {
    "pending": "pending", "pending payment": "pending payment",
    "payment pending": "pending payment", "awaiting payment": "awaiting payment",
    "unpaid": "unpaid", "not paid": "unpaid", "partially paid": "partially paid",
    "on hold": "on hold",
}  # fmt: skip
"""The counted statuses of an order not paid yet (as :func:`_status_of` reads them; ``on hold``
is WooCommerce's bank transfer awaited), by the label the note counting them gives, as the
platforms' readers count theirs (:func:`valuecast.io._build.unpaid_orders_note`)."""

TRANSLATED_STATUSES: dict[str, tuple[str, ...]] = {
    "cancelled": ("storniert", "abgebrochen", "annulliert", "annulée", "annulé", "cancelado",
                  "cancelada", "anulado", "anulada", "cancellato", "cancellata", "annullato",
                  "annullata", "geannuleerd"),
    "refunded": ("rückerstattet", "erstattet", "zurückerstattet", "remboursée", "remboursé",
                 "reembolsado", "reembolsada", "estornado", "estornada", "rimborsato",
                 "rimborsata", "terugbetaald"),
    "failed": ("fehlgeschlagen", "échouée", "échoué", "échec", "fallido", "fallida", "fallito",
               "fallita", "non riuscito", "mislukt", "malsucedido", "malsucedida", "falhou",
               "falhado", "falhada", "com falha"),
    "draft": ("entwurf", "brouillon", "borrador", "bozza", "concept", "rascunho"),
    "expired": ("abgelaufen", "expiré", "expirée", "expirado", "expirada", "caducado",
                "caducada", "scaduto", "scaduta", "verlopen"),
    "partially refunded": ("teilweise erstattet", "teilweise rückerstattet", "teilerstattet",
                           "partiellement remboursé", "partiellement remboursée",
                           "remboursement partiel", "parcialmente reembolsado",
                           "parcialmente reembolsada", "reembolso parcial",
                           "parzialmente rimborsato", "parzialmente rimborsata",
                           "rimborso parziale", "gedeeltelijk terugbetaald",
                           "parcialmente estornado", "parcialmente estornada"),
    "paid": ("bezahlt", "payé", "payée", "pagado", "pagada", "pagato", "pagata", "betaald",
             "pago", "paga"),
    "pending": ("ausstehend", "zahlung ausstehend", "offen", "en attente",
                "en attente de paiement", "paiement en attente", "pendiente",
                "pendiente de pago", "pago pendiente", "in attesa", "in attesa di pagamento",
                "in afwachting", "in afwachting van betaling", "pendente",
                "pagamento pendente", "aguardando pagamento"),
    "processing": ("in bearbeitung", "en cours", "en traitement", "procesando", "en proceso",
                   "in lavorazione", "in elaborazione", "in behandeling", "em processamento"),
    "on hold": ("in wartestellung", "angehalten", "en suspens", "en espera", "in sospeso",
                "in de wacht", "em espera"),
    "completed": ("abgeschlossen", "erledigt", "terminée", "terminé", "complétée", "complété",
                  "completado", "completada", "completato", "completata", "voltooid",
                  "afgerond", "concluído", "concluída"),
    "shipped": ("versendet", "versandt", "verschickt", "expédiée", "expédié", "enviado",
                "enviada", "spedito", "spedita", "verzonden"),
    "delivered": ("geliefert", "zugestellt", "livrée", "livré", "entregado", "entregada",
                  "consegnato", "consegnata", "bezorgd", "geleverd"),
}  # fmt: skip
"""The statuses of :data:`EXCLUDED_STATUSES` and :data:`COUNTED_STATUSES` by their labels in a
shop system or admin written in German, French, Spanish, Italian, Dutch or Portuguese (a European
shop's own export: ``Storniert``, ``Remboursée``, ``Fallido``), compared without case or accents:
the usual wordings, both genders, as the WooCommerce and Magento readers read their labels."""
_TRANSLATED_STATUS = _build.label_lookup(TRANSLATED_STATUSES)


def _money(table: Table, column: str | None, cents: list[str]) -> np.ndarray:
    """The amounts of ``column`` in the shop's currency (those of a column in ``cents``
    divided by 100: the division is exact to the last bit, as reading ``12.50`` is)."""
    amounts = table.money(column)
    return amounts / 100 if column is not None and column in cents else amounts


def _row_amounts(
    table: Table, cols: dict[str, str | None], filled: np.ndarray, cents: list[str]
) -> tuple[np.ndarray, LineRows | None]:
    """Each row's amount (``revenue``, or ``quantity x unit_price``) and its line fields;
    ``cents``: the amount columns written in cents."""
    if not any(cols[key] for key in LINE_KEYS):
        return _money(table, cols["revenue"], cents), None
    # the amounts first: a file writing them 12,50 writes a quantity of 1,500 kg as 1.5
    unit_price = _money(table, cols["unit_price"], cents)
    amount = _money(table, cols["revenue"], cents) if cols["unit_price"] is None else None
    decimal_comma = bool({cols["unit_price"], cols["revenue"]} & table.decimal_commas)
    lines = LineRows(
        quantity=table.number(cols["quantity"], decimal_comma),
        unit_price=unit_price,
        product=table.text(cols["product"], strip_apostrophe=False),
        sku=table.text(cols["sku"]),
    )
    if amount is not None:
        lines.amount = amount
        return lines.amount, lines
    for values, key in ((lines.quantity, "quantity"), (lines.unit_price, "unit_price")):
        gap = filled & np.isnan(values)
        if gap.any():
            raise table.error("value is missing", int(np.flatnonzero(gap)[0]), cols[key])
    amount = lines.quantity * lines.unit_price
    beyond = np.abs(np.nan_to_num(amount)) > MAX_AMOUNT
    if beyond.any():
        row = int(np.flatnonzero(beyond)[0])
        raise table.error(
            f"line amount {lines.quantity[row]:g} x {lines.unit_price[row]:g} is out of range "
            f"(more than {MAX_AMOUNT:,.0f} either way): not a plausible amount",
            row,
            cols["unit_price"],
        )
    lines.amount = amount
    return amount, lines


def _shipping_apart(
    amount: np.ndarray, lines: LineRows
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The lines' revenue, shipping and which lines are shipping: a shipping line's amount
    (``Shipping``, ``POSTAGE``: :func:`valuecast.io.line_names.shipping_lines`) is its order's
    shipping, as every platform's export counts it apart from the revenue; ``None`` for the
    shipping and the lines where no line is one."""
    shipping = shipping_lines(lines.product, lines.sku)
    if not shipping.any():
        return amount, None, None
    return np.where(shipping, 0.0, amount), np.where(shipping, amount, 0.0), shipping


def _parse_rows(table: Table, cols: dict[str, str | None], mapping: dict[str, str]) -> ParsedRows:
    n_rows = table.num_rows
    filled = np.zeros(n_rows, dtype=bool)
    for column in dict.fromkeys(cols.values()):
        if column is not None:
            filled |= table.nonempty(column)
    ordered_at = _order_times(table, cols["ordered_at"], mapping)
    cents = cents_columns(cols, mapping)
    revenue, lines = _row_amounts(table, cols, filled, cents)
    for values, key in ((ordered_at, "ordered_at"), (revenue, "revenue")):
        gap = filled & pd.isna(values)
        if gap.any():
            raise table.error("value is missing", int(np.flatnonzero(gap)[0]), cols[key])
    _build.check_order_dates(table, ordered_at, cols["ordered_at"])
    customer = _build.visible_ids(table.text(cols["customer_id"]))
    notes = []
    # the customer cells with each guest's placeholder (``nan``, ``Guest``) missing: no id that
    # keeps the others' ``.0``, nor one written in another case (GUEST, Guest)
    named = guests_for_placeholders(customer)
    whole = _build.whole_number_ids(customer, named)
    if whole is not None:
        customer = whole
        named = guests_for_placeholders(customer)
        notes.extend(_build.whole_number_ids_note(cols["customer_id"]))
    notes.extend(
        _build.leading_zero_ids_note(cols["customer_id"], *_build.leading_zero_ids(customer))
    )
    notes.extend(_build.case_only_ids_note(cols["customer_id"], *_build.case_only_ids(named)))
    order_ids = None
    if cols["order_id"] is not None:
        order_ids = _build.whole_number_ids(table.text(cols["order_id"]))
        if order_ids is not None:
            notes.extend(_build.whole_number_ids_note(cols["order_id"]))
    is_email = pc.fill_null(pc.match_substring(customer, "@"), False)
    if pc.any(is_email).as_py():
        customer = pc.if_else(is_email, pc.utf8_lower(customer), customer)
        named = guests_for_placeholders(customer)  # a placeholder address is found in any case
    written, customer = customer, named
    placeholders = customer.null_count > written.null_count
    links = None
    by_email = emailed = None
    email = _build.visible_ids(table.text(cols["email"])) if cols["email"] is not None else None
    if email is not None and customer.null_count:  # rows without a customer: its
        address = _build.email_addresses(email)
        linking = _build.with_emails(_build.string_series(customer), address)
        if linking.by_email.any():
            customer = pa.chunked_array([pa.array(linking.customer_id, type=customer.type)])
            by_email, emailed = linking.by_email, linking.linked
    by_phone = contact_phones = national = None
    if cols["phone"] is not None:
        named = _build.string_series(customer)
        phone_cells, countries = _phone_cells(table, cols, mapping)
        phones = phone_ids(phone_cells, countries)
        contact_phones = _contact_phones(table, cols, mapping, phones.notna().to_numpy(bool))
        ids, linked, links = _build.with_phones(named, phones)
        national = national_phone_ids(ids, named.isna().to_numpy(bool))
        notes.extend(national_phones_note(national))
        customer = pa.chunked_array([pa.array(ids, type=customer.type)])
        if linked:  # the rows given another customer than their phone's own id
            by_phone = pa.array(phones.where(named.isna()), type=customer.type)
        cells = phone_cells[named.isna().to_numpy(bool)]
        spoiled = _build.per_distinct(cells.dropna(), lambda c: c.map(spoiled_phone)).sum()
        notes.extend(_build.spoiled_note(int(spoiled), "row"))
        unusable = _build.placeholder_phone_cells(
            phone_cells, countries, (named.isna() & phones.isna()).to_numpy(bool)
        )
        notes.extend(_build.placeholder_phone_note(unusable, "row", "a customer"))
        if linked:
            notes.append(
                f"{linked:,} {'row' if linked == 1 else 'rows'} without a customer "
                f"{'belongs' if linked == 1 else 'belong'} to the customer whose rows carry the "
                "same phone"
            )
    numbered_by = None
    if placeholders or by_email is not None or by_phone is not None:
        # a row is numbered by its cell as written (a placeholder's by the word, an empty one's
        # by none) where its e-mail gives it a customer, and by its phone's own id
        # (phone:+16169547888) where its phone does: a number that changed with the customer
        # found (an address or phone that a second id carries since) would add the order again
        # to a workspace holding it
        named = customer
        if by_email is not None:
            named = pc.if_else(pa.array(by_email), pa.scalar(None, customer.type), customer)
        if by_phone is not None:
            named = pc.coalesce(by_phone, named)
        numbered_by = pc.coalesce(written, named)
    if placeholders:
        notes.extend(placeholder_note(written, customer, filled))
    if email is not None:
        dummies = _build.placeholder_cells(email, filled)
        notes.extend(_build.placeholder_rows_note(dummies))
    if cols["order_id"] is not None:
        missing = filled & ~table.nonempty(cols["order_id"])
        if missing.any():
            raise table.error(
                "row has no order id", int(np.flatnonzero(missing)[0]), cols["order_id"]
            )
    amounts = {
        key: _money(table, cols[key], cents) if cols[key] is not None else None
        for key in AMOUNT_KEYS
    }
    shipping_rows = None
    if lines is not None and cols["shipping"] is None:
        revenue, amounts["shipping"], shipping_rows = _shipping_apart(revenue, lines)
    gift_cards = gift_card_lines(lines.product) if lines is not None else None
    if gift_cards is not None and gift_cards.any():
        revenue = np.where(gift_cards, 0.0, revenue)
    else:
        gift_cards = None
    marketing = None
    if cols["accepts_marketing"] is not None:
        marketing, unread = table.flags(cols["accepts_marketing"])
        if unread:
            lowered = table.text_series(cols["accepts_marketing"]).str.lower()
            values = lowered[marketing.isna().to_numpy(bool) & lowered.notna().to_numpy(bool)]
            notes.extend(
                _build.unread_consent_note(
                    cols["accepts_marketing"], unread, sorted(values.unique())[:4]
                )
            )
    text = {key: table.text(cols[key]) if cols[key] is not None else None for key in _TEXT_KEYS}
    if order_ids is not None:
        text["order_id"] = order_ids
    if email is not None:
        text["email"] = _build.written_addresses(email)
    # the currency the amounts are written in (€12, CA$5), if any: the orders' without a
    # currency column, and the only one a currency column may give
    money_columns = [cols[key] for key in ("revenue", "unit_price", *AMOUNT_KEYS)]
    currency = table.written_currency(money_columns)
    symbol = table.written_symbol(money_columns)
    if symbol is not None and text["currency"] is not None:
        # $ is some dollar (or peso), never the euros a currency cell may name
        codes = currency_codes(text["currency"])
        allowed = pa.array(symbol_currencies(symbol), pa.string())
        other = pc.and_(pc.is_valid(codes), pc.invert(pc.is_in(codes, value_set=allowed)))
        if pc.any(other).as_py():
            row = int(np.flatnonzero(pc.fill_null(other, False).to_numpy(zero_copy_only=False))[0])
            raise table.error(
                f"currency {text['currency'][row].as_py()!r}, but the amounts are written in "
                f"{symbol}, which is never {codes[row].as_py()}: correct the currency or the "
                "amounts",
                row,
                cols["currency"],
            )
        symbol = None  # the currency column names which
    if currency is not None and text["currency"] is None:
        text["currency"] = pa.chunked_array([pa.repeat(pa.scalar(currency), n_rows)])
    elif currency is not None:
        other = pc.not_equal(currency_codes(text["currency"]), currency)  # € is EUR
        if pc.any(other).as_py():
            row = int(np.flatnonzero(pc.fill_null(other, False).to_numpy(zero_copy_only=False))[0])
            raise table.error(
                f"currency {text['currency'][row].as_py()!r}, but the amounts are written in "
                f"{currency}: correct the currency or the amounts",
                row,
                cols["currency"],
            )
        # an empty currency cell: the amounts say which
        text["currency"] = pc.coalesce(text["currency"], pa.scalar(currency, pa.string()))
    return ParsedRows(
        name=table.name,
        n_rows=n_rows,
        filled=filled,
        customer=customer,
        ordered_at=ordered_at,
        revenue=revenue,
        written=table.text(cols["ordered_at"]),
        text=text,
        amounts=amounts,
        accepts_marketing=marketing,
        lines=lines,
        numbered_by=numbered_by,
        notes=notes,
        phone_links=links,
        contact_phones=contact_phones,
        national_phones=national,
        written_symbol=symbol,
        by_email=by_email,
        emailed=emailed,
        gift_cards=gift_cards,
        shipping_rows=shipping_rows,
        order_id_column=cols["order_id"],
    )


def _order_times(table: Table, column: str | None, mapping: dict[str, str]) -> np.ndarray:
    """The rows' order times as wall-clock times: a column of instants (a database's
    ``TIMESTAMPTZ``, a Parquet time with a zone, Unix times) on the clock of ``--map time_zone``
    where it is given, else of the column's own zone (UTC for Unix times); any other column as
    written."""
    zone = mapping.get("time_zone")
    unix = unix_times(table, column)
    if unix is not None:
        return unix if zone is None else _on_clock_of(unix, zone)
    if zone is not None and column is not None and _build.zoned(table, column):
        return _build.store_times(table, column, zone)
    offsets = zone_offsets(table.text(column)) if zone is not None and column else None
    if offsets is not None:  # ISO times each written with its zone: instants
        written = table.timestamps(column, extra_formats=True, fmt=mapping.get("date_format"))
        minutes = np.nan_to_num(offsets).astype(np.int64).astype("timedelta64[m]")
        return _on_clock_of(written - minutes, zone)
    if zone is not None:
        raise InputError(
            table.name,
            "--map time_zone applies to order times with a zone (a database's TIMESTAMPTZ, or "
            "ISO times each written with one: 2024-03-05T23:30:00Z, +01:00) or Unix times; "
            "these are the shop's own time: leave time_zone out",
            column=column,
        )
    return table.timestamps(column, extra_formats=True, fmt=mapping.get("date_format"))


UNIX_UNITS = {9: 10**6, 10: 10**6, 12: 10**3, 13: 10**3}
"""Microseconds per unit of a Unix time written with this many digits: seconds (9 or 10 digits:
1990 to 2286) or milliseconds (12 or 13), as Stripe and event logs store an order's time."""


def unix_times(table: Table, column: str | None) -> np.ndarray | None:
    """The cells of ``column`` as UTC times where every one is a Unix time (whole seconds or
    milliseconds since 1970, all in one unit), else ``None``: a date written in digits
    (``20240305``) has 8."""
    if column is None:
        return None
    stored = table.arrow.column(column).type
    if any(is_kind(stored) for is_kind in _NOT_UNIX_TYPES):
        return None
    cells = table.text(column)
    unit = _unix_unit(cells)
    if unit is None:
        return None
    numbers = pc.cast(cells, pa.int64()).to_numpy(zero_copy_only=False)
    valid = np.asarray(pc.is_valid(cells).to_numpy(zero_copy_only=False), bool)
    out = np.full(table.num_rows, np.datetime64("NaT"), "datetime64[us]")
    out[valid] = (np.asarray(numbers)[valid].astype(np.int64) * unit).astype("datetime64[us]")
    return out


def _unix_unit(cells: pa.Array | pa.ChunkedArray) -> int | None:
    """Microseconds per unit of the text ``cells`` where every one (empty ones aside) is a Unix
    time of one width (:data:`UNIX_UNITS`), else None."""
    present = pc.drop_null(cells)
    if len(present) == 0 or len(present[0].as_py()) not in UNIX_UNITS:
        return None  # the usual case, told by one cell
    if not pc.all(pc.match_substring_regex(present, r"^\d+$")).as_py():
        return None
    widths = {int(width) for width in pc.unique(pc.utf8_length(present)).to_pylist()}
    units = {UNIX_UNITS.get(width) for width in widths}
    if len(units) != 1 or None in units:
        return None
    return units.pop()


_NOT_UNIX_TYPES = (pa.types.is_timestamp, pa.types.is_date, pa.types.is_floating,
                   pa.types.is_decimal)  # fmt: skip


def _on_clock_of(utc: np.ndarray, zone: str) -> np.ndarray:
    """UTC times as the wall-clock times of ``zone``."""
    shifted = pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(zoneinfo.ZoneInfo(zone))
    return shifted.tz_localize(None).to_numpy("datetime64[us]")


UTC_ZONES = frozenset({"utc", "etc/utc", "z", "+00:00", "gmt", "etc/gmt", "universal", "zulu"})
"""Zone names of a column of instants shown in UTC (DuckDB's ``TIMESTAMPTZ`` as Ibis reads it,
Spark's Parquet times, a PostgreSQL database set to UTC), compared lower-cased."""


def zoned_order_times(source: Table | Path, mapping: Mapping[str, str]) -> bool:
    """Whether the order times of an orders table (a database's rows, a Parquet file or folder)
    are instants with a zone, which ``--map time_zone`` puts on the shop's clock; a CSV file's
    are as written."""
    if isinstance(source, Table):
        column = resolve_columns(source, dict(mapping))["ordered_at"]
        if column is None:
            return False
        return _build.zoned(source, column) or unix_times(source, column) is not None
    if not is_parquet(source):  # a CSV file's ISO times written with their zone (Z, +01:00)
        head = open_header(source).with_body()  # or Unix times, which the importer checks
        column = resolve_columns(head, dict(mapping))["ordered_at"]
        if column is None:
            return False
        cells = pa.array(head.first_values(column), pa.string())
        return zone_offsets(cells) is not None or _unix_unit(cells) is not None
    part = (parquet_parts(source) or [Path(source)])[0]
    try:
        schema = pq.read_schema(part)
    except (OSError, pa.ArrowException):
        return False  # the importer names the problem
    header = HeaderOnly(str(source), list(schema.names), parquet_first_values(Path(source)))
    column = resolve_columns(header, dict(mapping))["ordered_at"]
    if column is None or column not in schema.names:
        return False
    stored = schema.field(column).type
    zoned = pa.types.is_timestamp(stored) and stored.tz is not None
    return zoned or pa.types.is_integer(stored)  # Unix times, which the importer checks


def utc_times_note(table: Table, column: str | None, mapping: Mapping[str, str]) -> list[str]:
    """The note saying that an orders table's order times are instants read on UTC days, where
    no ``--map time_zone`` puts them on the shop's."""
    if column is None or "time_zone" in mapping:
        return []
    if unix_times(table, column) is not None:
        held = "Unix times (seconds or milliseconds since 1970)"
    elif _build.zoned(table, column):
        if str(table.arrow.column(column).type.tz).lower() not in UTC_ZONES:
            return []  # the column's own zone, as its writer gave it
        held = "times with a zone"
    elif written_in_utc(table.text(column)):  # an API's export: 2024-03-05T23:30:00Z
        held = "times written in UTC (Z, +00:00)"
    else:
        return []
    return [
        f"{column} holds {held}, read in UTC: an order placed late in "
        "the evening in a shop west of UTC (early in the morning east of it) falls on the UTC "
        "day; give the shop's time zone (--map time_zone=America/New_York) to read its own days"
    ]


def _phone_cells(
    table: Table, cols: dict[str, str | None], mapping: dict[str, str]
) -> tuple[pd.Series, pd.Series | None]:
    """Each row's phone cell and country, whose customer id is the number's
    (``phone:+16169547888``, <NA> for a cell that tells no one:
    :func:`valuecast.io.phones.phone_ids`): the ``country`` column, or the country the map
    gives every row, gives a national number its calling code (None: no country)."""
    phones = _build.string_series(table.text(cols["phone"]))
    countries = None
    if cols["country"] is not None:
        countries = _build.string_series(table.text(cols["country"]))
    elif every_row_country(mapping):
        countries = pd.Series(every_row_country(mapping), index=phones.index, dtype="string")
    return phones, countries


def _contact_phones(
    table: Table, cols: dict[str, str | None], mapping: dict[str, str], numbers: np.ndarray
) -> pd.DataFrame:
    """Per row, ``phone``: the phone cell (cleaned) where it holds a number (``numbers``: its
    phone id is known, :func:`_phone_cells`), and ``country``: the row's country cell, or
    the country the map gives every row.  The contact phone and country of the customers
    (:func:`_order_contacts`), as the platform readers keep their orders' phones: a cell
    without a number (``n/a``) gives none, so a customer's latest order carrying one does."""
    phones = _build.string_series(table.text(cols["phone"]))
    if cols["country"] is not None:
        countries = _build.string_series(table.text(cols["country"]))
    else:
        countries = pd.Series(every_row_country(mapping), index=phones.index, dtype="string")
    return pd.DataFrame({"phone": phones.where(numbers), "country": countries.where(numbers)})


def every_row_country(mapping: Mapping[str, str]) -> str | None:
    """The ISO code of the country ``country=`` names (``FR``, ``France``) when the file has no
    column of that name: a till's export of one shop, whose national numbers all share it."""
    code = country_code(mapping.get("country"))
    return code if code in CALLING_CODES else None


def national_phone_ids(customer_ids: pd.Series, phone_rows: np.ndarray) -> pd.Series:
    """The distinct customer ids (in the rows' order) that rows without a customer cell
    (``phone_rows``) name by a phone number whose country code cannot be told
    (``phone:0612345678``)."""
    ids = customer_ids[phone_rows].dropna()
    national = ids[ids.str.startswith(PHONE_ID_PREFIX) & ~ids.str.startswith(PHONE_ID_PREFIX + "+")]
    return national.drop_duplicates().reset_index(drop=True)


def national_phones_note(national: pd.Series) -> list[str]:
    """A note on the customers known by a phone number whose country code cannot be told
    (``national``: their distinct ids, :func:`national_phone_ids`): they are counted and
    modelled, but an ad platform matches a phone only with its country code, so their audience
    files leave them out; the map's ``country`` gives it."""
    count = len(national)
    if not count:
        return []
    one = count == 1
    return [
        f"{count:,} {'customer is' if one else 'customers are'} known by a phone number without "
        f"its country code ({national.iloc[0]}): counted and modelled, but Meta and Google "
        f"audiences cannot match {'it' if one else 'them'}; map country=COLUMN (each row's "
        "country) or country=FR (the country of every row) to give the numbers their code"
    ]


STATUS_COLUMNS = ("status", "order_status", "financial_status", "payment_status")
"""Names of an order-status column, which an orders table's rules do not read."""


def table_notes(header: list[str], cols: dict[str, str | None]) -> list[str]:
    """The notes the table's columns call for, whatever its rows: an order-status column left
    unread, order lines without an order id, and refunds reported beside the revenue."""
    return (
        unread_status_note(header, cols)
        + unkeyed_lines_note(cols)
        + refunds_note(cols)
        + tax_and_shipping_note(cols)
    )


def refunds_note(cols: dict[str, str | None]) -> list[str]:
    """A note when a refunds column is read: ``revenue`` is each order's net revenue as the
    merchant gives it, so the refunds are reported and not subtracted, and a report showing
    them beside an equal gross and net revenue says why."""
    if cols["refunded"] is None:
        return []
    revenue = repr(cols["revenue"]) if cols["revenue"] else "quantity x unit_price"
    return [
        f"column {cols['refunded']!r} (refunded) is reported, not subtracted: each order's net "
        f"revenue is {revenue} as given; map revenue to a column net of refunds if it is not"
    ]


def tax_and_shipping_note(cols: dict[str, str | None]) -> list[str]:
    """A note when a tax or shipping column is read: ``revenue`` is each order's net revenue as
    the merchant gives it, so they are kept beside it and not subtracted, where the report says
    its amounts are without tax and shipping (true of a platform's export, which they are taken
    off)."""
    mapped = [f"{cols[key]!r} ({key})" for key in ("tax", "shipping") if cols[key] is not None]
    if not mapped:
        return []
    revenue = repr(cols["revenue"]) if cols["revenue"] else "quantity x unit_price"
    return [
        f"column{'s' if len(mapped) > 1 else ''} {' and '.join(mapped)} "
        f"{'are' if len(mapped) > 1 else 'is'} kept beside the revenue, not subtracted: each "
        f"order's net revenue is {revenue} as given; map revenue to a column without tax and "
        "shipping if it holds them"
    ]


def unkeyed_lines_note(cols: dict[str, str | None]) -> list[str]:
    """A note when the rows are order lines (a line key is mapped) but no column gives their
    order: each line is then an order of its own, which an order of several lines is not."""
    if cols["order_id"] is not None or not any(cols[key] for key in LINE_KEYS):
        return []
    return [
        "no order id column: each line is counted as an order of its own; if an order's lines "
        "are on several rows, map order_id=COL to add them up into one order"
    ]


def _status_of(written: pd.Series) -> pd.Series:
    """A mapped status as :data:`EXCLUDED_STATUSES` and :data:`COUNTED_STATUSES` read it: a
    translated label as its English word (:data:`TRANSLATED_STATUSES`), else as written in
    :func:`_status_words`."""
    translated = _build.folded_labels(written).map(_TRANSLATED_STATUS).astype("string")
    return translated.fillna(_status_words(written))


def _status_words(written: pd.Series) -> pd.Series:
    """A status as :data:`EXCLUDED_STATUSES` reads it: lower-cased, ``_``/``-`` as spaces."""
    words = written.str.lower().str.replace(r"[_\-\s]+", " ", regex=True).str.strip()
    return words.str.replace(r"^wc ", "", regex=True)


def unread_status_note(header: list[str], cols: dict[str, str | None]) -> list[str]:
    """A note when the table has an order-status column (:data:`STATUS_COLUMNS`) the rules
    leave unread: its cancelled, failed or refunded orders count as any other, where the shops'
    own exports are read with their statuses."""
    found = find_column(header, STATUS_COLUMNS)
    if found is None or found in cols.values():
        return []
    return [
        f"column {found!r} is not read: every order counts whatever its status (cancelled, "
        f"failed and refunded ones too); map status={found} to leave those out, or give the "
        "shop's own export (--format shopify, woocommerce or magento), whose statuses are read"
    ]


def _orders(
    table: Table,
    cols: dict[str, str | None],
    mapping: dict[str, str],
    source: str,
    header: list[str] | None = None,
) -> ImportResult:
    """The orders of ``table``; ``header``: the file's columns, when the table holds some."""
    table.name_rows_by(cols["order_id"])
    _check_single_values(table, cols)
    column_notes = table_notes(list(table.header if header is None else header), cols)
    rows = _parse_rows(table, cols, mapping)
    rows.notes.extend(column_notes)
    customers = rows.customer.filter(pa.array(rows.filled))
    named = pc.sum(pc.match_substring_regex(customers, PERSON_NAME)).as_py() or 0
    rows.notes.extend(
        named_customers_note(cols["customer_id"], int(named), len(customers) - customers.null_count)
    )
    rows.notes.extend(utc_times_note(table, cols["ordered_at"], mapping))
    rows.notes.extend(cents_note(cents_columns(cols, mapping), mapping))
    # the parsed rows hold what the orders are made of: the file's cells are let go of
    table.release_columns([])
    revenue = cols["revenue"] or cols["unit_price"]

    def check_totals(net: np.ndarray, first_rows: np.ndarray) -> None:
        _check_order_totals(table, revenue, net, first_rows)

    def check_customers(customers: pd.Series, codes: np.ndarray, keep: np.ndarray, names) -> None:
        _check_one_customer(
            table, cols["customer_id"] or cols["phone"], customers, codes, keep, names
        )

    result = _assemble(rows, source, check_totals, check_customers)
    result.notes.extend(negative_orders_note(cols, result.excluded_detail))
    free = _build.zero_amount_orders(result.orders)
    result.notes.extend(_build.zero_orders_note(free, ZERO_ORDERS_REMEDY))
    return result


PERSON_NAME = r"^[^@0-9]* [^@0-9]*$"
"""A customer cell that reads as a person's name (``Anna Schmidt``): words without digits or an
``@``, as an analytics export keys its customers (WooCommerce's Analytics > Orders)."""


def named_customers_note(column: str | None, named: int, customers: int) -> list[str]:
    """A note when most of the rows' customers (``named`` of ``customers`` cells) are people's
    names: two customers of one name are then one, and one customer's name written two ways
    two, so the repeat purchases the models read are miscounted."""
    if column is None or not customers or named * 2 <= customers:
        return []
    return [
        f"customers are told apart by the names in {column!r} ({named:,} of {customers:,} "
        "rows): two customers of one name are one, one customer's name written two ways two; "
        "map customer_id to a customer id or e-mail column, or export the orders with e-mails "
        "(WooCommerce's Orders export, not Analytics > Orders)"
    ]


def negative_orders_note(cols: dict[str, str | None], excluded: pd.DataFrame) -> list[str]:
    """A note when orders are left out for a negative amount: a refund or return written as an
    order of its own (``R1002``, or a till's return receipt) takes back a sale the file does not
    link it to, so it is subtracted from no customer's spend; rows under the sale's own order id
    are netted with it.  An order whose own rows sold something (``gross_revenue`` above 0) and
    paid back more is told apart: its refund is linked already, and what the merchant checks is
    why it pays back more than the order sold.  ``excluded``: the excluded orders
    (``order_number``, ``reason``, ``gross_revenue``, ``refunded``)."""
    negative = excluded["reason"] == _build.NEGATIVE_AMOUNT
    if not negative.any():
        return []
    beyond = negative & (_sold(excluded) > 0)
    unlinked = _unlinked_refunds_text(cols, excluded.loc[negative & ~beyond, "order_number"])
    refunded_beyond = _refunded_beyond_text(
        cols, excluded.loc[beyond, "order_number"], bool(unlinked)
    )
    return ["; ".join(part for part in (unlinked, refunded_beyond) if part)]


def _sold(excluded: pd.DataFrame) -> np.ndarray:
    """Per excluded order of a negative amount, what its own rows sold.  Its ``gross_revenue``
    is its rows added up (below 0, its ``refunded`` the negative rows), unless a gross revenue
    column is mapped, whose cell (0 or more) is the sale itself: a refund of its own then
    shows 0.  Without the amounts (the summary read straight from a file counts its excluded
    orders by reason only) no order is told to have sold anything."""
    if "gross_revenue" not in excluded or "refunded" not in excluded:
        return np.zeros(len(excluded))
    gross = excluded["gross_revenue"].to_numpy(float)
    return np.where(gross >= 0, gross, gross + excluded["refunded"].to_numpy(float))


def _first_three(numbers: pd.Series) -> str:
    """The first three order numbers of ``numbers`` and how many more."""
    more = f" and {len(numbers) - 3:,} more" if len(numbers) > 3 else ""
    return f"{', '.join(map(str, numbers.iloc[:3]))}{more}"


def _unlinked_refunds_text(cols: dict[str, str | None], numbers: pd.Series) -> str:
    """The note's part on refunds written as orders of their own (none: empty)."""
    count = len(numbers)
    if not count:
        return ""
    listed = f" ({_first_three(numbers)})" if cols["order_id"] is not None else ""
    fix = (
        "give its rows the order id of the sale they take back"
        if cols["order_id"] is not None
        else "add an order id column, a refund's rows under the id of the sale they take back"
    )
    if count == 1:
        what = "order with a negative amount{} is left out as a refund or return"
        link = "it to the sale it takes back"
    else:
        what = "orders with a negative amount{} are left out as refunds or returns"
        link = "them to the sales they take back"
    return (
        f"{count:,} {what.format(listed)} and not subtracted from any customer's spend: the "
        f"file does not link {link}; to net a refund with its sale, {fix}"
    )


def _refunded_beyond_text(
    cols: dict[str, str | None], numbers: pd.Series, after_unlinked: bool
) -> str:
    """The note's part on orders whose own rows take back more than they sold (none: empty):
    left out whole, their sale not counted either."""
    count = len(numbers)
    if not count:
        return ""
    one = count == 1
    more = " more" if after_unlinked else ""
    its, sale = ("its", "sale") if one else ("their", "sales")
    if cols["order_id"] is None:
        listed = ""
        fix = "map order_id=COL so that a refund's rows net with their own sale only"
    else:
        listed = f" ({_first_three(numbers)})"
        fix = "if a refund there takes back an earlier purchase, give it that purchase's order id"
    return (
        f"{count:,}{more} {'order' if one else 'orders'}{listed} {'is' if one else 'are'} left "
        f"out with {its} {sale}: {its} own rows take back more than {'it' if one else 'they'} "
        "sold (the return of an earlier purchase booked under it, or a refund of more than its "
        f"goods); {fix}"
    )


ZERO_ORDERS_REMEDY = (
    "mark them cancelled in a status column (--map status=COLUMN), or remove them from the file"
)
"""What an orders table's merchant does to leave its orders of an amount of 0 out."""


def _linked_cancellations(
    order_ids: pa.ChunkedArray,
    customer: pa.ChunkedArray,
    ordered_at: np.ndarray,
    lines: LineRows,
    kept: Callable[[Any], Any],
) -> tuple[pa.ChunkedArray, list[str]]:
    """The rows' order ids with each line of a cancellation (an order of returned lines only)
    that takes back an item of an earlier sale given that sale's order id, and a note of them.

    A cancellation invoice (``C536379``) names no sale, but its line names the customer, the
    item (SKU, else product) and its price: it takes back the customer's latest order selling
    that item at that price on or before the return (its lines of it added up), where that
    order has that much left to take back (:func:`_within_sold`).  Under the sale's id the line
    is the sale's refund, netted within the order as a partial return is; a sale so taken back
    in full is excluded as refunded.  Lines without such a sale (one before the file, or in
    another file) or taking back more than that latest sale has left stay in their
    cancellation, left out as before.
    """
    item = lines.sku if lines.sku.null_count < len(lines.sku) else lines.product
    amount = kept(lines.amount)
    quantity = np.abs(np.nan_to_num(kept(lines.quantity), nan=1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        price = np.round(np.abs(amount) / quantity, 6)
    frame = pd.DataFrame(
        {
            "order": pd.Series(order_ids.to_pandas(), dtype="string"),
            "customer": pd.Series(customer.to_pandas(), dtype="string"),
            "item": pd.Series(kept(item).to_pandas(), dtype="string"),
            "price": price,
            "quantity": quantity,
            "at": ordered_at,
            "returns": kept(lines.returns(lines.amount)),
        }
    )
    frame["position"] = np.arange(len(frame))
    usable = (
        frame[["order", "customer", "item"]].notna().all(axis=1).to_numpy(bool)
        & np.isfinite(price)
        & (quantity > 0)
    )
    returns_only = frame.groupby("order", sort=False)["returns"].transform("all")
    returns_only = returns_only.fillna(False).to_numpy(bool)
    returned = frame[usable & returns_only]
    if returned.empty:
        return order_ids, []
    by = ["customer", "item", "price"]
    # an invoice selling the item at that price on several lines sold their sum, at its time
    sales = (
        frame[usable & ~returns_only & ~frame["returns"].to_numpy(bool)]
        .groupby(["order", *by], sort=False)
        .agg(at=("at", "min"), quantity=("quantity", "sum"))
        .reset_index()
    )
    matched = pd.merge_asof(
        returned.sort_values("at", kind="stable"),
        sales.sort_values("at", kind="stable")[[*by, "at", "order", "quantity"]],
        on="at", by=by, direction="backward", suffixes=("", "_sale"),
    )  # fmt: skip
    matched = matched[matched["order_sale"].notna()]
    matched = matched[_within_sold(matched, by)]
    if matched.empty:
        return order_ids, []
    ids = np.array(frame["order"].astype(object), dtype=object)
    ids[matched["position"].to_numpy(np.int64)] = matched["order_sale"].astype(object).to_numpy()
    relinked = pa.chunked_array([pa.array(ids, pa.string())])
    invoices = matched.sort_values("position")["order"].drop_duplicates()  # in file order
    money = float(np.abs(amount[matched["position"].to_numpy(np.int64)]).sum())
    listed = _first_three(invoices)
    lines_said = "line" if len(matched) == 1 else "lines"
    note = (
        f"{len(matched):,} returned {lines_said} of {len(invoices):,} "
        f"cancellation{'' if len(invoices) == 1 else 's'} ({listed}) netted as refunds "
        f"({amount_text(money)}) of the same customer's latest earlier order selling the same "
        "item at the same price, which the log does not name; a sale taken back in full is "
        "left out as refunded"
    )
    return relinked, [note]


def _within_sold(matched: pd.DataFrame, by: list[str]) -> np.ndarray:
    """Which returns (rows in the order they were made, each with the sale it would take back)
    that sale takes: a sale takes back at most what it sold, and a return more than what it
    has left takes none of it, leaving the rest for the returns after it."""
    keys = zip(matched["order_sale"], *(matched[key] for key in by), strict=True)
    left: dict[tuple, float] = {}
    taken = np.zeros(len(matched), dtype=bool)
    for row, (key, quantity, sold) in enumerate(
        zip(keys, matched["quantity"], matched["quantity_sale"], strict=True)
    ):
        remaining = left.get(key, sold)
        if quantity <= remaining + 1e-9:
            taken[row] = True
            remaining -= quantity
        left[key] = remaining
    return taken


def cancellations_note(numbers: pd.Series | None, count: int) -> list[str]:
    """A note when a line-level log's cancellations (orders of returned lines only, a credit
    note such as ``C536379``) are left out: a return booked under its own order number takes
    back a sale the log does not link it to, so it is subtracted from no customer's spend (and
    is no purchase); returned lines under the sale's own order id are its refunds.
    ``numbers``: their order numbers in file order (None where the file has no order id)."""
    if not count:
        return []
    listed = "" if numbers is None else f" ({_first_three(numbers)})"
    if count == 1:
        what = "cancellation{} of returned lines only is left out"
        link = "it to the sale it takes back"
    else:
        what = "cancellations{} of returned lines only are left out"
        link = "them to the sales they take back"
    return [
        f"{count:,} {what.format(listed)} and not subtracted from any customer's spend: the log "
        f"does not link {link}; to count a return as its sale's refund, give its lines the "
        "sale's order id"
    ]


def _check_single_values(table: Table, cols: dict[str, str | None]) -> None:
    """Refuse a mapped column of a Parquet file or database table whose cells are not single
    values (a list, struct or map, such as an order's items) or are bytes, naming it: no cell of
    it is a customer, a date or an amount."""
    for key, column in cols.items():
        if column is None or column not in table.arrow.column_names:
            continue
        kind = table.arrow.schema.field(column).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_nested(kind):
            noun = (
                "records"
                if pa.types.is_struct(kind)
                else "maps"
                if pa.types.is_map(kind)
                else "lists"
            )
            what = f"holds {noun} ({kind}), not one value a row"
        elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            what = "holds bytes, not text"
        elif pa.types.is_fixed_size_binary(kind) and not getattr(kind, "extension_name", None):
            what = "holds bytes, not text"
        else:
            continue
        raise InputError(table.name, f"{what}: map {key} to another column", column=column)


def _check_one_customer(
    table: Table,
    column: str | None,
    customers: pd.Series,
    codes: np.ndarray,
    keep: np.ndarray,
    names,
) -> None:
    """Refuse an order whose rows name two customers (at the first row naming another): its
    number was given again to another order (numbering restarted, two tills or shops in one
    file), and adding the rows up would give one customer another's order.  A row known by its
    phone alone names no one here: the order's named customer takes it."""
    named = (customers.notna() & ~customers.str.startswith(PHONE_ID_PREFIX).fillna(False)).to_numpy(
        bool
    )
    n = int(codes.max()) + 1 if len(codes) else 0
    values = customers.to_numpy(object)
    found = _build.first_disagreement(
        codes, n, named, lambda rows, firsts: values[rows] != values[firsts]
    )
    if found is None:
        return
    position, first = found
    raise table.error(
        f"order {np.asarray(names, dtype=object)[codes[position]]!s} appears again with another "
        f"customer ({values[position]!s}; {values[first]!s} on row {table.row(int(keep[first]))}):"
        " one number for two orders (of two shops or tills numbering alike? analyse each one's"
        " orders in a workspace of its own, or map no order_id)",
        int(keep[position]),
        column,
    )


def _check_order_totals(
    table: Table, column: str | None, net: np.ndarray, first_rows: np.ndarray
) -> None:
    """Refuse the first order whose rows add up beyond ``MAX_AMOUNT``, at its first row: each
    row is within it (:meth:`Table.money`), the order stored must be too."""
    beyond = np.abs(net) > MAX_AMOUNT
    if beyond.any():
        order = int(np.flatnonzero(beyond)[0])
        raise table.error(
            f"order total {amount_text(net[order])} (its rows added up) is out of range "
            f"(more than {MAX_AMOUNT:,.0f} either way): not a plausible amount",
            int(first_rows[order]),
            column,
        )


def _assemble(
    rows: ParsedRows,
    source: str,
    check_totals: Callable[[np.ndarray, np.ndarray], None] | None = None,
    check_customers: Callable[..., None] | None = None,
) -> ImportResult:
    """Group parsed rows into orders (by order id, or one order per row) and count exclusions.

    ``check_totals(net, first_rows)`` is given the orders' summed net revenue and each order's
    first row position when an order has several rows; ``check_customers(customers, codes,
    keep, names)`` each kept row's customer, its order and its row position, and the orders'
    numbers."""
    n_rows = rows.n_rows
    filled = rows.filled
    everything = bool(filled.all())  # no empty rows: row positions are order positions
    keep = np.flatnonzero(filled)

    def kept(values):
        """The non-empty rows of an Arrow column or numpy array."""
        if everything:
            return values
        return values.take(pa.array(keep)) if isinstance(values, pa.ChunkedArray) else values[keep]

    customer = kept(rows.customer)
    linked_notes: list[str] = []
    if rows.text["order_id"] is not None:
        order_ids = kept(rows.text["order_id"])
        if rows.lines is not None:
            order_ids, linked_notes = _linked_cancellations(
                order_ids, customer, kept(rows.ordered_at), rows.lines, kept
            )
        codes, uniques = _build.factorize(order_ids)
        n = len(uniques)
    else:
        # every row is its own order, numbered <customer>|<date as written>[|k]
        n = len(keep)
        codes = np.arange(n, dtype=np.int64)
        numbered_by = customer if rows.numbered_by is None else kept(rows.numbered_by)
        numbers = _row_numbers(numbered_by, kept(rows.written), kept(rows.ordered_at))
        uniques = _build.string_series(numbers)
    rows_per_order = np.bincount(codes, minlength=n) if n != len(keep) else np.ones(n, np.int64)

    def summed(values: np.ndarray) -> np.ndarray:
        values = kept(values)
        if n == len(keep):  # one row per order: codes are 0..n-1 in row order
            return values
        return np.bincount(codes, weights=np.nan_to_num(values), minlength=n)

    def first(key: str) -> pd.Series:
        column = rows.text[key]
        if column is None:
            return _build.string_series(pa.nulls(n, pa.string()))
        values = _build.string_series(kept(column))
        if n == len(keep):
            return values
        return _build.take(values, _build.first_positions(codes, n, values.notna().to_numpy(bool)))

    customer_id = _build.string_series(customer)
    # rows named by their e-mail alone name the order's customer only where no row names one
    by_email = np.zeros(len(keep), bool) if rows.by_email is None else kept(rows.by_email)
    emailed = np.zeros(len(keep), bool) if rows.emailed is None else kept(rows.emailed)
    if n != len(keep) and check_customers is not None:
        check_customers(customer_id.mask(by_email), codes, keep, uniques)
    if n != len(keep):
        # the first row naming a customer (by its cell, else by its e-mail, else by its phone):
        # a line without one is no guest's within a customer's order
        phone_only = customer_id.str.startswith(PHONE_ID_PREFIX).fillna(False).to_numpy(bool)
        present = customer_id.notna().to_numpy(bool)
        named = _build.first_positions(codes, n, present & ~phone_only & ~by_email)
        for fallback in (present & by_email, present, None):
            named = np.where(named >= 0, named, _build.first_positions(codes, n, fallback))
        customer_id = customer_id.iloc[named].reset_index(drop=True)
        emailed = emailed[named]
    firsts = None if n == len(keep) else _build.first_positions(codes, n)
    looks_email = customer_id.str.contains("@", regex=False).fillna(False)
    email = customer_id.where(looks_email)
    if rows.text["email"] is not None:
        given = first("email")
        email = given.where(given.notna(), email)
    net = summed(rows.revenue)
    if check_totals is not None and firsts is not None:
        check_totals(net, keep[firsts])
    when = kept(rows.ordered_at)
    columns: dict[str, object] = {
        "order_number": uniques,
        "customer_id": customer_id,
        "email": email,
        "is_guest": customer_id.isna().astype("boolean"),
        "ordered_at": when if firsts is None else _earliest(when, codes),
        "net_revenue": net,
        "currency": _build.currency_column(first("currency")),
        "channel": first("channel"),
        "discount_code": first("discount_code"),
    }
    for key in AMOUNT_KEYS:
        values = rows.amounts[key]
        columns[key] = summed(values) if values is not None else np.zeros(n)
    columns.update(_sold_and_returned(rows, summed))
    if rows.accepts_marketing is not None:
        flags = rows.accepts_marketing
        flags = flags if everything else flags.iloc[keep].reset_index(drop=True)
        columns["accepts_marketing"] = (
            flags if firsts is None else flags.iloc[firsts].reset_index(drop=True)
        )
    orders = _build.orders_frame(source, columns, n)
    rules = [(_build.NEGATIVE_AMOUNT, net < 0)]
    unknown_status = None
    if rows.text["status"] is not None:
        written = first("status").str.strip()
        status = _build.per_distinct(written, _status_of)
        rules[-1:-1] = _build.status_rules(status, EXCLUDED_STATUSES)  # before a negative amount
        known = status.isin(EXCLUDED_STATUSES.keys() | COUNTED_STATUSES).to_numpy(bool)
        unknown_status = ~known & written.notna().to_numpy(bool)
        unpaid = status.map(UNPAID_STATUSES).to_numpy(object)
    if n != len(keep):
        rules.append((_build.REFUNDED, _refunded_in_full(summed, rows.revenue, net)))
    lines = None
    if rows.shipping_rows is not None:  # postage paid apart from any goods: no purchase
        shipping = summed(rows.shipping_rows.astype(float))
        rules.insert(0, (_build.SHIPPING_ALONE, shipping == rows_per_order))
    if rows.gift_cards is not None:
        selling = summed(rows.gift_cards.astype(float))
        rules.insert(0, (GIFT_CARD_REASON, selling == rows_per_order))
    if rows.lines is not None:
        returns = summed(rows.lines.returns(rows.lines.amount).astype(float))
        rules.insert(0, (_build.CANCELLATION, returns == rows_per_order))
    reason = _build.reasons(n, rules)
    status_notes: list[str] = []
    if unknown_status is not None:  # of the orders counted: another rule may leave one out
        status_notes = _build.unknown_statuses_note(
            written, unknown_status & (reason == None),  # noqa: E711 - elementwise
            "among the statuses valuecast reads",
            "cancelled, voided, failed, refunded, draft and expired",
            "write one of those words where a status means one of them",
        )  # fmt: skip
        counted = reason == None  # noqa: E711 - elementwise comparison
        status_notes += _build.unpaid_orders_note(unpaid, counted, net, "the shop")
    if rows.amounts["gross_revenue"] is None:
        # an excluded order's revenue in the ingest report is its rows added up: what a
        # cancellation or a refund without its sale takes back, which its sales (none) would
        # not say
        excluded = reason != None  # noqa: E711 - elementwise comparison
        orders["gross_revenue"] = np.where(excluded, net, orders["gross_revenue"].to_numpy(float))
    gift_notes: list[str] = []
    if rows.gift_cards is not None:
        # a gift card line of a negative amount pays for the order (redeemed): the goods it
        # paid for are revenue in full, and it sold nothing
        amount = np.nan_to_num(rows.lines.amount)
        sold = summed(np.where(rows.gift_cards & (amount > 0), amount, 0.0))
        also = (reason == None) & (np.abs(sold) >= _build.ZERO_AMOUNT)  # noqa: E711 - elementwise
        gift_notes = gift_card_note(int(also.sum()), float(sold[also].sum()))
    if rows.lines is not None:
        quantity = rows.lines.signed_quantity(rows.lines.amount)
        lines = _order_lines(rows.lines, quantity, kept, codes, orders["order_id"], reason)
    notes = list(rows.notes) + _build.email_linked_note(int(emailed.sum())) + status_notes
    notes += gift_notes
    if rows.lines is not None:
        cancelled = reason == _build.CANCELLATION
        numbers = uniques[cancelled] if rows.text["order_id"] is not None else None
        notes += linked_notes + cancellations_note(numbers, int(cancelled.sum()))
    if rows.text["order_id"] is not None and n != len(keep):
        if rows.lines is None:
            totals = _order_total_on_each_row_note(kept(rows.revenue), codes)
            repeated = _repeated_rows_note(rows, kept, codes, uniques, order_totals=bool(totals))
            notes.extend(repeated or totals)
        else:
            notes.extend(_repeated_rows_note(rows, kept, codes, uniques))
        notes += _orders_spanning_months_note(
            kept(rows.ordered_at), kept(rows.revenue), codes, uniques, rows.order_id_column
        )
    result = _build.assemble(
        rows.name,
        source,
        n_rows,
        orders,
        reason,
        rows_per_order,
        lines=lines,
        empty_rows=int((~filled).sum()),
        notes=notes,
        phone_links=rows.phone_links,
        written_symbol=rows.written_symbol,
        order_contacts=_order_contacts(rows, kept, codes, n, orders, reason),
    )
    result.national_phones = rows.national_phones
    return result


def _order_contacts(
    rows: ParsedRows,
    kept: Callable[[np.ndarray], np.ndarray],
    codes: np.ndarray,
    n: int,
    orders: pd.DataFrame,
    reason: np.ndarray,
) -> pd.DataFrame | None:
    """The contact rows of each customer's latest counted order giving a phone (and of the
    latest giving a country), as the platform readers keep them
    (:func:`valuecast.io._build.latest_contacts`): a mapped phone column gives the audience
    files the phones of customers named by a customer cell too.  An order's phone is that of its
    first row holding a number, with that row's country.  None without a phone column."""
    if rows.contact_phones is None:
        return None
    phones = rows.contact_phones["phone"]
    countries = rows.contact_phones["country"]
    kept_rows = kept(np.arange(rows.n_rows))
    given = phones.notna().to_numpy(bool)[kept_rows]
    # per order, the position (in the file) of its first row holding a number, -1 for none
    first = _build.first_positions(codes, n, given)
    row = np.where(first >= 0, kept_rows[np.maximum(first, 0)], -1)
    has_phone = row >= 0
    has_country = has_phone & countries.notna().to_numpy(bool)[np.maximum(row, 0)]

    def texts(values: pd.Series, orders_at: np.ndarray) -> pd.Series:
        picked = values.iloc[np.maximum(row[orders_at], 0)].reset_index(drop=True)
        return picked.where(row[orders_at] >= 0).astype("string")

    def contact_rows(orders_at: np.ndarray) -> pd.DataFrame:
        none = pd.Series(pd.NA, index=range(len(orders_at)), dtype="string")
        return _build.order_contacts(
            (none, none), texts(phones, orders_at), {"country": texts(countries, orders_at)}, {}
        )

    gives = (np.zeros(n, dtype=bool), has_phone, has_country)
    return _build.latest_contacts(orders, reason, _build.OrderContacts(gives, contact_rows))


def revenue_parts(columns: Mapping[str, object]) -> dict[str, int]:
    """The :data:`REVENUE_PARTS` (key -> sign) that ``columns`` (a column map, or the rows'
    amounts) gives no column of: the importer and the SQL route alike sum those from the rows."""
    return {key: sign for key, sign in REVENUE_PARTS.items() if columns.get(key) is None}


def _sold_and_returned(
    rows: ParsedRows, summed: Callable[[np.ndarray], np.ndarray]
) -> dict[str, np.ndarray]:
    """Each order's :func:`revenue_parts`: its ``gross_revenue`` (its rows or lines of a positive
    amount, the goods sold) and ``refunded`` (those of a negative amount, the refunds and goods
    returned, as a positive sum), each where no column of it is mapped (an excluded order's
    ``gross_revenue`` is set to its net revenue: :func:`_assemble`).  ``summed`` adds a per-row
    column up per order."""
    revenue = rows.revenue  # a shipping line's and a gift card's amount is no revenue here
    parts = {}
    for key, sign in revenue_parts(rows.amounts).items():
        signed = sign * revenue
        parts[key] = summed(np.where(signed > 0, signed, 0.0))
    return parts


def _refunded_in_full(
    summed: Callable[[np.ndarray], np.ndarray], amounts: np.ndarray, net: np.ndarray
) -> np.ndarray:
    """Per order, whether a row of it takes back (a negative amount) and its rows add up to
    nothing: a sale refunded in full under its own order id, which counted would be a purchase
    worth nothing (``summed`` adds a per-row column up per order)."""
    took_back = summed((np.nan_to_num(amounts) < 0).astype(float)) > 0
    return took_back & (np.abs(net) < _build.ZERO_AMOUNT)


SPANNED_DAYS = 31
"""The days between an order's first and last sale rows from which they look like several
orders under one id (:func:`_orders_spanning_months_note`)."""


def _orders_spanning_months_note(
    when: np.ndarray, revenue: np.ndarray, codes: np.ndarray, order_ids: pd.Series,
    column: str | None,
) -> list[str]:  # fmt: skip
    """A note when an order's sale rows (refunds, dated when paid back, aside) are dated more
    than :data:`SPANNED_DAYS` apart: the rows of an order id are one order, dated at its first,
    which a column mapped as ``order_id`` that names something else (a customer id, a
    subscription) makes of a customer's whole history."""
    sale = ~(np.nan_to_num(revenue) < 0) & ~np.isnat(when)
    if not sale.any():
        return []
    days = pd.Series(when[sale]).groupby(codes[sale], sort=True).agg(["min", "max"])
    spans = (days["max"] - days["min"]).dt.days
    spanning = spans[spans > SPANNED_DAYS]
    if spanning.empty:
        return []
    code = int(spanning.index[0])
    first, last = (str(days.loc[code, key])[:10] for key in ("min", "max"))
    count = len(spanning)
    orders = "1 order has" if count == 1 else f"{count:,} orders have"
    mapped = f"{column!r}" if column else "the order_id column"
    return [
        f"{orders} sale rows dated more than {SPANNED_DAYS} days apart (order "
        f"{order_ids.iloc[code]}: {first} to {last}): an order id's rows are one order, dated "
        f"at its first; if {mapped} is not the order number (a customer id), map order_id to it"
    ]


def _earliest(when: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Each order's earliest row time (``codes`` numbers the orders 0..n-1, each with a row):
    an order is placed when its sale is, and a refund or return row dated later (first in an
    export sorted newest first) does not move it."""
    return pd.Series(when).groupby(codes, sort=True).min().to_numpy()


REPEATED_ROWS_COMPARED = (
    "order_id", "customer", "ordered_at", "revenue", *AMOUNT_KEYS, "email", "currency", "channel",
    "discount_code", "accepts_marketing",
)  # fmt: skip
"""What two rows of an order must both hold to repeat each other (their values as read)."""


def _repeated_rows_note(
    rows: ParsedRows,
    kept: Callable,
    codes: np.ndarray,
    order_ids: pd.Series,
    *,
    order_totals: bool = False,
) -> list[str]:
    """A note when rows of an order repeat another of its rows in every value read: their
    amounts are added up as an order's rows are, which two exports pasted together into one
    file would double.  In a line-level log the line's fields are compared too: a line written
    twice is counted as bought twice, which a log repeating lines (the UCI Online Retail file
    has 5,268 such rows) makes of one purchase.  ``order_totals``: every order of several rows
    gives one amount on each row (:func:`_order_total_on_each_row_note`), so the rows may also
    be an invoice's lines each carrying its total, which the note says too."""
    marketing = rows.accepts_marketing
    read = {
        **rows.text, **rows.amounts, "customer": rows.customer, "ordered_at": rows.ordered_at,
        "revenue": rows.revenue,
        "accepts_marketing": None if marketing is None else marketing.to_numpy(object),
    }  # fmt: skip
    lines = rows.lines
    compared = REPEATED_ROWS_COMPARED
    if lines is not None:  # a line's fields too
        read.update({key: getattr(lines, key) for key in LINE_KEYS})
        compared = (*compared, *LINE_KEYS)
    values = {}
    for key in compared:
        if (column := read[key]) is not None:
            column = kept(column)
            text = isinstance(column, pa.ChunkedArray)
            values[key] = _build.string_series(column) if text else column
    repeated = pd.DataFrame(values).duplicated().to_numpy()
    orders = pd.unique(np.asarray(codes)[repeated])
    examples = [str(order_ids.iloc[int(code)]) for code in orders[:3]]
    return repeated_rows_note(
        int(repeated.sum()), examples, len(orders), lines=lines is not None,
        order_totals=order_totals,
    )  # fmt: skip


def repeated_rows_note(
    count: int, examples: Sequence[str], orders: int, *, lines: bool, order_totals: bool = False
) -> list[str]:
    """The note of :func:`_repeated_rows_note` (and of the engine's route): ``count`` rows
    repeat another, in ``orders`` orders, the first three of them ``examples``; ``lines``: the
    rows are a line-level log's lines."""
    if not count:
        return []
    more = "" if orders <= 3 else f" and {orders - 3:,} more"
    which = f"order {examples[0]}" if orders == 1 else f"orders {', '.join(examples)}{more}"
    row = "line" if lines else "row"
    rows_repeat, its, them = (
        (f"{row} repeats", "its", "it") if count == 1 else (f"{row}s repeat", "their", "them")
    )
    if lines:
        return [
            f"{count:,} {rows_repeat} another line of {its} order exactly ({which}): each line "
            "is counted as bought (a till writing each item scanned on a line of its own "
            "repeats lines rightly); if the file holds copies (two exports pasted together), "
            f"remove {them}"
        ]
    also = (
        "; if the amount column is the order's total written on each line (an invoice "
        f"export), {_LINE_AMOUNTS_ADVICE}"
        if order_totals
        else ""
    )
    return [
        f"{count:,} {rows_repeat} another row of {its} order exactly ({which}): an order's rows "
        f"are added up, so if the file holds copies (two exports pasted together), remove {them}"
        + also
    ]


ORDER_TOTAL_ROWS = 3
"""Orders of several rows, each giving its order one amount on every row, before an orders table
is said to write its order's total on each line (a single-price shop's lines may agree too)."""


_LINE_AMOUNTS_ADVICE = "map revenue to a line amount column, or quantity and unit_price"


def _order_total_on_each_row_note(revenue: np.ndarray, codes: np.ndarray) -> list[str]:
    """A note when every order of several rows gives the same amount on each of its rows: an
    invoice export (Xero, a point of sale) writes the order's total on every line, and the
    rows' amounts, added up, count it once per line."""
    frame = pd.DataFrame({"code": codes, "revenue": np.nan_to_num(revenue)})
    per_order = frame.groupby("code")["revenue"].agg(["size", "min", "max"])
    several = per_order[per_order["size"] > 1]
    if len(several) < ORDER_TOTAL_ROWS or not (several["min"] == several["max"]).all():
        return []
    rows_count = int(several["size"].sum())
    return [
        f"each of the {len(several):,} orders of several rows ({rows_count:,} rows) gives the "
        "same amount on every row, and an order's rows are added up: if the amount column is "
        f"the order's total written on each line, revenue is counted once per line; "
        f"{_LINE_AMOUNTS_ADVICE}"
    ]


def _order_lines(
    lines: LineRows,
    quantity: np.ndarray,
    kept: Callable,
    codes: np.ndarray,
    order_ids: pd.Series,
    reason: np.ndarray,
) -> pd.DataFrame:
    """The lines of the counted orders, numbered from 1 in file order within their order.

    ``quantity`` is :meth:`LineRows.signed_quantity`; ``kept`` selects the non-empty rows of a
    column; ``codes`` is each such row's order."""
    counted = np.flatnonzero(reason[codes] == None)  # noqa: E711 - elementwise comparison
    row_codes = codes[counted]
    where = pa.array(counted)

    def text(values: pa.ChunkedArray) -> pd.Series:
        return _build.string_series(kept(values).take(where))

    return pd.DataFrame(
        {
            "order_id": order_ids.iloc[row_codes].reset_index(drop=True),
            "line_number": _build.line_numbers(row_codes),
            "sku": text(lines.sku),
            "product_name": text(lines.product),
            "quantity": kept(quantity)[counted],
            "unit_price": kept(lines.unit_price)[counted],
            "line_discount": np.zeros(len(counted)),
        }
    )


def _repeat_numbers(
    customer: pa.ChunkedArray, when: np.ndarray, pair_hash: np.ndarray
) -> np.ndarray:
    """Per row, 0 for the first row of its (customer, time) and 2, 3 ... for the further ones in
    row order; a guest's rows (no customer) count as one customer.

    ``pair_hash`` is a hash of each row's (customer, time): the rows whose hash repeats are found
    from the sorted hashes (no sort of the rows themselves: numpy's argsort of 3M hashes took
    0.5-0.8 s), and only those few rows are grouped exactly, so a hash collision costs nothing
    but a slightly larger group, never a wrong number.
    """
    numbers = np.zeros(len(pair_hash), dtype=np.int64)
    ordered = np.sort(pair_hash)
    repeats = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if not len(repeats):
        return numbers
    at = np.searchsorted(repeats, pair_hash).clip(max=len(repeats) - 1)
    repeated = np.flatnonzero(repeats[at] == pair_hash)
    candidates = pd.DataFrame(
        {
            "c": pd.Series(customer.take(pa.array(repeated)).to_pandas(), dtype="string"),
            "t": when[repeated],
        }
    )
    rank = candidates.groupby(["c", "t"], dropna=False, sort=False).cumcount().to_numpy()
    numbers[repeated] = np.where(rank > 0, rank + 1, 0)
    return numbers


def _pair_hashes(customer: pa.ChunkedArray, when: np.ndarray) -> np.ndarray:
    """DuckDB's 64-bit hash of each row's (customer, time), in row order."""
    pairs = pa.table({"c": customer, "t": when.view(np.int64)})  # noqa: F841 - read by DuckDB
    con = duckdb.connect()
    try:
        hashes = con.sql("SELECT hash(c, t) AS h FROM pairs").to_arrow_table().column("h")
    finally:
        con.close()
    return np.asarray(hashes.to_numpy(), np.uint64)


GUEST_PLACEHOLDERS = frozenset(
    {"guest", "null", "none", "nan", "n/a", "#n/a", "-", "--", "unknown", "anonymous",
     # a till's sale to nobody in particular (Lightspeed/Vend's WALKIN)
     "walkin", "walk-in", "walk in", "cash sale"}
)  # fmt: skip
"""Customer cells (compared in lower case) that name no customer: what shop systems and
spreadsheets write where a guest checkout has none. Read as an empty cell: a guest order, where
taken as an id they made one "customer" of every guest (``Guest`` with the most orders of all)."""


_PLACEHOLDER_VALUES = pa.array(sorted(GUEST_PLACEHOLDERS))
LONGEST_PLACEHOLDER = max(len(word) for word in GUEST_PLACEHOLDERS)
"""Characters (and bytes: the words are ASCII) of the longest placeholder: a longer cell is
none, whichever route reads it."""


def guests_for_placeholders(customer: pa.ChunkedArray) -> pa.ChunkedArray:
    """``customer`` (cleaned cells) with each :data:`GUEST_PLACEHOLDERS` cell and each
    placeholder e-mail address (``noemail@shop.com``: :func:`_build.placeholder_addresses`)
    missing.

    Only cells as short as a placeholder are lower-cased and looked up: a file's e-mails are
    longer, and their lengths are read from the offsets alone."""
    placeholder = placeholder_customers(customer)
    if placeholder is None:
        return customer
    return pc.if_else(placeholder, pa.scalar(None, customer.type), customer)


def placeholder_customers(customer: pa.ChunkedArray) -> pa.Array | None:
    """Per cell of ``customer``, whether it names no customer (:func:`guests_for_placeholders`):
    a placeholder word, or an address whose local part is one (a cell without ``@`` is an id,
    which ``test`` or ``pos`` may be); None where no cell is such."""
    placeholder = np.zeros(len(customer), dtype=bool)
    short = pc.fill_null(pc.less_equal(pc.binary_length(customer), LONGEST_PLACEHOLDER), False)
    if pc.any(short).as_py():
        word = pc.fill_null(pc.is_in(pc.utf8_lower(customer), value_set=_PLACEHOLDER_VALUES), False)
        placeholder |= short.to_numpy(zero_copy_only=False) & word.to_numpy(zero_copy_only=False)
    address = pc.fill_null(pc.match_substring(customer, "@"), False)
    if pc.any(address).as_py():
        dummy = _build.placeholder_addresses(customer)
        placeholder |= address.to_numpy(zero_copy_only=False) & dummy
    return pa.array(placeholder) if placeholder.any() else None


def placeholder_note(
    written: pa.ChunkedArray, read: pa.ChunkedArray, filled: np.ndarray
) -> list[str]:
    """The note counting the rows whose customer cell (``written``) was a placeholder that
    :func:`guests_for_placeholders` read as no customer (``read``), by the words written; none
    where every such row has a customer after all (its phone's)."""
    made_guests = pc.and_(pc.is_valid(written), pc.is_null(read))
    words = pc.value_counts(pc.filter(written, pc.and_(made_guests, pa.array(filled))))
    counted = sorted(
        ((item["counts"].as_py(), item["values"].as_py()) for item in words),
        key=lambda pair: (-pair[0], pair[1]),
    )
    rows = sum(count for count, _ in counted)
    if not rows:
        return []
    listed = ", ".join(f"{word!r} ({count:,})" for count, word in counted)
    return [
        f"{rows:,} {'row names' if rows == 1 else 'rows name'} no customer ({listed}): "
        "read as guest orders"
    ]


def _row_numbers(
    customer: pa.ChunkedArray, written: pa.ChunkedArray, when: np.ndarray
) -> pa.ChunkedArray:
    """``<customer>|<date as written>``, with ``|2``, ``|3`` ... for further rows of the same
    customer and time (in row order); a guest's rows count as one customer.

    ``written`` has a value on every row (a row without a date is refused before this).
    """
    numbers = np.zeros(len(when), dtype=np.int64)
    if len(when) > 1:
        numbers = _repeat_numbers(customer, when, _pair_hashes(customer, when))
    # NULL where a row is the first of its customer and time: joined with "skip", no "|k" then
    suffix = pa.array(numbers, mask=numbers == 0).cast(pa.large_string())
    joined = pc.binary_join_element_wise(
        pc.cast(pc.fill_null(customer, ""), pa.large_string()),
        pc.cast(written, pa.large_string()),
        suffix,
        pa.scalar("|", pa.large_string()),
        null_handling="skip",
    )
    return pa.chunked_array([joined.combine_chunks()])  # one chunk, as the canonical frame holds


# ------------------------------------------------------------------------------------------------
# CDNOW-style logs
# ------------------------------------------------------------------------------------------------
_CDNOW_HEADER = ("customer_id", "date", "number_of_cds", "dollar_value")
_NUMERIC_LINE = re.compile(r"^\s*\d+\s+(\d+\s+)?\d{8}\s+\d+\s+-?[\d.]+\s*$")


def looks_like_cdnow(first_lines: list[str]) -> bool:
    """Whether the first non-empty lines of a text file look like a CDNOW-style log."""
    lines = [line for line in first_lines if line.strip()]
    if not lines:
        return False
    head = lines[0].split()
    if [h.lower() for h in head] == list(_CDNOW_HEADER):
        return True
    return all(_NUMERIC_LINE.match(line) for line in lines[:5])


def read_cdnow(source: str | Path) -> ImportResult:
    """Read a whitespace-separated CDNOW-style transaction log."""
    name = str(source)
    try:
        with open(source, encoding="utf-8", errors="replace") as handle:
            frame = pd.read_csv(handle, sep=r"\s+", header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(name, "the file is empty") from None
    except (OSError, pd.errors.ParserError) as error:
        raise InputError(name, f"cannot read the log: {error}") from None
    first_row = 1
    if len(frame) and [str(v).lower() for v in frame.iloc[0]] == list(_CDNOW_HEADER):
        frame, first_row = frame.iloc[1:].reset_index(drop=True), 2
    if frame.shape[1] == 5:
        frame = frame.iloc[:, 1:]
    if frame.shape[1] != 4:
        # a comma-separated orders table given --format cdnow reads as one field a line
        comma = " (a comma-separated file is an orders table: leave --format out)" if (
            frame.shape[1] == 1 and len(frame) and "," in str(frame.iloc[0, 0])
        ) else ""  # fmt: skip
        raise InputError(
            name,
            f"expected 4 fields separated by spaces (customer_id date quantity amount), found "
            f"{frame.shape[1]}{comma}",
            row=first_row,
        )
    frame.columns = ["customer_id", "date", "quantity", "amount"]
    table = Table(name, list(frame.columns), pa.Table.from_pandas(frame, preserve_index=False),
                  None, first_row=first_row)  # fmt: skip
    mapping = {"customer_id": "customer_id", "ordered_at": "date", "revenue": "amount"}
    return _orders(table, resolve_columns(table, mapping), mapping, "cdnow")
