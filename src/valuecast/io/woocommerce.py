"""WooCommerce order exports.

Three column sets are read, by name:

* the WebToffee "Order Export & Import" set — one row per order, ``order_id, order_number,
  order_date, status, shipping_total, shipping_tax_total, fee_total, tax_total, discount_total,
  order_total, order_currency, customer_email, billing_email, ..., coupon_items, refund_items,
  line_item_1, line_item_2, ...`` with each line item packed as ``name:Hoodie|sku:HD-1|quantity:2|
  total:40.00|sub_total:44.00|...``;
* the WooCommerce.com "Customer/Order CSV Export" set — ``order_id, order_number, order_date,
  status, ..., order_total, refunded_total, ..., billing_email, ...`` with, in its one-row-per-item
  layout, ``item_name, item_sku, item_quantity, item_subtotal, item_total`` columns. Rows sharing
  an ``order_id`` are one order; order-level fields are the first non-empty value among its rows;
* the labels of "Advanced Order Export For WooCommerce" (AlgolPlus) and similar exporters —
  ``Order Number, Order Status, Order Date, Email (Billing), Phone (Billing), Country Code
  (Billing), Cart Discount Amount, Order Shipping Amount, Order Refund Amount, Order Total
  Amount, Order Total Tax Amount, SKU, Item Name, Quantity (- Refund), Coupon Code``, one row
  per item, read as the set above (the order total is the amount paid, tax and shipping in);
* WooCommerce's own ``wc_orders`` table (High-Performance Order Storage), as a database tool
  dumps it or the engine reads it: ``id, status, currency, type, tax_amount, total_amount,
  customer_id, billing_email, date_created_gmt, date_updated_gmt, parent_order_id, ...``. A row
  of ``type`` ``shop_order_refund`` is a refund (its amounts negative) of the order
  ``parent_order_id`` names: its total comes off that order's revenue without its tax, its
  row counted with the order's; a refund of an order not in the table is excluded as
  ``"refund of an order not in the file"``, and a row of another type (``shop_subscription``,
  WooCommerce Subscriptions' records) as ``"not an order"``. ``date_created_gmt`` is in UTC:
  ``--map time_zone=Europe/Berlin`` shifts it to the shop's wall-clock time, and without it a
  note says the days are UTC days. The table has no shipping: a note says net revenue holds it
  (wc_order_operational_data's ``shipping_total_amount``, ``shipping_tax_amount`` and
  ``discount_total_amount`` are read when joined in).

Rules
-----
* Status: lower-cased, a ``wc-`` prefix dropped, spaces as hyphens (``Pending payment`` ->
  ``pending-payment``); a label of an admin in German, French, Spanish, Italian, Dutch or
  Portuguese (``Storniert``, ``Remboursée``, ``Fallido``; :data:`STATUS_WORDS`) is read as its
  status, without case or accents. Excluded: ``cancelled``, ``failed``, ``refunded``, ``trash`` (each its own
  reason) and ``draft`` / ``checkout-draft`` / ``auto-draft`` as ``"draft"`` (a block checkout
  still in progress is not an order). Every other status counts, including ``pending`` and
  ``on-hold`` (awaiting payment: WooCommerce cancels them itself when payment never comes,
  if it holds stock for them); a note counts those not paid yet and sums their revenue.
* ``net_revenue = max(order_total - tax - shipping - refunds x share, 0)``, the refunds taken off
  without their tax (``share``: the items' price without tax over their price with it,
  ``(order_total - tax - shipping) / (order_total - shipping - shipping_tax_total)``), where
  tax = ``tax_total``, which both exporters write as WooCommerce's total tax (the items', the
  fees' and the shipping's: ``shipping_tax_total`` and ``fee_tax_total`` are parts of it), or
  without it ``cart_tax`` (the items' and fees' tax) + ``shipping_tax_total``; shipping =
  ``shipping_total``, and refunds =
  ``refunded_total`` when present, otherwise the sum of the ``amount:`` entries of
  ``refund_items``. Fees stay in net revenue. Missing amount columns count as 0. An
  ``order_total`` below zero excludes the order as ``"negative amount"``; refunds leaving its
  items nothing (every item refunded, the shipping kept, which WooCommerce leaves
  ``completed``) exclude it as ``"refunded"``, as Shopify's export is read.
* Rows sharing an ``order_id`` that give different order-level amounts (``order_total``, the
  tax, shipping, discount and refund totals) are an error naming the second row: two versions
  of one order in one file. An ``order_date`` before 1990 or after tomorrow is an error.
* ``gross_revenue`` = ``order_total``; ``discount`` = ``discount_total`` (or ``cart_discount``).
* ``customer_id`` = ``customer_email`` (WebToffee's: the account's own address, empty for a
  guest) else ``billing_email``, trimmed and lower-cased. A registered customer (the WordPress
  user id of ``customer_user`` / ``customer_id``, ``0`` or empty for a guest) is one customer
  whatever billing e-mail each order gives: all their orders take the account's
  ``customer_email``, else the billing e-mail of their latest order giving one; a guest order
  whose e-mail the orders of one account carry (as account or billing address) is that
  account's (a registered customer checking out as a guest), and one whose e-mail two accounts'
  orders carry is its own address's; an account whose orders carry more than 3 addresses (a
  till's, :func:`valuecast.io._build.accounts`) joins none. Each order's ``email`` stays the
  address it gives. An order without email (a cell without ``@`` such as ``-``, or a
  placeholder address such as ``guest@myshop.com``, is none) is the customer of its
  ``billing_phone`` (national numbers get the calling code of ``billing_country``; a
  placeholder number is none; :mod:`valuecast.io.phones`, and
  :func:`valuecast.io._build.identities` for an email and a phone on one order); neither
  -> guest order. ``order_number`` = ``order_number`` (else ``order_id``).
* ``order_contacts`` (the audience files' names, phones and places where no customers export
  gives them): ``billing_first_name`` and ``billing_last_name`` (else the shipping ones),
  ``billing_phone`` (else ``shipping_phone``), and ``billing_city``/``state``/``country``/
  ``postcode`` where the billing address gives any (else the shipping address's), of each
  customer's latest counted order that gives a name, a phone, an address.
* ``ordered_at`` = ``order_date`` as written (the store's local time), ISO or the day/month
  forms described in :mod:`valuecast.io.csvfile`, or as WordPress's date and time settings
  write it (``March 5, 2024 11:30 pm``, ``5. März 2024``, ``2024-03-05 11:30 pm``): a month by
  its name, a 12-hour clock; a ``05/03/2024`` no date of the column tells the order of is an
  error asking for ``--map date_format``.
* Line items (``item_name`` / ``item_sku`` rows, or the packed ``line_item_N`` cells) become
  order lines; ``item_refunded_qty`` (the CSV Export's items refunded, written negative) is
  taken off ``item_quantity``, and so are the whole items a packed cell's ``refunded:`` amount
  pays back at the line's price, so that an item refunded is no purchase for affinity,
  next products, reminders and the first product, as the order's revenue already nets it.
* ``discount_code`` = the first ``code:`` of ``coupon_items`` (or a plain ``coupons`` /
  ``coupon_code`` cell up to its first comma); ``channel`` = ``created_via`` when exported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from valuecast.io import _build
from valuecast.io.csvfile import (
    WHITESPACE_CLASS,
    CsvFile,
    Table,
    find_column,
    normalise_name,
    open_csv,
    release_arrow_pages,
)
from valuecast.io.schema import ADDRESS_FIELDS, ImportResult, InputError

__all__ = ["ORDER_COLUMNS", "EXCLUDED_STATUSES", "read_orders", "read_orders_frame"]

ORDER_COLUMNS: dict[str, tuple[str, ...]] = {
    "order_id": ("order_id", "Order ID", "id"),
    "order_number": ("order_number_formatted", "order_number", "Order Number"),
    "order_date": ("order_date", "Order Date", "date_created", "date_created_gmt"),
    "status": ("status", "order_status", "Order Status"),
    "order_total": ("order_total", "Order Total", "Order Total Amount", "total", "total_amount"),
    "tax_total": ("tax_total", "Order Tax", "Tax Total", "Order Total Tax Amount", "tax_amount"),
    "cart_tax": ("cart_tax",),
    "shipping_tax_total": ("shipping_tax_total", "shipping_tax", "shipping_tax_amount"),
    "fee_tax_total": ("fee_tax_total",),
    "shipping_total": (
        "shipping_total",
        "order_shipping",
        "Shipping Total",
        "Order Shipping Amount",
        "shipping_total_amount",
    ),
    "discount_total": (
        "discount_total",
        "cart_discount",
        "Discount Total",
        "Cart Discount Amount",
        "discount_total_amount",
    ),  # fmt: skip
    "refunded_total": (
        "refunded_total",
        "order_refund",
        "refund_total",
        "Refunded Total",
        "Order Refund Amount",
    ),  # fmt: skip
    "refund_items": ("refund_items",),
    "currency": ("order_currency", "currency", "Currency"),
    "customer_email": ("customer_email", "Customer Email"),
    "customer_user": ("customer_user", "customer_id", "Customer User ID", "User ID"),
    "billing_email": ("billing_email", "Billing Email", "Email (Billing)"),
    "billing_phone": ("billing_phone", "Billing Phone", "Phone (Billing)"),
    "billing_country": ("billing_country", "Billing Country", "Country Code (Billing)"),
    "billing_first_name": ("billing_first_name", "Billing First Name", "First Name (Billing)"),
    "billing_last_name": ("billing_last_name", "Billing Last Name", "Last Name (Billing)"),
    "billing_city": ("billing_city", "Billing City", "City (Billing)"),
    "billing_province": ("billing_state", "Billing State", "State Code (Billing)"),
    "billing_zip": ("billing_postcode", "Billing Postcode", "Postcode (Billing)"),
    "shipping_first_name": ("shipping_first_name", "Shipping First Name", "First Name (Shipping)"),
    "shipping_last_name": ("shipping_last_name", "Shipping Last Name", "Last Name (Shipping)"),
    "shipping_phone": ("shipping_phone", "Shipping Phone", "Phone (Shipping)"),
    "shipping_city": ("shipping_city", "Shipping City", "City (Shipping)"),
    "shipping_province": ("shipping_state", "Shipping State", "State Code (Shipping)"),
    "shipping_country": ("shipping_country", "Shipping Country", "Country Code (Shipping)"),
    "shipping_zip": ("shipping_postcode", "Shipping Postcode", "Postcode (Shipping)"),
    "coupon_items": ("coupon_items",),
    "coupons": ("coupons", "coupon_code", "Coupon Code"),
    "created_via": ("created_via",),
    "item_name": ("item_name", "line_item_name", "Item Name"),
    "item_sku": ("item_sku", "Item SKU", "SKU"),
    "item_quantity": ("item_quantity", "Item Quantity", "Quantity", "Quantity (- Refund)"),
    "item_subtotal": ("item_subtotal",),
    "item_total": ("item_total", "Item Total"),
    "item_refunded_qty": ("item_refunded_qty",),
    "type": ("type",),
    "parent_order_id": ("parent_order_id",),
}
REQUIRED = ("order_date", "status", "order_total")
EXCLUDED_STATUSES: dict[str, str] = {
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "failed": "failed",
    "refunded": "refunded",
    "trash": "trash",
    "draft": "draft",
    "checkout-draft": "draft",
    "auto-draft": "draft",
}
KNOWN_STATUSES = frozenset(
    {*EXCLUDED_STATUSES, "pending", "processing", "on-hold", "completed", "pending-payment"}
)
"""WooCommerce's own order statuses (after :func:`_status`); any other is named in a note."""
STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "pending": ("zahlung ausstehend", "attente paiement", "en attente de paiement",
                "paiement en attente", "pendiente de pago", "pago pendiente",
                "in attesa di pagamento", "pagamento in attesa", "wachtend op betaling",
                "in afwachting van betaling", "betaling in afwachting", "pagamento pendente",
                "aguardando pagamento"),
    "processing": ("in bearbeitung", "en cours", "en traitement", "procesando", "en proceso",
                   "in lavorazione", "in elaborazione", "in behandeling", "verwerken",
                   "processando", "em processamento"),
    "on-hold": ("in wartestellung", "wartend", "angehalten", "en attente", "en espera",
                "in sospeso", "in attesa", "in de wacht", "aguardando", "em espera",
                "em aguardo"),
    "completed": ("abgeschlossen", "fertiggestellt", "terminée", "terminé", "complétée",
                  "completado", "completada", "completato", "completata", "voltooid",
                  "afgerond", "concluído", "concluída", "completo"),
    "cancelled": ("storniert", "abgebrochen", "annulée", "annulé", "cancelado", "cancelada",
                  "cancellato", "cancellata", "annullato", "annullata", "geannuleerd"),
    "refunded": ("rückerstattet", "erstattet", "zurückerstattet", "remboursée", "remboursé",
                 "reembolsado", "reembolsada", "rimborsato", "rimborsata", "terugbetaald"),
    "failed": ("fehlgeschlagen", "échouée", "échoué", "échec", "fallido", "fallida",
               "fallito", "fallita", "non riuscito", "mislukt", "malsucedido", "malsucedida",
               "falhou", "falhado", "falhada", "com falha"),
    "draft": ("entwurf", "brouillon", "borrador", "bozza", "concept", "rascunho"),
    "trash": ("papierkorb", "corbeille", "papelera", "cestino", "prullenbak", "lixeira",
              "lixo"),
}  # fmt: skip
"""WooCommerce's statuses (slugs) by their labels in an admin translated into German, French,
Spanish, Italian, Dutch or Portuguese, as an exporter writing labels (``Order Status``) writes
them: translations word them differently, so the usual wordings, both genders."""
_STATUS_OF = _build.label_lookup(STATUS_WORDS)
_PACKED = re.compile(r"^line[ _]?item[ _]?\d+$")


