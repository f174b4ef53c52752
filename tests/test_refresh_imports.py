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
