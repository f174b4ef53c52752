"""`valuecast cohorts` and `valuecast stage` through the command line, on an ingested workspace."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from valuecast.cli.growth import cohorts, stage
from valuecast.store import Workspace

runner = CliRunner()

CSV = """\
order,client,when,amount,source
1,ann@example.com,2024-01-05,10.00,web
2,ann@example.com,2024-01-20,20.00,pos
3,bob@example.com,2024-01-10,40.00,pos
4,,2024-01-15,1000.00,web
5,cat@example.com,2024-02-03,50.00,web
6,ann@example.com,2024-03-02,30.00,web
7,bob@example.com,2024-03-15,6.00,pos
"""
COLUMN_MAP = "customer_id=client,ordered_at=when,revenue=amount,order_id=order,channel=source"


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("cohorts")(cohorts)
    app.command("stage")(stage)
    return app


@pytest.fixture
def workspace(tmp_path):
    from shops import ingested

    return ingested(tmp_path, CSV, COLUMN_MAP)


def test_cohorts_writes_both_files(app, workspace, tmp_path):
    out = tmp_path / "report"
    result = runner.invoke(app, ["cohorts", "--workspace", str(workspace), "--out", str(out)])
    assert result.exit_code == 0, result.output
    cohorts = pd.read_csv(out / "cohorts.csv", dtype={"cohort_month": str})
    # default as-of = last order 2024-03-15; Jan: ann, bob; Feb: cat
    assert cohorts["cohort_month"].tolist() == ["2024-01", "2024-02"]
    assert cohorts["customers"].tolist() == [2, 1]
    # Jan: 10 + 20 + 40 = 70 / 2 = 35; Feb nothing; Mar + 30 + 6 -> 106 / 2 = 53
    assert cohorts.loc[0, ["ltv_m0", "ltv_m1", "ltv_m2"]].tolist() == [35.0, 35.0, 53.0]
    assert cohorts.loc[1, "ltv_m1"] == 50.0 and pd.isna(cohorts.loc[1, "ltv_m2"])
    assert cohorts["repeat_rate"].tolist() == [1.0, 0.0]  # ann 3 orders, bob 2; cat 1
    retention = pd.read_csv(out / "retention.csv")
    assert len(retention) == 3 + 2  # Jan months 0-2, Feb months 0-1
    jan = retention[retention.cohort_month == "2024-01"]
    assert jan["active_customers"].tolist() == [2, 0, 2]  # March: ann and bob
    assert jan["partial_month"].tolist() == [False, False, True]
    assert not list(out.glob(".*.tmp"))  # no temporary file left behind
    assert "repeat rate: 66.7% (2 of 3 customers" in result.output
    assert "churn threshold: not enough history" in result.output
    assert "1 guest order left out" in result.output


def test_the_cohort_table_marks_the_months_the_as_of_date_cuts_short(app, workspace, tmp_path):
    # as of 2024-03-15: March holds 15 of its 31 days, the latest month of every cohort
    result = runner.invoke(app, ["cohorts", "-w", str(workspace), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: line for line in result.output.splitlines() if "│ 2024-" in line}
    assert "50*" in rows["2024-02"]  # Feb's month 1 is March so far
    assert "35 " in rows["2024-01"] and "*" not in rows["2024-01"]  # months 0 and 1: whole
    assert (
        "note: *: 2024-03, the as-of month, holds 15 of its 31 days so far: each cohort's "
        "latest month is not comparable with whole months yet"
    ) in " ".join(result.output.split())
    assert "calendar month k after the first order's month" in " ".join(result.output.split())
    # as of a month's last day every month shown is whole
    result = runner.invoke(
        app, ["cohorts", "-w", str(workspace), "--as-of", "2024-02-29", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "*" not in result.output


def test_cohorts_as_of_a_date_before_the_first_order_say_why_they_are_empty(
    app, workspace, tmp_path
):
    # the first order is of 2024-01-05: no cohort yet as of 2023-12-10, and no month to mark
    result = runner.invoke(
        app, ["cohorts", "-w", str(workspace), "--as-of", "2023-12-10", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert (
        "note: the as-of date 2023-12-10 is before the first order (2024-01-05): no cohort yet"
        in said
    )
    assert "7 orders after the as-of date 2023-12-10 ignored" in said
    assert "the as-of month" not in said
    assert pd.read_csv(tmp_path / "cohorts.csv").empty


def test_cohorts_by_channel_and_as_of(app, workspace, tmp_path):
    result = runner.invoke(
        app,
        ["cohorts", "-w", str(workspace), "--by", "channel", "--as-of", "2024-02-29",
         "-o", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    cohorts = pd.read_csv(tmp_path / "cohorts.csv", dtype={"cohort_month": str})
    # as of Feb 29: ann's and bob's March orders are ignored; ann came by web, bob by pos
    rows = cohorts.set_index(["cohort_month", "channel"])
    assert rows.loc["2024-01", "ltv_m1"].to_dict() == {"pos": 40.0, "web": 30.0}
    assert rows.loc[("2024-02", "web"), "ltv_m0"] == 50.0
    assert pd.isna(rows.loc[("2024-02", "web"), "ltv_m1"])  # Feb cohort: month 1 not reached


def test_cohorts_write_to_the_folder_analyze_writes_them_to(app, workspace, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["cohorts", "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    written = sorted(path.name for path in (tmp_path / "valuecast-out").iterdir())
    assert written == ["cohorts.csv", "days_between_orders.csv", "retention.csv"]
    assert not (tmp_path / "cohorts.csv").exists()


@pytest.mark.parametrize("command", [["cohorts"], ["stage"], ["stage", "--json"]])
def test_missing_workspace_exits_2_with_one_line(app, tmp_path, command):
    missing = tmp_path / "nope.duckdb"
    result = runner.invoke(app, [*command, "--workspace", str(missing)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "no such workspace" in lines[0]
    assert "Traceback" not in result.output
    assert not missing.exists()


@pytest.mark.parametrize("command", ["cohorts", "stage"])
def test_bad_date_exits_2(app, workspace, tmp_path, command):
    args = [command, "-w", str(workspace), "--as-of", "31/02/2024"]
    if command == "cohorts":
        args += ["-o", str(tmp_path / "out")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "is not a date" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["cohorts", "stage", "affinity", "reminders", "summary"])
def test_an_as_of_after_tomorrow_is_refused_as_analyze_refuses_it(workspace, tmp_path, command):
    """Every customer would look silent until that day: T, recency and the cohorts' months
    would be measured to a day that has not come."""
    from valuecast.cli import app as valuecast

    later = (date.today() + timedelta(days=2)).isoformat()
    out = tmp_path / ("s.csv" if command in ("summary", "reminders") else "out")
    args = [command, "-w", str(workspace), "--as-of", later]
    if command != "stage":
        args += ["-o", str(out)]
    result = runner.invoke(valuecast, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        f"error: as-of date {later} is after tomorrow: give a date up to today (the default is "
        "the last order date)"
    ]
    assert not out.exists()
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    args[args.index(later)] = tomorrow
    assert runner.invoke(valuecast, args).exit_code == 0


def test_stage_prints_and_json(app, workspace):
    result = runner.invoke(app, ["stage", "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    assert "stage: gaining traction" in result.output
    assert "at least 15% on retention" in result.output
    result = runner.invoke(app, ["stage", "-w", str(workspace), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # 2024-01-05 to 2024-03-15: 26 + 29 + 15 = 70 days; since 02-17: orders of 03-02, 03-15
    assert data["shop_age_days"] == 70 and data["recent_orders"] == 2
    assert data["stage"] == "gaining traction" and data["retention_share"] == 0.15
    assert [row["month"] for row in data["monthly_revenue"]] == ["2024-01", "2024-02", "2024-03"]
    assert data["monthly_revenue"][2]["returning_revenue"] == 36.0  # ann 30 + bob 6


def test_stage_on_an_empty_workspace_is_just_started(app, tmp_path):
    path = tmp_path / "empty.duckdb"
    Workspace(path).close()
    result = runner.invoke(app, ["stage", "-w", str(path)])
    assert result.exit_code == 0, result.output
    assert "stage: just started" in result.output
    result = runner.invoke(app, ["cohorts", "-w", str(path), "-o", str(tmp_path)])
    assert result.exit_code == 2 and "no orders" in result.output


def test_the_churn_line_reads_only_months_with_enough_cases():
    from valuecast.cli.growth import _churn_line

    def churn(points: list[int]) -> dict:
        curve = [{"months": m, "probability": 1.0 if n else None, "points": n}
                 for m, n in enumerate(points, start=1)]  # fmt: skip
        return {"initial_repeat_probability": 0.25, "threshold_months": None,
                "follow_up_months": 12, "min_points": 30, "curve": curve}  # fmt: skip

    # a seasonal shop of 13 months: one case at month 1, none later -- no evidence either way
    line = _churn_line(churn([1] + [0] * 23))
    assert "not reached within 24 months" not in line
    assert line.startswith("churn threshold: none can be read yet: no month without an order")
    # enough cases up to month 5: the months the verdict covers
    line = _churn_line(churn([90, 70, 50, 40, 30, 10] + [0] * 18))
    assert line.startswith("churn threshold: not reached within 5 months")
    assert line.endswith("never falls to half of 25.0%; later months have fewer than 30 cases)")
    assert _churn_line(churn([40] * 24)).endswith("never falls to half of 25.0%)")


def test_a_split_by_first_product_without_line_items_says_why_all_are_none(
    app, workspace, tmp_path
):
    # an orders table without line items: no customer's first product is known
    result = runner.invoke(
        app, ["cohorts", "-w", str(workspace), "--by", "first_product", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    cohorts = pd.read_csv(tmp_path / "cohorts.csv")
    assert set(cohorts["first_product"]) == {"(none)"}
    assert (
        "note: every customer is in (none) for first_product: no first order has a line item "
        "naming a product"
    ) in result.output
    # a split with values has no such note
    result = runner.invoke(
        app, ["cohorts", "-w", str(workspace), "--by", "channel", "-o", str(tmp_path)]
    )
    assert "every customer is in (none)" not in result.output


def test_the_churn_line_of_a_shop_without_comebacks_does_not_halve_zero():
    from valuecast.cli.growth import _churn_line

    curve = [{"months": m, "probability": 0.0, "points": 40} for m in range(1, 25)]
    churn = {"initial_repeat_probability": 0.0, "threshold_months": None,
             "follow_up_months": 12, "min_points": 30, "curve": curve}  # fmt: skip
    line = _churn_line(churn)
    assert "half of 0.0%" not in line
    assert line == (
        "churn threshold: none to read: no order was followed by another within 12 months "
        "(no customer has come back yet)"
    )


def test_stage_shows_the_clv_to_cac_of_the_last_analysis_with_spend(app, workspace, tmp_path):
    """`analyze --spend` then `stage`: the stage no longer says no spend was given."""
    from valuecast.cli import app as valuecast

    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2024-01,web,10\n2024-01,pos,40\n")
    done = runner.invoke(
        valuecast,
        ["analyze", "-w", str(workspace), "-o", str(tmp_path / "a"), "--spend", str(spend)],
    )
    assert done.exit_code == 0, done.output
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    ratio = summary["growth"]["clv_to_cac"]
    assert ratio is not None and summary["as_of"] == "2024-03-15"
    shown = runner.invoke(app, ["stage", "-w", str(workspace)])
    assert shown.exit_code == 0, shown.output
    assert f"CLV:CAC, channels with spend: {ratio:.2f}" in shown.output
    assert "CLV:CAC unknown" not in shown.output
    # another as-of date than the analysis': the kept spend over that date's customers
    other = runner.invoke(app, ["stage", "-w", str(workspace), "--as-of", "2024-02-29"])
    assert f"CLV:CAC, channels with spend: {ratio:.2f}" not in other.output
    assert "CLV:CAC, channels with spend: 1.40" in other.output


def test_stage_says_the_spend_no_customer_came_through_that_lowers_its_clv_to_cac(
    app, workspace, tmp_path
):
    """Spend on a channel no customer came through counts in the shop's CLV:CAC: `analyze`
    and `channels` say so, and `stage` and the report's stage section say it with the same
    note, from the analysis and from the kept spend of another date alike."""
    from valuecast.analysis.growth.stage import COUNTED_IN_RATIO
    from valuecast.cli import app as valuecast

    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2024-01,web,10\n2024-01,pos,40\n2024-01,TikTok,50\n")
    out = tmp_path / "a"
    done = runner.invoke(
        valuecast, ["analyze", "-w", str(workspace), "-o", str(out), "--spend", str(spend)]
    )
    assert done.exit_code == 0, done.output
    [note] = [n for n in json.loads((out / "summary.json").read_text())["notes"] if "TikTok" in n]
    assert note.startswith("no customer came through 1 of the spend's channels: TikTok (50.00)")
    said = f"note: {note}; {COUNTED_IN_RATIO}"
    for args in ([], ["--as-of", "2024-02-29"]):  # the analysis' ratio, the kept spend's
        shown = runner.invoke(app, ["stage", "-w", str(workspace), *args])
        assert shown.exit_code == 0, shown.output
        assert said in " ".join(shown.output.split()), args
    # the ratio is known: the note is said beside it, not as the reason it is unknown
    left_out = runner.invoke(app, ["stage", "-w", str(workspace), "--no-spend"])
    assert "TikTok" not in left_out.output
    import html

    report = html.unescape((out / "report.html").read_text())
    stage_section = report[report.index("Suggested split of marketing effort") :]
    stage_section = stage_section[: stage_section.index("Monthly net revenue")]
    assert "No customer came through 1 of the spend's channels: TikTok (50.00)" in stage_section
    assert f"{COUNTED_IN_RATIO}." in stage_section


def test_analyze_and_the_report_say_the_spend_of_months_outside_the_orders(workspace, tmp_path):
    """Spend of months before the first order or after the as-of date is in no CAC: `analyze`
    says how much, by reason, and the report's CLV:CAC reading says it beside the ratio."""
    import html

    from valuecast.cli import app as valuecast

    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2024-01,web,10\n2023-12,web,30\n2024-05,pos,20\n")
    out = tmp_path / "a"
    done = runner.invoke(
        valuecast, ["analyze", "-w", str(workspace), "-o", str(out), "--spend", str(spend)]
    )
    assert done.exit_code == 0, done.output
    note = (
        "spend left out of CAC and CLV:CAC: 50.00 of the 60.00 the spend file gives, 30.00 "
        "before the first order (2023-12; the orders start in 2024-01) and 20.00 after the "
        "as-of date (2024-05; as of 2024-03-15): the customers it acquired are not in the orders"
    )
    summary = json.loads((out / "summary.json").read_text())
    assert note in summary["notes"] and summary["growth"]["left_out_spend"] == note
    assert f"note: {note}" in " ".join(done.output.split())
    report = " ".join(html.unescape((out / "report.html").read_text()).split())
    section = report[report.index("CLV:CAC by channel, with the payback month") :]
    assert f"{note[0].upper()}{note[1:]}." in section[: section.index("What drives value")]


