"""Fixture writers: small export files with the real header sets of each platform.

Rows are dicts keyed by header name; columns a row does not mention are written empty, as the
platforms do. ``write_csv`` controls the encoding, delimiter and line endings.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import SimpleNamespace

import pytest

# Shopify orders export, current generation (79 columns, ends at "Payment References").
SHOPIFY_ORDERS_HEADER = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
    "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street",
    "Billing Address1", "Billing Address2", "Billing Company", "Billing City", "Billing Zip",
    "Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street",
    "Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip",
    "Shipping Province", "Shipping Country", "Shipping Phone", "Notes", "Note Attributes",
    "Cancelled at", "Payment Method", "Payment Reference", "Refunded Amount", "Vendor",
    "Outstanding Balance", "Employee", "Location", "Device ID", "Id", "Tags", "Risk Level",
    "Source", "Lineitem discount", "Tax 1 Name", "Tax 1 Value", "Tax 2 Name", "Tax 2 Value",
    "Tax 3 Name", "Tax 3 Value", "Tax 4 Name", "Tax 4 Value", "Tax 5 Name", "Tax 5 Value",
    "Phone", "Receipt Number", "Duties", "Billing Province Name", "Shipping Province Name",
    "Payment ID", "Payment Terms Name", "Next Payment Due At", "Payment References",
]  # fmt: skip
# Older generations: the one ending at "Tax 5 Value", and the oldest ending at "Cancelled at".
SHOPIFY_ORDERS_HEADER_TAX5 = SHOPIFY_ORDERS_HEADER[: SHOPIFY_ORDERS_HEADER.index("Tax 5 Value") + 1]
SHOPIFY_ORDERS_HEADER_OLD = SHOPIFY_ORDERS_HEADER[: SHOPIFY_ORDERS_HEADER.index("Cancelled at") + 1]

# Shopify customers export, three generations.
SHOPIFY_CUSTOMERS_HEADERS = [
    [
        "First Name", "Last Name", "Email", "Company", "Address1", "Address2", "City",
        "Province", "Province Code", "Country", "Country Code", "Zip", "Phone",
        "Accepts Marketing", "Total Spent", "Total Orders", "Tags", "Note", "Tax Exempt",
    ],
    [
        "First Name", "Last Name", "Email", "Accepts Email Marketing", "Company", "Address1",
        "Address2", "City", "Province", "Province Code", "Country", "Country Code", "Zip",
        "Phone", "Accepts SMS Marketing", "Total Spent", "Total Orders", "Tags", "Note",
        "Tax Exempt",
    ],
    [
        "Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing",
        "Default Address Company", "Default Address Address1", "Default Address Address2",
        "Default Address City", "Default Address Province Code", "Default Address Country Code",
        "Default Address Zip", "Default Address Phone", "Phone", "Accepts SMS Marketing",
        "Total Spent", "Total Orders", "Note", "Tax Exempt", "Tags",
    ],
]  # fmt: skip

# Magento 2 sales_order (a representative subset of its ~150 columns, in table order).
MAGENTO_ORDER_HEADER = [
    "entity_id", "state", "status", "coupon_code", "protect_code", "shipping_description",
    "is_virtual", "store_id", "customer_id", "base_discount_amount", "base_discount_canceled",
    "base_discount_invoiced", "base_discount_refunded", "base_grand_total",
    "base_shipping_amount", "base_shipping_canceled", "base_shipping_invoiced",
    "base_shipping_refunded", "base_shipping_tax_amount", "base_shipping_tax_refunded",
    "base_subtotal", "base_subtotal_canceled", "base_subtotal_invoiced", "base_subtotal_refunded",
    "base_tax_amount", "base_tax_canceled", "base_tax_invoiced", "base_tax_refunded",
    "base_to_global_rate", "base_to_order_rate", "base_total_canceled", "base_total_invoiced",
    "base_total_invoiced_cost", "base_total_offline_refunded", "base_total_online_refunded",
    "base_total_paid", "base_total_qty_ordered", "base_total_refunded", "discount_amount",
    "grand_total", "shipping_amount", "subtotal", "tax_amount", "total_paid", "total_refunded",
    "customer_is_guest", "customer_note_notify", "customer_group_id", "increment_id",
    "base_currency_code", "customer_email", "customer_firstname", "customer_lastname",
    "global_currency_code", "order_currency_code", "remote_ip", "shipping_method",
    "store_currency_code", "store_name", "created_at", "updated_at", "total_item_count",
    "base_adjustment_negative", "base_adjustment_positive",
]  # fmt: skip
# Magento 2 admin order grid, Sales > Orders > Export > CSV (the columns the grid shows).
MAGENTO_GRID_HEADER = [
    "ID", "Purchase Point", "Purchase Date", "Bill-to Name", "Ship-to Name",
    "Grand Total (Base)", "Grand Total (Purchased)", "Status", "Billing Address",
    "Shipping Address", "Shipping Information", "Customer Email", "Customer Group", "Subtotal",
    "Shipping and Handling", "Customer Name", "Payment Method", "Total Refunded", "Allocated sources",
    "Braintree Transaction Source",
]  # fmt: skip
MAGENTO_ITEM_HEADER = [
    "item_id", "order_id", "parent_item_id", "quote_item_id", "store_id", "created_at",
    "updated_at", "product_id", "product_type", "sku", "name", "qty_ordered", "qty_refunded",
    "base_price", "price", "base_discount_amount", "base_row_total", "base_tax_amount",
]  # fmt: skip

# WooCommerce: WebToffee "Order Export & Import" column set (one row per order, line items
# packed into line_item_N cells) and the WooCommerce.com Customer/Order CSV Export one (one row
# per line item).
WOO_WEBTOFFEE_HEADER = [
    "order_id", "order_number", "order_date", "paid_date", "status", "shipping_total",
    "shipping_tax_total", "fee_total", "fee_tax_total", "tax_total", "cart_discount",
    "order_discount", "discount_total", "order_total", "order_subtotal", "order_key",
    "order_currency", "payment_method", "payment_method_title", "transaction_id",
    "customer_ip_address", "customer_user_agent", "shipping_method", "customer_id",
    "customer_user", "customer_email", "billing_first_name", "billing_last_name",
    "billing_company", "billing_email", "billing_phone", "billing_address_1",
    "billing_address_2", "billing_postcode", "billing_city", "billing_state", "billing_country",
    "shipping_first_name", "shipping_last_name", "shipping_company", "shipping_phone",
    "shipping_address_1", "shipping_address_2", "shipping_postcode", "shipping_city",
    "shipping_state", "shipping_country", "customer_note", "wt_import_key", "tax_items",
    "shipping_items", "fee_items", "coupon_items", "refund_items", "order_notes",
    "download_permissions", "line_item_1", "line_item_2", "line_item_3",
]  # fmt: skip
WOO_CSV_EXPORT_HEADER = [
    "order_id", "order_number", "order_number_formatted", "order_date", "status",
    "shipping_total", "shipping_tax_total", "fee_total", "fee_tax_total", "tax_total",
    "cart_discount", "order_discount", "discount_total", "order_total", "refunded_total",
    "order_currency", "payment_method", "shipping_method", "customer_id", "billing_first_name",
    "billing_last_name", "billing_company", "billing_email", "billing_phone",
    "billing_address_1", "billing_address_2", "billing_postcode", "billing_city",
    "billing_state", "billing_country", "shipping_first_name", "shipping_last_name",
    "shipping_address_1", "shipping_address_2", "shipping_postcode", "shipping_city",
    "shipping_state", "shipping_country", "shipping_company", "customer_note", "item_id",
    "item_product_id", "item_name", "item_sku", "item_quantity", "item_subtotal",
    "item_subtotal_tax", "item_total", "item_total_tax", "item_refunded", "item_refunded_qty",
    "item_meta", "shipping_items", "fee_items", "tax_items", "coupon_items", "order_notes",
    "download_permissions_granted",
]  # fmt: skip

# WooCommerce's own orders table under High-Performance Order Storage, wp_wc_orders, as a
# database tool (phpMyAdmin, Adminer, mysqldump to CSV) writes it: every column, in table order.
WOO_HPOS_HEADER = [
    "id", "status", "currency", "type", "tax_amount", "total_amount", "customer_id",
    "billing_email", "date_created_gmt", "date_updated_gmt", "parent_order_id", "payment_method",
    "payment_method_title", "transaction_id", "ip_address", "user_agent", "customer_note",
]  # fmt: skip


def render_csv(
    header: Sequence[str],
    rows: Iterable[dict],
    delimiter: str = ",",
    line_ending: str = "\n",
) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_ending)
    writer.writerow(header)
    known = set(header)
    for row in rows:
        unknown = set(row) - known
        assert not unknown, f"fixture row names columns the header lacks: {unknown}"
        writer.writerow(["" if row.get(name) is None else row.get(name) for name in header])
    return buffer.getvalue()


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[dict],
    encoding: str = "utf-8",
    delimiter: str = ",",
    line_ending: str = "\n",
) -> Path:
    path.write_bytes(render_csv(header, rows, delimiter, line_ending).encode(encoding))
    return path


def shopify_order(
    name: str,
    email: str | None,
    created: str,
    lines: Sequence[tuple[str, int, float]] = (("Widget", 1, 10.0),),
    **order_fields: object,
) -> list[dict]:
    """The rows of one Shopify order: order-level fields on the first row only, as Shopify does.

    ``order_fields`` use header names with spaces replaced by underscores
    (``Financial_Status="paid"``); Subtotal defaults to the sum of the lines.
    """
    fields = {key.replace("_", " "): value for key, value in order_fields.items()}
    subtotal = sum(quantity * price for _, quantity, price in lines)
    first = {
        "Financial Status": "paid",
        "Fulfillment Status": "fulfilled",
        "Accepts Marketing": "no",
        "Currency": "USD",
        "Subtotal": f"{subtotal:.2f}",
        "Shipping": "5.00",
        "Taxes": "0.00",
        "Total": f"{subtotal + 5:.2f}",
        "Discount Amount": "0.00",
        "Billing Name": "Pat Doe",
        "Billing Zip": "'02134",
        "Payment Method": "Shopify Payments",
        "Refunded Amount": "0.00",
        "Source": "web",
        "Risk Level": "Low",
        "Id": "'5012345678901",
    }
    first.update(fields)
    rows = []
    for number, (product, quantity, price) in enumerate(lines):
        row = dict(first) if number == 0 else {}
        row.update(
            {
                "Name": name,
                "Email": email or "",
                "Created at": created,
                "Lineitem quantity": quantity,
                "Lineitem name": product,
                "Lineitem price": f"{price:.2f}",
                "Lineitem sku": f"SKU-{product.upper()}",
                "Lineitem requires shipping": "true",
                "Lineitem taxable": "true",
                "Lineitem fulfillment status": "fulfilled",
                "Lineitem discount": "0.00",
                "Vendor": "Acme",
            }
        )
        rows.append(row)
    return rows


@pytest.fixture
def write(tmp_path: Path):
    """``write(name, header, rows, **options)`` -> path of a CSV in the test's directory."""

    def _write(name: str, header: Sequence[str], rows: Iterable[dict], **options) -> Path:
        return write_csv(tmp_path / name, header, rows, **options)

    return _write


