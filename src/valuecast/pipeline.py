"""Orders -> summary -> models -> the customers table: the one path the CLI, report and web share.

:func:`analyze` takes an open workspace and returns an :class:`Analysis`: the customers table
(one row per non-guest customer, columns :data:`CUSTOMER_COLUMNS`) and the JSON-ready summary
that explains it (data, model choice and backtest, totals with their interval, RFM groups and
spend tiers, and whether the predictions are trustworthy).  Nothing here reads raw files.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from valuecast.analytics.backtest import candidate_model
from valuecast.clv import (
    DAYS_PER_MONTH,
    customer_lifetime_value,
    customer_lifetime_value_interval,
)
from valuecast.engine import SummaryError, summarize
from valuecast.engine.attributes import first_products, shop_facts
from valuecast.models import BetaGeo, FitError, GammaGamma, ModifiedBetaGeo, ParetoNBD

CUSTOMER_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "first_order_date",
    "last_order_date",
    "historic_number_of_orders",
    "historic_clv",
    "average_order_value",
    "average_days_between_orders",
    "frequency",
    "recency",
    "T",
    "probability_alive",
    "churn_probability",
    "predicted_number_of_orders",
    "predicted_average_order_value",
    "predicted_clv",
    "predicted_clv_p10",
    "predicted_clv_p90",
    "total_clv",
    "expected_date_of_next_order",
    "rfm_recency",
    "rfm_frequency",
    "rfm_monetary",
    "rfm_score",
    "rfm_group",
    "predicted_spend_tier",
    "acquisition_channel",
    "first_discount_code",
    "first_product",
    "accepts_marketing",
)

MODELS = {"bgnbd": BetaGeo, "pnbd": ParetoNBD, "mbgnbd": ModifiedBetaGeo}

# Klaviyo's published minimums for predictive analytics
MIN_CUSTOMERS = 500
MIN_HISTORY_DAYS = 180
MIN_ORDERS_FOR_A_LOYAL_CUSTOMER = 3

Progress = Callable[[str], None]


@dataclass
class AnalysisOptions:
    """What to compute.  ``horizon`` is in months of 365.25/12 days."""

    as_of: date | str | None = None
    horizon: int = 12
    annual_discount_rate: float = 0.10
    margin: float = 1.0
    model: str = "auto"  # auto | bgnbd | pnbd | mbgnbd
    interval_level: float = 0.80
    holdout_fraction: float = 0.25
    min_holdout_days: int = 90
    # the model comparison runs on a seeded random sample of this many calibration customers:
    # its scores are as informative as from millions, and the candidate fits (Pareto/NBD's
    # hypergeometric terms above all) cost a fraction; None backtests everyone
    backtest_max_customers: int | None = 100_000

    def validate(self) -> None:
        if self.model not in ("auto", *MODELS):
            raise ValueError(f"unknown model {self.model!r}: use auto, bgnbd, pnbd or mbgnbd")
        if self.horizon < 1:
            raise ValueError("horizon must be at least 1 month")
        if not 0 <= self.margin <= 1:
            raise ValueError("margin must be between 0 and 1")
        if self.annual_discount_rate <= -1:
            raise ValueError("annual discount rate must be greater than -1")


@dataclass
class Analysis:
    customers: pd.DataFrame
    summary: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


class _FixedFrequency:
    """A spend model that always sees the given frequencies (or passes values through if None)."""

    def __init__(self, spend_model, frequency):
        self.spend_model, self.frequency = spend_model, frequency

    def expected_average_value(self, _frequency, monetary_value):
        if self.spend_model is None:
            return np.asarray(monetary_value, dtype=float)
        return self.spend_model.expected_average_value(self.frequency, monetary_value)


def _noop(_: str) -> None:
    return None


def analyze(
    workspace, options: AnalysisOptions | None = None, progress: Progress = _noop
) -> Analysis:
    """Run the whole analysis on an open :class:`~valuecast.engine.Workspace`."""
    options = options or AnalysisOptions()
    options.validate()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        clock = now

    progress("summarising customers")
    orders, customers_table = workspace.orders(), workspace.customers()
    result = summarize(orders, as_of=options.as_of, customers=customers_table)
    as_of = result.as_of
    table = result.table.to_pandas()
    facts = shop_facts(orders, as_of)
    products = first_products(orders, workspace.order_lines(), as_of).to_pandas()
    lap("summary")
    if table.empty:
        raise SummaryError("no customer orders up to the as-of date: nothing to analyse")

    history_days = (as_of - _to_date(facts["first_order_date"])).days
    reasons = _low_confidence_reasons(table, history_days)

    # model warnings (e.g. a singular information matrix) become notes in summary.json and the
    # printed summary instead of Python warnings on the merchant's terminal
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        progress("backtesting models")
        backtest_result, chosen = _choose_model(orders, customers_table, as_of, facts, options)
        lap("backtest")

        progress("fitting models and predicting")
        customers, model_info, totals, prediction_note = _predict(table, chosen, as_of, options)
        lap("predict")
    model_notes = list(
        dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, RuntimeWarning))
    )

    progress("segmenting customers")
    customers = _add_segments(customers, table, products, as_of)
    lap("segments")

    summary = {
        "as_of": as_of.isoformat(),
        "currency": facts["currency"],
        "n_customers": int(len(customers)),
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
        "rfm_groups": _group_totals(customers, "rfm_group"),
        "spend_tiers": _group_totals(customers, "predicted_spend_tier"),
        "low_confidence": bool(reasons) or prediction_note is not None,
        "low_confidence_reasons": reasons + ([prediction_note] if prediction_note else []),
        "notes": list(result.notes) + model_notes,
    }
    return Analysis(customers=customers[list(CUSTOMER_COLUMNS)], summary=summary, timings=timings)


def analyze_with_growth(
    workspace,
    options: AnalysisOptions | None = None,
    progress: Progress = _noop,
    *,
    spend: pd.DataFrame | None = None,
):
    """:func:`analyze` plus the growth tables (:func:`valuecast.analytics.growth.growth_tables`).

    Returns ``(analysis, tables)``: ``analysis.summary["growth"]`` holds the growth figures and
    ``tables`` the growth tables by file name.  The one path ``analyze`` and the report share.
    """
    from valuecast.analytics.growth import growth_tables

    options = options or AnalysisOptions()
    analysis = analyze(workspace, options, progress)
    progress("cohorts, channels, products")
    growth = growth_tables(
        workspace,
        analysis.customers,
        _to_date(analysis.summary["as_of"]),
        spend=spend,
        margin=options.margin,
    )
    analysis.summary["growth"] = growth.summary
    return analysis, growth.tables


# ------------------------------------------------------------------------------------------------
def _to_date(value) -> date:
    return pd.Timestamp(value).date()


def _iso(value) -> str | None:
    return None if value is None else _to_date(value).isoformat()


def _low_confidence_reasons(table: pd.DataFrame, history_days: int) -> list[str]:
    reasons = []
    if len(table) < MIN_CUSTOMERS:
        reasons.append(f"only {len(table):,} customers with orders (fewer than {MIN_CUSTOMERS})")
    if history_days < MIN_HISTORY_DAYS:
        reasons.append(f"only {history_days} days of history (under {MIN_HISTORY_DAYS})")
    if not (table["historic_number_of_orders"] >= MIN_ORDERS_FOR_A_LOYAL_CUSTOMER).any():
        reasons.append(f"no customer has {MIN_ORDERS_FOR_A_LOYAL_CUSTOMER} or more orders")
    return reasons


def _choose_model(orders, customers_table, as_of: date, facts, options: AnalysisOptions):
    """Backtest the candidates on a holdout split; return the JSON result and the chosen model."""
    from valuecast.analytics.backtest import backtest, holdout_split

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
    calibration = summarize(
        orders, as_of=as_of, calibration_end=calibration_end, customers=customers_table
    ).table.to_pandas()
    result = backtest(
        calibration,
        holdout_days,
        candidates=candidates,
        weekly=True,
        actual_weekly_cumulative=actual_weekly_cumulative(orders, _to_date(calibration_end), as_of),
        max_customers=options.backtest_max_customers,
    )
    info = result.to_dict()
    info["calibration_end"] = _iso(calibration_end)
    info["holdout_days"] = holdout_days
    chosen = options.model if options.model != "auto" else (result.best or "bgnbd")
    return info, chosen


def actual_weekly_cumulative(orders, calibration_end: date, as_of: date) -> list[float]:
    """Actual cumulative holdout purchases of the calibration customers at each holdout week's end.

    What :func:`valuecast.analytics.backtest.cumulative_orders_by_week` gives for the purchase
    days after ``calibration_end`` (up to ``as_of``) of the customers whose first purchase is on
    or before it (those the calibration summary holds, whose ``holdout_orders`` add up to the
    last value), computed in the engine as one aggregate: purchase days counted per holdout week,
    never one Python object per order.
    """
    import ibis

    from valuecast.engine.summary import prepare_orders

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
    days = known.select("customer_id", "order_date").distinct()
    calibration_customers = days.filter(days.order_date <= end).select("customer_id").distinct()
    held = days.filter(days.order_date > end).semi_join(calibration_customers, "customer_id")
    # week k (0-based) covers days 7k+1 .. 7k+7 after the calibration end; the last may be partial
    week = ((held.order_date.delta(end, unit="day") - 1) // 7).cast("int64")
    counts = held.group_by(week=week).aggregate(purchases=held.count()).to_pandas()
    weeks = -(-holdout_days // 7)
    per_week = np.zeros(weeks)
    np.add.at(
        per_week, counts["week"].to_numpy(dtype=np.int64), counts["purchases"].to_numpy(float)
    )
    return np.cumsum(per_week).tolist()


def _predict(table: pd.DataFrame, model_name: str, as_of: date, options: AnalysisOptions):
    """Fit the transaction and spend models on the whole history; per-customer predictions."""
    f = table["frequency"].to_numpy(dtype=float)
    r = table["recency"].to_numpy(dtype=float)
    t = table["T"].to_numpy(dtype=float)
    out = table.copy()
    n = len(table)
    horizon_days = options.horizon * DAYS_PER_MONTH
    empty = np.full(n, np.nan)
    note = None
    model_info: dict[str, Any] = {"name": model_name}
    transaction_model = spend_model = None
    if not (f > 0).any():
        note = "no repeat customers: predictions cannot be fitted, historic figures only"
    else:
        try:
            transaction_model = candidate_model(model_name).fit(f, r, t)
        except (FitError, ValueError) as error:
            note = f"{model_name} could not be fitted ({error}): historic figures only"
    if transaction_model is not None:
        model_info.update(
            penalizer=transaction_model.penalizer,
            params=transaction_model.params_,
            standard_errors=transaction_model.standard_errors_,
            log_likelihood=transaction_model.log_likelihood_,
            n_customers=int(transaction_model.n_customers_),
            n_distinct_histories=int(transaction_model.n_distinct_histories_),
        )
        repeat = f > 0
        monetary = table["avg_repeat_order_value"].to_numpy(dtype=float)
        positive = repeat & (monetary > 0)
        try:
            spend_model = GammaGamma().fit(f[positive], monetary[positive])
            spend_model.expected_average_value_population()
            model_info["spend_model"] = {
                "name": "gamma_gamma",
                "params": spend_model.params_,
                "standard_errors": spend_model.standard_errors_,
                "log_likelihood": spend_model.log_likelihood_,
            }
        except (FitError, ValueError) as error:
            spend_model = None
            model_info["spend_model"] = {
                "name": "historic average",
                "reason": f"Gamma-Gamma could not be fitted ({error}); each customer's own "
                "average order value is used",
            }
    if transaction_model is None:
        alive = predicted_orders = predicted_aov = clv = low = high = empty
        next_order = pd.Series(pd.NaT, index=table.index)
        totals = {"historic_clv": float(table["historic_clv"].sum())}
    else:
        alive = transaction_model.probability_alive(f, r, t)
        predicted_orders = transaction_model.expected_transactions(horizon_days, f, r, t)
        if spend_model is not None:
            # customers without a (positive) repeat purchase get the population mean
            value_f, value_m = np.where(positive, f, 0.0), np.where(positive, monetary, 0.0)
            predicted_aov = spend_model.expected_average_value(value_f, value_m)
        else:
            predicted_aov = table["average_order_value"].to_numpy(dtype=float)
            value_f, value_m = f, predicted_aov
        clv_arguments = {
            "horizon": options.horizon,
            "period": DAYS_PER_MONTH,
            "annual_discount_rate": options.annual_discount_rate,
            "margin": options.margin,
            "time_unit_days": 1.0,
        }
        try:
            interval = customer_lifetime_value_interval(
                transaction_model, spend_model, f, r, t, value_m,
                level=options.interval_level, spend_frequency=value_f, **clv_arguments,
            )  # fmt: skip
            clv, low, high = interval.point, interval.low, interval.high
            interval_totals = (interval.total, interval.total_low, interval.total_high)
        except ValueError as error:  # singular information matrix: no interval to give
            spend_input = value_f if spend_model is not None else f
            clv = customer_lifetime_value(
                transaction_model, _FixedFrequency(spend_model, spend_input), f, r, t, value_m,
                **clv_arguments,
            )  # fmt: skip
            low = high = empty
            interval_totals = (float(clv.sum()), None, None)
            note = f"no interval for predicted CLV: {error}"
        # Expected date of the next order: the median wait given the customer is alive, shown
        # only when the customer is more likely alive than not and the date falls inside the
        # horizon (beyond it, "no order expected in the horizon" is the honest answer).
        wait = transaction_model.median_time_to_next_purchase(f, r, t)
        show = (alive >= 0.5) & (wait <= horizon_days)
        as_of_ts = pd.Timestamp(as_of)
        next_order = pd.Series(
            np.where(
                show, as_of_ts + pd.to_timedelta(np.where(show, np.ceil(wait), 0), "D"), pd.NaT
            ),
            index=table.index,
        )
        totals = {
            "historic_clv": float(table["historic_clv"].sum()),
            "predicted_clv": interval_totals[0],
            "predicted_clv_p10": interval_totals[1],
            "predicted_clv_p90": interval_totals[2],
            "interval_level": options.interval_level,
            "predicted_number_of_orders": float(np.sum(predicted_orders)),
        }
        totals["total_clv"] = totals["historic_clv"] + totals["predicted_clv"]
    out["probability_alive"] = alive
    out["churn_probability"] = 1.0 - np.asarray(alive)
    out["predicted_number_of_orders"] = predicted_orders
    out["predicted_average_order_value"] = predicted_aov
    out["predicted_clv"] = clv
    out["predicted_clv_p10"] = low
    out["predicted_clv_p90"] = high
    out["total_clv"] = out["historic_clv"] + np.nan_to_num(np.asarray(clv, dtype=float))
    out["expected_date_of_next_order"] = pd.to_datetime(next_order).dt.date
    # days between purchase days (same-day orders are one purchase); empty with one purchase day
    repeat_days = out["frequency"].where(out["frequency"] > 0)
    out["average_days_between_orders"] = out["recency"] / repeat_days
    return out, model_info, totals, note


def _add_segments(out: pd.DataFrame, table: pd.DataFrame, products: pd.DataFrame, as_of: date):
    from valuecast.analytics.rfm import rfm_group, rfm_scores
    from valuecast.analytics.tiers import predicted_spend_tier

    days_since_last = (pd.Timestamp(as_of) - pd.to_datetime(table["last_order_date"])).dt.days
    scores = rfm_scores(
        days_since_last.to_numpy(),
        table["historic_number_of_orders"].to_numpy(),
        table["historic_clv"].to_numpy(),
    )
    for column in ("rfm_recency", "rfm_frequency", "rfm_monetary", "rfm_score"):
        out[column] = np.asarray(scores[column])
    out["rfm_group"] = np.asarray(
        rfm_group(scores["rfm_recency"], scores["rfm_frequency"], scores["rfm_monetary"])
    )
    value = out["predicted_clv"]
    if value.isna().all():  # no predictions: tier on historic value instead
        value = out["historic_clv"]
    out["predicted_spend_tier"] = np.asarray(predicted_spend_tier(value.to_numpy(dtype=float)))
    out["acquisition_channel"] = out["channel"]
    out = out.merge(products, on="customer_id", how="left")
    return out


def _group_totals(customers: pd.DataFrame, column: str) -> dict[str, dict[str, float]]:
    grouped = customers.groupby(column, dropna=False).agg(
        count=("customer_id", "size"),
        historic_clv=("historic_clv", "sum"),
        predicted_clv=("predicted_clv", "sum"),
    )
    return {
        str(name): {
            "count": int(row["count"]),
            "historic_clv": round(float(row["historic_clv"]), 2),
            "predicted_clv": round(float(row["predicted_clv"]), 2),
        }
        for name, row in grouped.iterrows()
    }
