"""Paging, sorting and searching a snapshot's customers in memory.

Measured on a 1M-customer workspace, ``ORDER BY <column>, customer_id LIMIT/OFFSET`` in DuckDB
cost 70-1,100 ms a page (a top-N sort of every customer, string tie-breaks) and a search that
scans the orders' e-mails 350 ms.  So the snapshot's customers table is read once, as Arrow
(a page takes its rows from it), and:

* a sort order is a permutation of the rows (:mod:`valuecast.store.sort_orders`: by the column,
  missing values last, then the lower-cased customer id).  One sort takes 0.1-0.3 s at 1M
  customers, so the snapshot stores the ascending orders of the columns the page shows when it
  is made; a descending order is derived from the ascending one in one pass, and other columns
  (the API sorts by any) are sorted on first use.  A snapshot stored before the orders were
  kept has every order computed on first use;
* the lower-cased customer ids are kept in sorted order, so an id prefix is two binary searches;
* e-mail addresses that differ from the customer id (from the customers export and the orders)
  are kept the same way, read on the first search (:meth:`CustomerIndex.warm` reads them ahead).

A page is then a slice of the permutation.  Nothing a user types reaches SQL or a path.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from valuecast.io.phones import PHONE_ID_PREFIX
from valuecast.store.sort_orders import (
    ID_ORDER,
    StoredOrders,
    ascending_order,
    descending_order,
    id_order,
    sort_values,
)

MAX_SEARCH = 200
MIN_PHONE_QUERY = 4
"""Digits a query of only phone characters needs to be looked up in phone ids too."""
PHONE_CHARACTERS = "0123456789+-(). "
# permutations kept beyond the stored ones: the shown columns descending and a few more
KEEP_ORDERS = 32


class _Keys:
    """Sorted Arrow strings as a sequence of Python strings, for :mod:`bisect`."""

    def __init__(self, keys: pa.Array) -> None:
        self._keys = keys

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, position: int) -> str:
        return self._keys[position].as_py()


def _prefix_range(sorted_keys: _Keys, prefix: str) -> tuple[int, int]:
    low = bisect.bisect_left(sorted_keys, prefix)
    high = bisect.bisect_left(sorted_keys, prefix + "\U0010ffff", lo=low)
    return low, high


def _lower(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    lowered = pc.utf8_lower(values)
    return lowered.combine_chunks() if isinstance(lowered, pa.ChunkedArray) else lowered


def _folded(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """:func:`_lower` with Turkish I's folded as a Turkish merchant types them: İ lowers to i
    and a combining dot, ı stays ı, so that IŞIK, ışık and Işık find one another only as i."""
    lowered = pc.replace_substring(_lower(values), "\u0307", "")
    return pc.replace_substring(lowered, "\u0131", "i")


def _as_shown(table: pa.Table) -> pa.Table:
    """Integer columns with missing values as float64: what pandas makes of the whole column,
    so a page's rows have the types they would have in the whole table."""
    for position, field in enumerate(table.schema):
        if pa.types.is_integer(field.type) and table.column(position).null_count:
            table = table.set_column(
                position, field.name, table.column(position).cast(pa.float64())
            )
    return table


