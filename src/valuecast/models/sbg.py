"""Shifted-beta-geometric (sBG) model of customer retention in a contractual setting.

References
----------
* Fader, P. S. and Hardie, B. G. S. (2007), "How to project customer retention", Journal of
  Interactive Marketing 21(1), 76-90 ("FH 2007"; the model, its likelihood and the data of Table 1).
* Fader, P. S. and Hardie, B. G. S. (2010), "Customer-base valuation in a contractual setting:
  the perils of ignoring heterogeneity", Marketing Science 29(1), 85-93 ("FH 2010"; DEL/DERL).
* Fader, P. S. and Hardie, B. G. S. (2007), "Fitting the sBG model to multi-cohort data", note
  017 at brucehardie.com (cohorts observed for different lengths of time).

Model
-----
Every customer renews at the end of each period with probability ``1 - theta`` until she
churns; ``theta ~ Beta(alpha, beta)`` across customers.  With T the period in which she churns
(T = 1, 2, ...):

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)     (FH 2007, pmf)
    S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta)      (FH 2007, survivor)
    r_t = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)  (FH 2007, retention)

A cohort is described by its survivors ``n_0, n_1, ..., n_T`` (customers still active at the
start and after each of T periods; ``n_0`` is the cohort size).  The ``n_{t-1} - n_t`` customers
lost in period t contribute ``ln P(T = t)`` each, and the ``n_T`` still active at the end
contribute ``ln S(T)`` each (FH 2007 likelihood; note 017 for several cohorts).  Periods are
whatever the contract period is (months, years, ...).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma

from valuecast.models._fitting import (
    ArrayLike,
    BaseModel,
    Limit,
    as_float_array,
    compress_histories,
    prepare_weights,
)
from valuecast.models.bgbb import geometric_draws, hyp2f1_at_one

__all__ = ["ShiftedBetaGeometric", "survivors_from_percentages"]


def survivors_from_percentages(percentages: ArrayLike, cohort_size: int = 1000) -> np.ndarray:
    """Turn a survival curve in percent into whole survivor counts of a cohort of ``cohort_size``.

    FH 2007 fit each segment of their Table 1 "as 1,000 customers": 86.9% surviving year 1 is
    869 survivors.  Counts are rounded to the nearest customer, since the likelihood counts
    customers.  ``percentages`` must start at 100 and must not increase.
    """
    pct = as_float_array(percentages, "percentages")
    if cohort_size <= 0 or cohort_size != int(cohort_size):
        raise ValueError("cohort_size must be a positive whole number of customers")
    if len(pct) == 0 or abs(pct[0] - 100) > 1e-9:
        raise ValueError("percentages must start at 100 (the whole cohort at time 0)")
    if np.any(pct < 0) or np.any(np.diff(pct) > 0):
        raise ValueError("percentages must be non-negative and must not increase over time")
    return np.rint(pct / 100.0 * cohort_size).astype(np.int64)


def _as_cohorts(survivors) -> list[np.ndarray]:
    """One survivor array per cohort from a sequence, a list of sequences or a 2-d array."""
    if isinstance(survivors, np.ndarray):
        raw = list(survivors) if survivors.ndim == 2 else [survivors]
    else:
        items = list(survivors)
        raw = items if any(np.ndim(item) > 0 for item in items) else [items]
    cohorts = []
    for i, cohort in enumerate(raw):
        counts = as_float_array(cohort, f"survivors of cohort {i}")
        if len(counts) == 0:
            raise ValueError(f"cohort {i} is empty")
        if np.any(counts < 0) or np.any(counts != np.floor(counts)):
            raise ValueError(
                f"survivors of cohort {i} must be whole numbers of customers (use "
                "survivors_from_percentages for a curve in percent)"
            )
        if counts[0] <= 0:
            raise ValueError(f"cohort {i} starts with no customers")
        if np.any(np.diff(counts) > 0):
            raise ValueError(
                f"survivors of cohort {i} increase over time: customers who churned cannot "
                "come back in the sBG model"
            )
        cohorts.append(counts)
    if not cohorts:
        raise ValueError("no cohort given")
    return cohorts


def _check_periods(t: ArrayLike, name: str, minimum: int) -> np.ndarray:
    t = as_float_array(t, name)
    if np.any(t < minimum) or np.any(t != np.floor(t)):
        raise ValueError(f"{name} must hold whole numbers of periods >= {minimum}")
    return t


class ShiftedBetaGeometric(BaseModel):
    """sBG retention model (Fader & Hardie 2007).

    Parameters (in ``params_``): ``alpha, beta`` of the Beta distribution of the per-period
    churn probability ``theta`` (mean churn probability ``alpha / (alpha + beta)``).

    :meth:`fit` takes survivor counts of one cohort (``[1000, 869, 743, ...]``) or a list of
    cohorts, possibly observed for different numbers of periods.
    """

    _param_names = ("alpha", "beta")
    _label = "sBG"
    _limits = (
        # Beta(alpha, beta) with alpha -> 0 puts every churn probability at 0 (methodology.md)
        Limit(
            {"alpha": "0"},
            ("alpha", "beta"),
            "no churn visible; retention stays 1",
            (("alpha", "0"),),
        ),
        Limit(
            {"beta": "inf"}, ("beta",), "one churn probability for everyone (constant retention)"
        ),
        Limit(
            {"alpha": "inf"}, ("alpha",), "one churn probability for everyone (constant retention)"
        ),
    )

    # -- fitting ---------------------------------------------------------------------------------
    @staticmethod
    def _churn_table(
        survivors, weights: ArrayLike | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
        """(t, is_survivor, count) rows of the likelihood of all cohorts, weighted per cohort."""
        cohorts = _as_cohorts(survivors)
        cohort_weights = prepare_weights(weights, len(cohorts))
        t_parts, kind_parts, count_parts = [], [], []
        for counts, weight in zip(cohorts, cohort_weights, strict=True):
            periods = len(counts) - 1
            t_parts += [np.arange(1, periods + 1, dtype=float), [float(periods)]]
            kind_parts += [np.zeros(periods), [1.0]]
            count_parts += [weight * -np.diff(counts), [weight * counts[-1]]]
        t = np.concatenate(t_parts)
        is_survivor = np.concatenate(kind_parts)
        count = np.concatenate(count_parts)
        return t, is_survivor, count, cohorts

    def fit(self, survivors, weights: ArrayLike | None = None) -> ShiftedBetaGeometric:
        """Fit ``alpha, beta`` by maximum likelihood (FH 2007 likelihood; note 017 for cohorts).

        ``survivors`` is one cohort's counts of active customers at t = 0, 1, 2, ... (the first
        is the cohort size), or a list of such sequences, one per cohort, of any lengths.
        ``weights`` optionally multiplies each cohort (one weight per cohort).
        """
        t, is_survivor, count, cohorts = self._churn_table(survivors, weights)
        if all(len(c) < 2 for c in cohorts):
            raise ValueError("every cohort has a single count: no period has been observed")
        keep = count > 0
        (ut, us), counts, _ = compress_histories(t[keep], is_survivor[keep], weights=count[keep])
        self.n_cohorts_ = len(cohorts)
        return self._fit_compressed((ut, us), counts)

    def _negative_log_likelihood(
        self, log_params: np.ndarray, data: tuple[np.ndarray, ...], weights: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Total -ln L over (t, is_survivor) rows with counts, and its analytic log-scale gradient.

        ln P(T=t) = ln B(a+1, b+t-1) - ln B(a,b), with
            d/da = psi(a+1) - psi(a+b+t) - psi(a) + psi(a+b),
            d/db = psi(b+t-1) - psi(a+b+t) - psi(b) + psi(a+b);
        ln S(t) = ln B(a, b+t) - ln B(a,b), with
            d/da = psi(a+b) - psi(a+b+t),
            d/db = psi(b+t) - psi(a+b+t) - psi(b) + psi(a+b).
        """
        alpha, beta = np.exp(log_params)
        t, is_survivor = data
        survivor = is_survivor > 0
        log_b = betaln(alpha, beta)
        ll = np.where(
            survivor,
            betaln(alpha, beta + t) - log_b,
            betaln(alpha + 1, beta + t - 1) - log_b,
        )
        psi_ab, psi_abt = digamma(alpha + beta), digamma(alpha + beta + t)
        d_alpha = np.where(
            survivor,
            psi_ab - psi_abt,
            digamma(alpha + 1) - psi_abt - digamma(alpha) + psi_ab,
        )
        d_beta = (
            np.where(survivor, digamma(beta + t), digamma(beta + t - 1))
            - psi_abt
            - digamma(beta)
            + psi_ab
        )
        gradient = np.array([alpha * np.dot(weights, d_alpha), beta * np.dot(weights, d_beta)])
        return float(-np.dot(weights, ll)), -gradient

    def _initial_log_params(self, data: tuple[np.ndarray, ...], weights: np.ndarray) -> np.ndarray:
        """FH 2007 start Solver at alpha = beta = 1."""
        return np.zeros(2)

    # -- likelihood ------------------------------------------------------------------------------
    def log_likelihood_per_customer(self, t: ArrayLike, is_survivor: ArrayLike) -> np.ndarray:
        """ln L of single customers at the fitted parameters (FH 2007, pmf and survivor).

        A customer who churned in period ``t`` contributes ``ln P(T = t)``; one still active
        after ``t`` periods (``is_survivor`` true) contributes ``ln S(t)``.
        """
        alpha, beta = self._param_values()
        survivor = np.asarray(is_survivor, dtype=bool)
        t = _check_periods(t, "t", 0)
        t, survivor = np.broadcast_arrays(t, survivor)
        if np.any(~survivor & (t < 1)):
            raise ValueError("churn happens in period 1 or later")
        log_b = betaln(alpha, beta)
        return np.where(
            survivor,
            betaln(alpha, beta + t) - log_b,
            betaln(alpha + 1, beta + np.maximum(t, 1) - 1) - log_b,
        )

    def log_likelihood_per_cohort(self, survivors) -> np.ndarray:
        """Total ln L of each cohort's survivor counts at the fitted parameters (FH 2007)."""
        alpha, beta = self._param_values()
        out = []
        for counts in _as_cohorts(survivors):
            periods = np.arange(1, len(counts))
            lost = -np.diff(counts)
            value = np.dot(lost, self.log_likelihood_per_customer(periods, False))
            value += counts[-1] * self.log_likelihood_per_customer(len(counts) - 1, True)[0]
            out.append(value)
        return np.asarray(out, dtype=float)

    # -- predictions -----------------------------------------------------------------------------
    def churn_probability(self, t: ArrayLike) -> np.ndarray:
        """P(T = t): probability of churning in period t = 1, 2, ... (FH 2007, pmf)."""
        alpha, beta = self._param_values()
        t = _check_periods(t, "t", 1)
        return np.exp(betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta))

    def survival_function(self, t: ArrayLike) -> np.ndarray:
        """S(t) = P(T > t): probability of surviving t periods (FH 2007)."""
        alpha, beta = self._param_values()
        t = _check_periods(t, "t", 0)
        return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))

    def retention_rate(self, t: ArrayLike) -> np.ndarray:
        """r_t = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1), t >= 1 (FH 2007).

        Increases with t: the customers who stay are increasingly the low-churn ones.
        """
        alpha, beta = self._param_values()
        t = _check_periods(t, "t", 1)
        return (beta + t - 1) / (alpha + beta + t - 1)

    def expected_survivors(self, n_periods: int, cohort_size: float = 1.0) -> np.ndarray:
        """Projected active customers of a cohort at t = 0, 1, ..., n_periods: ``size * S(t)``."""
        if n_periods < 0 or n_periods != int(n_periods):
            raise ValueError("n_periods must be a non-negative whole number")
        if not cohort_size > 0:
            raise ValueError("cohort_size must be positive")
        return cohort_size * self.survival_function(np.arange(int(n_periods) + 1))

    def discounted_expected_lifetime(self, discount_rate: float) -> float:
        """DEL: sum_{t>=0} S(t) / (1 + d)^t = 2F1(1, beta; alpha + beta; 1 / (1 + d)) (FH 2010).

        The discounted number of payments of a customer just acquired, counting the first one
        (made at acquisition) undiscounted; multiply by the payment per period for DEL in money.
        """
        if not discount_rate > 0:
            raise ValueError("discount_rate must be positive (a rate per period, e.g. 0.1)")
        alpha, beta = self._param_values()
        z = 1.0 / (1.0 + discount_rate)
        return float(hyp2f1_at_one(np.array([beta]), np.array([alpha + beta]), z)[0])

    def discounted_expected_residual_lifetime(
        self, discount_rate: float, renewals: ArrayLike = 0
    ) -> np.ndarray:
        """DERL of a customer who has made ``renewals`` renewals so far (FH 2010, eq. 6).

        With n - 1 = ``renewals`` (the customer is in her n-th period and about to decide on her
        n-th renewal), the discounted expected number of future payments is

            DERL(d | alpha, beta, n - 1 renewals) = sum_{t>=n} S(t) / S(n-1) / (1 + d)^(t-n)
                = B(alpha, beta+n) / B(alpha, beta+n-1) * 2F1(1, beta+n; alpha+beta+n; 1/(1+d)),

        the next payment (if she renews) counted undiscounted.  FH 2010, Table 3 lists it for
        n = 1, ..., 5, i.e. ``renewals`` = 0, ..., 4.  Multiply by the payment per period for
        DERL in money.  The hypergeometric function uses scipy with a series fallback.
        """
        if not discount_rate > 0:
            raise ValueError("discount_rate must be positive (a rate per period, e.g. 0.1)")
        alpha, beta = self._param_values()
        n = _check_periods(renewals, "renewals", 0) + 1
        z = 1.0 / (1.0 + discount_rate)
        retention = (beta + n - 1) / (alpha + beta + n - 1)
        return retention * hyp2f1_at_one(beta + n, alpha + beta + n, z)

    # -- simulation ------------------------------------------------------------------------------
    def simulate(self, n_customers: int, n_periods: int, seed: int | None = None) -> np.ndarray:
        """Survivor counts at t = 0, ..., n_periods of a simulated cohort of ``n_customers``.

        Each customer draws theta ~ Beta(alpha, beta) and churns in period T ~ Geometric(theta);
        she is counted at every t < T.  The result can be passed straight to :meth:`fit`.
        """
        alpha, beta = self._param_values()
        if n_periods < 0 or n_periods != int(n_periods):
            raise ValueError("n_periods must be a non-negative whole number")
        rng = np.random.default_rng(seed)
        theta = rng.beta(alpha, beta, n_customers)
        churn = geometric_draws(rng, theta, int(n_periods) + 1)
        lifetimes = np.bincount(churn, minlength=int(n_periods) + 2)
        # survivors at t = number of customers with T > t
        return n_customers - np.cumsum(lifetimes)[: int(n_periods) + 1]
