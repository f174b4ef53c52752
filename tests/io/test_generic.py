"""Any orders table (CSV, Parquet, DataFrame) with a column map, and CDNOW-style logs."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retail_log import HEADER as RETAIL_HEADER
from retail_log import MAP as RETAIL_MAP
from retail_log import expected_revenue, retail_log
from valuecast.datasets import data_path, load_cdnow_transactions
from valuecast.io import generic
from valuecast.io.schema import ORDERS_SCHEMA, InputError

HEADER = ["Order No", "Client", "Placed", "Amount", "Cur", "Store"]


@pytest.mark.parametrize(
    ("amounts", "currency"),
    [
        (["€12,50", "1.200,00 €", "3"], "EUR"),  # a symbol of one currency, before or after
        (["\u221212,50 €", "3 €", "4"], "EUR"),  # a typeset minus sign
        (["CA$12.50", "$8", "CA$ 1,200.00"], "CAD"),  # a bare $ agrees with CA$
        (["12.50 GBP", "£3", "4"], "GBP"),
        (["$12.50", "$8", "3"], None),  # a bare $ is many currencies' symbol
        (["$12.00 USD", "USD 5", "$1"], "USD"),  # a symbol and the code it writes
        (["€12 EUR", "€€3", "4"], "EUR"),
        (["12 pcs", "3 pcs", "4"], None),  # letters that are no ISO 4217 code
        (["AR$12", "AR$3", "4"], None),
        (["12.50 XXX", "3", "4"], None),  # ISO 4217's "no currency"
        (["12", "3", "4"], None),  # plain amounts: a currency column's € is EUR
        (["KR 12", "Kr. 3", "kr 4"], None),  # kr: Swedish, Norwegian, Danish, Icelandic
        (["3 ZŁ", "4 zł", "5"], "PLN"),
        (["12.50", "8", "3"], None),
    ],
)
def test_the_currency_written_with_the_amounts_is_the_orders(write, amounts, currency):
    """Without a currency column, amounts written as €12,50 or CA$12.50 say the currency."""
    rows = [{"Order No": f"A{n}", "Client": f"c{n}", "Placed": "2024-03-05", "Amount": amount}
            for n, amount in enumerate(amounts)]  # fmt: skip
    path = write("orders.csv", HEADER, rows)
    result = generic.read_orders(path, "customer_id=Client,ordered_at=Placed,revenue=Amount")
    # every row read (a negative amount is an excluded order, not an error)
    assert len(result.orders) + sum(result.excluded_orders.values()) == len(rows)
    shown = [None if pd.isna(c) else c for c in result.orders["currency"]]
    assert shown == [currency] * len(result.orders)
    # a currency column says what it says (and a symbol agreeing with it is read as an amount);
    # where its cell is empty, the amounts say it
    if currency is not None:
        for row in rows:
            row["Cur"] = currency.lower()
        rows[0]["Cur"] = ""
        path = write("orders.csv", HEADER, rows)
        given = generic.read_orders(
            path, "customer_id=Client,ordered_at=Placed,revenue=Amount,currency=Cur"
        )
        assert list(given.orders["currency"]) == [currency] * len(given.orders)


@pytest.mark.parametrize(
    ("amount", "tax", "currency", "column", "message"),
    [
        ("€12 USD", "1", None, "Amount", "'€12 USD' names two currencies"),
        ("$12", "EUR 1", None, "Amount", "in $ while those of column 'Store' are in EUR"),
        ("€12", "1", "usd", "Cur", "currency 'usd', but the amounts are written in EUR"),
    ],
)
def test_amounts_naming_another_currency_are_an_error_naming_the_row(
    write, amount, tax, currency, column, message
):
    rows = [{"Order No": "A1", "Client": "c", "Placed": "2024-03-05", "Amount": "3",
             "Store": "0", "Cur": "eur"},
            {"Order No": "A2", "Client": "d", "Placed": "2024-03-06", "Amount": amount,
             "Store": tax, "Cur": currency}]  # fmt: skip
    mapping = "customer_id=Client,ordered_at=Placed,revenue=Amount,tax=Store"
    if currency is not None:
        rows[0]["Amount"] = "€3"  # the rows before agree with their currency
        mapping += ",currency=Cur"
    with pytest.raises(InputError) as error:
        generic.read_orders(write("orders.csv", HEADER, rows), mapping)
    assert (error.value.row, error.value.column) == (3, column)
    assert message in str(error.value)


def test_a_currency_column_giving_a_symbol_gives_its_code(write):
    rows = [{"Order No": f"A{n}", "Client": f"c{n}", "Placed": "2024-03-05", "Amount": "3",
             "Cur": cur} for n, cur in enumerate(["€", " eur", "CA$", "$"])]  # fmt: skip
    path = write("orders.csv", HEADER, rows)
    orders = generic.read_orders(
        path, "customer_id=Client,ordered_at=Placed,revenue=Amount,currency=Cur"
    ).orders
    assert list(orders["currency"]) == ["EUR", "EUR", "CAD", "$"]


def test_a_currency_column_naming_a_currency_in_words_gives_its_code(write):
    """A German admin writes Euro, a Polish one Złoty, a Turkish one TL: they were codes of no
    currency (EURO), which no rate file could name beside the EUR of a symbol."""
    cells = ["Euro", "EUROS", "Złoty", " zloty ", "TL", "Yen", "Dollar"]
    rows = [{"Order No": f"A{n}", "Client": f"c{n}", "Placed": "2024-03-05", "Amount": "3",
             "Cur": cur} for n, cur in enumerate(cells)]  # fmt: skip
    path = write("orders.csv", HEADER, rows)
    orders = generic.read_orders(
        path, "customer_id=Client,ordered_at=Placed,revenue=Amount,currency=Cur"
    ).orders
    # a dollar names many currencies: as written
    assert list(orders["currency"]) == ["EUR", "EUR", "PLN", "PLN", "TRY", "JPY", "DOLLAR"]


def test_amount_columns_in_two_currencies_are_an_error_naming_the_row(write):
    rows = [{"Order No": "A1", "Client": "c", "Placed": "2024-03-05", "Amount": "€12,50",
             "Store": "1"},
            {"Order No": "A2", "Client": "d", "Placed": "2024-03-06", "Amount": "€3",
             "Store": "£0,50"}]  # fmt: skip
    path = write("orders.csv", HEADER, rows)
    with pytest.raises(InputError) as error:
        generic.read_orders(path, "customer_id=Client,ordered_at=Placed,revenue=Amount,tax=Store")
    assert (error.value.row, error.value.column) == (3, "Store")
    assert "GBP while those of column 'Amount' are in EUR" in str(error.value)


def test_mapped_csv_table(write):
    rows = [
        {"Order No": "A1", "Client": " Pat@Example.com", "Placed": "2024-03-05T23:30:00-05:00",
         "Amount": "$1,234.50", "Cur": "usd", "Store": "web"},
        {"Order No": "A2", "Client": "pat@example.com", "Placed": "2024-03-07", "Amount": "10",
         "Cur": "usd", "Store": "pos"},
        {"Order No": "A3", "Client": "C-77", "Placed": "2024-03-08 10:00", "Amount": "0.00"},
        {"Order No": "A4", "Client": "", "Placed": "2024-03-08 11:00", "Amount": "5"},
        {"Order No": "A5", "Client": "C-77", "Placed": "2024-03-09", "Amount": "(20.00)"},
    ]  # fmt: skip
    path = write("orders.csv", HEADER, rows)
    mapping = "customer_id=Client, ordered_at=Placed,revenue=Amount,order_id=Order No,currency=Cur,channel=Store"
    result = generic.read_orders(path, mapping)
    assert result.format == "orders" and result.rows_read == 5
    assert list(result.orders.columns) == list(ORDERS_SCHEMA)
    orders = result.orders.set_index("order_number")
    assert list(orders.index) == ["A1", "A2", "A3", "A4"]
    assert orders.loc["A1", "order_id"] == "orders:A1"
    assert orders.loc["A1", "customer_id"] == "pat@example.com" == orders.loc["A2", "customer_id"]
    assert orders.loc["A1", "email"] == "pat@example.com"
    assert orders.loc["A1", "net_revenue"] == 1234.5
    assert orders.loc["A1", "gross_revenue"] == 1234.5
    assert orders.loc["A1", "order_date"] == pd.Timestamp("2024-03-05")
    assert orders.loc["A1", "currency"] == "USD" and orders.loc["A2", "channel"] == "pos"
    assert orders.loc["A3", "customer_id"] == "C-77" and pd.isna(orders.loc["A3", "email"])
    assert orders.loc["A3", "net_revenue"] == 0.0  # zero is a valid amount
    assert orders.loc["A4", "is_guest"] and pd.isna(orders.loc["A4", "customer_id"])
    assert result.excluded == {"negative amount": 1}
    assert result.excluded_revenue["negative amount"] == -20.0


def test_canonical_names_need_no_map_and_repeated_order_ids_are_summed(write):
    header = ["order_id", "customer_id", "order_date", "revenue", "tax"]
    rows = [
        {"order_id": 1, "customer_id": 5, "order_date": "2024-01-01", "revenue": 10, "tax": 1},
        {"order_id": 1, "customer_id": 5, "order_date": "2024-01-01", "revenue": 15, "tax": 2},
        {"order_id": 2, "customer_id": 6, "order_date": "2024-01-02", "revenue": 7},
        {},
    ]
    result = generic.read_orders(write("t.csv", header, rows))
    assert result.orders["order_number"].tolist() == ["1", "2"]
    assert result.orders["net_revenue"].tolist() == [25.0, 7.0]
    assert result.orders["tax"].tolist() == [3.0, 0.0]
    assert result.excluded == {"empty row": 1}


def test_one_order_number_naming_two_customers_is_an_error_naming_the_row(write):
    # two tills' files pasted together, each numbering its orders from 1001
    header = ["order_id", "customer_id", "order_date", "revenue"]
    rows = [
        {"order_id": 1001, "customer_id": "Anna@a.com", "order_date": "2024-01-05", "revenue": 50},
        {"order_id": 1002, "customer_id": "anna@a.com", "order_date": "2024-02-05", "revenue": 20},
        {"order_id": 1001, "customer_id": "", "order_date": "2024-01-05", "revenue": 5},
        {"order_id": 1001, "customer_id": "bert@b.com", "order_date": "2024-06-20", "revenue": 70},
    ]
    with pytest.raises(InputError, match="order 1001 appears again with another customer") as info:
        generic.read_orders(write("t.csv", header, rows))
    assert (info.value.row, info.value.column) == (5, "customer_id")
    assert "(bert@b.com; anna@a.com on row 2)" in str(info.value)


def test_an_orders_row_known_by_its_phone_alone_is_the_orders_named_customers(write):
    # a household's phone carried by two e-mails links nothing: the row without an e-mail is
    # still order 1's, whose other row names a@x.com
    header = ["order_id", "email", "phone", "country", "date", "amount"]
    rows = [
        {"order_id": 1, "email": "", "phone": "07700 900123", "country": "GB",
         "date": "2024-03-01", "amount": 5},
        {"order_id": 1, "email": "a@x.com", "phone": "07700 900123", "country": "GB",
         "date": "2024-03-01", "amount": 10},
        {"order_id": 2, "email": "b@x.com", "phone": "07700 900123", "country": "GB",
         "date": "2024-03-05", "amount": 20},
    ]  # fmt: skip
    result = generic.read_orders(
        write("t.csv", header, rows),
        "order_id=order_id,customer_id=email,phone=phone,country=country,ordered_at=date,"
        "revenue=amount",
    )
    assert result.orders["customer_id"].tolist() == ["a@x.com", "b@x.com"]
    assert result.orders["net_revenue"].tolist() == [15.0, 20.0]


def test_an_order_takes_the_customer_of_its_first_row_naming_one(write):
    # a line of an invoice without the customer (written on the other lines) is no guest order
    header = ["order_id", "customer_id", "order_date", "revenue"]
    rows = [
        {"order_id": 7, "customer_id": "", "order_date": "2024-01-05", "revenue": 5},
        {"order_id": 7, "customer_id": "cy", "order_date": "2024-01-05", "revenue": 6},
        {"order_id": 8, "customer_id": "", "order_date": "2024-01-06", "revenue": 4},
    ]
    result = generic.read_orders(write("t.csv", header, rows))
    assert result.orders["customer_id"].tolist() == ["cy", pd.NA]
    assert result.orders["net_revenue"].tolist() == [11.0, 4.0]


def test_rows_without_order_id_get_stable_numbers(write):
    header = ["customer", "date", "amount"]
    rows = [
        {"customer": "7", "date": "20240101", "amount": "5"},
        {"customer": "7", "date": "20240101", "amount": "6"},
        {"customer": "8", "date": "20240101", "amount": "7"},
    ]
    first = generic.read_orders(write("a.csv", header, rows))
    assert first.orders["order_number"].tolist() == ["7|20240101", "7|20240101|2", "8|20240101"]
    longer = generic.read_orders(
        write("b.csv", header, [*rows, {"customer": "7", "date": "20240105", "amount": "1"}])
    )
    assert longer.orders["order_number"].tolist()[:3] == first.orders["order_number"].tolist()


def test_a_customer_cell_naming_no_customer_is_a_guest_order_of_the_same_number(write):
    header = ["customer", "date", "amount"]
    cells = [" GUEST ", "'Guest", "none", "#N/A", "guests", "0", "anonymous.lee@shop.com"]
    rows = [
        {"customer": cell, "date": f"2024-01-0{day}", "amount": "5"}
        for day, cell in enumerate(cells, start=1)
    ]
    result = generic.read_orders(write("t.csv", header, rows))
    orders = result.orders
    assert orders["customer_id"].tolist()[4:] == ["guests", "0", "anonymous.lee@shop.com"]
    assert orders["customer_id"].isna().tolist() == [True] * 4 + [False] * 3
    assert orders["is_guest"].tolist() == [True] * 4 + [False] * 3
    # the orders' numbers are the cells as cleaned, as before they were read as guests
    assert orders["order_number"].tolist()[:4] == [
        "GUEST|2024-01-01", "Guest|2024-01-02", "none|2024-01-03", "#N/A|2024-01-04",
    ]  # fmt: skip
    assert result.notes == [
        "4 rows name no customer ('#N/A' (1), 'GUEST' (1), 'Guest' (1), 'none' (1)): "
        "read as guest orders"
    ]


PHONE_HEADER = ["customer", "phone", "country", "date", "amount"]
PHONE_MAP = "customer_id=customer,phone=phone,country=country,ordered_at=date,revenue=amount"


def _phone_rows(*rows: tuple[str, str, str, str]) -> list[dict]:
    return [
        {"customer": customer, "phone": phone, "country": country, "date": day, "amount": "5"}
        for customer, phone, country, day in rows
    ]


def test_a_mapped_phone_names_the_customer_of_a_row_without_one(write):
    """A till export: the number as dialled or with its country code is one customer, as the
    Shopify and WooCommerce readers make it; a placeholder or empty cell with no number stays a
    guest's, and a customer cell wins over the phone."""
    rows = _phone_rows(
        ("", "+1 (616) 954-7888", "", "2024-01-01"),
        ("", "616-954-7888", "US", "2024-01-02"),
        ("Guest", "00 44 7700 900123", "", "2024-01-03"),
        ("", "07700 900123", "United Kingdom", "2024-01-04"),
        ("", "01712-345678", "", "2024-01-05"),  # no country: its digits as written
        ("C-7", "+1 616 000 0001", "", "2024-01-06"),  # the customer's own id wins
        ("Guest", "n/a", "", "2024-01-07"),
        ("", "", "", "2024-01-08"),
    )
    result = generic.read_orders(write("t.csv", PHONE_HEADER, rows), PHONE_MAP)
    orders = result.orders
    assert orders["customer_id"].tolist()[:6] == [
        "phone:+16169547888", "phone:+16169547888", "phone:+447700900123",
        "phone:+447700900123", "phone:01712345678", "C-7",
    ]  # fmt: skip
    assert orders["customer_id"].isna().tolist() == [False] * 6 + [True] * 2
    assert orders["is_guest"].tolist() == [False] * 6 + [True] * 2
    # numbered by the phone's customer, or the placeholder as written, so a re-read finds them
    assert orders["order_number"].tolist()[:3] == [
        "phone:+16169547888|2024-01-01", "phone:+16169547888|2024-01-02", "Guest|2024-01-03",
    ]  # fmt: skip
    assert result.notes == [
        "1 customer is known by a phone number without its country code (phone:01712345678): "
        "counted and modelled, but Meta and Google audiences cannot match it; map "
        "country=COLUMN (each row's country) or country=FR (the country of every row) to give "
        "the numbers their code",
        "1 row names no customer ('Guest' (1)): read as guest orders",
    ]
    # without the map's phone the rows without a customer are guests' orders, as before
    plain = generic.read_orders(
        write("t.csv", PHONE_HEADER, rows), "customer_id=customer,ordered_at=date,revenue=amount"
    )
    assert plain.orders["customer_id"].notna().sum() == 1


