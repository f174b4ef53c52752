"""Writing result files so that a reader never sees half of one: a temporary name, then a rename.

Every CSV valuecast writes goes through :func:`write_csv` (pandas frames),
:func:`write_arrow_csv` (Arrow tables) or :func:`write_ibis_csv` (database tables), so every one
follows the formula-safe cell rule of :mod:`valuecast.csvsafe`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from valuecast.csvsafe import escape_arrow, escape_frame, escape_ibis

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["csv_text", "write_arrow_csv", "write_atomically", "write_csv", "write_ibis_csv"]


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder and rename it over ``path``."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        write(temporary)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as formula-safe CSV text without its index (for downloads)."""
    return escape_frame(frame).to_csv(index=False)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as a formula-safe UTF-8 CSV file without its index, written atomically."""
    safe = escape_frame(frame)
    write_atomically(path, lambda target: safe.to_csv(target, index=False, encoding="utf-8"))


def write_arrow_csv(table: pa.Table, path: Path) -> None:
    """An Arrow table as a formula-safe CSV file (fields quoted where CSV needs it), atomically."""
    import pyarrow.csv as pacsv

    safe = escape_arrow(table)
    options = pacsv.WriteOptions(quoting_style="needed")
    write_atomically(path, lambda target: pacsv.write_csv(safe, target, options))


def write_ibis_csv(con: Any, table: Any, path: Path) -> None:
    """An Ibis table expression as a formula-safe CSV file, written by its backend, atomically."""
    safe = escape_ibis(table)
    write_atomically(path, lambda target: con.to_csv(safe, target))
