"""Time-invariant covariates in the history models (Fader & Hardie 2007; CLVTools' parameterisation).

``alpha_i = alpha exp(-gamma_p . x_i)`` in every model; Pareto/NBD and GGompertz/NBD
``beta_i = beta exp(-gamma_d . z_i)``; BG/NBD and MBG/NBD ``a_i = a exp(gamma_d . z_i)``,
``b_i = b exp(gamma_d . z_i)``.  The simulators and the brute-force likelihoods below write
those formulas out on their own, so a sign or a target wrong in the models shows here.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad
from scipy.special import betaln, gammaln

from gradient_check import assert_objective_gradient
from valuecast.datasets import load_cdnow_summary
from valuecast.models import BetaGeo, GGompertzNBD, ModifiedBetaGeo, ParetoNBD
from valuecast.models._covariates import CovariateModel, PatternData
from valuecast.models.clv import customer_lifetime_value, expected_transactions_by_period

GAMMA_P = {"promo": 0.5, "score": -0.3}
GAMMA_D = {"promo": -0.4, "score": 0.25}


def individual(model, params, x_row, z_row, gp=GAMMA_P, gd=GAMMA_D):
    """The parameters of one customer, by the formulas of the module docstring."""
    purchase = sum(gp[k] * v for k, v in x_row.items())
    dropout = sum(gd[k] * v for k, v in z_row.items())
    out = dict(params, alpha=params["alpha"] * math.exp(-purchase))
    if model in (BetaGeo, ModifiedBetaGeo):
        out.update(a=params["a"] * math.exp(dropout), b=params["b"] * math.exp(dropout))
    else:
        out.update(beta=params["beta"] * math.exp(-dropout))
    return out


def covariates(n: int, rng) -> pd.DataFrame:
    """A binary covariate and a continuous one on a grid of five values (ten patterns)."""
    return pd.DataFrame(
        {"promo": rng.integers(0, 2, n).astype(float), "score": rng.integers(-2, 3, n) / 2.0}
    )


def simulate(model, params, frame, T, rng):
    """Histories drawn customer by customer at their own parameters (no model code involved)."""
    n = len(T)
    purchase = frame.to_numpy() @ np.array([GAMMA_P[c] for c in frame.columns])
    dropout = frame.to_numpy() @ np.array([GAMMA_D[c] for c in frame.columns])
    lam = rng.gamma(params["r"], 1.0 / (params["alpha"] * np.exp(-purchase)))
    if model in (BetaGeo, ModifiedBetaGeo):
        scale = np.exp(dropout)
        p = rng.beta(params["a"] * scale, params["b"] * scale)
        opportunities = rng.poisson(lam * T)
        shift = 1 if model is ModifiedBetaGeo else 0
        x = np.minimum(opportunities, rng.geometric(np.clip(p, 1e-300, 1)) - shift)
        recency = np.zeros(n)
        has = x > 0
        recency[has] = T[has] * rng.beta(x[has], opportunities[has] - x[has] + 1.0)
        return x.astype(float), recency, T
    rate = rng.gamma(params["s"], 1.0 / (params["beta"] * np.exp(-dropout)))
    if model is GGompertzNBD:
        lifetime = np.log1p(rng.exponential(1.0, n) / rate) / params["b"]
    else:
        lifetime = rng.exponential(1.0 / rate)
    active = np.minimum(lifetime, T)
    x = rng.poisson(lam * active)
    recency = np.where(x > 0, active * rng.random(n) ** (1.0 / np.maximum(x, 1)), 0.0)
    return x.astype(float), recency, T


TRUTH = {
    ParetoNBD: {"r": 0.8, "alpha": 5.0, "s": 0.6, "beta": 12.0},
    BetaGeo: {"r": 0.8, "alpha": 5.0, "a": 0.8, "b": 2.5},
    ModifiedBetaGeo: {"r": 0.8, "alpha": 5.0, "a": 0.8, "b": 2.5},
    GGompertzNBD: {"r": 0.8, "alpha": 5.0, "b": 0.05, "s": 1.2, "beta": 3.0},
}


# -- recovery ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "model, n", [(ParetoNBD, 50_000), (BetaGeo, 50_000), (ModifiedBetaGeo, 50_000)]
)
def test_recovers_known_coefficients_within_two_standard_errors(model, n):
    rng = np.random.default_rng(2021)
    frame = covariates(n, rng)
    T = rng.choice([13.0, 26.0, 39.0, 52.0], n)  # quarterly cohorts, in weeks
    history = simulate(model, TRUTH[model], frame, T, rng)
    fitted = model().fit(*history, purchase_covariates=frame, dropout_covariates=frame)
    for process, truth in (("purchase", GAMMA_P), ("dropout", GAMMA_D)):
        for name, value in truth.items():
            estimate = fitted.coefficients_[process][name]
            se = fitted.coefficient_standard_errors_[process][name]
            assert abs(estimate - value) <= 2 * se, (process, name, estimate, value, se)
            assert 0 < se < 0.1


# -- the likelihood against brute-force integration ----------------------------------------------
TIGHT = {"epsabs": 0.0, "epsrel": 1e-13, "limit": 200}


def gamma_expectation(function, shape, rate):
    """E[function(v)] for v ~ Gamma(shape, rate), by quadrature on log v (smooth at both ends)."""

    def integrand(y):
        v = math.exp(y)
        log_density = shape * (y + math.log(rate)) - rate * v - gammaln(shape)
        return math.exp(log_density) * function(v)

    centre = math.log(shape / rate)
    return sum(quad(integrand, lo, hi, **TIGHT)[0] for lo, hi in ((-np.inf, centre), (centre, 8)))


def beta_expectation(function, a, b):
    def integrand(p):
        return math.exp((a - 1) * math.log(p) + (b - 1) * math.log1p(-p) - betaln(a, b)) * function(
            p
        )

    return quad(integrand, 0, 1, **TIGHT)[0]


def brute_force_log_likelihood(model, params, x, t_x, T):
    """ln L by integrating the individual likelihood over the customer's own mixing laws."""

    def purchases(t):  # E[lambda^x e^(-lambda t)], lambda ~ Gamma(r, alpha_i)
        return gamma_expectation(
            lambda lam: lam**x * math.exp(-lam * t), params["r"], params["alpha"]
        )

    if model in (BetaGeo, ModifiedBetaGeo):
        shift = 1 if model is ModifiedBetaGeo else 0
        a, b = params["a"], params["b"]
        alive = beta_expectation(lambda p: (1 - p) ** (x + shift), a, b) * purchases(T)
        if x + shift == 0:
            return math.log(alive)
        gone = beta_expectation(lambda p: p * (1 - p) ** (x + shift - 1), a, b) * purchases(t_x)
        return math.log(alive + gone)
    s, beta = params["s"], params["beta"]
    if model is ParetoNBD:

        def survival(t):
            return gamma_expectation(lambda mu: math.exp(-mu * t), s, beta)

        def density(t):
            return gamma_expectation(lambda mu: mu * math.exp(-mu * t), s, beta)
    else:
        b = params["b"]

        def survival(t):
            return gamma_expectation(lambda eta: math.exp(-eta * math.expm1(b * t)), s, beta)

        def density(t):
            return gamma_expectation(
                lambda eta: eta * b * math.exp(b * t - eta * math.expm1(b * t)), s, beta
            )

    alive = purchases(T) * survival(T)
    died = quad(lambda tau: purchases(tau) * density(tau), t_x, T, **TIGHT)[0] if t_x < T else 0.0
    return math.log(alive + died)


