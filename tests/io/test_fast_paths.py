"""The speed-ups of the importers change nothing: dictionary-encoded columns parse (and fail)
exactly like plain ones, generated order numbers match a plain-Python reference, and ``conform``
fills missing columns of every type."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from valuecast.io import generic
from valuecast.io.csvfile import open_csv
from valuecast.io.schema import CUSTOMERS_SCHEMA, ORDER_LINES_SCHEMA, ORDERS_SCHEMA, conform

AMOUNTS = ["12.50", "1,234.50", "$3", "(4.00)", "7-", "", "  9 ", "'10", "0", "USD 12", "1 234.5"]
DATES = ["2024-03-05", "2024-03-05 23:30", "2024-03-05T23:30:00-05:00", "20240305", "",
         "13/04/2024", "05/03/2024 10:00", "2024-03-05 10:00:00 UTC"]  # fmt: skip
BAD_AMOUNTS = ["12.x", "inf", "nan", "1,2345", "abc"]
BAD_DATES = ["2024-02-30", "hello", "2024-13-01", "32/01/2024"]


def _write(path, rows: list[tuple[str, str]], blank_after: int | None = None) -> None:
    lines = ["Amount,Date"]
    for index, (amount, when) in enumerate(rows):
        lines.append(f'"{amount}","{when}"')
        if blank_after is not None and index == blank_after:
            lines.append("")  # a blank line shifts the spreadsheet row numbers
    path.write_text("\n".join(lines) + "\n")


def _parse(path, dictionary: bool):
    """(amounts, timestamps, text) or the error message, reading the columns encoded or not."""
    csv = open_csv(path)
    table = csv.read(["Amount", "Date"], dictionary=["Amount", "Date"] if dictionary else ())
    try:
        return (
            table.money("Amount"),
            table.timestamps("Date", extra_formats=True),
            table.text_series("Amount").tolist(),
            table.nonempty("Date"),
        )
    except Exception as error:  # noqa: BLE001 - the message is what is compared
        return f"{type(error).__name__}: {error}"


def _same(a, b) -> None:
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    for x, y in zip(a, b, strict=True):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        else:
            assert x == y


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(AMOUNTS + BAD_AMOUNTS[:1]), st.sampled_from(DATES + BAD_DATES)),
        min_size=1,
        max_size=40,
    ),
    blank=st.none() | st.integers(0, 39),
)
def test_dictionary_encoded_columns_parse_and_fail_like_plain_ones(tmp_path, rows, blank):
    path = tmp_path / "f.csv"
    _write(path, rows, blank)
    _same(_parse(path, dictionary=True), _parse(path, dictionary=False))


@pytest.mark.parametrize("bad", BAD_AMOUNTS + BAD_DATES)
def test_errors_name_the_first_bad_row_when_encoded(tmp_path, bad):
    rows = [("5.00", "2024-01-02")] * 30
    rows[17] = (bad, "2024-01-02") if bad in BAD_AMOUNTS else ("5.00", bad)
    rows[25] = rows[17]  # the same bad value again later: the first one is named
    path = tmp_path / "f.csv"
    _write(path, rows, blank_after=3)
    encoded, plain = _parse(path, dictionary=True), _parse(path, dictionary=False)
    assert isinstance(encoded, str) and encoded == plain
    assert "row 20," in encoded  # header row 1, a blank line after the 4th data row


def _reference_numbers(rows: list[tuple[str, str]]) -> list[str]:
    """The documented numbering, one row at a time: customer|date as written[|k]."""
    seen: dict[tuple[str, pd.Timestamp], int] = {}
    out = []
    for customer, when in rows:
        key = customer.strip()
        key = key.lower() if "@" in key else key
        stamp = pd.Timestamp(when.strip()[:19].replace("T", " "))
        seen[(key, stamp)] = seen.get((key, stamp), 0) + 1
        k = seen[(key, stamp)]
        out.append(f"{key}|{when.strip()}" + (f"|{k}" if k > 1 else ""))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_order_numbers_match_the_rule(tmp_path, seed):
    rng = random.Random(seed)
    customers = ["", "Ann@Example.com", "ann@example.com ", "7", "07", "bob"]
    dates = ["2024-03-05", "2024-03-05 00:00", "2024-03-05T00:00:00", "2024-03-06"]
    rows = [(rng.choice(customers), rng.choice(dates)) for _ in range(400)]
    lines = ["customer,date,amount"] + [f"{c},{d},1" for c, d in rows]
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n")
    result = generic.read_orders(path)
    assert result.orders["order_number"].tolist() == _reference_numbers(rows)
    assert result.orders["order_number"].is_unique
    guests = result.orders["is_guest"].to_numpy(bool)
    assert guests.sum() == sum(1 for c, _ in rows if not c.strip())


def test_encoded_reads_give_the_same_orders_as_frames(tmp_path):
    rows = [(f"c{i % 7}", f"2024-01-{i % 28 + 1:02d}", f"{i},50") for i in range(200)]
    path = tmp_path / "t.csv"
    path.write_text("customer;date;amount\n" + "\n".join(";".join(row) for row in rows) + "\n")
    from_csv = generic.read_orders(path).orders
    frame = pd.DataFrame(rows, columns=["customer", "date", "amount"])
    from_frame = generic.read_orders_frame(frame, name=str(path)).orders
    pd.testing.assert_frame_equal(from_csv, from_frame)
    assert from_csv["net_revenue"].tolist()[:2] == [0.5, 1.5]


@pytest.mark.parametrize("schema", [ORDERS_SCHEMA, ORDER_LINES_SCHEMA, CUSTOMERS_SCHEMA])
def test_conform_fills_missing_columns_of_every_type(schema):
    present = "line_number" if "line_number" in schema else "customer_id"
    values = [1, 2] if present == "line_number" else ["a", "b"]
    frame = conform(pd.DataFrame({present: values}), schema)
    assert list(frame.columns) == list(schema)
    assert {name: str(dtype) for name, dtype in frame.dtypes.items()} == {
        name: str(pd.Series(dtype=dtype).dtype) for name, dtype in schema.items()
    }
    for name in schema:
        if name != present:
            assert frame[name].isna().all(), name
    if "net_revenue" in schema:  # the float columns that used to crash
        assert np.isnan(frame["net_revenue"].to_numpy()).all()


def test_conform_cannot_invent_an_integer_column():
    with pytest.raises(ValueError, match="line_number"):
        conform(pd.DataFrame({"order_id": ["a"]}), ORDER_LINES_SCHEMA)


@settings(max_examples=300, deadline=None)
@given(
    codes=st.lists(st.integers(-1, 6), max_size=40),
    valid=st.one_of(st.none(), st.lists(st.booleans(), min_size=40, max_size=40)),
    all_valid=st.booleans(),
)
def test_first_positions_are_each_groups_first_row(codes, valid, all_valid):
    from valuecast.io._build import first_positions

    codes = np.asarray(codes, dtype=np.int64)
    mask = None if valid is None else np.asarray(valid[: len(codes)], dtype=bool)
    if mask is not None and all_valid:
        mask[:] = True
    expected = np.full(8, -1, dtype=np.int64)
    for position in reversed(range(len(codes))):
        if codes[position] >= 0 and (mask is None or mask[position]):
            expected[codes[position]] = position
    np.testing.assert_array_equal(first_positions(codes, 8, mask), expected)
