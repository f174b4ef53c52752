"""Time-invariant covariates in the purchase and dropout processes of the history models.

Parameterisation of P. S. Fader & B. G. S. Hardie (2007), "Incorporating time-invariant
covariates into the Pareto/NBD and BG/NBD models", the one CLVTools uses, so coefficients are
comparable with it: customer ``i`` with purchase covariates ``x_i`` and dropout covariates
``z_i`` has

* ``alpha_i = alpha exp(-gamma_purchase . x_i)`` (every model: a positive coefficient means
  more purchases, since the purchase rate's mean is ``r / alpha_i``);
* Pareto/NBD and GGompertz/NBD: ``beta_i = beta exp(-gamma_dropout . z_i)`` (a positive
  coefficient means a higher dropout rate, mean ``s / beta_i``);
* BG/NBD and MBG/NBD: ``a_i = a exp(gamma_dropout . z_i)``, ``b_i = b exp(gamma_dropout . z_i)``
  (the mean dropout probability ``a/(a+b)`` is unchanged; a positive coefficient concentrates
  it, ``a_i + b_i`` grows).

Given its own parameters, a customer's likelihood is the plain model's, so the fit groups the
distinct histories by covariate pattern and evaluates the plain likelihood (with its analytic
gradient) once per pattern at the pattern's parameters; the chain rule through ``log alpha_i``
etc. gives the coefficients' gradient.  The cost grows with the number of distinct covariate
patterns: categorical and binary covariates (a channel, a discount code, a yes/no flag) have
few; a continuous covariate is best binned.  Predictions run the plain formulas per pattern.

A covariate column that is constant over the fitted customers (all zero, say) cannot be told
apart from the base parameters: its coefficient is reported as 0 with no standard error, and
the fit is the plain model's.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from valuecast.models._fitting import (
    LOG_EDGE,
    ArrayLike,
    HistoryModel,
    compress_histories,
    distinct_histories,
    numerical_gradient,
    prepare_weights,
    require_repeat_purchases,
    validate_rfm,
)

__all__ = [
    "CovariateModel",
    "PatternData",
    "accepts_covariates",
    "covariate_matrix",
    "pattern_groups",
]

PROCESSES = ("purchase", "dropout")


def covariate_matrix(
    values: Any, name: str, names: tuple[str, ...] | None = None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """``values`` (DataFrame, Series or 2-d array, one row per customer) as a float matrix.

    Returns the matrix and its column names (a DataFrame's columns, ``x0, x1, ...`` for an
    array).  With ``names`` (a fitted model's), a DataFrame's columns are taken in that order and
    an array must have that many columns.
    """
    if values is None:
        return np.zeros((1, 0)), ()
    if isinstance(values, pd.Series):
        values = values.to_frame()
    if isinstance(values, pd.DataFrame):
        columns = tuple(str(c) for c in values.columns)
        if names is not None:
            missing = [c for c in names if c not in columns]
            if missing:
                raise ValueError(f"{name} lacks the fitted column(s) {missing}")
            values = values.loc[:, list(names)]
            columns = names
        matrix = values.to_numpy(dtype=float)
    else:
        matrix = np.asarray(values, dtype=float)
        if matrix.ndim == 1:
            matrix = matrix.reshape(-1, 1)
        if matrix.ndim != 2:
            raise ValueError(f"{name} must be two-dimensional (one row per customer)")
        columns = tuple(f"x{j}" for j in range(matrix.shape[1]))
        if names is not None:
            if matrix.shape[1] != len(names):
                raise ValueError(
                    f"{name} has {matrix.shape[1]} column(s); the model was fitted with "
                    f"{len(names)} ({', '.join(names)})"
                )
            columns = names
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return matrix, columns


def accepts_covariates(*per_customer: int) -> Callable:
    """Make a prediction method accept ``purchase_covariates=`` and ``dropout_covariates=``.

    ``per_customer`` are the positions (after ``self``) of the arguments with one value per
    customer.  Without covariates the method runs as written; with them it runs once per
    distinct covariate pattern, at the pattern's own parameters (see :class:`CovariateModel`).
    """

    def decorate(method: Callable) -> Callable:
        signature = inspect.signature(method)

        @functools.wraps(method)
        def wrapper(self, *args, purchase_covariates=None, dropout_covariates=None, **kwargs):
            if purchase_covariates is None and dropout_covariates is None:
                self._require_no_covariates()
                return method(self, *args, **kwargs)
            # customer columns given by name are placed by position, to be split by pattern;
            # the options after them (a seed) are passed by name
            bound = signature.bind(self, *args, **kwargs)
            names = list(signature.parameters)[1:]
            cut = max(per_customer) + 1
            options = {n: bound.arguments[n] for n in names[cut:] if n in bound.arguments}
            positional = [bound.arguments[n] for n in names[:cut] if n in bound.arguments]
            return self._by_pattern(
                method, positional, options, per_customer, purchase_covariates, dropout_covariates
            )

        return wrapper

    return decorate


class PatternData:
    """The distinct histories of a fit grouped by covariate pattern.

    ``groups`` holds, per pattern, a worker (a shallow copy of the model, so that a likelihood's
    per-fit cache belongs to one pattern), the plain likelihood's data and the weights;
    ``X``, ``Z`` the patterns' covariate rows; ``pooled`` the plain model's data and weights on
    all histories, for its start values.
    """

    def __init__(self, model, x, t_x, T, weights, X, Z):
        self.groups = []
        rows_by_pattern = pattern_groups(np.column_stack([X, Z]))
        self.X = X[[rows[0] for rows in rows_by_pattern]]
        self.Z = Z[[rows[0] for rows in rows_by_pattern]]
        for rows in rows_by_pattern:
            worker = copy.copy(model)  # its own __dict__, so its own likelihood cache
            data = worker._prepare(x[rows], t_x[rows], T[rows], weights[rows])
            self.groups.append((worker, data, weights[rows]))
        (ux, ut, uT), counts = distinct_histories(x, t_x, T, weights=weights)
        self.pooled = (model._prepare(ux, ut, uT, counts), counts)


def pattern_groups(design: np.ndarray) -> list[np.ndarray]:
    """The row indices of each group of identical rows of ``design``, one array per group."""
    n = len(design)
    if design.shape[1] == 0:
        return [np.arange(n)]
    _, _, codes = compress_histories(*design.T)
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    return np.split(order, starts[1:])


class CovariateModel(HistoryModel):
    """A history model whose purchase and dropout processes may depend on customer covariates.

    Subclasses name which log parameters each process's covariates shift and with which sign:
    ``_covariate_targets = {"purchase": (("alpha", -1.0),), "dropout": (("beta", -1.0),)}``
    (module docstring).
    """

    _covariate_targets: Mapping[str, tuple[tuple[str, float], ...]] = {}

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
        *,
        purchase_covariates: Any = None,
        dropout_covariates: Any = None,
        l2: float = 0.0,
    ):
        """Fit by maximum likelihood, with optional covariates in each process.

        ``purchase_covariates`` and ``dropout_covariates``: DataFrames (column names become the
        coefficient names) or 2-d arrays (``x0, x1, ...``), one row per customer.  ``l2`` is a
        ridge penalty on the coefficients only, added to the *mean* negative log-likelihood as
        ``l2 * sum(gamma^2)`` (CLVTools' ``reg.lambdas`` on both processes; the total
        log-likelihood is thus penalised by ``n_customers * l2 * sum(gamma^2)``).  Fitted:
        ``params_`` (the base parameters), ``coefficients_`` and
        ``coefficient_standard_errors_`` (``{"purchase": {name: value}, "dropout": {...}}``),
        ``standard_errors_``, ``log_likelihood_``.
        """
        l2 = float(l2)
        if not np.isfinite(l2) or l2 < 0:
            raise ValueError("l2 must be a non-negative number")
        x, t_x, T = validate_rfm(frequency, recency, T)
        matrices = {
            process: self._fit_covariates(values, process, len(x))
            for process, values in zip(
                PROCESSES, (purchase_covariates, dropout_covariates), strict=True
            )
        }
        self.l2_ = l2
        self.covariate_names_ = {process: matrices[process][1] for process in PROCESSES}
        counted = prepare_weights(weights, len(x))
        free = {p: _varying_columns(matrices[p][0], counted) for p in PROCESSES}
        self.estimated_covariates_ = {
            p: tuple(self.covariate_names_[p][j] for j in free[p]) for p in PROCESSES
        }
        if not any(len(f) for f in free.values()):
            # constant columns are not identified: the fit is the plain model's, coefficients 0
            return super().fit(x, t_x, T, weights)
        X = matrices["purchase"][0][:, free["purchase"]]
        Z = matrices["dropout"][0][:, free["dropout"]]
        columns, counts = distinct_histories(x, t_x, T, *X.T, *Z.T, weights=weights)
        require_repeat_purchases(columns[0], counts, type(self).__name__)
        kp = X.shape[1]
        stacked = np.column_stack(columns[3:]) if len(columns) > 3 else np.zeros((len(counts), 0))
        data = PatternData(self, *columns[:3], counts, stacked[:, :kp], stacked[:, kp:])
        try:
            self._fit_compressed(data, counts)
        finally:
            self.__dict__.pop("_pairs_cache", None)
            self.__dict__.pop("_warm_coefficients", None)
        return self

    def _fit_covariates(self, values: Any, process: str, n: int) -> tuple[np.ndarray, tuple]:
        """One process's covariates for a fit on ``n`` customers: matrix and column names."""
        if values is None:
            return np.zeros((n, 0)), ()
        matrix, names = covariate_matrix(values, f"{process}_covariates")
        if matrix.shape[0] != n:
            raise ValueError(
                f"{process}_covariates has {matrix.shape[0]} rows but the data has {n}"
            )
        if names and process not in self._covariate_targets:
            raise ValueError(f"{type(self).__name__} takes no {process} covariates")
        return matrix, names

    # -- the likelihood over covariate patterns ---------------------------------------------------
    def _plain_data(self, data, weights) -> tuple:
        if isinstance(data, PatternData):
            return data.pooled
        return data, weights

    def _start_coefficients(self, data) -> np.ndarray:
        if not isinstance(data, PatternData):
            return np.zeros(0)
        start = getattr(self, "_warm_coefficients", None)
        k = data.X.shape[1] + data.Z.shape[1]
        return np.zeros(k) if start is None or len(start) != k else np.asarray(start, float)

    def _shift_matrix(self, n_purchase: int, n_dropout: int) -> np.ndarray:
        """(k, n_base) matrix M with log-parameter shifts of the patterns = covariates @ gamma @ M.

        Row j is coefficient j's effect on each log parameter per unit of its covariate.
        """
        n_base = len(self._param_names)
        matrix = np.zeros((n_purchase + n_dropout, n_base))
        for process, rows in (("purchase", range(n_purchase)), ("dropout", range(n_dropout))):
            offset = 0 if process == "purchase" else n_purchase
            for name, sign in self._covariate_targets.get(process, ()):
                matrix[[offset + j for j in rows], self._param_names.index(name)] = sign
        return matrix

    def _pattern_shifts(self, X: np.ndarray, Z: np.ndarray, coefficients: np.ndarray):
        """Log-parameter shifts of each pattern (rows) and the (k, n_base) shift matrix."""
        kp, kd = X.shape[1], Z.shape[1]
        matrix = self._shift_matrix(kp, kd)
        design = np.column_stack([X, Z])
        shifts = (design * coefficients) @ matrix
        return shifts, matrix, design

    def _total_nll(self, theta, data, weights):
        if not isinstance(data, PatternData):
            return super()._total_nll(theta, data, weights)
        n_base = len(self._param_names)
        base, coefficients = theta[:n_base], theta[n_base:]
        shifts, matrix, design = self._pattern_shifts(data.X, data.Z, coefficients)
        results = self._pattern_likelihoods(data.groups, base + shifts)
        total = float(sum(value for value, _ in results))
        by_pattern = np.array([gradient for _, gradient in results])
        # d shift_g / d gamma_j = design_gj * matrix_j
        coefficient_gradient = np.einsum("gj,jp,gp->j", design, matrix, by_pattern)
        return total, np.concatenate([by_pattern.sum(axis=0), coefficient_gradient])

    def _identified_coefficients(self, fixed: set[str], coefficients: np.ndarray) -> list[bool]:
        """Coefficients held at a limit, with no standard error: those all of whose targets
        stand for a limit (the dropout ones when nobody drops out), and those on the edge of the
        search box (a covariate level that drives its customers to a limit of their own, e.g.
        a dropout probability of 0 on a shop without visible dropout)."""
        by_target = [
            not all(name in fixed for name, _ in self._covariate_targets.get(process, ()))
            for process in PROCESSES
            for _ in self.estimated_covariates_[process]
        ]
        inside = np.abs(coefficients) < LOG_EDGE
        return [bool(a and b) for a, b in zip(by_target, inside, strict=True)]

    def _pattern_likelihoods(self, groups: list, log_params: np.ndarray) -> list:
        """``(value, gradient)`` of each pattern's plain negative log-likelihood at its row of
        ``log_params``; a model may evaluate the patterns together (Pareto/NBD does)."""
        out = []
        for (worker, data, weights), point in zip(groups, log_params, strict=True):
            value, gradient = worker._negative_log_likelihood(point, data, weights)
            if gradient is None:
                gradient = numerical_gradient(
                    lambda p, w=worker, d=data, q=weights: w._negative_log_likelihood(p, d, q)[0],
                    point,
                )
            out.append((value, gradient))
        return out

    def _set_coefficients(self, values: np.ndarray, variances: np.ndarray) -> None:
        names = self._covariate_names()
        estimated = getattr(self, "estimated_covariates_", names)
        self.coefficients_ = {p: dict.fromkeys(names[p], 0.0) for p in PROCESSES}
        self.coefficient_standard_errors_ = {p: dict.fromkeys(names[p], np.nan) for p in PROCESSES}
        position = 0
        for process in PROCESSES:
            for name in estimated[process]:
                self.coefficients_[process][name] = float(values[position])
                # a held coefficient (at a limit) has zero variance: no standard error
                variance = variances[position]
                self.coefficient_standard_errors_[process][name] = (
                    float(np.sqrt(variance)) if variance > 0 else np.nan
                )
                position += 1

    def estimated_coefficient_vector(self) -> np.ndarray:
        """The estimated coefficients in the fit's order (purchase, then dropout)."""
        return np.array(
            [
                self.coefficients_[p][name]
                for p in PROCESSES
                for name in self.estimated_covariates_[p]
            ]
        )

    def refit(self, *columns: ArrayLike, weights: ArrayLike, **options: Any):
        """:meth:`BaseModel.refit`; a model fitted with covariates needs them again."""
        named = [p for p, names in self._covariate_names().items() if names]
        missing = [p for p in named if options.get(f"{p}_covariates") is None]
        if missing:
            raise ValueError(
                f"{type(self).__name__} was fitted with {' and '.join(missing)} covariates: "
                "pass them to refit"
            )
        return super().refit(*columns, weights=weights, **options)

    # -- predictions --------------------------------------------------------------------------
    def with_params(
        self,
        params: dict[str, float],
        coefficients: Mapping[str, Mapping[str, float]] | None = None,
    ):
        """A copy predicting with ``params`` and, if given, these covariate ``coefficients``
        (``{"purchase": {name: value}, "dropout": {...}}``; their names become the covariates
        that predictions require)."""
        clone = super().with_params(params)
        if coefficients is not None:
            clone.coefficients_ = {
                p: {str(k): float(v) for k, v in coefficients.get(p, {}).items()} for p in PROCESSES
            }
            clone.covariate_names_ = {p: tuple(clone.coefficients_[p]) for p in PROCESSES}
        return clone

    def _covariate_names(self) -> dict[str, tuple[str, ...]]:
        return getattr(self, "covariate_names_", {p: () for p in PROCESSES})

    def _require_no_covariates(self) -> None:
        """A model fitted with covariates predicts only for customers whose covariates it is given."""
        named = [p for p, names in self._covariate_names().items() if names]
        if named and hasattr(self, "params_"):
            raise ValueError(
                f"{type(self).__name__} was fitted with {' and '.join(named)} covariates: pass "
                + " and ".join(f"{p}_covariates=" for p in named)
            )

    def _require_covariates_fitted(self, given: Mapping[str, Any]) -> None:
        """The covariates of a prediction are those of the fit, process by process: one given
        that the fit had not has no coefficients to apply (ignoring it would predict as if it
        were not given), and one missing that the fit had leaves its customers' parameters
        unknown."""
        named = [p for p, names in self._covariate_names().items() if names]
        extra = [p for p in PROCESSES if given[p] is not None and p not in named]
        if extra:
            fitted = (
                f"with {' and '.join(named)} covariates only" if named else "without covariates"
            )
            raise ValueError(
                f"{type(self).__name__} was fitted {fitted}: "
                + " and ".join(f"{p}_covariates=" for p in extra)
                + " cannot be applied (fit the model with them to predict with them)"
            )
        if any(given[p] is None for p in named):
            raise ValueError(
                f"{type(self).__name__} was fitted with {' and '.join(named)} covariates: pass "
                + " and ".join(f"{p}_covariates=" for p in named)
            )

    def _individual_model(self, x_row: np.ndarray, z_row: np.ndarray):
        """A copy predicting with the parameters of customers with covariates ``x_row, z_row``.

        Each parameter is multiplied by ``exp(shift)``, so a customer whose covariates are all
        zero gets exactly the fitted parameters.
        """
        names = self._covariate_names()
        gammas = [self.coefficients_[p][name] for p in PROCESSES for name in names[p]]
        shifts, _, _ = self._pattern_shifts(x_row[None], z_row[None], np.asarray(gammas))
        clone = copy.copy(self)
        clone.params_ = {
            name: self.params_[name] * float(np.exp(shift))
            for name, shift in zip(self._param_names, shifts[0], strict=True)
        }
        clone.covariate_names_ = {p: () for p in PROCESSES}
        return clone

    def _by_pattern(self, method, args, kwargs, per_customer, purchase, dropout):
        """``method`` per distinct covariate pattern, on its customers, spread back.

        Covariates with one row apply to every customer; customer columns given as scalars stay
        scalars, unless the covariates alone have several rows (a new customer per row, say):
        then the first customer argument is repeated for each.
        """
        self._check_fitted()
        names = self._covariate_names()
        self._require_covariates_fitted({"purchase": purchase, "dropout": dropout})
        X, _ = covariate_matrix(purchase, "purchase_covariates", names["purchase"])
        Z, _ = covariate_matrix(dropout, "dropout_covariates", names["dropout"])
        args = list(args)
        positions = [i for i in per_customer if i < len(args)]
        arrays = [i for i in positions if np.size(args[i]) > 1]
        for i in arrays:
            args[i] = np.asarray(args[i], dtype=float).reshape(-1)
        lengths = {len(X), len(Z), *(len(args[i]) for i in arrays)}
        n = max(lengths)
        if not lengths <= {1, n}:
            raise ValueError(f"covariates and customer columns disagree in length ({lengths})")
        widen = positions[0] if not arrays and n > 1 else None
        X = np.broadcast_to(X, (n, X.shape[1]))
        Z = np.broadcast_to(Z, (n, Z.shape[1]))
        groups = pattern_groups(np.column_stack([X, Z]))
        seeds = _pattern_seeds(kwargs.get("seed"), len(groups))
        pieces = []
        for rows, seed in zip(groups, seeds, strict=True):
            sub = [a[rows] if i in arrays else a for i, a in enumerate(args)]
            if widen is not None:
                sub[widen] = np.full(len(rows), float(np.asarray(sub[widen]).reshape(-1)[0]))
            call_kwargs = dict(kwargs, seed=seed) if "seed" in kwargs else kwargs
            model = self._individual_model(X[rows[0]], Z[rows[0]])
            pieces.append((rows, method(model, *sub, **call_kwargs)))
        return _assemble(pieces, n)


def _pattern_seeds(seed, n_groups: int) -> list:
    """One seed per pattern: the given one for a single pattern, independent streams otherwise."""
    if n_groups == 1 or seed is None:
        return [seed] * n_groups
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n_groups)]


def _assemble(pieces: list, n: int):
    """The per-pattern results put back in customer order (customers on the last axis)."""
    first = pieces[0][1]
    if isinstance(first, pd.DataFrame):
        frame = pd.concat([result.set_axis(rows) for rows, result in pieces]).sort_index()
        return frame.reset_index(drop=True)
    first = np.asarray(first)
    out = np.empty(first.shape[:-1] + (n,), dtype=first.dtype)
    for rows, result in pieces:
        out[..., rows] = result
    return out


def _varying_columns(matrix: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Indices of the columns that are not constant over the rows with positive weight."""
    used = matrix[weights > 0]
    if not len(used):
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.any(used != used[0], axis=0))
