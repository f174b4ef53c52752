"""`valuecast analyze` end to end: exports in, the customers table and summary.json out."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from valuecast.cli import app
from valuecast.datasets import data_file, load_cdnow_summary
from valuecast.models import BetaGeo, ParetoNBD
from valuecast.tables import CUSTOMER_COLUMNS

runner = CliRunner()


@pytest.fixture(scope="module")
def cdnow_run(tmp_path_factory):
    """The CDNOW sample through analyze, as of the end of the 39-week calibration period."""
    folder = tmp_path_factory.mktemp("cdnow")
    with data_file("CDNOW_sample.txt") as path:
        result = runner.invoke(
            app,
            [
                "analyze", str(path), "--format", "cdnow", "--workspace", str(folder / "w.duckdb"),
                "--as-of", "1997-09-30", "--model", "bgnbd", "--out", str(folder / "out"),
            ],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder / "out", result.output


def test_pipeline_parameters_equal_the_model_core_on_the_published_summary(cdnow_run):
    out, _ = cdnow_run
    summary = json.loads((out / "summary.json").read_text())
    published = load_cdnow_summary()
    core = BetaGeo().fit(published["frequency"], published["recency"], published["T"])
    params = summary["model"]["params"]
    # the pipeline works in days, the published summary in weeks: alpha scales by 7
    assert params["r"] == pytest.approx(core.params_["r"], rel=1e-4)
    assert params["alpha"] / 7 == pytest.approx(core.params_["alpha"], rel=1e-4)
    assert params["a"] == pytest.approx(core.params_["a"], rel=1e-4)
    assert params["b"] == pytest.approx(core.params_["b"], rel=1e-4)
    assert summary["n_customers"] == 2357
    assert summary["as_of"] == "1997-09-30"


def test_customers_table_columns_and_ranges(cdnow_run):
    out, _ = cdnow_run
    customers = pd.read_csv(out / "customers.csv")
    assert tuple(customers.columns) == CUSTOMER_COLUMNS
    parquet = pd.read_parquet(out / "customers.parquet")
    assert tuple(parquet.columns) == CUSTOMER_COLUMNS and len(parquet) == len(customers) == 2357
    assert customers["probability_alive"].between(0, 1).all()
    np.testing.assert_allclose(parquet["churn_probability"], 1 - parquet["probability_alive"])
    np.testing.assert_allclose(
        customers["probability_alive"], parquet["probability_alive"], atol=1e-6
    )
    assert (customers["predicted_clv_p10"] <= customers["predicted_clv"] + 1e-9).all()
    assert (customers["predicted_clv"] <= customers["predicted_clv_p90"] + 1e-9).all()
    np.testing.assert_allclose(
        parquet["total_clv"], parquet["historic_clv"] + parquet["predicted_clv"], rtol=1e-12
    )
    np.testing.assert_allclose(customers["predicted_clv"], parquet["predicted_clv"], atol=0.005)
    for column in ("rfm_recency", "rfm_frequency", "rfm_monetary"):
        assert customers[column].between(1, 5).all()
    assert customers["rfm_score"].astype(str).str.fullmatch(r"[1-5]{3}").all()
    assert set(customers["predicted_spend_tier"]) <= {"high", "medium", "low"}
    one_day = customers["frequency"] == 0  # one purchase day (same-day orders merge)
    assert customers.loc[one_day, "average_days_between_orders"].isna().all()
    assert customers.loc[~one_day, "average_days_between_orders"].gt(0).all()
    assert customers.loc[customers["historic_number_of_orders"] == 1, "frequency"].eq(0).all()


def test_summary_json_holds_what_the_issue_lists(cdnow_run):
    out, output = cdnow_run
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "as_of", "currency", "n_customers", "n_orders", "n_guest_orders", "revenue", "model",
        "backtest", "totals", "rfm_groups", "spend_tiers", "low_confidence",
    ):  # fmt: skip
        assert key in summary, key
    totals = summary["totals"]
    assert totals["predicted_clv_p10"] < totals["predicted_clv"] < totals["predicted_clv_p90"]
    assert sum(group["count"] for group in summary["rfm_groups"].values()) == 2357
    assert set(summary["model"]["standard_errors"]) == {"r", "alpha", "a", "b"}
    assert (out / "ingest_report.json").exists()
    assert "predicted CLV" in output and "RFM groups" in output


def test_analyze_without_files_uses_the_workspace_and_auto_picks_a_model(tmp_path):
    workspace = tmp_path / "w.duckdb"
    with data_file("CDNOW_sample.txt") as path:
        ingest = runner.invoke(app, ["ingest", str(path), "--workspace", str(workspace)])
    assert ingest.exit_code == 0, ingest.output
    result = runner.invoke(
        app, ["analyze", "--workspace", str(workspace), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    backtest = summary["backtest"]
    assert set(backtest["models"]) == {"bgnbd", "pnbd", "mbgnbd"}
    assert summary["model"]["name"] in {"bgnbd", "pnbd", "mbgnbd"}
    assert summary["model"]["name"] == backtest["best"]
    # the chosen model is the one with the smallest holdout MAE of orders
    maes = {name: s["mae_orders"] for name, s in backtest["models"].items() if "error" not in s}
    assert summary["model"]["name"] == min(maes, key=maes.get)


def _cdnow_summary_with(tmp_path, model: str) -> dict:
    """summary.json of ``analyze`` on the CDNOW sample with ``--model model``."""
    with data_file("CDNOW_sample.txt") as path:
        result = runner.invoke(
            app,
            [
                "analyze", str(path), "--workspace", str(tmp_path / "w.duckdb"), "--model", model,
                "--as-of", "1997-09-30", "--out", str(tmp_path / "out"),
            ],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads((tmp_path / "out" / "summary.json").read_text())


def test_pareto_nbd_choice_is_respected(tmp_path):
    summary = _cdnow_summary_with(tmp_path, "pnbd")
    published = load_cdnow_summary()
    core = ParetoNBD().fit(published["frequency"], published["recency"], published["T"])
    assert summary["model"]["name"] == "pnbd"
    # the pipeline fits Pareto/NBD with its tiny ridge (models.registry.PENALIZERS), far
    # too small to move CDNOW's estimates at this precision
    assert summary["model"]["penalizer"] == 1e-10
    assert summary["model"]["params"]["r"] == pytest.approx(core.params_["r"], rel=1e-3)
    assert summary["model"]["params"]["s"] == pytest.approx(core.params_["s"], rel=1e-3)


def test_ggompertz_nbd_runs_only_when_named(tmp_path):
    # opt-in: auto backtests bgnbd, pnbd and mbgnbd (test above); --model ggnbd fits it alone
    summary = _cdnow_summary_with(tmp_path, "ggnbd")
    assert summary["model"]["name"] == "ggnbd"
    assert set(summary["model"]["params"]) == {"r", "alpha", "b", "s", "beta"}
    assert set(summary["backtest"]["models"]) == {"ggnbd"}
    # its bootstrap would integrate the lifetime in 100 refits: the delta method's interval
    assert summary["model"]["interval"]["method"] == "delta method"
    assert summary["totals"]["predicted_clv_p10"] < summary["totals"]["predicted_clv"]
    customers = pd.read_csv(tmp_path / "out" / "customers.csv")
    assert customers["predicted_number_of_orders"].notna().all()
    assert "GGompertz/NBD" in (tmp_path / "out" / "report.html").read_text()


def _tiny_shop_analysis(tmp_path) -> list[str]:
    """The arguments of ``analyze`` on a three-customer shop written into ``tmp_path``."""
    orders = pd.DataFrame(
        {
            "customer": ["a@x.com", "a@x.com", "b@x.com", "c@x.com"],
            "date": ["2024-01-01", "2024-01-20", "2024-01-05", "2024-02-01"],
            "amount": [10.0, 20.0, 5.0, 7.5],
        }
    )
    path = tmp_path / "orders.csv"
    orders.to_csv(path, index=False)
    return [
        "analyze", str(path), "--map", "customer_id=customer,ordered_at=date,revenue=amount",
        "--workspace", str(tmp_path / "w.duckdb"), "--out", str(tmp_path / "out"),
    ]  # fmt: skip


def test_too_little_data_is_low_confidence_but_still_historic(tmp_path):
    result = runner.invoke(app, _tiny_shop_analysis(tmp_path))
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["low_confidence"] is True
    assert any("customers" in reason for reason in summary["low_confidence_reasons"])
    customers = pd.read_csv(tmp_path / "out" / "customers.csv")
    assert customers.set_index("customer_id").loc["a@x.com", "historic_clv"] == 30.0
    assert "low confidence" in result.output
    assert not [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "failing",
    ["valuecast.web.views.store_view", "valuecast.store.snapshots.snapshot_sort_orders"],
)
def test_customers_files_appear_only_when_the_whole_analysis_succeeded(
    tmp_path, monkeypatch, failing
):
    """The customers files are written while the snapshot's pages (charts, sort orders) are
    made and stored: a failure there leaves none of them (nor their staging files) in the output
    folder."""
    args = _tiny_shop_analysis(tmp_path)
    out = tmp_path / "out"

    def disk_full(*args, **kwargs):
        raise ValueError("no space left on the device")

    with monkeypatch.context() as patch:
        patch.setattr(failing, disk_full)
        failed = runner.invoke(app, args)
    assert failed.exit_code == 2 and "no space left" in failed.output, failed.output
    assert not out.exists() or not any(out.iterdir())


def test_bad_options_and_missing_workspace_fail_in_one_line(tmp_path):
    result = runner.invoke(app, ["analyze", "--workspace", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2 and "no such workspace" in result.output
    result = runner.invoke(
        app, ["analyze", "--workspace", str(tmp_path / "none.duckdb"), "--margin", "2"]
    )
    assert result.exit_code == 2 and "margin" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("rate", ["nan", "inf", "-1"])
def test_a_discount_rate_that_is_no_number_above_minus_one_fails_before_any_step(tmp_path, rate):
    export = tmp_path / "orders.csv"
    export.write_text("customer_id,date,amount\nc1,2024-01-05,10\n")
    workspace = tmp_path / "w.duckdb"
    result = runner.invoke(
        app,
        ["analyze", str(export), "-w", str(workspace), "--out", str(tmp_path / "out"),
         "--annual-discount-rate", rate],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        "error: annual discount rate must be a finite number greater than -1"
    ]
    assert not workspace.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["ingest", "analyze"])
def test_a_workspace_in_a_missing_folder_fails_before_the_exports_are_read(
    tmp_path, monkeypatch, command
):
    import valuecast.io

    read = []
    monkeypatch.setattr(valuecast.io, "read_exports", lambda *a, **k: read.append(a))
    export = tmp_path / "orders.csv"
    export.write_text("customer_id,date,amount\nc1,2024-01-05,10\n")
    workspace = tmp_path / "missing" / "w.duckdb"
    result = runner.invoke(app, [command, str(export), "--workspace", str(workspace)])
    assert result.exit_code == 2, result.output
    assert result.output.strip().endswith(f"folder {workspace.parent} does not exist")
    assert read == [] and not workspace.parent.exists()


def test_the_demo_never_replaces_a_shops_own_workspace_or_export(tmp_path):
    """``--out .`` in a merchant's folder would delete their workspace and write over their
    Shopify export (both have the demo's file names): refused, the files untouched; bad options
    are one line, and a folder the demo wrote is its own to write again."""
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "orders_export.csv").write_text("the merchant's export\n")
    (shop / "valuecast.duckdb").write_bytes(b"the merchant's workspace")
    result = runner.invoke(app, ["demo", "--customers", "20", "--out", str(shop)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {shop}: holds orders_export.csv and valuecast.duckdb")
    assert (shop / "orders_export.csv").read_text() == "the merchant's export\n"
    assert (shop / "valuecast.duckdb").read_bytes() == b"the merchant's workspace"
    for args, message in (
        (["--seed", "-1", "--out", str(tmp_path / "seed")], "error: --seed must be 0 or more"),
        (["--out", str(shop / "orders_export.csv")], "is a file (give --out a folder)"),
    ):
        bad = runner.invoke(app, ["demo", "--customers", "20", *args])
        assert bad.exit_code == 2 and message in bad.output and "Traceback" not in bad.output
        assert len(bad.output.strip().splitlines()) == 1
    again = tmp_path / "demo"
    for _ in range(2):
        made = runner.invoke(app, ["demo", "--customers", "20", "--out", str(again)])
        assert made.exit_code == 0, made.output


def test_demo_shop_is_stable_and_the_backtest_beats_the_naive_baseline(tmp_path):
    summaries = []
    for run in ("first", "second"):
        result = runner.invoke(
            app, ["demo", "--customers", "2000", "--seed", "3", "--out", str(tmp_path / run)]
        )
        assert result.exit_code == 0, result.output
        assert "orders_export.csv" in result.output and "customers.csv" in result.output
        summaries.append(json.loads((tmp_path / run / "results" / "summary.json").read_text()))
    first, second = summaries
    assert first["totals"] == second["totals"]
    assert first["rfm_groups"] == second["rfm_groups"]
    assert first["model"]["params"] == second["model"]["params"]
    backtest = first["backtest"]
    best = backtest["models"][backtest["best"]]
    assert best["mae_orders"] < backtest["naive"]["mae_orders"]
    assert first["currency"] == "USD" and first["n_guest_orders"] > 0


CHART_PASSES: list[str] = []
"""The report chart passes (build_sections calls) of the demo_workspace fixture's analysis."""


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory):
    from valuecast.outputs.report import render

    build_sections = render.build_sections

    def counted(*args, **kwargs):
        CHART_PASSES.append("build_sections")
        return build_sections(*args, **kwargs)

    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render, "build_sections", counted)
        result = runner.invoke(
            app, ["demo", "--customers", "1500", "--seed", "5", "--out", str(folder)]
        )
    assert result.exit_code == 0, result.output
    return folder


