"""Phone numbers and countries: one normalisation for identifying customers and for audiences.

A number written with ``+`` or the international prefix ``00`` (``011`` in the US and Canada)
already has its country code (a bracketed trunk ``(0)`` after it is dropped). Otherwise, when the
customer's country is in :data:`CALLING_CODES`, the number is national: it keeps its digits if they
already start with the calling code and are longer than the country's longest national number,
else the national trunk ``0`` is dropped (except in Italy, where it belongs to the number) and the
calling code prefixed (a trunk ``0`` written after a calling code, ``+44 07700 900123``, is dropped
too) (US ``(616) 954-7888`` -> ``16169547888``, UK ``07700 900123`` ->
``447700900123``, Bangladesh ``01712-345678`` -> ``8801712345678``). An extension written after
the number (``ext 5``, ``x12``, ``#3``) is left out. For other countries, and when no country is
given, the digits are kept as written: the country code cannot be told.

Customers identified by phone
-----------------------------
An order without an e-mail is the customer of its phone number (the importers say which phone
columns they read). Its ``customer_id`` is :data:`PHONE_ID_PREFIX` and the number: ``phone:+`` and
the digits when the country code is known (``+880 9356-524432`` and ``+8809356524432`` are both
``phone:+8809356524432``), ``phone:`` and the digits as written when it is not. Such a national
number is the international one of the same file's orders that it can be (``07700 900123`` beside
``+44 7700 900123``, or beside ``07700 900123`` with the country GB: a country cell left empty on one
order) when there is exactly one; else ``phone:01712345678`` equals no international key, since the
same digits may be two people in two countries. The
prefix keeps a phone id apart from every e-mail id (an e-mail has an ``@``) and from a spreadsheet's
formula rule (a cell starting with ``+``). A cell with fewer than :data:`MIN_PHONE_DIGITS` digits
(``0``, ``n/a``, ``-``) is no phone number, and neither is a placeholder typed where the customer
gave none (``0000000000``, ``1234567890``: :func:`placeholder_phone`): as a placeholder e-mail,
taken as a customer it would make one customer of every order typed with it.  A number that
cannot exist (:func:`impossible_phone`: a typo, an old national form) still names the customer
who typed it, and is only kept out of the audience files.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

import pandas as pd

__all__ = [
    "CALLING_CODES",
    "MIN_PHONE_DIGITS",
    "national_owners",
    "PHONE_ID_PREFIX",
    "cell_text",
    "country_code",
    "E164_MAX_DIGITS",
    "E164_MIN_DIGITS",
    "e164_phone",
    "impossible_phone",
    "normalize_phone",
    "placeholder_digits",
    "placeholder_phone",
    "plausible_number",
    "phone_from_id",
    "phone_ids",
    "spoiled_phone",
    "unusable_phone",
]

PHONE_ID_PREFIX = "phone:"
MIN_PHONE_DIGITS = 6

CALLING_CODES: dict[str, tuple[str, int]] = {
    # ISO country: (calling code, longest national significant number)
    "US": ("1", 10), "CA": ("1", 10), "GB": ("44", 10), "IE": ("353", 9), "FR": ("33", 9),
    "DE": ("49", 11), "AT": ("43", 13), "CH": ("41", 9), "NL": ("31", 9), "BE": ("32", 9),
    "LU": ("352", 11), "ES": ("34", 9), "PT": ("351", 9), "IT": ("39", 11), "DK": ("45", 8),
    "SE": ("46", 9), "NO": ("47", 8), "FI": ("358", 10), "PL": ("48", 9), "CZ": ("420", 9),
    "AU": ("61", 9), "NZ": ("64", 10), "JP": ("81", 10), "KR": ("82", 10), "SG": ("65", 8),
    "HK": ("852", 8), "IN": ("91", 10), "MX": ("52", 10), "BR": ("55", 11), "ZA": ("27", 9),
    "AE": ("971", 9), "IL": ("972", 9), "CN": ("86", 11),
    # markets where cash on delivery, and so the phone as the customer, is common
    "BD": ("880", 10), "PK": ("92", 10), "EG": ("20", 10), "SA": ("966", 9), "MA": ("212", 9),
    "NG": ("234", 10), "KE": ("254", 9), "PH": ("63", 10), "TR": ("90", 10), "MY": ("60", 10),
    "ID": ("62", 12), "VN": ("84", 10), "TH": ("66", 9),
}  # fmt: skip
"""Calling code and longest national number of the countries whose phone numbers get one."""
_KEEPS_TRUNK_ZERO = {"IT"}  # Italian numbers keep their leading 0 after the country code
_NANP = {"US", "CA"}
_TRUNK_ZERO_CODES = frozenset(
    calling
    for country, (calling, _) in CALLING_CODES.items()
    if country not in _KEEPS_TRUNK_ZERO and country not in _NANP
)
"""Calling codes after which a national number never starts with 0: a 0 written there is the
trunk prefix dialled at home (``+44 07700 900123``), not part of the number."""

_COUNTRY_NAMES: dict[str, str] = {
    "united states": "US", "united states of america": "US", "usa": "US", "us": "US",
    "canada": "CA", "united kingdom": "GB", "uk": "GB", "great britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB", "ireland": "IE", "france": "FR",
    "germany": "DE", "deutschland": "DE", "austria": "AT", "switzerland": "CH",
    "netherlands": "NL", "the netherlands": "NL", "belgium": "BE", "luxembourg": "LU",
    "spain": "ES", "portugal": "PT", "italy": "IT", "denmark": "DK", "sweden": "SE",
    "norway": "NO", "finland": "FI", "poland": "PL", "czech republic": "CZ", "czechia": "CZ",
    "australia": "AU", "new zealand": "NZ", "japan": "JP", "south korea": "KR",
    "korea, republic of": "KR", "singapore": "SG", "hong kong": "HK", "india": "IN",
    "mexico": "MX", "brazil": "BR", "south africa": "ZA", "united arab emirates": "AE",
    "israel": "IL", "china": "CN", "bangladesh": "BD", "pakistan": "PK", "egypt": "EG",
    "saudi arabia": "SA", "morocco": "MA", "nigeria": "NG", "kenya": "KE",
    "philippines": "PH", "turkey": "TR", "türkiye": "TR", "malaysia": "MY", "indonesia": "ID",
    "vietnam": "VN", "viet nam": "VN", "thailand": "TH",
}  # fmt: skip


INVISIBLE = "\u00ad\u200b\u2060\ufeff"
"""Characters that show nothing and join nothing: the soft hyphen (shown only where a line breaks
at it), the zero-width space, the word joiner and the byte-order mark, which a cell copied from a
web page or a spreadsheet may carry.  They are no part of an address, a number or a name: a
platform hashing ``ann@x.com`` and one such character matches nobody."""
_INVISIBLE = str.maketrans(dict.fromkeys(INVISIBLE))


def cell_text(value: Any) -> str:
    """A cell as trimmed NFC text without :data:`INVISIBLE` characters; missing values as ''."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return unicodedata.normalize("NFC", str(value).translate(_INVISIBLE)).strip()


