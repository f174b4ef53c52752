"""Fits run together (valuecast.models._lockstep): the same results as one after the other."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from valuecast.models import FitError, ParetoNBD, pareto_nbd
from valuecast.models._lockstep import run_together


@pytest.fixture(scope="module")
def shop():
    """A fitted Pareto/NBD and the distinct histories of a small simulated shop."""
    simulated = ParetoNBD().with_params({"r": 0.6, "alpha": 40.0, "s": 0.8, "beta": 90.0})
    rng = np.random.default_rng(3)
    frame = simulated.simulate(rng.uniform(30, 700, 400).round(), seed=4)
    histories = frame.groupby(["frequency", "recency", "T"]).size().reset_index(name="n")
    columns = tuple(histories[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    weights = histories["n"].to_numpy(float)
    return ParetoNBD().fit(*columns, weights=weights), columns, weights


def _refit(model, columns, weights):
    fitted = model.refit(*columns, weights=weights, standard_errors=False)
    return fitted.params_, fitted.log_likelihood_, fitted.n_iterations_


def test_refits_run_together_give_the_same_bits_as_one_after_the_other(shop, monkeypatch):
    model, columns, weights = shop
    evaluate, sizes = ParetoNBD._negative_log_likelihoods, []

    def counted(requests):
        sizes.append(len(requests))
        return evaluate(requests)

    monkeypatch.setattr(ParetoNBD, "_negative_log_likelihoods", staticmethod(counted))
    rng = np.random.default_rng(8)
    draws = [rng.multinomial(int(weights.sum()), weights / weights.sum()) for _ in range(12)]
    tasks = []
    for draw in draws:
        kept = draw > 0
        tasks.append(
            functools.partial(_refit, model, tuple(c[kept] for c in columns), draw[kept] * 1.0)
        )
    alone = [task() for task in tasks]
    together = run_together(tasks)
    assert together == alone  # the parameters as floats, to the bit
    assert len({repr(result[0]) for result in together}) > 1  # the draws differ
    assert sizes[0] == len(tasks) and len(sizes) < sum(result[2] for result in alone)


def test_a_fit_failing_among_others_fails_alone_and_is_raised_after_the_others_end(shop):
    model, columns, weights = shop
    ended = []

    def good():
        result = _refit(model, columns, weights)
        ended.append("good")
        return result

    def bad():  # no customer with a repeat purchase
        return _refit(model, (np.zeros(3), np.zeros(3), np.array([10.0, 20.0, 30.0])), np.ones(3))

    with pytest.raises(FitError, match="no customer has a repeat purchase"):
        run_together([good, bad, good])
    assert ended == ["good", "good"]


class _Stop(BaseException):
    pass


def test_a_failing_batch_stops_every_fit_and_is_raised(shop, monkeypatch):
    model, columns, weights = shop

    def stop(requests):
        raise _Stop

    monkeypatch.setattr(ParetoNBD, "_negative_log_likelihoods", staticmethod(stop))
    with pytest.raises(_Stop):
        run_together([functools.partial(_refit, model, columns, weights)] * 3)


def test_a_batch_that_raises_is_answered_one_fit_at_a_time(shop, monkeypatch):
    # one fit's evaluation raising must not fail the others in its batch
    model, columns, weights = shop
    evaluate = ParetoNBD._negative_log_likelihoods

    def picky(requests):
        if any(np.asarray(request[3]).sum() == 3.0 for request in requests):
            if len(requests) > 1:
                raise ValueError("batch")
            raise FloatingPointError("this fit's")
        return evaluate(requests)

    monkeypatch.setattr(ParetoNBD, "_negative_log_likelihoods", staticmethod(picky))

    repeaters = np.flatnonzero(columns[0] > 0)[:3]

    def failing():
        return _refit(model, tuple(c[repeaters] for c in columns), np.ones(3))

    good = functools.partial(_refit, model, columns, weights)
    with pytest.raises(FloatingPointError, match="this fit's"):
        run_together([good, failing])
    monkeypatch.undo()
    assert run_together([good, good]) == [good(), good()]


@pytest.mark.parametrize("rows", [0, 7, 3000, 50_000])
def test_pairs_are_numbered_in_the_order_first_seen_on_both_sides_of_the_sorting_limit(rows):
    rng = np.random.default_rng(rows)
    x = rng.integers(0, 30, rows).astype(float)
    t = rng.integers(0, 400, rows).astype(float)
    if rows:
        x[0], t[0] = -0.0, 0.0  # grouped with 0.0, as pandas groups it
        x[1], t[1] = 0.0, 0.0
    codes, first = pareto_nbd._first_seen_codes(x, t)
    grouped = pd.DataFrame({"x": x, "t": t}).groupby(["x", "t"], sort=False)
    np.testing.assert_array_equal(codes, grouped.ngroup().to_numpy())
    np.testing.assert_array_equal(first, grouped.head(1).index.to_numpy())
    assert rows <= pareto_nbd._SORTED_PAIRS_MAX or rows == 50_000
