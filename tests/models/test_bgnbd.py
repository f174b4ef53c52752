"""BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing Science).

Published numbers come from /work/shared/REFERENCES.md: the paper's CDNOW estimates, Hardie's
note 004 spreadsheet (LL at the start values, per-customer log-likelihoods, unconditional
expectations) and note 027 (numerical stability for large x).
"""

from decimal import Decimal, getcontext

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy import integrate, special

from valuecast.datasets import load_cdnow_summary
from valuecast.models import BetaGeo, remembering_histories
from valuecast.models._beta_geo_common import (
    _kernel_quadrature,
    _kernel_series,
    _series_too_long,
    beta_geo_kernel,
)
from valuecast.models._fitting import compress_histories, numerical_gradient, remembered_histories

PAPER = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def cdnow():
    frame = load_cdnow_summary()
    return frame["frequency"], frame["recency"], frame["T"]


@pytest.fixture(scope="module")
def fitted(cdnow):
    return BetaGeo().fit(*cdnow)


# ------------------------------------------------------------------------------------------------
# published CDNOW numbers
# ------------------------------------------------------------------------------------------------
def test_cdnow_estimates_match_the_paper(fitted):
    # FHL (2005), section 4: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4
    for name, value in PAPER.items():
        assert round(fitted.params_[name], 3) == value
    assert round(fitted.log_likelihood_, 1) == -9582.4
    assert round(fitted.log_likelihood_, 2) == -9582.43  # "a refit gives -9582.43"
    assert fitted.converged_
    assert all(np.isfinite(v) and v > 0 for v in fitted.standard_errors_.values())


def test_log_likelihood_at_start_values(cdnow):
    # Hardie note 004: LL at r = alpha = a = b = 1 is -13887.7
    model = BetaGeo().with_params({"r": 1, "alpha": 1, "a": 1, "b": 1})
    assert round(model.log_likelihood_per_customer(*cdnow).sum(), 1) == -13887.7


def test_per_customer_log_likelihood(fitted):
    # Hardie note 004 spreadsheet, customers 1, 2, 3, 4(=x 7), 5(=x 10) at the MLE; the
    # spreadsheet keeps recency and T in exact weeks (days / 7); the summary CSV rounds them.
    x = np.array([2, 1, 0, 7, 10])
    t_x = np.array([213, 12, 0, 206, 239]) / 7
    T = np.full(5, 272 / 7)
    expected = [-9.4596, -4.4711, -0.5538, -21.8644, -27.3144]
    np.testing.assert_array_equal(
        np.round(fitted.log_likelihood_per_customer(x, t_x, T), 4), expected
    )


def test_conditional_expectation_customer_1(fitted):
    # FHL (2005), section 4: E[X(39) | x=2, t_x=30.43, T=38.86] = 1.226
    value = fitted.expected_transactions(39, 2, 30.43, 38.86)
    assert value.shape == (1,)
    assert round(float(value[0]), 3) == 1.226
    with_paper_values = BetaGeo().with_params(PAPER).expected_transactions(39, 2, 30.43, 38.86)
    assert round(float(with_paper_values[0]), 3) == 1.226


def test_unconditional_expectation(fitted):
    # Hardie note 004: E[X(t)] at t = 0.1429, 1, 3, 31.8571, 32 -> 0.0078, 0.0532, 0.1506,
    # 1.0405, 1.0437
    values = fitted.expected_transactions_new([0.1429, 1, 3, 31.8571, 32])
    np.testing.assert_array_equal(np.round(values, 4), [0.0078, 0.0532, 0.1506, 1.0405, 1.0437])


def test_unconditional_expectation_at_78_weeks_and_the_truncated_series(fitted):
    # REFERENCES.md prints E[X(78)] = 1.8576. At z = 78/(alpha+78) = 0.946 the series of
    # 2F1(r, b; a+b-1; z) converges slowly; 1.8576 is what one gets by stopping after 150 terms.
    # The converged value (checked to 40 digits with Decimal below) is 1.8580.
    r, alpha, a, b = (fitted.params_[k] for k in ("r", "alpha", "a", "b"))
    value = float(fitted.expected_transactions_new(78.0))
    assert round(value, 4) == 1.8580
    assert value == pytest.approx(_decimal_kernel(r, a, b, 78 / alpha), rel=1e-12)
    z = 78 / (alpha + 78)
    term, total = 1.0, 1.0
    for k in range(150):
        term *= (r + k) * (b + k) / ((a + b - 1 + k) * (k + 1)) * z
        total += term
    truncated = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + 78)) ** r * total)
    assert round(truncated, 4) == 1.8576


