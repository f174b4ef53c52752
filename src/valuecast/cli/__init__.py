"""The ``valuecast`` command line: the Typer app, and every command registered on it here.

Each command lives in its own module (shared options in :mod:`valuecast.cli.options`, the
consoles and one-line failures in :mod:`valuecast.cli.common`).  The modules import the engine,
the models and the writers inside the command bodies, so ``valuecast --help`` starts without
them.  The console script is ``valuecast = "valuecast.cli:main"``.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import os
import signal
import sys

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


class _FlagsWithoutType:
    """A flag shows no value type in ``--help`` (Typer would show ``<bool>`` beside
    ``--json``, which takes no value), ``--help`` itself included; the files a command takes
    show as ``<file>``, not Python's ``<list[str]>``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            _no_type_on_a_flag(param)
            _files_as_files(param)

    def get_help_option(self, ctx):
        return _no_type_on_a_flag(super().get_help_option(ctx))


class _Command(_FlagsWithoutType, typer.core.TyperCommand):
    """A command whose ``--help`` reads as prose at any terminal width: its paragraphs are
    wrapped by the terminal, not at the docstring's line ends, and its flags show no type."""

    def __init__(self, *args, help: str | None = None, **kwargs) -> None:
        super().__init__(*args, help=reflowed(help), **kwargs)


class _Group(_FlagsWithoutType, typer.core.TyperGroup):
    """``valuecast --help``: its flags show no value type either."""


def _no_type_on_a_flag(param):
    if param is not None and getattr(param, "is_flag", False) and param.metavar is None:
        param.metavar = ""
    return param


def _files_as_files(param) -> None:
    # every argument taking many values is a list of files (exports, tables as URL#TABLE)
    if isinstance(param, typer.core.TyperArgument) and param.nargs == -1:
        param.display_type_rich = lambda ctx: "<file>"


def reflowed(text: str | None) -> str | None:
    """``text`` (a docstring) with each paragraph on one line: Typer keeps a paragraph's line
    breaks, and a docstring wrapped at the source's width breaks mid-sentence on a narrower
    terminal."""
    if text is None:
        return None
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


app = typer.Typer(
    help="valuecast: customer lifetime value for e-commerce merchants.",
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_Group,
)


def _version(shown: bool) -> None:
    if shown:
        from valuecast import __version__

        typer.echo(f"valuecast {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _options(
    context: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """valuecast: customer lifetime value for e-commerce merchants."""
    if context.invoked_subcommand is None:
        # a bare `valuecast` asks what it can do: the help, as `--help` shows it, and success
        typer.echo(context.get_help())
        raise typer.Exit()


# in the order `valuecast --help` lists them
app.command("fit", cls=_Command)(fit.fit)
app.command("demo", cls=_Command)(demo.demo)
app.command("ingest", cls=_Command)(ingest.ingest)
app.command("summary", cls=_Command)(summary.summary)
app.command("analyze", cls=_Command)(analyze.analyze)
app.command("cohorts", cls=_Command)(growth.cohorts)
app.command("stage", cls=_Command)(growth.stage)
app.command("channels", cls=_Command)(channels.channels)
app.command("affinity", cls=_Command)(products.affinity)
app.command("reminders", cls=_Command)(products.reminders)
app.command("report", cls=_Command)(report.report)
app.command("export", cls=_Command)(exports.export)
app.command("refresh", cls=_Command)(history.refresh)
app.command("history", cls=_Command)(history.history)
app.command("compare", cls=_Command)(history.compare)
app.command("serve", cls=_Command)(web.serve)


def main() -> None:
    """The console script: :data:`app`, then an exit that skips scanning the objects it made.

    The interpreter's exit runs several full garbage collections over every object left
    (pandas', Ibis', SciPy's, Plotly's modules): after a 1M-customer ``analyze`` they take
    0.4-0.6 s.  One collection frees what cycles there are (a file in one is flushed and closed
    as at any exit), then what is left is frozen (:func:`gc.freeze`): the exit's collections
    skip it, and it is still freed as nothing refers to it.
    """
    # SIGTERM (what `timeout`, cron, CI and `docker stop` send) stops a command as Ctrl-C does:
    # the same interrupt, said in one line with what the workspace kept, never a silent stop
    # between two of the results' files
    try:
        before = signal.signal(signal.SIGTERM, signal.default_int_handler)
    except ValueError:  # not the main thread (an embedding program's): its handlers stay
        before = None
    try:
        _one_line_usage_errors()
        app()
    except KeyboardInterrupt:  # Ctrl-C outside a command's own handling: one line, no traceback
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    except Exception as error:  # no command's own handling: one line, never a traceback
        if os.environ.get("VALUECAST_TRACEBACK"):
            raise
        words = sys.argv[1:]
        command = next((word for word in words if not word.startswith("-")), "valuecast")
        # the workspace the command read, as the commands' own errors name it
        given = [words[k + 1] for k, word in enumerate(words[:-1]) if word in ("-w", "--workspace")]
        where = f"{given[-1]}: " if given else ""
        first = (str(error).strip().splitlines() or [""])[0]
        sys.stderr.write(
            f"error: {where}{command} failed: {type(error).__name__}: {first} "
            "(VALUECAST_TRACEBACK=1 shows where)\n"
        )
        raise SystemExit(2) from None
    finally:
        if before is not None:
            signal.signal(signal.SIGTERM, before)
        with contextlib.suppress(KeyboardInterrupt):
            gc.collect()
            gc.freeze()


def _one_line_usage_errors() -> None:
    """Print a usage error (a value an option does not take, an unknown option) on one line,
    as every other error is, instead of Typer's boxed usage panel; exit code 2 is Typer's."""
    from rich.markup import escape
    from typer import rich_utils

    from valuecast.cli.common import err_console

    def one_line(error) -> None:
        context = getattr(error, "ctx", None)
        where = context.command_path if context is not None else "valuecast"
        message = " ".join(error.format_message().split())
        # a choice's check words its refusal as a validator's ("Value error, 'x' is not one of")
        message = message.replace(": Value error, ", ": ")
        err_console.print(
            f"[bold red]error:[/] {escape(message)} (see `{escape(where)} --help`)",
            highlight=False,
            soft_wrap=True,
        )

    rich_utils.rich_format_error = one_line
