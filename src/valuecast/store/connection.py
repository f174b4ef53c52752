"""Ibis connections: the local DuckDB workspace by default, any Ibis backend by URL, Spark.

Everything the engine computes is an Ibis expression, so the same summary runs on the DuckDB
workspace file, on an in-memory DuckDB, on a SQL warehouse reached through an Ibis URL, or on
a SparkSession (:func:`spark_session`).

Ibis is imported inside the functions that make a backend (start-up time): a workspace writes
its tables on DuckDB's own connection (:func:`open_duckdb`), so ``ingest`` runs without it.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from valuecast.errors import ValuecastError

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

DEFAULT_WORKSPACE = "valuecast.duckdb"

_DUCKDB_SUFFIXES = (".duckdb", ".ddb", ".db")

# DuckDB's own default is 80% of the machine's memory, and it keeps what it reaches: a 1M-customer
# analysis grew the process to 4.2 GB, 2.4 GB under a 1 GB limit in the same time (DuckDB spills
# to <workspace>.tmp beyond it).  A workspace of many orders gets more (workspace_memory_bytes), and
# VALUECAST_MEMORY_LIMIT sets it (docs/scale.md).
MEMORY_LIMIT_VARIABLE = "VALUECAST_MEMORY_LIMIT"
DEFAULT_WORKSPACE_MEMORY_LIMIT = "1GB"
DEFAULT_WORKSPACE_MEMORY_BYTES = 10**9
# DuckDB's largest hash tables and sorts (the summary's purchase days, the cohorts' window, the
# orders' write) grow with the orders: at 31M orders under 1 GB they spill, and a 10M-customer
# analysis takes 128 s against 94-96 s under 2.5 GB and 89-92 s under 3 GB, while the process'
# peak moves from 3,519-3,530 to 3,553-3,581 MiB (what reads the stored analysis afterwards
# does so under 1 GB again: Workspace.lower_memory_to_default)
WORKSPACE_BYTES_PER_ORDER = 96


class EngineError(ValuecastError, ValueError):
    """An engine specification that cannot be connected to (rendered as one line)."""


class WorkspaceBusyError(EngineError):
    """Another process holds the workspace (DuckDB allows one writer, or readers, at a time)."""


# DuckDB's message when another process holds the file's lock names that process
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


def connect_duckdb(
    path: str | Path | None = None,
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> BaseBackend:
    """A DuckDB backend on the database file ``path`` (created if missing), or in memory for None.

    ``memory_limit`` (e.g. ``"6GB"``) makes DuckDB spill to disk instead of growing past it;
    without one, ``VALUECAST_MEMORY_LIMIT`` when set, else 1 GB for a database file and DuckDB's
    default for an in-memory database (which has no folder of its own to spill to).
    """
    raw = open_duckdb(path, read_only=read_only, memory_limit=memory_limit, threads=threads)
    return duckdb_backend(raw)


def duckdb_backend(raw: duckdb.DuckDBPyConnection) -> BaseBackend:
    """Ibis' DuckDB backend on the open connection ``raw`` (as :func:`connect_duckdb` gives it)."""
    import ibis

    return ibis.duckdb.from_connection(raw)