def test_note_027_large_frequency():
    # Hardie note 027: r = 0.25, alpha = 4, a = 0.8, b = 2.5, T = 40
    model = BetaGeo().with_params({"r": 0.25, "alpha": 4, "a": 0.8, "b": 2.5})
    values = model.log_likelihood_per_customer([200, 0], [38, 0], [40, 40])
    assert round(values[0], 4) == 100.7957
    assert round(values[1], 8) == -0.59947382
    # and it stays finite (and sensible) far beyond what the naive formula survives
    huge = model.log_likelihood_per_customer([5000, 20000], [39.9, 39.99], [40, 40])
    assert np.all(np.isfinite(huge))
    assert np.all(np.isfinite(model.probability_alive([5000, 20000], [39.9, 1.0], [40, 40])))


# ------------------------------------------------------------------------------------------------
# likelihood machinery
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "point",
    [
        [0.243, 4.414, 0.793, 2.426],
        [1.0, 1.0, 1.0, 1.0],
        [0.01, 200.0, 0.05, 30.0],
        [25.0, 0.3, 7.0, 0.2],
    ],
)
def test_analytic_gradient_matches_numerical(cdnow, point):
    model = BetaGeo()
    x, t_x, T = (np.asarray(v, dtype=float) for v in cdnow)
    # add heavy buyers so that the large-x branch is exercised
    x = np.concatenate([x, [300.0, 1500.0]])
    t_x = np.concatenate([t_x, [38.0, 30.0]])
    T = np.concatenate([T, [39.0, 39.0]])
    (ux, ut, uT), counts, _ = compress_histories(x, t_x, T)
    data = model._prepare(ux, ut, uT, counts)
    log_params = np.log(point)
    value, gradient = model._negative_log_likelihood(log_params, data, counts)
    numeric = numerical_gradient(
        lambda p: model._negative_log_likelihood(p, data, counts)[0], log_params
    )
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-4 * max(1.0, abs(value)) / 1e3)
    # the compressed total equals the per-customer sum
    per_customer = model.with_params(dict(zip(model._param_names, point, strict=True)))
    assert -value == pytest.approx(per_customer.log_likelihood_per_customer(x, t_x, T).sum())


def test_weighted_fit_equals_fit_on_expanded_rows(cdnow):
    x, t_x, T = (np.asarray(v, dtype=float) for v in cdnow)
    (ux, ut, uT), counts, _ = compress_histories(x, t_x, T)
    weighted = BetaGeo().fit(ux, ut, uT, weights=counts)
    expanded = BetaGeo().fit(
        np.repeat(ux, counts.astype(int)),
        np.repeat(ut, counts.astype(int)),
        np.repeat(uT, counts.astype(int)),
    )
    for name in PAPER:
        assert weighted.params_[name] == pytest.approx(expanded.params_[name], rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-10)


def test_recovers_parameters_from_simulation():
    true = {"r": 2.0, "alpha": 2.0, "a": 0.6, "b": 3.0}
    T = np.random.default_rng(7).uniform(100, 200, 50_000)
    data = BetaGeo().with_params(true).simulate(T, seed=11)
    assert list(data.columns) == ["frequency", "recency", "T"]
    model = BetaGeo().fit(data["frequency"], data["recency"], data["T"])
    for name, value in true.items():
        assert model.params_[name] == pytest.approx(value, rel=0.05), name
        # the design is informative enough that 5% is more than three standard errors
        assert model.standard_errors_[name] < 0.016 * value


# ------------------------------------------------------------------------------------------------
# the conditional-expectation kernel (FHL eq. 10 without P(alive))
# ------------------------------------------------------------------------------------------------
def _decimal_hyp2f1(p, q, c, z, digits):
    """2F1(p, q; c; z) in Decimal, summed term by term to ``digits`` significant digits (at
    least 20 terms, then until a term falls below the sum's last digits kept)."""
    term = total = Decimal(1)
    k = 0
    while k <= 20 or abs(term) >= abs(total) * Decimal(10) ** (-digits + 5):
        term = term * (p + k) * (q + k) / ((c + k) * (k + 1)) * z
        total += term
        k += 1
    return total


