"""Code shared by the BG/NBD (:mod:`valuecast.models.bgnbd`) and MBG/NBD
(:mod:`valuecast.models.mbgnbd`) models.

Its length (about 750 lines) is the likelihood, its gradient and the series kernels that BG/NBD and
MBG/NBD share; each model's own file only sets its one difference.

Both models describe a customer who, while alive, buys as a Poisson process with rate
``lambda ~ Gamma(r, alpha)`` and who drops out for good, with probability ``p ~ Beta(a, b)``,
right after a purchase:

* BG/NBD -- Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to
  the Pareto/NBD model", *Marketing Science* 24(2): the coin is tossed after every *repeat*
  purchase;
* MBG/NBD -- Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of
  models for customer base analysis", *International Journal of Research in Marketing* 24(3):
  the coin is also tossed after the *first* purchase, so a customer can be gone at time 0.

Everything below is written once with ``shift`` = 0 (BG/NBD) or 1 (MBG/NBD): the number of coin
tosses a customer with ``x`` repeat purchases has survived is ``x + shift``.

The conditional expectation of both models reduces to one kernel,

    K(n, a, beta, tau) = E_p[(1 - (1 + p tau)^(-n)) / p],   p ~ Beta(a, beta),

the expected number of purchases in the next ``t = tau * theta`` time units of an alive customer
whose purchase rate is ``Gamma(n, theta)`` and whose dropout probability is ``Beta(a, beta)``
(FHL 2005 eq. 10 is ``K`` times P(alive)). :func:`beta_geo_kernel` evaluates it robustly; see its
docstring for the method.
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betainc, betaln, digamma, exprel, gammaln

from valuecast.models._covariates import CovariateModel, accepts_covariates
from valuecast.models._fitting import (
    LIMIT_SEARCH_FROM,
    LOG_BOUND,
    LOG_EDGE,
    ONE_PURCHASE_RATE,
    ONE_RATE_RIDGE,
    ArrayLike,
    Limit,
    as_float_array,
    compress_histories,
    log_rising,
    purchases_by_period,
    remembered_histories,
    validate_rfm,
)

_LOG2 = float(np.log(2.0))
# the share a/(a+b) of customers leaving at the first chance from which Beta(a, b) with a and b
# both near 0 is two kinds of customer rather than the NBD's (nobody leaving)
TWO_KINDS_FROM = 1e-3


# ------------------------------------------------------------------------------------------------
# the kernel K(n, a, beta, tau) = E_p[(1 - (1 + p tau)^-n) / p],  p ~ Beta(a, beta)
# ------------------------------------------------------------------------------------------------
def _quiet(function):
    """Run ``function`` with floating-point warnings off (its callers check the results)."""

    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return function(*args, **kwargs)

    wrapper.__doc__ = function.__doc__
    wrapper.__name__ = function.__name__
    return wrapper


_SERIES_SCALAR_TAIL = 8
"""Rows of :func:`_kernel_series` at or below which the terms go on in Python floats: the rows
with the largest ``z`` run hundreds of terms after the others have finished, and a term of a
few rows costs less in Python than the dozen NumPy calls of a term of the arrays."""


@_quiet
def _kernel_series(n, a, beta, tau, max_terms: int = 3000, scalar_tail: bool = True):
    """Hypergeometric series for ``K``; returns ``(value, ok)``.

    With ``c = a + beta - 1``, FHL (2005) eq. 10 reads ``K = c/(a-1) [1 - (1-z)^n 2F1(n, beta; c;
    z)]`` with ``z = tau/(1+tau)``. Pfaff's and Euler's transformations give
    ``(1-z)^n 2F1(n, beta; c; z) = (1+tau)^(1-a) 2F1(c-n, a-1; c; z)``, whose parameters no longer
    grow with the number of purchases. Writing ``2F1(c-n, a-1; c; z) = 1 + (a-1) S`` removes the
    ``1/(a-1)`` singularity at ``a = 1``:

        K = c L exprel((1-a) L) - (1+tau)^(1-a) S,   L = log(1+tau),
        S = c * sum_{k>=1} (c-n)_k (a)_{k-1} / ((c)_k k!) z^k
          = sum_{k>=1} (c-n)_k (a)_{k-1} / ((c+1)_{k-1} k!) z^k     (c+1 = a+beta > 0).

    The terms (pre-multiplied by ``(1+tau)^(1-a)``) are summed until the remainder, bounded by a
    geometric tail, is below 1e-17 of the running total. Rows are flagged not ``ok`` when the
    series does not converge within ``max_terms`` terms, when the prefactor under/overflows, or when
    the two parts cancel so badly (condition number > 1e6) that fewer than ~10 digits would be
    left; those go to :func:`_kernel_quadrature`.  ``scalar_tail``: the last
    :data:`_SERIES_SCALAR_TAIL` rows finish in :func:`_series_tail` (the same bits); without it,
    in arrays to the end.
    """
    L = np.log1p(tau)
    z = tau / (1.0 + tau)
    c = a + beta - 1.0
    ap = c - n
    log_pref = (1.0 - a) * L
    first = c * L * exprel(log_pref)
    value = np.zeros_like(tau)
    ok = np.isfinite(first) & (np.abs(log_pref) < 600.0) & (tau > 0)
    value[tau == 0] = 0.0
    active = np.flatnonzero(ok)
    term = ap[active] * z[active] * np.exp(log_pref[active])
    total = term.copy()
    abs_total = np.abs(term)
    pa = ap[active]
    aa = a[active]
    cc = c[active]
    zz = z[active]
    ff = np.abs(first[active])
    done_sum = np.zeros_like(tau)
    done_abs = np.zeros_like(tau)
    converged = np.zeros(len(tau), dtype=bool)
    k = 1
    probe = _slowest(zz)
    while active.size and k < max_terms:
        if scalar_tail and active.size <= _SERIES_SCALAR_TAIL:
            state = (term, total, abs_total, pa, aa, cc, zz, ff)
            for row, (row_sum, row_abs, finished) in enumerate(
                _series_tail(k, max_terms, *(part.tolist() for part in state))
            ):
                if finished:
                    done_sum[active[row]], done_abs[active[row]] = row_sum, row_abs
                    converged[active[row]] = np.isfinite(row_sum)
            break
        ratio = (pa + k) * (aa + k - 1.0) / ((cc + k) * (k + 1.0)) * zz
        term = term * ratio
        total += term
        abs_total += np.abs(term)
        k += 1
        # Between harvests the rows are checked only to stop once all have finished: the row
        # slowest to converge (largest z), still running, says that not all have.
        one = slice(probe, probe + 1)
        if k % 8 and not _finished(ratio[one], term[one], total[one], zz[one], ff[one])[0]:
            continue
        finished = _finished(ratio, term, total, zz, ff)
        if k % 8 == 0 or finished.all():
            finished |= ~np.isfinite(term)
            if finished.any():
                idx = active[finished]
                done_sum[idx] = total[finished]
                done_abs[idx] = abs_total[finished]
                converged[idx] = np.isfinite(total[finished])
                keep = ~finished
                active = active[keep]
                term, total, abs_total = term[keep], total[keep], abs_total[keep]
                pa, aa, cc, zz, ff = pa[keep], aa[keep], cc[keep], zz[keep], ff[keep]
                probe = _slowest(zz)
    ok &= converged
    value = np.where(ok, first - done_sum, 0.0)
    condition = (np.abs(first) + done_abs) / np.where(value > 0, value, np.inf)
    ok &= (value > 0) & (condition < 1e3)
    ok |= tau == 0
    value[tau == 0] = 0.0
    return value, ok


def _finished(ratio, term, total, z, first):
    """Which rows of :func:`_kernel_series` have converged: the geometric bound of the remainder,
    ``|term| rho / (1 - rho)`` with ``rho = max(|ratio|, z)``, below 1e-17 of the running total
    (with the term ratio below 1), or a term of exactly 0 (a terminating series)."""
    absr = np.abs(ratio)
    rho = np.maximum(absr, z)
    tail = np.where(rho < 1.0, np.abs(term) * rho / (1.0 - rho), np.inf)
    return (tail <= 1e-17 * (first + np.abs(total))) & (absr < 1.0) | (term == 0.0)


def _series_tail(k, max_terms, term, total, abs_total, pa, aa, cc, zz, ff):
    """:func:`_kernel_series`'s loop for its last rows, from term ``k`` on, in Python floats: the
    same IEEE operations in the same order, so the same bits, with a row's sum taken at the same
    term (when every row has finished, or at a multiple of 8 terms for those that have).

    The arguments are the rows' lists; returns each row's ``(sum, sum of |terms|, finished)``,
    ``finished`` False for a row still running at ``max_terms``.
    """
    rows = list(range(len(term)))
    ratio = [0.0] * len(term)
    outcome = [(0.0, 0.0, False)] * len(term)
    while rows and k < max_terms:
        for i in rows:
            ratio[i] = _divide((pa[i] + k) * (aa[i] + k - 1.0), (cc[i] + k) * (k + 1.0)) * zz[i]
            term[i] = term[i] * ratio[i]
            total[i] += term[i]
            abs_total[i] += abs(term[i])
        k += 1
        finished = [_finished_scalar(ratio[i], term[i], total[i], zz[i], ff[i]) for i in rows]
        if k % 8 == 0 or all(finished):
            running = []
            for i, done in zip(rows, finished, strict=True):
                if done or not math.isfinite(term[i]):
                    outcome[i] = (total[i], abs_total[i], True)
                else:
                    running.append(i)
            rows = running
    return outcome


def _finished_scalar(ratio: float, term: float, total: float, z: float, first: float) -> bool:
    """:func:`_finished` of one row, in Python floats (NaN handled as NumPy does)."""
    absr = abs(ratio)
    rho = math.nan if math.isnan(absr) or math.isnan(z) else max(absr, z)
    tail = abs(term) * rho / (1.0 - rho) if rho < 1.0 else math.inf
    return (tail <= 1e-17 * (first + abs(total))) and (absr < 1.0) or (term == 0.0)


def _divide(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` as NumPy divides (a zero denominator gives inf or NaN)."""
    if denominator != 0.0:
        return numerator / denominator
    if numerator == 0.0 or math.isnan(numerator):
        return math.nan
    return math.copysign(math.inf, numerator) * math.copysign(1.0, denominator)


