"""plotly_figure: the JSON Plotly's own figure gives, template included."""

import json
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.utils import PlotlyJSONEncoder

from valuecast.outputs.report.charts import BLUES, plotly_figure, trace


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
    {"template": "simple_white", "coloraxis": {"colorscale": BLUES}, "uirevision": "x"},
]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_figures_equal_plotlys_own(layout, monkeypatch):
    monkeypatch.setattr("valuecast.outputs.report.charts.FONT", "Arial")
    traces = [
        trace("bar", x=["a", "b"], y=[1.5, None], error_y=None),
        trace("scatter", x=[1, 2, 3], y=[3, 1, 2], mode="lines"),
    ]
    made = plotly_figure(traces, **layout)
    own = _plotly_own(traces, **layout)
    assert made == own  # as data: key order aside
    assert made["layout"]["template"] == own["layout"]["template"]


def test_each_figure_has_a_template_of_its_own():
    first = plotly_figure([trace("bar", x=[1], y=[1])])
    second = plotly_figure([trace("bar", x=[1], y=[1])])
    first["layout"]["template"]["layout"]["font"] = {"size": 99}
    assert second["layout"]["template"]["layout"].get("font") != {"size": 99}


def _lists(value):
    """Plotly's base64 typed arrays (``{"dtype", "bdata"[, "shape"]}``) read back as the plain
    lists they hold, NaN and infinities as None."""
    import base64
    import math

    import numpy as np

    if isinstance(value, list):
        return [_lists(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "bdata" in value and "dtype" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            array = array.reshape([int(n) for n in value["shape"].split(",")])
        return json.loads(json.dumps(array.tolist(), cls=PlotlyJSONEncoder))
    assert not any(isinstance(item, float) and not math.isfinite(item) for item in value.values())
    return {key: _lists(item) for key, item in value.items()}


def test_numpy_arrays_are_the_plain_lists_of_plotlys_own_typed_arrays(monkeypatch):
    import numpy as np

    monkeypatch.setattr("valuecast.outputs.report.charts.FONT", "Arial")
    nan, inf = float("nan"), float("inf")
    traces = [
        trace("scatter", x=np.linspace(0, 100, 5), y=np.array([0.5, nan, 2.0, inf, -inf]),
              customdata=np.array([1, 2, 3, 2**40, -7], dtype=np.int64)),
        trace("heatmap", z=np.array([[0.1, nan], [1.0, 0.25]]),
              customdata=np.array([[1, 2], [3, 4]]), x=np.array(["0-30", "31-60"]),
              y=np.array([0, 1], dtype=np.int64), zmax=np.float64(0.5), zmin=np.int64(0)),
        trace("bar", x=np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[ns]"),
              y=np.array([1.5, 2.5], dtype=np.float32), text=np.array([True, False])),
        trace("scatter", x=np.arange(3, dtype=np.uint64), y=pd.Series([300, -2, 70000]),
              text=pd.Index(["a", "b", "c"])),
        trace("scatter", x=[date(2024, 1, 2), datetime(2024, 1, 3, 4), pd.Timestamp("2024-01-04")],
              y=[Decimal("1.25"), pd.NA, np.float32("nan")], customdata=[pd.NaT, np.int64(3), 4]),
    ]  # fmt: skip
    made = plotly_figure(traces, xaxis={"range": np.array([0.0, 100.0])})
    own = _lists(_plotly_own(traces, xaxis={"range": np.array([0.0, 100.0])}))
    assert made == own
    assert json.dumps(made, allow_nan=False)  # plain JSON: no NaN, no NumPy value
    assert made["data"][0]["y"] == [0.5, None, 2.0, None, None]
    assert made["data"][1]["z"] == [[0.1, None], [1.0, 0.25]]


def _cut_short_cohorts() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two cohorts' LTV and retention as of 2025-01-15: the 2024-01 cohort's month 12 is cut
    short by the as-of date, the 2023-12 cohort's is whole."""
    cohorts = pd.DataFrame(
        {"cohort_month": ["2023-12", "2024-01"], "customers": [10, 30],
         "ltv_m0": [50.0, 40.0], "ltv_m12": [90.0, 45.0]}
    )  # fmt: skip
    retention = pd.DataFrame(
        {"cohort_month": ["2023-12", "2024-01"], "months_since_acquisition": [12, 12],
         "partial_month": [False, True]}
    )  # fmt: skip
    return cohorts, retention


def test_the_ltv_reading_counts_only_cohorts_whose_month_is_complete():
    # as of 2025-01-15: the 2024-01 cohort's month 12 is cut short, the 2023-12 cohort's is not
    from valuecast.outputs.report.cohorts import ltv_chart

    cohorts, retention = _cut_short_cohorts()
    reading = ltv_chart(cohorts, "USD", retention).reading
    assert "50.00 USD in the month of their first order and 90.00 USD by month 12" in reading
    assert "(1 cohort that got there)" in reading
    counted = ltv_chart(cohorts, "USD").reading  # without the retention table: every cohort
    assert "(2 cohorts that got there)" in counted


def test_a_month_the_as_of_date_cuts_short_is_marked_in_the_chart_and_the_dashboards_table():
    """As of 2025-01-15 the 2024-01 cohort's month 12 holds half a month: the chart drew it, and
    the dashboard's table showed it, as a whole month beside the 2023-12 cohort's (the CLI
    marks it 171*).  A shop of one month whose only cohort is cut short says so too, and its
    axis is not drawn from -1 to 1."""
    from valuecast.outputs.report.cohorts import ltv_chart, partial_ltv_cells
    from valuecast.web.pages import environment

    cohorts, retention = _cut_short_cohorts()
    figure = ltv_chart(cohorts, None, retention).figure
    by_cohort = {line["name"]: line for line in figure["data"]}
    assert by_cohort["2024-01"]["customdata"][-1].startswith(" (a part of the month")
    assert by_cohort["2023-12"]["customdata"] == ["", ""]
    assert "%{y:,.2f} per customer" in by_cohort["2024-01"]["hovertemplate"]  # no "  per"
    assert partial_ltv_cells(retention) == {"2024-01|ltv_m12"}
    table = (
        environment()
        .from_string(
            '{% from "_macros.html.j2" import frame_table %}'
            '{{ frame_table(rows, ["cohort_month", "ltv_m12"], money=("ltv_m12",), marked=marked) }}'
        )
        .render(rows=cohorts.to_dict("records"), marked=partial_ltv_cells(retention))
    )
    assert "<td>45.00*</td>" in table and "<td>90.00</td>" in table
    one = ltv_chart(
        cohorts.iloc[[1]][["cohort_month", "customers", "ltv_m0"]], "USD",
        pd.DataFrame({"cohort_month": ["2024-01"], "months_since_acquisition": [0],
                      "partial_month": [True]}),
    )  # fmt: skip
    assert "has brought 40.00 USD so far in the month of their first order" in one.reading
    assert one.figure["layout"]["xaxis"]["range"] == [-0.25, 1]


def test_the_backtest_reading_by_frequency_names_groups_of_ten_or_more_customers():
    """A 60-customer shop: the reading called the model closest for the one customer with 7+
    repeat purchases and furthest for the two with 4, where the groups of many customers are
    the evidence."""
    from valuecast.outputs.report.backtest import model_backtest

    summary = {
        "model": {"name": "pnbd"},
        "backtest": {
            "models": {"pnbd": {}}, "calibration_end": "2025-06-30",
            "by_frequency": {
                "frequency": ["0", "1", "2", "4", "7+"], "customers": [30, 15, 10, 2, 1],
                "actual": [0.20, 0.50, 0.90, 0.00, 2.00],
                "predicted": {"pnbd": [0.25, 0.48, 1.10, 1.54, 1.97]},
            },
        },
    }  # fmt: skip
    charts, _ = model_backtest(summary)
    (chart,) = [chart for chart in charts if chart.key == "backtest-frequency"]
    assert chart.reading.startswith("Of the groups of 10 or more customers, ")
    assert "closest for customers with 1 repeat purchase in calibration" in chart.reading
    assert "furthest for 2 repeat purchases (1.10 vs 0.90)" in chart.reading
    assert "7+" not in chart.reading and "(1.54 vs 0.00)" not in chart.reading


def test_money_on_the_pages_is_rounded_as_the_csv_files_round_it():
    """A cohort's 4 customers with 666.14 by month 12 are 166.535 each: cohorts.csv wrote
    166.54 and the dashboard's table 166.53 (the double 166.534999... formatted)."""
    from valuecast.outputs.files import rounded_for_csv
    from valuecast.outputs.report.charts import money_text

    value = 666.14 / 4
    csv = rounded_for_csv(pd.DataFrame({"ltv_m12": [value]}))["ltv_m12"].iloc[0]
    assert money_text(value, "USD", 2) == f"{csv:,.2f} USD" == "166.54 USD"


def test_a_new_customers_worth_ranks_channels_only_where_they_differ():
    from valuecast.outputs.report.channels import _new_customer_reading

    ordered = pd.DataFrame(
        {"acquisition_channel": ["email", "meta", "tiktok"],
         "new_customer_clv": [178.02, 178.05, 178.07]}
    )  # fmt: skip
    plain = {"horizon_months": 12, "model": {"new_customer": {}}}
    text = _new_customer_reading(ordered, "acquisition_channel", "EUR", plain)
    assert "worth about 178.05 EUR from any channel" in text and "worth most" not in text
    assert text.endswith("(run with --covariates acquisition_channel).")
    # covariates given, and dropped by the backtest: the advice is not to give them again
    tried = {**plain, "model": {"name": "bgnbd", "new_customer": {}},
             "backtest": {"covariates": {"kept": {"bgnbd": False, "pnbd": True}}}}  # fmt: skip
    text = _new_customer_reading(ordered, "acquisition_channel", "EUR", tried)
    assert "--covariates" not in text and "better without the covariates given" in text
    # kept (another covariate than the channel): the channel may still be given
    kept = {**tried, "model": {"name": "pnbd", "new_customer": {}}}
    text = _new_customer_reading(ordered, "acquisition_channel", "EUR", kept)
    assert text.endswith("(run with --covariates acquisition_channel).")
    ordered["new_customer_clv"] = [120.0, 178.0, 150.0]
    text = _new_customer_reading(ordered, "acquisition_channel", "EUR", plain)
    assert "worth most from meta: 178.00 EUR over the next 12 months" in text


@pytest.mark.parametrize(
    ("actual", "said"),
    [
        ([0.0, 0.0], "for every number of repeat purchases in calibration: no customer of these "
         "groups ordered in the holdout period."),
        ([0.001, 0.002], "for every number of repeat purchases in calibration."),
    ],
)  # fmt: skip
def test_a_backtest_whose_gaps_round_to_nothing_names_no_closest_or_furthest(actual, said):
    from valuecast.outputs.report.backtest import model_backtest

    summary = {
        "model": {"name": "mbgnbd"},
        "backtest": {
            "models": {"mbgnbd": {}},
            "by_frequency": {
                "frequency": [0, 1], "customers": [60, 2], "actual": actual,
                "predicted": {"mbgnbd": [0.001, 0.003]},
            },
        },
    }  # fmt: skip
    charts, _ = model_backtest(summary)
    reading = next(chart.reading for chart in charts if chart.key == "backtest-frequency")
    assert reading == "MBG/NBD is within 0.01 holdout orders per customer of the actual " + said


def test_data_quality_tells_the_ingest_from_a_back_dated_analysis_and_keeps_its_notes():
    from valuecast.outputs.report.data_quality import data_quality

    report = {
        "rows_read": 900, "orders": 800, "guest_orders": 40, "workspace_orders": 800,
        "excluded_orders": {"cancelled": 5},
        "notes": ["multi.csv: converted to EUR with rates.csv: USD (10 orders)",
                  "12 guest orders (30.00 revenue) left out"],
    }  # fmt: skip
    summary = {"n_orders": 500, "n_guest_orders": 25, "as_of": "2025-12-31",
               "notes": ["12 guest orders (30.00 revenue) left out"]}  # fmt: skip
    chart, notes = data_quality(summary, report)
    assert chart.reading.startswith("Of 900 rows read, 800 orders were stored (40 of them")
    assert chart.reading.endswith(
        "The analysis as of 2025-12-31 uses the 500 orders of the workspace's 800 placed by then "
        "(25 of them guest orders)."
    )
    assert "multi.csv: converted to EUR with rates.csv: USD (10 orders)." in notes
    assert sum("guest orders (30.00 revenue)" in note for note in notes) == 1  # said once
    # an analysis of every stored order reads as before
    chart, _ = data_quality({**summary, "n_orders": 800}, report)
    assert "800 orders were used" in chart.reading and "The analysis as of" not in chart.reading


def test_data_quality_says_its_counts_are_the_last_ingests_of_several():
    from valuecast.outputs.report.data_quality import data_quality

    report = {
        "rows_read": 362, "orders": 202, "guest_orders": 8, "workspace_orders": 421,
        "excluded_orders": {"cancelled": 13}, "files": [{"file": "/shop/q2_orders.csv"}],
    }  # fmt: skip
    chart, _ = data_quality({"n_orders": 421, "as_of": "2026-06-29"}, report)
    assert chart.reading.startswith(
        "The last ingest (q2_orders.csv): of 362 rows read, 202 orders were used"
    )
    assert "The workspace holds 421 orders from this and earlier ingests" in chart.reading
    # one ingest of everything: as before
    whole = {**report, "workspace_orders": 202}
    chart, _ = data_quality({"n_orders": 202, "as_of": "2026-06-29"}, whole)
    assert chart.reading.startswith("Of 362 rows read") and "earlier ingests" not in chart.reading


def test_data_quality_says_how_many_orders_rows_of_line_items_held():
    from valuecast.outputs.report.data_quality import data_quality

    # a Shopify export: a row per line item, 7,742 orders on 11,296 rows
    report = {
        "rows_read": 11296, "orders": 7316, "guest_orders": 361, "line_items": 10704,
        "excluded_orders": {"refunded": 216, "cancelled": 166, "voided": 39, "test order": 5},
    }  # fmt: skip
    chart, _ = data_quality({"n_orders": 7316}, report)
    assert chart.reading.startswith(
        "Of 11,296 rows read (7,742 orders, a row for each line item), 7,316 orders were used"
    )
    # a row an order: nothing to explain
    chart, _ = data_quality({"n_orders": 7316}, {**report, "rows_read": 7742})
    assert chart.reading.startswith("Of 7,742 rows read, 7,316 orders were used")
    # a customers file's rows are not line items
    chart, _ = data_quality({"n_orders": 7316}, {**report, "customer_records": 3554})
    assert chart.reading.startswith("Of 11,296 rows read, 7,316 orders were used")


def test_spend_on_a_channel_that_acquired_nobody_is_named_in_the_cac_reading():
    from valuecast.outputs.report.channels import acquisition_channels

    channels = pd.DataFrame(
        {"acquisition_channel": ["Google", "email", "affiliates"], "customers": [544, 220, 0],
         "historic_clv_mean": [168.91, 195.68, None], "predicted_clv_mean": [75.9, 71.7, None],
         "total_clv_mean": [244.8, 267.4, None], "spend": [71141.3, 3593.93, 13495.27],
         "cac": [130.77, 16.34, None], "clv_to_cac": [1.87, 16.37, None],
         "payback_month": [6, 0, None]}
    )  # fmt: skip
    charts, _ = acquisition_channels(channels, {"growth": {"clv_to_cac": 1.8}}, "USD")
    reading = next(chart.reading for chart in charts if chart.key == "channels-cac")
    assert reading.endswith(
        "Over all channels with spend: 1.80. Spend that acquired no customers: 13,495 USD on "
        "affiliates. The CLV in CLV:CAC is what the customers acquired in the months with spend "
        "brought so far (net revenue) plus their predicted CLV over the horizon, per customer."
    )


SHOP_CAC = {"customers": 7, "spend": 160.0, "cac": 160 / 7, "clv_per_customer": 190 / 7,
            "clv_to_cac": 190 / 160, "payback_month": 1}  # fmt: skip


def test_a_shop_without_channels_reads_and_charts_its_blended_cac():
    """The spend names no channel: channels.csv has no CAC columns; the chart is the whole
    shop's bar and the reading its CAC (summary.json's growth.cac)."""
    from valuecast.outputs.report.channels import BLENDED_BAR, acquisition_channels

    channels = pd.DataFrame(
        {"acquisition_channel": ["(none)"], "customers": [10], "historic_clv_mean": [25.0],
         "predicted_clv_mean": [None], "total_clv_mean": [25.0]}
    )  # fmt: skip
    summary = {"growth": {"clv_to_cac": 190 / 160, "cac": SHOP_CAC}}
    charts, notes = acquisition_channels(channels, summary, "USD")
    chart = next(chart for chart in charts if chart.key == "channels-cac")
    assert not notes
    assert chart.title == "CLV:CAC of the whole shop, with the payback month"
    assert chart.reading.startswith(
        "Whole shop (blended): CAC 22.86 USD, 160.00 USD of spend over the 7 new customers of its "
        "months, whatever their channel, CLV:CAC 1.19, paid back in month 1. The spend names no "
        "channel, so CAC is the whole shop's alone."
    )
    (bar,) = chart.figure["data"]
    assert list(bar["x"]) == [BLENDED_BAR]
    assert list(bar["y"]) == pytest.approx([190 / 160])


def test_whole_shop_spend_outside_the_orders_says_no_month_has_spend():
    from valuecast.outputs.report.channels import acquisition_channels

    channels = pd.DataFrame(
        {"acquisition_channel": ["(none)"], "customers": [10], "historic_clv_mean": [25.0],
         "predicted_clv_mean": [None], "total_clv_mean": [25.0]}
    )  # fmt: skip
    outside = {"customers": 10, "spend": None, "cac": None, "clv_to_cac": None}
    charts, _ = acquisition_channels(channels, {"growth": {"cac": outside}}, None)
    chart = next(chart for chart in charts if chart.key == "channels-cac")
    assert chart.reading == "No month of the orders has spend: CLV:CAC cannot be computed."
    idle = {"customers": 0, "spend": 50.0, "cac": None, "clv_to_cac": None}
    charts, _ = acquisition_channels(channels, {"growth": {"cac": idle}}, None)
    chart = next(chart for chart in charts if chart.key == "channels-cac")
    assert chart.reading == (
        "The whole shop's spend of 50.00 acquired no customer in its months: CLV:CAC cannot be "
        "computed."
    )


def test_beside_the_channels_the_blended_cac_is_a_line_and_a_sentence():
    """The channels keep their bars; the whole shop's CLV:CAC is a dashed line across them,
    and its sentence follows the channels' over all channels with spend."""
    from valuecast.outputs.report.channels import BLENDED_BAR, acquisition_channels

    channels = pd.DataFrame(
        {"acquisition_channel": ["Google", "email"], "customers": [544, 220],
         "historic_clv_mean": [168.91, 195.68], "predicted_clv_mean": [75.9, 71.7],
         "total_clv_mean": [244.8, 267.4], "spend": [71141.3, 3593.93],
         "cac": [130.77, 16.34], "clv_to_cac": [1.87, 16.37], "payback_month": [6, 0]}
    )  # fmt: skip
    summary = {"growth": {"clv_to_cac": 2.1, "cac": SHOP_CAC}}
    charts, _ = acquisition_channels(channels, summary, None)
    chart = next(chart for chart in charts if chart.key == "channels-cac")
    (bar,) = chart.figure["data"]
    assert list(bar["x"]) == ["email", "Google"]
    lines = [shape["y0"] for shape in chart.figure["layout"]["shapes"]]
    assert lines == [1, 3, pytest.approx(190 / 160)]
    (label,) = chart.figure["layout"]["annotations"]
    assert label["text"] == f"{BLENDED_BAR} 1.19"
    assert chart.reading.startswith("The best return on spend comes from email: CLV:CAC 16.37")
    assert (
        "Over all channels with spend: 2.10. Whole shop (blended): CAC 22.86, 160.00 of spend "
        "over the 7 new customers of its months, whatever their channel, CLV:CAC 1.19, paid back "
        "in month 1. The CLV in CLV:CAC"
    ) in chart.reading


def test_the_churn_chart_sets_months_of_few_cases_apart_as_its_reading_does():
    from valuecast.outputs.report.cohorts import churn_chart

    curve = [
        {"months": 1, "probability": 0.8, "points": 400},
        {"months": 2, "probability": 0.7, "points": 200},
        {"months": 3, "probability": 0.6, "points": 31},
        {"months": 4, "probability": 0.0, "points": 1},  # one customer: not a finding
    ]
    churn = {"curve": curve, "initial_repeat_probability": 0.83, "threshold_months": None,
             "min_points": 30, "follow_up_months": 12}  # fmt: skip
    chart = churn_chart(churn)
    line, thin, half = chart.figure["data"]
    assert line["x"] == [1, 2, 3] and thin["x"] == [4]
    assert half["x"] == [1, 3]
    assert chart.figure["layout"]["xaxis"]["dtick"] == 1  # whole months on a short axis
    assert "never halves within the months with at least 30 cases (grey: fewer" in chart.reading


def test_a_churn_chart_without_a_month_of_enough_cases_says_none_can_be_read():
    from valuecast.outputs.report.cohorts import churn_chart

    churn = {"curve": [{"months": 1, "probability": 0.5, "points": 3}],
             "initial_repeat_probability": 0.6, "threshold_months": None, "min_points": 30,
             "follow_up_months": 12}  # fmt: skip
    reading = churn_chart(churn).reading
    assert "no month without an order has 30 cases yet" in reading
    assert "never halves" not in reading


@pytest.mark.parametrize(("rates", "top"), [([0.0, 0.0], 0.05), ([0.25, 0.1], 0.25)])
def test_the_retention_scale_starts_at_zero_and_never_centres_on_it(rates, top):
    # a shop of one-time buyers: every cell 0%, which Plotly drew mid-scale between -40% and 40%
    from valuecast.outputs.report.cohorts import retention_chart

    retention = pd.DataFrame(
        {"cohort_month": ["2024-01", "2024-02"], "months_since_acquisition": [1, 1],
         "retention": rates, "active_customers": [0, 0], "customers": [10, 12],
         "partial_month": [False, False]}
    )  # fmt: skip
    (heat,) = retention_chart(retention).figure["data"]
    assert (heat["zmin"], heat["zmax"]) == (0, top)


def test_a_shops_own_text_in_chart_labels_is_shown_as_written_not_as_html():
    from valuecast.outputs.report.charts import chart_labels
    from valuecast.web.views import _products_section

    assert chart_labels(["<b>Tea</b> & Co", 12]) == ["&lt;b>Tea&lt;/b> &amp; Co", "12"]
    reminders = pd.DataFrame(
        {"customer_id": ["a"], "product": ["<a href='https://x.test'>Mug</a>"],
         "cycle_days": [30], "days_until_due": [3]}
    )  # fmt: skip
    section = _products_section({"reminders.csv": reminders}, {})
    chart = next(chart for chart in section.charts if chart.key == "products-reminders")
    assert chart.figure["data"][0]["y"] == ["&lt;a href='https://x.test'>Mug&lt;/a>"]


def test_a_backtest_where_every_model_failed_says_none_is_chosen_and_why():
    from valuecast.outputs.report.backtest import _backtest_tables

    backtest = {
        "calibration_end": "2026-03-31", "holdout_days": 91,
        "models": {"bgnbd": {"error": "FitError: BetaGeo cannot be fitted: nobody ordered twice"},
                   "pareto": {"error": "FitError: Pareto/NBD cannot be fitted: nobody ordered twice"}},
        "naive": {"mae_orders": 0.0},
    }  # fmt: skip
    (table,) = _backtest_tables({}, backtest)
    assert table.reading.startswith("No model could be fitted on the history to 2026-03-31")
    assert "lowest mean absolute error" not in table.reading
    assert table.rows[0][2] == "BetaGeo cannot be fitted: nobody ordered twice"
    # no repeat purchase anywhere: the model is named but not fitted, and nothing is predicted
    (table,) = _backtest_tables({"model": {"name": "bgnbd", "fitted": False}}, backtest)
    assert table.reading.endswith(
        "none is chosen by the backtest: predictions are withheld and CLV is the historic one."
    )
    # the first repeat purchases fall in the holdout: the whole history fits a model, whose
    # predictions the report does not call withheld
    fitted = {"model": {"name": "bgnbd", "params": {"r": 0.2, "alpha": 4.0, "a": 0.8, "b": 2.4}}}
    (table,) = _backtest_tables(fitted, backtest)
    assert table.reading.endswith(
        "none is chosen by the backtest: the predictions come from BG/NBD fitted on the whole "
        "history, which no holdout has tested."
    )
    assert "withheld" not in table.reading


def test_a_young_shops_rfm_reading_says_the_groups_are_relative():
    from valuecast.outputs.report.segments import segment_charts

    groups = {
        "Champions": {"count": 10, "historic_clv": 900.0, "predicted_clv": 300.0},
        "Almost lost": {"count": 30, "historic_clv": 600.0, "predicted_clv": 100.0},
    }
    young = {"rfm_groups": groups, "first_order_date": "2026-04-01", "as_of": "2026-06-30"}
    reading = segment_charts(young)[0].reading
    assert (
        "The shop's history is 90 days long: the groups rank customers against one another"
        in reading
    )
    old = {**young, "first_order_date": "2024-06-30"}
    assert "history is" not in segment_charts(old)[0].reading


def test_a_shop_of_days_rfm_reading_says_its_last_days_buyers_can_read_as_lost():
    # a pop-up shop of one day: every buyer ties on recency and scores R = 1, and no model was
    # fitted, so the reading neither calls them buyers of weeks ago nor points to P(alive)
    from valuecast.outputs.report.segments import segment_charts

    groups = {
        "Dormant": {"count": 54, "historic_clv": 1900.0, "predicted_clv": None},
        "Previously loyal": {"count": 17, "historic_clv": 2300.0, "predicted_clv": None},
    }
    one_day = {"rfm_groups": groups, "first_order_date": "2026-03-14", "as_of": "2026-03-14",
               "totals": {"historic_clv": 4200.0}}  # fmt: skip
    reading = segment_charts(one_day)[0].reading
    assert reading.endswith(
        " Every order is of one day, the as-of date: the groups rank customers against one "
        "another, so that day's buyers all score the lowest recency (R = 1) and read as "
        "Dormant, Almost lost, At risk or Previously loyal, which says nothing of them yet."
    )
    two_days = {**one_day, "first_order_date": "2026-03-12"}
    reading = segment_charts(two_days)[0].reading
    assert reading.endswith(
        " The shop's history is 2 days long: the groups rank customers against one another, so "
        "a customer who bought in its last days, even on its last day, can read as Almost lost "
        "or Previously loyal."
    )
    predicted = {**two_days, "first_order_date": "2026-01-12",
                 "totals": {"historic_clv": 4200.0, "predicted_clv": 900.0}}  # fmt: skip
    assert segment_charts(predicted)[0].reading.endswith(
        "a customer who bought weeks ago can read as Almost lost or Previously loyal; read "
        "P(alive) and the next order beside them."
    )


def test_a_shop_that_stopped_selling_rfm_reading_says_how_long_ago_its_best_bought():
    # a shop whose last order is 215 days before the as-of date: its Champions are the best
    # of customers ranked against one another, and bought 215 days ago at the latest
    from valuecast.outputs.report.segments import segment_charts

    groups = {
        "Champions": {"count": 21, "historic_clv": 2900.0, "predicted_clv": 1.0},
        "Hibernating": {"count": 40, "historic_clv": 1100.0, "predicted_clv": 0.5},
    }
    quiet = {"rfm_groups": groups, "first_order_date": "2024-01-01",
             "last_order_date": "2025-06-30", "as_of": "2026-01-31",
             "totals": {"historic_clv": 4000.0, "predicted_clv": 5.0}}  # fmt: skip
    assert segment_charts(quiet)[0].reading.endswith(
        " No customer has ordered in the 215 days before the as-of date: the groups rank "
        "customers against one another, so even Champions and New customers last bought 215 "
        "days ago or more; read P(alive) and the next order beside them."
    )
    young = {**quiet, "first_order_date": "2025-04-01"}  # both caveats, the young shop's first
    reading = segment_charts(young)[0].reading
    assert "The shop's history is 305 days long" in reading
    assert reading.index("history is") < reading.index("No customer has ordered")
    selling = {**quiet, "last_order_date": "2026-01-05"}  # 26 days: no caveat
    assert "No customer has ordered" not in segment_charts(selling)[0].reading


def test_rfm_reading_says_when_many_of_the_lapsed_groups_are_likely_active():
    # a subscription shop: 60 of the 160 customers of the lapsed-sounding groups bought again
    # and are 90% or more likely active; a shop of two years, selling to its last day
    from valuecast.outputs.report.segments import segment_charts

    groups = {
        "Champions": {"count": 80, "historic_clv": 9000.0, "predicted_clv": 3000.0},
        "Almost lost": {"count": 80, "historic_clv": 7000.0, "predicted_clv": 2000.0},
        "Dormant": {"count": 80, "historic_clv": 1000.0, "predicted_clv": 10.0},
    }
    shop = {"rfm_groups": groups, "first_order_date": "2024-01-01",
            "last_order_date": "2025-12-31", "as_of": "2025-12-31",
            "totals": {"historic_clv": 17000.0, "predicted_clv": 5010.0},
            "likely_active_in_lapsed_groups": 60}  # fmt: skip
    assert segment_charts(shop)[0].reading.endswith(
        " 60 of the 160 customers in Almost lost, At risk, Previously loyal and Dormant have "
        "bought again, last ordered within 1.5 times their average days between orders and are "
        "90% or more likely active by the model: the groups rank how recently each customer "
        "bought against the shop's other customers, so where customers buy on a schedule (a "
        "subscription, a monthly refill) one between two orders reads as lapsed; read the days "
        "since their last order against their average days between orders beside them."
    )
    # a few (under 5%), none, or a summary from before the count: no caveat
    for active in (7, 0, None):
        reading = segment_charts({**shop, "likely_active_in_lapsed_groups": active})[0].reading
        assert "likely active" not in reading


def test_the_cac_reading_names_no_idle_spend_when_every_paying_channel_acquired_customers():
    from valuecast.outputs.report.channels import acquisition_channels

    channels = pd.DataFrame(
        {"acquisition_channel": ["Google", "Meta"], "customers": [7, 1],
         "historic_clv_mean": [91.43, 80.0], "predicted_clv_mean": [None, None],
         "total_clv_mean": [91.43, 80.0], "spend": [100.0, None], "cac": [50.0, None],
         "clv_to_cac": [3.5, None], "payback_month": [0, None]}
    )  # fmt: skip
    charts, _ = acquisition_channels(channels, {"growth": {"clv_to_cac": 3.5}}, None)
    reading = next(chart.reading for chart in charts if chart.key == "channels-cac")
    assert "acquired no customers" not in reading and "nan" not in reading
    assert reading.endswith(
        "Over all channels with spend: 3.50. The CLV in CLV:CAC is what the customers acquired in "
        "the months with spend brought so far (net revenue), per customer: no predictions."
    )


def test_spend_in_months_without_customers_of_its_channel_is_named_as_acquiring_nobody():
    """Meta has 7 customers, all from months it paid nothing for: its 280 acquired nobody, and
    the overall CLV:CAC (0.46) is below the only paying channel's (0.60) because of it."""
    from valuecast.outputs.report.channels import acquisition_channels

    channels = pd.DataFrame(
        {"acquisition_channel": ["Google", "Email", "Meta"], "customers": [26, 7, 7],
         "historic_clv_mean": [120.0, 90.0, 122.4], "predicted_clv_mean": [5.0, 3.0, 2.8],
         "total_clv_mean": [125.0, 93.0, 125.2], "spend": [1110.0, 50.0, 280.0],
         "cac_customers": [10, 0, 0], "cac": [111.0, None, None],
         "clv_to_cac": [0.6014, None, None], "payback_month": [None, None, None]}
    )  # fmt: skip
    charts, _ = acquisition_channels(channels, {"growth": {"clv_to_cac": 0.4635}}, None)
    reading = next(chart.reading for chart in charts if chart.key == "channels-cac")
    assert reading.endswith(
        "Over all channels with spend: 0.46. Spend that acquired no customers: 280 on Meta, "
        "50 on Email. The CLV in CLV:CAC is what the customers acquired in the months with spend "
        "brought so far (net revenue) plus their predicted CLV over the horizon, per customer."
    )


def test_a_losing_channel_s_clv_to_cac_never_reads_as_1_or_more():
    """0.96 is below 1, its bar red and its flag "losing money": one decimal read it as 1.0,
    and 2.96 (under the target of 3) as 3.0; the stage section gives the shop's at two."""
    from valuecast.outputs.report.channels import acquisition_channels

    channels = pd.DataFrame(
        {"acquisition_channel": ["Google", "Meta"], "customers": [20, 10],
         "historic_clv_mean": [120.0, 96.0], "predicted_clv_mean": [None, None],
         "total_clv_mean": [120.0, 96.0], "spend": [810.0, 1000.0], "cac": [40.54, 100.0],
         "clv_to_cac": [2.96, 0.96], "payback_month": [1, None]}
    )  # fmt: skip
    charts, _ = acquisition_channels(channels, {"growth": {"clv_to_cac": 1.9961}}, None)
    chart = next(chart for chart in charts if chart.key == "channels-cac")
    assert chart.reading == (
        "The best return on spend comes from Google: CLV:CAC 2.96 (CAC 40.54, paid back in "
        "month 1); Meta the least, 0.96. Over all channels with spend: 2.00. The CLV in CLV:CAC "
        "is what the customers acquired in the months with spend brought so far (net revenue), "
        "per customer: no predictions."
    )
    assert list(chart.figure["data"][0]["text"]) == [
        "2.96, paid back in month 1",
        "0.96, not paid back yet",
    ]


def test_the_cac_reading_says_which_clv_its_ratio_divides():
    """CLV:CAC divides channels.csv's clv_per_customer: the customers' revenue so far (times the
    margin) plus their predicted CLV, not the CLV of a customer acquired today that the chart
    above holds against CAC; the reading says which."""
    from valuecast.outputs.report.channels import acquisition_channels

    channels = pd.DataFrame(
        {"acquisition_channel": ["Google"], "customers": [20], "historic_clv_mean": [100.0],
         "predicted_clv_mean": [12.0], "total_clv_mean": [52.0], "spend": [400.0],
         "cac": [20.0], "clv_to_cac": [2.6], "payback_month": [2], "new_customer_clv": [30.0]}
    )  # fmt: skip
    summary = {"margin": 0.4, "horizon_months": 12, "growth": {"clv_to_cac": 2.6}}
    charts, _ = acquisition_channels(channels, summary, None)
    reading = next(chart.reading for chart in charts if chart.key == "channels-cac")
    assert reading.endswith(
        "The CLV in CLV:CAC is what the customers acquired in the months with spend brought so "
        "far (net revenue times the 40% margin) plus their predicted CLV over the next 12 "
        "months, per customer."
    )


def test_a_lone_channel_with_clv_to_cac_is_not_called_the_best_return():
    from valuecast.outputs.report.channels import acquisition_channels

    channels = pd.DataFrame(
        {"acquisition_channel": ["google", "(none)"], "customers": [26, 12],
         "historic_clv_mean": [120.0, 120.0], "predicted_clv_mean": [5.0, 5.0],
         "total_clv_mean": [125.0, 125.0], "spend": [1110.0, None], "cac_customers": [10, None],
         "cac": [111.0, None], "clv_to_cac": [0.6014, None], "payback_month": [None, None]}
    )  # fmt: skip
    charts, _ = acquisition_channels(channels, {"growth": {"clv_to_cac": 0.6014}}, None)
    reading = next(chart.reading for chart in charts if chart.key == "channels-cac")
    assert reading.startswith(
        "Only one channel has both spend and customers, google: CLV:CAC 0.60 (CAC 111.00, not "
        "paid back yet). Over all channels with spend: 0.60."
    )
    assert "best return" not in reading


def test_a_churn_chart_without_any_comeback_does_not_speak_of_halving_zero():
    from valuecast.outputs.report.cohorts import churn_chart

    churn = {"curve": [{"months": m, "probability": 0.0, "points": 40} for m in (1, 2)],
             "initial_repeat_probability": 0.0, "threshold_months": None, "min_points": 30,
             "follow_up_months": 12}  # fmt: skip
    reading = churn_chart(churn).reading
    assert reading == (
        "No order was followed by another within 12 months: with no customer coming back yet, "
        "there is no churn threshold to read."
    )


def test_customers_without_any_channel_are_not_said_to_come_through_one():
    from valuecast.outputs.report.channels import acquisition_channels

    channels = pd.DataFrame(
        {"acquisition_channel": ["(none)"], "customers": [80], "historic_clv_mean": [59.5],
         "predicted_clv_mean": [None], "total_clv_mean": [59.5]}
    )  # fmt: skip
    charts, _ = acquisition_channels(channels, {}, None)
    reading = next(chart.reading for chart in charts if chart.key == "channels-clv")
    assert "came through one channel" not in reading
    assert reading == (
        "The orders name no acquisition channel (no channel or source column), so CLV cannot be "
        "split by channel: 59.50 per customer over all 80 customers."
    )


def test_data_quality_counts_the_rows_excluded_without_an_order():
    """A customers export's second row for one customer excludes a row and no order: the
    reading counts it as the ingest report does, beside the excluded orders."""
    from valuecast.outputs.report.data_quality import data_quality

    report = {
        "rows_read": 621, "orders": 277, "guest_orders": 0, "workspace_orders": 277,
        "excluded_orders": {"cancelled": 8},
        "excluded_rows": {"cancelled": 8, "duplicate email": 1, "empty row": 2},
    }  # fmt: skip
    chart, _ = data_quality({"n_orders": 277}, report)
    assert chart.reading == (
        "Of 621 rows read, 277 orders were used; 8 orders were excluded: cancelled 8; "
        "3 other rows were left out: empty row 2, duplicate email 1."
    )
    alone = {**report, "excluded_orders": {}, "excluded_rows": {"duplicate email": 1}}
    chart, _ = data_quality({"n_orders": 277}, alone)
    assert chart.reading.endswith("none was excluded; 1 other row was left out: duplicate email 1.")


def test_the_report_says_what_each_cac_leaves_out_as_channels_does():
    """A channel's note (its spend months outside the orders, its customers of months without
    spend) is a note of the section, the whole shop's first, as `valuecast channels` says it;
    "no spend reported" is said by the empty cells, not noted."""
    from valuecast.outputs.report.channels import acquisition_channels

    channels = pd.DataFrame(
        {"acquisition_channel": ["Google", "email", "organic"], "customers": [20, 10, 5],
         "historic_clv_mean": [80.0, 90.0, 70.0], "predicted_clv_mean": [20.0, 10.0, 5.0],
         "total_clv_mean": [100.0, 100.0, 75.0], "spend": [400.0, 50.0, None],
         "cac": [20.0, 5.0, None], "clv_to_cac": [5.0, 20.0, None],
         "payback_month": [1, 0, None],
         "note": ["spend before the first order left out (2023-12: 30.00; the orders start in "
                  "2024-01)", None, "no spend reported"]}
    )  # fmt: skip
    shop = dict(SHOP_CAC, note="3 customers acquired in months without spend left out (2024-02)")
    _, notes = acquisition_channels(channels, {"growth": {"clv_to_cac": 4.0, "cac": shop}}, None)
    assert notes == [
        "(whole shop): 3 customers acquired in months without spend left out (2024-02).",
        "Google: spend before the first order left out (2023-12: 30.00; the orders start in "
        "2024-01).",
    ]


def test_month_one_retention_of_a_single_cohort_names_it_instead_of_an_average():
    # a shop of Black Friday to January: only the 29 customers of November have a complete
    # month 1 (December's peak), the 221 of December not yet; "21% on average" read as the shop's
    from valuecast.outputs.report.cohorts import retention_chart

    retention = pd.DataFrame(
        {"cohort_month": ["2025-11", "2025-11", "2025-12", "2025-12"],
         "months_since_acquisition": [0, 1, 0, 1], "retention": [1.0, 6 / 29, 1.0, 9 / 221],
         "active_customers": [29, 6, 221, 9], "customers": [29, 29, 221, 221],
         "partial_month": [False, False, False, True]}
    )  # fmt: skip
    reading = retention_chart(retention).reading
    assert reading == (
        "In the calendar month after the one of their first order (month 1), 21% of the 29 "
        "customers of cohort 2025-11 ordered again, the only one with that month complete: too "
        "few to read as the shop's retention yet."
    )
    assert "on average" not in reading


def test_month_one_retention_of_enough_cohorts_is_their_average():
    from valuecast.outputs.report.cohorts import retention_chart

    months = ["2025-01", "2025-02", "2025-03"]
    retention = pd.DataFrame(
        {"cohort_month": months, "months_since_acquisition": [1, 1, 1],
         "retention": [0.1, 0.2, 0.3], "active_customers": [1, 2, 3], "customers": [10] * 3,
         "partial_month": [False] * 3}
    )  # fmt: skip
    assert retention_chart(retention).reading == (
        "In the calendar month after the one of their first order (month 1), 20% of a cohort's "
        "customers order again on average."
    )


def test_under_bgnbd_the_p_alive_reading_compares_repeat_buyers_only():
    # BG/NBD's one-time buyers all read 100% however long ago they bought: "customers with 0
    # repeat purchases are the most likely to still be buying" contradicted the note beside it
    from valuecast.outputs.report.alive import alive_chart

    customers = pd.DataFrame(
        {"frequency": [0] * 20 + [1] * 10 + [2] * 10,
         "recency": [0] * 20 + [40] * 10 + [80] * 10,
         "T": [100] * 20 + [50] * 10 + [90] * 10,
         "probability_alive": [1.0] * 20 + [0.3] * 10 + [0.6] * 10}
    )  # fmt: skip
    reading = alive_chart(customers, "bgnbd").reading
    assert reading == (
        "Customers with 2 repeat purchases and a last order 0-30 days ago are the most likely "
        "to still be buying (mean P(alive) 60%); those "
        "with 1 repeat purchase and no order for 0-30 days the least (30%). Customers without a "
        "repeat purchase read 100% however long ago they bought: BG/NBD holds them alive, so "
        "they are left out of this comparison."
    )
    assert "0 repeat purchases" in alive_chart(customers, "pnbd").reading


def test_a_long_channel_name_is_broken_into_lines_under_its_bar():
    """A 63-character channel name (an ad platform's campaign) under a vertical bar tilted every
    label of the channel charts and squeezed their bars into a strip: it is broken at spaces
    into lines of at most 18 characters, the chart grows by a line's height for each, and the
    reading names it whole."""
    from valuecast.outputs.report.channels import acquisition_channels

    long = "Facebook & Instagram Advantage+ Shopping Campaign - Prospecting"
    channels = pd.DataFrame(
        {"acquisition_channel": [long, "email"], "customers": [50, 40],
         "historic_clv_mean": [90.0, 80.0], "predicted_clv_mean": [10.0, 5.0],
         "total_clv_mean": [100.0, 85.0], "spend": [3300.0, None], "cac": [66.0, None],
         "clv_to_cac": [1.54, None], "payback_month": [2, None]}
    )  # fmt: skip
    charts, _ = acquisition_channels(channels, {"growth": {"clv_to_cac": 1.54}}, "USD")
    wrapped = "Facebook &amp;<br>Instagram<br>Advantage+<br>Shopping Campaign<br>- Prospecting"
    for key in ("channels-clv", "channels-cac"):
        chart = next(chart for chart in charts if chart.key == key)
        assert chart.figure["data"][0]["x"][0] == wrapped
        assert all(len(line) <= 18 for line in wrapped.replace("&amp;", "&").split("<br>"))
        assert chart.figure["layout"]["height"] == 380 + 4 * 18
    clv = next(chart for chart in charts if chart.key == "channels-clv")
    assert clv.figure["data"][0]["x"][1] == "email"
    assert clv.reading.startswith(f"Customers from {long} are worth the most")


def test_what_drives_value_advises_only_the_attributes_the_customers_hold():
    from valuecast.outputs.report.drivers import driver_effects

    def reading(channel: int, code: int, consent: int) -> str:
        held = {"acquisition_channel": channel, "first_discount_code": code,
                "accepts_marketing": consent}  # fmt: skip
        (chart,), tables = driver_effects({"customers_with_attribute": held})
        assert chart.figure is None and tables == []
        return chart.reading

    every = reading(40, 12, 55)
    assert "`valuecast analyze --covariates acquisition_channel,first_discount_code," in every
    only_consent = reading(0, 0, 55)
    assert "run `valuecast analyze --covariates accepts_marketing` to see" in only_consent
    assert "no acquisition channel or discount code" in only_consent
    assert reading(9, 0, 0).count("--covariates acquisition_channel`") == 1
    # none held: no covariate to give, but how to bring them in
    none = reading(0, 0, 0)
    assert "--covariates" not in none
    assert "name no acquisition channel, discount code or marketing consent" in none
    assert "`--map channel=COL,discount_code=COL,accepts_marketing=COL`" in none
    assert "Shopify's Source, Discount Code and Accepts Marketing" in none
    assert none.endswith(".")
    # a summary.json written before the counts: the attributes are not known to be empty
    (chart,), _ = driver_effects({})
    assert "--covariates acquisition_channel,first_discount_code,accepts_marketing`" in (
        chart.reading
    )


def test_a_backtest_of_one_customer_says_its_scores_tell_no_model_apart():
    """A one-customer shop: the weekly reading named the backtest's choice as if it had been
    tested, and the per-frequency one called one group both the closest and the furthest."""
    from valuecast.outputs.report.backtest import model_backtest

    summary = {
        "model": {"name": "pnbd"},
        "backtest": {
            "models": {"pnbd": {}}, "calibration_end": "2026-07-16", "holdout_days": 90,
            "n_customers": 1,
            "weekly": {"day": [7.0, 90.0], "actual": [0.0, 1.0],
                       "predicted": {"pnbd": [0.1, 0.78]}, "naive": [0.1, 0.78]},
            "by_frequency": {"frequency": ["2"], "customers": [1], "actual": [1.0],
                             "predicted": {"pnbd": [0.78]}},
        },
    }  # fmt: skip
    charts, _ = model_backtest(summary)
    readings = {chart.key: chart.reading for chart in charts}
    assert readings["backtest-weekly"].startswith(
        "The backtest holds 1 customer: too few for its scores to tell the models apart. In the "
        "90 days after 2026-07-16"
    )
    assert readings["backtest-frequency"] == (
        "Every customer had 2 repeat purchases in calibration: Pareto/NBD predicted 0.78 "
        "holdout orders per customer, against 1.00 actual."
    )
    summary["backtest"]["n_customers"] = 30
    charts, _ = model_backtest(summary)
    assert next(c.reading for c in charts if c.key == "backtest-weekly").startswith("In the 90")


def test_a_channel_of_one_customer_is_not_read_as_the_best():
    """One wholesale buyer through a partner's link made its channel 'worth the most' and its
    spend 'the best return': the readings compare the channels of 10 or more customers (the
    small one's bar still shows, with its count)."""
    from valuecast.outputs.report.channels import acquisition_channels

    channels = pd.DataFrame(
        {"acquisition_channel": ["utm_partner_x", "facebook", "email", "google"],
         "customers": [1, 200, 200, 200],
         "historic_clv_mean": [5300.0, 103.42, 96.49, 92.37],
         "predicted_clv_mean": [93.08, 77.53, 73.82, 72.06],
         "total_clv_mean": [5393.08, 180.95, 170.31, 164.43],
         "spend": [10.0, 5000.0, 1000.0, 8000.0], "cac": [10.0, 25.0, 5.0, 40.0],
         "cac_customers": [1, 200, 200, 200],
         "clv_to_cac": [539.3, 7.24, 34.06, 4.11], "payback_month": [0, 1, 0, 2]}
    )  # fmt: skip
    charts, _ = acquisition_channels(channels, {"growth": {"clv_to_cac": 9.0}}, "USD")
    clv = next(chart for chart in charts if chart.key == "channels-clv")
    assert clv.reading.startswith(
        "Of the channels of 10 or more customers, customers from facebook are worth the most, "
        "180.95 USD"
    )
    assert "those from google the least" in clv.reading
    assert clv.figure["data"][0]["x"][0] == "utm_partner_x"  # its bar still shows
    cac = next(chart for chart in charts if chart.key == "channels-cac")
    assert cac.reading.startswith(
        "Of the channels of 10 or more customers, the best return on spend comes from email: "
        "CLV:CAC 34.06"
    )


def test_a_name_too_long_for_a_chart_is_shortened_and_kept_apart():
    """A 330-character product name and a 250-character UTM query string squeezed their charts'
    bars into a strip: a label shows 80 characters, ending in an ellipsis, two names of one
    start stay two bars, and a word of two lines or more is broken under a vertical bar."""
    from valuecast.outputs.report.charts import chart_labels, wrapped_chart_labels

    product = "Organic cold-pressed juice " * 13  # 351 characters
    labels = chart_labels([product, product + "B", "Tea"])
    assert [len(label) for label in labels[:2]] == [80, 84] and labels[2] == "Tea"
    assert labels[0].endswith("…") and labels[1].endswith("… (2)")
    utm = "utm_source=partner&utm_medium=affiliate&utm_campaign=" + "x" * 200
    (wrapped,) = wrapped_chart_labels([utm])
    lines = wrapped.replace("&amp;", "&").split("<br>")
    assert all(len(line) <= 18 for line in lines) and len(lines) == 5
    assert wrapped_chart_labels(["SummerSale2024Campaign"]) == ["SummerSale2024Campaign"]


def test_a_chart_of_many_channels_draws_those_of_the_most_customers_and_spend():
    """2,926 UTM sources drew a smear of bars: a chart draws the 30 channels of the most
    customers (of spend for CLV:CAC), in its order, and says where all of them are."""
    from valuecast.outputs.report.channels import acquisition_channels

    n = 40
    channels = pd.DataFrame(
        {"acquisition_channel": [f"utm_{k:02d}" for k in range(n)],
         "customers": [100 + k for k in range(n)],
         "historic_clv_mean": [50.0 + (k * 7) % 13 for k in range(n)],
         "predicted_clv_mean": [10.0] * n, "total_clv_mean": [60.0] * n,
         "spend": [1000.0 + (n - k) for k in range(n)], "cac": [10.0] * n,
         "cac_customers": [100 + k for k in range(n)],
         "clv_to_cac": [1.0 + (k * 5) % 11 for k in range(n)], "payback_month": [1] * n}
    )  # fmt: skip
    charts, _ = acquisition_channels(channels, {"growth": {"clv_to_cac": 2.0}}, "USD")
    clv = next(chart for chart in charts if chart.key == "channels-clv")
    drawn = clv.figure["data"][0]["x"]
    assert sorted(drawn) == [f"utm_{k:02d}" for k in range(10, n)]  # the most customers
    assert "The chart draws the 30 channels of the most customers; channels.csv lists all 40." in (
        clv.reading
    )
    cac = next(chart for chart in charts if chart.key == "channels-cac")
    assert sorted(cac.figure["data"][0]["x"]) == [f"utm_{k:02d}" for k in range(30)]
    ratios = cac.figure["data"][0]["y"]
    assert ratios == sorted(ratios, reverse=True)
    assert "The chart draws the 30 channels of the most spend; channels.csv lists all 40." in (
        cac.reading
    )
