"""Replenishment cycles and reminders, on a small shop computed by hand."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from valuecast.analysis.growth.replenishment import (
    CYCLE_COLUMNS,
    REMINDER_COLUMNS,
    reminders,
    replenishment_cycles,
)
from valuecast.io.schema import ORDER_LINES_SCHEMA, ORDERS_SCHEMA, conform


def shop(orders, lines):
    """``orders``: ``(order_id, customer_id or None, "YYYY-MM-DD")``; ``lines``: ``(order_id,
    product_name)``; as Ibis memtables with the canonical columns."""
    order_frame = conform(
        pd.DataFrame(
            {
                "order_id": [o[0] for o in orders],
                "customer_id": [o[1] for o in orders],
                "ordered_at": pd.to_datetime([o[2] for o in orders]) + pd.Timedelta(hours=9),
                "order_date": pd.to_datetime([o[2] for o in orders]),
                "net_revenue": 20.0,
            }
        ),
        ORDERS_SCHEMA,
    )
    line_frame = conform(
        pd.DataFrame(
            {
                "order_id": [line[0] for line in lines],
                "line_number": list(range(1, len(lines) + 1)),
                "product_name": [line[1] for line in lines],
                "quantity": 1.0,
            }
        ),
        ORDER_LINES_SCHEMA,
    )
    return ibis.memtable(order_frame), ibis.memtable(line_frame)


AS_OF = "2024-02-10"
ORDERS = [
    # Coffee
    ("c1", "ann", "2024-01-01"),
    ("c2", "ann", "2024-01-11"),
    ("c3", "ann", "2024-01-31"),
    ("c4", "ann", "2024-01-31"),  # a second order the same day: one purchase day
    ("c5", "bob", "2024-01-01"),
    ("c6", "bob", "2024-01-15"),
    ("c7", "bob", "2024-02-20"),  # after the as-of date
    ("c8", "cat", "2024-02-01"),  # one purchase: no gap
    ("c9", None, "2024-01-01"),  # guest
    ("c10", None, "2024-01-02"),  # guest
    ("c11", "fay", "2024-01-01"),
    ("c12", "gil", "2024-01-13"),
    # Filter
    ("f1", "ann", "2024-01-01"),
    ("f2", "ann", "2024-01-16"),
    ("f3", "dan", "2024-01-01"),
    ("f4", "dan", "2024-01-17"),
    # Mug: only one customer repeats it
    ("m1", "eve", "2024-01-01"),
    ("m2", "eve", "2024-01-05"),
]
LINES = [(order_id, "Coffee") for order_id, *_ in ORDERS if order_id.startswith("c")]
LINES += [("c3", "Coffee")]  # the same product twice in one order
LINES += [(order_id, "Filter") for order_id, *_ in ORDERS if order_id.startswith("f")]
LINES += [(order_id, "Mug") for order_id, *_ in ORDERS if order_id.startswith("m")]


def test_cycles_by_hand():
    orders, lines = shop(ORDERS, LINES)
    got = replenishment_cycles(orders, lines, as_of=AS_OF, min_customers=2)
    assert list(got.columns) == list(CYCLE_COLUMNS)
    # Coffee gaps: ann 01-01 -> 01-11 -> 01-31 (the two 01-31 orders are one day): 10, 20;
    #   bob 01-01 -> 01-15: 14 (02-20 is after the as-of date); cat, fay, gil: one day;
    #   guests left out.  Each customer counts once: ann's median and mean 15, bob's 14 ->
    #   median of the customers' medians 14.5 (cycle 15, halves up), mean of their means 14.5,
    #   2 customers, 3 repeats.
    # Filter gaps: ann 15, dan 16 -> median 15.5 (cycle 16), mean 15.5.
    # Mug: only eve repeats (1 customer < 2): dropped.
    assert list(got["product"]) == ["Coffee", "Filter"]
    assert list(got.cycle_days) == [15, 16]
    assert list(got.median_days) == [14.5, 15.5]
    assert list(got.mean_days) == pytest.approx([14.5, 15.5])
    assert list(got.customers_repeating) == [2, 2]
    assert list(got.repeats) == [3, 2]


def test_cycles_minimum_customers():
    orders, lines = shop(ORDERS, LINES)
    with_mug = replenishment_cycles(orders, lines, as_of=AS_OF, min_customers=1)
    # Mug: eve 01-01 -> 01-05 = 4 days; sorted by customers repeating, then name
    assert list(with_mug["product"]) == ["Coffee", "Filter", "Mug"]
    assert with_mug.iloc[2][["cycle_days", "customers_repeating", "repeats"]].tolist() == [4, 1, 1]
    # the default minimum is 5 customers: nothing here qualifies
    default = replenishment_cycles(orders, lines, as_of=AS_OF)
    assert default.empty and list(default.columns) == list(CYCLE_COLUMNS)
    assert reminders(orders, lines, as_of=AS_OF).empty
    with pytest.raises(ValueError, match="min_customers"):
        replenishment_cycles(orders, lines, as_of=AS_OF, min_customers=0)


def test_cycles_as_of_includes_later_orders():
    orders, lines = shop(ORDERS, LINES)
    got = replenishment_cycles(orders, lines, as_of="2024-02-20", min_customers=2)
    # bob's 02-20 Coffee counts: ann's gaps 10, 20 (median and mean 15), bob's 14, 36 (25) ->
    # median and mean of the customers' (15 + 25) / 2 = 20, 4 repeats
    coffee = got[got["product"] == "Coffee"].iloc[0]
    assert (coffee.median_days, coffee.mean_days, coffee.repeats) == (20.0, 20.0, 4)


def expected(rows):
    """Reminder rows ``(customer, product, last, cycle, product cycle, due, days)`` of one item
    last bought, or ``(customer, product, last, items, cycle, product cycle, due, days)``."""
    rows = [row if len(row) == 8 else (*row[:3], 1.0, *row[3:]) for row in rows]
    return [
        (
            customer,
            product,
            pd.Timestamp(last),
            items,
            cycle,
            product_cycle,
            (pd.Timestamp(due) - pd.Timestamp(last)).days,  # the days the items last
            pd.Timestamp(due),
            days,
        )
        for customer, product, last, items, cycle, product_cycle, due, days in rows
    ]


def as_rows(frame):
    return [tuple(row) for row in frame.itertuples(index=False)]


def test_reminders_by_hand():
    orders, lines = shop(ORDERS, LINES)
    got = reminders(orders, lines, as_of=AS_OF, min_customers=2)
    assert list(got.columns) == list(REMINDER_COLUMNS)
    # Coffee's item lasts the median of ann's 15 and bob's 14 days = 14.5 (15 days, halves up;
    # cycle 15): fay 01-01 -> due 01-16, 25 days before 02-10; gil 01-13 -> 01-28 (-13); cat
    # 02-01 -> 02-16 (+6).  A customer with n repeats is due on (n x their own + the
    # product's) / (n + 1): bob (one gap of 14) an item (14 + 14.5) / 2 = 14.25 (14 days),
    # cycle (14 + 15) / 2 = 14.5 -> 15: 01-15 -> 01-29 (-12); ann (10 and 20 days after one
    # item: 15 an item) (2 x 15 + 14.5) / 3 = 14.83 an item, cycle (2 x 15 + 15) / 3 = 15;
    # she bought 3 on 01-31 (two lines in c3, one in c4): 44.5 -> 45 days -> 03-16 (+35)
    # Filter (15.5 an item, cycle 16): ann (15 days) an item (15 + 15.5) / 2 = 15.25 (15
    # days), cycle (15 + 16) / 2 = 15.5 -> 16: 01-16 -> 01-31 (-10); dan (16 days) 15.75 an
    # item (16 days), cycle 16: 01-17 -> 02-02 (-8) (the product's cycle beside each).  Mug has no cycle; guests get no reminder.  Sorted by
    # days until due.
    assert as_rows(got) == expected(
        [
            ("fay", "Coffee", "2024-01-01", 15, 15, "2024-01-16", -25),
            ("gil", "Coffee", "2024-01-13", 15, 15, "2024-01-28", -13),
            ("bob", "Coffee", "2024-01-15", 15, 15, "2024-01-29", -12),
            ("ann", "Filter", "2024-01-16", 16, 16, "2024-01-31", -10),
            ("dan", "Filter", "2024-01-17", 16, 16, "2024-02-02", -8),
            ("cat", "Coffee", "2024-02-01", 15, 15, "2024-02-16", 6),
            ("ann", "Coffee", "2024-01-31", 3.0, 15, 15, "2024-03-16", 35),
        ]
    )


def test_reminders_due_within():
    orders, lines = shop(ORDERS, LINES)
    got = reminders(orders, lines, as_of=AS_OF, due_within=12, min_customers=2)
    # keep those due within 12 days of 02-10, before or after it: gil (-13) ran out 13 days
    # ago and fay (-25) 25 days ago: they have had their reminder; ann's three coffees (+35)
    # are not due yet
    assert [(row.customer_id, row.product, row.days_until_due) for row in got.itertuples()] == [
        ("bob", "Coffee", -12),
        ("ann", "Filter", -10),
        ("dan", "Filter", -8),
        ("cat", "Coffee", 6),
    ]
    # due_within 9: within 9 days either way
    nine = reminders(orders, lines, as_of=AS_OF, due_within=9, min_customers=2)
    assert list(nine.days_until_due) == [-8, 6]
    # due_within 0: those due on the as-of date alone
    assert reminders(orders, lines, as_of=AS_OF, due_within=0, min_customers=2).empty
    with pytest.raises(ValueError, match="due_within"):
        reminders(orders, lines, as_of=AS_OF, due_within=-1)


def test_reminders_with_given_cycles():
    orders, lines = shop([*ORDERS, ("m3", "hal", "2024-01-20")], [*LINES, ("m3", "Mug")])
    cycles = pd.DataFrame({"product": ["Mug", "Tea"], "cycle_days": [30, 7]})
    got = reminders(orders, lines, as_of=AS_OF, cycles=cycles)
    # hal bought one Mug 01-20: + the given 30 days = 02-19, 9 days after 02-10; eve re-bought
    # it once, 4 days after 01-01, so her cycle is (4 + 30) / 2 = 17 days: 01-05 -> 01-22
    # (-19), not her single gap of 4; nobody bought Tea
    assert as_rows(got) == expected(
        [
            ("eve", "Mug", "2024-01-05", 17, 30, "2024-01-22", -19),
            ("hal", "Mug", "2024-01-20", 30, 30, "2024-02-19", 9),
        ]
    )
    # eve is 19 days late, within the 30 days looked either way but more than her 17-day
    # cycle: not kept
    kept = reminders(orders, lines, as_of=AS_OF, cycles=cycles, due_within=30)
    assert list(kept.customer_id) == ["hal"]
    # as of 03-20 hal's 02-19 is exactly one 30-day cycle back (kept); a day later, dropped
    late = reminders(orders, lines, as_of="2024-03-20", cycles=cycles, due_within=30)
    assert list(zip(late.customer_id, late.days_until_due, strict=True)) == [("hal", -30)]
    assert reminders(orders, lines, as_of="2024-03-21", cycles=cycles, due_within=30).empty
    # looking 14 days either way, hal is kept 14 days after his due date, not 15
    fortnight = reminders(orders, lines, as_of="2024-03-04", cycles=cycles, due_within=14)
    assert list(zip(fortnight.customer_id, fortnight.days_until_due, strict=True)) == [("hal", -14)]
    assert reminders(orders, lines, as_of="2024-03-05", cycles=cycles, due_within=14).empty


def test_a_customer_who_bought_more_items_is_due_later():
    """Tea lasts 30 days an item: three customers re-buy one after 30 days, one buys two after
    60; zoe's last order held three teas, so she is due 90 days after it, not 30."""
    orders = [("t1", "ann", "2024-01-01"), ("t2", "ann", "2024-01-31"),
              ("t3", "bob", "2024-01-01"), ("t4", "bob", "2024-01-31"),
              ("t5", "cat", "2024-01-01"), ("t6", "cat", "2024-03-01"),
              ("t7", "zoe", "2024-03-01")]  # fmt: skip
    order_table, _ = shop(orders, [])
    items = {"t5": 2.0, "t7": 3.0}
    line_frame = conform(
        pd.DataFrame(
            {
                "order_id": [o[0] for o in orders],
                "line_number": 1,
                "product_name": "Tea",
                "quantity": [items.get(o[0], 1.0) for o in orders],
            }
        ),
        ORDER_LINES_SCHEMA,
    )
    lines = ibis.memtable(line_frame)
    cycles = replenishment_cycles(order_table, lines, as_of="2024-03-01", min_customers=2)
    # gaps 30, 30 and 60 (after two items): the median gap is 30 days, and so is an item's
    assert cycles[["product", "cycle_days", "days_per_item"]].values.tolist() == [["Tea", 30, 30.0]]
    got = reminders(order_table, lines, as_of="2024-03-01", cycles=cycles)
    zoe = got[got["customer_id"] == "zoe"].iloc[0]
    assert (zoe.last_quantity, zoe.due_date, zoe.days_until_due) == (
        3.0, pd.Timestamp("2024-05-30"), 90
    )  # fmt: skip


