"""GGompertz/NBD model of Bemmaor & Glady (2012).

Customers buy at Poisson rate ``lambda`` while alive, ``lambda ~ Gamma(r, alpha)`` (shape, rate),
as in the Pareto/NBD.  Their lifetime ``tau`` is Gompertz with individual survival
``P(tau > t | eta) = exp(-eta (e^(b t) - 1))`` and ``eta ~ Gamma(s, beta)``, so that across
customers (the "gamma Gompertz" law of the paper's Section 2)

    S(t) = P(tau > t) = (beta / (beta + e^(b t) - 1))^s.

``b`` sets how fast the dropout hazard rises with a customer's age; as ``b -> 0`` with
``beta / b`` fixed, ``e^(b t) - 1 ~ b t`` and ``S(t) -> (beta'/(beta' + t))^s`` with
``beta' = beta / b``: the exponential lifetime of the Pareto/NBD with dropout scale ``beta'``.

References
----------
* BG: A. C. Bemmaor & N. Glady (2012), "Modeling purchasing behavior with sudden 'death': a
  flexible customer lifetime model", Management Science 58(5), 1012-1021: the lifetime law
  (Section 2) and the individual likelihood (Section 3), which below is written as
  ``L = Gamma(r+x) alpha^r / Gamma(r) * [ (alpha+T)^-(r+x) S(T)
                                          + int_{t_x}^T (alpha+tau)^-(r+x) f(tau) dtau ]``
  with ``f = -S'`` the lifetime density.  (The purchase part integrates
  ``lambda^x e^(-lambda min(tau, T))`` over the gamma law of ``lambda``; customers alive at T
  contribute the first term, customers who died at ``tau`` in ``(t_x, T]`` the second.)
* FH note: P. S. Fader & B. G. S. Hardie (2005), "A note on deriving the Pareto/NBD model and
  related expressions": the same decomposition for the exponential lifetime, P(alive) as the
  first term over the bracket, and the conditional expectation.
* CLVTools (R package, Meierer, Bachmann, Naef, Oblander & Jung), ``ggomnbd``: the published CDNOW
  fit this implementation is tested against.

Numerics
--------
The integral has no closed form, so it is written as a probability that quadrature handles in
every regime.  For a customer with ``p = r + x`` purchases-plus-shape who is alive at ``t``, let
``W`` be the waiting time to the next purchase (posterior ``lambda ~ Gamma(p, alpha+t)``, so W is
Lomax: ``P(W > w) = (A/(A+w))^p`` with ``A = alpha + t``) and ``D`` the remaining lifetime
(``P(D > d) = S(t+d)/S(t)``), independent.  Then

    G(t) = int_t^inf (alpha+tau)^-p f(tau) dtau = (alpha+t)^-p S(t) J(t),   J(t) = P(D < W),

and the bracket of the likelihood is ``G(t_x) + (alpha+T)^-p S(T) - G(T)``, i.e.

    L = Gamma(r+x) alpha^r / Gamma(r) * [ e^a(t_x) J(t_x) + e^a(T) (1 - J(T)) ],
    a(t) = -p log(alpha+t) + log S(t),

two non-negative terms (no cancellation).  ``J`` and ``1 - J`` are integrated separately over
the quantile of ``D``: with ``eps = P(D <= d)``,

    J = int_0^1 P(W > d(eps)) deps,   1 - J = int_0^1 P(W <= d(eps)) deps,
    d(eps) = log1p(k_t expm1(v/s)) / b,  v = -log(1 - eps),  k_t = beta e^(-bt) - expm1(-bt),

by vectorised adaptive Gauss-Kronrod (7/15 points, panels bisected until each panel's
Kronrod-Gauss difference is below 1e-10 of its row's integral), once per distinct ``(x, t)`` over
``t in {t_x, T}``.  Both integrands are bounded and monotone in ``eps``; a sharp feature (a
purchase that comes long before or long after death, huge ``x``) is a narrow region that the
bisection resolves, so the relative accuracy holds also when ``J`` or ``1 - J`` is tiny.  The
gradient integrates the derivative of the integrand at the same nodes.  ``k_t`` and ``log S``
are written with ``expm1`` so that ``b -> 0``, ``beta -> 0`` (the Pareto/NBD limit) keep full
precision.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from valuecast.models._covariates import CovariateModel, accepts_covariates
from valuecast.models._fitting import (
    LOG_BOUND,
    ONE_PURCHASE_RATE,
    ArrayLike,
    Limit,
    as_float_array,
    compress_histories,
    purchases_while_alive,
    validate_rfm,
)

__all__ = ["GGompertzNBD"]

# Gauss-Kronrod 7/15 nodes and weights on [-1, 1] (QUADPACK's qk15), ascending; the Gauss nodes
# are every other one, starting with the second.
_XK = np.array(
    [
        0.991455371120812639206854697526329,
        0.949107912342758524526189684047851,
        0.864864423359769072789712788640926,
        0.741531185599394439863864773280788,
        0.586087235467691130294144845693013,
        0.405845151377397166906606412076961,
        0.207784955007898467600689403773245,
    ]
)
_WK = np.array(
    [
        0.022935322010529224963732008058970,
        0.063092092629978553290700663189204,
        0.104790010322250183839876322541518,
        0.140653259715525918745189590510238,
        0.169004726639267902826583426598550,
        0.190350578064785409913256402421014,
        0.204432940075298892414161999234649,
    ]
)
_WK_CENTRE = 0.209482141084727828012999174891714
_WG = np.array(
    [
        0.129484966168869693270611432679082,
        0.279705391489276667901467771423780,
        0.381830050505118944950369775488975,
    ]
)
_WG_CENTRE = 0.417959183673469387755102040816327
KRONROD_NODES = np.concatenate([-_XK, [0.0], _XK[::-1]])
KRONROD_WEIGHTS = np.concatenate([_WK, [_WK_CENTRE], _WK[::-1]])
GAUSS_WEIGHTS = np.concatenate([_WG, [_WG_CENTRE], _WG[::-1]])  # at KRONROD_NODES[1::2]

_REL_TOL = 1e-10
_MIN_HALF_WIDTH = 1e-14  # relative to the panel's centre: rounding below
_MAX_LEVELS = 60


def graded_panels(scale: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, ...]:
    """Initial panels on ``[0, hi_i]`` with edges at ``scale_i * 10^j`` (j >= -2) below ``hi_i / 2``.

    An integrand that falls from its value at 0 over a length ``scale`` (the quantity below)
    then meets panels of every size from ``scale / 100`` up, so no Kronrod node set can step
    over the fall: an adaptive rule started on ``[0, hi]`` alone sees only zeros when the fall is
    shorter than the distance to its first node, and accepts them.  Returns
    ``(rows, lo, hi)`` of the panels.
    """
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, np.inf)
    rows, edges = [np.arange(len(hi))], [np.zeros(len(hi))]
    for power in range(-2, 330):
        edge = scale * 10.0**power
        below = edge < hi / 2
        if not np.any(below):
            break
        rows.append(np.flatnonzero(below))
        edges.append(edge[below])
    rows, edges = np.concatenate(rows), np.concatenate(edges)
    order = np.lexsort((edges, rows))
    rows, edges = rows[order], edges[order]
    last = np.r_[rows[1:] != rows[:-1], True]
    right = np.where(last, hi[rows], np.r_[edges[1:], 0.0])
    return rows, edges, right


def adaptive_integrals(
    integrand, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray, n_rows: int, n_checked: int
) -> np.ndarray:
    """Integrals of several functions per row over the union of its panels, by adaptive Gauss-Kronrod.

    ``rows, lo, hi`` are the initial panels (several may belong to one row, e.g. from
    :func:`graded_panels`).  ``integrand(rows, nodes)`` returns shape ``(k, m, 15)``: ``k``
    functions at the nodes ``(m, 15)`` of panels of ``rows``.  Panels are bisected until, for
    each of the first ``n_checked`` functions, the Kronrod-Gauss difference of the panel is below
    ``1e-10`` of the row's integral so far (the 15-point Kronrod value is then accurate far
    beyond that).  Returns ``(k, n_rows)``.
    """
    left, right = np.asarray(lo, float), np.asarray(hi, float)
    totals = None
    for level in range(_MAX_LEVELS):
        centre, half = (left + right) / 2, (right - left) / 2
        values = integrand(rows, centre[:, None] + half[:, None] * KRONROD_NODES)
        kronrod = values @ KRONROD_WEIGHTS * half
        gauss = values[..., 1::2] @ GAUSS_WEIGHTS * half
        if totals is None:
            totals = np.zeros((values.shape[0], n_rows))
        estimate = totals[:n_checked].copy()
        for i in range(n_checked):
            estimate[i] += np.bincount(rows, kronrod[i], minlength=n_rows)
        error = np.abs(kronrod[:n_checked] - gauss[:n_checked])
        done = np.all(error <= _REL_TOL * np.abs(estimate[:, rows]) + 1e-300, axis=0)
        done |= (half <= _MIN_HALF_WIDTH * np.abs(centre)) | (level == _MAX_LEVELS - 1)
        for i in range(len(totals)):
            totals[i] += np.bincount(rows[done], kronrod[i, done], minlength=n_rows)
        keep = ~done
        if not np.any(keep):
            break
        rows, left, right, centre = rows[keep], left[keep], right[keep], centre[keep]
        rows = np.concatenate([rows, rows])
        left, right = np.concatenate([left, centre]), np.concatenate([centre, right])
    return totals


# ---------------------------------------------------------------------------------------------
# the lifetime law
# ---------------------------------------------------------------------------------------------
def _k(beta: float, b: float, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k_t = (beta + e^(bt) - 1) e^(-bt) = beta e^(-bt) - expm1(-bt) > 0, with dk/dbeta, dk/db.

    Both terms are positive, so k keeps full precision when beta and b t are tiny (the
    Pareto/NBD limit, where ``k_t ~ b (beta/b + t)``).
    """
    decay = np.exp(-b * t)
    k = beta * decay - np.expm1(-b * t)
    return k, decay, t * decay * (1.0 - beta)


