"""``valuecast refresh``, ``history`` and ``compare``: CLV recalculated every quarter and compared.

Every ``analyze`` and ``refresh`` stores a snapshot in the workspace (:mod:`valuecast.store.snapshots`);
these commands add new exports and re-run (``refresh``), list the snapshots (``history``) and show
how customers moved between two of them (``compare``).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from valuecast.cli.analyze import run_analysis
from valuecast.cli.common import console, fail, open_workspace, writing_to
from valuecast.cli.options import (
    AnalysisOutOption,
    AsOfOption,
    ClearNotProductsOption,
    FormatOption,
    FxOption,
    LastDiscountRateOption,
    LastHorizonOption,
    LastMarginOption,
    LastModelOption,
    MapOption,
    NoSpendOption,
    NotProductOption,
    SpendOption,
    TopOption,
    WorkspaceOption,
    joined_map,
)
from valuecast.cli.tables import column_parts, records_fitting
from valuecast.tables import CLV_SETTINGS, amount_text, clv_setting_text, whole_amount

SNAPSHOT_HELP = (
    "A snapshot: its id, a date (YYYY-MM-DD: the snapshot dated on it or in the 31 days "
    "before it, as 2025-12-31 takes the quarter's snapshot dated by its last order), "
    "'latest' or 'previous' (as BEFORE, the one dated before AFTER; else the one before the "
    "latest)."
)


def _missing(value: object) -> bool:
    """None or NaN: a snapshot whose predictions were withheld stores its predicted CLV so, and
    the history table holds its model so (a column of model names reads a missing one as NaN)."""
    return value is None or value != value


def _money(value: float | None) -> str:
    return "-" if _missing(value) else amount_text(value)


def _percent(value: float | None) -> str:
    """A churn probability in whole percent; "-" where the analysis withheld it."""
    return "-" if _missing(value) else f"{value:.0%}"


def _shown_change(before: float | None, after: float | None) -> str:
    """The change between two figures as they are shown (whole numbers), so that the columns
    add up (11,067 -> 10,913 is -154, where the unrounded -154.7 reads -155), as the
    dashboard's comparison shows it."""
    if _missing(before) or _missing(after):
        return "-"
    change = whole_amount(after) - whole_amount(before)
    return f"{change:+,}" if change else "0"


def _matrix_tables(matrix, title: str) -> list[Table]:
    """A migration matrix (rows: before, columns: after) as Rich tables, zero cells dimmed: one
    table, or parts of its columns where the terminal is too narrow for all (the ten RFM
    groups' names would otherwise be cut to "Cha…").

    Groups nobody is in on either side are left out (the CSV files keep them).
    """
    matrix = matrix.loc[matrix.sum(axis=1) > 0, matrix.sum(axis=0) > 0]
    columns = [  # counts are never cut to "6,0…"
        (str(column), {"justify": "right", "min_width": len(f"{int(matrix[column].max()):,}")})
        for column in matrix.columns
    ]
    rows = [
        [str(label), *(f"{n:,}" if n else "[dim]0[/]" for n in row)]
        for label, row in matrix.iterrows()
    ]
    return column_parts(title, ("before \\ after", {}), columns, rows, console)


INTERVAL_COLUMN = "80% interval of the expected value"
"""The history's interval column, named as analyze's headline, the report and the dashboard
name it: the fit's range of the expected predicted CLV, not of the sales that come."""
_FIGURE_LABELS = {"historic_clv": "historic CLV", "predicted_clv": "predicted CLV"}
"""The comparison's totals as the history table and the report name them."""


def _titled_table(heading: str, unit: str | None) -> Table:
    """A table titled ``heading, unit`` on one line, as wide as that title where its columns
    are narrower: Rich wraps a title to its table's width, which broke the comparison's four
    narrow columns' title after its comma. On a terminal narrower than the title, the unit
    takes a line of its own."""
    title = heading if unit is None else f"{heading}, {unit}"
    if unit is not None and len(title) > console.width:
        title = f"{heading}\n{unit}"
    widest = max(len(line) for line in title.splitlines())
    return Table(title=title, min_width=min(widest, console.width))


