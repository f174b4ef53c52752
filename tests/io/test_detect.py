"""Format detection from headers, and the read_exports entry point."""

from __future__ import annotations

import gc
from pathlib import Path

import pandas as pd
import pytest

from valuecast.datasets import data_path
from valuecast.io import (
    FORMATS,
    _build,
    detect_format,
    detect_header,
    read_export,
    read_exports,
)
from valuecast.io.csvfile import CsvFile
from valuecast.io.schema import InputError


def test_headers_of_every_platform(exports):
    assert detect_header(exports.SHOPIFY_ORDERS_HEADER) == "shopify"
    assert detect_header(exports.SHOPIFY_ORDERS_HEADER_OLD) == "shopify"
    assert detect_header(exports.SHOPIFY_ORDERS_HEADER_TAX5) == "shopify"
    for header in exports.SHOPIFY_CUSTOMERS_HEADERS:
        assert detect_header(header) == "shopify-customers"
    assert detect_header(exports.MAGENTO_ORDER_HEADER) == "magento"
    assert detect_header(exports.MAGENTO_ITEM_HEADER) == "magento-items"
    assert detect_header(exports.WOO_WEBTOFFEE_HEADER) == "woocommerce"
    assert detect_header(exports.WOO_CSV_EXPORT_HEADER) == "woocommerce"
    assert detect_header(["Customer ID", "Order Date", "Amount"]) == "orders"
    assert detect_header(["sku", "price"]) is None
    # common labels: WooCommerce's only with one of its customer columns
    labels = ["Order Number", "Order Date", "Order Status", "Order Total"]
    assert detect_header([*labels, "Email"]) == "orders"
    assert detect_header([*labels, "Billing Email"]) == "woocommerce"
    assert detect_header([*labels[:3], "Order Total Amount", "Email (Billing)"]) == "woocommerce"


def test_detect_files(exports, write, tmp_path):
    assert detect_format(write("s.csv", exports.SHOPIFY_ORDERS_HEADER, [])) == "shopify"
    assert detect_format(data_path("CDNOW_master.txt")) == "cdnow"
    assert detect_format(data_path("CDNOW_sample.txt")) == "cdnow"
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "x.parquet")
    assert detect_format(tmp_path / "x.parquet") == "orders"
    unknown = write("u.csv", ["sku", "price"], [{"sku": "A", "price": 1}])
    with pytest.raises(InputError) as info:
        detect_format(unknown)
    assert "--format" in str(info.value) and "'sku'" in str(info.value)
    assert set(FORMATS) == {
        "shopify", "shopify-customers", "magento", "magento-grid", "magento-items", "woocommerce",
        "orders", "cdnow",
    }  # fmt: skip


def test_read_exports_runs_the_right_importer_per_file(exports, write):
    orders = write(
        "orders.csv",
        exports.SHOPIFY_ORDERS_HEADER,
        exports.shopify_order("#1", "a@x.com", "2024-01-01 00:00:00 +0000"),
    )
    customers = write(
        "customers.csv",
        exports.SHOPIFY_CUSTOMERS_HEADERS[0],
        [{"Email": "A@x.com", "Accepts Marketing": "yes", "Tags": "vip"}],
    )
    sales_order = write(
        "sales_order.csv",
        exports.MAGENTO_ORDER_HEADER,
        [
            {
                "entity_id": 1,
                "increment_id": "9",
                "state": "complete",
                "customer_email": "a@x.com",
                "created_at": "2024-01-01 00:00:00",
                "base_subtotal": "10",
                "base_currency_code": "USD",
            }
        ],
    )
    items = write(
        "sales_order_item.csv",
        exports.MAGENTO_ITEM_HEADER,
        [{"item_id": 1, "order_id": 1, "sku": "S", "qty_ordered": 1, "base_price": 10}],
    )
    results = read_exports([items, orders, customers, sales_order])  # fmt: skip
    assert [r.format for r in results] == [
        "magento-items",
        "shopify",
        "shopify-customers",
        "magento",
    ]
    assert [r.file for r in results] == [str(items), str(orders), str(customers), str(sales_order)]
    assert results[0].order_lines["order_id"].tolist() == ["magento:9"]
    assert results[2].customers["customer_id"].tolist() == ["a@x.com"]
    with pytest.raises(InputError, match="sales_order file"):
        read_exports([items])