def test_another_size_of_a_product_continues_its_cycle():
    """A customer who takes the 1kg bag after the 250g one re-bought the coffee: the sizes
    (``Coffee - 250g``, ``Coffee - 1kg``) are one product re-bought, named by its title."""
    orders = [("k1", "ann", "2024-01-01"), ("k2", "ann", "2024-01-21"),
              ("k3", "bob", "2024-01-01"), ("k4", "bob", "2024-01-21"),
              ("k5", "cat", "2024-01-05")]  # fmt: skip
    lines = [("k1", "Coffee - 250g"), ("k2", "Coffee - 1kg"), ("k3", "Coffee - 1kg"),
             ("k4", "Coffee - 250g"), ("k5", "Coffee - 1kg"), ("k5", "Vitamin C - 500mg")]  # fmt: skip
    order_table, line_table = shop(orders, lines)
    cycles = replenishment_cycles(order_table, line_table, as_of="2024-01-21", min_customers=2)
    assert cycles[["product", "cycle_days", "customers_repeating"]].values.tolist() == [
        ["Coffee", 20, 2]
    ]
    got = reminders(order_table, line_table, as_of="2024-01-21", cycles=cycles)
    assert list(zip(got["customer_id"], got["product"], got["days_until_due"], strict=True)) == [
        ("cat", "Coffee", 4), ("ann", "Coffee", 20), ("bob", "Coffee", 20)
    ]  # fmt: skip


