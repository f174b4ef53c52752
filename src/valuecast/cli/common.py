"""What every command shares: the consoles, one-line failures, and opening the workspace.

Also reading exports with the importers (``ingest``, ``analyze`` and their ``--engine`` paths)
and printing the ingest report.  Heavy modules (the engine, the importers) are imported inside
the functions, so ``valuecast --help`` starts without them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import NamedTuple

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from valuecast.cli.options import ExportFormat
from valuecast.errors import is_interrupted_query
from valuecast.tables import amount_text

console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> None:
    """Print ``error: message`` on one line and exit with code 2.

    The message is shown as written (file names and user input are not Rich markup) and its
    line breaks become spaces, so every error is exactly one line.
    """
    text = escape(" ".join(str(message).split()))
    err_console.print(f"[bold red]error:[/] {text}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@contextmanager
def writing_to(path: Path, what: str = "the results") -> Iterator[None]:
    """Fail in one line (exit 2) where writing ``what`` to ``path`` fails: a folder that does
    not exist or may not be written, a file that is a folder, a full disk."""
    import duckdb

    try:
        yield
    except (OSError, duckdb.Error) as error:
        fail(f"{path}: cannot write {what}: {cannot_write_reason(path, error)}")


def cannot_write_reason(path: Path, error: BaseException) -> str:
    """Why writing to ``path`` failed with ``error``, in the merchant's terms: a file where a
    folder of the path should be (the error names a temporary file or says "File exists"), a
    folder missing, else the system's words."""
    existing = Path(path)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    folder_wanted = isinstance(error, (FileExistsError, NotADirectoryError))
    if existing.is_file() and (existing != Path(path) or folder_wanted):
        return f"{existing} is a file, not a folder"
    if isinstance(error, FileNotFoundError):
        return f"no such folder: {Path(path).parent}"
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)


def describe(error: Exception) -> str:
    """``Type: message`` of an unexpected error, for a one-line failure."""
    return f"{type(error).__name__}: {error}"


def is_url(source: str) -> bool:
    """Whether an export argument names a table in a database (``postgresql://...#orders``)."""
    return "://" in source


def open_workspace(path: Path):
    """The workspace opened read-only (use it as a context manager), or one line and exit 2."""
    from valuecast.io.schema import InputError
    from valuecast.store import EngineError, Workspace

    if not Path(path).exists():
        fail(f"{path}: no such workspace (run `valuecast ingest` first)")
    try:
        return Workspace(path, read_only=True)
    except (InputError, EngineError) as error:
        fail(str(error))
    except Exception as error:  # not a DuckDB file, locked, ...
        fail(f"{path}: cannot open the workspace: {error}")


def check_options_or_fail(**given) -> None:
    """The analysis options a command was given (None: not given, the last analysis' then),
    checked before anything is read: one line and exit 2 for a bad one."""
    from valuecast.jobs.analyze import AnalysisOptions

    options = AnalysisOptions(**{name: value for name, value in given.items() if value is not None})
    try:
        options.validate()
    except ValueError as error:
        fail(str(error))


def earlier_as_of_note(workspace, as_of: str, given: str | None) -> str | None:
    """A note when the analysis a command read is dated before the workspace's last order and
    the command was not asked for that date: the last ``analyze`` ran with an earlier
    ``--as-of``, and its customers are those of that day, not today's."""
    from valuecast.analysis.summary import default_as_of

    if given is not None:
        return None
    latest = default_as_of(workspace.orders())
    if latest is None or latest.isoformat() <= as_of:
        return None
    return (
        f"note: as of {as_of}, the date of the last analysis; the orders run to {latest}: give "
        f"--as-of {latest} for the customers as they are now"
    )


STALE_AFTER_DAYS = 31
"""Days from an analysis' as-of date to today from which an audience file says how old it is."""


