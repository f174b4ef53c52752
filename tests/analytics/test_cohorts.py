"""Acquisition cohorts, retention, days between orders and the churn threshold, by hand."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valuecast.analysis.growth.cohorts import (
    GAP_BUCKETS,
    NONE_LABEL,
    ONE_SPELLING,
    churn_threshold,
    cohort_tables,
    days_between_orders,
)


def orders_table(rows: list[tuple]) -> ibis.Table:
    """Orders from ``(order_id, customer, ordered_at, net, channel, discount_code)`` tuples."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "order_id",
            "customer_id",
            "ordered_at",
            "net_revenue",
            "channel",
            "discount_code",
        ],
    )
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"])
    frame["order_date"] = frame["ordered_at"].dt.normalize()
    frame["is_guest"] = frame["customer_id"].isna()
    for column in ("order_id", "customer_id", "channel", "discount_code"):
        frame[column] = frame[column].astype("string")
    return ibis.memtable(frame)


# as of 2024-03-15 (March is reached but partial)
SHOP = [
    ("1", "ann", "2024-01-05 10:00", 10.0, "web", "SAVE"),
    ("2", "ann", "2024-01-20 10:00", 20.0, "pos", None),
    ("3", "ann", "2024-03-02 10:00", 30.0, "web", None),
    ("4", "bob", "2024-01-10 10:00", 40.0, "pos", ""),
    # cat's two orders on one day: the 09:00 one is the first (channel social)
    ("6", "cat", "2024-02-03 15:00", 5.0, "web", None),
    ("5", "cat", "2024-02-03 09:00", 50.0, "social", None),
    ("7", None, "2024-01-15 10:00", 1000.0, "web", None),  # guest: left out
    ("8", "dan", "2024-03-20 10:00", 70.0, "web", None),  # after as-of: dan is no customer
    ("9", "bob", "2024-04-01 10:00", 80.0, "pos", None),  # after as-of: ignored
    ("10", "eve", "2024-03-10 10:00", 15.0, "pos", None),
]
AS_OF = date(2024, 3, 15)
LINES = pd.DataFrame(
    {
        "order_id": ["1", "1", "4", "5", "5", "6"],
        "line_number": [1, 2, 1, 2, 1, 1],
        "product_name": ["Mug", "Tea", "Tea", "Cup", "Pot", "Spoon"],
    }
)


@pytest.fixture
def shop() -> ibis.Table:
    return orders_table(SHOP)


def test_cohort_sizes_repeat_rate_and_ltv(shop):
    result = cohort_tables(shop, as_of=AS_OF)
    table = result.cohorts.set_index("cohort_month")
    # Jan: ann, bob; Feb: cat; Mar: eve (dan's first order is after the as-of date)
    assert list(table.index) == ["2024-01", "2024-02", "2024-03"]
    assert table["customers"].tolist() == [2, 1, 1]
    # ann 3 orders, bob 1 (his April order is ignored); cat 2 orders on one day; eve 1
    assert table["repeat_customers"].tolist() == [1, 1, 0]
    assert table["repeat_rate"].tolist() == [0.5, 1.0, 0.0]
    # oldest cohort (Jan) is 2 months old in March: ltv_m0 .. ltv_m2
    assert [c for c in table.columns if c.startswith("ltv_")] == ["ltv_m0", "ltv_m1", "ltv_m2"]
    # Jan: month 0 = 10 + 20 + 40 = 70 / 2 = 35; Feb nothing; Mar + 30 -> 100 / 2 = 50
    assert table.loc["2024-01", ["ltv_m0", "ltv_m1", "ltv_m2"]].tolist() == [35.0, 35.0, 50.0]
    # Feb: 50 + 5 = 55 in month 0, nothing in March; month 2 not reached: empty
    assert table.loc["2024-02", ["ltv_m0", "ltv_m1"]].tolist() == [55.0, 55.0]
    assert np.isnan(table.loc["2024-02", "ltv_m2"])
    assert table.loc["2024-03", "ltv_m0"] == 15.0
    assert table.loc["2024-03", ["ltv_m1", "ltv_m2"]].isna().all()
    # 4 customers, 2 of them (ann, cat) with 2+ orders
    assert (result.customers, result.repeat_customers, result.repeat_rate) == (4, 2, 0.5)
    assert result.max_age == 2
    assert result.notes == [
        "1 guest order left out",
        "2 orders after the as-of date 2024-03-15 ignored",
    ]