def _log_survival(s: float, beta: float, b: float, t: np.ndarray, k: np.ndarray) -> np.ndarray:
    """log S(t) = s log(beta / (beta + e^(bt) - 1)) = s (log beta - b t - log k_t)."""
    return s * (np.log(beta) - b * t - np.log(k))


def _log1p_k_expm1(k: np.ndarray, m: np.ndarray):
    """log(1 + k (e^m - 1)) and its derivatives in m and k, without overflow for large m."""
    small = m <= 1.0
    ms = np.where(small, m, 0.0)
    e = np.expm1(ms)
    denominator = 1.0 + k * e
    tail = np.exp(-np.where(small, 1.0, m))
    q = k + (1.0 - k) * tail
    value = np.where(small, np.log1p(k * e), m + np.log(q))
    d_m = np.where(small, k * (e + 1.0) / denominator, k / q)
    d_k = np.where(small, e / denominator, (1.0 - tail) / q)
    return value, d_m, d_k


def _residual_survival(s: float, b: float, k: np.ndarray, u: np.ndarray) -> np.ndarray:
    """P(D > u) = S(t+u)/S(t) = (1 + expm1(b u)/k_t)^-s for a customer alive at t."""
    with np.errstate(over="ignore"):
        return np.exp(-s * np.log1p(np.expm1(b * u) / k))


