"""The customer summary: hand-checked cases, a pandas reference, CDNOW and portability."""

from __future__ import annotations

import math
from datetime import date, timedelta

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from valuecast.analysis.growth.history import known_orders, order_history
from valuecast.analysis.summary import (
    HOLDOUT_COLUMNS,
    SUMMARY_COLUMNS,
    SummaryError,
    calibration_summary,
    compressed_summary,
    customer_summary,
    customer_summary_with_calibration,
    filled_attributes,
    history_columns,
    summarize,
    whole_summary,
)
from valuecast.datasets import load_cdnow_summary, load_cdnow_transactions
from valuecast.store import Workspace


def table(frame: pd.DataFrame) -> ibis.Table:
    return ibis.memtable(frame)


def run(orders: pd.DataFrame, **kwargs) -> pd.DataFrame:
    result = summarize(table(orders), **kwargs)
    return result.table.to_pandas()


# ------------------------------------------------------------------------------------------------
# an independent reference: a plain loop over customers in pandas
# ------------------------------------------------------------------------------------------------
def reference_summary(
    orders: pd.DataFrame, as_of: date, calibration_end: date | None = None
) -> pd.DataFrame:
    as_of_ts = pd.Timestamp(as_of)
    end = pd.Timestamp(calibration_end) if calibration_end is not None else as_of_ts
    known = orders[orders["customer_id"].notna() & (orders["order_date"] <= as_of_ts)].copy()
    known["net_revenue"] = known["net_revenue"].fillna(0.0)
    known["stamp"] = known["ordered_at"].fillna(known["order_date"])
    rows = []
    for customer, group in known.groupby("customer_id"):
        period = group[group["order_date"] <= end]
        if period.empty:
            continue
        days = period.groupby("order_date")["net_revenue"].sum().sort_index()
        first, last = days.index[0], days.index[-1]
        frequency = len(days) - 1
        by_time = period.sort_values(["stamp", "order_id"])
        stated = group[group["accepts_marketing"].notna()].sort_values(["stamp", "order_id"])
        row = {
            "customer_id": customer,
            "first_order_date": first,
            "last_order_date": last,
            "historic_number_of_orders": len(period),
            "historic_clv": period["net_revenue"].sum(),
            "average_order_value": period["net_revenue"].sum() / len(period),
            "frequency": frequency,
            "recency": (last - first).days,
            "T": (end - first).days,
            "avg_repeat_order_value": days.iloc[1:].mean() if frequency else 0.0,
            "channel": by_time["channel"].iloc[0],
            "first_discount_code": by_time["discount_code"].iloc[0],
            "accepts_marketing": stated["accepts_marketing"].iloc[-1] if len(stated) else None,
        }
        if calibration_end is not None:
            hold = group[group["order_date"] > end]
            row["holdout_orders"] = hold["order_date"].nunique()
            row["holdout_revenue"] = hold["net_revenue"].sum()
        rows.append(row)
    return pd.DataFrame(rows)


