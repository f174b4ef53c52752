"""The dashboard's Products page keeps and forgets the non-product names as the commands'
``--not-product`` and ``--clear-not-products`` do (``PUT`` / ``DELETE /api/v1/not-products``)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from test_cli_not_products import LINES, ORDERS, SAMPLE
from test_cli_products import make_workspace
from valuecast.cli import app as valuecast
from valuecast.store import Workspace
from valuecast.store.not_products import kept_not_products
from valuecast.store.snapshots import list_snapshots, load_customers
from valuecast.web import create_app


def wait(client, job: dict, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while job["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
        job = client.get(f"/api/v1/jobs/{job['job_id']}").json()
    return job


def first_products(workspace) -> set[str]:
    """The first products of the latest snapshot's customers, and the names it kept."""
    with Workspace(workspace, read_only=True) as ws:
        latest = list_snapshots(ws)[-1].snapshot_id
        return set(load_customers(ws, latest)["first_product"])


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> Path:
    """The shop of ``test_cli_not_products`` after `valuecast analyze`, made once a module
    (tests copy it before writing to it)."""
    folder = tmp_path_factory.mktemp("analysed")
    workspace = make_workspace(folder / "w.duckdb", ORDERS, LINES)
    done = CliRunner().invoke(valuecast, ["analyze", "-w", str(workspace), "-o", str(folder)])
    assert done.exit_code == 0, done.output
    return workspace


def test_the_products_page_keeps_and_forgets_the_non_product_names(analysed, tmp_path):
    workspace = tmp_path / "w.duckdb"
    shutil.copy(analysed, workspace)
    assert first_products(workspace) == {SAMPLE}
    app = create_app(workspace, warm=False)
    try:
        client = TestClient(app, base_url="http://127.0.0.1")
        client.headers["X-CSRF-Token"] = client.get("/api/v1/csrf").json()["csrf_token"]
        page = client.get("/products").text
        assert 'id="not-products-set"' in page and 'id="kept-not-products"' not in page

        # a write like the uploads: the CSRF token is checked
        wrong = client.put(
            "/api/v1/not-products", data={"names": SAMPLE}, headers={"X-CSRF-Token": "x" * 43}
        )
        assert wrong.status_code == 403
        response = client.put("/api/v1/not-products", data={"names": f" {SAMPLE} \n\n"})
        assert response.status_code == 202, response.text
        job = wait(client, response.json())
        assert job["state"] == "done", job
        assert (job["kind"], job["files"]) == ("not-products", [SAMPLE])
        page = client.get("/products").text
        assert 'id="kept-not-products"' in page and f"<strong>{SAMPLE}</strong>" in page
        assert 'id="not-products-forget"' in page
        assert f">{SAMPLE}</textarea>" in page  # the names kept, to change

        response = client.delete("/api/v1/not-products")
        assert response.status_code == 202, response.text
        assert wait(client, response.json())["state"] == "done"
        page = client.get("/products").text
        assert 'id="kept-not-products"' not in page and 'id="not-products-forget"' not in page
        again = client.delete("/api/v1/not-products")
        assert again.status_code == 404 and "nothing to forget" in again.text
    finally:
        app.state.dashboard.close()
    assert first_products(workspace) == {SAMPLE}


def test_a_name_kept_on_the_dashboard_is_left_out_of_its_snapshot_and_the_commands(
    analysed, tmp_path
):
    workspace = tmp_path / "w.duckdb"
    shutil.copy(analysed, workspace)
    app = create_app(workspace, warm=False)
    try:
        client = TestClient(app, base_url="http://127.0.0.1")
        client.headers["X-CSRF-Token"] = client.get("/api/v1/csrf").json()["csrf_token"]
        response = client.put("/api/v1/not-products", data={"names": f"{SAMPLE}\nGift Boxx"})
        assert wait(client, response.json())["state"] == "done"
        products = client.get("/api/v1/products").json()
        assert SAMPLE not in str(products)
        # a name no line carries is pointed out
        unmatched = "No order line is named <strong>Gift Boxx</strong>: check the spelling"
        assert unmatched in client.get("/products").text
    finally:
        app.state.dashboard.close()
    assert first_products(workspace) == {"Coffee"}
    with Workspace(workspace, read_only=True) as ws:
        assert kept_not_products(ws) == ("Gift Boxx", SAMPLE)
    said = CliRunner().invoke(valuecast, ["reminders", "-w", str(workspace)])
    assert f"'{SAMPLE}' left out as no product" in " ".join(said.output.split())
