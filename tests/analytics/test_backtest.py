"""Backtest and model choice: the split, the scores, the naive baseline, the pick, on simulated
order logs and on CDNOW."""

import json
import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valuecast.analysis.backtest import (
    average_ranks,
    backtest,
    cumulative_orders_by_week,
    holdout_split,
    naive_baseline,
    score_predictions,
    spearman_correlation,
    top_decile_share,
)
from valuecast.datasets import load_cdnow_transactions
from valuecast.models import BetaGeo, FitError, registry
from valuecast.models import _fitting as fitting
from valuecast.models.registry import CANDIDATES


# -- a small order-log simulator and a pandas summary --------------------------------------------
def simulate_order_log(n, days, seed, r=0.5, alpha=90.0, a=1.0, b=2.5, acquisition_days=240):
    """Orders of ``n`` customers from a BG/NBD process with Gamma-Gamma spend, over ``days`` days.

    Each customer arrives uniformly in the first ``acquisition_days`` days with a first order,
    then buys at Poisson rate ``lambda ~ Gamma(r, alpha)`` per day and leaves after each repeat
    purchase with probability ``p ~ Beta(a, b)``.  Order values are Gamma(6, nu) with
    ``nu ~ Gamma(shape 4, scale 1/60)``, a mean order of about 120.  Returns ``customer_id, day,
    amount`` (whole days).
    """
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, acquisition_days, n)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    nu = rng.gamma(4.0, 1.0 / 60.0, n)
    customers, times = [np.arange(n)], [start]
    active = np.arange(n)
    clock = start.copy()
    while len(active):
        clock[active] += rng.exponential(1.0, len(active)) / lam[active]
        active = active[clock[active] < days]
        customers.append(active)
        times.append(clock[active].copy())
        active = active[rng.random(len(active)) >= p[active]]  # drop out after a repeat purchase
    customer = np.concatenate(customers)
    amount = rng.gamma(6.0, 1.0, len(customer)) / nu[customer]
    return pd.DataFrame(
        {
            "customer_id": customer,
            "day": np.floor(np.concatenate(times)).astype(int),
            "amount": amount,
        }
    )


def _days(difference):
    """Whole days of a difference of day numbers or of timestamps."""
    return difference.dt.days if hasattr(difference, "dt") else difference


def pandas_summary(log, calibration_end, end, key="day"):
    """The calibration summary the engine would give, computed independently with pandas.

    Purchase days (same-day orders merged); customers whose first order is after the calibration
    end are left out; ``T`` and ``recency`` in days; holdout purchase days and revenue to ``end``.
    """
    days = log.groupby(["customer_id", key], as_index=False).agg(
        amount=("amount", "sum"), orders=("amount", "size")
    )
    first = days.groupby("customer_id")[key].transform("min")
    days = days[first <= calibration_end]
    calibration = days[days[key] <= calibration_end].sort_values(["customer_id", key])
    holdout = days[(days[key] > calibration_end) & (days[key] <= end)]
    g = calibration.groupby("customer_id")
    s = pd.DataFrame(
        {
            "first": g[key].min(),
            "last": g[key].max(),
            "purchase_days": g.size(),
            "historic_clv": g["amount"].sum(),
            "historic_number_of_orders": g["orders"].sum(),
            "first_day_revenue": g["amount"].first(),
        }
    )

    s["frequency"] = s["purchase_days"] - 1
    s["recency"] = _days(s["last"] - s["first"])
    s["T"] = _days(calibration_end - s["first"])
    s["average_order_value"] = s["historic_clv"] / s["historic_number_of_orders"]
    repeat = s["historic_clv"] - s["first_day_revenue"]
    s["avg_repeat_order_value"] = np.where(
        s["frequency"] > 0, repeat / s["frequency"].clip(lower=1), 0.0
    )
    h = holdout.groupby("customer_id")
    s["holdout_orders"] = h.size().reindex(s.index, fill_value=0)
    s["holdout_revenue"] = h["amount"].sum().reindex(s.index, fill_value=0.0)
    return s, _days(holdout[key] - calibration_end).to_numpy()