def assert_matches_reference(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert len(got) == len(want)
    if not len(want):
        return
    got = got.sort_values("customer_id").reset_index(drop=True)
    want = want.sort_values("customer_id").reset_index(drop=True)
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    for column in want.columns.drop("customer_id"):
        g, w = got[column], want[column]
        if column in ("first_order_date", "last_order_date"):
            assert (pd.to_datetime(g) == pd.to_datetime(w)).all(), column
        elif column in ("channel", "first_discount_code", "accepts_marketing"):
            assert [None if pd.isna(v) else v for v in g] == [
                None if pd.isna(v) else v for v in w
            ], column
        elif column in ("historic_clv", "average_order_value", "avg_repeat_order_value"):
            np.testing.assert_allclose(g.astype(float), w.astype(float), rtol=1e-9, atol=1e-9)
        elif column == "holdout_revenue":
            np.testing.assert_allclose(g.astype(float), w.astype(float), rtol=1e-9, atol=1e-9)
        else:
            assert g.astype("int64").tolist() == w.astype("int64").tolist(), column


# ------------------------------------------------------------------------------------------------
# hand-checked
# ------------------------------------------------------------------------------------------------
ORDERS = [
    # ann: two orders on her first day, one repeat day with two orders, one after the as-of date
    {"id": 1, "customer": "ann", "date": "2024-01-01", "time": "09:00", "net": 10.0,
     "channel": "web", "discount_code": "WELCOME", "accepts_marketing": False},
    {"id": 2, "customer": "ann", "date": "2024-01-01", "time": "18:00", "net": 5.0,
     "channel": "pos"},
    {"id": 3, "customer": "ann", "date": "2024-01-11", "net": 20.0, "accepts_marketing": True},
    {"id": 4, "customer": "ann", "date": "2024-01-11", "net": 4.0},
    {"id": 5, "customer": "ann", "date": "2024-03-01", "net": 99.0},
    # bob: one order
    {"id": 6, "customer": "bob", "date": "2024-01-21", "net": 7.5, "channel": "pos"},
    # a guest
    {"id": 7, "customer": None, "date": "2024-01-25", "net": 1000.0},
]  # fmt: skip


def test_hand_checked_summary(make_orders):
    orders = make_orders(ORDERS)
    result = summarize(table(orders), as_of="2024-01-31")
    got = result.table.to_pandas().set_index("customer_id")
    assert list(result.table.columns) == list(SUMMARY_COLUMNS)
    ann, bob = got.loc["ann"], got.loc["bob"]
    assert ann["historic_number_of_orders"] == 4
    assert ann["historic_clv"] == 39.0
    assert ann["average_order_value"] == 39.0 / 4
    assert ann["frequency"] == 1  # two purchase days
    assert ann["recency"] == 10 and ann["T"] == 30
    assert ann["avg_repeat_order_value"] == 24.0  # the 11th: 20 + 4
    assert ann["channel"] == "web" and ann["first_discount_code"] == "WELCOME"
    assert bool(ann["accepts_marketing"]) is True  # latest stated consent
    assert pd.Timestamp(ann["first_order_date"]) == pd.Timestamp("2024-01-01")
    assert pd.Timestamp(ann["last_order_date"]) == pd.Timestamp("2024-01-11")
    assert bob["frequency"] == 0 and bob["recency"] == 0 and bob["T"] == 10
    assert bob["avg_repeat_order_value"] == 0.0
    assert pd.isna(bob["first_discount_code"]) and pd.isna(bob["accepts_marketing"])
    assert "guest" not in got.index and len(got) == 2
    assert result.counts["after_as_of"] == 1 and result.counts["guest"] == 1
    assert any("1 order after the as-of date 2024-01-31 ignored" in n for n in result.notes)
    assert any("1 guest order (1,000.00 USD revenue) left out" in n for n in result.notes)


def test_default_as_of_is_the_last_order_date_guests_included(make_orders):
    orders = make_orders(ORDERS[:4] + ORDERS[5:])  # last order: the guest's, 2024-01-25
    result = summarize(table(orders))
    assert result.as_of == date(2024, 1, 25)
    got = result.table.to_pandas().set_index("customer_id")
    assert got.loc["ann", "T"] == 24 and got.loc["bob", "T"] == 4


def test_an_as_of_date_weeks_after_the_last_order_says_those_days_count_as_quiet(make_orders):
    orders = make_orders(ORDERS)  # up to the as-of date the last order is the guest's, 01-25
    quiet = summarize(table(orders), as_of="2024-02-20")
    assert quiet.notes[0] == (
        "the last order is on 2024-01-25, 26 days before the as-of date 2024-02-20: those days "
        "count as days without a purchase by any customer (if the export ends on 2024-01-25, "
        "analyse as of that day)"
    )
    assert quiet.table.to_pandas().set_index("customer_id").loc["bob", "T"] == 30
    # a week without orders is a quiet week, not the end of an export
    assert not any(
        "the last order" in n for n in summarize(table(orders), as_of="2024-02-01").notes
    )
    assert not any("the last order" in n for n in summarize(table(orders)).notes)


def test_orders_dated_long_after_every_other_are_noted_where_they_set_the_as_of_date(
    make_orders,
):
    # a shop selling every day of 2025; one order typed 2026 for 2025 moves the as-of date
    days = [date(2025, 1, 1) + timedelta(days=k) for k in range(0, 364, 2)]
    rows = [{"id": k, "customer": f"c{k % 40}", "date": str(day), "net": 10.0}
            for k, day in enumerate(days)]  # fmt: skip
    typo = {"id": 999, "customer": "c5", "date": "2026-11-01", "net": 10.0}
    note = (
        "1 order (on 2026-11-01) comes 307 days after every other order (the last on "
        "2025-12-29), and the as-of date 2026-11-01 follows: every customer's history runs to "
        "it, so the shop looks lapsed; if a date is mistyped, correct it, or analyse as of "
        "2025-12-29 (--as-of)"
    )
    assert note in summarize(table(make_orders([*rows, typo]))).notes
    # two such orders, on one day or two, are named together
    second = {**typo, "id": 998, "date": "2026-10-30"}
    assert any(
        n.startswith("2 orders (on 2026-10-30, 2026-11-01) come 305 days after every other")
        for n in summarize(table(make_orders([*rows, typo, second]))).notes
    )
    # the history as it is, an as-of date given, or a shop whose orders come weeks apart: none
    for orders, as_of in (
        (rows, None),
        ([*rows, typo], "2026-11-01"),
        ([{**row, "date": str(date(2020, 1, 1) + timedelta(days=40 * k))} for k, row in
          enumerate(rows[:40])], None),
    ):  # fmt: skip
        assert not any("after every other order" in n for n in
                       summarize(table(make_orders(orders)), as_of=as_of).notes)  # fmt: skip


def test_calibration_and_holdout(make_orders):
    orders = make_orders(
        ORDERS
        + [
            {"id": 8, "customer": "bob", "date": "2024-02-10", "net": 3.0},
            {"id": 9, "customer": "bob", "date": "2024-02-10", "net": 2.0},
            {"id": 10, "customer": "cy", "date": "2024-02-15", "net": 50.0},
        ]
    )
    result = summarize(table(orders), as_of="2024-02-29", calibration_end="2024-01-15")
    got = result.table.to_pandas().set_index("customer_id")
    assert list(result.table.columns) == [*SUMMARY_COLUMNS, *HOLDOUT_COLUMNS]
    # bob's first order (2024-01-21) and cy's are after the calibration end: left out
    assert got.index.tolist() == ["ann"]
    ann = got.loc["ann"]
    assert ann["frequency"] == 1 and ann["recency"] == 10 and ann["T"] == 14
    assert ann["holdout_orders"] == 0 and ann["holdout_revenue"] == 0.0  # 2024-03-01 > as-of
    assert result.counts["first_order_after_calibration"] == 2
    assert any(
        "2 customers whose first order is after the calibration end" in n for n in result.notes
    )
    later = summarize(table(orders), as_of="2024-03-01", calibration_end="2024-01-21")
    got = later.table.to_pandas().set_index("customer_id")
    assert got.loc["ann", "holdout_orders"] == 1 and got.loc["ann", "holdout_revenue"] == 99.0
    assert got.loc["bob", "holdout_orders"] == 1  # two orders, one purchase day
    assert got.loc["bob", "holdout_revenue"] == 5.0
    assert got.loc["bob", "T"] == 0


def test_one_customer_after_the_calibration_end_is_noted_in_the_singular(make_orders):
    result = summarize(table(make_orders(ORDERS)), as_of="2024-02-29", calibration_end="2024-01-15")
    assert result.counts["first_order_after_calibration"] == 1  # bob (2024-01-21)
    assert "1 customer whose first order is after the calibration end 2024-01-15 left out" in (
        result.notes
    )


def test_an_engines_table_without_an_amount_is_noted_and_true_false_is_no_amount(make_orders):
    orders = make_orders(ORDERS)
    orders.loc[orders["order_id"] == "shopify:3", "net_revenue"] = None
    result = summarize(table(orders), as_of="2024-02-01")
    assert "1 order without a net revenue counted at 0" in result.notes
    assert result.table.to_pandas().set_index("customer_id").loc["ann", "historic_clv"] == 19.0
    flags = orders.assign(net_revenue=orders["net_revenue"].fillna(0) > 5)
    with pytest.raises(SummaryError, match="net_revenue column holds boolean, not amounts"):
        summarize(table(flags))


def test_bad_dates_are_summary_errors(make_orders):
    orders = table(make_orders(ORDERS))
    with pytest.raises(SummaryError, match="is after the as-of date"):
        summarize(orders, as_of="2024-01-01", calibration_end="2024-02-01")
    with pytest.raises(SummaryError, match="not a date"):
        summarize(orders, as_of="31/01/2024")
    # nobody had ordered by the calibration end: an empty table would look like a result
    with pytest.raises(SummaryError, match=r"2023-12-31 is before the first order \(2024-01-01\)"):
        summarize(orders, as_of="2024-02-01", calibration_end="2023-12-31")
    # ann's first day is the calibration end: she is summarised (bob is left out)
    assert (
        summarize(orders, as_of="2024-02-01", calibration_end="2024-01-01").counts[
            "first_order_after_calibration"
        ]
        == 1
    )
    with pytest.raises(SummaryError, match="no net_revenue column"):
        summarize(table(pd.DataFrame({"customer_id": ["a"], "order_date": [date(2024, 1, 1)]})))


def test_customers_table_overrides_order_consent(make_orders):
    orders = table(make_orders(ORDERS))
    customers = table(
        pd.DataFrame(
            {
                "customer_id": ["ann", "bob", None],
                "accepts_marketing": pd.array([False, True, True], dtype="boolean"),
            }
        )
    )
    got = customer_summary(orders, as_of="2024-01-31", customers=customers).to_pandas()
    consent = dict(zip(got["customer_id"], got["accepts_marketing"], strict=True))
    assert consent == {"ann": False, "bob": True}


def test_bare_transaction_log_is_enough():
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "order_date": pd.to_datetime(
                ["2024-01-01 10:00", "2024-01-03 23:59", "2024-01-02 00:00"]
            ),
            "net_revenue": [1.0, 2.0, None],
        }
    )
    got = run(log).set_index("customer_id")
    assert got.loc["a", "frequency"] == 1 and got.loc["a", "T"] == 2
    assert got.loc["b", "historic_clv"] == 0.0  # missing revenue counts as 0
    assert got["channel"].isna().all()


