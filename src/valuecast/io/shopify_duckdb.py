"""Large Shopify orders exports parsed by DuckDB's parallel reader, for ingest.

A Shopify export has one row per line item and per-order rules (:mod:`valuecast.io.shopify`):
at a million orders the importer's pandas and Arrow steps take several seconds and gigabytes.
Here DuckDB reads the file and applies the same rules in SQL, staging the canonical orders and
order lines on the workspace's connection as :class:`~valuecast.io.orders_duckdb.PendingOrders`
does for an orders table.  As there, DuckDB only takes the clean, common case, where the result is
certain to equal the importer's, and any of these makes :meth:`PendingShopify.load` return
``None`` so that the importer reads the file, with its rules, notes and one-line errors:

* a text cell the importer would clean other than of surrounding spaces (a leading apostrophe,
  other whitespace, characters outside printable ASCII; a product name may hold any letters but
  must begin and end with a printable character or a letter);
* a ``Created at`` not written ``YYYY-MM-DD``, optionally with `` HH:MM`` or `` HH:MM:SS`` and a
  UTC offset (`` -0400``, ``Z``), or outside 1990 to tomorrow; an amount not written as a plain
  number (``-12.5``, ``1e3``), beyond ``MAX_AMOUNT``, or whose points could separate thousands;
* a row without ``Name`` that is not empty; an order whose rows give two values of one
  order-level amount, two ``Created at`` or two e-mails, or that has no ``Created at`` or
  ``Subtotal``; a negative refund;
* an order without e-mail, or with a placeholder one (``noemail@shop.com``, ``-``), that
  carries a phone (its customer is its phone, or the e-mail customer with that phone:
  :func:`valuecast.io._build.identities`);
* a row whose phone may be a placeholder (``0000000000``) and that gives another phone in a
  later column (``Billing Phone``): the importer takes that number where the first is a
  placeholder in the order's country (:func:`valuecast.io.shopify.preferred_phones`);
* counted orders in more than one currency, a malformed row, text that is not UTF-8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from valuecast.io import _build, csvfile, orders_duckdb, shopify
from valuecast.io.csvfile import AMBIGUOUS_POINT, CsvFile
from valuecast.io.line_names import gift_card_sql
from valuecast.io.schema import (
    ADDRESS_FIELDS,
    CONTACT_GROUPS,
    ORDER_CONTACTS_SCHEMA,
    ORDERS_SCHEMA,
    SQL_TYPES,
    ImportResult,
)

__all__ = ["PendingShopify", "pending_shopify"]

_ROWS = "_shopify_rows"
_GROUPED = "_shopify_orders"
_VIEWS = (orders_duckdb.STAGED_LINES, orders_duckdb.STAGED_ORDERS)
_CONTACT_ENDS = "_shopify_contact_ends"
_CONTACT_ROWS = "_shopify_contact_rows"
_RETURNED = "_shopify_returned"
_TABLES = (_GROUPED, _ROWS, _CONTACT_ENDS, _CONTACT_ROWS, _RETURNED)

_AMOUNTS = ("subtotal", "shipping", "taxes", "total", "duties", "discount_amount", "refunded")
"""Order-level amounts: every row of an order that gives one gives the same."""
_LINE_AMOUNTS = ("lineitem_quantity", "lineitem_price", "lineitem_discount")
_TEXTS = (
    "name", "email", "financial_status", "currency", "accepts_marketing", "cancelled_at",
    "payment_method", "source", "discount_code", "lineitem_sku", "lineitem_taxable",
)  # fmt: skip
"""Texts the importer trims of whitespace and a leading apostrophe: taken only as written."""
_FIRSTS = ("email", "financial_status", "currency", "accepts_marketing", "source",
           "discount_code")  # fmt: skip
"""Texts an order takes from the first of its rows that gives one."""
_GROUP_CHECKED = ("name", *_FIRSTS)
"""Texts checked on the value an order takes, once per order: the rows before it are empty, to
the importer as here, so an order takes the same value wherever that value is usual."""
_PHONES = ("phone", "billing_phone", "shipping_phone")
_COUNTRIES = ("billing_country", "shipping_country")
_CONTACTS = (
    "billing_name", "shipping_name", *_PHONES,
    *(f"{side}_{key}" for side in ("billing", "shipping") for key in ADDRESS_FIELDS),
)  # fmt: skip
"""Texts of the orders' contact fields (:func:`valuecast.io._build.order_contacts`)."""
_CONTACT_PARTS = ("name", "phone", *ADDRESS_FIELDS)
"""The contact fields a row gives, in the order ``contact`` packs them: the name whole (split
once chosen), the phone, the address's fields (the billing address's, else the shipping's)."""
_SEPARATOR = "chr(31)"
"""SQL of the character between the contact fields of a row packed into one (``contact``)."""
_WHITESPACE = (
    r"\x00-\x1e\x20\x7f-\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}"
    r"\x{3000}\x{feff}"
)
"""Characters the importer's trim (Arrow's) may take as whitespace, and more."""
_SURE_EMPTY = r"[\t\n\x0b\x0c\r ]*''?[\t\n\x0b\x0c\r ]*"
"""As SQL text (its apostrophe doubled): a cell the importer cleans to nothing (ASCII
whitespace, perhaps a spreadsheet's apostrophe between)."""
_MAYBE_EMPTY = rf"[{_WHITESPACE}]*''?[{_WHITESPACE}]*"
"""As :data:`_SURE_EMPTY` with any character the importer may trim: a cell that matches it and
not that is the importer's to clean (its order may give a field or not)."""
_ROW_BITS = 31
"""Bits of a row's position in a key of the latest order (:func:`_latest_contact_rows`)."""
_DATE = r"\d{4}-\d{2}-\d{2}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?( ?(Z|UTC|GMT|[+-]\d{2}(:?\d{2})?))?)?"
"""A ``Created at`` as Shopify writes it (``2024-03-05 23:30:00 -0500``), the offset ignored."""
_WALL_CLOCK = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?"
_NAMED_TEXT = r"[!-~\p{L}]([^\x00-\x1f\x7f]*[!-~\p{L}])?"
"""A product name the importer keeps as written: no whitespace or control character at either
end (a letter is never whitespace; other Unicode ends go to the importer)."""
_ROWS_PER_PART = 500_000
_PARTS_MAX = 8
"""Rows are grouped into orders in parts by the name's hash, each part's orders at once: in one
part the hash table of a 1M-order export's 1.4M rows held ~580 MB beside the rows (the ingest
peaked at 1.12-1.14 GB); in three, 0.9 s against 1.1-1.2 s and a peak of 0.90-0.96 GB (each
part reads the rows again, cheap in memory)."""
_TRUE = ("yes", "true", "1", "subscribed")
_FALSE = ("no", "false", "0", "not_subscribed", "unsubscribed")