@pytest.fixture(scope="module")
def simulated():
    log = simulate_order_log(8000, days=720, seed=11)
    calibration_end_day = 540  # holdout_split of a 720-day window: the last 180 days
    summary, offsets = pandas_summary(log, calibration_end_day, 720)
    return summary, offsets, 720 - calibration_end_day


@pytest.fixture(scope="module")
def simulated_result(simulated):
    summary, offsets, holdout_days = simulated
    return backtest(
        summary,
        holdout_days,
        weekly=True,
        actual_weekly_cumulative=cumulative_orders_by_week(offsets, holdout_days),
    )


# -- the split -----------------------------------------------------------------------------------
def test_holdout_is_the_last_quarter_of_the_window():
    # CDNOW: 1997-01-01 to 1998-06-30 is 545 days; a quarter is 136 days
    assert holdout_split(date(1997, 1, 1), date(1998, 6, 30)) == date(1998, 2, 14)
    assert holdout_split("2023-01-01", "2024-12-31") == date(2024, 7, 2)  # 730 days, 182 held out
    assert holdout_split(pd.Timestamp("2023-01-01"), pd.Timestamp("2024-12-31")) == date(2024, 7, 2)


def test_holdout_is_at_least_ninety_days_and_calibration_too():
    # 213 days: a quarter would be 53 days; the holdout is 90 days, the calibration 123
    assert holdout_split("2024-01-01", "2024-08-01") == date(2024, 5, 3)
    # exactly 180 days is the shortest history that works with the defaults
    assert holdout_split("2024-01-01", "2024-06-29") == date(2024, 3, 31)
    with pytest.raises(ValueError, match="at least 180 days"):
        holdout_split("2024-01-01", "2024-06-28")
    with pytest.raises(ValueError, match="less than 30 days of calibration"):
        holdout_split("2024-01-01", "2024-02-15", min_holdout_days=20, min_calibration_days=30)
    assert holdout_split("2024-01-01", "2024-12-31", 0.5, min_holdout_days=10) == date(2024, 7, 2)
    with pytest.raises(ValueError, match="between 0 and 1"):
        holdout_split("2024-01-01", "2025-01-01", holdout_fraction=1.0)
    with pytest.raises(ValueError, match="not a date"):
        holdout_split("last year", "2025-01-01")


# -- scores on hand-made examples ----------------------------------------------------------------
def test_scores_exact_numbers():
    scores = score_predictions(
        actual_orders=[0, 1, 2, 3],
        predicted_orders=[0.5, 1, 1, 5],
        actual_revenue=[0, 10, 30, 60],
        predicted_revenue=[5, 10, 20, 40],
    )
    assert scores["n_customers"] == 4
    assert scores["mae_orders"] == pytest.approx((0.5 + 0 + 1 + 2) / 4, abs=1e-15)
    assert scores["mae_revenue"] == pytest.approx((5 + 0 + 10 + 20) / 4, abs=1e-15)
    assert scores["actual_orders"] == 6 and scores["predicted_orders"] == 7.5
    assert scores["aggregate_error_orders"] == pytest.approx(0.25, abs=1e-15)
    assert scores["aggregate_error_revenue"] == pytest.approx(-0.25, abs=1e-15)
    # ranks (1, 2, 3, 4) vs (1, 2.5, 2.5, 4): rho = 4.5 / sqrt(5 * 4.5) = 3 / sqrt(10)
    assert scores["spearman_orders"] == pytest.approx(3 / math.sqrt(10), abs=1e-12)
    assert scores["spearman_revenue"] == pytest.approx(1.0, abs=1e-12)
    # top decile of 4 customers = 1 customer (the 40 prediction) who brought 60 of 100
    assert scores["top_decile_revenue_share"] == pytest.approx(0.6, abs=1e-15)
    assert scores["top_decile_revenue_share_best"] == pytest.approx(0.6, abs=1e-15)
    assert scores["notes"] == {}
    json.dumps(scores, allow_nan=False)