def test_summary_is_portable_sql(make_orders):
    """No DuckDB-only SQL: the expression compiles for other Ibis backends."""
    expr = customer_summary(
        table(make_orders(ORDERS)), as_of="2024-01-31", calibration_end="2024-01-15"
    )
    for dialect in ("postgres", "snowflake", "bigquery", "trino", "databricks", "clickhouse"):
        sql = ibis.to_sql(expr, dialect=dialect)
        assert "holdout_revenue" in str(sql)


def test_summary_from_a_workspace(tmp_path, make_result, make_orders):
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.ingest(
            [make_result(ORDERS, customers=[{"customer_id": "bob", "accepts_marketing": True}])]
        )
    with Workspace(tmp_path / "ws.duckdb", read_only=True) as ws:
        result = summarize(ws.orders(), as_of="2024-01-31", customers=ws.customers())
        got = result.table.to_pandas()
    want = reference_summary(make_orders(ORDERS), date(2024, 1, 31))
    want.loc[want["customer_id"] == "bob", "accepts_marketing"] = True
    assert_matches_reference(got, want)


# ------------------------------------------------------------------------------------------------
# property: the Ibis summary equals the pandas reference on random order sets
# ------------------------------------------------------------------------------------------------
START = date(2023, 1, 1)


@st.composite
def order_sets(draw):
    n = draw(st.integers(min_value=0, max_value=40))
    customers = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "e"]))
    rows = []
    for i in range(n):
        day = START + timedelta(days=draw(st.integers(0, 60)))
        rows.append(
            {
                "id": f"o{i:03d}",
                "customer": draw(customers),
                "date": day.isoformat(),
                "time": f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 30])):02d}",
                "net": draw(st.sampled_from([0.0, 1.5, 10.0, 19.99, 250.0, -5.0])),
                "channel": draw(st.sampled_from(["web", "pos", None])),
                "discount_code": draw(st.sampled_from(["X", "Y", None])),
                "accepts_marketing": draw(st.sampled_from([True, False, None])),
            }
        )
    as_of = START + timedelta(days=draw(st.integers(0, 70)))
    calibration = draw(st.one_of(st.none(), st.integers(0, 70)))
    calibration_end = None
    if calibration is not None:
        calibration_end = min(START + timedelta(days=calibration), as_of)
    return rows, as_of, calibration_end


