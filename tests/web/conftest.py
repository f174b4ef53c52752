"""A small simulated shop analysed twice (two snapshots) for the dashboard tests.

``web_shop`` (once per session): 700 simulated customers as a Shopify export ingested into a
workspace, analysed as of 2026-03-31 and as of its last order date (2026-06-30), both stored as
snapshots the way ``valuecast analyze`` stores them; a second export of another simulated shop to
upload, and a marketing spend file.  ``workspace_copy`` gives a test its own copy to change.
"""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from valuecast.datasets.demo_shop import generate_demo_shop
from valuecast.io import read_exports
from valuecast.jobs.analyze import AnalysisOptions, analyze_with_growth
from valuecast.store import Workspace
from valuecast.store.snapshots import save_snapshot, store_sort_orders

CHANNELS = {"google": 300.0, "instagram": 150.0, "facebook ads": 200.0}
TOKEN = "a-long-test-token-0123456789"


@pytest.fixture(scope="session")
def web_shop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web-shop")
    export = folder / "orders_export.csv"
    generate_demo_shop(export, customers=700, seed=4)
    workspace = folder / "shop.duckdb"
    with Workspace(workspace) as ws:
        report = ws.ingest(read_exports([export])).to_dict()
        for as_of in ("2026-03-31", None):
            analysis, tables = analyze_with_growth(ws, AnalysisOptions(as_of=as_of))
            info = save_snapshot(ws, analysis, tables, report)
            store_sort_orders(ws, info.snapshot_id)
    second = folder / "second_export.csv"
    generate_demo_shop(second, customers=400, seed=9)
    spend = folder / "spend.csv"
    months = [f"{2024 + (6 + k) // 12}-{(6 + k) % 12 + 1:02d}" for k in range(24)]
    spend.write_text(
        "month,channel,spend\n"
        + "".join(f"{m},{c},{v}\n" for m in months for c, v in CHANNELS.items())
    )
    return SimpleNamespace(folder=folder, export=export, workspace=workspace, second=second,
                           spend=spend)  # fmt: skip


@pytest.fixture
def workspace_copy(web_shop, tmp_path):
    target = tmp_path / "shop.duckdb"
    shutil.copy(web_shop.workspace, target)
    return target


def client_for(app, **kwargs):
    from fastapi.testclient import TestClient

    return TestClient(app, base_url="http://127.0.0.1", **kwargs)


@pytest.fixture(scope="module")
def app(web_shop, tmp_path_factory):
    """The dashboard on a module's own copy of the shop (no token, loopback)."""
    from valuecast.web import create_app

    path = tmp_path_factory.mktemp("web-app") / "shop.duckdb"
    shutil.copy(web_shop.workspace, path)
    application = create_app(path, warm=False)
    yield application
    application.state.dashboard.close()


@pytest.fixture(scope="module")
def client(app):
    return client_for(app)


def pytest_configure(config):
    # Starlette 1.x suggests httpx2 for its test client; httpx is what FastAPI documents
    config.addinivalue_line(
        "filterwarnings", "ignore:Using `httpx` with `starlette.testclient` is deprecated"
    )
