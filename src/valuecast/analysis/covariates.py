"""Covariates from the customers table: the design matrix of the covariate models.

``valuecast analyze --covariates acquisition_channel,first_discount_code,accepts_marketing``
names columns of the customers table; each becomes one or more columns of the design matrix the
covariate models (Fader & Hardie 2007, "Incorporating time-invariant covariates into the
Pareto/NBD and BG/NBD models"; the parameterisation of CLVTools) are fitted with:

* a category (text: the channel, the discount code, the first product) is one-hot against its
  largest level, so each coefficient compares a level with the most common one.  Values are
  compared trimmed and case-insensitively (``"Google "`` is ``"google"``), as channels.csv
  compares channels; a missing value is the level ``"(none)"``.  Levels with fewer than
  :data:`MIN_LEVEL_CUSTOMERS` customers, and those beyond the :data:`MAX_LEVELS` largest, are
  pooled into ``"other"``: a log-rate coefficient estimated from a few dozen customers (of whom
  only the repeat buyers inform it) has a standard error near 1, a multiplier anywhere from a
  third to three times, which reads as a finding and is noise.  30 is the usual floor of a
  normal approximation, and it does not grow with the shop: at a million customers a level of
  5,000 is well estimated and worth showing on its own;
* a boolean (``accepts_marketing``) is 1 for true and 0 for false or missing (a customer who
  never said yes is not reachable), against false;
* a number is standardised (``(x - mean) / sd`` over the customers, a missing value at the
  mean): its coefficient is the effect of one standard deviation, so its multiplier reads on the
  same scale as a level's whatever the column's unit.

A covariate left with a single value (every customer in one level) carries no information and is
dropped with a note.  The matrix is built per distinct combination of the columns' values
(a *pattern*: a handful for a million customers), counted in the engine; only the patterns
cross to Python, and :func:`with_patterns` joins each customer's pattern number back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.special import ndtr

from valuecast.analysis.backend import upload
from valuecast.analysis.covariate_names import (
    COVARIATES,
    CovariateError,
    parse_covariates,
    single_value_note,
)
from valuecast.models.clv import discount_periods, period_increments

__all__ = [
    "COVARIATES",
    "MAX_LEVELS",
    "MIN_LEVEL_CUSTOMERS",
    "CovariateError",
    "Design",
    "Term",
    "build_design",
    "design_for",
    "parse_covariates",
    "with_patterns",
]

MIN_LEVEL_CUSTOMERS = 30
"""A category level with fewer customers is pooled into ``"other"``."""

MAX_LEVELS = 12
"""At most this many levels of one category are kept (the largest); the rest join ``"other"``."""

OTHER, NONE = "other", "(none)"
PATTERN = "_pattern"


@dataclass(frozen=True)
class Term:
    """One column of the design matrix: ``column`` at ``level`` (against ``reference``).

    ``kind`` is ``category``, ``bool`` or ``number``; a number's ``center`` and ``scale`` are
    the mean and standard deviation it was standardised with.
    """

    column: str
    kind: str
    level: str | None = None
    reference: str | None = None
    center: float | None = None
    scale: float | None = None

    @property
    def name(self) -> str:
        return self.column if self.kind != "category" else f"{self.column}={self.level}"


@dataclass
class Design:
    """The design matrix per covariate pattern.

    ``keys`` has the key columns (``_cov_0``, ...: each covariate's value as compared) and
    :data:`PATTERN` (the row of ``matrix``) per pattern; ``matrix`` one column per term (named
    :attr:`Term.name`); ``counts`` the customers of each pattern.
    """

    columns: list[str]
    terms: list[Term]
    keys: pd.DataFrame
    matrix: pd.DataFrame
    counts: np.ndarray
    notes: list[str] = field(default_factory=list)

    def rows(self, patterns: np.ndarray) -> pd.DataFrame:
        """The design rows of ``patterns`` (pattern numbers), one per entry."""
        return self.matrix.iloc[np.asarray(patterns, dtype=np.int64)].reset_index(drop=True)

    def level_of(self, column: str) -> pd.Series:
        """Per pattern, the level of category ``column`` the design uses (rare ones: ``other``)."""
        key = self.keys[_key_name(self.columns.index(column))]
        kept = {t.level for t in self.terms if t.column == column} | {self.reference(column)}
        return key.where(key.isin(kept), OTHER)

    def reference(self, column: str) -> str | None:
        return next((t.reference for t in self.terms if t.column == column), None)


def _key_name(position: int) -> str:
    return f"_cov_{position}"


def _kind(dtype) -> str:
    if dtype.is_boolean():
        return "bool"
    if dtype.is_numeric():
        return "number"
    return "category"


def _key(value: ir.Value, kind: str) -> ir.StringValue:
    """A covariate value as the text the patterns compare (never NULL: joins skip NULLs)."""
    if kind == "bool":
        return ibis.ifelse(value.cast("boolean").fill_null(False), "true", "false")
    text = value.cast("string").strip()
    if kind == "category":
        text = text.lower()
    return ibis.ifelse(text.isnull() | (text == ""), NONE, text)


def _keys(table: ir.Table, columns: Sequence[str]) -> tuple[dict[str, ir.Value], dict[str, str]]:
    keys, kinds = {}, {}
    for position, column in enumerate(columns):
        source = table[COVARIATES.get(column, column)]
        kinds[column] = _kind(source.type())
        keys[_key_name(position)] = _key(source, kinds[column])
    return keys, kinds


def design_for(table: ir.Table, columns: Sequence[str]) -> Design:
    """The design of ``columns`` over the customers of ``table`` (a customer summary).

    One GROUP BY in the engine counts the patterns; :func:`build_design` does the rest.
    """
    missing = [c for c in columns if COVARIATES.get(c, c) not in table.columns]
    if missing:
        raise CovariateError(
            f"--covariates: no column {missing[0]!r} in the customers table "
            f"(available: {', '.join(c for c in COVARIATES if COVARIATES[c] in table.columns)})"
        )
    keys, kinds = _keys(table, columns)
    grouped = (
        table.group_by(**keys).aggregate(_count=table.count()).order_by(list(keys)).to_pandas()
    )
    counts = grouped.pop("_count").to_numpy(dtype=float)
    return build_design(list(columns), kinds, grouped.astype(str), counts)


def with_attributes(table: ir.Table, attributes: ir.Table) -> ir.Table:
    """``table`` (a customer summary) with the columns of ``attributes`` (keyed by
    ``customer_id``, e.g. :func:`valuecast.analysis.attributes.first_products`) joined on;
    customers it does not list get NULL (the level ``"(none)"``)."""
    extra = [c for c in attributes.columns if c != "customer_id"]
    joined = table.left_join(attributes, "customer_id")
    return joined.select(table, *[attributes[c] for c in extra])


def with_patterns(table: ir.Table, design: Design, releases: list[Callable[[], None]]) -> ir.Table:
    """``table`` with the :data:`PATTERN` number of every customer (joined on the keys)."""
    keys, _ = _keys(table, design.columns)
    keyed = table.mutate(**keys)
    patterns = upload(
        table, pa.Table.from_pandas(design.keys, preserve_index=False), "cov", releases
    )
    joined = keyed.inner_join(patterns, list(keys))
    return joined.select(table, patterns[PATTERN])


def build_design(
    columns: list[str], kinds: dict[str, str], keys: pd.DataFrame, counts: np.ndarray
) -> Design:
    """The design matrix of the patterns ``keys`` (one text column per covariate, ``_cov_i``).

    ``counts`` holds the customers of each pattern; the rules are the module's.
    """
    counts = np.asarray(counts, dtype=float)
    terms: list[Term] = []
    values: dict[str, np.ndarray] = {}
    notes: list[str] = []
    for position, column in enumerate(columns):
        key = keys[_key_name(position)].astype(str)
        kind = kinds[column]
        if kind == "number":
            made = _number_terms(column, key, counts)
        else:
            made = _level_terms(column, kind, key, counts)
        if not made:
            notes.append(single_value_note(column))
            continue
        for term, column_values in made:
            terms.append(term)
            values[term.name] = column_values
    out = keys.copy().reset_index(drop=True)
    out[PATTERN] = np.arange(len(out), dtype=np.int64)
    matrix = pd.DataFrame(values, columns=[t.name for t in terms], dtype=float)
    return Design(columns, terms, out, matrix, counts, notes)


def _level_terms(column: str, kind: str, key: pd.Series, counts: np.ndarray):
    """One indicator per level but the reference (bool: ``true`` against ``false``)."""
    totals = pd.Series(counts, index=key.to_numpy()).groupby(level=0).sum()
    if kind == "bool":
        if len(totals) < 2:
            return []
        return [(Term(column, "bool", "true", "false"), (key == "true").to_numpy(float))]
    ranked = _largest_first(totals)
    kept = [
        level
        for rank, (level, n) in enumerate(ranked.items())
        if n >= MIN_LEVEL_CUSTOMERS and rank < MAX_LEVELS
    ]
    pooled = key.where(key.isin(kept), OTHER)
    levels = pd.Series(counts, index=pooled.to_numpy()).groupby(level=0).sum()
    if len(levels) < 2:
        return []
    order = _largest_first(levels)
    # the reference is a real level, even where the pooled ones outnumber it
    reference = str(next(level for level in order.index if level != OTHER))
    return [
        (Term(column, "category", str(level), reference), (pooled == level).to_numpy(float))
        for level in order.index
        if level != reference
    ]


def _largest_first(totals: pd.Series) -> pd.Series:
    """Levels by customers, most first; ties by level text."""
    return totals.iloc[np.lexsort((totals.index.to_numpy(), -totals.to_numpy()))]


def _number_terms(column: str, key: pd.Series, counts: np.ndarray):
    """The standardised number (missing at the mean), or nothing when it does not vary."""
    x = pd.to_numeric(key.where(key != NONE), errors="coerce").to_numpy(dtype=float)
    known = ~np.isnan(x)
    if not known.any():
        return []
    weights = counts[known]
    center = float(np.average(x[known], weights=weights))
    scale = float(np.sqrt(np.average((x[known] - center) ** 2, weights=weights)))
    if not scale > 0:
        return []
    z = np.where(known, (np.nan_to_num(x) - center) / scale, 0.0)
    return [(Term(column, "number", center=center, scale=scale), z)]


# ------------------------------------------------------------------------------------------------
# what a fitted covariate model says
def covariate_keywords(X: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """The prediction keywords of a covariate model: the same design in both processes."""
    return {} if X is None else {"purchase_covariates": X, "dropout_covariates": X}


def _new_orders(model, X: pd.DataFrame | None, ends: np.ndarray, rate: float) -> np.ndarray:
    """Per row of ``X``: discounted expected orders of a customer acquired today (first order
    included, today, undiscounted), each period's new-customer expectation discounted to today."""
    n = 1 if X is None else len(X)
    cumulatives = (
        np.broadcast_to(
            np.asarray(model.expected_transactions_new(float(end), **covariate_keywords(X))), (n,)
        )
        for end in ends
    )
    return discount_periods(period_increments(cumulatives), rate, np.ones(n))


def new_customer_orders(
    model, design: Design | None, ends: np.ndarray, rate: float
) -> dict[str, Any]:
    """Discounted expected orders over the horizon of a customer acquired today, per channel.

    From the model's new-customer expectation (``expected_transactions_new``, CLVTools'
    ``newcustomer()``): per period end ``ends`` (days) the expected cumulative repeat purchases,
    each period's increment discounted at ``rate`` per period as the customers' CLV is, plus the
    first order (today, undiscounted).  ``all`` is the shop's (with covariates: the mean over
    every customer's pattern); with ``acquisition_channel`` in ``design``, ``by_channel`` has
    each channel's, the mean over its customers' patterns (its mix of the other covariates),
    keyed trimmed and lower-cased as the design compares channels; otherwise it is empty and
    every channel gets ``all``: a model without the channel cannot tell channels apart.
    """
    if design is None or not design.terms:
        return {"all": float(_new_orders(model, None, ends, rate)[0]), "by_channel": {}}
    frame = pd.DataFrame({"w": design.counts})
    frame["v"] = design.counts * _new_orders(model, design.matrix, ends, rate)
    out: dict[str, Any] = {"all": float(frame["v"].sum() / frame["w"].sum()), "by_channel": {}}
    if "acquisition_channel" in design.columns:
        frame["channel"] = design.keys[_key_name(design.columns.index("acquisition_channel"))]
        sums = frame.groupby("channel")[["w", "v"]].sum()
        out["by_channel"] = {str(k): float(v) for k, v in (sums["v"] / sums["w"]).items()}
    return out


def coefficient_rows(model, design: Design, horizon_days: float) -> list[dict[str, Any]]:
    """summary.json's ``model.coefficients``: one row per process and design term.

    Each row has the coefficient, its standard error and the two-sided Wald p-value
    (``2 * (1 - Phi(|coefficient| / standard error))``), and its multiplier:

    * purchase: ``rate_multiplier = exp(coefficient)``, the multiplier of the mean purchase rate
      (``alpha_i = alpha * exp(-coefficient * x)``, Fader & Hardie 2007);
    * dropout: ``lifetime_multiplier``, the multiplier of the expected repeat purchases over the
      horizon of a newly acquired customer from the dropout effect alone (the purchase rate held
      at the reference): how much longer the level keeps buying, in the same unit for every model
      (for BG/NBD scaling a and b together leaves the mean dropout chance a/(a+b) unchanged and
      acts through its spread, so exp(coefficient) would mislead).  For Pareto/NBD it tends to
      ``exp(-coefficient)``, the multiplier of the expected lifetime ``beta_i / (s - 1)``, as the
      horizon grows.

    The reference level of a category (and false of a boolean, the mean of a number) is 1.
    """
    names = list(design.matrix.columns)
    zero = pd.DataFrame(np.zeros((1, len(names))), columns=names)
    base = _first(model.expected_transactions_new(horizon_days, **covariate_keywords(zero)))
    rows = []
    for process in ("purchase", "dropout"):
        for term in design.terms:
            coefficient = float(model.coefficients_[process][term.name])
            error = model.coefficient_standard_errors_[process].get(term.name)
            error = float(error) if error is not None and np.isfinite(error) else None
            p = float(2 * ndtr(-abs(coefficient) / error)) if error else None
            row: dict[str, Any] = {
                "process": process,
                "covariate": term.column,
                "level": term.level if term.kind != "number" else "+1 sd",
                "reference": term.reference if term.kind != "number" else "mean",
                "coefficient": coefficient,
                "standard_error": error,
                "p_value": p,
            }
            if term.kind == "number":
                row["mean"], row["sd"] = term.center, term.scale
            if process == "purchase":
                row["rate_multiplier"] = float(np.exp(coefficient))
            else:
                level = zero.copy()
                level[term.name] = 1.0
                moved = model.expected_transactions_new(
                    horizon_days, purchase_covariates=zero, dropout_covariates=level
                )
                row["lifetime_multiplier"] = _first(moved) / base if base > 0 else None
            rows.append(row)
    return rows


def _first(values) -> float:
    return float(np.asarray(values, dtype=float).reshape(-1)[0])
