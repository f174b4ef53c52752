"""Which export is this? Format detection from the header, and the one entry point for the engine.

Formats (``--format``): ``shopify`` (orders export), ``shopify-customers``, ``magento``
(``sales_order``, or the admin order grid's export), ``magento-grid`` (the admin order grid's
export: Sales > Orders > Export > CSV), ``magento-items`` (``sales_order_item``),
``woocommerce``, ``orders`` (any orders table, CSV or Parquet, with a column map) and ``cdnow``
(whitespace-separated transaction logs). Detection looks only at column names (normalised: case,
spaces and underscores ignored):

==================== ==========================================================================
shopify              ``Name``, ``Financial Status`` and ``Lineitem name`` (or ``Created at`` and
                     ``Subtotal``)
shopify-customers    ``First Name``, ``Last Name``, ``Email`` and one of ``Total Spent``,
                     ``Total Orders``, ``Accepts (Email) Marketing``
magento              ``increment_id``, ``state``, ``customer_email`` and ``base_subtotal`` or
                     ``base_grand_total``
magento-grid         ``ID``, ``Purchase Date``, ``Status`` and ``Grand Total (Base)`` or
                     ``Grand Total (Purchased)`` (the admin order grid's labels)
magento-items        ``item_id``, ``order_id``, ``qty_ordered`` (and no ``increment_id``)
woocommerce          ``order_id`` or ``order_number``, ``order_date``, ``status`` (or
                     ``order_status``), ``order_total``; or the labels ``Order Number``, ``Order
                     Date``, ``Order Status``, ``Order Total`` (or ``Order Total Amount``); and
                     a customer column (``billing_email``, ``Email (Billing)``, ...); or the
                     ``wc_orders`` table: ``id``, ``status``, ``total_amount``,
                     ``date_created_gmt`` and ``billing_email`` (or ``customer_id``)
cdnow                no delimiter in the first line, lines of ``id [id] YYYYMMDD qty amount``
orders               a customer, a date and an amount column under usual names (or a ``.parquet``
                     file, or any file when a column map is given)
==================== ==========================================================================

The first rule that matches wins, in this order; a file no rule matches is an
:class:`InputError` naming its first columns and asking for ``--format``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from valuecast.io import (
    _build,
    generic,
    magento,
    orders_duckdb,
    shopify,
    shopify_duckdb,
    woocommerce,
)
from valuecast.io import fx as fx_module
from valuecast.io.csvfile import (
    CsvFile,
    Table,
    cut_off_note,
    file_problem,
    find_column,
    is_parquet,
    normalise_name,
    open_csv,
    open_header,
    title_note,
)
from valuecast.io.schema import ImportResult, InputError

__all__ = ["FORMATS", "detect_header", "detect_format", "read_export", "read_exports"]

FORMATS = (
    "shopify",
    "shopify-customers",
    "magento",
    "magento-grid",
    "magento-items",
    "woocommerce",
    "orders",
    "cdnow",
)
GIVEN_FORMATS = tuple(name for name in FORMATS if name != "magento-items")
"""The formats --format names: a sales_order_item file is known by its header, beside its
sales_order file in the same ingest."""


_WOO_CUSTOMERS = tuple(
    name
    for key in ("customer_email", "billing_email", "billing_phone")
    for name in woocommerce.ORDER_COLUMNS[key]
)
"""The columns a WooCommerce export names its customer by (one is required to read it)."""


def detect_header(header: Sequence[str]) -> str | None:
    """The format a CSV header belongs to, or ``None``."""
    names = {normalise_name(name) for name in header}

    def has(*options: str) -> bool:
        return any(normalise_name(option) in names for option in options)

    if (
        has("Name")
        and has("Financial Status")
        and (has("Lineitem name") or (has("Created at") and has("Subtotal")))
    ):
        return "shopify"
    if (
        has("First Name")
        and has("Last Name")
        and has("Email")
        and has("Total Spent", "Total Orders", "Accepts Marketing", "Accepts Email Marketing")
    ):
        return "shopify-customers"
    if (
        has("increment_id")
        and has("state")
        and has("customer_email")
        and has("base_subtotal", "base_grand_total")
    ):
        return "magento"
    if (
        has("ID")
        and has("Purchase Date")
        and has("Status")
        and has("Grand Total (Base)", "Grand Total (Purchased)")
    ):
        return "magento-grid"
    if has("item_id") and has("order_id") and has("qty_ordered") and not has("increment_id"):
        return "magento-items"
    if (
        has("order_id", "order_number", "Order Number")
        and has("order_date", "Order Date")
        and has("status", "order_status", "Order Status")
        and has("order_total", "Order Total", "Order Total Amount")
        # the reader's customer columns: an orders table of these common labels with a plain
        # "Email" is an orders table
        and has(*_WOO_CUSTOMERS)
    ):
        return "woocommerce"
    if (
        has("id")
        and has("status")
        and has("total_amount")
        and has("date_created_gmt")
        and has(*_WOO_CUSTOMERS)
    ):
        return "woocommerce"  # the wc_orders table (HPOS)
    if all(find_column(header, generic.MAP_KEYS[key]) is not None for key in generic.REQUIRED):
        return "orders"
    return None


def _first_lines(path: Path, count: int = 5) -> list[str]:
    try:
        with open(path, "rb") as handle:
            head = handle.read(64 * 1024)
    except OSError as error:
        raise InputError(str(path), f"cannot read the file: {error.strerror or error}") from None
    return head.decode("utf-8", errors="replace").splitlines()[:count]


def _split_order(error: InputError, earlier: list, source) -> InputError:
    """``error`` of a Shopify export whose row lacks its order's first-row fields, told as the
    order's continuation of an earlier file of the ingest where it is one (an export split
    inside an order); else ``error`` itself."""
    if not error.message.startswith("order has no") or error.row is None or not earlier:
        return error

    def names(csv: CsvFile) -> pd.Series:
        column = find_column(csv.header, ("Name",))
        if column is None:
            raise KeyError("Name")
        return csv.read([column]).text_series(column)

    try:
        csv = source if isinstance(source, CsvFile) else open_csv(source)
        name = names(csv).iloc[error.row - csv.header_row - 1]
    except (InputError, IndexError, KeyError, OSError):
        return error
    for path, fmt, _ in earlier:
        if fmt != "shopify" or pd.isna(name):
            continue
        try:
            found = names(open_csv(path))  # read again: its rows may be let go of
        except (InputError, KeyError, OSError):
            continue
        if (found == name).any():
            return InputError(
                error.file,
                f"order {name} begins in {Path(path).name}: the export was split inside an "
                "order; join the files into one (or export again in one file)",
                row=error.row,
                column=error.column,
            )
    return error


def _is_cdnow(path: Path) -> bool:
    lines = _first_lines(path)
    first = next((line for line in lines if line.strip()), "")
    return not any(d in first for d in (",", ";", "\t")) and generic.looks_like_cdnow(lines)


def detect_format(path: str | Path) -> str:
    """The format of the file at ``path`` (see the module docstring); InputError if unknown."""
    path = Path(path)
    if is_parquet(path):
        return "orders"
    if _is_cdnow(path):
        return "cdnow"
    return _detect_csv(open_csv(path))


def _detect_csv(csv: CsvFile) -> str:
    found = detect_header(csv.header)
    if found is None:
        shown = ", ".join(repr(name) for name in csv.header[:6])
        more = ", ..." if len(csv.header) > 6 else ""
        raise InputError(
            csv.name,
            f"cannot tell the export format from the header ({shown}{more}); "
            f"give --format ({'|'.join(GIVEN_FORMATS)}) or --map for an orders table",
            row=csv.header_row,
        )
    return found


def _mapped_or_detected(path: Path, mapping: dict[str, str]) -> tuple[CsvFile | None, str]:
    """The format of one of several files read with a column map: an orders table, unless the
    file lacks a column the map names and its header is a platform export's (a Shopify
    customers export ingested beside the shop's own orders table): that export is read as such.
    A file of no known format is the orders table it was mapped for, and a missing column is
    the importer's error."""
    if is_parquet(path) or _is_cdnow(path):
        return None, "orders"
    csv = open_csv(path)
    mapped = [
        column
        for key, column in mapping.items()
        if key not in generic.OPTION_KEYS and key != generic.AMOUNT_UNIT_KEY
    ]
    if all(find_column(csv.header, (column,)) is not None for column in mapped):
        return csv, "orders"
    detected = detect_header(csv.header)
    return csv, "orders" if detected is None else detected


