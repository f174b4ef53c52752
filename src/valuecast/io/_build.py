"""Helpers the importers share: grouping rows into orders, and assembling an ImportResult."""

from __future__ import annotations

import re
import zoneinfo
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from valuecast.io.csvfile import Table, currency_code
from valuecast.io.phones import INVISIBLE, cell_text, phone_ids, spoiled_phone, unusable_phone
from valuecast.io.schema import (
    ADDRESS_FIELDS,
    CUSTOMERS_SCHEMA,
    MAX_AMOUNT,
    ORDER_CONTACTS_SCHEMA,
    ORDER_LINES_SCHEMA,
    ORDERS_SCHEMA,
    ImportResult,
    InputError,
    amount_text,
    conform,
    empty_frame,
)
from valuecast.tables import NAME_PARTICLES, NAME_SUFFIXES, NAME_TITLES

EMPTY_ROW = "empty row"
NEGATIVE_AMOUNT = "negative amount"
CANCELLATION = "cancellation"  # an order of returned lines only (a cancellation invoice)
REFUNDED = "refunded"
SHIPPING_ALONE = "shipping alone"  # a line-level order of shipping lines only: nothing sold
SQL_NULLS = frozenset({"NULL", "\\N"})
"""How dumps of a platform's own tables write a NULL cell: phpMyAdmin and database clients
``NULL`` (quoted or not), ``mysqldump --tab`` ``\\N``. No column of Magento's ``sales_order`` or
WooCommerce's ``wc_orders`` holds these words as a value."""
ZERO_AMOUNT = 0.005
"""Half a cent: an order whose rows, a refund among them, add up to less than this either way
is refunded in full (sums of decimal amounts in binary floating point miss zero by ~1e-15)."""

# Order dates outside [EARLIEST_ORDER_DATE, today + FUTURE_TOLERANCE_DAYS] are errors: before 1990
# is a placeholder (1970-01-01, 1900-01-01) or a typo, not an online order, and a date in the
# future is a typo or a wrong clock; either would silently move every customer's recency and T.
# The tolerance covers time zones ahead of this machine's (the date is the shop's wall-clock).
EARLIEST_ORDER_DATE = np.datetime64("1990-01-01", "us")
FUTURE_TOLERANCE_DAYS = 1


def latest_order_date() -> np.datetime64:
    """The first instant that is too late for an order: the start of the day after tomorrow."""
    today = np.datetime64(pd.Timestamp.now().date(), "D")
    return (today + np.timedelta64(FUTURE_TOLERANCE_DAYS + 1, "D")).astype("datetime64[us]")


def check_order_dates(table: Table, stamps: np.ndarray, column: str | None) -> None:
    """Raise on the first order date (one per row) before 1990 or after tomorrow."""
    if column is None or len(stamps) == 0:
        return
    stamps = np.asarray(stamps).astype("datetime64[us]")
    present = ~np.isnat(stamps)
    early = present & (stamps < EARLIEST_ORDER_DATE)
    late = present & (stamps >= latest_order_date())
    if not (early.any() or late.any()):
        return
    position = int(np.flatnonzero(early | late)[0])
    written = str(stamps[position].astype("datetime64[s]")).replace("T", " ")
    if written.endswith(" 00:00:00"):  # a date without a time of day, or midnight: the day
        written = written[: -len(" 00:00:00")]
    if early[position]:
        message = f"order date {written} is before 1990: not a plausible order date"
    else:
        today = pd.Timestamp.now().date().isoformat()
        message = f"order date {written} is in the future (today is {today})"
    raise table.error(message, position, column)


def check_stored_amounts(result: ImportResult) -> None:
    """Every order's net revenue as it is stored (its parts combined, converted with ``--fx``)
    lies within ``MAX_AMOUNT`` either way, as each amount read does: refuse the first order
    beyond it by its number (no single cell holds the amount)."""
    net = result.orders["net_revenue"].to_numpy(float)
    beyond = np.flatnonzero(np.abs(net) > MAX_AMOUNT)
    if len(beyond):
        number = result.orders["order_number"].iloc[int(beyond[0])]
        raise InputError(
            result.file,
            f"order {number}: net revenue {amount_text(net[beyond[0]])} is out of range "
            f"(more than {MAX_AMOUNT:,.0f} either way): not a plausible amount",
        )


def check_order_level(
    table: Table,
    values: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    column: str | None,
    names: pd.Series | np.ndarray,
) -> None:
    """Raise when an order's rows give different values for an order-level amount.

    Rows of one order (same ``codes``) may leave an order-level cell empty (Shopify writes it on
    the first row only) or repeat it (one row per item), but two different values mean two
    versions of the order in one file (e.g. two exports pasted together): which total is right
    cannot be told, so the second value's row is named rather than one silently kept.
    """
    if column is None or len(values) == 0:
        return

    def differ(rows: np.ndarray, firsts: np.ndarray) -> np.ndarray:
        reference = values[firsts]
        return np.abs(values[rows] - reference) > 1e-9 * np.maximum(1.0, np.abs(reference))

    found = first_disagreement(codes, n_groups, ~np.isnan(values) & (codes >= 0), differ)
    if found is not None:
        raise two_versions(
            table, found, codes, names, column, "a different amount", lambda at: f"{values[at]:.2f}"
        )


def two_versions(
    table: Table,
    found: tuple[int, int],
    codes: np.ndarray,
    names: pd.Series | np.ndarray,
    column: str | None,
    what: str,
    shown: Callable[[int], str],
) -> InputError:
    """The error for an order whose rows disagree (``found``: :func:`first_disagreement`'s
    row and its order's first row), naming the second value's row; ``what`` says what differs
    (``"a different amount"``) and ``shown`` writes the value at a row."""
    position, first = found
    name = np.asarray(names, dtype=object)[codes[position]]
    return table.error(
        f"order {name!s} appears again with {what} ({shown(position)}; {shown(first)} on row "
        f"{table.row(first)}): two versions of one order in one file",
        position,
        column,
    )


def first_disagreement(
    codes: np.ndarray,
    n_groups: int,
    valid: np.ndarray,
    differ: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> tuple[int, int] | None:
    """The first ``valid`` row whose value disagrees with its group's first ``valid`` row, and
    that first row (positions), or None when every group agrees.  ``differ(rows, firsts)``
    compares the rows' values with those at their groups' first rows."""
    firsts = first_positions(codes, n_groups, valid)
    rows = np.flatnonzero(valid)
    differs = differ(rows, firsts[codes[rows]])
    if not differs.any():
        return None
    position = int(rows[np.flatnonzero(differs)[0]])
    return position, int(firsts[codes[position]])


def check_order_level_text(
    table: Table,
    column: str | None,
    codes: np.ndarray,
    n_groups: int,
    names: pd.Series | np.ndarray,
    what: str,
    clean: Callable[[pd.Series], pd.Series] = lambda values: values,
) -> None:
    """Raise when an order's rows give different texts (``clean``-ed) for an order-level field
    such as its status: as :func:`check_order_level` for amounts, empty cells aside."""
    if column is None or len(codes) == 0:
        return
    values = table.text(column)
    valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), bool) & (codes >= 0)
    if np.bincount(codes[valid], minlength=n_groups).max(initial=0) < 2:
        return  # no order has two rows stating it
    text = per_distinct(pd.Series(values.to_pandas(), dtype="string"), clean).to_numpy(object)
    found = first_disagreement(
        codes, n_groups, valid, lambda rows, firsts: text[rows] != text[firsts]
    )
    if found is not None:
        raise two_versions(
            table, found, codes, names, column, f"another {what}", lambda at: str(text[at])
        )


def check_not_negative(table: Table, values: np.ndarray, column: str | None) -> None:
    """Raise on the first negative value of a column of amounts taken off an order (refunds).

    Such a column is subtracted from revenue, so a negative value would silently add to it;
    which sign the export meant cannot be told, so the row is named rather than the sign dropped.
    """
    if column is None or len(values) == 0:
        return
    negative = np.flatnonzero(np.nan_to_num(values, nan=0.0) < 0)
    if len(negative) == 0:
        return
    position = int(negative[0])
    raise table.error(
        f"negative amount {values[position]:.2f}: a refund is written as a positive amount",
        position,
        column,
    )


def first_positions(
    codes: np.ndarray, n_groups: int, valid: np.ndarray | None = None
) -> np.ndarray:
    """Per group, the position of its first row (first row where ``valid``), -1 when none."""
    out = np.full(n_groups, -1, dtype=np.int64)
    if valid is not None and valid.all():  # most columns: every row counts
        valid = None
    rows = np.arange(len(codes)) if valid is None else np.flatnonzero(valid)
    if len(rows):
        group = codes if valid is None else codes[rows]
        if group.min() < 0:  # rows of no group: the filter copies both (~10 ms for 1.5M rows)
            keep = group >= 0
            rows, group = rows[keep], group[keep]
        # assigning in reverse row order leaves each group's first row (last write wins)
        out[group[::-1]] = rows[::-1]
    return out