@pytest.fixture(scope="session")
def exports() -> SimpleNamespace:
    """The header sets and row builders above, for tests (conftest is not importable by name)."""
    return SimpleNamespace(
        SHOPIFY_ORDERS_HEADER=SHOPIFY_ORDERS_HEADER,
        SHOPIFY_ORDERS_HEADER_TAX5=SHOPIFY_ORDERS_HEADER_TAX5,
        SHOPIFY_ORDERS_HEADER_OLD=SHOPIFY_ORDERS_HEADER_OLD,
        SHOPIFY_CUSTOMERS_HEADERS=SHOPIFY_CUSTOMERS_HEADERS,
        MAGENTO_ORDER_HEADER=MAGENTO_ORDER_HEADER,
        MAGENTO_ITEM_HEADER=MAGENTO_ITEM_HEADER,
        MAGENTO_GRID_HEADER=MAGENTO_GRID_HEADER,
        WOO_WEBTOFFEE_HEADER=WOO_WEBTOFFEE_HEADER,
        WOO_CSV_EXPORT_HEADER=WOO_CSV_EXPORT_HEADER,
        WOO_HPOS_HEADER=WOO_HPOS_HEADER,
        render_csv=render_csv,
        write_csv=write_csv,
        shopify_order=shopify_order,
    )
