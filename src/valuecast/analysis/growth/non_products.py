"""Order lines that are no product: shipping, postage, fees, tips, gift wrap, insurance, gift
cards (Ibis).

Line-level logs and some exports write what an order paid besides its products as lines of
their own (``POSTAGE`` in the public Online Retail log, ``Shipping Protection`` or ``Tip`` added
by a shop's apps, ``Versandkosten`` in a German shop).  Counted as products they are in almost
every basket, so they would top the cross-sell pairs and get a replenishment cycle of their own.
Affinity, next products, reminders and the first product leave them out:

* a line is no product when it sells a gift card, as the importers tell it
  (:func:`valuecast.io.line_names.gift_card_lines`: ``Acme Coffee Gift Card``), when its name
  (trimmed, in any case) is one of :data:`NON_PRODUCT_NAMES` or one the merchant names
  (``--not-product``, which the workspace keeps for every later analysis:
  :mod:`valuecast.store.not_products`), or when its product title is (the text before the last
  `` - ``, as Shopify and WooCommerce name a variant: ``Route Package Protection - $1.15``), or
  when its SKU is one of :data:`NON_PRODUCT_SKUS` or one the merchant names;
* the lines left out are counted per name (:func:`non_product_counts`) so that the commands say
  how many they left out and of what.

The names are matched whole, never as a part of a name (a gift card's title after the shop's
brand aside): ``Shipping box`` and ``Gift Card Holder`` stay products.
"""

from __future__ import annotations

from collections.abc import Iterable

import ibis
import ibis.expr.types as ir
import pandas as pd

from valuecast.io.line_names import (
    GIFT_CARD_LINE_NAMES,
    SHIPPING_LINE_NAMES,
    SHIPPING_LINE_SKUS,
    gift_card_lines,
)

__all__ = [
    "NON_PRODUCT_NAMES",
    "NON_PRODUCT_SKUS",
    "VARIANT_TITLE",
    "non_product_counts",
    "non_product_keys",
    "non_product_values",
    "unmatched_names",
    "without_amounts",
    "without_non_products",
]

NON_PRODUCT_NAMES: frozenset[str] = frozenset(
    {
        # handling (the shipping lines' names are SHIPPING_LINE_NAMES, added below)
        "handling", "handling fee",
        # insurance and shipping protection apps
        "insurance", "shipping insurance", "shipping protection", "package protection",
        "order protection", "route package protection", "route shipping protection",
        "shipping protection by route", "navidium shipping protection",
        "corso package protection",
        # tips, gift wrap, fees and adjustments
        "tip", "tips", "gratuity", "gift wrap", "gift wrapping", "gift message",
        "payment fee", "transaction fee", "service fee", "processing fee", "small order fee",
        "cod fee", "cash on delivery fee", "surcharge", "card surcharge", "bank charges",
        "amazon fee", "cruk commission", "manual", "discount", "adjustment",
        "adjust bad debt", "deposit", "bottle deposit",
        # donations and carbon offsets a checkout app adds (round up for charity, a tree
        # planted, the parcel's emissions): given away, not bought
        "donation", "donations", "charity donation", "round up donation", "round-up donation",
        "round up for charity", "carbon offset", "carbon neutral shipping",
        "carbon neutral delivery", "spende", "donación", "doação", "donazione",
        "donatie", "darowizna",
        # German
        "geschenkverpackung", "trinkgeld", "versicherung",
        "versandversicherung", "nachnahmegebühr", "zahlungsgebühr", "pfand",
        # French
        "emballage cadeau", "papier cadeau", "pourboire", "assurance",
        "assurance livraison",
        # Spanish and Portuguese
        "papel de regalo", "envoltorio de regalo", "propina",
        "seguro de envío", "embrulho para presente", "gorjeta",
        # Italian
        "confezione regalo", "mancia", "assicurazione",
        # Dutch and the Nordic languages
        "cadeauverpakking", "fooi", "presentinslagning", "dricks",
        # Polish
        "napiwek",
    }
) | SHIPPING_LINE_NAMES | GIFT_CARD_LINE_NAMES  # fmt: skip
"""Line names (lower case) that are no product, in the languages of most shops: shipping
(:data:`valuecast.io.line_names.SHIPPING_LINE_NAMES`, whose amount is the order's shipping),
fees, tips, gift wrap, insurance, gift cards (``GIFT_CARD_LINE_NAMES``: money paid ahead, which
no customer pairs with a product or buys again on a cycle), donations."""

NON_PRODUCT_SKUS: frozenset[str] = (
    frozenset({"bank charges", "amazonfee", "cruk", "tip"}) | SHIPPING_LINE_SKUS
)
"""SKUs (lower case) that are no product: the Online Retail log's postage, carriage and fee codes."""


_CURRENCY = r"(?:[$€£¥₹]|\b(?:usd|eur|gbp|cad|aud|nzd|chf|sek|nok|dkk|pln|kr|zł|zl)\b)"
AMOUNT = rf"{_CURRENCY}?\s*\d+(?:[.,]\d+)*\s*(?:{_CURRENCY}|%)?"
"""A money amount or a percentage as a line name writes it (``$50``, ``50 EUR``, ``€25.00``,
``15%``): taken out of a name before it is compared (``Gift card $50``, ``$50 Gift Card``,
``Tip (15%)``), as a gift card's or a tip's amount names no other product."""
_AROUND = r"^[\s:()\[\]\-–—/|,.]+|[\s:()\[\]\-–—/|,.]+$|\(\s*\)|\[\s*\]"
"""The punctuation an amount taken out leaves at either end of a name, or as empty brackets."""