def _print_comparison(comparison, *, top: int) -> None:
    from valuecast.analysis.compare import (
        difference_notes,
        gone_note,
        renamed_note,
        rewritten_later_note,
        rewritten_note,
    )

    before, after = comparison.before, comparison.after
    heading = (
        f"snapshot {before.snapshot_id} ({before.as_of}) -> {after.snapshot_id} ({after.as_of})"
    )
    unit = None
    if after.currency and "currency" not in comparison.differences:
        unit = f"amounts in {after.currency}"
    totals = _titled_table(heading, unit)
    units = _currencies_apart(comparison)
    widths = {
        "before": max(len(_money(v)) for v in comparison.totals["before"]),
        "after": max(len(_money(v)) for v in comparison.totals["after"]),
        "change": max(
            len(_shown_change(row["before"], row["after"]))
            for _, row in comparison.totals.iterrows()
        ),
    }
    for column in ("", "before", "after", "change"):
        totals.add_column(
            column, justify="right" if column else "left", min_width=widths.get(column)
        )
    for figure, row in comparison.totals.iterrows():
        before_cell, after_cell = _money(row["before"]), _money(row["after"])
        if figure in units:  # two currencies: each amount names its own, and has no change
            before_cell, after_cell = (f"{before_cell} {units[figure][0]}",
                                       f"{after_cell} {units[figure][1]}")  # fmt: skip
        change = "-" if _missing(row["change"]) else _shown_change(row["before"], row["after"])
        totals.add_row(
            _FIGURE_LABELS.get(figure, figure.replace("_", " ")), before_cell, after_cell, change
        )
    console.print(totals)
    if comparison.differences:
        for note in difference_notes(comparison.differences):
            console.print(note, highlight=False, soft_wrap=True)
    notes = (rewritten_note, rewritten_later_note, gone_note, renamed_note)
    for note in (say(comparison) for say in notes):
        if note is not None:
            console.print(note, highlight=False, soft_wrap=True, markup=False)
    for table in (
        *_matrix_tables(comparison.rfm_matrix, "customers between RFM groups"),
        *_matrix_tables(comparison.tier_matrix, "customers between spend tiers"),
    ):
        console.print(table)
    movers = comparison.high_value_to_at_risk
    console.print(
        f"{len(movers):,} customer{'' if len(movers) == 1 else 's'} moved from the high spend "
        "tier to at risk "
        "(RFM group At risk, Previously loyal, Almost lost or Dormant)",
        highlight=False,
    )
    if len(movers) and top:
        _print_movers(movers.head(top))


def _currencies_apart(comparison) -> dict[str, str]:
    """The comparison's amount rows by the currencies of its two snapshots, where those are
    two (:func:`~valuecast.analysis.compare.currencies_differ`); else empty."""
    from valuecast.analysis.compare import currencies_differ

    if not currencies_differ(comparison.differences):
        return {}
    pair = (comparison.before.currency, comparison.after.currency)
    return dict.fromkeys(("historic_clv", "predicted_clv"), pair)


def _print_movers(shown) -> None:
    """The high-value customers now at risk: a table, or where the terminal is too narrow for
    one (an e-mail or a date cut to "ksmith@…" names no one), a line per customer."""
    title = f"high value -> at risk (top {len(shown)})"
    table = Table(title=title)
    for column in ("customer", "RFM before", "RFM after", "predicted CLV before",
                   "predicted CLV after", "churn probability", "last order"):  # fmt: skip
        table.add_column(column, justify="left" if column.startswith(("c", "R")) else "right")
    for row in shown.itertuples():
        table.add_row(
            str(row.customer_id), row.rfm_group_before, row.rfm_group_after,
            _money(row.predicted_clv_before), _money(row.predicted_clv_after),
            _percent(row.churn_probability_after), str(row.last_order_date),
        )  # fmt: skip
    fitting = records_fitting(table, console)
    if fitting is not None:
        console.print(fitting)
        return
    console.print(f"{title}:", highlight=False)
    for row in shown.itertuples():
        console.print(
            f"  {row.customer_id}: {row.rfm_group_before} -> {row.rfm_group_after}, predicted "
            f"CLV {_money(row.predicted_clv_before)} -> {_money(row.predicted_clv_after)}, "
            f"churn probability {_percent(row.churn_probability_after)}, last order "
            f"{row.last_order_date}",
            highlight=False, markup=False,
        )  # fmt: skip


def _write_comparison(comparison, out: Path) -> list[Path]:
    from valuecast.outputs.files import write_csv

    paths = [out / "rfm_migration.csv", out / "tier_migration.csv",
             out / "high_value_to_at_risk.csv"]  # fmt: skip
    with writing_to(out, "the comparison"):
        out.mkdir(parents=True, exist_ok=True)
        write_csv(comparison.rfm_matrix.reset_index(), paths[0])
        write_csv(comparison.tier_matrix.reset_index(), paths[1])
        write_csv(comparison.high_value_to_at_risk, paths[2])
    return paths


