"""The canonical tables every importer produces, and the error type for bad input.

Importers (one module per source format in :mod:`valuecast.io`) read a merchant's export and return
an :class:`ImportResult` holding pandas DataFrames with exactly these columns and dtypes; the engine
(:mod:`valuecast.store`) writes them into the workspace.  Nothing downstream reads raw files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from valuecast.errors import ValuecastError
from valuecast.tables import CONTACT_FIELDS

if TYPE_CHECKING:
    import pyarrow as pa

MAX_AMOUNT = 1e12
"""The largest amount an order or a cell may hold, either sign, inclusive (in its currency):
importers refuse larger ones, and the engine's exact money keys rely on the bound."""


def amount_text(value: float) -> str:
    """An amount as an error message shows it: with thousands separators and cents, or, far
    beyond :data:`MAX_AMOUNT` (a cell of ``1e308``), in six significant digits rather than a line
    of hundreds of digits."""
    return f"{value:,.2f}" if abs(value) < 1e18 else f"{value:.6g}"


# column -> pandas dtype.  Strings are pandas' nullable "string"; money is float64 in the
# order's currency (after --fx conversion: the base currency).
ORDERS_SCHEMA: dict[str, str] = {
    "order_id": "string",  # unique across sources: f"{source}:{order_number}"
    "source": "string",  # shopify | magento | woocommerce | orders | cdnow
    "order_number": "string",  # the raw order number / name as written in the export
    "customer_id": "string",  # lower-cased trimmed email (or the mapped id); <NA> for guests
    "email": "string",
    "is_guest": "boolean",
    "ordered_at": "datetime64[us]",  # timestamp as written (local wall-clock time, no tz shift)
    "order_date": "datetime64[us]",  # local calendar date as written (midnight)
    "gross_revenue": "float64",
    "discount": "float64",
    "tax": "float64",
    "shipping": "float64",
    "refunded": "float64",
    "net_revenue": "float64",
    "currency": "string",
    "channel": "string",
    "discount_code": "string",
    "accepts_marketing": "boolean",
}

ORDER_LINES_SCHEMA: dict[str, str] = {
    "order_id": "string",
    "line_number": "int64",
    "sku": "string",
    "product_name": "string",
    "quantity": "float64",
    "unit_price": "float64",
    "line_discount": "float64",
}

CUSTOMERS_SCHEMA: dict[str, str] = {
    "customer_id": "string",
    "email": "string",
    "first_name": "string",
    "last_name": "string",
    "phone": "string",
    "city": "string",
    "province": "string",
    "country": "string",
    "zip": "string",
    "accepts_marketing": "boolean",
    "tags": "string",
    "created_at": "datetime64[us]",
}

ORDER_CONTACTS_SCHEMA: dict[str, str] = {
    "order_id": "string",
    **{name: CUSTOMERS_SCHEMA[name] for name in CONTACT_FIELDS if name != "email"},
}
"""The contact fields an order carries (its billing address, else its shipping address), kept for
each customer's latest order: the audience files' names, phones and places where no customers
export gives them (:func:`valuecast.io._build.latest_contacts`)."""

ADDRESS_FIELDS: tuple[str, ...] = ("city", "province", "country", "zip")
"""The contact fields of an address, taken together from one address of an order."""

CONTACT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("first_name", "last_name"),
    ("phone",),
    ADDRESS_FIELDS,
)
"""The contact fields taken together, each from the customer's latest order that gives it: the
name, the phone, the address (so that a city and a zip are of one address)."""

SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
    "datetime64[us]": "TIMESTAMP",
    "float64": "DOUBLE",
    "int64": "BIGINT",
}
"""The SQL type of each column type of the schemas above (as the workspace stores them)."""


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal (single quotes, an inner one doubled)."""
    return "'" + text.replace("'", "''") + "'"


def empty_frame(schema: Mapping[str, Any]) -> pd.DataFrame:
    """No rows, the schema's columns and dtypes (names or dtype objects)."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in schema.items()})


def _missing(name: str, dtype: str, index: pd.Index) -> pd.Series:
    """An all-missing column of ``dtype``: NaN for floats, NaT for timestamps, <NA> otherwise."""
    if dtype == "float64":
        return pd.Series(float("nan"), index=index, dtype=dtype)
    if dtype.startswith("datetime64"):
        return pd.Series(pd.NaT, index=index, dtype=dtype)
    if dtype == "int64" and len(index):
        raise ValueError(f"column {name!r} is missing and int64 has no missing value")
    return pd.Series(pd.NA, index=index, dtype=dtype)


