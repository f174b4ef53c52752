"""The model choice, the fit and the predictions of the customers table, where the orders live.

:func:`choose_model` backtests the candidate models on the engine's calibration summary (sampled
there); :func:`predict` fits the transaction and spend models on the compressed tables and joins
the per-history predictions back to every customer as Ibis expressions, with the intervals of
:mod:`valuecast.analysis.uncertainty`; :func:`prediction_totals` gives the shop's totals with
their interval from one grouped aggregate.  Its length (about 640 lines) is that one path from
summary to customers table, for plain, covariate and seasonal models alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.special import ndtr, ndtri

from valuecast.analysis.backend import exact_sum, materialize, upload
from valuecast.analysis.backtest import (
    READ_COLUMNS,
    SEASONS_RULE,
    WITH_COVARIATES,
    backtest,
    holdout_split,
    sample_rows,
)
from valuecast.analysis.covariates import (
    MIN_LEVEL_CUSTOMERS,
    PATTERN,
    Design,
    coefficient_rows,
    covariate_keywords,
    design_for,
    new_customer_orders,
    with_attributes,
    with_patterns,
)
from valuecast.analysis.dropout import (
    NO_REPEAT_CUSTOMERS,
    contradiction,
    endless_on_short_history,
)
from valuecast.analysis.outlying_spend import outlying_spend, outlying_spend_note
from valuecast.analysis.sales_range import FutureSimulator, no_range_reason
from valuecast.analysis.seasons import seasonal_inputs
from valuecast.analysis.summary import customer_summary, prepare_orders
from valuecast.analysis.uncertainty import (
    BootstrapIntervals,
    DeltaIntervals,
    Units,
    bootstrap_max_histories,
    choose_intervals,
    delta_intervals,
    spend_coefficients,
)
from valuecast.dates import iso, to_date
from valuecast.models import FitError, GammaGamma, remembering_histories
from valuecast.models.clv import (
    DAYS_PER_MONTH,
    discounted_sum,
    period_discount_rate,
    period_ends,
)
from valuecast.models.registry import (
    CANDIDATES,
    candidate_model,
    seasonal_model,
    split_seasonal,
)
from valuecast.tables import NEXT_ORDER_MIN_ALIVE, holds_one_time_buyers_alive


# ------------------------------------------------------------------------------------------------
# the model choice
def backtest_calibration_end(facts, as_of: date, options) -> date | None:
    """The backtest's calibration end (:func:`~valuecast.analysis.backtest.holdout_split`), or
    None when the history is too short for one (or holds no order up to ``as_of``: the caller
    then says there is nothing to analyse)."""
    first = facts["first_order_date"]
    if first is None or pd.isna(first):
        return None
    try:
        return holdout_split(
            to_date(first), as_of, options.holdout_fraction,
            options.min_holdout_days,
        )  # fmt: skip
    except ValueError:
        return None


def choose_model(
    orders, customers_table, as_of: date, facts, options, releases=None, *, known_empty=(),
    attributes: ir.Table | None = None, calibration: ir.Table | None = None,
    meanwhile: Sequence[Callable[[], object]] = (),
):  # fmt: skip
    """Backtest the candidates on a holdout split; return the JSON result and the chosen model.

    ``attributes``: per-customer columns the covariates read beyond the summary's (``customer_id,
    first_product``), joined onto the calibration summary.

    ``known_empty``: the optional attributes no order fills (the full summary found them), which
    the calibration summary then skips.  The calibration summary is computed in the engine (its
    notes and counts are not needed: the full summary's are reported), or given as
    ``calibration`` (a stored table, computed with the whole summary in one pass over the
    orders); when it holds more than ``options.backtest_max_customers`` customers, the seeded
    sample of :func:`~valuecast.analysis.backtest.sample_rows` (positions in customer_id order)
    is picked there too, so at most that many rows cross to Python.

    ``meanwhile``: engine reads for later steps (:meth:`EngineRead.frame`), run in the thread
    that counts the holdout's weeks while the candidates are fitted; one that fails is left to
    be read (and fail) where it is used.
    """
    candidates = tuple(CANDIDATES) if options.model == "auto" else (options.model,)
    first = to_date(facts["first_order_date"])
    try:
        calibration_end = holdout_split(
            first, as_of, options.holdout_fraction, options.min_holdout_days
        )
    except ValueError as error:
        fallback = "bgnbd" if options.model == "auto" else options.model
        # no holdout to judge them by: the covariates are used as asked
        return {"skipped": str(error)}, fallback + (WITH_COVARIATES if options.covariates else "")
    holdout_days = (as_of - to_date(calibration_end)).days
    stored = calibration
    if calibration is None:
        calibration = customer_summary(
            orders, as_of=as_of, calibration_end=calibration_end, customers=customers_table,
            known_empty=known_empty,
        )  # fmt: skip
        if releases is not None:  # counted, then sampled: summarised once, not twice
            calibration = stored = materialize(calibration, releases)
    if attributes is not None:
        calibration = with_attributes(calibration, attributes)
    limit = options.backtest_max_customers
    sampled_from = None
    n = int(calibration.count().execute())
    if limit is not None and n > limit:
        sampled_from = n
        rows = pa.table({"_row": pa.array(sample_rows(n, limit), pa.int64())})
        picked = upload(calibration, rows, "sample", [] if releases is None else releases)
        # the customers are numbered by their ids alone: a window carries every column of its
        # rows through its sort, and the calibration summary has sixteen
        ids = calibration.select("customer_id")
        numbered = ids.mutate(_row=ibis.row_number().over(order_by="customer_id"))
        calibration = calibration.semi_join(numbered.semi_join(picked, "_row"), "customer_id")
    design = design_for(calibration, options.covariates) if options.covariates else None
    if design is not None and design.terms:
        calibration = with_patterns(calibration, design, [] if releases is None else releases)
    # only what the backtest reads crosses to Python: the summary's text columns (channel,
    # discount code, ...) would be sorted, moved and converted for nothing
    read = [c for c in (*READ_COLUMNS, PATTERN) if c in calibration.columns]
    frame = calibration.order_by("customer_id").select(*read).to_pandas()
    seasonal = backtest_seasons(
        orders, calibration, first, to_date(calibration_end), holdout_days, options
    )
    covariates = design.rows(frame.pop(PATTERN)) if PATTERN in frame.columns else None
    # the engine counts the holdout's weekly purchases in a second thread while the candidates
    # are fitted here: nothing else asks the engine anything until both are done
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="valuecast-holdout") as pool:
        weekly_actuals = pool.submit(
            actual_weekly_cumulative,
            orders, to_date(calibration_end), as_of, calibration_customers=stored,
        )  # fmt: skip
        for read in meanwhile:
            pool.submit(read)
        result = backtest(
            frame,
            holdout_days,
            candidates=candidates,
            weekly=True,
            actual_weekly_cumulative=weekly_actuals.result,
            max_customers=limit,
            sampled_from=sampled_from,
            seasonal=None if isinstance(seasonal, str) else seasonal,
            covariates=covariates,
        )
    info = result.to_dict()
    info["seasons"] = seasons_tried(seasonal)
    info["calibration_end"] = iso(calibration_end)
    info["holdout_days"] = holdout_days
    if options.model != "auto":  # no choice among models: the one named is scored alone
        info["named_model"] = options.model
        info["selection"] = (
            f"the model named (--model {options.model}) is scored alone; {SEASONS_RULE}"
        )
    # a named model is kept, with or without covariates as its backtest says
    chosen = result.best or ("bgnbd" if options.model == "auto" else options.model)
    return info, chosen


def backtest_seasons(
    orders, calibration, first: date, calibration_end: date, holdout_days: int, options
):
    """The calibration's time-varying covariates for the backtest, or why there are none.

    Seasons are tried unless ``options.seasons`` is off, once the calibration history allows them
    (:func:`~valuecast.analysis.seasons.why_no_seasons`); ``options.calendar`` adds its columns.
    """
    return seasonal_inputs(
        orders, calibration, first, calibration_end, holdout_days,
        calendar=getattr(options, "calendar", None), seasons=getattr(options, "seasons", True),
    )  # fmt: skip


def seasons_used(model, seasonal) -> dict[str, Any]:
    """summary.json's account of a fitted time-varying model: its covariates' purchase-rate
    multipliers (months against January), coefficients, standard errors and p-values."""
    coefficients = model.coefficients_["purchase"]
    errors = model.coefficient_standard_errors_["purchase"]
    p_values = {
        name: float(2 * ndtr(-abs(value) / errors[name])) if errors[name] > 0 else None
        for name, value in coefficients.items()
    }
    return {
        "used": True,
        "multipliers": seasonal.multipliers(model),
        "coefficients": coefficients,
        "standard_errors": errors,
        "p_values": p_values,
        "notes": seasonal.notes,
    }


def seasons_tried(seasonal) -> dict[str, Any]:
    """summary.json's account of the time-varying covariates the backtest tried."""
    if isinstance(seasonal, str):
        return {"tried": False, "reason": seasonal}
    return {"tried": True, "covariates": list(seasonal.periods.names), "notes": seasonal.notes}


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
        held = held.semi_join(calibration_customers.select("customer_id"), "customer_id")
    else:
        # the calibration customers' orders first, then their purchase days: the distinct
        # days are found among fewer rows (15% less CPU at 1M customers)
        held = known.filter(known.order_date > end).select("customer_id", "order_date")
        held = held.semi_join(calibration_customers.select("customer_id"), "customer_id").distinct()
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


def _history_predictions(
    model, f, r, t, discounted: np.ndarray, variance: np.ndarray | None, as_of: date, options,
    *, one_time_alive: bool = False,
) -> pa.Table:  # fmt: skip
    """Per distinct history: P(alive), expected and discounted orders, the variance of their log
    (0 without an interval) and the expected date of the next order; ``one_time_alive``: the
    model holds customers without a repeat purchase alive whatever their silence
    (:func:`holds_one_time_buyers_alive`)."""
    horizon_days = options.horizon * DAYS_PER_MONTH
    alive = np.asarray(model.probability_alive(f, r, t), dtype=float)
    orders = np.asarray(model.expected_transactions(horizon_days, f, r, t), dtype=float)
    # expected date of the next order: the median wait given the customer is alive, shown only
    # when the customer is more likely alive than not and the date falls inside the horizon:
    # a wait is its day rounded up (0.3 days: tomorrow), and the horizon's 365.25 days end on
    # its 365th day, so a wait of 365.1 days (day 366) is after it
    wait = np.asarray(model.median_time_to_next_purchase(f, r, t), dtype=float)
    with np.errstate(invalid="ignore"):
        show = (alive >= NEXT_ORDER_MIN_ALIVE) & (np.ceil(wait) <= np.floor(horizon_days))
    if one_time_alive:
        # their P(alive) of 1 is the model's assumption, not the orders': no "more likely alive
        # than not" to show a date on (a BG/NBD shop's one-time buyers of four months ago all
        # read the same next order, while its repeat buyers of last week read none)
        show &= f > 0
    days = np.where(show, np.ceil(np.where(show, wait, 0.0)), 0).astype("int64")
    next_date = np.datetime64(as_of, "D") + days.astype("timedelta64[D]")
    return pa.table(
        {
            "frequency": pa.array(f.astype("int64")),
            "recency": pa.array(r.astype("int64")),
            "T": pa.array(t.astype("int64")),
            "probability_alive": pa.array(alive),
            "churn_probability": pa.array(1.0 - alive),
            "predicted_number_of_orders": pa.array(orders),
            "_discounted": pa.array(discounted),
            "_tx_variance": pa.array(np.zeros(len(f)) if variance is None else variance),
            "expected_date_of_next_order": pa.array(next_date, pa.date32(), mask=~show),
        }
    )


def _resampling_units(base: ir.Table, f, r, t, spend_data, spend_x) -> Units:
    """The customers grouped by (history, spend history): the bootstrap's resampling units."""
    value = base.average_order_value.cast("float64").fill_null(0.0)
    keys = ["frequency", "recency", "T", "_spend_x", "_spend_m"]
    # in key order: the seeded draws then fall on the same customers in every engine
    rows = (
        base.group_by(keys).aggregate(count=base.count(), value_sum=exact_sum(value)).order_by(keys)
    ).to_pandas()
    columns = [rows[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]
    history = pd.MultiIndex.from_arrays([f, r, t]).get_indexer(pd.MultiIndex.from_arrays(columns))
    x, m = rows["_spend_x"].to_numpy(dtype=float), rows["_spend_m"].to_numpy(dtype=float)
    spend = np.full(len(rows), -1, dtype=np.intp)
    if spend_data is not None:
        index = pd.MultiIndex.from_arrays(list(spend_data))
        positive = x > 0
        spend[positive] = index.get_indexer(pd.MultiIndex.from_arrays([x[positive], m[positive]]))
    return Units(
        history=history,
        spend=spend,
        grid=np.searchsorted(spend_x, x),
        m=m,
        value_sum=rows["value_sum"].to_numpy(dtype=float),
        count=rows["count"].to_numpy(dtype=float),
    )


def _fit_transaction_model(model_name: str, f, r, t, counts, X=None, seasonal=None):
    """The fitted transaction model and ``None``, or ``None`` and why there is none.

    ``X``: the covariates of each distinct history (:class:`CovariateBound` then binds them).
    A ``<candidate>+season`` name fits the candidate's time-varying variant with ``seasonal``'s
    covariates (:class:`~valuecast.analysis.seasons.SeasonalInputs` of the whole history).
    """
    base, is_seasonal = split_seasonal(model_name)
    try:
        if is_seasonal:
            if seasonal is None:
                raise ValueError("the seasonal covariates of the whole history are missing")
            model = seasonal_model(base, seasonal.start).fit(
                f, r, t, weights=counts, periods=seasonal.periods,
                purchase_sums=seasonal.row_sums(f, r, t),
            )  # fmt: skip
        else:
            model = candidate_model(model_name).fit(
                f, r, t, weights=counts, **covariate_keywords(X)
            )
    except (FitError, ValueError) as error:
        return None, f"{model_name} could not be fitted ({error}): historic figures only"
    bound = model if X is None else CovariateBound(model, X)
    reason = contradiction(bound, f, r, t)
    return (None, reason) if reason else (bound, None)


class CovariateBound:
    """A covariate model with the covariates of the distinct histories it predicts bound.

    Its prediction methods take ``(frequency, recency, T)`` like a plain model's, so the CLV
    sums and the per-history predictions read it unchanged; called with a subset of the rows
    (a boolean mask's), :meth:`rows` picks their covariates.  Everything else is the model's.
    """

    def __init__(self, model, X: pd.DataFrame) -> None:
        self.model, self.X = model, X.reset_index(drop=True)
        self._subset: pd.DataFrame | None = None

    def __getattr__(self, name: str):
        return getattr(self.model, name)

    def rows(self, mask: np.ndarray) -> CovariateBound:
        """The same model bound to the rows ``mask`` selects."""
        return CovariateBound(self.model, self.X[np.asarray(mask, dtype=bool)])

    def _kw(self, n: int) -> dict[str, pd.DataFrame]:
        if n != len(self.X):
            raise ValueError(f"{n} histories given, covariates bound for {len(self.X)}")
        return covariate_keywords(self.X)

    def probability_alive(self, f, r, t):
        return self.model.probability_alive(f, r, t, **self._kw(len(f)))

    def expected_transactions(self, horizon, f, r, t):
        return self.model.expected_transactions(horizon, f, r, t, **self._kw(len(f)))

    def expected_transactions_grid(self, horizons, f, r, t):
        return self.model.expected_transactions_grid(horizons, f, r, t, **self._kw(len(f)))

    def median_time_to_next_purchase(self, f, r, t):
        return self.model.median_time_to_next_purchase(f, r, t, **self._kw(len(f)))

    @property
    def discounted_transactions(self):
        """The model's own discounted sum with the covariates bound; an AttributeError (as
        ``getattr`` expects) when the model has none."""
        own = self.model.discounted_transactions
        return lambda ends, rate, f, r, t: own(ends, rate, f, r, t, **self._kw(len(f)))

    def with_params(self, params, coefficients=None) -> CovariateBound:
        """The model with other parameters (and coefficients), bound to the same covariates."""
        return CovariateBound(self.model.with_params(params, coefficients), self.X)


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
    the intervals (None: none) and the interval's z."""

    f: np.ndarray
    r: np.ndarray
    t: np.ndarray
    intervals: DeltaIntervals | BootstrapIntervals | None
    z: float
    options: Any
    pattern: np.ndarray | None = None  # each distinct row's covariate pattern, if any
    # per (history, spend frequency) what the totals sum (:func:`_history_groups`); None
    # without a spend model, whose values (each customer's own) only the customers table holds
    groups: pd.DataFrame | None = None
    # draws the customers' futures for the range of the sales to come (None: no range, and why)
    future: FutureSimulator | None = None
    no_range: str | None = None


@dataclass
class Predictions:
    """:func:`predict`'s result: the customers expression with predictions, the model info for
    summary.json, a note when the predictions are limited, and the totals' terms (None when no
    model was fitted: historic figures only)."""

    customers: ir.Table
    model: dict[str, Any]
    note: str | None = None
    terms: TotalsTerms | None = None
    notes: list[str] = field(default_factory=list)  # for the summary's notes

    def totals(self, full: ir.Table, historic: float | None = None) -> dict[str, Any]:
        """The shop's totals from ``full`` (the materialized customers table); needs ``terms``.

        ``historic``: the exact sum of ``full``'s historic CLV when the caller has it (else
        summed here).
        """
        if self.terms is None:
            raise ValueError("no model was fitted: the totals are historic only")
        terms = self.terms
        if terms.groups is None:
            return prediction_totals(
                full, terms.f, terms.r, terms.t, terms.intervals, terms.z, terms.options,
                pattern=terms.pattern, terms=terms,
            )  # fmt: skip
        if historic is None:
            historic = full.aggregate(s=exact_sum(full.historic_clv)).to_pyarrow()["s"][0].as_py()
        grouped = terms.groups.copy()
        return _group_sums(
            grouped, grouped["history"].to_numpy(), historic, terms.intervals, terms.z,
            terms.options, terms,
        )  # fmt: skip


def predict(
    table: ir.Table, model_name: str, as_of: date, options, *, has_repeat: bool, releases=None,
    withhold: str | None = None, design: Design | None = None, seasonal=None,
    histories_read: EngineRead | None = None,
):  # fmt: skip
    """Fit the transaction and spend models on the engine's compressed tables; predict per customer.

    ``design``: the covariates (:mod:`valuecast.analysis.covariates`) the transaction model is
    fitted with, in both processes; the histories are then distinct per (history, pattern).

    Returns :class:`Predictions`: the customers expression has the prediction columns plus helper
    columns (``_discounted``, ``_spend_x``, ``_spend_m``) that :meth:`Predictions.totals` reads
    once the table is materialized.  ``withhold``: why the data cannot identify dropout
    (:func:`~valuecast.analysis.dropout.unidentified_dropout`); no model is fitted then.
    ``seasonal``: the whole history's time-varying covariates, for a ``<candidate>+season``
    model; its intervals use the delta method (a bootstrap would refit it a hundred times).
    ``histories_read``: :func:`history_read` of ``table``, read ahead perhaps; a model with a
    ``design`` reads its histories with the covariate pattern itself.
    """
    info: dict[str, Any] = {"name": model_name}
    note = None
    model = spend_model = None
    releases = [] if releases is None else releases
    if design is not None:
        table = with_patterns(table, design, releases)
    keys = ["frequency", "recency", "T"] + ([PATTERN] if design is not None else [])
    spend_m = table.avg_repeat_order_value.cast("float64")
    positive = (table.frequency > 0) & (spend_m > 0)
    if histories_read is None or design is not None:
        histories_read = history_read(table, keys)
    compressed = histories_read.frame()
    f = compressed["frequency"].to_numpy(dtype=float)
    r = compressed["recency"].to_numpy(dtype=float)
    t = compressed["T"].to_numpy(dtype=float)
    counts = compressed["count"].to_numpy(dtype=float)
    X = design.rows(compressed[PATTERN]) if design is not None else None
    if not has_repeat:
        note = withhold or NO_REPEAT_CUSTOMERS
    elif withhold is not None:
        note = withhold
    else:
        model, note = _fit_transaction_model(model_name, f, r, t, counts, X, seasonal)
        # the oldest customer's T: the shop's history
        endless = (
            None
            if model is None
            else endless_on_short_history(model, float(t.max()), options.horizon * DAYS_PER_MONTH)
        )
        if endless is not None:
            model, note = None, endless
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
            total_clv=table.historic_clv * options.margin,
            expected_date_of_next_order=ibis.null().cast("date"),
        )
        # the candidate the backtest named, not fitted: said so beside its name
        info.update(fitted=False, withheld=note)
        return Predictions(out, info, note)

    info.update(
        penalizer=model.penalizer,
        params=model.params_,
        **_fit_report(model),
        n_customers=int(model.n_customers_),
        n_distinct_histories=int(model.n_distinct_histories_),
    )
    ends = period_ends(options.horizon, DAYS_PER_MONTH, 1.0)
    rate = period_discount_rate(options.annual_discount_rate, DAYS_PER_MONTH)
    raw = model.model if design is not None else model
    info["new_customer"] = new_customer_orders(raw, design, ends, rate)
    if design is not None:
        info["covariates"] = _covariate_report(raw, design, float(ends[-1]))
    is_seasonal = bool(split_seasonal(model_name)[1])
    if is_seasonal:
        info["seasons"] = seasons_used(model, seasonal)
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

    # customers without a repeat purchase get the population mean (x = m = 0); those whose
    # repeat orders were free their x with m = 0 (repeat_spend_known)
    known = repeat_spend_known(table.frequency, spend_m)
    base = table.mutate(
        average_days_between_orders=days_between,
        _spend_x=ibis.ifelse(known, table.frequency, 0).cast("int64"),
        _spend_m=ibis.ifelse(known, spend_m, 0.0),
    )
    paid_nothing = int(compressed["paid_nothing"].sum())
    notes = []
    if spend_model is not None and paid_nothing:
        info["spend_model"]["repeat_customers_paying_nothing"] = paid_nothing
        notes.append(paid_nothing_note(paid_nothing, spend_model))
    spend_x = np.unique(np.concatenate([[0.0], f[f > 0]]))  # the spend grid: 0 = population
    spend_data = None
    if spend_model is not None:
        spend_data = (spend_rows["x"].to_numpy(dtype=float), spend_rows["m"].to_numpy(dtype=float))
        outlying = outlying_spend(
            spend_model, *spend_data, spend_rows["count"].to_numpy(dtype=float)
        )
        if outlying is not None:
            info["spend_model"]["outlying_customers"] = asdict(outlying)
            notes.append(outlying_spend_note(outlying))
    # the delta method and the per-history predictions ask about the same histories again
    with remembering_histories():
        discounted = discounted_sum(model, f, r, t, ends, rate)
        if design is None and not is_seasonal:
            intervals = choose_intervals(
                model, spend_model, (f, r, t), spend_data, spend_x,
                lambda: _resampling_units(base, f, r, t, spend_data, spend_x), discounted, ends,
                rate, options, max_histories=bootstrap_max_histories(model_name),
            )  # fmt: skip
        else:  # a bootstrap would refit every covariate pattern or calendar period 100 times
            intervals = delta_intervals(
                model, spend_model, f, r, t, spend_x, ends, rate, discounted
            )
        variance = None if intervals is None else intervals.history_variance
        histories = _history_predictions(
            model, f, r, t, discounted, variance, as_of, options,
            one_time_alive=holds_one_time_buyers_alive(model_name),
        )  # fmt: skip
    if design is not None:
        histories = histories.append_column(PATTERN, pa.array(compressed[PATTERN], pa.int64()))
    uploaded = upload(table, histories, "histories", releases)
    joined = base.inner_join(uploaded, keys)
    keep = [c for c in histories.column_names if c not in keys]
    joined = joined.select(base, *[uploaded[c] for c in keep])

    spend_variance = None if intervals is None else intervals.spend_variance
    if spend_model is not None:
        A, B = spend_coefficients(spend_model.params_, spend_x)
        columns = {
            "_spend_x": pa.array(spend_x.astype("int64")),
            "_mean_base": pa.array(A),
            "_mean_slope": pa.array(B),
        }
        for key, values in (spend_variance or {}).items():
            columns[f"_var_{key}"] = pa.array(values)
        coefficients = upload(table, pa.table(columns), "spend", releases)
        joined = joined.inner_join(coefficients, "_spend_x").select(
            joined, *[coefficients[c] for c in columns if c != "_spend_x"]
        )
        value = joined._mean_base + joined._mean_slope * joined._spend_m
    else:
        value = joined.average_order_value.cast("float64")
    point = (value * options.margin) * joined._discounted
    z = float(ndtri(0.5 + options.interval_level / 2))
    if intervals is not None:
        info["interval"] = {"method": intervals.method, **intervals.info}
        low, high = _bounds(joined, value, point, spend_variance, z)
    else:
        low = high = ibis.null().cast("float64")
        note = (
            "no interval for predicted CLV: parameter covariance unavailable (singular "
            "information matrix)"
        )
        if design is None and not is_seasonal:  # the bootstrap was tried too
            note += " and fewer than two resampled refits succeeded"
    out = joined.mutate(
        predicted_average_order_value=value,
        predicted_clv=point,
        predicted_clv_p10=low,
        predicted_clv_p90=high,
        # the past in the unit of the prediction: revenue times the margin
        total_clv=joined.historic_clv * options.margin + point,
    )

    pattern = compressed[PATTERN].to_numpy() if design is not None else None
    terms = TotalsTerms(f, r, t, intervals, z, options, pattern)
    terms.no_range = no_range_reason(model_name, design is not None, is_seasonal, model)
    if terms.no_range is None:
        terms.future = FutureSimulator(model, spend_model, ends, rate, options.margin)
    if spend_model is not None:
        terms.groups = _history_groups(compressed, histories, spend_x, (A, B), options.margin)
    return Predictions(out, info, note, terms, notes)


def paid_nothing_note(customers: int, spend_model: GammaGamma) -> str:
    """The note on the ``customers`` whose repeat orders were all free
    (:func:`repeat_spend_known`): what the spend model expects of them."""
    who = (
        f"{customers:,} {'customer' if customers == 1 else 'customers'} ordered again but paid "
        "nothing for their repeat orders (free or fully discounted: a replacement, a staff "
        "order, a 100% discount code)"
    )
    if spend_model.limits_.get("v") == "inf":  # one spending rate for all: B(x) = 0
        return (
            f"{who}: the spend model holds one spending rate for every customer (its limit), so "
            "they too are expected to spend the shop's mean order value; leave such orders out "
            "of the export where they are not sales"
        )
    return (
        f"{who}: the spend model, fitted on paid orders, expects less of them per order the "
        "more free orders they had, not the shop's mean"
    )


class EngineRead:
    """One read of an engine table into a DataFrame, done once: ahead of its use, in a thread
    while Python works (:func:`choose_model`'s ``meanwhile``), or when first asked for."""

    def __init__(self, expression: ir.Table) -> None:
        self._expression = expression
        self._frame: pd.DataFrame | None = None
        self._lock = threading.Lock()

    def frame(self) -> pd.DataFrame:
        """The table's rows (read now, unless they were read already)."""
        with self._lock:
            if self._frame is None:
                self._frame = self._expression.to_pandas()
            return self._frame


def history_read(table: ir.Table, keys: list[str] | None = None) -> EngineRead:
    """The model input of :func:`predict`, to be read: one row per distinct ``keys`` (the
    history by default) with the ``count`` of customers, and of those whose repeat spend is
    known (:func:`repeat_spend_known`) their ``spend_count``, the exact sum of their mean repeat
    order value (``spend_sum``) and how many of them paid nothing (``paid_nothing``): what the
    shop's predicted total needs per history."""
    keys = ["frequency", "recency", "T"] if keys is None else keys
    spend_m = table.avg_repeat_order_value.cast("float64")
    known = repeat_spend_known(table.frequency, spend_m)
    grouped = table.group_by(keys).aggregate(
        count=table.count(),
        spend_count=table.count(where=known),
        spend_sum=exact_sum(ibis.ifelse(known, spend_m, 0.0)),
        paid_nothing=table.count(where=known & (spend_m == 0)),
    )
    return EngineRead(grouped.order_by(keys))


def repeat_spend_known(frequency: ir.Value, spend_m: ir.Value) -> ir.Value:
    """Whether a customer's repeat orders tell the spend model something: they have some, and
    their mean value is known and not negative.  A mean of 0 (every repeat order free: a
    replacement, a staff order, a 100% discount) is the Gamma-Gamma mean's limit m -> 0 at the
    customer's ``x`` orders, ``A(x)``: the population mean shrunk the more, the more free orders
    there were.  The fit itself reads positive means only (its density is of m > 0)."""
    return (frequency > 0) & (spend_m >= 0)


def _history_groups(compressed, histories: pa.Table, spend_x, coefficients, margin: float):
    """What :func:`prediction_totals` sums from the customers table, per (history, spend
    frequency), made from the compressed histories instead (``count``, ``point``,
    ``spend_m``, ``discounted``, ``history_orders``, ``_spend_x`` and each row's ``history``).

    A history's customers without a known repeat spend all have the value ``A(0)``; those
    with one ``A(x) + B(x) m`` at their frequency ``x``, which sums to ``A(x) n + B(x) sum(m)``
    (Fader & Hardie 2013's Gamma-Gamma mean, :func:`spend_coefficients`).  The sum of ``m`` is
    exact (:func:`exact_sum`), so the totals do not depend on the order the engine reads the
    customers in, and the customers table is not read again for them.
    """
    count = compressed["count"].to_numpy(dtype=float)
    spenders = compressed["spend_count"].to_numpy(dtype=float)
    spend_sum = compressed["spend_sum"].to_numpy(dtype=float)
    f = compressed["frequency"].to_numpy(dtype=float)
    discounted = histories.column("_discounted").to_numpy()
    orders = histories.column("predicted_number_of_orders").to_numpy()
    A, B = coefficients
    at = np.searchsorted(spend_x, f)
    history = np.arange(len(count))
    others = count - spenders
    parts = [  # (rows, spend frequency, count, value sum, spend_m sum)
        (others > 0, np.zeros_like(f), others, A[0] * others, np.zeros_like(f)),
        (spenders > 0, f, spenders, A[at] * spenders + B[at] * spend_sum, spend_sum),
    ]
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    "history": history[rows],
                    "_spend_x": x[rows],
                    "count": n[rows],
                    "point": (value[rows] * margin) * discounted[rows],
                    "spend_m": m[rows],
                    "discounted": discounted[rows],
                    "history_orders": orders[rows],
                }
            )
            for rows, x, n, value, m in parts
        ],
        ignore_index=True,
    )
    return frame.sort_values(["history", "_spend_x"], kind="stable", ignore_index=True)


