"""`valuecast analyze --covariates`: what drives value, and what a new customer is worth per channel.

One analysis of a simulated shop whose channels differ in purchase rate and dropout
(:data:`shops.CHANNEL_SHOP`): the best channel opened only in the last year, so the historic CLV
per customer ranks it below an older channel, while a customer acquired through it today is
worth the most.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from valuecast.analysis.covariates import (
    MIN_LEVEL_CUSTOMERS,
    CovariateError,
    build_design,
    parse_covariates,
)
from valuecast.cli.analyze import analyze

runner = CliRunner()
app = typer.Typer()
app.command("analyze")(analyze)
COLUMN_MAP = "customer_id=customer,ordered_at=date,revenue=amount,channel=channel"
HORIZON, RATE = 12, 0.10


@pytest.fixture(scope="module")
def channel_analysis(tmp_path_factory):
    from shops import channel_shop

    folder = tmp_path_factory.mktemp("channel_shop")
    orders = channel_shop(folder / "orders.csv")
    spend = folder / "spend.csv"
    spend.write_text(
        "month,channel,spend\n2026-05,catalog,20000\n2026-05,social,9000\n2026-05,search,30000\n"
    )
    out = folder / "out"
    # Pareto/NBD (the simulation's model) named: the candidates' backtest is tested elsewhere
    result = runner.invoke(
        app,
        [str(orders), "--workspace", str(folder / "shop.duckdb"), "--map", COLUMN_MAP,
         "--model", "pnbd", "--covariates", "acquisition_channel", "--horizon", str(HORIZON),
         "--annual-discount-rate", str(RATE), "--spend", str(spend), "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    channels = pd.read_csv(out / "channels.csv").set_index("acquisition_channel")
    summary = json.loads((out / "summary.json").read_text())
    return channels, summary, out


def test_new_customer_clv_per_channel_is_the_simulated_truth_and_ranks_channels_right(
    channel_analysis,
):
    from shops import channel_shop_truth

    channels, _, _ = channel_analysis
    truth = pd.Series(channel_shop_truth(HORIZON, RATE))
    estimate = channels["new_customer_clv"].reindex(truth.index)
    error = (estimate / truth - 1).round(3).to_dict()
    assert (estimate / truth - 1).abs().max() < 0.10, f"relative errors {error}"
    truth_order = truth.sort_values(ascending=False).index.tolist()
    assert estimate.sort_values(ascending=False).index.tolist() == truth_order
    # the historic average ranks them wrongly: the new channel's customers are young
    historic = channels["historic_clv_mean"].reindex(truth.index)
    assert historic.sort_values(ascending=False).index.tolist() != truth_order, historic


def test_new_customer_clv_to_cac_divides_by_the_channel_cac(channel_analysis):
    channels, _, _ = channel_analysis
    ratio = channels["new_customer_clv"] / channels["cac"]
    np.testing.assert_allclose(channels["new_customer_clv_to_cac"], ratio, rtol=1e-3)
    columns = channels.reset_index().columns.tolist()
    assert columns.index("new_customer_clv_to_cac") == columns.index("clv_to_cac") + 1


def test_summary_holds_both_backtest_variants_and_the_coefficients(channel_analysis):
    _, summary, _ = channel_analysis
    backtest = summary["backtest"]
    assert {"pnbd", "pnbd+covariates"} <= set(backtest["models"])
    plain, covariates = backtest["models"]["pnbd"], backtest["models"]["pnbd+covariates"]
    assert covariates["rmse_orders"] < plain["rmse_orders"]
    assert backtest["covariates"]["kept"] == {"pnbd": True}
    assert backtest["best"] == "pnbd+covariates"
    rows = summary["model"]["covariates"]["coefficients"]
    # search (2000 customers) is the reference; catalog and social buy less and leave sooner
    assert {(r["process"], r["level"], r["reference"]) for r in rows} == {
        (process, level, "search")
        for process in ("purchase", "dropout")
        for level in ("catalog", "social")
    }
    rate = {r["level"]: r["rate_multiplier"] for r in rows if r["process"] == "purchase"}
    life = {r["level"]: r["lifetime_multiplier"] for r in rows if r["process"] == "dropout"}
    # true rate multipliers: alpha_search / alpha_level = 0.625 and 0.3125
    assert rate["catalog"] == pytest.approx(0.625, rel=0.15)
    assert rate["social"] == pytest.approx(0.3125, rel=0.15)
    assert life["social"] < life["catalog"] < 1
    for row in rows:
        z = row["coefficient"] / row["standard_error"]
        assert row["p_value"] == pytest.approx(2 * (1 - _normal_cdf(abs(z))), abs=1e-9)
    by_channel = summary["model"]["new_customer"]["by_channel"]
    assert sorted(by_channel) == ["catalog", "search", "social"]


def test_covariate_predictions_have_intervals_from_both_parameter_sets(channel_analysis):
    _, summary, out = channel_analysis
    assert summary["model"]["interval"]["method"] == "delta method"
    customers = pd.read_csv(out / "customers.csv")
    predicted = customers.dropna(subset=["predicted_clv"])
    assert len(predicted) > 0 and predicted["predicted_clv_p10"].notna().all()
    assert (predicted["predicted_clv_p10"] <= predicted["predicted_clv"] + 0.01).all()
    assert (predicted["predicted_clv"] <= predicted["predicted_clv_p90"] + 0.01).all()
    # the channel coefficients' uncertainty widens the intervals of the smaller channels
    width = (predicted["predicted_clv_p90"] - predicted["predicted_clv_p10"]) / predicted[
        "predicted_clv"
    ].where(predicted["predicted_clv"] > 0)
    by_channel = width.groupby(predicted["acquisition_channel"]).median()
    assert by_channel["social"] > by_channel["search"], by_channel.to_dict()
    totals = summary["totals"]
    assert totals["predicted_clv_p10"] < totals["predicted_clv"] < totals["predicted_clv_p90"]


def _normal_cdf(x: float) -> float:
    from scipy.stats import norm

    return float(norm.cdf(x))


def test_report_shows_what_drives_value(channel_analysis):
    _, _, out = channel_analysis
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="drivers"' in html and "What drives value" in html
    assert "social buys 0." in html  # the largest effect, in words
    assert "A customer acquired today is worth most from search" in html
    assert '"drivers-effects"' in html and "Covariate effects" in html  # the chart, the table


def test_an_unknown_covariate_is_one_line_naming_it_and_the_available(tmp_path):
    result = runner.invoke(
        app, ["--workspace", str(tmp_path / "none.duckdb"), "--covariates", "channel,tier"]
    )
    assert result.exit_code != 0 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "'channel'" in lines[0] and "acquisition_channel, first_discount_code" in lines[0]
    with pytest.raises(CovariateError, match="'tier'"):
        parse_covariates("acquisition_channel, tier")
    assert parse_covariates(" accepts_marketing,,accepts_marketing ") == ["accepts_marketing"]


def test_covariates_every_customer_shares_are_named_and_not_asked_for_again(tmp_path):
    """A shop whose orders name no channel, given ``--covariates acquisition_channel``: the
    analysis says the covariate holds one value for every customer, and the report says why the
    model uses none instead of asking for the covariates the run was given, and offers no
    channel covariate for its single channel."""
    from retail_log import MAP, retail_log

    path = tmp_path / "log.csv"
    retail_log(n_invoices=600, n_customers=80, seed=4).to_csv(path, index=False)
    out = tmp_path / "out"
    result = runner.invoke(
        app, [str(path), "--map", MAP, "-w", str(tmp_path / "w.duckdb"), "-o", str(out),
              "--covariates", "acquisition_channel"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    note = "covariate acquisition_channel has a single value: left out"
    assert note in json.loads((out / "summary.json").read_text())["notes"]
    assert f"note: {note}" in result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Every customer has the same acquisition_channel" in html
    assert "No covariates: run" not in html and "--covariates acquisition_channel)" not in html


@pytest.mark.parametrize("consent", [False, True], ids=["no attributes", "consent only"])
def test_without_covariates_the_advice_names_only_the_attributes_the_orders_hold(tmp_path, consent):
    """An orders table naming no channel, code or consent: summary.json counts no customer
    holding one, and "What drives value" offers no covariate but the columns to map; with a
    consent column, it offers that covariate alone."""
    from retail_log import MAP, retail_log

    log = retail_log(n_invoices=600, n_customers=80, seed=4)
    column_map = MAP
    if consent:
        number = pd.to_numeric(log["CustomerID"], errors="coerce")
        log["Consent"] = np.where(number.isna(), "", np.where(number % 3 == 0, "yes", "no"))
        column_map += ",accepts_marketing=Consent"
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    out = tmp_path / "out"
    result = runner.invoke(
        app, [str(path), "--map", column_map, "-w", str(tmp_path / "w.duckdb"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    customers = pd.read_csv(out / "customers.csv")
    assert summary["customers_with_attribute"] == {
        "acquisition_channel": 0,
        "first_discount_code": 0,
        "accepts_marketing": int(customers["accepts_marketing"].notna().sum()),
    }
    assert (summary["customers_with_attribute"]["accepts_marketing"] > 0) is consent
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "first_discount_code,accepts_marketing" not in html
    if consent:
        assert "run `valuecast analyze --covariates accepts_marketing` to see" in html
    else:
        assert "--covariates" not in html
        assert "`--map channel=COL,discount_code=COL,accepts_marketing=COL`" in html


def test_the_advice_names_no_attribute_every_customer_shares(tmp_path):
    """Every order of one channel, consent varying: summary.json says only the consent varies,
    and "What drives value" offers `--covariates accepts_marketing` alone, saying why the
    channel is not offered (a run with it would only note its single value)."""
    from retail_log import MAP, retail_log

    log = retail_log(n_invoices=600, n_customers=80, seed=4)
    number = pd.to_numeric(log["CustomerID"], errors="coerce")
    log["Consent"] = np.where(number.isna(), "", np.where(number % 3 == 0, "yes", "no"))
    log["Channel"] = np.where(number % 2 == 0, "Web", " web ")  # one level, written two ways
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    out = tmp_path / "out"
    column_map = MAP + ",accepts_marketing=Consent,channel=Channel"
    result = runner.invoke(
        app, [str(path), "--map", column_map, "-w", str(tmp_path / "w.duckdb"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["customers_with_attribute"]["acquisition_channel"] == summary["n_customers"]
    assert summary["attributes_that_vary"] == ["accepts_marketing"]
    html = " ".join((out / "report.html").read_text(encoding="utf-8").split())
    assert "run `valuecast analyze --covariates accepts_marketing` to see" in html
    assert (
        "The acquisition channel gives no two groups of customers to compare: one value for "
        "every customer, or none held by 30 customers; the orders name no discount code."
    ) in html


# -- the design matrix ---------------------------------------------------------------------------
def _design(values: list[str], counts: list[int], kind: str = "category"):
    keys = pd.DataFrame({"_cov_0": values})
    return build_design(["c"], {"c": kind}, keys, np.asarray(counts, dtype=float))


def test_categories_one_hot_against_the_largest_level_with_rare_levels_pooled():
    small = MIN_LEVEL_CUSTOMERS - 1
    design = _design(["a", "b", "c", "d", "(none)"], [500, 800, small, 3, 40])
    assert [t.name for t in design.terms] == ["c=a", "c=(none)", "c=other"]
    assert {t.reference for t in design.terms} == {"b"}
    np.testing.assert_array_equal(
        design.matrix.to_numpy(),
        [[1, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0]],
    )
    assert design.level_of("c").tolist() == ["a", "b", "other", "other", "(none)"]


def test_at_most_the_largest_levels_are_kept():
    from valuecast.analysis.covariates import MAX_LEVELS

    values = [f"l{i:02d}" for i in range(MAX_LEVELS + 3)]
    design = _design(values, [1000 - i for i in range(len(values))])
    levels = {t.level for t in design.terms}
    # the largest level is the reference even though the three pooled ones outnumber it
    assert {t.reference for t in design.terms} == {"l00"}
    assert levels == {f"l{i:02d}" for i in range(1, MAX_LEVELS)} | {"other"}


def test_booleans_are_0_1_and_numbers_standardised_and_constants_dropped():
    design = _design(["true", "false"], [10, 30], kind="bool")
    assert [t.name for t in design.terms] == ["c"]
    assert design.matrix["c"].tolist() == [1.0, 0.0]
    numbers = _design(["1", "3", "(none)"], [1, 1, 2], kind="number")
    assert numbers.matrix["c"].tolist() == [-1.0, 1.0, 0.0]  # mean 2, sd 1; missing at the mean
    assert numbers.terms[0].center == 2.0 and numbers.terms[0].scale == 1.0
    constant = _design(["x"], [100])
    assert constant.terms == [] and constant.notes == ["covariate c has a single value: left out"]


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient` is deprecated")
def test_dashboard_channels_page_shows_drivers_and_new_customer_clv(channel_analysis):
    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    _, _, out = channel_analysis
    application = create_app(out.parent / "shop.duckdb", warm=False)
    try:
        page = TestClient(application, base_url="http://127.0.0.1").get("/channels")
    finally:
        application.state.dashboard.close()
    assert page.status_code == 200
    assert "What drives value" in page.text and "Covariate effects" in page.text
    assert "CLV of a customer acquired today" in page.text


def test_covariates_are_kept_only_where_they_lower_the_holdout_rmse():
    from valuecast.analysis.backtest import CandidateResult, covariate_choice

    def fitted(name, rmse, mae):
        return CandidateResult(name, scores={"rmse_orders": rmse, "mae_orders": mae})

    results = {
        "bgnbd": fitted("bgnbd", 2.0, 1.0),
        "pnbd": fitted("pnbd", 2.0, 1.0),
        "mbgnbd": CandidateResult("mbgnbd", error="FitError: no"),
        # a lower MAE does not keep covariates that raise the squared error, and vice versa
        "bgnbd+covariates": fitted("bgnbd+covariates", 2.1, 0.9),
        "pnbd+covariates": fitted("pnbd+covariates", 1.9, 1.1),
        "mbgnbd+covariates": fitted("mbgnbd+covariates", 3.0, 2.0),
    }
    choice = covariate_choice(results)
    assert choice["kept"] == {"bgnbd": False, "pnbd": True, "mbgnbd": True}
    assert choice["eligible"] == ["bgnbd", "pnbd+covariates", "mbgnbd+covariates"]


def test_the_printed_model_names_the_covariates_it_was_fitted_with(channel_analysis):
    """summary.json's name is the candidate's (``pnbd``); the printed line says the customers'
    acquisition channel shifts its predictions."""
    from valuecast.cli.analyze import _model_line

    _, summary, _ = channel_analysis
    assert summary["model"]["name"] == "pnbd"
    assert _model_line(summary["model"]) == "pnbd with covariates (acquisition_channel)"
    assert _model_line({"name": "bgnbd"}) == "bgnbd"


def test_a_covariate_is_named_as_by_names_a_grouping(tmp_path):
    """``--covariates first-product`` is read as ``--by first-product`` is: any case, a dash."""
    assert parse_covariates("first-product, Accepts-Marketing,first_product") == [
        "first_product",
        "accepts_marketing",
    ]
    result = runner.invoke(
        app, ["--workspace", str(tmp_path / "none.duckdb"), "--covariates", "first-product"]
    )
    assert result.exit_code != 0 and "--covariates" not in result.output, result.output
