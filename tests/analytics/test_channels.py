"""CLV by group, CAC, CLV:CAC and payback on small tables computed by hand."""

from __future__ import annotations

import math
from datetime import date

import ibis
import numpy as np
import pandas as pd
import pytest

from valuecast.analysis.growth.channels import (
    CAC_COLUMNS,
    cac_by_channel,
    cac_table,
    canonical_channels,
    clv_by_group,
    flag_ratio,
    left_out_spend_note,
    mean_interval,
    monthly_revenue,
)

NAN = float("nan")
# Student-t quantiles from a printed t table (not computed with scipy, so a normal-z or wrong
# degrees-of-freedom implementation fails):  t(0.95; 1 df), t(0.95; 2 df), t(0.90; 2 df)
T95_1, T95_2, T90_2 = 6.313752, 2.919986, 1.885618


def customers_frame(rows):
    frame = pd.DataFrame(
        rows,
        columns=[
            "customer_id", "acquisition_channel", "first_order_date", "historic_clv",
            "predicted_clv",
        ],
    )  # fmt: skip
    frame["first_order_date"] = pd.to_datetime(frame["first_order_date"])
    frame["total_clv"] = frame["historic_clv"] + frame["predicted_clv"].fillna(0.0)
    return frame


# ------------------------------------------------------------------------------------------------
# CLV by group
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def grouped_customers():
    frame = customers_frame(
        [
            ("g1", "google", "2024-01-10", 10.0, 5.0),
            ("g2", "google", "2024-01-20", 20.0, NAN),
            ("g3", "google", "2024-02-05", 30.0, 7.0),
            ("n1", None, "2024-01-15", 100.0, NAN),
            ("n2", "  ", "2024-01-16", 50.0, NAN),  # blank is missing too
            ("f1", "Facebook", "2024-01-03", 40.0, 2.0),
        ]
    )
    frame["accepts_marketing"] = [True, False, None, True, np.nan, "yes"]
    frame["tags"] = ["vip", None, "vip", "wholesale", None, None]
    return frame


def test_clv_by_channel_means_medians_and_t_intervals(grouped_customers):
    table = clv_by_group(grouped_customers, "acquisition_channel")
    assert table["acquisition_channel"].tolist() == ["google", "(none)", "Facebook"]
    assert table["customers"].tolist() == [3, 2, 1]
    google = table.iloc[0]
    # historic 10, 20, 30: mean 20, median 20, s = sqrt((100 + 0 + 100) / 2) = 10,
    # standard error 10 / sqrt(3), 90% interval 20 -/+ 2.919986 * 10 / sqrt(3) = 3.1415 .. 36.8585
    half = T95_2 * 10 / math.sqrt(3)
    assert google["historic_clv_mean"] == pytest.approx(20.0)
    assert google["historic_clv_median"] == pytest.approx(20.0)
    assert google["historic_clv_low"] == pytest.approx(20 - half, abs=1e-4)
    assert google["historic_clv_high"] == pytest.approx(20 + half, abs=1e-4)
    assert google["historic_clv_low"] == pytest.approx(3.1415, abs=1e-3)
    assert google["historic_clv_missing"] == 0
    # predicted 5, NaN, 7: the NaN is left out and counted; mean 6, median 6,
    # s = sqrt((1 + 1) / 1) = sqrt(2), standard error sqrt(2) / sqrt(2) = 1, t with 1 df
    assert google["predicted_clv_missing"] == 1
    assert google["predicted_clv_mean"] == pytest.approx(6.0)
    assert google["predicted_clv_median"] == pytest.approx(6.0)
    assert google["predicted_clv_low"] == 0.0  # 6 - 6.31 = -0.31, cut at 0
    assert google["predicted_clv_high"] == pytest.approx(6 + T95_1 * 1, abs=1e-4)
    # total 15, 20, 37: mean 24, median 20, deviations -9, -4, 13: s^2 = (81 + 16 + 169) / 2
    # = 133, standard error sqrt(133 / 3)
    half = T95_2 * math.sqrt(133 / 3)
    assert google["total_clv_mean"] == pytest.approx(24.0)
    assert google["total_clv_median"] == pytest.approx(20.0)
    assert google["total_clv_low"] == pytest.approx(24 - half, abs=1e-4)
    assert google["total_clv_high"] == pytest.approx(24 + half, abs=1e-4)

    none = table.iloc[1]
    # historic 100 and 50: mean 75, median 75, s = sqrt((625 + 625) / 1) = 35.355,
    # standard error 35.355 / sqrt(2) = 25, interval 75 -/+ 6.313752 * 25, whose lower end
    # (-82.8) is cut at 0: no mean of CLVs lies below it
    assert none["historic_clv_mean"] == pytest.approx(75.0)
    assert none["historic_clv_low"] == 0.0
    assert none["historic_clv_high"] == pytest.approx(75 + T95_1 * 25, abs=1e-4)
    # no prediction at all: empty statistics, both customers counted as missing
    assert none["predicted_clv_missing"] == 2
    assert np.isnan(none["predicted_clv_mean"]) and np.isnan(none["predicted_clv_low"])

    facebook = table.iloc[2]
    # one customer: a mean and median but no standard error, so no interval
    assert facebook["total_clv_mean"] == pytest.approx(42.0)
    assert facebook["total_clv_median"] == pytest.approx(42.0)
    assert np.isnan(facebook["total_clv_low"]) and np.isnan(facebook["total_clv_high"])


def test_interval_level_changes_the_t_quantile(grouped_customers):
    table = clv_by_group(grouped_customers, "acquisition_channel", level=0.80)
    google = table.iloc[0]
    # 80%: t(0.90; 2 df) = 1.885618 instead of 2.919986
    assert google["historic_clv_low"] == pytest.approx(20 - T90_2 * 10 / math.sqrt(3), abs=1e-4)
    assert google["historic_clv_high"] == pytest.approx(20 + T90_2 * 10 / math.sqrt(3), abs=1e-4)
    assert mean_interval([10.0, NAN, 20.0, 30.0], 0.80) == pytest.approx(
        (20 - T90_2 * 10 / math.sqrt(3), 20 + T90_2 * 10 / math.sqrt(3)), abs=1e-4
    )


