"""DuckDB's parse of a clean orders CSV equals the importer's, row by row; anything else is refused."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retail_log import MAP as RETAIL_MAP
from retail_log import retail_log
from valuecast.io import generic, orders_duckdb
from valuecast.io.csvfile import open_csv, written_in_utc
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


MAP = "customer_id=customer,ordered_at=date,revenue=amount"


def _load(path, mapping):
    """DuckDB's rows (or None when refused) and the importer's parsed rows (or its error)."""
    csv = open_csv(path)
    parsed_mapping = generic.parse_column_map(mapping)
    cols = generic.resolve_columns(csv, parsed_mapping)
    assert orders_duckdb.usable(csv, parsed_mapping, min_bytes=0)
    con = duckdb.connect()
    try:
        if orders_duckdb.load_rows(con, csv, cols, generic.AMOUNT_KEYS):
            rows = con.sql(f"SELECT * EXCLUDE (_bad) FROM {orders_duckdb.ROWS_TABLE}").df()
        else:
            rows = None
    finally:
        con.close()
    try:
        table = csv.read([c for c in dict.fromkeys(cols.values()) if c is not None])
        general = generic._parse_rows(table, cols, parsed_mapping)
    except InputError as error:
        general = error
    return rows, general


def _assert_same_rows(rows: pd.DataFrame, general) -> None:
    """Every column DuckDB parsed equals the importer's value for the same row."""
    assert len(rows) == general.n_rows
    np.testing.assert_array_equal(rows["filled"].to_numpy(bool), general.filled)
    filled = general.filled
    customer = pd.Series(general.customer.to_pandas(), dtype="string")
    assert rows["customer"].astype("string")[filled].tolist() == customer[filled].tolist()
    stamps = rows["ordered_at"].to_numpy("datetime64[us]")
    np.testing.assert_array_equal(stamps[filled], general.ordered_at[filled])
    np.testing.assert_array_equal(rows["revenue"].to_numpy(float)[filled], general.revenue[filled])
    for key, values in general.text.items():
        if values is not None:
            expected = pd.Series(values.to_pandas(), dtype="string")[filled].tolist()
            assert rows[key].astype("string")[filled].tolist() == expected, key
    for key, values in general.amounts.items():
        if values is not None:
            np.testing.assert_array_equal(rows[key].to_numpy(float)[filled], values[filled])
    if general.accepts_marketing is not None:
        got = rows["accepts_marketing"].astype("boolean")[filled].tolist()
        assert got == general.accepts_marketing[filled].tolist()
    if general.lines is not None:
        for key in ("quantity", "unit_price"):
            expected = getattr(general.lines, key)[filled]
            np.testing.assert_array_equal(rows[key].to_numpy(float)[filled], expected)
        returns = general.lines.returns(general.revenue)[filled]
        np.testing.assert_array_equal(rows["returns"].to_numpy(bool)[filled], returns)


@pytest.mark.parametrize("order_ids", [False, True])
@pytest.mark.parametrize("attributes", [False, True])
def test_clean_files_parse_as_the_importer_parses_them(tmp_path, order_ids, attributes):
    path = _orders_csv(
        tmp_path / "o.csv", np.random.default_rng(3), order_ids=order_ids, attributes=attributes
    )
    mapping = MAP + (",order_id=order_id" if order_ids else "")
    if attributes:
        mapping += ",channel=channel,discount_code=coupon,accepts_marketing=accepts_marketing"
    mapping += ",currency=currency" if attributes else ""
    rows, general = _load(path, mapping)
    assert rows is not None, "a clean file was refused"
    _assert_same_rows(rows, general)
    assert (~general.filled).sum() > 0 and (general.revenue < 0).sum() > 0


def test_line_level_logs_parse_as_the_importer_parses_them(tmp_path):
    path = tmp_path / "retail.csv"
    frame = retail_log(n_invoices=200, seed=4)
    frame.loc[5, :] = ""  # an empty row
    frame.to_csv(path, index=False)
    rows, general = _load(path, RETAIL_MAP)
    assert rows is not None, "a clean line-level log was refused"
    _assert_same_rows(rows, general)
    assert general.lines.returns(general.revenue).any() and (~general.filled).sum() == 1


@pytest.mark.parametrize(
    ("column", "value"), [("Quantity", "two"), ("Quantity", ""), ("UnitPrice", "1e13")]
)
def test_line_level_cells_the_fast_reader_leaves_to_the_importer(tmp_path, column, value):
    path = tmp_path / "retail.csv"
    frame = retail_log(n_invoices=50, seed=4)
    frame.loc[3, column] = value
    frame.to_csv(path, index=False)
    rows, general = _load(path, RETAIL_MAP)
    assert rows is None
    if isinstance(general, InputError):
        assert (general.row, general.column) == (5, column)


