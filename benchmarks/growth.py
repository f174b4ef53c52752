"""Growth-analytics benchmark: each command on a simulated 1M-customer workspace.

The workspace is filled straight in DuckDB (the importers have their own benchmark in
``summary.py``): N customers acquired over two years through five channels, about 2.5 orders each,
one to three order lines per order from 200 products of skewed popularity.  Each command then runs
in its own process, as a merchant runs it, and its wall time and peak RSS (that process's own,
from ``wait4``) are recorded:

``cohorts``, ``stage``, ``affinity``, ``reminders --due-within 14`` and ``channels --spend`` (which
runs the whole analysis first, like ``analyze``).  ``--write-md`` updates BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _cli import run_cli  # noqa: E402
from _report import publish  # noqa: E402

CHANNELS = ("google", "meta", "email", "organic", "tiktok")


def build_workspace(path: Path, n_customers: int, seed: int = 11) -> dict:
    """A workspace with simulated orders and lines, written directly with DuckDB SQL."""
    from valuecast.store import Workspace

    with Workspace(path) as workspace:
        raw = workspace.con.con
        raw.execute(f"SELECT setseed({(seed % 1000) / 1000})")
        channels = "[" + ", ".join(f"'{c}'" for c in CHANNELS) + "]"
        raw.execute(
            f"""CREATE TEMP TABLE sim_customers AS
            SELECT i, 'c' || i || '@example.com' AS customer_id,
                   CAST(floor(random() * 730) AS INTEGER) AS first_day,
                   1 + CAST(floor(-ln(1 - random()) * 2.0) AS INTEGER) AS n_orders,
                   {channels}[1 + CAST(i % 5 AS INTEGER)] AS channel
            FROM range({n_customers}) t(i)"""
        )
        raw.execute(
            """CREATE TEMP TABLE sim_orders AS
            SELECT customer_id, channel, k,
                   'orders:' || customer_id || '|' || k AS order_id,
                   customer_id || '|' || k AS order_number,
                   CASE WHEN k = 1 THEN first_day
                        ELSE first_day + CAST(floor(random() * (730 - first_day)) AS INTEGER)
                   END AS day,
                   round(10 + random() * 90, 2) AS revenue
            FROM (SELECT *, unnest(generate_series(1, n_orders)) AS k FROM sim_customers)"""
        )
        raw.execute(
            """INSERT INTO orders (source, order_number, customer_id, email_is_customer_id,
                is_guest, ordered_at, order_date, gross_revenue, discount, tax, shipping,
                refunded, net_revenue, currency, channel, discount_code, accepts_marketing,
                ingest_id)
            SELECT 'orders', order_number, customer_id, true, false,
                   DATE '2024-01-01' + day + INTERVAL 10 HOUR, DATE '2024-01-01' + day,
                   revenue, 0, 0, 0, 0, revenue, 'USD', channel,
                   CASE WHEN k = 1 AND random() < 0.3 THEN 'WELCOME10' END,
                   random() < 0.6, 1
            FROM sim_orders"""
        )
        raw.execute(
            """INSERT INTO order_lines (order_id, line_number, sku, product_name, quantity,
                unit_price, line_discount, ingest_id)
            SELECT order_id, line, 'SKU-' || product, 'Product ' || product, 1, revenue, 0, 1
            FROM (
                -- drawn in the select list, once a line: an uncorrelated LATERAL subquery is
                -- drawn once for the whole table, which gave every line one product
                SELECT *, CAST(floor(200 * pow(random(), 3)) AS INTEGER) AS product
                FROM (
                    SELECT order_id, revenue, unnest(generate_series(1, 1 + CAST(floor(
                           random() * 3) AS INTEGER))) AS line
                    FROM sim_orders
                )
            )"""
        )
        counts = raw.execute(
            "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_lines)"
        ).fetchall()[0]
        raw.execute("INSERT INTO ingests VALUES (1, now(), '[]', '{}')")
    return {"customers": n_customers, "orders": counts[0], "lines": counts[1]}


def write_spend(path: Path) -> None:
    rows = ["month,channel,spend"]
    for year in (2024, 2025):
        for month in range(1, 13):
            for index, channel in enumerate(CHANNELS):
                rows.append(f"{year}-{month:02d},{channel},{20000 + 5000 * index}")
    path.write_text("\n".join(rows) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--write-md", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        workspace = work / "shop.duckdb"
        started = time.perf_counter()
        sizes = build_workspace(workspace, args.customers)
        build_seconds = time.perf_counter() - started
        print(f"workspace: {sizes} in {build_seconds:.1f} s", file=sys.stderr, flush=True)
        write_spend(work / "spend.csv")
        w = ["--workspace", str(workspace)]
        jobs = {
            "cohorts": ["cohorts", *w, "--out", str(work / "out")],
            "cohorts --by channel": ["cohorts", *w, "--by", "channel", "--out", str(work / "o2")],
            "stage": ["stage", *w],
            "affinity": ["affinity", *w, "--out", str(work / "out")],
            "reminders --due-within 14": [
                "reminders",
                *w,
                "--due-within",
                "14",
                "--out",
                str(work / "reminders.csv"),
            ],  # fmt: skip
            "channels --spend (runs the analysis)": [
                "channels",
                *w,
                "--spend",
                str(work / "spend.csv"),
                "--out",
                str(work / "out"),
            ],
        }
        (work / "o2").mkdir()
        results = {}
        for name, command in jobs.items():
            results[name] = run_cli(command)
            print(f"{name}: {results[name]}", file=sys.stderr, flush=True)
    lines = [
        f"Run {time.strftime('%Y-%m-%d')} on {platform.machine()}, Python "
        f"{platform.python_version()}, 2 cores; `python benchmarks/growth.py`. A simulated "
        f"workspace of {sizes['customers']:,} customers, {sizes['orders']:,} orders and "
        f"{sizes['lines']:,} order lines (200 products); each command in its own process "
        "(Python start-up and imports included, about 1 s).",
        "",
        "| command | seconds | peak RSS |",
        "|---|---:|---:|",
    ]
    for name, result in results.items():
        lines.append(
            f"| `valuecast {name}` | {result['seconds']:.1f} | {result['peak_rss_mb']:.0f} MiB |"
        )
    publish(lines, "Growth analytics", args.write_md)


if __name__ == "__main__":
    main()
