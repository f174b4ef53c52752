"""Small-shop benchmark: `valuecast analyze` on a 300-customer Shopify export against lifetimes.

Most merchants have hundreds of customers, not millions; there a run's time is not the engine's
but the fixed costs: the imports, the backtest's fits and, for a shop this size, the bootstrap
intervals (100 refits of the chosen model).  In the same run:

* **valuecast**: ``valuecast analyze export.csv`` in a fresh process and a new workspace (the
  demo shop's generator, 300 customers over two years: ingest, backtest, fit, CLV with bootstrap
  intervals, RFM, tiers, growth tables, snapshot, report, files), best of ``--runs``;
* **lifetimes 0.11.3** (its own venv, see ``_peers.py``): the same orders as a plain CSV
  (customer, date, revenue: what valuecast's ingest keeps), ``summary_data_from_transaction_data``,
  BG/NBD, Gamma-Gamma, 12-month CLV, without intervals; timed after its imports, so the ratio
  flatters it.

Prints a table; ``--write-md`` updates BENCHMARKS.md's "Small shops" section.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _cli import run_cli  # noqa: E402
from _peers import LIFETIMES, run_peer  # noqa: E402
from _report import publish  # noqa: E402
from end_to_end import LIFETIMES_JOB  # noqa: E402

# lifetimes' fits fail to converge on some small shops without a penalizer; its error says to add
# one, so the job does what its user would: the same job again with lifetimes' suggested kind of
# fix (penalizer 0.001), and the table says so
SMALL_LIFETIMES_JOB = LIFETIMES_JOB.replace(
    "penalizer_coef=0.0", "penalizer_coef=PENALIZER"
).replace(
    "start = time.perf_counter()",
    "PENALIZER = float(sys.argv[2])\nstart = time.perf_counter()",
)


def run_valuecast(export: Path, work: Path) -> dict:
    args = [
        "analyze",
        str(export),
        "--workspace",
        str(work / "w.duckdb"),
        "--out",
        str(work / "out"),
    ]
    measured = run_cli(args)
    summary = json.loads((work / "out" / "summary.json").read_text())
    return {
        **measured,
        "customers": summary["n_customers"],
        "model": summary["model"]["name"],
        "intervals": (summary["model"].get("interval") or {}).get("method"),
    }


def plain_orders(workspace: Path, target: Path) -> int:
    """The workspace's non-guest orders as the plain CSV lifetimes reads; their count."""
    import duckdb

    con = duckdb.connect(str(workspace), read_only=True)
    try:
        written = con.execute(
            "COPY (SELECT customer_id, order_date, net_revenue AS revenue FROM orders "
            f"WHERE customer_id IS NOT NULL) TO '{target}' (HEADER)"
        ).fetchall()
        return written[0][0]  # COPY gives the rows it wrote
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write-md", action="store_true")
    args = parser.parse_args()

    from valuecast.datasets.demo_shop import generate_demo_shop

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        export = work / "export.csv"
        generate_demo_shop(export, customers=args.customers, seed=5)
        runs = []
        for index in range(args.runs):
            folder = work / f"run{index}"
            folder.mkdir()
            runs.append(run_valuecast(export, folder))
        ours = min(runs, key=lambda run: run["seconds"])
        orders = work / "orders.csv"
        n_orders = plain_orders(work / "run0" / "w.duckdb", orders)
        theirs, tried = None, []
        for penalizer in ("0.0", "0.001"):
            try:
                completed = run_peer(
                    LIFETIMES, SMALL_LIFETIMES_JOB, [str(orders), penalizer], timeout=600
                )
            except RuntimeError as error:
                tried.append(f"penalizer {penalizer}: {str(error).strip().splitlines()[-1]}")
                continue
            theirs = json.loads(completed.stdout.strip().splitlines()[-1])
            theirs["penalizer"] = penalizer
            break
        if theirs is None:
            raise RuntimeError("lifetimes failed with every penalizer: " + "; ".join(tried))

    seconds = ", ".join(f"{run['seconds']:.2f}" for run in runs)
    lines = [
        f"Run {time.strftime('%Y-%m-%d')} on {platform.machine()}, Python "
        f"{platform.python_version()}, 2 cores; `python benchmarks/small_shop.py"
        f"{' --customers ' + str(args.customers) if args.customers != 300 else ''}`. The demo "
        f"shop's Shopify export: {ours['customers']:,} customers, {n_orders:,} orders over two "
        f"years. valuecast's runs: {seconds} s.",
        "",
        "| job | seconds | CPU | peak RSS | ratio |",
        "|---|---:|---:|---:|---:|",
        f"| `valuecast analyze export.csv` (new workspace; ingest, backtest, fit, CLV with "
        f"{ours['intervals'] or 'no'} intervals, RFM, growth tables, snapshot, report, files; "
        f"best of {args.runs}) | {ours['seconds']:.2f} | {ours['cpu_seconds']:.2f} | "
        f"{ours['peak_rss_mb']:.0f} MiB | |",
        f"| lifetimes (summary, BG/NBD, Gamma-Gamma, CLV, no intervals; penalizer "
        f"{theirs['penalizer']}; timed after its imports) | {theirs['seconds']:.2f} | - | "
        f"{theirs['peak_rss_mb']:.0f} MiB | valuecast analyze takes "
        f"{ours['seconds'] / theirs['seconds']:.0f}x its time |",
        "",
        f"valuecast chose `{ours['model']}`."
        + (f" lifetimes failed first ({'; '.join(tried)})." if tried else ""),
    ]
    publish(lines, "Small shops", args.write_md)


if __name__ == "__main__":
    main()
