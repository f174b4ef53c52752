"""The columns of the customers table and what each holds.

One list for the pipeline that builds the table (:data:`CUSTOMER_COLUMNS`, in file order), the
snapshots and files that store its dates as calendar dates, and the audience exports whose
``--where`` compares text, numbers, dates and booleans each their own way; and the values its
``rfm_group`` and ``predicted_spend_tier`` columns take (:data:`GROUPS`, :data:`TIERS`), which
snapshots and audiences list in that order; and how every CSV file rounds a number column
(:func:`csv_decimals`) and which columns it writes as calendar dates (:func:`is_date_column`).
"""

from __future__ import annotations

from typing import Any

CUSTOMER_COLUMN_KINDS: dict[str, str] = {
    "customer_id": "text",
    "first_order_date": "date",
    "last_order_date": "date",
    "historic_number_of_orders": "number",
    "historic_clv": "number",
    "average_order_value": "number",
    "average_days_between_orders": "number",
    "frequency": "number",
    "recency": "number",
    "T": "number",
    "probability_alive": "number",
    "churn_probability": "number",
    "predicted_number_of_orders": "number",
    "predicted_average_order_value": "number",
    "predicted_clv": "number",
    "predicted_clv_p10": "number",
    "predicted_clv_p90": "number",
    "total_clv": "number",
    "expected_date_of_next_order": "date",
    "rfm_recency": "number",
    "rfm_frequency": "number",
    "rfm_monetary": "number",
    "rfm_score": "text",
    "rfm_group": "text",
    "predicted_spend_tier": "text",
    "acquisition_channel": "text",
    "first_discount_code": "text",
    "first_product": "text",
    "accepts_marketing": "bool",
}
"""Each customers-table column (in file order) and its kind: text, number, date or bool."""

CUSTOMER_COLUMNS: tuple[str, ...] = tuple(CUSTOMER_COLUMN_KINDS)
DATE_COLUMNS: tuple[str, ...] = tuple(
    name for name, kind in CUSTOMER_COLUMN_KINDS.items() if kind == "date"
)

CONTACT_FIELDS: tuple[str, ...] = (
    "email", "first_name", "last_name", "phone", "city", "province", "country", "zip",
)  # fmt: skip
"""The contact fields of a customers export that audience files use (the workspace's
``customers`` table holds them)."""

EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"
"""A customer id that is an e-mail address, whole (a regular expression for Python and DuckDB):
the audience files and the dashboard's consent counts key such a customer by it."""

NAME_TITLES: frozenset[str] = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof"})
"""Titles written before a given name (``Dr. Jane``), in lower case without the period: no part
of the first name an order's full name gives nor of the one the ad platforms match."""

NAME_SUFFIXES: frozenset[str] = frozenset({"jr", "sr", "ii", "iii", "iv"})
"""Generational suffixes written after a family name (``Smith Jr.``), in lower case without the
period: part of the last name an order's full name gives, no part of the one the ad platforms
match."""

NAME_PARTICLES: frozenset[str] = frozenset({
    "al", "bin", "da", "dal", "das", "de", "del", "della", "der", "des", "di", "do", "dos", "du",
    "el", "ibn", "la", "le", "st", "ten", "ter", "van", "von", "zu",
})  # fmt: skip
"""Words written before a family name and part of it (``van Dijk``, ``de la Cruz``, ``St
John``), in lower case without a period."""

PAGE_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "historic_number_of_orders",
    "historic_clv",
    "predicted_clv",
    "predicted_clv_p10",
    "predicted_clv_p90",
    "probability_alive",
    "expected_date_of_next_order",
    "last_order_date",
    "rfm_group",
    "predicted_spend_tier",
    "acquisition_channel",
)
"""The columns the dashboard's customers page shows, in order; each snapshot stores their sort
orders (:mod:`valuecast.store.sort_orders`)."""

GROUPS: tuple[str, ...] = (
    "Champions",
    "Loyal",
    "Active",
    "New",
    "Promising",
    "Needs attention",
    "At risk",
    "Previously loyal",
    "Almost lost",
    "Dormant",
    "Prospects",
)
"""Shopify's RFM group names, best first; Prospects are the customers without orders."""

LAPSED_GROUPS: tuple[str, ...] = ("Almost lost", "At risk", "Previously loyal", "Dormant")
"""The RFM groups whose names say a customer has stopped buying (R = 1 or 2)."""

