"""Shared maximum-likelihood machinery for every model in :mod:`valuecast.models`.

Every model is fitted on *compressed sufficient statistics*: customers with identical
histories are grouped into one row with a weight, so the cost of a likelihood evaluation grows
with the number of distinct histories, not with the number of customers.  Parameters are
optimised on the log scale with L-BFGS (scipy), using the model's analytic gradient when it has
one.  Standard errors come from the observed information matrix (the Hessian of the negative
log-likelihood at the optimum, taken on the log scale and mapped back with the delta method).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from valuecast.errors import ValuecastError

ArrayLike = Any  # numpy arrays, pandas Series, lists, scalars

# Log parameters are searched in [-20, 20]: wide enough for any interior optimum in day units,
# and narrow enough that the likelihood's gammaln and power terms keep ~1e-6 absolute precision
# at the bounds (at e^30 they are ~1e12 and lose the third decimal). A parameter this close to
# a bound has run to its limit.
LOG_BOUND = 20.0
LOG_EDGE = 19.9
# the optimiser's settings for every maximum-likelihood search, free or held at a limit
SEARCH_OPTIONS = MappingProxyType({"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9, "maxcor": 20})
# A shape parameter this far (in log units) towards a limit of the space makes the fit try that
# limit model too: an optimum that creeps towards it (a = 1e-5, ...) stops wherever the slope
# falls under the tolerance, and the limit itself is as good or better.
LIMIT_SEARCH_FROM = 5.0
# From this r on (the purchase rates' Gamma law narrowing towards one rate, where the fit tries
# that limit) the likelihoods of BG/NBD, MBG/NBD and Pareto/NBD are summed in a form that keeps
# its precision as r and alpha run off together; below it, in the form that reads as the paper's
ONE_RATE_RIDGE = float(np.exp(LIMIT_SEARCH_FROM))
# The limit model is the answer when its log-likelihood is at most this much below the interior
# point's: the data cannot tell the two apart (a likelihood-ratio statistic of 2e-6), and the
# limit is the reproducible one, with identified standard errors.
LIMIT_TIE = 1e-6


@dataclass(frozen=True)
class Limit:
    """A limit of a model's parameter space that is itself a model (Pareto/NBD with s -> 0 is the
    NBD).

    ``at`` maps the parameters that run off to the side they run to (``"0"`` or ``"inf"``); the
    fit stands for the limit with them on the edge of the search box.  ``unidentified`` are the
    parameters the limit model does not depend on (those of ``at`` and any left without
    influence), which have no standard error.  ``meaning`` says in plain words what the limit is.
    ``triggers`` (each a shape parameter and the side it runs to): the fit tries this limit
    explicitly whenever the optimum leans one of those ways (beyond :data:`LIMIT_SEARCH_FROM`).
    ``keeps``: a parameter whose ratio to the one of ``at`` the limit keeps (r of alpha -> inf at
    a fixed r/alpha); the search of the limit starts with it moved along, on that ridge.
    """

    at: dict[str, str]
    unidentified: tuple[str, ...]
    meaning: str
    triggers: tuple[tuple[str, str], ...] = ()
    keeps: str | None = None


ONE_PURCHASE_RATE = Limit(
    {"alpha": "inf"},
    ("alpha",),
    "one purchase rate for everyone (r/alpha)",
    (("r", "inf"),),
    keeps="r",
)
"""Gamma(r, alpha) with r, alpha -> inf at a fixed r/alpha: one Poisson purchase rate, the limit
of every model with a gamma-mixed purchase rate.  Tried when r runs off: the optimiser creeps
along that ridge and stops short of the edge, wherever rounding has it."""


class FitError(ValuecastError, RuntimeError):
    """Raised when a model cannot be fitted to the data it was given."""


class NotFittedError(RuntimeError):
    """Raised when a prediction is asked of a model that has not been fitted."""


class NoStandardErrorsWarning(RuntimeWarning):
    """Warned when a fit's information matrix is singular at its optimum: the fit stands, but
    without standard errors or parameter draws (what the predictions' intervals are made of)."""


def edge_of(side: str) -> float:
    """The log parameter on the edge of the search space a limit's side (``"inf"`` or ``"0"``)
    stands for."""
    return LOG_BOUND if side == "inf" else -LOG_BOUND


def as_float_array(values: ArrayLike, name: str) -> np.ndarray:
    """Return ``values`` as a 1-d float array, rejecting NaN and infinities with a clear message."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


_REMEMBERED: ContextVar[list | None] = ContextVar("valuecast_remembered_histories", default=None)


@contextmanager
def remembering_histories() -> Iterator[None]:
    """Within it, a model remembers the last histories it validated and grouped for a prediction.

    The delta method predicts for the same histories at five parameter sets, and the
    per-history predictions read them again: the BG/NBD family then validates and groups them
    once.  Outside it nothing is remembered (nor kept alive).
    """
    token = _REMEMBERED.set([None])
    try:
        yield
    finally:
        _REMEMBERED.reset(token)


def remembered_histories() -> list | None:
    """The one-place memory :func:`remembering_histories` opened, or None outside it."""
    return _REMEMBERED.get()


def compress_histories(
    *columns: np.ndarray, weights: np.ndarray | None = None
) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """Group identical rows of ``columns``.

    Returns ``(unique_columns, counts, inverse)`` where ``unique_columns`` holds one array per
    input column with the distinct rows, ``counts`` the (weighted) number of customers sharing each
    distinct row, and ``inverse`` maps every input row to its distinct row, so that a per-row
    prediction is ``distinct_prediction[inverse]``.
    """
    inverse, n_distinct = _row_codes(columns)
    # index of one row per distinct history (any representative will do: rows are identical)
    first = np.empty(n_distinct, dtype=np.int64)
    first[inverse] = np.arange(len(inverse))
    unique_columns = tuple(np.asarray(column)[first] for column in columns)
    counts = np.bincount(inverse, weights=weights, minlength=n_distinct).astype(float)
    return unique_columns, counts, inverse


def distinct_histories(
    *columns: np.ndarray, weights: ArrayLike | None = None
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """The distinct rows of ``columns`` that stand for any customer, and how many each does.

    ``weights`` (validated by :func:`prepare_weights`) counts the customers of each input row.
    """
    counted = prepare_weights(weights, len(columns[0]))
    unique_columns, counts, _ = compress_histories(*columns, weights=counted)
    keep = counts > 0
    return tuple(column[keep] for column in unique_columns), counts[keep]


def _column_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense integer codes of one column and the number of distinct values.

    Whole numbers in a modest range (days, counts) are coded by offset and a presence table,
    without hashing; anything else is hashed with ``pandas.factorize``.
    """
    values = np.asarray(values)
    if len(values) and values.dtype.kind in "fiu":
        low, high = values.min(), values.max()
        if high - low < 2_000_000 and np.array_equal(values, np.floor(values)):
            offsets = (values - low).astype(np.intp)
            present = np.bincount(offsets, minlength=int(high - low) + 1) > 0
            lookup = np.cumsum(present) - 1
            return lookup[offsets], int(present.sum())
    codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.intp), len(uniques)


