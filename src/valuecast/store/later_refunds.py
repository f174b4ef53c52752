"""Refunds an export books under an earlier export's order number, in rows of their own.

An accounting log or an admin export written by date holds a refund in the period it is paid
back: the sale's rows in one quarter's file, the refund's (a negative amount under the sale's
order id) in the next.  Read alone, the later file's rows are an order of a negative amount,
which its importer leaves out: it cannot tell them from a return booked as an order of its own.
Where the workspace (or another file of the same ingest) holds the sale, they are its
refund, netted with it as one file's rows are: the order keeps its sale's date and is excluded
as ``refunded`` when nothing of it is left.

Only an excluded order of refund rows alone is such a refund (its rows added up are all it
refunds): a version of the order with a sale row of its own is the order as that export writes
it, and replaces the stored one as any newer version does.  The netted refunds are kept in
``later_refunds``, so that the same refund read again (the next export overlaps this one, or
the file is saved again) is not taken off twice; a newer version of the order itself, its
sale's rows read again, replaces the stored order and the refunds netted with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from valuecast.io._build import NEGATIVE_AMOUNT, REFUNDED, ZERO_AMOUNT
from valuecast.store.rawsql import sql

TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS later_refunds (order_id VARCHAR, refunded DOUBLE, ingest_id BIGINT)"
)


@dataclass
class NettedRefunds:
    """What :func:`net_refunds` did: the refunds it took off stored orders (their order
    numbers, in file order, and amount), those of them that left nothing of their order (now
    excluded as refunded; ``in_full_stored`` of them stored by an earlier ingest), and the
    refunds an earlier ingest had already netted.  ``ids``: every order id of those refunds,
    which are then no excluded order of their own; ``per_file``: their (orders, rows, amount)
    per file position, taken off the files' exclusions."""

    netted: list[str] = field(default_factory=list)
    refunded: float = 0.0
    in_full: list[str] = field(default_factory=list)
    in_full_stored: int = 0
    in_full_rows: int = 0  # the refunds' rows of the others (orders of this ingest's files)
    seen: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    per_file: dict[int, tuple[int, int, float]] = field(default_factory=dict)

    def note(self) -> str | None:
        """The ingest's note on them, or None when there were none."""
        parts = []
        if self.netted:
            count = len(self.netted)
            listed = _listed(self.netted)
            refunds, take = ("refund", "takes") if count == 1 else ("refunds", "take")
            parts.append(
                f"{count:,} {refunds} under the order {'number' if count == 1 else 'numbers'} "
                f"of earlier orders ({listed}) {take} {self.refunded:,.2f} off them, as rows of "
                "one file would"
            )
            if self.in_full:
                n = len(self.in_full)
                parts.append(
                    f"{n:,} {'order' if n == 1 else 'orders'} so refunded in full "
                    f"({_listed(self.in_full)}) {'is' if n == 1 else 'are'} now excluded as "
                    "refunded"
                )
        if self.seen:
            count = len(self.seen)
            parts.append(
                f"{count:,} {'refund' if count == 1 else 'refunds'} of earlier orders "
                f"({_listed(self.seen)}) {'was' if count == 1 else 'were'} netted by an earlier "
                "ingest and not taken off again"
            )
        return "; ".join(parts) if parts else None


def _listed(numbers: list[str]) -> str:
    more = f" and {len(numbers) - 3:,} more" if len(numbers) > 3 else ""
    return ", ".join(numbers[:3]) + more


def refund_rows(every: pd.DataFrame | None) -> pd.DataFrame | None:
    """The excluded orders of refund rows alone, each order once, as the last file excluding it
    writes it (``order_id``, ``order_number``, ``refund``: a positive amount, ``rows``,
    ``_file``); ``every``: the ingest's excluded orders with ``_file`` (None: there are none)."""
    if every is None or "refunded" not in every:
        return None
    alone = (
        (every["reason"] == NEGATIVE_AMOUNT)
        & every["order_id"].notna()
        & ((every["gross_revenue"] + every["refunded"]).abs() < ZERO_AMOUNT)
    )
    rows = every[alone.fillna(False).to_numpy(bool)]
    if not len(rows):
        return None
    rows = rows.drop_duplicates("order_id", keep="last")
    return pd.DataFrame(
        {
            "order_id": rows["order_id"].astype("string"),
            "order_number": rows["order_number"].astype("string"),
            "refund": rows["refunded"].astype("float64"),
            "rows": rows["rows"].astype("int64"),
            "_file": rows["_file"].astype("int64"),
        }
    )