def examples(n: int):
    """Hypothesis settings for ``n`` examples of the engine-backed properties (no deadline)."""
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


@examples(60)
@given(order_sets())
def test_summary_matches_pandas_reference(make_orders, case):
    rows, as_of, calibration_end = case
    orders = make_orders(rows)
    known = orders[orders["customer_id"].notna() & (orders["order_date"] <= pd.Timestamp(as_of))]
    firsts = known.groupby("customer_id")["order_date"].min()
    if (
        calibration_end is not None
        and len(firsts)
        and (firsts > pd.Timestamp(calibration_end)).all()
    ):
        # no customer had ordered by the calibration end: refused, not an empty table
        with pytest.raises(SummaryError, match="is before the first order"):
            run(orders, as_of=as_of, calibration_end=calibration_end)
        return
    got = run(orders, as_of=as_of, calibration_end=calibration_end)
    want = reference_summary(orders, as_of, calibration_end)
    assert_matches_reference(got, want)
    # the compressed table adds up to the customers, one row per distinct history
    compressed = compressed_summary(table(got)).to_pandas() if len(got) else None
    if compressed is not None:
        assert compressed["count"].sum() == len(got)
        expected = got.groupby(["frequency", "recency", "T"]).size()
        assert compressed.set_index(["frequency", "recency", "T"])["count"].to_dict() == (
            expected.to_dict()
        )


