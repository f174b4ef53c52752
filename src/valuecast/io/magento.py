"""Magento 2 / Adobe Commerce: the ``sales_order`` table (and optionally ``sales_order_item``).

The table arrives either as a CSV dump (phpMyAdmin or a database client's export with the
table's column names as its header row: one row per order) or as a DataFrame the engine read
from MySQL/PostgreSQL (``valuecast ingest "mysql://...#sales_order"``); both go through
:func:`read_sales_order_frame`'s rules.  ``mysqldump --tab`` writes no header row (and a
backslash before each line break inside a cell): read the table from the database instead.

Columns used (by name): ``increment_id`` (the order number customers see), ``state``,
``customer_email``, ``created_at``, ``base_subtotal`` (all required), and when present
``base_discount_amount``, ``base_subtotal_refunded``, ``base_discount_refunded``,
``base_subtotal_canceled``, ``base_discount_canceled``, ``base_adjustment_positive``,
``base_adjustment_negative``, ``base_grand_total``, ``base_tax_amount``,
``base_shipping_amount``, ``base_total_refunded``, ``base_currency_code``,
``global_currency_code``, ``base_to_global_rate``, ``coupon_code``,
``store_name`` / ``store_id`` and ``entity_id`` (to attach ``sales_order_item`` rows).

Rules
-----
* Money comes from the ``base_*`` columns, in the store's base currency (``base_currency_code``;
  a store view's display currency, ``order_currency_code``, plays no part). Websites with base
  currencies of their own (USD and EUR) are taken to the global currency
  (``global_currency_code``) with each order's ``base_to_global_rate``, the rate Magento
  recorded when the order was placed, its items' prices with it, and a note counts the orders
  converted; an order in another base currency without a rate above 0 leaves them all as
  they are, for ``--fx`` to convert.
* Net revenue excludes tax and shipping and nets discounts, refunds and partial cancellations::

      net = max(  (base_subtotal          - |base_discount_amount|)
                - (base_subtotal_refunded - |base_discount_refunded|)
                - (base_subtotal_canceled - |base_discount_canceled|)
                - base_adjustment_positive + base_adjustment_negative, 0)

  Magento stores discounts as negative numbers and ``base_subtotal`` before discounts; the refunded
  and cancelled subtotals are likewise before their share of the discount. A credit memo's
  "Adjustment Refund" (``base_adjustment_positive``: a goodwill refund beyond the items) is
  given back too, and its "Adjustment Fee" (``base_adjustment_negative``: a restocking fee kept
  out of the refund) is kept. Missing or empty refund/cancel/adjustment columns count as 0.
* A dump's NULL markers (``NULL``, ``\\N``) are empty cells: a ``customer_email`` of ``NULL`` is
  a guest order, a ``base_subtotal_refunded`` of ``NULL`` is 0.
* ``gross_revenue`` = ``base_grand_total``; ``discount`` = ``|base_discount_amount|``; ``tax`` =
  ``base_tax_amount``; ``shipping`` = ``base_shipping_amount``; ``refunded`` =
  ``base_total_refunded``; ``discount_code`` = ``coupon_code``; ``channel`` = ``store_name``
  (or ``store_id``); ``accepts_marketing`` is unknown (<NA>).
* The customer key is ``lower(trim(customer_email))``. Magento's own ``customer_id`` is NULL for
  guest checkouts, but a guest checkout still gives an email, and the email is what identifies the
  buyer across orders, so such orders are *not* guest orders here: an order is a guest order
  only when it has no email, as with every other source. A registered customer (a
  ``customer_id``) is one customer whatever e-mail each order was placed with (an account whose
  e-mail changed): all their orders are keyed by the e-mail of their latest order; a guest
  checkout with an e-mail one account's orders carry is that account's (one two accounts'
  orders carry joins neither; an account whose orders carry more than 3 addresses, a till's,
  joins none: :func:`valuecast.io._build.accounts`); each order's ``email`` stays its own. ``sales_order`` holds no telephone;
  a dump joined with the billing address (``billing_telephone`` or ``telephone``, and
  ``billing_country_id``) makes an order without email the customer of its phone, as in
  :mod:`valuecast.io.phones`.
* ``order_contacts`` (the audience files' names, phones and places where no customers export
  gives them): ``customer_firstname`` and ``customer_lastname`` (``billing_firstname`` and
  ``billing_lastname`` where a query joined the billing address), the phone as above, and
  ``billing_city``, ``billing_region_code``, ``billing_postcode``, ``billing_country_id``
  where joined, of each customer's latest counted order giving them.
* Exclusions: state ``canceled`` -> ``"cancelled"``; state ``closed`` (Magento closes an order when
  it is refunded in full by credit memos) -> ``"refunded"``, and so does a refund of every item
  with the shipping kept (the order stays complete; counted, it would be a repeat purchase worth
  nothing, as Shopify's export is read); ``base_subtotal`` below zero ->
  ``"negative amount"``; empty rows -> ``"empty row"``. Every other state (new,
  pending_payment, processing, complete, holded, payment_review) counts; those not paid yet
  (new, pending_payment, payment_review; in the grid also a suspected fraud) are named in a
  note with their revenue.
* Magento 2 may number each store view's orders from ``000000001`` (its unique key is
  ``increment_id`` with ``store_id``): when increment ids repeat across store views, every
  order of a store view other than the default one (``store_id`` 1) is numbered ``000000001
  (store 2)`` and a note says so; the default store view's orders, and a table whose numbers
  are unique, keep their ``increment_id``.
* An ``increment_id`` written twice (in one store view) is an error, as is a ``created_at`` before 1990 or after
  tomorrow, and a negative ``base_subtotal_refunded``, ``base_subtotal_canceled`` or adjustment
  (Magento writes them positive; subtracting a negative one would add to revenue).
* ``created_at`` is in UTC (Magento stores it so). ``--map time_zone=America/New_York`` (the
  store's time zone, by its IANA name) shifts it to the store's wall-clock time, so that an
  order placed at 9 pm in New York is on that day, not the next; without it the times are taken
  as written and a note says they are UTC. A database column with a time zone is read as its
  instants, shown in the store's zone (without ``time_zone``: in the column's own zone).

Admin order-grid export (``magento-grid``)
------------------------------------------
What a merchant without database access has: Sales > Orders > Export > CSV, the columns the grid
shows (``ID, Purchase Point, Purchase Date, Bill-to Name, Ship-to Name, Grand Total (Base),
Grand Total (Purchased), Status, Billing Address, Shipping Address, Shipping Information,
Customer Email, Customer Group, Subtotal, Shipping and Handling, Customer Name, Payment Method,
Total Refunded, ...``), read by name by :func:`read_order_grid`. Required: ``ID``, ``Purchase
Date``, ``Status``, ``Customer Email`` and ``Subtotal`` (the last two are off in the grid's default
column set: turn them on under Columns before exporting).

* ``order_number`` = ``ID`` (the increment id); written twice is an error, but for an ID
  that store views numbering their orders alike repeat: then the orders of every purchase
  point other than that of the earliest order are numbered with their store view (the
  purchase point's last line), ``000000001 (French Store View)``, and a note says so.
* ``ordered_at`` = ``Purchase Date`` as the grid shows it, in the admin's time zone:
  ``Jan 5, 2024 10:15:03 AM`` (also with a comma after the year, as newer versions
  write, without seconds, or on a 24-hour clock, with or without AM/PM), ``1 Jun 2024,
  23:23:47`` (British English; an admin in French, Spanish, Italian, Dutch or Portuguese writes
  the month in their language, ``31 mars 2024, 23:30:00``, ``31 de mar. de 2024 23:30:00``) or
  ``01.06.2024, 23:23:47`` (dotted, day first, as in German); a column of
  other numeric dates (``06/01/2024 23:23``) is read as an orders table's, and ``--map
  date_format=...`` reads any; other text is an error naming the row.
* Money cells are formatted (``$1,050.00``) and read as in :mod:`valuecast.io.csvfile`. The grid
  names no currency code: ``currency`` is the one its amounts are written in where that is
  certain (``€``, ``£``, ``CA$``, ``EUR``), and empty for a bare ``$`` (amounts are in the
  shop's base currency).
* ``Status`` is the status *label*, in English or in the language the admin is translated
  into (French, German, Spanish, Portuguese, Italian, Dutch: ``Annulée``, ``Storniert``,
  ``Geschlossen``, ``Em processamento``; :data:`GRID_STATUS_WORDS`), read without case or
  accents. ``Canceled`` (or ``Cancelled``) -> ``"cancelled"`` and ``Closed`` -> ``"refunded"``
  (Magento closes an order refunded in full), as the ``sales_order`` states, and so does a
  shop's own ``Refunded``; every other label (Pending, Processing, Complete, On Hold, a shop's
  own) counts, and a label that is none of Magento's own (a shop's, one of another language) is
  named in a note; a subtotal below zero -> ``"negative amount"``.
* ``net_revenue = max(Subtotal - Total Refunded, 0)``. The grid has no discount, tax or per-part
  refund columns, so this differs from the ``sales_order`` rule: ``Subtotal`` is before
  discounts (a discounted order's net revenue is too high by its discount), and ``Total
  Refunded`` is the whole refund, its tax and shipping included (a partly refunded order's net
  revenue is too low by the refunded tax and shipping; a full refund nets to 0 through the
  floor). A shop that discounts a lot should export ``sales_order`` instead.
* ``gross_revenue`` = ``Grand Total (Base)`` (else ``Subtotal``); ``shipping`` = ``Shipping and
  Handling``; ``refunded`` = ``Total Refunded``; ``discount`` and ``tax`` are 0 (not in the grid);
  ``channel`` = ``Purchase Point`` (website, store and store view on three lines, as
  ``store_name`` holds them); ``accepts_marketing`` is unknown.
* The customer is ``Customer Email`` as above; the grid has no telephone, but a ``Billing Phone``
  / ``Telephone`` column added by an extension makes an order without email the customer of its
  phone. ``Bill-to Name`` (else ``Ship-to Name``), split as Shopify's ``Billing Name``, and that
  phone are
  the customer's name and phone for the audience files; the grid's addresses, one cell each,
  are not split into city and zip.

``--format magento`` reads either export: a header with ``increment_id`` is ``sales_order``, the
grid's is the grid.

``sales_order_item``
--------------------
Optional, for ``order_lines``: rows are attached to orders through ``order_id`` = the order's
``entity_id``. Only top-level items become lines (``parent_item_id`` empty); the child rows of
configurable and bundle products are counted under ``"child item"``, items of excluded orders under
``"order excluded"`` and items whose order is not in the ``sales_order`` input under
``"order not found"``. ``quantity`` = ``qty_ordered`` less ``qty_refunded`` and ``qty_canceled``
(when exported): what the customer kept, so that an item returned by credit memo or cancelled
is no purchase for affinity, next products, reminders and the first product, as the order's
revenue already nets it; ``unit_price`` = ``base_price``, ``line_discount`` =
``|base_discount_amount|``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from valuecast.io import _build
from valuecast.io.csvfile import (
    WHITESPACE_CLASS,
    CsvFile,
    Table,
    english_month_names,
    open_csv,
)
from valuecast.io.schema import ADDRESS_FIELDS, ImportResult, InputError

__all__ = [
    "ORDER_COLUMNS",
    "ITEM_COLUMNS",
    "read_magento",
    "read_magento_frames",
    "read_order_grid",
    "read_sales_order",
    "read_sales_order_frame",
    "read_sales_order_items",
    "read_sales_order_keyed",
]

ORDER_COLUMNS: dict[str, tuple[str, ...]] = {
    "increment_id": ("increment_id",),
    "entity_id": ("entity_id",),
    "state": ("state",),
    "customer_email": ("customer_email",),
    "customer_id": ("customer_id",),
    "created_at": ("created_at",),
    "base_subtotal": ("base_subtotal",),
    "base_discount_amount": ("base_discount_amount",),
    "base_subtotal_refunded": ("base_subtotal_refunded",),
    "base_discount_refunded": ("base_discount_refunded",),
    "base_subtotal_canceled": ("base_subtotal_canceled",),
    "base_discount_canceled": ("base_discount_canceled",),
    "base_adjustment_positive": ("base_adjustment_positive",),
    "base_adjustment_negative": ("base_adjustment_negative",),
    "base_grand_total": ("base_grand_total",),
    "base_tax_amount": ("base_tax_amount",),
    "base_shipping_amount": ("base_shipping_amount",),
    "base_total_refunded": ("base_total_refunded",),
    "base_currency_code": ("base_currency_code",),
    "global_currency_code": ("global_currency_code",),
    "base_to_global_rate": ("base_to_global_rate",),
    "coupon_code": ("coupon_code",),
    "store": ("store_name", "store_id"),
    "store_id": ("store_id",),
    # not in sales_order (the telephone is in sales_order_address): read when a query joined it
    "phone": ("billing_telephone", "telephone", "customer_telephone"),
    "country": ("billing_country_id", "country_id"),
    # the name the order was placed under; the billing address's where a query joined it
    "first_name": ("billing_firstname", "customer_firstname"),
    "last_name": ("billing_lastname", "customer_lastname"),
    "city": ("billing_city", "city"),
    "province": ("billing_region_code", "billing_region", "region"),
    "zip": ("billing_postcode", "postcode"),
}
ORDER_REQUIRED = ("increment_id", "state", "customer_email", "created_at", "base_subtotal")

GRID_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("ID",),
    "purchase_date": ("Purchase Date",),
    "status": ("Status",),
    "customer_email": ("Customer Email",),
    "subtotal": ("Subtotal",),
    "grand_total": ("Grand Total (Base)",),
    "shipping": ("Shipping and Handling",),
    "total_refunded": ("Total Refunded",),
    "purchase_point": ("Purchase Point",),
    "phone": ("Billing Phone", "Telephone", "Phone"),
    "bill_to_name": ("Bill-to Name",),
    "ship_to_name": ("Ship-to Name",),
}
GRID_REQUIRED = ("id", "purchase_date", "status", "customer_email", "subtotal")
# the grid's date as the admin shows it, after commas are dropped and spaces made single
_GRID_DATE_FORMATS = (
    "%b %d %Y %I:%M:%S %p",
    "%b %d %Y %I:%M %p",
    "%b %d %Y %H:%M:%S",
    "%b %d %Y %H:%M",
    "%b %d %Y",
    # Magento's own export code writes a 24-hour clock with AM/PM ('M j, Y H:i:s A': "Jun 1,
    # 2024 23:23:47 PM"); the hour is the 24-hour one, which AM/PM agrees with
    "%b %d %Y %H:%M:%S %p",
    "%b %d %Y %H:%M %p",
    # an admin in British English: "1 Jun 2024, 23:23:47"
    "%d %b %Y %H:%M:%S",
    "%d %b %Y %H:%M",
    "%d %b %Y",
    # German and most of Europe: "01.06.2024, 23:23:47" (a dotted date is always day first)
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)
"""The grid's ``Purchase Date`` as admins' locales write it (commas read as spaces)."""

ITEM_COLUMNS: dict[str, tuple[str, ...]] = {
    "order_id": ("order_id",),
    "parent_item_id": ("parent_item_id",),
    "sku": ("sku",),
    "name": ("name",),
    "qty_ordered": ("qty_ordered",),
    "qty_refunded": ("qty_refunded",),
    "qty_canceled": ("qty_canceled",),
    "base_price": ("base_price",),
    "base_discount_amount": ("base_discount_amount",),
}
ITEM_REQUIRED = ("order_id", "sku", "qty_ordered", "base_price")


def _resolve(source: CsvFile | Table, spec, required) -> dict[str, str | None]:
    return {
        key: source.require(*aliases) if key in required else source.find(*aliases)
        for key, aliases in spec.items()
    }


def read_sales_order(source: str | Path | CsvFile, time_zone: str | None = None) -> ImportResult:
    """Read a ``sales_order`` CSV dump; ``time_zone`` (an IANA name) is the store's, into which
    its UTC times are shifted."""
    return _orders(_table(source, ORDER_COLUMNS, ORDER_REQUIRED), time_zone)[0]


def read_sales_order_frame(
    frame: pd.DataFrame, name: str = "sales_order", time_zone: str | None = None
) -> ImportResult:
    """The same rules on a DataFrame read from the database (typed or text columns).

    ``name`` is how errors and the report name the input (e.g. the table's URL without password).
    Errors name row ``i + 1`` for the frame's ``i``-th row.
    """
    return read_magento_frames(frame, name=name, time_zone=time_zone)[0]


def read_magento(
    orders: str | Path | CsvFile,
    items: str | Path | CsvFile | None = None,
    time_zone: str | None = None,
) -> list[ImportResult]:
    """``sales_order`` and optionally ``sales_order_item`` dumps: one result per file."""
    result, entities = _orders(_table(orders, ORDER_COLUMNS, ORDER_REQUIRED), time_zone)
    if items is None:
        return [result]
    return [result, _items(_table(items, ITEM_COLUMNS, ITEM_REQUIRED), entities)]


def read_magento_frames(
    orders: pd.DataFrame,
    items: pd.DataFrame | None = None,
    name: str = "sales_order",
    items_name: str = "sales_order_item",
    time_zone: str | None = None,
) -> list[ImportResult]:
    """:func:`read_magento` on DataFrames the engine read from the database."""
    table = Table.from_frame(orders, name)
    result, entities = _orders((table, _resolve(table, ORDER_COLUMNS, ORDER_REQUIRED)), time_zone)
    if items is None:
        return [result]
    item_table = Table.from_frame(items, items_name)
    return [
        result,
        _items((item_table, _resolve(item_table, ITEM_COLUMNS, ITEM_REQUIRED)), entities),
    ]


def read_sales_order_keyed(
    source: str | Path | CsvFile | Table, time_zone: str | None = None
) -> tuple[ImportResult, pd.DataFrame]:
    """:func:`read_sales_order` plus the ``entity_id -> order_id`` map items attach through."""
    return _orders(_table(source, ORDER_COLUMNS, ORDER_REQUIRED), time_zone)


def read_sales_order_items(
    source: str | Path | CsvFile | Table, entities: pd.DataFrame
) -> ImportResult:
    """Read a ``sales_order_item`` dump against the maps of :func:`read_sales_order_keyed`."""
    return _items(_table(source, ITEM_COLUMNS, ITEM_REQUIRED), entities)


def _table(source, spec, required) -> tuple[Table, dict[str, str | None]]:
    csv = source if isinstance(source, CsvFile | Table) else open_csv(source)
    cols = _resolve(csv, spec, required)
    table = csv.read([c for c in cols.values() if c is not None])
    table.empty_words(_build.SQL_NULLS)
    table.name_rows_by(cols.get("increment_id") or cols.get("id") or cols.get("order_id"))
    return table, cols


def _orders(
    read: tuple[Table, dict[str, str | None]], time_zone: str | None = None
) -> tuple[ImportResult, pd.DataFrame]:
    table, cols = read
    n = table.num_rows
    filled = _filled(table, cols)
    keep = np.flatnonzero(filled)
    number, number_notes = _store_order_numbers(
        table, filled, cols["increment_id"], cols["store_id"]
    )
    created = _build.store_times(table, cols["created_at"], time_zone)
    subtotal = table.money(cols["base_subtotal"])
    for values, key in ((created, "created_at"), (subtotal, "base_subtotal")):
        gap = filled & pd.isna(values)
        if gap.any():
            raise table.error("value is missing", int(np.flatnonzero(gap)[0]), cols[key])
    _build.check_order_dates(table, created, cols["created_at"])

    def amount(key: str) -> np.ndarray:
        return _build.money_or_zero(table.money(cols[key]))

    refund_keys = (
        "base_subtotal_refunded", "base_subtotal_canceled", "base_adjustment_positive",
        "base_adjustment_negative",
    )  # fmt: skip
    for key in refund_keys:
        _build.check_not_negative(table, table.money(cols[key]), cols[key])

    discount = np.abs(amount("base_discount_amount"))
    goods = subtotal - discount
    refunded_goods = amount("base_subtotal_refunded") - np.abs(amount("base_discount_refunded"))
    net = (
        (subtotal - discount)
        - (amount("base_subtotal_refunded") - np.abs(amount("base_discount_refunded")))
        - (amount("base_subtotal_canceled") - np.abs(amount("base_discount_canceled")))
        - amount("base_adjustment_positive")
        + amount("base_adjustment_negative")
    )
    gross = table.money(cols["base_grand_total"])
    gross = np.where(np.isnan(gross), subtotal - discount, gross)
    email_cells = table.text_series(cols["customer_email"])
    accounts = _build.accounts(
        table.text_series(cols["customer_id"]), email_cells, created, id_column=cols["customer_id"]
    )
    who = _build.identities(
        accounts.email, table.text_series(cols["phone"]), table.text_series(cols["country"])
    )
    who = _build.with_written_emails(who, email_cells, accounts)
    state = table.text_series(cols["state"]).str.lower().str.strip()
    picked = _kept_orders({
        "order_number": number,
        "customer_id": who.customer_id,
        "email": who.email,
        "is_guest": who.is_guest,
        "ordered_at": created,
        "gross_revenue": gross,
        "discount": discount,
        "tax": amount("base_tax_amount"),
        "shipping": amount("base_shipping_amount"),
        "refunded": amount("base_total_refunded"),
        "net_revenue": np.maximum(net, 0.0),
        "currency": table.text_series(cols["base_currency_code"]).str.upper(),
        "channel": table.text_series(cols["store"]),
        "discount_code": table.text_series(cols["coupon_code"]),
    }, keep)  # fmt: skip
    factor, currency_notes = _to_global(table, cols, picked["currency"], keep)
    if factor is not None:
        for key in ("gross_revenue", "discount", "tax", "shipping", "refunded", "net_revenue"):
            picked[key] = picked[key] * factor
        picked["currency"] = _global_codes(table, cols).iloc[keep].reset_index(drop=True)
    orders = _build.orders_frame("magento", picked, len(keep))
    state = state.iloc[keep].reset_index(drop=True)
    reason = _build.reasons(
        len(keep),
        [
            ("cancelled", (state == "canceled").fillna(False).to_numpy(bool)),
            ("refunded", (state == "closed").fillna(False).to_numpy(bool)),
            # every item refunded, the shipping kept: Magento leaves the order complete, and
            # counted it would be a repeat purchase worth nothing (as Shopify's is read)
            ("refunded", (refunded_goods[keep] > 0) & (goods[keep] > 0.005) & (net[keep] <= 0.005)),
            (_build.NEGATIVE_AMOUNT, subtotal[keep] < 0),
        ],
    )
    notes = (
        number_notes
        + _build.identity_notes(who)
        + accounts.notes
        + _utc_note(table, cols["created_at"], time_zone)
        + currency_notes
        + _build.unpaid_orders_note(
            state.map(UNPAID_STATES).to_numpy(object),
            reason == None,  # noqa: E711
            orders["net_revenue"].to_numpy(float),
            "Magento",
        )  # fmt: skip
        + _build.zero_orders_note(_build.zero_amount_orders(orders, reason), MAGENTO_ZERO_REMEDY)
    )
    # the order-level cells and texts are let go of before the orders are assembled beside them
    table.release_columns(
        [cols[key] for key in ("entity_id", "first_name", "last_name", "phone", *ADDRESS_FIELDS)]
    )
    result = _build.assemble(
        table.name,
        "magento",
        n,
        orders,
        reason,
        np.ones(len(keep), dtype=np.int64),
        empty_rows=int((~filled).sum()),
        notes=notes,
        phone_links=who.phone_links,
        order_contacts=_build.latest_contacts(
            orders,
            reason,
            _build.contact_columns(
                _kept_rows(table, keep),
                ((cols["first_name"], cols["last_name"]), (None, None)),
                (cols["phone"],),
                {key: cols[key] for key in ADDRESS_FIELDS},
                {},
            ),
        ),
    )
    entity = table.text_series(cols["entity_id"]).iloc[keep].reset_index(drop=True)
    entities = pd.DataFrame(
        {
            "entity_id": entity,
            "order_id": orders["order_id"],
            "counted": reason == None,  # noqa: E711
            "rate": np.ones(len(keep)) if factor is None else factor,
        }
    )
    return result, entities


def _kept_orders(columns: dict[str, object], keep: np.ndarray) -> dict[str, object]:
    """The orders' columns (a Series or an array each) at the rows ``keep``: the columns of
    every row are let go of on return."""
    return {
        key: (
            value.iloc[keep].reset_index(drop=True) if isinstance(value, pd.Series) else value[keep]
        )
        for key, value in columns.items()
    }


def _global_codes(table: Table, cols: dict[str, str | None]) -> pd.Series:
    """Each row's ``global_currency_code``, upper-cased."""
    return table.text_series(cols["global_currency_code"]).str.strip().str.upper()


def _to_global(
    table: Table, cols: dict[str, str | None], base: pd.Series, keep: np.ndarray
) -> tuple[np.ndarray | None, list[str]]:
    """The factor taking each kept row's amounts from its website's base currency to the
    global one, and the note saying so, when the orders are in more than one base currency
    (websites with base currencies of their own) and every order whose base currency is not
    the global one carries its ``base_to_global_rate`` (Magento records the rate of the
    order's day, which the shop's own reports convert with); else ``None`` (one currency, or
    rates missing: ``--fx`` converts them)."""
    if cols["global_currency_code"] is None or cols["base_to_global_rate"] is None:
        return None, []
    if base.dropna().nunique() < 2:
        return None, []
    target = _global_codes(table, cols).iloc[keep].reset_index(drop=True)
    if target.isna().any() or target.nunique() != 1:
        return None, []
    rate = table.number(cols["base_to_global_rate"])[keep]
    foreign = (base.notna() & (base != target)).to_numpy(bool)
    usable = np.isfinite(rate) & (rate > 0)
    if (foreign & ~usable).any():
        return None, []
    converted = base[foreign].value_counts()
    listing = ", ".join(
        f"{code} ({count:,} order{'s' if count != 1 else ''})" for code, count in converted.items()
    )
    note = (
        f"orders in {base.dropna().nunique()} base currencies (a website each): converted to "
        f"{target.iloc[0]}, the global currency, with each order's base_to_global_rate, as "
        f"Magento recorded it: {listing}"
    )
    return np.where(foreign, rate, 1.0), [note]


def _utc_note(table: Table, column: str, time_zone: str | None) -> list[str]:
    """The note saying that order times are UTC, read as written, when no time zone shifts
    them (a zoned column's times are its zone's)."""
    if time_zone is not None or _build.zoned(table, column):
        return []
    return [
        f"{column} is in UTC, as Magento stores it, and read as written: an order placed late "
        "in the evening in a store west of UTC (early in the morning east of it) falls on the "
        "UTC day; give the store's time zone (--map time_zone=America/New_York) to read the "
        "store's own days"
    ]


def _filled(table: Table, cols: dict[str, str | None]) -> np.ndarray:
    """Rows with a non-empty cell in a column the importer reads (the others are empty rows)."""
    filled = np.zeros(table.num_rows, dtype=bool)
    for column in cols.values():
        if column is not None:
            filled |= table.nonempty(column)
    return filled


DEFAULT_STORE_IDS = frozenset({"0", "1"})
"""Magento's admin store (0) and the default store view (1), which every install has: their
orders keep their increment id as their number."""


def _store_order_numbers(
    table: Table, filled: np.ndarray, column: str, store_column: str | None
) -> tuple[pd.Series, list[str]]:
    """The order number of every ``sales_order`` row, and the note when numbers were told
    apart by store view: its ``increment_id``, which Magento 2 makes unique per store view only
    (a store view may count its own orders from 000000001, as another does).

    When increment ids repeat across store views, every order of a store view other than the
    default one is numbered ``000000001 (store 2)``, not only the orders whose numbers meet,
    so that an order's number stays the same as the table grows; a table whose numbers are
    unique (store views numbered with prefixes) keeps them all. A filled row without an
    increment id, or one store view's increment id written twice, is an error."""
    number = table.text_series(column)
    if store_column is None or not number[filled].dropna().duplicated().any():
        return _order_numbers(table, filled, column), []
    # a database's column with NULLs is read as 2.0
    store = table.text_series(store_column).str.strip().str.replace(r"\.0+$", "", regex=True)
    other = filled & (store.notna() & ~store.isin(DEFAULT_STORE_IDS)).to_numpy(bool)
    qualified = number.copy()
    qualified[other] = number[other] + " (store " + store[other] + ")"
    missing = filled & number.isna().to_numpy(bool)
    if missing.any():
        raise table.error("order has no number", int(np.flatnonzero(missing)[0]), column)
    _check_told_apart(table, number, qualified, filled, column, "store " + store)
    note = _store_views_note(int(other.sum()), "the default one", "as '000000001 (store 2)'")
    return qualified, [note]


def _grid_order_numbers(
    table: Table, filled: np.ndarray, column: str, point_column: str | None, created: np.ndarray
) -> tuple[pd.Series, list[str]]:
    """The grid's order numbers (``ID``), and the note when numbers were told apart by store
    view, as :func:`_store_order_numbers` tells them in ``sales_order``: the grid has no store
    id, so when IDs repeat across purchase points, the orders of every purchase point other
    than that of the earliest order (the store view the shop began with) are numbered
    ``000000001 (French Store View)``, by the purchase point's last line, its store view."""
    number = table.text_series(column)
    if point_column is None or not number[filled].dropna().duplicated().any():
        return _order_numbers(table, filled, column), []
    point = table.text_series(point_column, strip_apostrophe=False).str.strip()
    first = point[filled & ~np.isnat(created)]
    if first.dropna().empty:
        return _order_numbers(table, filled, column), []
    order = np.argsort(created[first.index.to_numpy()], kind="stable")
    default = first.iloc[order].dropna().iloc[0]
    view = point.str.split(r"\r?\n").str[-1].str.strip()
    other = filled & (point.notna() & (point != default)).to_numpy(bool)
    qualified = number.copy()
    qualified[other] = number[other] + " (" + view[other] + ")"
    _check_told_apart(table, number, qualified, filled, column, view)
    note = _store_views_note(
        int(other.sum()),
        f"that of the earliest order ({view[first.index[order[0]]]})",
        "with their store view, as '000000001 (French Store View)'",
    )
    return qualified, [note]


def _check_told_apart(
    table: Table, number: pd.Series, qualified: pd.Series, filled: np.ndarray, column: str,
    places: pd.Series,
) -> None:  # fmt: skip
    """Raise on the first order whose number, told apart by its store view (``qualified``),
    still repeats: two orders of one number in one place (``places``: each order's, named)."""
    duplicated = filled & qualified.duplicated(keep="first").fillna(False).to_numpy(bool)
    if duplicated.any():
        position = int(np.flatnonzero(duplicated)[0])
        where = f" in {places[position]}" if pd.notna(places[position]) else ""
        raise table.error(f"order {number[position]!r} appears twice{where}", position, column)


def _store_views_note(count: int, kept: str, numbered: str) -> str:
    """The note on the ``count`` orders numbered with their store view: those of store views
    other than ``kept``, numbered ``numbered``."""
    return (
        "order numbers repeat across store views (Magento 2 may number each store view's "
        f"orders from 000000001): the {count:,} order{'s' if count != 1 else ''} of store views "
        f"other than {kept} {'are' if count != 1 else 'is'} numbered {numbered}"
    )


def _order_numbers_given(table: Table, filled: np.ndarray, column: str) -> None:
    """Raise for the first filled row without an order number."""
    missing = filled & ~table.nonempty(column)
    if missing.any():
        raise table.error("order has no number", int(np.flatnonzero(missing)[0]), column)


def _order_numbers(table: Table, filled: np.ndarray, column: str) -> pd.Series:
    """The order number of every row; a filled row without one, or one written twice, is an error."""
    number = table.text_series(column)
    missing = filled & number.isna().to_numpy(bool)
    if missing.any():
        raise table.error("order has no number", int(np.flatnonzero(missing)[0]), column)
    duplicated = filled & number.duplicated(keep="first").fillna(False).to_numpy(bool)
    if duplicated.any():
        position = int(np.flatnonzero(duplicated)[0])
        raise table.error(f"order {number[position]!r} appears twice", position, column)
    return number


def _items(read: tuple[Table, dict[str, str | None]], entities: pd.DataFrame) -> ImportResult:
    table, cols = read
    if entities["entity_id"].isna().all() and len(entities):
        raise table.error("the sales_order input has no entity_id column to attach items to")
    n = table.num_rows
    filled = np.zeros(n, dtype=bool)
    for column in cols.values():
        if column is not None:
            filled |= table.nonempty(column)
    parent = table.nonempty(cols["parent_item_id"])
    order_key = table.text_series(cols["order_id"])
    lookup = (
        entities.dropna(subset=["entity_id"]).drop_duplicates("entity_id").set_index("entity_id")
    )
    matched = order_key.map(lookup["order_id"])
    counted = order_key.map(lookup["counted"]).fillna(False).astype(bool).to_numpy()
    found = matched.notna().to_numpy(bool)
    quantity = _build.kept_quantity(
        table.number(cols["qty_ordered"]),
        table.number(cols["qty_refunded"]),
        table.number(cols["qty_canceled"]),
    )
    # the order's base_to_global_rate where the orders were converted to the global currency
    rate = order_key.map(lookup["rate"]).fillna(1.0).to_numpy(float)
    price = table.money(cols["base_price"]) * rate
    discount = np.abs(_build.money_or_zero(table.money(cols["base_discount_amount"]))) * rate
    status = np.full(n, None, dtype=object)
    status[filled & parent] = "child item"
    status[filled & ~parent & ~found] = "order not found"
    status[filled & ~parent & found & ~counted] = "order excluded"
    use = filled & (status == None)  # noqa: E711
    positions = np.flatnonzero(use)
    codes, _ = pd.factorize(matched.iloc[positions])
    lines = pd.DataFrame(
        {
            "order_id": matched.iloc[positions].to_numpy(),
            "line_number": _build.line_numbers(np.asarray(codes, np.int64)),
            "sku": _build.text_at(table.text(cols["sku"]), positions),
            "product_name": _build.text_at(
                table.text(cols["name"], strip_apostrophe=False), positions
            ),
            "quantity": quantity[positions],
            "unit_price": price[positions],
            "line_discount": discount[positions],
        }
    )
    empty = _build.orders_frame(
        "magento",
        {
            "order_number": pd.Series([], dtype="string"),
            "ordered_at": np.array([], "datetime64[us]"),
            "gross_revenue": np.array([], float),
        },
        0,
    )
    result = _build.assemble(
        table.name, "magento-items", n, empty, np.array([], object), np.array([], np.int64),
        lines=lines, empty_rows=int((~filled).sum()),
    )  # fmt: skip
    for reason in ("child item", "order not found", "order excluded"):
        count = int((status == reason).sum())
        if count:
            result.excluded[reason] += count
    return result


def read_order_grid(source: str | Path | CsvFile | Table) -> ImportResult:
    """Read the admin order grid's CSV export (see "Admin order-grid export" above)."""
    try:
        table, cols = _table(source, GRID_COLUMNS, GRID_REQUIRED)
    except InputError as error:
        if error.column not in ("Customer Email", "Subtotal"):
            raise
        raise InputError(
            error.file,
            "required column is missing (the order grid leaves it out by default: turn it on "
            "under Columns in Sales > Orders, then export again)",
            error.row,
            error.column,
        ) from None

    n = table.num_rows
    filled = _filled(table, cols)
    keep = np.flatnonzero(filled)
    _order_numbers_given(table, filled, cols["id"])
    created = _grid_dates(table, cols["purchase_date"])
    subtotal = table.money(cols["subtotal"])
    for values, key in ((created, "purchase_date"), (subtotal, "subtotal")):
        gap = filled & pd.isna(values)
        if gap.any():
            raise table.error("value is missing", int(np.flatnonzero(gap)[0]), cols[key])
    _build.check_order_dates(table, created, cols["purchase_date"])
    number, number_notes = _grid_order_numbers(
        table, filled, cols["id"], cols["purchase_point"], created
    )
    refunded = _build.money_or_zero(table.money(cols["total_refunded"]))
    _build.check_not_negative(table, refunded, cols["total_refunded"])
    gross = table.money(cols["grand_total"])
    shipping = _build.money_or_zero(table.money(cols["shipping"]))
    who = _build.identities(
        table.text_series(cols["customer_email"]), table.text_series(cols["phone"])
    )
    # the currency the amounts read name (each read by table.money above)
    money_columns = [cols[key] for key in ("subtotal", "total_refunded", "grand_total", "shipping")]
    currency = table.written_currency(money_columns)
    symbol = table.written_symbol(money_columns)
    picked = _kept_orders({
        "order_number": number,
        "customer_id": who.customer_id,
        "email": who.email,
        "is_guest": who.is_guest,
        "ordered_at": created,
        "gross_revenue": np.where(np.isnan(gross), subtotal, gross),
        "discount": np.zeros(n),
        "tax": np.zeros(n),
        "shipping": shipping,
        "refunded": refunded,
        "net_revenue": np.maximum(subtotal - refunded, 0.0),
        "channel": table.text_series(cols["purchase_point"], strip_apostrophe=False),
        # written with the amounts (€1.050,00), where one is certain
        **({} if currency is None else {"currency": pd.Series([currency] * n, dtype="string")}),
    }, keep)  # fmt: skip
    written_status = table.text_series(cols["status"]).str.strip().iloc[keep]
    status = _build.per_distinct(written_status, _grid_statuses)
    reason = _build.reasons(
        len(keep),
        [
            *_build.status_rules(status, GRID_EXCLUDED),
            (_build.NEGATIVE_AMOUNT, subtotal[keep] < 0),
        ],
    )
    unknown = _build.unknown_statuses_note(  # of the orders counted
        written_status,
        (status.isna() & written_status.notna()).to_numpy(bool) & (reason == None),  # noqa: E711
        "Magento's own", "Canceled, Closed and Refunded (or their translations)",
    )  # fmt: skip
    orders = _build.orders_frame("magento", picked, len(keep))
    notes = (
        number_notes
        + _build.identity_notes(who)
        + unknown
        + _build.unpaid_orders_note(
            status.map(UNPAID_GRID_STATUSES).to_numpy(object),
            reason == None,  # noqa: E711
            orders["net_revenue"].to_numpy(float),
            "Magento",
        )  # fmt: skip
        + _no_status_note(written_status)
        + [GRID_NOTE]
        + _build.zero_orders_note(_build.zero_amount_orders(orders, reason), MAGENTO_ZERO_REMEDY)
    )
    # the grid's cells and texts are let go of before the orders are assembled beside them
    table.release_columns([cols["bill_to_name"], cols["ship_to_name"], cols["phone"]])
    return _build.assemble(
        table.name,
        "magento-grid",
        n,
        orders,
        reason,
        np.ones(len(keep), dtype=np.int64),
        empty_rows=int((~filled).sum()),
        notes=notes,
        phone_links=who.phone_links,
        written_symbol=symbol,
        # the grid writes names whole and each address in one cell, which is not split
        order_contacts=_build.latest_contacts(
            orders,
            reason,
            _build.contact_columns(
                _kept_rows(table, keep),
                ((cols["bill_to_name"],), (cols["ship_to_name"],)),
                (cols["phone"],),
                {},
                {},
            ),
        ),
    )


def _kept_rows(table: Table, keep: np.ndarray) -> _build.OrderTexts:
    """The texts of the orders, one a kept row (``keep``: their positions in the file)."""
    codes = np.full(table.num_rows, -1, dtype=np.int64)
    codes[keep] = np.arange(len(keep))
    return _build.OrderTexts(table, codes, len(keep))


MAGENTO_ZERO_REMEDY = "cancel them in Magento, or remove them from the file"
"""What a Magento merchant does to leave out orders of an amount of 0."""


def _no_status_note(written: pd.Series) -> list[str]:
    """The note counting the grid's orders with an empty Status, which count as sales: a
    cancelled or refunded order among them would too, so the merchant learns of them."""
    empty = int((written.isna() | (written == "")).sum())
    if not empty:
        return []
    one = empty == 1
    return [
        f"{empty:,} {'order has' if one else 'orders have'} an empty Status: counted as "
        f"{'a sale' if one else 'sales'} (fill in the status of a cancelled or refunded one, or "
        "export the grid again with its Status column)"
    ]


GRID_NOTE = (
    "the order grid has no discount or tax columns: net revenue is Subtotal less Total "
    "Refunded, before discounts, and the report's discounts and tax read 0 (export sales_order "
    "for both)"
)
"""Said of every grid export: its summary's zero discounts and tax are the grid's silence."""

GRID_STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "canceled": ("canceled", "cancelled", "annulé", "annulée", "storniert", "annulliert",
                 "abgebrochen", "cancelado", "cancelada", "anulado", "anulada", "annullato",
                 "annullata", "cancellato", "cancellata", "geannuleerd"),
    "closed": ("closed", "fermé", "fermée", "clôturé", "clôturée", "geschlossen", "cerrado",
               "cerrada", "fechado", "fechada", "encerrado", "encerrada", "chiuso", "chiusa",
               "gesloten"),
    "refunded": ("refunded", "remboursé", "remboursée", "erstattet", "rückerstattet",
                 "zurückerstattet", "reembolsado", "reembolsada", "estornado", "estornada",
                 "rimborsato", "rimborsata", "terugbetaald"),
    "complete": ("complete", "completed", "complète", "complet", "terminé", "terminée",
                 "abgeschlossen", "komplett", "vollständig", "erledigt", "completo", "completa",
                 "completado", "completada", "concluído", "concluída", "completato",
                 "completata", "voltooid", "compleet", "afgerond"),
    "pending": ("pending", "new", "en attente", "ausstehend", "wartend", "offen", "pendiente",
                "pendente", "in attesa", "in afwachting", "openstaand", "wachtend"),
    "processing": ("processing", "en cours", "en traitement", "en cours de traitement",
                   "traitement en cours", "in bearbeitung", "wird bearbeitet",
                   "in verarbeitung", "procesando", "en proceso", "en procesamiento",
                   "processando", "em processamento", "in lavorazione", "in elaborazione",
                   "in corso", "in behandeling", "verwerken", "wordt verwerkt",
                   "in verwerking"),
    "on hold": ("on hold", "holded", "en suspens", "suspendu", "suspendue", "bloqué",
                "bloquée", "angehalten", "zurückgestellt", "pausiert", "en espera", "retenido",
                "retenida", "suspendido", "suspendida", "em espera", "retido", "retida",
                "suspenso", "suspensa", "in sospeso", "sospeso", "sospesa", "in de wacht",
                "vastgehouden"),
    "suspected fraud": ("suspected fraud", "fraud", "fraude suspectée", "suspicion de fraude",
                        "fraude présumée", "betrugsverdacht", "verdacht auf betrug",
                        "sospecha de fraude", "fraude sospechoso", "posible fraude",
                        "suspeita de fraude", "fraude suspeita", "sospetta frode",
                        "frode sospetta", "sospetto di frode", "vermoedelijke fraude",
                        "fraudeverdenking", "verdacht van fraude"),
    "payment review": ("payment review", "examen du paiement", "vérification du paiement",
                       "revue du paiement", "zahlungsprüfung", "zahlungsüberprüfung",
                       "prüfung der zahlung", "revisión de pago", "revisión del pago",
                       "pago en revisión", "revisão de pagamento", "revisão do pagamento",
                       "pagamento em análise", "análise de pagamento", "revisione pagamento",
                       "revisione del pagamento", "verifica pagamento",
                       "verifica del pagamento", "betalingscontrole",
                       "betaling in beoordeling", "betalingsbeoordeling"),
    "pending payment": ("pending payment", "paiement en attente", "en attente de paiement",
                        "zahlung ausstehend", "ausstehende zahlung", "pago pendiente",
                        "pendiente de pago", "pagamento pendente", "aguardando pagamento",
                        "pagamento in attesa", "in attesa di pagamento", "wacht op betaling",
                        "betaling in afwachting", "in afwachting van betaling"),
    "pending paypal": ("pending paypal",),
    "paypal reversed": ("paypal reversed",),
    "paypal canceled reversal": ("paypal canceled reversal",),
}  # fmt: skip
"""Magento's own order statuses, by their English label (lower-case), as the order grid writes
them: the label or code in English (``_`` read as a space), or the label of an admin translated
into French, German, Spanish, Portuguese, Italian or Dutch (language packs and shops word them
differently: the usual wordings, both genders)."""

