"""The shared fitting machinery: compression of histories and parameter handling."""

import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from valuecast.models import BetaGeo
from valuecast.models._fitting import (
    compress_histories,
    numerical_gradient,
    numerical_hessian,
    prepare_weights,
    validate_rfm,
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(4, 6)), min_size=1, max_size=80
    )
)
def test_compression_round_trips(rows):
    f, r, t = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
    (uf, ur, ut), counts, inverse = compress_histories(f, r, t)
    # every row maps back to itself, counts add up, and distinct rows are distinct
    np.testing.assert_array_equal(uf[inverse], f)
    np.testing.assert_array_equal(ur[inverse], r)
    np.testing.assert_array_equal(ut[inverse], t)
    assert counts.sum() == len(rows)
    assert len(set(zip(uf, ur, ut, strict=True))) == len(uf) == len(set(rows))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0.0, 0.5, 1e9, -3.25, 7.0]),
            st.integers(-5_000_000, 5_000_000),
            st.floats(-1e6, 1e6, allow_nan=False),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_compression_round_trips_on_hashed_and_wide_columns(rows):
    # wide integer ranges and non-integers take the hashing path rather than the dense table
    columns = [np.array(column, dtype=float) for column in zip(*rows, strict=True)]
    unique, counts, inverse = compress_histories(*columns)
    for original, distinct in zip(columns, unique, strict=True):
        np.testing.assert_array_equal(distinct[inverse], original)
    assert counts.sum() == len(rows)
    assert (
        len(set(zip(*unique, strict=True)))
        == len(unique[0])
        == len(set(zip(*columns, strict=True)))
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(4, 6)), min_size=1, max_size=80
    ),
    st.sampled_from(["distinct", "sorted", "by the first column"]),
)
@example([(0, 2, 4), (0, 1, 5)], "by the first column")  # a later column rises, an earlier falls
def test_compression_of_sorted_rows_keeps_their_order(rows, order):
    # a grouped, sorted table (distinct rows in order) is numbered by position, unchecked;
    # duplicates, or rows in order by their first column only, are grouped all the same
    if order == "by the first column":
        rows = sorted(rows, key=lambda row: row[0])
    else:
        rows = sorted(set(rows)) if order == "distinct" else sorted(rows)
    weights = np.arange(1.0, len(rows) + 1.0)
    columns = [np.array(column, dtype=float) for column in zip(*rows, strict=True)]
    unique, counts, inverse = compress_histories(*columns, weights=weights)
    expected = sorted(set(rows))
    assert list(zip(*(column.tolist() for column in unique), strict=True)) == expected
    totals = {row: 0.0 for row in expected}
    for row, weight in zip(rows, weights, strict=True):
        totals[row] += weight
    np.testing.assert_array_equal(counts, [totals[row] for row in expected])
    for original, column in zip(columns, unique, strict=True):
        np.testing.assert_array_equal(column[inverse], original)


def test_compression_sums_weights():
    (x,), counts, inverse = compress_histories(
        np.array([1.0, 2.0, 1.0]), weights=np.array([2, 3, 4])
    )
    assert dict(zip(x, counts, strict=True)) == {1.0: 6.0, 2.0: 3.0}
    np.testing.assert_array_equal(x[inverse], [1.0, 2.0, 1.0])


def test_numerical_derivatives_of_a_quadratic():
    def function(p):
        return p[0] ** 2 + 3 * p[0] * p[1]

    def gradient(p):
        return np.array([2 * p[0] + 3 * p[1], 3 * p[0]])

    point = np.array([1.5, -2.0])
    np.testing.assert_allclose(numerical_gradient(function, point), gradient(point), rtol=1e-7)
    np.testing.assert_allclose(numerical_hessian(gradient, point), [[2, 3], [3, 0]], atol=1e-6)


def test_weights_and_histories_are_validated():
    with pytest.raises(ValueError, match="non-negative"):
        prepare_weights([1, -1], 2)
    with pytest.raises(ValueError, match="rows"):
        prepare_weights([1, 1, 1], 2)
    with pytest.raises(ValueError, match="recency must not exceed T"):
        validate_rfm([1], [5], [4])
    with pytest.raises(ValueError, match="whole number"):
        validate_rfm([1.5], [1], [4])
    with pytest.raises(ValueError, match="NaN"):
        validate_rfm([np.nan], [1], [4])
    with pytest.raises(ValueError, match="recency must be 0"):
        validate_rfm([0], [1], [4])


