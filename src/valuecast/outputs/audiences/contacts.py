"""Contact fields as the platforms match them: normalised e-mails, phones, names, places; SHA-256.

Phone numbers and countries are normalised by :mod:`valuecast.io.phones` (the rule that also
identifies customers by phone at import): digits with the country code where it can be told.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from typing import Any

from valuecast.io.phones import (
    CALLING_CODES,
    cell_text,
    country_code,
    e164_phone,
    impossible_phone,
    normalize_phone,
)
from valuecast.tables import EMAIL_PATTERN, NAME_SUFFIXES, NAME_TITLES

__all__ = [
    "CALLING_CODES",
    "NOT_IN_AN_ADDRESS",
    "US_STATES",
    "cell_text",
    "country_code",
    "e164_phone",
    "email_address",
    "family_name",
    "given_name",
    "impossible_phone",
    "name_text",
    "normalize_city",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "normalize_state",
    "normalize_zip",
    "plain_zip",
    "several_addresses",
    "sha256_hex",
]

US_STATES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI", "minnesota": "MN",
    "mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV",
    "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY",
    "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK",
    "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC",
    "south dakota": "SD", "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT",
    "virginia": "VA", "washington": "WA", "west virginia": "WV", "wisconsin": "WI",
    "wyoming": "WY", "puerto rico": "PR",
}  # fmt: skip
"""US state and territory names -> their 2-letter codes (Meta wants the code)."""


def sha256_hex(value: str) -> str:
    """SHA-256 hex digest of ``value`` (UTF-8); the empty string stays empty."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest() if value else ""


_ADDRESS_SEPARATORS = re.compile(r"[,;<\s]+")
"""What separates two addresses written in one cell (``carl@x.com; dora@x.com``): no address
holds a comma, a semicolon, a space outside quotes or a ``<`` (``Dora Lee<dora@x.com>``)."""


_JOINERS = str.maketrans(dict.fromkeys("\u200c\u200d"))
"""The zero-width non-joiner and joiner: they shape the letters of some scripts' names, and are
no part of an e-mail address."""


def several_addresses(value: Any) -> bool:
    """Whether an e-mail cell holds more than one address (more than one ``@``)."""
    return cell_text(value).count("@") > 1


def normalize_email(value: Any) -> str:
    """Trimmed, lower-cased e-mail address ('' when missing); of a cell holding several
    (``carl@x.com;dora@x.com``), the first, as each platform takes one address a cell.  An
    address copied with its display name (``Dora Lee <dora@x.com>``) or as a link
    (``mailto:dora@x.com``) is the address alone: a platform takes the whole cell as the
    address, and rejects the row or matches nobody."""
    text = cell_text(value).lower().translate(_JOINERS)
    if text.count("@") > 1 or ("<" in text and "@" in text):
        text = next(part for part in _ADDRESS_SEPARATORS.split(text) if "@" in part)
    return text.strip("<>").removeprefix("mailto:")


_ADDRESS = re.compile(f"^{EMAIL_PATTERN}$")

NOT_IN_AN_ADDRESS = re.compile(r'[<>()\[\]\\,;:"]')
"""Characters an address holds only quoted (RFC 5322's specials): in a cell's address once its
display name is taken off, they are the rest of some other text."""


def email_address(value: Any) -> str:
    """:func:`normalize_email` where it is an address (a name, ``@`` and a domain with a dot, no
    spaces, none of :data:`NOT_IN_AN_ADDRESS`), else '': Klaviyo and Mailchimp reject a row
    whose e-mail is none (``carl@example``, ``bob @example.com``), its hash matches nobody on
    Meta or Google, and a cell such as ``<b>x</b>@shop.com`` is not sent as another address
    (``/b>@shop.com``)."""
    text = normalize_email(value)
    return text if _ADDRESS.match(text) and not NOT_IN_AN_ADDRESS.search(text) else ""


def name_text(value: Any) -> str:
    """A name cell as text ('' when missing); a cell without a letter or digit (``-``, ``.``) is
    '': what a checkout's required field gets when the buyer has no name to give there, and no
    name to match on or greet with."""
    text = cell_text(value)
    if text[:1].isalnum():  # a name's first character most often: no need to look further
        return text
    return text if any(c.isalnum() for c in text) else ""


def _without_punctuation(text: str) -> str:
    kept = "".join(c for c in text if not unicodedata.category(c).startswith(("P", "S")))
    return " ".join(kept.split())


def normalize_name(value: Any) -> str:
    """Meta's ``fn``/``ln``: lower case, no punctuation or symbols, single spaces."""
    return _without_punctuation(name_text(value).lower())


SUFFIXES: frozenset[str] = NAME_SUFFIXES
"""Generational suffixes written after a family name (``Smith Jr.``), likewise."""


def given_name(value: Any) -> str:
    """A first name cell without the titles it starts with (``Dr. Jane`` -> ``Jane``; a title
    alone -> ''): Google's Customer Match guide asks for first names without prefixes, and a
    customer list's name is the one people are known by, never a title."""
    words = name_text(value).split()
    while words and words[0].lower().rstrip(".") in NAME_TITLES:
        words.pop(0)
    return " ".join(words)


