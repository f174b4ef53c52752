"""Benchmark: orders CSV -> per-customer summary, valuecast vs lifetimes, and 100M orders out of core.

Part 1 (``--customers``, default 1M customers, ~3M orders): a generated orders CSV
(customer_id, order_date, revenue) is summarised

* by valuecast through the product path: the generic importer (``valuecast.io.read_exports``),
  the workspace ingest (one DuckDB transaction) and the Ibis summary written to Parquet;
* by valuecast reading the CSV straight into DuckDB through Ibis (no workspace);
* by lifetimes 0.11.3 ``summary_data_from_transaction_data`` (pandas CSV read included), run in
  its own venv (see ``_peers.py``) as a subprocess of the same run.

The frequency / recency / T / mean repeat value of valuecast and lifetimes are compared row by row.

Part 2 (``--parquet-orders``, e.g. 100000000): a generated Parquet file is summarised out of core
by DuckDB through Ibis with a memory limit, in a child process whose peak RSS is recorded.

``--write-md`` replaces the "## Summary engine" section of BENCHMARKS.md with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache" / "summary"
ROOT = HERE.parent
START = np.datetime64("2021-01-01")
SPAN_DAYS = 3 * 365

sys.path.insert(0, str(HERE))


# ------------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------------
def simulate_orders(
    n_customers: int, orders_per_customer: float, seed: int, first_id: int = 0, emails: bool = True
):
    """A shop's orders: each customer's first order uniform over the span, repeats after it."""
    rng = np.random.default_rng(seed)
    counts = 1 + rng.poisson(orders_per_customer - 1.0, n_customers)
    customer = np.repeat(np.arange(first_id, first_id + n_customers, dtype=np.int64), counts)
    first = rng.integers(0, SPAN_DAYS, n_customers)
    first_rows = np.r_[0, np.cumsum(counts)[:-1]]
    offset = rng.integers(0, SPAN_DAYS, len(customer))
    offset[first_rows] = 0
    day = np.minimum(np.repeat(first, counts) + offset, SPAN_DAYS - 1)
    revenue = np.round(rng.gamma(2.0, 25.0, len(customer)), 2)
    order = rng.permutation(len(customer))  # exports are in time order, not by customer
    ids = customer[order]
    if emails:  # shops key customers by e-mail address
        ids = pa.compute.binary_join_element_wise(
            "customer", pa.array(ids).cast(pa.string()), "@example.com", ""
        )
    return pa.table(
        {
            "customer_id": ids,
            "order_date": pa.array((START + day[order]).astype("datetime64[D]")),
            "revenue": revenue[order],
        }
    )


def make_csv(n_customers: int, orders_per_customer: float) -> Path:
    path = CACHE / f"orders_{n_customers}_emails.csv"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        table = simulate_orders(n_customers, orders_per_customer, seed=2024)
        pacsv.write_csv(table, path)
    return path


def make_parquet(n_orders: int, orders_per_customer: float) -> Path:
    path = CACHE / f"orders_{n_orders}.parquet"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    chunk_customers = 2_000_000
    n_customers = int(n_orders / orders_per_customer)
    partial = path.with_suffix(".partial")
    writer = None
    written, chunk = 0, 0
    while written < n_customers:
        size = min(chunk_customers, n_customers - written)
        table = simulate_orders(
            size, orders_per_customer, seed=10_000 + chunk, first_id=written, emails=False
        )
        table = table.cast(
            pa.schema([("customer_id", pa.int64()), ("order_date", pa.date32()),
                       ("revenue", pa.float64())])
        )  # fmt: skip
        if writer is None:
            writer = pq.ParquetWriter(partial, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=1_000_000)
        written += size
        chunk += 1
    writer.close()
    partial.rename(path)
    return path


def count_rows(path: Path) -> int:
    if path.suffix == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b"")) - 1


# ------------------------------------------------------------------------------------------------
# valuecast
# ------------------------------------------------------------------------------------------------
def valuecast_product_path(csv: Path, work: Path) -> tuple[dict, Path]:
    """Importer -> workspace ingest -> summary Parquet, as `valuecast ingest` + `summary` do."""
    from valuecast.analysis.summary import summarize
    from valuecast.io import read_exports
    from valuecast.store import Workspace

    times = {}
    started = time.perf_counter()
    results = read_exports([csv], format="orders")
    times["read_csv_importer"] = time.perf_counter() - started
    mark = time.perf_counter()
    with Workspace(work / "bench.duckdb") as ws:
        ws.ingest(results)
    times["ingest"] = time.perf_counter() - mark
    del results
    mark = time.perf_counter()
    out = work / "summary_workspace.parquet"
    with Workspace(work / "bench.duckdb", read_only=True) as ws:
        result = summarize(ws.orders(), customers=ws.customers())
        ws.con.to_parquet(result.table, out)
    times["summary"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - started
    return times, out


def valuecast_files(csv: Path, work: Path) -> tuple[dict, Path]:
    """`valuecast summary orders.csv --map ... --out summary.parquet`: no workspace."""
    from valuecast.jobs.files import summarize_files

    started = time.perf_counter()
    result = summarize_files(
        [csv], column_map="customer_id=customer_id,ordered_at=order_date,revenue=revenue"
    )
    out = work / "summary_files.parquet"
    result.con.to_parquet(result.table, out)
    route = result.route
    result.close()
    return {"total": time.perf_counter() - started, "route": route}, out


def route_child(route: str, csv: Path, work: Path) -> None:
    """Run in a child process: one valuecast route, printing its times and peak RSS as JSON."""
    run = {
        "product": valuecast_product_path,
        "files": valuecast_files,
        "direct": valuecast_direct,
    }[route]
    times, out = run(csv, work)
    times["peak_rss_mb"] = peak_rss_mb()
    times["out"] = str(out)
    print(json.dumps(times))


def run_route(route: str, csv: Path, work: Path) -> tuple[dict, Path]:
    """One valuecast route in its own process, so that its peak memory is its own."""
    command = [sys.executable, __file__, "--_route", route, str(csv), str(work)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"valuecast {route} route failed:\n{completed.stderr}")
    times = json.loads(completed.stdout.strip().splitlines()[-1])
    return times, Path(times.pop("out"))


def valuecast_direct(csv: Path, work: Path) -> tuple[dict, Path]:
    """The CSV read straight into DuckDB through Ibis, then the same summary expression."""
    from valuecast.analysis.summary import summarize
    from valuecast.store import connect

    started = time.perf_counter()
    con = connect("duckdb")
    raw = con.read_csv(str(csv))
    orders = con.create_table(  # materialised once: the summary queries it more than once
        "orders",
        raw.select(
            customer_id=raw.customer_id.cast("string"),
            order_date=raw.order_date.cast("date"),
            net_revenue=raw.revenue.cast("float64"),
        ),
    )
    out = work / "summary_direct.parquet"
    result = summarize(orders)
    con.to_parquet(result.table, out)
    con.disconnect()
    return {"total": time.perf_counter() - started}, out


# ------------------------------------------------------------------------------------------------
# lifetimes (its own venv)
# ------------------------------------------------------------------------------------------------
LIFETIMES_SCRIPT = r"""
import json, sys, time
import pandas as pd
from lifetimes.utils import summary_data_from_transaction_data
csv, out = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
frame = pd.read_csv(csv, parse_dates=["order_date"])
t1 = time.perf_counter()
summary = summary_data_from_transaction_data(
    frame, "customer_id", "order_date", monetary_value_col="revenue",
    observation_period_end=frame["order_date"].max(), freq="D",
)
t2 = time.perf_counter()
summary.to_csv(out)
print(json.dumps({"read_csv": t1 - t0, "summary": t2 - t1, "total": t2 - t0,
                  "rows": len(summary),
                  "peak_rss_mb": [int(l.split()[1]) / 1024 for l in open("/proc/self/status")
                                  if l.startswith("VmHWM:")][0]}))
