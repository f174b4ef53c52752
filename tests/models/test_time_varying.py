"""Time-varying purchase covariates: Pareto/NBD (Bachmann, Meierer & Naef 2021) and the BG family.

The closed-form likelihood is checked against a numerical integration of its definition, the
all-zero covariates against the plain models, the coefficients against simulations with known
values, and the predictions over a horizon with known future covariates against simulation.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

import valuecast.models.pareto_nbd_tv as pareto_tv
from valuecast.models import BetaGeo, ModifiedBetaGeo, ParetoNBD
from valuecast.models._time_varying import CovariatePeriods
from valuecast.models.beta_geo_tv import BetaGeoTimeVarying, ModifiedBetaGeoTimeVarying
from valuecast.models.pareto_nbd_tv import (
    ParetoNBDTimeVarying,
    log_bracket,
    log_bracket_gradient,
    log_piece_integral,
    quadrature_applies,
)

SMALL = CovariatePeriods(
    np.array([-400.0, -300, -250, -100, -30, 0, 50, 100]),
    np.array([[0, 1], [1, 0], [0, 0], [1, 1], [0, 1], [1, 0], [0, 0.0]]),
    ("promo", "high_season"),
)
GAMMA = np.array([0.7, -0.4])
# (x, t_x, T): one-timers, a purchase on a period edge (t_x - T = -100), one just before the end,
# T inside one period, a heavy buyer, histories starting before the first edge
HISTORIES = np.array(
    [[0, 0, 350], [2, 120, 350], [5, 340, 350], [1, 10, 20], [30, 200, 390], [0, 0, 5],
     [3, 250, 350], [4, 100, 450], [1, 440, 450]],
    dtype=float,
)  # fmt: skip


def simulate(periods, gamma, params, T, seed, family="pnbd"):
    """Customers of the time-varying model observed for ``T`` each, up to the end (position 0).

    Purchases are a Poisson process of rate lambda in operational time, mapped back to calendar
    time by the clock; Pareto/NBD lifetimes run on the calendar, BG/NBD customers drop out after
    a purchase with probability p.  Returns frequency, recency, T and the covariates summed over
    each customer's repeat purchases.
    """
    rng = np.random.default_rng(seed)
    clock = periods.clock(gamma)
    n = len(T)
    r, alpha, third, fourth = params
    lam = rng.gamma(r, 1 / alpha, n)
    if family == "pnbd":
        lifetime = rng.exponential(1 / rng.gamma(third, 1 / fourth, n))
        exposure = clock.elapsed(-T, np.minimum(lifetime, T))
    else:
        exposure = clock.elapsed(-T, T)
    count = rng.poisson(lam * exposure)
    who = np.repeat(np.arange(n), count)
    operational = rng.random(len(who)) * exposure[who]
    if family != "pnbd":  # BG/NBD: gone after a purchase with probability p, so only the first
        # K purchases in time order happen, K ~ Geometric(p) counting the last one
        order = np.lexsort((operational, who))
        who, operational = who[order], operational[order]
        rank = np.arange(len(who)) - np.repeat(np.cumsum(count) - count, count)
        kept = rank < rng.geometric(rng.beta(third, fourth, n))[who]
        who, operational = who[kept], operational[kept]
    when = clock.time_to(-T[who], operational)
    x = np.bincount(who, minlength=n).astype(float)
    t_x = np.zeros(n)
    np.maximum.at(t_x, who, when)
    sums = np.zeros((n, len(periods.names)))
    np.add.at(sums, who, periods.values_at(when - T[who]))
    return x, t_x, T.astype(float), sums


@pytest.fixture(params=["quadrature where it applies", "hypergeometric only"])
def piece_route(request, monkeypatch):
    """The likelihood's pieces integrated as shipped, or all by the hypergeometric terms."""
    if request.param == "hypergeometric only":
        monkeypatch.setattr(pareto_tv, "QUADRATURE_MAX_SPREAD", -np.inf)
    return request.param


# ------------------------------------------------------------------------------------------------
# the closed form
@pytest.mark.parametrize("alpha", [30.0, 300.0])  # both sides of a' = beta in the hypergeometric
def test_pareto_likelihood_equals_numerical_integration(alpha, piece_route):
    r, s, beta = 0.8, 0.6, 60.0
    clock = SMALL.clock(GAMMA)
    x, t_x, T = HISTORIES.T
    closed, _ = log_bracket(np.array([r, alpha, s, beta]), clock, x, t_x, T)
    for i in range(len(x)):

        def exposure(tau, i=i):
            return clock.at(tau - T[i]) - clock.at(-T[i])

        def integrand(tau, i=i):
            return (alpha + exposure(tau)) ** -(r + x[i]) * (beta + tau) ** -(s + 1)

        edges = [e + T[i] for e in SMALL.edges if t_x[i] < e + T[i] < T[i]]
        tail, _ = quad(integrand, t_x[i], T[i], points=edges or None, epsabs=0, epsrel=1e-13,
                       limit=500)  # fmt: skip
        first = (alpha + exposure(T[i])) ** -(r + x[i]) * (beta + T[i]) ** -s
        assert closed[i] == pytest.approx(np.log(first + s * tail), abs=1e-8)