def test_stage_divides_the_kept_spend_as_channels_does(app, workspace, tmp_path):
    """`analyze --spend` keeps the spend: a stage of another date divides it by that date's
    customers, as `channels --as-of` does, and --no-spend leaves it out."""
    from valuecast.cli import app as valuecast

    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2024-01,web,10\n2024-01,pos,40\n")
    done = runner.invoke(
        valuecast,
        ["analyze", "-w", str(workspace), "-o", str(tmp_path / "a"), "--spend", str(spend)],
    )
    assert done.exit_code == 0, done.output
    other = runner.invoke(app, ["stage", "-w", str(workspace), "--as-of", "2024-02-29"])
    assert other.exit_code == 0, other.output
    text = " ".join(other.output.split())
    # as of Feb 29 the January customers' CLV is their revenue (no model is fitted): ann 30
    # (web), bob 40 (pos), against 10 + 40 spent: 70 / 50
    assert "CLV:CAC, channels with spend: 1.40" in text and "CLV:CAC unknown" not in text
    assert "note: CLV:CAC from the spend file kept from" in text and "(spend.csv)" in text
    channels = runner.invoke(
        valuecast,
        ["channels", "-w", str(workspace), "--as-of", "2024-02-29", "-o", str(tmp_path / "c")],
    )
    assert channels.exit_code == 0, channels.output
    cac = pd.read_csv(tmp_path / "c" / "cac.csv")
    whole = cac[(cac["cohort_month"] == "all") & cac["spend"].notna()]
    assert (whole["clv_per_customer"] * whole["customers"]).sum() / whole["spend"].sum() == (
        pytest.approx(1.40)
    )
    left_out = runner.invoke(app, ["stage", "-w", str(workspace), "--no-spend"])
    assert left_out.exit_code == 0, left_out.output
    text = " ".join(left_out.output.split())
    assert "CLV:CAC unknown: the spend file kept from" in text and "(--no-spend)" in text