@examples(10)
@given(order_sets())
def test_one_pass_gives_the_whole_and_the_calibration_summary(make_orders, case):
    rows, as_of, calibration_end = case
    orders = make_orders(rows)
    if calibration_end is None:
        calibration_end = as_of
    both = customer_summary_with_calibration(
        table(orders), as_of=as_of, calibration_end=calibration_end
    )
    whole = whole_summary(both).to_pandas()
    calibration = calibration_summary(both).to_pandas()
    assert list(whole.columns) == list(SUMMARY_COLUMNS)
    assert list(calibration.columns) == list(SUMMARY_COLUMNS + HOLDOUT_COLUMNS)
    assert_matches_reference(whole, reference_summary(orders, as_of))
    assert_matches_reference(calibration, reference_summary(orders, as_of, calibration_end))


@st.composite
def tied_order_sets(draw):
    """Order sets of few customers and days where same-day orders often share their time (or
    have none, and are ordered at their date), with order ids in no order of the rows, and a
    channel, discount code and consent on some orders of some shops: the first order of a day
    and its latest consent are told by time, then by order id."""
    n = draw(st.integers(min_value=1, max_value=30))
    ids = draw(st.permutations([f"o{i:03d}" for i in range(n)]))
    rows = []
    for number in ids:
        rows.append(
            {
                "id": number,
                "customer": draw(st.sampled_from(["a", "b", "c", None])),
                "date": (START + timedelta(days=draw(st.integers(0, 4)))).isoformat(),
                "time": draw(st.sampled_from(["09:00", "17:30", None])),
                "net": draw(st.sampled_from([0.0, 1.5, 10.0, -5.0])),
                "channel": draw(st.sampled_from(["web", "pos", None])),
                "discount_code": draw(st.sampled_from(["X", "Y", None])),
                "accepts_marketing": draw(st.sampled_from([True, False, None])),
            }
        )
    as_of = START + timedelta(days=draw(st.integers(0, 5)))
    calibration_end = START + timedelta(days=draw(st.integers(0, 5)))
    kept = draw(st.sets(st.sampled_from(["channel", "discount_code", "accepts_marketing"])))
    return rows, min(as_of, calibration_end), as_of, kept


