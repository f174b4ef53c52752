"""``valuecast serve``: the dashboard on a workspace (FastAPI, Jinja2 pages, Plotly, a JSON API).

:func:`create_app` builds the application; :mod:`valuecast.cli.web` runs it with uvicorn.  The
dashboard reads the same workspace and runs the same pipeline as the command line: pages show the
stored snapshots (:mod:`valuecast.store.snapshots`), an upload runs :func:`valuecast.jobs.snapshots.refresh`.
"""

from valuecast.web.app import create_app

__all__ = ["create_app"]
