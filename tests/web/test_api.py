"""The JSON API and the pages against what the workspace's snapshots hold (FastAPI's test client)."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest

from valuecast.analysis.compare import SNAPSHOT_GROUPS
from valuecast.io import read_exports
from valuecast.jobs.analyze import AnalysisOptions, analyze_with_growth
from valuecast.outputs.audiences import (
    FORMATS,
    SEGMENTS,
    build_audience,
    segment_mask,
    write_audience,
)
from valuecast.outputs.report.render import build_sections
from valuecast.store import Workspace
from valuecast.store.snapshots import (
    list_snapshots,
    load_customers,
    load_summary,
    load_tables,
    save_snapshot,
)


def _analysed(path, orders, column_map: str):
    """The analysis of a new workspace ``path`` holding the orders file ``orders`` read with
    ``--map column_map``, stored as its snapshot."""
    with Workspace(path) as ws:
        ws.ingest(read_exports([orders], column_map=column_map))
        analysis, tables = analyze_with_growth(ws, AnalysisOptions())
        save_snapshot(ws, analysis, tables, {})
    return analysis


@pytest.fixture(scope="module")
def stored(web_shop):
    """What the snapshots hold, read directly (the truth the API is checked against)."""
    with Workspace(web_shop.workspace, read_only=True) as ws:
        infos = list_snapshots(ws)
        latest = infos[-1].snapshot_id
        # as `valuecast export` reads them: a customers export's, else the orders' addresses
        contacts = ws.contacts()
        orders = ws.orders().to_pandas()
        return {
            "infos": infos,
            "summary": load_summary(ws, latest),
            "customers": load_customers(ws, latest),
            "first_customers": load_customers(ws, infos[0].snapshot_id),
            "tables": load_tables(ws, latest),
            "contacts": contacts,
            "orders": orders,
        }


def test_snapshots_lists_both_analyses_oldest_first(client, stored):
    body = client.get("/api/v1/snapshots").json()
    assert [s["as_of"] for s in body] == ["2026-03-31", "2026-06-30"]
    assert [s["n_customers"] for s in body] == [s.n_customers for s in stored["infos"]]
    assert body[0]["n_customers"] < body[1]["n_customers"]
    # the currency the amounts are in, per snapshot
    assert [s["currency"] for s in body] == ["USD", "USD"] == [s.currency for s in stored["infos"]]


def test_overview_gives_the_summary_figures(client, stored):
    body = client.get("/api/v1/overview").json()
    summary = stored["summary"]
    assert body["snapshot"]["as_of"] == summary["as_of"] == "2026-06-30"
    headline = {item["key"]: item["value"] for item in body["headline"]}
    assert headline["n_customers"] == summary["n_customers"] == len(stored["customers"])
    assert headline["historic_clv"] == pytest.approx(summary["totals"]["historic_clv"])
    assert headline["predicted_clv"] == pytest.approx(summary["totals"]["predicted_clv"])
    assert body["rfm_groups"] == summary["rfm_groups"]
    assert body["spend_tiers"] == summary["spend_tiers"]
    assert body["growth_stage"]["stage"] == summary["growth"]["growth_stage"]["stage"]
    # the concentration reading is the report's, from the same customers
    assert "top 20% of customers hold" in body["readings"]["concentration-lorenz"]


def test_an_older_snapshot_is_served_when_asked(client, stored):
    first = stored["infos"][0]
    body = client.get(f"/api/v1/overview?snapshot={first.snapshot_id}").json()
    assert body["snapshot"]["as_of"] == "2026-03-31"
    headline = {item["key"]: item["value"] for item in body["headline"]}
    assert headline["n_customers"] == len(stored["first_customers"])
    assert client.get("/api/v1/overview?snapshot=999").status_code == 404
    assert client.get("/api/v1/overview?snapshot=0").status_code == 422


def test_a_snapshot_is_picked_by_its_date_as_compare_picks_it(client, stored):
    """A merchant names the quarter's end; the snapshot is dated by its last order."""
    first, latest = stored["infos"][0], stored["infos"][-1]
    body = client.get("/api/v1/overview?snapshot=2026-04-30").json()
    assert body["snapshot"]["snapshot_id"] == first.snapshot_id
    assert client.get("/api/v1/customers?snapshot=2026-06-30").json()["snapshot_id"] == (
        latest.snapshot_id
    )
    page = client.get("/customers?snapshot=2026-03-31")
    assert page.status_code == 200
    assert f'data-snapshot="{first.snapshot_id}"' in page.text
    # a date no snapshot reaches, on a page and in the API: a 404 naming the snapshots there are
    for path in ("/?snapshot=2025-12-31", "/api/v1/segments?snapshot=2025-12-31"):
        missing = client.get(path)
        assert missing.status_code == 404
        assert "no snapshot as of 2025-12-31: the workspace has" in missing.text
        assert "2026-03-31" in missing.text
    assert "the workspace has" in client.get("/model?snapshot=june").text


def test_charts_are_the_report_figures(client, stored):
    _, sections = build_sections(
        stored["summary"], stored["customers"], stored["tables"], {"orders": 1}
    )
    report_keys = {
        chart.key
        for section in sections
        if section.key in ("headline", "concentration", "alive", "segments", "stage")
        for chart in section.charts
        if chart.figure is not None
    }
    body = client.get("/api/v1/charts/overview").json()
    assert set(body["figures"]) == report_keys
    lorenz = body["figures"]["concentration-lorenz"]["data"][0]
    assert lorenz["y"][0] == 0 and lorenz["y"][-1] == pytest.approx(100)
    for page in ("cohorts", "channels", "model", "products"):
        figures = client.get(f"/api/v1/charts/{page}").json()["figures"]
        assert figures, page
        assert all(figure["data"] for figure in figures.values())
    assert client.get("/api/v1/charts/nothing").status_code == 422


