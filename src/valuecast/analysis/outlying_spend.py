"""Whether a few customers' order values move every other customer's predicted order value.

The Gamma-Gamma spend model gives a customer without a repeat order the population mean
``p v / (q - 1)``, fitted on every repeat customer's mean order value.  A handful of wholesale or
business accounts, whose orders are worth a hundred consumers' each, drag that mean and with it
the predicted order value of every one-time buyer.  :func:`outlying_spend` finds such customers
(far above the rest on a log scale), refits the spend model without them on the same compressed
rows, and says how far they move the one-time buyers' value; :func:`outlying_spend_note` words
it for the summary's notes.  Nothing predicted changes: the note tells, the merchant decides.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from valuecast.analysis.uncertainty import spend_coefficients
from valuecast.models import FitError, GammaGamma
from valuecast.tables import amount_text, round_half_up

FAR_SPREADS = 5.0
"""How many robust standard deviations of the log mean repeat order value (1.4826 times its
median absolute deviation) above the median a customer's mean lies to count as far beyond the
rest: a log-normal bulk leaves one customer in 3.5 million there by chance, and a shop of widely
spread orders reads its own tail as no outliers (CDNOW's spread puts the line at 22x its
median, beyond every one of its customers)."""

LEAST_MULTIPLE = 10.0
"""The least multiple of the median that counts as far beyond the rest: a customer of another
kind spends an order of magnitude more, where a tight bulk (every order 20-120, five of its
robust standard deviations 3.5x the median) would flag its own larger baskets."""

LEAST_REST = 20
"""The repeat customers the rest must hold for their median and spread, and the spend model
refitted on them, to mean something."""

MOST_FAR = 0.05
"""The largest share of the repeat customers that counts as "a few" far beyond the rest: a shop
of two kinds of order (a quarter of its repeat customers buy 60 baskets, the rest a 5.00 refill)
has no spread in its bulk, so the baskets lie beyond ten times the median, yet they are its
customers, not accounts of another kind."""

MOVE_FROM = 0.2
"""The relative change of the one-time buyers' predicted order value from which the note is
given: the population mean's own standard error is 2-5% in fits on 200-1,200 repeat customers
(CDNOW, the demo shop, 300 consumers with 5 wholesale accounts), so a fifth is far beyond the
estimate's noise, and it changes every one-time buyer's predicted CLV by as much."""


@dataclass(frozen=True)
class OutlyingSpend:
    """A few repeat customers' effect on the predicted order value of one-time buyers:
    ``customers`` whose mean repeat order value is above ``multiple`` times the median (the
    largest ``largest``) move it from ``one_time_value_without_them`` (the model refitted
    without them) to ``one_time_value`` (the model the analysis predicts with)."""

    customers: int
    multiple: float
    largest: float
    one_time_value_without_them: float
    one_time_value: float

    @property
    def change(self) -> float:
        """The relative change of the one-time buyers' predicted order value they make."""
        return self.one_time_value / self.one_time_value_without_them - 1.0


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The smallest value with at least half the weight at or below it."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def far_spenders(monetary_value: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, float]:
    """Which rows' mean repeat order value lies far beyond the rest on a log scale, and the
    multiple of the median it takes: at least :data:`LEAST_MULTIPLE` and
    :data:`FAR_SPREADS` robust standard deviations of the log values (weighted by ``weights``,
    the customers each row stands for).

    The median and the spread are the bulk's, untouched by the few far above it, so a handful
    of wholesale accounts stand out however large they are.
    """
    nobody = np.zeros(len(monetary_value), dtype=bool), LEAST_MULTIPLE
    largest = monetary_value.max()
    # under half the customers below a tenth of the largest: the median is at least that tenth,
    # so nobody is beyond ten times it; told without sorting, as most shops are
    if weights[LEAST_MULTIPLE * monetary_value < largest].sum() < 0.5 * weights.sum():
        return nobody
    median = _weighted_median(monetary_value, weights)
    if not largest > LEAST_MULTIPLE * median:
        return nobody
    distance = np.abs(np.log(monetary_value) - np.log(median))
    spread = 1.4826 * _weighted_median(distance, weights)
    multiple = max(LEAST_MULTIPLE, float(np.exp(FAR_SPREADS * spread)))
    return monetary_value > multiple * median, multiple


def _one_time_value(spend_model: GammaGamma) -> float:
    """The predicted order value of a customer without a repeat order, in the float steps the
    customers table computes it with (``A(0)`` of :func:`spend_coefficients`)."""
    base, _ = spend_coefficients(spend_model.params_, np.zeros(1))
    return float(base[0])


def outlying_spend(
    spend_model: GammaGamma, frequency: np.ndarray, monetary_value: np.ndarray, weights: np.ndarray
) -> OutlyingSpend | None:
    """The effect of the few repeat customers far beyond the rest (:func:`far_spenders`) on the
    one-time buyers' predicted order value, or None when there are none, more than
    :data:`MOST_FAR` of them, too few others, the refit fails or they move it by less than
    :data:`MOVE_FROM`.

    ``spend_model`` is the model fitted on the compressed rows (``frequency``,
    ``monetary_value``, ``weights``: the repeat customers' distinct (x, m) and how many have
    each); the refit without them is fitted the same way on the same rows less theirs.
    """
    far, multiple = far_spenders(monetary_value, weights)
    customers = float(weights[far].sum())
    if customers == 0 or float(weights[~far].sum()) < LEAST_REST:
        return None
    if customers > MOST_FAR * float(weights.sum()):
        return None
    try:
        # the refit's limit and convergence warnings are about a model nobody predicts with
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            rest = GammaGamma(standard_errors=False).fit(
                frequency[~far], monetary_value[~far], weights=weights[~far]
            )
            rest.expected_average_value_population()  # raises where q <= 1: no finite mean
            without = _one_time_value(rest)
    except (FitError, ValueError, FloatingPointError):
        return None
    found = OutlyingSpend(
        customers=int(round(customers)),
        multiple=multiple,
        largest=float(monetary_value[far].max()),
        one_time_value_without_them=without,
        one_time_value=_one_time_value(spend_model),
    )
    return found if abs(found.change) >= MOVE_FROM else None


def outlying_spend_note(found: OutlyingSpend) -> str:
    """The summary's note on :class:`OutlyingSpend`: who, how far they move the one-time buyers'
    predicted order value, and what to do if they are another kind of customer."""
    one = found.customers == 1
    who = (
        f"{found.customers:,} {'customer' if one else 'customers'} whose average repeat order is "
        f"more than {int(found.multiple):,}x the median repeat customer's (up to "
        f"{amount_text(found.largest, 2)})"
    )
    verb = ("raises" if one else "raise") if found.change > 0 else ("lowers" if one else "lower")
    change = int(round_half_up(100 * found.change, 0))
    advice = (
        "if it is a wholesale or business account, analyse it separately"
        if one
        else "if they are wholesale or business accounts, analyse them separately"
    )
    before = amount_text(found.one_time_value_without_them, 2)
    after = amount_text(found.one_time_value, 2)
    return (
        f"{who} {verb} the predicted order value of customers without a repeat order from "
        f"{before} to {after} ({change:+d}%); {advice}"
    )
