"""A few customers whose orders are worth a hundred consumers' each (wholesale or business
accounts) drag the Gamma-Gamma population mean, which is every one-time buyer's predicted order
value: the analysis says by how much (the spend model refitted without them), and predicts as
before.  A shop of one kind of customer, the demo shop and CDNOW get no note; in a small shop
one large customer is noted when they alone move the one-time buyers' value by a fifth."""

from __future__ import annotations

import json
import re
import warnings
from datetime import date

import ibis
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from valuecast.analysis.outlying_spend import far_spenders, outlying_spend, outlying_spend_note
from valuecast.analysis.summary import customer_summary
from valuecast.cli import app
from valuecast.models import GammaGamma
from valuecast.tables import amount_text

MAP = "customer_id=customer_id,ordered_at=order_date,revenue=revenue"
START, DAYS = pd.Timestamp("2024-05-01"), 730
AS_OF = (START + pd.Timedelta(days=DAYS - 1)).date()


def _consumers(rng: np.random.Generator, n: int) -> list[tuple]:
    """``n`` consumers acquired over two years, each buying at a Gamma-distributed rate until an
    exponential lifetime ends (Pareto/NBD in days), every order worth 20-120."""
    acquired = rng.uniform(0, DAYS - 1, n)
    rate, dropout = rng.gamma(2.0, 1 / 120.0, n), rng.gamma(2.0, 1 / 400.0, n)
    end = np.minimum(acquired + rng.exponential(1 / dropout), DAYS)
    rows = []
    for i in range(n):
        day = acquired[i]
        while day < end[i]:
            when = (START + pd.Timedelta(days=int(day))).date()
            rows.append((f"c{i:03d}", when, round(float(rng.uniform(20, 120)), 2)))
            day += rng.exponential(1 / rate[i])
    return rows


def _wholesale_shop(seed: int = 3) -> pd.DataFrame:
    """300 consumers and 5 wholesale accounts ordering 2,000-8,000 every 60-150 days."""
    rng = np.random.default_rng(seed)
    rows = _consumers(rng, 300)
    for j in range(5):
        day = rng.uniform(0, 200)
        while day < DAYS:
            when = (START + pd.Timedelta(days=int(day))).date()
            rows.append((f"w{j}", when, round(float(rng.uniform(2000, 8000)), 2)))
            day += rng.uniform(60, 150)
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue"])


def _spend_rows(orders: pd.DataFrame, as_of: date = AS_OF) -> pd.DataFrame:
    """The spend model's input as the analysis makes it: the repeat customers' (x, m) from the
    customer summary, with how many customers have each."""
    table = ibis.memtable(orders.rename(columns={"revenue": "net_revenue"}))
    summary = customer_summary(table, as_of=as_of).to_pandas()
    paid = summary[(summary["frequency"] > 0) & (summary["avg_repeat_order_value"] > 0)]
    return (
        paid.groupby(["frequency", "avg_repeat_order_value"])
        .size()
        .rename("count")
        .reset_index()
        .rename(columns={"frequency": "x", "avg_repeat_order_value": "m"})
        .astype(float)
    )


def _fitted(rows: pd.DataFrame) -> GammaGamma:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a limit model's note is the analysis' to give
        return GammaGamma().fit(rows["x"], rows["m"], weights=rows["count"])


def _one_time_value(model: GammaGamma) -> float:
    p, q, v = (model.params_[name] for name in ("p", "q", "v"))
    return p * v / (q - 1)


def _outlying(rows: pd.DataFrame):
    arrays = (rows[c].to_numpy(dtype=float) for c in ("x", "m", "count"))
    return outlying_spend(_fitted(rows), *arrays)


