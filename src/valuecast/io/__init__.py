"""Reading merchants' order exports into the canonical tables of :mod:`valuecast.io.schema`.

The engine calls :func:`read_exports` (or :func:`read_export` for one file); it detects each
file's format from its header (:mod:`valuecast.io.detect`), runs the importer
(:mod:`~valuecast.io.shopify`, :mod:`~valuecast.io.magento`, :mod:`~valuecast.io.woocommerce`,
:mod:`~valuecast.io.generic`) and checks/converts currencies (:mod:`~valuecast.io.fx`). Database
tables already read into DataFrames go through ``magento.read_magento_frames``,
``woocommerce.read_orders_frame`` and ``generic.read_orders_frame``. Every problem with the input
is an :class:`InputError`, whose message is one line naming the file, row and column.
"""

from __future__ import annotations

from valuecast.io.detect import (
    FORMATS,
    defer_orders,
    detect_format,
    detect_header,
    read_export,
    read_exports,
)
from valuecast.io.fx import Rates, apply_fx, load_rates
from valuecast.io.generic import parse_column_map
from valuecast.io.schema import (
    CUSTOMERS_SCHEMA,
    ORDER_LINES_SCHEMA,
    ORDERS_SCHEMA,
    ImportResult,
    InputError,
    conform,
    empty_frame,
)

__all__ = [
    "CUSTOMERS_SCHEMA",
    "FORMATS",
    "ORDERS_SCHEMA",
    "ORDER_LINES_SCHEMA",
    "ImportResult",
    "InputError",
    "Rates",
    "apply_fx",
    "conform",
    "defer_orders",
    "detect_format",
    "detect_header",
    "empty_frame",
    "load_rates",
    "parse_column_map",
    "read_export",
    "read_exports",
]
