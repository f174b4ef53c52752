"""End-to-end benchmark: an orders CSV through `valuecast analyze` against the same job in lifetimes.

A simulated shop (default 1M customers, about 3M orders, BG/NBD purchasing with Gamma spend,
customers acquired over two years) is written as a plain orders CSV (customer_id, order_date,
revenue).  In the same run:

* **valuecast**: ``valuecast analyze orders.csv --map ...`` in a fresh process (ingest into a new
  workspace, summary, backtest of three models, BG/NBD/Pareto/MBG choice, Gamma-Gamma, CLV with
  intervals, RFM, tiers, all four output files);
* **lifetimes 0.11.3** (its own venv, see ``_peers.py``): ``summary_data_from_transaction_data``,
  BG/NBD fit, Gamma-Gamma fit, 12-month CLV — less work than valuecast does;
* **DuckDB scan**: the time DuckDB takes just to read the file once (count and sum), the floor this
  job cannot beat.

Peak RSS of each process is its own high-water mark.  ``--write-md`` updates BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute
import pyarrow.csv as pacsv

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _peers import LIFETIMES, run_peer  # noqa: E402
from _report import publish  # noqa: E402

START = np.datetime64("2023-01-01")
SPAN_DAYS = 2 * 365


def simulate_orders(n_customers: int, seed: int = 7, first_id: int = 0) -> pa.Table:
    """BG/NBD purchasing (daily resolution) with Gamma-distributed order values.

    Customers are numbered from ``first_id`` (so chunks of a larger shop do not collide)."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, SPAN_DAYS, n_customers)
    T = SPAN_DAYS - first
    rate = rng.gamma(0.8, 1.0 / 75.0, n_customers)  # about 4 orders a year on average
    dropout = rng.beta(0.9, 3.0, n_customers)
    arrivals = rng.poisson(rate * T)
    lifetime = rng.geometric(dropout)
    repeats = np.minimum(arrivals, lifetime)
    # arrival times of the Poisson process: uniform on (0, T]; keep each customer's first `repeats`
    owner = np.repeat(np.arange(n_customers), arrivals)
    times = rng.uniform(0, 1, len(owner)) * np.repeat(T, arrivals)
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    start = np.r_[0, np.cumsum(arrivals)[:-1]]
    rank = np.arange(len(owner)) - np.repeat(start, arrivals)
    keep = rank < np.repeat(repeats, arrivals)
    customers = np.r_[np.arange(n_customers), owner[keep]]
    days = np.r_[first, first[owner[keep]] + np.floor(times[keep]).astype(np.int64)]
    spend_scale = rng.gamma(3.0, 1.0 / 60.0, n_customers)  # per-customer mean spend ~ 6/scale
    revenue = np.round(rng.gamma(6.0, 1.0 / spend_scale[customers]), 2)
    shuffle = rng.permutation(len(customers))
    ids = pa.compute.binary_join_element_wise(
        "c", pa.array(customers[shuffle] + first_id).cast(pa.string()), "@example.com", ""
    )
    return pa.table(
        {
            "customer_id": ids,
            "order_date": pa.array((START + days[shuffle]).astype("datetime64[D]")),
            "revenue": revenue[shuffle],
        }
    )


COLUMN_MAP = "customer_id=customer_id,ordered_at=order_date,revenue=revenue"

