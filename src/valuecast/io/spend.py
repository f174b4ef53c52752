"""Marketing spend: one CSV of what was spent per month and acquisition channel.

The file has the columns ``month``, ``channel`` and ``spend`` (header names matched as everywhere
in :mod:`valuecast.io.csvfile`: case, spaces and underscores ignored; ``cost``, ``amount`` or
``amount spent`` are accepted for ``spend``, also with the currency in brackets, ``Amount spent
(EUR)``, as ad platforms name it). Other columns are ignored. Rules:

* ``month`` is ``YYYY-MM``; ``YYYY-MM-DD`` (optionally with a time, as spreadsheets write dates)
  is accepted and means the month of that date, so a daily export's ``date`` or ``day`` column
  is read as the month column where the file has none (a ``week`` column is an error: a week's
  spend can run into the next month).  So are the forms ad platforms and spreadsheets
  write a month in that name no day: ``2024/03``, ``03/2024``, ``Mar 2024``, ``March 2024``,
  ``2024-Mar`` (month names in the languages :func:`~valuecast.io.csvfile.english_month_names`
  reads), and a reporting range within one month (``2024-03-01 - 2024-03-31``, a monthly
  breakdown's ``Month`` column).  A range over several months is an error: its spend cannot be
  put in one month.  A daily file's spend of each day is kept beside its month's
  (:data:`SPEND_BY_DAY`): an analysis as of a day within a month counts the month's spend up
  to that day only.
* ``channel`` is the acquisition channel as written (trimmed); it is matched to the customers'
  ``acquisition_channel`` later, case-insensitively (:func:`valuecast.analysis.growth.channels.cac_table`).
  A file without a channel column is spend of the whole shop (:data:`SHOP_WIDE`), as is a row
  whose channel is ``all``, ``total``, ``all channels`` or ``whole shop`` (case aside): it
  counts in the shop's blended CAC only.  Such a row in a month that has channel rows too is
  the month's total (a spreadsheet's total line): the channels' spend is part of it, never
  added to it again, so it must be at least their sum (the rest is spend on no named channel).
  An empty channel cell is an error: a channel left out by mistake is not shop-wide spend.
* ``spend`` is an amount read with the orders' money rules (``1234.5``, ``$1,234.50``,
  ``1.234,50`` ...); it must be zero or positive. An empty spend cell is an error: a month
  without spend is left out of the file, never written as an empty cell that could be mistaken
  for zero.
* Rows of the same (month, channel) are summed (shop-wide rows of a month too). A row whose
  cells are all empty is skipped.
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
import pyarrow as pa

from valuecast.io.csvfile import (
    ANY_OF_SYMBOLS,
    currency_code,
    english_month_names,
    open_csv,
    refused_symbol,
    symbol_currencies,
)
from valuecast.io.schema import InputError

__all__ = [
    "SHOP_WIDE",
    "SPEND_BY_DAY",
    "SPEND_COLUMNS",
    "check_spend_currency",
    "is_shop_wide",
    "read_spend",
]

SPEND_COLUMNS: tuple[str, ...] = ("month", "channel", "spend")
SPEND_BY_DAY = "spend_by_day"
"""The column of a (month, channel)'s spend per day of the month, where its rows name days."""
# the channel of spend on the whole shop rather than one channel
SHOP_WIDE = "(whole shop)"
# what a spreadsheet or an ad report writes in the channel column for the whole shop's spend
_SHOP_WIDE_NAMES = frozenset({"all", "total", "all channels", "whole shop", SHOP_WIDE})

_ALIASES: dict[str, tuple[str, ...]] = {
    # a daily export's date column: each day's spend goes to its month
    "month": ("month", "date", "day"),
    "channel": ("channel",),
    "spend": ("spend", "cost", "amount", "amount spent"),
}
# ``Amount spent (EUR)``: a spend header naming its currency (Meta's export, many spreadsheets)
_NAMED_IN_BRACKETS = re.compile(r"^(?i:spend|cost|amount|amount spent)\s*\(\s*([^()]+?)\s*\)$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?)?$")
_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_NAME = "(" + "|".join(_NAMES) + r")\.?"
# a month without a day: the year and the month's number or name, in either order
_YEAR_MONTH = re.compile(r"^(\d{4})[/.](\d{1,2})$")
_MONTH_YEAR = re.compile(r"^(\d{1,2})[/.-](\d{4})$")
_NAME_YEAR = re.compile(rf"^{_NAME}[\s,/'-]*(\d{{4}})$", re.IGNORECASE)
_YEAR_NAME = re.compile(rf"^(\d{{4}})[\s,/-]*{_NAME}$", re.IGNORECASE)
# a reporting range (Meta's monthly breakdown writes ``2024-03-01 - 2024-03-31``)
_RANGE = re.compile(r"\s+(?:-|\u2013|\u2014|to)\s+")
ACCEPTED_MONTHS = "use YYYY-MM, e.g. 2024-03; 2024/03, 03/2024 and Mar 2024 are read too"


