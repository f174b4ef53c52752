"""What the pages show about one snapshot, computed once from what the snapshot stores.

:class:`SnapshotView` holds a snapshot's summary, ingest report and growth tables, the charts and
readings of :mod:`valuecast.outputs.report` (the same figure builders as ``report.html``), the
named segments' counts and value (the rules of :mod:`valuecast.outputs.audiences`), and the
product tables indexed by customer.  Nothing here re-runs the analysis: the dashboard shows what
``valuecast analyze`` / an upload's refresh stored.

The charts, readings and segment counts read every customer (about 5 s at 1M customers), so
they are computed when the snapshot is made (:func:`store_view`, called by ``analyze`` and the
dashboard's uploads) and stored with it as ``view.json``; the server reads them at start-up.  A
snapshot stored without them (an older workspace) has them computed when it is first shown.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from valuecast.outputs.report.charts import (
    Chart,
    HtmlTable,
    Section,
    axis_layout,
    chart_labels,
    count_text,
    finite,
    plotly_figure,
    plural_text,
    trace,
)

if TYPE_CHECKING:
    from valuecast.outputs.report.render import Built

VIEW = "view.json"  # the name of the stored charts and segment counts among a snapshot's pages

# which report sections each page shows (the report's section keys)
PAGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "overview": ("headline", "concentration", "alive", "segments", "stage"),
    "cohorts": ("cohorts",),
    "channels": ("channels", "drivers"),
    "model": ("backtest", "data-quality"),
    "products": ("products",),
}
PAGES = tuple(PAGE_SECTIONS)

SEGMENT_COLUMNS = (
    "rfm_group", "predicted_spend_tier", "churn_probability", "probability_alive",
    "historic_clv", "predicted_clv", "expected_date_of_next_order", "last_order_date",
    "average_days_between_orders", "accepts_marketing",
)  # fmt: skip
"""The customers-table columns the segment counts read (:func:`segment_counts`): the columns a
caller holding the table elsewhere passes (:func:`segment_frame`)."""


def segment_frame(table: pa.Table, *, self_destruct: bool = False) -> pd.DataFrame:
    """The columns :func:`segment_counts` reads (``table``, an Arrow table of
    :data:`SEGMENT_COLUMNS`) as a compact frame: text labels as categoricals and dates as
    ``datetime64``, where the pipeline's frame holds every customer's label and next order date
    as a Python object (10M customers: ~1 GB against ~0.5 GB).

    ``self_destruct``: the caller drops ``table``, so each column is freed once converted. The
    labels are made categorical by the conversion itself, not by a new table of encoded
    columns, which would leave the caller's table holding every other column until the frame
    is whole.
    """
    text = [
        column.name
        for column in table.schema
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    ]
    return table.to_pandas(
        categories=text, date_as_object=False, split_blocks=True, self_destruct=self_destruct
    )


def plain(value: Any) -> Any:
    """A cell as a JSON value: NaN/NaT/NA as None, numpy scalars as Python, dates as ISO text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return finite(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame | None, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows of ``frame`` as JSON-ready dicts."""
    if frame is None or frame.empty:
        return []
    part = frame if limit is None else frame.head(limit)
    columns = [str(c) for c in part.columns]
    return [
        {c: plain(v) for c, v in zip(columns, row, strict=True)}
        for row in part.itertuples(index=False, name=None)
    ]


def _table(columns: list[str], frame: pd.DataFrame, formats: dict[str, Any]) -> list[list[str]]:
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for name in columns:
            value = getattr(row, name)
            cells.append(formats.get(name, _text)(value))
        rows.append(cells)
    return rows


def _text(value: Any) -> str:
    value = plain(value)
    return "-" if value is None else str(value)


# ------------------------------------------------------------------------------------------------
# products: the page the report has no section for (same figure helper, same style of reading)
def _products_section(
    tables: dict[str, pd.DataFrame], summary: dict, declining: set[str] | None = None
) -> Section:
    """The Products page: pairs, replenishment and the lines that are no product.
    ``declining``: the customers who decline marketing (:func:`declining_customers`), whose
    reminders `valuecast reminders` leaves out of the list to send."""
    from valuecast.analysis.growth.affinity import FEW_PAIRS, SAME_ORDER, within_chance
    from valuecast.analysis.growth.replenishment import (
        DUE_WITHIN,
        kept_reminders,
        reminder_counts,
    )
    from valuecast.outputs.report.charts import BLUE, GREY

    charts: list[Chart] = []
    section_tables: list[HtmlTable] = []
    pairs = tables.get("affinity.csv")
    title = "Products bought together in one order"
    same = (
        pairs[pairs["kind"] == SAME_ORDER].sort_values(["pairs", "lift"], ascending=False)
        if pairs is not None and len(pairs)
        else None
    )
    # affinity.csv of an older snapshot has no beyond_chance column: its pairs are by lift alone
    by_chance = pairs is not None and "beyond_chance" in pairs.columns
    ranked = "beyond chance first, then by lift" if by_chance else "by lift"
    if same is not None and len(same):
        # each unordered pair appears twice (A->B and B->A): show it once
        key = same.apply(lambda r: tuple(sorted((str(r.product_a), str(r.product_b)))), axis=1)
        top = same[~key.duplicated()].head(12).iloc[::-1]
        labels = chart_labels(
            f"{a} + {b}" for a, b in zip(top["product_a"], top["product_b"], strict=True)
        )
        bar = trace(
            "bar", y=labels, x=top["pairs"].astype(int).tolist(), orientation="h",
            marker={"color": BLUE}, customdata=[finite(v) for v in top["lift"]],
            hovertemplate="%{y}: %{x:,} orders (lift %{customdata:.2f})<extra></extra>",
            name="orders",
        )  # fmt: skip
        best = top.iloc[-1]
        lift = finite(best.lift) or 0.0
        chance_level = bool(within_chance(top.iloc[[-1]])[0])
        reading = (
            f"{best.product_a} and {best.product_b} are the pair most often bought together "
            f"({count_text(best.pairs)} orders, {lift:.1f} times as often as chance would have "
            "it)."
        )
        if lift < 1:  # two best-sellers meet often by their popularity alone
            reading += (
                " That is less often than chance: they are bought together because both sell "
                "well, not because one leads to the other; the table below ranks pairs "
                f"{ranked}."
            )
        elif chance_level and best.pairs < FEW_PAIRS:
            reading += (  # a small shop's two baskets
                " With so few orders, chance alone often puts two products together that "
                "many times: too few yet to call it an affinity."
            )
        elif chance_level:  # two best-sellers, a lift near 1
            reading += (
                f" Chance alone would put them together in about {count_text(best.pairs / lift)} "
                "orders, both selling as well as they do: no sign that one leads to the other; "
                f"the table below ranks pairs {ranked}."
            )
        figure = plotly_figure(
            [bar], xaxis=axis_layout("orders with both"), yaxis=axis_layout(""), showlegend=False,
            height=max(300, 30 * len(top) + 120),
        )  # fmt: skip
        charts.append(Chart("products-pairs", title, reading, figure))
    elif _names_no_product(summary):
        charts.append(Chart("products-pairs", title, NO_PRODUCTS))
    else:
        charts.append(Chart("products-pairs", title, "No product bought together often enough."))
    if pairs is not None and len(pairs):
        shown = pairs.head(50)
        columns = ["kind", "product_a", "product_b", "pairs", "support", "confidence", "lift"]
        headers = ["kind", "product", "then / with", "pairs", "support", "confidence", "lift"]
        if by_chance:
            columns, headers = [*columns, "beyond_chance"], [*headers, "beyond chance"]
        section_tables.append(
            HtmlTable(
                f"Product affinity ({ranked})",
                headers,
                _table(
                    columns,
                    shown,
                    {
                        "kind": lambda v: "same order" if v == SAME_ORDER else "bought after",
                        "support": lambda v: f"{finite(v) or 0:.2%}",
                        "confidence": lambda v: f"{finite(v) or 0:.1%}",
                        "lift": lambda v: f"{finite(v) or 0:.2f}",
                        "pairs": count_text,
                        "beyond_chance": lambda v: (
                            "yes" if str(v).lower() in ("true", "1") else "no"
                        ),
                    },
                ),
                f"{plural_text(len(pairs), 'pair')} found; the first {len(shown)}, {ranked}.",
            )
        )

    title = "Replenishment: customers due to reorder, by product"
    every = tables.get("reminders.csv")
    # what `valuecast reminders` shows by default: due within DUE_WITHIN days either way
    due = None if every is None else kept_reminders(every, DUE_WITHIN)
    if due is not None and len(due):
        frame = due.assign(days=pd.to_numeric(due["days_until_due"], errors="coerce"))
        # a reminder's cycle_days is its customer's own; the product's is beside it
        product_cycle = "product_cycle_days" if "product_cycle_days" in frame else "cycle_days"
        by_product = (
            frame.groupby("product")
            .agg(
                cycle_days=(product_cycle, "first"),
                reminders=("customer_id", "size"),
                overdue=("days", lambda d: int((d < 0).sum())),
                due_soon=("days", lambda d: int((d >= 0).sum())),
            )
            .reset_index()
            .sort_values("reminders", ascending=False)
        )
        top = by_product.head(12).iloc[::-1]
        traces = [
            trace(
                "bar", y=chart_labels(top["product"]), x=top[column].astype(int).tolist(),
                orientation="h", name=name, marker={"color": color},
                hovertemplate="%{y}: %{x:,} customers " + name + "<extra></extra>",
            )
            for column, name, color in (
                ("overdue", "overdue", GREY), ("due_soon", f"due within {DUE_WITHIN} days", BLUE)
            )
        ]  # fmt: skip
        lead = by_product.iloc[0]
        # a customer due for two products is one customer to remind, with two reminders; the
        # ones just overdue are as much to send now as the ones due soon
        customers = int(frame["customer_id"].nunique())
        overdue = int((frame["days"] < 0).sum())
        reading = (
            f"{plural_text(customers, 'customer')} {'is' if customers == 1 else 'are'} due to "
            f"reorder ({plural_text(len(frame), 'reminder')}: {count_text(len(frame) - overdue)} "
            f"due within {DUE_WITHIN} days, {count_text(overdue)} overdue by up to {DUE_WITHIN} days); "
            f"{lead['product']} has the most reminders ({count_text(lead['reminders'])}, every "
            f"{int(lead['cycle_days'])} days)."
        )
        reading += _left_out_reading(reminder_counts(every))
        reading += _declining_reading(frame["customer_id"], declining)
        figure = plotly_figure(
            traces, barmode="stack", xaxis=axis_layout("customers"), yaxis=axis_layout(""),
            height=max(300, 30 * len(top) + 120),
        )  # fmt: skip
        charts.append(Chart("products-reminders", title, reading, figure))
        section_tables.append(
            HtmlTable(
                "Replenishment cycles",
                [
                    "product",
                    "cycle (days)",
                    "reminders",
                    "overdue",
                    f"due within {DUE_WITHIN} days",
                ],
                _table(
                    ["product", "cycle_days", "reminders", "overdue", "due_soon"],
                    by_product.head(50),
                    {"reminders": count_text, "overdue": count_text, "due_soon": count_text},
                ),
                "A reminder is due one cycle after the customer's last purchase of the "
                "product: their own median days between repeat purchases of it, weighed with "
                "the product's cycle (the median of its customers' own) as one more repeat, or, "
                "for a customer who bought it once, the product's cycle, longer for a customer "
                "who bought more items; the reminders are those "
                f"due within {DUE_WITHIN} days or overdue by at most {DUE_WITHIN} days and the "
                "customer's cycle, as `valuecast reminders` shows them.",
            )
        )
    elif _names_no_product(summary):
        reading = "No product to remind of: the orders name no products (see above)."
        charts.append(Chart("products-reminders", title, reading))
    else:
        charts.append(Chart("products-reminders", title, _nobody_due_reading(every)))
    return Section("products", "Products", charts, section_tables)


NO_PRODUCTS = (
    "The orders name no products: they were read from an orders table without line items, so "
    "no product can be paired, suggested or reminded of. An export with its line items names "
    "them (Shopify's orders export, Magento's sales_order with sales_order_item, WooCommerce's "
    "with its items); an orders table whose rows name what was bought takes "
    "`--map product=COLUMN` beside its other columns on the command line "
    "(`valuecast analyze FILE --map ...`)."
)
"""The Products page's reading for orders that name no product."""


def _names_no_product(summary: dict) -> bool:
    """Whether the analysis' orders name no product (no line item names one): a summary made
    before it said so reads as naming some."""
    products = (summary.get("growth") or {}).get("products") or {}
    return products.get("named_products") is False


def _declining_reading(customer_ids: pd.Series, declining: set[str] | None) -> str:
    """The reading's sentence on the reminders due whose customers decline marketing: counted
    above as customers due to reorder, and left out of the list `valuecast reminders` writes."""
    if not declining:
        return ""
    count = int(customer_ids.astype(str).isin(declining).sum())
    if not count:
        return ""
    return (
        f" {plural_text(count, 'reminder')} {'is' if count == 1 else 'are'} to customers who "
        "decline marketing: `valuecast reminders` leaves them out of the list to send."
    )


def declining_customers(customers: pd.DataFrame, declined: np.ndarray | None) -> set[str]:
    """The ids of the customers who decline marketing: their own ``accepts_marketing`` is
    false, or another record holding their address declines it (``declined``:
    :func:`address_declined`)."""
    if "accepts_marketing" not in customers.columns:
        return set()
    declines = customers["accepts_marketing"].astype("boolean").eq(False).fillna(False)
    declines = declines.to_numpy(bool)
    if declined is not None:
        declines = declines | declined
    return set(customers.loc[declines, "customer_id"].astype(str))


def _left_out_reading(counts: dict[str, int]) -> str:
    """The reading's sentence on the reminders left out: due later, or lapsed."""
    from valuecast.analysis.growth.replenishment import DUE_WITHIN

    text = ""
    if counts["later"]:
        later = counts["later"]
        text += (
            f" {plural_text(later, 'reminder')} due later than {DUE_WITHIN} days "
            f"{'is' if later == 1 else 'are'} not counted yet."
        )
    if counts["lapsed"]:
        lapsed = counts["lapsed"]
        text += (
            f" {plural_text(lapsed, 'reminder')} overdue by more than {DUE_WITHIN} days (or the "
            f"customer's cycle) {'is' if lapsed == 1 else 'are'} left out, as `valuecast "
            "reminders` leaves them: those customers have had their reminder or lapsed, and "
            "reminding them is a win-back."
        )
    return text


def _nobody_due_reading(every: pd.DataFrame | None) -> str:
    """The replenishment reading when no reminder is due soon: no product has a cycle, or
    every customer of the products that have one is due later or overdue by longer."""
    from valuecast.analysis.growth.replenishment import DUE_WITHIN, reminder_counts

    if every is None or not len(every):
        return "No product is reordered regularly."
    products = int(every["product"].nunique())
    counts = reminder_counts(every)
    regular = f"{plural_text(products, 'product')} {'is' if products == 1 else 'are'} reordered "
    if counts["later"]:
        return (
            f"{regular}regularly, but no customer is due to reorder within {DUE_WITHIN} days."
            + _left_out_reading(counts)
        )
    reminders = "its one reminder is" if len(every) == 1 else f"all {len(every):,} reminders are"
    return (
        f"{regular}regularly, but no customer is due to reorder: {reminders} overdue by more "
        f"than {DUE_WITHIN} days (or the customer's cycle), which `valuecast reminders` leaves out: those "
        "customers have had their reminder or lapsed, and reminding them is a win-back."
    )


# ------------------------------------------------------------------------------------------------
def view_parts(
    summary: dict,
    customers: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    ingest_report,
    built: Built | None = None,
    declined: np.ndarray | None = None,
    declining: set[str] | None = None,
) -> dict[str, Any]:
    """The charts, readings and segment counts of a snapshot, as JSON-ready data.

    ``built`` is the report's chart pass of the same analysis (:func:`report_sections`), when
    the caller made it already; the sections are copied, never changed.  ``declined`` marks the
    customers whose e-mail address another customer record declines marketing for
    (:func:`address_declined`), which the segments' consent counts leave out.  ``declining``:
    the customers due a reminder who decline marketing, where ``customers`` holds no
    ``customer_id`` (else read from it: :func:`declining_customers`).
    """
    from valuecast.outputs.report.render import build_sections

    items, report = built if built is not None else build_sections(
        summary, customers, tables, ingest_report
    )  # fmt: skip
    sections = {section.key: section for section in report}
    if declining is None and "customer_id" in customers.columns:
        declining = declining_customers(customers, declined)
    sections["products"] = _products_section(tables, summary, declining)
    stored, template = _stored_sections(sections.values())
    segments = segment_counts(customers[list(SEGMENT_COLUMNS)], summary.get("as_of"), declined)
    return {"items": items, "sections": stored, "template": template, "segments": segments}


def _stored_sections(sections: Iterable[Section]) -> tuple[list[dict[str, Any]], Any]:
    """The sections as :func:`dataclasses.asdict` gives them, with the charts' Plotly template
    taken out of every figure's layout (stored once), and that template.

    Only the dicts that change are copied: the figures' data are shared with ``sections``,
    which are never changed (a deep copy of every figure took 0.2 s at 1M customers).
    """
    template = None
    stored = []
    for section in sections:
        charts = []
        for chart in section.charts:
            figure = chart.figure
            if figure is not None and "layout" in figure:
                layout = dict(figure["layout"])
                template = layout.pop("template", template)
                figure = {**figure, "layout": layout}
            charts.append({**_fields(chart), "figure": figure})
        tables = [asdict(table) for table in section.tables]
        stored.append({**_fields(section), "charts": charts, "tables": tables})
    return stored, template


def _fields(item: Any) -> dict[str, Any]:
    """A dataclass' fields by name, in order, the values themselves (not copies)."""
    return {field.name: getattr(item, field.name) for field in fields(item)}


def _sections(parts: dict[str, Any]) -> dict[str, Section]:
    out = {}
    for stored in parts["sections"]:
        section = Section(**stored)
        section.charts = [Chart(**chart) for chart in stored["charts"]]
        section.tables = [HtmlTable(**table) for table in stored["tables"]]
        out[section.key] = section
    return out


def _view_bytes(parts: dict[str, Any]) -> bytes:
    return json.dumps(parts, default=plain).encode("utf-8")


def store_view(workspace, snapshot_id: int, parts: dict[str, Any] | None = None) -> None:
    """Store the pages' charts and segment counts of snapshot ``snapshot_id``: ``parts``
    (:func:`view_parts` of the analysis just stored, as ``analyze`` makes them), or else
    computed from what the snapshot stores (as :meth:`SnapshotView.build` would)."""
    from valuecast.store import snapshots

    if parts is None:
        summary = snapshots.load_summary(workspace, snapshot_id)
        ingest_report = snapshots.load_ingest_report(workspace, snapshot_id) or None
        tables = snapshots.load_tables(workspace, snapshot_id)
        customers = snapshots.load_customers(workspace, snapshot_id)
        declined = address_declined(customers["customer_id"], workspace.shared_addresses())
        parts = view_parts(summary, customers, tables, ingest_report, declined=declined)
    snapshots.save_pages(workspace, snapshot_id, {VIEW: _view_bytes(parts)})


def _read(reading: Callable[[], Any], read: Callable[..., Any], *args: Any) -> Any:
    with reading() as reader:
        return read(reader, *args)


class _Tables(Mapping):
    """A snapshot's growth tables by file name, read on first use (at 1M customers the
    reminders table alone is a million rows: 0.3 s that start-up does not wait for)."""

    def __init__(self, load: Callable[[], dict[str, pd.DataFrame]]) -> None:
        self._load = load
        self._tables: dict[str, pd.DataFrame] | None = None
        self._lock = threading.Lock()

    def _all(self) -> dict[str, pd.DataFrame]:
        with self._lock:
            if self._tables is None:
                self._tables = self._load()
            return self._tables

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


@dataclass
class SnapshotView:
    """Everything the pages show about one snapshot that does not depend on the request."""

    info: Any  # snapshots.SnapshotInfo
    summary: dict[str, Any]
    ingest_report: dict[str, Any]
    tables: Mapping[str, pd.DataFrame]  # read on first use
    items: list[dict[str, Any]]
    sections: dict[str, Section]
    template: dict[str, Any] | None
    segments: list[dict[str, Any]]
    index: Any = None  # customers.CustomerIndex: the customers table, ready to page
    _by_customer: dict[str, pd.DataFrame] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, reading: Callable[[], Any], info) -> SnapshotView:
        """The view of snapshot ``info``: what the snapshot stores for the pages, else computed
        now.  ``reading()`` lends a reader (a context manager, as :meth:`Dashboard.reader`);
        the growth tables and the search's e-mails are read with one when first needed."""
        from valuecast.store import snapshots
        from valuecast.web.customers import CustomerIndex, email_table

        sid = info.snapshot_id
        tables = _Tables(lambda: _read(reading, snapshots.load_tables, sid))
        with reading() as reader:
            summary = snapshots.load_summary(reader, sid)
            ingest_report = snapshots.load_ingest_report(reader, sid) or None
            table = snapshots.customers_arrow_table(reader, sid)
            pages = snapshots.load_pages(reader, sid)
            shared = reader.shared_addresses() if VIEW not in pages else None
        if VIEW in pages:
            parts = json.loads(pages[VIEW])
        else:
            customers = table.to_pandas()
            declined = address_declined(customers["customer_id"], shared)
            parts = view_parts(summary, customers, tables, ingest_report, declined=declined)
        stored_orders = snapshots.stored_sort_orders(
            pages, lambda name: _read(reading, snapshots.load_sort_order, sid, name)
        )
        index = CustomerIndex(table, lambda: _read(reading, email_table), stored_orders)
        return cls(
            info=info,
            summary=summary,
            ingest_report=ingest_report or {},
            tables=tables,
            items=parts["items"],
            sections=_sections(parts),
            template=parts["template"],
            segments=parts["segments"],
            index=index,
        )

    def warm(self, columns: tuple[str, ...]) -> None:
        """Everything a request would otherwise compute on first use: the e-mails of the
        search, the sort orders of ``columns`` and the product tables by customer."""
        self.index.warm(columns)
        _ = self.by_customer  # reads the growth tables too

    @property
    def by_customer(self) -> dict[str, pd.DataFrame]:
        """The product tables with a row per customer, indexed by customer id (built once)."""
        with self._lock:
            if self._by_customer is None:
                self._by_customer = {
                    name: frame.set_index("customer_id").sort_index()
                    for name in ("next_products.csv", "reminders.csv")
                    if (frame := self.tables.get(name)) is not None and "customer_id" in frame
                }
            return self._by_customer

    @property
    def customers(self) -> pd.DataFrame:
        """The snapshot's customers table (customer-id order)."""
        return self.index.frame

    @property
    def currency(self) -> str | None:
        return self.summary.get("currency")

    def page_sections(self, page: str) -> list[Section]:
        return [self.sections[key] for key in PAGE_SECTIONS.get(page, ()) if key in self.sections]

    def figures(self, page: str) -> dict[str, Any]:
        """The Plotly figures of ``page`` (what ``/api/v1/charts/{page}`` returns)."""
        figures = {
            chart.key: chart.figure
            for section in self.page_sections(page)
            for chart in section.charts
            if chart.figure is not None
        }
        return {"template": self.template, "figures": figures}

    def for_customer(self, name: str, customer_id: str) -> pd.DataFrame:
        frame = self.by_customer.get(name)
        if frame is None or customer_id not in frame.index:
            return pd.DataFrame()
        return frame.loc[[customer_id]].reset_index()


