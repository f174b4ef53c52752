"""Tests of the BG/BB model.

Reference: Fader, Hardie & Shang (2010), "Customer-base analysis in a discrete-time
noncontractual setting", Marketing Science 29(6) -- the donations data set, 6 calibration years
(numbers in REFERENCES.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln, gammaln

from gradient_check import assert_analytic_gradient
from valuecast import datasets
from valuecast.models import BetaGeoBetaBinomial, NotFittedError
from valuecast.models.bgbb import _hyp2f1_one_series, _log_alive_sum

PAPER = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


@pytest.fixture(scope="module")
def donations():
    return datasets.load_donations()


@pytest.fixture(scope="module")
def fitted(donations):
    d = donations
    return BetaGeoBetaBinomial().fit(d["frequency"], d["recency"], d["periods"], d["weights"])


# -- published references (FHS 2010) ---------------------------------------------------------------
def test_donations_parameters_and_log_likelihood(fitted):
    # FHS 2010: alpha = 1.204, beta = 0.750, gamma = 0.657, delta = 2.783, LL = -33225.58.
    for name, value in PAPER.items():
        assert fitted.params_[name] == pytest.approx(value, abs=0.0005), name
    assert fitted.log_likelihood_ == pytest.approx(-33225.58, abs=0.005)
    assert fitted.n_customers_ == 11104


def test_log_likelihood_per_customer_sums_to_total(fitted, donations):
    d = donations
    per_row = fitted.log_likelihood_per_customer(d["frequency"], d["recency"], d["periods"])
    assert np.dot(per_row, d["weights"]) == pytest.approx(fitted.log_likelihood_, abs=1e-6)


def test_probability_alive_in_2002(fitted):
    # FHS 2010: P(alive in 2002) for x = 0 -> 0.11; x = 2, t_x = 4 -> 0.59; x = 6, t_x = 6 -> 0.93.
    alive = fitted.probability_alive([0, 2, 6], [0, 4, 6], 6)
    np.testing.assert_allclose(alive, [0.11, 0.59, 0.93], atol=0.005)


def test_cumulative_expected_transactions_of_new_customer(fitted):
    # FHS 2010: expected cumulative repeat transactions of a new customer, n = 1 .. 11.
    published = [0.4985, 0.9233, 1.2969, 1.6323, 1.9381, 2.2202]
    published += [2.4826, 2.7285, 2.9603, 3.1798, 3.3887]
    expected = fitted.expected_transactions_new(np.arange(1, 12))
    np.testing.assert_allclose(expected, published, atol=0.00005)


def test_expected_customers_by_number_of_repeat_transactions(fitted):
    # FHS 2010: of the 11,104 supporters, 3454.9 expected with 0 and 1253.1 with 6 repeat
    # transactions in the 6 calibration years.
    counts = 11104 * fitted.probability_of_n_purchases(6, [0, 6])
    np.testing.assert_allclose(counts, [3454.9, 1253.1], atol=0.05)
    assert fitted.probability_of_n_purchases(6, np.arange(7)).sum() == pytest.approx(1, abs=1e-12)
    assert fitted.probability_of_n_purchases(6, [7])[0] == 0


# -- formulas against brute-force sums -------------------------------------------------------------
def _alive(params, t):
    return np.exp(
        betaln(params["gamma"], params["delta"] + t) - betaln(params["gamma"], params["delta"])
    )


def test_conditional_expectation_and_dert_match_direct_sums():
    model = BetaGeoBetaBinomial().with_params(PAPER)
    histories = [(0, 0, 6), (2, 4, 6), (6, 6, 6), (3, 10, 15)]
    for x, t_x, n in histories:
        ll = model.log_likelihood_per_customer([x], [t_x], [n])[0]
        log_p = betaln(PAPER["alpha"] + x + 1, PAPER["beta"] + n - x) - betaln(
            PAPER["alpha"], PAPER["beta"]
        )
        k = np.arange(1, 200_000)
        alive = _alive(PAPER, n + k)
        expected_10 = np.exp(log_p - ll) * alive[:10].sum()
        dert = np.exp(log_p - ll) * np.sum(alive * 1.1**-k)
        got = model.expected_transactions(10, [x], [t_x], [n])[0]
        assert got == pytest.approx(expected_10, rel=1e-10)
        got_dert = model.discounted_expected_residual_transactions(0.1, [x], [t_x], [n])[0]
        assert got_dert == pytest.approx(dert, rel=1e-8)
        p_alive = model.probability_alive([x], [t_x], [n], m_periods_ahead=2)[0]
        log_p_alive = betaln(PAPER["alpha"] + x, PAPER["beta"] + n - x) - betaln(
            PAPER["alpha"], PAPER["beta"]
        )
        assert p_alive == pytest.approx(np.exp(log_p_alive - ll) * alive[2], rel=1e-10)


@pytest.mark.parametrize("gamma", [0.3, 0.999, 1 - 1e-6, 1.0, 1 + 1e-6, 1.0005, 1.002, 7.0])
def test_alive_sum_closed_form_near_gamma_one(gamma):
    delta = 2.5
    for a, b in [(0, 1), (0, 11), (6, 16), (100, 5000)]:
        t = np.arange(a + 1, b + 1)
        direct = np.sum(_alive({"gamma": gamma, "delta": delta}, t))
        closed = np.exp(_log_alive_sum(gamma, delta, np.array([a]), np.array([b]))[0])
        assert closed == pytest.approx(direct, rel=1e-9)


def test_hypergeometric_with_fallback_matches_direct_sum():
    # scipy's hyp2f1 returns NaN for some of these (e.g. b = 200, c = 200.01, z = 0.999); the
    # series fallback must take over and agree with an independent term-by-term sum.
    from valuecast.models.bgbb import hyp2f1_at_one

    b = np.array([3.0, 10.5, 200.0, 10_000.0])
    c = b + np.array([0.5, 2.0, 0.01, 0.001])
    j = np.arange(200_000)[:, None]
    for z in (0.5, 1 / 1.1, 0.999):
        log_terms = gammaln(b + j) - gammaln(b) - gammaln(c + j) + gammaln(c) + j * np.log(z)
        direct = np.exp(log_terms).sum(axis=0)
        np.testing.assert_allclose(hyp2f1_at_one(b, c, z), direct, rtol=1e-9)
        np.testing.assert_allclose(_hyp2f1_one_series(b, c, z), direct, rtol=1e-9)


# -- gradient, weights, simulation -----------------------------------------------------------------
def test_analytic_gradient_matches_numerical(donations):
    d = donations
    data = tuple(d[c].to_numpy(float) for c in ("frequency", "recency", "periods"))
    w = d["weights"].to_numpy(float)
    model = BetaGeoBetaBinomial()
    points = ([1.204, 0.75, 0.657, 2.783], [0.05, 8.0, 30.0, 0.2], [1.0, 1.0, 1.0, 1.0])
    assert_analytic_gradient(model, data, w, points, rtol=1e-6, atol=1e-3)


def test_weighted_fit_equals_expanded_fit(donations):
    d = donations
    weighted = BetaGeoBetaBinomial().fit(d["frequency"], d["recency"], d["periods"], d["weights"])
    expanded = BetaGeoBetaBinomial().fit(
        np.repeat(d["frequency"], d["weights"]),
        np.repeat(d["recency"], d["weights"]),
        np.repeat(d["periods"], d["weights"]),
    )
    for name in PAPER:
        assert weighted.params_[name] == pytest.approx(expanded.params_[name], rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-10)


def test_binary_incidence_file_gives_the_same_fit(fitted):
    # The raw 0/1 donation file summarised over 1996-2001 reproduces the compressed data's fit.
    raw = datasets.load_donations_binary()
    years = raw[[str(y) for y in range(1996, 2002)]].to_numpy()
    x = years.sum(axis=1)
    last = np.where(x > 0, 6 - np.argmax(years[:, ::-1], axis=1), 0)
    model = BetaGeoBetaBinomial().fit(x, last, 6)
    assert model.log_likelihood_ == pytest.approx(fitted.log_likelihood_, abs=1e-6)


def test_recovers_simulated_parameters():
    # 50,000 customers with 30 opportunities: every standard error is about 2% of its parameter
    # or less, so 5% is a 2.5-sigma band.
    data = BetaGeoBetaBinomial().with_params(PAPER).simulate(50_000, 30, seed=1)
    model = BetaGeoBetaBinomial().fit(data["frequency"], data["recency"], data["n_periods"])
    for name, value in PAPER.items():
        assert model.params_[name] == pytest.approx(value, rel=0.05), name


def test_simulation_matches_model_probabilities():
    model = BetaGeoBetaBinomial().with_params(PAPER)
    data = model.simulate(200_000, 6, seed=7)
    assert list(data.columns) == ["frequency", "recency", "n_periods"]
    observed = np.bincount(data["frequency"], minlength=7) / len(data)
    np.testing.assert_allclose(
        observed, model.probability_of_n_purchases(6, np.arange(7)), atol=0.004
    )
    # Histories are valid BG/BB data.
    model.log_likelihood_per_customer(data["frequency"], data["recency"], data["n_periods"])


# -- validation ------------------------------------------------------------------------------------
def test_rejects_inconsistent_histories():
    model = BetaGeoBetaBinomial()
    with pytest.raises(ValueError, match="must not exceed recency"):
        model.fit([3], [2], [6])
    with pytest.raises(ValueError, match="must not exceed n_periods"):
        model.fit([1], [7], [6])
    with pytest.raises(ValueError, match="recency must be 0"):
        model.fit([0], [2], [6])
    with pytest.raises(ValueError, match="whole numbers"):
        model.fit([1.5], [2], [6])
    with pytest.raises(NotFittedError):
        model.probability_alive([0], [0], [6])
    with pytest.raises(ValueError, match="discount_rate"):
        BetaGeoBetaBinomial().with_params(PAPER).discounted_expected_residual_transactions(
            0, [0], [0], [6]
        )


# -- properties over wide inputs -------------------------------------------------------------------
positive = st.floats(min_value=1e-3, max_value=1e3)


@st.composite
def histories(draw):
    n = draw(st.sampled_from([0, 1, 6, 52, 1000, 10_000]))
    t_x = draw(st.integers(0, n))
    x = draw(st.integers(min(1, t_x), t_x)) if t_x > 0 else 0
    return x, t_x, n


@settings(max_examples=150, deadline=None)
@given(alpha=positive, beta=positive, gamma=positive, delta=positive, history=histories())
def test_predictions_finite_and_in_range(alpha, beta, gamma, delta, history):
    x, t_x, n = history
    model = BetaGeoBetaBinomial().with_params(
        {"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta}
    )
    assert np.isfinite(model.log_likelihood_per_customer([x], [t_x], [n])[0])
    alive = model.probability_alive([x] * 3, [t_x] * 3, [n] * 3, m_periods_ahead=0)
    later = model.probability_alive([x], [t_x], [n], m_periods_ahead=10)
    assert np.all((alive >= 0) & (alive <= 1)) and 0 <= later[0] <= alive[0] * (1 + 1e-9)
    horizons = np.array([0.0, 1.0, 10.0, 100.0, 10_000.0])
    conditional = model.expected_transactions(horizons, [x] * 5, [t_x] * 5, [n] * 5)
    assert np.all(np.isfinite(conditional)) and conditional[0] == 0
    assert np.all(np.diff(conditional) >= -1e-9 * conditional[1:])
    assert np.all(conditional <= horizons + 1e-9)
    new = model.expected_transactions_new(horizons)
    assert np.all(np.isfinite(new)) and np.all(np.diff(new) >= -1e-9 * new[1:])
    assert np.all(new <= horizons + 1e-9)
    dert = model.discounted_expected_residual_transactions(0.1, [x], [t_x], [n])[0]
    assert np.isfinite(dert) and 0 <= dert <= 10 * (1 + 1e-9)  # at most sum_k 1.1^-k = 10


@settings(max_examples=40, deadline=None)
@given(alpha=positive, beta=positive, gamma=positive, delta=positive, n=st.integers(0, 40))
def test_purchase_count_distribution_sums_to_one(alpha, beta, gamma, delta, n):
    model = BetaGeoBetaBinomial().with_params(
        {"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta}
    )
    probabilities = model.probability_of_n_purchases(n, np.arange(n + 1))
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-9)


def test_fractional_opportunities_are_refused_where_predicted():
    """A model of whole opportunities has no 2.5th one: the predictions refuse it as the
    histories and ``probability_of_n_purchases`` do."""
    from valuecast.models import BetaGeoBetaBinomial

    model = BetaGeoBetaBinomial().with_params({"alpha": 1.2, "beta": 0.75, "gamma": 0.66,
                                               "delta": 2.78})  # fmt: skip
    with pytest.raises(ValueError, match="whole numbers of opportunities"):
        model.expected_transactions_new(2.5)
    with pytest.raises(ValueError, match="whole numbers of opportunities"):
        model.expected_transactions(2.5, [1], [1], [6])
    assert model.expected_transactions(2, [1], [1], [6])[0] > 0