def test_five_wholesale_accounts_raising_every_one_time_buyers_order_value_are_noted(tmp_path):
    orders = _wholesale_shop()
    orders.to_csv(tmp_path / "orders.csv", index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["analyze", str(tmp_path / "orders.csv"), "--map", MAP, "-w", str(tmp_path / "w.duckdb"),
         "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    customers = pq.read_table(out / "customers.parquet").to_pandas()
    one_time = customers.loc[customers["frequency"] == 0, "predicted_average_order_value"]

    # the direct fits: the consumers alone (what analysing the wholesale accounts apart gives
    # the others), and everyone (what the analysis predicts with, unchanged)
    rows = _spend_rows(orders)
    wholesale = rows["m"] > 1000
    assert rows.loc[wholesale, "count"].sum() == 5
    without = _one_time_value(_fitted(rows[~wholesale]))
    with_them = _one_time_value(_fitted(rows))
    assert one_time.to_numpy() == pytest.approx(with_them, rel=1e-9)
    assert with_them / without - 1 > 0.2

    largest = amount_text(rows.loc[wholesale, "m"].max(), 2)
    change = round(100 * (with_them / without - 1))
    note = (
        "5 customers whose average repeat order is more than 10x the median repeat customer's "
        f"(up to {largest}) raise the predicted order value of customers without a repeat order "
        f"from {amount_text(without, 2)} to {amount_text(with_them, 2)} ({change:+d}%); if they "
        "are wholesale or business accounts, analyse them separately"
    )
    assert note in summary["notes"], summary["notes"]
    assert f"to {amount_text(one_time.iloc[0], 2)} (" in note  # the figure customers.csv shows
    told = summary["model"]["spend_model"]["outlying_customers"]
    assert told["customers"] == 5
    assert told["one_time_value_without_them"] == pytest.approx(without, rel=1e-9)
    assert told["one_time_value"] == pytest.approx(with_them, rel=1e-9)
    # the terminal and the report say it too
    assert note in " ".join(result.output.split())
    report = (out / "report.html").read_text()
    assert re.sub("^.*?raise", "raise", note) in report.replace("&#39;", "'")


def test_the_consumers_alone_get_no_note():
    orders = _wholesale_shop()
    rows = _spend_rows(orders[orders["customer_id"].str.startswith("c")])
    assert not far_spenders(rows["m"].to_numpy(), rows["count"].to_numpy())[0].any()
    assert _outlying(rows) is None


def test_the_demo_shop_and_cdnow_get_no_note(tmp_path):
    from valuecast.datasets import load_cdnow_transactions
    from valuecast.datasets.demo_shop import generate_demo_shop
    from valuecast.io import read_exports
    from valuecast.store import Workspace

    generate_demo_shop(tmp_path / "demo.csv", seed=0)  # the shop of `valuecast demo --seed 0`
    with Workspace(tmp_path / "demo.duckdb") as ws:
        ws.ingest(read_exports([tmp_path / "demo.csv"]))
        demo = ws.orders().select("customer_id", "order_date", revenue="net_revenue").to_pandas()
    demo = demo.dropna(subset=["customer_id"])  # guest orders belong to no customer
    cdnow = load_cdnow_transactions().rename(columns={"date": "order_date", "amount": "revenue"})
    cdnow["customer_id"] = cdnow["customer_id"].astype(str)
    for orders in (demo, cdnow[["customer_id", "order_date", "revenue"]]):
        rows = _spend_rows(orders, as_of=pd.Timestamp(orders["order_date"].max()).date())
        assert rows["count"].sum() > 1000
        assert _outlying(rows) is None


def _with_one_large_customer(consumers: int, seed: int) -> pd.DataFrame:
    """A shop of ``consumers`` and one customer whose second order was 5,000 (a corporate gift,
    an office's stock), after a first order of 60."""
    rows = _consumers(np.random.default_rng(seed), consumers)
    rows += [("big", date(2025, 1, 10), 60.0), ("big", date(2025, 9, 1), 5000.0)]
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue"])


def test_one_large_customer_of_a_small_shop_is_noted_when_they_move_every_one_time_buyer():
    """In a shop of 60 consumers, one customer's 5,000 order decides every one-time buyer's
    predicted order value as much as five wholesale accounts do in a shop of 300: noted, as
    one customer; among 300 consumers the same customer moves it by less than a fifth: no
    note, though they are as far beyond the rest."""
    small = _spend_rows(_with_one_large_customer(60, seed=1))
    assert small["count"].sum() >= 21  # 20 others at least: their median and spread mean something
    found = _outlying(small)
    assert found is not None
    without = _one_time_value(_fitted(small[small["m"] < 1000]))
    with_them = _one_time_value(_fitted(small))
    assert (found.customers, found.largest) == (1, 5000.0)
    assert found.one_time_value_without_them == pytest.approx(without, rel=1e-9)
    assert found.one_time_value == pytest.approx(with_them, rel=1e-9)
    note = outlying_spend_note(found)
    assert note.startswith(
        "1 customer whose average repeat order is more than 10x the median repeat customer's "
        f"(up to 5,000.00) raises the predicted order value of customers without a repeat order "
        f"from {amount_text(without, 2)} to {amount_text(with_them, 2)} (+"
    )
    assert note.endswith("; if it is a wholesale or business account, analyse it separately")

    larger = _spend_rows(_with_one_large_customer(300, seed=1))
    far, _ = far_spenders(larger["m"].to_numpy(), larger["count"].to_numpy())
    assert larger.loc[far, "m"].tolist() == [5000.0]
    moved = _one_time_value(_fitted(larger)) / _one_time_value(_fitted(larger[~far])) - 1
    assert 0 < moved < 0.2
    assert _outlying(larger) is None


def _far_by_sorting_every_customer(m: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The rule of ``far_spenders`` read off the customers one by one: beyond the larger of 10x
    the median and 5 robust standard deviations of the log values above it."""
    customers = np.sort(np.repeat(m, counts.astype(int)))
    middle = (len(customers) + 1) // 2 - 1  # the lowest value with half the customers at or below
    median = customers[middle]
    spread = 1.4826 * np.sort(np.abs(np.log(customers) - np.log(median)))[middle]
    return m > max(10.0, np.exp(5.0 * spread)) * median


@pytest.mark.parametrize("seed", range(12))
def test_far_spenders_are_those_the_median_and_spread_of_the_customers_name(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    m = np.round(np.exp(rng.normal(3.5, rng.uniform(0.1, 1.5), n)), 2)
    if seed % 2 == 0:
        m[: int(rng.integers(1, 4))] *= rng.uniform(5, 200)  # a few far above
    counts = rng.integers(1, 5, n).astype(float)
    far, _ = far_spenders(m, counts)
    assert far.tolist() == _far_by_sorting_every_customer(m, counts).tolist()


@pytest.mark.parametrize(
    ("below", "above", "far"),
    [(6, 4, True), (5, 5, True), (4, 6, False)],
)
def test_the_look_at_the_largest_alone_stops_only_below_half_the_customers(below, above, far):
    """Customers at 10 and at 200 (20x): with half of them or more at 10 the median is 10 and
    the spread of the log values 0, so those at 200 are far; with fewer than half at 10 the
    median is 200 and nobody is, told without sorting."""
    m, counts = np.array([10.0, 200.0]), np.array([below, above], dtype=float)
    assert far_spenders(m, counts)[0].tolist() == [False, far]
    assert _far_by_sorting_every_customer(m, counts).tolist() == [False, far]


def test_a_shop_of_two_kinds_of_order_is_no_few_customers_far_beyond_the_rest():
    """150 repeat customers reorder a 5.00 refill and 50 buy 60 baskets: the baskets lie beyond
    ten times the median (the refills have no spread), but a quarter of the repeat customers
    are the shop's own kind of customer, not a few accounts of another: no note, though they
    move the one-time buyers' value far."""
    x, m = np.array([2.0, 3.0, 2.0, 3.0]), np.array([4.9, 5.1, 55.0, 65.0])
    counts = np.array([75.0, 75.0, 25.0, 25.0])
    far, _ = far_spenders(m, counts)
    assert far.tolist() == [False, False, True, True]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GammaGamma().fit(x, m, weights=counts)
    assert outlying_spend(model, x, m, counts) is None