# ---------------------------------------------------------------------------------------------
# J(t) = P(D < W) per distinct (x, t), with its gradient
# ---------------------------------------------------------------------------------------------
def _pair_integrals(params, p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """J, 1 - J and dJ/d(r, alpha, s, beta, b) for each pair (p = r + x, t): shape (7, n)."""
    _, alpha, s, beta, b = params
    big_a = alpha + t
    k, dk_dbeta, dk_db = _k(beta, b, t)

    def integrand(rows, eps):
        v = -np.log1p(-eps)
        m = v / s
        lam, d_m, d_k = _log1p_k_expm1(k[rows, None], m)
        d = lam / b  # remaining lifetime at quantile eps
        a_row, p_row = big_a[rows, None], p[rows, None]
        log_ratio = np.log1p(d / a_row)
        log_w = -p_row * log_ratio  # log P(W > d)
        g = np.exp(log_w)
        dd_dk = d_k / b
        dlw_dd = -p_row / (a_row + d)
        return np.stack(
            [
                g,
                -np.expm1(log_w),
                g * -log_ratio,  # d/dr through p
                g * p_row * d / (a_row * (a_row + d)),  # d/dalpha through A
                g * dlw_dd * d_m * (-m / s) / b,  # d/ds through m = v/s
                g * dlw_dd * dd_dk * dk_dbeta[rows, None],
                g * dlw_dd * (-d / b + dd_dk * dk_db[rows, None]),
            ]
        )

    # P(W > d) falls from 1 over eps ~ rho = hazard of D at 0 times the scale A/p of W
    rho = s * b * big_a / (k * p)
    rows, lo, hi = graded_panels(rho, np.ones(len(p)))
    return adaptive_integrals(integrand, rows, lo, hi, len(p), n_checked=2)


def _log_a_terms(params, p: np.ndarray, t: np.ndarray):
    """a(t) = -p log(alpha+t) + log S(t) and its gradient in (r, alpha, s, beta, b): (5, n)."""
    _, alpha, s, beta, b = params
    k, dk_dbeta, dk_db = _k(beta, b, t)
    log_k = np.log(k)
    value = -p * np.log(alpha + t) + _log_survival(s, beta, b, t, k)
    grad = np.stack(
        [
            -np.log(alpha + t),
            -p / (alpha + t),
            np.log(beta) - b * t - log_k,
            s / beta - s * dk_dbeta / k,
            -s * t - s * dk_db / k,
        ]
    )
    return value, grad


class _Pairs:
    """The distinct (x, t) over t in {t_x, T} of the rows (x, t_x, T), found once."""

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray):
        self.x, self.t_x, self.T = x, t_x, T
        n = len(x)
        (self.pair_x, self.pair_t), _, inverse = compress_histories(
            np.concatenate([x, x]), np.concatenate([t_x, T])
        )
        self.inv_tx, self.inv_T = inverse[:n], inverse[n:]


