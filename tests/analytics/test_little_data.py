"""Short and tiny histories: predictions only where the data identify dropout, never absurd ones.

Shops of 50 and 300 customers over 4, 30 and 90 days, the 4-day-old shop whose only repeat
buyer ordered yesterday, and the rule of the issue checked on each: nobody who ordered in the
last 7 days is called more likely gone than alive (unless a BG/NBD-type model's own chance that
a purchase is the last, a / (a + b), exceeds 0.5).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from valuecast.analysis.dropout import (
    MIN_REPEAT_CUSTOMERS,
    NO_REPEAT_CUSTOMERS,
    endless_on_short_history,
    unidentified_dropout,
)
from valuecast.cli import app
from valuecast.models.registry import LABELS

_spec = importlib.util.spec_from_file_location(
    "_backtest_simulator", Path(__file__).parent / "test_backtest.py"
)
_backtest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_backtest)
simulate_order_log = _backtest.simulate_order_log

runner = CliRunner()
START = date(2024, 1, 1)
HISTORIC = ["historic_number_of_orders", "historic_clv", "average_order_value", "frequency", "T"]
PREDICTED = ["probability_alive", "predicted_number_of_orders", "predicted_clv"]


def analyze(log: pd.DataFrame, folder: Path, as_of: date | None = None, *extra: str):
    """``log`` (customer_id, day, amount) through ``valuecast analyze`` (with the options
    ``extra``): summary, customers, output."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "customer": "c" + log["customer_id"].astype(str) + "@example.com",
            "date": [(START + timedelta(days=int(day))).isoformat() for day in log["day"]],
            "amount": log["amount"].round(2),
        }
    ).to_csv(folder / "orders.csv", index=False)
    arguments = [
        "analyze", str(folder / "orders.csv"),
        "--map", "customer_id=customer,ordered_at=date,revenue=amount",
        "--workspace", str(folder / "w.duckdb"), "--out", str(folder / "out"),
    ]  # fmt: skip
    if as_of is not None:
        arguments += ["--as-of", as_of.isoformat()]
    result = runner.invoke(app, [*arguments, *extra])
    assert result.exit_code == 0, result.output
    summary = json.loads((folder / "out" / "summary.json").read_text())
    customers = pd.read_csv(folder / "out" / "customers.csv", parse_dates=["last_order_date"])
    return summary, customers, result.output


def assert_recent_buyers_are_not_called_gone(summary: dict, customers: pd.DataFrame) -> None:
    """The issue's 7-day rule, on one analysed shop."""
    as_of = pd.Timestamp(summary["as_of"])
    recent = customers[customers["last_order_date"] >= as_of - pd.Timedelta(days=7)]
    params = summary["model"].get("params") or {}
    last = "a" in params and params["a"] / (params["a"] + params["b"]) > 0.5
    if last and (customers["frequency"] >= 2).any():  # the orders show buying on after a repeat
        return
    alive = recent["probability_alive"].dropna()
    assert (alive >= 0.5).all(), alive.min()


def assert_predictions_are_whole_or_withheld(summary, customers, output) -> None:
    """Either every customer has predictions with an interval around them, or none has one and
    the reason is in summary.json and the printed summary; historic columns are always complete."""
    assert customers[HISTORIC].notna().all().all()
    clv = customers["predicted_clv"]
    if clv.isna().all():
        assert customers[PREDICTED].isna().all().all()
        reasons = summary["low_confidence_reasons"]
        assert summary["low_confidence"] and any("withheld" in r or "repeat" in r for r in reasons)
        assert "low confidence" in output
        return
    assert clv.notna().all()
    low, high = customers["predicted_clv_p10"], customers["predicted_clv_p90"]
    assert low.notna().all() and high.notna().all()
    assert (low <= clv * (1 + 1e-9)).all() and (clv <= high * (1 + 1e-9)).all()


