"""The ``valuecast`` command line."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from valuecast import cli_scale

app = typer.Typer(
    help="valuecast: customer lifetime value for e-commerce merchants.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


class UserError(Exception):
    """An error in what the user gave us: reported as one line, exit code 2, no traceback."""


def fail(message: str) -> None:
    """Print ``error: message`` on one line and exit with code 2.

    The message is shown as written (file names and user input are not Rich markup) and its
    line breaks become spaces, so every error is exactly one line.
    """
    from rich.markup import escape

    text = escape(" ".join(str(message).split()))
    err_console.print(f"[bold red]error:[/] {text}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def describe(error: Exception) -> str:
    """``Type: message`` of an unexpected error, for a one-line failure."""
    return f"{type(error).__name__}: {error}"


# ------------------------------------------------------------------------------------------------
# fit: the model core on a summary table
# ------------------------------------------------------------------------------------------------
class ModelName(StrEnum):
    bgnbd = "bgnbd"
    pnbd = "pnbd"
    mbgnbd = "mbgnbd"
    bgbb = "bgbb"
    gg = "gg"
    sbg = "sbg"


@app.command()
def fit(
    summary: Path = typer.Argument(
        ..., help="CSV with one row per customer (or per distinct history, with a weights column)."
    ),
    model: ModelName = typer.Option(ModelName.bgnbd, "--model", "-m", help="Model to fit."),
    penalizer: float = typer.Option(0.0, help="L2 penalty on the parameters."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    predict: float | None = typer.Option(
        None,
        "--predict",
        help="Also predict each row over the next T time units (in the unit of the data).",
    ),
    out: Path | None = typer.Option(None, "--out", help="CSV for the per-row predictions."),
    cohort_size: int = typer.Option(
        1000, help="sbg only: customers per cohort when the columns are percentages."
    ),
) -> None:
    """Fit a model to a summary table and print its parameters.

    Columns are matched by name: frequency/recency/T/monetary_value/weights, or CDNOW-style
    x/t_x/T/zbar; bgbb takes frequency/recency/periods; sbg takes one column of survivors per
    cohort (columns named *_pct are percentages of --cohort-size).
    """
    from valuecast.fitcli import FitInputError, fit_summary_file

    if out is not None and predict is None:
        fail("--out writes predictions: give --predict T too")
    try:
        started = time.perf_counter()
        result = fit_summary_file(summary, model.value, penalizer, predict, cohort_size)
        elapsed = time.perf_counter() - started
    except FitInputError as error:
        fail(str(error))
    except Exception as error:  # a model that cannot be fitted: say why, no traceback
        fail(f"{summary}: {model.value} fit failed: {error}")
    result["fit_seconds"] = round(elapsed, 4)
    predictions = result.pop("predictions", None)
    if out is not None and predictions is not None:
        from valuecast.outputs import write_csv

        write_csv(predictions, out)
        result["predictions_file"] = str(out)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    console.print(f"[bold]{result['model']}[/] fitted on {summary.name}", highlight=False)
    table = Table()
    table.add_column("parameter")
    table.add_column("estimate", justify="right")
    table.add_column("std. error", justify="right")
    for name, value in result["params"].items():
        table.add_row(name, f"{value:.4f}", f"{result['standard_errors'][name]:.4f}")
    console.print(table)
    console.print(
        f"log-likelihood {result['log_likelihood']:.2f}   n = {result['n']:,}   "
        f"distinct rows = {result['n_distinct']:,}   fit {result['fit_seconds']:.3f} s"
    )
    if predictions is not None and out is None:
        console.print(predictions.head(10).to_string(index=False))
    if "predictions_file" in result:
        console.print(f"predictions written to {result['predictions_file']}")


@app.command()
def demo(
    customers: int = typer.Option(5000, "--customers", help="Customers in the simulated shop."),
    seed: int = typer.Option(0, "--seed", help="Seed of the simulation (same seed, same shop)."),
    out: Path = typer.Option(Path("valuecast-demo"), "--out", "-o", help="Output folder."),
) -> None:
    """Simulate a two-year Shopify shop, analyse it, and show where everything is.

    The shop is written as a Shopify orders export (OUT/orders_export.csv) so you can see the
    whole path a merchant takes: export -> valuecast analyze -> customers.csv and summary.json.
    """
    from valuecast.datasets.demo_shop import generate_demo_shop

    if customers < 1:
        fail("--customers must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    export = out / "orders_export.csv"
    workspace = out / "valuecast.duckdb"
    _remove_workspace(workspace)  # a fresh workspace: the same seed gives the same figures
    info = generate_demo_shop(export, customers=customers, seed=seed)
    console.print(
        f"[bold]demo shop[/]: {info.n_customers:,} customers, {info.n_orders:,} orders "
        f"({info.first_order_date} to {info.last_order_date}) written as a Shopify export to "
        f"{export}",
        highlight=False,
        soft_wrap=True,
    )
    run_analysis([str(export)], workspace, None, None, None, out=out / "results")
    console.print(
        f"\nnext: open {out / 'results' / 'customers.csv'} (one row per customer), or run "
        f"`valuecast analyze --workspace {workspace}` with other options (see --help).",
        highlight=False,
        soft_wrap=True,
    )


# ================================================================================================
# ingest / summary: the workspace and the customer summary engine (valuecast.engine)
# ================================================================================================
class ExportFormat(StrEnum):
    shopify = "shopify"
    shopify_customers = "shopify-customers"
    magento = "magento"
    woocommerce = "woocommerce"
    orders = "orders"
    cdnow = "cdnow"


def _is_url(source: str) -> bool:
    return "://" in source


def open_workspace(path: Path):
    """The workspace opened read-only (use it as a context manager), or one line and exit 2."""
    from valuecast.engine import EngineError, Workspace
    from valuecast.io.schema import InputError

    if not Path(path).exists():
        fail(f"{path}: no such workspace (run `valuecast ingest` first)")
    try:
        return Workspace(path, read_only=True)
    except (InputError, EngineError) as error:
        fail(str(error))
    except Exception as error:  # not a DuckDB file, locked, ...
        fail(f"{path}: cannot open the workspace: {error}")


def read_spend_or_fail(spend: Path | None):
    """The ``--spend`` file as a frame (None without one), or one line and exit 2."""
    if spend is None:
        return None
    from valuecast.io.schema import InputError
    from valuecast.io.spend import read_spend

    if not spend.is_file():
        fail(f"{spend}: no such file (--spend)")
    try:
        return read_spend(spend)
    except InputError as error:
        fail(str(error))


def _read_table_url(source: str):
    from valuecast.engine.connection import EngineError
    from valuecast.engine.tables import read_table

    try:
        return read_table(source)
    except EngineError as error:
        fail(str(error))


def _remove_workspace(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def _print_ingest_report(report: object) -> None:
    data = report.to_dict()  # type: ignore[attr-defined]
    files = Table(title=f"ingested into {data['workspace']} (ingest #{data['ingest_id']})")
    for column, justify in (("file", "left"), ("format", "left"), ("rows", "right"),
                            ("orders", "right"), ("lines", "right"), ("customers", "right")):  # fmt: skip
        files.add_column(column, justify=justify)  # type: ignore[arg-type]
    for item in data["files"]:
        files.add_row(
            Path(item["file"]).name, item["format"], f"{item['rows_read']:,}",
            f"{item['orders']:,}", f"{item['line_items']:,}", f"{item['customer_records']:,}",
        )  # fmt: skip
    console.print(files)
    currency = " / ".join(data["currencies"]) or "no currency given"
    totals = Table(show_header=False, box=None, padding=(0, 2))
    totals.add_column(justify="left")
    totals.add_column(justify="right")
    rows = [
        ("rows read", f"{data['rows_read']:,}"),
        ("orders", f"{data['orders']:,}  (new {data['new_orders']:,}, updated "
                   f"{data['updated_orders']:,}, unchanged {data['unchanged_orders']:,}"
                   + (f"; {data['conflicting_orders']:,} differ between files, last kept)"
                      if data.get("conflicting_orders") else ")")),
        ("line items", f"{data['line_items']:,}"),
        ("customers", f"{data['customers']:,}"
                      + (f"  ({data['customer_records']:,} customer records)"
                         if data["customer_records"] else "")),
        ("guest orders", f"{data['guest_orders']:,}  ({data['guest_revenue']:,.2f} revenue)"),
        ("gross revenue", f"{data['gross_revenue']:,.2f}"),
        ("discounts", f"{data['discount']:,.2f}"),
        ("refunded", f"{data['refunded']:,.2f}"),
        ("net revenue", f"{data['net_revenue']:,.2f} {currency}"),
        ("tax / shipping", f"{data['tax']:,.2f} / {data['shipping']:,.2f}"),
        ("order dates", f"{data['first_order_date']} to {data['last_order_date']}"
                        if data["first_order_date"] else "none"),
        ("currencies", ", ".join(f"{code} ({n:,})" for code, n in data["currencies"].items())
                       or "none"),
        ("workspace", f"{data['workspace_orders']:,} orders, "
                      f"{data['workspace_customers']:,} customers"),
    ]  # fmt: skip
    for name, value in rows:
        totals.add_row(name, value)
    console.print(totals)
    if data["excluded_orders"] or data["excluded_rows"]:
        excluded = Table(title="excluded")
        excluded.add_column("reason")
        excluded.add_column("orders", justify="right")
        excluded.add_column("rows", justify="right")
        excluded.add_column("revenue", justify="right")
        reasons = sorted(set(data["excluded_orders"]) | set(data["excluded_rows"]))
        for reason in reasons:
            excluded.add_row(
                reason,
                f"{data['excluded_orders'].get(reason, 0):,}",
                f"{data['excluded_rows'].get(reason, 0):,}",
                f"{data['excluded_revenue'].get(reason, 0.0):,.2f}",
            )
        console.print(excluded)
    for note in data["notes"]:
        console.print(f"note: {note}", highlight=False)


def _require_file(name: str) -> None:
    """Fail in one line unless ``name`` is a regular file (a directory or device is named so)."""
    from valuecast.io.csvfile import file_problem

    problem = file_problem(name) if Path(name).exists() else "no such file"
    if problem is not None:
        fail(f"{name}: {problem}")


def _read_files(
    files: list[str],
    export_format: ExportFormat | None,
    column_map: str | None,
    fx: Path | None,
):
    """Read ``files`` with the importers (nothing written yet), or fail with one line."""
    from valuecast.io import read_exports
    from valuecast.io.schema import InputError

    for source in files:
        if not _is_url(source):
            _require_file(source)
    if fx is not None and not fx.is_file():
        fail(f"{fx}: no such file (--fx)")
    # tables in a database (URL#table) are read through Ibis and imported like files
    sources = [_read_table_url(source) if _is_url(source) else source for source in files]
    try:
        # all files in one call: currencies are checked across them, Magento items attached
        return read_exports(
            sources,
            format=export_format.value if export_format else None,
            column_map=column_map,
            fx=fx,
        )
    except InputError as error:
        fail(str(error))
    except Exception as error:  # an importer bug must still not print a traceback
        fail(f"{', '.join(files)}: could not be read: {type(error).__name__}: {error}")


@contextmanager
def writing_workspace(workspace: Path, *, what: str = "nothing written"):
    """The workspace opened for writing; any failure inside is one line, exit 2.

    A workspace this process created (exclusively: of several processes starting together on
    a new workspace, one is its creator) is removed again when the work fails, so a failed first
    ingest leaves no empty workspace behind.  A workspace another process created or holds is
    never removed: a lock conflict removes nothing.
    """
    from valuecast.analysis.summary import SummaryError
    from valuecast.engine import EngineError, Workspace
    from valuecast.engine.workspace import create_workspace_file, remove_if_created
    from valuecast.io.schema import InputError
    from valuecast.snapshots import SnapshotError

    created = create_workspace_file(workspace)
    try:
        ws = Workspace(workspace)
    except (InputError, EngineError) as error:
        fail(str(error))
    except Exception as error:  # not a DuckDB file, ...
        fail(f"{workspace}: cannot open the workspace: {error}")
    try:
        yield ws
    except (InputError, EngineError, SummaryError, SnapshotError, ValueError) as error:
        remove_if_created(ws, created)
        message = str(error)
        # an input error names its file already; the others are about this workspace
        named = isinstance(error, (InputError, EngineError)) or message.startswith(str(workspace))
        fail(message if named else f"{workspace}: {message}")
    except typer.Exit:
        raise
    except Exception as error:  # e.g. a corrupt workspace: one line, nothing written
        remove_if_created(ws, created)
        fail(f"{workspace}: {what}: {type(error).__name__}: {error}")
    finally:
        ws.close()


def _ingest_files(
    files: list[str],
    workspace: Path,
    export_format: ExportFormat | None,
    column_map: str | None,
    fx: Path | None,
):
    """Read ``files`` and write them into ``workspace`` in one transaction, or fail with one line."""
    results = _read_files(files, export_format, column_map, fx)
    with writing_workspace(workspace, what="ingest failed, nothing written") as ws:
        return ws.ingest(results)


@app.command()
def ingest(
    files: list[str] = typer.Argument(
        ..., help="Order / customer exports (CSV, Parquet), or database tables as URL#TABLE."
    ),
    workspace: Path = typer.Option(
        Path("valuecast.duckdb"), "--workspace", "-w", help="The workspace DuckDB file."
    ),
    export_format: ExportFormat | None = typer.Option(
        None, "--format", help="Force the export format instead of detecting it from the header."
    ),
    column_map: str | None = typer.Option(
        None,
        "--map",
        help="Columns of a generic orders table: customer_id=COL,ordered_at=COL,revenue=COL[,...]",
    ),
    fx: Path | None = typer.Option(
        None, "--fx", help="RATES.csv converting every currency to one base currency."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the ingest report as JSON."),
    engine: str = typer.Option("duckdb", "--engine", help=cli_scale.ENGINE_HELP),
    tables: str | None = typer.Option(None, "--tables", help=cli_scale.TABLES_HELP),
) -> None:
    """Read exports into the workspace: all files in one transaction, or none of them.

    Re-ingesting an export changes nothing; a newer export adds new orders and updates changed ones.
    """
    if engine != "duckdb":  # the canonical tables go to Spark or a database (docs/scale.md)
        return cli_scale.ingest_on_engine(
            files, engine, tables, export_format, column_map, fx, as_json
        )
    report = _ingest_files(files, workspace, export_format, column_map, fx)
    if as_json:
        print(report.to_json())
    else:
        _print_ingest_report(report)


@app.command()
def summary(
    files: list[str] = typer.Argument(
        None, help="Exports to summarise directly, without a workspace (default: the workspace)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .csv or .parquet."),
    workspace: Path = typer.Option(
        Path("valuecast.duckdb"), "--workspace", "-w", help="The workspace DuckDB file."
    ),
    export_format: ExportFormat | None = typer.Option(
        None, "--format", help="With FILE: force the export format instead of detecting it."
    ),
    column_map: str | None = typer.Option(
        None,
        "--map",
        help="With FILE: columns of a generic orders table: customer_id=COL,ordered_at=COL,revenue=COL",
    ),
    fx: Path | None = typer.Option(
        None, "--fx", help="With FILE: RATES.csv converting every currency to one base currency."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="YYYY-MM-DD (default: the last order date in the data)."
    ),
    calibration_end: str | None = typer.Option(
        None, "--calibration-end", help="YYYY-MM-DD: add holdout columns after this date."
    ),
    compressed: Path | None = typer.Option(
        None, "--compressed", help="Also write the (frequency, recency, T, count) table here."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
    engine: str = typer.Option("duckdb", "--engine", help=cli_scale.ENGINE_HELP),
    tables: str | None = typer.Option(None, "--tables", help=cli_scale.TABLES_HELP),
) -> None:
    """Write one row per customer: purchase history, RFM in days, and holdout columns.

    With FILE the exports are read and summarised in memory (the same rules and results as
    `ingest` then `summary`, nothing stored); without FILE the workspace is summarised.
    """
    if engine != "duckdb":  # computed and written by Spark or the database (docs/scale.md)
        return cli_scale.summary_on_engine(
            engine, tables, out, as_of, calibration_end, compressed, as_json, files
        )
    from valuecast.analysis.summary import SummaryError, summarize
    from valuecast.engine import EngineError, Workspace
    from valuecast.io.schema import InputError
    from valuecast.outputs import write_atomically, write_ibis_csv

    for target in (out, compressed):
        if target is not None and target.suffix.lower() not in (".csv", ".parquet"):
            fail(f"{target}: the output must be a .csv or .parquet file")
        if target is not None and not target.parent.exists():
            fail(f"{target}: folder {target.parent} does not exist")
    started = time.perf_counter()
    source: dict[str, object]
    if files:
        from valuecast.jobs.files import summarize_files

        for name in files:
            _require_file(name)
        if fx is not None and not fx.is_file():
            fail(f"{fx}: no such file (--fx)")
        try:
            summarized = summarize_files(
                files,
                format=export_format.value if export_format else None,
                column_map=column_map,
                fx=fx,
                as_of=as_of,
                calibration_end=calibration_end,
            )
        except (InputError, SummaryError, EngineError) as error:
            fail(str(error))
        except Exception as error:  # an importer bug must still not print a traceback
            fail(f"{', '.join(files)}: could not be summarised: {type(error).__name__}: {error}")
        result, con, closer = summarized.summary, summarized.con, summarized.close
        source = {
            "inputs": list(files),
            "route": summarized.route,
            "rows_read": summarized.rows_read,
            "orders": summarized.orders,
            "excluded_rows": summarized.excluded_rows,
        }
    else:
        if export_format is not None or column_map is not None or fx is not None:
            fail("--format, --map and --fx apply to FILE arguments (use `valuecast ingest`)")
        try:
            ws = Workspace(workspace, read_only=True)
        except (InputError, EngineError) as error:
            fail(str(error))
        except Exception as error:  # not a DuckDB file, locked, ...
            fail(f"{workspace}: cannot open the workspace: {error}")
        try:
            result = summarize(
                ws.orders(), as_of=as_of, calibration_end=calibration_end, customers=ws.customers()
            )
        except SummaryError as error:
            ws.close()
            fail(str(error))
        con, closer = ws.con, ws.close
        source = {"workspace": str(workspace)}
    try:
        written = {}
        for target, expr in ((out, result.table), (compressed, result.compressed())):
            if target is None:
                continue
            # through a temporary name: a reader never sees half a file
            if target.suffix.lower() == ".csv":
                write_ibis_csv(con, expr, target)
            else:
                write_atomically(target, lambda path, expr=expr: con.to_parquet(expr, path))
            written[str(target)] = _count_rows(con, target)
    finally:
        closer()
    elapsed = time.perf_counter() - started
    info = {
        **source,
        "as_of": result.as_of.isoformat() if result.as_of else None,
        "calibration_end": result.calibration_end.isoformat() if result.calibration_end else None,
        "customers": written[str(out)],
        "files": written,
        "notes": result.notes,
        "seconds": round(elapsed, 3),
    }
    if as_json:
        print(json.dumps(info, indent=2))
        return
    period = f"as of {info['as_of']}"
    if info["calibration_end"]:
        period += f", calibration to {info['calibration_end']}"
    console.print(
        f"{info['customers']:,} customers ({period}) written to {out} in {elapsed:.2f} s",
        highlight=False,
    )
    if files:
        excluded = ", ".join(
            f"{count:,} {reason}" for reason, count in source["excluded_rows"].items()
        )
        console.print(
            f"{source['rows_read']:,} rows read, {source['orders']:,} orders counted"
            + (f"; excluded rows: {excluded}" if excluded else ""),
            highlight=False,
        )
    if compressed is not None:
        console.print(f"{written[str(compressed)]:,} distinct histories written to {compressed}")
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)


def _count_rows(con, path: Path) -> int:
    """Data rows of a written .parquet (from its footer) or .csv (read back by DuckDB)."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    return int(con.read_csv(str(path), all_varchar=True).count().execute())


