"""The four audience formats: Klaviyo, Mailchimp, Meta and Google.

Rows are one per customer of the selection, in ``customer_id`` order.  Names, phones and places
are the customers' contact fields as the workspace gives them
(:func:`valuecast.store.workspace.contacts_frame`): a customers export's, else those of the
customer's latest orders that give them (an orders export's billing or shipping address).
Money is rounded to cents, probabilities to 4 decimals, predicted orders to 2 (:data:`DECIMALS`),
each number written with exactly those places (``16.30``, ``0.4720``); dates are ISO
``YYYY-MM-DD``; missing values are empty cells.  A name of punctuation alone (``-`` or ``.``,
typed where a checkout asks for a last name) is no name: an empty cell in every file, never a
greeting of ``-`` nor the hash of one.  Meta's and Google's hashed names leave out a title
before a first name (``Dr. Jane`` is ``jane``: Mr, Mrs, Ms, Miss, Mx, Dr, Prof) and a generational
suffix after a last name (``Smith Jr.`` is ``smith``: Jr, Sr, II, III, IV), as Google's Customer
Match guide asks and as the name people are known by is matched.  A zero-width space, word joiner or byte-order mark
(:data:`valuecast.io.phones.INVISIBLE`) is no part of any field: a hash holding it matches nobody.

``klaviyo``
    ``Email, First Name, Last Name`` (Klaviyo's property names, which its list upload maps to
    the profile's name), then the custom profile properties ``predicted_clv, churn_probability,
    rfm_group, expected_date_of_next_order, historic_clv, predicted_spend_tier,
    predicted_number_of_orders``.
``mailchimp``
    ``Email Address, First Name, Last Name`` (Mailchimp's default merge fields), then the same
    properties with readable names: ``Predicted CLV, Churn Probability, RFM Group, Next Order
    Date, Historic CLV, Spend Tier, Predicted Orders`` (map them to merge fields on import).
``meta`` (custom audience from a customer list, value-based)
    ``email, phone, fn, ln, ct, st, zip, country, value``.  Every identifier is the SHA-256 hex
    digest of its normalised value; an empty value stays an empty cell (never the hash of "").
    ``value`` is the predicted CLV in cents precision, not hashed, for value-based lookalikes;
    0 for a prospect (a subscriber without an order: nothing spent, nothing predicted), as Meta
    takes a non-negative number on every row of a value-based audience.
    Normalisation (Meta's customer-list rules): email trimmed and lower-cased; phone digits only
    with the country code (below); ``fn``/``ln`` lower-case without punctuation or symbols
    (runs of spaces kept as one space); ``ct`` lower-case letters a-z only (no accents,
    spaces, digits or punctuation: ``Saint-Étienne`` is ``saintetienne``); ``st`` the 2-letter
    code in lower case for the US (full state names are mapped), elsewhere the full name in
    lower-case letters a-z only, likewise (a province written as its ISO
    3166-2 code, Shopify's ``ON``, is its name: Meta takes abbreviations of US states alone;
    a code after its country's, ``JP-13`` or ``JP13``, is Tokyo's, and ``US-CA`` is ``ca``);
    ``zip`` lower-case without spaces or dashes, for the US the first 5 digits (a 4- or 8-digit US zip that lost its leading zero gets it back),
    for the UK the area, district and sector (``SW1A 1AA`` -> ``sw1a1``); ``country`` the ISO
    3166-1 alpha-2 code in lower case (common country names are mapped; anything else is left
    empty).  Text is Unicode-NFC normalised before hashing.
``google`` (Customer Match)
    ``Email, Phone, First Name, Last Name, Country, Zip``.  Email, phone and names are hashed
    SHA-256 after normalising: trimmed and lower-cased (Gmail's dot and plus-suffix rules are
    *not* applied: addresses are hashed as written, apart from case and surrounding spaces;
    names are not stripped of punctuation either, and runs of spaces in them are one space);
    phone in E.164 (``+`` and digits,
    country code as below).  ``Country`` (2-letter, upper case) and ``Zip`` (trimmed; US: 5
    digits) are plain text.

Rows that cannot be matched are left out and counted: without an e-mail for Klaviyo and
Mailchimp, and for Meta and Google without an e-mail, a phone and a mailing address they match
on: a first and a last name, a country and a zip, all four (Customer Match's address match;
Meta lists ``fn`` and ``ln`` among its main identifiers, matched with the place beside them, and
takes a city where an address has no zip); marketing consent rules such a row as every
other.  A phone that cannot be a number (:func:`valuecast.io.phones.plausible_number`:
E.164's 7 to 15 digits, a North American number's 10 after the 1, a known country's longest
national number; ``5550199`` in the US) is no phone: never hashed, its cell left empty, and counted; likewise an e-mail cell that is no
address (``carl@example``, ``bob @example.com``), which Klaviyo and Mailchimp reject and Meta
and Google match nobody on.  An e-mail cell holding several
addresses (``carl@x.com;dora@x.com``, ``carl@x.com, dora@x.com``) is its first address in every
format, as each platform takes one address a cell; the rows so written are counted.  An address
copied with its display name (``Dora Lee <dora@x.com>``) or as a link (``mailto:dora@x.com``) is
the address alone.  A file holds one row per person:
a second row with the same e-mail (for Meta and Google, the same phone where a row has no
e-mail, and the same names, country and zip (Meta: and city) where it has neither) is left
out as a duplicate, as two customer records of one person (a shop keyed by
customer number, a customer who registered twice) are one profile, and one matched person of a
customer list: the record with the most historic CLV (then the latest order) is the one kept.
A customer identified by phone (no e-mail) is
matched by Meta and Google on the hashed phone; Klaviyo's and Mailchimp's files are keyed by
e-mail, so they leave such a customer out (counted as without an identifier).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from valuecast.outputs.audiences.contacts import (
    NOT_IN_AN_ADDRESS,
    cell_text,
    country_code,
    e164_phone,
    email_address,
    family_name,
    given_name,
    impossible_phone,
    name_text,
    normalize_city,
    normalize_name,
    normalize_state,
    normalize_zip,
    plain_zip,
    sha256_hex,
)
from valuecast.outputs.audiences.names import FORMATS
from valuecast.outputs.audiences.table import ExportError, number_column
from valuecast.outputs.files import rounded_series
from valuecast.tables import EMAIL_PATTERN

PROPERTIES: tuple[str, ...] = (
    "predicted_clv",
    "churn_probability",
    "rfm_group",
    "expected_date_of_next_order",
    "historic_clv",
    "predicted_spend_tier",
    "predicted_number_of_orders",
)
"""The customer properties Klaviyo and Mailchimp files carry, in this order."""
MAILCHIMP_NAMES: dict[str, str] = {
    "predicted_clv": "Predicted CLV",
    "churn_probability": "Churn Probability",
    "rfm_group": "RFM Group",
    "expected_date_of_next_order": "Next Order Date",
    "historic_clv": "Historic CLV",
    "predicted_spend_tier": "Spend Tier",
    "predicted_number_of_orders": "Predicted Orders",
}
HEADERS: dict[str, tuple[str, ...]] = {
    "klaviyo": ("Email", "First Name", "Last Name", *PROPERTIES),
    "mailchimp": (
        "Email Address",
        "First Name",
        "Last Name",
        *(MAILCHIMP_NAMES[p] for p in PROPERTIES),
    ),
    "meta": ("email", "phone", "fn", "ln", "ct", "st", "zip", "country", "value"),
    "google": ("Email", "Phone", "First Name", "Last Name", "Country", "Zip"),
}
"""Each format's header, exactly."""
_ROUNDING = {
    "predicted_clv": 2,
    "historic_clv": 2,
    "churn_probability": 4,
    "predicted_number_of_orders": 2,
}
META_VALUE_DECIMALS = 2
DECIMALS: dict[str, int] = {
    **_ROUNDING,
    **{MAILCHIMP_NAMES[name]: places for name, places in _ROUNDING.items()},
    "value": META_VALUE_DECIMALS,
}
"""The places of every format's number columns, by header name (no two formats give one name
other places): what the files round to and write, each number with exactly that many."""