def _distinct_in_order(columns: tuple[np.ndarray, ...]) -> bool:
    """Whether the rows are whole numbers in strictly increasing order (a grouped, sorted table).

    Their codes are then their positions: the codes of :func:`_column_codes` rise with whole
    numbers, so the mixed-radix keys rise with the rows and number them in order.  Checked in a
    few vector passes, against a hash of every row (0.03 s at 475,000 distinct histories).
    """
    arrays = [np.asarray(column) for column in columns]
    if len(arrays[0]) < 2 or any(a.ndim != 1 or a.dtype.kind not in "fiu" for a in arrays):
        return False
    if np.any(arrays[0][1:] < arrays[0][:-1]):  # the usual answer, from the first column alone
        return False
    later = np.zeros(len(arrays[0]) - 1, dtype=bool)
    tied = np.ones(len(arrays[0]) - 1, dtype=bool)
    for a in arrays:
        later |= tied & (a[1:] > a[:-1])
        tied &= a[1:] == a[:-1]
    if not later.all():
        return False
    # the range and wholeness :func:`_column_codes` codes by offset, in value order
    return all(a.max() - a.min() < 2_000_000 and np.array_equal(a, np.floor(a)) for a in arrays)


def _row_codes(columns: tuple[np.ndarray, ...]) -> tuple[np.ndarray, int]:
    """Dense codes of the distinct rows of ``columns`` and their number.

    Each column is coded on its own (linear time); the codes are combined in mixed radix into one
    integer key, which is made dense with a presence table when the key space is small and by
    hashing otherwise.  Several times faster than a lexicographic sort of the rows.
    """
    if _distinct_in_order(columns):
        return np.arange(len(columns[0]), dtype=np.intp), len(columns[0])
    key = np.zeros(len(columns[0]), dtype=np.intp)
    radix = 1
    for column in columns:
        codes, cardinality = _column_codes(column)
        cardinality = max(cardinality, 1)
        if radix * cardinality >= 2**62:  # re-densify before the key could overflow
            key, radix = _row_codes((key,))
        key = key * cardinality + codes
        radix *= cardinality
    # a presence table pays off while it is not much larger than the data itself
    if radix <= min(20_000_000, 16 * len(key) + 65_536):
        present = np.bincount(key, minlength=radix) > 0
        lookup = np.cumsum(present) - 1
        return lookup[key], int(present.sum())
    inverse, uniques = pd.factorize(key, sort=False)
    return inverse.astype(np.intp), len(uniques)


