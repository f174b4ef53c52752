"""SQL on a workspace's raw DuckDB connection, shared by the store's modules of an ingest
(:mod:`valuecast.store.workspace`, :mod:`valuecast.store.identities`): a query's rows, the tables
the connection holds, the columns the orders table computes and those it stores in their place,
and white space as a regular expression's class.

Kept apart so that the identity steps of an ingest use them without importing the workspace
module that calls those steps.
"""

from __future__ import annotations

from typing import Any

# An order's id is its source and its number (valuecast.io._build.orders_frame), so a workspace
# computes it where it is read instead of storing it: at 3.1M orders, storing it took 0.5 s of
# the 3.4 s of CPU DuckDB spends compressing the rows, and 29 MB of the 142 MB file.  Workspaces
# made before store it: the columns a table stores are read from the table (stored_columns).
# An order's e-mail is most often its customer id (a shop that keys its customers by e-mail, and
# the importers' rule for an id that is an e-mail address), so the table stores a flag for that
# and the e-mail only where it is another (STORED_IN_PLACE): a copy of every id costs 0.5 s of
# CPU and 13 MB of the file at 3.1M orders.
COMPUTED = {
    "orders": {
        "order_id": "source || ':' || order_number",
        "email": "CASE WHEN email_is_customer_id THEN customer_id ELSE other_email END",
    }
}
# The columns a table stores for one it computes: (type, SQL over the table's columns as an
# ingest stages them), in the order they follow the table's columns
STORED_IN_PLACE = {
    "orders": {
        "email_is_customer_id": ("BOOLEAN", "coalesce(email = customer_id, false)"),
        "other_email": ("VARCHAR", "CASE WHEN email IS DISTINCT FROM customer_id THEN email END"),
    }
}


def sql(raw: Any, query: str, params: list | None = None) -> list[tuple]:
    """Run ``query`` on the raw DuckDB connection and fetch every row.

    DuckDB 2 refuses further work on a connection whose last result was not fully fetched.
    """
    return raw.execute(query, params).fetchall() if params else raw.execute(query).fetchall()


def connection_table_names(raw: Any) -> set[str]:
    """Names of the tables and views of DuckDB connection ``raw`` (no Ibis backend needed)."""
    # information_schema directly: Ibis 12's list_tables calls a cursor method DuckDB 2 lacks
    rows = sql(raw, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")
    return {row[0] for row in rows}


def stored_columns(raw: Any, table: str, layout: str | None = None) -> dict[str, str]:
    """The columns the workspace's ``table`` stores (``ingest_id`` aside), in its order, each
    with its SQL over the columns of ``table`` as an ingest stages them: the column itself, or
    for a column stored in place of a computed one its formula (:data:`STORED_IN_PLACE` of
    ``layout``, by default ``table``: a stage is laid out as its table).  Read from the table:
    a workspace made before a column was computed stores it."""
    columns = sql(
        raw,
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = "
        "current_database() AND table_schema = 'main' AND table_name = ? "
        "AND is_generated <> 'ALWAYS' AND column_name <> 'ingest_id' ORDER BY ordinal_position",
        [table],
    )
    in_place = STORED_IN_PLACE.get(layout or table, {})
    return {name: in_place[name][1] if name in in_place else name for (name,) in columns}


SPACES_SQL = r"[\s\p{Z}]"
"""White space, as a class of DuckDB's regular expressions: the spaces trimmed from an id or an
e-mail cell."""