def test_forced_format_and_column_map(exports, write):
    path = write(
        "t.csv", ["Who", "When", "Paid"], [{"Who": "x", "When": "2024-01-01", "Paid": "3"}]
    )
    (result,) = read_export(path, column_map="customer_id=Who,ordered_at=When,revenue=Paid")
    assert result.format == "orders" and result.orders["net_revenue"].tolist() == [3.0]
    with pytest.raises(InputError) as info:
        read_export(path)
    assert "--format" in str(info.value)
    with pytest.raises(InputError, match="unknown format"):
        read_export(path, format="bigcommerce")
    with pytest.raises(InputError, match="column map applies"):
        read_export(path, format="shopify", column_map="customer_id=Who")
    with pytest.raises(InputError) as info:
        read_export(path, format="shopify")
    assert info.value.column == "Name"
    (cdnow,) = read_export(data_path("CDNOW_sample.txt"), format="cdnow")
    assert cdnow.format == "cdnow"


def test_a_customers_export_beside_a_mapped_orders_table_is_read_as_itself(exports, write):
    """The map names the orders table's columns; a Shopify customers export given in the same
    ingest lacks them and is read by its own format. A file of no known format missing a
    mapped column is still the importer's error naming it."""
    mapping = "customer_id=Who,ordered_at=When,revenue=Paid"
    orders = write(
        "t.csv", ["Who", "When", "Paid"], [{"Who": "a@x.com", "When": "2024-01-01", "Paid": "3"}]
    )
    customers = write(
        "customers_export.csv", exports.SHOPIFY_CUSTOMERS_HEADERS[1],
        [{"First Name": "Ann", "Email": "a@x.com", "Accepts Email Marketing": "yes"}],
    )  # fmt: skip
    read = read_exports([orders, customers], column_map=mapping)
    assert [result.format for result in read] == ["orders", "shopify-customers"]
    assert read[1].customers["first_name"].tolist() == ["Ann"]
    other = write("other.csv", ["Who", "Day", "Paid"], [{"Who": "b", "Day": "x", "Paid": "1"}])
    with pytest.raises(InputError) as info:
        read_exports([orders, other], column_map=mapping)
    assert "column given for ordered_at in --map is not in the file" in str(info.value)
    with pytest.raises(InputError):  # one file: the map is the file's, whatever its header
        read_export(customers, column_map=mapping)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_export(tmp_path / "nope.csv")


def test_tables_read_from_a_database_are_detected_like_files():
    orders = pd.DataFrame(
        {"entity_id": [1, 2], "increment_id": ["100", "101"], "state": ["complete", "canceled"],
         "customer_email": ["A@x.com", "b@x.com"], "base_subtotal": [20.0, 5.0],
         "created_at": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 10:00"]),
         "base_currency_code": ["EUR", "EUR"]}
    )  # fmt: skip
    items = pd.DataFrame(
        {"item_id": [7], "order_id": [1], "parent_item_id": [None], "sku": ["S"], "name": ["Sock"],
         "qty_ordered": [2.0], "base_price": [10.0]}
    )  # fmt: skip
    results = read_exports(
        [("mysql://shop/sales_order", orders), ("mysql://shop/sales_order_item", items)]
    )
    assert [r.format for r in results] == ["magento", "magento-items"]
    assert results[0].orders["customer_id"].tolist() == ["a@x.com"]
    assert results[0].excluded_orders == {"cancelled": 1}
    assert results[1].order_lines["order_id"].tolist() == ["magento:100"]
    with pytest.raises(InputError) as info:
        read_exports(["mysql://user@host/shop"])
    assert "DataFrame" in str(info.value)
    with pytest.raises(InputError, match="format"):
        read_exports([("db://t", pd.DataFrame({"x": [1]}))])


def test_the_formats_an_unknown_header_suggests_are_the_ones_format_accepts(tmp_path):
    from valuecast.cli.options import ExportFormat
    from valuecast.io.detect import GIVEN_FORMATS

    assert set(GIVEN_FORMATS) == {choice.value for choice in ExportFormat}
    path = tmp_path / "odd.csv"
    path.write_text("alpha,beta\n1,2\n")
    with pytest.raises(InputError) as caught:
        read_exports([path])
    assert f"give --format ({'|'.join(GIVEN_FORMATS)})" in str(caught.value)


