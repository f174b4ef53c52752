"""Recovery of known covariate coefficients on 50,000 simulated customers per model.

The test suite checks recovery on shops small enough for its time budget (Pareto/NBD on 5,000
customers: its likelihood costs two hypergeometric terms per calendar period of each history);
this benchmark runs the issue's size for every time-varying model: 50,000 customers observed for
60 to 720 days, two purchase covariates per quarter (``promo``, ``high_season``, true effects
0.6 and -0.3) and the simulation of ``tests/models/test_time_varying.py``.  It reports each
estimate with its standard error, whether the truth lies within two of them, and the fit time.
GGompertz/NBD's static covariates (recovered in the suite on 2,500 customers: its likelihood is a
quadrature per distinct history) run here at the same size, on the simulation of
``tests/models/test_covariates.py``::

    python benchmarks/recovery.py             # prints the table
    python benchmarks/recovery.py --write-md  # and writes BENCHMARKS.md's section
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "models"))
sys.path.insert(0, str(ROOT / "tests"))  # the test modules import their helpers from there

from _report import publish  # noqa: E402
from test_covariates import GAMMA_D, GAMMA_P, TRUTH, covariates  # noqa: E402
from test_covariates import simulate as simulate_static  # noqa: E402
from test_time_varying import QUARTERS, TRUE_GAMMA, simulate  # noqa: E402

from valuecast.models import GGompertzNBD  # noqa: E402
from valuecast.models.beta_geo_tv import (  # noqa: E402
    BetaGeoTimeVarying,
    ModifiedBetaGeoTimeVarying,
)
from valuecast.models.pareto_nbd_tv import ParetoNBDTimeVarying  # noqa: E402

# (model, family of the simulation, true base parameters, seed)
RUNS = (
    ("Pareto/NBD", ParetoNBDTimeVarying, "pnbd", (0.7, 40.0, 0.6, 300.0), 6),
    ("BG/NBD", BetaGeoTimeVarying, "bg", (0.7, 40.0, 0.8, 3.0), 8),
    ("MBG/NBD", ModifiedBetaGeoTimeVarying, "bg", (0.7, 40.0, 0.8, 3.0), 10),
)


def recover(model_class, family: str, params, seed: int, n: int) -> tuple[list[str], bool]:
    T = np.random.default_rng(seed - 1).uniform(60, 720, n)
    x, t_x, T, sums = simulate(QUARTERS, TRUE_GAMMA, params, T, seed=seed, family=family)
    started = time.perf_counter()
    model = model_class().fit(x, t_x, T, periods=QUARTERS, purchase_sums=sums)
    seconds = time.perf_counter() - started
    cells, all_within = [], True
    for name, truth in zip(QUARTERS.names, TRUE_GAMMA, strict=True):
        estimate = model.coefficients_["purchase"][name]
        error = model.coefficient_standard_errors_["purchase"][name]
        within = bool(abs(estimate - truth) <= 2 * error)
        all_within &= within
        cells.append(f"{estimate:.4f} ± {error:.4f} ({abs(estimate - truth) / error:.2f} SE)")
    return [*cells, f"{seconds:.1f}"], all_within


def recover_ggompertz(n: int) -> tuple[list[str], bool]:
    """GGompertz/NBD with a binary and a five-valued covariate in both processes."""
    rng = np.random.default_rng(2021)
    frame = covariates(n, rng)
    T = rng.choice([13.0, 26.0, 39.0, 52.0], n)  # quarterly cohorts, in weeks
    history = simulate_static(GGompertzNBD, TRUTH[GGompertzNBD], frame, T, rng)
    started = time.perf_counter()
    model = GGompertzNBD().fit(*history, purchase_covariates=frame, dropout_covariates=frame)
    seconds = time.perf_counter() - started
    cells, all_within = [], True
    for process, truth in (("purchase", GAMMA_P), ("dropout", GAMMA_D)):
        for name, value in truth.items():
            estimate = model.coefficients_[process][name]
            error = model.coefficient_standard_errors_[process][name]
            within = bool(abs(estimate - value) <= 2 * error)
            all_within &= within
            cells.append(
                f"{process} {name}: {estimate:.4f} ± {error:.4f} (true {value}, "
                f"{abs(estimate - value) / error:.2f} SE)"
            )
    return [", ".join(cells), f"{seconds:.1f}"], all_within


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--write-md", action="store_true")
    args = parser.parse_args()
    lines = [
        f"Run {date.today().isoformat()} on {platform.machine()}, {platform.python_version()}, "
        f"{os.cpu_count()} cores; `python benchmarks/recovery.py`. {args.customers:,} simulated "
        "customers per model, observed 60 to 720 days, purchase rate multiplied by "
        f"exp({TRUE_GAMMA[0]} promo {TRUE_GAMMA[1]:+} high_season) in the quarters where each "
        f"is on. Load average at the end: {os.getloadavg()[0]:.1f}.",
        "",
        "| model | promo (true 0.6) | high_season (true -0.3) | fit seconds | within 2 SE |",
        "|---|---:|---:|---:|---|",
    ]
    failed = []
    for label, model_class, family, params, seed in RUNS:
        cells, within = recover(model_class, family, params, seed, args.customers)
        lines.append(f"| {label} | {' | '.join(cells)} | {'yes' if within else '**no**'} |")
        if not within:
            failed.append(label)
    cells, within = recover_ggompertz(args.customers)
    lines += [
        "",
        f"GGompertz/NBD, static covariates, {args.customers:,} customers in quarterly cohorts "
        "(13 to 52 weeks): a binary `promo` and a five-valued `score` in both processes.",
        "",
        "| coefficients | fit seconds | within 2 SE |",
        "|---|---:|---|",
        f"| {' | '.join(cells)} | {'yes' if within else '**no**'} |",
    ]
    if not within:
        failed.append("GGompertz/NBD")
    publish(lines, "Recovery of covariate coefficients", args.write_md)
    if failed:
        sys.exit(f"not recovered within 2 standard errors: {', '.join(failed)}")


if __name__ == "__main__":
    main()
