"""One rounding rule for every CSV file: money to the cent, CLV:CAC to 4 decimals, the rest to 6."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from valuecast.cli import app
from valuecast.outputs.files import rounded_for_csv
from valuecast.tables import CUSTOMER_COLUMNS, csv_decimals, is_date_column

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


def _decimals(text: str) -> int:
    mantissa = text.lower().split("e")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def _check_file(path: Path) -> int:
    """Every number of ``path`` has at most its column's decimals; every date is a day."""
    checked = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for column, cell in row.items():
                if not cell:
                    continue
                if is_date_column(column):
                    assert ISO_DATE.fullmatch(cell), (path.name, column, cell)
                    continue
                try:
                    float(cell)
                except ValueError:
                    continue
                assert _decimals(cell) <= csv_decimals(column), (path.name, column, cell)
                checked += 1
    return checked


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Every CSV file analyze, refresh, history, compare, channels --spend and summary (from the
    workspace and from a file) write on one shop."""
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
        ["reminders", "-w", workspace, "-o", str(out / "reminders.csv")],
        ["summary", "-w", workspace, "-o", str(out / "summary.csv")],
        ["summary", str(full), "--calibration-end", "2025-12-31", "-o", str(out / "holdout.csv"),
         "--compressed", str(out / "compressed.csv")],
    ]  # fmt: skip
    for command in commands:
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)
    return sorted(out.rglob("*.csv"))


def test_every_csv_file_follows_the_rule(written):
    names = {path.name for path in written}
    assert {"customers.csv", "cohorts.csv", "cac.csv", "history.csv"} <= names
    assert {"high_value_to_at_risk.csv", "reminders.csv"} <= names
    assert {"summary.csv", "holdout.csv", "compressed.csv"} <= names
    assert sum(_check_file(path) for path in written) > 10_000
