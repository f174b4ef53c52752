"""`valuecast channels` end to end: a workspace ingested from a small orders CSV, a spend file."""

from __future__ import annotations

import math
import re
import shutil

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from valuecast.analysis.growth.channels import flag_ratio
from valuecast.cli.channels import channels
from valuecast.store import Workspace

runner = CliRunner()
app = typer.Typer()
app.command("channels")(channels)

COLUMN_MAP = "customer_id=customer,ordered_at=date,revenue=amount,channel=channel"
T95_2 = 2.919986  # t(0.95; 2 df) from a printed table


def make_workspace(folder, text, column_map=COLUMN_MAP):
    from shops import ingested

    return ingested(folder, text, column_map)


@pytest.fixture(scope="module")
def one_time_shop(tmp_path_factory):
    """Every customer buys once: no model can be fitted, so every CLV is historic revenue."""
    folder = tmp_path_factory.mktemp("one_time")
    return make_workspace(
        folder,
        "customer,date,amount,channel\n"
        "a@x.com,2024-01-05,100,google\n"
        "b@x.com,2024-01-20,50,google\n"
        "c@x.com,2024-02-03,30,Facebook\n"
        "d@x.com,2024-02-10,90,\n"
        "e@x.com,2024-03-01,60,google\n",
    )


CONSENT_MAP = COLUMN_MAP + ",accepts_marketing=consent"
REPEAT_ORDERS = (
    "customer,date,amount,channel,consent\n"
    "a@x.com,2024-01-05,40,google,yes\n"
    "a@x.com,2024-02-05,30,google,\n"
    "a@x.com,2024-04-05,50,google,\n"
    "b@x.com,2024-01-25,20,Google,no\n"
    "b@x.com,2024-03-10,40,google,\n"
    "c@x.com,2024-02-15,100,facebook,\n"
)


@pytest.fixture(scope="module")
def repeat_shop(tmp_path_factory):
    return make_workspace(tmp_path_factory.mktemp("repeat"), REPEAT_ORDERS, CONSENT_MAP)


# Four e-mail customers who buy about monthly: with a and b, six repeat buyers over a history
# longer than the shop's typical gap between repeat orders and than half the 12-month horizon
# (h buys into August), so the predictions are fitted and not withheld
FREQUENT_EMAIL_BUYERS = (
    "d@x.com,2024-01-10,30,email,\n"
    "d@x.com,2024-02-10,30,email,\n"
    "d@x.com,2024-03-10,30,email,\n"
    "f@x.com,2024-01-15,25,email,\n"
    "f@x.com,2024-02-20,25,email,\n"
    "f@x.com,2024-04-01,25,email,\n"
    "g@x.com,2024-02-01,35,email,\n"
    "g@x.com,2024-03-01,35,email,\n"
    "h@x.com,2024-05-05,20,email,\n"
    "h@x.com,2024-06-10,20,email,\n"
    "h@x.com,2024-07-12,20,email,\n"
    "h@x.com,2024-08-15,20,email,\n"
)


@pytest.fixture(scope="module")
def predicted_shop(tmp_path_factory):
    """``repeat_shop``'s orders and three frequent e-mail buyers: enough to predict."""
    orders = REPEAT_ORDERS + FREQUENT_EMAIL_BUYERS
    return make_workspace(tmp_path_factory.mktemp("predicted"), orders, CONSENT_MAP)


@pytest.fixture(scope="module")
def analysed_at_half_margin(tmp_path_factory):
    """``predicted_shop``'s orders in a workspace of their own, analysed with ``--margin 0.5``
    (tests copy it before writing to it): the workspace and the analysis' output folder."""
    from valuecast.cli import app as valuecast

    folder = tmp_path_factory.mktemp("half_margin")
    workspace = make_workspace(folder, REPEAT_ORDERS + FREQUENT_EMAIL_BUYERS, CONSENT_MAP)
    out = folder / "analysis"
    analysis = ["analyze", "-w", workspace, "-o", out, "--margin", "0.5"]
    result = runner.invoke(valuecast, [str(arg) for arg in analysis])
    assert result.exit_code == 0, result.output
    return workspace, out


def run(*args):
    return runner.invoke(app, [str(arg) for arg in args])


