"""A customer whose repeat orders were all free (a replacement, a staff order, a 100% discount
code): the spend model, which reads paid orders only, expects of them its mean at m -> 0 for
their number of orders (Fader & Hardie 2013's Gamma-Gamma mean with m = 0), not the shop's mean,
and the shop's totals add what the customers table says."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from valuecast.cli import app

MAP = "customer_id=customer_id,ordered_at=order_date,revenue=revenue"


def _shop_with_a_free_sample_collector(path) -> None:
    rng = np.random.default_rng(7)
    rows = []
    for i in range(150):
        day = pd.Timestamp("2025-01-01") + pd.Timedelta(days=int(rng.integers(0, 480)))
        while day <= pd.Timestamp("2026-04-30"):
            rows.append((f"c{i}", day.date(), round(rng.gamma(4, 12.5), 2)))
            if rng.random() < 0.35:
                break
            day += pd.Timedelta(days=int(rng.exponential(40)) + 1)
    for day in pd.date_range("2025-06-01", "2026-04-20", freq="30D"):  # eleven free orders
        rows.append(("freebie", day.date(), 0.0))
    pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue"]).to_csv(path, index=False)


def test_a_customer_whose_repeat_orders_were_free_is_expected_the_spend_models_mean_at_zero(
    tmp_path,
):
    _shop_with_a_free_sample_collector(tmp_path / "orders.csv")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["analyze", str(tmp_path / "orders.csv"), "--map", MAP, "-w", str(tmp_path / "w.duckdb"),
         "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    spend = summary["model"]["spend_model"]
    p, q, v = (spend["params"][name] for name in ("p", "q", "v"))
    customers = pq.read_table(out / "customers.parquet").to_pandas().set_index("customer_id")
    free = customers.loc["freebie"]
    assert free["frequency"] == 10 and free["historic_clv"] == 0
    shop_mean = p * v / (q - 1)
    at_zero = p * v / (p * free["frequency"] + q - 1)
    assert free["predicted_average_order_value"] == pytest.approx(at_zero, rel=1e-9)
    assert free["predicted_average_order_value"] < 0.7 * shop_mean
    assert free["predicted_clv_p10"] <= free["predicted_clv"] <= free["predicted_clv_p90"]
    # a one-time buyer still gets the shop's mean
    once = customers[customers["frequency"] == 0].iloc[0]
    assert once["predicted_average_order_value"] == pytest.approx(shop_mean, rel=1e-9)
    # the shop's total adds the customers table's predictions, the free customer's too
    assert summary["totals"]["predicted_clv"] == pytest.approx(
        customers["predicted_clv"].sum(), rel=1e-9
    )
    assert spend["repeat_customers_paying_nothing"] == 1
    assert any(
        note.startswith("1 customer ordered again but paid nothing for their repeat orders")
        and note.endswith(
            "expects less of them per order the more free orders they had, not the shop's mean"
        )
        for note in summary["notes"]
    ), summary["notes"]
