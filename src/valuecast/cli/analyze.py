"""``valuecast analyze``: the main job, and the result files every analysis writes.

:func:`run_analysis` (ingest, analyse, store the snapshot, write the files) is shared with
``demo`` and ``refresh``.  The analysis and the writers are imported inside the functions, so
``valuecast --help`` starts without them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table
from rich.text import Text

from valuecast.cli import scale
from valuecast.cli.common import (
    check_spend_options_or_fail,
    console,
    dropped_spend_note,
    err_console,
    excluded_line,
    fail,
    forgotten_not_products_note,
    inputs_identity,
    is_url,
    kept_spend_named,
    not_products_given_or_fail,
    not_products_to_keep,
    order_counts,
    read_calendar_or_fail,
    read_files,
    read_spend_or_fail,
    require_workspace_folder,
    spend_or_kept,
    writing_workspace,
)
from valuecast.cli.options import (
    AnalysisOutOption,
    AsOfOption,
    CalendarOption,
    ClearNotProductsOption,
    CovariatesOption,
    DiscountRateOption,
    EngineOption,
    ExportFormat,
    FormatOption,
    FxOption,
    HorizonOption,
    MapOption,
    MarginOption,
    ModelChoice,
    ModelOption,
    NoSpendOption,
    NotProductOption,
    SeasonsOption,
    SpendOption,
    TablesOption,
    WorkspaceOption,
    joined_map,
)
from valuecast.cli.tables import records_fitting
from valuecast.dates import months_text
from valuecast.tables import amount_text

if TYPE_CHECKING:
    from valuecast.io.calendar import Calendar


class CustomersFiles:
    """customers.parquet and customers.csv, written in other threads as soon as the snapshot is
    stored, under temporary names; :meth:`publish` renames them into place.

    An analysis kept in the engine is streamed from its stored snapshot (``stored``: the
    workspace and snapshot id) in record batches on a cursor of its own, each batch made CSV
    text by two threads and written to the Parquet file by another
    (:func:`~valuecast.outputs.files.write_arrow_batches`), so they take a few batches of memory
    at a time; a frame is converted to one Arrow table.  Arrow and DuckDB let go of
    the GIL, so the files are written while this thread builds the charts and stores the
    dashboard's pages (Python: Plotly and pandas).  Until :meth:`publish` nothing is in place:
    a failed run leaves no customers files behind (:meth:`discard` removes them).
    """

    def __init__(self, analysis, out: Path, stored: tuple | None = None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from valuecast.outputs.files import write_arrow_batches
        from valuecast.store.snapshots import customers_arrow

        out.mkdir(parents=True, exist_ok=True)
        self.paths = {
            "customers_csv": out / "customers.csv",
            "customers_parquet": out / "customers.parquet",
        }
        self._pool = ThreadPoolExecutor(max_workers=1)
        csv, parquet = self._staged("customers_csv"), self._staged("customers_parquet")
        if getattr(analysis, "in_engine", False) and stored is not None:
            # the snapshot's cursor is opened here, before this thread goes on with the
            # workspace's connection; the pool's thread only reads it
            batches, read = _stored_batches(stored, analysis.schema())
            self._write = self._pool.submit(
                write_arrow_batches, batches, read, csv=csv, parquet=parquet,
                parquet_schema=analysis.schema(),
            )  # fmt: skip
        else:
            table = customers_arrow(analysis.customers)
            # the Parquet file keeps full precision, the CSV rounds
            self._write = self._pool.submit(
                write_arrow_batches, table.to_batches(), table.schema, csv=csv, parquet=parquet
            )

    def _staged(self, name: str) -> Path:
        path = self.paths[name]
        return path.with_name(f".{path.name}.staged")

    def wait(self) -> None:
        """Wait for both files (raising what the writing raised)."""
        self._write.result()

    def settle(self) -> None:
        """Wait for the writing to end, whatever it raised (:meth:`wait` and :meth:`publish`
        raise it)."""
        from concurrent.futures import wait

        wait([self._write])

    def publish(self) -> dict[str, Path]:
        """Wait for both files and move them into place; their paths by name."""
        self.wait()
        for name, path in self.paths.items():
            self._staged(name).replace(path)
        self._pool.shutdown()
        return dict(self.paths)

    def discard(self) -> None:
        """Wait for the writes and remove what :meth:`publish` has not moved into place."""
        self._pool.shutdown()
        for name in self.paths:
            self._staged(name).unlink(missing_ok=True)


def _stored_batches(stored: tuple, schema):
    """The stored snapshot's customers (``stored``: workspace and snapshot id) as record
    batches of columns ``schema``, and the schema they are read as.

    The batches' text columns are read as the engine gives them (``string``), the
    ``large_string`` of ``schema`` only in the Parquet file: the CSV's bytes are the same
    without a copy of every text cell.
    """
    import pyarrow as pa

    from valuecast.store.snapshots import customers_batches

    workspace, snapshot_id = stored
    read = pa.schema(
        field.with_type(pa.string()) if pa.types.is_large_string(field.type) else field
        for field in schema
    )
    return customers_batches(workspace, snapshot_id, read), read


def _model_line(model: dict) -> str:
    """The model's name, and the covariates it was fitted with (a name alone, ``pnbd``, would
    hide that the customers' attributes shift its predictions)."""
    columns = (model.get("covariates") or {}).get("columns") or []
    if not columns:
        return str(model["name"])
    asked = dict.fromkeys(str(column).partition("=")[0] for column in columns)
    return f"{model['name']} with covariates ({', '.join(asked)})"


