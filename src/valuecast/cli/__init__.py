"""The ``valuecast`` command line: the Typer app, and every command registered on it here.

Each command lives in its own module (shared options in :mod:`valuecast.cli.options`, the
consoles and one-line failures in :mod:`valuecast.cli.common`).  The modules import the engine,
the models and the writers inside the command bodies, so ``valuecast --help`` starts without
them.  The console script is ``valuecast = "valuecast.cli:main"``.
"""

from __future__ import annotations

import gc
import os

# The models' matrices are a few parameters wide, so OpenBLAS' worker threads only wait on one
# another: two of them double the CPU of a fit, and its wall time suffers whenever DuckDB or
# another process wants the cores.  Set before NumPy loads OpenBLAS (the command modules import
# it); a value the user set stays.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import typer  # noqa: E402

from valuecast.cli import (
    analyze,
    channels,
    demo,
    exports,
    fit,
    growth,
    history,
    ingest,
    products,
    report,
    summary,
    web,
)

__all__ = ["app", "main"]

app = typer.Typer(
    help="valuecast: customer lifetime value for e-commerce merchants.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# in the order `valuecast --help` lists them
app.command("fit")(fit.fit)
app.command("demo")(demo.demo)
app.command("ingest")(ingest.ingest)
app.command("summary")(summary.summary)
app.command("analyze")(analyze.analyze)
app.command("cohorts")(growth.cohorts)
app.command("stage")(growth.stage)
app.command("channels")(channels.channels)
app.command("affinity")(products.affinity)
app.command("reminders")(products.reminders)
app.command("report")(report.report)
app.command("export")(exports.export)
app.command("refresh")(history.refresh)
app.command("history")(history.history)
app.command("compare")(history.compare)
app.command("serve")(web.serve)


def main() -> None:
    """The console script: :data:`app`, then an exit that skips scanning the objects it made.

    The interpreter's exit runs several full garbage collections over every object left
    (pandas', Ibis', SciPy's, Plotly's modules): after a 1M-customer ``analyze`` they take
    0.4-0.6 s.  One collection frees what cycles there are (a file in one is flushed and closed
    as at any exit), then what is left is frozen (:func:`gc.freeze`): the exit's collections
    skip it, and it is still freed as nothing refers to it.
    """
    try:
        app()
    finally:
        gc.collect()
        gc.freeze()
