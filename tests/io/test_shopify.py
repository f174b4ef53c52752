"""Shopify orders and customers exports."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from valuecast.io import shopify
from valuecast.io.schema import CUSTOMERS_SCHEMA, ORDER_LINES_SCHEMA, ORDERS_SCHEMA, InputError


def _orders(exports, *orders):
    rows = []
    for order in orders:
        rows.extend(exports.shopify_order(**order))
    return rows


def _by_number(result):
    return result.orders.set_index("order_number")


def test_line_item_rows_become_one_order_with_lines(exports, write):
    rows = exports.shopify_order(
        "#1001",
        "pat@example.com",
        "2024-03-05 10:00:00 -0500",
        lines=[("Mug", 2, 12.5), ("Tee", 1, 20.0)],
        Discount_Code="SPRING",
        Discount_Amount="3.00",
        Subtotal="42.00",
        Taxes="3.36",
        Total="50.36",
        Accepts_Marketing="yes",
        Source="pos",
    )
    result = shopify.read_orders(write("orders_export.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    assert result.format == "shopify"
    assert result.rows_read == 2
    assert list(result.orders.columns) == list(ORDERS_SCHEMA)
    assert list(result.order_lines.columns) == list(ORDER_LINES_SCHEMA)
    assert list(result.customers.columns) == list(CUSTOMERS_SCHEMA) and result.customers.empty
    order = result.orders.iloc[0]
    assert order["order_id"] == "shopify:#1001"
    assert order["order_number"] == "#1001"
    assert order["source"] == "shopify"
    assert order["customer_id"] == "pat@example.com"
    assert not order["is_guest"]
    assert order["net_revenue"] == pytest.approx(42.0)
    assert order["gross_revenue"] == pytest.approx(50.36)
    assert order["discount"] == pytest.approx(3.0)
    assert order["tax"] == pytest.approx(3.36)
    assert order["shipping"] == pytest.approx(5.0)
    assert order["refunded"] == 0.0
    assert order["currency"] == "USD"
    assert order["channel"] == "pos"
    assert order["discount_code"] == "SPRING"
    assert order["accepts_marketing"]
    lines = result.order_lines
    assert lines["order_id"].tolist() == ["shopify:#1001", "shopify:#1001"]
    assert lines["line_number"].tolist() == [1, 2]
    assert lines["product_name"].tolist() == ["Mug", "Tee"]
    assert lines["sku"].tolist() == ["SKU-MUG", "SKU-TEE"]
    assert lines["quantity"].tolist() == [2.0, 1.0]
    assert lines["unit_price"].tolist() == [12.5, 20.0]
    assert not result.excluded


def test_exclusions_are_counted_by_reason_and_partial_refunds_net(exports, write):
    rows = _orders(
        exports,
        dict(name="#1", email="a@x.com", created="2024-01-01 09:00:00 +0000"),
        dict(
            name="#2", email="b@x.com", created="2024-01-02 09:00:00 +0000",
            lines=[("A", 1, 30.0), ("B", 1, 10.0)], Cancelled_at="2024-01-02 10:00:00 +0000",
            Financial_Status="refunded",
        ),
        dict(name="#3", email="c@x.com", created="2024-01-03 09:00:00 +0000",
             Financial_Status="voided", Total="15.00"),
        dict(name="#4", email="d@x.com", created="2024-01-04 09:00:00 +0000",
             Financial_Status="refunded", Refunded_Amount="15.00"),
        dict(name="#5", email="e@x.com", created="2024-01-05 09:00:00 +0000",
             Payment_Method="bogus", Financial_Status="paid"),
        dict(name="#6", email="f@x.com", created="2024-01-06 09:00:00 +0000",
             lines=[("A", 2, 25.0)], Financial_Status="partially_refunded",
             Refunded_Amount="20.00"),
        dict(name="#7", email="g@x.com", created="2024-01-07 09:00:00 +0000",
             Financial_Status="partially_refunded", Refunded_Amount="40.00"),
        dict(name="#8", email="h@x.com", created="2024-01-08 09:00:00 +0000",
             Financial_Status="pending"),
    )  # fmt: skip
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    assert result.rows_read == 9
    orders = _by_number(result)
    # #7: partially refunded, but its refund covers every item (the shipping kept): refunded
    assert sorted(orders.index) == ["#1", "#6", "#8"]
    assert orders.loc["#6", "net_revenue"] == pytest.approx(30.0)  # 50 - 20
    assert orders.loc["#6", "refunded"] == pytest.approx(20.0)
    assert result.excluded == {"cancelled": 2, "voided": 1, "refunded": 2, "test order": 1}
    assert result.excluded_orders == {"cancelled": 1, "voided": 1, "refunded": 2, "test order": 1}
    assert result.excluded_revenue["cancelled"] == pytest.approx(45.0)
    assert result.excluded_revenue["voided"] == pytest.approx(15.0)
    assert result.excluded_revenue["refunded"] == pytest.approx(15.0 + 15.0)
    assert sum(result.excluded.values()) + result.order_lines.shape[0] == result.rows_read
    assert set(result.order_lines["order_id"]) == {f"shopify:#{n}" for n in (1, 6, 8)}


def test_a_refund_of_items_with_their_sales_tax_takes_off_the_items_alone(exports, write):
    """Shopify's Refunded Amount is the money given back, the items' sales tax in it: refunding
    half the items of a shop adding tax at checkout leaves half the Subtotal, and most of them
    refunded leaves a purchase worth what was kept, not 0."""
    rows = _orders(
        exports,
        dict(name="#1", email="a@x.com", created="2024-01-01 09:00:00 +0000",
             lines=[("A", 2, 50.0)], Taxes="8.00", Total="113.00",
             Financial_Status="partially_refunded", Refunded_Amount="54.00"),
        dict(name="#2", email="b@x.com", created="2024-01-02 09:00:00 +0000",
             lines=[("A", 10, 10.0)], Taxes="8.00", Total="113.00",
             Financial_Status="partially_refunded", Refunded_Amount="97.20"),
    )  # fmt: skip
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    orders = _by_number(result)
    assert orders.loc["#1", "net_revenue"] == pytest.approx(50.0)  # one of two $50 items kept
    assert orders.loc["#2", "net_revenue"] == pytest.approx(10.0)  # one of ten $10 items kept
    assert orders["refunded"].tolist() == pytest.approx([54.0, 97.2])


def _gift_card_lines(rows, *names):
    """Shopify charges no tax on a gift card: its rows say ``Lineitem taxable`` false."""
    for row in rows:
        if row["Lineitem name"] in names:
            row["Lineitem taxable"] = "false"
            row["Lineitem requires shipping"] = "false"
    return rows


def test_a_gift_card_is_revenue_when_spent_not_when_sold(exports, write):
    """ann buys a $50 gift card for bob, who spends it: the shop took $50 once.  The order
    paid by gift card counts in full; the gift card's sale is left out of revenue (an order of
    gift cards alone is counted out, one with goods keeps the goods)."""
    rows = _gift_card_lines(
        _orders(
            exports,
            dict(name="#1", email="ann@x.com", created="2024-01-01 09:00:00 +0000",
                 lines=[("Gift Card - $50", 1, 50.0)], Shipping="0.00", Total="50.00"),
            dict(name="#2", email="bob@x.com", created="2024-02-01 09:00:00 +0000",
                 lines=[("Mug", 1, 50.0)], Payment_Method="gift_card"),
            dict(name="#3", email="ann@x.com", created="2024-03-01 09:00:00 +0000",
                 lines=[("Tee", 2, 20.0), ("e-Giftcard", 1, 25.0)], Taxes="3.20",
                 Total="73.20"),
            # goods named like a gift card, taxed: a holder for one, revenue
            dict(name="#4", email="cy@x.com", created="2024-03-02 09:00:00 +0000",
                 lines=[("Gift Card Holder", 1, 8.0)]),
        ),
        "Gift Card - $50", "e-Giftcard",
    )  # fmt: skip
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    orders = _by_number(result)
    assert sorted(orders.index) == ["#2", "#3", "#4"]
    assert orders["net_revenue"].tolist() == pytest.approx([50.0, 40.0, 8.0])
    assert orders.loc["#3", "gross_revenue"] == pytest.approx(73.2)  # what was paid
    assert result.excluded_orders == {"gift card purchase": 1}
    assert result.excluded_revenue["gift card purchase"] == pytest.approx(50.0)
    assert result.notes == [
        "1 order also sold gift cards (25.00 in all), left out of its revenue: a gift card "
        "is revenue when spent, on the order it pays for"
    ]


@pytest.mark.parametrize("taxable", [True, False])
def test_a_gift_card_is_told_by_the_line_logs_rule_and_goods_are_not(exports, write, taxable):
    """A gift card named with the shop's brand or in another language is one (the line-level
    logs' rule, :func:`valuecast.io.line_names.gift_card_lines`); goods whose names hold its
    words are not, untaxed too.  Without ``Lineitem taxable`` the name alone tells, so that a
    ``Gift Card Holder`` is goods."""
    cards = ["Acme Coffee Gift Card - $25", "Carte cadeau - 25 €", "Gift Voucher"]
    goods = ["Birthday Card", "Gift Box of Chocolates", "Gift Card Holder"]
    names = [*cards, *goods] if not taxable else [*cards, *goods[:2]]
    orders = [
        dict(name=f"#{i}", email=f"c{i}@x.com", created=f"2024-01-0{i} 09:00:00 +0000",
             lines=[(name, 1, 25.0)], Shipping="0.00", Total="25.00")
        for i, name in enumerate(names, 1)
    ]  # fmt: skip
    rows = _gift_card_lines(_orders(exports, *orders), *names)
    header = exports.SHOPIFY_ORDERS_HEADER
    if not taxable:
        header = [column for column in header if column != "Lineitem taxable"]
        for row in rows:
            row.pop("Lineitem taxable", None)
    result = shopify.read_orders(write("orders.csv", header, rows))
    assert result.excluded_orders == {"gift card purchase": len(cards)}
    kept = _by_number(result)
    assert kept["net_revenue"].tolist() == pytest.approx([25.0] * (len(names) - len(cards)))


def test_a_gift_card_refunded_on_an_order_with_goods_leaves_the_goods_revenue(exports, write):
    """cy buys a $40 gift card and a $20 tee, and gets the unused gift card's $40 back: the tee
    was kept, so the order is a $20 purchase, not refunded.  A refund of another amount is the
    goods', unless it is more than they and their shipping cost: the gift card is then in it."""
    rows = _gift_card_lines(
        _orders(
            exports,
            dict(name="#1", email="cy@x.com", created="2024-01-01 09:00:00 +0000",
                 lines=[("Gift Card", 1, 40.0), ("Tee", 1, 20.0)], Total="65.00",
                 Financial_Status="partially_refunded", Refunded_Amount="40.00"),
            dict(name="#2", email="di@x.com", created="2024-01-02 09:00:00 +0000",
                 lines=[("Gift Card", 1, 40.0), ("Tee", 2, 20.0)], Total="85.00",
                 Financial_Status="partially_refunded", Refunded_Amount="20.00"),
            # 60 back: more than the 55 the goods and shipping cost, so the gift card and the
            # tee; the mug was kept
            dict(name="#3", email="ed@x.com", created="2024-01-03 09:00:00 +0000",
                 lines=[("Gift Card", 1, 40.0), ("Tee", 1, 20.0), ("Mug", 1, 30.0)],
                 Total="95.00", Financial_Status="partially_refunded", Refunded_Amount="60.00"),
            # 50 back: every item, the gift card kept
            dict(name="#4", email="fe@x.com", created="2024-01-04 09:00:00 +0000",
                 lines=[("Gift Card", 1, 40.0), ("Tee", 1, 20.0), ("Mug", 1, 30.0)],
                 Total="95.00", Financial_Status="partially_refunded", Refunded_Amount="50.00"),
        ),
        "Gift Card",
    )  # fmt: skip
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    orders = _by_number(result)
    assert sorted(orders.index) == ["#1", "#2", "#3"]
    assert orders["net_revenue"].tolist() == pytest.approx([20.0, 20.0, 30.0])
    assert orders.loc["#1", "refunded"] == pytest.approx(40.0)
    assert result.excluded_orders == {"refunded": 1}
    assert result.notes[-1] == (
        "2 orders refunded the gift cards they also sold (80.00 in all): taken as those gift "
        "cards given back, not off their goods' revenue"
    )