@pytest.mark.parametrize(
    ("text", "of"),
    [
        ("month,channel,spend\n2024-01,web,40\n", "channels with spend"),
        ("month,spend\n2024-01,40\n", "whole shop (blended)"),
        ("month,channel,spend\n2024-01,web,40\n2024-01,total,48\n", "whole shop (blended)"),
    ],
)
def test_the_shops_two_clv_to_cac_figures_are_named_wherever_they_show(
    app, workspace, tmp_path, text, of
):
    """Spend on web alone: the blended CLV:CAC divides it over January's new customers of every
    channel (ann and bob), the channels' over web's alone (ann), so the shop has two figures;
    `analyze`, summary.json, `stage`, `channels` and the report name which is which.  Spend of
    the whole shop (no channel, or a total row) gives the blended one alone, named so too."""
    import html

    from valuecast.analysis.growth.tables import CHANNELS_WITH_SPEND
    from valuecast.cli import app as valuecast
    from valuecast.outputs.report.channels import TWO_RATIOS

    spend = tmp_path / "spend.csv"
    spend.write_text(text)
    out = tmp_path / "a"
    done = runner.invoke(
        valuecast, ["analyze", "-w", str(workspace), "-o", str(out), "--spend", str(spend)]
    )
    assert done.exit_code == 0, done.output
    growth = json.loads((out / "summary.json").read_text())["growth"]
    ratio, blended = growth["clv_to_cac"], growth["cac"]["clv_to_cac"]
    assert growth["clv_to_cac_of"] == growth["growth_stage"]["clv_cac_of"] == of
    said = " ".join(done.output.split())
    assert f"CLV:CAC, whole shop (blended) {blended:.2f}," in said
    two = of == CHANNELS_WITH_SPEND
    assert (f"CLV:CAC, channels with spend {ratio:.2f} (their customers" in said) == two
    if not two:
        assert ratio == blended
    else:  # ann alone against ann and bob: the blended counts bob, who came without spend
        assert ratio < blended
    shown = runner.invoke(app, ["stage", "-w", str(workspace)])
    assert shown.exit_code == 0, shown.output
    assert f"CLV:CAC, {of}: {ratio:.2f}" in shown.output
    listed = runner.invoke(valuecast, ["channels", "-w", str(workspace), "-o", str(out / "c")])
    assert listed.exit_code == 0, listed.output
    line = f"CLV:CAC, channels with spend: {ratio:.2f} (their customers' CLV over their spend"
    assert (line in " ".join(listed.output.split())) == two
    report = " ".join(html.unescape((out / "report.html").read_text()).split())
    section = report[report.index(", with the payback month") :]  # by channel, or the shop's
    section = section[: section.index("What drives value")]
    assert (TWO_RATIOS in section) == two
    # the channels' ratio is said as theirs only where it is: a total row makes it the blended
    assert (f"Over all channels with spend: {ratio:.2f}" in section) == two
    # below 3, the stage's reading weighs it by its name
    stage_section = report[report.index("Suggested split of marketing effort") :]
    stage_section = stage_section[: stage_section.index("Monthly net revenue")]
    assert f"CLV:CAC of the {of} is {ratio:.2f}, below the usual target of 3" in stage_section