def test_retention_per_month_and_partial_month(shop):
    retention = cohort_tables(shop, as_of=AS_OF).retention
    jan = retention[retention.cohort_month == "2024-01"]
    assert jan["months_since_acquisition"].tolist() == [0, 1, 2]
    # month 0: ann and bob; month 1 (Feb): nobody; month 2 (Mar): ann
    assert jan["active_customers"].tolist() == [2, 0, 1]
    assert jan["retention"].tolist() == [1.0, 0.0, 0.5]
    assert jan["cumulative_revenue_per_customer"].tolist() == [35.0, 35.0, 50.0]
    assert jan["partial_month"].tolist() == [False, False, True]
    # only reached ages: Feb has months 0 and 1, Mar month 0 only
    counts = retention.groupby("cohort_month")["months_since_acquisition"].max().to_dict()
    assert counts == {"2024-01": 2, "2024-02": 1, "2024-03": 0}
    assert retention["partial_month"].sum() == 3  # March in every cohort


def test_a_month_end_as_of_is_not_partial(shop):
    retention = cohort_tables(shop, as_of="2024-02-29").retention
    # the Feb orders are all there by the 29th: Feb is a complete month
    assert not retention["partial_month"].any()
    # ann's March order is after the as-of date: Jan month 1 = nothing, ltv stays 35
    jan = retention[retention.cohort_month == "2024-01"]
    assert jan["cumulative_revenue_per_customer"].tolist() == [35.0, 35.0]


def test_cohorts_by_first_channel(shop):
    result = cohort_tables(shop, as_of=AS_OF, by="channel")
    table = result.cohorts.set_index(["cohort_month", "channel"])
    # ann's first order is web, bob's pos, cat's earliest (09:00) social, eve's pos
    assert list(table.index) == [
        ("2024-01", "pos"),
        ("2024-01", "web"),
        ("2024-02", "social"),
        ("2024-03", "pos"),
    ]
    assert table["customers"].tolist() == [1, 1, 1, 1]
    # bob: 40 in month 0 and nothing after; ann: 30 in month 0, +30 in month 2
    assert table.loc[("2024-01", "pos"), ["ltv_m0", "ltv_m1", "ltv_m2"]].tolist() == [40.0] * 3
    assert table.loc[("2024-01", "web"), ["ltv_m0", "ltv_m2"]].tolist() == [30.0, 60.0]
    assert table.loc[("2024-02", "social"), "ltv_m0"] == 55.0
    retention = result.retention
    bob = retention[(retention.cohort_month == "2024-01") & (retention.channel == "pos")]
    assert bob["active_customers"].tolist() == [1, 0, 0]


def test_cohorts_by_discount_code_and_first_product(shop):
    codes = cohort_tables(shop, as_of=AS_OF, by="discount_code").cohorts
    # ann's first order has SAVE; bob's empty code and everyone else's missing one: (none)
    jan = codes[codes.cohort_month == "2024-01"].set_index("discount_code")["customers"]
    assert jan.to_dict() == {NONE_LABEL: 1, "SAVE": 1}
    products = cohort_tables(
        shop, as_of=AS_OF, by="first_product", order_lines=ibis.memtable(LINES)
    ).cohorts
    labels = products.cohort_month + "/" + products.first_product
    got = dict(zip(labels, products.customers, strict=True))
    # ann: order 1 line 1 Mug; bob: Tea; cat: first order 5, lowest line Pot; eve: no lines
    assert got == {"2024-01/Mug": 1, "2024-01/Tea": 1, "2024-02/Pot": 1, f"2024-03/{NONE_LABEL}": 1}
    with pytest.raises(ValueError, match="order_lines"):
        cohort_tables(shop, as_of=AS_OF, by="first_product")
    with pytest.raises(ValueError, match="by must be one of"):
        cohort_tables(shop, as_of=AS_OF, by="country")


