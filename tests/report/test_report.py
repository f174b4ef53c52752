"""report.html from a simulated shop: self-contained, every section read out, numbers as summary.json."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from valuecast.cli.report import report_from_workspace
from valuecast.outputs.report import SECTIONS, render_report, write_report

EXPECTED_CHARTS = {
    "headline": ["headline-clv"],
    "concentration": ["concentration-lorenz"],
    "alive": ["alive-heatmap"],
    "segments": ["segments-rfm", "segments-tiers"],
    "cohorts": ["cohorts-retention", "cohorts-ltv", "cohorts-churn"],
    "channels": ["channels-clv", "channels-cac"],
    "stage": ["stage-effort", "stage-monthly"],
    "backtest": ["backtest-weekly", "backtest-frequency"],
    "data-quality": ["data-quality-orders"],
}


@pytest.fixture(scope="module")
def html(shop):
    return shop.report.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(html, html_tools):
    return html_tools.parse(html)


def _figures(root) -> dict:
    (node,) = list(root.find_all("script", id="report-data"))
    return json.loads(node.all_text())


def _readings(root, section: str) -> dict[str, str]:
    (node,) = list(root.find_all("section", id=section))
    out = {}
    for block in node.find_all("figure", cls="chart-block"):
        (reading,) = list(block.find_all("p", cls="reading"))
        out[block.attrs["id"].removeprefix("block-")] = " ".join(reading.all_text().split())
    return out


def _reading(root, chart: str) -> str:
    for section in SECTIONS:
        readings = _readings(root, section)
        if chart in readings:
            return readings[chart]
    raise AssertionError(f"no chart {chart}")


# -- nothing from outside ------------------------------------------------------------------------
def test_the_loading_check_finds_external_references(html_tools):
    """The check below must be able to fail: each of these pages loads something from outside."""
    check = html_tools.loading_references
    assert (
        check('<p><a href="#top">top</a></p><script>var u = "https://x.org/a.js";</script>') == []
    )
    for page in (
        '<script src="https://cdn.plot.ly/plotly.min.js"></script>',
        '<img src="http://example.com/logo.png">',
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Open+Sans">',
        "<style>@import 'https://fonts.example/a.css';</style>",
        "<style>body { background: url(https://example.com/bg.png) }</style>",
        "<div style=\"background-image: url('//example.com/x.png')\"></div>",
        '<iframe src="//example.com/frame"></iframe>',
    ):
        assert check(page), page


def test_the_report_loads_nothing_from_outside(html, page, html_tools):
    assert html_tools.loading_references(html) == []
    scripts = list(page.find_all("script"))
    assert all("src" not in script.attrs for script in scripts)
    assert not list(page.find_all("link"))
    # the page's own scripts (all but plotly.js) name no address at all
    plotly_js = get_plotlyjs()
    own = [s.all_text() for s in scripts if s.all_text() != plotly_js]
    assert len(own) == len(scripts) - 1
    assert all("http:" not in text and "https:" not in text for text in own)
    assert not re.search(r"(?i)(src|href)\s*=\s*[\"']?\s*(https?:)?//", _without(html, plotly_js))
    assert not re.search(r"(?i)url\(\s*[\"']?\s*(https?:)?//", _without(html, plotly_js))


def _without(html: str, plotly_js: str) -> str:
    return html.replace(plotly_js, "")


def _chart_config(page) -> dict:
    """The config the page's own script hands Plotly.newPlot (its object literal, as JSON)."""
    plotly_js = get_plotlyjs()
    (script,) = [
        s.all_text()
        for s in page.find_all("script")
        if "id" not in s.attrs and s.all_text() != plotly_js
    ]
    literal = re.search(r"var config = (\{.*?\});", script, re.DOTALL).group(1)
    return json.loads(re.sub(r"(\w+):", r'"\1":', literal))


def test_no_chart_offers_plotly_cloud(page):
    """plotly.js offers to send a chart to Plotly's cloud ("Share chart...") and names its
    server unless told not to: the page, which keeps the shop's figures inside it, tells it."""
    config = _chart_config(page)
    assert config["showSendToCloud"] is False
    assert config["showEditInChartStudio"] is False
    assert config["plotlyServerURL"] == ""
    assert {"sendChartToCloud", "sendDataToCloud"} <= set(config["modeBarButtonsToRemove"])


def test_plotly_js_is_inlined_exactly_once(html, page):
    plotly_js = get_plotlyjs()
    assert len(plotly_js) > 1_000_000
    assert html.count(plotly_js) == 1
    banner = plotly_js[: plotly_js.index("*/")]
    assert html.count(banner) == 1
    big = [s for s in page.find_all("script") if len(s.all_text()) > 500_000]
    assert len(big) == 1 and big[0].all_text() == plotly_js


@pytest.mark.parametrize("end_tag", ["</script>", "</SCRIPT >", "</Script\n"])
def test_a_plotly_js_that_would_end_its_script_element_is_not_inlined(shop, monkeypatch, end_tag):
    from valuecast.outputs.report import render

    monkeypatch.setattr(render, "plotly_js_text", lambda: f"var a = '{end_tag}';")
    with pytest.raises(RuntimeError, match="cannot be inlined"):
        render_report(*shop.without_spend)
    # text that only looks like one, to HTML's parser (which ignores ASCII case alone), is kept
    monkeypatch.setattr(render, "plotly_js_text", lambda: "var a = '</scr\u0130pt';")
    assert "var a = '</scr\u0130pt';" in render_report(*shop.without_spend)