def still_due(reminders: pd.DataFrame) -> pd.DataFrame:
    """The replenishment reminders (``reminders.csv``) not yet due or overdue by at most
    :data:`~valuecast.analysis.growth.replenishment.DUE_WITHIN` days and one cycle, as
    ``valuecast reminders`` keeps them
    (:func:`valuecast.analysis.growth.replenishment.kept_reminders`)."""
    from valuecast.analysis.growth.replenishment import kept_reminders

    return kept_reminders(reminders)


def address_declined(customer_ids: pd.Series, shared: pd.DataFrame) -> np.ndarray | None:
    """Which of ``customer_ids`` (a snapshot's customers) the audience files leave out because
    another of the snapshot's customers with the same e-mail address declines marketing, as
    :func:`valuecast.outputs.audiences.table.declined_addresses` rules; None when none is.

    ``shared`` is :meth:`valuecast.store.Workspace.shared_addresses`: the customers who share
    an address, with their consent and the address as the audience files key it.
    """
    if not len(shared):
        return None
    from valuecast.outputs.audiences.table import declined_addresses

    in_snapshot = shared[shared["customer_id"].isin(customer_ids).to_numpy(bool)]
    addresses = declined_addresses(in_snapshot.rename(columns={"address": "email"}))
    declined_ids = in_snapshot.loc[in_snapshot["address"].isin(addresses).to_numpy(bool)]
    if not len(declined_ids):
        return None
    return customer_ids.isin(set(declined_ids["customer_id"])).to_numpy(bool)


