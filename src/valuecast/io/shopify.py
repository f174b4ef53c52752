"""Shopify exports: orders (Admin > Orders > Export) and customers (Admin > Customers > Export).

Orders export
-------------
One row per line item; the rows of an order share its ``Name`` (``#1001``) and the order-level
fields (Email, Financial Status, Subtotal, ...) are written on the order's first row only. Rows
are grouped by ``Name`` (they need not be adjacent) and each order-level field is the first
non-empty value among the order's rows. Columns are matched by name (case, spaces and
underscores ignored), never by position, so every header generation works: the old ones ending
at ``Cancelled at`` or ``Tax 5 Value`` and the current one ending at ``Payment References``.
``Accepts Email Marketing`` is accepted for ``Accepts Marketing``.

Required columns: ``Name``, ``Email``, ``Financial Status``, ``Created at``, ``Subtotal``. The
others are optional; when absent, their amounts are 0 and their text empty.

Exclusions (an order gets the first that applies; all its rows are counted under it):

* ``"test order"``: ``Payment Method`` names Shopify's test gateway (``bogus``, or ``(for
  testing) Bogus Gateway`` as newer exports write it), alone or in a ``+``/``,``-separated list;
* ``"cancelled"``: ``Cancelled at`` is set;
* ``"voided"`` / ``"refunded"`` / ``"expired"``: ``Financial Status`` is ``voided`` /
  ``refunded`` / ``expired`` (a payment authorised and never captured: nothing was paid);
* ``"refunded"`` also where ``Refunded Amount`` covers all but the shipping and duties
  (``Total - Shipping - Duties``, or ``Subtotal`` without a ``Total``, or ``Subtotal`` with its
  share of ``Taxes`` where less, the shipping being taxed too or a tip paid: a ``Subtotal``
  above 0; :func:`every_item_refunded`):
  every item was refunded with its tax and only the shipping kept, which Shopify calls
  ``partially_refunded``; counted, it would be a repeat purchase worth nothing;
* ``"gift card purchase"``: every line item is a gift card (:func:`gift_card_rows`: ``Lineitem
  name`` says gift card and ``Lineitem taxable`` is false, Shopify charging no tax on one): a gift
  card sold is money held for a customer, revenue when spent on the order it pays for
  (``Payment Method`` ``gift_card``), which counts in full; counted when sold too, it would be
  revenue twice;
* ``"negative amount"``: ``Subtotal`` is below zero (Shopify never writes one; refunds are in
  ``Refunded Amount``), so the order is not counted at 0 silently;
* ``"empty row"``: a row whose cells the importer reads are all empty (counted by rows only).

An order that charged nothing (``Total`` 0: a 100% discount, a free sample, a replacement)
counts as a purchase worth 0, as in Shopify's reports, and a note says how many there are; so
does one of free goods that charged only its shipping or tax (``Subtotal`` 0, ``Total`` above
0), its revenue leaving them out, in a note of its own, and so does any other counted order
worth 0 (:func:`zero_revenue_orders`).

All other statuses count (paid, partially_paid, partially_refunded, pending, authorized,
unpaid, ...), as in Shopify's own sales reports: the orders not yet paid in full (pending,
authorized, partially_paid, unpaid) are counted and their revenue summed in a note
(:func:`unpaid_note`), so that the merchant sees what is still owed. For counted orders:

* ``net_revenue = max(Subtotal - Refunded Amount, 0)``, without the tax. Shopify's Subtotal is
  the line items after discounts, before shipping and tax; the refunded amount is the money
  given back, the refunded items' tax in it. Where the tax is added at checkout (``Total =
  Subtotal + Shipping + Taxes + Duties``, ``Taxes`` above 0) a refund is taken off without its
  tax (``Refunded Amount * Subtotal / (Subtotal + Taxes)``); where the prices include the tax
  (``Total = Subtotal + Shipping + Duties`` with ``Taxes`` above 0, a shop showing prices with
  VAT), the items' share of the tax is taken off both (:func:`items_net`).  The gift cards an
  order sold beside goods (:func:`gift_cards_sold`) are taken off ``Subtotal`` and ``Total``
  first, and noted.  A refund equal to them, or beyond what the goods and their shipping could
  be, gives them back (:func:`gift_card_refunds`); one equal to the shipping (with its tax) is
  the shipping's (:func:`shipping_refunds`), unless it covers every item too or is a whole
  number of one line's items; one that is such items and the shipping together has the
  shipping's part so read (:func:`items_and_shipping_refunds`).  Neither is taken off the
  goods, and each is noted.
* ``gross_revenue`` = ``Total``; ``discount`` = ``Discount Amount``; ``tax`` = ``Taxes``;
  ``shipping`` = ``Shipping``; ``refunded`` = ``Refunded Amount``.
* ``customer_id`` = the email trimmed and lower-cased. An order without email is the customer of
  its phone: ``Phone``, else ``Billing Phone``, else ``Shipping Phone``, with the country code
  (national numbers get the calling code of ``Billing Country``, else ``Shipping Country``), as
  ``phone:+8809356524432`` (:mod:`valuecast.io.phones`; Shopify itself identifies customers by
  phone where checkout asks for no e-mail). The e-mail wins when both are given, and phone-only
  orders join the e-mail customer whose orders carry the same phone
  (:func:`valuecast.io._build.identities`). An Email cell without ``@`` (``-``, ``no email``)
  or a placeholder address (``guest@myshop.com``) is no e-mail, and a placeholder
  number (``0000000000``, ``1234567890``) no phone: as an empty cell, it gives way to the next
  phone column's number (:func:`preferred_phones`). Only an order with neither is a guest order
  (``is_guest``, ``customer_id`` <NA>).
* ``ordered_at`` = ``Created at`` as written, the UTC offset ignored; ``order_date`` its calendar
  day. ``channel`` = ``Source``; ``discount_code`` = ``Discount Code``; ``accepts_marketing``
  from ``yes``/``no`` of ``Accepts Marketing``, which is consent to e-mail: an order without an
  e-mail (or with a placeholder one) states none (<NA>), so a customer known by a phone alone
  is exported on a customers export's ``Accepts SMS Marketing`` only.
* ``order_contacts`` (the audience files' names, phones and places where no customers export
  gives them): ``Billing Name``, else ``Shipping Name`` (the family name its last word, or from
  a ``van``, ``de`` ... on: :func:`valuecast.io._build.split_names`), the phone as
  above, and ``Billing City``/``Province``/``Country``/``Zip`` where the billing address gives
  any, else the shipping address's, of each customer's latest counted order that gives a name,
  a phone, an address (:func:`valuecast.io._build.latest_contacts`).
* ``order_lines``: one per row of a counted order, ``line_number`` counting from 1 in file order;
  ``quantity`` = ``Lineitem quantity`` less the items a refund of that line's items alone paid
  back (:func:`returned_items`: the export writes the items as ordered), so that an item
  returned is no purchase for affinity and reminders.

An order whose ``Created at`` or ``Subtotal`` is empty on all its rows is an error (the first row
of the order is named), as is an unparseable date or amount anywhere in a read column, a
``Created at`` before 1990 or after tomorrow (:func:`valuecast.io._build.check_order_dates`), and
an order-level amount (``Subtotal``, ``Total``, ``Shipping``, ``Taxes``, ``Discount Amount``,
``Refunded Amount``), a ``Created at`` or an ``Email`` (case aside) that two rows of one order
give differently (the second row is named): Shopify writes the date and e-mail on every row of an
order, so rows of one ``Name`` that differ in them are two orders. A
negative ``Refunded Amount`` is an error naming its row: Shopify writes refunds as positive
amounts, and subtracting a negative one would add it to revenue.

Customers export
----------------
The three header generations (``First Name, Last Name, Email, Company, Address1, ...``; the one
with ``Accepts Email Marketing`` and ``Accepts SMS Marketing``; and the one with ``Customer ID`` and
``Default Address ...`` columns) are all read by name. ``customer_id`` is the email trimmed and
lower-cased, so it joins the orders; a row without email is the customer of its ``Phone``,
else its ``Default Address Phone`` (row by row: the newest export has both, and its ``Phone`` is
often empty where the address has one; a placeholder ``Phone`` gives way to the address' number
as an empty one does, :func:`preferred_phones`), keyed as the orders key it (national numbers get the
calling code of ``Country Code``). Rows with neither are excluded as ``"no email or phone"``
(``"placeholder email, no phone"`` where the e-mail is a dummy such as ``noemail@shop.com``,
which names no one: :func:`valuecast.io._build.identities`); a
second row for the same customer as ``"duplicate email"`` / ``"duplicate phone"`` (the first one
is kept). ``accepts_marketing`` is the e-mail consent; for a customer known by a phone alone it
is ``Accepts SMS Marketing`` (consent on the one contact they gave), unknown (<NA>) in an export
without that column.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from valuecast.io import _build, csvfile
from valuecast.io.csvfile import CsvFile, Table, open_csv
from valuecast.io.line_names import gift_card_lines
from valuecast.io.phones import PHONE_ID_PREFIX, placeholder_phone
from valuecast.io.schema import ADDRESS_FIELDS, ImportResult

__all__ = ["ORDER_COLUMNS", "CUSTOMER_COLUMNS", "read_orders", "read_customers"]

# canonical key -> accepted header names (first match wins)
ORDER_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("Name",),
    "email": ("Email",),
    "financial_status": ("Financial Status",),
    "created_at": ("Created at",),
    "subtotal": ("Subtotal",),
    "shipping": ("Shipping",),
    "taxes": ("Taxes",),
    "total": ("Total",),
    "duties": ("Duties",),
    "discount_code": ("Discount Code",),
    "discount_amount": ("Discount Amount",),
    "currency": ("Currency",),
    "accepts_marketing": ("Accepts Marketing", "Accepts Email Marketing"),
    "cancelled_at": ("Cancelled at",),
    "payment_method": ("Payment Method",),
    "refunded": ("Refunded Amount",),
    "source": ("Source",),
    "lineitem_quantity": ("Lineitem quantity",),
    "lineitem_name": ("Lineitem name",),
    "lineitem_price": ("Lineitem price",),
    "lineitem_sku": ("Lineitem sku",),
    "lineitem_discount": ("Lineitem discount",),
    "lineitem_taxable": ("Lineitem taxable",),
    "phone": ("Phone",),
    "billing_phone": ("Billing Phone",),
    "shipping_phone": ("Shipping Phone",),
    "billing_country": ("Billing Country",),
    "shipping_country": ("Shipping Country",),
    "billing_name": ("Billing Name",),
    "billing_city": ("Billing City",),
    "billing_province": ("Billing Province", "Billing Province Name"),
    "billing_zip": ("Billing Zip",),
    "shipping_name": ("Shipping Name",),
    "shipping_city": ("Shipping City",),
    "shipping_province": ("Shipping Province", "Shipping Province Name"),
    "shipping_zip": ("Shipping Zip",),
}
ORDER_REQUIRED = ("name", "email", "financial_status", "created_at", "subtotal")
PHONE_KEYS = ("phone", "billing_phone", "shipping_phone")
"""The phone columns by preference (:func:`preferred_phones`)."""

CUSTOMER_COLUMNS: dict[str, tuple[str, ...]] = {
    "email": ("Email",),
    "first_name": ("First Name",),
    "last_name": ("Last Name",),
    "phone": ("Phone",),
    "address_phone": ("Default Address Phone",),
    "city": ("City", "Default Address City"),
    "province": ("Province Code", "Province", "Default Address Province Code"),
    "country": ("Country Code", "Country", "Default Address Country Code"),
    "zip": ("Zip", "Default Address Zip"),
    "accepts_marketing": ("Accepts Email Marketing", "Accepts Marketing"),
    "accepts_sms": ("Accepts SMS Marketing",),
    "tags": ("Tags",),
    "created_at": ("Created At", "Customer Since", "Created"),
}


def _resolve(csv: CsvFile, spec: dict[str, tuple[str, ...]], required: tuple[str, ...]):
    found: dict[str, str | None] = {}
    for key, aliases in spec.items():
        found[key] = csv.require(*aliases) if key in required else csv.find(*aliases)
    return found


def _open(source: str | Path | CsvFile | Table) -> CsvFile | Table:
    return source if isinstance(source, CsvFile | Table) else open_csv(source)


TEST_GATEWAY = r"(?:^|[^a-z0-9_])bogus(?:[^a-z0-9_]|$)"
"""Shopify's test gateway in a lower-cased ``Payment Method``: the word ``bogus``, as the
gateway's id (``bogus``) or its name (``(for testing) Bogus Gateway``), alone or as one item of
a ``+``/``,``-separated list of gateways; written with ASCII classes so that Python and DuckDB
match exactly the same cells."""


def _test_gateway(method: pd.Series) -> np.ndarray:
    """The orders paid through Shopify's test gateway (:data:`TEST_GATEWAY`)."""
    found = _build.per_distinct(
        method,
        lambda text: text.str.lower().str.contains(TEST_GATEWAY, regex=True).fillna(False),
    )
    return found.to_numpy(bool)