def _is_grid(source: CsvFile | Table | Path) -> bool:
    """Whether a file given as ``--format magento`` is the admin order grid's export (its
    header read, not its rows)."""
    header = (source if isinstance(source, CsvFile | Table) else open_header(source)).header
    return detect_header(header) == "magento-grid"


def _check_time_zone_fits(
    planned: list[tuple[Path, str, CsvFile | Table | None]], mapping: Mapping[str, str]
) -> None:
    """Raise unless every file of an ingest given ``--map time_zone`` is one it applies to: a
    Magento ``sales_order`` table, whose ``created_at`` is in UTC, a WooCommerce
    ``wc_orders`` table, whose ``date_created_gmt`` is (items and a customers export beside
    them have no order times), or an orders table whose order times are instants with a zone
    (a database's ``TIMESTAMPTZ``, a Parquet time with a zone). Other exports write the shop's
    own time, which shifting would move off it."""
    for path, chosen, source in planned:
        if chosen in ("magento-items", "shopify-customers"):
            continue
        if chosen == "orders" and generic.zoned_order_times(
            source if isinstance(source, Table) else path, mapping
        ):
            continue
        if chosen == "magento" and not _is_grid(source if source is not None else path):
            continue
        if chosen == "woocommerce" and woocommerce.dates_in_utc(
            (source if source is not None else open_header(path)).header
        ):
            continue
        shown = _LOCAL_TIME_EXPORTS.get(chosen, "a Magento order grid export")
        raise InputError(
            source.name if isinstance(source, Table) else str(path),
            f"--map time_zone applies to a Magento sales_order table or a WooCommerce wc_orders "
            f"table, whose dates are in UTC, and to order times with a zone (a database's "
            f"TIMESTAMPTZ, ISO times each written with one: 2024-03-05T23:30:00Z, or Unix "
            f"times); the dates "
            f"of {shown} are the shop's own time: leave time_zone out",
        )


