"""Magento 2 sales_order / sales_order_item, from CSV dumps and from DataFrames."""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valuecast.io import detect_format, magento, read_exports
from valuecast.io.csvfile import Table
from valuecast.io.schema import ORDER_LINES_SCHEMA, ORDERS_SCHEMA, InputError


def account_id(email: str | None) -> int | None:
    """A customer entity id for an e-mail (None: a guest), the same for every order of it."""
    if not email:
        return None
    return 100 + sum(ord(letter) for letter in email.strip().lower())


def order(entity_id: int, increment_id: str, email: str | None, **fields) -> dict:
    row = {
        "entity_id": entity_id,
        "increment_id": increment_id,
        "state": "complete",
        "status": "complete",
        "store_id": 1,
        "store_name": "Main Website\nMain Website Store\nDefault Store View",
        "customer_id": account_id(email),
        "customer_is_guest": 0 if email else 1,
        "customer_email": email,
        "customer_group_id": 1,
        "base_currency_code": "USD",
        "order_currency_code": "USD",
        "global_currency_code": "USD",
        "store_currency_code": "USD",
        "base_to_order_rate": "1.0000",
        "base_subtotal": "100.0000",
        "base_discount_amount": "0.0000",
        "base_tax_amount": "8.2500",
        "base_shipping_amount": "10.0000",
        "base_grand_total": "118.2500",
        "base_total_paid": "118.2500",
        "created_at": "2024-03-05 04:30:00",
        "updated_at": "2024-03-06 10:00:00",
        "total_item_count": 1,
    }
    row.update(fields)
    return row


def test_net_revenue_rules_and_exclusions(exports, write):
    rows = [
        order(1, "000000001", "Pat@Example.com ", coupon_code="SPRING10",
              base_discount_amount="-10.0000", base_grand_total="108.2500"),
        order(2, "000000002", "pat@example.com", state="processing",
              base_subtotal_refunded="40.0000", base_discount_refunded="-4.0000",
              base_total_refunded="48.0000"),
        order(3, "000000003", "sam@example.com", state="canceled", status="canceled"),
        order(4, "000000004", "kim@example.com", state="closed", status="closed",
              base_subtotal_refunded="100.0000", base_total_refunded="118.2500"),
        order(5, "000000005", "lee@example.com", base_subtotal_canceled="30.0000"),
        order(6, "000000006", None),
        order(7, "000000007", "gail@example.com", customer_id=None, customer_is_guest=1),
    ]  # fmt: skip
    result = magento.read_sales_order(write("sales_order.csv", exports.MAGENTO_ORDER_HEADER, rows))
    assert result.format == "magento" and result.rows_read == 7
    assert list(result.orders.columns) == list(ORDERS_SCHEMA)
    orders = result.orders.set_index("order_number")
    assert sorted(orders.index) == ["000000001", "000000002", "000000005", "000000006", "000000007"]
    assert orders.loc["000000001", "order_id"] == "magento:000000001"
    assert orders.loc["000000001", "net_revenue"] == pytest.approx(90.0)
    assert orders.loc["000000001", "discount"] == pytest.approx(10.0)
    assert orders.loc["000000001", "discount_code"] == "SPRING10"
    assert orders.loc["000000001", "gross_revenue"] == pytest.approx(108.25)
    assert orders.loc["000000001", "tax"] == pytest.approx(8.25)
    assert orders.loc["000000001", "shipping"] == pytest.approx(10.0)
    assert orders.loc["000000002", "net_revenue"] == pytest.approx(100 - (40 - 4))
    assert orders.loc["000000002", "refunded"] == pytest.approx(48.0)
    assert orders.loc["000000005", "net_revenue"] == pytest.approx(70.0)
    assert orders.loc["000000001", "customer_id"] == orders.loc["000000002", "customer_id"]
    assert orders.loc["000000001", "customer_id"] == "pat@example.com"
    assert orders.loc["000000006", "is_guest"] and pd.isna(orders.loc["000000006", "customer_id"])
    # a Magento guest checkout with an email is keyed by that email
    assert orders.loc["000000007", "customer_id"] == "gail@example.com"
    assert not orders.loc["000000007", "is_guest"]
    assert orders.loc["000000001", "channel"].startswith("Main Website")
    assert orders["currency"].unique().tolist() == ["USD"]
    assert orders.loc["000000001", "ordered_at"] == pd.Timestamp("2024-03-05 04:30:00")
    assert result.excluded == {"cancelled": 1, "refunded": 1}
    assert result.excluded_orders == {"cancelled": 1, "refunded": 1}
    assert result.excluded_revenue["cancelled"] == pytest.approx(118.25)


def test_an_order_of_an_amount_of_0_is_counted_and_noted(exports, write):
    """A free sample (a subtotal of 0) is a purchase worth 0 and one more order for its
    customer: the orders tables' and Shopify's importers said so, Magento's did not."""
    rows = [
        order(1, "000000001", "pat@example.com"),
        order(2, "000000002", "pat@example.com", base_subtotal="0.0000", base_tax_amount="0.0000",
              base_shipping_amount="0.0000", base_grand_total="0.0000", base_total_paid="0.0000"),
    ]  # fmt: skip
    result = magento.read_sales_order(write("sales_order.csv", exports.MAGENTO_ORDER_HEADER, rows))
    assert len(result.orders) == 2
    assert (
        "1 order of an amount of 0 (a free sample, a 100% discount or a replacement) is counted "
        "as a purchase worth 0, each one more order for its customer; to leave such orders out, "
        "cancel them in Magento, or remove them from the file"
    ) in result.notes


