"""What the browser tests of the report and the dashboard read from their Plotly charts, and a
finger's swipe on a phone; imported by bare name (see conftest.py).

Every check runs as ``page.evaluate`` of a function: the dashboard's CSP forbids evaluating
strings, which ``page.wait_for_function`` would do, so waiting is :func:`poll`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

PHONE = {"viewport": {"width": 375, "height": 800}, "has_touch": True, "is_mobile": True}
"""Playwright's page options of a phone: 375 px wide, a touch screen (a coarse pointer)."""

CLOUD_WORDS = ("share", "cloud", "chart studio")
"""What the title of a modebar button sending a chart to Plotly's cloud holds."""

CHART_TOOLS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => ({
    key: gd.id,
    cartesian: gd._fullLayout._has('cartesian'),
    dragmode: gd._fullLayout.dragmode,
    scrollZoom: gd._context.scrollZoom,
    showSendToCloud: gd._context.showSendToCloud,
    plotlyServerURL: gd._context.plotlyServerURL,
    buttons: Array.from(gd.querySelectorAll('.modebar-btn')).map(b => b.getAttribute('data-title')),
}))"""
"""Each chart's drag mode, config and modebar button titles."""

VIEW = """key => {
    const gd = document.getElementById(key);
    return {scroll: window.scrollY, x: gd._fullLayout.xaxis.range, y: gd._fullLayout.yaxis.range};
}"""
"""The page's scroll position and the axes' ranges of the chart ``key`` (its element id)."""

LEGEND = """key => {
    const gd = document.getElementById(key);
    const box = gd.querySelector('.legend .bg').getBoundingClientRect();
    const shown = Array.from(gd.querySelectorAll('.legend .traces')).filter(entry => {
        const r = entry.getBoundingClientRect();
        return r.height > 0 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
    });
    return {shown: shown.length, traces: gd.data.length, height: gd._fullLayout.height};
}"""
"""How many legend entries of the chart ``key`` lie inside the legend's box (the rest are
scrolled out of it), its traces and its height."""


def poll(read: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 10) -> Any:
    """``read()`` until ``done`` says its value is the awaited one, or ``seconds`` have passed:
    the last value read."""
    deadline = time.monotonic() + seconds
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = read()
    return value


def cloud_buttons(charts: list[dict]) -> list[str]:
    """The modebar buttons of ``charts`` (:data:`CHART_TOOLS`) that send a chart to a cloud."""
    return [
        title
        for chart in charts
        for title in chart["buttons"]
        if any(word in (title or "").lower() for word in CLOUD_WORDS)
    ]


def finger_swipe(page, selector: str, distance: float) -> None:
    """A finger put on the middle of ``selector`` (scrolled to the middle of the screen) and
    moved ``distance`` pixels up, as a phone's touch screen reports it."""
    page.locator(selector).evaluate("e => e.scrollIntoView({block: 'center'})")
    box = page.locator(selector).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    session = page.context.new_cdp_session(page)
    try:
        start = {"x": x, "y": y}
        session.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [start]})
        for step in range(1, 11):
            point = {"x": x, "y": y - distance * step / 10}
            session.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        session.detach()
