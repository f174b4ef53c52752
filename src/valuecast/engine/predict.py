"""The analysis where the orders live: summary, model inputs, predictions and segments as Ibis.

:func:`analyze_tables` is the one implementation behind :func:`valuecast.pipeline.analyze` (the
DuckDB workspace) and ``--engine spark`` / ``--engine postgres://...`` (:mod:`valuecast.engine.scale`).
Only what the models need crosses to Python:

* the compressed ``(frequency, recency, T, count)`` table, on which the transaction model is
  fitted and predicts once per distinct history;
* the distinct ``(frequency, avg_repeat_order_value, count)`` of the repeat customers, on which the
  Gamma-Gamma spend model is fitted;
* the backtest's calibration sample (at most ``backtest_max_customers`` customers, drawn in the
  engine) and a handful of one-row aggregates.

The per-history predictions go back to the engine as a small table joined on
``(frequency, recency, T)``; everything per customer (the spend model's expected order value and
its delta-method interval, CLV, RFM scores and groups, spend tiers, first products) is an Ibis
expression, so the customers table is computed, and written, by the engine.

Two choices keep the result the same on every engine (DuckDB and Spark agree to 1e-9 on numbers
and exactly on everything else):

* money is ranked (RFM monetary score, spend tier) in whole millionths of the currency unit, so the
  last-bit noise of summing the same amounts in a different order never splits equal spenders;
* ranks count customers with a strictly better (or worse) value, so ties are defined by value alone.
"""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.stats import norm

from valuecast.analytics.backtest import candidate_model, sample_rows
from valuecast.analytics.rfm import RFM_GRID
from valuecast.analytics.tiers import HIGH_SHARE, LOW_SHARE
from valuecast.clv import (
    DAYS_PER_MONTH,
    _discounted_sum,
    _log_param_jacobian,
    _period_ends,
    period_discount_rate,
)
from valuecast.engine.attributes import first_products, shop_facts
from valuecast.engine.summary import (
    SummaryError,
    compressed_summary,
    customer_summary,
    summarize,
)
from valuecast.io.schema import MAX_AMOUNT
from valuecast.models import FitError, GammaGamma

Progress = Callable[[str], None]

MONEY_UNITS = 1_000_000
"""Money is ranked in whole millionths of the currency unit (see the module docstring)."""

_TIER_SCALE = 10**6


def _noop(_: str) -> None:
    return None


@dataclass
class TableAnalysis:
    """The customers table as a lazy Ibis expression on the engine, and the JSON-ready summary."""

    customers: ir.Table
    summary: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    releases: list[Callable[[], None]] = field(default_factory=list)

    def release(self) -> None:
        """Drop the engine's intermediate tables (``customers`` cannot be read afterwards)."""
        while self.releases:
            self.releases.pop()()


# ------------------------------------------------------------------------------------------------
# small tables from Python into the engine, and cached intermediate tables
def backend_name(table: ir.Table) -> str:
    try:
        return table._find_backend().name
    except Exception:  # an unbound expression (memtables only)
        return "duckdb"


def upload(
    like: ir.Table, data: pa.Table, purpose: str, releases: list[Callable[[], None]]
) -> ir.Table:
    """``data`` (small: one row per distinct history) as a table of ``like``'s engine.

    DuckDB gets an Ibis memtable; Spark a temporary view of a DataFrame made from the Arrow table
    (Ibis' memtables lose nullable integers on Spark); SQL databases a temporary table (dropped
    by ``releases``).
    """
    kind = backend_name(like)
    if kind == "duckdb":
        return ibis.memtable(data)
    con = like._find_backend()
    name = f"valuecast_{purpose}_{uuid.uuid4().hex[:12]}"
    if kind == "pyspark":
        con._session.createDataFrame(data).createOrReplaceTempView(name)
        releases.append(lambda: con._session.catalog.dropTempView(name))
    else:
        con.create_table(name, data, temp=True)
        releases.append(lambda: drop_table(con, name))
    return con.table(name)


def drop_table(con, name: str, database: str | None = None) -> None:
    """``DROP TABLE IF EXISTS`` by hand: Ibis 12's drop_table breaks with sqlglot 30."""
    quoted = f'"{name}"' if database is None else f'"{database}"."{name}"'
    con.raw_sql(f"DROP TABLE IF EXISTS {quoted}")