def test_a_credit_memos_adjustment_refund_is_given_back_and_its_fee_kept(exports, write):
    rows = [
        # a goodwill refund of 15.00 beyond the items (Adjustment Refund)
        order(1, "000000001", "pat@example.com", base_adjustment_positive="15.0000",
              base_total_refunded="15.0000"),
        # one of two items returned (50.00), less a restocking fee of 5.00 (Adjustment Fee)
        order(2, "000000002", "sam@example.com", base_subtotal_refunded="50.0000",
              base_adjustment_negative="5.0000", base_total_refunded="45.0000"),
    ]  # fmt: skip
    result = magento.read_sales_order(write("sales_order.csv", exports.MAGENTO_ORDER_HEADER, rows))
    assert result.orders["net_revenue"].tolist() == pytest.approx([85.0, 55.0])
    rows[0]["base_adjustment_positive"] = "-15.0000"
    with pytest.raises(InputError, match="negative amount -15.00"):
        magento.read_sales_order(write("negative.csv", exports.MAGENTO_ORDER_HEADER, rows))


def test_items_become_lines_of_counted_orders(exports, write):
    orders_path = write(
        "sales_order.csv",
        exports.MAGENTO_ORDER_HEADER,
        [order(10, "100", "a@x.com"), order(11, "101", "b@x.com", state="canceled")],
    )
    items = [
        {"item_id": 1, "order_id": 10, "sku": "CFG-1", "name": "Hoodie", "qty_ordered": "2.0000",
         "base_price": "40.0000", "base_discount_amount": "8.0000", "product_type": "configurable"},
        {"item_id": 2, "order_id": 10, "parent_item_id": 1, "sku": "CFG-1-M", "name": "Hoodie M",
         "qty_ordered": "2.0000", "base_price": "0.0000", "product_type": "simple"},
        {"item_id": 3, "order_id": 10, "sku": "MUG", "name": "Mug", "qty_ordered": "1.0000",
         "base_price": "20.0000", "product_type": "simple"},
        {"item_id": 4, "order_id": 11, "sku": "MUG", "name": "Mug", "qty_ordered": "1.0000",
         "base_price": "20.0000"},
        {"item_id": 5, "order_id": 99, "sku": "MUG", "name": "Mug", "qty_ordered": "1.0000",
         "base_price": "20.0000"},
    ]  # fmt: skip
    items_path = write("sales_order_item.csv", exports.MAGENTO_ITEM_HEADER, items)
    order_result, item_result = magento.read_magento(orders_path, items_path)
    assert item_result.format == "magento-items" and item_result.rows_read == 5
    assert item_result.orders.empty
    lines = item_result.order_lines
    assert list(lines.columns) == list(ORDER_LINES_SCHEMA)
    assert lines["order_id"].tolist() == ["magento:100", "magento:100"]
    assert lines["line_number"].tolist() == [1, 2]
    assert lines["sku"].tolist() == ["CFG-1", "MUG"]
    assert lines["quantity"].tolist() == [2.0, 1.0]
    assert lines["unit_price"].tolist() == [40.0, 20.0]
    assert lines["line_discount"].tolist() == [8.0, 0.0]
    assert item_result.excluded == {"child item": 1, "order excluded": 1, "order not found": 1}
    assert order_result.order_lines.empty


def test_items_refunded_or_cancelled_are_not_bought(exports, write):
    """A credit memo's items (``qty_refunded``) and cancelled ones (``qty_canceled``) are taken
    off the line's quantity: a kettle returned in full is no purchase of a kettle."""
    orders_path = write(
        "sales_order.csv", exports.MAGENTO_ORDER_HEADER, [order(10, "100", "a@x.com")]
    )
    items = [
        {"item_id": 1, "order_id": 10, "sku": "MUG", "name": "Mug", "qty_ordered": "3.0000",
         "qty_refunded": "1.0000", "base_price": "10.0000"},
        {"item_id": 2, "order_id": 10, "sku": "KTL", "name": "Kettle", "qty_ordered": "1.0000",
         "qty_refunded": "1.0000", "base_price": "20.0000"},
        {"item_id": 3, "order_id": 10, "sku": "BNS", "name": "Beans", "qty_ordered": "2.0000",
         "qty_refunded": "", "base_price": "5.0000"},
    ]  # fmt: skip
    header = [*exports.MAGENTO_ITEM_HEADER, "qty_canceled"]
    items[2]["qty_canceled"] = "2.0000"
    items_path = write("sales_order_item.csv", header, items)
    _, item_result = magento.read_magento(orders_path, items_path)
    assert item_result.order_lines["quantity"].tolist() == [2.0, 0.0, 0.0]


def test_item_names_keep_a_leading_apostrophe_and_skus_lose_the_spreadsheets_one(exports, write):
    orders_path = write(
        "sales_order.csv", exports.MAGENTO_ORDER_HEADER, [order(10, "100", "a@x.com")]
    )
    items = [
        {"item_id": 1, "order_id": 10, "sku": "'00123", "name": "'Pure' Soap",
         "qty_ordered": "1.0000", "base_price": "10.0000"},
        {"item_id": 2, "order_id": 10, "sku": "", "name": "Mug", "qty_ordered": "1.0000",
         "base_price": "5.0000"},
    ]  # fmt: skip
    items_path = write("sales_order_item.csv", exports.MAGENTO_ITEM_HEADER, items)
    _, item_result = magento.read_magento(orders_path, items_path)
    lines = item_result.order_lines
    assert lines["product_name"].tolist() == ["'Pure' Soap", "Mug"]
    assert lines["sku"].fillna("-").tolist() == ["00123", "-"]


def test_frame_from_database_with_typed_columns():
    frame = pd.DataFrame(
        {
            "entity_id": [1, 2],
            "increment_id": ["000000001", "000000002"],
            "state": ["complete", "canceled"],
            "customer_email": ["A@X.com", "b@x.com"],
            "created_at": pd.to_datetime(["2024-03-05 23:30:00", "2024-03-06 01:00:00"]),
            "base_subtotal": [decimal.Decimal("50.0000"), decimal.Decimal("20.0000")],
            "base_discount_amount": [-5.0, 0.0],
            "base_grand_total": [55.0, 25.0],
            "base_currency_code": ["EUR", "EUR"],
        }
    )
    items = pd.DataFrame(
        {"order_id": [1], "parent_item_id": [None], "sku": ["X"], "name": ["Thing"],
         "qty_ordered": [1.0], "base_price": [50.0]}
    )  # fmt: skip
    result, lines = magento.read_magento_frames(frame, items, name="mysql://shop/sales_order")
    assert result.file == "mysql://shop/sales_order"
    assert result.orders["net_revenue"].tolist() == [45.0]
    assert result.orders["customer_id"].tolist() == ["a@x.com"]
    assert result.orders["ordered_at"].tolist() == [pd.Timestamp("2024-03-05 23:30:00")]
    assert result.excluded_orders == {"cancelled": 1}
    assert lines.order_lines["order_id"].tolist() == ["magento:000000001"]
    single = magento.read_sales_order_frame(frame)
    assert single.orders["order_id"].tolist() == ["magento:000000001"]