def forget_replaced(raw: Any, direct: bool) -> None:
    """Drop the netted refunds of the orders this ingest stores anew (``_stage_orders``): the
    newer version of an order replaces the stored one, and the refunds netted with it."""
    if direct or not sql(raw, "SELECT 1 FROM later_refunds LIMIT 1"):
        return
    sql(raw, "DELETE FROM later_refunds WHERE order_id IN (SELECT order_id FROM _stage_orders)")


def net_refunds(
    raw: Any,
    refunds: pd.DataFrame | None,
    ingest_id: int,
    counted_later: set[str],
    direct: bool,
) -> NettedRefunds:
    """Take each refund of :func:`refund_rows` off the stored order of its id (stored by an
    earlier ingest, or by a file of this one), unless a later file of this ingest counts that
    order with refunds of its own (``counted_later``: its version stands) or an earlier ingest
    netted the same refund.  Orders left at nothing (or below) are removed and excluded as refunded.
    ``direct``: the stage was written into the empty orders table (else ``_stage_orders``,
    which the ingest report counts, is netted too, and ``_new_orders`` tells the orders new to
    the workspace)."""
    out = NettedRefunds()
    if refunds is None:
        return out
    refunds = refunds[~refunds["order_id"].isin(counted_later)]
    if not len(refunds):
        return out
    raw.register("_refunds_in", refunds)
    try:
        sql(
            raw,
            "CREATE OR REPLACE TEMP TABLE _refunds AS SELECT r.order_id, r.order_number, "
            "r.refund, r.rows, r._file, o.net_revenue - r.refund AS left_over, "
            + ("false" if direct else "r.order_id NOT IN (SELECT order_id FROM _new_orders)")
            + " AS stored_before, "
            "EXISTS (SELECT 1 FROM later_refunds l WHERE l.order_id = r.order_id "
            "AND abs(l.refunded - r.refund) < $1) AS seen "
            # a refund that left nothing of its order was netted all the same
            "FROM _refunds_in r LEFT JOIN orders o ON o.order_id = r.order_id "
            "WHERE o.order_id IS NOT NULL OR seen",
            [ZERO_AMOUNT],
        )
    finally:
        raw.unregister("_refunds_in")
    found = sql(
        raw,
        "SELECT order_id, order_number, refund, rows, _file, left_over, stored_before, seen "
        "FROM _refunds ORDER BY _file, order_number",
    )
    if not found:
        sql(raw, "DROP TABLE _refunds")
        return out
    sql(
        raw,
        "UPDATE orders SET refunded = coalesce(orders.refunded, 0) + r.refund, "
        "net_revenue = orders.net_revenue - r.refund, ingest_id = $1 "
        "FROM _refunds r WHERE orders.order_id = r.order_id AND NOT r.seen",
        [ingest_id],
    )
    gone = "SELECT order_id FROM _refunds WHERE NOT seen AND left_over < $1"
    if not direct:  # the orders of this ingest's files, as its report counts them
        sql(
            raw,
            "UPDATE _stage_orders SET refunded = coalesce(_stage_orders.refunded, 0) + r.refund, "
            "net_revenue = _stage_orders.net_revenue - r.refund "
            "FROM _refunds r WHERE _stage_orders.order_id = r.order_id AND NOT r.seen",
        )
        sql(raw, f"DELETE FROM _stage_orders WHERE order_id IN ({gone})", [ZERO_AMOUNT])
    sql(
        raw,
        "INSERT INTO later_refunds SELECT order_id, refund, $1 FROM _refunds WHERE NOT seen",
        [ingest_id],
    )
    sql(raw, f"DELETE FROM order_lines WHERE order_id IN ({gone})", [ZERO_AMOUNT])
    sql(raw, f"DELETE FROM orders WHERE order_id IN ({gone})", [ZERO_AMOUNT])
    sql(
        raw,
        "INSERT INTO withdrawn_orders SELECT order_id, $2, $3 FROM _refunds "
        "WHERE NOT seen AND left_over < $1 AND stored_before",
        [ZERO_AMOUNT, REFUNDED, ingest_id],
    )
    sql(raw, "DROP TABLE _refunds")
    for order_id, number, refund, rows, position, left_over, stored_before, seen in found:
        out.ids.add(str(order_id))
        orders, counted_rows, amount = out.per_file.get(int(position), (0, 0, 0.0))
        out.per_file[int(position)] = (orders + 1, counted_rows + int(rows), amount - refund)
        if seen:
            out.seen.append(str(number))
            continue
        out.netted.append(str(number))
        out.refunded += float(refund)
        if left_over < ZERO_AMOUNT:
            out.in_full.append(str(number))
            out.in_full_stored += bool(stored_before)
            out.in_full_rows += 0 if stored_before else int(rows)
    return out
