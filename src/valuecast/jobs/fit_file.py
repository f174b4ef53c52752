"""Reading a summary table and fitting one model to it: the engine behind ``valuecast fit``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from valuecast.analysis.threads import one_blas_thread
from valuecast.csvsafe import unescape_frame

# accepted column names -> canonical name
_ALIASES = {
    "frequency": "frequency",
    "x": "frequency",
    "recency": "recency",
    "t_x": "recency",
    "T": "T",
    "t": "T",
    "monetary_value": "monetary_value",
    "zbar": "monetary_value",
    "m_x": "monetary_value",
    "avg_repeat_order_value": "monetary_value",  # `valuecast summary --out`
    "weights": "weights",
    "weight": "weights",
    "count": "weights",
    "periods": "n_periods",
    "n_periods": "n_periods",
    "n": "n_periods",
}


ID_COLUMNS = ("customer_id", "ID", "id")
"""The columns that name a summary's rows, which the predictions file gives back (the first)."""


class FitInputError(ValueError):
    """A summary file that cannot be fitted as given (one line, names the file and column)."""


PARQUET_MAGIC = b"PAR1"


def read_summary(path: Path) -> pd.DataFrame:
    """Read a summary table (CSV, or Parquet as ``valuecast summary --out x.parquet`` writes
    it) and rename accepted aliases to the canonical column names.

    ``attrs["first_row"]`` is the row number messages give the first data row: 2 in a CSV
    (under its header), 1 in a Parquet file.
    """
    if not Path(path).is_file():
        raise FitInputError(f"{path}: no such file")
    with open(path, "rb") as file:
        parquet = file.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC
    frame = _read_parquet(path) if parquet else _read_csv(path)
    renamed = {}
    for column in frame.columns:
        key = str(column).strip()
        canonical = _ALIASES.get(key) or _ALIASES.get(key.lower())
        if canonical and canonical not in renamed.values():
            renamed[column] = canonical
    written = [str(column) for column in frame.columns]
    frame = frame.rename(columns=renamed)
    # the file's own names, for messages and the predictions file
    frame.attrs["header"] = written
    frame.attrs["written_as"] = {canonical: str(column) for column, canonical in renamed.items()}
    frame.attrs["first_row"] = 1 if parquet else 2
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        # ids as written: 000123 or NA are not numbers or missing values to guess, and the
        # predictions file gives them back to join on
        header = pd.read_csv(path, nrows=0).columns
        ids = {column: str for column in header if column in ID_COLUMNS}
        frame = pd.read_csv(path, dtype=ids, keep_default_na=False, na_values=[""])
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise FitInputError(f"{path}: not a readable CSV ({str(error).splitlines()[0]})") from None
    return unescape_frame(frame)  # `valuecast summary --out` escapes formula-like text cells


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as error:
        raise FitInputError(
            f"{path}: not a readable Parquet file ({str(error).splitlines()[0]})"
        ) from None
    for column in frame.columns:  # ids as text, as a CSV's are read
        if column in ID_COLUMNS:
            frame[column] = frame[column].astype("string").astype(object)
    return frame