def test_clv_and_cac_by_channel(one_time_shop, tmp_path):
    spend = tmp_path / "spend.csv"
    spend.write_text(
        'Month,Channel,Spend\n2024-01,google,50\n2024-02,facebook,"$90.00"\n2024-01,tiktok,40\n'
    )
    out = tmp_path / "out"
    result = run("--workspace", one_time_shop, "--spend", spend, "--out", out)
    assert result.exit_code == 0, result.output
    assert "CLV by channel" in result.output and "channels.csv" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["cac.csv", "channels.csv"]  # no temp files

    table = pd.read_csv(out / "channels.csv", keep_default_na=False, na_values=[""])
    assert table["acquisition_channel"].tolist() == ["google", "(none)", "Facebook", "tiktok"]
    assert table["customers"].tolist() == [3, 1, 1, 0]
    rows = table.set_index("acquisition_channel")

    google = rows.loc["google"]
    # historic 100, 50, 60: mean 70, median 60; deviations 30, -20, -10: s^2 = 1400 / 2 = 700,
    # standard error sqrt(700 / 3) = 15.275, 90% interval 70 -/+ 2.919986 * 15.275 = 44.604
    assert google["historic_clv_mean"] == pytest.approx(70.0)
    assert google["historic_clv_median"] == pytest.approx(60.0)
    half = T95_2 * math.sqrt(700 / 3)
    assert google["historic_clv_low"] == pytest.approx(70 - half, abs=0.006)  # 25.40
    assert google["historic_clv_high"] == pytest.approx(70 + half, abs=0.006)  # 114.60
    # nobody repeated: no prediction for anyone, total CLV = historic
    assert google["predicted_clv_missing"] == 3
    assert google["total_clv_mean"] == pytest.approx(70.0)
    # CAC over the month with spend (January): 50 / 2 customers = 25; CLV (100 + 50) / 2 = 75;
    # ratio 75 / 25 = 3 exactly -> "3 or more"; ROI 50; month 0 margin 75 >= 25 -> payback 0
    assert google["spend"] == 50.0 and google["cac_customers"] == 2
    # no spend for the customers without a channel: no customers a CAC divides by
    assert pd.isna(rows.loc["(none)", "spend"]) and pd.isna(rows.loc["(none)", "cac_customers"])
    # the table shows what CAC divides: the spend and the customers of its months
    from valuecast.cli import common

    with pytest.MonkeyPatch.context() as patch:  # a table wide enough for its headers
        patch.setattr(common.console, "_width", 240)
        wide = runner.invoke(
            app, [str(a) for a in ("--workspace", one_time_shop, "--spend", spend, "--out", out)]
        )
    header = next(line for line in wide.output.splitlines() if "with spend" in line)
    assert header.index("spend") < header.index("with spend") < header.index("CAC")
    # google's 25.40 to 114.60 holds its mean, not two of its three customers (50 and 100)
    clv_header = next(line for line in wide.output.splitlines() if "mean total CLV" in line)
    assert "mean's 90% interval" in clv_header
    assert "90% interval: where the mean lies, not the range of its customers' CLVs" in (
        " ".join(wide.output.split())
    )
    assert google["cac"] == pytest.approx(25.0)
    assert google["clv_per_customer"] == pytest.approx(75.0)
    assert google["clv_to_cac"] == pytest.approx(3.0) and google["flag"] == "3 or more"
    assert google["roi_per_customer"] == pytest.approx(50.0)
    assert google["payback_month"] == 0
    # a payback month of 0 is the acquisition month, not "none": the table's key says so
    assert "payback month: months after the month of acquisition until their net revenue" in (
        " ".join(wide.output.split())
    )
    assert "0 when it does within that month, empty when not yet" in " ".join(wide.output.split())
    assert google["note"] == (
        "1 customer acquired in months without spend left out (2024-03); "
        "no predicted CLV for 2 of 2 customers (none made: the analysis' notes say why): "
        "their CLV is historic only"
    )

    facebook = rows.loc["Facebook"]
    # "$90.00" for "facebook" (matched to "Facebook"): CAC 90, CLV 30, ratio 0.3333, losing;
    # month 0 margin 30 < 90 and no later revenue: not paid back
    assert facebook["cac"] == pytest.approx(90.0)
    assert facebook["clv_to_cac"] == pytest.approx(0.3333, abs=1e-4)
    assert facebook["flag"] == "below 1 (losing money)"
    assert pd.isna(facebook["payback_month"])
    assert facebook["roi_per_customer"] == pytest.approx(-60.0)

    none = rows.loc["(none)"]
    assert none["historic_clv_mean"] == 90.0 and pd.isna(none["spend"])
    assert none["note"].startswith("no spend reported; no predicted CLV for 1 of 1 customers")
    assert pd.isna(none["cac"])

    tiktok = rows.loc["tiktok"]
    assert tiktok["spend"] == 40.0 and tiktok["cac_customers"] == 0 and pd.isna(tiktok["cac"])
    assert pd.isna(tiktok["total_clv_mean"]) and tiktok["note"] == "no customers acquired"

    cac = pd.read_csv(out / "cac.csv", keep_default_na=False, na_values=[""])
    march = cac[(cac["channel"] == "google") & (cac["cohort_month"] == "2024-03")].iloc[0]
    # e@x.com, acquired in March without a spend row: reported, spend left empty (not 0)
    assert march["customers"] == 1 and pd.isna(march["spend"]) and pd.isna(march["cac"])
    assert march["note"].startswith("no spend reported; no predicted CLV for 1 of 1 customers")
    assert march["clv_per_customer"] == pytest.approx(60.0)


