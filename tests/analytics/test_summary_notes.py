"""Notes of the analysis' summary on what its totals and probabilities rest on."""

from __future__ import annotations

from valuecast.analysis.customers import _one_time_buyers_alive_note, one_customer_note


def test_one_customer_holding_a_quarter_of_the_predicted_value_is_named():
    (note,) = one_customer_note(("c00003", 104_664.0), 186_657.0, 300)
    assert note.startswith("one customer (c00003) holds 56% of the predicted CLV")
    assert one_customer_note(("c1", 24.0), 100.0, 300) == []  # under a quarter
    assert one_customer_note(("c1", 24.0), None, 300) == []  # nothing predicted
    assert one_customer_note(None, 100.0, 300) == []
    assert one_customer_note(("c1", 90.0), 100.0, 1) == []  # a shop of one


def test_bgnbd_says_it_holds_one_time_buyers_alive():
    fitted = {"name": "bgnbd", "params": {"r": 1.0}}
    (note,) = _one_time_buyers_alive_note(fitted, 57)
    assert note.startswith("BG/NBD holds the 57 customers who have not ordered again alive")
    assert _one_time_buyers_alive_note({**fitted, "name": "bgnbd+season"}, 57)
    assert _one_time_buyers_alive_note({**fitted, "name": "mbgnbd"}, 57) == []
    assert _one_time_buyers_alive_note({"name": "bgnbd"}, 57) == []  # not fitted
    assert _one_time_buyers_alive_note(fitted, 0) == []
    (one,) = _one_time_buyers_alive_note(fitted, 1)
    assert one.startswith("BG/NBD holds the 1 customer who has not ordered again alive")


def _summary(returning: list[float], model: str = "bgnbd", customers: int = 300) -> dict:
    """A summary whose months (from January 2023) had the ``returning`` revenue."""
    months = [f"{2023 + m // 12}-{m % 12 + 1:02d}" for m in range(len(returning))]
    return {
        "n_customers": customers,
        "model": {"name": model, "params": {"r": 1.0}},
        "growth": {"growth_stage": {"monthly_revenue": [
            {"month": month, "new_revenue": 10.0, "returning_revenue": value}
            for month, value in zip(months, returning, strict=True)
        ]}},
    }  # fmt: skip


def test_repeat_revenue_crowding_into_two_months_of_two_years_without_seasons_is_noted():
    from valuecast.jobs.analyze import seasonal_repeat_note

    gifts = [5.0] * 10 + [120.0, 150.0]  # November and December
    (note,) = seasonal_repeat_note(_summary(gifts * 2))
    assert note.startswith(
        "84% of the last 12 months' repeat revenue fell in November and December (84% the year "
        "before), and the model has no seasons"
    )
    assert seasonal_repeat_note(_summary(gifts * 2, "bgnbd+season")) == []  # seasons fitted
    assert seasonal_repeat_note(_summary([10.0] * 24)) == []  # even years
    assert seasonal_repeat_note(_summary(gifts + gifts[:11] + [None])) == []  # 23 months
    # December and January are neighbours too
    (note,) = seasonal_repeat_note(_summary(([150.0] + [5.0] * 10 + [120.0]) * 2))
    assert "fell in December and January" in note
    # five customers' orders crowd into any two months by chance
    assert seasonal_repeat_note(_summary(gifts * 2, customers=5)) == []


def test_one_crowded_year_is_no_season():
    # a shop launched in June: its repeat revenue crowds into the months after as its first
    # customers come back; one that stopped selling: into its last months; a year of history
    from valuecast.jobs.analyze import seasonal_repeat_note

    launched = [0.0] * 17 + [150.0, 120.0, 30.0, 20.0, 10.0, 5.0, 5.0]
    assert seasonal_repeat_note(_summary(launched)) == []
    stopped = [10.0] * 12 + [10.0, 10.0, 10.0, 90.0, 100.0, 20.0] + [0.0] * 6
    assert seasonal_repeat_note(_summary(stopped)) == []
    one_year = [5.0] * 10 + [120.0, 150.0]
    assert seasonal_repeat_note(_summary(one_year)) == []