def test_spellings_of_a_channel_or_code_that_differ_in_case_or_spaces_are_one_group():
    """As the channels' table groups them: "Google", "GOOGLE " and "google" are one channel,
    spelled as most of its customers' first orders spell it; "save10" and "SAVE10" one code."""
    rows = [
        ("1", "a", "2024-01-05", 50.0, "Google", "SAVE10"),
        ("2", "b", "2024-01-06", 20.0, "google", "save10 "),
        ("3", "b", "2024-02-07", 10.0, "Meta", None),
        ("4", "c", "2024-01-08", 30.0, "google", "Launch"),
        ("5", "d", "2024-01-09", 40.0, "GOOGLE ", "LAUNCH"),
        ("6", "e", "2024-01-10", 60.0, "Meta", "launch"),
    ]
    orders = orders_table(rows)
    channels = cohort_tables(orders, as_of=date(2024, 2, 29), by="channel")
    table = channels.cohorts.set_index(["cohort_month", "channel"])
    assert list(table.index) == [("2024-01", "Meta"), ("2024-01", "google")]
    assert table["customers"].tolist() == [1, 4]
    assert table.loc[("2024-01", "google"), "repeat_customers"] == 1  # b ordered again
    # (50 + 20 + 30 + 40) / 4 in month 0, b's 10 in month 1
    assert table.loc[("2024-01", "google"), ["ltv_m0", "ltv_m1"]].tolist() == [35.0, 37.5]
    retention = channels.retention.set_index(["channel", "months_since_acquisition"])
    assert retention.loc[("google", 1), "active_customers"] == 1
    codes = cohort_tables(orders, as_of=date(2024, 2, 29), by="discount_code").cohorts
    sizes = codes.set_index("discount_code")["customers"].to_dict()
    assert sizes == {"LAUNCH": 3, "SAVE10": 2}  # a tie: the first spelling in sort order
    # products are not made one: "Mug" and "mug" may be two products
    assert "first_product" not in ONE_SPELLING


def test_guests_only_or_nothing_before_as_of_gives_empty_tables():
    guests = orders_table([("1", None, "2024-01-05 10:00", 10.0, "web", None)])
    result = cohort_tables(guests, as_of="2024-02-01")
    assert result.cohorts.empty and result.retention.empty
    assert "customers" in result.cohorts.columns and "retention" in result.retention.columns
    assert result.repeat_rate is None
    assert result.notes == ["1 guest order left out"]


def test_default_as_of_is_the_last_order_date(shop):
    result = cohort_tables(shop, as_of=None)
    # last order 2024-04-01 (bob): bob's April order is now in, and dan is a March customer
    assert result.as_of == date(2024, 4, 1)
    table = result.cohorts.set_index("cohort_month")
    assert table.loc["2024-03", "customers"] == 2  # dan and eve
    assert table.loc["2024-01", "ltv_m3"] == (100.0 + 80.0) / 2


# -- days between orders -------------------------------------------------------------------------
def order_dates(gaps: list[int]) -> list[date]:
    """A customer's order dates: 2020-01-01, then each gap (in days) after the one before."""
    day = date(2020, 1, 1)
    stamps = [day]
    for gap in gaps:
        day = day + timedelta(days=gap)
        stamps.append(day)
    return stamps


def gap_orders(gaps_by_customer: dict[str, list[int]]) -> list[tuple]:
    rows = []
    for customer, gaps in gaps_by_customer.items():
        for n, stamp in enumerate(order_dates(gaps)):
            rows.append((f"{customer}{n}", customer, f"{stamp} 12:00", 1.0, None, None))
    return rows


