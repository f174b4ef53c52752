"""Writing one benchmark's section of BENCHMARKS.md without touching the others."""

from __future__ import annotations

import re
from pathlib import Path

HEADER = (
    "# Benchmarks\n\nEach section is written by the benchmark named in it; re-run it to refresh.\n"
)


def write_section(path: Path, title: str, body: str) -> None:
    """Replace (or append) the ``## title`` section of the markdown file at ``path``."""
    text = path.read_text() if path.exists() else HEADER
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text)


def publish(lines: list[str], title: str, write_md: bool) -> None:
    """Print a benchmark's result and, with ``write_md``, make it BENCHMARKS.md's ``title``."""
    text = "\n".join(lines)
    print(text)
    if write_md:
        write_section(Path(__file__).resolve().parent.parent / "BENCHMARKS.md", title, text)
