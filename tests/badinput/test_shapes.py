"""Valid files with too little in them to predict from: only guests, one customer, one day, no
repeat customer.  ``analyze`` must say what it can and cannot compute, never crash or invent."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest


def _summary(out):
    return json.loads((out / "summary.json").read_text())


def _customers(out) -> pd.DataFrame:
    return pd.read_csv(out / "customers.csv").set_index("customer_id")


@pytest.mark.parametrize("fmt", ["shopify", "woocommerce"])
def test_only_guest_orders_ingest_but_cannot_be_analysed(corpus, tmp_path, fmt):
    orders = [dict(o, email="") for o in corpus.shop(3)]
    path = corpus.write(tmp_path / "export.csv", fmt, orders)
    workspace, out = tmp_path / "ws.duckdb", tmp_path / "out"
    report = corpus.report(corpus.ingest(path, workspace, "--json"))
    assert report["orders"] == 6 and report["guest_orders"] == 6 and report["customers"] == 0
    assert (
        report["guest_revenue"] == report["net_revenue"] == sum(float(o["amount"]) for o in orders)
    )
    before = corpus.state(workspace)
    result = corpus.analyze(None, workspace, out)
    corpus.no_traceback(result)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        f"error: {workspace}: only guest orders up to the as-of date 2024-02-14 (6, with no "
        "e-mail, phone or customer id): nothing to analyse; valuecast tells customers apart by "
        "the e-mail, phone or customer id of their orders: export orders that carry one (a "
        "point-of-sale or draft order without a customer carries none)"
    ]
    assert corpus.state(workspace) == before and not out.exists()


def test_an_orders_table_of_guests_alone_says_what_to_map_and_writes_its_ingest_report(
    corpus, tmp_path
):
    """A table whose customer column is empty on every row: the analysis finds no customer, and
    the ingest is rolled back with it, so the error counts what else was excluded, says what to
    map, and the ingest report (every row counted by reason) is written to --out."""
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,revenue,status\n"
        "1,,2024-01-05,10.00,paid\n"
        "2,,2024-02-05,20.00,paid\n"
        "3,,2024-02-06,5.00,cancelled\n"
        "4,,2024-03-05,30.00,paid\n"
    )
    workspace, out = tmp_path / "ws.duckdb", tmp_path / "out"
    result = corpus.analyze(path, workspace, out, "--map", "status=status")
    corpus.no_traceback(result)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        f"error: {workspace}: only guest orders up to the as-of date 2024-03-05 (3, with no "
        "e-mail, phone or customer id): nothing to analyse; the last ingest excluded 1 more "
        "order (1 cancelled); map the column naming each order's customer with --map "
        "customer_id=COL (an id or an e-mail address) or --map phone=COL (every row read is "
        f"counted in {out / 'ingest_report.json'})"
    ]
    report = json.loads((out / "ingest_report.json").read_text())
    assert report["rows_read"] == 4 and report["guest_orders"] == 3
    assert report["excluded_orders"] == {"cancelled": 1}
    assert sorted(p.name for p in out.iterdir()) == ["ingest_report.json"]
    assert corpus.state(workspace) is None  # the workspace it made is removed again


def test_an_ingest_of_guests_alone_says_analyze_finds_no_one_and_what_to_map(corpus, tmp_path):
    """ingest exited 0 showing "customers 0" alone: the merchant learnt at analyze that no
    order named its customer."""
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,revenue\n1,,2024-01-05,10.00\n2,,2024-02-05,20.00\n"
    )
    workspace = tmp_path / "ws.duckdb"
    result = corpus.ingest(path, workspace)
    assert result.exit_code == 0, result.output
    assert (
        "note: no order names its customer (2 guest orders, with no e-mail, phone or customer "
        "id): `valuecast analyze` finds no one to analyse; map the column naming each order's "
        "customer with --map customer_id=COL (an id or an e-mail address) or --map phone=COL"
    ) in " ".join(result.output.split())
    # a customer's order beside them: analyze has someone, and nothing is hinted
    named = tmp_path / "named.csv"
    named.write_text("order_id,customer_id,ordered_at,revenue\n3,a@x.com,2024-03-05,30.00\n")
    result = corpus.ingest(named, workspace)
    assert result.exit_code == 0 and "no order names its customer" not in result.output


def test_an_as_of_date_before_the_first_order_is_named_with_the_first_order(corpus, tmp_path):
    path = corpus.write(tmp_path / "export.csv", "shopify", corpus.shop(3))
    workspace, out = tmp_path / "ws.duckdb", tmp_path / "out"
    corpus.report(corpus.ingest(path, workspace, "--json"))
    result = corpus.analyze(None, workspace, out, "--as-of", "2023-12-31")
    corpus.no_traceback(result)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        f"error: {workspace}: the as-of date 2023-12-31 is before the first order (2024-01-01): "
        "nothing to analyse"
    ]


def test_one_customer_gets_historic_figures_and_a_low_confidence_flag(corpus, tmp_path):
    start = date(2024, 1, 1)
    amounts = [12.0, 30.0, 7.5, 20.0, 11.0]
    orders = [
        corpus.order(100 + i, "Solo@Example.com", start + timedelta(40 * i), f"{amount:.2f}")
        for i, amount in enumerate(amounts)
    ]
    path = corpus.write(tmp_path / "orders.csv", "orders", orders)
    out = tmp_path / "out"
    result = corpus.analyze(path, tmp_path / "ws.duckdb", out)
    corpus.no_traceback(result)
    assert result.exit_code == 0, result.output
    summary = _summary(out)
    assert summary["n_customers"] == 1 and summary["n_orders"] == 5
    assert summary["totals"]["historic_clv"] == pytest.approx(sum(amounts))
    assert summary["low_confidence"] is True
    assert any(
        "only 1 customer with orders" in reason for reason in summary["low_confidence_reasons"]
    )
    customer = _customers(out).loc["solo@example.com"]
    assert customer["historic_number_of_orders"] == 5
    assert customer["historic_clv"] == pytest.approx(sum(amounts))
    assert customer["frequency"] == 4 and customer["recency"] == 160
    assert "low confidence:" in result.output


def test_one_day_of_data_gives_historic_figures_only_with_the_reasons(corpus, tmp_path):
    day = date(2024, 3, 5)
    orders = [corpus.order(i, f"c{i}@x.com", day, f"{10 + i}.00") for i in range(1, 8)]
    orders.append(corpus.order(99, "c1@x.com", "2024-03-05 18:30:00", "5.00"))  # same day again
    path = corpus.write(tmp_path / "export.csv", "magento", orders)
    out = tmp_path / "out"
    result = corpus.analyze(path, tmp_path / "ws.duckdb", out)
    corpus.no_traceback(result)
    assert result.exit_code == 0, result.output
    summary = _summary(out)
    assert summary["history_days"] == 0 and summary["as_of"] == "2024-03-05"
    reasons = summary["low_confidence_reasons"]
    assert "only 0 days of history (under 180)" in reasons
    # two orders on one day are one purchase day: nobody has a repeat purchase, and the reason
    # says why c1's two orders are not one
    assert (
        "no customer ordered again on a later day (1 customer placed two or more orders, all on "
        "one day: one purchase to the models): predictions cannot be fitted, historic figures only"
    ) in reasons
    assert "predicted_clv" not in summary["totals"]
    assert summary["totals"]["historic_clv"] == pytest.approx(sum(range(11, 18)) + 5.0)
    customers = _customers(out)
    assert customers.loc["c1@x.com", "historic_clv"] == 16.0
    assert customers.loc["c1@x.com", "historic_number_of_orders"] == 2
    assert customers["predicted_clv"].isna().all()


@pytest.mark.parametrize("model", ["auto", "pnbd"])
def test_no_repeat_customers_gives_historic_figures_with_the_reason(corpus, tmp_path, model):
    """Every model fails without a repeat purchase: historic figures, the reason in
    summary.json and on screen, exit 0 (Pareto/NBD used to spin for minutes here)."""
    start = date(2024, 1, 10)
    orders = [
        corpus.order(1000 + i, f"c{i}@x.com", start + timedelta(5 * i), f"{10 + i}.00")
        for i in range(40)
    ]
    path = corpus.write(tmp_path / "orders_export.csv", "shopify", orders)
    out = tmp_path / "out"
    result = corpus.analyze(path, tmp_path / "ws.duckdb", out, "--model", model)
    corpus.no_traceback(result)
    assert result.exit_code == 0, result.output
    summary = _summary(out)
    reason = "no repeat customers: predictions cannot be fitted, historic figures only"
    assert reason in summary["low_confidence_reasons"] and summary["low_confidence"] is True
    assert "predicted_clv" not in summary["totals"]
    # the model named is the candidate, not a fit: said so beside its name
    assert summary["model"]["fitted"] is False and summary["model"]["withheld"] == reason
    assert "params" not in summary["model"]
    assert summary["totals"]["historic_clv"] == pytest.approx(sum(10 + i for i in range(40)))
    for scores in summary["backtest"].get("models", {}).values():
        assert "no customer has a repeat purchase" in scores["error"]
    customers = _customers(out)
    assert len(customers) == 40 and customers["predicted_clv"].isna().all()
    assert (customers["total_clv"] == customers["historic_clv"]).all()
    screen = " ".join(result.output.split())
    assert "low confidence:" in screen and "no repeat customers" in screen
    # every candidate failed: a line each, not a table of reasons wrapped word by word
    assert summary["backtest"]["models"]
    assert "MAE orders" not in screen
    # one reason for every candidate: said once, with the candidates named
    names = ", ".join(summary["backtest"]["models"])
    assert f"every model failed ({names}): no customer has a repeat purchase" in screen
    assert "FitError" not in screen and screen.count("no customer has a repeat purchase") == 1
