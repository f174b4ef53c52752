"""The range of the sales to come: what the shop's customers will spend, not what they are
expected to spend.

The interval of predicted CLV (:mod:`valuecast.analysis.uncertainty`) holds the *expected* value:
its width is the fit's uncertainty about the parameters only.  The sales that come differ from
their expectation as well, by which customers happen to buy, how often and for how much (the
process noise).  On a small shop that noise is as large as the parameters' uncertainty, and the
80% interval of the expected value held the next 12 months' sales in only 58-66% of simulated
shops of 50-300 customers (BENCHMARKS.md, *Coverage of the sales that came*).

The range holds both, as the law of total variance adds them: draws of the expected total from
the interval of the expected value (``total * exp(sd Z)``, ``sd`` its own spread, so the two
agree on the parameters' share), each times a draw of the shop's sales relative to their
expectation, simulated from each customer's future given their history at the point estimate
(the transaction model's ``simulate_future_orders`` and Gamma-Gamma's ``simulate_future_values``,
with the point estimate's monthly discounting and margin).  The range is the central ``level`` of
those draws: never below 0, and a shop whose largest customer may not order keeps the sales of
the others at its low end.

Up to :data:`EXACT_MAX_CUSTOMERS` customers every customer's future is drawn (a small shop's
total is skewed: a few customers make much of it); above, the total is a sum of many independent
customers and its deviation is normal, with the variance summed over the groups of customers
alike (or a sample of them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtri

SEED = 0
"""The simulation's seed: the same data give the same range."""

DRAWS = 2_000
"""Simulated shops for a small shop's range: its 10% and 90% quantiles are then known to about
1.5% of the range's width."""

MIN_DRAWS = 200
"""The fewest simulated shops (the larger shops under :data:`EXACT_MAX_CUSTOMERS`)."""

DRAWN_CUSTOMER_FUTURES = 1_000_000
"""Customer futures drawn at most for the exact simulation, draws x customers (about a second)."""

EXACT_MAX_CUSTOMERS = 5_000
"""Above this many customers the shop's deviation is taken as normal (a sum of many independent
customers' deviations)."""

SAMPLE_DRAWS = 20
"""Above :data:`EXACT_MAX_CUSTOMERS`, the fewest draws per group of customers alike whose
variances add up to the deviation's; groups beyond :data:`SUMMED_CUSTOMER_FUTURES` over this are
sampled in proportion to their customers."""

SUMMED_CUSTOMER_FUTURES = 200_000
"""Customer futures drawn at most for the normal approximation's variance (a fifth of a second):
a sample of 10,000 groups puts the variance within a few percent, and the range's width within
about one (a million futures took half a second of a 1M-customer analysis)."""

COMBINED_DRAWS = 20_000
"""Draws of the expected total paired with the simulated deviations (resampled): the range's
bounds then move by the simulated shops alone, not by too few draws of the parameters' share."""

CHUNK = 250_000
"""Customer futures drawn at once (memory: about 30 bytes each per period)."""


