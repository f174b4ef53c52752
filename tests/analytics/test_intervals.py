"""The intervals of predicted CLV: every prediction has one, they widen as data shrink, and they cover.

The shops are simulated by benchmarks/coverage.py (BG/NBD purchasing, Gamma-Gamma spend, known
parameters), whose ``shop_interval`` runs the analysis' own ``predict`` on a DuckDB table.
"""

import importlib.util
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

# loaded by path: the name "coverage" is also the coverage-measuring package's
_spec = importlib.util.spec_from_file_location(
    "coverage_study", Path(__file__).resolve().parents[2] / "benchmarks" / "coverage.py"
)
study = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(study)
covers, shop_interval, simulate_shop = study.covers, study.shop_interval, study.simulate_shop
simulate_shop_with_holdout = study.simulate_shop_with_holdout


def _assert_every_row_has_an_ordered_interval(customers: pd.DataFrame) -> None:
    clv = customers["predicted_clv"]
    assert clv.notna().all()
    assert customers["predicted_clv_p10"].notna().all()
    assert customers["predicted_clv_p90"].notna().all()
    assert (customers["predicted_clv_p10"] <= clv).all()
    assert (clv <= customers["predicted_clv_p90"]).all()


def test_a_50_customer_shop_with_a_singular_spend_fit_gets_intervals_in_every_row():
    # seed 6: Gamma-Gamma's p runs to ~1e8 (v to 0) and its information matrix is singular
    summary, truth = simulate_shop(50, 6)
    delta = shop_interval(summary, "delta")
    # at the p -> inf limit the delta method has no standard error for p: its interval is the
    # identified parameters' alone.  The purchase fit lies near the fixed-dropout limit too (a,
    # b of 1e6-1e7), where the BG/NBD kernel once lost the Beta between its quadrature's grid
    # points: that interval then ran from 1e-10 to 2e16 (the point: 1,634)
    assert delta["spend_singular"]
    assert 0.2 * delta["point"] < delta["low"] < delta["point"] < delta["high"] < 5 * delta["point"]
    result = shop_interval(summary, "auto", replicates=40)
    _assert_every_row_has_an_ordered_interval(result["customers"])
    assert 0.2 * result["point"] < result["low"] < result["point"] < result["high"]
    assert result["high"] < 5 * result["point"]  # a usable interval (0.71 to 1.42 of the point)


def test_intervals_widen_as_the_shop_shrinks():
    # the 80% interval of the shop total, relative to the point, averaged over three shops a size
    widths = {}
    for n in (60, 240, 960):
        results = [shop_interval(simulate_shop(n, seed)[0], "auto", replicates=20) for seed in
                   range(1, 4)]  # fmt: skip
        widths[n] = np.mean([(r["high"] - r["low"]) / r["point"] for r in results])
    assert widths[60] > widths[240] > widths[960] > 0


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_customers=st.integers(min_value=20, max_value=150),
    seed=st.integers(min_value=0, max_value=10_000),
    method=st.sampled_from(["bootstrap", "delta"]),
)
# a shop whose fit calls a customer of the last week gone: predictions withheld, no interval
@example(n_customers=41, seed=3, method="delta")
def test_p10_le_clv_le_p90_in_every_row_that_has_an_interval(n_customers, seed, method):
    summary, _ = simulate_shop(n_customers, seed)
    if not (summary["frequency"] > 0).any():
        return  # nothing to fit: historic figures only
    result = shop_interval(summary, method, replicates=10)
    customers = result["customers"]
    if result["withheld"]:
        assert customers["predicted_clv_p10"].isna().all() and result["low"] is None
    if method == "bootstrap" and result["low"] is not None:
        _assert_every_row_has_an_ordered_interval(customers)
    has = customers["predicted_clv_p10"].notna()
    assert (customers.loc[has, "predicted_clv_p10"] <= customers.loc[has, "predicted_clv"]).all()
    assert (customers.loc[has, "predicted_clv"] <= customers.loc[has, "predicted_clv_p90"]).all()
    if result["low"] is not None:
        assert result["low"] <= result["point"] <= result["high"]


def test_the_shop_interval_covers_the_true_value_about_80_percent_of_the_time():
    # 16 shops of 300 customers with known parameters, as in BENCHMARKS.md (100 shops there),
    # with 30 replicates. With a true 80% coverage, 9 or more covering shops has probability
    # 0.993; an interval that is the point estimate alone covers in none, and one too wide to
    # inform (wider than the point itself) fails the width bound.
    covering, widths = 0, []
    for seed in range(101, 117):
        summary, truth = simulate_shop(300, seed)
        result = shop_interval(summary, "auto", replicates=30)
        covering += covers(result, truth)
        widths.append((result["high"] - result["low"]) / result["point"])
    assert covering >= 9
    assert 0 < np.median(widths) < 1


