"""Model-core benchmark: valuecast against lifetimes (and pymc-marketing where it installs).

Simulated shops of 10k, 100k, 1M and 10M customers at daily resolution are drawn from the BG/NBD
and Gamma-Gamma generative processes (vectorised here so the simulation itself is cheap).  Each
library, in its own process, then does the same job on the same data:

1. fit BG/NBD on (frequency, recency, T);
2. fit Gamma-Gamma on the repeat customers' mean spend;
3. predict per customer: P(alive), expected orders over 30 days, and 12-month CLV (10% annual).

valuecast and the peers run in the same benchmark run, one after the other, and the report gives
the ratio.  Peak RSS is the process's high-water mark (data included).  Usage::

    python benchmarks/models.py                       # 10k, 100k, 1M, 10M (peers up to 1M)
    python benchmarks/models.py --sizes 10000 100000  # quicker
    python benchmarks/models.py --no-write            # do not touch BENCHMARKS.md
    python benchmarks/models.py --covariates --sizes 1000000  # only the covariate row

``--covariates`` times BG/NBD with two binary covariates in both processes against the plain fit
on the same shop (section "Models with covariates"; the other sections are left as they are).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _peers import LIFETIMES, PYMC_MARKETING, run_peer  # noqa: E402
from _report import write_section  # noqa: E402

# BG/NBD parameters in days (CDNOW's weekly alpha 4.414 is about 31 in days) and Gamma-Gamma.
TRUE_BGNBD = {"r": 0.243, "alpha": 31.0, "a": 0.793, "b": 2.426}
TRUE_GG = {"p": 6.25, "q": 3.74, "v": 15.44}
MAX_DAYS = 730


def simulate_shop(n: int, seed: int = 42) -> dict[str, np.ndarray]:
    """A BG/NBD + Gamma-Gamma shop of ``n`` customers observed for 1..730 days (whole days)."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = (TRUE_BGNBD[k] for k in ("r", "alpha", "a", "b"))
    T = rng.integers(1, MAX_DAYS + 1, n).astype(float)
    rate = rng.gamma(r, 1.0 / alpha, n)
    dropout = rng.beta(a, b, n)
    purchases_if_alive = rng.poisson(rate * T)
    # the customer dies right after their J-th repeat purchase, J ~ Geometric(p) on 1, 2, ...
    lifetime_purchases = rng.geometric(dropout)
    x = np.minimum(purchases_if_alive, lifetime_purchases)
    # the x-th of n uniform arrival times on (0, T] is T * Beta(x, n - x + 1)
    has = x > 0
    t_x = np.zeros(n)
    t_x[has] = T[has] * rng.beta(x[has], purchases_if_alive[has] - x[has] + 1)
    t_x = np.floor(t_x)
    # Gamma-Gamma spend: nu ~ Gamma(q, v); the mean of x purchases ~ Gamma(p x, nu x)
    p, q, v = (TRUE_GG[k] for k in ("p", "q", "v"))
    nu = rng.gamma(q, 1.0 / v, n)
    monetary = np.zeros(n)
    monetary[has] = rng.gamma(p * x[has], 1.0 / (nu[has] * x[has]))
    return {"frequency": x.astype(float), "recency": t_x, "T": T, "monetary_value": monetary}


# two binary covariates (e.g. a channel, a first-order discount) in both processes
COVARIATE_EFFECTS = {"purchase": (0.4, -0.3), "dropout": (-0.5, 0.3)}


