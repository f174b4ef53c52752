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
