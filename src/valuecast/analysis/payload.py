"""An analysis payload (summary, tables' records) in the plain JSON types summary.json holds."""

from __future__ import annotations

import json
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
    """``payload`` in plain JSON types: numpy scalars as Python numbers, dates as ISO text."""
    return json.loads(json.dumps(payload, default=_json_default))