def test_a_refund_of_the_shipping_alone_leaves_the_items_revenue(exports, write):
    """A shop gives back the shipping of a late parcel: Refunded Amount is the shipping (with
    its tax where tax is added, as written where prices include it), and the items, all kept,
    are revenue in full.  A refund that also covers every item, or that a whole number of one
    line's items makes, is theirs."""
    rows = _orders(
        exports,
        dict(name="#1", email="a@x.com", created="2024-01-01 09:00:00 +0000",
             lines=[("Mug", 2, 25.0)], Shipping="10.00", Total="60.00",
             Financial_Status="partially_refunded", Refunded_Amount="10.00"),
        # 10% sales tax on items and shipping: the shipping's 1.00 refunded with it
        dict(name="#2", email="b@x.com", created="2024-01-02 09:00:00 +0000",
             lines=[("Mug", 2, 25.0)], Shipping="10.00", Taxes="6.00", Total="66.00",
             Financial_Status="partially_refunded", Refunded_Amount="11.00"),
        # VAT included (Total = Subtotal + Shipping): 50 of items, 10 of VAT in 60
        dict(name="#3", email="c@x.com", created="2024-01-03 09:00:00 +0000",
             lines=[("Mug", 2, 30.0)], Shipping="12.00", Taxes="12.00", Total="72.00",
             Financial_Status="partially_refunded", Refunded_Amount="12.00"),
        # a mug refunded: taken off the items
        dict(name="#4", email="d@x.com", created="2024-01-04 09:00:00 +0000",
             lines=[("Mug", 2, 25.0)], Shipping="10.00", Total="60.00",
             Financial_Status="partially_refunded", Refunded_Amount="25.00"),
        # a $10 item and $10 of shipping, $10 back: every item refunded, the order is not kept
        dict(name="#5", email="e@x.com", created="2024-01-05 09:00:00 +0000",
             lines=[("Mug", 1, 10.0)], Shipping="10.00", Total="20.00",
             Financial_Status="partially_refunded", Refunded_Amount="10.00"),
        # $5 mugs and $5 of shipping, $5 back: a mug may be it, and is
        dict(name="#6", email="f@x.com", created="2024-01-06 09:00:00 +0000",
             lines=[("Mug", 2, 5.0)], Total="15.00",
             Financial_Status="partially_refunded", Refunded_Amount="5.00"),
        # one of two 6.75 filters (7.50 less 0.75 of discount each) with 8.9% of tax: 7.35,
        # within a cent of 6.95 of shipping with its share of the tax too
        dict(name="#7", email="g@x.com", created="2024-01-07 09:00:00 +0000",
             lines=[("Filters", 2, 7.5)], Subtotal="13.50", Shipping="6.95", Taxes="1.20",
             Total="21.65", Financial_Status="partially_refunded", Refunded_Amount="7.35"),
    )  # fmt: skip
    rows[-1]["Lineitem discount"] = "1.50"
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    orders = _by_number(result)
    assert sorted(orders.index) == ["#1", "#2", "#3", "#4", "#6", "#7"]
    assert orders["net_revenue"].tolist() == pytest.approx([50.0, 50.0, 50.0, 25.0, 5.0, 6.75])
    assert orders["refunded"].tolist() == pytest.approx([10.0, 11.0, 12.0, 25.0, 5.0, 7.35])
    assert result.excluded_orders == {"refunded": 1}
    assert result.notes == [
        "3 orders were refunded exactly their shipping (33.00 in all): taken as the shipping "
        "given back, their items' revenue kept"
    ]


