"""Fixtures of the scale-out tests: one local SparkSession and one PostgreSQL server per run.

Without Java/PySpark or PostgreSQL's server binaries the tests skip, saying which is missing;
with ``VALUECAST_REQUIRE_SCALE=1`` (set by ``.ci/run``) they fail instead, so CI always runs them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _servers import ServerUnavailable, postgres_bin, start_postgres  # noqa: E402

REQUIRED = os.environ.get("VALUECAST_REQUIRE_SCALE") == "1"


def missing(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (VALUECAST_REQUIRE_SCALE=1: these tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spark():
    if importlib.util.find_spec("pyspark") is None:
        missing("PySpark is not installed (pip install 'valuecast[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing("no Java runtime for Spark (apt-get install default-jre-headless)")
    from valuecast.store.connection import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def postgres_url():
    if importlib.util.find_spec("psycopg") is None:
        missing("psycopg is not installed (pip install 'valuecast[postgres]')")
    try:
        postgres_bin()
        url, stop = start_postgres()
    except ServerUnavailable as error:
        missing(str(error))
    try:
        yield url
    finally:
        stop()
