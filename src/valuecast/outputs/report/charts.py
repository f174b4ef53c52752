"""The building blocks of every chart, shared by ``report.html`` and the dashboard.

Colours and fonts, the page structure (:class:`Chart`, :class:`HtmlTable`, :class:`Section`),
number formatting for readings and tables (``-`` for a missing value), Plotly figures as plain
JSON-ready data (:func:`plotly_figure`) and JSON that is safe inside a ``<script>`` element.
"""

from __future__ import annotations

import bisect
import functools
import importlib.util
import json
import math
import textwrap
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from valuecast.tables import NEXT_ORDER_MIN_ALIVE, round_half_up

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

# Plotly's named colorscales as plotly.py writes them into a figure (plotly.js has no RdYlGn,
# and a Blues of its own)
RED_YELLOW_GREEN = [
    [0.0, "rgb(165,0,38)"], [0.1, "rgb(215,48,39)"], [0.2, "rgb(244,109,67)"],
    [0.3, "rgb(253,174,97)"], [0.4, "rgb(254,224,139)"], [0.5, "rgb(255,255,191)"],
    [0.6, "rgb(217,239,139)"], [0.7, "rgb(166,217,106)"], [0.8, "rgb(102,189,99)"],
    [0.9, "rgb(26,152,80)"], [1.0, "rgb(0,104,55)"],
]  # fmt: skip
BLUES = [
    [0.0, "rgb(247,251,255)"], [0.125, "rgb(222,235,247)"], [0.25, "rgb(198,219,239)"],
    [0.375, "rgb(158,202,225)"], [0.5, "rgb(107,174,214)"], [0.625, "rgb(66,146,198)"],
    [0.75, "rgb(33,113,181)"], [0.875, "rgb(8,81,156)"], [1.0, "rgb(8,48,107)"],
]  # fmt: skip
VIRIDIS = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
           "#6ece58", "#b5de2b", "#fde725")  # fmt: skip


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
    """An amount as text, rounded as the CSV files round it
    (:func:`valuecast.tables.round_half_up`): a cohort's 150.125 per customer is 150.13 on the
    page as in cohorts.csv, not the 150.12 that formatting the double alone gives (half to even)."""
    number = finite(value)
    if number is None:
        return "-"
    text = f"{round_half_up(number, decimals):,.{decimals}f}"
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
    """A count, or an amount in whole units rounded half up as the files round it."""
    number = finite(value)
    return "-" if number is None else f"{round_half_up(number, 0):,.0f}"


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
LABEL_CHARACTERS = 80
"""Characters of a shop's own text a chart label shows: a 250-character UTM query string or a
330-character product name squeezed the bars into a strip; the start names the thing."""


def chart_labels(values: Any) -> list[str]:
    """A shop's own text (products, channels, codes) as chart labels: Plotly draws a subset of
    HTML in labels (``<b>``, ``<br>``, links), so ``&`` and ``<`` are given as entities and a
    product named ``<b>Tea</b>`` shows as written, not bold, nor as a link it could carry.
    A label longer than :data:`LABEL_CHARACTERS` ends in "…" there (kept apart from another of
    the same start: Plotly draws equal categories as one)."""
    return [
        label.replace("&", "&amp;").replace("<", "&lt;") for label in _shortened(map(str, values))
    ]


def _shortened(texts: Any) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for text in texts:
        if len(text) > LABEL_CHARACTERS:
            short = text[: LABEL_CHARACTERS - 1] + "…"
            seen[short] = seen.get(short, 0) + 1
            text = short if seen[short] == 1 else f"{short} ({seen[short]})"
        out.append(text)
    return out


LABEL_LINE = 18
"""Characters a line of a category axis' label holds before :func:`wrapped_chart_labels` breaks
it: a bar's slot of a chart of eight in the report's width."""
LABEL_LINE_HEIGHT = 18
"""Pixels a chart grows by for each line its category labels take beyond the first."""


def wrapped_chart_labels(values: Any, width: int = LABEL_LINE) -> list[str]:
    """:func:`chart_labels` broken into lines of at most ``width`` characters at spaces (a
    longer word stays whole), for a category axis under vertical bars: a channel named
    "Facebook & Instagram Advantage+ Shopping Campaign - Prospecting" is four lines under its
    bar, where whole it tilted every label and squeezed the bars into a strip."""
    labels = []
    for value in _shortened(map(str, values)):
        # a word of two lines or more (a URL's query string) is broken too
        broken = any(len(word) > 2 * width for word in value.split())
        lines = textwrap.wrap(value, width, break_long_words=broken, break_on_hyphens=False) or [
            value
        ]
        labels.append("<br>".join(chart_labels(lines)))
    return labels


