"""Gamma-Gamma model of the monetary value of repeat transactions.

References
----------
* Colombo, R. and Jiang, W. (1999), "A stochastic RFM model", Journal of Interactive Marketing
  13(3), 2-12 (the model).
* Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "RFM and CLV: using iso-value curves for
  customer base analysis", Journal of Marketing Research 42(4), 415-430 (its use with BTYD models).
* Fader, P. S. and Hardie, B. G. S. (2013), "The Gamma-Gamma model of monetary value", note at
  brucehardie.com/notes/025 (the formulas below; equation numbers refer to this note).

Model
-----
A customer with ``x`` repeat transactions has transaction values ``z_1, ..., z_x`` that are
i.i.d. ``Gamma(p, nu)`` (shape ``p``, rate ``nu``); ``nu`` varies across customers as
``Gamma(q, v)`` (shape ``q``, rate ``v``).  Only the mean value ``m_x = (z_1 + ... + z_x) / x`` is
observed.  Given ``nu``, ``x m_x ~ Gamma(p x, nu)``, so ``m_x ~ Gamma(p x, x nu)``; integrating
``nu`` out gives the density of the mean spend (FH 2013)

    f(m_x | p, q, v, x) = Gamma(p x + q) / (Gamma(p x) Gamma(q))
                          * v^q m_x^(p x - 1) x^(p x) / (v + x m_x)^(p x + q).

The model assumes the spend process is independent of the purchase process and is fitted on
repeat customers only (``x > 0``): a customer without repeat transactions carries no information
about ``p, q, v``.  Monetary values are in the currency of the input; nothing is converted.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln

from valuecast.models._fitting import (
    ArrayLike,
    BaseModel,
    FitError,
    Limit,
    as_float_array,
    compress_histories,
    prepare_weights,
)


def _dot(left: np.ndarray, right: np.ndarray) -> float:
    """Inner product of two vectors without BLAS, whose threads stall when the cores are busy."""
    return np.einsum("i,i->", left, right)


__all__ = ["GammaGamma"]


def _validate_spend(
    frequency: ArrayLike, monetary_value: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Check (frequency, monetary_value) and broadcast them to a common shape."""
    frequency = as_float_array(frequency, "frequency")
    monetary_value = as_float_array(monetary_value, "monetary_value")
    frequency, monetary_value = np.broadcast_arrays(frequency, monetary_value)
    if np.any(frequency < 0) or np.any(frequency != np.floor(frequency)):
        raise ValueError("frequency must be a non-negative whole number of repeat purchases")
    bad = (frequency > 0) & (monetary_value <= 0)
    if np.any(bad):
        raise ValueError(
            f"monetary_value must be positive for customers with repeat purchases; "
            f"{int(bad.sum())} row(s) with frequency > 0 have monetary_value <= 0 (refunds or "
            "free orders must be removed or netted out before fitting the Gamma-Gamma model)"
        )
    return frequency, monetary_value


def _log_gamma_draws(rng: np.random.Generator, shape: np.ndarray) -> np.ndarray:
    """Logarithms of Gamma(shape, 1) draws, accurate also for tiny shapes.

    For shape < 1 a Gamma(shape) draw is Gamma(shape + 1) * U^(1 / shape) (U uniform), whose
    logarithm is finite even when the draw itself underflows to 0.
    """
    small = shape < 1
    boosted = np.where(small, shape + 1, shape)
    log_draw = np.log(rng.gamma(boosted))
    log_u = np.log(rng.random(len(shape)))
    return np.where(small, log_draw + log_u / np.where(small, shape, 1.0), log_draw)


