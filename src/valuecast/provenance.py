"""Which valuecast made what a workspace stores: a fingerprint of the package's own source.

The version number alone does not tell two builds apart (every development build is 0.1.0), and
a stored analysis is only what this valuecast would compute when the code that made it is this
code: a snapshot of another build is analysed anew rather than given back as today's (a fix of a
definition would otherwise reach the merchant only with new orders).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

SOURCE_SUFFIXES = (".py", ".j2", ".sql")
"""The files whose text is the package's behaviour (its static files, plotly.js among them,
draw the pages but compute nothing)."""


@functools.cache
def source_fingerprint() -> str:
    """The first 16 hex digits of the SHA-256 of the package's source files (their paths and
    bytes, in path order): equal for two installs of one build, different after any change.
    About 35 ms, once a process."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    paths = (path for suffix in SOURCE_SUFFIXES for path in root.rglob(f"*{suffix}"))
    for path in sorted(paths):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
