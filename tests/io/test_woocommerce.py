"""WooCommerce exports: the WebToffee and the WooCommerce.com column sets."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valuecast.io import woocommerce
from valuecast.io.schema import ORDERS_SCHEMA, InputError


def user_id(email: str | None) -> int:
    """A WordPress user id for an account's e-mail (0: a guest), the same for every order of it,
    as the exporters write ``customer_id`` / ``customer_user``."""
    if not email:
        return 0
    return 100 + sum(ord(letter) for letter in email.strip().lower())


def webtoffee(order_id: int, email: str | None, **fields) -> dict:
    row = {
        "order_id": order_id,
        "order_number": order_id,
        "order_date": "2024-03-05 23:30:00",
        "paid_date": "2024-03-05 23:31:00",
        "status": "wc-completed",
        "shipping_total": "5.00",
        "shipping_tax_total": "0.50",
        "fee_total": "0.00",
        "fee_tax_total": "0.00",
        "tax_total": "4.50",  # get_total_tax(): the items' 4.00 and the shipping's 0.50
        "cart_discount": "0.00",
        "order_discount": "0.00",
        "discount_total": "0.00",
        "order_total": "59.50",
        "order_subtotal": "50.00",
        "order_key": f"wc_order_{order_id}abc",
        "order_currency": "USD",
        "payment_method": "stripe",
        "payment_method_title": "Credit card",
        "customer_id": user_id(email),
        "customer_user": user_id(email),
        "customer_email": email,
        "billing_email": email,
        "billing_first_name": "Pat",
        "billing_postcode": "'02134",
        "line_item_1": "name:Hoodie|product_id:12|sku:HD-1|quantity:2|total:40.00|sub_total:40.00"
        "|tax:3.20|meta:size=M",
        "line_item_2": "name:Sticker|product_id:13|sku:|quantity:1|total:10.00|sub_total:10.00"
        "|tax:0.80",
    }
    row.update(fields)
    return row


def test_webtoffee_orders_statuses_and_net_revenue(exports, write):
    rows = [
        webtoffee(101, "Pat@Example.com"),
        webtoffee(102, " pat@example.com ", status="wc-processing", coupon_items=
                  "code:spring10|amount:5.00", discount_total="5.00", order_total="54.50",
                  refund_items="id:900|date:2024-03-07 10:00:00|amount:10.00|reason:broken"),
        webtoffee(103, "sam@example.com", status="wc-cancelled"),
        webtoffee(104, "sam@example.com", status="failed"),
        webtoffee(105, "sam@example.com", status="Refunded"),
        webtoffee(106, "sam@example.com", status="trash"),
        webtoffee(107, "sam@example.com", status="wc-checkout-draft"),
        webtoffee(108, None, billing_email=None, status="on-hold"),
        webtoffee(109, "kim@example.com", status="Pending payment", order_date="2024-03-09"),
    ]  # fmt: skip
    result = woocommerce.read_orders(write("orders.csv", exports.WOO_WEBTOFFEE_HEADER, rows))
    assert result.format == "woocommerce" and result.rows_read == 9
    assert list(result.orders.columns) == list(ORDERS_SCHEMA)
    orders = result.orders.set_index("order_number")
    assert sorted(orders.index) == ["101", "102", "108", "109"]
    assert orders.loc["101", "order_id"] == "woocommerce:101"
    assert orders.loc["101", "net_revenue"] == pytest.approx(59.5 - 4.5 - 5.0)
    assert orders.loc["101", "tax"] == pytest.approx(4.5)
    # the refund of 10 gave back its tax too: of the items' 49.00 paid (4.00 of it tax), 45.00
    # is revenue, so 10 x 45 / 49 comes off
    assert orders.loc["102", "net_revenue"] == pytest.approx(54.5 - 4.5 - 5.0 - 10.0 * 45 / 49)
    assert orders.loc["102", "refunded"] == pytest.approx(10.0)
    assert orders.loc["102", "discount"] == pytest.approx(5.0)
    assert orders.loc["102", "discount_code"] == "spring10"
    assert orders.loc["101", "customer_id"] == orders.loc["102", "customer_id"] == "pat@example.com"
    assert orders.loc["108", "is_guest"] and pd.isna(orders.loc["108", "customer_id"])
    assert orders.loc["101", "ordered_at"] == pd.Timestamp("2024-03-05 23:30:00")
    assert orders.loc["109", "order_date"] == pd.Timestamp("2024-03-09")
    assert result.excluded_orders == {
        "cancelled": 1, "failed": 1, "refunded": 1, "trash": 1, "draft": 1,
    }  # fmt: skip
    assert result.excluded_revenue["cancelled"] == pytest.approx(59.5)
    # an order awaiting payment counts, and the merchant is told what is not paid yet
    assert (
        "2 orders not paid yet (pending payment 1, on hold 1) are counted as sales (100.00 of "
        "revenue): cancel in WooCommerce any that will never be paid (a payment page left, a "
        "transfer that never came)"
    ) in result.notes
    lines = result.order_lines[result.order_lines["order_id"] == "woocommerce:101"]
    assert lines["line_number"].tolist() == [1, 2]
    assert lines["product_name"].tolist() == ["Hoodie", "Sticker"]
    assert lines["sku"].iloc[0] == "HD-1" and pd.isna(lines["sku"].iloc[1])
    assert lines["quantity"].tolist() == [2.0, 1.0]
    assert lines["unit_price"].tolist() == [20.0, 10.0]
    assert set(result.order_lines["order_id"]) == {f"woocommerce:{n}" for n in (101, 102, 108, 109)}


def test_a_status_not_woocommerces_own_is_named_only_for_the_orders_counted(exports, write):
    """An order of a shop's own status ("awaiting-pickup") whose total is negative is left out
    as a negative amount: the note said it was "counted as sales"."""
    rows = [
        webtoffee(101, "pat@example.com", status="awaiting-pickup"),
        webtoffee(102, "sam@example.com", status="awaiting-pickup", order_total="-20.00"),
        # a free sample: counted, worth 0, and said so (the orders tables' and Shopify's say it)
        webtoffee(103, "pat@example.com", order_total="0.00", shipping_total="0.00",
                  shipping_tax_total="0.00", tax_total="0.00"),
    ]  # fmt: skip
    result = woocommerce.read_orders(write("orders.csv", exports.WOO_WEBTOFFEE_HEADER, rows))
    assert result.excluded_orders == {"negative amount": 1}
    assert (
        "1 order of an amount of 0 (a free sample, a 100% discount or a replacement) is counted "
        "as a purchase worth 0, each one more order for its customer; to leave such orders out, "
        "cancel them in WooCommerce, or remove them from the file"
    ) in result.notes
    (note,) = [note for note in result.notes if "WooCommerce's own" in note]
    assert note.startswith("1 order has a status that is not WooCommerce's own")
    assert "('awaiting-pickup' (1))" in note


@pytest.mark.parametrize(
    "taxes",
    [
        {"tax_total": "21.85"},  # WebToffee and the CSV Export: the order's total tax
        {"tax_total": "", "cart_tax": "19.95"},  # the items' and fees' tax, without shipping's
    ],
)
def test_the_shipping_and_fee_taxes_come_off_once(write, taxes):
    header = ["order_id", "order_date", "status", "order_total", "billing_email",
              "shipping_total", "shipping_tax_total", "fee_total", "fee_tax_total", "tax_total",
              "cart_tax"]  # fmt: skip
    # items 100.00 + 19.00 VAT, shipping 10.00 + 1.90 VAT, a fee of 5.00 + 0.95 VAT
    row = {"order_id": 1, "order_date": "2024-01-05", "status": "completed",
           "order_total": "136.85", "billing_email": "a@x.com", "shipping_total": "10.00",
           "shipping_tax_total": "1.90", "fee_total": "5.00", "fee_tax_total": "0.95", **taxes}  # fmt: skip
    result = woocommerce.read_orders(write("export.csv", header, [row]))
    assert result.orders["tax"].tolist() == pytest.approx([21.85])
    assert result.orders["net_revenue"].tolist() == pytest.approx([105.0])  # items and fee


def test_one_row_per_item_export_groups_rows_by_order(exports, write):
    base = {
        "order_number": "2001", "order_number_formatted": "#2001", "order_date":
        "2024-01-10 08:00:00", "status": "completed", "shipping_total": "7.00", "tax_total": "0.00",
        "order_total": "67.00", "refunded_total": "12.00", "order_currency": "eur",
        "billing_email": "ANA@example.es",
    }  # fmt: skip
    rows = [
        dict(base, order_id=2001, item_name="Bag", item_sku="BAG", item_quantity=1,
             item_subtotal="40.00", item_total="36.00"),
        {"order_id": 2001, "item_name": "Belt", "item_sku": "BELT", "item_quantity": 2,
         "item_subtotal": "24.00", "item_total": "24.00"},
        dict(base, order_id=2002, order_number="2002", order_number_formatted="#2002",
             status="wc-refunded", item_name="Bag", item_quantity=1, item_total="40.00"),
    ]  # fmt: skip
    result = woocommerce.read_orders(write("export.csv", exports.WOO_CSV_EXPORT_HEADER, rows))
    assert result.rows_read == 3
    order = result.orders.iloc[0]
    assert order["order_number"] == "#2001"
    assert order["net_revenue"] == pytest.approx(67 - 7 - 12)
    assert order["currency"] == "EUR"
    assert order["customer_id"] == "ana@example.es"
    lines = result.order_lines
    assert lines["product_name"].tolist() == ["Bag", "Belt"]
    assert lines["line_discount"].tolist() == [4.0, 0.0]
    assert lines["unit_price"].tolist() == [40.0, 12.0]
    assert result.excluded == {"refunded": 1}


ALGOLPLUS_HEADER = [
    "Order Number", "Order Status", "Order Date", "Customer Note", "First Name (Billing)",
    "Last Name (Billing)", "Email (Billing)", "Phone (Billing)", "Country Code (Billing)",
    "Payment Method Title", "Cart Discount Amount", "Order Subtotal Amount",
    "Shipping Method Title", "Order Shipping Amount", "Order Refund Amount",
    "Order Total Amount", "Order Total Tax Amount", "SKU", "Item #", "Item Name",
    "Quantity (- Refund)", "Item Cost", "Coupon Code", "Discount Amount", "Discount Amount Tax",
]  # fmt: skip
"""The default columns of "Advanced Order Export For WooCommerce" (AlgolPlus): labels."""


def test_an_export_with_labels_is_detected_and_takes_off_tax_shipping_and_refunds(write):
    from valuecast.io import detect

    def row(number, status, total, tax, shipping, refund, sku, **more):
        return {"Order Number": number, "Order Status": status, "Order Date": "2024-01-05 10:00",
                "Email (Billing)": "Ann@Example.com", "Country Code (Billing)": "GB",
                "Order Total Amount": total, "Order Total Tax Amount": tax,
                "Order Shipping Amount": shipping, "Order Refund Amount": refund,
                "Cart Discount Amount": "0", "SKU": sku, "Item Name": sku,
                "Quantity (- Refund)": "1", **more}  # fmt: skip

    path = write("orders.csv", ALGOLPLUS_HEADER, [
        row("1001", "Completed", "123.00", "18.00", "15.00", "0", "MUG"),
        row("1001", "Completed", "123.00", "18.00", "15.00", "0", "TEE"),
        row("1002", "Refunded", "65.00", "10.00", "5.00", "65", "MUG"),
        row("1003", "Processing", "65.00", "10.00", "5.00", "30", "MUG", **{"Coupon Code": "X5"}),
    ])  # fmt: skip
    assert detect.detect_format(path) == "woocommerce"
    result = detect.read_exports([path])[0]
    # 123-18-15; 65-10-5 less the refund of 30 without its tax (50 of the items' 60 paid)
    assert result.orders["net_revenue"].tolist() == pytest.approx([90.0, 50.0 - 30.0 * 50 / 60])
    assert result.excluded == {"refunded": 1}
    assert result.orders["discount_code"].tolist() == [pd.NA, "X5"]
    assert result.order_lines["sku"].tolist() == ["MUG", "TEE", "MUG"]
    assert not any("no tax or shipping column" in note for note in result.notes)


def test_an_export_without_tax_or_shipping_columns_says_its_totals_hold_them(exports, write):
    rows = [{"order_id": 1, "order_date": "2024-01-05", "status": "completed",
             "order_total": "50.00", "billing_email": "a@x.com"}]  # fmt: skip
    header = ["order_id", "order_date", "status", "order_total", "billing_email"]
    result = woocommerce.read_orders(write("export.csv", header, rows))
    assert result.orders["net_revenue"].tolist() == [50.0]
    assert any(note.startswith("no tax or shipping column") for note in result.notes)


def test_one_order_with_two_statuses_in_one_file_is_an_error_naming_the_row(exports, write):
    # an older and a newer export pasted into one file: which status holds cannot be told
    header = ["order_id", "order_date", "status", "order_total", "billing_email", "item_name"]
    rows = [
        {"order_id": 21, "order_date": "2024-03-01", "status": "processing",
         "order_total": "80.00", "billing_email": "ann@x.com", "item_name": "Mug"},
        {"order_id": 21, "item_name": "Tee"},  # a further item: no status written
        {"order_id": 22, "order_date": "2024-03-02", "status": "completed",
         "order_total": "30.00", "billing_email": "bob@x.com", "item_name": "Mug"},
        {"order_id": 21, "order_date": "2024-03-01", "status": "Processing",
         "order_total": "80.00", "billing_email": "ann@x.com", "item_name": "Mug"},
        {"order_id": 21, "order_date": "2024-03-01", "status": "wc-cancelled",
         "order_total": "80.00", "billing_email": "ann@x.com", "item_name": "Mug"},
    ]  # fmt: skip
    with pytest.raises(InputError, match="order 21 appears again with another status") as info:
        woocommerce.read_orders(write("export.csv", header, rows))
    assert (info.value.row, info.value.column) == (6, "status")
    assert "(cancelled; processing on row 2)" in str(info.value)


def test_items_refunded_are_taken_off_the_lines_quantity(exports, write):
    """The CSV Export writes an item's refunded quantity negative: a bag refunded in full is no
    purchase of a bag, and one belt of two kept is one belt bought (at the price paid)."""
    base = {
        "order_number": "2001", "order_date": "2024-01-10 08:00:00", "status": "completed",
        "order_total": "64.00", "refunded_total": "52.00", "billing_email": "ana@example.es",
    }  # fmt: skip
    rows = [
        dict(base, order_id=2001, item_name="Bag", item_sku="BAG", item_quantity=1,
             item_subtotal="40.00", item_total="40.00", item_refunded_qty="-1"),
        {"order_id": 2001, "item_name": "Belt", "item_sku": "BELT", "item_quantity": 2,
         "item_subtotal": "24.00", "item_total": "24.00", "item_refunded_qty": "-1"},
        {"order_id": 2001, "item_name": "Mug", "item_sku": "MUG", "item_quantity": 1,
         "item_subtotal": "0.00", "item_total": "0.00", "item_refunded_qty": ""},
    ]  # fmt: skip
    result = woocommerce.read_orders(write("export.csv", exports.WOO_CSV_EXPORT_HEADER, rows))
    lines = result.order_lines
    assert lines["quantity"].tolist() == [0.0, 1.0, 1.0]
    assert lines["unit_price"].tolist() == [40.0, 12.0, 0.0]


def test_packed_items_refunded_are_taken_off_the_lines_quantity(exports, write):
    row = webtoffee(
        101, "pat@example.com", order_total="59.50",
        refund_items="id:900|amount:32.80|reason:returned",
        # one of the two hoodies given back (20.00) and a 2.00 price adjustment; the sticker
        # given back in full
        line_item_1="name:Hoodie|sku:HD-1|quantity:2|total:40.00|sub_total:40.00|refunded:22.00",
        line_item_2="name:Sticker|sku:ST-1|quantity:1|total:10.00|sub_total:10.00|refunded:10.00",
        line_item_3="name:Pin|sku:PN-1|quantity:3|total:6.00|sub_total:6.00",
    )  # fmt: skip
    result = woocommerce.read_orders(write("orders.csv", exports.WOO_WEBTOFFEE_HEADER, [row]))
    assert result.order_lines["quantity"].tolist() == [1.0, 0.0, 3.0]
    assert result.order_lines["unit_price"].tolist() == [20.0, 10.0, 2.0]


def test_item_names_keep_a_leading_apostrophe_and_skus_lose_the_spreadsheets_one(exports, write):
    # a spreadsheet writes '00123 to keep a SKU's zeros; a product may be named 'Pure' Soap
    base = {
        "order_number": "3001", "order_date": "2024-01-10 08:00:00", "status": "completed",
        "order_total": "30.00", "billing_email": "ana@example.es",
    }  # fmt: skip
    rows = [
        dict(base, order_id=3001, item_name="'Pure' Soap", item_sku="'00123", item_quantity=1,
             item_total="10.00"),
        {"order_id": 3001, "item_name": " Towel ", "item_sku": "", "item_quantity": 2,
         "item_total": "20.00"},
        dict(base, order_id=3002, order_number="3002", status="cancelled", item_name="Mug",
             item_sku="MUG", item_quantity=1, item_total="30.00"),
        dict(base, order_id=3003, order_number="3003", item_name="Mug", item_sku="MUG",
             item_quantity=1, item_total="30.00"),
    ]  # fmt: skip
    result = woocommerce.read_orders(write("export.csv", exports.WOO_CSV_EXPORT_HEADER, rows))
    lines = result.order_lines
    assert lines["product_name"].tolist() == ["'Pure' Soap", "Towel", "Mug"]
    assert lines["sku"].fillna("-").tolist() == ["00123", "-", "MUG"]
    assert lines["order_id"].tolist() == ["woocommerce:3001"] * 2 + ["woocommerce:3003"]
    assert lines["sku"].dtype == "string" and lines["product_name"].dtype == "string"


def test_an_export_without_a_currency_column_takes_the_one_its_amounts_are_written_in(
    exports, write
):
    header = [name for name in exports.WOO_WEBTOFFEE_HEADER if name != "order_currency"]
    money = ("order_total", "tax_total", "shipping_total", "discount_total")
    rows = [webtoffee(101, "pat@example.com"), webtoffee(102, "sam@example.com")]
    for row in rows:
        del row["order_currency"]
        row.update({key: row[key] + " €" for key in money})
    result = woocommerce.read_orders(write("orders.csv", header, rows))
    assert list(result.orders["currency"]) == ["EUR", "EUR"]
    assert result.orders["gross_revenue"].tolist() == [59.5, 59.5]
    dollars = [webtoffee(101, "pat@example.com")]
    del dollars[0]["order_currency"]
    result = woocommerce.read_orders(write("dollars.csv", header, dollars))
    assert result.orders["currency"].isna().all()


def test_a_currency_cell_takes_the_amounts_currency_when_empty_and_is_noted_when_another(
    exports, write
):
    money = ("order_total", "tax_total", "shipping_total", "discount_total")
    rows = [webtoffee(101, "pat@example.com", order_currency=""),
            webtoffee(102, "sam@example.com", order_currency="€")]  # fmt: skip
    for row in rows:
        row.update({key: "€" + row[key] for key in money})
    result = woocommerce.read_orders(write("orders.csv", exports.WOO_WEBTOFFEE_HEADER, rows))
    assert list(result.orders["currency"]) == ["EUR", "EUR"]
    # a currency column naming another currency is kept, with a note (the bad-input corpus
    # reads £ amounts in a USD export)
    rows[1]["order_currency"] = "USD"
    result = woocommerce.read_orders(write("usd.csv", exports.WOO_WEBTOFFEE_HEADER, rows))
    assert list(result.orders["currency"]) == ["EUR", "USD"]
    assert "1 order in USD by the currency column has amounts written in EUR" in result.notes[0]


def test_day_first_dates_and_errors(exports, write):
    rows = [webtoffee(1, "a@x.com", order_date="13/03/2024 10:00"),
            webtoffee(2, "a@x.com", order_date="05/03/2024 09:00")]  # fmt: skip
    result = woocommerce.read_orders(write("o.csv", exports.WOO_WEBTOFFEE_HEADER, rows))
    assert result.orders["order_date"].tolist() == [
        pd.Timestamp("2024-03-13"),
        pd.Timestamp("2024-03-05"),
    ]
    rows = [webtoffee(1, "a@x.com", order_date="05/03/2024")]
    with pytest.raises(InputError, match="ambiguous date") as info:
        woocommerce.read_orders(write("o.csv", exports.WOO_WEBTOFFEE_HEADER, rows))
    assert (info.value.row, info.value.column) == (2, "order_date")
    rows = [webtoffee(1, "a@x.com"), webtoffee(2, "a@x.com", order_total="about 5")]
    with pytest.raises(InputError) as info:
        woocommerce.read_orders(write("o.csv", exports.WOO_WEBTOFFEE_HEADER, rows))
    assert (info.value.row, info.value.column) == (3, "order_total")
    rows = [webtoffee(1, "a@x.com", line_item_1="name:X|quantity:two|total:1")]
    with pytest.raises(InputError) as info:
        woocommerce.read_orders(write("o.csv", exports.WOO_WEBTOFFEE_HEADER, rows))
    assert (info.value.row, info.value.column) == (2, "line_item_1")
    rows = [webtoffee(1, "a@x.com", status="")]
    with pytest.raises(InputError, match="no status"):
        woocommerce.read_orders(write("o.csv", exports.WOO_WEBTOFFEE_HEADER, rows))
    # no column names the customer: neither an e-mail nor a billing phone
    no_customer = ("customer_email", "billing_email", "billing_phone")
    header = [h for h in exports.WOO_WEBTOFFEE_HEADER if h not in no_customer]
    rows = [{k: v for k, v in webtoffee(1, "a@x.com").items() if k in header}]
    with pytest.raises(InputError) as info:
        woocommerce.read_orders(write("o.csv", header, rows))
    assert info.value.column == "customer_email"


def test_frame_input():
    frame = pd.DataFrame(
        {"order_id": [1, 2], "order_date": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 00:00"]),
         "status": ["wc-completed", "wc-failed"], "order_total": [10.0, 20.0],
         "billing_email": ["a@x.com", "b@x.com"]}
    )  # fmt: skip
    result = woocommerce.read_orders_frame(frame, name="postgresql://shop/wp_wc_orders")
    assert result.orders["net_revenue"].tolist() == [10.0]
    assert result.excluded_orders == {"failed": 1}


def test_orders_without_email_are_customers_of_their_billing_phone(exports, write):
    rows = [
        webtoffee(201, None, billing_phone="+20 100 123 4567"),
        webtoffee(202, None, billing_phone="0100 123 4567", billing_country="EG"),
        webtoffee(203, "sara@example.com", billing_phone="+201001234567"),
        webtoffee(204, None, billing_phone=""),
    ]
    path = write("orders.csv", exports.WOO_WEBTOFFEE_HEADER, rows)
    orders = woocommerce.read_orders(path).orders.set_index("order_number")
    # the e-mail wins, and gathers the orders of its phone
    assert orders["customer_id"].tolist() == ["sara@example.com"] * 3 + [pd.NA]
    assert orders["is_guest"].tolist() == [False, False, False, True]
    phone_only = [webtoffee(301, None, billing_phone="+20 100 123 4567")]
    path = write("phone.csv", exports.WOO_WEBTOFFEE_HEADER, phone_only)
    assert woocommerce.read_orders(path).orders["customer_id"].tolist() == ["phone:+201001234567"]


# the pandas reading of a packed field that packed_field replaces, as the importer had it
def _pandas_field(cells: list[str | None], name: str) -> pd.Series:
    series = pd.Series(cells, dtype="string")
    return series.str.extract(rf"(?:^|\|)\s*{name}:([^|]*)", expand=False).str.strip()


_FIELD_PIECES = list("ab1.-|:=_ ") + [
    "name:", "sku:", "total:", "sub_total:", "quantity:", "\n", "\t", "\x1c", "\x85", "\xa0",
    "\u2003", "\u3000", "\u200b", "é", "🙂",
]  # fmt: skip
_FIELD_TEXT = st.lists(st.sampled_from(_FIELD_PIECES), max_size=16).map("".join)


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(st.one_of(st.none(), _FIELD_TEXT), max_size=12))
def test_packed_fields_are_read_as_pythons_regular_expression_reads_them(cells):
    # Arrow's RE2 and trims know ASCII whitespace alone, Python all of Unicode's: the
    # field, its stripping and the missing cells must come out as pandas' str.extract gives them
    arrow = pa.array(cells, pa.string())
    for name in ("name", "sku", "quantity", "total", "sub_total"):
        pd.testing.assert_series_equal(
            pd.Series(woocommerce.packed_field(arrow, name).to_pandas(), dtype="string"),
            _pandas_field(cells, name),
            check_names=False,
        )


def test_line_item_amounts_not_written_as_plain_decimals_are_read_as_numbers(exports, write):
    # a plain decimal is cast by Arrow; any other number is read by pandas, as before
    rows = [webtoffee(1, "a@x.com", line_item_1="name:X|quantity:+2|total:1e1|sub_total: 12 ",
                      line_item_2="name:Y|quantity:1|total:3.5|sub_total:4")]  # fmt: skip
    lines = woocommerce.read_orders(write("o.csv", exports.WOO_WEBTOFFEE_HEADER, rows)).order_lines
    assert lines["quantity"].tolist() == [2.0, 1.0]
    assert lines["unit_price"].tolist() == [6.0, 4.0]
    assert lines["line_discount"].tolist() == [2.0, 0.5]


def test_a_status_woocommerce_does_not_know_is_named_and_canceled_is_left_out(write):
    header = ["order_id", "order_date", "status", "order_total", "billing_email"]
    rows = [
        {"order_id": 1, "order_date": "2024-01-05", "status": "wc-completed",
         "order_total": "50.00", "billing_email": "a@x.com"},
        {"order_id": 2, "order_date": "2024-01-06", "status": "canceled",  # American spelling
         "order_total": "20.00", "billing_email": "a@x.com"},
        {"order_id": 3, "order_date": "2024-01-07", "status": "wc-shipped",  # a plugin's own
         "order_total": "30.00", "billing_email": "b@x.com"},
        {"order_id": 4, "order_date": "2024-01-08", "status": "On hold",
         "order_total": "10.00", "billing_email": "b@x.com"},
    ]  # fmt: skip
    result = woocommerce.read_orders(write("export.csv", header, rows))
    assert result.excluded_orders == {"cancelled": 1}
    assert result.orders["net_revenue"].sum() == 90.0
    (note,) = [note for note in result.notes if "status" in note]
    assert note.startswith("1 order has a status that is not WooCommerce's own ('wc-shipped' (1))")


@pytest.mark.parametrize(
    ("labels", "left_out"),
    [
        (["Abgeschlossen", "In Bearbeitung", "Storniert", "Rückerstattet", "Fehlgeschlagen"],
         {"cancelled": 1, "refunded": 1, "failed": 1}),
        (["Terminée", "En cours", "Annulée", "Remboursée", "Échouée"],
         {"cancelled": 1, "refunded": 1, "failed": 1}),
        (["Completado", "En espera", "Cancelado", "Reembolsado", "Fallido"],
         {"cancelled": 1, "refunded": 1, "failed": 1}),
        (["Completato", "In lavorazione", "Annullato", "Rimborsato", "Bozza"],
         {"cancelled": 1, "refunded": 1, "draft": 1}),
        (["Voltooid", "In de wacht", "Geannuleerd", "Terugbetaald", "Mislukt"],
         {"cancelled": 1, "refunded": 1, "failed": 1}),
        (["Concluído", "Aguardando pagamento", "CANCELADA", "reembolsada", "Lixeira"],
         {"cancelled": 1, "refunded": 1, "trash": 1}),
    ],
)  # fmt: skip
def test_a_translated_admins_status_labels_are_read_as_woocommerces_own(write, labels, left_out):
    rows = [
        {"Order Number": str(1000 + number), "Order Status": label, "Order Date": "2024-01-05",
         "Email (Billing)": "ann@example.com", "Order Total Amount": "50.00",
         "Order Total Tax Amount": "0", "Order Shipping Amount": "0", "SKU": "MUG",
         "Item Name": "Mug", "Quantity (- Refund)": "1"}
        for number, label in enumerate(labels)
    ]  # fmt: skip
    result = woocommerce.read_orders(write("orders.csv", ALGOLPLUS_HEADER, rows))
    assert result.excluded_orders == left_out
    assert len(result.orders) == 2
    assert not [note for note in result.notes if "status" in note]


def test_a_placeholder_email_is_no_customer_but_the_billing_phone_or_a_guest(exports, write):
    rows = [
        webtoffee(401, "noemail@shop.com", billing_phone="+20 100 123 4567"),
        webtoffee(402, "N/A@na.com"),
        webtoffee(403, "noemail@shop.com"),
        webtoffee(404, "nadia@example.com"),
    ]
    result = woocommerce.read_orders(write("orders.csv", exports.WOO_WEBTOFFEE_HEADER, rows))
    orders = result.orders.set_index("order_number")
    assert orders["customer_id"].tolist() == [
        "phone:+201001234567",
        pd.NA,
        pd.NA,
        "nadia@example.com",
    ]
    assert orders["email"].isna().tolist() == [True, True, True, False]
    assert (
        "3 orders carry a placeholder e-mail ('noemail@shop.com' (2), 'n/a@na.com' (1)), no "
        "customer's address: 1 told by its phone, the other 2 read as guest orders"
    ) in result.notes


def test_an_email_cell_without_an_address_or_a_guests_address_is_a_guest_order(exports, write):
    """``-``, ``x``, ``.``, ``no email`` (no ``@``) and ``guest@myshop.com`` name no one: taken
    as an e-mail, each made one customer of every guest order typed with it."""
    cells = ["-", "no email", "-", "x", "x", ".", "guest@myshop.com", "Guest@MyShop.com"]
    rows = [
        webtoffee(501 + k, cell, customer_id=0, customer_user=0) for k, cell in enumerate(cells)
    ]
    rows.append(webtoffee(509, "nadia@example.com"))
    result = woocommerce.read_orders(write("orders.csv", exports.WOO_WEBTOFFEE_HEADER, rows))
    orders = result.orders.set_index("order_number")
    assert orders["customer_id"].isna().tolist() == [True] * 8 + [False]
    assert orders["is_guest"].tolist() == [True] * 8 + [False]
    assert orders["email"].isna().tolist() == [True] * 8 + [False]
    assert (
        "8 orders carry a placeholder e-mail ('-' (2), 'guest@myshop.com' (2), 'x' (2), '.' (1), "
        "'no email' (1)), no customer's address: read as guest orders"
    ) in result.notes


def test_a_registered_customer_is_one_customer_whatever_billing_email_each_order_gives(
    exports, write
):
    def row(order_id, date, user, email, **more):
        return {
            "order_id": order_id, "order_number": order_id, "order_date": date,
            "status": "completed", "order_total": "50.00", "customer_id": user,
            "billing_email": email, "item_name": "Tee", "item_quantity": 1, **more,
        }  # fmt: skip

    rows = [
        row(1, "2024-01-05 10:00:00", 17, "pat@old.example"),
        row(2, "2024-06-05 10:00:00", 17, "Pat@New.example"),  # the account's address now
        row(3, "2024-03-05 10:00:00", 0, "pat@old.example"),  # a guest checkout of Pat's
        row(4, "2024-02-01 10:00:00", 0, "sam@example.com"),
        row(5, "2024-02-01 10:00:00", 21, "office@example.com"),  # two accounts, one inbox
        row(6, "2024-02-02 10:00:00", 21, "ann@example.com"),
        row(7, "2024-02-01 10:00:00", 22, "office@example.com"),
        row(8, "2024-02-02 10:00:00", 22, "bob@example.com"),
        row(9, "2024-02-03 10:00:00", "", "office@example.com"),
    ]
    result = woocommerce.read_orders(write("export.csv", exports.WOO_CSV_EXPORT_HEADER, rows))
    orders = result.orders.set_index("order_number")
    assert orders.loc[["1", "2", "3"], "customer_id"].tolist() == ["pat@new.example"] * 3
    # each order keeps the address it was placed with, for audiences
    assert orders.loc[["1", "2", "3"], "email"].tolist() == [
        "pat@old.example", "Pat@New.example", "pat@old.example",
    ]  # fmt: skip
    assert orders.loc["4", "customer_id"] == "sam@example.com"
    assert orders.loc[["5", "6", "7", "8", "9"], "customer_id"].tolist() == [
        "ann@example.com", "ann@example.com", "bob@example.com", "bob@example.com",
        "office@example.com",
    ]  # fmt: skip
    assert not orders["is_guest"].any()
    assert (
        "3 orders of registered customers give another e-mail than the account's latest: "
        "counted as the account's (by customer_id)"
    ) in result.notes
    assert (
        "1 guest order belongs to the registered customer whose orders carry the same e-mail"
    ) in result.notes


def test_a_guest_checkout_with_an_accounts_billing_email_joins_the_account(exports, write):
    rows = [
        webtoffee(501, "kim@work.example", billing_email="kim@home.example"),
        webtoffee(502, None, billing_email="KIM@home.example", customer_id=0, customer_user=0),
        webtoffee(503, None, billing_email="lee@example.com", customer_id=0, customer_user=0),
    ]
    result = woocommerce.read_orders(write("orders.csv", exports.WOO_WEBTOFFEE_HEADER, rows))
    assert result.orders["customer_id"].tolist() == [
        "kim@work.example", "kim@work.example", "lee@example.com",
    ]  # fmt: skip


def test_an_account_that_orders_of_many_customers_are_placed_under_joins_none(exports, write):
    """A till's user (a POS plugin's walk-in account) carries many customers' e-mails: they
    stay their own customers; a database's user id column with NULLs reads 17.0 and 0.0."""
    frame = pd.DataFrame(
        {
            "order_id": [1, 2, 3, 4, 5, 6],
            "order_date": [f"2024-01-0{day} 10:00:00" for day in range(1, 7)],
            "status": "completed",
            "order_total": 50.0,
            "customer_id": [9.0, 9.0, 9.0, 9.0, 0.0, 0.0],
            "billing_email": [f"c{n}@example.com" for n in (1, 2, 3, 4, 5, 5)],
        }
    )
    result = woocommerce.read_orders_frame(frame)
    assert result.orders["customer_id"].tolist() == [
        f"c{n}@example.com" for n in (1, 2, 3, 4, 5, 5)
    ]
    assert (
        "1 account (customer_id) carries more than 3 e-mail addresses, as a till's or a staff "
        "account would: its orders are read by the e-mail each gives"
    ) in result.notes
    result = woocommerce.read_orders_frame(frame.assign(customer_id=[9.0] * 2 + [0.0] * 4))
    assert result.orders["customer_id"].tolist()[:2] == ["c2@example.com"] * 2
    assert result.orders["customer_id"].tolist()[4:] == ["c5@example.com"] * 2


