"""The order lines of a line-level log that are the order's shipping or a gift card sold, told by
their name or SKU.

A line-level log (one row per invoice line, no order total) writes what an order paid for its
delivery as a line of its own: ``Shipping``, ``POSTAGE`` (the public Online Retail log, SKU
``POST``), ``Versandkosten``.  Revenue is without shipping on every platform's export, so the
importer counts such a line's amount as the order's shipping, not its revenue
(:func:`shipping_lines`).  The names are matched whole, in any case and spacing, never as a part
of a name: ``Shipping box`` stays a product.  A gift card sold (``Gift Card``, ``Gift card
$50``, ``Acme Coffee Gift Card``: :func:`gift_card_lines`) is money held for the customer,
revenue when it is spent on the order it pays for, as Shopify's reports count it, so its amount
is no revenue of the order that sold it.  A gift card's name is its title after a brand or an
occasion at most, never a part of other goods' names (``Gift Card Holder``, ``Holder for Gift
Cards``): a name told wrongly takes a product's revenue away.  The Shopify importer and both
SQL routes tell gift cards by the same regular expressions (:func:`gift_card_sql`).  The growth
tables' non-products (:mod:`valuecast.analysis.growth.non_products`) include them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from valuecast.io.schema import sql_string

__all__ = [
    "GIFT_CARD_HELD_BY",
    "GIFT_CARD_LINE_NAMES",
    "GIFT_CARD_TITLES",
    "SHIPPING_LINE_NAMES",
    "SHIPPING_LINE_SKUS",
    "gift_card_lines",
    "gift_card_sql",
    "shipping_lines",
]

SHIPPING_LINE_NAMES: frozenset[str] = frozenset(
    {
        # English
        "shipping", "shipping fee", "shipping fees", "shipping cost", "shipping costs",
        "shipping charge", "shipping charges", "shipping & handling", "shipping and handling",
        "s&h", "postage", "postage and packing", "postage & packing", "postage and packaging",
        "p&p", "dotcom postage", "carriage", "delivery", "delivery fee", "delivery charge",
        "delivery charges", "freight", "express shipping", "standard shipping",
        "international shipping", "free shipping",
        # German
        "versand", "versandkosten", "versandgebühr", "versandpauschale", "lieferung",
        "liefergebühr", "lieferkosten",
        # French
        "livraison", "frais de livraison", "frais de port", "expédition", "frais d'expédition",
        # Spanish and Portuguese
        "envío", "envio", "gastos de envío", "gastos de envio", "costo de envío",
        "coste de envío", "frete", "portes",
        # Italian
        "spedizione", "spese di spedizione", "costi di spedizione",
        # Dutch and the Nordic languages
        "verzending", "verzendkosten", "bezorging", "bezorgkosten", "frakt", "fragt",
        "fraktavgift", "leverans",
        # Polish
        "wysyłka", "dostawa", "koszt wysyłki",
    }
)  # fmt: skip
"""Line names (lower case, single-spaced) that are an order's shipping, in most shops' languages."""

GIFT_CARD_TITLES: frozenset[str] = frozenset(
    {
        # English
        "gift card", "giftcard", "gift-card", "e-gift card", "digital gift card",
        "gift cards", "giftcards", "e-gift cards", "digital gift cards", "egift card",
        "egift cards", "e-giftcard", "egiftcard", "virtual gift card",
        "electronic gift card", "physical gift card", "printed gift card", "gift voucher",
        "gift vouchers", "e-gift voucher", "egift voucher", "gift certificate",
        "gift certificates", "e-gift certificate",
        # German
        "geschenkkarte", "geschenkkarten", "geschenkgutschein", "geschenkgutscheine",
        "geschenk-gutschein",
        # French (the adjective after the noun)
        "carte cadeau", "carte-cadeau", "cartes cadeaux", "cartes-cadeaux", "e-carte cadeau",
        "carte cadeau numérique", "carte-cadeau numérique", "carte cadeau virtuelle",
        "carte cadeau électronique", "bon cadeau", "bons cadeaux", "chèque cadeau",
        "chèque-cadeau", "chèques cadeaux",
        # Spanish and Portuguese
        "tarjeta regalo", "tarjeta de regalo", "tarjetas regalo", "tarjetas de regalo",
        "tarjeta regalo digital", "tarjeta de regalo digital", "tarjeta regalo virtual",
        "vale regalo", "cheque regalo", "cartão presente", "cartão-presente",
        "cartão de presente", "cartões presente", "cartão presente digital", "vale-presente",
        "vale presente",
        # Italian
        "buono regalo", "buoni regalo", "buono regalo digitale", "carta regalo",
        "carte regalo", "carta regalo digitale",
        # Dutch and the Nordic languages
        "cadeaukaart", "cadeaukaarten", "cadeaubon", "cadeaubonnen", "presentkort",
        "gåvokort", "gavekort", "lahjakortti",
        # Polish
        "karta podarunkowa", "karty podarunkowe", "bon podarunkowy", "bony podarunkowe",
        "voucher podarunkowy",
    }
)  # fmt: skip
"""Names (lower case, single-spaced) of a gift card that the shop's brand or an occasion may
come before (``Acme Coffee Gift Card``, ``Digitale cadeaubon``): unambiguous, in most shops'
languages."""

GIFT_CARD_LINE_NAMES: frozenset[str] = GIFT_CARD_TITLES | frozenset(
    {"egift", "e-gift", "gutschein", "gutscheine", "e-gutschein"}
)
"""Line names (lower case, single-spaced) of a gift card sold: :data:`GIFT_CARD_TITLES` and the
names a gift card takes only alone (``Gutschein`` names a discount voucher too: ``Rabatt
Gutschein``)."""

GIFT_CARD_HELD_BY = (
    "for", "with", "without", "of", "in", "to", "für", "mit", "ohne", "pour", "avec", "sans",
    "para", "con", "com", "sem", "per", "voor", "met", "zonder", "för", "med", "til", "dla",
)  # fmt: skip
"""Words that make the gift card named after them part of other goods (``Holder for Gift
Cards``, ``Set of 3 Gift Cards``, ``Envelope for a Gift Card``)."""

_CURRENCY = r"(?:[$€£¥₹]|zł|\b(?:usd|eur|gbp|cad|aud|nzd|chf|sek|nok|dkk|pln|kr|zl)\b)"
_AMOUNT = rf"(?i){_CURRENCY}?\s*\d+(?:[.,]\d+)*\s*{_CURRENCY}?"
"""A money amount as a gift card's line name writes it (``$50``, ``50 EUR``, ``€25.00``)."""
_AROUND = r"^[\s:()\[\]\-–—/|,.]+|[\s:()\[\]\-–—/|,.]+$|\(\s*\)|\[\s*\]"
"""The punctuation an amount taken out leaves at either end of a name, or as empty brackets."""

