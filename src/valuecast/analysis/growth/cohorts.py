"""Monthly acquisition cohorts, retention, days between orders and the churn threshold.

Everything is computed with portable Ibis expressions over the canonical ``orders`` table, from
its :func:`~valuecast.analysis.growth.history.order_history` (one window over each customer's
orders); only the small per-cohort (per-month, per-bucket) counts are collected to pandas, each
table's in one query, and ``growth_tables`` collects them all in one.  Conventions are
those of :mod:`valuecast.analysis.summary`: guests (``customer_id`` NULL) are left out, orders
after the as-of date are ignored, revenue is ``net_revenue``.

Cohorts (the standard acquisition-cohort table, as in Shopify's *customer cohort analysis*
report):

* A customer's **cohort** is the calendar month of their first order (``cohort_month``,
  ``'YYYY-MM'``); ``customers`` counts the customers acquired in it.
* **Month k after acquisition** is the calendar-month difference between an order's month and
  the cohort month (an order on 31 January by a customer acquired on 1 January is month 0; one on
  1 February is month 1).
* ``repeat_rate`` is the share of the cohort's customers with two or more *orders* up to the
  as-of date (Shopify's repeat-customer definition: orders, not purchase days).
* ``ltv_m<k>`` is the cohort's cumulative net revenue through month k (month 0 included) divided
  by the customers acquired.  Columns run to the oldest cohort's age; a cohort that has not
  reached month k by the as-of date has an empty cell there: nothing is extrapolated.
* Retention (long format): for every age a cohort has reached, ``active_customers`` (customers
  of the cohort with at least one order in month k), ``retention`` = active / acquired and the
  cumulative revenue per customer.  The month containing the as-of date counts as reached; it is
  flagged ``partial_month`` unless the as-of date is the last day of that month.
* With ``by`` the cohorts are split by the customer's acquisition attribute: the first order's
  ``channel`` or ``discount_code`` (first order = earliest ``ordered_at``, ties broken by
  ``order_id``, as in the summary), or the ``first_product``
  (:func:`valuecast.analysis.attributes.first_products`); a missing or empty value is
  :data:`NONE_LABEL`. Channels and discount codes that differ only in case or spaces are one
  group, spelled as most of its customers' first orders spell it (:data:`ONE_SPELLING`), as the
  channels' table groups them.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from valuecast.analysis.attributes import first_products
from valuecast.analysis.growth.channels import spellings_made_one
from valuecast.analysis.growth.history import (
    AVERAGE_MONTH_DAYS,
    NONE_LABEL,
    cohort_cells,
    collect_together,
    date_literal,
    history_days,
    is_month_end,
    known_orders,
    month_index_of,
    month_label,
    order_history,
    purchase_days,
    resolve_as_of,
)
from valuecast.analysis.summary import (
    before_first_order,
    order_key,
    orders_text,
    prepare_orders,
)

GROUPINGS: tuple[str, ...] = ("channel", "first_product", "discount_code")

GAP_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7),
    ("8-14", 8, 14),
    ("15-30", 15, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-180", 91, 180),
    ("181-365", 181, 365),
    ("366+", 366, None),
)
"""Buckets of days between consecutive purchase days: (label, first day, last day)."""


@dataclass
class Cohorts:
    """The cohort tables: ``cohorts`` (one row per cohort x group) and ``retention`` (long)."""

    cohorts: pd.DataFrame
    retention: pd.DataFrame
    as_of: date
    by: str | None
    customers: int
    repeat_customers: int
    notes: list[str] = field(default_factory=list)

    @property
    def repeat_rate(self) -> float | None:
        """Share of all customers (every cohort) with two or more orders; None without any."""
        return self.repeat_customers / self.customers if self.customers else None

    @property
    def partial_month(self) -> tuple[str, int, int] | None:
        """The as-of date's month when the date is not its last day: (``YYYY-MM``, days up to
        the as-of date, days in the month); None for a whole month.  Each cohort's latest
        ``ltv_m`` cell (its retention row flagged ``partial_month``) counts only those days."""
        if is_month_end(self.as_of):
            return None
        days = calendar.monthrange(self.as_of.year, self.as_of.month)[1]
        return month_label(month_index_of(self.as_of)), self.as_of.day, days

    @property
    def max_age(self) -> int | None:
        """The oldest cohort's age in months (the last ``ltv_m`` column), None without cohorts."""
        ages = [int(c.removeprefix("ltv_m")) for c in self.cohorts.columns if c.startswith("ltv_m")]
        return max(ages) if ages else None