def _resolve(source: CsvFile | Table) -> dict[str, str | None]:
    cols = {
        key: source.require(*aliases) if key in REQUIRED else source.find(*aliases)
        for key, aliases in ORDER_COLUMNS.items()
    }
    if cols["order_id"] is None and cols["order_number"] is None:
        source.require("order_id")
    if all(cols[key] is None for key in ("customer_email", "billing_email", "billing_phone")):
        source.require("customer_email", "billing_email", "billing_phone")
    return cols


def _packed_columns(header: list[str]) -> list[str]:
    return [name for name in header if _PACKED.match(normalise_name(name).replace(" ", "_"))]


def read_orders(source: str | Path | CsvFile | Table, time_zone: str | None = None) -> ImportResult:
    """Read a WooCommerce order export (see the module docstring); ``time_zone`` (an IANA
    name) is the shop's, into which the UTC dates of a ``wc_orders`` table are shifted."""
    table, cols, packed = _read_table(source, time_zone)
    return _orders(table, cols, packed, time_zone)


def _read_table(
    source: str | Path | CsvFile | Table, time_zone: str | None
) -> tuple[Table, dict[str, str | None], list[str]]:
    """The columns the rules read, their names and the packed line-item columns: the file's
    bytes opened here are let go of on return, before the rules run."""
    csv = source if isinstance(source, CsvFile | Table) else open_csv(source)
    cols = _resolve(csv)
    _check_time_zone(csv, cols, time_zone)
    packed = _packed_columns(csv.header)
    return csv.read([c for c in cols.values() if c is not None] + packed), cols, packed


