"""Predicted spend tiers: top ~30% high, bottom ~10% low, ties kept together."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segments_oracle import SEGMENTED_SCHEMA
from valuecast.analysis.tiers import (
    beaten_by_share,
    beats_share,
    predicted_spend_tier,
    score_thresholds,
    tier_thresholds,
)

RANK = {"low": 0, "medium": 1, "high": 2}


def test_distinct_values_top_thirty_and_bottom_ten_percent():
    tiers = predicted_spend_tier(np.arange(10.0))
    assert tiers.tolist() == ["low"] + ["medium"] * 6 + ["high"] * 3
    # rounded down: of 25 customers, 7 high and 2 low
    counts = pd.Series(predicted_spend_tier(np.arange(25.0) ** 2)).value_counts()
    assert counts.to_dict() == {"medium": 16, "high": 7, "low": 2}


def test_order_of_rows_does_not_matter():
    values = np.random.default_rng(1).gamma(0.7, 100.0, 500)
    tiers = predicted_spend_tier(values)
    permutation = np.random.default_rng(2).permutation(500)
    np.testing.assert_array_equal(predicted_spend_tier(values[permutation]), tiers[permutation])


def test_all_equal_predictions_are_all_medium():
    assert set(predicted_spend_tier([12.5] * 40)) == {"medium"}
    assert predicted_spend_tier([3.0]).tolist() == ["medium"]


def test_ties_across_a_threshold_stay_together():
    # three customers tie at the top: each beats exactly 7 of 10 -> all high
    values = [1, 2, 3, 4, 5, 6, 7, 10, 10, 10]
    assert predicted_spend_tier(values).tolist()[-3:] == ["high"] * 3
    # four tie at the top: each beats 6 of 10 (< 70%) -> all medium, none high
    values = [1, 2, 3, 4, 5, 6, 10, 10, 10, 10]
    assert "high" not in set(predicted_spend_tier(values))
    # half the shop at zero: nobody is beaten by 90% -> no low tier
    tiers = predicted_spend_tier([0.0] * 10 + list(range(1, 11)))
    assert "low" not in set(tiers)
    assert set(tiers[:10]) == {"medium"}
    # two tie at the bottom of 20: each beaten by 18 = 90% -> both low
    assert predicted_spend_tier([0.0, 0.0, *range(1, 19)]).tolist()[:3] == ["low", "low", "medium"]


def test_missing_predictions_get_no_tier_and_do_not_count():
    tiers = predicted_spend_tier([np.nan, *range(10), np.nan])
    assert tiers[0] is None and tiers[-1] is None
    assert tiers[1:-1].tolist() == predicted_spend_tier(np.arange(10.0)).tolist()
    assert predicted_spend_tier([np.nan, np.nan]).tolist() == [None, None]
    assert len(predicted_spend_tier([])) == 0


def test_bad_input():
    with pytest.raises(ValueError, match="infinite"):
        predicted_spend_tier([1.0, np.inf])
    with pytest.raises(ValueError, match="add up to at most 1"):
        predicted_spend_tier([1.0], high_share=0.8, low_share=0.3)


def test_other_shares():
    tiers = predicted_spend_tier(np.arange(100.0), high_share=0.2, low_share=0.25)
    counts = pd.Series(tiers).value_counts().to_dict()
    assert counts == {"medium": 55, "low": 25, "high": 20}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 8) | st.floats(0, 1e7, allow_nan=False), min_size=1, max_size=80))
def test_tier_properties(values):
    values = np.asarray(values, dtype=float)
    tiers = predicted_spend_tier(values)
    n = len(values)
    assert (tiers == "high").sum() <= 0.3 * n + 1e-9
    assert (tiers == "low").sum() <= 0.1 * n + 1e-9
    for value in np.unique(values):
        assert len(set(tiers[values == value])) == 1
    rank = np.array([RANK[t] for t in tiers])
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(rank[order]) >= 0)  # more predicted value, never a lower tier
    # the definition, against direct counts
    lower = (values[None, :] < values[:, None]).sum(axis=1)
    higher = (values[None, :] > values[:, None]).sum(axis=1)
    expected = np.where(lower >= 0.7 * n - 1e-9, "high", "medium")
    expected = np.where(higher >= 0.9 * n - 1e-9, "low", expected)
    np.testing.assert_array_equal(tiers, expected)


@pytest.mark.parametrize("share", [0.05, 0.3, 0.5, 0.9])
def test_shares_beaten_against_direct_counts_with_ties_and_missing_values(share):
    rng = np.random.default_rng(3)
    values = rng.choice([0.0, 1.0, 2.5, 4.0, 9.0, np.nan], 300)
    known = values[~np.isnan(values)]
    n = len(known)
    lower = (known[None, :] < values[:, None]).sum(axis=1)
    higher = (known[None, :] > values[:, None]).sum(axis=1)
    # integer-exact: count >= (1 - share) n with the share in millionths
    needed = (10**6 - round(share * 10**6)) * n
    present = ~np.isnan(values)
    np.testing.assert_array_equal(beats_share(values, share), present & (lower * 10**6 >= needed))
    np.testing.assert_array_equal(
        beaten_by_share(values, share), present & (higher * 10**6 >= needed)
    )
    assert not beats_share([np.nan, np.nan], share).any()


def test_a_million_customers():
    # correctness at scale only: speed is measured in benchmarks/, not in timed unit tests
    values = np.random.default_rng(0).lognormal(3.0, 1.2, 1_000_000)
    tiers = predicted_spend_tier(values)
    counts = pd.Series(tiers).value_counts().to_dict()
    assert counts == {"medium": 600_000, "high": 300_000, "low": 100_000}


@pytest.mark.parametrize("seed", [0, 1])
def test_engine_tiers_follow_the_rule_with_ties_and_missing_predictions(seed):
    from datetime import date

    import ibis

    from valuecast.analysis.segments import add_segments

    rng = np.random.default_rng(seed)
    n = 400
    # few distinct values: ties across both thresholds; some customers without a prediction
    predicted = rng.choice([0.0, 1.5, 2.25, 7.0, 30.0], n)
    missing = rng.random(n) < 0.1
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in range(n)],
            "last_order_date": date(2024, 1, 1),
            "historic_number_of_orders": rng.integers(1, 6, n),
            "historic_clv": rng.choice([5.0, 10.0, 25.5], n),
            "predicted_clv": [
                None if m else float(v) for m, v in zip(missing, predicted, strict=True)
            ],
            "channel": "web",
        }
    )
    table = ibis.memtable(frame, schema=SEGMENTED_SCHEMA)
    got = (
        add_segments(table, date(2024, 12, 31), n, has_predictions=True)
        .order_by("customer_id")
        .to_pandas()
    )
    expected = predicted_spend_tier(np.where(missing, np.nan, predicted))
    assert [None if pd.isna(t) else t for t in got["predicted_spend_tier"]] == list(expected)
    assert got["predicted_spend_tier"].isna().sum() == missing.sum() > 0


@pytest.mark.parametrize("has_releases", [False, True])
def test_predictions_that_read_the_same_in_cents_share_a_tier(has_releases):
    """A limit model predicts every customer 93.43 give or take a fortieth of a cent (the
    optimiser's noise): customers.csv shows one value, and everyone is medium, on the engine's
    counts and on keys read into memory alike; a cent apart still ranks."""
    from datetime import date

    import ibis

    from valuecast.analysis.segments import add_segments

    rng = np.random.default_rng(5)
    n = 200
    noise = 93.4316 + rng.uniform(0.0, 0.00025, n)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in range(n)],
            "last_order_date": date(2024, 1, 1),
            "historic_number_of_orders": 2,
            "historic_clv": 10.0,
            "predicted_clv": noise,
            "channel": "web",
        }
    )
    releases = [] if has_releases else None
    tiers = ["predicted_spend_tier"]

    def tiers_of(values):
        table = ibis.memtable(frame.assign(predicted_clv=values), schema=SEGMENTED_SCHEMA)
        done = add_segments(table, date(2024, 12, 31), n, has_predictions=True, releases=releases)
        return done.order_by("customer_id").to_pandas()[tiers[0]].value_counts().to_dict()

    assert tiers_of(noise) == {"medium": n}
    cents = np.round(noise, 2) + np.repeat([0.0, 0.01], [n - 60, 60])  # 60 a cent higher
    assert tiers_of(cents) == {"medium": n - 60, "high": 60}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-50, 50), max_size=60),
    st.sampled_from([(0.3, 0.1), (0.2, 0.25), (0.5, 0.5), (0.05, 0.9)]),
)
def test_thresholds_split_keys_as_the_tiers_do(keys, shares):
    high_share, low_share = shares
    low, high = tier_thresholds(np.asarray(keys, dtype=np.int64), high_share, low_share)
    expected = predicted_spend_tier(np.asarray(keys, dtype=float), high_share, low_share)
    got = [
        "low" if low is not None and key <= low else
        "high" if high is not None and key >= high else "medium"
        for key in keys
    ]  # fmt: skip
    assert got == list(expected)
    # the thresholds are keys themselves: the greatest low one and the least high one
    assert low is None or (low in keys and "low" == expected[keys.index(low)])
    assert high is None or (high in keys and "high" == expected[keys.index(high)])


def test_thresholds_of_keys_past_the_float_range():
    # money keys are whole millionths: beyond 2**53 floats cannot tell neighbours apart
    base = 2**62
    keys = np.array([base + i for i in range(10)], dtype=np.int64)
    assert tier_thresholds(keys) == (base, base + 7)
    assert tier_thresholds(keys[::-1].copy()) == (base, base + 7)
    assert tier_thresholds(np.array([], dtype=np.int64)) == (None, None)
    assert tier_thresholds(np.full(5, 3, dtype=np.int64)) == (None, None)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-20, 20), max_size=50), st.integers(0, 30))
def test_score_thresholds_give_each_key_its_score(keys, extra):
    # a shop of n customers, some of them without a key (n counts them all)
    n = len(keys) + extra
    found = score_thresholds(np.asarray(keys, dtype=np.int64), n)
    assert list(found) == ["s1", "s2", "s3", "s4"]
    for key in keys:
        worse = sum(other < key for other in keys)
        reached = sum(t is not None and key >= t for t in found.values())
        assert 1 + reached == 1 + (5 * worse) // n
    # each threshold is a key that reaches it, and no smaller key does
    for k, threshold in enumerate(found.values(), start=1):
        reaching = [key for key in keys if 5 * sum(o < key for o in keys) >= k * n]
        assert threshold == (min(reaching) if reaching else None)


def test_score_thresholds_of_no_customers_and_no_keys():
    # n = 0: every key reaches every score, as the engine's rule (5 worse >= k n) has it
    assert score_thresholds(np.array([3, 1, 2]), 0) == dict.fromkeys(("s1", "s2", "s3", "s4"), 1)
    assert score_thresholds(np.array([], dtype=np.int64), 7) == dict.fromkeys(
        ("s1", "s2", "s3", "s4")
    )
