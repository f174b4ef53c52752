"""The workspace: one DuckDB file holding the canonical orders, order lines and customers.

:meth:`Workspace.ingest` writes what the importers read (:class:`~valuecast.io.schema.ImportResult`)
in ONE transaction: either every file of an ingest lands or none does.  Orders are keyed by
``order_id`` (``"{source}:{order number}"``): an order not in the workspace yet is added, an order
whose fields or line items differ from the stored ones replaces them, and an identical order is left
untouched, so re-ingesting the same export changes nothing and a newer export of the same shop
adds its new orders and updates the changed ones.  Customers (from a customers export) are keyed by
``customer_id`` the same way.  Every ingest is logged in the ``ingests`` table with its report.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from valuecast.engine.connection import DEFAULT_WORKSPACE, connect_duckdb
from valuecast.io.schema import (
    CUSTOMERS_SCHEMA,
    ORDER_LINES_SCHEMA,
    ORDERS_SCHEMA,
    ImportResult,
    InputError,
    conform,
)

_SQL_TYPES = {
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
    "datetime64[us]": "TIMESTAMP",
    "float64": "DOUBLE",
    "int64": "BIGINT",
}
# order_date is a calendar date: stored as DATE so that date arithmetic is in whole days.
_DATE_COLUMNS = {"order_date"}

TABLES: dict[str, dict[str, str]] = {
    "orders": ORDERS_SCHEMA,
    "order_lines": ORDER_LINES_SCHEMA,
    "customers": CUSTOMERS_SCHEMA,
}


def _sql_type(column: str, dtype: str) -> str:
    return "DATE" if column in _DATE_COLUMNS else _SQL_TYPES[dtype]


def _column_list(schema: dict[str, str], prefix: str = "") -> str:
    return ", ".join(f"{prefix}{name}" for name in schema)


def _cast_list(schema: dict[str, str]) -> str:
    return ", ".join(
        f"CAST({name} AS {_sql_type(name, dtype)}) AS {name}" for name, dtype in schema.items()
    )


def _money(value: float) -> float:
    return (
        0.0
        if value is None or (isinstance(value, float) and math.isnan(value))
        else round(float(value), 2)
    )


@dataclass
class FileReport:
    """What one file contributed: its format, data rows and the rows used / excluded."""

    file: str
    format: str
    rows_read: int
    orders: int
    line_items: int
    customer_records: int
    excluded_rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    """The report of one ingest (every number counts what the files of this ingest held).

    ``orders`` are the counted orders read (distinct order ids); of them ``new_orders`` were added
    to the workspace, ``updated_orders`` replaced a stored order that differed (its fields or its
    line items) and ``unchanged_orders`` were already stored as they are.  ``excluded_orders`` maps
    each exclusion reason (cancelled, voided, test order, ...) to the number of orders excluded for
    it, ``excluded_revenue`` to their revenue.  Money is in the orders' currency (after ``--fx``
    conversion, the base currency); ``currencies`` counts the counted orders per currency.
    """

    workspace: str
    ingest_id: int
    files: list[FileReport]
    rows_read: int
    orders: int
    new_orders: int
    updated_orders: int
    unchanged_orders: int
    line_items: int
    customers: int
    customer_records: int
    new_customer_records: int
    updated_customer_records: int
    guest_orders: int
    guest_revenue: float
    excluded_orders: dict[str, int]
    excluded_rows: dict[str, int]
    excluded_revenue: dict[str, float]
    gross_revenue: float
    discount: float
    refunded: float
    tax: float
    shipping: float
    net_revenue: float
    first_order_date: date | None
    last_order_date: date | None
    currencies: dict[str, int]
    workspace_orders: int
    workspace_customers: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (dates as ISO strings)."""
        out = asdict(self)
        for key in ("first_order_date", "last_order_date"):
            out[key] = None if out[key] is None else out[key].isoformat()
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def _sql(raw: Any, query: str, params: list | None = None) -> list[tuple]:
    """Run ``query`` on the raw DuckDB connection and fetch every row.

    DuckDB 2 refuses further work on a connection whose last result was not fully fetched.
    """
    return raw.execute(query, params).fetchall() if params else raw.execute(query).fetchall()