LIKELY_ACTIVE = 0.9
"""P(alive) from which a customer of :data:`LAPSED_GROUPS` who bought again is counted as
likely active (:data:`ACTIVE_BUT_LOST`)."""

WITHIN_USUAL_GAP = 1.5
"""How many of a customer's average days between orders may have passed since their last order
for :data:`ACTIVE_BUT_LOST` to count them as between two orders."""

ACTIVE_BUT_LOST = "likely_active_in_lapsed_groups"
"""summary.json's count of the customers of :data:`LAPSED_GROUPS` who bought again, whose
P(alive) is at least :data:`LIKELY_ACTIVE` and whose last order is at most
:data:`WITHIN_USUAL_GAP` times their average days between orders ago: a shop whose customers
buy on a schedule ranks one between two orders as lapsed, which the RFM groups' caveat then
says (:func:`valuecast.outputs.report.segments.young_shop_words`)."""


def check_margin(margin: float) -> None:
    """Refuse a ``--margin`` that is no share of net revenue kept as profit: above 1 (a
    merchant's 40 for 40%, whose fraction is named) or 0 and below (every prediction would be 0
    and every customer one tier), NaN too."""
    if not 0 < margin <= 1:
        raise ValueError(
            f"margin must be above 0 and at most 1, the share of net revenue kept as profit "
            f"(0.4 for 40%; got {margin:g})"
        )


TIERS: tuple[str, ...] = ("high", "medium", "low")
"""The values of ``predicted_spend_tier``, highest first (None: no value to rank)."""

NEXT_ORDER_MIN_ALIVE = 0.5
"""The ``probability_alive`` from which a customer's ``expected_date_of_next_order`` is given:
under it the customer is more likely lapsed than active, and the date is left empty."""


def holds_one_time_buyers_alive(model_name: str) -> bool:
    """Whether the model ``model_name`` (BG/NBD, with seasons or covariates) lets customers leave
    only right after a repeat purchase: it holds every customer who has not bought again alive
    (P(alive) 1) however long ago they bought, so their P(alive) says nothing of them and gives
    them no ``expected_date_of_next_order``."""
    return model_name.startswith("bgnbd")


RATIO_DECIMALS = 4
MONEY_DECIMALS = 2
OTHER_DECIMALS = 6
_RATIO_COLUMNS = frozenset({"clv_to_cac", "new_customer_clv_to_cac"})
_MONEY_SUFFIXES = (
    "_clv", "_clv_p10", "_clv_p90", "_clv_mean", "_clv_median", "_clv_low", "_clv_high",
    "average_order_value", "_per_customer", "spend", "cac",
)  # fmt: skip
_MONTH_COLUMNS = frozenset({"payback_month"})


def csv_decimals(column: str) -> int:
    """Decimals a CSV file keeps of the number column ``column``; the one rule for every file.

    CSV files are for people and spreadsheets: money (CLV and its interval, order values,
    spend, CAC, revenue per customer, cumulative LTV ``ltv_m*``) and months to the cent,
    the CLV:CAC ratio to 4 decimals, everything else (probabilities, rates, expected orders,
    days) to 6.  Parquet files and ``summary.json`` keep full precision.
    """
    # a comparison's columns (compare's predicted_clv_before, ..._after) follow their own
    column = column.removesuffix("_before").removesuffix("_after")
    if column in _RATIO_COLUMNS:
        return RATIO_DECIMALS
    money = column.endswith(_MONEY_SUFFIXES) or column.startswith("ltv_m")
    if money or column in _MONTH_COLUMNS:
        return MONEY_DECIMALS
    return OTHER_DECIMALS


HALF_NOISE = 2.0**-45
"""How far below a half, relative to the scaled value, a double still counts as the half: the
binary form of a decimal amount lies within a few units of its last place of it (666.14 / 4 is
166.534999999999997 as a double; 2.675 is 2.67499999999999982), 2**-45 is 128 of them."""
HALF_NOISE_MOST = 2.0**-10
"""The most :data:`HALF_NOISE` counts for, in units of the last decimal kept: relative to a
large value it would reach whole units (1e13 at 2 decimals: 28 cents added).  A thousandth
stays above the product's own error up to 1e10 at 2 decimals (5,008,174,605.485 times 100 is
500,817,460,548.49994) and below the step of an amount written to two more places (0.49 of a
cent rounds down)."""