def test_days_between_orders_histogram():
    # x: one gap in every bucket, each at a bucket edge; z: 14 and 31
    rows = gap_orders({"x": [7, 8, 30, 60, 90, 180, 365, 366], "z": [14, 31]})
    rows += [
        ("y1", "y", "2020-05-01 09:00", 1.0, None, None),  # two orders on one day: no gap
        ("y2", "y", "2020-05-01 18:00", 1.0, None, None),
        ("g1", None, "2020-05-02 09:00", 1.0, None, None),  # guests have no gaps
        ("g2", None, "2020-05-09 09:00", 1.0, None, None),
    ]
    frame = days_between_orders(orders_table(rows))
    assert frame["bucket"].tolist() == [label for label, _, _ in GAP_BUCKETS]
    # 0-7: 7; 8-14: 8, 14; 15-30: 30; 31-60: 60, 31; then one each
    assert frame["count"].tolist() == [1, 2, 1, 2, 1, 1, 1, 1]
    assert frame["share"].tolist() == pytest.approx([0.1, 0.2, 0.1, 0.2, 0.1, 0.1, 0.1, 0.1])
    # sorted 7 8 14 30 31 60 90 180 365 366: median (31 + 60) / 2, mean 1151 / 10
    assert frame.attrs["median_days"] == 45.5
    assert frame.attrs["mean_days"] == pytest.approx(115.1)
    assert frame.attrs["gaps"] == 10 and frame.attrs["customers"] == 2


def test_days_between_orders_ignore_orders_after_as_of():
    rows = gap_orders({"x": [10, 20]})  # 2020-01-01, 01-11, 01-31
    frame = days_between_orders(orders_table(rows), as_of="2020-01-20")
    assert frame["count"].tolist() == [0, 1, 0, 0, 0, 0, 0, 0]
    assert frame.attrs["median_days"] == 10.0
    empty = days_between_orders(orders_table(rows), as_of="2020-01-05")
    assert empty["count"].sum() == 0 and empty["share"].isna().all()
    assert empty.attrs["median_days"] is None and empty.attrs["gaps"] == 0


# -- churn threshold -----------------------------------------------------------------------------
def test_churn_threshold_on_a_constructed_history():
    # long ago, so every follow-up window is observed: 4 customers with a 10-day gap, 2 with
    # 45 days, 1 with 100 days; each also has an open gap after their second purchase day
    gaps = {f"a{i}": [10] for i in range(4)} | {f"b{i}": [45] for i in range(2)} | {"c": [100]}
    orders = orders_table(gap_orders(gaps))
    result = churn_threshold(orders, as_of="2030-01-01", max_months=4, min_points=1)
    # m = 0: 14 purchase days, 7 followed by another within 12 months: 0.5
    assert result["initial_repeat_probability"] == 0.5
    curve = {entry["months"]: entry for entry in result["curve"]}
    # m = 1 (30.4 days): gaps 45, 45, 100 and the 7 open ones; 3 come back
    assert (curve[1]["points"], curve[1]["repeats"], curve[1]["probability"]) == (10, 3, 0.3)
    assert curve[1]["customers"] == 7
    # m = 2 (60.9 days): the 100-day gap and the 7 open ones; 1 comes back: 0.125 <= 0.25
    assert (curve[2]["points"], curve[2]["repeats"]) == (8, 1)
    assert curve[2]["probability"] == 0.125
    assert curve[4]["probability"] == 0.0  # only open gaps are left
    assert result["threshold_months"] == 2


def test_purchase_days_given_by_the_caller_give_the_same_results():
    """growth_tables computes the purchase days once and hands them to both functions."""
    from valuecast.analysis.growth.history import known_orders, purchase_days

    gaps = {f"a{i}": [10, 200] for i in range(4)} | {f"b{i}": [45] for i in range(2)} | {"c": []}
    orders = orders_table(gap_orders(gaps))
    as_of = date(2030, 1, 1)
    days = purchase_days(known_orders(orders, as_of))
    assert churn_threshold(orders, as_of=as_of, days=days) == churn_threshold(orders, as_of=as_of)
    given = days_between_orders(orders, as_of=as_of, days=days)
    pd.testing.assert_frame_equal(given, days_between_orders(orders, as_of=as_of))
    assert given.attrs == days_between_orders(orders, as_of=as_of).attrs