def materialize(table: ir.Table, releases: list[Callable[[], None]]) -> ir.Table:
    """``table`` computed once: a persisted DataFrame on Spark, a temporary table elsewhere.

    Appends to ``releases`` what drops it again.
    """
    con = table._find_backend()
    name = f"valuecast_tmp_{uuid.uuid4().hex[:12]}"
    if con.name == "pyspark":
        from pyspark import StorageLevel

        frame = con._session.sql(con.compile(table)).persist(StorageLevel.MEMORY_AND_DISK)
        frame.createOrReplaceTempView(name)

        def release() -> None:
            con._session.catalog.dropTempView(name)
            frame.unpersist()

    else:
        con.create_table(name, table, temp=True)

        def release() -> None:
            drop_table(con, name)

    releases.append(release)
    return con.table(name)


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def _has_rows(table: ir.Table) -> bool:
    return bool(_rows(table.limit(1).aggregate(n=ibis._.count()))[0]["n"])


# ------------------------------------------------------------------------------------------------
def analyze_tables(
    orders: ir.Table,
    order_lines: ir.Table | None,
    customers: ir.Table | None,
    options,
    progress: Progress = _noop,
) -> TableAnalysis:
    """The whole analysis of ``orders`` (a canonical orders table on any Ibis engine).

    ``options`` is a :class:`valuecast.pipeline.AnalysisOptions`.  Returns the customers table as
    an expression on the orders' engine (columns :data:`valuecast.pipeline.CUSTOMER_COLUMNS`,
    sorted by ``customer_id``) and summary.json's content.  The customers table reads
    intermediate tables kept in the engine: call :meth:`TableAnalysis.release` once it is
    written or collected.
    """
    options.validate()
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    step = STEPS[0]

    def lap(name: str) -> None:
        nonlocal clock, step
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        clock = now
        step = STEPS[min(STEPS.index(name) + 1, len(STEPS) - 1)]

    progress("summarising customers")
    releases: list[Callable[[], None]] = []
    try:
        return _analyze(orders, order_lines, customers, options, progress, releases, timings, lap)
    except BaseException as error:
        _release_after_failure(releases)
        if isinstance(error, Exception) and not isinstance(error, SummaryError):
            raise AnalysisStepError(step, error) from error
        raise


STEPS = ("summary", "backtest", "predict", "segments")
"""The analysis' steps in order, as :attr:`TableAnalysis.timings` names them."""

_STEP_OBJECTS = {
    "summary": "customer summary",
    "backtest": "backtest sample",
    "predict": "predictions",
    "segments": "customers table",
}


class AnalysisStepError(SummaryError):
    """A step of the analysis failed in the engine.

    The message names the step and what it was computing, then the engine's first line: a bare
    engine message ("Current transaction is aborted") names neither.
    """

    def __init__(self, step: str, error: Exception) -> None:
        first = (str(error).strip().splitlines() or [""])[0]
        super().__init__(
            f"analysis failed at step {step!r} ({_STEP_OBJECTS[step]}): "
            f"{type(error).__name__}: {first}"
        )
        self.step = step


def _release_after_failure(releases: list[Callable[[], None]]) -> None:
    """Drop the intermediate tables after a failed step, as far as the engine still can.

    After a failed statement DuckDB refuses every further one in the transaction ("Current
    transaction is aborted"); that refusal must not replace the error that names the cause, and
    the transaction's rollback drops the tables anyway.
    """
    for release in reversed(releases):
        try:
            release()
        except Exception:  # noqa: S112 - the failure being reported is the one that matters
            continue