def test_top_decile_share_with_ties_at_the_edge():
    # 20 customers -> a top decile of 2: one clear top prediction, three tied for the second place
    predicted = np.array([10.0, 5.0, 5.0, 5.0] + [0.0] * 16)
    actual = np.array([4.0, 3.0, 6.0, 0.0] + [1.0] * 16)
    # captured = 4 + (1 open place / 3 tied) * (3 + 6 + 0) = 7 of 29
    assert top_decile_share(actual, predicted) == pytest.approx(7 / 29, abs=1e-15)
    permutation = np.random.default_rng(0).permutation(20)
    assert top_decile_share(actual[permutation], predicted[permutation]) == pytest.approx(
        7 / 29, abs=1e-15
    )
    # 25 customers -> ceil(2.5) = 3 in the top decile
    predicted = np.arange(25.0)
    actual = np.ones(25)
    assert top_decile_share(actual, predicted) == pytest.approx(3 / 25, abs=1e-15)
    assert top_decile_share(np.zeros(5), np.arange(5.0)) is None


def test_equal_predictions_rank_nobody_into_the_top_decile():
    # a naive guess of 0 for everyone (nobody repeated before the holdout) picks its "top
    # tenth" by tie-break alone: its 10% is chance, so there is no share, as no correlation
    scores = score_predictions([0, 2, 1, 0], [0.0] * 4, [0, 50.0, 20.0, 0], [0.0] * 4)
    assert scores["top_decile_revenue_share"] is None
    assert scores["notes"]["top_decile_revenue_share"].startswith("every customer has the same")
    assert scores["top_decile_revenue_share_best"] == pytest.approx(50 / 70)


def test_undefined_scores_are_none_with_a_reason():
    scores = score_predictions([0, 0, 0], [0.1, 0.2, 0.3], [0, 0, 0], [1.0, 1.0, 1.0])
    assert scores["aggregate_error_orders"] is None
    assert scores["spearman_orders"] is None and scores["spearman_revenue"] is None
    assert scores["top_decile_revenue_share"] is None
    assert set(scores["notes"]) == {
        "aggregate_error_orders",
        "aggregate_error_revenue",
        "spearman_orders",
        "spearman_revenue",
        "top_decile_revenue_share",
    }
    assert "same actual value" in scores["notes"]["spearman_orders"]
    constant = score_predictions([0, 1, 2], [1, 1, 1], [0, 5, 9], [2, 2, 2])
    assert constant["spearman_orders"] is None
    assert "same prediction" in constant["notes"]["spearman_orders"]
    assert constant["mae_orders"] == pytest.approx(2 / 3)
    json.dumps(scores, allow_nan=False)
    with pytest.raises(ValueError, match="different lengths"):
        score_predictions([1], [1, 2], [1], [1])
    with pytest.raises(ValueError, match="NaN"):
        score_predictions([1], [np.nan], [1], [1])


def test_naive_baseline_is_the_historical_repeat_rate():
    summary = pd.DataFrame(
        {
            "frequency": [0, 2, 4, 0],
            "T": [100, 200, 50, 0],
            "average_order_value": [10.0, 20.0, 5.0, 7.0],
        }
    )
    naive = naive_baseline(summary, holdout_days=100)
    np.testing.assert_allclose(naive["predicted_orders"], [0.0, 1.0, 8.0, 0.0], rtol=1e-15)
    np.testing.assert_allclose(naive["predicted_revenue"], [0.0, 20.0, 40.0, 0.0], rtol=1e-15)
    with pytest.raises(ValueError, match="no average_order_value column"):
        naive_baseline(summary.drop(columns="average_order_value"), 10)


