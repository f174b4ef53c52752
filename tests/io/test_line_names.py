"""A gift card sold told by its line's name, alike by every importer and route.

The line-level importer (:func:`valuecast.io.line_names.gift_card_lines`), the growth tables'
non-products and the SQL the Shopify route runs (:func:`valuecast.io.line_names.gift_card_sql`)
tell the same names a gift card: a false one takes a real product's revenue away, a missed one
counts money held for a customer as a sale and makes a product of it.
"""

from __future__ import annotations

import duckdb
import ibis
import pandas as pd
import pyarrow as pa
import pytest

from valuecast.analysis.growth.non_products import non_product_values
from valuecast.io.line_names import GIFT_CARD_LINE_NAMES, gift_card_lines, gift_card_sql

GIFT_CARDS = [
    # as shops name them: a brand or an occasion before, a form or an amount after
    "Gift Card", "Gift card $50", "Gift Card (Digital)", "Acme Coffee Gift Card",
    "Acme Coffee Gift Card - $25", "E-Gift Card - $50", "Digital gift card", "Gift Voucher",
    "Dotcomgiftshop Gift Voucher £20.00", "Gift Card - Happy Birthday", "The Acme eGift Card",
    "Gift Certificate [Printed] - $100", "Birthday Gift Card", "Coffee-Lover's Gift Card",
    # German, French, Spanish, Portuguese, Italian, Dutch, Nordic, Polish
    "Geschenkgutschein 25 €", "Gutschein (Digital)", "Acme Geschenkkarte", "Carte cadeau",
    "Carte cadeau numérique", "Chèque cadeau 30 €", "Tarjeta regalo digital",
    "Tarjeta de regalo - 20 €", "Cartão de presente", "Buono regalo digitale",
    "Digitale cadeaubon", "Presentkort 500 kr", "Gavekort", "Karta podarunkowa 100 zł",
]  # fmt: skip

PRODUCTS = [
    # goods whose names hold a gift card's words, and other gift things
    "Gift Box of Chocolates", "Gift Wrap", "Card Holder", "Birthday Card", "Voucher Holder",
    "Gift Card Holder", "Gift Card Holder - Leather", "Gift Voucher Holder", "Giftcard Wallet",
    "Holder for Gift Cards", "Envelope for a Gift Card", "Set of 3 Gift Cards",
    "Gift Cardigan", "Gift Set", "Gift Tag", "Christmas Card", "Postcard", "Voucher",
    "Gift", "Geschenkbox", "Rabatt Gutschein", "Porte-carte cadeau", "Shampoo",
]  # fmt: skip


def _python(names: list[str]) -> list[bool]:
    return gift_card_lines(pa.chunked_array([pa.array(names, pa.string())])).tolist()


def _sql(names: list[str]) -> list[bool]:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest(?::VARCHAR[]) AS name, "
                "generate_subscripts(?::VARCHAR[], 1) AS i", [names, names])  # fmt: skip
    rows = con.execute(f"SELECT {gift_card_sql('name')} FROM t ORDER BY i").fetchall()
    return [row[0] for row in rows]


def _not_products(names: list[str]) -> list[bool]:
    keys = ibis.memtable(pd.DataFrame({"_product": names, "_sku": [None] * len(names)}))
    left_out = set(non_product_values(keys)[0])
    return [name in left_out for name in names]


@pytest.mark.parametrize("name", GIFT_CARDS)
def test_a_gift_card_as_shops_name_it_is_told(name):
    assert _python([name]) == [True]


@pytest.mark.parametrize("name", PRODUCTS)
def test_a_product_named_with_a_gift_cards_words_is_no_gift_card(name):
    assert _python([name]) == [False]


def test_the_sql_and_the_growth_tables_tell_the_same_names():
    names = [*GIFT_CARDS, *PRODUCTS, "gift  CARD\t$5", "", " "]
    told = _python(names)
    assert _sql(names) == told
    # the growth tables leave out every gift card, and of the products only the fees among them
    fees = {"Gift Wrap"}
    assert _not_products(names) == [t or name in fees for t, name in zip(told, names, strict=True)]
    assert _python([None]) == [False] and _sql([None]) == [False]


def test_every_listed_name_is_a_gift_card_on_both_engines():
    names = sorted(GIFT_CARD_LINE_NAMES)
    assert all(_python(names)) and all(_sql(names))


def test_names_already_told_are_not_matched_again_and_tell_the_same(monkeypatch):
    # the regular expressions compile on every matching: a name told once is looked up
    from valuecast.io import line_names

    monkeypatch.setattr(line_names, "_KNOWN_NAMES", {})
    matched, match = [], line_names._matched_gift_card_names

    def counted(names):
        matched.append(names.to_pylist())
        return match(names)

    monkeypatch.setattr(line_names, "_matched_gift_card_names", counted)
    names = ["Acme Coffee Gift Card", "Holder for Gift Cards", None, "Acme Coffee Gift Card"]
    first = gift_card_lines(pa.array(names))
    assert first.tolist() == [True, False, False, True]
    assert matched == [["Acme Coffee Gift Card", "Holder for Gift Cards"]]
    again = gift_card_lines(pa.array(["Gift Voucher", *names]))
    assert again.tolist() == [True, *first.tolist()]
    assert matched[1:] == [["Gift Voucher"]]  # only the new name
    # past the most names kept, the lookup starts again, with the same answers
    monkeypatch.setattr(line_names, "KNOWN_NAMES_MAX", 2)
    assert gift_card_lines(pa.array(["Carte cadeau", *names])).tolist() == again.tolist()
    assert line_names._KNOWN_NAMES == {"Carte cadeau": True}
    # a call of more distinct names than are looked up matches them all, as before
    monkeypatch.setattr(line_names, "LOOKED_UP_MAX", 1)
    assert gift_card_lines(pa.array(names)).tolist() == first.tolist()
    assert matched[-1] == ["Acme Coffee Gift Card", "Holder for Gift Cards"]