def read_orders_frame(
    frame: pd.DataFrame, name: str = "woocommerce", time_zone: str | None = None
) -> ImportResult:
    """The same rules on a DataFrame (e.g. read from the shop's database by the engine)."""
    table = Table.from_frame(frame, name)
    cols = _resolve(table)
    _check_time_zone(table, cols, time_zone)
    return _orders(table, cols, _packed_columns(table.header), time_zone)


def dates_in_utc(header: list[str]) -> bool:
    """Whether a WooCommerce export with this header dates its orders in UTC: the
    ``date_created_gmt`` of a ``wc_orders`` table (HPOS), which WooCommerce stores in UTC, where
    the exporters write the shop's own time."""
    return _utc_column(find_column(header, ORDER_COLUMNS["order_date"]))


def _utc_column(name: str | None) -> bool:
    """Whether a date column is one WordPress keeps in UTC (``date_created_gmt``)."""
    return name is not None and normalise_name(name).replace(" ", "_").endswith("_gmt")


def _check_time_zone(
    source: CsvFile | Table, cols: dict[str, str | None], time_zone: str | None
) -> None:
    """Raise when a time zone is given for an export whose dates are the shop's own time
    already (shifting them would move them off it)."""
    if time_zone is not None and not dates_in_utc(source.header):
        raise InputError(
            source.name,
            f"--map time_zone applies to the UTC dates of a wc_orders table (date_created_gmt); "
            f"the {cols['order_date']} of this WooCommerce export is the shop's own time: "
            "leave time_zone out",
        )


