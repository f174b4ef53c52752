"""Snapshots in the workspace: storing, reading, history, comparison and refresh's one transaction.

The comparison tests store two hand-written customers tables (no model involved), so every cell
of the migration matrices is known in advance.
"""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from valuecast.io import read_exports
from valuecast.io.calendar import Calendar
from valuecast.jobs import snapshots as snapshot_jobs
from valuecast.jobs.analyze import Analysis, AnalysisOptions, analyze_with_growth
from valuecast.store import Workspace, snapshots
from valuecast.tables import CUSTOMER_COLUMNS


def _customers(rows: list[tuple]) -> pd.DataFrame:
    """A customers table from (id, rfm_group, tier, historic_clv, predicted_clv) tuples."""
    frame = pd.DataFrame(
        rows,
        columns=["customer_id", "rfm_group", "predicted_spend_tier", "historic_clv",
                 "predicted_clv"],
    )  # fmt: skip
    for column in CUSTOMER_COLUMNS:
        if column in frame:
            continue
        if column.endswith("_date"):
            frame[column] = pd.Timestamp("2025-01-01")
        elif column in ("acquisition_channel", "first_discount_code", "first_product",
                        "rfm_score"):  # fmt: skip
            frame[column] = "x"
        elif column == "accepts_marketing":
            frame[column] = True
        elif column in ("historic_number_of_orders", "frequency", "rfm_recency", "rfm_frequency",
                        "rfm_monetary"):  # fmt: skip
            frame[column] = 1
        else:
            frame[column] = 0.5
    return frame[list(CUSTOMER_COLUMNS)]


def _analysis(as_of: str, rows: list[tuple]) -> Analysis:
    customers = _customers(rows)
    summary = {
        "as_of": as_of,
        "n_customers": len(customers),
        "n_orders": 2 * len(customers),
        "model": {"name": "bgnbd"},
        "totals": {
            "historic_clv": float(customers["historic_clv"].sum()),
            "predicted_clv": float(customers["predicted_clv"].sum()),
        },
        "rfm_groups": {
            name: {"count": int(n)} for name, n in customers["rfm_group"].value_counts().items()
        },
        "spend_tiers": {
            name: {"count": int(n)}
            for name, n in customers["predicted_spend_tier"].value_counts().items()
        },
    }
    return Analysis(customers=customers, summary=summary)


BEFORE = [
    ("a", "Champions", "high", 500.0, 300.0),
    ("b", "Loyal", "high", 400.0, 200.0),
    ("c", "New", "medium", 50.0, 40.0),
    ("d", "At risk", "high", 300.0, 90.0),  # already at risk: not a mover
    ("e", "Dormant", "low", 10.0, 1.0),
]
AFTER = [
    ("a", "Champions", "high", 700.0, 320.0),
    ("b", "At risk", "medium", 400.0, 60.0),  # high -> at risk
    ("c", "Almost lost", "low", 50.0, 5.0),  # medium: not high value before
    ("d", "Previously loyal", "medium", 300.0, 30.0),
    ("e", "Dormant", "low", 10.0, 1.0),
    ("f", "New", "medium", 80.0, 50.0),  # new customer
]


@pytest.fixture
def workspace(tmp_path):
    with Workspace(tmp_path / "w.duckdb") as ws:
        yield ws


def test_no_snapshots_yet(workspace):
    assert snapshots.list_snapshots(workspace) == []
    assert snapshots.latest_snapshot(workspace) is None
    assert snapshot_jobs.history(workspace).empty
    assert snapshots.customer_history(workspace, "a").empty
    with pytest.raises(snapshots.SnapshotError, match="no snapshots yet"):
        snapshots.resolve_snapshot(workspace, "latest")


def test_save_and_load_round_trip(workspace):
    analysis = _analysis("2025-03-31", BEFORE)
    tables = {"cohorts.csv": pd.DataFrame({"cohort_month": ["2025-01"], "customers": [5]})}
    info = snapshots.save_snapshot(workspace, analysis, tables, {"ingest_id": 1})
    assert info.snapshot_id == 1 and info.as_of == date(2025, 3, 31)
    assert info.n_customers == 5 and info.historic_clv == 1260.0 and info.predicted_clv == 631.0
    loaded = snapshots.load_customers(workspace, 1)
    assert list(loaded.columns) == list(CUSTOMER_COLUMNS)
    assert loaded["customer_id"].tolist() == ["a", "b", "c", "d", "e"]
    assert loaded["predicted_clv"].tolist() == [300.0, 200.0, 40.0, 90.0, 1.0]
    assert loaded["first_order_date"].tolist() == [date(2025, 1, 1)] * 5
    assert snapshots.load_summary(workspace, 1) == analysis.summary
    assert snapshots.load_ingest_report(workspace, 1) == {"ingest_id": 1}
    assert snapshots.load_tables(workspace, 1)["cohorts.csv"].equals(tables["cohorts.csv"])
    with pytest.raises(snapshots.SnapshotError):
        snapshots.load_customers(workspace, 7)