def _log_bracket(params, pairs: _Pairs, grad: bool = False):
    """log of the bracket of the likelihood (module docstring), a(T), and d log bracket / dparams.

    bracket = e^a(t_x) J(t_x) + e^a(T) (1 - J(T)), combined in log space.
    """
    r = params[0]
    p_pair = r + pairs.pair_x
    a, da = _log_a_terms(params, p_pair, pairs.pair_t)
    integrals = _pair_integrals(params, p_pair, pairs.pair_t)
    j, j_bar, dj = integrals[0], integrals[1], integrals[2:]
    i1, i2 = pairs.inv_tx, pairs.inv_T
    with np.errstate(divide="ignore"):
        first = a[i1] + np.log(j[i1])  # died between t_x and T (or later than T: see G(T))
        second = a[i2] + np.log(j_bar[i2])  # alive at T, less the part G(T) counted in first
    top = np.maximum(first, second)
    e1, e2 = np.exp(first - top), np.exp(second - top)
    log_b = top + np.log(e1 + e2)
    if not grad:
        return log_b, a[i2]
    # d(e^a J) = e^a (J da + dJ);  d(e^a (1 - J)) = e^a ((1 - J) da - dJ)
    scale1 = np.exp(a[i1] - log_b)
    scale2 = np.exp(a[i2] - log_b)
    d = scale1 * (j[i1] * da[:, i1] + dj[:, i1]) + scale2 * (j_bar[i2] * da[:, i2] - dj[:, i2])
    return log_b, a[i2], d


def _weighted_nll(params, pairs: _Pairs, weights: np.ndarray):
    """Total weighted negative log-likelihood and its gradient in (r, alpha, s, beta, b)."""
    r, alpha = params[0], params[1]
    x = pairs.x
    log_b, _, d_log_b = _log_bracket(params, pairs, grad=True)
    const = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    total = float(weights @ (const + log_b))
    grad = d_log_b @ weights
    grad[0] += weights @ (digamma(r + x) - digamma(r) + np.log(alpha))
    grad[1] += weights.sum() * r / alpha
    return -total, -grad