def pending_shopify(csv: CsvFile) -> PendingShopify | None:
    """The Shopify orders export as :class:`PendingShopify` when DuckDB may try it, else
    ``None``.  A missing required column is the importer's error, raised here as there."""
    if not orders_duckdb.usable(csv, {}) or csv.has_blank_lines():  # blank lines shift rows
        return None
    cols = shopify._resolve(csv, shopify.ORDER_COLUMNS, shopify.ORDER_REQUIRED)
    return PendingShopify(csv, {}, cols)


def _sql_words(words: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{word}'" for word in words) + ")"


def _amounts(cell: dict[str, str]) -> tuple[dict[str, str], list[str], list[str]]:
    """SQL of the amount columns read (``cell``: key -> column): each parsed, the conditions
    that make a row the importer's, and per column two bits of a mask, the low one where a point
    may separate thousands, the high one where only a decimal point fits."""
    parse: dict[str, str] = {}
    bad: list[str] = []
    points: list[str] = []
    for key in (*_AMOUNTS, *_LINE_AMOUNTS):
        if key not in cell:
            continue
        x = cell[key]
        parse[key] = orders_duckdb._number(x)
        bad.append(f"({x} IS NOT NULL AND ({key} IS NULL OR NOT isfinite({key})))")
        bad.append(f"abs({key}) > {orders_duckdb.MAX_AMOUNT!r}")
        # the pattern needs three characters after the first point: only those are matched
        points.append(
            f"(CASE WHEN coalesce(NOT contains({x}, '.'), true) THEN 0 "
            f"WHEN strlen({x}) - instr({x}, '.') = 3 "
            f"AND regexp_full_match({x}, '{AMBIGUOUS_POINT.strip('^$')}') THEN 1 "
            f"ELSE 2 END::UBIGINT << {2 * len(points)})"
        )
    return parse, bad, points


def _gift_card_row(cell: dict[str, str]) -> str:
    """SQL of :func:`valuecast.io.shopify.gift_card_rows` over the cells of a row: the name is
    matched only on rows not taxable (Shopify writes ``true`` on the others, told first at the
    cost of a comparison: a pattern on every row of a 1M-order export costs ~0.2 s)."""
    x = cell["lineitem_name"]
    named = gift_card_sql(x)
    if "lineitem_taxable" not in cell:
        return named
    spelled = f"coalesce(regexp_matches({x}, '{shopify.GIFT_CARD_NAME}'), false)"
    taxable = cell["lineitem_taxable"]
    return (
        f"CASE WHEN {taxable} = 'true' THEN false "
        f"WHEN lower({taxable}) IN {_sql_words(shopify.FALSE_WORDS)} THEN ({spelled} OR {named}) "
        "ELSE false END"
    )


def _gift_cards_sold(cols: dict[str, str | None]) -> str:
    """SQL of :func:`valuecast.io.shopify.gift_cards_sold` before its cap, over an order's rows
    (the rows' amounts summed, then rounded to cents: the sum's order cannot change a cent)."""
    if cols["lineitem_name"] is None:
        return "0.0"

    def amount(key: str) -> str:
        return f"coalesce({key}, 0.0)" if cols[key] is not None else "0.0"

    line = f"{amount('lineitem_price')} * {amount('lineitem_quantity')} - " + amount(
        "lineitem_discount"
    )
    return f"coalesce(round(sum({line}) FILTER (WHERE gift_card), 2), 0.0)"


def _load_rows(con: Any, csv: CsvFile, cols: dict[str, str | None]) -> bool:
    """The temporary table ``_ROWS`` of parsed rows in file order (``rowid`` is the row's
    position); ``False``, leaving nothing behind, when a row needs the importer."""
    names = [f"c{i}" for i in range(len(csv.header))]
    cell = {key: names[csv.header.index(col)] for key, col in cols.items() if col is not None}
    read = sorted(set(cell.values()))
    parse, bad, points = _amounts(cell)
    d = cell["created_at"]
    wall_clock = f"replace(regexp_extract({d}, '{_WALL_CLOCK}'), 'T', ' ')"
    parse["created"] = (
        f"CASE WHEN regexp_full_match({d}, '{_DATE}') THEN try_cast({wall_clock} AS TIMESTAMP) END"
    )
    earliest = str(_build.EARLIEST_ORDER_DATE.astype("datetime64[s]")).replace("T", " ")
    latest = str(_build.latest_order_date().astype("datetime64[s]")).replace("T", " ")
    bad.append(f"({d} IS NOT NULL AND created IS NULL)")
    bad.append(f"(created < TIMESTAMP '{earliest}' OR created >= TIMESTAMP '{latest}')")
    for key in _TEXTS:
        if key in cell:
            if key not in _GROUP_CHECKED:
                bad.append(orders_duckdb._unusual(cell[key]))
            if key not in ("payment_method", "cancelled_at", "lineitem_taxable"):  # flags
                parse[key] = cell[key]
    if "payment_method" in cell:
        x = cell["payment_method"]
        parse["test_gateway"] = (
            f"CASE WHEN {x} IS NOT NULL THEN regexp_matches(lower({x}), '{shopify.TEST_GATEWAY}') END"
        )
    parse["cancelled"] = (
        f"{cell['cancelled_at']} IS NOT NULL" if "cancelled_at" in cell else "false"
    )
    if "lineitem_name" in cell:
        x = cell["lineitem_name"]
        parse["lineitem_name"] = x
        bad.append(f"coalesce(NOT regexp_full_match({x}, '{_NAMED_TEXT}'), false)")
        parse["gift_card"] = _gift_card_row(cell)
    phones = [cell[key] for key in _PHONES if key in cell]
    parse["has_phone"] = f"({' OR '.join(f'{x} IS NOT NULL' for x in phones) or 'false'})"
    bad.extend(_placeholder_passed_over(phones))
    if phones:  # as written (less a spreadsheet's apostrophe): the store normalises what it needs
        parse["phone_text"] = f"coalesce({', '.join(f'ltrim({x}, chr(39))' for x in phones)})"
        countries = [cell[key] for key in _COUNTRIES if key in cell]
        parse["country_text"] = f"coalesce({', '.join(countries)})" if countries else "NULL"
    contact_cells, contact_row, unsure = _contact_row(cell)
    parse.update(contact_cells)
    bad.extend(unsure)
    # a row without a Name is empty or the importer's error (a cell of spaces is empty to it)
    others = [x for x in read if x != cell["name"]]
    bad.append(f"({cell['name']} IS NULL AND ({' OR '.join(f'{x} IS NOT NULL' for x in others)}))")
    # DuckDB trims Unicode spaces (a no-break space too) but not tabs or line breaks, which the
    # importer trims as well: a cell still ending in one fails the checks above, so that where
    # the file is taken this is the importer's trim
    # the contact cells are cleaned once chosen (a few per customer), not on every row: whether
    # one gives a field is told as the importer tells it (_gives)
    untrimmed = {cell[key] for key in _CONTACTS if key in cell} - {
        cell[key] for key in (*_PHONES, *_COUNTRIES) if key in cell
    }
    cells = ", ".join(x if x in untrimmed else f"nullif(trim({x}), '') AS {x}" for x in read)
    middle = ", ".join([*read, *(f"{sql} AS {key}" for key, sql in parse.items())])
    source = orders_duckdb._read_sql(csv, names)
    kept = [key for key in parse if key not in contact_cells]
    kept += [f"{sql} AS {key}" for key, sql in contact_row.items()]
    query = (
        f"CREATE OR REPLACE TEMP TABLE {_ROWS} AS SELECT {', '.join(kept)}, "
        f"({' OR '.join(bad)}) AS _bad, ({' | '.join(points) or '0::UBIGINT'}) AS _points "
        f"FROM (SELECT {middle} FROM (SELECT {cells} FROM {source}))"
    )
    # the importer refuses a column whose points could all separate thousands
    told = "".join(f" OR ((bit_or(_points) >> {2 * i}) & 3) = 1" for i in range(len(points)))
    try:
        con.execute("SET preserve_insertion_order = true")  # rowid: the row's position
        con.execute(query)
        refused = con.sql(f"SELECT bool_or(_bad){told} FROM {_ROWS}").fetchall()[0][0]
        refused = refused or orders_duckdb.rejected_rows(con) > 0
    except duckdb.Error:
        refused = True  # the importer says exactly what
    finally:
        orders_duckdb.drop_rejects(con)
    return not refused


def _maybe_placeholder_phone(x: str) -> str:
    """SQL of :func:`valuecast.io.shopify.maybe_placeholder_phones` over the cell ``x``: a cell
    of printable ASCII whose digits end as a placeholder's, or any other cell (none for NULL)."""
    dialled = f"regexp_replace(replace({x}, '(0)', ''), '{shopify.PHONE_EXTENSION}', '')"
    return (
        f"(NOT regexp_full_match({x}, '[ -~]*') "
        f"OR regexp_matches({dialled}, '{shopify.PLACEHOLDER_TAIL}'))"
    )


def _placeholder_passed_over(phones: list[str]) -> list[str]:
    """SQL over a row's phone cells (``phones``, by preference): the conditions that make the
    row the importer's, a cell that may be a placeholder followed by a cell giving another
    phone.  The importer passes a placeholder over for the next column's number
    (:func:`valuecast.io.shopify.preferred_phones`), which depends on the order's country; here
    each row's first phone is taken as written.  The pattern reads only the rows giving two
    phones that differ (a CASE, so that DuckDB does not read it on every row)."""
    conditions = []
    for at, x in enumerate(phones[:-1]):
        differ = " OR ".join(f"{y} <> {x}" for y in phones[at + 1 :])
        conditions.append(
            f"(CASE WHEN {x} IS NOT NULL AND ({differ}) "
            f"THEN {_maybe_placeholder_phone(x)} ELSE false END)"
        )
    return conditions


def _group_orders(con: Any, cols: dict[str, str | None]) -> bool:
    """The temporary table ``_GROUPED``: one row per order with the importer's values and
    exclusion ``reason``; ``False`` when an order needs the importer."""
    amounts = [key for key in _AMOUNTS if cols[key] is not None]
    firsts = [key for key in _FIRSTS if cols[key] is not None]
    if cols["payment_method"] is not None:
        firsts.append("test_gateway")
    fields = [
        "name AS order_number", "min(rowid) AS first_row", "max(rowid) AS last_row",
        "count(*) AS rows",
        "arg_min(created, rowid) FILTER (WHERE created IS NOT NULL) AS created",
        *(f"min({key}) AS {key}" for key in amounts),
        *(f"arg_min({key}, rowid) FILTER (WHERE {key} IS NOT NULL) AS {key}" for key in firsts),
        "bool_or(cancelled) AS cancelled",
        "bool_or(has_phone) AS has_phone",
        # where the order's contact fields are: its one row giving any, as Shopify writes them
        *(["bit_or(contact_groups) AS contact_groups", "count(contact) AS contact_rows",
           "min(rowid) FILTER (WHERE contact IS NOT NULL) AS contact_row"]
          if _read_contacts(cols) else []),
        f"{_gift_cards_sold(cols)} AS gift_cards_sold",
        "(" + " AND ".join([
            orders_duckdb.at_most_one("created"),
            *(orders_duckdb.at_most_one(key) for key in amounts),
            *([orders_duckdb.at_most_one("lower(email)")] if "email" in firsts else []),
        ]) + ") AS same",
    ]  # fmt: skip

    def text(key: str) -> str:
        return key if key in firsts else "NULL"

    status = f"lower({text('financial_status')})"
    reason = (
        f"CASE WHEN coalesce({text('test_gateway')}, false) THEN 'test order' "
        "WHEN cancelled THEN 'cancelled' "
        f"WHEN {status} = 'voided' THEN 'voided' WHEN {status} = 'refunded' THEN 'refunded' "
        f"WHEN {status} = 'expired' THEN 'expired' "
        + (
            f"WHEN goods > 0 AND item_refunded >= {_items_due(cols)} "
            f"- {shopify.TAX_INCLUDED_TOLERANCE!r} THEN 'refunded' "
            if cols["refunded"] is not None
            else ""
        )
        + f"WHEN gift_cards > 0 AND goods < {shopify.TAX_INCLUDED_TOLERANCE!r} "
        f"THEN '{shopify.GIFT_CARD_REASON}' "
        f"WHEN subtotal < 0 THEN '{_build.NEGATIVE_AMOUNT}' END"
    )
    goods_total = ", total - gift_cards AS goods_total" if cols["total"] is not None else ""
    n_rows = con.sql(f"SELECT count(*) FROM {_ROWS}").fetchall()[0][0]
    parts = min(_PARTS_MAX, max(1, math.ceil(n_rows / _ROWS_PER_PART)))
    for part in range(parts):
        inside = "" if parts == 1 else f" AND hash(name) % {parts} = {part}"
        grouped = (
            f"SELECT *, {reason} AS reason FROM (SELECT *, {_item_refunded(cols)} AS "
            f"item_refunded FROM (SELECT *, {_shipping_refund(cols)} AS shipping_refund FROM "
            "(SELECT *, subtotal - gift_cards AS goods"
            f"{goods_total} FROM (SELECT *, least(greatest(gift_cards_sold, 0.0), "
            "greatest(subtotal, 0.0)) AS gift_cards FROM "
            f"(SELECT {', '.join(fields)} FROM {_ROWS} WHERE name IS NOT NULL{inside} "
            "GROUP BY name)))))"
        )
        if part == 0:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {_GROUPED} AS {grouped}")
        else:
            con.execute(f"INSERT INTO {_GROUPED} {grouped}")
    _items_not_shipping_refunded(con, cols)
    _items_and_shipping_refunded(con, cols)
    refund = "refunded" if cols["refunded"] is not None else "0.0"
    currency = f"upper({text('currency')})"
    usual = "".join(
        f" AND NOT {orders_duckdb._unusual(key)}"
        for key in ("order_number", *firsts)
        if key != "test_gateway"
    )
    usable = con.sql(
        f"SELECT coalesce(bool_and(same{usual} AND created IS NOT NULL AND subtotal IS NOT NULL "
        f"AND coalesce({refund}, 0) >= 0 AND ({_EMAILED} OR NOT has_phone)), true) "
        f"AND count(DISTINCT {currency}) FILTER (WHERE reason IS NULL) <= 1 FROM {_GROUPED}"
    ).fetchall()[0][0]
    return bool(usable)


def _placeholder(cols: dict[str, str | None]) -> str:
    """SQL over ``_GROUPED``: the order's e-mail is a placeholder or no address, no customer's
    (:func:`valuecast.io._build.placeholder_emails`)."""
    return _build.placeholder_email_sql("email") if cols["email"] is not None else "false"


_EMAILED = f"(email IS NOT NULL AND NOT {_build.placeholder_email_sql('email')})"
"""SQL over ``_GROUPED`` (or ``_ROWS``): the order (row) carries an e-mail that is a customer's."""


def _zero(cols: dict[str, str | None], key: str) -> str:
    """SQL of an order-level amount over ``_GROUPED``, 0 where not written (or not read)."""
    return f"coalesce({key}, 0.0)" if cols[key] is not None else "0.0"


def _gift_cards_back(cols: dict[str, str | None]) -> str:
    """SQL of :func:`valuecast.io.shopify.gift_card_refunds` over ``_GROUPED``'s goods."""
    tolerance = repr(shopify.TAX_INCLUDED_TOLERANCE)
    refunded = _zero(cols, "refunded")
    sold = "(gift_cards > 0 AND goods > 0)"
    exactly = f"({sold} AND abs({refunded} - gift_cards) < {tolerance})"
    if cols["total"] is None:
        return f"(CASE WHEN {exactly} THEN {refunded} ELSE 0.0 END)"
    beyond = f"({sold} AND coalesce({refunded} > goods_total + {tolerance}, false))"
    return (
        f"(CASE WHEN {exactly} THEN {refunded} "
        f"WHEN {beyond} THEN least(gift_cards, {refunded}) ELSE 0.0 END)"
    )


def _gift_card_refund(cols: dict[str, str | None]) -> str:
    """SQL over ``_GROUPED``: the order's refund gave back gift cards it sold."""
    return f"({_gift_cards_back(cols)} > 0)"


def _shipping_refund(cols: dict[str, str | None]) -> str:
    """SQL of :func:`valuecast.io.shopify.shipping_refunds` over ``_GROUPED``'s goods, where
    the refund is not the gift cards' and covers not every item."""
    refunded, shipping, taxes = (_zero(cols, key) for key in ("refunded", "shipping", "taxes"))
    own_tax = _shipping_tax(cols)
    taxed = (
        f"({taxes} > 0 AND abs({refunded} - ({shipping} + {own_tax})) "
        f"< {shopify.SHIPPING_TAX_TOLERANCE!r})"
    )
    alone = f"abs({refunded} - {shipping}) < {shopify.TAX_INCLUDED_TOLERANCE!r}"
    every_item = f"{refunded} >= {_items_due(cols)} - {shopify.TAX_INCLUDED_TOLERANCE!r}"
    return (
        f"(NOT {_gift_card_refund(cols)} AND {shipping} > 0 AND goods > 0 "
        f"AND ({alone} OR {taxed}) AND NOT ({every_item}))"
    )


def _shipping_tax(cols: dict[str, str | None]) -> str:
    """SQL of :func:`valuecast.io.shopify.shipping_tax` over ``_GROUPED``'s goods."""
    shipping, taxes = _zero(cols, "shipping"), _zero(cols, "taxes")
    base = f"(goods + {shipping})"
    return f"(CASE WHEN {base} > 0 THEN {taxes} * {shipping} / {base} ELSE 0.0 END)"


def _item_refunded(cols: dict[str, str | None]) -> str:
    """SQL of the part of an order's refund taken off its goods, over ``_GROUPED``: all of it
    but the gift cards it gives back, or none where it is the shipping's
    (:mod:`valuecast.io.shopify`)."""
    return (
        "CASE WHEN shipping_refund THEN 0.0 "
        f"ELSE {_zero(cols, 'refunded')} - {_gift_cards_back(cols)} END"
    )


def _items_not_shipping_refunded(con: Any, cols: dict[str, str | None]) -> None:
    """Take off the items, in ``_GROUPED``, the refunds equal to the shipping that are a whole
    number of one line's items (:func:`valuecast.io.shopify.refunds_of_whole_items`, operation
    for operation).  Only the few orders whose refund equals the shipping are read again: the
    order's reason stays, as such a refund covers not every item."""
    if cols["lineitem_price"] is None or cols["lineitem_quantity"] is None:
        return
    refund = _zero(cols, "refunded")
    con.execute(
        f"UPDATE {_GROUPED} SET shipping_refund = false, item_refunded = {refund} "
        f"WHERE shipping_refund AND order_number IN (SELECT r.name FROM {_ROWS} r JOIN "
        f"(SELECT *, {refund} AS refund FROM {_GROUPED} WHERE shipping_refund) g "
        f"ON r.name = g.order_number WHERE {_whole_items(cols, 'g.refund')} IS NOT NULL)"
    )


def _items_and_shipping_refunded(con: Any, cols: dict[str, str | None]) -> None:
    """Take the shipping's part off the items' refund, in ``_GROUPED``, where the refund is one
    line's whole items and the shipping together
    (:func:`valuecast.io.shopify.items_and_shipping_refunds`, operation for operation): the
    shipping alone tried first, then with its share of the taxes."""
    if cols["lineitem_price"] is None or cols["lineitem_quantity"] is None:
        return
    tolerance = repr(shopify.TAX_INCLUDED_TOLERANCE)
    refund, shipping = _zero(cols, "refunded"), _zero(cols, "shipping")
    every_item = f"{refund} >= {_items_due(cols)} - {tolerance}"
    candidate = (
        f"NOT shipping_refund AND NOT {_gift_card_refund(cols)} AND NOT ({every_item}) "
        f"AND {shipping} > 0 AND goods > 0 AND {refund} > {shipping} + {tolerance} "
        f"AND item_refunded = {refund}"  # not split yet
    )
    if not con.execute(f"SELECT count(*) > 0 FROM {_GROUPED} WHERE {candidate}").fetchall()[0][0]:
        return

    def whole(amount: str) -> str:  # the candidates whose ``amount`` is one line's items
        return (
            f"SELECT r.name FROM {_ROWS} r JOIN (SELECT *, {amount} AS amount FROM {_GROUPED} "
            f"WHERE {candidate}) g ON r.name = g.order_number "
            f"WHERE {_whole_items(cols, 'g.amount')} IS NOT NULL"
        )

    own_tax = _shipping_tax(cols)
    items = set(row[0] for row in con.execute(whole(refund)).fetchall())
    for part in (shipping, f"({shipping} + {own_tax})"):
        rest = f"({refund} - {part})"
        found = [
            name
            for (name,) in con.execute(
                f"SELECT DISTINCT name FROM ({whole(rest)}) WHERE name IN (SELECT order_number "
                f"FROM {_GROUPED} WHERE {candidate} AND {refund} > {part} + {tolerance})"
            ).fetchall()
            if name not in items
        ]
        if found:
            con.execute(
                f"UPDATE {_GROUPED} SET item_refunded = {rest} WHERE {candidate} "
                "AND order_number IN (SELECT unnest(?))",
                [found],
            )


def _whole_items(cols: dict[str, str | None], refund: str) -> str:
    """SQL over ``_ROWS r`` joined to ``_GROUPED g``: the whole number of the row's line items
    ``refund`` makes, at the first rate that makes one, else NULL
    (:func:`valuecast.io.shopify.refunds_of_whole_items`, operation for operation)."""
    discount = "coalesce(r.lineitem_discount, 0.0)" if cols["lineitem_discount"] else "0.0"
    unit = f"((r.lineitem_price * r.lineitem_quantity - {discount}) / r.lineitem_quantity)"
    taxes, shipping = (
        f"coalesce(g.{key}, 0.0)" if cols[key] is not None else "0.0"
        for key in ("taxes", "shipping")
    )
    rates = ("0.0", f"{taxes} / g.goods", f"{taxes} / (g.goods + {shipping})")
    cases = []
    for rate in rates:
        each = f"({unit} * (1.0 + {rate}))"
        items = f"floor({refund} / {each} + 0.5)"
        whole = (
            f"(r.lineitem_quantity > 0 AND {unit} > 0 AND {items} >= 1 "
            f"AND {items} <= r.lineitem_quantity "
            f"AND abs({refund} - {items} * {each}) < {shopify.SHIPPING_TAX_TOLERANCE!r})"
        )
        cases.append(f"WHEN {whole} THEN {items}")
    return f"(CASE {' '.join(cases)} END)"


def _returned_items(con: Any, cols: dict[str, str | None]) -> bool:
    """The temporary table ``_RETURNED`` (``rowid``, ``items``): the rows of counted orders
    whose refund of items is a whole number of their line's items and of no other line's of
    the order (:func:`valuecast.io.shopify.returned_items`); ``False`` where the export has no
    line prices or quantities (none can be)."""
    if cols["lineitem_price"] is None or cols["lineitem_quantity"] is None:
        return False
    items = _whole_items(cols, "g.item_refunded")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_RETURNED} AS SELECT rowid, items FROM ("
        f"SELECT r.rowid, {items} AS items, count({items}) OVER (PARTITION BY r.name) AS lines "
        f"FROM {_ROWS} r JOIN {_GROUPED} g ON r.name = g.order_number "
        "WHERE g.reason IS NULL AND g.item_refunded > 0) WHERE items IS NOT NULL AND lines = 1"
    )
    return True