def _decimal_kernel(n, a, beta, tau, digits=50):
    """c/(a-1) [1 - (1+tau)^-n 2F1(n, beta; c; tau/(1+tau))], c = a+beta-1, in Decimal.

    The untransformed FHL form summed term by term with 50 significant digits: cancellation and
    slow convergence cost nothing at this precision.
    """
    getcontext().prec = digits
    n, a, beta, tau = (Decimal(repr(float(v))) for v in (n, a, beta, tau))
    c = a + beta - 1
    total = _decimal_hyp2f1(n, beta, c, tau / (1 + tau), digits)
    return float(c / (a - 1) * (1 - ((1 + tau).ln() * -n).exp() * total))


KERNEL_CASES = [
    (0.243, 0.793, 2.426, 39 / 4.414),
    (2.243, 0.793, 4.426, 39 / 43.27),
    (200.25, 0.8, 202.5, 39 / 44),  # note 027's heavy buyer
    (1000.25, 0.8, 1002.5, 2.5),
    (0.5, 1.5, 3.0, 0.01),
    (0.24, 0.79, 2.43, 12.0),
    (0.24, 0.79, 2.43, 1e-6),
    (5.0, 3.0, 7.0, 0.3),
    (50.0, 20.0, 30.0, 1.0),
    (0.24, 0.79, 2.43, 1000.0),  # z within 1e-3 of 1: quadrature
    (5.0, 1000.0, 1000.0, 100.0),  # huge a: quadrature
    (0.001, 1000.0, 1000.0, 0.01),
    (1.24, 1.0000001, 2.43, 3.0),  # a next to 1
]


@pytest.mark.parametrize("case", KERNEL_CASES)
def test_kernel_against_high_precision_reference(case):
    reference = _decimal_kernel(*case)
    value = float(beta_geo_kernel(*case))
    assert value == pytest.approx(reference, rel=1e-11)
    # both internal methods agree wherever the series is trusted
    arrays = [np.array([float(v)]) for v in case]
    series, ok = _kernel_series(*arrays)
    quadrature = _kernel_quadrature(*arrays)
    assert quadrature[0] == pytest.approx(reference, rel=1e-9)
    if ok[0]:
        assert series[0] == pytest.approx(reference, rel=1e-11)


@pytest.mark.parametrize(
    "case",
    [
        (2.168, 1e7, 1e7, 2.5),
        (0.168, 1e12, 3e12, 0.5),
        (5.0, 4.85e8, 4.85e8, 0.01),  # a plain fit's a, b at the edge of the search space
        (2.168, 9.3e18, 9.3e18, 0.9),  # the same shifted by dropout covariates at their edge
        (0.5, 2e6, 1.0, 3.0),
    ],
)
def test_kernel_of_a_nearly_point_beta_against_high_precision_reference(case):
    """Where a + beta is huge the series and the quadrature lost precision (a result 230 times
    too large at a = beta = 1e15, zero at 1e19): the delta method holds to the reference."""
    reference = _decimal_kernel(*case, digits=60)
    assert float(beta_geo_kernel(*case)) == pytest.approx(reference, rel=1e-11)


def test_kernel_is_continuous_through_a_equal_1():
    values = beta_geo_kernel(3.0, [1 - 1e-9, 1.0, 1 + 1e-9], 4.0, 2.5)
    assert np.ptp(values) < 1e-7 * values[1]
    # a = 1 exactly: E[1/p] diverges logarithmically, the kernel grows like log(tau)
    big = beta_geo_kernel(3.0, 1.0, 4.0, [1e3, 1e4, 1e5])
    assert np.all(np.diff(big) > 0)


def test_kernel_series_and_quadrature_agree_on_a_wide_grid():
    rng = np.random.default_rng(5)
    n = 4000
    args = (
        10 ** rng.uniform(-3, 3.5, n),
        10 ** rng.uniform(-3, 3, n),
        10 ** rng.uniform(-3, 3.5, n),
        10 ** rng.uniform(-6, 6, n),
    )
    series, ok = _kernel_series(*args)
    quadrature = _kernel_quadrature(*args)
    assert ok.mean() > 0.3
    assert np.all(np.isfinite(quadrature)) and np.all(quadrature >= 0)
    np.testing.assert_allclose(series[ok], quadrature[ok], rtol=1e-8)


