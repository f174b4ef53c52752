"""The DuckDB fast path of the orders importer gives exactly what the general reader gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from valuecast.io import generic, orders_duckdb
from valuecast.io.schema import InputError


def _orders_csv(path, rng, n=400, *, order_ids=False, attributes=False, repeats=True):
    customers = np.array(
        ["Ann@Example.com", "bob@example.com", "C-17", "", "dave@shop.io", "e@x.org"]
    )
    days = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 400, n), "D")
    stamps = days.strftime("%Y-%m-%d")
    with_time = rng.random(n) < 0.3
    stamps = np.where(with_time, days.strftime("%Y-%m-%d 10:30:00"), stamps)
    frame = pd.DataFrame(
        {
            "customer": rng.choice(customers, n),
            "date": stamps,
            "amount": np.round(rng.gamma(2.0, 30.0, n) - (rng.random(n) < 0.05) * 100, 2),
        }
    )
    if not repeats:
        frame["date"] = (pd.Timestamp("2023-01-01") + pd.to_timedelta(np.arange(n), "h")).strftime(
            "%Y-%m-%d %H:%M"
        )
    if attributes:
        frame["channel"] = rng.choice(["google", "meta", ""], n)
        frame["coupon"] = rng.choice(["WELCOME10", "", ""], n)
        frame["accepts_marketing"] = rng.choice(["yes", "no", ""], n)
        frame["currency"] = "eur"
    if order_ids:
        frame.insert(0, "order_id", rng.integers(1000, 1000 + n // 2, n).astype(str))
    frame = frame.astype(str)
    frame.loc[rng.random(n) < 0.02, :] = ""  # empty rows
    frame.to_csv(path, index=False)
    return path


def _both(path, mapping, monkeypatch):
    """(fast path result, general reader result) for one file."""
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)
    fast = generic.read_orders(path, mapping)
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 1 << 62)
    general = generic.read_orders(path, mapping)
    return fast, general


def _assert_same(fast, general):
    pd.testing.assert_frame_equal(fast.orders, general.orders)
    assert fast.rows_read == general.rows_read
    assert fast.excluded == general.excluded
    assert fast.excluded_orders == general.excluded_orders
    assert fast.excluded_revenue == general.excluded_revenue


MAP = "customer_id=customer,ordered_at=date,revenue=amount"


@pytest.mark.parametrize("order_ids", [False, True])
@pytest.mark.parametrize("attributes", [False, True])
def test_fast_path_equals_general_reader(tmp_path, monkeypatch, order_ids, attributes):
    path = _orders_csv(
        tmp_path / "o.csv", np.random.default_rng(3), order_ids=order_ids, attributes=attributes
    )
    mapping = MAP + (",order_id=order_id" if order_ids else "")
    if attributes:
        mapping += ",channel=channel,discount_code=coupon,accepts_marketing=accepts_marketing"
    calls = []
    real = orders_duckdb.parsed_rows
    monkeypatch.setattr(
        orders_duckdb, "parsed_rows", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    fast, general = _both(path, mapping, monkeypatch)
    assert calls == [1], "the fast path was not taken on a clean file"
    _assert_same(fast, general)
    assert fast.excluded["negative amount"] > 0 and fast.excluded["empty row"] > 0
    if not order_ids:  # same customer and day: numbered |2, |3 ... in row order
        assert fast.orders["order_number"].str.count(r"\|").max() == 2


@pytest.mark.parametrize(
    "cell",
    ["'0123", " padded@example.com", "Zoë@example.com", "tab\there", "x\u00a0"],
)
def test_cells_needing_cleaning_go_to_the_general_reader(tmp_path, monkeypatch, cell):
    path = _orders_csv(tmp_path / "o.csv", np.random.default_rng(5))
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[7, "customer"] = cell
    frame.loc[7, "amount"] = "12.50"
    frame.loc[7, "date"] = "2023-05-01"
    frame.to_csv(path, index=False)
    calls = []
    real = orders_duckdb.parsed_rows
    monkeypatch.setattr(
        orders_duckdb, "parsed_rows", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    fast, general = _both(path, MAP, monkeypatch)
    assert calls == []
    _assert_same(fast, general)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("date", "05/01/2023"),  # another notation: the general reader decides the day order
        ("date", "2023-02-30"),  # not a date: the general reader names the row
        ("date", "2023-01-01 24:00"),
        ("amount", "$1,234.50"),
        ("amount", "1.234,50"),
        ("amount", "inf"),
        ("amount", ""),  # missing value in a filled row
    ],
)
def test_other_notations_and_errors_are_the_general_readers(tmp_path, monkeypatch, column, value):
    path = _orders_csv(tmp_path / "o.csv", np.random.default_rng(9), repeats=False)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[11, ["customer", "date", "amount"]] = ["z@example.com", "2023-05-01", "10"]
    frame.loc[11, column] = value
    frame.to_csv(path, index=False)
    outcomes = []
    for size in (0, 1 << 62):
        monkeypatch.setattr(orders_duckdb, "MIN_BYTES", size)
        try:
            outcomes.append(generic.read_orders(path, MAP))
        except InputError as error:
            outcomes.append(str(error))
    if isinstance(outcomes[0], str):
        assert outcomes[0] == outcomes[1]
        assert "row 13" in outcomes[0]  # header is row 1, data row index 11 is row 13
    else:
        _assert_same(*outcomes)


def test_malformed_rows_go_to_the_general_reader(tmp_path, monkeypatch):
    path = tmp_path / "o.csv"
    path.write_text("customer,date,amount\na@x.com,2023-01-01,1\nb@x.com,2023-01-02,2,3\n")
    monkeypatch.setattr(orders_duckdb, "MIN_BYTES", 0)
    with pytest.raises(InputError, match="row 3"):
        generic.read_orders(path, MAP)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a@x.com", "B@X.COM", "c", "", "d@y.org"]),
            st.sampled_from(
                ["2023-01-01", "2023-01-01 08:00", "2023-03-05T23:59:59", "2024-02-29"]
            ),
            st.sampled_from(["0", "12.5", "-3", "1e2", ".5", "7."]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_generated_files_agree(tmp_path, monkeypatch, rows):
    path = tmp_path / "g.csv"
    pd.DataFrame(rows, columns=["customer", "date", "amount"]).to_csv(path, index=False)
    fast, general = _both(path, MAP, monkeypatch)
    _assert_same(fast, general)