@examples(30)
@given(st.one_of(order_sets().map(lambda c: (c[0], c[2], c[1], None)), tied_order_sets()))
def test_the_summary_of_an_order_history_is_the_summary_of_its_orders(make_orders, case):
    """The analysis' summary reads its purchase days from the cohorts' order history (days of
    one order as they are, days of several grouped) instead of grouping the orders: the same
    table, value for value, with same-day orders on first, repeat and calibration-end days,
    and the same first channel and code and latest consent where same-day orders share their
    time (ties broken by order id) or have none."""
    rows, calibration_end, as_of, kept = case
    attributes = ["channel", "discount_code", "accepts_marketing"]
    if kept is None:  # a shop without channels, codes or consent: the history carries none
        orders = make_orders(rows).drop(columns=attributes)
    else:  # the attributes the shop's export has: the others are not columns, or all empty
        orders = make_orders([{**row, "time": row["time"] or "00:00"} for row in rows])
        orders.loc[[row["time"] is None for row in rows], "ordered_at"] = pd.NaT
        # a channel the export has no column for; a code or consent in a column left empty
        if "channel" not in kept:
            orders = orders.drop(columns=["channel"])
        for name, kind in (("discount_code", "string"), ("accepts_marketing", "boolean")):
            if name not in kept:
                orders[name] = pd.array([None] * len(orders), dtype=kind)
    if not orders["customer_id"].notna().any():
        return
    stored = ibis.duckdb.connect().create_table("orders", ibis.memtable(orders))
    known_empty = [name for name in attributes if name in orders and orders[name].isna().all()]
    carried = history_columns(filled_attributes(stored))
    history = order_history(known_orders(stored, as_of), carried)
    cal = calibration_end or as_of
    known = orders[orders["customer_id"].notna() & (orders["order_date"] <= pd.Timestamp(as_of))]
    if known.empty or known["order_date"].min() > pd.Timestamp(cal):
        return  # no customer with a calibration history: refused either way

    def rows_of(summary: ibis.Table) -> pd.DataFrame:
        return summary.to_pandas().sort_values("customer_id").reset_index(drop=True)

    for make in (
        lambda **extra: customer_summary(stored, as_of=as_of, known_empty=known_empty, **extra),
        lambda **extra: customer_summary_with_calibration(
            stored, as_of=as_of, calibration_end=cal, known_empty=known_empty, **extra
        ),
    ):
        read = make(history=history)
        assert "day_head" in ibis.to_sql(read)  # the purchase days are the history's
        pd.testing.assert_frame_equal(rows_of(read), rows_of(make()))


def test_duckdb_summary_equals_the_portable_one(make_orders):
    """A table in DuckDB gets the first day's revenue from DuckDB's own arg_min, in-memory tables
    (any engine) the portable arg-min: both give the same summaries."""
    orders = make_orders(ORDERS)
    stored = ibis.duckdb.connect().create_table("orders", ibis.memtable(orders))
    for source, sql in ((stored, "ARG_MIN("), (table(orders), "FIRST(")):
        both = customer_summary_with_calibration(
            source, as_of="2024-01-31", calibration_end="2024-01-15"
        )
        assert sql in str(ibis.to_sql(both))
        whole = whole_summary(both).to_pandas().set_index("customer_id")
        # ann's first day (10 + 5) is not her repeat day (20 + 4)
        assert whole.loc["ann", "avg_repeat_order_value"] == 24.0
        assert_matches_reference(whole.reset_index(), reference_summary(orders, date(2024, 1, 31)))
        calibration = calibration_summary(both).to_pandas()
        want = reference_summary(orders, date(2024, 1, 31), date(2024, 1, 15))
        assert_matches_reference(calibration, want)


def test_holdout_revenue_does_not_depend_on_the_order_rows_are_added_in(make_orders):
    """The backtest ranks customers by their holdout revenue: a sum of doubles whose last bits
    follow the engine's order of adding (0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1) would break its
    ties differently from one run to the next."""
    days = [("2024-01-20", 0.1), ("2024-01-21", 0.2), ("2024-01-22", 0.3)]
    rows = [{"id": 1, "customer": "ann", "date": "2024-01-01", "net": 5.0}]
    rows += [
        {"id": 2 + i, "customer": "ann", "date": d, "net": net} for i, (d, net) in enumerate(days)
    ]
    revenues = set()
    for ordered in (rows, rows[:1] + rows[:0:-1]):
        orders = make_orders(ordered)
        stored = ibis.duckdb.connect(threads=1).create_table("orders", ibis.memtable(orders))
        both = customer_summary_with_calibration(
            stored, as_of="2024-01-31", calibration_end="2024-01-10"
        )
        revenues.add(float(calibration_summary(both).to_pandas()["holdout_revenue"].iloc[0]))
    assert revenues == {0.6}