def _decimal_kernel_euler(n, a, beta, tau, digits=60):
    """``K`` as c/(a-1) [1 - (1+tau)^(1-a) 2F1(c-n, a-1; c; z)] (FHL eq. 10 after Pfaff's and
    Euler's transformations), in Decimal: its terms fall like ``z^k`` whatever ``n`` and
    ``beta``, so that huge ones cost no more terms than small ones."""
    getcontext().prec = digits
    n, a, beta, tau = (Decimal(repr(float(v))) for v in (n, a, beta, tau))
    c = a + beta - 1
    total = _decimal_hyp2f1(c - n, a - 1, c, tau / (1 + tau), digits)
    prefactor = ((1 + tau).ln() * (1 - a)).exp()
    return float(c / (a - 1) * (1 - prefactor * total))


@pytest.mark.parametrize("beta", [1e6, 4e6, 1e8])
@pytest.mark.parametrize("a", [0.5, 2.7, 30.0])
def test_kernel_at_the_no_dropout_limit_against_high_precision_reference(a, beta):
    """b -> inf at a finite a (the no-dropout limit, where fits stop on the way at b of 1e5 to
    1e8): a + beta is huge but p's relative spread stays 1/sqrt(a), so the Beta is no point;
    the delta method was 1/a^2 off wherever dropout shows within the horizon (11% at a = 3)."""
    # n tau p0 from ~1e-6 to ~10 a: dropout invisible to dominant within the horizon (n below
    # beta, where the reference's terms fall like z^k)
    n = np.array([0.8, 30.8, 1e-4 * beta, 0.01 * beta, 0.3 * beta])
    tau = np.array([1.0, 3.0, 10.0, 30.0, 100.0])
    reference = [_decimal_kernel_euler(m, a, beta, t) for m, t in zip(n, tau, strict=True)]
    np.testing.assert_allclose(beta_geo_kernel(n, a, beta, tau), reference, rtol=1e-10)


@pytest.mark.parametrize("b", [1e6, 4e6, 1e8])
def test_predictions_near_the_no_dropout_limit(b):
    # a finite, b large: a fit stopping on its way to the no-dropout limit; over the whole
    # future an alive customer buys E[1/p] = (a+b+x-1)/(a-1) times (FHL 2005), which the
    # delta method put at about (a+b+x)/a (1 + 1/a), 14% low at a = 2.7
    params = {"r": 0.8, "alpha": 40.0, "a": 2.7, "b": b}
    model = BetaGeo().with_params(params)
    x, t_x, T = np.array([0.0, 2.0, 10.0]), np.array([0.0, 30.0, 150.0]), np.array([180.0] * 3)
    forever = 1e30  # (1 + p t / (alpha + T))^-(r+x) below 1e-15 for nearly every p
    alive = model.probability_alive(x, t_x, T)
    all_future = alive * (params["a"] + b + x - 1) / (params["a"] - 1)
    np.testing.assert_allclose(
        model.expected_transactions(forever, x, t_x, T), all_future, rtol=1e-6
    )
    assert model.expected_transactions_new(forever) == pytest.approx(
        (params["a"] + b - 1) / (params["a"] - 1), rel=1e-6
    )


# ------------------------------------------------------------------------------------------------
# other predictions
# ------------------------------------------------------------------------------------------------
def test_probability_alive(fitted):
    p = fitted.probability_alive([0, 2, 2, 50], [0, 30.43, 2.0, 5.0], [38.86] * 4)
    assert p[0] == 1.0  # BG/NBD: no repeat purchase, no chance to drop out
    assert 0.5 < p[1] < 1.0 and p[2] < p[1] and p[3] < 1e-10
    r, alpha, a, b = (fitted.params_[k] for k in ("r", "alpha", "a", "b"))
    direct = 1 / (1 + a / (b + 1) * ((alpha + 38.86) / (alpha + 30.43)) ** (r + 2))
    assert p[1] == pytest.approx(direct, rel=1e-13)


