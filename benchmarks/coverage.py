"""Coverage of the interval of a shop's predicted CLV, on simulated shops with known parameters.

Each shop has ``--customers`` customers acquired uniformly over a year (``T`` from 1 to 365 days),
buying by BG/NBD (r = 0.25, alpha = 40 days, a = 0.8, b = 2.5) with Gamma-Gamma spend (p = 6,
q = 4, v = 15: a mean order of 30). Its *true* expected 12-month CLV is the sum over its
customers of the CLV their histories give under the true parameters (margin 1, 10% a year);
valuecast's prediction (the analysis' own :func:`~valuecast.analysis.predict.predict` on a DuckDB
table of the shop's summary) fits both models and gives the 80% interval of the shop's total.
The interval covers when it contains the true value; an 80% interval should cover in about 80%
of shops (the acceptance band is 70-90%). Each shop is scored with the bootstrap and with the
delta method (which has no interval where an information matrix is singular).

    python benchmarks/coverage.py --shops 100 --customers 300 [--write-md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from datetime import date
from pathlib import Path

# the refits are many small L-BFGS runs whose BLAS calls stall when threads wait for busy cores
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import ibis  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from valuecast.analysis.backend import materialize  # noqa: E402
from valuecast.analysis.predict import predict  # noqa: E402
from valuecast.jobs.analyze import AnalysisOptions  # noqa: E402
from valuecast.models import BetaGeo, GammaGamma, ParetoNBD  # noqa: E402
from valuecast.models.clv import (  # noqa: E402
    DAYS_PER_MONTH,
    customer_lifetime_value,
    period_discount_rate,
)

TRUE_TRANSACTIONS = {"r": 0.25, "alpha": 40.0, "a": 0.8, "b": 2.5}
# Pareto/NBD shops (``--model pnbd``): CDNOW's published estimates (Fader, Hardie & Lee 2005,
# r = 0.55, alpha = 10.58, s = 0.61, beta = 11.67 in weeks) with the scales in days
TRUE_PARETO = {"r": 0.55, "alpha": 74.06, "s": 0.61, "beta": 81.69}
TRUE_SPEND = {"p": 6.0, "q": 4.0, "v": 15.0}
AS_OF = date(2025, 12, 31)
TRUTHS = {"bgnbd": (BetaGeo, TRUE_TRANSACTIONS), "pnbd": (ParetoNBD, TRUE_PARETO)}


def true_models(model: str = "bgnbd") -> tuple[BetaGeo | ParetoNBD, GammaGamma]:
    kind, params = TRUTHS[model]
    return kind().with_params(params), GammaGamma().with_params(TRUE_SPEND)


def simulate_shop(n_customers: int, seed: int, model: str = "bgnbd") -> tuple[pd.DataFrame, float]:
    """One shop's customer summary (the columns :func:`predict` reads) and its true 12-month CLV."""
    transactions, spend = true_models(model)
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 366, n_customers).astype(float)
    histories = transactions.simulate(T, seed=seed)
    f = histories["frequency"].to_numpy(dtype=float)
    r = np.minimum(np.round(histories["recency"].to_numpy(dtype=float)), T)
    r[f == 0] = 0.0
    m = spend.simulate(f, seed=seed + 1)["monetary_value"].to_numpy()
    first = rng.gamma(6.0, 5.0, n_customers)  # first orders: not part of the spend model
    truth = float(customer_lifetime_value(transactions, spend, f, r, T, m).sum())
    summary = _summary_frame(f, r, T, m, first)
    return summary, truth


def _summary_frame(
    f: np.ndarray, r: np.ndarray, T: np.ndarray, m: np.ndarray, first: np.ndarray
) -> pd.DataFrame:
    """A simulated shop's customers as :func:`predict` reads them: histories, the average repeat
    order value, and the historic figures with each customer's ``first`` order."""
    return pd.DataFrame(
        {
            "customer_id": np.arange(len(f)).astype(str),
            "frequency": f.astype("int64"),
            "recency": r.astype("int64"),
            "T": T.astype("int64"),
            "avg_repeat_order_value": m,
            "average_order_value": (first + f * m) / (1 + f),
            "historic_clv": first + f * m,
        }
    )