def _items_due(cols: dict[str, str | None]) -> str:
    """SQL of what :func:`valuecast.io.shopify.every_item_refunded` holds the refunds against,
    over ``_GROUPED``'s goods (its gift cards apart), operation for operation."""
    shipping, taxes = _zero(cols, "shipping"), _zero(cols, "taxes")
    base = f"(goods + {shipping})"
    own_tax = f"goods + (CASE WHEN {base} > 0 THEN {taxes} * goods / {base} ELSE 0.0 END)"
    if cols["total"] is None:
        return f"least(goods, {own_tax})"
    written = f"coalesce(goods_total - {shipping} - {_zero(cols, 'duties')}, goods)"
    return f"least({written}, {own_tax})"


def _items_net(cols: dict[str, str | None], zero) -> str:
    """SQL of :func:`valuecast.io.shopify.items_net` over ``_GROUPED``, operation for
    operation (the same doubles in the same order give the same bits), on the goods (the order's
    gift cards apart)."""
    tolerance = repr(shopify.TAX_INCLUDED_TOLERANCE)
    refunded = "item_refunded"
    if cols["total"] is None or cols["taxes"] is None:  # no tax included can be told
        return f"greatest(goods - 0.0 - {refunded} * 1.0, 0.0)"
    shipping, taxes, duties = zero("shipping"), zero("taxes"), zero("duties")
    without_tax = f"abs(goods_total - (goods + {shipping} + {duties})) < {tolerance}"
    with_tax = f"abs(goods_total - (goods + {shipping} + {taxes} + {duties})) < {tolerance}"
    included = f"({taxes} > 0 AND {without_tax} AND NOT {with_tax} AND goods > 0)"
    added = f"({taxes} > 0 AND {with_tax} AND NOT {without_tax} AND goods > 0)"
    base = f"(goods + {shipping})"
    item_tax = f"(CASE WHEN {included} AND {base} > 0 THEN {taxes} * goods / {base} ELSE 0.0 END)"
    share = (
        f"(CASE WHEN {included} THEN (goods - {item_tax}) / goods "
        f"WHEN {added} THEN goods / (goods + {taxes}) ELSE 1.0 END)"
    )
    return f"greatest(goods - {item_tax} - {refunded} * {share}, 0.0)"