@pytest.mark.parametrize(
    ("written", "read"),
    [
        (
            ["March 5, 2024 11:30 pm", "April 12, 2024 9:05 am"],  # WordPress's F j, Y g:i a
            ["2024-03-05 23:30", "2024-04-12 09:05"],
        ),
        (["5 March 2024", "12 April 2024"], ["2024-03-05", "2024-04-12"]),  # j F Y
        (
            ["Mar 5, 2024 12:10 AM", "Apr 12, 2024 12:45 PM"],  # M j, Y g:i A
            ["2024-03-05 00:10", "2024-04-12 12:45"],
        ),
        (
            ["March 5, 2024 at 11:30 pm", "March 6, 2024, 7:00 am"],  # as the admin lists them
            ["2024-03-05 23:30", "2024-03-06 07:00"],
        ),
        (
            ["5. März 2024 um 23:30", "12. April 2024 09:05"],  # a German admin's j. F Y H:i
            ["2024-03-05 23:30", "2024-04-12 09:05"],
        ),
        (["5 de março de 2024", "12 de abril de 2024"], ["2024-03-05", "2024-04-12"]),
        (
            ["Tuesday, March 5, 2024", "Friday, April 12, 2024 9:05 am"],  # l, F j, Y
            ["2024-03-05", "2024-04-12 09:05"],
        ),
        (["Tue, Mar 5th, 2024", "Fri, Apr 12th, 2024"], ["2024-03-05", "2024-04-12"]),  # D, M jS
        (["Dienstag, 5. März 2024", "martes, 12 de abril de 2024"], ["2024-03-05", "2024-04-12"]),
        (
            ["2024-03-05 11:30 pm", "2024-04-12 9:05 am"],  # Y-m-d g:i a
            ["2024-03-05 23:30", "2024-04-12 09:05"],
        ),
        (
            ["05/03/2024 11:30 pm", "13/04/2024 9:05 am"],  # d/m/Y g:i a, a 13th telling the order
            ["2024-03-05 23:30", "2024-04-13 09:05"],
        ),
    ],
)
def test_wordpress_date_settings_are_read_without_a_date_format(write, written, read):
    header = ["order_id", "order_date", "status", "order_total", "billing_email"]
    rows = [{"order_id": n, "order_date": cell, "status": "wc-completed", "order_total": "10",
             "billing_email": "a@example.com"} for n, cell in enumerate(written, 1)]  # fmt: skip
    result = woocommerce.read_orders(write("orders.csv", header, rows))
    assert result.orders["ordered_at"].tolist() == [pd.Timestamp(stamp) for stamp in read]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        # WordPress's d/m/Y or m/d/Y: no cell of the column tells which, nor can valuecast
        (
            "05/03/2024 11:30 pm",
            "ambiguous date '05/03/2024 11:30 pm'.*date_format=%d/%m/%Y %I:%M %p",
        ),
        ("2024-03-05 13:30 pm", "'2024-03-05 13:30 pm' is not a valid date"),
        ("March 32, 2024", "cannot read 'March 32, 2024' as a date"),
    ],
)
def test_a_wordpress_date_that_cannot_be_read_is_an_error_naming_it(write, cell, message):
    header = ["order_id", "order_date", "status", "order_total", "billing_email"]
    rows = [{"order_id": 1, "order_date": "2024-03-01 10:00", "status": "wc-completed",
             "order_total": "10", "billing_email": "a@example.com"},
            {"order_id": 2, "order_date": cell, "status": "wc-completed", "order_total": "10",
             "billing_email": "a@example.com"}]  # fmt: skip
    with pytest.raises(InputError, match=message) as error:
        woocommerce.read_orders(write("orders.csv", header, rows))
    assert (error.value.row, error.value.column) == (3, "order_date")


