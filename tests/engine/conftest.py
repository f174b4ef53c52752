"""Builders of canonical import results for the engine tests (no importer involved)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from valuecast.io.schema import (
    CUSTOMERS_SCHEMA,
    ORDER_LINES_SCHEMA,
    ORDERS_SCHEMA,
    ImportResult,
    conform,
)


def orders_frame(rows: list[dict]) -> pd.DataFrame:
    """Canonical orders from short dicts: ``id``, ``customer``, ``date`` [, ``time``], ``net`` ..."""
    records = []
    for row in rows:
        row = dict(row)
        number = str(row.pop("id"))
        source = row.pop("source", "shopify")
        customer = row.pop("customer", None)
        day = pd.Timestamp(row.pop("date"))
        stamp = day + pd.to_timedelta(row.pop("time", "12:00") + ":00")
        net = float(row.pop("net", 10.0))
        record = {
            "order_id": f"{source}:{number}",
            "source": source,
            "order_number": number,
            "customer_id": customer,
            "email": customer,
            "is_guest": customer is None,
            "ordered_at": stamp,
            "order_date": day,
            "gross_revenue": net,
            "discount": 0.0,
            "tax": 0.0,
            "shipping": 0.0,
            "refunded": 0.0,
            "net_revenue": net,
            "currency": "USD",
        }
        record.update(row)
        records.append({name: record.get(name) for name in ORDERS_SCHEMA})
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    return conform(frame, ORDERS_SCHEMA)


def _records(rows: list[dict] | None, schema: dict[str, str]) -> pd.DataFrame:
    """Rows with every schema column present (None where not given)."""
    return pd.DataFrame.from_records(
        [{name: row.get(name) for name in schema} for row in rows or []], columns=list(schema)
    )


def build_result(
    orders: list[dict],
    lines: list[dict] | None = None,
    customers: list[dict] | None = None,
    *,
    file: str = "orders_export.csv",
    fmt: str = "shopify",
    rows_read: int | None = None,
    excluded: dict[str, int] | None = None,
    excluded_revenue: dict[str, float] | None = None,
    notes: list[str] | None = None,
) -> ImportResult:
    order_frame = orders_frame(orders)
    line_frame = conform(_records(lines, ORDER_LINES_SCHEMA), ORDER_LINES_SCHEMA)
    customer_frame = conform(_records(customers, CUSTOMERS_SCHEMA), CUSTOMERS_SCHEMA)
    excluded = Counter(excluded or {})
    return ImportResult(
        file=file,
        format=fmt,
        rows_read=rows_read if rows_read is not None else len(orders) + sum(excluded.values()),
        orders=order_frame,
        order_lines=line_frame,
        customers=customer_frame,
        excluded=Counter(excluded),
        excluded_orders=Counter(excluded),
        excluded_revenue=Counter(excluded_revenue or {}),
        notes=list(notes or []),
    )


@pytest.fixture
def make_result() -> Callable[..., ImportResult]:
    return build_result


@pytest.fixture
def make_orders() -> Callable[[list[dict]], pd.DataFrame]:
    return orders_frame


@pytest.fixture(scope="module")
def made_once(tmp_path_factory):
    """``made_once(make, key)``: ``make(folder, key)``, run once a module for each ``make`` and
    ``key`` in a folder of its own (a workspace that tests copy before writing to it)."""
    made = {}

    def once(make: Callable[[Path, Any], Path], key: Any) -> Path:
        if (make, key) not in made:
            made[make, key] = make(tmp_path_factory.mktemp("made"), key)
        return made[make, key]

    return once
