"""The customers table and its summary: the one orchestration of summary, backtest, fit, segments.

:func:`analyze_tables` is the one implementation behind :func:`valuecast.jobs.analyze.analyze` (the
DuckDB workspace) and ``--engine spark`` / ``--engine postgres://...`` (:mod:`valuecast.jobs.scale`).
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

The result is the same on every engine (DuckDB and Spark agree to 1e-9 on numbers and exactly on
everything else): :mod:`valuecast.analysis.segments` ranks by value alone.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from valuecast.analysis.attributes import first_products, shop_facts
from valuecast.analysis.backend import (
    customer_parts,
    exact_sum,
    exact_sum_terms,
    materialize,
    materialize_parts,
    memory_limit_bytes,
    parts_within,
)
from valuecast.analysis.backtest import WITH_COVARIATES, seasons_left_out
from valuecast.analysis.covariate_names import ATTRIBUTES, COVARIATES
from valuecast.analysis.covariates import PATTERN, design_for, with_attributes
from valuecast.analysis.dropout import unidentified_dropout
from valuecast.analysis.growth.history import StoredHistory
from valuecast.analysis.predict import (
    TOTALS_COLUMNS,
    backtest_calibration_end,
    choose_model,
    history_read,
    predict,
)
from valuecast.analysis.seasons import seasonal_inputs
from valuecast.analysis.segments import add_segments
from valuecast.analysis.summary import (
    WHOLE_NUMBER_COLUMNS,
    NoCustomersError,
    SummaryError,
    before_first_order,
    calibration_summary,
    customer_summary,
    customer_summary_with_calibration,
    summarize,
    whole_summary,
)
from valuecast.analysis.threads import one_blas_thread
from valuecast.dates import days_text, iso, to_date
from valuecast.errors import is_interrupted_query
from valuecast.io.schema import MAX_AMOUNT
from valuecast.models import NoStandardErrorsWarning
from valuecast.models.clv import DAYS_PER_MONTH
from valuecast.models.registry import split_seasonal
from valuecast.tables import (
    ACTIVE_BUT_LOST,
    CUSTOMER_COLUMNS,
    LAPSED_GROUPS,
    LIKELY_ACTIVE,
    WITHIN_USUAL_GAP,
    holds_one_time_buyers_alive,
)

Progress = Callable[[str], None]
Store = Callable[[list[ir.Table]], ir.Table]
"""Where a caller keeps the customers table: stores expressions in its engine, one after the
other, and returns the stored table, read in the order it was written (the caller owns it: the
analysis drops nothing)."""

# Klaviyo's published minimums for predictive analytics
MIN_CUSTOMERS = 500
MIN_HISTORY_DAYS = 180
MIN_ORDERS_FOR_A_LOYAL_CUSTOMER = 3

BACKTEST_MISS = 0.5
"""How far (a share) the chosen model's holdout orders may miss the actual ones in the backtest
before the predictions are read with low confidence."""


def _prediction_doubts(
    backtest: dict | None, model_name: str | None, history_days: int, options
) -> list[str]:
    """Low-confidence reasons about the predictions themselves: a backtest the chosen model
    missed by half or more (a shop closed for months, a change of trade), a backtest in which no
    model could be fitted (the predictions' model is then chosen untested), and a horizon longer
    than the history it extrapolates."""
    doubts = []
    models = (backtest or {}).get("models") or {}
    if models and all("error" in scores for scores in models.values()):
        doubts.append(
            "no model could be fitted on the history before the backtest's holdout "
            f"({backtest.get('calibration_end')}): the predictions come from a model no holdout "
            "has tested"
        )
    scores = models.get(str(model_name)) or {}
    miss = scores.get("aggregate_error_orders")
    if miss is not None and math.isfinite(miss) and abs(miss) >= BACKTEST_MISS:
        doubts.append(
            f"the chosen model missed the backtest's holdout orders by {miss:+.0%}: the history "
            "before it may not be like the months ahead (a closure, a change of trade)"
        )
    # in whole days: a year of history (365 days, 2023-01-01 to 2024-01-01) covers 12 months
    horizon_days = math.floor(options.horizon * 365.25 / 12)
    if history_days > 0 and horizon_days > history_days:
        doubts.append(
            f"the horizon ({options.horizon} months) is longer than the history "
            f"({history_days:,} days): the predictions extrapolate beyond what was observed"
        )
    return doubts


NEGATIVE_RATE_NOTE = (
    "the annual discount rate is negative: an order a year from now counts for more than one "
    "today, which raises the predicted CLV above the value of the orders predicted"
)


def _noop(_: str) -> None:
    return None


@dataclass
class TableAnalysis:
    """The customers table as a lazy Ibis expression on the engine, and the JSON-ready summary."""

    customers: ir.Table
    summary: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    releases: list[Callable[[], None]] = field(default_factory=list)
    # analyze_tables(keep=True): the customers table stored in customer-id order, and its drop
    kept: tuple[ir.Table, Callable[[], None]] | None = None

    def release(self) -> None:
        """Drop the engine's intermediate tables (``customers`` cannot be read afterwards)."""
        while self.releases:
            self.releases.pop()()

    def keep(self) -> tuple[ir.Table, Callable[[], None]]:
        """The customers table as stored in the engine in customer-id order (a plain scan reads
        it in that order) and what drops it (nothing when the caller's ``store`` holds it);
        every other intermediate table is dropped now."""
        if self.kept is None:
            raise ValueError("only analyze_tables(keep=True) keeps the customers table")
        table, drop = self.kept
        if drop in self.releases:
            self.releases.remove(drop)
        self.release()
        return table, drop


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def _has_rows(table: ir.Table) -> bool:
    return bool(_rows(table.limit(1).aggregate(n=ibis._.count()))[0]["n"])


def analyze_tables(
    orders: ir.Table,
    order_lines: ir.Table | None,
    customers: ir.Table | None,
    options,
    progress: Progress = _noop,
    *,
    keep: bool = False,
    store: Store | None = None,
    step_done: Callable[[str], None] = _noop,
    history: StoredHistory | None = None,
) -> TableAnalysis:
    """The whole analysis of ``orders`` (a canonical orders table on any Ibis engine).

    ``options`` is a :class:`valuecast.jobs.analyze.AnalysisOptions`.  Returns the customers table as
    an expression on the orders' engine (columns :data:`valuecast.tables.CUSTOMER_COLUMNS`,
    sorted by ``customer_id``) and summary.json's content.  The customers table reads
    intermediate tables kept in the engine: call :meth:`TableAnalysis.release` once it is
    written or collected.  ``keep``: the customers table is stored in customer-id order, for a
    caller that reads it from the engine after the analysis (:meth:`TableAnalysis.keep`).
    ``store``: keeps it (implies ``keep``) where the caller wants its rows, so that they are
    written once; the analysis' own temporary table keeps it instead (``store`` is not called)
    when the totals read helper columns besides the customers table's.  ``step_done`` is
    called with each step's name (:data:`STEPS`) as it ends: where the caller gives back to the
    system the memory a step freed (the analysis, below the store, does not).  ``history``: the
    orders' order history held by the caller (:class:`~valuecast.analysis.growth.history.
    StoredHistory`), which the summary reads its purchase days from when it is of the analysis'
    as-of date and the summary is made in one part; the analysis releases it once the summary
    is stored.
    """
    options.validate()
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    step = STEPS[0]

    def lap(name: str) -> None:
        nonlocal clock, step
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        step = STEPS[min(STEPS.index(name) + 1, len(STEPS) - 1)]
        step_done(name)
        clock = time.perf_counter()

    progress("summarising customers")
    releases: list[Callable[[], None]] = []
    try:
        with one_blas_thread():
            return _analyze(
                orders, order_lines, customers, options, progress, releases, timings, lap,
                keep or store is not None, store, history,
            )  # fmt: skip
    except BaseException as error:
        _release_after_failure(releases)
        if is_interrupted_query(error):  # Ctrl-C as the engine raises it: an interrupt
            raise KeyboardInterrupt from error
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


def nothing_to_analyse(orders: ir.Table, as_of: date, facts: dict[str, Any]) -> str:
    """Why no customer has an order up to ``as_of`` (``facts``: :func:`shop_facts` to it): the
    as-of date before the first order (named), or only guest orders up to it."""
    guests = int(facts["n_guest_orders"] or 0)
    if guests:
        return (
            f"only guest orders up to the as-of date {as_of} ({guests:,}, with no e-mail, phone "
            "or customer id): nothing to analyse"
        )
    early = before_first_order(orders, as_of)
    if early is not None:
        return f"{early}: nothing to analyse"
    return "no customer orders up to the as-of date: nothing to analyse"


def _analyze(orders, order_lines, customers, options, progress, releases, timings, lap, keep,
             store, history):  # fmt: skip
    result = summarize(orders, as_of=options.as_of, customers=customers)
    as_of = result.as_of
    facts = shop_facts(orders, as_of)
    _check_amounts(orders, facts)
    table, calibration = _summaries(orders, customers, result, facts, options, releases, history)
    if history is not None:  # read by nothing after the summary
        history.release()
    stats = _rows(
        table.aggregate(
            n=table.count(),
            loyal=table.count(
                where=table.historic_number_of_orders >= MIN_ORDERS_FOR_A_LOYAL_CUSTOMER
            ),
            repeat=table.count(where=table.frequency > 0),
            several=table.count(where=table.historic_number_of_orders >= 2),
            repeat_orders=table.frequency.sum(),
            orders=table.historic_number_of_orders.sum(),
            days_observed=table["T"].sum(),
            # the customers table's historic total, from the summary it copies them from
            historic=exact_sum(table.historic_clv),
            **_holding_attributes(table),
        )
    )[0]
    lap("summary")
    n_customers = int(stats["n"])
    if n_customers == 0:
        error = NoCustomersError if facts["n_guest_orders"] else SummaryError
        raise error(nothing_to_analyse(orders, as_of, facts))

    history_days = (as_of - to_date(facts["first_order_date"])).days
    reasons = []
    if n_customers < MIN_CUSTOMERS:
        customers = "customer" if n_customers == 1 else "customers"
        reasons.append(f"only {n_customers:,} {customers} with orders (fewer than {MIN_CUSTOMERS})")
    if history_days < MIN_HISTORY_DAYS:
        reasons.append(f"only {days_text(history_days)} of history (under {MIN_HISTORY_DAYS})")
    if not stats["loyal"]:
        reasons.append(f"no customer has {MIN_ORDERS_FOR_A_LOYAL_CUSTOMER} or more orders")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        progress("backtesting models")
        attributes = _covariate_attributes(orders, order_lines, as_of, options)
        if attributes is not None:
            table = with_attributes(table, attributes)
        # the plain model input is read while the candidates are fitted (covariates, when asked
        # for, may add a pattern to it: predict reads that one itself)
        histories = None if options.covariates else history_read(table)
        backtest_result, chosen = choose_model(
            orders, customers, as_of, facts, options, releases,
            known_empty=result.empty_attributes, attributes=attributes, calibration=calibration,
            meanwhile=[] if histories is None else [histories.frame],
        )  # fmt: skip
        lap("backtest")
        # what the backtest's fits said (a limit of a model fitted on the calibration period)
        # is the backtest's note: the analysis' notes are about the model that predicts
        if backtest_result is not None:
            backtest_result.setdefault("notes", []).extend(
                f"in the backtest: {message}" for message in _runtime_messages(caught)
            )
            del caught[:]

        progress("fitting models and predicting")
        withhold = unidentified_dropout(
            int(stats["repeat"]), float(stats["repeat_orders"] or 0), float(stats["days_observed"] or 0),
            history_days, same_day_customers=int(stats["several"]) - int(stats["repeat"]),
        )  # fmt: skip
        model_name, design, covariate_notes = _covariate_choice(table, chosen, options)
        seasonal = whole_history_seasons(orders, table, chosen, as_of, facts, options,
                                         backtest_result)  # fmt: skip
        predicted = predict(
            table, model_name, as_of, options, has_repeat=bool(stats["repeat"]),
            releases=releases, withhold=withhold, design=design, seasonal=seasonal,
            histories_read=histories,
        )  # fmt: skip
        histories = None  # its rows are not carried through the segments, the analysis' peak
        model_info, note = predicted.model, predicted.note
        if predicted.terms is not None:
            reasons.extend(_prediction_doubts(backtest_result, chosen, history_days, options))
        lap("predict")
    # a fit whose predictions are withheld has no intervals to miss: its missing standard
    # errors are no news to the merchant
    model_notes = _runtime_messages(
        caught, without=() if predicted.terms is not None else (NoStandardErrorsWarning,)
    )
    if (model_info.get("interval") or {}).get("method") == "bootstrap":
        model_notes = _resampled_interval_notes(caught, model_notes)

    progress("segmenting customers")
    segmented = add_segments(
        predicted.customers, as_of, n_customers, has_predictions="params" in model_info,
        releases=releases, summary=table,
    )  # fmt: skip
    # an orders table without line items (a generic CSV): nothing to look up, and the first
    # orders' search over every order cost 4 s of a 1M-customer analysis for no rows
    if "first_product" in segmented.columns:  # joined already, for --covariates
        pass
    elif order_lines is not None and _has_rows(order_lines):
        products = first_products(orders, order_lines, as_of, options.not_products or ())
        segmented = segmented.left_join(products, "customer_id").select(
            segmented, first_product=products.first_product
        )
    else:
        segmented = segmented.mutate(first_product=ibis.null().cast("string"))
    # stored: the customers table's columns and what the shop's totals read from it, when they
    # do (without a spend model; the per-history interval terms and duplicate attributes are
    # read by no one once joined)
    totals_terms = []
    if predicted.terms is not None and predicted.terms.groups is None:
        totals_terms = [c for c in (*TOTALS_COLUMNS, PATTERN) if c in segmented.columns]
    stored = segmented.select(*CUSTOMER_COLUMNS, *totals_terms)
    # the caller's store holds the customers table's columns only
    full, kept = _stored(
        stored, releases, keep, None if totals_terms else store, table, n_customers
    )
    out = full.select(*CUSTOMER_COLUMNS).order_by("customer_id")
    # from the stored rows as they lie: the sums are exact, and a sort by customer id first
    # (what ``out`` asks for) spilled to disk at 10M customers
    group_totals = _group_totals(full, ("rfm_group", "predicted_spend_tier"))
    active_but_lost = group_totals.pop(ACTIVE_BUT_LOST)
    largest = _largest_prediction(full) if predicted.terms is not None else None
    if predicted.terms is not None:
        totals = predicted.totals(full, historic=float(stats["historic"]))
    else:  # no predictions: each customer's total_clv is their historic CLV times the margin
        historic = float(stats["historic"])
        totals = {"historic_clv": historic, "total_clv": historic * options.margin}
    lap("segments")

    summary = {
        "as_of": as_of.isoformat(),
        "currency": facts["currency"],
        "n_customers": n_customers,
        "n_orders": int(facts["n_orders"]),
        "n_guest_orders": int(facts["n_guest_orders"]),
        "guest_revenue": round(facts["guest_revenue"], 2),
        "revenue": round(facts["revenue"], 2),
        "first_order_date": iso(facts["first_order_date"]),
        "last_order_date": iso(facts["last_order_date"]),
        "history_days": int(history_days),
        "horizon_months": options.horizon,
        "annual_discount_rate": options.annual_discount_rate,
        "margin": options.margin,
        "model": model_info,
        "backtest": backtest_result,
        "totals": totals,
        "rfm_groups": group_totals["rfm_group"],
        "spend_tiers": group_totals["predicted_spend_tier"],
        ACTIVE_BUT_LOST: active_but_lost,
        "customers_with_attribute": {name: int(stats[name]) for name in ATTRIBUTES},
        "attributes_that_vary": _varying_attributes(table, stats),
        "low_confidence": bool(reasons) or note is not None,
        "low_confidence_reasons": reasons + ([note] if note else []),
        "notes": list(result.notes)
        + model_notes
        + seasons_left_out(backtest_result, chosen)
        + covariate_notes
        + ([] if seasonal is None else seasonal.unidentified)
        + ([NEGATIVE_RATE_NOTE] if options.annual_discount_rate < 0 else [])
        + predicted.notes
        + one_customer_note(largest, totals.get("predicted_clv"), n_customers)
        + _one_time_buyers_alive_note(model_info, n_customers - int(stats["repeat"]))
        + shared_days_note(
            int(stats["orders"] or 0), int(stats["repeat_orders"] or 0) + n_customers
        ),
    }
    return TableAnalysis(
        customers=out, summary=summary, timings=timings, releases=releases, kept=kept
    )


SHARED_DAYS_FROM = 0.05
"""The share of the customers' orders that are a second or later order of their day from which
the analysis says its predictions count purchase days (:func:`shared_days_note`)."""


def shared_days_note(orders: int, purchase_days: int) -> list[str]:
    """A note where many of the customers' ``orders`` share a day (``purchase_days`` is their
    count of days with an order): the models count purchase days, as BG/NBD and Gamma-Gamma
    define a purchase, so the predicted orders are purchase days and the predicted average order
    value a day's orders, which a shop of split orders (an order and its add-on, a shipment per
    warehouse) sees below and above its historic orders and average order value."""
    shared = orders - purchase_days
    if orders <= 0 or shared < max(1, SHARED_DAYS_FROM * orders):
        return []
    return [
        f"{shared:,} of the customers' {orders:,} orders are a second or later order of the "
        "customer's day: the models count purchase days (one a day), so predicted orders count "
        "purchase days and the predicted average order value is a purchase day's orders "
        f"({orders / purchase_days:.2f} orders a purchase day so far)"
    ]


def _holding_attributes(summary: ir.Table) -> dict[str, ir.Value]:
    """Per covariate of :data:`~valuecast.analysis.covariate_names.ATTRIBUTES`, the count of the
    ``summary``'s customers holding a value: a text that is not blank, a stated consent (the
    covariates read the others as ``(none)`` and false)."""
    counts = {}
    for name in ATTRIBUTES:
        column = summary[COVARIATES[name]]
        # never NULL: a count of a NULL condition is NULL on some engines (Spark)
        held = (
            column.notnull() & (column.strip() != "")
            if column.type().is_string()
            else column.notnull()
        )
        counts[name] = summary.count(where=held)
    return counts


def _varying_attributes(summary: ir.Table, held: dict[str, Any]) -> list[str]:
    """The attributes of :data:`~valuecast.analysis.covariate_names.ATTRIBUTES` some customer
    holds (``held``: :func:`_holding_attributes`' counts) that ``--covariates`` would fit: two
    levels or more by the covariates' own rules (:func:`~valuecast.analysis.covariates.
    design_for`, one grouping of the customers), where one value for every customer, or no
    value held by enough customers, would leave the attribute out."""
    named = [name for name in ATTRIBUTES if held[name]]
    if not named:
        return []
    design = design_for(summary, named)
    return [name for name in named if any(term.column == name for term in design.terms)]


def _one_time_buyers_alive_note(model_info: dict, one_time_buyers: int) -> list[str]:
    """BG/NBD's customers can leave only right after a repeat purchase, so it holds every
    customer who has not bought again alive (P(alive) 1) however long ago they bought: a note
    says so, and that they have no expected next order, where the chosen model is one and such
    customers exist."""
    name = str(model_info.get("name") or "")
    if not holds_one_time_buyers_alive(name) or "params" not in model_info or not one_time_buyers:
        return []
    return [
        f"BG/NBD holds the {one_time_buyers:,} "
        + ("customer who has" if one_time_buyers == 1 else "customers who have")
        + " not ordered again alive "
        "(P(alive) 100%, churn 0%) however long ago they bought: read P(alive) and churn for "
        "repeat customers only, and no expected next order is given for "
        + ("that customer" if one_time_buyers == 1 else "those customers")
        + " (MBG/NBD and Pareto/NBD let such customers leave)"
    ]


_SORTED_IN_HALVES_FROM = 200_000
"""Customers from which the stored customers table is sorted in two halves (:func:`_stored`):
below, one sort's memory is small (~40 MB at 200,000) and a second part would cost a query for
the middle id and a second compile of the whole expression (~0.1-0.2 s, the same at any size)."""


def _stored(
    stored: ir.Table, releases, keep: bool, store: Store | None, summary: ir.Table,
    n_customers: int,
):  # fmt: skip
    """The customers table (and the totals' helper columns) computed once, and what the caller
    keeps of it (its table and drop; None unless ``keep``): stored once, in the order its
    readers scan it, in the caller's ``store`` when it has one.

    From :data:`_SORTED_IN_HALVES_FROM` customers (``n_customers``, the ``summary``'s rows) the
    caller's store gets the customers below the ``summary``'s middle customer id, then the
    others, each sorted by id: the same order, made by two sorts of half the rows, whose memory
    is the peak of a 1M-customer analysis (~0.19 GB for one sort of all of them)."""
    if store is not None:
        middle = None
        if n_customers >= _SORTED_IN_HALVES_FROM:
            middle = summary.customer_id.quantile(0.5).execute()
        if middle is None:  # no customers, or few
            parts = [stored]
        else:
            below = stored.customer_id < middle
            parts = [stored.filter(below), stored.filter(~below)]
        full = store([part.order_by("customer_id") for part in parts])
        return full, (full, _nothing)
    if not keep:
        return materialize(stored, releases), None
    full = materialize(stored.order_by("customer_id"), releases)
    return full, (full.select(*CUSTOMER_COLUMNS), releases[-1])


def _nothing() -> None:
    return None


SUMMARY_BYTES_PER_ORDER = 256
"""Memory the summary's pass over the orders takes per order, on DuckDB: its two groupings (by
customer and day, then by customer) and the stored rows.  31.2M orders (10M customers) needed
more than 4 GB in one pass (19.9 s under 3 GB, 14.1 s under 4 GB, 10.5 s under 5.5 GB or 8 GB,
where nothing spilled); in 3 parts of customers under 3 GB, 9.1 s."""

_MOST_SUMMARY_PARTS = 8
"""Each part reads every order again (~1.2 s of CPU per 31M orders): past this many, spilling is
cheaper than reading."""


def _summaries(orders, customers, result, facts, options, releases, history=None):
    """The whole history's summary and the backtest's calibration summary (None when the history
    is too short for a backtest), stored in the engine from one pass over the orders.

    On DuckDB, orders that need more than its memory limit (:data:`SUMMARY_BYTES_PER_ORDER`)
    are summarised in parts of customers, one query a part: a query past the limit spills its
    groupings to disk, at twice the time.  A stored order history (``history``) of the same
    as-of date gives the purchase days of a summary made in one part."""
    n_orders = int(facts["n_orders"])
    calibration_end = backtest_calibration_end(facts, result.as_of, options)
    narrow = WHOLE_NUMBER_COLUMNS if n_orders < 2**31 else ()
    parts = _summary_parts(orders, n_orders)
    known = {"customers": customers, "known_empty": result.empty_attributes}
    if history is not None and parts == 1 and history.as_of == result.as_of:
        known["history"] = history.table
    if calibration_end is None:  # result.table's expression, of each part's orders
        tables = [
            customer_summary(part, as_of=result.as_of, **known)
            for part in customer_parts(orders, parts)
        ]
        return materialize_parts(tables, releases, narrow=narrow), None
    tables = [
        customer_summary_with_calibration(
            part, as_of=result.as_of, calibration_end=calibration_end, **known
        )
        for part in customer_parts(orders, parts)
    ]
    stored = materialize_parts(tables, releases, narrow=narrow)
    return whole_summary(stored), calibration_summary(stored)


def summary_in_one_part(orders: ir.Table) -> bool:
    """Whether the analysis' summary of ``orders`` is made in one part (:func:`_summaries`), so
    that it reads the purchase days of a stored order history: its orders, guests' and later
    ones included, within the engine's memory at :data:`SUMMARY_BYTES_PER_ORDER`."""
    return _summary_parts(orders, int(orders.count().to_pyarrow().as_py())) == 1


def _summary_parts(orders: ir.Table, n_orders: int) -> int:
    """The parts of customers the summary of ``n_orders`` orders is made in, each within the
    engine's memory at :data:`SUMMARY_BYTES_PER_ORDER`."""
    return parts_within(
        memory_limit_bytes(orders), n_orders, SUMMARY_BYTES_PER_ORDER, _MOST_SUMMARY_PARTS
    )


def _covariate_attributes(orders, order_lines, as_of, options) -> ir.Table | None:
    """The first product of every customer when ``--covariates`` names it (else None)."""
    if "first_product" not in options.covariates:
        return None
    if order_lines is None:
        return (
            orders.select("customer_id").limit(0).mutate(first_product=ibis.null().cast("string"))
        )
    return first_products(orders, order_lines, as_of, options.not_products or ())


def whole_history_seasons(orders, table, chosen: str, as_of, facts, options, backtested):
    """The whole history's time-varying covariates when the backtest chose a seasonal model,
    starting its fit at the backtest's estimates (``backtested``: summary.json's backtest)."""
    if not split_seasonal(chosen)[1]:
        return None
    made = seasonal_inputs(
        orders, table, to_date(facts["first_order_date"]), as_of,
        options.horizon * DAYS_PER_MONTH, calendar=getattr(options, "calendar", None),
        seasons=getattr(options, "seasons", True),
    )  # fmt: skip
    if isinstance(made, str):
        return None
    start = ((backtested.get("models") or {}).get(chosen) or {}).get("params")
    if start is not None:
        # a covariate the calibration's shorter history left out (a month it saw only once,
        # beside a --calendar) starts at no effect, a multiplier of 1
        start = {**dict.fromkeys(made.periods.names, 1.0), **start}
    made.start = start
    return made


def _covariate_choice(table: ir.Table, chosen: str, options):
    """The model name and the covariate design (None: without) the backtest chose, and the
    notes naming the covariates given that hold one value for every customer (left out).

    Those notes are given whether or not the backtest kept covariates: a merchant who asked for
    ``--covariates acquisition_channel`` in a shop whose orders name no channel learns why the
    model uses none, rather than being told to give the covariates again."""
    name = chosen.removesuffix(WITH_COVARIATES)
    if not options.covariates:
        return name, None, []
    design = design_for(table, options.covariates)
    if name == chosen:
        return name, None, list(design.notes)
    return name, design if design.terms else None, list(design.notes)


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


def _group_totals(customers: ir.Table, columns: tuple[str, ...]) -> dict[str, Any]:
    """Per column, the customers and their historic and predicted CLV per group of its values,
    and :data:`ACTIVE_BUT_LOST`'s count (with ``rfm_group`` among ``columns``; 0 where the
    table has no ``probability_alive`` and ``frequency``).

    One grouped query by all the columns at once, whose exact sums (:func:`exact_sum_terms`) add
    up exactly here, so each total is what :func:`exact_sum` in one query per column gave.
    """
    terms: dict[str, ir.Value] = {}
    for name in _GROUP_SUMS:
        terms[name], terms[f"{name}_special"] = exact_sum_terms(customers[name])
        terms[f"{name}_known"] = customers[name].count()
    if {"probability_alive", "frequency", "recency", "T"} <= set(customers.columns):
        alive = customers.probability_alive
        # DuckDB ranks NaN above every number; BG/NBD holds a customer who never bought again
        # active, which says nothing of them
        likely = alive.notnull() & ~alive.isnan() & (alive >= LIKELY_ACTIVE)
        # between two orders by their own rhythm: a model without dropout (its limit) holds
        # every customer active, and one reading no dropout in a shop of regular buyers holds
        # those who stopped active too, so P(alive) alone would count them
        silent = customers["T"] - customers.recency  # days since the last order
        due = silent * customers.frequency <= WITHIN_USUAL_GAP * customers.recency
        terms["likely_active"] = customers.count(where=likely & (customers.frequency > 0) & due)
    cells = _rows(customers.group_by(*columns).aggregate(count=customers.count(), **terms))
    totals: dict[str, Any] = {column: _rolled_up(cells, column) for column in columns}
    lapsed = [cell for cell in cells if cell.get("rfm_group") in LAPSED_GROUPS]
    totals[ACTIVE_BUT_LOST] = int(sum(cell.get("likely_active") or 0 for cell in lapsed))
    return totals


def _largest_prediction(customers: ir.Table) -> tuple[str, float] | None:
    """The customer with the most predicted CLV, and it (None without predictions)."""
    top = customers.predicted_clv
    valued = top.notnull() & ~top.isnan()  # DuckDB ranks NaN above every number
    (row,) = _rows(
        customers.aggregate(
            value=top.max(where=valued), customer=customers.customer_id.argmax(top, where=valued)
        )
    )
    if row["value"] is None or not math.isfinite(row["value"]):
        return None
    return str(row["customer"]), float(row["value"])


ONE_CUSTOMER_SHARE = 0.25
"""The share of the shop's predicted CLV one customer may hold before a note says the total
rests on them."""


def one_customer_note(largest: tuple[str, float] | None, total: float | None, n: int) -> list[str]:
    """A note when one customer holds :data:`ONE_CUSTOMER_SHARE` or more of the predicted CLV
    (a wholesale buyer, a few huge orders): the interval of the total comes from the models'
    parameters and does not include whether that one customer orders again."""
    if largest is None or not total or total <= 0 or n < 2:
        return []
    customer, value = largest
    share = value / total
    if share < ONE_CUSTOMER_SHARE:
        return []
    return [
        f"one customer ({customer}) holds {share:.0%} of the predicted CLV: the shop's total "
        "rests on whether they order again, which its interval (from the models' parameters) "
        "does not include"
    ]


_GROUP_SUMS = ("historic_clv", "predicted_clv")
_ROLLED_UP = (
    "count", *_GROUP_SUMS, *(f"{name}_{part}" for name in _GROUP_SUMS for part in ("special", "known"))
)  # fmt: skip


def _rolled_up(cells: list[dict[str, Any]], column: str) -> dict[str, dict[str, float]]:
    totals: dict[Any, dict[str, Any]] = {}
    for cell in cells:
        group = totals.setdefault(cell[column], dict.fromkeys(_ROLLED_UP, 0))
        for name in _ROLLED_UP:
            group[name] += cell[name] or 0
    ordered = sorted(totals, key=lambda group: (group is None, group or ""))
    return {
        str(group): {
            "count": int(totals[group]["count"]),
            # None where no customer of the group has the value (predictions withheld), not 0
            **{
                name: round(float(totals[group][name]) + totals[group][f"{name}_special"], 2)
                if totals[group][f"{name}_known"]
                else None
                for name in _GROUP_SUMS
            },
        }
        for group in ordered
    }


def _resampled_interval_notes(caught: list, notes: list[str]) -> list[str]:
    """``notes`` with each fit's missing standard errors said as they bear on an interval made
    by the bootstrap: the fit's own note asks for a penalizer or more data to get the parameter
    draws an interval would be made of, which reads as if the interval shown were missing or
    wrong, where the refits of resampled customers it comes from need no standard errors."""
    singular = {str(w.message) for w in caught if issubclass(w.category, NoStandardErrorsWarning)}
    return [
        (
            f"{note.split(':', 1)[0]}: no standard errors for its parameters in summary.json "
            "(the information matrix is singular at the optimum: these data hardly tell its "
            "parameters apart); the interval does not use them: it comes from refitting the "
            "models to resampled customers"
        )
        if note in singular
        else note
        for note in notes
    ]


def _runtime_messages(caught: list, without: tuple[type[Warning], ...] = ()) -> list[str]:
    """The distinct messages of the ``RuntimeWarning``s recorded, in order, but those of the
    categories ``without``."""
    return list(
        dict.fromkeys(
            str(w.message)
            for w in caught
            if issubclass(w.category, RuntimeWarning) and not issubclass(w.category, without)
        )
    )
