"""RFM scores within the shop and Shopify's RFM group names on the documented grid."""

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segments_oracle import percentile_scores, rfm_group, rfm_scores
from valuecast.analysis.segments import RFM_GRID
from valuecast.tables import GROUPS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "segments.md"


# -- scores ------------------------------------------------------------------------------------
def test_distinct_values_give_exact_quintiles():
    values = np.arange(1, 11)
    np.testing.assert_array_equal(percentile_scores(values), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    # fewer days since the last order is better
    np.testing.assert_array_equal(
        percentile_scores(values, higher_is_better=False), [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    )


def test_distinct_values_split_into_equal_fifths_on_a_large_shop():
    values = np.random.default_rng(3).permutation(1000) * 1.5
    counts = np.bincount(percentile_scores(values), minlength=6)[1:]
    np.testing.assert_array_equal(counts, [200] * 5)


def test_shop_where_most_customers_ordered_once():
    # the example of docs/segments.md: 70% one order, 15% two, 10% three, 5% five
    orders = np.repeat([1, 2, 3, 5], [70, 15, 10, 5])
    scores = percentile_scores(orders)
    assert set(scores[orders == 1]) == {1}
    assert set(scores[orders == 2]) == {4}  # beats 70%: 1 + floor(3.5)
    assert set(scores[orders == 3]) == {5}  # beats 85%
    assert set(scores[orders == 5]) == {5}


def test_ties_are_scored_together_and_by_the_values_below():
    values = [10.0, 10.0, 10.0, 20.0, 20.0, 30.0, 30.0, 30.0, 30.0, 40.0]
    # strictly smaller: 0, 0, 0, 3, 3, 5, 5, 5, 5, 9 of 10 -> 1 + floor(5 * k / 10)
    np.testing.assert_array_equal(percentile_scores(values), [1, 1, 1, 2, 2, 3, 3, 3, 3, 5])
    # lower is better: strictly larger counts 7, 7, 7, 5, 5, 1, 1, 1, 1, 0
    np.testing.assert_array_equal(
        percentile_scores(values, higher_is_better=False), [4, 4, 4, 3, 3, 1, 1, 1, 1, 1]
    )


def test_all_equal_values_score_one_and_single_customer_scores_one():
    np.testing.assert_array_equal(percentile_scores([7.0] * 6), [1] * 6)
    np.testing.assert_array_equal(percentile_scores([7.0]), [1])
    assert len(percentile_scores([])) == 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(0, 6), st.floats(-1e9, 1e9, allow_nan=False)),
        min_size=1,
        max_size=60,
    )
)
def test_score_properties(values):
    values = np.asarray(values, dtype=float)
    scores = percentile_scores(values)
    n = len(values)
    assert scores.min() >= 1 and scores.max() <= 5
    assert scores[np.argmin(values)] == 1
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(scores[order]) >= 0)  # a better value never scores lower
    for value in np.unique(values):
        assert len(set(scores[values == value])) == 1  # equal values, equal score
    for s in range(1, 6):  # at most 20% score 5, at most 40% score 4 or more, ...
        assert (scores >= s).sum() <= n - (s - 1) * n / 5 + 1e-9
    # the definition, against a direct count
    smaller = (values[None, :] < values[:, None]).sum(axis=1)
    np.testing.assert_array_equal(scores, 1 + (5 * smaller) // n)


def test_rfm_scores_columns_and_score_string():
    frame = rfm_scores(
        recency_days_since_last_order=[3, 400, 30, 90, 200],
        frequency_orders=[6, 1, 3, 2, 1],
        monetary=[500.0, 20.0, 150.0, 80.0, 35.0],
    )
    assert list(frame.columns) == ["rfm_recency", "rfm_frequency", "rfm_monetary", "rfm_score"]
    # recency (fewer days better): 3 -> 5, 30 -> 4, 90 -> 3, 200 -> 2, 400 -> 1
    np.testing.assert_array_equal(frame["rfm_recency"], [5, 1, 4, 3, 2])
    # frequency: 1, 1 beat nobody; 2 beats 2 of 5; 3 beats 3; 6 beats 4
    np.testing.assert_array_equal(frame["rfm_frequency"], [5, 1, 4, 3, 1])
    np.testing.assert_array_equal(frame["rfm_monetary"], [5, 1, 4, 3, 2])
    assert frame["rfm_score"].tolist() == ["555", "111", "444", "333", "212"]


def test_customers_without_orders_are_prospects_and_not_ranked():
    frame = rfm_scores([np.nan, 10, 20, 30, 40, 50], [0, 1, 2, 3, 4, 5], [0.0, 1, 2, 3, 4, 5])
    assert frame.loc[0].tolist() == [0, 0, 0, "000"]
    # the other five are ranked among themselves: exact quintiles
    np.testing.assert_array_equal(frame["rfm_frequency"][1:], [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(frame["rfm_recency"][1:], [5, 4, 3, 2, 1])
    groups = rfm_group(frame["rfm_recency"], frame["rfm_frequency"], frame["rfm_monetary"])
    assert groups[0] == "Prospects"
    assert "Prospects" not in set(groups[1:])


def test_rfm_scores_accept_series_and_reject_bad_input():
    summary = pd.DataFrame({"days": [1, 2], "orders": [1, 2], "spend": [5.0, 9.0]})
    frame = rfm_scores(summary["days"], summary["orders"], summary["spend"])
    assert frame["rfm_score"].tolist() == ["311", "133"]
    with pytest.raises(ValueError, match="different lengths"):
        rfm_scores([1, 2], [1], [1.0, 2.0])
    with pytest.raises(ValueError, match="non-negative"):
        rfm_scores([1], [-1], [1.0])
    with pytest.raises(ValueError, match="monetary must be finite"):
        rfm_scores([1, 2], [1, 1], [np.nan, 2.0])
    with pytest.raises(ValueError, match="finite"):
        percentile_scores([1.0, np.inf])


def test_a_million_customers():
    # correctness at scale only: speed is measured in benchmarks/, not in timed unit tests
    rng = np.random.default_rng(0)
    n = 1_000_000
    days = rng.integers(0, 730, n)
    orders = rng.geometric(0.55, n)
    spend = rng.gamma(2.0, 40.0, n) * orders
    frame = rfm_scores(days, orders, spend)
    groups = rfm_group(frame["rfm_recency"], frame["rfm_frequency"], frame["rfm_monetary"])
    assert len(groups) == n and set(groups) <= set(GROUPS)


# -- groups ------------------------------------------------------------------------------------
def test_every_score_combination_has_exactly_one_group_and_every_group_is_reachable():
    combos = np.array(list(itertools.product(range(1, 6), repeat=3)))
    groups = rfm_group(combos[:, 0], combos[:, 1], combos[:, 2])
    assert len(groups) == 125
    assert set(groups) == set(GROUPS) - {"Prospects"}
    assert rfm_group(0, 0, 0) == "Prospects"
    assert len(GROUPS) == 11
    # a group depends on R and F + M only
    for (r, f, m), group in zip(combos, groups, strict=True):
        assert group == RFM_GRID[r][f + m - 2]


@pytest.mark.parametrize(
    ("scores", "group"),
    [
        ((5, 5, 5), "Champions"),
        ((5, 4, 4), "Champions"),
        ((4, 5, 4), "Champions"),
        ((4, 4, 4), "Loyal"),
        ((3, 5, 5), "Loyal"),
        ((5, 3, 3), "Active"),
        ((4, 4, 3), "Active"),
        ((5, 1, 1), "New"),
        ((5, 1, 4), "New"),
        ((4, 2, 2), "Promising"),
        ((3, 3, 3), "Needs attention"),
        ((3, 1, 1), "Needs attention"),
        ((2, 4, 4), "At risk"),
        ((1, 3, 5), "At risk"),
        ((2, 5, 4), "Previously loyal"),
        ((1, 5, 5), "Previously loyal"),
        ((2, 1, 1), "Almost lost"),
        ((1, 3, 3), "Almost lost"),
        ((1, 1, 1), "Dormant"),
        ((1, 1, 4), "Dormant"),
    ],
)
def test_documented_cells(scores, group):
    assert rfm_group(*scores) == group


def test_groups_respect_the_order_of_recency_for_a_strong_history():
    # the same top history goes from Champions to Loyal to Previously loyal as R drops
    assert [rfm_group(r, 5, 5) for r in (5, 4, 3, 2, 1)] == [
        "Champions",
        "Champions",
        "Loyal",
        "Previously loyal",
        "Previously loyal",
    ]


def test_grid_in_the_docs_matches_the_code():
    text = DOCS.read_text()
    rows = re.findall(r"^\| ([1-5]) \| (.+) \|$", text, flags=re.MULTILINE)
    table = {int(r): tuple(cell.strip() for cell in rest.split("|")) for r, rest in rows}
    assert table == RFM_GRID


def test_rfm_group_validates_scores():
    with pytest.raises(ValueError, match="whole numbers from 0 to 5"):
        rfm_group([6], [1], [1])
    with pytest.raises(ValueError, match="whole numbers from 0 to 5"):
        rfm_group([2.5], [1], [1])
    with pytest.raises(ValueError, match="all of R, F and M"):
        rfm_group([0], [3], [3])
    groups = rfm_group(pd.Series([5, 1], dtype="int8"), np.array([5, 1]), [5, 1])
    assert groups.tolist() == ["Champions", "Dormant"]


def test_engine_group_is_the_grid_cell_and_prospects_outside_it():
    import ibis

    from valuecast.analysis.segments import _rfm_group

    pairs = [(r, fm) for r in range(-1, 8) for fm in range(-2, 11)] + [(None, 3), (3, None)]
    frame = pd.DataFrame(pairs, columns=["r", "fm"]).astype("Int64")
    table = ibis.memtable(frame)
    got = table.select("r", "fm", group=_rfm_group(table.r, table.fm)).to_pyarrow().to_pylist()
    for row in got:
        cells = RFM_GRID.get(row["r"]) if row["r"] is not None else None
        inside = cells is not None and row["fm"] is not None and 0 <= row["fm"] < len(cells)
        assert row["group"] == (cells[row["fm"]] if inside else "Prospects"), row