def test_payback_months_with_repeat_buyers_and_a_margin(predicted_shop, tmp_path):
    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2024-01,Google,80\n")
    out = tmp_path / "out"
    result = run("-w", predicted_shop, "--spend", spend, "--out", out, "--margin", "0.5")
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out / "channels.csv").set_index("acquisition_channel")
    # a's first order says "google", b's "Google": one channel; a tie of one customer each,
    # so the label is the first spelling in sort order
    assert sorted(rows.index) == ["Google", "email", "facebook"]
    google = rows.loc["Google"]
    # a: 40 + 30 + 50 = 120, b: 20 + 40 = 60 -> historic mean 90
    assert google["customers"] == 2 and google["historic_clv_mean"] == pytest.approx(90.0)
    # CAC 80 / 2 = 40
    assert google["cac"] == pytest.approx(40.0)
    # cumulative margin per customer: Jan 0.5 * (40 + 20) / 2 = 15, Feb + 0.5 * 30 / 2 = 22.5,
    # Mar + 0.5 * 40 / 2 = 32.5, Apr + 0.5 * 50 / 2 = 45 >= 40 -> payback month 3
    assert google["payback_month"] == 3
    # CLV per customer = 0.5 * historic mean + mean predicted CLV (already times the margin)
    clv = 0.5 * google["historic_clv_mean"] + google["predicted_clv_mean"]
    assert google["clv_per_customer"] == pytest.approx(clv, abs=0.011)
    assert google["clv_to_cac"] == pytest.approx(google["clv_per_customer"] / 40, abs=1e-3)
    assert google["flag"] == flag_ratio(google["clv_to_cac"])
    # a and b have predictions: the note does not mention them
    assert google["predicted_clv_missing"] == 0 and pd.isna(google["note"])
    assert rows.loc["facebook", "note"] == "no spend reported"


def test_engaged_and_not_engaged(repeat_shop, tmp_path):
    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2024-01,google,80\n")
    out = tmp_path / "out"
    result = run("-w", repeat_shop, "--by", "accepts_marketing", "--out", out, "--spend", spend)
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out / "channels.csv").set_index("accepts_marketing")
    # a said yes; b said no; c never said: not engaged
    assert rows["customers"].to_dict() == {"not engaged": 2, "engaged": 1}
    assert rows.loc["engaged", "historic_clv_mean"] == pytest.approx(120.0)
    assert rows.loc["not engaged", "historic_clv_mean"] == pytest.approx((60 + 100) / 2)
    # CAC is per channel: not joined here, written to cac.csv
    assert "cac" not in rows.columns
    assert (out / "cac.csv").exists() and "CAC is per channel" in result.output


