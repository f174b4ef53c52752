"""The pipeline on PySpark in local mode equals the DuckDB run (issue #8's acceptance).

The demo shop and CDNOW go through ``valuecast analyze`` twice: on the DuckDB workspace, and as
canonical Parquet tables (``valuecast ingest --engine spark``) analysed by ``valuecast analyze
--engine spark``, whose customers table Spark writes as Parquet.  Numbers agree to a relative
1e-9, everything else exactly.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from _compare import max_relative_deviation
from typer.testing import CliRunner

from valuecast.cli import app
from valuecast.datasets import data_file
from valuecast.datasets.demo_shop import generate_demo_shop

runner = CliRunner()
# PySpark 4.0's pandas conversion passes a keyword pandas 3 deprecates; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")


def _invoke(*args: str) -> str:
    result = runner.invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result.output


def _both_engines(tmp_path, source, *options: str):
    """(DuckDB customers, Spark customers, DuckDB summary, Spark summary) of one input."""
    _invoke(
        "analyze", source, *options, "--workspace", tmp_path / "w.duckdb",
        "--out", tmp_path / "duckdb",
    )  # fmt: skip
    tables = tmp_path / "lake"
    ingest_options = [o for o in options if o in ("--format", "cdnow")]
    _invoke("ingest", source, *ingest_options, "--engine", "spark", "--tables", tables)
    analysis_options = [o for o in options if o not in ingest_options]
    _invoke(
        "analyze", *analysis_options, "--engine", "spark", "--tables", tables,
        "--out", tmp_path / "spark",
    )  # fmt: skip
    duckdb_customers = pd.read_parquet(tmp_path / "duckdb" / "customers.parquet")
    spark_customers = pd.read_parquet(tmp_path / "spark" / "customers.parquet")
    summaries = [
        json.loads((tmp_path / side / "summary.json").read_text()) for side in ("duckdb", "spark")
    ]
    return duckdb_customers, spark_customers, *summaries


def test_demo_shop_on_spark_equals_duckdb(spark, tmp_path):
    export = tmp_path / "orders_export.csv"
    generate_demo_shop(export, customers=800, seed=11)
    duckdb_customers, spark_customers, duckdb_summary, spark_summary = _both_engines(
        tmp_path, export
    )
    deviations = max_relative_deviation(duckdb_customers, spark_customers)
    print("demo shop, largest relative deviations:", deviations)
    # the run predicted and segmented for real: a chosen model, every tier and several groups
    assert spark_summary["model"]["name"] == duckdb_summary["model"]["name"]
    assert spark_summary["model"]["params"] == pytest.approx(
        duckdb_summary["model"]["params"], rel=1e-9
    )
    assert spark_summary["backtest"]["best"] == duckdb_summary["backtest"]["best"]
    assert set(spark_customers["predicted_spend_tier"]) == {"high", "medium", "low"}
    assert spark_customers["rfm_group"].nunique() >= 5
    assert spark_customers["first_product"].notna().any()
    assert spark_customers["expected_date_of_next_order"].notna().any()
    assert spark_summary["rfm_groups"] == duckdb_summary["rfm_groups"]
    # the range's method (a dict: how it was drawn) alike, the figures to 1e-9
    spark_totals, duckdb_totals = dict(spark_summary["totals"]), dict(duckdb_summary["totals"])
    assert spark_totals.pop("sales_range") == duckdb_totals.pop("sales_range")
    assert spark_totals == pytest.approx(duckdb_totals, rel=1e-9)


def test_cdnow_on_spark_equals_duckdb(spark, tmp_path):
    with data_file("CDNOW_sample.txt") as path:
        duckdb_customers, spark_customers, duckdb_summary, spark_summary = _both_engines(
            tmp_path, path, "--format", "cdnow", "--as-of", "1997-09-30", "--model", "bgnbd"
        )
    deviations = max_relative_deviation(duckdb_customers, spark_customers)
    print("CDNOW, largest relative deviations:", deviations)
    assert len(spark_customers) == 2357
    assert spark_summary["model"]["n_distinct_histories"] < 2357 / 2


def test_summary_and_compressed_table_written_by_spark(spark, tmp_path):
    with data_file("CDNOW_sample.txt") as path:
        _invoke("ingest", path, "--format", "cdnow", "--workspace", tmp_path / "w.duckdb")
        _invoke(
            "ingest", path, "--format", "cdnow", "--engine", "spark", "--tables", tmp_path / "lake"
        )
    for engine in ("duckdb", "spark"):
        _invoke(
            "summary", "--workspace", tmp_path / "w.duckdb", "--engine", engine,
            "--tables", tmp_path / "lake", "--as-of", "1997-09-30",
            "--out", tmp_path / f"{engine}_summary.parquet",
            "--compressed", tmp_path / f"{engine}_compressed.parquet",
        )  # fmt: skip
    for name in ("summary", "compressed"):
        duckdb = pd.read_parquet(tmp_path / f"duckdb_{name}.parquet")
        spark_table = pd.read_parquet(tmp_path / f"spark_{name}.parquet")
        key = "customer_id" if name == "summary" else ["frequency", "recency", "T"]
        duckdb = duckdb.sort_values(key).reset_index(drop=True)
        spark_table = spark_table.sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(spark_table, duckdb, check_dtype=False, rtol=1e-12)
    compressed = pd.read_parquet(tmp_path / "spark_compressed.parquet")
    assert compressed["count"].sum() == 2357 and len(compressed) < 2357


def test_connect_spark_and_missing_tables_fail_in_one_line(spark, tmp_path):
    from valuecast.store import connect

    assert connect("spark").name == "pyspark"
    result = runner.invoke(
        app, ["analyze", "--engine", "spark", "--tables", str(tmp_path / "empty"), "--out", "x"]
    )
    assert result.exit_code == 2 and "no orders table" in result.output
    assert "Traceback" not in result.output
