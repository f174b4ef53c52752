"""``valuecast summary``: one row per customer (purchase history, RFM, holdout) to a file.

From the workspace, or from export files summarised in memory without one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from valuecast.cli import scale
from valuecast.cli.common import (
    check_options_or_fail,
    console,
    fail,
    is_url,
    read_table_url,
    require_file,
    writing_to,
)
from valuecast.cli.options import (
    FORMAT_NAMES,
    FX_HELP,
    EngineOption,
    ExportFormat,
    TablesOption,
    WorkspaceOption,
    joined_map,
)


def summary(
    files: list[str] = typer.Argument(
        None, help="Exports to summarise directly, without a workspace (default: the workspace)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .csv or .parquet."),
    workspace: WorkspaceOption = Path("valuecast.duckdb"),
    export_format: ExportFormat | None = typer.Option(
        None,
        "--format",
        metavar="<format>",
        case_sensitive=False,  # Shopify as the merchant writes the platform's name
        help=f"With FILE: force the export format instead of detecting it: {FORMAT_NAMES}.",
    ),
    column_map: list[str] | None = typer.Option(
        None,
        "--map",
        metavar="<map>",
        help="With FILE: columns of a generic orders table: customer_id=COL, ordered_at=COL, "
        "revenue=COL",
    ),
    fx: Path | None = typer.Option(None, "--fx", help=f"With FILE: {FX_HELP}"),
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
    engine: EngineOption = "duckdb",
    tables: TablesOption = None,
) -> None:
    """Write one row per customer: purchase history, RFM in days, and holdout columns.

    With FILE the exports are read and summarised in memory (the same rules and results as
    `ingest` then `summary`, nothing stored); without FILE the workspace is summarised.
    """
    check_options_or_fail(as_of=as_of)  # a day after tomorrow: refused as analyze refuses it
    column_map = joined_map(column_map)
    if engine != "duckdb":  # computed and written by Spark or the database (docs/scale.md)
        return scale.summary_on_engine(
            engine, tables, out, as_of, calibration_end, compressed, as_json, files
        )
    from valuecast.analysis.summary import SummaryError, summarize
    from valuecast.io.schema import InputError
    from valuecast.outputs.files import write_atomically, write_ibis_csv
    from valuecast.store import EngineError, Workspace

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
            if not is_url(name):
                require_file(name)
                for target in (out, compressed):
                    if target is not None and target.resolve() == Path(name).resolve():
                        fail(f"{target}: is the export being summarised: give --out another file")
        if fx is not None and not fx.is_file():
            fail(f"{fx}: no such file (--fx)")
        # tables in a database (URL#table) are read as ingest reads them
        sources = [read_table_url(name) if is_url(name) else name for name in files]
        try:
            summarized = summarize_files(
                sources,
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
            "ingest_notes": summarized.notes,
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
    early = result.before_first_order()
    if early is not None:  # as analyze, report and export refuse it: not an empty file
        closer()
        fail(f"{early}: nothing to summarise (give a later --as-of)")
    try:
        written = {}
        for target, expr in ((out, result.table), (compressed, result.compressed())):
            if target is None:
                continue
            # through a temporary name: a reader never sees half a file
            with writing_to(target, "the summary"):
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
        f"{_counted(info['customers'], 'customer')} ({period}) written to {out} in {elapsed:.2f} s",
        highlight=False,
        markup=False,
    )
    if files:
        excluded = ", ".join(
            f"{count:,} {reason}" for reason, count in source["excluded_rows"].items()
        )
        console.print(
            f"{_counted(source['rows_read'], 'row')} read, "
            f"{_counted(source['orders'], 'order')} counted"
            + (f"; excluded rows: {excluded}" if excluded else ""),
            highlight=False,
        )
    if compressed is not None:
        console.print(
            f"{written[str(compressed)]:,} distinct histories written to {compressed}",
            markup=False,
        )
    for note in [*source.get("ingest_notes", []), *result.notes]:
        console.print(f"note: {note}", highlight=False, markup=False)


def _counted(count: int, noun: str) -> str:
    """``1 customer``, ``2,000 customers``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _count_rows(con, path: Path) -> int:
    """Data rows of a written .parquet (from its footer) or .csv (read back by DuckDB)."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    return int(con.read_csv(str(path), all_varchar=True).count().execute())
