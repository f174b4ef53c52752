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


def test_orders_sharing_a_day_say_the_predictions_count_purchase_days(tmp_path):
    """A shop whose every order comes with an add-on order the same day: the models count one
    purchase a day, so its predicted orders and predicted order value are per purchase day,
    beside historic orders counted twice, and the summary says so; the same shop with one order
    a day has no such note."""
    import json

    import numpy as np
    from typer.testing import CliRunner

    from valuecast.cli import app

    rng = np.random.default_rng(4)
    rows = []
    for customer in range(120):
        days = np.sort(rng.choice(700, size=1 + rng.poisson(3), replace=False))
        for day in days:
            date = (np.datetime64("2024-01-01") + int(day)).astype(str)
            rows.append((f"c{customer}", f"{customer}-{day}", date, 40.0))
    single = tmp_path / "single.csv"
    split = tmp_path / "split.csv"
    single.write_text("customer,order,date,amount\n" + "".join(
        f"{c},{o},{d},{a:.2f}\n" for c, o, d, a in rows))  # fmt: skip
    split.write_text("customer,order,date,amount\n" + "".join(
        f"{c},{o}{part},{d},{a / 2:.2f}\n" for c, o, d, a in rows for part in "ab"))  # fmt: skip
    notes = {}
    for path in (single, split):
        out = tmp_path / path.stem
        result = CliRunner().invoke(app, [
            "analyze", str(path), "-w", str(tmp_path / f"{path.stem}.duckdb"), "--out", str(out),
            "--map", "customer_id=customer,order_id=order,ordered_at=date,revenue=amount",
        ])  # fmt: skip
        assert result.exit_code == 0, result.output
        notes[path.stem] = json.loads((out / "summary.json").read_text())["notes"]
    orders = 2 * len(rows)
    assert (
        f"{len(rows):,} of the customers' {orders:,} orders are a second or later order of the "
        "customer's day: the models count purchase days (one a day), so predicted orders count "
        "purchase days and the predicted average order value is a purchase day's orders "
        "(2.00 orders a purchase day so far)"
    ) in notes["split"]
    assert not [note for note in notes["single"] if "purchase day" in note]
