"""report.html in a real browser: Debian's chromium, headless, through Playwright.

Every chart must be drawn (Plotly's graph div with its traces and an SVG main layer), with no
console error, no page error and no request leaving the file.  Without /usr/bin/chromium the
tests skip, unless VALUECAST_REQUIRE_BROWSER=1 (set by .ci/run), where they fail: CI must run
them.  Playwright never downloads a browser here: it launches /usr/bin/chromium.
"""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path

import numpy as np
import pytest

from chart_checks import CHART_TOOLS, LEGEND, PHONE, VIEW, cloud_buttons, finger_swipe, poll
from valuecast.outputs.report import render_report


def open_report(browser, path: Path) -> dict:
    """Open ``path`` and wait for every chart; what the page logged, requested and drew."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    outside: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def request(route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", request)
    try:
        page.goto(path.resolve().as_uri())
        page.wait_for_function(
            "document.body.hasAttribute('data-charts-ready')"
            " || document.body.hasAttribute('data-charts-error')",
            timeout=60_000,
        )
        state = page.evaluate(
            """() => {
                const charts = Array.from(document.querySelectorAll('[data-figure]'));
                return {
                    ready: document.body.getAttribute('data-charts-ready'),
                    error: document.body.getAttribute('data-charts-error'),
                    placeholders: charts.length,
                    plots: Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => ({
                        key: gd.getAttribute('data-figure'),
                        traces: gd.data ? gd.data.length : 0,
                        visibleTraces: gd._fullData.filter(t => t.visible === true).length,
                        drawnTraces: gd.querySelectorAll('g.trace, g.hm, g.slice').length,
                        // what shows the data: bars, line paths, markers, heat map images, slices
                        marks: Array.from(gd.querySelectorAll(
                            'g.point path, path.js-line, g.points path, g.hm image, g.slice path'
                        )).filter(mark => {
                            const box = mark.getBBox();
                            return box.width > 0 || box.height > 0;
                        }).length,
                        mainSvg: gd.querySelectorAll('svg.main-svg').length,
                        width: gd.getBoundingClientRect().width,
                        height: gd.getBoundingClientRect().height,
                    })),
                };
            }"""
        )
    finally:
        page.close()
    state["problems"], state["outside"] = problems, outside
    return state


def _check_every_chart_drawn(state: dict) -> None:
    assert state["problems"] == []
    assert state["outside"] == []
    assert state["error"] is None
    assert int(state["ready"]) == state["placeholders"] == len(state["plots"]) > 0
    for plot in state["plots"]:
        assert plot["traces"] > 0, plot
        assert plot["drawnTraces"] >= plot["visibleTraces"] > 0, plot
        assert plot["marks"] > 0, plot
        assert plot["mainSvg"] > 0, plot
        assert plot["width"] > 300 and plot["height"] > 150, plot


def test_every_chart_is_drawn_without_errors_or_requests(browser, shop):
    state = open_report(browser, shop.report)
    _check_every_chart_drawn(state)
    keys = {plot["key"] for plot in state["plots"]}
    assert {"alive-heatmap", "cohorts-retention", "channels-cac", "stage-effort",
            "backtest-weekly", "backtest-frequency"} <= keys  # fmt: skip
    assert len(keys) == 15


def test_a_report_with_sections_without_data_opens_cleanly(browser, shop, tmp_path):
    summary, customers, _, _ = copy.deepcopy(shop.without_spend)
    summary.pop("growth")
    summary["backtest"] = {"skipped": "not enough history"}
    customers = customers.assign(probability_alive=np.nan, predicted_clv=np.nan)
    path = tmp_path / "sparse.html"
    path.write_text(render_report(summary, customers, {}, None), encoding="utf-8")
    state = open_report(browser, path)
    _check_every_chart_drawn(state)
    assert {plot["key"] for plot in state["plots"]} == {
        "headline-clv", "concentration-lorenz", "segments-rfm", "segments-tiers"
    }  # fmt: skip


def test_the_check_sees_a_broken_page(browser, tmp_path):
    """The browser check must be able to fail: a script error and a request for a remote file."""
    path = tmp_path / "broken.html"
    path.write_text(
        "<!DOCTYPE html><html><body><img src='https://example.com/x.png'>"
        "<script>undefinedFunction();</script>"
        "<script>document.body.setAttribute('data-charts-ready', '0')</script></body></html>"
    )
    state = open_report(browser, path)
    assert any("undefinedFunction" in problem for problem in state["problems"])
    assert state["outside"] == ["https://example.com/x.png"]
    with pytest.raises(AssertionError):
        _check_every_chart_drawn(state)


@contextlib.contextmanager
def opened(browser, path: Path, **options):
    """``path`` in a new page (Playwright's page ``options``; a desktop screen unless they say
    otherwise), once every chart is drawn."""
    page = browser.new_page(**{"viewport": {"width": 1200, "height": 900}, **options})
    try:
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("body[data-charts-ready]", state="attached", timeout=60_000)
        yield page
    finally:
        page.close()


def test_no_chart_offers_to_send_it_to_plotly_cloud(browser, shop):
    """The page works offline and keeps the shop's figures inside it: no modebar button sends a
    chart to Plotly's cloud, and Plotly knows no server to send one to."""
    with opened(browser, shop.report) as page:
        charts = page.evaluate(CHART_TOOLS)
    assert len(charts) == 15
    assert cloud_buttons(charts) == []
    for chart in charts:
        assert "Download plot as a PNG" in chart["buttons"], chart
        assert chart["showSendToCloud"] is False and chart["plotlyServerURL"] == "", chart