def test_shop_totals_from_the_compressed_histories_equal_the_customers_table_sums():
    """The totals summed per distinct history (with the spend sums the compression keeps)
    are the sums over the customers table's rows, interval included; some repeat customers
    have no positive spend, so a history holds customers at both spend frequencies."""
    from valuecast.analysis.backend import materialize
    from valuecast.analysis.predict import predict, prediction_totals
    from valuecast.jobs.analyze import AnalysisOptions

    summary, _ = simulate_shop(400, 11)
    repeat = np.flatnonzero(summary["frequency"].to_numpy() > 0)
    summary.loc[repeat[::3], "avg_repeat_order_value"] = 0.0
    con = ibis.duckdb.connect()
    table = con.create_table("shop", ibis.memtable(summary))
    for method in ("delta", "bootstrap"):
        options = AnalysisOptions(interval_method=method, interval_replicates=10)
        releases: list = []
        predicted = predict(table, "bgnbd", study.AS_OF, options, has_repeat=True,
                            releases=releases)  # fmt: skip
        assert predicted.terms.groups is not None
        full = materialize(predicted.customers, releases)
        terms = predicted.terms
        got = predicted.totals(full)
        want = prediction_totals(full, terms.f, terms.r, terms.t, terms.intervals, terms.z,
                                 options, terms=terms)  # fmt: skip
        assert got.keys() == want.keys()
        assert got.pop("sales_range") == want.pop("sales_range")
        for key, value in want.items():
            assert got[key] == pytest.approx(value, rel=1e-12), (method, key)
        assert got["predicted_clv_p10"] < got["predicted_clv"] < got["predicted_clv_p90"]
        # the range of the sales to come is drawn from the same customers both ways
        assert got["predicted_sales_p10"] < got["predicted_clv_p10"]


def test_predictions_from_histories_read_ahead_are_those_read_in_predict():
    from valuecast.analysis.backend import materialize
    from valuecast.analysis.predict import history_read, predict
    from valuecast.jobs.analyze import AnalysisOptions

    summary, _ = simulate_shop(400, 11)
    table = ibis.duckdb.connect().create_table("shop", ibis.memtable(summary))
    options = AnalysisOptions(interval_method="delta")
    histories = history_read(table)
    frame = histories.frame()
    read = histories.frame
    calls = []
    histories.frame = lambda: calls.append(True) or read()
    results = []
    for ahead in (None, histories):
        releases: list = []
        predicted = predict(table, "bgnbd", study.AS_OF, options, has_repeat=True,
                            releases=releases, histories_read=ahead)  # fmt: skip
        customers = materialize(predicted.customers, releases).order_by("customer_id")
        results.append((predicted.model, customers.to_pandas()))
    assert calls == [True]  # predict took the histories given
    assert read() is frame  # read once
    assert results[0][0] == results[1][0]
    pd.testing.assert_frame_equal(results[0][1], results[1][1])