UNPAID_GRID_STATUSES = {
    "pending": "pending", "pending payment": "pending payment",
    "pending paypal": "pending payment", "payment review": "payment review",
    "suspected fraud": "suspected fraud",
}  # fmt: skip
"""The grid's statuses (English, :data:`GRID_STATUS_WORDS`) of an order not paid (or not
cleared) yet, counted as a sale, by the label a note gives them."""

UNPAID_STATES = {"new": "pending", "pending_payment": "pending payment",
                 "payment_review": "payment review"}  # fmt: skip
"""``sales_order``'s states of an order not paid yet, counted as a sale, by their label."""

GRID_EXCLUDED = {"canceled": "cancelled", "closed": "refunded", "refunded": "refunded"}
"""The grid's statuses (English, :data:`GRID_STATUS_WORDS`) whose orders are left out, by
reason: Magento closes an order refunded in full; ``Refunded`` is a shop's own status saying
the same."""


_GRID_STATUS_OF = _build.label_lookup(GRID_STATUS_WORDS)


def _grid_statuses(labels: pd.Series) -> pd.Series:
    """The grid's status labels as Magento's English ones (:data:`GRID_STATUS_WORDS`), <NA>
    for a label that is none of them (a shop's own status) or empty."""
    return _build.folded_labels(labels).map(_GRID_STATUS_OF).astype("string")