def test_frame_with_tz_aware_timestamps_keeps_the_local_wall_clock():
    stamps = pd.to_datetime(["2024-03-05 23:30:00"]).tz_localize("America/New_York")
    frame = pd.DataFrame(
        {"increment_id": ["1"], "state": ["new"], "customer_email": ["a@x.com"],
         "created_at": stamps, "base_subtotal": [10.0]}
    )  # fmt: skip
    result = magento.read_sales_order_frame(frame)
    assert result.orders["order_date"].tolist() == [pd.Timestamp("2024-03-05")]


def evening_orders() -> list[dict]:
    """A New York store's orders at 9:30 pm local time: the next day in UTC, as Magento keeps
    them."""
    return [
        order(1, "000000001", "pat@example.com", created_at="2024-03-06 02:30:00"),  # EST
        order(2, "000000002", "pat@example.com", created_at="2024-07-05 01:30:00"),  # EDT
    ]


def test_the_stores_time_zone_puts_utc_times_on_the_stores_days(exports, write):
    path = write("sales_order.csv", exports.MAGENTO_ORDER_HEADER, evening_orders())
    (result,) = read_exports([path], column_map="time_zone=America/New_York")
    assert result.orders["ordered_at"].tolist() == [
        pd.Timestamp("2024-03-05 21:30:00"), pd.Timestamp("2024-07-04 21:30:00"),
    ]  # fmt: skip
    assert result.orders["order_date"].tolist() == [
        pd.Timestamp("2024-03-05"), pd.Timestamp("2024-07-04"),
    ]  # fmt: skip
    assert not [note for note in result.notes if "UTC" in note]
    # the zone's name in any case; the map names no column, so the format is still detected
    (same,) = read_exports([path], column_map="time_zone=america/new_york", defer=True)
    pd.testing.assert_frame_equal(same.orders, result.orders)
    # a database column with a time zone: its instants, shown in the store's zone
    frame = pd.DataFrame(
        {"increment_id": ["1"], "state": ["new"], "customer_email": ["a@x.com"],
         "created_at": pd.to_datetime(["2024-03-06 11:30:00"]).tz_localize("Europe/Paris"),
         "base_subtotal": [10.0]}
    )  # fmt: skip
    zoned = magento.read_sales_order_frame(frame, time_zone="America/New_York")
    assert zoned.orders["ordered_at"].tolist() == [pd.Timestamp("2024-03-06 05:30:00")]


def test_without_a_time_zone_the_utc_times_are_read_as_written_and_noted(exports, write):
    path = write("sales_order.csv", exports.MAGENTO_ORDER_HEADER, evening_orders())
    (result,) = read_exports([path])
    assert result.orders["order_date"].tolist() == [
        pd.Timestamp("2024-03-06"), pd.Timestamp("2024-07-05"),
    ]  # fmt: skip
    (note,) = [note for note in result.notes if "UTC" in note]
    assert note.startswith("created_at is in UTC, as Magento stores it")
    assert "--map time_zone=" in note


def test_ingest_stores_the_orders_on_the_stores_days_with_a_time_zone(exports, write, tmp_path):
    from typer.testing import CliRunner

    from valuecast.cli import app
    from valuecast.store import Workspace

    path = write("sales_order.csv", exports.MAGENTO_ORDER_HEADER, evening_orders())
    workspace = tmp_path / "w.duckdb"
    given = ["ingest", str(path), "-w", str(workspace), "--map", "time_zone=America/New_York"]
    result = CliRunner().invoke(app, given)
    assert result.exit_code == 0, result.output
    with Workspace(workspace, read_only=True) as ws:
        stored = ws.orders().order_by("order_number").execute()
    assert stored["order_date"].astype(str).tolist() == ["2024-03-05", "2024-07-04"]
    wrong = CliRunner().invoke(app, [*given[:3], str(tmp_path / "x.duckdb"), "--format",
                                     "magento-grid", *given[4:]])  # fmt: skip
    assert wrong.exit_code != 0
    assert "--map time_zone applies to a Magento sales_order table" in wrong.output


def test_a_time_zone_for_an_export_in_the_shops_own_time_is_an_error(exports, write):
    grid = write("export.csv", exports.MAGENTO_GRID_HEADER, grid_rows())
    table = write("orders.csv", ["customer", "date", "amount"],
                  [{"customer": "a@x.com", "date": "2024-03-05 21:30", "amount": "10"}])  # fmt: skip
    for path, fmt in ((grid, None), (grid, "magento"), (table, "orders")):
        for defer in (False, True):
            with pytest.raises(InputError) as error:
                read_exports([path], format=fmt, column_map="time_zone=Europe/Paris", defer=defer)
            assert error.value.file == str(path)
            assert "--map time_zone applies to a Magento sales_order table" in str(error.value)
    with pytest.raises(InputError, match="unknown time zone 'Mars/Olympus'"):
        read_exports([grid], column_map="time_zone=Mars/Olympus")


