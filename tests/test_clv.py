"""CLV over a horizon: discounting, period lengths and time units."""

import numpy as np
import pandas as pd
import pytest

from valuecast.analysis.predict import CovariateBound
from valuecast.models import BetaGeo, ModifiedBetaGeo, ParetoNBD
from valuecast.models.clv import (
    DAYS_PER_MONTH,
    customer_lifetime_value,
    discount_periods,
    discounted_sum,
    expected_transactions_by_period,
    period_discount_rate,
    period_ends,
    period_increments,
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


@pytest.mark.parametrize("rate", [-1.0, -2.0, float("nan"), float("inf")])
def test_period_rate_of_no_annual_rate_above_minus_one_is_refused(rate):
    with pytest.raises(ValueError, match="a finite number greater than -1"):
        period_discount_rate(rate, 30)


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


def test_interval_of_a_model_with_covariates_agrees_with_drawing_its_coefficients_too():
    """A transaction model fitted with covariates: the interval propagates the parameters' and
    the coefficients' uncertainty together (``covariance_full_``), and matches the percentiles
    of CLV under joint draws of both."""
    from valuecast.models.clv import customer_lifetime_value_interval

    rng = np.random.default_rng(1)
    truth = BetaGeo().with_params({"r": 0.5, "alpha": 20.0, "a": 0.7, "b": 2.5})
    sim = truth.simulate(np.full(3000, 365.0), seed=2)
    f, r, t = (sim[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    # a store of a tenth of the customers: its parameters are known less well than the base's
    store = pd.DataFrame({"store": (rng.random(len(f)) < 0.1).astype(float)})
    covariates = {"purchase_covariates": store, "dropout_covariates": store}
    model = BetaGeo().fit(f, r, t, **covariates)
    value = np.full(len(f), 30.0)
    interval = customer_lifetime_value_interval(model, None, f, r, t, value, **covariates)
    point = customer_lifetime_value(model, None, f, r, t, value, **covariates)
    np.testing.assert_allclose(interval.point, point, rtol=1e-12)

    names = list(model.params_)
    mean = np.r_[
        np.log([model.params_[k] for k in names]),
        model.coefficients_["purchase"]["store"],
        model.coefficients_["dropout"]["store"],
    ]
    draws = np.random.default_rng(5).multivariate_normal(mean, model.covariance_full_, 300)
    simulated = np.array(
        [
            customer_lifetime_value(
                model.with_params(
                    dict(zip(names, np.exp(draw[:4]), strict=True)),
                    {"purchase": {"store": draw[4]}, "dropout": {"store": draw[5]}},
                ),
                None, f, r, t, value, **covariates,
            )
            for draw in draws
        ]
    )  # fmt: skip
    low, high = np.percentile(simulated, [10, 90], axis=0)
    for i in (*np.flatnonzero(store["store"] == 0)[:2], *np.flatnonzero(store["store"] == 1)[:3]):
        assert interval.low[i] == pytest.approx(low[i], rel=0.03)
        assert interval.high[i] == pytest.approx(high[i], rel=0.03)
    total_low, total_high = np.percentile(simulated.sum(axis=1), [10, 90])
    assert interval.total_low == pytest.approx(total_low, rel=0.03)
    assert interval.total_high == pytest.approx(total_high, rel=0.03)


def _periods_summed(model, f, r, T, ends, rate, **covariates):
    """The discounted sum period by period, from the model's cumulative expectations."""
    cumulative = [model.expected_transactions(end, f, r, T, **covariates) for end in ends]
    return discount_periods(period_increments(cumulative), rate, np.zeros(len(f)))


@pytest.fixture
def histories():
    """Histories that share (frequency, T) with other recencies, no repeat purchase included."""
    rng = np.random.default_rng(3)
    f = rng.integers(0, 6, 300).astype(float)
    T = rng.choice([30.0, 90.0, 400.0], 300)
    r = np.where(f > 0, np.round(rng.uniform(0.0, 1.0, 300) * T), 0.0)
    return f, r, T


@pytest.mark.parametrize("model", [BetaGeo, ModifiedBetaGeo])
def test_a_beta_geo_model_sums_its_periods_as_they_are_summed_one_by_one(model, histories):
    fitted = model().with_params({"r": 0.8, "alpha": 70.0, "a": 0.9, "b": 2.9})
    ends = period_ends(12, DAYS_PER_MONTH, 1.0)
    rate = period_discount_rate(0.10, DAYS_PER_MONTH)
    own = discounted_sum(fitted, *histories, ends, rate)
    np.testing.assert_allclose(own, _periods_summed(fitted, *histories, ends, rate), rtol=1e-12)
    assert np.all(own > 0)


PROMO_COEFFICIENTS = {"purchase": {"promo": 0.5}, "dropout": {"promo": -0.4}}


@pytest.fixture
def promo(histories):
    """A covariate of every other customer, for both processes."""
    return pd.DataFrame({"promo": (np.arange(len(histories[0])) % 2).astype(float)})


@pytest.mark.parametrize("model", [BetaGeo, ModifiedBetaGeo])
def test_a_beta_geo_model_sums_its_periods_at_each_customers_covariates(model, histories, promo):
    fitted = model().with_params(
        {"r": 0.8, "alpha": 70.0, "a": 0.9, "b": 2.9}, coefficients=PROMO_COEFFICIENTS
    )
    keywords = {"purchase_covariates": promo, "dropout_covariates": promo}
    ends = period_ends(6, DAYS_PER_MONTH, 1.0)
    rate = period_discount_rate(0.10, DAYS_PER_MONTH)
    own = fitted.discounted_transactions(ends, rate, *histories, **keywords)
    expected = _periods_summed(fitted, *histories, ends, rate, **keywords)
    np.testing.assert_allclose(own, expected, rtol=1e-12)
    bound = CovariateBound(fitted, promo)
    np.testing.assert_allclose(discounted_sum(bound, *histories, ends, rate), own, rtol=0)


def test_a_model_bound_to_covariates_without_its_own_sum_is_summed_period_by_period(
    histories, promo
):
    fitted = ParetoNBD().with_params(
        {"r": 0.8, "alpha": 70.0, "s": 0.7, "beta": 50.0}, coefficients=PROMO_COEFFICIENTS
    )
    keywords = {"purchase_covariates": promo, "dropout_covariates": promo}
    ends = period_ends(3, DAYS_PER_MONTH, 1.0)
    rate = period_discount_rate(0.10, DAYS_PER_MONTH)
    bound = CovariateBound(fitted, promo)
    assert getattr(bound, "discounted_transactions", None) is None
    np.testing.assert_allclose(
        discounted_sum(bound, *histories, ends, rate),
        _periods_summed(fitted, *histories, ends, rate, **keywords),
        rtol=1e-12,
    )
