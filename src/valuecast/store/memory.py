"""Give memory that Arrow has freed back to the operating system.

Arrow's allocator (mimalloc in the pyarrow wheels) keeps freed pages for reuse: after importing
3M orders and dropping the importer's tables, the process still held 1.09 GB, of which Arrow had
0 bytes allocated; :func:`release_unused_memory` brought it to 0.30 GB.  The analysis calls it
between its large steps so the peak of the whole job is the peak of one step, not their sum.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, musl, Windows)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def release_unused_memory(*, collect: bool = True) -> None:
    """Collect garbage, then return Arrow's and the C heap's unused pages to the system.

    ``collect=False``: no garbage collection, for a caller whose frames were freed as they went
    out of use (no reference cycles): a collection scans every live object (0.3 s with the
    analysis' modules and charts loaded) to find nothing there.
    """
    # the importers' own release (io may not import the store)
    from valuecast.io.csvfile import release_arrow_pages

    if collect:
        gc.collect()
    release_arrow_pages()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


_frozen_depth = 0
_freezing = threading.Lock()


@contextmanager
def frozen_objects(*, unless_frozen: bool = False) -> Iterator[None]:
    """Leave the objects alive on entry out of the garbage collector's full scans until the
    outermost such block ends.

    A full collection walks every object the process tracks, and with the analysis' modules
    loaded (pandas, Ibis, SciPy, Plotly) most of them are the modules' own: a 1M-customer
    ``analyze`` spent 0.7 s in six full collections (explicit and automatic) to find a few small
    cycles.  Frozen objects are still freed as soon as nothing refers to them; only a reference
    cycle among them waits for the block's end (:func:`gc.unfreeze`), when they are scanned
    again.  Blocks nest, in any thread: each entry also freezes what was made since the last,
    unless ``unless_frozen``: then a block entered inside another freezes nothing more, and what
    was made since the other's entry stays collectable.
    """
    global _frozen_depth
    with _freezing:
        _frozen_depth += 1
        if not (unless_frozen and _frozen_depth > 1):
            gc.freeze()
    try:
        yield
    finally:
        with _freezing:
            _frozen_depth -= 1
            if _frozen_depth == 0:
                gc.unfreeze()