def _order_columns(cols: dict[str, str | None]) -> dict[str, str]:
    """SQL of the staged ``ORDERS_SCHEMA`` columns over ``_GROUPED``, as the importer fills
    them (see :mod:`valuecast.io.shopify`)."""

    def first(key: str) -> str:
        return key if cols[key] is not None else "NULL"

    def zero(key: str) -> str:
        return _zero(cols, key)

    accepts = f"lower({first('accepts_marketing')})"
    # a placeholder e-mail is none: the order is a guest's (one with a phone is the importer's)
    email = f"CASE WHEN NOT {_placeholder(cols)} THEN {first('email')} END"
    total = "coalesce(total, subtotal)" if cols["total"] is not None else "subtotal"
    columns = {
        "order_number": "order_number",
        "customer_id": f"lower({email})",
        "email": email,
        "ordered_at": "created",
        "gross_revenue": total,
        "discount": zero("discount_amount"),
        "tax": zero("taxes"),
        "shipping": zero("shipping"),
        "refunded": zero("refunded"),
        "net_revenue": _items_net(cols, zero),
        "currency": f"upper({first('currency')})",
        "channel": first("source"),
        "discount_code": first("discount_code"),
        # consent to e-mail: an order without one states none (the importer's rule)
        "accepts_marketing": f"CASE WHEN ({email}) IS NULL THEN NULL "
        f"WHEN {accepts} IN {_sql_words(_TRUE)} THEN true "
        f"WHEN {accepts} IN {_sql_words(_FALSE)} THEN false END",
    }
    return {
        name: f"CAST({sql} AS {SQL_TYPES[ORDERS_SCHEMA[name]]})" for name, sql in columns.items()
    }