def stale_analysis_note(as_of: str, today: date | None = None) -> str | None:
    """A note when the analysis an audience file is made from is more than
    :data:`STALE_AFTER_DAYS` days old: a flow keyed on its expected next-order dates or groups
    would act on that day's customers, some of whose dates have passed; None otherwise."""
    from valuecast.dates import to_date

    today = today or date.today()
    days = (today - to_date(as_of)).days
    if days <= STALE_AFTER_DAYS:
        return None
    return (
        f"note: the analysis is as of {as_of}, {days:,} days before today: its groups, churn "
        "and expected next-order dates are that day's (dates before today have passed); "
        "refresh it with a newer export before sending"
    )


def ungrouped_note(labels, by: str) -> str | None:
    """The note for a split where every customer is in ``(none)``: the data has no ``by``
    (an orders table without line items names no first product), and a split into one group
    reads as a finding unless it says why; None when any customer has a value."""
    from valuecast.analysis.growth.history import NONE_LABEL

    if not len(labels) or set(map(str, labels)) != {NONE_LABEL}:
        return None
    why = {
        "first_product": "no first order has a line item naming a product",
        "channel": "no first order names a channel (source)",
        "discount_code": "no first order has a discount code",
    }.get(by)
    return f"every customer is in {NONE_LABEL} for {by}" + (f": {why}" if why else "")


def read_spend_or_fail(spend: Path | None):
    """The ``--spend`` file as a frame (None without one), or one line and exit 2."""
    from valuecast.io.spend import read_spend

    frame = _read_or_fail(spend, "--spend", read_spend)
    repeated = None if frame is None else frame.attrs.get("repeated_rows")
    if repeated:  # on stderr: a command's --json output stays JSON
        err_console.print(f"note: {spend.name}: {repeated}", highlight=False, markup=False)
    return frame


def check_spend_options_or_fail(spend: Path | None, no_spend: bool) -> None:
    """Fail in one line when both ``--spend`` and ``--no-spend`` are given."""
    if spend is not None and no_spend:
        fail("--spend and --no-spend: give one of them")


def spend_or_kept(workspace, spend_frame, *, no_spend: bool = False):
    """The spend a command works with: the ``--spend`` frame given, else the one kept in
    ``workspace`` (the last given to ``analyze``/``refresh --spend`` or uploaded in the
    dashboard) unless ``no_spend``; and the note saying which spend is used or left out (None
    when there is nothing to say)."""
    if spend_frame is not None:
        return spend_frame, None
    from valuecast.store.spend import kept_spend

    kept = kept_spend(workspace)
    if kept is None:
        return None, None
    if no_spend:
        return None, f"without {kept_spend_named(kept)} (--no-spend)"
    return kept.frame, kept_spend_note(kept)


def not_products_given_or_fail(
    not_product: list[str] | None, clear: bool
) -> tuple[str, ...] | None:
    """The non-product names a command was given to add to those the workspace keeps (none with
    ``--clear-not-products``), as the workspace keeps them; None when it was given neither, to
    use those kept.  Both given is one line and exit 2."""
    from valuecast.store.not_products import not_product_names

    if clear and not_product:
        fail(
            "--not-product and --clear-not-products cannot be given together: give "
            "--clear-not-products alone to forget the kept names, then --not-product the names "
            "to keep"
        )
    if clear:
        return ()
    return not_product_names(not_product) if not_product else None


def not_products_to_keep(
    kept: tuple[str, ...], given: tuple[str, ...] | None
) -> tuple[str, ...] | None:
    """What the workspace keeps after a command given ``given``
    (:func:`not_products_given_or_fail`): the names ``kept`` with those given added, none after
    ``--clear-not-products`` (``()``); None, to leave them as they are, when given neither."""
    from valuecast.store.not_products import with_names_added

    if given is None:
        return None
    return with_names_added(kept, given) if given else ()


def forgotten_not_products_note(names: tuple[str, ...]) -> str | None:
    """The note of ``--clear-not-products`` naming the names it forgot; None without any."""
    if not names:
        return None
    listed = ", ".join(f"'{name}'" for name in names)
    return (
        f"forgot the non-product names the workspace kept ({listed}): their lines count as "
        "products again (--clear-not-products)"
    )