def test_probability_of_n_purchases_is_a_distribution(fitted):
    n = np.arange(0, 400)
    for t in (1.0, 39.0, 78.0):
        p = fitted.probability_of_n_purchases(t, n)
        assert np.all((p >= 0) & (p <= 1))
        assert p.sum() == pytest.approx(1.0, abs=1e-6)
        assert (n * p).sum() == pytest.approx(float(fitted.expected_transactions_new(t)), rel=1e-4)


def test_median_time_to_next_purchase(fitted):
    median = fitted.median_time_to_next_purchase([0, 2, 10], [0, 30.43, 34.14], [38.86] * 3)
    r, alpha = fitted.params_["r"], fitted.params_["alpha"]
    x = np.array([0, 2, 10])
    # Lomax survival ((alpha+T)/(alpha+T+w))^(r+x) is 1/2 at the median
    np.testing.assert_allclose(((alpha + 38.86) / (alpha + 38.86 + median)) ** (r + x), 0.5)
    # and by simulation of lambda ~ Gamma(r+x, alpha+T), W ~ Exp(lambda)
    rng = np.random.default_rng(0)
    lam = rng.gamma(r + 2, 1 / (alpha + 38.86), 400_000)
    assert np.median(rng.exponential(1 / lam)) == pytest.approx(median[1], rel=0.02)


def test_dert_against_brute_force_double_integral(fitted):
    r, alpha, a, b = (fitted.params_[k] for k in ("r", "alpha", "a", "b"))
    x, t_x, T, delta = 2.0, 30.43, 38.86, 0.02
    value = fitted.discounted_expected_residual_transactions(delta, x, t_x, T)[0]
    # DERT = P(alive) E[lambda / (delta + lambda p)], lambda ~ Gamma(r+x, alpha+T), p ~ Beta(a, b+x)
    n, theta, beta = r + x, alpha + T, b + x
    log_norm_p = -special.betaln(a, beta)

    def inner(lmb):
        # E_p[lambda / (delta + lambda p)], Beta weight handled by QAWS ('alg' weight)
        return integrate.quad(
            lambda p: lmb / (delta + lmb * p), 0, 1, weight="alg", wvar=(a - 1, beta - 1)
        )[0] * np.exp(log_norm_p)

    def gamma_pdf(lmb):
        return np.exp(n * np.log(theta) + (n - 1) * np.log(lmb) - theta * lmb - special.gammaln(n))

    brute = integrate.quad(lambda lmb: gamma_pdf(lmb) * inner(lmb), 0, np.inf, limit=100)[0]
    p_alive = fitted.probability_alive(x, t_x, T)[0]
    assert value == pytest.approx(p_alive * brute, rel=1e-6)
    # and equals delta * int e^(-delta t) E[X(t) | data] dt
    by_parts = integrate.quad(
        lambda t: delta * np.exp(-delta * t) * fitted.expected_transactions(t, x, t_x, T)[0],
        0,
        np.inf,
        limit=200,
    )[0]
    assert value == pytest.approx(by_parts, rel=1e-6)


def test_dert_limits():
    model = BetaGeo().with_params({"r": 0.5, "alpha": 6.0, "a": 2.5, "b": 3.0})
    x, t_x, T = np.array([0.0, 3.0]), np.array([0.0, 20.0]), np.array([30.0, 30.0])
    p_alive = model.probability_alive(x, t_x, T)
    # delta -> 0: all remaining purchases, E[1/p] = (a+b+x-1)/(a-1) (finite because a > 1)
    # (the approach is slow, like delta^(r+x), for x = 0; hence the tiny delta)
    small = model.discounted_expected_residual_transactions(1e-12, x, t_x, T)
    np.testing.assert_allclose(small, p_alive * (2.5 + 3 + x - 1) / 1.5, rtol=1e-4)
    # delta -> infinity: only the immediate rate counts, E[lambda | alive] / delta
    big = model.discounted_expected_residual_transactions(1e4, x, t_x, T)
    np.testing.assert_allclose(big * 1e4, p_alive * (0.5 + x) / (6.0 + T), rtol=1e-3)
    # decreasing in delta
    mid = model.discounted_expected_residual_transactions(0.01, x, t_x, T)
    assert np.all(small > mid) and np.all(mid > big)