_DERIVED = {
    "order_id": "CAST(concat('shopify:', order_number) AS VARCHAR)",
    "source": "CAST('shopify' AS VARCHAR)",
    "is_guest": "CAST(customer_id IS NULL AS BOOLEAN)",
    "order_date": "CAST(date_trunc('day', ordered_at) AS TIMESTAMP)",
}
"""``ORDERS_SCHEMA`` columns computed where the staged orders are read (see ``StagedRows``)."""


def _stage(con: Any, cols: dict[str, str | None]) -> None:
    """The views ``STAGED_ORDERS`` (counted orders) and ``STAGED_LINES`` (their rows, numbered
    from 1 in file order within the order, when the export has line-item columns)."""
    columns = _order_columns(cols)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {orders_duckdb.STAGED_ORDERS} AS SELECT "
        + ", ".join(f"{sql} AS {name}" for name, sql in columns.items())
        + f" FROM {_GROUPED} WHERE reason IS NULL"
    )
    lines = cols["lineitem_name"] is not None or cols["lineitem_quantity"] is not None

    def line(key: str) -> str:
        return f"r.{key}" if cols[key] is not None else "NULL"

    discount = "coalesce(r.lineitem_discount, 0.0)" if cols["lineitem_discount"] else "0.0"
    # an order's rows are usually one run of the file's rows: its lines are then numbered by
    # their distance from its first row, without a window over every line (0.14 s against
    # 0.31 s for a 1M-order export's 1.3M lines, and less memory)
    runs = con.sql(
        f"SELECT coalesce(bool_and(last_row - first_row + 1 = rows), true) FROM {_GROUPED} "
        "WHERE reason IS NULL"
    ).fetchall()[0][0]
    number = (
        "r.rowid - g.first_row + 1"
        if runs
        else "row_number() OVER (PARTITION BY r.name ORDER BY r.rowid)"
    )
    # the items a refund of one line's items paid back are no purchase (shopify.returned_items)
    returned = lines and _returned_items(con, cols)
    quantity = f"CAST({line('lineitem_quantity')} AS DOUBLE)"
    if returned:
        quantity = f"{quantity} - coalesce(t.items, 0.0)"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {orders_duckdb.STAGED_LINES} AS SELECT "
        f"CAST('shopify:' || r.name AS VARCHAR) AS order_id, CAST({number} AS BIGINT) "
        "AS line_number, "
        f"CAST({line('lineitem_sku')} AS VARCHAR) AS sku, "
        f"CAST({line('lineitem_name')} AS VARCHAR) AS product_name, "
        f"CAST({quantity} AS DOUBLE) AS quantity, "
        f"CAST({line('lineitem_price')} AS DOUBLE) AS unit_price, "
        f"CAST({discount} AS DOUBLE) AS line_discount "
        f"FROM {_ROWS} r JOIN {_GROUPED} g ON r.name = g.order_number "
        + (f"LEFT JOIN {_RETURNED} t ON t.rowid = r.rowid " if returned else "")
        + f"WHERE g.reason IS NULL{'' if lines else ' AND false'}"
    )