# ================================================================================================
# end of ingest / summary
# ================================================================================================


# ================================================================================================
# analyze: the main job
# ================================================================================================
class ModelChoice(StrEnum):
    auto = "auto"
    bgnbd = "bgnbd"
    pnbd = "pnbd"
    mbgnbd = "mbgnbd"


# the options `analyze` and `refresh` share (declared once, with their help)
WorkspaceOption = Annotated[
    Path, typer.Option("--workspace", "-w", help="The workspace DuckDB file.")
]
FormatOption = Annotated[
    ExportFormat | None,
    typer.Option(
        "--format", help="Force the export format instead of detecting it from the header."
    ),
]
MapOption = Annotated[
    str | None,
    typer.Option(
        "--map", help="Columns of a generic orders table: customer_id=COL,ordered_at=COL,..."
    ),
]
FxOption = Annotated[Path | None, typer.Option("--fx", help="RATES.csv converting currencies.")]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: the last order date).")
]
HorizonOption = Annotated[int, typer.Option("--horizon", help="Prediction horizon in months.")]
DiscountRateOption = Annotated[float, typer.Option("--annual-discount-rate")]
MarginOption = Annotated[
    float, typer.Option("--margin", help="Share of net revenue kept as profit.")
]
ModelOption = Annotated[
    ModelChoice, typer.Option("--model", help="auto picks the best on a holdout backtest.")
]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
SpendOption = Annotated[
    Path | None,
    typer.Option(
        "--spend", help="SPEND.csv (month, channel, spend): adds CAC, CLV:CAC and payback."
    ),
]