def refresh(
    files: list[str] = typer.Argument(
        ..., help="The new exports (Shopify, Magento, WooCommerce, orders tables)."
    ),
    workspace: WorkspaceOption = Path("valuecast.duckdb"),
    export_format: FormatOption = None,
    column_map: MapOption = None,
    fx: FxOption = None,
    as_of: AsOfOption = None,
    horizon: LastHorizonOption = None,
    annual_discount_rate: LastDiscountRateOption = None,
    margin: LastMarginOption = None,
    model: LastModelOption = None,
    out: AnalysisOutOption = Path("valuecast-out"),
    spend: SpendOption = None,
    no_spend: NoSpendOption = False,
    top: TopOption = 10,
    not_product: NotProductOption = None,
    clear_not_products: ClearNotProductsOption = False,
) -> None:
    """Add new exports, re-run the analysis and store it as a dated snapshot.

    The new orders, the analysis and its snapshot are written in one transaction: if
    anything fails the workspace is left as it was.  Writes the same files as analyze and
    compares the new snapshot with the one before it.  The analysis runs with the last one's
    horizon, discount rate, margin and model unless given, and with its seasons (or
    --no-seasons), covariates and calendar, so the two snapshots compare like with like.
    """
    from valuecast.jobs.snapshots import compare
    from valuecast.store.snapshots import list_snapshots

    column_map = joined_map(column_map)
    last = _last_options(workspace)
    had = _snapshot_count(workspace)
    analysis, _ = run_analysis(
        files, workspace, export_format, column_map, fx, as_of,
        last.horizon if horizon is None else horizon,
        last.annual_discount_rate if annual_discount_rate is None else annual_discount_rate,
        last.margin if margin is None else margin,
        last.model if model is None else model.value,
        out, spend=spend, no_spend=no_spend, not_product=not_product,
        clear_not_products=clear_not_products, calendar=last.calendar, seasons=last.seasons,
        covariates=",".join(last.covariates) or None,
    )  # fmt: skip
    with open_workspace(workspace) as ws:
        # the snapshot dated before the new one (with --as-of in the past, not the latest)
        ids = [snapshot.snapshot_id for snapshot in list_snapshots(ws)]
        made = analysis.summary["snapshot_id"]
        if len(ids) < 2:
            # a refresh keeping or replacing the only snapshot made no first one
            console.print(
                "first snapshot: nothing to compare with yet"
                if not had
                else f"snapshot {made} is still the only one: nothing dated before it to "
                "compare with"
            )
            return
        position = ids.index(made)
        if position == 0:
            console.print(
                "the new snapshot is the earliest: nothing dated before it to compare with"
            )
            return
        _print_comparison(compare(ws, ids[position - 1], made), top=top)


def _setting(value):
    """A history table's cell as a setting: None where missing (a snapshot that kept none)."""
    return None if value is None or value != value else value


def _settings_note(table) -> str | None:
    """A line giving each snapshot's settings that scale predicted CLV, where they differ."""
    varying = [
        column for column in CLV_SETTINGS
        if column in table.columns and table[column].astype(str).nunique() > 1
    ]  # fmt: skip
    if not varying:
        return None
    each = "; ".join(
        f"{row.snapshot_id}: "
        + ", ".join(clv_setting_text(c, _setting(getattr(row, c))) for c in varying)
        for row in table.itertuples()
    )
    return (
        f"note: the snapshots' predictions ran with other settings ({each}): their predicted "
        "CLVs do not compare like with like"
    )


def _last_options(workspace: Path):
    """The options of the workspace's last analysis (the defaults for a new workspace)."""
    from valuecast.jobs.analyze import AnalysisOptions
    from valuecast.jobs.snapshots import last_options

    if not workspace.exists():
        return AnalysisOptions()
    with open_workspace(workspace) as ws:
        return last_options(ws)


def _snapshot_count(workspace: Path) -> int:
    """How many snapshots the workspace holds (0 for a new workspace)."""
    from valuecast.store.snapshots import list_snapshots

    if not workspace.exists():
        return 0
    with open_workspace(workspace) as ws:
        return len(list_snapshots(ws))


