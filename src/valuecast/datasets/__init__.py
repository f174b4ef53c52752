"""Public datasets shipped with valuecast, for examples, tests and benchmarks.

The files in ``data/`` are verbatim copies of well-known public research datasets:

* CDNOW (``CDNOW_master.txt``, ``CDNOW_sample.txt`` and the two summary files): the CDNOW cohort
  of 23,570 customers who first bought in Q1 1997, as distributed by Bruce Hardie with
  Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science 24(2).
* Donations (``donations.csv``, ``donation_1995_cohort_binary.csv``): the 1995 cohort of a
  nonprofit's supporters from Fader, Hardie & Shang (2010), "Customer-base analysis in a
  discrete-time noncontractual setting", Marketing Science 29(6).
* Retention (``sbg_survival.csv``): Table 1 of Fader & Hardie (2007), "How to project customer
  retention", Journal of Interactive Marketing 21(1).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = [
    "data_file",
    "data_path",
    "load_cdnow_summary",
    "load_cdnow_transactions",
    "load_donations",
    "load_donations_binary",
    "load_retention_tables",
]


def data_path(name: str):
    """A shipped data file as a ``Traversable`` (open it with ``.open()``)."""
    return resources.files("valuecast.datasets").joinpath("data", name)


def data_file(name: str) -> AbstractContextManager[Path]:
    """Context manager giving a real filesystem path to a shipped data file."""
    return resources.as_file(data_path(name))


def load_cdnow_summary(with_spend: bool = True) -> pd.DataFrame:
    """CDNOW 1/10 sample summarised over the 39-week calibration period, in weeks.

    Columns ``customer_id, frequency, recency, T`` and, with ``with_spend``, ``monetary_value``
    (mean value of the repeat purchases, 0 for customers without one).
    """
    if with_spend:
        with data_path("cdnow_customers_summary_with_transactions.csv").open() as handle:
            frame = pd.read_csv(handle)
        return frame.rename(
            columns={
                "ID": "customer_id",
                "x": "frequency",
                "t_x": "recency",
                "zbar": "monetary_value",
            }
        )
    with data_path("cdnow_customers_summary.csv").open() as handle:
        return pd.read_csv(handle).rename(columns={"ID": "customer_id"})


def load_cdnow_transactions(full: bool = False) -> pd.DataFrame:
    """CDNOW transactions: ``customer_id, date, quantity, amount`` (one row per purchase record).

    ``full=False`` gives the 1/10 systematic sample (2,357 customers, 6,919 rows);
    ``full=True`` the whole cohort (23,570 customers, 69,659 rows).
    """
    names = ["customer_id", "date", "quantity", "amount"]
    if full:
        with data_path("CDNOW_master.txt").open() as handle:
            frame = pd.read_csv(handle, sep=r"\s+", skiprows=1, names=names, dtype={"date": str})
    else:
        with data_path("CDNOW_sample.txt").open() as handle:
            frame = pd.read_csv(
                handle,
                sep=r"\s+",
                header=None,
                names=["master_id", *names],
                dtype={"date": str},
            )
        frame = frame.drop(columns="master_id")
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


def load_donations() -> pd.DataFrame:
    """Donations, 6 annual opportunities (1996-2001), compressed: frequency, recency, periods, weights."""
    with data_path("donations.csv").open() as handle:
        return pd.read_csv(handle)


def load_donations_binary() -> pd.DataFrame:
    """Donation incidence 1995-2006 for the 11,104 supporters of the 1995 cohort (0/1 per year)."""
    with data_path("donation_1995_cohort_binary.csv").open() as handle:
        frame = pd.read_csv(handle, header=None)
    frame.columns = ["id", *[str(year) for year in range(1995, 2007)]]
    return frame


def load_retention_tables() -> pd.DataFrame:
    """Percentage of customers surviving 0-12 years, regular and high-end segments (FH 2007, Table 1)."""
    with data_path("sbg_survival.csv").open() as handle:
        return pd.read_csv(handle)