def test_engaged_and_not_engaged(grouped_customers):
    table = clv_by_group(grouped_customers, "accepts_marketing").set_index("accepts_marketing")
    # engaged: True (g1), True (n1), "yes" (f1); not engaged: False (g2), None (g3), NaN (n2)
    assert table.index.tolist() == ["engaged", "not engaged"]
    assert table.loc["engaged", "customers"] == 3
    assert table.loc["not engaged", "customers"] == 3
    # historic engaged (10 + 100 + 40) / 3 = 50; not engaged (20 + 30 + 50) / 3 = 33.333
    assert table.loc["engaged", "historic_clv_mean"] == pytest.approx(50.0)
    assert table.loc["not engaged", "historic_clv_mean"] == pytest.approx(100 / 3)
    # predicted engaged 5, NaN, 2 -> mean 3.5, one missing; not engaged NaN, 7, NaN -> 7, two
    assert table.loc["engaged", "predicted_clv_mean"] == pytest.approx(3.5)
    assert table.loc["engaged", "predicted_clv_missing"] == 1
    assert table.loc["not engaged", "predicted_clv_missing"] == 2


def test_any_attribute_column_and_missing_values(grouped_customers):
    table = clv_by_group(grouped_customers, "tags").set_index("tags")
    assert table["customers"].to_dict() == {"(none)": 3, "vip": 2, "wholesale": 1}
    # vip: g1 and g3, total 15 and 37 -> mean 26, median 26
    assert table.loc["vip", "total_clv_mean"] == pytest.approx(26.0)
    assert table.loc["vip", "total_clv_median"] == pytest.approx(26.0)
    # (none): g2, n2, f1 -> totals 20, 50, 42: median 42
    assert table.loc["(none)", "total_clv_median"] == pytest.approx(42.0)


def test_unknown_column_and_bad_level(grouped_customers):
    with pytest.raises(ValueError, match="no column 'nope'"):
        clv_by_group(grouped_customers, "nope")
    with pytest.raises(ValueError, match="between 0 and 1"):
        clv_by_group(grouped_customers, "tags", level=1.0)


# ------------------------------------------------------------------------------------------------
# flags
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ratio", "flag"),
    [
        (0.0, "below 1 (losing money)"),
        (0.999, "below 1 (losing money)"),
        (1.0, "1-3"),  # exactly 1: breaks even, not losing
        (2.999, "1-3"),
        (3.0, "3 or more"),  # exactly 3: the benchmark itself
        (0.3 * 10 - 1e-15, "3 or more"),  # float noise below 3 is still 3
        (10.0, "3 or more"),
        (NAN, None),
        (math.inf, None),
    ],
)
def test_flag_boundaries(ratio, flag):
    assert flag_ratio(ratio) == flag


# ------------------------------------------------------------------------------------------------
# CAC table
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def shop():
    customers = customers_frame(
        [
            ("g1", "google", "2024-01-10", 100.0, 50.0),
            ("g2", "google", "2024-01-20", 60.0, NAN),
            ("g3", "google", "2024-02-05", 40.0, 20.0),
            ("f1", "Facebook", "2024-01-03", 30.0, 10.0),
            ("f2", "Facebook", "2024-02-11", 20.0, 0.0),
            ("n1", None, "2024-01-15", 500.0, 0.0),
        ]
    )
    spend = pd.DataFrame(
        [
            ("2024-01", "google", 70.0),
            ("2024-02", "google", 60.0),
            ("2024-03", "google", 25.0),  # no google customer acquired in March
            ("2024-01", "facebook", 80.0),  # matched to "Facebook"; nothing for February
            ("2024-01", "tiktok", 90.0),  # a channel without customers
        ],
        columns=["month", "channel", "spend"],
    )
    monthly = pd.DataFrame(
        [
            ("g1", "2024-01", 40.0),
            ("g1", "2024-02", 30.0),
            ("g1", "2024-03", 30.0),
            ("g2", "2024-01", 20.0),
            ("g2", "2024-03", 40.0),
            ("g3", "2024-02", 40.0),
            ("f1", "2024-01", 30.0),
            ("f2", "2024-02", 20.0),
            ("n1", "2024-01", 500.0),
            ("x9", "2024-01", 999.0),  # not in the customers table: ignored
        ],
        columns=["customer_id", "month", "net_revenue"],
    )
    return customers, spend, monthly


def rows_of(table):
    return {(row.channel, row.cohort_month): row for row in table.itertuples(index=False)}


def test_cac_ratio_roi_payback_and_flags_per_month(shop):
    table = cac_table(*shop)
    assert tuple(table.columns) == CAC_COLUMNS
    rows = rows_of(table)

    jan = rows[("google", "2024-01")]
    # 2 customers, spend 70: CAC 35; CLV (150 + 60) / 2 = 105 (g2's missing prediction is 0);
    # CLV:CAC 105 / 35 = 3 exactly -> "3 or more"; ROI 105 - 35 = 70
    assert jan.customers == 2 and jan.spend == 70.0
    assert jan.cac == pytest.approx(35.0)
    assert jan.clv_per_customer == pytest.approx(105.0)
    assert jan.clv_to_cac == pytest.approx(3.0)
    assert jan.flag == "3 or more"
    assert jan.roi_per_customer == pytest.approx(70.0)
    # month 0: (40 + 20) / 2 = 30 < 35; month 1: (60 + 30) / 2 = 45 >= 35 -> payback month 1
    assert jan.payback_month == 1
    # g2 has no prediction: counted 0, and the row says so
    assert jan.note == (
        "no predicted CLV for 1 of 2 customers (none made: the analysis' notes say why): "
        "their CLV is historic only"
    )

    feb = rows[("google", "2024-02")]
    # 1 customer, spend 60: CAC 60; CLV 40 + 20 = 60; ratio exactly 1 -> "1-3"; ROI 0
    assert feb.cac == pytest.approx(60.0) and feb.clv_to_cac == pytest.approx(1.0)
    assert feb.flag == "1-3" and feb.roi_per_customer == pytest.approx(0.0)
    # month 0: 40 < 60; g3 bought nothing since (2024-03 is month 1): not paid back yet
    assert pd.isna(feb.payback_month)

    march = rows[("google", "2024-03")]
    # spend but nobody acquired: CAC undefined, everything after it empty
    assert march.customers == 0 and march.spend == 25.0
    assert np.isnan(march.cac) and np.isnan(march.clv_to_cac) and np.isnan(march.clv_per_customer)
    assert pd.isna(march.payback_month) and pd.isna(march.flag)
    assert march.note == "no customers acquired"

    fb_jan = rows[("Facebook", "2024-01")]
    # spend row "facebook" matched case-insensitively, labelled as in the customers table;
    # CAC 80, CLV 30 + 10 = 40, ratio 0.5 -> losing money, ROI -40; month 0 margin 30 < 80
    assert fb_jan.cac == pytest.approx(80.0) and fb_jan.clv_to_cac == pytest.approx(0.5)
    assert fb_jan.flag == "below 1 (losing money)"
    assert fb_jan.roi_per_customer == pytest.approx(-40.0)
    assert pd.isna(fb_jan.payback_month)

    fb_feb = rows[("Facebook", "2024-02")]
    # customers but no spend row: spend stays empty (never 0), CAC and ratio empty
    assert fb_feb.customers == 1 and np.isnan(fb_feb.spend) and np.isnan(fb_feb.cac)
    assert fb_feb.clv_per_customer == pytest.approx(20.0)
    assert fb_feb.note == "no spend reported" and pd.isna(fb_feb.flag)

    none = rows[("(none)", "2024-01")]
    assert none.customers == 1 and np.isnan(none.spend) and none.note == "no spend reported"

    tiktok = rows[("tiktok", "2024-01")]
    assert tiktok.customers == 0 and tiktok.spend == 90.0 and np.isnan(tiktok.cac)
    assert tiktok.note == "no customers acquired"