def history(
    workspace: WorkspaceOption = Path("valuecast.duckdb"),
    out: Path | None = typer.Option(None, "--out", "-o", help="Also write it as CSV."),
) -> None:
    """Every snapshot: CLV totals, customers, RFM groups and spend tiers, oldest first."""
    from valuecast.jobs.snapshots import history as snapshot_history
    from valuecast.outputs.files import write_csv

    with open_workspace(workspace) as ws:
        table = snapshot_history(ws)
    if table.empty:
        fail(f"{workspace}: no snapshots yet (run `valuecast analyze` or `valuecast refresh`)")
    # one currency is said in the title; several get a column
    currencies = [c if isinstance(c, str) else "-" for c in table["currency"]]
    named = sorted(set(currencies) - {"-"})
    several = len(set(currencies)) > 1
    title = f"snapshots (amounts in {named[0]})" if named and not several else "snapshots"
    totals = Table(title=title)
    columns = ["id", "as of", "customers", "orders", "historic CLV", "predicted CLV",
               INTERVAL_COLUMN, *(["currency"] if several else []), "model"]  # fmt: skip
    rows = []
    for row, currency in zip(table.itertuples(), currencies, strict=True):
        interval = (
            "-" if row.predicted_clv_p10 is None or row.predicted_clv_p10 != row.predicted_clv_p10
            else f"{amount_text(row.predicted_clv_p10)} to {amount_text(row.predicted_clv_p90)}"
        )  # fmt: skip
        rows.append([
            str(row.snapshot_id), str(row.as_of), f"{row.customers:,}", f"{row.orders:,}",
            _money(row.historic_clv), _money(row.predicted_clv), interval,
            *([currency] if several else []),
            "none fitted" if _missing(row.model) else str(row.model),
        ])  # fmt: skip
    for index, column in enumerate(columns):
        # a number, a date or a range cut in two says nothing: the headers wrap instead (the
        # interval's takes two lines at any width, so the amounts' take two too, and the table
        # fits 80 columns); a model's name is whole too, "none fitted" may take two lines
        whole = column != "model"
        widths = [len(word) for cells in rows for word in
                  ([cells[index]] if whole else cells[index].split())]  # fmt: skip
        longest = max(widths, default=0)
        header = max(len(word) for word in column.split())
        totals.add_column(
            column, justify="left" if column in ("as of", "currency", "model") else "right",
            min_width=longest,
            max_width=(
                max(longest, len("the expected value")) if column == INTERVAL_COLUMN
                else max(longest, header) if column in ("historic CLV", "predicted CLV")
                else None
            ),
            overflow="ellipsis" if whole else "fold",
        )  # fmt: skip
    for cells in rows:
        totals.add_row(*cells)
    fitting = records_fitting(totals, console)
    if fitting is not None:
        console.print(fitting)
    else:  # a snapshot a line where the terminal is too narrow for the table
        console.print(f"{title}:", highlight=False)
        for cells in rows:
            console.print("  " + _snapshot_line(dict(zip(columns, cells, strict=True))),
                          highlight=False, markup=False)  # fmt: skip
    settings = _settings_note(table)
    if settings:
        console.print(settings, highlight=False, soft_wrap=True)
    for prefix, title in (("rfm: ", "customers per RFM group"), ("tier: ", "per spend tier")):
        groups = [c for c in table.columns if c.startswith(prefix) and table[c].sum() > 0]
        # a snapshot a column, in parts where a quarter's snapshots outgrow the terminal
        dates = [(str(as_of), {"justify": "right", "min_width": 10}) for as_of in table["as_of"]]
        rows = [[c.removeprefix(prefix), *(f"{n:,}" for n in table[c])] for c in groups]
        for grid in column_parts(title, ("group", {}), dates, rows, console):
            console.print(grid)
    if out is not None:
        with writing_to(out, "the history"):
            write_csv(table, out)
        console.print(f"written: {out}", highlight=False, markup=False)


def _snapshot_line(cells: dict[str, str]) -> str:
    """One snapshot of the history table as a line: ``snapshot 2, as of 2025-12-31: ...``."""
    interval = cells[INTERVAL_COLUMN]
    currency = f" {cells['currency']}" if "currency" in cells else ""
    return (
        f"snapshot {cells['id']}, as of {cells['as of']}: {cells['customers']} customers, "
        f"{cells['orders']} orders, historic CLV {cells['historic CLV']}{currency}, predicted "
        f"CLV {cells['predicted CLV']}{currency}"
        + ("" if interval == "-" else f" ({INTERVAL_COLUMN} {interval})")
        + f", model {cells['model']}"
    )


def compare(
    before: str = typer.Argument("previous", help=SNAPSHOT_HELP),
    after: str = typer.Argument("latest", help=SNAPSHOT_HELP),
    workspace: WorkspaceOption = Path("valuecast.duckdb"),
    top: TopOption = 10,
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Folder for rfm_migration.csv, tier_migration.csv, high_value_to_at_risk.csv.",
    ),  # fmt: skip
) -> None:
    """How customers moved between two snapshots: RFM groups, spend tiers, value at risk."""
    from valuecast.jobs.snapshots import compare as compare_snapshots
    from valuecast.store.snapshots import SnapshotError

    with open_workspace(workspace) as ws:
        try:
            comparison = compare_snapshots(ws, before, after)
        except SnapshotError as error:
            fail(str(error))
    first, second = comparison.before, comparison.after
    for note in comparison.notes:
        console.print(note, highlight=False, soft_wrap=True)
    _print_comparison(comparison, top=top)
    if first.as_of > second.as_of:
        console.print(
            f"note: BEFORE ({first.as_of}) is dated after AFTER ({second.as_of}): the moves above "
            "run back in time (give the earlier snapshot first)",
            highlight=False,
            soft_wrap=True,
        )
    if out is not None:
        for path in _write_comparison(comparison, out):
            console.print(f"written: {path}", highlight=False, markup=False)