def test_order_history_given_by_the_caller_gives_the_same_results(shop):
    """growth_tables computes the order history once for the cohorts and the growth stage."""
    from valuecast.analysis.growth.history import known_orders, order_history
    from valuecast.analysis.growth.stage import growth_stage, stage_to_dict

    history = order_history(known_orders(shop, AS_OF))
    given, computed = (
        cohort_tables(shop, as_of=AS_OF, history=history),
        cohort_tables(shop, as_of=AS_OF),
    )
    pd.testing.assert_frame_equal(given.cohorts, computed.cohorts)
    pd.testing.assert_frame_equal(given.retention, computed.retention)
    assert (given.customers, given.repeat_customers) == (4, 2)
    assert stage_to_dict(growth_stage(shop, as_of=AS_OF, history=history)) == stage_to_dict(
        growth_stage(shop, as_of=AS_OF)
    )
    # the history of every order (dan's after the as-of date too) would change them
    every = order_history(known_orders(shop, date(2030, 1, 1)))
    assert cohort_tables(shop, as_of=AS_OF, history=every).customers == 5


def test_order_history_flags_each_customer_month_and_day_once(shop):
    """Same-day orders (cat's two) are one purchase day; each flag marks one row."""
    from valuecast.analysis.growth.history import known_orders, order_history

    h = order_history(known_orders(shop, AS_OF)).to_pandas()
    h["month"] = pd.to_datetime(h["order_date"]).dt.to_period("M")
    per = h.groupby("customer_id")
    assert per["first_order"].sum().to_dict() == {"ann": 1, "bob": 1, "cat": 1, "eve": 1}
    assert per["repeat"].sum().to_dict() == {"ann": 1, "bob": 0, "cat": 1, "eve": 0}
    assert (h.groupby(["customer_id", "month"])["month_head"].sum() == 1).all()
    assert (h.groupby(["customer_id", "order_date"])["day_tail"].sum() == 1).all()
    tails = h[h["day_tail"]].sort_values(["customer_id", "order_date"])
    # ann: 5 Jan -> 20 Jan -> 2 Mar; the others have one purchase day each
    ann = tails[tails["customer_id"] == "ann"]["gap_days"]
    assert ann.iloc[:2].tolist() == [15, 42] and pd.isna(ann.iloc[2])
    assert tails["gap_days"].isna().sum() == 4  # every customer's last purchase day
    assert (h["first_date"].astype(str) == h["customer_id"].map(
        {"ann": "2024-01-05", "bob": "2024-01-10", "cat": "2024-02-03", "eve": "2024-03-10"}
    )).all()  # fmt: skip


def test_collect_together_returns_each_query_as_run_alone():
    from valuecast.analysis.growth.history import collect_together

    t = ibis.memtable(pd.DataFrame({"k": ["a", "b", "a"], "v": [1.5, 2.0, None], "n": [1, 2, 3]}))
    queries = {
        "by_k": t.group_by("k").aggregate(total=t.v.sum(), n=t.n.sum()).order_by("k"),
        "all": t.aggregate(n=t.count(), first=t.k.min()),
        "none": t.filter(t.n > 5).select("k", "n"),
    }
    got = collect_together(queries)
    for name, query in queries.items():
        expected = query.to_pyarrow().to_pandas()
        pd.testing.assert_frame_equal(got[name], expected, check_dtype=False)
        assert list(got[name].columns) == list(query.columns)
    with pytest.raises(ValueError, match="'n' has two types"):
        collect_together({"a": t.select("n"), "b": t.select(n=t.v)})