def test_all_months_rows_per_channel(shop):
    table = cac_table(*shop)
    # order: channels case-insensitively, months ascending, "all" last
    assert list(zip(table.channel, table.cohort_month, strict=True)) == [
        ("(none)", "2024-01"), ("(none)", "all"),
        ("Facebook", "2024-01"), ("Facebook", "2024-02"), ("Facebook", "all"),
        ("google", "2024-01"), ("google", "2024-02"), ("google", "2024-03"), ("google", "all"),
        ("tiktok", "2024-01"), ("tiktok", "all"),
    ]  # fmt: skip
    rows = rows_of(table)
    google = rows[("google", "all")]
    # spend 70 + 60 + 25 = 155 for 3 customers: CAC 51.667; CLV (150 + 60 + 60) / 3 = 90;
    # ratio 90 / 51.667 = 270 / 155 = 1.742 -> "1-3"; ROI 90 - 51.667 = 38.333
    assert google.customers == 3 and google.spend == pytest.approx(155.0)
    assert google.cac == pytest.approx(155 / 3)
    assert google.clv_per_customer == pytest.approx(90.0)
    assert google.clv_to_cac == pytest.approx(270 / 155)
    assert google.roi_per_customer == pytest.approx(90 - 155 / 3)
    assert google.flag == "1-3"
    # pooled by months since acquisition: month 0: g1 40 + g2 20 + g3 40 = 100 -> 33.3;
    # month 1: + g1 30 = 130 -> 43.3; month 2: + g1 30 + g2 40 = 200 -> 66.7 >= 51.667
    assert google.payback_month == 2
    assert google.note == (
        "no predicted CLV for 1 of 3 customers (none made: the analysis' notes say why): "
        "their CLV is historic only"
    )

    facebook = rows[("Facebook", "all")]
    # only January has spend: f2 (February) is left out of CAC and said so
    assert facebook.customers == 1 and facebook.spend == 80.0
    assert facebook.cac == pytest.approx(80.0) and facebook.clv_to_cac == pytest.approx(0.5)
    # no payback month: said in words, as the report says it
    assert pd.isna(facebook.payback_month)
    assert facebook.note == (
        "1 customer acquired in months without spend left out (2024-02); not paid back yet"
    )

    none = rows[("(none)", "all")]
    assert none.customers == 1 and np.isnan(none.spend) and none.note == "no spend reported"
    assert none.clv_per_customer == pytest.approx(500.0)

    tiktok = rows[("tiktok", "all")]
    assert tiktok.customers == 0 and tiktok.spend == 90.0 and np.isnan(tiktok.cac)
    assert tiktok.note == "no customers acquired"

    by_channel = cac_by_channel(*shop)
    assert "cohort_month" not in by_channel.columns
    assert by_channel["channel"].tolist() == ["(none)", "Facebook", "google", "tiktok"]
    assert by_channel["cac"].iloc[2] == pytest.approx(155 / 3)


def test_margin_applies_to_historic_revenue_only(shop):
    table = cac_table(*shop, margin=0.5)
    jan = rows_of(table)[("google", "2024-01")]
    # CLV = 0.5 * historic + predicted: g1 0.5 * 100 + 50 = 100, g2 0.5 * 60 + 0 = 30 -> 65;
    # CAC 35 (spend is not scaled); ratio 65 / 35 = 1.857 -> "1-3"
    assert jan.clv_per_customer == pytest.approx(65.0)
    assert jan.clv_to_cac == pytest.approx(65 / 35)
    assert jan.flag == "1-3"
    # cumulative margin per customer: month 0 0.5 * 60 / 2 = 15, month 1 0.5 * 90 / 2 = 22.5,
    # month 2 0.5 * 160 / 2 = 40 >= 35 -> payback month 2
    assert jan.payback_month == 2
    with pytest.raises(ValueError, match="margin"):
        cac_table(*shop, margin=1.5)