def family_name(value: Any) -> str:
    """A last name cell without the generational suffix it ends with (``Smith Jr.``, ``Smith,
    Jr`` -> ``Smith``) where a name is left: Google's Customer Match guide asks for last names
    without suffixes."""
    words = name_text(value).split()
    if len(words) > 1 and words[-1].lower().rstrip(".") in SUFFIXES:
        words.pop()
        words[-1] = words[-1].rstrip(",")
    return " ".join(words)


_LATIN_LETTERS: dict[str, str] = {
    "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i",
}  # fmt: skip
"""Latin letters that no accent makes (Unicode does not decompose them) -> Meta's a-z."""


@functools.cache
def _plain_letter(char: str) -> str:
    """A lower-case letter as Meta's a-z: a Latin letter without its accents (``é`` -> ``e``,
    ``ā`` -> ``a``, ``ß`` -> ``ss``); a letter of another script as it is."""
    if char in _LATIN_LETTERS:
        return _LATIN_LETTERS[char]
    plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return plain if plain.isascii() else char


def _place_letters(text: str) -> str:
    """Meta's ``ct`` and non-US ``st``: a-z only, lower case, no punctuation, special characters
    or spaces, as its customer-list hashing guide asks of cities and states (``Saint-Étienne``
    is ``saintetienne``, ``São Paulo`` ``saopaulo``): a letter typed with its accent or
    without is one hash, which is how Meta matches the place."""
    lowered = text.lower()
    if lowered.isascii():  # most places: no letter to look up
        return "".join(c for c in lowered if c.isalpha())
    return "".join(_plain_letter(c) for c in lowered if c.isalpha())


def normalize_city(value: Any) -> str:
    """Meta's ``ct``: lower-case letters a-z only (no accents, spaces, digits or punctuation)."""
    return _place_letters(cell_text(value))


def normalize_state(value: Any, country: Any = None) -> str:
    """Meta's ``st``: 2-letter code in lower case for the US, else the full name in lower-case
    letters only: Meta takes abbreviations of US states alone, so a province written as its ISO
    3166-2 code (``ON`` in Canada, ``NSW`` in Australia, as Shopify's exports write them) is
    its name (``ontario``, ``newsouthwales``).  The code may carry its country's, with a dash or
    without (``US-CA`` is ``ca``; ``JP-13`` and ``JP13``, Tokyo's, are ``tokyo``): its digits
    are no part of a name, and ``jp`` alone names no prefecture.  A name is in a-z letters, as
    typed or as the code table spells it (``IN-MH`` is ``maharashtra``, not ``mahārāshtra``)."""
    text = cell_text(value).lower()
    code = country_code(country)
    if code == "US":
        name = " ".join(re.sub(r"[^a-z ]", " ", text).split())
        if name in US_STATES:
            return US_STATES[name].lower()
        local = _without_country(name.replace(" ", ""), "us")
        if local.upper() in _US_CODES:
            return local
    elif code and 1 <= len(text) <= 8 and text.replace("-", "").isalnum():
        name = _subdivision(code, text)
        if not name and _without_country(text, code.lower()).isdigit():
            return ""  # a numbered code no subdivision has: its letters are the country's
        text = name or text
    return _place_letters(text)


_US_CODES = frozenset(US_STATES.values())


def _without_country(text: str, country: str) -> str:
    """``text`` less a leading country code (``us-ca``, ``usca`` -> ``ca``; ``jp-1`` -> ``1``)
    where a code is left (of two characters or more where no dash follows the country's), else
    as it is."""
    rest = text.removeprefix(country)
    if rest.startswith("-"):
        return rest[1:] or text
    return rest if rest != text and len(rest) >= 2 else text


def _subdivision(country: str, text: str) -> str:
    """The lower-case name of the subdivision of ``country`` that ``text`` is the ISO 3166-2
    code of, alone or after the country's code (``13``, ``jp-13``, ``jp13``; ``1`` is ``01``),
    '' for none."""
    code = _without_country(text.upper(), country)
    if code.isdigit() and len(code) == 1:  # Hokkaido is JP-01, typed JP-1
        code = "0" + code
    return _subdivision_name(country, code).lower()


@functools.cache
def _subdivision_name(country: str, code: str) -> str:
    """The name ISO 3166-2 gives subdivision ``code`` of ``country`` (``CA``, ``ON`` ->
    ``Ontario``), '' for none; pycountry's table is read at the first call."""
    import pycountry

    subdivision = pycountry.subdivisions.get(code=f"{country}-{code}")
    return subdivision.name if subdivision is not None else ""


def _us_zip(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    if len(digits) in (4, 8):  # a leading zero lost to a spreadsheet
        digits = "0" + digits
    return digits[:5]


def normalize_zip(value: Any, country: Any = None) -> str:
    """Meta's ``zip``: lower case without spaces or dashes; US 5 digits; UK to the sector."""
    text = cell_text(value).lstrip("'")
    code = country_code(country)
    if code == "US":
        return _us_zip(text)
    compact = re.sub(r"[\s\-]", "", text).lower()
    if code == "GB" and len(compact) >= 5:
        return compact[:-2]  # drop the unit: SW1A1AA -> sw1a1 (area, district, sector)
    return compact


def plain_zip(value: Any, country: Any = None) -> str:
    """Google's plain ``Zip``: trimmed as written; US zips as 5 digits."""
    text = cell_text(value).lstrip("'").strip()
    return _us_zip(text) if country_code(country) == "US" and text else text
