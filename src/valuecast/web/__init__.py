"""``valuecast serve``: the dashboard on a workspace (FastAPI, Jinja2 pages, Plotly, a JSON API).

:func:`create_app` builds the application; :mod:`valuecast.cli.web` runs it with uvicorn.  The
dashboard reads the same workspace and runs the same pipeline as the command line: pages show the
stored snapshots (:mod:`valuecast.store.snapshots`), an upload runs :func:`valuecast.jobs.refresh.refresh`.

``create_app`` is imported on first use: ``analyze`` stores the dashboard's charts with its
snapshot (:func:`valuecast.web.views.store_view`) and does not need FastAPI to start.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from valuecast.web.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
