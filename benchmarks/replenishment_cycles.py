"""Which replenishment cycle puts a reminder closest to each customer's real next purchase?

Simulated one-product shops where every customer's cycle (the days an item lasts them) is known:
regular buyers (cycles spread around the shop's 30 days, gaps +-20%), irregular buyers (gaps as
spread as their mean) and heavy buyers (every 3-7 days), joining over the year (so some have one
repeat or none) and stopping after any purchase with probability 4%.  The history up to day 365
is seen; the truth is each customer's first purchase after it.  Each rule gives a customer's
days per item (the due date is the last purchase day + days per item x the items bought then);
a reminder due in the past is sent on the as-of day.

Metrics over the customers who buy again: ``mae`` |due - next purchase| in days, ``within7``
due within 7 days of it, ``timely`` sent at most 7 days before it (not after), ``late`` sent
after it; over what `valuecast reminders` listed when the rules were compared (due within 14
days, overdue by at most the cycle used): ``recall`` of the customers buying within 14 days,
``precision`` listed who do.  A second table compares, on the rule used, which overdue
reminders to list (:data:`LISTINGS`): overdue by at most the cycle, by at most the 14 days
looked ahead (and the cycle: what the command lists), or none.

The rules mirror :mod:`valuecast.analysis.growth.replenishment` in NumPy (per-rule engines
would take hours over these shops); the chosen one is "shrink n/(n+1) to medians": a
customer with n repeats is due on (n x their own median days per item + the median of the
customers' medians) / (n + 1).
``python benchmarks/replenishment_cycles.py [shops]`` (default 100 per scenario, ~2 minutes).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import pandas as pd

AS_OF = 365
AFTER = 200  # days simulated after the as-of day

Rule = Callable[[float, float, np.ndarray, np.ndarray], np.ndarray]


def simulate(rng, n=150, base=30.0, heavy=0.05, irregular=0.2, churn=0.04):
    """``customer, day, qty`` purchase days of one product, and each customer's kind."""
    rows, kinds = [], {}
    for customer in range(n):
        kind = rng.choice(
            ["heavy", "irregular", "regular"], p=[heavy, irregular, 1 - heavy - irregular]
        )
        cycle = rng.uniform(3, 7) if kind == "heavy" else base * np.exp(rng.normal(0, 0.4))
        spread = {"heavy": 0.3, "irregular": 1.0, "regular": 0.2}[kind]
        kinds[customer] = kind
        day = rng.uniform(-60, AS_OF)
        while day < AS_OF + AFTER:
            qty = 1 if kind == "heavy" else rng.choice([1, 2, 3], p=[0.75, 0.2, 0.05])
            rows.append((customer, int(np.floor(day)), qty))
            shape = 1 / spread**2
            day += max(1.0, qty * cycle * rng.gamma(shape, 1 / shape))
            if rng.random() < churn:
                break
    frame = pd.DataFrame(rows, columns=["customer", "day", "qty"])
    frame = frame[frame.day >= 0].groupby(["customer", "day"], as_index=False).qty.sum()
    return frame, kinds


RULES: dict[str, Rule] = {
    "pooled median (before)": lambda pooled, of_medians, n, own: np.full_like(own, pooled),
    "median of customer medians": lambda pooled, of_medians, n, own: np.full_like(own, of_medians),
    **{
        f"own if >= {k} repeats": (
            lambda pooled, of_medians, n, own, k=k: np.where(n >= k, own, of_medians)
        )
        for k in (1, 2, 3)
    },
    **{
        f"shrink n/(n+{k}) to medians": (
            lambda pooled, of_medians, n, own, k=k: (
                (np.nan_to_num(n) * np.where(n > 0, own, of_medians) + k * of_medians)
                / (np.nan_to_num(n) + k)
            )
        )
        for k in (1, 2)
    },
    "log-shrink n/(n+1) to medians": lambda pooled, of_medians, n, own: np.exp(
        (np.nan_to_num(n) * np.log(np.where(n > 0, own, of_medians)) + np.log(of_medians))
        / (np.nan_to_num(n) + 1)
    ),
}