_SPACES = r"\s{2,}|[^\S ]"
"""Whitespace other than one space: made one space (matching only those, a name of single
spaces costs one pass)."""

_GIFT_CARD_TITLE_STEPS: tuple[tuple[str, str], ...] = (
    (_SPACES, " "),
    (_AMOUNT, " "),
    (_SPACES, " "),
    (r"^ | $", ""),
    # a variant after the title (``Gift Card - Happy Birthday``), then a form in brackets
    # (``Gift Card (Digital)``) or the brackets an amount left
    (r" [-–—]( .*)?$", ""),
    (r" ?[(\[][^()\[\]]*[)\]]$", ""),
    # the punctuation an amount left at either end, or as empty brackets
    (_AROUND, ""),
    (_AROUND, ""),
    (_SPACES, " "),
)
"""The regular expressions (RE2, as Arrow and DuckDB run them) and their replacements that take
a gift card line's name to its title: ``Acme Gift Card (Digital) - $50`` to ``Acme Gift Card``."""


def _alternation(names: frozenset[str]) -> str:
    escaped = (name.replace(".", r"\.").replace("-", r"\-") for name in names)
    return "|".join(sorted(escaped, key=lambda name: (-len(name), name)))


_WORDS = r"(?:[\p{L}\p{N}'’&.][\p{L}\p{N}'’&.\-]* ){0,5}"
"""Up to five words (a brand, an occasion) before a gift card's title."""
_HELD = (
    rf"(?i)(?:^| )(?:{'|'.join(GIFT_CARD_HELD_BY)}) {_WORDS}(?:{_alternation(GIFT_CARD_TITLES)})$"
)
"""A title naming goods that hold or come with gift cards (:data:`GIFT_CARD_HELD_BY`): made
``#``, which no gift card's title holds."""
_GIFT_CARD_STEPS = (*_GIFT_CARD_TITLE_STEPS, (_HELD, "#"))
GIFT_CARD_TITLE = (
    rf"(?i)^(?:{_WORDS}(?:{_alternation(GIFT_CARD_TITLES)})"
    rf"|(?:{_alternation(GIFT_CARD_LINE_NAMES - GIFT_CARD_TITLES)}))$"
)
"""A gift card's title (:data:`_GIFT_CARD_TITLE_STEPS`): one of :data:`GIFT_CARD_LINE_NAMES`,
or of :data:`GIFT_CARD_TITLES` after a few words, in any case."""
GIFT_CARD_HINT = "(?i)" + _alternation(GIFT_CARD_LINE_NAMES).replace(" ", r"\s+")
"""A name of :data:`GIFT_CARD_LINE_NAMES` anywhere in a line's name, spaced in any way: the
names without one (most) are told at the cost of one match, in a catalogue and over an
export's rows."""

