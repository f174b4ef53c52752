"""`analyze FILE` imports the analysis while DuckDB ingests: what runs before the ingest must not
import Ibis or SciPy, and the modules imported alongside must exist (a wrong name is skipped
silently and the imports fall back onto the analysis' path)."""

import importlib
import subprocess
import sys

from valuecast.jobs.refresh import ANALYSIS_MODULES

# what `valuecast analyze FILE` imports before refresh starts the ingest
BEFORE_INGEST = (
    "valuecast.cli",
    "valuecast.cli.analyze",
    "valuecast.cli.common",
    "valuecast.analysis.covariate_names",
    "valuecast.jobs.analyze",
    "valuecast.jobs.refresh",
    "valuecast.store.workspace",
    "valuecast.io.detect",
)


def test_nothing_before_the_ingest_imports_ibis_or_scipy():
    code = (
        "import importlib, sys\n"
        f"for name in {BEFORE_INGEST!r}: importlib.import_module(name)\n"
        "from valuecast.jobs.analyze import AnalysisOptions\n"
        "AnalysisOptions().validate()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'ibis', 'scipy', 'sqlglot'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


def test_the_modules_imported_alongside_the_ingest_exist():
    for name in ANALYSIS_MODULES:
        importlib.import_module(name)


def test_a_named_model_is_still_checked():
    import pytest

    from valuecast.jobs.analyze import AnalysisOptions

    AnalysisOptions(model="pnbd").validate()
    with pytest.raises(ValueError, match="unknown model 'nbd': use auto, bgnbd"):
        AnalysisOptions(model="nbd").validate()


def test_the_imports_start_beside_reading_small_files_and_beside_the_ingest_of_large_ones(
    tmp_path, monkeypatch
):
    from valuecast.cli import analyze

    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    small.write_bytes(b"x" * 10)
    large.write_bytes(b"x" * 30)
    monkeypatch.setattr(analyze, "IMPORTS_BESIDE_THE_INGEST_FROM", 25)
    assert analyze.imports_beside_reading([str(small)])
    assert not analyze.imports_beside_reading([str(large)])
    assert not analyze.imports_beside_reading([str(small), str(small), str(small)])
    # a table in a database is read by Ibis; a missing file is read_files' error to name
    assert analyze.imports_beside_reading([str(large), "duckdb:///shop.duckdb#orders"])
    assert analyze.imports_beside_reading([str(tmp_path / "missing.csv")])


def test_analyze_starts_the_imports_before_reading_only_small_files(tmp_path, monkeypatch):
    import pytest

    from valuecast.cli import analyze
    from valuecast.jobs import refresh

    class Stop(Exception):
        pass

    started_when_read = []

    def reading(*args, **kwargs):
        started_when_read.append(refresh._started is not None)
        raise Stop

    monkeypatch.setattr(analyze, "read_files", reading)
    monkeypatch.setattr(analyze, "IMPORTS_BESIDE_THE_INGEST_FROM", 25)
    for size in (10, 30):
        monkeypatch.setattr(refresh, "_started", None)
        orders = tmp_path / f"orders{size}.csv"
        orders.write_bytes(b"x" * size)
        with pytest.raises(Stop):
            analyze.run_analysis([str(orders)], tmp_path / "w.duckdb", out=tmp_path / "out")
    assert started_when_read == [True, False]