def segment_counts(
    customers: pd.DataFrame, as_of: Any, declined: np.ndarray | None = None
) -> list[dict[str, Any]]:
    """Every named segment (:data:`valuecast.outputs.audiences.SEGMENTS`): customers, consenting,
    value.

    ``declined`` (:func:`address_declined`) marks customers whose address another record
    declines marketing for: they are not counted as consenting, as the audience files leave
    them out."""
    from valuecast.outputs.audiences import SEGMENTS, high_historic_value, segment_mask
    from valuecast.outputs.audiences.segments import label_segment

    # the labels as categoricals once (masked by their codes), not as text once per segment;
    # the top historic values once for the two segments that need them
    customers = customers.assign(
        rfm_group=_categories(customers["rfm_group"]),
        predicted_spend_tier=_categories(customers["predicted_spend_tier"]),
    )
    high_value = high_historic_value(customers)
    stated_consent = customers["accepts_marketing"].astype("boolean")
    consent = stated_consent.fillna(False).to_numpy(dtype=bool)
    if declined is not None:
        consent &= ~declined
    stated = stated_consent.notna().to_numpy(dtype=bool)
    historic = customers["historic_clv"].to_numpy(dtype=float)
    predicted = customers["predicted_clv"].to_numpy(dtype=float)
    total_historic = float(np.nansum(historic)) or None
    any_predicted = bool(np.isfinite(predicted).any())
    groups = {
        column: _LabelRows(customers[column], consent, historic, predicted, stated)
        for column in ("rfm_group", "predicted_spend_tier")
    }
    out = []
    for name, rule in SEGMENTS.items():
        labelled = label_segment(name)
        if labelled is not None:  # one label's rows: a slice of its column's grouped rows
            rows = groups[labelled[0]].rows(labelled[1])
            consenting, segment_historic, segment_predicted, segment_stated = rows
            size = len(consenting)
        else:
            mask = segment_mask(customers, name, as_of, high_value).to_numpy(dtype=bool)
            consenting, segment_historic = consent[mask], historic[mask]
            segment_stated = stated[mask]
            segment_predicted = predicted[mask] if any_predicted else None
            size = int(mask.sum())
        value = float(np.nansum(segment_predicted)) if any_predicted else None
        segment_historic = float(np.nansum(segment_historic))
        out.append(
            {
                "segment": name,
                "rule": rule,
                "customers": size,
                "consenting": int(consenting.sum()),
                # no export recorded their consent: left out of downloads as not consenting
                "consent_unknown": int(size - segment_stated.sum()),
                "historic_clv": round(segment_historic, 2),
                "predicted_clv": None if value is None else round(value, 2),
                "historic_share": (
                    None if total_historic is None else round(segment_historic / total_historic, 4)
                ),
            }
        )
    return out