def _covariate_report(model, design: Design, horizon_days: float) -> dict[str, Any]:
    """summary.json's ``model.covariates``: the columns, the design's notes, the coefficients."""
    return {
        "columns": list(design.columns),
        "min_level_customers": MIN_LEVEL_CUSTOMERS,
        "notes": list(design.notes),
        "coefficients": coefficient_rows(model, design, horizon_days),
    }


def _bounds(joined: ir.Table, value, point, spend_variance, z: float):
    """``CLV * exp(-/+ z sd)`` with ``sd^2`` the variance of log discounted orders plus that of
    the expected order value ``a + 2 b m + c m^2`` over its square (the spend model's share)."""
    variance = joined._tx_variance
    if spend_variance is not None:
        m = joined._spend_m
        spread = joined._var_a + (joined._var_b * 2.0 + joined._var_c * m) * m
        variance = variance + ibis.ifelse(value > 0, spread / (value * value), 0.0)
    sd = ibis.greatest(variance, 0.0).sqrt()
    return point * (sd * -z).exp(), point * (sd * z).exp()


TOTALS_COLUMNS = ("_spend_x", "_spend_m", "_discounted")
"""The helper columns of :func:`predict`'s customers that :func:`prediction_totals` reads besides
the customers table's own (and the covariate pattern, when there is one)."""


