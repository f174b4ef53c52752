"""Currencies: multi-currency ingests need --fx rates; with them, amounts convert to the base."""

from __future__ import annotations

import pytest

from valuecast.io import apply_fx, load_rates, read_exports, shopify
from valuecast.io.schema import InputError


def _two_currency_shopify(exports, write):
    rows = []
    for name, currency, subtotal in (
        ("#1", "USD", 100.0),
        ("#2", "USD", 50.0),
        ("#3", "CAD", 80.0),
    ):
        rows += exports.shopify_order(
            name, "a@x.com", "2024-01-01 10:00:00 -0500", lines=[("A", 1, subtotal)],
            Currency=currency,
        )  # fmt: skip
    rows += exports.shopify_order(
        "#4", "b@x.com", "2024-01-02 10:00:00 -0500", Currency="EUR", Financial_Status="voided"
    )
    return write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows)


def test_several_currencies_without_rates_is_an_error_listing_them(exports, write):
    path = _two_currency_shopify(exports, write)
    with pytest.raises(InputError) as info:
        read_exports([path])
    message = str(info.value)
    assert "USD (2 orders), CAD (1 order)" in message and "--fx" in message
    assert "EUR" not in message  # only counted orders matter
    assert "\n" not in message


def test_rates_convert_every_amount_to_the_base(exports, write, tmp_path):
    path = _two_currency_shopify(exports, write)
    rates_path = tmp_path / "rates.csv"
    rates_path.write_text("currency,rate\nusd,1\nCAD,0.75\nEUR,1.10\n")
    (result,) = read_exports([path], fx=rates_path)
    orders = result.orders.set_index("order_number")
    assert orders["currency"].unique().tolist() == ["USD"]
    assert orders.loc["#3", "net_revenue"] == pytest.approx(60.0)
    assert orders.loc["#3", "gross_revenue"] == pytest.approx(85 * 0.75)
    assert orders.loc["#3", "shipping"] == pytest.approx(5 * 0.75)
    assert orders.loc["#1", "net_revenue"] == pytest.approx(100.0)
    lines = result.order_lines.set_index("order_id")
    assert lines.loc["shopify:#3", "unit_price"] == pytest.approx(60.0)
    assert result.excluded_revenue["voided"] == pytest.approx(15 * 1.10)
    plain = shopify.read_orders(path)
    assert plain.excluded_revenue["voided"] == pytest.approx(15.0)
    # the report's currencies are the base's now: a note keeps what the file held
    assert result.notes == ["converted to USD with rates.csv: CAD (1 order)"]


def test_missing_rate_and_bad_rate_files(exports, write, tmp_path):
    path = _two_currency_shopify(exports, write)
    rates_path = tmp_path / "rates.csv"
    rates_path.write_text("currency,rate\nUSD,1\n")
    with pytest.raises(InputError, match=r"no rate for CAD \(1 order\)"):
        read_exports([path], fx=rates_path)
    rates_path.write_text("currency,rate\nUSD,1\nCAD,-2\n")
    with pytest.raises(InputError) as info:
        load_rates(rates_path)
    assert (info.value.row, info.value.column) == (3, "rate")
    rates_path.write_text("currency,rate\nUSD,1\nUSD,1.2\n")
    with pytest.raises(InputError, match="twice"):
        load_rates(rates_path)
    rates_path.write_text("currency,rate\nUSD,0.9\nCAD,0.7\n")
    with pytest.raises(InputError, match="base currency"):
        load_rates(rates_path)
    rates_path.write_text("code,value\nUSD,1\n")
    with pytest.raises(InputError) as info:
        load_rates(rates_path)
    assert info.value.column == "rate"


def test_currencies_are_checked_across_the_files_of_one_ingest(exports, write):
    one = write(
        "a.csv",
        exports.SHOPIFY_ORDERS_HEADER,
        exports.shopify_order("#1", "a@x.com", "2024-01-01 00:00:00 +0000", Currency="USD"),
    )
    two = write("b.csv", exports.SHOPIFY_ORDERS_HEADER,
                exports.shopify_order("#2", "a@x.com", "2024-01-01 00:00:00 +0000", Currency="GBP"))  # fmt: skip
    assert len(read_exports([one])) == 1
    with pytest.raises(InputError, match="GBP"):
        read_exports([one, two])


def test_single_currency_passes_through_unchanged(exports, write):
    path = write("a.csv", exports.SHOPIFY_ORDERS_HEADER,
                 exports.shopify_order("#1", "a@x.com", "2024-01-01 00:00:00 +0000"))  # fmt: skip
    result = shopify.read_orders(path)
    (checked,) = apply_fx([result], None)
    assert checked is result


def test_orders_naming_no_currency_are_converted_from_the_others_one(write, tmp_path):
    """A file of dollars with two blank currency cells: without rates the blanks are dollars
    (as the others are), so with rates they are converted from dollars too, and noted; where
    the orders name several currencies, a blank one is in the base, and noted so."""
    header = ["order", "customer", "date", "amount", "currency"]
    mapping = "order_id=order,customer_id=customer,ordered_at=date,revenue=amount,currency=currency"
    rates_path = tmp_path / "rates.csv"
    rates_path.write_text("currency,rate\nEUR,1\nUSD,0.9\nGBP,1.25\n")

    def converted(name, currencies):
        rows = [{"order": str(n), "customer": "a", "date": f"2024-01-0{n}", "amount": "100.00",
                 "currency": code} for n, code in enumerate(currencies, start=1)]  # fmt: skip
        path = write(name, header, rows)
        (result,) = read_exports([path], column_map=mapping, fx=rates_path)
        return result.orders["net_revenue"].tolist(), result.notes

    amounts, notes = converted("usd.csv", ["USD", "", "USD", ""])
    assert amounts == pytest.approx([90.0] * 4)
    assert notes == [
        "2 orders name no currency: taken to be in USD, as the others are",
        "converted to EUR with rates.csv: USD (4 orders)",
    ]
    amounts, notes = converted("mixed.csv", ["USD", "", "GBP"])
    assert amounts == pytest.approx([90.0, 100.0, 125.0])
    assert notes[0] == "1 order names no currency: taken to be in EUR, the base of rates.csv"


def test_a_rate_file_writes_its_currencies_as_the_orders_may(tmp_path):
    """A rate file of € and zł (as the orders' currency cells are read) had no rate for EUR."""
    path = tmp_path / "fx.csv"
    path.write_text("currency;rate\n€;1\nzł;0,23\nEuro ;1\n", encoding="utf-8")
    with pytest.raises(InputError, match="EUR is listed twice"):
        load_rates(path)
    path.write_text("currency;rate\n€;1\nzł;0,23\n", encoding="utf-8")
    rates = load_rates(path)
    assert (rates.base, rates.rates) == ("EUR", {"EUR": 1.0, "PLN": 0.23})