def open_duckdb(
    path: str | Path | None = None,
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection of :func:`connect_duckdb`, without Ibis (importing it takes 0.4 s,
    which a command that only writes the workspace's tables does without).

    Set as Ibis sets its connections: UTC session time zone, no Python variables read as tables.
    """
    raw = _open_duckdb(path, read_only=read_only, memory_limit=memory_limit, threads=threads)
    raw.execute("SET TimeZone = 'UTC'")
    raw.execute("SET python_enable_replacements = false")
    return raw


def resolved_memory_limit(path: str | Path | None, memory_limit: str | None = None) -> str | None:
    """The memory limit a connection to ``path`` is opened with: ``memory_limit`` when given,
    else ``VALUECAST_MEMORY_LIMIT``, else 1 GB for a database file and None (DuckDB's default)
    in memory."""
    if memory_limit is not None:
        return memory_limit
    if uses_default_memory_limit(path):
        return DEFAULT_WORKSPACE_MEMORY_LIMIT
    return os.environ.get(MEMORY_LIMIT_VARIABLE) or None


def uses_default_memory_limit(path: str | Path | None, memory_limit: str | None = None) -> bool:
    """Whether a connection to ``path`` gets the workspace's default limit
    (:func:`resolved_memory_limit`): a database file, no ``memory_limit`` given and no
    ``VALUECAST_MEMORY_LIMIT``."""
    in_memory = path is None or str(path) == ":memory:"
    return memory_limit is None and not os.environ.get(MEMORY_LIMIT_VARIABLE) and not in_memory


def workspace_memory_bytes(orders: int, machine_bytes: int | None = None) -> int:
    """The default memory limit of a workspace of ``orders`` orders, in bytes: 1 GB, or
    :data:`WORKSPACE_BYTES_PER_ORDER` an order where that is more (from 10.4M orders), at most a
    quarter of the machine's memory (``machine_bytes``, by default the machine's), never less
    than 1 GB."""
    if machine_bytes is None:
        try:
            machine_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):  # not told: the default stays
            machine_bytes = 0
    wanted = min(orders * WORKSPACE_BYTES_PER_ORDER, machine_bytes // 4)
    return max(DEFAULT_WORKSPACE_MEMORY_BYTES, wanted)


_DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".xlsx", ".xls", ".json", ".zip", ".gz")
"""Names of the files merchants export: a workspace given one of them is a mix-up."""


def is_duckdb_file(path: Path) -> bool:
    """Whether ``path`` is a DuckDB database file: its header's magic bytes (False where it
    cannot be read)."""
    try:
        with path.open("rb") as handle:
            return handle.read(12)[8:12] == b"DUCK"
    except OSError:
        return False


def not_a_database(path: Path) -> str | None:
    """Why ``path`` cannot be a workspace, or None: a file that is not DuckDB's (DuckDB opens a
    CSV or Parquet file as an in-memory database over it, where an ingest vanished without a
    word), a folder (a results folder given for the workspace), or a new one named as an
    export."""
    if path.is_dir():
        return "is a folder, not a workspace: give --workspace a .duckdb file"
    if path.is_file() and path.stat().st_size:
        if not is_duckdb_file(path):
            return "not a valuecast workspace (a DuckDB file): give --workspace a .duckdb file"
        return None
    if not path.exists() and path.suffix.lower() in _DATA_SUFFIXES:
        return (
            f"a workspace is a DuckDB file, not a {path.suffix} file: give --workspace a name "
            "ending in .duckdb"
        )
    return None


def _open_duckdb(
    path: str | Path | None,
    *,
    read_only: bool,
    memory_limit: str | None,
    threads: int | None,
) -> duckdb.DuckDBPyConnection:
    in_memory = path is None or str(path) == ":memory:"
    memory_limit = resolved_memory_limit(path, memory_limit)
    config: dict[str, object] = {}
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    if threads is not None:
        config["threads"] = threads
    if in_memory:
        return _checked(lambda: duckdb.connect(":memory:", config=config), memory_limit)
    path = Path(path)
    if path.parent != Path("") and not path.parent.exists():
        raise EngineError(f"{path}: folder {path.parent} does not exist")
    if read_only and not path.exists():
        raise EngineError(f"{path}: no such workspace (run `valuecast ingest` first)")
    problem = not_a_database(path)
    if problem is not None:
        raise EngineError(f"{path}: {problem}")
    try:
        return _checked(
            lambda: duckdb.connect(str(path.absolute()), read_only=read_only, config=config),
            memory_limit,
        )
    except EngineError:
        raise
    except Exception as error:
        holder = _LOCK_HOLDER.search(str(error))
        if holder is None:
            raise
        raise WorkspaceBusyError(
            f"{path}: workspace is in use by PID {holder['pid']} "
            + _what_holds(int(holder["pid"]), Path(holder["program"]).name)
        ) from None


def _what_holds(pid: int, program: str) -> str:
    """What the process ``pid`` holding a workspace is, and what to do about it: the dashboard
    never finishes, so waiting for it is no advice."""
    command = valuecast_command(pid)
    if command == "serve":
        return (
            "(the dashboard, `valuecast serve`), which holds it while it runs: stop it "
            "(Ctrl+C where it runs) and run this again"
        )
    if command is not None:
        return f"(`valuecast {command}`); wait for it to finish, or stop it"
    return f"({program}); wait for it to finish, or stop it"


def valuecast_command(pid: int) -> str | None:
    """The valuecast command (``serve``, ``analyze``...) process ``pid`` runs, from its command
    line; None for another program, or where the system does not show command lines."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return None
    words = arguments.split("\0")
    for index, word in enumerate(words):
        if Path(word).name == "valuecast":
            following = [w for w in words[index + 1 :] if w and not w.startswith("-")]
            return following[0] if following else None
    return None