def _analyze(orders, order_lines, customers, options, progress, releases, timings, lap):
    from valuecast.pipeline import (
        CUSTOMER_COLUMNS,
        MIN_CUSTOMERS,
        MIN_HISTORY_DAYS,
        MIN_ORDERS_FOR_A_LOYAL_CUSTOMER,
    )

    result = summarize(orders, as_of=options.as_of, customers=customers)
    as_of = result.as_of
    table = materialize(result.table, releases)
    facts = shop_facts(orders, as_of)
    _check_amounts(orders, facts)
    stats = _rows(
        table.aggregate(
            n=table.count(),
            loyal=table.count(
                where=table.historic_number_of_orders >= MIN_ORDERS_FOR_A_LOYAL_CUSTOMER
            ),
            repeat=table.count(where=table.frequency > 0),
        )
    )[0]
    lap("summary")
    n_customers = int(stats["n"])
    if n_customers == 0:
        raise SummaryError("no customer orders up to the as-of date: nothing to analyse")

    history_days = (as_of - _to_date(facts["first_order_date"])).days
    reasons = []
    if n_customers < MIN_CUSTOMERS:
        reasons.append(f"only {n_customers:,} customers with orders (fewer than {MIN_CUSTOMERS})")
    if history_days < MIN_HISTORY_DAYS:
        reasons.append(f"only {history_days} days of history (under {MIN_HISTORY_DAYS})")
    if not stats["loyal"]:
        reasons.append(f"no customer has {MIN_ORDERS_FOR_A_LOYAL_CUSTOMER} or more orders")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        progress("backtesting models")
        backtest_result, chosen = choose_model(
            orders, customers, as_of, facts, options, releases,
            known_empty=result.empty_attributes,
        )  # fmt: skip
        lap("backtest")

        progress("fitting models and predicting")
        predicted, model_info, totals_of, note = predict(
            table, chosen, as_of, options, has_repeat=bool(stats["repeat"]), releases=releases
        )
        lap("predict")
    model_notes = list(
        dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, RuntimeWarning))
    )

    progress("segmenting customers")
    segmented = add_segments(predicted, as_of, n_customers, has_predictions="params" in model_info)
    # an orders table without line items (a generic CSV): nothing to look up, and the first
    # orders' search over every order cost 4 s of a 1M-customer analysis for no rows
    if order_lines is not None and _has_rows(order_lines):
        products = first_products(orders, order_lines, as_of)
        segmented = segmented.left_join(products, "customer_id").select(
            segmented, first_product=products.first_product
        )
    else:
        segmented = segmented.mutate(first_product=ibis.null().cast("string"))
    full = materialize(segmented, releases)
    out = full.select(*CUSTOMER_COLUMNS).order_by("customer_id")
    group_totals = {
        column: _group_totals(out, column) for column in ("rfm_group", "predicted_spend_tier")
    }
    if totals_of is not None:
        totals = totals_of(full)
    else:
        totals = {"historic_clv": float(_rows(full.aggregate(s=full.historic_clv.sum()))[0]["s"])}
    lap("segments")

    summary = {
        "as_of": as_of.isoformat(),
        "currency": facts["currency"],
        "n_customers": n_customers,
        "n_orders": int(facts["n_orders"]),
        "n_guest_orders": int(facts["n_guest_orders"]),
        "guest_revenue": round(facts["guest_revenue"], 2),
        "revenue": round(facts["revenue"], 2),
        "first_order_date": _iso(facts["first_order_date"]),
        "last_order_date": _iso(facts["last_order_date"]),
        "history_days": int(history_days),
        "horizon_months": options.horizon,
        "annual_discount_rate": options.annual_discount_rate,
        "margin": options.margin,
        "model": model_info,
        "backtest": backtest_result,
        "totals": totals,
        "rfm_groups": group_totals["rfm_group"],
        "spend_tiers": group_totals["predicted_spend_tier"],
        "low_confidence": bool(reasons) or note is not None,
        "low_confidence_reasons": reasons + ([note] if note else []),
        "notes": list(result.notes) + model_notes,
    }
    return TableAnalysis(customers=out, summary=summary, timings=timings, releases=releases)


def _check_amounts(orders: ir.Table, facts: dict[str, Any]) -> None:
    """Refuse stored orders whose net revenue ingest refuses today (beyond ``MAX_AMOUNT``).

    A workspace written by an older version may hold one (a typo of 1e15); the analysis names
    the order instead of computing customers' values from it.
    """
    largest = facts["largest_amount"]
    if largest is None or abs(float(largest)) <= MAX_AMOUNT:
        return
    net = orders.net_revenue
    bad = orders.filter((net.abs() > MAX_AMOUNT) | net.isnan())
    key = "order_id" if "order_id" in orders.columns else "customer_id"
    row = _rows(bad.select(key=bad[key], amount=bad.net_revenue).limit(1))[0]
    raise SummaryError(
        f"{'order' if key == 'order_id' else 'an order of customer'} {row['key']!r} has a net "
        f"revenue of {row['amount']:,.2f}, beyond {MAX_AMOUNT:,.0f}: not a plausible amount "
        "(ingest refuses it; ingest the order again with its correct amount)"
    )


def _to_date(value) -> date:
    return pd.Timestamp(value).date()


def _iso(value) -> str | None:
    return None if value is None else _to_date(value).isoformat()