def height_for_labels(labels: list[str], height: int = 380) -> int:
    """A chart's ``height`` grown by :data:`LABEL_LINE_HEIGHT` for each line beyond the first
    of its longest category label (:func:`wrapped_chart_labels`), so the labels' lines take
    room below the bars rather than from them."""
    lines = max((label.count("<br>") + 1 for label in labels), default=1)
    return height + LABEL_LINE_HEIGHT * (lines - 1)


def plotly_package_file(*names: str) -> Path:
    """A file of the installed ``plotly`` package's data (``plotly.min.js``, the templates),
    found without importing plotly: its figure classes take ~0.25 s to import, and nothing of
    plotly runs here but plotly.js in the browser."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - no plotly
        raise RuntimeError("the plotly package is not installed")
    path = Path(next(iter(spec.submodule_search_locations)), "package_data", *names)
    if not path.is_file():  # pragma: no cover - a broken plotly install
        raise RuntimeError(f"{path}: missing from the plotly package")
    return path


def trace(kind: str, **properties: Any) -> dict[str, Any]:
    """A Plotly trace of type ``kind`` (``"bar"``, ``"scatter"``, ...) as a plain dict; a
    property given as None is left out, as Plotly leaves it unset.

    Nothing checks the properties at run time: tests/report/test_plotly_validation.py has
    Plotly validate every figure of the report and the dashboard."""
    return {"type": kind, **_given(properties)}


def plotly_figure(traces: list[dict[str, Any]], **layout: Any) -> dict[str, Any]:
    """A Plotly figure of ``traces`` (:func:`trace`) as plain JSON-ready data: NumPy arrays
    and numbers become lists and Python numbers, NaN and infinities null, and the layout's
    named template (``plotly_white``) the template's JSON, each figure a copy of its own."""
    base = {
        "template": "plotly_white",
        "font": {"family": FONT, "size": 13, "color": INK},
        "margin": {"l": 64, "r": 24, "t": 16, "b": 56},
        "height": 380,
        "legend": {"orientation": "h", "y": -0.2, "x": 0},
        "hoverlabel": {"font": {"family": FONT}},
    }
    base.update(_given(layout))
    template = base.pop("template") if isinstance(base.get("template"), str) else None
    figure = json.loads(
        json.dumps({"data": traces, "layout": base}, default=_json_value),
        parse_constant=lambda _: None,  # NaN, Infinity and -Infinity, as Plotly writes them
    )
    if template is not None:
        figure["layout"]["template"] = json.loads(_template_text(template))
    return figure


def _given(properties: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in properties.items() if value is not None}


def _json_value(value: Any) -> Any:
    """What JSON cannot write itself, as Plotly's JSON encoder writes it: arrays and Series as
    lists (dates as ISO text), NumPy numbers and decimals as Python numbers, pandas' missing
    values as null, dates as ISO text."""
    import pandas as pd

    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "__array__"):  # NumPy arrays, pandas Series and Index
        array = np.asarray(value)
        if array.dtype.kind == "M":
            return np.datetime_as_string(array).tolist()
        return array.tolist()
    if isinstance(value, Decimal):
        return float(value)
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} {value!r} is no chart value")


@functools.cache
def _template_text(name: str) -> str:
    """The JSON text of Plotly's template ``name`` as plotly.py ships it (and its
    ``go.Layout(template=name)`` gives it)."""
    return plotly_package_file("templates", f"{name}.json").read_text(encoding="utf-8")


def viridis_colors(points: list[float]) -> list[str]:
    """Viridis at ``points`` (0 to 1) as ``rgb(r, g, b)`` text, the colours (and the arithmetic)
    of ``plotly.colors.sample_colorscale("Viridis", points)``."""
    step = 1.0 / (len(VIRIDIS) - 1)
    scale = [i * step for i in range(len(VIRIDIS))]
    colors = [[int(hex_[k : k + 2], 16) / 255.0 for k in (1, 3, 5)] for hex_ in VIRIDIS]
    sampled = []
    for point in points:
        high = bisect.bisect_left(scale, point)
        low = high - 1  # -1 (the last colour) at 0, which the interpolant of 1 takes back
        weight = (point - scale[low]) / (scale[high] - scale[low])
        rgb = (a + weight * float(b - a) for a, b in zip(colors[low], colors[high], strict=True))
        # rounded half to even from the shortest decimal text, as Plotly rounds
        sampled.append("rgb({}, {}, {})".format(*(round(Decimal(str(c * 255.0))) for c in rgb)))
    return sampled


def finite_values(series: Any) -> list[float | None]:
    return [finite(value) for value in np.asarray(series, dtype=float).tolist()]


def axis_layout(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "automargin": True, **_given(extra)}


def script_json(payload: Any) -> str:
    """JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` written as ``\\u`` escapes,
    so no text from the data (a channel named ``</script>``) can end or confuse the element."""
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