def test_errors(exports, write):
    rows = [order(1, "1", "a@x.com"), order(2, "2", "b@x.com", base_subtotal="n/a")]
    with pytest.raises(InputError) as info:
        magento.read_sales_order(write("sales_order.csv", exports.MAGENTO_ORDER_HEADER, rows))
    assert (info.value.row, info.value.column) == (3, "base_subtotal")
    rows = [order(1, "1", "a@x.com"), order(2, "1", "b@x.com")]
    with pytest.raises(InputError, match="appears twice"):
        magento.read_sales_order(write("sales_order.csv", exports.MAGENTO_ORDER_HEADER, rows))
    header = [h for h in exports.MAGENTO_ORDER_HEADER if h != "state"]
    rows = [{k: v for k, v in order(1, "1", "a@x.com").items() if k != "state"}]
    with pytest.raises(InputError) as info:
        magento.read_sales_order(write("sales_order.csv", header, rows))
    assert info.value.column == "state"
    rows = [order(1, "1", "a@x.com", created_at="")]
    with pytest.raises(InputError) as info:
        magento.read_sales_order(write("sales_order.csv", exports.MAGENTO_ORDER_HEADER, rows))
    assert (info.value.row, info.value.column) == (2, "created_at")
    frame = pd.DataFrame(
        {"increment_id": ["1", "2"], "state": ["new", "new"], "customer_email": ["a@x", "b@x"],
         "created_at": ["2024-01-01", "someday"], "base_subtotal": [1.0, 2.0]}
    )  # fmt: skip
    with pytest.raises(InputError) as info:
        magento.read_sales_order_frame(frame, name="db")
    assert str(info.value).startswith("db, row 2, column 'created_at'")


STORE = "Main Website\nMain Website Store\nDefault Store View"


def grid_row(number: str, date: str, status: str, email: str | None, subtotal: str, **fields):
    row = {
        "ID": number, "Purchase Point": STORE, "Purchase Date": date, "Bill-to Name": "Pat Doe",
        "Ship-to Name": "Pat Doe", "Grand Total (Base)": subtotal, "Grand Total (Purchased)":
        subtotal, "Status": status, "Billing Address": "1 Main St,Springfield,Illinois,62701",
        "Shipping Address": "1 Main St,Springfield,Illinois,62701",
        "Shipping Information": "Flat Rate - Fixed", "Customer Email": email or "",
        "Customer Group": "General", "Subtotal": subtotal, "Shipping and Handling": "$5.00",
        "Customer Name": "Pat Doe", "Payment Method": "checkmo", "Total Refunded": "",
    }  # fmt: skip
    row.update({key.replace("_", " "): value for key, value in fields.items()})
    return row


def grid_rows() -> list[dict]:
    return [
        grid_row("000000101", "Jan 5, 2024 10:15:03 AM", "Complete", "Pat@Example.com",
                 "$1,050.00", Total_Refunded="$50.00", **{"Grand Total (Base)": "$1,141.00"}),
        grid_row("000000102", "Feb 29, 2024, 9:05:00\u202fPM", "Processing", "pat@example.com",
                 "$80.00"),
        grid_row("000000103", "Mar 1, 2024 8:00:00 AM", "Canceled", "sam@example.com",
                 "$20.00"),
        grid_row("000000104", "Mar 2, 2024 11:59:59 PM", "Closed", "sam@example.com",
                 "$30.00", Total_Refunded="$35.00"),
        grid_row("000000105", "Mar 3, 2024 12:30:00 PM", "Pending", None, "$15.00"),
    ]  # fmt: skip


def test_admin_order_grid_export(exports, write):
    path = write("export.csv", exports.MAGENTO_GRID_HEADER, grid_rows())
    assert detect_format(path) == "magento-grid"
    result = magento.read_order_grid(path)
    assert result.format == "magento-grid" and result.rows_read == 5
    orders = result.orders.set_index("order_number")
    assert list(orders.index) == ["000000101", "000000102", "000000105"]
    assert orders.loc["000000101", "order_id"] == "magento:000000101"
    assert orders.loc["000000101", "ordered_at"] == pd.Timestamp("2024-01-05 10:15:03")
    assert orders.loc["000000102", "ordered_at"] == pd.Timestamp("2024-02-29 21:05:00")
    # net revenue = Subtotal - Total Refunded: the partial refund comes off
    assert orders.loc["000000101", "net_revenue"] == pytest.approx(1000.0)
    assert orders.loc["000000101", "gross_revenue"] == pytest.approx(1141.0)
    assert orders.loc["000000101", "refunded"] == pytest.approx(50.0)
    assert orders.loc["000000102", "net_revenue"] == pytest.approx(80.0)
    assert orders.loc["000000101", "customer_id"] == "pat@example.com"
    assert orders.loc["000000101", "channel"] == STORE
    assert bool(orders.loc["000000105", "is_guest"])
    assert result.excluded_orders == {"cancelled": 1, "refunded": 1}
    assert result.excluded_revenue == {"cancelled": 20.0, "refunded": 30.0}
    # its zero discounts and tax are the grid's silence, and it says so
    assert any(note.startswith("the order grid has no discount or tax columns") for note in
               result.notes)  # fmt: skip
    # --format magento reads the grid too
    (forced,) = read_exports([path], format="magento")
    pd.testing.assert_frame_equal(forced.orders, result.orders)


def test_a_grid_cancelled_in_british_spelling_is_left_out_and_unknown_labels_are_named(
    exports, write
):
    rows = grid_rows()
    rows[2]["Status"] = "Cancelled"  # a language pack's (or the shop's own) spelling
    rows[1]["Status"] = "Awaiting Pickup"  # a shop's own label: not Magento's
    result = magento.read_order_grid(write("export.csv", exports.MAGENTO_GRID_HEADER, rows))
    assert result.excluded_orders == {"cancelled": 1, "refunded": 1}
    assert list(result.orders["order_number"]) == ["000000101", "000000102", "000000105"]
    (note,) = [note for note in result.notes if "status" in note]
    assert note.startswith("1 order has a status that is not Magento's own")
    assert "('Awaiting Pickup' (1))" in note
    assert "counted as sales" in note
    # Magento's own labels and codes, in any case, name nothing
    for row, status in zip(rows, ["complete", "Pending Payment", "canceled", "On Hold",
                                  "pending_payment"], strict=True):  # fmt: skip
        row["Status"] = status
    plain = magento.read_order_grid(write("plain.csv", exports.MAGENTO_GRID_HEADER, rows))
    assert not [note for note in plain.notes if "status" in note]
    # an order of a label not Magento's that another rule leaves out is not "counted as sales"
    rows = grid_rows()
    rows[1] = grid_row("000000102", "Feb 29, 2024, 9:05:00\u202fPM", "Awaiting Pickup",
                       "pat@example.com", "-$80.00")  # fmt: skip
    negative = magento.read_order_grid(write("negative.csv", exports.MAGENTO_GRID_HEADER, rows))
    assert negative.excluded_orders["negative amount"] == 1
    assert not [note for note in negative.notes if "not Magento's own" in note]
    # a free sample is counted, worth 0, and said so
    rows[1] = grid_row("000000102", "Feb 29, 2024, 9:05:00\u202fPM", "Complete",
                       "pat@example.com", "$0.00")  # fmt: skip
    free = magento.read_order_grid(write("free.csv", exports.MAGENTO_GRID_HEADER, rows))
    assert "000000102" in set(free.orders["order_number"])
    assert any(
        note.startswith("1 order of an amount of 0") and "cancel them in Magento" in note
        for note in free.notes
    )


