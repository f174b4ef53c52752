"""The building blocks of every chart, shared by ``report.html`` and the dashboard.

Colours and fonts, the page structure (:class:`Chart`, :class:`HtmlTable`, :class:`Section`),
number formatting for readings and tables (``-`` for a missing value), Plotly figures as plain
JSON-ready data (:func:`plotly_figure`) and JSON that is safe inside a ``<script>`` element.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from valuecast.tables import NEXT_ORDER_MIN_ALIVE

FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK, MUTED = "#1f2933", "#7b8794"
BLUE, ORANGE, GREEN, RED, GREY = "#2563eb", "#f59e0b", "#16a34a", "#dc2626", "#9aa5b1"
MODEL_COLORS = {"bgnbd": "#2563eb", "pnbd": "#db2777", "mbgnbd": "#0d9488"}
MODEL_LABELS = {
    "bgnbd": "BG/NBD",
    "pnbd": "Pareto/NBD",
    "mbgnbd": "MBG/NBD",
    "ggnbd": "GGompertz/NBD",
}


# ------------------------------------------------------------------------------------------------
# page structure
@dataclass
class Chart:
    """One chart and its reading; ``figure`` None means no data (the reading says why)."""

    key: str
    title: str
    reading: str
    figure: dict[str, Any] | None = None


@dataclass
class HtmlTable:
    title: str
    columns: list[str]
    rows: list[list[str]]
    reading: str | None = None


@dataclass
class Section:
    key: str
    title: str
    charts: list[Chart] = field(default_factory=list)
    tables: list[HtmlTable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------
# formatting
def finite(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def money_text(value: Any, currency: str | None, decimals: int = 0) -> str:
    number = finite(value)
    if number is None:
        return "-"
    text = f"{number:,.{decimals}f}"
    return f"{text} {currency}" if currency else text


def pct_text(value: Any) -> str:
    number = finite(value)
    if number is None:
        return "-"
    if 0 < abs(number) < 0.005:
        return "under 1%" if number > 0 else "-under 1%"
    return f"{number:.0%}"


def alive_pct_text(value: Any) -> str:
    """A P(alive) as a whole percent, or to one decimal rounded down where the whole percent
    would read as :data:`~valuecast.tables.NEXT_ORDER_MIN_ALIVE` while the value is under it
    (0.4995: 49.9%, not 50%), so that a customer shown no next order for a P(alive) under 50%
    is never shown one of 50%."""
    number = finite(value)
    text = pct_text(number)
    if (
        number is not None
        and number < NEXT_ORDER_MIN_ALIVE
        and text == pct_text(NEXT_ORDER_MIN_ALIVE)
    ):
        return f"{math.floor(number * 1000) / 10:.1f}%"
    return text


def signed_pct_text(value: Any) -> str:
    number = finite(value)
    if number is None:
        return "-"
    text = f"{number:+.0%}"
    return "0%" if text in ("+0%", "-0%") else text  # no sign on what rounds to nothing


def count_text(value: Any) -> str:
    number = finite(value)
    return "-" if number is None else f"{number:,.0f}"


def plural_text(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def due_text(days: Any) -> str:
    """When a reminder is due, in words: ``in 3 days``, ``today``, ``5 days overdue`` (a due
    date in the past is said to be overdue, not shown as a date to remind on)."""
    number = finite(days)
    if number is None:
        return "-"
    whole = int(number)
    if whole == 0:
        return "today"
    count = plural_text(abs(whole), "day")
    return f"in {count}" if whole > 0 else f"{count} overdue"


def repeat_purchases_text(label: str) -> str:
    return f"{label} repeat purchase" + ("" if label == "1" else "s")


def model_label(name: str | None) -> str:
    """The model's name as a reader knows it: ``bgnbd+season`` is "BG/NBD with seasons"."""
    base, seasonal, _ = (name or "").partition("+season")
    label = MODEL_LABELS.get(base, name or "the model")
    return f"{label} with seasons" if seasonal and base in MODEL_LABELS else label


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


# ------------------------------------------------------------------------------------------------
# figures
def chart_labels(values: Any) -> list[str]:
    """A shop's own text (products, channels, codes) as chart labels: Plotly draws a subset of
    HTML in labels (``<b>``, ``<br>``, links), so ``&`` and ``<`` are given as entities and a
    product named ``<b>Tea</b>`` shows as written, not bold, nor as a link it could carry."""
    return [str(value).replace("&", "&amp;").replace("<", "&lt;") for value in values]


def plotly_figure(traces: list, **layout: Any) -> dict[str, Any]:
    """A Plotly figure (validated by plotly.graph_objects) as plain JSON-ready data."""
    import plotly.graph_objects as go
    from plotly.utils import PlotlyJSONEncoder

    base = {
        "template": "plotly_white",
        "font": {"family": FONT, "size": 13, "color": INK},
        "margin": {"l": 64, "r": 24, "t": 16, "b": 56},
        "height": 380,
        "legend": {"orientation": "h", "y": -0.2, "x": 0},
        "hoverlabel": {"font": {"family": FONT}},
    }
    base.update(layout)
    # a named template is validated and deep-copied into every figure by Plotly (~25 ms a
    # figure, most of the report's chart time); its JSON is the same for every figure, so it is
    # made once and put where Plotly puts it
    template = base.pop("template") if isinstance(base.get("template"), str) else None
    validated = go.Figure(data=traces, layout=base)
    # the validated properties themselves, where to_plotly_json deep-copies them and writes
    # every numeric array as base64 (0.1 s of a report's 14 figures at 1M customers, and the
    # base64 then read back into lists): they are only read, by the JSON encoding below
    figure = {"data": validated._data, "layout": validated._layout}
    if template is not None:
        figure["layout"] = _with_template(figure["layout"], _template_json(template))
    # the encoder turns numpy arrays and values into plain lists and numbers and NaN into null
    return json.loads(json.dumps(figure, cls=PlotlyJSONEncoder))


@functools.cache
def _template_json(name: str) -> dict[str, Any]:
    """The JSON of Plotly's template ``name`` as a figure's layout holds it (validated, so
    in Plotly's key order)."""
    import plotly.graph_objects as go

    return go.Layout(template=name).to_plotly_json()["template"]


@functools.cache
def _layout_order() -> dict[str, int]:
    """Plotly's order of the layout's properties: the order ``go.Layout`` sets them in, which
    is the order of its arguments."""
    import inspect

    import plotly.graph_objects as go

    names = inspect.signature(go.Layout.__init__).parameters
    return {name: index for index, name in enumerate(names)}


def _with_template(layout: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    """``layout`` with ``template`` among its keys where Plotly's own figure has it."""
    order = _layout_order()
    rank = order["template"]
    ordered = {key: value for key, value in layout.items() if order.get(key, -1) < rank}
    ordered["template"] = template
    ordered.update((key, value) for key, value in layout.items() if key not in ordered)
    return ordered


def finite_values(series: Any) -> list[float | None]:
    return [finite(value) for value in np.asarray(series, dtype=float).tolist()]


def axis_layout(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "automargin": True, **extra}


def script_json(payload: Any) -> str:
    """JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` written as ``\\u`` escapes,
    so no text from the data (a channel named ``</script>``) can end or confuse the element."""
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