def _slowest(z: np.ndarray) -> int:
    """The row whose series converges slowest, as far as ``z`` tells (0 for no row)."""
    return int(np.argmax(z)) if z.size else 0


_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)


def _kernel_quadrature(n, a, beta, tau, chunk: int = 1024):
    """``K`` by quadrature on the logit scale ``y = log(p / (1-p))``.

    ``K = B(a,beta)^-1 int p^a (1-p)^beta g(p) dy`` with ``g(p) = -expm1(-n log1p(p tau)) / p``.
    On this scale every singularity of the integrand sits at distance pi from the real axis, so
    composite Gauss-Legendre converges fast whatever the parameters. The integration range is
    found on a coarse grid (plus the Beta mode) as where the integrand exceeds 1e-20 of its largest
    value; the far tails, where the integrand is ``n tau e^(a y)`` resp. ``g(1) e^(-beta y)``
    times ``1/B``, are added in closed form.
    """
    out = np.empty_like(tau)
    for start in range(0, len(tau), chunk):
        sl = slice(start, start + chunk)
        out[sl] = _kernel_quadrature_chunk(n[sl], a[sl], beta[sl], tau[sl])
    return out


_NARROW_STEPS = np.linspace(-45.0, 45.0, 61)
"""Where :func:`_kernel_quadrature_chunk` looks for a narrow Beta's mass, in its logit's spreads
from the mode (the integrand falls below 1e-20 of its top within about 10 of them)."""


def _log_integrand(y, n, a, beta, tau, mode, log_top):
    """The log of ``K``'s integrand on the logit scale ``y``: the Beta's density ``p^a (1-p)^beta
    / B(a, beta)`` times ``g(p)``.

    The density is taken relative to its mode ``y0 = log(a / beta)`` (``log_top`` is its log
    there, :func:`_log_beta_top`): ``a d - (a + beta) log1p(p0 expm1(d))`` with ``d = y - y0``
    and ``p0 = a / (a + beta)`` is ``a log p + beta log(1-p)`` less its value at the mode, of
    the size of the density's fall, where the two terms themselves, ``a log p0`` and ``beta
    log(1-p0)`` of 1e5 and more for a narrow Beta, would round it by more than 1e-11.
    """
    log_p = -np.logaddexp(0.0, -y)
    p = np.exp(log_p)
    big = -np.expm1(-n * np.log1p(p * tau))  # 1 - (1 + p tau)^-n, in (0, 1]
    d = y - mode
    fall = a * d - (a + beta) * np.log1p(a / (a + beta) * np.expm1(d))
    with np.errstate(divide="ignore"):
        return fall + log_top + np.log(big) - log_p


_HALF_LOG_2PI = 0.5 * float(np.log(2.0 * np.pi))


def _stirling_remainder(x: np.ndarray) -> np.ndarray:
    """``ln Gamma(x) - [(x - 1/2) ln x - x + ln(2 pi)/2]``: directly below 10, where the terms
    are small, and by its asymptotic series above (error below 1e-14 from 10 on)."""
    x = np.asarray(x, dtype=float)
    small = x < 10.0
    xs = np.where(small, x, 10.0)
    direct = gammaln(xs) - ((xs - 0.5) * np.log(xs) - xs + _HALF_LOG_2PI)
    xl = np.where(small, 10.0, x)
    inv, inv2 = 1.0 / xl, 1.0 / (xl * xl)
    series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 / 1188))))
    return np.where(small, direct, series)


