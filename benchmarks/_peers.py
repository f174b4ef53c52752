"""Isolated virtual environments for the peer libraries the benchmarks compare against.

lifetimes 0.11.3 (the reference BTYD implementation) does not import under pandas 3 / numpy 2, so
it cannot live in valuecast's own environment.  :func:`peer_python` builds a separate venv under
``benchmarks/.cache/`` with versions that install on Python 3.11 and still run lifetimes, and
:func:`run_peer` runs a script in it as a subprocess, so timings of valuecast and of the peer are
taken in the same benchmark run.

Usage from a benchmark::

    from _peers import LIFETIMES, run_peer
    result = run_peer(LIFETIMES, "import lifetimes; print(lifetimes.__version__)")
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"


@dataclass(frozen=True)
class Peer:
    """A peer library environment: a venv directory name and the exact packages it needs."""

    name: str
    requirements: tuple[str, ...]

    @property
    def directory(self) -> Path:
        return CACHE / f"{self.name}-venv"

    @property
    def python(self) -> Path:
        return self.directory / "bin" / "python"


# Versions that install from wheels on CPython 3.11 and under which lifetimes 0.11.3 runs
# (pandas 2 removed APIs lifetimes uses; numpy >= 1.24 removed np.float etc.).
LIFETIMES = Peer(
    name="lifetimes",
    requirements=(
        "lifetimes==0.11.3",
        "pandas==1.5.3",
        "numpy==1.23.5",
        "scipy==1.9.3",
        "autograd==1.5",
        "dill",
        "psutil",
    ),
)


# pymc-marketing's MAP fit (pip resolves the newest release that supports this Python).
PYMC_MARKETING = Peer(name="pymc-marketing", requirements=("pymc-marketing", "psutil"))


def _stamp(peer: Peer) -> Path:
    return peer.directory / ".requirements"


def peer_python(peer: Peer, quiet: bool = True) -> Path:
    """The python executable of ``peer``'s venv, creating and filling the venv on first use.

    The venv is rebuilt when its requirement list changed since it was made.
    """
    wanted = "\n".join(peer.requirements)
    stamp = _stamp(peer)
    if peer.python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return peer.python
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"[peers] creating {peer.directory} ({', '.join(peer.requirements)})", file=sys.stderr)
    venv.EnvBuilder(with_pip=True, clear=True).create(peer.directory)
    command = [str(peer.python), "-m", "pip", "install", "--disable-pip-version-check"]
    if quiet:
        command.append("--quiet")
    subprocess.run([*command, *peer.requirements], check=True)
    stamp.write_text(wanted)
    return peer.python


def run_peer(
    peer: Peer, script: str, args: list[str] | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run python ``script`` (source text) in ``peer``'s venv; raise on a non-zero exit.

    Output is captured as text; the script typically prints one JSON line with its timings.
    """
    python = peer_python(peer)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONWARNINGS"] = "ignore"
    completed = subprocess.run(
        [str(python), "-c", script, *(args or [])],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{peer.name} peer script failed (exit {completed.returncode}):\n{completed.stderr}"
        )
    return completed


if __name__ == "__main__":
    # `python benchmarks/_peers.py` builds the environments ahead of a benchmark run.
    for peer in (LIFETIMES,):
        python = peer_python(peer, quiet=False)
        out = run_peer(
            peer, "import lifetimes, pandas; print(lifetimes.__version__, pandas.__version__)"
        )
        print(f"{peer.name}: {python} -> {out.stdout.strip()}")
