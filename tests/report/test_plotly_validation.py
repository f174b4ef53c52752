"""Every chart of the report and the dashboard is a figure Plotly accepts as it is.

The figures are built as plain JSON (:func:`~valuecast.outputs.report.charts.trace`,
:func:`~valuecast.outputs.report.charts.plotly_figure`): nothing checks them at run time. Here
plotly.py validates each one of the report shop's (the report's sections with and without
spend, the dashboard's products page, a customer's history, the drivers chart) and writes it
back as JSON: a misspelt property or a value of the wrong type fails, and so does a value that
Plotly would rewrite (a named colorscale Plotly writes out as its colours).
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from plotly.colors import sample_colorscale
from plotly.utils import PlotlyJSONEncoder

from valuecast.outputs.report.charts import (
    BLUES,
    RED_YELLOW_GREEN,
    _template_text,
    viridis_colors,
)
from valuecast.outputs.report.drivers import driver_effects
from valuecast.outputs.report.render import report_sections
from valuecast.web.pages import _history_figure
from valuecast.web.views import view_parts

COEFFICIENTS = [
    {"covariate": "acquisition_channel", "level": level, "reference": "email", "process": process,
     "coefficient": coefficient, "standard_error": error, "p_value": p,
     "rate_multiplier": math.exp(coefficient), "lifetime_multiplier": math.exp(-coefficient)}
    for level, process, coefficient, error, p in (
        ("google", "purchase", 0.31, 0.08, 0.0001), ("google", "dropout", -0.2, 0.1, 0.04),
        ("meta", "purchase", -0.12, None, None), ("meta", "dropout", 0.05, 0.2, 0.8),
    )
]  # fmt: skip


def _figures(inputs) -> dict[str, dict]:
    """The figures of the report's sections and the dashboard's pages of one analysis."""
    built = report_sections(*inputs)
    parts = view_parts(*inputs, built=built)
    figures = {
        chart.key: chart.figure
        for section in built[1]
        for chart in section.charts
        if chart.figure is not None
    }
    for section in parts["sections"]:  # the stored figures: without their template
        for chart in section["charts"]:
            if chart["figure"] is not None:
                layout = {**chart["figure"]["layout"], "template": parts["template"]}
                figures[f"dashboard {chart['key']}"] = {**chart["figure"], "layout": layout}
    return figures


@pytest.fixture(scope="module")
def figures(shop) -> dict[str, dict]:
    summary, customers, tables, ingest_report = shop.with_spend
    found = {f"with spend: {k}": f for k, f in _figures(shop.with_spend).items()}
    found |= {f"without spend: {k}": f for k, f in _figures(shop.without_spend).items()}
    history = [
        {"as_of": "2025-01-31", "historic_clv": 120.0, "predicted_clv": 80.5},
        {"as_of": "2025-02-28", "historic_clv": 150.0, "predicted_clv": float("nan")},
    ]
    found["customer history"] = _history_figure(history, summary.get("currency"))
    covariates = {"model": {"covariates": {"coefficients": COEFFICIENTS}}}
    (effects,), _ = driver_effects(covariates)
    found["drivers-effects"] = effects.figure
    return found


def _same(made, plotlys, path: str = "") -> list[str]:
    """Where Plotly's JSON differs from the figure's: every key and item, numbers within a
    relative 1e-12 (key order aside)."""
    if isinstance(made, dict) and isinstance(plotlys, dict):
        differences = [f"{path}/{k}: not in Plotly's" for k in made.keys() - plotlys.keys()]
        differences += [f"{path}/{k}: only in Plotly's" for k in plotlys.keys() - made.keys()]
        for key in made.keys() & plotlys.keys():
            differences += _same(made[key], plotlys[key], f"{path}/{key}")
        return differences
    if isinstance(made, list) and isinstance(plotlys, list) and len(made) == len(plotlys):
        pairs = enumerate(zip(made, plotlys, strict=True))
        return [found for i, (a, b) in pairs for found in _same(a, b, f"{path}[{i}]")]
    if _number(made) and _number(plotlys):
        same = math.isclose(made, plotlys, rel_tol=1e-12, abs_tol=0.0)
    else:
        same = type(made) is type(plotlys) and made == plotlys
    return [] if same else [f"{path}: {made!r} but Plotly's {plotlys!r}"]


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def plotly_problems(figure: dict) -> list[str]:
    """What plotly.py rejects in ``figure``, or else where its validated JSON differs."""
    try:
        validated = go.Figure(copy.deepcopy(figure))
        plotlys = json.loads(pio.to_json(validated, validate=True, engine="json"))
    except ValueError as error:
        return [str(error).strip().splitlines()[0]]
    return _same(figure, plotlys)


def test_every_chart_is_a_figure_plotly_accepts_unchanged(figures):
    assert len(figures) >= 2 * 15 + 2 * 13 + 2  # every chart of the shop's pages is here
    for key, figure in figures.items():
        assert figure["data"], key
        assert plotly_problems(figure) == [], key


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: t.update(textpositon=t.pop("textposition")), "Invalid property"),
        (lambda t: t.update(textposition=3), "Invalid value"),
        (lambda t: t.update(orientation="sideways"), "Invalid value"),
        (lambda t: t.update(cliponaxis="no"), "Invalid value"),
    ],
)  # fmt: skip
def test_a_misspelt_property_or_a_value_of_the_wrong_type_fails(figures, change, problem):
    figure = copy.deepcopy(figures["with spend: data-quality-orders"])
    assert plotly_problems(figure) == []
    change(figure["data"][0])
    problems = plotly_problems(figure)
    assert problems and problem in problems[0]


def test_a_value_plotly_would_write_differently_fails(figures):
    figure = copy.deepcopy(figures["with spend: alive-heatmap"])
    figure["data"][0]["colorscale"] = "RdYlGn"  # Plotly writes out the colours
    assert any(p.startswith("/data[0]/colorscale") for p in plotly_problems(figure))
    figure = copy.deepcopy(figures["with spend: headline-clv"])
    figure["data"][0]["error_y"]["array"] = None  # Plotly leaves a None unset
    assert any("error_y/array: not in Plotly's" in p for p in plotly_problems(figure))


def test_the_template_is_plotlys_plotly_white():
    own = go.Layout(template="plotly_white").to_plotly_json()["template"]
    own = json.loads(json.dumps(own, cls=PlotlyJSONEncoder))
    assert json.loads(_template_text("plotly_white")) == own


def test_the_colorscales_are_plotlys_own():
    assert [list(p) for p in go.Heatmap(colorscale="RdYlGn").colorscale] == RED_YELLOW_GREEN
    assert [list(p) for p in go.Heatmap(colorscale="Blues").colorscale] == BLUES
    for n in (1, 2, 3, 7, 24, 101):
        points = np.linspace(0.0, 0.9, n).tolist()
        assert viridis_colors(points) == sample_colorscale("Viridis", points)
    points = np.random.default_rng(3).random(500).tolist() + [0.0, 1.0]
    assert viridis_colors(points) == sample_colorscale("Viridis", points)


PROBE = """
import sys
from valuecast.jobs.report import analyse_for_report
from valuecast.outputs.report import write_report
from valuecast.outputs.report.render import report_sections
from valuecast.store import Workspace
from valuecast.web.views import view_parts

with Workspace(sys.argv[1], read_only=True) as ws:
    inputs = analyse_for_report(ws)
built = report_sections(*inputs)
write_report(sys.argv[2], *inputs, built)
view_parts(*inputs, built=built)
print(sorted(m for m in sys.modules if m.split(".")[0] in ("plotly", "_plotly_utils")))
"""


def test_the_report_and_the_dashboards_charts_are_built_without_importing_plotly(shop):
    """plotly.py's figure classes take ~0.25 s to import and validate every figure again: the
    charts are JSON for plotly.js, which the page reads from plotly's package as a file."""
    page = shop.folder / "probe.html"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(shop.workspace), str(page)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert page.read_text(encoding="utf-8").count("Plotly.newPlot") >= 1