def prepare_weights(weights: ArrayLike | None, n: int) -> np.ndarray:
    """Validate optional per-row weights (counts of customers sharing a history)."""
    if weights is None:
        return np.ones(n)
    weights = as_float_array(weights, "weights")
    if weights.shape != (n,):
        raise ValueError(f"weights has {weights.shape[0]} rows but the data has {n}")
    if np.any(weights < 0):
        raise ValueError("weights must be non-negative")
    if weights.sum() <= 0:
        raise ValueError("weights sum to zero: there is nothing to fit")
    return weights


def numerical_gradient(function, x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central finite-difference gradient of a scalar function."""
    gradient = np.empty_like(x)
    for i in range(len(x)):
        h = step * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        gradient[i] = (function(up) - function(down)) / (2 * h)
    return gradient


def numerical_hessian(
    gradient, x: np.ndarray, step: float = 1e-5, central: bool = False
) -> np.ndarray:
    """Hessian by finite differences of a gradient function, symmetrised.

    Forward differences cost one gradient per parameter (plus one at ``x``); at an optimum of a
    smooth log-likelihood their O(step) error (about 1e-5 relative) is far below the sampling
    error the Hessian is used for. ``central=True`` halves the error at twice the cost.
    """
    n = len(x)
    hessian = np.empty((n, n))
    base = None if central else np.asarray(gradient(x))
    for i in range(n):
        h = step * max(1.0, abs(x[i]))
        up = x.copy()
        up[i] += h
        if central:
            down = x.copy()
            down[i] -= h
            hessian[i] = (gradient(up) - gradient(down)) / (2 * h)
        else:
            hessian[i] = (gradient(up) - base) / h
    return (hessian + hessian.T) / 2


class BaseModel:
    """Common estimator behaviour (scikit-learn style).

    Subclasses set ``_param_names`` and implement:

    * ``_negative_log_likelihood(log_params, data, weights)`` returning ``(value, gradient)`` of the
      *total* weighted negative log-likelihood with respect to the log parameters; ``gradient`` may
      be ``None`` when no analytic gradient is available (a finite-difference one is used then);
    * ``_initial_log_params(data, weights)`` returning a starting point on the log scale.

    Their ``fit`` validates and compresses the inputs and calls :meth:`_fit_compressed`.
    """

    _param_names: tuple[str, ...] = ()
    _label: str = ""  # how the model is named in notes ("Pareto/NBD")
    _limits: tuple[Limit, ...] = ()  # the limits of the parameter space that are models

    def __init__(
        self,
        penalizer: float = 0.0,
        initial_params: dict[str, float] | None = None,
        standard_errors: bool = True,
    ):
        """``standard_errors=False``: the fit skips the information matrix (one gradient per
        parameter and one at the optimum) and reports NaN errors and covariance, for a caller that
        reads only the estimates and the log-likelihood."""
        self.penalizer = penalizer
        self.initial_params = initial_params
        self._with_errors = standard_errors

    # -- hooks -----------------------------------------------------------------------------------
    def _negative_log_likelihood(
        self, log_params: np.ndarray, data: tuple[np.ndarray, ...], weights: np.ndarray
    ) -> tuple[float, np.ndarray | None]:
        raise NotImplementedError

    def _initial_log_params(self, data: tuple[np.ndarray, ...], weights: np.ndarray) -> np.ndarray:
        return np.zeros(len(self._param_names))

    # -- fitting ---------------------------------------------------------------------------------
    def _total_nll(
        self, theta: np.ndarray, data: tuple[np.ndarray, ...], weights: np.ndarray
    ) -> tuple[float, np.ndarray | None]:
        """The negative log-likelihood of the whole search vector ``theta``.

        ``theta`` holds the log parameters, then any covariate coefficients (a model with
        covariates extends this); here it is the log parameters alone.
        """
        return self._negative_log_likelihood(theta, data, weights)

    def _remembered_nll(
        self, theta: np.ndarray, data: tuple, weights: np.ndarray, fresh: bool = False
    ) -> tuple[float, np.ndarray | None]:
        """:meth:`_total_nll`, remembered for the last point asked.

        The optimum is asked for again after the search (its finiteness check, the Hessian's base
        gradient), and a likelihood pass over the distinct histories is the fit's unit of cost.
        ``fresh``: evaluated even when remembered, so that the floating-point warnings of the
        log-likelihood reported at the optimum are raised where no ``np.errstate`` silences them.
        """
        key = np.asarray(theta, dtype=float).tobytes()
        last = self.__dict__.get("_last_nll")
        if not fresh and last is not None and last[0] == key:
            if last[1] is data and last[2] is weights:
                return last[3]
        value = self._total_nll(theta, data, weights)
        self._last_nll = (key, data, weights, value)
        return value

    def _penalty(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Per-customer penalty and its gradient: ``penalizer`` times the squared parameters.

        Covariate coefficients (after the log parameters in ``theta``) are penalised by their own
        ``l2`` weight, as CLVTools does (its ``reg.lambdas``, on the mean log-likelihood).
        """
        n_base = len(self._param_names)
        params = np.exp(theta[:n_base])
        coefficients = theta[n_base:]
        l2 = getattr(self, "l2_", 0.0)
        value = self.penalizer * np.sum(params**2) + l2 * np.sum(coefficients**2)
        gradient = np.concatenate([2 * self.penalizer * params**2, 2 * l2 * coefficients])
        return value, gradient

    def _objective(self, log_params, data, weights, n_total):
        """Penalised mean negative log-likelihood and its gradient (log scale)."""
        value, gradient = self._remembered_nll(log_params, data, weights)
        if gradient is None:
            gradient = numerical_gradient(
                lambda p: self._total_nll(p, data, weights)[0], log_params
            )
        penalty, penalty_gradient = self._penalty(log_params)
        value = value / n_total + penalty
        gradient = np.asarray(gradient) / n_total + penalty_gradient
        if not np.isfinite(value):
            # Steer the optimiser away from regions where the likelihood underflows.
            return 1e100, np.zeros_like(log_params)
        return value, gradient

    def _plain_data(self, data, weights) -> tuple:
        """The data and weights the model without covariates would be fitted on (its start)."""
        return data, weights

    def _start_coefficients(self, data) -> np.ndarray:
        """Start values of the covariate coefficients after the log parameters (none here)."""
        return np.zeros(0)

    def _tell(self, message: str, category: type[Warning]) -> None:
        """Warn of what the fit found, or, where it is one of several fits tried and only the
        kept one speaks (``_told`` a list), keep the warning for the caller to give."""
        told = getattr(self, "_told", None)
        if told is None:
            warnings.warn(message, category, stacklevel=4)
        else:
            told.append((message, category))

    def _check_penalizer(self) -> None:
        """A negative penalizer rewards large parameters (the fit runs off to infinity), and a
        NaN or text one is no weight: refused before the data are read."""
        penalizer = self.penalizer
        if isinstance(penalizer, bool) or not isinstance(penalizer, int | float | np.number):
            raise ValueError(f"penalizer must be a non-negative number, not {penalizer!r}")
        if not (np.isfinite(penalizer) and penalizer >= 0):
            raise ValueError(f"penalizer must be a non-negative number, not {penalizer!r}")

    def _fit_compressed(self, data: tuple[np.ndarray, ...], weights: np.ndarray):
        try:
            return self._search(data, weights)
        finally:
            self.__dict__.pop("_last_nll", None)  # it holds the data: not fitted state

    def _search(self, data: tuple[np.ndarray, ...], weights: np.ndarray):
        """The maximum-likelihood fit on the distinct histories (:meth:`_fit_compressed`)."""
        self._check_penalizer()
        n_total = float(weights.sum())
        if self.initial_params is not None:
            missing = set(self._param_names) - set(self.initial_params)
            if missing:
                raise ValueError(f"initial_params lacks {sorted(missing)}")
            x0 = np.log([float(self.initial_params[name]) for name in self._param_names])
        else:
            x0 = np.asarray(self._initial_log_params(*self._plain_data(data, weights)), dtype=float)
        x0 = np.concatenate([x0, self._start_coefficients(data)])
        name = type(self).__name__
        with np.errstate(all="ignore"):
            result = minimize(
                self._objective,
                x0,
                args=(data, weights, n_total),
                jac=True,
                method="L-BFGS-B",
                bounds=[(-LOG_BOUND, LOG_BOUND)] * len(x0),
                options=SEARCH_OPTIONS,
            )
            log_params = result.x
            total_nll, _ = self._remembered_nll(log_params, data, weights)
        if not np.all(np.isfinite(log_params)) or not np.isfinite(total_nll) or result.fun >= 1e99:
            raise FitError(
                f"{name} fit did not reach a finite likelihood ({result.message}). Try a small "
                "penalizer (e.g. penalizer=0.001), other initial_params, or check that the data "
                "are in consistent time units."
            )
        log_params, result = self._best_limit(log_params, result, data, weights, n_total)
        self.limits_ = {
            p: ("inf" if v > 0 else "0")
            for p, v in zip(self._param_names, log_params[: len(self._param_names)], strict=True)
            if abs(v) >= LOG_EDGE
        }
        matched = self._matched_limits(log_params[: len(self._param_names)])
        self.limit_note_ = None
        fixed: set[str] = set(self.limits_)
        if self.limits_:
            # The likelihood keeps rising towards a limit of the parameter space (no dropout
            # visible, or no heterogeneity left to estimate): the maximum over the search box is
            # that limit model, and its predictions are the limit's to many digits.  Where the
            # optimiser stops on the way there depends on rounding, so the answer must not.
            for limit in matched:
                fixed.update(limit.unidentified)
            shown = ", ".join(f"{p} -> {limit}" for p, limit in self.limits_.items())
            # two ways to one limit (q or v -> inf) name it once
            meaning = "; ".join(dict.fromkeys(m.meaning for m in matched)) or "a limit model"
            identified = [p for p in self._param_names if p not in fixed]
            self.limit_note_ = (
                f"{self._label or name}: {meaning} (the likelihood is highest at the limit "
                f"{shown}; the fit is that limit model, with the parameter(s) at the edge of the "
                f"search space standing for it; standard errors for "
                f"{', '.join(identified) or 'no parameter'} only)"
            )
            self._tell(self.limit_note_, RuntimeWarning)
        self._set_fitted(log_params, data, weights, n_total, result, fixed)
        return self

    def _matched_limits(self, log_params: np.ndarray) -> list[Limit]:
        """The model's known limits whose parameters all sit on the edge they stand for (a model
        may also name one its ``log_params`` stand for inside the box, adding its parameters to
        :attr:`limits_`)."""
        return [
            limit
            for limit in self._limits
            if all(self.limits_.get(p) == side for p, side in limit.at.items())
        ]

    def _best_limit(self, log_params, result, data, weights, n_total):
        """The interior optimum, or a searched limit model that fits at least as well.

        Each :class:`Limit` towards which the interior optimum leans (:meth:`_leans_towards`) is
        fitted with its parameters held on the edge (the others free, started from the optimum);
        the last of them whose objective is within :data:`LIMIT_TIE` of the best so far replaces
        the optimum.  A limit model may lean towards another limit in turn (one purchase rate
        for everyone, and nobody leaving): the search goes on from it in the same way, with the
        parameters of the limits taken held, and never further than :data:`LIMIT_TIE` from both
        the interior optimum and the limit it goes on from.
        """
        best_x, best = log_params, result
        tie = LIMIT_TIE / n_total  # the objective is the mean over customers
        held: list[Limit] = []
        meanings: set[str] = set()  # of the limits taken (one limit may have two parameters)
        while True:
            origin, taken = best_x, None
            # a limit the point already stands at (its parameters on the very edge, where the
            # search would hold them) needs no search, nor do the other ways to that limit
            reached = meanings | {
                limit.meaning for limit in self._limits if self._at(limit, origin)
            }
            for limit in self._limits:
                if set(limit.at) & {p for taken in held for p in taken.at}:
                    continue
                if limit.meaning in reached:
                    continue
                if not self._leans_towards(limit, origin, held):
                    continue
                candidate = self._fit_at_limit([*held, limit], origin, data, weights, n_total)
                reference = min(best.fun, result.fun) if held else best.fun
                if np.all(np.isfinite(candidate.x)) and candidate.fun <= reference + tie:
                    best_x, best, taken = candidate.x, candidate, limit
            if taken is None:
                return best_x, best
            held.append(taken)
            meanings.add(taken.meaning)

    def _at(self, limit: Limit, log_params: np.ndarray) -> bool:
        """Whether every parameter of ``limit`` lies on the very edge it stands for."""
        return all(
            log_params[self._param_names.index(name)] == edge_of(side)
            for name, side in limit.at.items()
        )

    def _leans_towards(self, limit: Limit, log_params: np.ndarray, held: list[Limit]) -> bool:
        """Whether ``log_params`` lie beyond :data:`LIMIT_SEARCH_FROM` towards a trigger of
        ``limit``, on a parameter not already held at the edge of another limit."""
        for shape, side in limit.triggers:
            if any(shape in taken.at for taken in held):
                continue
            value = log_params[self._param_names.index(shape)]
            if (value <= -LIMIT_SEARCH_FROM) if side == "0" else (value >= LIMIT_SEARCH_FROM):
                return True
        return False

    def _fit_at_limit(self, limits: list[Limit], log_params, data, weights, n_total):
        """The fit with the parameters of ``limits`` held on the edge they stand for, the others
        free and started from ``log_params`` (a kept ratio moved along)."""
        x0 = np.array(log_params, dtype=float)
        bounds = [(-LOG_BOUND, LOG_BOUND)] * len(x0)
        for limit in limits:
            for name, side in limit.at.items():
                i = self._param_names.index(name)
                edge = edge_of(side)
                if limit.keeps is not None:
                    k = self._param_names.index(limit.keeps)
                    x0[k] = np.clip(x0[k] + edge - x0[i], -LOG_BOUND, LOG_BOUND)
                x0[i], bounds[i] = edge, (edge, edge)
        with np.errstate(all="ignore"):
            return minimize(
                self._objective, x0, args=(data, weights, n_total), jac=True,
                method="L-BFGS-B", bounds=bounds, options=SEARCH_OPTIONS,
            )  # fmt: skip

    def _set_fitted(self, log_params, data, weights, n_total, result, fixed=frozenset()) -> None:
        n_base = len(self._param_names)
        params = np.exp(log_params[:n_base])
        self.params_ = {p: float(v) for p, v in zip(self._param_names, params, strict=True)}
        total_nll, _ = self._remembered_nll(log_params, data, weights, fresh=True)
        self.log_likelihood_ = float(-total_nll)
        self.n_customers_ = n_total
        self.n_distinct_histories_ = int(len(weights))
        self.converged_ = bool(result.success)
        self.n_iterations_ = int(result.nit)
        if not getattr(self, "_with_errors", True):
            n = len(log_params)
            self.hessian_log_ = self.covariance_full_ = np.full((n, n), np.nan)
            self.covariance_log_ = self.covariance_full_[:n_base, :n_base]
            self.standard_errors_ = dict.fromkeys(self._param_names, float("nan"))
            self._set_coefficients(log_params[n_base:], np.full(n - n_base, np.nan))
            return

        def total_gradient(p):
            value, gradient = self._remembered_nll(p, data, weights)
            if gradient is None:
                gradient = numerical_gradient(lambda q: self._total_nll(q, data, weights)[0], p)
            return np.asarray(gradient) + n_total * self._penalty(p)[1]

        with np.errstate(all="ignore"):
            hessian = numerical_hessian(total_gradient, log_params)
        self.hessian_log_ = hessian
        identified = [p not in fixed for p in self._param_names]
        identified += self._identified_coefficients(fixed, log_params[n_base:])
        covariance = _covariance_of_identified(hessian, identified)
        if covariance is None:
            self._tell(
                f"{self._label or type(self).__name__}: the information matrix is singular at "
                "the optimum, so "
                "there are no standard errors or parameter draws (a penalizer or more data "
                "usually helps)",
                NoStandardErrorsWarning,
            )
            covariance = np.full_like(hessian, np.nan)
        # over the log parameters and any covariate coefficients after them; covariance_log_ is
        # the log parameters' block, the shape every model's params_ has
        self.covariance_full_ = covariance
        self.covariance_log_ = covariance[:n_base, :n_base]
        # a parameter standing for a limit (or without influence there) has no standard error
        self.standard_errors_ = {
            p: float("nan") if p in fixed else float(v * np.sqrt(c))
            for p, v, c in zip(self._param_names, params, np.diag(covariance), strict=False)
        }
        self._set_coefficients(log_params[n_base:], np.diag(covariance)[n_base:])

    def _identified_coefficients(self, fixed: set[str], coefficients: np.ndarray) -> list[bool]:
        """Which covariate coefficients a fit at a limit still identifies (there are none here)."""
        return []

    def _set_coefficients(self, values: np.ndarray, variances: np.ndarray) -> None:
        """Record the fitted covariate coefficients (a model without covariates has none)."""

    # -- shared API ------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit() first")

    def _param_values(self) -> tuple[float, ...]:
        self._check_fitted()
        return tuple(self.params_[name] for name in self._param_names)

    def sample_params(self, n: int, seed: int | None = None) -> dict[str, np.ndarray]:
        """Draw ``n`` parameter sets from the asymptotic normal of the log parameters.

        Returns a dict mapping each parameter name to an array of ``n`` draws; use
        :meth:`with_params` to turn one draw into a model that predicts with it.
        """
        self._check_fitted()
        if not np.all(np.isfinite(self.covariance_log_)):
            raise FitError(
                f"{type(self).__name__}: the covariance of the estimates is not available, so "
                "parameters cannot be sampled; refit with a small penalizer."
            )
        rng = np.random.default_rng(seed)
        mean = np.log(self._param_values())
        # the base parameters' marginal: covariate coefficients, if any, stay at their estimates
        draws = np.exp(rng.multivariate_normal(mean, self.covariance_log_, size=n))
        return {name: draws[:, i] for i, name in enumerate(self._param_names)}

    def refit(
        self, *columns: ArrayLike, weights: ArrayLike, standard_errors: bool = True, **options: Any
    ):
        """A new model of this kind fitted on ``columns`` with ``weights``, started at this fit.

        For resampling: a bootstrap replicate reweights the same distinct histories, so its
        maximum lies near this one and the warm start saves most of the optimiser's steps.
        ``standard_errors=False`` skips the information matrix (NaN errors): a replicate is read
        for its estimate only.  ``options`` go to ``fit`` (a model's covariates, say).
        """
        self._check_fitted()
        fresh = type(self)(
            penalizer=self.penalizer,
            initial_params=dict(self.params_),
            standard_errors=standard_errors,
        )
        return fresh.fit(*columns, weights=weights, **options)

    def with_params(self, params: dict[str, float]):
        """Return a copy of this model that predicts with ``params`` (e.g. one sampled draw):
        every parameter of the model, each a positive finite number."""
        missing = [name for name in self._param_names if name not in params]
        if missing:
            raise ValueError(
                f"{type(self).__name__} params lack {', '.join(missing)} (it takes "
                f"{', '.join(self._param_names)})"
            )
        values = {name: float(params[name]) for name in self._param_names}
        bad = [name for name, value in values.items() if not (np.isfinite(value) and value > 0)]
        if bad:
            shown = ", ".join(f"{name}={values[name]!r}" for name in bad)
            raise ValueError(f"{type(self).__name__} params must be positive numbers: {shown}")
        clone = copy.copy(self)
        clone.params_ = values
        return clone

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"{type(self).__name__}({shown})"
        return f"{type(self).__name__}(penalizer={self.penalizer})"


def _covariance_of_identified(hessian: np.ndarray, identified: list[bool]) -> np.ndarray | None:
    """Inverse of the information matrix over the ``identified`` parameters, zero elsewhere.

    The parameters standing for a limit are held there (the limit model does not depend on
    them), so the identified ones' covariance is the inverse of their block; the held ones are
    fixed, with zero variance, so that draws and the delta method still work.  ``None`` when the
    block is singular.
    """
    keep = np.flatnonzero(identified)
    covariance = np.zeros_like(hessian)
    if len(keep) == 0:
        return covariance
    try:
        block = np.linalg.inv(hessian[np.ix_(keep, keep)])
    except np.linalg.LinAlgError:
        return None
    if not (np.all(np.isfinite(block)) and np.all(np.diag(block) > 0)):
        return None
    covariance[np.ix_(keep, keep)] = block
    return covariance


class HistoryModel(BaseModel):
    """A model of ``(frequency, recency, T)`` histories: validated, compressed, then fitted."""

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ):
        """Fit by maximum likelihood on ``(frequency, recency, T)`` in any one time unit.

        ``frequency`` is the number of repeat purchases ``x``, ``recency`` the time of the last
        one ``t_x`` (0 when ``x = 0``) and ``T`` the length of observation, all measured from the
        customer's first purchase. ``weights`` are optional counts of customers sharing a row.
        """
        histories, counts = distinct_histories(
            *validate_rfm(frequency, recency, T), weights=weights
        )
        require_repeat_purchases(histories[0], counts, type(self).__name__)
        try:
            self._fit_compressed(self._prepare(*histories, counts), counts)
        finally:
            # a likelihood's per-fit cache (of the distinct (x, t) pairs) is not fitted state
            self.__dict__.pop("_pairs_cache", None)
        return self

    def _prepare(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray) -> tuple:
        """The likelihood's data from the distinct histories (the columns themselves here)."""
        return x, t_x, T

    def _compressed_call(self, function, frequency, recency, T) -> np.ndarray:
        """``function(x, t_x, T)`` once per distinct history, spread back to every customer."""
        x, t_x, T = validate_rfm(frequency, recency, T)
        (ux, ut, uT), _, inverse = compress_histories(x, t_x, T)
        with np.errstate(all="ignore"):
            return function(ux, ut, uT)[inverse]