def simulate_covariate_shop(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    """A BG/NBD shop whose customers' alpha, a and b follow two binary covariates (Fader &
    Hardie 2007: alpha_i = alpha exp(-g_p . x_i), a_i = a exp(g_d . x_i), b_i = b exp(g_d . x_i))."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = (TRUE_BGNBD[k] for k in ("r", "alpha", "a", "b"))
    covariates = rng.integers(0, 2, (n, 2)).astype(float)
    purchase = covariates @ np.array(COVARIATE_EFFECTS["purchase"])
    dropout = np.exp(covariates @ np.array(COVARIATE_EFFECTS["dropout"]))
    T = rng.integers(1, MAX_DAYS + 1, n).astype(float)
    rate = rng.gamma(r, 1.0 / (alpha * np.exp(-purchase)), n)
    p = rng.beta(a * dropout, b * dropout, n)
    opportunities = rng.poisson(rate * T)
    x = np.minimum(opportunities, rng.geometric(p))
    has = x > 0
    t_x = np.zeros(n)
    t_x[has] = np.floor(T[has] * rng.beta(x[has], opportunities[has] - x[has] + 1))
    return {"frequency": x.astype(float), "recency": t_x, "T": T, "covariates": covariates}


COVARIATE_JOB = r"""
import json, sys, time
import numpy as np
from valuecast.models import BetaGeo
data = np.load(sys.argv[1])
f, r, T, X = data["frequency"], data["recency"], data["T"], data["covariates"]
start = time.perf_counter()
plain = BetaGeo().fit(f, r, T)
plain_fit = time.perf_counter() - start
start = time.perf_counter()
model = BetaGeo().fit(f, r, T, purchase_covariates=X, dropout_covariates=X)
covariate_fit = time.perf_counter() - start
print(json.dumps({"plain": plain_fit, "covariates": covariate_fit,
                  "distinct_plain": plain.n_distinct_histories_,
                  "distinct_covariates": model.n_distinct_histories_,
                  "coefficients": model.coefficients_,
                  "standard_errors": model.coefficient_standard_errors_}))
"""


def run_covariate_rows(sizes: list[int], repeats: int, write_md: bool) -> None:
    """Time the plain and the two-binary-covariate BG/NBD fit; write their section."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"covariate_shop_{n}.npz"
            np.savez(path, **simulate_covariate_shop(n))
            runs = []
            for _ in range(repeats):
                completed = subprocess.run(
                    [sys.executable, "-c", COVARIATE_JOB, str(path)],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                runs.append(json.loads(completed.stdout.strip().splitlines()[-1]))
            best = {key: min(run[key] for run in runs) for key in ("plain", "covariates")}
            rows.append({"n": n, **runs[-1], **best})
            print(json.dumps(rows[-1]), flush=True)
    lines = [
        f"Run {time.strftime('%Y-%m-%d')} on {platform.machine()}, "
        f"{platform.python_version()}, 2 cores; `python benchmarks/models.py --covariates`. "
        "A BG/NBD shop (the Models section's parameters, T uniform over 1..730 days) whose customers carry "
        "two binary covariates, both in the purchase and in the dropout process (true effects "
        f"{json.dumps(COVARIATE_EFFECTS)}). Fit times in seconds, best of {repeats} each, "
        "plain and with covariates on the same data in the same process. Load average when "
        f"the run ended: {os.getloadavg()[0]:.1f}.",
        "",
        "| customers | distinct histories (plain / with covariates) | plain BG/NBD fit | "
        "fit with two binary covariates | ratio |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['n']:,} | {row['distinct_plain']:,} / {row['distinct_covariates']:,} | "
            f"{row['plain']:.3f} | {row['covariates']:.3f} | "
            f"{row['covariates'] / row['plain']:.1f}x |"
        )
    lines += ["", "Estimated coefficients (standard errors):", ""]
    for row in rows:
        shown = "; ".join(
            f"{process} " + ", ".join(
                f"{name} {value:.3f} ({row['standard_errors'][process][name]:.3f})"
                for name, value in values.items()
            )
            for process, values in row["coefficients"].items()
        )  # fmt: skip
        lines.append(f"- {row['n']:,}: {shown}")
    if write_md:
        write_section(HERE.parent / "BENCHMARKS.md", "Models with covariates", "\n".join(lines))
    print("\n".join(lines))


VALUECAST_JOB = r"""
import json, resource, sys, time
import numpy as np
from valuecast.models import BetaGeo, GammaGamma
from valuecast.models.clv import customer_lifetime_value
data = np.load(sys.argv[1])
f, r, T, m = data["frequency"], data["recency"], data["T"], data["monetary_value"]
timings = {}
start = time.perf_counter()
bgnbd = BetaGeo().fit(f, r, T)
timings["bgnbd_fit"] = time.perf_counter() - start
t0 = time.perf_counter()
repeat = f > 0
gg = GammaGamma().fit(f[repeat], m[repeat])
timings["gg_fit"] = time.perf_counter() - t0
t0 = time.perf_counter()
alive = bgnbd.probability_alive(f, r, T)
orders_30 = bgnbd.expected_transactions(30, f, r, T)
clv = customer_lifetime_value(bgnbd, gg, f, r, T, m, horizon=12, period=365.25 / 12,
                              annual_discount_rate=0.10)
timings["predict"] = time.perf_counter() - t0
timings["total"] = time.perf_counter() - start
print(json.dumps({"timings": timings, "params": bgnbd.params_, "gg": gg.params_,
                  "distinct": bgnbd.n_distinct_histories_,
                  "checks": [float(alive.mean()), float(orders_30.sum()), float(clv.sum())],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

LIFETIMES_JOB = r"""
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
data = np.load(sys.argv[1])
frame = pd.DataFrame({k: data[k] for k in ("frequency", "recency", "T", "monetary_value")})
timings = {}
start = time.perf_counter()
bgnbd = BetaGeoFitter().fit(frame["frequency"], frame["recency"], frame["T"])
timings["bgnbd_fit"] = time.perf_counter() - start
t0 = time.perf_counter()
repeat = frame[frame["frequency"] > 0]
gg = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
timings["gg_fit"] = time.perf_counter() - t0
t0 = time.perf_counter()
alive = bgnbd.conditional_probability_alive(frame["frequency"], frame["recency"], frame["T"])
orders_30 = bgnbd.conditional_expected_number_of_purchases_up_to_time(
    30, frame["frequency"], frame["recency"], frame["T"])
clv = gg.customer_lifetime_value(bgnbd, frame["frequency"], frame["recency"], frame["T"],
    frame["monetary_value"], time=12, freq="D", discount_rate=0.10 / 12)
timings["predict"] = time.perf_counter() - t0
timings["total"] = time.perf_counter() - start
params = {k: float(v) for k, v in bgnbd.params_.items()}
print(json.dumps({"timings": timings, "params": params,
                  "checks": [float(np.mean(alive)), float(np.sum(orders_30)), float(np.sum(clv))],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


PYMC_JOB = r"""
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd
import pymc_marketing
from pymc_marketing.clv import BetaGeoModel
data = np.load(sys.argv[1])
frame = pd.DataFrame({k: data[k] for k in ("frequency", "recency", "T")})
frame.insert(0, "customer_id", np.arange(len(frame)))
start = time.perf_counter()
model = BetaGeoModel(data=frame)
model.fit(method="map", progressbar=False)
fit = time.perf_counter() - start
params = {k: float(v) for k, v in model.fit_summary().items() if k in ("r", "alpha", "a", "b")}
print(json.dumps({"timings": {"bgnbd_fit": fit}, "params": params,
                  "version": pymc_marketing.__version__,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_valuecast(path: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", VALUECAST_JOB, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"valuecast job failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run_lifetimes(path: Path) -> dict:
    completed = run_peer(LIFETIMES, LIFETIMES_JOB, [str(path)], timeout=3600)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run_pymc(path: Path) -> dict | None:
    """pymc-marketing's BG/NBD MAP fit, or None (with the reason printed) where it does not run."""
    try:
        completed = run_peer(PYMC_MARKETING, PYMC_JOB, [str(path)], timeout=3600)
    except Exception as error:  # not installable or failing here: reported, not fatal
        print(f"pymc-marketing not run: {str(error).splitlines()[0]}", file=sys.stderr)
        return None
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000, 10_000_000]
    )
    parser.add_argument("--peer-max", type=int, default=1_000_000, help="largest size run on peers")
    parser.add_argument("--pymc-max", type=int, default=100_000, help="largest size for pymc")
    parser.add_argument(
        "--repeats", type=int, default=3, help="valuecast runs per size (best kept)"
    )
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--covariates", action="store_true", help="only the fit with two binary covariates"
    )
    args = parser.parse_args()
    if args.covariates:
        run_covariate_rows(args.sizes, args.repeats, not args.no_write)
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = Path(tmp) / f"shop_{n}.npz"
            np.savez(path, **simulate_shop(n))
            ours = min(
                (run_valuecast(path) for _ in range(args.repeats)),
                key=lambda run: run["timings"]["total"],
            )
            peer = run_lifetimes(path) if n <= args.peer_max else None
            pymc = run_pymc(path) if n <= args.pymc_max else None
            row = {"n": n, "valuecast": ours, "lifetimes": peer, "pymc": pymc}
            rows.append(row)
            print(json.dumps(row), flush=True)

    lines = [
        f"Run {time.strftime('%Y-%m-%d')} on {platform.machine()}, {platform.python_version()}, "
        "2 cores; `python benchmarks/models.py`. Simulated BG/NBD + Gamma-Gamma shops at daily "
        f"resolution (T uniform over 1..{MAX_DAYS} days). Job: fit BG/NBD, fit Gamma-Gamma on "
        "repeaters, then per customer P(alive), expected orders in 30 days and 12-month CLV. "
        "Times in seconds (valuecast: best of "
        f"{args.repeats}); RSS = process peak, data included. Load average when the run "
        f"ended: {os.getloadavg()[0]:.1f} (other work on the 2 cores slows every column).",
        "",
        "| customers | distinct histories | valuecast BG/NBD fit | GG fit | predict | **total** | peak RSS | "
        "lifetimes total | lifetimes peak RSS | speed-up |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ours, peer = row["valuecast"], row["lifetimes"]
        t = ours["timings"]
        peer_total = f"{peer['timings']['total']:.2f}" if peer else "not run"
        peer_rss = f"{peer['peak_rss_mb']:.0f} MiB" if peer else "-"
        ratio = f"{peer['timings']['total'] / t['total']:.0f}x" if peer else "-"
        lines.append(
            f"| {row['n']:,} | {ours['distinct']:,} | {t['bgnbd_fit']:.3f} | {t['gg_fit']:.3f} | "
            f"{t['predict']:.3f} | **{t['total']:.3f}** | {ours['peak_rss_mb']:.0f} MiB | "
            f"{peer_total} | {peer_rss} | {ratio} |"
        )
    pymc_rows = [row for row in rows if row["pymc"]]
    if pymc_rows:
        version = pymc_rows[0]["pymc"]["version"]
        lines += [
            "",
            f"pymc-marketing {version}, BG/NBD MAP fit only (its own default priors, so its "
            "estimates differ slightly), in a fresh process each time (so including PyTensor "
            "compilation, as a user meets it):",
            "",
            "| customers | valuecast BG/NBD fit | pymc-marketing MAP fit | speed-up |",
            "|---:|---:|---:|---:|",
        ]
        for row in pymc_rows:
            ours_fit = row["valuecast"]["timings"]["bgnbd_fit"]
            theirs = row["pymc"]["timings"]["bgnbd_fit"]
            lines.append(
                f"| {row['n']:,} | {ours_fit:.3f} | {theirs:.2f} | {theirs / ours_fit:.0f}x |"
            )
    lines += ["", "Fitted BG/NBD parameters (true: " + json.dumps(TRUE_BGNBD) + "):", ""]
    for row in rows:
        ours, peer = row["valuecast"], row["lifetimes"]
        fmt = lambda p: ", ".join(f"{k}={v:.4g}" for k, v in p.items())  # noqa: E731
        lines.append(
            f"- {row['n']:,}: valuecast {fmt(ours['params'])}"
            + (f"; lifetimes {fmt(peer['params'])}" if peer else "")
        )
    if not args.no_write:
        write_section(HERE.parent / "BENCHMARKS.md", "Models", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
