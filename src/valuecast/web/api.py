"""The JSON API under ``/api/v1`` (the pages use it; its schema is ``/api/v1/openapi.json``).

Reads answer from a snapshot (``?snapshot=ID``, default the latest); writes are the two uploads,
dropping the kept spend (``DELETE /api/v1/spend``) and keeping or forgetting the non-product
names (``PUT`` / ``DELETE /api/v1/not-products``), which start a job to poll at
``/api/v1/jobs/{job_id}``.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from valuecast.outputs.audiences import FORMATS, SEGMENTS
from valuecast.store.snapshots import DATE_REACH_DAYS
from valuecast.tables import CUSTOMER_COLUMNS
from valuecast.web.state import Busy, Dashboard
from valuecast.web.views import PAGES, records, still_due

router = APIRouter(prefix="/api/v1", tags=["valuecast"])

SortColumn = StrEnum("SortColumn", {name: name for name in CUSTOMER_COLUMNS})
Segment = StrEnum("Segment", {name.replace("-", "_"): name for name in SEGMENTS})
Format = StrEnum("Format", {name: name for name in FORMATS})
Page = StrEnum("Page", {name: name for name in PAGES})


# ------------------------------------------------------------------------------------------------
# response models (what the schema promises; the handlers return plain JSON that matches them)
class SnapshotOut(BaseModel):
    snapshot_id: int
    as_of: str
    created_at: str
    n_customers: int
    historic_clv: float
    predicted_clv: float | None
    model: str | None
    currency: str | None = None


class JobSnapshotOut(SnapshotOut):
    replaced: list[int] = Field(
        default_factory=list,
        description="The snapshots of the same as-of date this one replaced (the files held no "
        "order after that date).",
    )


class MatrixOut(BaseModel):
    before: list[str]
    after: list[str]
    counts: list[list[int]]


class CompareOut(BaseModel):
    before: SnapshotOut
    after: SnapshotOut
    totals: dict[str, dict[str, float | None]]
    rfm_matrix: MatrixOut
    tier_matrix: MatrixOut
    high_value_to_at_risk: int
    high_value_to_at_risk_top: list[dict[str, Any]]
    # the settings the two predictions differ in (horizon_months, margin, ..., model): [before, after]
    differences: dict[str, list[Any]] = {}
    # for a date given that took a snapshot dated before it, the line naming that snapshot
    notes: list[str] = []


class HeadlineItem(BaseModel):
    key: str
    label: str
    value: Any
    text: str


class OverviewOut(BaseModel):
    snapshot: SnapshotOut
    currency: str | None
    first_order_date: str | None
    last_order_date: str | None
    headline: list[HeadlineItem]
    totals: dict[str, Any]
    rfm_groups: dict[str, dict[str, Any]]
    spend_tiers: dict[str, dict[str, Any]]
    growth_stage: dict[str, Any] | None
    low_confidence: bool
    low_confidence_reasons: list[str]
    readings: dict[str, str]


class ChartsOut(BaseModel):
    page: str
    template: dict[str, Any] | None
    figures: dict[str, dict[str, Any]]
    readings: dict[str, str]


class CustomerPageOut(BaseModel):
    snapshot_id: int
    total: int
    page: int
    per_page: int
    pages: int
    sort: str
    order: Literal["asc", "desc"]
    q: str
    rows: list[dict[str, Any]]


class CustomerOut(BaseModel):
    snapshot_id: int
    as_of: str
    currency: str | None
    customer: dict[str, Any]
    contact: dict[str, Any]
    orders: list[dict[str, Any]]
    orders_total: int
    orders_by_as_of: int = Field(
        description="The workspace's orders of the customer placed by the as-of date: fewer "
        "than the snapshot's historic_number_of_orders where a later export withdrew some "
        "(cancelled or refunded in full)"
    )
    history: list[dict[str, Any]]
    next_products: list[dict[str, Any]]
    reminders: list[dict[str, Any]]


class SegmentOut(BaseModel):
    segment: str
    rule: str
    customers: int
    consenting: int
    historic_clv: float
    predicted_clv: float | None
    historic_share: float | None


class TablesOut(BaseModel):
    snapshot_id: int
    tables: dict[str, list[dict[str, Any]]]
    figures: dict[str, Any]


class JobOut(BaseModel):
    job_id: str
    kind: str
    files: list[str]
    state: Literal["queued", "running", "done", "failed"]
    step: str
    steps: list[dict[str, Any]]
    progress: float
    error: str | None
    ingest_report: dict[str, Any] | None
    snapshot: JobSnapshotOut | None
    seconds: float


class CsrfOut(BaseModel):
    csrf_token: str


# ------------------------------------------------------------------------------------------------
def clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities as null, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def reply(payload: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(clean(payload), status_code=status)


def dashboard_of(request: Request) -> Dashboard:
    return request.app.state.dashboard


def snapshot_or_404(dashboard: Dashboard, snapshot: int | str | None):
    """The snapshot by id or date (:meth:`Dashboard.snapshot`); 404 before the first analysis,
    and where none matches (the error names the snapshots there are)."""
    info = dashboard.snapshot(snapshot)
    if info is None:
        raise HTTPException(404, "no analysis yet: upload an export on the Data page")
    return info


SNAPSHOT_ID_OR_DATE = r"^\s*(0*[1-9]\d{0,17}|\d{4}-\d{2}-\d{2})\s*$"
"""A snapshot's id, or a date (YYYY-MM-DD) taking the snapshot as of it."""

