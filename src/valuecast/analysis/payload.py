"""An analysis payload (summary, tables' records) in the plain JSON types summary.json holds."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def json_ready(payload: Any) -> Any:
    """``payload`` in plain JSON types: numpy scalars as Python numbers, dates as ISO text, and
    a number that is none (NaN, an infinite standard error) as None."""
    return _finite(json.loads(json.dumps(payload, default=_json_default)))


def json_text(payload: Any, indent: int | None = 2) -> str:
    """``payload`` as strict JSON text (:func:`json_ready`'s): no bare ``NaN`` or ``Infinity``,
    which Python reads and a JSON parser (a browser's, a spreadsheet's) refuses."""
    return json.dumps(json_ready(payload), indent=indent, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
