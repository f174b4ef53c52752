"""The order lines of a line-level log that are the order's shipping or a gift card sold, told by
their name or SKU.

A line-level log (one row per invoice line, no order total) writes what an order paid for its
delivery as a line of its own: ``Shipping``, ``POSTAGE`` (the public Online Retail log, SKU
``POST``), ``Versandkosten``.  Revenue is without shipping on every platform's export, so the
importer counts such a line's amount as the order's shipping, not its revenue
(:func:`shipping_lines`).  The names are matched whole, in any case and spacing, never as a part
of a name: ``Shipping box`` stays a product.  A gift card sold (``Gift Card``, ``Gift card
$50``: :func:`gift_card_lines`) is money held for the customer, revenue when it is spent on the
order it pays for, as Shopify's reports count it, so its amount is no revenue of the order that
sold it.  The growth tables' non-products
(:mod:`valuecast.analysis.growth.non_products`) include them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "GIFT_CARD_LINE_NAMES",
    "SHIPPING_LINE_NAMES",
    "SHIPPING_LINE_SKUS",
    "gift_card_lines",
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

GIFT_CARD_LINE_NAMES: frozenset[str] = frozenset(
    {
        "gift card", "giftcard", "gift-card", "e-gift card", "digital gift card",
        "gift cards", "giftcards", "e-gift cards", "digital gift cards", "egift card",
        "egift cards", "e-giftcard", "egiftcard", "egift", "e-gift", "virtual gift card",
        "electronic gift card", "physical gift card", "printed gift card", "gift voucher",
        "gift vouchers", "e-gift voucher", "gift certificate", "gift certificates",
        "e-gift certificate", "geschenkkarte", "geschenkgutschein", "gutschein",
        "carte cadeau", "carte-cadeau", "bon cadeau", "tarjeta regalo", "tarjeta de regalo",
        "cartão presente", "cartão-presente", "vale-presente", "buono regalo", "carta regalo",
        "cadeaukaart", "cadeaubon", "presentkort", "gavekort", "lahjakortti",
        "karta podarunkowa", "bon podarunkowy",
    }
)  # fmt: skip
"""Line names (lower case, single-spaced) of a gift card sold, in most shops' languages."""

_AMOUNT = (
    r"(?:[$€£¥₹]|\b(?:usd|eur|gbp|cad|aud|nzd|chf|sek|nok|dkk|pln|kr|zł|zl)\b)?\s*\d+(?:[.,]\d+)*"
    r"\s*(?:[$€£¥₹]|\b(?:usd|eur|gbp|cad|aud|nzd|chf|sek|nok|dkk|pln|kr|zł|zl)\b)?"
)
"""A money amount as a gift card's line name writes it (``$50``, ``50 EUR``, ``€25.00``)."""
_AROUND = r"^[\s:()\[\]\-–—/|,.]+|[\s:()\[\]\-–—/|,.]+$|\(\s*\)|\[\s*\]"
"""The punctuation an amount taken out leaves at either end of a name, or as empty brackets."""

SHIPPING_LINE_SKUS: frozenset[str] = frozenset({"post", "dot", "c2", "shipping"})
"""SKUs (lower case) of shipping lines: the Online Retail log's postage and carriage codes."""


def _lowered(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Cells lower-cased, trimmed and single-spaced, as the names above are written."""
    spaced = pc.replace_substring_regex(text, r"\s+", " ")
    return pc.utf8_lower(pc.utf8_trim_whitespace(spaced))


def _among(text: pa.ChunkedArray, values: frozenset[str]) -> np.ndarray:
    found = pc.is_in(_lowered(text), value_set=pa.array(sorted(values), pa.string()))
    return np.asarray(pc.fill_null(found, False).to_numpy(zero_copy_only=False), dtype=bool)


def gift_card_lines(product: pa.ChunkedArray) -> np.ndarray:
    """Per line, whether it sells a gift card: its name, whole or less its amount (``Gift card
    $50``, ``$25 Gift Card``, ``Gift Card (€50)``), is one of :data:`GIFT_CARD_LINE_NAMES`."""
    lowered = _lowered(product)
    unpriced = pc.replace_substring_regex(lowered, _AMOUNT, " ")
    for _ in range(2):  # the brackets emptied, then the punctuation before them
        unpriced = pc.replace_substring_regex(_lowered(unpriced), _AROUND, "")
    value_set = pa.array(sorted(GIFT_CARD_LINE_NAMES), pa.string())
    found = pc.or_(pc.is_in(lowered, value_set=value_set), pc.is_in(unpriced, value_set=value_set))
    return np.asarray(pc.fill_null(found, False).to_numpy(zero_copy_only=False), dtype=bool)


def shipping_lines(product: pa.ChunkedArray, sku: pa.ChunkedArray) -> np.ndarray:
    """Per line, whether it is the order's shipping: its name is one of
    :data:`SHIPPING_LINE_NAMES`, or it has no name and its SKU is one of
    :data:`SHIPPING_LINE_SKUS` (or a SKU of those beside a shipping name, as the Online Retail
    log writes ``POST, POSTAGE``)."""
    by_name = _among(product, SHIPPING_LINE_NAMES)
    unnamed = np.asarray(pc.is_null(product).to_numpy(zero_copy_only=False), dtype=bool)
    by_sku = _among(sku, SHIPPING_LINE_SKUS)
    return by_name | (unnamed & by_sku)