SnapshotQuery = Query(
    None,
    pattern=SNAPSHOT_ID_OR_DATE,
    description="Snapshot id, or a date (YYYY-MM-DD) taking the latest snapshot on or before "
    f"it, in the {DATE_REACH_DAYS} days before it (default: the latest).",
)


# ------------------------------------------------------------------------------------------------
@router.get("/csrf", response_model=CsrfOut)
def csrf(request: Request):
    """The CSRF token to send as ``X-CSRF-Token`` (with the cookie this response may set)."""
    return reply({"csrf_token": request.state.csrf})


@router.get("/snapshots", response_model=list[SnapshotOut])
def snapshots(request: Request):
    """Every analysis stored in the workspace, oldest first."""
    return reply([info.to_dict() for info in dashboard_of(request).snapshots])


def matrix_out(matrix) -> dict[str, Any]:
    return {
        "before": [str(label) for label in matrix.index],
        "after": [str(label) for label in matrix.columns],
        "counts": matrix.to_numpy().astype(int).tolist(),
    }


def comparison(
    request: Request, before: str | int | None, after: str | int | None
) -> dict[str, Any]:
    """``valuecast compare`` as JSON: snapshot ``before`` (default: the one before ``after``)
    against ``after`` (default: the latest), each an id or a date taking the snapshot as of it,
    as the command reads them (:func:`~valuecast.store.snapshots.resolve_snapshot`); its
    ``notes`` name the snapshot a date took, the part of the change in historic CLV that is
    the past rewritten (orders of the earlier snapshot's dates edited or withdrawn since), the
    customers the later one no longer has and those it names by another e-mail."""
    from valuecast.analysis.compare import (
        gone_note,
        renamed_note,
        rewritten_later_note,
        rewritten_note,
    )
    from valuecast.jobs.snapshots import compare
    from valuecast.store.snapshots import SnapshotError

    dashboard = dashboard_of(request)
    if len(dashboard.snapshots) < 2:
        raise HTTPException(404, "one snapshot or none: nothing to compare yet")
    said = (rewritten_note, rewritten_later_note, gone_note, renamed_note)
    with dashboard.reader() as reader:
        try:
            result = compare(
                reader,
                "previous" if before is None else _snapshot_reference(before),
                "latest" if after is None else _snapshot_reference(after),
            )
        except SnapshotError as error:
            raise HTTPException(404, str(error)) from None
    movers = result.high_value_to_at_risk
    return {
        "before": result.before.to_dict(),
        "after": result.after.to_dict(),
        "totals": {
            str(figure): {k: (None if v != v else float(v)) for k, v in row.items()}
            for figure, row in result.totals.iterrows()
        },
        "rfm_matrix": matrix_out(result.rfm_matrix),
        "tier_matrix": matrix_out(result.tier_matrix),
        "high_value_to_at_risk": len(movers),
        "high_value_to_at_risk_top": records(movers.head(100)),
        "differences": {name: list(pair) for name, pair in result.differences.items()},
        # the past rewritten, and the customers the later snapshot no longer has, or names by
        # another e-mail, as `valuecast compare` says them
        "notes": [
            *result.notes,
            *filter(None, (say(result) for say in said)),
        ],
    }