def test_simulation_matches_the_model():
    params = {"r": 0.5, "alpha": 5.0, "a": 0.9, "b": 2.0}
    model = BetaGeo().with_params(params)
    data = model.simulate(np.full(200_000, 30.0), seed=2)
    assert np.all((data["recency"] >= 0) & (data["recency"] <= data["T"]))
    assert np.all((data["frequency"] == 0) == (data["recency"] == 0))
    assert data["frequency"].mean() == pytest.approx(
        float(model.expected_transactions_new(30.0)), rel=0.02
    )
    counts = np.bincount(data["frequency"].astype(int), minlength=4)[:4] / len(data)
    np.testing.assert_allclose(
        counts, model.probability_of_n_purchases(30.0, np.arange(4)), atol=0.004
    )


def test_inputs_accept_series_and_validate(fitted):
    frame = pd.DataFrame({"f": [1, 0], "r": [3.0, 0.0], "T": [10.0, 10.0]})
    p = fitted.probability_alive(frame["f"], frame["r"], frame["T"])
    assert isinstance(p, np.ndarray) and p.shape == (2,)
    e = fitted.expected_transactions(np.array([1.0, 5.0]), frame["f"], frame["r"], frame["T"])
    assert e[1] > 0
    with pytest.raises(ValueError):
        fitted.probability_alive([1], [11.0], [10.0])
    with pytest.raises(ValueError):
        fitted.expected_transactions(-1.0, [1], [3.0], [10.0])


# ------------------------------------------------------------------------------------------------
# properties over a wide grid of inputs
# ------------------------------------------------------------------------------------------------
log_param = st.floats(-3, 3).map(lambda v: 10.0**v)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    r=log_param,
    alpha=log_param,
    a=log_param,
    b=log_param,
    x=st.integers(0, 5000),
    T=st.floats(-2, 4).map(lambda v: 10.0**v),
    frac=st.floats(0, 1),
    t=st.floats(-3, 4).map(lambda v: 10.0**v),
)
def test_predictions_are_finite_and_in_range(r, alpha, a, b, x, T, frac, t):
    model = BetaGeo().with_params({"r": r, "alpha": alpha, "a": a, "b": b})
    t_x = frac * T if x > 0 else 0.0
    p = model.probability_alive(x, t_x, T)
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
    ts = np.array([0.0, t, 1.5 * t, 10 * t])
    e = model.expected_transactions(ts, x, t_x, T)
    assert np.all(np.isfinite(e)) and np.all(e >= 0) and e[0] == 0
    assert np.all(np.diff(e) >= -1e-9 * e[1:])
    new = model.expected_transactions_new(ts)
    assert np.all(np.isfinite(new)) and np.all(new >= 0)
    assert np.all(np.diff(new) >= -1e-9 * new[1:])
    assert np.all(np.isfinite(model.log_likelihood_per_customer(x, t_x, T)))
    median = model.median_time_to_next_purchase(x, t_x, T)
    assert np.all(np.isfinite(median) | (median == np.inf)) and np.all(median >= 0)
    pn = model.probability_of_n_purchases(t, [0, 1, x])
    assert np.all(np.isfinite(pn)) and np.all((pn >= 0) & (pn <= 1))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    r=log_param,
    alpha=log_param,
    a=log_param,
    b=log_param,
    x=st.integers(0, 2000),
    T=st.floats(-2, 4).map(lambda v: 10.0**v),
    delta=st.floats(-4, 1).map(lambda v: 10.0**v),
)
# a case where 14 quadrature panels were 1e-6 off, so discounting more seemed to add value
@example(r=1.0, alpha=0.001, a=100.0, b=1.0, x=7, T=0.01, delta=0.0001)
def test_dert_is_finite_and_positive(r, alpha, a, b, x, T, delta):
    model = BetaGeo().with_params({"r": r, "alpha": alpha, "a": a, "b": b})
    t_x = 0.5 * T if x > 0 else 0.0
    d1 = model.discounted_expected_residual_transactions(delta, x, t_x, T)
    d2 = model.discounted_expected_residual_transactions(2 * delta, x, t_x, T)
    assert np.all(np.isfinite(d1)) and np.all(d1 >= 0)
    assert np.all(d2 <= d1 * (1 + 1e-8))