@pytest.mark.parametrize("model", [ParetoNBD, BetaGeo, ModifiedBetaGeo, GGompertzNBD])
def test_log_likelihood_with_covariates_equals_brute_force(model):
    base = TRUTH[model]
    fitted = model().with_params(base, coefficients={"purchase": GAMMA_P, "dropout": GAMMA_D})
    rows = pd.DataFrame({"promo": [1.0, 0.0, 1.0], "score": [-1.0, 0.5, 1.0]})
    histories = [(0, 0.0, 20.0), (3, 7.5, 20.0), (5, 11.0, 12.0)]
    x, t_x, T = (np.array(column, dtype=float) for column in zip(*histories, strict=True))
    got = fitted.log_likelihood_per_customer(
        x, t_x, T, purchase_covariates=rows, dropout_covariates=rows
    )
    for i, history in enumerate(histories):
        row = rows.iloc[i].to_dict()
        expected = brute_force_log_likelihood(model, individual(model, base, row, row), *history)
        assert got[i] == pytest.approx(expected, abs=1e-8, rel=0)


@pytest.mark.parametrize("model", [ParetoNBD, BetaGeo, ModifiedBetaGeo, GGompertzNBD])
def test_analytic_gradient_with_covariates(model):
    rng = np.random.default_rng(5)
    frame = covariates(400, rng)
    x, t_x, T = simulate(model, TRUTH[model], frame, rng.choice([20.0, 40.0], 400), rng)
    fitter = model()
    data = PatternData(
        fitter, x, t_x, T, np.ones(400), frame.to_numpy(), frame[["promo"]].to_numpy()
    )
    theta = np.concatenate([np.log(list(TRUTH[model].values())), [0.3, -0.2, 0.4]])
    assert_objective_gradient(
        lambda p: fitter._total_nll(p, data, np.ones(400)), theta, rtol=1e-5, atol=1e-4
    )


