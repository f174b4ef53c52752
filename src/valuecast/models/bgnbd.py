"""BG/NBD model: Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative
to the Pareto/NBD model", *Marketing Science* 24(2), 275-284.

While alive, a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``; after
every repeat purchase they drop out for good with probability ``p ~ Beta(a, b)``. The shared
implementation (likelihood with analytic gradient, predictions, simulation) lives in
:mod:`valuecast.models._beta_geo_common`.
"""

from __future__ import annotations

from valuecast.models._beta_geo_common import BetaGeoFamily

__all__ = ["BetaGeo"]


class BetaGeo(BetaGeoFamily):
    """The BG/NBD model (FHL 2005), parameters ``r, alpha, a, b``.

    Inputs are per customer: ``frequency`` (repeat purchases ``x``), ``recency`` (time of the
    last one, ``t_x``) and ``T`` (length of observation), all from the first purchase and in one
    time unit, which the parameters inherit (``alpha`` is a time scale).

    Methods: :meth:`fit`, :meth:`log_likelihood_per_customer` (FHL eq. 6),
    :meth:`probability_alive` (eq. 11 / Hardie note 021), :meth:`expected_transactions` (eq. 10),
    :meth:`expected_transactions_new` (eq. 9), :meth:`probability_of_n_purchases` (eq. 8),
    :meth:`median_time_to_next_purchase`, :meth:`discounted_expected_residual_transactions`,
    :meth:`simulate`.
    """

    _shift = 0
    _label = "BG/NBD"