def _iso_date(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _properties(table: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=table.index)
    for name in PROPERTIES:
        if name in _ROUNDING:
            out[name] = rounded_series(number_column(table, name), _ROUNDING[name])
        elif name == "expected_date_of_next_order":
            out[name] = [_iso_date(value) for value in table[name]]
        else:
            out[name] = [cell_text(value) for value in table[name]]
    return out


def _cells(table: pd.DataFrame, function: Callable[..., str], *columns: str) -> list[str]:
    return [function(*values) for values in zip(*(table[c] for c in columns), strict=True)]


def _klaviyo(table: pd.DataFrame) -> pd.DataFrame:
    out = _properties(table)
    out.insert(0, "Last Name", _cells(table, name_text, "last_name"))
    out.insert(0, "First Name", _cells(table, name_text, "first_name"))
    out.insert(0, "Email", _cells(table, email_address, "email"))
    return out


def _mailchimp(table: pd.DataFrame) -> pd.DataFrame:
    out = _properties(table).rename(columns=MAILCHIMP_NAMES)
    out.insert(0, "Last Name", _cells(table, name_text, "last_name"))
    out.insert(0, "First Name", _cells(table, name_text, "first_name"))
    out.insert(0, "Email Address", _cells(table, email_address, "email"))
    return out


def _hashed(table: pd.DataFrame, function: Callable[..., str], *columns: str) -> list[str]:
    return [sha256_hex(value) for value in _cells(table, function, *columns)]


def _meta_phone(phone, country) -> str:
    return e164_phone(phone, country).removeprefix("+")


def _meta(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "email": _hashed(table, email_address, "email"),
            # digits with the country code, as Meta asks; none where it cannot be told
            "phone": _hashed(table, _meta_phone, "phone", "country"),
            "fn": _hashed(table, lambda name: normalize_name(given_name(name)), "first_name"),
            "ln": _hashed(table, lambda name: normalize_name(family_name(name)), "last_name"),
            "ct": _hashed(table, normalize_city, "city"),
            "st": _hashed(table, normalize_state, "province", "country"),
            "zip": _hashed(table, normalize_zip, "zip", "country"),
            "country": _hashed(table, lambda c: country_code(c).lower(), "country"),
            "value": _meta_value(table),
        },
        index=table.index,
    )