def dropped_spend_note(workspace) -> str | None:
    """The note of ``analyze --no-spend`` naming the kept spend it drops; None without one."""
    from valuecast.store.spend import kept_spend

    kept = kept_spend(workspace)
    if kept is None:
        return None
    return f"dropped {kept_spend_named(kept)} (--no-spend): give --spend SPEND.csv for CAC again"


def kept_spend_note(kept) -> str:
    """The note saying a command uses the spend kept in the workspace, and which one."""
    return f"using {kept_spend_named(kept)}"


def kept_spend_named(kept) -> str:
    """The spend kept in a workspace as the notes name it: ``the spend file kept from
    2026-12-05 (spend.csv)``."""
    return f"the spend file kept from {kept.kept_at:%Y-%m-%d} ({kept.name})"


def read_calendar_or_fail(calendar: Path | None):
    """The ``--calendar`` file as a :class:`~valuecast.io.calendar.Calendar` (None without one),
    or one line and exit 2."""
    from valuecast.io.calendar import read_calendar

    return _read_or_fail(calendar, "--calendar", read_calendar)


def _read_or_fail(path: Path | None, option: str, reader):
    if path is None:
        return None
    from valuecast.io.schema import InputError

    if not path.is_file():
        fail(f"{path}: no such file ({option})")
    try:
        return reader(path)
    except InputError as error:
        fail(str(error))


def read_table_url(source: str):
    from valuecast.store.connection import EngineError
    from valuecast.store.tables import read_table

    try:
        return read_table(source)
    except EngineError as error:
        fail(str(error))


def order_counts(report: dict) -> str:
    """An ingest report's orders by what the ingest did with them: ``new 12, updated 3,
    unchanged 480`` (and those two files gave differently)."""
    counts = (
        f"new {report['new_orders']:,}, updated {report['updated_orders']:,}, unchanged "
        f"{report['unchanged_orders']:,}"
    )
    if report.get("conflicting_orders"):
        counts += f"; {report['conflicting_orders']:,} differ between files, last kept"
    return counts


class ExcludedReason(NamedTuple):
    """What an ingest excluded for one reason: orders, the rows of the files they held, and
    their revenue (in the currency each order named)."""

    reason: str
    orders: int
    rows: int
    revenue: float


def excluded_by_reason(report: dict) -> list[ExcludedReason]:
    """An ingest report's exclusions, one per reason in the report's (alphabetical) order.

    A reason may count rows alone: an empty row holds no order."""
    orders = report.get("excluded_orders") or {}
    rows = report.get("excluded_rows") or {}
    revenue = report.get("excluded_revenue") or {}
    return [
        ExcludedReason(
            reason, int(orders.get(reason, 0)), int(rows.get(reason, 0)), revenue.get(reason, 0.0)
        )
        for reason in sorted(set(orders) | set(rows))
        if orders.get(reason) or rows.get(reason)
    ]


