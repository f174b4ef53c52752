"""The engine: the workspace (a DuckDB file of canonical orders) and its connections."""

from valuecast.engine.connection import DEFAULT_WORKSPACE, EngineError, connect, connect_duckdb
from valuecast.engine.workspace import FileReport, IngestReport, Workspace

__all__ = [
    "DEFAULT_WORKSPACE",
    "EngineError",
    "FileReport",
    "IngestReport",
    "Workspace",
    "connect",
    "connect_duckdb",
]