def simulate_shop_with_holdout(
    n_customers: int, seed: int, transactions: dict[str, float] = TRUE_TRANSACTIONS,
    spend: dict[str, float] = TRUE_SPEND, horizon: int = 12,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:  # fmt: skip
    """One BG/NBD + Gamma-Gamma shop lived through its next ``horizon`` months as well.

    Each customer's whole timeline is drawn (purchase rate, dropout probability and spend rate
    from the populations, orders as a Poisson process, dropout after each repeat order), so the
    summary at :data:`AS_OF` and the months after it are one customer's.  Returns the summary
    (the columns :func:`predict` reads) and, per customer in its order, the true expected CLV
    over the horizon (as :func:`simulate_shop`'s) and the *sales that came*: the repeat orders
    after the as-of date discounted by month as the prediction is (10% a year, margin 1).
    """
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 366, n_customers).astype(float)
    rate = rng.gamma(transactions["r"], 1.0 / transactions["alpha"], n_customers)
    dropout = rng.beta(transactions["a"], transactions["b"], n_customers)
    spend_rate = rng.gamma(spend["q"], 1.0 / spend["v"], n_customers)
    ends = T + horizon * DAYS_PER_MONTH
    monthly = period_discount_rate(0.10, DAYS_PER_MONTH)
    now, f, last, spent, sales = (np.zeros(n_customers) for _ in range(5))
    buying = np.ones(n_customers, dtype=bool)
    while buying.any():  # one repeat order of every customer still buying per round
        who = np.flatnonzero(buying)
        now[who] += rng.exponential(1.0 / rate[who])
        buying[who[now[who] > ends[who]]] = False
        who = who[now[who] <= ends[who]]
        value = rng.gamma(spend["p"], 1.0 / spend_rate[who])
        before = now[who] <= T[who]
        seen = who[before]
        f[seen] += 1
        last[seen] = now[seen]
        spent[seen] += value[before]
        later = who[~before]
        month = np.ceil((now[later] - T[later]) / DAYS_PER_MONTH)
        sales[later] += value[~before] / (1.0 + monthly) ** month
        buying[who[rng.random(len(who)) < dropout[who]]] = False
    r = np.where(f > 0, np.minimum(np.round(last), T), 0.0)
    m = np.where(f > 0, spent / np.maximum(f, 1.0), 0.0)
    first = rng.gamma(spend["p"], 1.0 / spend_rate)
    true_transactions = BetaGeo().with_params(transactions)
    true_spend = GammaGamma().with_params(spend)
    truth = customer_lifetime_value(true_transactions, true_spend, f, r, T, m, horizon=horizon)
    summary = _summary_frame(f, r, T, m, first)
    return summary, truth, sales


def shop_interval(
    summary: pd.DataFrame, method: str, con=None, replicates: int = 100, model: str = "bgnbd"
) -> dict:
    """valuecast's point and 80% interval of the shop's predicted CLV (and per customer)."""
    con = con or ibis.duckdb.connect()
    name = f"shop_{time.time_ns()}"
    con.con.register(f"{name}_frame", summary)
    con.raw_sql(f'CREATE TEMP TABLE "{name}" AS SELECT * FROM "{name}_frame"')
    table = con.table(name)
    options = AnalysisOptions(interval_method=method, interval_replicates=replicates)
    releases: list = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predicted = predict(table, model, AS_OF, options, has_repeat=True, releases=releases)
        full = materialize(predicted.customers, releases)
        if predicted.terms is None:  # predictions withheld (analysis.dropout): no interval
            totals = dict.fromkeys(("predicted_clv", "predicted_clv_p10", "predicted_clv_p90"))
        else:
            totals = predicted.totals(full)
        customers = full.select(
            "customer_id", "predicted_clv", "predicted_clv_p10", "predicted_clv_p90"
        )
        customers = customers.to_pandas()
    intervals = None if predicted.terms is None else predicted.terms.intervals
    spend_model = predicted.model.get("spend_model", {})
    result = {
        "point": totals["predicted_clv"],
        "low": totals["predicted_clv_p10"],
        "high": totals["predicted_clv_p90"],
        "customers": customers,
        "spend_model": spend_model.get("name"),
        # no standard error: a singular information matrix (NaN) or a parameter at a limit (None)
        "spend_singular": bool(
            np.isnan(
                np.array(list(spend_model.get("standard_errors", {"q": 0}).values()), dtype=float)
            ).any()
        ),
        "withheld": predicted.note if predicted.terms is None else None,
        "method": (predicted.model.get("interval") or {}).get("method"),
    }
    if intervals is not None and hasattr(intervals, "totals"):
        result["replicate_totals"] = intervals.totals
    future = None if predicted.terms is None else predicted.terms.future
    result["sales_low"] = totals.get("predicted_sales_p10")
    result["sales_high"] = totals.get("predicted_sales_p90")
    if future is not None and future.relative is not None:
        result["sales_relative"] = future.relative
    for release in reversed(releases):
        release()
    con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
    con.con.unregister(f"{name}_frame")
    return result


