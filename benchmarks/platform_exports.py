"""Platform exports at a million orders: `valuecast ingest` of each importer's file.

Issue 22 asks that platform exports (which need per-order rules: statuses, refunds, packed line
items, written amounts) ingest in seconds at the size of an orders table.  Simulated exports of
``--orders`` orders (a third as many customers, two years) in the column sets the importers read:

* **WooCommerce, WebToffee** (one row per order, line items packed in ``line_item_N`` cells:
  ``name:Hoodie|sku:HD-1|quantity:1|total:40.00``);
* **WooCommerce, one row per item** (the WooCommerce.com Customer/Order CSV Export layout);
* **Magento sales_order** (a database dump: ``base_*`` amounts, ``NULL`` markers, states);
* **Magento admin order grid** (``$1,234.56`` amounts, ``Jan 5, 2024 10:15:03 AM`` dates).
* **Shopify orders export** (the demo shop's generator: one row per line item, ~1.5 rows an
  order, 80 columns; the order count is approximate).

Each file is ingested into a new workspace by ``valuecast ingest`` in a fresh process (wall
seconds and peak RSS); in the same run DuckDB reads the same file (every column, as text, all
rows counted) for reference: the ratio says how far the rules and the workspace write are from
reading the bytes.  Files are kept under ``benchmarks/.cache/platform_exports/``.
``--write-md`` updates BENCHMARKS.md's "Platform exports" section.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache" / "platform_exports"
sys.path.insert(0, str(HERE))

from _cli import run_cli  # noqa: E402
from _report import publish  # noqa: E402


def _shop(
    n: int, seed: int
) -> tuple[np.random.Generator, np.ndarray, pd.DatetimeIndex, np.ndarray]:
    rng = np.random.default_rng(seed)
    customers = rng.integers(0, max(n // 3, 1), n)
    stamps = (
        pd.Timestamp("2023-01-01")
        + pd.to_timedelta(rng.integers(0, 730, n), "D")
        + pd.to_timedelta(rng.integers(0, 86_400, n), "s")
    )
    subtotal = np.round(rng.gamma(2.0, 40.0, n), 2)
    return rng, customers, stamps, subtotal


def _emails(customers: np.ndarray) -> list[str]:
    return [f"c{c}@example.com" for c in customers]


def woocommerce_webtoffee(n: int) -> pd.DataFrame:
    rng, customers, stamps, subtotal = _shop(n, 1)
    tax = np.round(subtotal * 0.1, 2)
    shipping = np.where(rng.random(n) < 0.5, 5.0, 0.0)
    status = rng.choice(
        ["wc-completed", "wc-processing", "wc-cancelled", "wc-refunded"],
        n,
        p=[0.85, 0.1, 0.03, 0.02],
    )
    emails = _emails(customers)
    return pd.DataFrame({
        "order_id": np.arange(10_000, 10_000 + n), "order_number": np.arange(10_000, 10_000 + n),
        "order_date": stamps.strftime("%Y-%m-%d %H:%M:%S"), "status": status,
        "shipping_total": shipping, "shipping_tax_total": 0.0, "fee_total": 0.0, "tax_total": tax,
        "discount_total": 0.0, "order_total": np.round(subtotal + tax + shipping, 2),
        "order_currency": "EUR", "customer_email": emails, "billing_email": emails,
        "billing_phone": "", "billing_country": "DE", "coupon_items": "", "refund_items": "",
        "line_item_1": [f"name:Hoodie|sku:HD-{c % 50}|quantity:1|total:{s:.2f}|sub_total:{s:.2f}"
                        for c, s in zip(customers, subtotal, strict=True)],
    })  # fmt: skip


def woocommerce_items(n: int) -> pd.DataFrame:
    rng, customers, stamps, subtotal = _shop(n, 4)
    items = rng.integers(1, 3, n)
    row = np.repeat(np.arange(n), items)
    status = rng.choice(["completed", "processing", "cancelled"], n, p=[0.9, 0.07, 0.03])
    share = np.round(subtotal / items, 2)
    return pd.DataFrame({
        "order_id": row + 1, "order_number": row + 1,
        "order_date": np.asarray(stamps.strftime("%Y-%m-%d %H:%M:%S"))[row], "status": status[row],
        "shipping_total": 5.0, "tax_total": np.round(subtotal * 0.1, 2)[row],
        "order_total": np.round(subtotal * 1.1 + 5, 2)[row], "refunded_total": 0,
        "billing_email": np.asarray(_emails(customers))[row],
        "item_name": [f"Hoodie {i % 7}" for i in range(len(row))],
        "item_sku": [f"HD-{i % 9}" for i in range(len(row))],
        "item_quantity": 1, "item_subtotal": share[row], "item_total": share[row],
    })  # fmt: skip


def magento_sales_order(n: int) -> pd.DataFrame:
    rng, customers, stamps, subtotal = _shop(n, 2)
    discount = np.where(rng.random(n) < 0.2, -np.round(subtotal * 0.1, 2), 0.0)
    state = rng.choice(
        ["complete", "processing", "canceled", "closed", "new"], n, p=[0.8, 0.1, 0.04, 0.03, 0.03]
    )
    return pd.DataFrame({
        "entity_id": np.arange(1, n + 1), "state": state, "status": state,
        "coupon_code": np.where(discount < 0, "SAVE10", "NULL"), "store_id": 1,
        "base_discount_amount": discount,
        "base_grand_total": np.round(subtotal + discount + 5 + subtotal * 0.1, 2),
        "base_shipping_amount": 5.0, "base_subtotal": subtotal, "base_subtotal_refunded": "NULL",
        "base_tax_amount": np.round(subtotal * 0.1, 2), "base_total_refunded": "NULL",
        "increment_id": [str(100_000_000 + i) for i in range(n)], "base_currency_code": "USD",
        "customer_email": _emails(customers), "store_name": "Main Website",
        "created_at": stamps.strftime("%Y-%m-%d %H:%M:%S"),
    })  # fmt: skip


def magento_grid(n: int) -> pd.DataFrame:
    rng, customers, stamps, subtotal = _shop(n, 3)
    dollars = [f"${x:,.2f}" for x in subtotal]
    totals = [f"${x:,.2f}" for x in subtotal + 5]
    status = rng.choice(
        ["Complete", "Processing", "Canceled", "Closed"], n, p=[0.85, 0.08, 0.04, 0.03]
    )
    return pd.DataFrame({
        "ID": [str(100_000_000 + i) for i in range(n)], "Purchase Point": "Main Website",
        "Purchase Date": stamps.strftime("%b %-d, %Y %-I:%M:%S %p"), "Bill-to Name": "Pat Doe",
        "Grand Total (Base)": totals, "Grand Total (Purchased)": totals, "Status": status,
        "Customer Email": _emails(customers), "Subtotal": dollars,
        "Shipping and Handling": "$5.00", "Total Refunded": "",
    })  # fmt: skip


def shopify_export(path: Path, n: int) -> None:
    """The demo shop's Shopify orders export for ``0.62 * n`` customers: about ``n`` orders
    (620,000 customers give 965,006 orders on 1,417,283 rows: one row per line item, guests,
    test orders, cancellations, refunds)."""
    from valuecast.datasets.demo_shop import generate_demo_shop

    generate_demo_shop(path, customers=max(1, round(0.62 * n)))


EXPORTS: dict[str, tuple[str, str, Callable[[int], pd.DataFrame]]] = {
    "woocommerce": (
        "WooCommerce, WebToffee (line items packed)",
        "woocommerce",
        woocommerce_webtoffee,
    ),
    "woocommerce-items": ("WooCommerce, one row per item", "woocommerce", woocommerce_items),
    "magento": ("Magento sales_order dump", "magento", magento_sales_order),
    "magento-grid": ("Magento admin order grid", "magento-grid", magento_grid),
}
"""File name -> (what it is, its ``--format``, its generator)."""


def export_file(kind: str, n: int) -> Path:
    path = CACHE / f"{kind}_{n}.csv"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        if kind == "shopify":
            shopify_export(partial, n)
        else:
            EXPORTS[kind][2](n).to_csv(partial, index=False)
        partial.rename(path)
    return path


def duckdb_read_seconds(path: Path) -> float:
    """DuckDB reads every column of the file as text and counts the rows (best of 3)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        with duckdb.connect() as con:
            con.execute(
                "SELECT count(*) FROM read_csv(?, all_varchar = true, header = true)", [str(path)]
            ).fetchall()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--write-md", action="store_true")
    args = parser.parse_args()

    rows = []
    kinds = [("shopify", "Shopify orders export (the demo shop's generator)", "shopify")]
    kinds += [(kind, label, export_format) for kind, (label, export_format, _) in EXPORTS.items()]
    for kind, label, export_format in kinds:
        path = export_file(kind, args.orders)
        with tempfile.TemporaryDirectory() as work:
            measured = run_cli(
                ["ingest", str(path), "--format", export_format, "--workspace", f"{work}/w.duckdb"]
            )
        floor = duckdb_read_seconds(path)
        size = path.stat().st_size / 1e6
        rows.append(
            f"| {label} | {size:,.0f} MB | {measured['seconds']:.2f} | "
            f"{measured['peak_rss_mb']:,.0f} MiB | {floor:.2f} | {measured['seconds'] / floor:.1f}x |"
        )
        print(rows[-1], flush=True)
    lines = [
        f"Run {time.strftime('%Y-%m-%d')} on {platform.machine()}, Python "
        f"{platform.python_version()}, 2 cores; `python benchmarks/platform_exports.py"
        f"{'' if args.orders == 1_000_000 else f' --orders {args.orders}'}`. Simulated exports of "
        f"{args.orders:,} orders; `valuecast ingest` into a new workspace in a fresh process.",
        "",
        "| export | file | `valuecast ingest` s | peak RSS | DuckDB reads it (s) | ratio |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
    ]
    publish(lines, "Platform exports", args.write_md)


if __name__ == "__main__":
    main()