def test_a_placeholder_phone_names_no_customer_and_joins_no_one(write):
    """``0000000000`` and ``1234567890`` typed for rows without a customer, the first also on a
    customer's row: taken as numbers they gave those rows to that customer and made one customer
    of the others; they are guests' rows, counted in a note, and no contact phone."""
    rows = _phone_rows(
        ("ann@x.com", "0000000000", "US", "2024-01-01"),
        ("", "0000000000", "US", "2024-01-02"),
        ("", "000-000-0000", "US", "2024-01-03"),
        ("", "1234567890", "", "2024-01-04"),
        ("", "+1 123 456 7890", "", "2024-01-05"),
        ("", "+1 616 954 7888", "", "2024-01-06"),
    )
    result = generic.read_orders(write("t.csv", PHONE_HEADER, rows), PHONE_MAP)
    orders = result.orders
    assert orders["customer_id"].tolist()[0] == "ann@x.com"
    assert orders["customer_id"].isna().tolist() == [False] + [True] * 4 + [False]
    assert orders["customer_id"].tolist()[5] == "phone:+16169547888"
    assert result.notes == [
        "4 rows without a customer carry a placeholder phone ('+1 123 456 7890' "
        "(1), '000-000-0000' (1), '0000000000' (1), '1234567890' (1)), no customer's number: "
        "read as guest orders"
    ]
    phones = result.order_contacts.dropna(subset=["phone"])
    assert phones["phone"].tolist() == ["+1 616 954 7888"]


def test_a_phone_rows_of_one_customer_carry_joins_them_and_a_shared_one_does_not(write):
    rows = _phone_rows(
        ("ann@x.com", "+1 616 555 2222", "", "2024-01-01"),
        ("", "+1 (616) 555-2222", "", "2024-01-02"),  # Ann at the till
        ("bob@x.com", "+44 20 7946 0000", "", "2024-01-03"),
        ("cat@x.com", "+44 20 7946 0000", "", "2024-01-04"),  # a shared office line
        ("", "+44 20 7946 0000", "", "2024-01-05"),
    )
    result = generic.read_orders(write("t.csv", PHONE_HEADER, rows), PHONE_MAP)
    assert result.orders["customer_id"].tolist() == [
        "ann@x.com", "ann@x.com", "bob@x.com", "cat@x.com", "phone:+442079460000",
    ]  # fmt: skip
    assert result.orders["email"].tolist()[:2] == ["ann@x.com", "ann@x.com"]
    assert result.notes == ["1 row without a customer belongs to the customer whose rows carry "
                            "the same phone"]  # fmt: skip


def test_a_table_of_phone_numbers_needs_no_customer_column(write):
    rows = [{"Mobile": "+880 1712-345678", "When": "2024-01-01", "Total": "5"},
            {"Mobile": "+8801712345678", "When": "2024-01-09", "Total": "7"}]  # fmt: skip
    path = write("t.csv", ["Mobile", "When", "Total"], rows)
    result = generic.read_orders(path, "phone=Mobile,ordered_at=When,revenue=Total")
    assert result.orders["customer_id"].tolist() == ["phone:+8801712345678"] * 2
    with pytest.raises(InputError, match="required column is missing"):
        generic.read_orders(path, "ordered_at=When,revenue=Total")
    with pytest.raises(InputError, match="country needs phone"):
        generic.parse_column_map("customer_id=a,country=b")


