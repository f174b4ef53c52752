"""Are the outputs of two versions of valuecast byte-identical?

Runs the same jobs with the working tree's ``src`` and with a git revision's (checked out into a
temporary worktree) and compares what they write, file by file:

* ``valuecast demo --seed 0``: every file of ``results/`` (``customers.csv``, ``summary.json``,
  the growth tables, ``report.html``, ...), and the audience files of ``valuecast export`` for
  each platform;
* CDNOW (the 2,357-customer sample shipped in ``valuecast.datasets``) through ``valuecast
  analyze``: every file it writes.

``customers.parquet`` is compared by its rows (Parquet metadata names the writer's version);
everything else byte for byte, after the temporary folder's path is masked.  DuckDB sums in
parallel, so the last bits of a float can change from one run of the same code to the next
(``207.29999999999998`` / ``207.3``): a file that differs only in numbers within 1e-9 of each
other is reported ``same to 1e-9``, any other difference ``DIFFERS``.  Prints one line per file
and exits 1 when any differs::

    python benchmarks/same_outputs.py --base main~3
"""

from __future__ import annotations

import argparse
import io
import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORMS = ("klaviyo", "mailchimp", "meta", "google")

# run the CLI of the tree on PYTHONPATH, whatever module layout it has: both expose valuecast.cli.app
RUN_CLI = (
    "import sys; from valuecast.cli import app; sys.argv = ['valuecast', *sys.argv[1:]]; app()"
)
WRITE_CDNOW = (
    "import sys; from valuecast.datasets import load_cdnow_transactions; "
    "load_cdnow_transactions().to_csv(sys.argv[1], index=False)"
)


def run_jobs(src: Path, folder: Path) -> None:
    """Write every compared output of the valuecast in ``src`` below ``folder``."""
    env = {"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", "HOME": str(folder), "COLUMNS": "100"}

    def python(*args: str) -> None:
        subprocess.run(
            [sys.executable, *args], cwd=folder, env=env, check=True, capture_output=True
        )

    python("-c", RUN_CLI, "demo", "--seed", "0", "--out", "demo")
    for platform in PLATFORMS:
        python(
            "-c", RUN_CLI, "export", "--segment", "champions", "--to", platform,
            "-w", "demo/valuecast.duckdb", "-o", f"demo/results/champions-{platform}.csv",
        )  # fmt: skip
    python("-c", WRITE_CDNOW, "cdnow.csv")
    python(
        "-c", RUN_CLI, "analyze", "cdnow.csv", "-w", "cdnow.duckdb", "-o", "cdnow",
        "--map", "customer_id=customer_id,ordered_at=date,revenue=amount",
    )  # fmt: skip


NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def same_to_1e9(a: bytes, b: bytes) -> bool:
    """The same text around the numbers, and every pair of numbers within 1e-9 (relative)."""
    if NUMBER.split(a) != NUMBER.split(b):
        return False
    return all(
        math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-12)
        for x, y in zip(NUMBER.findall(a), NUMBER.findall(b), strict=True)
    )


def parquet_as_csv(path: Path) -> bytes:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pacsv.write_csv(pq.read_table(path), sink)
    return sink.getvalue()


def compare(base: Path, head: Path) -> list[str]:
    """Lines ``same``/``DIFFERS``/``only in ...`` for every output file of the two runs."""
    lines = []
    names = sorted(
        {p.relative_to(base) for p in base.rglob("*") if p.is_file()}
        | {p.relative_to(head) for p in head.rglob("*") if p.is_file()}
    )
    for name in names:
        if name.suffix in (".duckdb", ".wal") or name.name in ("orders_export.csv", "cdnow.csv"):
            continue  # inputs and workspaces, not outputs
        a, b = base / name, head / name
        if not a.exists() or not b.exists():
            lines.append(f"only in {'head' if b.exists() else 'base'}: {name}")
            continue
        if name.suffix == ".parquet":
            text_a, text_b = parquet_as_csv(a), parquet_as_csv(b)
        else:
            text_a = a.read_bytes().replace(str(base).encode(), b"ROOT")
            text_b = b.read_bytes().replace(str(head).encode(), b"ROOT")
        if text_a == text_b:
            lines.append(f"same: {name}")
        elif same_to_1e9(text_a, text_b):
            lines.append(f"same to 1e-9: {name}")
        else:
            lines.append(f"DIFFERS: {name}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="git revision to compare the tree with")
    parser.add_argument("--keep", type=Path, help="write the runs below this folder and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="valuecast-same-") as tmp:
        tmp = Path(tmp) if args.keep is None else args.keep.resolve()
        checkout = tmp / "checkout"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(checkout), args.base],
            cwd=ROOT, check=True,
        )  # fmt: skip
        try:
            (tmp / "base").mkdir()
            (tmp / "head").mkdir()
            run_jobs(checkout / "src", tmp / "base")
            run_jobs(ROOT / "src", tmp / "head")
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(checkout)], cwd=ROOT, check=True
            )
        lines = compare(tmp / "base", tmp / "head")
    print("\n".join(lines))
    differing = [line for line in lines if not line.startswith("same")]
    close = [line for line in lines if line.startswith("same to")]
    print(
        f"{len(lines) - len(differing) - len(close)} same, {len(close)} same to 1e-9, "
        f"{len(differing)} differ (base {args.base})"
    )
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