def test_group_by_first_product_without_order_lines(one_time_shop, tmp_path):
    out = tmp_path / "out"
    result = run("-w", one_time_shop, "--by", "first_product", "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "channels.csv", keep_default_na=False)
    # a generic orders table has no line items: every customer is in "(none)"
    assert table["first_product"].tolist() == ["(none)"] and table["customers"].tolist() == [5]
    # mean of 100, 50, 30, 90, 60 = 66
    assert table["historic_clv_mean"].iloc[0] == pytest.approx(66.0)
    assert not (out / "cac.csv").exists()


def one_line_error(result):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_cac_beside_a_by_column_split_says_where_it_is(repeat_shop, tmp_path):
    """--by-column with --spend: channels.csv is by that column, cac.csv per channel."""
    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2024-01,google,80\n")
    out = tmp_path / "out"
    result = run("-w", repeat_shop, "--by-column", "rfm_group", "--spend", spend, "--out", out)
    assert result.exit_code == 0, result.output
    assert "(channels.csv is by rfm_group)" in " ".join(result.output.split())
    assert (out / "cac.csv").exists()


def test_spend_errors_are_one_line_with_row_and_column(one_time_shop, tmp_path):
    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2024-01,google,50\n2024-13,google,5\n")
    out = tmp_path / "out"
    line = one_line_error(run("-w", one_time_shop, "--spend", spend, "--out", out))
    assert f"{spend}, row 3, column 'month'" in line and "2024-13" in line
    assert not out.exists()

    spend.write_text("month,channel,spend\n2024-01,google,-50\n")
    line = one_line_error(run("-w", one_time_shop, "--spend", spend, "--out", out))
    assert "row 2, column 'spend'" in line and "negative" in line


def test_missing_inputs_and_bad_options(one_time_shop, tmp_path):
    line = one_line_error(run("-w", tmp_path / "nope.duckdb", "--out", tmp_path / "o"))
    assert "nope.duckdb: no such workspace" in line
    line = one_line_error(run("-w", one_time_shop, "--spend", tmp_path / "none.csv"))
    assert "none.csv: no such file" in line
    line = one_line_error(run("-w", one_time_shop, "--margin", "1.5"))
    assert "margin must be above 0 and at most 1" in line
    line = one_line_error(run("-w", one_time_shop, "--as-of", "2023-01-01"))
    assert "the as-of date 2023-01-01 is before the first order (2024-" in line


def test_by_column_with_an_attributes_file(one_time_shop, tmp_path):
    # tickets per e-mail, written with other case and spaces; d@x.com is not listed
    (tmp_path / "tickets.csv").write_text(
        "Email,tickets\n A@X.com ,2\nb@x.com,0\nc@x.com,2\ne@x.com,0\n"
    )
    result = runner.invoke(
        app,
        [
            "-w", str(one_time_shop), "--attributes", str(tmp_path / "tickets.csv"),
            "--by-column", "tickets", "--out", str(tmp_path / "out"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "out" / "channels.csv", dtype={"tickets": str})
    groups = frame.set_index("tickets")
    # one-time shop: CLV = historic revenue. "2": a (100) and c (30); "0": b (50) and e (60)
    assert groups.loc["2", "customers"] == 2 and groups.loc["2", "total_clv_mean"] == 65.0
    assert groups.loc["0", "customers"] == 2 and groups.loc["0", "total_clv_mean"] == 55.0
    assert groups.loc["(none)", "customers"] == 1 and groups.loc["(none)", "total_clv_mean"] == 90
    assert "name no customer" not in result.output  # every row names one


def test_attributes_naming_no_customer_are_counted_in_a_note(one_time_shop, tmp_path):
    """A CRM's file keyed by its own ids put every customer in (none) without a word."""
    tickets = tmp_path / "tickets.csv"
    for rows, said in (
        ("crm-1,2\ncrm-2,0\n", f"no row of {tickets} names a customer of the analysis"),
        ("crm-1,2\nb@x.com,0\nzed@x.com,1\n", f"2 of the 3 rows of {tickets} name no customer"),
    ):
        tickets.write_text("Email,tickets\n" + rows)
        result = runner.invoke(
            app,
            ["-w", str(one_time_shop), "--attributes", str(tickets), "--by-column", "tickets",
             "--out", str(tmp_path / "out")],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert f"note: {said}" in " ".join(result.output.split())


def test_by_column_of_the_customers_table(one_time_shop, tmp_path):
    result = runner.invoke(
        app,
        ["-w", str(one_time_shop), "--by-column", "rfm_group", "-o", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "channels.csv")["customers"].sum() == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,tickets\nx,1\n", "email or customer_id"),
        ("email,tickets\na@x.com,1\nb@x.com,2\nA@x.com,3\n", "rows 2 and 4"),
    ],
)
def test_bad_attributes_files_fail_in_one_line(one_time_shop, tmp_path, text, message):
    (tmp_path / "a.csv").write_text(text)
    result = runner.invoke(
        app,
        ["-w", str(one_time_shop), "--attributes", str(tmp_path / "a.csv"),
         "--by-column", "tickets", "-o", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.output


def test_unknown_column_is_one_line(one_time_shop, tmp_path):
    result = runner.invoke(
        app, ["-w", str(one_time_shop), "--by-column", "nope", "-o", str(tmp_path)]
    )
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "nope" in lines[0]


def test_by_tags_from_the_customers_table(tmp_path):
    shop = make_workspace(
        tmp_path,
        "customer,date,amount,channel\n"
        "a@x.com,2024-01-05,100,google\nb@x.com,2024-01-20,50,google\nc@x.com,2024-02-03,30,\n",
    )
    with Workspace(shop) as ws:  # as a Shopify customers export would leave them
        ws.con.con.execute(
            "INSERT INTO customers (customer_id, tags) VALUES ('a@x.com', 'VIP, wholesale'), "
            "('b@x.com', 'vip')"
        )
    result = run("-w", shop, "--by", "tags", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    groups = pd.read_csv(tmp_path / "out" / "channels.csv").set_index("tag")
    assert groups.loc["VIP", "customers"] == 2 and groups.loc["VIP", "total_clv_mean"] == 75.0
    assert groups.loc["wholesale", "customers"] == 1
    assert groups.loc["(none)", "customers"] == 1


def test_discount_codes_that_differ_in_case_or_spaces_are_one_code(tmp_path):
    """Shopify's discount codes are case-insensitive: SAVE10 and "save10 " are one code, as
    channels that differ so are one channel."""
    shop = make_workspace(
        tmp_path,
        "customer,date,amount,code\n"
        "a@x.com,2024-01-05,100,SAVE10\nb@x.com,2024-01-20,50,save10 \nc@x.com,2024-02-03,30,"
        "Save10\nd@x.com,2024-02-09,20,WELCOME\n",
        "customer_id=customer,ordered_at=date,revenue=amount,discount_code=code",
    )
    result = run("-w", shop, "--by", "discount_code", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    groups = pd.read_csv(tmp_path / "out" / "channels.csv").set_index("first_discount_code")
    assert groups["customers"].to_dict() == {"SAVE10": 3, "WELCOME": 1}
    assert groups.loc["SAVE10", "total_clv_mean"] == 60.0


@pytest.mark.parametrize("with_spend", [False, True])
def test_channels_writes_the_channels_csv_analyze_wrote(
    analysed_at_half_margin, tmp_path, with_spend
):
    # the same file by either command: the CLV columns, CAC with --spend, and what a customer
    # acquired today through each channel is worth (new_customer_clv, and its ratio to CAC)
    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2024-01,Google,80\n2024-02,email,30\n")
    from valuecast.cli import app as valuecast

    given = ["--spend", spend] if with_spend else []
    if with_spend:
        workspace = make_workspace(tmp_path, REPEAT_ORDERS + FREQUENT_EMAIL_BUYERS, CONSENT_MAP)
        analysed = tmp_path / "analysis"
        analysis = ["analyze", "-w", workspace, "-o", analysed, "--margin", "0.5"]
        result = runner.invoke(valuecast, [str(arg) for arg in [*analysis, *given]])
        assert result.exit_code == 0, result.output
    else:  # the analysis without spend is the module's own
        workspace = tmp_path / "shop.duckdb"
        shutil.copy(analysed_at_half_margin[0], workspace)
        analysed = analysed_at_half_margin[1]
    listed = ["channels", "-w", workspace, "-o", tmp_path / "channels", *given]
    result = runner.invoke(valuecast, [str(arg) for arg in listed])
    assert result.exit_code == 0, result.output
    written = (tmp_path / "channels" / "channels.csv").read_text()
    assert written == (analysed / "channels.csv").read_text()
    table = pd.read_csv(tmp_path / "channels" / "channels.csv")
    assert table["new_customer_clv"].notna().all() and (table["new_customer_clv"] > 0).all()
    assert ("new_customer_clv_to_cac" in table.columns) == with_spend


def test_an_as_of_date_after_tomorrow_is_one_line(tmp_path):
    from datetime import date, timedelta

    from valuecast.cli import app as valuecast
    from valuecast.jobs.analyze import AnalysisOptions

    later = (date.today() + timedelta(days=2)).isoformat()
    for command in ("channels", "report", "export"):
        extra = ["--segment", "champions", "--to", "klaviyo"] if command == "export" else []
        result = runner.invoke(
            valuecast, [command, "-w", str(tmp_path / "none.duckdb"), "--as-of", later, *extra]
        )
        assert result.exit_code == 2, (command, result.output)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and f"as-of date {later} is after tomorrow" in lines[0], command
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    AnalysisOptions(as_of=tomorrow).validate()  # tomorrow is allowed, as for order dates


def test_with_a_margin_total_clv_is_the_past_and_the_future_in_margin(analysed_at_half_margin):
    # predicted CLV is margin: the historic revenue it is added to is taken at the margin too
    import json

    out = analysed_at_half_margin[1]
    customers = pd.read_csv(out / "customers.csv")
    assert customers["predicted_clv"].notna().all()
    expected = customers["historic_clv"] * 0.5 + customers["predicted_clv"]
    assert (customers["total_clv"] - expected).abs().max() <= 0.011
    totals = json.loads((out / "summary.json").read_text())["totals"]
    half = totals["historic_clv"] * 0.5 + totals["predicted_clv"]
    assert totals["total_clv"] == pytest.approx(half, abs=0.011)
    channels = pd.read_csv(out / "channels.csv")
    expected = channels["historic_clv_mean"] * 0.5 + channels["predicted_clv_mean"]
    assert (channels["total_clv_mean"] - expected).abs().max() <= 0.011
    report = (out / "report.html").read_text()
    assert "at the 50% margin; the" in report and "more margin in the next" in report
    assert "so far times the 50% margin plus" in report


def test_the_table_says_the_currency_of_its_amounts(tmp_path):
    """Amounts written in euros: the console's table says so, as `history` and `compare` do."""
    rows = [line.split(",") for line in (REPEAT_ORDERS + FREQUENT_EMAIL_BUYERS).splitlines()[1:]]
    euros = "".join(f"{c},{d},{a} EUR,{ch}\n" for c, d, a, ch, _ in rows)
    for name in ("euros", "plain"):
        (tmp_path / name).mkdir()
    shop = make_workspace(tmp_path / "euros", "customer,date,amount,channel\n" + euros)
    result = run("--workspace", shop, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "CLV by channel (amounts in EUR)" in result.output
    plain = make_workspace(tmp_path / "plain", REPEAT_ORDERS, CONSENT_MAP)
    result = run("--workspace", plain, "--out", tmp_path / "out2")
    assert "CLV by channel" in result.output and "amounts in" not in result.output


def test_spend_on_channels_no_customer_came_through_is_a_note_naming_both_sides(
    one_time_shop, tmp_path
):
    spend = tmp_path / "spend.csv"
    spend.write_text("Month,Channel,Spend\n2024-01,Facebook Ads,500\n2024-02,Google Ads,250\n")
    result = run("--workspace", one_time_shop, "--spend", spend, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (
        "note: no customer came through any of the spend's channels: Facebook Ads (500.00), "
        "Google Ads (250.00); their CAC is empty. The customers' channels are google (3), "
    ) in text
    # one matched channel among them: the note counts the others
    spend.write_text("Month,Channel,Spend\n2024-01,google,50\n2024-01,tiktok,40\n")
    result = run("--workspace", one_time_shop, "--spend", spend, "--out", tmp_path / "out2")
    text = " ".join(result.output.split())
    assert "no customer came through 1 of the spend's channels: tiktok (40.00)" in text


def test_the_unmatched_spend_note_counts_the_customers_channels_as_the_table_groups_them(tmp_path):
    """'Google' and 'google' are one channel in channels.csv: the note counts them together."""
    orders = (
        "customer,date,amount,channel\n"
        "a@x.com,2024-01-05,10,Google\nb@x.com,2024-01-06,10,Google\nc@x.com,2024-01-07,10,google\n"
        "d@x.com,2024-01-08,10,Email\n"
    )
    shop = make_workspace(tmp_path, orders)
    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2024-01,TikTok,40\n")
    result = run("--workspace", shop, "--spend", spend, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "The customers' channels are Google (3), Email (1): name the spend's" in text


def test_the_tables_show_every_amount_whole_in_an_80_column_terminal(monkeypatch, tmp_path):
    """Ten columns in one table cut the amounts of an 80-column terminal to '173.…'."""
    from valuecast.cli import common

    monkeypatch.setattr(common.console, "_width", 80)
    orders = (
        "customer,date,amount,channel\n"
        "a@x.com,2024-01-05,1234.56,Facebook Ads\nb@x.com,2024-01-06,20,Facebook Ads\n"
        "c@x.com,2024-01-07,300,Google\nd@x.com,2024-02-08,45.5,Google\n"
    )
    shop = make_workspace(tmp_path, orders)
    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2024-01,Facebook Ads,12345.67\n2024-01,Google,99\n")
    out = tmp_path / "out"
    result = run("--workspace", shop, "--spend", spend, "--out", out)
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    channels = pd.read_csv(out / "channels.csv")
    for column in ("total_clv_mean", "total_clv_high", "spend", "cac"):
        for value in channels[column].dropna():
            assert f"{value:,.2f}" in result.output, (column, value)
    assert "Facebook Ads" in result.output and "(losing" in result.output
    # the whole shop's row, read first, keeps its label on one line (the flags wrap instead)
    assert "│ (whole shop) │" in result.output
    # the total CLV of the first table is every customer's; CLV:CAC divides those with spend
    text = " ".join(result.output.split())
    assert "CLV:CAC = their mean CLV (channels.csv's clv_per_customer) / CAC" in text


def test_grouping_by_first_product_without_line_items_says_why_all_are_none(
    one_time_shop, tmp_path
):
    result = run("--workspace", one_time_shop, "--by", "first_product", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(tmp_path / "o" / "channels.csv")["first_product"]) == {"(none)"}
    text = " ".join(result.output.split())
    assert "note: every customer is in (none) for first_product: no first order has" in text


def test_the_spend_given_to_analyze_is_kept_for_channels(tmp_path):
    """`analyze --spend` then `channels` without it: CAC from the kept spend, and a note naming
    it; the spend given to a later analyze replaces it; an explicit --spend wins."""
    from valuecast.cli import app as valuecast

    workspace = make_workspace(tmp_path, REPEAT_ORDERS, CONSENT_MAP)

    def analyze_with(spend_text: str, name: str) -> None:
        spend = tmp_path / name
        spend.write_text(spend_text)
        done = runner.invoke(
            valuecast,
            ["analyze", "-w", str(workspace), "-o", str(tmp_path / "a"), "--spend", str(spend)],
        )
        assert done.exit_code == 0, done.output
        assert "using the spend file kept" not in done.output  # given, not the kept one

    def google_cac(*args) -> tuple[float, str]:
        out = tmp_path / "out"
        result = run("-w", workspace, "--out", out, *args)
        assert result.exit_code == 0, result.output
        rows = pd.read_csv(out / "channels.csv").set_index("acquisition_channel")
        return rows.loc["Google", "cac"], " ".join(result.output.split())

    analyze_with("month,channel,spend\n2024-01,google,50\n", "spend.csv")
    cac, output = google_cac()
    # a@x.com and b@x.com ("Google") acquired in January: 50 / 2
    assert cac == pytest.approx(25.0)
    assert re.search(r"note: using the spend file kept from \d{4}-\d\d-\d\d \(spend\.csv\)", output)

    analyze_with("month,channel,spend\n2024-01,google,100\n", "more spend.csv")
    cac, output = google_cac()
    assert cac == pytest.approx(50.0) and "(more spend.csv)" in output

    # an analyze without --spend keeps the kept spend (and says it uses it)
    again = runner.invoke(valuecast, ["analyze", "-w", str(workspace), "-o", str(tmp_path / "b")])
    assert again.exit_code == 0, again.output
    assert "using the spend file kept from" in " ".join(again.output.split())
    assert (tmp_path / "b" / "cac.csv").exists()

    given = tmp_path / "given.csv"
    given.write_text("month,channel,spend\n2024-01,google,20\n")
    cac, output = google_cac("--spend", given)
    assert cac == pytest.approx(10.0) and "kept" not in output
    # --spend to channels is for that run: the kept spend stays the one analyze was given
    assert google_cac()[0] == pytest.approx(50.0)


def test_the_spend_given_to_analyze_with_its_export_is_kept(tmp_path):
    """`analyze EXPORT --spend` (the ingest, analysis and snapshot in one transaction) keeps the
    spend with them: `channels` has CAC without --spend."""
    from valuecast.cli import app as valuecast

    export, spend = tmp_path / "orders.csv", tmp_path / "spend.csv"
    export.write_text(REPEAT_ORDERS)
    spend.write_text("month,channel,spend\n2024-01,google,50\n")
    workspace = tmp_path / "shop.duckdb"
    done = runner.invoke(
        valuecast,
        ["analyze", str(export), "--map", CONSENT_MAP, "-w", str(workspace),
         "-o", str(tmp_path / "a"), "--spend", str(spend)],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    out = tmp_path / "out"
    result = run("-w", workspace, "--out", out)
    assert result.exit_code == 0, result.output
    assert "(spend.csv)" in " ".join(result.output.split())
    rows = pd.read_csv(out / "channels.csv").set_index("acquisition_channel")
    assert rows.loc["Google", "cac"] == pytest.approx(25.0)


def test_a_kept_spend_in_the_old_currency_has_a_way_out(tmp_path):
    """The shop's currency changes after `analyze --spend`: every command using the kept spend
    names --no-spend, which leaves it out (channels, report) or drops it (analyze)."""
    from valuecast.cli import app as valuecast

    currency_map = CONSENT_MAP + ",currency=currency"
    lines = REPEAT_ORDERS.splitlines()
    in_euros = "\n".join([lines[0] + ",currency", *(line + ",EUR" for line in lines[1:])]) + "\n"
    workspace = make_workspace(tmp_path, in_euros, currency_map)
    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2024-01,google,€50\n")
    out = tmp_path / "out"
    first = runner.invoke(valuecast, ["analyze", "-w", str(workspace), "-o", str(out),
                                      "--spend", str(spend)])  # fmt: skip
    assert first.exit_code == 0, first.output
    dollars = tmp_path / "dollars.csv"
    dollars.write_text(in_euros.replace(",EUR", ",USD"))
    moved = runner.invoke(valuecast, ["ingest", str(dollars), "--map", currency_map,
                                      "-w", str(workspace)])  # fmt: skip
    assert moved.exit_code == 0, moved.output

    refused = runner.invoke(valuecast, ["analyze", "-w", str(workspace), "-o", str(out)])
    assert refused.exit_code == 2
    text = " ".join(refused.output.split())
    assert "the spend is in EUR, the orders in USD" in text and "(--no-spend)" in text
    assert run("-w", workspace, "--out", out).exit_code == 2

    left_out = run("-w", workspace, "--out", tmp_path / "left", "--no-spend")
    assert left_out.exit_code == 0, left_out.output
    assert "without the spend file kept from" in " ".join(left_out.output.split())
    assert not (tmp_path / "left" / "cac.csv").exists()

    both = runner.invoke(valuecast, ["analyze", "-w", str(workspace), "-o", str(out),
                                     "--no-spend", "--spend", str(spend)])  # fmt: skip
    assert both.exit_code == 2 and "--spend and --no-spend" in both.output

    assert (out / "cac.csv").exists()  # the first analysis', with spend
    dropped = runner.invoke(valuecast, ["analyze", "-w", str(workspace), "-o", str(out),
                                        "--no-spend"])  # fmt: skip
    assert dropped.exit_code == 0, dropped.output
    assert "dropped the spend file kept from" in " ".join(dropped.output.split())
    # no cac.csv of the analysis with spend is left beside this one's channels.csv
    assert not (out / "cac.csv").exists()
    # dropped: the commands run without it and no longer name it
    after = run("-w", workspace, "--out", tmp_path / "after")
    assert after.exit_code == 0, after.output
    assert "spend file kept" not in " ".join(after.output.split())
    assert not (tmp_path / "after" / "cac.csv").exists()


def test_the_cac_table_says_what_its_spend_leaves_out(repeat_shop, tmp_path):
    """The table's spend is less than the file's where months are left out: a note says which,
    as cac.csv's note column does."""
    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2023-12,google,30\n2024-01,google,50\n")
    result = run("-w", repeat_shop, "--spend", spend, "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (
        "note: Google: spend before the first order left out (2023-12: 30.00; the orders start "
        "in 2024-01)" in text
    )
    # the channels without spend are said by their empty cells, not by a note each
    assert "no spend reported" not in text
    # a run without spend into the same folder leaves no cac.csv of this one beside its own
    again = run("-w", repeat_shop, "--out", tmp_path / "o")
    assert again.exit_code == 0, again.output
    assert not (tmp_path / "o" / "cac.csv").exists()


def test_a_channel_not_paid_back_says_so_in_the_console_and_cac_csv(one_time_shop, tmp_path):
    """An empty payback month reads as missing data: the report says "not paid back yet", and
    the console's notes and cac.csv say the same words."""
    spend = tmp_path / "spend.csv"
    spend.write_text("month,channel,spend\n2024-01,google,10\n2024-02,Facebook,500\n")
    out = tmp_path / "out"
    result = run("--workspace", one_time_shop, "--spend", spend, "--out", out)
    assert result.exit_code == 0, result.output
    notes = dict(
        line.removeprefix("note: ").split(": ", 1)
        for line in result.output.splitlines()
        if line.startswith("note: ")
    )
    assert notes["Facebook"].endswith("; not paid back yet")
    assert "not paid back" not in notes["google"]  # paid back in month 0
    cac = pd.read_csv(out / "cac.csv").set_index(["channel", "cohort_month"])
    assert pd.isna(cac.loc[("Facebook", "all"), "payback_month"])
    assert cac.loc[("Facebook", "all"), "note"].endswith("; not paid back yet")
    assert cac.loc[("google", "all"), "payback_month"] == 0
    assert "not paid back" not in cac.loc[("google", "all"), "note"]


SMALL_SHOP = (
    "customer,date,amount\n"
    "c1,2024-01-05,20\nc1,2024-02-10,50\nc2,2024-01-08,20\nc3,2024-01-12,20\n"
    "c4,2024-01-20,20\nc5,2024-02-03,20\nc6,2024-02-14,20\nc7,2024-02-25,20\n"
    "c8,2024-03-02,20\nc9,2024-03-09,20\nc10,2024-03-31,20\n"
)


@pytest.mark.parametrize(
    "text",
    ["month,spend\n2024-01,100\n2024-03,60\n", "month,channel,spend\n2024-01,all,100\n"
     "2024-03,Total,60\n"],
)  # fmt: skip
def test_a_shop_whose_orders_name_no_channel_gets_the_blended_cac(tmp_path, text):
    """10 customers over three months, spend in January and March (the case of
    tests/analytics/test_channels.py): CAC 160 / 7 = 22.86, CLV 190 / 7, CLV:CAC 1.19, paid
    back in month 1; February's 3 customers are left out and said."""
    workspace = make_workspace(
        tmp_path, SMALL_SHOP, "customer_id=customer,ordered_at=date,revenue=amount"
    )
    spend = tmp_path / "spend.csv"
    spend.write_text(text)
    out = tmp_path / "out"
    result = run("--workspace", workspace, "--spend", spend, "--out", out, "--as-of", "2024-03-31")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "no customer came through" not in text
    assert "│ (whole shop) │ 160.00 │ 7 │ 22.86 │ 1.19 │ 1 │ 1-3 │" in text
    assert (
        "note: (whole shop): 3 customers acquired in months without spend left out (2024-02)"
        in (text)
    )
    cac = pd.read_csv(out / "cac.csv", keep_default_na=False, na_values=[""])
    assert set(cac["channel"]) == {"(whole shop)"}
    whole = cac.set_index("cohort_month").loc["all"]
    assert (whole["customers"], whole["spend"], whole["payback_month"]) == (7, 160.0, 1)
    assert whole["cac"] == pytest.approx(160 / 7, abs=0.005)


def test_spend_without_a_channel_beside_orders_with_channels_says_cac_is_the_shops(
    one_time_shop, tmp_path
):
    """A spend export without a channel column is the whole shop's: its CAC is said to be the
    shop's, not taken for channels without spend.  As of 1 March (the last order), March is a
    partial month left out of the whole: January's 90 over a and b."""
    spend = tmp_path / "spend.csv"
    spend.write_text("Month,Amount spent\n2024-01,90\n2024-03,60\n")
    out = tmp_path / "out"
    result = run("--workspace", one_time_shop, "--spend", spend, "--out", out)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "note: the spend names no channel (no channel column, or only all / total)" in text
    assert "no customer came through" not in text
    cac = pd.read_csv(out / "cac.csv", keep_default_na=False, na_values=[""])
    assert set(cac["channel"]) == {"(whole shop)"}
    whole = cac.set_index("cohort_month").loc["all"]
    assert (whole["spend"], whole["customers"], whole["cac"]) == (90.0, 2, 45.0)
    assert "2024-03 left out: a partial month (1 of 31 days to the as-of date)" in whole["note"]
    channels = pd.read_csv(out / "channels.csv")
    assert "cac" not in channels.columns  # no channel has spend of its own


def test_analyze_says_spend_naming_no_channel_beside_orders_with_channels_is_the_shops(
    one_time_shop, tmp_path
):
    """`channels` said a spend export without a channel column (a campaign export) was read
    as the whole shop's spend; `analyze`, whose notes summary.json and the report carry, said
    nothing. A spend file naming the orders' channels gets no such note."""
    from valuecast.io.spend import read_spend
    from valuecast.jobs.analyze import AnalysisOptions, analyze_with_growth

    said = "the spend names no channel (no channel column, or only all / total)"
    notes = {}
    for name, text in (
        ("shop", "Month,Campaign,Amount spent\n2024-01,Winter,90\n"),
        ("channels", "month,channel,spend\n2024-01,google,90\n"),
    ):
        spend = tmp_path / f"{name}.csv"
        spend.write_text(text)
        with Workspace(one_time_shop, read_only=True) as ws:
            analysis, _ = analyze_with_growth(ws, AnalysisOptions(), spend=read_spend(spend))
        notes[name] = [note for note in analysis.summary["notes"] if said in note]
    assert len(notes["shop"]) == 1 and not notes["channels"]


def test_a_daily_spend_file_past_the_as_of_date_counts_its_days_up_to_it(one_time_shop, tmp_path):
    """A daily export of 10 a day to 31 March, against an analysis as of 15 February: February's
    CAC is its 15 days' spend (150, not the month's 290) over the customers of those days, and
    the month, spent to the day, stays in the channel's whole.  The kept spend (the workspace's
    copy of the file) reads the same."""
    from valuecast.cli import app as valuecast

    workspace = tmp_path / "shop.duckdb"
    shutil.copy(one_time_shop, workspace)
    days = pd.date_range("2024-01-01", "2024-03-31")
    spend = tmp_path / "spend.csv"
    spend.write_text(
        "date,channel,spend\n"
        + "".join(f"{day.date()},{name},10\n" for day in days for name in ("google", "Facebook"))
    )
    out = tmp_path / "out"
    analysis = ["analyze", "-w", workspace, "--spend", spend, "--as-of", "2024-02-15", "-o", out]
    result = runner.invoke(valuecast, [str(arg) for arg in analysis])
    assert result.exit_code == 0, result.output
    kept = tmp_path / "kept"
    again = run("--workspace", workspace, "--as-of", "2024-02-15", "--out", kept)
    assert again.exit_code == 0, again.output
    for folder in (out, kept):
        cac = pd.read_csv(folder / "cac.csv", keep_default_na=False, na_values=[""])
        rows = cac.set_index(["channel", "cohort_month"])
        assert rows.loc[("Facebook", "2024-02"), "spend"] == 150.0
        assert rows.loc[("Facebook", "2024-02"), "cac"] == 150.0  # c, on 3 February
        assert rows.loc[("Facebook", "2024-02"), "note"].startswith(
            "a partial month: its spend and customers of its first 15 of 29 days"
        )
        google = rows.loc[("google", "all")]
        assert (google["spend"], google["customers"]) == (460.0, 2)  # January's 310 and 150
        assert "spend after the as-of date left out (2024-02, 2024-03: 450.00)" in google["note"]
        assert "partial month" not in google["note"]
        shop = rows.loc[("(whole shop)", "2024-02")]
        assert shop["spend"] == 300.0
    summary = (out / "summary.json").read_text()
    assert "spend left out of CAC and CLV:CAC: 900.00 of the 1,820.00 the spend file gives" in (
        summary
    )
