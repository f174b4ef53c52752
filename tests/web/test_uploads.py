"""Uploads through the API: an export is ingested and analysed into a new snapshot (one job)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from valuecast.io import read_exports
from valuecast.io.schema import InputError
from valuecast.store import Workspace
from valuecast.store.snapshots import SORT_ORDERS, list_snapshots, load_customers, load_pages
from valuecast.web import create_app
from valuecast.web.state import STEPS
from valuecast.web.views import VIEW


@pytest.fixture
def upload_client(workspace_copy):
    app = create_app(workspace_copy, warm=False)
    client = TestClient(app, base_url="http://127.0.0.1")
    client.headers["X-CSRF-Token"] = client.get("/api/v1/csrf").json()["csrf_token"]
    yield client, app, workspace_copy
    app.state.dashboard.close()


def wait(client, job: dict, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while job["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
        job = client.get(f"/api/v1/jobs/{job['job_id']}").json()
    return job


def test_upload_ingests_analyses_and_stores_a_snapshot(upload_client, web_shop):
    client, app, path = upload_client
    before = client.get("/api/v1/overview").json()
    response = client.post(
        "/api/v1/uploads",
        files={"files": ("more orders.csv", web_shop.second.read_bytes(), "text/csv")},
    )
    assert response.status_code == 202, response.text
    job = wait(client, response.json())
    assert job["state"] == "done", job
    steps = [s["step"] for s in job["steps"]]
    assert steps[:3] == ["receiving the file", "reading the export", "writing the orders"]
    assert "backtesting models" in steps and "storing the snapshot" in steps
    # every step is one the progress bar knows, in its order: the bar moves by steps, never
    # by the small nudge an unknown step gets
    assert steps == [step for step in STEPS if step in steps]
    report = job["ingest_report"]
    assert report["files"][0]["file"] == "more orders.csv"
    assert report["new_orders"] + report["updated_orders"] > 0
    after = client.get("/api/v1/overview").json()
    assert after["snapshot"]["snapshot_id"] == job["snapshot"]["snapshot_id"]
    # the second shop's orders replace or join the first's: the figures are those of the new
    # analysis, which is what the workspace now holds
    app.state.dashboard.close()
    with Workspace(path, read_only=True) as ws:
        snapshots = list_snapshots(ws)
        stored = load_customers(ws, job["snapshot"]["snapshot_id"])
        pages = load_pages(ws, job["snapshot"]["snapshot_id"])
    assert snapshots[-1].snapshot_id == job["snapshot"]["snapshot_id"]
    # the dashboard's pages of the new snapshot are stored with it: a restart reads them
    assert {VIEW, SORT_ORDERS} <= set(pages)
    headline = {item["key"]: item["value"] for item in after["headline"]}
    assert headline["n_customers"] == len(stored) == job["snapshot"]["n_customers"]
    assert (
        headline["n_customers"] != {i["key"]: i["value"] for i in before["headline"]}["n_customers"]
    )


def test_an_upload_with_no_later_order_says_it_replaced_the_snapshot_of_its_date(
    upload_client, web_shop, tmp_path
):
    # a quiet quarter's export (the weeks overlapping the last one alone): the analysis takes
    # the latest snapshot's date again and replaces it; the page says so, not "new snapshot"
    import pandas as pd

    client, app, path = upload_client
    full = pd.read_csv(web_shop.export, dtype=str, keep_default_na=False)
    overlap = full[full["Created at"] >= "2026-06-01"].to_csv(index=False).encode()
    latest = client.get("/api/v1/snapshots").json()[-1]
    response = client.post(
        "/api/v1/uploads", files={"files": ("quiet quarter.csv", overlap, "text/csv")}
    )
    assert response.status_code == 202, response.text
    job = wait(client, response.json())
    assert job["state"] == "done", job
    assert job["snapshot"]["as_of"] == latest["as_of"]
    assert job["snapshot"]["replaced"] == [latest["snapshot_id"]]
    page = " ".join(client.get(f"/data?job={job['job_id']}").text.split())
    assert "New snapshot as of" not in page
    assert (
        f"No order in the files is dated after <strong>{latest['as_of']}</strong>, the latest "
        "order date, which dates an analysis: the snapshot as of that date was analysed again "
        "and replaced"
    ) in page
    assert "no new period's snapshot was added" in page


def test_an_upload_of_an_older_export_says_it_holds_no_new_period(upload_client, web_shop):
    """An older export (its last order before the stored orders') replaces the latest snapshot
    too, but no --as-of dates a new period from it: the page said to run refresh with one."""
    import pandas as pd

    client, app, path = upload_client
    full = pd.read_csv(web_shop.export, dtype=str, keep_default_na=False)
    older = full[full["Created at"] < "2026-03-01"]
    last = pd.to_datetime(older["Created at"].str[:10]).max().date().isoformat()
    latest = client.get("/api/v1/snapshots").json()[-1]
    response = client.post(
        "/api/v1/uploads",
        files={"files": ("older.csv", older.to_csv(index=False).encode(), "text/csv")},
    )
    assert response.status_code == 202, response.text
    job = wait(client, response.json())
    assert job["state"] == "done", job
    assert job["snapshot"]["replaced"] == [latest["snapshot_id"]]
    page = " ".join(client.get(f"/data?job={job['job_id']}").text.split())
    assert (
        f"The files' last order is dated <strong>{last}</strong>, before "
        f"<strong>{latest['as_of']}</strong>, the stored orders' last (an older export)"
    ) in page
    assert "--as-of DATE" not in page


def test_a_bad_export_fails_with_the_importers_error(upload_client, tmp_path):
    client, app, path = upload_client
    bad = b"when,who\n2026-01-01,x\n"
    (tmp_path / "orders.csv").write_bytes(bad)
    with pytest.raises(InputError) as expected:
        read_exports([tmp_path / "orders.csv"])
    response = client.post("/api/v1/uploads", files={"files": ("orders.csv", bad)})
    job = wait(client, response.json())
    assert job["state"] == "failed"
    # the same message as `valuecast ingest`, naming the file as uploaded, and where the
    # --format or --map it advises is given (the upload form has neither)
    said = str(expected.value).replace(str(tmp_path / "orders.csv"), "orders.csv")
    assert "give --format" in said
    assert job["error"] == (
        f"{said} (the dashboard's upload takes no format or column map: stop the dashboard "
        f"(Ctrl+C), run `valuecast refresh FILE --format ... --workspace {path}` (or with "
        f"`--map ...`), then start it again with `valuecast serve --workspace {path}`)"
    )
    assert len(client.get("/api/v1/snapshots").json()) == 2  # nothing changed
    page = client.get(f"/data?job={job['job_id']}")
    assert "Upload failed" in page.text and "orders.csv" in page.text


def test_an_upload_in_another_currency_says_where_rates_are_given(upload_client, tmp_path):
    """The importer's advice names --fx, which the upload has no field for: the message says how
    to give it on the command line (the dashboard holds the workspace, so it is stopped first;
    `refresh` ingests and analyses, as the upload does), and following it word for word gives
    the dashboard the new orders once it is started again."""
    import re
    import shlex

    from typer.testing import CliRunner

    from valuecast.cli import app as valuecast

    client, app, path = upload_client
    euros = b"customer_id,order_date,revenue,currency\nnew@x.com,2026-06-01,10.00,EUR\n"
    response = client.post("/api/v1/uploads", files={"files": ("euros.csv", euros)})
    job = wait(client, response.json())
    assert job["state"] == "failed"
    assert "the stored orders are in USD: give --fx RATES.csv" in job["error"]
    assert job["error"].endswith(
        f"(the dashboard's upload takes no rates file: stop the dashboard (Ctrl+C), run "
        f"`valuecast refresh FILE --fx RATES.csv --workspace {path}`, then start it again with "
        f"`valuecast serve --workspace {path}`)"
    )
    assert len(client.get("/api/v1/snapshots").json()) == 2
    app.state.dashboard.close()  # the dashboard stopped
    (tmp_path / "euros.csv").write_bytes(euros)
    (tmp_path / "rates.csv").write_text("currency,rate\nUSD,1\nEUR,1.10\n")
    command = re.search(r"run `valuecast ([^`]*)`", job["error"]).group(1)
    command = command.replace("FILE", str(tmp_path / "euros.csv"))
    command = command.replace("RATES.csv", str(tmp_path / "rates.csv"))
    result = CliRunner().invoke(valuecast, [*shlex.split(command), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    restarted = create_app(path, warm=False)
    try:
        again = TestClient(restarted, base_url="http://127.0.0.1")
        # the analysis as of the shop's last order replaced, with the new customer in it
        assert [s["snapshot_id"] for s in again.get("/api/v1/snapshots").json()] == [1, 3]
        found = again.get("/api/v1/customers?q=new@x.com").json()["rows"]
        assert [row["historic_clv"] for row in found] == [pytest.approx(11.0)]
    finally:
        restarted.state.dashboard.close()


def test_spend_upload_adds_cac_per_channel_and_cohort(upload_client, web_shop):
    client, app, path = upload_client
    assert client.get("/api/v1/channels").json()["tables"]["cac"] == []
    response = client.post(
        "/api/v1/spend", files={"file": ("spend.csv", web_shop.spend.read_bytes())}
    )
    assert response.status_code == 202, response.text
    job = wait(client, response.json())
    assert job["state"] == "done", job
    cac = client.get("/api/v1/channels").json()["tables"]["cac"]
    channels = {row["channel"].lower() for row in cac}
    assert {"google", "instagram", "facebook ads"} <= channels
    assert {"all"} < {row["cohort_month"] for row in cac}  # per cohort month and overall
    assert any(row["clv_to_cac"] is not None for row in cac)
    page = client.get("/channels")
    assert "CLV:CAC" in page.text and "spend.csv" in page.text
    # the CLV that CLV:CAC divides (of the customers of the months with spend) is shown beside
    # it: the total CLV per customer of every customer of the channel is another number
    assert "CLV per customer with spend" in page.text
    spent = next(row for row in cac if row["spend"])  # the money cells name the currency
    assert f"<td>{spent['spend']:,.2f} USD</td>" in page.text
    # the spend names channels alone: beside the blended CLV:CAC, the channels' with spend
    # (the growth stage's), named, as `analyze` and the report name it
    paid = [row for row in cac if row["cohort_month"] == "all" and row["spend"]]
    paid = [row for row in paid if row["channel"] != "(whole shop)" and row["customers"]]
    ratio = sum(row["clv_per_customer"] * row["customers"] for row in paid) / sum(
        row["spend"] for row in cac
        if row["cohort_month"] == "all" and row["spend"] and row["channel"] != "(whole shop)"
    )  # fmt: skip
    shown = re.search(r"Channels with spend: CLV:CAC <strong>([0-9.]+)</strong>", page.text)
    assert shown is not None and float(shown.group(1)) == pytest.approx(ratio, abs=0.006)


def test_keeping_or_forgetting_non_product_names_keeps_the_cac_of_the_kept_spend(
    upload_client, web_shop
):
    """The analysis the non-product names re-run replaces the snapshot of the same date, whose
    CAC came from the spend the workspace keeps: it is analysed with that spend too, as an
    upload's analysis is, so CLV:CAC stays on the Channels page."""
    client, app, path = upload_client
    response = client.post(
        "/api/v1/spend", files={"file": ("spend.csv", web_shop.spend.read_bytes())}
    )
    assert wait(client, response.json())["state"] == "done"
    before = client.get("/api/v1/channels").json()["tables"]["cac"]
    assert any(row["clv_to_cac"] is not None for row in before)
    for request in (
        lambda: client.put("/api/v1/not-products", data={"names": "Gift Box"}),
        lambda: client.delete("/api/v1/not-products"),
    ):
        response = request()
        assert response.status_code == 202, response.text
        assert wait(client, response.json())["state"] == "done"
        cac = client.get("/api/v1/channels").json()["tables"]["cac"]
        assert cac == before
        assert "CLV:CAC" in client.get("/channels").text


def test_a_spend_file_of_the_whole_shop_gives_the_blended_cac_first(upload_client):
    """month,spend without a channel column: the Channels page reads the whole shop's CAC
    (all the spend over every new customer of its months) above cac.csv's (whole shop) rows."""
    client, app, path = upload_client
    months = [f"{2024 + (6 + k) // 12}-{(6 + k) % 12 + 1:02d}" for k in range(24)]
    text = "month,spend\n" + "".join(f"{month},1000\n" for month in months)
    response = client.post("/api/v1/spend", files={"file": ("shop.csv", text.encode())})
    assert response.status_code == 202, response.text
    assert wait(client, response.json())["state"] == "done"
    cac = client.get("/api/v1/channels").json()["tables"]["cac"]
    assert {row["channel"] for row in cac} == {"(whole shop)"}
    whole = next(row for row in cac if row["cohort_month"] == "all")
    assert whole["spend"] == 24000.0 and whole["customers"] > 0
    assert whole["cac"] == pytest.approx(24000.0 / whole["customers"], abs=0.01)
    page = client.get("/channels").text
    assert 'id="blended-cac"' in page
    assert f"Whole shop (blended): CAC <strong>{whole['cac']:,.2f} USD</strong>" in page
    assert "no customer came through" not in page


def test_spend_in_another_currency_is_refused_at_upload(upload_client):
    client, app, path = upload_client
    euros = b"month,channel,spend\n2026-01,google,\xe2\x82\xac500\n"
    response = client.post("/api/v1/spend", files={"file": ("euros.csv", euros)})
    assert response.status_code in (400, 422), response.text
    assert "euros.csv: the spend is in EUR, the orders in USD" in response.text


def test_the_spend_file_outlives_a_restart(workspace_copy, web_shop):
    """A new export uploaded after the server restarts is analysed with the spend given before."""

    def served(**kwargs):
        app = create_app(workspace_copy, **kwargs)
        client = TestClient(app, base_url="http://127.0.0.1")
        client.headers["X-CSRF-Token"] = client.get("/api/v1/csrf").json()["csrf_token"]
        return app, client

    app, client = served(warm=False)
    try:
        response = client.post(
            "/api/v1/spend", files={"file": ("spend.csv", web_shop.spend.read_bytes())}
        )
        assert wait(client, response.json())["state"] == "done"
    finally:
        app.state.dashboard.close()  # the server stops

    app, client = served(warm=False)
    try:
        assert app.state.dashboard.spend_name == "spend.csv"
        assert "spend.csv" in client.get("/channels").text
        response = client.post(
            "/api/v1/uploads", files={"files": ("new.csv", web_shop.second.read_bytes())}
        )
        assert wait(client, response.json())["state"] == "done"
        cac = client.get("/api/v1/channels").json()["tables"]["cac"]
        assert any(row["clv_to_cac"] is not None for row in cac)
    finally:
        app.state.dashboard.close()


def test_one_upload_at_a_time(upload_client):
    client, app, _ = upload_client
    import threading

    release = threading.Event()
    jobs = app.state.dashboard.jobs
    blocking = jobs.start("upload", ["slow.csv"], lambda job: release.wait(10))
    try:
        response = client.post("/api/v1/uploads", files={"files": ("a.csv", b"a,b\n")})
        assert response.status_code == 409
        assert client.get(f"/api/v1/jobs/{blocking.job_id}").json()["state"] in (
            "queued",
            "running",
        )
    finally:
        release.set()
    assert client.get("/api/v1/jobs/unknown").status_code == 404


def test_an_upload_is_analysed_with_the_spend_given_to_analyze(workspace_copy, web_shop, tmp_path):
    """`valuecast analyze --spend` keeps the spend in the workspace: the dashboard shows it and
    analyses a new export with it, as with a spend file uploaded in the dashboard."""
    from typer.testing import CliRunner

    from valuecast.cli import app as valuecast

    done = CliRunner().invoke(
        valuecast,
        ["analyze", "-w", str(workspace_copy), "-o", str(tmp_path / "out"), "--spend",
         str(web_shop.spend)],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    app = create_app(workspace_copy, warm=False)
    try:
        client = TestClient(app, base_url="http://127.0.0.1")
        client.headers["X-CSRF-Token"] = client.get("/api/v1/csrf").json()["csrf_token"]
        assert app.state.dashboard.spend_name == "spend.csv"
        response = client.post(
            "/api/v1/uploads", files={"files": ("new.csv", web_shop.second.read_bytes())}
        )
        assert wait(client, response.json())["state"] == "done"
        cac = client.get("/api/v1/channels").json()["tables"]["cac"]
        assert any(row["clv_to_cac"] is not None for row in cac)
        page = client.get("/channels").text
        assert "spend.csv" in page and 'id="spend-drop"' in page
    finally:
        app.state.dashboard.close()


def test_after_the_currency_changed_the_dashboard_drops_the_kept_spend(tmp_path):
    """The shop's currency changes from EUR to USD: the spend kept in euros refuses the
    re-export in dollars, and a spend file in dollars is refused against the analysis in euros.
    "Drop the kept spend" on the Channels page (``DELETE /api/v1/spend``) re-runs the analysis
    without it, as ``valuecast analyze --no-spend`` does, and both uploads then go through."""
    from typer.testing import CliRunner

    from valuecast.cli import app as valuecast
    from valuecast.datasets.demo_shop import generate_demo_shop
    from valuecast.store.spend import kept_spend

    dollars = tmp_path / "orders_export.csv"
    generate_demo_shop(dollars, customers=150, seed=3)
    euros = tmp_path / "euros.csv"
    euros.write_text(dollars.read_text().replace(",USD,", ",EUR,"))
    spend = tmp_path / "spend-eur.csv"
    spend.write_text("month,channel,spend\n2026-01,google,€300\n2026-02,google,€300\n")
    workspace = tmp_path / "shop.duckdb"
    done = CliRunner().invoke(
        valuecast,
        ["analyze", str(euros), "-w", str(workspace), "-o", str(tmp_path / "out"), "--spend",
         str(spend)],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    usd_spend = b"month,channel,spend\n2026-01,google,300 USD\n2026-02,google,300 USD\n"
    app = create_app(workspace, warm=False)
    try:
        client = TestClient(app, base_url="http://127.0.0.1")
        client.headers["X-CSRF-Token"] = client.get("/api/v1/csrf").json()["csrf_token"]

        def upload(name: str, body: bytes) -> dict:
            return wait(
                client, client.post("/api/v1/uploads", files={"files": (name, body)}).json()
            )

        refused = upload("orders_export.csv", dollars.read_bytes())
        assert refused["state"] == "failed"
        assert "the spend is in EUR, the orders in USD" in refused["error"]
        assert 'drop it with "Drop the kept spend" on the Channels page' in refused["error"]
        response = client.post("/api/v1/spend", files={"file": ("spend-usd.csv", usd_spend)})
        assert response.status_code == 400, response.text
        page = client.get("/channels").text
        assert 'id="spend-drop"' in page and "Drop spend-eur.csv" in page
        assert "CAC, CLV:CAC and payback by channel" in page

        # a write like the uploads: the CSRF token is checked
        wrong = client.delete("/api/v1/spend", headers={"X-CSRF-Token": "x" * 43})
        assert wrong.status_code == 403 and app.state.dashboard.spend_name == "spend-eur.csv"
        [before] = client.get("/api/v1/snapshots").json()
        response = client.delete("/api/v1/spend")
        assert response.status_code == 202, response.text
        job = wait(client, response.json())
        assert job["state"] == "done", job
        assert (job["kind"], job["files"]) == ("drop-spend", ["spend-eur.csv"])
        assert job["steps"][0]["step"] == "dropping the kept spend"
        # a new snapshot of the same as-of date, which replaces the one with CAC
        [after] = client.get("/api/v1/snapshots").json()
        assert after["as_of"] == before["as_of"] and after["snapshot_id"] != before["snapshot_id"]
        channels = client.get("/api/v1/channels").json()
        assert channels["snapshot_id"] == job["snapshot"]["snapshot_id"]
        assert channels["tables"]["cac"] == []
        page = client.get("/channels").text
        assert 'id="spend-drop"' not in page and "spend-eur.csv" not in page
        assert "CAC, CLV:CAC and payback by channel" not in page
        again = client.delete("/api/v1/spend")
        assert again.status_code == 404 and "nothing to drop" in again.text

        # the re-export in dollars, then spend in dollars
        assert upload("orders_export.csv", dollars.read_bytes())["state"] == "done"
        response = client.post("/api/v1/spend", files={"file": ("spend-usd.csv", usd_spend)})
        assert wait(client, response.json())["state"] == "done"
        cac = client.get("/api/v1/channels").json()["tables"]["cac"]
        assert any(row["clv_to_cac"] is not None for row in cac)
    finally:
        app.state.dashboard.close()
    with Workspace(workspace, read_only=True) as ws:
        assert kept_spend(ws).name == "spend-usd.csv"


def test_a_kept_spend_refusing_an_export_says_how_to_drop_it():
    """The dashboard's upload has no --no-spend: the advice says where it is given."""
    from valuecast.web.uploads import _for_the_dashboard

    said = (
        "spend.csv (the spend file kept in the workspace): the spend is in EUR, the orders in "
        "USD: give the spend in USD (--spend SPEND.csv), or analyse without the kept spend "
        "(--no-spend)"
    )
    shown = _for_the_dashboard(said, Path("shop.duckdb"))
    assert shown.startswith(said)
    assert 'drop it with "Drop the kept spend" on the Channels page' in shown


def test_the_channels_page_says_what_valuecast_channels_says(tmp_path):
    """The same spend, figures and notes on the dashboard's Channels page as in `valuecast
    channels`: a channel not paid back, and spend on a channel no customer came through."""
    import html
    import re

    import pandas as pd
    from typer.testing import CliRunner

    from shops import ingested
    from valuecast.cli import app as valuecast

    orders = "customer,date,amount,channel\n" + "".join(
        f"{c}@x.com,{d},{a},{ch}\n"
        for c, d, a, ch in [
            ("a", "2024-01-05", 40, "google"), ("a", "2024-02-05", 30, "google"),
            ("a", "2024-04-05", 50, "google"), ("b", "2024-01-25", 20, "google"),
            ("b", "2024-03-10", 40, "google"), ("c", "2024-02-15", 100, "facebook"),
            ("d", "2024-01-10", 30, "email"), ("d", "2024-02-10", 30, "email"),
            ("d", "2024-03-10", 30, "email"), ("f", "2024-01-15", 25, "email"),
            ("f", "2024-02-20", 25, "email"), ("g", "2024-02-01", 35, "email"),
            ("g", "2024-03-01", 35, "email"), ("h", "2024-05-05", 20, "email"),
            ("h", "2024-06-10", 20, "email"), ("h", "2024-07-12", 20, "email"),
        ]
    )  # fmt: skip
    workspace = ingested(
        tmp_path, orders, "customer_id=customer,ordered_at=date,revenue=amount,channel=channel"
    )
    spend = tmp_path / "spend.csv"
    spend.write_text(
        "month,channel,spend\n2024-01,google,50\n2024-01,tiktok,400\n2024-02,facebook,500\n"
    )
    cli = CliRunner()
    done = cli.invoke(valuecast, ["analyze", "-w", str(workspace), "-o", str(tmp_path / "a"),
                                  "--spend", str(spend)])  # fmt: skip
    assert done.exit_code == 0, done.output
    shown = cli.invoke(valuecast, ["channels", "-w", str(workspace), "-o", str(tmp_path / "c")])
    assert shown.exit_code == 0, shown.output
    said = [line.removeprefix("note: ") for line in shown.output.splitlines()
            if line.startswith("note: ") and "spend file kept" not in line]  # fmt: skip
    assert "facebook: not paid back yet" in said
    [unmatched] = [note for note in said if note.startswith("no customer came through")]
    cli_cac = pd.read_csv(tmp_path / "c" / "cac.csv")

    app = create_app(workspace, warm=False)
    try:
        client = TestClient(app, base_url="http://127.0.0.1")
        page = html.unescape(re.sub(r"\s+", " ", client.get("/channels").text))
        api = pd.DataFrame(client.get("/api/v1/channels").json()["tables"]["cac"])
    finally:
        app.state.dashboard.close()
    assert f"Note: {unmatched}." in page
    for note in said:  # each channel's note, in the CAC table's rows
        if note is not unmatched:
            label, text = note.split(": ", 1)
            assert f"<td>{label}</td><td>all</td>" in page.replace("> <", "><")
            assert text in page
    # the same rows and figures (cac.csv rounds CLV:CAC to 4 decimals), the same notes
    numbers = ["customers", "spend", "cac", "clv_to_cac", "payback_month"]
    shop = api["channel"] == "(whole shop)"
    assert shop.tolist() == (cli_cac["channel"] == "(whole shop)").tolist()
    pd.testing.assert_frame_equal(
        api[~shop][numbers].astype(float), cli_cac[~shop][numbers].astype(float), atol=5e-5,
        check_exact=False,
    )  # fmt: skip
    # the whole shop's CAC (950 / 6) is no whole number of cents: cac.csv rounds it to cents
    from valuecast.outputs.files import rounded_for_csv

    pd.testing.assert_frame_equal(
        rounded_for_csv(api[shop][numbers]).astype(float), cli_cac[shop][numbers].astype(float)
    )
    for column in ("channel", "cohort_month", "note"):
        assert api[column].fillna("").tolist() == cli_cac[column].fillna("").tolist()


def test_an_upload_changing_no_stored_order_keeps_the_snapshot_and_says_so(tmp_path):
    # the export `valuecast analyze` read, uploaded again: the analysis would be the snapshot
    # again, which is kept under its id (not replaced by a copy), and the page says so and how
    # to store a new period's
    from typer.testing import CliRunner

    from valuecast.cli import app as cli
    from valuecast.datasets.demo_shop import generate_demo_shop

    export = tmp_path / "orders_export.csv"
    generate_demo_shop(export, customers=150, seed=11)
    path = tmp_path / "shop.duckdb"
    done = CliRunner().invoke(
        cli, ["analyze", str(export), "-w", str(path), "-o", str(tmp_path / "o")]
    )
    assert done.exit_code == 0, done.output
    app = create_app(path, warm=False)
    try:
        client = TestClient(app, base_url="http://127.0.0.1")
        client.headers["X-CSRF-Token"] = client.get("/api/v1/csrf").json()["csrf_token"]
        response = client.post(
            "/api/v1/uploads", files={"files": ("again.csv", export.read_bytes(), "text/csv")}
        )
        assert response.status_code == 202, response.text
        job = wait(client, response.json())
        assert job["state"] == "done", job
        assert (job["snapshot"]["snapshot_id"], job["snapshot"]["kept"]) == (1, True)
        assert job["snapshot"]["replaced"] == []
        assert [s["snapshot_id"] for s in client.get("/api/v1/snapshots").json()] == [1]
        page = " ".join(client.get(f"/data?job={job['job_id']}").text.split())
    finally:
        app.state.dashboard.close()
    assert "New snapshot as of" not in page
    assert "The files change none of the stored orders: the snapshot as of" in page
    assert "is kept as it is" in page and "--as-of DATE" in page


def test_an_upload_is_analysed_with_the_last_analysis_options(workspace_copy, web_shop, tmp_path):
    """A discount rate of 0, a model named and seasons turned off by `valuecast analyze` are
    those of the upload's analysis too: the dashboard's read a rate of 0 as 10% and left the
    model, seasons, covariates and calendar out, replacing the merchant's snapshot with them."""
    from typer.testing import CliRunner

    from valuecast.cli import app as valuecast
    from valuecast.jobs.snapshots import last_options

    done = CliRunner().invoke(
        valuecast,
        ["analyze", "-w", str(workspace_copy), "-o", str(tmp_path / "out"),
         "--annual-discount-rate", "0", "--model", "bgnbd", "--no-seasons", "--horizon", "6"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert re.search(r"discount rate in predicted CLV\s+0% a year", done.output), done.output
    app = create_app(workspace_copy, warm=False)
    try:
        client = TestClient(app, base_url="http://127.0.0.1")
        client.headers["X-CSRF-Token"] = client.get("/api/v1/csrf").json()["csrf_token"]
        response = client.post(
            "/api/v1/uploads", files={"files": ("new.csv", web_shop.second.read_bytes())}
        )
        assert wait(client, response.json())["state"] == "done"
        model = client.get("/api/v1/model").json()["model"]
    finally:
        app.state.dashboard.close()
    with Workspace(workspace_copy, read_only=True) as ws:
        options = last_options(ws)
    assert (options.annual_discount_rate, options.model, options.seasons, options.horizon) == (
        0.0, "bgnbd", False, 6,
    )  # fmt: skip
    assert model["name"] == "bgnbd"


def test_a_customers_history_says_when_its_snapshots_ran_with_other_settings(
    workspace_copy, tmp_path
):
    """A snapshot at a 40% margin over 24 months beside one at 100% over 12: the customer
    page's table across snapshots read 251.46 and 731.27 with nothing to say they differ."""
    from typer.testing import CliRunner

    from valuecast.cli import app as valuecast

    done = CliRunner().invoke(
        valuecast,
        ["analyze", "-w", str(workspace_copy), "-o", str(tmp_path / "out"), "--as-of",
         "2026-03-31", "--margin", "0.4", "--horizon", "24"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    with Workspace(workspace_copy, read_only=True) as ws:
        (both,) = ws.raw.execute(
            "SELECT customer_id FROM snapshot_customers GROUP BY 1 HAVING count(*) = 2 LIMIT 1"
        ).fetchone()
    app = create_app(workspace_copy, warm=False)
    try:
        client = TestClient(app, base_url="http://127.0.0.1")
        page = " ".join(client.get(f"/customers/{both}").text.split())
    finally:
        app.state.dashboard.close()
    assert 'id="history-settings"' in page
    assert (
        "The snapshots&#39; predictions ran with other settings (2026-03-31: horizon 24 months, "
        "margin 40%; "
    ) in page
    assert ": their predicted CLVs do not compare like with like." in page


def test_a_snapshot_whose_blended_cac_counts_no_guest_orders_still_shows(upload_client):
    """Snapshots stored by versions whose CAC rows had no ``guest_orders`` (the Channels page
    failed with an error 500 on them): the page reads the blended CAC without that count."""
    import json

    import duckdb

    client, app, path = upload_client
    months = [f"{2024 + (6 + k) // 12}-{(6 + k) % 12 + 1:02d}" for k in range(24)]
    text = "month,spend\n" + "".join(f"{month},1000\n" for month in months)
    response = client.post("/api/v1/spend", files={"file": ("shop.csv", text.encode())})
    assert wait(client, response.json())["state"] == "done"
    app.state.dashboard.close()
    with duckdb.connect(str(path)) as con:
        snapshot_id, text = con.execute(
            "SELECT snapshot_id, summary FROM snapshots ORDER BY snapshot_id DESC LIMIT 1"
        ).fetchone()
        summary = json.loads(text)
        del summary["growth"]["cac"]["guest_orders"]
        con.execute("UPDATE snapshots SET summary = ? WHERE snapshot_id = ?",
                    [json.dumps(summary), snapshot_id])  # fmt: skip
        # the pages are made again from the summary, as for a snapshot stored without them
        con.execute("DELETE FROM snapshot_pages WHERE snapshot_id = ?", [snapshot_id])
    again = create_app(path, warm=False)
    try:
        page = TestClient(again, base_url="http://127.0.0.1").get("/channels")
    finally:
        again.state.dashboard.close()
    assert page.status_code == 200, page.text[-2000:]
    assert 'id="blended-cac"' in page.text


def test_a_snapshot_another_build_made_is_said_to_follow_its_definitions(workspace_copy):
    """After an upgrade the dashboard shows the older build's snapshots as they were stored,
    saying whose definitions their figures follow; this build's own say nothing."""
    import json

    import duckdb

    def overview() -> str:
        app = create_app(workspace_copy, warm=False)
        try:
            return TestClient(app, base_url="http://127.0.0.1").get("/").text
        finally:
            app.state.dashboard.close()

    assert 'id="another-build"' not in overview()
    with duckdb.connect(str(workspace_copy)) as con:
        for snapshot_id, options in con.execute(
            "SELECT snapshot_id, options FROM snapshots"
        ).fetchall():
            older = {k: v for k, v in json.loads(options or "{}").items() if k != "made_by"}
            con.execute("UPDATE snapshots SET options = ? WHERE snapshot_id = ?",
                        [json.dumps(older), snapshot_id])  # fmt: skip
    page = " ".join(overview().split())
    assert (
        "This snapshot was made by another build of valuecast (an earlier version): its figures "
        "follow that build's definitions"
    ) in page
