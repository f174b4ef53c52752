"""What drives value: each covariate level's effect on the purchase rate and on how long customers
keep buying, from summary.json's ``model.covariates`` (``analyze --covariates``).

The purchase rate multiplier is ``exp(coefficient)`` (Fader & Hardie 2007: ``alpha_i = alpha *
exp(-coefficient * x_i)``); the lifetime multiplier is the ratio of a new customer's expected
repeat purchases over the horizon from the dropout effect alone
(:func:`valuecast.analysis.covariates.coefficient_rows`).  Both are against the reference level
(the largest of a category, false, or the mean of a number) and come with their 95% interval
(``exp(coefficient -/+ 1.96 se)`` for the rate) and two-sided Wald p-value.
"""

from __future__ import annotations

import math

from valuecast.analysis.covariate_names import ATTRIBUTES, single_valued
from valuecast.analysis.covariates import MIN_LEVEL_CUSTOMERS
from valuecast.outputs.report.charts import (
    BLUE,
    ORANGE,
    Chart,
    HtmlTable,
    axis_layout,
    chart_labels,
    finite,
    plotly_figure,
    trace,
)

TITLE = "What each customer attribute does to purchases and lifetime"
Z95 = 1.959963984540054


def _label(row: dict) -> str:
    return f"{row['covariate']}: {row['level']}"


def _p_text(p: float | None) -> str:
    p = finite(p)
    if p is None:
        return "-"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _multiplier(row: dict) -> float | None:
    key = "rate_multiplier" if row["process"] == "purchase" else "lifetime_multiplier"
    return finite(row.get(key))


def driver_effects(summary: dict) -> tuple[list[Chart], list[HtmlTable]]:
    """The multipliers chart (purchase rate and lifetime per level) and the coefficients table."""

    covariates = (summary.get("model") or {}).get("covariates")
    if not covariates or not covariates.get("coefficients"):
        kept = ((summary.get("backtest") or {}).get("covariates") or {}).get("kept")
        constant = single_valued(summary.get("notes") or [])
        if kept:
            reading = (
                "The backtest predicted the holdout better without the covariates, so the model "
                "uses none."
            )
        elif constant:
            reading = (
                f"Every customer has the same {' and the same '.join(constant)} (the orders "
                "name no other), which tells nothing about value: the model uses no covariates."
            )
        else:
            reading = _covariates_advice(
                summary.get("customers_with_attribute"), summary.get("attributes_that_vary")
            )
        return [Chart("drivers-effects", TITLE, reading)], []
    rows = covariates["coefficients"]
    purchase = [r for r in rows if r["process"] == "purchase"]
    dropout = {_label(r): r for r in rows if r["process"] == "dropout"}
    names = [_label(r) for r in purchase]
    rate = [_multiplier(r) for r in purchase]
    life = [_multiplier(dropout[name]) if name in dropout else None for name in names]
    labels = chart_labels(names)
    high = [_bound(r, Z95) for r in purchase]
    low = [_bound(r, -Z95) for r in purchase]
    traces = [
        trace(
            "bar", y=labels, x=rate, orientation="h", name="purchase rate", marker={"color": BLUE},
            error_x={"type": "data", "symmetric": False,
                     "array": [_gap(h, m) for h, m in zip(high, rate, strict=True)],
                     "arrayminus": [_gap(m, w) for m, w in zip(rate, low, strict=True)]},
            hovertemplate="%{y}: buys %{x:.2f}x as often<extra></extra>",
        ),
        trace(
            "bar", y=labels, x=life, orientation="h", name="lifetime (purchases before leaving)",
            marker={"color": ORANGE},
            hovertemplate="%{y}: %{x:.2f}x the repeat purchases from staying<extra></extra>",
        ),
    ]  # fmt: skip
    figure = plotly_figure(
        traces,
        barmode="group",
        xaxis=axis_layout("multiplier against the reference level (1 = no difference)"),
        yaxis=axis_layout("", autorange="reversed"),
        shapes=[
            {"type": "line", "yref": "paper", "y0": 0, "y1": 1, "x0": 1, "x1": 1,
             "line": {"color": "#666", "dash": "dot", "width": 1}}
        ],
    )  # fmt: skip
    charts = [Chart("drivers-effects", TITLE, _reading(purchase, dropout), figure)]
    table = HtmlTable(
        "Covariate effects",
        ["attribute", "level", "against", "process", "multiplier", "coefficient", "std. error",
         "p-value"],
        [
            [r["covariate"], str(r["level"]), str(r["reference"]),
             "purchase rate" if r["process"] == "purchase" else "lifetime",
             _times(_multiplier(r)), _number(r.get("coefficient")),
             _number(r.get("standard_error")), _p_text(r.get("p_value"))]
            for r in rows
        ],
        "Purchase rate: exp(coefficient), the mean purchase rate against the reference level. "
        "Lifetime: a new customer's expected repeat purchases over the horizon from the dropout "
        "effect alone, against the reference. p-values are two-sided Wald tests; levels with "
        f"fewer than {covariates.get('min_level_customers', 30)} customers are pooled as "
        "'other'.",
    )  # fmt: skip
    return charts, [table]


