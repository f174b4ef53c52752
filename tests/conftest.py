"""Fixtures shared across test folders: Debian's chromium driven by Playwright.

``browser`` launches ``/usr/bin/chromium`` headless (never a downloaded browser).  Without
Playwright or chromium the browser tests skip, unless ``VALUECAST_REQUIRE_BROWSER=1`` (set by
``.ci/run``), which makes them fail instead.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import pytest

# tests run the models in this process as the command line does (valuecast.cli): OpenBLAS on one
# thread; set before any test module loads NumPy
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# test modules import the helpers kept next to this file (segments_oracle, shops) by bare name
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module", autouse=True)
def _collections_scan_the_modules_own_objects(request):
    """What the test process holds from earlier modules (their modules' objects, caches) is left
    out of the garbage collections the code under test runs, as a one-shot command's leave out
    what its start-up loaded (``frozen_objects``): each scans the module's objects, not the
    whole process'.  The earlier modules' garbage is collected first.  A module marked
    ``own_collections`` (the tests of ``frozen_objects`` itself) runs without."""
    if request.node.get_closest_marker("own_collections") is not None:
        yield
        return
    from valuecast.store.memory import frozen_objects

    gc.collect()
    with frozen_objects():
        yield


CHROMIUM = Path("/usr/bin/chromium")
REQUIRED = os.environ.get("VALUECAST_REQUIRE_BROWSER") == "1"


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason}, and VALUECAST_REQUIRE_BROWSER=1 requires the browser test")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()
