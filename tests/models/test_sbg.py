"""Tests of the shifted-beta-geometric (sBG) retention model.

References: Fader & Hardie (2007), "How to project customer retention" (Table 1 data and the
fitted parameters); Fader & Hardie (2010), "Customer-base valuation in a contractual setting"
(Table 3, DERL); Hardie note 017 (multi-cohort fit).  Numbers as listed in REFERENCES.md.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradient_check import assert_analytic_gradient
from valuecast import datasets
from valuecast.models import NotFittedError, ShiftedBetaGeometric
from valuecast.models.sbg import survivors_from_percentages


@pytest.fixture(scope="module")
def table():
    return datasets.load_retention_tables()


def _segment(table, column):
    # FH 2007 fit years 1-7, each segment "as 1,000 customers".
    return survivors_from_percentages(table[column].iloc[:8], cohort_size=1000)


# -- published references ------------------------------------------------------------------------
def test_high_end_segment(table):
    survivors = _segment(table, "high_end_pct")
    assert survivors.tolist() == [1000, 869, 743, 653, 593, 551, 517, 491]
    model = ShiftedBetaGeometric().fit(survivors)
    # FH 2007 (Appendix B): alpha = 0.668, beta = 3.806, LL = -1611.2.
    assert model.params_["alpha"] == pytest.approx(0.668, abs=0.0005)
    assert model.params_["beta"] == pytest.approx(3.806, abs=0.0005)
    assert model.log_likelihood_ == pytest.approx(-1611.2, abs=0.05)
    assert model.log_likelihood_per_cohort(survivors)[0] == pytest.approx(model.log_likelihood_)
    # FH 2007: the log-likelihood at the starting values alpha = beta = 1 is -2115.5.
    start = ShiftedBetaGeometric().with_params({"alpha": 1.0, "beta": 1.0})
    assert start.log_likelihood_per_cohort(survivors)[0] == pytest.approx(-2115.5, abs=0.05)


def test_regular_segment(table):
    model = ShiftedBetaGeometric().fit(_segment(table, "regular_pct"))
    # FH 2007: alpha = 0.704, beta = 1.182.
    assert model.params_["alpha"] == pytest.approx(0.704, abs=0.0005)
    assert model.params_["beta"] == pytest.approx(1.182, abs=0.0005)
    assert model.n_customers_ == 1000


def test_multi_cohort_fit():
    # Hardie note 017: four cohorts observed for 4, 3, 2 and 1 periods give alpha = 3.80,
    # beta = 15.19.
    cohorts = [
        [10000, 8000, 6480, 5307, 4391],
        [10000, 8000, 6480, 5307],
        [10000, 8000, 6480],
        [10000, 8000],
    ]
    model = ShiftedBetaGeometric().fit(cohorts)
    assert model.params_["alpha"] == pytest.approx(3.80, abs=0.005)
    assert model.params_["beta"] == pytest.approx(15.19, abs=0.005)
    assert model.n_customers_ == 40000 and model.n_cohorts_ == 4
    assert model.log_likelihood_per_cohort(cohorts).sum() == pytest.approx(model.log_likelihood_)


def test_discounted_expected_residual_lifetime():
    # FH 2010, Table 3, d = 0.1, customers about to make their 1st ... 5th renewal (i.e. having
    # made 0 ... 4 renewals).  The two scenarios have mean churn probability 0.2 and polarization
    # 1 / (alpha + beta + 1) = 0.05 and 0.75; the second's parameters, printed as 0.067 and
    # 0.267, are exactly 1/15 and 4/15 (the rounded values give 7.67 instead of 7.68).
    low = ShiftedBetaGeometric().with_params({"alpha": 3.80, "beta": 15.20})
    high = ShiftedBetaGeometric().with_params({"alpha": 1 / 15, "beta": 4 / 15})
    renewals = np.arange(5)
    np.testing.assert_allclose(
        low.discounted_expected_residual_lifetime(0.1, renewals),
        [3.31, 3.45, 3.59, 3.72, 3.84],
        atol=0.005,
    )
    np.testing.assert_allclose(
        high.discounted_expected_residual_lifetime(0.1, renewals),
        [7.68, 9.46, 9.86, 10.06, 10.19],
        atol=0.005,
    )


# -- formulas --------------------------------------------------------------------------------------
def test_formulas_are_consistent():
    model = ShiftedBetaGeometric().with_params({"alpha": 0.668, "beta": 3.806})
    t = np.arange(1, 40)
    churn = model.churn_probability(t)
    survival = model.survival_function(np.arange(0, 40))
    assert survival[0] == 1
    np.testing.assert_allclose(survival[:-1] - survival[1:], churn, rtol=1e-12)
    np.testing.assert_allclose(survival[1:] / survival[:-1], model.retention_rate(t), rtol=1e-12)
    np.testing.assert_allclose(model.expected_survivors(39, 1000), 1000 * survival)
    # DERL and DEL against direct discounted sums of the survival function.
    s = model.survival_function(np.arange(0, 20_000))
    discount = 1.1 ** -np.arange(0, 20_000)
    assert model.discounted_expected_lifetime(0.1) == pytest.approx(np.sum(s * discount))
    for renewals in (0, 3, 10):
        n = renewals + 1
        direct = np.sum(s[n:] / s[n - 1] * discount[: len(s) - n])
        got = model.discounted_expected_residual_lifetime(0.1, renewals)[0]
        assert got == pytest.approx(direct, rel=1e-10)


def test_analytic_gradient_matches_numerical(table):
    model = ShiftedBetaGeometric()
    t, is_survivor, count, _ = model._churn_table(
        [_segment(table, "high_end_pct"), _segment(table, "regular_pct")[:5]]
    )
    points = ([0.668, 3.806], [0.01, 50.0], [20.0, 0.3])
    assert_analytic_gradient(model, (t, is_survivor), count, points, rtol=1e-6, atol=1e-4)


def test_cohort_weights_equal_repeated_cohorts():
    a, b = [5000, 3000, 2100, 1600], [800, 500, 390]
    weighted = ShiftedBetaGeometric().fit([a, b], weights=[2, 3])
    expanded = ShiftedBetaGeometric().fit([a, a, b, b, b])
    for name in ("alpha", "beta"):
        assert weighted.params_[name] == pytest.approx(expanded.params_[name], rel=1e-7)
    assert weighted.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-12)


def test_input_forms_agree(table):
    survivors = _segment(table, "high_end_pct")
    as_list = ShiftedBetaGeometric().fit(survivors.tolist())
    as_series = ShiftedBetaGeometric().fit(table["high_end_pct"].iloc[:8].mul(10).round())
    as_matrix = ShiftedBetaGeometric().fit(np.vstack([survivors, survivors]))
    assert as_list.params_ == pytest.approx(as_series.params_)
    assert as_matrix.params_ == pytest.approx(as_list.params_, rel=1e-6)
    assert as_matrix.n_customers_ == 2000


def test_recovers_simulated_parameters():
    # One cohort of 50,000 followed for 30 periods: standard errors are below 1.5%.
    truth = {"alpha": 0.704, "beta": 1.182}
    survivors = ShiftedBetaGeometric().with_params(truth).simulate(50_000, 30, seed=1)
    assert survivors[0] == 50_000 and len(survivors) == 31
    model = ShiftedBetaGeometric().fit(survivors)
    for name, value in truth.items():
        assert model.params_[name] == pytest.approx(value, rel=0.05), name


def test_simulation_follows_the_survival_curve():
    model = ShiftedBetaGeometric().with_params({"alpha": 0.668, "beta": 3.806})
    survivors = model.simulate(200_000, 12, seed=5)
    np.testing.assert_allclose(
        survivors / 200_000, model.survival_function(np.arange(13)), atol=0.004
    )
    assert np.all(np.diff(survivors) <= 0)


# -- validation ------------------------------------------------------------------------------------
def test_validation():
    with pytest.raises(ValueError, match="whole numbers"):
        ShiftedBetaGeometric().fit([100.0, 86.9, 74.3])
    with pytest.raises(ValueError, match="increase"):
        ShiftedBetaGeometric().fit([100, 80, 90])
    with pytest.raises(ValueError, match="no customers"):
        ShiftedBetaGeometric().fit([0, 0])
    with pytest.raises(ValueError, match="no period"):
        ShiftedBetaGeometric().fit([[100], [50]])
    with pytest.raises(ValueError, match="start at 100"):
        survivors_from_percentages([90, 80])
    with pytest.raises(ValueError, match="periods >= 1"):
        ShiftedBetaGeometric().with_params({"alpha": 1, "beta": 1}).churn_probability([0])
    with pytest.raises(NotFittedError):
        ShiftedBetaGeometric().survival_function([1])


# -- properties over wide inputs -------------------------------------------------------------------
positive = st.floats(min_value=1e-3, max_value=1e3)


@settings(max_examples=200, deadline=None)
@given(alpha=positive, beta=positive, t=st.integers(1, 10_000))
def test_predictions_finite_and_in_range(alpha, beta, t):
    model = ShiftedBetaGeometric().with_params({"alpha": alpha, "beta": beta})
    ts = np.array([t, t + 1, 10 * t])
    churn = model.churn_probability(ts)
    survival = model.survival_function(np.concatenate([[0], ts]))
    retention = model.retention_rate(ts)
    for values in (churn, survival, retention):
        assert np.all(np.isfinite(values)) and np.all((values >= 0) & (values <= 1))
    assert np.all(np.diff(survival) <= 0) and np.all(np.diff(retention) >= 0)
    derl = model.discounted_expected_residual_lifetime(0.1, [t - 1, t, 10 * t])
    assert np.all(np.isfinite(derl)) and np.all(derl >= 0) and np.all(derl <= 11 * (1 + 1e-9))
    assert np.all(np.diff(derl) >= -1e-9 * derl[1:])  # retention rises, so DERL does too
    assert 1 - 1e-12 <= model.discounted_expected_lifetime(0.1) <= 11 * (1 + 1e-9)
    assert np.all(np.isfinite(model.log_likelihood_per_customer(ts, [True, False, True])))