@pytest.mark.parametrize(
    ("cancelled", "closed", "counted"),
    [
        ("Annulée", "Clôturée", ["Complète", "En attente", "En cours de traitement",
                                 "Suspicion de fraude", "Paiement en attente"]),
        ("Storniert", "Geschlossen", ["Abgeschlossen", "Ausstehend", "In Bearbeitung",
                                      "Angehalten", "Zahlungsprüfung"]),
        ("Cancelado", "Cerrado", ["Completo", "Pendiente", "Procesando", "En espera",
                                  "Sospecha de fraude"]),
        ("Cancelada", "Fechado", ["Concluído", "Pendente", "Em processamento", "Em espera",
                                  "Revisão de pagamento"]),
        ("Annullato", "Chiuso", ["Completato", "In attesa", "In lavorazione", "In sospeso",
                                 "Sospetta frode"]),
        ("Geannuleerd", "Gesloten", ["Voltooid", "In afwachting", "In behandeling",
                                     "In de wacht", "Vermoedelijke fraude"]),
        ("ANNULEE", "Refunded", ["complete", "pending", "processing", "holded", "fraud"]),
    ],
)  # fmt: skip
def test_a_grid_of_a_translated_admin_leaves_out_its_cancelled_and_closed_orders(
    exports, write, cancelled, closed, counted
):
    rows = grid_rows()
    for row, status in zip(rows, counted, strict=True):
        row["Status"] = status
    rows.append(
        grid_row("000000106", "Mar 4, 2024 9:00:00 AM", cancelled, "kim@example.com", "$40.00")
    )
    rows.append(grid_row("000000107", "Mar 5, 2024 9:00:00 AM", closed, "kim@example.com",
                         "$45.00", Total_Refunded="$45.00"))  # fmt: skip
    result = magento.read_order_grid(write("export.csv", exports.MAGENTO_GRID_HEADER, rows))
    assert result.excluded_orders == {"cancelled": 1, "refunded": 1}
    assert result.excluded_revenue == {"cancelled": 40.0, "refunded": 45.0}
    assert len(result.orders) == 5
    # every label is read as one of Magento's own: no note says they count as sales
    assert not [note for note in result.notes if "status" in note]


def test_a_grid_in_euros_names_its_currency(exports, write):
    """The grid names no currency code: amounts written in euros say it; in dollars they don't
    (the first test's grid has currency empty)."""
    rows = grid_rows()
    for row in rows:  # the amounts after the symbol, as some locales write them
        for key, value in row.items():
            if isinstance(value, str) and value.startswith("$"):
                row[key] = value[1:] + " €"
    result = magento.read_order_grid(write("export.csv", exports.MAGENTO_GRID_HEADER, rows))
    assert list(result.orders["currency"]) == ["EUR"] * 3
    assert result.orders["net_revenue"].sum() == pytest.approx(1000.0 + 80.0 + 15.0)
    dollars = magento.read_order_grid(write("d.csv", exports.MAGENTO_GRID_HEADER, grid_rows()))
    assert dollars.orders["currency"].isna().all()


def test_admin_order_grid_bad_date_names_file_row_and_column(exports, write):
    rows = grid_rows()
    rows[3]["Purchase Date"] = "2024-13-45"
    path = write("export.csv", exports.MAGENTO_GRID_HEADER, rows)
    with pytest.raises(InputError) as info:
        read_exports([path])
    # the header is row 1, and a multi-line cell is one row, as a spreadsheet shows it
    assert (info.value.row, info.value.column) == (5, "Purchase Date")
    assert "'2024-13-45'" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("column", ["Customer Email", "Subtotal"])
def test_a_grid_export_without_a_column_the_grid_hides_says_how_to_show_it(exports, write, column):
    header = [name for name in exports.MAGENTO_GRID_HEADER if name != column]
    rows = [{k: v for k, v in row.items() if k != column} for row in grid_rows()]
    path = write("export.csv", header, rows)
    with pytest.raises(InputError) as info:
        read_exports([path], format="magento")
    assert (info.value.row, info.value.column) == (1, column)
    assert "turn it on under Columns in Sales > Orders" in str(info.value)


@pytest.mark.parametrize("marker", ["NULL", "\\N"], ids=["phpmyadmin", "mysqldump"])
def test_a_dumps_null_markers_read_as_empty_cells(exports, write, marker):
    # phpMyAdmin writes a NULL column as "NULL", mysqldump --tab as \N: the never-refunded
    # order's refund, a guest's e-mail and a missing coupon are empty, not values
    rows = [
        order(1, "000000001", "pat@example.com", coupon_code="SPRING10"),
        order(2, "000000002", "pat@example.com", base_subtotal_refunded="40.0000"),
        order(3, "000000003", None),
        order(4, "000000004", "kim@example.com"),
    ]
    header = [*exports.MAGENTO_ORDER_HEADER]
    blank = magento.read_sales_order(write("blank.csv", header, rows))
    marked = [{key: row.get(key, None) for key in header} for row in rows]
    marked = [{key: marker if value is None else value for key, value in row.items()}
              for row in marked]  # fmt: skip
    dumped = magento.read_sales_order(write("dumped.csv", header, marked))
    pd.testing.assert_frame_equal(dumped.orders, blank.orders)
    assert dumped.orders["customer_id"].isna().sum() == 1  # the guest, not a customer "null"
    assert dumped.orders["discount_code"].notna().sum() == 1