# -- no covariates, or covariates that are all zero: the plain model, exactly --------------------
@pytest.fixture(scope="module")
def cdnow_columns():
    cdnow = load_cdnow_summary()
    return tuple(cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))


def predictions(model, columns, **keywords):
    f, r, T = columns
    first = {k: v.iloc[:1] for k, v in keywords.items()}
    return {
        "alive": model.probability_alive(f, r, T, **keywords),
        "orders": model.expected_transactions(13.0, f, r, T, **keywords),
        "grid": model.expected_transactions_grid([4.0, 39.0], f, r, T, **keywords),
        "median": model.median_time_to_next_purchase(f, r, T, **keywords),
        "loglik": model.log_likelihood_per_customer(f, r, T, **keywords),
        "new": model.expected_transactions_new(np.array([1.0, 52.0]), **first),
        "simulated": model.simulate(T[:50], seed=3, **first).to_numpy(),
    }


@pytest.mark.parametrize("model", [ParetoNBD, BetaGeo, ModifiedBetaGeo, GGompertzNBD])
def test_all_zero_covariates_give_the_plain_model_exactly(model, cdnow_columns):
    if model is GGompertzNBD:  # its fit integrates numerically: a small shop keeps this quick
        rng = np.random.default_rng(4)
        frame = covariates(600, rng)
        cdnow_columns = simulate(model, TRUTH[model], frame, rng.choice([26.0, 52.0], 600), rng)
    plain = model().fit(*cdnow_columns)
    zeros = pd.DataFrame({"promo": np.zeros(len(cdnow_columns[0])), "score": 0.0})
    with_zeros = model().fit(*cdnow_columns, purchase_covariates=zeros, dropout_covariates=zeros)
    assert with_zeros.params_ == plain.params_
    assert with_zeros.standard_errors_ == plain.standard_errors_
    assert with_zeros.log_likelihood_ == plain.log_likelihood_
    assert with_zeros.coefficients_ == {
        "purchase": {"promo": 0.0, "score": 0.0},
        "dropout": {"promo": 0.0, "score": 0.0},
    }
    assert all(np.isnan(list(with_zeros.coefficient_standard_errors_["purchase"].values())))
    # a model with real coefficients, at customers whose covariates are zero, is the plain model
    shifted = plain.with_params(
        plain.params_, coefficients={"purchase": GAMMA_P, "dropout": GAMMA_D}
    )
    expected = predictions(plain, cdnow_columns)
    for fitted in (with_zeros, shifted):
        got = predictions(
            fitted, cdnow_columns, purchase_covariates=zeros.iloc[:1], dropout_covariates=zeros
        )
        for key, value in expected.items():
            np.testing.assert_array_equal(got[key], value, err_msg=key)
    if hasattr(plain, "discounted_expected_residual_transactions"):
        dert = plain.discounted_expected_residual_transactions(0.002, *cdnow_columns)
        np.testing.assert_array_equal(
            shifted.discounted_expected_residual_transactions(
                0.002, *cdnow_columns, purchase_covariates=zeros, dropout_covariates=zeros
            ),
            dert,
        )