@dataclass
class FutureSimulator:
    """Draws the shop's future from a fitted transaction model (with ``simulate_future_orders``)
    and spend model (Gamma-Gamma, or None: each customer's own average order value), over the
    periods ending at ``ends``, discounted at ``rate`` a period and multiplied by ``margin``."""

    model: Any
    spend_model: Any
    ends: np.ndarray
    rate: float
    margin: float
    seed: int = SEED
    max_draws: int = DRAWS
    info: dict[str, Any] = field(default_factory=dict)
    draws: np.ndarray | None = None  # the last range's draws of the shop total
    relative: np.ndarray | None = None  # and its simulated sales over their expectation
    simulated_mean: float | None = None  # the simulated customers' mean total (None: normal)

    def customer_values(self, f, r, t, x, m, value, size: int, rng) -> np.ndarray:
        """``(size, n)`` draws of each customer's discounted future value times the margin."""
        orders = self.model.simulate_future_orders(self.ends, f, r, t, size, rng)
        if self.spend_model is None:
            values = orders * value[None, :, None]
        else:
            values = self.spend_model.simulate_future_values(x, m, orders, rng)
        discount = (1.0 + self.rate) ** -np.arange(1, len(self.ends) + 1)
        return self.margin * (values @ discount)

    def deviations(self, units: dict[str, np.ndarray], rng) -> np.ndarray:
        """Draws of the shop total's deviation from its expectation (the process noise).

        ``units``: per group of customers alike (``f, r, t, x, m, value``) their ``count``.
        """
        count = np.rint(units["count"]).astype(np.int64)
        n = int(count.sum())
        keys = ("f", "r", "t", "x", "m", "value")
        if n <= EXACT_MAX_CUSTOMERS:
            who = np.repeat(np.arange(len(count)), count)
            each = [units[key][who] for key in keys]
            draws = min(self.max_draws, max(MIN_DRAWS, DRAWN_CUSTOMER_FUTURES // max(n, 1)))
            step = max(1, CHUNK // max(n, 1))
            totals = np.concatenate([
                self.customer_values(*each, min(step, draws - done), rng).sum(axis=1)
                for done in range(0, draws, step)
            ])  # fmt: skip
            self.info.update(method="simulated customers", draws=draws, seed=self.seed)
            self.simulated_mean = float(totals.mean())
            return totals - self.simulated_mean
        if len(count) * SAMPLE_DRAWS > SUMMED_CUSTOMER_FUTURES:  # a sample of the groups
            who = rng.choice(len(count), size=SUMMED_CUSTOMER_FUTURES // SAMPLE_DRAWS, p=count / n)
            weight = np.full(len(who), n / len(who))
        else:  # every group: its customers' variance is the group's times its count
            who, weight = np.arange(len(count)), count.astype(float)
        draws = max(SAMPLE_DRAWS, SUMMED_CUSTOMER_FUTURES // len(who))
        each = [units[key][who] for key in keys]
        variance = float(weight @ self._variances(each, draws, rng))
        self.info.update(
            method="normal approximation", groups=len(who), draws=draws, seed=self.seed
        )
        self.simulated_mean = None
        return rng.normal(0.0, np.sqrt(variance), DRAWS)

    def _variances(self, each: list[np.ndarray], draws: int, rng) -> np.ndarray:
        """Per customer, the variance of their simulated discounted value over ``draws``."""
        step = max(2, CHUNK // max(len(each[0]), 1))
        total = np.zeros(len(each[0]))
        squares = np.zeros(len(each[0]))
        for done in range(0, draws, step):
            values = self.customer_values(*each, min(step, draws - done), rng)
            total += values.sum(axis=0)
            squares += (values * values).sum(axis=0)
        return (squares - total * total / draws) / (draws - 1)

    def bounds(
        self, units: dict[str, np.ndarray], total: float, expected_high: float, level: float
    ) -> tuple[float, float]:
        """The central ``level`` range of the sales to come: draws of the expected total
        (lognormal, the spread of the interval of the expected value whose upper bound at
        ``level`` is ``expected_high``), each scaling a simulated future (:func:`combined_range`)."""
        rng = np.random.default_rng(self.seed)
        deviation = self.deviations(units, rng)
        # over the simulation's own mean: a simulated future without the largest customer's
        # orders is then the others' sales, whatever the draws' noise in that customer's mean
        mean = self.simulated_mean if self.simulated_mean is not None else total
        self.relative = 1.0 + deviation / mean if mean > 0 else np.ones_like(deviation)
        z = float(ndtri(0.5 + level / 2))
        sd = float(np.log(expected_high / total)) / z if total > 0 and expected_high > 0 else 0.0
        self.draws, low, high = combined_range(total, sd, self.relative, level, self.seed)
        return low, high


def combined_range(
    total: float, sd: float, relative: np.ndarray, level: float, seed: int = SEED
) -> tuple[np.ndarray, float, float]:
    """Draws of the sales to come and their central ``level`` range: the expected total drawn
    as ``total * exp(sd Z)``, times a draw of the simulated sales over their expectation,
    ``relative`` (mean 1, never below 0).

    The process noise scales with the expected total it is drawn beside.  Added to it instead, a
    shop's lean draw (the expected total low) meets a simulated future without its largest
    customer's orders as a loss of their full expected size: in a 301-customer shop whose one
    customer holds 95% of the prediction, 13% of the sums fall below 0 and the range begins at
    nothing, below what its other customers alone spend."""
    rng = np.random.default_rng([seed, 1])
    if len(relative) < COMBINED_DRAWS:  # the parameters' share is cheap to draw finely
        relative = relative[rng.integers(len(relative), size=COMBINED_DRAWS)]
    expected = total * np.exp(sd * rng.standard_normal(len(relative)))
    # a normal deviation of a large shop may reach below -100% in its far tail
    draws = expected * np.maximum(relative, 0.0)
    low, high = np.quantile(draws, [0.5 - level / 2, 0.5 + level / 2])
    return draws, float(low), float(high)


def no_range_reason(model_name: str, has_design: bool, is_seasonal: bool, model) -> str | None:
    """Why the shop has no range of the sales to come (None: it has one)."""
    if has_design:
        missing = "a model with covariates (no simulator of a future given covariates)"
    elif is_seasonal:
        missing = "a seasonal model (no simulator of a future through the seasons)"
    elif not hasattr(model, "simulate_future_orders"):
        missing = f"{model_name} (no simulator of a customer's future given their history)"
    else:
        return None
    return f"no range of the sales to come for {missing}"


def sales_range_label(margin: float | None) -> str:
    """The range's name where a merchant reads it: it is in the prediction's unit, the margin
    on the sales where ``--margin`` is below 1 (8,944 to 10,866 at 40% is no range of sales
    expected at about 24,700); short enough for the headline's row in 80 columns."""
    if margin is None or margin == 1:
        return "range of the sales to come"
    return f"range of the {margin:.0%} margin to come"