PHONE_EXTENSION = r"(?i) *(?:ext\.?|extension|x|#) *[0-9]+ *$"
"""An extension after a number written in printable ASCII (``ext 5``, ``x12``, ``#3``), which
:func:`valuecast.io.phones.placeholder_phone` leaves out: its pattern in RE2 (Arrow's and
DuckDB's), the space being the only whitespace such a cell holds."""


def _digits_ending(*endings: str) -> str:
    """An RE2 pattern of a text whose digits end in one of ``endings``, whatever stands between
    them: one pass over the text, where taking its digits out first took ~0.7 s a million
    cells."""
    return "(?:" + "|".join("[^0-9]*".join(ending) for ending in endings) + ")[^0-9]*$"


PLACEHOLDER_TAIL = _digits_ending(
    *(digit * 7 for digit in "0123456789"),
    "012345678", "0123456789", "01234567890", "123456789", "1234567890",
    "987654321", "9876543210", "098765432", "0987654321",
)  # fmt: skip
"""A text whose digits end as every placeholder phone's do
(:func:`valuecast.io.phones.placeholder_digits`: seven or more of one digit, or nine or more of a
run from its start): the placeholder is all of them or its national number, their end once an
international prefix, a country code or a trunk 0 is passed.  Few real numbers end so, and
:func:`valuecast.io.phones.placeholder_phone` tells those apart; RE2 and Python alike."""