def round_half_up(values: Any, decimals: int) -> Any:
    """``values`` (a float or an array of floats) rounded to ``decimals`` places as a merchant
    rounds the amount written: an exact half away from zero, a double within binary noise
    (:data:`HALF_NOISE`, at most :data:`HALF_NOISE_MOST`) below a half counted as the half, so
    166.535 is 166.54 and 2.675 is 2.68 although both doubles lie just below the half.

    ``np.round`` rounds half to even (0.125 to 0.12) and DuckDB's ``round()`` from the double's
    exact value (166.534999... to 166.53): the CSV files, the engine's and NumPy's, and the
    value tiers' cents all round by this one rule instead (:func:`round_half_up_expr` in SQL),
    with the same operations in the same order, so they give the same doubles.  Missing (NaN)
    and infinite values stay as they are; a negative zero comes out 0.0.
    """
    import numpy as np

    x = np.asarray(values, dtype=np.float64)
    scale = 10.0**decimals
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.abs(x) * scale
        lifted = scaled + (np.minimum(scaled * HALF_NOISE, HALF_NOISE_MOST) + 0.5)
        rounded = np.floor(lifted) / scale * np.sign(x) + 0.0
        out = np.where(np.isfinite(rounded), rounded, x)
    return float(out) if out.ndim == 0 else out


def amount_text(value: float, decimals: int = 0) -> str:
    """An amount as the terminal shows it, with thousands separators, rounded by
    :func:`round_half_up` as the CSV files and the report round it: a total of 282.5 is 283 on
    every output, where Python's formatting alone rounds the half to even (282)."""
    return f"{round_half_up(float(value), decimals):,.{decimals}f}"


def whole_amount(value: float) -> int:
    """An amount in whole units as the outputs show it (:func:`amount_text`), for a change of
    two figures that adds up as they are shown (282.5 -> 300 is +17: 283 -> 300)."""
    return int(round_half_up(float(value), 0))


def round_half_up_expr(value: Any, decimals: int) -> Any:
    """:func:`round_half_up` of a floating Ibis expression, in the engine: the same operations
    in the same order, each exact or rounded alike (the floor as ``x - x % 1``, exact for
    ``x >= 0``: Ibis casts ``floor()`` to a 64-bit integer, which a CLV of 1e15 at 6 decimals
    would overflow).  An infinite value, which no amount reaches, comes out NaN here."""
    import ibis

    scale = 10.0**decimals
    scaled = value.abs() * scale
    lifted = scaled + (ibis.least(scaled * HALF_NOISE, HALF_NOISE_MOST) + 0.5)
    return (lifted - lifted % 1.0) / scale * value.sign() + 0.0


CLV_SETTINGS: dict[str, str] = {
    "horizon_months": "horizon",
    "margin": "margin",
    "annual_discount_rate": "discount rate",
}
"""The analysis settings that scale predicted CLV, by their summary key, as every note names
them (``compare``, ``history``, the dashboard): a currency is no setting, its notes are its own."""


def clv_setting_value(key: str, value: Any) -> str:
    """A :data:`CLV_SETTINGS` value as the notes write it: ``12 months``, ``1 month``, ``40%``,
    ``37.5%``; ``(none)`` where a snapshot recorded none."""
    if value is None:
        return "(none)"
    if key == "horizon_months":
        from valuecast.dates import months_text

        months = float(value)  # a history table's column may hold it as a float
        return months_text(int(months) if months.is_integer() else months)
    return f"{float(value) * 100:.4g}%"


def clv_setting_text(key: str, value: Any) -> str:
    """``horizon 12 months``, ``margin 40%``, ``discount rate 10%``."""
    return f"{CLV_SETTINGS[key]} {clv_setting_value(key, value)}"


def is_date_column(column: str) -> bool:
    """Whether a CSV file writes ``column`` as a calendar date (YYYY-MM-DD).

    The customers table's date columns and every ``*_date`` column of the other tables.
    """
    return column.endswith("_date") or CUSTOMER_COLUMN_KINDS.get(column) == "date"


def predicting_model(summary: dict) -> str | None:
    """The name of the model whose predictions an analysis summary (summary.json) holds: None
    without one, and for a candidate named but not fitted (historic figures only)."""
    model = summary.get("model")
    if not isinstance(model, dict):
        return model
    return None if model.get("fitted") is False else model.get("name")