def test_plain_fit_reports_empty_coefficients(cdnow_columns):
    fitted = BetaGeo().fit(*cdnow_columns)
    assert fitted.coefficients_ == {"purchase": {}, "dropout": {}}
    assert fitted.coefficient_standard_errors_ == {"purchase": {}, "dropout": {}}


# -- predictions use each customer's own parameters ----------------------------------------------
@pytest.mark.parametrize("model", [ParetoNBD, BetaGeo, ModifiedBetaGeo, GGompertzNBD])
def test_predictions_use_each_customers_parameters(model):
    base = TRUTH[model]
    fitted = model().with_params(base, coefficients={"purchase": GAMMA_P, "dropout": GAMMA_D})
    rows = pd.DataFrame({"promo": [1.0, 0.0, 1.0, 1.0], "score": [-1.0, 0.5, 1.0, -1.0]})
    f, r, T = np.array([0.0, 2.0, 4.0, 1.0]), np.array([0.0, 5.0, 9.0, 3.0]), np.full(4, 10.0)
    keywords = {"purchase_covariates": rows, "dropout_covariates": rows}
    alive = fitted.probability_alive(f, r, T, **keywords)
    by_name = fitted.probability_alive(frequency=f, recency=r, T=T, **keywords)
    np.testing.assert_array_equal(by_name, alive)
    orders = fitted.expected_transactions(8.0, f, r, T, **keywords)
    new = fitted.expected_transactions_new(26.0, **keywords)
    grid = fitted.expected_transactions_grid([2.0, 8.0], f, r, T, **keywords)
    for i in range(4):
        row = rows.iloc[i].to_dict()
        own = model().with_params(individual(model, base, row, row))
        history = (f[i : i + 1], r[i : i + 1], T[i : i + 1])
        assert alive[i] == pytest.approx(own.probability_alive(*history)[0], rel=1e-12)
        assert orders[i] == pytest.approx(own.expected_transactions(8.0, *history)[0], rel=1e-12)
        assert grid[1, i] == pytest.approx(orders[i], rel=1e-12)
        assert new[i] == pytest.approx(np.ravel(own.expected_transactions_new(26.0))[0], rel=1e-12)
    # a positive purchase coefficient means more purchases: at a short horizon (no dropout yet)
    # the expected purchases are r t / alpha_i, exp(0.5) times more with promo = 1
    promo = pd.DataFrame({"promo": [0.0, 1.0], "score": [0.0, 0.0]})
    more = fitted.expected_transactions_new(
        1e-4, purchase_covariates=promo, dropout_covariates=promo.assign(promo=0.0)
    )
    assert more[1] / more[0] == pytest.approx(math.exp(GAMMA_P["promo"]), rel=1e-3)


# -- l2 on the coefficients ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_shop():
    rng = np.random.default_rng(11)
    frame = covariates(3000, rng)
    return frame, simulate(BetaGeo, TRUTH[BetaGeo], frame, rng.choice([26.0, 52.0], 3000), rng)


@pytest.fixture(scope="module")
def small_fit(small_shop):
    frame, history = small_shop
    return BetaGeo().fit(*history, purchase_covariates=frame, dropout_covariates=frame)


