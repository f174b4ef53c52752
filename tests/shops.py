"""Shops that several test modules analyse, imported by bare name (see conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def two_exports(folder: Path, customers: int, seed: int) -> tuple[Path, Path]:
    """A demo shop as two Shopify exports: up to 2025-12-31 (early) and all to 2026-06-30 (full)."""
    from valuecast.datasets.demo_shop import generate_demo_shop

    generate_demo_shop(folder / "full.csv", customers=customers, seed=seed)
    full = pd.read_csv(folder / "full.csv", dtype=str, keep_default_na=False)
    full[full["Created at"] < "2026-01-01"].to_csv(folder / "early.csv", index=False)
    return folder / "early.csv", folder / "full.csv"


def ingested(folder: Path, text: str, column_map: str) -> Path:
    """A workspace ``folder/shop.duckdb`` holding the orders CSV ``text`` read with ``--map``."""
    from valuecast.io import read_exports
    from valuecast.store import Workspace

    source = folder / "orders.csv"
    source.write_text(text)
    workspace = folder / "shop.duckdb"
    with Workspace(workspace) as ws:
        ws.ingest(read_exports([source], column_map=column_map))
    return workspace
