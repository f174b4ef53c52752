"""CLV over a horizon: discounting, period lengths and time units."""

import numpy as np
import pytest

from valuecast.models.clv import (
    customer_lifetime_value,
    expected_transactions_by_period,
    period_discount_rate,
)


class ConstantRate:
    """A transaction model whose customers buy at a known constant rate per time unit."""

    def __init__(self, rate_per_unit):
        self.rate = np.asarray(rate_per_unit, dtype=float)

    def expected_transactions(self, t, frequency, recency, T):
        return self.rate * t * np.ones_like(np.asarray(frequency, dtype=float))


class FixedSpend:
    def expected_average_value(self, frequency, monetary_value):
        return np.asarray(monetary_value, dtype=float) * 2.0


def test_period_rate_compounds_to_the_annual_rate():
    monthly = period_discount_rate(0.10, 365.25 / 12)
    assert (1 + monthly) ** 12 == pytest.approx(1.10, rel=1e-12)
    weekly = period_discount_rate(0.10, 7)
    assert (1 + weekly) ** (365.25 / 7) == pytest.approx(1.10, rel=1e-12)


def test_clv_is_the_discounted_sum_of_per_period_value():
    model = ConstantRate([0.1, 0.2])  # purchases per day
    clv = customer_lifetime_value(
        model,
        FixedSpend(),
        frequency=[1, 2],
        recency=[5, 6],
        T=[10, 10],
        monetary_value=[10.0, 20.0],
        horizon=3,
        period=30,
        annual_discount_rate=0.10,
        margin=0.5,
    )
    d = 1.10 ** (30 / 365.25) - 1
    discount = sum((1 + d) ** -k for k in (1, 2, 3))
    expected = 0.5 * np.array([20.0 * 0.1 * 30, 40.0 * 0.2 * 30]) * discount
    np.testing.assert_allclose(clv, expected, rtol=1e-12)


def test_time_unit_days_converts_weeks():
    per_day = ConstantRate(0.1)
    per_week = ConstantRate(0.7)
    in_days = expected_transactions_by_period(per_day, [1], [1], [2], horizon=4, period_days=14)
    in_weeks = expected_transactions_by_period(
        per_week, [1], [1], [2], horizon=4, period_days=14, time_unit_days=7
    )
    np.testing.assert_allclose(in_days, in_weeks, rtol=1e-12)
    np.testing.assert_allclose(in_days, 1.4, rtol=1e-12)


def test_zero_discount_and_spend_model_none_uses_monetary_value():
    clv = customer_lifetime_value(
        ConstantRate(1.0), None, [0], [0], [1], [3.0], horizon=2, period=1, annual_discount_rate=0.0
    )
    np.testing.assert_allclose(clv, [6.0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"horizon": 0}, "horizon"),
        ({"horizon": 2.5}, "horizon"),
        ({"annual_discount_rate": -1.5}, "annual_discount_rate"),
        ({"period": 0}, "period"),
        ({"margin": -0.1}, "margin"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, message):
    arguments = {"horizon": 2, "period": 30, "annual_discount_rate": 0.1, "margin": 1.0}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        customer_lifetime_value(ConstantRate(1.0), None, [0], [0], [1], [1.0], **arguments)


def test_interval_agrees_with_simulating_parameter_draws():
    # The delta-method interval must match the percentiles of CLV recomputed under parameter
    # draws from both fitted models (CDNOW sample, weeks; 12 monthly periods).
    from valuecast.datasets import load_cdnow_summary
    from valuecast.models import BetaGeo, GammaGamma
    from valuecast.models.clv import customer_lifetime_value_interval

    cdnow = load_cdnow_summary()
    f, r, t, m = (cdnow[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    bgnbd = BetaGeo().fit(f, r, t)
    spend = GammaGamma().fit(f[f > 0], m[f > 0])
    interval = customer_lifetime_value_interval(bgnbd, spend, f, r, t, m, time_unit_days=7)
    point = customer_lifetime_value(bgnbd, spend, f, r, t, m, time_unit_days=7)
    np.testing.assert_allclose(interval.point, point, rtol=1e-12)
    assert np.all(interval.low <= interval.point) and np.all(interval.point <= interval.high)

    n = 200
    tx_draws, spend_draws = bgnbd.sample_params(n, seed=1), spend.sample_params(n, seed=2)
    simulated = np.array(
        [
            customer_lifetime_value(
                bgnbd.with_params({k: v[i] for k, v in tx_draws.items()}),
                spend.with_params({k: v[i] for k, v in spend_draws.items()}),
                f, r, t, m, time_unit_days=7,
            )
            for i in range(n)
        ]
    )  # fmt: skip
    low, high = np.percentile(simulated, [10, 90], axis=0)
    for i in (0, 1, 5, 100):  # a repeater, a one-off, a heavy buyer, another
        assert interval.low[i] == pytest.approx(low[i], rel=0.03)
        assert interval.high[i] == pytest.approx(high[i], rel=0.03)
    total_low, total_high = np.percentile(simulated.sum(axis=1), [10, 90])
    assert interval.total_low == pytest.approx(total_low, rel=0.03)
    assert interval.total_high == pytest.approx(total_high, rel=0.03)