# ---------------------------------------------------------------------------------------------
# expected lifetime within a horizon
# ---------------------------------------------------------------------------------------------
def _expected_alive_time(s: float, b: float, k: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """int_lo^hi P(D > u) du per row (D the remaining lifetime of an alive customer with k_t)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)

    def integrand(rows, u):
        return _residual_survival(s, b, k[rows, None], u)[None]

    # P(D > u) falls from 1 over u ~ 1/hazard at 0 = k / (s b)
    rows, start, end = graded_panels(k / (s * b), hi - lo)
    start, end = start + lo[rows], end + lo[rows]
    return adaptive_integrals(integrand, rows, start, end, len(k), n_checked=1)[0]


class GGompertzNBD(CovariateModel):
    """GGompertz/NBD (Bemmaor & Glady 2012) for continuous-time, non-contractual purchasing.

    Parameters ``r, alpha`` (gamma heterogeneity of the purchase rate), ``b`` (the Gompertz
    ageing rate of the dropout hazard) and ``s, beta`` (gamma heterogeneity of the hazard's
    scale).  Inputs are, per customer, the number of repeat purchases ``frequency`` (x), the time
    of the last one ``recency`` (t_x) and the length of observation ``T``, in one time unit, which
    ``alpha``, ``b`` and ``1/beta``'s time scale then carry (``beta`` itself is unit-free).

    When the data show no ageing, the likelihood rises towards ``b -> 0`` with ``beta / b``
    fixed, the Pareto/NBD with dropout scale ``beta / b``: the fit then stops at the edge of the
    search space and ``limits_`` says so (see :class:`~valuecast.models._fitting.BaseModel`).
    """

    _param_names = ("r", "alpha", "b", "s", "beta")
    # CLVTools' ggomnbd static covariates: alpha_i = alpha exp(-gamma_p . x_i) and
    # beta_i = beta exp(-gamma_d . z_i); b, the ageing rate, is common to all customers
    _covariate_targets = {"purchase": (("alpha", -1.0),), "dropout": (("beta", -1.0),)}
    _label = "GGompertz/NBD"
    _limits = (
        ONE_PURCHASE_RATE,
        # b -> 0 at a fixed beta/b: no ageing, the Pareto/NBD (searched by _fit_compressed)
        Limit({"b": "0"}, ("b",), "no ageing of the dropout rate; it reduces to the Pareto/NBD"),
    )

    # -- fitting ---------------------------------------------------------------------------------
    def _initial_log_params(self, data, weights) -> np.ndarray:
        x, _, T = data
        mean_rate = max(float(np.average(x / np.maximum(T, 1e-12), weights=weights)), 1e-6)
        mean_T = max(float(np.average(T, weights=weights)), 1e-6)
        # r = s = 1, purchase scale from the observed rate; a dropout hazard s b / beta of
        # 1/mean_T at first that grows e-fold over mean_T
        return np.log([1.0, 1.0 / mean_rate, 1.0 / mean_T, 1.0, 1.0])

    def _fit_compressed(self, data, weights):
        """Fit; when the fit shows no ageing, finish it at the Pareto/NBD limit b -> 0.

        Along b -> 0 with beta / b fixed the likelihood changes by O(b T) only, so the optimiser
        stops wherever that slope falls below its tolerance (CLVTools' CDNOW fit stops at
        b = 1.1e-6).  When the ageing over the longest window, b max(T), is below 1e-6, the fit
        is moved along that ridge to the edge of the search space and optimised again from
        there: the data then either confirm the limit (``limits_`` says b -> 0, as for any
        model at a limit) or pull b back inside.
        """
        T_max = float(np.max(data.pooled[0][2] if hasattr(data, "pooled") else data[2]))
        with warnings.catch_warnings(record=True) as first_warnings:
            warnings.simplefilter("always")
            super()._fit_compressed(data, weights)
        b = self.params_["b"]
        if self.limits_ or b * T_max >= 1e-6:
            for caught in first_warnings:
                warnings.warn_explicit(
                    caught.message, caught.category, caught.filename, caught.lineno
                )
            return self
        shift = float(np.exp(-LOG_BOUND)) / b
        start = dict(self.params_, b=b * shift, beta=self.params_["beta"] * shift)
        saved, self.initial_params = self.initial_params, start
        if hasattr(self, "estimated_covariates_"):
            self._warm_coefficients = self.estimated_coefficient_vector()
        try:
            super()._fit_compressed(data, weights)
        finally:
            self.initial_params = saved
        return self

    def _negative_log_likelihood(self, log_params, data, weights):
        params = np.exp(np.asarray(log_params, float))
        x, t_x, T = data
        cache = getattr(self, "_pairs_cache", None)
        if cache is None or cache.x is not x or cache.t_x is not t_x or cache.T is not T:
            cache = _Pairs(x, t_x, T)
            self._pairs_cache = cache
        order = self._order(params)
        with np.errstate(all="ignore"):
            total, grad = _weighted_nll(order, cache, np.asarray(weights, float))
        grad = self._from_order(grad) * params  # chain rule to the log parameters
        if not np.isfinite(total) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros(5)
        return total, grad

    @staticmethod
    def _order(params: np.ndarray) -> np.ndarray:
        """(r, alpha, b, s, beta) as stored -> (r, alpha, s, beta, b) as the formulas use them."""
        r, alpha, b, s, beta = params
        return np.array([r, alpha, s, beta, b])

    @staticmethod
    def _from_order(values: np.ndarray) -> np.ndarray:
        r, alpha, s, beta, b = values
        return np.array([r, alpha, b, s, beta])

    def _formula_params(self) -> np.ndarray:
        return self._order(np.array(self._param_values()))

    # -- per-customer quantities -----------------------------------------------------------------
    @accepts_covariates(0, 1, 2)
    def log_likelihood_per_customer(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """ln L(r, alpha, b, s, beta | x, t_x, T) per customer at the fitted parameters (BG Section 3)."""
        params = self._formula_params()
        r, alpha = params[0], params[1]

        def function(x, t_x, T):
            log_b, _ = _log_bracket(params, _Pairs(x, t_x, T))
            return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + log_b

        return self._compressed_call(function, frequency, recency, T)

    @accepts_covariates(0, 1, 2)
    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """P(tau > T | x, t_x, T): the likelihood's first term, (alpha+T)^-(r+x) S(T), over its bracket."""
        params = self._formula_params()

        def function(x, t_x, T):
            log_b, a_T = _log_bracket(params, _Pairs(x, t_x, T))
            return np.clip(np.exp(a_T - log_b), 0.0, 1.0)

        return self._compressed_call(function, frequency, recency, T)

    def _alive_time(self, T: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """E[time alive in (T+lo, T+hi] | alive at T] per row."""
        _, _, s, beta, b = self._formula_params()
        k, _, _ = _k(beta, b, T)
        with np.errstate(all="ignore"):
            return _expected_alive_time(s, b, k, lo, hi)

    @accepts_covariates(0, 1, 2, 3)
    def expected_transactions(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """E[X(T, T+t) | x, t_x, T]: expected purchases in the next ``t`` time units.

        Given alive at T, the purchase rate is Gamma(r+x, alpha+T) independently of the remaining
        lifetime D (the likelihood factorises; FH note Section 5), so

            E = P(alive) (r+x)/(alpha+T) int_0^t P(D > u) du,
            P(D > u) = ((beta + e^(bT) - 1)/(beta + e^(b(T+u)) - 1))^s,

        the integral by adaptive Gauss-Kronrod once per distinct (T, t).
        """
        r, alpha = self._formula_params()[:2]
        x, t_x, T = validate_rfm(frequency, recency, T)
        t = as_float_array(t, "t")
        if np.any(t < 0):
            raise ValueError("t must be non-negative")
        t, x, t_x, T = (np.ascontiguousarray(v) for v in np.broadcast_arrays(t, x, t_x, T))
        p_alive = self.probability_alive(x, t_x, T)
        (uT, ut), _, inverse = compress_histories(T, t)
        alive_time = self._alive_time(uT, np.zeros(len(uT)), ut)[inverse]
        return np.maximum(p_alive * (r + x) / (alpha + T) * alive_time, 0.0)

    @accepts_covariates(1, 2, 3)
    def expected_transactions_grid(
        self, times: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """:meth:`expected_transactions` at several horizons at once: shape ``(len(times), n)``.

        P(alive) is computed once; the alive time is integrated once per distinct T over the
        intervals between consecutive horizons and summed.
        """
        r, alpha = self._formula_params()[:2]
        x, t_x, T = validate_rfm(frequency, recency, T)
        times = np.asarray(times, dtype=float).reshape(-1)
        if np.any(~np.isfinite(times)) or np.any(times < 0):
            raise ValueError("times must be finite and non-negative")
        scale = self.probability_alive(x, t_x, T) * (r + x) / (alpha + T)
        (uT,), _, inverse = compress_histories(T)
        order = np.argsort(times)
        edges = np.concatenate([[0.0], times[order]])
        lo = np.repeat(edges[:-1], len(uT))
        hi = np.repeat(edges[1:], len(uT))
        pieces = self._alive_time(np.tile(uT, len(times)), lo, hi).reshape(len(times), len(uT))
        cumulative = np.empty_like(pieces)
        cumulative[order] = np.cumsum(pieces, axis=0)
        return np.maximum(scale * cumulative[:, inverse], 0.0)

    @accepts_covariates(0)
    def expected_transactions_new(self, t: ArrayLike) -> np.ndarray:
        """E[X(t)] for a new customer: (r/alpha) int_0^t S(u) du (the T = 0 case of the above)."""
        r, alpha = self._formula_params()[:2]
        t = as_float_array(t, "t")
        if np.any(t < 0):
            raise ValueError("t must be non-negative")
        alive_time = self._alive_time(np.zeros(len(t)), np.zeros(len(t)), t)
        return np.maximum(r / alpha * alive_time, 0.0)

    @accepts_covariates(0, 1, 2)
    def median_time_to_next_purchase(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """Median wait from T to the next purchase of a customer assumed alive: (alpha+T)(2^(1/(r+x)) - 1).

        The purchase process is the Pareto/NBD's, so the definition and its reasoning are
        :meth:`valuecast.models.ParetoNBD.median_time_to_next_purchase`'s (posterior
        ``lambda ~ Gamma(r+x, alpha+T)``, Lomax waiting time, dropout deliberately ignored).
        """
        r, alpha = self._formula_params()[:2]
        x, _, T = validate_rfm(frequency, recency, T)
        return (alpha + T) * np.expm1(np.log(2.0) / (r + x))

    # -- simulation ------------------------------------------------------------------------------
    @accepts_covariates(0)
    def simulate(self, T: ArrayLike, seed: int | None = None) -> pd.DataFrame:
        """Draw customers from the model at ``params_`` observed for ``T`` each.

        lambda ~ Gamma(r, alpha), eta ~ Gamma(s, beta); the lifetime solves
        eta (e^(b tau) - 1) = E with E ~ Exp(1), i.e. tau = log1p(E/eta)/b; purchases follow a
        Poisson(lambda) process while alive and within (0, T].  Returns frequency, recency, T.
        """
        r, alpha, s, beta, b = self._formula_params()
        T = as_float_array(T, "T")
        if np.any(T < 0):
            raise ValueError("T must be non-negative")
        rng = np.random.default_rng(seed)
        n = len(T)
        lam = rng.gamma(r, 1.0 / alpha, n)
        eta = rng.gamma(s, 1.0 / beta, n)
        with np.errstate(divide="ignore", over="ignore"):
            lifetime = np.log1p(rng.exponential(1.0, n) / np.maximum(eta, 1e-300)) / b
        return purchases_while_alive(rng, lam, lifetime, T)
