"""One rounding rule for every CSV file: money to the cent, CLV:CAC to 4 decimals, the rest to 6;
each number written with exactly its column's places, booleans true/false, dates as days."""

from __future__ import annotations

import csv
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from valuecast.cli import app
from valuecast.outputs.audiences.names import FORMATS
from valuecast.outputs.audiences.platforms import DECIMALS
from valuecast.outputs.files import csv_text, rounded_for_csv
from valuecast.tables import (
    CUSTOMER_COLUMNS,
    csv_decimals,
    is_date_column,
    round_half_up,
    round_half_up_expr,
)

runner = CliRunner()
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.mark.parametrize(
    ("column", "decimals"),
    [
        ("historic_clv", 2),
        ("predicted_clv_p90", 2),
        ("total_clv_median", 2),
        ("average_order_value", 2),
        ("predicted_average_order_value", 2),
        ("ltv_m12", 2),
        ("cumulative_revenue_per_customer", 2),
        ("spend", 2),
        ("cac", 2),
        ("roi_per_customer", 2),
        ("payback_month", 2),
        ("clv_to_cac", 4),
        ("probability_alive", 6),
        ("predicted_number_of_orders", 6),
        ("repeat_rate", 6),
        ("lift", 6),
        ("predicted_clv_before", 2),  # compare's columns: money stays money
        ("historic_clv_after", 2),
        ("churn_probability_after", 6),
    ],
)
def test_each_column_kind_has_its_decimals(column, decimals):
    assert csv_decimals(column) == decimals


def test_the_customers_table_dates_are_its_date_columns():
    dates = [c for c in CUSTOMER_COLUMNS if is_date_column(c)]
    assert dates == ["first_order_date", "last_order_date", "expected_date_of_next_order"]


def test_a_frame_is_rounded_by_column_and_its_dates_written_as_days():
    frame = pd.DataFrame(
        {
            "predicted_clv": [10.126, np.nan],
            "clv_to_cac": [3.123456, 1.0],
            "probability_alive": [0.12345678, 0.5],
            "orders": [3, 4],
            "due_date": pd.to_datetime(["2024-05-01", None]),
            "note": ["3.14159", None],
        }
    )
    out = rounded_for_csv(frame)
    assert out["predicted_clv"].iloc[0] == 10.13 and np.isnan(out["predicted_clv"].iloc[1])
    assert out["clv_to_cac"].tolist() == [3.1235, 1.0]
    assert out["probability_alive"].tolist() == [0.123457, 0.5]
    assert out["orders"].tolist() == [3, 4]
    assert out["due_date"].iloc[0] == "2024-05-01" and pd.isna(out["due_date"].iloc[1])
    assert out["note"].iloc[0] == "3.14159"  # text is never rounded
    assert frame["predicted_clv"].iloc[0] == 10.126  # the caller's frame is left alone


PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")
BOOLEANS = {"true", "false"}