def test_payback_exactly_at_cac_and_float_noise(shop):
    customers, spend, monthly = shop
    spend = spend.copy()
    spend.loc[0, "spend"] = 90.0  # google January: CAC 90 / 2 = 45
    jan = rows_of(cac_table(customers, spend, monthly))[("google", "2024-01")]
    # month 1: (60 + 30) / 2 = 45, exactly the CAC: paid back (>=)
    assert jan.payback_month == 1
    spend.loc[0, "spend"] = 90.02  # CAC 45.01: month 1 falls short by 0.01, month 2 (160 / 2)
    assert rows_of(cac_table(customers, spend, monthly))[("google", "2024-01")].payback_month == 2

    one = customers_frame([("a", "web", "2024-05-02", 0.3, NAN)])
    # spend 0.1 + 0.2 = 0.30000000000000004 for one customer; month-0 revenue 0.3
    noisy = pd.DataFrame({"month": ["2024-05"], "channel": ["web"], "spend": [0.1 + 0.2]})
    revenue = pd.DataFrame({"customer_id": ["a"], "month": ["2024-05"], "net_revenue": [0.3]})
    row = rows_of(cac_table(one, noisy, revenue))[("web", "2024-05")]
    assert row.payback_month == 0
    # CLV 0.3 / CAC 0.30000000000000004 = 0.9999999999999999: rounds to 1 -> "1-3"
    assert row.flag == "1-3"


def test_zero_spend_gives_zero_cac_and_no_ratio(shop):
    customers, spend, monthly = shop
    spend = spend.copy()
    spend.loc[1, "spend"] = 0.0  # google February reported as 0 (an organic month)
    feb = rows_of(cac_table(customers, spend, monthly))[("google", "2024-02")]
    assert feb.cac == 0.0 and np.isnan(feb.clv_to_cac) and pd.isna(feb.flag)
    assert feb.roi_per_customer == pytest.approx(60.0)  # CLV 60 - CAC 0
    assert feb.payback_month == 0  # margin 40 in month 0 >= 0
    assert "spend is 0" in feb.note


def test_a_month_or_channel_of_spend_0_is_one_without_spend_in_the_ratios(shop):
    """A spreadsheet listing free months and channels at 0: the channel's all-months row and
    the shop's CLV:CAC count no customer of them against the money spent, as a month or channel
    the file leaves out (its customers came without spend)."""
    from valuecast.analysis.growth.tables import overall_clv_to_cac

    customers, spend, monthly = shop
    before = cac_table(customers, spend, monthly)
    listed = pd.concat(
        [
            spend,
            pd.DataFrame(
                [("2024-02", "facebook", 0.0), ("2024-01", "(none)", 0.0)],
                columns=spend.columns,
            ),
        ],
        ignore_index=True,
    )
    after = cac_table(customers, listed, monthly)
    for channel in ("google", "Facebook"):
        was, now = rows_of(before)[(channel, "all")], rows_of(after)[(channel, "all")]
        assert (now.customers, now.spend, now.cac) == (was.customers, was.spend, was.cac)
    assert (
        "acquired in months without spend left out (2024-02)"
        in rows_of(after)[("Facebook", "all")].note
    )
    assert overall_clv_to_cac(after) == pytest.approx(overall_clv_to_cac(before))


def test_spend_after_the_as_of_date_is_left_out_and_noted(shop):
    # an analysis as of 2024-02-29 has no customer acquired in March: March's google spend
    # (25) and a tiktok row for April would raise CAC for customers who are not there
    customers, spend, monthly = shop
    spend = pd.concat(
        [spend, pd.DataFrame([("2024-04", "tiktok", 40.0)], columns=spend.columns)],
        ignore_index=True,
    )
    rows = rows_of(cac_table(customers, spend, monthly, as_of="2024-02-29"))
    google = rows[("google", "all")]
    assert google.spend == 130.0 and ("google", "2024-03") not in rows
    assert google.cac == pytest.approx(130.0 / 3)
    assert "spend after the as-of date left out (2024-03: 25.00)" in google.note
    tiktok = rows[("tiktok", "all")]
    assert tiktok.spend == 90.0
    assert "spend after the as-of date left out (2024-04: 40.00)" in tiktok.note
    # without an as-of date every row counts, as before
    assert rows_of(cac_table(customers, spend, monthly))[("google", "all")].spend == 155.0


def test_spend_before_the_first_order_is_left_out_and_noted(shop):
    # the orders start in January 2024 (an export of the last months beside a spend file of
    # longer): December's google spend and a tiktok row of November acquired customers who
    # are not there
    customers, spend, monthly = shop
    earlier = pd.DataFrame(
        [("2023-12", "google", 45.0), ("2023-11", "tiktok", 10.0), ("2023-10", "radio", 5.0)],
        columns=spend.columns,
    )
    rows = rows_of(cac_table(customers, pd.concat([spend, earlier], ignore_index=True), monthly))
    google = rows[("google", "all")]
    assert google.spend == 155.0 and ("google", "2023-12") not in rows
    assert google.cac == pytest.approx(155.0 / 3)
    assert (
        "spend before the first order left out (2023-12: 45.00; the orders start in 2024-01)"
        in google.note
    )
    assert rows[("tiktok", "all")].spend == 90.0
    # a channel whose only spend is before the first order keeps its row, without spend
    radio = rows[("radio", "all")]
    assert np.isnan(radio.spend) and "2023-10: 5.00" in radio.note


def test_the_spend_left_out_of_every_cac_is_counted_by_reason_for_the_shop(shop):
    # a spend file of longer than the orders: 45 + 10 before January 2024, 25 + 40 after an
    # analysis as of 2024-02-29, of the 325 + 95 it gives in all
    customers, spend, monthly = shop
    wider = pd.DataFrame(
        [("2023-12", "google", 45.0), ("2023-11", "tiktok", 10.0), ("2024-04", "tiktok", 40.0)],
        columns=spend.columns,
    )
    table = cac_table(
        customers, pd.concat([spend, wider], ignore_index=True), monthly, as_of="2024-02-29"
    )
    assert left_out_spend_note(table) == (
        "spend left out of CAC and CLV:CAC: 120.00 of the 420.00 the spend file gives, 55.00 "
        "before the first order (2023-11, 2023-12; the orders start in 2024-01) and 65.00 after "
        "the as-of date (2024-03, 2024-04; as of 2024-02-29): the customers it acquired are not "
        "in the orders"
    )
    # the rows kept and the rows left out add up to the file
    kept = table.loc[table["cohort_month"] != "all", "spend"].sum()
    assert kept + 120.0 == pytest.approx(420.0)
    assert left_out_spend_note(cac_table(*shop)) is None