def maybe_placeholder_phones(cells: pd.Series) -> np.ndarray:
    """Per phone cell, whether it may be a placeholder (:func:`valuecast.io.phones.placeholder_phone`
    in any country): a cell of printable ASCII whose digits, without ``(0)`` and an extension
    (:data:`PHONE_EXTENSION`), end as :data:`PLACEHOLDER_TAIL` says, and any other cell that is
    not empty.  Every placeholder is one of them, told by Arrow's regular expressions at once,
    so that ``placeholder_phone`` reads those few only.  ``shopify_duckdb`` tells the same in
    SQL."""
    text = pa.array(cells.astype("string"), type=pa.large_string())
    dialled = pc.replace_substring_regex(pc.replace_substring(text, "(0)", ""), PHONE_EXTENSION, "")
    found = pc.or_(
        pc.invert(pc.match_substring_regex(text, "^[ -~]*$")),
        pc.match_substring_regex(dialled, PLACEHOLDER_TAIL),
    )
    return np.asarray(pc.fill_null(found, False).to_numpy(zero_copy_only=False), bool)


def placeholder_phones(cells: pd.Series, countries: pd.Series) -> np.ndarray:
    """Per phone cell, whether it is a placeholder (:func:`valuecast.io.phones.placeholder_phone`)
    in the country beside it, each distinct pair read once, and only the cells that may be one
    (:func:`maybe_placeholder_phones`): the test costs ~10 us a cell, seconds at a million."""
    cells, countries = cells.reset_index(drop=True), countries.reset_index(drop=True)
    found = maybe_placeholder_phones(cells)
    if found.any():
        pairs = pd.DataFrame(
            {"phone": cells[found], "country": countries[found].astype("string").fillna("")}
        )
        distinct = pairs.drop_duplicates()
        flags = pd.Series(
            [placeholder_phone(phone, country) for phone, country in distinct.itertuples(False)],
            index=pd.MultiIndex.from_frame(distinct),
            dtype=bool,
        )
        found[found] = flags.reindex(pd.MultiIndex.from_frame(pairs)).to_numpy(bool)
    return found


def preferred_phones(columns: Sequence[pd.Series], countries: pd.Series) -> pd.Series:
    """Per order, the phone of the first of the phone ``columns`` (by preference: ``Phone``,
    ``Billing Phone``, ``Shipping Phone``) that gives a number other than a placeholder
    (:func:`placeholder_phones`, in the order's country), else of the first that gives any.

    A placeholder typed in one column (``0000000000`` in ``Phone``) tells no one, as an empty
    cell does, so the customer's own number in the next column names the order's customer and
    is its contact; where every column gives a placeholder the first stays, which the
    placeholder note counts.  Only the orders whose columns give two phones that differ are
    tested (Shopify often writes one number in two columns)."""
    countries = countries.astype("string").reset_index(drop=True)
    chosen = columns[0].astype("string").reset_index(drop=True)
    for column in columns[1:]:
        later = column.astype("string").reset_index(drop=True)
        differ = np.flatnonzero((chosen.notna() & later.notna() & (chosen != later)).to_numpy(bool))
        passed = placeholder_phones(chosen.iloc[differ], countries.iloc[differ])
        passed[passed] = ~placeholder_phones(
            later.iloc[differ[passed]], countries.iloc[differ[passed]]
        )
        chosen.iloc[differ[passed]] = later.iloc[differ[passed]].array
        chosen = chosen.fillna(later)
    return chosen


GIFT_CARD_NAME = r"[Gg][Ii][Ff][Tt][ _-]?[Cc][Aa][Rr][Dd]"
"""A gift card's line item name (``Gift Card - $50``, ``e-Giftcard``) where the export says the
line is not taxable: spelled out letter by letter so that Python and DuckDB match exactly the
same names."""
GIFT_CARD_REASON = "gift card purchase"
FALSE_WORDS = tuple(sorted(csvfile.FALSE_WORDS - {""}))


def gift_card_rows(table: Table, cols: dict[str, str | None]) -> np.ndarray:
    """The rows whose line item is a gift card sold: named as a line-level log's is
    (:func:`valuecast.io.line_names.gift_card_lines`: ``Acme Coffee Gift Card``,
    ``Geschenkgutschein``), or holding :data:`GIFT_CARD_NAME` anywhere (``Gift Card for Her``),
    and not taxable (Shopify charges no tax on a gift card; a taxable "gift card holder" is
    goods).  Without ``Lineitem taxable`` the log's rule alone tells (``Gift Card Holder`` is
    goods).  ``shopify_duckdb`` tells the same in SQL."""
    if cols["lineitem_name"] is None:
        return np.zeros(table.num_rows, dtype=bool)
    names = table.text_series(cols["lineitem_name"], strip_apostrophe=False)
    named = gift_card_lines(names)  # each distinct name matched once
    if cols["lineitem_taxable"] is None:
        return named
    spelled = _build.per_distinct(
        names, lambda text: text.str.contains(GIFT_CARD_NAME, regex=True).fillna(False)
    ).to_numpy(bool)
    taxable = _build.per_distinct(
        table.text_series(cols["lineitem_taxable"]),
        lambda text: text.str.lower().isin(FALSE_WORDS).fillna(False),
    )
    return (named | spelled) & taxable.to_numpy(bool)


def gift_cards_sold(
    table: Table, cols: dict[str, str | None], codes: np.ndarray, n: int, subtotal: np.ndarray
) -> np.ndarray:
    """Per order, the gift cards it sold (``Lineitem price * Lineitem quantity - Lineitem
    discount`` of its gift card rows, in cents), from 0 to its ``Subtotal``.

    A gift card sold is money held for the shop's customers, not a sale: it becomes revenue
    when it is spent, on the order it pays for (``Payment Method`` ``gift_card``), which counts
    in full.  Counted on both orders, it would be revenue twice."""
    rows = gift_card_rows(table, cols) & (codes >= 0)
    if not rows.any():
        return np.zeros(n)
    price = _build.money_or_zero(table.money(cols["lineitem_price"]))
    quantity = _build.money_or_zero(table.number(cols["lineitem_quantity"]))
    discount = _build.money_or_zero(table.money(cols["lineitem_discount"]))
    amount = price[rows] * quantity[rows] - discount[rows]
    sold = np.round(np.bincount(codes[rows], weights=amount, minlength=n), 2)
    return np.minimum(np.maximum(sold, 0.0), np.maximum(subtotal, 0.0))