class _SeveralMonths(ValueError):
    """A reporting range over more than one month."""


def _parse_month(text: str) -> str | None:
    """``'YYYY-MM'`` for a valid month (or date, or range within one month), ``None``
    otherwise; raises :class:`_SeveralMonths` for a range over several months."""
    text = " ".join(text.split())
    found = _one_month(text)
    if found is not None:
        return found
    ends = _RANGE.split(text)
    if len(ends) != 2:
        return None
    first, last = (_one_month(end) for end in ends)
    if first is None or last is None:
        return None
    if first != last:
        raise _SeveralMonths(f"{first} to {last}")
    return first


def _one_month(text: str) -> str | None:
    """``'YYYY-MM'`` of one month written in a form of the module docstring, else None."""
    match = _MONTH.match(text)
    if match is not None:
        year, month, day = int(match[1]), int(match[2]), match[3]
        if day is not None and not _is_day(year, month, int(day)):
            return None
    elif (match := _YEAR_MONTH.match(text)) is not None:
        year, month = int(match[1]), int(match[2])
    elif (match := _MONTH_YEAR.match(text)) is not None:
        year, month = int(match[2]), int(match[1])
    else:
        return _named_month(text)
    return f"{year:04d}-{month:02d}" if 1 <= month <= 12 else None


def _named_month(text: str) -> str | None:
    """``'YYYY-MM'`` of a month written by its name and year (``März 2024``), else None."""
    if not any(character.isalpha() for character in text):
        return None
    english = english_month_names(pa.array([text]))[0].as_py()
    match = _NAME_YEAR.match(english)
    if match is not None:
        name, year = match[1], match[2]
    elif (match := _YEAR_NAME.match(english)) is not None:
        year, name = match[1], match[2]
    else:
        return None
    return f"{int(year):04d}-{_NAMES.index(name.title()) + 1:02d}"


