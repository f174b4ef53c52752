"""``valuecast ingest``: exports read into the workspace in one transaction, or none of them."""

from __future__ import annotations

from pathlib import Path

import typer

from valuecast.cli import scale
from valuecast.cli.common import (
    console,
    inputs_identity,
    print_ingest_report,
    read_files,
    require_workspace_folder,
    writing_workspace,
)
from valuecast.cli.options import (
    FORMAT_NAMES,
    FX_HELP,
    EngineOption,
    ExportFormat,
    MapOption,
    TablesOption,
    WorkspaceOption,
    joined_map,
)


def _ingest_files(
    files: list[str],
    workspace: Path,
    export_format: ExportFormat | None,
    column_map: str | None,
    fx: Path | None,
):
    """Read ``files`` and write them into ``workspace`` in one transaction, or fail with one line.

    The ingest records what identifies its inputs: ``analyze`` given the same files next finds
    them held and does not read them again."""
    from valuecast.store.memory import frozen_objects

    require_workspace_folder(workspace)
    inputs = inputs_identity(files, export_format, column_map, fx)
    # what the process held before the command is left out of the garbage collections that
    # free the importers' objects, as analyze's: they scan what the command made, not every
    # module's objects (nor, in a long-lived caller, everything else it holds)
    with frozen_objects():
        results = read_files(files, export_format, column_map, fx, defer=True)
        with writing_workspace(workspace, what="ingest failed") as ws:
            return ws.ingest(results, inputs)


def ingest(
    files: list[str] = typer.Argument(
        ...,
        help="Order / customer exports (CSV, Parquet: a file or a folder of parts), or database "
        "tables as URL#TABLE.",
    ),
    workspace: WorkspaceOption = Path("valuecast.duckdb"),
    export_format: ExportFormat | None = typer.Option(
        None,
        "--format",
        metavar="<format>",
        case_sensitive=False,  # Shopify as the merchant writes the platform's name
        help=f"Force the export format instead of detecting it from the header: {FORMAT_NAMES}.",
    ),
    column_map: MapOption = None,
    fx: Path | None = typer.Option(None, "--fx", help=FX_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the ingest report as JSON."),
    engine: EngineOption = "duckdb",
    tables: TablesOption = None,
) -> None:
    """Read exports into the workspace: all files in one transaction, or none of them.

    Re-ingesting an export changes nothing; a newer export adds new orders, updates changed
    ones and removes the stored orders it now excludes (cancelled or refunded since).
    """
    column_map = joined_map(column_map)
    if engine != "duckdb":  # the canonical tables go to Spark or a database (docs/scale.md)
        return scale.ingest_on_engine(files, engine, tables, export_format, column_map, fx, as_json)
    report = _ingest_files(files, workspace, export_format, column_map, fx)
    if as_json:
        print(report.to_json())
    else:
        print_ingest_report(report)
        hint = _no_customers_hint(report.to_dict())
        if hint is not None:
            console.print(hint, highlight=False, markup=False, soft_wrap=True)


def _no_customers_hint(report: dict) -> str | None:
    """Where the workspace holds orders but no customer (every order a guest's), what to map
    or export: ``analyze`` would find no one to analyse."""
    from valuecast.jobs.analyze import naming_customers_advice

    if report["workspace_customers"] or not report["workspace_orders"]:
        return None
    return (
        f"note: no order names its customer ({report['workspace_orders']:,} guest orders, with "
        "no e-mail, phone or customer id): `valuecast analyze` finds no one to analyse; "
        + naming_customers_advice(report)
    )