def test_same_as_of_replaces_and_later_adds(workspace):
    snapshots.save_snapshot(workspace, _analysis("2025-03-31", BEFORE))
    snapshots.save_snapshot(workspace, _analysis("2025-03-31", BEFORE[:2]))
    listed = snapshots.list_snapshots(workspace)
    assert [(s.snapshot_id, s.n_customers) for s in listed] == [(2, 2)]
    count = workspace.con.con.execute("SELECT count(*) FROM snapshot_customers").fetchone()[0]
    assert count == 2  # the replaced snapshot's customers are gone
    snapshots.save_snapshot(workspace, _analysis("2025-06-30", AFTER))
    assert [s.as_of.isoformat() for s in snapshots.list_snapshots(workspace)] == [
        "2025-03-31",
        "2025-06-30",
    ]
    assert snapshots.resolve_snapshot(workspace, "2025-03-31").snapshot_id == 2
    assert snapshots.resolve_snapshot(workspace, "previous").snapshot_id == 2
    assert snapshots.resolve_snapshot(workspace, "3").as_of == date(2025, 6, 30)
    with pytest.raises(snapshots.SnapshotError, match="no snapshot '9'"):
        snapshots.resolve_snapshot(workspace, "9")


def test_a_date_takes_the_snapshot_as_of_it_within_a_month(workspace):
    """A quarter's snapshot is dated by its last order: the quarter's end names it."""
    snapshots.save_snapshot(workspace, _analysis("2025-09-27", BEFORE))
    snapshots.save_snapshot(workspace, _analysis("2025-12-30", AFTER))
    as_of = lambda text: snapshots.resolve_snapshot(workspace, text).as_of.isoformat()  # noqa: E731
    assert as_of("2025-09-30") == "2025-09-27"
    assert as_of("2025-12-31") == "2025-12-30"
    assert as_of("2025-10-28") == "2025-09-27"  # 31 days on, no later snapshot yet
    # a date a quarter after the latest snapshot, or before the first, takes none
    for text in ("2026-03-31", "2025-10-29", "2025-09-26"):
        with pytest.raises(snapshots.SnapshotError, match=f"no snapshot as of {text}: .*31 days"):
            snapshots.resolve_snapshot(workspace, text)


def test_compare_counts_every_move(workspace):
    snapshots.save_snapshot(workspace, _analysis("2025-03-31", BEFORE))
    snapshots.save_snapshot(workspace, _analysis("2025-06-30", AFTER))
    comparison = snapshot_jobs.compare(workspace)  # previous -> latest
    rfm = comparison.rfm_matrix
    assert rfm.loc["(new)", "New"] == 1  # f
    assert rfm.loc["Champions", "Champions"] == 1  # a
    assert rfm.loc["Loyal", "At risk"] == 1  # b
    assert rfm.loc["New", "Almost lost"] == 1  # c
    assert rfm.loc["At risk", "Previously loyal"] == 1  # d
    assert rfm.loc["Dormant", "Dormant"] == 1  # e
    assert rfm.to_numpy().sum() == 6
    tiers = comparison.tier_matrix
    assert list(tiers.columns) == ["high", "medium", "low"]
    assert tiers.loc["high"].tolist() == [1, 2, 0]  # a stays; b, d fall to medium
    assert tiers.loc["medium"].tolist() == [0, 0, 1]  # c
    assert tiers.loc["low"].tolist() == [0, 0, 1]  # e
    assert tiers.loc["(new)"].tolist() == [0, 1, 0]  # f
    movers = comparison.high_value_to_at_risk
    assert movers["customer_id"].tolist() == ["b"]
    assert movers.iloc[0]["predicted_clv_before"] == 200.0
    assert movers.iloc[0]["rfm_group_after"] == "At risk"
    assert comparison.totals.loc["customers"].tolist() == [5, 6, 1]
    assert comparison.totals.loc["historic_clv", "change"] == pytest.approx(1540.0 - 1260.0)
    with pytest.raises(snapshots.SnapshotError, match="both sides"):
        snapshot_jobs.compare(workspace, "latest", "latest")