def country_code(value: Any) -> str:
    """ISO 3166-1 alpha-2 code in upper case: 2-letter codes as given, common names mapped,
    then any other name ISO 3166-1 gives the country, in English or in a translation
    (``España``, ``Österreich``: :func:`_iso_country_names`), or its 3-letter code."""
    text = " ".join(cell_text(value).lower().replace(".", "").split())
    if text in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[text]
    if len(text) == 2 and text.isascii() and text.isalpha():
        return text.upper()
    return _iso_country_names().get(text, "") if text else ""


@functools.cache
def _iso_country_names() -> dict[str, str]:
    """Lower-cased names of each country (pycountry's ISO 3166-1: its 3-letter code, English
    names, and their translations) and its 2-letter code; a name two countries share in some
    translation names neither, and an English name wins over a translated one.  Read once, when
    a cell is none of :data:`_COUNTRY_NAMES` (0.2 s: pycountry's 160 translations)."""
    import gettext
    import os

    import pycountry

    english: dict[str, str] = {}
    for country in pycountry.countries:
        for name in ("alpha_3", "name", "official_name", "common_name"):
            if hasattr(country, name):
                english.setdefault(getattr(country, name).lower(), country.alpha_2)
    translated: dict[str, set[str]] = {}
    for language in sorted(os.listdir(pycountry.LOCALES_DIR)):
        try:
            names = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        except OSError:  # a locale without the countries' names
            continue
        for country in pycountry.countries:
            translated.setdefault(names.gettext(country.name).lower(), set()).add(country.alpha_2)
    one_country = {name: next(iter(codes)) for name, codes in translated.items() if len(codes) == 1}
    return {**one_country, **english}