def test_orders_that_charged_nothing_count_and_the_merchant_is_told(exports, write):
    """A 100% discount code or a free sample: Shopify's reports count the order, and so does
    the import, as a purchase worth 0, saying how many there are; an order of free items with
    the shipping paid charged something, and is a purchase worth 0 too (the revenue leaves the
    shipping out), told apart in a note of its own."""
    rows = _orders(
        exports,
        dict(name="#1", email="a@x.com", created="2024-01-01 09:00:00 +0000"),
        dict(name="#2", email="a@x.com", created="2024-02-01 09:00:00 +0000",
             Subtotal="0.00", Shipping="0.00", Total="0.00", Discount_Amount="10.00",
             Discount_Code="FREE100"),
        dict(name="#3", email="b@x.com", created="2024-02-02 09:00:00 +0000",
             Subtotal="0.00", Shipping="4.95", Total="4.95", Discount_Amount="10.00"),
    )  # fmt: skip
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    orders = _by_number(result)
    assert sorted(orders.index) == ["#1", "#2", "#3"]
    assert orders["net_revenue"].tolist() == [10.0, 0.0, 0.0]
    assert result.notes == [
        "1 order charged nothing (Total 0: a 100% discount, a free sample or a replacement) is "
        "counted as a purchase worth 0, as Shopify's reports count it",
        "1 order charged only shipping or tax (free goods) is counted as a purchase worth 0 (the "
        "revenue leaves shipping and tax out)",
    ]


def test_orders_not_yet_paid_count_as_sales_and_the_merchant_is_told(exports, write):
    """Cash on delivery, a bank transfer, a payment captured when the order ships: Shopify's
    sales reports count the order when placed, and so does the import, saying how many and
    how much."""
    rows = _orders(
        exports,
        dict(name="#1", email="a@x.com", created="2024-01-01 09:00:00 +0000"),
        dict(name="#2", email="b@x.com", created="2024-01-02 09:00:00 +0000",
             Financial_Status="pending", lines=[("A", 2, 15.0)]),
        dict(name="#3", email="c@x.com", created="2024-01-03 09:00:00 +0000",
             Financial_Status="Authorized", lines=[("A", 1, 12.5)]),
        dict(name="#4", email="d@x.com", created="2024-01-04 09:00:00 +0000",
             Financial_Status="partially_paid", lines=[("A", 4, 10.0)]),
        dict(name="#5", email="e@x.com", created="2024-01-05 09:00:00 +0000",
             Financial_Status="pending", Cancelled_at="2024-01-06 09:00:00 +0000"),
    )  # fmt: skip
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    assert sorted(_by_number(result).index) == ["#1", "#2", "#3", "#4"]
    assert result.notes == [
        "3 orders not yet paid in full (pending 1, authorized 1, partially_paid 1) are counted "
        "as sales (82.50 of revenue), as Shopify's sales reports count them: cancel in Shopify "
        "any that will never be paid"
    ]


def test_every_item_refunded_is_refunded_where_shipping_is_taxed_or_a_tip_was_paid(exports, write):
    """A shop taxing its shipping (Canada's HST, most of Europe) writes the shipping's tax in
    Taxes, and a POS order's tip is in Total: a refund of every item with its own tax falls
    short of Total - Shipping by that tax or tip, yet nothing but the shipping (or the tip) was
    kept.  Counted, the order would be a repeat purchase worth a few cents."""
    rows = _orders(
        exports,
        # 13% on 80 of items and 15 of shipping; every item refunded with its 10.40 of tax
        dict(name="#1", email="a@x.com", created="2024-01-01 09:00:00 +0000",
             lines=[("A", 2, 40.0)], Shipping="15.00", Taxes="12.35", Total="107.35",
             Financial_Status="partially_refunded", Refunded_Amount="90.40"),
        # a POS order with a 5.00 tip: every item refunded, the tip kept
        dict(name="#2", email="b@x.com", created="2024-01-02 09:00:00 +0000",
             lines=[("A", 1, 40.0)], Shipping="0.00", Taxes="5.20", Total="50.20",
             Source="pos", Financial_Status="partially_refunded", Refunded_Amount="45.20"),
        # one of the two items refunded: a purchase still
        dict(name="#3", email="c@x.com", created="2024-01-03 09:00:00 +0000",
             lines=[("A", 2, 40.0)], Shipping="15.00", Taxes="12.35", Total="107.35",
             Financial_Status="partially_refunded", Refunded_Amount="45.20"),
    )  # fmt: skip
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    assert list(_by_number(result).index) == ["#3"]
    assert result.excluded_orders == {"refunded": 2}


def test_two_shops_orders_of_one_name_in_one_file_are_an_error_not_one_order(exports, write):
    """Two shops' exports pasted together both hold a #1001, of the same amounts: grouped by
    Name they would make one order of ann's, zed's purchase lost in it.  Shopify writes the date
    and the e-mail on every row of an order, so rows disagreeing in either are named."""
    ann = exports.shopify_order("#1001", "ann@x.com", "2024-01-05 10:00:00 -0500")
    zed = exports.shopify_order("#1001", "zed@x.com", "2024-03-05 10:00:00 -0500")
    with pytest.raises(InputError, match=r"row 3, column 'Created at': order #1001 appears again "
                       r"with another Created at \(2024-03-05 10:00:00; 2024-01-05 10:00:00 on "
                       r"row 2\): two versions of one order in one file"):  # fmt: skip
        shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, [*ann, *zed]))
    zed[0]["Created at"] = "2024-01-05 10:00:00 -0500"  # the same minute, another customer
    with pytest.raises(InputError, match=r"row 3, column 'Email': .* another Email"):
        shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, [*ann, *zed]))
    # an order's rows giving its e-mail in other capitals are one order
    again = [dict(row) for row in ann * 2]
    again[1] = {**again[1], "Email": "ANN@x.com", "Subtotal": "", "Total": ""}
    assert (
        len(shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, again)).orders)
        == 1
    )


