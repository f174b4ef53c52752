"""The dashboard in a real browser: Debian's chromium, headless, through Playwright.

The server is uvicorn in a thread on a free loopback port, on a copy of the test shop.  Every page
must load with no console error, no page error and no request leaving the server, with every
chart drawn; a customer is searched and opened, a segment downloaded, an export uploaded and the
new numbers seen.  Without /usr/bin/chromium the tests skip, unless VALUECAST_REQUIRE_BROWSER=1
(CI), where they fail.  Playwright never downloads a browser here.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import socket
import threading
import time
from types import SimpleNamespace

import pandas as pd
import pytest

from chart_checks import CHART_TOOLS, LEGEND, PHONE, VIEW, cloud_buttons, finger_swipe, poll

PAGES = ("/", "/customers", "/segments", "/channels", "/cohorts", "/products", "/model", "/data")


@pytest.fixture(scope="module")
def server(web_shop, tmp_path_factory):
    path = tmp_path_factory.mktemp("web-browser") / "shop.duckdb"
    shutil.copy(web_shop.workspace, path)
    with served(path) as running:
        yield running


@contextlib.contextmanager
def served(path):
    """The dashboard on the workspace ``path``, served by uvicorn in a thread."""
    import uvicorn

    from valuecast.web import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(path)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not running.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield SimpleNamespace(base=f"http://127.0.0.1:{port}", app=app)
    finally:
        running.should_exit = True
        thread.join(30)


class Visit:
    """A browser page on the dashboard recording console errors and requests elsewhere."""

    def __init__(self, browser, base: str, **options) -> None:
        """``options``: Playwright's page options (a desktop screen unless they say otherwise)."""
        self.base = base
        self.page = browser.new_page(
            **{"viewport": {"width": 1280, "height": 900}, "accept_downloads": True, **options}
        )
        self.problems: list[str] = []
        self.outside: list[str] = []
        self.page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
            ),
        )
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith((self.base + "/", "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, path: str) -> dict:
        self.page.goto(self.base + path)
        return self.charts()

    def charts(self) -> dict:
        # selectors, not a JavaScript predicate: the pages' CSP forbids evaluating strings
        self.page.wait_for_selector(
            "body[data-charts-ready], body[data-charts-error]", state="attached", timeout=60_000
        )
        return self.page.evaluate(
            """() => ({
                ready: document.body.getAttribute('data-charts-ready'),
                error: document.body.getAttribute('data-charts-error'),
                placeholders: document.querySelectorAll('[data-figure], [data-inline-figure]').length,
                plots: Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => ({
                    traces: gd.data ? gd.data.length : 0,
                    svg: gd.querySelectorAll('svg.main-svg').length,
                    width: gd.getBoundingClientRect().width,
                })),
            })"""
        )

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def visit(browser, server):
    opened = Visit(browser, server.base)
    yield opened
    opened.close()


def _drawn(state: dict, visit: Visit) -> None:
    assert visit.problems == []
    assert visit.outside == []
    assert state["error"] is None
    assert int(state["ready"]) == state["placeholders"] == len(state["plots"])
    for plot in state["plots"]:
        assert plot["traces"] > 0 and plot["svg"] > 0 and plot["width"] > 300, plot


def test_every_page_loads_without_errors(visit):
    counts = {}
    for path in PAGES:
        state = visit.open(path)
        _drawn(state, visit)
        counts[path] = len(state["plots"])
    assert counts["/"] >= 6 and counts["/cohorts"] >= 2 and counts["/model"] >= 2
    assert counts["/products"] >= 1 and counts["/channels"] >= 1


def test_the_check_sees_a_broken_page(visit):
    """The check must be able to fail: a script error is caught."""
    visit.page.route(
        "**/static/app.js",
        lambda route: route.fulfill(body="undefinedFunction();", content_type="text/javascript"),
    )
    visit.page.goto(visit.base + "/")
    visit.page.wait_for_load_state("load")
    assert any("undefinedFunction" in problem for problem in visit.problems)


def test_every_page_fits_a_phone_screen(visit, server):
    """At 375 px no page scrolls sideways: a wide table scrolls in its own box, a long e-mail
    address (a customer's page's title) or command breaks at the screen's edge."""
    from urllib.parse import quote

    dashboard = server.app.state.dashboard
    with dashboard.reader() as reader:
        longest = reader.rows(
            "SELECT customer_id FROM snapshot_customers WHERE snapshot_id = ? "
            "ORDER BY length(customer_id) DESC, customer_id LIMIT 1",
            [dashboard.snapshots[-1].snapshot_id],
        )[0][0]
    visit.page.set_viewport_size({"width": 375, "height": 800})
    for path in (*PAGES, "/customers/" + quote(longest, safe="")):
        state = visit.open(path)
        assert state["error"] is None and visit.problems == [], path
        width = visit.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)


def test_no_chart_offers_to_send_it_to_plotly_cloud(visit):
    """Everything stays on this machine: no modebar button sends a chart to Plotly's cloud, and
    Plotly knows no server to send one to; a mouse still zooms the charts."""
    for path in PAGES:
        _drawn(visit.open(path), visit)
        charts = visit.page.evaluate(CHART_TOOLS)
        assert cloud_buttons(charts) == [], path
        for chart in charts:
            assert "Download plot as a PNG" in chart["buttons"], (path, chart)
            assert chart["showSendToCloud"] is False and chart["plotlyServerURL"] == "", chart
            assert chart["dragmode"] == "zoom" or not chart["cartesian"], (path, chart)


def test_a_finger_swipe_over_a_chart_scrolls_the_page_on_a_phone(browser, server):
    """On a touch screen a swipe over a chart scrolls the page and leaves the chart as it was."""
    phone = Visit(browser, server.base, **PHONE)
    try:
        _drawn(phone.open("/cohorts"), phone)
        charts = phone.page.evaluate(CHART_TOOLS)
        assert len(charts) >= 2 and {chart["dragmode"] for chart in charts} == {False}
        assert {chart["scrollZoom"] for chart in charts} == {False}
        key = "chart-cohorts-retention"
        before = phone.page.evaluate(VIEW, key)
        finger_swipe(phone.page, f"#{key} .nsewdrag", 200)
        after = poll(
            lambda: phone.page.evaluate(VIEW, key), lambda v: v["scroll"] > before["scroll"]
        )
        assert after["scroll"] > before["scroll"]
        assert (after["x"], after["y"]) == (before["x"], before["y"])
        assert phone.problems == [] and phone.outside == []
    finally:
        phone.close()


def test_an_upload_form_shows_no_progress_before_it_is_sent(visit):
    """The progress box of each upload form stays hidden until its form is sent (the sending is
    test_upload_an_export_and_see_the_new_numbers)."""
    for path in ("/data", "/channels", "/products"):
        visit.open(path)
        boxes = visit.page.locator("form.upload .progress").all()
        assert boxes, path
        assert all(box.is_hidden() for box in boxes), path


def test_print_shows_every_cohort_and_every_column(visit):
    """Paper cannot scroll: in print the cohorts' legend shows every cohort (emulated print
    media and a real print's events alike) and scrolls again after, a chart stays on one page
    with its heading, a wide table wraps rather than cut off columns, and the navigation,
    snapshot picker, search and upload forms are left out."""
    page = visit.page
    key = "chart-cohorts-ltv"
    _drawn(visit.open("/cohorts"), visit)
    screen = page.evaluate(LEGEND, key)
    assert screen["shown"] < screen["traces"]
    page.emulate_media(media="print")
    printed = poll(lambda: page.evaluate(LEGEND, key), lambda v: v["shown"] == v["traces"])
    blocks = page.evaluate(
        "() => Array.from(document.querySelectorAll('.chart-block'))"
        ".map(e => getComputedStyle(e).breakInside)"
    )
    page.emulate_media(media="screen")
    after = poll(lambda: page.evaluate(LEGEND, key), lambda v: v["shown"] < v["traces"])
    page.evaluate(
        """key => window.addEventListener('beforeprint', () => {
            const legend = document.getElementById(key)._fullLayout.legend;
            document.body.setAttribute('data-printed-legend', legend._height <= legend._effHeight);
        })""",
        key,
    )
    assert page.pdf().startswith(b"%PDF")
    assert page.get_attribute("body", "data-printed-legend") == "true"
    assert printed["shown"] == printed["traces"] == screen["traces"] > 20
    assert printed["height"] > screen["height"] == after["height"]
    assert after["shown"] == screen["shown"]
    assert blocks and set(blocks) == {"avoid"}
    # an A4 page's width, where the customers table is wider than the page on the screen
    page.set_viewport_size({"width": 700, "height": 900})
    page.emulate_media(media="print")
    for path in ("/customers", "/segments", "/data", "/channels"):
        visit.open(path)
        printed = page.evaluate(
            """() => ({
                width: document.documentElement.scrollWidth,
                cut: Array.from(document.querySelectorAll('.table-block'))
                    .filter(e => e.scrollWidth > e.clientWidth).length,
                shown: Array.from(document.querySelectorAll(
                    'header nav, .snapshot-picker, form.search, form.upload'
                )).filter(e => e.getClientRects().length > 0).length,
            })"""
        )
        assert printed == {"width": 700, "cut": 0, "shown": 0}, path
    assert visit.problems == [] and visit.outside == []


def test_search_a_customer_and_open_their_page(visit, server):
    dashboard = server.app.state.dashboard
    first, latest = dashboard.snapshots[0], dashboard.snapshots[-1]
    with dashboard.reader() as reader:
        target = reader.rows(
            "SELECT customer_id FROM snapshot_customers WHERE snapshot_id = ? AND customer_id IN "
            "(SELECT customer_id FROM snapshot_customers WHERE snapshot_id = ?) "
            "AND historic_number_of_orders >= 2 ORDER BY customer_id LIMIT 1",
            [latest.snapshot_id, first.snapshot_id],
        )[0][0]
    visit.open("/customers")
    visit.page.fill("#q", target[:7].upper())
    visit.page.press("#q", "Enter")
    visit.page.wait_for_selector("body[data-customers-loaded]", state="attached")
    assert "q=" in visit.page.url  # the search is in the address, for back and reload
    links = visit.page.locator("#customers-table a.customer-link")
    names = links.all_text_contents()
    assert target in names and all(n.lower().startswith(target[:7].lower()) for n in names)
    visit.page.locator("#customers-table a.customer-link", has_text=target).first.click()
    visit.page.wait_for_selector("#customer-id")
    state = visit.charts()
    _drawn(state, visit)
    assert visit.page.inner_text("#customer-id") == target
    assert "interval" in visit.page.inner_text("#predictions")
    history = visit.page.locator("#history table tbody tr")
    assert history.count() == 2  # in both snapshots
    assert len(state["plots"]) == 1  # the customer's CLV across snapshots
    orders = visit.page.locator("#orders table tbody tr")
    assert orders.count() >= 2
    # sorting goes through the API too
    visit.page.goto(server.base + "/customers")
    visit.page.click("a.sort[data-sort='historic_clv']")
    visit.page.wait_for_selector("body[data-customers-loaded]", state="attached")
    assert "sort=historic_clv" in visit.page.url
    assert visit.problems == [] and visit.outside == []


def test_the_browser_shows_p_alive_as_the_server_does(visit, server):
    """The rows the browser draws after a sort read P(alive) as the server's pages do
    (``alive_pct_text``): under 50% never as 50% (a customer shown no next order), an exact
    half rounded to the even percent, under 1% in words.  The API's values are replaced on
    their way to the page, so each case is drawn whatever the test shop holds."""
    from valuecast.outputs.report.charts import alive_pct_text

    values = [0.4981, 0.4995, 0.125, 0.004, 0.7349, 0.5, 0.0]

    def replaced(route) -> None:
        response = route.fetch()
        body = response.json()
        for row, value in zip(body["rows"], values, strict=False):
            row["probability_alive"] = value
        route.fulfill(response=response, json=body)

    visit.open("/customers")
    visit.page.route("**/api/v1/customers?*", replaced)
    visit.page.click("a.sort[data-sort='probability_alive']")
    visit.page.wait_for_selector("body[data-customers-loaded]", state="attached")
    shown = visit.page.evaluate(
        """() => {
            const table = document.getElementById('customers-table');
            const at = Array.from(table.querySelectorAll('thead th')).findIndex(
                th => th.querySelector("a.sort[data-sort='probability_alive']"));
            return Array.from(table.querySelectorAll('tbody tr')).map(
                tr => tr.children[at].textContent.trim());
        }"""
    )
    assert shown[: len(values)] == [alive_pct_text(value) for value in values]
    assert shown[:3] == ["49.8%", "49.9%", "12%"]
    assert visit.problems == [] and visit.outside == []


def test_back_returns_to_the_customers_page_and_sort_before(visit, server):
    """Paging and sorting the customers table are steps the browser's Back button retraces."""

    def shown():
        return visit.page.locator("#customers-table a.customer-link").all_text_contents()

    def count_says(text):
        visit.page.wait_for_function(
            "t => document.getElementById('customer-count').textContent.includes(t)", arg=text
        )

    visit.open("/customers")
    first = shown()
    visit.page.click("nav.pager a[rel='next']")
    visit.page.wait_for_url("**page=2*")
    count_says("page 2 of")
    second = shown()
    assert second and second != first
    visit.page.click("a.sort[data-sort='historic_clv']")
    visit.page.wait_for_url("**sort=historic_clv*")
    visit.page.go_back()
    visit.page.wait_for_url("**sort=predicted_clv*page=2*", timeout=10_000)
    count_says("page 2 of")
    assert shown() == second
    visit.page.go_back()
    visit.page.wait_for_url(server.base + "/customers", timeout=10_000)
    count_says("page 1 of")
    assert shown() == first
    assert visit.problems == [] and visit.outside == []


def test_another_snapshot_keeps_the_search_and_sort_and_is_chosen_by_keyboard(visit, server):
    """The snapshot picker sent its form at every change: its first arrow key reloaded the page
    (a keyboard user could not step past the next snapshot), and the reload showed the other
    snapshot's customers unsearched and unsorted, as did the link back to the latest."""
    dashboard = server.app.state.dashboard
    first, latest = dashboard.snapshots[0], dashboard.snapshots[-1]
    visit.open("/customers")
    visit.page.fill("#q", "a")
    visit.page.press("#q", "Enter")
    visit.page.wait_for_url("**q=a*")
    visit.page.click("a.sort[data-sort='historic_clv']")
    visit.page.wait_for_url("**sort=historic_clv*")
    shown = visit.page.url
    visit.page.focus("#snapshot")
    visit.page.keyboard.press("ArrowDown")  # the next option: the earlier snapshot
    visit.page.wait_for_timeout(500)
    assert visit.page.url == shown  # not sent yet: the keyboard may step further
    assert visit.page.input_value("#snapshot") == str(first.snapshot_id)
    visit.page.keyboard.press("Enter")
    visit.page.wait_for_url(f"**snapshot={first.snapshot_id}*")
    visit.page.wait_for_selector("#show-latest")
    assert "q=a" in visit.page.url and "sort=historic_clv" in visit.page.url
    assert visit.page.input_value("#q") == "a"
    assert visit.page.get_attribute("th[aria-sort] a.sort", "data-sort") == "historic_clv"
    # the script's next sort is kept too, and by the link back to the latest snapshot
    visit.page.click("a.sort[data-sort='last_order_date']")
    visit.page.wait_for_url("**sort=last_order_date*")
    visit.page.click("#show-latest")
    visit.page.wait_for_url(f"**snapshot={latest.snapshot_id}*")
    assert "q=a" in visit.page.url and "sort=last_order_date" in visit.page.url
    assert visit.page.input_value("#snapshot") == str(latest.snapshot_id)
    assert visit.problems == [] and visit.outside == []


def test_the_customers_notes_stay_through_a_sort_and_a_search(browser, web_shop, tmp_path):
    """The script rewrites the count above the customers table on every sort, search and page:
    what the amounts are (their currency, historic CLV as revenue and predicted CLV as margin)
    stays said beside it."""
    from valuecast.jobs.analyze import AnalysisOptions, analyze_with_growth
    from valuecast.store import Workspace
    from valuecast.store.snapshots import save_snapshot, store_sort_orders

    path = tmp_path / "shop.duckdb"
    shutil.copy(web_shop.workspace, path)
    with Workspace(path) as ws:
        options = AnalysisOptions(margin=0.4)
        analysis, tables = analyze_with_growth(ws, options)
        info = save_snapshot(ws, analysis, tables, ws.latest_ingest_report(), options)
        store_sort_orders(ws, info.snapshot_id)
    said = ("Amounts in USD.", "predicted CLV and its p10/p90 are margin, at 40%")
    with served(path) as server:
        visit = Visit(browser, server.base)
        try:
            visit.page.goto(server.base + "/customers")
            assert all(text in visit.page.inner_text("main") for text in said)
            visit.page.click("a.sort[data-sort='historic_clv']")
            visit.page.wait_for_selector("body[data-customers-loaded]", state="attached")
            assert "sort=historic_clv" in visit.page.url
            assert all(text in visit.page.inner_text("main") for text in said)
            visit.page.fill("#q", "a")
            visit.page.press("#q", "Enter")
            visit.page.wait_for_url("**q=a*")
            assert "matching" in visit.page.inner_text("#customer-count")
            assert all(text in visit.page.inner_text("main") for text in said)
            assert visit.problems == [] and visit.outside == []
        finally:
            visit.close()


def test_download_a_segment_export(visit, server):
    visit.open("/segments")
    with visit.page.expect_download() as info:
        visit.page.click("tr[data-segment='tier-high'] a[data-format='mailchimp']")
    download = info.value
    assert download.suggested_filename == "tier-high-mailchimp.csv"
    got = pd.read_csv(download.path(), dtype=str, keep_default_na=False)
    assert list(got.columns[:3]) == ["Email Address", "First Name", "Last Name"]
    from fastapi.testclient import TestClient

    api = TestClient(server.app, base_url="http://127.0.0.1")
    expected = api.get("/api/v1/segments/tier-high/export?to=mailchimp").text
    pd.testing.assert_frame_equal(
        got, pd.read_csv(io.StringIO(expected), dtype=str, keep_default_na=False)
    )
    segments = {s["segment"]: s for s in api.get("/api/v1/segments").json()}
    assert 0 < len(got) <= segments["tier-high"]["consenting"]
    assert visit.problems == [] and visit.outside == []


def test_upload_an_export_and_see_the_new_numbers(visit, server, web_shop):
    """Last in this module: it adds a snapshot to the server's workspace."""
    before = server.app.state.dashboard.snapshot()
    visit.open("/")
    shown_before = visit.page.inner_text("[data-key='n_customers'] dd")
    assert shown_before == f"{before.n_customers:,}"
    visit.open("/data")
    visit.page.set_input_files("#export-upload-file", str(web_shop.second))
    visit.page.click("#export-upload button[type='submit']")
    visit.page.wait_for_selector("#export-upload .progress:not([hidden])")
    visit.page.wait_for_url("**/data?job=*", timeout=180_000)
    assert visit.page.get_attribute("#job-result", "data-job-state") == "done"
    assert "second_export.csv" in visit.page.inner_text("#job-result")
    assert "new" in visit.page.inner_text("#ingest-report")
    visit.page.click("#see-new-numbers")
    _drawn(visit.charts(), visit)
    after = server.app.state.dashboard.snapshot()
    assert after.snapshot_id != before.snapshot_id and after.n_customers != before.n_customers
    assert visit.page.inner_text("[data-key='n_customers'] dd") == f"{after.n_customers:,}"
    assert visit.problems == [] and visit.outside == []


def test_drop_the_kept_spend_on_the_channels_page(browser, web_shop, tmp_path):
    """After the shop's currency changed, the kept spend refuses its exports: the Channels page
    drops it (as `valuecast analyze --no-spend`), once its box is ticked, and shows the new
    analysis without CAC."""
    from valuecast.io.spend import read_spend
    from valuecast.store import Workspace
    from valuecast.store.spend import kept_spend, store_spend

    path = tmp_path / "shop.duckdb"
    shutil.copy(web_shop.workspace, path)
    with Workspace(path) as ws:
        store_spend(ws, read_spend(web_shop.spend), "spend.csv")
    with served(path) as server:
        visit = Visit(browser, server.base)
        try:
            _drawn(visit.open("/channels"), visit)
            assert "spend.csv" in visit.page.inner_text("#kept-spend")
            # unticked, the form is not sent (as an upload without its file)
            visit.page.click("#spend-drop button[type='submit']")
            assert visit.page.get_attribute("#spend-drop", "data-upload-state") is None
            assert server.app.state.dashboard.spend_name == "spend.csv"
            visit.page.check("#spend-drop-confirm")
            visit.page.click("#spend-drop button[type='submit']")
            visit.page.wait_for_url("**/channels?snapshot=*", timeout=180_000)
            _drawn(visit.charts(), visit)
            assert visit.page.query_selector("#spend-drop") is None
            assert visit.page.query_selector("#kept-spend") is None
            assert server.app.state.dashboard.spend_name is None
            assert visit.problems == [] and visit.outside == []
        finally:
            visit.close()
    with Workspace(path, read_only=True) as ws:
        assert kept_spend(ws) is None


def test_keep_and_forget_non_product_names_on_the_products_page(browser, web_shop, tmp_path):
    """The Products page keeps the names typed in its box (one a line) as no product, as
    `--not-product` does, re-running the analysis; once its box is ticked it forgets them."""
    from valuecast.store import Workspace
    from valuecast.store.not_products import kept_not_products

    path = tmp_path / "shop.duckdb"
    shutil.copy(web_shop.workspace, path)
    with served(path) as server:
        visit = Visit(browser, server.base)
        try:
            _drawn(visit.open("/products"), visit)
            assert visit.page.query_selector("#kept-not-products") is None
            visit.page.fill("#not-products-set-names", "Gift Box\n  Sample Sachet \n")
            visit.page.click("#not-products-set button[type='submit']")
            visit.page.wait_for_url("**/products?snapshot=*", timeout=180_000)
            _drawn(visit.charts(), visit)
            kept = visit.page.inner_text("#kept-not-products")
            assert "Gift Box" in kept and "Sample Sachet" in kept
            assert server.app.state.dashboard.not_products == ("Gift Box", "Sample Sachet")
            visit.page.check("#not-products-forget-confirm")
            visit.page.click("#not-products-forget button[type='submit']")
            # the page the finished job goes to has nothing kept to forget
            visit.page.wait_for_selector("#kept-not-products", state="detached", timeout=180_000)
            assert visit.problems == [] and visit.outside == []
        finally:
            visit.close()
    with Workspace(path, read_only=True) as ws:
        assert kept_not_products(ws) == ()