@pytest.mark.parametrize(("month", "guests"), [("2024-01", 1), ("2024-02", 0)])
def test_the_blended_cac_says_the_guest_orders_it_does_not_count(
    workspace, tmp_path, month, guests
):
    """January's guest order (no customer id) is no acquired customer of January's spend: it
    cannot be told new from returning and has no CLV.  `analyze`, cac.csv, summary.json and the
    report say so beside the blended CAC; February's spend has no guest order to say."""
    import html

    from valuecast.cli import app as valuecast

    spend = tmp_path / "spend.csv"
    spend.write_text(f"month,channel,spend\n{month},web,40\n")
    out = tmp_path / "a"
    done = runner.invoke(
        valuecast, ["analyze", "-w", str(workspace), "-o", str(out), "--spend", str(spend)]
    )
    assert done.exit_code == 0, done.output
    shop = json.loads((out / "summary.json").read_text())["growth"]["cac"]
    assert shop["guest_orders"] == guests
    said = " ".join(done.output.split())
    customers = {"2024-01": 2, "2024-02": 1}[month]  # ann and bob; cat
    new = f"new customer{'s' if customers != 1 else ''}"
    unnamed = ", 1 guest order not counted" if guests else ""
    assert f"({40:,} / {customers} {new}{unnamed})" in said
    cac = pd.read_csv(out / "cac.csv", keep_default_na=False)
    note = cac[(cac["channel"] == "(whole shop)") & (cac["cohort_month"] == "all")]["note"].iloc[0]
    noted = "1 guest order in these months not counted as acquired customers (no customer id"
    assert (noted in note) == bool(guests) and (noted in (shop["note"] or "")) == bool(guests)
    report = " ".join(html.unescape((out / "report.html").read_text()).split())
    assert ("(1 guest order of those months not counted)" in report) == bool(guests)
    assert (noted in report) == bool(guests)  # the section's notes


