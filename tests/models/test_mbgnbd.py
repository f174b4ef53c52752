"""MBG/NBD (Batislam, Denizel & Filiztekin 2007, IJRM 24(3)).

Reference (REFERENCES.md): CDNOW 39 weeks as fitted by BTYDplus (Platzer): r = 0.525,
alpha = 6.183, a = 0.891, b = 1.614, log-likelihood about -9582.1. The formulas are also checked
against brute-force integrals over (lambda, p) of the generative model.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, special

from valuecast.datasets import load_cdnow_summary
from valuecast.models import BetaGeo, ModifiedBetaGeo
from valuecast.models._fitting import compress_histories, numerical_gradient

BTYDPLUS = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}


@pytest.fixture(scope="module")
def cdnow():
    frame = load_cdnow_summary()
    return frame["frequency"], frame["recency"], frame["T"]


@pytest.fixture(scope="module")
def fitted(cdnow):
    return ModifiedBetaGeo().fit(*cdnow)


def test_cdnow_estimates_match_btydplus(fitted):
    # BTYDplus mbgnbd.EstimateParameters on CDNOW (REFERENCES.md): 0.525, 6.183, 0.891, 1.614
    for name, value in BTYDPLUS.items():
        assert round(fitted.params_[name], 3) == value
    # "LL about -9582.1"
    assert round(fitted.log_likelihood_, 1) == -9582.1
    assert fitted.converged_


def _posterior_integral(params, x, t_x, T, function):
    """int int function(lam, p) * L(lam, p | x, t_x, T) dF(lam) dF(p) for the MBG/NBD.

    Generative model: a coin is tossed after the first and after every repeat purchase. Alive at T:
    (1-p)^(x+1) lam^x e^(-lam T); dropped out right after the purchase at t_x:
    p (1-p)^x lam^x e^(-lam t_x).
    """
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))

    def gamma_pdf(lam):
        return np.exp(r * np.log(alpha) + (r - 1) * np.log(lam) - alpha * lam - special.gammaln(r))

    def inner(lam):
        def f(p):
            alive = (1 - p) ** (x + 1) * lam**x * np.exp(-lam * T)
            dead = p * (1 - p) ** x * lam**x * np.exp(-lam * t_x)
            return function(lam, p, alive, dead)

        value = integrate.quad(f, 0, 1, weight="alg", wvar=(a - 1, b - 1), limit=200)[0]
        return value * np.exp(-special.betaln(a, b))

    return integrate.quad(lambda lam: gamma_pdf(lam) * inner(lam), 0, np.inf, limit=200)[0]


def test_likelihood_against_brute_force_integral():
    model = ModifiedBetaGeo().with_params(BTYDPLUS)
    for x, t_x, T in [(0, 0.0, 38.86), (2, 30.43, 38.86), (7, 29.43, 38.86)]:
        brute = _posterior_integral(BTYDPLUS, x, t_x, T, lambda lam, p, al, de: al + de)
        value = model.log_likelihood_per_customer(x, t_x, T)[0]
        assert value == pytest.approx(np.log(brute), abs=1e-7)


def test_conditional_expectation_and_p_alive_against_brute_force():
    model = ModifiedBetaGeo().with_params(BTYDPLUS)
    x, t_x, T, t = 2, 30.43, 38.86, 39.0
    total = _posterior_integral(BTYDPLUS, x, t_x, T, lambda lam, p, al, de: al + de)
    alive = _posterior_integral(BTYDPLUS, x, t_x, T, lambda lam, p, al, de: al)
    # an alive customer buys (1 - e^(-lam p t)) / p times on average over the next t
    future = _posterior_integral(
        BTYDPLUS,
        x,
        t_x,
        T,
        lambda lam, p, al, de: al * (-np.expm1(-lam * p * t) / p if p > 0 else lam * t),
    )
    assert model.probability_alive(x, t_x, T)[0] == pytest.approx(alive / total, rel=1e-7)
    assert model.expected_transactions(t, x, t_x, T)[0] == pytest.approx(future / total, rel=1e-7)
    # x = 0 customers can be dead (dropout at time 0), unlike in the BG/NBD
    p0 = model.probability_alive(0, 0, T)[0]
    assert 0 < p0 < 1
    alive0 = _posterior_integral(BTYDPLUS, 0, 0.0, T, lambda lam, p, al, de: al)
    total0 = _posterior_integral(BTYDPLUS, 0, 0.0, T, lambda lam, p, al, de: al + de)
    assert p0 == pytest.approx(alive0 / total0, rel=1e-7)
    assert BetaGeo().with_params(BTYDPLUS).probability_alive(0, 0, T)[0] == 1.0


def test_unconditional_expectation_formula(fitted):
    # Batislam et al. (2007): E[X(t)] = b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]
    r, alpha, a, b = (fitted.params_[k] for k in ("r", "alpha", "a", "b"))
    for t in (1.0, 39.0, 78.0):
        z = t / (alpha + t)
        direct = b / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b + 1, a + b, z))
        assert float(fitted.expected_transactions_new(t)) == pytest.approx(direct, rel=1e-9)


@pytest.mark.parametrize(
    "point",
    [
        [0.525, 6.183, 0.891, 1.614],
        [1.0, 1.0, 1.0, 1.0],
        [0.02, 300.0, 0.05, 40.0],
        [20.0, 0.2, 9.0, 0.1],
    ],
)
def test_analytic_gradient_matches_numerical(cdnow, point):
    model = ModifiedBetaGeo()
    x, t_x, T = (np.asarray(v, dtype=float) for v in cdnow)
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
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-4)
    per_customer = model.with_params(dict(zip(model._param_names, point, strict=True)))
    assert -value == pytest.approx(per_customer.log_likelihood_per_customer(x, t_x, T).sum())


def test_weighted_fit_equals_fit_on_expanded_rows(cdnow):
    x, t_x, T = (np.asarray(v, dtype=float) for v in cdnow)
    (ux, ut, uT), counts, _ = compress_histories(x, t_x, T)
    reps = counts.astype(int)
    weighted = ModifiedBetaGeo().fit(ux, ut, uT, weights=counts)
    expanded = ModifiedBetaGeo().fit(np.repeat(ux, reps), np.repeat(ut, reps), np.repeat(uT, reps))
    for name in BTYDPLUS:
        assert weighted.params_[name] == pytest.approx(expanded.params_[name], rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-10)


def test_recovers_parameters_from_simulation():
    true = {"r": 2.0, "alpha": 2.0, "a": 0.6, "b": 3.0}
    T = np.random.default_rng(7).uniform(100, 200, 50_000)
    data = ModifiedBetaGeo().with_params(true).simulate(T, seed=11)
    model = ModifiedBetaGeo().fit(data["frequency"], data["recency"], data["T"])
    for name, value in true.items():
        assert model.params_[name] == pytest.approx(value, rel=0.05), name
        assert model.standard_errors_[name] < 0.016 * value


def test_simulation_matches_the_model():
    params = {"r": 0.5, "alpha": 5.0, "a": 0.9, "b": 2.0}
    model = ModifiedBetaGeo().with_params(params)
    data = model.simulate(np.full(200_000, 30.0), seed=4)
    assert np.all((data["recency"] >= 0) & (data["recency"] <= data["T"]))
    assert np.all((data["frequency"] == 0) == (data["recency"] == 0))
    assert data["frequency"].mean() == pytest.approx(
        float(model.expected_transactions_new(30.0)), rel=0.02
    )
    p = model.probability_of_n_purchases(30.0, np.arange(400))
    assert p.sum() == pytest.approx(1.0, abs=1e-6)
    assert (np.arange(400) * p).sum() == pytest.approx(
        float(model.expected_transactions_new(30.0)), rel=1e-4
    )
    counts = np.bincount(data["frequency"].astype(int), minlength=4)[:4] / len(data)
    np.testing.assert_allclose(counts, p[:4], atol=0.004)


def test_median_time_and_dert(fitted):
    r, alpha = fitted.params_["r"], fitted.params_["alpha"]
    median = fitted.median_time_to_next_purchase([0, 4], [0, 20.0], [38.86, 38.86])
    np.testing.assert_allclose(
        ((alpha + 38.86) / (alpha + 38.86 + median)) ** (r + np.array([0, 4])), 0.5
    )
    x, t_x, T, delta = 2.0, 30.43, 38.86, 0.02
    value = fitted.discounted_expected_residual_transactions(delta, x, t_x, T)[0]
    by_parts = integrate.quad(
        lambda t: delta * np.exp(-delta * t) * fitted.expected_transactions(t, x, t_x, T)[0],
        0,
        np.inf,
        limit=200,
    )[0]
    assert value == pytest.approx(by_parts, rel=1e-6)
    # delta -> 0 with a > 1: P(alive) (a+b+x)/(a-1), the posterior mean of 1/p
    model = ModifiedBetaGeo().with_params({"r": 3.0, "alpha": 6.0, "a": 2.5, "b": 3.0})
    small = model.discounted_expected_residual_transactions(
        1e-12, [0.0, 3.0], [0.0, 20.0], [30.0, 30.0]
    )
    expected = (
        model.probability_alive([0.0, 3.0], [0.0, 20.0], [30.0, 30.0])
        * (2.5 + 3.0 + np.array([0.0, 3.0]))
        / 1.5
    )
    np.testing.assert_allclose(small, expected, rtol=1e-4)


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
    model = ModifiedBetaGeo().with_params({"r": r, "alpha": alpha, "a": a, "b": b})
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
    assert np.all(model.median_time_to_next_purchase(x, t_x, T) >= 0)
    pn = model.probability_of_n_purchases(t, [0, 1, x])
    assert np.all(np.isfinite(pn)) and np.all((pn >= 0) & (pn <= 1))
    dert = model.discounted_expected_residual_transactions(0.01, x, t_x, T)
    assert np.all(np.isfinite(dert)) and np.all(dert >= 0)
