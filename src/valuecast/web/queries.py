"""The customers table's pages (:mod:`valuecast.web.customers`) and one customer's rows in SQL.

Every statement is text written here; what a request gives (the customer id, the page's ids) is
bound as a parameter.  Nothing a user types becomes SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from valuecast.tables import CUSTOMER_COLUMNS, PAGE_COLUMNS
from valuecast.web.views import records

# columns the customers table shows, in order (all sortable)
LIST_COLUMNS: tuple[str, ...] = PAGE_COLUMNS
SORT_COLUMNS: tuple[str, ...] = CUSTOMER_COLUMNS


@dataclass
class CustomerPage:
    total: int
    rows: list[dict[str, Any]]


def customer_page(
    reading,
    index,
    *,
    query: str | None,
    sort: str,
    descending: bool,
    page: int,
    per_page: int,
) -> CustomerPage:
    """One page of a snapshot's customers with their e-mail, and how many match.

    ``index`` is the snapshot's :class:`~valuecast.web.customers.CustomerIndex`; the page's
    contact e-mails are looked up by its ids, bound as a list parameter, on a reader lent by
    ``reading()`` once the page is known (a first search reads the e-mail table on a reader of
    its own: holding one meanwhile could leave none for it).
    """
    from valuecast.web.customers import any_email

    if sort not in SORT_COLUMNS:
        raise ValueError(f"unknown sort column {sort!r}")
    total, frame = index.page(
        LIST_COLUMNS, query=query or "", sort=sort, descending=descending, page=page,
        per_page=per_page,
    )  # fmt: skip
    emails = {}
    if len(frame):
        with reading() as reader:
            emails = any_email(reader, frame["customer_id"].astype(str).tolist())
    frame["email"] = frame["customer_id"].map(emails).astype("string")
    frame["email"] = _email(frame)
    return CustomerPage(total=int(total), rows=records(frame))


def _email(frame: pd.DataFrame) -> pd.Series:
    """The contact e-mail, else the customer id when it is an e-mail address."""
    ids = frame["customer_id"].astype("string")
    looks = ids.str.contains("@", regex=False).fillna(False).astype(bool)
    return frame["email"].astype("string").fillna(ids.where(looks))


def customer_row(reader, snapshot_id: int, customer_id: str) -> dict[str, Any] | None:
    frame = reader.frame(
        "SELECT * EXCLUDE (snapshot_id) FROM snapshot_customers "
        "WHERE snapshot_id = ? AND customer_id = ?",
        [snapshot_id, customer_id],
    )
    return records(frame)[0] if len(frame) else None


def customer_contact(reader, customer_id: str) -> dict[str, Any]:
    """The customer's contact fields from the customers export; the e-mail, where it gives
    none, of their latest order giving one (:func:`~valuecast.web.customers.any_email`)."""
    from valuecast.web.customers import any_email

    frame = reader.frame(
        "SELECT email, first_name, last_name, phone, city, province, country, zip "
        "FROM customers WHERE customer_id = ? LIMIT 1",
        [customer_id],
    )
    contact = records(frame)[0] if len(frame) else {}
    if not contact.get("email"):
        email = any_email(reader, [customer_id]).get(customer_id)
        if email and email.lower() != customer_id.lower():
            contact["email"] = email
    return contact


ORDER_COLUMNS = (
    "order_id", "order_number", "ordered_at", "order_date", "gross_revenue", "discount",
    "refunded", "net_revenue", "currency", "channel", "discount_code",
)  # fmt: skip
MAX_ORDERS = 500


def customer_orders(reader, customer_id: str, as_of) -> tuple[list[dict[str, Any]], int, int]:
    """The customer's orders (newest first, at most :data:`MAX_ORDERS`) with their products,
    how many the workspace holds, and how many of those were placed by ``as_of``."""
    columns = ", ".join(f"o.{name}" for name in ORDER_COLUMNS)
    frame = reader.frame(
        f"SELECT {columns}, o.order_date > ? AS after_as_of, "
        "(SELECT string_agg(coalesce(nullif(trim(l.product_name), ''), l.sku), ', ' "
        "ORDER BY l.line_number) FROM order_lines l WHERE l.order_id = o.order_id) AS products "
        "FROM orders o WHERE o.customer_id = ? "
        "ORDER BY o.ordered_at DESC, length(o.order_id) DESC, o.order_id DESC LIMIT ?",
        [as_of, customer_id, MAX_ORDERS],
    )
    total, by_as_of = reader.rows(
        "SELECT count(*), count(*) FILTER (WHERE order_date <= ?) FROM orders "
        "WHERE customer_id = ?",
        [as_of, customer_id],
    )[0]
    return records(frame), int(total), int(by_as_of)


def customer_history(reader, customer_id: str) -> list[dict[str, Any]]:
    from valuecast.store.snapshots import customer_history as history

    return records(history(reader, customer_id))
