"""Rich tables that fit the terminal they are printed on.

Rich crops a table wider than the console (its last columns and right border are lost) and cuts
headers to ``Cha…`` to squeeze one in. On an 80-column terminal that hides a snapshot's model,
or every RFM group's name in a migration matrix, so a wide table is drawn without its borders,
printed in parts of its columns, or left to its caller to print as lines.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

_UNLIMITED = 100_000
_ELLIPSIS = "…"


def fits(table: Table, console: Console) -> bool:
    """Whether ``table`` prints on ``console`` whole: no column cropped at the right edge, no
    word cut to an ellipsis (Rich narrows the widest columns first, below their longest word)."""
    # measured without the console's limit, which the measurement would be clamped to
    unlimited = console.options.update(width=_UNLIMITED, max_width=_UNLIMITED)
    if Measurement.get(console, unlimited, table).minimum > console.width:
        return False
    probe = Console(width=console.width, file=io.StringIO(), color_system=None)
    probe.print(table)
    written = sum(str(cell).count(_ELLIPSIS) for cell in _texts(table))
    return probe.file.getvalue().count(_ELLIPSIS) <= written


def _texts(table: Table) -> Iterator[object]:
    """The title, headers and cells of ``table`` (renderables, text as written)."""
    yield table.title or ""
    for column in table.columns:
        yield column.header
        yield from column.cells


def records_fitting(table: Table, console: Console) -> Table | None:
    """``table`` (of records, whose columns read best side by side) as it fits ``console``:
    whole, else drawn without its borders and with less space between columns (a rule under
    the header); None where neither fits, for the caller to print its records one line each."""
    if fits(table, console):
        return table
    drawn = (table.box, table.show_edge, table.padding)
    table.box, table.show_edge, table.padding = box.SIMPLE_HEAD, False, (0, 1, 0, 0)
    if fits(table, console):
        return table
    table.box, table.show_edge, table.padding = drawn
    return None


def column_parts(
    title: str,
    first: tuple[str, Mapping[str, Any]],
    columns: Sequence[tuple[str, Mapping[str, Any]]],
    rows: Sequence[Sequence[str]],
    console: Console,
) -> list[Table]:
    """The table of ``first`` and ``columns`` (each a header and its ``Table.add_column``
    keywords) holding ``rows``, in as few parts as fit ``console``: each part repeats the first
    column and takes the next columns while the part fits; a lone column that does not fit
    still gets a part of its own. With several parts, each title says which part it is.
    """

    def part(indices: Sequence[int]) -> Table:
        table = Table(title=title)
        table.add_column(first[0], **first[1])
        for index in indices:
            table.add_column(columns[index][0], **columns[index][1])
        for row in rows:
            table.add_row(row[0], *(row[1 + index] for index in indices))
        return table

    groups: list[list[int]] = []
    for index in range(len(columns)):
        if groups and fits(part([*groups[-1], index]), console):
            groups[-1].append(index)
        else:
            groups.append([index])
    if not groups:
        return [part([])]
    tables = [part(group) for group in groups]
    if len(tables) > 1:
        for number, table in enumerate(tables, start=1):
            table.title = f"{title} ({number} of {len(tables)})"
    return tables