def _status(values: pd.Series) -> pd.Series:
    """Statuses as WooCommerce's slugs: a slug as written (``wc-`` dropped, spaces as hyphens:
    ``Pending payment`` -> ``pending-payment``), or the slug of a translated admin's label
    (:data:`STATUS_WORDS`)."""
    text = values.str.strip().str.lower().str.replace(r"\s+", "-", regex=True)
    translated = _build.folded_labels(values).map(_STATUS_OF).astype("string")
    return translated.fillna(text.str.replace(r"^wc-", "", regex=True))


def _refund_sum(cells: pd.Series) -> np.ndarray:
    out = np.zeros(len(cells))
    present = cells.notna().to_numpy(bool)
    if present.any():
        found = cells[present].astype(str).str.extractall(r"amount:\s*(-?[0-9]+(?:\.[0-9]+)?)")
        if len(found):
            sums = found[0].astype(float).abs().groupby(level=0).sum()
            out[sums.index.to_numpy()] = sums.to_numpy()
    return out


def _orders(
    table: Table, cols: dict[str, str | None], packed: list[str], time_zone: str | None = None
) -> ImportResult:
    read = _read_orders(table, cols, packed, time_zone)
    # the per-order working columns (~0.2 GB at a million orders) are let go of on return from
    # _read_orders, before the lines are built beside the orders
    lines = _lines(table, cols, packed, read.codes, read.orders["order_id"].array, read.reason)
    release_arrow_pages()  # the line items' cells and fields, freed on return
    return _build.assemble(
        table.name,
        "woocommerce",
        table.num_rows,
        read.orders,
        read.reason,
        np.bincount(read.codes[read.codes >= 0], minlength=len(read.orders)),
        lines=lines,
        empty_rows=read.empty_rows,
        notes=read.notes,
        phone_links=read.phone_links,
        written_symbol=read.written_symbol,
        order_contacts=read.contacts,
    )


class _ReadOrders(NamedTuple):
    """The orders of an export, before their lines (:func:`_read_orders`)."""

    orders: pd.DataFrame
    reason: np.ndarray
    """Per order, why it is excluded (None: counted)."""
    codes: np.ndarray
    """Per row, its order (-1: an empty row)."""
    empty_rows: int
    notes: list[str]
    phone_links: pd.DataFrame | None
    written_symbol: str | None
    contacts: pd.DataFrame | None


