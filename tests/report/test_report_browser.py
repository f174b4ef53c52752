"""report.html in a real browser: Debian's chromium, headless, through Playwright.

Every chart must be drawn (Plotly's graph div with its traces and an SVG main layer), with no
console error, no page error and no request leaving the file.  Without /usr/bin/chromium the
tests skip, unless VALUECAST_REQUIRE_BROWSER=1 (set by .ci/run), where they fail: CI must run
them.  Playwright never downloads a browser here: it launches /usr/bin/chromium.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

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