def covers(result: dict, truth: float) -> bool:
    low, high = result["low"], result["high"]
    return low is not None and low <= truth <= high


def study(
    n_shops: int, n_customers: int, first_seed: int = 1, model: str = "bgnbd",
    methods: tuple[str, ...] = ("bootstrap", "delta"),
) -> dict:  # fmt: skip
    """Coverage of the bootstrap's and the delta method's 80% intervals over ``n_shops`` shops."""
    con = ibis.duckdb.connect()
    rows = []
    for seed in range(first_seed, first_seed + n_shops):
        summary, truth = simulate_shop(n_customers, seed, model)
        row = {"seed": seed, "truth": truth}
        for method in methods:
            started = time.perf_counter()
            result = shop_interval(summary, method, con, model=model)
            row[method] = {
                "seconds": time.perf_counter() - started,
                "point": result["point"],
                "low": result["low"],
                "high": result["high"],
                "covers": covers(result, truth),
                "spend_singular": result["spend_singular"],
            }
            if "replicate_totals" in result:
                replicates = result["replicate_totals"]
                q10, q90 = np.quantile(replicates, [0.1, 0.9])
                row["percentile_covers"] = bool(q10 <= truth <= q90)
                spread = 1.2816 * float(np.std(np.log(replicates), ddof=1))
                row["sd_covers"] = bool(abs(np.log(result["point"] / truth)) <= spread)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return summarise(rows, n_customers, model)


def summarise(rows: list[dict], n_customers: int, model: str = "bgnbd") -> dict:
    out = {"shops": len(rows), "customers": n_customers, "model": model}
    for method in ("bootstrap", "delta"):
        if not all(method in row for row in rows):  # not run (--methods)
            out[method] = None
            continue
        results = [row[method] for row in rows]
        with_interval = [r for r in results if r["low"] is not None]
        out[method] = {
            "coverage": float(np.mean([r["covers"] for r in results])),
            "with_interval": len(with_interval),
            "coverage_where_interval": float(np.mean([r["covers"] for r in with_interval]))
            if with_interval
            else None,
            "median_relative_width": float(
                np.median([(r["high"] - r["low"]) / r["point"] for r in with_interval])
            )
            if with_interval
            else None,
            "mean_seconds": float(np.mean([r["seconds"] for r in results])),
        }
    ran = next(method for method in ("delta", "bootstrap") if out[method] is not None)
    out["spend_singular_shops"] = int(sum(row[ran]["spend_singular"] for row in rows))
    out["percentile_coverage"] = float(
        np.mean([row.get("percentile_covers", False) for row in rows])
    )
    return out


