"""`analyze FILE` again: files the workspace's last ingest read, unchanged since, are not read
again (valuecast.io.inputs); anything else that could change the stored orders is read."""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from valuecast.cli import app
from valuecast.datasets.demo_shop import generate_demo_shop
from valuecast.io import inputs as inputs_module
from valuecast.io.inputs import inputs_fingerprint
from valuecast.store import Workspace

runner = CliRunner()


@pytest.fixture
def settled(monkeypatch):
    """Files count as settled as soon as they are written (their times still tell any change)."""
    monkeypatch.setattr(inputs_module, "RECENT_SECONDS", 0.0)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("held") / "orders_export.csv"
    generate_demo_shop(path, customers=150, seed=11)
    return path


@pytest.fixture(scope="module")
def analysed(shop, tmp_path_factory):
    """The shop's export analysed into a new workspace, its files settled as with ``settled``,
    made once a module: the workspace and its results' folder (see :func:`_first_analysis`)."""
    folder = tmp_path_factory.mktemp("analysed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inputs_module, "RECENT_SECONDS", 0.0)
        _analyze(str(shop), "-w", str(folder / "w.duckdb"), "-o", str(folder / "first"))
    return folder / "w.duckdb", folder / "first"


def _first_analysis(analysed, workspace: Path, out: Path) -> None:
    """``analyze SHOP -w workspace -o out`` on a new workspace: the module's one, copied."""
    shutil.copy(analysed[0], workspace)
    shutil.copytree(analysed[1], out, dirs_exist_ok=True)


def _analyze(*args: str) -> str:
    result = runner.invoke(app, ["analyze", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _ingest_ids(workspace) -> list[int]:
    with Workspace(workspace, read_only=True) as ws:
        return ws.ingests()["ingest_id"].tolist()


def test_a_fingerprint_tells_a_rewritten_file_from_the_same_one(tmp_path, settled):
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,date,revenue\na,2024-01-01,10\n")
    first = inputs_fingerprint([str(path)], None, None, None)
    assert first is not None
    assert inputs_fingerprint([str(path)], None, None, None) == first
    # the same size and modification time, other bytes: the change time moved
    before = path.stat()
    time.sleep(0.05)  # past the file system clock's tick
    path.write_text("customer_id,date,revenue\nb,2024-01-01,10\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assert inputs_fingerprint([str(path)], None, None, None) != first


def test_a_fingerprint_follows_the_options_and_the_day(tmp_path, settled):
    path, rates = tmp_path / "orders.csv", tmp_path / "rates.csv"
    path.write_text("customer_id,date,revenue\na,2024-01-01,10\n")
    rates.write_text("currency,rate\nEUR,1.1\n")
    day = date(2026, 12, 5)
    plain = inputs_fingerprint([str(path)], None, None, None, today=day)
    assert plain == inputs_fingerprint([str(path)], None, None, None, today=day)
    others = [
        inputs_fingerprint([str(path)], "shopify", None, None, today=day),
        inputs_fingerprint([str(path)], None, "customer_id=customer_id", None, today=day),
        inputs_fingerprint([str(path)], None, None, rates, today=day),
        inputs_fingerprint([str(path)], None, None, None, today=date(2026, 12, 6)),
        inputs_fingerprint([str(path), str(path)], None, None, None, today=day),
    ]
    assert len({plain, *others}) == 1 + len(others)


def test_no_fingerprint_for_a_table_a_missing_or_a_just_written_file(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,date,revenue\n")
    # written just now: a change within the clock's tick could keep its times
    assert inputs_fingerprint([str(path)], None, None, None) is None
    assert inputs_fingerprint([str(tmp_path / "missing.csv")], None, None, None) is None
    assert inputs_fingerprint(["duckdb:///shop.duckdb#orders"], None, None, None) is None
    assert inputs_fingerprint([str(tmp_path)], None, None, None) is None  # a folder


def test_the_same_export_again_is_analysed_as_stored_without_reading_it(
    shop, analysed, tmp_path, settled
):
    workspace = tmp_path / "w.duckdb"
    _first_analysis(analysed, workspace, tmp_path / "first")
    assert _ingest_ids(workspace) == [1]
    again = _analyze(str(shop), "-w", str(workspace), "-o", str(tmp_path / "again"))
    assert f"note: {shop}: unchanged since ingest 1 read it" in " ".join(again.split())
    assert _ingest_ids(workspace) == [1]  # nothing read, nothing ingested
    _analyze("-w", str(workspace), "-o", str(tmp_path / "stored"))
    # the same results as the analysis of the stored orders, and as the first run's
    for name in ("customers.csv", "channels.csv", "cohorts.csv", "ingest_report.json"):
        text = (tmp_path / "again" / name).read_bytes()
        assert text == (tmp_path / "stored" / name).read_bytes(), name
        assert text == (tmp_path / "first" / name).read_bytes(), name


def test_a_changed_export_or_another_ingest_between_is_read_again(shop, tmp_path, settled):
    workspace = tmp_path / "w.duckdb"
    export = tmp_path / "orders_export.csv"
    export.write_bytes(shop.read_bytes())
    _analyze(str(export), "-w", str(workspace), "-o", str(tmp_path / "out"))
    # another export ingested after it: this one's orders may have been changed since
    other = tmp_path / "other.csv"
    generate_demo_shop(other, customers=60, seed=12)
    result = runner.invoke(app, ["ingest", str(other), "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    _analyze(str(export), "-w", str(workspace), "-o", str(tmp_path / "out"))
    assert _ingest_ids(workspace) == [1, 2, 3]
    # touched: the same bytes, but nothing says so without reading them
    time.sleep(0.05)
    os.utime(export)
    _analyze(str(export), "-w", str(workspace), "-o", str(tmp_path / "out"))
    assert _ingest_ids(workspace) == [1, 2, 3, 4]
    # other options read it again too
    _analyze(str(export), "-w", str(workspace), "-o", str(tmp_path / "out"), "--format", "shopify")
    assert _ingest_ids(workspace) == [1, 2, 3, 4, 5]


def test_an_ingest_records_its_inputs_for_the_next_analyze(shop, tmp_path, settled):
    workspace = tmp_path / "w.duckdb"
    result = runner.invoke(app, ["ingest", str(shop), "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    again = _analyze(str(shop), "-w", str(workspace), "-o", str(tmp_path / "out"))
    assert "unchanged since ingest 1 read it" in " ".join(again.split())
    assert _ingest_ids(workspace) == [1]
    report = json.loads((tmp_path / "out" / "ingest_report.json").read_text())
    assert report["ingest_id"] == 1


def test_an_ingest_between_the_check_and_the_analysis_fails_it(
    shop, analysed, tmp_path, settled, monkeypatch
):
    from valuecast.store import workspace as workspace_module

    workspace = tmp_path / "w.duckdb"
    _first_analysis(analysed, workspace, tmp_path / "out")
    # as if the check had seen an ingest that another process has since followed with its own
    monkeypatch.setattr(workspace_module, "ingest_holding", lambda path, inputs: 7)
    result = runner.invoke(
        app, ["analyze", str(shop), "-w", str(workspace), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert "another command ingested into it meanwhile: run again" in " ".join(
        result.output.split()
    )


def test_a_workspace_without_recorded_inputs_reads_the_files(shop, analysed, tmp_path, settled):
    workspace = tmp_path / "w.duckdb"
    _first_analysis(analysed, workspace, tmp_path / "out")
    # as an older version left it: no table of inputs
    con = duckdb.connect(str(workspace))
    con.execute("DROP TABLE ingest_inputs")
    con.close()
    with Workspace(workspace, read_only=True) as ws:
        assert ws.latest_ingest_inputs() == (1, None)
    _analyze(str(shop), "-w", str(workspace), "-o", str(tmp_path / "out"))
    assert _ingest_ids(workspace) == [1, 2]
    _analyze(str(shop), "-w", str(workspace), "-o", str(tmp_path / "out"))
    assert _ingest_ids(workspace) == [1, 2]  # the second run recorded them


def test_the_same_export_and_options_again_keep_the_snapshot_and_write_its_results(
    shop, analysed, tmp_path, settled
):
    # a merchant re-running the same quarter: the stored snapshot is what the analysis would
    # make again, so it is kept under its id (no second entry for the same analysis), said so,
    # and its results are written again byte for byte; other options are a new analysis
    from valuecast.store.snapshots import list_snapshots

    workspace = tmp_path / "ws.duckdb"
    _first_analysis(analysed, workspace, tmp_path / "first")
    again = " ".join(
        _analyze(str(shop), "-w", str(workspace), "-o", str(tmp_path / "again")).split()
    )
    with Workspace(workspace, read_only=True) as ws:
        assert [info.snapshot_id for info in list_snapshots(ws)] == [1]
        as_of = list_snapshots(ws)[0].as_of
    assert (
        f"this is snapshot 1 ({as_of}) again: the workspace's orders are as it read them and "
        "these options are its own, so it is kept under its id"
    ) in again, again
    assert "replaces snapshot" not in again
    written = sorted(path.name for path in (tmp_path / "first").iterdir())
    assert written == sorted(path.name for path in (tmp_path / "again").iterdir())
    for name in written:
        first, second = tmp_path / "first" / name, tmp_path / "again" / name
        assert first.read_bytes() == second.read_bytes(), name
    other = _analyze(
        str(shop), "-w", str(workspace), "-o", str(tmp_path / "h24"), "--horizon", "24"
    )
    assert "replaces snapshot 1" in " ".join(other.split())
    with Workspace(workspace, read_only=True) as ws:
        assert [info.snapshot_id for info in list_snapshots(ws)] == [2]


def test_the_same_orders_downloaded_again_keep_the_snapshot(shop, analysed, tmp_path, settled):
    # the quarter's export downloaded again (another file, the same orders) is read and changes
    # nothing: the snapshot is kept under its id, and the results are its own; one order
    # edited is a new analysis of the same date, replacing it
    from valuecast.store.snapshots import list_snapshots, reusable_snapshot

    workspace = tmp_path / "ws.duckdb"
    _first_analysis(analysed, workspace, tmp_path / "first")
    copy = tmp_path / "orders_export (1).csv"
    copy.write_bytes(shop.read_bytes())
    again = " ".join(
        _analyze(str(copy), "-w", str(workspace), "-o", str(tmp_path / "again")).split()
    )
    assert "unchanged 0" not in again and "(new 0, updated 0" in again  # read again
    assert "this is snapshot 1 (" in again and "replaces snapshot" not in again, again
    for name in ("customers.csv", "summary.json", "cohorts.csv"):
        first, second = tmp_path / "first" / name, tmp_path / "again" / name
        assert first.read_bytes() == second.read_bytes(), name
    with Workspace(workspace, read_only=True) as ws:
        assert [info.snapshot_id for info in list_snapshots(ws)] == [1]
        assert _ingest_ids(workspace) == [1, 2]
        assert reusable_snapshot(ws) == 1  # the analysis of the workspace as it is now
    edited = tmp_path / "orders_export (2).csv"
    with shop.open(newline="") as source:
        rows = list(csv.reader(source))
    subtotal = rows[0].index("Subtotal")
    row = next(row for row in rows[1:] if row[subtotal])  # an order's first line
    row[subtotal] = f"{float(row[subtotal]) + 7:.2f}"
    with edited.open("w", newline="") as target:
        csv.writer(target).writerows(rows)
    changed = " ".join(
        _analyze(str(edited), "-w", str(workspace), "-o", str(tmp_path / "e")).split()
    )
    assert "updated 1" in changed and "replaces snapshot 1" in changed, changed


def test_a_new_quarters_orders_are_not_fingerprinted(shop, tmp_path, settled, monkeypatch):
    """What the analysis reads is fingerprinted to tell an export that changes nothing (its
    snapshot kept): read as last committed once the ingest reports no change, never for an
    export of new orders, whose refresh skips that scan of every stored order."""
    from valuecast.store.snapshots import list_snapshots

    calls = []
    fingerprint = Workspace.stored_fingerprint

    def counted(self, **kwargs):
        calls.append(kwargs)
        return fingerprint(self, **kwargs)

    monkeypatch.setattr(Workspace, "stored_fingerprint", counted)
    with shop.open(newline="") as source:
        rows = list(csv.reader(source))
    created = rows[0].index("Created at")
    early = tmp_path / "early" / "orders_export.csv"
    early.parent.mkdir()
    with early.open("w", newline="") as target:
        csv.writer(target).writerows([rows[0], *(r for r in rows[1:] if r[created] < "2026")])
    workspace = tmp_path / "ws.duckdb"
    _analyze(str(early), "-w", str(workspace), "-o", str(tmp_path / "q1"))
    new = " ".join(_analyze(str(shop), "-w", str(workspace), "-o", str(tmp_path / "q2")).split())
    assert calls == [] and "(new 73, updated 0" in new, new
    again = tmp_path / "orders_export (1).csv"
    again.write_bytes(shop.read_bytes())
    kept = " ".join(_analyze(str(again), "-w", str(workspace), "-o", str(tmp_path / "k")).split())
    assert calls == [{"committed": True}, {}] and "this is snapshot 2 (" in kept, kept
    assert "replaces snapshot" not in kept and _ingest_ids(workspace) == [1, 2, 3]
    with Workspace(workspace, read_only=True) as ws:
        assert [info.snapshot_id for info in list_snapshots(ws)] == [1, 2]


def test_a_snapshot_another_build_made_is_analysed_anew(shop, analysed, tmp_path, settled):
    """After an upgrade the same export and options are analysed by this build, not given back
    as the older build stored them (its fixes would otherwise wait for new orders)."""
    from valuecast.store.snapshots import list_snapshots, reusable_snapshot

    workspace = tmp_path / "ws.duckdb"
    _first_analysis(analysed, workspace, tmp_path / "first")
    with Workspace(workspace, read_only=True) as ws:
        assert reusable_snapshot(ws) == 1
    con = duckdb.connect(str(workspace))
    (stored,) = con.execute("SELECT options FROM snapshots").fetchone()
    older = {key: value for key, value in json.loads(stored).items() if key != "made_by"}
    con.execute("UPDATE snapshots SET options = ?", [json.dumps(older, sort_keys=True)])
    con.close()
    with Workspace(workspace, read_only=True) as ws:
        assert reusable_snapshot(ws) is None
    again = " ".join(
        _analyze(str(shop), "-w", str(workspace), "-o", str(tmp_path / "again")).split()
    )
    assert "this is snapshot 1" not in again and "replaces snapshot 1" in again, again
    with Workspace(workspace, read_only=True) as ws:
        assert [info.snapshot_id for info in list_snapshots(ws)] == [2]
        assert reusable_snapshot(ws) == 2


def _as_another_build_left_it(workspace) -> None:
    """The workspace as an older build of valuecast left it: its ingests, inputs and snapshot
    recorded no build (as every version before this record did)."""

    con = duckdb.connect(str(workspace))
    for ingest_id, report in con.execute("SELECT ingest_id, report FROM ingests").fetchall():
        report = {k: v for k, v in json.loads(report).items() if k != "made_by"}
        con.execute("UPDATE ingests SET report = ? WHERE ingest_id = ?",
                    [json.dumps(report), ingest_id])  # fmt: skip
    con.execute("UPDATE ingest_inputs SET inputs = 'another build'")
    for snapshot_id, options in con.execute(
        "SELECT snapshot_id, options FROM snapshots"
    ).fetchall():
        options = {k: v for k, v in json.loads(options).items() if k != "made_by"}
        con.execute("UPDATE snapshots SET options = ? WHERE snapshot_id = ?",
                    [json.dumps(options), snapshot_id])  # fmt: skip
    con.close()


def test_orders_another_build_read_are_noted_until_read_again(shop, analysed, tmp_path, settled):
    """Orders stored by an older build stand as its rules read them: the analysis says so and
    how to read them again; the same export given again is read again (not skipped as the
    inputs of the last ingest), and the note goes once this build has read every order."""
    workspace = tmp_path / "ws.duckdb"
    _first_analysis(analysed, workspace, tmp_path / "first")
    _as_another_build_left_it(workspace)
    with Workspace(workspace, read_only=True) as ws:
        orders = len(ws.orders().to_pandas())
        assert ws.orders_read_by_other_builds() == (orders, 1)
    noted = " ".join(_analyze("-w", str(workspace), "-o", str(tmp_path / "a")).split())
    assert (
        f"note: {orders:,} stored orders were read by another build of valuecast (1 earlier "
        "ingest) and stand as its rules read them"
    ) in noted, noted
    assert "ingest the whole order history again" in noted
    again = " ".join(_analyze(str(shop), "-w", str(workspace), "-o", str(tmp_path / "b")).split())
    assert "another build" not in again, again
    assert _ingest_ids(workspace) == [1, 2]  # read again, not skipped as the same inputs
    with Workspace(workspace, read_only=True) as ws:
        assert ws.orders_read_by_other_builds() == (0, 0)
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert not [note for note in summary["notes"] if "another build" in note]
