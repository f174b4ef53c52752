"""The server-rendered pages (Jinja2).  Their charts come from ``/api/v1/charts/{page}``, the
customers table pages through ``/api/v1/customers`` and the uploads go to ``/api/v1/uploads``."""

from __future__ import annotations

import functools
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from valuecast.analysis.compare import difference_notes
from valuecast.outputs.audiences import FORMATS
from valuecast.outputs.report.charts import finite
from valuecast.outputs.report.segments import young_shop_words
from valuecast.tables import (
    CLV_SETTINGS,
    NEXT_ORDER_MIN_ALIVE,
    clv_setting_text,
    holds_one_time_buyers_alive,
    whole_amount,
)
from valuecast.web.api import SortColumn, customer_detail, dashboard_of
from valuecast.web.security import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    cookie_header,
    safe_next,
    same,
)
from valuecast.web.views import plain, records

router = APIRouter(include_in_schema=False)

NAV = (
    ("overview", "/", "Overview"),
    ("customers", "/customers", "Customers"),
    ("segments", "/segments", "Segments"),
    ("channels", "/channels", "Channels & CAC"),
    ("cohorts", "/cohorts", "Cohorts"),
    ("products", "/products", "Products"),
    ("model", "/model", "Model"),
    ("data", "/data", "Data"),
)
TITLES = {key: label for key, _, label in NAV}
VIEW_PARAMETERS = ("q", "sort", "order", "per_page", "everyone")
"""The query parameters that say how a page shows its snapshot (the customers page's search
and sort, the segments page's "everyone"): choosing another snapshot keeps them, where it
would show the other snapshot's first page, unsearched and unsorted."""