_LOCAL_TIME_EXPORTS = {
    "shopify": "a Shopify orders export",
    "woocommerce": "a WooCommerce export",
    "orders": "an orders table without a zone",
    "cdnow": "a CDNOW log",
}
"""The exports whose order times are the shop's own (as written), by format, as errors name
them."""


def defer_orders(
    paths: Sequence[str | Path | tuple[str, pd.DataFrame]],
    format: str | None = None,  # noqa: A002 - mirrors the --format option
    column_map: str | Mapping[str, str] | None = None,
    fx: str | Path | fx_module.Rates | None = None,
) -> orders_duckdb.PendingOrders | None:
    """The files of one ingest left unread for ``Workspace.ingest`` to load with DuckDB, when
    they are one orders CSV or Parquet file DuckDB may read (see
    :func:`valuecast.io.orders_duckdb.load_rows`) or one Shopify orders export
    (:mod:`valuecast.io.shopify_duckdb`); else ``None``: read them with :func:`read_exports`.

    The workspace loads the file into its own connection without Pandas, or has the importer
    read it then, with the same result and the same errors.
    """
    if len(paths) != 1 or fx is not None or format not in (None, "orders", "shopify"):
        return None
    path = paths[0]
    if isinstance(path, tuple):
        return _pending_table(*path, format, column_map)
    if "://" in str(path) or file_problem(path) is not None:
        return None
    path = Path(path)
    if path.is_dir():  # a folder of Parquet parts: the importer reads them as one table
        return None
    if os.path.getsize(path) < orders_duckdb.MIN_BYTES:
        return None
    mapping = generic.parse_column_map(column_map)
    if "time_zone" in mapping:  # the importers apply it, or name the file it does not fit
        return None
    if format == "shopify":  # a map (a date format) is read by the importer
        if mapping or is_parquet(path):
            return None
        return shopify_duckdb.pending_shopify(open_csv(path))
    if is_parquet(path):
        return orders_duckdb.pending_parquet(path, mapping)
    columns_mapped = generic.maps_columns(mapping)
    if format is None and not columns_mapped and _is_cdnow(path):
        return None
    # told by the header: a file the importers read is not read whole here
    detected = None if format is not None or columns_mapped else _detect_csv(open_header(path))
    if detected == "shopify" and not mapping:
        return shopify_duckdb.pending_shopify(open_csv(path))
    if detected not in (None, "orders"):
        return None
    return orders_duckdb.pending_orders(open_csv(path), mapping)


