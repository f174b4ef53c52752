"""Contact fields as the platforms match them: normalised e-mails, phones, names, places; SHA-256.

Phone numbers: a number written with ``+`` or the international prefix ``00`` (``011`` in the
US and Canada) already has its country code (a bracketed trunk ``(0)`` after it is dropped).
Otherwise, when the customer's country is in :data:`CALLING_CODES`, the number is national: it
keeps its digits if they already start with the calling code and are longer than the country's
longest national number, else the national trunk ``0`` is dropped (except in Italy, where it
belongs to the number) and the calling code prefixed (US ``(616) 954-7888`` -> ``16169547888``,
UK ``07700 900123`` -> ``447700900123``).  For other countries the digits are kept as written
(Google's column then gets ``+`` and those digits, which match nothing if the code is missing).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

import pandas as pd

CALLING_CODES: dict[str, tuple[str, int]] = {
    # ISO country: (calling code, longest national significant number)
    "US": ("1", 10), "CA": ("1", 10), "GB": ("44", 10), "IE": ("353", 9), "FR": ("33", 9),
    "DE": ("49", 11), "AT": ("43", 13), "CH": ("41", 9), "NL": ("31", 9), "BE": ("32", 9),
    "LU": ("352", 11), "ES": ("34", 9), "PT": ("351", 9), "IT": ("39", 11), "DK": ("45", 8),
    "SE": ("46", 9), "NO": ("47", 8), "FI": ("358", 10), "PL": ("48", 9), "CZ": ("420", 9),
    "AU": ("61", 9), "NZ": ("64", 10), "JP": ("81", 10), "KR": ("82", 10), "SG": ("65", 8),
    "HK": ("852", 8), "IN": ("91", 10), "MX": ("52", 10), "BR": ("55", 11), "ZA": ("27", 9),
    "AE": ("971", 9), "IL": ("972", 9), "CN": ("86", 11),
}  # fmt: skip
"""Calling code and longest national number of the countries whose phone numbers get one."""
_KEEPS_TRUNK_ZERO = {"IT"}  # Italian numbers keep their leading 0 after the country code
_NANP = {"US", "CA"}

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
    "israel": "IL", "china": "CN",
}  # fmt: skip

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


def cell_text(value: Any) -> str:
    """A cell as trimmed NFC text; missing values as ''."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return unicodedata.normalize("NFC", str(value)).strip()


def sha256_hex(value: str) -> str:
    """SHA-256 hex digest of ``value`` (UTF-8); the empty string stays empty."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest() if value else ""


def normalize_email(value: Any) -> str:
    """Trimmed, lower-cased e-mail address ('' when missing)."""
    return cell_text(value).lower()


def country_code(value: Any) -> str:
    """ISO 3166-1 alpha-2 code in upper case: 2-letter codes as given, common names mapped."""
    text = " ".join(cell_text(value).lower().replace(".", "").split())
    if text in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[text]
    if len(text) == 2 and text.isascii() and text.isalpha():
        return text.upper()
    return ""


def normalize_phone(phone: Any, country: Any = None) -> str:
    """Digits only with the country code ('' when there are no digits); see the module docstring."""
    # "+44 (0)20 ...": the bracketed trunk 0 is not dialled after the country code
    text = cell_text(phone).lstrip("'").strip().replace("(0)", "")
    digits = re.sub(r"\D", "", text)
    if not digits:
        return ""
    if text.startswith("+"):
        return digits
    code = country_code(country)
    if digits.startswith("00"):
        return digits[2:]
    if code in _NANP and digits.startswith("011"):
        return digits[3:]
    if code not in CALLING_CODES:
        return digits
    calling, longest = CALLING_CODES[code]
    if digits.startswith(calling) and len(digits) > longest:
        return digits
    if code not in _KEEPS_TRUNK_ZERO and digits.startswith("0"):
        digits = digits[1:]
    return calling + digits if digits else ""


def e164_phone(phone: Any, country: Any = None) -> str:
    """``+`` and the digits of :func:`normalize_phone` ('' without digits)."""
    digits = normalize_phone(phone, country)
    return f"+{digits}" if digits else ""


def _without_punctuation(text: str) -> str:
    kept = "".join(c for c in text if not unicodedata.category(c).startswith(("P", "S")))
    return " ".join(kept.split())


def normalize_name(value: Any) -> str:
    """Meta's ``fn``/``ln``: lower case, no punctuation or symbols, single spaces."""
    return _without_punctuation(cell_text(value).lower())


def normalize_city(value: Any) -> str:
    """Meta's ``ct``: lower-case letters only (no spaces, digits or punctuation)."""
    return "".join(c for c in cell_text(value).lower() if c.isalpha())


def normalize_state(value: Any, country: Any = None) -> str:
    """Meta's ``st``: 2-letter code in lower case for the US, else lower-case letters only."""
    text = cell_text(value).lower()
    if country_code(country) == "US":
        name = " ".join(re.sub(r"[^a-z ]", " ", text).split())
        if name in US_STATES:
            return US_STATES[name].lower()
    return "".join(c for c in text if c.isalpha())


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
