"""Replenishment: how often customers re-buy each product, and who is due to buy it again (Ibis).

Products are identified as in :mod:`valuecast.analysis.growth.affinity` (``product_name``, else ``sku``);
only customers' orders (guests left out) up to and including the as-of date count.

* Variants of one product (``Coffee - 250g`` and ``Coffee - 1kg``, as Shopify and WooCommerce
  name them) are one product re-bought, named by their title (:func:`replenished_products`): a
  customer who takes another size next time re-bought it.
* A customer's *purchase days* of a product are the distinct order dates on which they bought it,
  with the items bought that day: several orders or lines of the product on one day are one
  purchase.  A *repeat* is every purchase day after the first; its *gap* is the days since the
  previous purchase day of the same product by the same customer.
* A customer's *own cycle* of a product (:func:`customer_cycles`) is the median of their gaps,
  and their *days per item* the median of gap / items bought at the previous purchase day (how
  long one item lasts them).
* :func:`replenishment_cycles` counts each repeating customer once: a product's ``median_days``
  is the median of its customers' own medians, ``mean_days`` the mean of their mean gaps and
  ``days_per_item`` the median of their days per item, so a café re-buying every 3 days does not
  set the cycle of the customers who buy monthly.  Only products that at least
  ``min_customers`` customers (default 5) have re-bought are kept: a cycle seen in fewer
  customers is noise.  ``cycle_days`` is the median rounded to whole days (halves up).  The
  medians are exact (midpoint of the two middle values for an even count) on DuckDB; some
  warehouses compute them approximately.
* :func:`reminders` gives every customer who bought a cycled product its due date: the last
  purchase day of it + days per item x the items bought that day (rounded halves up, at least
  a day): three bags last three times as long as one.  A customer who re-bought the product
  ``n`` times is due on (n x their own days per item + the product's) / (n + 1), and their
  cycle (``cycle_days``) is (n x their median gap + the product's cycle) / (n + 1): the
  product's weighs in as one more gap, so one odd gap does not set it outright.  One who bought
  it once is due on the product's (``product_cycle_days`` either way).  ``days_until_due`` = due date - as-of date
  (negative = overdue).  With ``due_within=N`` only reminders due within N days of the as-of
  date, before or after it, are kept (:func:`within_window`): due within the next N days, or
  overdue by at most N days and at most the customer's cycle.  A reminder is sent around the
  day the items run out; a customer weeks past it has had their reminder (a list made every N
  days lists each due date twice, before and after it) and has most likely bought elsewhere or
  stopped: winning them back is another message.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from valuecast.analysis.growth.affinity import purchases_of, variant_titles
from valuecast.analysis.growth.history import resolve_as_of
from valuecast.io.schema import empty_frame

MIN_CUSTOMERS = 5
"""Customers who must have re-bought a product for its cycle to be reported."""
DUE_WITHIN = 14
"""Days ahead in which a reminder is due soon (``valuecast reminders``' default, the dashboard's)."""

# the output tables: column -> dtype
CYCLE_SCHEMA: dict[str, str] = {
    "product": "string",
    "cycle_days": "int64",
    "median_days": "float64",
    "mean_days": "float64",
    "customers_repeating": "int64",
    "repeats": "int64",
    "days_per_item": "float64",
}
REMINDER_SCHEMA: dict[str, str] = {
    "customer_id": "string",
    "product": "string",
    "last_purchase_date": "datetime64[s]",
    "last_quantity": "float64",
    "cycle_days": "int64",
    "product_cycle_days": "int64",
    "lasts_days": "int64",
    "due_date": "datetime64[s]",
    "days_until_due": "int64",
}
CYCLE_COLUMNS: tuple[str, ...] = tuple(CYCLE_SCHEMA)
REMINDER_COLUMNS: tuple[str, ...] = tuple(REMINDER_SCHEMA)


def purchase_days(
    orders: ir.Table, order_lines: ir.Table, as_of: date, purchases: ir.Table | None = None
) -> ir.Table:
    """``customer_id, product, order_date, items``: each customer's purchase days of a product
    (its variants together: :func:`replenished_products`) and the items of it bought that day
    (``purchases``: :func:`~valuecast.analysis.growth.affinity.product_purchases` to ``as_of``,
    if computed already)."""
    bought = purchases_of(orders, order_lines, as_of, purchases, customers_only=True)
    named = replenished_products(bought.select("product").distinct())
    bought = bought.inner_join(named, "product").mutate(product=ibis._.replenished)
    return bought.group_by(["customer_id", "product", "order_date"]).aggregate(
        items=bought["items"].sum()
    )


def replenished_products(products: ir.Table) -> ir.Table:
    """``product, replenished``: the product each distinct ``product`` is re-bought as.

    Variants of one product, as Shopify and WooCommerce name them (``Coffee - 250g`` and
    ``Coffee - 1kg``: the same title before the last `` - ``), are one product re-bought under
    their title: a customer who takes the larger bag next time re-bought the coffee.  A name
    whose title no other name shares stays as it is.
    """
    titles = variant_titles(products)  # the rule affinity and next products name them by
    return titles.select("product", replenished=titles.title)


def customer_cycles(days: ir.Table) -> ir.Table:
    """``customer_id, product, repeats, median_gap, mean_gap, days_per_item``: each customer's
    own rhythm with a product they re-bought, from :func:`purchase_days` rows: their repeats, the
    median and mean of their gaps, and the median of gap / items bought at the previous purchase
    day (how long one item lasts them).  Customers without a repeat have no row."""
    per_product = ibis.window(group_by=["customer_id", "product"], order_by="order_date")
    lagged = days.mutate(
        previous=days.order_date.lag().over(per_product),
        previous_items=days["items"].lag().over(per_product),
    )
    gaps = lagged.filter(lagged.previous.notnull())
    gaps = gaps.mutate(gap=gaps.order_date.delta(gaps.previous, unit="day").cast("float64"))
    return gaps.group_by(["customer_id", "product"]).aggregate(
        repeats=gaps.count(),
        median_gap=gaps.gap.median(),
        mean_gap=gaps.gap.mean(),
        days_per_item=(gaps.gap / gaps.previous_items).median(),
    )


def replenishment_cycles(
    orders: ir.Table,
    order_lines: ir.Table,
    *,
    as_of: date | str | None = None,
    min_customers: int = MIN_CUSTOMERS,
    purchases: ir.Table | None = None,
) -> pd.DataFrame:
    """Per product the days its customers take to buy it again (:data:`CYCLE_COLUMNS`).

    Each repeating customer counts once (:func:`customer_cycles`): ``median_days`` is the
    median of the customers' median gaps, ``mean_days`` the mean of their mean gaps and
    ``days_per_item`` the median of their days per item, so a café re-buying every 3 days does
    not set the cycle of the monthly customers.  ``repeats`` = gaps, ``customers_repeating`` =
    customers with at least one repeat (at least ``min_customers``), ``cycle_days`` = the median
    rounded to whole days.  Sorted by customers repeating (descending), then product.  ``as_of``
    None means the last order date; ``purchases`` as :func:`purchase_days` takes them.
    """
    if int(min_customers) < 1:
        raise ValueError(f"min_customers must be at least 1 (got {min_customers})")
    as_of_date = resolve_as_of(orders, as_of)
    customers = customer_cycles(purchase_days(orders, order_lines, as_of_date, purchases))
    cycles = customers.group_by("product").aggregate(
        customers_repeating=customers.count(),
        repeats=customers.repeats.sum(),
        median_days=customers.median_gap.median(),
        mean_days=customers.mean_gap.mean(),
        days_per_item=customers.days_per_item.median(),
    )
    cycles = cycles.filter(cycles.customers_repeating >= int(min_customers))
    frame = cycles.to_pandas()
    if not len(frame):
        return empty_frame(CYCLE_SCHEMA)
    frame["median_days"] = frame["median_days"].astype("float64")
    frame["mean_days"] = frame["mean_days"].astype("float64")
    frame["days_per_item"] = frame["days_per_item"].astype("float64")
    # halves up (np.round would round 14.5 to 14); gaps are >= 1 day, so the cycle is too
    frame["cycle_days"] = np.floor(frame["median_days"].to_numpy() + 0.5).astype("int64")
    frame = frame.astype(
        {"product": "string", "customers_repeating": "int64", "repeats": "int64"}
    ).sort_values(["customers_repeating", "product"], ascending=[False, True], kind="stable")
    return frame[list(CYCLE_COLUMNS)].reset_index(drop=True)


def reminders(
    orders: ir.Table,
    order_lines: ir.Table,
    *,
    as_of: date | str | None = None,
    cycles: pd.DataFrame | None = None,
    due_within: int | None = None,
    min_customers: int = MIN_CUSTOMERS,
    purchases: ir.Table | None = None,
) -> pd.DataFrame:
    """Per customer and cycled product they bought, when it is due again (:data:`REMINDER_COLUMNS`).

    ``cycles`` is a :func:`replenishment_cycles` table (``product``, ``cycle_days`` and, when it
    has it, ``days_per_item`` are read, else an item lasts a cycle; by default it is computed
    with ``min_customers``).  ``due_date`` = last purchase day of the product + ``lasts_days``,
    the days the items last: days per item x ``last_quantity`` (the items bought that day;
    ``cycle_days``, the days between purchases, is that of the items customers usually buy),
    on the customer's own days per item and
    cycle weighed with the product's when they re-bought the product (:func:`own_rhythm`),
    else the product's (``product_cycle_days``); ``days_until_due`` = due date - as-of date.
    With ``due_within`` only rows due within that many days of the as-of date, before or after
    it, and overdue by at most a cycle are kept (:func:`within_window`).  Dates are ``datetime64`` at midnight; rows are sorted by days until
    due, customer and product.
    ``purchases`` as :func:`purchase_days` takes them.
    """
    if due_within is not None and int(due_within) < 0:
        raise ValueError(f"due_within must be 0 or more days (got {due_within})")
    as_of_date = resolve_as_of(orders, as_of)
    if cycles is None:
        cycles = replenishment_cycles(
            orders, order_lines, as_of=as_of_date, min_customers=min_customers,
            purchases=purchases,
        )  # fmt: skip
    if not len(cycles):
        return empty_frame(REMINDER_SCHEMA)
    per_item = cycles["days_per_item"] if "days_per_item" in cycles else cycles["cycle_days"]
    rules = ibis.memtable(
        pd.DataFrame(
            {
                "product": cycles["product"].astype(str).to_numpy(),
                "cycle_days": cycles["cycle_days"].astype("int64").to_numpy(),
                "days_per_item": per_item.astype("float64").to_numpy(),
            }
        )
    )
    days = purchase_days(orders, order_lines, as_of_date, purchases)
    last = days.group_by(["customer_id", "product"]).aggregate(
        last_purchase_date=days.order_date.max(),
        last_quantity=days["items"].argmax(days.order_date),
    )
    joined = last.inner_join(rules, "product").mutate(product_cycle_days=ibis._.cycle_days)
    joined = own_rhythm(joined, customer_cycles(days))
    # the items last bought last that many times a single item's days (halves up, at least a day)
    lasts = (joined.days_per_item * joined.last_quantity + 0.5).floor().cast("int64")
    lasts = ibis.greatest(lasts, 1)
    since = ibis.literal(as_of_date, type="date").delta(joined.last_purchase_date, unit="day")
    due = joined.mutate(lasts=lasts, days_until_due=(lasts - since).cast("int64"))
    if due_within is not None:
        due = due.filter(
            within_window(due.days_until_due, due.cycle_days, due_within, int(due_within))
        )
    frame = (
        due.select(
            "customer_id",
            "product",
            "last_purchase_date",
            "last_quantity",
            "cycle_days",
            "product_cycle_days",
            "lasts",
            "days_until_due",
        )
        .order_by(["days_until_due", "customer_id", "product"])
        .to_pandas()
    )
    if not len(frame):
        return empty_frame(REMINDER_SCHEMA)
    last_dates = pd.to_datetime(frame["last_purchase_date"]).astype("datetime64[s]")
    frame["last_purchase_date"] = last_dates
    frame["lasts_days"] = frame["lasts"].astype("int64")
    lasting = pd.to_timedelta(frame["lasts_days"], unit="D")
    frame["due_date"] = (last_dates + lasting).astype("datetime64[s]")
    frame = frame.astype(
        {
            "customer_id": "string",
            "product": "string",
            "last_quantity": "float64",
            "cycle_days": "int64",
            "product_cycle_days": "int64",
            "days_until_due": "int64",
        }
    )
    return frame[list(REMINDER_COLUMNS)].reset_index(drop=True)


def own_rhythm(due: ir.Table, customers: ir.Table) -> ir.Table:
    """``due`` (a customer's last purchase of a product with the product's ``cycle_days`` and
    ``days_per_item``), where the customer re-bought it, with their own rhythm weighed in
    (:func:`customer_cycles`): with ``n`` repeats, days per item = (n x their own + the
    product's) / (n + 1), and ``cycle_days`` = (n x their median gap + the product's cycle) /
    (n + 1) rounded halves up.  A customer's own gaps predict their next purchase better than
    the product's typical one (on simulated shops of regular, irregular and heavy buyers the
    reminder lands within a week of the real next purchase about half again as often), and
    weighing the product's in as one more gap keeps a single odd gap (245 days on a 58-day
    product) from setting the customer's cycle outright, at no loss in that simulation."""
    own = customers.select(
        "customer_id",
        "product",
        own_repeats=customers.repeats.cast("float64"),
        own_gap=customers.median_gap,
        own_per_item=customers.days_per_item,
    )
    joined = due.left_join(own, ["customer_id", "product"]).drop(
        "customer_id_right", "product_right"
    )
    # a customer without a repeat has no own gap: weight 0 on it leaves the product's
    n = joined.own_repeats.fill_null(0.0)
    shrunk_cycle = (n * joined.own_gap.fill_null(0.0) + joined.cycle_days) / (n + 1)
    shrunk_per_item = (n * joined.own_per_item.fill_null(0.0) + joined.days_per_item) / (n + 1)
    return joined.mutate(
        cycle_days=(shrunk_cycle + 0.5).floor().cast("int64"),
        days_per_item=shrunk_per_item,
    ).drop("own_repeats", "own_gap", "own_per_item")


