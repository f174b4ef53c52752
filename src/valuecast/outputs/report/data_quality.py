"""Data quality: rows read, orders used and excluded, low-confidence notes."""

from __future__ import annotations

from pathlib import Path

from valuecast.outputs.report.charts import (
    GREEN,
    ORANGE,
    RED,
    Chart,
    axis_layout,
    capitalized,
    plotly_figure,
    plural_text,
    trace,
)


def data_quality(summary: dict, ingest_report: dict | None) -> tuple[Chart, list[str]]:
    title = "What happened to the orders read"
    notes = [f"Low confidence: {reason}." for reason in summary.get("low_confidence_reasons") or []]
    notes += [f"{capitalized(str(note))}." for note in summary.get("notes") or []]
    report = ingest_report or {}
    # what the ingest noticed (a currency converted, pasted rows, ...), where the analysis did
    # not say the same; as written, as a note may start with a file's name
    said = {note.lower() for note in notes}
    notes += [
        text
        for text in (f"{str(note).rstrip('.')}." for note in report.get("notes") or [])
        if text.lower() not in said
    ]
    if "orders" not in report:
        return Chart(
            "data-quality-orders", title,
            "No ingest report: this workspace was not filled by `valuecast ingest`.",
        ), notes  # fmt: skip
    orders = int(report.get("orders") or 0)
    guests = int(report.get("guest_orders") or 0)
    excluded = {
        str(k): int(v) for k, v in (report.get("excluded_orders") or {}).items() if int(v) > 0
    }
    # an analysis as of an earlier day uses only the orders placed by then
    analysed = summary.get("n_orders")
    stored = report.get("workspace_orders")
    earlier = analysed is not None and stored is not None and int(analysed) < int(stored)
    used = "stored" if earlier else "used"
    labels = [f"{used}: customers' orders", f"{used}: guest orders"]
    values = [orders - guests, guests]
    colors = [GREEN, ORANGE]
    for reason, count in sorted(excluded.items(), key=lambda item: -item[1]):
        labels.append(f"excluded: {reason}")
        values.append(count)
        colors.append(RED)
    bar = trace(
        "bar", y=labels[::-1], x=values[::-1], orientation="h", marker={"color": colors[::-1]},
        text=[f"{v:,}" for v in values[::-1]], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:,} orders<extra></extra>", name="orders",
    )  # fmt: skip
    rows = int(report.get("rows_read") or 0)
    total_excluded = sum(excluded.values())
    rows_read = f"{plural_text(rows, 'row')} read" + _orders_over_rows(report, rows, total_excluded)
    # a workspace filled by several ingests (a quarter's export each): the report is the last
    # one's, and says so, where it would otherwise read as the whole shop's
    before = stored is not None and int(stored) > orders
    reading = f"Of {rows_read}, {plural_text(orders, 'order')} were {used}"
    if before:
        files = [Path(str(f.get("file", ""))).name for f in report.get("files") or []]
        named = f" ({', '.join(files)})" if 0 < len(files) <= 3 else ""
        reading = f"The last ingest{named}: of {rows_read}, " + (
            f"{plural_text(orders, 'order')} were {used}"
        )
    if guests:
        reading += f" ({_guest_words(guests)}, left out of the customer figures)"
    if excluded:
        reading += f"; {plural_text(total_excluded, 'order')} were excluded: " + ", ".join(
            f"{reason} {count:,}" for reason, count in sorted(excluded.items(), key=lambda i: -i[1])
        )
    else:
        reading += "; none was excluded"
    others = _rows_without_orders(report, excluded)
    if others:
        total = sum(others.values())
        reading += f"; {plural_text(total, 'other row')} {'was' if total == 1 else 'were'} "
        reading += "left out: " + ", ".join(
            f"{reason} {count:,}" for reason, count in others.items()
        )
    if before and not earlier:
        reading += (
            f". The workspace holds {int(stored):,} orders from this and earlier ingests, "
            "each with its own report (`valuecast ingest --json` prints one), and the "
            "analysis reads them all"
        )
    if earlier:
        analysed_guests = int(summary.get("n_guest_orders") or 0)
        reading += (
            f". The analysis as of {summary.get('as_of')} uses the "
            f"{plural_text(int(analysed), 'order')} of the workspace's {int(stored):,} placed by "
            f"then" + (f" ({_guest_words(analysed_guests)})" if analysed_guests else "")
        )
    figure = plotly_figure(
        [bar],
        xaxis=axis_layout("orders"),
        yaxis=axis_layout(""),
        showlegend=False,
        height=max(240, 40 * len(labels) + 100),
    )
    return Chart("data-quality-orders", title, reading + ".", figure), notes


def _orders_over_rows(report: dict, rows: int, excluded: int) -> str:
    """`` (N orders, a row for each line item)`` where the file gives an order's line items on
    rows of their own (a Shopify export, a line-level log), so the rows read outnumber the
    orders; else nothing.  A customers file's rows are read too, and are not orders' rows."""
    orders = int(report.get("orders") or 0) + excluded
    if not report.get("line_items") or report.get("customer_records") or rows <= orders:
        return ""
    return f" ({plural_text(orders, 'order')}, a row for each line item)"


def _rows_without_orders(report: dict, excluded: dict[str, int]) -> dict[str, int]:
    """The rows excluded for a reason that excluded no order (a customers export's second row
    for one customer, an empty row), by reason, most first: the ingest report counts them
    beside the orders."""
    rows = {
        str(reason): int(count)
        for reason, count in (report.get("excluded_rows") or {}).items()
        if int(count) > 0 and str(reason) not in excluded
    }
    return dict(sorted(rows.items(), key=lambda item: (-item[1], item[0])))


def _guest_words(guests: int) -> str:
    return "1 of them a guest order" if guests == 1 else f"{guests:,} of them guest orders"
