"""CLV by acquisition source, and what acquiring a customer cost: CAC, CLV:CAC and payback.

Its length (about 700 lines) is two tables that share their grouping rules (channel labels,
months, intervals): splitting them would split one definition of a channel.

Two tables built from the analysis customers table (:data:`valuecast.tables.CUSTOMER_COLUMNS`):

* :func:`clv_by_group`: customers and historic / predicted / total CLV (mean, median and an
  interval for the mean) per value of one customer attribute: ``acquisition_channel``,
  ``first_product``, ``first_discount_code``, ``accepts_marketing`` or any other column present
  in the frame (e.g. customer tags joined on email).
* :func:`cac_table`: per acquisition channel and cohort month (the month of the customer's first
  order), the marketing spend of a spend file (:func:`valuecast.io.spend.read_spend`), CAC, the
  CLV of the customers acquired, CLV:CAC, return per customer and the payback month, plus one
  row per channel over all months (``cohort_month == "all"``; :func:`cac_by_channel` returns
  just those); :func:`shop_cac_table` puts the whole shop's (blended) rows before them.

Definitions (exact; the docstrings of the functions repeat them where they apply):

* customers acquired = customers whose ``acquisition_channel`` (the channel of their first
  order; missing: the channel ``"(none)"``) is the channel and whose ``first_order_date`` falls
  in the month; channels are compared trimmed and case-insensitively, with the spend file too;
* CAC = spend / customers acquired; the shop's blended CAC (:func:`blended_cac`) = all the
  spend of the months with spend / every customer acquired in them, whatever their channel
  (none, or one without spend);
* CLV per customer = mean over the customers acquired of ``margin * historic_clv +
  predicted_clv`` (``predicted_clv`` is already times the analysis margin; historic CLV is net
  revenue and is multiplied by ``margin`` here; a missing prediction counts 0, as in
  ``total_clv``);
* CLV:CAC = CLV per customer / CAC; return per customer = CLV per customer - CAC;
* payback month = the first month k (0 = the acquisition month, 1 = the next calendar month ...)
  whose cumulative margin per acquired customer, ``margin * (net revenue of those customers in
  months 0..k) / customers acquired``, is >= CAC;
* flag: ``"below 1 (losing money)"`` when CLV:CAC < 1, ``"1-3"`` when 1 <= CLV:CAC < 3,
  ``"3 or more"`` when CLV:CAC >= 3 (the common 3:1 benchmark of a healthy channel);
* new customer CLV (:func:`with_new_customer_clv`) = ``margin * (first order value + repeat
  order value * discounted repeat orders)``: what a customer acquired today through the channel
  is expected to bring over the horizon, the number to hold against CAC (``new_customer_clv_to_cac``).  The historic
  columns average the customers the channel brought so far, and favour channels used long ago.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.special import stdtrit

from valuecast.analysis.backend import exact_sum, upload
from valuecast.analysis.growth.history import is_month_end
from valuecast.analysis.summary import SummaryError, default_as_of, prepare_orders
from valuecast.dates import as_date
from valuecast.io.spend import SHOP_WIDE, SPEND_BY_DAY, is_shop_wide
from valuecast.tables import check_margin

__all__ = [
    "ALL_MONTHS",
    "BLENDED",
    "CAC_COLUMNS",
    "CLV_METRICS",
    "ENGAGED",
    "NONE_LABEL",
    "NOT_ENGAGED",
    "NOT_PAID_BACK",
    "blended_cac",
    "blended_spend",
    "cac_by_channel",
    "cac_table",
    "canonical_channels",
    "spellings_made_one",
    "channel_groups",
    "channel_notes",
    "channels_frame",
    "clv_by_group",
    "flag_ratio",
    "group_labels",
    "left_out_spend_note",
    "shop_wide_spend_note",
    "mean_interval",
    "monthly_revenue",
    "new_customer_columns",
    "per_channel_rows",
    "shop_cac",
    "shop_cac_table",
    "with_new_customer_clv",
]

CLV_METRICS: tuple[str, ...] = ("historic_clv", "predicted_clv", "total_clv")
NONE_LABEL = "(none)"
ENGAGED, NOT_ENGAGED = "engaged", "not engaged"
ALL_MONTHS = "all"
# the label of cac.csv's rows of the whole shop: every channel's spend over every new customer
BLENDED = SHOP_WIDE
CAC_COLUMNS: tuple[str, ...] = (
    "channel",
    "cohort_month",
    "customers",
    "spend",
    "cac",
    "clv_per_customer",
    "clv_to_cac",
    "roi_per_customer",
    "payback_month",
    "flag",
    "note",
)
FLAG_LOSING, FLAG_MIDDLE, FLAG_HEALTHY = "below 1 (losing money)", "1-3", "3 or more"
NO_SPEND, NO_CUSTOMERS = "no spend reported", "no customers acquired"
ZERO_SPEND = "spend is 0: CAC is 0 and CLV:CAC undefined"
NOT_PAID_BACK = "not paid back yet"

_TRUE_TEXT = {"true", "t", "yes", "y", "1", "subscribed", "confirmed_opt_in", "opted in"}
# comparisons of ratios and cumulative margins are made at 1e-9 so float noise (0.1 + 0.2)
# never moves a channel across a flag boundary or delays its payback by a month
_DECIMALS = 9


# ------------------------------------------------------------------------------------------------
# group labels
# ------------------------------------------------------------------------------------------------
def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _is_true(value: object) -> bool:
    if _is_missing(value):
        return False
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return value == 1
    return str(value).strip().lower() in _TRUE_TEXT


def group_labels(values: pd.Series, column: str) -> pd.Series:
    """The group label of every customer: the value as text, ``"(none)"`` when missing.

    For ``accepts_marketing`` the labels are ``"engaged"`` (True, or a yes/true/1/subscribed
    text) and ``"not engaged"`` (False or missing: a customer who never said yes is not
    reachable by marketing).
    """
    codes, labels = _label_codes(values, column)
    return pd.Series(labels[codes], index=values.index, dtype=object)


def _label_codes(values: pd.Series, column: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`group_labels` as every row's position in ``labels`` and ``labels`` (one per
    distinct value, then the missing values' label; two values can share a label).

    Labelled once per distinct value: a million customers have a handful of channels.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = [*_distinct_labels(pd.Series(uniques, dtype=object), column)]
    labels.append(NOT_ENGAGED if column == "accepts_marketing" else NONE_LABEL)
    return np.where(codes >= 0, codes, len(labels) - 1), np.asarray(labels, dtype=object)


def _distinct_labels(values: pd.Series, column: str) -> pd.Series:
    if column == "accepts_marketing":
        labels = [ENGAGED if _is_true(value) else NOT_ENGAGED for value in values]
        return pd.Series(labels, index=values.index, dtype=object)
    objects = values.astype(object)
    text = objects.where(objects.isna(), objects.map(str, na_action="ignore")).astype(object)
    text = text.where(text.isna(), text.str.strip())
    return text.mask(text.isna() | (text == ""), NONE_LABEL).astype(object)


# ------------------------------------------------------------------------------------------------
# CLV by group
# ------------------------------------------------------------------------------------------------
def mean_interval(values: Iterable[float], level: float = 0.90) -> tuple[float, float]:
    """Student-t interval for the mean: ``mean -/+ t(n-1, (1+level)/2) * s / sqrt(n)``.

    ``s`` is the sample standard deviation (ddof=1). NaN values are dropped first; with fewer
    than two values there is no standard error and both bounds are NaN.
    """
    data = np.asarray(list(values), dtype=float)
    data = data[~np.isnan(data)]
    if len(data) < 2:
        return float("nan"), float("nan")
    mean = float(data.mean())
    standard_error = float(data.std(ddof=1)) / math.sqrt(len(data))
    quantile = float(stdtrit(len(data) - 1, (1.0 + level) / 2.0))
    return mean - quantile * standard_error, mean + quantile * standard_error


def clv_by_group(customers: pd.DataFrame, column: str, *, level: float = 0.90) -> pd.DataFrame:
    """Customers and CLV per value of ``column`` of the customers table, one row per group.

    Columns: ``column`` (the group label, see :func:`group_labels`: missing values form the
    group ``"(none)"``; for ``accepts_marketing`` the groups are ``"engaged"`` / ``"not
    engaged"``), ``customers`` (all customers of the group), then for each of ``historic_clv``,
    ``predicted_clv`` and ``total_clv``: ``<metric>_mean``, ``<metric>_median``,
    ``<metric>_low`` and ``<metric>_high`` (the ``level`` interval for the mean, 90% by default)
    and ``<metric>_missing`` (customers whose value is NaN: left out of that metric's mean,
    median and interval; ``predicted_clv`` is NaN when the models could not be fitted).  Rows
    are sorted by customers (most first), then label.

    The interval is the Student-t interval for a mean, ``mean -/+ t(n-1, (1+level)/2) * s /
    sqrt(n)`` with ``s`` the sample standard deviation (ddof=1) of the group's n non-missing
    values; empty (NaN) for groups with fewer than two values.  Why t rather than the normal
    approximation or a bootstrap: it equals the normal approximation with the sample standard
    error for large groups, and widens it for small ones where ``s`` itself is uncertain
    (z = 1.645 against t = 2.92 for three customers); a percentile bootstrap is *narrower* than
    both for small groups (it under-covers), needs a seed to be reproducible and costs far more
    for thousands of groups.  CLV is right-skewed, so for small groups the interval is a guide,
    not an exact 90%; its lower end is cut at 0, below which no mean of CLVs lies.
    """
    if column not in customers.columns:
        raise ValueError(
            f"no column {column!r} in the customers table "
            f"(it has {', '.join(map(str, customers.columns))})"
        )
    if not 0 < level < 1:
        raise ValueError(f"interval level must be between 0 and 1 (got {level})")
    missing = [metric for metric in CLV_METRICS if metric not in customers.columns]
    if missing:
        raise ValueError(f"the customers table has no {', '.join(missing)} column")
    # the customers grouped by their label's code, not by a million texts
    row_codes, row_labels = _label_codes(customers[column], column)
    label_codes, labels = pd.factorize(pd.Series(row_labels, dtype=object).astype(str))
    values = pd.DataFrame(
        {
            metric: pd.to_numeric(customers[metric], errors="coerce").astype(float).to_numpy()
            for metric in CLV_METRICS
        },
        index=customers.index,
    )
    grouped = values.groupby(label_codes[row_codes], sort=False)
    sizes = grouped.size()
    names = labels[sizes.index.to_numpy()]
    out = pd.DataFrame({column: names.astype(object), "customers": sizes.to_numpy()})
    for metric in CLV_METRICS:
        by = grouped[metric]
        _metric_columns(
            out, metric, level,
            count=by.count().reindex(sizes.index).to_numpy(),
            mean=by.mean().reindex(sizes.index).to_numpy(),
            std=by.std(ddof=1).reindex(sizes.index).to_numpy(),
            median=by.median().reindex(sizes.index).to_numpy(),
        )  # fmt: skip
    return _ordered_groups(out, column)


def _metric_columns(out: pd.DataFrame, metric: str, level: float, *, count, mean, std, median):
    """``out``'s five columns of ``metric`` from its per-group count, mean, sample standard
    deviation and median (:func:`clv_by_group`'s definitions)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        quantile = np.where(
            count >= 2, stdtrit(np.maximum(count - 1, 1), (1.0 + level) / 2.0), np.nan
        )
        half = quantile * std / np.sqrt(count)
    out[f"{metric}_mean"] = mean
    out[f"{metric}_median"] = median
    # no CLV is negative, so neither is a group's mean: a small, skewed group's t interval
    # (4 customers, one of them large) reached below 0, which only a negative value could
    out[f"{metric}_low"] = np.maximum(mean - half, 0.0)
    out[f"{metric}_high"] = mean + half
    out[f"{metric}_missing"] = (out["customers"].to_numpy() - count).astype("int64")


def _ordered_groups(out: pd.DataFrame, column: str) -> pd.DataFrame:
    """:func:`clv_by_group`'s columns, by customers (most first), then label."""
    columns = [column, "customers"] + [
        f"{metric}_{part}"
        for metric in CLV_METRICS
        for part in ("mean", "median", "low", "high", "missing")
    ]
    return (
        out[columns]
        .sort_values(["customers", column], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )


@ibis.udf.agg.builtin(name="quantile_disc")
def _lower_quantile(arg: dt.float64, q: dt.float64) -> dt.float64:
    """DuckDB's ``quantile_disc``: the value at the ``q`` position of the sorted values (the
    lower of the two middle ones at 0.5); NULL skipped."""


def channel_groups(
    customers: ir.Table, *, level: float = 0.90
) -> tuple[pd.DataFrame, pd.Series, float]:
    """:func:`clv_by_group` of the :func:`canonical_channels` of a customers table in the
    engine (DuckDB), the mean first and repeat order values per channel key (trimmed,
    case-folded) and the shop's (what :func:`new_customer_columns` reads).

    A few GROUP BYs of the stored customers instead of a frame of every customer in Python
    (2.8 s of a loaded 2-core machine at 1M customers, 0.2 s here; 2.9 GB at 10M): the
    channels' spellings are made one from a count per distinct channel, and each group's
    median is the mean of its two middle values, as pandas takes it, so the table is the
    frame's to the last bits of the means.
    """
    raw = customers.acquisition_channel
    tally = customers.group_by(raw=raw).aggregate(n=customers.count()).to_pandas()
    codes, labels = _label_codes(tally["raw"], "acquisition_channel")
    canonical = _canonical_of_labels(
        labels, np.bincount(codes, weights=tally["n"], minlength=len(labels))
    )
    named = tally["raw"].notna().to_numpy()
    releases: list = []
    customers, label = _spelled_channels(
        customers, tally["raw"][named].tolist(), canonical[codes][named].tolist(),
        missing=canonical[-1], releases=releases,
    )  # fmt: skip
    values = {name: _missing_if_nan(customers[name]) for name in CLV_METRICS}
    aggregates: dict[str, ir.Value] = {"customers": customers.count()}
    for name in _ORDER_VALUES.values():
        value = _missing_if_nan(customers[name])
        aggregates.update({f"{name}__count": value.count(), f"{name}__sum": exact_sum(value)})
    for name, value in values.items():
        # the mean from an exact sum: a float mean's last bits follow the order the engine's
        # threads add the customers in, and the report's chart shows the means in full
        count, total = value.count(), exact_sum(value)
        aggregates.update(
            {
                f"{name}__count": count,
                f"{name}__sum": total,
                f"{name}__mean": ibis.ifelse(count > 0, total / count, ibis.null("float64")),
                f"{name}__std": value.std(how="sample"),
            }
        )
    # each middle value in a query of its own: a quantile holds every value of its group in
    # memory and cannot spill (six at once ran out of a 1 GB limit at 10M customers)
    middles = {
        f"{metric}__{side}": (1.0 if side == "lower" else -1.0) * values[metric]
        for metric in CLV_METRICS
        for side in ("lower", "upper")
    }
    try:
        cells = customers.group_by(acquisition_channel=label).aggregate(**aggregates).to_pandas()
        for name, value in middles.items():
            middle = customers.group_by(acquisition_channel=label).aggregate(
                **{name: _lower_quantile(value, 0.5)}
            )
            found = middle.to_pandas().set_index("acquisition_channel")[name]
            cells[name] = cells["acquisition_channel"].map(found)
            if name.endswith("__upper"):
                cells[name] = -cells[name]
    finally:
        for release in releases:
            release()
    out = cells[["acquisition_channel", "customers"]].astype({"acquisition_channel": object})
    out["customers"] = out["customers"].astype("int64")
    for metric in CLV_METRICS:
        column = cells[[f"{metric}__{part}" for part in _PARTS]].astype(float).to_numpy().T
        count, _, mean, std, lower, upper = column
        _metric_columns(out, metric, level, count=count.astype("int64"), mean=mean, std=std,
                        median=(lower + upper) / 2)  # fmt: skip
    keys = out["acquisition_channel"].astype(str).str.strip().str.casefold()
    order_values = pd.DataFrame(index=pd.Index(keys.to_numpy()), columns=list(_ORDER_VALUES))
    shop = pd.Series(np.nan, index=list(_ORDER_VALUES))
    for part, name in _ORDER_VALUES.items():
        count = cells[f"{name}__count"].astype(float).to_numpy()
        total = cells[f"{name}__sum"].astype(float).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            order_values[part] = np.where(count > 0, total / count, np.nan)
        shop[part] = total.sum() / count.sum() if count.sum() else np.nan
    return _ordered_groups(out, "acquisition_channel"), order_values.astype(float), shop


def _spelled_channels(
    customers: ir.Table, raws: list[str], labels: list[str], *, missing: str, releases: list
) -> tuple[ir.Table, ir.StringValue]:
    """``customers`` and the label of each one's channel: ``labels[i]`` for the spelling
    ``raws[i]``, ``missing`` for a missing channel.

    When every spelling is its own label (one spelling a channel, or no channel at all) the
    label is the column itself; otherwise the customers are joined to the table of spellings
    (``releases`` gets what drops it).  Without the join each of the grouping's queries scans
    the customers alone (1M customers: 0.40 -> 0.27 s of CPU for all of them).
    """
    if raws == labels:
        return customers, customers.acquisition_channel.fill_null(missing)
    mapping = pa.table(
        {"_raw": pa.array(raws, pa.string()), "_label": pa.array(labels, pa.string())}
    )
    spelled = upload(customers, mapping, "channels", releases)
    customers = customers.left_join(spelled, customers.acquisition_channel == spelled._raw)
    # a missing channel joins nothing: the label of missing values
    return customers, customers._label.fill_null(missing)


_ORDER_VALUES = {"first": "average_order_value", "repeat": "predicted_average_order_value"}
"""The customers' columns behind a new customer's first and repeat orders' values."""
_PARTS = ("count", "sum", "mean", "std", "lower", "upper")


def _missing_if_nan(value: ir.FloatingValue) -> ir.FloatingValue:
    """NaN as NULL, as pandas skips it (the engine would count and sort it as a value)."""
    value = value.cast("float64")
    return ibis.ifelse(value.isnan(), ibis.null().cast("float64"), value)


# ------------------------------------------------------------------------------------------------
# monthly revenue per customer (Ibis)
# ------------------------------------------------------------------------------------------------
def monthly_revenue(orders: ir.Table, as_of: date | datetime | str | None = None) -> pd.DataFrame:
    """Net revenue per customer and calendar month: ``customer_id, month ('YYYY-MM'), net_revenue``.

    ``orders`` is a canonical orders table (e.g. ``Workspace.orders()``); the rules are the
    summary's: guests (customer_id NULL) and orders without a date or after ``as_of`` (default:
    the last order date) are left out, and a missing net revenue counts 0.  Aggregated in the
    engine (one GROUP BY); rows sorted by customer_id, month.  The guests' orders per month
    (``'YYYY-MM'`` -> orders), which no CAC counts as customers, are its ``guest_orders``
    attribute, for the blended CAC's note (:func:`blended_cac`), and per the channel their
    orders give (``None`` for none) its ``guest_orders_by_channel`` (channel -> month ->
    orders), for each channel's (:func:`cac_table`).
    """
    as_of_date = (
        default_as_of(orders) if as_of is None else as_date(as_of, "as-of", error=SummaryError)
    )
    o = prepare_orders(orders)
    if as_of_date is None:  # no dated orders at all
        return pd.DataFrame(
            {
                "customer_id": pd.Series(dtype=object),
                "month": pd.Series(dtype=object),
                "net_revenue": pd.Series(dtype=float),
            }
        )
    known = o.filter(
        o.customer_id.notnull(),
        o.order_date.notnull(),
        o.order_date <= ibis.literal(as_of_date, type="date"),
    )
    grouped = (
        known.group_by(customer_id=known.customer_id, month=known.order_date.strftime("%Y-%m"))
        .aggregate(net_revenue=known.net_revenue.sum())
        .order_by(["customer_id", "month"])
    )
    out = grouped.to_pandas()
    out["net_revenue"] = out["net_revenue"].astype(float)
    out = out.reset_index(drop=True)
    guests = o.filter(
        o.customer_id.isnull(),
        o.order_date.notnull(),
        o.order_date <= ibis.literal(as_of_date, type="date"),
    )
    by_channel = (
        guests.group_by(channel=guests.channel, month=guests.order_date.strftime("%Y-%m"))
        .aggregate(orders=guests.count())
        .to_pandas()
    )
    by_channel["orders"] = by_channel["orders"].astype("int64")
    out.attrs["guest_orders"] = by_channel.groupby("month")["orders"].sum().sort_index()
    # plain dicts: an attribute holding a frame cannot be compared when pandas combines frames
    out.attrs["guest_orders_by_channel"] = {
        None if pd.isna(channel) else str(channel): dict(
            zip(rows["month"], rows["orders"], strict=True)
        )
        for channel, rows in by_channel.groupby("channel", dropna=False, sort=True)
    }
    return out


# ------------------------------------------------------------------------------------------------
# CAC, CLV:CAC and payback
# ------------------------------------------------------------------------------------------------
def flag_ratio(ratio: float) -> str | None:
    """``"below 1 (losing money)"`` (< 1), ``"1-3"`` (1 <= ratio < 3), ``"3 or more"`` (>= 3).

    The ratio is rounded to 9 decimals first; ``None`` for an undefined (NaN or infinite) ratio.
    """
    if ratio is None or not np.isfinite(ratio):
        return None
    rounded = round(float(ratio), _DECIMALS)
    if rounded < 1:
        return FLAG_LOSING
    if rounded < 3:
        return FLAG_MIDDLE
    return FLAG_HEALTHY


def _month_number(month: pd.Series) -> pd.Series:
    """'YYYY-MM' -> year * 12 + month - 1 (so month differences are whole numbers).

    Parsed once per distinct value (a few dozen months for millions of rows).
    """
    codes, distinct = pd.factorize(month.astype(str))
    numbers = np.empty(len(distinct), dtype=np.int64)
    for position, text in enumerate(distinct):
        if len(text) != 7 or text[4] != "-" or not (text[:4] + text[5:]).isdigit():
            raise ValueError(f"month {text!r} is not YYYY-MM")
        numbers[position] = int(text[:4]) * 12 + int(text[5:]) - 1
    return pd.Series(numbers[codes], index=month.index)


def _month_text(number: int) -> str:
    """year * 12 + month - 1 -> 'YYYY-MM'."""
    return f"{int(number) // 12:04d}-{int(number) % 12 + 1:02d}"


def _month_categorical(numbers: np.ndarray) -> pd.Categorical:
    codes, distinct = pd.factorize(numbers)
    return pd.Categorical.from_codes(codes, categories=[_month_text(n) for n in distinct])


def _key(label: str) -> str:
    """Channels are matched case-insensitively, their runs of spaces as one ("Facebook  Ads"
    is "facebook ads ")."""
    return " ".join(label.split()).casefold()


def _spellings(labels: pd.Series) -> dict[str, str]:
    """Channel key -> its most common spelling (ties: the first in sort order)."""
    return _spellings_of(labels.value_counts())


def _spellings_of(tally: pd.Series) -> dict[str, str]:
    """:func:`_spellings` from the count of each label (``tally``: label -> count)."""
    tally = tally[tally > 0]  # categories without customers
    counts = pd.DataFrame({"label": tally.index.astype(str), "n": tally.to_numpy()})
    counts["key"] = counts["label"].map(_key)
    counts = counts.sort_values(["n", "label"], ascending=[False, True], kind="stable")
    return dict(counts.drop_duplicates("key")[["key", "label"]].itertuples(index=False))


def spellings_made_one(tally: pd.Series) -> dict[str, str]:
    """Each label of ``tally`` (label -> customers) -> the most common spelling of its
    case-folded, space-normalised form, as :func:`canonical_channels` spells it; the missing
    values' label stays itself."""
    spelling = _spellings_of(tally)
    return {
        str(label): str(label) if label == NONE_LABEL else spelling.get(_key(str(label)), label)
        for label in tally.index
    }


def canonical_channels(values: pd.Series) -> pd.Series:
    """Channel labels with spellings that differ only in case or spaces made one.

    Missing channels become ``"(none)"`` (:func:`group_labels`); every other value becomes the
    most common spelling of its space-normalised, case-folded form ("Google", "google " and "google"
    twice -> "google"), the spelling :func:`cac_table` shows.  Group a customers table by it to
    get CLV rows that line up one to one with the CAC rows.
    """
    # labelled, counted and spelled once per distinct value, not per customer
    codes, labels = _label_codes(values, "acquisition_channel")
    canonical = _canonical_of_labels(labels, np.bincount(codes, minlength=len(labels)))
    return pd.Series(canonical[codes], index=values.index, dtype=object)


def _canonical_of_labels(labels: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The most common spelling of each label's key, from the customers counted per label."""
    counts = np.asarray(counts).astype("int64")
    tally = pd.Series(counts, index=pd.Index(labels, dtype=object)).groupby(level=0).sum()
    spelling = _spellings_of(tally)
    return np.asarray([spelling.get(_key(label)) for label in labels], dtype=object)


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"the {what} has no {', '.join(missing)} column "
            f"(it has {', '.join(map(str, frame.columns))})"
        )


def _payback(revenue: pd.Series, customers: int, cac: float, margin: float) -> float:
    """First offset k with margin * sum(revenue[0..k]) / customers >= cac; NaN if never.

    ``revenue`` is indexed by month offset (0 = acquisition month); months without revenue add 0.
    Only months up to the last one with revenue data are looked at: later ones are not observed.
    """
    if customers == 0 or not np.isfinite(cac):
        return float("nan")
    last = int(revenue.index.max()) if len(revenue) else 0
    cumulative = 0.0
    for k in range(last + 1):
        cumulative += margin * float(revenue.get(k, 0.0)) / customers
        if round(cumulative - cac, _DECIMALS) >= 0:
            return float(k)
    return float("nan")


def _partial_month(as_of: date | datetime | str | None) -> tuple[str, int, int] | None:
    """The as-of date's month when the date is not its last day (the cohorts' partial month,
    :func:`~valuecast.analysis.growth.history.is_month_end`): (``YYYY-MM``, days to the as-of
    date, days in the month); None for a whole month or no as-of date."""
    if as_of is None:
        return None
    stamp = pd.Timestamp(as_of)
    if is_month_end(stamp.date()):
        return None
    return f"{stamp.year:04d}-{stamp.month:02d}", int(stamp.day), int(stamp.days_in_month)


@dataclass(frozen=True)
class SpendToAsOf:
    """The spend of a frame to the as-of date (:func:`spend_to_as_of`).

    ``frame`` is the frame with the as-of month's daily spend cut to its days up to the date;
    ``cut`` the (channel key, amount) taken off; ``to_the_day`` and ``undated`` the channel
    keys of the as-of month's rows that name days (their spend and customers cover the same
    days) and that do not."""

    frame: pd.DataFrame
    cut: dict[str, float]
    to_the_day: frozenset[str]
    undated: frozenset[str]


def _no_days(days: object) -> bool:
    return days is None or (isinstance(days, float) and math.isnan(days))


def spend_to_as_of(spend: pd.DataFrame, as_of: date | datetime | str | None) -> SpendToAsOf:
    """``spend`` without the days after ``as_of`` in its month.

    A daily spend file (:data:`~valuecast.io.spend.SPEND_BY_DAY`) may run past the as-of date
    (an analysis ``--as-of`` an earlier day, or orders exported before the spend): the as-of
    month's spend of the later days bought customers the orders do not hold, as the months
    after it did.  A row of a month's spend (no days) is kept whole: its days are unknown."""
    partial = _partial_month(as_of)
    if partial is None or SPEND_BY_DAY not in spend.columns or not len(spend):
        return SpendToAsOf(spend, {}, frozenset(), frozenset())
    month, day, _ = partial
    frame = spend.copy()
    cut: dict[str, float] = {}
    dated: set[str] = set()
    undated: set[str] = set()
    spend_column = frame.columns.get_loc("spend")
    for row in np.flatnonzero((spend["month"].astype(str) == month).to_numpy()):
        key = _key(str(spend["channel"].iloc[row]))
        days = spend[SPEND_BY_DAY].iloc[row]
        if _no_days(days):
            undated.add(key)
            continue
        dated.add(key)
        kept = float(np.asarray(days, dtype=float)[:day].sum())
        later = float(spend["spend"].iloc[row]) - kept
        if round(later, 2) > 0:
            frame.iloc[row, spend_column] = kept
            cut[key] = cut.get(key, 0.0) + later
    return SpendToAsOf(frame, cut, frozenset(dated - undated), frozenset(undated))


def _row(
    label: str,
    month: str,
    acquired: pd.DataFrame,
    spend: float,
    revenue: pd.Series,
    margin: float,
    notes: list[str],
) -> dict[str, object]:
    n = int(len(acquired))
    clv = float(acquired["clv"].mean()) if n else float("nan")
    unpredicted = int(acquired["unpredicted"].sum())
    if unpredicted:
        notes.append(
            f"no predicted CLV for {unpredicted} of {n} customers (none made: the analysis' "
            "notes say why): their CLV is historic only"
        )
    cac = spend / n if n and not np.isnan(spend) else float("nan")
    if n and not np.isnan(spend) and spend == 0:
        notes.append(ZERO_SPEND)
    ratio = clv / cac if np.isfinite(cac) and cac > 0 else float("nan")
    payback = _payback(revenue, n, cac, margin)
    if np.isfinite(cac) and np.isnan(payback):
        # an empty payback month reads as missing data; the report says the same words
        notes.append(NOT_PAID_BACK)
    return {
        "channel": label,
        "cohort_month": month,
        "customers": n,
        "spend": spend,
        "cac": cac,
        "clv_per_customer": clv,
        "clv_to_cac": ratio,
        "roi_per_customer": clv - cac if np.isfinite(cac) else float("nan"),
        "payback_month": payback,
        "flag": flag_ratio(ratio),
        "note": "; ".join(notes) if notes else None,
    }


def cac_table(
    customers: pd.DataFrame,
    spend: pd.DataFrame,
    orders_monthly: pd.DataFrame,
    *,
    margin: float = 1.0,
    as_of: date | datetime | str | None = None,
) -> pd.DataFrame:
    """CAC, CLV:CAC and payback per acquisition channel and cohort month, and per channel.

    The whole shop's spend (a spend row of :data:`~valuecast.io.spend.SHOP_WIDE`, ``all`` or
    ``total``) is no channel's: it is left out here and counted by :func:`blended_cac`.

    ``customers`` is the analysis customers table (``customer_id``, ``acquisition_channel``,
    ``first_order_date``, ``historic_clv``, ``predicted_clv``), ``spend`` the frame of
    :func:`valuecast.io.spend.read_spend` (``month, channel, spend``), ``orders_monthly`` the
    frame of :func:`monthly_revenue` (``customer_id, month, net_revenue``), and ``margin`` the
    share of net revenue kept as profit: the same margin the analysis was run with, because
    ``predicted_clv`` already includes it and only the historic revenue is multiplied here.

    Columns :data:`CAC_COLUMNS`, one row per (channel, month) that has acquired customers or a
    spend row:

    * ``customers``: customers acquired (``acquisition_channel`` = channel, month of
      ``first_order_date`` = ``cohort_month``); customers without a channel are the channel
      ``"(none)"``.  Channels are matched to the spend file trimmed and case-insensitively;
      the label is the customers table's most common spelling (the spend file's for a channel
      without customers), as :func:`canonical_channels` gives.
    * ``spend``: the month's reported spend; empty with the note ``"no spend reported"`` when
      the spend file has no row for it (never taken as zero).
    * ``cac`` = spend / customers; empty when no customers were acquired (note ``"no customers
      acquired"``) or no spend is reported.
    * ``clv_per_customer`` = mean of ``margin * historic_clv + predicted_clv`` over the customers
      acquired; a missing prediction (none made: no model fitted, or predictions withheld)
      counts 0 and the note says for how many customers.
    * ``clv_to_cac`` = clv_per_customer / cac (empty when CAC is empty or 0);
      ``roi_per_customer`` = clv_per_customer - cac.
    * ``payback_month``: the first month k (0 = the cohort month) where the cumulative margin per
      acquired customer, ``margin * (net revenue of the cohort's customers in months 0..k) /
      customers``, is >= CAC (compared at 1e-9); empty, with the note ``"not paid back yet"``,
      when not reached by the last month of ``orders_monthly``.  It counts historic revenue
      only, never predictions.
    * ``flag``: :func:`flag_ratio` of CLV:CAC: ``"below 1 (losing money)"``, ``"1-3"`` or
      ``"3 or more"``.

    Per channel a row with ``cohort_month = "all"`` follows its months.  It covers the months
    the spend file reports for the channel: ``spend`` is their total, ``customers`` the
    customers acquired in those months (customers of months without a spend row are left out,
    counted in the note, so CAC never divides reported spend by unpaid-for customers), and the
    payback pools those customers by months since their own acquisition month.  Recent cohorts
    have had fewer months to pay back, so the pooled payback is conservative (later, or empty).
    A channel without any spend row gets spend empty, all its customers and ``"no spend
    reported"``.  Rows are sorted by channel (case-insensitively), months ascending, ``all`` last.

    Spend of months after ``as_of``'s month (the analysis' as-of date), and of months before
    the first customer's first order (the orders do not reach back there), is left out: the
    customers it acquired are not in ``customers``.  The channel's ``all`` row notes the months
    and the amount left out.  The as-of date's own month, when the date is not its last day, is
    partial: its row says so, and the ``all`` row leaves it out where other months have spend
    (a month's spend against the customers of its first days would inflate the CAC).  A
    channel's spend of that month written day by day counts its days up to the as-of date
    only (the later days' spend is left out as spend after it: :func:`spend_to_as_of`), and
    its ``all`` row keeps the month: its spend and its customers cover the same days.
    """
    _require(spend, ("month", "channel", "spend"), "spend table")
    to_date = spend_to_as_of(spend, as_of)
    named = to_date.frame[~_shop_wide_rows(to_date.frame)]
    shop_key = _key(SHOP_WIDE)  # the whole shop's spend is no channel's, here as in its rows
    to_date = SpendToAsOf(
        named,
        {key: amount for key, amount in to_date.cut.items() if key != shop_key},
        to_date.to_the_day,
        to_date.undated,
    )
    guests = _guests_by_key(orders_monthly.attrs.get("guest_orders_by_channel"))
    return _cac_rows(
        customers,
        named,
        orders_monthly,
        margin=margin,
        as_of=as_of,
        guests=guests,
        per_channel=True,
        to_date=to_date,
    )


def _guests_by_key(by_channel: dict[str | None, dict[str, int]] | None) -> dict[str, pd.Series]:
    """The guest orders per month of each channel key (:func:`_key`) from
    :func:`monthly_revenue`'s ``guest_orders_by_channel``; orders without a channel are the
    channel ``"(none)"``, as customers without one are."""
    merged: dict[str, pd.Series] = {}
    for label, months in (by_channel or {}).items():
        key = _key(NONE_LABEL if label is None or not label.strip() else label)
        orders = pd.Series(months, dtype="int64")
        merged[key] = orders if key not in merged else merged[key].add(orders, fill_value=0)
    return merged


def _shop_wide_rows(spend: pd.DataFrame) -> np.ndarray:
    """Which rows of a spend frame are the whole shop's (:func:`~valuecast.io.spend.is_shop_wide`),
    read once per distinct channel."""
    channels = spend["channel"].astype(str)
    flags = {channel: is_shop_wide(channel) for channel in channels.unique()}
    return channels.map(flags).to_numpy(dtype=bool)


def blended_spend(spend: pd.DataFrame) -> pd.Series:
    """The whole shop's spend per month (``'YYYY-MM'`` -> amount), each month's once: its
    shop-wide row, which is the month's total (the channels' spend is part of it, as
    :func:`~valuecast.io.spend.read_spend` reads it), else the sum of its channels' rows.

    A shop-wide amount below the channels' sum (which the reader refuses; a frame built
    otherwise may hold one) counts as the channels' sum: no channel's spend is left out."""
    _require(spend, ("month", "channel", "spend"), "spend table")
    shop = _shop_wide_rows(spend)
    amounts = pd.to_numeric(spend["spend"]).astype(float).to_numpy()
    months = spend["month"].astype(str).to_numpy()
    named = pd.Series(amounts[~shop]).groupby(months[~shop]).sum()
    total = pd.Series(amounts[shop]).groupby(months[shop]).sum()
    both = pd.concat([named, total], axis=1, keys=["named", "total"])
    return both.max(axis=1).astype(float).sort_index()


def blended_cac(
    customers: pd.DataFrame,
    spend: pd.DataFrame,
    orders_monthly: pd.DataFrame,
    *,
    margin: float = 1.0,
    as_of: date | datetime | str | None = None,
) -> pd.DataFrame:
    """The whole shop's (blended) CAC, CLV:CAC and payback per cohort month and over all months:
    :func:`cac_table`'s rows of one channel, :data:`BLENDED`, that every customer came through
    and every spend row paid for (:func:`blended_spend`: a month's spend counted once, whether
    the file gives it per channel, as a total, or both).

    So CAC = the spend of the months with spend / every customer acquired in them (those of no
    channel and of channels without spend too), as merchants read a blended CAC; the ``all``
    row follows :func:`cac_table`'s rules (months with spend only, the partial as-of month, the
    spend before the first order or after the as-of date left out and noted).  Its
    ``left_out_spend`` attribute is the shop's note on that spend (:func:`left_out_spend_note`).
    """
    to_date = spend_to_as_of(spend, as_of)
    monthly = blended_spend(to_date.frame)
    shop_spend = pd.DataFrame(
        {"month": monthly.index.astype(str), "channel": BLENDED, "spend": monthly.to_numpy()}
    )
    if to_date.cut:  # the month's total counted once: what its days after the date add to it
        partial = _partial_month(as_of)
        cut = float(blended_spend(spend).get(partial[0], 0.0)) - float(monthly.get(partial[0]))
        blended = frozenset() if to_date.undated else frozenset({_key(BLENDED)})
        cuts = {_key(BLENDED): cut} if round(cut, 2) > 0 else {}
        to_date = SpendToAsOf(to_date.frame, cuts, blended, frozenset())
    elif to_date.to_the_day and not to_date.undated:
        to_date = SpendToAsOf(to_date.frame, {}, frozenset({_key(BLENDED)}), frozenset())
    columns = ["customer_id", "first_order_date", "historic_clv", "predicted_clv"]
    _require(customers, columns, "customers table")
    everyone = customers[columns].assign(acquisition_channel=BLENDED)
    guests = orders_monthly.attrs.get("guest_orders")
    return _cac_rows(
        everyone, shop_spend, orders_monthly, margin=margin, as_of=as_of,
        guests=None if guests is None else {_key(BLENDED): guests}, to_date=to_date,
    )  # fmt: skip


def shop_cac_table(
    customers: pd.DataFrame,
    spend: pd.DataFrame,
    orders_monthly: pd.DataFrame,
    *,
    margin: float = 1.0,
    as_of: date | datetime | str | None = None,
) -> pd.DataFrame:
    """cac.csv: the whole shop's rows (:func:`blended_cac`, channel :data:`BLENDED`) first, then
    :func:`cac_table`'s per channel where the spend names a channel.

    Attributes: ``left_out_spend`` (the shop's note on the spend of months outside the orders,
    from the blended rows, which count every spend row), ``shop_wide_spend`` (whether the
    spend gives the whole shop's spend rather than only channels') and ``guest_orders`` (the
    guest orders of the blended months with spend, which no CAC counts as customers)."""
    shop_wide = _shop_wide_rows(spend)
    shop = blended_cac(customers, spend, orders_monthly, margin=margin, as_of=as_of)
    parts = [shop]
    if not shop_wide.all():
        parts.append(cac_table(customers, spend, orders_monthly, margin=margin, as_of=as_of))
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else shop.copy()
    out.attrs = {
        "left_out_spend": shop.attrs.get("left_out_spend"),
        "shop_wide_spend": bool(shop_wide.any()),
        "guest_orders": int(shop.attrs.get("guest_orders") or 0),
    }
    return out


def shop_cac(cac: pd.DataFrame) -> dict[str, object] | None:
    """The whole shop's all-months row of ``cac`` (:func:`shop_cac_table`) as summary.json's
    ``growth.cac``: spend, customers, cac, clv_per_customer, clv_to_cac, roi_per_customer,
    payback_month, flag and note (None for an empty value), and ``guest_orders`` (the guest
    orders of its months, counted as no customer); None without that row."""
    rows = cac[(cac["channel"] == BLENDED) & (cac["cohort_month"] == ALL_MONTHS)]
    if rows.empty:
        return None
    row = rows.iloc[0]

    def plain(value: object) -> object:
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, float | np.floating):
            return float(value) if math.isfinite(value) else None
        return None if value is None or value is pd.NA else value

    names = [name for name in CAC_COLUMNS if name not in ("channel", "cohort_month")]
    out = {name: plain(row[name]) for name in names}
    out["customers"] = int(row["customers"])
    # the guest orders of its months, counted as no customer (its note says why)
    out["guest_orders"] = int(cac.attrs.get("guest_orders") or 0)
    return out


def channel_notes(labels: Iterable[object], notes: Iterable[object]) -> list[str]:
    """``label: note`` for each channel whose CAC note (channels.csv's and cac.csv's ``note``)
    says what its figures leave out: spend before the first order or after the as-of date,
    customers of months without spend, a partial month.  ``no spend reported`` is left out:
    a channel without spend says it by its empty cells."""
    lines = []
    for label, note in zip(labels, notes, strict=True):
        parts = [part for part in str(note).split("; ") if part != NO_SPEND]
        if isinstance(note, str) and parts:
            lines.append(f"{label}: {'; '.join(parts)}")
    return lines


def per_channel_rows(cac: pd.DataFrame) -> pd.DataFrame:
    """``cac`` without the whole shop's rows (:data:`BLENDED`)."""
    return cac[cac["channel"] != BLENDED]


def _cac_rows(
    customers: pd.DataFrame,
    spend: pd.DataFrame,
    orders_monthly: pd.DataFrame,
    *,
    margin: float,
    as_of: date | datetime | str | None,
    guests: dict[str, pd.Series] | None = None,
    per_channel: bool = False,
    to_date: SpendToAsOf | None = None,
) -> pd.DataFrame:
    """:func:`cac_table` of the rows of ``spend`` as given.  ``guests``: the guest orders per
    month of each channel key (:func:`monthly_revenue`'s ``guest_orders``, or
    ``guest_orders_by_channel`` by :func:`_guests_by_key`), which each ``all`` row with spend
    counts in its months and notes (its ``guest_orders`` attribute: the sum over those rows),
    as the channel's (``per_channel``) or the shop's.  ``to_date``: :func:`spend_to_as_of`
    of the frame ``spend`` was taken from, whose cut days count as spend after the as-of
    date and whose channels spent to the day keep the as-of month in their ``all`` row."""
    check_margin(margin)
    _require(
        customers,
        ("customer_id", "acquisition_channel", "first_order_date", "historic_clv", "predicted_clv"),
        "customers table",
    )
    _require(orders_monthly, ("customer_id", "month", "net_revenue"), "monthly revenue table")

    first = pd.to_datetime(customers["first_order_date"])
    if first.isna().any():
        raise ValueError(f"{int(first.isna().sum())} customers have no first_order_date")
    # text columns as categoricals: millions of customers, a few channels and months
    channel = group_labels(customers["acquisition_channel"], "acquisition_channel").astype(str)
    label_codes, label_values = pd.factorize(channel.to_numpy(dtype=object))
    keys = np.asarray([_key(value) for value in label_values], dtype=object)[label_codes]
    cohort_number = (first.dt.year * 12 + first.dt.month - 1).to_numpy(dtype=np.int64)
    historic = pd.to_numeric(customers["historic_clv"]).astype(float)
    predicted = pd.to_numeric(customers["predicted_clv"]).astype(float)
    people = pd.DataFrame(
        {
            "label": pd.Categorical.from_codes(label_codes, categories=label_values),
            "key": pd.Categorical(keys),
            "cohort_month": _month_categorical(cohort_number),
            "cohort_number": cohort_number,
            "clv": (margin * historic + predicted.fillna(0.0)).to_numpy(),
            "unpredicted": predicted.isna().to_numpy(),
        }
    )
    customer_ids = customers["customer_id"].astype(str).to_numpy(dtype=object)

    costs = pd.DataFrame(
        {
            "label": spend["channel"].astype(str).str.strip().to_numpy(),
            "month": spend["month"].astype(str).to_numpy(),
            "spend": pd.to_numeric(spend["spend"]).astype(float).to_numpy(),
        }
    )
    cost_months = _month_number(costs["month"])  # checks the shape
    costs["key"] = costs["label"].map(_key)
    every_cost = costs  # a channel whose every spend row is left out keeps its label
    to_date = to_date or SpendToAsOf(spend, {}, frozenset(), frozenset())
    partial = _partial_month(as_of)
    later: dict[str, list[tuple[str, float]]] = {
        key: [(partial[0], amount)] for key, amount in to_date.cut.items()
    }
    if as_of is not None:
        stamp = pd.Timestamp(as_of)
        after = (cost_months > stamp.year * 12 + stamp.month - 1).to_numpy()
        costs, cost_months = _left_out(costs, cost_months, after, later)
    # the months before the first customer's: the orders do not reach back there (an export of
    # the last year beside a spend file of two), so no customer it acquired is in ``customers``
    earlier: dict[str, list[tuple[str, float]]] = {}
    first_month = int(cohort_number.min()) if len(cohort_number) else None
    if first_month is not None:
        before = (cost_months < first_month).to_numpy()
        costs, cost_months = _left_out(costs, cost_months, before, earlier)
    spent = costs.groupby(["key", "month"])["spend"].sum()

    # display label per channel: the customers' most common spelling, else the spend file's
    labels: dict[str, str] = {}
    for frame in (people, costs, every_cost):
        for key, label in _spellings(frame["label"]).items():
            labels.setdefault(key, label)

    # each revenue row to its customer (customers not in the table are left out): one hash of
    # all ids, where the customers come first, so a customer's code is its row number
    n = len(customer_ids)
    codes, _ = pd.factorize(
        np.concatenate(
            [customer_ids, orders_monthly["customer_id"].astype(str).to_numpy(dtype=object)]
        )
    )
    if not np.array_equal(codes[:n], np.arange(n)):
        raise ValueError("the customers table lists a customer_id more than once")
    owner = codes[n:]
    found = owner < n
    owner = owner[found]
    revenue = pd.DataFrame(
        {
            "key_code": people["key"].cat.codes.to_numpy()[owner],
            "cohort_number": cohort_number[owner],
            "offset": _month_number(orders_monthly["month"][found]).to_numpy()
            - cohort_number[owner],
            "net_revenue": pd.to_numeric(orders_monthly["net_revenue"][found])
            .astype(float)
            .fillna(0.0)
            .to_numpy(),
        }
    )
    revenue = revenue[revenue["offset"] >= 0]

    # everything below reads these group sums: one pass over customers and over revenue
    cohorts = {
        (str(key), str(month)): group
        for (key, month), group in people.groupby(
            ["key", "cohort_month"], observed=True, sort=False
        )
    }
    key_names = people["key"].cat.categories
    revenue_of = {
        (str(key_names[key_code]), _month_text(number)): series.droplevel([0, 1])
        for (key_code, number), series in revenue.groupby(["key_code", "cohort_number", "offset"])[
            "net_revenue"
        ]
        .sum()
        .groupby(level=[0, 1], sort=False)
    }
    months_of: dict[str, set[str]] = {}
    for key, month in [*cohorts, *spent.index]:
        months_of.setdefault(key, set()).add(month)
    no_customers = people.iloc[0:0]
    empty_revenue = pd.Series(dtype=float)

    rows: list[dict[str, object]] = []
    guest_orders = 0
    partial_out = 0.0  # the partial month's spend the ``all`` rows leave out
    for key in sorted(labels):
        label = labels[key]
        months = sorted(months_of.get(key, ()))
        spend_months = [month for month in months if (key, month) in spent.index]
        for month in months:
            acquired = cohorts.get((key, month), no_customers)
            has_spend = month in spend_months
            amount = float(spent.loc[(key, month)]) if has_spend else float("nan")
            notes = []
            if not has_spend:
                notes.append(NO_SPEND)
            if not len(acquired):
                notes.append(NO_CUSTOMERS)
            if has_spend and partial is not None and month == partial[0]:
                notes.append(
                    f"a partial month: its spend and customers of its first {partial[1]} of "
                    f"{partial[2]} days"
                    if key in to_date.to_the_day
                    else f"a partial month: its spend against the customers of its first "
                    f"{partial[1]} of {partial[2]} days"
                )
            by_offset = revenue_of.get((key, month), empty_revenue)
            rows.append(_row(label, month, acquired, amount, by_offset, margin, notes))
        # the channel over all months: the months with reported spend, where some is more than
        # 0 those (a spreadsheet listing a free month as 0 reports no spend for its customers)
        notes = []
        if any(float(spent.loc[(key, month)]) > 0 for month in spend_months):
            spend_months = [m for m in spend_months if float(spent.loc[(key, m)]) > 0]
        paid_months = spend_months  # the months with spend, the partial one among them
        if (
            partial is not None
            and partial[0] in spend_months
            and len(spend_months) > 1
            and key not in to_date.to_the_day  # spend to the date: the same days' customers
        ):
            # its whole month's spend (if the file gives that) against part of its customers
            spend_months = [month for month in spend_months if month != partial[0]]
            partial_out += float(spent.loc[(key, partial[0])])
            notes.append(
                f"{partial[0]} left out: a partial month ({partial[1]} of {partial[2]} days to "
                "the as-of date)"
            )
        if spend_months:
            covered_months = spend_months
            amount = float(sum(spent.loc[(key, month)] for month in spend_months))
            unpaid = [m for m in months if m not in paid_months and (key, m) in cohorts]
            left_out = sum(len(cohorts[(key, m)]) for m in unpaid)
            if left_out:
                plural = "s" if left_out != 1 else ""
                notes.append(
                    f"{left_out} customer{plural} acquired in months without spend left "
                    f"out ({', '.join(unpaid)})"
                )
            unnamed = _guest_orders_in((guests or {}).get(key), covered_months)
            if unnamed:
                guest_orders += unnamed
                notes.append(_guests_note(unnamed, per_channel))
        else:
            covered_months, amount = months, float("nan")
            notes.append(NO_SPEND)
        if key in earlier:
            notes.append(
                f"spend before the first order left out ({_months_and_total(earlier[key])}; "
                f"the orders start in {_month_text(first_month)})"
            )
        if key in later:
            notes.append(f"spend after the as-of date left out ({_months_and_total(later[key])})")
        parts = [cohorts[(key, m)] for m in covered_months if (key, m) in cohorts]
        covered = pd.concat(parts) if parts else no_customers
        if spend_months and not len(covered):
            notes.append(NO_CUSTOMERS)
        pooled = [revenue_of[(key, m)] for m in covered_months if (key, m) in revenue_of]
        by_offset = pd.concat(pooled).groupby(level=0).sum() if pooled else empty_revenue
        rows.append(_row(label, ALL_MONTHS, covered, amount, by_offset, margin, notes))
    out = pd.DataFrame(rows, columns=list(CAC_COLUMNS))
    out["customers"] = out["customers"].astype("int64")
    out["payback_month"] = pd.array(
        [None if np.isnan(v) else int(v) for v in out["payback_month"].astype(float)],
        dtype="Int64",
    )
    for column in ("spend", "cac", "clv_per_customer", "clv_to_cac", "roi_per_customer"):
        out[column] = out[column].astype(float)
    out.attrs["left_out_spend"] = _left_out_spend_note(
        earlier,
        later,
        float(every_cost["spend"].sum()) + sum(to_date.cut.values()),
        first_month,
        as_of,
        partial,
        partial_out,
    )
    out.attrs["guest_orders"] = guest_orders
    return out


def _guest_orders_in(guests: pd.Series | None, months: list[str]) -> int:
    """The guest orders of ``months`` (``guests``: month -> orders; None counts none)."""
    if guests is None or guests.empty:
        return 0
    return int(guests.reindex(months).fillna(0).sum())


def _guests_note(orders: int, channel: bool = False) -> str:
    """Why the guest orders of a CAC's months (``channel``: of the channel's) are no acquired
    customer: without a customer id an order cannot be told a new customer's from a returning
    one's, and has no CLV to set against CAC; were each a new customer, CAC would be lower."""
    plural = "s" if orders != 1 else ""
    whose = " through the channel" if channel else ""
    return (
        f"{orders:,} guest order{plural}{whose} in these months not counted as acquired customers "
        "(no customer id: new or returning is unknown, and no CLV; each a new customer would "
        "lower CAC)"
    )


def _left_out(
    costs: pd.DataFrame, months: pd.Series, out: np.ndarray, into: dict[str, list]
) -> tuple[pd.DataFrame, pd.Series]:
    """``costs`` and their ``months`` without the rows ``out``, which go to ``into`` (channel
    key -> (month, amount) pairs) for the note that names them."""
    for key, month, amount in costs.loc[out, ["key", "month", "spend"]].itertuples(index=False):
        into.setdefault(key, []).append((month, float(amount)))
    return costs[~out], months[~out]


def _left_out_spend_note(
    earlier: dict[str, list[tuple[str, float]]],
    later: dict[str, list[tuple[str, float]]],
    given: float,
    first_month: int | None,
    as_of: date | datetime | str | None,
    partial: tuple[str, int, int] | None = None,
    partial_spend: float = 0.0,
) -> str | None:
    """The shop's note on the spend :func:`cac_table` leaves out of every CAC (before the
    first order, after the as-of date) and out of the ``all`` rows (``partial_spend``, of the
    ``partial`` as-of month, :func:`_partial_month`), with the amount by reason and of the
    whole file, so that the file's total less it is the ``all`` rows' spend; None where none
    is left out."""

    def months_and_total(left: dict[str, list[tuple[str, float]]]) -> tuple[str, float]:
        return _months_and_sum([pair for pairs in left.values() for pair in pairs])

    parts, left_out = [], 0.0
    if earlier:
        months, total = months_and_total(earlier)
        left_out += total
        parts.append(
            f"{total:,.2f} before the first order ({months}; the orders start in "
            f"{_month_text(first_month)})"
        )
    if later:
        months, total = months_and_total(later)
        left_out += total
        stamp = pd.Timestamp(as_of).date().isoformat()
        parts.append(f"{total:,.2f} after the as-of date ({months}; as of {stamp})")
    outside = f"{' and '.join(parts)}: the customers it acquired are not in the orders"
    if partial is None or not partial_spend:
        if not parts:
            return None
        return (
            f"spend left out of CAC and CLV:CAC: {left_out:,.2f} of the {given:,.2f} the spend "
            f"file gives, {outside}"
        )
    month, days, of_days = partial
    within = (
        f"{partial_spend:,.2f} of {month}, a partial month ({days} of {of_days} days to the "
        "as-of date), counted in that month's row only"
    )
    return (
        f"spend left out of CAC and CLV:CAC over all months: {left_out + partial_spend:,.2f} of "
        f"the {given:,.2f} the spend file gives, {f'{outside}; and ' if parts else ''}{within}"
    )


def left_out_spend_note(cac: pd.DataFrame) -> str | None:
    """The note on the spend :func:`cac_table` left out of every CAC of ``cac`` (months before
    the first order or after the as-of date), None where it left none out: the channels'
    ``all`` rows say their own share, this says the shop's."""
    return cac.attrs.get("left_out_spend")


def _months_and_total(pairs: list[tuple[str, float]]) -> str:
    """``2023-09, 2023-10: 50.00``: the months of (month, amount) ``pairs`` and their total."""
    shown, total = _months_and_sum(pairs)
    return f"{shown}: {total:,.2f}"


def _months_and_sum(pairs: list[tuple[str, float]]) -> tuple[str, float]:
    """``("2023-09, 2023-10", 50.0)``: the months of (month, amount) ``pairs``, in order and
    each once, and the sum of their amounts."""
    pairs = sorted(pairs)
    return ", ".join(dict.fromkeys(month for month, _ in pairs)), sum(a for _, a in pairs)


def shop_wide_spend_note(cac: pd.DataFrame, channels: pd.Series) -> str | None:
    """The note for a spend file that names no channel (no channel column, or only all /
    total) beside orders that do (``channels``: every customer's ``acquisition_channel``):
    its CAC is the whole shop's alone, which a campaign export read as shop-wide spend would
    otherwise leave unsaid; None otherwise."""
    if not (cac["channel"] == BLENDED).all():
        return None
    named = canonical_channels(channels).dropna()
    if not (named != NONE_LABEL).any():
        return None
    return (
        "the spend names no channel (no channel column, or only all / total): CAC is the whole "
        "shop's; give a channel column named as the orders' channels for CAC per channel"
    )


def unmatched_spend_note(cac: pd.DataFrame, channels: pd.Series) -> str | None:
    """The note for spend on channels that no customer came through (:func:`cac_table`'s
    ``cac``; ``channels``: every customer's ``acquisition_channel``), None when there is none.

    A spend file keyed by ad platform (``Facebook Ads``) beside orders keyed by sales channel
    (``web``, ``pos``) matches nothing: every CAC is empty, which looks like missing data rather
    than a naming mismatch, so the note names both sides."""
    cac = per_channel_rows(cac)
    rows = cac[(cac["cohort_month"] == ALL_MONTHS) & (cac["spend"].fillna(0) > 0)]
    # counted as the channels' table groups them: "Google" and "google" are one channel
    tally = canonical_channels(channels).value_counts()
    known = {_key(str(label)) for label in tally.index}
    unmatched = rows[[_key(str(label)) not in known for label in rows["channel"]]]
    if unmatched.empty:
        return None
    spent = ", ".join(
        f"{label} ({amount:,.2f})"
        for label, amount in zip(unmatched["channel"], unmatched["spend"], strict=True)
    )
    listed = ", ".join(f"{label} ({count:,})" for label, count in tally.head(6).items())
    more = f" and {len(tally) - 6:,} more" if len(tally) > 6 else ""
    which = "any of" if len(unmatched) == len(rows) else f"{len(unmatched):,} of"
    return (
        f"no customer came through {which} the spend's channels: {spent}; their CAC is empty. "
        f"The customers' channels are {listed}{more}: name the spend's channels as the orders "
        "do (case and spaces aside)"
    )


def cac_by_channel(
    customers: pd.DataFrame,
    spend: pd.DataFrame,
    orders_monthly: pd.DataFrame,
    *,
    margin: float = 1.0,
) -> pd.DataFrame:
    """The per-channel rows of :func:`cac_table` (``cohort_month == "all"``), without that column."""
    table = cac_table(customers, spend, orders_monthly, margin=margin)
    rows = table[table["cohort_month"] == ALL_MONTHS]
    return rows.drop(columns="cohort_month").reset_index(drop=True)


# the all-months CAC columns joined onto channels.csv (customers -> cac_customers)
_CAC_JOINED = (
    "spend",
    "cac_customers",
    "cac",
    "clv_per_customer",
    "clv_to_cac",
    "roi_per_customer",
    "payback_month",
    "flag",
    "note",
)


def channels_frame(groups: pd.DataFrame, column: str, cac: pd.DataFrame | None) -> pd.DataFrame:
    """``groups`` (:func:`clv_by_group` by acquisition channel) with the all-months CAC columns.

    Joined on the channel, trimmed and case-insensitively, as :func:`cac_table` matches spend;
    a channel with spend but no customers gets a row with 0 customers and empty CLV.  The CAC
    table's ``customers`` (the customers acquired in months with reported spend) becomes
    ``cac_customers``, empty for a channel without spend.
    """
    if cac is None or not len(per_channel_rows(cac)):
        return groups  # no spend names a channel: the whole shop's CAC is cac.csv's alone
    cac = per_channel_rows(cac)
    totals = cac[cac["cohort_month"] == "all"].drop(columns="cohort_month")
    totals = totals.rename(columns={"customers": "cac_customers", "channel": "_label"})
    totals["_key"] = totals["_label"].str.strip().str.casefold()
    left = groups.assign(_key=groups[column].astype(str).str.strip().str.casefold())
    merged = left.merge(totals, on="_key", how="outer", sort=False)
    only_spend = merged[column].isna()
    merged.loc[only_spend, column] = merged.loc[only_spend, "_label"]
    merged["customers"] = merged["customers"].fillna(0).astype("int64")
    # a channel without spend has no month with spend: no customers a CAC divides by
    paid = merged["cac_customers"].astype("Int64")
    merged["cac_customers"] = paid.mask(merged["spend"].isna())
    for name in merged.columns:
        if name.endswith("_missing"):
            merged[name] = merged[name].fillna(0).astype("int64")
    merged = merged.sort_values(["customers", column], ascending=[False, True], kind="stable")
    return merged[[*groups.columns, *_CAC_JOINED]].reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# any customer attribute: the customers export's tags, or a file joined on e-mail
# ------------------------------------------------------------------------------------------------
def explode_tags(customers: pd.DataFrame, tags: pd.DataFrame, column: str = "tag") -> pd.DataFrame:
    """One row per (customer, tag) from comma-separated tags (Shopify's customer ``Tags``).

    ``tags`` has ``customer_id`` and ``tags``; tags are trimmed, compared case-insensitively
    (shown as first written) and counted once per customer.  A customer with several tags is in
    several groups, so the groups' customers add up to more than the shop's; customers without a
    tag are in ``"(none)"``.
    """
    listed = tags.dropna(subset=["customer_id"]).drop_duplicates("customer_id", keep="last")
    pairs = listed.assign(tag=listed["tags"].astype("string").str.split(",")).explode("tag")
    pairs["tag"] = pairs["tag"].str.strip()
    pairs = pairs[pairs["tag"].notna() & (pairs["tag"] != "")]
    pairs["_key"] = pairs["tag"].str.casefold()
    shown = pairs.drop_duplicates("_key").set_index("_key")["tag"]
    pairs = pairs.drop_duplicates(["customer_id", "_key"])
    pairs[column] = pairs["_key"].map(shown)
    out = customers.merge(pairs[["customer_id", column]], on="customer_id", how="left")
    out[column] = out[column].astype(object).where(out[column].notna(), NONE_LABEL)
    return out.reset_index(drop=True)


def join_attributes(customers: pd.DataFrame, attributes: pd.DataFrame) -> pd.DataFrame:
    """``customers`` with the columns of ``attributes`` (keyed by ``customer_id``) joined on.

    Keys are compared trimmed and lower-cased (e-mail addresses); customers the file does not
    list get empty values (the group ``"(none)"``).  Columns the customers table already has
    keep the customers table's values.  The ``unmatched_attributes`` attribute is (rows of
    ``attributes`` naming no customer, rows), for the note that says so: a file keyed another
    way (a CRM's own ids) puts every customer in ``"(none)"``.
    """

    def key(ids: pd.Series) -> pd.Series:
        return ids.astype("string").str.strip().str.lower()

    keyed = attributes.assign(_key=key(attributes["customer_id"])).drop(columns="customer_id")
    extra = [name for name in keyed.columns if name not in customers.columns and name != "_key"]
    # an id of capitals (C1, a Shopify export's) matched no key: both sides are compared alike
    out = customers.assign(_key=key(customers["customer_id"]))
    out = out.merge(keyed[["_key", *extra]], on="_key", how="left").drop(columns="_key")
    known = keyed["_key"].isin(key(customers["customer_id"]))
    out.attrs["unmatched_attributes"] = (int((~known).sum()), len(keyed))
    return out


def unmatched_attributes_note(customers: pd.DataFrame, file: str) -> str | None:
    """The note on the rows of an attributes ``file`` that name no customer
    (:func:`join_attributes`' ``unmatched_attributes``); None where every row names one."""
    unmatched, rows = customers.attrs.get("unmatched_attributes") or (0, 0)
    if not unmatched:
        return None
    if unmatched == rows:
        return (
            f"no row of {file} names a customer of the analysis (its first column is compared "
            "with the customer ids, trimmed and in any case): every customer is in (none)"
        )
    return (
        f"{unmatched:,} of the {rows:,} rows of {file} name no customer of the analysis (its "
        "first column is compared with the customer ids, trimmed and in any case)"
    )


# ------------------------------------------------------------------------------------------------
# what a customer acquired today is worth
def with_new_customer_clv(
    frame: pd.DataFrame,
    customers: pd.DataFrame,
    new_customer: dict | None,
    *,
    margin: float = 1.0,
    channels: pd.Series | None = None,
) -> pd.DataFrame:
    """channels.csv (:func:`channels_frame`) with ``new_customer_clv`` (and, with CAC, its ratio).

    ``new_customer_clv = margin * (first order value + repeat order value * discounted repeat
    orders)`` of a customer acquired today through the channel:

    * discounted orders: ``new_customer`` (summary.json's ``model.new_customer``, from
      :func:`valuecast.analysis.covariates.new_customer_orders`): the first order (1) plus each
      month's expected repeat purchases of a new customer, discounted as ``predicted_clv`` is;
      per channel when the model has ``acquisition_channel`` as a covariate, else the shop's
      for every channel (the model cannot tell them apart);
    * first order value: the mean of the channel's customers' ``average_order_value``, what
      they paid per order.  The Gamma-Gamma expectation of a customer without a repeat order is
      the shop's mean, whatever the first order was: a channel whose customers bought once for
      5 would be valued at the shop's 60 for the one order each is sure to place;
    * repeat order value: the mean of the channel's customers' ``predicted_average_order_value``
      (the Gamma-Gamma posterior mean, each customer's spend shrunk towards the shop's).

    A channel without such values gets the shop's means.

    ``new_customer_clv_to_cac`` = ``new_customer_clv / cac`` where channels.csv has a CAC.
    Both are empty when no model was fitted.  ``channels``: :func:`canonical_channels` of the
    customers' ``acquisition_channel`` when the caller holds them already.
    """
    values = pd.DataFrame(
        {
            part: pd.to_numeric(customers[column], errors="coerce")
            for part, column in _ORDER_VALUES.items()
        }
    )
    if channels is None:
        channels = canonical_channels(customers["acquisition_channel"])
    # the key of each distinct channel, then the customers grouped by the keys' codes
    codes, uniques = pd.factorize(channels)
    key_codes, distinct_keys = pd.factorize(
        pd.Series(uniques, dtype=object).str.strip().str.casefold()
    )
    mean_values = values.groupby(key_codes[codes]).mean()
    mean_values.index = distinct_keys[mean_values.index]
    return new_customer_columns(frame, mean_values, values.mean(), new_customer, margin=margin)


def new_customer_columns(
    frame: pd.DataFrame,
    order_values: pd.DataFrame,
    shop_order_values: pd.Series,
    new_customer: dict | None,
    *,
    margin: float,
) -> pd.DataFrame:
    """:func:`with_new_customer_clv` from the mean first and repeat order values per channel key
    (``order_values``: columns ``first`` and ``repeat``, indexed trimmed and case-folded) and
    the shop's (``shop_order_values``, for a channel without them)."""
    out = frame.copy()
    label = out.columns[0]
    keys = out[label].astype(str).str.strip().str.casefold()
    first, repeat = (
        keys.map(order_values[part]).fillna(shop_order_values[part]).astype(float)
        for part in ("first", "repeat")
    )
    clv = pd.Series(np.nan, index=out.index)
    if new_customer:
        by_channel = {str(k).casefold(): v for k, v in new_customer.get("by_channel", {}).items()}
        orders = keys.map(by_channel).fillna(new_customer["all"]).astype(float)
        clv = margin * (first + repeat * (orders - 1.0))
    columns = list(out.columns)
    at = columns.index("total_clv_missing") + 1 if "total_clv_missing" in columns else len(columns)
    out.insert(at, "new_customer_clv", clv.to_numpy(dtype=float))
    if "cac" in out.columns:
        cac = pd.to_numeric(out["cac"], errors="coerce")
        ratio = (out["new_customer_clv"] / cac).where(cac > 0)
        out.insert(out.columns.get_loc("clv_to_cac") + 1, "new_customer_clv_to_cac", ratio)
    return out