def test_an_export_saved_by_a_spreadsheet_reads_its_month_first_dates(exports, write):
    # Excel rewrites "2024-06-30 21:01:00 +0000" as "6/30/2024 21:01": 30 is no month
    rows = _orders(
        exports,
        dict(name="#1", email="a@x.com", created="6/30/2024 21:01"),
        dict(name="#2", email="b@x.com", created="7/1/2024 9:05"),
    )  # fmt: skip
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    stamps = _by_number(result)["ordered_at"].astype(str).tolist()
    assert stamps == ["2024-06-30 21:01:00", "2024-07-01 09:05:00"]


def test_an_expired_authorisation_is_no_revenue(exports, write):
    rows = _orders(
        exports,
        dict(name="#1", email="a@x.com", created="2024-01-01 09:00:00 +0000"),
        dict(name="#2", email="b@x.com", created="2024-01-02 09:00:00 +0000",
             Financial_Status="Expired"),
    )  # fmt: skip
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    assert list(_by_number(result).index) == ["#1"]
    assert result.excluded_orders == {"expired": 1}


def test_test_gateway_inside_a_payment_list_is_a_test_order(exports, write):
    rows = _orders(
        exports,
        dict(name="#1", email="a@x.com", created="2024-01-01 09:00:00 +0000",
             Payment_Method="bogus + manual"),
        dict(name="#2", email="b@x.com", created="2024-01-01 09:00:00 +0000",
             Payment_Method="Bogus"),
        dict(name="#3", email="c@x.com", created="2024-01-01 09:00:00 +0000",
             Payment_Method="bogusplus"),
        # the gateway's name, as newer exports write it
        dict(name="#4", email="d@x.com", created="2024-01-01 09:00:00 +0000",
             Payment_Method="(for testing) Bogus Gateway"),
        dict(name="#5", email="e@x.com", created="2024-01-01 09:00:00 +0000",
             Payment_Method="Gift Card + (for testing) Bogus Gateway"),
    )  # fmt: skip
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    assert result.orders["order_number"].tolist() == ["#3"]
    assert result.excluded_orders == {"test order": 4}


def test_guest_orders_and_messy_emails(exports, write):
    rows = _orders(
        exports,
        dict(name="#1", email="  Pat.Doe@Example.COM ", created="2024-01-01 09:00:00 -0500"),
        dict(name="#2", email="pat.doe@example.com", created="2024-02-01 09:00:00 -0500"),
        dict(name="#3", email=None, created="2024-02-02 09:00:00 -0500"),
        dict(name="#4", email="   ", created="2024-02-03 09:00:00 -0500"),
    )
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    orders = _by_number(result)
    assert (
        orders.loc["#1", "customer_id"] == orders.loc["#2", "customer_id"] == "pat.doe@example.com"
    )
    assert orders.loc["#1", "email"] == "Pat.Doe@Example.COM"
    assert orders["is_guest"].tolist() == [False, False, True, True]
    assert orders.loc[["#3", "#4"], "customer_id"].isna().all()
    assert orders.loc["#3", "net_revenue"] == 10.0  # guest orders still count


def test_local_dates_as_written_whatever_the_offset(exports, write):
    rows = _orders(
        exports,
        dict(name="#1", email="a@x.com", created="2024-03-05 23:30:00 -0500"),
        dict(name="#2", email="a@x.com", created="2024-03-06 00:30:00 +0900"),
        dict(name="#3", email="a@x.com", created="2024-03-07T08:15:00Z"),
        dict(name="#4", email="a@x.com", created="2024-03-08 07:00:00 +05:30"),
    )
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    orders = _by_number(result)
    assert orders.loc["#1", "ordered_at"] == pd.Timestamp("2024-03-05 23:30:00")
    assert orders.loc["#1", "order_date"] == pd.Timestamp("2024-03-05")
    assert orders.loc["#2", "order_date"] == pd.Timestamp("2024-03-06")
    assert orders.loc["#3", "ordered_at"] == pd.Timestamp("2024-03-07 08:15:00")
    assert orders.loc["#4", "order_date"] == pd.Timestamp("2024-03-08")
    assert str(result.orders["ordered_at"].dtype) == "datetime64[us]"


@pytest.mark.parametrize("generation", ["current", "tax5", "old"])
def test_header_generations(exports, write, generation):
    header = {
        "current": exports.SHOPIFY_ORDERS_HEADER,
        "tax5": exports.SHOPIFY_ORDERS_HEADER_TAX5,
        "old": exports.SHOPIFY_ORDERS_HEADER_OLD,
    }[generation]
    rows = _orders(
        exports,
        dict(name="#1", email="a@x.com", created="2019-05-01 12:00:00 -0400",
             lines=[("A", 1, 8.0), ("B", 3, 4.0)]),
        dict(name="#2", email="b@x.com", created="2019-05-02 12:00:00 -0400",
             Cancelled_at="2019-05-02 13:00:00 -0400"),
    )  # fmt: skip
    known = set(header)
    rows = [{k: v for k, v in row.items() if k in known} for row in rows]
    result = shopify.read_orders(write("orders.csv", header, rows))
    assert result.orders["order_number"].tolist() == ["#1"]
    assert result.orders["net_revenue"].tolist() == [20.0]
    assert result.excluded_orders == {"cancelled": 1}
    assert len(result.order_lines) == 2
    if generation == "old":
        assert result.orders["channel"].isna().all()  # no Source column yet
        assert result.orders["refunded"].tolist() == [0.0]


def test_columns_matched_by_name_not_position_and_email_marketing_alias(exports, write):
    header = list(exports.SHOPIFY_ORDERS_HEADER)
    header[header.index("Accepts Marketing")] = "Accepts Email Marketing"
    random.Random(3).shuffle(header)
    rows = exports.shopify_order(
        "#9", "z@x.com", "2024-01-01 00:00:00 +0000", Accepts_Marketing="no"
    )
    rows[0]["Accepts Email Marketing"] = rows[0].pop("Accepts Marketing")
    rows = [{k.lower() if k == "Subtotal" else k: v for k, v in row.items()} for row in rows]
    header = [h.lower() if h == "Subtotal" else h for h in header]  # case does not matter
    result = shopify.read_orders(write("orders.csv", header, rows))
    assert result.orders["accepts_marketing"].tolist() == [False]
    assert result.orders["net_revenue"].tolist() == [10.0]


def test_rows_grouped_by_name_even_when_not_adjacent_and_apostrophes_stripped(exports, write):
    first = exports.shopify_order("'1001", "a@x.com", "2024-01-01 00:00:00 +0000",
                                  lines=[("A", 1, 5.0), ("B", 1, 7.0)], Subtotal="'12.00")  # fmt: skip
    other = exports.shopify_order("'1002", "b@x.com", "2024-01-02 00:00:00 +0000")
    rows = [first[0], other[0], first[1]]
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    orders = _by_number(result)
    assert sorted(orders.index) == ["1001", "1002"]
    assert orders.loc["1001", "net_revenue"] == 12.0
    lines = result.order_lines.set_index(["order_id", "line_number"])
    assert lines.loc[("shopify:1001", 2), "product_name"] == "B"


