"""Time-varying purchase covariates: the calendar periods, the operational clock, the shared fit.

A time-varying purchase covariate multiplies a customer's purchase rate by
``exp(gamma . c(u))``, where ``c(u)`` is piecewise constant over calendar periods (months, weeks
of a promotion calendar) shared by every customer, as in Bachmann, Meierer & Naef (2021), "The
role of time-varying contextual factors in latent attrition models for customer base analysis",
Marketing Science 40(4).  A positive coefficient means more purchases in the periods where the
covariate is high.

Calendar positions are measured in the model's time unit from the end of observation (0 = the
as-of or calibration end; the past is negative, the horizon positive), so a customer observed for
``T`` is at position ``tau - T`` at her own time ``tau``: every customer of one analysis is placed
on the calendar by her ``T`` alone, and histories compress on ``(x, t_x, T)`` as for the plain
models.

The *operational clock* ``Phi(u) = int exp(gamma . c(v)) dv`` is piecewise linear; a customer's
purchase exposure from her first purchase to her own time ``tau`` is
``Lambda(tau) = Phi(tau - T) - Phi(-T)``.  Given the purchase rate ``lambda`` and the purchase
times ``t_1..t_x``, the Poisson density of the repeat purchases while alive until ``tau`` is
``lambda^x prod_j exp(gamma . c(t_j)) exp(-lambda Lambda(tau))``: the product depends on the
purchase times only through ``S = sum_j c(t_j)``, the covariates summed over the customer's
repeat purchases, and it multiplies every term of the likelihood alike.  So

    log L_i = gamma . S_i + log L_i^(rest)(x, t_x, T),

the fit needs only the weighted total of ``S`` besides the compressed histories, and P(alive)
and every conditional expectation (ratios of likelihood terms) depend on ``(x, t_x, T)`` alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuecast.models._fitting import (
    ArrayLike,
    HistoryModel,
    as_float_array,
    compress_histories,
    prepare_weights,
    require_repeat_purchases,
    validate_rfm,
)


@dataclass(frozen=True)
class CovariatePeriods:
    """Covariate values per calendar period, shared by every customer.

    ``edges`` (P + 1 increasing positions, in the model's time unit, relative to the end of
    observation) bound the P periods; ``values`` is P x k (row j holds the covariates of
    ``[edges[j], edges[j+1])``); ``names`` the k covariates.  Before the first edge the first
    period's values hold, after the last edge the last period's: callers cover the customers'
    histories and the prediction horizon with periods of their own.
    """

    edges: np.ndarray
    values: np.ndarray
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        edges = as_float_array(self.edges, "edges")
        values = np.asarray(self.values, dtype=float)
        if values.ndim != 2 or values.shape != (len(edges) - 1, len(self.names)):
            raise ValueError(
                f"values must have one row per period ({len(edges) - 1}) and one column per "
                f"name ({len(self.names)}), got shape {values.shape}"
            )
        if len(edges) < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError("edges must hold at least two strictly increasing positions")
        if not np.all(np.isfinite(values)):
            raise ValueError("covariate values contain NaN or infinite values")
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "names", tuple(self.names))

    def clock(self, gamma: ArrayLike) -> OperationalClock:
        """The operational clock for coefficients ``gamma`` (one per name)."""
        rates = np.exp(np.einsum("jk,k->j", self.values, np.asarray(gamma, dtype=float)))
        return OperationalClock(self.edges, rates, self.values)

    def values_at(self, positions: ArrayLike) -> np.ndarray:
        """The covariates in force at each calendar position: shape (n, k)."""
        return self.values[period_index(self.edges, np.asarray(positions, dtype=float))]


def period_index(edges: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The period ``j`` with ``edges[j] <= u < edges[j+1]`` of each position (clipped to the ends)."""
    return np.clip(np.searchsorted(edges, positions, side="right") - 1, 0, len(edges) - 2)


