"""How the CSV files of the growth commands round and format their columns.

The CSV files are for people and spreadsheets: money to the cent, rates to a few decimals and
dates as YYYY-MM-DD.  ``analyze`` writes the same tables as ``channels``, ``cohorts`` and
``reminders``, so each rule lives here once.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["channels_for_csv", "cohorts_for_csv", "iso_dates"]


def channels_for_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """Money to the cent, CLV:CAC to 4 decimals (channels.csv and cac.csv)."""
    out = frame.copy()
    for name in out.columns:
        if name == "clv_to_cac":
            out[name] = out[name].round(4)
        elif pd.api.types.is_float_dtype(out[name]):
            out[name] = out[name].round(2)
    return out


def cohorts_for_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """Money to the cent and rates to 6 decimals (cohorts, retention, days between orders)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype.kind != "f":
            continue
        money = column.startswith("ltv_m") or column.endswith("revenue_per_customer")
        out[column] = out[column].round(2 if money else 6)
    return out


def iso_dates(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """``columns`` of ``frame`` as YYYY-MM-DD text (reminders.csv)."""
    out = frame.copy()
    for column in columns:
        out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%d")
    return out