def test_cumulative_orders_by_week():
    weeks = cumulative_orders_by_week([1, 7, 8, 8, 20, 23], holdout_days=23)
    # week ends 7, 14, 21, 23
    assert weeks == [2.0, 4.0, 5.0, 6.0]
    with pytest.raises(ValueError, match="1 to holdout_days"):
        cumulative_orders_by_week([0, 3], holdout_days=10)


# -- the backtest on a simulated shop -------------------------------------------------------------
def test_pandas_summary_is_consistent(simulated):
    summary, offsets, holdout_days = simulated
    assert (summary["recency"] <= summary["T"]).all()
    assert ((summary["frequency"] == 0) == (summary["recency"] == 0)).all()
    assert summary["holdout_orders"].sum() == len(offsets)
    assert offsets.min() >= 1 and offsets.max() <= holdout_days


def test_models_beat_the_naive_baseline_and_auto_picks_one(simulated_result):
    result = simulated_result.to_dict()
    json.dumps(result, allow_nan=False)
    assert set(result["models"]) == {"bgnbd", "pnbd", "mbgnbd"}
    naive = result["naive"]
    for name, scores in result["models"].items():
        assert "error" not in scores, name
        # the naive rate ignores dropout: it over-forecasts the holdout by ~70%
        assert scores["mae_orders"] < 0.85 * naive["mae_orders"], name
        assert scores["mae_revenue"] < 0.85 * naive["mae_revenue"], name
        assert abs(scores["aggregate_error_orders"]) < 0.15, name
        assert scores["beats_naive"] is True
        assert scores["spearman_orders"] > 0.2
        assert scores["top_decile_revenue_share"] > 0.35
    assert naive["aggregate_error_orders"] > 0.5
    # the data come from a BG/NBD process: its total is within 8%
    assert abs(result["models"]["bgnbd"]["aggregate_error_orders"]) < 0.08
    maes = {name: scores["mae_orders"] for name, scores in result["models"].items()}
    assert result["best"] == min(maes, key=maes.get)
    assert result["best_beats_naive"] is True
    assert result["spend_model"]["name"] == "gamma_gamma"


def test_scores_in_the_result_are_those_of_the_predictions(simulated, simulated_result):
    summary, _, holdout_days = simulated
    bgnbd = simulated_result.candidates["bgnbd"]
    model = BetaGeo().fit(summary["frequency"], summary["recency"], summary["T"])
    expected = model.expected_transactions(
        holdout_days, summary["frequency"], summary["recency"], summary["T"]
    )
    np.testing.assert_allclose(bgnbd.predicted_orders, expected, rtol=1e-10)
    mae = np.mean(np.abs(summary["holdout_orders"] - expected))
    assert bgnbd.scores["mae_orders"] == pytest.approx(mae, rel=1e-12)
    # predicted revenue is predicted orders times the Gamma-Gamma value (AOV-free)
    ratio = bgnbd.predicted_revenue / np.where(expected > 0, expected, 1)
    pnbd = simulated_result.candidates["pnbd"]
    np.testing.assert_allclose(pnbd.predicted_revenue, pnbd.predicted_orders * ratio, rtol=1e-10)


def test_weekly_cumulative_tracks_the_holdout(simulated, simulated_result):
    _, offsets, holdout_days = simulated
    weekly = simulated_result.to_dict()["weekly"]
    assert weekly["day"][0] == 7 and weekly["day"][-1] == holdout_days
    assert len(weekly["day"]) == math.ceil(holdout_days / 7)
    assert weekly["actual"][-1] == len(offsets)
    for name, series in weekly["predicted"].items():
        assert np.all(np.diff(series) >= 0)
        assert series[-1] == pytest.approx(
            simulated_result.candidates[name].scores["predicted_orders"], rel=1e-9
        )
    assert weekly["naive"][-1] == pytest.approx(simulated_result.naive["predicted_orders"])