def write_analysis(analysis, ingest_report: dict | None, out: Path) -> dict[str, Path]:
    """Write customers.csv/.parquet, summary.json and ingest_report.json into ``out``."""

    from valuecast.outputs import write_atomically

    out.mkdir(parents=True, exist_ok=True)
    customers = analysis.customers
    paths = {
        "customers_csv": out / "customers.csv",
        "customers_parquet": out / "customers.parquet",
        "summary": out / "summary.json",
        "ingest_report": out / "ingest_report.json",
    }
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from valuecast.outputs import write_arrow_csv
    from valuecast.snapshots import customers_arrow

    # one Arrow table for both files; dates as calendar dates (ISO in the CSV)
    table = customers_arrow(customers)
    write_atomically(paths["customers_parquet"], lambda p: pq.write_table(table, p))
    # the CSV is for people and spreadsheets: money to the cent, rates to 6 decimals
    # (the Parquet file keeps full precision)
    money = {c for c in table.column_names if c.endswith(("_clv", "_clv_p10", "_clv_p90"))}
    money |= {"average_order_value", "predicted_average_order_value"}
    rounded = table
    for index, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            digits = 2 if field.name in money else 6
            rounded = rounded.set_column(
                index, field.name, pc.round(table.column(index), ndigits=digits)
            )
    write_arrow_csv(rounded, paths["customers_csv"])
    write_atomically(
        paths["summary"],
        lambda p: p.write_text(json.dumps(analysis.summary, indent=2, default=str)),
    )
    write_atomically(
        paths["ingest_report"],
        lambda p: p.write_text(json.dumps(ingest_report or {}, indent=2, default=str)),
    )
    return paths


