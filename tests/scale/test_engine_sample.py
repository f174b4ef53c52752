"""The backtest sample drawn in the engine is the one backtest() draws from the whole table."""

from __future__ import annotations

from datetime import date

import pytest

from valuecast.analysis.attributes import shop_facts
from valuecast.analysis.backtest import backtest, holdout_split
from valuecast.analysis.predict import actual_weekly_cumulative, choose_model
from valuecast.analysis.summary import summarize
from valuecast.datasets import data_file
from valuecast.io import read_exports
from valuecast.jobs.analyze import AnalysisOptions
from valuecast.store import Workspace


@pytest.mark.parametrize("limit", [300])
def test_engine_sample_equals_backtest_sample(tmp_path, limit):
    with data_file("CDNOW_sample.txt") as path, Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest(read_exports([str(path)], format="cdnow"))
        options = AnalysisOptions(as_of="1997-09-30", backtest_max_customers=limit)
        orders = ws.orders()
        facts = shop_facts(orders, date(1997, 9, 30))
        as_of = facts["last_order_date"]
        info, chosen = choose_model(orders, ws.customers(), as_of, facts, options)
        calibration_end = holdout_split(facts["first_order_date"], as_of)
        whole = summarize(orders, as_of=as_of, calibration_end=calibration_end).table
        expected = backtest(
            whole.to_pandas(),
            (as_of - calibration_end).days,
            weekly=True,
            actual_weekly_cumulative=actual_weekly_cumulative(orders, calibration_end, as_of),
            max_customers=limit,
        ).to_dict()
    assert info["n_customers"] == expected["n_customers"] == min(limit, 2357)
    assert info["sampled_from"] == expected["sampled_from"]
    assert set(info["models"]) == set(expected["models"])
    for name, scores in expected["models"].items():
        assert set(info["models"][name]) == set(scores)
        for key, value in scores.items():
            assert info["models"][name][key] == value, (name, key, info["models"][name][key], value)
    assert info["naive"] == expected["naive"]
    assert chosen == expected["best"]


def test_only_the_columns_the_backtest_reads_cross_to_python(tmp_path, monkeypatch):
    from valuecast.analysis import predict
    from valuecast.analysis.backtest import READ_COLUMNS

    frames = []

    def recording(frame, *args, **kwargs):
        frames.append(frame)
        return backtest(frame, *args, **kwargs)

    monkeypatch.setattr(predict, "backtest", recording)
    with data_file("CDNOW_sample.txt") as path, Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest(read_exports([str(path)], format="cdnow"))
        orders = ws.orders()
        facts = shop_facts(orders, date(1997, 9, 30))
        options = AnalysisOptions(as_of="1997-09-30", backtest_max_customers=300)
        choose_model(orders, ws.customers(), facts["last_order_date"], facts, options)
    (frame,) = frames
    assert list(frame.columns) == list(READ_COLUMNS)
    assert len(frame) == 300


def test_reads_for_later_steps_run_in_another_thread_while_the_candidates_are_fitted(tmp_path):
    import threading

    from valuecast.analysis.predict import EngineRead

    seen = []
    with data_file("CDNOW_sample.txt") as path, Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest(read_exports([str(path)], format="cdnow"))
        orders = ws.orders()
        facts = shop_facts(orders, date(1997, 9, 30))
        options = AnalysisOptions(as_of="1997-09-30", backtest_max_customers=300)
        ahead = EngineRead(orders.group_by("customer_id").aggregate(n=orders.count()))

        def read() -> None:
            seen.append((threading.current_thread() is threading.main_thread(), ahead.frame()))

        info, _ = choose_model(
            orders, ws.customers(), facts["last_order_date"], facts, options, meanwhile=[read]
        )
        ((in_main, frame),) = seen  # read once, and done before choose_model returned
        assert not in_main
        assert ahead.frame() is frame  # not read again
        assert len(frame) == 2357
    assert "skipped" not in info