def _pending_table(
    name: str,
    rows: pd.DataFrame | pa.Table,
    format: str | None,  # noqa: A002 - mirrors the --format option
    column_map: str | Mapping[str, str] | None,
) -> orders_duckdb.PendingOrders | None:
    """A database table read as Arrow (:func:`valuecast.store.tables.read_table`) as
    :class:`~valuecast.io.orders_duckdb.PendingOrders` when it is an orders table DuckDB may
    load (as :func:`read_exports` would read it: mapped, or detected so), else ``None``."""
    if not isinstance(rows, pa.Table):
        return None
    mapping = generic.parse_column_map(column_map)
    if format is None and not generic.maps_columns(mapping):
        if detect_header([str(column) for column in rows.column_names]) != "orders":
            return None
    elif format not in (None, "orders"):
        return None
    if "time_zone" in mapping:  # the importer applies it, or names the table it does not fit
        return None
    return orders_duckdb.pending_table(str(name), rows, mapping)


def _table_of(name: str, rows: pd.DataFrame | pa.Table) -> Table:
    """The importers' :class:`Table` of a database table's rows, read as a DataFrame or as
    Arrow with a DataFrame's types (:func:`valuecast.store.tables.read_table`)."""
    if isinstance(rows, pa.Table):
        return Table.from_arrow(rows, name)
    return Table.from_frame(rows, name)


def read_export(
    path: str | Path,
    format: str | None = None,  # noqa: A002 - mirrors the --format option
    column_map: str | Mapping[str, str] | None = None,
    fx: str | Path | fx_module.Rates | None = None,
) -> list[ImportResult]:
    """Read one file; see :func:`read_exports`."""
    return read_exports([path], format=format, column_map=column_map, fx=fx)