def _print_analysis(analysis, paths: dict[str, Path], seconds: float) -> None:
    summary = analysis.summary
    currency = summary.get("currency") or ""
    totals = summary["totals"]
    money = lambda value: f"{value:,.0f} {currency}".strip()  # noqa: E731
    headline = Table(show_header=False, box=None, padding=(0, 2))
    headline.add_column()
    headline.add_column(justify="right")
    rows = [
        ("as of", summary["as_of"]),
        ("customers", f"{summary['n_customers']:,}"),
        ("orders", f"{summary['n_orders']:,} ({summary['n_guest_orders']:,} guest)"),
        ("historic CLV", money(totals["historic_clv"])),
    ]
    if "predicted_clv" in totals:
        predicted = money(totals["predicted_clv"])
        if totals.get("predicted_clv_p10") is not None:
            level = int(round(totals["interval_level"] * 100))
            predicted += (
                f"  ({level}% interval {totals['predicted_clv_p10']:,.0f}"
                f" to {totals['predicted_clv_p90']:,.0f})"
            )
        rows += [
            (f"predicted CLV, next {summary['horizon_months']} months", predicted),
            ("predicted orders", f"{totals['predicted_number_of_orders']:,.0f}"),
            ("model", summary["model"]["name"]),
        ]
    for name, value in rows:
        headline.add_row(name, value)
    console.print(headline)
    backtest = summary.get("backtest") or {}
    if backtest.get("models"):
        table = Table(title=f"backtest: holdout after {backtest.get('calibration_end')}")
        for column in ("model", "MAE orders", "aggregate error", "Spearman", "top-decile revenue"):
            table.add_column(column, justify="right" if column != "model" else "left")
        rows = list(backtest["models"].items())
        if backtest.get("naive"):
            rows.append(("naive (own past rate)", backtest["naive"]))
        for name, scores in rows:
            if "error" in scores:
                table.add_row(name, "failed", scores["error"][:40], "", "")
                continue
            table.add_row(
                name,
                _fmt(scores.get("mae_orders")),
                _fmt(scores.get("aggregate_error_orders"), percent=True),
                _fmt(scores.get("spearman_orders")),
                _fmt(scores.get("top_decile_revenue_share"), percent=True),
            )
        console.print(table)
    groups = Table(title="RFM groups")
    groups.add_column("group")
    groups.add_column("customers", justify="right")
    groups.add_column("predicted CLV", justify="right")
    for name, row in sorted(summary["rfm_groups"].items(), key=lambda item: -item[1]["count"]):
        groups.add_row(name, f"{row['count']:,}", money(row["predicted_clv"]))
    console.print(groups)
    if summary["low_confidence"]:
        console.print("[yellow]low confidence:[/] " + "; ".join(summary["low_confidence_reasons"]))
    for note in summary.get("notes", []):
        console.print(f"note: {note}", highlight=False)
    console.print(f"written in {seconds:.1f} s:", highlight=False)
    for path in paths.values():
        console.print(f"  {path}", highlight=False, soft_wrap=True)


