"""Any orders table (CSV, Parquet, DataFrame) with a column map, and CDNOW-style logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valuecast.datasets import data_path, load_cdnow_transactions
from valuecast.io import generic
from valuecast.io.schema import ORDERS_SCHEMA, InputError

HEADER = ["Order No", "Client", "Placed", "Amount", "Cur", "Store"]


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
    with pytest.raises(InputError, match="ambiguous"):
        generic.read_orders(write("t.csv", header, rows))
    result = generic.read_orders(
        write("t.csv", header, rows),
        "customer_id=customer_id,ordered_at=date,revenue=revenue,date_format=%d/%m/%Y",
    )
    assert result.orders["order_date"].tolist() == [pd.Timestamp("2024-03-05")]


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