def test_a_line_level_price_written_with_its_symbol_is_read_as_the_importer_reads_it(tmp_path):
    # the unit prices' distinct cells are read by the importer's parser
    path = tmp_path / "retail.csv"
    frame = retail_log(n_invoices=50, seed=4)
    frame.loc[3, "UnitPrice"] = "$2.50"
    frame.to_csv(path, index=False)
    rows, general = _load(path, RETAIL_MAP)
    assert rows is not None
    _assert_same_rows(rows, general)
    assert general.lines.unit_price[3] == 2.5


@pytest.mark.parametrize(
    "cell",
    ["'0123", " padded@example.com", "Zoë@example.com", "tab\there", "x\u00a0", "x@y.com\u200b"],
)
def test_cells_needing_cleaning_are_refused(tmp_path, cell):
    path = _orders_csv(tmp_path / "o.csv", np.random.default_rng(5))
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[7, ["customer", "amount", "date"]] = [cell, "12.50", "2023-05-01"]
    frame.to_csv(path, index=False)
    rows, general = _load(path, MAP)
    assert rows is None
    assert not isinstance(general, InputError)  # the importer reads it


@pytest.mark.parametrize(
    ("column", "value", "read"),
    [
        ("date", "05/01/2023", False),  # beside ISO dates the importer cannot tell the order
        ("date", "13/01/2023", True),  # ... here it can: day first
        ("date", "2023-02-30", False),  # not a date: the importer names the row
        ("date", "2023-01-01 24:00", False),
        ("amount", "$1,234.50", True),  # the importer's parser reads the column's cells
        ("amount", "1.234,50", False),  # beside 52.31: two decimal marks, the importer's error
        ("amount", "(4.00)", True),
        ("amount", "EUR 12", False),  # a currency the orders would take: the importer's
        ("amount", "inf", False),
        ("amount", "", False),  # missing value in a filled row
    ],
)
def test_other_notations_are_read_as_the_importer_reads_them_or_left_to_it(
    tmp_path, column, value, read
):
    path = _orders_csv(tmp_path / "o.csv", np.random.default_rng(9), repeats=False)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[11, ["customer", "date", "amount"]] = ["z@example.com", "2023-05-01", "10"]
    frame.loc[11, column] = value
    frame.to_csv(path, index=False)
    rows, general = _load(path, MAP)
    assert (rows is not None) == read
    if read:
        _assert_same_rows(rows, general)
    elif isinstance(general, InputError):
        assert "row 13" in str(general)  # header is row 1, data row index 11 is row 13


@pytest.mark.parametrize(
    ("amounts", "refused"),
    [(["1.500", "49", "2.300"], True), (["1.500", "49", "2.35"], False)],
)
def test_a_point_that_may_separate_thousands_is_left_to_the_importer(tmp_path, amounts, refused):
    # 1.500 beside whole amounts only: 1,500 or 1.5? the importer says it cannot tell
    path = tmp_path / "o.csv"
    rows = [f"c{k}@example.com,2023-05-0{k + 1},{a}" for k, a in enumerate(amounts)]
    path.write_text("customer,date,amount\n" + "\n".join(rows) + "\n")
    loaded, general = _load(path, MAP)
    assert (loaded is None) == refused
    if refused:
        assert isinstance(general, InputError)
        assert "row 2" in str(general) and "ambiguous amount '1.500'" in str(general)
    else:
        assert loaded["revenue"].tolist() == [1.5, 49.0, 2.35]