_GRID_DATE_PIECES = ["Jan", "dec", "SEP", "ſep", "5", "05", "2024", "10:15:03", "9:01", "AM", "pm",
                     "ﬁ", "ß", ",", " ", "\u202f", "\xa0", "\t", "\x1c", "\u3000", "x"]  # fmt: skip


def _grid_dates_or_error(cells: list[str | None], monkeypatch, upper_to_letters: str):
    monkeypatch.setattr(magento, "_UPPER_TO_LETTERS", upper_to_letters)
    table = Table("grid.csv", ["d"], pa.table({"d": pa.array(cells, pa.string())}))
    try:
        return magento._grid_dates(table, "d")
    except InputError as error:
        return str(error)


@settings(max_examples=200, deadline=None)
@given(
    cells=st.lists(
        st.one_of(
            st.none(),
            st.sampled_from(
                [
                    "Jan 5, 2024 10:15:03 AM",
                    "Dec 31, 2023, 11:59:59\u202fPM",
                    "Sep 1 2024 9:01 pm",
                    "Mar 3, 2024",
                ]
            ),  # fmt: skip
            st.lists(st.sampled_from(_GRID_DATE_PIECES), max_size=8).map("".join),
        ),
        max_size=6,
    )
)
def test_grid_dates_cleaned_by_arrow_read_as_by_python(cells):
    # the Arrow cleaning (whitespace, commas, upper case) gives Python's dates and errors;
    # a pattern no cell matches takes the Arrow route, one every cell matches Python's
    with pytest.MonkeyPatch.context() as monkeypatch:
        by_arrow = _grid_dates_or_error(cells, monkeypatch, r"[^\s\S]")
        by_python = _grid_dates_or_error(cells, monkeypatch, r"^")
        kept = _grid_dates_or_error(cells, monkeypatch, magento._UPPER_TO_LETTERS)
    if isinstance(by_python, str):
        assert by_arrow == by_python == kept
    else:
        np.testing.assert_array_equal(by_arrow, by_python)
        np.testing.assert_array_equal(kept, by_python)


def test_letters_python_upper_cases_to_ascii_unlike_arrow_take_pythons_route():
    letters = [chr(c) for c in range(128, 0x110000) if not 0xD800 <= c < 0xE000]
    arrow_upper = pc.utf8_upper(pa.array(letters)).to_pylist()
    differing = {
        letter
        for letter, upper in zip(letters, arrow_upper, strict=True)
        if letter.upper() != upper and any(c.isascii() for c in letter.upper())
    }
    matched = pc.match_substring_regex(pa.array(sorted(differing)), magento._UPPER_TO_LETTERS)
    assert differing and pc.all(matched).as_py()


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        # Magento's export code: a 24-hour clock with AM/PM
        (["Jun 1, 2024 23:23:47 PM", "Jun 2, 2024 11:05:00 AM"],
         ["2024-06-01 23:23:47", "2024-06-02 11:05:00"]),
        (["1 Jun 2024, 23:23:47", "12 Jul 2024, 08:00:00"],  # British English
         ["2024-06-01 23:23:47", "2024-07-12 08:00:00"]),
        (["01.06.2024, 23:23:47", "13.07.2024, 08:00:00"],  # dotted: day first
         ["2024-06-01 23:23:47", "2024-07-13 08:00:00"]),
        (["01/06/2024 23:23", "13/07/2024 08:00"],  # numeric: the column tells the order
         ["2024-06-01 23:23:00", "2024-07-13 08:00:00"]),
        (["31 mars 2024, 23:30:00", "1 févr. 2024, 08:00:00"],  # French
         ["2024-03-31 23:30:00", "2024-02-01 08:00:00"]),
        (["31 mar 2024, 23:30:00", "1 dic 2024, 08:00:00"],  # Spanish, Italian
         ["2024-03-31 23:30:00", "2024-12-01 08:00:00"]),
        (["31 mrt 2024 23:30:00", "1 okt 2024 08:00:00"],  # Dutch
         ["2024-03-31 23:30:00", "2024-10-01 08:00:00"]),
        (["31 de mar. de 2024 23:30:00", "1 de out. de 2024 08:00:00"],  # Brazilian Portuguese
         ["2024-03-31 23:30:00", "2024-10-01 08:00:00"]),
        (["Mar 31, 2024 11:30:00 PM", "1 août 2024, 08:00:00"],  # an English and a French admin
         ["2024-03-31 23:30:00", "2024-08-01 08:00:00"]),
    ],
)  # fmt: skip
def test_grid_dates_of_other_admin_locales_are_read(exports, write, cells, expected):
    rows = grid_rows()[:2]
    for row, cell in zip(rows, cells, strict=True):
        row["Purchase Date"] = cell
    result = magento.read_order_grid(write("export.csv", exports.MAGENTO_GRID_HEADER, rows))
    assert result.orders["ordered_at"].tolist() == [pd.Timestamp(t) for t in expected]


def test_a_grid_reads_its_dates_with_the_maps_date_format(exports, write):
    rows = grid_rows()[:2]
    rows[0]["Purchase Date"], rows[1]["Purchase Date"] = "2024|06|01 23h23", "2024|07|13 08h00"
    path = write("export.csv", exports.MAGENTO_GRID_HEADER, rows)
    (result,) = read_exports([path], column_map="date_format=%Y|%m|%d %Hh%M")
    assert result.format == "magento-grid"
    assert result.orders["ordered_at"].tolist() == [
        pd.Timestamp("2024-06-01 23:23"), pd.Timestamp("2024-07-13 08:00")
    ]  # fmt: skip