class OperationalClock:
    """``Phi(u)``, the integral of the purchase-rate multiplier from the first edge to ``u``.

    Piecewise linear with slope ``rates[j] = exp(gamma . values[j])`` on period ``j`` (extended
    linearly beyond the edges); :meth:`gradient_at` is its derivative in ``gamma``.
    """

    def __init__(self, edges: np.ndarray, rates: np.ndarray, values: np.ndarray):
        self.edges = edges
        self.rates = rates
        self.values = values
        widths = np.diff(edges)
        self.cumulative = np.concatenate([[0.0], np.cumsum(rates * widths)])
        by_covariate = np.cumsum((rates * widths)[:, None] * values, axis=0)
        self.cumulative_gradient = np.vstack([np.zeros((1, values.shape[1])), by_covariate])

    def at(self, positions: ArrayLike) -> np.ndarray:
        u = np.asarray(positions, dtype=float)
        j = period_index(self.edges, u)
        return self.cumulative[j] + self.rates[j] * (u - self.edges[j])

    def gradient_at(self, positions: ArrayLike) -> np.ndarray:
        """d Phi(u) / d gamma at each position: shape (n, k)."""
        u = np.asarray(positions, dtype=float)
        j = period_index(self.edges, u)
        slope = self.rates[j][:, None] * self.values[j]
        return self.cumulative_gradient[j] + slope * (u - self.edges[j])[:, None]

    def elapsed(self, start: ArrayLike, length: ArrayLike) -> np.ndarray:
        """Operational time from calendar position ``start`` over ``length``: Phi(start+length) -
        Phi(start)."""
        start = np.asarray(start, dtype=float)
        return self.at(start + length) - self.at(start)

    def time_to(self, start: ArrayLike, operational: ArrayLike) -> np.ndarray:
        """The calendar length ``w`` with ``Phi(start + w) - Phi(start) = operational``."""
        target = self.at(start) + np.asarray(operational, dtype=float)
        j = np.clip(
            np.searchsorted(self.cumulative, target, side="right") - 1, 0, len(self.rates) - 1
        )
        return self.edges[j] + (target - self.cumulative[j]) / self.rates[j] - start

    def customer_times(self, recency: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each customer's purchase exposure ``Lambda(t_x)`` and ``Lambda(T)``."""
        start = self.at(-T)
        return self.at(recency - T) - start, self.at(np.zeros_like(T)) - start


def validate_purchase_sums(
    purchase_sums: ArrayLike, n_rows: int, periods: CovariatePeriods
) -> np.ndarray:
    """The covariates summed over each row's repeat purchases, as an (n, k) float array."""
    sums = np.asarray(purchase_sums, dtype=float)
    if sums.ndim == 1 and len(periods.names) == 1:
        sums = sums[:, None]
    if sums.shape != (n_rows, len(periods.names)):
        raise ValueError(
            f"purchase_sums must have shape ({n_rows}, {len(periods.names)}): one row per "
            "customer, one column per covariate"
        )
    if not np.all(np.isfinite(sums)):
        raise ValueError("purchase_sums contains NaN or infinite values")
    return sums


class TimeVaryingModel(HistoryModel):
    """A history model whose purchase rate carries time-varying covariates (see module docstring).

    Subclasses set ``_base_names`` (the plain model's parameters) and implement
    ``_log_likelihood_rest(base, clock, x, t_x, T)`` (per distinct history, without the
    ``gamma . S`` term) and the predictions.  The fitted parameters are optimised on the log scale
    by the shared machinery: the base parameters' logs, then the coefficients themselves (a
    coefficient is the log of its purchase-rate multiplier).  ``params_`` holds the base
    parameters and, under each covariate's name, its multiplier ``exp(gamma)``;
    ``coefficients_ = {"purchase": {name: gamma}, "dropout": {}}`` and
    ``coefficient_standard_errors_`` the same for their standard errors.
    """

    _base_names: tuple[str, ...] = ()

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
        *,
        periods: CovariatePeriods,
        purchase_sums: ArrayLike,
        l2: float = 0.0,
    ):
        """Fit on ``(frequency, recency, T)`` with the calendar ``periods``.

        ``purchase_sums``: per row, the covariates summed over the row's repeat purchases (for a
        row standing for ``weights`` customers, their mean).  ``l2``: a ridge penalty
        ``l2 * sum(gamma^2)`` on the coefficients, added to the negative log-likelihood (as
        CLVTools' ``reg.lambdas``).
        """
        x, t_x, T = validate_rfm(frequency, recency, T)
        counted = prepare_weights(weights, len(x))
        sums = validate_purchase_sums(purchase_sums, len(x), periods)
        if not l2 >= 0:
            raise ValueError("l2 must be non-negative")
        (ux, ut, uT), counts, inverse = compress_histories(x, t_x, T, weights=counted)
        keep = counts > 0
        total = np.einsum("i,ik->k", counted, sums)
        history_sums = np.zeros((len(counts), sums.shape[1]))
        np.add.at(history_sums, inverse, counted[:, None] * sums)
        history_sums = history_sums[keep] / counts[keep][:, None]
        ux, ut, uT, counts = ux[keep], ut[keep], uT[keep], counts[keep]
        require_repeat_purchases(ux, counts, type(self).__name__)
        self.periods_ = periods
        self.l2 = float(l2)
        self._param_names = self._base_names + periods.names
        self.history_sums_ = pd.DataFrame(
            history_sums, index=pd.MultiIndex.from_arrays([ux, ut, uT]), columns=periods.names
        )
        if not np.any(periods.values):
            self._fit_as_plain(ux, ut, uT, counts)
        else:
            self._fit_compressed((ux, ut, uT, total), counts)
        gamma = self._gamma()
        errors = [self.standard_errors_[name] / self.params_[name] for name in periods.names]
        self.coefficients_ = {
            "purchase": dict(zip(periods.names, gamma, strict=True)),
            "dropout": {},
        }
        self.coefficient_standard_errors_ = {
            "purchase": dict(zip(periods.names, map(float, errors), strict=True)),
            "dropout": {},
        }
        return self

    def _fit_as_plain(self, x, t_x, T, counts) -> None:
        """Covariates that are 0 in every period have no effect to estimate: the fit is the
        plain model's, the same computation, with each multiplier held at 1 (no error)."""
        plain = self._plain_fit(x, t_x, T, counts, getattr(self, "_with_errors", True))
        fitted = {k: v for k, v in vars(plain).items() if k.endswith("_") and not k.startswith("_")}
        self.__dict__.update(fitted)
        names = self.periods_.names
        self.params_ = {**plain.params_, **dict.fromkeys(names, 1.0)}
        self.standard_errors_ = {**plain.standard_errors_, **dict.fromkeys(names, float("nan"))}
        # held parameters have zero variance (as at a limit): draws and the delta method work
        extra = len(names)
        self.covariance_log_ = np.pad(plain.covariance_log_, (0, extra))
        self.covariance_full_ = self.covariance_log_
        self.hessian_log_ = np.pad(plain.hessian_log_, (0, extra))

    @classmethod
    def from_params(cls, params: dict[str, float], periods: CovariatePeriods):
        """A model that predicts with ``params`` (the base parameters and each covariate's
        multiplier) on ``periods``, without a fit (simulation studies, stored fits)."""
        model = cls()
        model.periods_ = periods
        model._param_names = cls._base_names + periods.names
        return model.with_params(params)

    def refit(self, *columns: ArrayLike, weights: ArrayLike, standard_errors: bool = True):
        """A new fit on a reweighting of the fitted histories (the bootstrap), started here;
        ``standard_errors=False`` skips the information matrix (:meth:`BaseModel.refit`)."""
        self._check_fitted()
        x, t_x, T = validate_rfm(*columns)
        where = self.history_sums_.index.get_indexer(pd.MultiIndex.from_arrays([x, t_x, T]))
        if np.any(where < 0):
            raise ValueError("refit needs histories the model was fitted on")
        fresh = type(self)(penalizer=self.penalizer, initial_params=dict(self.params_))
        fresh._with_errors = standard_errors
        return fresh.fit(
            x, t_x, T, weights=weights, periods=self.periods_,
            purchase_sums=self.history_sums_.to_numpy()[where], l2=self.l2,
        )  # fmt: skip

    # -- the likelihood ------------------------------------------------------------------------
    def _split(self, log_params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_base = len(self._base_names)
        return np.exp(log_params[:n_base]), np.asarray(log_params[n_base:], dtype=float)

    def _gamma(self) -> np.ndarray:
        self._check_fitted()
        return np.log([self.params_[name] for name in self.periods_.names])

    def _base_params(self) -> np.ndarray:
        self._check_fitted()
        return np.array([self.params_[name] for name in self._base_names])

    def _clock(self) -> OperationalClock:
        return self.periods_.clock(self._gamma())

    def _log_likelihood_rest(self, base, clock, x, t_x, T) -> np.ndarray:
        raise NotImplementedError

    def _log_likelihood_rest_gradient(self, base, clock, x, t_x, T):
        """The rest and its derivatives in (base parameters, gamma), shape (n, len(params)), or
        ``None`` for a finite-difference gradient."""
        return None

    def _negative_log_likelihood(self, log_params, data, weights):
        x, t_x, T, total = data
        log_params = np.asarray(log_params, dtype=float)
        base, gamma = self._split(log_params)
        clock = self.periods_.clock(gamma)
        with np.errstate(all="ignore"):
            both = self._log_likelihood_rest_gradient(base, clock, x, t_x, T)
            rest = self._log_likelihood_rest(base, clock, x, t_x, T) if both is None else both[0]
        # einsum, not BLAS: a threaded BLAS dot stalls for milliseconds on a busy machine
        value = -(float(np.einsum("i,i->", weights, rest)) + float(np.sum(total * gamma)))
        value += self.l2 * float(np.sum(gamma**2))
        if not np.isfinite(value):
            return np.inf, np.zeros(len(log_params))
        if both is None:
            return value, None
        gradient = -np.einsum("i,ij->j", weights, both[1]) - np.concatenate(
            [np.zeros(len(base)), total]
        )
        gradient[len(base) :] += 2.0 * self.l2 * gamma
        gradient[: len(base)] *= base  # chain rule to the log parameters
        if not np.all(np.isfinite(gradient)):
            return np.inf, np.zeros(len(log_params))
        return value, gradient

    def _initial_log_params(self, data, weights) -> np.ndarray:
        x, t_x, T, _ = data
        plain = self._plain_fit(x, t_x, T, weights, standard_errors=False)  # its estimates only
        start = np.log([plain.params_[name] for name in self._base_names])
        return np.concatenate([start, np.zeros(len(self.periods_.names))])

    def _plain_model(self):
        raise NotImplementedError

    def _plain_fit(self, x, t_x, T, weights, standard_errors: bool):
        """The plain model fitted on the histories, with its information matrix or not."""
        plain = self._plain_model()
        plain._with_errors = standard_errors
        return plain.fit(x, t_x, T, weights=weights)

    def log_likelihood_per_customer(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, purchase_sums: ArrayLike
    ) -> np.ndarray:
        """ln L per customer at the fitted parameters, ``purchase_sums`` as in :meth:`fit`."""
        x, t_x, T = validate_rfm(frequency, recency, T)
        sums = validate_purchase_sums(purchase_sums, len(x), self.periods_)
        base, clock = self._base_params(), self._clock()
        rest = self._compressed_call(
            lambda ux, ut, uT: self._log_likelihood_rest(base, clock, ux, ut, uT), x, t_x, T
        )
        return rest + np.einsum("ik,k->i", sums, self._gamma())

    # -- predictions shared by every time-varying model -----------------------------------------
    def expected_transactions_grid(
        self, times: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """:meth:`expected_transactions` at several horizons: shape ``(len(times), n)``."""
        times = np.asarray(times, dtype=float).reshape(-1)
        return np.stack([self.expected_transactions(t, frequency, recency, T) for t in times])

    def median_time_to_next_purchase(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """Median wait from T to the next purchase for a customer assumed alive throughout.

        The plain model's median in operational time (its purchase process there is the plain
        one), turned back into calendar time by the clock.
        """
        x, t_x, T = validate_rfm(frequency, recency, T)
        clock = self._clock()
        op_tx, op_T = clock.customer_times(t_x, T)
        plain = self._plain_model().with_params(
            dict(zip(self._base_names, self._base_params(), strict=True))
        )
        operational = plain.median_time_to_next_purchase(x, op_tx, op_T)
        return clock.time_to(np.zeros_like(T), operational)

    @staticmethod
    def _horizon(t: ArrayLike) -> float:
        value = float(np.asarray(t, dtype=float).reshape(-1)[0]) if np.ndim(t) else float(t)
        if np.size(t) != 1 or not np.isfinite(value) or value < 0:
            raise ValueError("t must be one finite non-negative horizon")
        return value