def with_prospects(segments: list[dict[str, Any]], prospects: pd.DataFrame) -> list[dict[str, Any]]:
    """``segments`` (:func:`segment_counts` of a snapshot, whose customers all have orders) with
    the prospects' row counted from ``prospects`` (the workspace's customers without orders, as
    :func:`valuecast.store.workspace.prospects_frame` gives them), as their download exports."""
    stated = prospects["accepts_marketing"].astype("boolean")
    consent = stated.fillna(False)
    counted = {
        "customers": len(prospects), "consenting": int(consent.sum()),
        "consent_unknown": int(stated.isna().sum()), "historic_clv": 0.0,
    }  # fmt: skip
    return [
        {**segment, **counted} if segment["segment"] == "prospects" else segment
        for segment in segments
    ]


class _LabelRows:
    """Consent, historic and predicted CLV of the rows of each label of ``labels`` (a
    categorical of text), in row order.

    The rows are sorted once by label code (a stable radix sort of small integers) and each
    label's rows are a slice of them: the same values in the same order as a mask of the
    label selects, so their sums are the same to the bit, where a mask, and a gather of each
    column by it, per label segment took ~0.15 s at 1M customers.
    """

    def __init__(
        self,
        labels: pd.Series,
        consent: np.ndarray,
        historic: np.ndarray,
        predicted: np.ndarray,
        stated: np.ndarray,
    ) -> None:
        codes = labels.cat.codes.to_numpy()
        order = np.argsort(codes, kind="stable")
        self._consent, self._historic = consent[order], historic[order]
        self._predicted, self._stated = predicted[order], stated[order]
        categories = list(labels.cat.categories)
        # the missing labels (code -1) first, then each category's rows
        ends = np.cumsum(np.bincount(codes.astype(np.int64) + 1, minlength=len(categories) + 1))
        self._slices = {
            label: slice(int(ends[index]), int(ends[index + 1]))
            for index, label in enumerate(categories)
        }

    def rows(self, label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Consent, historic and predicted CLV, and whether consent is recorded, of the rows
        labelled ``label`` (none when no row is)."""
        rows = self._slices.get(label, slice(0, 0))
        return self._consent[rows], self._historic[rows], self._predicted[rows], self._stated[rows]


def _categories(labels: pd.Series) -> pd.Series:
    """``labels`` as a categorical of text (as it is when it is one already)."""
    from valuecast.outputs.audiences.segments import is_text_categorical

    if is_text_categorical(labels):
        return labels
    return labels.astype("string").astype("category")