def within_window(
    days_until_due: ir.IntegerColumn | np.ndarray,
    cycle_days: ir.IntegerColumn | np.ndarray,
    due_within: int | None = None,
    overdue_within: int = DUE_WITHIN,
) -> ir.BooleanColumn | np.ndarray:
    """Per reminder, whether ``valuecast reminders`` keeps it: overdue by at most
    ``overdue_within`` days and at most one cycle (``days_until_due >= -min(overdue_within,
    cycle_days)``) and, given ``due_within``, due within that many days.  The command keeps
    the reminders overdue by as many days as it looks ahead (:func:`reminders`): a customer
    longer past the day their items ran out has had their reminder, and one a whole cycle past
    it has likely lapsed or buys elsewhere; reminding either is a win-back.  The columns are Ibis expressions
    (:func:`reminders`' filter) or NumPy arrays (:func:`kept_reminders` and
    :func:`reminder_counts` over a table of them)."""
    if isinstance(cycle_days, np.ndarray):
        grace = np.minimum(cycle_days, int(overdue_within))
    else:
        grace = ibis.least(cycle_days, int(overdue_within))
    kept = days_until_due >= -grace
    return kept if due_within is None else kept & (days_until_due <= int(due_within))


def _window(
    reminders: pd.DataFrame, due_within: int | None, overdue_within: int = DUE_WITHIN
) -> np.ndarray:
    """:func:`within_window` over a :func:`reminders` table (a missing day is in no window)."""
    days = pd.to_numeric(reminders["days_until_due"], errors="coerce").to_numpy(float)
    cycle = pd.to_numeric(reminders["cycle_days"], errors="coerce").to_numpy(float)
    return np.asarray(within_window(days, cycle, due_within, overdue_within), bool)


