"""Named segments: which customers of an audience table each segment selects.

Thresholds are module constants; "high historic value" means the customer's ``historic_clv`` is
higher than that of at least 70% of the shop's customers (the rule of the *high* predicted spend
tier, :func:`valuecast.analysis.tiers.beats_share`, applied to historic CLV and computed over the
whole table, before any consent filter).

``champions``
    ``rfm_group`` is Champions.
``at-risk-high-value``
    High historic value and ``0.3 <= churn_probability < 0.6``: valuable customers who are
    slipping but are still more likely active than not by a fair margin, worth a retention offer.
``win-back``
    High historic value and ``churn_probability >= 0.6``: valuable customers who have most
    likely lapsed.  Disjoint from ``at-risk-high-value``.
``due-for-reorder``
    ``probability_alive >= 0.5`` and either ``expected_date_of_next_order`` falls within 14 days
    of the as-of date (on or before as-of + 14 days), or the customer has a repeat purchase and
    ``last_order_date + average_days_between_orders`` is on or before as-of + 14 days (their
    usual gap between purchases ends within 14 days or has already passed: due or overdue while
    still probably active).
``new-high-potential``
    ``rfm_group`` is New or Promising and ``predicted_spend_tier`` is high.
``<rfm group>``
    Every RFM group by its slug (lower case, spaces as dashes): ``champions``, ``loyal``,
    ``active``, ``new``, ``promising``, ``needs-attention``, ``at-risk``, ``previously-loyal``,
    ``almost-lost``, ``dormant``, ``prospects``.
``tier-high``, ``tier-medium``, ``tier-low``
    ``predicted_spend_tier``.

``at-risk-high-value``, ``win-back`` and ``due-for-reorder`` select nobody when the shop's model
could not be fitted (churn and alive probabilities are then missing); the spend tiers then rank
historic CLV (:func:`valuecast.jobs.analyze.analyze`), so the tier segments still select customers.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from valuecast.analysis.tiers import beats_share
from valuecast.outputs.audiences.names import (
    ALIVE,
    AT_RISK_CHURN,
    HIGH_VALUE_SHARE,
    LAPSED_CHURN,
    REORDER_WINDOW_DAYS,
    RFM_SLUGS,
    SEGMENTS,
)
from valuecast.outputs.audiences.table import ExportError, number_column


def _as_timestamp(value: date | str | pd.Timestamp | None) -> pd.Timestamp:
    if value is None:
        raise ExportError("an as-of date is needed for this segment")
    try:
        return pd.Timestamp(value).normalize()
    except (TypeError, ValueError) as error:
        raise ExportError(f"as-of date {value!r} is not a date: {error}") from None


def high_historic_value(table: pd.DataFrame) -> pd.Series:
    """True where ``historic_clv`` beats at least 70% of the table's customers."""
    high = beats_share(table["historic_clv"].to_numpy(dtype=float), HIGH_VALUE_SHARE)
    return pd.Series(high, index=table.index)


def is_text_categorical(values: pd.Series) -> bool:
    """Whether ``values`` is a categorical of text labels (compared with a label by its codes)."""
    return isinstance(values.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(
        values.cat.categories
    )


def _labels(table: pd.DataFrame, column: str) -> pd.Series:
    """``table[column]`` as text to compare with a label: a categorical of text labels (a
    caller's compact copy of a large table) is compared as it is, by its codes."""
    values = table[column]
    return values if is_text_categorical(values) else values.astype("string")


def _dates(table: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(table[column], errors="coerce")


def label_segment(name: str) -> tuple[str, str] | None:
    """The column and label of a segment that is the customers of one label (an RFM group, a
    spend tier), as :func:`segment_mask` selects them; None for the other segments."""
    if name in RFM_SLUGS:
        return "rfm_group", RFM_SLUGS[name]
    if name.startswith("tier-") and name in SEGMENTS:
        return "predicted_spend_tier", name.removeprefix("tier-")
    return None


def segment_mask(
    table: pd.DataFrame,
    name: str,
    as_of: date | str | pd.Timestamp | None = None,
    high_value: pd.Series | None = None,
) -> pd.Series:
    """Boolean Series: which rows of ``table`` (an :func:`audience_table`) are in segment ``name``.

    ``as_of`` (the analysis' as-of date) is needed for ``due-for-reorder`` only; ``high_value``
    is :func:`high_historic_value` of ``table`` when the caller, masking every segment, has it.
    """
    if name not in SEGMENTS:
        raise ExportError(f"unknown segment {name!r}: known segments are {', '.join(SEGMENTS)}")
    labelled = label_segment(name)
    if labelled is not None:
        column, label = labelled
        mask = _labels(table, column) == label
    elif name == "new-high-potential":
        group = _labels(table, "rfm_group")
        mask = group.isin(["New", "Promising"]) & (_labels(table, "predicted_spend_tier") == "high")
    elif name in ("at-risk-high-value", "win-back"):
        churn = number_column(table, "churn_probability")
        band = (
            (churn >= AT_RISK_CHURN) & (churn < LAPSED_CHURN)
            if name == "at-risk-high-value"
            else churn >= LAPSED_CHURN
        )
        mask = (high_historic_value(table) if high_value is None else high_value) & band
    else:  # due-for-reorder
        until = _as_timestamp(as_of) + pd.Timedelta(days=REORDER_WINDOW_DAYS)
        alive = number_column(table, "probability_alive") >= ALIVE
        expected = _dates(table, "expected_date_of_next_order") <= until
        gap = number_column(table, "average_days_between_orders")
        # last order + usual gap <= until, as days: converting the gaps to timedeltas took
        # 0.65 GB of temporaries at 10M customers (a missing date or gap compares False either way)
        days_left = (until - _dates(table, "last_order_date")) / pd.Timedelta(days=1)
        mask = alive & (expected | (gap <= days_left))
    return pd.Series(np.asarray(mask.fillna(False), dtype=bool), index=table.index)
