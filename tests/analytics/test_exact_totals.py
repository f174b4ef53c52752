"""The shop's totals do not depend on the order the engine reads the customers in.

The customers table is stored unsorted (sorting millions of text ids was a quarter of the
summary's work), so an engine reads its rows in no fixed order; a float sum's last bits would
then change from one run to the next and summary.json with them.
"""

from __future__ import annotations

import math
from datetime import date
from types import SimpleNamespace

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from segments_oracle import SEGMENTED_SCHEMA
from valuecast.analysis.backend import exact_sum
from valuecast.analysis.customers import _group_totals
from valuecast.analysis.predict import prediction_totals
from valuecast.analysis.segments import add_segments


def _sum(values: list[float]) -> float:
    table = ibis.memtable(pa.table({"x": pa.array(values, pa.float64())}))  # NaN kept, not NULL
    return float(table.aggregate(s=exact_sum(table.x)).to_pandas()["s"].iloc[0])


def test_exact_sum_is_the_same_in_every_order():
    values = [1e16, 1.0, -1e16, 1.0, 0.1, 0.2, 0.3]
    assert sum(values) != sum(reversed(values))  # a float sum depends on the order
    assert _sum(values) == _sum(values[::-1]) == math.fsum(values) == 2.6


@pytest.mark.parametrize(
    ("values", "want"),
    [([1.0, math.inf], math.inf), ([math.inf, -math.inf], math.nan), ([1.0, math.nan], math.nan)],
)
def test_exact_sum_of_infinities_and_nan_is_what_a_float_sum_gives(values, want):
    got = _sum(values)
    assert got == want or (math.isnan(got) and math.isnan(want))


def test_group_totals_add_the_cells_exactly_and_keep_a_nan_prediction():
    columns = {
        "rfm_group": pa.array(["New", "New", "Loyal", "Loyal", "Loyal"]),
        "predicted_spend_tier": pa.array(["high", "low", "high", "high", "low"]),
        "historic_clv": pa.array([1e16, 1.0, -1e16, 0.1, 0.2]),
        "predicted_clv": pa.array([1.0, 2.0, 3.0, math.nan, 4.0]),  # NaN kept, not NULL
    }
    table = ibis.memtable(pa.table(columns))
    totals = _group_totals(table, ("rfm_group", "predicted_spend_tier"))
    tiers = totals["predicted_spend_tier"]
    # the high tier's historic value is 1e16 - 1e16 + 0.1 exactly, summed over two groups' cells
    assert tiers["high"]["historic_clv"] == 0.1 and tiers["high"]["count"] == 3
    assert math.isnan(tiers["high"]["predicted_clv"]) and tiers["low"]["predicted_clv"] == 6.0
    assert totals["rfm_group"]["New"] == {
        "count": 2,
        "historic_clv": 1e16 + 1.0,
        "predicted_clv": 3.0,
    }
    assert math.isnan(totals["rfm_group"]["Loyal"]["predicted_clv"])


def test_a_group_without_any_prediction_has_none_not_zero():
    # predictions withheld (a tiny shop) leave every predicted CLV NULL: the groups' predicted
    # CLV is unknown, which 0 would misstate
    columns = {
        "rfm_group": pa.array(["New", "Loyal", "Loyal"]),
        "predicted_spend_tier": pa.array(["medium", "medium", "medium"]),
        "historic_clv": pa.array([10.0, 20.0, 30.0]),
        "predicted_clv": pa.array([None, None, 5.0], type=pa.float64()),
    }
    totals = _group_totals(ibis.memtable(pa.table(columns)), ("rfm_group",))["rfm_group"]
    assert totals["New"] == {"count": 1, "historic_clv": 10.0, "predicted_clv": None}
    assert totals["Loyal"]["predicted_clv"] == 5.0


def test_shop_totals_are_the_same_in_every_row_order():
    rng = np.random.default_rng(7)
    n = 3_000
    frame = pd.DataFrame(
        {
            "frequency": rng.integers(0, 3, n),
            "recency": 0,
            "T": 30,
            "_spend_x": 0,
            "_spend_m": rng.gamma(2.0, 40.0, n),
            "_discounted": 0.5,
            "predicted_number_of_orders": 0.7,
            "historic_clv": rng.gamma(2.0, 50.0, n),
        }
    )
    frame["predicted_clv"] = frame["_spend_m"] * 0.5
    options = SimpleNamespace(interval_level=0.8, margin=1.0)
    f = np.array([0.0, 1.0, 2.0])
    r, t = np.zeros(3), np.full(3, 30.0)

    def totals(rows: pd.DataFrame) -> dict:
        return prediction_totals(ibis.memtable(rows), f, r, t, None, 1.28, options)

    forward = totals(frame)
    assert totals(frame.iloc[::-1].reset_index(drop=True)) == forward
    assert totals(frame.sample(frac=1.0, random_state=1).reset_index(drop=True)) == forward
    assert forward["predicted_clv"] == pytest.approx(frame["predicted_clv"].sum(), rel=1e-12)
    assert forward["historic_clv"] == pytest.approx(frame["historic_clv"].sum(), rel=1e-12)
    assert forward["predicted_number_of_orders"] == pytest.approx(0.7 * n, rel=1e-12)