def _is_day(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _written_day(text: str) -> int | None:
    """The day of the month a date cell names, None for a cell of a month.  The day is the one
    :func:`_one_month` read the month from (``YYYY-MM-DD``, the only form of a day)."""
    match = _MONTH.match(" ".join(text.split()))
    return int(match[3]) if match is not None and match[3] is not None else None


def _spend_by_day(frame: pd.DataFrame, days: list[int | None]) -> list[list[float] | None]:
    """Per (month, channel) of the summed frame (in its order: sorted by month, then channel),
    the spend of each day of the month (a list of its days' amounts) where every row of it
    names a day; None where a row names the month only.  A spend file runs past the as-of
    date of an analysis of an earlier export: the days after it are cut from the as-of
    month (:func:`valuecast.analysis.growth.channels.spend_to_as_of`)."""
    dated = frame.assign(day=pd.array(days, dtype="Int64"))
    out: list[list[float] | None] = []
    for (month, _channel), rows in dated.groupby(["month", "channel"], sort=True):
        if rows["day"].isna().any():
            out.append(None)
            continue
        amounts = np.zeros(pd.Period(str(month), freq="M").days_in_month)
        np.add.at(amounts, rows["day"].to_numpy(dtype=np.int64) - 1, rows["spend"].to_numpy())
        out.append(amounts.tolist())
    return out


def is_shop_wide(channel: object) -> bool:
    """Whether a spend channel names the whole shop (``all``, ``total`` ...: :data:`SHOP_WIDE`)."""
    return " ".join(str(channel).split()).casefold() in _SHOP_WIDE_NAMES


def read_spend(path: str | Path) -> pd.DataFrame:
    """Read a spend CSV (see the module docstring) into ``month, channel, spend``.

    ``month`` is ``'YYYY-MM'`` text, ``channel`` the channel as written (trimmed; the whole
    shop's spend :data:`SHOP_WIDE`), ``spend`` a float; one row per (month, channel), sorted by
    month then channel.  :data:`SPEND_BY_DAY` is the row's spend per day of its month where
    every row of the file it sums names a day (a daily export), else None.
    """
    csv = open_csv(path)
    columns: dict[str, str | None] = {}
    for name, aliases in _ALIASES.items():
        found = csv.find(*aliases)
        if found is None and name == "channel":
            columns[name] = None  # spend of the whole shop
            continue
        if found is None and name == "spend":
            found = _spend_named_with_currency(csv.header)
        if found is None and name == "month" and csv.find("week") is not None:
            raise InputError(
                csv.name,
                "spend per week cannot be put in months (a week can run into the next month): "
                "give the spend per month or per day (a month or date column)",
                row=csv.header_row,
                column=csv.find("week"),
            )
        if found is None:
            raise InputError(
                csv.name,
                f"required column is missing (the header has: {', '.join(csv.header)})",
                row=csv.header_row,
                column=name,
            )
        columns[name] = found
    header_currency = _bracketed_currency(columns["spend"])
    currency = csv.find("currency")
    read_columns = [column for column in columns.values() if column is not None]
    table = csv.read([*read_columns, *([currency] if currency else [])])
    months = table.text_series(columns["month"])
    present = table.nonempty(columns["spend"])
    blank = months.isna().to_numpy() & ~present
    if columns["channel"] is None:
        channels = pd.Series(SHOP_WIDE, index=months.index, dtype="string")
    else:
        channels = table.text_series(columns["channel"])
        blank &= channels.isna().to_numpy()
    # parsed before the other checks so a non-numeric amount is reported with its own message
    amounts = table.money(columns["spend"])

    rows: list[tuple[str, str, float]] = []
    # what each row's date cell stands for, as the repeated rows' note compares rows: the cell
    # as written where it names a day other than the 1st (a daily export's days are not copies
    # of each other), else its month (2024-01 and 2024-01-01 are one month written twice)
    written: list[str] = []
    day_of: dict[str, int | None] = {}
    days: list[int | None] = []  # each row's day of the month, None for a month's cell
    first_row: dict[str, int] = {}  # each month's first shop-wide row, for the error naming it
    # read once per distinct cell: a file writes each month once per channel, and a month
    # written by its name costs a pass of every month-name pattern
    read: dict[str, str | None] = {}
    month_cells, channel_cells = months.tolist(), channels.tolist()
    for position in range(table.num_rows):
        if blank[position]:
            continue
        raw_month = month_cells[position]
        if pd.isna(raw_month):
            raise table.error("month is empty", position, columns["month"])
        try:
            text = str(raw_month)
            month = read[text] if text in read else read.setdefault(text, _parse_month(text))
        except _SeveralMonths as error:
            raise table.error(
                f"{raw_month!r} covers several months ({error}): give the spend of each month "
                "on a row of its own",
                position,
                columns["month"],
            ) from None
        if month is None:
            raise table.error(
                f"cannot read {raw_month!r} as a month ({ACCEPTED_MONTHS})",
                position,
                columns["month"],
            )
        channel = channel_cells[position]
        if pd.isna(channel):
            raise table.error(
                "channel is empty (write all for spend of the whole shop)",
                position,
                columns["channel"],
            )
        channel = str(channel)
        if is_shop_wide(channel):
            channel = SHOP_WIDE
            first_row.setdefault(month, position)
        amount = amounts[position]
        if np.isnan(amount):
            raise table.error(
                "spend is empty (leave out a month without spend)", position, columns["spend"]
            )
        if amount < 0:
            raise table.error(
                f"spend must not be negative (got {amount:g})", position, columns["spend"]
            )
        rows.append((month, channel, float(amount)))
        day = day_of[text] if text in day_of else day_of.setdefault(text, _written_day(text))
        written.append(month if day is None or day == 1 else text.strip())
        days.append(day)
    if not rows:
        raise InputError(csv.name, "no spend rows under the header", row=csv.header_row + 1)
    frame = pd.DataFrame(rows, columns=list(SPEND_COLUMNS))
    # a daily export's days of one budget are rows of one month, channel and spend, not copies
    repeated = frame[pd.concat([frame, pd.Series(written, name="written")], axis=1).duplicated()]
    summed = frame.groupby(["month", "channel"], as_index=False, sort=True)["spend"].sum()
    summed["spend"] = summed["spend"].astype(float)
    summed = summed.reset_index(drop=True)
    # a file of months written as their 1st (2024-03-01, as spreadsheets and ad reports write
    # a month) has no days: only a day other than the 1st makes the file a daily one
    daily = any(day is not None and day != 1 for day in days)
    summed[SPEND_BY_DAY] = _spend_by_day(frame, days if daily else [None] * len(days))
    _check_totals(summed, table, first_row, columns["channel"])
    summed.attrs["currency"] = _spend_currency(
        csv.name, table, columns["spend"], currency, header_currency
    )
    # spend written in "$" names no currency, yet it is in some dollar, never in euros
    summed.attrs["written_symbol"] = (
        table.written_symbol([columns["spend"]]) if summed.attrs["currency"] is None else None
    )
    summed.attrs["file"] = csv.name
    summed.attrs["repeated_rows"] = repeated_rows_note(repeated)
    return summed


def repeated_rows_note(repeated: pd.DataFrame) -> str | None:
    """The note on rows repeating another row's date or month, channel and spend exactly
    (``repeated``: the second and later of each): their spend is added up, as two campaigns'
    rows are, which a row pasted twice doubles."""
    if repeated.empty:
        return None
    month, channel, spend = repeated.iloc[0]
    count = len(repeated)
    rows = "1 row repeats" if count == 1 else f"{count:,} rows repeat"
    them = "it" if count == 1 else "them"
    return (
        f"{rows} another row exactly ({month}, {channel}, {spend:,.2f}): rows of one month and "
        f"channel are added up, so if the file holds copies, remove {them}"
    )


def _check_totals(summed: pd.DataFrame, table, first_row: dict[str, int], column) -> None:
    """Refuse a month whose shop-wide spend (its total) is less than its channels' sum: the
    total holds the channels' spend, so a smaller one is an extra amount written as a total
    (or a total of some channels only), which no reading counts once."""
    shop = summed["channel"] == SHOP_WIDE
    if not shop.any() or shop.all():
        return
    totals = summed[shop].set_index("month")["spend"]
    named = summed[~shop].groupby("month")["spend"].sum()
    for month, total in totals.items():
        channels = float(named.get(month, 0.0))
        # compared to the cent: a total line sums rounded amounts
        if round(total - channels, 2) < 0:
            raise table.error(
                f"the whole shop's spend of {month} ({total:,.2f}) is less than its channels' "
                f"({channels:,.2f}): a row of all channels is the month's total, which holds "
                "their spend; give the total, or name the channel of this spend",
                first_row[month],
                column,
            )


def _spend_named_with_currency(header) -> str | None:
    """The spend column named with its currency in brackets (``Amount spent (EUR)``), None
    without one."""
    return next((name for name in header if _bracketed_currency(name) is not None), None)


def _bracketed_currency(name: str) -> str | None:
    """The code of the currency a spend header names in brackets (``Spend (€)`` -> EUR), else
    None; ``$``, a symbol of several currencies, names none.  A code is three capitals as
    written, so that ``Cost (net)`` names no currency."""
    match = _NAMED_IN_BRACKETS.match(" ".join(name.replace("\ufeff", "").split()))
    if match is None:
        return None
    written = match[1]
    if re.fullmatch(r"[A-Z]{3}", written):
        return written
    code = currency_code(written)
    return code if code != written.upper() and code not in ANY_OF_SYMBOLS else None


def _spend_currency(
    file: str, table, spend_column: str, column: str | None, header: str | None = None
) -> str | None:
    """The currency the spend names: the ``currency`` column's one code, else the spend
    header's (``Spend (EUR)``), else the one the amounts are written in (``€500``); None where
    it names none."""
    written = table.written_currency([spend_column])
    if column is None and header is None:
        return written
    # codes as the orders' currency column reads them (EUR, € -> EUR); a symbol of several
    # currencies ($) names none
    cells = table.text_series(column).dropna() if column is not None else []
    codes = {currency_code(str(code)) for code in cells if str(code).strip()} - set(ANY_OF_SYMBOLS)
    codes |= {header} if header else set()
    if written and written not in ANY_OF_SYMBOLS:
        codes.add(written)
    if len(codes) > 1:
        raise InputError(
            file, f"spend in more than one currency ({', '.join(sorted(codes))}): give it "
            "in the orders' currency", column=column or spend_column,
        )  # fmt: skip
    return next(iter(codes), written)


def check_spend_currency(spend: pd.DataFrame, currency: str | None) -> None:
    """Refuse spend in another currency than the orders' ``currency`` (CAC would divide one
    currency by customers valued in another); spend or orders naming none pass."""
    named = spend.attrs.get("currency")
    # the spend a workspace keeps fails every later analysis until it is replaced or left
    # out: the message names both ways
    way_out = (
        " (--spend SPEND.csv), or analyse without the kept spend (--no-spend)"
        if spend.attrs.get("kept")
        else ""
    )
    file = str(spend.attrs.get("file", "spend"))
    if named and currency and named.upper() != currency.upper():
        raise InputError(
            file,
            f"the spend is in {named}, the orders in {currency}: give the spend in "
            f"{currency}{way_out}",
        )
    symbol = spend.attrs.get("written_symbol")
    if symbol and currency and currency.upper() not in symbol_currencies(symbol):
        raise InputError(
            file,
            refused_symbol(
                symbol, f"while the orders are in {currency.upper()}",
                f"or give the spend in {currency.upper()}{way_out}",
            ),
        )  # fmt: skip