def _read_orders(
    table: Table, cols: dict[str, str | None], packed: list[str], time_zone: str | None
) -> _ReadOrders:
    if _is_orders_table(cols) or dates_in_utc(table.header):
        table.empty_words(_build.SQL_NULLS)  # a database dump's NULL cells
    n_rows = table.num_rows
    filled = np.zeros(n_rows, dtype=bool)
    for column in [*[c for c in cols.values() if c is not None], *packed]:
        filled |= table.nonempty(column)
    refund_row = _refund_rows(table, cols, filled)
    key_column = cols["order_id"] or cols["order_number"]
    table.name_rows_by(key_column)
    keys = _order_keys(table, cols, key_column, refund_row)
    keyless = filled & keys.isna().to_numpy(bool)
    if keyless.any():
        raise table.error("row has no order id", int(np.flatnonzero(keyless)[0]), key_column)
    # in Arrow: a Python string an order held ~0.1 GB at a million orders
    codes, uniques = _build.factorize(pa.chunked_array([pa.array(keys.array, pa.string())]))
    n = len(uniques)
    # the rows stating an order's own fields: its refunds' rows (wc_orders) state the refund's
    stated = np.where(refund_row, -1, codes)
    first_row = _build.first_positions(stated, n)
    has_order = first_row >= 0

    def first(key: str) -> pd.Series:
        return _build.group_first(table, stated, n, cols[key])

    def money(key: str) -> np.ndarray:
        values = table.money(cols[key])
        _build.check_order_level(table, values, stated, n, cols[key], uniques)
        return _build.group_first_values(values, stated, n)

    def required(
        values: np.ndarray, key: str, what: str, spared: np.ndarray | None = None
    ) -> np.ndarray:
        gap = pd.isna(values) & has_order & (True if spared is None else ~spared)
        if gap.any():
            position = int(first_row[np.flatnonzero(gap)[0]])
            raise table.error(f"order has no {what}", position, cols[key])
        return values

    utc = dates_in_utc(table.header)
    stamps = (
        _build.store_times(table, cols["order_date"], time_zone, extra_formats=True)
        if utc
        else table.timestamps(cols["order_date"], extra_formats=True, wordpress=True)
    )
    _build.check_order_dates(table, stamps, cols["order_date"])
    _build.check_order_level_text(table, cols["status"], stated, n, uniques, "status", _status)
    status_cells = first("status")
    status = _build.per_distinct(status_cells, _status)
    # a checkout in progress (a wc_orders table keeps it) may have no date or total yet
    draft = (status.map(EXCLUDED_STATUSES) == "draft").fillna(False).to_numpy(bool)
    ordered_at = _build.group_first_values(stamps, stated, n)
    required(ordered_at, "order_date", "date", spared=draft)
    # a refund of an order not in the file is dated by the refund, to be counted as excluded
    ordered_at = np.where(has_order, ordered_at, _build.group_first_values(stamps, codes, n))
    total = required(money("order_total"), "order_total", "total", spared=draft)
    total = np.where(has_order, np.nan_to_num(total), 0.0)
    required(status_cells.to_numpy(object, na_value=np.nan), "status", "status")
    shipping_tax = _build.money_or_zero(money("shipping_tax_total"))
    tax = _order_tax(cols, money, shipping_tax)
    shipping = _build.money_or_zero(money("shipping_total"))
    if refund_row.any():
        given_back = _refund_row_sums(table, cols, codes, refund_row, n)
        refunds = given_back.total
        net = np.maximum(total - tax - shipping - given_back.revenue, 0.0)
    else:
        if cols["refunded_total"] is not None:
            refunds = np.abs(_build.money_or_zero(money("refunded_total")))
        else:
            refunds = _refund_sum(first("refund_items"))
        net = _net_of_refunds(total, tax, shipping, shipping_tax, refunds)
    email_cells = first("customer_email")
    billing = first("billing_email")
    if cols["billing_email"] is not None:
        email_cells = email_cells.where(email_cells.str.strip().fillna("") != "", billing)
    accounts = _build.accounts(
        first("customer_user"), email_cells, ordered_at, billing, id_column=cols["customer_user"]
    )
    who = _build.identities(accounts.email, first("billing_phone"), first("billing_country"))
    who = _build.with_written_emails(who, email_cells, accounts)
    code = first("coupon_items").str.extract(r"code:\s*([^|;]*)", expand=False).str.strip()
    plain = first("coupons").str.split(",").str[0].str.strip()
    code = code.where(code.fillna("") != "", plain).mask(lambda s: s == "", pd.NA)
    number = (
        first("order_number")
        if cols["order_number"] is not None
        else pd.Series(uniques, dtype="string")
    )
    number = number.fillna(pd.Series(uniques, dtype="string"))
    currency = _build.currency_column(first("currency"))
    money_keys = (
        "order_total", "tax_total", "cart_tax", "shipping_total", "refunded_total",
        "discount_total",
    )  # fmt: skip
    written = table.written_currency([cols[key] for key in money_keys])  # 59,50 €
    symbol = table.written_symbol([cols[key] for key in money_keys])
    currency, currency_notes = _build.currency_with_amounts(currency, written)
    orders = _build.orders_frame(
        "woocommerce",
        {
            "order_number": number,
            "customer_id": who.customer_id,
            "email": who.email,
            "is_guest": who.is_guest,
            "ordered_at": ordered_at,
            "gross_revenue": total,
            "discount": np.abs(_build.money_or_zero(money("discount_total"))),
            "tax": tax,
            "shipping": shipping,
            "refunded": refunds,
            "net_revenue": net,
            "currency": currency,
            "channel": first("created_via"),
            "discount_code": code,
        },
        n,
    )
    kind = first("type").str.strip().str.lower() if _is_orders_table(cols) else None
    table_notes = _orders_table_notes(table, cols, kind, time_zone, utc)
    # the order-level cells and texts (~0.3 GB at a million orders) are let go of before the
    # contacts and the lines, which read their own columns, are built beside the orders
    table.release_columns([*packed, *(cols[key] for key in (*_ITEM_KEYS, *_CONTACT_KEYS))])
    # a subscription's statuses (wc-active) are not an order's
    other = np.zeros(n, bool) if kind is None else (kind.fillna(ORDER_TYPE) != ORDER_TYPE)
    other = np.asarray(other, bool)
    rules = [(REFUND_WITHOUT_ORDER, ~has_order), (NOT_AN_ORDER, other)]
    rules += _build.status_rules(status, EXCLUDED_STATUSES)
    # every item refunded, the shipping kept: WooCommerce leaves the order completed, and
    # counted it would be a repeat purchase worth nothing (Shopify's export is read alike)
    items = total - shipping - shipping_tax
    rules.append(("refunded", (refunds > 0) & (items > 0.005) & (net <= 0.005)))
    rules.append((_build.NEGATIVE_AMOUNT, total < 0))
    reason = _build.reasons(n, rules)
    # of the orders counted: one another rule leaves out is not "counted as sales"
    unknown = _build.unknown_statuses_note(
        status_cells.str.strip(),
        (reason == None) & ~status.isin(KNOWN_STATUSES).fillna(True).to_numpy(bool),  # noqa: E711
        "WooCommerce's own", "cancelled, failed, refunded, trash and draft",
    )  # fmt: skip
    unpaid = _unpaid_note(status, reason == None, orders["net_revenue"].to_numpy(float))  # noqa: E711
    unpaid += _build.zero_orders_note(
        _build.zero_amount_orders(orders, reason),
        "cancel them in WooCommerce, or remove them from the file",
    )
    # texts read for each customer's latest orders only
    contacts = _build.latest_contacts(orders, reason, _contacts(table, cols, stated, n))
    table.release_columns([*packed, *(cols[key] for key in _ITEM_KEYS)])
    return _ReadOrders(
        orders,
        reason,
        codes,
        empty_rows=int((~filled).sum()),
        notes=_build.identity_notes(who)
        + accounts.notes
        + unpaid
        + unknown
        + currency_notes
        + _untaxed_note(cols)
        + table_notes,
        phone_links=who.phone_links,
        written_symbol=symbol if currency.isna().all() else None,
        contacts=contacts,
    )