def conform(frame: pd.DataFrame, schema: dict[str, str]) -> pd.DataFrame:
    """Return ``frame`` with exactly the schema's columns (missing ones all-null), in order and typed."""
    out = pd.DataFrame(index=frame.index)
    for name, dtype in schema.items():
        if name not in frame.columns:
            out[name] = _missing(name, dtype, frame.index)
            continue
        column = frame[name]
        out[name] = (
            column.astype(dtype)
            if dtype != "datetime64[us]"
            else pd.to_datetime(column).astype(dtype)
        )
    return out.reset_index(drop=True)


class InputError(ValuecastError, ValueError):
    """Bad input: rendered as one line naming the file, the row and the column."""

    def __init__(
        self,
        file: str,
        message: str,
        row: int | None = None,
        column: str | None = None,
        key: str | None = None,
    ) -> None:
        """``key``: the row's order id as ``"column value"``, where its row number alone does
        not find it (a database table's rows have no order of their own)."""
        message = " ".join(str(message).splitlines())  # always one line
        self.file, self.row, self.column, self.message = str(file), row, column, message
        where = [self.file]
        if row is not None:
            where.append(f"row {row}" if key is None else f"row {row} ({key})")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}")


@dataclass(frozen=True)
class StagedRows:
    """Canonical orders an importer staged on a DuckDB connection to the workspace's database
    (:mod:`valuecast.io.orders_duckdb`) instead of frames: the names of the temporary views
    holding them (with exactly the columns of ``ORDER_LINES_SCHEMA``, and of ``ORDERS_SCHEMA``
    but those in ``derived``; every order has an ``order_id``, every line is of one of the
    orders, and an order's lines are numbered once each), their row counts, and
    ``derived``: SQL over the orders view's columns of the other ``ORDERS_SCHEMA`` columns,
    computed where it is read.  The views and the tables they read go with the connection."""

    orders: str
    order_lines: str
    n_orders: int
    n_lines: int
    derived: Mapping[str, str] = field(default_factory=dict)


@dataclass
class ImportResult:
    """What one importer read from one file.

    ``rows_read`` counts data rows in the file (header excluded); every row is either used or
    counted in ``excluded`` under a named reason (e.g. ``"cancelled"``, ``"test order"``),
    counted in *rows* of the file; ``excluded_orders`` counts the same by *orders*.
    """

    file: str
    format: str
    rows_read: int
    orders: pd.DataFrame
    order_lines: pd.DataFrame
    customers: pd.DataFrame
    excluded: Counter = field(default_factory=Counter)
    excluded_orders: Counter = field(default_factory=Counter)
    excluded_revenue: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    # one row per excluded order: order_number, order_id, reason, rows, gross_revenue (its rows
    # added up, where they are an order's parts), refunded, currency (``excluded_revenue`` sums
    # gross_revenue by reason; kept so --fx can convert it)
    excluded_detail: pd.DataFrame | None = None
    # set when the orders and lines are in the workspace's connection (then the frames are empty)
    staged: StagedRows | None = None
    # the phones rows carried beside their customer: distinct (phone_id, customer_id) pairs
    # (:func:`valuecast.io._build.phone_links`); None when the file has no phones
    phone_links: pd.DataFrame | None = None
    # the symbol of several currencies (``$``) the file's amounts are written with, where
    # nothing names their currency (:meth:`valuecast.io.csvfile.Table.written_symbol`)
    written_symbol: str | None = None
    # phones written beside their customer, not yet normalised (``customer_id``, ``phone``,
    # ``country``, an Arrow table): DuckDB's route leaves them to the store, which normalises
    # only those a customer known by a phone alone may share
    phone_cells: pa.Table | None = None
    # the contact fields of each customer's latest counted order that carries any
    # (``ORDER_CONTACTS_SCHEMA``; :func:`valuecast.io._build.latest_contacts`), a frame, or an
    # Arrow table from DuckDB's route; None when the file carries none
    order_contacts: pd.DataFrame | pa.Table | None = None
    # the customers named by a phone without its country code (``phone:07700900123``, distinct;
    # :func:`valuecast.io.generic.national_phone_ids`), which ``notes`` counts: the store counts
    # again those it does not name by the one stored number with its country they can be
    national_phones: pd.Series | None = None

    @property
    def order_count(self) -> int:
        """The counted orders read, wherever they are held."""
        return self.staged.n_orders if self.staged is not None else len(self.orders)

    @property
    def line_count(self) -> int:
        return self.staged.n_lines if self.staged is not None else len(self.order_lines)

    def release_rows(self) -> None:
        """Replace the orders, lines and customers read by empty frames of the same columns.

        For a caller done with the rows once they are stored (the counts live on in the ingest
        report): their memory, Arrow strings that DuckDB read without copying, is freed now
        rather than when the result goes out of scope.
        """
        for name in ("orders", "order_lines", "customers"):
            setattr(self, name, empty_frame(getattr(self, name).dtypes.to_dict()))
        self.order_contacts = None
