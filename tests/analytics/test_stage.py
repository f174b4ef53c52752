"""The growth stage: the documented table, its fallbacks, and the evidence, on built shops."""

from __future__ import annotations

import json
from datetime import date, timedelta

import ibis
import pandas as pd
import pytest

from valuecast.analysis.growth.stage import (
    NO_SALES,
    STAGES,
    format_stage,
    growth_stage,
    stage_for,
    stage_to_dict,
)


def shop(first: date, recent: list[date], customer=None) -> ibis.Table:
    """One order on ``first`` plus one order on each of ``recent`` (guests unless named)."""
    days = [first, *recent]
    frame = pd.DataFrame(
        {
            "order_id": [str(n) for n in range(len(days))],
            "customer_id": pd.array(
                [customer(n) if customer else None for n in range(len(days))], dtype="string"
            ),
            "order_date": pd.to_datetime(days),
            "net_revenue": 1.0,
        }
    )
    frame["ordered_at"] = frame["order_date"]
    return ibis.memtable(frame)


def every_day(as_of: date, days: int, per_day: int) -> list[date]:
    """``per_day`` orders on each of the ``days`` days ending on ``as_of``."""
    return [as_of - timedelta(days=k) for k in range(days) for _ in range(per_day)]


# -- the table ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "age, rate, expected",
    [
        (None, 0.0, "just started"),
        (0, 1 / 7, "gaining traction"),
        (59, 0.5, "gaining traction"),
        (60, 1.0, "consistent"),
        (119, 9.9, "consistent"),
        (120, 10.0, "established"),
        (364, 25.0, "established"),
        (365, 10.0, "well established"),
        (365, 9.99, "consistent"),
        (2000, 0.0, "gaining traction"),  # old shop without recent orders
    ],
)
def test_stage_table(age, rate, expected):
    assert stage_for(age, rate)[0].name == expected


def test_stage_shares_are_the_documented_ones():
    assert NO_SALES.retention_share == 0.0
    assert [(s.name, s.retention_share) for s in STAGES] == [
        ("gaining traction", 0.15),
        ("consistent", 0.30),
        ("established", 0.50),
        ("well established", 0.60),
    ]


def test_young_fast_and_old_slow_shops_fall_back_with_a_note():
    stage, notes = stage_for(20, 12.0)  # 12 a day in its first month
    assert stage.name == "gaining traction"
    assert len(notes) == 1 and "young for it" in notes[0]
    # a shop whose orders all fall on the as-of day is on its first day, not "at 0 days"
    stage, notes = stage_for(0, 12.0)
    assert stage.name == "gaining traction"
    assert "but on its first day of orders the shop is young for it" in notes[0]
    assert "at 1 day the shop is young for it" in stage_for(1, 12.0)[1][0]
    stage, notes = stage_for(3 * 365, 2 / 7)  # two orders a week after three years
    assert stage.name == "gaining traction"
    assert len(notes) == 1 and "follows the order rate" in notes[0]
    assert stage_for(90, 1.5)[1] == []  # consistent, nothing held back
    with pytest.raises(ValueError):
        stage_for(10, -1.0)


# -- on shops -------------------------------------------------------------------------------------
AS_OF = date(2024, 3, 31)


def test_just_started_when_nothing_was_sold_by_as_of():
    result = growth_stage(shop(date(2024, 5, 1), []), as_of=AS_OF)
    assert result["stage"] == "just started" and result["retention_share"] == 0.0
    assert result["shop_age_days"] is None and result["orders"] == 0
    assert result["orders_per_day"] == 0.0 and result["monthly_revenue"].empty
    # the orders are there, after the as-of date: "no sales yet" says why
    assert result["notes"][0] == (
        "the as-of date 2024-03-31 is before the first order (2024-05-01): no sale is counted"
    )


def test_young_shop_rate_uses_the_days_open():
    # first order 2024-03-22: 9 days old, open 10 days; 4 more orders: 5 / 10 = 0.5 a day
    recent = [date(2024, 3, d) for d in (24, 26, 28, 31)]
    result = growth_stage(shop(date(2024, 3, 22), recent), as_of=AS_OF)
    assert result["shop_age_days"] == 9 and result["rate_window_days"] == 10
    assert result["recent_orders"] == 5 and result["orders_per_day"] == 0.5
    assert result["orders_per_week"] == 3.5
    assert result["stage"] == "gaining traction" and result["retention_effort"] == "at least 15%"


