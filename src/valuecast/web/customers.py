"""Paging, sorting and searching a snapshot's customers in memory.

Measured on a 1M-customer workspace, ``ORDER BY <column>, customer_id LIMIT/OFFSET`` in DuckDB
cost 70-1,100 ms a page (a top-N sort of every customer, string tie-breaks) and a search that
scans the orders' e-mails 350 ms.  The snapshot's customers table is read once anyway for the
charts (:class:`~valuecast.web.views.SnapshotView`), so it is kept, and:

* a sort order is a permutation of the rows (``numpy.lexsort`` on the column, missing values
  last, then the customer id); one takes 0.1-0.3 s at 1M customers, so the server computes both
  ways of every column the page shows when it builds the latest snapshot's view, at start-up and
  after an upload (:meth:`CustomerIndex.warm`, 4 bytes a customer each): the first click on a
  column header is a slice like any other page; other columns (the API sorts by any) are
  computed on first use;
* the customer ids are kept lower-cased and sorted, so an id prefix is two binary searches;
* e-mail addresses that differ from the customer id (from the customers export and the orders)
  are kept the same way, read once per snapshot.

A page is then a slice of the permutation.  Nothing a user types reaches SQL or a path.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd

MAX_SEARCH = 200
# permutations kept: the shown columns both ways (see warm()) and a few more
KEEP_ORDERS = 32


def _prefix_range(sorted_keys: np.ndarray, prefix: str) -> tuple[int, int]:
    low = int(np.searchsorted(sorted_keys, prefix, side="left"))
    high = int(np.searchsorted(sorted_keys, prefix + "\U0010ffff", side="left"))
    return low, high


class CustomerIndex:
    """The customers of one snapshot, ready to page (see the module docstring)."""

    def __init__(self, customers: pd.DataFrame, emails: pd.DataFrame) -> None:
        self.frame = customers.reset_index(drop=True)
        ids = self.frame["customer_id"].astype(str).str.lower().to_numpy(dtype=object)
        self._id_order = np.argsort(ids, kind="stable")
        self._ids = ids[self._id_order].astype(str)
        # each row's rank by customer id: the tie-break of every order
        self._id_rank = np.empty(len(ids), dtype=np.int64)
        self._id_rank[self._id_order] = np.arange(len(ids))
        position = pd.Series(np.arange(len(ids)), index=self.frame["customer_id"].astype(str))
        position = position[~position.index.duplicated()]
        emails = emails[emails["customer_id"].astype(str).isin(position.index)]
        keys = emails["email"].astype(str).str.lower().to_numpy(dtype=object)
        rows = position.loc[emails["customer_id"].astype(str)].to_numpy(dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        self._emails, self._email_rows = keys[order].astype(str), rows[order]
        self._orders: OrderedDict[tuple[str, bool], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.frame)

    def _key(self, column: str, descending: bool) -> tuple[np.ndarray, np.ndarray]:
        """(missing flag, sort key) for ``column``: numbers, dates, booleans or text ranks."""
        values = self.frame[column]
        missing = values.isna().to_numpy(dtype=bool)
        if pd.api.types.is_bool_dtype(values) or str(values.dtype) == "boolean":
            key = values.astype("float64").to_numpy(dtype=float, na_value=np.nan)
        elif pd.api.types.is_numeric_dtype(values):
            key = values.to_numpy(dtype=float, na_value=np.nan)
        elif pd.api.types.is_datetime64_any_dtype(values):
            key = values.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)
        else:  # text, and calendar dates held as objects: rank of the sorted distinct values
            codes, _ = pd.factorize(values, sort=True, use_na_sentinel=True)
            key = codes.astype(float)
        key = np.where(missing, 0.0, key)
        return missing, (-key if descending else key)

    def order(self, column: str, descending: bool) -> np.ndarray:
        """Row positions sorted by ``column`` (missing last), then customer id."""
        with self._lock:
            found = self._orders.get((column, descending))
            if found is not None:
                self._orders.move_to_end((column, descending))
                return found
        missing, key = self._key(column, descending)
        permutation = np.lexsort((self._id_rank, key, missing))
        if len(permutation) < 2**31:
            permutation = permutation.astype(np.int32)
        with self._lock:
            self._orders[(column, descending)] = permutation
            while len(self._orders) > KEEP_ORDERS:
                self._orders.popitem(last=False)
        return permutation

    def warm(self, columns: tuple[str, ...]) -> None:
        """Compute the sort orders of ``columns``, both directions."""
        for column in columns:
            for descending in (True, False):
                self.order(column, descending)

    def search(self, query: str) -> np.ndarray | None:
        """Row positions whose customer id or e-mail starts with ``query`` (any case); None
        for an empty query (everyone)."""
        text = (query or "").strip().lower()[:MAX_SEARCH]
        if not text:
            return None
        low, high = _prefix_range(self._ids, text)
        by_id = self._id_order[low:high]
        low, high = _prefix_range(self._emails, text)
        return np.union1d(by_id, self._email_rows[low:high])

    def page(
        self, columns: tuple[str, ...], *, query: str, sort: str, descending: bool,
        page: int, per_page: int,
    ) -> tuple[int, pd.DataFrame]:  # fmt: skip
        """(matching customers, the rows of ``page`` with ``columns``)."""
        permutation = self.order(sort, descending)
        matches = self.search(query)
        if matches is not None:
            keep = np.zeros(len(self.frame), dtype=bool)
            keep[matches] = True
            permutation = permutation[keep[permutation]]
        start = (page - 1) * per_page
        rows = permutation[start : start + per_page]
        return len(permutation), self.frame.iloc[rows][list(columns)].reset_index(drop=True)


def email_table(reader) -> pd.DataFrame:
    """``customer_id, email`` pairs whose e-mail is not the customer id (contacts and orders)."""
    return reader.frame(
        "SELECT DISTINCT customer_id, email FROM ("
        "SELECT customer_id, email FROM customers UNION ALL "
        "SELECT customer_id, email FROM orders) "
        "WHERE customer_id IS NOT NULL AND email IS NOT NULL AND trim(email) <> '' "
        "AND lower(trim(email)) <> lower(customer_id)"
    )


def any_email(reader, ids: list[str]) -> dict[str, Any]:
    """The contact e-mail of each of ``ids`` (a bound list), from the customers export."""
    rows = reader.rows(
        "SELECT customer_id, any_value(email) FROM customers "
        "WHERE customer_id IN (SELECT unnest(CAST(? AS VARCHAR[]))) AND email IS NOT NULL "
        "GROUP BY customer_id",
        [ids],
    )
    return dict(rows)