def _notes(con: Any, cols: dict[str, str | None]) -> list[str]:
    """The importer's notes on the orders' placeholder e-mails and the counted orders' money
    (:mod:`valuecast.io.shopify`)."""
    net = _order_columns(cols)["net_revenue"]
    tolerance = repr(shopify.TAX_INCLUDED_TOLERANCE)
    # the shipping's part of a refund of items and shipping together (:func:`_items_and_...`)
    split = (
        f"(CASE WHEN shipping_refund THEN 0.0 ELSE {_zero(cols, 'refunded')} - "
        f"{_gift_cards_back(cols)} - item_refunded END)"
    )
    unpaid = [f"lower(financial_status) = '{status}'" for status in shopify.UNPAID_STATUSES]
    found = con.sql(
        "SELECT count(*) FILTER (WHERE gift_cards > 0), coalesce(sum(gift_cards), 0.0), "
        + "".join(f"count(*) FILTER (WHERE {status}), " for status in unpaid)
        + f"sum({net}) FILTER (WHERE {' OR '.join(unpaid)}), "
        f"count(*) FILTER (WHERE {_gift_card_refund(cols)}), "
        f"coalesce(sum({_gift_cards_back(cols)}) FILTER (WHERE {_gift_card_refund(cols)}), 0.0), "
        f"count(*) FILTER (WHERE {split} > {tolerance}), "
        f"coalesce(sum({split}) FILTER (WHERE {split} > {tolerance}), 0.0), "
        "count(*) FILTER (WHERE shipping_refund), "
        f"coalesce(sum({_zero(cols, 'refunded')}) FILTER (WHERE shipping_refund), 0.0), "
        f"{_zero_revenue_counts(cols)} "
        f"FROM {_GROUPED} WHERE reason IS NULL"
    ).fetchall()[0]
    sold, amount, *counts, revenue = found[:-9]
    gift_card_refunds, gift_card_refunded, split_refunds, split_shipping = found[-9:-5]
    shipping_refunds, shipping_refunded = found[-5:-3]
    per_status = dict(zip(shopify.UNPAID_STATUSES, map(int, counts), strict=True))
    placeholders = {}
    if cols["email"] is not None:  # every order's, as the importer counts them
        placeholders = dict(
            con.sql(
                f"SELECT lower(email), count(*) FROM {_GROUPED} WHERE {_placeholder(cols)} "
                "GROUP BY 1"
            ).fetchall()
        )
    return (
        _build.placeholder_email_note(placeholders)
        + shopify.gift_card_note(int(sold), float(amount))
        + shopify.unpaid_note(per_status, float(revenue or 0.0))
        + shopify.gift_card_refund_note(int(gift_card_refunds), float(gift_card_refunded))
        + shopify.items_and_shipping_refund_note(int(split_refunds), float(split_shipping))
        + shopify.shipping_refund_note(int(shipping_refunds), float(shipping_refunded))
        + shopify.zero_revenue_notes(*map(int, found[-3:]))
    )