def _meta_value(table: pd.DataFrame) -> pd.Series:
    """Meta's ``value``: the predicted CLV; 0 for a prospect (no order), whose value to the shop
    so far is none and whom no model predicts, as a value-based audience takes a non-negative
    number on every row (an empty cell is an error there, and a row left out would drop the
    subscribers the lookalike learns are worth little)."""
    value = rounded_series(number_column(table, "predicted_clv"), META_VALUE_DECIMALS)
    prospect = pd.to_numeric(table["historic_number_of_orders"], errors="coerce").eq(0)
    return value.mask(prospect & value.isna(), 0.0)


def _google_name(value: Any) -> str:
    # Google's hashed-data guidelines: lower case, no extra spaces before, after or in between
    return " ".join(name_text(value).lower().split())


def _google(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Email": _hashed(table, email_address, "email"),
            "Phone": _hashed(table, e164_phone, "phone", "country"),
            "First Name": _hashed(table, lambda name: _google_name(given_name(name)), "first_name"),
            "Last Name": _hashed(table, lambda name: _google_name(family_name(name)), "last_name"),
            "Country": _cells(table, country_code, "country"),
            "Zip": _cells(table, plain_zip, "zip", "country"),
        },
        index=table.index,
    )


_FORMATTERS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "klaviyo": _klaviyo,
    "mailchimp": _mailchimp,
    "meta": _meta,
    "google": _google,
}


@dataclass
class Formatted:
    """A format's rows and what was left out (rows without an identifier, duplicate e-mails)."""

    frame: pd.DataFrame
    no_identifier: int
    duplicates: int
    impossible_phones: int = 0  # rows of ``frame`` whose phone cell is empty: not a number
    several_addresses: int = 0  # rows of ``frame`` whose e-mail cell held several: the first
    emails_left_empty: int = 0  # rows of ``frame`` (by phone) whose e-mail cell is no address