def write_analysis(
    analysis, ingest_report: dict | None, out: Path, customers_files: CustomersFiles | None = None
) -> dict[str, Path]:
    """Write customers.csv/.parquet, summary.json and ingest_report.json into ``out``.

    ``customers_files``: the customers files when their writing started already.
    """
    from valuecast.analysis.payload import json_text
    from valuecast.outputs.files import write_atomically

    out.mkdir(parents=True, exist_ok=True)
    if customers_files is None:
        customers_files = CustomersFiles(analysis, out)
    paths = customers_files.publish()
    paths["summary"] = out / "summary.json"
    paths["ingest_report"] = out / "ingest_report.json"
    write_atomically(paths["summary"], lambda p: p.write_text(json_text(analysis.summary)))
    write_atomically(paths["ingest_report"], lambda p: p.write_text(json_text(ingest_report or {})))
    return paths


def _print_analysis(
    analysis,
    paths: dict[str, Path],
    seconds: float,
    ingest_notes: list[str] = (),
    ingested: dict | None = None,
) -> None:
    """The analysis' headline, backtest and RFM groups, then its notes and files; ``ingested``:
    the report of the ingest the command ran, whose orders it counts first."""
    summary = analysis.summary
    if ingested:
        # what the export added to the workspace: a quarter's export repeats stored orders
        text = f"ingested {ingested['orders']:,} orders ({order_counts(ingested)}"
        records = int(ingested.get("customer_records") or 0)
        if records:  # a customers export's rows: its consent and contacts, no orders
            new = int(ingested.get("new_customer_records") or 0)
            updated = int(ingested.get("updated_customer_records") or 0)
            text += (
                f") and {records:,} customer record{'s' if records != 1 else ''} "
                f"(new {new:,}, updated {updated:,}"
            )
        console.print(f"{text}; ingest #{ingested['ingest_id']})", highlight=False, soft_wrap=True)
        # what the files held that is not counted, by reason: ingest_report.json has the counts
        excluded = excluded_line(ingested, paths.get("ingest_report"))
        if excluded is not None:
            console.print(excluded, highlight=False, markup=False)  # wrapped like the notes
    currency = summary.get("currency") or ""
    totals = summary["totals"]
    money = lambda value: f"{amount_text(value)} {currency}".strip()  # noqa: E731
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
        horizon = months_text(summary["horizon_months"])
        rows.append((f"predicted CLV, next {horizon}", money(totals["predicted_clv"])))
        # the interval is the fit's uncertainty about the expected value; the range adds what a
        # merchant asks, how much these customers will spend (who happens to order varies too)
        from valuecast.analysis.sales_range import sales_range_label

        margin = summary.get("margin")
        for stem, label in (
            ("predicted_clv", "interval of the expected value"),
            ("predicted_sales", sales_range_label(margin)),
        ):
            if totals.get(f"{stem}_p10") is not None:
                level = int(round(totals["interval_level"] * 100))
                rows.append((
                    f"{level}% {label}",
                    f"{amount_text(totals[f'{stem}_p10'])} to {amount_text(totals[f'{stem}_p90'])}",
                ))  # fmt: skip
        if margin is not None and margin != 1:
            # the report and the dashboard say it under their title; here it is the row's
            rows.append(("margin in predicted CLV", f"{margin:.0%} (historic CLV is revenue)"))
        from valuecast.jobs.analyze import AnalysisOptions  # imported by the analysis

        rate = summary.get("annual_discount_rate")
        if rate is not None and rate != AnalysisOptions.annual_discount_rate:  # the default's
            rows.append(("discount rate in predicted CLV", f"{rate:.0%} a year"))
        rows += [
            ("predicted orders", f"{totals['predicted_number_of_orders']:,.0f}"),
            ("model", _model_line(summary["model"])),
        ]
    shop_cac = (summary.get("growth") or {}).get("cac")
    if shop_cac:
        rows += _blended_cac_rows(shop_cac, currency)
        rows += _channels_ratio_rows(summary.get("growth") or {})
    for name, value in rows:
        headline.add_row(name, value)
    console.print(headline)
    backtest = summary.get("backtest") or {}
    models = backtest.get("models") or {}
    if models and all("error" in scores for scores in models.values()):
        # every candidate failed (a shop without repeat purchases): a line each, not a table of
        # reasons wrapped word by word beside empty columns
        failed = f"backtest (holdout after {backtest.get('calibration_end')}): every model failed"
        reasons = {_failure_reason(str(scores["error"])) for scores in models.values()}
        if len(reasons) == 1 and None not in reasons:
            # one reason for all (no repeat purchase before the holdout): said once
            console.print(
                f"{failed} ({', '.join(models)}): {reasons.pop()}", highlight=False, soft_wrap=True
            )
        else:
            console.print(failed, highlight=False)
            for name, scores in models.items():
                console.print(f"  {name}: {scores['error']}", highlight=False, soft_wrap=True)
    elif models:
        table = Table(title=f"backtest: holdout after {backtest.get('calibration_end')}")
        rows = list(backtest["models"].items())
        if backtest.get("naive"):
            rows.append((NAIVE_ROW, backtest["naive"]))
        for column in ("model", "MAE orders", "aggregate error", "Spearman", "top-decile revenue"):
            # a model's name is never cut ("mbgnbd+covaria…"); the numbers' columns give way
            table.add_column(
                column, justify="right" if column != "model" else "left", no_wrap=column == "model"
            )
        names = max(len(NAIVE_ROW), *(len(name) for name, _ in rows))
        # with --covariates, the version of a candidate that did not compete (see the report)
        eligible = (backtest.get("covariates") or {}).get("eligible")
        for name, scores in rows:
            if "error" in scores:
                # the whole reason, wrapped in its cell: a cut "FitError: ... no c…" says nothing
                table.add_row(name, "failed", Text(str(scores["error"])), "", "")
                continue
            shown = name
            if eligible is not None and name in backtest["models"] and name not in eligible:
                # a line of its own where the names are not as wide: the numbers' headers
                # would be cut to "aggrega…" and "top-dec…" in 80 columns
                marker = " (not eligible)"
                shown = name + (marker if len(name + marker) <= names else "\n" + marker.strip())
            table.add_row(
                shown,
                _fmt(scores.get("mae_orders")),
                _fmt(scores.get("aggregate_error_orders"), percent=True),
                _fmt(scores.get("spearman_orders")),
                _fmt(scores.get("top_decile_revenue_share"), percent=True),
            )
        _print_records(table)
        if eligible is not None:
            console.print(_covariates_line(backtest["covariates"]), highlight=False)
        from valuecast.analysis.backtest import naive_verdict  # scipy: not at start-up

        verdict = naive_verdict(
            backtest, predicted=(summary.get("model") or {}).get("fitted") is not False
        )
        if verdict:
            console.print(f"[yellow]{verdict}[/]", highlight=False)
    _print_rfm_groups(summary, money)
    if summary["low_confidence"]:
        console.print("[yellow]low confidence:[/] " + "; ".join(summary["low_confidence_reasons"]))
    # where the model draws no future (seasons, covariates) the headline's range is missing
    no_range = totals.get("sales_range_note") if "predicted_clv" in totals else None
    for note in [*ingest_notes, *summary.get("notes", []), *([no_range] if no_range else [])]:
        console.print(f"note: {note}", highlight=False, markup=False)
    console.print(f"written in {seconds:.1f} s:", highlight=False)
    for path in paths.values():
        console.print(f"  {path}", highlight=False, markup=False, soft_wrap=True)