def test_size_and_no_per_customer_data(shop, html):
    assert shop.report.stat().st_size < 10 * 1024 * 1024
    plotly_js = get_plotlyjs()
    # everything but plotly.js: aggregates only, a few hundred kB at most
    assert len(_without(html, plotly_js).encode()) < 400_000
    customers = shop.with_spend[1]
    for customer_id in customers["customer_id"].sample(50, random_state=0):
        assert customer_id not in html


# -- sections, charts and readings ---------------------------------------------------------------
def test_every_section_is_there_with_a_chart_and_its_reading(page):
    figures = _figures(page)
    assert figures["template"]["layout"]  # one shared template, not one per chart
    drawn = set()
    for section, charts in EXPECTED_CHARTS.items():
        readings = _readings(page, section)
        assert list(readings) == charts, section
        for key, reading in readings.items():
            assert len(reading) > 30 and reading.endswith("."), (key, reading)
            (div,) = list(page.find_all("div", data_figure=key))
            assert div.attrs["class"] == "chart"
            figure = figures["figures"][key]
            assert "template" not in figure["layout"]
            assert figure["data"], key
            for trace in figure["data"]:
                filled = [trace.get(k) for k in ("x", "y", "z", "values") if trace.get(k)]
                assert filled, (key, trace.get("name"))
            drawn.add(key)
    assert drawn == set(figures["figures"])
    assert [s.attrs["id"] for s in page.find_all("section")] == list(SECTIONS)


def test_without_covariates_what_drives_value_says_how_to_see_it(page):
    readings = _readings(page, "drivers")
    assert list(readings) == ["drivers-effects"]
    assert readings["drivers-effects"].startswith("No covariates: run `valuecast analyze")
    assert "drivers-effects" not in _figures(page)["figures"]


def test_headline_figures_equal_summary_json(shop, page):
    summary = shop.with_spend[0]
    totals, currency = summary["totals"], summary["currency"]
    items = {
        node.attrs["data-key"]: (
            json.loads(node.attrs["data-value"]),
            " ".join(next(node.find_all("dd")).all_text().split()),
        )
        for node in page.find_all("div", cls="figure")
    }
    assert items["n_customers"] == (summary["n_customers"], f"{summary['n_customers']:,}")
    assert items["n_orders"] == (summary["n_orders"], f"{summary['n_orders']:,}")
    assert items["n_guest_orders"] == (summary["n_guest_orders"], f"{summary['n_guest_orders']:,}")
    assert summary["n_guest_orders"] > 0
    for key in ("historic_clv", "predicted_clv"):
        assert items[key] == (totals[key], f"{totals[key]:,.0f} {currency}")
    low, high = totals["predicted_clv_p10"], totals["predicted_clv_p90"]
    assert items["predicted_clv_interval"] == ([low, high], f"{low:,.0f} to {high:,.0f} {currency}")
    orders = totals["predicted_number_of_orders"]
    assert items["predicted_number_of_orders"] == (orders, f"{orders:,.0f}")
    assert items["model"][0] == summary["model"]["name"]
    assert summary["model"]["name"] in items["model"][1]
    reading = _reading(page, "headline-clv")
    assert (
        f"{summary['n_customers']:,} customers have spent {totals['historic_clv']:,.0f}" in reading
    )
    assert f"{totals['predicted_clv']:,.0f} {currency} more" in reading
    # the interval is named as what it holds: the expected value, not the sales that will come
    labels = {
        node.attrs["data-key"]: next(node.find_all("dt")).all_text()
        for node in page.find_all("div", cls="figure")
    }
    assert labels["predicted_clv_interval"] == "80% interval of the expected value"
    assert (
        f"(80% interval of that expected value {low:,.0f} to {high:,.0f} {currency}; the sales "
        "that come vary more, by who happens to order)" in reading
    )
    # and the range of the sales to come beside it, from summary.json
    sales_low, sales_high = totals["predicted_sales_p10"], totals["predicted_sales_p90"]
    assert sales_low < low < high < sales_high
    assert labels["predicted_sales_range"] == "80% range of the sales to come"
    assert items["predicted_sales_range"] == (
        [sales_low, sales_high],
        f"{sales_low:,.0f} to {sales_high:,.0f} {currency}",
    )
    assert (
        f"; 80% range of the sales to come {sales_low:,.0f} to {sales_high:,.0f} {currency}."
        in (reading)
    )


def test_concentration_reading_is_the_top_fifth_share(shop, page):
    customers = shop.with_spend[1]
    value = np.sort(customers["predicted_clv"].to_numpy())[::-1]
    top = value[: round(0.2 * len(value))].sum() / value.sum()
    assert 0.2 < top < 1
    reading = _reading(page, "concentration-lorenz")
    assert reading.startswith(f"The top 20% of customers hold {top:.0%} of predicted CLV")
    figure = _figures(page)["figures"]["concentration-lorenz"]["data"][0]
    assert figure["x"][20] == pytest.approx(20) and figure["y"][20] == pytest.approx(top * 100)
    assert figure["y"][-1] == pytest.approx(100) and len(figure["x"]) == 101