def test_growth_counts_collected_in_one_query_give_the_functions_results(shop):
    """growth_tables collects the cohort, gap and churn counts in one query."""
    from valuecast.analysis.growth.cohorts import (
        churn_from_counts,
        cohorts_from_cells,
        gaps_from_counts,
        growth_counts,
    )

    rows = SHOP + gap_orders({"a": [10, 200], "b": [45, 45], "c": []})
    orders, as_of = orders_table(rows), date(2024, 3, 15)
    counts = growth_counts(orders, as_of)
    alone = cohort_tables(orders, as_of=as_of)
    together = cohorts_from_cells(counts["cells"], as_of)
    pd.testing.assert_frame_equal(together.cohorts, alone.cohorts)
    pd.testing.assert_frame_equal(together.retention, alone.retention)
    assert (together.customers, together.repeat_customers) == (7, 4)  # ann, cat, a and b
    assert churn_from_counts(counts, as_of) == churn_threshold(orders, as_of=as_of)
    gaps = gaps_from_counts(counts["gaps"], as_of)
    pd.testing.assert_frame_equal(gaps, days_between_orders(orders, as_of=as_of))
    assert gaps.attrs == days_between_orders(orders, as_of=as_of).attrs
    assert gaps.attrs["customers"] == 3  # ann, a and b have a second purchase day


def test_churn_threshold_is_reached_at_exactly_half():
    # 2 customers with a 10-day gap, 1 with 45 days: P(0) = 3 / 6 = 0.5
    gaps = {"a1": [10], "a2": [10], "b": [45]}
    result = churn_threshold(orders_table(gap_orders(gaps)), as_of="2030-01-01", min_points=1)
    assert result["initial_repeat_probability"] == 0.5
    # m = 1: the 45-day gap (back) and the 3 open gaps: 1 / 4 = 0.25, exactly half
    assert result["curve"][0]["probability"] == 0.25
    assert result["threshold_months"] == 1


def test_churn_threshold_leaves_out_windows_not_yet_observed():
    rows = [
        ("1", "c1", "2024-01-01 10:00", 1.0, None, None),
        ("2", "c1", "2024-01-11 10:00", 1.0, None, None),  # gap 10
        ("3", "c2", "2024-01-01 10:00", 1.0, None, None),
        ("4", "c2", "2024-02-15 10:00", 1.0, None, None),  # gap 45
        ("5", "c3", "2024-12-20 10:00", 1.0, None, None),  # 11 days before as-of
    ]
    orders = orders_table(rows)
    result = churn_threshold(
        orders, as_of="2024-12-31", max_months=3, follow_up_months=1, min_points=1
    )
    # m = 0 with a 1-month window: c3's day is too recent to know; of the other 4 days only
    # c1's first is followed within 30.4 days: 1 / 4
    assert result["initial_repeat_probability"] == 0.25
    curve = {entry["months"]: entry for entry in result["curve"]}
    # m = 1: c2's 45-day gap (back before 60.9 days) and the two open gaps: 1 / 3
    assert (curve[1]["points"], curve[1]["repeats"]) == (3, 1)
    # m = 2: only the two open gaps, nobody back: 0 <= 0.125
    assert (curve[2]["points"], curve[2]["probability"]) == (2, 0.0)
    assert result["threshold_months"] == 2
    # with min_points 3, months 2 and 3 (2 points each) cannot decide: no threshold
    strict = churn_threshold(
        orders, as_of="2024-12-31", max_months=3, follow_up_months=1, min_points=3
    )
    assert strict["threshold_months"] is None
    # Adobe's uncensored ratio counts every day at m = 0: 2 of 5 followed by another
    adobe = churn_threshold(
        orders, as_of="2024-12-31", max_months=3, follow_up_months=None, min_points=1
    )
    assert adobe["initial_repeat_probability"] == 0.4
    assert adobe["curve"][0]["points"] == 3  # c3's open gap is 11 days: not yet a month
    assert adobe["threshold_months"] == 2  # 0 of 2 open gaps at 2 months <= 0.2


def test_churn_curve_counts_a_customer_whose_longest_wait_is_one_month():
    rows = [
        ("1", "a", "2024-10-20 10:00", 1.0, None, None),  # 72 days - 30.4: a point at m = 1
        ("2", "b", "2024-01-01 10:00", 1.0, None, None),  # a point up to m = 10
    ]
    result = churn_threshold(
        orders_table(rows), as_of="2024-12-31", max_months=3, follow_up_months=1, min_points=1
    )
    got = [(e["months"], e["points"], e["customers"]) for e in result["curve"]]
    assert got == [(1, 2, 2), (2, 1, 1), (3, 1, 1)]


