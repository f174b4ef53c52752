"""The dashboard's spend table: the spend file last uploaded, kept in the workspace (one row).

A restarted dashboard keeps using the spend its last re-analysis was given.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from valuecast.store.snapshots import frame_from_parquet, parquet_bytes
from valuecast.store.workspace import connection_table_names

__all__ = ["SPEND_TABLE", "store_spend", "stored_spend"]

SPEND_TABLE = "dashboard_spend"


def store_spend(workspace, spend: pd.DataFrame, name: str) -> None:
    """Keep ``spend`` (as read by :func:`valuecast.io.spend.read_spend`) as the dashboard's."""
    raw = workspace.raw
    raw.execute(
        f"CREATE TABLE IF NOT EXISTS {SPEND_TABLE} (name VARCHAR, uploaded_at TIMESTAMP, data BLOB)"
    )
    raw.execute(f"DELETE FROM {SPEND_TABLE}")
    raw.execute(
        f"INSERT INTO {SPEND_TABLE} VALUES (?, ?, ?)",
        [name, datetime.now(UTC).replace(tzinfo=None), parquet_bytes(spend)],
    )


def stored_spend(workspace) -> tuple[pd.DataFrame | None, str | None]:
    """The spend file the dashboard was last given, and its name; (None, None) without one."""
    # on the connection: the dashboard starts without loading Ibis' backend
    if SPEND_TABLE not in connection_table_names(workspace.raw):
        return None, None
    row = workspace.raw.execute(f"SELECT name, data FROM {SPEND_TABLE} LIMIT 1").fetchone()
    if row is None:
        return None, None
    return frame_from_parquet(row[1]), row[0]
