"""Tests of the Gamma-Gamma spend model.

References: Fader & Hardie (2013), "The Gamma-Gamma model of monetary value"; the CLVTools log-
likelihood and the per-customer expected values on the CDNOW sample (see REFERENCES.md).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradient_check import assert_analytic_gradient
from valuecast import datasets
from valuecast.models import GammaGamma, NotFittedError


@pytest.fixture(scope="module")
def cdnow():
    return datasets.load_cdnow_summary()


@pytest.fixture(scope="module")
def fitted(cdnow):
    return GammaGamma().fit(cdnow["frequency"], cdnow["monetary_value"])


# -- published references ------------------------------------------------------------------------
def test_cdnow_parameters(fitted):
    # Fader & Hardie (2013) note on the Gamma-Gamma model: p = 6.25, q = 3.74, gamma (v) = 15.44
    # on the 946 CDNOW repeaters.
    assert fitted.params_["p"] == pytest.approx(6.25, abs=0.005)
    assert fitted.params_["q"] == pytest.approx(3.74, abs=0.005)
    assert fitted.params_["v"] == pytest.approx(15.44, abs=0.01)


def test_cdnow_log_likelihood(fitted, cdnow):
    # CLVTools: log-likelihood of the density of the mean spend, -4055.92.
    assert fitted.log_likelihood_ == pytest.approx(-4055.92, abs=0.005)
    per_customer = fitted.log_likelihood_per_customer(cdnow["frequency"], cdnow["monetary_value"])
    assert per_customer.sum() == pytest.approx(fitted.log_likelihood_, abs=1e-8)
    assert np.all(per_customer[cdnow["frequency"].to_numpy() == 0] == 0)


def test_cdnow_excluded_customers(fitted, cdnow):
    assert fitted.n_excluded_ == (cdnow["frequency"] == 0).sum() == 2357 - 946
    assert fitted.n_customers_ == 946


def test_cdnow_expected_average_value(fitted, cdnow):
    # Expected average transaction value of the first 10 customers of the summary file, as
    # printed (two decimals, truncated) in REFERENCES.md from the FH (2013) note / lifetimes.
    published = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17]
    head = cdnow.head(10)
    expected = fitted.expected_average_value(head["frequency"], head["monetary_value"])
    np.testing.assert_allclose(expected, published, atol=0.01)


def test_population_mean(fitted):
    p, q, v = fitted.params_["p"], fitted.params_["q"], fitted.params_["v"]
    assert fitted.expected_average_value_population() == pytest.approx(p * v / (q - 1))
    # A customer without repeat purchases gets the population mean, whatever monetary_value says.
    assert fitted.expected_average_value(0, 123.0)[0] == pytest.approx(p * v / (q - 1))


# -- gradient, weights, simulation -----------------------------------------------------------------
def test_analytic_gradient_matches_numerical(cdnow):
    model = GammaGamma()
    repeat = cdnow["frequency"] > 0
    x = cdnow.loc[repeat, "frequency"].to_numpy(float)
    m = cdnow.loc[repeat, "monetary_value"].to_numpy(float)
    w = np.ones(len(x))
    points = ([6.25, 3.74, 15.44], [0.5, 1.2, 3.0], [40.0, 80.0, 700.0])
    assert_analytic_gradient(model, (x, m), w, points, rtol=1e-5, atol=1e-4)


def test_weighted_fit_equals_expanded_fit():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 6, 400)
    truth = GammaGamma().with_params({"p": 2.0, "q": 4.0, "v": 30.0})
    data = truth.simulate(x, seed=4)
    weights = rng.integers(1, 4, 400)
    weighted = GammaGamma().fit(data["frequency"], data["monetary_value"], weights=weights)
    expanded = GammaGamma().fit(
        np.repeat(data["frequency"], weights), np.repeat(data["monetary_value"], weights)
    )
    for name in ("p", "q", "v"):
        assert weighted.params_[name] == pytest.approx(expanded.params_[name], rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-9)
    assert weighted.n_excluded_ == expanded.n_excluded_


def test_recovers_simulated_parameters():
    # Half the customers have one repeat transaction (they identify p through the spread of a
    # single Gamma(p, nu) draw) and half have 100 (their mean pins down p / nu); with 50,000
    # customers every standard error is below 1.5% of its parameter.
    truth = {"p": 1.0, "q": 2.0, "v": 20.0}
    x = np.where(np.random.default_rng(0).random(50_000) < 0.5, 1, 100)
    data = GammaGamma().with_params(truth).simulate(x, seed=100)
    model = GammaGamma().fit(data["frequency"], data["monetary_value"])
    for name, value in truth.items():
        assert model.params_[name] == pytest.approx(value, rel=0.05), name
        assert abs(model.params_[name] - value) < 3 * model.standard_errors_[name]


def test_simulate_shape_and_zero_rows():
    model = GammaGamma().with_params({"p": 6.25, "q": 3.74, "v": 15.44})
    data = model.simulate([0, 1, 5, 0, 30], seed=1)
    assert list(data.columns) == ["frequency", "monetary_value"]
    assert data["monetary_value"].tolist()[0] == 0 and data["monetary_value"].tolist()[3] == 0
    assert np.all(data.loc[data["frequency"] > 0, "monetary_value"] > 0)


# -- validation ------------------------------------------------------------------------------------
def test_rejects_non_positive_spend_of_repeaters():
    with pytest.raises(ValueError, match="monetary_value must be positive"):
        GammaGamma().fit([1, 2, 0], [10.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="monetary_value must be positive"):
        GammaGamma().fit([1, 2], [10.0, -5.0])


def test_rejects_bad_frequency_and_empty_fit():
    with pytest.raises(ValueError, match="whole number"):
        GammaGamma().fit([1.5, 2], [10.0, 11.0])
    with pytest.raises(ValueError, match="no customer with frequency > 0"):
        GammaGamma().fit([0, 0], [0.0, 0.0])


def test_infinite_mean_is_an_error():
    model = GammaGamma().with_params({"p": 2.0, "q": 0.9, "v": 10.0})
    with pytest.raises(ValueError, match="infinite"):
        model.expected_average_value([1], [10.0])
    with pytest.raises(ValueError, match="infinite"):
        model.expected_average_value_population()


def test_not_fitted():
    with pytest.raises(NotFittedError):
        GammaGamma().expected_average_value([1], [10.0])


# -- properties over wide inputs -------------------------------------------------------------------
positive = st.floats(min_value=1e-3, max_value=1e3)


@settings(max_examples=200, deadline=None)
@given(
    p=positive,
    q=st.floats(min_value=1.001, max_value=1e3),
    v=positive,
    x=st.integers(min_value=0, max_value=5000),
    m=st.floats(min_value=1e-3, max_value=1e6),
)
def test_predictions_finite_and_in_range(p, q, v, x, m):
    model = GammaGamma().with_params({"p": p, "q": q, "v": v})
    population = model.expected_average_value_population()
    value = model.expected_average_value([x, x], [m, m * 2])
    assert np.all(np.isfinite(value)) and np.all(value > 0)
    if x == 0:
        assert value[0] == pytest.approx(population, rel=1e-12)
    else:
        # A credibility-weighted average of the population mean and the observed mean,
        # increasing in the observed mean.
        low, high = min(population, m), max(population, m)
        assert low * (1 - 1e-9) <= value[0] <= high * (1 + 1e-9)
        assert value[1] >= value[0]
        assert np.isfinite(model.log_likelihood_per_customer([x], [m])[0])


@settings(max_examples=50, deadline=None)
@given(p=positive, q=positive, v=positive, seed=st.integers(0, 2**31))
def test_simulation_finite(p, q, v, seed):
    data = GammaGamma().with_params({"p": p, "q": q, "v": v}).simulate([1, 10, 1000], seed=seed)
    values = data["monetary_value"].to_numpy()
    assert np.all(np.isfinite(values)) and np.all(values > 0)


def test_a_fit_ending_at_one_limit_tries_the_other_side_and_keeps_the_better():
    # wholesale and penny customers: from the usual start the fit runs to q, v -> inf (one
    # spending rate for all, ln L -779); the likelihood is far higher towards p -> inf, v -> 0
    rng = np.random.default_rng(8)
    frequency = rng.integers(1, 15, 140).astype(float)
    big = np.arange(140) % 2 == 0
    spend = np.where(big, rng.gamma(20.0, 150.0, 140), rng.gamma(5.0, 0.012, 140))
    fitted = GammaGamma().fit(frequency, spend)
    one_side = GammaGamma(initial_params={"p": 1.0, "q": 3.0, "v": 2 * spend.mean()})
    one_side.fit(frequency, spend)
    assert one_side.limits_  # the usual start ends at a limit ...
    assert fitted.log_likelihood_ > one_side.log_likelihood_ + 5  # ... far below the other side
    assert fitted.params_["q"] < 1  # a heavy tail across customers: no finite pooled mean
    assert fitted.initial_params is None


def _no_spread_across_customers() -> tuple[np.ndarray, np.ndarray]:
    """Every customer's orders from one spend distribution: the fit ends at v -> inf."""
    rng = np.random.default_rng(1)
    frequency = rng.integers(1, 4, 30).astype(float)
    spend = np.array([rng.gamma(4.0, 12.5, int(x)).mean() for x in frequency])
    return frequency, spend


def _wholesale_and_penny_customers() -> tuple[np.ndarray, np.ndarray]:
    """The other side's limit is far higher: the fit tried from there is kept."""
    rng = np.random.default_rng(8)
    frequency = rng.integers(1, 15, 140).astype(float)
    big = np.arange(140) % 2 == 0
    return frequency, np.where(big, rng.gamma(20.0, 150.0, 140), rng.gamma(5.0, 0.012, 140))


@pytest.mark.parametrize("shop", [_no_spread_across_customers, _wholesale_and_penny_customers])
def test_a_fit_tried_from_the_other_side_tells_only_of_the_model_it_returns(shop):
    # the fit from the other side also ends at a limit; its note is told only where that fit
    # is the one returned, so the notes never name two limit models
    frequency, spend = shop()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = GammaGamma().fit(frequency, spend)
    assert fitted.limits_
    assert [str(warning.message) for warning in caught] == [fitted.limit_note_]