@functools.cache
def environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    from valuecast.outputs.report.charts import (
        alive_pct_text,
        count_text,
        due_text,
        money_text,
        pct_text,
    )

    env = Environment(
        loader=PackageLoader("valuecast.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = lambda value, currency=None, decimals=0: money_text(
        value, currency, decimals
    )
    env.filters["pct"] = pct_text
    env.filters["alive_pct"] = alive_pct_text
    env.globals["next_order_min_alive"] = NEXT_ORDER_MIN_ALIVE  # app.js shows P(alive) so too
    env.filters["count"] = count_text
    env.filters["counted"] = _counted
    env.filters["due"] = due_text
    env.filters["change_from"] = _change_from
    env.filters["number"] = _number
    env.filters["cell"] = _cell
    env.filters["script_json"] = _script_json
    env.filters["minute"] = _minute
    env.globals["records"] = records
    env.globals["partial_ltv_cells"] = _partial_ltv_cells
    return env


def _partial_ltv_cells(retention: Any) -> set[str]:
    """The cohort table's cells whose month the as-of date cuts short
    (:func:`valuecast.outputs.report.cohorts.partial_ltv_cells`)."""
    from valuecast.outputs.report.cohorts import partial_ltv_cells

    return partial_ltv_cells(retention)


def _counted(value: Any, word: str, plural: str | None = None) -> str:
    """A count with its noun, singular for one: ``1 customer``, ``3 customers`` (``- customers``
    where the count is missing), as the command line says them."""
    from valuecast.outputs.report.charts import plural_text

    number = finite(value)
    if number is None:
        return f"- {plural or word + 's'}"
    return plural_text(round(number), word, plural)


def _number(value: Any, spec: str = ",.2f") -> str:
    number = finite(value)
    return "-" if number is None else format(number, spec)


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    value = plain(value)
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"  # plain() leaves finite floats only
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _minute(value: Any) -> str:
    """A time (a ``datetime``, or its ISO text as the API gives it) to the minute, as every
    page shows one: ``2026-12-06 07:22``; ``-`` where there is none."""
    from datetime import datetime

    if value is None or value == "":
        return "-"
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.strftime("%Y-%m-%d %H:%M")


def _script_json(payload: Any) -> str:
    from markupsafe import Markup

    from valuecast.outputs.report.charts import script_json as encode
    from valuecast.web.api import clean

    return Markup(encode(clean(payload)))


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("page", "")
    context.setdefault("info", None)
    dashboard = dashboard_of(request)
    info = context["info"]
    html = (
        environment()
        .get_template(template)
        .render(
            csrf=request.state.csrf,
            logged_in=request.state.auth == "cookie",
            nav=NAV,
            titles=TITLES,
            snapshots=dashboard.snapshots if context["page"] != "login" else [],
            selected=info.snapshot_id if info is not None else None,
            latest=dashboard.snapshot() if context["page"] != "login" else None,
            query=lambda **kw: _query(info, **kw),
            view_parameters=_view_parameters(request),
            workspace_path=str(dashboard.path),
            **context,
        )
    )
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


def withheld_predictions(summary: dict[str, Any]) -> str | None:
    """Why the analysis withheld every prediction (``summary.json``'s ``model.withheld``), or
    None where it made them: the pages showing predicted columns say it, as they would
    otherwise read "-" throughout with nothing to tell a bug from a shop too small to model."""
    return (summary.get("model") or {}).get("withheld")


def _change_from(after: Any, before: Any) -> str:
    """The change from ``before`` to ``after`` as they are shown (whole numbers), with its sign
    (``+5,498``, ``-12``, ``0``): the columns add up; ``-`` where either is missing."""
    first, last = finite(before), finite(after)
    if first is None or last is None:
        return "-"
    change = whole_amount(last) - whole_amount(first)
    return f"{change:+,}" if change else "0"


def _view_parameters(request: Request) -> dict[str, str]:
    """The request's :data:`VIEW_PARAMETERS` given a value, in their order."""
    given = request.query_params
    return {name: given[name] for name in VIEW_PARAMETERS if given.get(name)}


def _query(info, **params: Any) -> str:
    """``?snapshot=ID&...`` keeping the chosen snapshot (empty values left out)."""
    values = {k: v for k, v in params.items() if v not in (None, "", False)}
    if info is not None and "snapshot" not in values:
        values = {"snapshot": info.snapshot_id, **values}
    return ("?" + urlencode(values)) if values else ""


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    try:
        return render(request, "error.html.j2", status=status, message=message, status_code=status)
    except Exception:  # the error page itself must never fail
        from html import escape

        return HTMLResponse(f"<p>{escape(message)}</p>", status_code=status)


def _info_or_empty(request: Request, snapshot: str | None, page: str):
    """The chosen snapshot by id or date, or None (the page then says there is no analysis
    yet); one that matches none is a 404 naming the snapshots (a SnapshotError)."""
    return dashboard_of(request).snapshot(snapshot)


# any text: one that names no snapshot gets the store's message listing the snapshots, which
# tells a merchant more than the API's pattern would
SnapshotQuery = Query(None, max_length=40)


def _section_page(request: Request, snapshot: str | None, page: str, template: str, **extra):
    dashboard = dashboard_of(request)
    info = _info_or_empty(request, snapshot, page)
    if info is None:
        return render(request, "empty.html.j2", page=page)
    view = dashboard.view(info)
    return render(
        request, template, page=page, info=info, view=view, summary=view.summary,
        currency=view.currency, sections=view.page_sections(page), **extra,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def overview(request: Request, snapshot: str | None = SnapshotQuery):
    return _section_page(request, snapshot, "overview", "overview.html.j2")


@router.get("/cohorts", response_class=HTMLResponse)
def cohorts(request: Request, snapshot: str | None = SnapshotQuery):
    return _section_page(request, snapshot, "cohorts", "cohorts.html.j2")


@router.get("/channels", response_class=HTMLResponse)
def channels(request: Request, snapshot: str | None = SnapshotQuery):
    dashboard = dashboard_of(request)
    return _section_page(
        request, snapshot, "channels", "channels.html.j2", spend_name=dashboard.spend_name
    )


@router.get("/products", response_class=HTMLResponse)
def products(request: Request, snapshot: str | None = SnapshotQuery):
    dashboard = dashboard_of(request)
    with dashboard.write_lock:  # what the workspace keeps now: a command may have changed it
        dashboard.reload_not_products()
    return _section_page(
        request, snapshot, "products", "products.html.j2", not_products=dashboard.not_products
    )


@router.get("/model", response_class=HTMLResponse)
def model(request: Request, snapshot: str | None = SnapshotQuery):
    return _section_page(request, snapshot, "model", "model.html.j2")


@router.get("/segments", response_class=HTMLResponse)
def segments(request: Request, snapshot: str | None = SnapshotQuery, everyone: bool = Query(False)):
    from valuecast.store.snapshots import ingested_since
    from valuecast.web.api import live_segments

    dashboard = dashboard_of(request)
    info = _info_or_empty(request, snapshot, "segments")
    counted = live_segments(dashboard, dashboard.view(info)) if info is not None else []
    latest = dashboard.snapshot()
    # an older snapshot counts consent as of its day, and any snapshot the consent of the
    # exports ingested before it; the downloads use the consent known today
    older = info is not None and latest is not None and info.snapshot_id != latest.snapshot_id
    if info is not None and not older:
        with dashboard.reader() as reader:
            ingested = ingested_since(reader, info.snapshot_id)
    else:
        ingested = False
    # without an e-mail or phone anywhere every download is a header, consent or not (Meta's
    # and Google's too: names and addresses come only with customers named by one of them)
    contacts, unaddressed = True, 0
    if info is not None:
        with dashboard.reader() as reader:
            contacts = reader.holds_contacts()
            # a segment's download can hold fewer rows than its count: said where it may
            unaddressed = reader.customers_without_email(info.snapshot_id) if contacts else 0
    withheld = withheld_predictions(dashboard.view(info).summary) if info is not None else None
    # the e-mail tools' files leave them out, as `valuecast export` says
    phones = dashboard.view(info).index.phone_customers() if info is not None else 0
    return _section_page(
        request, snapshot, "segments", "segments.html.j2", formats=FORMATS, everyone=everyone,
        segments=counted, older=older, ingested=ingested, withheld=withheld, phones=phones,
        contacts=contacts, unaddressed=unaddressed,
    )  # fmt: skip


@router.get("/customers", response_class=HTMLResponse)
def customers(
    request: Request,
    snapshot: str | None = SnapshotQuery,
    q: str = Query("", max_length=200),
    sort: SortColumn | None = Query(None),
    order: str = Query("desc", pattern="^(asc|desc)$"),
    page: int = Query(1, ge=1, le=1_000_000),
    per_page: int = Query(50, ge=1, le=500),
):
    from valuecast.web.api import customers as api_customers
    from valuecast.web.queries import LIST_COLUMNS

    info = _info_or_empty(request, snapshot, "customers")
    if info is None:
        return render(request, "empty.html.j2", page="customers")
    response = api_customers(
        request, snapshot=info.snapshot_id, q=q, sort=sort, order=order, page=page,
        per_page=per_page,
    )  # fmt: skip
    result = json.loads(response.body)
    if page > result["pages"]:  # past the last page (a bookmark, a smaller snapshot): the last
        response = api_customers(
            request, snapshot=info.snapshot_id, q=q, sort=sort, order=order,
            page=result["pages"], per_page=per_page,
        )  # fmt: skip
        result = json.loads(response.body)
    view = dashboard_of(request).view(info)
    return render(
        request, "customers.html.j2", page="customers", info=info, result=result,
        columns=LIST_COLUMNS, currency=view.currency, margin=view.summary.get("margin"),
        withheld=withheld_predictions(view.summary),
    )  # fmt: skip


@router.get("/customers/{customer_id:path}", response_class=HTMLResponse)
def customer(request: Request, customer_id: str, snapshot: str | None = SnapshotQuery):
    dashboard = dashboard_of(request)
    info = _info_or_empty(request, snapshot, "customers")
    if info is None:
        return render(request, "empty.html.j2", page="customers")
    detail = customer_detail(dashboard, info, customer_id)
    if detail is None:
        raise HTTPException(404, f"no customer {customer_id!r} in snapshot {info.snapshot_id}")
    summary = dashboard.view(info).summary
    return render(
        request, "customer.html.j2", page="customers", info=info, detail=detail,
        c=detail["customer"], currency=detail["currency"],
        horizon=summary.get("horizon_months"), margin=summary.get("margin"),
        # why every prediction reads "-" where the analysis withheld them
        withheld=withheld_predictions(summary),
        # a shop of under a year ranks a buyer of its first days Dormant: the report's caveat
        young_shop=_rfm_caveat(summary),
        # BG/NBD's P(alive) of a customer without a repeat purchase is its assumption, not news
        held_alive=_held_alive(summary, detail["customer"]),
        history_figure=_history_figure(detail["history"], detail["currency"]),
        history_note=_history_settings_note(dashboard, detail["history"]),
    )  # fmt: skip


def _history_settings_note(dashboard, history: list[dict[str, Any]]) -> str:
    """Where the snapshots of a customer's history ran with other settings (margin, horizon,
    discount rate), which of them each did: their predicted CLVs do not compare like with like,
    as ``valuecast history`` says; '' where they ran alike."""
    ids = {row.get("snapshot_id") for row in history}
    if len(ids) < 2:
        return ""
    from valuecast.store.snapshots import stored_summaries

    with dashboard.reader() as reader:
        summaries = [(info, summary) for info, summary in stored_summaries(reader)
                     if info.snapshot_id in ids]  # fmt: skip
    varying = [
        key for key in CLV_SETTINGS if len({summary.get(key) for _, summary in summaries}) > 1
    ]
    if not varying:
        return ""
    each = "; ".join(
        f"{info.as_of}: " + ", ".join(clv_setting_text(key, summary.get(key)) for key in varying)
        for info, summary in summaries
    )
    return (
        f"The snapshots' predictions ran with other settings ({each}): their predicted CLVs do "
        "not compare like with like."
    )


def _held_alive(summary: dict[str, Any], customer: dict[str, Any]) -> bool:
    """Whether the snapshot's model holds ``customer`` alive whatever their silence: a customer
    without a repeat purchase under BG/NBD (:func:`~valuecast.tables.holds_one_time_buyers_alive`),
    whose P(alive) of 100% and churn of 0% the analysis' note tells to read for repeat customers
    only, and who is given no expected next order."""
    model = summary.get("model") or {}
    return (
        "params" in model
        and holds_one_time_buyers_alive(str(model.get("name") or ""))
        and customer.get("frequency") == 0
    )


def _rfm_caveat(summary: dict[str, Any]) -> str:
    """The report's caveat on the RFM groups of a shop under a year old, named as theirs on a
    page of one customer's figures; '' for an older shop."""
    words = young_shop_words(summary).strip()
    return f"RFM groups: {words[0].lower()}{words[1:]}" if words else ""


def _history_figure(history: list[dict[str, Any]], currency: str | None):
    """The customer's predicted and historic CLV across snapshots (two or more)."""
    if len(history) < 2:
        return None

    from valuecast.outputs.report.charts import (
        BLUE,
        GREY,
        axis_layout,
        finite_values,
        plotly_figure,
        trace,
    )

    dates = [row["as_of"] for row in history]
    traces = [
        trace(
            "scatter", x=dates, y=finite_values([row.get(key) for row in history]), name=name,
            mode="lines+markers", line={"color": color},
        )
        for key, name, color in (
            ("historic_clv", "historic CLV", GREY), ("predicted_clv", "predicted CLV", BLUE)
        )
    ]  # fmt: skip
    figure = plotly_figure(
        traces, xaxis=axis_layout("snapshot as of", type="category"),
        yaxis=axis_layout(currency or "amount", rangemode="tozero"), height=300,
    )  # fmt: skip
    return figure


@router.get("/data", response_class=HTMLResponse)
def data(request: Request, snapshot: str | None = SnapshotQuery, job: str | None = None):
    dashboard = dashboard_of(request)
    info = _info_or_empty(request, snapshot, "data")
    view = dashboard.view(info) if info is not None else None
    finished = dashboard.jobs.get(job) if job else None
    from valuecast.web.api import comparison, ingests

    log = json.loads(ingests(request).body)
    # the shown snapshot compared with the one dated before it (the earliest with the one after
    # it), as `valuecast compare previous SNAPSHOT` prints them
    moved = None
    if len(dashboard.snapshots) >= 2:
        moved = comparison(request, *_compared_ids(dashboard.snapshots, info))
    # what the two analyses differ in besides the customers, and the customers the later one
    # no longer has, as `valuecast compare` says them
    differences = moved["differences"] if moved is not None else {}
    compared = difference_notes({name: tuple(pair) for name, pair in differences.items()})
    compared += moved["notes"] if moved is not None else []
    # `valuecast history`: customers per RFM group and spend tier in every snapshot
    from valuecast.jobs.snapshots import history

    with dashboard.reader() as reader:
        table = history(reader)
    past = _history_parts(table)
    return render(
        request, "data.html.j2", page="data", info=info, view=view, job=finished,
        ingests=log[::-1], max_upload=request.app.state.max_upload_bytes, comparison=moved,
        comparison_notes=compared, history=past,
    )  # fmt: skip


def _compared_ids(snapshots: list, shown) -> tuple[int | None, int | None]:
    """The (before, after) snapshot ids the Data page compares when it shows snapshot ``shown``
    (None: the latest) of ``snapshots`` (two or more, oldest first): ``shown`` and the one
    dated before it, or the earliest and the one after it; None for the previous and the
    latest."""
    ids = [snapshot.snapshot_id for snapshot in snapshots]
    if shown is None or shown.snapshot_id == ids[-1]:
        return None, None
    position = ids.index(shown.snapshot_id)
    return (ids[0], ids[1]) if position == 0 else (None, shown.snapshot_id)


HISTORY_PARTS = (("rfm: ", "Customers per RFM group"), ("tier: ", "Customers per spend tier"))
"""The history table's columns of counts, by prefix, and the title of the table each makes."""


def _history_parts(table) -> dict[str, Any]:
    """`valuecast history`'s counts per RFM group and spend tier as the Data page shows them:
    a table each, its rows named by the group alone, a snapshot a column newest first (as the
    snapshots table above lists them)."""
    if table.empty:  # no snapshot yet
        return {"as_of": [], "parts": []}
    newest_first = table.iloc[::-1]
    parts = []
    for prefix, title in HISTORY_PARTS:
        groups = [c for c in table.columns if c.startswith(prefix) and table[c].sum() > 0]
        rows = [(c.removeprefix(prefix), [int(n) for n in newest_first[c]]) for c in groups]
        if rows:
            parts.append({"id": f"history-{prefix.rstrip(': ')}", "title": title, "rows": rows})
    return {"as_of": [str(day) for day in newest_first["as_of"]], "parts": parts}


# ------------------------------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/"):  # noqa: A002 - the query parameter's name
    if not request.app.state.token:
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html.j2", page="login", next=safe_next(next), failed=False)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    token: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/"),  # noqa: A002
):
    expected = request.app.state.token
    if not expected:
        return RedirectResponse("/", status_code=303)
    if not same(csrf_token, request.cookies.get(CSRF_COOKIE)):
        raise HTTPException(403, "missing or wrong CSRF token: reload the login page")
    if not same(token.strip(), expected):
        return render(
            request, "login.html.j2", status=401, page="login", next=safe_next(next), failed=True
        )
    sessions = request.app.state.security.sessions
    response = RedirectResponse(safe_next(next), status_code=303)
    cookie = cookie_header(SESSION_COOKIE, sessions.start(), max_age=sessions.seconds)
    response.headers.append("set-cookie", cookie)
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("")):
    if not same(csrf_token, request.cookies.get(CSRF_COOKIE)):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page")
    request.app.state.security.sessions.end(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login" if request.app.state.token else "/", status_code=303)
    response.headers.append("set-cookie", cookie_header(SESSION_COOKIE, "", max_age=0))
    return response