def test_history_and_customer_history(workspace):
    snapshots.save_snapshot(workspace, _analysis("2025-03-31", BEFORE))
    snapshots.save_snapshot(workspace, _analysis("2025-06-30", AFTER))
    table = snapshot_jobs.history(workspace)
    assert table["customers"].tolist() == [5, 6]
    assert table["rfm: Dormant"].tolist() == [1, 1]
    assert table["rfm: At risk"].tolist() == [1, 1]
    assert table["tier: high"].tolist() == [3, 1]
    assert table["historic_clv"].tolist() == [1260.0, 1540.0]
    b = snapshots.customer_history(workspace, "b")
    assert b["rfm_group"].tolist() == ["Loyal", "At risk"]
    assert b["predicted_clv"].tolist() == [200.0, 60.0]
    assert snapshots.customer_history(workspace, "f")["as_of"].tolist() == [date(2025, 6, 30)]


# ------------------------------------------------------------------------------------------------
# refresh on real exports
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """A small demo shop as two Shopify exports: up to 2025-12-31, and everything to 2026-06-30."""
    from shops import two_exports

    return two_exports(tmp_path_factory.mktemp("shop"), customers=600, seed=3)


@pytest.fixture(scope="module")
def refreshed_early(exports, tmp_path_factory):
    """A workspace after ``refresh`` of the early export (default options), and that refresh's
    result: each test works on a copy (:func:`_copy`)."""
    early, _ = exports
    path = tmp_path_factory.mktemp("early") / "w.duckdb"
    with Workspace(path) as ws:
        done = snapshot_jobs.refresh(ws, read_exports([early]))
    return path, done


@pytest.fixture(scope="module")
def refreshed_twice(exports, tmp_path_factory):
    """A workspace after ``refresh`` of the early export, then of the full one, on the frame path
    with every customer in the backtest; and the two refreshes' results."""
    early, full = exports
    options = AnalysisOptions(backtest_max_customers=None)
    path = tmp_path_factory.mktemp("twice") / "w.duckdb"
    with Workspace(path) as ws:
        first = snapshot_jobs.refresh(ws, read_exports([early]), options)
        second = snapshot_jobs.refresh(ws, read_exports([full]), options)
    return path, first, second


def _copy(path, tmp_path):
    copy = tmp_path / "w.duckdb"
    shutil.copy(path, copy)
    return copy


def _fingerprint(ws) -> tuple:
    raw = ws.con.con
    return (
        raw.execute("SELECT count(*), sum(net_revenue) FROM orders").fetchone(),
        raw.execute("SELECT count(*) FROM ingests").fetchone(),
        [s.as_of for s in snapshots.list_snapshots(ws)],
    )


def test_refresh_stores_a_snapshot_of_the_new_orders(tmp_path, refreshed_twice):
    path, first, second = refreshed_twice
    options = AnalysisOptions(backtest_max_customers=None)
    with Workspace(_copy(path, tmp_path)) as ws:
        assert first.snapshot.as_of < second.snapshot.as_of == date(2026, 6, 30)
        assert second.report.new_orders > 0 and second.report.unchanged_orders > 0
        # the stored snapshot is exactly the analysis refresh returned
        stored = snapshots.load_customers(ws, second.snapshot.snapshot_id)
        returned = second.analysis.customers.sort_values("customer_id").reset_index(drop=True)
        assert stored["customer_id"].tolist() == returned["customer_id"].tolist()
        for column in ("predicted_clv", "probability_alive", "historic_clv"):
            np.testing.assert_array_equal(stored[column], returned[column])
        assert stored["rfm_group"].tolist() == returned["rfm_group"].tolist()
        # and equals analysing the same workspace again
        again, _ = analyze_with_growth(ws, options)
        again = again.customers.sort_values("customer_id").reset_index(drop=True)
        np.testing.assert_allclose(stored["predicted_clv"], again["predicted_clv"], rtol=1e-12)
        assert set(snapshots.load_tables(ws, 2)) == set(second.tables)