def test_a_till_export_of_national_numbers_takes_one_country_for_every_row(write):
    # a POS export of one French shop: national numbers and no country column; without a
    # country its customers are counted but no ad platform can match them, and a note says so
    rows = [{"Mobile": "06 12 34 56 78", "When": "2024-01-01", "Total": "5"},
            {"Mobile": "0612345678", "When": "2024-01-09", "Total": "7"},
            {"Mobile": "0698765432", "When": "2024-01-10", "Total": "4"}]  # fmt: skip
    path = write("t.csv", ["Mobile", "When", "Total"], rows)
    national = generic.read_orders(path, "phone=Mobile,ordered_at=When,revenue=Total")
    assert national.orders["customer_id"].tolist() == [
        "phone:0612345678", "phone:0612345678", "phone:0698765432",
    ]  # fmt: skip
    assert national.notes == [
        "2 customers are known by a phone number without its country code (phone:0612345678): "
        "counted and modelled, but Meta and Google audiences cannot match them; map "
        "country=COLUMN (each row's country) or country=FR (the country of every row) to give "
        "the numbers their code"
    ]
    for country in ("FR", "France"):
        french = generic.read_orders(
            path, f"phone=Mobile,country={country},ordered_at=When,revenue=Total"
        )
        assert french.orders["customer_id"].tolist() == [
            "phone:+33612345678", "phone:+33612345678", "phone:+33698765432",
        ]  # fmt: skip
        assert french.notes == []
    with pytest.raises(InputError, match="column given for country in --map is not in the file"):
        generic.read_orders(path, "phone=Mobile,country=Land,ordered_at=When,revenue=Total")


def test_one_phone_written_with_and_without_its_trunk_zero_is_one_customer(write):
    # a till export: the same buyer as +44 07..., 07... (with the country) and +44 7...
    rows = [{"Mobile": "+44 07700 900123", "Country": "", "When": "2024-01-01", "Total": "5"},
            {"Mobile": "07700 900123", "Country": "GB", "When": "2024-01-09", "Total": "7"},
            {"Mobile": "+44 7700 900123", "Country": "", "When": "2024-02-09", "Total": "9"}]  # fmt: skip
    path = write("t.csv", ["Mobile", "Country", "When", "Total"], rows)
    result = generic.read_orders(path, "phone=Mobile,country=Country,ordered_at=When,revenue=Total")
    assert result.orders["customer_id"].tolist() == ["phone:+447700900123"] * 3


@pytest.mark.parametrize(
    ("used", "unused", "expected"),
    [
        (["€12,50", "€3"], ["€1,00"], [12.5, 3.0]),  # crashed on the unused category's row
        (["1.500", "2.250"], ["12.50"], "ambiguous amount '1.500'"),  # read as 1.5 ...
        (["1.500", "2.250"], ["12,50"], "ambiguous amount '1.500'"),  # ... or as 1500
    ],
)
def test_a_parquet_category_no_row_has_is_not_read(tmp_path, used, unused, expected):
    """A categorical column written by pandas keeps categories its rows no longer use: they are
    no amounts of the file, and tell nothing about its decimal separator."""
    frame = pd.DataFrame({"customer": ["a", "b"], "date": ["2024-01-05", "2024-01-06"]})
    frame["amount"] = pd.Categorical(used, categories=sorted(unused + used))
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path)
    mapping = "customer_id=customer,ordered_at=date,revenue=amount"
    if isinstance(expected, str):
        with pytest.raises(InputError, match=expected):
            generic.read_orders(path, mapping)
        return
    orders = generic.read_orders(path, mapping).orders
    assert list(orders["net_revenue"]) == expected and list(orders["currency"]) == ["EUR"] * 2


def test_parquet_and_frame_inputs(tmp_path):
    frame = pd.DataFrame(
        {
            "cust": ["a@x.com", "b@x.com"],
            "ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 11:00"]),
            "value": [12.5, 3.0],
            "oid": [100, 101],
        }
    )
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path)
    mapping = {"customer_id": "cust", "ordered_at": "ts", "revenue": "value", "order_id": "oid"}
    result = generic.read_orders(path, mapping)
    assert result.orders["order_id"].tolist() == ["orders:100", "orders:101"]
    assert result.orders["net_revenue"].tolist() == [12.5, 3.0]
    assert result.orders["ordered_at"].tolist() == list(frame["ts"])
    again = generic.read_orders_frame(frame, mapping, name="duckdb:orders")
    assert again.file == "duckdb:orders"
    pd.testing.assert_frame_equal(again.orders, result.orders)


def test_uuid_ids_read_as_the_text_a_csv_dump_writes(tmp_path):
    # a DuckDB or PostgreSQL UUID column reaches the importer as Arrow's UUID type (through a
    # Parquet file or a table read by Ibis): its ids are the text of the table's CSV dump
    import uuid

    ids = [uuid.UUID(int=i * 0x1234567890ABCDEF0123456789ABCDEF % 2**128) for i in (1, 2, 3)]
    text = pd.DataFrame(
        {
            "order_id": [str(ids[0]), str(ids[1]), str(ids[2])],
            "customer_id": [str(ids[2]), None, str(ids[2])],
            "ordered_at": ["2024-01-01 10:00:00", "2024-01-02 11:00:00", "2024-01-05 09:00:00"],
            "revenue": [12.5, 3.0, 7.25],
        }
    )
    csv = tmp_path / "orders.csv"
    text.to_csv(csv, index=False)
    as_uuids = text.assign(
        order_id=ids,
        customer_id=[ids[2], None, ids[2]],
        ordered_at=pd.to_datetime(text["ordered_at"]),
    )
    parquet = tmp_path / "orders.parquet"
    as_uuids.to_parquet(parquet)
    assert pq.read_schema(parquet).field("order_id").type.extension_name == "arrow.uuid"
    expected = generic.read_orders(csv).orders
    assert expected["customer_id"].fillna("guest").tolist() == [str(ids[2]), "guest", str(ids[2])]
    for result in (generic.read_orders(parquet), generic.read_orders_frame(as_uuids)):
        pd.testing.assert_frame_equal(result.orders, expected)


def test_float_ids_read_as_the_whole_numbers_a_csv_export_gives(tmp_path):
    """An id column with gaps that pandas stores as floats, in a Parquet file or a table: its
    ids are the whole numbers the same table's CSV export is read as, not ``9e+12``."""
    frame = pd.DataFrame(
        {
            "order_id": [1001.0, 1002.0, 1003.0, 1004.0],
            "customer_id": [9_000_000_000_000.0, None, 1_234_567_890_123_456.0, 5.0],
            "ordered_at": ["2024-01-01", "2024-01-02", "2024-01-05", "2024-02-01"],
            "revenue": [12.5, 3.0, 7.25, 4.0],
        }
    )
    csv = tmp_path / "orders.csv"
    frame.to_csv(csv, index=False)
    parquet = tmp_path / "orders.parquet"
    frame.to_parquet(parquet)
    assert pq.read_schema(parquet).field("customer_id").type == pa.float64()
    expected = generic.read_orders(csv).orders
    ids = ["9000000000000", "guest", "1234567890123456", "5"]
    assert expected["customer_id"].fillna("guest").tolist() == ids
    for result in (generic.read_orders(parquet), generic.read_orders_frame(frame)):
        pd.testing.assert_frame_equal(result.orders, expected)


def _line_table() -> pd.DataFrame:
    """Order lines of two shops' currencies; order 1's lines fall in two parts below."""
    return pd.DataFrame(
        {
            "order_id": [1, 2, 1, 3, 4],
            "customer_id": ["a", "b", "a", None, "b"],
            "ordered_at": pd.to_datetime(
                ["2025-01-01 10:00", "2025-01-02 11:00", "2025-01-01 10:00", "2025-02-03 12:00",
                 "2025-03-04 09:30"]
            ),
            "revenue": [10.0, 7.0, 5.0, 4.0, -2.0],
            "currency": ["EUR", "EUR", "EUR", "EUR", "EUR"],
        }
    )  # fmt: skip


def test_a_folder_of_parquet_parts_reads_as_one_table(tmp_path):
    # a table written in parts (Spark's part files, Hive partition folders) is one table: an
    # order whose lines fall in two parts keeps both, a partition folder is a column
    frame = _line_table()
    whole = tmp_path / "whole.parquet"
    frame.to_parquet(whole)
    folder = tmp_path / "orders.parquet"  # Spark names its folder like a file
    for part, rows in (("currency=EUR/part-0.parquet", [0, 1]), ("currency=EUR/part-1.parquet",
                                                                  [2, 3, 4])):  # fmt: skip
        (folder / part).parent.mkdir(parents=True, exist_ok=True)
        frame.iloc[rows].drop(columns="currency").to_parquet(folder / part)
    (folder / "_SUCCESS").write_text("")
    (folder / "currency=EUR" / ".part-0.parquet.crc").write_text("")
    expected = generic.read_orders(whole)
    result = generic.read_orders(folder)
    pd.testing.assert_frame_equal(result.orders, expected.orders)
    assert result.orders.set_index("order_number")["net_revenue"].to_dict() == {
        "1": 15.0, "2": 7.0, "3": 4.0
    }  # fmt: skip
    assert result.orders["currency"].tolist() == ["EUR"] * 3
    assert result.excluded == expected.excluded == {"negative amount": 1}
    assert result.rows_read == 5


def test_a_bad_cell_in_a_parquet_part_names_the_part_and_its_row(tmp_path):
    frame = _line_table()
    frame.loc[3, "revenue"] = np.nan
    for name, rows in (("part-0.parquet", [0, 1]), ("part-1.parquet", [2, 3, 4])):
        frame.iloc[rows].to_parquet(tmp_path / name)
    with pytest.raises(InputError) as caught:
        generic.read_orders(tmp_path)
    part = tmp_path / "part-1.parquet"
    assert str(caught.value) == f"{part}, row 2, column 'revenue': value is missing"
    frame.iloc[[2]].astype({"revenue": str}).to_parquet(part)
    with pytest.raises(InputError, match="column holds text where .*part-0.parquet holds double"):
        generic.read_orders(tmp_path)