def test_customers_are_paged_and_sorted_in_the_workspace(client, stored):
    customers = stored["customers"]
    body = client.get("/api/v1/customers?sort=historic_clv&order=desc&per_page=25&page=2").json()
    assert body["total"] == len(customers)
    assert body["pages"] == -(-len(customers) // 25)
    expected = customers.sort_values(["historic_clv", "customer_id"], ascending=[False, True]).iloc[
        25:50
    ]
    assert [row["customer_id"] for row in body["rows"]] == expected["customer_id"].tolist()
    ascending = client.get("/api/v1/customers?sort=probability_alive&order=asc&per_page=10").json()
    values = [row["probability_alive"] for row in ascending["rows"]]
    assert values == sorted(values)
    assert values[0] == pytest.approx(customers["probability_alive"].min())
    last = client.get(f"/api/v1/customers?per_page=50&page={body['pages'] * 2}").json()
    assert last["rows"] == []


def test_customers_search_by_email_or_id_prefix(client, stored):
    customers = stored["customers"]
    target = customers.sort_values("customer_id").iloc[len(customers) // 2]["customer_id"]
    prefix = target[:5].upper()  # any case
    body = client.get("/api/v1/customers", params={"q": prefix, "per_page": 500}).json()
    expected = customers["customer_id"].str.lower().str.startswith(prefix.lower())
    assert body["total"] == int(expected.sum()) >= 1
    assert target in {row["customer_id"] for row in body["rows"]}
    nothing = client.get("/api/v1/customers", params={"q": "no-such-customer'; DROP TABLE x"})
    assert nothing.status_code == 200 and nothing.json()["total"] == 0


def test_search_finds_a_customer_by_the_email_of_the_customers_export(workspace_copy):
    """An id whose contact e-mail differs is found by that e-mail (customers export), and by
    the contact's name."""
    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    with Workspace(workspace_copy) as ws:
        some = ws.con.con.execute(
            "SELECT min(customer_id) FROM snapshot_customers WHERE snapshot_id = "
            "(SELECT max(snapshot_id) FROM snapshots)"
        ).fetchone()[0]
        ws.con.con.execute(
            "INSERT INTO customers (customer_id, email, first_name, last_name) VALUES (?, ?, ?, ?)",
            [some, "zz.unique.contact@shop.test", "José", "Zúñiga-Ørsted"],
        )
    app = create_app(workspace_copy, warm=False)
    try:
        client = TestClient(app, base_url="http://127.0.0.1")
        body = client.get("/api/v1/customers", params={"q": "ZZ.unique"}).json()
        assert [row["customer_id"] for row in body["rows"]] == [some]
        assert body["rows"][0]["email"] == "zz.unique.contact@shop.test"
        by_id = client.get("/api/v1/customers", params={"q": some}).json()
        assert some in [row["customer_id"] for row in by_id["rows"]]
        # by the contact's name, as a merchant types it: first and last, or the last alone
        for name in ("josé zúñ", "JOSÉ ZÚÑIGA-ØRSTED", "zúñiga"):
            found = client.get("/api/v1/customers", params={"q": name}).json()
            assert [row["customer_id"] for row in found["rows"]] == [some], name
        # a Turkish name as a Turkish merchant types it, dotted or dotless, either case
        ws_path = workspace_copy
        app.state.dashboard.close()
        with Workspace(ws_path) as ws:
            ws.con.con.execute(
                "UPDATE customers SET first_name = 'İsmail', last_name = 'Işık' "
                "WHERE customer_id = ?",
                [some],
            )
        app = create_app(ws_path, warm=False)
        client = TestClient(app, base_url="http://127.0.0.1")
        for name in ("IŞIK", "ışık", "işık", "Işık", "İsmail", "ismail ı"):
            found = client.get("/api/v1/customers", params={"q": name}).json()
            assert [row["customer_id"] for row in found["rows"]] == [some], name
    finally:
        app.state.dashboard.close()


def test_a_customer_pages_history_shows_p_alive_as_its_headline_does(client, stored):
    """One customer page, one way of writing a probability: the headline's "84%" is not "0.84"
    in the table across snapshots."""
    import re

    cid = stored["customers"]["customer_id"].iloc[0]
    page = client.get(f"/customers/{cid}").text
    headline = re.search(r"<dt>P\(alive\)</dt><dd>([^<]*)</dd>", page).group(1)
    table = page.split('id="customer-history"')[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], flags=re.S)
    cells = [re.findall(r"<td>([^<]*)</td>", row) for row in rows]
    assert len(cells) == 2  # the shop's two snapshots
    assert all(re.fullmatch(r"\d+%|-", row[-1]) for row in cells), cells
    assert headline in [row[-1] for row in cells]


def test_search_finds_a_phone_customer_by_the_number_as_dialled(tmp_path):
    """A customer identified by phone (``phone:+14155550102``) is found by the number as a
    merchant types it; a short run of digits is no phone number."""
    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    orders = tmp_path / "orders.csv"
    rows = [f"c{i}@x.com,,2025-0{1 + i % 6}-1{i % 9},{20 + i}\n" for i in range(30)]
    rows += [",+1 (415) 555-0102,2025-02-03,30\n", ",+1 415 555 0102,2025-04-03,35\n"]
    orders.write_text("customer,phone,date,amount\n" + "".join(rows))
    path = tmp_path / "w.duckdb"
    mapping = "customer_id=customer,phone=phone,ordered_at=date,revenue=amount"
    _analysed(path, orders, mapping)
    app = create_app(path, warm=False)
    try:
        client = TestClient(app, base_url="http://127.0.0.1")

        def found(query: str) -> list[str]:
            body = client.get("/api/v1/customers", params={"q": query}).json()
            return [row["customer_id"] for row in body["rows"]]

        for query in ("(415) 555-0102", "555 0102", "+14155550102", "phone:+1415", "0102"):
            assert found(query) == ["phone:+14155550102"], query
        assert found("555") == []  # three digits: no phone number
    finally:
        app.state.dashboard.close()


def test_a_customer_page_says_which_of_the_snapshots_orders_a_later_export_withdrew(
    web_shop, workspace_copy, tmp_path
):
    """Q3's export refunds a Q1 order in full: the workspace drops it, and the Q1 snapshot's
    page of that customer counted it ("orders 3") beside "2 orders in the workspace"."""
    from urllib.parse import quote

    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    with Workspace(workspace_copy, read_only=True) as ws:
        first = list_snapshots(ws)[0]
        customer, counted, number = ws.con.con.execute(
            "SELECT s.customer_id, s.historic_number_of_orders, min(o.order_number) "
            "FROM snapshot_customers s JOIN orders o USING (customer_id) "
            "WHERE s.snapshot_id = ? AND s.historic_number_of_orders >= 2 AND o.order_date <= ? "
            "GROUP BY ALL ORDER BY s.customer_id LIMIT 1",
            [first.snapshot_id, first.as_of],
        ).fetchone()
    export = pd.read_csv(web_shop.export, dtype=str, keep_default_na=False)
    refund = export[export["Name"] == number].copy()
    head = refund["Financial Status"] != ""
    refund.loc[head, "Financial Status"] = "refunded"
    refund.loc[head, "Refunded Amount"] = refund.loc[head, "Total"]
    refund.to_csv(tmp_path / "refunds.csv", index=False)
    with Workspace(workspace_copy) as ws:
        assert ws.ingest(read_exports([tmp_path / "refunds.csv"])).withdrawn_orders
    app = create_app(workspace_copy, warm=False)
    try:
        client = TestClient(app, base_url="http://127.0.0.1")
        path = f"/customers/{quote(customer, safe='')}?snapshot={first.snapshot_id}"
        body = client.get("/api/v1" + path).json()
        assert body["customer"]["historic_number_of_orders"] == counted
        assert body["orders_by_as_of"] == counted - 1
        said = " ".join(client.get(path).text.split())
        assert (
            f"The snapshot as of {first.as_of} counted {counted:,} orders by that date; 1 of "
            "them is no longer in the workspace: cancelled or refunded in full by a later export"
        ) in said
        # a customer whose orders are all there: nothing to say
        rows = client.get(f"/api/v1/customers?snapshot={first.snapshot_id}").json()["rows"]
        other = next(row["customer_id"] for row in rows if row["customer_id"] != customer)
        page = client.get(f"/customers/{quote(other, safe='')}?snapshot={first.snapshot_id}")
        assert page.status_code == 200 and 'id="withdrawn-orders"' not in page.text
    finally:
        app.state.dashboard.close()


def test_prospects_are_counted_and_downloaded_from_the_customers_export(workspace_copy):
    """Customers a customers export names without an order: the segments page counts them and
    its download exports them (the snapshot's customers all have orders)."""
    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    with Workspace(workspace_copy) as ws:
        ws.con.con.execute(
            "INSERT INTO customers (customer_id, email, accepts_marketing) VALUES "
            "('pia@shop.test', 'pia@shop.test', true), ('otto@shop.test', 'otto@shop.test', false)"
        )
    app = create_app(workspace_copy, warm=False)
    try:
        client = TestClient(app, base_url="http://127.0.0.1")
        body = {s["segment"]: s for s in client.get("/api/v1/segments").json()}
        assert (body["prospects"]["customers"], body["prospects"]["consenting"]) == (2, 1)
        page = client.get("/segments").text
        assert "prospects" in page
        download = client.get("/api/v1/segments/prospects/export?to=klaviyo").text
        assert "pia@shop.test" in download and "otto@shop.test" not in download
    finally:
        app.state.dashboard.close()


def test_customer_detail(client, stored):
    customers = stored["customers"]
    repeat = customers[customers["historic_number_of_orders"] >= 3].iloc[0]
    cid = repeat["customer_id"]
    body = client.get(f"/api/v1/customers/{cid}").json()
    assert body["customer"]["customer_id"] == cid
    assert body["customer"]["predicted_clv"] == pytest.approx(repeat["predicted_clv"])
    assert body["customer"]["predicted_clv_p10"] <= body["customer"]["predicted_clv"]
    assert body["customer"]["predicted_clv"] <= body["customer"]["predicted_clv_p90"]
    orders = stored["orders"]
    assert body["orders_total"] == int((orders["customer_id"] == cid).sum())
    assert len(body["orders"]) == body["orders_total"]
    assert {o["order_id"] for o in body["orders"]} == set(
        orders.loc[orders.customer_id == cid, "order_id"]
    )
    assert [h["as_of"] for h in body["history"]][-1] == "2026-06-30"
    nexts = stored["tables"]["next_products.csv"]
    assert [p["product"] for p in body["next_products"]] == nexts.loc[
        nexts.customer_id == cid, "product"
    ].tolist()
    reminders = stored["tables"]["reminders.csv"]
    # overdue by at most 14 days and a cycle, as `valuecast reminders` keeps them
    grace = reminders.cycle_days.clip(upper=14)
    due = reminders[reminders.days_until_due >= -grace]
    assert len(body["reminders"]) == int((due.customer_id == cid).sum())
    # each reminder says how long its items last, which sets its due date (not the cycle)
    assert body["reminders"]
    for reminder in body["reminders"]:
        lasted = pd.Timestamp(reminder["due_date"]) - pd.Timestamp(reminder["last_purchase_date"])
        assert lasted.days == reminder["lasts_days"]
    assert client.get("/api/v1/customers/nobody@nowhere.test").status_code == 404


def test_customer_in_both_snapshots_has_its_rfm_history(client, stored):
    both = set(stored["first_customers"]["customer_id"]) & set(stored["customers"]["customer_id"])
    cid = sorted(both)[0]
    history = client.get(f"/api/v1/customers/{cid}").json()["history"]
    assert [h["as_of"] for h in history] == ["2026-03-31", "2026-06-30"]
    first = stored["first_customers"].set_index("customer_id").loc[cid]
    assert history[0]["rfm_group"] == first["rfm_group"]


def test_segments_count_the_export_rules(client, stored):
    body = {s["segment"]: s for s in client.get("/api/v1/segments").json()}
    assert list(body) == list(SEGMENTS)
    customers = stored["customers"]
    consent = customers["accepts_marketing"].astype("boolean").fillna(False).to_numpy(bool)
    for name in ("champions", "at-risk-high-value", "tier-high", "due-for-reorder"):
        mask = segment_mask(customers, name, "2026-06-30").to_numpy(bool)
        assert body[name]["customers"] == int(mask.sum())
        assert body[name]["consenting"] == int((mask & consent).sum())
        assert body[name]["historic_clv"] == pytest.approx(customers["historic_clv"][mask].sum())
    assert body["tier-high"]["customers"] > 0


def test_segment_counts_of_the_compact_frame_are_the_pipeline_frames(stored):
    """``analyze`` counts the segments on categoricals and datetime64 columns read from Arrow;
    the counts are those of the pipeline's frame (text and ``date`` objects)."""
    from valuecast.jobs.analyze import customers_frame
    from valuecast.store.snapshots import customers_arrow
    from valuecast.web.views import SEGMENT_COLUMNS, segment_counts, segment_frame

    table = customers_arrow(stored["customers"][list(SEGMENT_COLUMNS)])
    compact = segment_frame(table)
    assert isinstance(compact["rfm_group"].dtype, pd.CategoricalDtype)
    assert compact["expected_date_of_next_order"].dtype.kind == "M"
    # the frame `analyze` makes, freeing the Arrow table's columns as it goes, is the same
    consumed = customers_arrow(stored["customers"][list(SEGMENT_COLUMNS)])
    pd.testing.assert_frame_equal(segment_frame(consumed, self_destruct=True), compact)
    as_of = stored["summary"]["as_of"]
    counts = segment_counts(compact, as_of)
    assert counts == segment_counts(customers_frame(table), as_of)
    assert {s["segment"] for s in counts if s["customers"]} >= {"due-for-reorder", "tier-high"}


@pytest.mark.parametrize("to", FORMATS)
def test_segment_export_is_the_cli_audience_file(client, stored, to, tmp_path):
    response = client.get(f"/api/v1/segments/tier-high/export?to={to}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="tier-high-{to}.csv"' in response.headers["content-disposition"]
    got = pd.read_csv(io.StringIO(response.text), dtype=str, keep_default_na=False)
    expected = build_audience(
        stored["customers"], stored["contacts"], to, segment="tier-high", as_of="2026-06-30"
    ).frame
    write_audience(expected, tmp_path / "cli.csv")  # as `valuecast export` writes it
    expected = pd.read_csv(tmp_path / "cli.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(got, expected)
    assert len(got) > 0


def test_segment_export_with_everyone_has_more_rows(client):
    some = client.get("/api/v1/segments/tier-medium/export?to=klaviyo").text.count("\n")
    everyone = client.get(
        "/api/v1/segments/tier-medium/export?to=klaviyo&include_non_consenting=true"
    ).text.count("\n")
    assert everyone > some
    assert client.get("/api/v1/segments/nope/export?to=klaviyo").status_code == 422
    assert client.get("/api/v1/segments/champions/export?to=excel").status_code == 422


def test_growth_tables(client, stored):
    channels = client.get("/api/v1/channels").json()["tables"]["channels"]
    expected = stored["tables"]["channels.csv"]
    assert [c["acquisition_channel"] for c in channels] == expected["acquisition_channel"].tolist()
    cohorts = client.get("/api/v1/cohorts").json()["tables"]
    assert len(cohorts["cohorts"]) == len(stored["tables"]["cohorts.csv"])
    products = client.get("/api/v1/products").json()["tables"]
    affinity = stored["tables"]["affinity.csv"]
    assert len(products["affinity"]) == min(500, len(affinity))
    model = client.get("/api/v1/model").json()
    assert model["model"]["name"] == stored["summary"]["model"]["name"]
    assert model["ingest_report"]["orders"] > 0
    ingests = client.get("/api/v1/ingests").json()
    assert ingests[0]["report"]["orders"] == model["ingest_report"]["orders"]


def test_a_customer_page_without_predictions_predicts_no_next_order(tmp_path):
    """Withheld predictions (no repeat customer) are "-" on the page, not a forecast that the
    customer will not order in the horizon."""
    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer,date,amount\n"
        + "".join(f"c{i}@x.com,2025-0{1 + i % 6}-1{i % 9},{20 + i}\n" for i in range(40))
    )
    path = tmp_path / "w.duckdb"
    _analysed(path, orders, "customer_id=customer,ordered_at=date,revenue=amount")
    application = create_app(path, warm=False)
    try:
        client = TestClient(application, base_url="http://127.0.0.1")
        page = client.get("/customers/c0@x.com").text
        listed = client.get("/api/v1/customers").json()
        segments = client.get("/segments").text
        everyone = client.get("/segments?everyone=true").text
    finally:
        application.state.dashboard.close()
    assert "none expected in the horizon" not in page
    # no consent recorded: the segments say "unknown", not 0, and why the downloads are empty
    assert segments.count("<td>unknown</td>") >= 1 and 'id="consent-unknown"' in segments
    assert 'id="consent-unknown"' not in everyone
    # nothing predicted: the list is by historic CLV, not by a column of blanks
    assert listed["sort"] == "historic_clv"
    values = [row["historic_clv"] for row in listed["rows"]]
    assert values == sorted(values, reverse=True)
    assert "<dt>expected next order</dt><dd>-</dd>" in page
    # and says why every prediction is "-"
    assert '<p class="reading" id="withheld">No predictions: ' in page


def test_the_products_page_of_orders_naming_no_product_says_what_adds_them(tmp_path):
    """An orders table of customer, date and amount names no product: the Products page said
    "No product bought together often enough", as if the shop's products were too varied,
    where it is the file that has none; it says so, and what adds them."""
    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    orders = tmp_path / "orders.csv"
    rows = [f"c{i % 25}@x.com,2025-0{1 + i % 6}-1{i % 9},{20 + i}\n" for i in range(60)]
    orders.write_text("customer,date,amount\n" + "".join(rows))
    path = tmp_path / "w.duckdb"
    analysis = _analysed(path, orders, "customer_id=customer,ordered_at=date,revenue=amount")
    assert analysis.summary["growth"]["products"]["named_products"] is False
    application = create_app(path, warm=False)
    try:
        page = TestClient(application, base_url="http://127.0.0.1").get("/products").text
    finally:
        application.state.dashboard.close()
    said = " ".join(page.split())
    assert "The orders name no products" in said and "--map product=COLUMN" in said
    assert "No product to remind of: the orders name no products" in said
    assert "bought together often enough" not in said and "0 product pairs" not in said


def test_the_products_page_of_a_line_level_shop_names_its_products(client, stored):
    summary = stored["summary"]
    assert summary["growth"]["products"]["named_products"] is True
    assert "The orders name no products" not in client.get("/products").text


def test_the_segments_page_of_a_shop_without_emails_says_the_downloads_are_empty(tmp_path):
    """Customer numbers, dates and amounts: no e-mail, phone or consent.  Ticking "include
    customers who have not accepted marketing" exports nobody either, so the page says what
    is missing (an e-mail column) instead of pointing to the box; a shop keyed by e-mail
    without consent is still pointed to it."""
    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    pages = {}
    for name, who in (("numbers", "C{i:03d}"), ("emails", "c{i}@x.com")):
        orders = tmp_path / f"{name}.csv"
        orders.write_text(
            "customer,date,amount\n"
            + "".join(f"{who.format(i=i)},2025-0{1 + i % 6}-1{i % 9},{20 + i}\n" for i in range(40))
        )
        path = tmp_path / f"{name}.duckdb"
        _analysed(path, orders, "customer_id=customer,ordered_at=date,revenue=amount")
        application = create_app(path, warm=False)
        try:
            client = TestClient(application, base_url="http://127.0.0.1")
            pages[name] = client.get("/segments").text
            downloads = {
                to: client.get(
                    f"/api/v1/segments/tier-high/export?to={to}&include_non_consenting=true"
                ).text
                for to in ("klaviyo", "meta", "google")
            }
        finally:
            application.state.dashboard.close()
        if name == "numbers":  # the header only, Meta's and Google's too: no name or address
            assert {to: text.strip().count("\n") for to, text in downloads.items()} == {
                "klaviyo": 0, "meta": 0, "google": 0}  # fmt: skip
    assert 'id="no-contacts"' in pages["numbers"] and "--map email=COLUMN" in pages["numbers"]
    assert 'id="consent-unknown"' not in pages["numbers"]
    assert 'id="no-contacts"' not in pages["emails"] and 'id="consent-unknown"' in pages["emails"]


def test_the_segments_page_of_a_shop_whose_orders_give_phones_warns_of_no_missing_contact(
    tmp_path,
):
    """Customer numbers with a phone column mapped: their orders' phones are the customers'
    contacts, so the page gives no warning that the downloads are empty, and Meta's and
    Google's downloads hold the customers."""
    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    orders = tmp_path / "phones.csv"
    orders.write_text(
        "customer,date,amount,tel\n"
        + "".join(
            f"C{i:03d},2025-0{1 + i % 6}-1{i % 9},{20 + i},+1 206 555 {100 + i:04d}\n"
            for i in range(40)
        )
    )
    path = tmp_path / "phones.duckdb"
    _analysed(path, orders, "customer_id=customer,ordered_at=date,revenue=amount,phone=tel")
    application = create_app(path, warm=False)
    try:
        client = TestClient(application, base_url="http://127.0.0.1")
        page = client.get("/segments").text
        downloads = {
            to: client.get(
                f"/api/v1/segments/tier-high/export?to={to}&include_non_consenting=true"
            ).text
            for to in ("meta", "google")
        }
    finally:
        application.state.dashboard.close()
    assert 'id="no-contacts"' not in page
    assert all(text.strip().count("\n") > 0 for text in downloads.values()), downloads


def test_the_customers_and_segments_pages_say_why_nothing_is_predicted(tmp_path, client):
    """A shop too small to model (50 one-order customers): the customers list, whose predicted
    columns all read "-", and the segments page, whose segments on predictions select nobody,
    say why, as the customer's own page does; the list names the currency of its amounts.  A
    shop with predictions gets no such note."""
    import html
    import re

    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer,date,amount,currency\n"
        + "".join(f"c{i}@x.com,2025-0{1 + i % 6}-1{i % 9},{20 + i},EUR\n" for i in range(50))
    )
    path = tmp_path / "w.duckdb"
    analysis = _analysed(
        path, orders, "customer_id=customer,ordered_at=date,revenue=amount,currency=currency"
    )
    reason = analysis.summary["model"]["withheld"]
    application = create_app(path, warm=False)
    try:
        small = TestClient(application, base_url="http://127.0.0.1")
        listed, segments = small.get("/customers").text, small.get("/segments").text
    finally:
        application.state.dashboard.close()

    def said(page: str) -> str:
        found = re.search(r'<p class="reading" id="withheld">(.*?)</p>', page, re.S)
        return html.unescape(found.group(1)) if found else ""

    assert said(listed).startswith(f"No predictions: {reason}.")
    assert "the tier ranks historic CLV" in said(listed)
    assert "Amounts in EUR." in listed
    assert said(segments).startswith(f"No predictions: {reason}.")
    assert "win-back and due-for-reorder, which need them, select nobody" in said(segments)
    for page in ("/customers", "/segments"):
        assert 'id="withheld"' not in client.get(page).text


def test_a_shop_keyed_by_customer_number_shows_the_e_mail_of_its_orders(tmp_path):
    """An orders table keyed by customer number with an e-mail column: the customers list and
    the customer's page show the address the search finds them by and the audience files carry
    (the latest order's), not the bare number."""
    import html
    import re

    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    orders = tmp_path / "orders.csv"
    orders.write_text(
        "number,email,date,amount,consent\n"
        + "".join(
            f"{1000 + i},{'old' if k == 0 else 'Ana'}{i}@Example.com,2025-0{1 + k}-1{i % 9},"
            f"{20 + i},yes\n"
            for i in range(30)
            for k in range(1 + i % 3)
        )
    )
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.ingest(read_exports([orders], column_map="customer_id=number,email=email,"
                               "ordered_at=date,revenue=amount,accepts_marketing=consent"))  # fmt: skip
        analysis, tables = analyze_with_growth(ws, AnalysisOptions())
        save_snapshot(ws, analysis, tables, {})
        contacts = ws.contacts()
    klaviyo = build_audience(analysis.customers, contacts, "klaviyo", where="historic_clv > 0")
    exported = set(klaviyo.frame["Email"])
    application = create_app(path, warm=False)
    try:
        client = TestClient(application, base_url="http://127.0.0.1")
        listed = client.get("/api/v1/customers?per_page=100").json()["rows"]
        found = client.get("/customers?q=ana1").text
        page = client.get("/customers/1004").text
        detail = client.get("/api/v1/customers/1004").json()
    finally:
        application.state.dashboard.close()
    shown = {row["customer_id"]: row["email"] for row in listed}
    assert shown["1004"] == "Ana4@Example.com" and shown["1000"] == "old0@Example.com"
    assert {email.lower() for email in shown.values()} == exported
    assert '<span class="muted">Ana14@Example.com</span>' in found
    assert detail["contact"] == {"email": "Ana4@Example.com"}
    subtitle = re.search(r'<p class="subtitle">(.*?)</p>', page, re.S).group(1)
    assert html.unescape(subtitle).strip() == "<Ana4@Example.com>"


def test_the_segments_page_says_the_e_mail_files_leave_out_customers_known_by_phone(
    tmp_path, client
):
    """A cash-on-delivery shop's customers known by a phone alone count among those who accept
    marketing, but only the Meta and Google downloads can hold them: the page says so, with
    their number, where the shop has any."""
    import io as text_io
    import re

    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    rows = [
        (f"c{i}@x.com" if i % 3 == 0 else "", f"+4477009001{i:02d}" if i % 3 else "",
         f"2025-0{1 + k}-1{i % 9}", 20 + i)
        for i in range(30)
        for k in range(1 + i % 2)
    ]  # fmt: skip
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "email,phone,date,amount,consent\n"
        + "".join(f"{e},{p},{d},{a},yes\n" for e, p, d, a in rows)
    )
    path = tmp_path / "w.duckdb"
    analysis = _analysed(
        path,
        orders,
        "customer_id=email,phone=phone,ordered_at=date,revenue=amount,accepts_marketing=consent",
    )
    phones = int(analysis.customers["customer_id"].str.startswith("phone:").sum())
    assert phones == 20
    application = create_app(path, warm=False)
    try:
        small = TestClient(application, base_url="http://127.0.0.1")
        page = small.get("/segments").text

        def rows_of(to: str) -> int:
            text = small.get(f"/api/v1/segments/tier-medium/export?to={to}").text
            return len(pd.read_csv(text_io.StringIO(text), dtype=str))

        downloads = {to: rows_of(to) for to in FORMATS}
    finally:
        application.state.dashboard.close()
    said = re.search(r'<p class="subtitle" id="phone-only">(.*?)</p>', page, re.S)
    assert said is not None and said.group(1) == (
        "Klaviyo and Mailchimp files are keyed by e-mail: the 20 customers known by a phone "
        "number alone are in the Meta and Google files only."
    )
    assert downloads["klaviyo"] == downloads["mailchimp"] < downloads["meta"] == downloads["google"]
    assert 'id="phone-only"' not in client.get("/segments").text