def _segmented_both_ways(
    n: int, columns: dict, has_predictions: bool, con=None, releases: list | None = None
) -> pd.DataFrame:
    """:func:`add_segments` of ``n`` customers (ids ``c0000``..., channel ``web``, the other
    ``columns`` given) on DuckDB, with its thresholds computed first (``releases``) and left lazy
    (subqueries): asserts that both give the same segments and returns them by customer id."""
    frame = pd.DataFrame({"customer_id": [f"c{i:04d}" for i in range(n)], **columns})
    frame["channel"] = "web"
    con = con or ibis.duckdb.connect()
    table = con.create_table("customers", ibis.memtable(frame, schema=SEGMENTED_SCHEMA))
    as_of = date(2024, 12, 31)
    stored = add_segments(table, as_of, n, has_predictions, [] if releases is None else releases)
    lazy = add_segments(table, as_of, n, has_predictions)
    got = stored.order_by("customer_id").to_pandas()
    pd.testing.assert_frame_equal(got, lazy.order_by("customer_id").to_pandas())
    return got


@pytest.mark.parametrize("has_predictions", [True, False])
def test_segments_from_thresholds_computed_first_equal_the_lazy_ones(has_predictions):
    """The score and tier thresholds computed first (with ``releases``) give the same segments
    as the same expressions left lazy (subqueries), and leave no table behind (without
    predictions the tiers rank the money, whose counts serve both)."""
    rng = np.random.default_rng(3)
    n = 500
    columns = {
        "last_order_date": [date.fromordinal(738886 + int(d)) for d in rng.integers(0, 300, n)],
        "historic_number_of_orders": rng.integers(1, 6, n),
        "historic_clv": rng.choice([5.0, 10.0, 25.5, 80.25], n),
        "predicted_clv": rng.choice([0.0, 1.5, 2.25, 7.0, 30.0], n),
    }
    con = ibis.duckdb.connect()
    releases: list = []
    _segmented_both_ways(n, columns, has_predictions, con, releases)
    assert releases == []
    names = con.raw_sql("SELECT table_name FROM duckdb_tables()").fetchall()
    assert names == [("customers",)]


@pytest.mark.parametrize(("largest", "in_memory"), [(30.0, True), (3e17, False)])
def test_tiers_read_into_memory_equal_the_engine_ones(monkeypatch, largest, in_memory):
    """The analysis (``releases``, DuckDB) reads the predicted money keys and splits them in
    NumPy; keys past 64 bits (predicted CLV beyond ~9.2e16, keyed in cents) are ranked by the
    engine as the lazy expression ranks them.  Either way the tiers equal the lazy expression's."""
    import valuecast.analysis.segments as segments

    calls = []
    real = segments.tier_thresholds
    monkeypatch.setattr(
        segments, "tier_thresholds", lambda keys: calls.append(len(keys)) or real(keys)
    )
    rng = np.random.default_rng(5)
    n = 600
    predicted = rng.choice([0.0, 1.5, 2.25, 7.0, largest], n, p=[0.05, 0.3, 0.3, 0.15, 0.2])
    columns = {
        "last_order_date": date(2024, 6, 1),
        "historic_number_of_orders": rng.integers(1, 6, n),
        "historic_clv": rng.choice([5.0, 10.0], n),
        "predicted_clv": [None if i % 9 == 0 else float(v) for i, v in enumerate(predicted)],
    }
    got = _segmented_both_ways(n, columns, True)
    assert calls == ([n - len(range(0, n, 9))] if in_memory else [])
    assert set(got["predicted_spend_tier"].dropna()) == {"low", "medium", "high"}


def test_tiers_read_into_memory_without_any_prediction_are_missing():
    """No predicted value at all (every customer's prediction missing): no thresholds, no tier,
    as the engine's ranking of no keys gives."""
    n = 40
    columns = {
        "last_order_date": date(2024, 6, 1),
        "historic_number_of_orders": np.arange(n) % 4 + 1,
        "historic_clv": np.arange(n) * 2.5,
        "predicted_clv": [None] * n,
    }
    got = _segmented_both_ways(n, columns, True)
    assert got["predicted_spend_tier"].isna().all()


@pytest.mark.parametrize("has_predictions", [True, False])
@pytest.mark.parametrize(("largest", "in_memory"), [(80.25, True), (3e13, False)])
def test_monetary_scores_read_into_memory_equal_the_engine_ones(
    monkeypatch, has_predictions, largest, in_memory
):
    """The monetary score's thresholds (and, without predictions, the tiers of historic value)
    found in NumPy from the historic money keys read from DuckDB give the lazy expression's
    segments; keys past 64 bits are ranked by the engine."""
    import valuecast.analysis.segments as segments

    calls = []
    real = segments.score_thresholds
    monkeypatch.setattr(
        segments, "score_thresholds", lambda keys, n: calls.append((len(keys), n)) or real(keys, n)
    )
    rng = np.random.default_rng(7)
    n = 500
    historic = rng.choice([5.0, 10.0, 25.5, largest], n, p=[0.05, 0.45, 0.3, 0.2])
    columns = {
        "last_order_date": [date.fromordinal(738886 + int(d)) for d in rng.integers(0, 300, n)],
        "historic_number_of_orders": rng.integers(1, 6, n),
        # a few customers without a value: the shop's n still counts them
        "historic_clv": [None if i % 50 == 0 else float(v) for i, v in enumerate(historic)],
        "predicted_clv": rng.choice([0.0, 1.5, 7.0, 30.0], n),
    }
    got = _segmented_both_ways(n, columns, has_predictions)
    assert calls == ([(n - 10, n)] if in_memory else [])
    assert got["rfm_monetary"].nunique() > 2
    if not has_predictions:
        assert set(got["predicted_spend_tier"].dropna()) == {"low", "medium", "high"}
