"""A user calendar: numeric covariates per week or per month (``analyze --calendar``).

The first column is ``week`` or ``month``; every other column is a numeric covariate (``promo``,
``high_season``, ...) that may change a customer's purchase rate in that period. Rules:

* ``week`` is the ISO date of the week's Monday (``2024-01-01``) or the ISO week ``2024-W01``;
  ``month`` is ``YYYY-MM``.
* Values are numbers (the orders' amount rules: ``1``, ``0.5``, ``1,5``); an empty cell is an
  error (a calendar says what each period holds; write 0).
* Periods are unique; rows may come in any order and are sorted. A row whose cells are all empty
  is skipped. At least one data row and one covariate column are needed.

Every error is an :class:`~valuecast.io.schema.InputError`: one line naming the file, the row as
a spreadsheet shows it (the header is row 1) and the column.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from valuecast.io.csvfile import normalise_name, open_csv
from valuecast.io.schema import InputError

__all__ = ["Calendar", "read_calendar"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RECORDED = re.compile(
    r"^Calendar\((?P<unit>\w+), (?P<starts>\[.*?\]), (?P<columns>\{.*\})\)$", re.S
)
"""A calendar as :meth:`Calendar.__str__` writes it."""
_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$", re.IGNORECASE)


@dataclass(frozen=True)
class Calendar:
    """``unit`` (``"week"`` or ``"month"``), the sorted period ``starts`` and their ``values``
    (one float column per covariate, one row per period), read from ``source``."""

    unit: str
    starts: tuple[date, ...]
    values: pd.DataFrame
    source: str

    def __str__(self) -> str:
        # the whole content (a snapshot's options key is its text; a frame's repr is truncated)
        columns = {name: self.values[name].tolist() for name in self.values.columns}
        return f"Calendar({self.unit}, {[d.isoformat() for d in self.starts]}, {columns})"

    @classmethod
    def from_text(cls, text: str, source: str = "the last analysis' calendar") -> Calendar | None:
        """The calendar whose :meth:`__str__` is ``text`` (a snapshot's record of the options it
        ran with), or None where ``text`` is no such record."""
        match = _RECORDED.match(text)
        if match is None:
            return None
        try:
            starts = tuple(date.fromisoformat(day) for day in ast.literal_eval(match["starts"]))
            columns = ast.literal_eval(match["columns"])
            values = pd.DataFrame({str(name): [float(v) for v in column]
                                   for name, column in columns.items()})  # fmt: skip
        except (ValueError, SyntaxError, TypeError, AttributeError):
            return None
        if match["unit"] not in _UNITS or not starts or len(values) != len(starts):
            return None
        return cls(match["unit"], starts, values, source)

    def period_end(self, start: date) -> date:
        """The first day after the period starting at ``start``."""
        if self.unit == "week":
            return start + timedelta(days=7)
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def _parse_week(text: str) -> date | None:
    match = _ISO_WEEK.match(text)
    try:
        if match is not None:
            return date.fromisocalendar(int(match[1]), int(match[2]), 1)
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if day.weekday() == 0 else None


def _parse_month(text: str) -> date | None:
    match = _MONTH.match(text)
    if match is None or not 1 <= int(match[2]) <= 12:
        return None
    return date(int(match[1]), int(match[2]), 1)


_UNITS = {
    "week": (_parse_week, "a week (the ISO date of its Monday, 2024-01-01, or 2024-W01)"),
    "month": (_parse_month, "a month (YYYY-MM, e.g. 2024-03)"),
}


def read_calendar(path: str | Path) -> Calendar:
    """Read a calendar CSV (module docstring)."""
    csv = open_csv(path)
    unit = normalise_name(csv.header[0]) if csv.header else ""
    if unit not in _UNITS:
        raise InputError(
            csv.name, "the first column must be 'week' or 'month'", row=csv.header_row,
            column=csv.header[0] if csv.header else None,
        )  # fmt: skip
    covariates = csv.header[1:]
    if not covariates:
        raise InputError(
            csv.name, "no covariate column after the period column", row=csv.header_row
        )
    for name in csv.header:  # two columns of one name would be one covariate read twice
        csv.find(name)
    table = csv.read(csv.header)
    periods = table.text_series(csv.header[0])
    numbers = {name: table.number(name) for name in covariates}
    filled = ~periods.isna().to_numpy()
    for name in covariates:
        filled |= table.nonempty(name)
    parse, expected = _UNITS[unit]
    starts: list[date] = []
    rows: list[list[float]] = []
    seen: dict[date, int] = {}
    for position in np.flatnonzero(filled):
        raw = periods.iloc[position]
        start = None if pd.isna(raw) else parse(str(raw).strip())
        if start is None:
            shown = "empty" if pd.isna(raw) else repr(raw)
            raise table.error(f"cannot read {shown} as {expected}", position, csv.header[0])
        if start in seen:
            raise table.error(
                f"{raw} appears twice (also row {table.row(seen[start])})", position, csv.header[0]
            )
        seen[start] = position
        values = [float(numbers[name][position]) for name in covariates]
        for name, value in zip(covariates, values, strict=True):
            if np.isnan(value):
                raise table.error(f"{name} is empty (write 0 for none)", position, name)
        starts.append(start)
        rows.append(values)
    if not rows:
        raise InputError(csv.name, "no calendar rows under the header", row=csv.header_row + 1)
    order = np.argsort(np.array(starts, dtype="datetime64[D]"), kind="stable")
    frame = pd.DataFrame(np.array(rows)[order], columns=[str(c) for c in covariates])
    return Calendar(unit, tuple(starts[i] for i in order), frame, csv.name)
