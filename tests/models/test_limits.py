"""Maxima on the boundary of the parameter space are answers: the limit model, with a note."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

from valuecast.models import GammaGamma
from valuecast.models.registry import CANDIDATES, LABELS, candidate_model

LIFETIMES_PYTHON = (
    Path(__file__).resolve().parents[2]
    / "benchmarks"
    / ".cache"
    / "lifetimes-venv"
    / "bin"
    / "python"
)


def nbd_shop(n: int = 300, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson purchases with gamma-distributed rates (r = 0.8, alpha = 40 days), nobody drops out."""
    rng = np.random.default_rng(seed)
    rates = rng.gamma(0.8, 1 / 40.0, n)
    T = rng.integers(30, 181, n).astype(float)
    frequency = rng.poisson(rates * T).astype(float)
    recency = np.array(
        [
            np.floor(rng.uniform(0, t, int(k)).max()) if k else 0.0
            for k, t in zip(frequency, T, strict=True)
        ]
    )
    return frequency, recency, T


def fit_with_notes(model, *columns):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(*columns)
    return model, [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def nbd_fits():
    shop = nbd_shop()
    return shop, {name: fit_with_notes(candidate_model(name), *shop) for name in CANDIDATES}


@pytest.mark.parametrize("name", list(CANDIDATES))
def test_every_candidate_fits_an_nbd_shop_as_the_nbd_with_a_note(nbd_fits, name):
    (frequency, recency, T), fits = nbd_fits
    model, notes = fits[name]
    dropout = "s" if name == "pnbd" else "a"
    assert model.limits_[dropout] == "0"
    note = f"{LABELS[name]}: no dropout visible; it reduces to the NBD"
    assert model.limit_note_.startswith(note)
    assert any(message.startswith(note) for message in notes)
    # the identified parameters have standard errors, the ones standing for the limit none
    assert np.isfinite(model.standard_errors_["r"]) and np.isfinite(model.standard_errors_["alpha"])
    assert np.isnan(model.standard_errors_[dropout])
    assert np.all(np.isfinite(model.covariance_log_))
    assert np.isfinite(model.log_likelihood_)
    alive = model.probability_alive(frequency, recency, T)
    np.testing.assert_allclose(alive, 1.0, atol=1e-6)
    # the NBD's conditional expectation: (r + x) / (alpha + T) purchases a day
    r, alpha = model.params_["r"], model.params_["alpha"]
    np.testing.assert_allclose(
        model.expected_transactions(30.0, frequency, recency, T),
        30.0 * (r + frequency) / (alpha + T),
        rtol=1e-5,
    )


def test_the_three_candidates_reach_one_nbd_likelihood(nbd_fits):
    _, fits = nbd_fits
    values = [model.log_likelihood_ for model, _ in fits.values()]
    assert max(values) - min(values) < 1e-4


LIFETIMES_SCRIPT = """
import json, sys, warnings
import numpy as np
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
warnings.simplefilter("ignore")
f, r, T = (np.array(c) for c in json.loads(sys.stdin.read()))
out = {}
for name, cls in (("bgnbd", BetaGeoFitter), ("mbgnbd", ModifiedBetaGeoFitter),
                  ("pnbd", ParetoNBDFitter)):
    try:
        out[name] = {k: float(v) for k, v in cls().fit(f, r, T).params_.items()}
    except Exception as error:
        out[name] = str(error)
print(json.dumps(out))
"""


@pytest.mark.skipif(not LIFETIMES_PYTHON.exists(), reason="the lifetimes venv is not built")
def test_the_limit_fit_is_at_least_as_likely_as_lifetimes(nbd_fits):
    (frequency, recency, T), fits = nbd_fits
    completed = subprocess.run(
        [str(LIFETIMES_PYTHON), "-c", LIFETIMES_SCRIPT],
        input=json.dumps([frequency.tolist(), recency.tolist(), T.tolist()]),
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    # lifetimes prints the optimizer's result when a fit does not converge: the JSON is last
    theirs = json.loads(completed.stdout.strip().splitlines()[-1])
    compared = 0
    for name, (model, _) in fits.items():
        if not isinstance(theirs[name], dict):
            continue  # lifetimes failed on this model
        # lifetimes' estimates in our likelihood (a parameter it puts at exactly 0 is 1e-300)
        params = {key: max(value, 1e-300) for key, value in theirs[name].items()}
        at_theirs = model.with_params(params).log_likelihood_per_customer(frequency, recency, T)
        assert model.log_likelihood_ >= float(np.sum(at_theirs)) - 1e-6, (name, params)
        compared += 1
    assert compared


def test_gamma_gamma_without_spend_heterogeneity_is_the_pooled_mean():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 4, 40).astype(float)
    m = rng.gamma(3.0 * x, 1 / (x * 0.1))  # one spending rate for everybody: mean 30
    model, notes = fit_with_notes(GammaGamma(), x, m)
    assert set(model.limits_) & {"q", "v"}
    assert model.limit_note_.startswith("Gamma-Gamma: no heterogeneity in spend")
    assert any(message.startswith("Gamma-Gamma: no heterogeneity in spend") for message in notes)
    # both ways to that limit on the edge at once (four customers): it is named once
    both, _ = fit_with_notes(GammaGamma(), [3.0, 5.0, 1.0, 2.0], [20.0, 25.0, 30.0, 22.0])
    assert both.limits_ == {"q": "inf", "v": "inf"}
    assert both.limit_note_.count("no heterogeneity") == 1
    pooled = (x * m).sum() / x.sum()
    np.testing.assert_allclose(model.expected_average_value(x, m), pooled, rtol=1e-6)
    np.testing.assert_allclose(model.expected_average_value_population(), pooled, rtol=1e-6)
    # p and the ratio standing for q, v have standard errors: draws and intervals exist
    assert np.isfinite(model.standard_errors_["p"])
    assert np.all(np.isfinite(model.covariance_log_))
    draws = model.sample_params(50, seed=1)
    assert np.all(np.isfinite(draws["p"]))


# A 20-day-old shop (60 customers, 33 repeat purchases in 646 customer-days) whose customers all
# buy at one rate and none has left: (frequency, recency, T) in days and how many customers share
# each history.  Its likelihood is highest in the limit "one purchase rate, nobody leaves", the
# Poisson process of rate 33/646 a day, which BG/NBD crept towards on both sides (r 1.5e7,
# alpha 2.9e8, b 2e5) and stopped short of, predicting 18.66 orders for everyone without a note.
YOUNG_SHOP = np.array(
    [
        (0, 0, 0, 1), (0, 0, 1, 4), (0, 0, 2, 4), (0, 0, 3, 1), (0, 0, 4, 4), (0, 0, 5, 2),
        (0, 0, 7, 2), (0, 0, 8, 2), (0, 0, 9, 2), (0, 0, 10, 4), (0, 0, 11, 1), (0, 0, 12, 1),
        (0, 0, 13, 1), (0, 0, 15, 1), (0, 0, 16, 1), (0, 0, 17, 1), (0, 0, 18, 1), (0, 0, 19, 1),
        (0, 0, 20, 3), (1, 1, 11, 1), (1, 1, 20, 1), (1, 3, 6, 1), (1, 5, 7, 1), (1, 5, 8, 1),
        (1, 5, 9, 1), (1, 6, 6, 2), (1, 8, 16, 1), (1, 11, 18, 1), (1, 15, 17, 1),
        (1, 18, 20, 1), (1, 19, 19, 1), (2, 5, 17, 1), (2, 5, 19, 1), (2, 6, 13, 1),
        (2, 7, 19, 1), (2, 8, 18, 1), (2, 8, 19, 1), (2, 10, 17, 1), (2, 11, 13, 1),
        (2, 13, 18, 1), (2, 19, 20, 1),
    ],
    dtype=float,
)  # fmt: skip


@pytest.mark.parametrize("name", list(CANDIDATES))
def test_a_fit_creeping_towards_one_purchase_rate_is_the_poisson_limit(name):
    frequency, recency, T = np.repeat(YOUNG_SHOP[:, :3], YOUNG_SHOP[:, 3].astype(int), axis=0).T
    # unpenalised (the analysis fits BG/NBD so; its tiny penalizers on the others keep alpha
    # from running off at all)
    model, notes = fit_with_notes(CANDIDATES[name](), frequency, recency, T)
    dropout = "s" if name == "pnbd" else "a"
    assert model.limits_ == {"alpha": "inf", dropout: "0"}
    for meaning in ("one purchase rate for everyone (r/alpha)", "no dropout visible"):
        assert meaning in model.limit_note_
        assert any(meaning in message for message in notes)
    # the Poisson process at the fitted rate, which is the Poisson estimate (repeats / time) to
    # what the likelihood resolves at alpha = e^20 (its terms of ~5e8 keep ~1e-5 of their sum
    # over 60 customers, and a rate 1e-4 off costs 2e-7 of log-likelihood)
    rate = model.params_["r"] / model.params_["alpha"]
    assert rate == pytest.approx(frequency.sum() / T.sum(), rel=1e-4)
    np.testing.assert_allclose(
        model.expected_transactions(365.0, frequency, recency, T), 365.0 * rate, rtol=1e-6
    )
    np.testing.assert_allclose(model.probability_alive(frequency, recency, T), 1.0, atol=1e-9)


@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd", "pnbd"])
def test_the_likelihood_keeps_its_digits_on_the_one_purchase_rate_ridge(name):
    # at r ~ 2.5e7, alpha = e^20 each customer's terms r ln(alpha) and ln Gamma(r) are ~5e8: summed
    # over the shop before they cancel, they kept ~1e-5 (the fit reported 1e-5 more than the
    # likelihood's supremum, the Poisson's), and which limit a tie kept was decided by rounding
    frequency, recency, T = np.repeat(YOUNG_SHOP[:, :3], YOUNG_SHOP[:, 3].astype(int), axis=0).T
    repeats, exposure = frequency.sum(), T.sum()
    supremum = repeats * np.log(repeats / exposure) - repeats
    # started on the edge (alpha = e^20, a = e^-20) the fit stays there: the Poisson limit
    edge = np.exp(20.0)
    dropout, scale = ("s", "beta") if name == "pnbd" else ("a", "b")
    start = {"r": repeats / exposure * edge, "alpha": edge, dropout: 1 / edge, scale: 1.0}
    model, _ = fit_with_notes(CANDIDATES[name](initial_params=start), frequency, recency, T)
    assert model.limits_ == {"alpha": "inf", dropout: "0"}
    assert supremum - 1e-6 <= model.log_likelihood_ <= supremum + 1e-7


def two_kinds_shop(n: int = 1500, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MBG/NBD's two kinds of customer: 92% leave after their first purchase, the rest never
    leave and buy every 45 days or so (Poisson, one rate)."""
    rng = np.random.default_rng(seed)
    T = rng.integers(30, 601, n).astype(float)
    stays = rng.random(n) >= 0.92
    frequency = np.where(stays, rng.poisson(T / 45.0), 0).astype(float)
    recency = np.array(
        [
            np.floor(rng.uniform(0, t, int(k)).max()) if k else 0.0
            for k, t in zip(frequency, T, strict=True)
        ]
    )
    return frequency, recency, T


def test_dropout_probabilities_of_0_and_1_are_named_as_two_kinds_of_customer():
    """Beta(a, b) with a and b both running to 0 at a fixed a/(a+b): the optimiser stops inside
    the box (a ~ 1e-8), where no parameter reaches the edge, and every repeat buyer is alive
    with probability 1. The note names that limit and the share leaving at once, instead of
    nothing (or, for a on the edge, the NBD's "no dropout visible")."""
    frequency, recency, T = two_kinds_shop()
    model, notes = fit_with_notes(CANDIDATES["mbgnbd"](), frequency, recency, T)
    a, b = model.params_["a"], model.params_["b"]
    assert max(a, b) < 1e-3
    assert model.limits_["a"] == model.limits_["b"] == "0"
    share = a / (a + b)
    assert share == pytest.approx(np.mean(frequency == 0), abs=0.02)
    meaning = (
        f"two kinds of customer: {share:.1%} (a/(a+b)) leave after their first purchase, the "
        "others never leave"
    )
    assert meaning in model.limit_note_ and any(meaning in note for note in notes)
    assert "no dropout visible" not in model.limit_note_
    repeat = frequency > 0
    np.testing.assert_allclose(
        model.probability_alive(frequency[repeat], recency[repeat], T[repeat]), 1.0, atol=1e-4
    )  # a and b stand for 0 at e^-20 or so: the limit's to ~1e-5