_ITEM_KEYS = (
    "item_name", "item_sku", "item_quantity", "item_subtotal", "item_total", "item_refunded_qty",
)  # fmt: skip
"""The columns of the line items (:func:`_lines`)."""
_CONTACT_KEYS = (
    "billing_first_name", "billing_last_name", "shipping_first_name", "shipping_last_name",
    "billing_phone", "shipping_phone",
    *(f"{side}_{key}" for side in ("billing", "shipping") for key in ADDRESS_FIELDS),
)  # fmt: skip
"""The columns of the orders' contacts (:func:`_contacts`)."""


def _contacts(
    table: Table, cols: dict[str, str | None], stated: np.ndarray, n: int
) -> _build.OrderContacts:
    """The orders' names (both of the billing address where it gives either, else the
    shipping's), phones (billing, else shipping) and addresses (:func:`_build.contact_columns`)."""
    return _build.contact_columns(
        _build.OrderTexts(table, stated, n),
        (
            (cols["billing_first_name"], cols["billing_last_name"]),
            (cols["shipping_first_name"], cols["shipping_last_name"]),
        ),
        (cols["billing_phone"], cols["shipping_phone"]),
        {key: cols[f"billing_{key}"] for key in ADDRESS_FIELDS},
        {key: cols[f"shipping_{key}"] for key in ADDRESS_FIELDS},
    )


ORDER_TYPE = "shop_order"
REFUND_TYPE = "shop_order_refund"
REFUND_WITHOUT_ORDER = "refund of an order not in the file"
NOT_AN_ORDER = "not an order"


def _is_orders_table(cols: dict[str, str | None]) -> bool:
    """Whether the export is a ``wc_orders`` table (HPOS), whose ``type`` tells orders from
    their refunds and from the other records WooCommerce keeps there (subscriptions): its
    ``type`` beside ``parent_order_id`` or a ``date_created_gmt``."""
    return cols["type"] is not None and (
        cols["parent_order_id"] is not None or _utc_column(cols["order_date"])
    )


def _refund_rows(table: Table, cols: dict[str, str | None], filled: np.ndarray) -> np.ndarray:
    """Per row, whether it is a refund (``type`` ``shop_order_refund``) of a ``wc_orders``
    table; a table of refunds without ``parent_order_id`` cannot tell their orders."""
    if cols["type"] is None:
        return np.zeros(table.num_rows, dtype=bool)
    kind = _build.per_distinct(table.text_series(cols["type"]), lambda text: text.str.lower())
    refund = (kind == REFUND_TYPE).fillna(False).to_numpy(bool) & filled
    if refund.any() and cols["parent_order_id"] is None:
        raise table.error(
            "a refund (type shop_order_refund) needs the parent_order_id column, which names "
            "its order: export the whole wc_orders table",
            int(np.flatnonzero(refund)[0]),
            cols["type"],
        )
    return refund


def _order_keys(
    table: Table, cols: dict[str, str | None], key_column: str, refund_row: np.ndarray
) -> pd.Series:
    """Per row, the order it belongs to: its own id, or for a refund its ``parent_order_id``."""
    keys = table.text_series(key_column)
    if not refund_row.any():
        return keys
    parent_column = cols["parent_order_id"]
    parents = table.text_series(parent_column)
    orphan = refund_row & parents.isna().to_numpy(bool)
    if orphan.any():
        raise table.error("refund has no parent_order_id", int(np.flatnonzero(orphan)[0]),
                          parent_column)  # fmt: skip
    return keys.where(~refund_row, parents)


class _GivenBack(NamedTuple):
    total: np.ndarray
    """Per order, what its refunds gave back, tax and shipping in."""
    revenue: np.ndarray
    """Per order, the revenue its refunds gave back: without their tax and shipping."""


def _refund_row_sums(
    table: Table,
    cols: dict[str, str | None],
    codes: np.ndarray,
    refund_row: np.ndarray,
    n: int,
) -> _GivenBack:
    """The refunds of each order, from its refund rows in a ``wc_orders`` table, whose amounts
    WooCommerce writes negative (a refund of 11.90 with 1.90 of VAT: ``-11.90``, ``-1.90``):
    their totals, and the revenue they give back, their own tax (and shipping, where exported)
    left out."""
    rows = np.flatnonzero(refund_row)

    def summed(key: str) -> np.ndarray:
        values = np.abs(_build.money_or_zero(table.money(cols[key])[rows]))
        return np.bincount(codes[rows], weights=values, minlength=n)

    total = summed("order_total")
    taken = summed("tax_total") if cols["tax_total"] is not None else np.zeros(n)
    if cols["shipping_total"] is not None:
        taken = taken + summed("shipping_total")
    return _GivenBack(total, np.maximum(total - taken, 0.0))