def gift_card_note(orders: int, amount: float) -> list[str]:
    """The ingest note for counted orders that also sold gift cards (none when 0)."""
    if not orders:
        return []
    one = orders == 1
    return [
        f"{orders:,} {'order' if one else 'orders'} also sold gift cards ({amount:,.2f} in "
        f"all), left out of {'its' if one else 'their'} revenue: a gift card is revenue when "
        "spent, on the order it pays for"
    ]


def gift_card_refund_note(orders: int, amount: float) -> list[str]:
    """The ingest note for counted orders whose refund gave back the gift cards they sold
    (none when 0): the refund is read as theirs, which the merchant is told of."""
    if not orders:
        return []
    one = orders == 1
    return [
        f"{orders:,} {'order' if one else 'orders'} refunded the gift cards "
        f"{'it' if one else 'they'} also sold ({amount:,.2f} in all): taken as those gift cards "
        f"given back, not off {'its' if one else 'their'} goods' revenue"
    ]


def shipping_refund_note(orders: int, amount: float) -> list[str]:
    """The ingest note for counted orders whose refund is their shipping (none when 0): the
    refund is read as the shipping's, a guess the merchant is told of."""
    if not orders:
        return []
    one = orders == 1
    return [
        f"{orders:,} {'order was' if one else 'orders were'} refunded exactly {'its' if one else 'their'} "
        f"shipping ({amount:,.2f} in all): taken as the shipping given back, "
        f"{'its' if one else 'their'} items' revenue kept"
    ]


def free_orders_note(orders: int) -> list[str]:
    """The ingest note for counted orders that charged nothing (``Total`` 0; none when 0):
    each is a purchase worth 0, which the merchant may not take for one."""
    if not orders:
        return []
    one = orders == 1
    return [
        f"{orders:,} {'order' if one else 'orders'} charged nothing (Total 0: a 100% discount, "
        f"a free sample or a replacement) {'is' if one else 'are'} counted as "
        f"{'a purchase' if one else 'purchases'} worth 0, as Shopify's reports count "
        f"{'it' if one else 'them'}"
    ]


def free_goods_note(orders: int) -> list[str]:
    """The ingest note for counted orders of free goods that charged only their shipping or tax
    (``Subtotal`` 0, ``Total`` above 0; none when 0): the revenue leaves shipping and tax out,
    so each is a purchase worth 0, which the merchant would otherwise not know why."""
    if not orders:
        return []
    one = orders == 1
    return [
        f"{orders:,} {'order' if one else 'orders'} charged only shipping or tax (free goods) "
        f"{'is' if one else 'are'} counted as {'a purchase' if one else 'purchases'} worth 0 "
        "(the revenue leaves shipping and tax out)"
    ]


def refunded_goods_note(orders: int) -> list[str]:
    """The ingest note for the other counted orders worth 0 (none when 0): goods sold whose
    refunds, and the tax the price includes, leave nothing of them, though not every item was
    refunded as :func:`every_item_refunded` reads it (a tip or a fee in ``Total``)."""
    if not orders:
        return []
    one = orders == 1
    return [
        f"{orders:,} {'order' if one else 'orders'} whose goods come to 0 once "
        f"{'its' if one else 'their'} refunds and tax are taken off {'is' if one else 'are'} "
        f"counted as {'a purchase' if one else 'purchases'} worth 0"
    ]