@pytest.mark.parametrize(
    "values, reading",
    [
        ([50.0], "The only customer holds 100% of historic CLV."),
        ([30.0, 10.0], "The most valuable of 2 customers holds 75% of historic CLV."),
        ([30.0, 10.0, 10.0], "The most valuable of 3 customers holds 60% of historic CLV."),
        ([30.0, 10.0, 5.0, 5.0], "The top 20% of customers hold 60% of historic CLV."),
    ],
)
def test_a_shop_of_a_few_customers_reads_its_most_valuable_one(values, reading):
    """A fifth of one or two customers rounds to nobody, who held "0%" of one customer's value:
    the top counts at least the most valuable customer, and a shop of up to three says so."""
    from valuecast.outputs.report.concentration import concentration_chart

    customers = pd.DataFrame({"historic_clv": values, "predicted_clv": np.nan})
    assert concentration_chart(customers).reading == reading


def test_lorenz_points_and_top_share_read_one_descending_order_as_their_own():
    from valuecast.outputs.report.concentration import descending, lorenz_points, top_share

    values = pd.Series([3.0, np.nan, 0.5, 7.25, 0.0, 1.0, 7.25, 2.0, np.nan, 0.1])
    ordered = descending(values)
    assert ordered.tolist() == [7.25, 7.25, 3.0, 2.0, 1.0, 0.5, 0.1, 0.0, 0.0, 0.0]
    assert values.isna().sum() == 2  # the caller's values are not changed
    shared, own = lorenz_points(values, 11, ordered=ordered), lorenz_points(values, 11)
    assert [part.tolist() for part in shared] == [part.tolist() for part in own]
    assert top_share(values, 0.3, ordered=ordered) == top_share(values, 0.3) == 17.5 / 21.1


def test_alive_grid_bins_days_on_the_edges_and_leaves_out_unknown_p_alive():
    from valuecast.outputs.report.alive import RECENCY_EDGES, alive_grid

    # days since the last order on, just past and far from every edge; a NaN T; unknown P(alive)
    days = [0, *RECENCY_EDGES, *(e + 0.5 for e in RECENCY_EDGES), 5000, np.nan, 10, 20]
    n = len(days)
    alive = np.linspace(0.05, 0.95, n)
    alive[-2:] = [np.nan, np.inf]
    customers = pd.DataFrame(
        {"probability_alive": alive, "frequency": np.arange(n) % 12, "recency": 1.0,
         "T": np.asarray(days, dtype=float) + 1.0}
    )  # fmt: skip
    known = np.isfinite(alive)
    bins = np.searchsorted(np.asarray(RECENCY_EDGES, float), np.asarray(days)[known], "left")
    frequency = np.minimum(customers["frequency"].to_numpy()[known], 10)
    frequency = np.where(frequency >= 10, 6, np.where(frequency >= 5, 5, frequency))
    expected = (
        pd.DataFrame({"frequency_bin": frequency, "recency_bin": bins, "p": alive[known]})
        .groupby(["frequency_bin", "recency_bin"])["p"]
        .agg(["size", "mean"])
        .reset_index()
    )
    grid = alive_grid(customers)
    assert grid["frequency_bin"].tolist() == expected["frequency_bin"].tolist()
    assert grid["recency_bin"].tolist() == expected["recency_bin"].tolist()
    assert grid["customers"].tolist() == expected["size"].tolist()
    assert grid["probability_alive"].to_numpy() == pytest.approx(expected["mean"].to_numpy())
    assert int(grid["customers"].sum()) == n - 2
    # with every P(alive) known, the same bins
    every = alive_grid(customers.iloc[:-2])
    pd.testing.assert_frame_equal(every, grid)


def test_alive_heatmap_means_probability_alive_per_cell(shop, page):
    customers = shop.with_spend[1]
    trace = _figures(page)["figures"]["alive-heatmap"]["data"][0]
    since = customers["T"] - customers["recency"]
    recent_one = customers[(since <= 30) & (customers["frequency"] == 1)]
    column, row = trace["x"].index("0-30"), trace["y"].index("1")
    assert trace["z"][row][column] == pytest.approx(recent_one["probability_alive"].mean())
    assert trace["customdata"][row][column] == len(recent_one)
    assert sum(map(sum, trace["customdata"])) == len(customers)
    assert "most likely to still be buying" in _reading(page, "alive-heatmap")


def test_segment_readings_come_from_summary_groups(shop, page):
    summary = shop.with_spend[0]
    groups = summary["rfm_groups"]
    total = sum(g["predicted_clv"] for g in groups.values())
    customers = sum(g["count"] for g in groups.values())
    top = max(groups, key=lambda name: groups[name]["predicted_clv"])
    expected = (
        f"{top} are {groups[top]['count'] / customers:.0%} of customers and hold "
        f"{groups[top]['predicted_clv'] / total:.0%} of predicted CLV"
    )
    assert _reading(page, "segments-rfm").startswith(expected)
    tiers = summary["spend_tiers"]
    high = tiers["high"]["predicted_clv"] / sum(t["predicted_clv"] for t in tiers.values())
    assert f"holds {high:.0%} of predicted CLV" in _reading(page, "segments-tiers")


