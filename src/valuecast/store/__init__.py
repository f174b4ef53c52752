"""The store: the only owner of the DuckDB workspace, its tables and the SQL run on them."""

from valuecast.store.connection import (
    DEFAULT_WORKSPACE,
    EngineError,
    WorkspaceBusyError,
    connect,
    connect_duckdb,
    connect_spark,
    spark_session,
)
from valuecast.store.workspace import FileReport, IngestReport, Workspace

__all__ = [
    "DEFAULT_WORKSPACE",
    "EngineError",
    "FileReport",
    "IngestReport",
    "Workspace",
    "WorkspaceBusyError",
    "connect",
    "connect_duckdb",
    "connect_spark",
    "spark_session",
]