LIFETIMES_JOB = r"""
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data
start = time.perf_counter()
orders = pd.read_csv(sys.argv[1], parse_dates=["order_date"])
summary = summary_data_from_transaction_data(orders, "customer_id", "order_date",
                                             monetary_value_col="revenue", freq="D")
t_summary = time.perf_counter() - start
bgnbd = BetaGeoFitter(penalizer_coef=0.0).fit(summary["frequency"], summary["recency"], summary["T"])
repeat = summary[summary["frequency"] > 0]
gg = GammaGammaFitter(penalizer_coef=0.0).fit(repeat["frequency"], repeat["monetary_value"])
clv = gg.customer_lifetime_value(bgnbd, summary["frequency"], summary["recency"], summary["T"],
                                 summary["monetary_value"], time=12, freq="D", discount_rate=0.01)
total = time.perf_counter() - start
print(json.dumps({"seconds": total, "summary_seconds": t_summary, "customers": len(summary),
                  "clv_total": float(clv.sum()),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# lifetimes' job done with valuecast's public API (not what `analyze` does: no workspace, no
# backtest, no segments or files), timed like LIFETIMES_JOB from after the imports
VALUECAST_SAME_JOB = r"""
import json, resource, sys, time
import numpy as np
from valuecast.models.clv import customer_lifetime_value
from valuecast.jobs.files import summarize_files
from valuecast.models import BetaGeo, GammaGamma
start = time.perf_counter()
found = summarize_files([sys.argv[1]], column_map=sys.argv[2])
columns = ["frequency", "recency", "T", "avg_repeat_order_value"]
summary = found.table.select(*columns).to_pyarrow()
found.close()
f, r, T, m = (summary.column(name).to_numpy() for name in columns)
t_summary = time.perf_counter() - start
bgnbd = BetaGeo().fit(f, r, T)
gg = GammaGamma().fit(f[f > 0], m[f > 0])
clv = customer_lifetime_value(bgnbd, gg, f, r, T, m, horizon=12)
total = time.perf_counter() - start
print(json.dumps({"seconds": total, "summary_seconds": t_summary, "customers": len(f),
                  "clv_total": float(np.sum(clv)),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

SCAN_JOB = r"""
import json, sys, time, duckdb
start = time.perf_counter()
con = duckdb.connect()
rows, revenue = con.execute(
    "SELECT count(*), sum(revenue) FROM read_csv(?, header = true)", [sys.argv[1]]
).fetchone()
print(json.dumps({"seconds": time.perf_counter() - start, "rows": rows}))
"""


def child_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def run_same_job(csv: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", VALUECAST_SAME_JOB, str(csv), COLUMN_MAP],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise RuntimeError(f"valuecast's lifetimes job failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run_valuecast(csv: Path, work: Path) -> dict:
    command = [
        str(Path(sys.executable).with_name("valuecast")), "analyze", str(csv),
        "--map", COLUMN_MAP,
        "--workspace", str(work / "w.duckdb"), "--out", str(work / "out"),
    ]  # fmt: skip
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(f"valuecast analyze failed:\n{completed.stderr}")
    summary = json.loads((work / "out" / "summary.json").read_text())
    return {
        "seconds": seconds,
        "customers": summary["n_customers"],
        "model": summary["model"]["name"],
        "clv_total": summary["totals"].get("predicted_clv"),
    }


def measure(job, *args) -> tuple[dict, float]:
    """Run ``job`` in a child process; return its result and the children's peak RSS so far."""
    result = job(*args)
    return result, child_peak_mb()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--no-lifetimes", action="store_true")
    parser.add_argument("--write-md", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        csv = work / "orders.csv"
        table = simulate_orders(args.customers)
        pacsv.write_csv(table, csv)
        size_mb = csv.stat().st_size / 1e6
        print(f"{table.num_rows:,} orders, {size_mb:.0f} MB", file=sys.stderr)

        def scan():
            out = subprocess.run([sys.executable, "-c", SCAN_JOB, str(csv)],
                                 capture_output=True, text=True, check=True)  # fmt: skip
            return json.loads(out.stdout)

        scans = [scan() for _ in range(3)]
        scan_seconds = min(s["seconds"] for s in scans)
        # each process measured alone: RUSAGE_CHILDREN is a running maximum, so valuecast runs
        # first (after only the small scans) and lifetimes after it
        ours = run_valuecast(csv, work)
        ours_peak = child_peak_mb()
        same = run_same_job(csv)
        theirs = None
        if not args.no_lifetimes:
            completed = run_peer(LIFETIMES, LIFETIMES_JOB, [str(csv)], timeout=7200)
            theirs = json.loads(completed.stdout.strip().splitlines()[-1])

    lines = [
        f"Run {time.strftime('%Y-%m-%d')} on {platform.machine()}, Python "
        f"{platform.python_version()}, 2 cores; `python benchmarks/end_to_end.py`. "
        f"{args.customers:,} simulated customers, {table.num_rows:,} orders, "
        f"{size_mb:.0f} MB CSV (BG/NBD purchasing, Gamma spend, two years).",
        "",
        "| job | seconds | peak RSS | ratio |",
        "|---|---:|---:|---:|",
        f"| DuckDB scans the CSV once (best of 3) | {scan_seconds:.2f} | - | 1.0x |",
        f"| `valuecast analyze` (ingest, summary, 3-model backtest, fit, CLV + intervals, RFM, "
        f"cohorts/channels/products tables, report.html, files) | {ours['seconds']:.2f} | {ours_peak:.0f} MB | "
        f"{ours['seconds'] / scan_seconds:.1f}x the scan |",
    ]
    if theirs:
        lines.append(
            f"| lifetimes (summary, BG/NBD, Gamma-Gamma, CLV; timed after its imports) | "
            f"{theirs['seconds']:.2f} | {theirs['peak_rss_mb']:.0f} MB | valuecast analyze is "
            f"{theirs['seconds'] / ours['seconds']:.1f}x faster |"
        )
    lines.append(
        f"| valuecast's API, lifetimes' job only (`summarize_files`, BG/NBD, Gamma-Gamma, CLV; "
        f"timed after its imports) | {same['seconds']:.2f} | {same['peak_rss_mb']:.0f} MB | "
        + (
            f"{theirs['seconds'] / same['seconds']:.1f}x faster than lifetimes |"
            if theirs
            else f"{same['seconds'] / scan_seconds:.1f}x the scan |"
        )
    )
    lines += ["", f"valuecast chose `{ours['model']}`; {ours['customers']:,} customers."]
    publish(lines, "End to end", args.write_md)


if __name__ == "__main__":
    main()