def test_the_delta_method_evaluates_the_point_only_when_not_given(monkeypatch):
    """The caller's discounted orders at the estimates stand for the Jacobian's base: one
    evaluation per parameter then, the same terms to the bit."""
    from valuecast.analysis import uncertainty
    from valuecast.models import BetaGeo
    from valuecast.models.clv import DAYS_PER_MONTH, discounted_sum, period_ends

    truth = BetaGeo().with_params({"r": 0.5, "alpha": 60.0, "a": 0.8, "b": 2.5})
    histories = truth.simulate(np.linspace(30.0, 400.0, 3000), seed=3).round()
    f, r, t = (histories[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    model = BetaGeo().fit(f, r, t)
    ends, rate = period_ends(12, DAYS_PER_MONTH, 1.0), 0.008
    point = discounted_sum(model, f, r, t, ends, rate)
    evaluations = []

    def counted(*args, **kwargs):
        evaluations.append(args[0].params_)
        return discounted_sum(*args, **kwargs)

    monkeypatch.setattr(uncertainty, "discounted_sum", counted)
    given = uncertainty.delta_intervals(model, None, f, r, t, None, ends, rate, point)
    assert len(evaluations) == len(model.params_)
    assert model.params_ not in evaluations
    computed = uncertainty.delta_intervals(model, None, f, r, t, None, ends, rate)
    assert len(evaluations) == 2 * len(model.params_) + 1
    np.testing.assert_array_equal(given.g, computed.g)
    np.testing.assert_array_equal(given.history_variance, computed.history_variance)


def test_auto_resamples_pareto_nbd_only_in_shops_where_its_refits_are_cheap():
    # Pareto/NBD's refits cost ~50x BG/NBD's per distinct history: above
    # BOOTSTRAP_MAX_HISTORIES_BY_MODEL["pnbd"] histories its interval is the delta method's,
    # where BG/NBD's is still resampled (up to 50,000)
    from valuecast.analysis.uncertainty import bootstrap_max_histories

    limit = bootstrap_max_histories("pnbd")
    assert limit < bootstrap_max_histories("bgnbd")
    large, _ = simulate_shop(6000, 1, "pnbd")
    histories = len(large.groupby(["frequency", "recency", "T"]))
    assert limit < histories < bootstrap_max_histories("bgnbd")
    assert shop_interval(large, "auto", model="pnbd")["method"] == "delta method"
    resampled = shop_interval(large, "auto", model="bgnbd", replicates=10)
    assert resampled["method"] == "bootstrap"
    small, _ = simulate_shop(300, 1, "pnbd")
    assert shop_interval(small, "auto", model="pnbd", replicates=10)["method"] == "bootstrap"


def test_the_next_order_date_is_shown_only_on_a_day_inside_the_horizon():
    # 12 months are 365.25 days, whose last whole day is the 365th: a wait of 365.1 days falls
    # on day 366, after the horizon (as-of 2026-06-30: 2027-07-01), and is not shown
    from datetime import date
    from types import SimpleNamespace

    from valuecast.analysis.predict import _history_predictions

    class Waits:
        def probability_alive(self, f, r, t):
            return np.full(len(f), 0.9)

        def expected_transactions(self, horizon, f, r, t):
            return np.ones(len(f))

        def median_time_to_next_purchase(self, f, r, t):
            return np.array([10.2, 365.0, 365.1, 365.25, np.nan])

    ones = np.ones(5)
    table = _history_predictions(
        Waits(), ones, ones, ones * 30, np.zeros(5), None, date(2026, 6, 30),
        SimpleNamespace(horizon=12),
    )  # fmt: skip
    assert table["expected_date_of_next_order"].to_pylist() == [
        date(2026, 7, 11), date(2027, 6, 30), None, None, None,
    ]  # fmt: skip


def test_a_model_holding_one_time_buyers_alive_gives_them_no_next_order():
    # BG/NBD's P(alive) of a customer without a repeat purchase is 1 however long ago they
    # bought: it is no "more likely alive than not", and their date is left out; a repeat
    # buyer's stays, and so does a one-time buyer's under a model that lets them leave
    from datetime import date
    from types import SimpleNamespace

    from valuecast.analysis.predict import _history_predictions
    from valuecast.tables import holds_one_time_buyers_alive

    class Alive:
        def probability_alive(self, f, r, t):
            return np.where(f == 0, 1.0, 0.8)

        def expected_transactions(self, horizon, f, r, t):
            return np.ones(len(f))

        def median_time_to_next_purchase(self, f, r, t):
            return np.full(len(f), 20.0)

    f, r, t = np.array([0.0, 0.0, 2.0]), np.array([0.0, 0.0, 50.0]), np.array([5.0, 120.0, 60.0])
    options = SimpleNamespace(horizon=12)

    def dates(one_time_alive):
        table = _history_predictions(
            Alive(), f, r, t, np.zeros(3), None, date(2026, 6, 30), options,
            one_time_alive=one_time_alive,
        )  # fmt: skip
        return table["expected_date_of_next_order"].to_pylist()

    assert dates(True) == [None, None, date(2026, 7, 20)]
    assert dates(False) == [date(2026, 7, 20)] * 3
    assert holds_one_time_buyers_alive("bgnbd") and holds_one_time_buyers_alive("bgnbd+season")
    assert not any(map(holds_one_time_buyers_alive, ("mbgnbd", "pnbd", "ggnbd")))


def test_a_customers_interval_holds_their_expected_value_not_the_sales_that_come():
    # one 300-customer shop lived through its next 12 months (BG/NBD + Gamma-Gamma, known
    # parameters), resampled as a small shop is.  The interval is labelled "of the expected
    # value" because that is what it holds: the true expected CLV of most customers (all 300
    # here: in one shop the customers' intervals move together with the fit), and the sales
    # that came of few (13 here: a customer places whole orders or none, so most order nothing
    # and those who order spend more than the upper end).  An interval widened by the chance in
    # who orders would hold the sales of far more.
    summary, truth, sales = simulate_shop_with_holdout(300, 7)
    result = shop_interval(summary, "bootstrap", replicates=20)
    customers = result["customers"].set_index("customer_id").loc[summary["customer_id"]]
    low = customers["predicted_clv_p10"].to_numpy()
    high = customers["predicted_clv_p90"].to_numpy()
    holds_expected = float(((low <= truth) & (truth <= high)).mean())
    holds_sales = float(((low <= sales) & (sales <= high)).mean())
    assert 0.6 < holds_expected
    assert holds_sales < 0.3