def _acquired(
    known: ir.Table,
    orders: ir.Table,
    by: str,
    order_lines: ir.Table | None,
    as_of: date,
    not_products: Sequence[str] = (),
) -> ir.Table:
    """``customer_id, group``: the acquisition attribute ``by`` of each customer with one
    (a first product among the lines that are products: ``not_products`` names more that are
    not)."""
    if by == "first_product":
        products = first_products(orders, order_lines, as_of, not_products)
        return products.select("customer_id", group=products.first_product)
    key = order_key(known)  # ties broken by order id
    # a struct is never NULL: a first order without a value gives NULL, not a later value
    return known.group_by("customer_id").aggregate(
        group=ibis.struct({"v": known[by]}).argmin(key)["v"]
    )


def grouped_history(
    history: ir.Table,
    known: ir.Table,
    orders: ir.Table,
    by: str | None,
    order_lines: ir.Table | None,
    as_of: date,
    not_products: Sequence[str] = (),
) -> ir.Table:
    """``history`` with the ``group`` column :func:`cohort_cells` splits the cohorts by: the
    customer's acquisition attribute ``by``, :data:`NONE_LABEL` for every customer without one
    (``history`` itself when ``by`` is None: no split)."""
    if by is None:
        return history
    groups = _acquired(known, orders, by, order_lines, as_of, not_products)
    h = history.left_join(groups, "customer_id").select(history, group=groups.group)
    return h.mutate(group=h.group.strip().nullif("").fill_null(NONE_LABEL))


def _empty_cohorts(group: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    cohorts = pd.DataFrame(
        columns=["cohort_month", *group, "customers", "repeat_customers", "repeat_rate"]
    )
    retention = pd.DataFrame(
        columns=["cohort_month", *group, "customers", "months_since_acquisition",
                 "active_customers", "retention", "cumulative_revenue_per_customer",
                 "partial_month"]
    )  # fmt: skip
    return cohorts, retention


def cohort_tables(
    orders: ir.Table,
    *,
    as_of: date | datetime | str | None,
    by: str | None = None,
    order_lines: ir.Table | None = None,
    history: ir.Table | None = None,
    not_products: Sequence[str] = (),
) -> Cohorts:
    """Monthly acquisition cohorts and their retention (see the module docstring for the rules).

    ``as_of`` None means the last order date; ``by`` is None or one of :data:`GROUPINGS`
    (``"first_product"`` needs ``order_lines``).  One small query runs (per-cohort-month sizes
    and activity) plus one count of left-out orders; the frames are built in pandas.
    ``history``: :func:`~valuecast.analysis.growth.history.order_history` of these orders up to
    ``as_of`` when the caller keeps it computed.  ``not_products``: line names and SKUs that
    are no product besides the built-in ones, never a first product.
    """
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)} (got {by!r})")
    if by == "first_product" and order_lines is None:
        raise ValueError("by='first_product' needs the order_lines table")
    as_of_date = resolve_as_of(orders, as_of)
    known = known_orders(orders, as_of_date)
    history = order_history(known) if history is None else history
    grouped = grouped_history(history, known, orders, by, order_lines, as_of_date, not_products)
    cells = collect_together({"cells": cohort_cells(grouped)})["cells"]
    tables = cohorts_from_cells(cells, as_of_date, by, _left_out(orders, as_of_date))
    early = before_first_order(orders, as_of_date) if not tables.customers else None
    if early is not None:  # empty tables say why
        tables.notes.insert(0, f"{early}: no cohort yet")
    return tables


