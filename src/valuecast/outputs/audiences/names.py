"""The audience formats and named segments by name, with the segments' thresholds: what
``valuecast export --help`` and the dashboard list, importable without pandas (the rules that
select the customers are in :mod:`valuecast.outputs.audiences.segments`)."""

from __future__ import annotations

from valuecast.tables import GROUPS, TIERS

FORMATS: tuple[str, ...] = ("klaviyo", "mailchimp", "meta", "google")
"""The audience files' platforms (:mod:`valuecast.outputs.audiences.platforms`)."""

HIGH_VALUE_SHARE = 0.30
"""High historic value: ``historic_clv`` higher than that of at least 70% of the customers."""
AT_RISK_CHURN = 0.3
"""``at-risk-high-value``: churn probability from this ..."""
LAPSED_CHURN = 0.6
"""... up to (not including) this; ``win-back`` from this up."""
ALIVE = 0.5
"""``due-for-reorder``: probability alive at least this."""
REORDER_WINDOW_DAYS = 14
"""``due-for-reorder``: due on or before the as-of date plus this many days."""


def _slug(name: str) -> str:
    return "-".join(name.lower().split())


RFM_SLUGS: dict[str, str] = {_slug(group): group for group in GROUPS}
"""Each RFM group by its segment name (lower case, spaces as dashes)."""

SEGMENTS: dict[str, str] = {
    "champions": "rfm_group is Champions",
    "at-risk-high-value": (
        f"historic CLV in the top {HIGH_VALUE_SHARE:.0%} of the shop and "
        f"{AT_RISK_CHURN} <= churn_probability < {LAPSED_CHURN}"
    ),
    "win-back": (
        f"historic CLV in the top {HIGH_VALUE_SHARE:.0%} of the shop and "
        f"churn_probability >= {LAPSED_CHURN}"
    ),
    "due-for-reorder": (
        f"probability_alive >= {ALIVE} and the next order expected within "
        f"{REORDER_WINDOW_DAYS} days of the as-of date, or the usual gap between purchases "
        f"(last_order_date + average_days_between_orders) ending within {REORDER_WINDOW_DAYS} "
        "days or already passed"
    ),
    "new-high-potential": "rfm_group is New or Promising and predicted_spend_tier is high",
    **{slug: f"rfm_group is {group}" for slug, group in RFM_SLUGS.items() if slug != "champions"},
    **{f"tier-{tier}": f"predicted_spend_tier is {tier}" for tier in TIERS},
}
"""Every named segment and its rule, in the order ``valuecast export --help`` lists them."""
