"""Garbage collection during the analysis (``valuecast.store.memory.frozen_objects``)."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from valuecast.store.memory import frozen_objects


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