def test_cohort_readings(shop, page):
    tables = shop.with_spend[2]
    retention = tables["retention.csv"]
    retention = retention[~retention["partial_month"].astype(bool)]  # complete months only
    month1 = retention[retention["months_since_acquisition"] == 1]
    rate = month1["active_customers"].sum() / month1["customers"].sum()
    assert _reading(page, "cohorts-retention").startswith(
        f"In the calendar month after the one of their first order (month 1), {rate:.0%} of a "
        "cohort's customers order again"
    )
    cohorts = tables["cohorts.csv"]
    reached = cohorts[cohorts["ltv_m12"].notna()]
    start = np.average(reached["ltv_m0"], weights=reached["customers"])
    end = np.average(reached["ltv_m12"], weights=reached["customers"])
    assert _reading(page, "cohorts-ltv").startswith(
        f"A new customer brings {start:,.2f} USD in the month of their first order and "
        f"{end:,.2f} USD by month 12"
    )
    ltv = _figures(page)["figures"]["cohorts-ltv"]["data"]
    assert len(ltv) == len(cohorts)
    threshold = shop.with_spend[0]["growth"]["churn_threshold"]["threshold_months"]
    assert _reading(page, "cohorts-churn").startswith(
        f"After {threshold} month" if threshold else "The chance of ordering within 12 months"
    )


def test_channel_readings_with_spend(shop, page):
    channels = shop.with_spend[2]["channels.csv"]
    total = channels["historic_clv_mean"] + channels["predicted_clv_mean"]
    best = channels.loc[total.idxmax()]
    assert _reading(page, "channels-clv").startswith(
        f"Customers from {best['acquisition_channel']} are worth the most, {total.max():,.2f} USD"
    )
    paid = channels[channels["clv_to_cac"].notna()]
    assert set(paid["acquisition_channel"]) == {"google", "instagram", "facebook ads"}
    top = paid.loc[paid["clv_to_cac"].idxmax()]
    reading = _reading(page, "channels-cac")
    assert reading.startswith(
        f"The best return on spend comes from {top['acquisition_channel']}: CLV:CAC "
        f"{top['clv_to_cac']:.2f}"
    )
    overall = shop.with_spend[0]["growth"]["clv_to_cac"]
    assert f"Over all channels with spend: {overall:.2f}." in reading
    bars = _figures(page)["figures"]["channels-cac"]["data"][0]
    assert bars["x"][0] == top["acquisition_channel"] and len(bars["x"]) == 3


def test_without_spend_channels_show_clv_only(shop, html_tools):
    root = html_tools.parse(render_report(*shop.without_spend))
    assert list(_readings(root, "channels")) == ["channels-clv"]
    assert not list(root.find_all("div", data_figure="channels-cac"))
    (section,) = list(root.find_all("section", id="channels"))
    assert "--spend SPEND.csv" in section.all_text()


def test_stage_and_backtest_readings(shop, page):
    summary = shop.with_spend[0]
    stage = summary["growth"]["growth_stage"]
    assert _reading(page, "stage-effort").startswith(f"At the '{stage['stage']}' stage")
    assert f"about {stage['retention_share']:.0%} of the effort into keeping" in _reading(
        page, "stage-effort"
    )
    backtest = summary["backtest"]
    chosen = summary["model"]["name"]
    actual = backtest["weekly"]["actual"][-1]
    predicted = backtest["weekly"]["predicted"][chosen][-1]
    reading = _reading(page, "backtest-weekly")
    assert f"the customers made {actual:,.0f} repeat purchases" in reading
    assert f"predicted {predicted:,.0f} ({predicted / actual - 1:+.0%})" in reading
    weekly = _figures(page)["figures"]["backtest-weekly"]["data"]
    assert [t["name"] for t in weekly][0] == "actual" and weekly[0]["y"][-1] == actual
    assert len(weekly) == 1 + len(backtest["weekly"]["predicted"]) + 1  # + the naive guess
    frequency = _figures(page)["figures"]["backtest-frequency"]["data"]
    assert frequency[0]["x"] == backtest["by_frequency"]["frequency"]
    assert frequency[0]["y"] == pytest.approx(backtest["by_frequency"]["actual"])
    (section,) = list(page.find_all("section", id="backtest"))
    rows = [[td.all_text() for td in tr.find_all("td")] for tr in section.find_all("tr")]
    for name, value in summary["model"]["params"].items():
        error = summary["model"]["standard_errors"][name]
        assert [name, f"{value:.4g}", f"{error:.3g}"] in [row[1:] for row in rows]


def test_data_quality_reading_is_the_ingest_report(shop, page):
    report = shop.with_spend[3]
    excluded = report["excluded_orders"]
    assert sum(excluded.values()) == sum(shop.info.excluded_orders.values()) > 0
    reading = _reading(page, "data-quality-orders")
    # a Shopify export: a row per line item, so the rows outnumber the orders read
    read = report["orders"] + sum(excluded.values())
    assert report["rows_read"] > read
    assert reading.startswith(
        f"Of {report['rows_read']:,} rows read ({read:,} orders, a row for each line item), "
        f"{report['orders']:,} orders were used ({report['guest_orders']:,} of them guest orders"
    )
    for reason, count in excluded.items():
        if count:
            assert f"{reason} {count:,}" in reading
    bars = _figures(page)["figures"]["data-quality-orders"]["data"][0]
    assert sum(bars["x"]) == report["orders"] + sum(excluded.values())


