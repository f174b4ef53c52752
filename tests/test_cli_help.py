"""Every command's ``--help`` on an 80-column terminal: prose filled to the width, no word cut."""

import pytest
from typer.testing import CliRunner

from valuecast import cli

COMMANDS = [command.name for command in cli.app.registered_commands]


def _help(*arguments: str) -> list[str]:
    result = CliRunner().invoke(cli.app, [*arguments, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


@pytest.mark.parametrize("command", COMMANDS)
def test_help_fits_an_80_column_terminal(command):
    lines = _help(command)
    assert all(len(line) <= 80 for line in lines)
    # Rich cuts a word longer than its column with an ellipsis: a flag or an example lost
    assert not [line for line in lines if "…" in line]
    # a flag takes no value: no value type beside it
    assert not [line for line in lines if "<bool>" in line]
    # the description (above the panels) wraps at the terminal's width, not the docstring's:
    # inside a paragraph a line ends only where the next word would not fit on it
    description = lines[: next(i for i, line in enumerate(lines) if line.startswith("╭"))]
    paragraph: list[str] = []
    for line in [*description, ""]:
        if line.strip():
            paragraph.append(line.rstrip())
            continue
        for filled, following in zip(paragraph, paragraph[1:], strict=False):
            next_word = following.split()[0]
            assert len(filled) + 1 + len(next_word) > 79, (command, filled, next_word)
        paragraph = []


@pytest.mark.parametrize("command", ["ingest", "analyze", "summary", "refresh"])
def test_the_files_a_command_takes_show_as_files(command):
    """The exports a command reads showed Python's type, ``files...  <list[str]>``."""
    lines = [line for line in _help(command) if "files..." in line]
    assert len(lines) == 1 and "<file>" in lines[0], lines
    assert not [line for line in _help(command) if "list[" in line]


def test_the_program_help_shows_no_type_for_its_flags():
    lines = _help()
    assert [line for line in lines if "--version" in line]
    assert not [line for line in lines if "<bool>" in line]


def test_the_covariates_help_names_every_column_the_option_accepts():
    """The help named three of the four columns ``--covariates`` reads (first_product was
    accepted, and in the README, but not in --help)."""
    from valuecast.analysis.covariate_names import COVARIATES

    text = " ".join(" ".join(_help("analyze")).replace("│", " ").split())
    listed = text.split("Customer columns the models may use:")[1].split(". The backtest")[0]
    assert [name.strip() for name in listed.split(",")] == list(COVARIATES)


@pytest.mark.parametrize("command", ["ingest", "analyze", "refresh"])
def test_every_command_reading_exports_describes_the_whole_map(command):
    """ingest's --map help named customer_id, ordered_at, revenue and time_zone alone: the
    status, line, phone and date format keys were in analyze's help and the README only."""
    text = " ".join(" ".join(_help(command)).replace("│", " ").split())
    for key in ("status=COL", "quantity=COL", "phone=COL", "date_format=%d.%m.%Y", "time_zone="):
        assert key in text, key


def test_valuecast_alone_shows_the_help_and_succeeds():
    """A merchant's first ``valuecast`` asks what it can do: the help ``--help`` shows, on
    standard output with exit code 0 (it was exit code 2, a usage error's)."""
    result = CliRunner().invoke(cli.app, [], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == _help()


def test_export_names_its_default_file_by_the_to_option():
    """The default audience file is named by the segment and --to's platform
    (``win-back-klaviyo.csv``): the help called it ``<format>``, which --to is not and which
    other commands' --format (the export's format) is."""
    text = " ".join(" ".join(_help("export")).replace("│", " ").split())
    assert "SEGMENT-TO.csv in the current folder, e.g. win-back-klaviyo.csv" in text
    assert "<format>" not in text


@pytest.mark.parametrize("command", ["ingest", "analyze", "refresh", "summary"])
def test_the_fx_help_names_the_columns_of_the_rates_file(command):
    """--fx said "RATES.csv converting currencies" alone, where --spend names its columns
    (month, channel, spend): a merchant could not write the file without reading the code."""
    text = " ".join(" ".join(_help(command)).replace("│", " ").split())
    assert "RATES.csv (currency, rate) converting every currency to one base currency" in text
    assert "(EUR,1.08 beside USD,1)" in text


@pytest.mark.parametrize("command", ["analyze", "refresh"])
def test_the_out_help_names_the_files_written_there(command):
    """analyze's and refresh's --out said "Output folder." alone, not what is written in it."""
    text = " ".join(" ".join(_help(command)).replace("│", " ").split())
    assert "Folder for the analysis files: customers.csv, summary.json, report.html" in text
    assert "Output folder." not in text