def purchases_while_alive(
    rng: np.random.Generator, rate: np.ndarray, lifetime: np.ndarray, T: np.ndarray
) -> pd.DataFrame:
    """Simulated histories of Poisson(``rate``) buyers alive for ``lifetime``, observed for ``T``.

    The purchases fall in the active time ``min(lifetime, T)``; given their count they are
    uniform there, so the recency is the largest of ``frequency`` uniforms.
    """
    active_time = np.minimum(lifetime, T)
    frequency = rng.poisson(rate * active_time)
    u = rng.random(len(T))
    recency = np.where(frequency > 0, active_time * u ** (1.0 / np.maximum(frequency, 1)), 0.0)
    return pd.DataFrame({"frequency": frequency.astype(float), "recency": recency, "T": T})


def purchases_by_period(
    rng: np.random.Generator, rate: np.ndarray, until: np.ndarray, ends: np.ndarray,
    dropout: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """Each entry's purchases in each period ``(ends[k-1], ends[k]]``: a Poisson process at
    ``rate`` from 0 until ``until`` (and the last end), which stops after a purchase with
    probability ``dropout`` (None: never).  Returns integers of shape ``rate.shape + (periods,)``.

    The purchases are drawn one round at a time for the entries still buying (exponential gaps),
    so the work is the purchases made, not the entries times the periods.
    """
    ends = np.asarray(ends, dtype=float)
    shape = np.shape(rate)
    counts = np.zeros((int(np.prod(shape)), len(ends)), dtype=np.int64)
    rate = np.ravel(rate)
    until = np.minimum(np.broadcast_to(until, shape).ravel(), ends[-1])
    stop = None if dropout is None else np.broadcast_to(dropout, shape).ravel()
    who = np.flatnonzero((rate > 0) & (until > 0))
    now = np.zeros(len(who))
    while len(who):
        now += rng.exponential(1.0, len(who)) / rate[who]
        buying = now <= until[who]
        who, now = who[buying], now[buying]
        counts[who, np.searchsorted(ends, now)] += 1  # each entry once a round
        if stop is not None:
            stays = rng.random(len(who)) >= stop[who]
            who, now = who[stays], now[stays]
    return counts.reshape((*shape, len(ends)))


def float_columns(**columns: ArrayLike) -> tuple[np.ndarray, ...]:
    """Each named column as a float array (errors name it), broadcast to one shape."""
    arrays = [as_float_array(values, name) for name, values in columns.items()]
    return tuple(np.broadcast_arrays(*arrays))


def validate_rfm(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate (frequency, recency, T) arrays of a continuous-time BTYD model."""
    frequency, recency, T = float_columns(frequency=frequency, recency=recency, T=T)
    if np.any(frequency < 0) or np.any(frequency != np.floor(frequency)):
        raise ValueError("frequency must be a non-negative whole number of repeat purchases")
    if np.any(recency < 0):
        raise ValueError("recency must be non-negative")
    if np.any(recency > T * (1 + 1e-12) + 1e-12):
        raise ValueError("recency must not exceed T (time from first purchase to the end)")
    if np.any((frequency == 0) & (recency != 0)):
        raise ValueError("recency must be 0 for customers with no repeat purchase (frequency 0)")
    return frequency, recency, T


def require_repeat_purchases(frequency: np.ndarray, weights: np.ndarray, name: str) -> None:
    """Raise :class:`FitError` when no customer (with weight) has a repeat purchase.

    Without one the likelihood has no interior maximum (the purchase rate runs to zero): the
    optimiser stops at a bound and reports meaningless parameters, or for Pareto/NBD crawls
    through ever slower hypergeometric terms.  Such data can only give historic figures.
    """
    if not np.any((np.asarray(frequency) > 0) & (np.asarray(weights) > 0)):
        raise FitError(f"{name} cannot be fitted: no customer has a repeat purchase")


def broadcast_param(values: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=float)


def log_rising(r: float, x: np.ndarray) -> np.ndarray:
    """``ln Gamma(r+x) - ln Gamma(r)`` (whole ``x >= 0``) as ``sum_{k<x} ln(r+k)``: exact where
    ``ln Gamma(r)`` alone is ~1e9 and a difference of the two keeps only ~1e-7."""
    terms = np.concatenate([[0.0], np.cumsum(np.log(r + np.arange(int(np.max(x, initial=0)))))])
    return terms[x.astype(np.intp)]
