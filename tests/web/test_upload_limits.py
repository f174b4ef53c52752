"""Upload limits beyond the body size: a Parquet file's rows and uncompressed size, checked from
its footer before anything is imported; and the temporary folders of a killed server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from valuecast.web import create_app
from valuecast.web.uploads import (
    UploadTooLarge,
    check_parquet_size,
    new_folder,
    parquet_limits,
)

LIMIT = 2**20  # 1 MB: the Parquet caps are then 10,485 rows and 2 MB uncompressed


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    """The temporary folder (of this process and of the ones it starts) inside the test's own."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    monkeypatch.setenv("TMPDIR", str(root))
    return root


@pytest.fixture
def small_limit_client(workspace_copy, temp_root):
    app = create_app(workspace_copy, warm=False, max_upload_bytes=LIMIT)
    client = TestClient(app, base_url="http://127.0.0.1")
    client.headers["X-CSRF-Token"] = client.get("/api/v1/csrf").json()["csrf_token"]
    yield client
    app.state.dashboard.close()


def orders_parquet(path: Path, rows: int, customer=None) -> Path:
    """An orders table of ``rows`` rows: identical ones (dictionary-encoded, zstd) by default."""
    same = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), ["x"])
    table = pa.table(
        {
            "order_id": same.dictionary_decode() if customer is None else customer,
            "customer_id": same if customer is None else customer,
            "order_date": pa.array(np.full(rows, np.datetime64("2025-01-01", "us"))),
            "revenue": pa.array(np.ones(rows)),
        }
    )
    pq.write_table(table, path, compression="zstd")
    return path


def test_a_parquet_bomb_is_refused_at_upload_and_the_server_stays_up(
    small_limit_client, tmp_path, temp_root
):
    client = small_limit_client
    bomb = orders_parquet(tmp_path / "bomb.parquet", 3_000_000)
    assert bomb.stat().st_size < LIMIT  # within the body limit: only the footer tells
    response = client.post(
        "/api/v1/uploads", files={"files": ("orders.parquet", bomb.read_bytes())}
    )
    assert response.status_code == 413, response.text
    detail = response.json()["detail"]
    assert detail.startswith("orders.parquet: 3,000,000 rows") and "\n" not in detail
    assert "at most 10,485 rows" in detail and "--max-upload-mb" in detail
    assert list(temp_root.iterdir()) == []  # its temporary folder is gone
    # the server still answers, and no job was started
    assert client.get("/api/v1/snapshots").status_code == 200
    assert len(client.get("/api/v1/snapshots").json()) == 2


def test_parquet_caps_count_rows_and_uncompressed_bytes(tmp_path):
    max_rows, max_bytes = parquet_limits(LIMIT)
    assert (max_rows, max_bytes) == (10_485, 2 * LIMIT)
    fine = orders_parquet(tmp_path / "fine.parquet", max_rows)
    check_parquet_size([(fine, "fine.parquet")], LIMIT)
    too_many = orders_parquet(tmp_path / "many.parquet", max_rows + 1)
    with pytest.raises(UploadTooLarge, match=r"^many\.parquet: 10,486 rows"):
        check_parquet_size([(too_many, "many.parquet")], LIMIT)
    # few rows, but long distinct cells: 5,000 x 500 bytes is 2.4 MB uncompressed
    wide = pa.array([f"{i:0500d}" for i in range(5000)])
    path = orders_parquet(tmp_path / "wide.parquet", 5000, customer=wide)
    assert path.stat().st_size < LIMIT
    with pytest.raises(UploadTooLarge, match=r"^wide\.parquet: 5,000 rows, 4\.\d MB uncompressed"):
        check_parquet_size([(path, "wide.parquet")], LIMIT)
    # a CSV is limited by its size already; a broken Parquet file is left to the importer
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    check_parquet_size([(tmp_path / "broken.parquet", "b.parquet")], LIMIT)


def test_upload_folders_of_a_killed_server_are_removed_at_start_up(workspace_copy, temp_root):
    # a server process killed while it held an upload
    killed = subprocess.Popen(
        [sys.executable, "-c",
         "import time\nfrom valuecast.web.uploads import new_folder\n"
         "folder = new_folder()\n(folder / 'upload-1.csv').write_text('order_id\\n1\\n')\n"
         "print(folder, flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    left = Path(killed.stdout.readline().strip())
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert left.parent == temp_root and (left / "upload-1.csv").exists()
    running = new_folder()  # this process's own: its server is still running
    unknown = temp_root / "valuecast-upload-abc123"  # no PID in the name: not ours to judge
    unknown.mkdir()
    app = create_app(workspace_copy, warm=False)
    app.state.dashboard.close()
    assert not left.exists()
    assert running.is_dir() and unknown.is_dir()
    assert running.name.startswith(f"valuecast-upload-{os.getpid()}-")