# ------------------------------------------------------------------------------------------------
# the backtest: the calibration summary sampled in the engine
def choose_model(
    orders, customers_table, as_of: date, facts, options, releases=None, *, known_empty=()
):
    """Backtest the candidates on a holdout split; return the JSON result and the chosen model.

    ``known_empty``: the optional attributes no order fills (the full summary found them), which
    the calibration summary then skips.  The calibration summary is computed in the engine (its
    notes and counts are not needed: the full summary's are reported); when it holds more than
    ``options.backtest_max_customers`` customers, the seeded sample of
    :func:`~valuecast.analytics.backtest.sample_rows` (positions in customer_id order) is picked
    there too, so at most that many rows cross to Python.
    """
    from valuecast.analytics.backtest import backtest, holdout_split
    from valuecast.pipeline import MODELS, actual_weekly_cumulative

    candidates = tuple(MODELS) if options.model == "auto" else (options.model,)
    first = _to_date(facts["first_order_date"])
    try:
        calibration_end = holdout_split(
            first, as_of, options.holdout_fraction, options.min_holdout_days
        )
    except ValueError as error:
        fallback = "bgnbd" if options.model == "auto" else options.model
        return {"skipped": str(error)}, fallback
    holdout_days = (as_of - _to_date(calibration_end)).days
    calibration = customer_summary(
        orders, as_of=as_of, calibration_end=calibration_end, customers=customers_table,
        known_empty=known_empty,
    )  # fmt: skip
    stored = None
    if releases is not None:  # counted, then sampled: summarised once, not twice
        calibration = stored = materialize(calibration, releases)
    limit = options.backtest_max_customers
    sampled_from = None
    n = int(calibration.count().execute())
    if limit is not None and n > limit:
        sampled_from = n
        rows = pa.table({"_row": pa.array(sample_rows(n, limit), pa.int64())})
        picked = upload(calibration, rows, "sample", [] if releases is None else releases)
        numbered = calibration.mutate(_row=ibis.row_number().over(order_by="customer_id"))
        calibration = numbered.semi_join(picked, "_row").drop("_row")
    frame = calibration.order_by("customer_id").to_pandas()
    result = backtest(
        frame,
        holdout_days,
        candidates=candidates,
        weekly=True,
        actual_weekly_cumulative=actual_weekly_cumulative(
            orders, _to_date(calibration_end), as_of, calibration_customers=stored
        ),
        max_customers=limit,
        sampled_from=sampled_from,
    )
    info = result.to_dict()
    info["calibration_end"] = _iso(calibration_end)
    info["holdout_days"] = holdout_days
    chosen = options.model if options.model != "auto" else (result.best or "bgnbd")
    return info, chosen


# ------------------------------------------------------------------------------------------------
# predictions
def _days_between_orders(table: ir.Table) -> ir.FloatingValue:
    """Days between purchase days (same-day orders are one purchase); NULL with one purchase day."""
    return ibis.ifelse(
        table.frequency > 0,
        table.recency.cast("float64") / table.frequency.cast("float64"),
        ibis.null().cast("float64"),
    )


