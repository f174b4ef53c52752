"""One BLAS thread while the models fit.

SciPy's L-BFGS-B (C since SciPy 1.15) factors and solves a small matrix through LAPACK at every
step, and OpenBLAS hands that work to its threads.  When the machine's other cores are busy
(DuckDB's threads, the customers files' writer, another process) every step waits for them: on
2 cores with the other one busy, a step of a 4-parameter fit took 190-420 microseconds against
88 on one thread (SciPy issue 22438 reports the same).  The models' own work is elementwise
NumPy, which BLAS threads never run, so one thread costs the fits nothing, and a small shop's
bootstrap (a few hundred fits of a few thousand steps) gains the most.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS (OpenBLAS, MKL, BLIS) runs on one thread inside; its setting is restored after."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield
