"""Marketing spend: one CSV of what was spent per month and acquisition channel.

The file has the columns ``month``, ``channel`` and ``spend`` (header names matched as everywhere
in :mod:`valuecast.io.csvfile`: case, spaces and underscores ignored; ``cost`` or ``amount`` are
accepted for ``spend``). Other columns are ignored. Rules:

* ``month`` is ``YYYY-MM``; ``YYYY-MM-DD`` (optionally with a time, as spreadsheets write dates)
  is accepted and means the month of that date.
* ``channel`` is the acquisition channel as written (trimmed); it is matched to the customers'
  ``acquisition_channel`` later, case-insensitively (:func:`valuecast.analysis.growth.channels.cac_table`).
* ``spend`` is an amount read with the orders' money rules (``1234.5``, ``$1,234.50``,
  ``1.234,50`` ...); it must be zero or positive. An empty spend cell is an error: a month
  without spend is left out of the file, never written as an empty cell that could be mistaken
  for zero.
* Rows of the same (month, channel) are summed. A row whose cells are all empty is skipped.
* A file without a header, or a header without any data row, is an error.

Every error is an :class:`~valuecast.io.schema.InputError`: one line naming the file, the row as
a spreadsheet shows it (the header is row 1) and the column.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from valuecast.io.csvfile import ANY_OF_SYMBOLS, currency_code, open_csv
from valuecast.io.schema import InputError

__all__ = ["SPEND_COLUMNS", "check_spend_currency", "read_spend"]

SPEND_COLUMNS: tuple[str, ...] = ("month", "channel", "spend")

_ALIASES: dict[str, tuple[str, ...]] = {
    "month": ("month",),
    "channel": ("channel",),
    "spend": ("spend", "cost", "amount"),
}
_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?)?$")


def _parse_month(text: str) -> str | None:
    """``'YYYY-MM'`` for a valid month (or date), ``None`` otherwise."""
    match = _MONTH.match(text)
    if match is None:
        return None
    year, month, day = int(match[1]), int(match[2]), match[3]
    if not 1 <= month <= 12:
        return None
    if day is not None:
        try:
            date(year, month, int(day))
        except ValueError:
            return None
    return f"{year:04d}-{month:02d}"


def read_spend(path: str | Path) -> pd.DataFrame:
    """Read a spend CSV (see the module docstring) into ``month, channel, spend``.

    ``month`` is ``'YYYY-MM'`` text, ``channel`` the channel as written (trimmed), ``spend`` a
    float; one row per (month, channel), sorted by month then channel.
    """
    csv = open_csv(path)
    columns = {}
    for name, aliases in _ALIASES.items():
        found = csv.find(*aliases)
        if found is None:
            raise InputError(
                csv.name,
                f"required column is missing (the header has: {', '.join(csv.header)})",
                row=csv.header_row,
                column=name,
            )
        columns[name] = found
    currency = csv.find("currency")
    table = csv.read([*columns.values(), *([currency] if currency else [])])
    months = table.text_series(columns["month"])
    channels = table.text_series(columns["channel"])
    present = table.nonempty(columns["spend"])
    blank = months.isna().to_numpy() & channels.isna().to_numpy() & ~present
    # parsed before the other checks so a non-numeric amount is reported with its own message
    amounts = table.money(columns["spend"])

    rows: list[tuple[str, str, float]] = []
    for position in range(table.num_rows):
        if blank[position]:
            continue
        raw_month = months.iloc[position]
        if pd.isna(raw_month):
            raise table.error("month is empty", position, columns["month"])
        month = _parse_month(str(raw_month))
        if month is None:
            raise table.error(
                f"cannot read {raw_month!r} as a month (use YYYY-MM, e.g. 2024-03)",
                position,
                columns["month"],
            )
        channel = channels.iloc[position]
        if pd.isna(channel):
            raise table.error("channel is empty", position, columns["channel"])
        amount = amounts[position]
        if np.isnan(amount):
            raise table.error(
                "spend is empty (leave out a month without spend)", position, columns["spend"]
            )
        if amount < 0:
            raise table.error(
                f"spend must not be negative (got {amount:g})", position, columns["spend"]
            )
        rows.append((month, str(channel), float(amount)))
    if not rows:
        raise InputError(csv.name, "no spend rows under the header", row=csv.header_row + 1)
    frame = pd.DataFrame(rows, columns=list(SPEND_COLUMNS))
    summed = frame.groupby(["month", "channel"], as_index=False, sort=True)["spend"].sum()
    summed["spend"] = summed["spend"].astype(float)
    summed = summed.reset_index(drop=True)
    summed.attrs["currency"] = _spend_currency(csv.name, table, columns["spend"], currency)
    summed.attrs["file"] = csv.name
    return summed


def _spend_currency(file: str, table, spend_column: str, column: str | None) -> str | None:
    """The currency the spend names: the ``currency`` column's one code, else the one the
    amounts are written in (``€500``); None where it names none."""
    written = table.written_currency([spend_column])
    if column is None:
        return written
    # codes as the orders' currency column reads them (EUR, € -> EUR); a symbol of several
    # currencies ($) names none
    codes = {
        currency_code(str(code)) for code in table.text_series(column).dropna() if str(code).strip()
    } - set(ANY_OF_SYMBOLS)
    if len(codes) > 1:
        raise InputError(
            file, f"spend in more than one currency ({', '.join(sorted(codes))}): give it "
            "in the orders' currency", column=column,
        )  # fmt: skip
    return next(iter(codes), written)


def check_spend_currency(spend: pd.DataFrame, currency: str | None) -> None:
    """Refuse spend in another currency than the orders' ``currency`` (CAC would divide one
    currency by customers valued in another); spend or orders naming none pass."""
    named = spend.attrs.get("currency")
    if named and currency and named.upper() != currency.upper():
        # the spend a workspace keeps fails every later analysis until it is replaced or
        # left out: the message names both ways
        way_out = (
            " (--spend SPEND.csv), or analyse without the kept spend (--no-spend)"
            if spend.attrs.get("kept")
            else ""
        )
        raise InputError(
            str(spend.attrs.get("file", "spend")),
            f"the spend is in {named}, the orders in {currency}: give the spend in "
            f"{currency}{way_out}",
        )
