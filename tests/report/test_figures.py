"""plotly_figure: the JSON Plotly's own figure gives, template included, key for key."""

import json

import plotly.graph_objects as go
import pytest
from plotly.utils import PlotlyJSONEncoder

from valuecast.outputs.report.charts import plotly_figure


def _plotly_own(traces, **layout):
    """What go.Figure makes of the same traces and layout, with its template validated and
    copied by Plotly itself."""
    base = {
        "template": "plotly_white",
        "font": {"family": "Arial", "size": 13, "color": "#1f2933"},
        "margin": {"l": 64, "r": 24, "t": 16, "b": 56},
        "height": 380,
        "legend": {"orientation": "h", "y": -0.2, "x": 0},
        "hoverlabel": {"font": {"family": "Arial"}},
    }
    base.update(layout)
    figure = go.Figure(data=traces, layout=base)
    return json.loads(json.dumps(figure.to_plotly_json(), cls=PlotlyJSONEncoder))


LAYOUTS = [
    {},
    {"xaxis": {"title": {"text": "months"}}, "yaxis": {"tickformat": ",.0%"}},
    {"barmode": "stack", "annotations": [{"text": "n", "x": 1, "y": 2, "showarrow": False}]},
    {"shapes": [{"type": "line", "x0": 0, "x1": 1, "y0": 0, "y1": 1}], "title": {"text": "t"}},
    {"template": "plotly_dark", "width": 600, "autosize": False},
    {"template": "simple_white", "coloraxis": {"colorscale": "Blues"}, "uirevision": "x"},
]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_figures_equal_plotlys_own_in_content_and_key_order(layout, monkeypatch):
    monkeypatch.setattr("valuecast.outputs.report.charts.FONT", "Arial")
    traces = [
        go.Bar(x=["a", "b"], y=[1.5, None]),
        go.Scatter(x=[1, 2, 3], y=[3, 1, 2], mode="lines"),
    ]
    made = plotly_figure(traces, **layout)
    own = _plotly_own(traces, **layout)
    # key order too: the report's bytes are the JSON's
    assert json.dumps(made) == json.dumps(own)
    assert made["layout"]["template"] == own["layout"]["template"]
    assert list(made["layout"]) == list(own["layout"])


def test_each_figure_has_a_template_of_its_own():
    first = plotly_figure([go.Bar(x=[1], y=[1])])
    second = plotly_figure([go.Bar(x=[1], y=[1])])
    first["layout"]["template"]["layout"]["font"] = {"size": 99}
    assert second["layout"]["template"]["layout"].get("font") != {"size": 99}