def test_a_parquet_part_without_an_optional_column_reads_it_empty(tmp_path):
    # a table whose later parts gained a channel (and whose first part lacks a discount code
    # column) is read as Spark's mergeSchema reads it: the part without a column has it empty
    frame = _line_table().assign(
        channel=["web", "pos", "web", "web", "pos"], discount_code=["A", "B", None, "C", "D"]
    )
    frame.iloc[[0, 1]].drop(columns="discount_code").to_parquet(tmp_path / "part-0.parquet")
    frame.iloc[[2, 3, 4]].drop(columns="channel").to_parquet(tmp_path / "part-1.parquet")
    result = generic.read_orders(tmp_path)
    orders = result.orders.set_index("order_number")
    assert orders["channel"].to_dict() == {"1": "web", "2": "pos", "3": None}
    assert orders["discount_code"].to_dict() == {"1": None, "2": None, "3": "C"}
    assert orders["net_revenue"].to_dict() == {"1": 15.0, "2": 7.0, "3": 4.0}
    assert result.notes[:2] == [
        f"{tmp_path / 'part-0.parquet'} has no column 'discount_code', which other parts have: "
        "its 2 rows are read with it empty",
        f"{tmp_path / 'part-1.parquet'} has no column 'channel', which other parts have: its 3 "
        "rows are read with it empty",
    ]
    # parts lacking the same column: one note, naming the first
    frame.iloc[[4]].drop(columns="channel").to_parquet(tmp_path / "part-2.parquet")
    frame.iloc[[2, 3]].drop(columns="channel").to_parquet(tmp_path / "part-1.parquet")
    assert generic.read_orders(tmp_path).notes[:2] == [
        f"{tmp_path / 'part-0.parquet'} has no column 'discount_code', which other parts have: "
        "its 2 rows are read with it empty",
        f"2 parts ({tmp_path / 'part-1.parquet'} the first) have no column 'channel', which "
        "other parts have: their 3 rows are read with it empty",
    ]
    (tmp_path / "part-2.parquet").unlink()
    # a part without its customers, dates or amounts is still an error naming it
    frame.iloc[[2, 3, 4]].drop(columns="revenue").to_parquet(tmp_path / "part-1.parquet")
    with pytest.raises(InputError) as caught:
        generic.read_orders(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'part-1.parquet'}: has no column 'revenue', which the other parts have"
    )


def test_decimal_amounts_are_the_amounts_a_csv_file_writes(tmp_path):
    # a NUMERIC(12,2) column gives each amount's nearest double, as its CSV dump's text does
    import decimal

    amounts = [49.96, 0.29, 1.15, 12.34, 1000.07, 19.99]
    table = pa.table(
        {
            "customer_id": [f"c{i}" for i in range(len(amounts))],
            "ordered_at": ["2024-01-02"] * len(amounts),
            "revenue": pa.array(
                [decimal.Decimal(f"{v:.2f}") for v in amounts], pa.decimal128(12, 2)
            ),
        }
    )
    path = tmp_path / "orders.parquet"
    pq.write_table(table, path)
    assert generic.read_orders(path).orders["net_revenue"].tolist() == amounts


@pytest.mark.parametrize(
    ("key", "values", "message"),
    [
        ("revenue", pa.array([[{"sku": "A", "qty": 1}]] * 2), "holds lists (list<"),
        ("customer_id", pa.array([{"id": 1}] * 2), "holds records (struct<id: int64>)"),
        ("customer_id", pa.array([b"ab", b"\xff"]), "holds bytes, not text"),
    ],
)
def test_a_mapped_column_of_lists_records_or_bytes_is_one_error_naming_it(
    tmp_path, key, values, message
):
    # a warehouse table's items column mapped by mistake: the column named, no Arrow cast error
    columns = {"customer_id": ["a", "b"], "ordered_at": ["2024-01-02"] * 2, "revenue": [1.0, 2.0]}
    table = pa.table({**columns, "other": values})
    path = tmp_path / "orders.parquet"
    pq.write_table(table, path)
    mapping = {**{k: k for k in columns}, key: "other"}
    for read in (
        lambda: generic.read_orders(path, mapping),
        lambda: generic.read_orders_frame(table.to_pandas(), mapping, name="db#orders"),
    ):
        with pytest.raises(InputError, match=re.escape(message)) as caught:
            read()
        assert caught.value.column == "other" and f"map {key} to another column" in str(
            caught.value
        )


def test_date_orders(write):
    header = ["customer_id", "date", "revenue"]
    rows = [{"customer_id": 1, "date": "05/03/2024", "revenue": 1},
            {"customer_id": 1, "date": "03/25/2024", "revenue": 1}]  # fmt: skip
    result = generic.read_orders(write("t.csv", header, rows))
    assert result.orders["order_date"].tolist() == [
        pd.Timestamp("2024-05-03"),
        pd.Timestamp("2024-03-25"),
    ]
    rows = [{"customer_id": 1, "date": "05/03/2024", "revenue": 1}]
    with pytest.raises(InputError, match="ambiguous") as info:
        generic.read_orders(write("t.csv", header, rows))
    # the file does not say which comes first: both formats, the merchant's own order chosen
    assert str(info.value).endswith(
        "(give its format: --map date_format=%d/%m/%Y if the day comes first, "
        "--map date_format=%m/%d/%Y if the month does)"
    )
    result = generic.read_orders(
        write("t.csv", header, rows),
        "customer_id=customer_id,ordered_at=date,revenue=revenue,date_format=%d/%m/%Y",
    )
    assert result.orders["order_date"].tolist() == [pd.Timestamp("2024-03-05")]


def test_rows_repeating_their_order_are_summed_and_noted_by_order(write):
    header = ["order_id", "customer_id", "order_date", "revenue", "channel"]
    row = {"customer_id": "a@x.com", "order_date": "2024-01-01", "revenue": "5", "channel": "web"}
    rows = [{**row, "order_id": str(order)} for order in (1, 2, 3, 4, 5, 1, 2, 3, 4, 4)]
    rows.append({**row, "order_id": "5", "channel": "shop"})  # differs: an order's second row
    result = generic.read_orders(write("t.csv", header, rows))
    assert result.orders["net_revenue"].tolist() == [10.0, 10.0, 10.0, 15.0, 10.0]
    assert result.notes == [
        "5 rows repeat another row of their order exactly (orders 1, 2, 3 and 1 more): an "
        "order's rows are added up, so if the file holds copies (two exports pasted together), "
        "remove them; if the amount column is the order's total written on each line (an "
        "invoice export), map revenue to a line amount column, or quantity and unit_price"
    ]  # every order of several rows gives one amount on each row: it may be either
    line_level = generic.read_orders(
        write("l.csv", ["order_id", "customer_id", "order_date", "qty", "price"],
              [{"order_id": "1", "customer_id": "a", "order_date": "2024-01-01", "qty": "1",
                "price": "2"}] * 2),
        "order_id=order_id,customer_id=customer_id,ordered_at=order_date,quantity=qty,"
        "unit_price=price",
    )  # fmt: skip
    assert line_level.orders["net_revenue"].tolist() == [4.0]  # two equal lines: bought twice
    assert line_level.notes == [
        "1 line repeats another line of its order exactly (order 1): each line is counted as "
        "bought (a till writing each item scanned on a line of its own repeats lines rightly); "
        "if the file holds copies (two exports pasted together), remove it"
    ]


def test_a_column_named_with_a_comma_is_mapped_in_double_quotes(write):
    header = ["Client", "When", "Total (USD, incl tax)", 'Note "a, b"']
    rows = [{"Client": "a@x.com", "When": "2024-01-02", "Total (USD, incl tax)": "12.5",
             'Note "a, b"': "web"}]  # fmt: skip
    spec = 'customer_id=Client,revenue="Total (USD, incl tax)",ordered_at=When,'
    spec += 'channel="Note ""a, b"""'
    assert generic.parse_column_map(spec) == {
        "customer_id": "Client", "revenue": "Total (USD, incl tax)", "ordered_at": "When",
        "channel": 'Note "a, b"',
    }  # fmt: skip
    result = generic.read_orders(write("t.csv", header, rows), spec)
    assert result.orders["net_revenue"].tolist() == [12.5]
    assert result.orders["channel"].tolist() == ["web"]
    with pytest.raises(InputError, match="a double quote is never closed"):
        generic.parse_column_map('customer_id=Client,revenue="Total (USD')


def test_map_errors(write):
    path = write("t.csv", HEADER, [{"Client": "a", "Placed": "2024-01-01", "Amount": "1"}])
    with pytest.raises(InputError) as info:
        generic.read_orders(path)
    assert info.value.column == "customer_id" and "--map" in str(info.value)
    with pytest.raises(InputError) as info:
        generic.read_orders(path, "customer_id=Customer,ordered_at=Placed,revenue=Amount")
    assert info.value.column == "Customer"
    with pytest.raises(InputError, match="unknown key"):
        generic.parse_column_map("buyer=Client")
    with pytest.raises(InputError, match="KEY=COLUMN"):
        generic.parse_column_map("customer_id")
    mapping = "customer_id=Client,ordered_at=Placed,revenue=Amount"
    bad = write("t.csv", HEADER, [{"Client": "a", "Placed": "2024-01-01", "Amount": ""}])
    with pytest.raises(InputError) as info:
        generic.read_orders(bad, mapping)
    assert (info.value.row, info.value.column) == (2, "Amount")
    broken = write("x.parquet", ["a"], [{"a": 1}])
    with pytest.raises(InputError, match="Parquet"):
        generic.read_orders(broken, mapping)


def _line(invoice, code, quantity, price, customer="17850", date="2024-01-02 08:26"):
    return {"InvoiceNo": invoice, "StockCode": code, "Description": f"ITEM {code}",
            "Quantity": quantity, "InvoiceDate": date, "UnitPrice": price,
            "CustomerID": customer, "Country": "United Kingdom"}  # fmt: skip