def _numeric_column(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        index = int(np.flatnonzero(bad.to_numpy())[0])
        row = index + frame.attrs["first_row"]
        cell = frame[column].iloc[index]
        written = "an empty cell" if pd.isna(cell) else repr(str(cell))
        raise FitInputError(f"{path}: row {row}, column {column!r}: not a number ({written})")
    return values.to_numpy(dtype=float)


def _survivor_cohorts(frame: pd.DataFrame, path: Path, cohort_size: int) -> dict[str, np.ndarray]:
    """Each survivor column's counts (percentages times ``cohort_size``), by column name."""
    index_names = {"t", "year", "period", "periods", "month", "week", "age"}
    cohorts = {}
    for column in frame.columns:
        if str(column).strip().lower() in index_names:
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        observed = values.dropna().to_numpy(dtype=float)
        if len(observed) < 2:
            raise FitInputError(f"{path}: column {column!r}: needs at least two survivor counts")
        if "pct" in str(column).lower() or "percent" in str(column).lower():
            observed = np.round(observed / 100.0 * cohort_size)
        cohorts[str(column)] = observed
    if not cohorts:
        raise FitInputError(f"{path}: no survivor columns found")
    return cohorts


def fit_summary_file(
    path: Path,
    model: str,
    penalizer: float = 0.0,
    predict: float | None = None,
    cohort_size: int = 1000,
) -> dict[str, Any]:
    """Fit ``model`` (a short name such as ``"bgnbd"``) to the summary CSV at ``path``.

    Returns a JSON-ready dict (model, params, standard_errors, log_likelihood, n, n_distinct,
    notes: what the fit says about the data, such as a limit reached) and, when ``predict`` is
    given, a ``predictions`` DataFrame (one row per input row).
    """
    from valuecast.models.registry import model_class

    path = Path(path)
    frame = read_summary(path)
    estimator = model_class(model)(penalizer=penalizer)
    # what the fit says about its data (a limit reached, no dropout visible) is a note of the
    # result, as in `analyze`, not a Python warning printed with a source line
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        n, columns = _fit(estimator, model, frame, path, cohort_size, predict)
    said = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    notes = list(dict.fromkeys(m for m in said if "encountered in" not in m))  # not NumPy's
    if model == "sbg":
        notes += pooled_cohorts_note(list(_survivor_cohorts(frame, path, cohort_size)))
    fitted_on = int(round(getattr(estimator, "n_customers_", n)))
    if model != "sbg":
        notes += few_customers_note(fitted_on)
    result: dict[str, Any] = {
        "model": type(estimator).__name__,
        "file": str(path),
        "params": estimator.params_,
        "standard_errors": estimator.standard_errors_,
        "log_likelihood": estimator.log_likelihood_,
        "n": fitted_on,
        "n_distinct": int(getattr(estimator, "n_distinct_histories_", 0)),
        "notes": notes,
    }
    if predict is not None:
        result["predictions"] = _predictions(estimator, model, frame, columns, predict, path)
        result["predict_horizon"] = predict
    return result


def few_customers_note(n: int) -> list[str]:
    """A note on a fit of fewer customers than ``analyze`` trusts (its low-confidence rule):
    a fit of one customer printed its estimates and standard errors as any other."""
    from valuecast.analysis.customers import MIN_CUSTOMERS

    if n >= MIN_CUSTOMERS:
        return []
    return [
        f"fitted on {n:,} {'customer' if n == 1 else 'customers'} (fewer than "
        f"{MIN_CUSTOMERS}): the estimates and their standard errors rest on few histories, "
        "which `analyze` flags as low confidence"
    ]


def pooled_cohorts_note(columns: list[str]) -> list[str]:
    """sBG fits several survivor columns as cohorts of one population (one churn law): a note
    naming them, since columns of segments that churn differently (regular and high-end
    customers) each have their own law, fitted one column at a time."""
    if len(columns) < 2:
        return []
    return [
        f"{len(columns)} columns fitted together as cohorts of one population "
        f"({', '.join(columns)}): for segments that may churn differently, fit a file of one "
        "column each"
    ]


MAX_NAMES_SHOWN = 12
"""Column names an error lists at most: an orders export's 80 would fill the screen."""


def _fit(estimator, model: str, frame: pd.DataFrame, path: Path, cohort_size: int, predict):
    """Fit ``estimator`` on ``frame``'s columns; the customers fitted and the columns read."""
    from valuecast.models.registry import MODELS

    columns: dict[str, np.ndarray] = {}
    if model == "sbg":
        if predict is not None:
            raise FitInputError(f"{path}: --predict is not available for sbg (use the Python API)")
        cohorts = list(_survivor_cohorts(frame, path, cohort_size).values())
        with one_blas_thread():
            estimator.fit(cohorts if len(cohorts) > 1 else cohorts[0])
        n = float(sum(cohort[0] for cohort in cohorts))
    else:
        inputs = MODELS[model].inputs
        missing = [c for c in inputs if c not in frame.columns]
        if missing:
            *others, last = [alias for alias, name in _ALIASES.items() if name == missing[0]]
            names = f"{', '.join(others)} or {last}" if others else last
            found = frame.attrs.get("header", list(map(str, frame.columns)))
            shown = ", ".join(found[:MAX_NAMES_SHOWN])
            if len(found) > MAX_NAMES_SHOWN:
                shown += f", ... ({len(found):,} in all)"
            summary_hint = ""
            if not {"frequency", "recency", "T", "n_periods"} & set(frame.columns):
                # an orders export given to fit: the per-customer table is a command away
                summary_hint = (
                    f"; fit reads one row per customer: `valuecast summary {path} --out "
                    "summary.csv` writes that from an export"
                )
            raise FitInputError(
                f"{path}: column {missing[0]!r} is missing (name it {names}; found: "
                f"{shown}){summary_hint}"
            )
        if frame.empty:
            raise FitInputError(f"{path}: no rows after the header: nothing to fit")
        columns = {c: _numeric_column(frame, c, path) for c in inputs}
        weights = _numeric_column(frame, "weights", path) if "weights" in frame.columns else None
        if "frequency" in columns and "recency" in columns:
            # repeat purchases at the moment of the first: the likelihood grows without bound
            instant = np.flatnonzero((columns["frequency"] > 0) & (columns["recency"] <= 0))
            if len(instant):
                row = int(instant[0]) + frame.attrs["first_row"]
                recency = frame.attrs.get("written_as", {}).get("recency", "recency")
                raise FitInputError(
                    f"{path}: row {row}, column {recency!r}: 0 with frequency "
                    f"{columns['frequency'][instant[0]]:g}: repeat purchases come after the "
                    "first, so their recency is above 0 (count repeat purchase days, as "
                    "`valuecast summary` does)"
                )
        fitted = _gamma_gamma_rows(columns, frame, path) if model == "gg" else None
        fit_columns = [c if fitted is None else c[fitted] for c in columns.values()]
        if weights is not None and fitted is not None:
            weights = weights[fitted]
        with one_blas_thread():
            estimator.fit(*fit_columns, weights=weights)
        n = float(weights.sum()) if weights is not None else float(len(fit_columns[0]))
    return n, columns


def _gamma_gamma_rows(columns: dict[str, np.ndarray], frame: pd.DataFrame, path: Path):
    """The rows the spend model can be fitted on: a repeat purchase of no value (free orders, or
    refunds netted to 0 or less) has no Gamma-distributed spend.  ``analyze`` leaves such
    customers out of the spend fit; so does ``fit``, with a note naming the first row, where it
    refused a summary that ``valuecast summary --out`` wrote for such a shop."""
    unpriced = _unpriced(columns["frequency"], columns["monetary_value"])
    if not unpriced.any():
        return None
    row = int(np.flatnonzero(unpriced)[0]) + frame.attrs["first_row"]
    column = frame.attrs.get("written_as", {}).get("monetary_value", "monetary_value")
    count = int(unpriced.sum())
    warnings.warn(
        f"{path}: {count:,} {'row' if count == 1 else 'rows'} with repeat purchases of value 0 "
        f"or less (the first: row {row}, column {column!r}) left out of the fit, as `analyze` "
        "leaves them out; their expected_average_value is empty",
        RuntimeWarning,
        stacklevel=2,
    )
    return ~unpriced


def _unpriced(frequency: np.ndarray, monetary_value: np.ndarray) -> np.ndarray:
    """Per row, repeat purchases of no value, which the spend model is not fitted on."""
    return (frequency > 0) & (monetary_value <= 0)


def _predictions(estimator, model, frame, columns, horizon, path) -> pd.DataFrame:
    from valuecast.models.registry import SELECTABLE

    out = pd.DataFrame(index=frame.index)
    for key in ID_COLUMNS:
        if key in frame.columns:
            out[key] = frame[key]
            break
    else:  # rows without an id (a compressed table) are told apart by what was fitted
        written_as = frame.attrs.get("written_as", {})
        for name in (*columns, "weights"):
            if name in frame.columns:
                out[written_as.get(name, name)] = frame[name]
    if model in SELECTABLE:
        f, r, t = columns["frequency"], columns["recency"], columns["T"]
        out["probability_alive"] = estimator.probability_alive(f, r, t)
        out["expected_transactions"] = estimator.expected_transactions(horizon, f, r, t)
    elif model == "bgbb":
        f, r, n = columns["frequency"], columns["recency"], columns["n_periods"]
        out["probability_alive"] = estimator.probability_alive(f, r, n)
        out["expected_transactions"] = estimator.expected_transactions(horizon, f, r, n)
    elif model == "gg":
        f, m = columns["frequency"], columns["monetary_value"]
        priced = ~_unpriced(f, m)
        value = np.full(len(f), np.nan)
        value[priced] = estimator.expected_average_value(f[priced], m[priced])
        out["expected_average_value"] = value
    else:
        raise FitInputError(f"{path}: --predict is not available for {model}")
    return out