def zero_revenue_orders(
    counted: np.ndarray, total: np.ndarray, goods: np.ndarray, net: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The counted orders worth 0, each under one reason, as the export shows it: those that
    charged nothing (``Total`` 0, whatever their revenue); those of free goods that charged
    their shipping or tax only (``goods``, ``Subtotal`` less the gift cards sold, 0); and the
    others whose revenue (``net``, without shipping and tax, less refunds) is 0.

    Every order that adds a purchase worth 0 to its customer is so in one note, so that the
    merchant reading an order value of 0 knows why.  ``shopify_duckdb`` tells the same in SQL."""
    charged_nothing = counted & (np.abs(total) < TAX_INCLUDED_TOLERANCE)
    worth_nothing = counted & ~charged_nothing & (net < _build.ZERO_AMOUNT)
    free_goods = worth_nothing & (goods < TAX_INCLUDED_TOLERANCE)
    return charged_nothing, free_goods, worth_nothing & ~free_goods


def zero_revenue_notes(charged_nothing: int, free_goods: int, refunded_goods: int) -> list[str]:
    """The ingest notes for the counted orders worth 0 (:func:`zero_revenue_orders`' counts)."""
    return (
        free_orders_note(charged_nothing)
        + free_goods_note(free_goods)
        + refunded_goods_note(refunded_goods)
    )


UNPAID_STATUSES = ("pending", "authorized", "partially_paid", "unpaid")
"""Financial statuses of an order not paid in full yet, counted as a sale (as Shopify's own
sales reports count it): cash on delivery, a bank transfer or a payment captured when the order
ships is paid after the order is placed, and an authorisation never captured becomes
``expired`` (excluded)."""


def unpaid_note(counts: dict[str, int], revenue: float) -> list[str]:
    """The ingest note for counted orders not paid in full (``counts`` per status of
    :data:`UNPAID_STATUSES`, ``revenue`` their net revenue; none when there are none)."""
    total = sum(counts.values())
    if not total:
        return []
    one = total == 1
    listed = ", ".join(
        f"{status} {counts[status]:,}" for status in UNPAID_STATUSES if counts.get(status)
    )
    return [
        f"{total:,} {'order' if one else 'orders'} not yet paid in full ({listed}) "
        f"{'is' if one else 'are'} counted as sales ({revenue:,.2f} of revenue), as Shopify's "
        "sales reports count them: cancel in Shopify any that will never be paid"
    ]


TAX_INCLUDED_TOLERANCE = 0.005
"""Half a cent: how close ``Total`` is to ``Subtotal + Shipping + Duties`` in an order whose
prices include their tax."""


def items_net(
    subtotal: np.ndarray,
    shipping: np.ndarray,
    taxes: np.ndarray,
    duties: np.ndarray,
    total: np.ndarray,
    refunded: np.ndarray,
) -> np.ndarray:
    """Net revenue of the line items: ``Subtotal`` less the items' part of ``Refunded Amount``,
    without the tax.

    Shopify's ``Refunded Amount`` is the money given back, so a refunded item's tax is in it.
    A shop that adds tax at checkout (US sales tax) has ``Total = Subtotal + Shipping + Taxes +
    Duties``: its refunds are taken off ``Subtotal`` without their tax, at the rate the order
    paid (``Subtotal / (Subtotal + Taxes)`` of each refund), so that refunding half the items
    leaves half the ``Subtotal``, and a refund of every item with its tax leaves 0 (the order is
    then ``"refunded"``: :func:`every_item_refunded`).
    A shop that shows prices with tax (VAT in the UK, the EU, Australia) writes the tax inside
    ``Subtotal``: its ``Total`` is ``Subtotal + Shipping + Duties`` with ``Taxes`` above 0.
    In such an order the items' share of ``Taxes`` (their share of ``Subtotal + Shipping``,
    which may carry tax too) is taken off, and so is the same share of its refunds.  Where
    ``Total`` is neither (or ``Taxes`` is 0) the refunds are taken off as written.  ``total`` is
    NaN where not written (no inference).  ``shopify_duckdb`` computes the same in SQL.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        without_tax = np.abs(total - (subtotal + shipping + duties)) < TAX_INCLUDED_TOLERANCE
        with_tax = np.abs(total - (subtotal + shipping + taxes + duties)) < TAX_INCLUDED_TOLERANCE
        included = (taxes > 0) & without_tax & ~with_tax & (subtotal > 0)
        added = (taxes > 0) & with_tax & ~without_tax & (subtotal > 0)
        base = subtotal + shipping
        item_tax = np.where(included & (base > 0), taxes * subtotal / base, 0.0)
        share = np.where(
            included,
            (subtotal - item_tax) / subtotal,
            np.where(added, subtotal / (subtotal + taxes), 1.0),
        )
    return np.maximum(subtotal - item_tax - refunded * share, 0.0)


def every_item_refunded(
    subtotal: np.ndarray,
    shipping: np.ndarray,
    taxes: np.ndarray,
    duties: np.ndarray,
    total: np.ndarray,
    refunded: np.ndarray,
) -> np.ndarray:
    """Whether an order's refunds cover all but its shipping and duties: ``Refunded Amount`` at
    least the items with their tax, the lesser of ``Total - Shipping - Duties`` (the items with
    all of ``Taxes``, whether the prices include it or it was added) and ``Subtotal`` with its
    share of ``Taxes`` (``Taxes * Subtotal / (Subtotal + Shipping)``); ``Subtotal`` where
    ``Total`` is not written; a ``Subtotal`` above 0.

    The share is what the items' own tax is where the shipping is taxed at their rate (Canada's
    HST, most of Europe, many US states), ``Taxes`` then holding the shipping's tax too; and it
    stays below a ``Total`` holding a POS order's tip.  A refund of every item with its tax
    falls short of ``Total - Shipping - Duties`` by that tax or tip, yet only the shipping (or
    the tip) was kept.  ``shopify_duckdb`` computes the same in SQL."""
    with np.errstate(invalid="ignore", divide="ignore"):
        written = np.where(np.isnan(total), subtotal, total - shipping - duties)
        base = subtotal + shipping
        own_tax = subtotal + np.where(base > 0, taxes * subtotal / base, 0.0)
        items = np.minimum(written, own_tax)
        return (subtotal > 0) & (refunded >= items - TAX_INCLUDED_TOLERANCE)


def gift_card_refunds(
    refunded: np.ndarray, gift_cards: np.ndarray, goods: np.ndarray, goods_total: np.ndarray
) -> np.ndarray:
    """The part of an order's ``Refunded Amount`` that gives back the gift cards it sold beside
    goods (0 where none): all of it where it equals them (to half a cent), and as much of them
    as it holds where it is more than the goods and their shipping and tax could be (``Total``
    less the gift cards, ``goods_total``; NaN where not written).

    Shopify gives back an unused gift card bought with goods as a refund of its price: taken
    off the goods, it would leave them less than they were sold for, or exclude as
    ``"refunded"`` an order whose goods were kept.  ``shopify_duckdb`` computes the same in
    SQL."""
    with np.errstate(invalid="ignore"):
        sold = (gift_cards > 0) & (goods > 0)
        exactly = sold & (np.abs(refunded - gift_cards) < TAX_INCLUDED_TOLERANCE)
        beyond = sold & ~exactly & (refunded > goods_total + TAX_INCLUDED_TOLERANCE)
    return np.where(exactly, refunded, np.where(beyond, np.minimum(gift_cards, refunded), 0.0))


SHIPPING_TAX_TOLERANCE = 0.01
"""A cent: how close a refund is to ``Shipping`` with its share of ``Taxes``, a share read
from the order's tax (each line's tax rounded apart) to within a fraction of a cent."""


def shipping_tax(goods: np.ndarray, shipping: np.ndarray, taxes: np.ndarray) -> np.ndarray:
    """The shipping's share of ``Taxes`` (``Taxes * Shipping / (Subtotal + Shipping)``): the
    shipping taxed at the items' rate.  ``shopify_duckdb`` writes the same in SQL."""
    base = goods + shipping
    return np.where(base > 0, taxes * shipping / base, 0.0)


def shipping_refunds(
    refunded: np.ndarray, goods: np.ndarray, shipping: np.ndarray, taxes: np.ndarray
) -> np.ndarray:
    """Whether an order's ``Refunded Amount`` is its shipping: ``Shipping`` to half a cent, or
    ``Shipping`` with its share of ``Taxes`` (``Taxes * Shipping / (Subtotal + Shipping)``, the
    shipping taxed at the items' rate) to a cent.

    A shop gives the shipping back for a late parcel or a free-shipping promise, and Shopify
    writes it in ``Refunded Amount`` with the items' refunds: taken off the items, it would
    leave them less than the customer paid for what was kept.  Where the refund covers every
    item too (:func:`every_item_refunded`), or is a whole number of one line's items
    (:func:`refunds_of_whole_items`), it is theirs.  ``shopify_duckdb`` tells the same in SQL."""
    with np.errstate(invalid="ignore", divide="ignore"):
        own_tax = shipping_tax(goods, shipping, taxes)
        taxed = (taxes > 0) & (np.abs(refunded - (shipping + own_tax)) < SHIPPING_TAX_TOLERANCE)
        alone = np.abs(refunded - shipping) < TAX_INCLUDED_TOLERANCE
        return (shipping > 0) & (goods > 0) & (alone | taxed)