def test_the_segments_page_counts_no_phone_that_cannot_be_a_number(tmp_path):
    """The page counted a customer known by ``+15550199`` (a US number missing digits) among
    those the Meta and Google files hold, which leave such a number out."""
    import re

    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    valid = [f"+4477009001{i:02d}" for i in range(6)]
    impossible = [f"+155501{i:02d}" for i in range(4)]
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "email,phone,date,amount,consent\n"
        + "".join(f",{p},2025-0{1 + k}-1{i},{20 + i},yes\n"
                  for i, p in enumerate(valid + impossible) for k in range(2))
    )  # fmt: skip
    path = tmp_path / "w.duckdb"
    analysis = _analysed(
        path,
        orders,
        "customer_id=email,phone=phone,ordered_at=date,revenue=amount,accepts_marketing=consent",
    )
    ids = set(analysis.customers["customer_id"])
    assert {f"phone:{p}" for p in impossible} <= ids  # customers all the same
    application = create_app(path, warm=False)
    try:
        page = TestClient(application, base_url="http://127.0.0.1").get("/segments").text
    finally:
        application.state.dashboard.close()
    said = re.search(r'<p class="subtitle" id="phone-only">(.*?)</p>', page, re.S)
    assert said is not None and "the 6 customers known by a phone number alone" in said.group(1)