def _columns(path: Path) -> dict[str, list[str]]:
    """Each column of ``path`` and its non-empty cells."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return {name: [row[i] for row in rows[1:] if row[i]] for i, name in enumerate(rows[0])}


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _check_file(path: Path, decimals: dict[str, int] | None = None) -> int:
    """Every cell of ``path`` written as its column's kind is: a float column's numbers each with
    exactly the column's places (``decimals``' where it names the column, else
    ``csv_decimals``'), an integer column's integers, booleans ``true``/``false``, dates as
    days; no ``nan``, ``inf`` or exponent.  Returns how many number cells it checked."""
    checked = 0
    for column, cells in _columns(path).items():
        if not cells:
            continue
        if is_date_column(column):
            assert all(ISO_DATE.fullmatch(cell) for cell in cells), (path.name, column, cells[:3])
        elif {cell.lower() for cell in cells} <= BOOLEANS:
            assert set(cells) <= BOOLEANS, (path.name, column, set(cells))
        elif all(_is_number(cell) for cell in cells):
            odd = [cell for cell in cells if not PLAIN_NUMBER.fullmatch(cell)]
            assert not odd, (path.name, column, odd[:3])
            if any("." in cell for cell in cells):  # a float column: every cell its places
                places = (decimals or {}).get(column, csv_decimals(column))
                fixed = re.compile(rf"-?\d+\.\d{{{places}}}")
                wrong = [cell for cell in cells if not fixed.fullmatch(cell)]
                assert not wrong, (path.name, column, places, wrong[:3])
            checked += len(cells)
    return checked


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Every CSV file analyze, refresh, history, compare, channels --spend, cohorts, affinity,
    reminders, summary (from the workspace and from a file), fit --predict and export (to each
    platform) write on one shop."""
    from shops import two_exports

    folder = tmp_path_factory.mktemp("policy")
    early, full = two_exports(folder, customers=400, seed=5)
    workspace = str(folder / "w.duckdb")
    spend = folder / "spend.csv"
    spend.write_text("Month,Channel,Spend\n2025-03,google,1234.567\n2025-04,email,99.99\n")
    out = folder / "out"
    commands = [
        ["analyze", str(early), "-w", workspace, "-o", str(out / "q4")],
        ["refresh", str(full), "-w", workspace, "-o", str(out / "q2")],
        ["history", "-w", workspace, "-o", str(out / "history.csv")],
        ["compare", "-w", workspace, "-o", str(out / "compare")],
        ["channels", "-w", workspace, "--spend", str(spend), "-o", str(out / "channels")],
        ["cohorts", "-w", workspace, "-o", str(out / "cohorts")],
        ["affinity", "-w", workspace, "-o", str(out / "affinity")],
        ["reminders", "-w", workspace, "-o", str(out / "reminders.csv")],
        ["summary", "-w", workspace, "-o", str(out / "summary.csv")],
        ["summary", str(full), "--calibration-end", "2025-12-31", "-o", str(out / "holdout.csv"),
         "--compressed", str(out / "compressed.csv")],
        ["fit", str(out / "summary.csv"), "--predict", "12", "--out", str(out / "predictions.csv")],
    ]  # fmt: skip
    commands += [
        ["export", "--segment", "tier-high", "--to", to, "-w", workspace,
         "--include-non-consenting", "-o", str(out / "audiences" / f"{to}.csv")]
        for to in FORMATS
    ]  # fmt: skip
    (out / "audiences").mkdir(parents=True)
    for command in commands:
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)
    return sorted(out.rglob("*.csv"))


def test_every_csv_file_follows_the_rule(written):
    names = {path.name for path in written}
    assert {"customers.csv", "cohorts.csv", "retention.csv", "cac.csv", "history.csv"} <= names
    assert {"affinity.csv", "next_products.csv", "days_between_orders.csv"} <= names
    assert {"high_value_to_at_risk.csv", "reminders.csv", "predictions.csv"} <= names
    assert {"summary.csv", "holdout.csv", "compressed.csv"} <= names
    assert {f"{to}.csv" for to in FORMATS} <= names
    checked = sum(
        _check_file(path, DECIMALS if path.parent.name == "audiences" else None) for path in written
    )
    assert checked > 10_000


def test_a_whole_amount_keeps_its_places_and_a_boolean_is_lower_case(written):
    """The cells a BI tool types a column by: a whole amount as 69.00 beside 31.33 (the
    shortest text, 69, made the column an integer's), booleans true/false in every file."""
    customers = _columns(next(path for path in written if path.name == "customers.csv"))
    assert any(cell.endswith(".00") for cell in customers["historic_clv"])
    assert set(customers["accepts_marketing"]) <= BOOLEANS
    for name, column in (("affinity.csv", "beyond_chance"), ("retention.csv", "partial_month")):
        cells = _columns(next(path for path in written if path.name == name))[column]
        assert cells and set(cells) <= BOOLEANS, (name, column, set(cells))


def test_customers_csv_writes_each_float_column_with_its_places(written):
    """customers.parquet's float columns are the CSV's float columns, whole values or not: a
    column whose every value is whole (P(alive) 1 of one-time buyers) is still written 1.000000."""
    import pyarrow.parquet as pq

    for path in (path for path in written if path.name == "customers.csv"):
        schema = pq.read_schema(path.with_name("customers.parquet"))
        columns = _columns(path)
        for field in schema:
            places = csv_decimals(field.name)
            fixed = re.compile(rf"-?\d+\.\d{{{places}}}")
            cells = columns[field.name]
            if str(field.type) in ("double", "float"):
                assert all(fixed.fullmatch(cell) for cell in cells), (field.name, cells[:3])
            elif str(field.type).startswith(("int", "uint")):
                assert all(re.fullmatch(r"-?\d+", cell) for cell in cells), (field.name, cells[:3])


