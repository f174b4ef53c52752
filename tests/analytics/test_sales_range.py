"""The range of the sales to come: each history's future drawn given it, so that the range holds
the sales a shop actually makes, not only their expectation.

The shops are lived through their next 12 months by benchmarks/coverage.py's
``simulate_shop_with_holdout`` (each customer's whole timeline drawn from known parameters),
which shares no code with the models' conditional simulators.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from valuecast.analysis.sales_range import FutureSimulator
from valuecast.models import BetaGeo, GammaGamma, ParetoNBD
from valuecast.models.clv import DAYS_PER_MONTH, period_discount_rate, period_ends
from valuecast.models.mbgnbd import ModifiedBetaGeo

# loaded by path: the name "coverage" is also the coverage-measuring package's
_spec = importlib.util.spec_from_file_location(
    "coverage_study", Path(__file__).resolve().parents[2] / "benchmarks" / "coverage.py"
)
study = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(study)

ENDS = period_ends(12, DAYS_PER_MONTH, 1.0)
BETA_GEO = {"r": 0.25, "alpha": 40.0, "a": 0.8, "b": 2.5}


@pytest.mark.parametrize(
    "model",
    [
        BetaGeo().with_params(BETA_GEO),
        ModifiedBetaGeo().with_params(BETA_GEO),
        ParetoNBD().with_params({"r": 0.55, "alpha": 74.06, "s": 0.61, "beta": 81.69}),
    ],
    ids=lambda model: type(model).__name__,
)
def test_each_historys_simulated_future_averages_its_expected_orders(model):
    f = np.array([0.0, 1.0, 3.0, 10.0])
    r = np.array([0.0, 50.0, 200.0, 300.0])
    T = np.array([100.0, 300.0, 365.0, 320.0])
    orders = model.simulate_future_orders(ENDS, f, r, T, 40_000, np.random.default_rng(1))
    for k in (0, 11):
        expected = model.expected_transactions(ENDS[k], f, r, T)
        drawn = orders[..., : k + 1].sum(axis=-1)
        # within 4 standard errors of the simulation
        tolerance = 4 * drawn.std(axis=0) / np.sqrt(len(drawn))
        assert np.all(np.abs(drawn.mean(axis=0) - expected) < tolerance)


def test_simulated_order_values_average_gamma_gammas_expected_value():
    spend = GammaGamma().with_params({"p": 6.0, "q": 4.0, "v": 15.0})
    x, m = np.array([0.0, 1.0, 3.0, 10.0]), np.array([0.0, 20.0, 35.0, 50.0])
    orders = np.ones((40_000, 4, 1), dtype=np.int64)
    values = spend.simulate_future_values(x, m, orders, np.random.default_rng(2))[..., 0]
    tolerance = 4 * values.std(axis=0) / np.sqrt(len(values))
    assert np.all(np.abs(values.mean(axis=0) - spend.expected_average_value(x, m)) < tolerance)


def _units(summary) -> dict[str, np.ndarray]:
    """A simulated shop's customers as the range's units: one customer each, their own average
    repeat order value as their value."""
    f = summary["frequency"].to_numpy(dtype=float)
    m = summary["avg_repeat_order_value"].to_numpy(dtype=float)
    return {
        "f": f, "r": summary["recency"].to_numpy(dtype=float),
        "t": summary["T"].to_numpy(dtype=float), "x": f, "m": m, "value": m,
        "count": np.ones(len(f)),
    }  # fmt: skip


def test_the_range_at_the_true_parameters_holds_the_sales_of_80_percent_of_small_shops():
    # no parameter uncertainty (the true parameters, expected_high = the total): the range is
    # the process noise alone, and it must hold the sales that came as often as it says.  A
    # range that ignored the chance in who orders would be the expected total: it held the
    # sales of none of these shops
    transactions, spend = (
        BetaGeo().with_params(BETA_GEO),
        GammaGamma().with_params(study.TRUE_SPEND),
    )
    rate = period_discount_rate(0.10, DAYS_PER_MONTH)
    held, widths = [], []
    for seed in range(1, 41):
        summary, expected, sales = study.simulate_shop_with_holdout(100, seed, BETA_GEO)
        units = _units(summary)
        total = float(expected.sum())
        simulator = FutureSimulator(transactions, spend, ENDS, rate, 1.0, max_draws=500)
        low, high = simulator.bounds(units, total, total, 0.8)
        held.append(low <= sales.sum() <= high)
        widths.append((high - low) / total)
    assert 0.68 <= np.mean(held) <= 0.92
    assert np.median(widths) > 0.5  # a 100-customer shop's sales vary by more than half


def test_the_range_holds_the_interval_of_the_expected_value_and_is_wider():
    summary, _, _ = study.simulate_shop_with_holdout(120, 3, BETA_GEO)
    result = study.shop_interval(summary, "auto", replicates=20)
    assert result["sales_low"] < result["low"] < result["point"]
    assert result["point"] < result["high"] < result["sales_high"]
    # the process noise of 120 customers is as large as the parameters' uncertainty
    assert result["sales_high"] - result["sales_low"] > 1.2 * (result["high"] - result["low"])


def test_models_without_a_simulator_of_the_future_say_they_have_no_range():
    from valuecast.analysis.sales_range import no_range_reason
    from valuecast.models.ggompertz_nbd import GGompertzNBD

    assert no_range_reason("bgnbd", False, False, BetaGeo()) is None
    assert no_range_reason("pnbd", False, False, ParetoNBD()) is None
    assert "ggnbd (no simulator" in no_range_reason("ggnbd", False, False, GGompertzNBD())
    assert "seasonal" in no_range_reason("bgnbd", False, True, BetaGeo())
    assert "covariates" in no_range_reason("bgnbd", True, False, BetaGeo())


def test_a_large_shops_normal_deviation_has_the_spread_of_every_customer_drawn(monkeypatch):
    # above EXACT_MAX_CUSTOMERS the deviation is a normal of the summed simulated variances of a
    # sample of the groups of customers alike; its spread must be that of every customer's
    # future drawn (the exact simulation the smaller shops get), which a variance summed over too
    # few groups, or weighted wrongly, would miss
    from valuecast.analysis import sales_range

    transactions, spend = (
        BetaGeo().with_params(BETA_GEO),
        GammaGamma().with_params(study.TRUE_SPEND),
    )
    summary, _, _ = study.simulate_shop_with_holdout(12_000, 5, BETA_GEO)
    units = _units(summary)
    f = units["f"]
    rate = period_discount_rate(0.10, DAYS_PER_MONTH)
    normal = FutureSimulator(transactions, spend, ENDS, rate, 1.0)
    approximate = normal.deviations(units, np.random.default_rng(1)).std()
    assert normal.info["method"] == "normal approximation"
    assert normal.info["groups"] < len(f)  # the groups sampled, not all of them
    monkeypatch.setattr(sales_range, "EXACT_MAX_CUSTOMERS", len(f))
    exact = FutureSimulator(transactions, spend, ENDS, rate, 1.0, max_draws=400)
    drawn = exact.deviations(units, np.random.default_rng(2)).std()
    assert exact.info["method"] == "simulated customers"
    assert abs(approximate / drawn - 1) < 0.12


def test_a_shop_resting_on_one_customer_keeps_the_others_sales_at_its_low_end():
    # one wholesale customer (weekly orders of 25,000 for two years) holds 99% of a 300-customer
    # shop's expected sales, and in about a quarter of the simulated futures places no order.
    # The range's low end is then what the other customers spend, not nothing: a draw of the
    # expected total and a future without that customer are not a loss of the expected total
    transactions, spend = (
        BetaGeo().with_params(BETA_GEO),
        GammaGamma().with_params(study.TRUE_SPEND),
    )
    rate = period_discount_rate(0.10, DAYS_PER_MONTH)
    summary, _, _ = study.simulate_shop_with_holdout(300, 7, BETA_GEO)
    units = _units(summary)
    whale = {"f": 100.0, "r": 700.0, "t": 728.0, "x": 100.0, "m": 25_000.0, "value": 25_000.0}
    units = {key: np.append(units[key], whale.get(key, 1.0)) for key in units}
    keys = ("f", "r", "t", "x", "m", "value")
    simulator = FutureSimulator(transactions, spend, ENDS, rate, 1.0, max_draws=1000)
    values = simulator.customer_values(*(units[k] for k in keys), 4000, np.random.default_rng(3))
    total = float(values.sum(axis=1).mean())
    whale_orders_nothing = float((values[:, -1] == 0).mean())
    others = values[:, :-1].sum(axis=1)
    assert values[:, -1].mean() > 0.95 * total and 0.15 < whale_orders_nothing < 0.35
    low, high = simulator.bounds(units, total, 2 * total, 0.8)
    assert 0.5 * np.quantile(others, 0.1) < low < np.quantile(others, 0.9)
    assert high > total