def read_exports(
    paths: Sequence[str | Path | tuple[str, pd.DataFrame]],
    format: str | None = None,  # noqa: A002 - mirrors the --format option
    column_map: str | Mapping[str, str] | None = None,
    fx: str | Path | fx_module.Rates | None = None,
    *,
    defer: bool = False,
) -> list[ImportResult | orders_duckdb.PendingOrders]:
    """Read the files of one ingest: one :class:`ImportResult` per file, in the order given.

    An entry may also be ``(name, DataFrame)``: a table the engine read from a database (Magento
    ``sales_order``/``sales_order_item``, WooCommerce or any orders table), detected from its
    column names like a file; ``name`` (e.g. the URL without password) names it in errors.

    ``format`` forces the format of every file (default: detected per file). A ``column_map``
    (``"customer_id=COL,ordered_at=COL,revenue=COL"`` or a dict) implies ``format="orders"``
    unless a format is forced; of several files, one that lacks a mapped column and is a
    platform export (a Shopify customers export) is read as that export. A
    ``sales_order_item`` file is attached to the ``sales_order`` file(s) of the same call.
    Currencies are checked over all files together and converted with ``fx`` (a rates CSV path
    or loaded :class:`~valuecast.io.fx.Rates`), see :mod:`valuecast.io.fx`.

    ``defer``: a lone orders file DuckDB may load (:func:`defer_orders`) is returned unread, as
    its :class:`~valuecast.io.orders_duckdb.PendingOrders`, for ``Workspace.ingest`` to load.
    A single path (a string or :class:`~pathlib.Path`) is the list of that one file.
    """
    if isinstance(paths, str | os.PathLike):  # a string is a sequence: of one-letter paths
        paths = [paths]
    pending = defer_orders(paths, format, column_map, fx) if defer else None
    if pending is not None:
        return [pending]
    if format is not None and format not in FORMATS:
        raise InputError("--format", f"unknown format {format!r} (known: {', '.join(FORMATS)})")
    mapping = generic.parse_column_map(column_map)
    # date_format alone reads the dates of any format; columns make the file an orders table
    columns_mapped = generic.maps_columns(mapping)
    if columns_mapped and format not in (None, "orders"):
        raise InputError("--map", f"a column map applies to --format orders, not {format}")
    date_format = mapping.get("date_format")
    rates = fx_module.load_rates(fx) if isinstance(fx, str | Path) else fx
    planned: list[tuple[Path, str, CsvFile | Table | None]] = []
    # the title notes of files detected by their header alone, by their place in planned
    title_notes: dict[int, str | None] = {}
    for raw in paths:
        chosen = format or ("orders" if columns_mapped else None)
        if isinstance(raw, tuple):  # (name, DataFrame) read from a database by the engine
            name, frame = raw
            path, source = Path(str(name)), _table_of(str(name), frame)
            source.unordered = True
            if chosen == "cdnow":
                raise InputError(str(name), "a cdnow log must be a file")
            chosen = chosen or detect_header(source.header)
            if chosen is None:
                shown = ", ".join(repr(c) for c in source.header[:6])
                raise InputError(
                    str(name), f"cannot tell the table's format ({shown}); give --format"
                )
            source.date_format = date_format
            planned.append((path, chosen, source))
            continue
        if "://" in str(raw):
            raise InputError(
                str(raw),
                "database URLs are read by the engine: pass the table as (name, DataFrame)",
            )
        path = Path(raw)
        problem = file_problem(path)
        if problem is not None:
            raise InputError(str(raw), problem)
        csv = None
        if chosen == "orders" and format is None and len(paths) > 1:
            csv, chosen = _mapped_or_detected(path, mapping)
        if chosen is None:
            if is_parquet(path):
                chosen = "orders"
            elif _is_cdnow(path):
                chosen = "cdnow"
            else:
                # the header tells the format: the importer reads the file as --format has it
                # do, its bytes not held beside what it makes of them
                header = open_header(path)
                chosen = _detect_csv(header)
                title_notes[len(planned)] = title_note(header)
        if date_format is not None and chosen not in ("orders", "cdnow"):
            csv = csv if csv is not None else open_csv(path)
            csv.date_format = date_format  # the orders importer reads it from the map
        planned.append((path, chosen, csv))

    time_zone = mapping.get("time_zone")
    if time_zone is not None:
        _check_time_zone_fits(planned, mapping)
    results: list[ImportResult | None] = [None] * len(planned)
    entities = []
    for index, (path, chosen, csv) in enumerate(planned):
        source = csv if csv is not None else path
        if chosen == "shopify":
            try:
                results[index] = shopify.read_orders(source)
            except InputError as error:
                raise _split_order(error, planned[:index], source) from None
        elif chosen == "shopify-customers":
            results[index] = shopify.read_customers(source)
        elif chosen == "magento-grid" or (chosen == "magento" and _is_grid(source)):
            results[index] = magento.read_order_grid(source)
        elif chosen == "magento":
            result, entity_map = magento.read_sales_order_keyed(source, time_zone)
            results[index] = result
            entities.append(entity_map)
        elif chosen == "woocommerce":
            results[index] = woocommerce.read_orders(source, time_zone)
        elif chosen == "orders":
            results[index] = generic.read_orders(source, mapping)
        elif chosen == "cdnow":
            results[index] = generic.read_cdnow(path)
    for index, (path, chosen, csv) in enumerate(planned):
        if chosen != "magento-items":
            continue
        if not entities:
            grid = any(result is not None and result.format == "magento-grid" for result in results)
            raise InputError(
                str(path),
                "the admin's order grid export has no entity_id to join items to: export the "
                "sales_order table (with its items) instead of the grid"
                if grid
                else "a sales_order_item file needs its sales_order file in the same ingest",
            )
        results[index] = magento.read_sales_order_items(
            csv if csv is not None else path, pd.concat(entities, ignore_index=True)
        )
    for index, (path, chosen, csv) in enumerate(planned):  # CSV files that end mid-row
        result = results[index]
        if result is None or chosen == "cdnow" or isinstance(paths[index], tuple):
            continue
        if csv is None and is_parquet(path):
            continue
        read = csv if isinstance(csv, CsvFile) else path
        titled = title_notes[index] if index in title_notes else title_note(read)
        result.notes.extend(note for note in (titled, cut_off_note(read)) if note)
    done = fx_module.apply_fx([result for result in results if result is not None], rates)
    for result in done:
        _build.check_stored_amounts(result)
    return done
