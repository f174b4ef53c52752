"""The models' analytic gradients against central differences, imported by bare name."""

from __future__ import annotations

import numpy as np

from valuecast.models._fitting import numerical_gradient


def assert_analytic_gradient(model, data, weights, points, rtol: float, atol: float) -> None:
    """``model``'s negative log-likelihood gradient equals the numerical one at each point."""
    for point in points:
        log_params = np.log(point)
        _, gradient = model._negative_log_likelihood(log_params, data, weights)
        numeric = numerical_gradient(
            lambda lp: model._negative_log_likelihood(lp, data, weights)[0], log_params
        )
        np.testing.assert_allclose(gradient, numeric, rtol=rtol, atol=atol)