def test_a_partial_as_of_month_is_noted_and_left_out_of_the_channels_whole(shop):
    # as of 2024-02-20: February's google spend (60) bought the customers of 20 of its 29 days
    customers, spend, monthly = shop
    rows = rows_of(cac_table(customers, spend, monthly, as_of="2024-02-20"))
    february = rows[("google", "2024-02")]
    assert february.spend == 60.0 and february.cac == pytest.approx(60.0)  # g3 alone
    assert (
        february.note
        == "a partial month: its spend against the customers of its first 20 of 29 days; "
        "not paid back yet"
    )
    google = rows[("google", "all")]
    assert (google.spend, google.customers) == (70.0, 2)  # January alone
    assert google.cac == pytest.approx(35.0)
    assert "2024-02 left out: a partial month (20 of 29 days to the as-of date)" in google.note
    assert "months without spend" not in google.note  # February has spend: said once
    # a channel whose only spend is in the partial month keeps it (with its row's note)
    only = spend[spend["channel"] == "google"].assign(month="2024-02")
    alone = rows_of(cac_table(customers, only, monthly, as_of="2024-02-20"))[("google", "all")]
    assert alone.spend == 155.0 and "partial month" not in (alone.note or "")


def test_the_shops_note_counts_the_partial_months_spend_the_all_rows_leave_out(shop):
    # as of 2024-02-20: google's March spend (25) is after it, and its February spend (60)
    # is of a partial month, which google's all row leaves out: of the file's 325, the all
    # rows count the 240 the note does not
    customers, spend, monthly = shop
    table = cac_table(customers, spend, monthly, as_of="2024-02-20")
    kept = table.loc[table["cohort_month"] == "all", "spend"].sum()
    assert kept == 240.0
    assert left_out_spend_note(table) == (
        "spend left out of CAC and CLV:CAC over all months: 85.00 of the 325.00 the spend file "
        "gives, 25.00 after the as-of date (2024-03; as of 2024-02-20): the customers it "
        "acquired are not in the orders; and 60.00 of 2024-02, a partial month (20 of 29 days "
        "to the as-of date), counted in that month's row only"
    )
    # a partial month alone is noted too; a channel whose only spend is in it keeps it
    within = spend[spend["month"] != "2024-03"]
    assert left_out_spend_note(cac_table(customers, within, monthly, as_of="2024-02-20")) == (
        "spend left out of CAC and CLV:CAC over all months: 60.00 of the 300.00 the spend file "
        "gives, 60.00 of 2024-02, a partial month (20 of 29 days to the as-of date), counted "
        "in that month's row only"
    )
    only = spend[spend["channel"] == "google"].assign(month="2024-02")
    assert left_out_spend_note(cac_table(customers, only, monthly, as_of="2024-02-20")) is None


def test_the_overall_ratio_counts_the_spend_of_channels_that_acquired_nobody(shop):
    from valuecast.analysis.growth.tables import overall_clv_to_cac

    table = cac_table(*shop)
    rows = rows_of(table)
    paid = [rows[(c, "all")] for c in ("google", "Facebook", "tiktok")]
    spend = sum(row.spend for row in paid)  # tiktok's 90 acquired nobody, but was spent
    value = sum(row.clv_per_customer * row.customers for row in paid if row.customers)
    assert overall_clv_to_cac(table) == pytest.approx(value / spend)


def test_spend_that_acquired_nobody_anywhere_gives_no_overall_ratio_but_a_reason(shop):
    """Spend whose every channel is named otherwise than the orders' is no CLV:CAC of 0 (the
    stage read 'below 1: a customer costs more to acquire than they bring')."""
    from valuecast.analysis.growth.tables import overall_clv_to_cac, unknown_clv_to_cac_reason

    customers, spend, monthly = shop
    ads = pd.DataFrame(
        [("2024-01", "Facebook Ads", 70.0), ("2024-02", "Google Ads", 50.0)],
        columns=spend.columns,
    )
    table = cac_table(customers, ads, monthly)
    assert overall_clv_to_cac(table) is None
    assert "no customer was acquired through the spend's channels" in unknown_clv_to_cac_reason(
        table
    )
    zero = cac_table(customers, spend.assign(spend=0.0), monthly)
    assert overall_clv_to_cac(zero) is None
    assert unknown_clv_to_cac_reason(zero) == (
        "the spend file reports no spend in the months of the orders"
    )
    assert unknown_clv_to_cac_reason(cac_table(*shop)) is None


def test_missing_columns_are_named(shop):
    customers, spend, monthly = shop
    with pytest.raises(ValueError, match="acquisition_channel"):
        cac_table(customers.drop(columns="acquisition_channel"), spend, monthly)
    with pytest.raises(ValueError, match="net_revenue"):
        cac_table(customers, spend, monthly.drop(columns="net_revenue"))


# ------------------------------------------------------------------------------------------------
# monthly revenue with Ibis
# ------------------------------------------------------------------------------------------------
def test_monthly_revenue_sums_per_customer_and_calendar_month():
    orders = ibis.memtable(
        pd.DataFrame(
            {
                "customer_id": ["a", "a", "a", "b", None, "b", "a"],
                "order_date": pd.to_datetime(
                    [
                        "2024-01-05",
                        "2024-01-31",
                        "2024-02-01",
                        "2024-02-10",
                        "2024-02-11",
                        "2024-03-01",
                        "2024-03-02",
                    ]
                ),  # fmt: skip
                "net_revenue": [10.0, 5.5, 7.0, None, 99.0, 3.0, 1000.0],
            }
        )
    )
    out = monthly_revenue(orders, as_of="2024-03-01")
    # a: January 10 + 5.5 = 15.5, February 7; b: February NULL -> 0, March 3;
    # the guest (None) and a's order after the as-of date are left out
    assert out.to_dict("records") == [
        {"customer_id": "a", "month": "2024-01", "net_revenue": 15.5},
        {"customer_id": "a", "month": "2024-02", "net_revenue": 7.0},
        {"customer_id": "b", "month": "2024-02", "net_revenue": 0.0},
        {"customer_id": "b", "month": "2024-03", "net_revenue": 3.0},
    ]
    # default as-of: the last order date (2024-03-02), so a's March order counts
    latest = monthly_revenue(orders)
    assert latest.iloc[2].to_dict() == {"customer_id": "a", "month": "2024-03", "net_revenue": 1000}
    assert monthly_revenue(orders, as_of=date(2024, 1, 31))["net_revenue"].tolist() == [15.5]


