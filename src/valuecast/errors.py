"""The base of every error valuecast reports to its user as one line."""


class ValuecastError(Exception):
    """An error valuecast renders as one line (each subclass says what went wrong where).

    Subclasses keep the standard base they always had (``ValueError`` for bad input,
    ``RuntimeError`` for a fit), so ``except ValueError`` catches what it caught before.
    """