def test_line_level_log_sums_lines_and_excludes_cancellations(write):
    rows = [
        _line("536365", "A", 6, "2.55"),
        _line("536365", "B", 2, "3.40"),
        _line("536366", "A", 10, "2.55", customer="", date="2024-01-02 09:00"),  # a guest
        _line("536367", "A", 4, "2.55", customer="13047", date="2024-01-03 10:00"),
        _line("536367", "B", -1, "3.40", customer="13047", date="2024-01-03 10:00"),  # returned
        # a cancellation invoice of a sale before the log
        _line("C536368", "A", -6, "2.55", customer="14000", date="2024-01-04 11:00"),
        _line("C536368", "B", -2, "3.40", customer="14000", date="2024-01-04 11:00"),
        _line("536369", "A", 1, "2.55", customer="13047", date="2024-01-05 12:00"),
        _line("536369", "B", -3, "3.40", customer="13047", date="2024-01-05 12:00"),  # nets < 0
        {},
    ]
    result = generic.read_orders(write("retail.csv", RETAIL_HEADER, rows), RETAIL_MAP)
    orders = result.orders.set_index("order_number")
    assert list(orders.index) == ["536365", "536366", "536367"]
    assert orders["net_revenue"].tolist() == pytest.approx([6 * 2.55 + 2 * 3.40, 25.5, 6.8])
    assert orders.loc["536366", "is_guest"] and pd.isna(orders.loc["536366", "customer_id"])
    assert result.excluded == {"cancellation": 2, "negative amount": 2, "empty row": 1}
    assert result.excluded_orders == {"cancellation": 1, "negative amount": 1}
    assert result.excluded_revenue["cancellation"] == pytest.approx(-22.1)
    lines = result.order_lines
    assert (
        lines["order_id"].tolist()
        == ["orders:536365"] * 2 + ["orders:536366"] + ["orders:536367"] * 2
    )
    assert lines["line_number"].tolist() == [1, 2, 1, 1, 2]
    assert lines["sku"].tolist() == ["A", "B", "A", "A", "B"]
    assert lines["product_name"].tolist() == ["ITEM A", "ITEM B", "ITEM A", "ITEM A", "ITEM B"]
    assert lines["quantity"].tolist() == [6, 2, 10, 4, -1]
    assert lines["unit_price"].tolist() == [2.55, 3.4, 2.55, 2.55, 3.4]


def test_line_level_log_without_order_ids_makes_each_row_an_order(write):
    rows = [_line("", "A", 2, "1.50"), _line("", "B", -1, "4", date="2024-01-03 08:00")]
    mapping = RETAIL_MAP.replace(",order_id=InvoiceNo", "")
    result = generic.read_orders(write("retail.csv", RETAIL_HEADER, rows), mapping)
    assert result.orders["net_revenue"].tolist() == [3.0]
    assert result.excluded == {"cancellation": 1}
    assert result.order_lines["product_name"].tolist() == ["ITEM A"]


def test_quantity_with_a_revenue_column_keeps_the_row_amount(write):
    header = ["order", "customer", "date", "line_total", "qty", "item"]
    rows = [
        {"order": "1", "customer": "a", "date": "2024-01-01", "line_total": "9", "qty": "3",
         "item": "Tea"},
        {"order": "1", "customer": "a", "date": "2024-01-01", "line_total": "5", "qty": "",
         "item": "Mug"},
        {"order": "2", "customer": "a", "date": "2024-01-09", "line_total": "-9", "qty": "-3",
         "item": "Tea"},
    ]  # fmt: skip
    mapping = "order_id=order,customer_id=customer,ordered_at=date,revenue=line_total,quantity=qty,product=item"
    result = generic.read_orders(write("t.csv", header, rows), mapping)
    # the return's price is its amount over its quantity: the Tea order 1 sold at 3 each
    assert result.orders["net_revenue"].tolist() == [5.0]
    assert result.orders["refunded"].tolist() == [9.0]
    assert result.excluded_orders == {}
    assert result.order_lines["quantity"].tolist()[0] == 3.0
    assert np.isnan(result.order_lines["quantity"].tolist()[1])
    assert result.order_lines["unit_price"].isna().all()


def test_line_level_log_errors(write):
    path = write("retail.csv", RETAIL_HEADER, [_line("1", "A", 2, "1.5")])
    with pytest.raises(InputError, match="not both"):
        generic.read_orders(path, RETAIL_MAP + ",revenue=UnitPrice")
    with pytest.raises(InputError, match="unit_price needs quantity"):
        generic.read_orders(path, RETAIL_MAP.replace("quantity=Quantity,", ""))
    cases = [
        ({"Quantity": "two"}, "Quantity", "cannot read"),
        ({"UnitPrice": "n/a"}, "UnitPrice", "cannot read"),
        ({"Quantity": ""}, "Quantity", "missing"),
        ({"UnitPrice": ""}, "UnitPrice", "missing"),
        ({"Quantity": "2000000", "UnitPrice": "1000000"}, "UnitPrice", "out of range"),
    ]
    for edit, column, message in cases:
        rows = [_line("1", "A", 2, "1.5"), {**_line("2", "B", 1, "3"), **edit}]
        bad = write("bad.csv", RETAIL_HEADER, rows)
        with pytest.raises(InputError, match=message) as info:
            generic.read_orders(bad, RETAIL_MAP)
        assert (info.value.row, info.value.column) == (3, column), edit


def test_generated_retail_log_matches_pandas_on_every_input(tmp_path):
    frame = retail_log(n_invoices=300, n_customers=80, seed=11)
    path = tmp_path / "retail.csv"
    frame.to_csv(path, index=False)
    result = generic.read_orders(path, RETAIL_MAP)
    got = result.orders.dropna(subset=["customer_id"]).groupby("customer_id")["net_revenue"].sum()
    expected = expected_revenue(frame.astype({"CustomerID": str}))
    pd.testing.assert_series_equal(
        got.sort_index(), expected.sort_index(), check_names=False, check_index_type=False
    )
    assert (
        result.excluded_orders["cancellation"]
        == frame["InvoiceNo"]
        .str.startswith("C")
        .map({True: 1, False: 0})
        .groupby(frame["InvoiceNo"])
        .max()
        .sum()
    )
    assert len(result.order_lines) == len(frame) - result.excluded[
        "cancellation"
    ] - result.excluded.get("negative amount", 0)
    mapping = generic.parse_column_map(RETAIL_MAP)
    typed = frame.astype({"Quantity": "int64", "UnitPrice": "float64"})
    typed.to_parquet(tmp_path / "retail.parquet")
    for other in (
        generic.read_orders(tmp_path / "retail.parquet", mapping),
        generic.read_orders_frame(typed, mapping),
    ):
        pd.testing.assert_frame_equal(other.orders, result.orders)
        pd.testing.assert_frame_equal(other.order_lines, result.order_lines)
        assert other.excluded == result.excluded


def test_cdnow_master_matches_the_dataset_loader():
    result = generic.read_cdnow(str(data_path("CDNOW_master.txt")))
    reference = load_cdnow_transactions(full=True)
    assert result.format == "cdnow" and result.rows_read == len(reference) == 69_659
    assert len(result.orders) == len(reference)
    assert result.orders["net_revenue"].sum() == pytest.approx(reference["amount"].sum())
    assert result.orders["customer_id"].nunique() == 23_570
    assert result.orders["order_date"].min() == pd.Timestamp("1997-01-01")
    assert result.orders["order_date"].max() == pd.Timestamp("1998-06-30")


def test_cdnow_sample_layout_uses_the_sample_ids():
    result = generic.read_cdnow(str(data_path("CDNOW_sample.txt")))
    reference = load_cdnow_transactions(full=False)
    assert len(result.orders) == len(reference) == 6_919
    assert result.orders["customer_id"].nunique() == 2_357
    assert generic.looks_like_cdnow(["00004 0001 19970101  2   29.33"])
    assert not generic.looks_like_cdnow(["customer,date,amount"])


def test_cdnow_errors(tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("00001 19970101 1 11.77\n00002 19971301 1 12.00\n")
    with pytest.raises(InputError) as info:
        generic.read_cdnow(path)
    assert (info.value.row, info.value.column) == (2, "date")
    path.write_text("1 2 3\n")
    with pytest.raises(InputError, match="expected 4 fields"):
        generic.read_cdnow(path)
    path.write_text("")
    with pytest.raises(InputError, match="empty"):
        generic.read_cdnow(path)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "C@x.com", None]), st.integers(0, 3)),
        min_size=0,
        max_size=40,
    )
)
def test_row_numbers_count_repeats_of_customer_and_time_in_row_order(rows):
    """``customer|date`` with ``|2``, ``|3`` ... for later rows of the same customer and time
    (guests, with no customer, counting as one), as counted row by row in Python."""
    customers = [customer for customer, _ in rows]
    written = [f"2024-01-0{day + 1}" for _, day in rows]
    when = np.array([day for _, day in rows], dtype="datetime64[D]").astype("datetime64[us]")
    seen: dict[tuple, int] = {}
    expected = []
    for customer, text, time in zip(customers, written, when.tolist(), strict=True):
        seen[(customer, time)] = seen.get((customer, time), 0) + 1
        k = seen[(customer, time)]
        expected.append(f"{customer or ''}|{text}" + (f"|{k}" if k > 1 else ""))
    numbers = generic._row_numbers(
        pa.chunked_array([pa.array(customers, pa.string())]),
        pa.chunked_array([pa.array(written, pa.string())]),
        when,
    )
    assert numbers.to_pylist() == expected


def test_repeat_numbers_are_exact_when_every_hash_collides():
    """Rows whose (customer, time) hashes collide are grouped exactly: all-equal hashes give the
    numbers the real hashes give."""
    customers = pa.chunked_array([pa.array(["a", "b", "a", None, None, "a", "b"])])
    when = np.array([1, 1, 1, 1, 1, 2, 1], dtype="datetime64[D]").astype("datetime64[us]")
    real = generic._repeat_numbers(customers, when, generic._pair_hashes(customers, when))
    assert real.tolist() == [0, 0, 2, 0, 2, 0, 2]
    colliding = np.zeros(len(when), dtype=np.uint64)
    assert generic._repeat_numbers(customers, when, colliding).tolist() == real.tolist()


def test_a_parquet_file_naming_two_columns_alike_is_one_error(tmp_path):
    path = tmp_path / "dup.parquet"
    table = pa.table(
        [pa.array(["a"]), pa.array(["2024-01-01"]), pa.array([1.0]), pa.array([2.0])],
        names=["customer", "ordered_at", "total", "total"],
    )
    import pyarrow.parquet as pq

    pq.write_table(table, path)
    with pytest.raises(InputError, match="columns 3 and 4 share this name") as info:
        generic.read_orders(path, "customer_id=customer,ordered_at=ordered_at,revenue=total")
    assert info.value.column == "total"