def test_items_beside_a_grid_export_say_the_grid_has_nothing_to_join_them_to(exports, write):
    grid = write("export.csv", exports.MAGENTO_GRID_HEADER, grid_rows())
    items = write(
        "sales_order_item.csv", exports.MAGENTO_ITEM_HEADER,
        [{"item_id": 1, "order_id": 10, "sku": "MUG", "name": "Mug", "qty_ordered": "1.0000",
          "base_price": "20.0000"}],
    )  # fmt: skip
    with pytest.raises(InputError, match="the admin's order grid export has no entity_id"):
        read_exports([grid, items])
    with pytest.raises(InputError, match="needs its sales_order file in the same ingest"):
        read_exports([items])


def test_a_grids_placeholder_email_is_a_guest_order(exports, write):
    rows = grid_rows()
    rows[0]["Customer Email"] = "NoEmail@store.com"
    rows[1]["Customer Email"] = "customer@store.com"
    result = magento.read_order_grid(write("export.csv", exports.MAGENTO_GRID_HEADER, rows))
    orders = result.orders.set_index("order_number")
    assert orders["customer_id"].isna().all() and orders["is_guest"].all()
    assert orders["email"].isna().all()
    assert (
        "2 orders carry a placeholder e-mail ('customer@store.com' (1), 'noemail@store.com' "
        "(1)), no customer's address: read as guest orders"
    ) in result.notes


def test_a_grid_order_without_a_status_counts_as_a_sale_and_is_noted(exports, write):
    rows = grid_rows()
    rows[1]["Status"] = ""
    rows[4]["Status"] = "   "
    result = magento.read_order_grid(write("export.csv", exports.MAGENTO_GRID_HEADER, rows))
    assert list(result.orders["order_number"]) == ["000000101", "000000102", "000000105"]
    assert (
        "2 orders have an empty Status: counted as sales (fill in the status of a cancelled or "
        "refunded one, or export the grid again with its Status column)"
    ) in result.notes
    plain = magento.read_order_grid(write("plain.csv", exports.MAGENTO_GRID_HEADER, grid_rows()))
    assert not [note for note in plain.notes if "empty Status" in note]


def test_websites_with_their_own_base_currency_are_converted_with_magentos_rates(exports, write):
    """A shop whose websites have base currencies of their own (USD and EUR, the global one
    USD): each order's amounts are taken to USD with the base_to_global_rate Magento recorded
    on it, its items' prices with them, rather than the ingest asking for a rates file."""
    euro = {"base_currency_code": "EUR", "store_id": 2, "store_name": "EU\nEU Store\nDeutsch"}
    orders_path = write(
        "sales_order.csv",
        exports.MAGENTO_ORDER_HEADER,
        [
            order(1, "000000001", "a@x.com", base_to_global_rate="1.0000"),
            order(2, "200000001", "b@x.com", base_to_global_rate="1.1000", **euro),
            order(3, "200000002", "b@x.com", base_to_global_rate="1.0800", state="canceled",
                  **euro),
        ],
    )  # fmt: skip
    items = [
        {"item_id": 1, "order_id": 2, "sku": "MUG", "name": "Mug", "qty_ordered": "1.0000",
         "base_price": "100.0000", "base_discount_amount": "10.0000"},
    ]  # fmt: skip
    items_path = write("sales_order_item.csv", exports.MAGENTO_ITEM_HEADER, items)
    order_result, item_result = read_exports([orders_path, items_path])
    orders = order_result.orders.set_index("order_number")
    assert orders["currency"].tolist() == ["USD", "USD"]
    assert orders.loc["000000001", "net_revenue"] == pytest.approx(100.0)
    assert orders.loc["200000001", "net_revenue"] == pytest.approx(110.0)
    assert orders.loc["200000001", "gross_revenue"] == pytest.approx(118.25 * 1.1)
    assert orders.loc["200000001", "tax"] == pytest.approx(8.25 * 1.1)
    assert order_result.excluded_revenue["cancelled"] == pytest.approx(118.25 * 1.08)
    assert item_result.order_lines["unit_price"].tolist() == pytest.approx([110.0])
    assert item_result.order_lines["line_discount"].tolist() == pytest.approx([11.0])
    assert (
        "orders in 2 base currencies (a website each): converted to USD, the global currency, "
        "with each order's base_to_global_rate, as Magento recorded it: EUR (2 orders)"
    ) in order_result.notes


def test_a_base_currency_without_its_rate_asks_for_rates(exports, write):
    path = write(
        "sales_order.csv",
        exports.MAGENTO_ORDER_HEADER,
        [
            order(1, "000000001", "a@x.com", base_to_global_rate="1.0000"),
            order(2, "200000001", "b@x.com", base_currency_code="EUR", base_to_global_rate="0"),
        ],
    )
    with pytest.raises(InputError, match="orders are in 2 currencies.*give --fx"):
        read_exports([path])


def test_an_account_whose_email_changed_is_one_customer(exports, write):
    """Magento writes on each order the e-mail of its day: a customer who changed the
    account's e-mail is one customer (its customer_id), known by the latest; a guest checkout
    with the old address is theirs too."""
    rows = [
        order(1, "000000001", "pat@old.example", customer_id=42, created_at="2024-01-05 10:00:00"),
        order(2, "000000002", "Pat@New.example", customer_id=42, created_at="2024-06-05 10:00:00"),
        order(3, "000000003", "pat@old.example", customer_id="NULL", customer_is_guest=1),
        order(4, "000000004", "sam@example.com", customer_id="NULL", customer_is_guest=1),
    ]
    result = magento.read_sales_order(write("sales_order.csv", exports.MAGENTO_ORDER_HEADER, rows))
    orders = result.orders.set_index("order_number")
    assert orders["customer_id"].tolist() == ["pat@new.example"] * 3 + ["sam@example.com"]
    assert orders["email"].tolist() == [
        "pat@old.example", "Pat@New.example", "pat@old.example", "sam@example.com",
    ]  # fmt: skip
    assert (
        "1 order of registered customers gives another e-mail than the account's latest: "
        "counted as the account's (by customer_id)"
    ) in result.notes