def test_time_unit_does_not_change_the_predictions(simulated):
    summary, _, holdout_days = simulated
    days = backtest(summary, holdout_days, candidates=("bgnbd",))
    weeks = backtest(summary, holdout_days, candidates=("bgnbd",), time_unit_days=7)
    np.testing.assert_allclose(
        days.candidates["bgnbd"].predicted_orders,
        weeks.candidates["bgnbd"].predicted_orders,
        rtol=1e-5,
        atol=1e-9,
    )
    assert weeks.candidates["bgnbd"].params["alpha"] == pytest.approx(
        days.candidates["bgnbd"].params["alpha"] / 7, rel=1e-4
    )


# -- failures are reported, not raised ------------------------------------------------------------
class Unfittable:
    def __init__(self, penalizer: float = 0.0, standard_errors: bool = True):
        self.penalizer = penalizer

    def fit(self, *args, **kwargs):
        raise FitError("likelihood is flat: no information")


class BrokenPredictions(BetaGeo):
    def expected_transactions(self, *args, **kwargs):
        return np.full(len(np.asarray(args[1])), np.nan)


def test_a_failing_candidate_is_reported_and_skipped(simulated, monkeypatch):
    summary, _, holdout_days = simulated
    monkeypatch.setitem(registry.CANDIDATES, "pnbd", Unfittable)
    monkeypatch.setitem(registry.CANDIDATES, "mbgnbd", BrokenPredictions)
    result = backtest(summary, holdout_days)
    out = result.to_dict()
    assert out["models"]["pnbd"] == {"error": "FitError: likelihood is flat: no information"}
    assert out["models"]["mbgnbd"]["error"].startswith("FitError: non-finite")
    assert out["best"] == "bgnbd"
    assert any("pnbd skipped" in note for note in out["notes"])
    json.dumps(out, allow_nan=False)


def test_no_candidate_fits(simulated, monkeypatch):
    summary, _, holdout_days = simulated
    monkeypatch.setitem(registry.CANDIDATES, "bgnbd", Unfittable)
    result = backtest(summary, holdout_days, candidates=("bgnbd",))
    assert result.best is None and result.best_beats_naive is None
    out = result.to_dict()
    assert out["best"] is None and "error" in out["models"]["bgnbd"]
    assert out["naive"]["mae_orders"] > 0
    assert "no candidate model could be fitted" in out["notes"]


def test_ties_go_to_the_simpler_model(simulated, monkeypatch):
    summary, _, holdout_days = simulated
    monkeypatch.setattr(registry, "PENALIZERS", {})  # identical fits, identical scores
    for name in ("pnbd", "mbgnbd"):
        monkeypatch.setitem(registry.CANDIDATES, name, BetaGeo)
    assert backtest(summary, holdout_days, candidates=("pnbd", "mbgnbd", "bgnbd")).best == "bgnbd"
    assert backtest(summary, holdout_days, candidates=("pnbd", "mbgnbd")).best == "mbgnbd"


def test_spend_falls_back_to_the_average_order_value(simulated):
    summary, _, holdout_days = simulated
    no_repeat_value = summary.assign(avg_repeat_order_value=0.0)
    result = backtest(no_repeat_value, holdout_days, candidates=("bgnbd",))
    assert result.spend_model["name"] == "historic average"
    assert "no calibration customer" in result.spend_model["reason"]
    bgnbd = result.candidates["bgnbd"]
    np.testing.assert_allclose(
        bgnbd.predicted_revenue,
        bgnbd.predicted_orders * summary["average_order_value"].to_numpy(),
        rtol=1e-12,
    )
    missing = backtest(
        summary.drop(columns="avg_repeat_order_value"), holdout_days, candidates=("bgnbd",)
    )
    assert "no avg_repeat_order_value column" in missing.spend_model["reason"]


