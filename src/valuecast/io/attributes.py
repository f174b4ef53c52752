"""Customer attribute files: any CSV with one row per customer, joined on e-mail.

``valuecast channels --attributes FILE.csv --by-column COL`` groups CLV by a column the shop keeps
elsewhere (a support tickets count, a loyalty tier, a survey answer).  The file needs an
``email`` or ``customer_id`` column (names matched case-insensitively); every other column is
an attribute, read as text.  A key that appears twice is an error naming both rows: give one
row per customer (aggregate tickets into a count first).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from valuecast.io.csvfile import open_csv
from valuecast.io.schema import InputError

__all__ = ["read_attributes"]


def read_attributes(path: str | Path) -> pd.DataFrame:
    """``customer_id`` (trimmed, lower-cased) and the file's other columns as text."""
    csv = open_csv(path)
    key = csv.find("email", "customer_email", "customer_id", "customer")
    if key is None:
        raise InputError(
            csv.name, "needs an email or customer_id column to join on", column="email"
        )
    table = csv.read()
    keys = pc.utf8_lower(table.text(key))
    missing = pc.is_null(keys).to_numpy(zero_copy_only=False)
    if missing.any():
        raise table.error("no e-mail / customer id on this row", int(missing.argmax()), key)
    frame = pd.DataFrame({"customer_id": pd.Series(keys.to_pandas(), dtype="string")})
    again = frame["customer_id"].duplicated()
    if again.any():
        # the first row repeating an id, and that id's first row
        later = int(np.flatnonzero(again.to_numpy(bool))[0])
        customer = frame["customer_id"].iloc[later]
        earlier = int(np.flatnonzero((frame["customer_id"] == customer).to_numpy(bool))[0])
        first, second = table.row(earlier), table.row(later)
        raise InputError(
            csv.name,
            f"{customer} is on rows {first} and {second}: give one row "
            "per customer (e.g. a count of tickets)",
            row=second,
            column=key,
        )
    for name in csv.header:
        if name != key and name not in frame.columns:
            frame[name] = pd.Series(table.text(name).to_pandas(), dtype="string")
    return frame