_EXTENSION = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*\d+\s*$", re.IGNORECASE)
"""An extension after the number (``ext 5``, ``x12``, ``#3``): not part of the number."""


def _dialled(phone: Any) -> tuple[str, str]:
    """The cell's text as dialled and its digits: without a spreadsheet's apostrophe, a
    bracketed trunk ``(0)`` or an extension."""
    # "+44 (0)20 ...": the bracketed trunk 0 is not dialled after the country code
    text = cell_text(phone).lstrip("'").strip().replace("(0)", "")
    text = _EXTENSION.sub("", text)  # an extension is dialled after the call connects
    return text, re.sub(r"\D", "", text)


def _international(phone: Any, country: Any) -> tuple[str, bool]:
    """(digits, whether they start with the country code); see the module docstring."""
    return _with_country_code(*_dialled(phone), country)


def _with_country_code(text: str, digits: str, country: Any) -> tuple[str, bool]:
    """:func:`_international` of a cell :func:`_dialled` as ``text`` and ``digits``."""
    if not digits:
        return "", False
    if text.startswith("+"):
        return _without_trunk_zero(digits), True
    code = country_code(country)
    if digits.startswith("00"):
        return _without_trunk_zero(digits[2:]), True
    if code in _NANP and digits.startswith("011"):
        return _without_trunk_zero(digits[3:]), True
    if code not in CALLING_CODES:
        return digits, False
    calling, longest = CALLING_CODES[code]
    if digits.startswith(calling) and len(digits) > longest:
        return _without_trunk_zero(digits), True
    if code not in _KEEPS_TRUNK_ZERO and digits.startswith("0"):
        digits = digits[1:]
    return (calling + digits, True) if digits else ("", False)


def _without_trunk_zero(digits: str) -> str:
    """International ``digits`` without a trunk 0 written after a calling code that never has
    one (``4407700900123`` -> ``447700900123``); calling codes are prefix-free, so at most one
    of 1 to 3 digits matches."""
    for length in (1, 2, 3):
        if digits[:length] in _TRUNK_ZERO_CODES and digits[length : length + 1] == "0":
            return digits[:length] + digits[length + 1 :]
    return digits


def normalize_phone(phone: Any, country: Any = None) -> str:
    """Digits only with the country code ('' when there are no digits); see the module docstring."""
    return _international(phone, country)[0]


E164_MAX_DIGITS = 15
"""E.164's longest number, country code included (ITU-T E.164, section 6)."""
E164_MIN_DIGITS = 7
"""The shortest number in use, country code included (Niue's and Tokelau's, ``+683 4002``)."""
_NANP_NUMBER = re.compile(r"^1[2-9]\d{2}[2-9]\d{6}$")
"""A number of the North American plan: 1, a 3-digit area code and a 7-digit number, neither
starting with 0 or 1."""
_LONGEST_NATIONAL = {calling: longest for calling, longest in CALLING_CODES.values()}


def plausible_number(digits: str) -> bool:
    """Whether international ``digits`` (country code first) can be a phone number: E.164's
    length, a country code (none starts with 0), a North American number's exact form, at most
    the longest national number of a country :data:`CALLING_CODES` knows (``+15550199`` is
    none: 7 digits after the 1), and a national number that is no placeholder
    (:func:`placeholder_digits`: ``+44 0000 000000``)."""
    if not E164_MIN_DIGITS <= len(digits) <= E164_MAX_DIGITS or digits.startswith("0"):
        return False
    national = _national_number(digits)
    if placeholder_digits(digits) or placeholder_digits(national):
        return False
    if digits.startswith("1"):
        return _NANP_NUMBER.match(digits) is not None
    if national:
        return len(national) <= _LONGEST_NATIONAL[digits[: len(digits) - len(national)]]
    return True