@pytest.mark.parametrize(
    ("header", "revenue"),
    [
        # an admin export's labels, punctuation and all
        (["order-id", "Customer E-mail", "Date Created", "Total (incl. VAT)"], 12.0),
        (["Order #", "E-mail", "Sale Date", "Grand Total"], 12.0),
        # the amount without tax is the order's net revenue, wherever it stands
        (["Receipt No.", "Email Address", "Created", "Total (incl. VAT)", "Total (excl. VAT)"],
         10.0),
        (["Order #", "Email", "Date", "Total", "Total (excl. VAT)"], 10.0),
        (["Order #", "Email", "Date", "Amount", "Total ex VAT"], 10.0),
        # a card terminal's transactions (Square): net sales are without tax and tips
        (["Transaction ID", "Customer ID", "Date", "Gross Sales", "Net Sales"], 10.0),
    ],
)  # fmt: skip
def test_an_orders_table_under_an_admin_exports_labels_is_read_without_a_map(
    write, header, revenue
):
    """The labels shop admins and tills write for the order, customer, date and total columns
    are the orders table's own: the file is detected and read, each column the one meant."""
    rows = [
        dict(zip(header, [str(n), email, f"2024-01-0{n}", "12.00", "10.00"], strict=False))
        for n, email in ((1, "a@x.com"), (2, "b@x.com"))
    ]
    path = write("orders.csv", header, rows)
    assert detect_header(header) == "orders"
    (result,) = read_export(path)
    assert result.orders["order_number"].tolist() == ["1", "2"]
    assert result.orders["customer_id"].tolist() == ["a@x.com", "b@x.com"]
    assert result.orders["ordered_at"].dt.day.tolist() == [1, 2]
    assert result.orders["net_revenue"].tolist() == [revenue, revenue]


def _bodies_held(path: Path) -> list[int]:
    """The sizes of the copies of ``path``'s bytes held in memory.

    Only this file's: another test's error leaves its file in a cycle the collector has not yet
    reached, and which test ran before on this worker is not this test's to know.
    """
    return [
        len(o._data)
        for o in gc.get_objects()
        if isinstance(o, CsvFile) and o.path == path and len(o._data)
    ]


def _woo_rows() -> list[dict]:
    return [
        {"order_id": n, "order_number": n, "order_date": "2024-03-05 23:30:00",
         "status": "wc-completed", "order_total": "10.00", "billing_email": f"c{n}@example.com",
         "line_item_1": "name:Mug|sku:M|quantity:1|total:10.00|sub_total:10.00"}
        for n in range(1, 4)
    ]  # fmt: skip


def _grid_rows() -> list[dict]:
    return [
        {"ID": f"00000{n}", "Purchase Date": "Jan 5, 2024 10:15:03 AM", "Status": "Complete",
         "Customer Email": f"c{n}@example.com", "Subtotal": "10.00",
         "Grand Total (Base)": "10.00", "Total Refunded": "0.00", "Shipping and Handling": "0.00"}
        for n in range(1, 4)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "rows", "format"),
    [
        ("WOO_WEBTOFFEE_HEADER", _woo_rows, None),
        ("WOO_WEBTOFFEE_HEADER", _woo_rows, "woocommerce"),
        ("MAGENTO_GRID_HEADER", _grid_rows, None),
        ("MAGENTO_GRID_HEADER", _grid_rows, "magento"),
    ],
)
def test_an_export_detected_or_named_is_not_held_while_its_orders_are_built(
    header, rows, format, exports, write, monkeypatch
):
    # the importer reads the file's columns and lets go of its bytes, as --format has it do:
    # the detection looked at the header and keeps no copy of the file beside the orders
    path = write("export.csv", getattr(exports, header), rows())
    held = []
    assemble = _build.assemble

    def assembling(*args, **kwargs):
        held.extend(_bodies_held(path))
        return assemble(*args, **kwargs)

    monkeypatch.setattr(_build, "assemble", assembling)
    (result,) = read_exports([path], format=format)
    assert held == [] and len(result.orders) == 3


def test_a_magento_file_named_so_is_read_whole_once(exports, write, monkeypatch):
    # whether it is the admin grid's export is told by its header
    path = write("export.csv", exports.MAGENTO_GRID_HEADER, _grid_rows())
    reads = []
    read_bytes = Path.read_bytes

    def reading(self: Path) -> bytes:
        reads.append(self)
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", reading)
    (result,) = read_exports([path], format="magento")
    assert reads == [path] and result.format == "magento-grid"


def test_one_path_given_alone_is_that_file_not_its_letters(tmp_path, monkeypatch):
    """A notebook's read_exports("orders.csv") read the string as a list of one-letter paths:
    from "/" it walked down the file system and failed in /proc with an error naming neither
    the file nor the mistake."""
    from valuecast.jobs.files import summarize_files

    path = tmp_path / "orders.csv"
    path.write_text("customer_id,order_date,revenue\na,2024-01-05,10\na,2024-02-05,20\n")
    monkeypatch.chdir(tmp_path)
    for given in (str(path), path, "orders.csv"):
        (result,) = read_exports(given)
        assert result.orders["net_revenue"].tolist() == [10.0, 20.0]
    summary = summarize_files(str(path))
    assert (summary.rows_read, summary.orders) == (2, 2)
    summary.close()