class _SpendStatistics:
    """Sufficient statistics of the Gamma-Gamma likelihood for one weighted data set.

    The log of the FH 2013 density of ``m_x``, summed over customers ``i`` with weights ``w_i``,

        sum_i w_i [ lnG(p x_i + q) - lnG(p x_i) - lnG(q) + q ln v + (p x_i - 1) ln m_i
                    + p x_i ln x_i - (p x_i + q) ln(v + s_i) ],   s_i = x_i m_i,

    splits into terms that need only the distinct frequencies (the gamma functions), scalars
    that do not depend on the parameters at all (the ``ln m`` and ``ln x`` sums), and one term in
    ``ln(v + s)`` over the rows.  An evaluation therefore costs one logarithm per distinct
    history plus a few special functions per distinct frequency.
    """

    def __init__(self, x: np.ndarray, m: np.ndarray, w: np.ndarray):
        self.arrays = (x, m, w)
        self.total_weight = float(w.sum())
        x_max = float(x.max()) if len(x) else 0.0
        if x_max <= 10 * len(x) + 1000:
            # Whole-number frequencies: group by counting instead of sorting.
            w_by_x = np.bincount(x.astype(np.int64), weights=w)
            present = np.flatnonzero(w_by_x > 0)
            self.x_unique = present.astype(float)
            self.w_by_x = w_by_x[present]
        else:
            self.x_unique, x_inverse = np.unique(x, return_inverse=True)
            self.w_by_x = np.bincount(x_inverse, weights=w, minlength=len(self.x_unique))
        self.s = x * m
        self.w = w
        self.wx = w * x
        self.x_of_rows = x
        log_m = np.log(m)
        self.sum_w_log_m = float(_dot(w, log_m))
        self.sum_wx_log_m = float(_dot(self.wx, log_m))
        self.sum_wx_log_x = float(_dot(self.wx, np.log(x)))

    def matches(self, x: np.ndarray, m: np.ndarray, w: np.ndarray) -> bool:
        cx, cm, cw = self.arrays
        return cx is x and cm is m and cw is w

    def negative_log_likelihood(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        """Total weighted -ln L and its analytic gradient with respect to (ln p, ln q, ln v).

        Written as ``-B(px, q) - q ln(1 + s / v) + px ln(s / (v + s)) - ln m`` per row (the same
        density), so that near the no-heterogeneity limit (q, v -> inf) no two huge terms cancel:
        ``betaln`` and ``log1p`` keep full precision where ``gammaln(q)`` and ``q ln v`` would
        lose it, and the fit can tell that limit from the points on the way to it.
        """
        p, q, v = np.exp(log_params)
        px = p * self.x_unique
        log_v_s = np.log(v + self.s)
        inv_v_s = 1.0 / (v + self.s)
        log1p_s_v = np.log1p(self.s / v)
        sum_wx_log_v_s = float(_dot(self.wx, log_v_s))
        sum_w_log1p = float(_dot(self.w, log1p_s_v))
        ll = (
            -_dot(self.w_by_x, betaln(px, q))
            - q * sum_w_log1p
            + p * (self.sum_wx_log_m + self.sum_wx_log_x - sum_wx_log_v_s)
            - self.sum_w_log_m
        )
        # Derivatives of ln f:  d/dp = x [psi(px+q) - psi(px) + ln m + ln x - ln(v + x m)],
        # d/dq = psi(px+q) - psi(q) - ln(1 + x m / v),  d/dv = (q x m / v - p x) / (v + x m).
        psi_pxq = digamma(px + q)
        d_p = (
            _dot(self.w_by_x * self.x_unique, psi_pxq - digamma(px))
            + self.sum_wx_log_m
            + self.sum_wx_log_x
            - sum_wx_log_v_s
        )
        d_q = _dot(self.w_by_x, psi_pxq - digamma(q)) - sum_w_log1p
        d_v = _dot(self.w * inv_v_s, q * self.s / v - p * self.x_of_rows)
        return float(-ll), -np.array([p * d_p, q * d_q, v * d_v])


class GammaGamma(BaseModel):
    """Gamma-Gamma spend model (Colombo & Jiang 1999; Fader & Hardie 2013).

    Parameters (in ``params_``): ``p`` (shape of each transaction value), ``q`` (shape of the
    heterogeneity in the rate ``nu``), ``v`` (rate of that heterogeneity; in currency units).
    The mean transaction value across customers is ``p v / (q - 1)`` (finite only for ``q > 1``).

    Use :meth:`fit` on ``frequency`` (number of repeat transactions) and ``monetary_value``
    (mean value of those repeat transactions).  Rows with ``frequency == 0`` are ignored by the
    fit (their weighted number is stored in ``n_excluded_``).
    """

    _param_names = ("p", "q", "v")
    _label = "Gamma-Gamma"
    # q, v -> inf at fixed v / q: one spending rate nu for everyone, so every customer's expected
    # order value is the pooled mean (methodology.md); whichever of q and v reaches the edge first
    # stands for the limit, the other keeps the ratio
    _limits = tuple(
        Limit(
            {name: "inf"},
            (name,),
            "no heterogeneity in spend; every customer's expected order value is the pooled mean",
            (("q", "inf"),),
        )  # fmt: skip
        for name in ("q", "v")
    ) + (
        # p -> inf at fixed p v: every transaction of a customer is worth the same amount
        Limit(
            {"p": "inf"},
            ("p",),
            "no spread of order values within a customer; each expected order value is the "
            "customer's own average (shrunk by the spread across customers)",
            (("p", "inf"),),
        ),  # fmt: skip
    )

    # -- fitting ---------------------------------------------------------------------------------
    def fit(
        self,
        frequency: ArrayLike,
        monetary_value: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> GammaGamma:
        """Fit ``p, q, v`` by maximum likelihood on the customers with repeat purchases.

        ``monetary_value`` is the mean value of each customer's *repeat* transactions; it must be
        positive wherever ``frequency > 0``.  Customers with ``frequency == 0`` carry no spend
        information and are skipped: ``n_excluded_`` records how many (weighted) were skipped.
        ``weights`` optionally gives the number of customers each row stands for.
        """
        frequency, monetary_value = _validate_spend(frequency, monetary_value)
        weights = prepare_weights(weights, len(frequency))
        repeat = frequency > 0
        self.n_excluded_ = float(weights[~repeat].sum())
        if not np.any(repeat & (weights > 0)):
            raise ValueError(
                "no customer with frequency > 0 (and positive weight): the Gamma-Gamma model is "
                "fitted on repeat transactions only"
            )
        (x, m), counts, _ = compress_histories(
            frequency[repeat], monetary_value[repeat], weights=weights[repeat]
        )
        keep = counts > 0
        data = (x[keep], m[keep])
        self._stats = None
        # the warnings of the fit kept alone: a fit tried from the other side and not kept
        # would tell of a limit model that is not the one returned
        self._told = []
        try:
            self._fit_compressed(data, counts[keep])
            if self.limits_ and self.initial_params is None:
                self._try_the_other_side(data, counts[keep])
        finally:
            self._stats = None  # release the per-history arrays kept for the optimisation
            told, self._told = self._told, None
        for message, category in told:
            warnings.warn(message, category, stacklevel=2)
        return self

    def _try_the_other_side(self, data: tuple[np.ndarray, ...], weights: np.ndarray) -> None:
        """Fit again from the other side of the likelihood's landscape, keeping the better.

        The Gamma-Gamma likelihood can rise towards two limits: ``q, v -> inf`` (no
        heterogeneity) and ``p -> inf, v -> 0`` (no spread within a customer, a heavy-tailed
        spread across them).  A start on one side ends at its limit however much higher the
        other is (a shop of wholesale and penny customers: -779.5 against -753.0), so a fit
        that ended at a limit is tried once more from a start with ``p`` large and ``v``
        small (``p v`` the mean spend), and the higher likelihood is kept.
        """
        mean = float(_dot(weights / weights.sum(), data[1]))
        start = {"p": 100.0, "q": 1.0, "v": mean / 100.0}
        other = type(self)(
            penalizer=self.penalizer, initial_params=start, standard_errors=self._with_errors
        )
        other._told = []  # told by the caller where this fit is kept (with its other state)
        try:
            other._fit_compressed(data, weights)
        except (FitError, ValueError, FloatingPointError):
            return
        if other.log_likelihood_ > self.log_likelihood_ + 1e-6:
            initial = self.initial_params
            self.__dict__.update(other.__dict__)
            self.initial_params = initial

    def _statistics(self, data: tuple[np.ndarray, ...], weights: np.ndarray) -> _SpendStatistics:
        """Sufficient statistics of ``(data, weights)``, cached for the arrays of the last fit."""
        x, m = data
        stats = getattr(self, "_stats", None)
        if stats is None or not stats.matches(x, m, weights):
            stats = _SpendStatistics(x, m, weights)
            self._stats = stats
        return stats

    def _negative_log_likelihood(
        self, log_params: np.ndarray, data: tuple[np.ndarray, ...], weights: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Total weighted -ln L (FH 2013 density of m_x) and its analytic log-scale gradient."""
        return self._statistics(data, weights).negative_log_likelihood(log_params)

    def _initial_log_params(self, data: tuple[np.ndarray, ...], weights: np.ndarray) -> np.ndarray:
        """Method-of-moments start (falls back to p = 1, q = 3, v matching the mean spend).

        Under the model E[m_x] = p v / (q - 1) and E[m_x^2 | x] = (p^2 + p / x) K with
        K = v^2 / ((q - 1)(q - 2)), so a weighted regression of m_x^2 on 1 / x has intercept
        A = p^2 K and slope B = p K: p = A / B, and A / E[m_x]^2 = (q - 1) / (q - 2) gives q.
        """
        x, m = data
        w = weights / weights.sum()
        mean = float(_dot(w, m))
        fallback = np.log([1.0, 3.0, 2.0 * mean])
        inv_x = 1.0 / x
        var_inv_x = float(_dot(w, inv_x**2) - _dot(w, inv_x) ** 2)
        if var_inv_x <= 0:
            return fallback
        m2 = m**2
        slope = float((_dot(w, inv_x * m2) - _dot(w, inv_x) * _dot(w, m2)) / var_inv_x)
        intercept = float(_dot(w, m2) - slope * _dot(w, inv_x))
        ratio = intercept / mean**2
        if not (slope > 0 and intercept > 0 and ratio > 1 and np.isfinite(ratio)):
            return fallback
        p = intercept / slope
        q = (2 * ratio - 1) / (ratio - 1)
        v = mean * (q - 1) / p
        start = np.log([p, q, v])
        return start if np.all(np.isfinite(start)) and np.all(np.abs(start) < 20) else fallback

    # -- likelihood per customer -----------------------------------------------------------------
    def log_likelihood_per_customer(
        self, frequency: ArrayLike, monetary_value: ArrayLike
    ) -> np.ndarray:
        """ln f(m_x | p, q, v, x) per row at the fitted parameters (FH 2013 density of m_x).

        Rows with ``frequency == 0`` are not part of the model's likelihood and get 0.0, so the
        (weighted) sum over all rows equals ``log_likelihood_``.
        """
        p, q, v = self._param_values()
        x, m = _validate_spend(frequency, monetary_value)
        out = np.zeros(len(x))
        rep = x > 0
        xr, mr = x[rep], m[rep]
        px = p * xr
        out[rep] = (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(v)
            + (px - 1) * np.log(mr)
            + px * np.log(xr)
            - (px + q) * np.log(v + xr * mr)
        )
        return out

    # -- predictions -----------------------------------------------------------------------------
    def _require_finite_mean(self) -> tuple[float, float, float]:
        p, q, v = self._param_values()
        if q <= 1:
            raise ValueError(
                f"q = {q:.4g} <= 1: the mean transaction value p v / (q - 1) is infinite under "
                "these parameters, so expected values are undefined"
            )
        return p, q, v

    def expected_average_value_population(self) -> float:
        """Mean transaction value of a randomly chosen customer, ``E[Z] = p v / (q - 1)``.

        The Gamma(p, nu) mean p / nu averaged over the Gamma(q, v) mixing distribution;
        requires ``q > 1``.
        """
        p, q, v = self._require_finite_mean()
        return float(p * v / (q - 1))

    def expected_average_value(self, frequency: ArrayLike, monetary_value: ArrayLike) -> np.ndarray:
        """Expected mean transaction value of each customer given ``x`` and ``m_x``.

        E[M | p, q, v, x, m_x] = (q - 1) / (p x + q - 1) * p v / (q - 1)
                                 + p x / (p x + q - 1) * m_x,

        a weighted average of the population mean and the customer's observed mean (FH 2013, the
        posterior mean of ``p / nu``; also FHL 2005, JMR).  For
        ``x = 0`` it is the population mean ``p v / (q - 1)`` (``monetary_value`` is then ignored).
        Requires ``q > 1``.
        """
        p, q, v = self._require_finite_mean()
        x, m = _validate_spend(frequency, monetary_value)
        px = p * x
        denominator = px + q - 1
        population = p * v / (q - 1)
        return (q - 1) / denominator * population + np.where(x > 0, px / denominator * m, 0.0)

    # -- simulation ------------------------------------------------------------------------------
    def simulate_future_values(
        self, frequency: ArrayLike, monetary_value: ArrayLike, orders: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:  # fmt: skip
        """The value of each draw's ``orders`` (``(size, n, periods)``, per customer and period)
        given the customer's spend history: the process noise of the sales to come.

        The posterior of a customer's spend rate after ``x`` repeat orders of mean ``m`` is
        ``nu ~ Gamma(q + p x, rate v + x m)`` (Fader & Hardie 2013, "The Gamma-Gamma model of
        monetary value", eq. 3); each order is ``Gamma(p, rate nu)``, so ``k`` orders sum to
        ``Gamma(k p, rate nu)``.  ``x = 0`` gives the population's ``nu ~ Gamma(q, rate v)``.
        """
        p, q, v = (self.params_[name] for name in ("p", "q", "v"))
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        nu = rng.gamma(q + p * x, 1.0 / (v + x * m), orders.shape[:2])
        values = np.zeros(orders.shape)
        made = orders > 0  # few customers buy in a given period: draw only their orders' values
        values[made] = rng.gamma(
            p * orders[made], 1.0 / np.broadcast_to(nu[..., None], made.shape)[made]
        )
        return values

    def simulate(self, frequency: ArrayLike, seed: int | None = None) -> pd.DataFrame:
        """Draw mean repeat-transaction values for customers with the given repeat ``frequency``.

        Each customer draws ``nu ~ Gamma(q, v)`` and each of her ``x`` transactions is
        ``Gamma(p, nu)``; the mean of ``x`` such values is drawn directly as
        ``Gamma(p x, x nu)`` (in log space, so tiny shapes do not underflow; draws beyond the
        float range are clipped to it).  Returns columns ``frequency, monetary_value`` (0 when
        ``x = 0``).
        """
        p, q, v = self._param_values()
        x = as_float_array(frequency, "frequency")
        if np.any(x < 0) or np.any(x != np.floor(x)):
            raise ValueError("frequency must be a non-negative whole number of repeat purchases")
        rng = np.random.default_rng(seed)
        log_nu = _log_gamma_draws(rng, np.full(len(x), q)) - np.log(v)
        rep = x > 0
        log_m = _log_gamma_draws(rng, p * x[rep]) - np.log(x[rep]) - log_nu[rep]
        # Shapes far below 1 give draws beyond the float range; keep them finite and positive.
        tiny, huge = np.finfo(float).tiny, np.finfo(float).max
        m = np.zeros(len(x))
        m[rep] = np.exp(np.clip(log_m, np.log(tiny), np.log(huge)))
        return pd.DataFrame({"frequency": x.astype(np.int64), "monetary_value": m})
