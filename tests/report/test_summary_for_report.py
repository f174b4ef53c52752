"""What summary.json gained for the report's backtest charts: the weekly series and by frequency."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from valuecast.analysis.backtest import cumulative_orders_by_week
from valuecast.analysis.predict import actual_weekly_cumulative
from valuecast.analysis.summary import summarize
from valuecast.store import Workspace


def test_weekly_actuals_are_the_holdout_purchase_days_of_calibration_customers(shop):
    summary = shop.with_spend[0]
    backtest = summary["backtest"]
    calibration_end = date.fromisoformat(backtest["calibration_end"])
    as_of = date.fromisoformat(summary["as_of"])
    with Workspace(shop.workspace, read_only=True) as ws:
        orders = ws.orders()
        weekly = actual_weekly_cumulative(orders, calibration_end, as_of)
        calibration = summarize(orders, as_of=as_of, calibration_end=calibration_end)
        holdout_orders = int(calibration.table.to_pandas()["holdout_orders"].sum())
        # the calibration customers given as a table (what the pipeline passes): the same series;
        # half of them, a smaller one
        given = actual_weekly_cumulative(
            orders, calibration_end, as_of, calibration_customers=calibration.table
        )
        half = calibration.table.filter(calibration.table.customer_id.hash() % 2 == 0)
        fewer = actual_weekly_cumulative(orders, calibration_end, as_of, calibration_customers=half)
        frame = orders.to_pandas()
    assert given == weekly and fewer[-1] < weekly[-1]
    # the same from the orders in pandas: purchase days after the calibration end of customers
    # whose first purchase day is on or before it
    frame = frame[frame["customer_id"].notna()]
    frame["day"] = pd.to_datetime(frame["order_date"]).dt.date
    days = frame[["customer_id", "day"]].drop_duplicates()
    first = days.groupby("customer_id")["day"].min()
    held = days[
        (days["day"] > calibration_end)
        & (days["day"] <= as_of)
        & days["customer_id"].isin(first[first <= calibration_end].index)
    ]
    offsets = [(day - calibration_end).days for day in held["day"]]
    holdout_days = (as_of - calibration_end).days
    assert weekly == cumulative_orders_by_week(offsets, holdout_days)
    assert weekly[-1] == holdout_orders == len(held) > 0
    assert backtest["weekly"]["actual"] == weekly
    assert backtest["weekly"]["day"][-1] == holdout_days
    assert len(backtest["weekly"]["day"]) == len(weekly) == -(-holdout_days // 7)
    assert np.all(np.diff(weekly) >= 0)


def test_weekly_predictions_and_by_frequency_in_summary(shop):
    backtest = shop.with_spend[0]["backtest"]
    models = {name for name, scores in backtest["models"].items() if "error" not in scores}
    assert set(backtest["weekly"]["predicted"]) == models
    for name in models:
        series = backtest["weekly"]["predicted"][name]
        assert len(series) == len(backtest["weekly"]["day"])
        # not sampled (1,500 customers): the last week ends at the model's holdout total
        assert series[-1] == pytest.approx(backtest["models"][name]["predicted_orders"])
    table = backtest["by_frequency"]
    assert sum(table["customers"]) == backtest["n_customers"]
    assert table["frequency"][0] == "0" and set(table["predicted"]) == models
    counts = np.asarray(table["customers"])
    assert counts @ np.asarray(table["actual"]) == pytest.approx(backtest["weekly"]["actual"][-1])


def test_weekly_actuals_need_a_holdout(shop):
    with Workspace(shop.workspace, read_only=True) as ws:
        with pytest.raises(ValueError, match="after the calibration end"):
            actual_weekly_cumulative(ws.orders(), date(2026, 1, 1), date(2026, 1, 1))