def test_l2_is_clvtools_penalty_on_the_mean_log_likelihood(small_shop, small_fit):
    frame, history = small_shop
    keywords = {"purchase_covariates": frame, "dropout_covariates": frame}
    free = small_fit
    l2 = 0.01
    ridge = BetaGeo().fit(*history, **keywords, l2=l2)
    for process in ("purchase", "dropout"):
        for name, value in ridge.coefficients_[process].items():
            assert abs(value) < abs(free.coefficients_[process][name])
    # at the optimum, d mean ln L / d gamma = 2 l2 gamma (CLVTools: LL / n - l2 |gamma|^2)
    n = len(history[0])

    def mean_log_likelihood(process, name, step):
        coefficients = {p: dict(c) for p, c in ridge.coefficients_.items()}
        coefficients[process][name] += step
        model = ridge.with_params(ridge.params_, coefficients=coefficients)
        return model.log_likelihood_per_customer(*history, **keywords).sum() / n

    for process in ("purchase", "dropout"):
        for name, value in ridge.coefficients_[process].items():
            h = 1e-5
            slope = (
                mean_log_likelihood(process, name, h) - mean_log_likelihood(process, name, -h)
            ) / (2 * h)
            assert slope == pytest.approx(2 * l2 * value, abs=2e-6)
    with pytest.raises(ValueError, match="l2"):
        BetaGeo().fit(*history, **keywords, l2=-1.0)


# -- inputs --------------------------------------------------------------------------------------
def test_arrays_are_named_and_inputs_checked(small_shop):
    frame, history = small_shop
    fitted = BetaGeo().fit(*history, purchase_covariates=frame.to_numpy())
    assert list(fitted.coefficients_["purchase"]) == ["x0", "x1"]
    assert fitted.coefficients_["dropout"] == {}
    with pytest.raises(ValueError, match="purchase_covariates"):
        fitted.probability_alive(*history)
    with pytest.raises(ValueError, match="fitted with 2"):
        fitted.probability_alive(*history, purchase_covariates=np.zeros((1, 3)))
    with pytest.raises(ValueError, match="rows"):
        BetaGeo().fit(*history, purchase_covariates=frame.iloc[:10])
    with pytest.raises(ValueError, match="NaN"):
        BetaGeo().fit(*history, purchase_covariates=frame.assign(score=np.nan))
    named = BetaGeo().fit(*history, dropout_covariates=frame)
    with pytest.raises(ValueError, match="lacks"):
        named.probability_alive(*history, dropout_covariates=frame[["promo"]])
    # a prediction's covariates are the fit's, process by process: one the fit had not is no
    # coefficient to apply, one missing leaves the parameters unknown
    with pytest.raises(ValueError, match="fitted with dropout covariates only: purchase_cov"):
        named.probability_alive(*history, purchase_covariates=frame, dropout_covariates=frame)
    with pytest.raises(ValueError, match="fitted without covariates: purchase_covariates="):
        BetaGeo().fit(*history).probability_alive(*history, purchase_covariates=frame)
    both = BetaGeo().fit(*history, purchase_covariates=frame, dropout_covariates=frame)
    for given in ({"purchase_covariates": frame}, {"dropout_covariates": frame}):
        with pytest.raises(ValueError, match="pass purchase_covariates= and dropout_cov"):
            both.probability_alive(*history, **given)
    # a DataFrame's columns are matched by name, not position
    np.testing.assert_array_equal(
        named.probability_alive(*history, dropout_covariates=frame[["score", "promo"]]),
        named.probability_alive(*history, dropout_covariates=frame),
    )