def test_a_failed_refresh_leaves_the_workspace_as_it_was(
    tmp_path, exports, refreshed_early, monkeypatch
):
    _, full = exports
    with Workspace(_copy(refreshed_early[0], tmp_path)) as ws:
        before = _fingerprint(ws)

        def broken(*args, **kwargs):
            raise RuntimeError("the analysis broke half way")

        monkeypatch.setattr("valuecast.store.snapshots.save_snapshot", broken)
        with pytest.raises(RuntimeError, match="half way"):
            snapshot_jobs.refresh(ws, read_exports([full]))
        assert _fingerprint(ws) == before  # the new orders were rolled back with it
        monkeypatch.undo()
        snapshot_jobs.refresh(ws, read_exports([full]))
        after = _fingerprint(ws)
        assert after[0][0] > before[0][0] and len(after[2]) == 2


def test_reusable_analysis_only_for_the_same_options_and_data(
    tmp_path, exports, refreshed_early, monkeypatch
):
    from typer.testing import CliRunner

    from valuecast.cli import app

    _, full = exports
    path = _copy(refreshed_early[0], tmp_path)
    stored = refreshed_early[1]  # the refresh ran with the default options
    with Workspace(path) as ws:
        reused = snapshot_jobs.reusable_analysis(ws, AnalysisOptions())
        assert reused is not None
        assert reused.summary == snapshots.load_summary(ws, stored.snapshot.snapshot_id)
        assert reused.customers["customer_id"].tolist() == sorted(
            stored.analysis.customers["customer_id"]
        )
        assert reused.customers["first_order_date"].dtype == "datetime64[s]"
        assert snapshot_jobs.reusable_analysis(ws, AnalysisOptions(horizon=6)) is None
    # export reads the snapshot: it works even when the pipeline cannot run
    monkeypatch.setattr("valuecast.jobs.analyze.analyze", _no_analysis)
    out = tmp_path / "champions.csv"
    result = CliRunner().invoke(
        app, ["export", "--segment", "champions", "--to", "klaviyo", "-w", str(path),
              "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) > 0
    # new orders: the snapshot is no longer what an analysis would give
    with Workspace(path) as ws:
        ws.ingest(read_exports([full]))
        assert snapshot_jobs.reusable_analysis(ws, AnalysisOptions()) is None


def _no_analysis(*args, **kwargs):
    raise AssertionError("the analysis ran again")


# ------------------------------------------------------------------------------------------------
# the customers table written once: by the analysis, as the snapshot's rows
# ------------------------------------------------------------------------------------------------
def _customers_tables_stored(monkeypatch) -> list[list[str]]:
    """The columns of each table the analysis stores in its engine, recorded from now on."""
    import valuecast.analysis.customers as customers_module

    made: list[list[str]] = []
    materialize = customers_module.materialize
    materialize_parts = customers_module.materialize_parts

    def recorded(table, releases, **options):
        made.append(list(table.columns))
        return materialize(table, releases, **options)

    def recorded_parts(parts, releases, **options):
        made.append(list(parts[0].columns))
        return materialize_parts(parts, releases, **options)

    monkeypatch.setattr(customers_module, "materialize", recorded)
    monkeypatch.setattr(customers_module, "materialize_parts", recorded_parts)
    return made


def _assert_same_rows(stored, expected) -> None:
    """The same customers in the same order; numbers to 1e-12 (each run sums a customer's
    orders in the order DuckDB's threads read them: the last bits of historic CLV may move)."""
    assert stored.schema == expected.schema
    for name in expected.column_names:
        got, want = stored[name], expected[name]
        if pa.types.is_floating(want.type):
            assert got.null_count == want.null_count, name
            np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12, err_msg=name)
        else:
            assert got.equals(want), name


def test_refresh_in_the_engine_writes_the_rows_once_as_the_frame_path_stores_them(
    tmp_path, exports, refreshed_twice, monkeypatch
):
    early, full = exports
    options = AnalysisOptions(backtest_max_customers=None)
    path, _, by_frame = refreshed_twice
    with Workspace(path, read_only=True) as ws:
        expected = snapshots.customers_arrow_table(ws, by_frame.snapshot.snapshot_id)
        expected_summary = snapshots.load_summary(ws, by_frame.snapshot.snapshot_id)
    stored_tables = _customers_tables_stored(monkeypatch)
    with Workspace(tmp_path / "engine.duckdb") as ws:
        snapshot_jobs.refresh(ws, read_exports([early]), options, in_engine=True).analysis.release()
        # the same as-of date again: it replaces snapshot 2 by 3 (ids are never reused); an
        # option of the refresh (no spend kept, as there is none) makes it analyse the orders the
        # second ingest leaves unchanged again, which would keep snapshot 2 as it is otherwise
        for _ in range(2):
            done = snapshot_jobs.refresh(
                ws, read_exports([full]), options, in_engine=True, drop_kept_spend=True
            )
            assert done.analysis.snapshot_rows.snapshot_id == done.snapshot.snapshot_id
            stored = snapshots.customers_arrow_table(ws, done.snapshot.snapshot_id)
            # the analysis' table is the committed snapshot's rows
            assert done.analysis.arrow().equals(stored.cast(done.analysis.schema()))
            done.analysis.release()
        assert [s.snapshot_id for s in snapshots.list_snapshots(ws)] == [1, 3]
        counts = ws.raw.execute(
            "SELECT snapshot_id, count(*) FROM snapshot_customers GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        assert [sid for sid, _ in counts] == [1, 3]
        _assert_same_rows(stored, expected)
        summary = snapshots.load_summary(ws, 3)
    assert summary["n_customers"] == expected_summary["n_customers"]
    assert summary["model"]["name"] == expected_summary["model"]["name"]
    for key in ("rfm_groups", "spend_tiers"):
        assert list(summary[key]) == list(expected_summary[key])
        for group, totals in expected_summary[key].items():
            assert summary[key][group] == pytest.approx(totals, rel=1e-9), (key, group)
    # the range's method (a dict: how it was drawn) alike, the figures to 1e-9
    totals, expected_totals = dict(summary["totals"]), dict(expected_summary["totals"])
    assert totals.pop("sales_range") == expected_totals.pop("sales_range")
    assert totals == pytest.approx(expected_totals, rel=1e-9)
    # the analysis stored its summaries, never the customers table: the snapshot holds it
    assert stored_tables and not [columns for columns in stored_tables if "rfm_group" in columns]


def test_outside_a_transaction_the_kept_table_is_the_analysis_own(tmp_path, refreshed_early):
    from valuecast.jobs.analyze import analyze

    with Workspace(_copy(refreshed_early[0], tmp_path)) as ws:
        analysis = analyze(ws, AnalysisOptions(), in_engine=True)
        # no transaction to hold rows without their snapshot: the snapshot copies them
        assert analysis.snapshot_rows is None
        info = snapshots.save_snapshot(ws, analysis)
        stored = snapshots.customers_arrow_table(ws, info.snapshot_id)
        assert analysis.arrow().equals(stored.cast(analysis.schema()))
        analysis.release()
        assert [s.snapshot_id for s in snapshots.list_snapshots(ws)] == [2]


def test_an_older_workspace_missing_a_column_keeps_the_columns_order(
    tmp_path, exports, refreshed_early
):
    _, full = exports
    with Workspace(_copy(refreshed_early[0], tmp_path)) as ws:
        # as a version before first_product stored it: the column is added at the end
        ws.raw.execute("ALTER TABLE snapshot_customers DROP COLUMN first_product")
        done = snapshot_jobs.refresh(ws, read_exports([full]), in_engine=True)
        stored_order = [row[0] for row in ws.raw.execute("DESCRIBE snapshot_customers").fetchall()]
        assert stored_order[-1] == "first_product"
        # the analysis reads its rows in the customers table's own column order
        assert done.analysis.schema().names == list(CUSTOMER_COLUMNS)
        stored = snapshots.customers_arrow_table(ws, done.snapshot.snapshot_id)
        assert done.analysis.arrow().equals(
            stored.select(list(CUSTOMER_COLUMNS)).cast(done.analysis.schema())
        )
        done.analysis.release()


def test_the_snapshot_batches_open_their_cursor_on_the_calling_thread(workspace, monkeypatch):
    """The customers files are streamed on another thread while this one goes on with the
    workspace's connection, which refuses a second call instead of waiting: the cursor the
    batches are read on is made when they are asked for, not when the other thread reads them."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    info = snapshots.save_snapshot(workspace, _analysis("2025-03-31", BEFORE), {}, {})
    opened = []
    real = workspace.read_view

    def recorded():
        opened.append(threading.current_thread())
        return real()

    monkeypatch.setattr(workspace, "read_view", recorded)
    schema = pa.schema([("customer_id", pa.string())])
    batches = snapshots.customers_batches(workspace, info.snapshot_id, schema)
    assert opened == [threading.current_thread()]
    with ThreadPoolExecutor(max_workers=1) as pool:
        read = pool.submit(lambda: pa.Table.from_batches(list(batches), schema)).result()
    assert read.column("customer_id").to_pylist() == ["a", "b", "c", "d", "e"]
    assert len(opened) == 1


# ------------------------------------------------------------------------------------------------
# the commands that read an analysis take the last one's options
# ------------------------------------------------------------------------------------------------
def test_last_options_are_the_last_analysis_with_the_given_ones_over_them(workspace):
    assert snapshot_jobs.last_options(workspace) == AnalysisOptions()  # no analysis yet
    chosen = AnalysisOptions(horizon=24, margin=0.5, model="pnbd", covariates=("channel",))
    snapshots.save_snapshot(workspace, _analysis("2025-01-01", BEFORE), options=chosen)
    assert snapshot_jobs.last_options(workspace) == chosen
    assert snapshot_jobs.last_options(workspace, margin=0.3, as_of=None) == AnalysisOptions(
        horizon=24, margin=0.3, model="pnbd", covariates=("channel",)
    )
    # a calendar is recorded as its text, and read back from it
    calendar = Calendar(
        "month", (date(2024, 1, 1), date(2024, 2, 1)), pd.DataFrame({"promo": [1.0, 0.5]}), "c.csv"
    )
    later = AnalysisOptions(horizon=6, seasons=False, calendar=calendar)
    snapshots.save_snapshot(workspace, _analysis("2025-04-01", AFTER), options=later)
    restored = snapshot_jobs.last_options(workspace)
    assert str(restored.calendar) == str(calendar)
    assert restored.calendar.period_end(date(2024, 2, 1)) == date(2024, 3, 1)
    assert dataclasses.replace(restored, calendar=None) == AnalysisOptions(horizon=6, seasons=False)


class _Analysed(Exception):
    """What a command would have analysed with, instead of the analysis."""


def _record_options(options, *args, **kwargs):
    raise _Analysed(options)


def test_export_reads_the_last_analysis_whatever_its_options(
    tmp_path, exports, refreshed_twice, monkeypatch
):
    # the last refresh ran with every customer in the backtest (not the default options): its
    # snapshot is what `export` shows, and once new orders came in, an analysis with them
    from typer.testing import CliRunner

    from valuecast.cli import app

    early, _ = exports
    path = _copy(refreshed_twice[0], tmp_path)
    last = refreshed_twice[2].snapshot
    monkeypatch.setattr("valuecast.jobs.analyze.analyze", _no_analysis)
    out = tmp_path / "everyone.csv"
    result = CliRunner().invoke(
        app, ["export", "--where", "historic_clv > 0", "--to", "klaviyo", "-w", str(path),
              "--out", str(out), "--include-non-consenting"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with Workspace(path) as ws:
        stored = snapshots.load_customers(ws, last.snapshot_id).set_index("customer_id")
        exported = pd.read_csv(out).set_index("Email")
        values = stored.loc[exported.index, "predicted_clv"].round(2)
        np.testing.assert_allclose(exported["predicted_clv"], values, atol=0.005)
        ws.ingest(read_exports([early]))  # the snapshot is no longer of the data held
        monkeypatch.setattr(
            "valuecast.jobs.analyze.analyze", lambda ws, options: _record_options(options)
        )
        with pytest.raises(_Analysed) as analysed:
            snapshot_jobs.last_analysis(ws)
        assert analysed.value.args[0] == AnalysisOptions(backtest_max_customers=None)


def test_report_runs_the_last_analysis_options(tmp_path, refreshed_twice, monkeypatch):
    from valuecast.jobs.report import analyse_for_report

    path = _copy(refreshed_twice[0], tmp_path)
    monkeypatch.setattr(
        "valuecast.jobs.analyze.analyze_with_growth",
        lambda ws, options, **kw: _record_options(options),
    )
    with Workspace(path, read_only=True) as ws:
        with pytest.raises(_Analysed) as analysed:
            analyse_for_report(ws)
        assert analysed.value.args[0] == AnalysisOptions(backtest_max_customers=None)
        with pytest.raises(_Analysed) as analysed:
            analyse_for_report(ws, margin=0.4, horizon=3)
        assert analysed.value.args[0] == AnalysisOptions(
            backtest_max_customers=None, margin=0.4, horizon=3
        )
