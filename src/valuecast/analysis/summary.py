"""The per-customer purchase-history summary, as portable Ibis expressions.

Everything here builds Ibis expressions (no backend-specific SQL, except DuckDB's own ``arg_min``
and ``fsum`` for tables in DuckDB), so the same summary runs on the DuckDB workspace, on Parquet
files read through DuckDB, or on the SQL backends Ibis compiles arg-min aggregates and structs for
(PostgreSQL, Snowflake, BigQuery, Trino, Spark SQL / Databricks, ClickHouse; not MySQL, which
has neither: read MySQL tables into the workspace).

Conventions (the ones the BTYD models assume, Fader, Hardie & Lee 2005):

* Guests (``customer_id`` NULL) are left out; orders after the as-of date are ignored.
* A *purchase day* is a calendar ``order_date``: several orders on one day are one purchase
  (their revenue adds up).  ``frequency`` = purchase days - 1 (repeat purchases).
* Dates are compared in whole days: ``recency`` = last purchase day - first purchase day and
  ``T`` = end date - first purchase day, where the end date is the as-of date (by default the last
  order date in the data, guests' orders included), or the calibration end when one is given.
  On CDNOW this reproduces the published 39-week calibration summary (T to 1997-09-30).
* ``historic_clv`` is the sum of net revenue, ``average_order_value`` = historic_clv / orders,
  ``avg_repeat_order_value`` the mean net revenue per repeat purchase day (first day excluded;
  0 for customers without a repeat purchase, the convention of the Gamma-Gamma input tables);
  both averages are rounded to 9 decimals.
* ``channel`` and ``first_discount_code`` are those of the customer's first order (earliest
  ``ordered_at``, ties broken by ``order_id``), NULL when that order has none;
  ``accepts_marketing`` comes from the customers export when it says, else from the latest order
  up to the as-of date that states it.
* With a calibration end every column describes the calibration period (orders up to and
  including the calibration end), customers whose first order falls after it are left out, and
  ``holdout_orders`` (purchase days) and ``holdout_revenue`` count what each customer bought after
  the calibration end up to the as-of date.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from valuecast.dates import as_date
from valuecast.errors import ValuecastError

SUMMARY_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "first_order_date",
    "last_order_date",
    "historic_number_of_orders",
    "historic_clv",
    "average_order_value",
    "frequency",
    "recency",
    "T",
    "avg_repeat_order_value",
    "channel",
    "first_discount_code",
    "accepts_marketing",
)
HOLDOUT_COLUMNS: tuple[str, ...] = ("holdout_orders", "holdout_revenue")

WHOLE_NUMBER_COLUMNS: tuple[str, ...] = (
    "historic_number_of_orders", "frequency", "recency", "T", "cal_purchase_days",
    "cal_historic_number_of_orders", "cal_frequency", "cal_recency", "cal_T", "holdout_orders",
)  # fmt: skip
"""The summaries' whole numbers: days, or one customer's orders or purchase days (at most the
shop's orders), so each fits in 32 bits when the shop has fewer than 2**31 orders."""

# optional order columns and the type they get when an orders table lacks them
_OPTIONAL: dict[str, dt.DataType] = {
    "order_id": dt.string,
    "ordered_at": dt.timestamp,
    "channel": dt.string,
    "discount_code": dt.string,
    "accepts_marketing": dt.boolean,
}
_REQUIRED = ("customer_id", "order_date", "net_revenue")
# per-order attributes the summary carries to customers (skipped when no order has them)
_ATTRIBUTES = ("channel", "discount_code", "accepts_marketing")


class SummaryError(ValuecastError, ValueError):
    """A summary that cannot be computed as asked (bad dates, missing columns): one line."""


class NoOrdersError(SummaryError):
    """No counted order to work on (:func:`resolve_as_of`): a file of none, or of orders that
    were all excluded (:func:`every_order_excluded` says which)."""


class NoCustomersError(SummaryError):
    """Orders to work on, but none up to the as-of date names a customer: every one a guest
    order, with no customer id, e-mail or phone.  ``ingest_report``: the report of the ingest
    that read them, where the job that raises it knows it, for the merchant to read what was
    read and excluded."""

    def __init__(self, message: str, ingest_report: dict | None = None) -> None:
        super().__init__(message)
        self.ingest_report = ingest_report


def prepare_orders(
    orders: ir.Table, *, fill_revenue: bool = True, keep: Collection[str] = ()
) -> ir.Table:
    """The orders columns the summary reads, typed: ``order_date`` as a date, money as float64,
    and those of ``keep`` that ``orders`` has, as they are.

    Needs ``customer_id``, ``order_date`` (date or timestamp) and ``net_revenue``; the optional
    ``order_id``, ``ordered_at``, ``channel``, ``discount_code`` and ``accepts_marketing`` become NULL
    when missing, so a bare transaction log (customer, date, amount) can be summarised too.
    """
    missing = [name for name in _REQUIRED if name not in orders.columns]
    if missing:
        raise SummaryError(
            f"orders table has no {', '.join(missing)} column (it has {', '.join(orders.columns)})"
        )
    kind = orders.net_revenue.type()
    if not (kind.is_numeric() and not kind.is_boolean()):  # true/false read as 1/0 is no amount
        raise SummaryError(f"orders table's net_revenue column holds {kind}, not amounts")
    columns = {
        "customer_id": orders.customer_id.cast("string"),
        "order_date": orders.order_date.cast("date"),
        "net_revenue": orders.net_revenue.cast("float64"),
    }
    if fill_revenue:
        columns["net_revenue"] = columns["net_revenue"].fill_null(0.0)
    for name, dtype in _OPTIONAL.items():
        columns[name] = (
            orders[name].cast(dtype) if name in orders.columns else ibis.null().cast(dtype)
        )
    columns.update({name: orders[name] for name in keep if name in orders.columns})
    return orders.select(**columns)


def default_as_of(orders: ir.Table) -> date | None:
    """The last order date in ``orders`` (guests included): the default as-of date."""
    value = orders.order_date.cast("date").max().execute()
    if value is None or value != value:  # None or NaT
        return None
    return as_date(value, "as-of", error=SummaryError)


def first_order_date(orders: ir.Table) -> date | None:
    """The first order date in ``orders`` (guests included); None when no order has one."""
    value = orders.order_date.cast("date").min().execute()
    if value is None or value != value:  # None or NaT
        return None
    return as_date(value, "first order", error=SummaryError)


def before_first_order(orders: ir.Table, as_of: date) -> str | None:
    """``"the as-of date D is before the first order (F)"`` when it is; else None.  For steps
    that find no order up to ``as_of``: an empty result then says why."""
    return _before_first_order_text(as_of, first_order_date(orders))


def _before_first_order_text(as_of: date | None, first: date | None) -> str | None:
    """``"the as-of date D is before the first order (F)"`` when it is; else None."""
    if first is None or as_of is None or first <= as_of:
        return None
    return f"the as-of date {as_of} is before the first order ({first})"


def every_order_excluded(
    error: NoOrdersError, excluded: Mapping[str, int], empty_files: Sequence[str] = ()
) -> SummaryError:
    """``error`` (no counted order to work on) said as what the merchant sees: where the files
    held orders and every one was excluded, their count by reason; where the files read held
    no row after their header (``empty_files``: an export filtered down to nothing), their
    names; else ``error`` itself."""
    counts = {reason: int(n) for reason, n in excluded.items() if n and reason != "empty row"}
    if not counts and empty_files:
        step = str(error).rsplit("nothing to ", 1)[-1]
        names = ", ".join(empty_files)
        holds = "holds" if len(empty_files) == 1 else "hold"
        return SummaryError(
            f"nothing to {step}: {names} {holds} no row after the header (an export of no "
            "orders: check the filters it was exported with)"
        )
    if not counts:
        return error
    total = sum(counts.values())
    reasons = ", ".join(f"{n:,} {reason}" for reason, n in sorted(counts.items(), key=_most))
    every = "the 1 order read was" if total == 1 else f"all {total:,} orders read were"
    step = str(error).rsplit("nothing to ", 1)[-1]
    return SummaryError(f"nothing to {step}: {every} excluded ({reasons})")


def _most(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def resolve_as_of(
    orders: ir.Table, as_of: date | datetime | str | None = None, *, step: str = "summarise"
) -> date:
    """The as-of date :func:`summarize` summarises ``orders`` at: ``as_of``, or by default the
    last order date (guests included); :class:`SummaryError` when ``as_of`` is no date or no
    order has one (its message ends "nothing to {step}")."""
    as_of_date = as_date(as_of, "as-of", error=SummaryError)
    if as_of_date is None:
        as_of_date = default_as_of(orders)
        if as_of_date is None:
            raise NoOrdersError(f"no orders with an order date: nothing to {step}")
    return as_of_date


def customer_summary(
    orders: ir.Table,
    *,
    as_of: date | str,
    calibration_end: date | str | None = None,
    customers: ir.Table | None = None,
    known_empty: Collection[str] = (),
    history: ir.Table | None = None,
) -> ir.Table:
    """One row per non-guest customer with the columns in :data:`SUMMARY_COLUMNS` (an Ibis table).

    ``orders`` is a canonical orders table (or any table with customer_id, order_date and
    net_revenue); ``customers`` an optional customers table whose ``accepts_marketing`` takes
    precedence over the one on the customer's latest order.  With ``calibration_end`` the summary
    describes the calibration period and adds :data:`HOLDOUT_COLUMNS`.  Rows are sorted by
    customer_id.  The result is lazy: execute it, or write it with ``to_parquet``/``to_csv``.

    ``known_empty`` names optional columns (``channel``, ``discount_code``,
    ``accepts_marketing``) known to hold no value at all (:func:`summarize` counts them): their
    per-customer aggregates, the costly part of the summary, are skipped, with the same all-NULL
    result.  ``history``: as in :func:`customer_summary_with_calibration`.
    """
    as_of_date, cal_date = _checked_dates(as_of, calibration_end)
    end_date = cal_date if cal_date is not None else as_of_date
    days, flags = _purchase_days(orders, as_of_date, known_empty, history)
    per = days.group_by("customer_id").aggregate(
        **_period_aggregates(days, end_date, holdout=cal_date is not None),
        **_attribute_aggregates(days, flags),
    )
    per = per.filter(per.purchase_days > 0)  # customers whose first order is in the period
    out = per.mutate(**_period_columns(per, end_date), **_attribute_columns(per, flags))
    if cal_date is not None:
        out = out.mutate(**_holdout_columns(out))
    columns = SUMMARY_COLUMNS + (HOLDOUT_COLUMNS if cal_date is not None else ())
    return _with_consent(out, customers).select(*columns).order_by("customer_id")


CALIBRATION_PREFIX = "cal_"
"""The calibration columns of :func:`customer_summary_with_calibration` start with it."""
# the summary columns that differ between the whole history and the calibration period: all
# but the customer, the first order's date and attributes, and the consent
_SHARED_COLUMNS = ("customer_id", "first_order_date", "channel", "first_discount_code",
                   "accepts_marketing")  # fmt: skip
_PERIOD_COLUMNS = tuple(name for name in SUMMARY_COLUMNS if name not in _SHARED_COLUMNS)


def customer_summary_with_calibration(
    orders: ir.Table,
    *,
    as_of: date | str,
    calibration_end: date | str,
    customers: ir.Table | None = None,
    known_empty: Collection[str] = (),
    history: ir.Table | None = None,
) -> ir.Table:
    """The whole history's summary and the calibration summary from one pass over the orders.

    One row per customer of :func:`customer_summary` ``(as_of=as_of)`` with its columns, plus the
    columns that differ in ``customer_summary(as_of=as_of, calibration_end=calibration_end)``
    prefixed with :data:`CALIBRATION_PREFIX` (``cal_purchase_days`` 0 for a customer whose first
    order is after the calibration end) and :data:`HOLDOUT_COLUMNS`.  The first order's date,
    attributes and consent are the same in both.  :func:`whole_summary` and
    :func:`calibration_summary` give the two summaries from it, value for value the same as the
    two calls (the same expressions on the same purchase days), at the cost of one.

    Rows come in no particular order: sorting the customers by their text ids was a quarter of
    the summary's CPU at 10M orders, and the analysis reads this table by value (grouped,
    joined, counted) or sorts what it takes from it.

    ``history``: the :func:`~valuecast.analysis.growth.history.order_history` of these orders up
    to ``as_of``, where the caller keeps it stored: the purchase days are read from its rows
    (:func:`_days_of_history`) instead of grouping every order by customer and day, with the
    same result.  It is read when it carries the attributes that some order holds
    (:func:`history_columns`, of the attributes not ``known_empty``).
    """
    as_of_date, cal_date = _checked_dates(as_of, calibration_end)
    if cal_date is None:
        raise SummaryError("calibration end is required")
    days, flags = _purchase_days(orders, as_of_date, known_empty, history)
    # the first purchase day and the purchase days after the calibration end follow from the
    # whole history's aggregates: not aggregated again (each aggregate is ~5% of the pass)
    derived = ("first_day_revenue", "first_order_date", "holdout_days")
    calibration = {
        CALIBRATION_PREFIX + name: value
        for name, value in _period_aggregates(days, cal_date, holdout=True).items()
        if name not in derived
    }
    per = days.group_by("customer_id").aggregate(
        **_period_aggregates(days, as_of_date, holdout=False),
        **_attribute_aggregates(days, flags),
        **calibration,
    )
    out = per.mutate(**_period_columns(per, as_of_date), **_attribute_columns(per, flags))
    # the calibration aggregates by their plain names
    cal = {name.removeprefix(CALIBRATION_PREFIX): per[name] for name in calibration}
    cal["first_day_revenue"] = per.first_day_revenue
    in_calibration = per.first_order_date <= ibis.literal(cal_date, type="date")
    cal["first_order_date"] = ibis.ifelse(
        in_calibration, per.first_order_date, ibis.null().cast("date")
    )
    cal["holdout_days"] = per.purchase_days - cal["purchase_days"]
    cal_columns = _period_columns(cal, cal_date)
    out = out.mutate(
        cal_purchase_days=per[CALIBRATION_PREFIX + "purchase_days"],
        **{CALIBRATION_PREFIX + name: cal_columns[name] for name in _PERIOD_COLUMNS},
        **_holdout_columns(cal),
    )
    calibration_names = [CALIBRATION_PREFIX + n for n in ("purchase_days", *_PERIOD_COLUMNS)]
    columns = [*SUMMARY_COLUMNS, *calibration_names, *HOLDOUT_COLUMNS]
    return _with_consent(out, customers).select(*columns)


def whole_summary(table: ir.Table) -> ir.Table:
    """The whole history's summary (:data:`SUMMARY_COLUMNS`) of a
    :func:`customer_summary_with_calibration` table."""
    return table.select(*SUMMARY_COLUMNS)


def calibration_summary(table: ir.Table) -> ir.Table:
    """The calibration summary (:data:`SUMMARY_COLUMNS` and :data:`HOLDOUT_COLUMNS`) of a
    :func:`customer_summary_with_calibration` table: its customers with a calibration order."""
    held = table.filter(table[CALIBRATION_PREFIX + "purchase_days"] > 0)
    renamed = {
        name: held[CALIBRATION_PREFIX + name] if name in _PERIOD_COLUMNS else held[name]
        for name in SUMMARY_COLUMNS + HOLDOUT_COLUMNS
    }
    return held.select(**renamed)


@dataclass(frozen=True)
class _Flags:
    """Which per-customer attribute aggregates a summary computes, and whether a customers table
    states consent."""

    attrs: bool
    consent: bool


def _checked_dates(as_of, calibration_end) -> tuple[date, date | None]:
    as_of_date = as_date(as_of, "as-of", error=SummaryError)
    cal_date = as_date(calibration_end, "calibration end", error=SummaryError)
    if as_of_date is None:
        raise SummaryError("as-of date is required")
    if cal_date is not None and cal_date > as_of_date:
        raise SummaryError(f"calibration end {cal_date} is after the as-of date {as_of_date}")
    return as_of_date, cal_date


def _purchase_days(
    orders: ir.Table, as_of: date, known_empty: Collection[str], history: ir.Table | None = None
):
    """The purchase days up to ``as_of`` (same-day orders merged) and which attributes ride along.

    One pass over the orders into purchase days, one pass over the days into customers;
    first-order and latest-consent attributes ride along as arg-min / arg-max aggregates (no
    window functions: they are the slow part on millions of rows).  ``history``: the orders'
    stored order history up to ``as_of``, read instead of the orders when it carries the
    attributes that ride along (:func:`history_columns`, :func:`_days_of_history`).
    """
    present = set(orders.columns) - set(known_empty)
    flags = _Flags(
        attrs="channel" in present or "discount_code" in present,
        consent="accepts_marketing" in present,
    )
    if history is not None and set(history_columns(present)) <= set(history.columns):
        return _days_of_history(history, flags), flags
    o = prepare_orders(orders)
    as_of_lit = ibis.literal(as_of, type="date")
    known = o.filter(o.customer_id.notnull(), o.order_date.notnull(), o.order_date <= as_of_lit)
    return known.group_by(["customer_id", "order_date"]).aggregate(
        **_day_aggregates(known, flags)
    ), flags


def history_columns(present: Collection[str]) -> tuple[str, ...]:
    """The order columns an order history carries (:func:`~valuecast.analysis.growth.history.
    order_history`'s ``carried``) for the summary to read its purchase days from it, where the
    orders' attributes named in ``present`` hold values: those of :data:`_ATTRIBUTES`, and
    :data:`ORDER_RANK`, which tells the first and the latest order of a day
    (:func:`_day_aggregates`)."""
    carried = tuple(name for name in _ATTRIBUTES if name in present)
    return (*carried, ORDER_RANK) if carried else ()


ORDER_RANK = "order_rank"
"""An order history's rank of each order in its customer's history by :func:`order_key`
(:func:`~valuecast.analysis.growth.history.order_history`)."""


def order_key_parts(rows: ir.Table) -> tuple[ir.Value, ir.Value, ir.Value]:
    """What orders the orders of one day: their time (the day's start where it is missing),
    then their order id (NULL last) as :func:`order_id_key` compares them."""
    stamp = rows.ordered_at.fill_null(rows.order_date.cast("timestamp"))
    return (stamp, *order_id_key(rows.order_id))


def order_id_key(order_id: ir.StringValue) -> tuple[ir.Value, ir.Value]:
    """Order ids as a merchant counts them: the shorter first, then as text, so that order 9
    comes before order 10 and #999 before #1000 (as text, 10 sorts before 9); ids of one
    length (Magento's zero-padded numbers, UUIDs) in text order."""
    return order_id.length(), order_id


def order_key(rows: ir.Table) -> ir.Value:
    """:func:`order_key_parts` as one value to take an arg-min or arg-max by: a struct, compared
    field by field (a NULL field after every value), or the :data:`ORDER_RANK` of an order
    history's rows, which ranks them the same way."""
    if ORDER_RANK in rows.columns:
        return rows[ORDER_RANK]
    stamp, length, order_id = order_key_parts(rows)
    return ibis.struct({"at": stamp, "n": length, "id": order_id})


def filled_attributes(orders: ir.Table) -> tuple[str, ...]:
    """The attributes of :data:`_ATTRIBUTES` that some order of ``orders`` holds (one
    aggregate query): the columns a summary of them aggregates (the others are its
    ``known_empty``)."""
    named = [name for name in _ATTRIBUTES if name in orders.columns]
    if not named:
        return ()
    row = orders.aggregate(**{name: orders[name].count() for name in named}).to_pyarrow()
    return tuple(name for name in named if row[name][0].as_py())


def _day_aggregates(rows: ir.Table, flags: _Flags) -> dict[str, ir.Value]:
    """The aggregates of one purchase day's orders ``rows`` (prepared orders, or the rows of
    an order history, which may leave out an attribute no order holds): its revenue and
    orders, and the first order's attributes and the latest stated consent, ties of time
    broken by order id."""
    aggs: dict[str, ir.Value] = {
        "day_revenue": _revenue_sum(rows, rows.net_revenue),
        "day_orders": rows.count(),
    }
    if not (flags.attrs or flags.consent):
        return aggs
    key = order_key(rows)  # ties of time broken by order_id
    if flags.attrs:  # a struct is never NULL, so a first order without a channel gives NULL
        aggs["day_first"] = _order_attributes(rows).argmin(key)
    if flags.consent:
        stated = rows.accepts_marketing.notnull()
        aggs["day_consent"] = rows.accepts_marketing.argmax(key, where=stated)
    return aggs


def _order_attributes(rows: ir.Table) -> ir.StructValue:
    """Each order's channel and discount code, NULL where ``rows`` leave the column out."""

    def column(name: str) -> ir.StringValue:
        return rows[name] if name in rows.columns else ibis.null().cast("string")

    return ibis.struct({"channel": column("channel"), "code": column("discount_code")})


def _days_of_history(history: ir.Table, flags: _Flags) -> ir.Table:
    """``customer_id, order_date, day_revenue, day_orders`` and the attributes of ``flags``
    (:func:`_day_aggregates`): the purchase days of an order history (:func:`~valuecast.
    analysis.growth.history.order_history`), as :func:`_purchase_days` groups them from the
    orders.

    The history's window has already put each customer's orders in date order: a row that is
    the first and the last of its day (``day_head`` and ``day_tail``) is a day of one order,
    whose revenue is the order's (the sum of one term), and its attributes and consent too,
    and only the rows of days with several orders, a few per hundred, are grouped: most
    purchase days are one order's, so this skips most of a grouping of every order by customer
    and day, and most of the first-order and latest-consent aggregates, which sort each day's
    orders.
    """
    alone = history.day_head & history.day_tail
    one = history.filter(alone)
    day_of_one: dict[str, ir.Value] = {
        "day_revenue": one.net_revenue,
        "day_orders": ibis.literal(1, type="int64"),
    }
    if flags.attrs:
        day_of_one["day_first"] = _order_attributes(one)
    if flags.consent:
        day_of_one["day_consent"] = one.accepts_marketing
    single = one.select("customer_id", "order_date", **day_of_one)
    several = history.filter(~alone)
    merged = several.group_by(["customer_id", "order_date"]).aggregate(
        **_day_aggregates(several, flags)
    )
    return ibis.union(single, merged.select(*single.columns), distinct=False)


def _period_aggregates(days: ir.Table, end: date, *, holdout: bool) -> dict[str, ir.Value]:
    """Per customer: the purchase days up to ``end`` (and, with ``holdout``, after it)."""
    in_period = days.order_date <= ibis.literal(end, type="date")
    aggs: dict[str, ir.Value] = {
        "first_order_date": days.order_date.min(where=in_period),
        "last_order_date": days.order_date.max(where=in_period),
        "purchase_days": days.count(where=in_period),
        "historic_number_of_orders": days.day_orders.sum(where=in_period),
        "historic_clv": _revenue_sum(days, days.day_revenue, where=in_period),
        # a customer's first purchase day overall is the first one of the period
        "first_day_revenue": _first_day_revenue(days),
    }
    if holdout:
        aggs["holdout_days"] = days.count(where=~in_period)
        aggs["holdout_sum"] = _revenue_sum(days, days.day_revenue, where=~in_period)
    return aggs


@ibis.udf.agg.builtin(name="fsum")
def _duckdb_fsum(arg: dt.float64) -> dt.float64:
    """DuckDB's compensated sum (Kahan-Babuska-Neumaier): the correctly rounded sum of a few
    terms, whatever order they are added in."""


def _revenue_sum(
    table: ir.Table, value: ir.FloatingValue, where: ir.BooleanValue | None = None
) -> ir.FloatingValue:
    """The sum of ``value`` over each group (of the rows ``where`` holds).

    On DuckDB a compensated sum (``fsum``), at the cost of a plain one: DuckDB adds a group's
    rows in the order its threads reach them, so a plain sum of a customer's orders ends in bits
    that change from one run to the next (the Parquet file's historic CLV), where a compensated
    sum of a few terms is the correctly rounded one in any order.
    """
    if _on_duckdb(table):
        return _duckdb_fsum(value, where=where)
    return value.sum(where=where)


def _on_duckdb(table: ir.Table) -> bool:
    try:
        return table._find_backend().name == "duckdb"
    except Exception:  # no backend: memtables only
        return False


@ibis.udf.agg.builtin(name="arg_min")
def _duckdb_arg_min(arg: dt.float64, key: dt.date) -> dt.float64:
    """DuckDB's own ``arg_min``: ``arg`` at the row of the smallest ``key`` (NULL args skipped)."""


def _first_day_revenue(days: ir.Table) -> ir.FloatingValue:
    """Each customer's revenue on their first purchase day.

    On DuckDB its own ``arg_min`` on the date: Ibis writes an arg-min as ``first(x ORDER BY key)``,
    which DuckDB computes through a sort key built for every row (a fifth of a 1M-customer
    summary's CPU).  Both give the same value here: a customer's purchase days have distinct
    dates and a revenue that is never NULL (``arg_min`` skips NULL arguments, ``first`` keeps them).
    An expression of in-memory tables alone stays portable: any engine may run it.
    """
    if _on_duckdb(days):
        return _duckdb_arg_min(days.day_revenue, days.order_date)
    return days.day_revenue.argmin(days.order_date)


def _attribute_aggregates(days: ir.Table, flags: _Flags) -> dict[str, ir.Value]:
    aggs: dict[str, ir.Value] = {}
    if flags.attrs:
        aggs["first_attrs"] = days.day_first.argmin(days.order_date)
    if flags.consent:
        aggs["order_marketing"] = days.day_consent.argmax(
            days.order_date, where=days.day_consent.notnull()
        )
    return aggs


def _period_columns(per, end: date) -> dict[str, ir.Value]:
    """The summary's columns of one period from its aggregates (:func:`_period_aggregates`):
    ``per`` is the aggregated table, or a dict of its columns by those names."""
    end_lit = ibis.literal(end, type="date")
    first, last, clv = per["first_order_date"], per["last_order_date"], per["historic_clv"]
    frequency = (per["purchase_days"] - 1).cast("int64")
    repeat_revenue = clv - per["first_day_revenue"]
    return {
        "last_order_date": last,
        "historic_number_of_orders": per["historic_number_of_orders"],
        "historic_clv": clv,
        "frequency": frequency,
        "recency": last.delta(first, unit="day").cast("int64"),
        "T": end_lit.delta(first, unit="day").cast("int64"),
        # rounded to 1e-9: hides the float noise of the subtraction (total - first day)
        "average_order_value": (clv / per["historic_number_of_orders"]).round(9),
        "avg_repeat_order_value": ibis.ifelse(
            frequency > 0, (repeat_revenue / frequency).round(9), 0.0
        ),
    }


def _attribute_columns(per: ir.Table, flags: _Flags) -> dict[str, ir.Value]:
    return {
        "channel": per.first_attrs["channel"] if flags.attrs else ibis.null().cast("string"),
        "first_discount_code": (
            per.first_attrs["code"] if flags.attrs else ibis.null().cast("string")
        ),
        "order_marketing": (per.order_marketing if flags.consent else ibis.null().cast("boolean")),
    }


def _holdout_columns(per) -> dict[str, ir.Value]:
    return {
        "holdout_orders": per["holdout_days"].fill_null(0).cast("int64"),
        # rounded to 1e-9 as the order values are: a sum of doubles ends in bits that follow
        # the order the engine's threads add them in, and the backtest ranks these revenues
        # (unrounded, spearman_revenue moves by ~5e-9 from one run to the next)
        "holdout_revenue": per["holdout_sum"].fill_null(0.0).round(9),
    }


def _with_consent(out: ir.Table, customers: ir.Table | None) -> ir.Table:
    """``out`` with ``accepts_marketing``: the customers export's where it says, else the latest
    order's that states it."""
    has_customers = customers is not None and "accepts_marketing" in customers.columns
    if not has_customers:
        return out.mutate(accepts_marketing=out.order_marketing)
    attrs = customers.filter(customers.customer_id.notnull()).select(
        customer_id=customers.customer_id.cast("string"),
        customer_marketing=customers.accepts_marketing.cast("boolean"),
    )
    attrs = attrs.group_by("customer_id").aggregate(
        customer_marketing=attrs.customer_marketing.max()
    )
    out = out.left_join(attrs, "customer_id")
    return out.mutate(accepts_marketing=ibis.coalesce(out.customer_marketing, out.order_marketing))


def compressed_summary(summary: ir.Table) -> ir.Table:
    """The model input: one row per distinct (frequency, recency, T) with the ``count`` of customers."""
    return (
        summary.group_by(["frequency", "recency", "T"])
        .aggregate(count=summary.count())
        .order_by(["frequency", "recency", "T"])
    )


@dataclass
class CustomerSummary:
    """A summary ready to run: the lazy ``table``, the dates it used and notes about left-out rows."""

    table: ir.Table
    as_of: date | None
    calibration_end: date | None
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    # the optional attributes no order fills: a summary of the same orders may skip them
    empty_attributes: tuple[str, ...] = ()
    first_order: date | None = None  # the first order's date, guests' included

    def before_first_order(self) -> str | None:
        """``"the as-of date D is before the first order (F)"`` when it is (the summary has no
        customer); else None."""
        return _before_first_order_text(self.as_of, self.first_order)

    def compressed(self) -> ir.Table:
        return compressed_summary(self.table)


QUIET_DAYS_NOTED = 7
"""Days from the last order to the as-of date from which the summary says how many there are."""


def quiet_days_note(last_order: date | datetime | None, as_of: date) -> list[str]:
    """A note when the as-of date is more than :data:`QUIET_DAYS_NOTED` days after the last
    order: every customer's T runs to the as-of date, so those days count as days in which no
    customer bought, which makes customers look lapsed where the export merely ends."""
    last_order = as_date(last_order, "last order", error=SummaryError)
    if last_order is None:
        return []
    quiet = (as_of - last_order).days
    if quiet <= QUIET_DAYS_NOTED:
        return []
    return [
        f"the last order is on {last_order}, {quiet:,} days before the as-of date {as_of}: "
        "those days count as days without a purchase by any customer (if the export ends on "
        f"{last_order}, analyse as of that day)"
    ]


STRAY_ORDERS = 3
"""The most orders at the end of a shop's history that :func:`stray_orders_note` reads as set
apart from the rest."""

STRAY_GAP_DAYS = 30
"""The least gap, in days, between such orders and every other order for the note."""

STRAY_GAP_SPACINGS = 10
"""...and the least gap in the shop's mean spacing between orders (its days over its orders):
a shop that sells every few weeks has such gaps in its ordinary run."""


def stray_orders_note(orders: ir.Table, first: date, last: date, n_orders: int) -> str | None:
    """A note where the last few orders (at most :data:`STRAY_ORDERS`) come long after every
    other order, ``last`` being the latest and the default as-of date: a year typed wrong
    (2026 for 2025) or a test order moves every customer's T to it, so the whole shop looks
    lapsed and its predictions collapse.  Long means at least :data:`STRAY_GAP_DAYS` days and
    :data:`STRAY_GAP_SPACINGS` times the shop's mean spacing between orders, from ``first`` to
    ``last`` over ``n_orders``; None otherwise."""
    if n_orders <= STRAY_GAP_SPACINGS * STRAY_ORDERS:
        return None
    least = max(STRAY_GAP_DAYS, STRAY_GAP_SPACINGS * (last - first).days / n_orders)
    dated = orders.filter(orders.order_date.notnull())
    latest = dated.select(day=dated.order_date.cast("date")).order_by(ibis.desc("day"))
    days = [row["day"] for row in latest.limit(STRAY_ORDERS + 1).to_pyarrow().to_pylist()]
    for count in range(1, min(STRAY_ORDERS, len(days) - 1) + 1):
        gap = (days[count - 1] - days[count]).days
        if gap >= least:
            stray = sorted(set(days[:count]))
            dates = ", ".join(str(day) for day in stray)
            which = "1 order (on" if count == 1 else f"{count} orders (on"
            comes = "comes" if count == 1 else "come"
            return (
                f"{which} {dates}) {comes} {gap:,} days after every other order (the last on "
                f"{days[count]}), and the as-of date {last} follows: every customer's history "
                f"runs to it, so the shop looks lapsed; if a date is mistyped, correct it, or "
                f"analyse as of {days[count]} (--as-of)"
            )
    return None


def orders_text(n: int, kind: str = "") -> str:
    """``n`` orders, "1 order" for one (``kind``: "guest " for guest orders)."""
    return f"{n:,} {kind}{'order' if n == 1 else 'orders'}"


def summarize(
    orders: ir.Table,
    *,
    as_of: date | str | None = None,
    calibration_end: date | str | None = None,
    customers: ir.Table | None = None,
) -> CustomerSummary:
    """:func:`customer_summary` with the default as-of date and the counts of what it leaves out.

    Runs two small aggregate queries (the default as-of date, the counts); the summary itself
    stays lazy in ``CustomerSummary.table``.
    """
    as_of_date = resolve_as_of(orders, as_of)
    cal_date = as_date(calibration_end, "calibration end", error=SummaryError)
    unfilled = prepare_orders(orders, fill_revenue=False, keep=("currency",))
    # an engine's own table may leave an amount empty (an ingest never does): counted as 0
    o = unfilled.mutate(
        _no_revenue=unfilled.net_revenue.isnull(), net_revenue=unfilled.net_revenue.fill_null(0.0)
    )
    as_of_lit = ibis.literal(as_of_date, type="date")
    guest = o.customer_id.isnull() & (o.order_date <= as_of_lit)
    # the guest orders' currency where they name one alone (an engine's table may have none)
    currency = (
        {"_currency_min": o.currency.min(where=guest), "_currency_max": o.currency.max(where=guest)}
        if "currency" in o.columns
        else {}
    )
    counts_expr = o.aggregate(
        orders=o.count(),
        after_as_of=o.count(where=o.order_date > as_of_lit),
        no_date=o.count(where=o.order_date.isnull()),
        guest=o.count(where=guest),
        no_revenue=o.count(where=o._no_revenue),
        guest_revenue=o.net_revenue.sum(where=guest),
        _last=o.order_date.max(where=o.order_date <= as_of_lit),
        _first=o.order_date.min(),
        **currency,
        **{f"_filled_{name}": o[name].count() for name in _ATTRIBUTES},
    )
    row = counts_expr.to_pyarrow().to_pylist()[0]
    last, first = row.pop("_last"), row.pop("_first")
    lowest, highest = row.pop("_currency_min", None), row.pop("_currency_max", None)
    guest_currency = lowest if lowest == highest else None
    empty = [name for name in _ATTRIBUTES if not row.pop(f"_filled_{name}")]
    counts = {key: (int(value) if key != "guest_revenue" else value) for key, value in row.items()}
    table = customer_summary(
        orders, as_of=as_of_date, calibration_end=cal_date, customers=customers, known_empty=empty
    )
    notes = quiet_days_note(last, as_of_date)
    if as_of is None and first is not None:  # the default as-of date: the last order's
        first_day = as_date(first, "first order", error=SummaryError)
        stray = stray_orders_note(orders, first_day, as_of_date, counts["orders"])
        notes += [stray] if stray else []
    if counts["after_as_of"]:
        after = orders_text(counts["after_as_of"])
        notes.append(f"{after} after the as-of date {as_of_date} ignored")
    if counts["guest"]:
        revenue = f"{counts['guest_revenue'] or 0.0:,.2f}"
        if guest_currency:
            revenue += f" {guest_currency}"
        notes.append(f"{orders_text(counts['guest'], 'guest ')} ({revenue} revenue) left out")
    if counts["no_date"]:
        notes.append(f"{orders_text(counts['no_date'])} without an order date ignored")
    if counts["no_revenue"]:
        notes.append(f"{orders_text(counts['no_revenue'])} without a net revenue counted at 0")

    if cal_date is not None:
        late = (
            o.filter(o.customer_id.notnull(), o.order_date <= as_of_lit)
            .group_by("customer_id")
            .aggregate(first=ibis._.order_date.min())
        )
        row = (
            late.aggregate(
                customers=late.count(),
                after=late.count(where=late.first > ibis.literal(cal_date, type="date")),
                first=late.first.min(),
            )
            .to_pyarrow()
            .to_pylist()[0]
        )
        n_late = int(row["after"])
        if row["customers"] and n_late == row["customers"]:
            raise SummaryError(
                f"calibration end {cal_date} is before the first order ({row['first']}): no "
                "customer has a history to calibrate on; choose a later --calibration-end"
            )
        counts["first_order_after_calibration"] = n_late
        if n_late:
            notes.append(
                f"{n_late:,} {'customer' if n_late == 1 else 'customers'} whose first order "
                f"is after the calibration end {cal_date} left out"
            )
    counts["guest_revenue"] = round(float(counts["guest_revenue"] or 0.0), 2)
    return CustomerSummary(
        table=table,
        as_of=as_of_date,
        calibration_end=cal_date,
        notes=notes,
        counts=counts,
        empty_attributes=tuple(empty),
        first_order=as_date(first, "first order", error=SummaryError),
    )