def _orders_table_notes(
    table: Table,
    cols: dict[str, str | None],
    kind: pd.Series | None,
    time_zone: str | None,
    utc: bool,
) -> list[str]:
    """The notes of a ``wc_orders`` table: its dates in UTC read as written, its shipping (not
    in the table) left in net revenue, and its records that are not orders (subscriptions)."""
    notes = []
    column = cols["order_date"]
    if utc and time_zone is None and not _build.zoned(table, column):
        notes.append(
            f"{column} is in UTC, as WooCommerce stores it, and read as written: an order placed "
            "late in the evening in a shop west of UTC (early in the morning east of it) falls "
            "on the UTC day; give the shop's time zone (--map time_zone=Europe/Berlin) to read "
            "the shop's own days"
        )
    if kind is None:
        return notes
    if cols["shipping_total"] is None:
        notes.append(
            "the wc_orders table has no shipping amounts: net revenue holds each order's "
            "shipping (without its tax); add wc_order_operational_data's shipping_total_amount "
            "column to leave it out"
        )
    others = kind[kind.notna() & (kind != ORDER_TYPE)].value_counts()
    if len(others):
        listed = ", ".join(f"{others[name]:,} {name}" for name in sorted(others.index))
        why = (
            ": a subscription (shop_subscription) is counted by its orders, each renewal an "
            "order of its own"
            if "shop_subscription" in others.index
            else ""
        )
        notes.append(f"records of wc_orders that are not orders are left out ({listed}){why}")
    return notes


UNPAID_STATUSES = {"pending": "pending payment", "pending-payment": "pending payment",
                   "on-hold": "on hold"}  # fmt: skip
"""WooCommerce's statuses of an order not paid yet, counted as a sale, by the label a note
gives them: ``pending`` (the customer has not finished paying) and ``on-hold`` (a bank
transfer or cheque awaited)."""


def _unpaid_note(status: pd.Series, counted: np.ndarray, net: np.ndarray) -> list[str]:
    """The note counting the counted orders not paid yet (:data:`UNPAID_STATUSES`) and their
    revenue (:func:`valuecast.io._build.unpaid_orders_note`)."""
    label = status.map(UNPAID_STATUSES).to_numpy(object)
    return _build.unpaid_orders_note(label, counted, net, "WooCommerce")


def _order_tax(
    cols: dict[str, str | None],
    money: Callable[[str], np.ndarray],
    shipping_tax: np.ndarray,
) -> np.ndarray:
    """Each order's tax, all of it: ``tax_total`` where written, which the exporters write as
    WooCommerce's total tax (``get_total_tax()``: the items', the fees' and the shipping's);
    else the parts exported: ``cart_tax`` (the items' and the fees' tax) or ``fee_tax_total``,
    and ``shipping_tax_total``."""
    parts = "cart_tax" if cols["cart_tax"] is not None else "fee_tax_total"
    summed = _build.money_or_zero(money(parts)) + shipping_tax
    if cols["tax_total"] is None:
        return summed
    total = money("tax_total")
    return np.where(np.isnan(total), summed, total)


def _net_of_refunds(
    total: np.ndarray,
    tax: np.ndarray,
    shipping: np.ndarray,
    shipping_tax: np.ndarray,
    refunds: np.ndarray,
) -> np.ndarray:
    """Net revenue: the items without their tax (``total - tax - shipping``) less the refunds
    without theirs.  A refund gives back what was paid, tax included: its items' share of the
    tax (the items' tax over their price with it, ``total - shipping - shipping tax``) is
    not revenue given back (19% VAT: a refund of 119 takes 100 off, not 119)."""
    items = total - tax - shipping
    with np.errstate(invalid="ignore", divide="ignore"):
        paid = total - shipping - shipping_tax
        share = np.where((paid > 0) & (items >= 0), items / paid, 1.0)
    return np.maximum(items - refunds * np.minimum(share, 1.0), 0.0)


def _untaxed_note(cols: dict[str, str | None]) -> list[str]:
    """A note when the export has no tax and no shipping column: its order totals are then
    revenue as paid, which may hold both."""
    keys = ("tax_total", "cart_tax", "shipping_tax_total", "fee_tax_total", "shipping_total")
    if any(cols[key] is not None for key in keys):
        return []
    return [
        "no tax or shipping column: net revenue is each order's total as paid, tax and shipping "
        "included where charged (export the tax and shipping totals to leave them out)"
    ]