def test_duckdb_reads_whole_first_amounts_and_a_later_half_as_money(written, tmp_path):
    """DuckDB's read_csv types a column from a sample of its first 20,480 rows: a shop whose
    first 25,000 customers spent whole amounts (45, 98) has its float columns read as numbers
    with decimals all the same, and a later customer's 56.5 read as 56.5 (an integer column
    would refuse it, or round it to 57)."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from valuecast.outputs.files import write_arrow_csv

    analysed = pq.read_table(next(p for p in written if p.name == "customers.csv").with_name(
        "customers.parquet"
    ))  # fmt: skip
    rows = analysed.take(np.arange(25_001) % analysed.num_rows)
    floats = [field.name for field in rows.schema if pa.types.is_floating(field.type)]
    money = [name for name in floats if csv_decimals(name) == 2]
    assert {"historic_clv", "average_order_value", "predicted_clv"} <= set(money)
    for name in floats:
        values = np.nan_to_num(rows[name].to_numpy(zero_copy_only=False), nan=1.0)
        values = np.round(values)  # whole amounts, P(alive) 0 or 1
        values[-1] = 56.5 if name in money else 0.5
        rows = rows.set_column(rows.schema.get_field_index(name), name, pa.array(values))
    path = tmp_path / "customers.csv"
    write_arrow_csv(rows, path)
    read = duckdb.sql(f"SELECT * FROM read_csv('{path}')")
    types = dict(zip(read.columns, (str(kind) for kind in read.types), strict=True))
    for name in floats:
        assert types[name] == "DOUBLE" or types[name].startswith("DECIMAL"), (name, types[name])
    last = duckdb.sql(f"SELECT {', '.join(money)} FROM read_csv('{path}')").fetchall()[-1]
    assert list(last) == [56.5] * len(money)


def test_a_number_no_decimal_holds_is_written_in_full(tmp_path):
    """A value beyond a 38-digit decimal (a degenerate fit's 1e40) and an infinity keep their
    text in fixed point, each cell of the column with its places; NaN is an empty cell, in
    the engine's files too."""
    import ibis
    import pyarrow as pa

    from valuecast.outputs.files import write_arrow_csv, write_ibis_csv

    # a negative number is no formula on every writer, also where the column became text
    frame = pd.DataFrame(
        {"predicted_clv": [1e40, np.inf, np.nan, 1.5, -np.inf], "n": [1, 2, 3, 4, 5]}
    )
    expected = ["predicted_clv,n", f"{1e40:.2f},1", "inf,2", ",3", "1.50,4", "-inf,5"]
    assert csv_text(frame).splitlines() == expected
    write_arrow_csv(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "arrow.csv")
    assert (tmp_path / "arrow.csv").read_text().replace('"', "").splitlines() == expected
    table = ibis.memtable(pd.DataFrame({"predicted_clv": [np.nan, 1.5, -2.0], "n": [3, 4, 5]}))
    write_ibis_csv(ibis.duckdb.connect(), table, tmp_path / "engine.csv")
    assert (tmp_path / "engine.csv").read_text().splitlines() == [
        "predicted_clv,n", ",3", "1.50,4", "-2.00,5",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "decimals", "rounded"),
    [
        (666.14 / 4, 2, 166.54),  # 166.534999... as a double: the half a merchant wrote
        (2.675, 2, 2.68),  # 2.67499999999999982
        (132.93 / 2, 2, 66.47),  # 66.46500000000000341
        (571.785, 2, 571.79),  # 571.78499999999996817
        (0.125, 2, 0.13),  # an exact half: away from zero, not to the even cent
        (-0.125, 2, -0.13),
        (1.005, 2, 1.01),
        (0.0049, 2, 0.0),
        (3.1234565, 6, 3.123457),
        (2.5, 0, 3.0),
        (-2.5, 0, -3.0),
        (1e13, 2, 1e13),  # a large amount gains nothing from the noise allowed below a half
        (123456789012.34, 2, 123456789012.34),
        (9876543210.1249, 2, 9876543210.12),
        (5008174605.485, 2, 5008174605.49),  # the product's error above 2**-20 of a cent
        (1e15 + 0.5, 0, 1e15 + 1),
    ],
)
def test_a_half_rounds_away_from_zero_as_written(value, decimals, rounded):
    assert round_half_up(value, decimals) == rounded