def test_a_lapsed_customers_page_says_why_no_next_order_is_shown(client, stored):
    """The date is shown only for a customer more likely active than not: a lapsed customer
    with predicted orders is not told "none expected"."""
    from urllib.parse import quote

    customers = stored["customers"]
    lapsed = customers[
        (customers["probability_alive"] < 0.5) & customers["expected_date_of_next_order"].isna()
    ]
    active = customers[
        (customers["probability_alive"] >= 0.5) & customers["expected_date_of_next_order"].isna()
    ]
    assert len(lapsed)
    page = client.get(f"/customers/{quote(str(lapsed['customer_id'].iloc[0]), safe='')}").text
    assert "not shown: more likely lapsed than active (P(alive) under 50%)" in page
    assert "none expected in the horizon" not in page
    if len(active):
        page = client.get(f"/customers/{quote(str(active['customer_id'].iloc[0]), safe='')}").text
        assert "none expected in the horizon" in page


def test_a_p_alive_just_under_half_is_not_shown_as_50_percent(web_shop, tmp_path):
    """A customer left without a next order for a P(alive) under 50% is not shown one of 50%
    (0.4995 rounds to it): the page and the customers list show 49.9%."""
    import shutil
    from urllib.parse import quote

    import duckdb
    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    path = tmp_path / "shop.duckdb"
    shutil.copy(web_shop.workspace, path)
    with duckdb.connect(str(path)) as con:
        customer = con.execute(
            "SELECT customer_id FROM snapshot_customers WHERE snapshot_id = "
            "(SELECT max(snapshot_id) FROM snapshots) AND expected_date_of_next_order IS NULL "
            "AND probability_alive < 0.5 ORDER BY predicted_clv DESC LIMIT 1"
        ).fetchone()[0]
        con.execute(
            "UPDATE snapshot_customers SET probability_alive = 0.4995, churn_probability = 0.5005 "
            "WHERE customer_id = ?",
            [customer],
        )
    application = create_app(path, warm=False)
    try:
        client = TestClient(application, base_url="http://127.0.0.1")
        page = client.get(f"/customers/{quote(str(customer), safe='')}").text
        listed = client.get(f"/customers?q={quote(str(customer), safe='')}").text
    finally:
        application.state.dashboard.close()
    assert "not shown: more likely lapsed than active (P(alive) under 50%)" in page
    assert "<dt>P(alive)</dt><dd>49.9%</dd>" in page
    assert "<td>49.9%</td>" in listed and "<td>50%</td>" not in listed