def test_a_heavy_buyer_does_not_set_everyone_s_cycle():
    """Six customers re-buy the beans every 30 days and a café every 3: each customer counts
    once in the cycle (30 days, not the café's 3), and everyone is due on their own rhythm, so
    the monthly customers are not all "more than a cycle overdue" and left out."""
    start = pd.Timestamp("2024-01-01")
    orders = []
    for number, customer in enumerate(["ann", "bob", "cat", "dan", "eve", "fay"]):
        first = start + pd.Timedelta(days=number)
        orders += [(f"{customer}{k}", customer, str((first + pd.Timedelta(days=30 * k)).date()))
                   for k in range(3)]  # fmt: skip
    orders += [
        (f"cafe{k}", "cafe", str((start + pd.Timedelta(days=3 * k)).date())) for k in range(25)
    ]
    order_table, line_table = shop(orders, [(order[0], "Beans") for order in orders])
    as_of = "2024-03-12"  # ann last bought 03-01, fay 03-06; the café 03-13 is after it
    cycles = replenishment_cycles(order_table, line_table, as_of=as_of)
    # ann..fay: gaps 30, 30 (median 30); the café: 23 gaps of 3 by 03-10 (median 3) -> 30
    assert cycles[["product", "cycle_days", "customers_repeating", "repeats"]].values.tolist() == [
        ["Beans", 30, 7, 35]
    ]
    got = reminders(order_table, line_table, as_of=as_of, due_within=14)
    # ann 03-01 + (2 x 30 + 30) / 3 = 30 days = 03-31 (+19) .. fay 03-06 -> 04-05 (+24): not
    # due within 14 days; the café (23 gaps of 3) (23 x 3 + 30) / 24 = 4.125 -> 4 days:
    # 03-10 -> 03-14 (+2)
    assert list(zip(got.customer_id, got.cycle_days, got.days_until_due, strict=True)) == [
        ("cafe", 4, 2)
    ]
    # twenty days on the monthly customers are due (ann -1 .. fay +4), none left out as lapsed
    later = reminders(order_table, line_table, as_of="2024-04-01", due_within=14)
    monthly = later[later.customer_id != "cafe"]
    assert list(zip(monthly.customer_id, monthly.days_until_due, strict=True)) == [
        ("ann", -1), ("bob", 0), ("cat", 1), ("dan", 2), ("eve", 3), ("fay", 4)
    ]  # fmt: skip
