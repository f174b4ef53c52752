"""The engine: the workspace (a DuckDB file of canonical orders) and the Ibis summaries over it."""

from valuecast.engine.connection import DEFAULT_WORKSPACE, EngineError, connect, connect_duckdb
from valuecast.engine.summary import (
    HOLDOUT_COLUMNS,
    SUMMARY_COLUMNS,
    CustomerSummary,
    SummaryError,
    compressed_summary,
    customer_summary,
    default_as_of,
    prepare_orders,
    summarize,
)
from valuecast.engine.workspace import FileReport, IngestReport, Workspace

__all__ = [
    "DEFAULT_WORKSPACE",
    "HOLDOUT_COLUMNS",
    "SUMMARY_COLUMNS",
    "CustomerSummary",
    "EngineError",
    "FileReport",
    "IngestReport",
    "SummaryError",
    "Workspace",
    "compressed_summary",
    "connect",
    "connect_duckdb",
    "customer_summary",
    "default_as_of",
    "prepare_orders",
    "summarize",
]