def counted(n: int, word: str) -> str:
    """``n`` and ``word``, plural unless ``n`` is 1: ``1 row``, ``1,200 rows``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def excluded_line(report: dict, details: Path | None = None) -> str | None:
    """One sentence on what an ingest (``report``) excluded, by reason, with its orders, rows
    and revenue, naming ``details`` (its ingest_report.json); None when it excluded nothing.

    ``excluded 20 orders (27 rows, 1,139.36 revenue): cancelled 6 (11 rows, 422.34), ...``
    """
    reasons = excluded_by_reason(report)
    if not reasons:
        return None
    orders = sum(reason.orders for reason in reasons)
    rows = sum(reason.rows for reason in reasons)
    # excluded revenue is left unnamed, as in the ingest report (an excluded order may name
    # another currency)
    revenue = sum(reason.revenue for reason in reasons)
    head = (
        f"excluded {counted(orders, 'order')} ({counted(rows, 'row')}, {amount_text(revenue, 2)} revenue)"
        if orders
        else f"excluded {counted(rows, 'row')}"
    )
    parts = [
        f"{reason.reason} {reason.orders:,} ({counted(reason.rows, 'row')}, {amount_text(reason.revenue, 2)})"
        if reason.orders
        else f"{reason.reason} ({counted(reason.rows, 'row')})"
        for reason in reasons
    ]
    where = f"; counted by reason in {details}" if details is not None else ""
    return f"{head}: {', '.join(parts)}{where}"


def print_ingest_report(report: object) -> None:
    data = report.to_dict()  # type: ignore[attr-defined]
    files = Table(
        title=f"ingested into {escape(str(data['workspace']))} (ingest #{data['ingest_id']})"
    )
    # a file's customer records are the rows of a customers export (an orders export has none):
    # headed "customers", an orders export's 0 read as a file without customers
    for column, justify in (("file", "left"), ("format", "left"), ("rows", "right"),
                            ("orders", "right"), ("lines", "right"),
                            ("customer records", "right")):  # fmt: skip
        files.add_column(column, justify=justify)  # type: ignore[arg-type]
    for item in data["files"]:
        files.add_row(
            escape(Path(item["file"]).name), item["format"], f"{item['rows_read']:,}",
            f"{item['orders']:,}", f"{item['line_items']:,}", f"{item['customer_records']:,}",
        )  # fmt: skip
    console.print(files)
    currency = " / ".join(data["currencies"]) or "no currency given"
    # the counted orders' amounts in their currency (an ingest holds one), named after it; the
    # excluded orders' revenue is left unnamed (an excluded order may name another)
    unit = f" {currency}" if data["currencies"] else ""

    def money(value: float) -> str:
        return f"{amount_text(value, 2)}{unit}"

    totals = Table(show_header=False, box=None, padding=(0, 2))
    totals.add_column(justify="left")
    totals.add_column(justify="right")
    rows = [
        ("rows read", f"{data['rows_read']:,}"),
        ("orders", f"{data['orders']:,}  ({order_counts(data)})"),
        ("line items", f"{data['line_items']:,}"),
        ("customers", f"{data['customers']:,}"
                      + (f" with orders  ({data['customer_records']:,} records of a customers "
                         "export)" if data["customer_records"] else "")
                      + (f"  ({data['phone_customers']:,} identified by phone)"
                         if data.get("phone_customers") else "")),
        ("guest orders", f"{data['guest_orders']:,}  ({money(data['guest_revenue'])} revenue)"),
        # Shopify's Total is after discounts, with tax and shipping: the discounts are said to
        # be off it already, so that no one takes them off again reconciling with the admin
        ("gross revenue (order totals)", money(data["gross_revenue"])),
        ("discounts (off the totals)", money(data["discount"])),
        ("refunded", money(data["refunded"])),
        ("net revenue (no tax, shipping)", f"{amount_text(data['net_revenue'], 2)} {currency}"),
        ("tax / shipping", f"{amount_text(data['tax'], 2)} / {money(data['shipping'])}"),
        ("order dates", f"{data['first_order_date']} to {data['last_order_date']}"
                        if data["first_order_date"] else "none"),
        ("currencies", ", ".join(f"{code} ({n:,})" for code, n in data["currencies"].items())
                       or "none"),
        ("workspace", f"{counted(data['workspace_orders'], 'order')}, "
                      f"{counted(data['workspace_customers'], 'customer')}"),
    ]  # fmt: skip
    for name, value in rows:
        totals.add_row(name, value)
    console.print(totals)
    reasons = excluded_by_reason(data)
    if reasons:
        excluded = Table(title="excluded")
        excluded.add_column("reason")
        excluded.add_column("orders", justify="right")
        excluded.add_column("rows", justify="right")
        excluded.add_column("revenue", justify="right")
        for reason in reasons:
            excluded.add_row(
                reason.reason,
                f"{reason.orders:,}",
                f"{reason.rows:,}",
                amount_text(reason.revenue, 2),
            )
        console.print(excluded)
    for note in data["notes"]:
        console.print(f"note: {note}", highlight=False, markup=False)


def require_file(name: str) -> None:
    """Fail in one line unless ``name`` is a regular file (a directory or device is named so)."""
    from valuecast.io.csvfile import file_problem
    from valuecast.store.connection import is_duckdb_file

    problem = file_problem(name) if Path(name).exists() else "no such file"
    if problem is not None and not Path(name).exists() and _is_map_part(name):
        # the shell split a --map written with spaces after its commas, as --help wraps it
        problem += (
            ": it reads as part of a --map; write the map without spaces after its commas, or "
            "quote it whole (--map 'customer_id=COL, ordered_at=COL, revenue=COL')"
        )
    if problem is None and is_duckdb_file(Path(name)):
        # a workspace or database file given as an export
        problem = (
            f"a DuckDB database, not an export: give duckdb://{name}#TABLE for a table of it, "
            f"or --workspace {name} to analyse a valuecast workspace"
        )
    path, _, table = name.rpartition("#")
    if problem is not None and path and table and is_duckdb_file(Path(path)):
        # a table of a database file, written as the path alone: the URL form names one
        problem += f": for the table {table} of the database file {path}, give duckdb://{name}"
    if problem is not None:
        fail(f"{name}: {problem}")


def _is_map_part(name: str) -> bool:
    """Whether ``name`` reads as a --map's key and column (``ordered_at=Date,``), not a file."""
    from valuecast.io.generic import AMOUNT_UNIT_KEY, MAP_KEYS, OPTION_KEYS

    key, sep, _ = name.partition("=")
    return bool(sep) and (key in MAP_KEYS or key in OPTION_KEYS or key == AMOUNT_UNIT_KEY)


