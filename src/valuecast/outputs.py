"""Writing result files so that a reader never sees half of one: a temporary name, then a rename."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

__all__ = ["write_atomically", "write_csv"]


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder and rename it over ``path``."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        write(temporary)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as a CSV file without its index, written atomically."""
    write_atomically(path, lambda target: frame.to_csv(target, index=False))