def test_store_views_numbering_their_orders_alike_are_distinct_orders(exports, write):
    """Magento 2 numbers each store view's orders from 000000001: an English and a French
    store view both have an order 000000001, two orders of two customers."""
    rows = [
        order(1, "000000001", "en@example.com", store_id=1),
        order(2, "000000001", "fr@example.com", store_id=2, store_name="FR\nFR\nFrançais"),
        order(3, "000000002", "fr@example.com", store_id=2, store_name="FR\nFR\nFrançais"),
    ]
    path = write("sales_order.csv", exports.MAGENTO_ORDER_HEADER, rows)
    result = magento.read_sales_order(path)
    orders = result.orders
    # all of store 2's orders, 000000002 too: its number stays when store 1 reaches it
    assert orders["order_number"].tolist() == [
        "000000001", "000000001 (store 2)", "000000002 (store 2)",
    ]  # fmt: skip
    assert (
        "order numbers repeat across store views (Magento 2 may number each store view's orders "
        "from 000000001): the 2 orders of store views other than the default one are numbered "
        "as '000000001 (store 2)'"
    ) in result.notes
    assert orders["customer_id"].tolist() == ["en@example.com"] + ["fr@example.com"] * 2
    frame = pd.DataFrame(rows).assign(store_id=[1.0, 2.0, 2.0])  # a column with NULLs
    assert read_exports([("sales_order", frame)])[0].orders["order_number"].tolist() == (
        orders["order_number"].tolist()
    )
    prefixed = [dict(rows[1], increment_id="2000000001"), dict(rows[2], increment_id="2000000002")]
    path = write("prefixed.csv", exports.MAGENTO_ORDER_HEADER, [rows[0], *prefixed])
    assert magento.read_sales_order(path).orders["order_number"].tolist() == [
        "000000001", "2000000001", "2000000002",
    ]  # fmt: skip
    twice = write("twice.csv", exports.MAGENTO_ORDER_HEADER, [*rows, dict(rows[2], entity_id=4)])
    with pytest.raises(InputError, match="order '000000002' appears twice in store 2") as error:
        magento.read_sales_order(twice)
    assert error.value.row == 5


def test_a_grid_of_store_views_numbering_their_orders_alike_tells_them_apart(exports, write):
    french = "Main Website\nMain Website Store\nFrench Store View"
    rows = [
        grid_row("000000001", "Jan 5, 2024 10:15:03 AM", "Complete", "en@example.com", "$10.00"),
        grid_row("000000002", "Jan 6, 2024 10:15:03 AM", "Complete", "en@example.com", "$10.00"),
        grid_row("000000001", "Mar 5, 2024 10:15:03 AM", "Complete", "fr@example.com", "$20.00",
                 Purchase_Point=french),
    ]  # fmt: skip
    result = magento.read_order_grid(write("export.csv", exports.MAGENTO_GRID_HEADER, rows))
    assert result.orders["order_number"].tolist() == [
        "000000001", "000000002", "000000001 (French Store View)",
    ]  # fmt: skip
    assert result.notes[0].startswith("order numbers repeat across store views")
    assert "(Default Store View)" in result.notes[0]
    twice = write("twice.csv", exports.MAGENTO_GRID_HEADER, [*rows, rows[2]])
    with pytest.raises(InputError, match="'000000001' appears twice in French Store View"):
        magento.read_order_grid(twice)


def test_orders_not_paid_yet_are_counted_and_noted_in_the_grid_and_the_table(exports, write):
    """Orders awaiting payment (or a fraud check) count as sales, as Magento's reports count
    them, and a note names them with their revenue: the grid's labels in any admin language,
    sales_order's states."""
    rows = grid_rows()[:2]
    rows += [
        grid_row("000000108", "Mar 6, 2024 9:00:00 AM", "Zahlung ausstehend", "kim@example.com",
                 "$40.00"),
        grid_row("000000109", "Mar 7, 2024 9:00:00 AM", "Verdacht auf Betrug", "lou@example.com",
                 "$400.00"),
    ]  # fmt: skip
    grid = magento.read_order_grid(write("grid.csv", exports.MAGENTO_GRID_HEADER, rows))
    assert len(grid.orders) == 4
    assert (
        "2 orders not paid yet (suspected fraud 1, pending payment 1) are counted as sales "
        "(440.00 of revenue): cancel in Magento any that will never be paid (a payment page "
        "left, a transfer that never came)"
    ) in grid.notes
    table = [
        order(1, "000000001", "a@x.com"),
        order(2, "000000002", "b@x.com", state="pending_payment", status="pending_payment"),
    ]
    result = magento.read_sales_order(write("sales_order.csv", exports.MAGENTO_ORDER_HEADER, table))
    assert len(result.orders) == 2
    assert [note for note in result.notes if "not paid yet" in note] == [
        "1 order not paid yet (pending payment 1) is counted as a sale (100.00 of revenue): "
        "cancel in Magento any that will never be paid (a payment page left, a transfer that "
        "never came)"
    ]


def test_every_item_refunded_the_shipping_kept_is_a_refunded_order(exports, write):
    """A credit memo of every item leaves the order complete (its shipping kept): it counted as
    a repeat purchase worth 0, where Shopify's export excludes it as refunded."""
    rows = [
        order(1, "000000001", "pat@example.com"),
        order(2, "000000002", "pat@example.com", base_subtotal_refunded="100.0000",
              base_total_refunded="108.2500", created_at="2024-04-05 04:30:00"),
        order(3, "000000003", "pat@example.com", base_subtotal_refunded="40.0000",
              base_total_refunded="43.3000", created_at="2024-05-05 04:30:00"),
    ]  # fmt: skip
    result = magento.read_sales_order(write("sales_order.csv", exports.MAGENTO_ORDER_HEADER, rows))
    assert result.excluded_orders == {"refunded": 1}
    assert result.orders["net_revenue"].tolist() == pytest.approx([100.0, 60.0])