def test_the_channels_and_cohorts_tables_name_the_currency_of_their_money(client, stored):
    """Money cells carry the currency as the segments page's do; counts and rates do not."""
    channels = stored["tables"]["channels.csv"]
    first = channels.iloc[0]
    page = client.get("/channels").text
    assert f"<td>{first['historic_clv_mean']:,.2f} USD</td>" in page
    assert f"<td>{first['total_clv_mean']:,.2f} USD</td>" in page
    assert f"<td>{first['customers']:,}</td>" in page
    cohorts = stored["tables"]["cohorts.csv"]
    page = client.get("/cohorts").text
    assert f"<td>{cohorts['ltv_m0'].iloc[0]:,.2f} USD</td>" in page


def test_the_customers_page_past_the_last_shows_the_last(client, stored):
    pages = -(-len(stored["customers"]) // 500)
    html = client.get("/customers?per_page=500&page=999999").text
    assert f"page {pages} of {pages}" in html and "page 999999" not in html
    assert client.get("/api/v1/customers").json()["sort"] == "predicted_clv"


def test_the_data_page_of_a_back_dated_snapshot_says_how_many_orders_it_analysed(client):
    snapshots = client.get("/api/v1/snapshots").json()
    early = next(s for s in snapshots if s["as_of"] == "2026-03-31")
    page = client.get(f"/data?snapshot={early['snapshot_id']}").text
    assert 'id="analysed-orders"' in page and "the analysis as of 2026-03-31 uses the" in page
    latest = client.get("/data").text
    assert 'id="analysed-orders"' not in latest


def test_the_pages_say_one_customer_not_1_customers(client, monkeypatch):
    """A small shop's quarter often moves one high-value customer to at risk: the Data page
    said "1 customers moved", where `valuecast compare` says "1 customer moved"."""
    from valuecast.web import api
    from valuecast.web.pages import environment

    real = api.comparison

    def one_mover(*args, **kwargs):
        result = real(*args, **kwargs)
        return {**result, "high_value_to_at_risk": 1}

    monkeypatch.setattr(api, "comparison", one_mover)
    said = client.get("/data").text.split('id="high-value-to-at-risk">')[1].split("</p>")[0]
    assert said.startswith("1 customer moved from the high spend tier")
    counted = environment().from_string(
        "{{ 1 | counted('product pair') }}; {{ 2 | counted('customer') }}; "
        "{{ none | counted('order line') }}"
    )
    assert counted.render() == "1 product pair; 2 customers; - order lines"


def test_the_data_pages_snapshots_table_names_the_currency_of_its_amounts(client):
    page = client.get("/data").text
    for snapshot in client.get("/api/v1/snapshots").json():
        row = re.search(rf'<tr data-snapshot="{snapshot["snapshot_id"]}">(.*?)</tr>', page).group(1)
        assert f"<td>{snapshot['historic_clv']:,.0f} USD</td>" in row


def test_the_snapshot_picker_keeps_the_pages_search_and_sort_without_a_script(client):
    """Choosing another snapshot (the picker's form, sent by its button) and the link to the
    latest keep the customers page's search and sort and the segments page's "everyone"; the
    page number and a finished upload's job are not kept."""
    snapshots = client.get("/api/v1/snapshots").json()
    early, latest = snapshots[0]["snapshot_id"], snapshots[-1]["snapshot_id"]
    page = client.get(
        f"/customers?snapshot={early}&q=a&sort=historic_clv&order=asc&page=2&job=x"
    ).text
    picker = page.split('class="snapshot-picker"')[1].split("</form>")[0]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', picker))
    assert fields == {"q": "a", "sort": "historic_clv", "order": "asc"}
    assert '<button type="submit">Show</button>' in picker and "noscript" not in picker
    link = re.search(r'id="show-latest" data-snapshot="\d+" href="([^"]*)"', page).group(1)
    assert link == f"?snapshot={latest}&amp;q=a&amp;sort=historic_clv&amp;order=asc"
    segments = client.get(f"/segments?snapshot={early}&everyone=true").text
    picker = segments.split('class="snapshot-picker"')[1].split("</form>")[0]
    assert '<input type="hidden" name="everyone" value="true">' in picker


def test_the_data_page_shows_every_time_to_the_minute(client):
    """The Ingests table showed ``2026-12-06T07:22:48`` below the Snapshots table's
    ``2026-12-06 07:23``: both say when to the minute, as the footer does."""
    page = client.get("/data").text
    ingests = page.split('id="ingests"')[1]
    ingested = client.get("/api/v1/ingests").json()
    for ingest in ingested:
        row = re.search(rf"<tr><td>{ingest['ingest_id']}</td><td>([^<]*)</td>", ingests).group(1)
        assert row == ingest["ingested_at"][:16].replace("T", " ")
    snapshot = client.get("/api/v1/snapshots").json()[-1]
    row = re.search(rf'<tr data-snapshot="{snapshot["snapshot_id"]}">(.*?)</tr>', page).group(1)
    assert f"<td>{snapshot['created_at'][:16].replace('T', ' ')}</td>" in row
    assert re.search(r"analysed \d{4}-\d\d-\d\d \d\d:\d\d UTC", page)


def test_an_older_snapshots_segments_say_their_consent_is_of_its_day(client):
    snapshots = client.get("/api/v1/snapshots").json()
    early = next(s for s in snapshots if s["as_of"] == "2026-03-31")
    page = client.get(f"/segments?snapshot={early['snapshot_id']}").text
    assert 'id="consent-as-of"' in page and "as of 2026-03-31" in page
    assert 'id="consent-as-of"' not in client.get("/segments").text


def test_the_latest_snapshots_segments_say_when_an_export_was_ingested_after_it(workspace_copy):
    """A customers export ingested after the analysis may withdraw consent the page counted:
    the page says its counts are the analysis' and the downloads use today's."""
    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    def client_for(application):
        return TestClient(application, base_url="http://127.0.0.1")

    application = create_app(workspace_copy, warm=False)
    try:
        assert 'id="consent-as-of"' not in client_for(application).get("/segments").text
    finally:
        application.state.dashboard.close()
    export = workspace_copy.parent / "customers_export.csv"
    export.write_text(
        "First Name,Last Name,Email,Accepts Email Marketing\nAna,Lee,someone@example.com,no\n"
    )
    with Workspace(workspace_copy) as ws:
        ws.ingest(read_exports([export]))
    application = create_app(workspace_copy, warm=False)
    try:
        page = client_for(application).get("/segments").text
    finally:
        application.state.dashboard.close()
    assert 'id="consent-as-of"' in page and "an export ingested since" in page


def test_every_page_renders(client, stored):
    for path in ("/", "/customers", "/segments", "/channels", "/cohorts", "/products", "/model",
                 "/data", "/segments?everyone=true", "/customers?q=a&sort=T&order=asc&page=2"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        assert '<script src="/static/plotly.min.js"></script>' in response.text
        assert "https://" not in response.text.split("<footer>")[0]  # nothing from elsewhere
    overview = client.get("/").text
    assert f">{stored['summary']['n_customers']:,}<" in overview
    cid = stored["customers"]["customer_id"].iloc[0]
    page = client.get(f"/customers/{cid}")
    assert page.status_code == 200 and cid in page.text
    missing = client.get("/customers/nobody@nowhere.test")
    assert missing.status_code == 404 and "no customer" in missing.text
    assert client.get("/?snapshot=999").status_code == 404


def test_static_files_are_local(client):
    plotly = client.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000
    assert plotly.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_openapi_schema(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/api/v1/customers", "/api/v1/customers/{customer_id}", "/api/v1/uploads",
            "/api/v1/segments/{segment}/export", "/api/v1/jobs/{job_id}"} <= paths  # fmt: skip
    assert not any(not path.startswith("/api/v1/") for path in paths)  # pages are not API


def test_an_empty_workspace_shows_how_to_start(tmp_path):
    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    app = create_app(tmp_path / "new.duckdb", warm=False)
    try:
        client = TestClient(app, base_url="http://127.0.0.1")
        page = client.get("/")
        assert page.status_code == 200 and "No analysis in this workspace yet" in page.text
        # the command to run names this very workspace
        assert f"valuecast analyze FILE --workspace {tmp_path / 'new.duckdb'}" in page.text
        assert client.get("/data").status_code == 200
        assert client.get("/api/v1/overview").status_code == 404
        assert client.get("/api/v1/snapshots").json() == []
    finally:
        app.state.dashboard.close()


@pytest.mark.parametrize(
    "column, order",
    [("expected_date_of_next_order", "desc"), ("expected_date_of_next_order", "asc"),
     ("rfm_group", "asc"), ("acquisition_channel", "desc"), ("accepts_marketing", "desc"),
     ("predicted_clv_p10", "asc"), ("customer_id", "desc")],
)  # fmt: skip
def test_every_kind_of_column_sorts_with_missing_values_last(client, stored, column, order):
    customers = stored["customers"]
    body = client.get(f"/api/v1/customers?sort={column}&order={order}&per_page=500").json()
    frame = customers.assign(_missing=customers[column].isna(), _key=customers[column])
    if column == "rfm_group":  # by rank, best last when ascending
        from valuecast.tables import GROUPS

        frame["_key"] = frame[column].map({g: -i for i, g in enumerate(GROUPS)})
    expected = frame.sort_values(
        ["_missing", "_key", "customer_id"],
        ascending=[True, order == "asc", True],
        kind="stable",
    )
    if column == "customer_id":  # the id is its own tie-break
        expected = frame.sort_values("customer_id", ascending=order == "asc")
    assert [row["customer_id"] for row in body["rows"]] == expected["customer_id"].iloc[
        :500
    ].tolist()


def test_compare_is_the_cli_comparison(client, web_shop):
    from valuecast.jobs.snapshots import compare

    response = client.get("/api/v1/compare")
    assert response.status_code == 200, response.text
    body = response.json()
    with Workspace(web_shop.workspace, read_only=True) as ws:
        expected = compare(ws)
    assert body["before"]["as_of"] == "2026-03-31" and body["after"]["as_of"] == "2026-06-30"
    assert body["rfm_matrix"]["counts"] == expected.rfm_matrix.to_numpy().tolist()
    assert body["rfm_matrix"]["before"] == list(expected.rfm_matrix.index)
    assert body["tier_matrix"]["after"] == list(expected.tier_matrix.columns)
    assert body["high_value_to_at_risk"] == len(expected.high_value_to_at_risk)
    # every customer of the later snapshot is in one cell
    assert sum(map(sum, body["rfm_matrix"]["counts"])) == body["after"]["n_customers"]
    assert client.get("/api/v1/compare", params={"before": 2, "after": 2}).status_code == 404
    # a date takes the snapshot as of it, as `valuecast compare 2026-04-15` does, and says so
    dated = client.get("/api/v1/compare", params={"before": "2026-04-15", "after": "0002"})
    assert dated.status_code == 200, dated.text
    taken = dated.json()
    assert taken["before"]["snapshot_id"] == 1 and taken["after"]["snapshot_id"] == 2
    assert taken["notes"] == [
        "note: 2026-04-15 is snapshot 1, as of 2026-03-31 (the latest snapshot on or before "
        "that date)"
    ]
    assert taken["rfm_matrix"] == body["rfm_matrix"] and body["notes"] == []
    too_late = client.get("/api/v1/compare", params={"before": "2026-05-15"})
    assert too_late.status_code == 404 and "no snapshot as of 2026-05-15" in too_late.text
    assert client.get("/api/v1/compare", params={"before": "April"}).status_code == 422
    page = client.get("/data")
    assert page.status_code == 200
    assert 'id="rfm_matrix"' in page.text and "moved from the high spend tier" in page.text
    # a row and a column for each group of customers with orders, as `compare --out` writes
    # them; none for Prospects, whom no snapshot holds
    assert body["rfm_matrix"]["after"] == list(SNAPSHOT_GROUPS)
    assert body["rfm_matrix"]["before"] == ["(new)", *SNAPSHOT_GROUPS]
    shown = page.text.split('id="rfm_matrix"')[1].split("</table>")[0]
    assert "Prospects" not in shown and "Dormant" in shown
    # the change of the figures as shown, signed: 48,864 -> 54,362 is +5,498, not 5,499
    from valuecast.web.pages import _change_from

    assert _change_from(54362.4, 48863.6) == "+5,498" and _change_from(10, 12.2) == "-2"
    assert _change_from(None, 3) == "-" and _change_from(3.2, 2.9) == "0"
    row = page.text.split("<td>historic CLV")[1].split("</tr>")[0]
    before, after, change = (cell.split("<")[0] for cell in row.split("<td>")[1:4])
    shown = int(after.replace(",", "")) - int(before.replace(",", ""))
    assert change == (f"{shown:+,}" if shown else "0")
    # and `valuecast history`'s groups per snapshot
    from valuecast.jobs.snapshots import history

    with Workspace(web_shop.workspace, read_only=True) as ws:
        table = history(ws)
    # a snapshot a column newest first, as the snapshots table lists them, and each row named
    # by its group alone, as `valuecast history` names it (not "rfm: Champions")
    shown = page.text.split('<section id="history">')[1].split("</section>")[0]
    header = shown.split('<table id="history-rfm">')[1].split("</thead>")[0]
    assert re.findall(r"\d{4}-\d\d-\d\d", header) == [str(day) for day in table["as_of"][::-1]]
    snapshots = page.text.split('id="snapshots-table"')[1].split("</table>")[0]
    assert re.findall(r"<td>(\d{4}-\d\d-\d\d)</td>", snapshots) == re.findall(
        r"\d{4}-\d\d-\d\d", header
    )
    for prefix, table_id, group in (("rfm: ", "history-rfm", "Champions"),
                                    ("tier: ", "history-tier", "high")):  # fmt: skip
        part = shown.split(f'<table id="{table_id}">')[1].split("</table>")[0]
        row = part.split(f'<th scope="row">{group}</th>')[1].split("</tr>")[0]
        assert row == "".join(f"<td>{n:,}</td>" for n in table[prefix + group][::-1])
    assert "rfm: " not in shown and "tier: " not in shown
    assert "Customers per RFM group" in shown and "Customers per spend tier" in shown


def _two_quarters(folder, cancelled_customer: bool = False, currency: str = "EUR"):
    """A workspace holding two snapshots of twelve customers' orders, as `valuecast refresh`
    stores them: January and February, then those again with five orders in May, every amount
    in ``currency`` (the first's in EUR), customer c0's orders cancelled with
    ``cancelled_customer``."""
    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    def rows(status: str, currency: str) -> str:
        early = [
            f"{n}{k},c{n}@x.com,2026-0{1 + k}-{10 + n:02d},{20 + n}.50,"
            f"{status if n == 0 else 'completed'},{currency}\n"
            for n in range(12) for k in range(2)
        ]  # fmt: skip
        return "order_id,customer_id,order_date,revenue,status,currency\n" + "".join(early)

    first, second = folder / "q1.csv", folder / "q2.csv"
    first.write_text(rows("completed", "EUR"))
    later = "".join(f"50{n},c{n}@x.com,2026-05-{10 + n},30.00,completed,{currency}\n"
                    for n in range(1, 6))  # fmt: skip
    second.write_text(rows("cancelled" if cancelled_customer else "completed", currency) + later)
    workspace = folder / "shop.duckdb"
    with Workspace(workspace) as ws:
        for source in (first, second):
            report = ws.ingest(read_exports([source], column_map="status=status")).to_dict()
            analysis, tables = analyze_with_growth(ws, AnalysisOptions())
            save_snapshot(ws, analysis, tables, report)
    app = create_app(workspace, warm=False)
    return app, TestClient(app, base_url="http://127.0.0.1")


@pytest.fixture(scope="module")
def cancelled_quarters(tmp_path_factory):
    """The dashboard on :func:`_two_quarters` with c0's orders cancelled, served once a module
    to tests that only read it: the app and its client."""
    app, client = _two_quarters(tmp_path_factory.mktemp("cancelled"), cancelled_customer=True)
    yield app, client
    app.state.dashboard.close()


def test_the_data_page_and_compare_say_why_customers_are_gone(cancelled_quarters):
    # a re-export cancelling a customer's every order: the comparison's (gone) column counts
    # them, and the dashboard says why, as `valuecast compare` does
    import html

    _, client = cancelled_quarters
    said = "note: 1 of the 12 customers of snapshot 1 (2026-02-21) is not in snapshot 2"
    body = client.get("/api/v1/compare").json()
    assert body["rfm_matrix"]["after"][-1] == "(gone)"
    assert any(note.startswith(said) for note in body["notes"]), body["notes"]
    assert said in html.unescape(client.get("/data").text)


def test_the_data_page_and_compare_tell_the_past_rewritten_from_new_sales(
    cancelled_quarters, tmp_path
):
    # the re-export cancels c0's two orders of the first quarter and adds five in May: the
    # historic CLV change (+109) is -41 of corrections and +150 of new sales, as `valuecast
    # compare` says it; the same quarters without the cancellation say nothing of the past
    import html

    said = (
        "note: -41 of the historic CLV change (+109) is the past rewritten, not new sales: 2 "
        "stored orders were withdrawn (cancelled or refunded in full) since snapshot 1 "
        "(2026-02-21); the other +150 is the orders dated after 2026-02-21"
    )
    _, client = cancelled_quarters
    assert said in client.get("/api/v1/compare").json()["notes"]
    assert said in html.unescape(client.get("/data").text)
    app, client = _two_quarters(tmp_path)
    try:
        notes = client.get("/api/v1/compare").json()["notes"]
        assert not any("past rewritten" in note for note in notes), notes
    finally:
        app.state.dashboard.close()


def test_two_currencies_compared_give_each_amount_its_own_and_no_change(tmp_path):
    # the shop's whole history exported again in dollars: euros less dollars is no change, and
    # the Data page names each amount's currency, whichever snapshot it shows
    import html

    app, client = _two_quarters(tmp_path, currency="USD")
    try:
        totals = client.get("/api/v1/compare").json()["totals"]
        assert totals["customers"]["change"] == 0
        assert totals["historic_clv"]["change"] is None
        assert totals["predicted_clv"]["change"] is None
        for shown in ("", "?snapshot=1"):
            page = html.unescape(client.get(f"/data{shown}").text)
            row = page.split("<td>historic CLV")[1].split("</tr>")[0]
            cells = [cell.split("<")[0] for cell in row.split("<td>")]
            assert cells[0] == "", cells  # no one currency beside the name
            assert cells[1].endswith(" EUR") and cells[2].endswith(" USD") and cells[3] == "-"
    finally:
        app.state.dashboard.close()


def test_the_data_page_compares_the_snapshot_it_shows_with_the_one_before(workspace_copy):
    # quarters of 2025-12-31, 2026-03-31 and 2026-06-30: the snapshot picker's 2026-03-31 shows
    # that quarter compared with the one before it, not the latest two
    from valuecast.web import create_app

    with Workspace(workspace_copy) as ws:
        analysis, tables = analyze_with_growth(ws, AnalysisOptions(as_of="2025-12-31"))
        save_snapshot(ws, analysis, tables, {})
    app = create_app(workspace_copy, warm=False)
    try:
        from .conftest import client_for

        client = client_for(app)

        def compared(shown: str) -> str:
            page = client.get(f"/data{shown}").text
            return page.split('<section id="comparison">')[1].split("</h2>")[0].split("<h2>")[1]

        assert compared("?snapshot=2026-03-31") == (
            "Snapshot as of 2025-12-31 compared with 2026-03-31"
        )
        assert compared("?snapshot=2025-12-31") == (
            "Snapshot as of 2025-12-31 compared with 2026-03-31"
        )
        latest = "Snapshot as of 2026-03-31 compared with 2026-06-30"
        assert compared("") == compared("?snapshot=2026-06-30") == latest
    finally:
        app.state.dashboard.close()


def test_start_up_computes_the_sort_orders_of_every_shown_column(workspace_copy):
    """A click on any column header of the customers page must not compute a sort of everyone."""
    from valuecast.web.queries import LIST_COLUMNS
    from valuecast.web.state import Dashboard

    dashboard = Dashboard(workspace_copy)
    try:
        dashboard.warm()
        index = dashboard.view(dashboard.snapshot()).index
        # the snapshot stores the ascending orders; start-up derives the descending ones
        kept = set(index._orders) | {(column, False) for column in index._stored}
        assert {(c, d) for c in LIST_COLUMNS for d in (True, False)} <= kept
        # a kept order is the one computed on demand (a snapshot that stores none)
        fresh = type(index)(index.table, lambda: pd.DataFrame({"customer_id": [], "email": []}))
        assert not fresh._stored
        for column in ("predicted_clv", "rfm_group", "last_order_date", "customer_id"):
            for descending in (True, False):
                assert np.array_equal(
                    index.order(column, descending), fresh.order(column, descending)
                )
    finally:
        dashboard.close()


def test_a_snapshot_whose_sort_orders_were_not_stored_sorts_at_start_up(workspace_copy):
    """The process ended between the snapshot's commit and storing its sort orders: the
    dashboard computes them when it starts, the same orders as the stored ones."""
    from valuecast.store.snapshots import SORT_ORDERS
    from valuecast.web.queries import LIST_COLUMNS
    from valuecast.web.state import Dashboard

    def orders() -> tuple[dict, bool]:
        dashboard = Dashboard(workspace_copy)
        try:
            dashboard.warm()
            index = dashboard.view(dashboard.snapshot()).index
            kept = {(c, d): index.order(c, d) for c in LIST_COLUMNS for d in (True, False)}
            return kept, bool(index._stored)
        finally:
            dashboard.close()

    stored, read_stored = orders()
    with Workspace(workspace_copy) as ws:
        ws.raw.execute("DELETE FROM snapshot_pages WHERE name = ?", [SORT_ORDERS])
    computed, read_none = orders()
    assert read_stored and not read_none
    assert stored.keys() == computed.keys()
    for key, order in stored.items():
        assert np.array_equal(order, computed[key]), key


def test_stored_pages_serve_what_the_server_would_compute(workspace_copy, monkeypatch):
    """Charts, segment counts and sort orders stored with a snapshot give the answers the server
    computes for a snapshot stored without them (an older workspace), and are not recomputed."""
    from fastapi.testclient import TestClient

    from valuecast.web import create_app, views

    urls = [
        f"/api/v1/{path}{sep}snapshot={snapshot}"
        for snapshot in (1, 2)
        for path, sep in (
            ("overview", "?"), ("charts/overview", "?"), ("charts/cohorts", "?"),
            ("charts/channels", "?"), ("charts/model", "?"), ("charts/products", "?"),
            ("segments", "?"), ("customers?sort=rfm_group&order=desc&page=2&", ""),
            ("customers?sort=last_order_date&order=asc&per_page=500&", ""),
            ("customers?sort=probability_alive&order=desc&q=a&", ""),
            ("customers?sort=frequency&order=asc&page=3&", ""),
        )
    ]  # fmt: skip

    def answers() -> list:
        app = create_app(workspace_copy, warm=False)
        try:
            client = TestClient(app, base_url="http://127.0.0.1")
            replies = [client.get(url) for url in urls]
            assert all(reply.status_code == 200 for reply in replies)
            return [reply.json() for reply in replies]
        finally:
            app.state.dashboard.close()

    with Workspace(workspace_copy) as ws:
        ws.con.con.execute("ALTER TABLE snapshot_pages RENAME TO kept_pages")
    computed = answers()  # a workspace from before the pages were stored
    with Workspace(workspace_copy) as ws:
        ws.con.con.execute("ALTER TABLE kept_pages RENAME TO snapshot_pages")
        for info in list_snapshots(ws):
            views.store_view(ws, info.snapshot_id)

    def not_again(*args, **kwargs):
        raise AssertionError("the stored charts were computed again")

    monkeypatch.setattr(views, "view_parts", not_again)
    assert answers() == computed


def test_with_a_margin_the_customers_segments_and_channels_pages_say_which_figures_are_margin(
    workspace_copy,
):
    import html

    from valuecast.jobs.analyze import AnalysisOptions, analyze_with_growth
    from valuecast.store.snapshots import save_snapshot, store_sort_orders
    from valuecast.web import create_app

    with Workspace(workspace_copy) as ws:
        report = ws.latest_ingest_report()
        analysis, tables = analyze_with_growth(ws, AnalysisOptions(margin=0.4))
        info = save_snapshot(ws, analysis, tables, report, AnalysisOptions(margin=0.4))
        store_sort_orders(ws, info.snapshot_id)
    from fastapi.testclient import TestClient

    app = create_app(workspace_copy, warm=False)
    try:
        client = TestClient(app, base_url="http://127.0.0.1")
        said = "Historic CLV is revenue; predicted CLV"
        assert said in client.get("/customers").text
        assert said in client.get("/segments").text
        assert said not in client.get("/customers?snapshot=1").text  # no margin as of March
        # the channels table's total is the historic CLV times the margin plus the predicted
        channels = client.get("/api/v1/channels").json()["tables"]["channels"]
        for row in channels:
            if row["customers"]:
                assert row["total_clv_mean"] == pytest.approx(
                    0.4 * row["historic_clv_mean"] + row["predicted_clv_mean"], abs=0.011
                )
        page = client.get("/channels").text
        assert 'id="channels-margin"' in page
        assert "total CLV is historic CLV times the margin plus predicted CLV" in page
        assert 'id="channels-margin"' not in client.get("/channels?snapshot=1").text
        # the Data page compares this analysis with the one before, at margin 1: its drop in
        # predicted CLV is said to be partly the margin's, as `valuecast compare` says it
        data = client.get("/data").text
        assert (
            '<p class="notes comparison-note">note: the two analyses differ in margin 100% -> '
            "40%: the change in predicted CLV is partly theirs, not the customers'"
        ) in html.unescape(data)
    finally:
        app.state.dashboard.close()


def test_the_data_pages_exclusions_hold_the_rows_that_excluded_no_order():
    from valuecast.web.pages import environment

    template = environment().from_string(
        '{% from "_macros.html.j2" import ingest_report %}{{ ingest_report(report) }}'
    )
    report = {
        "orders": 277, "rows_read": 621, "new_orders": 277, "updated_orders": 0,
        "unchanged_orders": 0, "customers": 177, "guest_orders": 0, "net_revenue": 100.0,
        "first_order_date": "2024-07-03", "last_order_date": "2026-06-30",
        "workspace_orders": 277, "workspace_customers": 177,
        "excluded_orders": {"cancelled": 8},
        "excluded_rows": {"cancelled": 8, "duplicate email": 1},
        "excluded_revenue": {"cancelled": 286.73}, "currencies": {"USD": 277},
    }  # fmt: skip
    html = " ".join(template.render(report=report).split())
    assert "<td>cancelled</td><td>8</td><td>8</td><td>286.73</td>" in html
    assert "<td>duplicate email</td><td>0</td><td>1</td><td>0.00</td>" in html
    # rows excluded, no order: the table and the word that no order was
    rows_only = {**report, "excluded_orders": {}, "excluded_rows": {"duplicate email": 1}}
    html = " ".join(template.render(report=rows_only).split())
    assert "<td>duplicate email</td><td>0</td><td>1</td>" in html
    assert "No order was excluded." in html


def test_a_customer_pages_orders_table_names_the_currency_of_its_money(client, stored):
    """The Orders table's amounts carry the currency as the page's figures above it do."""
    import re

    cid = stored["customers"]["customer_id"].iloc[0]
    page = client.get(f"/customers/{cid}").text
    table = page.split('<section id="orders">')[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], flags=re.S)
    net = re.findall(r"<td>([^<]*)</td>", rows[0])[2]  # order, date, net revenue, ...
    assert re.fullmatch(r"[\d,]+\.\d{2} USD", net), net


def test_a_customer_pages_overdue_reminder_says_it_is_overdue(client, stored):
    """A reminder whose due date has passed is said to be overdue ("12 days overdue"), not
    shown as a reminder date in the past beside a negative count of days."""
    import re
    from urllib.parse import quote

    reminders = stored["tables"]["reminders.csv"]
    # overdue by at most 14 days and a cycle, as `valuecast reminders` keeps them
    kept = reminders[reminders.days_until_due >= -reminders.cycle_days.clip(upper=14)]
    late = kept[kept.days_until_due < 0].iloc[0]
    page = client.get(f"/customers/{quote(str(late.customer_id), safe='')}").text
    section = page.split('id="reminders"')[1].split("</section>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", section.split("<tbody>")[1], flags=re.S)
    cells = [re.findall(r"<td>([^<]*)</td>", row) for row in rows]
    row = next(row for row in cells if row[0] == late["product"])
    days = -int(late.days_until_due)
    assert row[-2:] == [
        f"{late.due_date:%Y-%m-%d}",
        f"{days} {'day' if days == 1 else 'days'} overdue",
    ]
    assert "reminder date" not in section


def test_the_products_page_counts_the_reminders_to_customers_who_decline_marketing(client, stored):
    """The customers due to reorder are the shop's demand; those who decline marketing are no
    one to e-mail, and `valuecast reminders` leaves them out: the page says how many."""
    from html import unescape

    from valuecast.analysis.growth.replenishment import DUE_WITHIN, kept_reminders

    due = kept_reminders(stored["tables"]["reminders.csv"], DUE_WITHIN)
    customers = stored["customers"]
    declining = set(customers.loc[customers["accepts_marketing"].eq(False), "customer_id"])
    count = int(due["customer_id"].isin(declining).sum())
    assert 0 < count < len(due)
    said = " ".join(re.sub(r"<[^>]+>", " ", client.get("/products").text).split())
    assert (
        f"{count} reminders are to customers who decline marketing: `valuecast reminders` "
        "leaves them out of the list to send." in unescape(said)
    )


def test_analyze_stores_the_reminders_count_that_valuecast_reminders_leaves_out(tmp_path):
    """`analyze` stores the Products page without the customers' ids: it counts the reminders to
    customers who decline marketing as the page recomputed does, and as `valuecast reminders`
    leaves them out."""
    from html import unescape

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from valuecast.cli import app as cli
    from valuecast.datasets.demo_shop import generate_demo_shop
    from valuecast.store.snapshots import list_snapshots
    from valuecast.web import create_app
    from valuecast.web.views import store_view

    export, workspace = tmp_path / "orders_export.csv", tmp_path / "shop.duckdb"
    generate_demo_shop(export, customers=400, seed=5)
    result = CliRunner().invoke(
        cli, ["analyze", str(export), "-w", str(workspace), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    reminders = CliRunner().invoke(cli, ["reminders", "-w", str(workspace)])
    assert reminders.exit_code == 0, reminders.output
    left_out = re.search(r"note: (\d+) reminders? left out: their customer", reminders.output)
    assert left_out is not None, reminders.output

    def said() -> str:
        application = create_app(workspace, warm=False)
        try:
            page = TestClient(application, base_url="http://127.0.0.1").get("/products").text
        finally:
            application.state.dashboard.close()
        return unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))

    stored_page = said()
    assert f"{left_out.group(1)} reminders are to customers who decline marketing" in stored_page
    with Workspace(workspace) as ws:
        store_view(ws, list_snapshots(ws)[-1].snapshot_id)
    assert said() == stored_page


def test_a_nine_day_shops_customer_page_says_its_rfm_group_ranks_against_the_others(
    tmp_path, client
):
    # a buyer of the shop's first day is Dormant nine days on: the page says why, as the report
    # and the overview do; the two-year shop of the module's client says nothing of it
    import html

    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer,date,amount\n"
        + "".join(f"c{k},2026-03-0{1 + k % 9},{20 + k}\n" for k in range(27))
        + "c0,2026-03-08,15\nc1,2026-03-09,25\n"
    )
    path = tmp_path / "w.duckdb"
    _analysed(path, orders, "customer_id=customer,ordered_at=date,revenue=amount")
    application = create_app(path, warm=False)
    try:
        page = TestClient(application, base_url="http://127.0.0.1").get("/customers/c9").text
    finally:
        application.state.dashboard.close()
    assert "<dd>Dormant (1" in page
    caveat = re.search(r'<p class="reading" id="young-shop">(.*?)</p>', page, re.S).group(1)
    assert html.unescape(caveat) == (
        "RFM groups: the shop's history is 8 days long: the groups rank customers against one "
        "another, so a customer who bought in its last days, even on its last day, can read as "
        "Almost lost or Previously loyal."
    )
    listed = client.get("/api/v1/customers?per_page=1").json()["rows"][0]["customer_id"]
    assert 'id="young-shop"' not in client.get(f"/customers/{listed}").text


