"""The ``cohorts`` and ``stage`` commands: acquisition cohorts, churn threshold, growth stage.

Registered in :mod:`valuecast.cli`.  Both open the
workspace read-only; every error (no workspace, a bad date, an empty workspace) is one line on
stderr and exit code 2, without a traceback.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from valuecast.cli.common import (
    check_options_or_fail,
    console,
    fail,
    kept_spend_named,
    open_workspace,
    ungrouped_note,
)
from valuecast.cli.options import (
    JsonOption,
    NoKeptSpendOption,
    WorkspaceOption,
    grouping_named,
    grouping_names,
)

AS_OF_HELP = "YYYY-MM-DD (default: the last order date in the workspace)."
SHOWN_MONTHS = (0, 1, 3, 6, 12)  # months since acquisition shown on screen (the CSV has all)
SHOWN_ROWS = 12


class CohortGrouping(StrEnum):
    channel = "channel"
    first_product = "first_product"
    discount_code = "discount_code"


def _as_of(orders: Any, as_of: str | None, *, required: bool = True):
    """The as-of date given, or the last order date (None without orders unless ``required``).

    A bad date, or no order date at all when one is required, is one line and exit code 2.
    """
    from valuecast.analysis.growth.history import resolve_as_of
    from valuecast.analysis.summary import SummaryError
    from valuecast.dates import as_date

    check_options_or_fail(as_of=as_of)  # a day after tomorrow: refused as analyze refuses it
    try:
        return (
            resolve_as_of(orders, as_of)
            if required
            else as_date(as_of, "as-of", error=SummaryError)
        )
    except SummaryError as error:
        fail(str(error))


def _fmt(value: float | None, spec: str) -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else format(value, spec)
    )


def cohorts(
    workspace: WorkspaceOption = Path("valuecast.duckdb"),
    by: CohortGrouping | None = typer.Option(
        None,
        "--by",
        metavar=grouping_names(CohortGrouping),
        parser=lambda text: grouping_named(text, CohortGrouping),
        help="Split each cohort by the customer's first channel, product or code.",
    ),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    out: Path = typer.Option(
        Path("valuecast-out"),
        "--out",
        "-o",
        help="Folder for cohorts.csv, retention.csv and days_between_orders.csv (the folder "
        "`analyze` writes them to, by default).",
    ),
) -> None:
    """Write monthly acquisition cohorts (LTV by month) and retention; show the churn threshold.

    OUT/cohorts.csv has one row per cohort (per group with --by): customers, repeat rate and the
    cumulative net revenue per customer through each calendar month since the first order's
    month (an order on 1 February by a customer acquired on 31 January is month 1; empty where
    the cohort has not got there yet).  An as-of date before its month's last day leaves that
    month partial: marked * on screen, partial_month in OUT/retention.csv, which has one row
    per cohort and month;
    OUT/days_between_orders.csv the distribution of days between a customer's purchase days.
    """
    from rich.table import Table

    from valuecast.analysis.growth.cohorts import (
        churn_threshold,
        cohort_tables,
        days_between_orders,
    )
    from valuecast.analysis.growth.history import month_index_of
    from valuecast.outputs.files import write_csv

    if out.exists() and not out.is_dir():
        fail(f"{out}: not a folder (--out)")
    from valuecast.store.not_products import kept_not_products

    with open_workspace(workspace) as ws:
        orders = ws.orders()
        as_of_date = _as_of(orders, as_of)
        try:
            tables = cohort_tables(
                orders,
                as_of=as_of_date,
                by=by.value if by else None,
                order_lines=ws.order_lines(),
                # a line the merchant said is no product is nobody's first product
                not_products=kept_not_products(ws),
            )
            churn = churn_threshold(orders, as_of=as_of_date)
            gaps = days_between_orders(orders, as_of=as_of_date)
        except ValueError as error:
            fail(str(error))
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "cohorts": out / "cohorts.csv",
            "retention": out / "retention.csv",
            "days_between_orders": out / "days_between_orders.csv",
        }
        frames = {"cohorts": tables.cohorts, "retention": tables.retention,
                  "days_between_orders": gaps}  # fmt: skip
        for name, frame in frames.items():
            write_csv(frame, paths[name])
    except OSError as error:
        fail(f"{out}: cannot write the cohort tables: {error}")

    partial = tables.partial_month
    table = Table(
        title=f"acquisition cohorts as of {tables.as_of}",
        caption=(
            "m<k>: net revenue per customer through calendar month k after the first order's "
            "month (the CSV keeps the cents)"
        ),
    )
    group = [tables.by] if tables.by else []
    shown = [m for m in SHOWN_MONTHS if f"ltv_m{m}" in tables.cohorts.columns]
    as_of_month = month_index_of(tables.as_of)
    table.add_column("cohort", no_wrap=True, min_width=7)
    for name in group:
        table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=16)
    for name in ("customers", "repeat", *(f"m{m}" for m in shown)):
        table.add_column(name, justify="right")
    for row in tables.cohorts.head(SHOWN_ROWS).to_dict(orient="records"):
        table.add_row(
            row["cohort_month"],
            *(str(row[name]) for name in group),
            f"{row['customers']:,}",
            _fmt(row["repeat_rate"], ".1%"),
            *(
                _fmt(row[f"ltv_m{m}"], ",.0f")
                + ("*" if partial and _age(row["cohort_month"], as_of_month) == m else "")
                for m in shown
            ),
        )
    console.print(table)
    if len(tables.cohorts) > SHOWN_ROWS:
        more = len(tables.cohorts) - SHOWN_ROWS
        console.print(
            f"... {more:,} more rows in {paths['cohorts']}", highlight=False, markup=False
        )
    console.print(
        f"repeat rate: {_fmt(tables.repeat_rate, '.1%')} ({tables.repeat_customers:,} of "
        f"{tables.customers:,} customers with 2+ orders)",
        highlight=False,
    )
    console.print(_gaps_line(gaps), highlight=False, soft_wrap=True)
    console.print(_churn_line(churn), highlight=False, soft_wrap=True)
    ungrouped = ungrouped_note(tables.cohorts[tables.by], tables.by) if tables.by else None
    # no cohort, no cell the as-of month cuts short
    partial_note = _partial_note(partial) if tables.customers else None
    for note in [*tables.notes, *([ungrouped] if ungrouped else []), *filter(None, [partial_note])]:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)
    for path in paths.values():
        console.print(f"written: {path}", highlight=False, markup=False, soft_wrap=True)


def _partial_note(partial: tuple[str, int, int] | None) -> str | None:
    """The note on the cells (marked ``*``) of an as-of month that is not over yet."""
    if partial is None:
        return None
    month, days, of = partial
    return (
        f"*: {month}, the as-of month, holds {days} of its {of} days so far: each cohort's "
        "latest month is not comparable with whole months yet (retention.csv flags it as "
        "partial_month)"
    )


def _age(cohort_month: str, as_of_month: int) -> int:
    """Months from a cohort's ``YYYY-MM`` to the as-of month (the cohort's latest month)."""
    year, month = cohort_month.split("-")
    return as_of_month - (int(year) * 12 + int(month) - 1)


def _gaps_line(gaps) -> str:
    """One line on the days between purchase days: median, mean and the most common bucket."""
    if not gaps.attrs.get("gaps"):
        return "days between orders: no customer has a second purchase day yet"
    top = gaps.loc[gaps["count"].idxmax()]
    return (
        f"days between orders: median {_fmt(gaps.attrs['median_days'], '.0f')}, mean "
        f"{_fmt(gaps.attrs['mean_days'], '.0f')} over {gaps.attrs['gaps']:,} repeat purchases; "
        f"most often {top['bucket']} days ({_fmt(top['share'], '.0%')})"
    )


def _churn_line(churn: dict[str, Any]) -> str:
    initial = churn["initial_repeat_probability"]
    follow = churn["follow_up_months"]
    if initial is None:
        return f"churn threshold: not enough history (needs orders over {follow}+ months)"
    if initial == 0:  # nothing to halve: "never falls to half of 0.0%" says nothing
        return (
            f"churn threshold: none to read: no order was followed by another within {follow} "
            "months (no customer has come back yet)"
        )
    if churn["threshold_months"] is None:
        # the threshold reads only months with enough cases (as the report's chart says): a
        # curve of a handful of cases is no evidence that customers never churn
        least = max(int(churn.get("min_points") or 1), 1)
        read = [p["months"] for p in churn["curve"] if (p["points"] or 0) >= least]
        if not read:
            return (
                f"churn threshold: none can be read yet: no month without an order has {least} "
                f"cases (the chance of another order within {follow} months starts at "
                f"{initial:.1%} after an order)"
            )
        fewer = (
            f"; later months have fewer than {least} cases"
            if read[-1] < len(churn["curve"])
            else ""
        )
        return (
            f"churn threshold: not reached within {read[-1]} months (the chance of another "
            f"order within {follow} months never falls to half of {initial:.1%}{fewer})"
        )
    entry = churn["curve"][churn["threshold_months"] - 1]
    return (
        f"churn threshold: {churn['threshold_months']} months without an order (the chance of "
        f"another order within {follow} months falls from {initial:.1%} to "
        f"{entry['probability']:.1%})"
    )


def _analysed_clv_to_cac(
    workspace: Any, as_of: Any
) -> tuple[float | None, list[str] | None, str | None]:
    """The shop's CLV:CAC of the last analysis when that analysis is of these orders (nothing
    ingested after it) as of this date, with its notes on spend no customer matches (the
    stage's ``clv_cac_notes``; None where the analysis, of an older version, kept none) and
    which ratio it is (summary.json's ``growth.clv_to_cac_of``); (None, [], None) otherwise.

    A workspace keeps the spend its analyses were given since (``analyze --spend``, the
    dashboard's upload; ``--no-spend`` drops it), so this ratio divides the kept spend, if any;
    reading it spares ``stage`` the customers table.
    """
    from valuecast.store.snapshots import load_summary, reusable_snapshot

    if as_of is None:
        return None, [], None
    snapshot_id = reusable_snapshot(workspace)
    if snapshot_id is None:
        return None, [], None
    summary = load_summary(workspace, snapshot_id)
    if summary.get("as_of") != as_of.isoformat():
        return None, [], None
    growth = summary.get("growth") or {}
    ratio = growth.get("clv_to_cac")
    if ratio is None or not math.isfinite(ratio) or ratio < 0:
        return None, [], None
    notes = (growth.get("growth_stage") or {}).get("clv_cac_notes")
    return float(ratio), None if notes is None else list(notes), growth.get("clv_to_cac_of")


def _kept_spend_clv_to_cac(
    workspace: Any, kept: Any, as_of: Any
) -> tuple[float | None, str | None, list[str], str | None]:
    """The shop's CLV:CAC from the spend the workspace keeps, as ``channels`` divides it: the
    customers of the analysis as of ``as_of`` (the last one's while it is of these orders as of
    that date, else one run now with its options), why it is unknown when it is (None
    otherwise), the note on spend no customer matches, as ``channels`` says it, and which
    ratio it is (:func:`~valuecast.analysis.growth.tables.clv_to_cac_of`).  The same ratio and
    note ``analyze`` stores with that spend."""
    from valuecast.analysis.growth.channels import (
        monthly_revenue,
        shop_cac_table,
        unmatched_spend_note,
    )
    from valuecast.analysis.growth.tables import (
        clv_to_cac_of,
        overall_clv_to_cac,
        unknown_clv_to_cac_reason,
    )
    from valuecast.analysis.summary import SummaryError
    from valuecast.io.schema import InputError
    from valuecast.io.spend import check_spend_currency
    from valuecast.jobs.snapshots import last_analysis
    from valuecast.store import EngineError

    try:
        analysis = last_analysis(workspace, as_of=as_of.isoformat())
        summary = analysis.summary
        check_spend_currency(kept.frame, summary.get("currency"))
        margin = 1.0 if summary.get("margin") is None else float(summary["margin"])
        cac = shop_cac_table(
            analysis.customers, kept.frame, monthly_revenue(workspace.orders(), summary["as_of"]),
            margin=margin, as_of=summary["as_of"],
        )  # fmt: skip
    except (SummaryError, InputError, EngineError, ValueError) as error:
        return None, " ".join(str(error).split()), [], None
    ratio = overall_clv_to_cac(cac)
    if ratio is None:
        reason = unknown_clv_to_cac_reason(cac) or "CLV:CAC cannot be computed"
        return None, f"{kept_spend_named(kept)}: {reason}", [], None
    unmatched = unmatched_spend_note(cac, analysis.customers["acquisition_channel"])
    return ratio, None, [] if unmatched is None else [unmatched], clv_to_cac_of(cac)


def stage(
    workspace: WorkspaceOption = Path("valuecast.duckdb"),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    as_json: JsonOption = False,
    no_spend: NoKeptSpendOption = False,
) -> None:
    """Show the shop's growth stage, the suggested effort on retention, and the evidence.

    CLV:CAC divides the spend the workspace keeps (the last given to analyze --spend or the
    dashboard) as `valuecast channels` does, over the customers of the analysis as of the
    stage's date.
    """
    from valuecast.analysis.growth.stage import format_stage, growth_stage, stage_to_dict
    from valuecast.analysis.summary import default_as_of
    from valuecast.store.spend import kept_spend

    with open_workspace(workspace) as ws:
        orders = ws.orders()
        as_of_date = _as_of(orders, as_of, required=False)  # no orders: "just started"
        dated = as_of_date or default_as_of(orders)
        kept = kept_spend(ws)
        ratio = reason = source = ratio_of = None
        ratio_notes: list[str] | None = []
        if kept is not None and no_spend:
            reason = f"{kept_spend_named(kept)} is left out (--no-spend)"
        elif kept is not None and dated is not None:
            # the last analysis' ratio where it is of these orders as of this date (every
            # analysis since the spend was kept divided it), else the kept spend divided as
            # `channels` divides it
            ratio, ratio_notes, ratio_of = _analysed_clv_to_cac(ws, dated)
            # an older analysis keeps no notes or name of its ratio: as `channels` says them
            if ratio is None or ratio_notes is None or ratio_of is None:
                ratio, reason, ratio_notes, ratio_of = _kept_spend_clv_to_cac(ws, kept, dated)
            source = f"CLV:CAC from {kept_spend_named(kept)}" if ratio is not None else None
        elif kept is None and not no_spend:
            ratio, ratio_notes, ratio_of = _analysed_clv_to_cac(ws, dated)
            source = (
                "CLV:CAC is the last analysis' (the spend given to it)"
                if ratio is not None
                else None
            )
        result = growth_stage(
            orders, as_of=as_of_date, cac_ratio=ratio, cac_ratio_of=ratio_of,
            unknown_cac_reason=reason,
            cac_notes=ratio_notes or [],
        )  # fmt: skip
    if as_json:
        print(json.dumps(stage_to_dict(result), indent=2, default=str))
        return
    lines = format_stage(result)
    if source is not None:  # said where it comes from, before the closing caveat
        lines.insert(-1, f"note: {source}")
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)
