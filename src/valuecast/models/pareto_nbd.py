"""Pareto/NBD model of Schmittlein, Morrison & Colombo (1987).

One model per file: its length (about 800 lines) is the likelihood with its analytic gradient
and the stable hypergeometric terms, written out next to the formulas they implement.

Customers buy at Poisson rate ``lambda`` while alive and die after an exponential lifetime
with rate ``mu``; ``lambda ~ Gamma(r, alpha)`` and ``mu ~ Gamma(s, beta)`` (shape, rate)
independently across customers.

References
----------
* SMC: D. C. Schmittlein, D. G. Morrison & R. Colombo (1987), "Counting your customers: who are
  they and what will they do next?", Management Science 33(1).
* FH note: P. S. Fader & B. G. S. Hardie (2005), "A note on deriving the Pareto/NBD model and
  related expressions" (likelihood with the ``A_0`` term, eq. 22; P(alive); conditional
  expectation, eq. 23; unconditional mean, eq. 17).
* FHL JMR: P. S. Fader, B. G. S. Hardie & K. L. Lee (2005), "RFM and CLV: using iso-value curves
  for customer base analysis", Journal of Marketing Research 42(4), eq. 2 (DERT).

Numerics
--------
The likelihood (FH note eq. 22) is

    L = Gamma(r+x) alpha^r beta^s / Gamma(r)
        * [ (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) * (F(t_x) - F(T)) ]

where ``F(t) = (r+s+x) * int_t^inf (alpha+u)^-(r+x) (beta+u)^-(s+1) du`` is the ``A_0`` term of
the note: for ``alpha >= beta`` it is ``2F1(r+s+x, s+1; r+s+x+1; z)/(alpha+t)^(r+s+x)`` with
``z = (alpha-beta)/(alpha+t)``, otherwise the same with the roles of (alpha, r+x) and
(beta, s+1) swapped.  Euler's transformation ``2F1(a, b; c; z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z)``
(with c = a + 1, so c - a = 1) rewrites both cases as

    F(t) = (alpha+t)^-(r+x) (beta+t)^-s 2F1(1, r+x; r+s+x+1; z)            (alpha >= beta)
    F(t) = (alpha+t)^(1-r-x) (beta+t)^-(s+1) 2F1(1, s+1; r+s+x+1; z')      (alpha < beta)

with ``z, z'`` in ``[0, 1)``.  The remaining function ``S = 2F1(1, b; c; z)`` (``c > b > 0``) lies
in ``[1, 1/(1-z)]``, so all the powers (which overflow at large x) are handled on the log scale
and only a well-scaled ``S`` is evaluated: by its power series (terms positive, ratio below z)
for ``z <= 0.6`` and by Gauss's continued fraction (an S-fraction with positive coefficients,
convergent on [0, 1)) above, except within 1e-3 of 1 (when ``c - b - 1 < 8``, ``b (1-z) <= 3``):
there the fraction creeps (past 100,000 terms at 1e-8, where a fit whose ``s`` or ``beta`` runs
to 0 lands) and Euler's integral is integrated by quadrature instead (:func:`_hyp_near_one`).  All three carry the
derivatives with respect to ``b, c, z``, which give the analytic gradient of the log-likelihood.  At ``alpha == beta`` the argument is
exactly 0 and ``S = 1``; the two cases are the same analytic function, so the likelihood is
continuous across ``alpha = beta``.  ``scipy.special.hyp2f1`` is used as a fast path only where
it was checked against 40-digit references (``z <= 0.6``) and only when its value is finite and
within the bounds above; everything else goes to the series / continued fraction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, hyp2f1, hyperu, roots_genlaguerre

from valuecast.models import _lockstep
from valuecast.models._covariates import CovariateModel, accepts_covariates
from valuecast.models._fitting import (
    ONE_PURCHASE_RATE,
    ONE_RATE_RIDGE,
    ArrayLike,
    Limit,
    as_float_array,
    log_rising,
    purchases_by_period,
    purchases_while_alive,
    validate_rfm,
)

__all__ = ["ParetoNBD"]

_SERIES_MAX_Z = 0.6
_TOL = 1e-15
_MAX_SERIES_TERMS = 2000
_SERIES_CHECK_EVERY = 4
"""Terms of the power series between convergence checks (a divisor of
:data:`_MAX_SERIES_TERMS`, so the last term is checked)."""
_MAX_CF_TERMS = 100_000


# ---------------------------------------------------------------------------------------------
# S(b, c, z) = 2F1(1, b; c; z) with derivatives
# ---------------------------------------------------------------------------------------------
def _hyp_series(b: np.ndarray, c: np.ndarray, z: np.ndarray, grad: bool):
    """Power series of 2F1(1, b; c; z) = sum_n (b)_n/(c)_n z^n, with d/db, d/dc, d/dz.

    Terms are positive and their ratio (b+n)/(c+n) z is below z, so the tail after a term t is
    below t z/(1-z); iterations stop per element when that bound (inflated for the derivative
    series, whose terms carry extra factors n and harmonic sums) is under the tolerance.
    Accumulators are kept for the unfinished elements only and written out as they finish.
    The parts of a term that do not depend on the previous one (``b+n``, ``c+n``, their ratio
    and reciprocals) are made for :data:`_SERIES_CHECK_EVERY` terms at once, between checks.
    """
    n_el = len(z)
    out = np.ones((4, n_el))  # S, dS/db, dS/dc, dS/dz
    out[1:] = 0.0
    acc = out.copy()
    term = np.ones(n_el)
    log_db = np.zeros(n_el)  # d log(term)/db
    log_dc = np.zeros(n_el)
    active = np.arange(n_el)
    tb, tc, tz = b.copy(), c.copy(), z.copy()
    for first in range(0, _MAX_SERIES_TERMS, _SERIES_CHECK_EVERY):
        steps = np.arange(first, first + _SERIES_CHECK_EVERY, dtype=float)[:, None]
        b_n, c_n = tb + steps, tc + steps
        ratios = b_n / c_n
        if grad:
            inverse_b, inverse_c = 1.0 / b_n, 1.0 / c_n
        value, d_b, d_c, d_z = acc  # views: the sums are accumulated in place
        scratch = np.empty_like(term)
        for i in range(_SERIES_CHECK_EVERY):
            ratio = ratios[i]
            if grad:  # d(term_{n+1})/dz = (n + 1) term_n ratio_n
                d_z += np.multiply(
                    np.multiply(term, first + i + 1, out=scratch), ratio, out=scratch
                )
                log_db += inverse_b[i]
                log_dc -= inverse_c[i]
            term *= np.multiply(ratio, tz, out=scratch)
            value += term
            if grad:
                d_b += np.multiply(term, log_db, out=scratch)
                d_c += np.multiply(term, log_dc, out=scratch)
        n = first + _SERIES_CHECK_EVERY - 1
        bound = term * tz / (1.0 - tz) * (n + 2 + np.abs(log_db) + np.abs(log_dc))
        done = bound <= _TOL * acc[0]
        if np.any(done):
            out[:, active[done]] = acc[:, done]
            keep = ~done
            active, tb, tc, tz = active[keep], tb[keep], tc[keep], tz[keep]
            term, log_db, log_dc, acc = term[keep], log_db[keep], log_dc[keep], acc[:, keep]
            if len(active) == 0:
                break
    converged = len(active) == 0
    if not converged:
        out[:, active] = acc
    return out[0], out[1], out[2], out[3], converged


_CF_CHECK_EVERY = 8
"""Terms of the continued fraction between convergence checks (every term past
:data:`_CF_CHECKED_ALWAYS`)."""

_CF_CHECKED_ALWAYS = 2000

_CF_SCALAR_TAIL = 4
"""Elements of the continued fraction few enough to finish one at a time in Python floats: the
ones that creep near z = 1 run to thousands of terms, where NumPy's cost per operation is all
overhead."""


def _cf_coefficients(first: int, count: int, b: np.ndarray, c: np.ndarray):
    """k_j of Gauss's continued fraction 2F1(1,b;c;z) = 1/(1 - k_1 z/(1 - k_2 z/(1 - ...))) for
    the terms ``j = first .. first + count - 1`` (one row a term), with d log k / db and
    d log k / dc.

    With F(a, 1; c'+1; z) / F(a, 0; c'; z) in Gauss's form (a = b, c' = c - 1):
    k_{2m+1} = (b+m)(c-1+m)/((c-1+2m)(c+2m)), k_{2m+2} = (m+1)(c-b+m)/((c+2m)(c+2m+1)).
    :func:`_hyp_cf_scalar` computes them term by term by the same operations (the same bits).
    """
    shape = (count, len(b))
    k, dlb, dlc = np.empty(shape), np.empty(shape), np.empty(shape)
    terms = np.arange(first, first + count)
    if first == 1:
        k[0], dlb[0], dlc[0] = b / c, 1.0 / b, -1.0 / c
    odd = (terms % 2 == 1) & (terms > 1)
    if np.any(odd):
        m = ((terms[odd] - 1) // 2).astype(float)[:, None]
        k[odd] = (b + m) * (c - 1 + m) / ((c - 1 + 2 * m) * (c + 2 * m))
        dlb[odd] = 1.0 / (b + m)
        dlc[odd] = 1.0 / (c - 1 + m) - 1.0 / (c - 1 + 2 * m) - 1.0 / (c + 2 * m)
    even = terms % 2 == 0
    if np.any(even):
        m = ((terms[even] - 2) // 2).astype(float)[:, None]
        k[even] = (m + 1) * (c - b + m) / ((c + 2 * m) * (c + 2 * m + 1))
        dlb[even] = -1.0 / (c - b + m)
        dlc[even] = 1.0 / (c - b + m) - 1.0 / (c + 2 * m) - 1.0 / (c + 2 * m + 1)
    return k, dlb, dlc


def _hyp_cf(b: np.ndarray, c: np.ndarray, z: np.ndarray, grad: bool, scalar_tail: bool = True):
    """Gauss continued fraction for 2F1(1, b; c; z), forward (Wallis) recurrences.

    The numerators A_n, denominators B_n and their derivatives with respect to (b, c, z) obey the
    same three-term recurrence; they are renormalised by B_n at every step.  Convergence is
    declared per element when the approximant and its derivatives stop changing.

    The state is one array per step, ``(numerator, denominator) x (value, d/db, d/dc, d/dz) x
    element``, and the coefficients of :data:`_CF_CHECK_EVERY` terms are made at once: the loop
    runs a few NumPy operations a term, not one per quantity (a small shop's bootstrap spends
    most of its time here).  ``scalar_tail``: the last :data:`_CF_SCALAR_TAIL` elements finish
    in :func:`_hyp_cf_scalar` (the same bits); without it, in arrays to the end.
    """
    n_el = len(z)
    value = np.ones(n_el)
    dvalue = np.zeros((3, n_el))
    active = np.arange(n_el)
    tb, tc, tz = b.copy(), c.copy(), z.copy()
    rows = 4 if grad else 1
    # approximant after a_1 = 1: A_1 = 1, B_1 = 1; previous: A_0 = 0, B_0 = 1
    prev = np.zeros((2, rows, n_el))
    prev[1, 0] = 1.0
    cur = np.zeros((2, rows, n_el))
    cur[:, 0] = 1.0
    old = np.ones(n_el)
    old_d = np.zeros((3, n_el))
    new, d_new = old, old_d
    following = np.empty(0)
    first = 1
    while first < _MAX_CF_TERMS and len(active):
        if scalar_tail and len(active) <= _CF_SCALAR_TAIL:
            converged = True
            for index, element in enumerate(active):
                state = (prev[..., index], cur[..., index], old[index], old_d[:, index])
                try:
                    finished = _hyp_cf_scalar(first, tb[index], tc[index], tz[index], state, grad)
                except ZeroDivisionError:  # NumPy divides by zero to inf or NaN, Python raises
                    one = slice(element, element + 1)
                    alone = _hyp_cf(b[one], c[one], z[one], grad, scalar_tail=False)
                    finished = (alone[0][0], [d[0] for d in alone[1:4]], alone[4])
                value[element], dvalue[:, element] = finished[0], finished[1]
                converged = converged and finished[2]
            return value, dvalue[0], dvalue[1], dvalue[2], converged
        count = min(_CF_CHECK_EVERY - (first - 1) % _CF_CHECK_EVERY, _MAX_CF_TERMS - first)
        k, dlb, dlc = _cf_coefficients(first, count, tb, tc)
        coefs = -k * tz  # partial numerators a_{j+1}
        dcoefs = np.stack([coefs * dlb, coefs * dlc, -k]) if grad else None
        for i, j in enumerate(range(first, first + count)):
            if following.shape != cur.shape:  # buffers for a term, remade as elements finish
                following, scale = np.empty_like(cur), np.empty(cur.shape[-1])
                product = np.empty((2, rows - 1, cur.shape[-1])) if grad else None
            coef = coefs[i]
            np.multiply(prev[:, 0], coef, out=following[:, 0])
            following[:, 0] += cur[:, 0]
            if grad:
                np.multiply(prev[:, :1], dcoefs[:, i], out=product)
                np.add(cur[:, 1:], product, out=following[:, 1:])
                np.multiply(prev[:, 1:], coef, out=product)
                following[:, 1:] += product
            np.divide(1.0, following[1, 0], out=scale)
            np.multiply(cur, scale, out=prev)
            following *= scale
            cur, following = following, cur
            cur[1, 0] = 1.0
            checked = j % _CF_CHECK_EVERY == 0 or j > _CF_CHECKED_ALWAYS
            if not (checked or (j + 1) % _CF_CHECK_EVERY == 0 or j >= _CF_CHECKED_ALWAYS):
                continue  # the approximant is read at a check and the term before it
            new = cur[0, 0].copy()  # cur's buffer is written again two terms on
            if grad:  # S = A/B with B = 1 after scaling: dS = dA - A dB
                d_new = cur[0, 1:] - new * cur[1, 1:]
            if checked:
                # stop when the approximant (and its derivatives) no longer move; near z = 1
                # the approximants creep (ratio 1 - O(sqrt(1-z))), which is why _log_hyp sends
                # the elements within _NEAR_ONE_MAX_W of 1 to _hyp_near_one instead
                done = np.abs(new - old) <= 4 * _TOL * np.abs(new)
                if grad:
                    done &= np.all(
                        np.abs(d_new - old_d) <= 1e-13 * (np.abs(d_new) + np.abs(new)), axis=0
                    )
                if np.any(done):
                    value[active[done]] = new[done]
                    if grad:
                        dvalue[:, active[done]] = d_new[:, done]
                    keep = ~done
                    active, tb, tc, tz = active[keep], tb[keep], tc[keep], tz[keep]
                    prev, cur = prev[..., keep], cur[..., keep]
                    coefs, new = coefs[:, keep], new[keep]
                    if grad:
                        dcoefs, d_new = dcoefs[..., keep], d_new[:, keep]
                    if len(active) == 0:
                        break
            old, old_d = new, d_new
        first += count
    converged = len(active) == 0
    if not converged:  # keep the last approximant; flagged to the caller
        value[active] = old
        if grad:
            dvalue[:, active] = old_d
    return value, dvalue[0], dvalue[1], dvalue[2], converged


def _hyp_cf_scalar(first: int, b: float, c: float, z: float, state, grad: bool):
    """:func:`_hyp_cf` of one element from term ``first`` on, in Python floats: the same
    operations in the same order (IEEE arithmetic, so the same bits), a few microseconds a term.

    ``state``: the element's previous and current ``(numerator, denominator) x (value,
    derivatives)`` and its last approximant and derivatives.  Returns the value, its derivatives
    in (b, c, z) and whether it converged.
    """
    prev, cur, old, old_d = state
    b, c, z = float(b), float(c), float(z)
    rows = 4 if grad else 1
    a_prev, b_prev = [float(v) for v in prev[0]], [float(v) for v in prev[1]]
    a_cur, b_cur = [float(v) for v in cur[0]], [float(v) for v in cur[1]]
    old, old_d = float(old), [float(v) for v in old_d]
    for j in range(first, _MAX_CF_TERMS):
        if j == 1:
            k, dlb, dlc = b / c, 1.0 / b, -1.0 / c
        elif j % 2 == 1:
            m = float((j - 1) // 2)
            k = (b + m) * (c - 1 + m) / ((c - 1 + 2 * m) * (c + 2 * m))
            dlb = 1.0 / (b + m)
            dlc = 1.0 / (c - 1 + m) - 1.0 / (c - 1 + 2 * m) - 1.0 / (c + 2 * m)
        else:
            m = float((j - 2) // 2)
            k = (m + 1) * (c - b + m) / ((c + 2 * m) * (c + 2 * m + 1))
            dlb = -1.0 / (c - b + m)
            dlc = 1.0 / (c - b + m) - 1.0 / (c + 2 * m) - 1.0 / (c + 2 * m + 1)
        coef = -k * z
        a_new = [a_cur[0] + coef * a_prev[0]]
        b_new = [b_cur[0] + coef * b_prev[0]]
        if grad:
            dcoef = (coef * dlb, coef * dlc, -k)
            for r in range(1, rows):
                a_new.append(a_cur[r] + dcoef[r - 1] * a_prev[0] + coef * a_prev[r])
                b_new.append(b_cur[r] + dcoef[r - 1] * b_prev[0] + coef * b_prev[r])
        scale = 1.0 / b_new[0]
        a_prev, b_prev = [v * scale for v in a_cur], [v * scale for v in b_cur]
        a_cur, b_cur = [v * scale for v in a_new], [v * scale for v in b_new]
        b_cur[0] = 1.0
        new = a_cur[0]
        d_new = [a_cur[r] - new * b_cur[r] for r in range(1, rows)]
        if j % _CF_CHECK_EVERY == 0 or j > _CF_CHECKED_ALWAYS:
            done = abs(new - old) <= 4 * _TOL * abs(new)
            if grad:
                done = done and all(
                    abs(d - o) <= 1e-13 * (abs(d) + abs(new))
                    for d, o in zip(d_new, old_d, strict=True)
                )
            if done:
                return new, d_new if grad else [0.0, 0.0, 0.0], True
        old, old_d = new, d_new
    return old, old_d if grad else [0.0, 0.0, 0.0], False


_NEAR_ONE_MAX_W = 1e-3
"""Largest ``1 - z`` at which :func:`_hyp_near_one` replaces the continued fraction.  From here to
1 the fraction's approximants creep: a thousand terms at 1e-3, tens of thousands at 1e-6, past
100,000 without converging at 1e-8 when ``c - b - 1 < 1``; and its derivatives drift, 1e-9 off at
1e-3 and 2e-8 at 1e-6, where the quadrature stays within 2e-14 at a constant cost (about the
fraction's at 3e-3)."""
_NEAR_ONE_MAX_BW = 3.0
"""Largest ``b (1 - z)`` taken by :func:`_hyp_near_one`: the integrand falls like
``exp(-b w theta)`` from theta = 0, too steeply for the quadrature's pieces when this is large."""
_NEAR_ONE_MAX_S = 8.0
"""Largest ``c - b - 1`` taken by :func:`_hyp_near_one`.  Below it the fraction's derivatives near
z = 1 are off by up to 1e-4 (at ``c - b - 1`` = 1.5), the quadrature's by 3e-15; above it the
integrand's ``exp(-s theta)`` gets too steep for the quadrature's pieces, and the fraction
converges in a few thousand terms, its derivatives to 1e-10."""
_NEAR_ONE_PIECE = 2.0
"""Longest quadrature piece in theta: the integrand's nearest singularities lie pi off the real
axis, so 16 Gauss-Legendre nodes on a piece of this length leave an error under 1e-15."""
_NEAR_ONE_TAIL = 40.0
"""Past ``theta_end = log(z/w) + log(max(b, 1)) + _NEAR_ONE_TAIL`` the bracket ``1 + w
expm1(theta)`` equals ``w e^theta`` to a factor ``1 + e^-40 / max(b, 1)``, and the rest of the
integral is in closed form."""
_NEAR_ONE_NODES, _NEAR_ONE_WEIGHTS = np.polynomial.legendre.leggauss(16)
_NEAR_ONE_CHUNK = 512
"""Elements :func:`_hyp_near_one` integrates at once (each takes a few hundred nodes)."""


def _hyp_near_one(b: np.ndarray, c: np.ndarray, w: np.ndarray, grad: bool):
    """2F1(1, b; c; z) near z = 1, given ``w = 1 - z`` (``w`` and ``b w`` small,
    ``s = c - b - 1 < 8``, ``c > 1``), from Euler's integral, with d/db, d/dc, d/dz.

    Euler's integral (DLMF 15.6.1, with ``a`` and ``b`` swapped) and ``v = w (e^theta - 1)`` give

        2F1(1, b; c; z) = (b+s) int_0^inf exp(-s theta) (1 + w expm1(theta))^-b dtheta:

    a smooth integrand, whatever the sign of ``s`` and however close it is to 0, where the
    connection formula at ``1 - z`` (DLMF 15.8.4) loses every digit to cancellation between two
    terms of size ``1/s``.  It is integrated by Gauss-Legendre on equal pieces of
    ``[0, theta_end]`` (:data:`_NEAR_ONE_PIECE`, :data:`_NEAR_ONE_TAIL`) and in closed form
    beyond; the derivatives in ``(b, s, w)`` are the integrals of the integrand's own derivatives,
    then taken to ``(b, c, z)``.  Agrees with 40-digit values (mpmath) to 2e-14 in value and
    derivatives for b in [0.03, 3000], s in (-1, 8), 1 - z in [1e-16, 1e-3], b (1 - z) up to 3
    (``tests/models/test_pareto_nbd.py``).
    """
    n_el = len(w)
    out = np.empty((4, n_el))
    for start in range(0, n_el, _NEAR_ONE_CHUNK):
        part = slice(start, start + _NEAR_ONE_CHUNK)
        out[:, part] = _near_one_chunk(b[part], c[part], w[part], grad)
    return out[0], out[1], out[2], out[3], True


def _near_one_chunk(b: np.ndarray, c: np.ndarray, w: np.ndarray, grad: bool) -> np.ndarray:
    """:func:`_hyp_near_one`'s value and (with ``grad``, else zeros) derivatives in (b, c, z)
    for a few elements."""
    s = c - b - 1.0
    log_w = np.log(w)
    theta_end = np.log1p(-w) - log_w + np.log(np.maximum(b, 1.0)) + _NEAR_ONE_TAIL
    pieces = int(np.ceil(np.max(theta_end) / _NEAR_ONE_PIECE))
    length = theta_end / pieces  # the elements share the number of pieces, not their length
    within = (np.arange(pieces)[:, None] + (_NEAR_ONE_NODES + 1.0) / 2.0).ravel()
    weights = np.tile(_NEAR_ONE_WEIGHTS / 2.0, pieces)
    theta = within[:, None] * length
    grown = np.expm1(theta)
    log_bracket = np.log1p(w * grown)
    log_integrand = -s * theta - b * log_bracket
    top = log_integrand.max(axis=0)  # integrated relative to the largest value, exp'd last
    shares = np.exp(log_integrand - top) * (weights[:, None] * length)
    # beyond theta_end: int exp(-s theta - b (log w + theta)) dtheta = exp(end) / (b + s)
    tail = np.exp(-s * theta_end - b * (log_w + theta_end) - top) / (b + s)
    mean_after = theta_end + 1.0 / (b + s)  # the tail's mean theta
    integral = shares.sum(axis=0) + tail
    scale = np.exp(top)
    value = (b + s) * integral * scale
    if not grad:
        zeros = np.zeros_like(value)
        return np.stack([value, zeros, zeros, zeros])
    with_theta = (shares * theta).sum(axis=0) + tail * mean_after
    with_log_bracket = (shares * log_bracket).sum(axis=0) + tail * (log_w + mean_after)
    with_bracket_w = (shares * (grown / (1.0 + w * grown))).sum(axis=0) + tail / w
    d_b = (integral - (b + s) * with_log_bracket) * scale  # at fixed s and w
    d_s = (integral - (b + s) * with_theta) * scale
    d_w = -(b + s) * b * with_bracket_w * scale
    return np.stack([value, d_b - d_s, d_s, -d_w])  # s = c - b - 1, w = 1 - z


_CHUNK = 8192
"""Elements one call of :func:`_hyp_series` or :func:`_hyp_cf` iterates at once: their state
(a few arrays of this length, eight of them for the continued fraction's gradient) then stays
in the processor's cache across the terms.  Each element's result does not depend on the others
in its call, so the chunks give the same bits as one call; on 2 cores, 200,000 elements take
about half the time in chunks of this size."""


def _in_chunks(method, b: np.ndarray, c: np.ndarray, z: np.ndarray, grad: bool):
    """``method``'s value and derivatives in (b, c, z), :data:`_CHUNK` elements a call."""
    if len(z) <= _CHUNK:
        return method(b, c, z, grad)[:4]
    parts = [
        method(b[i : i + _CHUNK], c[i : i + _CHUNK], z[i : i + _CHUNK], grad)[:4]
        for i in range(0, len(z), _CHUNK)
    ]
    return tuple(np.concatenate([part[k] for part in parts]) for k in range(4))


def _log_hyp(b: np.ndarray, c: np.ndarray, z: np.ndarray, grad: bool = False, w=None):
    """log 2F1(1, b; c; z) for c > b > 0, 0 <= z < 1, and (if grad) its derivatives in b, c, z.

    ``w``: ``1 - z`` made by the caller without the cancellation (from the terms ``z`` is made
    of).  Near z = 1 the value moves with ``log(1 - z)``, and ``1 - z`` of a rounded ``z`` is off
    by up to 1e-16 / (1 - z) relatively: 1e-5 at 1e-11.
    """
    w = 1.0 - np.asarray(z, float) if w is None else w
    b, c, z, w = np.broadcast_arrays(*(np.asarray(v, float) for v in (b, c, z, w)))
    b, c, z, w = b.ravel(), c.ravel(), z.ravel(), w.ravel()
    value = np.ones(len(z))
    d_b = np.zeros(len(z))
    d_c = np.zeros(len(z))
    d_z = np.zeros(len(z))
    small = z <= _SERIES_MAX_Z
    todo_series = small & (z > 0)
    if not grad and np.any(todo_series):
        # fast path: scipy, checked against the bounds 1 <= S <= 1/(1-z)
        idx = np.flatnonzero(todo_series)
        with np.errstate(all="ignore"):
            fast = hyp2f1(1.0, b[idx], c[idx], z[idx])
        ok = np.isfinite(fast) & (fast >= 1.0) & (fast * (1.0 - z[idx]) <= 1.0 + 1e-12)
        value[idx[ok]] = fast[ok]
        todo_series[idx[ok]] = False
    if np.any(todo_series):
        idx = np.flatnonzero(todo_series)
        s, sb, sc, sz = _in_chunks(_hyp_series, b[idx], c[idx], z[idx], grad)
        value[idx], d_b[idx], d_c[idx], d_z[idx] = s, sb, sc, sz
    zero = z == 0
    d_z[zero] = b[zero] / c[zero]
    near_one = (w <= _NEAR_ONE_MAX_W) & (w > 0.0) & (b * w <= _NEAR_ONE_MAX_BW)
    near_one &= (c - b - 1.0 < _NEAR_ONE_MAX_S) & (c > 1.0)
    if np.any(near_one):
        idx = np.flatnonzero(near_one)
        s, sb, sc, sz = _hyp_near_one(b[idx], c[idx], w[idx], grad)[:4]
        value[idx], d_b[idx], d_c[idx], d_z[idx] = s, sb, sc, sz
    big = ~small & ~near_one
    if np.any(big):
        idx = np.flatnonzero(big)
        s, sb, sc, sz = _in_chunks(_hyp_cf, b[idx], c[idx], z[idx], grad)
        value[idx], d_b[idx], d_c[idx], d_z[idx] = s, sb, sc, sz
    # clip to the analytic bounds (guards the last ulp) and go to logs
    value = np.clip(value, 1.0, 1.0 / w)
    log_value = np.log(value)
    if not grad:
        return log_value
    return log_value, d_b / value, d_c / value, d_z / value


def log_hyp2f1_unit(b: np.ndarray, c: np.ndarray, z: np.ndarray, grad: bool = False, w=None):
    """log 2F1(1, b; c; z) for c > b > 0, 0 <= z < 1, elementwise (with ``grad``, also its
    derivatives in b, c, z): the stable evaluation above, for the piecewise likelihood of the
    time-varying Pareto/NBD.  ``w``: ``1 - z`` without the cancellation (:func:`_log_hyp`)."""
    return _log_hyp(b, c, z, grad, w)


# ---------------------------------------------------------------------------------------------
# the A_0 building block F(t) and the per-customer log-likelihood
# ---------------------------------------------------------------------------------------------
def _log_f(r, alpha, s, beta, x, t, grad: bool = False, ridge=False):
    """log F(t) (see module docstring) and, with ``grad``, d log F / d(r, alpha, s, beta).

    F(t) = (r+s+x) int_t^inf (alpha+u)^-(r+x) (beta+u)^-(s+1) du, so that the A_0 term of FH
    note eq. 22 is F(t_x) - F(T).  ``ridge`` (one flag, or one per element): there the value is
    ``log F(t) + (r+x) log(alpha)``, with ``(alpha+t)^-(r+x)`` written as ``(1+t/alpha)^-(r+x)``,
    which keeps its digits where ``(r+x) log(alpha+t)`` is ~5e8 (:func:`_weighted_nll`); the
    gradient is log F's either way.
    """
    p = r + x
    c = p + s + 1.0
    log_at = np.log(alpha + t)
    log_bt = np.log(beta + t)
    lead = np.where(ridge, np.log1p(t / alpha), log_at) if np.any(ridge) else log_at
    if np.all(alpha >= beta):  # a scalar alpha, beta; or one per element, all on this side
        z = (alpha - beta) / (alpha + t)
        out = _log_hyp(p, c, z, grad, w=(beta + t) / (alpha + t))
        if not grad:
            return -p * lead - s * log_bt + out
        ls, lb, lc, lz = out
        value = -p * lead - s * log_bt + ls
        dz_dalpha = (beta + t) / (alpha + t) ** 2
        dz_dbeta = -1.0 / (alpha + t)
        d_r = -log_at + lb + lc
        d_s = -log_bt + lc
        d_alpha = -p / (alpha + t) + lz * dz_dalpha
        d_beta = -s / (beta + t) + lz * dz_dbeta
        return value, np.stack([d_r, d_alpha, d_s, d_beta])
    z = (beta - alpha) / (beta + t)
    out = _log_hyp(s + 1.0, c, z, grad, w=(alpha + t) / (beta + t))
    # on the ridge, (r+x) log(alpha) - (r+x-1) log(alpha+t) = log(alpha) - (r+x-1) log1p(t/alpha)
    shift = np.where(ridge, np.log(alpha), 0.0) if np.any(ridge) else 0.0
    if not grad:
        return -(p - 1.0) * lead - (s + 1.0) * log_bt + out + shift
    ls, lb, lc, lz = out
    value = -(p - 1.0) * lead - (s + 1.0) * log_bt + ls + shift
    dz_dalpha = -1.0 / (beta + t)
    dz_dbeta = (alpha + t) / (beta + t) ** 2
    d_r = -log_at + lc
    d_s = -log_bt + lb + lc
    d_alpha = -(p - 1.0) / (alpha + t) + lz * dz_dalpha
    d_beta = -(s + 1.0) / (beta + t) + lz * dz_dbeta
    return value, np.stack([d_r, d_alpha, d_s, d_beta])


def _log_f_by_element(r, alpha, s, beta, x, t):
    """:func:`_log_f` with its gradient for one ``(r, alpha, s, beta)`` per element.

    Each side of ``alpha >= beta`` is one call, so the hypergeometric iterations of many
    covariate patterns, or of many fits, run together instead of once per pattern or fit.
    """
    value, gradient = np.empty(len(x)), np.empty((4, len(x)))
    upper = alpha >= beta
    ridge = r >= ONE_RATE_RIDGE
    for side in (upper, ~upper):
        if np.any(side):
            value[side], gradient[:, side] = _log_f(
                r[side], alpha[side], s[side], beta[side], x[side], t[side], True, ridge[side]
            )
    return value, gradient


def _group_likelihoods(params: np.ndarray, caches: list, weights: list) -> list:
    """Negative log-likelihood and gradient (log scale) of several groups of distinct histories
    (their :class:`_Pairs` ``caches`` and ``weights``), each at its own parameters (a row of
    ``params``): covariate patterns, or the refits of a bootstrap.

    ``F`` of every group's pairs in one call (:func:`_log_f_by_element`), each element by the
    same operations as alone, so each group's result has the bits of its own evaluation; the
    rest per group.
    """
    sizes = [cache.n_pairs for cache in caches]
    with np.errstate(all="ignore"):
        r, alpha, s, beta = (np.repeat(params[:, i], sizes) for i in range(4))
        lf, dlf = _log_f_by_element(
            r, alpha, s, beta,
            np.concatenate([cache.pair_x for cache in caches]),
            np.concatenate([cache.pair_t for cache in caches]),
        )  # fmt: skip
        cuts = np.cumsum(sizes)[:-1]
        out = []
        for point, cache, group_weights, piece, d_piece in zip(
            params, caches, weights, np.split(lf, cuts), np.split(dlf, cuts, axis=1),
            strict=True,
        ):  # fmt: skip
            total, grad = _weighted_nll(
                point, cache, np.asarray(group_weights, float), (piece, d_piece)
            )
            out.append(_on_log_scale(total, grad, point))
    return out


_SORTED_PAIRS_MAX = 20_000
"""Rows up to which :func:`_first_seen_codes` sorts; above, pandas' hash grouping is faster (a
bootstrap builds pairs for a few hundred rows a hundred times, a large shop's fit for ~1M once)."""


def _first_seen_codes(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group of equal ``(x, t)``, groups numbered in the order first seen, and each
    group's first row."""
    if len(x) <= _SORTED_PAIRS_MAX:
        keys = (x + 0.0) + 1j * (t + 0.0)  # + 0.0: -0.0 is 0.0, as in a hash grouping
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank[inverse.ravel()], first[order]
    frame = pd.DataFrame({"x": x, "t": t})
    codes = frame.groupby(["x", "t"], sort=False).ngroup().to_numpy()
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    first = np.full(n_groups, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    return codes, first


class _Pairs:
    """Rows (x, t_x, T) with the distinct (x, t) pairs over t in {t_x, T} found once.

    F(t) depends on the row only through (x, t), and real data have far fewer distinct pairs
    than distinct histories, so F and its gradient are evaluated once per pair.
    """

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray):
        self.x, self.t_x, self.T = x, t_x, T
        n = len(x)
        both_x, both_t = np.concatenate([x, x]), np.concatenate([t_x, T])
        codes, first = _first_seen_codes(both_x, both_t)
        self.pair_x, self.pair_t = both_x[first], both_t[first]
        self.inv_tx, self.inv_T = codes[:n], codes[n:]
        self.n_pairs = len(first)
        self.x_values, self.x_code = np.unique(x, return_inverse=True)
        self.T_values, self.T_code = np.unique(T, return_inverse=True)


def _log_bracket(params, pairs: _Pairs, grad: bool = False):
    """log of the bracket of FH note eq. 22 and log P(alive) = P - log bracket.

    Returns ``(log_bracket, P)`` and, with ``grad``, d log bracket / d(r, alpha, s, beta), where
    ``P = -(r+x) log(alpha+T) - s log(beta+T)``.
    """
    r, alpha, s, beta = params
    x, T = pairs.x, pairs.T
    n = len(x)
    a = r + s + x
    log_ratio = np.log(s) - np.log(a)
    log_aT, log_bT = np.log(alpha + T), np.log(beta + T)
    p_term = -(r + x) * log_aT - s * log_bT
    out = _log_f(r, alpha, s, beta, pairs.pair_x, pairs.pair_t, grad)
    if grad:
        lf, dlf = out
        dlf1, dlf2 = dlf[:, pairs.inv_tx], dlf[:, pairs.inv_T]
    else:
        lf = out
    lf1, lf2 = lf[pairs.inv_tx], lf[pairs.inv_T]
    lf2 = np.minimum(lf2, lf1)  # F is decreasing in t; guard the last ulp
    m = np.maximum(p_term, lf1 + log_ratio)
    e_p = np.exp(p_term - m)
    e1 = np.exp(lf1 + log_ratio - m)
    e2 = np.exp(lf2 + log_ratio - m)
    inner = e_p + (e1 - e2)
    log_b = m + np.log(inner)
    if not grad:
        return log_b, p_term
    d_p = np.stack([-log_aT, -(r + x) / (alpha + T), -log_bT, -s / (beta + T)])
    d_logratio = np.stack([-1.0 / a, np.zeros(n), 1.0 / s - 1.0 / a, np.zeros(n)])
    d_inner = e_p * d_p + e1 * dlf1 - e2 * dlf2 + (e1 - e2) * d_logratio
    return log_b, p_term, d_inner / inner


def _weighted_nll(params, pairs: _Pairs, weights: np.ndarray, log_f=None):
    """Total weighted negative log-likelihood (FH note eq. 22) and its gradient in (r, alpha, s, beta).

    Same algebra as :func:`_log_bracket`, but the gradient is accumulated directly as weighted
    sums: per-row coefficients are summed (``bincount``) onto the distinct (x, t) pairs, x values
    and T values, so that the per-row work is a handful of gathers, three exps and one log.
    ``log_f``: :func:`_log_f` with its gradient on the pairs, when already computed.
    """
    r, alpha, s, beta = params
    xv, tv = pairs.x_values, pairs.T_values
    xc, tc = pairs.x_code, pairs.T_code
    a_u = r + s + xv
    log_ratio_u = np.log(s) - np.log(a_u)
    la_u, lb_u = np.log(alpha + tv), np.log(beta + tv)
    ridge = r >= ONE_RATE_RIDGE
    if log_f is None:
        log_f = _log_f(r, alpha, s, beta, pairs.pair_x, pairs.pair_t, True, ridge)
    lf, dlf = log_f
    lf1 = lf[pairs.inv_tx]
    lf2 = np.minimum(lf[pairs.inv_T], lf1)
    # on the ridge (r, alpha -> inf at a fixed r/alpha: one purchase rate) every history's terms
    # r ln(alpha), ln Gamma(r) and (r+x) ln(alpha+t) are ~5e8 and cancel per history: each is
    # taken relative to (r+x) ln(alpha) (_log_f's ridge) and ln Gamma(r+x) - ln Gamma(r) summed
    # as logs, so that the sum over the shop keeps ~1e-9 instead of losing W r ln(alpha) 1e-16
    p_lead = np.log1p(tv / alpha) if ridge else la_u
    p_term = -(r + pairs.x) * p_lead[tc] - s * lb_u[tc]
    log_ratio = log_ratio_u[xc]
    q1 = lf1 + log_ratio
    m = np.maximum(p_term, q1)
    e_p = np.exp(p_term - m)
    e1 = np.exp(q1 - m)
    e2 = np.exp(lf2 + log_ratio - m)
    inner = e_p + (e1 - e2)
    log_b = m + np.log(inner)
    w_x = np.bincount(xc, weights, minlength=len(xv))
    if ridge:
        const_u = log_rising(r, xv) - xv * np.log(alpha) + s * np.log(beta)
    else:
        const_u = gammaln(r + xv) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    total_ll = float(weights @ log_b + w_x @ const_u)
    # gradient
    wi = weights / inner
    g_p, g_1, g_2 = wi * e_p, wi * e1, wi * e2
    n_t = len(tv)
    gt = np.bincount(tc, g_p, minlength=n_t)
    gt_rx = np.bincount(tc, g_p * (r + pairs.x), minlength=n_t)
    g_pairs = np.bincount(pairs.inv_tx, g_1, minlength=pairs.n_pairs) - np.bincount(
        pairs.inv_T, g_2, minlength=pairs.n_pairs
    )
    gx = np.bincount(xc, g_1 - g_2, minlength=len(xv))
    grad = dlf @ g_pairs
    grad += np.array(
        [-gt @ la_u, -gt_rx @ (1.0 / (alpha + tv)), -gt @ lb_u, -s * (gt @ (1.0 / (beta + tv)))]
    )
    grad += np.array([-(gx @ (1.0 / a_u)), 0.0, gx @ (1.0 / s - 1.0 / a_u), 0.0])
    grad += np.array(
        [
            w_x @ (digamma(r + xv) - digamma(r) + np.log(alpha)),
            w_x.sum() * r / alpha,
            w_x.sum() * np.log(beta),
            w_x.sum() * s / beta,
        ]
    )
    return -total_ll, -grad


def _log_h(y: np.ndarray, s: float) -> np.ndarray:
    """log of h(y) = y^s U(s, s, y) = E[y/(y + G)], G ~ Gamma(s, 1), in (0, 1].

    Fast path: scipy.special.hyperu, accepted when finite and within (0, 1].  Fallback: the
    integral h = int_0^inf e^-w (1 + w/y)^-s dw (from 1/(mu+delta) = int e^-(mu+delta)v dv),
    computed with the substitution u = w + s log(1 + w/y) (so the integrand is e^-u times
    dw/du = (y+w)/(y+w+s) in (0, 1]), by Gauss-Laguerre quadrature.
    """
    y = np.asarray(y, float)
    with np.errstate(all="ignore"):
        log_h = s * np.log(y) + np.log(hyperu(s, s, y))
    bad = ~np.isfinite(log_h) | (log_h > 1e-12)
    if np.any(bad):
        log_h[bad] = np.log(_h_quadrature(y[bad], s))
    return np.minimum(log_h, 0.0)


def _h_quadrature(y: np.ndarray, s: float, n_nodes: int = 80) -> np.ndarray:
    nodes, weights = roots_genlaguerre(n_nodes, 0.0)
    u = nodes[:, None]
    yy = y[None, :]
    # solve w + s log1p(w/y) = u for w by Newton, starting from a bracketing guess
    with np.errstate(over="ignore"):
        w = np.minimum(u, yy * np.expm1(u / max(s, 1e-300)))
    for _ in range(100):
        g = w + s * np.log1p(w / yy) - u
        dg = 1.0 + s / (yy + w)
        step = g / dg
        w = np.maximum(w - step, w / 10)
        if np.all(np.abs(step) <= 1e-15 * (w + 1e-300)):
            break
    integrand = (yy + w) / (yy + w + s)
    return np.clip(weights @ integrand, 1e-300, 1.0)


def _decay_integral(k: np.ndarray | float, log_ratio: np.ndarray) -> np.ndarray:
    """(1 - exp(-k L))/k, its k -> 0 limit L; used for (1 - (b/(b+t))^(s-1))/(s-1)."""
    k = np.asarray(k, float)
    with np.errstate(all="ignore"):
        out = -np.expm1(-k * log_ratio) / k
    return np.where(k == 0, log_ratio, out)


def _on_log_scale(total: float, grad: np.ndarray, params: np.ndarray):
    """The gradient by the chain rule to the log parameters; ``(inf, 0)`` where not finite."""
    grad = grad * params
    if not np.isfinite(total) or not np.all(np.isfinite(grad)):
        return np.inf, np.zeros(4)
    return total, grad


class ParetoNBD(CovariateModel):
    """Pareto/NBD (SMC 1987) for continuous-time, non-contractual purchasing.

    Parameters ``r, alpha`` (gamma heterogeneity of the purchase rate, shape and rate) and
    ``s, beta`` (gamma heterogeneity of the dropout rate).  Inputs are, per customer, the number
    of repeat purchases ``frequency`` (x), the time of the last one ``recency`` (t_x) and the
    length of observation ``T``, all in the same unit, which the parameters then carry.

    The fit uses the analytic gradient of the log-likelihood (forward-mode derivatives of the
    hypergeometric series / continued fraction), evaluated once per distinct (x, t) pair.
    """

    _param_names = ("r", "alpha", "s", "beta")
    _label = "Pareto/NBD"
    # Fader & Hardie (2007): alpha_i = alpha exp(-gamma_p . x_i), beta_i = beta exp(-gamma_d . z_i)
    _covariate_targets = {"purchase": (("alpha", -1.0),), "dropout": (("beta", -1.0),)}
    _limits = (
        # first, so that a dropout limit found beside it is the one a round keeps
        ONE_PURCHASE_RATE,
        # Gamma(s, beta) with s -> 0 puts every dropout rate at 0: the NBD (methodology.md)
        Limit(
            {"s": "0"}, ("s", "beta"), "no dropout visible; it reduces to the NBD", (("s", "0"),)
        ),
        Limit({"beta": "inf"}, ("beta",), "one dropout rate for everyone (s/beta)"),
    )

    # -- fitting ---------------------------------------------------------------------------------
    def _initial_log_params(self, data, weights) -> np.ndarray:
        x, _, T = data
        mean_rate = max(float(np.average(x / np.maximum(T, 1e-12), weights=weights)), 1e-6)
        mean_T = float(np.average(T, weights=weights))
        # r = s = 1; purchase scale from the observed rate, dropout scale ~ the window
        return np.log([1.0, 1.0 / mean_rate, 1.0, max(mean_T, 1e-6)])

    def _negative_log_likelihood(self, log_params, data, weights):
        together = _lockstep.current()
        if together is not None:  # one of many fits run together (a bootstrap's refits)
            return together.negative_log_likelihood(self, log_params, data, weights)
        params = np.exp(np.asarray(log_params, float))
        with np.errstate(all="ignore"):
            total, grad = _weighted_nll(params, self._pairs(data), np.asarray(weights, float))
        return _on_log_scale(total, grad, params)

    @staticmethod
    def _negative_log_likelihoods(requests: list[tuple]) -> list[tuple[float, np.ndarray]]:
        """:meth:`_negative_log_likelihood` of several fits, ``(model, log_params, data,
        weights)`` each, evaluated together (:func:`_group_likelihoods`)."""
        params = np.exp(np.array([log_params for _, log_params, _, _ in requests], float))
        caches = [model._pairs(data) for model, _, data, _ in requests]
        return _group_likelihoods(params, caches, [weights for *_, weights in requests])

    def _pairs(self, data) -> _Pairs:
        """The distinct (x, t) pairs of ``data``, found once per fit (cached on the model)."""
        x, t_x, T = data
        cache = getattr(self, "_pairs_cache", None)
        if cache is None or cache.x is not x or cache.t_x is not t_x or cache.T is not T:
            cache = _Pairs(x, t_x, T)
            self._pairs_cache = cache
        return cache

    def _pattern_likelihoods(self, groups, log_params: np.ndarray):
        """Each covariate pattern's negative log-likelihood and gradient (log scale), at the
        pattern's own ``alpha_i, beta_i``, evaluated together (:func:`_group_likelihoods`)."""
        caches = [worker._pairs(data) for worker, data, _ in groups]
        return _group_likelihoods(np.exp(log_params), caches, [w for *_, w in groups])

    # -- per-customer quantities -----------------------------------------------------------------
    @accepts_covariates(0, 1, 2)
    def log_likelihood_per_customer(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """ln L(r, alpha, s, beta | x, t_x, T) per customer at the fitted parameters (FH note eq. 22)."""
        params = np.array(self._param_values())
        r, alpha, s, beta = params

        def function(x, t_x, T):
            log_b, _ = _log_bracket(params, _Pairs(x, t_x, T))
            return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + log_b

        return self._compressed_call(function, frequency, recency, T)

    @accepts_covariates(0, 1, 2)
    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """P(alive at T | x, t_x, T) (FH note Section 5; SMC eq. 11).

        = Gamma(r+x) alpha^r beta^s / (Gamma(r) (alpha+T)^(r+x) (beta+T)^s L), computed as the
        first term of the likelihood bracket over the whole bracket, in logs.
        """
        params = np.array(self._param_values())

        def function(x, t_x, T):
            log_b, p_term = _log_bracket(params, _Pairs(x, t_x, T))
            return np.clip(np.exp(p_term - log_b), 0.0, 1.0)

        return self._compressed_call(function, frequency, recency, T)

    @accepts_covariates(0, 1, 2, 3)
    def expected_transactions(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """E[X(T, T+t) | x, t_x, T], expected purchases in the next ``t`` (FH note eq. 23; SMC eq. 22).

        = P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)], with the
        s = 1 limit (r+x)(beta+T)/(alpha+T) log((beta+T+t)/(beta+T)) handled by expm1.
        """
        r, alpha, s, beta = self._param_values()
        x, t_x, T = validate_rfm(frequency, recency, T)
        t = as_float_array(t, "t")
        if np.any(t < 0):
            raise ValueError("t must be non-negative")
        t, x, t_x, T = np.broadcast_arrays(t, x, t_x, T)
        p_alive = self.probability_alive(x, t_x, T)
        with np.errstate(all="ignore"):
            growth = _decay_integral(s - 1.0, np.log1p(t / (beta + T)))
            out = p_alive * (r + x) * (beta + T) / (alpha + T) * growth
        return np.maximum(out, 0.0)

    @accepts_covariates(1, 2, 3)
    def expected_transactions_grid(
        self, times: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """:meth:`expected_transactions` at several horizons at once: shape ``(len(times), n)``.

        P(alive), the costly part (the hypergeometric terms of the likelihood bracket), does not
        depend on the horizon, so it is computed once: a 26-week backtest curve then costs one
        P(alive) instead of 26.  Each row equals :meth:`expected_transactions` at that horizon.
        """
        r, alpha, s, beta = self._param_values()
        x, t_x, T = validate_rfm(frequency, recency, T)
        times = np.asarray(times, dtype=float).reshape(-1)
        if np.any(~np.isfinite(times)) or np.any(times < 0):
            raise ValueError("times must be finite and non-negative")
        out = np.empty((len(times), len(x)))
        with np.errstate(all="ignore"):
            scale = self.probability_alive(x, t_x, T) * (r + x) * (beta + T) / (alpha + T)
            for row, t in zip(out, times, strict=True):
                np.maximum(scale * _decay_integral(s - 1.0, np.log1p(t / (beta + T))), 0.0, out=row)
        return out

    @accepts_covariates(0)
    def expected_transactions_new(self, t: ArrayLike) -> np.ndarray:
        """E[X(t)] for a new customer (SMC eq. 17; FH note eq. 17).

        = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)], s = 1 limit (r beta/alpha) log(1+t/beta).
        """
        r, alpha, s, beta = self._param_values()
        t = as_float_array(t, "t")
        if np.any(t < 0):
            raise ValueError("t must be non-negative")
        with np.errstate(all="ignore"):
            out = r * beta / alpha * _decay_integral(s - 1.0, np.log1p(t / beta))
        return np.maximum(out, 0.0)

    @accepts_covariates(0, 1, 2)
    def median_time_to_next_purchase(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """Median waiting time from T to the next purchase, for a customer assumed alive throughout.

        Definition (a modelling choice, stated here): given the customer is alive at T, the
        posterior of the purchase rate is ``lambda | data, alive ~ Gamma(r+x, alpha+T)``
        (FH note Section 5).  If the customer also stays alive until the next purchase, the wait
        W given lambda is Exp(lambda), so marginally P(W > w) = ((alpha+T)/(alpha+T+w))^(r+x)
        (a Lomax law), whose median is ``(alpha+T)(2^(1/(r+x)) - 1)``.  Dropout is deliberately
        ignored (otherwise the median is infinite whenever P(alive) <= 1/2); combine with
        :meth:`probability_alive` when that matters.
        """
        r, alpha, _, _ = self._param_values()
        x, _, T = validate_rfm(frequency, recency, T)
        return (alpha + T) * np.expm1(np.log(2.0) / (r + x))

    @accepts_covariates(1, 2, 3)
    def discounted_expected_residual_transactions(
        self, delta: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """DERT with continuous discount rate ``delta`` per time unit (FHL 2005 JMR, eq. 2).

        DERT = alpha^r beta^s delta^(s-1) Gamma(r+x+1) Psi(s, s; delta(beta+T))
               / (Gamma(r) (alpha+T)^(r+x+1) L(r, alpha, s, beta | x, t_x, T)),

        Psi the confluent hypergeometric function of the second kind.  Rewritten in logs as
        P(alive) * (r+x)/(alpha+T) * h(delta(beta+T)) / delta with h(y) = y^s Psi(s, s; y) in
        (0, 1] (h is E[delta/(mu+delta)] under the posterior Gamma(s, beta+T) of mu);
        ``scipy.special.hyperu`` is the fast path and an integral representation the fallback
        when it over/underflows (see ``_log_h``).
        """
        if not np.isscalar(delta) or not delta > 0:
            raise ValueError("delta must be a positive number (discount rate per time unit)")
        params = np.array(self._param_values())
        r, alpha, s, beta = params
        delta = float(delta)

        def function(x, t_x, T):
            log_b, p_term = _log_bracket(params, _Pairs(x, t_x, T))
            log_alive = np.minimum(p_term - log_b, 0.0)
            log_h = _log_h(delta * (beta + T), s)
            return np.exp(log_alive + np.log(r + x) - np.log(alpha + T) + log_h - np.log(delta))

        return self._compressed_call(function, frequency, recency, T)

    # -- simulation ------------------------------------------------------------------------------
    def simulate_future_orders(
        self, ends: np.ndarray, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
        size: int, rng: np.random.Generator,
    ) -> np.ndarray:  # fmt: skip
        """``size`` draws of each customer's orders in each period ``(ends[k-1], ends[k]]`` after
        ``T``, given their history: the process noise of the sales to come.

        Given alive at ``T`` (:meth:`probability_alive`), the likelihood of the history is
        ``lambda^x exp(-(lambda + mu) T)``, so the posterior traits are ``lambda ~ Gamma(r+x,
        rate alpha+T)`` and ``mu ~ Gamma(s, rate beta+T)`` (Schmittlein, Morrison & Colombo
        1987; Fader & Hardie's note on the Pareto/NBD, sec. 5); the remaining lifetime is
        exponential at ``mu`` (memoryless) and the purchases a Poisson process at ``lambda``
        while it lasts.  Returns an integer array ``(size, n, periods)``.
        """
        x, t_x, T = validate_rfm(frequency, recency, T)
        r, alpha, s, beta = self._param_values()
        shape = (size, len(x))
        alive = rng.random(shape) < self.probability_alive(x, t_x, T)
        lam = rng.gamma(r + x, 1.0 / (alpha + T), shape)
        mu = rng.gamma(s, 1.0 / (beta + T), shape)
        # a dropout rate drawn at (or next to) 0 is a lifetime without end, which the periods
        # cut off: an infinite life, not a warning
        with np.errstate(divide="ignore", over="ignore"):
            life = np.where(alive, rng.exponential(1.0, shape) / mu, 0.0)
        return purchases_by_period(rng, lam, life, ends)

    @accepts_covariates(0)
    def simulate(self, T: ArrayLike, seed: int | None = None) -> pd.DataFrame:
        """Draw customers from the model at ``params_`` observed for ``T`` each.

        lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta), lifetime ~ Exp(mu); purchases follow a
        Poisson(lambda) process while alive and within (0, T].  Returns frequency, recency, T.
        """
        r, alpha, s, beta = self._param_values()
        T = as_float_array(T, "T")
        if np.any(T < 0):
            raise ValueError("T must be non-negative")
        rng = np.random.default_rng(seed)
        n = len(T)
        lam = rng.gamma(r, 1.0 / alpha, n)
        mu = rng.gamma(s, 1.0 / beta, n)
        with np.errstate(divide="ignore"):
            lifetime = rng.exponential(1.0 / np.maximum(mu, 1e-300))
        return purchases_while_alive(rng, lam, lifetime, T)
