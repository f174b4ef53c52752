"""The bad input corpus: every case is generated here, in the test's own directory.

``corpus.write(fmt, name, orders, ...)`` writes a small export of one format (``shopify``,
``orders``, ``magento``, ``woocommerce``) from plain order dicts whose cells are written as given
(so a test can put ``"$1,234.50"`` or ``"yesterday"`` in them); ``corpus.ingest`` and
``corpus.analyze`` run the real command line; ``corpus.state`` reads what a workspace holds, so a
failed command can be shown to have changed nothing.  The header sets are the fixture writers'
in ``tests/io/conftest.py`` (loaded from there, not copied).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from typer.testing import CliRunner

from valuecast.cli import app

_spec = importlib.util.spec_from_file_location(
    "_badinput_io_fixtures", Path(__file__).parent.parent / "io" / "conftest.py"
)
io_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(io_fixtures)

FORMATS = ("shopify", "orders", "magento", "woocommerce")
# the cell each format reads the order's amount, date and customer e-mail from
AMOUNT = {"shopify": "Subtotal", "orders": "revenue", "magento": "base_subtotal",
          "woocommerce": "order_total"}  # fmt: skip
DATE = {"shopify": "Created at", "orders": "order_date", "magento": "created_at",
        "woocommerce": "order_date"}  # fmt: skip
EMAIL = {"shopify": "Email", "orders": "customer_id", "magento": "customer_email",
         "woocommerce": "billing_email"}  # fmt: skip
ORDERS_HEADER = ["order_id", "customer_id", "order_date", "revenue", "channel"]


def _rows(fmt: str, orders: Sequence[dict]) -> tuple[list[str], list[dict]]:
    """Header and rows of ``orders`` (dicts: number, email, date, amount[, product, extra])."""
    if fmt == "shopify":
        rows = []
        for order in orders:
            lines = [(order.get("product", "Widget"), 1, 1.0)]
            block = io_fixtures.shopify_order(order["number"], order["email"], order["date"], lines)
            block[0].update(Subtotal=order["amount"], Total=order["amount"], Shipping="0.00")
            block[0].update(order.get("extra", {}))
            rows += block
        return io_fixtures.SHOPIFY_ORDERS_HEADER, rows
    if fmt == "orders":
        header = ORDERS_HEADER
        rows = [
            {"order_id": o["number"], "customer_id": o["email"], "order_date": o["date"],
             "revenue": o["amount"], "channel": o.get("product", "web"), **o.get("extra", {})}
            for o in orders
        ]  # fmt: skip
        return header, rows
    if fmt == "magento":
        rows = [
            {"entity_id": i + 1, "increment_id": o["number"], "state": "complete",
             "status": "complete", "customer_email": o["email"], "created_at": o["date"],
             "base_subtotal": o["amount"], "base_grand_total": o["amount"],
             "base_currency_code": "USD", **o.get("extra", {})}
            for i, o in enumerate(orders)
        ]  # fmt: skip
        return io_fixtures.MAGENTO_ORDER_HEADER, rows
    if fmt == "woocommerce":
        rows = [
            {"order_id": o["number"], "order_number": o["number"], "order_date": o["date"],
             "status": "wc-completed", "order_total": o["amount"], "order_currency": "USD",
             "billing_email": o["email"], "item_name": o.get("product", "Widget"),
             "item_quantity": 1, **o.get("extra", {})}
            for o in orders
        ]  # fmt: skip
        return io_fixtures.WOO_CSV_EXPORT_HEADER, rows
    raise ValueError(fmt)


def order(number, email, day, amount="10.00", **fields) -> dict:
    """One order; ``day`` is a date (written as YYYY-MM-DD HH:MM:SS) or a cell as written."""
    when = f"{day.isoformat()} 10:00:00" if isinstance(day, date) else day
    return {"number": str(number), "email": email, "date": when, "amount": amount, **fields}


def shop(n_customers: int = 4, start: date = date(2024, 1, 1), repeat: bool = True) -> list[dict]:
    """A tiny valid shop: customer k buys on day 7k and, with ``repeat``, 30 days later."""
    orders = []
    for k in range(n_customers):
        email = f"c{k}@example.com"
        orders.append(order(f"{1001 + 2 * k}", email, start + timedelta(7 * k), f"{10 + k}.00"))
        if repeat:
            when = start + timedelta(7 * k + 30)
            orders.append(order(f"{1002 + 2 * k}", email, when, f"{20 + k}.50"))
    return orders


def large_shop(n_orders: int = 30_000) -> list[dict]:
    """Orders enough for a file over 1 MiB, which ``summary FILE`` parses with DuckDB."""
    return [
        order(i, f"c{i % 5000}@example.com", date(2024, 1, 1) + timedelta(i % 300))
        for i in range(n_orders)
    ]


def render(fmt: str, orders: Sequence[dict], delimiter: str = ",") -> str:
    header, rows = _rows(fmt, orders)
    return io_fixtures.render_csv(header, rows, delimiter=delimiter)


def write(
    path: Path, fmt: str, orders: Sequence[dict], encoding: str = "utf-8", delimiter: str = ","
) -> Path:
    path.write_bytes(render(fmt, orders, delimiter).encode(encoding))
    return path


runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(arg) for arg in args])


def ingest(files, workspace: Path, *options: str):
    files = [files] if isinstance(files, str | Path) else list(files)
    return invoke("ingest", *files, "-w", workspace, *options)


def analyze(files, workspace: Path, out: Path, *options: str):
    files = [] if files is None else [files] if isinstance(files, str | Path) else list(files)
    return invoke("analyze", *files, "-w", workspace, "-o", out, *options)


def report(result) -> dict:
    """The ``--json`` ingest report printed by a successful ingest."""
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def no_traceback(result) -> None:
    assert "Traceback" not in result.output
    # an exception other than the exit itself means the command crashed
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )


def one_error(result, path: Path | str, row: int | None, column: str | None, fragment: str):
    """Exit 2 and exactly one output line: ``error: FILE[, row R][, column 'C']: ...``."""
    no_traceback(result)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    where = str(path)
    if row is not None:
        where += f", row {row}"
    if column is not None:
        where += f", column {column!r}"
    assert lines[0].startswith(f"error: {where}: "), lines[0]
    assert fragment in lines[0], lines[0]
    return lines[0]


def state(workspace: Path) -> dict | None:
    """Everything a workspace holds (None when there is no workspace file)."""
    if not workspace.exists():
        return None
    con = duckdb.connect(str(workspace), read_only=True)
    try:
        tables = {}
        for name in ("orders", "order_lines", "customers", "ingests"):
            order = "ingest_id" if name == "ingests" else "ALL"
            tables[name] = con.execute(f"SELECT * FROM {name} ORDER BY {order}").fetchall()
        return tables
    finally:
        con.close()


def stored_orders(workspace: Path) -> dict[str, tuple]:
    """order_number -> (customer_id, order_date, net_revenue) of a workspace's orders."""
    con = duckdb.connect(str(workspace), read_only=True)
    try:
        rows = con.execute(
            "SELECT order_number, customer_id, order_date, net_revenue FROM orders"
        ).fetchall()
    finally:
        con.close()
    return {row[0]: (row[1], row[2].isoformat(), row[3]) for row in rows}


@pytest.fixture(scope="session")
def corpus() -> SimpleNamespace:
    return SimpleNamespace(
        FORMATS=FORMATS, AMOUNT=AMOUNT, DATE=DATE, EMAIL=EMAIL, io=io_fixtures,
        order=order, shop=shop, large_shop=large_shop, render=render, write=write, invoke=invoke, ingest=ingest,
        analyze=analyze, report=report, no_traceback=no_traceback, one_error=one_error,
        state=state, stored_orders=stored_orders,
    )  # fmt: skip