def test_a_mapped_status_leaves_out_cancelled_failed_and_refunded_orders(write):
    header = ["id", "email", "created", "amount", "Status"]
    rows = [
        ("1", "a@x.com", "2024-01-05", "10.00", "Paid"),
        ("2", "b@x.com", "2024-01-06", "20.00", "Failed"),  # Stripe
        ("3", "a@x.com", "2024-02-05", "30.00", "refunded"),
        ("4", "c@x.com", "2024-02-06", "40.00", "wc-completed"),
        ("5", "c@x.com", "2024-03-06", "50.00", "Storniert"),  # a German admin's cancelled
        ("6", "d@x.com", "2024-03-07", "60.00", "VOIDED"),  # Xero
        ("7", "d@x.com", "2024-03-08", "70.00", ""),
        ("8", "e@x.com", "2024-03-09", "80.00", "Canceled"),  # Etsy
        ("9", "e@x.com", "2024-03-10", "-5.00", "Paid"),
        ("10", "f@x.com", "2024-03-11", "15.00", "Reserviert"),  # none valuecast reads: named
        # none valuecast reads, but left out for its negative amount: not "counted as sales"
        ("11", "f@x.com", "2024-03-12", "-20.00", "refund"),
    ]
    path = write("t.csv", header, [dict(zip(header, row, strict=True)) for row in rows])
    mapping = "customer_id=email,ordered_at=created,revenue=amount,order_id=id,status=Status"
    result = generic.read_orders(path, mapping)
    assert sorted(result.orders["order_number"]) == ["1", "10", "4", "7"]
    assert result.excluded_orders == {
        "failed": 1, "refunded": 1, "voided": 1, "cancelled": 2, "negative amount": 2
    }  # fmt: skip
    (note,) = [note for note in result.notes if "status" in note]
    assert note.startswith("1 order has a status that is not among the statuses valuecast reads")
    assert "('Reserviert' (1)): counted as sales" in note
    # unmapped, the column is named as unread and every order counts
    unmapped = generic.read_orders(path, mapping.replace(",status=Status", ""))
    assert len(unmapped.orders) == 9  # 11 less the two of a negative amount
    assert any("map status=Status to leave those out" in n for n in unmapped.notes)


def test_orders_not_paid_yet_are_counted_and_noted_with_their_revenue(write):
    """A status saying the order is not paid yet counts it as a sale, as the platforms' readers
    do, and a note counts those orders and their revenue (WooCommerce's English label "pending
    payment", "unpaid" and "awaiting payment" among them, not named as unknown statuses)."""
    statuses = ["Paid", "pending", "Partially paid", "Pending payment", "unpaid",
                "Awaiting payment", "Zahlung ausstehend", "completed"]  # fmt: skip
    header = ["id", "email", "created", "amount", "Status"]
    rows = [
        {"id": str(k), "email": f"c{k % 3}@x.com", "created": f"2024-01-{k + 10}",
         "amount": f"{10 * (k + 1)}.00", "Status": status}
        for k, status in enumerate(statuses)
    ]  # fmt: skip
    path = write("t.csv", header, rows)
    mapping = "customer_id=email,ordered_at=created,revenue=amount,order_id=id,status=Status"
    result = generic.read_orders(path, mapping)
    assert len(result.orders) == 8 and not result.excluded_orders
    assert not [note for note in result.notes if "status" in note]
    (note,) = [note for note in result.notes if "not paid yet" in note]
    assert note.startswith(
        "6 orders not paid yet (unpaid 1, pending payment 1, pending 2, partially paid 1, "
        "awaiting payment 1) are counted as sales (270.00 of revenue)"
    ), note


def test_a_european_admins_statuses_are_read_in_its_language(write):
    # a shop system's own export from a German, French or Spanish admin: its cancelled,
    # refunded, failed and expired orders are left out, whatever the case and accents, and its
    # sales count without a note
    statuses = ["Bezahlt", "STORNIERT", "Remboursée", "REMBOURSEE", "Teilweise erstattet",
                "Fallido", "Abgelaufen", "expédiée", "En attente de paiement", "Annulé"]  # fmt: skip
    header = ["Bestellung", "Kunde", "Datum", "Betrag", "Status"]
    rows = [
        {"Bestellung": str(k), "Kunde": f"c{k % 3}@x.de", "Datum": f"2024-01-{k + 10}",
         "Betrag": "10.00", "Status": status}
        for k, status in enumerate(statuses)
    ]  # fmt: skip
    path = write("t.csv", header, rows)
    mapping = "customer_id=Kunde,ordered_at=Datum,revenue=Betrag,order_id=Bestellung,status=Status"
    result = generic.read_orders(path, mapping)
    assert sorted(result.orders["order_number"].astype(int)) == [0, 4, 7, 8]
    assert result.excluded_orders == {"cancelled": 2, "refunded": 2, "failed": 1, "expired": 1}
    assert not [note for note in result.notes if "status" in note]
    known = generic.EXCLUDED_STATUSES.keys() | generic.COUNTED_STATUSES
    assert set(generic.TRANSLATED_STATUSES) <= known


def test_an_invoice_total_written_on_every_line_is_named(write):
    header = ["invoice", "email", "date", "total", "code"]
    rows = []
    for k in range(4):  # four invoices of two or three lines, each line carrying the total
        for line in range(2 + k % 2):
            rows.append({"invoice": f"INV-{k}", "email": f"c{k}@x.com", "date": "2024-01-05",
                         "total": "119.00", "code": f"L{line}"})  # fmt: skip
    rows.append({"invoice": "INV-9", "email": "z@x.com", "date": "2024-01-06", "total": "5.00"})
    mapping = "customer_id=email,ordered_at=date,revenue=total,order_id=invoice"
    path = write("t.csv", header, rows)
    # the lines differ in a column read (the code): only the total's note
    notes = generic.read_orders(path, mapping + ",discount_code=code").notes
    (note,) = [n for n in notes if "every row" in n]
    assert note.startswith("each of the 4 orders of several rows (10 rows) gives the same amount")
    assert "map revenue to a line amount column" in note
    # without the code the lines are copies in every column read: one note says both
    notes = generic.read_orders(path, mapping).notes
    (note,) = [n for n in notes if "repeat another row" in n]
    assert "pasted together" in note and "the order's total written on each line" in note
    # a line log whose amounts differ within an order says neither
    rows[0]["total"] = "19.00"
    notes = generic.read_orders(write("u.csv", header, rows), mapping + ",discount_code=code").notes
    assert not [n for n in notes if "every row" in n or "repeat another row" in n]


@pytest.mark.parametrize(
    "header",
    [
        ["Order", "Customer", "Email", "Date", "Total"],
        ["Order", "Email", "Customer", "Date", "Total"],
        ["Order", "Customer", "Customer E-mail", "Date", "Total"],
        ["Order", "Customer", "Customer Number", "Date", "Total"],
    ],
)
def test_two_customers_of_one_name_are_two_customers(write, header):
    """A file with a customer column and an e-mail (or a customer number) column identifies
    its customers by the e-mail or number: ``Customer`` is as often a name, which two people
    share."""
    identity = header[2] if header[1] == "Customer" else header[1]
    rows = [
        {"Order": "1", "Customer": "Jane Smith", identity: "jane@a.com", "Date": "2024-01-05",
         "Total": "10"},
        {"Order": "2", "Customer": "Jane Smith", identity: "jane@b.com", "Date": "2024-01-06",
         "Total": "20"},
    ]  # fmt: skip
    result = generic.read_orders(write("orders.csv", header, rows))
    assert result.orders["customer_id"].tolist() == ["jane@a.com", "jane@b.com"]


@pytest.mark.parametrize("name", ["Smith, Jane", "SMITH,JANE", "Dr. Smith", "Jane"])
def test_a_name_written_surname_first_is_a_name_not_an_id(write, name):
    """An accounting export writes a customer's name surname first (``Smith, Jane``): two
    people of that name are still two customers, told apart by their e-mail."""
    header = ["Order", "Customer", "Email", "Date", "Total"]
    rows = [
        {"Order": "1", "Customer": name, "Email": "jane@a.com", "Date": "2024-01-05",
         "Total": "10"},
        {"Order": "2", "Customer": name, "Email": "jane@b.com", "Date": "2024-01-06",
         "Total": "20"},
    ]  # fmt: skip
    result = generic.read_orders(write("orders.csv", header, rows))
    assert result.orders["customer_id"].tolist() == ["jane@a.com", "jane@b.com"]


def test_a_refund_row_dated_after_the_sale_does_not_move_the_order(write):
    """An export sorted newest first gives an order's refund row before its sale: the order is
    dated at its sale (its earliest row), its amount the sale net of the refund."""
    header = ["order_id", "email", "date", "total"]
    rows = [
        {"order_id": "1003", "email": "a@x.com", "date": "2024-03-01", "total": "20"},
        {"order_id": "1001", "email": "a@x.com", "date": "2024-02-20 09:30", "total": "-30"},
        {"order_id": "1002", "email": "b@x.com", "date": "2024-01-06", "total": "50"},
        {"order_id": "1001", "email": "a@x.com", "date": "2024-01-05 14:00", "total": "100"},
    ]
    orders = generic.read_orders(write("orders.csv", header, rows)).orders.set_index("order_number")
    assert orders.loc["1001", "ordered_at"] == pd.Timestamp("2024-01-05 14:00")
    assert orders.loc["1001", "net_revenue"] == 70.0
    assert orders["ordered_at"].tolist() == [
        pd.Timestamp("2024-03-01"), pd.Timestamp("2024-01-05 14:00"), pd.Timestamp("2024-01-06")
    ]  # fmt: skip


VEND_HEADER = ["Date", "Receipt Number", "Line Type", "Customer Code", "Total", "Status"]


def _till_rows(types: list[str]) -> list[dict]:
    return [
        {"Date": "2024-01-05 10:00:00", "Receipt Number": "1001", "Line Type": kind,
         "Customer Code": "C1", "Total": "100.00", "Status": "CLOSED"}
        for kind in types
    ]  # fmt: skip