def _print_records(table: Table) -> None:
    """``table`` as it fits the terminal (:func:`~valuecast.cli.tables.records_fitting`), else
    its title and a line a row, each cell after its header: at 40 columns (a CI log's) every
    backtest number was cut to an ellipsis."""
    fitting = records_fitting(table, console)
    if fitting is not None:
        console.print(fitting)
        return
    console.print(f"{table.title}:", highlight=False)
    headers = [str(column.header) for column in table.columns]
    cells = [[str(cell).replace("\n", " ") for cell in column.cells] for column in table.columns]
    for row in zip(*cells, strict=True):
        pairs = zip(headers[1:], row[1:], strict=True)
        shown = ", ".join(f"{header} {cell}" for header, cell in pairs if cell)
        console.print(f"  {row[0]}: {shown}", highlight=False, markup=False, soft_wrap=True)


def _print_rfm_groups(summary: dict, money: Callable[[float], str]) -> None:
    """The RFM groups' customers and value, as the dashboard's table shows them, with the
    report's caveat for a shop of under a year: the groups rank customers against one another,
    so in a 9-day shop a buyer of 9 days ago reads as Dormant."""
    from valuecast.outputs.report.segments import young_shop_words  # pandas: not at start-up

    rows = sorted(summary["rfm_groups"].items(), key=lambda item: -item[1]["count"])
    # withheld predictions leave every group's predicted CLV None: no column of dashes
    predicted = any(row.get("predicted_clv") is not None for _, row in rows)
    groups = Table(title="RFM groups")
    groups.add_column("group")
    groups.add_column("customers", justify="right")
    groups.add_column("historic CLV", justify="right")
    if predicted:
        groups.add_column("predicted CLV", justify="right")
    for name, row in rows:
        cells = [name, f"{row['count']:,}", money(row["historic_clv"])]
        if predicted:
            value = row["predicted_clv"]
            cells.append("-" if value is None else money(value))
        groups.add_row(*cells)
    _print_records(groups)
    caveat = young_shop_words(summary).strip()
    if caveat:
        console.print(f"note: RFM groups: {caveat[0].lower()}{caveat[1:]}", highlight=False)


NAIVE_ROW = "naive (own past rate)"
"""The naive guess' row of the backtest table: the width a model's row may take on one line."""