def table_names(con: Any) -> set[str]:
    """Names of the tables and views of a DuckDB backend (main schema and temp)."""
    # information_schema directly: Ibis 12's list_tables calls a cursor method DuckDB 2 lacks
    rows = _sql(
        con.con, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    )
    return {row[0] for row in rows}


class Workspace:
    """A valuecast workspace: a DuckDB database file with the canonical tables.

    Open it with ``Workspace(path)`` (created with its tables on first use) or read-only with
    ``Workspace(path, read_only=True)``; use as a context manager to close it.
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_WORKSPACE,
        *,
        read_only: bool = False,
        memory_limit: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.con = connect_duckdb(self.path, read_only=read_only, memory_limit=memory_limit)
        self.read_only = read_only
        if not read_only:
            self._create_tables()
        else:
            present = table_names(self.con)
            missing = [name for name in (*TABLES, "ingests") if name not in present]
            if missing:
                self.close()
                raise InputError(
                    str(self.path), f"not a valuecast workspace (no {missing[0]} table)"
                )

    # -- tables ---------------------------------------------------------------------------------
    def _create_tables(self) -> None:
        raw = self.con.con
        for name, schema in TABLES.items():
            columns = ", ".join(f"{col} {_sql_type(col, dtype)}" for col, dtype in schema.items())
            _sql(raw, f"CREATE TABLE IF NOT EXISTS {name} ({columns}, ingest_id BIGINT)")
        _sql(
            raw,
            "CREATE TABLE IF NOT EXISTS ingests (ingest_id BIGINT, ingested_at TIMESTAMP, "
            "files VARCHAR, report VARCHAR)",
        )

    def orders(self) -> ir.Table:
        """The canonical orders table as an Ibis expression."""
        return self.con.table("orders")

    def order_lines(self) -> ir.Table:
        return self.con.table("order_lines")

    def customers(self) -> ir.Table:
        return self.con.table("customers")

    def ingests(self) -> pd.DataFrame:
        """The ingest log: one row per ingest with its files and JSON report."""
        return self.con.table("ingests").order_by("ingest_id").to_pandas()

    def close(self) -> None:
        self.con.disconnect()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- ingest ---------------------------------------------------------------------------------
    def ingest(self, results: Sequence[ImportResult]) -> IngestReport:
        """Write the imported files into the workspace in one transaction and report on them.

        Raises :class:`InputError` (and writes nothing) when the workspace would then hold counted
        orders in more than one currency.
        """
        if self.read_only:
            raise InputError(str(self.path), "workspace opened read-only")
        orders, lines, customers = _stage_frames(results)
        raw = self.con.con
        raw.begin()
        try:
            ingest_id = _sql(raw, "SELECT coalesce(max(ingest_id), 0) + 1 FROM ingests")[0][0]
            counts = _merge(raw, orders, lines, customers, ingest_id)
            currencies = _sql(
                raw,
                "SELECT currency, count(*) FROM orders WHERE currency IS NOT NULL "
                "GROUP BY currency ORDER BY count(*) DESC, currency",
            )
            if len(currencies) > 1:
                listed = ", ".join(f"{code} ({count:,} orders)" for code, count in currencies)
                raise InputError(
                    str(self.path),
                    f"orders in more than one currency after this ingest: {listed}; "
                    "give --fx RATES.csv to convert them to one base currency",
                )
            workspace_orders = _sql(raw, "SELECT count(*) FROM orders")[0][0]
            workspace_customers = _sql(
                raw, "SELECT count(DISTINCT customer_id) FROM orders WHERE customer_id IS NOT NULL"
            )[0][0]
            report = _build_report(
                self.path, ingest_id, results, orders, lines, customers, counts,
                workspace_orders, workspace_customers,
            )  # fmt: skip
            _sql(
                raw,
                "INSERT INTO ingests VALUES (?, ?, ?, ?)",
                [
                    ingest_id,
                    datetime.now(UTC).replace(tzinfo=None),
                    json.dumps([result.file for result in results]),
                    report.to_json(indent=None),
                ],
            )
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            for name in ("_in_orders", "_in_lines", "_in_customers"):
                try:
                    raw.unregister(name)
                except Exception:  # pragma: no cover - already gone
                    pass
        return report


# ------------------------------------------------------------------------------------------------
# staging: concatenate the files of one ingest, last file wins for a repeated key
# ------------------------------------------------------------------------------------------------
def _stage_frames(
    results: Sequence[ImportResult],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    order_frames, line_frames, customer_frames = [], [], []
    for position, result in enumerate(results):
        o = conform(result.orders, ORDERS_SCHEMA)
        o["_file"] = position
        order_frames.append(o)
        ln = conform(result.order_lines, ORDER_LINES_SCHEMA)
        ln["_file"] = position
        line_frames.append(ln)
        c = conform(result.customers, CUSTOMERS_SCHEMA)
        c["_file"] = position
        customer_frames.append(c)
    orders = _concat(order_frames, ORDERS_SCHEMA)
    orders = orders[orders["order_id"].notna()]
    if len(order_frames) > 1:  # an importer gives one row per order; across files the last wins
        orders = orders.drop_duplicates("order_id", keep="last")
    orders = orders.reset_index(drop=True)

    lines = _concat(line_frames, ORDER_LINES_SCHEMA)
    lines = lines[lines["order_id"].notna()]
    if len(lines):
        # an order's line items come from the last file that lists any for it
        latest = lines.groupby("order_id", sort=False)["_file"].transform("max")
        lines = lines[lines["_file"] == latest]
        lines = lines.drop_duplicates(["order_id", "line_number"], keep="last")
        lines = lines[lines["order_id"].isin(orders["order_id"])]  # no lines without their order
    lines = lines.reset_index(drop=True)

    customers = _concat(customer_frames, CUSTOMERS_SCHEMA)
    customers = customers[customers["customer_id"].notna()]
    customers = customers.drop_duplicates("customer_id", keep="last").reset_index(drop=True)
    return orders, lines, customers


def _concat(frames: list[pd.DataFrame], schema: dict[str, str]) -> pd.DataFrame:
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        from valuecast.io.schema import empty_frame

        empty = empty_frame(schema)
        empty["_file"] = pd.Series(dtype="int64")
        return empty
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------------------------------------
# merge: inside the caller's transaction
# ------------------------------------------------------------------------------------------------
def _upsert(
    raw: Any, table: str, schema: dict[str, str], key: str, ingest_id: int
) -> dict[str, int]:
    """Upsert the staged ``_stage_{table}`` rows into ``table`` by ``key``; return the counts."""
    stage = f"_stage_{table}"
    columns = _column_list(schema)
    if not _sql(raw, f"SELECT 1 FROM {table} LIMIT 1"):  # first ingest: no key can match
        _sql(
            raw,
            f"INSERT INTO {table} ({columns}, ingest_id) SELECT {columns}, {ingest_id} FROM {stage}",
        )
        _sql(raw, f"CREATE OR REPLACE TEMP TABLE _new_{table} AS SELECT {key} FROM {stage}")
        _sql(
            raw,
            f"CREATE OR REPLACE TEMP TABLE _changed_{table} AS SELECT {key} FROM {stage} LIMIT 0",
        )
        return {"new": _sql(raw, f"SELECT count(*) FROM {stage}")[0][0], "changed": 0}
    compared = {name: dtype for name, dtype in schema.items() if name != key}
    _sql(
        raw,
        f"CREATE OR REPLACE TEMP TABLE _new_{table} AS SELECT s.{key} FROM {stage} s "
        f"ANTI JOIN {table} t ON s.{key} = t.{key}",
    )
    _sql(
        raw,
        f"CREATE OR REPLACE TEMP TABLE _changed_{table} AS SELECT s.{key} FROM {stage} s "
        f"JOIN {table} t ON s.{key} = t.{key} "
        f"WHERE row({_column_list(compared, 's.')}) IS DISTINCT FROM "
        f"row({_column_list(compared, 't.')})",
    )
    _sql(raw, f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM _changed_{table})")
    _sql(
        raw,
        f"INSERT INTO {table} ({columns}, ingest_id) SELECT {columns}, {ingest_id} FROM {stage} "
        f"WHERE {key} IN (SELECT {key} FROM _new_{table} UNION ALL SELECT {key} FROM _changed_{table})",
    )
    new = _sql(raw, f"SELECT count(*) FROM _new_{table}")[0][0]
    changed = _sql(raw, f"SELECT count(*) FROM _changed_{table}")[0][0]
    return {"new": new, "changed": changed}


def _merge(
    raw: Any, orders: pd.DataFrame, lines: pd.DataFrame, customers: pd.DataFrame, ingest_id: int
) -> dict[str, int]:
    raw.register("_in_orders", orders.drop(columns="_file"))
    raw.register("_in_lines", lines.drop(columns="_file"))
    raw.register("_in_customers", customers.drop(columns="_file"))
    _sql(
        raw,
        f"CREATE OR REPLACE TEMP TABLE _stage_orders AS SELECT {_cast_list(ORDERS_SCHEMA)} FROM _in_orders",
    )
    _sql(
        raw,
        f"CREATE OR REPLACE TEMP TABLE _stage_order_lines AS "
        f"SELECT {_cast_list(ORDER_LINES_SCHEMA)} FROM _in_lines",
    )
    _sql(
        raw,
        f"CREATE OR REPLACE TEMP TABLE _stage_customers AS "
        f"SELECT {_cast_list(CUSTOMERS_SCHEMA)} FROM _in_customers",
    )

    order_counts = _upsert(raw, "orders", ORDERS_SCHEMA, "order_id", ingest_id)

    # line items: replace the stored lines of every staged order whose line set differs
    line_columns = _column_list(ORDER_LINES_SCHEMA)
    _sql(
        raw,
        "CREATE OR REPLACE TEMP TABLE _line_orders AS SELECT DISTINCT order_id FROM _stage_order_lines",
    )
    _sql(
        raw,
        f"""CREATE OR REPLACE TEMP TABLE _lines_changed AS
        SELECT DISTINCT order_id FROM (
            (SELECT {line_columns} FROM _stage_order_lines
             EXCEPT ALL
             SELECT {line_columns} FROM order_lines WHERE order_id IN (SELECT order_id FROM _line_orders))
            UNION ALL
            (SELECT {line_columns} FROM order_lines WHERE order_id IN (SELECT order_id FROM _line_orders)
             EXCEPT ALL
             SELECT {line_columns} FROM _stage_order_lines)
        )""",
    )
    _sql(raw, "DELETE FROM order_lines WHERE order_id IN (SELECT order_id FROM _lines_changed)")
    _sql(
        raw,
        f"INSERT INTO order_lines ({line_columns}, ingest_id) SELECT {line_columns}, {ingest_id} "
        f"FROM _stage_order_lines WHERE order_id IN (SELECT order_id FROM _lines_changed)",
    )
    # an order counts as updated when its row or its line items changed (and it was not new)
    updated = _sql(
        raw,
        "SELECT count(*) FROM (SELECT order_id FROM _changed_orders UNION "
        "SELECT order_id FROM _lines_changed WHERE order_id NOT IN (SELECT order_id FROM _new_orders) "
        "AND order_id IN (SELECT order_id FROM orders WHERE ingest_id <> ?))",
        [ingest_id],
    )[0][0]
    lines_only = _sql(
        raw,
        "SELECT order_id FROM _lines_changed WHERE order_id NOT IN (SELECT order_id FROM _new_orders) "
        "AND order_id NOT IN (SELECT order_id FROM _changed_orders)",
    )
    if lines_only:  # the order row itself is unchanged: mark it as touched by this ingest
        _sql(
            raw,
            "UPDATE orders SET ingest_id = ? WHERE order_id IN (SELECT order_id FROM _lines_changed)",
            [ingest_id],
        )
    customer_counts = _upsert(raw, "customers", CUSTOMERS_SCHEMA, "customer_id", ingest_id)
    for name in (
        "_stage_orders", "_stage_order_lines", "_stage_customers", "_new_orders", "_changed_orders",
        "_new_customers", "_changed_customers", "_line_orders", "_lines_changed",
    ):  # fmt: skip
        _sql(raw, f"DROP TABLE IF EXISTS {name}")
    return {
        "new_orders": order_counts["new"],
        "updated_orders": updated,
        "new_customers": customer_counts["new"],
        "changed_customers": customer_counts["changed"],
    }


# ------------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------------
def _build_report(
    path: Path,
    ingest_id: int,
    results: Sequence[ImportResult],
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    customers: pd.DataFrame,
    counts: dict[str, int],
    workspace_orders: int,
    workspace_customers: int,
) -> IngestReport:
    excluded_orders: Counter = Counter()
    excluded_rows: Counter = Counter()
    excluded_revenue: Counter = Counter()
    files, notes = [], []
    for result in results:
        excluded_orders.update(result.excluded_orders)
        excluded_rows.update(result.excluded)
        excluded_revenue.update(result.excluded_revenue)
        files.append(
            FileReport(
                file=str(result.file),
                format=result.format,
                rows_read=int(result.rows_read),
                orders=len(result.orders),
                line_items=len(result.order_lines),
                customer_records=len(result.customers),
                excluded_rows={str(k): int(v) for k, v in result.excluded.items()},
                notes=list(result.notes),
            )
        )
        notes.extend(f"{Path(result.file).name}: {note}" for note in result.notes)
    guest = orders["is_guest"].fillna(False).astype(bool) | orders["customer_id"].isna()
    dates = orders["order_date"].dropna()
    currencies = orders["currency"].dropna().value_counts()
    if len(orders) and orders["currency"].isna().all():
        notes.append("the files name no currency: amounts are in the shop's currency")
    new, updated = counts["new_orders"], counts["updated_orders"]
    return IngestReport(
        workspace=str(path),
        ingest_id=int(ingest_id),
        files=files,
        rows_read=sum(int(result.rows_read) for result in results),
        orders=len(orders),
        new_orders=int(new),
        updated_orders=int(updated),
        unchanged_orders=len(orders) - int(new) - int(updated),
        line_items=len(lines),
        customers=int(orders.loc[~guest, "customer_id"].nunique()),
        customer_records=len(customers),
        new_customer_records=int(counts["new_customers"]),
        updated_customer_records=int(counts["changed_customers"]),
        guest_orders=int(guest.sum()),
        guest_revenue=_money(orders.loc[guest, "net_revenue"].sum()),
        excluded_orders={str(k): int(v) for k, v in sorted(excluded_orders.items())},
        excluded_rows={str(k): int(v) for k, v in sorted(excluded_rows.items())},
        excluded_revenue={str(k): _money(v) for k, v in sorted(excluded_revenue.items())},
        gross_revenue=_money(orders["gross_revenue"].sum()),
        discount=_money(orders["discount"].sum()),
        refunded=_money(orders["refunded"].sum()),
        tax=_money(orders["tax"].sum()),
        shipping=_money(orders["shipping"].sum()),
        net_revenue=_money(orders["net_revenue"].sum()),
        first_order_date=dates.min().date() if len(dates) else None,
        last_order_date=dates.max().date() if len(dates) else None,
        currencies={str(k): int(v) for k, v in currencies.items()},
        workspace_orders=int(workspace_orders),
        workspace_customers=int(workspace_customers),
        notes=notes,
    )