def _spend_terms(spend_model, frequencies: np.ndarray, step: float) -> dict[str, np.ndarray]:
    """Gamma-Gamma coefficients per repeat frequency ``x`` (and 0, the population mean).

    ``E[M | x, m] = A(x) + B(x) m`` with ``A = (q - 1) / (p x + q - 1) * p v / (q - 1)`` and
    ``B = p x / (p x + q - 1)`` (the float steps of
    :meth:`~valuecast.models.GammaGamma.expected_average_value`).  The delta-method variance of
    log E[M] over the log parameters, by forward differences of ``step`` like
    :func:`valuecast.clv.customer_lifetime_value_interval`, is a quadratic in ``m``:
    ``(a + 2 b m + c m^2) / (step E[M])^2`` with ``a = dA' S dA``, ``b = dA' S dB``,
    ``c = dB' S dB`` (``S`` the covariance of the log parameters).
    """
    x = np.unique(np.concatenate([[0.0], frequencies]))

    def coefficients(params: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        p, q, v = params["p"], params["q"], params["v"]
        px = p * x
        denominator = px + q - 1
        population = p * v / (q - 1)
        return (q - 1) / denominator * population, px / denominator

    params = dict(spend_model.params_)
    A, B = coefficients(params)
    dA, dB = [], []
    for name in params:
        shifted = dict(params)
        shifted[name] = float(np.exp(np.log(shifted[name]) + step))
        A_j, B_j = coefficients(shifted)
        dA.append(A_j - A)
        dB.append(B_j - B)
    dA, dB = np.column_stack(dA), np.column_stack(dB)
    cov = np.asarray(spend_model.covariance_log_, dtype=float)
    quadratic = {}
    if np.all(np.isfinite(cov)):
        quadratic = {
            "a": np.einsum("ij,jk,ik->i", dA, cov, dA),
            "b": np.einsum("ij,jk,ik->i", dA, cov, dB),
            "c": np.einsum("ij,jk,ik->i", dB, cov, dB),
        }
    return {"x": x, "A": A, "B": B, "dA": dA, "dB": dB, "cov": cov, **quadratic}


def _history_predictions(model, f, r, t, as_of: date, options) -> tuple[pa.Table, dict]:
    """Per distinct history: P(alive), expected and discounted orders, delta-method terms, next date.

    Returns the table (keyed by frequency, recency, T) and the Python-side terms of the totals:
    ``g`` (d log discounted orders / d log parameters per history) and the covariance.
    """
    horizon_days = options.horizon * DAYS_PER_MONTH
    alive = np.asarray(model.probability_alive(f, r, t), dtype=float)
    orders = np.asarray(model.expected_transactions(horizon_days, f, r, t), dtype=float)
    ends = _period_ends(options.horizon, DAYS_PER_MONTH, 1.0)
    rate = period_discount_rate(options.annual_discount_rate, DAYS_PER_MONTH)
    discounted, d_discounted = _log_param_jacobian(
        model, lambda fitted: _discounted_sum(fitted, f, r, t, ends, rate)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(discounted[:, None] > 0, d_discounted / discounted[:, None], 0.0)
    covariance = np.asarray(model.covariance_log_, dtype=float)
    variance = np.einsum("ij,jk,ik->i", g, covariance, g)
    # expected date of the next order: the median wait given the customer is alive, shown only
    # when the customer is more likely alive than not and the date falls inside the horizon
    wait = np.asarray(model.median_time_to_next_purchase(f, r, t), dtype=float)
    show = (alive >= 0.5) & (wait <= horizon_days)
    days = np.where(show, np.ceil(np.where(show, wait, 0.0)), 0).astype("int64")
    next_date = np.datetime64(as_of, "D") + days.astype("timedelta64[D]")
    table = pa.table(
        {
            "frequency": pa.array(f.astype("int64")),
            "recency": pa.array(r.astype("int64")),
            "T": pa.array(t.astype("int64")),
            "probability_alive": pa.array(alive),
            "churn_probability": pa.array(1.0 - alive),
            "predicted_number_of_orders": pa.array(orders),
            "_discounted": pa.array(discounted),
            "_tx_variance": pa.array(variance),
            "expected_date_of_next_order": pa.array(next_date, pa.date32(), mask=~show),
        }
    )
    return table, {"g": g, "cov": covariance}


def predict(
    table: ir.Table, model_name: str, as_of: date, options, *, has_repeat: bool, releases=None
):
    """Fit the transaction and spend models on the engine's compressed tables; predict per customer.

    Returns ``(customers expression, model info, totals function, note)``: the expression has the
    prediction columns plus helper columns (``_discounted``, ``_spend_x``, ``_spend_m``) that
    :func:`prediction_totals` reads once the table is materialized.
    """
    info: dict[str, Any] = {"name": model_name}
    note = None
    model = spend_model = None
    compressed = compressed_summary(table).to_pandas()
    f = compressed["frequency"].to_numpy(dtype=float)
    r = compressed["recency"].to_numpy(dtype=float)
    t = compressed["T"].to_numpy(dtype=float)
    counts = compressed["count"].to_numpy(dtype=float)
    if not has_repeat:
        note = "no repeat customers: predictions cannot be fitted, historic figures only"
    else:
        try:
            model = candidate_model(model_name).fit(f, r, t, weights=counts)
        except (FitError, ValueError) as error:
            note = f"{model_name} could not be fitted ({error}): historic figures only"
    spend_m = table.avg_repeat_order_value.cast("float64")
    positive = (table.frequency > 0) & (spend_m > 0)
    days_between = ibis.ifelse(
        table.frequency > 0,
        table.recency.cast("float64") / table.frequency.cast("float64"),
        ibis.null().cast("float64"),
    )
    if model is None:
        nothing = ibis.null().cast("float64")
        out = table.mutate(
            average_days_between_orders=days_between,
            probability_alive=nothing,
            churn_probability=nothing,
            predicted_number_of_orders=nothing,
            predicted_average_order_value=nothing,
            predicted_clv=nothing,
            predicted_clv_p10=nothing,
            predicted_clv_p90=nothing,
            total_clv=table.historic_clv,
            expected_date_of_next_order=ibis.null().cast("date"),
        )
        return out, info, None, note

    info.update(
        penalizer=model.penalizer,
        params=model.params_,
        standard_errors=model.standard_errors_,
        log_likelihood=model.log_likelihood_,
        n_customers=int(model.n_customers_),
        n_distinct_histories=int(model.n_distinct_histories_),
    )
    spend = table.filter(positive)
    spend_rows = (
        spend.group_by(x=spend.frequency, m=spend.avg_repeat_order_value.cast("float64"))
        .aggregate(count=spend.count())
        .order_by(["x", "m"])
        .to_pandas()
    )
    try:
        spend_model = GammaGamma().fit(
            spend_rows["x"].to_numpy(dtype=float),
            spend_rows["m"].to_numpy(dtype=float),
            weights=spend_rows["count"].to_numpy(dtype=float),
        )
        spend_model.expected_average_value_population()
        info["spend_model"] = {
            "name": "gamma_gamma",
            "params": spend_model.params_,
            "standard_errors": spend_model.standard_errors_,
            "log_likelihood": spend_model.log_likelihood_,
        }
    except (FitError, ValueError) as error:
        spend_model = None
        info["spend_model"] = {
            "name": "historic average",
            "reason": f"Gamma-Gamma could not be fitted ({error}); each customer's own "
            "average order value is used",
        }

    histories, tx_terms = _history_predictions(model, f, r, t, as_of, options)
    releases = [] if releases is None else releases
    uploaded = upload(table, histories, "histories", releases)
    # customers without a positive repeat purchase get the population mean (x = m = 0)
    base = table.mutate(
        average_days_between_orders=days_between,
        _spend_x=ibis.ifelse(positive, table.frequency, 0).cast("int64"),
        _spend_m=ibis.ifelse(positive, spend_m, 0.0),
    )
    joined = base.inner_join(uploaded, ["frequency", "recency", "T"])
    keep = [c for c in histories.column_names if c not in ("frequency", "recency", "T")]
    joined = joined.select(base, *[uploaded[c] for c in keep])

    step = 1e-4
    spend_terms = None
    if spend_model is not None:
        spend_terms = _spend_terms(spend_model, f[f > 0], step)
        columns = {
            "_spend_x": pa.array(spend_terms["x"].astype("int64")),
            "_mean_base": pa.array(spend_terms["A"]),
            "_mean_slope": pa.array(spend_terms["B"]),
        }
        for key in ("a", "b", "c"):
            if key in spend_terms:
                columns[f"_var_{key}"] = pa.array(spend_terms[key])
        coefficients = upload(table, pa.table(columns), "spend", releases)
        joined = joined.inner_join(coefficients, "_spend_x").select(
            joined, *[coefficients[c] for c in columns if c != "_spend_x"]
        )
        value = joined._mean_base + joined._mean_slope * joined._spend_m
    else:
        value = joined.average_order_value.cast("float64")
    point = (value * options.margin) * joined._discounted
    interval = bool(np.all(np.isfinite(tx_terms["cov"]))) and (
        spend_terms is None or "a" in spend_terms
    )
    z = float(norm.ppf(0.5 + options.interval_level / 2))
    if interval:
        variance = joined._tx_variance
        if spend_terms is not None:
            m, scaled = joined._spend_m, value * step
            spend_variance = (joined._var_a + (joined._var_b * 2.0 + joined._var_c * m) * m) / (
                scaled * scaled
            )
            variance = variance + ibis.ifelse(value > 0, spend_variance, 0.0)
        sd = ibis.greatest(variance, 0.0).sqrt()
        low, high = point * (sd * -z).exp(), point * (sd * z).exp()
    else:
        low = high = ibis.null().cast("float64")
        note = (
            "no interval for predicted CLV: parameter covariance unavailable (singular "
            "information matrix): refit with a small penalizer to get intervals"
        )
    out = joined.mutate(
        predicted_average_order_value=value,
        predicted_clv=point,
        predicted_clv_p10=low,
        predicted_clv_p90=high,
        total_clv=joined.historic_clv + point,
    )

    def totals(full: ir.Table) -> dict[str, Any]:
        return prediction_totals(full, f, r, t, tx_terms, spend_terms, step, interval, z, options)

    return out, info, totals, note


def prediction_totals(full, f, r, t, tx_terms, spend_terms, step, interval, z, options):
    """The shop's totals with their interval, from one grouped aggregate of the customers table.

    The delta method on the sum needs ``sum_i CLV_i g_i`` (g per history) and
    ``sum_i CLV_i h_i`` (h per spend frequency and value): the engine sums per
    (history, spend frequency) what those need, Python does the rest on that small table.
    """
    grouped = (
        full.group_by(["frequency", "recency", "T", "_spend_x"])
        .aggregate(
            point=full.predicted_clv.sum(),
            orders=full.predicted_number_of_orders.sum(),
            historic=full.historic_clv.sum(),
            s0=full._discounted.sum(),
            s1=(full._discounted * full._spend_m).sum(),
        )
        .to_pandas()
    )
    keys = pd.MultiIndex.from_arrays([f, r, t])
    where = keys.get_indexer(
        pd.MultiIndex.from_arrays(
            [grouped[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]
        )
    )
    point = grouped["point"].to_numpy(dtype=float)
    total = float(point.sum())
    totals: dict[str, Any] = {
        "historic_clv": float(grouped["historic"].sum()),
        "predicted_clv": total,
        "predicted_clv_p10": None,
        "predicted_clv_p90": None,
        "interval_level": options.interval_level,
        "predicted_number_of_orders": float(grouped["orders"].sum()),
    }
    if interval:
        per_history = np.bincount(where, weights=point, minlength=len(f))
        total_g = per_history @ tx_terms["g"]
        variance = total_g @ tx_terms["cov"] @ total_g
        if spend_terms is not None:
            # sum_i CLV_i h_i = margin / step * sum_i disc_i (dA(x_i) + dB(x_i) m_i)
            at = np.searchsorted(spend_terms["x"], grouped["_spend_x"].to_numpy(dtype=float))
            s0, s1 = grouped["s0"].to_numpy(dtype=float), grouped["s1"].to_numpy(dtype=float)
            total_h = (
                options.margin / step * (s0 @ spend_terms["dA"][at] + s1 @ spend_terms["dB"][at])
            )
            variance += total_h @ spend_terms["cov"] @ total_h
        relative = float(np.sqrt(max(variance, 0.0))) / total if total > 0 else 0.0
        totals["predicted_clv_p10"] = total * float(np.exp(-z * relative))
        totals["predicted_clv_p90"] = total * float(np.exp(z * relative))
    totals["total_clv"] = totals["historic_clv"] + totals["predicted_clv"]
    return totals


# ------------------------------------------------------------------------------------------------
# segments
def _worse_count_score(worse: ir.IntegerValue, n: int) -> ir.IntegerValue:
    """``1 + floor(5 * worse / n)`` as integer comparisons (exact on every engine)."""
    # whole numbers compared as doubles: exact below 2**53, and no 32-bit overflow on Spark,
    # whose RANK() is an int
    worse = worse.cast("float64")
    score = ibis.literal(1, "int64")
    for s in range(1, 5):
        score = score + ibis.ifelse(worse * 5.0 >= float(s * n), 1, 0)
    return score.cast("int8")


def _money_key(value: ir.FloatingValue) -> ir.DecimalValue:
    """``value`` in whole millionths (rounded half away from zero) as a 38-digit decimal.

    38 digits hold the key of any total up to 1e32 in the currency, far beyond any sum of accepted
    amounts (at most 1e12 each); a 64-bit integer overflows from 9.2e12 and aborts the analysis.
    """
    return (value * MONEY_UNITS).cast("decimal(38, 0)")


def _rfm_group(r: ir.IntegerValue, fm: ir.IntegerValue) -> ir.StringValue:
    """Shopify's group from R (1-5) and F + M - 2 (0-8) through :data:`RFM_GRID`."""
    branches = []
    for recency, names in RFM_GRID.items():
        for column, name in enumerate(names):
            branches.append(((r == recency) & (fm == column), name))
    return ibis.cases(*branches, else_="Prospects")


def _counts_below(keys: ir.Table, column: str, *, descending: bool = False) -> ir.Table:
    """``column, below``: per distinct value, how many keys sort strictly before it (what a
    0-based ``RANK()`` gives each of its rows), for a column of few distinct values.

    A running sum of the values' counts, joined back by value: a ``RANK()`` window sorts every
    customer with its payload, single-threaded in DuckDB (0.36 s each at 1M customers), while
    grouping 1M rows into 730 days or 69 order counts is a parallel perfect-hash aggregate.
    """
    counts = keys.group_by(column).aggregate(_k=keys.count())
    order = ibis.desc(counts[column]) if descending else ibis.asc(counts[column])
    running = counts._k.sum().over(ibis.cumulative_window(order_by=order))
    return counts.select(column, below=running - counts._k)


def add_segments(table: ir.Table, as_of: date, n: int, has_predictions: bool) -> ir.Table:
    """RFM scores and group, the predicted spend tier and the acquisition channel (engine-side).

    The scores are those of :mod:`valuecast.analytics.rfm` (every customer here has orders, so
    no key is NULL) and the tiers those of :mod:`valuecast.analytics.tiers`: a customer's score
    counts the customers with a strictly worse value, their tier those with a strictly lower and
    a strictly higher predicted value.  Days since the last order and the number of orders take
    few values and are counted per value (:func:`_counts_below`); money is ranked with
    ``RANK()`` windows (the rank over ascending values is the number of strictly smaller ones),
    which here hold less memory than grouping a million amounts (0.15 GB at 1M customers).  The
    counts run over the customer id and the four keys only, joined back by customer id: a window
    carries every column of its rows through its sort, and over the whole customers table (40
    columns) each took 2 s at 1M customers in DuckDB.
    """
    as_of_lit = ibis.literal(as_of, type="date")
    # without predictions the tiers rank historic value instead
    value = table.predicted_clv if has_predictions else table.historic_clv
    keys = table.select(
        "customer_id",
        days_since=as_of_lit.delta(table.last_order_date, unit="day"),
        orders=table.historic_number_of_orders,
        money=_money_key(table.historic_clv),
        value=_money_key(value),
    )
    recency = _counts_below(keys, "days_since", descending=True)
    frequency = _counts_below(keys, "orders")
    joined = keys.left_join(recency.select("days_since", r=recency.below), "days_since").left_join(
        frequency.select("orders", f=frequency.below), "orders"
    )
    # whole numbers compared as doubles (exact below 2**53; Spark's RANK() is a 32-bit int)
    n_known = joined.value.count().over().cast("float64")
    lower = ibis.rank().over(order_by=ibis.asc(joined.value, nulls_first=False)).cast("float64")
    higher = ibis.rank().over(order_by=ibis.desc(joined.value, nulls_first=False)).cast("float64")
    high_units, low_units = round(HIGH_SHARE * _TIER_SCALE), round(LOW_SHARE * _TIER_SCALE)
    tier = ibis.cases(
        (joined.value.isnull(), ibis.null().cast("string")),
        (higher * float(_TIER_SCALE) >= n_known * float(_TIER_SCALE - low_units), "low"),
        (lower * float(_TIER_SCALE) >= n_known * float(_TIER_SCALE - high_units), "high"),
        else_="medium",
    )
    ranks = joined.select(
        "customer_id",
        rfm_recency=_worse_count_score(joined.r, n),
        rfm_frequency=_worse_count_score(joined.f, n),
        rfm_monetary=_worse_count_score(ibis.rank().over(order_by=joined.money), n),
        predicted_spend_tier=tier,
    )
    ranked = table.inner_join(ranks, "customer_id")
    return ranked.mutate(
        rfm_score=ranked.rfm_recency.cast("string")
        .concat(ranked.rfm_frequency.cast("string"))
        .concat(ranked.rfm_monetary.cast("string")),
        rfm_group=_rfm_group(ranked.rfm_recency, ranked.rfm_frequency + ranked.rfm_monetary - 2),
        acquisition_channel=ranked.channel,
    )


def _group_totals(customers: ir.Table, column: str) -> dict[str, dict[str, float]]:
    grouped = _rows(
        customers.group_by(group=customers[column]).aggregate(
            count=customers.count(),
            historic_clv=customers.historic_clv.sum(),
            predicted_clv=customers.predicted_clv.sum(),
        )
    )
    grouped.sort(key=lambda row: (row["group"] is None, row["group"] or ""))
    return {
        str(row["group"]): {
            "count": int(row["count"]),
            "historic_clv": round(float(row["historic_clv"] or 0.0), 2),
            "predicted_clv": round(float(row["predicted_clv"] or 0.0), 2),
        }
        for row in grouped
    }