def test_sections_without_data_say_so_instead_of_an_empty_chart(shop, html_tools):
    summary, customers, _, _ = copy.deepcopy(shop.without_spend)
    summary.pop("growth")
    summary["backtest"] = {"skipped": "120 days of history leave less than 90 days"}
    customers = customers.assign(probability_alive=np.nan, predicted_clv=np.nan)
    root = html_tools.parse(render_report(summary, customers, {}, None))
    figures = _figures(root)["figures"]
    assert [s.attrs["id"] for s in root.find_all("section")] == list(SECTIONS)
    empty = {
        "alive-heatmap": "No P(alive)",
        "cohorts-retention": "No cohorts yet",
        "cohorts-ltv": "No cohorts yet",
        "channels-clv": "No acquisition channels",
        "stage-effort": "No growth stage",
        "backtest-weekly": "No backtest: 120 days of history",
        "data-quality-orders": "No ingest report",
    }
    for key, sentence in empty.items():
        (block,) = list(root.find_all("figure", id=f"block-{key}"))
        (reading,) = list(block.find_all("p", cls="no-data"))
        assert reading.all_text().startswith(sentence), key
        assert not list(block.find_all("div")) and key not in figures
    # what has data is still drawn: with no predictions, value concentration on historic CLV
    assert set(figures) == {"headline-clv", "concentration-lorenz", "segments-rfm",
                            "segments-tiers"}  # fmt: skip
    assert "of historic CLV" in _reading(root, "concentration-lorenz")
    for key, figure in figures.items():
        assert figure["data"], key


def test_text_from_the_data_is_escaped(shop, html_tools):
    summary, customers, tables, report = copy.deepcopy(shop.with_spend)
    channels = tables["channels.csv"].copy()
    channels.loc[channels.index[0], "acquisition_channel"] = "<script>alert(1)</script>"
    tables["channels.csv"] = channels
    html = render_report(summary, customers, tables, report)
    assert "<script>alert(1)" not in html
    assert html_tools.loading_references(html) == []
    root = html_tools.parse(html)
    bars = _figures(root)["figures"]["channels-clv"]["data"][0]
    # the JSON keeps the text (\\u-escaped), with < as the entity Plotly shows as <
    assert "&lt;script>alert(1)&lt;/script>" in bars["x"]


