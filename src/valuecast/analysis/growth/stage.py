"""The shop's growth stage and how much effort retention deserves at it (a rule of thumb).

E-commerce retention guides (loyalty-program vendors' store-lifecycle advice, as gathered in the
project's issue 5) describe five stages, each with a suggested share of marketing effort for
retention (the rest goes to acquisition):

=================  ==========================================  ===============
stage              as described                                retention share
=================  ==========================================  ===============
just started       no sales yet                                0%
gaining traction   about 1-5 orders a week, first ~2 months    at least 15%
consistent         at least 1 order a day after 2-3 months     at least 30%
established        about 10 orders a day by months 4-6         50%
well established   10+ orders a day after a year               60%
=================  ==========================================  ===============

valuecast turns the descriptions into thresholds (:data:`STAGES`) on two measurements:

* **shop age** = days from the first order (guests included) to the as-of date;
* **orders a day** = orders (guests included) in the last :data:`RATE_WINDOW_DAYS` days up to
  and including the as-of date, divided by 28 (by the days since the first order, counting both
  ends, for a shop younger than that).

=================  ===============  ===============
stage              orders a day >=  shop age >=
=================  ===============  ===============
gaining traction   any sale ever    0 days
consistent         1                60 days
established        10               120 days
well established   10               365 days
=================  ===============  ===============

The stage is the last row whose two thresholds are both met, and "just started" when there is no
order at all up to the as-of date, so every (age, rate) combination has exactly one stage.  The
fallbacks that follow from it, and are reported as notes:

* a young shop that already sells fast (10 a day in its first month) is held back by its age:
  retention needs customers old enough to come back, so the share follows the age;
* an old shop that sells slowly (2 a week after three years) is held back by its rate: it is still
  "gaining traction", and acquisition is what it lacks;
* a shop with earlier sales but none in the last 28 days is "gaining traction" too.

A shop slowing down meets an earlier stage's rate too: where its last 28 days hold fewer than
half the orders of the same 28 days a year before (:data:`SLOWDOWN_FROM` orders or more then,
so that a few orders' chance does not read as a fall; the same days, so that a season's low
does not either), a note says so, with the stage that year-before rate was.

These are rules of thumb, not laws: the evidence (revenue from new vs returning customers per
month, the repeat rate, CLV:CAC when known) is there to check them against.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from valuecast.analysis.growth.history import (
    cohort_cells,
    collect_together,
    date_literal,
    dated_orders,
    is_month_end,
    known_orders,
    month_index_of,
    month_label,
    order_history,
)
from valuecast.analysis.summary import (
    SummaryError,
    before_first_order,
    default_as_of,
    orders_text,
)
from valuecast.dates import as_date, days_text

RATE_WINDOW_DAYS = 28
"""Days of recent orders behind the orders-a-day rate."""

SLOWDOWN_FROM = 20
"""Orders in the 28 days a year before the rate window from which a fall to less than half of
them is noted as a slowdown (20 against 9 is more than twice a Poisson count's spread)."""

COUNTED_IN_RATIO = "the shop's CLV:CAC counts their spend all the same"
"""What the stage adds to a note on spend no customer matches (``cac_notes``)."""


@dataclass(frozen=True)
class Stage:
    """One row of the stage table: the thresholds to reach it and the retention share at it."""

    name: str
    min_orders_per_day: float
    min_age_days: int
    retention_share: float
    retention_effort: str
    description: str


NO_SALES = Stage("just started", 0.0, 0, 0.0, "0%", "no sales yet")
STAGES: tuple[Stage, ...] = (
    Stage("gaining traction", 0.0, 0, 0.15, "at least 15%",
          "first sales: about 1-5 orders a week, typically in the first ~2 months"),
    Stage("consistent", 1.0, 60, 0.30, "at least 30%",
          "at least 1 order a day after 2-3 months"),
    Stage("established", 10.0, 120, 0.50, "50%", "about 10 orders a day by months 4-6"),
    Stage("well established", 10.0, 365, 0.60, "60%", "10+ orders a day after a year"),
)  # fmt: skip
"""The stages a shop with sales can be at, in order (see the module docstring)."""


def aged_shop(days: float) -> str:
    """``a 120-day-old shop``, ``an 86-day-old shop`` (the article as the number is said); a
    shop whose first order is on the as-of day is ``a shop on its first day of orders``, which
    no age in days says."""
    whole = round(days)
    if whole == 0:
        return "a shop on its first day of orders"
    said = f"{whole:,}"
    vowel = said.startswith("8") or whole in (11, 18) or said.startswith(("11,", "18,"))
    return f"{'an' if vowel else 'a'} {said}-day-old shop"


def _at_age(days: float) -> str:
    """``at 40 days``, ``at 1 day``; ``on its first day of orders`` for a shop of age 0."""
    return "on its first day of orders" if round(days) == 0 else f"at {days_text(days)}"


def rate_since_first_order(window_days: int) -> bool:
    """Whether an order rate measured over ``window_days`` (a :func:`growth_stage` result's
    ``rate_window_days``) is the shop's whole history: a shop younger than
    :data:`RATE_WINDOW_DAYS` is measured from its first order's day to the as-of date, both
    counted, and its rate is said to be since its first order, not "in the last 10 days" of
    a 9-day-old shop."""
    return int(window_days) < RATE_WINDOW_DAYS


def stage_for(shop_age_days: int | None, orders_per_day: float) -> tuple[Stage, list[str]]:
    """The stage for a shop age (None: no order yet) and a recent order rate, with notes.

    The last of :data:`STAGES` whose rate and age thresholds are both met; :data:`NO_SALES`
    without any order.  The notes say when the age alone or the rate alone would put the shop
    at a later stage (the fallbacks of the module docstring).
    """
    if shop_age_days is None:
        return NO_SALES, []
    if shop_age_days < 0 or orders_per_day < 0 or math.isnan(orders_per_day):
        raise ValueError("shop age and orders a day must be non-negative")
    met = [s for s in STAGES if orders_per_day >= s.min_orders_per_day]
    aged = [s for s in STAGES if shop_age_days >= s.min_age_days]
    stage = [s for s in met if s in aged][-1]
    notes = []
    if STAGES.index(met[-1]) > STAGES.index(stage):
        notes.append(
            f"the order rate ({orders_per_day:.1f} a day) is that of a '{met[-1].name}' shop, but "
            f"{_at_age(shop_age_days)} the shop is young for it: customers need time to come "
            "back, so the retention share follows the age"
        )
    elif STAGES.index(aged[-1]) > STAGES.index(stage):
        notes.append(
            f"{aged_shop(shop_age_days)} at {orders_per_day:.2f} orders a day: the stage "
            "follows the order rate, and more customers (acquisition) come first"
        )
    return stage, notes


def _monthly_revenue(cells: pd.DataFrame, as_of: date | None) -> pd.DataFrame:
    """Net revenue per month from new and from returning customers (guests left out).

    An order is *new* revenue when it is on the customer's first purchase day, *returning*
    revenue otherwise (Shopify's new vs returning customer sales).  Months without orders
    between the first one and the as-of month are zero rows.  ``cells``: the collected
    :func:`~valuecast.analysis.growth.history.cohort_cells` of the orders up to ``as_of``
    (a calendar month is a cohort's month plus its age).
    """
    columns = ["month", "new_revenue", "returning_revenue", "returning_share"]
    if as_of is None:
        return pd.DataFrame(columns=columns)
    # added in one order whatever order the engine gave the cells in: the same last bits
    ordered = cells.sort_values(["cohort", "group", "age"], kind="stable", na_position="last")
    monthly = (
        ordered.assign(month=ordered["cohort"] + ordered["age"])
        .groupby("month", as_index=False)[["new_revenue", "returning_revenue"]]
        .sum(min_count=1)
    )
    if monthly.empty:
        return pd.DataFrame(columns=columns)
    months = range(int(monthly["month"].min()), month_index_of(as_of) + 1)
    monthly = monthly.astype({"month": "int64"}).set_index("month").reindex(months)
    monthly = monthly.astype("float64").fillna(0.0).rename_axis("month").reset_index()
    total = monthly["new_revenue"] + monthly["returning_revenue"]
    monthly["returning_share"] = (monthly["returning_revenue"] / total).where(total != 0)
    monthly["month"] = monthly["month"].map(month_label)
    return monthly[columns]


def growth_stage(
    orders: ir.Table,
    *,
    as_of: date | datetime | str | None,
    cac_ratio: float | None = None,
    cac_ratio_of: str | None = None,
    history: ir.Table | None = None,
    cells: pd.DataFrame | None = None,
    unknown_cac_reason: str | None = None,
    cac_notes: Sequence[str] = (),
) -> dict[str, Any]:
    """The shop's growth stage, the suggested retention share of effort, and the evidence.

    ``as_of`` None means the last order date.  ``cac_ratio`` is the CLV:CAC ratio when marketing
    spend is known (valuecast does not know spend by itself); it is reported as is, named by
    ``cac_ratio_of`` (whose ratio it is: ``"channels with spend"``, ``"whole shop (blended)"``).
    ``history``: :func:`~valuecast.analysis.growth.history.order_history` of these orders up to
    ``as_of`` when the caller keeps it computed; ``cells``: its collected
    :func:`~valuecast.analysis.growth.history.cohort_cells` when the caller holds them.
    ``unknown_cac_reason``: why ``cac_ratio`` is None when it is not that no spend was given
    (a spend is known, but no analysis of these orders divides by it).  ``cac_notes``: what
    the ratio's spend holds that no customer matches (the note of
    :func:`~valuecast.analysis.growth.channels.unmatched_spend_note`), said beside a known
    ratio, whose spend counts it.

    Returns a dict: ``stage``, ``description``, ``retention_share`` (0.15 ...),
    ``retention_effort`` ("at least 15%" ...), ``acquisition_share``, ``shop_age_days``,
    ``first_order_date``, ``orders``, ``guest_orders`` (of ``orders``: left out of the
    customer figures and of ``monthly_revenue``), ``recent_orders``, ``rate_window_days``,
    ``orders_per_day``, ``orders_per_week``, ``customers``, ``repeat_customers``,
    ``repeat_rate`` (share of identified customers with 2+ orders), ``clv_cac_ratio``,
    ``clv_cac_of`` (``cac_ratio_of`` where the ratio is known),
    ``clv_cac_notes`` (``cac_notes`` where the ratio is known), ``monthly_revenue`` (a
    DataFrame: month, new_revenue, returning_revenue, returning_share), ``notes`` and ``as_of``.
    """
    if cac_ratio is not None and not (math.isfinite(cac_ratio) and cac_ratio >= 0):
        raise ValueError("cac_ratio must be a non-negative number")
    as_of_date = as_date(as_of, "as-of", error=SummaryError) or default_as_of(orders)
    if as_of_date is not None and cells is None:
        history = order_history(known_orders(orders, as_of_date)) if history is None else history
        cells = collect_together({"cells": cohort_cells(history)})["cells"]
    facts = _facts(orders, as_of_date, cells)
    age, window = facts["age"], facts["window"]
    rate = facts["recent"] / window
    stage, notes = stage_for(age, rate)
    if age is not None and facts["recent"] == 0:
        notes.append(f"no orders in the last {window} days")
    slowdown = _slowdown_note(stage, age, facts["recent"], facts["year_before"], window)
    if slowdown:
        notes.append(slowdown)
    early = before_first_order(orders, as_of_date) if as_of_date and age is None else None
    if early is not None:
        notes.append(f"{early}: no sale is counted")
    said = "CLV:CAC" if cac_ratio_of is None else f"CLV:CAC of the {cac_ratio_of}"
    if cac_ratio is None:
        reason = unknown_cac_reason or "no marketing spend was given (analyze --spend SPEND.csv)"
        notes.append(f"CLV:CAC unknown: {reason}")
    elif cac_ratio < 1:
        notes.append(f"{said} below 1: a customer costs more to acquire than they bring")
    elif cac_ratio < 3:
        notes.append(f"{said} below 3, the usual target for a healthy acquisition spend")
    # spend no customer matches lowers the ratio all the same: said beside it, not hidden in it
    ratio_notes = [] if cac_ratio is None else list(cac_notes)
    notes += [f"{note}; {COUNTED_IN_RATIO}" for note in ratio_notes]
    customers, repeat = facts["customers"], facts["repeat"]
    return {
        "as_of": as_of_date.isoformat() if as_of_date else None,
        "stage": stage.name,
        "description": stage.description,
        "retention_share": stage.retention_share,
        "retention_effort": stage.retention_effort,
        "acquisition_share": round(1.0 - stage.retention_share, 2),
        "shop_age_days": age,
        "first_order_date": facts["first"].isoformat() if facts["first"] else None,
        "orders": facts["orders"],
        "guest_orders": facts["guests"],
        "recent_orders": facts["recent"],
        "rate_window_days": window,
        "orders_per_day": rate,
        "orders_per_week": rate * 7,
        "customers": customers,
        "repeat_customers": repeat,
        "repeat_rate": repeat / customers if customers else None,
        "clv_cac_ratio": cac_ratio,
        "clv_cac_of": None if cac_ratio is None else cac_ratio_of,
        "clv_cac_notes": ratio_notes,
        "monthly_revenue": _monthly_revenue(cells, as_of_date),
        "notes": notes,
    }


def _slowdown_note(
    stage: Stage, age: int | None, recent: int, year_before: int | None, window: int
) -> str | None:
    """What a fall to less than half the orders of the same days a year before says of the
    stage (see the module docstring); None without such a fall, or a year's history."""
    if age is None or year_before is None or year_before < SLOWDOWN_FROM:
        return None
    if 2 * recent >= year_before:
        return None
    then = year_before / window
    note = (
        f"orders fell to {recent:,} in the last {window} days from {year_before:,} in the same "
        f"days a year before ({recent / window:.2f} a day against {then:.2f})"
    )
    was, _ = stage_for(age - 365, then)  # the stage the shop was at a year ago
    if STAGES.index(was) > STAGES.index(stage):
        note += (
            f": a year ago that rate made a '{was.name}' shop; the stage reads today's rate, "
            "which a shop slowing down shares with one starting out"
        )
    return note


def _facts(orders: ir.Table, as_of: date | None, cells: pd.DataFrame | None) -> dict[str, Any]:
    """Order count, first order date, shop age, recent orders and window, customer counts, and
    the orders of the same window a year before (None for a shop younger than that window).

    One small query (guests included), the customer counts summed from ``cells``
    (:func:`~valuecast.analysis.growth.history.cohort_cells`); a shop without any order up to
    ``as_of`` (or at all, when ``as_of`` is None) has age None, and its rate window is the full
    28 days.
    """
    facts: dict[str, Any] = {
        "orders": 0, "first": None, "age": None, "recent": 0, "window": RATE_WINDOW_DAYS,
        "customers": 0, "repeat": 0, "guests": 0, "year_before": None,
    }  # fmt: skip
    if as_of is None:
        return facts
    o = dated_orders(orders, as_of)
    # orders since as_of - 27 days: for a younger shop these are all its orders since the first
    start = date_literal(as_of - timedelta(days=RATE_WINDOW_DAYS - 1))
    # the same days a year before (365 days: the same weekdays give or take one)
    then_start = date_literal(as_of - timedelta(days=365 + RATE_WINDOW_DAYS - 1))
    then_end = date_literal(as_of - timedelta(days=365))
    row = (
        o.aggregate(
            orders=o.count(),
            first=o.order_date.min(),
            recent=o.count(where=o.order_date >= start),
            guests=o.count(where=o.customer_id.isnull()),
            year_before=o.count(where=(o.order_date >= then_start) & (o.order_date <= then_end)),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    if not row["orders"]:
        return facts
    first = as_date(row["first"], "first order date", error=SummaryError)
    age = (as_of - first).days
    facts.update(
        orders=int(row["orders"]),
        first=first,
        age=age,
        recent=int(row["recent"] or 0),
        window=min(RATE_WINDOW_DAYS, age + 1),
        customers=int(cells["customers"].sum()),
        repeat=int(cells["repeat_customers"].sum()),
        guests=int(row["guests"] or 0),
        # only where the shop is a year and a window old: a part window is no "same days"
        year_before=(int(row["year_before"] or 0) if age >= 365 + RATE_WINDOW_DAYS - 1 else None),
    )
    return facts


def stage_to_dict(result: dict[str, Any]) -> dict[str, Any]:
    """:func:`growth_stage`'s result made JSON-serialisable (the monthly frame as records)."""
    out = dict(result)
    monthly = result["monthly_revenue"]
    out["monthly_revenue"] = [
        {key: _plain(key, value) for key, value in record.items()}
        for record in monthly.to_dict(orient="records")
    ]  # fmt: skip
    return out


def _plain(key: str, value: Any) -> Any:
    """A monthly figure for JSON: NaN as None, money to the cent (a sum of cents written as
    ``3185.2799999999997`` is the float's noise, not a figure)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if key.endswith("_revenue") and isinstance(value, float):
        return round(value, 2)
    return value


def partial_month(result: dict[str, Any]) -> tuple[str, int, int] | None:
    """The month of a :func:`growth_stage` result's as-of date when the date is not its last
    day: (``YYYY-MM``, days up to the as-of date, days in the month); None for a whole month.
    Its revenue counts those days only, so its returning share is not yet the month's."""
    as_of = as_date(result.get("as_of"), "as-of", error=SummaryError)
    if as_of is None or is_month_end(as_of):
        return None
    days = calendar.monthrange(as_of.year, as_of.month)[1]
    return month_label(month_index_of(as_of)), as_of.day, days


def revenue_of_whom(result: dict[str, Any]) -> str:
    """Whose net revenue the returning customers' share divides: the customers', guest orders
    left out (a guest is neither new nor returning), said so where the shop has any."""
    guests = int(result.get("guest_orders") or 0)
    if not guests:
        return "net revenue"
    return f"customers' net revenue ({orders_text(guests, 'guest ')} left out)"


def format_stage(result: dict[str, Any]) -> list[str]:
    """Short lines describing a :func:`growth_stage` result, for printing."""
    lines = [f"stage: {result['stage']} ({result['description']})"]
    share = result["retention_share"]
    if share:
        lines.append(f"effort: {result['retention_effort']} on retention, the rest on acquisition")
    else:
        lines.append("effort: everything on acquisition (no customers to retain yet)")
    if result["shop_age_days"] is not None:
        window = result["rate_window_days"]
        since = "since then" if rate_since_first_order(window) else f"in the last {window} days"
        lines.append(
            f"shop age: {days_text(result['shop_age_days'])} (first order "
            f"{result['first_order_date']});"
            f" {result['recent_orders']:,} {'order' if result['recent_orders'] == 1 else 'orders'}"
            f" {since} ({result['orders_per_day']:.2f} a day, {result['orders_per_week']:.1f} a"
            " week)"
        )
    if result["repeat_rate"] is not None:
        lines.append(
            f"repeat rate: {result['repeat_rate']:.1%} ({result['repeat_customers']:,} of "
            f"{result['customers']:,} customers with 2+ orders)"
        )
    monthly = result["monthly_revenue"].tail(3)
    if len(monthly):
        partial = partial_month(result)
        cut = "" if partial is None else f" ({partial[1]} of {partial[2]} days so far)"
        shares = ", ".join(
            f"{row.month} {'-' if pd.isna(row.returning_share) else f'{row.returning_share:.0%}'}"
            + (cut if partial is not None and row.month == partial[0] else "")
            for row in monthly.itertuples()
        )
        lines.append(f"returning customers' share of {revenue_of_whom(result)}: {shares}")
    if result["clv_cac_ratio"] is not None:
        of = result.get("clv_cac_of")
        lines.append(f"CLV:CAC{'' if of is None else f', {of}'}: {result['clv_cac_ratio']:.2f}")
    lines += [f"note: {note}" for note in result["notes"]]
    lines.append("(a rule of thumb, not a law: check it against the evidence above)")
    return lines