def reachable(table: pd.DataFrame, to: str) -> pd.Series:
    """Which rows of ``table`` (an :func:`audience_table`) ``to`` can match: those with an
    e-mail, for Meta and Google those with a phone whose country code is known
    (:func:`has_phone`), and those with a first and a last name, a country and a zip (for Meta,
    or a city) (:func:`by_address`)."""
    email = has_address(table)
    if to in ("klaviyo", "mailchimp"):
        return email
    found = email | has_phone(table[~email.to_numpy(bool)]).reindex(table.index, fill_value=False)
    rest = table[~found.to_numpy(bool)]
    return found | by_address(rest, to).reindex(table.index, fill_value=False)


def has_phone(table: pd.DataFrame) -> pd.Series:
    """Which rows of ``table`` (an :func:`audience_table`) have a phone whose country code is
    known: the number Meta and Google match (E.164)."""
    asked = table["phone"].notna().to_numpy(bool)
    rest = table.loc[asked, ["phone", "country"]]
    phone = pd.Series(_cells(rest, e164_phone, "phone", "country"), index=rest.index, dtype=object)
    return (phone != "").reindex(table.index, fill_value=False)


def by_address(table: pd.DataFrame, to: str = "google") -> pd.Series:
    """Which rows of ``table`` (an :func:`audience_table`) give what ``to`` matches a mailing
    address on: a first and a last name, a country and a zip, all four (Google's Customer Match
    file template asks for both names to match on the country and the zip); for Meta, whose
    ``fn`` and ``ln`` are main identifiers matched with the place beside them, a city stands
    for a zip where the address has none (a shop in Hong Kong or Dubai)."""
    given = table[["first_name", "last_name", "country"]].notna().all(axis=1)
    rest = table[given.to_numpy(bool)]
    cities = rest["city"] if to == "meta" else pd.Series(None, index=rest.index, dtype=object)
    zip_cell = normalize_zip if to == "meta" else plain_zip  # as the file writes it
    whole = [
        bool(code and given_name(first) and family_name(last)
             and (zip_cell(zip_, code) or normalize_city(city)))
        for first, last, code, zip_, city in zip(
            rest["first_name"], rest["last_name"], map(country_code, rest["country"]),
            rest["zip"], cities, strict=True,
        )
    ]  # fmt: skip
    return pd.Series(whole, index=rest.index, dtype=bool).reindex(table.index, fill_value=False)


def has_address(table: pd.DataFrame) -> pd.Series:
    """Which rows of ``table`` (an :func:`audience_table`) have an e-mail address
    (:func:`~valuecast.outputs.audiences.contacts.email_address`)."""
    text = table["email"].astype("string[pyarrow]").str.strip().str.lower()
    # most cells are one plain address: told by one vectorised match, the rest cell by cell
    plain = text.str.fullmatch(EMAIL_PATTERN) & ~text.str.contains(NOT_IN_AN_ADDRESS.pattern)
    plain = (plain & ~text.str.startswith("mailto:")).fillna(False).astype(bool)
    rest = table.loc[~plain.to_numpy(bool) & text.notna().to_numpy(bool), ["email"]]
    found = pd.Series(_cells(rest, email_address, "email"), index=rest.index, dtype=object) != ""
    return plain | found.reindex(table.index, fill_value=False)


def not_addresses(table: pd.DataFrame) -> pd.Series:
    """Which rows of ``table`` have an e-mail cell that is no address (``carl@example``)."""
    given = table["email"].fillna("").astype(str).str.strip() != ""
    return given & ~has_address(table)


_ADDRESS_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "meta": (("fn", "ln", "country"), ("zip", "ct")),
    "google": (("First Name", "Last Name", "Country"), ("Zip",)),
}
"""Per hashed format, the columns of a mailing address it matches on: all of the first, and
one of the second at least (:func:`by_address`)."""


