"""When no model beats the naive guess, the printed summary and the report say so in one sentence."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from valuecast.analysis.backtest import naive_verdict
from valuecast.cli import app

runner = CliRunner()
SENTENCE = "No model beat the naive guess"


def _clockwork_shop(path):
    """Customers who order like clockwork and never leave: their own past rate is the answer."""
    rng = random.Random(1)
    rows = ["customer,date,amount"]
    for customer in range(200):
        gap = rng.choice([7, 14, 30, 60, 90])
        day = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 300))
        while day <= dt.date(2025, 12, 31):
            rows.append(f"c{customer}@x.com,{day},{rng.randint(20, 80)}")
            day += dt.timedelta(days=gap)
    path.write_text("\n".join(rows) + "\n")


def _analyze(folder) -> tuple[str, dict]:
    """``valuecast analyze`` of ``folder/orders.csv``: its output and summary.json."""
    result = runner.invoke(
        app,
        ["analyze", str(folder / "orders.csv"), "--map",
         "customer_id=customer,ordered_at=date,revenue=amount",
         "-o", str(folder / "out"), "-w", str(folder / "w.duckdb")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output, json.loads((folder / "out" / "summary.json").read_text())


@pytest.fixture(scope="module")
def clockwork(tmp_path_factory) -> tuple[Path, str, dict]:
    """The clockwork shop analysed once a module: its folder, output and summary.json."""
    folder = tmp_path_factory.mktemp("clockwork")
    _clockwork_shop(folder / "orders.csv")
    return (folder, *_analyze(folder))


def test_the_summary_and_the_report_say_when_the_naive_guess_wins(clockwork):
    folder, output, summary = clockwork
    assert summary["backtest"]["best_beats_naive"] is False
    assert SENTENCE in " ".join(output.split())
    assert SENTENCE in (folder / "out" / "report.html").read_text()


def test_no_sentence_when_a_model_wins_or_none_was_fitted():
    backtest = {"best": "bgnbd", "models": {"bgnbd": {"mae_orders": 0.2}},
                "naive": {"mae_orders": 0.3}}  # fmt: skip
    assert naive_verdict({**backtest, "best_beats_naive": True}) is None
    assert naive_verdict({"best": None, "best_beats_naive": None}) is None
    lost = naive_verdict({**backtest, "best_beats_naive": False})
    assert lost.startswith(SENTENCE) and "0.200" in lost and "0.300" in lost


def test_withheld_predictions_are_not_called_rough_estimates(tmp_path):
    # 150 customers over two years, about one in ten buying twice: the backtest names a model,
    # but the history cannot show dropout and the predictions are withheld
    rng = random.Random(3)
    rows = ["customer,date,amount"]
    for customer in range(150):
        day = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randint(0, 680))
        rows.append(f"c{customer}@x.com,{day},{rng.randint(5, 90)}")
        if rng.random() < 0.1 and day < dt.date(2024, 10, 1):
            rows.append(f"c{customer}@x.com,{day + dt.timedelta(days=40)},{rng.randint(5, 90)}")
    (tmp_path / "orders.csv").write_text("\n".join(rows) + "\n")
    output, summary = _analyze(tmp_path)
    assert summary["model"]["fitted"] is False and summary["model"]["name"]
    report = (tmp_path / "out" / "report.html").read_text()
    output = " ".join(output.split())
    for text in (output, report):
        assert "read the predictions as rough estimates" not in text
        assert "(the chosen model)" not in text
    if summary["backtest"]["best_beats_naive"] is False:
        assert "the predictions are withheld in any case" in output
    assert "(the backtest&#39;s choice)" in report
    lost = {"best": "bgnbd", "models": {"bgnbd": {"mae_orders": 0.2}},
            "naive": {"mae_orders": 0.1}, "best_beats_naive": False}  # fmt: skip
    assert naive_verdict(lost, predicted=False).endswith(
        "the predictions are withheld in any case."
    )


def test_a_fit_of_the_backtest_is_the_backtests_note(clockwork):
    # the clockwork shop's calibration fits reach limits: those notes belong to the backtest,
    # and the analysis' notes are the predicting model's own
    _, _, summary = clockwork
    backtest_notes = summary["backtest"]["notes"]
    assert backtest_notes and all(n.startswith("in the backtest: ") for n in backtest_notes)
    own = {summary["model"].get("limit"), (summary["model"].get("spend_model") or {}).get("limit")}
    for note in backtest_notes:  # unless the predicting model says the same of itself
        said = note.removeprefix("in the backtest: ")
        assert said in own or said not in summary["notes"]
