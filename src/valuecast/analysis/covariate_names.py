"""The customers-table columns ``--covariates`` may name, checked without the covariate models.

Option parsing reads these before any data is read, so this module imports neither Ibis nor
SciPy (:mod:`valuecast.analysis.covariates` builds the design matrix from them).
"""

from __future__ import annotations

from collections.abc import Sequence

from valuecast.errors import ValuecastError

COVARIATES: dict[str, str] = {
    "acquisition_channel": "channel",
    "first_discount_code": "first_discount_code",
    "accepts_marketing": "accepts_marketing",
    "first_product": "first_product",
}
"""The customers-table columns ``--covariates`` may name, and the summary column holding each."""

ATTRIBUTES: tuple[str, ...] = ("acquisition_channel", "first_discount_code", "accepts_marketing")
"""The covariates the orders' own attributes give (the first order's channel and discount code,
the latest stated consent): summary.json's ``customers_with_attribute`` counts the customers
holding each, so advice to give them names only those the data hold."""


class CovariateError(ValuecastError, ValueError):
    """A covariate that cannot be used (an unknown column): one line."""


def parse_covariates(text: str | None, available: Sequence[str] = tuple(COVARIATES)) -> list[str]:
    """The column names of ``--covariates a,b,c`` (trimmed, duplicates dropped), checked.

    A name is read in any case and with a dash for the underscore (``first-product``), as
    ``--by`` reads its groupings. An unknown name raises :class:`CovariateError` naming it and
    listing ``available``.
    """
    parts = [part.strip() for part in (text or "").split(",") if part.strip()]
    for part in parts:
        if column_named(part) not in available:
            raise CovariateError(
                f"--covariates: no column {part!r} in the customers table "
                f"(available: {', '.join(available)})"
            )
    return list(dict.fromkeys(column_named(part) for part in parts))


def column_named(text: str) -> str:
    """The column name ``text`` spells, in any case and with a dash for the underscore."""
    return text.strip().casefold().replace("-", "_")


SINGLE_VALUE_NOTE = "covariate {column} has a single value: left out"
"""The note on a covariate every customer has one value of, which tells nothing."""


def single_value_note(column: str) -> str:
    """The note that ``column`` has one value for every customer and is left out."""
    return SINGLE_VALUE_NOTE.format(column=column)


def single_valued(notes: Sequence[str]) -> list[str]:
    """The covariates ``notes`` (an analysis' notes) say were left out for a single value."""
    before, after = SINGLE_VALUE_NOTE.split("{column}")
    return [
        note.removeprefix(before).removesuffix(after)
        for note in notes
        if note.startswith(before) and note.endswith(after)
    ]
