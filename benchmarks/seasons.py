"""Seasons: ``analyze --horizon 3`` on the simulated seasonal shop, with and without seasons.

The shop of ``tests/shops.py::seasonal_shop`` (customers buy 2.5x as often in November and
December; three years to the as-of date 2024-09-30): the next quarter's predicted orders of the
existing customers against what the simulation's customers then place, for the analysis with
its defaults (seasons tried) and with ``--no-seasons``, and how long each took::

    python benchmarks/seasons.py --customers 3000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the shop simulator the acceptance test uses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from shops import ingested, seasonal_shop
    from valuecast.jobs.analyze import AnalysisOptions, analyze
    from valuecast.store import Workspace

    text, truth, as_of = seasonal_shop(customers=args.customers, seed=args.seed)
    with tempfile.TemporaryDirectory() as folder:
        workspace = ingested(
            Path(folder), text, "customer_id=customer,ordered_at=date,revenue=amount"
        )
        print(
            f"{args.customers:,} customers, as of {as_of}; next quarter's orders placed: {truth:,}"
        )
        print("| analysis | model | predicted orders | error | seconds |")
        print("|---|---|---:|---:|---:|")
        for label, seasons in (("defaults (seasons tried)", True), ("--no-seasons", False)):
            started = time.perf_counter()
            with Workspace(workspace) as ws:
                summary = analyze(ws, AnalysisOptions(horizon=3, seasons=seasons)).summary
            seconds = time.perf_counter() - started
            predicted = summary["totals"]["predicted_number_of_orders"]
            print(
                f"| {label} | {summary['model']['name']} | {predicted:,.0f} | "
                f"{predicted / truth - 1:+.1%} | {seconds:.1f} |"
            )
            multipliers = (summary["model"].get("seasons") or {}).get("multipliers")
            if multipliers:
                shown = ", ".join(f"{k[7:]} {v:.2f}" for k, v in multipliers.items())
                print(f"|  | multipliers against January: {shown} | | | |")


if __name__ == "__main__":
    main()