def _snapshot_reference(given: str | int) -> str:
    """A snapshot id as the store names it (``007`` is snapshot 7); a date or word unchanged."""
    text = str(given).strip()
    return str(int(text)) if text.isdigit() else text


SNAPSHOT_REFERENCE = r"^\s*(\d{1,18}|\d{4}-\d{2}-\d{2}|latest|previous)\s*$"
"""A snapshot as ``valuecast compare`` takes one: an id, a date (the latest snapshot on or
before it, in the :data:`DATE_REACH_DAYS` days before it), ``latest`` or ``previous``."""


@router.get("/compare", response_model=CompareOut)
def compare_snapshots(
    request: Request,
    before: str | None = Query(
        None,
        pattern=SNAPSHOT_REFERENCE,
        description="A snapshot id, or a date (YYYY-MM-DD) taking the latest snapshot on or "
        f"before it, in the {DATE_REACH_DAYS} days before it. Default: the previous one.",
    ),
    after: str | None = Query(
        None,
        pattern=SNAPSHOT_REFERENCE,
        description="A snapshot id or a date, as before. Default: the latest.",
    ),
):
    """How customers moved between two snapshots: RFM groups, spend tiers, value at risk."""
    return reply(comparison(request, before, after))


@router.get("/overview", response_model=OverviewOut)
def overview(request: Request, snapshot: str | None = SnapshotQuery):
    """Headline figures, RFM groups, spend tiers and the growth stage."""
    dashboard = dashboard_of(request)
    view = dashboard.view(snapshot_or_404(dashboard, snapshot))
    summary = view.summary
    readings = {
        chart.key: chart.reading
        for section in view.page_sections("overview")
        for chart in section.charts
    }
    return reply(
        {
            "snapshot": view.info.to_dict(),
            "currency": summary.get("currency"),
            "first_order_date": summary.get("first_order_date"),
            "last_order_date": summary.get("last_order_date"),
            "headline": [
                {k: item[k] for k in ("key", "label", "value", "text")} for item in view.items
            ],
            "totals": summary.get("totals") or {},
            "rfm_groups": summary.get("rfm_groups") or {},
            "spend_tiers": summary.get("spend_tiers") or {},
            "growth_stage": (summary.get("growth") or {}).get("growth_stage"),
            "low_confidence": bool(summary.get("low_confidence")),
            "low_confidence_reasons": summary.get("low_confidence_reasons") or [],
            "readings": readings,
        }
    )


@router.get("/charts/{page}", response_model=ChartsOut)
def charts(request: Request, page: Page, snapshot: str | None = SnapshotQuery):
    """The Plotly figures of a page (the same figures as report.html), with their readings."""
    dashboard = dashboard_of(request)
    view = dashboard.view(snapshot_or_404(dashboard, snapshot))
    payload = view.figures(page.value)
    readings = {
        chart.key: chart.reading
        for section in view.page_sections(page.value)
        for chart in section.charts
    }
    return reply({"page": page.value, **payload, "readings": readings})