def test_multi_currency_and_european_amounts_in_a_semicolon_file(exports, write):
    rows = _orders(
        exports,
        dict(name="#1", email="a@x.com", created="2024-01-01 00:00:00 +0100", Currency="EUR",
             Subtotal="1.234,50", Total="1.239,50", Shipping="5,00", Refunded_Amount="0,00"),
    )  # fmt: skip
    for row in rows:
        for key in ("Lineitem price", "Taxes", "Discount Amount", "Lineitem discount"):
            if key in row:
                row[key] = str(row[key]).replace(".", ",")
    path = write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows, delimiter=";",
                 encoding="utf-8-sig", line_ending="\r\n")  # fmt: skip
    result = shopify.read_orders(path)
    assert result.orders["net_revenue"].tolist() == [1234.5]
    assert result.orders["currency"].tolist() == ["EUR"]


def test_errors_name_file_row_and_column(exports, write):
    rows = _orders(
        exports,
        dict(name="#1", email="a@x.com", created="2024-01-01 00:00:00 +0000"),
        dict(name="#2", email="b@x.com", created="yesterday"),
    )
    path = write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows)
    with pytest.raises(InputError) as info:
        shopify.read_orders(path)
    assert (info.value.row, info.value.column) == (3, "Created at")
    assert str(path) in str(info.value) and "\n" not in str(info.value)

    rows[1]["Created at"] = "2024-01-02 00:00:00 +0000"
    rows[1]["Subtotal"] = "12..5"
    with pytest.raises(InputError) as info:
        shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    assert (info.value.row, info.value.column) == (3, "Subtotal")

    header = [h for h in exports.SHOPIFY_ORDERS_HEADER if h != "Financial Status"]
    rows = [{k: v for k, v in row.items() if k != "Financial Status"} for row in rows]
    with pytest.raises(InputError) as info:
        shopify.read_orders(write("orders.csv", header, rows))
    assert info.value.column == "Financial Status" and "missing" in str(info.value)


def test_order_without_created_at_or_subtotal_is_an_error(exports, write):
    rows = exports.shopify_order("#1", "a@x.com", "", lines=[("A", 1, 1.0), ("B", 1, 1.0)])
    with pytest.raises(InputError) as info:
        shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    assert (info.value.row, info.value.column) == (2, "Created at")
    rows = exports.shopify_order("#1", "a@x.com", "2024-01-01 00:00:00 +0000", Subtotal="")
    with pytest.raises(InputError, match="no Subtotal"):
        shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))


def test_row_without_name_is_an_error_but_empty_rows_are_counted(exports, write):
    rows = exports.shopify_order("#1", "a@x.com", "2024-01-01 00:00:00 +0000")
    path = write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, [*rows, {}, {}])
    result = shopify.read_orders(path)
    assert result.rows_read == 3 and result.excluded == {"empty row": 2}
    bad = dict(rows[0], Name="")
    with pytest.raises(InputError) as info:
        shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, [rows[0], bad]))
    assert (info.value.row, info.value.column) == (3, "Name")


def test_header_only_is_zero_orders_and_empty_file_is_an_error(exports, write, tmp_path):
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, []))
    assert result.rows_read == 0 and result.orders.empty and result.order_lines.empty
    assert list(result.orders.columns) == list(ORDERS_SCHEMA)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        shopify.read_orders(empty)