def kept_reminders(reminders: pd.DataFrame, due_within: int | None = None) -> pd.DataFrame:
    """The rows of a :func:`reminders` table (``reminders.csv``) that ``valuecast reminders``
    keeps (:func:`within_window`): overdue by at most ``due_within`` days (:data:`DUE_WITHIN`
    when None) and at most one cycle, and, given ``due_within``, due within that many days."""
    if not len(reminders):
        return reminders
    overdue_within = DUE_WITHIN if due_within is None else int(due_within)
    return reminders[_window(reminders, due_within, overdue_within)]


def reminder_counts(reminders: pd.DataFrame, due_within: int = DUE_WITHIN) -> dict[str, int]:
    """``due`` (due within ``due_within`` days of the as-of date, before or after it, and
    overdue by at most a cycle: what ``valuecast reminders`` shows, :func:`within_window`),
    ``later`` (due after that) and ``lapsed`` (overdue by longer: a win-back, not a reminder)
    of a :func:`reminders` table."""
    if not len(reminders):
        return {"due": 0, "later": 0, "lapsed": 0}
    due = _window(reminders, due_within, due_within)
    lapsed = ~_window(reminders, None, due_within)
    return {
        "due": int(due.sum()),
        "later": int((~due & ~lapsed).sum()),
        "lapsed": int(lapsed.sum()),
    }