@router.get("/customers", response_model=CustomerPageOut)
def customers(
    request: Request,
    snapshot: str | None = SnapshotQuery,
    q: str = Query(
        "",
        max_length=200,
        description="Customer id, e-mail or name prefix (any case), or a phone number.",
    ),
    sort: SortColumn | None = Query(
        None, description="Default: predicted CLV, or historic CLV where nothing is predicted."
    ),
    order: Literal["asc", "desc"] = "desc",
    page: int = Query(1, ge=1, le=1_000_000),
    per_page: int = Query(50, ge=1, le=500),
):
    """One page of the customers table, sorted and searched in the workspace."""
    from valuecast.web.queries import customer_page

    dashboard = dashboard_of(request)
    info = snapshot_or_404(dashboard, snapshot)
    view = dashboard.view(info)
    if sort is None:  # withheld predictions would leave the list in id order
        predicted = (view.summary.get("totals") or {}).get("predicted_clv")
        sort = SortColumn.historic_clv if predicted is None else SortColumn.predicted_clv

    result = customer_page(
        dashboard.reader, view.index, query=q, sort=sort.value, descending=order == "desc",
        page=page, per_page=per_page,
    )  # fmt: skip
    pages = max(1, -(-result.total // per_page))
    return reply(
        {
            "snapshot_id": info.snapshot_id,
            "total": result.total,
            "page": page,
            "per_page": per_page,
            "pages": pages,
            "sort": sort.value,
            "order": order,
            "q": q,
            "rows": result.rows,
        }
    )


def customer_detail(dashboard: Dashboard, info, customer_id: str) -> dict[str, Any] | None:
    from valuecast.web import queries

    view = dashboard.view(info)
    with dashboard.reader() as reader:
        row = queries.customer_row(reader, info.snapshot_id, customer_id)
        if row is None:
            return None
        contact = queries.customer_contact(reader, customer_id)
        orders, total, by_as_of = queries.customer_orders(reader, customer_id, info.as_of)
        history = queries.customer_history(reader, customer_id)
    return {
        "snapshot_id": info.snapshot_id,
        "as_of": info.as_of.isoformat(),
        "currency": view.currency,
        "customer": row,
        "contact": contact,
        "orders": orders,
        "orders_total": total,
        "orders_by_as_of": by_as_of,
        "history": history,
        "next_products": records(view.for_customer("next_products.csv", customer_id)),
        "reminders": records(still_due(view.for_customer("reminders.csv", customer_id))),
    }


@router.get("/customers/{customer_id:path}", response_model=CustomerOut)
def customer(request: Request, customer_id: str, snapshot: str | None = SnapshotQuery):
    """One customer: predictions with their interval, orders, RFM history, next products."""
    dashboard = dashboard_of(request)
    info = snapshot_or_404(dashboard, snapshot)
    detail = customer_detail(dashboard, info, customer_id)
    if detail is None:
        raise HTTPException(404, f"no customer {customer_id!r} in snapshot {info.snapshot_id}")
    return reply(detail)


@router.get("/segments", response_model=list[SegmentOut])
def segments(request: Request, snapshot: str | None = SnapshotQuery):
    """Every named segment: customers, those who accept marketing, and their value."""
    dashboard = dashboard_of(request)
    return reply(live_segments(dashboard, dashboard.view(snapshot_or_404(dashboard, snapshot))))


def live_segments(dashboard: Dashboard, view) -> list[dict[str, Any]]:
    """The view's segment counts, the prospects counted in the workspace as they are exported."""
    from valuecast.web.views import with_prospects

    with dashboard.reader() as reader:
        return with_prospects(view.segments, reader.prospects())


def segment_csv(dashboard: Dashboard, info, segment: str, to: str, everyone: bool) -> bytes:
    """The segment as an audience file: the rules and formats of ``valuecast export``."""
    from valuecast.outputs.audiences import audience_text, build_audience

    customers = dashboard.view(info).customers  # the snapshot's table, as load_customers reads it
    with dashboard.reader() as reader:
        contacts = reader.contacts()
        prospects = reader.prospects() if segment == "prospects" else None
    audience = build_audience(
        customers, contacts, to, segment=segment, as_of=info.as_of,
        include_non_consenting=everyone, prospects=prospects,
    )  # fmt: skip
    return audience_text(audience.frame).encode("utf-8")


@router.get(
    "/segments/{segment}/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The audience file (CSV)."}},
)
def segment_export(
    request: Request,
    segment: Segment,
    to: Format = Query(..., description="klaviyo, mailchimp, meta or google"),
    include_non_consenting: bool = False,
    snapshot: str | None = SnapshotQuery,
):
    """Download a segment as a Klaviyo, Mailchimp, Meta or Google audience file."""
    dashboard = dashboard_of(request)
    info = snapshot_or_404(dashboard, snapshot)
    body = segment_csv(dashboard, info, segment.value, to.value, include_non_consenting)
    name = f"{segment.value}-{to.value}.csv"  # both from fixed lists
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def _tables(request: Request, snapshot: str | None, page: str, names: dict[str, str]):
    dashboard = dashboard_of(request)
    view = dashboard.view(snapshot_or_404(dashboard, snapshot))
    return reply(
        {
            "snapshot_id": view.info.snapshot_id,
            "tables": {key: records(view.tables.get(name)) for key, name in names.items()},
            "figures": view.figures(page),
        }
    )