def prediction_totals(full, f, r, t, intervals, z, options, pattern=None, terms=None):
    """The shop's totals with their interval, from one grouped aggregate of the customers table.

    The engine sums per (history, spend frequency) what the interval of the sum needs (the delta
    method: ``sum_i CLV_i g_i`` and the spend model's sums; the bootstrap only the total), Python
    does the rest on that small table.  ``pattern``: the covariate pattern of each distinct
    history when the model has covariates (a history is then the pair).
    """
    keys = ["frequency", "recency", "T"] + ([PATTERN] if pattern is not None else [])
    # exact sums, in key order: the totals do not depend on the order the engine reads rows in;
    # a history's discounted and expected orders are one value per group (its min), so only
    # the values that vary within a group are summed
    grouped = (
        full.group_by([*keys, "_spend_x"])
        .aggregate(
            count=full.count(),
            point=exact_sum(full.predicted_clv),
            historic=exact_sum(full.historic_clv),
            spend_m=exact_sum(full._spend_m),
            discounted=full._discounted.min(),
            history_orders=full.predicted_number_of_orders.min(),
        )
        .order_by([*keys, "_spend_x"])
        .to_pandas()
    )
    where = None
    if intervals is not None:
        distinct = [f, r, t] + ([pattern.astype(float)] if pattern is not None else [])
        where = pd.MultiIndex.from_arrays(distinct).get_indexer(
            pd.MultiIndex.from_arrays([grouped[c].to_numpy(dtype=float) for c in keys])
        )
    historic = float(grouped["historic"].sum())
    return _group_sums(grouped, where, historic, intervals, z, options, terms)


