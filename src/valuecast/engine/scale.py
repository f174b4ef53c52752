"""A SparkSession for ``--engine spark``, and an Ibis connection on it.

The analysis on Spark (:mod:`valuecast.jobs.scale`) and :func:`valuecast.engine.connect`
(``spark`` and ``spark://`` URLs) both connect here.
"""

from __future__ import annotations

import os

from ibis.backends import BaseBackend

from valuecast.engine.connection import EngineError


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
    session.sparkContext.setLogLevel("ERROR")
    return session


def connect_spark(master: str | None = None) -> BaseBackend:
    import ibis

    return ibis.pyspark.connect(spark_session(master))