_UPPER_TO_LETTERS = r"[\x{df}\x{149}\x{1f0}\x{1e96}-\x{1e9a}\x{fb00}-\x{fb06}]"
"""Letters that Python upper-cases to ASCII letters (ß -> SS, the ligature ﬁ -> FI) and Arrow's
upper-casing leaves as they are: with them, a grid date is cleaned by Python's text methods."""


def _read_grid_forms(cleaned: pd.Series, out: np.ndarray, todo: np.ndarray) -> None:
    """Set ``out`` where ``todo`` is set to the dates the grid's forms read in ``cleaned``, and
    clear ``todo`` there."""
    for fmt in _GRID_DATE_FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(cleaned[todo], format=fmt, errors="coerce")
        parsed = parsed.to_numpy("datetime64[us]")
        done = ~np.isnat(parsed)
        positions = np.flatnonzero(todo)[done]
        out[positions] = parsed[done]
        todo[positions] = False


def _in_english(cleaned: pd.Series) -> pd.Series:
    """Grid dates of an admin in another language as the English forms write them: month names
    in English and Portuguese's ``de`` (``31 DE MAR. DE 2024``) left out."""
    english = english_month_names(pa.array(cleaned, pa.string()))
    english = pc.replace_substring_regex(english, pattern=r"(?i)\bde\s+", replacement="")
    return pd.Series(english.to_pandas(), index=cleaned.index, dtype="string")


