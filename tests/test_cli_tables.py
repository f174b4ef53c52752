"""Rich tables that fit the terminal (`valuecast.cli.tables`)."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from valuecast.cli.tables import column_parts, fits, records_fitting


def _console(width: int) -> Console:
    return Console(width=width, file=io.StringIO(), color_system=None)


def _printed(tables: list[Table], console: Console) -> str:
    for table in tables:
        console.print(table)
    return console.file.getvalue()


def _table(headers: list[str], row: list[str]) -> Table:
    table = Table()
    for header in headers:
        table.add_column(header)
    table.add_row(*row)
    return table


def test_a_table_that_rich_would_crop_or_cut_to_an_ellipsis_does_not_fit():
    console = _console(40)
    assert fits(_table(["a", "b"], ["1", "2"]), console)
    # wider than the console at its longest words: Rich would crop its right columns
    words = ["customer_identifier", "acquisition_channel", "first_discount_code"]
    assert not fits(_table(words, ["x", "y", "z"]), console)
    # narrow enough by its longest words, but Rich narrows the widest column below its word
    wide_words = _table(["Champions", "Previously loyal", "Promising"], ["1", "2", "3"])
    assert not fits(wide_words, _console(36)) and "…" in _printed([wide_words], _console(36))
    # an ellipsis the cells hold is no cut
    assert fits(_table(["note"], ["and so on…"]), console)


def test_column_parts_split_the_columns_so_each_part_fits_and_keeps_every_row():
    console = _console(80)
    dates = [f"2025-{month:02d}-28" for month in range(1, 13)]
    columns = [(date, {"justify": "right", "min_width": 10}) for date in dates]
    rows = [[group, *(f"{n * 1000 + i:,}" for i in range(12))]
            for n, group in enumerate(["Champions", "Needs attention", "Almost lost"])]  # fmt: skip
    parts = column_parts("customers per RFM group", ("group", {}), columns, rows, console)
    assert len(parts) > 1
    assert all(fits(part, console) for part in parts)
    assert [part.title for part in parts][0] == f"customers per RFM group (1 of {len(parts)})"
    # every column once, in order, each part starting with the rows' labels
    assert [c.header for part in parts for c in part.columns[1:]] == dates
    assert all([str(cell) for cell in part.columns[0].cells] == [r[0] for r in rows]
               for part in parts)  # fmt: skip
    text = _printed(parts, _console(80))
    assert "…" not in text and all(len(line) <= 80 for line in text.splitlines())
    for row in rows:
        assert all(cell in text for cell in row)


def test_a_table_that_fits_is_one_part_with_its_own_title():
    parts = column_parts(
        "t", ("group", {}), [("a", {}), ("b", {})], [["x", "1", "2"]], _console(80)
    )
    assert len(parts) == 1 and parts[0].title == "t"


def test_a_table_of_records_loses_its_inner_borders_only_where_needed():
    narrow = _table(["customer", "as of", "model"], ["someone@example.com", "2026-06-30", "pnbd"])
    fitting = records_fitting(narrow, _console(80))
    assert fitting is narrow and "┃" in _printed([fitting], _console(80))
    wide = _table([f"column {i}" for i in range(9)], [f"{i:,}" for i in range(9)])
    borderless = records_fitting(wide, _console(80))
    assert borderless is not None and "┃" not in _printed([borderless], _console(80))
    # too wide either way: the caller prints its records as lines
    words = _table([f"identifier_{i}" for i in range(9)], [str(i) for i in range(9)])
    assert records_fitting(words, _console(80)) is None


def test_analyze_prints_a_table_too_wide_for_a_ci_log_as_a_line_a_row(monkeypatch):
    """At 40 columns every backtest number was cut to an ellipsis and the RFM groups' names to
    "Previo…": such a table is its title and a line a row, each cell after its header."""
    from valuecast.cli import analyze as analyze_command

    narrow = _console(40)
    monkeypatch.setattr(analyze_command, "console", narrow)
    table = Table(title="backtest: holdout after 2025-12-31")
    for header in ("model", "MAE orders", "aggregate error", "Spearman", "top-decile revenue"):
        table.add_column(header)
    table.add_row("bgnbd", "0.338", "37.6%", "0.198", "43.9%")
    table.add_row("pnbd", "failed", "FitError: no\nrepeat buyer", "", "")
    analyze_command._print_records(table)
    printed = narrow.file.getvalue()
    assert "…" not in printed
    assert " ".join(printed.split()) == (
        "backtest: holdout after 2025-12-31: bgnbd: MAE orders 0.338, aggregate error 37.6%, "
        "Spearman 0.198, top-decile revenue 43.9% pnbd: MAE orders failed, aggregate error "
        "FitError: no repeat buyer"
    )
    wide = _console(120)
    monkeypatch.setattr(analyze_command, "console", wide)
    analyze_command._print_records(table)
    assert "┃ model" in wide.file.getvalue()  # a terminal it fits: the table