def test_monthly_revenue_feeds_the_cac_table():
    orders = ibis.memtable(
        pd.DataFrame(
            {
                "customer_id": ["a", "a", "b"],
                "order_date": pd.to_datetime(["2024-01-05", "2024-03-05", "2024-01-20"]),
                "net_revenue": [20.0, 40.0, 10.0],
            }
        )
    )
    customers = customers_frame(
        [("a", "ads", "2024-01-05", 60.0, NAN), ("b", "ads", "2024-01-20", 10.0, NAN)]
    )
    spend = pd.DataFrame({"month": ["2024-01"], "channel": ["ads"], "spend": [40.0]})
    row = rows_of(cac_table(customers, spend, monthly_revenue(orders)))[("ads", "2024-01")]
    # CAC 40 / 2 = 20; month 0 (20 + 10) / 2 = 15, month 1 nothing, month 2 + 40 -> 35 >= 20
    assert row.cac == pytest.approx(20.0) and row.payback_month == 2
    # CLV (60 + 10) / 2 = 35, ratio 1.75
    assert row.clv_to_cac == pytest.approx(1.75) and row.flag == "1-3"


def test_channels_differing_in_inner_spaces_are_one_channel(shop):
    # "facebook  ads" (two spaces) in a spend file is the customers' "Facebook Ads"
    customers = customers_frame(
        [
            ("a", "Facebook Ads", "2024-01-02", 10.0, 5.0),
            ("b", "Facebook Ads", "2024-01-09", 20.0, 5.0),
        ]
    )
    spend = pd.DataFrame({"month": ["2024-01"], "channel": ["facebook  ads"], "spend": [30.0]})
    monthly = pd.DataFrame({"customer_id": ["a"], "month": ["2024-01"], "net_revenue": [10.0]})
    rows = rows_of(cac_table(customers, spend, monthly))
    assert set(rows) == {("Facebook Ads", "2024-01"), ("Facebook Ads", "all")}
    assert rows[("Facebook Ads", "all")].cac == pytest.approx(15.0)
    assert (
        canonical_channels(pd.Series(["Facebook  Ads", "facebook ads", "facebook ads"])).tolist()
        == ["facebook ads"] * 3
    )


def test_canonical_channels_merge_spellings_like_the_cac_table():
    values = pd.Series(["Google", "google ", "google", None, "", "Meta", "META"])
    # google: "google" twice (after trimming) beats "Google" once; Meta/META tie -> sort order
    assert canonical_channels(values).tolist() == [
        "google", "google", "google", "(none)", "(none)", "META", "META",
    ]  # fmt: skip
    customers = customers_frame(
        [
            ("a", "Google", "2024-01-02", 10.0, NAN),
            ("b", "google", "2024-01-03", 20.0, NAN),
            ("c", "google", "2024-01-04", 30.0, NAN),
        ]
    )
    spend = pd.DataFrame({"month": ["2024-01"], "channel": ["GOOGLE"], "spend": [30.0]})
    table = cac_table(
        customers, spend, pd.DataFrame(columns=["customer_id", "month", "net_revenue"])
    )
    # one channel of 3 customers, CAC 30 / 3 = 10, labelled with the most common spelling
    assert table["channel"].tolist() == ["google", "google"]
    assert table["customers"].tolist() == [3, 3] and table["cac"].tolist() == [10.0, 10.0]
    # no revenue data at all: payback cannot be reached
    assert table["payback_month"].isna().all()


def test_channels_grouped_in_the_engine_equal_the_frame_grouping():
    """channels.csv from the stored customers table (channel_groups) is the frame's: spellings
    made one, blank and missing channels together, NaN predictions left out, medians of even
    and odd groups, and the mean order value behind new_customer_clv."""
    from valuecast.analysis.growth.channels import (
        channel_groups,
        new_customer_columns,
        with_new_customer_clv,
    )

    rng = np.random.default_rng(5)
    n = 601
    channels = np.array(["Google", "google ", "GOOGLE", "Meta", None, "  ", "tiktok"], dtype=object)
    frame = pd.DataFrame(
        {
            "acquisition_channel": rng.choice(channels, n, p=[0.3, 0.1, 0.05, 0.2, 0.2, 0.1, 0.05]),
            "historic_clv": np.round(rng.gamma(2.0, 40.0, n), 2),
            "predicted_clv": rng.gamma(1.5, 30.0, n),
            "predicted_average_order_value": rng.gamma(3.0, 20.0, n),
            "average_order_value": np.round(rng.gamma(2.0, 25.0, n), 2),
        }
    )
    frame.loc[rng.choice(n, 40, replace=False), "predicted_clv"] = NAN
    frame.loc[frame["acquisition_channel"] == "tiktok", "predicted_average_order_value"] = NAN
    frame["total_clv"] = frame["historic_clv"] + frame["predicted_clv"].fillna(0.0)
    new_customer = {"all": 1.4, "by_channel": {"meta": 1.1}}
    con = ibis.duckdb.connect()
    table = con.create_table("customers", ibis.memtable(frame))
    groups, order_values, shop_order_value = channel_groups(table)
    got = new_customer_columns(groups, order_values, shop_order_value, new_customer, margin=0.5)
    by_channel = frame.assign(acquisition_channel=canonical_channels(frame["acquisition_channel"]))
    want = with_new_customer_clv(
        clv_by_group(by_channel, "acquisition_channel"), frame, new_customer, margin=0.5
    )
    assert got["acquisition_channel"].tolist() == ["Google", "(none)", "Meta", "tiktok"]
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
    medians = [c for c in want.columns if c.endswith("_median")]
    pd.testing.assert_frame_equal(got[medians], want[medians], check_exact=True)


