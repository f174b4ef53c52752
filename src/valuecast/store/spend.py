"""The workspace's spend: the marketing spend file last given, kept in the workspace (one row).

``valuecast analyze --spend`` / ``refresh --spend`` and the dashboard's spend upload keep it
here, the latest replacing the one before; the commands given no ``--spend`` (``channels``,
``report``, ``stage``, an ``analyze`` without it) and the dashboard's re-analyses use it.  A
restarted dashboard keeps using it too.
"""

from __future__ import annotations

# pandas and the snapshots' Parquet helpers load where a spend is read or kept: `analyze` asks
# for the kept spend before its ingest, whose thread imports them beside the reading (0.17 s)
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from valuecast.store.workspace import connection_table_names

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SPEND_TABLE", "KeptSpend", "drop_spend", "kept_spend", "store_spend", "stored_spend"]

# the table is named after the dashboard, which kept the spend first: a workspace of an older
# version keeps the spend it holds
SPEND_TABLE = "dashboard_spend"


@dataclass(frozen=True)
class KeptSpend:
    """The spend kept in a workspace: the frame, its file's name and when it was given (UTC)."""

    frame: pd.DataFrame
    name: str
    kept_at: datetime


def store_spend(workspace, spend: pd.DataFrame, name: str) -> None:
    """Keep ``spend`` (as read by :func:`valuecast.io.spend.read_spend`) as the workspace's,
    replacing the one kept before; ``name`` is its file's name as the user knows it."""
    from valuecast.store.snapshots import parquet_bytes

    raw = workspace.raw
    raw.execute(
        f"CREATE TABLE IF NOT EXISTS {SPEND_TABLE} (name VARCHAR, uploaded_at TIMESTAMP, data BLOB)"
    )
    raw.execute(f"DELETE FROM {SPEND_TABLE}")
    raw.execute(
        f"INSERT INTO {SPEND_TABLE} VALUES (?, ?, ?)",
        [name, datetime.now(UTC).replace(tzinfo=None), parquet_bytes(spend)],
    )


def drop_spend(workspace) -> bool:
    """Forget the spend the workspace keeps (``analyze --no-spend``); whether there was one."""
    raw = workspace.raw
    if SPEND_TABLE not in connection_table_names(raw):
        return False
    ((count,),) = raw.execute(f"SELECT count(*) FROM {SPEND_TABLE}").fetchall()
    raw.execute(f"DELETE FROM {SPEND_TABLE}")
    return bool(count)


def kept_spend(workspace) -> KeptSpend | None:
    """The spend file the workspace was last given, or None without one."""
    # on the connection: the dashboard starts without loading Ibis' backend
    if SPEND_TABLE not in connection_table_names(workspace.raw):
        return None
    # every row fetched: a result left unfinished holds the connection
    rows = workspace.raw.execute(f"SELECT name, uploaded_at, data FROM {SPEND_TABLE}").fetchall()
    if not rows:
        return None
    from valuecast.store.snapshots import frame_from_parquet

    row = rows[-1]
    frame = frame_from_parquet(row[2])
    # errors about it name the file the user gave, and that it is the kept one
    frame.attrs["file"] = f"{row[0]} (the spend file kept in the workspace)"
    # a check that refuses it names the way to leave it out (--no-spend)
    frame.attrs["kept"] = True
    return KeptSpend(frame=frame, name=row[0], kept_at=row[1])


def stored_spend(workspace) -> tuple[pd.DataFrame | None, str | None]:
    """The kept spend's frame and its file's name; (None, None) without one."""
    kept = kept_spend(workspace)
    return (None, None) if kept is None else (kept.frame, kept.name)