def test_consistent_established_and_well_established():
    # 2024-01-01 to 03-31 is 90 days; 28 orders in the last 28 days = 1 a day
    result = growth_stage(shop(date(2024, 1, 1), every_day(AS_OF, 28, 1)), as_of=AS_OF)
    assert (result["shop_age_days"], result["recent_orders"]) == (90, 28)
    assert result["stage"] == "consistent" and result["retention_share"] == 0.30
    # 2023-11-01 to 2024-03-31: 30 + 31 + 31 + 29 + 30 = 151 days; 10 a day
    result = growth_stage(shop(date(2023, 11, 1), every_day(AS_OF, 28, 10)), as_of=AS_OF)
    assert result["shop_age_days"] == 151 and result["orders_per_day"] == 10.0
    assert result["stage"] == "established" and result["retention_share"] == 0.50
    # 2023-01-01 to 2024-03-31: 365 + 90 = 455 days; 10 a day
    result = growth_stage(shop(date(2023, 1, 1), every_day(AS_OF, 28, 10)), as_of=AS_OF)
    assert result["shop_age_days"] == 455
    assert result["stage"] == "well established" and result["retention_share"] == 0.60
    assert result["acquisition_share"] == 0.4


def test_fallbacks_on_shops():
    # 10 a day in the first 28 days: young for it
    young = growth_stage(shop(AS_OF - timedelta(days=27), every_day(AS_OF, 28, 10)), as_of=AS_OF)
    assert young["shop_age_days"] == 27 and young["recent_orders"] == 281
    assert young["stage"] == "gaining traction"
    assert any("young for it" in note for note in young["notes"])
    # 8 orders in 28 days after three years: 2 a week
    slow = growth_stage(
        shop(date(2021, 1, 1), [AS_OF - timedelta(days=3 * k) for k in range(8)]), as_of=AS_OF
    )
    assert slow["orders_per_week"] == pytest.approx(2.0)
    assert slow["stage"] == "gaining traction"
    assert any("follows the order rate" in note for note in slow["notes"])
    # nothing in the last 28 days
    quiet = growth_stage(shop(date(2021, 1, 1), [date(2023, 6, 1)]), as_of=AS_OF)
    assert quiet["stage"] == "gaining traction" and quiet["recent_orders"] == 0
    assert "no orders in the last 28 days" in quiet["notes"]


def test_evidence_new_vs_returning_revenue_and_repeat_rate():
    rows = [
        ("ann", "2024-01-05", 10.0),  # ann's first day: new
        ("ann", "2024-01-05", 5.0),  # same day: new too
        ("ann", "2024-03-10", 20.0),  # returning
        ("bob", "2024-01-20", 7.0),  # new
        ("cat", "2024-03-01", 4.0),  # new
        (None, "2024-03-02", 100.0),  # guest: not in the split
        ("bob", "2024-04-02", 50.0),  # after as-of: ignored
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "net_revenue"])
    frame["customer_id"] = frame["customer_id"].astype("string")
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["order_id"] = [str(n) for n in range(len(frame))]
    result = growth_stage(ibis.memtable(frame), as_of=AS_OF, cac_ratio=2.5)
    monthly = result["monthly_revenue"]
    assert monthly["month"].tolist() == ["2024-01", "2024-02", "2024-03"]
    assert monthly["new_revenue"].tolist() == [22.0, 0.0, 4.0]  # 10 + 5 + 7; -; 4
    assert monthly["returning_revenue"].tolist() == [0.0, 0.0, 20.0]
    assert monthly["returning_share"].iloc[0] == 0.0
    assert pd.isna(monthly["returning_share"].iloc[1])  # no revenue in February
    assert monthly["returning_share"].iloc[2] == 20.0 / 24.0
    # ann has 3 orders, bob 1 (his April order is ignored), cat 1
    assert (result["customers"], result["repeat_customers"]) == (3, 1)
    assert result["repeat_rate"] == pytest.approx(1 / 3)
    assert result["orders"] == 6  # the guest order counts for the shop's activity
    assert result["clv_cac_ratio"] == 2.5
    assert any("below 3" in note for note in result["notes"])
    unknown = growth_stage(ibis.memtable(frame), as_of=AS_OF)
    assert unknown["clv_cac_ratio"] is None
    assert any("no marketing spend" in note for note in unknown["notes"])
    with pytest.raises(ValueError):
        growth_stage(ibis.memtable(frame), as_of=AS_OF, cac_ratio=float("nan"))