def test_the_four_day_shop_withholds_predictions_and_keeps_its_repeat_buyer_whole(tmp_path):
    # 20 one-time buyers on days 0-2 and one who ordered on days 0 and 1, as of day 2
    rows = [(k, k % 3, 40.0) for k in range(20)] + [(99, 0, 50.0), (99, 1, 60.0)]
    log = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    summary, customers, output = analyze(log, tmp_path, as_of=START + timedelta(days=2))
    assert_predictions_are_whole_or_withheld(summary, customers, output)
    assert customers["predicted_clv"].isna().all()  # no 0 for him and ~450 for the others
    # the total CLV summary.json gives is the customers table's: their historic CLV
    assert summary["totals"]["total_clv"] == customers["total_clv"].sum() == 20 * 40.0 + 110.0
    reason = summary["low_confidence_reasons"][-1]
    assert reason.startswith("only 1 customer(s) ordered again on a later day (fewer than 5)")
    assert reason in " ".join(output.split())
    buyer = customers.set_index("customer_id").loc["c99@example.com"]
    assert buyer["historic_number_of_orders"] == 2 and buyer["historic_clv"] == 110.0


def test_a_nine_day_shop_prints_its_rfm_groups_with_their_value_and_the_young_shop_caveat(
    tmp_path,
):
    # 30 one-time buyers over nine days and two who ordered twice, as of day 9: the groups rank
    # a buyer of day 0 Dormant, which the report and the dashboard qualify, and so does the CLI
    rows = [(k, k % 10, 20.0 + k) for k in range(30)] + [(90, 1, 50.0), (90, 8, 30.0)]
    rows += [(91, 0, 10.0), (91, 9, 15.0)]
    log = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    summary, customers, output = analyze(log, tmp_path, as_of=START + timedelta(days=9))
    assert customers["predicted_clv"].isna().all()
    text = " ".join(output.split())
    assert (
        "note: RFM groups: the shop's history is 9 days long: the groups rank customers against "
        "one another, so a customer who bought in its last days, even on its last day, can read "
        "as Almost lost or Previously loyal." in text
    )
    # the withheld predictions leave no column of dashes: each group's historic CLV instead
    header = next(line for line in output.splitlines() if "group" in line and "customers" in line)
    assert "historic CLV" in header and "predicted CLV" not in header
    dormant = summary["rfm_groups"]["Dormant"]
    row = next(line for line in output.splitlines() if "Dormant" in line)
    assert f"{dormant['historic_clv']:,.0f}" in row