ATTRIBUTE_WORDS = {
    "acquisition_channel": "acquisition channel",
    "first_discount_code": "discount code",
    "accepts_marketing": "marketing consent",
}
"""Each attribute covariate (:data:`~valuecast.analysis.covariate_names.ATTRIBUTES`) in words."""

BRINGING_ATTRIBUTES = (
    "an orders table brings them with `--map channel=COL,discount_code=COL,"
    "accepts_marketing=COL`, a platform export from its own columns (Shopify's Source, Discount "
    "Code and Accepts Marketing, or a customers export's consent; WooCommerce's created_via and "
    "coupons; Magento's store_name and coupon_code)"
)
"""Where the importers read the attributes from (io/generic.py, shopify.py, woocommerce.py,
magento.py)."""


def _covariates_advice(held: dict | None, varying: list | None = None) -> str:
    """The run that shows what the attributes that vary among the customers do to value, or,
    with none, why none can be shown and how to bring them in.

    ``held``: summary.json's ``customers_with_attribute`` (customers per attribute);
    ``varying``: its ``attributes_that_vary``, those ``--covariates`` would fit.  A summary
    without the counts names every attribute; one without ``varying``, every attribute held."""
    if held is None:
        held = dict.fromkeys(ATTRIBUTES, 1)
    holding = [name for name in ATTRIBUTES if held.get(name)]
    named = holding if varying is None else [name for name in holding if name in varying]
    missing = [ATTRIBUTE_WORDS[name] for name in ATTRIBUTES if name not in holding]
    alike = [ATTRIBUTE_WORDS[name] for name in holding if name not in named]
    reasons = []
    if alike:
        gives = "gives" if len(alike) == 1 else "give"
        reasons.append(
            f"the {_listed(alike, 'and')} {gives} no two groups of customers to compare: one "
            f"value for every customer, or none held by {MIN_LEVEL_CUSTOMERS} customers"
        )
    if missing:
        reasons.append(f"the orders name no {_listed(missing, 'or')}")
    if not named:
        where = "" if alike else f"; {BRINGING_ATTRIBUTES}"
        return (
            f"No covariates: {'; '.join(reasons)}, so no attribute's effect on value can be "
            f"shown{where}."
        )
    text = (
        f"No covariates: run `valuecast analyze --covariates {','.join(named)}` to see what "
        "each attribute does to value."
    )
    if reasons:
        said = "; ".join(reasons)
        text += f" {said[0].upper()}{said[1:]}."
    return text


def _listed(words: list[str], last: str) -> str:
    """``a``, ``a or b``, ``a, b or c`` (``last`` the joining word)."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def _bound(row: dict, z: float) -> float | None:
    coefficient, error = finite(row.get("coefficient")), finite(row.get("standard_error"))
    if coefficient is None or error is None:
        return None
    return math.exp(coefficient + z * error)


def _gap(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _number(value) -> str:
    value = finite(value)
    return "-" if value is None else f"{value:.3f}"


def _reading(purchase: list[dict], dropout: dict[str, dict]) -> str:
    """The level whose purchase rate differs most from its reference, in words."""
    known = [r for r in purchase if _multiplier(r) is not None]
    if not known:
        return "The fit gave no usable coefficient."
    top = max(known, key=lambda r: abs(math.log(_multiplier(r))))
    text = (
        f"{top['covariate']} {top['level']} buys {_multiplier(top):.2f}x as often as "
        f"{top['reference']} (p {_p_text(top.get('p_value'))})"
    )
    life = dropout.get(_label(top))
    if life is not None and _multiplier(life) is not None:
        text += f" and makes {_multiplier(life):.2f}x the repeat purchases from staying"
    return text + "; bars are multipliers against the reference level, 1 is no difference."