def test_the_returning_share_line_says_guest_orders_are_left_out_of_it():
    # ann and bob buy twice, a guest once a month: the guest's 100s are neither new nor returning
    rows = [("ann", "2024-01-05"), ("ann", "2024-02-10"), ("bob", "2024-02-01"),
            ("bob", "2024-03-03"), (None, "2024-01-10"), (None, "2024-02-10"),
            (None, "2024-03-10")]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date"])
    frame["customer_id"] = frame["customer_id"].astype("string")
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["net_revenue"] = [10.0, 10.0, 10.0, 10.0, 100.0, 100.0, 100.0]
    frame["order_id"] = [str(n) for n in range(len(frame))]
    result = growth_stage(ibis.memtable(frame), as_of=AS_OF)
    assert result["guest_orders"] == 3
    assert result["monthly_revenue"]["returning_share"].tolist() == [0.0, 0.5, 1.0]
    assert (
        "returning customers' share of customers' net revenue (3 guest orders left out): "
        "2024-01 0%, 2024-02 50%, 2024-03 100%"
    ) in format_stage(result)
    named = frame[frame["customer_id"].notna()]
    lines = format_stage(growth_stage(ibis.memtable(named), as_of=AS_OF))
    assert "returning customers' share of net revenue: 2024-01 0%, 2024-02 50%, 2024-03 100%" in (
        lines
    )


def test_the_returning_share_line_marks_the_month_the_as_of_date_cuts_short():
    # as of 10 March, March's share is of ten days' orders: the line says so
    rows = [("ann", "2024-01-05"), ("ann", "2024-02-10"), ("bob", "2024-02-01"),
            ("bob", "2024-03-03")]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date"])
    frame["customer_id"] = frame["customer_id"].astype("string")
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["net_revenue"] = 10.0
    frame["order_id"] = [str(n) for n in range(len(frame))]
    lines = format_stage(growth_stage(ibis.memtable(frame), as_of=date(2024, 3, 10)))
    assert (
        "returning customers' share of net revenue: 2024-01 0%, 2024-02 50%, "
        "2024-03 100% (10 of 31 days so far)"
    ) in lines


def test_format_and_json():
    result = growth_stage(shop(date(2024, 1, 1), every_day(AS_OF, 28, 1)), as_of=AS_OF)
    lines = format_stage(result)
    assert lines[0].startswith("stage: consistent")
    assert "at least 30% on retention" in lines[1]
    assert "90 days" in lines[2] and "1.00 a day" in lines[2]
    # guests only: no customers, so no repeat-rate line and no new/returning split
    assert result["repeat_rate"] is None and result["monthly_revenue"].empty
    assert not any(line.startswith("repeat rate") for line in lines)
    named = growth_stage(
        shop(date(2024, 2, 1), [date(2024, 3, 5)], customer=lambda n: "ann"), as_of=AS_OF
    )
    data = json.loads(json.dumps(stage_to_dict(named)))
    # ann: 1 on 2024-02-01 (new), 1 on 2024-03-05 (returning)
    assert data["repeat_rate"] == 1.0
    assert data["monthly_revenue"] == [
        {"month": "2024-02", "new_revenue": 1.0, "returning_revenue": 0.0, "returning_share": 0.0},
        {"month": "2024-03", "new_revenue": 0.0, "returning_revenue": 1.0, "returning_share": 1.0},
    ]
    assert "repeat rate: 100.0% (1 of 1 customers with 2+ orders)" in format_stage(named)
    started = format_stage(growth_stage(shop(date(2025, 1, 1), []), as_of=AS_OF))
    assert started[0] == "stage: just started (no sales yet)"


def test_the_stage_as_json_writes_money_to_the_cent():
    monthly = pd.DataFrame(
        {"month": ["2024-01"], "new_revenue": [0.1 + 0.2], "returning_revenue": [3185.2799999999997],
         "returning_share": [float("nan")]}
    )  # fmt: skip
    out = stage_to_dict({"stage": "x", "monthly_revenue": monthly})
    assert out["monthly_revenue"] == [
        {"month": "2024-01", "new_revenue": 0.3, "returning_revenue": 3185.28,
         "returning_share": None}
    ]  # fmt: skip