@router.get("/channels", response_model=TablesOut)
def channels(request: Request, snapshot: str | None = SnapshotQuery):
    """CLV per acquisition channel and, with spend, CAC, CLV:CAC and payback per channel and
    cohort month (``cohort_month == "all"``: the channel over all months)."""
    return _tables(request, snapshot, "channels", {"channels": "channels.csv", "cac": "cac.csv"})


@router.get("/cohorts", response_model=TablesOut)
def cohorts(request: Request, snapshot: str | None = SnapshotQuery):
    """Monthly acquisition cohorts with revenue per customer by month, and retention."""
    return _tables(
        request, snapshot, "cohorts", {"cohorts": "cohorts.csv", "retention": "retention.csv"}
    )


@router.get("/products", response_model=TablesOut)
def products(request: Request, snapshot: str | None = SnapshotQuery):
    """Product affinity (pairs with support, confidence, lift) and replenishment reminders."""
    dashboard = dashboard_of(request)
    view = dashboard.view(snapshot_or_404(dashboard, snapshot))
    reminders = view.tables.get("reminders.csv")
    return reply(
        {
            "snapshot_id": view.info.snapshot_id,
            "tables": {
                "affinity": records(view.tables.get("affinity.csv"), limit=500),
                "reminders_due": records(
                    None
                    if reminders is None
                    else still_due(reminders).sort_values(["days_until_due", "customer_id"]),
                    limit=500,
                ),
            },
            "figures": view.figures("products"),
        }
    )


@router.get("/model")
def model(request: Request, snapshot: str | None = SnapshotQuery) -> dict[str, Any]:
    """The chosen model, its parameters, the backtest and the data quality of the snapshot."""
    dashboard = dashboard_of(request)
    view = dashboard.view(snapshot_or_404(dashboard, snapshot))
    summary = view.summary
    return reply(
        {
            "snapshot_id": view.info.snapshot_id,
            "model": summary.get("model"),
            "backtest": summary.get("backtest"),
            "low_confidence": bool(summary.get("low_confidence")),
            "low_confidence_reasons": summary.get("low_confidence_reasons") or [],
            "notes": summary.get("notes") or [],
            "ingest_report": view.ingest_report,
        }
    )


@router.get("/ingests")
def ingests(request: Request) -> list[dict[str, Any]]:
    """Every ingest into the workspace with its report."""
    import json

    dashboard = dashboard_of(request)
    with dashboard.reader() as reader:
        rows = reader.rows(
            "SELECT ingest_id, ingested_at, files, report FROM ingests ORDER BY ingest_id"
        )
    return reply(
        [
            {
                "ingest_id": int(ingest_id),
                "ingested_at": at.isoformat(timespec="seconds") if at else None,
                "files": json.loads(files or "[]"),
                "report": json.loads(report or "{}"),
            }
            for ingest_id, at, files, report in rows
        ]
    )


# ------------------------------------------------------------------------------------------------
@router.post("/uploads", status_code=202, response_model=JobOut)
async def upload(request: Request, files: list[UploadFile] = File(...)):
    """Upload exports (Shopify, Magento, WooCommerce, orders tables): they are ingested, the
    analysis re-runs and a snapshot is stored, in a job; poll ``/api/v1/jobs/{job_id}``."""
    import shutil

    from valuecast.web.uploads import (
        UploadTooLarge,
        check_parquet_size,
        new_folder,
        save_uploads,
        start_upload,
    )

    dashboard = dashboard_of(request)
    if dashboard.jobs.active() is not None:
        raise HTTPException(409, "an upload is still being processed: wait for it to finish")
    if not files:
        raise HTTPException(400, "no file uploaded")
    folder = new_folder()
    saved = await save_uploads(files, folder)
    try:
        check_parquet_size(saved, request.app.state.max_upload_bytes)
        job = start_upload(dashboard, saved, folder)
    except UploadTooLarge as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise HTTPException(413, str(error)) from None
    except Busy as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise HTTPException(409, str(error)) from None
    return reply(job.to_dict(), status=202)