def test_analyze_stores_the_pages_of_its_one_chart_pass(demo_workspace):
    """report.html and the dashboard's stored pages share one chart pass of the analysis in
    memory, and the pages stored are those the snapshot alone gives (as an older workspace
    without stored pages computes them)."""
    from valuecast.store import Workspace
    from valuecast.store import snapshots as stored
    from valuecast.web import views

    assert CHART_PASSES == ["build_sections"]
    assert (demo_workspace / "results" / "report.html").stat().st_size > 0
    with Workspace(demo_workspace / "valuecast.duckdb", read_only=True) as ws:
        (info,) = stored.list_snapshots(ws)
        sid = info.snapshot_id
        recomputed = views.view_parts(
            stored.load_summary(ws, sid), stored.load_customers(ws, sid),
            stored.load_tables(ws, sid), stored.load_ingest_report(ws, sid) or None,
        )  # fmt: skip
        assert stored.load_pages(ws, sid)[views.VIEW] == views._view_bytes(recomputed)


def test_analyze_writes_the_growth_tables_consistent_with_the_customers(demo_workspace, tmp_path):
    customers = pd.read_csv(demo_workspace / "results" / "customers.csv")
    channels = sorted(customers["acquisition_channel"].dropna().unique())
    months = sorted(pd.to_datetime(customers["first_order_date"]).dt.strftime("%Y-%m").unique())
    spend = pd.DataFrame(
        [
            (month, channel, 100.0 + 10 * i)
            for month in months
            for i, channel in enumerate(channels)
        ],
        columns=["month", "channel", "spend"],
    )
    spend.to_csv(tmp_path / "spend.csv", index=False)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "analyze", "--workspace", str(demo_workspace / "valuecast.duckdb"),
            "--spend", str(tmp_path / "spend.csv"), "--out", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in (
        "cohorts",
        "retention",
        "channels",
        "cac",
        "affinity",
        "next_products",
        "reminders",
    ):
        assert (out / f"{name}.csv").is_file(), name
    report = (out / "report.html").read_text()
    assert "CLV:CAC" in report and report.count("<script") >= 2  # plotly.js + the charts
    summary = json.loads((out / "summary.json").read_text())
    cohorts = pd.read_csv(out / "cohorts.csv")
    # every analysed customer belongs to exactly one acquisition cohort
    assert cohorts["customers"].sum() == summary["n_customers"]
    channels_csv = pd.read_csv(out / "channels.csv")
    assert channels_csv["customers"].sum() == summary["n_customers"]
    assert set(channels) <= set(channels_csv["acquisition_channel"])
    cac = pd.read_csv(out / "cac.csv")
    # the whole shop's rows come first; the channels' rows divide the same spend among them
    shop = cac["channel"] == "(whole shop)"
    assert shop.tolist() == [True] * int(shop.sum()) + [False] * int((~shop).sum())
    whole = cac[shop & (cac["cohort_month"] == "all")]
    assert whole["spend"].tolist() == [pytest.approx(spend["spend"].sum())]
    # over every new customer of the months with spend, whatever their channel
    paid_months = cac[shop & (cac["cohort_month"] != "all") & cac["spend"].notna()]
    assert whole["customers"].iloc[0] == paid_months["customers"].sum()
    totals = cac[(cac["cohort_month"] == "all") & ~shop]
    assert totals["spend"].sum() == pytest.approx(spend["spend"].sum())
    # the stage's CLV:CAC is total CLV of the customers with spend / total spend
    expected = (totals["clv_per_customer"] * totals["customers"]).sum() / totals["spend"].sum()
    assert summary["growth"]["clv_to_cac"] == pytest.approx(expected, rel=1e-3)
    assert summary["growth"]["growth_stage"]["clv_cac_ratio"] == summary["growth"]["clv_to_cac"]
    gaps = pd.read_csv(out / "days_between_orders.csv")
    assert gaps["count"].sum() == summary["growth"]["days_between_orders"]["repeat_purchases"] > 0
    ids = set(customers["customer_id"])
    for name in ("next_products", "reminders"):
        table = pd.read_csv(out / f"{name}.csv")
        assert len(table) > 0 and set(table["customer_id"]) <= ids, name


