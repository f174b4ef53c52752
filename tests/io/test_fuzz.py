"""Garbage and mutated exports: every importer either succeeds or raises InputError.

Never another exception, never a multi-line message; and when it succeeds, every order has a
plausible date and a finite, non-negative net revenue and the frames have exactly the schema's
columns.  The mutations start from valid exports of each format (the bad input corpus of
``tests/badinput`` in random combinations): edited cells, dropped and duplicated columns, other
delimiters and encodings, truncation and flipped bytes.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from valuecast.io import FORMATS, read_export
from valuecast.io.schema import CUSTOMERS_SCHEMA, ORDER_LINES_SCHEMA, ORDERS_SCHEMA, InputError

SETTINGS = settings(
    max_examples=int(os.environ.get("VALUECAST_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
_counter = itertools.count()

NASTY = st.sampled_from(
    ["", " ", "'", '"', ",", ";", "\t", "\n", "\r\n", "0", "-1", "(5)", "1,5", "1.234,5", "$",
     "nan", "inf", "1e400", "2024-02-30", "2024-03-05 23:30:00 -0500", "13/13/2024", "bogus",
     "cancelled", "refunded", "voided", "é", "\x00", "\ufeff", "#1", "a@b.c", "  A@B.C ",
     "name:x|quantity:q", "amount:-3", "wc-trash", "canceled", "closed"]
)  # fmt: skip
CELL = st.one_of(NASTY, st.text(max_size=12))


def _check(path, fmt: str | None) -> None:
    try:
        results = read_export(path, format=fmt)
    except InputError as error:
        message = str(error)
        assert "\n" not in message and "\r" not in message
        assert message.startswith(error.file)
        return
    for result in results:
        assert list(result.orders.columns) == list(ORDERS_SCHEMA)
        assert list(result.order_lines.columns) == list(ORDER_LINES_SCHEMA)
        assert list(result.customers.columns) == list(CUSTOMERS_SCHEMA)
        assert result.rows_read >= 0
        assert not result.orders["ordered_at"].isna().any()
        assert np.isfinite(result.orders["net_revenue"].to_numpy(float)).all()
        assert (result.orders["order_date"] <= result.orders["ordered_at"]).all()
        assert result.orders["order_id"].is_unique
        # negative amounts are excluded by reason, implausible dates refused: never stored
        assert (result.orders["net_revenue"] >= 0).all()
        assert (result.orders["order_date"] >= pd.Timestamp("1990-01-01")).all()
        assert sum(result.excluded_orders.values()) <= sum(result.excluded.values())


def _write(tmp_path_factory, data: bytes, suffix: str = ".csv"):
    path = tmp_path_factory.getbasetemp() / f"fuzz{next(_counter)}{suffix}"
    path.write_bytes(data)
    return path


@SETTINGS
@given(data=st.binary(max_size=400), fmt=st.sampled_from([None, *FORMATS]))
def test_random_bytes(tmp_path_factory, data, fmt):
    _check(_write(tmp_path_factory, data), fmt)


def _render(header: list[str], rows: list[list[str]], delimiter: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _valid_rows(exports, fmt: str) -> tuple[list[str], list[dict]]:
    if fmt == "shopify":
        rows = exports.shopify_order("#1", "a@x.com", "2024-01-01 10:00:00 -0500",
                                     lines=[("A", 1, 5.0), ("B", 2, 3.0)])  # fmt: skip
        rows += exports.shopify_order("#2", "", "2024-01-02 10:00:00 -0500", Cancelled_at="x")
        return exports.SHOPIFY_ORDERS_HEADER, rows
    if fmt == "shopify-customers":
        return exports.SHOPIFY_CUSTOMERS_HEADERS[1], [
            {"First Name": "A", "Email": "a@x.com", "Accepts Email Marketing": "yes"},
            {"First Name": "B", "Email": "", "Tags": "x"},
        ]
    if fmt == "magento":
        return exports.MAGENTO_ORDER_HEADER, [
            {"entity_id": 1, "increment_id": "1", "state": "complete", "customer_email": "a@x.com",
             "created_at": "2024-01-01 00:00:00", "base_subtotal": "10.0000",
             "base_discount_amount": "-1.0000", "base_currency_code": "USD"},
            {"entity_id": 2, "increment_id": "2", "state": "canceled", "customer_email": "b@x.com",
             "created_at": "2024-01-02 00:00:00", "base_subtotal": "5.0000"},
        ]  # fmt: skip
    if fmt == "woocommerce":
        return exports.WOO_WEBTOFFEE_HEADER, [
            {"order_id": 1, "order_number": 1, "order_date": "2024-01-01 10:00:00",
             "status": "wc-completed", "order_total": "20.00", "tax_total": "1.00",
             "customer_email": "a@x.com", "line_item_1": "name:A|quantity:1|total:19.00",
             "refund_items": "id:1|amount:2.00"},
            {"order_id": 2, "order_number": 2, "order_date": "2024-01-02", "status": "trash",
             "order_total": "5", "billing_email": "b@x.com"},
        ]  # fmt: skip
    if fmt == "woocommerce-hpos":  # the wc_orders table: an order, its refund, another's
        common = {"currency": "EUR", "customer_id": 7, "billing_email": "a@x.com",
                  "date_created_gmt": "2024-01-01 23:30:00", "parent_order_id": 0}  # fmt: skip
        return exports.WOO_HPOS_HEADER, [
            {**common, "id": 1, "status": "wc-completed", "type": "shop_order",
             "tax_amount": "3.19", "total_amount": "19.99"},
            {**common, "id": 2, "status": "wc-completed", "type": "shop_order_refund",
             "tax_amount": "-0.80", "total_amount": "-5.00", "parent_order_id": 1,
             "billing_email": "NULL"},
            {**common, "id": 3, "status": "wc-completed", "type": "shop_order_refund",
             "tax_amount": "-0.80", "total_amount": "-5.00", "parent_order_id": 99},
            {**common, "id": 4, "status": "wc-active", "type": "shop_subscription",
             "tax_amount": "3.19", "total_amount": "19.99"},
        ]  # fmt: skip
    return ["customer_id", "order_date", "revenue", "order_id"], [
        {"customer_id": "1", "order_date": "2024-01-01", "revenue": "3.5", "order_id": "9"},
        {"customer_id": "2", "order_date": "20240102", "revenue": "-1", "order_id": "10"},
    ]


@SETTINGS
@given(
    fmt=st.sampled_from(
        ["shopify", "shopify-customers", "magento", "woocommerce", "woocommerce-hpos", "orders"]
    ),
    edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200), CELL), max_size=8),
    drop=st.lists(st.integers(0, 200), max_size=3),
    delimiter=st.sampled_from([",", ";", "\t"]),
    truncate=st.one_of(st.none(), st.integers(0, 4000)),
    detect=st.booleans(),
)
def test_mutated_exports(tmp_path_factory, exports, fmt, edits, drop, delimiter, truncate, detect):
    header, dict_rows = _valid_rows(exports, fmt)
    header = list(header)
    rows = [["" if row.get(h) is None else str(row.get(h)) for h in header] for row in dict_rows]
    for position in drop:
        index = position % len(header)
        del header[index]
        for row in rows:
            del row[index]
    for row_index, column_index, value in edits:
        row = rows[row_index % len(rows)]
        row[column_index % len(row)] = value
    text = _render(header, rows, delimiter)
    data = text.encode("utf-8")
    if truncate is not None:
        data = data[: truncate % (len(data) + 1)]
    _check(_write(tmp_path_factory, data), None if detect else fmt.removesuffix("-hpos"))


@SETTINGS
@given(
    lines=st.lists(
        st.lists(
            st.one_of(st.from_regex(r"\d{1,5}", fullmatch=True), CELL), min_size=1, max_size=6
        ),
        max_size=6,
    )
)
def test_mutated_transaction_logs(tmp_path_factory, lines):
    text = "\n".join(" ".join(cells) for cells in [["00001", "19970101", "1", "11.77"], *lines])
    _check(_write(tmp_path_factory, text.encode("utf-8"), ".txt"), "cdnow")


ENCODINGS = {
    "utf-8": lambda text: text.encode("utf-8"),
    "utf-8-bom": lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
    "utf-16": lambda text: text.encode("utf-16"),
    "utf-16-be": lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    "cp1252": lambda text: text.encode("cp1252", errors="replace"),
}


@SETTINGS
@given(
    fmt=st.sampled_from(
        ["shopify", "shopify-customers", "magento", "woocommerce", "woocommerce-hpos", "orders"]
    ),
    edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200), CELL), max_size=4),
    duplicate=st.lists(st.tuples(st.integers(0, 200), CELL), max_size=2),
    encoding=st.sampled_from(list(ENCODINGS)),
    delimiter=st.sampled_from([",", ";", "\t"]),
    flips=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=3),
    detect=st.booleans(),
)
def test_encoded_and_corrupted_exports(
    tmp_path_factory, exports, fmt, edits, duplicate, encoding, delimiter, flips, detect
):
    header, dict_rows = _valid_rows(exports, fmt)
    header = list(header)
    rows = [["" if row.get(h) is None else str(row.get(h)) for h in header] for row in dict_rows]
    for position, value in duplicate:  # a column written twice, the copy with another value
        index = position % len(header)
        header.append(header[index])
        for row in rows:
            row.append(value)
    for row_index, column_index, value in edits:
        row = rows[row_index % len(rows)]
        row[column_index % len(row)] = value
    data = bytearray(ENCODINGS[encoding](_render(header, rows, delimiter)))
    for position, byte in flips:
        data[position % len(data)] = byte
    _check(_write(tmp_path_factory, bytes(data)), None if detect else fmt.removesuffix("-hpos"))