@router.post("/spend", status_code=202, response_model=JobOut)
async def spend(request: Request, file: UploadFile = File(...)):
    """Upload marketing spend (month, channel, spend; month, spend for the whole shop): the
    analysis re-runs with CAC, CLV:CAC and payback, blended and per channel and cohort.  Kept in the workspace for later uploads, after a
    restart too, until another spend file replaces it or ``DELETE /api/v1/spend`` drops it."""
    from starlette.concurrency import run_in_threadpool

    from valuecast.web.uploads import new_folder, save_uploads, start_spend

    dashboard = dashboard_of(request)
    if dashboard.jobs.active() is not None:
        raise HTTPException(409, "an upload is still being processed: wait for it to finish")
    folder = new_folder()
    [(path, name)] = await save_uploads([file], folder)
    try:
        job = await run_in_threadpool(start_spend, dashboard, path, name, folder)
    except Busy as error:
        raise HTTPException(409, str(error)) from None
    except ValueError as error:
        raise HTTPException(400, str(error)) from None
    return reply(job.to_dict(), status=202)


@router.delete("/spend", status_code=202, response_model=JobOut)
async def drop_spend(request: Request):
    """Drop the spend kept in the workspace, as ``valuecast analyze --no-spend``: the analysis
    re-runs without CAC and is stored as a new snapshot, and later uploads are analysed without
    spend (after the shop's currency changed, the kept spend refuses its new exports)."""
    from starlette.concurrency import run_in_threadpool

    from valuecast.web.uploads import start_spend_drop

    dashboard = dashboard_of(request)
    if dashboard.jobs.active() is not None:
        raise HTTPException(409, "an upload is still being processed: wait for it to finish")
    try:
        job = await run_in_threadpool(start_spend_drop, dashboard)
    except Busy as error:
        raise HTTPException(409, str(error)) from None
    except ValueError as error:
        raise HTTPException(404, str(error)) from None
    return reply(job.to_dict(), status=202)


@router.put("/not-products", status_code=202, response_model=JobOut)
async def not_products(request: Request, names: str = Form(...)):
    """Keep the order line names and SKUs that are no product (``names``: one a line), as
    ``valuecast analyze --not-product NAME...``: they replace the names kept before, and the
    analysis re-runs leaving them out of affinity, next products, reminders and the first
    products, stored as a new snapshot; later uploads leave them out too."""
    return await _start_not_products(request, names.splitlines())


@router.delete("/not-products", status_code=202, response_model=JobOut)
async def forget_not_products(request: Request):
    """Forget the non-product names the workspace keeps, as ``valuecast analyze
    --clear-not-products``: the analysis re-runs counting their lines as products again."""
    return await _start_not_products(request, [])


async def _start_not_products(request: Request, names: list[str]):
    from starlette.concurrency import run_in_threadpool

    from valuecast.web.uploads import start_not_products

    dashboard = dashboard_of(request)
    if dashboard.jobs.active() is not None:
        raise HTTPException(409, "an upload is still being processed: wait for it to finish")
    try:
        job = await run_in_threadpool(start_not_products, dashboard, names)
    except Busy as error:
        raise HTTPException(409, str(error)) from None
    except ValueError as error:
        raise HTTPException(404, str(error)) from None
    return reply(job.to_dict(), status=202)


@router.get("/jobs/{job_id}", response_model=JobOut)
def job(request: Request, job_id: str):
    """How far an upload or re-analysis got; its ingest report and snapshot when done."""
    found = dashboard_of(request).jobs.get(job_id)
    if found is None:
        raise HTTPException(404, f"no job {job_id!r}")
    return reply(found.to_dict())