def test_a_nine_day_shop_s_growth_stage_says_its_rate_is_since_its_first_order(tmp_path):
    # orders from 2024-01-01 to 01-10, as of the last: a 9-day-old shop, whose order rate is
    # measured over its ten days of orders (both ends counted), said without "the last 10 days"
    rows = [(k, k % 10, 20.0 + k) for k in range(30)] + [(90, 1, 50.0), (90, 9, 30.0)]
    log = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    summary, _, _ = analyze(log, tmp_path, as_of=START + timedelta(days=9))
    stage = summary["growth"]["growth_stage"]
    assert (stage["shop_age_days"], stage["rate_window_days"], stage["recent_orders"]) == (
        9,
        10,
        32,
    )
    result = runner.invoke(app, ["stage", "-w", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (
        "shop age: 9 days (first order 2024-01-01); 32 orders since then (3.20 a day, 22.4 a "
        "week)" in text
    )
    report = (tmp_path / "out" / "report.html").read_text()
    assert "(22.4 orders a week since its first order, a 9-day-old shop)" in report
    assert "10 days" not in text and "10 days" not in report


def test_a_young_shop_whose_repeat_buyers_all_bought_once_more_withholds_a_fit_calling_them_gone(
    tmp_path,
):
    """18 days of orders; a third of the 90 customers bought again 3-6 days after their first
    order, nobody a third time.  BG/NBD runs to every purchase being the last (a / (a + b) -> 1):
    every repeat buyer gone with a CLV of 0, every one-time buyer alive.  Nobody has bought after
    a repeat purchase yet, so the orders cannot tell that from not having had the time."""
    rows = []
    for i in range(90):
        first = 20 - (i % 15)
        rows.append((i, 20 - first, 40 + i % 7))
        if i % 3 == 0:
            rows.append((i, 20 - first + 3 + i % 4, 45))
    log = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    summary, customers, output = analyze(log, tmp_path)
    assert_predictions_are_whole_or_withheld(summary, customers, output)
    assert_recent_buyers_are_not_called_gone(summary, customers)
    assert customers["predicted_clv"].isna().all()
    assert any("more likely gone than alive" in r for r in summary["low_confidence_reasons"])


@pytest.mark.parametrize("n_customers", [50, 300])
@pytest.mark.parametrize("days", [4, 30, 90])
def test_young_shops_give_sane_answers_or_none(tmp_path, n_customers, days):
    log = simulate_order_log(n_customers, days, seed=n_customers + days, acquisition_days=days)
    summary, customers, output = analyze(log, tmp_path)
    assert_predictions_are_whole_or_withheld(summary, customers, output)
    assert_recent_buyers_are_not_called_gone(summary, customers)
    # these shops' customers buy about twice a year: 4 to 90 days cannot show anyone leave
    assert customers["predicted_clv"].isna().all()


@pytest.mark.parametrize("n_customers", [50, 300])
def test_a_90_day_shop_of_frequent_buyers_is_predicted(tmp_path, n_customers):
    log = simulate_order_log(
        n_customers, 90, seed=n_customers, r=2.0, alpha=20.0, a=1.0, b=4.0, acquisition_days=60
    )
    summary, customers, output = analyze(log, tmp_path)
    assert customers["predicted_clv"].notna().all()
    assert_predictions_are_whole_or_withheld(summary, customers, output)
    assert_recent_buyers_are_not_called_gone(summary, customers)


def test_the_demo_shop_and_a_year_of_simulated_orders_keep_recent_buyers_alive(tmp_path):
    result = runner.invoke(
        app, ["demo", "--customers", "1500", "--seed", "5", "--out", str(tmp_path / "demo")]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "demo" / "results" / "summary.json").read_text())
    customers = pd.read_csv(
        tmp_path / "demo" / "results" / "customers.csv", parse_dates=["last_order_date"]
    )
    assert customers["predicted_clv"].notna().all()
    assert_recent_buyers_are_not_called_gone(summary, customers)
    log = simulate_order_log(300, 365, seed=11)
    summary, customers, output = analyze(log, tmp_path / "year")
    assert customers["predicted_clv"].notna().all()
    assert_predictions_are_whole_or_withheld(summary, customers, output)
    assert_recent_buyers_are_not_called_gone(summary, customers)


def test_the_rule_names_customers_whose_orders_fall_on_one_day():
    """The models count purchase days, the growth stage orders: a reason that says "no repeat
    customers" beside a stage of 100% repeat customers would contradict it."""
    assert unidentified_dropout(0, 0, 100, 365) == NO_REPEAT_CUSTOMERS
    none = unidentified_dropout(0, 0, 100, 365, same_day_customers=150)
    assert none == (
        "no customer ordered again on a later day (150 customers placed two or more orders, all "
        "on one day: one purchase to the models): predictions cannot be fitted, historic figures "
        "only"
    )
    few = unidentified_dropout(2, 3, 100, 365, same_day_customers=1)
    assert few is not None and few.startswith(
        "only 2 customer(s) ordered again on a later day (fewer than 5; 1 customer placed two or "
        "more orders, all on one day: one purchase to the models): dropout cannot be told"
    )


def test_the_rule_names_too_few_repeat_buyers_and_a_history_shorter_than_the_gap():
    few = unidentified_dropout(MIN_REPEAT_CUSTOMERS - 1, 10, 1000, 365)
    assert few is not None and "ordered again on a later day" in few
    short = unidentified_dropout(50, 50, 10_000, 99)  # a repeat order per 200 days observed
    assert short is not None and "shorter than half the typical time between repeat" in short
    assert unidentified_dropout(50, 50, 10_000, 100) is None
    assert unidentified_dropout(MIN_REPEAT_CUSTOMERS, 50, 10_000, 250) is None


@pytest.mark.parametrize("months", [6, 12])
def test_the_demo_shop_with_half_a_year_or_a_year_of_orders_is_predicted(tmp_path, months):
    """A realistic shop: a quarter of its customers repeat, and the days they are gone count."""
    from valuecast.datasets.demo_shop import generate_demo_shop

    generate_demo_shop(tmp_path / "full.csv", customers=2000, seed=3)
    full = pd.read_csv(tmp_path / "full.csv", dtype=str, keep_default_na=False)
    created = pd.to_datetime(full["Created at"].str[:10])
    cut = created.min() + pd.DateOffset(months=months)
    full[created < cut].to_csv(tmp_path / "part.csv", index=False)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["analyze", str(tmp_path / "part.csv"), "-w", str(tmp_path / "w.duckdb"), "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    customers = pd.read_csv(out / "customers.csv", parse_dates=["last_order_date"])
    assert customers["predicted_clv"].notna().all(), summary["low_confidence_reasons"]
    assert_predictions_are_whole_or_withheld(summary, customers, result.output)
    assert_recent_buyers_are_not_called_gone(summary, customers)


def test_a_shop_without_dropout_is_fitted_at_the_limit_and_says_so(tmp_path):
    # nobody leaves (p ~ Beta(1e-9, 1)): the maximum is on the boundary, the NBD
    log = simulate_order_log(400, 365, seed=4, r=1.0, alpha=40.0, a=1e-9, b=1.0)
    summary, customers, output = analyze(log, tmp_path)
    model = summary["model"]
    label = LABELS[model["name"]]
    assert model["limit"].startswith(f"{label}: no dropout visible; it reduces to the NBD")
    assert model["limit"] in summary["notes"]
    assert f"{label}: no dropout visible" in output
    dropout = "s" if model["name"] == "pnbd" else "a"
    assert model["standard_errors"][dropout] is None
    assert model["standard_errors"]["r"] > 0 and model["standard_errors"]["alpha"] > 0
    assert_predictions_are_whole_or_withheld(summary, customers, output)
    assert customers["predicted_clv"].notna().all()
    assert_recent_buyers_are_not_called_gone(summary, customers)


def test_a_one_day_history_is_one_day():
    reason = unidentified_dropout(40, 40.0, 400.0, 1)
    assert reason.startswith("the history (1 day) is shorter than half")


def test_a_two_day_shop_says_one_day_of_history_in_every_reason(tmp_path):
    # 30 customers on day 0 and day 1, as of day 1: one day of history, said as one day
    log = pd.DataFrame(
        [(k, k % 2, 20.0 + k) for k in range(30)], columns=["customer_id", "day", "amount"]
    )
    summary, customers, output = analyze(log, tmp_path)
    assert summary["history_days"] == 1
    assert "only 1 day of history (under 180)" in summary["low_confidence_reasons"]
    assert summary["backtest"]["skipped"].startswith("1 day of history from 2024-01-01")
    assert "1 days" not in " ".join(output.split())
    reason = endless_on_short_history(_AtLimit(), 1.0, 365.25)
    assert reason.startswith("the fit finds no dropout in 1 day of history"), reason


def test_a_shop_of_days_whose_fit_finds_no_dropout_withholds_its_year(tmp_path):
    # 300 customers in their first 5 days, most reordering daily, some stopping each day: the
    # fit finds nobody leaving and would predict ~138 orders each over 12 months
    rng = np.random.default_rng(9)
    rows = []
    for customer in range(300):
        day = int(rng.integers(0, 3))
        rows.append((customer, day, float(rng.gamma(3, 20))))
        while rng.random() < 0.8 and day < 5:
            day += 1
            rows.append((customer, day, float(rng.gamma(3, 20))))
    log = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    summary, customers, output = analyze(log, tmp_path, as_of=START + timedelta(days=5))
    assert_predictions_are_whole_or_withheld(summary, customers, output)
    assert customers["predicted_clv"].isna().all()
    reason = summary["low_confidence_reasons"][-1]
    assert reason.startswith("the fit finds no dropout in 5 days of history"), reason
    assert endless_on_short_history(_AtLimit(), 200.0, 365.25) is None  # half a horizon will do
    assert endless_on_short_history(_AtLimit(), 180.0, 365.25) is not None


def test_a_singular_spend_fit_says_the_resampled_interval_needs_no_standard_errors(tmp_path):
    # 60 repeat customers, each spending about their own amount on every repeat order (a 5%
    # spread around a lognormal level), beside 120 one-time buyers: the Gamma-Gamma fit runs
    # towards p -> inf and stops at p ~ 5e6 with a singular information matrix; the shop is
    # small enough for the bootstrap interval, which refits resampled customers instead
    rng = np.random.default_rng(21)
    repeats = rng.integers(1, 4, 60)
    level = rng.lognormal(3.5, 0.8, 60)
    spend = np.round(level * (1 + rng.normal(0, 0.05, 60)), 2)
    rows = []
    for customer in range(180):
        first = int(rng.integers(0, 200))
        rows.append((customer, first, float(rng.gamma(3, 20))))
        if customer < 60:
            days = np.sort(rng.choice(np.arange(first + 1, 300), repeats[customer], replace=False))
            rows += [(customer, int(day), float(spend[customer])) for day in days]
    log = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    summary, customers, output = analyze(log, tmp_path, as_of=START + timedelta(days=300))
    assert summary["model"]["interval"]["method"] == "bootstrap"
    assert customers["predicted_clv_p90"].notna().all()
    (note,) = [note for note in summary["notes"] if "information matrix is singular" in note]
    assert note.startswith("Gamma-Gamma: no standard errors for its parameters in summary.json")
    assert note.endswith("it comes from refitting the models to resampled customers")
    assert "penalizer" not in output


def test_withheld_predictions_leave_the_fits_missing_standard_errors_unsaid(tmp_path):
    # a three-day shop of 120 customers, a third of them ordering again the next day: the fit
    # is at its no-dropout limit with a singular information matrix, and is withheld
    rng = np.random.default_rng(3)
    rows = []
    for customer in range(120):
        day = int(rng.integers(0, 3))
        rows.append((customer, day, float(rng.gamma(3, 20))))
        while day < 2 and rng.random() < 0.35:
            day += 1
            rows.append((customer, day, float(rng.gamma(3, 20))))
    log = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    summary, customers, output = analyze(log, tmp_path, as_of=START + timedelta(days=2))
    assert customers["predicted_clv"].isna().all()
    # the limit is said; the missing standard errors, of predictions not made, are not
    assert any("no dropout visible" in note for note in summary["notes"]), summary["notes"]
    assert not any("information matrix is singular" in note for note in summary["notes"])
    assert "information matrix" not in output


class _AtLimit:
    limits_ = {"a": "0"}


@pytest.fixture(scope="module")
def bgnbd_year(tmp_path_factory):
    """A year of 300 simulated customers analysed with ``--model bgnbd`` (tests copy the
    workspace before writing to it): its folder, summary, customers and output."""
    folder = tmp_path_factory.mktemp("bgnbd_year")
    log = simulate_order_log(300, 365, seed=11, r=2.0, alpha=40.0)
    return (folder, *analyze(log, folder, None, "--model", "bgnbd"))


def test_bgnbd_one_time_buyers_get_no_next_order_date(bgnbd_year):
    # BG/NBD holds a customer who has not bought again alive (P(alive) 1) whatever their silence:
    # its 8 one-time buyers of a year each read a next order, on no evidence that they are more
    # likely active than not; the repeat buyers' dates stand, and the note says why
    _, summary, customers, output = bgnbd_year
    once = customers[customers["frequency"] == 0]
    assert len(once) == 8 and (once["probability_alive"] == 1).all()
    assert once["expected_date_of_next_order"].isna().all()
    repeat = customers[customers["frequency"] > 0]
    assert repeat["expected_date_of_next_order"].notna().sum() > 0
    (note,) = [note for note in summary["notes"] if note.startswith("BG/NBD holds")]
    assert "no expected next order is given for those customers" in note
    assert note in " ".join(output.split())


def test_a_bgnbd_one_time_buyers_page_says_their_p_alive_is_the_models(bgnbd_year, tmp_path):
    """A one-time buyer's page under BG/NBD read "P(alive) 100%" and, for the next order,
    "none expected in the horizon", without the note the overview, the report and the command
    line give: it says why no next order is shown and how to read P(alive); a repeat buyer's
    page says nothing of it."""
    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    folder, _, customers, _ = bgnbd_year
    once = customers.loc[customers["frequency"] == 0, "customer_id"].iloc[0]
    repeat = customers.loc[customers["frequency"] > 0, "customer_id"].iloc[0]
    shutil.copy(folder / "w.duckdb", tmp_path / "w.duckdb")
    application = create_app(tmp_path / "w.duckdb", warm=False)
    try:
        client = TestClient(application, base_url="http://127.0.0.1")
        once_page = " ".join(client.get(f"/customers/{once}").text.split())
        repeat_page = client.get(f"/customers/{repeat}").text
    finally:
        application.state.dashboard.close()
    assert "none expected in the horizon" not in once_page
    assert (
        "not shown: BG/NBD holds a customer without a repeat purchase alive however long ago "
        "they bought"
    ) in once_page
    assert 'id="held-alive"' in once_page
    assert "read P(alive) and churn for repeat customers only" in once_page
    assert 'id="held-alive"' not in repeat_page


def test_a_subscription_shop_counts_its_likely_active_customers_in_lapsed_groups(tmp_path):
    # 300 subscribers ordering every 30 days for two years (starting on days 0-29) and 100
    # who stopped after a year: as of day 729, a subscriber between two orders ranks low on
    # recency though the model holds them active; the CLI says so beside the groups
    rows = [(k, day, 30.0) for k in range(300) for day in range(k % 30, 730, 30)]
    rows += [(1000 + k, day, 30.0) for k in range(100) for day in range(k % 30, 365, 30)]
    log = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    summary, customers, output = analyze(log, tmp_path, START + timedelta(days=729))
    lapsed = customers["rfm_group"].isin(["Almost lost", "At risk", "Previously loyal", "Dormant"])
    likely = (customers["probability_alive"] >= 0.9) & (customers["frequency"] > 0)
    silent = customers["T"] - customers["recency"]
    due = silent <= 1.5 * customers["average_days_between_orders"]
    count = int((lapsed & likely & due).sum())
    assert 0 < count and count >= 0.05 * lapsed.sum()
    assert summary["likely_active_in_lapsed_groups"] == count
    assert (
        f"{count:,} of the {int(lapsed.sum()):,} customers in Almost lost, At risk, Previously "
        "loyal and Dormant have bought again, last ordered within 1.5 times their average days "
        "between orders and are 90% or more likely active by the model"
    ) in " ".join(output.split())


def test_customers_who_stopped_long_ago_are_not_counted_between_two_orders(tmp_path):
    # a yearly gift shop's customers, a fifth of whom stop buying each year, fitted at its
    # no-dropout limit: every customer is held active (P(alive) 1), those who last bought
    # three Christmases ago too; only those silent for at most 1.5 of their own gaps count
    rng = np.random.default_rng(5)
    rows = []
    for k in range(400):
        first = int(rng.integers(0, 365))
        years = 1 + int(rng.geometric(0.2))
        for year in range(min(years, 4)):
            rows.append((k, first + 365 * year + int(rng.integers(-10, 10)), 40.0))
    log = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    log = log[(log["day"] >= 0) & (log["day"] <= 1459)].assign(day=lambda f: f["day"] - 730)
    summary, customers, _ = analyze(log, tmp_path, START + timedelta(days=729))
    lapsed = customers["rfm_group"].isin(["Almost lost", "At risk", "Previously loyal", "Dormant"])
    likely = (customers["probability_alive"] >= 0.9) & (customers["frequency"] > 0)
    silent = customers["T"] - customers["recency"]
    due = silent <= 1.5 * customers["average_days_between_orders"]
    assert (lapsed & likely & ~due).sum() > (lapsed & likely & due).sum()  # most stopped
    assert summary["likely_active_in_lapsed_groups"] == int((lapsed & likely & due).sum())