def _person_key(frame: pd.DataFrame, to: str) -> pd.Series:
    """What ``to`` knows a row's person by: the e-mail (Klaviyo's and Mailchimp's profiles are
    keyed by it), for Meta and Google else the phone, else the mailing address; '' for a row
    with none."""
    email = frame[HEADERS[to][0]].astype(str)
    if to in ("klaviyo", "mailchimp"):
        return email
    phone = frame[HEADERS[to][1]].astype(str)
    key = email.where(email != "", ("phone " + phone).where(phone != "", ""))
    needed, either = _ADDRESS_KEYS[to]
    whole = pd.Series(True, index=frame.index)
    address = pd.Series("address", index=frame.index)
    for column in needed:
        cells = frame[column].astype(str)
        whole &= cells != ""
        address = address + " " + cells
    place = pd.Series(False, index=frame.index)
    for column in either:
        cells = frame[column].astype(str)
        place |= cells != ""
        address = address + " " + cells
    return key.where(key != "", address.where(whole & place, ""))


def format_audience(table: pd.DataFrame, to: str) -> Formatted:
    """The rows of ``table`` (an :func:`audience_table` selection) in format ``to``, ready to write.

    Rows that cannot be matched are dropped and counted (module docstring); the cells hold the
    values themselves, and :func:`write_audience` escapes formula cells when it writes them.
    """
    if to not in _FORMATTERS:
        raise ExportError(f"unknown format {to!r}: use {', '.join(FORMATS)}")
    frame = _FORMATTERS[to](table) if len(table) else pd.DataFrame(columns=list(HEADERS[to]))
    frame = frame.reset_index(drop=True)
    key = _person_key(frame, to)
    identified = key != ""
    # one row per person: the customer record with the most historic CLV (then the latest
    # order) keeps it, not whichever id sorts first
    rank = pd.DataFrame(index=frame.index)
    for column in ("historic_clv", "last_order_date"):
        rank[column] = table[column].to_numpy() if column in table.columns else None
    rank["historic_clv"] = pd.to_numeric(rank["historic_clv"], errors="coerce")
    rank["last_order_date"] = pd.to_datetime(rank["last_order_date"], errors="coerce")
    order = rank.sort_values(
        ["historic_clv", "last_order_date"], ascending=False, na_position="last", kind="stable"
    ).index
    duplicate = identified & key.loc[order].duplicated().reindex(frame.index)
    keep = identified & ~duplicate
    out = frame[keep.to_numpy(dtype=bool)].reset_index(drop=True)
    kept = table[keep.to_numpy(dtype=bool)] if len(table) else table
    impossible = int(impossible_phones(kept).sum()) if to in ("meta", "google") else 0
    return Formatted(
        frame=out[list(HEADERS[to])],
        no_identifier=int((~identified).sum()),
        duplicates=int(duplicate.sum()),
        impossible_phones=impossible,
        several_addresses=int(kept["email"].astype("string").str.count("@").gt(1).sum()),
        emails_left_empty=_emails_left_empty(kept, out[HEADERS[to][0]]),
    )


def _emails_left_empty(kept: pd.DataFrame, cells: pd.Series) -> int:
    """How many of the rows written (``kept``, their e-mail ``cells``) have an empty e-mail cell
    where the customer's holds text: an e-mail that is no address, the row kept for its phone."""
    given = kept["email"].fillna("").astype(str).str.strip().ne("").to_numpy(bool)
    return int((given & cells.astype(str).eq("").to_numpy(bool)).sum())


def impossible_phones(table: pd.DataFrame) -> pd.Series:
    """Which rows of ``table`` (an :func:`audience_table`) have a phone with its country code
    that cannot be a number (:func:`valuecast.io.phones.impossible_phone`)."""
    asked = table["phone"].notna().to_numpy(bool)
    rest = table.loc[asked, ["phone", "country"]]
    bad = pd.Series(
        [impossible_phone(p, c) for p, c in zip(rest["phone"], rest["country"], strict=True)],
        index=rest.index,
        dtype=bool,
    )
    return bad.reindex(table.index, fill_value=False)