def _national_number(digits: str) -> str:
    """International ``digits`` without the calling code of a country :data:`CALLING_CODES`
    knows; '' for another code, which cannot be told apart from the number."""
    for length in (1, 2, 3):  # calling codes are prefix-free
        if digits[:length] in _LONGEST_NATIONAL:
            return digits[length:]
    return ""


PLACEHOLDER_MIN_DIGITS = 7
"""The fewest digits of one repeated that :func:`placeholder_digits` reads as a placeholder's
(``0000000``); a run needs :data:`PLACEHOLDER_MIN_RUN` (``123456789``), as a real number's digits
may run for a while (``+353 1 234 5678``)."""
PLACEHOLDER_MIN_RUN = 9
_RUNS = ("01234567890", "1234567890", "9876543210", "0987654321")
"""The runs typed for no number, from their first digit: a number whose digits run from
elsewhere (``+45 67 89 01 23``) is a real one."""


def placeholder_digits(digits: str) -> bool:
    """Whether ``digits`` are a placeholder's, typed where a number was asked and none was given:
    at least :data:`PLACEHOLDER_MIN_DIGITS` of one digit repeated (``0000000000``) or
    :data:`PLACEHOLDER_MIN_RUN` of a run from its start, up or down (``1234567890``,
    ``0123456789``, ``9876543210``)."""
    if len(digits) < PLACEHOLDER_MIN_DIGITS:
        return False
    if digits == digits[0] * len(digits):
        return True
    return len(digits) >= PLACEHOLDER_MIN_RUN and any(run.startswith(digits) for run in _RUNS)


def placeholder_phone(phone: Any, country: Any = None) -> bool:
    """Whether ``phone`` is a placeholder (:func:`placeholder_digits`): its digits as written
    (``0000000000``, ``00 0000000``), or its national number after the country code
    (``+1 000 000 0000``, ``+91 98765 43210``, ``0 1111 111111`` in GB)."""
    text, written = _dialled(phone)
    return _placeholder_of(written, *_with_country_code(text, written, country))


def _placeholder_of(written: str, digits: str, international: bool) -> bool:
    """:func:`placeholder_phone` of a cell's digits as written and :func:`_with_country_code`'s
    ``digits`` of it; not the digits after a trunk 0, which a real number of one digit
    repeated has too (``07777 777777``)."""
    if placeholder_digits(written):
        return True
    return international and placeholder_digits(_national_number(digits))


def impossible_phone(phone: Any, country: Any = None) -> bool:
    """Whether ``phone`` has its country code (:func:`normalize_phone`) but is no number that
    code can have (:func:`plausible_number`): a typo, a number missing its area code, a
    placeholder (``1234567890`` in the US), zeros read after the international prefix ``00``
    (``0000000000``)."""
    digits, international = _international(phone, country)
    return bool(digits) and international and not plausible_number(digits)


def unusable_phone(phone: Any, country: Any = None) -> bool:
    """Whether ``phone`` has a number's digits (:data:`MIN_PHONE_DIGITS`) yet tells no one: a
    placeholder (:func:`placeholder_phone`).  A number a spreadsheet spoiled
    (:func:`spoiled_phone`) is not one of them: it is told apart, as its own note says."""
    if spoiled_phone(phone) or len(normalize_phone(phone, country)) < MIN_PHONE_DIGITS:
        return False
    return placeholder_phone(phone, country)


def e164_phone(phone: Any, country: Any = None) -> str:
    """``+`` and the digits of :func:`normalize_phone`; '' without digits, '' when the country
    code cannot be told (a national number without a country): E.164 needs it, and a number
    hashed without it matches nobody, or someone else; and '' for a number that cannot exist
    (:func:`impossible_phone`), whose hash would match nobody either."""
    digits, international = _international(phone, country)
    return f"+{digits}" if digits and international and plausible_number(digits) else ""