def test_a_mouse_zooms_the_charts(browser, shop):
    """On a desktop (a fine pointer) a drag over a chart still zooms it."""
    with opened(browser, shop.report) as page:
        charts = page.evaluate(CHART_TOOLS)
    cartesian = [chart for chart in charts if chart["cartesian"]]
    assert cartesian and {chart["dragmode"] for chart in cartesian} == {"zoom"}


@pytest.mark.parametrize("key", ["chart-cohorts-retention", "chart-segments-rfm"])
def test_a_finger_swipe_over_a_chart_scrolls_the_report_on_a_phone(browser, shop, key):
    """On a touch screen a swipe over a chart scrolls the page and leaves the chart as it was."""
    with opened(browser, shop.report, **PHONE) as page:
        assert {chart["dragmode"] for chart in page.evaluate(CHART_TOOLS)} == {False}
        before = page.evaluate(VIEW, key)
        finger_swipe(page, f"#{key} .nsewdrag", 200)
        after = poll(lambda: page.evaluate(VIEW, key), lambda v: v["scroll"] > before["scroll"])
    assert after["scroll"] > before["scroll"]
    assert (after["x"], after["y"]) == (before["x"], before["y"])


def test_the_report_fits_a_phone_screen(browser, shop):
    """At 375 px the report does not scroll sideways: a long command in a reading (the drivers'
    `--covariates NAME,NAME,NAME`) breaks at the screen's edge; a wide table scrolls in its box."""
    with opened(browser, shop.report, **PHONE) as page:
        assert "--covariates acquisition_channel," in page.inner_text("#drivers")
        width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375


def test_print_keeps_each_chart_with_its_heading_and_every_legend_entry(browser, shop):
    """Paper cannot scroll: the cohorts' legend, which scrolls on the screen, shows every cohort
    in print (emulated print media and the print events alike) and scrolls again after; a chart
    or table stays on one page with its heading and reading, and a title with what follows it."""
    key = "chart-cohorts-ltv"
    with opened(browser, shop.report) as page:
        screen = page.evaluate(LEGEND, key)
        assert screen["shown"] < screen["traces"]
        page.emulate_media(media="print")
        printed = poll(lambda: page.evaluate(LEGEND, key), lambda v: v["shown"] == v["traces"])
        breaks = page.evaluate(
            """() => ({
                blocks: Array.from(document.querySelectorAll('.chart-block, .table-block'))
                    .map(e => getComputedStyle(e).breakInside),
                titles: Array.from(document.querySelectorAll('main h2, main h3'))
                    .map(e => getComputedStyle(e).breakAfter),
            })"""
        )
        page.emulate_media(media="screen")
        after = poll(lambda: page.evaluate(LEGEND, key), lambda v: v["shown"] < v["traces"])
        # the print events of a real print: what the legend shows when the page is printed
        page.evaluate(
            """key => window.addEventListener('beforeprint', () => {
                const gd = document.getElementById(key);
                const legend = gd._fullLayout.legend;
                window.printedLegend = legend._height <= legend._effHeight;
            })""",
            key,
        )
        pdf = page.pdf()
        printed_by_the_events = page.evaluate("window.printedLegend")
    assert printed["shown"] == printed["traces"] == screen["traces"] > 20
    assert printed["height"] > screen["height"] == after["height"]
    assert after["shown"] == screen["shown"]
    assert printed_by_the_events is True
    assert pdf.startswith(b"%PDF")
    assert breaks["blocks"] and set(breaks["blocks"]) == {"avoid"}
    assert breaks["titles"] and set(breaks["titles"]) == {"avoid"}