def take(values: np.ndarray | pd.Series, positions: np.ndarray, fill: object = np.nan):
    """``values[positions]`` with ``fill`` where the position is -1."""
    if isinstance(values, pd.Series):
        result = values.iloc[np.maximum(positions, 0)].reset_index(drop=True)
        result[positions < 0] = pd.NA
        return result
    values = np.asarray(values)
    if len(values) == 0:
        return np.full(len(positions), fill, dtype=values.dtype)
    result = values[np.maximum(positions, 0)].copy()
    result[positions < 0] = fill
    return result


def group_first(table: Table, codes: np.ndarray, n_groups: int, column: str | None) -> pd.Series:
    """Per order, the first non-empty cleaned text of ``column`` (<NA> when none)."""
    if column is None:
        return pd.Series(pd.NA, index=range(n_groups), dtype="string")
    values = table.text(column)
    valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), bool)
    positions = first_positions(codes, n_groups, valid)
    picked = values.take(pa.array(np.maximum(positions, 0)))
    series = pd.Series(picked.to_pandas(), dtype="string").reset_index(drop=True)
    series[positions < 0] = pd.NA
    return series


def text_at(
    text: pa.ChunkedArray | pa.Array, positions: np.ndarray
) -> pd.api.extensions.ExtensionArray:
    """The cells of ``text`` at ``positions`` as pandas' Arrow-backed text, which ``conform``
    keeps: Python strings, one a line and column, would hold ~0.2 GB at a million lines only to
    be made Arrow text again."""
    return pd.array(text.take(pa.array(positions)), dtype=_STRING)


def currency_column(cells: pd.Series) -> pd.Series:
    """A currency column's cells as codes (``eur``, ``€`` -> ``EUR``; :func:`currency_code`),
    once per distinct cell."""
    return per_distinct(
        cells, lambda text: text.map(currency_code, na_action="ignore").astype("string")
    )


def currency_with_amounts(currency: pd.Series, written: str | None) -> tuple[pd.Series, list[str]]:
    """Per order, its currency (``currency``: the currency column's code) where the amounts are
    written in ``written`` (:meth:`Table.written_currency`): an empty cell takes it; and a note
    when the column names another for some orders (their column's currency is kept)."""
    if written is None:
        return currency, []
    differs = currency.notna() & (currency != written)
    other = int(differs.sum())
    notes = []
    if other:
        named = ", ".join(sorted(set(currency[differs])))
        notes.append(
            f"{other:,} {'order' if other == 1 else 'orders'} in {named} by the currency column "
            f"{'has' if other == 1 else 'have'} amounts written in {written}: read as "
            f"{named}; if that is wrong, correct the currency column"
        )
    return currency.fillna(written), notes


