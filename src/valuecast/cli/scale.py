"""``--engine spark|URL`` for ``ingest``, ``summary`` and ``analyze``: the same jobs on the shop's engine.

The commands ``ingest``, ``summary`` and ``analyze`` branch here when ``--engine`` is not ``duckdb``; the work is in
:mod:`valuecast.jobs.scale` (where the tables are and where results go) and
:mod:`valuecast.analysis.customers` (the analysis, shared with the DuckDB workspace).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from valuecast.cli.common import (
    console,
    describe,
    err_console,
    fail,
    print_ingest_report,
    read_files,
)
from valuecast.tables import amount_text


def _errors():
    from valuecast.analysis.summary import SummaryError
    from valuecast.io.schema import InputError
    from valuecast.store import EngineError

    return (EngineError, SummaryError, InputError, ValueError)


def _run(what: str, job):
    """``job()``; any failure is one line and exit 2 (engines raise their own exception types)."""

    try:
        return job()
    except _errors() as error:
        fail(str(error))
    except ImportError as error:
        fail(f"{what}: {error} (pip install 'valuecast[spark]' or 'valuecast[postgres]')")
    except Exception as error:  # an engine's own error (Spark analysis, database, driver)
        fail(f"{what}: {describe(error)}")


def ingest_on_engine(files, engine, tables, export_format, column_map, fx, as_json) -> None:
    """Read the exports with the importers and write the canonical tables to the engine."""
    from valuecast.jobs.scale import ingest_to_engine

    results = read_files(files, export_format, column_map, fx)
    report, written = _run("ingest", lambda: ingest_to_engine(results, engine, tables))
    if as_json:
        data = report.to_dict()
        data["engine_tables"] = written
        print(json.dumps(data, indent=2, default=str))
        return
    print_ingest_report(report)
    for name, where in written.items():
        console.print(f"{name} written to {where}", highlight=False)


def summary_on_engine(
    engine, tables, out, as_of, calibration_end, compressed, as_json, files=None
) -> None:
    """Summary (and compressed table) computed and written by the engine."""
    from valuecast.jobs.scale import summarize_on_engine

    if files:
        fail("with --engine, ingest the exports first (valuecast ingest --engine ...)")
    for target in (out, compressed):
        if engine == "spark" and target is not None and str(target).lower().endswith(".csv"):
            # Spark writes a folder of Parquet parts: a folder named .csv would mislead
            fail(f"{target}: --engine spark writes Parquet: give a .parquet path")
    started = time.perf_counter()
    info = _run(
        "summary",
        lambda: summarize_on_engine(
            engine,
            tables,
            str(out),
            as_of=as_of,
            calibration_end=calibration_end,
            compressed=None if compressed is None else str(compressed),
        ),
    )
    info["seconds"] = round(time.perf_counter() - started, 3)
    if as_json:
        print(json.dumps(info, indent=2))
        return
    console.print(
        f"{info['customers']:,} customers (as of {info['as_of']}) written by {info['engine']} "
        f"to {next(iter(info['files']))} in {info['seconds']:.2f} s",
        highlight=False,
    )
    for note in info["notes"]:
        console.print(f"note: {note}", highlight=False, markup=False)


def analyze_on_engine_cli(
    files, engine, tables, export_format, column_map, fx, options, out: Path, quiet=False,
    notes: list[str] = (),
):  # fmt: skip
    """``valuecast analyze --engine ...``: ingest FILEs (if any) to the engine, then analyse
    there; ``notes`` are printed after the analysis' own."""
    from valuecast.jobs.scale import analyze_on_engine, ingest_to_engine

    try:
        options.validate()
    except ValueError as error:
        fail(str(error))
    started = time.perf_counter()
    if files:
        results = read_files(files, export_format, column_map, fx)
        _run("ingest", lambda: ingest_to_engine(results, engine, tables))

    def show(text: str) -> None:
        if not quiet:
            err_console.print(text, highlight=False)

    summary, written = _run(
        "analyze", lambda: analyze_on_engine(engine, tables, options, out, progress=show)
    )
    seconds = time.perf_counter() - started
    if not quiet:
        totals = summary["totals"]
        console.print(
            f"{summary['n_customers']:,} customers as of {summary['as_of']} on "
            f"{summary['engine']}: historic CLV {amount_text(totals['historic_clv'])}, predicted CLV "
            f"{amount_text(totals.get('predicted_clv') or 0)} (model {summary['model']['name']})",
            highlight=False,
        )
        for note in [*summary.get("notes", []), *notes]:
            console.print(f"note: {note}", highlight=False, markup=False)
        console.print(f"written in {seconds:.1f} s:", highlight=False)
        for where in written.values():
            console.print(f"  {where}", highlight=False, soft_wrap=True)
    return summary, written