def test_ggompertz_fits_with_covariates():
    rng = np.random.default_rng(8)
    n = 2500
    frame = covariates(n, rng)[["promo"]]
    history = simulate(GGompertzNBD, TRUTH[GGompertzNBD], frame, rng.choice([26.0, 52.0], n), rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fitted = GGompertzNBD().fit(*history, purchase_covariates=frame, dropout_covariates=frame)
    for process, truth in (("purchase", GAMMA_P), ("dropout", GAMMA_D)):
        estimate = fitted.coefficients_[process]["promo"]
        se = fitted.coefficient_standard_errors_[process]["promo"]
        assert abs(estimate - truth["promo"]) <= 2 * se, (process, estimate, se)


def test_clv_helpers_pass_covariates_on(small_shop):
    frame, history = small_shop
    keywords = {"purchase_covariates": frame, "dropout_covariates": frame[["promo"]]}
    fitted = BetaGeo().fit(*history, **keywords)
    by_period = expected_transactions_by_period(
        fitted, *history, horizon=3, period_days=7.0, time_unit_days=7.0, **keywords
    )
    np.testing.assert_allclose(
        by_period.sum(axis=1), fitted.expected_transactions(3.0, *history, **keywords), rtol=1e-9
    )
    value = customer_lifetime_value(
        fitted, None, *history, np.full(len(frame), 20.0), horizon=3, period=7.0,
        annual_discount_rate=0.0, time_unit_days=7.0, **keywords,
    )  # fmt: skip
    np.testing.assert_allclose(value, 20.0 * by_period.sum(axis=1), rtol=1e-12)


def test_covariance_blocks(small_fit):
    fitted = small_fit
    assert fitted.covariance_full_.shape == (8, 8)
    np.testing.assert_array_equal(fitted.covariance_log_, fitted.covariance_full_[:4, :4])
    assert fitted.coefficient_standard_errors_["dropout"]["score"] == pytest.approx(
        math.sqrt(fitted.covariance_full_[7, 7])
    )
    assert set(fitted.sample_params(5, seed=1)) == {"r", "alpha", "a", "b"}


def test_refit_needs_the_covariates_again(small_shop, small_fit):
    frame, history = small_shop
    weights = np.ones(len(frame))
    with pytest.raises(ValueError, match="refit"):
        small_fit.refit(*history, weights=weights)
    again = small_fit.refit(
        *history, weights=weights, purchase_covariates=frame, dropout_covariates=frame
    )
    for process in ("purchase", "dropout"):
        for name, value in small_fit.coefficients_[process].items():
            assert again.coefficients_[process][name] == pytest.approx(value, abs=1e-5)


def test_at_the_no_dropout_limit_purchase_coefficients_keep_their_errors():
    # an NBD shop (nobody drops out): BG/NBD's fit is its a -> 0 limit
    rng = np.random.default_rng(12)
    frame = covariates(1500, rng)
    T = rng.choice([26.0, 52.0], 1500)
    lam = rng.gamma(0.8, 1.0 / (5.0 * np.exp(-0.5 * frame["promo"].to_numpy())))
    x = rng.poisson(lam * T)
    recency = np.where(x > 0, T * rng.random(1500) ** (1.0 / np.maximum(x, 1)), 0.0)
    with pytest.warns(RuntimeWarning, match="no dropout visible"):
        nbd = BetaGeo().fit(x, recency, T, purchase_covariates=frame[["promo"]])
    assert nbd.limits_["a"] == "0"
    estimate = nbd.coefficients_["purchase"]["promo"]
    se = nbd.coefficient_standard_errors_["purchase"]["promo"]
    assert abs(estimate - 0.5) <= 2 * se < 0.2
    # where a and b stand for the limit, a_i = a e^(g z) is 0 for every z: dropout coefficients
    # are held; so is any coefficient on the edge of the search box
    nbd.estimated_covariates_ = {"purchase": ("promo", "score"), "dropout": ("promo",)}
    held = nbd._identified_coefficients({"a", "b"}, np.array([0.5, -20.0, 0.1]))
    assert held == [True, False, False]


def test_pareto_evaluates_all_patterns_together_as_one_by_one():
    rng = np.random.default_rng(6)
    frame = covariates(600, rng)
    x, t_x, T = simulate(ParetoNBD, TRUTH[ParetoNBD], frame, rng.choice([20.0, 40.0], 600), rng)
    fitter = ParetoNBD()
    data = PatternData(fitter, x, t_x, T, np.ones(600), frame.to_numpy(), frame.to_numpy())
    # alpha_i above and below beta_i across patterns: both branches of F in one call
    log_params = np.log([[0.8, 5.0, 0.6, 12.0]]) + rng.normal(0, 1.0, (len(data.groups), 4))
    log_params[:, [0, 2]] = log_params[0, [0, 2]]  # r and s are common to all patterns
    together = fitter._pattern_likelihoods(data.groups, log_params)
    one_by_one = CovariateModel._pattern_likelihoods(fitter, data.groups, log_params)
    for (value, gradient), (expected, expected_gradient) in zip(together, one_by_one, strict=True):
        assert value == pytest.approx(expected, rel=1e-13)
        np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-11, atol=1e-12)
