"""A throw-away PostgreSQL server for the tests: Debian's binaries, a temporary folder, loopback.

initdb refuses to run as root, so as root the server runs as the unprivileged user ``nobody``
(through ``runuser``); its folder is created for that user.  :func:`start_postgres` returns the
URL and a function that stops the server and removes the folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


class ServerUnavailable(RuntimeError):
    """The prerequisites of a server are missing (the message says which)."""


def postgres_bin() -> Path:
    for folder in PG_BIN_DIRS:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise ServerUnavailable("PostgreSQL server binaries not found (apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_postgres(user: str = "valuecast", database: str = "shop"):
    """Start a server; returns ``(url, stop)``."""
    bin_dir = postgres_bin()
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="valuecast-pg-", dir="/tmp"))
    if as_root:
        runuser = shutil.which("runuser")
        if runuser is None:
            shutil.rmtree(folder, ignore_errors=True)
            raise ServerUnavailable("running as root and no runuser to start PostgreSQL as nobody")
        shutil.chown(folder, user="nobody")
        prefix = [runuser, "-u", "nobody", "--"]
    data = folder / "data"
    port = _free_port()

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*prefix, *args], capture_output=True, text=True, check=check, cwd=folder, timeout=120
        )

    def stop() -> None:
        if (data / "postmaster.pid").exists():
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(folder, ignore_errors=True)

    try:
        run(
            str(bin_dir / "initdb"), "-D", str(data), "-U", user, "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        run(
            str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user, database)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        log = (folder / "log").read_text() if (folder / "log").exists() else ""
        stop()
        detail = getattr(error, "stderr", "") or ""
        raise RuntimeError(f"PostgreSQL did not start: {detail.strip()} {log[-500:]}") from error
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    return f"postgres://{user}@127.0.0.1:{port}/{database}", stop
