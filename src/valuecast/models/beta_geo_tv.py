"""BG/NBD and MBG/NBD with time-varying purchase covariates: the plain models in operational time.

References: Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to
the Pareto/NBD model", Marketing Science 24(2), eq. 6 (BG/NBD); Batislam, Denizel & Filiztekin
(2007), IJRM 24(3), eq. 4 (MBG/NBD); the covariate clock of Bachmann, Meierer & Naef (2021),
Marketing Science 40(4).

In the BG family a customer drops out right after a purchase (with probability ``p``), never
between purchases, so dropout has no clock of its own.  Given ``lambda`` and ``p``, with the
purchase rate ``lambda exp(gamma . c(u))`` and exposure ``Lambda`` (see
:mod:`valuecast.models._time_varying`), the likelihood is

    exp(gamma . S) lambda^x [ (1-p)^x e^(-lambda Lambda(T)) + [x>0] p (1-p)^(x-1) e^(-lambda Lambda(t_x)) ]

(MBG/NBD: ``(1-p)^(x+1)`` and ``p (1-p)^x`` without the indicator): FHL's eq. 3 with ``t_x, T``
replaced by ``Lambda(t_x), Lambda(T)``.  Mixing over ``lambda`` and ``p`` is unchanged, so the
likelihood, P(alive) and the conditional expectation (over the window's operational length
``Lambda(T+t) - Lambda(T)``) are the plain closed forms at operational times: the closed form
holds, unlike the Pareto/NBD's, whose dropout runs on the calendar clock and needs one
hypergeometric term per period (:mod:`valuecast.models.pareto_nbd_tv`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, gammaln

from valuecast.models._fitting import ArrayLike, validate_rfm
from valuecast.models._time_varying import TimeVaryingModel
from valuecast.models.bgnbd import BetaGeo
from valuecast.models.mbgnbd import ModifiedBetaGeo

__all__ = ["BetaGeoTimeVarying", "ModifiedBetaGeoTimeVarying"]


class BetaGeoTimeVarying(TimeVaryingModel):
    """BG/NBD with time-varying purchase covariates (module docstring), parameters ``r, alpha, a,
    b`` and one multiplier per covariate; API of :class:`~valuecast.models._time_varying.TimeVaryingModel`."""

    _base_names = ("r", "alpha", "a", "b")
    _label = "BG/NBD (time-varying)"
    _plain_class: type = BetaGeo
    _limits = BetaGeo._limits  # the plain model's: the calendar only rescales its clock

    def _plain_model(self):
        return self._plain_class(penalizer=self.penalizer)

    def _plain_at(self, base):
        return self._plain_model().with_params(dict(zip(self._base_names, base, strict=True)))

    def _log_likelihood_rest(self, base, clock, x, t_x, T) -> np.ndarray:
        op_tx, op_T = clock.customer_times(t_x, T)
        return self._plain_at(base).log_likelihood_per_customer(x, op_tx, op_T)

    def _log_likelihood_rest_gradient(self, base, clock, x, t_x, T):
        """The plain log-likelihood at operational times and its derivatives in (r, alpha, a, b,
        gamma), from FHL (2005) eq. 6 / Batislam et al. (2007) eq. 4 written as

            Gamma(r+x) alpha^r / Gamma(r) B(a, b+x+k)/B(a, b) (alpha+L(t_x))^-(r+x)
            * [exp(u) + [x+k>0] a/(b+x+k-1)],  u = (r+x) log((alpha+L(t_x))/(alpha+L(T))),

        (``k`` = 0 for BG/NBD, 1 for MBG/NBD); gamma enters through ``L(t_x)``, ``L(T)`` only."""
        r, alpha, a, b = base
        k = self._plain_class._shift
        op_tx, op_T = clock.customer_times(t_x, T)
        d_start = clock.gradient_at(-T)
        d_tx = clock.gradient_at(t_x - T) - d_start
        d_T = clock.gradient_at(np.zeros(len(T))) - d_start
        p, bx = r + x, b + x + k
        second = (x + k) > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            c_q = np.where(second, np.log(a) - np.log(bx - 1.0), -np.inf)
        l_tx, l_T = np.log(alpha + op_tx), np.log(alpha + op_T)
        u = p * (l_tx - l_T)
        mix = np.logaddexp(u, c_q)
        w_u = np.exp(u - mix)
        w_q = 1.0 - w_u
        rest = (
            gammaln(p) - gammaln(r) + r * np.log(alpha) + betaln(a, bx) - betaln(a, b)
            - p * l_tx + mix
        )  # fmt: skip
        gradient = np.empty((len(x), 4 + clock.values.shape[1]))
        gradient[:, 0] = digamma(p) - digamma(r) + np.log(alpha) - l_tx + w_u * (l_tx - l_T)
        gradient[:, 1] = (
            r / alpha - p / (alpha + op_tx) + w_u * p * (1 / (alpha + op_tx) - 1 / (alpha + op_T))
        )
        gradient[:, 2] = digamma(a + b) - digamma(a + bx) + np.where(second, w_q / a, 0.0)
        gradient[:, 3] = (
            digamma(bx) - digamma(a + bx) - digamma(b) + digamma(a + b)
            - np.where(second, w_q / (bx - 1.0), 0.0)
        )  # fmt: skip
        by_tx = (w_u - 1.0) * p / (alpha + op_tx)
        by_T = -w_u * p / (alpha + op_T)
        gradient[:, 4:] = by_tx[:, None] * d_tx + by_T[:, None] * d_T
        return rest, gradient

    def _operational(self, frequency, recency, T):
        x, t_x, T = validate_rfm(frequency, recency, T)
        clock = self._clock()
        op_tx, op_T = clock.customer_times(t_x, T)
        return self._plain_at(self._base_params()), clock, x, op_tx, op_T

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """P(alive at T): the plain model's (FHL 2005 eq. 11) at operational times."""
        plain, _, x, op_tx, op_T = self._operational(frequency, recency, T)
        return plain.probability_alive(x, op_tx, op_T)

    def expected_transactions(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """E[X(T, T+t)]: the plain model's (FHL 2005 eq. 10) over the window's operational length."""
        horizon = self._horizon(t)
        plain, clock, x, op_tx, op_T = self._operational(frequency, recency, T)
        window = float(clock.elapsed(0.0, horizon))
        return plain.expected_transactions(window, x, op_tx, op_T)

    def expected_transactions_new(self, t: ArrayLike) -> np.ndarray:
        """Expected repeat purchases in ``(0, t]`` of a customer whose first purchase is at the end
        of observation (FHL 2005 eq. 9 over the operational length of ``(0, t]``)."""
        plain = self._plain_at(self._base_params())
        window = self._clock().elapsed(0.0, np.atleast_1d(np.asarray(t, dtype=float)))
        return plain.expected_transactions_new(window)


class ModifiedBetaGeoTimeVarying(BetaGeoTimeVarying):
    """MBG/NBD (Batislam et al. 2007) with time-varying purchase covariates, as
    :class:`BetaGeoTimeVarying`."""

    _label = "MBG/NBD (time-varying)"
    _plain_class = ModifiedBetaGeo
