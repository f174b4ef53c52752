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


# a shop whose acquisition channels differ in purchase rate and dropout (Pareto/NBD per channel,
# days): channel -> (customers, first acquisition day, r, alpha, s, beta).  "search" is the best
# channel for a customer acquired today but opened only in the last year, so its customers'
# short histories give it a lower historic CLV per customer than "catalog".
CHANNEL_SHOP = {
    "catalog": (1500, 0, 2.0, 100.0, 1.5, 400.0),
    "social": (1500, 0, 2.0, 200.0, 1.5, 100.0),
    "search": (2000, 760, 2.0, 62.5, 1.5, 600.0),
}
CHANNEL_SHOP_START, CHANNEL_SHOP_DAYS, CHANNEL_SHOP_ORDER_VALUE = "2023-07-01", 1095, 50.0


def channel_shop(path: Path, seed: int = 1) -> Path:
    """The orders CSV (customer, date, amount, channel) of :data:`CHANNEL_SHOP`.

    Each customer is acquired uniformly in the channel's window, buys at a Gamma(r, alpha) rate
    until an exponential lifetime with a Gamma(s, beta) rate ends; order values are Gamma with
    mean :data:`CHANNEL_SHOP_ORDER_VALUE` in every channel.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    start = pd.Timestamp(CHANNEL_SHOP_START)
    frames = []
    for name, (n, first, r, alpha, s, beta) in CHANNEL_SHOP.items():
        acquired = rng.uniform(first, CHANNEL_SHOP_DAYS - 1, n)
        rate, dropout = rng.gamma(r, 1 / alpha, n), rng.gamma(s, 1 / beta, n)
        end = np.minimum(acquired + rng.exponential(1 / dropout), CHANNEL_SHOP_DAYS)
        # the first order, then up to 400 more (far beyond what a lifetime in the window allows)
        gaps = rng.exponential(1.0, (n, 400)) / rate[:, None]
        times = acquired[:, None] + np.concatenate([np.zeros((n, 1)), gaps.cumsum(1)], axis=1)
        who, which = np.nonzero(times <= end[:, None])
        days = times[who, which].astype(int)
        frames.append(
            pd.DataFrame(
                {
                    "customer": pd.Series([f"{name}{i:05d}" for i in range(n)]).to_numpy()[who],
                    "date": (start + pd.to_timedelta(days, "D")).strftime("%Y-%m-%d"),
                    "amount": rng.gamma(4.0, CHANNEL_SHOP_ORDER_VALUE / 4.0, len(who)).round(2),
                    "channel": name,
                }
            )
        )
    pd.concat(frames).to_csv(path, index=False)
    return path


def channel_shop_truth(horizon: int, annual_discount_rate: float) -> dict[str, float]:
    """Each channel's CLV of a customer acquired today (margin 1), from the true parameters.

    Pareto/NBD's expected purchases of a new customer in (0, t] (Schmittlein, Morrison & Colombo
    1987): ``r beta / (alpha (s - 1)) * (1 - (beta / (beta + t))^(s - 1))``; each month's
    increment discounted as valuecast discounts, plus the first order, at the mean order value.
    """
    import numpy as np

    from valuecast.models.clv import DAYS_PER_MONTH, period_discount_rate

    rate = period_discount_rate(annual_discount_rate, DAYS_PER_MONTH)
    ends = DAYS_PER_MONTH * np.arange(horizon + 1)
    months = np.arange(1, horizon + 1)
    truth = {}
    for name, (_, _, r, alpha, s, beta) in CHANNEL_SHOP.items():
        expected = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + ends)) ** (s - 1))
        discounted = 1.0 + float(np.sum(np.diff(expected) * (1 + rate) ** -months))
        truth[name] = CHANNEL_SHOP_ORDER_VALUE * discounted
    return truth


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