"""


def run_lifetimes(csv: Path, work: Path) -> tuple[dict, Path]:
    from _peers import LIFETIMES, run_peer

    out = work / "summary_lifetimes.csv"
    completed = run_peer(LIFETIMES, LIFETIMES_SCRIPT, [str(csv), str(out)], timeout=7200)
    return json.loads(completed.stdout.strip().splitlines()[-1]), out


def compare(valuecast_file: Path, lifetimes_file: Path) -> dict:
    import pandas as pd

    ours = pd.read_parquet(valuecast_file).set_index("customer_id").sort_index()
    theirs = pd.read_csv(lifetimes_file).set_index("customer_id").sort_index()
    same_index = bool((ours.index == theirs.index).all()) and len(ours) == len(theirs)
    return {
        "customers": len(ours),
        "same_customers": same_index,
        "frequency_equal": bool((ours["frequency"] == theirs["frequency"]).all()),
        "recency_equal": bool((ours["recency"] == theirs["recency"]).all()),
        "T_equal": bool((ours["T"] == theirs["T"]).all()),
        "monetary_max_abs_diff": float(
            np.abs(ours["avg_repeat_order_value"] - theirs["monetary_value"]).max()
        ),
    }


# ------------------------------------------------------------------------------------------------
# out of core
# ------------------------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited via fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parquet_child(path: Path, memory_limit: str, threads: int | None) -> None:
    """Run in a child process: summarise ``path`` with DuckDB capped at ``memory_limit``."""
    from valuecast.analysis.summary import summarize
    from valuecast.store import connect_duckdb

    spill = CACHE / "spill"
    spill.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    con = connect_duckdb(None, memory_limit=memory_limit, threads=threads)
    con.con.execute(f"SET temp_directory = '{spill}'").fetchall()
    con.con.execute("SET preserve_insertion_order = false").fetchall()
    raw = con.read_parquet(str(path))
    orders = raw.select(
        customer_id=raw.customer_id.cast("string"),
        order_date=raw.order_date,
        net_revenue=raw.revenue,
    )
    result = summarize(orders)
    out = CACHE / f"summary_{path.stem}.parquet"
    con.to_parquet(result.table, out)
    elapsed = time.perf_counter() - started
    rows = pq.ParquetFile(out).metadata.num_rows
    con.disconnect()
    out.unlink()
    shutil.rmtree(spill, ignore_errors=True)
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "customers": rows,
                "peak_rss_mb": peak_rss_mb(),
                "memory_limit": memory_limit,
            }
        )
    )


def run_parquet(path: Path, memory_limit: str, threads: int | None) -> dict:
    command = [
        sys.executable,
        __file__,
        "--_parquet-child",
        str(path),
        "--memory-limit",
        memory_limit,
    ]
    if threads:
        command += ["--threads", str(threads)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"out-of-core summary failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------------
def machine() -> str:
    import duckdb
    import ibis

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, {memory:.0f} GiB RAM, Python "
        f"{platform.python_version()}, DuckDB {duckdb.__version__}, Ibis {ibis.__version__}"
    )


def markdown(results: dict) -> str:
    lines = ["## Summary engine", ""]
    lines.append(f"Machine: {results['machine']}. Run: `{results['command']}` ({results['date']}).")
    lines.append("")
    csv = results.get("csv")
    if csv:
        lines += [
            f"### {csv['orders']:,} orders of {csv['customers']:,} customers: CSV to summary",
            "",
            "Orders CSV (customer_id as an e-mail address, order_date, revenue) to one summary row "
            "per customer (frequency, recency, T in days, mean repeat value), every step in the "
            "same run.",
            "",
            "| path | seconds | vs lifetimes | peak RSS |",
            "| --- | ---: | ---: | ---: |",
        ]
        life = csv.get("lifetimes")
        base = life["total"] if life else None

        def ratio(seconds: float) -> str:
            if not base:
                return "n/a"
            speedup = base / seconds
            return f"{speedup:.1f}x faster" if speedup >= 1 else f"{1 / speedup:.1f}x slower"

        def rss(times: dict) -> str:
            value = times.get("peak_rss_mb")
            return "n/a" if value is None else f"{value / 1024:.2f} GiB"

        files = csv["valuecast_files"]
        lines.append(
            f"| **valuecast `summary orders.csv --map ...`** (importer rules checked by DuckDB's "
            f"CSV reader, summary in memory; route: {files['route']}) | **{files['total']:.1f}** | "
            f"**{ratio(files['total'])}** | {rss(files)} |"
        )
        product = csv["valuecast_product"]
        lines.append(
            f"| valuecast `ingest` into a workspace file, then `summary` of the workspace | "
            f"{product['total']:.1f} | {ratio(product['total'])} | {rss(product)} |"
        )
        lines.append(
            f"| &nbsp;&nbsp;of which: importer / workspace write / summary | "
            f"{product['read_csv_importer']:.1f} / {product['ingest']:.1f} / "
            f"{product['summary']:.2f} | | |"
        )
        direct = csv["valuecast_direct"]
        lines.append(
            f"| reference: DuckDB reads the CSV typed, no checks, same summary expression | "
            f"{direct['total']:.1f} | "
            f"{ratio(direct['total'])} | {rss(direct)} |"
        )
        if life:
            lines.append(
                f"| lifetimes 0.11.3 `summary_data_from_transaction_data` (pandas read_csv "
                f"{life['read_csv']:.1f} s + summary {life['summary']:.1f} s) | "
                f"{life['total']:.1f} | 1x | {rss(life)} |"
            )
            for key, label in (("agreement", "`summary orders.csv`"),
                               ("agreement_workspace", "the workspace route")):  # fmt: skip
                check = csv[key]
                lines += [
                    "",
                    f"Agreement of {label} with lifetimes on all {check['customers']:,} customers: "
                    f"frequency {'identical' if check['frequency_equal'] else 'DIFFERENT'}, "
                    f"recency {'identical' if check['recency_equal'] else 'DIFFERENT'}, T "
                    f"{'identical' if check['T_equal'] else 'DIFFERENT'}, mean repeat value max "
                    f"abs. difference {check['monetary_max_abs_diff']:.2g}.",
                ]
        lines.append("")
    big = results.get("parquet")
    if big:
        lines += [
            f"### {big['orders']:,} orders in Parquet, out of core",
            "",
            f"DuckDB through Ibis reads the Parquet file ({big['file_gb']:.1f} GB) directly, with "
            f"`memory_limit={big['memory_limit']}` and spilling to disk; the summary of "
            f"{big['customers']:,} customers is written to Parquet.",
            "",
            "| orders | customers | seconds | peak RSS |",
            "| ---: | ---: | ---: | ---: |",
            f"| {big['orders']:,} | {big['customers']:,} | {big['seconds']:.0f} | "
            f"{big['peak_rss_mb'] / 1024:.2f} GiB |",
            "",
        ]
    lines.append(
        "The machine is shared with other jobs, so timings vary by about 2x between runs; the "
        "comparison columns are measured in one run."
    )
    lines.append("")
    return "\n".join(lines)


def write_markdown(section: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = text.find("## Summary engine")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        following = text.find("\n## ", start + 1)
        end = len(text) if following == -1 else following + 1
        text = text[:start] + section + ("\n" + text[end:] if following != -1 else "")
    path.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders-per-customer", type=float, default=3.0)
    parser.add_argument("--skip-csv", action="store_true", help="Only the Parquet part.")
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument("--parquet-orders", type=int, default=0, help="e.g. 100000000")
    parser.add_argument("--memory-limit", default="6GB")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--write-md", action="store_true")
    parser.add_argument(
        "--_parquet-child", dest="parquet_child", default=None, help=argparse.SUPPRESS
    )
    parser.add_argument("--_route", dest="route", nargs=3, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.route:
        route_child(args.route[0], Path(args.route[1]), Path(args.route[2]))
        return
    if args.parquet_child:
        parquet_child(Path(args.parquet_child), args.memory_limit, args.threads)
        return

    results: dict = {
        "machine": machine(),
        "command": "python benchmarks/summary.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"),
    }
    if not args.skip_csv:
        csv = make_csv(args.customers, args.orders_per_customer)
        part: dict = {"customers": args.customers, "orders": count_rows(csv)}
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            work = Path(tmp)
            part["valuecast_files"], files_out = run_route("files", csv, work)
            print(f"valuecast summary FILE: {part['valuecast_files']}", flush=True)
            part["valuecast_product"], product_out = run_route("product", csv, work)
            print(f"valuecast importer+ingest+summary: {part['valuecast_product']}", flush=True)
            part["valuecast_direct"], _ = run_route("direct", csv, work)
            print(f"valuecast direct: {part['valuecast_direct']}", flush=True)
            if not args.skip_lifetimes:
                part["lifetimes"], lifetimes_out = run_lifetimes(csv, work)
                print(f"lifetimes: {part['lifetimes']}", flush=True)
                part["agreement"] = compare(files_out, lifetimes_out)
                part["agreement_workspace"] = compare(product_out, lifetimes_out)
                print(f"agreement: {part['agreement']}", flush=True)
        results["csv"] = part
    if args.parquet_orders:
        path = make_parquet(args.parquet_orders, args.orders_per_customer)
        big = run_parquet(path, args.memory_limit, args.threads)
        big["orders"] = count_rows(path)
        big["file_gb"] = path.stat().st_size / 1e9
        print(f"parquet: {big}", flush=True)
        results["parquet"] = big
    section = markdown(results)
    print(section)
    if args.write_md:
        write_markdown(section)


if __name__ == "__main__":
    main()