def cohorts_from_cells(
    cells: pd.DataFrame, as_of: date, by: str | None = None, notes: list[str] | None = None
) -> Cohorts:
    """The cohort tables of :func:`~valuecast.analysis.growth.history.cohort_cells` of the
    orders up to ``as_of`` (collected), split by ``by``; ``notes`` as in :class:`Cohorts`."""
    notes = list(notes or [])
    group = [by] if by else []
    if by in ONE_SPELLING:
        cells = _one_spelling(cells)
    sizes = cells.loc[cells["age"] == 0, ["cohort", "group", "customers", "repeat_customers"]]
    cells = cells[["cohort", "group", "age", "active_customers", "revenue"]]
    if sizes.empty:
        cohorts, retention = _empty_cohorts(group)
        return Cohorts(cohorts, retention, as_of, by, 0, 0, notes)

    keys = ["cohort", "group"]
    sizes = sizes.astype({"cohort": "int64", "customers": "int64", "repeat_customers": "int64"})
    sizes = sizes.sort_values(keys, kind="stable").reset_index(drop=True)
    as_of_month = month_index_of(as_of)
    sizes["reached"] = as_of_month - sizes["cohort"]
    # one row per cohort x group x reached age (0 .. reached): unreached ages have no row
    grid = sizes.loc[sizes.index.repeat(sizes["reached"] + 1)].reset_index(drop=True)
    grid["age"] = grid.groupby(keys, sort=False).cumcount().astype("int64")
    cells = cells.astype({"cohort": "int64", "age": "int64"})
    grid = grid.merge(cells, on=[*keys, "age"], how="left")
    grid["active_customers"] = grid["active_customers"].fillna(0).astype("int64")
    grid["revenue"] = grid["revenue"].astype("float64").fillna(0.0)
    cumulative = grid.groupby(keys, sort=False)["revenue"].cumsum()
    grid["cumulative_revenue_per_customer"] = cumulative / grid["customers"]
    grid["retention"] = grid["active_customers"] / grid["customers"]
    grid["partial_month"] = (grid["age"] == grid["reached"]) & (not is_month_end(as_of))
    grid["cohort_month"] = grid["cohort"].map(month_label)
    if by:
        grid[by] = grid["group"].astype("object")

    retention = grid.rename(columns={"age": "months_since_acquisition"})[
        ["cohort_month", *group, "customers", "months_since_acquisition", "active_customers",
         "retention", "cumulative_revenue_per_customer", "partial_month"]
    ].reset_index(drop=True)  # fmt: skip

    max_age = int(sizes["reached"].max())
    wide = grid.pivot_table(
        index=keys, columns="age", values="cumulative_revenue_per_customer", aggfunc="first"
    ).reindex(columns=range(max_age + 1))
    wide.columns = [f"ltv_m{age}" for age in range(max_age + 1)]
    cohorts = sizes.merge(wide.reset_index(), on=keys, how="left")
    cohorts["repeat_rate"] = cohorts["repeat_customers"] / cohorts["customers"]
    cohorts["cohort_month"] = cohorts["cohort"].map(month_label)
    if by:
        cohorts[by] = cohorts["group"].astype("object")
    cohorts = cohorts[
        ["cohort_month", *group, "customers", "repeat_customers", "repeat_rate", *wide.columns]
    ].reset_index(drop=True)
    return Cohorts(
        cohorts=cohorts,
        retention=retention,
        as_of=as_of,
        by=by,
        customers=int(sizes["customers"].sum()),
        repeat_customers=int(sizes["repeat_customers"].sum()),
        notes=notes,
    )


ONE_SPELLING = ("channel", "discount_code")
"""Groupings whose spellings that differ only in case or spaces are one group ("Google" and
"google ", "SAVE10" and "save10": Shopify's discount codes are case-insensitive), as the channels'
table groups them."""


def _one_spelling(cells: pd.DataFrame) -> pd.DataFrame:
    """``cells`` with each group spelled as the most common spelling of its case- and
    space-folded form, and the cells of spellings made one added up (every column but the keys
    is a count or a sum)."""
    tally = cells.groupby("group", sort=False)["customers"].sum()
    spelling = spellings_made_one(tally)
    if all(label == spelled for label, spelled in spelling.items()):
        return cells
    cells = cells.assign(group=cells["group"].map(spelling))
    return cells.groupby(["cohort", "group", "age"], as_index=False, sort=False).sum()