def test_every_item_refunded_the_shipping_kept_is_a_refunded_order(exports, write):
    """WooCommerce leaves such an order completed: it counted as a repeat purchase worth 0
    (noted as a free sample), where Shopify's export excludes it as refunded."""

    def sale(number: int, day: str, refunded: str) -> dict:
        # the items 50.00 with their tax 4.00, the shipping 5.00 with its tax 0.50
        return {
            "order_id": number, "order_number": number, "order_date": f"{day} 10:00:00",
            "status": "completed", "shipping_total": "5.00", "shipping_tax_total": "0.50",
            "tax_total": "4.50", "order_total": "59.50", "refunded_total": refunded,
            "billing_email": "kim@x.com", "item_name": "Coat", "item_quantity": 1,
            "item_total": "50.00",
        }  # fmt: skip

    rows = [
        sale(1, "2024-01-10", "0.00"),
        sale(2, "2024-03-10", "54.00"),  # every item with its tax given back
        sale(3, "2024-05-10", "21.60"),  # one item's worth: a purchase still
    ]
    result = woocommerce.read_orders(write("o.csv", exports.WOO_CSV_EXPORT_HEADER, rows))
    assert result.excluded_orders == {"refunded": 1}
    assert result.orders["order_number"].tolist() == ["1", "3"]
    assert result.orders["net_revenue"].tolist() == pytest.approx([50.0, 30.0])
    assert not any("amount of 0" in note for note in result.notes)
