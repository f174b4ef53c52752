"""Mean actual vs predicted holdout orders per calibration frequency (the backtest's second chart)."""

import numpy as np
import pandas as pd
import pytest

from valuecast.analysis.backtest import backtest, holdout_by_frequency


def test_groups_0_to_6_and_7_plus():
    frequency = [0, 0, 1, 3, 7, 9, 12]
    actual = [0, 1, 2, 1, 4, 6, 8]
    result = holdout_by_frequency(frequency, actual, {"m": [0.5, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0]})
    assert result["frequency"] == ["0", "1", "3", "7+"]  # groups without customers left out
    assert result["customers"] == [2, 1, 1, 3]
    assert result["actual"] == pytest.approx([0.5, 2.0, 1.0, 6.0])
    assert result["predicted"]["m"] == pytest.approx([0.5, 1.0, 2.0, 5.0])


def test_fewer_groups_and_bad_input():
    result = holdout_by_frequency([0, 1, 2, 5], [1, 1, 1, 3], {}, groups=3)
    assert result["frequency"] == ["0", "1", "2+"] and result["actual"] == [1.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="different lengths"):
        holdout_by_frequency([0, 1], [1], {})
    with pytest.raises(ValueError, match="different lengths"):
        holdout_by_frequency([0, 1], [1, 2], {"m": [1.0]})
    with pytest.raises(ValueError, match="NaN"):
        holdout_by_frequency([0, np.nan], [1, 2], {})


def test_backtest_reports_it_for_every_fitted_model_and_the_naive_guess():
    rng = np.random.default_rng(2)
    n = 3000
    frequency = rng.poisson(1.2, n)
    T = rng.integers(100, 400, n).astype(float)
    recency = np.where(frequency > 0, rng.uniform(0.2, 1.0, n) * T, 0.0).round()
    summary = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": recency,
            "T": T,
            "average_order_value": rng.gamma(4, 10, n),
            "avg_repeat_order_value": np.where(frequency > 0, rng.gamma(4, 10, n), 0.0),
            "holdout_orders": rng.poisson(0.3 + 0.2 * frequency),
        }
    )
    summary["holdout_revenue"] = summary["holdout_orders"] * 40.0
    result = backtest(summary, 120, candidates=("bgnbd", "mbgnbd"))
    table = result.to_dict()["by_frequency"]
    assert sum(table["customers"]) == n
    counts = np.asarray(table["customers"])
    assert counts @ np.asarray(table["actual"]) == pytest.approx(summary["holdout_orders"].sum())
    assert set(table["predicted"]) == {"bgnbd", "mbgnbd"}
    for name, means in table["predicted"].items():
        total = result.candidates[name].predicted_orders.sum()
        assert counts @ np.asarray(means) == pytest.approx(total)
    naive = result.naive["predicted_orders"]
    assert counts @ np.asarray(table["naive"]) == pytest.approx(naive)