def _zero_revenue_counts(cols: dict[str, str | None]) -> str:
    """SQL over the counted orders of ``_GROUPED``: how many are worth 0 under each reason of
    :func:`valuecast.io.shopify.zero_revenue_orders` (charged nothing, free goods, the others),
    operation for operation."""
    columns = _order_columns(cols)
    tolerance = repr(shopify.TAX_INCLUDED_TOLERANCE)
    charged_nothing = f"abs({columns['gross_revenue']}) < {tolerance}"
    worth_nothing = f"NOT ({charged_nothing}) AND {columns['net_revenue']} < {_build.ZERO_AMOUNT!r}"
    return (
        f"count(*) FILTER (WHERE {charged_nothing}), "
        f"count(*) FILTER (WHERE {worth_nothing} AND goods < {tolerance}), "
        f"count(*) FILTER (WHERE {worth_nothing} AND NOT goods < {tolerance})"
    )


def _read_contacts(cols: dict[str, str | None]) -> list[str]:
    """The keys of :data:`_CONTACTS` the export has."""
    return [key for key in _CONTACTS if cols[key] is not None]


def _plain_start(x: str) -> str:
    """SQL: the cell ``x`` begins with a printable ASCII character other than a space or an
    apostrophe (after one apostrophe, a spreadsheet's mark of text, as Shopify writes zips), so
    that the importer cleans it to a text; told by comparisons, without a pattern, as nearly
    every cell is."""
    return (
        f"(({x} >= '0' AND {x} < chr(127)) "
        f"OR ({x} >= concat(chr(39), '0') AND {x} < concat(chr(39), chr(127))))"
    )


def _gives(x: str) -> str:
    """SQL: the cell ``x`` (none as NULL) is a text once the importer cleans it (trimmed of
    whitespace, a leading apostrophe taken off): false for a cell of spaces alone, as to it;
    NULL where that depends on the importer's trim (a cell of control characters or Unicode
    spaces alone), which sends the file to the importer.  The patterns read only the cells that
    do not begin plainly (a CASE, so that DuckDB does not read them on every row)."""
    return (
        f"CASE WHEN {x} IS NULL THEN false WHEN {_plain_start(x)} THEN true "
        f"WHEN regexp_full_match({x}, '{_SURE_EMPTY}') THEN false "
        f"WHEN regexp_full_match({x}, '{_MAYBE_EMPTY}') THEN NULL ELSE true END"
    )


def _contact_row(cell: dict[str, str]) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """SQL over a row's cells (``cell``: key -> column, empty as none): per contact cell,
    whether it gives a text (``given_<column>``, :func:`_gives`); over those and the cells,
    ``contact``, the row's :data:`_CONTACT_PARTS` packed into one text as written (none where
    the row gives no contact field: Shopify writes them on an order's first row only), and
    ``contact_groups``, a bit per :data:`~valuecast.io.schema.CONTACT_GROUPS` the row gives;
    and the conditions that make the file the importer's (a cell :func:`_gives` cannot tell).

    A field is taken as :func:`valuecast.io._build.contact_columns` takes it within an order:
    the billing name, else the shipping name; the first phone; the billing address's fields
    where it gives any, else the shipping address's.  An order whose rows giving any pack
    different texts goes to the importer (:func:`_contact_rows_differ`)."""
    given = {key: cell[key] for key in _CONTACTS if key in cell}
    if not given:
        return {}, {}, []
    flag = {key: f"given_{column}" for key, column in given.items()}

    def any_of(keys: list[str]) -> str:
        return " OR ".join(flag[key] for key in keys if key in flag) or "false"

    def first(*keys: str) -> str:
        found = [key for key in keys if key in given]
        taken = " ".join(f"WHEN {flag[key]} THEN {given[key]}" for key in found)
        return f"CASE {taken} END" if found else "NULL"

    billing = [f"billing_{key}" for key in ADDRESS_FIELDS]
    shipping = [f"shipping_{key}" for key in ADDRESS_FIELDS]
    parts = {"name": first("billing_name", "shipping_name"), "phone": first(*_PHONES)}
    for key in ADDRESS_FIELDS:
        parts[key] = (
            f"CASE WHEN {any_of(billing)} THEN {given.get(f'billing_{key}', 'NULL')} "
            f"ELSE {given.get(f'shipping_{key}', 'NULL')} END"
        )
    groups = [["billing_name", "shipping_name"], list(_PHONES), billing + shipping]
    packed = ", ".join(f"coalesce({parts[name]}, '')" for name in _CONTACT_PARTS)
    row = {
        "contact_groups": " | ".join(
            f"(CASE WHEN {any_of(keys)} THEN {1 << index} ELSE 0 END)::UTINYINT"
            for index, keys in enumerate(groups)
        ),
        "contact": f"CASE WHEN {any_of(list(given))} THEN concat_ws({_SEPARATOR}, {packed}) END",
    }
    columns = dict.fromkeys(given.values())
    cells = {f"given_{column}": _gives(column) for column in columns}
    return cells, row, [f"given_{column} IS NULL" for column in columns]


def _latest_contacts(con: Any, cols: dict[str, str | None]) -> tuple[bool, pa.Table | None]:
    """Whether DuckDB may take the orders' contacts, and :func:`valuecast.io._build.latest_contacts`
    of the counted orders (an Arrow table, None where no order gives any): each customer's latest
    order giving a name, a phone, an address.

    The orders are chosen on their cells as the importer reads them (:func:`_gives`), and only
    the chosen rows' fields are cleaned, by the importer's own cleaning and name split; a field
    holding the packing's separator sends the file to the importer."""
    if not _read_contacts(cols):
        return True, None
    if _contact_rows_differ(con):
        return False, None
    rows = _latest_contact_rows(con, cols)
    if rows is None:
        return False, None
    found = con.sql(
        f"SELECT CAST(concat('shopify:', name) AS VARCHAR) AS order_id, contact FROM {_ROWS} "
        f"WHERE rowid IN (SELECT contact_row FROM {rows})"
    ).to_arrow_table()
    con.execute(f"DROP TABLE {rows}")
    if not found.num_rows:
        return True, None
    packed = found.column("contact")
    separators = len(_CONTACT_PARTS) - 1
    if not pc.all(pc.equal(pc.count_substring(packed, "\x1f"), separators)).as_py():
        return False, None
    parts = pc.split_pattern(packed, "\x1f")
    fields = {
        name: csvfile.clean_text(pc.list_element(parts, index)).cast(pa.string())
        for index, name in enumerate(_CONTACT_PARTS)
    }
    first, last = _build.split_names(_build.string_series(fields.pop("name")))
    contacts = pa.table(
        {
            "order_id": found.column("order_id").cast(pa.string()),
            "first_name": pa.array(first, pa.string()),
            "last_name": pa.array(last, pa.string()),
            **{name: fields[name] for name in ORDER_CONTACTS_SCHEMA if name in fields},
        }
    )
    return True, contacts.select(list(ORDER_CONTACTS_SCHEMA))