_SPREADSHEET_NUMBER = re.compile(r"^'?[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
"""A number a spreadsheet wrote in scientific notation (``1.56E+10``): its digits are lost."""


def spoiled_phone(phone: Any) -> bool:
    """Whether ``phone`` is a number a spreadsheet rewrote as ``1.56E+10``: no phone number, as
    its last digits are gone (taken as one, every such cell would be one made-up customer)."""
    return _SPREADSHEET_NUMBER.match(cell_text(phone)) is not None


def _phone_id(phone: Any, country: Any) -> str | None:
    """The customer id of one phone cell, None where it tells no one: too few digits, spoiled
    by a spreadsheet, or a placeholder (a number that cannot exist is still its customer's)."""
    if spoiled_phone(phone):
        return None
    text, written = _dialled(phone)
    digits, international = _with_country_code(text, written, country)
    if len(digits) < MIN_PHONE_DIGITS or _placeholder_of(written, digits, international):
        return None
    return PHONE_ID_PREFIX + ("+" if international else "") + digits


def phone_ids(phones: pd.Series, countries: pd.Series | None = None) -> pd.Series:
    """The customer id of each phone number (``phone:+8809356524432``), <NA> for no number.

    ``countries`` (ISO codes or common names, aligned with ``phones``) gives national numbers
    their calling code. Each distinct (phone, country) pair is normalised once.
    """
    phones = phones.astype("string").reset_index(drop=True)
    if countries is None:
        countries = pd.Series(pd.NA, index=phones.index, dtype="string")
    pairs = pd.DataFrame(
        {"phone": phones, "country": countries.astype("string").reset_index(drop=True)}
    )
    present = pairs["phone"].notna().to_numpy(bool)
    out = pd.Series(pd.NA, index=phones.index, dtype="string")
    if present.any():
        distinct = pairs[present].drop_duplicates()
        keys = pd.Series(
            [_phone_id(p, c) for p, c in zip(distinct["phone"], distinct["country"], strict=True)],
            index=pd.MultiIndex.from_frame(distinct),
            dtype="string",
        )
        owners = national_owners(keys.dropna().unique())
        if owners:  # a national number without its country, given with it on another order
            keys = keys.map(owners).fillna(keys).astype("string")
        wanted = pd.MultiIndex.from_frame(pairs[present])
        out[present] = keys.reindex(wanted).to_numpy()
    return out


_CALLING = frozenset(calling for calling, _ in CALLING_CODES.values())


def _national_numbers(digits: str) -> list[str]:
    """The national numbers (as written at home, trunk ``0`` included where dialled) that
    international ``digits`` of a country :data:`CALLING_CODES` knows are; none for another."""
    for length in (1, 2, 3):  # calling codes are prefix-free
        calling, number = digits[:length], digits[length:]
        if calling in _CALLING:
            italian = calling == CALLING_CODES["IT"][0]  # its 0 belongs to the number
            return [number] if italian else [number, "0" + number]
    return []


def national_owners(ids: Any) -> dict[str, str]:
    """Of distinct phone ids, each one of a national number without its country
    (``phone:07700900123``) that is the international number of exactly one other id
    (``phone:+447700900123``), read at home in that number's country or written without its
    ``+`` (``447700900123``): id -> that id.

    A country cell given on one order and left empty on the next, or a number written with
    ``+44`` once and nationally once, is one customer; digits that are a number in two
    countries given among the ids stay the customer of their own, as the country cannot be
    told."""
    international = [i for i in ids if i.startswith(PHONE_ID_PREFIX + "+")]
    national = {i for i in ids if not i.startswith(PHONE_ID_PREFIX + "+")}
    if not international or not national:
        return {}
    found: dict[str, set[str]] = {}
    start = len(PHONE_ID_PREFIX) + 1
    for full in international:
        digits = full[start:]
        for written in (digits, *_national_numbers(digits)):
            if PHONE_ID_PREFIX + written in national:
                found.setdefault(PHONE_ID_PREFIX + written, set()).add(full)
    return {own: next(iter(owners)) for own, owners in found.items() if len(owners) == 1}


def phone_from_id(customer_id: Any) -> str:
    """The phone of a customer identified by phone (``+8809356524432``), '' for other ids."""
    text = cell_text(customer_id)
    return text[len(PHONE_ID_PREFIX) :] if text.startswith(PHONE_ID_PREFIX) else ""
