"""Garbage collection during the analysis (``valuecast.store.memory.frozen_objects``)."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from valuecast.store.memory import frozen_objects

# these tests count what is frozen: without the suite's block around each module (conftest.py)
pytestmark = pytest.mark.own_collections


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref:
    """A reference cycle nothing else refers to (only a collection frees it), watched."""
    first, second = _Node(), _Node()
    first.other, second.other = second, first
    return weakref.ref(first)


def test_what_lives_on_entry_is_left_out_of_collections_until_the_block_ends():
    before = gc.get_freeze_count()
    kept = [_Node() for _ in range(100)]
    with frozen_objects():
        frozen = gc.get_freeze_count()
        assert frozen >= before + len(kept)
        # made inside the block: collected as usual
        made_inside = _cycle()
        gc.collect()
        assert made_inside() is None
    assert gc.get_freeze_count() == before


def test_a_cycle_alive_on_entry_is_collected_once_the_block_ends():
    watched = _cycle()
    with frozen_objects():
        gc.collect()
        assert watched() is not None  # frozen: no collection looks at it
    gc.collect()
    assert watched() is None


def test_blocks_nest_and_the_outermost_end_unfreezes():
    before = gc.get_freeze_count()
    with frozen_objects():
        made_between = [_Node() for _ in range(50)]
        with frozen_objects():  # freezes what was made since the outer entry too
            assert gc.get_freeze_count() >= before + len(made_between)
        assert gc.get_freeze_count() >= before + len(
            made_between
        )  # the inner end unfreezes nothing
    assert gc.get_freeze_count() == before


def test_a_failure_inside_unfreezes():
    before = gc.get_freeze_count()
    with pytest.raises(RuntimeError), frozen_objects():
        raise RuntimeError("failed")
    assert gc.get_freeze_count() == before


def test_blocks_in_two_threads_unfreeze_when_both_end():
    before = gc.get_freeze_count()
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with frozen_objects():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with frozen_objects():
        thread.start()
        assert entered.wait(5)
    assert gc.get_freeze_count() > before  # the other thread's block still runs
    release.set()
    thread.join()
    assert gc.get_freeze_count() == before


def test_the_analysis_runs_with_what_lived_before_it_frozen(monkeypatch, tmp_path):
    from valuecast.analysis.growth import tables as growth_module
    from valuecast.datasets.demo_shop import generate_demo_shop
    from valuecast.io import read_exports
    from valuecast.jobs.analyze import analyze_with_growth
    from valuecast.store import Workspace

    generate_demo_shop(tmp_path / "shop.csv", customers=300, seed=5)
    seen = []
    growth_tables = growth_module.growth_tables

    def recorded(*args, **kwargs):
        seen.append(gc.get_freeze_count())
        return growth_tables(*args, **kwargs)

    monkeypatch.setattr(growth_module, "growth_tables", recorded)
    before = gc.get_freeze_count()
    with Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest(read_exports([tmp_path / "shop.csv"]))
        analyze_with_growth(ws)
    assert len(seen) == 1 and seen[0] > before
    assert gc.get_freeze_count() == before


def _collections_seeing(monkeypatch, held) -> list[bool]:
    """For each garbage collection from now on: whether it scans ``held`` (not frozen)."""
    collect, seen = gc.collect, []

    def watched(*arguments, **options):
        seen.append(any(item is held for item in gc.get_objects()))
        return collect(*arguments, **options)

    monkeypatch.setattr(gc, "collect", watched)
    return seen


def test_the_ingest_commands_collections_leave_out_what_the_caller_held(tmp_path, monkeypatch):
    # the collections that free the importers' objects scan what the command made: in a
    # long-lived caller (a notebook, a test process) not everything else it holds
    from typer.testing import CliRunner

    from valuecast.cli import app

    source = tmp_path / "orders.csv"
    source.write_text("customer_id,order_date,revenue\nc1,2025-01-02,10\nc1,2025-02-03,12\n")
    held = {"the caller's": []}
    seen = _collections_seeing(monkeypatch, held)
    done = CliRunner().invoke(app, [
        "ingest", str(source), "-w", str(tmp_path / "w.duckdb"),
        "--map", "customer_id=customer_id,ordered_at=order_date,revenue=revenue",
    ])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert seen and not any(seen)  # collected (the Python importer's route), never scanning it
    assert any(item is held for item in gc.get_objects())  # scanned again after the command


def test_an_analysis_job_and_a_dashboard_job_leave_out_what_the_caller_held(tmp_path, monkeypatch):
    from valuecast.io import read_exports
    from valuecast.jobs.analyze import analyze
    from valuecast.store import Workspace
    from valuecast.web.state import Job, Jobs

    source = tmp_path / "orders.csv"
    rows = [f"c{i},2025-0{1 + i % 6}-1{i % 9},{10 + i}" for i in range(40)]
    rows += [f"c{i},2025-08-0{1 + i % 9},{20 + i}" for i in range(0, 40, 3)]
    source.write_text("customer_id,order_date,revenue\n" + "\n".join(rows) + "\n")
    results = read_exports(
        [source], column_map="customer_id=customer_id,ordered_at=order_date,revenue=revenue"
    )
    held = {"the caller's": []}
    with Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest(results)
        seen = _collections_seeing(monkeypatch, held)
        analyze(ws)
        assert seen and not any(seen)
        seen.clear()
        Jobs._run(Job(job_id="1", kind="upload", files=[]), lambda job: gc.collect())
        assert seen == [False]


def test_a_block_unless_frozen_inside_another_leaves_what_was_made_since_collectable():
    before = gc.get_freeze_count()
    with frozen_objects():
        made_between = _cycle()
        with frozen_objects(unless_frozen=True):
            gc.collect()
            assert made_between() is None  # freed: not frozen by the inner entry
        kept = _cycle()
        with frozen_objects(unless_frozen=True), frozen_objects():  # a plain block still does
            gc.collect()
            assert kept() is not None
    assert gc.get_freeze_count() == before
    alive_on_entry = _cycle()
    with frozen_objects(unless_frozen=True):  # outermost: it freezes, as any block
        gc.collect()
        assert alive_on_entry() is not None
    gc.collect()
    assert alive_on_entry() is None