def _checked(open_connection, memory_limit: str | None) -> duckdb.DuckDBPyConnection:
    """``open_connection()``, with a memory limit DuckDB cannot read as one line naming it."""
    try:
        return open_connection()
    except Exception as error:
        if memory_limit is not None and "memory must have a number" in str(error).lower():
            raise EngineError(
                f"memory limit {memory_limit!r}: not a memory size; use e.g. 4GB or 512MB"
                f" ({MEMORY_LIMIT_VARIABLE})"
            ) from None
        raise


def connect(engine: str | Path = "duckdb", **kwargs: object) -> BaseBackend:
    """Connect to the engine named by ``engine``.

    * ``"duckdb"`` (or ``"duckdb://"``): an in-memory DuckDB.
    * a DuckDB file path (``shop.duckdb``, ``duckdb:///path/shop.duckdb``): that database file.
    * any other Ibis URL, e.g. ``postgres://user:pass@host/db``: :func:`ibis.connect` on it.
    * ``"spark"``: Ibis' PySpark backend on the active SparkSession (or a new local one);
      ``spark://host:7077`` on that standalone master (:func:`spark_session`).

    Extra keyword arguments go to the backend's ``connect``.
    """
    spec = str(engine).strip()
    if spec in ("", "duckdb", "duckdb://", ":memory:"):
        return connect_duckdb(None, **kwargs)  # type: ignore[arg-type]
    if spec == "spark" or spec.startswith("spark://"):
        return connect_spark(None if spec == "spark" else spec)
    if spec.startswith("duckdb://"):
        return connect_duckdb(spec.removeprefix("duckdb://"), **kwargs)  # type: ignore[arg-type]
    if "://" in spec:
        import ibis

        try:
            return ibis.connect(spec, **kwargs)
        except Exception as error:  # driver missing, bad URL, server down: one line
            raise EngineError(f"cannot connect to {spec.split('@')[-1]}: {error}") from error
    if spec.lower().endswith(_DUCKDB_SUFFIXES) or Path(spec).exists():
        return connect_duckdb(spec, **kwargs)  # type: ignore[arg-type]
    raise EngineError(
        f"unknown engine {spec!r}: use 'duckdb', a .duckdb file path, or an Ibis URL "
        "such as postgres://user@host/db"
    )


# ------------------------------------------------------------------------------------------------
# Spark
def spark_session(master: str | None = None):
    """The active SparkSession (spark-submit, Databricks, a notebook), or a new local one.

    A new session runs on ``master`` (default ``$VALUECAST_SPARK_MASTER`` or ``local[*]``) with
    UTC session time, few shuffle partitions and ``$VALUECAST_SPARK_DRIVER_MEMORY`` (4g) of
    driver memory.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:  # pragma: no cover - depends on the install
        raise EngineError("engine 'spark' needs PySpark: pip install 'valuecast[spark]'") from error
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    builder = SparkSession.builder.appName("valuecast")
    launched = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit set the master already
    if master is not None or not launched:
        builder = builder.master(master or os.environ.get("VALUECAST_SPARK_MASTER", "local[*]"))
        cores = os.cpu_count() or 2
        builder = (
            builder.config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(max(4, 2 * cores)))
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.memory", os.environ.get("VALUECAST_SPARK_DRIVER_MEMORY", "4g"))
        )
    session = builder.getOrCreate()
    # the command reports a failed query in one line: Spark's own error log and the query
    # context PySpark logs beside it would print Java's trace and the SQL before it
    session.sparkContext.setLogLevel("OFF")
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    return session


def connect_spark(master: str | None = None) -> BaseBackend:
    """Ibis' PySpark backend on :func:`spark_session` (``master`` as there)."""
    import ibis

    return ibis.pyspark.connect(spark_session(master))