def _latest_contact_rows(con: Any, cols: dict[str, str | None]) -> str | None:
    """A temporary table of the rows (``contact_row``) of each customer's latest counted orders
    giving a name, a phone, an address: latest by ``created``, then by order number, as the
    workspace reads them; None where a row's position does not fit the key.

    Each is found on one integer per order, its second of ``created`` above its row's position
    (two maxima tell whether another order shares that second: their rows then differ); the
    customers with such ties are compared on the order numbers too."""
    limit = 1 << _ROW_BITS
    if con.sql(f"SELECT count(*) FROM {_ROWS}").fetchall()[0][0] >= limit:
        return None
    customer = _order_columns(cols)["customer_id"]
    second = f"((epoch_us(created) // 1000000) << {_ROW_BITS})"
    ends, chosen, tied = [], [], []
    for index in range(len(CONTACT_GROUPS)):
        gives = f"FILTER (WHERE contact_groups & {1 << index} > 0)"
        ends.append(f"max({second} | contact_row) {gives} AS last{index}")
        ends.append(f"max({second} | ({limit - 1} - contact_row)) {gives} AS first{index}")
        chosen.append(f"last{index} & {limit - 1}")
        tied.append(f"last{index} & {limit - 1} <> {limit - 1} - (first{index} & {limit - 1})")
    counted = f"FROM {_GROUPED} WHERE reason IS NULL AND contact_row IS NOT NULL"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {_CONTACT_ENDS} AS
        SELECT [{", ".join(chosen)}] AS rows, CASE WHEN {" OR ".join(tied)} THEN customer END
            AS tied
        FROM (SELECT {customer} AS customer, {", ".join(ends)} {counted}
            GROUP BY customer HAVING customer IS NOT NULL)"""
    )
    latest = "{'at': created, 'n': length(order_number), 'id': order_number}"  # 9 before 10
    picked = ", ".join(
        f"arg_max(contact_row, {latest}) FILTER (WHERE contact_groups & {1 << index} > 0)"
        for index in range(len(CONTACT_GROUPS))
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {_CONTACT_ROWS} AS
        SELECT DISTINCT unnest(rows) AS contact_row FROM {_CONTACT_ENDS} WHERE tied IS NULL
        UNION
        SELECT unnest([{picked}]) AS contact_row {counted}
            AND {customer} IN (SELECT tied FROM {_CONTACT_ENDS} WHERE tied IS NOT NULL)
            GROUP BY {customer}"""
    )
    con.execute(f"DROP TABLE {_CONTACT_ENDS}")
    return _CONTACT_ROWS


def _contact_rows_differ(con: Any) -> bool:
    """Whether an order's rows give contact fields (``contact``) that differ: the importer takes
    each field from the first row giving it, which DuckDB takes only where its rows agree (an
    order has one such row as Shopify writes it)."""
    several = f"SELECT order_number FROM {_GROUPED} WHERE contact_rows > 1"
    if not con.sql(f"SELECT count(*) FROM ({several})").fetchall()[0][0]:
        return False
    return bool(
        con.sql(
            f"SELECT coalesce(bool_or(differ), false) FROM (SELECT NOT "
            f"{orders_duckdb.at_most_one('contact')} AS differ FROM {_ROWS} "
            f"WHERE contact IS NOT NULL AND name IN ({several}) GROUP BY name)"
        ).fetchall()[0][0]
    )


@dataclass
class PendingShopify(orders_duckdb.PendingOrders):
    """A Shopify orders export read at ingest: DuckDB stages it on the workspace's connection
    (:meth:`load`), or, where that is not certain to equal the importer, the importer reads it
    (:meth:`read`)."""

    _LEFT = (_VIEWS, _TABLES)
    _contacts: pa.Table | None = field(default=None, init=False, repr=False, compare=False)
    """The orders' contacts :meth:`_parse` found (:func:`_latest_contacts`), for :meth:`_staged`."""

    def _import(self) -> ImportResult:
        return shopify.read_orders(self.source)

    def _parse(self, con: Any) -> bool:
        if not (_load_rows(con, self.source, self.cols) and _group_orders(con, self.cols)):
            return False
        usable, self._contacts = _latest_contacts(con, self.cols)
        if usable and _read_contacts(self.cols):
            # the rows' packed contacts are read: their memory goes to the stage that follows
            con.execute(f"ALTER TABLE {_ROWS} DROP COLUMN contact")
        return usable

    def _staged(self, con: Any) -> ImportResult:
        cols = self.cols
        _stage(con, cols)
        n_rows, named = con.sql(
            f"SELECT count(*), count(*) FILTER (WHERE name IS NOT NULL) FROM {_ROWS}"
        ).fetchall()[0]
        n_orders = con.sql(f"SELECT count(*) FROM {_GROUPED}").fetchall()[0][0]
        columns = _order_columns(cols)
        result = self._result(
            con, "shopify",
            f"SELECT order_number, concat('shopify:', order_number) AS order_id, reason, rows, "
            f"{columns['gross_revenue']} AS gross_revenue, {columns['currency']} AS currency, "
            f"first_row FROM {_GROUPED} WHERE reason IS NOT NULL",
            n_rows, n_rows - named, n_orders, _DERIVED,
        )  # fmt: skip
        result.notes.extend(_notes(con, cols))
        if any(cols[key] is not None for key in _PHONES):
            # the phones e-mail orders carry, as written: normalising every one would cost
            # seconds at a million orders, and only those a customer known by phone alone
            # may share are ever needed (valuecast.store.workspace normalises those)
            cells = con.sql(
                f"SELECT DISTINCT lower(email) AS customer_id, phone_text AS phone, "
                f"CAST(country_text AS VARCHAR) AS country FROM {_ROWS} "
                f"WHERE {_EMAILED} AND phone_text IS NOT NULL"
            ).to_arrow_table()
            result.phone_cells = cells if cells.num_rows else None
        result.order_contacts, self._contacts = self._contacts, None
        return result