def items_and_shipping_refunds(
    table: Table,
    cols: dict[str, str | None],
    codes: np.ndarray,
    n: int,
    refunded: np.ndarray,
    goods: np.ndarray,
    shipping: np.ndarray,
    taxes: np.ndarray,
    candidates: np.ndarray,
) -> np.ndarray:
    """Per order, the shipping part of a refund of one line's whole items and the shipping
    together (0 where the refund is not that): among the ``candidates`` (no gift cards given
    back, not the shipping alone, not every item), a refund above ``Shipping`` that is not a
    whole number of one line's items itself, but is after ``Shipping`` (then with its share of
    ``Taxes``, as :func:`shipping_refunds` reads it) is taken off.

    A returned item sent back with its postage refunded: taken off the items whole, the
    shipping's part would leave them less than the customer paid for what was kept (two mugs
    at 50 with 8% tax, one returned with the 5 of shipping: 59 given back, 50 kept, not 45.37).
    ``shopify_duckdb`` tells the same in SQL."""
    back = np.zeros(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        maybe = candidates & (shipping > 0) & (goods > 0)
        maybe &= refunded > shipping + TAX_INCLUDED_TOLERANCE
    if not maybe.any():
        return back
    maybe &= ~refunds_of_whole_items(
        table, cols, codes, n, np.where(maybe, refunded, 0.0), goods, shipping, taxes
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        own_tax = shipping_tax(goods, shipping, taxes)
    for part in (shipping, shipping + own_tax):  # the shipping alone, then with its tax
        left = maybe & (back == 0) & (refunded > part + TAX_INCLUDED_TOLERANCE)
        if not left.any():
            continue
        rest = np.where(left, refunded - part, 0.0)
        found = left & refunds_of_whole_items(table, cols, codes, n, rest, goods, shipping, taxes)
        back = np.where(found, part, back)
    return back


def items_and_shipping_refund_note(orders: int, amount: float) -> list[str]:
    """The ingest note for counted orders whose refund is one line's whole items and the
    shipping (none when 0): the shipping's part is read as the shipping given back."""
    if not orders:
        return []
    one = orders == 1
    return [
        f"{orders:,} {'order was' if one else 'orders were'} refunded whole items and "
        f"{'its' if one else 'their'} shipping together ({amount:,.2f} of shipping in all): "
        "the shipping's part taken as the shipping given back, not off the items' revenue"
    ]


def refunds_of_whole_items(
    table: Table,
    cols: dict[str, str | None],
    codes: np.ndarray,
    n: int,
    refunded: np.ndarray,
    goods: np.ndarray,
    shipping: np.ndarray,
    taxes: np.ndarray,
) -> np.ndarray:
    """Per order, whether its ``Refunded Amount`` is a whole number of one line's items (at
    ``(Lineitem price * Lineitem quantity - Lineitem discount) / Lineitem quantity`` each), to a
    cent: without tax, or with the tax at the order's rate on its goods (``Taxes / Subtotal``)
    or on its goods and shipping (``Taxes / (Subtotal + Shipping)``).

    Such a refund may be an item's even where it equals the shipping: it is then taken off the
    items (:func:`shipping_refunds`).  ``shopify_duckdb`` tells the same in SQL."""
    at, items = _whole_items(table, cols, codes, n, refunded, goods, shipping, taxes)
    return np.bincount(at[items > 0], minlength=n) > 0


def returned_items(
    table: Table,
    cols: dict[str, str | None],
    codes: np.ndarray,
    n: int,
    refunded: np.ndarray,
    goods: np.ndarray,
    shipping: np.ndarray,
    taxes: np.ndarray,
) -> np.ndarray:
    """Per row, the items of its line an order's refund of items (``refunded``, per order)
    paid back: where the refund is a whole number of that line's items (as
    :func:`refunds_of_whole_items` tells it, at the first rate that gives it) and of no other
    line's of the order, else 0.

    Shopify's export writes a line's items as ordered and the money given back for the order
    alone; a refund that only one line's items make is those items returned, so that they are
    taken off the line (a product bought and returned is no purchase to pair or reorder).  A
    refund that two lines' items could make says not which: both lines stay.
    ``shopify_duckdb`` tells the same in SQL."""
    at, items = _whole_items(table, cols, codes, n, refunded, goods, shipping, taxes)
    found = items > 0
    lines_found = np.bincount(at[found], minlength=n)
    back = np.zeros(len(codes))
    rows = np.flatnonzero(codes >= 0)
    alone = found & (lines_found[at] == 1)
    back[rows[alone]] = items[alone]
    return back


def _whole_items(
    table: Table,
    cols: dict[str, str | None],
    codes: np.ndarray,
    n: int,
    refunded: np.ndarray,
    goods: np.ndarray,
    shipping: np.ndarray,
    taxes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The order of each row of an order (``codes >= 0``) and the whole number of its line's
    items its order's ``refunded`` makes (at the first rate of :func:`refunds_of_whole_items`
    that makes one), 0 where none does."""
    rows = codes >= 0
    at = codes[rows]
    if cols["lineitem_price"] is None or cols["lineitem_quantity"] is None:
        return at, np.zeros(len(at))
    price = table.money(cols["lineitem_price"])[rows]
    quantity = table.number(cols["lineitem_quantity"])[rows]
    discount = _build.money_or_zero(table.money(cols["lineitem_discount"]))[rows]
    found = np.zeros(len(at))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        unit = (price * quantity - discount) / quantity
        refund = refunded[at]
        for rate in (np.zeros(n), taxes / goods, taxes / (goods + shipping)):
            each = unit * (1.0 + rate[at])
            items = np.floor(refund / each + 0.5)
            whole = (
                (quantity > 0)
                & (unit > 0)
                & (items >= 1)
                & (items <= quantity)
                & (np.abs(refund - items * each) < SHIPPING_TAX_TOLERANCE)
            )
            found = np.where((found == 0) & whole, items, found)
    return at, found


def _check_one_order_per_name(
    table: Table,
    cols: dict[str, str | None],
    stamps: np.ndarray,
    codes: np.ndarray,
    n: int,
    names: pd.Series | np.ndarray,
) -> None:
    """Raise where the rows of one ``Name`` give two ``Created at`` times or two e-mails.

    Shopify writes both on every row of an order, the same on each: rows of one name that
    differ in either are two orders (two shops' exports pasted together, both numbered from
    #1001), which grouping would make one, the second customer's order lost in the first's.
    """
    found = _build.first_disagreement(
        codes,
        n,
        ~np.isnat(stamps) & (codes >= 0),
        lambda rows, firsts: stamps[rows] != stamps[firsts],
    )
    if found is not None:

        def shown(at: int) -> str:
            return str(stamps[at].astype("datetime64[s]")).replace("T", " ")

        raise _build.two_versions(
            table, found, codes, names, cols["created_at"], "another Created at", shown
        )
    _build.check_order_level_text(
        table, cols["email"], codes, n, names, "Email", _comparable_emails
    )


def _comparable_emails(cells: pd.Series) -> pd.Series:
    """E-mail cells as the customer ids they give (:func:`valuecast.io._build.emails`), '' for
    none: rows of one order whose addresses differ by a character that shows nothing are one
    order's, whose error would name two addresses that read alike."""
    return _build.emails(cells)[1].fillna("")


def read_orders(source: str | Path | CsvFile | Table) -> ImportResult:
    """Read a Shopify orders export (see the module docstring for every rule)."""
    csv = _open(source)
    cols = _resolve(csv, ORDER_COLUMNS, ORDER_REQUIRED)
    table = csv.read([c for c in cols.values() if c is not None])
    return _orders_from_table(table, cols)


def _orders_from_table(table: Table, cols: dict[str, str | None]) -> ImportResult:
    table.name_rows_by(cols["name"])
    n_rows = table.num_rows
    read = [c for c in cols.values() if c is not None]
    filled = np.zeros(n_rows, dtype=bool)
    for column in read:
        filled |= table.nonempty(column)
    names = table.text(cols["name"])
    has_name = np.asarray(names.is_valid().to_numpy(zero_copy_only=False), bool)
    nameless = filled & ~has_name
    if nameless.any():
        raise table.error("row has no order Name", int(np.flatnonzero(nameless)[0]), cols["name"])
    codes, uniques = pd.factorize(pd.Series(names.to_pandas(), dtype=object))
    codes = np.asarray(codes, dtype=np.int64)
    n = len(uniques)
    first_row = _build.first_positions(codes, n)

    def first(key: str) -> pd.Series:
        return _build.group_first(table, codes, n, cols[key])

    def money(key: str, non_negative: bool = False) -> np.ndarray:
        values = table.money(cols[key])
        if non_negative:
            _build.check_not_negative(table, values, cols[key])
        _build.check_order_level(table, values, codes, n, cols[key], uniques)
        return _build.group_first_values(values, codes, n)

    stamps = table.timestamps(cols["created_at"], extra_formats=True)  # an export Excel saved
    _build.check_order_dates(table, stamps, cols["created_at"])
    _check_one_order_per_name(table, cols, stamps, codes, n, uniques)
    created = _build.group_first_values(stamps, codes, n)
    missing = np.isnat(created)
    if missing.any():
        raise table.error(
            "order has no Created at date",
            int(first_row[np.flatnonzero(missing)[0]]),
            cols["created_at"],
        )
    subtotal = money("subtotal")
    if np.isnan(subtotal).any():
        raise table.error(
            "order has no Subtotal",
            int(first_row[np.flatnonzero(np.isnan(subtotal))[0]]),
            cols["subtotal"],
        )
    refunded = _build.money_or_zero(money("refunded", non_negative=True))
    total = money("total")
    taxes = _build.money_or_zero(money("taxes"))
    shipping = _build.money_or_zero(money("shipping"))
    duties = _build.money_or_zero(money("duties"))
    gift_cards = gift_cards_sold(table, cols, codes, n, subtotal)
    # the goods the order sold, its gift cards apart (a gift card carries no tax or shipping)
    goods, goods_total = subtotal - gift_cards, total - gift_cards
    gift_cards_back = gift_card_refunds(refunded, gift_cards, goods, goods_total)
    gift_card_refunded = gift_cards_back > 0
    shipping_refunded = (
        ~gift_card_refunded
        & shipping_refunds(refunded, goods, shipping, taxes)
        & ~every_item_refunded(goods, shipping, taxes, duties, goods_total, refunded)
    )
    if shipping_refunded.any():  # the lines are read again only for such orders
        shipping_refunded &= ~refunds_of_whole_items(
            table, cols, codes, n, refunded, goods, shipping, taxes
        )
    shipping_with_items = items_and_shipping_refunds(
        table, cols, codes, n, refunded, goods, shipping, taxes,
        ~gift_card_refunded & ~shipping_refunded
        & ~every_item_refunded(goods, shipping, taxes, duties, goods_total, refunded),
    )  # fmt: skip
    of_items = np.where(shipping_refunded, 0.0, refunded - gift_cards_back - shipping_with_items)
    net = items_net(goods, shipping, taxes, duties, goods_total, of_items)
    items_refunded = every_item_refunded(goods, shipping, taxes, duties, goods_total, of_items)
    total = np.where(np.isnan(total), subtotal, total)
    status = _build.per_distinct(first("financial_status"), lambda text: text.str.lower())
    country = first("billing_country").fillna(first("shipping_country"))
    phone = preferred_phones([first(key) for key in PHONE_KEYS], country)
    who = _build.identities(first("email"), phone, country)
    accepts_raw = _build.per_distinct(
        _build.group_first(table, codes, n, cols["accepts_marketing"]), lambda t: t.str.lower()
    )
    accepts = pd.Series(pd.NA, index=range(n), dtype="boolean")
    accepts[accepts_raw.isin(["yes", "true", "1", "subscribed"]).fillna(False).to_numpy(bool)] = (
        True
    )
    accepts[
        accepts_raw.isin(["no", "false", "0", "not_subscribed", "unsubscribed"])
        .fillna(False)
        .to_numpy(bool)
    ] = False
    # Accepts Marketing is consent to e-mail: an order without an e-mail (a customer known by a
    # phone, a guest) states no consent to anything the shop can reach them by
    accepts = accepts.mask(who.email.isna().to_numpy(bool))

    reason = _build.reasons(
        n,
        [
            ("test order", _test_gateway(first("payment_method"))),
            ("cancelled", first("cancelled_at").notna().to_numpy(bool)),
            ("voided", (status == "voided").fillna(False).to_numpy(bool)),
            ("refunded", (status == "refunded").fillna(False).to_numpy(bool)),
            ("expired", (status == "expired").fillna(False).to_numpy(bool)),
            # every item refunded, the shipping kept: Shopify says partially_refunded, and
            # the order would count as a repeat purchase worth nothing
            ("refunded", items_refunded),
            (GIFT_CARD_REASON, (gift_cards > 0) & (goods < TAX_INCLUDED_TOLERANCE)),
            (_build.NEGATIVE_AMOUNT, subtotal < 0),
        ],
    )
    orders = _build.orders_frame(
        "shopify",
        {
            "order_number": pd.Series(uniques, dtype="string"),
            "customer_id": who.customer_id,
            "email": who.email,
            "is_guest": who.is_guest,
            "ordered_at": created,
            "gross_revenue": total,
            "discount": _build.money_or_zero(money("discount_amount")),
            "tax": taxes,
            "shipping": shipping,
            "refunded": refunded,
            "net_revenue": net,
            "currency": _build.per_distinct(first("currency"), lambda text: text.str.upper()),
            "channel": first("source"),
            "discount_code": first("discount_code"),
            "accepts_marketing": accepts,
        },
        n,
    )
    counted = reason == None  # noqa: E711 - elementwise comparison
    rows_per_order = np.bincount(codes[codes >= 0], minlength=n)
    lines = None
    if cols["lineitem_name"] is not None or cols["lineitem_quantity"] is not None:
        counted_rows = codes >= 0
        counted_rows[counted_rows] = reason[codes[counted_rows]] == None  # noqa: E711
        positions = np.flatnonzero(counted_rows)
        row_codes = codes[positions]
        lines = pd.DataFrame(
            {
                "order_id": orders["order_id"].array.take(row_codes),
                "line_number": _build.line_numbers(row_codes),
                "sku": _build.text_at(table.text(cols["lineitem_sku"]), positions),
                "product_name": _build.text_at(
                    table.text(cols["lineitem_name"], strip_apostrophe=False), positions
                ),
                # the items a refund of one line's items paid back are no purchase
                "quantity": table.number(cols["lineitem_quantity"])[positions]
                - returned_items(table, cols, codes, n, of_items, goods, shipping, taxes)[
                    positions
                ],
                "unit_price": table.money(cols["lineitem_price"])[positions],
                "line_discount": _build.money_or_zero(table.money(cols["lineitem_discount"]))[
                    positions
                ],
            }
        )
    return _build.assemble(
        table.name,
        "shopify",
        n_rows,
        orders,
        reason,
        rows_per_order,
        lines=lines,
        empty_rows=int((~filled).sum()),
        notes=_build.identity_notes(who)
        + _money_notes(counted, gift_cards, status, net)
        + gift_card_refund_note(
            int((counted & gift_card_refunded).sum()),
            float(gift_cards_back[counted & gift_card_refunded].sum()),
        )
        + items_and_shipping_refund_note(
            int((counted & (shipping_with_items > 0)).sum()),
            float(shipping_with_items[counted].sum()),
        )
        + shipping_refund_note(
            int((counted & shipping_refunded).sum()),
            float(refunded[counted & shipping_refunded].sum()),
        )
        + zero_revenue_notes(
            *(int(orders.sum()) for orders in zero_revenue_orders(counted, total, goods, net))
        ),
        phone_links=who.phone_links,
        order_contacts=_build.latest_contacts(
            orders,
            reason,
            _build.contact_columns(
                _build.OrderTexts(table, codes, n),
                ((cols["billing_name"],), (cols["shipping_name"],)),
                tuple(cols[key] for key in PHONE_KEYS),
                {key: cols[f"billing_{key}"] for key in ADDRESS_FIELDS},
                {key: cols[f"shipping_{key}"] for key in ADDRESS_FIELDS},
                phone=phone,
            ),
        ),
    )


def _money_notes(
    counted: np.ndarray, gift_cards: np.ndarray, status: pd.Series, net: np.ndarray
) -> list[str]:
    """The ingest notes on the counted orders' money (``shopify_duckdb._notes`` in SQL)."""
    sold = counted & (gift_cards > 0)
    unpaid = counted & status.isin(UNPAID_STATUSES).fillna(False).to_numpy(bool)
    counts = status[unpaid].value_counts()
    return gift_card_note(int(sold.sum()), float(gift_cards[sold].sum())) + unpaid_note(
        {str(name): int(count) for name, count in counts.items()}, float(net[unpaid].sum())
    )


def read_customers(source: str | Path | CsvFile | Table) -> ImportResult:
    """Read a Shopify customers export into the ``customers`` table (no orders)."""
    csv = _open(source)
    cols = _resolve(csv, CUSTOMER_COLUMNS, ("email",))
    table = csv.read([c for c in cols.values() if c is not None])
    n_rows = table.num_rows
    filled = np.zeros(n_rows, dtype=bool)
    for column in cols.values():
        if column is not None:
            filled |= table.nonempty(column)
    # the newest export has both columns, and its Phone is often empty where the address has
    # one, or a placeholder typed over it (as in the orders export, the next column's number)
    country = table.text_series(cols["country"])
    phone = preferred_phones(
        [table.text_series(cols[key], strip_apostrophe=True) for key in ("phone", "address_phone")],
        country,
    )
    who = _build.identities(table.text_series(cols["email"]), phone, country)
    email, customer_id = who.email, who.customer_id
    accepts, unknown = table.flags(cols["accepts_marketing"])
    # a customer known by a phone alone consents (or not) to marketing on that phone: its
    # e-mail consent is about an address it never gave, so an export without the SMS column
    # records no consent of theirs
    by_phone_only = customer_id.str.startswith(PHONE_ID_PREFIX).fillna(False).to_numpy(bool)
    if cols["accepts_sms"] is None:
        accepts = accepts.mask(by_phone_only, pd.NA)
        sms_written = np.zeros(n_rows, dtype=bool)
    else:
        sms, _ = table.flags(cols["accepts_sms"])
        accepts = accepts.mask(by_phone_only, sms)
        sms_written = table.nonempty(cols["accepts_sms"])
    # the cells neither yes nor no of the column each row's consent is read from
    unread = accepts.isna().to_numpy(bool)
    used = np.where(by_phone_only, sms_written, table.nonempty(cols["accepts_marketing"]))
    unknown = int((unread & used).sum())
    frame = pd.DataFrame(
        {
            "customer_id": customer_id,
            "email": email,
            "accepts_marketing": accepts,
            "created_at": table.timestamps(cols["created_at"], extra_formats=True),
        }
    )
    for key in ("first_name", "last_name", "city", "province", "country", "zip"):
        frame[key] = table.text_series(cols[key], strip_apostrophe=True)
    frame["phone"] = phone
    frame["tags"] = table.text_series(cols["tags"], strip_apostrophe=False)
    no_email = filled & customer_id.isna().to_numpy(bool)
    duplicate = filled & ~no_email & customer_id.duplicated().to_numpy(bool)
    by_phone = customer_id.str.startswith(PHONE_ID_PREFIX).fillna(False).to_numpy(bool)
    keep = filled & ~no_email & ~duplicate
    result = _build.assemble(
        table.name,
        "shopify-customers",
        n_rows,
        _build.orders_frame(
            "shopify",
            {
                "order_number": pd.Series([], dtype="string"),
                "ordered_at": np.array([], "datetime64[us]"),
                "gross_revenue": np.array([], float),
            },
            0,
        ),
        np.array([], dtype=object),
        np.array([], dtype=np.int64),
        customers=frame.loc[keep],
        empty_rows=int((~filled).sum()),
        phone_links=who.phone_links,
    )
    # a row whose only address is a placeholder (noemail@shop.com) names no one: said so
    dummy = no_email & who.placeholder
    if (no_email & ~dummy).any():
        result.excluded["no email or phone"] += int((no_email & ~dummy).sum())
    if dummy.any():
        result.excluded["placeholder email, no phone"] += int(dummy.sum())
    result.notes.extend(_build.placeholder_rows_note(dict(who.placeholders or {})))
    if (duplicate & ~by_phone).any():
        result.excluded["duplicate email"] += int((duplicate & ~by_phone).sum())
    if (duplicate & by_phone).any():
        result.excluded["duplicate phone"] += int((duplicate & by_phone).sum())
    if unknown:
        result.notes.append(
            f"{unknown} accepts-marketing values were neither yes nor no (left empty)"
        )
    return result