def test_bad_arguments(simulated):
    summary, _, holdout_days = simulated
    with pytest.raises(ValueError, match="unknown candidate"):
        backtest(summary, holdout_days, candidates=("lifetimes",))
    with pytest.raises(ValueError, match="no holdout_orders column"):
        backtest(summary.drop(columns="holdout_orders"), holdout_days)
    with pytest.raises(ValueError, match="holdout_days must be positive"):
        backtest(summary, 0)
    with pytest.raises(ValueError, match="one per week"):
        backtest(summary, holdout_days, weekly=True, actual_weekly_cumulative=[1.0, 2.0])


def test_the_actual_weeks_may_come_from_a_function_called_after_the_fits(
    simulated, simulated_result
):
    summary, offsets, holdout_days = simulated
    calls = []

    def actual():
        calls.append(True)
        return cumulative_orders_by_week(offsets, holdout_days)

    result = backtest(summary, holdout_days, weekly=True, actual_weekly_cumulative=actual)
    assert calls == [True]
    assert result.weekly == simulated_result.weekly
    with pytest.raises(ValueError, match="one per week"):
        backtest(summary, holdout_days, weekly=True, actual_weekly_cumulative=lambda: [1.0, 2.0])


# -- CDNOW: calibration 1997-01-01..1997-09-30, holdout to 1998-06-30 ----------------------------
@pytest.fixture(scope="module")
def cdnow():
    log = load_cdnow_transactions(full=True).rename(columns={"date": "day"})
    calibration_end, end = pd.Timestamp("1997-09-30"), pd.Timestamp("1998-06-30")
    summary, offsets = pandas_summary(log, calibration_end, end)
    holdout_days = (end - calibration_end).days
    result = backtest(
        summary,
        holdout_days,
        weekly=True,
        actual_weekly_cumulative=cumulative_orders_by_week(offsets, holdout_days),
    )
    return summary, result


def test_cdnow_summary_matches_the_published_calibration(cdnow):
    summary, _ = cdnow
    assert len(summary) == 23_570
    log = load_cdnow_transactions(full=True)
    purchase_days = len(log[["customer_id", "date"]].drop_duplicates())
    # every purchase day but each customer's first is a repeat, in calibration or holdout
    assert summary["frequency"].sum() + summary["holdout_orders"].sum() == purchase_days - 23_570
    assert summary["T"].max() == 272  # first purchase 1997-01-01: 38.86 weeks
    assert summary["T"].min() == 272 - 83  # the cohort was acquired in the first 12 weeks


def test_cdnow_backtest(cdnow):
    summary, result = cdnow
    out = result.to_dict()
    actual = summary["holdout_orders"].sum()
    assert actual == 19_684
    bgnbd = out["models"]["bgnbd"]
    # The conditional expectations of the BG/NBD under-forecast CDNOW's 39-week holdout by
    # about 14% (16,874 of 19,684 repeat purchase days): the cohort bought more in weeks 40-78
    # than its calibration behaviour implies.  FHL (2005, Fig. 2) show the model tracking the
    # *cumulative* repeat purchases (calibration + holdout) well: see the next test.
    assert bgnbd["aggregate_error_orders"] == pytest.approx(-0.143, abs=0.005)
    assert bgnbd["mae_orders"] == pytest.approx(0.819, abs=0.002)
    assert bgnbd["spearman_orders"] == pytest.approx(0.442, abs=0.005)
    assert bgnbd["top_decile_revenue_share"] == pytest.approx(0.516, abs=0.005)
    # every model beats the naive baseline, which over-forecasts by ~47%
    naive = out["naive"]
    assert naive["aggregate_error_orders"] == pytest.approx(0.474, abs=0.005)
    for name, scores in out["models"].items():
        assert abs(scores["aggregate_error_orders"]) < 0.2, name
        assert scores["mae_orders"] < 0.8 * naive["mae_orders"], name
        assert scores["mae_revenue"] < 0.8 * naive["mae_revenue"], name
    maes = {name: scores["mae_orders"] for name, scores in out["models"].items()}
    assert out["best"] == min(maes, key=maes.get)
    # the spend model on the calibration repeaters
    assert out["spend_model"]["name"] == "gamma_gamma"
    repeaters = (summary["frequency"] > 0) & (summary["avg_repeat_order_value"] > 0)
    assert out["spend_model"]["n_customers"] == repeaters.sum()
    # the weekly chart ends at the totals
    assert out["weekly"]["actual"][-1] == actual
    assert len(out["weekly"]["day"]) == 39


