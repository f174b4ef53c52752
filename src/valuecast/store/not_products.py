"""The workspace's non-product names: the order line names and SKUs the merchant said are no
product (``--not-product``), kept in the workspace (one row a name).

Affinity, next products, reminders and every customer's ``first_product`` leave out shipping,
fees and tips by a built-in list (:mod:`valuecast.analysis.growth.non_products`); a shop's own
lines of that kind (``House Blend Coffee Beans 12oz`` given away as a sample, an app's fee under
a name of its own) are named once, to any command that takes ``--not-product``, and every
later analysis, refresh, report and product command leaves them out too.  A name given later
is added to those kept (:func:`with_names_added`); ``--clear-not-products`` forgets them.  The
dashboard's Products page edits the whole list, and keeps the names it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from valuecast.store.workspace import connection_table_names

__all__ = [
    "NOT_PRODUCTS_TABLE",
    "drop_not_products",
    "kept_not_products",
    "not_product_names",
    "store_not_products",
    "with_names_added",
]

NOT_PRODUCTS_TABLE = "not_products"


def not_product_names(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` as the workspace keeps them: inner spaces collapsed, blanks and repeats (in any
    case) left out, in the order of their lower-case text, so that one list is kept and recorded
    in one way whatever order it was given in."""
    kept: dict[str, str] = {}
    for name in names:
        text = " ".join(str(name).split())
        if text:
            kept.setdefault(text.lower(), text)
    return tuple(kept[key] for key in sorted(kept))


def with_names_added(kept: Iterable[str], given: Iterable[str]) -> tuple[str, ...]:
    """The names ``kept`` with ``given`` added, as the workspace keeps them: a merchant names one
    more fee or sample at a time, and each command's ``--not-product`` adds to those named
    before (a name given again is kept once)."""
    return not_product_names([*kept, *given])


def store_not_products(workspace, names: Iterable[str]) -> tuple[str, ...]:
    """Keep ``names`` as the workspace's non-product names, replacing those kept before; the
    names as kept (:func:`not_product_names`)."""
    kept = not_product_names(names)
    raw = workspace.raw
    raw.execute(
        f"CREATE TABLE IF NOT EXISTS {NOT_PRODUCTS_TABLE} (name VARCHAR, given_at TIMESTAMP)"
    )
    raw.execute(f"DELETE FROM {NOT_PRODUCTS_TABLE}")
    if kept:
        now = datetime.now(UTC).replace(tzinfo=None)
        raw.executemany(
            f"INSERT INTO {NOT_PRODUCTS_TABLE} VALUES (?, ?)", [[name, now] for name in kept]
        )
    return kept


def drop_not_products(workspace) -> tuple[str, ...]:
    """Forget the workspace's non-product names (``--clear-not-products``); the names it kept."""
    kept = kept_not_products(workspace)
    if kept:
        workspace.raw.execute(f"DELETE FROM {NOT_PRODUCTS_TABLE}")
    return kept


def kept_not_products(workspace) -> tuple[str, ...]:
    """The non-product names the workspace keeps (:func:`not_product_names`), none without."""
    # on the connection: the dashboard starts without loading Ibis' backend
    raw = workspace.raw
    if NOT_PRODUCTS_TABLE not in connection_table_names(raw):
        return ()
    rows = raw.execute(f"SELECT name FROM {NOT_PRODUCTS_TABLE}").fetchall()
    return not_product_names(row[0] for row in rows)