def _grid_dates(table: Table, column: str) -> np.ndarray:
    """``Jan 5, 2024 10:15:03 AM`` and its variants (``_GRID_DATE_FORMATS``) as timestamps.

    ``--map date_format`` (the table's :attr:`~valuecast.io.csvfile.Table.date_format`) reads
    the column instead; a column none of whose dates the grid's forms read (``06/01/2024
    23:23``, a locale's numeric dates) is read as an orders table's dates are, with its day
    and month order told from the column."""
    if table.date_format is not None:
        return table.timestamps(column, fmt=table.date_format)
    raw = table.text(column)
    # newer ICU data writes a narrow no-break space before AM/PM, and a comma after the year
    if not pc.any(pc.match_substring_regex(raw, _UPPER_TO_LETTERS)).as_py():
        # Arrow's text functions: the same text as Python's but for the letters above
        spaced = pc.replace_substring_regex(
            pc.replace_substring(raw, ",", " "), f"{WHITESPACE_CLASS}+", " "
        )
        cleaned = pd.Series(pc.utf8_upper(pc.utf8_trim_whitespace(spaced)).to_pandas())
        cleaned = cleaned.astype("string")
    else:
        cleaned = table.text_series(column).str.replace(",", " ", regex=False)
        cleaned = cleaned.str.replace(r"[\s\u202f\u00a0]+", " ", regex=True)
        cleaned = cleaned.str.strip().str.upper()
    out = np.full(len(raw), np.datetime64("NaT"), "datetime64[us]")
    todo = np.asarray(pc.is_valid(raw).to_numpy(zero_copy_only=False), bool).copy()
    _read_grid_forms(cleaned, out, todo)
    if todo.any():  # an admin in French, Spanish, ...: "31 mars 2024, 23:30:00"
        _read_grid_forms(_in_english(cleaned), out, todo)
    if todo.any():
        if np.array_equal(todo, np.asarray(pc.is_valid(raw).to_numpy(zero_copy_only=False))):
            return table.timestamps(column, extra_formats=True)  # no date of the grid's forms
        position = int(np.flatnonzero(todo)[0])
        raise table.error(
            f"cannot read {raw[position].as_py()!r} as a date (the order grid writes e.g. "
            "Jan 5, 2024 10:15:03 AM; give another form with --map date_format=...)",
            position,
            column,
        )
    return out