def test_churn_threshold_without_enough_history():
    rows = gap_orders({"x": [10, 10]})
    result = churn_threshold(orders_table(rows), as_of="2020-03-01")
    assert result["initial_repeat_probability"] is None
    assert result["threshold_months"] is None
    assert all(entry["probability"] is None for entry in result["curve"])
    assert len(result["curve"]) == 24


def _churn_by_definition(gaps_by_customer, as_of, follow_up, max_months):
    """Points, repeats and customers per month, straight from churn_threshold's definition."""
    month = 365.25 / 12
    purchase_days = {
        customer: sorted(d for d in set(order_dates(gaps)) if d <= as_of)
        for customer, gaps in gaps_by_customer.items()
    }
    curve = {}
    for m in range(max_months + 1):
        mark = m * month
        points = repeats = 0
        customers = set()
        for customer, days in purchase_days.items():
            for i, day in enumerate(days):
                gap = (days[i + 1] - day).days if i + 1 < len(days) else None
                observed = (as_of - day).days
                if follow_up is None:
                    point = gap >= mark if gap is not None else observed >= mark
                    again = gap is not None and gap >= mark
                else:
                    end = mark + follow_up * month
                    point = (gap is None or gap >= mark) and observed >= end
                    again = point and gap is not None and gap < end
                points += point
                repeats += again
                if point:
                    customers.add(customer)
        curve[m] = (points, repeats, len(customers))
    return curve


@settings(max_examples=40, deadline=None)
@given(
    gaps=st.dictionaries(
        st.sampled_from([f"c{i}" for i in range(8)]),
        st.lists(st.integers(0, 500), max_size=5),
        min_size=1,
    ),
    as_of_days=st.integers(0, 2500),
    follow_up=st.sampled_from([None, 1, 3, 12]),
)
def test_churn_curve_counts_follow_the_definition(gaps, as_of_days, follow_up):
    as_of = date(2020, 1, 1) + timedelta(days=as_of_days)
    result = churn_threshold(
        orders_table(gap_orders(gaps)), as_of=as_of, follow_up_months=follow_up, max_months=30
    )
    expected = _churn_by_definition(gaps, as_of, follow_up, 30)
    got = {e["months"]: (e["points"], e["repeats"], e["customers"]) for e in result["curve"]}
    assert got == {m: expected[m] for m in range(1, 31)}
    points, repeats, _ = expected[0]
    assert result["initial_repeat_probability"] == (repeats / points if points else None)


def test_cohort_revenue_has_the_same_bits_whatever_order_the_orders_are_read_in():
    """A float sum's last bits follow the order of its terms: (0.1 + 0.2) + 0.3 is
    0.6000000000000001 and (0.3 + 0.2) + 0.1 is 0.6.  The cohorts' revenues are exact sums, so the
    order the engine reads the orders in (its threads, a table stored unsorted) changes nothing,
    down to a lifetime value's rounding to the cent."""
    from valuecast.analysis.growth.cohorts import growth_counts

    first = [(f"{c}1", c, "2024-01-05 10:00", 1.0, None, None) for c in ("a", "b", "c")]
    second = [
        (f"{c}2", c, "2024-02-05 10:00", v, None, None)
        for c, v in zip("abc", (0.1, 0.2, 0.3), strict=True)
    ]
    cells = []
    for rows in (first + second, first + second[::-1]):
        con = ibis.duckdb.connect(threads=1)  # one thread adds the rows in the order given
        orders = con.create_table("orders", orders_table(rows))
        found = growth_counts(orders, date(2024, 3, 31))["cells"]
        cells.append(found.sort_values(["cohort", "age"]).reset_index(drop=True))
    february = cells[0]["age"] == 1
    assert cells[0].loc[february, "revenue"].tolist() == [0.6]
    assert cells[0].loc[february, "returning_revenue"].tolist() == [0.6]
    pd.testing.assert_frame_equal(cells[0], cells[1], check_exact=True)