def _histories(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, float, float]:
    """Each customer's last purchase (day, quantity, own median days per item and its gaps'
    count), the day of their next purchase after the as-of date (NaN for none), and the pooled
    median and the median of customers' medians of the days per item."""
    seen = frame[frame.day <= AS_OF].sort_values(["customer", "day"])
    following = frame[frame.day > AS_OF].groupby("customer").day.min()
    previous = seen.groupby("customer")[["day", "qty"]].shift()
    gaps = seen.assign(per_item=(seen.day - previous.day) / previous.qty).dropna()
    own = gaps.groupby("customer").per_item.agg(["median", "size"])
    pooled, of_medians = gaps.per_item.median(), own["median"].median()
    last = seen.groupby("customer").agg(day=("day", "max"), qty=("qty", "last")).join(own)
    following = following.reindex(last.index).to_numpy(float)
    return last, following, pooled, of_medians


def evaluate(frame: pd.DataFrame, window: int = 14) -> dict[str, dict[str, float]]:
    last, following, pooled, of_medians = _histories(frame)
    buys = ~np.isnan(following)
    soon = buys & (following <= AS_OF + window)
    out = {}
    for name, rule in RULES.items():
        per_item = rule(pooled, of_medians, last["size"].to_numpy(float), last["median"].to_numpy())
        lasts = np.maximum(1, np.floor(per_item * last.qty.to_numpy() + 0.5))
        due = last.day.to_numpy() + lasts
        ahead = following - np.maximum(due, AS_OF + 1)
        listed = (due - AS_OF >= -lasts) & (due - AS_OF <= window)
        out[name] = {
            "mae": np.abs(due - following)[buys].mean(),
            "within7": (np.abs(due - following) <= 7)[buys].mean(),
            "timely": ((ahead >= 0) & (ahead <= 7))[buys].mean(),
            "late": (ahead < 0)[buys].mean(),
            "recall": listed[soon].mean() if soon.any() else np.nan,
            "precision": soon[listed].mean() if listed.any() else np.nan,
        }
    return out


USED = "shrink n/(n+1) to medians"
LISTINGS: dict[str, Callable[[np.ndarray, np.ndarray, int], np.ndarray]] = {
    "overdue by at most the cycle": lambda until, lasts, window: until >= -lasts,
    "overdue by at most 14 days and the cycle (used)": (
        lambda until, lasts, window: until >= -np.minimum(lasts, window)
    ),
    "none overdue": lambda until, lasts, window: until >= 0,
}


def listing(frame: pd.DataFrame, window: int = 14) -> dict[str, dict[str, float]]:
    """Recall and precision of each of :data:`LISTINGS` under the rule used: the reminders
    due within ``window`` days, and overdue as the listing keeps them."""
    last, following, pooled, of_medians = _histories(frame)
    soon = ~np.isnan(following) & (following <= AS_OF + window)
    per_item = RULES[USED](
        pooled, of_medians, last["size"].to_numpy(float), last["median"].to_numpy()
    )
    lasts = np.maximum(1, np.floor(per_item * last.qty.to_numpy() + 0.5))
    until = last.day.to_numpy() + lasts - AS_OF
    out = {}
    for name, kept in LISTINGS.items():
        listed = kept(until, lasts, window) & (until <= window)
        out[name] = {
            "listed": float(listed.sum()),
            "recall": listed[soon].mean() if soon.any() else np.nan,
            "precision": soon[listed].mean() if listed.any() else np.nan,
        }
    return out


SCENARIOS = {
    "5% heavy buyers": {"heavy": 0.05},
    "no heavy buyers": {"heavy": 0.0},
    "15% heavy buyers": {"heavy": 0.15},
    "40 customers, 10% heavy": {"n": 40, "heavy": 0.10},
    "60% irregular": {"heavy": 0.05, "irregular": 0.6},
}


def _averaged(shops: int, options: dict, measure) -> pd.DataFrame:
    """Each row of ``measure``'s metrics (a frame of a simulated shop to {row: {metric: value}})
    averaged over ``shops`` shops simulated with ``options``."""
    results: dict[str, dict[str, list[float]]] = {}
    for seed in range(shops):
        frame, _ = simulate(np.random.default_rng(seed), **options)
        for name, metrics in measure(frame).items():
            for key, value in metrics.items():
                results.setdefault(name, {}).setdefault(key, []).append(value)
    return pd.DataFrame(
        {name: {k: np.nanmean(v) for k, v in m.items()} for name, m in results.items()}
    ).T


def main(shops: int = 100) -> None:
    for title, options in SCENARIOS.items():
        table = _averaged(shops, options, evaluate)
        print(f"\n{title} ({shops} shops)\n{table.round(3).to_string()}")
        table = _averaged(shops, options, listing)
        print(f"which overdue reminders to list, {USED}:\n{table.round(3).to_string()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