def test_cdnow_cumulative_tracking_as_in_fhl_2005(cdnow):
    """FHL (2005), Figure 2: BG/NBD cumulative repeat purchases track the actual ones to week 78.

    Calibration parameters in weeks (the full cohort), unconditional expectation for each
    customer from their first purchase: predicted cumulative repeat purchases by the end of week
    78 are within 10% of the actual ones (here about 6% under).
    """
    summary, result = cdnow
    model = BetaGeo().with_params(
        {
            **result.candidates["bgnbd"].params,
            "alpha": result.candidates["bgnbd"].params["alpha"] / 7,
        }
    )
    age = summary["T"].to_numpy() / 7  # weeks from first purchase to the calibration end
    predicted = model.expected_transactions_new(age + 39).sum()
    actual = summary["frequency"].sum() + summary["holdout_orders"].sum()
    assert abs(predicted / actual - 1) < 0.10
    # and within 1% over the calibration weeks themselves
    assert model.expected_transactions_new(age).sum() == pytest.approx(
        summary["frequency"].sum(), rel=0.01
    )


def test_a_sample_of_customers_for_large_shops(simulated, simulated_result):
    summary, offsets, holdout_days = simulated
    actual_weekly = cumulative_orders_by_week(offsets, holdout_days)
    sampled = backtest(
        summary,
        holdout_days,
        candidates=("bgnbd",),
        weekly=True,
        actual_weekly_cumulative=actual_weekly,
        max_customers=4000,
        seed=5,
    )
    out = sampled.to_dict()
    assert out["n_customers"] == 4000 and out["sampled_from"] == len(summary)
    assert "random sample of 4,000" in out["notes"][0]
    again = backtest(summary, holdout_days, candidates=("bgnbd",), max_customers=4000, seed=5)
    assert again.candidates["bgnbd"].scores == sampled.candidates["bgnbd"].scores  # seeded
    full = simulated_result.candidates["bgnbd"].scores
    assert sampled.candidates["bgnbd"].scores["mae_orders"] == pytest.approx(
        full["mae_orders"], rel=0.1
    )
    # the weekly series are scaled to the whole shop, comparable with its actuals
    assert out["weekly"]["predicted"]["bgnbd"][-1] == pytest.approx(
        full["predicted_orders"], rel=0.1
    )
    assert out["weekly"]["actual"] == actual_weekly
    unsampled = backtest(summary, holdout_days, candidates=("bgnbd",), max_customers=10**6)
    assert unsampled.sampled_from is None and unsampled.n_customers == len(summary)


def test_production_penalizers_are_tiny_and_only_where_needed():
    """BG/NBD stays exact; the others get a ridge too small to move a regular fit."""
    assert "bgnbd" not in registry.PENALIZERS
    for name, penalizer in registry.PENALIZERS.items():
        model = registry.candidate_model(name)
        assert isinstance(model, registry.SELECTABLE[name])
        assert model.penalizer == penalizer <= 1e-10


