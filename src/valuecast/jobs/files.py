"""Summaries of export files without a workspace: ``valuecast summary FILE...``.

An analyst who only wants the per-customer summary of an orders file should not have to build a
workspace first.  :func:`summarize_files` gives the same summary that ``valuecast ingest`` then
``valuecast summary`` would, computed in an in-memory DuckDB:

* **direct route** — one large orders CSV (``--format orders``) that DuckDB's CSV reader parses
  with exactly the importer's rules (:mod:`valuecast.io.orders_duckdb`) is summarised where it was
  parsed, without copying the orders through Python (the rows of one order id, e.g. a line-level
  log's lines, are grouped there too);
* **general route** — everything else (several files, other formats, ``--fx``, or a file with any
  cell the fast reader leaves to the general reader): the importers read the files, an in-memory
  workspace ingests them, and the summary runs on it.

Either way the rows left out are counted by reason in :attr:`FileSummary.excluded_rows`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from os import PathLike
from pathlib import Path
from typing import Any

import ibis.expr.types as ir

from valuecast.analysis.summary import (
    CustomerSummary,
    NoOrdersError,
    every_order_excluded,
    summarize,
)
from valuecast.store.connection import connect_duckdb

__all__ = ["FileSummary", "summarize_files"]

_ORDERS_VIEW = "_direct_orders"


@dataclass
class FileSummary:
    """The summary of some files, with the connection it lives on (close it when done)."""

    summary: CustomerSummary
    con: Any
    route: str  # "direct" or "workspace"
    rows_read: int
    orders: int
    excluded_rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """What reading the files noticed, as the ingest report says it (a status column left
    unread, a report's title skipped, ...), each note naming its file."""

    @property
    def table(self) -> ir.Table:
        return self.summary.table

    def close(self) -> None:
        self.con.disconnect()


def _direct(path: Path, column_map, as_of, calibration_end) -> FileSummary | None:
    """The direct route, or ``None`` when the file needs the general route."""
    from valuecast.io import generic, orders_duckdb
    from valuecast.io.csvfile import CsvFile, is_parquet, open_csv

    if is_parquet(path):
        return None
    mapping = generic.parse_column_map(column_map)
    csv = open_csv(path)
    if not isinstance(csv, CsvFile) or not orders_duckdb.usable(csv, mapping):
        return None
    cols = generic.resolve_columns(csv, mapping)
    if generic.cents_columns(cols, mapping):  # the importer reads them
        return None
    con = connect_duckdb(None)
    raw = con.con
    raw.execute("SET preserve_insertion_order = false")  # no row order is needed here
    keep = False
    try:
        attributes = any(cols[key] for key in ("channel", "discount_code", "accepts_marketing"))
        found: dict[str, Any] = {}
        loaded = orders_duckdb.load_rows(
            raw, csv, cols, generic.AMOUNT_KEYS, pair_hash=attributes, found=found
        )
        if not loaded:
            return None
        rows = orders_duckdb.ROWS_TABLE
        keyed = cols["order_id"] is not None
        checks = [
            "count(*)",
            "count(*) FILTER (WHERE filled)",
            "count(DISTINCT currency)" if cols["currency"] else "0",
            # orders of one customer at the same time are told apart by their numbers
            "count(DISTINCT pair_hash) FILTER (WHERE filled)"
            if attributes and not keyed
            else "NULL",
        ]
        n_rows, filled, currencies, pairs = raw.execute(
            f"SELECT {', '.join(checks)} FROM {rows}"
        ).fetchall()[0]
        if currencies > 1 or (pairs is not None and pairs != filled):
            return None
        if not orders_duckdb.group_orders(raw, cols):
            return None
        grouped = orders_duckdb.ORDERS_TABLE
        order_id = "'orders:' || order_id" if keyed else "CAST(NULL AS VARCHAR)"
        optional = {
            key: key
            if cols[key]
            else f"CAST(NULL AS {'BOOLEAN' if key == 'accepts_marketing' else 'VARCHAR'})"
            for key in ("channel", "discount_code", "accepts_marketing")
        }
        raw.execute(
            f"CREATE OR REPLACE TEMP VIEW {_ORDERS_VIEW} AS SELECT customer AS customer_id, "
            "CAST(ordered_at AS DATE) AS order_date, ordered_at, revenue AS net_revenue, "
            f"{order_id} AS order_id, "
            + ", ".join(f"{sql} AS {key}" for key, sql in optional.items())
            + f" FROM {grouped} WHERE reason IS NULL"
        )
        try:
            summary = summarize(
                con.table(_ORDERS_VIEW), as_of=as_of, calibration_end=calibration_end
            )
        except NoOrdersError as error:
            orders = f"SELECT reason, count(*) FROM {grouped} WHERE reason IS NOT NULL GROUP BY 1"
            raise every_order_excluded(error, dict(raw.execute(orders).fetchall())) from None
        excluded = dict(
            raw.execute(
                f"SELECT reason, sum(rows) FROM {grouped} WHERE reason IS NOT NULL GROUP BY reason"
            ).fetchall()
        )
        if n_rows > filled:
            excluded["empty row"] = n_rows - filled
        excluded = {str(reason): int(count) for reason, count in sorted(excluded.items())}
        counted = raw.execute(f"SELECT count(*) FROM {grouped} WHERE reason IS NULL").fetchall()
        keep = True
        # the excluded orders the importer's notes name (by order id where the file has one)
        numbers = "order_id" if keyed else "CAST(NULL AS VARCHAR)"
        left_out = raw.execute(
            f"SELECT {numbers} AS order_number, reason FROM {grouped} WHERE reason IS NOT NULL "
            f"ORDER BY {numbers}"
        ).df()
        notes = orders_duckdb.importer_notes(csv, cols, found, left_out)
        notes = [f"{path.name}: {note}" for note in notes + orders_duckdb.file_notes(csv)]
        if counted[0][0] and not cols["currency"]:  # as the ingest report says it
            from valuecast.store.workspace import NO_CURRENCY_NOTE

            notes.append(NO_CURRENCY_NOTE)
        return FileSummary(summary, con, "direct", int(n_rows), int(counted[0][0]), excluded, notes)
    finally:
        if not keep:
            con.disconnect()


def summarize_files(
    files: Sequence[str | Path],
    *,
    format: str | None = None,  # noqa: A002 - mirrors the --format option
    column_map: str | Mapping[str, str] | None = None,
    fx: str | Path | None = None,
    as_of: date | str | None = None,
    calibration_end: date | str | None = None,
) -> FileSummary:
    """The per-customer summary of ``files`` as ``ingest`` + ``summary`` would give it.

    Raises :class:`~valuecast.io.schema.InputError` for bad input, like the importers.  A
    single path is the list of that one file.
    """
    from valuecast.io import read_exports
    from valuecast.store.workspace import Workspace

    if isinstance(files, str | PathLike):  # a string is a sequence: of one-letter paths
        files = [files]

    orders_format = format == "orders" or (format is None and column_map)
    if len(files) == 1 and orders_format and fx is None and not isinstance(files[0], tuple):
        direct = _direct(Path(files[0]), column_map, as_of, calibration_end)
        if direct is not None:
            return direct
    # a lone orders file the direct route does not take (a Parquet file, above all) is loaded by
    # DuckDB at ingest where it can be, without the importer's frames
    results = read_exports(list(files), format=format, column_map=column_map, fx=fx, defer=True)
    workspace = Workspace(":memory:")
    try:
        report = workspace.ingest(results)
        try:
            summary = summarize(
                workspace.orders(),
                as_of=as_of,
                calibration_end=calibration_end,
                customers=workspace.customers(),
            )
        except NoOrdersError as error:
            if report.orders:
                raise
            empty = [file.file for file in report.files if not file.rows_read]
            raise every_order_excluded(error, report.excluded_orders, empty) from None
    except BaseException:
        workspace.close()
        raise
    return FileSummary(
        summary,
        workspace.con,
        "workspace",
        int(report.rows_read),
        int(report.orders),
        dict(report.excluded_rows),
        list(report.notes),
    )