def per_distinct(values: pd.Series, transform: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``transform(values)`` computed once per distinct value and spread back (missing values
    too): an export repeats a few statuses, currencies and gateways over a million orders, and
    pandas' text methods cost about 0.1-0.5 s per million cells."""
    codes, uniques = pd.factorize(values)
    missing = next(iter(values[values.isna()].head(1)), pd.NA)  # None, NaN or <NA> as given
    distinct = pd.Series([*uniques, missing], dtype=values.dtype)
    done = transform(distinct)
    picked = np.where(codes < 0, len(uniques), codes)
    return done.iloc[picked].set_axis(values.index)


def group_first_values(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Per order, the first non-missing (non-NaN / non-NaT) value; missing when none."""
    valid = ~pd.isna(values)
    positions = first_positions(codes, n_groups, valid)
    fill = np.datetime64("NaT") if values.dtype.kind == "M" else np.nan
    return take(values, positions, fill)


PLACEHOLDER_LOCAL_PARTS = (
    "noemail", "nomail", "noemailaddress", "noemailprovided", "noemailgiven", "noaddress",
    "none", "nobody", "noone", "noreply", "donotreply", "dontreply", "null", "nil", "na",
    "unknown", "notprovided", "notgiven", "notavailable", "dummy", "fake", "placeholder",
    "walkin", "cashsale", "customer", "pos", "test", "email", "example", "guest", "anonymous",
)  # fmt: skip
"""Local parts (lower-case, without separators) of the addresses shops type where a phone or
in-store customer gave none (``noemail@shop.com``, ``no-reply@``, ``N/A@na.com``, ``pos@``,
``test@test.com``, ``email@example.com``, ``guest@myshop.com``): such an address names no one,
and taken as an id it made one "customer" of every order typed with it."""

_SEPARATOR = "[-._/]?"
_PLACEHOLDER_WORDS = "|".join(
    _SEPARATOR.join(re.escape(letter) for letter in word) for word in PLACEHOLDER_LOCAL_PARTS
)
PLACEHOLDER_ADDRESS = rf"(?i)^(?:{_PLACEHOLDER_WORDS})[0-9]*(?:\+[^@]*)?(?:@|$)"
"""An RE2 pattern (Arrow's and DuckDB's regular expressions alike) of a placeholder address: a
:data:`PLACEHOLDER_LOCAL_PARTS` word, in any case, its letters perhaps parted by ``-``, ``.``,
``_`` or ``/`` (``no-email``, ``n/a``), perhaps numbered (``pos2``, a till) or tagged
(``noemail+17``), then the ``@`` or nothing (a cell of the word alone)."""


def placeholder_addresses(addresses: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Per cell, whether it is a placeholder address (:data:`PLACEHOLDER_ADDRESS`); False for
    an empty one.  One pass of a regular expression, which SQL applies alike
    (:func:`placeholder_address_sql`)."""
    matched = pc.match_substring_regex(addresses, PLACEHOLDER_ADDRESS)
    return np.asarray(pc.fill_null(matched, False).to_numpy(zero_copy_only=False), bool)


def placeholder_address_sql(cell: str) -> str:
    """SQL: the text ``cell`` is a placeholder address (:func:`placeholder_addresses`); false
    where null."""
    return f"coalesce(regexp_matches({cell}, '{PLACEHOLDER_ADDRESS}'), false)"


def placeholder_emails(cells: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Per cell of an e-mail column, whether it names no one: a cell without ``@`` (``-``,
    ``x``, ``no email``), which is no address, or a placeholder address
    (:func:`placeholder_addresses`); False for an empty one.  SQL applies it alike
    (:func:`placeholder_email_sql`)."""
    unaddressed = pc.invert(pc.match_substring(cells, "@"))
    no_address = np.asarray(pc.fill_null(unaddressed, False).to_numpy(zero_copy_only=False), bool)
    return no_address | placeholder_addresses(cells)


def placeholder_email_sql(cell: str) -> str:
    """SQL: the text ``cell`` of an e-mail column names no one (:func:`placeholder_emails`);
    false where null."""
    return f"(coalesce(NOT contains({cell}, '@'), false) OR {placeholder_address_sql(cell)})"


def placeholder_email_note(counts: Mapping[str, int], by_phone: int = 0) -> list[str]:
    """The ingest note on the orders whose e-mail is a placeholder (``counts``: per address as
    compared, lower-cased, its orders), ``by_phone`` of them told by their phone: none is a
    customer's e-mail, nor sent to an e-mail tool."""
    total = sum(counts.values())
    if not total:
        return []
    one = total == 1
    guests = total - by_phone
    if not by_phone:
        who = "read as a guest order" if one else "read as guest orders"
    elif not guests:
        who = "told by its phone" if one else "told by their phones"
    else:
        phones = "its phone" if by_phone == 1 else "their phones"
        who = f"{by_phone:,} told by {phones}, the other {guests:,} read as guest orders"
    return [
        f"{total:,} {'order carries' if one else 'orders carry'} a placeholder e-mail "
        f"({_most_used(counts)}), no customer's address: {who}"
    ]


def placeholder_rows_note(counts: Mapping[str, int]) -> list[str]:
    """The note counting the rows whose e-mail cell is a placeholder address (``counts``: per
    address, lower-cased, its rows), read as no e-mail: a row without a customer cell is not
    named by it, and no audience file sends it."""
    rows = sum(counts.values())
    if not rows:
        return []
    one = rows == 1
    return [
        f"{rows:,} {'row carries' if one else 'rows carry'} a placeholder e-mail "
        f"({_most_used(counts)}), no customer's address: read as no e-mail"
    ]


def _most_used(counts: Mapping[str, int]) -> str:
    """The five placeholder addresses used most, each with its count, and how many more."""
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    listed = ", ".join(f"{address!r} ({count:,})" for address, count in ranked[:5])
    return listed + (f" and {len(ranked) - 5:,} more" if len(ranked) > 5 else "")


_HIDDEN = f"[{INVISIBLE}]"
_JOINERS = "[\u200c\u200d]"
"""The zero-width non-joiner and joiner: they shape the letters of some scripts' names, and are
no part of an e-mail address."""


def visible_ids(cells: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """Customer id or e-mail cells (trimmed, empty as null) as a merchant sees them: in NFC,
    without the characters that show nothing (:data:`~valuecast.io.phones.INVISIBLE`, which a
    cell copied from a web page or a spreadsheet carries), an address (a cell holding ``@``)
    also without a zero-width (non-)joiner, and trimmed again; null where nothing is left.

    ``ann@x.com`` and ``ann@x.com`` with a zero-width space after it look alike in every
    export and are one customer, as the audience files send them as one address.  Cells of
    ASCII alone, the usual ones, are returned as given after one cheap pass."""
    if isinstance(cells, pa.Array):
        cells = pa.chunked_array([cells])
    if pc.all(pc.string_is_ascii(cells)).as_py() is not False:
        return cells
    text = pc.replace_substring_regex(pc.utf8_normalize(cells, "NFC"), _HIDDEN, "")
    address = pc.fill_null(pc.match_substring(text, "@"), False)
    text = pc.if_else(address, pc.replace_substring_regex(text, _JOINERS, ""), text)
    text = pc.utf8_trim_whitespace(text)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)


def emails(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(email trimmed, customer_id = trimmed lower-cased email or <NA>, is_guest); both
    without the characters that show nothing (:func:`visible_ids`)."""
    email = raw.astype("string").str.strip()
    email = email.mask(email == "", pd.NA)
    cells = pa.array(email, type=pa.large_string())
    if pc.all(pc.string_is_ascii(cells)).as_py() is False:  # a character may hide among them
        email = string_series(visible_ids(cells)).astype("string").set_axis(email.index)
    customer_id = email.str.lower()
    return email, customer_id, customer_id.isna().astype("boolean")


class Identities(NamedTuple):
    """Who placed each order: the e-mail as written, the customer id, whether it is a guest order,
    and how many phone-only orders were given the e-mail customer their phone belongs to."""

    email: pd.Series
    customer_id: pd.Series
    is_guest: pd.Series
    linked_by_phone: int
    spoiled_phones: int = 0
    """Orders without e-mail whose phone a spreadsheet wrote as ``1.56E+10`` (guest orders)."""
    phone_links: pd.DataFrame | None = None
    """The file's distinct (``phone_id``, ``customer_id``) pairs (:func:`phone_links`)."""
    placeholders: Mapping[str, int] | None = None
    """The e-mail cells read as no e-mail (:func:`placeholder_emails`), lower-cased, with their
    orders."""
    placeholders_by_phone: int = 0
    """Of those orders, the ones told by their phone."""
    placeholder: np.ndarray | None = None
    """Per order, whether its e-mail cell names no one (:func:`placeholder_emails`)."""
    placeholder_phones: Mapping[str, int] | None = None
    """Of the orders without e-mail, the phone cells that tell no one
    (:func:`placeholder_phone_cells`), with their orders (guest orders)."""


def identities(
    email_cells: pd.Series,
    phone_cells: pd.Series | None = None,
    countries: pd.Series | None = None,
) -> Identities:
    """Each order's customer: its e-mail, else its phone (:mod:`valuecast.io.phones`), else none.

    The e-mail wins when an order has both. A phone that orders with an e-mail carry belongs to
    that customer when they all carry the same e-mail, so the same phone's orders without an
    e-mail join them (a cash-on-delivery customer who gave an e-mail once); a phone seen with
    two e-mails (a household, a shared office line) links nothing and stays its own customer.
    A placeholder address (``noemail@shop.com``: :data:`PLACEHOLDER_ADDRESS`) or a cell
    without ``@`` (``-``, ``no email``: :func:`placeholder_emails`) is no e-mail: its order is
    told by its phone, else a guest's, and counted by address in a note.
    """
    email, customer_id, _ = emails(email_cells)
    placeholder = placeholder_emails(pa.array(customer_id, type=pa.large_string()))
    counts: dict[str, int] = {}
    if placeholder.any():  # an order without e-mail: its phone's, else a guest's
        counts = {str(k): int(v) for k, v in customer_id[placeholder].value_counts().items()}
        email, customer_id = email.mask(placeholder), customer_id.mask(placeholder)
    linked = spoiled = 0
    links = None
    unusable: dict[str, int] = {}
    if phone_cells is not None:
        without_email = customer_id.isna().to_numpy(bool)
        written = phone_cells.reset_index(drop=True)[without_email].dropna()
        spoiled = int(per_distinct(written, lambda cells: cells.map(spoiled_phone)).sum())
        ids = phone_ids(phone_cells, countries)
        unusable = placeholder_phone_cells(phone_cells, countries, without_email & ids.isna())
        customer_id, linked, links = with_phones(customer_id, ids)
    by_phone = int(customer_id[placeholder].notna().sum()) if counts else 0
    return Identities(
        email,
        customer_id,
        customer_id.isna().astype("boolean"),
        linked,
        spoiled,
        links,
        counts,
        by_phone,
        placeholder,
        unusable,
    )


def placeholder_phone_cells(
    phones: pd.Series, countries: pd.Series | None, rows: np.ndarray
) -> dict[str, int]:
    """Of the phone cells at ``rows`` (a mask: those of orders without a customer of their
    own, and without a phone id, which a usable number has), the ones giving a number's digits
    that tell no one, a placeholder (:func:`valuecast.io.phones.unusable_phone`), as written,
    with their rows.  Each distinct
    (phone, country) pair is looked at once."""
    pairs = pd.DataFrame(
        {
            "phone": phones.astype("string").reset_index(drop=True),
            "country": pd.Series(pd.NA, index=range(len(phones)), dtype="string")
            if countries is None
            else countries.astype("string").reset_index(drop=True),
        }
    )[np.asarray(rows, bool)]
    pairs = pairs[pairs["phone"].notna().to_numpy(bool)]
    found: Counter[str] = Counter()
    for (phone, country), count in pairs.value_counts(dropna=False).items():
        if unusable_phone(phone, None if pd.isna(country) else country):
            found[cell_text(phone)] += int(count)
    return dict(found)


def placeholder_phone_note(
    counts: Mapping[str, int], unit: str = "order", without: str = "e-mail"
) -> list[str]:
    """The ingest note on the orders (or rows) without e-mail (or ``without`` another
    identity) whose phone tells no one (``counts``: :func:`placeholder_phone_cells`): none is
    a customer's number, nor sent to an ad platform."""
    total = sum(counts.values())
    if not total:
        return []
    one = total == 1
    return [
        f"{total:,} {unit if one else unit + 's'} without {without} "
        f"{'carries' if one else 'carry'} a placeholder phone "
        f"({_most_used(counts)}), no customer's number: read as "
        f"{'a guest order' if one else 'guest orders'}"
    ]


class Accounts(NamedTuple):
    """:func:`accounts`' result."""

    email: pd.Series
    """Each order's e-mail cell as its customer is known by (<NA> for none)."""
    notes: list[str]
    addresses: pd.Series | None = None
    """:func:`comparable_addresses` of the e-mail cells, where they were read (for
    :func:`with_written_emails`)."""


def accounts(
    users: pd.Series,
    email_cells: pd.Series,
    ordered_at: np.ndarray,
    other_addresses: pd.Series | None = None,
    id_column: str | None = None,
) -> Accounts:
    """Each order's e-mail as its customer is known by, for :func:`identities`: a registered
    customer (``users``, the platform's account id; empty or ``0`` for a guest) by one address
    for all of their orders, whatever e-mail each order gives, and a guest order by the account
    whose orders carry its address (a registered customer checking out as a guest), else by
    its own.

    An account's address is the e-mail of its latest order that gives one (the address the
    customer uses now). An address the orders of two accounts carry (a shared inbox) joins a
    guest order to neither. ``other_addresses`` are more addresses each order carries (a
    billing e-mail beside the account's), which a guest order's joins by too; ``id_column``
    names the account id in the notes. An account whose orders carry more than
    :data:`SHARED_ACCOUNT_ADDRESSES` addresses is a shared one (a till's), whose orders are
    read as a guest's, each by its own address, and a note counts such accounts."""
    # on whole-number codes of the distinct ids and addresses: pandas' maps and de-duplications
    # of the text took ~3 s at a million orders of 330,000 accounts, the codes ~0.5 s
    if not _any_account(users):  # a shop of guests, or an export without the ids
        return Accounts(email_cells, [])
    address = comparable_addresses(email_cells)
    carried = (
        [address] if other_addresses is None else [address, comparable_addresses(other_addresses)]
    )
    codes, names = pd.factorize(pd.concat(carried, ignore_index=True))
    address_code, other_code = codes[: len(address)], codes[len(address) :]
    user_code, shared = _account_codes(users, address_code)
    shared_notes = shared_accounts_note(shared, id_column or "account id")
    registered = user_code >= 0
    if not registered.any():
        return Accounts(email_cells, shared_notes, address)
    # an account's address: the e-mail of its latest order giving one (the last in time, the
    # last row of equal times)
    ordered_at = np.asarray(ordered_at)
    latest = np.full(int(user_code.max()) + 1, -1, dtype=np.int64)
    given = np.flatnonzero(registered & (address_code >= 0))
    newest_first = given[np.argsort(ordered_at[given], kind="stable")][::-1]
    users_given, last = np.unique(user_code[newest_first], return_index=True)
    latest[users_given] = address_code[newest_first[last]]
    account = np.where(registered, latest[np.maximum(user_code, 0)], -1)
    # the account each address the accounts' orders carry belongs to: one account only
    carried_code = [address_code] if not len(other_code) else [address_code, other_code]
    linked = np.concatenate([code[registered] for code in carried_code])
    claimed = np.tile(account[registered], len(carried_code))
    kept = (linked >= 0) & (claimed >= 0)
    addresses, accounts_of = _distinct_pairs(linked[kept], claimed[kept])
    owner = np.full(len(names) + 1, -1, dtype=np.int64)
    each, first, count = np.unique(addresses, return_index=True, return_counts=True)
    owner[each] = np.where(count == 1, accounts_of[first], -1)
    guest = ~registered & (address_code >= 0)
    owned = np.where(guest, owner[address_code], -1)
    # an order no account claims keeps its cell, which identities() reads (a placeholder too)
    known_as = np.where(account >= 0, account, owned)
    email = email_cells.astype("string")
    rows = np.flatnonzero(known_as >= 0)
    email.iloc[rows] = names.take(known_as[rows]).to_numpy(dtype=object)
    moved = (address_code >= 0) & (account >= 0) & (address_code != account)
    notes = account_notes(int(moved.sum()), int((owned >= 0).sum()), id_column or "account id")
    return Accounts(email, notes + shared_notes, address)


def _account_ids(cells: pd.Series) -> pd.Series:
    """Account id cells as ids: text, trimmed, a database's ``17.0`` (a column with NULLs) as
    ``17``; <NA> for a guest's (empty, ``0``)."""
    ids = cells.astype("string").str.strip().str.replace(r"\.0+$", "", regex=True)
    return ids.mask(ids.isin(["", "0"]), pd.NA)


def _any_account(users: pd.Series) -> bool:
    """Whether an order gives an account id (:func:`_account_ids`), each distinct cell read
    once."""
    return bool(_account_ids(pd.Series(users.dropna().unique())).notna().any())


def _account_codes(users: pd.Series, address_code: np.ndarray) -> tuple[np.ndarray, int]:
    """Each order's account as a code from 0 (-1 for a guest, :func:`_account_ids`, and for an
    order of a shared account) and the shared accounts' count, each distinct id read once."""
    raw_code, raw_ids = pd.factorize(users)
    if len(raw_ids) == 0:  # no order gives an id
        return raw_code, 0
    id_code, _ = pd.factorize(_account_ids(pd.Series(raw_ids)))
    user_code = np.where(raw_code >= 0, id_code[np.maximum(raw_code, 0)], -1)
    if not (user_code >= 0).any():
        return user_code, 0
    # a shared account: its orders carry more than SHARED_ACCOUNT_ADDRESSES addresses
    both = (user_code >= 0) & (address_code >= 0)
    accounts, _ = _distinct_pairs(user_code[both], address_code[both])
    per_account = np.bincount(accounts, minlength=int(user_code.max()) + 1)
    shared = per_account > SHARED_ACCOUNT_ADDRESSES
    user_code = np.where((user_code >= 0) & shared[np.maximum(user_code, 0)], -1, user_code)
    return user_code, int(shared.sum())


SHARED_ACCOUNT_ADDRESSES = 3
"""More e-mail addresses than this on one account's orders make it a shared account (a till's
or a staff member's that orders of many customers are placed under), not a customer who
changed their e-mail."""


def _distinct_pairs(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (``first``, ``second``) pairs of codes from 0, sorted: one sort of whole
    numbers (``first * size + second``), where ``np.unique(axis=0)`` sorts rows as records
    (1.6 s against ~0.1 s for a million pairs)."""
    size = int(second.max(initial=0)) + 1
    keys = np.unique(first.astype(np.int64) * size + second)
    return keys // size, keys % size


def shared_accounts_note(count: int, id_column: str) -> list[str]:
    """The note on accounts left out of :func:`accounts`' joining as shared (none when 0)."""
    if not count:
        return []
    one = count == 1
    return [
        f"{count:,} {'account' if one else 'accounts'} ({id_column}) "
        f"{'carries' if one else 'carry'} more than {SHARED_ACCOUNT_ADDRESSES} e-mail "
        f"addresses, as a till's or a staff account would: {'its' if one else 'their'} orders "
        "are read by the e-mail each gives"
    ]


def comparable_addresses(cells: pd.Series) -> pd.Series:
    """E-mail cells as addresses to compare: trimmed, lower-cased, <NA> for none or a cell
    naming no one (:func:`placeholder_emails`, which :func:`identities` reads as no e-mail)."""
    address = emails(cells)[1]
    placeholder = placeholder_emails(pa.array(address, type=pa.large_string()))
    return address.mask(placeholder)


def with_written_emails(who: Identities, email_cells: pd.Series, linked: Accounts) -> Identities:
    """``who`` (:func:`identities` of the e-mails :func:`accounts` ``linked``) with each order's
    e-mail the address it was placed with, as written: its customer is the account's, and an
    audience file or a later ingest sees the address the order gave."""
    address = linked.addresses
    if address is None:  # a shop of guests: accounts() did not read the addresses
        address = comparable_addresses(email_cells)
    written = emails(email_cells)[0].where(address.notna(), pd.NA)
    return who._replace(email=written.where(who.email.notna(), pd.NA))


def account_notes(moved: int, joined: int, id_column: str) -> list[str]:
    """The ingest notes on orders given to a registered customer's account by its id
    (``moved``: placed under another e-mail than the account's latest) or by their e-mail
    (``joined``: guest checkouts)."""
    notes = []
    if moved:
        one = moved == 1
        notes.append(
            f"{moved:,} {'order' if one else 'orders'} of registered customers "
            f"{'gives' if one else 'give'} another e-mail than the account's latest: counted "
            f"as the account's (by {id_column})"
        )
    if joined:
        one = joined == 1
        notes.append(
            f"{joined:,} guest {'order' if one else 'orders'} {'belongs' if one else 'belong'} "
            "to the registered customer whose orders carry the same e-mail"
        )
    return notes


class PhoneLinking(NamedTuple):
    """:func:`with_phones`' result."""

    customer_id: pd.Series
    linked: int
    """Rows given to an identified customer rather than their phone's id."""
    links: pd.DataFrame
    """:func:`phone_links` of the rows."""


def phone_links(customer_id: pd.Series, phone: pd.Series) -> pd.DataFrame:
    """The distinct (``phone_id``, ``customer_id``) pairs of the rows that name a customer and
    carry a phone (phone ids, <NA> for none): the workspace keeps them, so a phone-only order of
    a later file finds the customer its phone belongs to, and a later file's e-mail order claims
    a stored customer known by its phone alone."""
    both = (customer_id.notna() & phone.notna()).to_numpy(bool)
    return (
        pd.DataFrame(
            {
                "phone_id": phone[both].astype("string").to_numpy(),
                "customer_id": customer_id[both].astype("string").to_numpy(),
            }
        )
        .drop_duplicates()
        .reset_index(drop=True)
    )


def with_phones(customer_id: pd.Series, phone: pd.Series) -> PhoneLinking:
    """``customer_id`` (<NA> for none) filled from ``phone`` (phone ids, <NA> for none), the
    number of rows given to an identified customer rather than their phone's id, and the rows'
    :func:`phone_links`.

    A phone that rows with a customer carry belongs to that customer when they all carry the same
    one, so the same phone's rows without a customer join them; a phone seen with two customers
    (a household, a shared office line) links nothing and stays its own customer."""
    links = phone_links(customer_id, phone)
    owner = owners(links, "phone_id")
    phone_only = (customer_id.isna() & phone.notna()).to_numpy(bool)
    owned = phone[phone_only].map(owner).astype("string")
    customer_id = customer_id.copy()
    customer_id[phone_only] = owned.fillna(phone[phone_only]).to_numpy()
    return PhoneLinking(customer_id, int(owned.notna().sum()), links)


def owners(links: pd.DataFrame, key: str) -> pd.Series:
    """The customer each ``key`` (a phone id, an e-mail address) of ``links`` (distinct
    (``key``, ``customer_id``) pairs) belongs to, indexed by it: a key seen with one customer
    only; one seen with two (a household, a shared inbox or line) belongs to no one."""
    return links.drop_duplicates(key, keep=False).set_index(key)["customer_id"]


def written_addresses(cells: pa.ChunkedArray) -> pa.ChunkedArray:
    """An e-mail column's cleaned cells, null where a cell is no address (no ``@``: ``n/a``,
    ``-``, ``none``) or a placeholder one (``noemail@shop.com``: :func:`placeholder_addresses`),
    which no audience file may send to an e-mail tool."""
    kept = pc.fill_null(pc.match_substring(cells, "@"), False).to_numpy(zero_copy_only=False)
    kept &= ~placeholder_addresses(cells)
    if kept.sum() == len(cells) - cells.null_count:
        return cells  # every cell given is an address
    return pc.if_else(pa.array(kept), cells, pa.scalar(None, cells.type))


def placeholder_cells(cells: pa.ChunkedArray, rows: np.ndarray) -> dict[str, int]:
    """The placeholder addresses (:func:`placeholder_addresses`) of an e-mail column's cleaned
    ``cells`` at ``rows`` (a mask), lower-cased, with their rows."""
    address = pc.fill_null(pc.match_substring(cells, "@"), False).to_numpy(zero_copy_only=False)
    found = rows & address & placeholder_addresses(cells)  # a word alone is no address anyway
    if not found.any():
        return {}
    counts = pc.value_counts(pc.utf8_lower(pc.filter(cells, pa.array(found))))
    return {item["values"].as_py(): item["counts"].as_py() for item in counts}


def email_addresses(cells: pa.ChunkedArray) -> pd.Series:
    """An e-mail column's cleaned cells as addresses to compare (the importers key customers by
    them): lower-cased, and <NA> for a cell that is no address (:func:`written_addresses`)."""
    return string_series(pc.utf8_lower(written_addresses(cells)))


class EmailLinking(NamedTuple):
    """:func:`with_emails`' result."""

    customer_id: pd.Series
    by_email: np.ndarray
    """Rows without a customer of their own, named by their e-mail address."""
    linked: np.ndarray
    """Of those, the rows given the customer whose rows carry the same address."""


def with_emails(customer_id: pd.Series, address: pd.Series) -> EmailLinking:
    """``customer_id`` (<NA> for none) filled from ``address`` (:func:`email_addresses`) as
    :func:`with_phones` fills it from phones: an address that rows with a customer carry belongs
    to that customer when they all carry the same one, so the same address's rows without a
    customer join them (a guest checkout of a registered customer); an address carried by two
    customers links nothing, and its rows, as an address no customer carries, are the customer
    of that address."""
    by_email = (customer_id.isna() & address.notna()).to_numpy(bool)
    if not by_email.any():
        return EmailLinking(customer_id, by_email, by_email)
    # only the addresses of those rows need an owner: the pairs of other rows are not built
    # (a file giving every customer's e-mail has about one pair per customer)
    wanted = pc.unique(pa.array(address[by_email]))
    carried = pc.fill_null(pc.is_in(pa.array(address), value_set=wanted), False)
    both = customer_id.notna().to_numpy(bool) & carried.to_numpy(zero_copy_only=False)
    links = pd.DataFrame(
        {"address": address[both].to_numpy(), "customer_id": customer_id[both].to_numpy()}
    ).drop_duplicates()
    owned = address[by_email].map(owners(links, "address")).astype("string")
    customer_id = customer_id.copy()
    customer_id[by_email] = owned.fillna(address[by_email]).to_numpy()
    linked = np.zeros(len(customer_id), dtype=bool)
    linked[by_email] = owned.notna().to_numpy(bool)
    return EmailLinking(customer_id, by_email, linked)


WHOLE_NUMBER_ID = r"[+-]?[0-9]+(\.0+)?"
"""A customer or order id cell that is a whole number, written plainly or as a float (``17.0``)."""


def whole_number_ids(
    cells: pa.ChunkedArray, ids: pa.ChunkedArray | None = None
) -> pa.ChunkedArray | None:
    """The customer (or order) id cells without their ``.0`` where every non-empty cell is a
    whole number and some are written as a float (``1.0``, ``10.0``: pandas' export of an integer
    column with gaps, or a spreadsheet's), so that ``1.0`` is the customer (order) ``1`` of a
    ``BIGINT`` table or another export; None where the cells stay as written (real decimals,
    text ids, no ``.0``).  ``ids``: the cells that are ids, where some of ``cells`` are none
    (a guest's ``nan`` or ``Guest``, empty there), which are then left as written."""
    if not pc.any(pc.ends_with(cells, ".0")).as_py():  # the common case, one cheap pass
        return None
    checked = cells if ids is None else ids
    if not pc.all(pc.match_substring_regex(checked, f"^{WHOLE_NUMBER_ID}$")).as_py():
        return None
    return pc.replace_substring_regex(cells, r"\.0+$", "")


def whole_number_ids_note(column: str | None) -> list[str]:
    """The note on customer (or order) ids read without their ``.0`` (:func:`whole_number_ids`)."""
    return [
        f"{column}: ids written as whole numbers with '.0' (1.0, as pandas writes an id "
        "column with gaps) are read as the whole number (1)"
    ]


def leading_zero_ids(cells: pa.ChunkedArray) -> tuple[int, list[str]]:
    """Of the customer id cells, how many ids of digits are also written with other leading
    zeros (``00123`` beside ``123``), and the first such set (by the id without its zeros),
    sorted: ids a spreadsheet may have cut, which stay apart, as written, and which
    :func:`leading_zero_ids_note` names.  The same as SQL's (``orders_duckdb``)."""
    # none unless an id starting with 0 is longer than another starting with a digit: not
    # where no id starts with 0, nor where the ids are padded with zeros to one length
    zeroed = pc.fill_null(pc.starts_with(cells, "0"), False)
    if not pc.any(zeroed).as_py():  # the common case, one cheap pass
        return 0, []
    lengths = pc.utf8_length(cells)
    digit = pc.fill_null(pc.and_(pc.greater_equal(cells, "0"), pc.less(cells, ":")), False)
    if pc.max(pc.filter(lengths, zeroed)).as_py() <= pc.min(pc.filter(lengths, digit)).as_py():
        return 0, []
    ids = pc.unique(cells.combine_chunks())
    ids = pc.filter(ids, pc.fill_null(pc.match_substring_regex(ids, "^[0-9]+$"), False))
    values = pc.utf8_ltrim(ids, "0")
    # only the values an id with leading zeros has can be written two ways
    padded = pc.filter(values, pc.and_(pc.starts_with(ids, "0"), pc.not_equal(values, "")))
    kept = pc.is_in(values, value_set=pc.unique(padded))
    return _written_several_ways(pc.filter(ids, kept), pc.filter(values, kept))


def _written_several_ways(ids: pa.Array, values: pa.Array) -> tuple[int, list[str]]:
    """Of distinct ``ids`` and the value each stands for, how many values several ids write,
    and the ids of the first such value, sorted."""
    table = pa.table({"id": ids, "value": values})
    counts = table.group_by("value").aggregate([("id", "count")])
    several = pc.filter(counts["value"], pc.greater(counts["id_count"], 1))
    if not len(several):
        return 0, []
    first = pc.min(several)
    written = pc.filter(table["id"], pc.equal(table["value"], first))
    return len(several), sorted(written.to_pylist())


def _several_ways_note(column: str | None, found: int, first: list[str], how: str) -> list[str]:
    """The note on ids written several ways (``how``), each read as its own customer."""
    if not found:
        return []
    listed = ", ".join(repr(text) for text in first[:-1]) + f" and {first[-1]!r}"
    more = f", and {found - 1:,} more" if found > 1 else ""
    return [
        f"{column}: {found:,} {'id is' if found == 1 else 'ids are'} written {how} "
        f"({listed}{more}): each read as its own customer, as written; "
    ]


def leading_zero_ids_note(column: str | None, found: int, first: list[str]) -> list[str]:
    """The note on the ids written with and without leading zeros (:func:`leading_zero_ids`):
    counted apart, as written, where a spreadsheet may have cut one customer's id."""
    return [
        note + "a spreadsheet drops an id's leading zeros, so write them alike where they are "
        "one customer"
        for note in _several_ways_note(column, found, first, "with and without leading zeros")
    ]


def case_only_ids(cells: pa.ChunkedArray) -> tuple[int, list[str]]:
    """Of the customer id cells, how many ids are also written in other letter cases
    (``C0001`` beside ``c0001``: typed by hand, or two systems merged), and the first such set
    (by the lower-cased id), sorted: ids that stay apart, as written, and which
    :func:`case_only_ids_note` names.  The same as SQL's (``orders_duckdb``).  E-mail ids are
    left out: they are read lower-cased, one customer however written."""
    lowered = pc.utf8_lower(cells)
    if not pc.any(pc.fill_null(pc.not_equal(lowered, cells), False)).as_py():
        return 0, []  # the common case, one cheap pass: no id has a capital letter
    ids = pc.drop_null(pc.unique(cells.combine_chunks()))
    ids = pc.filter(ids, pc.invert(pc.match_substring(ids, "@")))
    return _written_several_ways(ids, pc.utf8_lower(ids))


def case_only_ids_note(column: str | None, found: int, first: list[str]) -> list[str]:
    """The note on the ids written in several letter cases (:func:`case_only_ids`): counted
    apart, as written, where they may be one customer's."""
    return [
        note + "write them alike where they are one customer"
        for note in _several_ways_note(column, found, first, "in several letter cases")
    ]


def unread_consent_note(column: str | None, cells: int, first: list[str]) -> list[str]:
    """The note on the consent cells (``accepts_marketing``) that are neither a yes nor a no
    (``pending``, ``double opt-in``): read as no consent stated, as an empty cell is, so that
    the audience files of consented contacts leave those customers out.  ``first``: the first
    such values, lower-cased, sorted: three are named, and a fourth is a sign of more."""
    if not cells:
        return []
    listed = ", ".join(repr(value) for value in first[:3]) + (", ..." if len(first) > 3 else "")
    one = cells == 1
    return [
        f"{column}: {cells:,} {'cell is' if one else 'cells are'} neither yes nor no "
        f"({listed}): read as no "
        "consent stated, as an empty cell is, so the audiences of customers who consented leave "
        f"{'its customer' if one else 'their customers'} out; write yes or no where the consent "
        "is known"
    ]


def email_linked_note(linked: int) -> list[str]:
    """The ingest note for orders without a customer id given to the customer whose orders
    carry their e-mail address (none when 0)."""
    if not linked:
        return []
    one = linked == 1
    return [
        f"{linked:,} {'order' if one else 'orders'} without a customer id "
        f"{'belongs' if one else 'belong'} to the customer whose orders carry the same e-mail"
    ]


def status_rules(status: pd.Series, excluded: Mapping[str, str]) -> list[tuple[str, np.ndarray]]:
    """The exclusion rules (:func:`reasons`) of the orders' statuses (``status``, as
    ``excluded`` spells them): per reason, in the order ``excluded`` first names it, the orders
    whose status ``excluded`` maps to it."""
    reason_of = status.map(excluded)
    return [
        (name, (reason_of == name).fillna(False).to_numpy(bool))
        for name in dict.fromkeys(excluded.values())
    ]


def folded_labels(labels: pd.Series) -> pd.Series:
    """Status labels as compared with a platform's own in any language: lower-case, accents
    dropped (``Annulée``, ``ANNULEE`` and ``annulee`` alike), ``_`` and runs of whitespace as
    one space, outer spaces gone."""
    text = labels.str.lower().str.replace("_", " ", regex=False)
    text = text.str.replace(r"\s+", " ", regex=True).str.strip()
    return text.str.normalize("NFKD").str.replace(r"[\u0300-\u036f]", "", regex=True)


def label_lookup(words: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """``{folded label: its platform status}`` for a platform's statuses (``words``: status ->
    its labels in the languages read), the labels :func:`folded_labels`-ed."""
    labels = [label for written in words.values() for label in written]
    folded = folded_labels(pd.Series(labels, dtype="string"))
    statuses = [status for status, written in words.items() for _ in written]
    return dict(zip(folded, statuses, strict=True))


def unknown_statuses_note(
    written: pd.Series,
    unknown: np.ndarray,
    known: str,
    left_out: str,
    advice: str = "rename the statuses to the platform's own, or export with the admin in English",
) -> list[str]:
    """A note naming the statuses (``written``, one per order) that are none of the platform's
    own (where ``unknown``): a shop's own status or a translated label (``Storniert``) counts as
    a sale, so a merchant whose label means cancelled or refunded learns it before the numbers
    mislead.  ``known`` names the statuses known (``"Magento's own"``), ``left_out`` those
    whose orders are left out, ``advice`` what to do about the others."""
    counts = written[unknown].value_counts()
    if counts.empty:
        return []
    listed = ", ".join(f"{label!r} ({count:,})" for label, count in counts.head(5).items())
    more = f" and {len(counts) - 5:,} more" if len(counts) > 5 else ""
    total = int(counts.sum())
    one = total == 1
    return [
        f"{total:,} {'order has a status' if one else 'orders have statuses'} that "
        f"{'is' if one else 'are'} not {known} ({listed}{more}): counted as sales; only "
        f"{left_out} orders are left out ({advice})"
    ]


def zero_amount_orders(orders: pd.DataFrame, reason: np.ndarray | None = None) -> int:
    """How many of ``orders`` are counted (``reason`` None; every one without ``reason``) at a
    net revenue of 0, for :func:`zero_orders_note`."""
    net = np.abs(orders["net_revenue"].to_numpy(float, na_value=np.nan)) < ZERO_AMOUNT
    if reason is not None:
        net &= np.asarray(reason, dtype=object) == None  # noqa: E711 - elementwise
    return int(net.sum())


def zero_orders_note(orders: int, remedy: str) -> list[str]:
    """The ingest note for counted orders of an amount of 0 (none when 0): a free sample, a
    100% discount or a replacement is a purchase worth 0, as Shopify's reports count it, and
    one more order for its customer (a one-time buyer's second order makes a repeat customer),
    which a merchant may not take for a purchase; ``remedy`` says how to leave them out."""
    if not orders:
        return []
    one = orders == 1
    return [
        f"{orders:,} {'order' if one else 'orders'} of an amount of 0 (a free sample, a 100% "
        f"discount or a replacement) {'is' if one else 'are'} counted as "
        f"{'a purchase' if one else 'purchases'} worth 0, each one more order for "
        f"{'its customer' if one else 'their customers'}; to leave such orders out, {remedy}"
    ]


def linked_note(linked: int) -> list[str]:
    """The ingest note for phone-only orders given to an e-mail customer (none when 0)."""
    if not linked:
        return []
    one = linked == 1
    return [
        f"{linked:,} {'order' if one else 'orders'} without e-mail {'belongs' if one else 'belong'}"
        " to the e-mail customer whose orders carry the same phone"
    ]


def identity_notes(who: Identities) -> list[str]:
    """The ingest notes on who placed the orders: placeholder e-mails read as none, phone-only
    orders given to an e-mail customer, and phones a spreadsheet spoiled or that tell no one."""
    return (
        placeholder_email_note(who.placeholders or {}, who.placeholders_by_phone)
        + linked_note(who.linked_by_phone)
        + spoiled_note(who.spoiled_phones)
        + placeholder_phone_note(who.placeholder_phones or {})
    )


def spoiled_note(count: int, unit: str = "order") -> list[str]:
    """The ingest note for orders (or rows) without e-mail whose phone a spreadsheet spoiled
    (none when 0)."""
    if not count:
        return []
    one = count == 1
    return [
        f"{count:,} {unit if one else unit + 's'} without e-mail {'has' if one else 'have'} a "
        "phone a spreadsheet wrote in scientific notation (1.56E+10), its digits lost: no "
        "customer is told from it (export again without opening the file in a spreadsheet)"
    ]


_STRING = pd.StringDtype()


def string_series(values: pa.Array | pa.ChunkedArray) -> pd.Series:
    """A pandas ``string`` Series sharing the memory of an Arrow text column (no copy)."""
    if pa.types.is_dictionary(values.type) or not (
        pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
    ):
        values = pc.cast(values, pa.large_string())
    return values.to_pandas(
        types_mapper={pa.string(): _STRING, pa.large_string(): _STRING}.get
    ).reset_index(drop=True)


def reasons(n: int, rules: Sequence[tuple[str, np.ndarray]]) -> np.ndarray:
    """The first matching exclusion reason per order (``None`` = counted)."""
    out = np.full(n, None, dtype=object)
    for name, mask in rules:
        mask = np.asarray(pd.array(mask, dtype="boolean").fillna(False), dtype=bool)
        out[(out == None) & mask] = name  # noqa: E711 - elementwise comparison
    return out


def orders_frame(source: str, columns: dict[str, object], n: int) -> pd.DataFrame:
    """A canonical orders frame from per-order columns; ``order_number`` must be given."""
    frame = pd.DataFrame(index=range(n))
    for name, values in columns.items():
        frame[name] = values.reset_index(drop=True) if isinstance(values, pd.Series) else values
    number = frame["order_number"].astype("string")
    frame["order_id"] = (source + ":") + number
    frame["source"] = source
    ordered_at = pd.Series(frame["ordered_at"]).astype("datetime64[us]")
    frame["ordered_at"] = ordered_at
    frame["order_date"] = ordered_at.dt.floor("D")
    return frame


_TITLE_BEFORE_NAMES = re.compile(
    rf"^(?:{'|'.join(sorted(NAME_TITLES))})\.? (?=\S+ \S)", flags=re.IGNORECASE
)
"""A title (:data:`~valuecast.tables.NAME_TITLES`) and its space before two words or more."""


_LAST_NAME = re.compile(
    rf"^(?P<first>.+?) (?P<last>(?:{'|'.join(sorted(NAME_PARTICLES))})\.? .*\S"
    rf"|\S+(?:,? (?:{'|'.join(sorted(NAME_SUFFIXES))})\.?)?)$",
    flags=re.IGNORECASE,
)
"""A full name of two words or more: the given names, then the family name: from its first
particle on (``van der Berg``, ``dos Santos Silva``), else its last word with a generational
suffix after it (``Smith Jr.``)."""


def split_names(names: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The first and last names of full names as an order's address writes them (``Billing
    Name``): the family name, from the first particle after the first word on (``van``, ``de
    la``, ``dos``, ``St``: :data:`~valuecast.tables.NAME_PARTICLES`), else the last word with a
    generational suffix after it (``Smith Jr.``), and the words before it (<NA> last name for a
    name of one word).

    Shopify writes ``Billing Name`` as the checkout's first-name field, a space, and its
    last-name field, and a buyer puts a second given name, a middle name or an initial in the
    first (``Mary Ann``, ``John Q.``): ``Mary Ann Lee`` is ``Mary Ann`` and ``Lee``, and ``Jane
    van Dijk`` is ``Jane`` and ``van Dijk``.  The platforms match each on its own, and a last
    name cut to its last word's neighbours (``Ann Lee``) matches nobody.  A family name of two
    words without a particle (``García López``) gives its last word alone, which a name written
    whole cannot tell apart from a second given name.
    A title before two words or more is left out (``Dr. Jane Smith``: ``Jane``, ``Smith``;
    ``Dr. Smith`` stays whole, its title the only first name it gives).  Any Unicode space
    separates two words, and a run of them is one space: a name copied from a
    spreadsheet or a web page carries no-break spaces (``Jane\xa0Smith``), which look like the
    space typed and are none to a split on it."""

    def parts(text: pd.Series) -> pd.DataFrame:
        words = text.str.replace(r"\s+", " ", regex=True).str.strip(" ")
        words = words.str.replace(_TITLE_BEFORE_NAMES, "", regex=True)
        found = words.str.extract(_LAST_NAME)
        alone = found["first"].isna()  # one word: a first name and no last name
        found["first"] = found["first"].where(~alone, words).astype("string")
        found["last"] = found["last"].astype("string")
        return found

    found = per_distinct(names.astype("string"), parts)
    return found["first"], found["last"]


def order_contacts(
    names: tuple[pd.Series, pd.Series],
    phone: pd.Series,
    billing: Mapping[str, pd.Series],
    shipping: Mapping[str, pd.Series],
) -> pd.DataFrame:
    """Per order, the contact fields of ``ORDER_CONTACTS_SCHEMA`` but ``order_id``: the first
    and last ``names`` (:func:`full_names` or :func:`given_names`); ``phone`` as given; and the
    billing address's :data:`ADDRESS_FIELDS` where it gives any, else the shipping address's,
    so that a city, a zip and a country are of one address.  ``billing`` and ``shipping`` map
    the address fields to per-order texts (missing keys: none)."""
    n = len(phone)

    def field(address: Mapping[str, pd.Series], key: str) -> pd.Series:
        return _text_or_none(address.get(key), n)

    frame = pd.DataFrame(
        {"first_name": _text_or_none(names[0], n), "last_name": _text_or_none(names[1], n),
         "phone": _text_or_none(phone, n)}
    )  # fmt: skip
    billed = np.zeros(n, dtype=bool)
    for key in ADDRESS_FIELDS:
        billed |= field(billing, key).notna().to_numpy(bool)
    for key in ADDRESS_FIELDS:
        frame[key] = field(billing, key).where(billed, field(shipping, key))
    return frame


def _text_or_none(values: pd.Series | None, n: int) -> pd.Series:
    """``values`` as text on a fresh index, or ``n`` missing texts."""
    if values is None:
        return pd.Series(pd.NA, index=range(n), dtype="string")
    return values.astype("string").reset_index(drop=True)


def full_names(billing: pd.Series, shipping: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The first and last names of orders whose addresses write a name whole (Shopify's
    ``Billing Name``): the billing address's, else the shipping address's, split by
    :func:`split_names`."""
    return split_names(billing.reset_index(drop=True).fillna(shipping.reset_index(drop=True)))


def given_names(
    billing: tuple[pd.Series, pd.Series], shipping: tuple[pd.Series, pd.Series]
) -> tuple[pd.Series, pd.Series]:
    """The first and last names of orders whose addresses write them apart (WooCommerce's
    ``billing_first_name``, ``billing_last_name``): both of the billing address where it gives
    either, else both of the shipping address's, so that a name is one person's."""
    first, last = (part.astype("string").reset_index(drop=True) for part in billing)
    billed = (first.notna() | last.notna()).to_numpy(bool)
    other_first, other_last = (part.astype("string").reset_index(drop=True) for part in shipping)
    return first.where(billed, other_first), last.where(billed, other_last)


class OrderTexts:
    """Per order, the first non-empty cleaned text of a column of the rows of ``codes`` (as
    :func:`group_first` gives it), read for the orders asked only: the contact columns are wanted
    for each customer's latest order, and texts for every order of a million-order export cost
    hundreds of MB."""

    def __init__(self, table: Table, codes: np.ndarray, n_groups: int) -> None:
        self._table = table
        self._codes = codes
        self._n = n_groups

    def given(self, columns: Sequence[str | None]) -> np.ndarray:
        """Per order, whether a row of it has a non-empty cell in any of ``columns``."""
        rows = np.zeros(self._table.num_rows, dtype=bool)
        for column in columns:
            if column is not None:
                rows |= self._table.nonempty(column)
        groups = self._codes[rows]
        out = np.zeros(self._n, dtype=bool)
        out[groups[groups >= 0]] = True
        return out

    def at(self, column: str | None, orders: np.ndarray) -> pd.Series:
        """The texts of ``column`` of the orders at positions ``orders`` (<NA> where none)."""
        if column is None:
            return pd.Series(pd.NA, index=range(len(orders)), dtype="string")
        values = self._table.text(column)
        valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), bool)
        positions = first_positions(self._codes, self._n, valid)[orders]
        picked = values.take(pa.array(np.maximum(positions, 0)))
        series = pd.Series(picked.to_pandas(), dtype="string").reset_index(drop=True)
        series[positions < 0] = pd.NA
        return series


class OrderContacts(NamedTuple):
    """The orders' contact fields, built for the orders asked only (:func:`contact_columns`)."""

    gives: tuple[np.ndarray, ...]
    """Per :data:`~valuecast.io.schema.CONTACT_GROUPS`, per order: whether it gives any of the
    group's fields (a name, a phone, an address)."""
    rows: Callable[[np.ndarray], pd.DataFrame]
    """:func:`order_contacts` of the orders at the positions given, one row each."""


def contact_columns(
    texts: OrderTexts,
    names: tuple[Sequence[str | None], Sequence[str | None]],
    phones: Sequence[str | None],
    billing: Mapping[str, str | None],
    shipping: Mapping[str, str | None],
    phone: pd.Series | None = None,
) -> OrderContacts:
    """The orders' contact fields read from an export's columns (None: not in the file):
    ``names``, the billing address's name columns then the shipping address's, each a whole name
    (:func:`full_names`: Shopify's ``Billing Name``) or a first and a last name
    (:func:`given_names`: WooCommerce's ``billing_first_name``, ``billing_last_name``);
    ``phones``, the phone columns by preference; ``billing`` and ``shipping``, the
    :data:`ADDRESS_FIELDS` columns of each address.  Which orders give a name, a phone, an
    address is read from the cells' emptiness alone, and the texts of the orders chosen only
    (:func:`latest_contacts`).  ``phone``, where given, is each order's phone already chosen
    from ``phones`` (Shopify's, a placeholder passed over for the next column's number), read
    instead of the first of them that gives one."""
    billing_names, shipping_names = names

    def rows(orders: np.ndarray) -> pd.DataFrame:
        def text(column: str | None) -> pd.Series:
            return texts.at(column, orders)

        if len(billing_names) == 1:
            name = full_names(text(billing_names[0]), text(shipping_names[0]))
        else:
            name = given_names(
                (text(billing_names[0]), text(billing_names[1])),
                (text(shipping_names[0]), text(shipping_names[1])),
            )
        if phone is None:
            chosen = text(phones[0])
            for column in phones[1:]:
                chosen = chosen.fillna(text(column))
        else:
            chosen = phone.iloc[orders].reset_index(drop=True)
        return order_contacts(
            name,
            chosen,
            {key: text(column) for key, column in billing.items()},
            {key: text(column) for key, column in shipping.items()},
        )

    address = [*billing.values(), *shipping.values()]
    gives = (
        texts.given([*billing_names, *shipping_names]),
        texts.given(phones) if phone is None else phone.notna().to_numpy(bool),
        texts.given(address),
    )
    return OrderContacts(gives, rows)


def latest_contacts(
    orders: pd.DataFrame, reason: np.ndarray, contacts: OrderContacts
) -> pd.DataFrame | None:
    """``ORDER_CONTACTS_SCHEMA`` rows of the orders the workspace reads contacts from: for each
    customer, of their counted orders, the latest that gives a name, the latest that gives a
    phone and the latest that gives an address (:data:`~valuecast.io.schema.CONTACT_GROUPS`;
    most often one order); None when no counted order of a customer gives any.  ``reason``: per
    order, why it is excluded (None: counted; :func:`reasons`); ``contacts``: the orders' fields
    (:func:`contact_columns`), whose texts are read for the orders chosen only.

    Latest as the workspace reads it (``store.workspace._contacts_query``): by ``ordered_at``
    (else ``order_date``, none last), then ``order_id``.  Kept per customer of the file: a
    customer the store joins to another (a phone-only customer to an e-mail one) keeps their own
    orders here, and the store takes the latest of the orders each final customer holds."""
    if not len(orders):
        return None
    counted = np.asarray(reason, dtype=object) == None  # noqa: E711 - elementwise
    eligible = counted & orders["customer_id"].notna().to_numpy(bool)
    gives = [eligible & np.asarray(group, bool) for group in contacts.gives]
    candidates = np.flatnonzero(np.logical_or.reduce(gives))
    if not len(candidates):
        return None
    customer = np.full(len(orders), -1, dtype=np.int64)
    customer[candidates], distinct = pd.factorize(orders["customer_id"].array[candidates])
    at = pd.Series(orders["ordered_at"]).fillna(orders["order_date"]).to_numpy("datetime64[us]")
    at = np.where(np.isnat(at), np.iinfo(np.int64).max, at.view(np.int64))  # none sorts last
    keep = np.zeros(len(orders), dtype=bool)
    for given in gives:
        rows = np.flatnonzero(given)
        latest = _latest_of_each(customer[rows], len(distinct), at[rows], orders["order_id"], rows)
        keep[latest] = True
    positions = np.flatnonzero(keep)
    rows = contacts.rows(positions)
    rows.insert(0, "order_id", orders["order_id"].array[positions])
    return conform(rows, ORDER_CONTACTS_SCHEMA)


def _latest_of_each(
    customer: np.ndarray, n_customers: int, at: np.ndarray, order_id: pd.Series, rows: np.ndarray
) -> np.ndarray:
    """Of the orders at positions ``rows`` (of ``customer`` codes below ``n_customers``, at
    times ``at`` as integers), each customer's latest: the greatest ``at``, then the greatest
    ``order_id`` (the longer, then by text: order 10 after order 9), then the last position, as
    a stable sort on them leaves it.  No sort: the
    order ids are compared only where a customer's latest time is tied."""
    if not len(rows):
        return rows
    latest = np.full(n_customers, np.iinfo(np.int64).min)
    np.maximum.at(latest, customer, at)
    top = at == latest[customer]
    rows, customer = rows[top], customer[top]
    chosen = np.full(n_customers, -1)
    np.maximum.at(chosen, customer, rows)
    tied = np.bincount(customer, minlength=n_customers) > 1
    if tied.any():
        among = tied[customer]
        tied_rows, tied_customer = rows[among], customer[among]
        ids = order_id.iloc[tied_rows].to_numpy(object)
        _, rank = np.unique(ids, return_inverse=True)
        length = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
        # the shorter id first (order 9 before order 10), as the summary tells the latest
        last = np.lexsort((tied_rows, rank.ravel(), length, tied_customer))
        tied_rows, tied_customer = tied_rows[last], tied_customer[last]
        final = np.append(tied_customer[1:] != tied_customer[:-1], True)
        chosen[tied_customer[final]] = tied_rows[final]
    return chosen[chosen >= 0]


def assemble(
    table_name: str,
    fmt: str,
    rows_read: int,
    orders: pd.DataFrame,
    reason: np.ndarray,
    rows_per_order: np.ndarray,
    lines: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    empty_rows: int = 0,
    notes: list[str] | None = None,
    phone_links: pd.DataFrame | None = None,
    written_symbol: str | None = None,
    order_contacts: pd.DataFrame | None = None,
) -> ImportResult:
    """Split counted from excluded orders and count the exclusions by reason.

    ``phone_links``: the file's (phone id, customer id) pairs (:func:`phone_links`), of every
    order read: an excluded order's phone is the customer's all the same.  ``order_contacts``:
    the contact fields of each customer's latest counted orders (:func:`latest_contacts`)."""
    reason = np.asarray(reason, dtype=object)
    dropped = reason != None  # noqa: E711
    which = np.flatnonzero(dropped)  # only these rows are converted (there may be millions)
    picked = orders.iloc[which] if len(orders) else orders
    detail = pd.DataFrame(
        {
            "order_number": picked["order_number"].astype("string").to_numpy()
            if len(orders)
            else pd.array([], dtype="string"),
            "order_id": picked["order_id"].astype("string").to_numpy()
            if len(orders)
            else pd.array([], dtype="string"),
            "reason": reason[which].astype(str),
            "rows": np.asarray(rows_per_order, dtype=np.int64)[which],
            "gross_revenue": np.nan_to_num(
                picked["gross_revenue"].to_numpy(float, na_value=np.nan)
            ),
            "refunded": np.nan_to_num(picked["refunded"].to_numpy(float, na_value=np.nan))
            if "refunded" in orders
            else 0.0,
            "currency": picked["currency"].astype("string").to_numpy()
            if "currency" in orders
            else pd.NA,
        }
    )
    detail["currency"] = detail["currency"].astype("string")
    excluded, excluded_orders, excluded_revenue = count_exclusions(detail, empty_rows)
    counted = orders.loc[~dropped] if len(which) else orders
    # importers pass the lines of counted orders only
    result_lines = empty_frame(ORDER_LINES_SCHEMA) if lines is None else lines
    return ImportResult(
        file=table_name,
        format=fmt,
        rows_read=int(rows_read),
        orders=conform(counted, ORDERS_SCHEMA),
        order_lines=conform(result_lines, ORDER_LINES_SCHEMA),
        customers=empty_frame(CUSTOMERS_SCHEMA)
        if customers is None
        else conform(customers, CUSTOMERS_SCHEMA),
        excluded=excluded,
        excluded_orders=excluded_orders,
        excluded_revenue=excluded_revenue,
        notes=list(notes or []),
        excluded_detail=detail.reset_index(drop=True),
        phone_links=phone_links,
        written_symbol=written_symbol,
        order_contacts=order_contacts,
    )


def count_exclusions(detail: pd.DataFrame, empty_rows: int = 0) -> tuple[Counter, Counter, Counter]:
    """Rows, orders and gross revenue excluded per reason, from one row per excluded order
    (``reason``, ``rows``, ``gross_revenue``; in the file's order) and the empty rows."""
    excluded, excluded_orders, excluded_revenue = Counter(), Counter(), Counter()
    if empty_rows:
        excluded[EMPTY_ROW] += int(empty_rows)
    for name, group in detail.groupby("reason", sort=True):
        excluded[name] += int(group["rows"].sum())
        excluded_orders[name] += len(group)
        excluded_revenue[name] += round(float(group["gross_revenue"].sum()), 2)
    return excluded, excluded_orders, excluded_revenue


def line_numbers(codes: np.ndarray) -> np.ndarray:
    """1-based position of each row within its group (rows in file order)."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
    run = np.arange(len(codes)) - np.repeat(starts, np.diff(np.r_[starts, len(codes)]))
    out = np.empty(len(codes), dtype=np.int64)
    out[order] = run + 1
    return out


def money_or_zero(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), 0.0, values)


def kept_quantity(ordered: np.ndarray, *taken_back: np.ndarray) -> np.ndarray:
    """Items the customer kept: ``ordered`` less the items ``taken_back`` (refunded, cancelled;
    written with either sign, an empty cell or a column not exported counting 0), never below
    0; NaN where ``ordered`` is empty."""
    back = sum((np.nan_to_num(np.abs(values)) for values in taken_back), np.zeros(len(ordered)))
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(ordered), ordered, np.maximum(ordered - back, 0.0))


def factorize(values: pa.ChunkedArray) -> tuple[np.ndarray, pd.Series]:
    """(codes, uniques) of a text column in order of first appearance; nulls get code -1.

    Whole numbers without leading zeros (order ids, customer numbers) are factorised as integers,
    which is several times faster than hashing their text.
    """
    numeric = None
    if len(values):
        try:
            numeric = pc.cast(values, pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            numeric = None
        # only plain digit strings qualify ("+5", "007" and "5.0" are kept as text)
        if numeric is not None:
            same = pc.equal(pc.cast(numeric, values.type), values)
            if not pc.all(pc.fill_null(same, True)).as_py():
                numeric = None
    if numeric is not None:
        if numeric.null_count:
            ints = pd.array(numeric.to_numpy(zero_copy_only=False), dtype="Int64")
        else:
            ints = numeric.to_numpy()
        codes = np.asarray(pd.factorize(ints)[0], np.int64)
    else:
        codes = np.asarray(pd.factorize(pd.Series(values.to_pandas(), dtype="string"))[0], np.int64)
    firsts = first_positions(codes, int(codes.max()) + 1 if len(codes) else 0)
    uniques = values.take(pa.array(firsts)) if len(firsts) < len(values) else values
    return codes, pd.Series(uniques.to_pandas(), dtype="string").reset_index(drop=True)


def zoned(table: Table, column: str) -> bool:
    """Whether ``column`` holds timestamps with a time zone (a database's typed column), whose
    instants are known whatever zone they are shown in."""
    stored = table.arrow.column(column).type
    return pa.types.is_timestamp(stored) and stored.tz is not None


def store_times(
    table: Table, column: str, time_zone: str | None, extra_formats: bool = False
) -> np.ndarray:
    """A column of times the platform stores in UTC (Magento's ``created_at``, WooCommerce's
    ``date_created_gmt``) as timestamps: as written, or, with ``time_zone``, the UTC times (a
    zoned column's instants) as the shop's wall-clock times in that zone; ``extra_formats`` as
    :meth:`Table.timestamps` reads it."""
    if time_zone is None:
        return table.timestamps(column, extra_formats)
    if zoned(table, column):
        utc = pc.cast(table.arrow.column(column), pa.timestamp("us", tz="UTC"))
        stamps = np.asarray(pc.cast(utc, pa.timestamp("us")).to_numpy(zero_copy_only=False)).astype(
            "datetime64[us]"
        )
    else:
        stamps = table.timestamps(column, extra_formats)
    shifted = pd.DatetimeIndex(stamps).tz_localize("UTC").tz_convert(zoneinfo.ZoneInfo(time_zone))
    return shifted.tz_localize(None).to_numpy("datetime64[us]")


def unpaid_orders_note(
    labels: np.ndarray, counted: np.ndarray, net: np.ndarray, platform: str
) -> list[str]:
    """The note counting the counted orders not paid yet and their revenue, so that the
    merchant sees what the analysis takes as sold before it is paid (none when there are none).

    ``labels``: per order, the label of its unpaid status (``"pending payment"``), None for a
    paid one; ``platform`` names where to cancel those never to be paid."""
    unpaid = counted & pd.notna(labels)
    if not unpaid.any():
        return []
    counts = pd.Series(labels[unpaid]).value_counts()
    listed = ", ".join(f"{name} {counts[name]:,}" for name in sorted(counts.index, reverse=True))
    total = int(unpaid.sum())
    one = total == 1
    return [
        f"{total:,} {'order' if one else 'orders'} not paid yet ({listed}) "
        f"{'is' if one else 'are'} counted as {'a sale' if one else 'sales'} "
        f"({float(net[unpaid].sum()):,.2f} of revenue): cancel in {platform} any that will "
        "never be paid (a payment page left, a transfer that never came)"
    ]