def _lines(table, cols, packed, codes, order_ids, reason) -> pd.DataFrame | None:
    counted = codes >= 0
    counted[counted] = reason[codes[counted]] == None  # noqa: E711
    if cols["item_name"] is not None or cols["item_sku"] is not None:
        has_item = table.nonempty(cols["item_name"]) | table.nonempty(cols["item_sku"])
        positions = np.flatnonzero(counted & has_item)
        row_codes = codes[positions]
        quantity = table.number(cols["item_quantity"])[positions]
        total = table.money(cols["item_total"])[positions]
        subtotal = table.money(cols["item_subtotal"])[positions]
        subtotal = np.where(np.isnan(subtotal), total, subtotal)
        with np.errstate(divide="ignore", invalid="ignore"):
            unit = np.where(quantity > 0, subtotal / quantity, np.nan)
        refunded = table.number(cols["item_refunded_qty"])[positions]
        return pd.DataFrame(
            {
                "order_id": order_ids.take(row_codes),
                "line_number": _build.line_numbers(row_codes),
                "sku": _build.text_at(table.text(cols["item_sku"]), positions),
                "product_name": _build.text_at(
                    table.text(cols["item_name"], strip_apostrophe=False), positions
                ),
                "quantity": _build.kept_quantity(quantity, refunded),
                "unit_price": unit,
                "line_discount": np.nan_to_num(subtotal - total),
            }
        )
    if not packed:
        return None
    # lines are numbered within their order, told by its order_id, as the orders' rows are
    order_groups = np.asarray(pd.factorize(order_ids)[0], np.int64)
    frames = []
    for slot, column in enumerate(packed):
        cells = table.text(column, strip_apostrophe=False)
        use = counted & np.asarray(pc.is_valid(cells).to_numpy(zero_copy_only=False), bool)
        positions = np.flatnonzero(use)
        fields = cells if use.all() else cells.take(pa.array(positions))
        del cells
        table.release_columns(packed[slot + 1 :])  # this column's cells now live in fields
        if not use.any():
            continue

        def field(name: str, fields: pa.ChunkedArray = fields) -> pd.Series:
            return pd.Series(packed_field(fields, name).to_pandas(), dtype="string")

        def amount(
            name: str, position_list: np.ndarray = positions, column: str = column,
            fields: pa.ChunkedArray = fields,
        ) -> np.ndarray:  # fmt: skip
            written = packed_field(fields, name)
            if pc.all(pc.match_substring_regex(written, _PLAIN_DECIMAL)).as_py() is not False:
                # plain decimals, read alike by both (correctly rounded): no Python text
                return np.asarray(
                    pc.cast(written, pa.float64()).to_numpy(zero_copy_only=False), float
                )
            values = pd.Series(written.to_pandas(), dtype="string")
            parsed = pd.to_numeric(values, errors="coerce").to_numpy(float)
            bad = values.notna().to_numpy(bool) & np.isnan(parsed)
            if bad.any():
                raise table.error(
                    f"cannot read {name}:{values[np.flatnonzero(bad)[0]]!r} in a line item",
                    int(position_list[np.flatnonzero(bad)[0]]),
                    column,
                )
            return parsed

        quantity = amount("quantity")
        total = amount("total")
        subtotal = amount("sub_total")
        subtotal = np.where(np.isnan(subtotal), total, subtotal)
        with np.errstate(divide="ignore", invalid="ignore"):
            unit = np.where(quantity > 0, subtotal / quantity, np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "position": positions,
                    "slot": slot,
                    "order_group": order_groups[codes[positions]],
                    # text kept in Arrow: a Python string a line and column held ~0.4 GB
                    # at a million lines
                    "order_id": order_ids.take(codes[positions]),
                    "sku": field("sku").array,
                    "product_name": field("name").array,
                    "quantity": _build.kept_quantity(
                        quantity, _refunded_items(quantity, total, amount("refunded"))
                    ),
                    "unit_price": unit,
                    "line_discount": np.nan_to_num(subtotal - total),
                }
            )
        )
    if not frames:
        return None
    lines = pd.concat(frames, ignore_index=True).sort_values(["position", "slot"], kind="stable")
    lines["line_number"] = _build.line_numbers(lines["order_group"].to_numpy(np.int64))
    return lines.drop(columns=["position", "slot", "order_group"]).replace({"sku": {"": None}})


def _refunded_items(quantity: np.ndarray, total: np.ndarray, refunded: np.ndarray) -> np.ndarray:
    """Items of packed line items given back, from the amount refunded for each (``refunded:``,
    which WebToffee writes without tax, as the line's ``total:``): the whole items that amount
    pays back at the line's price paid (a refund of 30.00 on two items of 25.00 gives one back,
    the 5.00 over it being a price adjustment); 0 where nothing is refunded."""
    with np.errstate(divide="ignore", invalid="ignore"):
        each = np.where(quantity > 0, total / quantity, np.nan)
        items = np.floor(np.abs(refunded) / each + 1e-9)
    return np.where(np.isfinite(items), np.minimum(items, np.nan_to_num(quantity)), 0.0)


_PLAIN_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"
"""An amount written as digits with an optional fraction, which Arrow's cast to a double and
pandas' ``to_numeric`` read alike."""


def packed_field(cells: pa.ChunkedArray | pa.Array, name: str) -> pa.ChunkedArray | pa.Array:
    """Field ``name`` of packed line-item cells (``name:Hoodie|sku:HD-1|quantity:2``): the
    text after the first ``name:`` that starts the cell or follows a ``|`` (whitespace before
    it allowed), up to the next ``|``, stripped; missing where no such field is written.

    Arrow's regular expressions run over the cells without a Python string each (a million
    cells: ~0.2 s a field, against ~0.9 s for pandas' ``str.extract``), with Python's
    whitespace spelled out so that both read the same fields.
    """
    pattern = f"(?:^|\\|){WHITESPACE_CLASS}*{re.escape(name)}:(?P<value>[^|]*)"
    found = pc.struct_field(pc.extract_regex(cells, pattern), "value")
    return pc.utf8_trim_whitespace(found)
