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
    return [
        (customer, product, pd.Timestamp(last), cycle, pd.Timestamp(due), days)
        for customer, product, last, cycle, due, days in rows
    ]


def as_rows(frame):
    return [tuple(row) for row in frame.itertuples(index=False)]


def test_reminders_by_hand():
    orders, lines = shop(ORDERS, LINES)
    got = reminders(orders, lines, as_of=AS_OF, min_customers=2)
    assert list(got.columns) == list(REMINDER_COLUMNS)
    # Coffee (14 days): fay 01-01 -> due 01-15, 26 days before 02-10; gil 01-13 -> 01-27 (-14);
    #   bob 01-15 -> 01-29 (-12); ann 01-31 -> 02-14 (+4); cat 02-01 -> 02-15 (+5)
    # Filter (16 days): ann 01-16 -> 02-01 (-9); dan 01-17 -> 02-02 (-8)
    # Mug has no cycle; guests get no reminder.  Sorted by days until due.
    assert as_rows(got) == expected(
        [
            ("fay", "Coffee", "2024-01-01", 14, "2024-01-15", -26),
            ("gil", "Coffee", "2024-01-13", 14, "2024-01-27", -14),
            ("bob", "Coffee", "2024-01-15", 14, "2024-01-29", -12),
            ("ann", "Filter", "2024-01-16", 16, "2024-02-01", -9),
            ("dan", "Filter", "2024-01-17", 16, "2024-02-02", -8),
            ("ann", "Coffee", "2024-01-31", 14, "2024-02-14", 4),
            ("cat", "Coffee", "2024-02-01", 14, "2024-02-15", 5),
        ]
    )


def test_reminders_due_within():
    orders, lines = shop(ORDERS, LINES)
    got = reminders(orders, lines, as_of=AS_OF, due_within=4, min_customers=2)
    # keep -cycle <= days until due <= 4: fay (-26 < -14) is more than a cycle late, cat (+5) is
    # not due within 4 days; gil (-14, exactly one cycle late) and ann's Coffee (+4) are kept
    assert [(row.customer_id, row.product, row.days_until_due) for row in got.itertuples()] == [
        ("gil", "Coffee", -14),
        ("bob", "Coffee", -12),
        ("ann", "Filter", -9),
        ("dan", "Filter", -8),
        ("ann", "Coffee", 4),
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