def test_line_names_keep_a_leading_apostrophe_and_skus_lose_the_spreadsheets_one(exports, write):
    rows = exports.shopify_order(
        "#1001", "pat@example.com", "2024-03-05 10:00:00 -0500",
        lines=[("'Pure' Soap", 1, 10.0), ("Mug", 2, 5.0)],
    )  # fmt: skip
    rows[0]["Lineitem sku"] = "'00123"
    rows[1]["Lineitem sku"] = ""
    rows += exports.shopify_order("#1002", "sam@example.com", "2024-03-06 10:00:00 -0500",
                                  Cancelled_at="2024-03-06 11:00:00 -0500")  # fmt: skip
    rows += exports.shopify_order("#1003", "sam@example.com", "2024-03-07 10:00:00 -0500")
    result = shopify.read_orders(write("orders_export.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    lines = result.order_lines
    assert lines["product_name"].tolist() == ["'Pure' Soap", "Mug", "Widget"]
    assert lines["sku"].fillna("-").tolist() == ["00123", "-", "SKU-WIDGET"]
    assert lines["order_id"].tolist() == ["shopify:#1001"] * 2 + ["shopify:#1003"]


def test_quoted_newlines_in_notes_keep_row_numbers(exports, write):
    rows = _orders(
        exports,
        dict(name="#1", email="a@x.com", created="2024-01-01 00:00:00 +0000",
             Notes="leave at\nthe back door\n\nthanks"),
        dict(name="#2", email="a@x.com", created="2024-01-02 00:00:00 +0000", Taxes="lots"),
    )  # fmt: skip
    with pytest.raises(InputError) as info:
        shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    assert (info.value.row, info.value.column) == (3, "Taxes")


@pytest.mark.parametrize("generation", [0, 1, 2])
def test_customers_export_generations(exports, write, generation):
    header = exports.SHOPIFY_CUSTOMERS_HEADERS[generation]
    accepts = "Accepts Marketing" if "Accepts Marketing" in header else "Accepts Email Marketing"
    zip_column = "Zip" if "Zip" in header else "Default Address Zip"
    rows = [
        {"First Name": "Pat", "Last Name": "Doe", "Email": " Pat@Example.com", accepts: "yes",
         zip_column: "'02134", "Tags": "vip, wholesale", "Total Spent": "120.00"},
        {"First Name": "Sam", "Email": "sam@example.com", accepts: "no"},
        {"First Name": "Anon", "Email": ""},
        {"First Name": "Pat again", "Email": "pat@example.com", accepts: "no"},
    ]  # fmt: skip
    result = shopify.read_customers(write("customers_export.csv", header, rows))
    assert result.format == "shopify-customers"
    assert result.orders.empty and list(result.customers.columns) == list(CUSTOMERS_SCHEMA)
    customers = result.customers.set_index("customer_id")
    assert list(customers.index) == ["pat@example.com", "sam@example.com"]
    assert customers.loc["pat@example.com", "zip"] == "02134"
    assert customers.loc["pat@example.com", "tags"] == "vip, wholesale"
    assert customers["accepts_marketing"].tolist() == [True, False]
    assert result.excluded == {"no email or phone": 1, "duplicate email": 1}
    assert result.rows_read == 4


def test_large_export_is_vectorised(exports, tmp_path):
    """200k line rows parse in well under the time a per-row loop would take."""

    n_orders = 100_000
    numbers = np.repeat(np.arange(n_orders), 2)
    header = ["Name", "Email", "Financial Status", "Created at", "Subtotal", "Currency",
              "Lineitem quantity", "Lineitem name", "Lineitem price"]  # fmt: skip
    frame = pd.DataFrame(
        {
            "Name": ["#" + str(n) for n in numbers],
            "Email": [f"c{n % 5000}@x.com" for n in numbers],
            "Financial Status": np.where(numbers % 50 == 0, "refunded", "paid"),
            "Created at": "2024-01-01 10:00:00 -0500",
            "Subtotal": "20.00",
            "Currency": "USD",
            "Lineitem quantity": 1,
            "Lineitem name": "Thing",
            "Lineitem price": "10.00",
        }
    )
    first = np.r_[True, numbers[1:] != numbers[:-1]]
    for column in ("Financial Status", "Subtotal", "Currency"):
        frame.loc[~first, column] = ""
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False, columns=header)
    result = shopify.read_orders(path)
    assert len(result.orders) == n_orders - n_orders // 50
    assert result.excluded_orders == {"refunded": n_orders // 50}
    assert result.orders["net_revenue"].sum() == pytest.approx(20.0 * len(result.orders))


def test_orders_without_email_are_customers_of_their_phone(exports, write):
    rows = _orders(
        exports,
        dict(name="#1", email=None, created="2024-03-01 10:00", Phone="+880 9356-524432"),
        dict(name="#2", email=None, created="2024-03-05 10:00", Billing_Phone="+8809356524432"),
        # a national number takes its calling code from the billing country
        dict(name="#3", email=None, created="2024-03-06 10:00", Billing_Phone="01712-345678",
             Billing_Country="BD"),
        dict(name="#4", email=None, created="2024-03-07 10:00", Shipping_Phone="+880 1712 345678"),
        # without a country: the number given with one on another order (#3 and #4) ...
        dict(name="#5", email=None, created="2024-03-08 10:00", Phone="0171 2345678"),
        dict(name="#6", email=None, created="2024-03-09 10:00", Phone="n/a"),
        dict(name="#7", email=None, created="2024-03-09 11:00"),
        # ... else the digits as written: a customer of their own
        dict(name="#8", email=None, created="2024-03-10 10:00", Phone="0181 2345678"),
    )  # fmt: skip
    result = shopify.read_orders(write("cod.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    orders = _by_number(result)
    assert orders.loc["#1", "customer_id"] == "phone:+8809356524432"
    assert orders.loc["#2", "customer_id"] == "phone:+8809356524432"
    assert orders.loc["#3", "customer_id"] == "phone:+8801712345678"
    assert orders.loc["#4", "customer_id"] == "phone:+8801712345678"
    assert orders.loc["#5", "customer_id"] == "phone:+8801712345678"
    assert orders.loc["#8", "customer_id"] == "phone:01812345678"
    assert orders["is_guest"].tolist() == [False] * 5 + [True, True, False]
    assert orders.loc[["#6", "#7"], "customer_id"].isna().all()
    assert orders["email"].isna().all()


def test_a_phone_a_spreadsheet_wrote_in_scientific_notation_names_no_customer(exports, write):
    rows = _orders(
        exports,
        dict(name="#1", email=None, created="2024-03-01 10:00", Phone="1.56E+10"),
        dict(name="#2", email=None, created="2024-03-02 10:00", Phone="1,56E+10"),
        dict(name="#3", email="a@x.com", created="2024-03-03 10:00", Phone="1.56E+10"),
    )  # fmt: skip
    result = shopify.read_orders(write("cod.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    orders = _by_number(result)
    assert orders["customer_id"].tolist() == [pd.NA, pd.NA, "a@x.com"]
    assert (
        "2 orders without e-mail have a phone a spreadsheet wrote in scientific notation "
        "(1.56E+10), its digits lost: no customer is told from it"
    ) in " ".join(result.notes)


def test_placeholder_phones_and_emails_name_no_customer(exports, write):
    """A reviewer's export: ``0000000000`` typed for 4 orders without e-mail and for one
    e-mail customer's, ``1234567890`` for 3, ``guest@myshop.com`` and ``-`` in Email.  Taken
    as customers they gave the 4 orders to that e-mail customer and made a customer of each
    placeholder; they are guest orders, and notes count them."""
    placed = [dict(name="#1001", email="real@x.com", created="2024-01-03 10:00",
                   Phone="0000000000", Billing_Country="US")]  # fmt: skip
    for number, (email, phone, count) in enumerate(
        [(None, "0000000000", 4), (None, "1234567890", 3), ("guest@myshop.com", "", 3),
         ("-", "", 2)],
        start=11,
    ):  # fmt: skip
        placed += [
            dict(name=f"#{number}0{k}", email=email, created=f"2024-0{2 + k}-{number} 10:00",
                 Phone=phone, Billing_Country="US")
            for k in range(count)
        ]  # fmt: skip
    result = shopify.read_orders(
        write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, _orders(exports, *placed))
    )
    orders = _by_number(result)
    assert orders.loc["#1001", "customer_id"] == "real@x.com"
    assert orders["customer_id"].drop("#1001").isna().all()
    assert orders["is_guest"].sum() == 12 and orders["email"].notna().sum() == 1
    assert result.phone_links is None or result.phone_links.empty
    assert (
        "5 orders carry a placeholder e-mail ('guest@myshop.com' (3), '-' (2)), no customer's "
        "address: read as guest orders"
    ) in result.notes
    assert (
        "7 orders without e-mail carry a placeholder phone ('0000000000' (4), "
        "'1234567890' (3)), no customer's number: read as guest orders"
    ) in result.notes


def test_a_placeholder_phone_gives_way_to_the_next_phone_column(exports, write):
    """``0000000000`` typed in Phone tells no one, as an empty Phone does: the customer's own
    number in Billing Phone (else Shipping Phone) is the order's customer and contact, a
    placeholder in the order's country (``0 1111 111111`` in GB) too; where every phone is a
    placeholder the order is a guest's and the note counts its Phone."""
    placed = [
        dict(name="#1", email=None, created="2024-01-03 10:00", Phone="0000000000",
             Billing_Phone="(415) 555-0100", Billing_Country="US"),
        dict(name="#2", email=None, created="2024-02-03 10:00", Phone="1234567890",
             Shipping_Phone="+44 7700 900123"),
        dict(name="#3", email=None, created="2024-03-03 10:00", Phone="0 1111 111111",
             Billing_Phone="07700 900456", Billing_Country="GB"),
        dict(name="#4", email=None, created="2024-04-03 10:00", Phone="0000000000",
             Billing_Phone="000-000-0000", Billing_Country="US"),
        dict(name="#5", email="pat@x.com", created="2024-05-03 10:00", Phone="0000000000",
             Billing_Phone="+1 415 555 0100", Billing_Country="US"),
    ]  # fmt: skip
    result = shopify.read_orders(
        write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, _orders(exports, *placed))
    )
    orders = _by_number(result)
    assert orders["customer_id"].fillna("guest").tolist() == [
        "pat@x.com", "phone:+447700900123", "phone:+447700900456", "guest", "pat@x.com"
    ]  # fmt: skip
    assert result.phone_links.values.tolist() == [["phone:+14155550100", "pat@x.com"]]
    contacts = result.order_contacts.set_index("order_id")["phone"]
    assert contacts["shopify:#5"] == "+1 415 555 0100"
    assert contacts["shopify:#2"] == "+44 7700 900123"
    assert result.notes == [
        "1 order without e-mail belongs to the e-mail customer whose orders carry the same phone",
        "1 order without e-mail carries a placeholder phone ('0000000000' (1)), no customer's "
        "number: read as a guest order",
    ]


def test_email_wins_and_gathers_the_orders_of_its_phone(exports, write):
    rows = _orders(
        exports,
        dict(name="#1", email=None, created="2024-03-01 10:00", Phone="+44 7700 900123"),
        dict(name="#2", email="Pat@Example.com", created="2024-03-02 10:00",
             Phone="+447700900123"),
        # a phone two e-mails share (a household) links nothing
        dict(name="#3", email="a@example.com", created="2024-03-03 10:00", Phone="+15552001111"),
        dict(name="#4", email="b@example.com", created="2024-03-04 10:00", Phone="+15552001111"),
        dict(name="#5", email=None, created="2024-03-05 10:00", Phone="+1 555 200 1111"),
    )  # fmt: skip
    result = shopify.read_orders(write("mixed.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    orders = _by_number(result)
    assert orders.loc["#1", "customer_id"] == "pat@example.com"
    assert pd.isna(orders.loc["#1", "email"])
    assert orders.loc["#2", "customer_id"] == "pat@example.com"
    assert orders.loc["#5", "customer_id"] == "phone:+15552001111"
    assert result.notes == [
        "1 order without e-mail belongs to the e-mail customer whose orders carry the same phone"
    ]


def test_customers_export_rows_without_email_are_keyed_by_phone(exports, write):
    header = exports.SHOPIFY_CUSTOMERS_HEADERS[1]
    rows = [
        {"First Name": "Rahim", "Email": "", "Phone": "01712-345678", "Country Code": "BD"},
        {"First Name": "Again", "Email": "", "Phone": "+880 1712 345678"},
    ]
    result = shopify.read_customers(write("customers_export.csv", header, rows))
    assert result.customers["customer_id"].tolist() == ["phone:+8801712345678"]
    assert result.customers["first_name"].tolist() == ["Rahim"]
    assert result.excluded == {"duplicate phone": 1}


def test_a_phone_only_customer_consents_by_sms_and_an_email_customer_by_email(exports, write):
    header = exports.SHOPIFY_CUSTOMERS_HEADERS[1]  # Accepts Email / SMS Marketing
    rows = [
        {"Email": "", "Phone": "01712-345678", "Country Code": "BD",
         "Accepts Email Marketing": "no", "Accepts SMS Marketing": "yes"},  # cash on delivery
        {"Email": "a@x.com", "Phone": "+44 7700 900123", "Accepts Email Marketing": "no",
         "Accepts SMS Marketing": "yes"},
        {"Email": "", "Phone": "+44 7700 900999", "Accepts Email Marketing": "yes",
         "Accepts SMS Marketing": "no"},
    ]  # fmt: skip
    result = shopify.read_customers(write("customers_export.csv", header, rows))
    consent = result.customers.set_index("customer_id")["accepts_marketing"]
    assert consent.to_dict() == {
        "phone:+8801712345678": True, "a@x.com": False, "phone:+447700900999": False
    }  # fmt: skip
    assert not [note for note in result.notes if "neither yes nor no" in note]
    # a cell neither yes nor no counts only in the column a row's consent is read from
    rows[0]["Accepts Email Marketing"] = "maybe"  # a phone-only row: its e-mail cell is unused
    rows[1]["Accepts SMS Marketing"] = "perhaps"  # an e-mail row: its SMS cell is unused
    rows[2]["Accepts SMS Marketing"] = "later"  # used: unknown
    result = shopify.read_customers(write("customers_export2.csv", header, rows))
    assert [note for note in result.notes if "neither yes nor no" in note] == [
        "1 accepts-marketing values were neither yes nor no (left empty)"
    ]


def test_an_export_without_sms_consent_records_none_for_a_phone_only_customer(exports, write):
    """The oldest customers export's Accepts Marketing is consent to e-mail: a customer who gave
    a phone alone consented to nothing the shop can reach them by, so their consent is unknown,
    and a cell neither yes nor no in it is unused for them."""
    header = exports.SHOPIFY_CUSTOMERS_HEADERS[0]
    assert "Accepts SMS Marketing" not in header
    rows = [
        {"Email": "", "Phone": "+44 7700 900999", "Accepts Marketing": "yes"},
        {"Email": "a@x.com", "Accepts Marketing": "yes"},
        {"Email": "", "Phone": "+44 7700 900888", "Accepts Marketing": "maybe"},
    ]  # fmt: skip
    result = shopify.read_customers(write("customers_export.csv", header, rows))
    consent = result.customers.set_index("customer_id")["accepts_marketing"]
    assert consent.isna().to_dict() == {
        "phone:+447700900999": True, "a@x.com": False, "phone:+447700900888": True
    }  # fmt: skip
    assert consent["a@x.com"]
    assert not [note for note in result.notes if "neither yes nor no" in note]


def test_the_newest_customers_export_reads_the_address_phone_where_phone_is_empty(exports, write):
    """Its header has both Phone and Default Address Phone, and Phone is often empty: the
    address's number is each such row's phone (the audiences hash it) and names a customer
    without e-mail."""
    header = exports.SHOPIFY_CUSTOMERS_HEADERS[2]
    rows = [
        {"Email": "ann@x.com", "Default Address Phone": "+1 415 555 0101",
         "Default Address Country Code": "US"},
        {"Email": "bob@x.com", "Phone": "+1 415 555 0202", "Default Address Phone": "+1 415 555 0909"},
        {"Email": "", "Default Address Phone": "01712-345678", "Default Address Country Code": "BD"},
        {"Email": "cat@x.com"},
    ]  # fmt: skip
    result = shopify.read_customers(write("customers_export.csv", header, rows))
    customers = result.customers.set_index("customer_id")
    assert customers["phone"].fillna("-").tolist() == [
        "+1 415 555 0101", "+1 415 555 0202", "01712-345678", "-",
    ]  # fmt: skip
    assert list(customers.index)[2] == "phone:+8801712345678"


def test_a_customers_export_placeholder_phone_gives_way_to_the_address_phone(exports, write):
    """A placeholder typed in Phone (0000000000) tells no one, as an empty cell does: the
    address's number names the customer without e-mail and is the phone of one with e-mail, as
    the orders export takes Billing Phone over such a Phone."""
    header = exports.SHOPIFY_CUSTOMERS_HEADERS[2]
    rows = [
        {"Email": "", "Phone": "0000000000", "Default Address Phone": "+1 415 555 0101",
         "Default Address Country Code": "US"},
        {"Email": "bob@x.com", "Phone": "0000000000", "Default Address Phone": "+1 415 555 0199",
         "Default Address Country Code": "US"},
        {"Email": "cat@x.com", "Phone": "1234567890", "Default Address Country Code": "US"},
    ]  # fmt: skip
    result = shopify.read_customers(write("customers_export.csv", header, rows))
    customers = result.customers.set_index("customer_id")
    assert list(customers.index) == ["phone:+14155550101", "bob@x.com", "cat@x.com"]
    assert customers["phone"].tolist() == ["+1 415 555 0101", "+1 415 555 0199", "1234567890"]


@pytest.mark.parametrize("dtype", ["string", "object"])
def test_per_distinct_is_the_transform_of_every_cell(dtype):
    from valuecast.io import _build

    values = pd.Series(
        ["Paid", None, "paid", "Refunded", "Paid", None, "bogus + Paid"], dtype=dtype,
        index=[10, 11, 12, 13, 14, 15, 16],
    )  # fmt: skip
    for transform in (
        lambda text: text.str.lower(),
        lambda text: text.str.contains("paid", case=False, regex=False).fillna(False),
    ):
        got = _build.per_distinct(values, transform)
        pd.testing.assert_series_equal(got, transform(values))


def test_a_placeholder_email_is_no_customer_but_the_phone_or_a_guest(exports, write):
    """Shops type a dummy address for phone and in-store orders: each such order is its
    phone's customer, else a guest's, never one "customer" of every order typed so."""
    rows = _orders(
        exports,
        dict(name="#1", email="noemail@shop.com", created="2024-03-01 10:00"),
        dict(name="#2", email="NoEmail@Shop.com", created="2024-03-02 10:00",
             Phone="+44 7700 900123"),
        dict(name="#3", email="none@none.com", created="2024-03-03 10:00"),
        dict(name="#4", email="no-reply@shop.com", created="2024-03-04 10:00"),
        dict(name="#5", email="pos2@shop.com", created="2024-03-05 10:00"),
        # real addresses that merely begin like one
        dict(name="#6", email="nonna.rosa@example.com", created="2024-03-06 10:00"),
        dict(name="#7", email="testa@example.com", created="2024-03-07 10:00"),
    )  # fmt: skip
    result = shopify.read_orders(write("pos.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    orders = _by_number(result)
    assert orders["customer_id"].tolist() == [
        pd.NA, "phone:+447700900123", pd.NA, pd.NA, pd.NA,
        "nonna.rosa@example.com", "testa@example.com",
    ]  # fmt: skip
    assert orders["is_guest"].tolist() == [True, False, True, True, True, False, False]
    assert orders["email"].isna().tolist() == [True] * 5 + [False] * 2
    assert result.notes == [
        "5 orders carry a placeholder e-mail ('noemail@shop.com' (2), 'no-reply@shop.com' (1), "
        "'none@none.com' (1), 'pos2@shop.com' (1)), no customer's address: 1 told by its "
        "phone, the other 4 read as guest orders"
    ]


def test_a_customers_placeholder_email_names_no_one(exports, write):
    header = exports.SHOPIFY_CUSTOMERS_HEADERS[1]
    rows = [
        {"First Name": "Till", "Email": "noemail@shop.com", "Phone": "+880 1712 345678"},
        {"First Name": "Walk", "Email": " NoEmail@Shop.com"},
        {"First Name": "In", "Email": "noemail@shop.com"},
        {"First Name": "Nadia", "Email": "nadia@example.com"},
        {"First Name": "Blank", "Email": ""},
    ]
    result = shopify.read_customers(write("customers_export.csv", header, rows))
    assert result.customers["customer_id"].tolist() == [
        "phone:+8801712345678", "nadia@example.com"
    ]  # fmt: skip
    assert result.customers["email"].isna().tolist() == [True, False]
    assert result.excluded == {"placeholder email, no phone": 2, "no email or phone": 1}
    assert result.notes == [
        "3 rows carry a placeholder e-mail ('noemail@shop.com' (3)), no customer's address: "
        "read as no e-mail"
    ]


def test_an_email_carrying_a_character_that_shows_nothing_is_the_same_customer(exports, write):
    # cells pasted from a web page into an admin: each reads pat@example.com
    written = ["Pat@Example.com", "pat@example.com\u200b", "\ufeffpat@example.com",
               "pat\u00ad@example.com", "pat\u200d@example.com", "pat@example.com\u2060"]  # fmt: skip
    rows = _orders(
        exports,
        *(dict(name=f"#{k}", email=email, created=f"2024-0{k + 1}-01 10:00")
          for k, email in enumerate(written)),
        dict(name="#9", email="\u200b", created="2024-09-01 10:00"),  # no e-mail: a guest's
    )  # fmt: skip
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    orders = _by_number(result)
    assert orders["customer_id"].tolist() == ["pat@example.com"] * 6 + [pd.NA]
    assert orders["email"].tolist()[1:6] == ["pat@example.com"] * 5
    assert orders["is_guest"].tolist() == [False] * 6 + [True]


def test_a_customers_export_email_carrying_a_character_that_shows_nothing_is_its_customer(
    exports, write
):
    header = exports.SHOPIFY_CUSTOMERS_HEADERS[1]
    rows = [{"First Name": "Pat", "Email": "pat@example.com\u200b", "Total Orders": "1"}]
    result = shopify.read_customers(write("customers_export.csv", header, rows))
    assert result.customers["customer_id"].tolist() == ["pat@example.com"]


def test_a_phone_written_with_its_country_once_and_without_it_once_is_one_customer(exports, write):
    # a cash-on-delivery buyer in the UK: the country cell left empty on some orders
    rows = _orders(
        exports,
        dict(name="#1", email=None, created="2024-01-01 10:00", Phone="+44 7700 900123"),
        dict(name="#2", email=None, created="2024-02-01 10:00", Billing_Phone="07700900123",
             Billing_Country="GB"),
        dict(name="#3", email=None, created="2024-03-01 10:00", Billing_Phone="(0)7700-900123",
             Billing_Country="United Kingdom"),
        dict(name="#4", email=None, created="2024-04-01 10:00", Billing_Phone="07700 900123"),
        dict(name="#5", email=None, created="2024-05-01 10:00", Phone="447700900123"),
        # the digits of a number in two countries given in the file: which one, none can tell
        dict(name="#6", email=None, created="2024-06-01 10:00", Billing_Phone="0612345678",
             Billing_Country="FR"),
        dict(name="#7", email=None, created="2024-07-01 10:00", Billing_Phone="0612345678",
             Billing_Country="IT"),
        dict(name="#8", email=None, created="2024-08-01 10:00", Billing_Phone="06 12 34 56 78"),
    )  # fmt: skip
    result = shopify.read_orders(write("cod.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    assert result.orders["customer_id"].tolist() == ["phone:+447700900123"] * 5 + [
        "phone:+33612345678", "phone:+390612345678", "phone:0612345678"
    ]  # fmt: skip


def test_an_orders_rows_whose_email_differs_by_a_character_that_shows_nothing_are_one_order(
    exports, write
):
    # the error named two addresses that read alike (a@b.com; a@b.com)
    rows = exports.shopify_order(
        "#1", "a@b.com", "2024-01-01 10:00", lines=(("A", 1, 5.0), ("B", 1, 6.0))
    )
    rows[1]["Email"] = "A@b.com\u200b"
    result = shopify.read_orders(write("orders.csv", exports.SHOPIFY_ORDERS_HEADER, rows))
    assert result.orders["customer_id"].tolist() == ["a@b.com"]
    assert len(result.order_lines) == 2
