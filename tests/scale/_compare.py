"""Customers tables from two engines: numbers equal to a relative 1e-9, everything else exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuecast.tables import CUSTOMER_COLUMNS


def _plain(values: pd.Series) -> list:
    """Python values with every missing value as None and dates/timestamps as dates."""
    out = []
    for value in values.astype(object):
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            out.append(None)
        elif isinstance(value, pd.Timestamp):
            out.append(value.date())
        elif isinstance(value, np.integer | np.bool_):
            out.append(value.item())
        else:
            out.append(value)
    return out


def max_relative_deviation(left: pd.DataFrame, right: pd.DataFrame) -> dict[str, float]:
    """Assert the tables agree; returns the largest relative deviation per float column."""
    assert tuple(left.columns) == CUSTOMER_COLUMNS == tuple(right.columns)
    left = left.sort_values("customer_id").reset_index(drop=True)
    right = right.sort_values("customer_id").reset_index(drop=True)
    assert len(left) == len(right) > 0
    deviations = {}
    for column in CUSTOMER_COLUMNS:
        a, b = left[column], right[column]
        if pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            assert np.array_equal(np.isnan(x), np.isnan(y)), f"{column}: missing values differ"
            known = ~np.isnan(x)
            np.testing.assert_allclose(y[known], x[known], rtol=1e-9, atol=0, err_msg=column)
            scale = np.maximum(np.abs(x[known]), np.finfo(float).tiny)
            deviations[column] = float(np.max(np.abs(x[known] - y[known]) / scale, initial=0.0))
        else:
            plain_a, plain_b = _plain(a), _plain(b)
            differ = [i for i, (u, v) in enumerate(zip(plain_a, plain_b, strict=True)) if u != v]
            assert not differ, (
                f"{column}: {len(differ)} rows differ, e.g. "
                f"{[(left.customer_id[i], plain_a[i], plain_b[i]) for i in differ[:3]]}"
            )
    return deviations