def markdown(results: list[dict]) -> str:
    lines = [
        f"Run {time.strftime('%Y-%m-%d')} on {platform.machine()}, Python "
        f"{platform.python_version()}, 2 cores; `python benchmarks/coverage.py`. Simulated shops "
        "(BG/NBD r = 0.25, alpha = 40 days, a = 0.8, b = 2.5, or with `--model pnbd` Pareto/NBD "
        "r = 0.55, alpha = 74.06 days, s = 0.61, beta = 81.69 days; Gamma-Gamma p = 6, q = 4, "
        "v = 15; customers acquired over one year): how often the 80% interval of the shop's "
        "predicted 12-month CLV contains the true expected value (the sum of the customers' CLV "
        "under the true parameters). Target 80%, acceptance 70-90%.",
        "",
        "| model | customers per shop | shops | bootstrap coverage | its median width | delta "
        "method coverage (shops with an interval) | its median width | Gamma-Gamma singular | "
        "seconds per shop (bootstrap / delta) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        b, d = r["bootstrap"], r["delta"]
        if d is None or d["coverage_where_interval"] is None:
            delta_coverage = "-"
        else:
            delta_coverage = f"{d['coverage_where_interval']:.0%} ({d['with_interval']})"
        if d is None or d["median_relative_width"] is None:
            delta_width = "-"
        else:
            delta_width = f"{d['median_relative_width']:.1%}"
        boot = "- | -" if b is None else f"{b['coverage']:.0%} | {b['median_relative_width']:.1%}"
        seconds = " / ".join("-" if m is None else f"{m['mean_seconds']:.2f}" for m in (b, d))
        lines.append(
            f"| {r.get('model', 'bgnbd')} | {r['customers']:,} | {r['shops']} | {boot} | "
            f"{delta_coverage} | {delta_width} | {r['spend_singular_shops']} | {seconds} |"
        )
    return "\n".join(lines)


HOLDOUT_TRUTHS = {
    "cdnow": (  # CDNOW's BG/NBD (Fader, Hardie & Lee 2005; alpha in days) and Gamma-Gamma
        {"r": 0.243, "alpha": 4.414 * 7, "a": 0.793, "b": 2.426},
        {"p": 6.25, "q": 3.74, "v": 15.44},
    ),
    "frequent": (  # frequent buyers who lapse slowly (consumables), less varied spend
        {"r": 0.8, "alpha": 60.0, "a": 0.5, "b": 6.0},
        {"p": 4.0, "q": 8.0, "v": 50.0},
    ),
}
HOLDOUT_LEVELS = (0.5, 0.8, 0.9, 0.95)


def holdout_study(n_shops: int, n_customers: int, first_seed: int, truth: str) -> list[dict]:
    """Per shop, whether the interval of the shop total at each level holds the true expected
    value and the sales that came, with ``analyze``'s own choice of interval method.

    The other levels' bounds come from the same fit as the 80% one's: the replicates' robust
    spread at that level (as :meth:`BootstrapIntervals.total_bounds` makes them), or, from the
    delta method, its standard deviation of the log total.
    """
    from scipy.special import ndtri

    from valuecast.analysis.uncertainty import robust_variance

    transactions, spend = HOLDOUT_TRUTHS[truth]
    con = ibis.duckdb.connect()
    rows = []
    for seed in range(first_seed, first_seed + n_shops):
        summary, expected, sales = simulate_shop_with_holdout(
            n_customers, seed, transactions, spend
        )
        result = shop_interval(summary, "auto", con)
        row = {"seed": seed, "expected": float(expected.sum()), "sales": float(sales.sum())}
        row.update(point=result["point"], low=result["low"], high=result["high"])
        if result["low"] is not None:
            sd_80 = float(np.log(result["high"] / result["point"]) / ndtri(0.9))
            for level in HOLDOUT_LEVELS:
                z = float(ndtri(0.5 + level / 2))
                sd = sd_80
                if "replicate_totals" in result:
                    totals = result["replicate_totals"][result["replicate_totals"] > 0]
                    sd = float(np.sqrt(robust_variance(np.log(totals)[:, None], z)[0]))
                low, high = result["point"] * np.exp(-z * sd), result["point"] * np.exp(z * sd)
                row[f"expected_{level}"] = bool(low <= row["expected"] <= high)
                row[f"sales_{level}"] = bool(low <= row["sales"] <= high)
                if "sales_relative" in result:  # the range of the sales to come at this level
                    low, high = sales_range(result["point"], sd, result["sales_relative"], level)
                    row[f"range_{level}"] = bool(low <= row["sales"] <= high)
                    if level == 0.8:
                        row.update(range_low=low, range_high=high)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def sales_range(point: float, sd: float, relative: np.ndarray, level: float):
    """The range of the sales to come at ``level`` as ``analyze`` makes it, from the expected
    value's spread ``sd`` at that level and the shop's simulated sales over their expectation."""
    from valuecast.analysis.sales_range import combined_range

    return combined_range(point, sd, relative, level)[1:]


def holdout_markdown(rows_by_size: dict[int, list[dict]], truth: str) -> str:
    """The holdout study's table: coverage of the expected value and of the sales, per level."""
    levels = " / ".join(f"{level:.0%}" for level in HOLDOUT_LEVELS)
    lines = [
        f"| truth | customers per shop | shops | interval of the expected value: holds the "
        f"expected value ({levels}) | holds the sales that came ({levels}) | median width (80%) "
        f"| range of the sales to come: holds the sales that came ({levels}) | median width "
        f"(80%) |",
        "|---|---:|---:|---|---|---:|---|---:|",
    ]
    for n_customers, rows in rows_by_size.items():
        made = [row for row in rows if row["low"] is not None]
        cells = [
            " / ".join(f"{np.mean([row[f'{kind}_{lv}'] for row in made]):.0%}" for lv in
                       HOLDOUT_LEVELS)
            for kind in ("expected", "sales", "range")
        ]  # fmt: skip
        width = np.median([(row["high"] - row["low"]) / row["point"] for row in made])
        ranged = np.median([(row["range_high"] - row["range_low"]) / row["point"] for row in made])
        lines.append(
            f"| {truth} | {n_customers:,} | {len(made)} | {cells[0]} | {cells[1]} | {width:.1%} "
            f"| {cells[2]} | {ranged:.1%} |"
        )
    return "\n".join(lines)


def timing(n_customers: int) -> str:
    """Seconds of the predictions (fits, CLV, intervals, totals) of one shop with each method."""
    summary, _ = simulate_shop(n_customers, 1)
    cells = []
    for method in ("delta", "bootstrap"):
        started = time.perf_counter()
        shop_interval(summary, method)
        cells.append(f"{method} {time.perf_counter() - started:.1f} s")
    histories = len(summary.groupby(["frequency", "recency", "T"]))
    return (
        f"Predictions of one simulated shop of {n_customers:,} customers ({histories:,} distinct "
        f"histories; BG/NBD + Gamma-Gamma, 100 replicates): " + ", ".join(cells) + "."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, nargs="+", default=[100])
    parser.add_argument("--customers", type=int, nargs="+", default=[300])
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument(
        "--rows", nargs="+", help="summarise the per-shop JSON lines (stderr) of earlier runs"
    )
    parser.add_argument("--time-customers", type=int, help="only time one shop of this size")
    parser.add_argument("--model", choices=sorted(TRUTHS), default="bgnbd")
    parser.add_argument(
        "--methods", nargs="+", choices=("bootstrap", "delta"), default=["bootstrap", "delta"]
    )
    parser.add_argument("--write-md", action="store_true")
    parser.add_argument(
        "--holdout", choices=sorted(HOLDOUT_TRUTHS),
        help="live each shop through its next 12 months: does the interval hold the sales?",
    )  # fmt: skip
    args = parser.parse_args()
    if args.time_customers:
        print(timing(args.time_customers))
        return
    if args.holdout:
        shops = args.shops * len(args.customers) if len(args.shops) == 1 else args.shops
        rows = {
            c: holdout_study(s, c, args.first_seed, args.holdout)
            for s, c in zip(shops, args.customers, strict=True)
        }
        text = holdout_markdown(rows, args.holdout)
        print(text)
        if args.write_md:
            from _report import write_section

            write_section(HERE.parent / "BENCHMARKS.md", "Coverage of the sales that came", text)
        return
    shops = args.shops * len(args.customers) if len(args.shops) == 1 else args.shops
    if args.rows:  # one file per shop size, in --customers order (runs split over seeds: cat)
        results = [
            summarise(
                [json.loads(line) for line in open(path) if line.startswith("{")], n, args.model
            )
            for path, n in zip(args.rows, args.customers, strict=True)
        ]
    else:
        results = [
            study(s, c, args.first_seed, args.model, tuple(args.methods))
            for s, c in zip(shops, args.customers, strict=True)
        ]
    for r in results:
        print(json.dumps(r))
    text = markdown(results)
    print(text)
    if args.write_md:
        from _report import write_section

        write_section(HERE.parent / "BENCHMARKS.md", "Coverage of the CLV interval", text)


if __name__ == "__main__":
    main()
