"""MBG/NBD model: Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of
models for customer base analysis", *International Journal of Research in Marketing* 24(3),
201-209.

The BG/NBD of Fader, Hardie & Lee (2005) with one change: the dropout coin (``p ~ Beta(a, b)``)
is also tossed right after the first purchase, so a customer with no repeat purchase may already
be gone. The shared implementation lives in :mod:`valuecast.models._beta_geo_common`.
"""

from __future__ import annotations

from valuecast.models._beta_geo_common import BetaGeoFamily

__all__ = ["ModifiedBetaGeo"]


class ModifiedBetaGeo(BetaGeoFamily):
    """The MBG/NBD model (Batislam et al. 2007), parameters ``r, alpha, a, b``.

    Same inputs and methods as :class:`valuecast.models.BetaGeo`. The likelihood (their eq. 4) is

        L = Gamma(r+x) alpha^r / Gamma(r) [ B(a, b+x+1)/B(a,b) (alpha+T)^-(r+x)
                                          + B(a+1, b+x)/B(a,b) (alpha+t_x)^-(r+x) ],

    P(alive) is ``1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))`` for every ``x`` (including
    0), and the expectations use ``Beta(a, b+x+1)`` for the posterior of ``p``.
    """

    _shift = 1
    _first_chance = "after their first purchase"
    _label = "MBG/NBD"