def test_the_segments_page_says_how_many_customers_no_download_can_key_by_e_mail(tmp_path):
    """A shop keyed by e-mail with five customers known by a number alone: a segment's count
    holds them, its Klaviyo file leaves them out, and the page says so with their count."""
    from fastapi.testclient import TestClient

    from valuecast.web import create_app

    orders = tmp_path / "orders.csv"
    who = [f"c{i}@x.com" if i >= 5 else f"C{i:03d}" for i in range(40)]
    orders.write_text(
        "customer,date,amount\n"
        + "".join(f"{who[i]},2025-0{1 + i % 6}-1{i % 9},{20 + i}\n" for i in range(40))
    )
    path = tmp_path / "w.duckdb"
    _analysed(path, orders, "customer_id=customer,ordered_at=date,revenue=amount")
    application = create_app(path, warm=False)
    try:
        client = TestClient(application, base_url="http://127.0.0.1")
        page = client.get("/segments?everyone=true").text
        rows = sum(
            client.get(
                f"/api/v1/segments/tier-{tier}/export?to=klaviyo&include_non_consenting=true"
            )
            .text.strip()
            .count("\n")  # the header's line ends before the first row
            for tier in ("high", "medium", "low")
        )
    finally:
        application.state.dashboard.close()
    assert rows == 35  # the tiers hold all 40 customers; their files the 35 addresses
    said = re.search(r'<p class="subtitle" id="no-email">(.*?)</p>', page, re.S)
    assert said is not None and " ".join(said.group(1).split()).startswith(
        "5 customers have no e-mail address: the Klaviyo and Mailchimp files leave them out"
    )