@pytest.mark.parametrize("model_name", ["BetaGeo", "ParetoNBD", "ModifiedBetaGeo"])
def test_standard_errors_and_parameter_draws_agree(model_name):
    import valuecast.models as models
    from valuecast.datasets import load_cdnow_summary

    cdnow = load_cdnow_summary()
    model = getattr(models, model_name)().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    draws = model.sample_params(4000, seed=1)
    assert set(draws) == set(model.params_)
    for name, value in model.params_.items():
        se = model.standard_errors_[name]
        assert np.isfinite(se) and 0 < se < value
        # log-normal draws: the median sits at the estimate, the spread matches the delta-method SE
        assert np.median(draws[name]) == pytest.approx(value, rel=0.05)
        assert np.std(np.log(draws[name])) == pytest.approx(se / value, rel=0.1)
        assert np.all(draws[name] > 0)
    # the same seed gives the same draws; a draw predicts like a model with those parameters
    again = model.sample_params(4000, seed=1)
    np.testing.assert_array_equal(draws["r"], again["r"])
    one = {name: values[0] for name, values in draws.items()}
    clone = model.with_params(one)
    assert clone.params_ == pytest.approx(one)
    assert model.params_ != clone.params_
    alive = clone.probability_alive(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert np.all((alive >= 0) & (alive <= 1))


@pytest.mark.parametrize("model_name", ["BetaGeo", "ParetoNBD", "GammaGamma"])
def test_the_optimum_is_evaluated_twice_and_the_fit_keeps_no_data(model_name, monkeypatch):
    """Once by the search, once fresh for the reported log-likelihood (its warnings unsilenced);
    the finiteness check and the Hessian's base gradient reuse them, to the bit."""
    import valuecast.models as models
    from valuecast.datasets import load_cdnow_summary

    cdnow = load_cdnow_summary()
    model_class = getattr(models, model_name)
    if model_name == "GammaGamma":
        spend = load_cdnow_summary(with_spend=True)
        repeat = spend[spend["frequency"] > 0]
        columns = (repeat["frequency"], repeat["monetary_value"])
    else:
        columns = (cdnow["frequency"], cdnow["recency"], cdnow["T"])
    points = []
    plain = model_class._total_nll

    def counted(self, theta, data, weights):
        points.append(np.asarray(theta, dtype=float).tobytes())
        return plain(self, theta, data, weights)

    monkeypatch.setattr(model_class, "_total_nll", counted)
    model = model_class().fit(*columns)
    # the optimum is the point asked for most (the search asks for no point twice)
    assert max(points.count(point) for point in set(points)) == 2
    assert not hasattr(model, "_last_nll")
    monkeypatch.setattr(model_class, "_total_nll", plain)
    again = model_class().fit(*columns)
    assert again.params_ == model.params_
    assert again.log_likelihood_ == model.log_likelihood_
    np.testing.assert_array_equal(again.hessian_log_, model.hessian_log_)


def test_bgnbd_standard_errors_match_the_published_ones():
    # FHL (2005) print no SEs; lifetimes 0.11.3's BetaGeoFitter on the same CDNOW summary gives
    # se(coef) r 0.012557, alpha 0.378221, a 0.185719, b 0.705345 (observed information)
    from valuecast.datasets import load_cdnow_summary
    from valuecast.models import BetaGeo

    cdnow = load_cdnow_summary()
    model = BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    expected = {"r": 0.012557, "alpha": 0.378221, "a": 0.185719, "b": 0.705345}
    for name, value in expected.items():
        assert model.standard_errors_[name] == pytest.approx(value, rel=0.005), name


def test_unfitted_model_and_penalizer():
    from valuecast.datasets import load_cdnow_summary
    from valuecast.models import BetaGeo, NotFittedError

    with pytest.raises(NotFittedError):
        BetaGeo().probability_alive([1], [1], [2])
    cdnow = load_cdnow_summary()
    plain = BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    shrunk = BetaGeo(penalizer=0.1).fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    # an L2 penalty pulls the largest parameters towards zero and costs likelihood
    assert shrunk.params_["b"] < plain.params_["b"]
    assert shrunk.log_likelihood_ < plain.log_likelihood_


@pytest.mark.parametrize("penalizer", [-0.01, float("nan"), float("inf"), "0.1", None, True])
@pytest.mark.parametrize(
    "model_name", ["BetaGeo", "ParetoNBD", "GammaGamma", "BetaGeoBetaBinomial"]
)
def test_a_penalizer_that_is_no_non_negative_number_is_refused(model_name, penalizer):
    """A negative penalizer rewards large parameters: the fit ran off to the r, alpha, a, b ->
    inf corner and named it a limit the data chose."""
    from valuecast import models

    model = getattr(models, model_name)(penalizer=penalizer)
    data = {
        "GammaGamma": ([1, 2, 3], [10.0, 20.0, 15.0]),
        "BetaGeoBetaBinomial": ([1, 2, 0], [3, 5, 0], [6, 6, 6]),
    }.get(model_name, ([1, 2, 0], [5.0, 10.0, 0.0], [20.0, 30.0, 40.0]))
    with pytest.raises(ValueError, match="penalizer must be a non-negative number"):
        model.fit(*data)


@pytest.mark.parametrize("model_name", ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD"])
def test_expected_transactions_grid_equals_one_horizon_at_a_time(model_name):
    import valuecast.models as models
    from valuecast.datasets import load_cdnow_summary

    cdnow = load_cdnow_summary()
    f, r, t = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    model = getattr(models, model_name)().fit(f, r, t)
    times = [0.0, 1.0, 4.345, 39.0, 520.0]
    grid = model.expected_transactions_grid(times, f, r, t)
    assert grid.shape == (len(times), len(cdnow))
    for row, horizon in zip(grid, times, strict=True):
        np.testing.assert_allclose(row, model.expected_transactions(horizon, f, r, t), rtol=1e-13)


def test_pareto_nbd_grid_is_bitwise_the_one_horizon_method_and_checks_its_times():
    from valuecast.datasets import load_cdnow_summary
    from valuecast.models import ParetoNBD

    cdnow = load_cdnow_summary()
    f, r, t = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    model = ParetoNBD().fit(f, r, t)
    times = [0.0, 2.5, 39.0]
    grid = model.expected_transactions_grid(times, f, r, t)
    for row, horizon in zip(grid, times, strict=True):
        assert np.array_equal(row, model.expected_transactions(horizon, f, r, t))
    assert not grid[0].any() and np.all(grid[2] > grid[1])
    for bad in ([-1.0], [np.inf]):
        with pytest.raises(ValueError, match="finite and non-negative"):
            model.expected_transactions_grid(bad, f, r, t)


# Three customers whose likelihood is highest in the limit "one purchase rate for everyone, no
# dropout" (r, alpha -> inf at r / alpha = lambda; a, s -> 0): a Poisson process with
# lambda = total repeats / total time observed = 3 / 212 a day, ln L = 3 ln(3/212) - 3.
NO_DROPOUT = (np.array([2.0, 1.0, 0.0]), np.array([91.0, 44.0, 0.0]), np.array([91.0, 71.0, 50.0]))
POISSON_RATE = 3 / 212
POISSON_LOG_LIKELIHOOD = 3 * np.log(POISSON_RATE) - 3


@pytest.mark.parametrize(
    ("model_name", "start"),
    [
        ("BetaGeo", {"a": 1e-12, "b": 1.0}),
        ("ModifiedBetaGeo", {"a": 1e-12, "b": 1.0}),
        ("ParetoNBD", {"s": 1.0, "beta": 1e12}),
    ],
)
def test_a_maximum_at_the_limit_of_the_space_is_the_limit_model(model_name, start):
    import valuecast.models as models

    frequency, recency, T = NO_DROPOUT
    for initial in (None, {"r": POISSON_RATE * 1e13, "alpha": 1e13, **start}):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = getattr(models, model_name)(initial_params=initial).fit(frequency, recency, T)
        # the search never leaves the box where the likelihood is computed to ~1e-6
        assert all(abs(np.log(v)) <= 20 for v in model.params_.values())
        assert model.log_likelihood_ == pytest.approx(POISSON_LOG_LIKELIHOOD, abs=1e-6)
        assert model.log_likelihood_ <= POISSON_LOG_LIKELIHOOD + 1e-9
        assert model.params_["r"] / model.params_["alpha"] == pytest.approx(POISSON_RATE, 1e-4)
        np.testing.assert_allclose(
            model.expected_transactions(365.0, frequency, recency, T),
            POISSON_RATE * 365,
            rtol=1e-4,
        )
        np.testing.assert_allclose(model.probability_alive(frequency, recency, T), 1, atol=1e-4)
        if initial is not None:
            # started beyond the box: the fit ends on its edge and says which limit it stands for
            assert model.limits_["alpha"] == "inf"
            messages = [str(w.message) for w in caught]
            assert any("the likelihood is highest at the limit" in m for m in messages)


def _fixed_dropout_shop(n: int, seed: int, p: float = 0.15, horizon: float = 300.0):
    """BG/NBD purchasing where every customer drops out after a purchase with the same p."""
    rng = np.random.default_rng(seed)
    rates = rng.gamma(0.5, 1 / 20.0, n)
    frequency, recency = np.zeros(n), np.zeros(n)
    for i, rate in enumerate(rates):
        t = rng.exponential(1 / rate)
        while t <= horizon:
            frequency[i], recency[i] = frequency[i] + 1, t
            if rng.random() < p:
                break
            t += rng.exponential(1 / rate)
    return frequency, recency, np.full(n, horizon)


def test_a_fit_creeping_towards_one_dropout_probability_is_that_limit_with_errors():
    # the interior optimum runs off with a and b (a/b ~ 0.15/0.85): where it stops on the way
    # depended on rounding, and there the information matrix was singular (no interval)
    frequency, recency, T = _fixed_dropout_shop(400, 7)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = BetaGeo().fit(frequency, recency, T)
    assert model.limits_ == {"b": "inf"}
    assert any("one dropout probability for everyone" in str(w.message) for w in caught)
    p = model.params_["a"] / (model.params_["a"] + model.params_["b"])
    assert 0.05 < p < 0.3
    assert np.isfinite(model.covariance_log_[:3, :3]).all()
    assert all(np.isfinite(model.standard_errors_[name]) for name in ("r", "alpha", "a"))


def test_refit_reweights_the_same_histories_from_the_fitted_parameters():
    from valuecast.datasets import load_cdnow_summary
    from valuecast.models import BetaGeo

    cdnow = load_cdnow_summary()
    f, r, t = (cdnow[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    fitted = BetaGeo().fit(f, r, t)
    # equal weights: the same maximum, reached from the warm start
    again = fitted.refit(f, r, t, weights=np.ones(len(f)))
    for name, value in fitted.params_.items():
        assert again.params_[name] == pytest.approx(value, rel=1e-4)
    # other weights: the fit of those weights, as a cold start finds it; the original is untouched
    weights = np.random.default_rng(0).multinomial(len(f), np.full(len(f), 1 / len(f)))
    warm = fitted.refit(f, r, t, weights=weights.astype(float))
    cold = BetaGeo().fit(f, r, t, weights=weights.astype(float))
    for name, value in cold.params_.items():
        assert warm.params_[name] == pytest.approx(value, rel=1e-4)
    assert warm.params_["r"] != pytest.approx(fitted.params_["r"], rel=1e-6)
    assert fitted.n_customers_ == len(f)


def test_with_params_takes_every_parameter_as_a_positive_number():
    model = BetaGeo()
    good = {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}
    assert model.with_params(good).params_ == good
    with pytest.raises(ValueError, match="params lack alpha"):
        model.with_params({"r": 0.24, "a": 0.79, "b": 2.4})
    for bad in (float("nan"), -1.0, 0.0, float("inf")):
        with pytest.raises(ValueError, match="must be positive numbers: r="):
            model.with_params({**good, "r": bad})
