"""What identifies the inputs of an ingest, so that a later command given the same inputs can
tell that the workspace holds them already: ``analyze orders.csv`` run again with another
horizon or margin need not read, check and compare every order a second time.

The files are identified as the file system describes them (path, device, inode, size,
modification and change times), as git's index and rsync's quick check identify unchanged
files, with what they are read with (format, column map, the --fx rates' file, valuecast's
version) and the day: an order dated the day after tomorrow is refused today and read in two
days.  A file's change time moves with every write to it and cannot be set back by its owner
(POSIX; Windows reports the creation time there), so a rewritten file is told apart whatever
its size and modification time.
"""

from __future__ import annotations

import hashlib
import json
import stat
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

RECENT_SECONDS = 2.0
"""A file changed this recently gets no fingerprint: a second change within the same tick of the
file system's clock (a few milliseconds) could leave its times as they were (git's "racy"
files).  Only a file older than this is told to be unchanged."""


def inputs_fingerprint(
    files: Sequence[str],
    export_format: str | None,
    column_map: str | None,
    fx: Path | None,
    *,
    today: date | None = None,
) -> str | None:
    """A digest of the ingest's inputs: ``files`` (paths) read as ``export_format`` with
    ``column_map`` and the rates in ``fx``; None when any is not a plain local file (a table in a
    database, a missing file) or was changed in the last :data:`RECENT_SECONDS`."""
    from valuecast.provenance import source_fingerprint

    now = time.time()
    described = []
    for source in [*files, *([] if fx is None else [str(fx)])]:
        try:
            status = Path(source).stat()
        except (OSError, ValueError):  # a database URL, a missing file
            return None
        if not stat.S_ISREG(status.st_mode):
            return None
        if now - max(status.st_mtime, status.st_ctime) < RECENT_SECONDS:
            return None
        described.append([
            str(Path(source).resolve()), status.st_dev, status.st_ino, status.st_size,
            status.st_mtime_ns, status.st_ctime_ns,
        ])  # fmt: skip
    inputs = {
        "valuecast": source_fingerprint(),  # another build reads the same files again
        "day": (today or date.today()).isoformat(),
        "format": export_format,
        "map": column_map,
        "files": described[: len(files)],
        "fx": described[len(files) :],
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
