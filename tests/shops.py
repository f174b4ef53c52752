"""Shops that several test modules analyse, imported by bare name (see conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def two_exports(folder: Path, customers: int, seed: int) -> tuple[Path, Path]:
    """A demo shop as two Shopify exports: up to 2025-12-31 (early) and all to 2026-06-30 (full)."""
    from valuecast.datasets.demo_shop import generate_demo_shop

    generate_demo_shop(folder / "full.csv", customers=customers, seed=seed)
    full = pd.read_csv(folder / "full.csv", dtype=str, keep_default_na=False)
    full[full["Created at"] < "2026-01-01"].to_csv(folder / "early.csv", index=False)
    return folder / "early.csv", folder / "full.csv"


def ingested(folder: Path, text: str, column_map: str) -> Path:
    """A workspace ``folder/shop.duckdb`` holding the orders CSV ``text`` read with ``--map``."""
    from valuecast.io import read_exports
    from valuecast.store import Workspace

    source = folder / "orders.csv"
    source.write_text(text)
    workspace = folder / "shop.duckdb"
    with Workspace(workspace) as ws:
        ws.ingest(read_exports([source], column_map=column_map))
    return workspace


def seasonal_shop(customers: int = 3000, peak: float = 2.5, seed: int = 7) -> tuple[str, int, str]:
    """A simulated shop whose customers buy ``peak`` times as often in November and December.

    Three years of history, 2021-10-01 to the as-of date 2024-09-30; first purchases spread
    evenly over them.  Pareto/NBD customers (purchase rate ~ Gamma(1, 60 days), dropout rate ~
    Gamma(1, 500 days), on the calendar clock) whose rate is multiplied by ``peak`` in
    November-December.  Returns the orders CSV up to the as-of date (customer, date, amount), how
    many repeat purchase days the customers then place in the next three months of 365.25/12
    days (the truth ``analyze --horizon 3`` predicts), and the as-of date.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    start, as_of = np.datetime64("2021-10-01"), np.datetime64("2024-09-30")
    history = int((as_of - start) // np.timedelta64(1, "D"))
    days = np.arange(start, as_of + 400)
    months = days.astype("datetime64[M]").astype(int) % 12 + 1
    rate_multiplier = np.where(months >= 11, peak, 1.0)
    clock = np.concatenate([[0.0], np.cumsum(rate_multiplier)])  # operational time at day starts
    first = rng.integers(0, history + 1, customers)
    lam = rng.gamma(1.0, 1 / 60, customers)
    lifetime = rng.exponential(1.0 / rng.gamma(1.0, 1 / 500, customers))
    end = np.minimum(first + lifetime, len(days) - 1.0)
    # purchases: a Poisson process of rate lam in operational time, mapped back to days
    exposure = np.interp(end, np.arange(len(clock)), clock) - clock[first]
    n = rng.poisson(lam * np.maximum(exposure, 0.0))
    who = np.repeat(np.arange(customers), n)
    at = clock[first[who]] + rng.random(len(who)) * exposure[who]
    day = np.searchsorted(clock, at, side="right") - 1
    horizon_end = history + int(3 * 365.25 / 12)
    orders = pd.DataFrame({"customer": np.concatenate([np.arange(customers), who]),
                           "day": np.concatenate([first, day])}).drop_duplicates()  # fmt: skip
    orders = orders[orders["day"] >= first[orders["customer"]]]
    future = orders[(orders["day"] > history) & (orders["day"] <= horizon_end)]
    past = orders[orders["day"] <= history].sort_values(["day", "customer"])
    dates = (start + past["day"].to_numpy()).astype(str)
    amounts = rng.gamma(4.0, 12.5, len(past)).round(2)
    lines = [f"c{c},{d},{a}" for c, d, a in zip(past["customer"], dates, amounts, strict=True)]
    return "customer,date,amount\n" + "\n".join(lines) + "\n", len(future), str(as_of)