def _series_checking_every_term(n, a, beta, tau, max_terms=3000):
    """The kernel's series as first written: every row's convergence checked after every term.

    :func:`_kernel_series` checks one row between its harvests (every 8 terms); its values and
    flags must be these, to the bit.
    """
    with np.errstate(all="ignore"):
        L = np.log1p(tau)
        z = tau / (1.0 + tau)
        c = a + beta - 1.0
        first = c * L * special.exprel((1.0 - a) * L)
        ok = np.isfinite(first) & (np.abs((1.0 - a) * L) < 600.0) & (tau > 0)
        active = np.flatnonzero(ok)
        term = (c - n)[active] * z[active] * np.exp(((1.0 - a) * L)[active])
        total, abs_total = term.copy(), np.abs(term)
        pa, aa, cc, zz, ff = (c - n)[active], a[active], c[active], z[active], np.abs(first[active])
        done_sum, done_abs = np.zeros_like(tau), np.zeros_like(tau)
        converged = np.zeros(len(tau), dtype=bool)
        k = 1
        while active.size and k < max_terms:
            ratio = (pa + k) * (aa + k - 1.0) / ((cc + k) * (k + 1.0)) * zz
            term = term * ratio
            total += term
            abs_total += np.abs(term)
            k += 1
            absr = np.abs(ratio)
            rho = np.maximum(absr, zz)
            tail = np.where(rho < 1.0, np.abs(term) * rho / (1.0 - rho), np.inf)
            finished = (tail <= 1e-17 * (ff + np.abs(total))) & (absr < 1.0) | (term == 0.0)
            if k % 8 == 0 or finished.all():
                finished |= ~np.isfinite(term)
                if finished.any():
                    idx = active[finished]
                    done_sum[idx], done_abs[idx] = total[finished], abs_total[finished]
                    converged[idx] = np.isfinite(total[finished])
                    keep = ~finished
                    active = active[keep]
                    term, total, abs_total = term[keep], total[keep], abs_total[keep]
                    pa, aa, cc, zz, ff = pa[keep], aa[keep], cc[keep], zz[keep], ff[keep]
        ok &= converged
        value = np.where(ok, first - done_sum, 0.0)
        condition = (np.abs(first) + done_abs) / np.where(value > 0, value, np.inf)
        ok &= (value > 0) & (condition < 1e3)
        ok |= tau == 0
        value[tau == 0] = 0.0
    return value, ok


@pytest.mark.parametrize("seed", range(40))
def test_kernel_series_stops_where_checking_every_term_would(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 2000))
    x = rng.integers(0, rng.choice([3, 30, 300, 3000]), m).astype(float)
    r, a, b = np.exp(rng.uniform([-4, -5, -5], [4, 5, 8]))
    if seed % 5 == 0:
        a = 1.0 + rng.choice([0.0, 1e-12, -1e-9])
    if seed % 7 == 0:  # whole parameters: some series terminate (a term of exactly 0)
        r, a, b = (float(v) for v in rng.integers(1, 5, 3))
    tau = np.exp(rng.uniform(-12, 8, m)) * (rng.random(m) > 0.02)
    arrays = (r + x, np.full(m, a), b + x, tau)
    value, ok = _kernel_series(*arrays)
    expected, expected_ok = _series_checking_every_term(*arrays)
    np.testing.assert_array_equal(value, expected)
    np.testing.assert_array_equal(ok, expected_ok)


def test_predictions_follow_histories_changed_in_place():
    """The last histories' grouping is reused only while they hold the same values, and only
    within remembering_histories."""
    with remembering_histories():
        _follow_histories_changed_in_place()
    assert remembered_histories() is None


def _follow_histories_changed_in_place():
    model = BetaGeo().with_params({"r": 0.8, "alpha": 70.0, "a": 0.9, "b": 2.9})
    f, r, T = np.array([0.0, 2.0, 5.0]), np.array([0.0, 10.0, 40.0]), np.array([50.0, 60.0, 90.0])
    before = model.expected_transactions(30.0, f, r, T)
    assert remembered_histories()[0] is not None
    assert np.array_equal(model.expected_transactions(30.0, f, r, T), before)
    f[0], r[0] = 3.0, 45.0
    after = model.expected_transactions(30.0, f, r, T)
    expected = model.expected_transactions(30.0, f.copy(), r.copy(), T.copy())
    np.testing.assert_array_equal(after, expected)
    assert after[0] != before[0]
    alive = model.probability_alive(f, r, T)
    T[2] = 200.0
    assert model.probability_alive(f, r, T)[2] != alive[2]


