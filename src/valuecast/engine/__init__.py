"""The engine: the Ibis summaries over the canonical orders (the workspace is :mod:`valuecast.store`)."""

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

__all__ = [
    "HOLDOUT_COLUMNS",
    "SUMMARY_COLUMNS",
    "CustomerSummary",
    "SummaryError",
    "compressed_summary",
    "customer_summary",
    "default_as_of",
    "prepare_orders",
    "summarize",
]