def test_rounding_takes_the_sign_off_a_zero_and_keeps_missing_values():
    out = round_half_up(np.array([-0.001, -0.0, np.nan, np.inf]), 2)
    assert str(out[0]) == "0.0" and str(out[1]) == "0.0"
    assert np.isnan(out[2]) and out[3] == np.inf


@given(
    st.lists(st.integers(-(10**13), 10**13), min_size=1, max_size=50),
    st.sampled_from([0, 2, 4, 6]),
)
@settings(max_examples=150, deadline=None)
def test_an_amount_written_to_one_more_place_rounds_as_its_decimal(units, decimals):
    """k / 10**(d+1), the double of an amount written with one decimal more than kept, rounds
    as the decimal number does, halves away from zero."""
    scale = 10 ** (decimals + 1)
    values = np.array([k / scale for k in units])
    expected = [
        float(Decimal(k).scaleb(-(decimals + 1)).quantize(Decimal(1).scaleb(-decimals),
                                                            rounding=ROUND_HALF_UP))
        for k in units
    ]  # fmt: skip
    assert round_half_up(values, decimals).tolist() == expected


@given(
    st.lists(
        st.decimals(
            min_value=-(10**10), max_value=10**10, places=4, allow_nan=False, allow_infinity=False
        ),
        min_size=1,
        max_size=40,
    )
)
@settings(max_examples=150, deadline=None)
def test_an_amount_written_to_four_places_rounds_to_the_cent_as_written(amounts):
    """Any amount up to ten billion written with four decimals rounds to the cent as the
    decimal number does, halves away from zero (large ones too: the noise allowed below a half
    never reaches a cent)."""
    expected = [float(a.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)) for a in amounts]
    assert round_half_up(np.array([float(a) for a in amounts]), 2).tolist() == expected


@given(
    st.lists(
        st.floats(min_value=-1e13, max_value=1e13, allow_nan=False)
        | st.integers(-(10**9), 10**9).map(lambda k: k / 1000),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from([0, 2, 4, 6]),
)
@settings(max_examples=100, deadline=None)
def test_the_engine_rounds_to_the_same_doubles(values, decimals):
    """The engine's CSV files (summary --out, the SQL route) and NumPy's (customers.csv, the
    report, the audience files) give one double for one amount."""
    import ibis
    import pyarrow as pa

    table = ibis.memtable(pa.table({"x": pa.array(values, pa.float64())}))
    expression = table.select(r=round_half_up_expr(table.x, decimals))
    engine = ibis.duckdb.connect().to_pyarrow(expression)["r"].to_pylist()
    assert engine == round_half_up(np.array(values), decimals).tolist()


def test_the_summary_file_and_customers_csv_show_the_same_cents(tmp_path):
    """A customer's average order value at a half cent (132.93 over 2 orders, 666.14 over 4)
    is one amount in customers.csv (NumPy's rounding) and in `summary --out` (the engine's)."""
    orders = tmp_path / "orders.csv"
    rows = [("a", "2024-01-05", 100.00), ("a", "2024-03-01", 32.93)]
    rows += [("b", f"2024-0{m}-10", v) for m, v in ((1, 100.0), (2, 200.0), (3, 300.0), (4, 66.14))]
    rows += [(f"c{i}", f"2024-0{1 + i % 6}-1{i % 9}", 10.125 + i) for i in range(40)]
    orders.write_text("customer_id,date,revenue\n" + "".join(f"{c},{d},{v}\n" for c, d, v in rows))
    workspace, out = str(tmp_path / "w.duckdb"), tmp_path / "out"
    for command in (
        ["analyze", str(orders), "-w", workspace, "-o", str(out), "--as-of", "2024-07-01"],
        ["summary", "-w", workspace, "-o", str(tmp_path / "summary.csv")],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
    customers = pd.read_csv(out / "customers.csv", dtype={"customer_id": str})
    summary = pd.read_csv(tmp_path / "summary.csv", dtype={"customer_id": str})
    aov = customers.set_index("customer_id")["average_order_value"]
    assert aov["a"] == 66.47 and aov["b"] == 166.54
    both = summary.set_index("customer_id")["average_order_value"]
    assert both.reindex(aov.index).tolist() == aov.tolist()
