"""The dashboard application: :func:`create_app` builds it on a workspace file."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from valuecast.web.security import Guard, Security, is_loopback

STATIC = Path(__file__).with_name("static")
DEFAULT_MAX_UPLOAD = 500 * 2**20


def plotly_js_path() -> Path:
    """plotly.min.js as the installed ``plotly`` package ships it (no CDN: works offline)."""
    from valuecast.outputs.report.charts import plotly_package_file

    return plotly_package_file("plotly.min.js")


def create_app(
    workspace_path: str | Path,
    token: str | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
    *,
    host: str = "127.0.0.1",
    warm: bool = True,
) -> FastAPI:
    """The dashboard on the workspace at ``workspace_path`` (created when missing).

    The workspace is opened for writing now and closed when the application shuts down.
    ``token`` (``VALUECAST_TOKEN``) makes every request need it; ``host`` is the address served
    (on loopback without a token only loopback host names are answered).  ``warm`` reads the
    latest snapshot's charts and sort orders at start-up instead of on the first request.
    """
    from valuecast.web import api, pages
    from valuecast.web.state import Dashboard
    from valuecast.web.uploads import remove_stale_folders

    if max_upload_bytes < 1:
        raise ValueError("max_upload_bytes must be positive")
    dashboard = Dashboard(workspace_path)
    remove_stale_folders()  # uploads of a server that was killed before its jobs finished

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warm:
            from starlette.concurrency import run_in_threadpool

            await run_in_threadpool(lambda: dashboard.warm(wait=False))
        try:
            yield
        finally:
            dashboard.close()

    app = FastAPI(
        title="valuecast dashboard",
        version="1",
        description="Customer lifetime value of the shop in the workspace: the same analysis "
        "as `valuecast analyze`, its snapshots, segments and uploads.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # the interactive docs load their scripts from a CDN: not offline
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.dashboard = dashboard
    app.state.token = token
    app.state.max_upload_bytes = max_upload_bytes
    security = Security(
        token=token or None,
        loopback_only=is_loopback(host) and not token,
        max_body_bytes=max_upload_bytes,
    )
    app.state.security = security  # the login form starts sessions, logout ends them
    app.add_middleware(Guard, security=security)
    _errors(app)

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js():
        return FileResponse(
            plotly_js_path(),
            media_type="text/javascript",
            headers={"cache-control": "public, max-age=86400"},
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    return app


def _errors(app: FastAPI) -> None:
    """Errors as one line: JSON for the API, a small page for the pages."""
    from valuecast.analysis.summary import SummaryError
    from valuecast.io.schema import InputError
    from valuecast.outputs.audiences import ExportError
    from valuecast.store import EngineError
    from valuecast.store.snapshots import SnapshotError

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    async def http_error(request: Request, error: StarletteHTTPException):
        if wants_json(request):
            return JSONResponse(
                {"detail": error.detail}, status_code=error.status_code, headers=error.headers
            )
        from valuecast.web.pages import error_page

        return error_page(request, error.status_code, str(error.detail))

    async def bad_request(request: Request, error: Exception):
        message = " ".join(str(error).split())
        if wants_json(request):
            return JSONResponse({"detail": message}, status_code=400)
        from valuecast.web.pages import error_page

        return error_page(request, 400, message)

    async def not_found(request: Request, error: Exception):
        if wants_json(request):
            return JSONResponse({"detail": str(error)}, status_code=404)
        from valuecast.web.pages import error_page

        return error_page(request, 404, str(error))

    async def invalid(request: Request, error: RequestValidationError):
        if wants_json(request):
            from fastapi.encoders import jsonable_encoder

            return JSONResponse({"detail": jsonable_encoder(error.errors())}, status_code=422)
        from valuecast.web.pages import error_page

        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}"
            for e in error.errors()
        )
        return error_page(request, 422, f"invalid request: {problems}")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    for kind in (InputError, ExportError, SummaryError, EngineError):
        app.add_exception_handler(kind, bad_request)
    app.add_exception_handler(SnapshotError, not_found)