def test_a_new_customers_first_order_is_valued_at_what_the_channels_customers_paid():
    """A channel whose customers bought once for 5 is not valued at the shop's 60 for the one
    order each new customer is sure to place: the Gamma-Gamma expectation of a customer without
    a repeat order is the shop's mean whatever the first order was, so it values the repeat
    orders only, in the frame and in the engine alike."""
    from valuecast.analysis.growth.channels import (
        channel_groups,
        new_customer_columns,
        with_new_customer_clv,
    )

    customers = pd.DataFrame(
        {
            "acquisition_channel": ["web"] * 4 + ["deal-site"] * 4,
            "historic_clv": [120.0, 60.0, 60.0, 180.0, 5.0, 5.0, 5.0, 5.0],
            "predicted_clv": [50.0] * 4 + [30.0] * 4,
            "total_clv": [170.0, 110.0, 110.0, 230.0, 35.0, 35.0, 35.0, 35.0],
            "average_order_value": [60.0] * 4 + [5.0] * 4,
            # the deal-site's one-time buyers: the Gamma-Gamma prior mean
            "predicted_average_order_value": [60.0] * 4 + [58.0] * 4,
        }
    )
    # a first order plus 0.5 discounted repeat orders, every channel alike (no covariate)
    new_customer = {"all": 1.5, "by_channel": {}}
    groups = clv_by_group(customers, "acquisition_channel")
    framed = with_new_customer_clv(groups, customers, new_customer, margin=0.5)
    table = ibis.duckdb.connect().create_table("customers", ibis.memtable(customers))
    grouped, order_values, shop = channel_groups(table)
    engine = new_customer_columns(grouped, order_values, shop, new_customer, margin=0.5)
    for got in (framed, engine):
        value = got.set_index("acquisition_channel")["new_customer_clv"]
        assert value["web"] == pytest.approx(0.5 * (60.0 + 0.5 * 60.0))
        assert value["deal-site"] == pytest.approx(0.5 * (5.0 + 0.5 * 58.0))
    # a channel the model predicts no repeat orders for is worth its first order
    alone = with_new_customer_clv(
        groups, customers, {"all": 1.5, "by_channel": {"deal-site": 1.0}}, margin=1.0
    ).set_index("acquisition_channel")["new_customer_clv"]
    assert alone["deal-site"] == pytest.approx(5.0)


def test_channel_means_in_the_engine_are_the_same_whatever_order_the_rows_are_in():
    """The channels' mean CLVs come from exact sums: a float mean's last bits followed the order
    the engine's threads added the customers in, and the report's chart of them changed from
    one run of the same shop to the next."""
    from valuecast.analysis.growth.channels import channel_groups

    rng = np.random.default_rng(11)
    n = 200_000
    frame = pd.DataFrame(
        {
            "acquisition_channel": rng.choice(np.array(["google", "meta"], dtype=object), n),
            "historic_clv": np.round(rng.gamma(2.0, 40.0, n), 2),
            "predicted_clv": rng.gamma(1.5, 30.0, n),
            "predicted_average_order_value": rng.gamma(3.0, 20.0, n),
            "average_order_value": np.round(rng.gamma(2.0, 25.0, n), 2),
        }
    )
    frame["total_clv"] = frame["historic_clv"] + frame["predicted_clv"]
    means = []
    for seed in range(3):
        shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        con = ibis.duckdb.connect(threads=2)
        groups, order_values, _ = channel_groups(
            con.create_table("customers", ibis.memtable(shuffled))
        )
        columns = [c for c in groups.columns if c.endswith("_mean")]
        means.append((groups.set_index("acquisition_channel")[columns], order_values.sort_index()))
    for got, order_values in means[1:]:
        pd.testing.assert_frame_equal(got, means[0][0], check_exact=True)
        pd.testing.assert_frame_equal(order_values, means[0][1], check_exact=True)
    want = frame.groupby("acquisition_channel")["predicted_clv"].mean()
    assert means[0][0]["predicted_clv_mean"].to_dict() == pytest.approx(want.to_dict(), rel=1e-12)


def test_channels_spelled_one_way_are_grouped_in_the_engine_as_the_frame():
    """Channels each spelled one way (and missing ones) are grouped by their column itself, with
    the frame's table: missing channels labelled "(none)", medians of even and odd groups."""
    from valuecast.analysis.growth.channels import channel_groups

    rng = np.random.default_rng(7)
    n = 401
    channels = np.array(["google", "Meta", None, "tiktok"], dtype=object)
    frame = pd.DataFrame(
        {
            "acquisition_channel": rng.choice(channels, n, p=[0.4, 0.3, 0.2, 0.1]),
            "historic_clv": np.round(rng.gamma(2.0, 40.0, n), 2),
            "predicted_clv": rng.gamma(1.5, 30.0, n),
            "predicted_average_order_value": rng.gamma(3.0, 20.0, n),
            "average_order_value": np.round(rng.gamma(2.0, 25.0, n), 2),
        }
    )
    frame.loc[rng.choice(n, 30, replace=False), "predicted_clv"] = NAN
    frame["total_clv"] = frame["historic_clv"] + frame["predicted_clv"].fillna(0.0)
    table = ibis.duckdb.connect().create_table("customers", ibis.memtable(frame))
    groups, order_values, _ = channel_groups(table)
    by_channel = frame.assign(acquisition_channel=canonical_channels(frame["acquisition_channel"]))
    want = clv_by_group(by_channel, "acquisition_channel")
    assert sorted(groups["acquisition_channel"]) == ["(none)", "Meta", "google", "tiktok"]
    pd.testing.assert_frame_equal(groups, want, check_exact=False, rtol=1e-12)
    medians = [c for c in want.columns if c.endswith("_median")]
    pd.testing.assert_frame_equal(groups[medians], want[medians], check_exact=True)
    assert sorted(order_values.index) == sorted(groups["acquisition_channel"].str.casefold())


# ------------------------------------------------------------------------------------------------
# the whole shop's (blended) CAC
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def small_shop():
    """10 customers over three months, by hand: January c1-c4 (c1, c2 via google), February
    c5-c7 (c5 via google), March c8-c10; one first order of 20 each, and c1 buys again for 50
    in February.  Predictions 0, so each CLV is the revenue so far."""
    rows = [
        ("c1", "google", "2024-01-05", 70.0, 0.0),
        ("c2", "google", "2024-01-08", 20.0, 0.0),
        ("c3", None, "2024-01-12", 20.0, 0.0),
        ("c4", None, "2024-01-20", 20.0, 0.0),
        ("c5", "google", "2024-02-03", 20.0, 0.0),
        ("c6", None, "2024-02-14", 20.0, 0.0),
        ("c7", None, "2024-02-25", 20.0, 0.0),
        ("c8", None, "2024-03-02", 20.0, 0.0),
        ("c9", None, "2024-03-09", 20.0, 0.0),
        ("c10", None, "2024-03-31", 20.0, 0.0),
    ]
    customers = customers_frame(rows)
    revenue = [(c, d[:7], 20.0) for c, _, d, _, _ in rows if c != "c1"]
    revenue += [("c1", "2024-01", 20.0), ("c1", "2024-02", 50.0)]
    monthly = pd.DataFrame(revenue, columns=["customer_id", "month", "net_revenue"])
    return customers, monthly