SHIPPING_LINE_SKUS: frozenset[str] = frozenset({"post", "dot", "c2", "shipping"})
"""SKUs (lower case) of shipping lines: the Online Retail log's postage and carriage codes."""


_SHIPPING_NAME_FIRST = (
    "^(?:" + "|".join(re.escape(name) for name in sorted(SHIPPING_LINE_NAMES)) + ") "
)
"""A lower-cased name that begins with a shipping name and a space (``postage france``)."""


def _lowered(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Cells lower-cased, trimmed and single-spaced, as the names above are written."""
    spaced = pc.replace_substring_regex(text, r"\s+", " ")
    return pc.utf8_lower(pc.utf8_trim_whitespace(spaced))


def _among(text: pa.ChunkedArray, values: frozenset[str]) -> np.ndarray:
    found = pc.is_in(_lowered(text), value_set=pa.array(sorted(values), pa.string()))
    return np.asarray(pc.fill_null(found, False).to_numpy(zero_copy_only=False), dtype=bool)


def gift_card_lines(product: pa.ChunkedArray | pa.Array | Sequence[str | None]) -> np.ndarray:
    """Per line, whether it sells a gift card: its name less its amount (``Gift card $50``,
    ``$25 Gift Card``, ``Gift Card (€50)``), its variant (``Gift Card - Happy Birthday``) and a
    form in brackets (``Gift Card (Digital)``) is one of :data:`GIFT_CARD_LINE_NAMES`, or of
    :data:`GIFT_CARD_TITLES` after a brand or an occasion (``Acme Coffee Gift Card``), unless a
    word of those makes it goods (``Holder for Gift Cards``: :data:`GIFT_CARD_HELD_BY`).

    The names are matched once each (a log repeats its catalogue over every line), by the
    regular expressions :func:`gift_card_sql` gives DuckDB: both run RE2.  ``product`` is Arrow
    text, or a pandas Series of it (missing values are no gift card).
    """
    text = (
        product
        if isinstance(product, pa.Array | pa.ChunkedArray)
        else pa.array(product, type=pa.string(), from_pandas=True)  # a Series' may be chunked
    )
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    encoded = pc.dictionary_encode(text.cast(pa.string()))
    told = pc.fill_null(pc.take(_gift_card_names(encoded.dictionary), encoded.indices), False)
    return np.asarray(told.to_numpy(zero_copy_only=False), dtype=bool)


_KNOWN_NAMES: dict[str, bool] = {}
"""Names already matched in this process, and whether each is a gift card's."""

KNOWN_NAMES_MAX = 100_000
"""The most names :data:`_KNOWN_NAMES` holds (it starts again past that)."""

LOOKED_UP_MAX = 10_000
"""The most distinct names of one call looked up in :data:`_KNOWN_NAMES`; more are matched
as they are.  The regular expressions are compiled anew on every call (50 ms for the two and
their steps): a small shop's few names, matched by the importer and again by the analysis,
would pay that each time for a few microseconds of matching."""


def _gift_card_names(names: pa.Array) -> pa.Array:
    """Per distinct name (none missing), whether it is a gift card's."""
    if len(names) > LOOKED_UP_MAX:
        return _matched_gift_card_names(names)
    listed = names.to_pylist()
    told = {name: _KNOWN_NAMES.get(name) for name in listed}
    unknown = [name for name, known in told.items() if known is None]
    if unknown:
        matched = _matched_gift_card_names(pa.array(unknown, pa.string())).to_pylist()
        told.update(zip(unknown, matched, strict=True))
        if len(_KNOWN_NAMES) + len(unknown) > KNOWN_NAMES_MAX:
            _KNOWN_NAMES.clear()
        _KNOWN_NAMES.update(zip(unknown, matched, strict=True))
    return pa.array([told[name] for name in listed], pa.bool_())


def _matched_gift_card_names(names: pa.Array) -> pa.Array:
    title = names
    for pattern, replacement in _GIFT_CARD_STEPS:
        title = pc.replace_substring_regex(title, pattern, replacement)
    return pc.and_(
        pc.match_substring_regex(names, GIFT_CARD_HINT),
        pc.match_substring_regex(title, GIFT_CARD_TITLE),
    )


def gift_card_sql(name: str) -> str:
    """SQL (DuckDB) of :func:`gift_card_lines` over the text column or expression ``name``:
    the same regular expressions, run by the same engine (RE2)."""
    title = name
    for pattern, replacement in _GIFT_CARD_STEPS:
        title = f"regexp_replace({title}, {sql_string(pattern)}, {sql_string(replacement)}, 'g')"
    hint = f"regexp_matches({name}, {sql_string(GIFT_CARD_HINT)})"
    told = f"regexp_matches({title}, {sql_string(GIFT_CARD_TITLE)})"
    return f"coalesce(CASE WHEN {hint} THEN {told} ELSE false END, false)"


def shipping_lines(product: pa.ChunkedArray, sku: pa.ChunkedArray) -> np.ndarray:
    """Per line, whether it is the order's shipping: its name is one of
    :data:`SHIPPING_LINE_NAMES`, or its SKU is one of :data:`SHIPPING_LINE_SKUS` and it has no
    name or a shipping name followed by more words (``POST``, ``POSTAGE FRANCE``: the Online
    Retail log's postage to one country); a name alone never matches in part, so ``Shipping
    box`` stays a product."""
    by_name = _among(product, SHIPPING_LINE_NAMES)
    unnamed = np.asarray(pc.is_null(product).to_numpy(zero_copy_only=False), dtype=bool)
    by_sku = _among(sku, SHIPPING_LINE_SKUS)
    if not by_sku.any():
        return by_name
    named = pc.match_substring_regex(_lowered(product), _SHIPPING_NAME_FIRST)
    named = np.asarray(pc.fill_null(named, False).to_numpy(zero_copy_only=False), dtype=bool)
    return by_name | (by_sku & (unnamed | named))
