"""``valuecast channels``: CLV by acquisition source, and CAC / CLV:CAC / payback with a spend file.

Registered in :mod:`valuecast.cli`.  The command takes the customers table of the last
``valuecast analyze`` snapshot when nothing was ingested after it and neither ``--as-of`` nor
``--margin`` is given, else analyses the workspace (opened read-only) with that snapshot's options and
those given (:func:`valuecast.jobs.snapshots.last_analysis`), groups the customers table by one
attribute (:func:`valuecast.analysis.growth.channels.clv_by_group`) and, given ``--spend``, adds per
channel the all-months CAC figures of :func:`valuecast.analysis.growth.channels.cac_table`,
after the whole shop's blended ones (:func:`valuecast.analysis.growth.channels.blended_cac`).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from valuecast.cli.common import (
    check_options_or_fail,
    check_spend_options_or_fail,
    console,
    earlier_as_of_note,
    fail,
    open_workspace,
    read_spend_or_fail,
    spend_or_kept,
    ungrouped_note,
    writing_to,
)
from valuecast.cli.options import (
    LastAsOfOption,
    LastMarginOption,
    NoKeptSpendOption,
    OutOption,
    WorkspaceOption,
    grouping_named,
    grouping_names,
)
from valuecast.tables import amount_text

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GROUP_COLUMNS", "GroupBy", "channels"]


class GroupBy(StrEnum):
    channel = "channel"
    first_product = "first_product"
    discount_code = "discount_code"
    accepts_marketing = "accepts_marketing"
    tags = "tags"


# --by -> column of the customers table
GROUP_COLUMNS: dict[str, str] = {
    "channel": "acquisition_channel",
    "first_product": "first_product",
    "discount_code": "first_discount_code",
    "accepts_marketing": "accepts_marketing",
    "tags": "tag",
}


def _money(value: object) -> str:
    import pandas as pd

    return "" if value is None or pd.isna(value) else amount_text(float(value), 2)


def _print(
    frame: pd.DataFrame, column: str, by: str, with_cac: bool, paths: list[Path],
    currency: str | None = None, shop: pd.DataFrame | None = None,
    two_ratios: str | None = None,
) -> None:  # fmt: skip
    """The CLV table and, with spend, the CAC table: two tables, so that each fits an
    80-column terminal (one of ten columns cut its amounts to '173.…').  ``shop``: the whole
    shop's all-months CAC row (cac.csv's first), the CAC table's first row; only it where the
    spend names no channel.  ``two_ratios``: the line on the shop's two CLV:CAC figures
    (:func:`_two_ratios`), after the CAC table's notes."""
    import pandas as pd
    from rich.table import Table

    amounts = f" (amounts in {currency})" if currency else ""
    table = Table(
        title=f"CLV by {by}{amounts}",
        # the interval is the mean's (Student t), far narrower than the customers' own spread
        caption="90% interval: where the mean lies, not the range of its customers' CLVs",
    )
    table.add_column(by, overflow="fold")
    table.add_column("customers", justify="right")
    table.add_column("mean total CLV", justify="right")
    table.add_column("mean's 90% interval", justify="right")
    for _, row in frame.iterrows():
        low, high = row["total_clv_low"], row["total_clv_high"]
        interval = "" if pd.isna(low) else f"{amount_text(low, 2)} to {amount_text(high, 2)}"
        cells = [str(row[column]), f"{int(row['customers']):,}", _money(row["total_clv_mean"])]
        table.add_row(*cells, interval)
    console.print(table)
    if shop is not None:
        if not with_cac:  # the channels' rows are not by channel (or the spend names none)
            frame = frame.iloc[0:0]
        cac = _cac_rows(shop, frame, column)
        console.print(_cac_table(cac, column, by, amounts))
        for line in _cac_notes(cac, column):
            console.print(line, highlight=False, markup=False, soft_wrap=True)
        if two_ratios is not None:
            console.print(two_ratios, highlight=False, markup=False, soft_wrap=True)
    for path in paths:
        console.print(f"written: {path}", highlight=False, markup=False, soft_wrap=True)