def test_each_channel_s_cac_says_the_guest_orders_that_came_through_it(tmp_path):
    """Web sold to ann and to two guests in January, the shop to bob and one guest: each
    channel's CAC counts its own customers and says how many of its orders were guests' (a
    channel selling mostly to guests reads a CAC far above what its spend won), where only the
    whole shop's CAC said so."""
    import html

    from shops import ingested
    from valuecast.cli import app as valuecast

    orders = (
        "order,client,when,amount,source\n"
        "1,ann@example.com,2024-01-05,10.00,Web\n"
        "2,,2024-01-06,30.00,web\n"
        "3,,2024-01-07,35.00,web \n"
        "4,bob@example.com,2024-01-10,40.00,pos\n"
        "5,,2024-01-11,20.00,pos\n"
        "6,,2024-01-12,25.00,\n"
        "7,cat@example.com,2024-02-03,50.00,web\n"
        "8,ann@example.com,2024-02-29,30.00,web\n"
    )
    workspace = ingested(tmp_path, orders, COLUMN_MAP)
    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2024-01,web,40\n2024-01,pos,30\n")
    out = tmp_path / "a"
    done = runner.invoke(
        valuecast, ["analyze", "-w", str(workspace), "-o", str(out), "--spend", str(spend)]
    )
    assert done.exit_code == 0, done.output
    cac = pd.read_csv(out / "cac.csv", keep_default_na=False)
    whole = cac[cac["cohort_month"] == "all"].set_index("channel")["note"]
    # web: ann's CAC of 40 beside its two guest orders (its spellings one channel); pos: bob's
    # beside one; the guest order without a channel is the whole shop's only
    assert "2 guest orders through the channel in these months not counted" in whole["Web"]
    assert "1 guest order through the channel in these months not counted" in whole["pos"]
    assert "4 guest orders in these months not counted" in whole["(whole shop)"]
    report = " ".join(html.unescape((out / "report.html").read_text()).split())
    assert "2 guest orders through the channel in these months not counted" in report
    listed = runner.invoke(valuecast, ["channels", "-w", str(workspace), "-o", str(out / "c")])
    assert listed.exit_code == 0, listed.output
    text = " ".join(listed.output.split())
    assert "note: pos: 1 guest order through the channel in these months not counted" in text