def test_analyze_with_a_bad_spend_file_fails_in_one_line(demo_workspace, tmp_path):
    (tmp_path / "spend.csv").write_text("month,channel,spend\n2025-01,google,-5\n")
    result = runner.invoke(
        app,
        [
            "analyze", "--workspace", str(demo_workspace / "valuecast.duckdb"),
            "--spend", str(tmp_path / "spend.csv"), "--out", str(tmp_path / "out"),
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "row 2" in lines[0] and "spend" in lines[0], result.output
    assert not (tmp_path / "out").exists()


def test_engine_segments_equal_the_reference_rfm_and_tiers(cdnow_run):
    """The engine's RANK() windows give what the NumPy RFM oracle and spend tiers give."""
    from segments_oracle import rfm_group, rfm_scores
    from valuecast.analysis.tiers import predicted_spend_tier

    out, _ = cdnow_run
    customers = pd.read_parquet(out / "customers.parquet")
    as_of = pd.Timestamp("1997-09-30")
    days_since = (as_of - pd.to_datetime(customers["last_order_date"])).dt.days.to_numpy()
    # the engine ranks money in micro-units (whole numbers, exact on every engine)
    money = np.round(customers["historic_clv"].to_numpy() * 1e6)
    scores = rfm_scores(days_since, customers["historic_number_of_orders"].to_numpy(), money)
    for column in ("rfm_recency", "rfm_frequency", "rfm_monetary", "rfm_score"):
        assert customers[column].astype(str).tolist() == scores[column].astype(str).tolist()
    groups = rfm_group(scores["rfm_recency"], scores["rfm_frequency"], scores["rfm_monetary"])
    assert customers["rfm_group"].tolist() == list(groups)
    # predictions in whole cents, rounded half away from zero as the engine's cast rounds them
    tiers = predicted_spend_tier(np.floor(customers["predicted_clv"].to_numpy() * 100 + 0.5))
    assert customers["predicted_spend_tier"].tolist() == list(tiers)
    assert len(set(tiers)) == 3 and customers["rfm_group"].nunique() > 5


def test_growth_tables_without_product_lines_give_what_the_product_queries_give(cdnow_run):
    """CDNOW has no line items: growth_tables skips the product queries, and its tables are
    exactly (columns, dtypes) what those queries return on no lines."""
    from datetime import date

    from valuecast.analysis.growth.affinity import next_products, product_affinity
    from valuecast.analysis.growth.replenishment import reminders
    from valuecast.analysis.growth.tables import growth_tables
    from valuecast.store import Workspace

    out, _ = cdnow_run
    customers = pd.read_parquet(out / "customers.parquet")
    as_of = date(1997, 9, 30)
    with Workspace(out.parent / "w.duckdb", read_only=True) as ws:
        orders, lines = ws.orders(), ws.order_lines()
        assert lines.count().execute() == 0
        tables = growth_tables(ws, customers, as_of).tables
        pairs = product_affinity(orders, lines, as_of=as_of)
        expected = {
            "affinity.csv": pairs,
            "next_products.csv": next_products(orders, lines, as_of=as_of, affinity=pairs),
            "reminders.csv": reminders(orders, lines, as_of=as_of),
        }
    for name, frame in expected.items():
        assert len(frame) == 0, name
        pd.testing.assert_frame_equal(tables[name], frame, check_index_type=False)


def test_the_analysis_gives_back_memory_after_each_step(tmp_path, monkeypatch):
    """The job gives the C heap's freed pages back to the system as each step of the analysis
    ends (the analysis, below the store, tells it when)."""
    from valuecast.analysis.customers import STEPS
    from valuecast.jobs import analyze as job
    from valuecast.store import Workspace

    workspace = tmp_path / "w.duckdb"
    with data_file("CDNOW_sample.txt") as path:
        ingest = runner.invoke(app, ["ingest", str(path), "--workspace", str(workspace)])
    assert ingest.exit_code == 0, ingest.output
    ended = []
    monkeypatch.setattr(job, "_give_back_memory", ended.append)
    with Workspace(workspace) as ws:
        analysis = job.analyze(ws, job.AnalysisOptions(model="bgnbd", as_of="1997-09-30"))
    assert ended == list(STEPS) == ["summary", "backtest", "predict", "segments"]
    assert len(analysis.customers) == analysis.summary["n_customers"]


def test_analyze_reads_its_stored_results_under_the_default_memory_limit(tmp_path, monkeypatch):
    """A limit the orders raised serves the analysis; the files and pages that follow read the
    committed snapshot a batch at a time, under the default 1 GB."""
    import valuecast.store.snapshots as snapshots
    import valuecast.store.workspace as workspace_module
    from valuecast.cli import analyze

    monkeypatch.delenv("VALUECAST_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr(
        workspace_module, "workspace_memory_bytes",
        lambda orders: 3 * 2**30 if orders >= 4 else 10**9,
    )  # fmt: skip
    shown = []

    def limit(ws) -> str:
        return ws.raw.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]

    save_snapshot, files = snapshots.save_snapshot, analyze.CustomersFiles

    def saving(ws, *args, **kwargs):
        shown.append(("snapshot", limit(ws)))
        return save_snapshot(ws, *args, **kwargs)

    class Files(files):
        def __init__(self, analysis, out, stored=None):
            shown.append(("files", limit(stored[0])))
            super().__init__(analysis, out, stored)

    monkeypatch.setattr(snapshots, "save_snapshot", saving)
    monkeypatch.setattr(analyze, "CustomersFiles", Files)
    with data_file("CDNOW_sample.txt") as path:
        result = runner.invoke(
            app,
            ["analyze", str(path), "--format", "cdnow", "--workspace", str(tmp_path / "w.duckdb"),
             "--out", str(tmp_path / "out"), "--model", "bgnbd"],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert shown == [("snapshot", "3.0 GiB"), ("files", "953.6 MiB")]


@pytest.mark.parametrize("as_of", ["1997-09-30", "1997-02-10"])
def test_the_analysis_is_the_same_with_its_summary_made_in_parts(tmp_path, monkeypatch, as_of):
    """Orders past DuckDB's memory are summarised in parts of customers; the analysis of CDNOW
    with its summary made in the most parts is the one-pass analysis, customer for customer,
    with a backtest (as of 1997-09-30) and without (six weeks of history)."""
    from valuecast.analysis import backend
    from valuecast.analysis import customers as analysis_customers
    from valuecast.jobs import analyze as job
    from valuecast.store import Workspace

    workspace = tmp_path / "w.duckdb"
    with data_file("CDNOW_sample.txt") as path:
        ingest = runner.invoke(app, ["ingest", str(path), "--workspace", str(workspace)])
    assert ingest.exit_code == 0, ingest.output
    options = job.AnalysisOptions(model="bgnbd", as_of=as_of)
    stored_parts = []

    def materialize_parts(parts, releases, **kwargs):
        stored_parts.append(len(parts))
        return backend.materialize_parts(parts, releases, **kwargs)

    monkeypatch.setattr(analysis_customers, "materialize_parts", materialize_parts)
    runs = []
    for bytes_per_order in (analysis_customers.SUMMARY_BYTES_PER_ORDER, 10**9):
        monkeypatch.setattr(analysis_customers, "SUMMARY_BYTES_PER_ORDER", bytes_per_order)
        with Workspace(workspace) as ws:
            runs.append(job.analyze(ws, options))
    assert stored_parts == [1, analysis_customers._MOST_SUMMARY_PARTS]
    one_pass, in_parts = runs
    assert in_parts.summary["model"] == one_pass.summary["model"]
    assert in_parts.summary["totals"] == one_pass.summary["totals"]
    assert in_parts.summary["backtest"] == one_pass.summary["backtest"]
    assert ("skipped" in in_parts.summary["backtest"]) == (as_of == "1997-02-10")
    pd.testing.assert_frame_equal(
        in_parts.customers.sort_values("customer_id", ignore_index=True),
        one_pass.customers.sort_values("customer_id", ignore_index=True),
        check_exact=False, rtol=1e-9,
    )  # fmt: skip


def test_a_negative_discount_rate_is_noted(demo_workspace):
    """Allowed (above -1), and it makes a later order worth more than one today: the analysis
    says so beside the CLV it raises."""
    from valuecast.analysis.customers import NEGATIVE_RATE_NOTE
    from valuecast.jobs.analyze import AnalysisOptions, analyze
    from valuecast.store import Workspace

    with Workspace(demo_workspace / "valuecast.duckdb", read_only=True) as ws:
        negative = analyze(ws, AnalysisOptions(annual_discount_rate=-0.5)).summary
        usual = analyze(ws, AnalysisOptions()).summary
    assert NEGATIVE_RATE_NOTE in negative["notes"] and NEGATIVE_RATE_NOTE not in usual["notes"]
    assert negative["totals"]["predicted_clv"] > usual["totals"]["predicted_clv"]


def test_ingest_names_a_files_customer_records_so_an_orders_export_shows_no_zero_customers(
    tmp_path,
):
    # an orders export has no customer records (the rows of a customers export), but it has
    # customers: the per-file column says which it counts
    export = tmp_path / "orders_export.csv"
    export.write_text(
        "Name,Email,Financial Status,Created at,Subtotal,Total,Currency\n"
        "#1001,ann@example.com,paid,2026-01-05 10:00:00 -0500,20.00,20.00,USD\n"
        "#1002,bob@example.com,paid,2026-01-06 10:00:00 -0500,30.00,30.00,USD\n"
    )
    result = runner.invoke(
        app, ["ingest", str(export), "--workspace", str(tmp_path / "w.duckdb")],
        terminal_width=120,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "format" in line)
    assert "customer records" in header and "customers" not in header, result.output
    assert re.search(r"^\s*customers\s+2\s*$", result.output, re.M), result.output