def read_files(
    files: list[str],
    export_format: ExportFormat | None,
    column_map: str | None,
    fx: Path | None,
    *,
    defer: bool = False,
):
    """Read ``files`` with the importers (nothing written yet), or fail with one line.

    ``defer``: a lone orders CSV or Parquet file that DuckDB may load is left for ``Workspace.ingest`` to load
    into the workspace (see :func:`valuecast.io.defer_orders`); its errors are then raised there.

    What the importers freed is returned to the system before the workspace's engine loads
    (``ingest`` and ``analyze`` alike): the peak is then the larger of reading and writing, not
    their sum.
    """
    from valuecast.io.orders_duckdb import PendingOrders
    from valuecast.store.memory import release_unused_memory

    results = _read_exports(files, export_format, column_map, fx, defer)
    if not all(isinstance(result, PendingOrders) for result in results):
        release_unused_memory()
    return results


def _read_exports(
    files: list[str],
    export_format: ExportFormat | None,
    column_map: str | None,
    fx: Path | None,
    defer: bool,
):
    """:func:`read_files` before the memory the importers freed is returned."""
    from valuecast.io import read_exports
    from valuecast.io.schema import InputError

    for source in files:
        if not is_url(source):
            require_file(source)
    if fx is not None and not fx.is_file():
        fail(f"{fx}: no such file (--fx)")
    # tables in a database (URL#table) are read through Ibis and imported like files
    sources = [read_table_url(source) if is_url(source) else source for source in files]
    try:
        # all files in one call: currencies are checked across them, Magento items attached
        return read_exports(
            sources,
            format=export_format.value if export_format else None,
            column_map=column_map,
            fx=fx,
            defer=defer,
        )
    except InputError as error:
        fail(str(error))
    except Exception as error:  # an importer bug must still not print a traceback
        fail(f"{', '.join(files)}: could not be read: {type(error).__name__}: {error}")


def inputs_identity(
    files: list[str], export_format: ExportFormat | None, column_map: str | None, fx: Path | None
) -> str | None:
    """What identifies ``files`` read with these options
    (:func:`valuecast.io.inputs.inputs_fingerprint`), recorded with their ingest."""
    from valuecast.io.inputs import inputs_fingerprint

    kind = export_format.value if export_format else None
    return inputs_fingerprint(files, kind, column_map, fx)