@pytest.mark.parametrize("detail", ["Sale Line", "PAYMENT", "line_item"])
def test_a_tills_export_with_its_sales_lines_and_payments_is_refused(write, detail):
    """A till's sales export gives each sale's row, then rows of its lines and its payments,
    each with an amount: adding up the receipt's rows would count the sale two or three times,
    so the first such row is an error naming its row and the line-type column."""
    path = write("sales.csv", VEND_HEADER, _till_rows(["Sale", detail, "Sale"]))
    with pytest.raises(InputError) as caught:
        generic.read_orders(path)
    assert caught.value.row == 3 and caught.value.column == "Line Type"
    assert f"a {detail!r} row" in caught.value.message
    assert "count the sale again" in caught.value.message


def test_a_line_level_log_with_a_line_type_column_is_read(write):
    """A log of order lines whose line-type column names each line's kind (a product, its
    shipping) gives no sale's own row to count again: each order is the sum of its lines."""
    header = ["order_id", "customer", "date", "Line Type", "product", "quantity", "amount"]
    rows = [
        {"order_id": "1", "customer": "a@x.com", "date": "2024-01-05", "Line Type": "Product",
         "product": "Mug", "quantity": "1", "amount": "10"},
        {"order_id": "1", "customer": "a@x.com", "date": "2024-01-05", "Line Type": "Shipping",
         "product": "", "quantity": "1", "amount": "5"},
        {"order_id": "2", "customer": "b@x.com", "date": "2024-01-06", "Line Type": "Line Item",
         "product": "Tea", "quantity": "2", "amount": "8"},
    ]  # fmt: skip
    mapping = "product=product,quantity=quantity"
    result = generic.read_orders(write("lines.csv", header, rows), mapping)
    assert result.orders["net_revenue"].tolist() == [15.0, 8.0]
    assert result.order_lines["product_name"].fillna("").tolist() == ["Mug", "", "Tea"]


def test_a_line_level_logs_payment_rows_are_refused(write):
    rows = _till_rows(["Sale Line", "Payment"])
    with pytest.raises(InputError) as caught:
        generic.read_orders(write("sales.csv", VEND_HEADER, rows))
    assert caught.value.row == 3 and "a 'Payment' row" in caught.value.message
    assert "keep only the lines' rows" in caught.value.message


def test_a_tills_export_of_sales_and_returns_alone_is_read(write):
    rows = _till_rows(["Sale", "Return"])
    rows[1].update({"Receipt Number": "1002", "Total": "-40.00"})
    result = generic.read_orders(write("sales.csv", VEND_HEADER, rows))
    assert result.orders["net_revenue"].tolist() == [100.0]
    assert result.excluded_orders == {"negative amount": 1}


def test_a_tills_sale_statuses_are_read(write):
    """A till's statuses: closed, on-account and layby sales count (without a note naming them
    as unknown); a sale parked before payment (SAVED) is left out as a draft."""
    statuses = ["CLOSED", "ONACCOUNT", "ONACCOUNT_CLOSED", "LAYBY", "LAYBY_CLOSED", "SAVED"]
    rows = _till_rows(statuses)
    for number, row in enumerate(rows):
        row.update({"Receipt Number": str(number), "Line Type": "Sale"})
        row["Status"] = statuses[number]
    result = generic.read_orders(write("sales.csv", VEND_HEADER, rows), {"status": "Status"})
    assert result.orders["order_number"].tolist() == ["0", "1", "2", "3", "4"]
    assert result.excluded_orders == {"draft": 1}
    assert not [note for note in result.notes if "status" in note]


@pytest.mark.parametrize(
    ("header", "emails"),
    [
        (["Customer ID", "Email", "Date", "Total"], ["a@x.com", "b@x.com"]),
        (["Customer Number", "Customer E-mail", "Date", "Total"], ["a@x.com", "b@x.com"]),
        # the e-mail is the customer's id: the id's lower-cased e-mail
        (["Email", "Date", "Total"], ["a@x.com", "b@x.com"]),
    ],
)
def test_an_email_column_beside_a_customer_id_is_the_customers_email(write, header, emails):
    """A file naming its customers by id or number and giving their e-mail in a column of its
    own keeps the e-mails, which the audience files send to Klaviyo, Mailchimp, Meta and
    Google."""
    cells = [["C1", "a@x.com", "2024-01-05", "10"], ["C2", "b@x.com", "2024-01-06", "20"]]
    rows = [dict(zip(header, row[-len(header) :], strict=True)) for row in cells]
    result = generic.read_orders(write("orders.csv", header, rows))
    assert result.orders["email"].tolist() == emails
    expected = ["C1", "C2"] if len(header) == 4 else emails
    assert result.orders["customer_id"].tolist() == expected


def _emails_file(write, rows: list[list[str]], header=("Customer ID", "Email")):
    header = [*header[:2], "Order Date", "Total", *header[2:]]
    cells = [dict(zip(header, row, strict=False)) for row in rows]
    return write("shop.csv", header, cells)


def test_an_order_without_a_customer_id_is_the_customer_of_its_email(write):
    """A guest checkout of a registered customer: the order without an id carries the e-mail of
    customer 1001's orders (in other capitals), so it is 1001's, and a note counts it."""
    path = _emails_file(write, [
        ["1001", "Jane.Doe@Example.com", "2024-01-05", "50.00"],
        ["1001", "jane.doe@example.com", "2024-03-05", "40.00"],
        ["", "JANE.DOE@example.com", "2024-05-05", "30.00"],
        ["1002", "bob@example.com", "2024-02-01", "20.00"],
    ])  # fmt: skip
    result = generic.read_orders(path)
    assert result.orders["customer_id"].tolist() == ["1001", "1001", "1001", "1002"]
    assert not result.orders["is_guest"].any()
    assert result.orders["email"].tolist()[2] == "JANE.DOE@example.com"  # as written
    assert result.notes == [
        "1 order without a customer id belongs to the customer whose orders carry the same e-mail"
    ]


def test_an_email_two_customers_carry_links_nothing_and_is_a_customer_of_its_own(write):
    """An address two customer ids carry (a shared inbox) gives its id-less orders to neither:
    they are the address's own customer, keyed by it lower-cased, as an address no id carries;
    an e-mail cell that is no address (``n/a``) leaves a guest order."""
    path = _emails_file(write, [
        ["1001", "Shared@Example.com", "2024-01-05", "50.00"],
        ["1002", "shared@example.com", "2024-01-06", "40.00"],
        ["", "SHARED@example.com", "2024-01-07", "30.00"],
        ["", "New@Example.com", "2024-01-08", "20.00"],
        ["", "n/a", "2024-01-09", "10.00"],
    ])  # fmt: skip
    result = generic.read_orders(path)
    assert result.orders["customer_id"].fillna("guest").tolist()[2:] == [
        "shared@example.com", "new@example.com", "guest",
    ]  # fmt: skip
    assert result.orders["is_guest"].tolist() == [False] * 4 + [True]
    assert result.orders["email"].isna().tolist() == [False] * 4 + [True]  # no address to send
    assert not [note for note in result.notes if "e-mail" in note]


def test_a_line_without_a_customer_id_in_a_customers_order_is_the_orders(write):
    """An order's rows name its customer by their id before their e-mail: a line without an id
    whose e-mail is another's (or no one's) is no second customer of the order."""
    path = _emails_file(write, [
        ["", "other@example.com", "2024-01-05", "5.00", "A1"],
        ["1001", "jane@example.com", "2024-01-05", "10.00", "A1"],
        ["1002", "other@example.com", "2024-01-06", "20.00", "A2"],
        ["", "jane@example.com", "2024-01-07", "30.00", "A3"],
        ["", "", "2024-01-07", "1.00", "A3"],
    ], header=("Customer ID", "Email", "Order ID"))  # fmt: skip
    result = generic.read_orders(path)
    assert result.orders["customer_id"].tolist() == ["1001", "1002", "1001"]
    assert result.orders["net_revenue"].tolist() == [15.0, 20.0, 31.0]
    assert any(note.startswith("1 order without a customer id belongs") for note in result.notes)


def test_a_placeholder_address_names_no_customer_and_a_bare_word_stays_an_id(write):
    """``noemail@shop.com`` typed for in-store orders is a guest's, numbered by the cell as
    written; ``test`` or ``pos`` without ``@`` may be a shop's own id and stays one."""
    header = ["customer", "date", "amount"]
    cells = ["noemail@shop.com", "No-Reply@Shop.com", "pos", "nadia@x.com", "none@none.com"]
    rows = [
        {"customer": cell, "date": f"2024-01-0{day}", "amount": "5"}
        for day, cell in enumerate(cells, start=1)
    ]
    result = generic.read_orders(write("t.csv", header, rows))
    orders = result.orders
    assert orders["customer_id"].tolist() == [pd.NA, pd.NA, "pos", "nadia@x.com", pd.NA]
    assert orders["email"].tolist() == [pd.NA, pd.NA, pd.NA, "nadia@x.com", pd.NA]
    assert orders["order_number"].tolist()[:2] == [
        "noemail@shop.com|2024-01-01", "no-reply@shop.com|2024-01-02"
    ]  # fmt: skip
    assert result.notes == [
        "3 rows name no customer ('no-reply@shop.com' (1), 'noemail@shop.com' (1), "
        "'none@none.com' (1)): read as guest orders"
    ]


def test_amounts_in_cents_are_read_as_the_shops_currency(tmp_path):
    # a warehouse's integer amounts in cents (Stripe's `amount`, an `amount_cents` column)
    from valuecast.io import read_exports
    from valuecast.io.schema import ImportResult

    frame = pd.DataFrame(
        {"customer_id": [1, 1, 2], "ordered_at": ["2025-01-01", "2025-02-01", "2025-02-03"],
         "amount_cents": [1250, 999, 100001], "tax": [200, 0, 5]}
    )  # fmt: skip
    named = generic.read_orders_frame(frame, "revenue=amount_cents")
    assert named.orders["net_revenue"].tolist() == [12.5, 9.99, 1000.01]
    assert [note for note in named.notes if "'amount_cents' read in cents" in note]
    told = generic.read_orders_frame(
        frame.rename(columns={"amount_cents": "amount"}), "revenue=amount,tax=tax,amount_unit=CENTS"
    )
    assert told.orders["net_revenue"].tolist() == [12.5, 9.99, 1000.01]
    assert told.orders["tax"].tolist() == [2.0, 0.0, 0.05]
    as_written = generic.read_orders_frame(frame, "revenue=amount_cents,amount_unit=units")
    assert as_written.orders["net_revenue"].tolist() == [1250.0, 999.0, 100001.0]
    with pytest.raises(InputError, match="amount_unit is cents .* not 'pennies'"):
        generic.parse_column_map("revenue=amount_cents,amount_unit=pennies")
    # a file large enough for DuckDB's route is read by the importer's cents rule too
    n = 60_000
    big = pd.DataFrame(
        {"customer_id": np.arange(n) % 700, "ordered_at": "2025-03-04",
         "amount_cents": np.full(n, 1250)}
    )  # fmt: skip
    for name in ("big.csv", "big.parquet"):
        path = tmp_path / name
        big.to_csv(path, index=False) if name.endswith(".csv") else big.to_parquet(path)
        (result,) = read_exports([path], column_map="revenue=amount_cents", defer=True)
        assert isinstance(result, ImportResult), name
        assert result.orders["net_revenue"].sum() == pytest.approx(12.5 * n)