def _group_sums(
    grouped: pd.DataFrame, where, historic: float, intervals, z: float, options,
    terms: TotalsTerms | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The shop's totals from the sums per (history, spend frequency) of
    :func:`prediction_totals` (``where``: each row's history) and the historic total; with
    ``terms``, the range of the sales to come beside the interval of the expected value."""
    count = grouped["count"].to_numpy(dtype=float)
    grouped["orders"] = count * grouped["history_orders"].to_numpy(dtype=float)
    grouped["s0"] = count * grouped["discounted"].to_numpy(dtype=float)
    grouped["s1"] = grouped["discounted"].to_numpy(dtype=float) * grouped["spend_m"]
    total = float(grouped["point"].sum())
    totals: dict[str, Any] = {
        "historic_clv": historic,
        "predicted_clv": total,
        "predicted_clv_p10": None,
        "predicted_clv_p90": None,
        "interval_level": options.interval_level,
        "predicted_number_of_orders": float(grouped["orders"].sum()),
    }
    if intervals is not None:
        low, high = intervals.total_bounds(grouped, where, z, options.margin)
        totals["predicted_clv_p10"], totals["predicted_clv_p90"] = low, high
    totals.update(_sales_range(grouped, where, totals, terms, options))
    totals["total_clv"] = totals["historic_clv"] * options.margin + totals["predicted_clv"]
    return totals


def _sales_range(grouped: pd.DataFrame, where, totals: dict, terms, options) -> dict[str, Any]:
    """summary.json's ``predicted_sales_p10`` / ``_p90``: the range of the sales to come
    (:mod:`valuecast.analysis.sales_range`), or None with ``sales_range_note`` saying why."""
    out: dict[str, Any] = {"predicted_sales_p10": None, "predicted_sales_p90": None}
    if terms is None:
        return out
    if terms.future is None or totals["predicted_clv_p90"] is None:
        out["sales_range_note"] = terms.no_range or (
            "no range of the sales to come: the expected value has no interval"
        )
        return out
    count = grouped["count"].to_numpy(dtype=float)
    discounted = grouped["discounted"].to_numpy(dtype=float)
    spend_x = grouped["_spend_x"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        # without a spend model each customer's order value is their own average: per group,
        # the mean that gives the group's point
        value = grouped["point"].to_numpy(dtype=float) / (options.margin * discounted * count)
        m = grouped["spend_m"].to_numpy(dtype=float) / count
    units = {
        "f": terms.f[where], "r": terms.r[where], "t": terms.t[where], "x": spend_x,
        "m": np.where(spend_x > 0, m, 0.0), "value": np.nan_to_num(value), "count": count,
    }  # fmt: skip
    future = terms.future
    low, high = future.bounds(
        units, totals["predicted_clv"], totals["predicted_clv_p90"], options.interval_level
    )
    out.update(predicted_sales_p10=low, predicted_sales_p90=high, sales_range=dict(future.info))
    return out