def shop_spend(rows):
    return pd.DataFrame(rows, columns=["month", "channel", "spend"])


def blended_all_row(table):
    from valuecast.analysis.growth.channels import BLENDED

    rows = table[(table["channel"] == BLENDED) & (table["cohort_month"] == "all")]
    assert len(rows) == 1
    return rows.iloc[0]


def test_the_blended_cac_of_a_shop_without_channels_by_hand(small_shop):
    """Spend 100 in January and 60 in March, none in February: CAC = 160 / the 7 customers of
    January and March (February's 3 are left out, noted); CLV = (70+20+20+20 + 3*20) / 7 =
    190/7; payback: month 0 brings 140/7 = 20 < 160/7, month 1 adds c1's 50: 190/7 >= 160/7."""
    from valuecast.analysis.growth.channels import BLENDED, shop_cac, shop_cac_table
    from valuecast.io.spend import SHOP_WIDE

    customers, monthly = small_shop
    spend = shop_spend([("2024-01", SHOP_WIDE, 100.0), ("2024-03", SHOP_WIDE, 60.0)])
    table = shop_cac_table(customers, spend, monthly, as_of="2024-03-31")
    # the spend names no channel: the whole shop's rows alone
    assert set(table["channel"]) == {BLENDED}
    assert table["cohort_month"].tolist() == ["2024-01", "2024-02", "2024-03", "all"]
    january, february, march = (table.iloc[i] for i in range(3))
    assert (january["customers"], january["cac"]) == (4, 25.0)
    assert january["clv_per_customer"] == pytest.approx(130 / 4)
    assert january["payback_month"] == 1  # 80/4 = 20 < 25, then 130/4 = 32.5
    assert february["customers"] == 3 and math.isnan(february["spend"])
    assert (march["customers"], march["cac"], march["payback_month"]) == (3, 20.0, 0)
    whole = blended_all_row(table)
    assert (whole["customers"], whole["spend"]) == (7, 160.0)
    assert whole["cac"] == pytest.approx(160 / 7)
    assert whole["clv_per_customer"] == pytest.approx(190 / 7)
    assert whole["clv_to_cac"] == pytest.approx(190 / 160)
    assert whole["payback_month"] == 1
    assert whole["flag"] == "1-3"
    assert "3 customers acquired in months without spend left out (2024-02)" in whole["note"]
    summary = shop_cac(table)
    assert summary["customers"] == 7 and summary["payback_month"] == 1
    assert summary["cac"] == pytest.approx(160 / 7)
    assert table.attrs["shop_wide_spend"] is True


def test_a_total_row_beside_channel_rows_is_counted_once(small_shop):
    """January's google 60 and its total 100 (40 on no named channel), March's total 60: the
    whole shop spent 160, not 220; google's own rows are those of a file of google alone."""
    from valuecast.analysis.growth.channels import BLENDED, shop_cac_table
    from valuecast.io.spend import SHOP_WIDE

    customers, monthly = small_shop
    mixed = shop_spend(
        [("2024-01", "google", 60.0), ("2024-01", SHOP_WIDE, 100.0), ("2024-03", SHOP_WIDE, 60.0)]
    )
    table = shop_cac_table(customers, mixed, monthly, as_of="2024-03-31")
    assert table["channel"].iloc[0] == BLENDED  # the whole shop first
    whole = blended_all_row(table)
    assert (whole["spend"], whole["customers"]) == (160.0, 7)
    assert whole["cac"] == pytest.approx(160 / 7)
    channels = table[table["channel"] != BLENDED].reset_index(drop=True)
    alone = cac_table(customers, shop_spend([("2024-01", "google", 60.0)]), monthly,
                      as_of="2024-03-31")  # fmt: skip
    pd.testing.assert_frame_equal(channels, alone)
    google = channels[(channels["channel"] == "google") & (channels["cohort_month"] == "all")]
    assert google["cac"].tolist() == [30.0]  # 60 / c1, c2
    # spend given per channel only: the whole shop's is their sum
    named = shop_spend([("2024-01", "google", 60.0), ("2024-03", "tiktok", 60.0)])
    whole = blended_all_row(shop_cac_table(customers, named, monthly, as_of="2024-03-31"))
    assert (whole["spend"], whole["customers"]) == (120.0, 7)


def test_the_whole_shops_spend_outside_the_orders_is_counted_by_reason(small_shop):
    from valuecast.analysis.growth.channels import shop_cac_table
    from valuecast.analysis.growth.tables import overall_clv_to_cac
    from valuecast.io.spend import SHOP_WIDE

    customers, monthly = small_shop
    spend = shop_spend(
        [("2023-12", SHOP_WIDE, 30.0), ("2024-01", SHOP_WIDE, 100.0),
         ("2024-03", SHOP_WIDE, 60.0), ("2024-04", SHOP_WIDE, 10.0)]
    )  # fmt: skip
    table = shop_cac_table(customers, spend, monthly, as_of="2024-03-31")
    whole = blended_all_row(table)
    assert whole["spend"] == 160.0
    assert left_out_spend_note(table) == (
        "spend left out of CAC and CLV:CAC: 40.00 of the 200.00 the spend file gives, 30.00 "
        "before the first order (2023-12; the orders start in 2024-01) and 10.00 after the "
        "as-of date (2024-04; as of 2024-03-31): the customers it acquired are not in the orders"
    )
    # the shop's CLV:CAC (the stage's) is the blended one where the spend is the whole shop's
    assert overall_clv_to_cac(table) == pytest.approx(190 / 160)
