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
    #   guests left out.  Median of 10, 14, 20 = 14, mean 44/3, 2 customers, 3 repeats.
    # Filter gaps: ann 15, dan 16 -> median 15.5 (cycle 16, halves up), mean 15.5.
    # Mug: only eve repeats (1 customer < 2): dropped.
    assert list(got["product"]) == ["Coffee", "Filter"]
    assert list(got.cycle_days) == [14, 16]
    assert list(got.median_days) == [14.0, 15.5]
    assert list(got.mean_days) == pytest.approx([44 / 3, 15.5])
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
    # bob's 02-20 Coffee counts: gaps 10, 20, 14, 36 -> median (14 + 20) / 2 = 17, mean 20
    coffee = got[got["product"] == "Coffee"].iloc[0]
    assert (coffee.median_days, coffee.mean_days, coffee.repeats) == (17.0, 20.0, 4)


def expected(rows):
    """Reminder rows ``(customer, product, last, cycle, due, days)`` of one item last bought,
    or ``(customer, product, last, items, cycle, due, days)``."""
    rows = [row if len(row) == 7 else (*row[:3], 1.0, *row[3:]) for row in rows]
    return [
        (customer, product, pd.Timestamp(last), items, cycle, pd.Timestamp(due), days)
        for customer, product, last, items, cycle, due, days in rows
    ]


def as_rows(frame):
    return [tuple(row) for row in frame.itertuples(index=False)]


def test_reminders_by_hand():
    orders, lines = shop(ORDERS, LINES)
    got = reminders(orders, lines, as_of=AS_OF, min_customers=2)
    assert list(got.columns) == list(REMINDER_COLUMNS)
    # Coffee (14 days, one item each time): fay 01-01 -> due 01-15, 26 days before 02-10; gil
    #   01-13 -> 01-27 (-14); bob 01-15 -> 01-29 (-12); cat 02-01 -> 02-15 (+5); ann bought 3 on
    #   01-31 (two lines in c3, one in c4): 3 x 14 days -> 03-13 (+32)
    # Filter (16 days): ann 01-16 -> 02-01 (-9); dan 01-17 -> 02-02 (-8)
    # Mug has no cycle; guests get no reminder.  Sorted by days until due.
    assert as_rows(got) == expected(
        [
            ("fay", "Coffee", "2024-01-01", 14, "2024-01-15", -26),
            ("gil", "Coffee", "2024-01-13", 14, "2024-01-27", -14),
            ("bob", "Coffee", "2024-01-15", 14, "2024-01-29", -12),
            ("ann", "Filter", "2024-01-16", 16, "2024-02-01", -9),
            ("dan", "Filter", "2024-01-17", 16, "2024-02-02", -8),
            ("cat", "Coffee", "2024-02-01", 14, "2024-02-15", 5),
            ("ann", "Coffee", "2024-01-31", 3.0, 14, "2024-03-13", 32),
        ]
    )


def test_reminders_due_within():
    orders, lines = shop(ORDERS, LINES)
    got = reminders(orders, lines, as_of=AS_OF, due_within=4, min_customers=2)
    # keep -cycle <= days until due <= 4: fay (-26 < -14) is more than a cycle late, cat (+5)
    # and ann's three coffees (+32) are not due within 4 days; gil (-14, exactly one cycle late)
    # is kept
    assert [(row.customer_id, row.product, row.days_until_due) for row in got.itertuples()] == [
        ("gil", "Coffee", -14),
        ("bob", "Coffee", -12),
        ("ann", "Filter", -9),
        ("dan", "Filter", -8),
    ]
    # due_within 0: nothing due in the future
    none_ahead = reminders(orders, lines, as_of=AS_OF, due_within=0, min_customers=2)
    assert list(none_ahead.days_until_due) == [-14, -12, -9, -8]
    with pytest.raises(ValueError, match="due_within"):
        reminders(orders, lines, as_of=AS_OF, due_within=-1)


def test_reminders_with_given_cycles():
    orders, lines = shop(ORDERS, LINES)
    cycles = pd.DataFrame({"product": ["Mug", "Tea"], "cycle_days": [30, 7]})
    got = reminders(orders, lines, as_of=AS_OF, cycles=cycles, due_within=30)
    # eve's last Mug 01-05 + 30 days = 02-04, 6 days before 02-10; nobody bought Tea
    assert as_rows(got) == expected([("eve", "Mug", "2024-01-05", 30, "2024-02-04", -6)])
    # the same as of 03-10: 02-04 is 35 days back, more than one 30-day cycle: dropped
    assert reminders(orders, lines, as_of="2024-03-10", cycles=cycles, due_within=30).empty


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
