"""Seasons in ``analyze``: the history rule, the calendar periods, and the seasonal shop.

The acceptance point of the seasons: on a simulated shop whose customers buy 2.5 times as often
in November and December, three years of history and the as-of date at the end of September,
``analyze --horizon 3`` predicts the next quarter's orders of the existing customers within 10%;
without seasons the analysis misses the peak by about 40%, which the test message reports.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from valuecast.analysis.seasons import (
    SEASON_NAMES,
    UNTOLD,
    build_periods,
    complete_months,
    why_no_seasons,
)
from valuecast.io.calendar import Calendar

runner = CliRunner()


def test_seasons_need_two_complete_copies_of_every_month():
    assert complete_months(date(2022, 1, 1), date(2023, 12, 31)).tolist() == [2] * 12
    assert why_no_seasons(date(2022, 1, 1), date(2023, 12, 31)) is None
    # one day short of the second December
    reason = why_no_seasons(date(2022, 1, 1), date(2023, 12, 30))
    assert reason is not None and "Dec" in reason and "Jan" not in reason
    # CDNOW's 78 weeks (1997-01-01 to 1998-06-30) hold one of July to December: no seasons
    assert why_no_seasons(date(1997, 1, 1), date(1998, 6, 30)) is not None


def test_periods_are_months_against_january_on_days_from_the_end():
    periods, notes = build_periods(
        date(2022, 1, 15), date(2023, 12, 31), 40.0, seasons=True, calendar=None
    )
    assert periods.names == SEASON_NAMES and notes == []
    assert periods.edges[0] == (date(2022, 1, 1) - date(2023, 12, 31)).days
    # a purchase on 2023-11-30 (30 days before the end) is in a November; the day after the end
    # is in January, the reference (all dummies 0)
    november = periods.values_at([-31.0])[0]
    assert november.tolist() == [float(name == "season_nov") for name in SEASON_NAMES]
    assert periods.values_at([1.0])[0].sum() == 0.0
    assert periods.edges[-1] >= 40.0


def test_a_calendar_that_ends_early_repeats_its_last_year():
    mondays = pd.date_range("2023-01-02", periods=52, freq="7D").date
    promo = (np.arange(52) % 5 == 0).astype(float)
    calendar = Calendar("week", tuple(mondays), pd.DataFrame({"promo": promo}), "cal.csv")
    periods, notes = build_periods(
        date(2023, 1, 2), date(2023, 12, 31), 120.0, seasons=False, calendar=calendar
    )
    assert any("repeats" in note for note in notes)
    end = date(2023, 12, 31)
    future = [(mondays[w] - end).days + 3.0 + 364.0 for w in range(52)]
    inside = [w for w in range(52) if future[w] < 120.0]
    assert len(inside) == 17
    for week in inside:  # each week of the horizon holds the value of the same week a year ago
        assert periods.values_at([future[week]])[0, 0] == promo[week]


def test_calendar_columns_the_history_cannot_tell_apart_are_noted():
    """A column of one value throughout is the base rate again, and one repeating by calendar
    month is the month effects again: their coefficients are free, their standard errors
    enormous. A column that varies within the months is no such column."""
    firsts = pd.date_range("2022-01-01", "2024-12-01", freq="MS").date
    month = np.array([day.month for day in firsts])
    columns = {
        "always": np.ones(len(firsts)),
        "holidays": np.isin(month, (11, 12)).astype(float),
        "promo": (np.arange(len(firsts)) % 5 == 0).astype(float),
    }
    calendar = Calendar("month", tuple(firsts), pd.DataFrame(columns), "cal.csv")
    _, notes = build_periods(
        date(2022, 1, 1), date(2024, 12, 31), 365.0, seasons=True, calendar=calendar
    )
    untold = [note for note in notes if UNTOLD in note]
    assert [note.split("'")[1] for note in untold] == ["always", "holidays"]
    assert untold[0].startswith("calendar cal.csv: column 'always' over the history is the base")
    # without the month effects only the constant one is the base rate again
    _, notes = build_periods(
        date(2022, 1, 1), date(2024, 12, 31), 365.0, seasons=False, calendar=calendar
    )
    assert [note.split("'")[1] for note in notes if UNTOLD in note] == ["always"]


# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seasonal(tmp_path_factory):
    from shops import ingested, seasonal_shop

    folder = tmp_path_factory.mktemp("seasonal")
    text, truth, as_of = seasonal_shop(customers=2000)
    workspace = ingested(folder, text, "customer_id=customer,ordered_at=date,revenue=amount")
    return workspace, folder, truth


def test_analyze_predicts_the_seasonal_quarter_within_ten_percent(seasonal, monkeypatch):
    """The analysis ``analyze --horizon 3`` runs (its defaults: seasons tried), without the
    report and files the CLI then writes.  The backtest scores the seasonal candidates by their
    estimates alone, as the plain ones: no information matrix is computed for them."""
    from valuecast.analysis import predict
    from valuecast.jobs.analyze import AnalysisOptions, analyze
    from valuecast.models import _fitting
    from valuecast.models.clv import DAYS_PER_MONTH
    from valuecast.models.registry import candidate_model, split_seasonal
    from valuecast.store import Workspace

    backtesting, in_backtest = [], []
    real_backtest, real_hessian = predict.backtest, _fitting.numerical_hessian

    def watched_backtest(*args, **kwargs):
        backtesting.append(True)
        try:
            return real_backtest(*args, **kwargs)
        finally:
            backtesting.pop()

    def watched_hessian(*args, **kwargs):
        in_backtest.append(bool(backtesting))  # a raise here would be a skipped candidate
        return real_hessian(*args, **kwargs)

    monkeypatch.setattr(predict, "backtest", watched_backtest)
    monkeypatch.setattr(_fitting, "numerical_hessian", watched_hessian)
    workspace, _, truth = seasonal
    with Workspace(workspace) as ws:
        analysis = analyze(ws, AnalysisOptions(horizon=3))
    summary = analysis.summary
    tried = [name for name in summary["backtest"]["models"] if name.endswith("+season")]
    assert len(tried) == 3 and not any(in_backtest)
    assert in_backtest  # the chosen model's fit has its standard errors
    predicted = summary["totals"]["predicted_number_of_orders"]
    error = predicted / truth - 1
    # what the chosen model predicts without seasons: the plain model on the same histories
    history = [analysis.customers[c].to_numpy(float) for c in ("frequency", "recency", "T")]
    plain_model = candidate_model(split_seasonal(summary["model"]["name"])[0]).fit(*history)
    plain_orders = plain_model.expected_transactions(3 * DAYS_PER_MONTH, *history).sum()
    plain_error = plain_orders / truth - 1
    message = (
        f"next quarter's orders: {predicted:.0f} predicted with seasons ({error:+.1%}), "
        f"{truth} placed; without seasons {plain_error:+.1%}"
    )
    print(message)
    assert abs(error) < 0.10, message
    assert plain_error < -0.25, message  # the peak the seasons are there for
    assert summary["model"]["name"].endswith("+season"), message
    multipliers = summary["model"]["seasons"]["multipliers"]
    assert 2.0 < multipliers["season_nov"] < 3.0 and 2.0 < multipliers["season_dec"] < 3.0
    assert 0.8 < multipliers["season_jun"] < 1.25
    assert summary["backtest"]["seasons"]["tried"] is True


def test_a_bad_calendar_stops_analyze_with_one_line(seasonal, tmp_path):
    """``--calendar`` is read before the analysis: a bad cell is one line naming row and column."""
    from valuecast.cli import app

    workspace, _, _ = seasonal
    bad = tmp_path / "calendar.csv"
    bad.write_text("month,promo\n2024-01,1\n2024-02,x\n")
    result = runner.invoke(app, ["analyze", "-w", str(workspace), "--calendar", str(bad)])
    assert result.exit_code != 0
    assert "row 3" in result.output and "promo" in result.output
    assert "Traceback" not in result.output


def test_purchase_sums_count_repeat_days_per_month_and_week_in_the_engine():
    """Per history, the covariates summed over its customers' repeat purchase days (the first
    day and same-day orders are no repeat purchase) divided by its customers."""
    import ibis

    from valuecast.analysis.seasons import purchase_sums
    from valuecast.analysis.summary import customer_summary

    orders = ibis.memtable(
        pd.DataFrame(
            {
                "customer_id": ["a", "a", "a", "a", "b", "b", "c"],
                "order_date": pd.to_datetime(
                    [
                        "2023-10-30",
                        "2023-11-06",
                        "2023-11-06",
                        "2023-12-27",
                        "2023-11-02",
                        "2023-11-14",
                        "2023-12-01",
                    ]
                ).date,
                "net_revenue": [10.0] * 7,
            }
        )
    )
    end = date(2023, 12, 31)
    mondays = pd.date_range("2023-10-30", periods=10, freq="7D").date
    promo = np.zeros(10)
    promo[1] = 1.0  # the week of 2023-11-06
    calendar = Calendar("week", tuple(mondays), pd.DataFrame({"promo": promo}), "cal.csv")
    periods, _ = build_periods(date(2023, 10, 30), end, 10.0, seasons=True, calendar=calendar)
    table = customer_summary(orders, as_of=end)
    sums = purchase_sums(orders, table, end, periods, weekly=True)
    frame = table.to_pandas().set_index("customer_id")
    a = sums.loc[tuple(float(frame.loc["a", c]) for c in ("frequency", "recency", "T"))]
    assert a["season_nov"] == 1.0 and a["season_dec"] == 1.0 and a["promo"] == 1.0
    b = sums.loc[tuple(float(frame.loc["b", c]) for c in ("frequency", "recency", "T"))]
    assert b["season_nov"] == 1.0 and b["promo"] == 0.0 and b["season_dec"] == 0.0
    c = sums.loc[tuple(float(frame.loc["c", c]) for c in ("frequency", "recency", "T"))]
    assert c.sum() == 0.0


def test_a_calendar_beside_seasons_the_backtest_could_not_see_still_predicts(tmp_path):
    """Two years of history hold two copies of every month, the backtest's calibration fewer:
    with a calendar the backtest chooses a seasonal model without month seasons, and the whole
    history's fit adds them, starting at no effect (it failed for lack of their start values,
    leaving historic figures only)."""
    import json

    from valuecast.cli import app
    from valuecast.datasets.demo_shop import generate_demo_shop

    export = tmp_path / "orders_export.csv"
    generate_demo_shop(export, customers=5000)
    months = pd.period_range("2024-07", "2027-06", freq="M")
    promo = [int(m.month in (11, 12)) for m in months]
    calendar = tmp_path / "calendar.csv"
    calendar.write_text(
        "month,promo\n" + "".join(f"{m},{p}\n" for m, p in zip(months, promo, strict=True))
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["analyze", str(export), "-w", str(tmp_path / "w.duckdb"), "--calendar",
              str(calendar), "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"]["name"].endswith("+season")
    assert "season_nov" in summary["model"]["seasons"]["multipliers"]
    assert not any("could not be fitted" in r for r in summary["low_confidence_reasons"])
    assert summary["totals"]["predicted_clv"] > 0
    # `report`, `channels` and `export` given another margin run the analysis again with its
    # calendar, read back from the snapshot: the same model, half the money at a margin of 0.5
    from valuecast.jobs.snapshots import last_analysis
    from valuecast.store import Workspace

    with Workspace(tmp_path / "w.duckdb") as ws:
        again = last_analysis(ws, margin=0.5).summary
    assert again["model"]["name"] == summary["model"]["name"]
    assert again["totals"]["predicted_clv"] == pytest.approx(
        0.5 * summary["totals"]["predicted_clv"], rel=1e-9
    )


def test_seasons_within_chance_give_way_to_the_plain_model(tmp_path):
    """A ten-year shop of 200 customers whose orders fall on days drawn evenly: the seasonal
    variants score a hair below the plain models in the holdout (their eleven multipliers fit
    noise), and chose them, with a narrower interval and no range of the sales to come.  The
    likelihood-ratio test finds no seasons: the plain model is chosen, and a note says why."""
    from shops import ingested
    from valuecast.jobs.analyze import AnalysisOptions, analyze
    from valuecast.store import Workspace

    rng = np.random.default_rng(1)
    start, span = np.datetime64("2016-12-01"), 3652
    rows = []
    for customer in range(200):
        first = int(rng.integers(0, span))
        days = [
            first,
            *(first + int(rng.integers(1, span - first + 1)) for _ in range(rng.poisson(6))),
        ]
        for day in sorted(d for d in days if d <= span):
            rows.append(f"C{customer:04d},{start + day},{round(float(rng.gamma(2, 25)), 2)}")
    workspace = ingested(tmp_path, "customer,date,amount\n" + "\n".join(rows) + "\n",
                         "customer_id=customer,ordered_at=date,revenue=amount")  # fmt: skip
    with Workspace(workspace) as ws:
        summary = analyze(ws, AnalysisOptions()).summary
    backtest = summary["backtest"]
    scores = {name: model["mae_orders"] for name, model in backtest["models"].items()}
    assert scores["bgnbd+season"] < scores["bgnbd"]  # what chose the seasons before
    assert not summary["model"]["name"].endswith("+season")
    said = [note for note in backtest["notes"] if note.startswith("bgnbd+season scored ")]
    assert (
        said
        and "below bgnbd in the holdout (mean absolute error of orders), but its 11 "
        "season multipliers are within chance (likelihood-ratio test, p = "
        in said[0]
    )
    # the analysis says it beside the chosen model, whose backtest row shows the lower score
    chosen = summary["model"]["name"]
    assert [n for n in summary["notes"] if n.startswith(f"{chosen}+season scored ")]