# -- writing ------------------------------------------------------------------------------------
def test_write_report_replaces_the_file_atomically(shop, tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    path = write_report(target, *shop.without_spend)
    assert path == target and target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_report_from_workspace(shop, tmp_path):
    path = report_from_workspace(shop.workspace, tmp_path / "r.html", spend=shop.spend)
    html = path.read_text(encoding="utf-8")
    assert 'data-figure="channels-cac"' in html and html.count(get_plotlyjs()) == 1
    with pytest.raises(FileNotFoundError, match="no such workspace"):
        report_from_workspace(tmp_path / "missing.duckdb", tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


def test_margin_and_horizon_reach_the_report(shop, tmp_path, html_tools):
    path = report_from_workspace(shop.workspace, tmp_path / "r.html", margin=0.4, horizon=6)
    html = path.read_text(encoding="utf-8")
    assert "predicted CLV at a 40% margin" in html
    assert "predicted CLV, next 6 months" in html
    # the footer says the same: discounted net revenue times the margin
    assert "Predicted CLV is discounted net revenue times the 40% margin over the next 6" in html
    # the headline chart's bars are both margin: revenue beside margin would look like a fall
    bars = _figures(html_tools.parse(html))["figures"]["headline-clv"]["data"][0]
    assert bars["x"] == ["historic CLV at the 40% margin (so far)",
                         "predicted CLV at the 40% margin (next 6 months)"]  # fmt: skip


def test_a_horizon_of_one_month_is_one_month(shop, tmp_path):
    path = report_from_workspace(shop.workspace, tmp_path / "r.html", horizon=1)
    html = path.read_text(encoding="utf-8")
    assert "predicted CLV, next 1 month<" in html and "next 1 month " in html
    assert "1 months" not in html


def test_a_shop_without_guest_orders_reads_plainly(shop, html_tools):
    summary, customers, tables, report = copy.deepcopy(shop.with_spend)
    report["guest_orders"] = 0
    page = html_tools.parse(render_report(summary, customers, tables, report))
    reading = _reading(page, "data-quality-orders")
    assert "guest" not in reading and reading.startswith(f"Of {report['rows_read']:,} rows read")


def test_render_accepts_tables_read_back_from_csv(shop, tmp_path, html_tools):
    """The tables as `valuecast analyze` wrote them (CSV, read back) give the same charts."""
    summary, customers, tables, report = shop.with_spend
    read_back = {}
    for name, frame in tables.items():
        frame.to_csv(tmp_path / name, index=False)
        read_back[name] = pd.read_csv(tmp_path / name)
    original = _figures(html_tools.parse(render_report(summary, customers, tables, report)))
    again = _figures(html_tools.parse(render_report(summary, customers, read_back, report)))
    assert set(again["figures"]) == set(original["figures"])


def test_render_accepts_an_in_memory_summary_with_numpy_numbers(shop, html_tools):
    summary, customers, tables, report = copy.deepcopy(shop.with_spend)
    summary["n_customers"] = np.int64(summary["n_customers"])
    summary["totals"]["predicted_clv"] = np.float64(summary["totals"]["predicted_clv"])
    summary["as_of"] = pd.Timestamp(summary["as_of"]).date()
    root = html_tools.parse(render_report(summary, customers, tables, report))
    (node,) = list(root.find_all("div", cls="figure", data_key="n_customers"))
    assert json.loads(node.attrs["data-value"]) == shop.with_spend[0]["n_customers"]
    assert f"as of {shop.with_spend[0]['as_of']}" in next(root.find_all("p")).all_text()


def _customers_in_cells(cells: list[tuple[int, int, float, int]]) -> pd.DataFrame:
    """Customers (frequency, days since the last order, P(alive)), ``n`` of each."""
    rows = [
        {"frequency": f, "recency": 10.0, "T": 10.0 + days, "probability_alive": alive}
        for f, days, alive, n in cells
        for _ in range(n)
    ]
    return pd.DataFrame(rows)


def test_the_alive_reading_names_cells_the_chart_shows_as_most_and_least_likely():
    from valuecast.outputs.report.alive import alive_chart

    # one cell of 10+ customers only: the reading takes every cell (it named the one solid cell
    # as both the most and the least likely, under 1%, beside a cell at 93%)
    one_solid = _customers_in_cells([(0, 200, 0.004, 30), (3, 10, 0.93, 4), (1, 100, 0.4, 3)])
    reading = alive_chart(one_solid).reading
    assert "most likely to still be buying (mean P(alive) 93%)" in reading
    assert reading.startswith("Customers with 3 repeat purchases")
    # two solid cells that differ: those two, and the reading says it kept to them
    two = _customers_in_cells([(0, 200, 0.1, 30), (2, 10, 0.8, 20), (3, 10, 0.99, 2)])
    reading = alive_chart(two).reading
    assert reading.startswith("Of the groups of 10 or more customers, customers with 2 repeat")
    # the same P(alive) everywhere: no most or least
    flat = _customers_in_cells([(0, 200, 1.0, 30), (2, 10, 1.0, 20)])
    assert alive_chart(flat).reading == "Mean P(alive) is 100% in every group of the chart."


def test_the_range_of_the_sales_to_come_is_named_as_margin_under_a_margin_and_absent_says_why(
    shop,
):
    """With ``--margin 0.4`` the range is 40% of the sales (8,944 to 10,866 beside a predicted
    9,874 of margin): called "the range of the sales to come" it read as sales of about 10,000
    where about 24,700 are expected.  A seasonal model draws no range: the reading says why."""
    from valuecast.outputs.report.headline import headline

    summary = copy.deepcopy(shop.with_spend[0])
    summary["margin"] = 0.4
    items, chart = headline(summary)
    labels = {item["key"]: item["label"] for item in items}
    assert labels["predicted_sales_range"] == "80% range of the 40% margin to come"
    assert "; 80% range of the 40% margin to come " in chart.reading
    summary["margin"] = 1.0
    labels = {item["key"]: item["label"] for item in headline(summary)[0]}
    assert labels["predicted_sales_range"] == "80% range of the sales to come"
    seasonal = copy.deepcopy(shop.with_spend[0])
    note = "no range of the sales to come for a seasonal model (no simulator of a future)"
    seasonal["totals"].update(predicted_sales_p10=None, predicted_sales_p90=None,
                              sales_range_note=note)  # fmt: skip
    items, chart = headline(seasonal)
    assert "predicted_sales_range" not in {item["key"] for item in items}
    assert f"; {note}." in chart.reading


def test_the_alive_section_of_withheld_predictions_says_why_not_that_no_model_was_fitted(
    shop, html_tools
):
    """A fitted model whose predictions the analysis withholds (it calls a customer of last
    week more likely gone than alive): the section gives that reason, as the banner and the
    data-quality section do, not "the purchase model could not be fitted"."""
    summary, customers, _, _ = copy.deepcopy(shop.without_spend)
    withheld = (
        "the fitted model calls a customer who ordered in the last 7 days more likely gone "
        "than alive (P(alive) 0.29): the data do not identify dropout, so predictions are "
        "withheld (historic figures only)"
    )
    summary["model"] = {**summary.get("model", {}), "fitted": False, "withheld": withheld}
    customers = customers.assign(probability_alive=np.nan, predicted_clv=np.nan)
    root = html_tools.parse(render_report(summary, customers, {}, None))
    (block,) = list(root.find_all("figure", id="block-alive-heatmap"))
    reading = block.all_text()
    assert f"No P(alive): {withheld}." in " ".join(reading.split())
    assert "could not be fitted" not in reading


def test_readings_of_shops_without_value_or_fit_say_what_they_are():
    from valuecast.outputs.report.charts import model_label
    from valuecast.outputs.report.headline import headline
    from valuecast.outputs.report.segments import segment_charts

    # a candidate named but not fitted: the headline does not name it
    summary = {"model": {"name": "bgnbd", "fitted": False, "withheld": "no repeat customers"},
               "totals": {"historic_clv": 10.0}, "n_customers": 3}  # fmt: skip
    items, _ = headline(summary)
    model = next(item for item in items if item["key"] == "model")
    assert model["value"] is None and model["text"] == "none fitted (historic figures only)"
    assert model_label("pnbd+season") == "Pareto/NBD with seasons"
    # 120 customers whose revenue is all 0: no chart, and not "no customers yet"
    zero = {"count": 120, "historic_clv": 0.0, "predicted_clv": None}
    charts = segment_charts({"rfm_groups": {"Dormant": zero}, "spend_tiers": {"low": zero}})
    assert [c.reading for c in charts] == [
        "No RFM groups chart: every customer's CLV is 0, so there is no value to share out.",
        "No spend tiers chart: every customer's CLV is 0, so there is no value to share out.",
    ]
    # everyone in one tier; a prediction of ~1e-11 in all shares out historic CLV instead
    one = {"count": 200, "historic_clv": 500.0, "predicted_clv": 1.3e-11}
    tiers = segment_charts({"rfm_groups": {"Loyal": one}, "spend_tiers": {"medium": one}})
    assert tiers[1].reading == "Every customer is in the medium tier."
    assert "historic CLV" in tiers[0].reading


def test_a_change_that_rounds_to_nothing_has_no_sign():
    from valuecast.outputs.report.charts import signed_pct_text

    assert [signed_pct_text(v) for v in (-0.001, 0.004, 0.0, -0.12, 0.3)] == [
        "0%", "0%", "0%", "-12%", "+30%",
    ]  # fmt: skip


def test_the_stage_reading_gives_the_shops_own_rate_and_age():
    from valuecast.outputs.report.stage import stage_charts

    stage = {
        "stage": "gaining traction", "retention_share": 0.15, "acquisition_share": 0.85,
        "description": "first sales: about 1-5 orders a week, typically in the first ~2 months",
        "orders_per_week": 3.25, "shop_age_days": 3634, "rate_window_days": 28,
        "notes": ["a 3634-day-old shop at 0.46 orders a day: the stage follows the order rate, "
                  "and more customers (acquisition) come first",
                  "CLV:CAC unknown: no marketing spend was given (analyze --spend SPEND.csv)"],
    }  # fmt: skip
    reading = stage_charts({"growth": {"growth_stage": stage}}, None)[0].reading
    assert reading == (
        "At the 'gaining traction' stage (3.2 orders a week over the last 28 days, a 3,634-day-old "
        "shop), put about 15% of the effort into keeping customers and 85% into winning new "
        "ones. A 3634-day-old shop at 0.46 orders a day: the stage follows the order rate, and "
        "more customers (acquisition) come first."
    )
    # a shop whose orders all fall on one day measures its rate over that day, its whole history
    one_day = {**stage, "orders_per_week": 889.0, "shop_age_days": 0, "rate_window_days": 1}
    reading = stage_charts({"growth": {"growth_stage": one_day}}, None)[0].reading
    assert "(889.0 orders a week since its first order, a shop on its first day of orders)" in (
        reading
    )
    assert "0-day" not in reading


def test_the_returning_share_reading_says_guest_orders_are_outside_it():
    """A guest is neither new nor returning: the share divides the customers' revenue, which
    the reading says where the shop has guest orders (else it reads as the shop's revenue)."""
    from valuecast.outputs.report.stage import stage_charts

    monthly = [{"month": "2024-11", "new_revenue": 80.0, "returning_revenue": 20.0,
                "returning_share": 0.2},
               {"month": "2024-12", "new_revenue": 60.0, "returning_revenue": 40.0,
                "returning_share": 0.4}]  # fmt: skip
    stage = {"stage": "growing", "retention_share": 0.3, "acquisition_share": 0.7,
             "monthly_revenue": monthly, "guest_orders": 12, "notes": []}  # fmt: skip
    reading = stage_charts({"growth": {"growth_stage": stage}}, None)[1].reading
    assert reading == (
        "Returning customers brought 40% of customers' net revenue (12 guest orders left out) "
        "in 2024-12, against 20% in 2024-11."
    )
    stage["guest_orders"] = 0
    reading = stage_charts({"growth": {"growth_stage": stage}}, None)[1].reading
    assert (
        reading
        == "Returning customers brought 40% of net revenue in 2024-12, against 20% in 2024-11."
    )


def test_the_returning_share_reading_sets_a_month_the_as_of_date_cuts_short_apart():
    """As of 2 May, May's share is of two days' orders (one repeat order: 100%): the reading
    reads the last whole month, April, and gives May's share as the days so far."""
    from valuecast.outputs.report.stage import stage_charts

    monthly = [{"month": month, "new_revenue": new, "returning_revenue": returning,
                "returning_share": returning / (new + returning)}
               for month, new, returning in (("2024-03", 160.0, 60.0), ("2024-04", 250.0, 30.0),
                                             ("2024-05", 0.0, 100.0))]  # fmt: skip
    stage = {"stage": "growing", "retention_share": 0.15, "acquisition_share": 0.85,
             "monthly_revenue": monthly, "guest_orders": 0, "notes": [], "as_of": "2024-05-02"}  # fmt: skip
    reading = stage_charts({"growth": {"growth_stage": stage}}, None)[1].reading
    assert reading == (
        "Returning customers brought 11% of net revenue in 2024-04, the last whole month, "
        "against 27% in 2024-03 (2024-05, 2 of its 31 days so far: 100%)."
    )
    # a shop whose orders all fall in the month so far has no whole month to read
    stage["monthly_revenue"] = monthly[2:]
    reading = stage_charts({"growth": {"growth_stage": stage}}, None)[1].reading
    assert reading == (
        "Returning customers brought 100% of net revenue in 2024-05, 2 of its 31 days so far."
    )
    # months without net revenue after the last one with some: it is not the last whole month
    quiet = [monthly[0], *({"month": m, "new_revenue": 0.0, "returning_revenue": 0.0,
                            "returning_share": None} for m in ("2024-04", "2024-05")),
             {**monthly[2], "month": "2024-06"}]  # fmt: skip
    stage["monthly_revenue"], stage["as_of"] = quiet, "2024-06-02"
    reading = stage_charts({"growth": {"growth_stage": stage}}, None)[1].reading
    assert reading == (
        "Returning customers brought 27% of net revenue in 2024-03, the last month with net "
        "revenue (2024-06, 2 of its 30 days so far: 100%)."
    )
    stage["monthly_revenue"], stage["as_of"] = quiet[:3], "2024-05-31"
    reading = stage_charts({"growth": {"growth_stage": stage}}, None)[1].reading
    assert reading == (
        "Returning customers brought 27% of net revenue in 2024-03, the last month with net "
        "revenue."
    )
    # as of a month's last day every month is whole
    stage["monthly_revenue"], stage["as_of"] = monthly, "2024-05-31"
    reading = stage_charts({"growth": {"growth_stage": stage}}, None)[1].reading
    assert (
        reading
        == "Returning customers brought 100% of net revenue in 2024-05, against 27% in 2024-03."
    )


@pytest.mark.parametrize(
    ("ratio", "said"),
    [
        (0.69, "But CLV:CAC is 0.69: a new customer costs more to win than they bring, so more "
               "acquisition spend at today's cost loses money; lower that cost, or raise what "
               "customers bring, before spending more on it."),
        (2.5, "CLV:CAC is 2.50, below the usual target of 3 for a healthy acquisition spend."),
        (3.4, None),
        (None, None),
    ],
)  # fmt: skip
def test_the_stage_reading_weighs_clv_to_cac(ratio, said):
    """The split follows the order rate; a CLV:CAC below 1 says more acquisition at today's
    cost loses money, which the reading must not leave out beside "win new customers"."""
    from valuecast.outputs.report.stage import stage_charts

    stage = {"stage": "growing", "retention_share": 0.3, "acquisition_share": 0.7,
             "clv_cac_ratio": ratio, "notes": []}  # fmt: skip
    reading = stage_charts({"growth": {"growth_stage": stage}}, None)[0].reading
    base = "At the 'growing' stage, put about 30% of the effort into keeping customers and 70% "
    assert reading.startswith(base)
    assert reading.endswith(said) if said else reading.endswith("into winning new ones.")


def test_backtest_rows_say_which_version_of_a_candidate_competed():
    # with --covariates a candidate competes with its covariates where they lower the holdout
    # RMSE, else without: plain MBG/NBD's lower MAE could not win, and the table says why
    from valuecast.outputs.report.backtest import _backtest_tables

    scores = {"mae_orders": 0.3, "aggregate_error_orders": 0.1, "spearman_orders": 0.3,
              "top_decile_revenue_share": 0.4}  # fmt: skip
    backtest = {
        "models": {
            name: dict(scores)
            for name in ("pnbd", "mbgnbd", "pnbd+covariates", "mbgnbd+covariates")
        },  # fmt: skip
        "best": "pnbd",
        "covariates": {"eligible": ["pnbd", "mbgnbd+covariates"]},
        "calibration_end": "2025-12-28",
        "holdout_days": 182,
    }
    (table, *_) = _backtest_tables({}, backtest)
    labels = [row[0] for row in table.rows]
    assert labels[0].endswith("(chosen)")
    assert labels[1].endswith("(not eligible: its covariates lowered the RMSE)")
    assert labels[2].endswith("(not eligible: covariates did not lower the RMSE)")
    assert "not eligible" not in labels[3]
    assert "the eligible model with the lowest mean absolute error" in table.reading
    plain = {k: v for k, v in backtest.items() if k != "covariates"}
    (table, *_) = _backtest_tables({}, plain)
    assert not any("eligible" in row[0] for row in table.rows)
    assert "the model with the lowest mean absolute error of orders per customer is chosen." in (
        table.reading
    )
    # seasonal variants in the backtest: the rule that keeps them out unless seasons show
    plain["models"]["pnbd+season"] = dict(scores, mae_orders=0.2999)
    (table, *_) = _backtest_tables({}, plain)
    assert table.reading.endswith(
        "is chosen, a model with seasons only where its seasons are beyond chance "
        "(likelihood-ratio test against the model without them, p < 0.05)."
    )
    # --model pnbd: no choice was made, the named model was scored alone
    named = {**plain, "models": {"pnbd": dict(scores)}, "named_model": "pnbd"}
    (table, *_) = _backtest_tables({}, named)
    assert [row[0] for row in table.rows][0].endswith("(named)")
    assert "the model named with --model pnbd is scored alone, no other candidate" in (
        table.reading
    )
    assert "lowest mean absolute error" not in table.reading


def test_tiers_without_predictions_are_titled_by_historic_clv(shop, html_tools):
    # without predictions the tiers rank historic CLV: the chart does not call them predicted
    summary, customers, tables, report = copy.deepcopy(shop.with_spend)
    page = html_tools.parse(render_report(summary, customers, tables, report))
    titles = " ".join(node.all_text() for node in page.find_all("h3"))
    assert "Predicted spend tiers" in titles
    for key in ("predicted_clv", "predicted_clv_p10", "predicted_clv_p90"):
        summary["totals"].pop(key, None)
    page = html_tools.parse(render_report(summary, customers, tables, report))
    titles = " ".join(node.all_text() for node in page.find_all("h3"))
    assert "Spend tiers (by historic CLV)" in titles and "Predicted spend tiers" not in titles


def test_the_footer_says_when_no_backtest_chose_the_model(shop, html_tools):
    summary, customers, tables, report = copy.deepcopy(shop.with_spend)
    html = render_report(summary, customers, tables, report)
    assert "from the buy-till-you-die model chosen on the backtest" in html
    summary["backtest"] = {"skipped": "the history is too short to hold out a period"}
    html = render_report(summary, customers, tables, report)
    assert "chosen on the backtest" not in html
    assert "used without a backtest (the history is too short to hold out a period)" in html