def test_a_shops_age_takes_the_article_its_number_is_said_with():
    from valuecast.analysis.growth.stage import aged_shop

    said = {86: "an 86-day-old shop", 8: "an 8-day-old shop", 11: "an 11-day-old shop",
            18: "an 18-day-old shop", 800: "an 800-day-old shop", 120: "a 120-day-old shop",
            1: "a 1-day-old shop", 181: "a 181-day-old shop", 3634: "a 3,634-day-old shop",
            11_500: "an 11,500-day-old shop", 85.6: "an 86-day-old shop",
            0: "a shop on its first day of orders",
            0.4: "a shop on its first day of orders"}  # fmt: skip
    assert {days: aged_shop(days) for days in said} == said


def test_one_recent_order_is_one_order_in_the_stages_lines():
    import pandas as pd

    from valuecast.analysis.growth.stage import format_stage

    result = {"stage": "launch", "description": "first orders", "retention_share": 0.1,
              "retention_effort": "10%", "shop_age_days": 86, "first_order_date": "2024-01-01",
              "recent_orders": 1, "rate_window_days": 28, "orders_per_day": 0.04,
              "orders_per_week": 0.25, "repeat_rate": None, "clv_cac_ratio": None,
              "monthly_revenue": pd.DataFrame(), "notes": []}  # fmt: skip
    lines = format_stage(result)
    assert any(line.endswith("; 1 order in the last 28 days (0.04 a day, 0.2 a week)")
               for line in lines), lines  # fmt: skip
    # a shop whose first order was the day before the as-of date is 1 day old, not "1 days"
    lines = format_stage({**result, "shop_age_days": 1, "rate_window_days": 2})
    assert any(line.startswith("shop age: 1 day (first order 2024-01-01);") for line in lines)


# -- a shop slowing down ---------------------------------------------------------------------------
def test_a_shop_slowing_down_is_named_beside_the_stage_its_rate_reads():
    # 2 a day a year ago in these days, 8 in the last 28 days now (2 a week)
    year_ago = AS_OF - timedelta(days=365)
    orders = every_day(year_ago, 28, 2) + [AS_OF - timedelta(days=3 * k) for k in range(8)]
    slowing = growth_stage(shop(date(2021, 1, 1), orders), as_of=AS_OF)
    assert slowing["stage"] == "gaining traction"
    [note] = [note for note in slowing["notes"] if "fell" in note]
    assert note.startswith(
        "orders fell to 8 in the last 28 days from 56 in the same days a year before "
        "(0.29 a day against 2.00)"
    )
    assert "a year ago that rate made a 'consistent' shop" in note


def test_a_season_low_a_few_orders_and_a_steady_shop_are_no_slowdown():
    year_ago = AS_OF - timedelta(days=365)
    slow_now = [AS_OF - timedelta(days=3 * k) for k in range(8)]
    # the same low season a year before: 8 then, 8 now
    season = [year_ago - timedelta(days=3 * k) for k in range(8)] + slow_now
    # a small shop: 19 orders then, 2 now (below SLOWDOWN_FROM then)
    small = every_day(year_ago, 19, 1) + slow_now[:2]
    # half as many, not fewer: 56 then, 28 now
    half = every_day(year_ago, 28, 2) + every_day(AS_OF, 28, 1)
    for orders in (season, small, half):
        result = growth_stage(shop(date(2021, 1, 1), orders), as_of=AS_OF)
        assert not [note for note in result["notes"] if "fell" in note], result["notes"]


def test_a_fall_within_the_same_stage_is_noted_without_the_stage_it_was():
    # 30 a day then, 12 a day now: well established both times
    year_ago = AS_OF - timedelta(days=365)
    orders = every_day(year_ago, 28, 30) + every_day(AS_OF, 28, 12)
    result = growth_stage(shop(date(2021, 1, 1), orders), as_of=AS_OF)
    assert result["stage"] == "well established"
    [note] = [note for note in result["notes"] if "fell" in note]
    assert note == (
        "orders fell to 336 in the last 28 days from 840 in the same days a year before "
        "(12.00 a day against 30.00)"
    )


def test_a_shop_younger_than_a_year_and_a_window_has_no_year_before():
    as_of = date(2021, 1, 1) + timedelta(days=365 + 26)  # the window a year back starts too early
    orders = every_day(as_of - timedelta(days=365), 27, 3) + [as_of]
    result = growth_stage(shop(date(2021, 1, 1), orders), as_of=as_of)
    assert not [note for note in result["notes"] if "fell" in note]