class CustomerIndex:
    """The customers of one snapshot, ready to page (see the module docstring).

    ``table`` is the snapshot's customers table in customer-id order, ``emails`` gives the
    ``customer_id, email`` pairs of :func:`email_table` (called once, on the first search) and
    ``stored`` the ascending sort orders the snapshot stored (none for an older snapshot).
    """

    def __init__(
        self,
        table: pa.Table,
        emails: Callable[[], pd.DataFrame],
        stored: StoredOrders | None = None,
    ) -> None:
        self.table = _as_shown(table)
        # orders of another number of rows are not this table's: sorted on first use instead
        self._stored = stored if stored is not None and stored.rows == len(table) else {}
        if ID_ORDER in self._stored:
            self._id_order = self._stored[ID_ORDER]
        else:
            self._id_order = id_order(self.table["customer_id"])
        self._ids = _Keys(_lower(self.table["customer_id"]).take(pa.array(self._id_order)))
        self._read_emails = emails
        self._emails: tuple[_Keys, np.ndarray] | None = None
        self._orders: OrderedDict[tuple[str, bool], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._emails_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.table)

    @property
    def frame(self) -> pd.DataFrame:
        """The whole customers table as pandas (customer-id order), made on each call."""
        return self.table.to_pandas()

    def order(self, column: str, descending: bool) -> np.ndarray:
        """Row positions sorted by ``column`` (missing last), then lower-cased customer id."""
        if not descending and column != ID_ORDER and column in self._stored:
            return self._stored[column]
        with self._lock:
            found = self._orders.get((column, descending))
            if found is not None:
                self._orders.move_to_end((column, descending))
                return found
        values = sort_values(column, self.table[column])
        if descending:
            permutation = descending_order(self.order(column, False), values)
        else:
            permutation = ascending_order(values, self._id_order)
        with self._lock:
            self._orders[(column, descending)] = permutation
            while len(self._orders) > KEEP_ORDERS:
                self._orders.popitem(last=False)
        return permutation

    def warm(self, columns: tuple[str, ...]) -> None:
        """Read the e-mails (a search waits for them) and compute the sort orders of
        ``columns``, both directions."""
        self.emails()
        for column in columns:
            for descending in (False, True):
                self.order(column, descending)

    def emails(self) -> tuple[_Keys, np.ndarray]:
        """(lower-cased e-mails sorted, the row of each) of :func:`email_table`, read once."""
        with self._emails_lock:
            if self._emails is None:
                self._emails = self._email_index(self._read_emails())
            return self._emails

    def _email_index(self, emails: pd.DataFrame) -> tuple[_Keys, np.ndarray]:
        ids = self.table["customer_id"]
        owners = pa.array(emails["customer_id"].astype(str).tolist(), type=pa.string())
        rows = pc.index_in(owners, value_set=ids)
        known = pc.is_valid(rows)
        keys = _folded(pa.array(emails["email"].astype(str).tolist(), type=pa.string()))
        keys, rows = keys.filter(known), rows.filter(known)
        order = pc.sort_indices(keys)
        return _Keys(keys.take(order)), np.asarray(rows.take(order), dtype=np.int64)

    def search(self, query: str) -> np.ndarray | None:
        """Row positions whose customer id, e-mail or name starts with ``query`` (any case), or
        whose phone id holds the number it dials; None for an empty query (everyone)."""
        text = pc.utf8_lower(pa.scalar((query or "").strip())).as_py()[:MAX_SEARCH]
        if not text:
            return None
        low, high = _prefix_range(self._ids, text)
        by_id = self._id_order[low:high]
        keys, rows = self.emails()
        low, high = _prefix_range(keys, _folded(pa.array([text])).to_pylist()[0])
        found = np.union1d(by_id, rows[low:high])
        digits = "".join(char for char in text if char.isdigit())
        if len(digits) >= MIN_PHONE_QUERY and not text.strip(PHONE_CHARACTERS):
            found = np.union1d(found, self._by_phone(digits))
        return found

    def phone_customers(self) -> int:
        """How many customers are known by a phone number alone, with its country code, that
        can be a number (``phone:+`` ids the Meta and Google files match by the phone; they
        leave out a number no country has, :func:`~valuecast.io.phones.plausible_number`)."""
        from valuecast.io.phones import plausible_number

        ids = self.table["customer_id"]
        prefix = PHONE_ID_PREFIX + "+"
        phones = ids.filter(pc.fill_null(pc.starts_with(ids, prefix), False)).to_pylist()
        return sum(plausible_number(phone[len(prefix) :]) for phone in phones)

    def _by_phone(self, digits: str) -> np.ndarray:
        """Rows of the customers identified by a phone number holding ``digits``: a merchant
        types the number as dialled (``555 0102``, ``(415) 555-0102``), the id holds it with its
        country code (``phone:+14155550102``)."""
        ids = self.table["customer_id"]
        hits = pc.and_(pc.starts_with(ids, PHONE_ID_PREFIX), pc.match_substring(ids, digits))
        return np.flatnonzero(pc.fill_null(hits, False).to_numpy(zero_copy_only=False))

    def page(
        self, columns: tuple[str, ...], *, query: str, sort: str, descending: bool,
        page: int, per_page: int,
    ) -> tuple[int, pd.DataFrame]:  # fmt: skip
        """(matching customers, the rows of ``page`` with ``columns``)."""
        permutation = self.order(sort, descending)
        matches = self.search(query)
        if matches is not None:
            keep = np.zeros(len(self.table), dtype=bool)
            keep[matches] = True
            permutation = permutation[keep[permutation]]
        start = (page - 1) * per_page
        rows = permutation[start : start + per_page]
        shown = self.table.select(list(columns)).take(pa.array(rows, type=pa.int64()))
        return len(permutation), shown.to_pandas()


def email_table(reader) -> pd.DataFrame:
    """``customer_id, email`` pairs the search finds a customer by besides the id: e-mails that
    are not the customer id (contacts and orders), and the contacts' names ("Ana García" and
    "García"), which a merchant types as often as an address."""
    return reader.frame(
        "SELECT DISTINCT customer_id, email FROM ("
        "SELECT customer_id, email FROM customers UNION ALL "
        "SELECT customer_id, email FROM orders UNION ALL "
        "SELECT customer_id, trim(concat_ws(' ', trim(first_name), trim(last_name))) "
        "FROM customers UNION ALL "
        "SELECT customer_id, trim(last_name) FROM customers) "
        "WHERE customer_id IS NOT NULL AND email IS NOT NULL AND trim(email) <> '' "
        "AND lower(trim(email)) <> lower(customer_id)"
    )


def any_email(reader, ids: list[str]) -> dict[str, Any]:
    """The contact e-mail of each of ``ids`` (a bound list): the customers export's, else that
    of the customer's latest order giving one, as the audience files take it
    (:func:`valuecast.store.workspace.contacts_frame`): a shop keyed by customer number with an
    e-mail column has its addresses in the orders alone."""
    rows = reader.rows(
        "SELECT customer_id, any_value(email) FROM customers "
        "WHERE customer_id IN (SELECT unnest(CAST(? AS VARCHAR[]))) AND email IS NOT NULL "
        "AND trim(email) <> '' GROUP BY customer_id",
        [ids],
    )
    found = dict(rows)
    # a customer id that is an e-mail or a phone names the customer's contact itself: only
    # the others (customer numbers) are looked for in the orders, which a page rarely needs
    rest = [i for i in ids if i not in found and "@" not in i and not i.startswith(PHONE_ID_PREFIX)]
    if rest:
        found.update(latest_order_emails(reader, rest))
    return found


def latest_order_emails(reader, ids: list[str]) -> dict[str, str]:
    """The e-mail of the latest order giving one (other than the id itself) of each of ``ids``."""
    rows = reader.rows(
        "SELECT customer_id, arg_max(trim(email), ordered_at) FROM orders "
        "WHERE customer_id IN (SELECT unnest(CAST(? AS VARCHAR[]))) "
        "AND nullif(trim(email), '') IS NOT NULL AND lower(trim(email)) <> lower(customer_id) "
        "GROUP BY customer_id",
        [ids],
    )
    return dict(rows)