def _covariates_line(covariates: dict) -> str:
    """What came of ``--covariates``: the models that kept them, and why a version of each
    model is marked not eligible (the report's backtest table says it per row)."""
    kept = [
        name.removesuffix("+covariates")
        for name in covariates["eligible"]
        if name.endswith("+covariates")
    ]
    return (
        f"covariates kept by: {', '.join(kept) if kept else 'none of the models'}. Each model "
        "competes with its covariates where they lower its holdout RMSE of orders per customer, "
        "else without them; the other version is not eligible"
    )


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
    calendar: Path | Calendar | None = None,
    seasons: bool = True,
    covariates: str | None = None,
    on_step: Callable[[str], None] | None = None,
    no_spend: bool = False,
    not_product: list[str] | None = None,
    clear_not_products: bool = False,
):
    """Ingest ``files`` (if any) into ``workspace``, analyse it and write the results to ``out``.

    ``no_spend``: analyse without spend and drop the spend the workspace keeps, with the
    snapshot.  ``not_product``: line names and SKUs that are no product, added to those the
    workspace keeps with the snapshot; ``clear_not_products`` forgets those kept.
    Given neither, the analysis leaves out the names the workspace keeps.

    ``on_step`` is called with each step's name as it starts (what the progress line shows):
    ``benchmarks/end_to_end.py`` times the steps by it.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # nothing that imports Ibis or SciPy before the ingest: refresh imports the analysis while
    # DuckDB ingests the files
    from valuecast.analysis.covariate_names import CovariateError, parse_covariates
    from valuecast.io.calendar import Calendar
    from valuecast.jobs.analyze import AnalysisOptions, analyze_with_growth
    from valuecast.jobs.refresh import import_analysis_modules, kept_analysis, refresh
    from valuecast.store.memory import frozen_objects

    started = time.perf_counter()
    check_spend_options_or_fail(spend, no_spend)
    _no_input_among_results([*(files or []), *([spend] if spend else [])], out)
    given_not_products = not_products_given_or_fail(not_product, clear_not_products)
    inputs, held = _inputs_held(files, workspace, export_format, column_map, fx)
    held_note = None
    if held is not None:  # the workspace holds these files as they are: analysed as stored
        held_note, files = _held_note(files, held), []
    if files and imports_beside_reading(files):
        import_analysis_modules()  # else refresh starts them beside the ingest
    given_spend = read_spend_or_fail(spend)
    options = AnalysisOptions(
        as_of=as_of,
        horizon=horizon,
        annual_discount_rate=annual_discount_rate,
        margin=margin,
        model=model,
        seasons=seasons,
        # a calendar read already: the last analysis' (``refresh``)
        calendar=calendar if isinstance(calendar, Calendar) else read_calendar_or_fail(calendar),
    )
    try:
        options.covariates = tuple(parse_covariates(covariates))
    except CovariateError as error:
        fail(str(error))
    try:
        options.validate()
    except ValueError as error:
        fail(str(error))
    if not files and not workspace.exists():
        fail(f"{workspace}: no such workspace (give export files to analyse, or --workspace)")
    require_workspace_folder(workspace)
    problem = _out_folder_problem(out)
    if problem:  # before the work whose results would have nowhere to go
        fail(problem)
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        # not on a terminal (a log, a pipe) it would only leave a blank line on stderr
        console=err_console, transient=True, disable=quiet or not err_console.is_terminal,
    )  # fmt: skip
    customers_files: CustomersFiles | None = None
    unchanged = None
    try:
        # what the command has loaded is left out of its garbage collections (the analysis
        # freezes its own modules as it starts)
        with progress, frozen_objects():
            task = progress.add_task("reading exports", total=None)

            def show(text: str) -> None:
                progress.update(task, description=text)
                if on_step is not None:
                    on_step(text)

            if on_step is not None:
                on_step("reading exports")
            results = (
                read_files(files, export_format, column_map, fx, defer=True) if files else None
            )
            with writing_workspace(workspace, what="analysis failed") as ws:
                from valuecast.store.not_products import kept_not_products, store_not_products

                # without --spend, the spend the workspace keeps (given to an earlier analyze)
                if no_spend:
                    spend_frame, kept_note = None, dropped_spend_note(ws)
                else:
                    spend_frame, kept_note = spend_or_kept(ws, given_spend)
                kept_name = None if spend is None else spend.name  # --spend replaces the kept
                kept_names = kept_not_products(ws)
                forgotten_note = (
                    forgotten_not_products_note(kept_names) if clear_not_products else None
                )
                # the names given are added to those kept; None: the analysis uses those kept
                keep_not_products = not_products_to_keep(kept_names, given_not_products)
                options.not_products = keep_not_products
                if results is not None:
                    # the new orders, the analysis of them and its snapshot: one transaction
                    try:
                        done = refresh(
                            ws, results, options, spend=spend_frame, progress=show,
                            in_engine=True, inputs=inputs, keep_spend_as=kept_name,
                            drop_kept_spend=no_spend, keep_not_products=keep_not_products,
                        )  # fmt: skip
                    except ValueError as error:
                        raise _with_ingest_report(error, out) from None
                    analysis, tables, snapshot = done.analysis, done.tables, done.snapshot
                    report = done.report.to_dict()
                    if done.kept:
                        unchanged = (analysis, tables, snapshot)
                else:
                    from valuecast.store.snapshots import save_snapshot

                    if held is not None and ws.latest_ingest_inputs() != (held, inputs):
                        fail(f"{workspace}: another command ingested into it meanwhile: run again")
                    report = ws.latest_ingest_report() or {}
                    # the orders and options of the latest snapshot: it is kept, not made again
                    given = spend is not None or no_spend or given_not_products is not None
                    unchanged = None if given else kept_analysis(ws, options)
                    if unchanged is not None:
                        analysis, tables, snapshot = unchanged
                    else:
                        # one transaction: the analysis writes the snapshot's customers as it goes
                        with ws.transaction():
                            analysis, tables = analyze_with_growth(
                                ws, options, show, spend=spend_frame, in_engine=True
                            )
                            show("storing the snapshot")
                            snapshot = save_snapshot(ws, analysis, tables, report, options)
                            if kept_name is not None:
                                from valuecast.store.spend import store_spend

                                store_spend(ws, spend_frame, kept_name)
                            elif no_spend:
                                from valuecast.store.spend import drop_spend

                                drop_spend(ws)
                            if keep_not_products is not None:
                                store_not_products(ws, keep_not_products)
                # the workspace pages the analysis read stay cached, unread by what follows,
                # which reads the snapshot a batch at a time
                ws.release_cached_pages()
                ws.lower_memory_to_default()
                # from here on the snapshot is committed: a failure keeps it (and the workspace)
                # and says so
                try:
                    customers_files = CustomersFiles(analysis, out, (ws, snapshot.snapshot_id))
                    show("storing the dashboard's charts")
                    built = _store_pages(ws, analysis, tables, report, snapshot, customers_files)
                except KeyboardInterrupt:
                    _interrupted(out, workspace, snapshot)
                except Exception as error:
                    fail(_results_failed(out, error, workspace, snapshot))
                finally:
                    analysis.release()
                    if customers_files is not None:
                        # its thread reads this workspace on a cursor, and a connection
                        # refuses to close while a cursor of it is reading
                        customers_files.settle()
            analysis.summary["snapshot_id"] = snapshot.snapshot_id
            show("writing results and the report")
            try:
                paths = _write_results(analysis, tables, report, out, built, customers_files)
            except KeyboardInterrupt:
                _interrupted(out, workspace, snapshot)
            except Exception as error:
                fail(_results_failed(out, error, workspace, snapshot))
    finally:
        if customers_files is not None:
            customers_files.discard()
    seconds = time.perf_counter() - started
    if not quiet:
        # what the ingest noticed (a cancelled order removed, a file cut off, ...)
        noticed = report.get("notes", []) if results is not None else []
        if held_note is not None:
            noticed = [held_note]
        if kept_note is not None:
            noticed = [*noticed, kept_note]
        if forgotten_note is not None:
            noticed = [*noticed, forgotten_note]
        if unchanged is not None:
            files_last = report.get("last_order_date") if results is not None else None
            dated_by_files = results is not None and as_of is None
            tail = _no_new_period(snapshot, files_last) if dated_by_files else ""
            noticed = [*noticed, _unchanged_note(snapshot) + tail]
        if snapshot.replaced:  # one snapshot per as-of date
            files_last = report.get("last_order_date") if results is not None else None
            noticed = [
                *noticed,
                _replaced_note(
                    snapshot,
                    results is not None and as_of is None,
                    files_last,
                    int(report.get("new_orders") or 0) if results is not None else 0,
                ),  # fmt: skip
            ]
        _print_analysis(
            analysis, paths, seconds, noticed, ingested=report if results is not None else None
        )
    return analysis, paths


def _unchanged_note(snapshot) -> str:
    """The note on a snapshot kept as it is (:func:`~valuecast.jobs.refresh.kept_analysis`)."""
    return (
        f"this is snapshot {snapshot.snapshot_id} ({snapshot.as_of}) again: the workspace's "
        "orders are as it read them and these options are its own, so it is kept under its id "
        "and its results are written again, not analysed anew (new or changed orders, or other "
        "options, make a new analysis)"
    )


def _replaced_note(
    snapshot, dated_by_new_files: bool, files_last: str | None = None, new_orders: int = 0
) -> str:
    """The note on the snapshots of the same as-of date ``snapshot`` replaced.

    ``dated_by_new_files``: files were read and the as-of date is the workspace's last order
    date.  A quarter's export holding no order after the last snapshot's date (a quiet quarter,
    or its overlap alone) then dates the analysis as that snapshot and replaces it: the
    merchant, who expects the new quarter beside the last, is told how to date it
    (:func:`_no_new_period`).
    """
    listed = ", ".join(str(old) for old in snapshot.replaced)
    note = (
        f"this snapshot replaces snapshot {listed}, of the same as-of date ({snapshot.as_of}); "
        "`valuecast history` lists the others"
    )
    tail = _no_new_period(snapshot, files_last, new_orders) if dated_by_new_files else ""
    return note + tail


def _no_new_period(snapshot, files_last: str | None, new_orders: int = 0) -> str:
    """The sentences telling a merchant whose files dated the analysis as ``snapshot`` (no order
    in them after its date) how to store a new period's beside it.  Files whose last order
    (``files_last``, the ingest report's) is before that date are an older export: no later day
    is theirs to date, and the note says so instead.  Files that add ``new_orders`` up to that
    date (a snapshot dated by --as-of before the export's last orders came) make that date's
    analysis with them: the advice to date it later is then only for an export covering later
    days without orders."""
    if new_orders:
        added = f"{new_orders:,} {'order' if new_orders == 1 else 'orders'}"
        return (
            f". These files add {added}, none dated after {snapshot.as_of}: this is that date's "
            "analysis again, now with them (if the export covers later days without orders, "
            "run again with --as-of set to its last day to store a new period's beside it)"
        )
    if files_last is not None and files_last < str(snapshot.as_of):
        return (
            f". These files' last order is dated {files_last}, before {snapshot.as_of}, the "
            "stored orders' last (an older export): they hold no new period, so this is that "
            "date's analysis again; a later export dates the next snapshot"
        )
    return (
        f". No order in these files is dated after {snapshot.as_of}, the date the analysis "
        "takes by default (the last order date): this is that date's analysis again, not a "
        "new period's; to store the new period's beside it, run again with --as-of set to "
        "the last day the export covers"
    )


def _with_ingest_report(error: ValueError, out: Path) -> ValueError:
    """``error``, or where the files read held no customer (every order a guest's,
    :class:`~valuecast.analysis.summary.NoCustomersError`), the same naming the ingest report
    it writes to ``out`` first: the ingest is rolled back with the analysis, and the report is
    where the merchant reads what each row read became."""
    from valuecast.analysis.payload import json_text
    from valuecast.analysis.summary import NoCustomersError
    from valuecast.outputs.files import write_atomically

    if not isinstance(error, NoCustomersError) or error.ingest_report is None:
        return error
    path = out / "ingest_report.json"
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda p: p.write_text(json_text(error.ingest_report)))
    except OSError:
        return error
    return NoCustomersError(f"{error} (every row read is counted in {path})")


def _inputs_held(files, workspace: Path, export_format, column_map, fx):
    """The identity of the inputs ``files`` (with the options they are read with; None where
    they have none, :func:`valuecast.io.inputs.inputs_fingerprint`), and the id of the
    workspace's last ingest when it was of these very inputs (None if not): its orders are then
    the files' as they stand, and reading them again would change nothing."""
    if not files:
        return None, None
    inputs = inputs_identity(files, export_format, column_map, fx)
    if inputs is None or not workspace.exists():
        return inputs, None
    from valuecast.store.workspace import ingest_holding

    return inputs, ingest_holding(workspace, inputs)


def _held_note(files: list[str], ingest_id: int) -> str:
    named, it = (files[0], "it") if len(files) == 1 else (f"these {len(files)} files", "them")
    return (
        f"{named}: unchanged since ingest {ingest_id} read {it}, the last one into this "
        "workspace: analysed as stored, not read again"
    )


IMPORTS_BESIDE_THE_INGEST_FROM = 32 * 2**20
"""Bytes of export files from which the analysis' modules (~0.75 s) are imported beside the
ingest instead of beside reading the files.  Reading and checking them is Python's work, which
a thread importing modules slows down (1M customers' 123 MB CSV: 0.25 s alone, 0.57 s beside
the imports), while DuckDB's ingest leaves Python's lock free and, from about this size, takes
longer than the imports; a smaller file's ingest is over before the imports would be (a 2 MB
CSV's analysis takes 0.5 s longer with them started there)."""


def imports_beside_reading(files: list[str]) -> bool:
    """Whether ``analyze FILES`` starts the analysis' imports before it reads the files: yes for
    files smaller in all than :data:`IMPORTS_BESIDE_THE_INGEST_FROM` bytes and for tables in a
    database (URL#table), which are read by Ibis and imported like files."""
    import os

    total = 0
    for source in files:
        if is_url(source):
            return True
        try:
            total += os.path.getsize(source)
        except OSError:  # read_files names what is wrong with it
            return True
    return total < IMPORTS_BESIDE_THE_INGEST_FROM


RESULT_FILES = (
    "customers.csv", "customers.parquet", "summary.json", "ingest_report.json", "report.html",
    "channels.csv", "cac.csv", "cohorts.csv", "retention.csv", "days_between_orders.csv",
    "affinity.csv", "next_products.csv", "reminders.csv",
)  # fmt: skip
"""The files an analysis writes into its folder (or removes there, cac.csv without spend)."""


def _no_input_among_results(inputs: list, out: Path) -> None:
    """Fail where an input file is one the results replace: an orders table saved as
    customers.csv analysed with ``--out .`` was overwritten by the results without a word."""
    folder = out.absolute().resolve()
    for given in inputs:
        if is_url(str(given)):
            continue
        path = Path(given).absolute().resolve()
        # by name whatever its case: macOS and Windows name Customers.csv and customers.csv one
        if path.parent == folder and path.name.lower() in RESULT_FILES:
            fail(
                f"{given}: is a file the results are written to (--out {out}): give --out "
                "another folder, or rename the file"
            )


def _out_folder_problem(out: Path) -> str | None:
    """Why the results cannot be written into folder ``out`` (made when missing), or None."""
    import os

    target = out.absolute()
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        named = "" if existing == target else f" ({existing} is a file)"
        return f"{out}: not a folder{named}; give --out a folder to write the results into"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{out}: cannot write into {existing} (permission denied)"
    return None


def _interrupted(out: Path, workspace: Path, snapshot) -> None:
    """Say, on Ctrl-C after the snapshot was committed, that it is stored and its files are
    not: the snapshot replaced any other of its as-of date (exit 130, as for an interrupt)."""
    from rich.markup import escape

    err_console.print(
        escape(
            f"interrupted: the analysis is stored in {workspace} as snapshot "
            f"{snapshot.snapshot_id} (as of {snapshot.as_of}); the files in {out} were not all "
            "written (run the same command again: it keeps the snapshot and writes them)"
        ),
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(code=130)


def _blended_cac_rows(cac: dict, currency: str) -> list[tuple[str, str]]:
    """summary.json's ``growth.cac`` as headline rows: CAC with the spend and the new customers
    it divides, then CLV:CAC and the payback month (cac.csv's first rows give it per month)."""
    from valuecast.analysis.growth.tables import WHOLE_SHOP_BLENDED

    spend = "-" if cac.get("spend") is None else amount_text(cac["spend"])
    customers = f"{cac['customers']:,} new customer{'s' if cac['customers'] != 1 else ''}"
    if cac.get("spend") is None:  # every month of the spend is outside the orders
        return [(f"CAC, {WHOLE_SHOP_BLENDED}", "- (no spend in the months of the orders)")]
    if cac.get("cac") is None:
        return [
            (f"CAC, {WHOLE_SHOP_BLENDED}", f"- ({spend} of spend, no new customer in its months)")
        ]
    amount = f"{amount_text(cac['cac'], 2)} {currency}".strip()
    guests = int(cac.get("guest_orders") or 0)
    # guests are no acquired customer (cac.csv's note says why): said where the count is read
    unnamed = f", {guests:,} guest order{'s' if guests != 1 else ''} not counted" if guests else ""
    rows = [(f"CAC, {WHOLE_SHOP_BLENDED}", f"{amount} ({spend} / {customers}{unnamed})")]
    payback = cac.get("payback_month")
    paid = (
        "not paid back yet"
        if payback is None
        else "paid back in the month of acquisition"
        if payback == 0
        else f"paid back in month {payback}"
    )
    ratio = cac.get("clv_to_cac")
    rows.append(
        (f"CLV:CAC, {WHOLE_SHOP_BLENDED}", paid if ratio is None else f"{ratio:.2f}, {paid}")
    )
    return rows


def _channels_ratio_rows(growth: dict) -> list[tuple[str, str]]:
    """summary.json's ``growth.clv_to_cac`` as a headline row where it is the channels' with
    spend (the growth stage's), not the blended one above it: it leaves out the customers
    acquired without spend, so it is the lower of the two, and named so that the two figures
    of the shop are not read as one."""
    from valuecast.analysis.growth.tables import CHANNELS_WITH_SPEND

    ratio = growth.get("clv_to_cac")
    if ratio is None or growth.get("clv_to_cac_of") != CHANNELS_WITH_SPEND:
        return []
    return [(f"CLV:CAC, {CHANNELS_WITH_SPEND}", f"{ratio:.2f} (their customers, their spend)")]


def _results_failed(out: Path, error: Exception, workspace: Path, snapshot) -> str:
    """The one line of an output that failed once the snapshot was committed."""
    return (
        f"{out}: writing the results failed: {type(error).__name__}: {error}; the analysis is "
        f"stored in {workspace} as snapshot {snapshot.snapshot_id} (as of {snapshot.as_of})"
    )


_CANNOT_BE_FITTED = re.compile(r"^\w+Error: \w+ cannot be fitted: (.+)$")
"""A model's failure to fit on the calibration history, its reason after the model's class."""


def _failure_reason(error: str) -> str | None:
    """The reason of a backtest failure ``FitError: BetaGeo cannot be fitted: REASON``, which
    every candidate gives alike when the data rule them all out; None for any other error."""
    matched = _CANNOT_BE_FITTED.match(error)
    return None if matched is None else matched.group(1)


def _store_pages(ws, analysis, tables, report, snapshot, files: CustomersFiles):
    """Make the one chart pass of the report and the dashboard's pages and store the pages while
    ``files`` are written; returns the report's chart pass once the files are read from the
    workspace.

    The customers page's sort orders are made from the committed snapshot, a column at a time,
    in a thread of their own (NumPy and Arrow let go of the GIL) while this one draws the charts.
    """
    from concurrent.futures import ThreadPoolExecutor

    from valuecast.store.snapshots import save_sort_orders, snapshot_sort_orders

    snapshot_id = snapshot.snapshot_id
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:  # done before the workspace closes
            sort_orders = pool.submit(snapshot_sort_orders, ws, snapshot_id)
            built = _store_charts(ws, analysis, tables, report, snapshot_id)
            save_sort_orders(ws, snapshot_id, sort_orders.result())
    except BaseException:
        files.discard()  # the failure being reported is this one, not the files'
        raise
    files.wait()  # they read the workspace: done before it closes
    return built


def _store_charts(ws, analysis, tables, report, snapshot_id: int):
    """Make the one chart pass of the report and the dashboard's pages, store the pages' charts
    and segment counts; returns the report's chart pass.

    The charts and segment counts read only their columns of the customers table
    (:data:`~valuecast.outputs.report.render.CUSTOMER_COLUMNS_READ`,
    :data:`~valuecast.web.views.SEGMENT_COLUMNS`, the segments' compact frame), not the whole
    table.
    """
    from valuecast.analysis.payload import json_ready
    from valuecast.outputs.report.render import CUSTOMER_COLUMNS_READ, report_sections
    from valuecast.store.memory import release_unused_memory
    from valuecast.web.views import (
        SEGMENT_COLUMNS,
        address_declined,
        segment_frame,
        store_view,
        view_parts,
    )

    # one chart pass for the report and the dashboard's pages, from the analysis in the
    # workspace: what the snapshot stores gives the same pages without reading it back;
    # each reads its own columns, one frame in memory at a time
    charts = analysis.frame(CUSTOMER_COLUMNS_READ)
    built = report_sections(analysis.summary, charts, tables, report)
    del charts
    # the chart columns' pages, before the segments' are read; the frames are freed as
    # they go out of use: a garbage collection here found only a few small cycles (1M
    # customers: 0.3 s of scanning for no memory back)
    release_unused_memory(collect=False)
    # the customer ids only where customers share an address (its consent is the address')
    shared = ws.shared_addresses()
    columns = (*SEGMENT_COLUMNS, "customer_id") if len(shared) else SEGMENT_COLUMNS
    segments = segment_frame(analysis.arrow(columns, as_read=True), self_destruct=True)
    release_unused_memory(collect=False)  # the columns' Arrow pages, freed as they were converted
    declined = address_declined(segments.pop("customer_id"), shared) if len(shared) else None
    parts = view_parts(
        json_ready(analysis.summary), segments, tables, json_ready(report) or None, built,
        declined=declined, declining=_declining_due(analysis, tables, shared),
    )  # fmt: skip
    del segments
    release_unused_memory(collect=False)  # the segments' frame, freed on return
    store_view(ws, snapshot_id, parts)  # `valuecast serve` starts without them
    return built


def _declining_due(analysis, tables: dict, shared) -> set[str]:
    """The customers due a replenishment reminder (as `valuecast reminders` keeps them) who
    decline marketing, or whose address another record declines it for (``shared``): read for
    those customers alone, not the whole customers table."""
    import pandas as pd

    from valuecast.analysis.growth.replenishment import DUE_WITHIN, kept_reminders
    from valuecast.web.views import address_declined

    every = tables.get("reminders.csv")
    if every is None or not len(every):
        return set()
    due = pd.Series(sorted(set(kept_reminders(every, DUE_WITHIN)["customer_id"].astype(str))))
    if not len(due):
        return set()
    if analysis.in_engine:
        import ibis

        table = analysis.table
        ids = ibis.memtable(pd.DataFrame({"customer_id": due}))
        declines = table.filter(table.accepts_marketing == False)  # noqa: E712 - an expression
        found = declines.semi_join(ids, "customer_id").select("customer_id").to_pandas()
        declining = set(found["customer_id"].astype(str))
    else:
        customers = analysis.customers
        stated = customers["accepts_marketing"].astype("boolean").eq(False).fillna(False)
        declining = set(customers.loc[stated.to_numpy(bool), "customer_id"].astype(str)) & set(due)
    elsewhere = address_declined(due, shared) if len(shared) else None
    if elsewhere is not None:
        declining |= set(due[elsewhere])
    return declining


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
    out: AnalysisOutOption = Path("valuecast-out"),
    spend: SpendOption = None,
    no_spend: NoSpendOption = False,
    calendar: CalendarOption = None,
    seasons: SeasonsOption = True,
    engine: EngineOption = "duckdb",
    tables: TablesOption = None,
    covariates: CovariatesOption = None,
    not_product: NotProductOption = None,
    clear_not_products: ClearNotProductsOption = False,
) -> None:
    """Every customer's historic and predicted CLV, churn risk, next order and RFM group.

    Writes customers.csv, customers.parquet, summary.json, ingest_report.json and report.html
    (one offline HTML file with the charts) to --out, and next to them cohorts.csv,
    retention.csv, channels.csv (cac.csv with --spend), affinity.csv, next_products.csv and
    reminders.csv.  Without FILE it analyses what the workspace holds; so it does given the
    files its last ingest read, unchanged since (another --horizon or --margin on the same
    export), without reading them again.
    """
    column_map = joined_map(column_map)
    if not files and (export_format is not None or column_map is not None or fx is not None):
        # the stored orders were read with the options of their own ingest: these would read
        # nothing, and the analysis would look as if they had been applied
        fail("--format, --map and --fx read the FILE arguments: give the export to read with them")
    if engine != "duckdb":  # the analysis runs on Spark or the database (docs/scale.md)
        from valuecast.jobs.analyze import AnalysisOptions

        if covariates:
            fail("--covariates runs on the workspace (--engine duckdb) only, not yet with --engine")
        if spend is not None:  # the engine's analysis writes no growth tables, CAC among them
            fail(
                "--spend runs on the workspace (--engine duckdb) only: the engine's analysis "
                "writes no CAC (run `valuecast channels --spend` on a workspace for it)"
            )
        if no_spend:
            fail(
                "--no-spend drops the spend a workspace keeps (--engine duckdb): the engine's "
                "analysis uses no spend"
            )

        if clear_not_products:
            fail(
                "--clear-not-products forgets the names a workspace keeps (--engine duckdb): "
                "the engine's analysis keeps none"
            )
        options = AnalysisOptions(
            as_of=as_of, horizon=horizon, annual_discount_rate=annual_discount_rate,
            margin=margin, model=model.value, seasons=seasons,
            calendar=read_calendar_or_fail(calendar),
            not_products=not_products_given_or_fail(not_product, False),
        )  # fmt: skip
        unused = _unused_spend_note(workspace)
        scale.analyze_on_engine_cli(
            files or [], engine, tables, export_format, column_map, fx, options, out,
            notes=[unused] if unused else [],
        )  # fmt: skip
        return
    run_analysis(
        files or [], workspace, export_format, column_map, fx, as_of, horizon,
        annual_discount_rate, margin, model.value, out, spend=spend, calendar=calendar,
        seasons=seasons, covariates=covariates, no_spend=no_spend, not_product=not_product,
        clear_not_products=clear_not_products,
    )  # fmt: skip


def _unused_spend_note(workspace: Path) -> str | None:
    """The note of ``analyze --engine`` when ``workspace`` keeps a spend: the engine's analysis
    writes no CAC, so the spend the other commands use is not used there; None otherwise (no
    workspace, none kept, or a workspace another process holds: a note is no reason to fail)."""
    if not workspace.is_file():
        return None
    from valuecast.store import Workspace
    from valuecast.store.spend import kept_spend

    try:
        with Workspace(workspace, read_only=True) as ws:
            kept = kept_spend(ws)
    except Exception:  # locked by the dashboard, not a workspace: said by no note
        return None
    if kept is None:
        return None
    return (
        f"the engine's analysis writes no CAC: {kept_spend_named(kept)} in {workspace} is not "
        f"used (`valuecast channels -w {workspace}` divides it by the workspace's customers)"
    )


def _write_results(
    analysis,
    tables: dict,
    ingest_report: dict,
    out: Path,
    built=None,
    customers_files: CustomersFiles | None = None,
) -> dict[str, Path]:
    """Every result file in ``out``: the customers files, the growth tables and the report.

    The customers files are written by Arrow (which lets go of the GIL) in other threads while
    this one writes the growth tables and renders the report (Python: Plotly and Jinja):
    ``customers_files`` when the caller started them earlier, else started here.  ``built`` is
    the report's chart pass when the caller made it already
    (:func:`valuecast.outputs.report.render.report_sections`).
    """
    from valuecast.outputs.report import write_report
    from valuecast.outputs.report.render import CUSTOMER_COLUMNS_READ

    out.mkdir(parents=True, exist_ok=True)
    if customers_files is None:
        customers_files = CustomersFiles(analysis, out)
    growth = _write_growth_tables(tables, out)
    charts = analysis.customers[list(CUSTOMER_COLUMNS_READ)] if built is None else None
    report = write_report(
        out / "report.html", analysis.summary, charts, tables, ingest_report, built
    )
    paths = write_analysis(analysis, ingest_report, out, customers_files)
    paths.update(growth)
    paths["report"] = report
    return paths


def _write_growth_tables(tables: dict, out: Path) -> dict[str, Path]:
    """The growth tables as CSV files in ``out``."""
    from valuecast.outputs.files import write_csv

    paths = {}
    for name, frame in tables.items():
        path = out / name
        write_csv(frame, path)
        paths[name.removesuffix(".csv")] = path
    if "cac.csv" not in tables:  # an earlier run's, with spend, is not this analysis'
        (out / "cac.csv").unlink(missing_ok=True)
    return paths
