"""Dates as the whole package reads them: a date from a date, a datetime or a YYYY-MM-DD text."""

from __future__ import annotations

from datetime import date, datetime


def as_date(
    value: date | datetime | str | None,
    name: str,
    *,
    error: type[Exception] = ValueError,
    leading: bool = False,
    optional: bool = True,
) -> date | None:
    """``value`` as a date; text must be ISO ``YYYY-MM-DD``.

    ``leading`` reads only the text's first ten characters (a timestamp's date); ``optional``
    lets None through as None.  A value that is no date raises ``error`` naming ``name``.
    """
    if value is None and optional:
        return None
    if isinstance(value, datetime):  # pd.Timestamp is a datetime
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10] if leading else text)
    except ValueError as failure:
        raise error(f"{name}: {value!r} is not a date (use YYYY-MM-DD)") from failure


def to_date(value) -> date:
    """Any date-like value (a date, a timestamp, numpy's datetime64, ISO text) as a date."""
    import pandas as pd

    return pd.Timestamp(value).date()


def iso(value) -> str | None:
    """``value``'s date as ``YYYY-MM-DD``; None stays None."""
    return None if value is None else to_date(value).isoformat()


def months_text(months) -> str:
    """A horizon as words: ``1 month``, ``12 months``."""
    return f"{months} month" if months == 1 else f"{months} months"


def days_text(days: float) -> str:
    """A number of days as words, rounded to a whole day: ``1 day``, ``0 days``, ``1,096 days``."""
    whole = round(days)
    return f"{whole:,} day" if whole == 1 else f"{whole:,} days"