def require_workspace_folder(workspace: Path) -> None:
    """Fail in one line when ``workspace`` cannot be created for want of its folder: checked
    before the exports are read, which at a million orders takes seconds and a gigabyte."""
    if workspace.parent != Path("") and not workspace.parent.is_dir():
        if workspace.parent.exists():
            fail(f"{workspace}: {workspace.parent} is a file, not a folder")
        fail(f"{workspace}: folder {workspace.parent} does not exist")


@contextmanager
def writing_workspace(workspace: Path, *, what: str = "failed"):
    """The workspace opened for writing; any failure inside is one line, exit 2, saying
    ``what`` failed and what the command saved before it (nothing, or the ingest or snapshot it
    committed); Ctrl-C says the same, exit 130.

    A workspace this process created (exclusively: of several processes starting together on
    a new workspace, one is its creator) is removed again when the work fails, so a failed first
    ingest leaves no empty workspace behind.  A workspace another process created or holds is
    never removed: a lock conflict removes nothing.
    """
    from valuecast.io.schema import InputError
    from valuecast.store import EngineError, Workspace
    from valuecast.store.connection import not_a_database
    from valuecast.store.workspace import create_workspace_file, remove_if_created

    problem = not_a_database(Path(workspace))
    if problem is not None:  # before a new file of that name is made
        fail(f"{workspace}: {problem}")
    created = create_workspace_file(workspace)
    try:
        ws = Workspace(workspace)
    except (InputError, EngineError) as error:
        fail(str(error))
    except Exception as error:  # not a DuckDB file, ...
        fail(f"{workspace}: cannot open the workspace: {error}")
    marks = ws.saved_marks()
    try:
        yield ws
    # ValueError includes the analysis' SummaryError and the snapshots' SnapshotError (not
    # imported here: an ingest imports neither the analysis nor Ibis)
    except (InputError, EngineError, ValueError) as error:
        if is_interrupted_query(error):
            _interrupted(ws, created, marks)
        remove_if_created(ws, created)
        message = str(error)
        # an input error names its file already; the others are about this workspace
        named = isinstance(error, (InputError, EngineError)) or message.startswith(str(workspace))
        fail(message if named else f"{workspace}: {message}")
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        _interrupted(ws, created, marks)
    except Exception as error:  # e.g. a corrupt workspace: one line, and what it saved
        if is_interrupted_query(error):
            _interrupted(ws, created, marks)
        remove_if_created(ws, created)
        saved = _saved_since(ws, created, marks)
        fail(f"{workspace}: {what}, {saved}: {type(error).__name__}: {error}")
    finally:
        ws.close()


def _interrupted(ws, created, marks: tuple[int, int]) -> None:
    """Say, on Ctrl-C, what the workspace keeps: nothing new, or the ingest and snapshot the
    command committed before it (exit 130, as for an interrupt)."""
    from valuecast.store.workspace import remove_if_created

    remove_if_created(ws, created)
    err_console.print(
        escape(f"interrupted: {ws.path}: {_saved_since(ws, created, marks)}"),
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(code=130)


def _saved_since(ws, created, marks: tuple[int, int]) -> str:
    """What the command saved in the workspace before it stopped, as the ``marks``
    (:meth:`~valuecast.store.workspace.Workspace.saved_marks`) read as it opened tell."""
    if created is not None and not Path(ws.path).exists():  # removed: it was this command's
        return "nothing written (the new workspace is removed)"
    try:
        ingest, snapshot = ws.saved_marks()
    except Exception:  # the workspace cannot say: it keeps what was committed
        return "it keeps what was committed before the stop"
    saved = [f"{name} {now}" for name, now, then in (
        ("ingest", ingest, marks[0]), ("snapshot", snapshot, marks[1])) if now > then
    ]  # fmt: skip
    if not saved:
        return "nothing written"
    return f"{' and '.join(saved)} {'was' if len(saved) == 1 else 'were'} saved before it stopped"