def _log_beta_top(a: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """``a log p0 + beta log(1 - p0) - ln B(a, beta)`` at ``p0 = a / (a + beta)``: the log of the
    Beta's density on the logit scale at its mode, by Stirling's formula, in which the terms
    of size ``a log p0`` cancel by hand and leave ``ln(a beta / (a + beta)) / 2 - ln(2 pi)/2``
    and the small remainders."""
    return (
        0.5 * (np.log(a) + np.log(beta) - np.log(a + beta))
        - _HALF_LOG_2PI
        - _stirling_remainder(a)
        - _stirling_remainder(beta)
        + _stirling_remainder(a + beta)
    )


@_quiet
def _kernel_quadrature_chunk(n, a, beta, tau):
    n, a, beta, tau = (v[:, None] for v in (n, a, beta, tau))
    ntau = n * tau
    big_lo = np.maximum.reduce([np.zeros_like(tau), np.log(ntau), np.log(tau), np.log(beta)])
    y_lo = -40.0 - big_lo
    y_hi = 40.0 + np.log1p(a) + np.log1p(n)
    # coarse grid plus the mode of p^a (1-p)^beta on the logit scale
    grid = y_lo + (y_hi - y_lo) * np.linspace(0.0, 1.0, 241)[None, :]
    top_at = np.log(a) - np.log(beta)
    log_top = _log_beta_top(a, beta)
    mode = np.clip(top_at, y_lo, y_hi)
    grid = np.concatenate([grid, mode], axis=1)
    # a Beta so concentrated that the logit's spread (about sqrt(1/a + 1/beta)) is below the
    # coarse grid's step (a fit at the limit of a fixed dropout probability: a and beta of
    # 1e6 and more) lies between two grid points: points spanning it find its range; in the
    # other rows of the chunk they all sit on the mode and change nothing
    spread = np.sqrt(1.0 / a + 1.0 / beta)
    narrow = spread < (y_hi - y_lo) / 240.0
    if narrow.any():
        local = mode + np.where(narrow, spread, 0.0) * _NARROW_STEPS[None, :]
        grid = np.concatenate([grid, np.clip(local, y_lo, y_hi)], axis=1)
    grid = np.sort(grid, axis=1)
    with np.errstate(all="ignore"):
        ell = _log_integrand(grid, n, a, beta, tau, top_at, log_top)
    ell = np.where(np.isfinite(ell), ell, -np.inf)
    top = ell.max(axis=1, keepdims=True)
    significant = ell >= top - 46.0
    cols = np.arange(grid.shape[1])[None, :]
    first_idx = np.where(significant, cols, grid.shape[1]).min(axis=1)
    last_idx = np.where(significant, cols, -1).max(axis=1)
    rows = np.arange(grid.shape[0])
    lo_idx = np.maximum(first_idx - 1, 0)
    hi_idx = np.minimum(last_idx + 1, grid.shape[1] - 1)
    left = grid[rows, lo_idx][:, None]
    right = grid[rows, hi_idx][:, None]
    # composite Gauss-Legendre with 40 panels of 8 nodes
    panels = 40
    edges = left + (right - left) * np.linspace(0.0, 1.0, panels + 1)[None, :]
    half = (edges[:, 1:] - edges[:, :-1]) / 2.0
    mid = (edges[:, 1:] + edges[:, :-1]) / 2.0
    nodes = (mid[:, :, None] + half[:, :, None] * _GL_X[None, None, :]).reshape(len(rows), -1)
    weights = (half[:, :, None] * _GL_W[None, None, :]).reshape(len(rows), -1)
    with np.errstate(all="ignore"):
        ell_nodes = _log_integrand(nodes, n, a, beta, tau, top_at, log_top)
    body = np.sum(weights * np.exp(np.where(np.isfinite(ell_nodes), ell_nodes, -np.inf)), axis=1)
    # closed-form tails when the range reaches the ends: the density is e^(a y) / B(a, beta)
    # below and e^(-beta y) / B(a, beta) above, written relative to its mode as in
    # _log_integrand (a small a's ln B(a, beta) = ln Gamma(a) + ln Gamma(beta) - ln
    # Gamma(a + beta) keeps only ~1e-9 at a beta of 1e6)
    with np.errstate(all="ignore"):
        a0, b0, top0, log_top0 = a[:, 0], beta[:, 0], top_at[:, 0], log_top[:, 0]
        p0 = a0 / (a0 + b0)
        log_below = a0 * (left[:, 0] - top0) - (a0 + b0) * np.log1p(-p0) + log_top0
        lower_tail = np.exp(np.log(ntau[:, 0]) + log_below) / a0
        g1 = -np.expm1(-n[:, 0] * np.log1p(tau[:, 0]))
        log_above = -b0 * (right[:, 0] - top0) - (a0 + b0) * np.log(p0) + log_top0
        upper_tail = g1 * np.exp(log_above) / b0
    body += np.where(lo_idx == 0, lower_tail, 0.0)
    body += np.where(hi_idx == grid.shape[1] - 1, upper_tail, 0.0)
    return np.where(tau[:, 0] > 0, body, 0.0)


def beta_geo_kernel(n: ArrayLike, a: ArrayLike, beta: ArrayLike, tau: ArrayLike) -> np.ndarray:
    """``K(n, a, beta, tau) = E[(1 - (1 + p tau)^-n) / p]`` for ``p ~ Beta(a, beta)``.

    The bracket of FHL (2005) eq. 10 divided by ``a - 1`` (times ``a + b + x - 1``): the expected
    number of purchases over ``tau`` (in units of the rate's scale) of an alive customer with rate
    ``Gamma(n, 1)`` and dropout probability ``Beta(a, beta)``. Evaluated by a transformed,
    singularity-free hypergeometric series (:func:`_kernel_series`) where that is fast and well
    conditioned, and by logit-scale quadrature (:func:`_kernel_quadrature`) elsewhere (a near 1 with
    tiny tau, huge ``a``, ``tau`` so large that ``z = tau/(1+tau)`` is within ~1e-3 of 1 for small
    ``n``, ...); where ``a + beta`` reaches :data:`CONCENTRATED_BETA` and ``p``'s relative spread
    is small (:func:`_concentrated`) the Beta is nearly a point, and the delta method
    (:func:`_concentrated_kernel`) is exact to 1e-12 where both lose precision. The result is
    finite, non-negative and increasing in ``tau``.
    """
    n, a, beta, tau = (np.asarray(v, dtype=float) for v in (n, a, beta, tau))
    n, a, beta, tau = np.broadcast_arrays(n, a, beta, tau)
    shape = n.shape
    n, a, beta, tau = (np.ascontiguousarray(v).reshape(-1) for v in (n, a, beta, tau))
    concentrated = _concentrated(a, beta)
    if not concentrated.any():
        return _kernel_values(n, a, beta, tau).reshape(shape)
    value = np.empty_like(tau)
    rows, rest = np.flatnonzero(concentrated), np.flatnonzero(~concentrated)
    value[rows] = _concentrated_kernel(n[rows], a[rows], beta[rows], tau[rows])
    if rest.size:
        value[rest] = _kernel_values(n[rest], a[rest], beta[rest], tau[rest])
    return value.reshape(shape)


CONCENTRATED_BETA = 1e6
"""``a + beta`` from which :func:`beta_geo_kernel` may take the delta method: where the Beta is
also narrow around its mean (:data:`CONCENTRATED_SPREAD`) the method holds to 1e-12, and the
quadrature keeps less as the distribution narrows (4e-10 at ``a = beta = 1e15``, 4e-8 at 1e19,
which a fit with dropout covariates at the edge of their search space reaches)."""

CONCENTRATED_SPREAD = 1e-6
"""The largest relative variance of the dropout probability, ``Var(p) / E[p]^2 = beta / (a (a +
beta + 1))``, at which :func:`beta_geo_kernel` takes the delta method: its error is of the order
of the square of that (1e-12 here).  A large ``a + beta`` alone does not make the Beta narrow:
at the no-dropout limit ``b -> inf`` with ``a`` finite the relative spread of ``p`` stays
``1 / sqrt(a)``, and the delta method was ``1 / a^2`` off wherever dropout shows within the
horizon (14% at ``a = 2.7``); there the quadrature, whose density is taken relative to its mode,
keeps ~1e-14."""


def _concentrated(a: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Rows whose Beta is so narrow around its mean that :func:`_concentrated_kernel` holds to
    ~1e-12: ``a + beta`` of at least :data:`CONCENTRATED_BETA` and ``p``'s relative variance at
    most :data:`CONCENTRATED_SPREAD`."""
    with np.errstate(all="ignore"):
        spread = beta / (a * (a + beta + 1.0))
    return (a + beta >= CONCENTRATED_BETA) & (spread <= CONCENTRATED_SPREAD)


def _concentrated_kernel(
    n: np.ndarray, a: np.ndarray, beta: np.ndarray, tau: np.ndarray
) -> np.ndarray:
    """``K`` for a Beta so narrow that it is almost its mean ``p0 = a / (a + beta)``: the delta
    method to second order, ``k(p0) + k''(p0) Var(p) / 2`` with ``k(p) = (1 - (1 + p tau)^-n) / p``
    and ``Var(p) = p0 (1 - p0) / (a + beta + 1)``; ``k''`` by a central difference."""
    size = a + beta
    p0 = a / size
    variance = p0 * (1.0 - p0) / (size + 1.0)
    step = 1e-3 * np.minimum(p0, 1.0 - p0)

    def k(p: np.ndarray) -> np.ndarray:
        return -np.expm1(-n * np.log1p(p * tau)) / p

    with np.errstate(all="ignore"):
        curvature = (k(p0 + step) - 2.0 * k(p0) + k(p0 - step)) / step**2
    return k(p0) + 0.5 * np.where(step > 0, curvature, 0.0) * variance


def _kernel_values(n: np.ndarray, a: np.ndarray, beta: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """``K`` by the series, or the quadrature where the series is slow or ill-conditioned."""
    with np.errstate(all="ignore"):
        long = _series_too_long(a, tau)
        if long.any():
            value, ok = np.zeros_like(tau), np.zeros(len(tau), dtype=bool)
            short = np.flatnonzero(~long)
            value[short], ok[short] = _series_in_halves(n[short], a[short], beta[short], tau[short])
        else:
            value, ok = _series_in_halves(n, a, beta, tau)
    bad = np.flatnonzero(~ok)
    if bad.size:
        value[bad] = _kernel_quadrature(n[bad], a[bad], beta[bad], tau[bad])
    return value


_QUADRATURE_MIN_A = 10.0
"""Rows with ``a`` below this always take the series (most shops' fits)."""
_TERM_SECONDS = 20e-6
_ROW_TERM_SECONDS = 15e-9
_QUADRATURE_ROW_SECONDS = 65e-6
"""The costs :func:`_series_too_long` weighs, measured on 2 cores: a term of the series' loop
costs about 20 microseconds of NumPy calls plus 15 ns per row still running; the quadrature,
about 65 microseconds per row (some 600 evaluations of the integrand)."""


def _series_too_long(a: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """The rows to integrate by :func:`_kernel_quadrature` instead of the series: those whose
    long series would cost more than their quadrature.

    With a large ``a`` the terms grow for about ``a z / (1 - z)`` terms before they fall (the
    dropout probability is then well identified, as in a bootstrap replicate of a few hundred
    customers); a row's terms are estimated as ``(a + 40) / (1 - z)`` (at most the series' 3000).
    The series' loop runs as long as its longest row: sending the ``j`` longest rows to the
    quadrature saves the terms by which they outlast the rest, and costs ``j`` quadratures.  The
    best ``j`` is taken, none when nothing is saved.  Measured on 200 rows (``beta`` around ``a``,
    ``z`` up to 0.5 / 0.9): the series took 6.8 / 42 ms at ``a = 50`` and 21 / 103 ms at
    ``a = 300`` (where a third of the rows ran out of terms), the quadrature 13-14 ms; the two
    agree to 2e-12.  Tens of thousands of rows share each term's overhead: they keep the series.
    """
    long = np.zeros(len(tau), dtype=bool)
    candidates = np.flatnonzero(a >= _QUADRATURE_MIN_A)
    if candidates.size == 0:
        return long
    z = tau / (1.0 + tau)
    terms = np.minimum((a + 40.0) / np.maximum(1.0 - z, 1e-300), 3000.0)
    ranked = candidates[np.argsort(-terms[candidates], kind="stable")]
    longest = float(terms.max())
    saved = (
        (longest - _remaining_longest(terms, ranked)) * _TERM_SECONDS
        + np.cumsum(terms[ranked]) * _ROW_TERM_SECONDS
        - np.arange(1, len(ranked) + 1) * _QUADRATURE_ROW_SECONDS
    )
    best = int(np.argmax(saved))
    if saved[best] > 0:
        long[ranked[: best + 1]] = True
    return long


def _remaining_longest(terms: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """For ``j = 1..len(ranked)``: the most terms among the rows not in ``ranked[:j]``."""
    outside = np.ones(len(terms), dtype=bool)
    outside[ranked] = False
    fixed = float(terms[outside].max()) if outside.any() else 0.0
    # after removing the j longest candidates, the longest candidate left is ranked[j]
    following = np.concatenate([terms[ranked][1:], [0.0]])
    return np.maximum(following, fixed)


def _series_in_halves(n, a, beta, tau):
    """:func:`_kernel_series` on two halves of many rows, in two threads.

    The series' loop is a few numpy operations per term on the rows still running; on tens of
    thousands of rows numpy holds the GIL for little of it, so the halves use two cores.
    """
    size = len(tau)
    if size < 50_000 or (os.cpu_count() or 1) < 2:
        return _kernel_series(n, a, beta, tau)
    halves = [slice(0, size // 2), slice(size // 2, size)]
    parts = _map_chunks(lambda sl: _kernel_series(n[sl], a[sl], beta[sl], tau[sl]), halves, size)
    return np.concatenate([part[0] for part in parts]), np.concatenate([part[1] for part in parts])


class _Histories(NamedTuple):
    """Validated histories and their distinct ``(x, T)`` with each one's (read-only copies when
    remembered)."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    ux: np.ndarray
    uT: np.ndarray
    inverse: np.ndarray


def _grouped(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> _Histories:
    """The histories validated and grouped by ``(x, T)``; within
    :func:`~valuecast.models._fitting.remembering_histories`, remembered for the last ones.

    The delta method predicts the same histories at five parameter sets, and the per-history
    predictions read them again: validating and grouping 475,000 histories costs ~0.03 s a call.
    The given arrays are compared in full with the remembered copies, so histories changed in
    place (or other ones) are validated and grouped afresh.
    """
    memory = remembered_histories()
    last = None if memory is None else memory[0]
    if last is not None and _same(last, (frequency, recency, T)):
        return last
    x, t_x, T = validate_rfm(frequency, recency, T)
    (ux, uT), _, inverse = compress_histories(x, T)
    if memory is None:
        return _Histories(x, t_x, T, ux, uT, inverse)
    columns = [np.array(v, dtype=float) for v in (x, t_x, T)]
    for column in (*columns, ux, uT, inverse):
        column.setflags(write=False)
    memory[0] = _Histories(*columns, ux, uT, inverse)
    return memory[0]


def _validated(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike):
    """The validated histories: the remembered ones when they are these (:func:`_grouped`)."""
    memory = remembered_histories()
    last = None if memory is None else memory[0]
    if last is not None and _same(last, (frequency, recency, T)):
        return last.x, last.t_x, last.T
    return validate_rfm(frequency, recency, T)


def _same(histories: _Histories, given: tuple) -> bool:
    """Whether ``given`` (frequency, recency, T) hold exactly the remembered histories."""
    for remembered, values in zip((histories.x, histories.t_x, histories.T), given, strict=True):
        values = np.asarray(values)
        if values.shape != remembered.shape or not np.array_equal(values, remembered):
            return False
    return True


# ------------------------------------------------------------------------------------------------
# the model family
# ------------------------------------------------------------------------------------------------
class _LikelihoodData:
    """Compressed histories plus the index structures the likelihood reuses at every evaluation.

    Terms that depend on ``x`` only (gamma and digamma functions) are evaluated on the distinct
    ``x`` values, logarithms of ``alpha + t_x`` and ``alpha + T`` on the distinct times; only the
    two-term mixture of the likelihood needs one pass over the distinct histories.
    """

    def __init__(self, x, t_x, T, weights, shift):
        self.x, self.t_x, self.T, self.w = x, t_x, T, weights
        self.shift = shift
        self.total = float(weights.sum())
        self.ux, self.xi = np.unique(x, return_inverse=True)
        self.ut, self.ti = np.unique(t_x, return_inverse=True)
        self.uT, self.Ti = np.unique(T, return_inverse=True)
        self.xi, self.ti, self.Ti = (
            np.ascontiguousarray(v, dtype=np.intp) for v in (self.xi, self.ti, self.Ti)
        )
        self.Wx = np.bincount(self.xi, weights=weights, minlength=len(self.ux))
        self.Wt = np.bincount(self.ti, weights=weights, minlength=len(self.ut))
        self.WXt = np.bincount(self.ti, weights=weights * x, minlength=len(self.ut))
        # BG/NBD: customers without a repeat purchase have no "dropped out after the last
        # purchase" term; MBG/NBD always has one (dropout at time 0).
        self.has_second_x = (self.ux > 0) if shift == 0 else np.ones(len(self.ux), dtype=bool)
        self._buffers = None
        self.total_rows = len(x)

    def chunks(self) -> list[slice]:
        """Row slices for the likelihood pass: two halves on big data (two threads)."""
        n = len(self.x)
        if n < 100_000 or (os.cpu_count() or 1) < 2:
            return [slice(0, n)]
        return [slice(0, n // 2), slice(n // 2, n)]

    def buffers(self):
        """Four work arrays the size of the data, allocated once."""
        if self._buffers is None:
            self._buffers = tuple(np.empty(len(self.x)) for _ in range(4))
        return self._buffers


def _dot(left: np.ndarray, right: np.ndarray) -> float:
    """Inner product without BLAS (whose thread start-up dominates for one call)."""
    return float(np.einsum("i,i->", left, right))


_POOL = None


def _map_chunks(function, chunks, n_rows):
    """Apply ``function`` to each slice, in a two-thread pool when the data are big.

    numpy releases the GIL inside its loops, so the two halves of the likelihood's one pass over
    the distinct histories run in parallel on two cores.
    """
    global _POOL
    if len(chunks) == 1:
        return [function(chunks[0])]
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=len(chunks), thread_name_prefix="valuecast-bg")
    return list(_POOL.map(function, chunks))


def _mixture_pass(d, sl, r, lat, laT, q_x):
    """Per-history part of the likelihood on rows ``sl``.

    ``D = log(exp(u) + q)`` with ``u = (r+x) log((alpha+t_x)/(alpha+T)) <= 0`` and
    ``q = a/(b+x+s-1)`` (0 when there is no second term): ``exp(u)`` is in (0, 1] and never
    overflows (Hardie note 027). Returns the partial sums the likelihood and gradient need.
    Preallocated buffers and ``np.take`` keep the pass free of large temporaries.
    """
    ti, Ti, xi, x, w = d.ti[sl], d.Ti[sl], d.xi[sl], d.x[sl], d.w[sl]
    diff, tmp, rx, u = (b[sl] for b in d.buffers())
    np.take(lat, ti, out=diff)
    np.take(laT, Ti, out=tmp)
    np.subtract(diff, tmp, out=diff)
    np.add(x, r, out=rx)
    np.multiply(rx, diff, out=u)
    np.take(q_x, xi, out=tmp)
    np.exp(u, out=u)  # u now holds exp(u)
    np.add(u, tmp, out=tmp)  # tmp = exp(u) + q
    if np.all(tmp > 0):
        np.divide(u, tmp, out=u)  # u = pi1, the posterior share of the "alive" term
        np.log(tmp, out=tmp)  # tmp = D
    else:  # both parts underflow: only at absurd parameters
        with np.errstate(divide="ignore"):
            D = np.logaddexp(rx * diff, np.log(q_x)[xi])
        u[:] = np.exp(rx * diff - D)
        tmp[:] = D
    sum_wD = _dot(w, tmp)
    np.multiply(u, w, out=u)  # u = w * pi1
    sum_wpi1_diff = _dot(u, diff)
    np.multiply(u, rx, out=rx)  # rx = w * pi1 * (r + x)
    by_t = np.bincount(ti, weights=rx, minlength=len(d.ut))
    by_T = np.bincount(Ti, weights=rx, minlength=len(d.uT))
    np.subtract(w, u, out=tmp)  # tmp = w * pi2
    pi2_x = np.bincount(xi, weights=tmp, minlength=len(d.ux))
    return sum_wD, sum_wpi1_diff, by_t, by_T, pi2_x


class BetaGeoFamily(CovariateModel):
    """Shared implementation of BG/NBD (``_shift = 0``) and MBG/NBD (``_shift = 1``)."""

    _param_names = ("r", "alpha", "a", "b")
    # Fader & Hardie (2007): alpha_i = alpha exp(-gamma_p . x_i), a_i = a exp(gamma_d . z_i),
    # b_i = b exp(gamma_d . z_i)
    _covariate_targets = {"purchase": (("alpha", -1.0),), "dropout": (("a", 1.0), ("b", 1.0))}
    _shift = 0
    _limits = (
        # first, so that a dropout limit found beside it is the one a round keeps
        ONE_PURCHASE_RATE,
        # Beta(a, b) with a -> 0 puts every dropout probability at 0: the NBD (methodology.md);
        # b -> inf at a fixed a leads there too (the mean a/(a+b) -> 0), where the optimiser
        # stops on the way (b of 2e5, say) wherever rounding has it
        Limit(
            {"a": "0"},
            ("a", "b"),
            "no dropout visible; it reduces to the NBD",
            (("a", "0"), ("b", "inf")),
        ),  # fmt: skip
        # tried when a runs off too: a and b large at a fixed a/b, where the optimiser stops on
        # the way (b of 1e8, say) depends on rounding and the information there is singular
        Limit(
            {"b": "inf"}, ("b",), "one dropout probability for everyone (a/(a+b))", (("a", "inf"),)
        ),
        # Beta(a, b) with b -> 0 (and a along, at a fixed a/(a+b)): dropout probabilities of 1
        # and 0 only, searched from b on the edge, a carrying the share (see _matched_limits)
        Limit({"b": "0"}, ("b",), "two kinds of customer", (("b", "0"),), keeps="a"),
    )
    # what a customer of dropout probability 1 does: leaves at the first chance the model gives
    _first_chance = "after their first repeat purchase"

    def _matched_limits(self, log_params: np.ndarray) -> list[Limit]:
        """The limits on the edge, and Beta(a, b) with a and b both -> 0 at a fixed a/(a+b):
        two kinds of customer, a share a/(a+b) of dropout probability 1 and the rest of 0.  The
        optimiser stops on the way (a = 4e-8, b = 3e-9, say) inside the box, where rounding has
        it; the predictions are the limit's to ~1e-8, and the note names it (the NBD limit, a
        on the edge, is this one where b is as small)."""
        matched = super()._matched_limits(log_params)
        names = self._param_names
        log_a, log_b = log_params[names.index("a")], log_params[names.index("b")]
        share = 1.0 / (1.0 + np.exp(log_b - log_a))  # a/(a+b)
        both = max(log_a, log_b) <= -LIMIT_SEARCH_FROM and share >= TWO_KINDS_FROM
        if not both and self.limits_.get("b") != "0":
            return matched
        at = {"a": "0", "b": "0"} if log_a <= -LIMIT_SEARCH_FROM else {"b": "0"}
        self.limits_.update(at)
        two_kinds = Limit(
            at,
            ("b",),  # a, beside b held, carries the share
            f"two kinds of customer: {share:.1%} (a/(a+b)) leave {self._first_chance}, the "
            "others never leave",
        )
        return [limit for limit in matched if not {"a", "b"} & set(limit.at)] + [two_kinds]

    # -- fitting ---------------------------------------------------------------------------------
    def _prepare(self, x, t_x, T, weights) -> tuple:
        return (_LikelihoodData(x, t_x, T, weights, self._shift),)

    def _initial_log_params(self, data, weights) -> np.ndarray:
        d = data[0]
        rate = max(float(np.dot(d.w, d.x)) / max(float(np.dot(d.w, d.T)), 1e-300), 1e-12)
        start = np.log([0.5, 0.5 / rate, 1.0, 1.0])
        n_rows = len(d.x)
        if n_rows <= 20000:
            return start
        # Warm start: fit a random subset of the distinct histories first (weights scaled up so
        # that the subset's log-likelihood estimates the full one), so that the full fit needs
        # only a few iterations.
        rng = np.random.default_rng(12345)
        pick = np.sort(rng.choice(n_rows, size=20000, replace=False))
        sub = _LikelihoodData(
            d.x[pick], d.t_x[pick], d.T[pick], d.w[pick] * (n_rows / 20000.0), self._shift
        )
        with np.errstate(all="ignore"):
            result = minimize(
                self._objective,
                start,
                args=((sub,), sub.w, sub.total),
                jac=True,
                method="L-BFGS-B",
                bounds=[(-LOG_BOUND, LOG_BOUND)] * 4,
                options={"maxiter": 500, "ftol": 1e-10, "gtol": 1e-6},
            )
        if np.all(np.isfinite(result.x)) and np.all(np.abs(result.x) < LOG_EDGE):
            return result.x
        return start

    def _negative_log_likelihood(self, log_params, data, weights):
        """Total weighted negative log-likelihood and its gradient on the log scale.

        BG/NBD, FHL (2005) eq. 6 (Hardie note 004); MBG/NBD, Batislam et al. (2007) eq. 4:

            L = Gamma(r+x) alpha^r / Gamma(r) * B(a, b+x+s) / B(a, b)
                * [ (alpha+T)^-(r+x) + [x+s>0] a/(b+x+s-1) (alpha+t_x)^-(r+x) ],

        with ``s = 0`` (BG/NBD) or 1 (MBG/NBD), using ``B(a+1, b+x+s-1) = B(a, b+x+s) a /
        (b+x+s-1)``. Following Hardie's note 027, ``(alpha+t_x)^-(r+x)`` is factored out, so the
        bracket is ``exp(u) + a/(b+x+s-1)`` with ``u = (r+x) log((alpha+t_x)/(alpha+T)) <= 0``
        and is evaluated with ``logaddexp``: no overflow or underflow for any ``x``.
        """
        d: _LikelihoodData = data[0]
        s = self._shift
        r, alpha, a, b = np.exp(log_params)
        ux = d.ux
        # terms on distinct x
        bx = b + ux + s
        abx = a + bx
        gl_x = gammaln(r + ux) + gammaln(bx) - gammaln(abx)
        with np.errstate(divide="ignore", invalid="ignore"):
            q_x = np.where(d.has_second_x, a / (bx - 1.0), 0.0)
        # terms on distinct times
        lat = np.log(alpha + d.ut)
        laT = np.log(alpha + d.uT)
        inv_at = 1.0 / (alpha + d.ut)
        inv_aT = 1.0 / (alpha + d.uT)
        ridge = r >= ONE_RATE_RIDGE
        if ridge:  # log((alpha+t)/alpha), whose differences keep their digits at any alpha
            lat_rel, laT_rel = np.log1p(d.ut / alpha), np.log1p(d.uT / alpha)
        else:
            lat_rel, laT_rel = lat, laT
        # The mixture, one pass over the distinct histories (in two threads on big data).
        parts = _map_chunks(
            lambda sl: _mixture_pass(d, sl, r, lat_rel, laT_rel, q_x), d.chunks(), d.total_rows
        )
        sum_wD = sum(p[0] for p in parts)
        sum_wpi1_diff = sum(p[1] for p in parts)
        by_t = sum(p[2] for p in parts)
        by_T = sum(p[3] for p in parts)
        pi2_x = sum(p[4] for p in parts)
        W = d.total
        if ridge:
            # r, alpha -> inf at a fixed r/alpha (one purchase rate): the terms of size r ln alpha
            # and ln Gamma(r) cancel in pairs per history (the weights by x and by t_x both sum
            # to W), so that the sum keeps ~1e-12 instead of losing W r ln(alpha) 1e-16
            ll = (
                _dot(d.Wx, log_rising(r, ux) + gammaln(bx) - gammaln(abx))
                + W * (gammaln(a + b) - gammaln(a) - gammaln(b))
                + W * gammaln(a)
                - r * _dot(d.Wt, lat_rel)
                - _dot(d.WXt, lat)
                + sum_wD
            )
        else:
            ll = (
                _dot(d.Wx, gl_x)
                + W * (-gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(a) - gammaln(b))
                + W * gammaln(a)
                - _dot(r * d.Wt + d.WXt, lat)
                + sum_wD
            )
        # gradient with respect to (r, alpha, a, b)
        dg_abx = digamma(abx)
        with np.errstate(invalid="ignore", divide="ignore"):
            pi2_over = np.where(d.has_second_x, pi2_x / (bx - 1.0), 0.0)
        if ridge:
            g_r = _dot(d.Wx, digamma(r + ux) - digamma(r)) - _dot(d.Wt, lat_rel) + sum_wpi1_diff
            g_alpha = (
                r * _dot(d.Wt, d.ut * inv_at) / alpha
                - _dot(d.WXt, inv_at)
                + _dot(by_t, inv_at)
                - _dot(by_T, inv_aT)
            )
        else:
            g_r = (
                _dot(d.Wx, digamma(r + ux))
                + W * (np.log(alpha) - digamma(r))
                - _dot(d.Wt, lat)
                + sum_wpi1_diff
            )
            g_alpha = (
                W * r / alpha
                - _dot(r * d.Wt + d.WXt, inv_at)
                + _dot(by_t, inv_at)
                - _dot(by_T, inv_aT)
            )
        sum_pi2 = float(pi2_x.sum())
        g_a = -_dot(d.Wx, dg_abx) + W * digamma(a + b) + sum_pi2 / a
        g_b = (
            _dot(d.Wx, digamma(bx) - dg_abx)
            + W * (digamma(a + b) - digamma(b))
            - float(pi2_over.sum())
        )
        grad = -np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
        return -ll, grad

    @accepts_covariates(0, 1, 2)
    def log_likelihood_per_customer(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """Per-customer log-likelihood ``ln L(r, alpha, a, b | x, t_x, T)`` at the fitted parameters.

        The same formula as the fit (FHL 2005 eq. 6, resp. Batislam et al. 2007 eq. 4), in log
        space with the note-027 factoring, so it stays exact for thousands of purchases.
        """
        x, t_x, T = validate_rfm(frequency, recency, T)
        r, alpha, a, b = self._param_values()
        s = self._shift
        bx = b + x + s
        has_second = (x > 0) if s == 0 else np.ones(len(x), dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            cq = np.where(has_second, np.log(a) - np.log(bx - 1.0), -np.inf)
        lat = np.log(alpha + t_x)
        u = (r + x) * (lat - np.log(alpha + T))
        return (
            gammaln(r + x)
            - gammaln(r)
            + r * np.log(alpha)
            + betaln(a, bx)
            - betaln(a, b)
            - (r + x) * lat
            + np.logaddexp(u, cq)
        )

    # -- predictions -----------------------------------------------------------------------------
    def _p_alive(self, x, t_x, T):
        """P(alive) from validated arrays; see :meth:`probability_alive`.

        ``1 / (1 + exp(log_odds))`` with ``log_odds = log(a/(b+x+s-1)) + (r+x) log1p((T-t_x)/
        (alpha+t_x))``: ``exp`` overflowing to infinity gives exactly 0, ``-inf`` log odds exactly
        1. It runs on every customer, so it is written with in-place operations, looks the
        ``x``-only term up in a table, and uses two threads on big inputs.
        """
        r, alpha, a, b = self._param_values()
        s = self._shift
        n = len(x)
        x_max = float(x.max()) if n else 0.0
        table = None
        if x_max < 10_000_000:
            with np.errstate(divide="ignore", invalid="ignore"):
                table = np.log(a) - np.log(b + np.arange(int(x_max) + 1) + s - 1.0)
            if s == 0 and len(table):
                table[0] = -np.inf  # BG/NBD: no repeat purchase, no dropout yet
        out = np.empty(n)

        def run(sl):
            xs, ts, Ts, o = x[sl], t_x[sl], T[sl], out[sl]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                np.subtract(Ts, ts, out=o)
                tmp = np.add(ts, alpha)
                o /= tmp
                np.log1p(o, out=o)
                np.add(xs, r, out=tmp)
                o *= tmp
                if table is not None:
                    o += np.take(table, xs.astype(np.intp))
                else:
                    second = np.log(a) - np.log(b + xs + s - 1.0)
                    if s == 0:
                        second[xs == 0] = -np.inf
                    o += second
                np.exp(o, out=o)
                o += 1.0
                np.reciprocal(o, out=o)

        chunks = [slice(0, n)] if n < 200_000 else [slice(0, n // 2), slice(n // 2, n)]
        _map_chunks(run, chunks, n)
        return out

    @accepts_covariates(0, 1, 2)
    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """P(alive at T | x, t_x, T).

        BG/NBD: ``1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))`` (FHL 2005 eq. 11, and
        Hardie's note 021 "Computing P(alive) using the BG/NBD model"); MBG/NBD: the same
        without the ``[x>0]`` indicator and with ``b+x`` for ``b+x-1`` (Batislam et al. 2007),
        so that customers with no repeat purchase can be dead. Computed from the log odds, which
        never overflows.
        """
        return self._p_alive(*_validated(frequency, recency, T))

    def _kernel_args(self, x, T):
        """(n, a, beta, theta) of the kernel for an alive customer with history (x, T)."""
        r, alpha, a, b = self._param_values()
        return r + x, a, b + x + self._shift, alpha + T

    @accepts_covariates(0, 1, 2, 3)
    def expected_transactions(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """E[X(T, T+t] | x, t_x, T]: expected purchases in the next ``t`` time units.

        FHL (2005) eq. 10 (Batislam et al. 2007 for the MBG/NBD):

            P(alive) * (a+b+x+s-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
                                          2F1(r+x, b+x+s; a+b+x+s-1; t/(alpha+T+t))]

        where the bracketed term divided by ``a-1`` is :func:`beta_geo_kernel` (a transformed
        series without the ``a = 1`` singularity, with a quadrature fallback), evaluated once per
        distinct ``(x, T, t)`` and expanded. ``t`` is a scalar or broadcasts with the customers.
        """
        histories = _grouped(frequency, recency, T)
        x, t_x, T = histories.x, histories.t_x, histories.T
        t = np.asarray(t, dtype=float)
        if np.any(~np.isfinite(t)) or np.any(t < 0):
            raise ValueError("t must be finite and non-negative")
        if t.ndim == 0 or t.size == 1:
            p_alive = self._p_alive(x, t_x, T)
            ux, uT, inverse = histories.ux, histories.uT, histories.inverse
            ut = np.full(len(ux), float(t.reshape(-1)[0]))
        else:
            x, t_x, T, t = (np.ascontiguousarray(v) for v in np.broadcast_arrays(x, t_x, T, t))
            x, t_x, T, t = (v.reshape(-1) for v in (x, t_x, T, t))
            p_alive = self._p_alive(x, t_x, T)
            (ux, uT, ut), _, inverse = compress_histories(x, T, t)
        n, a, beta, theta = self._kernel_args(ux, uT)
        kernel = beta_geo_kernel(n, np.full_like(n, a), beta, ut / theta)
        p_alive *= np.take(kernel, inverse)
        return p_alive

    @accepts_covariates(1, 2, 3)
    def expected_transactions_grid(
        self, times: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """:meth:`expected_transactions` at several horizons at once: shape ``(len(times), n)``.

        P(alive) and the grouping of customers are computed once for all horizons, which is
        what a period-by-period CLV needs.
        """
        times, h, p_alive, kernels = self._alive_and_kernels(times, "times", frequency, recency, T)
        out = np.empty((len(times), len(h.x)))
        for row, kernel in zip(out, kernels, strict=True):
            np.take(kernel, h.inverse, out=row)
            row *= p_alive
        return out

    @accepts_covariates(2, 3, 4)
    def discounted_transactions(
        self, ends: ArrayLike, rate: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """``sum_k E[X(T + e_(k-1), T + e_k] | history] / (1 + rate)^k`` per customer.

        The discounted sum of :func:`valuecast.models.clv.discounted_sum` over the periods ending
        at ``ends`` (``e_0 = 0``). Every period's expectation is P(alive) times a difference of
        kernels that depends on ``(x, T)`` alone, so the periods are differenced, clipped at 0
        and discounted on the distinct ``(x, T)`` (a few thousand where the histories number
        hundreds of thousands), and each customer takes one product with its P(alive).
        """
        ends, h, p_alive, kernels = self._alive_and_kernels(ends, "ends", frequency, recency, T)
        increments = np.diff(kernels, axis=0, prepend=0.0)
        # kernels grow with the horizon; clipping round-off keeps every period >= 0
        np.maximum(increments, 0.0, out=increments)
        factors = (1.0 + rate) ** -np.arange(1.0, len(ends) + 1.0)
        per_history = factors @ increments
        p_alive *= np.take(per_history, h.inverse)
        return p_alive

    def _alive_and_kernels(self, times: ArrayLike, name: str, frequency, recency, T):
        """``times`` as a flat float array (``name`` in the error when one is negative or not
        finite), the histories grouped, every customer's P(alive) and the kernel of each
        distinct ``(x, T)`` at every horizon (:meth:`_kernel_grid`)."""
        h = _grouped(frequency, recency, T)
        times = np.asarray(times, dtype=float).reshape(-1)
        if np.any(~np.isfinite(times)) or np.any(times < 0):
            raise ValueError(f"{name} must be finite and non-negative")
        return times, h, self._p_alive(h.x, h.t_x, h.T), self._kernel_grid(times, h.ux, h.uT)

    def _kernel_grid(self, times: np.ndarray, ux: np.ndarray, uT: np.ndarray) -> np.ndarray:
        """The kernel of each distinct ``(x, T)`` at every horizon: shape ``(len(times), m)``.

        One call for all horizons: the series' loop runs once for every row instead of once per
        horizon, which on a few thousand rows is most of its cost.
        """
        n, a, beta, theta = self._kernel_args(ux, uT)
        # a history's horizons lie next to each other, so that halves of the rows
        # (:func:`_series_in_halves`) hold as many slow, long horizons each
        tau = times[None, :] / theta[:, None]
        return beta_geo_kernel(n[:, None], a, beta[:, None], tau).T

    @accepts_covariates(0, 1, 2)
    def median_time_to_next_purchase(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """Median waiting time from T to the next purchase, *given that the customer is alive*.

        Given the history and alive, ``lambda ~ Gamma(r+x, alpha+T)`` (the likelihood of an alive
        customer is ``lambda^x e^(-lambda T)`` times a factor free of lambda). A customer can only
        drop out right after a purchase, so an alive customer cannot drop out before the next one:
        the wait is exponential with rate lambda, and mixed over the gamma it is Lomax
        (Pareto II) with ``P(W > w) = ((alpha+T)/(alpha+T+w))^(r+x)``. Its median is
        ``(alpha+T)(2^(1/(r+x)) - 1)``. Multiply by :meth:`probability_alive` thinking, not
        arithmetic: for a dead customer the wait is infinite.
        """
        x, _, T = validate_rfm(frequency, recency, T)
        r, alpha, _, _ = self._param_values()
        return (alpha + T) * np.expm1(_LOG2 / (r + x))

    @accepts_covariates(1, 2, 3)
    def discounted_expected_residual_transactions(
        self, delta: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """DERT: ``int_0^inf e^(-delta t) dE[X(T, T+t] | data]`` (continuous discounting).

        Integrating by parts, DERT ``= int_0^inf e^(-s) E[X(T, T+s/delta] | data] ds``: P(alive)
        times ``int e^(-s) K(s / (delta (alpha+T))) ds`` with the kernel of
        :meth:`expected_transactions`. The integral is taken on ``v = log s`` by composite
        Gauss-Legendre (28 panels x 6 nodes on ``[v_lo, 4]``; the kernel's branch point at
        ``s = -delta (alpha+T)`` is at distance pi from the real ``v`` axis) plus the closed-form
        piece below ``v_lo`` where ``K`` is linear (slope ``r+x``). ``delta`` is the continuously
        compounded rate per time unit of the inputs (e.g. ``log(1.1)/52`` for 10%/year in weeks).
        Limits: ``delta -> infinity`` gives ``P(alive) E[lambda]/delta``; ``delta -> 0`` gives
        ``P(alive) (a+b+x+s-1)/(a-1)`` (the expected number of all future purchases) when
        ``a > 1`` and grows without bound when ``a <= 1``.
        """
        delta = float(delta)
        if not np.isfinite(delta) or delta <= 0:
            raise ValueError("delta must be a positive discount rate")
        x, t_x, T = validate_rfm(frequency, recency, T)
        p_alive = self._p_alive(x, t_x, T)
        (ux, uT), _, inverse = compress_histories(x, T)
        n, a, beta, theta = self._kernel_args(ux, uT)
        scale = delta * theta  # tau = s / scale
        v_lo = np.minimum(np.log(scale) - np.log1p(n) - 12.0, -12.0)
        v_hi = 4.0
        gx, gw = np.polynomial.legendre.leggauss(6)
        panels = 28
        frac = np.linspace(0.0, 1.0, panels + 1)
        edges = v_lo[:, None] + (v_hi - v_lo)[:, None] * frac[None, :]
        half = (edges[:, 1:] - edges[:, :-1]) / 2.0
        mid = (edges[:, 1:] + edges[:, :-1]) / 2.0
        m = len(ux)
        nodes = (mid[:, :, None] + half[:, :, None] * gx[None, None, :]).reshape(m, -1)
        weights = (half[:, :, None] * gw[None, None, :]).reshape(m, -1)
        s_nodes = np.exp(nodes)
        k = beta_geo_kernel(n[:, None], np.full((m, 1), a), beta[:, None], s_nodes / scale[:, None])
        body = np.sum(weights * np.exp(-s_nodes) * k * s_nodes, axis=1)
        # below v_lo: K(tau) = n tau, e^-s = 1, so int_0^{s_lo} s n / scale ds = n s_lo^2 / (2 scale)
        body += n * np.exp(2.0 * v_lo) / (2.0 * scale)
        return p_alive * body[inverse]

    # -- simulation ------------------------------------------------------------------------------
    @accepts_covariates(0)
    def simulate(self, T: ArrayLike, seed: int | None = None) -> pd.DataFrame:
        """Draw one history per entry of ``T`` from the model's generative process.

        ``lambda ~ Gamma(r, rate alpha)``, ``p ~ Beta(a, b)``; purchases follow a Poisson process
        with rate lambda; a coin with probability ``p`` is tossed after every repeat purchase
        (BG/NBD) or after every purchase including the first (MBG/NBD) and the customer drops out
        on heads. With ``N ~ Poisson(lambda T)`` purchase opportunities in ``(0, T]`` and the
        number of repeat purchases before dropout ``J`` (geometric), ``x = min(N, J)``; given
        ``N``, the event times are uniform order statistics, so the ``x``-th is ``T Beta(x,
        N-x+1)``. Returns a DataFrame with columns ``frequency, recency, T``.
        """
        T = as_float_array(T, "T")
        if np.any(T <= 0):
            raise ValueError("T must be positive")
        r, alpha, a, b = self._param_values()
        rng = np.random.default_rng(seed)
        size = len(T)
        lam = rng.gamma(r, 1.0 / alpha, size)
        p = rng.beta(a, b, size)
        p = np.clip(p, 1e-300, 1.0)
        N = rng.poisson(lam * T)
        # geometric(p) counts tosses up to and including the first head (>= 1)
        J = rng.geometric(p) - self._shift
        x = np.minimum(N, J)
        has = x > 0
        recency = np.zeros(size)
        recency[has] = T[has] * rng.beta(x[has], N[has] - x[has] + 1.0)
        return pd.DataFrame({"frequency": x.astype(float), "recency": recency, "T": T})

    def simulate_future_orders(
        self, ends: np.ndarray, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
        size: int, rng: np.random.Generator,
    ) -> np.ndarray:  # fmt: skip
        """``size`` draws of each customer's orders in each period ``(ends[k-1], ends[k]]`` after
        ``T``, given their history: the process noise of the sales to come.

        The posterior of an alive customer's traits (FHL 2005 sec. 4 and eq. 11; Batislam et
        al. 2007 for the MBG/NBD) is ``lambda ~ Gamma(r+x, rate alpha+T)`` (``x`` purchases in
        ``T``) and ``p ~ Beta(a, b+x+shift)`` (the ``x+shift`` coin tosses survived, the one
        after the first purchase included for the MBG/NBD); the customer is alive with
        :meth:`probability_alive`.  From ``T`` on they buy as a Poisson process at ``lambda``
        and drop out after each purchase with ``p``.  Returns an integer array ``(size, n,
        periods)`` whose mean is :meth:`expected_transactions`' per period.
        """
        x, t_x, T = validate_rfm(frequency, recency, T)
        r, alpha, a, b = self._param_values()
        shape = (size, len(x))
        alive = rng.random(shape) < self._p_alive(x, t_x, T)
        lam = rng.gamma(r + x, 1.0 / (alpha + T), shape)
        p = rng.beta(a, b + x + self._shift, shape)
        return purchases_by_period(rng, lam, np.where(alive, np.inf, 0.0), ends, dropout=p)

    # -- unconditional ---------------------------------------------------------------------------
    @accepts_covariates(0)
    def expected_transactions_new(self, t: ArrayLike) -> np.ndarray:
        """E[X(t)] for a customer just acquired (time 0 = first purchase).

        BG/NBD, FHL (2005) eq. 9: ``(a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1;
        t/(alpha+t))]`` = ``K(r, a, b, t/alpha)``. MBG/NBD (Batislam et al. 2007): ``b/(a-1)
        [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]`` = ``b/(a+b) K(r, a, b+1,
        t/alpha)`` (alive after the first purchase with probability ``b/(a+b)``).
        """
        t = np.asarray(t, dtype=float)
        if np.any(~np.isfinite(t)) or np.any(t < 0):
            raise ValueError("t must be finite and non-negative")
        r, alpha, a, b = self._param_values()
        shape = t.shape
        flat = t.reshape(-1)
        kernel = beta_geo_kernel(
            np.full_like(flat, r),
            np.full_like(flat, a),
            np.full_like(flat, b + self._shift),
            flat / alpha,
        )
        if self._shift:
            kernel = kernel * (b / (a + b))
        return kernel.reshape(shape)

    def probability_of_n_purchases(self, t: float, n: ArrayLike) -> np.ndarray:
        """P(X(t) = n) for a customer just acquired.

        BG/NBD, FHL (2005) eq. 8: ``B(a, b+n)/B(a,b) NB(n; r, alpha/(alpha+t)) + [n>0]
        B(a+1, b+n-1)/B(a,b) P(NB >= n)``, where NB is the negative binomial count of purchase
        opportunities in ``(0, t]``; ``P(NB >= n) = I_{t/(alpha+t)}(n, r)`` (regularized incomplete
        beta) replaces the finite sum. MBG/NBD: the customer makes ``n`` repeat purchases and is
        alive after the ``n+1`` tosses, or drops out right after the ``n``-th purchase (or at time
        0 for ``n = 0``): ``B(a, b+n+1)/B(a,b) NB(n) + B(a+1, b+n)/B(a,b) P(NB >= n)``.
        """
        t = float(t)
        if not np.isfinite(t) or t < 0:
            raise ValueError("t must be finite and non-negative")
        n = np.asarray(n, dtype=float)
        if np.any(n < 0) or np.any(n != np.floor(n)):
            raise ValueError("n must be non-negative whole numbers")
        r, alpha, a, b = self._param_values()
        s = self._shift
        log_q = np.log(alpha) - np.log(alpha + t)  # log(alpha/(alpha+t))
        log_1mq = np.log(t) - np.log(alpha + t) if t > 0 else -np.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            log_nb = gammaln(r + n) - gammaln(r) - gammaln(n + 1) + r * log_q
            log_nb = log_nb + np.where(n > 0, n * log_1mq, 0.0)
            first = np.exp(betaln(a, b + n + s) - betaln(a, b) + log_nb)
            tail = np.where(n > 0, betainc(np.maximum(n, 1.0), r, t / (alpha + t)), 1.0)
            second = np.exp(betaln(a + 1.0, b + n + s - 1.0) - betaln(a, b)) * tail
        if s == 0:
            second = np.where(n > 0, second, 0.0)
        return np.clip(first + second, 0.0, 1.0)
