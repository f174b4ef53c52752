"""Dashboard benchmark: `valuecast serve` on a 1M-customer workspace, latency and a bounded load.

1. A simulated workspace of N customers (``growth.build_workspace``: orders and lines written
   straight in DuckDB), analysed by ``valuecast analyze`` (which stores the snapshot the
   dashboard shows).
2. ``valuecast serve`` in its own process on a free loopback port; start-up (including the
   charts of the latest snapshot) is timed until the API answers.
3. Latency, one request at a time: the overview page, customers pages (first page, random pages
   of the first 200 under random sort orders), the customers API, a search, a customer page.
4. Load: 50 concurrent clients (asyncio + httpx) on 127.0.0.1 for 60 s, each looping over a mix
   of pages and API calls; every non-200 answer or exception is an error.  Bounded by time and
   by a request cap; nothing leaves the machine.

``--write-md`` writes the "Dashboard" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _report import publish  # noqa: E402
from growth import build_workspace  # noqa: E402

SORTS = ("predicted_clv", "historic_clv", "probability_alive", "last_order_date", "customer_id")
MAX_LOAD_REQUESTS = 200_000  # a cap on top of the time limit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[index]


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (independent of the machine's load)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(client, url: str, n: int) -> dict:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url() if callable(url) else url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(
                f"{response.request.url}: {response.status_code} {response.text[:200]}"
            )
    return {
        "n": n,
        "p50": percentile(times, 50),
        "p95": percentile(times, 95),
        "max": max(times),
    }


async def load(base: str, clients: int, seconds: float, customer_ids: list[str]) -> dict:
    import httpx

    rng = random.Random(3)
    deadline = time.monotonic() + seconds
    counts = {"requests": 0, "errors": 0}
    latencies: list[float] = []
    errors: dict[str, int] = {}

    def next_url() -> str:
        roll = rng.random()
        if roll < 0.25:
            return "/"
        if roll < 0.5:
            page, sort = rng.randint(1, 200), rng.choice(SORTS)
            return f"/customers?page={page}&sort={sort}&order={rng.choice(('asc', 'desc'))}"
        if roll < 0.7:
            return f"/api/v1/customers?page={rng.randint(1, 200)}&sort={rng.choice(SORTS)}"
        if roll < 0.8:
            return "/api/v1/overview"
        if roll < 0.9:
            return "/segments"
        if roll < 0.95:
            return f"/customers/{rng.choice(customer_ids)}"
        return "/static/app.js"

    async def one(client) -> None:
        while time.monotonic() < deadline and counts["requests"] < MAX_LOAD_REQUESTS:
            url = next_url()
            counts["requests"] += 1
            started = time.perf_counter()
            try:
                response = await client.get(url)
                if response.status_code != 200:
                    counts["errors"] += 1
                    key = f"HTTP {response.status_code}"
                    errors[key] = errors.get(key, 0) + 1
            except Exception as error:  # counted, never hidden
                counts["errors"] += 1
                key = type(error).__name__
                errors[key] = errors.get(key, 0) + 1
            latencies.append((time.perf_counter() - started) * 1000)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        await asyncio.gather(*(one(client) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        **counts,
        "seconds": elapsed,
        "per_second": counts["requests"] / elapsed,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "max": max(latencies),
        "error_kinds": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--samples", type=int, default=100, help="requests per latency row")
    parser.add_argument("--workspace", type=Path, help="reuse this analysed workspace")
    parser.add_argument("--write-md", action="store_true")
    args = parser.parse_args()
    import httpx

    executable = str(Path(sys.executable).with_name("valuecast"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sizes: dict = {}
        analyze_seconds = None
        workspace = args.workspace
        if workspace is None:
            workspace = work / "shop.duckdb"
            started = time.perf_counter()
            sizes = build_workspace(workspace, args.customers)
            print(f"workspace {sizes} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            started = time.perf_counter()
            subprocess.run(
                [executable, "analyze", "--workspace", str(workspace), "--out", str(work / "out")],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            analyze_seconds = time.perf_counter() - started
            print(f"analyze {analyze_seconds:.0f} s", file=sys.stderr)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        server = subprocess.Popen(
            [executable, "serve", "--workspace", str(workspace), "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            with httpx.Client(base_url=base, timeout=120) as client:
                while True:
                    if server.poll() is not None:
                        raise RuntimeError(f"serve exited: {server.stderr.read().decode()}")
                    try:
                        if client.get("/api/v1/snapshots").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.2)
                startup = time.perf_counter() - started
                startup_cpu = cpu_seconds(server.pid)
                info = client.get("/api/v1/snapshots").json()[-1]
                print(
                    f"server ready in {startup:.1f} s ({startup_cpu:.1f} s of CPU): {info}",
                    file=sys.stderr,
                )
                # the first requests after start-up: the charts and sort orders are read from
                # the snapshot, the descending orders and e-mails are still being derived
                first = {}
                for url in (
                    "/",
                    "/customers?sort=predicted_clv&order=desc",
                    "/customers?sort=rfm_group&order=asc&page=7",
                    "/customers?q=c12",
                ):
                    begun = time.perf_counter()
                    if client.get(url).status_code != 200:
                        raise RuntimeError(f"{url}: not 200")
                    first[url] = (time.perf_counter() - begun) * 1000
                print(f"first requests (ms): {first}", file=sys.stderr)
                rng = random.Random(1)
                ids = [
                    row["customer_id"]
                    for page in (1, 50, 500)
                    for row in client.get(f"/api/v1/customers?page={page}&per_page=100").json()[
                        "rows"
                    ]
                ]
                n = args.samples
                rows = {
                    "overview page `/`": timed(client, "/", n),
                    "customers page `/customers` (first page)": timed(client, "/customers", n),
                    "customers page, random page 1-200 and sort": timed(
                        client,
                        lambda: (
                            f"/customers?page={rng.randint(1, 200)}&sort="
                            f"{rng.choice(SORTS)}&order={rng.choice(('asc', 'desc'))}"
                        ),
                        n,
                    ),
                    "`/api/v1/customers`, random page 1-200": timed(
                        client, lambda: f"/api/v1/customers?page={rng.randint(1, 200)}", n
                    ),
                    "`/api/v1/overview`": timed(client, "/api/v1/overview", n),
                    "customer search `?q=` (id/e-mail prefix)": timed(
                        client, lambda: f"/customers?q={rng.choice(ids)[:6]}", max(10, n // 5)
                    ),
                    "customer page `/customers/{id}`": timed(
                        client, lambda: f"/customers/{rng.choice(ids)}", max(10, n // 5)
                    ),
                    "segment export, tier-high to klaviyo": timed(
                        client, "/api/v1/segments/tier-high/export?to=klaviyo", 3
                    ),
                }
                for name, row in rows.items():
                    print(name, row, file=sys.stderr)
            result = asyncio.run(load(base, args.clients, args.seconds, ids))
            print(f"load: {result}", file=sys.stderr)
            rss = peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    load_average = os.getloadavg()[0]
    n_customers = info["n_customers"]
    lines = [
        f"Run {time.strftime('%Y-%m-%d')} on {platform.machine()}, Python "
        f"{platform.python_version()}, 2 cores; `python benchmarks/dashboard.py`. A simulated "
        f"workspace of {n_customers:,} customers"
        + (f" ({sizes['orders']:,} orders, {sizes['lines']:,} order lines)" if sizes else "")
        + (
            f", analysed by `valuecast analyze` in {analyze_seconds:.0f} s"
            if analyze_seconds
            else ""
        )
        + f"; `valuecast serve` ready in {startup:.1f} s, {startup_cpu:.1f} s of the server's "
        "CPU (it reads the charts, segment counts and sort orders stored with the snapshot by "
        "`analyze`). The client runs on the same 2 "
        f"cores as the server. Load average when the run ended: {load_average:.1f} (other work "
        "on the machine slows every number).",
        "",
        "The first requests once the server answers, one at a time (milliseconds): "
        + ", ".join(f"`{url}` {ms:.0f}" for url, ms in first.items())
        + ".",
        "",
        "One request at a time (milliseconds, client-side, HTTP on loopback):",
        "",
        "| request | n | p50 | p95 | max |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        lines.append(
            f"| {name} | {row['n']} | {row['p50']:.0f} | {row['p95']:.0f} | {row['max']:.0f} |"
        )
    kinds = ", ".join(f"{k} {v}" for k, v in result["error_kinds"].items()) or "none"
    lines += [
        "",
        f"Load: {args.clients} concurrent clients on 127.0.0.1 for {result['seconds']:.0f} s, a "
        "mix of the overview, customers pages under random sorts, the customers and overview "
        "API, segments, customer pages and a static file: "
        f"**{result['requests']:,} requests, {result['errors']} errors** ({kinds}), "
        f"{result['per_second']:.0f} requests/s, latency p50 {result['p50']:.0f} ms, p95 "
        f"{result['p95']:.0f} ms, max {result['max']:.0f} ms. Server peak RSS "
        + (f"{rss:,.0f} MiB." if rss else "not measured."),
    ]
    publish(lines, "Dashboard", args.write_md)


if __name__ == "__main__":
    main()
