"""Beta-geometric/beta-Bernoulli (BG/BB) model of discrete-time noncontractual purchasing.

Reference
---------
Fader, P. S., Hardie, B. G. S. and Shang, J. (2010), "Customer-base analysis in a discrete-time
noncontractual setting", Marketing Science 29(6), 1086-1108 ("FHS 2010"; equation numbers below
refer to this paper).

Model
-----
Customers have ``n`` discrete transaction opportunities after their first purchase (period 0).
While alive, a customer transacts at each opportunity with probability ``p``; at the start of
every opportunity a living customer dies ("becomes permanently inactive") with probability
``theta``.  Across customers ``p ~ Beta(alpha, beta)`` and ``theta ~ Beta(gamma, delta)``,
independently.  A customer's history is summarised by ``frequency`` x (number of transactions in
the ``n`` opportunities), ``recency`` t_x (the opportunity of the last one, 0 if x = 0) and
``n_periods`` n.  Time is counted in opportunities (years, weeks, ...), whatever their unit.

Two results are used throughout.  The probability of being alive at opportunity t is
``E[(1 - theta)^t] = B(gamma, delta + t) / B(gamma, delta)``, and sums of it over t telescope::

    sum_{t=a+1}^{b} B(gamma, delta + t) / B(gamma, delta)
        = Gamma(gamma + delta) / Gamma(delta) * (h(a) - h(b)) / (gamma - 1),
    h(t) = Gamma(delta + t + 1) / Gamma(gamma + delta + t),

which gives FHS 2010 eqs. 7 and 13 in closed form (evaluated here in log space, with a series in
``gamma - 1`` near ``gamma = 1``, where the closed form is 0 / 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import (
    betaln,
    digamma,
    exprel,
    gammaln,
    hyp2f1,
    logsumexp,
    polygamma,
)

from valuecast.models._fitting import (
    ArrayLike,
    BaseModel,
    Limit,
    as_float_array,
    compress_histories,
    distinct_histories,
    float_columns,
)

__all__ = ["BetaGeoBetaBinomial"]

# Largest number of cells (rows x opportunities) processed at once by the likelihood sums.
_CHUNK_CELLS = 2_000_000


def _validate_discrete(
    frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check (x, t_x, n) histories of the BG/BB model and broadcast them to a common shape."""
    x, t_x, n = float_columns(frequency=frequency, recency=recency, n_periods=n_periods)
    for name, values in (("frequency", x), ("recency", t_x), ("n_periods", n)):
        if np.any(values < 0) or np.any(values != np.floor(values)):
            raise ValueError(f"{name} must hold non-negative whole numbers of periods")
    if np.any(t_x > n):
        raise ValueError("recency must not exceed n_periods (the number of opportunities)")
    if np.any(x > t_x):
        raise ValueError(
            "frequency must not exceed recency: x transactions need at least x opportunities, "
            "the last of which is the recency t_x"
        )
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("recency must be 0 for customers with no repeat transaction")
    return x, t_x, n


