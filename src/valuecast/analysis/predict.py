"""The model choice, the fit and the predictions of the customers table, where the orders live.

:func:`choose_model` backtests the candidate models on the engine's calibration summary (sampled
there); :func:`predict` fits the transaction and spend models on the compressed tables and joins
the per-history predictions back to every customer as Ibis expressions; :func:`prediction_totals`
gives the shop's totals with their delta-method interval from one grouped aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.stats import norm

from valuecast.analysis.backend import materialize, upload
from valuecast.analysis.backtest import backtest, holdout_split, sample_rows
from valuecast.analysis.dropout import contradiction
from valuecast.analysis.summary import compressed_summary, customer_summary, prepare_orders
from valuecast.dates import iso, to_date
from valuecast.models import FitError, GammaGamma
from valuecast.models.clv import (
    DAYS_PER_MONTH,
    discounted_sum,
    log_param_jacobian,
    period_discount_rate,
    period_ends,
)
from valuecast.models.registry import CANDIDATES, candidate_model


# ------------------------------------------------------------------------------------------------
# the model choice
def choose_model(
    orders, customers_table, as_of: date, facts, options, releases=None, *, known_empty=()
):
    """Backtest the candidates on a holdout split; return the JSON result and the chosen model.

    ``known_empty``: the optional attributes no order fills (the full summary found them), which
    the calibration summary then skips.  The calibration summary is computed in the engine (its
    notes and counts are not needed: the full summary's are reported); when it holds more than
    ``options.backtest_max_customers`` customers, the seeded sample of
    :func:`~valuecast.analysis.backtest.sample_rows` (positions in customer_id order) is picked
    there too, so at most that many rows cross to Python.
    """
    candidates = tuple(CANDIDATES) if options.model == "auto" else (options.model,)
    first = to_date(facts["first_order_date"])
    try:
        calibration_end = holdout_split(
            first, as_of, options.holdout_fraction, options.min_holdout_days
        )
    except ValueError as error:
        fallback = "bgnbd" if options.model == "auto" else options.model
        return {"skipped": str(error)}, fallback
    holdout_days = (as_of - to_date(calibration_end)).days
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
            orders, to_date(calibration_end), as_of, calibration_customers=stored
        ),
        max_customers=limit,
        sampled_from=sampled_from,
    )
    info = result.to_dict()
    info["calibration_end"] = iso(calibration_end)
    info["holdout_days"] = holdout_days
    chosen = options.model if options.model != "auto" else (result.best or "bgnbd")
    return info, chosen


def actual_weekly_cumulative(
    orders, calibration_end: date, as_of: date, calibration_customers=None
) -> list[float]:
    """Actual cumulative holdout purchases of the calibration customers at each holdout week's end.

    What :func:`~valuecast.analysis.backtest.cumulative_orders_by_week` gives for the purchase
    days after ``calibration_end`` (up to ``as_of``) of the customers whose first purchase is on
    or before it (those the calibration summary holds, whose ``holdout_orders`` add up to the
    last value), computed in the engine as one aggregate: purchase days counted per holdout week,
    never one Python object per order.  ``calibration_customers``: a table whose ``customer_id``
    are those customers (a stored calibration summary), which spares finding them again among
    every order (1.0 s -> 0.4 s at 3M orders in DuckDB).
    """
    holdout_days = (as_of - calibration_end).days
    if holdout_days < 1:
        raise ValueError("the as-of date must be after the calibration end")
    end = ibis.literal(calibration_end, type="date")
    o = prepare_orders(orders)
    known = o.filter(
        o.customer_id.notnull(),
        o.order_date.notnull(),
        o.order_date <= ibis.literal(as_of, type="date"),
    )
    if calibration_customers is None:
        days = known.select("customer_id", "order_date").distinct()
        calibration_customers = days.filter(days.order_date <= end).select("customer_id").distinct()
        held = days.filter(days.order_date > end)
    else:
        held = known.filter(known.order_date > end).select("customer_id", "order_date").distinct()
    held = held.semi_join(calibration_customers.select("customer_id"), "customer_id")
    # week k (0-based) covers days 7k+1 .. 7k+7 after the calibration end; the last may be partial
    week = ((held.order_date.delta(end, unit="day") - 1) // 7).cast("int64")
    counts = held.group_by(week=week).aggregate(purchases=held.count()).to_pandas()
    weeks = -(-holdout_days // 7)
    per_week = np.zeros(weeks)
    np.add.at(
        per_week, counts["week"].to_numpy(dtype=np.int64), counts["purchases"].to_numpy(float)
    )
    return np.cumsum(per_week).tolist()


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
    :func:`valuecast.models.clv.customer_lifetime_value_interval`, is a quadratic in ``m``:
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
    ends = period_ends(options.horizon, DAYS_PER_MONTH, 1.0)
    rate = period_discount_rate(options.annual_discount_rate, DAYS_PER_MONTH)
    discounted, d_discounted = log_param_jacobian(
        model, lambda fitted: discounted_sum(fitted, f, r, t, ends, rate)
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


def _fit_transaction_model(model_name: str, f, r, t, counts):
    """The fitted transaction model and ``None``, or ``None`` and why there is none."""
    try:
        model = candidate_model(model_name).fit(f, r, t, weights=counts)
    except (FitError, ValueError) as error:
        return None, f"{model_name} could not be fitted ({error}): historic figures only"
    reason = contradiction(model, f, r, t)
    return (None, reason) if reason else (model, None)


def _fit_report(model) -> dict[str, Any]:
    """summary.json's standard errors (None for a parameter standing for a limit: it has none),
    log-likelihood and, for a fit at a limit of the parameter space, the note naming the limit."""
    report: dict[str, Any] = {
        "standard_errors": {
            name: (value if np.isfinite(value) else None)
            for name, value in model.standard_errors_.items()
        },
        "log_likelihood": model.log_likelihood_,
    }
    if getattr(model, "limit_note_", None):
        report["limit"] = model.limit_note_
    return report


@dataclass
class TotalsTerms:
    """What :func:`prediction_totals` needs besides the customers table: the distinct histories,
    the delta-method terms of both models, and the interval's z and whether it exists."""

    f: np.ndarray
    r: np.ndarray
    t: np.ndarray
    tx_terms: dict[str, np.ndarray]
    spend_terms: dict[str, np.ndarray] | None
    step: float
    interval: bool
    z: float
    options: Any


@dataclass
class Predictions:
    """:func:`predict`'s result: the customers expression with predictions, the model info for
    summary.json, a note when the predictions are limited, and the totals' terms (None when no
    model was fitted: historic figures only)."""

    customers: ir.Table
    model: dict[str, Any]
    note: str | None = None
    terms: TotalsTerms | None = None

    def totals(self, full: ir.Table) -> dict[str, Any]:
        """The shop's totals from ``full`` (the materialized customers table); needs ``terms``."""
        if self.terms is None:
            raise ValueError("no model was fitted: the totals are historic only")
        terms = self.terms
        return prediction_totals(
            full, terms.f, terms.r, terms.t, terms.tx_terms, terms.spend_terms, terms.step,
            terms.interval, terms.z, terms.options,
        )  # fmt: skip


def predict(
    table: ir.Table, model_name: str, as_of: date, options, *, has_repeat: bool, releases=None,
    withhold: str | None = None,
):  # fmt: skip
    """Fit the transaction and spend models on the engine's compressed tables; predict per customer.

    Returns :class:`Predictions`: the customers expression has the prediction columns plus helper
    columns (``_discounted``, ``_spend_x``, ``_spend_m``) that :meth:`Predictions.totals` reads
    once the table is materialized.  ``withhold``: why the data cannot identify dropout
    (:func:`~valuecast.analysis.dropout.unidentified_dropout`); no model is fitted then.
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
    elif withhold is not None:
        note = withhold
    else:
        model, note = _fit_transaction_model(model_name, f, r, t, counts)
    spend_m = table.avg_repeat_order_value.cast("float64")
    positive = (table.frequency > 0) & (spend_m > 0)
    days_between = _days_between_orders(table)
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
        return Predictions(out, info, note)

    info.update(
        penalizer=model.penalizer,
        params=model.params_,
        **_fit_report(model),
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
            **_fit_report(spend_model),
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

    terms = TotalsTerms(f, r, t, tx_terms, spend_terms, step, interval, z, options)
    return Predictions(out, info, note, terms)


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