def test_candidates_are_fitted_without_an_information_matrix(simulated, monkeypatch):
    """The backtest reads the candidates' estimates and log-likelihoods, never their standard
    errors: their fits skip the Hessian and still give the estimates a full fit gives."""
    summary, _, holdout_days = simulated
    frequency, recency, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    full = {name: registry.candidate_model(name).fit(frequency, recency, T) for name in CANDIDATES}

    def no_hessian(*args, **kwargs):
        raise AssertionError("the backtest computed an information matrix")

    monkeypatch.setattr(fitting, "numerical_hessian", no_hessian)
    result = backtest(summary, holdout_days)
    for name, model in full.items():
        assert result.candidates[name].params == model.params_
        assert result.candidates[name].log_likelihood == model.log_likelihood_
    quick = registry.candidate_model("bgnbd", standard_errors=False).fit(frequency, recency, T)
    assert quick.params_ == full["bgnbd"].params_
    assert all(math.isnan(error) for error in quick.standard_errors_.values())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 6), min_size=2, max_size=60),
    st.lists(
        st.floats(0, 100, allow_nan=False).map(lambda v: round(v, 1)), min_size=2, max_size=60
    ),
)
def test_spearman_equals_scipys_on_ties(small_counts, values):
    """The written-out rank correlation gives scipy's exact value, ties included."""
    from scipy.stats import rankdata, spearmanr

    n = min(len(small_counts), len(values))
    a, b = np.asarray(small_counts[:n], dtype=float), np.asarray(values[:n])
    assert np.array_equal(average_ranks(a), rankdata(a))
    expected = spearmanr(a, b).statistic
    got = spearman_correlation(a, b)
    assert got == expected or (math.isnan(got) and math.isnan(expected))


def test_a_chosen_model_that_missed_its_backtest_or_a_horizon_past_the_history_is_doubted():
    from types import SimpleNamespace

    from valuecast.analysis.customers import _prediction_doubts

    backtest = {"models": {"bgnbd": {"aggregate_error_orders": 1.74},
                           "pareto": {"aggregate_error_orders": 0.02}}}  # fmt: skip
    twelve = SimpleNamespace(horizon=12)
    (doubt,) = _prediction_doubts(backtest, "bgnbd", 1000, twelve)
    assert doubt.startswith("the chosen model missed the backtest's holdout orders by +174%")
    assert _prediction_doubts(backtest, "pareto", 1000, twelve) == []
    assert _prediction_doubts(None, "bgnbd", 1000, twelve) == []  # no backtest: nothing said
    (doubt,) = _prediction_doubts(backtest, "pareto", 181, SimpleNamespace(horizon=24))
    assert doubt == (
        "the horizon (24 months) is longer than the history (181 days): the predictions "
        "extrapolate beyond what was observed"
    )
    # a calendar year of history, 365 days, covers 12 months; 364 days do not
    assert _prediction_doubts(None, "pareto", 365, twelve) == []
    (doubt,) = _prediction_doubts(None, "pareto", 364, twelve)
    assert doubt.startswith("the horizon (12 months) is longer than the history (364 days)")
    assert _prediction_doubts(None, "pareto", 182, SimpleNamespace(horizon=6)) == []


def test_predictions_from_a_model_no_backtest_could_fit_are_doubted():
    # the shop's first repeat purchases fall in the holdout: every candidate fails on the
    # history before it, the whole history fits one, and its predictions are untested
    from types import SimpleNamespace

    from valuecast.analysis.customers import _prediction_doubts

    failed = {"error": "FitError: BetaGeo cannot be fitted: no customer has a repeat purchase"}
    backtest = {"calibration_end": "2025-11-24", "models": {"bgnbd": failed, "pnbd": failed}}
    assert _prediction_doubts(backtest, "bgnbd", 400, SimpleNamespace(horizon=12)) == [
        "no model could be fitted on the history before the backtest's holdout (2025-11-24): "
        "the predictions come from a model no holdout has tested"
    ]
    backtest["models"]["pnbd"] = {"aggregate_error_orders": 0.1}  # one fitted: it was tested
    assert _prediction_doubts(backtest, "pnbd", 400, SimpleNamespace(horizon=12)) == []
