"""``valuecast serve``: the dashboard on a workspace, in the browser.

Registered in :mod:`valuecast.cli`.  Binds to 127.0.0.1 unless told otherwise; on
any other address it refuses to start without ``VALUECAST_TOKEN`` (then every request needs the
token).  The workspace is opened for writing for as long as the server runs (uploads refresh it),
so other valuecast commands on the same workspace wait for it to stop.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
from pathlib import Path

import typer

from valuecast.cli.common import console, describe, fail
from valuecast.cli.options import WorkspaceOption


def serve(
    workspace: WorkspaceOption = Path("valuecast.duckdb"),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (not loopback: needs VALUECAST_TOKEN)."
    ),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    max_upload_mb: int = typer.Option(
        500,
        "--max-upload-mb",
        help="Largest upload accepted, in MB; a Parquet upload may also hold at most 10,485 rows "
        "per MB and twice the limit uncompressed.",
    ),
) -> None:
    """Open the dashboard: overview, customers, segments, channels, cohorts, products, model, data.

    Pages show the analyses stored in the workspace (`valuecast analyze` stores one per as-of
    date); the Data page uploads a new export, which is ingested and analysed like `valuecast
    analyze FILE`.  The JSON API is under /api/v1 (schema: /api/v1/openapi.json).
    """
    from valuecast.io.schema import InputError
    from valuecast.store import EngineError
    from valuecast.web.security import BindError, check_bind

    token = os.environ.get("VALUECAST_TOKEN") or None
    try:
        check_bind(host, token)
    except BindError as error:
        fail(str(error))
    if not 0 < port < 65536:
        fail(f"--port {port}: use a port from 1 to 65535")
    if max_upload_mb < 1:
        fail("--max-upload-mb must be at least 1")
    import uvicorn

    from valuecast.web import create_app

    # bound before the workspace opens and the start is said: a port in use is one line and
    # exit 2, not "dashboard on ..." then uvicorn's own error and exit 3
    try:
        listening = socket.create_server(
            (host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET
        )
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            fail(f"--port {port}: in use on {host}; stop what listens there or give another port")
        fail(f"--host {host} --port {port}: cannot listen there ({error.strerror or error})")
    existed = workspace.exists()
    try:
        app = create_app(workspace, token=token, max_upload_bytes=max_upload_mb * 2**20, host=host)
    except (InputError, EngineError) as error:
        listening.close()
        fail(str(error))
    except Exception as error:  # not a DuckDB file, ...
        listening.close()
        fail(f"{workspace}: cannot open the workspace: {describe(error)}")
    shown = f"[{host}]" if ":" in host else host
    console.print(
        f"valuecast dashboard on http://{shown}:{port}/ (workspace {workspace}"
        f"{', new' if not existed else ''}{', token required' if token else ''}); Ctrl+C stops it",
        highlight=False,
        soft_wrap=True,
    )
    # keep-alive well past a busy page's latency: a connection closed by the server just as a
    # client reuses it is a failed request
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, workers=1,
        timeout_keep_alive=65,
    )  # fmt: skip
    # uvicorn's own SIGTERM handling: a graceful stop, then the signal's own exit (143, which
    # systemd and docker read as a stop), not the CLI's interrupt (130, a failure)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    server = uvicorn.Server(config)
    server.run(sockets=[listening])
    if not server.started:  # the application's start-up failed (said above): uvicorn.run's exit
        raise typer.Exit(code=3)