def _left_out(orders: ir.Table, as_of: date) -> list[str]:
    """Notes counting the guest orders and the orders after the as-of date that were ignored."""
    o = prepare_orders(orders)
    in_period = o.order_date <= date_literal(as_of)
    row = (
        o.aggregate(
            guest=o.count(where=o.customer_id.isnull() & in_period),
            after=o.count(where=o.order_date > date_literal(as_of)),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    notes = []
    if row["guest"]:
        notes.append(f"{orders_text(row['guest'], 'guest ')} left out")
    if row["after"]:
        notes.append(f"{orders_text(row['after'])} after the as-of date {as_of} ignored")
    return notes


def days_between_orders(
    orders: ir.Table,
    *,
    as_of: date | datetime | str | None = None,
    days: ir.Table | None = None,
) -> pd.DataFrame:
    """Histogram of the days between consecutive purchase days of the same customer.

    One row per bucket of :data:`GAP_BUCKETS` with ``bucket, min_days, max_days, count, share``
    (``max_days`` empty for ``366+``; ``share`` of all gaps, NaN when there are none).  Same-day
    orders are one purchase day (the summary's convention), so a gap is at least one day.  The
    frame's ``attrs`` hold ``gaps`` (their number), ``customers`` (customers with a repeat
    purchase day), ``median_days`` and ``mean_days`` (None without gaps) and ``as_of``.
    This is the distribution behind Klaviyo's *average days between orders*.  ``days``: the
    purchase days of ``orders`` up to ``as_of`` when the caller holds them already
    (:func:`valuecast.analysis.growth.history.purchase_days` of the known orders).
    """
    as_of_date = resolve_as_of(orders, as_of)
    if days is None:
        days = purchase_days(known_orders(orders, as_of_date))
    counts = collect_together({"gaps": gap_counts(days)})["gaps"]
    return gaps_from_counts(counts, as_of_date)


def gap_counts(days: ir.Table) -> ir.Table:
    """``gap_days, first_day, n``: the purchase days (of :func:`purchase_days`) per gap length,
    those without a next purchase day left out.  A few hundred rows that hold the histogram,
    the median and the mean exactly (:func:`gaps_from_counts`)."""
    gaps = days.filter(days.gap_days.notnull())
    return gaps.group_by("gap_days", "first_day").aggregate(n=gaps.count())


def gaps_from_counts(counts: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """:func:`days_between_orders` of the collected :func:`gap_counts` of the orders up to
    ``as_of``."""
    gap = counts["gap_days"].to_numpy(dtype=np.int64)
    n = counts["n"].to_numpy(dtype=np.int64)
    upper = np.asarray([last for _, _, last in GAP_BUCKETS[:-1]])
    bucket = np.searchsorted(upper, gap, side="left")  # the first bucket whose last day >= gap
    by_bucket = np.bincount(bucket, weights=n, minlength=len(GAP_BUCKETS)).astype(np.int64)
    total = int(n.sum())
    frame = pd.DataFrame(
        {
            "bucket": [label for label, _, _ in GAP_BUCKETS],
            "min_days": [first for _, first, _ in GAP_BUCKETS],
            "max_days": pd.array([last for _, _, last in GAP_BUCKETS], dtype="Int64"),
            "count": by_bucket,
        }
    )
    frame["share"] = frame["count"] / total if total else np.nan
    frame.attrs.update(
        gaps=total,
        # a customer's first purchase day has a gap when they have a second one
        customers=int(n[counts["first_day"].to_numpy(dtype=bool)].sum()),
        median_days=_median(gap, n) if total else None,
        mean_days=float(int((gap * n).sum())) / total if total else None,
        as_of=as_of.isoformat(),
    )
    return frame


def _median(values: np.ndarray, counts: np.ndarray) -> float:
    """The median of ``values`` each repeated ``counts`` times: the mean of the two middle
    values for an even number (DuckDB's ``median``, interpolated halfway)."""
    order = np.argsort(values, kind="stable")
    values, ends = values[order], np.cumsum(counts[order])
    total = int(ends[-1])
    low = values[np.searchsorted(ends, (total - 1) // 2, side="right")]
    high = values[np.searchsorted(ends, total // 2, side="right")]
    return float(low) + (float(high) - float(low)) / 2


def churn_threshold(
    orders: ir.Table,
    *,
    as_of: date | datetime | str | None = None,
    max_months: int = 24,
    follow_up_months: int | None = 12,
    min_points: int = 30,
    days: ir.Table | None = None,
) -> dict[str, Any]:
    """The churn threshold: months without an order after which a comeback becomes unlikely.

    Adobe Commerce Intelligence's recipe (*Repeat probability decay and churn* and *Transactional
    customer churn* in its docs): for each number of months m since a customer's last order,
    the probability that they order again, ``A / (A + B)`` with A the repeat orders placed m+
    months after the previous one and B the last orders now m+ months old, set against the
    *initial repeat probability* (repeat orders / all orders).  Adobe leaves the cut-off to the
    analyst; valuecast takes the first month at which the probability is half the initial one
    or less (the rule of the project's issue 5), and makes the estimate right-censoring aware:

    * Units are purchase days (same-day orders are one purchase).  Every purchase day of an
      identified customer up to ``as_of`` starts a gap that ends at their next purchase day (or
      is still open at ``as_of``).  A month is :data:`AVERAGE_MONTH_DAYS` days (365.25 / 12).
    * A **point** at m months is a purchase day after which the customer was inactive for at
      least m months (gap >= m months, or still open), and which is followed by a full
      ``follow_up_months`` window after the m-month mark before ``as_of``
      (purchase day + m + follow-up <= as_of).  It **repeats** when the next purchase day falls
      within that window.  ``P(m)`` = repeats / points.  Only points whose whole window is
      observed are counted, so a recent one-time buyer, who might still come back, is never
      counted as lost: the estimate is not biased by right censoring.  "Ever again" cannot be
      observed in finite data; "again within the next ``follow_up_months``" can.
    * ``initial_repeat_probability`` is ``P(0)``: of the purchase days at least
      ``follow_up_months`` before ``as_of``, the share followed by another within that window
      (Adobe's "repeat orders / all orders", measured the same way as the curve; the overall
      probability, not m = 1).
    * ``threshold_months`` is the smallest m in 1..``max_months`` with at least ``min_points``
      points and ``P(m) <= initial / 2``; None when the curve never gets there (or there is
      not enough history for it).

    ``follow_up_months=None`` gives Adobe's original, uncensored ``A / (A + B)`` on purchase
    days: points are the gaps of at least m months, closed or open (an open gap counts as never
    again, however recent, which biases the curve down for young shops).

    Returns ``{"threshold_months", "initial_repeat_probability", "curve": [{"months",
    "probability", "customers", "points", "repeats"}, ...], "as_of", "follow_up_months",
    "min_points", "method"}``; ``probability`` is None for months without points and
    ``customers`` counts the distinct customers behind the points.  ``days``: as in
    :func:`days_between_orders`.
    """
    if max_months < 1:
        raise ValueError("max_months must be at least 1")
    as_of_date = resolve_as_of(orders, as_of)
    if days is None:
        days = purchase_days(known_orders(orders, as_of_date))
    counts = collect_together(churn_counts(days, as_of_date, follow_up_months))
    return churn_from_counts(
        counts,
        as_of_date,
        max_months=max_months,
        follow_up_months=follow_up_months,
        min_points=min_points,
    )


def churn_counts(
    days: ir.Table, as_of: date, follow_up_months: int | None = 12
) -> dict[str, ir.Table]:
    """The two small queries behind :func:`churn_threshold` of the purchase days ``days`` up to
    ``as_of``: ``churn_cells`` (``largest, again_from, n``) and ``churn_tops`` (``top, n``)."""
    # as float64: against the decimal literals of the month's length (30.4375) whole days would
    # be computed as DECIMAL, at twice the cost of a double (3M purchase days: 0.17 -> 0.09 s of
    # CPU for each of the two queries); whole and quarter days are exact either way
    gap = days.gap_days.cast("float64")
    observed = date_literal(as_of).delta(days.order_date, unit="day").cast("float64")
    # A purchase day is a point at every month m up to its largest, ``reach / M`` rounded down
    # (reach: the gap, or the open time, shortened by the follow-up window), and repeats at the
    # points from ``again_from`` on (its gap ends inside the window m + follow-up).  So one
    # GROUP BY on (largest, again_from) holds every month's counts.  The quantities are whole
    # days and quarter days, and M = 30.4375 = 487/16 days, so ``floor(reach / M) >= m`` is
    # exactly ``reach >= m * M``: the comparisons the definition above makes.
    if follow_up_months is None:
        reach = gap.fill_null(observed)
        again_from = ibis.ifelse(gap.notnull(), ibis.literal(0, "int64"), ibis.null().cast("int64"))
    else:
        end_offset = follow_up_months * AVERAGE_MONTH_DAYS
        reach = ibis.least(gap.fill_null(observed), observed - end_offset)
        again_from = ((gap - end_offset) / AVERAGE_MONTH_DAYS).floor().cast("int64") + 1
    # both queries read the marks (the engine computes them once for the two)
    marked = days.mutate(
        largest=(reach / AVERAGE_MONTH_DAYS).floor().cast("int64"), again_from=again_from
    )
    cells = marked.group_by("largest", "again_from").aggregate(n=marked.count())
    # Customers behind the points: a purchase day that is a point at m is one at every smaller m,
    # so a customer counts at m when their largest is m or more -- one GROUP BY instead of a
    # distinct count per month.  The curve starts at m = 1: the days that are points at no
    # month (largest 0 or less) are left out of that GROUP BY, which is by customer.
    points = marked.filter(marked.largest >= 1)
    per_customer = points.group_by("customer_id").aggregate(top=points.largest.max())
    tops = per_customer.group_by("top").aggregate(n=per_customer.count())
    return {"churn_cells": cells, "churn_tops": tops}


def churn_from_counts(
    counts: dict[str, pd.DataFrame],
    as_of: date,
    *,
    max_months: int = 24,
    follow_up_months: int | None = 12,
    min_points: int = 30,
) -> dict[str, Any]:
    """:func:`churn_threshold` of the collected :func:`churn_counts` of the orders up to
    ``as_of``."""
    if max_months < 1:
        raise ValueError("max_months must be at least 1")
    cells, tops = counts["churn_cells"], counts["churn_tops"]
    cell_largest = cells["largest"].to_numpy(dtype=float)
    cell_again = cells["again_from"].to_numpy(dtype=float, na_value=np.nan)
    cell_n = cells["n"].to_numpy(dtype=np.int64)
    row: dict[str, int] = {}
    for m in range(max_months + 1):
        point = cell_largest >= m
        row[f"points_{m}"] = int(cell_n[point].sum())
        row[f"repeats_{m}"] = int(cell_n[point & (cell_again <= m)].sum())
    for m in range(1, max_months + 1):
        row[f"customers_{m}"] = int(tops.loc[tops["top"] >= m, "n"].sum())

    def probability(m: int) -> float | None:
        points = int(row[f"points_{m}"] or 0)
        return int(row[f"repeats_{m}"] or 0) / points if points else None

    initial = probability(0)
    curve = [
        {
            "months": m,
            "probability": probability(m),
            "customers": int(row[f"customers_{m}"] or 0),
            "points": int(row[f"points_{m}"] or 0),
            "repeats": int(row[f"repeats_{m}"] or 0),
        }
        for m in range(1, max_months + 1)
    ]
    threshold = None
    if initial:
        for entry in curve:
            if entry["points"] >= max(min_points, 1) and entry["probability"] <= initial / 2:
                threshold = entry["months"]
                break
    window = (
        f"an order within {follow_up_months} months after the mark"
        if follow_up_months is not None
        else "any later order (open gaps count as never)"
    )
    return {
        "threshold_months": threshold,
        "initial_repeat_probability": initial,
        "curve": curve,
        "as_of": as_of.isoformat(),
        "follow_up_months": follow_up_months,
        "min_points": min_points,
        "method": (
            "P(m) = share of purchase days followed by m+ months without an order that see "
            f"{window}; threshold = first m with P(m) <= half of P(0) "
            "(Adobe Commerce Intelligence, repeat probability decay)"
        ),
    }


def growth_counts(
    orders: ir.Table, as_of: date, history: ir.Table | None = None
) -> dict[str, pd.DataFrame]:
    """The small aggregates behind the cohort tables, the days between orders and the churn
    curve of ``orders`` up to ``as_of``, collected in one query: ``cells``
    (:func:`cohorts_from_cells`, and the growth stage), ``gaps`` (:func:`gaps_from_counts`) and
    the churn counts (:func:`churn_from_counts`).

    Each reads the order history (one window over each customer's orders), so the engine
    computes the history once, and nothing the size of the orders is joined.  ``history``: that
    history when the caller holds it computed (:class:`~valuecast.analysis.growth.history.
    StoredHistory`).
    """
    if history is None:
        history = order_history(known_orders(orders, as_of))
    days = history_days(history)
    return collect_together(
        {"cells": cohort_cells(history), "gaps": gap_counts(days), **churn_counts(days, as_of)}
    )