def _fmt(value, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if percent else f"{value:.3f}"


def run_analysis(
    files: list[str],
    workspace: Path,
    export_format: ExportFormat | None = None,
    column_map: str | None = None,
    fx: Path | None = None,
    as_of: str | None = None,
    horizon: int = 12,
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
    model: str = "auto",
    out: Path = Path("valuecast-out"),
    quiet: bool = False,
    spend: Path | None = None,
):
    """Ingest ``files`` (if any) into ``workspace``, analyse it and write the results to ``out``."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from valuecast.jobs.analyze import AnalysisOptions, analyze_with_growth
    from valuecast.snapshots import refresh, save_snapshot

    started = time.perf_counter()
    spend_frame = read_spend_or_fail(spend)
    options = AnalysisOptions(
        as_of=as_of,
        horizon=horizon,
        annual_discount_rate=annual_discount_rate,
        margin=margin,
        model=model,
    )
    try:
        options.validate()
    except ValueError as error:
        fail(str(error))
    if not files and not workspace.exists():
        fail(f"{workspace}: no such workspace (give export files to analyse, or --workspace)")
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=err_console, transient=True, disable=quiet,
    )  # fmt: skip
    with progress:
        task = progress.add_task("reading exports", total=None)
        show = lambda text: progress.update(task, description=text)  # noqa: E731
        results = _read_files(files, export_format, column_map, fx) if files else None
        with writing_workspace(workspace, what="analysis failed, nothing written") as ws:
            if results is not None:
                # the new orders, the analysis of them and its snapshot: one transaction
                done = refresh(ws, results, options, spend=spend_frame, progress=show)
                analysis, tables, snapshot = done.analysis, done.tables, done.snapshot
                report = done.report.to_dict()
            else:
                report = ws.latest_ingest_report() or {}
                analysis, tables = analyze_with_growth(ws, options, show, spend=spend_frame)
                show("storing the snapshot")
                snapshot = save_snapshot(ws, analysis, tables, report, options)
        analysis.summary["snapshot_id"] = snapshot.snapshot_id
        show("writing results and the report")
        paths = _write_results(analysis, tables, report, out)
    seconds = time.perf_counter() - started
    if not quiet:
        _print_analysis(analysis, paths, seconds)
    return analysis, paths


@app.command()
def analyze(
    files: list[str] = typer.Argument(
        None, help="Exports to ingest first (Shopify, Magento, WooCommerce, orders tables)."
    ),
    workspace: WorkspaceOption = Path("valuecast.duckdb"),
    export_format: FormatOption = None,
    column_map: MapOption = None,
    fx: FxOption = None,
    as_of: AsOfOption = None,
    horizon: HorizonOption = 12,
    annual_discount_rate: DiscountRateOption = 0.10,
    margin: MarginOption = 1.0,
    model: ModelOption = ModelChoice.auto,
    out: OutOption = Path("valuecast-out"),
    spend: SpendOption = None,
    engine: str = typer.Option("duckdb", "--engine", help=cli_scale.ENGINE_HELP),
    tables: str | None = typer.Option(None, "--tables", help=cli_scale.TABLES_HELP),
) -> None:
    """Every customer's historic and predicted CLV, churn risk, next order and RFM group.

    Writes customers.csv, customers.parquet, summary.json, ingest_report.json and report.html
    (one offline HTML file with the charts) to --out, and next to them cohorts.csv,
    retention.csv, channels.csv (cac.csv with --spend), affinity.csv, next_products.csv and
    reminders.csv.  Without FILE it analyses what the workspace holds.
    """
    if engine != "duckdb":  # the analysis runs on Spark or the database (docs/scale.md)
        from valuecast.jobs.analyze import AnalysisOptions

        options = AnalysisOptions(
            as_of=as_of, horizon=horizon, annual_discount_rate=annual_discount_rate,
            margin=margin, model=model.value,
        )  # fmt: skip
        cli_scale.analyze_on_engine_cli(
            files or [], engine, tables, export_format, column_map, fx, options, out
        )
        return
    run_analysis(
        files or [], workspace, export_format, column_map, fx, as_of, horizon,
        annual_discount_rate, margin, model.value, out, spend=spend,
    )  # fmt: skip


def _write_results(analysis, tables: dict, ingest_report: dict, out: Path) -> dict[str, Path]:
    """Every result file in ``out``: the customers files, the growth tables and the report.

    The customers files are written by Arrow (which lets go of the GIL) in a second thread while
    this one writes the growth tables and renders the report (Python: Plotly and Jinja): 5.5 s
    one after the other at 1M customers, 3.4 s side by side.
    """
    from concurrent.futures import ThreadPoolExecutor

    from valuecast.report import write_report

    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=1) as pool:
        customers_files = pool.submit(write_analysis, analysis, ingest_report, out)
        growth = _write_growth_tables(tables, out)
        report = write_report(
            out / "report.html", analysis.summary, analysis.customers, tables, ingest_report
        )
        paths = customers_files.result()
    paths.update(growth)
    paths["report"] = report
    return paths


def _write_growth_tables(tables: dict, out: Path) -> dict[str, Path]:
    """The growth tables as CSV files in ``out``, rounded for people like customers.csv."""
    from valuecast.cli_channels import _rounded_for_csv
    from valuecast.cli_growth import _csv_ready
    from valuecast.cli_products import _iso_dates
    from valuecast.outputs import write_csv

    paths = {}
    for name, frame in tables.items():
        if name in ("cohorts.csv", "retention.csv", "days_between_orders.csv"):
            frame = _csv_ready(frame)
        elif name in ("channels.csv", "cac.csv"):
            frame = _rounded_for_csv(frame)
        elif name == "reminders.csv":
            frame = _iso_dates(frame, ("last_purchase_date", "due_date"))
        else:
            frame = frame.round(6)
        path = out / name
        write_csv(frame, path)
        paths[name.removesuffix(".csv")] = path
    return paths


def _register_commands() -> None:
    """The growth, channel and product commands live in their own modules."""
    from valuecast.cli_channels import add_commands as channel_commands
    from valuecast.cli_exports import add_commands as export_commands
    from valuecast.cli_growth import add_commands as growth_commands
    from valuecast.cli_history import add_commands as history_commands
    from valuecast.cli_products import add_commands as product_commands
    from valuecast.cli_report import add_commands as report_commands
    from valuecast.cli_web import add_commands as web_commands

    growth_commands(app)
    channel_commands(app)
    product_commands(app)
    report_commands(app)
    export_commands(app)
    history_commands(app)
    web_commands(app)


_register_commands()


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
