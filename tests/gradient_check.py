"""The models' analytic gradients against central differences, imported by bare name."""

from __future__ import annotations

import numpy as np

from valuecast.models._fitting import numerical_gradient


def assert_analytic_gradient(model, data, weights, points, rtol: float, atol: float) -> None:
    """``model``'s negative log-likelihood gradient equals the numerical one at each point."""
    for point in points:
        assert_objective_gradient(
            lambda lp: model._negative_log_likelihood(lp, data, weights),
            np.log(point),
            rtol=rtol,
            atol=atol,
        )


def assert_objective_gradient(objective, theta, rtol: float, atol: float) -> None:
    """``objective(theta)`` returns ``(value, gradient)``: the gradient equals the numerical one."""
    _, gradient = objective(theta)
    numeric = numerical_gradient(lambda point: objective(point)[0], np.asarray(theta, float))
    np.testing.assert_allclose(gradient, numeric, rtol=rtol, atol=atol)
