"""The --calendar reader: weeks (Monday dates or ISO weeks) or months, numeric columns."""

from __future__ import annotations

from datetime import date

import pytest

from valuecast.io.calendar import read_calendar
from valuecast.io.schema import InputError


def _write(tmp_path, text):
    path = tmp_path / "calendar.csv"
    path.write_text(text)
    return path


def test_weeks_as_mondays_or_iso_weeks_sorted(tmp_path):
    calendar = read_calendar(
        _write(
            tmp_path, "Week,promo,high_season\n2024-01-15,0.5,0\n2024-W01,1,0\n\n2024-01-08,0,1\n"
        )
    )
    assert calendar.unit == "week"
    assert calendar.starts == (date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15))
    assert calendar.values["promo"].tolist() == [1.0, 0.0, 0.5]
    assert calendar.period_end(date(2024, 1, 15)) == date(2024, 1, 22)


def test_months(tmp_path):
    calendar = read_calendar(_write(tmp_path, "month,promo\n2024-12,1\n2024-11,0\n"))
    assert calendar.unit == "month" and calendar.starts == (date(2024, 11, 1), date(2024, 12, 1))
    assert calendar.period_end(date(2024, 12, 1)) == date(2025, 1, 1)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("day,promo\n2024-01-01,1\n", "row 1, column 'day'"),
        ("week\n2024-01-01\n", "row 1"),
        ("week,promo\n2024-01-02,1\n", "row 2, column 'week'"),  # a Tuesday
        ("month,promo\n2024-01,1\n2024-13,0\n", "row 3, column 'month'"),
        ("month,promo\n2024-01,1\n2024-01,0\n", "row 3, column 'month'"),
        ("month,promo\n2024-01,\n", "row 2, column 'promo'"),
        ("month,promo\n2024-01,lots\n", "row 2, column 'promo'"),
        # one name twice: one covariate read twice broke the fit's design far downstream
        ("month,promo,Promo\n2024-01,1,0\n", "row 1, column 'promo': columns 2 and 3 share"),
    ],
)
def test_errors_name_file_row_and_column(tmp_path, text, where):
    with pytest.raises(InputError) as raised:
        read_calendar(_write(tmp_path, text))
    message = str(raised.value)
    assert "calendar.csv" in message and where in message and "\n" not in message