def test_pareto_gradient_matches_finite_differences(piece_route):
    x, t_x, T = HISTORIES.T
    theta = np.array([0.8, 30.0, 0.6, 60.0, *GAMMA])

    def value(th):
        return log_bracket(th[:4], SMALL.clock(th[4:]), x, t_x, T)[0]

    _, analytic = log_bracket_gradient(theta[:4], SMALL.clock(theta[4:]), x, t_x, T)
    _assert_central_differences(value, theta, analytic)


def _assert_central_differences(value, theta: np.ndarray, analytic: np.ndarray) -> None:
    """Each column of ``analytic`` (per history) against central differences of ``value``."""
    for i in range(len(theta)):
        step = 1e-6 * max(1.0, abs(theta[i]))
        up, down = theta.copy(), theta.copy()
        up[i] += step
        down[i] -= step
        numeric = (value(up) - value(down)) / (2 * step)
        np.testing.assert_allclose(analytic[:, i], numeric, rtol=1e-6, atol=1e-8)


def test_quadrature_pieces_equal_the_integral_and_the_other_pieces_stay_hypergeometric():
    """Pieces drawn over wide ranges of every input (purchases up to 300, the singularities from
    a thousandth of a piece away to far off).  Where quadrature applies, its log integral equals
    adaptive quadrature's (``scipy.integrate.quad``), its derivatives the hypergeometric route's
    where that route is well conditioned (its two ``F`` differ by more than 10%); elsewhere the
    pieces are the hypergeometric route's own."""
    rng = np.random.default_rng(3)
    n = 20_000
    s, beta = 0.6, 75.0
    p = np.exp(rng.uniform(np.log(0.01), np.log(300), n))
    length = np.exp(rng.uniform(np.log(0.01), np.log(100), n))
    lo = rng.uniform(0, 1000, n)
    hi = lo + length
    a = length * np.exp(rng.uniform(np.log(1e-3), np.log(1e5), n)) - lo
    applies = quadrature_applies(p, s, a, beta, lo, hi)
    assert 0.3 < applies.mean() < 0.9
    outside = np.flatnonzero(~applies)[:20]  # the far ends of these ranges take thousands of terms
    value, gradient = log_piece_integral(
        p[outside], s, a[outside], beta, lo[outside], hi[outside], grad=True
    )
    plain, plain_gradient = pareto_tv._log_integral_by_hypergeometric(
        p[outside], s, a[outside], beta, lo[outside], hi[outside], grad=True
    )
    np.testing.assert_array_equal(value, plain)
    np.testing.assert_array_equal(gradient, plain_gradient)

    inside = np.flatnonzero(applies)[:4000]
    p, a, lo, hi = p[inside], a[inside], lo[inside], hi[inside]
    value, gradient = log_piece_integral(p, s, a, beta, lo, hi, grad=True)
    conditioned = -np.expm1(pareto_tv.log_f(p, s, a, beta, hi) - pareto_tv.log_f(p, s, a, beta, lo))
    # adaptive quadrature of the integrand over its value at lo (no underflow at p = 300), on
    # the worst-conditioned pieces for the hypergeometric route and a random draw of the rest
    picked = np.concatenate([np.argsort(conditioned)[:100], rng.choice(len(p), 200, replace=False)])
    for i in picked:

        def log_integrand(u, i=i):
            return -p[i] * np.log(a[i] + u) - (s + 1.0) * np.log(beta + u)

        def integrand(u, i=i):
            return np.exp(log_integrand(u) - log_integrand(lo[i]))

        exact, _ = quad(integrand, lo[i], hi[i], epsabs=0, epsrel=1e-13)
        assert value[i] == pytest.approx(np.log(exact) + log_integrand(lo[i]), abs=1e-11)
    good = conditioned > 0.1
    assert good.mean() > 0.1
    _, plain_gradient = pareto_tv._log_integral_by_hypergeometric(
        p[good], s, a[good], beta, lo[good], hi[good], grad=True
    )
    # atol: that route's d/dp and d/ds subtract 1/(p+s) from terms of the size of log(a+u)
    np.testing.assert_allclose(gradient[:, good], plain_gradient, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("model", [BetaGeoTimeVarying(), ModifiedBetaGeoTimeVarying()])
def test_bg_family_gradient_matches_finite_differences(model):
    x, t_x, T = HISTORIES.T
    theta = np.array([0.8, 30.0, 0.9, 2.5, *GAMMA])

    def value(th):
        return model._log_likelihood_rest(th[:4], SMALL.clock(th[4:]), x, t_x, T)

    rest, analytic = model._log_likelihood_rest_gradient(theta[:4], SMALL.clock(GAMMA), x, t_x, T)
    np.testing.assert_allclose(rest, value(theta), rtol=1e-13)
    _assert_central_differences(value, theta, analytic)


def test_zero_covariates_give_the_plain_pareto_nbd():
    x, t_x, T = HISTORIES.T
    zero = CovariatePeriods(SMALL.edges, np.zeros((7, 1)), ("nothing",))
    params = {"r": 0.8, "alpha": 30.0, "s": 0.6, "beta": 60.0}
    plain = ParetoNBD().with_params(params)
    model = ParetoNBDTimeVarying.from_params({**params, "nothing": 1.0}, zero)
    np.testing.assert_allclose(
        model.log_likelihood_per_customer(x, t_x, T, np.zeros((len(x), 1))),
        plain.log_likelihood_per_customer(x, t_x, T), rtol=1e-12, atol=1e-12,
    )  # fmt: skip
    np.testing.assert_allclose(
        model.probability_alive(x, t_x, T), plain.probability_alive(x, t_x, T), rtol=1e-12
    )
    np.testing.assert_allclose(
        model.expected_transactions(90.0, x, t_x, T),
        plain.expected_transactions(90.0, x, t_x, T),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        model.expected_transactions_new([30.0, 200.0]), plain.expected_transactions_new([30.0, 200.0]),
        rtol=1e-12,
    )  # fmt: skip


def test_all_zero_covariates_fit_and_predict_as_the_plain_models_exactly():
    rng = np.random.default_rng(3)
    T = rng.uniform(30, 400, 400)
    x, t_x, T, _ = simulate(SMALL, [0.0, 0.0], (0.8, 30.0, 0.6, 200.0), T, seed=4)
    zero = CovariatePeriods(SMALL.edges, np.zeros((7, 2)), ("promo", "high_season"))
    for plain, varying in (
        (ParetoNBD(), ParetoNBDTimeVarying()),
        (BetaGeo(), BetaGeoTimeVarying()),
        (ModifiedBetaGeo(), ModifiedBetaGeoTimeVarying()),
    ):
        plain.fit(x, t_x, T)
        varying.fit(x, t_x, T, periods=zero, purchase_sums=np.zeros((len(x), 2)))
        assert {k: varying.params_[k] for k in plain.params_} == plain.params_
        assert varying.log_likelihood_ == plain.log_likelihood_
        assert varying.coefficients_["purchase"] == {"promo": 0.0, "high_season": 0.0}
        for name in plain.params_:
            assert varying.standard_errors_[name] == plain.standard_errors_[name]
        # predictions run the time-varying formulas (in operational time): the same to rounding
        np.testing.assert_allclose(
            varying.probability_alive(x, t_x, T), plain.probability_alive(x, t_x, T), rtol=1e-12
        )
        np.testing.assert_allclose(
            varying.expected_transactions(90.0, x, t_x, T),
            plain.expected_transactions(90.0, x, t_x, T), rtol=1e-12,
        )  # fmt: skip


def test_zero_covariates_fit_the_plain_models():
    """A covariate that is 0 everywhere (held at 0 by a ridge) leaves the fit the plain one."""
    rng = np.random.default_rng(3)
    T = rng.uniform(30, 400, 400)
    x, t_x, T, _ = simulate(SMALL, [0.0, 0.0], (0.8, 30.0, 0.6, 200.0), T, seed=4)
    zero = CovariatePeriods(SMALL.edges, np.zeros((7, 1)), ("nothing",))
    for plain, varying in (
        (ParetoNBD(), ParetoNBDTimeVarying()),
        (BetaGeo(), BetaGeoTimeVarying()),
    ):
        plain.fit(x, t_x, T)
        varying.fit(x, t_x, T, periods=zero, purchase_sums=np.zeros((len(x), 1)), l2=1.0)
        assert varying.coefficients_["purchase"]["nothing"] == 0.0
        for name, value in plain.params_.items():
            assert varying.params_[name] == pytest.approx(value, rel=1e-6)
        assert varying.log_likelihood_ == pytest.approx(plain.log_likelihood_, abs=1e-6)


# ------------------------------------------------------------------------------------------------
# recovery of known coefficients
QUARTERS = CovariatePeriods(
    np.arange(-720.0, 361.0, 90.0),
    np.array([[1, 0], [0, 1], [0, 0], [1, 1], [0, 0], [1, 0], [0, 1], [0, 0], [1, 0], [0, 0.0],
              [1, 1], [0, 0]]),
    ("promo", "high_season"),
)  # fmt: skip
TRUE_GAMMA = np.array([0.6, -0.3])


def _within_two_standard_errors(model, truth: dict[str, float]) -> list[str]:
    off = []
    for name, value in truth.items():
        estimate = model.coefficients_["purchase"][name]
        error = model.coefficient_standard_errors_["purchase"][name]
        if abs(estimate - value) > 2 * error:
            off.append(f"{name} {estimate:.4f} +- {error:.4f} (true {value})")
    return off


def test_pareto_recovers_time_varying_coefficients():
    T = np.random.default_rng(5).uniform(60, 720, 5_000)
    x, t_x, T, sums = simulate(QUARTERS, TRUE_GAMMA, (0.7, 40.0, 0.6, 300.0), T, seed=6)
    model = ParetoNBDTimeVarying().fit(x, t_x, T, periods=QUARTERS, purchase_sums=sums)
    assert not _within_two_standard_errors(
        model, dict(zip(QUARTERS.names, TRUE_GAMMA, strict=True))
    )
    for name, value in {"r": 0.7, "alpha": 40.0, "s": 0.6, "beta": 300.0}.items():
        assert abs(model.params_[name] - value) < 3 * model.standard_errors_[name], name


def test_bgnbd_recovers_time_varying_coefficients_on_50k_customers():
    T = np.random.default_rng(7).uniform(60, 720, 50_000)
    x, t_x, T, sums = simulate(QUARTERS, TRUE_GAMMA, (0.7, 40.0, 0.8, 3.0), T, seed=8, family="bg")
    model = BetaGeoTimeVarying().fit(x, t_x, T, periods=QUARTERS, purchase_sums=sums)
    assert not _within_two_standard_errors(
        model, dict(zip(QUARTERS.names, TRUE_GAMMA, strict=True))
    )


def test_predictions_integrate_the_future_covariates():
    """A new customer's expected purchases over (0, t] against customers simulated over exactly
    that stretch of the calendar (the periods shifted so that their window is the future)."""
    params = {"r": 0.7, "alpha": 40.0, "s": 0.6, "beta": 300.0}
    multipliers = dict(zip(QUARTERS.names, np.exp(TRUE_GAMMA), strict=True))
    model = ParetoNBDTimeVarying.from_params({**params, **multipliers}, QUARTERS)
    horizon = 300.0
    shifted = CovariatePeriods(QUARTERS.edges - horizon, QUARTERS.values, QUARTERS.names)
    x, *_ = simulate(shifted, TRUE_GAMMA, tuple(params.values()), np.full(200_000, horizon), 9)
    expected = model.expected_transactions_new(horizon)[0]
    assert x.mean() == pytest.approx(expected, rel=0.02)
    plain = ParetoNBD().with_params(params).expected_transactions_new(horizon)[0]
    assert abs(plain - x.mean()) > 0.1 * x.mean()  # the covariates matter over this horizon


@pytest.mark.parametrize(
    "model, limit, unidentified",
    [
        (BetaGeoTimeVarying, {"a": "0"}, ("a", "b")),
        (ModifiedBetaGeoTimeVarying, {"a": "0"}, ("a", "b")),
        (ParetoNBDTimeVarying, {"s": "0"}, ("s", "beta")),
    ],
)
def test_no_dropout_is_the_plain_models_limit_with_standard_errors(model, limit, unidentified):
    # 300 customers who never leave (lifetimes of ~2e10 days): the fit is the limit model, the
    # NBD on the calendar's clock, as for the plain model; the dropout parameter left on the
    # edge and its partner (b, beta) have no say there, and everything else has a standard
    # error, so the delta method's intervals exist (a daily-buyers shop had none)
    T = np.random.default_rng(21).uniform(300, 1000, 300)
    x, t_x, T, sums = simulate(QUARTERS, TRUE_GAMMA, (1.2, 3.0, 50.0, 1e12), T, seed=22)
    with pytest.warns(RuntimeWarning, match="no dropout visible"):
        fitted = model().fit(x, t_x, T, periods=QUARTERS, purchase_sums=sums)
    assert fitted.limits_ == limit
    errors = fitted.standard_errors_
    assert all(np.isnan(errors[name]) for name in unidentified)
    identified = [name for name in fitted.params_ if name not in unidentified]
    assert all(np.isfinite(errors[name]) and errors[name] > 0 for name in identified)
    assert np.all(np.isfinite(fitted.covariance_full_))