def test_historic_revenue_on_duckdb_is_the_same_whatever_order_the_rows_are_in():
    """A customer's historic CLV and holdout revenue on DuckDB are the correctly rounded sums of
    their purchase days' correctly rounded sums, however the rows are stored and the engine's
    threads add them: a plain sum moved in its last bits from one run of the same shop to the
    next."""
    rng = np.random.default_rng(7)
    customers = 4000
    start = date(2024, 1, 1)
    # each customer: three orders on the first day, then one every 20 days
    offsets = [0, 0, 0] + [20 * k for k in range(1, 8)]
    frame = pd.DataFrame({
        "customer_id": np.repeat([f"c{i}" for i in range(customers)], len(offsets)),
        "order_date": [start + timedelta(days=offset) for offset in offsets] * customers,
        "net_revenue": np.round(rng.gamma(2.0, 40.0, customers * len(offsets)), 2),
    })  # fmt: skip
    calibration_end = start + timedelta(days=20 * 4)  # five purchase days in, three after
    results = []
    for seed in range(3):
        shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        stored = ibis.duckdb.connect(threads=2).create_table("orders", ibis.memtable(shuffled))
        both = customer_summary_with_calibration(
            stored, as_of=start + timedelta(days=200), calibration_end=calibration_end
        )
        whole = whole_summary(both).to_pandas().set_index("customer_id").sort_index()
        calibration = calibration_summary(both).to_pandas().set_index("customer_id").sort_index()
        results.append((whole["historic_clv"], calibration["holdout_revenue"]))
    for whole_clv, holdout in results[1:]:
        pd.testing.assert_series_equal(whole_clv, results[0][0], check_exact=True)
        pd.testing.assert_series_equal(holdout, results[0][1], check_exact=True)
    # (the holdout revenue is rounded to 1e-9 besides, for the engines summing plainly)
    days = frame.groupby(["customer_id", "order_date"])["net_revenue"].agg(math.fsum)
    want = days.groupby(level="customer_id").agg(math.fsum).sort_index()
    assert (results[0][0].to_numpy() == want.to_numpy()).all()


def test_one_pass_needs_a_calibration_end(make_orders):
    with pytest.raises(SummaryError, match="calibration end is required"):
        customer_summary_with_calibration(
            table(make_orders(ORDERS)), as_of="2024-02-01", calibration_end=None
        )


# ------------------------------------------------------------------------------------------------
# CDNOW: the published 39-week calibration summary (Fader, Hardie & Lee 2005)
# ------------------------------------------------------------------------------------------------
def cdnow_orders() -> pd.DataFrame:
    tx = load_cdnow_transactions()
    return pd.DataFrame(
        {
            "customer_id": tx["customer_id"].astype(str),
            "order_date": tx["date"],
            "net_revenue": tx["amount"],
        }
    )


def test_cdnow_calibration_summary_reproduces_the_published_one():
    result = summarize(table(cdnow_orders()), calibration_end="1997-09-30")
    assert result.as_of == date(1998, 6, 30)
    got = result.table.to_pandas()
    got["customer_id"] = got["customer_id"].astype(int)
    got = got.set_index("customer_id").sort_index()
    published = load_cdnow_summary(with_spend=False).set_index("customer_id").sort_index()
    assert len(got) == len(published) == 2357
    assert (got.index == published.index).all()
    assert (got["frequency"] == published["frequency"]).all()
    # days to weeks, printed with 2 decimals; T runs from the first purchase to 1997-09-30
    np.testing.assert_array_equal((got["recency"] / 7).round(2), published["recency"])
    np.testing.assert_array_equal((got["T"] / 7).round(2), published["T"])
    # the mean repeat-purchase value is the published zbar (printed with 2 decimals)
    spend = load_cdnow_summary(with_spend=True).set_index("customer_id").sort_index()
    np.testing.assert_allclose(got["avg_repeat_order_value"], spend["monetary_value"], atol=0.0051)
    # the compressed table is the models' input
    compressed = result.compressed().to_pandas()
    assert compressed["count"].sum() == 2357
    assert len(compressed) == len(published.drop_duplicates(["frequency", "recency", "T"]))
    # holdout (39 weeks after): every holdout purchase of the sample is accounted for
    tx = cdnow_orders()
    holdout = tx[tx["order_date"] > "1997-09-30"]
    assert got["holdout_orders"].sum() == holdout.groupby(["customer_id", "order_date"]).ngroups
    assert got["holdout_revenue"].sum() == pytest.approx(holdout["net_revenue"].sum())