def _two_ratios(cac: pd.DataFrame) -> str | None:
    """The line naming the shop's two CLV:CAC figures where the spend names channels alone:
    the blended one of the table's first row and the channels' with spend, the growth stage's
    (summary.json's ``growth.clv_to_cac``); None where they are one (the spend gives the
    whole shop's) or the channels' is unknown."""
    from valuecast.analysis.growth.tables import (
        CHANNELS_WITH_SPEND,
        WHOLE_SHOP_BLENDED,
        clv_to_cac_of,
        overall_clv_to_cac,
    )

    ratio = overall_clv_to_cac(cac)
    if ratio is None or clv_to_cac_of(cac) != CHANNELS_WITH_SPEND:
        return None
    return (
        f"CLV:CAC, {CHANNELS_WITH_SPEND}: {ratio:.2f} (their customers' CLV over their spend, "
        f"the growth stage's); the {WHOLE_SHOP_BLENDED} row counts every customer acquired in "
        "the months with spend, those who came without spend too"
    )


def _cac_rows(shop: pd.DataFrame, frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """The whole shop's row (cac.csv's, its customers as channels.csv's ``cac_customers``),
    then the channels' of channels.csv."""
    import pandas as pd

    first = shop.rename(columns={"customers": "cac_customers", "channel": column})
    return pd.concat([first, frame], ignore_index=True)[list(first.columns)]


# the longest channel label the CAC table keeps on one line (an 80-column table has room for it)
_ONE_LINE_LABEL = 20


def _cac_table(frame: pd.DataFrame, column: str, by: str, amounts: str):
    """The all-months CAC columns of channels.csv, one row per channel."""
    import pandas as pd
    from rich.table import Table

    from valuecast.analysis.growth.channels import BLENDED

    # CAC divides the spend by the customers of the months with spend, not by all of them
    table = Table(
        title=f"CAC by {by}{amounts}",
        caption=(
            f"{BLENDED}: all the spend over every customer acquired in its months (blended CAC); "
            "with spend: the customers acquired in the months with spend; CAC = spend / them, "
            "CLV:CAC = their mean CLV (channels.csv's clv_per_customer) / CAC; payback month: "
            "months after the month of acquisition until their net revenue (times the margin) "
            "covers CAC, 0 when it does within that month, empty when not yet"
        ),
    )
    # labels as short as a terminal's table allows keep to one line, the whole shop's first:
    # the headers and flags wrap instead; longer labels fold where the table is too wide
    short = frame[column].astype(str).str.len().max() <= _ONE_LINE_LABEL
    table.add_column(by, overflow="fold", no_wrap=bool(short))
    for name in ("spend", "with spend", "CAC", "CLV:CAC", "payback month"):
        table.add_column(name, justify="right", no_wrap=name not in ("with spend", "payback month"))
    table.add_column("flag")
    for _, row in frame.iterrows():
        ratio, payback = row["clv_to_cac"], row["payback_month"]
        paid = row.get("cac_customers")
        table.add_row(
            str(row[column]),
            _money(row.get("spend")),
            "" if paid is None or pd.isna(paid) else f"{int(paid):,}",
            _money(row["cac"]),
            "" if pd.isna(ratio) else f"{ratio:.2f}",
            "" if pd.isna(payback) else str(int(payback)),
            "" if pd.isna(row["flag"]) else str(row["flag"]),
        )
    return table


def _cac_notes(frame: pd.DataFrame, column: str) -> list[str]:
    """The notes of the CAC table's channels (channels.csv's ``note``): what their spend and
    customers leave out (spend before the first order or after the as-of date, customers of
    months without spend, a partial month), which the table's figures do not show
    (:func:`~valuecast.analysis.growth.channels.channel_notes`, as the report says them)."""
    from valuecast.analysis.growth.channels import channel_notes

    return [f"note: {line}" for line in channel_notes(frame[column], frame["note"])]


def channels(
    workspace: WorkspaceOption = Path("valuecast.duckdb"),
    spend: Path | None = typer.Option(
        None,
        "--spend",
        help=(
            "Marketing spend CSV (month,channel,spend; month,spend or channel all for the "
            "whole shop): adds the blended CAC, and per channel CAC, CLV:CAC and payback "
            "(default: the spend kept from the last analyze --spend or dashboard upload)."
        ),
    ),
    no_spend: NoKeptSpendOption = False,
    out: OutOption = Path("valuecast-out"),
    by: GroupBy = typer.Option(
        GroupBy.channel,
        "--by",
        metavar=grouping_names(GroupBy),
        parser=lambda text: grouping_named(text, GroupBy),
        help="Attribute to group by.",
    ),
    margin: LastMarginOption = None,
    as_of: LastAsOfOption = None,
    attributes: Path | None = typer.Option(
        None,
        "--attributes",
        help="CSV with one row per customer (email or customer_id + columns) to join on.",
    ),
    by_column: str | None = typer.Option(
        None,
        "--by-column",
        help="Group by this column of the customers table or of --attributes instead of --by.",
    ),
) -> None:
    """CLV per acquisition channel (or first product, discount code, marketing consent).

    --by tags groups by the customers export's tags (a customer is in each of their tags);
    --by-column groups by any column: one of customers.csv (rfm_group, ...) or of the
    --attributes file (e.g. a support-ticket count per e-mail).

    Writes OUT/channels.csv: customers and historic / predicted / total CLV per group (mean,
    median, 90% interval for the mean); by channel also new_customer_clv, what a customer
    acquired through it today is worth over the horizon (as analyze writes it).  With a spend
    file (--spend, else the one the workspace keeps from the last analyze --spend) and --by
    channel it adds per channel the spend, CAC = spend / customers acquired, CLV:CAC, return per
    customer and the payback month, and writes OUT/cac.csv with the same per channel and cohort
    month, after the whole shop's blended rows ("(whole shop)": all the spend over every new
    customer of its months).  A spend file without a channel column (month, spend), or rows of
    channel all or total, give the whole shop's spend.  Channels that differ only in case or
    spaces ("Google", "google") are one channel.
    """
    from valuecast.analysis.growth.channels import (
        ALL_MONTHS,
        BLENDED,
        canonical_channels,
        channels_frame,
        clv_by_group,
        monthly_revenue,
        shop_cac_table,
        shop_wide_spend_note,
        unmatched_spend_note,
        with_new_customer_clv,
    )
    from valuecast.analysis.summary import SummaryError
    from valuecast.io.schema import InputError
    from valuecast.jobs.snapshots import last_analysis
    from valuecast.outputs.files import write_csv
    from valuecast.store import EngineError

    check_options_or_fail(as_of=as_of, margin=margin)
    check_spend_options_or_fail(spend, no_spend)
    if not workspace.exists():
        fail(f"{workspace}: no such workspace (run `valuecast ingest` first)")
    spend_frame = read_spend_or_fail(spend)
    from valuecast.analysis.growth.channels import (
        explode_tags,
        join_attributes,
        unmatched_attributes_note,
    )
    from valuecast.io.attributes import read_attributes

    attribute_frame = None
    if attributes is not None:
        if not attributes.is_file():
            fail(f"{attributes}: no such file (--attributes)")
        try:
            attribute_frame = read_attributes(attributes)
        except InputError as error:
            fail(str(error))
    if attribute_frame is not None and by_column is None:
        fail("--attributes needs --by-column naming the column to group by")
    column = by_column or GROUP_COLUMNS[by.value]
    if by_column is not None:
        by = None  # type: ignore[assignment]

    ws = open_workspace(workspace)
    cac = new_customer = unmatched_rows = None
    kept = 1.0
    with ws:
        # without --spend, the spend kept from the last analyze --spend (or dashboard upload)
        spend_frame, kept_note = spend_or_kept(ws, spend_frame, no_spend=no_spend)
        try:
            # the last `analyze` of this data (with --as-of or --margin changed, if given)
            analysis = last_analysis(ws, as_of=as_of, margin=margin)
            dated = earlier_as_of_note(ws, analysis.summary["as_of"], as_of)
            customers = analysis.customers
            # spellings made one, as the CAC table matches channels (and as Shopify's discount
            # codes are case-insensitive)
            if by in (GroupBy.channel, GroupBy.discount_code):
                customers = customers.assign(**{column: canonical_channels(customers[column])})
            if by is GroupBy.tags:
                tags = ws.customers().select("customer_id", "tags").to_pandas()
                customers = explode_tags(customers, tags)
            if attribute_frame is not None:
                customers = join_attributes(customers, attribute_frame)
                unmatched_rows = unmatched_attributes_note(customers, str(attributes))
            if column not in customers.columns:
                known = ", ".join(map(str, customers.columns))
                raise ValueError(f"--by-column {column}: no such column (there are: {known})")
            groups = clv_by_group(customers, column)
            # the analysis' own margin, as its predicted values have it
            kept = analysis.summary.get("margin", margin)
            kept = 1.0 if kept is None else float(kept)
            currency = analysis.summary.get("currency")
            new_customer = (analysis.summary.get("model") or {}).get("new_customer")
            if spend_frame is not None:
                from valuecast.io.spend import check_spend_currency

                check_spend_currency(spend_frame, currency)
                monthly = monthly_revenue(ws.orders(), analysis.summary["as_of"])
                cac = shop_cac_table(
                    analysis.customers, spend_frame, monthly, margin=kept,
                    as_of=analysis.summary["as_of"],
                )  # fmt: skip
        except (SummaryError, InputError, EngineError, ValueError) as error:
            fail(str(error))
        except Exception as error:  # whatever it is: one line, no traceback
            fail(f"{workspace}: channels failed: {type(error).__name__}: {error}")
    # the channels' CAC rows where the spend names a channel, after the whole shop's
    joined = by is GroupBy.channel and cac is not None and not (cac["channel"] == BLENDED).all()
    shop = (
        None
        if cac is None
        else cac[(cac["channel"] == BLENDED) & (cac["cohort_month"] == ALL_MONTHS)].drop(
            columns="cohort_month"
        )
    )
    frame = channels_frame(groups, column, cac if joined else None)
    if by is GroupBy.channel:  # what a customer acquired today is worth, as analyze writes it
        frame = with_new_customer_clv(
            frame, customers, new_customer, margin=kept, channels=customers[column]
        )
    paths = [out / "channels.csv"] + ([out / "cac.csv"] if cac is not None else [])
    with writing_to(out, "the results"):
        out.mkdir(parents=True, exist_ok=True)
        write_csv(frame, paths[0])
        if cac is not None:
            write_csv(cac, paths[1])
        else:  # an earlier run's, with spend, would read as this one's
            (out / "cac.csv").unlink(missing_ok=True)
    grouped = by.value if by is not None else column  # --by-column names no --by
    two = _two_ratios(cac) if joined else None
    _print(frame, column, grouped, joined, paths, currency, shop, two)
    if kept_note is not None:
        console.print(f"note: {kept_note}", highlight=False, soft_wrap=True)
    if dated is not None:
        console.print(dated, highlight=False, soft_wrap=True)
    ungrouped = ungrouped_note(groups[column], by.value) if by is not None else None
    if ungrouped is not None:
        console.print(f"note: {ungrouped}", highlight=False, soft_wrap=True)
    if unmatched_rows is not None:
        console.print(f"note: {unmatched_rows}", highlight=False, soft_wrap=True)
    unmatched = (
        None
        if cac is None
        else unmatched_spend_note(cac, analysis.customers[GROUP_COLUMNS["channel"]])
    )
    if unmatched is not None:
        console.print(f"note: {unmatched}", highlight=False, soft_wrap=True)
    # a spend export without a channel column (a campaign name instead) is read as the whole
    # shop's: said, so that no one takes the missing channels' CAC for a fault
    shop_wide = (
        shop_wide_spend_note(cac, analysis.customers[GROUP_COLUMNS["channel"]])
        if cac is not None and by is GroupBy.channel
        else None
    )
    if shop_wide is not None:
        console.print(f"note: {shop_wide}", highlight=False, soft_wrap=True)
    if cac is not None and not joined and by is not GroupBy.channel:
        console.print(
            f"note: CAC is per channel: see {out / 'cac.csv'} (channels.csv is by {grouped})",
            highlight=False,
            soft_wrap=True,
        )