def test_kernel_series_tail_in_python_gives_the_arrays_bits_on_edge_rows():
    """The last rows in Python floats (_series_tail) against the arrays to the end, on rows that
    overflow, terminate, run out of terms or meet a zero denominator."""
    rng = np.random.default_rng(3)
    cases = [
        (np.array([2.0, 3.0, 1e300, 5.0]), np.array([1.5, 4.0, 2.0, 1.0]),
         np.array([2.0, 1.0, 3.0, 1e-300]), np.array([50.0, 1e8, 3.0, 0.5])),
        (np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0]),  # whole: terminating series
         np.array([1.0, 2.0, 1.0]), np.array([0.3, 9.0, 400.0])),
        (rng.uniform(0.1, 30, 6), np.full(6, 0.7), rng.uniform(0.1, 50, 6),
         np.exp(rng.uniform(-3, 9, 6))),
        (np.array([1.0, 2.0]), np.array([1e-18, 0.5]), np.array([1e-18, 0.5]),
         np.array([2.0, 3.0])),
    ]  # fmt: skip
    # a row whose sum is taken at a multiple of 8 terms: its last bit depends on when
    cases.append(
        tuple(
            np.array(row)
            for row in (
                [0.21215818845526252, 11.033230818538371, 23.983870677959295],
                [0.6579137328623718, 1.4196157920675567, 23.470009958560485],
                [0.13455809903259514, 42.45834939918991, 25.680115360901826],
                [2.125978238707934, 32.009984528832966, 3.4063723765968965],
            )
        )
    )
    for n, a, beta, tau in cases:
        for max_terms in (3000, 40):
            value, ok = _kernel_series(n, a, beta, tau, max_terms)
            arrays, arrays_ok = _kernel_series(n, a, beta, tau, max_terms, scalar_tail=False)
            np.testing.assert_array_equal(value, arrays)
            np.testing.assert_array_equal(ok, arrays_ok)


def test_long_series_of_a_few_rows_go_to_the_quadrature_and_many_rows_keep_the_series():
    rng = np.random.default_rng(5)

    def rows(m, a):
        tau = rng.uniform(0.01, 9.0, m)  # z up to 0.9
        return rng.uniform(0.5, 10, m), np.full(m, a), rng.uniform(a / 2, 2 * a, m), tau

    few_large_a = rows(200, 300.0)
    assert _series_too_long(few_large_a[1], few_large_a[3]).all()
    # the kernel is then the quadrature's, and that agrees with the series where it converged
    kernel = beta_geo_kernel(*few_large_a)
    series, ok = _kernel_series(*few_large_a)
    assert ok.sum() > 100
    np.testing.assert_allclose(kernel[ok], series[ok], rtol=1e-11)
    assert not _series_too_long(*rows(200, 1.0)[1::2]).any()  # small a: the series
    many = rows(50_000, 300.0)
    assert not _series_too_long(many[1], many[3]).any()  # the terms' overhead is shared


def test_the_kernel_at_the_fixed_dropout_limit_is_the_limit_models():
    # a fit on the edge b -> inf with a as large (a shop of one-order repeaters: a and b of
    # 1e7-5e8, p = a / (a + b) held): the Beta lies between the quadrature's coarse grid points,
    # which once gave 0.00065 expected orders where the limit model gives 2.64
    rng = np.random.default_rng(4)
    a = np.exp(rng.uniform(np.log(1e6), 20.0, 400))
    beta = np.exp(rng.uniform(np.log(1e6), 20.0, 400))
    n, tau = rng.uniform(0.1, 30.0, 400), np.exp(rng.uniform(-6.0, 4.0, 400))
    p = a / (a + beta)
    fixed = -np.expm1(-n * np.log1p(p * tau)) / p
    np.testing.assert_allclose(beta_geo_kernel(n, a, beta, tau), fixed, rtol=1e-5)
    assert beta_geo_kernel(2.707, 7.3e7, 4.85e8 + 2, 1.298) == pytest.approx(2.6444, rel=1e-4)