VARIANT_TITLE = r"^(.*) - "
"""A regular expression whose group is the product title of a line named ``Title - Variant``
(the text before the last `` - ``), as Shopify and WooCommerce name a variant (``Coffee -
250g``); the same text for Python's and the engines' regular expressions."""


def _lowered(names: Iterable[str]) -> list[str]:
    return sorted({" ".join(str(name).split()).lower() for name in names if str(name).strip()})


def non_product_keys(extra: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """The names and the SKUs (lower case) that are no product: the built-in ones and ``extra``
    (names or SKUs the merchant gives, matched as either)."""
    given = _lowered(extra)
    return _lowered([*NON_PRODUCT_NAMES, *given]), _lowered([*NON_PRODUCT_SKUS, *given])


def non_product_values(keys: ir.Table, extra: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """The ``_product`` values and the ``_sku`` values of the lines that are no product.

    ``keys`` holds each line's ``_product`` (its trimmed name, else its SKU) and ``_sku`` (the
    trimmed SKU), one row per distinct pair: a catalogue, read whole and matched here in one
    vectorised pass (matched in the engine, the filter would be pushed below the distinct and
    read every line's name), so that the lines are filtered by two short lists (none, and no
    filter, in a shop whose lines are all products).
    """
    names, skus = non_product_keys(extra)
    frame = keys.select("_product", "_sku").to_pandas()
    lowered = frame["_product"].astype("string").str.split().str.join(" ").str.lower()
    title = lowered.str.extract(VARIANT_TITLE, expand=False).str.strip()
    unpriced = without_amounts(lowered)
    by_name = (lowered.isin(names) | title.isin(names) | unpriced.isin(names)).fillna(False)
    # a gift card sold, as the importers tell it: no output names as a product what no revenue
    # counts as one
    by_name = by_name.to_numpy(bool) | gift_card_lines(frame["_product"].astype("string"))
    sku = frame["_sku"].astype("string")
    by_sku = sku.str.lower().isin(skus).fillna(False).to_numpy(bool) & sku.notna().to_numpy(bool)
    return (
        sorted(set(frame["_product"][by_name].astype(str))),
        sorted(set(sku[by_sku].astype(str))),
    )


def without_amounts(names: pd.Series) -> pd.Series:
    """``names`` (lower case) with their money amounts and percentages taken out
    (:data:`AMOUNT`) and the punctuation left around them, ``<NA>`` where a name holds none or
    is nothing else: ``gift card $50``, ``$50 gift card`` and ``gift card (€50)`` are each
    ``gift card``, and ``tip (15%)`` is ``tip``."""
    text = names.astype("string")
    taken = text.str.replace(AMOUNT, " ", regex=True)
    trimmed = taken.str.split().str.join(" ")
    for _ in range(2):  # the brackets emptied, then the punctuation before them
        trimmed = trimmed.str.replace(_AROUND, "", regex=True).str.strip()
    return trimmed.mask((taken == text) | (trimmed == ""))


def unmatched_names(keys: ir.Table, extra: Iterable[str]) -> list[str]:
    """The names of ``extra`` (as given) that no line of the catalogue ``keys`` (as
    :func:`non_product_values` reads it) carries as its name, its product title or its SKU: a
    name mistyped, or of a product the shop no longer sells, leaves nothing out."""
    given: dict[str, str] = {}
    for name in extra:
        given.setdefault(" ".join(str(name).split()).lower(), str(name))
    given.pop("", None)
    if not given:
        return []
    frame = keys.select("_product", "_sku").to_pandas()
    lowered = frame["_product"].astype("string").str.lower()
    title = lowered.str.extract(VARIANT_TITLE, expand=False).str.strip()
    sku = frame["_sku"].astype("string").str.lower()
    seen = set(lowered.dropna()) | set(title.dropna()) | set(sku.dropna())
    return [name for key, name in given.items() if key not in seen]


def _is_non_product(lines: ir.Table, values: tuple[list[str], list[str]]) -> ir.BooleanValue:
    products, skus = values
    by_name = lines._product.isin(products) if products else ibis.literal(False)
    by_sku = lines._sku.isin(skus).fill_null(False) if skus else ibis.literal(False)
    return by_name | by_sku


def without_non_products(lines: ir.Table, values: tuple[list[str], list[str]]) -> ir.Table:
    """``lines`` (with ``_product`` and ``_sku``) without those that are no product: ``values``
    as :func:`non_product_values` gives them."""
    if not values[0] and not values[1]:
        return lines
    return lines.filter(~_is_non_product(lines, values))


def non_product_counts(
    lines: ir.Table, values: tuple[list[str], list[str]], orders: ir.Table | None = None
) -> pd.DataFrame:
    """``name, lines``: the lines that are no product (``values`` as :func:`non_product_values`
    gives them), per line name (else SKU), most first.

    ``lines`` as :func:`without_non_products` takes them; ``orders`` (an ``_order`` column), when
    given, keeps only the lines of those orders.
    """
    empty = pd.DataFrame({"name": pd.Series(dtype="string"), "lines": pd.Series(dtype="int64")})
    if not values[0] and not values[1]:
        return empty
    left_out = lines.filter(_is_non_product(lines, values))
    if orders is not None:
        left_out = left_out.semi_join(orders, "_order")
    counted = left_out.group_by(name=left_out._product).aggregate(lines=left_out.count())
    frame = counted.to_pandas()
    if not len(frame):
        return empty
    frame = frame.astype({"name": "string", "lines": "int64"})
    return frame.sort_values(["lines", "name"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )
