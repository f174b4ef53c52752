"""Seasons and user calendars as time-varying purchase covariates of the transaction models.

The built-in ``season`` covariate is eleven calendar-month dummies against January: a customer's
purchase rate in month m is her base rate times ``exp(gamma_m)`` (January's multiplier is 1).
Month effects rather than a smooth curve because retail peaks are sharp and short (Black Friday
to Christmas: a two-harmonic curve spreads a November-December peak over October and January);
eleven coefficients cost nothing in the fit, which runs on the compressed histories plus the
shop's repeat purchases counted per calendar month.

Seasons are estimated from the shop's own history once it covers at least
:data:`MIN_YEARS_PER_MONTH` complete copies of every calendar month (so each month effect is seen
in two different years, and a one-off event is not taken for a season); otherwise no season is
tried and the analysis says why.  A user calendar (``--calendar``, :mod:`valuecast.io.calendar`)
adds its columns per week or month; before its first period its values are 0, and a calendar that
ends before the horizon does repeats its last year (52 weeks or 12 months), which the notes say.

Positions on the calendar are days from the end of observation (the as-of date or the
calibration end), the convention of :mod:`valuecast.models._time_varying`: a purchase on day
``d`` is at ``(d - end).days``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from valuecast.analysis.summary import prepare_orders
from valuecast.io.calendar import Calendar
from valuecast.models._time_varying import CovariatePeriods

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
SEASON_NAMES: tuple[str, ...] = tuple(f"season_{month}" for month in MONTHS[1:])
"""The season covariates: one dummy per month from February, January the reference."""

MIN_YEARS_PER_MONTH = 2
"""Complete copies of every calendar month the history needs before seasons are estimated."""

HISTORY = ["frequency", "recency", "T"]


def _month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def complete_months(first: date, end: date) -> np.ndarray:
    """How many complete copies of each calendar month (index 0 = January) lie in [first, end]."""
    counts = np.zeros(12, dtype=int)
    start = first if first.day == 1 else _next_month(first)
    while _next_month(start) - timedelta(days=1) <= end:
        counts[start.month - 1] += 1
        start = _next_month(start)
    return counts


def why_no_seasons(first: date, end: date) -> str | None:
    """``None`` when the history from ``first`` to ``end`` allows seasons, else why not."""
    counts = complete_months(first, end)
    short = [MONTHS[m].capitalize() for m in range(12) if counts[m] < MIN_YEARS_PER_MONTH]
    if not short:
        return None
    return (
        f"no seasons: the history from {first} to {end} holds fewer than "
        f"{MIN_YEARS_PER_MONTH} complete copies of {', '.join(short)}"
    )


@dataclass
class SeasonalInputs:
    """What a time-varying model needs besides the histories: the calendar ``periods`` (days from
    ``end``) and, per history ``(frequency, recency, T)``, the covariates summed over its
    customers' repeat purchases divided by its customers (``sums``)."""

    periods: CovariatePeriods
    end: date
    sums: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    # where a fit on these inputs starts (the backtest's estimates on the calibration): the
    # whole history's optimum lies near them, and the fit then takes a few steps, not dozens
    start: dict[str, float] | None = None

    @property
    def unidentified(self) -> list[str]:
        """The notes on calendar columns the history cannot tell apart: the analysis' own notes
        repeat them, where a reader sees them."""
        return [note for note in self.notes if UNTOLD in note]

    def row_sums(self, frequency, recency, T) -> np.ndarray:
        """The per-customer sums for rows of histories (0 for a history without repeat days)."""
        keys = pd.MultiIndex.from_arrays(
            [np.asarray(v, dtype=float) for v in (frequency, recency, T)]
        )
        where = self.sums.index.get_indexer(keys)
        values = self.sums.to_numpy()
        return np.where((where >= 0)[:, None], values[np.maximum(where, 0)], 0.0)

    def multipliers(self, model) -> dict[str, float]:
        """The fitted purchase-rate multiplier of every covariate (months: against January)."""
        return {name: float(model.params_[name]) for name in self.periods.names}


def _cuts(first: date, last: date, calendar: Calendar | None) -> list[date]:
    """Period starts from ``first``'s month to ``last``: month starts, and the calendar's weeks."""
    cuts = {d for d in _months(_month_start(first), last)}
    if calendar is not None and calendar.unit == "week":
        monday = first - timedelta(days=first.weekday())
        cuts.update(monday + timedelta(days=7 * k) for k in range((last - monday).days // 7 + 1))
    return sorted(cuts)


def _months(start: date, last: date) -> list[date]:
    out = [start]
    while out[-1] < last:
        out.append(_next_month(out[-1]))
    return out


def _calendar_values(calendar: Calendar, days: list[date]) -> np.ndarray:
    """Each day's calendar values: its period's; 0 before the first period; the last year again
    (52 weeks or 12 months earlier, as often as needed) after the last."""
    starts = np.array(calendar.starts, dtype="datetime64[D]")
    end = np.datetime64(calendar.period_end(calendar.starts[-1]), "D")
    values = calendar.values.to_numpy()
    out = np.zeros((len(days), values.shape[1]))
    for i, day in enumerate(days):
        d = np.datetime64(day, "D")
        while d >= end:
            d = d - np.timedelta64(364, "D") if calendar.unit == "week" else _year_before(d)
        j = np.searchsorted(starts, d, side="right") - 1
        if j >= 0 and d < np.datetime64(calendar.period_end(starts[j].item()), "D"):
            out[i] = values[j]
    return out


def _year_before(day: np.datetime64) -> np.datetime64:
    d = day.item()
    return np.datetime64(date(d.year - 1, d.month, 1), "D")


def build_periods(
    first: date, end: date, horizon_days: float, *, seasons: bool, calendar: Calendar | None
) -> tuple[CovariatePeriods | None, list[str]]:
    """The covariate periods from ``first``'s month to past ``end + horizon_days`` and notes.

    ``seasons``: include the month dummies; ``calendar``: the user calendar's columns.  ``None``
    when there is neither.
    """
    if not seasons and calendar is None:
        return None, []
    last = _next_month(end + timedelta(days=int(np.ceil(horizon_days))))
    cuts = _cuts(first, last, calendar)
    columns, names, notes = [], [], []
    if seasons:
        month = np.array([c.month for c in cuts[:-1]])
        columns.append((month[:, None] == np.arange(2, 13)[None, :]).astype(float))
        names.extend(SEASON_NAMES)
    if calendar is not None:
        columns.append(_calendar_values(calendar, cuts[:-1]))
        names.extend(calendar.values.columns)
        covered = calendar.period_end(calendar.starts[-1]) - timedelta(days=1)
        horizon_end = end + timedelta(days=int(np.ceil(horizon_days)))
        notes.append(
            f"calendar {calendar.source} covers the horizon (to {horizon_end})"
            if covered >= horizon_end
            else f"calendar {calendar.source} ends {covered}, before the horizon ends "
            f"{horizon_end}: its last year repeats"
        )
        if calendar.starts[0] > first:
            notes.append(
                f"calendar {calendar.source} starts {calendar.starts[0]}, after the first order "
                f"({first}): its covariates are 0 before"
            )
    edges = np.array([(c - end).days for c in cuts], dtype=float)
    values = np.hstack(columns)
    if calendar is not None:
        notes.extend(unidentified_columns(values[edges[:-1] < 0], names, calendar))
    return CovariatePeriods(edges, values, tuple(names)), notes


UNTOLD = "its effect cannot be told apart"
"""The words of :func:`unidentified_columns`' notes, by which the analysis repeats them."""


def unidentified_columns(history: np.ndarray, names: list[str], calendar: Calendar) -> list[str]:
    """Notes on the calendar's columns whose effect the history cannot tell apart: a column the
    other covariates and the base rate already span over the observed periods (one value in
    every period, or one per calendar month beside the month effects) leaves its coefficient
    free, with an enormous standard error, and its multiplier means nothing."""
    design = np.hstack([np.ones((len(history), 1)), history])
    full = np.linalg.matrix_rank(design)
    notes = []
    for name in calendar.values.columns:
        index = 1 + names.index(name)
        if np.linalg.matrix_rank(np.delete(design, index, axis=1)) == full:
            notes.append(
                f"calendar {calendar.source}: column {name!r} over the history is the base rate "
                "or the other covariates again (one value throughout, or one per calendar month "
                f"beside the month effects): {UNTOLD}; remove it"
            )
    return notes


def purchase_sums(
    orders: ir.Table, table: ir.Table, end: date, periods: CovariatePeriods, weekly: bool
) -> pd.DataFrame:
    """Per history of ``table`` (a customer summary to ``end``), the covariates summed over its
    customers' repeat purchase days, divided by its customers.

    Counted in the engine per (history, month, week): the rows that cross are at most the
    distinct histories times the periods they bought in, never one per order.
    """
    o = prepare_orders(orders)
    end_lit = ibis.literal(end, type="date")
    days = o.filter(o.customer_id.notnull(), o.order_date <= end_lit)
    days = days.select("customer_id", "order_date").distinct()
    people = table.select("customer_id", "first_order_date", *HISTORY)
    joined = days.inner_join(people, "customer_id")
    joined = joined.filter(joined.order_date > joined.first_order_date.cast("date"))
    keys = {"month": joined.order_date.truncate("M")}
    if weekly:
        keys["week"] = joined.order_date.truncate("W")
    grouped = joined.group_by([*HISTORY, *(value.name(key) for key, value in keys.items())])
    counted = grouped.aggregate(n=joined.count()).to_pandas()
    customers = table.group_by(HISTORY).aggregate(customers=table.count()).to_pandas()
    index = pd.MultiIndex.from_frame(customers[HISTORY].astype(float))
    out = pd.DataFrame(0.0, index=index, columns=list(periods.names))
    if len(counted):
        start = pd.to_datetime(counted["month"])
        if weekly:
            start = np.maximum(start, pd.to_datetime(counted["week"]))
        position = (start - pd.Timestamp(end)).dt.days.to_numpy(dtype=float)
        values = periods.values_at(position) * counted["n"].to_numpy(dtype=float)[:, None]
        keys_hist = pd.MultiIndex.from_frame(counted[HISTORY].astype(float))
        summed = (
            pd.DataFrame(values, index=keys_hist, columns=out.columns)
            .groupby(level=[0, 1, 2])
            .sum()
        )
        out.loc[summed.index] = summed.to_numpy()
    return out / customers["customers"].to_numpy(dtype=float)[:, None]


def seasonal_inputs(
    orders: ir.Table,
    table: ir.Table,
    first: date,
    end: date,
    horizon_days: float,
    calendar: Calendar | None = None,
    seasons: bool = True,
) -> SeasonalInputs | str:
    """The :class:`SeasonalInputs` of ``table`` (a summary to ``end``), or why there are none.

    Seasons are included when ``seasons`` and the history from ``first`` allows them
    (:func:`why_no_seasons`); the calendar's columns whenever one is given.
    """
    reason = why_no_seasons(first, end) if seasons else "seasons are off"
    periods, notes = build_periods(
        first, end, horizon_days, seasons=reason is None, calendar=calendar
    )
    if periods is None:
        return reason or "no time-varying covariates"
    if reason is not None and seasons:
        notes.append(reason)
    weekly = calendar is not None and calendar.unit == "week"
    sums = purchase_sums(orders, table, end, periods, weekly)
    return SeasonalInputs(periods, end, sums, notes)