def _chunks(n_rows: int, width: int):
    """Row slices such that each block has at most about ``_CHUNK_CELLS`` cells."""
    step = max(1, _CHUNK_CELLS // max(width, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _log_alive_sum(gamma: float, delta: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ln sum_{t=a+1}^{b} B(gamma, delta + t) / B(gamma, delta), for b >= a (-inf when b == a).

    The sum of the probabilities of being alive at opportunities a+1, ..., b; closed form by
    telescoping (see the module docstring; it is the bracket of FHS 2010 eqs. 7 and 13).
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    eps = gamma - 1.0
    c_a = delta + a + 1.0
    c_b = delta + b + 1.0
    log_h_a = gammaln(c_a) - gammaln(c_a + eps)
    if abs(eps) < 1e-3:
        # ln h(b) - ln h(a) = -eps [D1 + eps D2 / 2 + eps^2 D3 / 6 + eps^3 D4 / 24 + ...], with
        # Dk the difference of the polygamma function of order k-1 between c_b and c_a.
        d1 = digamma(c_b) - digamma(c_a)
        d2 = polygamma(1, c_b) - polygamma(1, c_a)
        d3 = polygamma(2, c_b) - polygamma(2, c_a)
        d4 = polygamma(3, c_b) - polygamma(3, c_a)
        delta_over_eps = -(d1 + eps * d2 / 2 + eps**2 * d3 / 6 + eps**3 * d4 / 24)
    else:
        log_h_b = gammaln(c_b) - gammaln(c_b + eps)
        delta_over_eps = (log_h_b - log_h_a) / eps
    # (h(a) - h(b)) / (gamma - 1) = h(a) * (-expm1(Delta) / eps) = h(a) * (-Delta/eps) exprel(Delta)
    big_delta = delta_over_eps * eps
    with np.errstate(divide="ignore"):
        log_ratio = np.log(-delta_over_eps) + np.log(exprel(big_delta))
    return gammaln(gamma + delta) - gammaln(delta) + log_h_a + log_ratio


def hyp2f1_at_one(b: np.ndarray, c: np.ndarray, z: float) -> np.ndarray:
    """2F1(1, b; c; z) for c > b > 0 and 0 < z < 1, with a direct-series fallback.

    Every term of the series sum_j (b)_j / (c)_j z^j is positive and at most z^j, so the value
    lies in [1, 1 / (1 - z)]; scipy's result is used when it does, else the series is summed.
    """
    b = np.asarray(b, dtype=float)
    c = np.asarray(c, dtype=float)
    with np.errstate(all="ignore"):
        value = np.asarray(hyp2f1(1.0, b, c, z), dtype=float)
    bad = ~np.isfinite(value) | (value < 1 - 1e-12) | (value > (1 + 1e-12) / (1 - z))
    if np.any(bad):
        value = value.copy()
        value[bad] = _hyp2f1_one_series(b[bad], c[bad], z)
    return value


def _hyp2f1_one_series(b: np.ndarray, c: np.ndarray, z: float) -> np.ndarray:
    """Direct summation of 2F1(1, b; c; z), c > b > 0, 0 < z < 1, until the tail is negligible."""
    total = np.ones(len(b))
    term = np.ones(len(b))
    j = 0
    block = 1024
    while True:
        k = j + np.arange(block, dtype=float)
        factors = (b[:, None] + k) / (c[:, None] + k) * z
        terms = term[:, None] * np.cumprod(factors, axis=1)
        total += terms.sum(axis=1)
        term = terms[:, -1]
        j += block
        # The remaining terms are each at most z times the previous one.
        if np.all(term * z / (1 - z) <= 1e-17 * total):
            return total


def geometric_draws(rng: np.random.Generator, prob: np.ndarray, cap: int) -> np.ndarray:
    """Geometric(prob) draws on {1, 2, ...} (trials up to the first success), capped at ``cap``.

    Drawn by inversion in floating point, so probabilities that round to 0 or 1 are safe.
    """
    u = 1.0 - rng.random(len(prob))  # in (0, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        trials = np.ceil(np.log(u) / np.log1p(-prob))
    trials = np.where(np.isnan(trials), cap, trials)
    return np.clip(trials, 1, cap).astype(np.int64)


def _lookup(function, index: np.ndarray) -> np.ndarray:
    """``function(index)`` for whole-number ``index``, through a table when that is cheaper.

    The likelihood's sum terms depend on the opportunity j (or on j - x) only through a few
    special functions; when the range of indices is smaller than the number of cells, the
    function is evaluated once per index value and gathered.
    """
    if index.size == 0:
        return np.zeros(index.shape)
    low, high = int(index.min()), int(index.max())
    if high - low + 1 <= index.size:
        table = function(np.arange(low, high + 1, dtype=float))
        return table[index.astype(np.int64) - low]
    return function(index)


def _log_likelihood_rows(
    params: tuple[float, float, float, float],
    x: np.ndarray,
    t_x: np.ndarray,
    n: np.ndarray,
    want_gradient: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """ln L per history (FHS 2010, eq. 5) and, optionally, its gradient w.r.t. the parameters.

    L = B(a+x, b+n-x)/B(a,b) * B(g, d+n)/B(g,d)
        + sum_{i=0}^{n-t_x-1} B(a+x, b+t_x-x+i)/B(a,b) * B(g+1, d+t_x+i)/B(g,d),

    the first term for a customer alive through all n opportunities, the others for one who died
    at the start of opportunity j + 1, j = t_x + i.  Summed with logsumexp; the gradient of ln L
    is the softmax-weighted average of the gradients of the log terms.  Since
    ln B(a+x, b+j-x) = lnG(a+x) + lnG(b+j-x) - lnG(a+b+j), every special function of a sum term
    depends on x, on j or on j - x alone, and is tabulated over those values (:func:`_lookup`).
    """
    alpha, beta, gamma, delta = params
    log_b_ab = betaln(alpha, beta)
    log_b_gd = betaln(gamma, delta)
    psi_a, psi_b, psi_ab = digamma(alpha), digamma(beta), digamma(alpha + beta)
    psi_g, psi_d, psi_gd = digamma(gamma), digamma(delta), digamma(gamma + delta)
    rows = len(x)
    out = np.empty(rows)
    gradient = np.empty((rows, 4)) if want_gradient else None
    width = int(np.max(n - t_x)) if rows else 0
    for sl in _chunks(rows, width + 1):
        xs, ts, ns = x[sl], t_x[sl], n[sl]
        # Term 0: alive through all n opportunities.
        log0 = betaln(alpha + xs, beta + ns - xs) - log_b_ab + betaln(gamma, delta + ns) - log_b_gd
        # Terms i = 0 .. n - t_x - 1 (death after opportunity j = t_x + i), masked past n - t_x.
        i = np.arange(width, dtype=float)
        valid = i < (ns - ts)[:, None]
        j = np.where(valid, ts[:, None] + i, ts[:, None])
        k = j - xs[:, None]
        lg_ax = gammaln(alpha + xs)
        logi = (
            lg_ax[:, None]
            + _lookup(lambda v: gammaln(beta + v), k)
            + _lookup(lambda v: betaln(gamma + 1, delta + v) - gammaln(alpha + beta + v), j)
            - log_b_ab
            - log_b_gd
        )
        logi = np.where(valid, logi, -np.inf)
        terms = np.concatenate([log0[:, None], logi], axis=1)
        ll = logsumexp(terms, axis=1)
        out[sl] = ll
        if want_gradient:
            share = np.exp(terms - ll[:, None])
            s0, si = share[:, 0], share[:, 1:]
            psi_ax = digamma(alpha + xs)
            psi_abn = digamma(alpha + beta + ns)
            psi_gdn = digamma(gamma + delta + ns)
            # d ln term / d parameter (FHS 2010 eq. 5 differentiated): term 0 ...
            g0_alpha = psi_ax - psi_abn - psi_a + psi_ab
            g0_beta = digamma(beta + ns - xs) - psi_abn - psi_b + psi_ab
            g0_gamma = psi_gd - psi_gdn
            g0_delta = digamma(delta + ns) - psi_gdn - psi_d + psi_gd
            # ... and the sum terms, through psi(a+b+j), psi(g+d+j+1), psi(d+j), psi(b+j-x).
            psi_abj = _lookup(lambda v: digamma(alpha + beta + v), j)
            psi_gdj1 = _lookup(lambda v: digamma(gamma + delta + v + 1), j)
            si_total = si.sum(axis=1)
            sum_psi_abj = np.sum(si * psi_abj, axis=1)
            sum_psi_gdj1 = np.sum(si * psi_gdj1, axis=1)
            sum_psi_bk = np.sum(si * _lookup(lambda v: digamma(beta + v), k), axis=1)
            sum_psi_dj = np.sum(si * _lookup(lambda v: digamma(delta + v), j), axis=1)
            gradient[sl, 0] = s0 * g0_alpha + si_total * (psi_ax - psi_a + psi_ab) - sum_psi_abj
            gradient[sl, 1] = s0 * g0_beta + sum_psi_bk - sum_psi_abj + si_total * (psi_ab - psi_b)
            gradient[sl, 2] = (
                s0 * g0_gamma + si_total * (digamma(gamma + 1) - psi_g + psi_gd) - sum_psi_gdj1
            )
            gradient[sl, 3] = (
                s0 * g0_delta + sum_psi_dj - sum_psi_gdj1 + si_total * (psi_gd - psi_d)
            )
    return out, gradient


class BetaGeoBetaBinomial(BaseModel):
    """BG/BB model (Fader, Hardie & Shang 2010) for discrete transaction opportunities.

    Parameters (in ``params_``): ``alpha, beta`` of the Beta distribution of the transaction
    probability ``p`` and ``gamma, delta`` of the Beta distribution of the dropout probability
    ``theta``.  Inputs are ``frequency`` (x), ``recency`` (t_x, the opportunity of the last
    transaction, 0 when x = 0) and ``n_periods`` (n, the number of opportunities observed).
    """

    _param_names = ("alpha", "beta", "gamma", "delta")
    _label = "BG/BB"
    _limits = (
        # Beta(gamma, delta) with gamma -> 0 puts every dropout probability at 0 (methodology.md)
        Limit(
            {"gamma": "0"},
            ("gamma", "delta"),
            "no dropout visible; it reduces to the beta-binomial",
            (("gamma", "0"),),
        ),  # fmt: skip
        # alpha, beta -> inf at a fixed alpha/beta: one transaction probability, tried when
        # either runs off (whichever reaches the edge stands for it, as Gamma-Gamma's q and v)
        *(
            Limit(
                {name: "inf"},
                (name,),
                "one transaction probability for everyone",
                (("alpha", "inf"), ("beta", "inf")),
            )
            for name in ("alpha", "beta")
        ),
        Limit({"delta": "inf"}, ("delta",), "one dropout probability for everyone"),
    )

    # -- fitting ---------------------------------------------------------------------------------
    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        n_periods: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> BetaGeoBetaBinomial:
        """Fit by maximum likelihood (FHS 2010, eq. 5) on the distinct (x, t_x, n) histories.

        ``weights`` optionally gives the number of customers each row stands for (as in the
        compressed donations data).
        """
        x, t_x, n = _validate_discrete(frequency, recency, n_periods)
        histories, counts = distinct_histories(x, t_x, n, weights=weights)
        return self._fit_compressed(histories, counts)

    def _negative_log_likelihood(
        self, log_params: np.ndarray, data: tuple[np.ndarray, ...], weights: np.ndarray
    ) -> tuple[float, np.ndarray]:
        params = tuple(np.exp(log_params))
        x, t_x, n = data
        ll, gradient = _log_likelihood_rows(params, x, t_x, n, want_gradient=True)
        total_gradient = weights @ gradient * np.asarray(params)
        return float(-np.dot(weights, ll)), -total_gradient

    def _initial_log_params(self, data: tuple[np.ndarray, ...], weights: np.ndarray) -> np.ndarray:
        """FHS 2010 start the search at alpha = beta = gamma = delta = 1."""
        return np.zeros(4)

    def log_likelihood_per_customer(
        self, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike
    ) -> np.ndarray:
        """ln L(alpha, beta, gamma, delta | x, t_x, n) per row at the fitted parameters (eq. 5)."""
        x, t_x, n = _validate_discrete(frequency, recency, n_periods)
        params = self._param_values()
        return self._per_history(
            x, t_x, n, lambda ux, ut, un: _log_likelihood_rows(params, ux, ut, un)[0]
        )

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def _per_history(x, t_x, n, function) -> np.ndarray:
        """Evaluate ``function`` once per distinct (x, t_x, n) and expand back to the rows."""
        if len(x) <= 64:
            return function(x, t_x, n)
        (ux, ut, un), _, inverse = compress_histories(x, t_x, n)
        return function(ux, ut, un)[inverse]

    # -- predictions -----------------------------------------------------------------------------
    def probability_alive(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        n_periods: ArrayLike,
        m_periods_ahead: int = 0,
    ) -> np.ndarray:
        """P(alive at opportunity n + 1 + m | x, t_x, n) (FHS 2010, eq. 11 for m = 0).

        P = B(alpha+x, beta+n-x)/B(alpha,beta) * B(gamma, delta+n+1+m)/B(gamma,delta) / L,

        i.e. the customer survived the n observed opportunities (the first term of eq. 5) and
        the next ``1 + m`` dropout draws.
        """
        if m_periods_ahead < 0 or m_periods_ahead != int(m_periods_ahead):
            raise ValueError("m_periods_ahead must be a non-negative whole number")
        alpha, beta, gamma, delta = params = self._param_values()
        x, t_x, n = _validate_discrete(frequency, recency, n_periods)

        def compute(ux, ut, un):
            ll, _ = _log_likelihood_rows(params, ux, ut, un)
            log_alive = (
                betaln(alpha + ux, beta + un - ux)
                - betaln(alpha, beta)
                + betaln(gamma, delta + un + 1 + m_periods_ahead)
                - betaln(gamma, delta)
            )
            return np.minimum(np.exp(log_alive - ll), 1.0)

        return self._per_history(x, t_x, n, compute)

    def expected_transactions_new(self, n_periods: ArrayLike) -> np.ndarray:
        """E[X(n)]: expected transactions of a new customer in n opportunities (FHS 2010, eq. 7).

        E[X(n)] = alpha/(alpha+beta) * delta/(gamma-1) * [1 - Gamma(gamma+delta) Gamma(1+delta+n)
                  / (Gamma(gamma+delta+n) Gamma(1+delta))],

        evaluated as alpha/(alpha+beta) times the expected number of opportunities alive.
        """
        alpha, beta, gamma, delta = self._param_values()
        n = as_float_array(n_periods, "n_periods")
        if np.any(n < 0) or np.any(n != np.floor(n)):
            raise ValueError("n_periods must hold non-negative whole numbers of opportunities")
        log_alive = _log_alive_sum(gamma, delta, np.zeros_like(n), n)
        return alpha / (alpha + beta) * np.exp(log_alive)

    def expected_transactions(
        self,
        m_periods: ArrayLike,
        frequency: ArrayLike,
        recency: ArrayLike,
        n_periods: ArrayLike,
    ) -> np.ndarray:
        """E[X(n, n + m) | x, t_x, n]: transactions in the next m opportunities (FHS 2010, eq. 13).

        E = 1/L * B(alpha+x+1, beta+n-x)/B(alpha,beta) * delta/(gamma-1)
            * Gamma(gamma+delta)/Gamma(1+delta)
            * [Gamma(1+delta+n)/Gamma(gamma+delta+n) - Gamma(1+delta+n+m)/Gamma(gamma+delta+n+m)]
        """
        alpha, beta, gamma, delta = params = self._param_values()
        m = as_float_array(m_periods, "m_periods")
        if np.any(m < 0) or np.any(m != np.floor(m)):
            raise ValueError("m_periods must hold non-negative whole numbers of opportunities")
        x, t_x, n = _validate_discrete(frequency, recency, n_periods)
        x, t_x, n, m = np.broadcast_arrays(x, t_x, n, m)

        def compute(ux, ut, un, um):
            ll, _ = _log_likelihood_rows(params, ux, ut, un)
            log_p = betaln(alpha + ux + 1, beta + un - ux) - betaln(alpha, beta)
            return np.exp(log_p - ll + _log_alive_sum(gamma, delta, un, un + um))

        if len(x) <= 64:
            return compute(x, t_x, n, m)
        (ux, ut, un, um), _, inverse = compress_histories(x, t_x, n, m)
        return compute(ux, ut, un, um)[inverse]

    def probability_of_n_purchases(self, n_periods: int, x: ArrayLike) -> np.ndarray:
        """P(X(n) = x) for a new customer (FHS 2010, eq. 8).

        P = C(n,x) B(alpha+x, beta+n-x)/B(alpha,beta) B(gamma, delta+n)/B(gamma,delta)
            + sum_{i=x}^{n-1} C(i,x) B(alpha+x, beta+i-x)/B(alpha,beta)
                              * B(gamma+1, delta+i)/B(gamma,delta)
        """
        alpha, beta, gamma, delta = self._param_values()
        if n_periods < 0 or n_periods != int(n_periods):
            raise ValueError("n_periods must be a non-negative whole number")
        n = float(n_periods)
        x = as_float_array(x, "x")
        if np.any(x < 0) or np.any(x != np.floor(x)):
            raise ValueError("x must hold non-negative whole numbers")
        out = np.zeros(len(x))
        possible = x <= n
        xs = x[possible]

        def log_choose(a, k):
            return gammaln(a + 1) - gammaln(k + 1) - gammaln(a - k + 1)

        log_b_ab, log_b_gd = betaln(alpha, beta), betaln(gamma, delta)
        log0 = (
            log_choose(n, xs)
            + betaln(alpha + xs, beta + n - xs)
            - log_b_ab
            + betaln(gamma, delta + n)
            - log_b_gd
        )
        i = np.arange(int(n), dtype=float)
        valid = i[None, :] >= xs[:, None]
        ii = np.where(valid, i[None, :], xs[:, None])
        logi = (
            log_choose(ii, xs[:, None])
            + betaln(alpha + xs[:, None], beta + ii - xs[:, None])
            - log_b_ab
            + betaln(gamma + 1, delta + ii)
            - log_b_gd
        )
        logi = np.where(valid, logi, -np.inf)
        out[possible] = np.exp(logsumexp(np.concatenate([log0[:, None], logi], axis=1), axis=1))
        return np.minimum(out, 1.0)

    def discounted_expected_residual_transactions(
        self,
        discount_rate: float,
        frequency: ArrayLike,
        recency: ArrayLike,
        n_periods: ArrayLike,
    ) -> np.ndarray:
        """DERT: discounted expected transactions from opportunity n + 1 on (FHS 2010, eq. 14).

        DERT(d) = B(alpha+x+1, beta+n-x)/B(alpha,beta) * B(gamma, delta+n+1) / (B(gamma,delta)
                  (1+d)) * 2F1(1, delta+n+1; gamma+delta+n+1; 1/(1+d)) / L,

        with a transaction at opportunity n + k discounted by (1 + d)^-k; ``discount_rate`` d is
        per opportunity and must be positive.
        """
        if not discount_rate > 0:
            raise ValueError("discount_rate must be positive (a rate per period, e.g. 0.1)")
        alpha, beta, gamma, delta = params = self._param_values()
        x, t_x, n = _validate_discrete(frequency, recency, n_periods)
        z = 1.0 / (1.0 + discount_rate)

        def compute(ux, ut, un):
            ll, _ = _log_likelihood_rows(params, ux, ut, un)
            log_value = (
                betaln(alpha + ux + 1, beta + un - ux)
                - betaln(alpha, beta)
                + betaln(gamma, delta + un + 1)
                - betaln(gamma, delta)
                + np.log(z)
                + np.log(hyp2f1_at_one(delta + un + 1, gamma + delta + un + 1, z))
            )
            return np.exp(log_value - ll)

        return self._per_history(x, t_x, n, compute)

    # -- simulation ------------------------------------------------------------------------------
    def simulate(self, n_customers: int, n_periods: int, seed: int | None = None) -> pd.DataFrame:
        """Draw (x, t_x, n) histories of ``n_customers`` customers with ``n_periods`` opportunities.

        Each customer draws p ~ Beta(alpha, beta) and theta ~ Beta(gamma, delta); she is alive at
        opportunities 1 .. min(D - 1, n) with D ~ Geometric(theta), and transacts at each of them
        with probability p.  The last transaction and the count are drawn exactly without
        looping over opportunities: counting back from the last living opportunity, the number
        of idle opportunities before the last transaction is Geometric(p) - 1, and the earlier
        opportunities hold a Binomial number of transactions.
        """
        alpha, beta, gamma, delta = self._param_values()
        if n_periods < 0 or n_periods != int(n_periods):
            raise ValueError("n_periods must be a non-negative whole number")
        rng = np.random.default_rng(seed)
        p = rng.beta(alpha, beta, n_customers)
        theta = rng.beta(gamma, delta, n_customers)
        alive = np.minimum(geometric_draws(rng, theta, n_periods + 1) - 1, n_periods)
        idle = geometric_draws(rng, p, n_periods + 1) - 1
        buyer = idle < alive
        t_x = np.where(buyer, alive - idle, 0)
        x = np.where(buyer, 1 + rng.binomial(np.maximum(t_x - 1, 0), p), 0)
        return pd.DataFrame(
            {
                "frequency": x.astype(np.int64),
                "recency": t_x.astype(np.int64),
                "n_periods": np.full(n_customers, int(n_periods), dtype=np.int64),
            }
        )