def test_unix_times_are_read_as_utc_instants_and_take_the_shops_time_zone(tmp_path, write):
    from valuecast.io import read_exports

    # 2025-03-02 04:30 UTC is the evening of 1 March in New York
    seconds = [1740889800, 1740893400, 1741622400]
    frame = pd.DataFrame({"customer_id": [7, 7, 8], "created": seconds, "revenue": [10, 20, 5]})
    for written in (frame, frame.assign(created=[str(s) for s in seconds])):
        utc = generic.read_orders_frame(written, "ordered_at=created")
        assert utc.orders["ordered_at"].astype(str).tolist() == [
            "2025-03-02 04:30:00", "2025-03-02 05:30:00", "2025-03-10 16:00:00",
        ]  # fmt: skip
        assert [note for note in utc.notes if "created holds Unix times" in note]
        ny = generic.read_orders_frame(written, "ordered_at=created,time_zone=America/New_York")
        assert ny.orders["order_date"].astype(str).tolist()[:2] == ["2025-03-01", "2025-03-02"]
        assert not [note for note in ny.notes if "UTC" in note]
    millis = write("log.csv", ["customer", "ts", "amount"],
                   [{"customer": "a", "ts": f"{s}000", "amount": "3"} for s in seconds])  # fmt: skip
    (from_csv,) = read_exports([millis], column_map="ordered_at=ts,customer_id=customer")
    assert from_csv.orders["ordered_at"].astype(str).tolist()[0] == "2025-03-02 04:30:00"
    # a CSV file's too, as its note advises: the shop's time zone is taken, not refused
    (shop_days,) = read_exports(
        [millis], column_map="ordered_at=ts,customer_id=customer,time_zone=America/New_York"
    )
    assert shop_days.orders["order_date"].astype(str).tolist()[:2] == ["2025-03-01", "2025-03-02"]
    # dates written in digits are no Unix times, and take no time zone
    days = pd.DataFrame({"customer_id": [7], "ordered_at": [20250302], "revenue": [1]})
    assert generic.read_orders_frame(days).orders["order_date"].astype(str)[0] == "2025-03-02"
    days.to_parquet(tmp_path / "days.parquet")
    with pytest.raises(InputError, match="time_zone applies to order times with a zone"):
        read_exports([tmp_path / "days.parquet"], column_map="time_zone=America/New_York")


_HIDDEN = {
    "zero-width space": "\u200b",
    "byte-order mark": "\ufeff",
    "word joiner": "\u2060",
    "soft hyphen": "\u00ad",
}


@pytest.mark.parametrize("hidden", _HIDDEN.values(), ids=_HIDDEN.keys())
def test_an_id_carrying_a_character_that_shows_nothing_is_the_same_customer(write, hidden):
    # a cell copied from a web page or a spreadsheet: it reads a@b.com in every program
    rows = [
        {"customer_id": "a@b.com", "order_date": "2025-01-05", "revenue": "10"},
        {"customer_id": f"a@b.com{hidden}", "order_date": "2025-03-05", "revenue": "20"},
        {"customer_id": f"{hidden}A@B.com\u00a0", "order_date": "2025-04-05", "revenue": "5"},
        {"customer_id": f"a{hidden}@b.com", "order_date": "2025-05-05", "revenue": "5"},
        {"customer_id": "C-17", "order_date": "2025-01-05", "revenue": "7"},
        {"customer_id": f"C-17{hidden}", "order_date": "2025-02-05", "revenue": "8"},
        {"customer_id": hidden, "order_date": "2025-02-06", "revenue": "9"},  # no customer
    ]
    path = write("o.csv", ["customer_id", "order_date", "revenue"], rows)
    orders = generic.read_orders(path).orders
    assert orders["customer_id"].tolist() == ["a@b.com"] * 4 + ["C-17"] * 2 + [pd.NA]
    assert orders["is_guest"].tolist() == [False] * 6 + [True]


def test_an_address_written_with_a_joiner_or_in_another_unicode_form_is_one_customer(write):
    # a zero-width (non-)joiner is no part of an address; é as e and a combining accent is é
    rows = [
        {"customer_id": "zoé@b.com", "order_date": "2025-01-05", "revenue": "10"},
        {"customer_id": "zoe\u0301@b.com", "order_date": "2025-03-05", "revenue": "20"},
        {"customer_id": "zo\u200cé@b.com", "order_date": "2025-04-05", "revenue": "5"},
        {"customer_id": "zo\u200dé@b.com", "order_date": "2025-05-05", "revenue": "5"},
    ]
    path = write("o.csv", ["customer_id", "order_date", "revenue"], rows)
    assert generic.read_orders(path).orders["customer_id"].tolist() == ["zoé@b.com"] * 4


def test_an_email_column_carrying_a_character_that_shows_nothing_names_one_customer(write):
    """The e-mail column of orders without a customer id: the address with a zero-width space
    is the registered customer's, as the one without it is."""
    path = _emails_file(write, [
        ["1001", "jane@example.com", "2024-01-05", "50.00"],
        ["", "jane@example.com\u200b", "2024-03-05", "30.00"],
        ["", "\ufeffbob@example.com", "2024-04-05", "20.00"],
        ["", "bob@example.com", "2024-05-05", "10.00"],
    ])  # fmt: skip
    result = generic.read_orders(path)
    assert result.orders["customer_id"].tolist() == ["1001", "1001", *["bob@example.com"] * 2]
    assert result.orders["email"].tolist() == [
        "jane@example.com", "jane@example.com", "bob@example.com", "bob@example.com"
    ]  # fmt: skip


def test_a_phone_written_without_its_country_on_one_row_is_the_customer_of_its_number(write):
    # the country cell filled on one row and left empty on the next; the e-mail customer whose
    # row carries the number gathers both
    rows = [{"Mobile": "07700 900123", "Country": "GB", "Mail": "", "When": "2024-01-01", "Total": "5"},
            {"Mobile": "07700900123", "Country": "", "Mail": "", "When": "2024-01-09", "Total": "7"},
            {"Mobile": "+44 7700 900123", "Country": "", "Mail": "pat@x.com", "When": "2024-02-09",
             "Total": "9"},
            {"Mobile": "0612 345678", "Country": "", "Mail": "", "When": "2024-02-10", "Total": "4"}]  # fmt: skip
    path = write("t.csv", ["Mobile", "Country", "Mail", "When", "Total"], rows)
    result = generic.read_orders(
        path, "customer_id=Mail,phone=Mobile,country=Country,ordered_at=When,revenue=Total"
    )
    assert result.orders["customer_id"].tolist() == ["pat@x.com"] * 3 + ["phone:0612345678"]
    assert "1 customer is known by a phone number without its country code" in result.notes[0]


def test_a_quantity_reads_its_commas_as_the_files_amounts_do(write):
    """A European line log writes prices 2,50 and a weight of 1,500 kg: the quantity's comma is
    a decimal one too (1.5, not 1500); 0,250 is a quarter wherever it is, since no thousands
    group follows a lone 0; a file writing its prices 2.50 keeps 1,500 as fifteen hundred."""
    header = ["order", "customer", "date", "qty", "price"]
    mapping = "order_id=order,customer_id=customer,ordered_at=date,quantity=qty,unit_price=price"

    def revenues(name, cells, **options):
        rows = [dict(zip(header, (str(n), "a", f"2024-0{n}-01", *pair), strict=True))
                for n, pair in enumerate(cells, start=1)]  # fmt: skip
        result = generic.read_orders(write(name, header, rows, **options), mapping)
        return result.orders["net_revenue"].round(6).tolist()

    assert revenues("eu.csv", [("1,500", "2,50"), ("0,250", "10,00"), ("2", "3,00")],
                    delimiter=";") == [3.75, 2.5, 6.0]  # fmt: skip
    assert revenues("us.csv", [("1,500", "2.50"), ("0.250", "3.00")]) == [3750.0, 0.75]
    assert revenues("whole.csv", [("0,250", "3"), ("2", "3")]) == [0.75, 6.0]


def test_an_order_id_whose_sales_span_months_is_noted(write):
    """order_id mapped to the customer column makes each customer's history one order: its
    sale rows months apart say so; a refund row of an order paid back months later does not."""
    header = ["order", "customer", "date", "amount"]
    rows = [
        {"order": "1", "customer": "a", "date": "2024-01-05", "amount": "10.00"},
        {"order": "2", "customer": "a", "date": "2024-03-05", "amount": "12.00"},
        {"order": "3", "customer": "b", "date": "2024-02-01", "amount": "20.00"},
        {"order": "3", "customer": "b", "date": "2024-06-01", "amount": "-5.00"},  # a refund
    ]
    path = write("o.csv", header, rows)
    as_customers = generic.read_orders(path, "order_id=customer,customer_id=customer,"
                                       "ordered_at=date,revenue=amount")  # fmt: skip
    assert as_customers.notes[0] == (
        "1 order has sale rows dated more than 31 days apart (order a: 2024-01-05 to "
        "2024-03-05): an order id's rows are one order, dated at its first; if 'customer' is "
        "not the order number (a customer id), map order_id to it"
    )
    as_orders = generic.read_orders(path, "order_id=order,customer_id=customer,ordered_at=date,"
                                    "revenue=amount")  # fmt: skip
    assert not [note for note in as_orders.notes if "apart" in note]
