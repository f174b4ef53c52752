"""The base of every error valuecast reports to its user as one line."""


class ValuecastError(Exception):
    """An error valuecast renders as one line (each subclass says what went wrong where).

    Subclasses keep the standard base they always had (``ValueError`` for bad input,
    ``RuntimeError`` for a fit), so ``except ValueError`` catches what it caught before.
    """


def is_interrupted_query(error: BaseException) -> bool:
    """Whether ``error`` is Ctrl-C as DuckDB raises it: a query it interrupted (some of its
    Python calls raise that as a RuntimeError), or a Python scan of its own (an Arrow table's)
    that the KeyboardInterrupt stopped.  No step failed: the user stopped the command."""
    import duckdb  # only where an error is asked about: the CLI starts without it

    text = str(error)
    return (
        isinstance(error, duckdb.InterruptException)
        or (isinstance(error, RuntimeError) and text == "Query interrupted")
        or (isinstance(error, duckdb.Error) and "KeyboardInterrupt" in text)
    )