def test_malformed_rows_are_refused(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("customer,date,amount\na@x.com,2023-01-01,1\nb@x.com,2023-01-02,2,3\n")
    rows, general = _load(path, MAP)
    assert rows is None
    with pytest.raises(InputError, match="row 3"):
        generic.read_orders(path, MAP)


_CLEAN_DATES = ["2023-01-01", "2023-01-01 08:00", "2023-03-05T23:59:59", "2024-02-29"]
_CLEAN_AMOUNTS = ["0", "12.5", "-3", "1e2", ".5", "7."]
# written otherwise: read by the importer's parser, on DuckDB's route or the importer's
_WRITTEN_DATES = [
    "13/04/2024",
    "05/03/2024 10:00",
    "20240305",
    "31/12/2023",
    "2024-03-05 10:00 UTC",
]
_WRITTEN_AMOUNTS = ["$1,234.50", "(4.00)", " 9 ", "$3", "1,234", "5-", "'10", "1.500", "2.35"]
_OTHER_AMOUNTS = ["USD 12", "€3", "1.234,50", "abc"]  # a currency, a clash, not an amount


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a@x.com", "B@X.COM", "c", "", "d@y.org"]),
            st.sampled_from(_CLEAN_DATES) | st.sampled_from(_WRITTEN_DATES),
            st.sampled_from(_CLEAN_AMOUNTS)
            | st.sampled_from(_WRITTEN_AMOUNTS)
            | st.sampled_from(_OTHER_AMOUNTS),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_generated_files_agree(tmp_path, rows):
    # a file the importer reads is read alike on DuckDB's route, which takes every such file
    # but those whose amounts name a currency or whose times are written in UTC (which the
    # importer notes); one the importer refuses, the route refuses
    path = tmp_path / "g.csv"
    pd.DataFrame(rows, columns=["customer", "date", "amount"]).to_csv(path, index=False)
    loaded, general = _load(path, MAP)
    if isinstance(general, InputError):
        assert loaded is None
        return
    in_utc = written_in_utc(date for _, date, _ in rows)
    if all(amount not in _OTHER_AMOUNTS for _, _, amount in rows) and not in_utc:
        assert loaded is not None
    if loaded is not None:
        _assert_same_rows(loaded, general)


@given(st.lists(st.integers(0, 2**64 - 1) | st.sampled_from([0, 7, 2**64 - 1]), max_size=60))
def test_repeated_values_are_those_given_more_than_once(values):
    """The repeated (customer, time) hashes: what a GROUP BY ... HAVING count(*) > 1 gives."""
    array = np.array(values, dtype=np.uint64)
    counts = pd.Series(values, dtype="uint64").value_counts()
    expected = sorted(int(value) for value, count in counts.items() if count > 1)
    assert orders_duckdb.repeated_values(array).tolist() == expected


def test_rows_sharing_a_customer_and_time_are_ranked_in_file_order():
    """Only the rows whose pair repeats get a rank; rows whose hashes collide (here every
    hash is the same) are ranked within their own customer and time."""
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    con.execute(
        "CREATE TEMP TABLE r AS SELECT pair_hash::UBIGINT AS pair_hash, customer, ordered_at, "
        "filled FROM (VALUES (1, 'a', 1, true), (1, 'b', 1, true), (1, 'a', 1, true), "
        "(1, 'a', 2, false), (1, 'a', 1, true), (9, 'c', 3, true), (1, 'b', 1, true)) "
        "t(pair_hash, customer, ordered_at, filled)"
    )
    orders_duckdb._rank_repeats(con, "r", "ranks")
    ranks = con.execute("SELECT _row, rank FROM ranks ORDER BY _row").fetchall()
    assert ranks == [(0, 1), (1, 1), (2, 2), (4, 3), (6, 2)]


def test_written_cells_keep_their_rows_on_a_connection_that_does_not_keep_order(tmp_path):
    # the values parsed per distinct cell are set row by row in the table's order: on a
    # connection free to reorder rows (the summary's direct route), each row keeps its own
    rng = np.random.default_rng(11)
    n = 300_000
    days = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, n), "D")
    path = tmp_path / "written.csv"
    pd.DataFrame(
        {
            "customer": [f"c{k}@x.com" for k in rng.integers(0, 50_000, n)],
            "date": days.strftime("%d/%m/%Y"),
            "amount": [f"${v:,.2f}" for v in rng.gamma(2.0, 400.0, n)],
        }
    ).to_csv(path, index=False)
    csv = open_csv(path)
    parsed_mapping = generic.parse_column_map(MAP)
    cols = generic.resolve_columns(csv, parsed_mapping)
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = false")
        assert orders_duckdb.load_rows(con, csv, cols, generic.AMOUNT_KEYS)
        rows = con.sql(f"SELECT customer, ordered_at, revenue FROM {orders_duckdb.ROWS_TABLE}").df()
        assert not con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    finally:
        con.close()
    table = csv.read([c for c in dict.fromkeys(cols.values()) if c is not None])
    general = generic._parse_rows(table, cols, parsed_mapping)
    expected = pd.DataFrame(
        {
            "customer": general.customer.to_pandas(),
            "ordered_at": general.ordered_at,
            "revenue": general.revenue,
        }
    )
    key = ["customer", "ordered_at", "revenue"]
    got = rows.astype({"ordered_at": "datetime64[us]"}).sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(
        got, expected.sort_values(key, ignore_index=True), check_dtype=False
    )


@pytest.mark.parametrize(
    ("amount", "date", "loads"),
    [
        ("12.50", "2023-05-01", [False]),  # read by SQL
        ("$12.50", "2023-05-01", [True]),  # the first rows tell: the written cells' load only
        ("12.50", "13/05/2023", [True]),
    ],
)
def test_a_file_whose_first_rows_are_written_otherwise_is_loaded_once(
    tmp_path, monkeypatch, amount, date, loads
):
    path = tmp_path / "o.csv"
    path.write_text(
        "customer,date,amount\n" + "".join(f"c{k}@x.com,{date},{amount}\n" for k in range(50))
    )
    made = []
    load = orders_duckdb._load_rows

    def spy(*args, written, **options):
        made.append(written)
        return load(*args, written=written, **options)

    monkeypatch.setattr(orders_duckdb, "_load_rows", spy)
    rows, general = _load(path, MAP)
    assert made == loads
    _assert_same_rows(rows, general)
