"""A merchant's usual slips at the command line (an option that cannot apply, a misspelt column,
a folder given as the workspace) are one line naming what to fix, exit 2 and no traceback."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from valuecast.cli import app

runner = CliRunner()

MAPPING = "customer_id=Kunde (E-Mail),ordered_at=Datum,revenue=Betrag"


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A small orders table with a shop's own headers, analysed once into a workspace."""
    folder = tmp_path_factory.mktemp("mistakes")
    orders = folder / "bestellungen.csv"
    rows = ["Bestellung;Kunde (E-Mail);Datum;Betrag"]
    number = 1000
    for k in range(40):
        for month in range(1, 2 + k % 4):
            number += 1
            rows.append(f"{number};k{k}@x.de;{1 + k % 27:02d}.{month:02d}.2024;{10 + k},50")
    orders.write_text("\n".join(rows) + "\n")
    workspace = folder / "shop.duckdb"
    result = runner.invoke(app, [
        "analyze", str(orders), "-w", str(workspace), "-o", str(folder / "out"), "--map", MAPPING,
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder, orders, workspace


def _one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.mark.parametrize(
    "given", [["--map", MAPPING], ["--format", "orders"], ["--fx", "rates.csv"]]
)
def test_analyze_without_files_refuses_the_options_that_read_them(shop, given):
    """Without FILE the stored orders are analysed: an option that reads a file would be
    ignored while the analysis looked as if it had been applied."""
    folder, _, workspace = shop
    result = runner.invoke(app, ["analyze", "-w", str(workspace), "-o", str(folder / "x"), *given])
    line = _one_line_error(result)
    assert "--format, --map and --fx read the FILE arguments" in line
    assert not (folder / "x").exists()


def test_a_repeated_map_adds_its_keys(shop, tmp_path):
    """``--map`` given twice is one map of both (the second used to replace the first, and the
    file then lacked the columns the first had named)."""
    _, orders, _ = shop
    workspace = tmp_path / "w.duckdb"
    first, _, revenue = MAPPING.rpartition(",")
    result = runner.invoke(app, [
        "ingest", str(orders), "-w", str(workspace), "--map", first, "--map", revenue,
        "--map", "order_id=Bestellung", "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert '"orders": 100' in result.output
    result = runner.invoke(app, [
        "summary", str(orders), "--out", str(tmp_path / "s.csv"), "--map", first,
        "--map", revenue,
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s.csv").read_text().count("\n") == 41  # the header and 40 customers


def test_a_key_mapped_to_two_columns_is_refused(shop, tmp_path):
    _, orders, _ = shop
    result = runner.invoke(app, [
        "ingest", str(orders), "-w", str(tmp_path / "w.duckdb"), "--map", MAPPING,
        "--map", "customer_id=Bestellung",
    ])  # fmt: skip
    line = _one_line_error(result)
    assert "customer_id is given twice ('Kunde (E-Mail)' and 'Bestellung'): give it once" in line


@pytest.mark.parametrize(
    ("mapped", "hint"),
    [
        ("Kunde (Email)", "(did you mean 'Kunde (E-Mail)'?)"),
        ("Customer", "(its columns: Bestellung, Kunde (E-Mail), Datum, Betrag)"),
    ],
)
def test_a_misspelt_map_column_names_the_one_meant(shop, tmp_path, mapped, hint):
    """The header's closest name, else its names: the merchant need not open the file."""
    _, orders, _ = shop
    mapping = MAPPING.replace("Kunde (E-Mail)", mapped)
    for command in (["ingest", str(orders), "-w", str(tmp_path / "w.duckdb")],
                    ["summary", str(orders), "--out", str(tmp_path / "s.csv")]):  # fmt: skip
        line = _one_line_error(runner.invoke(app, [*command, "--map", mapping]))
        assert f"column given for customer_id in --map is not in the file {hint}" in line


@pytest.mark.parametrize(
    "command",
    [["history"], ["analyze"], ["export", "--segment", "win-back", "--to", "meta"], ["serve"]],
)
def test_a_folder_given_as_the_workspace_is_named_so(shop, command):
    """A results folder given for --workspace (``-w clv``) was DuckDB's "IO Error: Could not
    read from file ...: Is a directory"."""
    folder = shop[0] / "out"
    line = _one_line_error(runner.invoke(app, [*command, "-w", str(folder)]))
    assert line == f"error: {folder}: is a folder, not a workspace: give --workspace a .duckdb file"


def test_a_folder_given_as_the_workspace_of_an_ingest_is_named_so(shop):
    _, orders, _ = shop
    folder = shop[0] / "out"
    result = runner.invoke(app, ["ingest", str(orders), "-w", str(folder), "--map", MAPPING])
    assert _one_line_error(result).endswith(
        "is a folder, not a workspace: give --workspace a .duckdb file"
    )


def test_compare_with_one_snapshot_says_how_to_make_another(shop):
    _, _, workspace = shop
    line = _one_line_error(runner.invoke(app, ["compare", "-w", str(workspace)]))
    assert line == (
        f"error: {workspace}: only one snapshot (2024-04-24), no previous one: `valuecast refresh "
        "NEW_EXPORT` stores the next, `valuecast analyze --as-of` an earlier date's"
    )


def test_an_export_of_no_orders_is_named_not_the_workspace_alone(tmp_path):
    """A Shopify export filtered down to nothing (a header and no row) was "w.duckdb: no orders
    with an order date: nothing to summarise", naming no file."""
    from valuecast.datasets.demo_shop import HEADER

    export = tmp_path / "orders_export.csv"
    export.write_text(",".join(HEADER) + "\n")
    said = f"nothing to summarise: {export} holds no row after the header"
    result = runner.invoke(app, [
        "analyze", str(export), "-w", str(tmp_path / "w.duckdb"), "-o", str(tmp_path / "out"),
    ])  # fmt: skip
    assert said in _one_line_error(result)
    result = runner.invoke(app, ["summary", str(export), "--out", str(tmp_path / "s.csv")])
    assert said in _one_line_error(result)


@pytest.mark.parametrize(
    ("typed", "model"), [("BGNBD", "bgnbd"), ("BG/NBD", "bgnbd"), ("pareto-nbd", "pnbd")]
)
def test_a_model_is_named_as_an_analyst_writes_it(shop, typed, model):
    """``--model`` takes a model's name in any case, and as the literature writes it (``BG/NBD``,
    ``Pareto/NBD``), not only valuecast's own lower-case letters."""
    folder, _, workspace = shop
    out = folder / f"model-{model}"
    result = runner.invoke(app, ["analyze", "-w", str(workspace), "-o", str(out), "--model", typed])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"]["name"].split("+")[0] == model


def test_a_margin_given_in_percent_names_the_fraction_meant(shop):
    """``--margin 40`` (40%) was "margin must be between 0 and 1", with no word of the form
    that was meant."""
    folder, _, workspace = shop
    result = runner.invoke(app, ["analyze", "-w", str(workspace), "-o", str(folder / "m"),
                                 "--margin", "40"])  # fmt: skip
    line = _one_line_error(result)
    assert line.endswith(
        "margin must be above 0 and at most 1, the share of net revenue kept as profit (0.4 for "
        "40%; got 40)"
    )
    assert not (folder / "m").exists()
    # a margin of 0 made every prediction 0 and every customer a medium tier
    result = runner.invoke(app, ["analyze", "-w", str(workspace), "-o", str(folder / "m"),
                                 "--margin", "0"])  # fmt: skip
    assert _one_line_error(result).endswith("(0.4 for 40%; got 0)")
    assert not (folder / "m").exists()


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, float("nan")])
def test_an_interval_level_outside_0_and_1_is_refused_before_the_analysis(level):
    from valuecast.jobs.analyze import AnalysisOptions

    with pytest.raises(ValueError, match="interval level must be between 0 and 1"):
        AnalysisOptions(interval_level=level).validate()


def test_a_format_and_a_grouping_are_taken_in_any_case(shop, tmp_path):
    """``--format Orders`` and ``--by Channel``, as a merchant writes the names, were refused
    as "not one of 'orders', ..."."""
    folder, orders, workspace = shop
    result = runner.invoke(app, ["ingest", str(orders), "-w", str(tmp_path / "w.duckdb"),
                                 "--format", "Orders", "--map", MAPPING])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["cohorts", "-w", str(workspace), "--by", "Channel", "-o", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "c" / "cohorts.csv").read_text().startswith("cohort_month,channel,")


@pytest.mark.parametrize(
    ("command", "by", "column"),
    [
        ("cohorts", "first-product", "first_product"),
        ("channels", "Discount-Code", "first_discount_code"),
    ],
)
def test_a_grouping_is_taken_with_a_dash(shop, tmp_path, command, by, column):
    """``--by first-product``, as the command line's option names are written, was refused as
    "not one of 'channel', 'first_product', ..." where first_product was taken."""
    _, _, workspace = shop
    result = runner.invoke(app, [command, "-w", str(workspace), "--by", by, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    header = (tmp_path / f"{command}.csv").read_text().splitlines()[0].split(",")
    assert column in header
    wrong = runner.invoke(app, [command, "-w", str(workspace), "--by", "product"])
    assert wrong.exit_code == 2 and "'product' is not one of 'channel'" in wrong.output


def test_a_date_format_that_is_none_is_the_maps_error_not_the_files(shop, tmp_path):
    _, orders, _ = shop
    result = runner.invoke(app, [
        "ingest", str(orders), "-w", str(tmp_path / "w.duckdb"), "--map", MAPPING,
        "--map", "date_format=%d.%Q.%Y",
    ])  # fmt: skip
    line = _one_line_error(result)
    assert line == (
        "error: --map: date_format '%d.%Q.%Y' is not a date format ('Q' is a bad directive in "
        "format '%d.%Q.%Y'); write it as strptime does, e.g. %d/%m/%Y"
    )
    assert not (tmp_path / "w.duckdb").exists()


@pytest.mark.parametrize(
    ("command", "out", "what"),
    [
        (["export", "--segment", "champions", "--to", "klaviyo"], "taken/x.csv", "the audience"),
        (["report"], "taken/r.html", "the report"),
        (["channels"], "taken", "the results"),
    ],
)
def test_writing_under_a_file_says_it_is_a_file_not_a_folder(shop, tmp_path, command, out, what):
    """An --out whose folder is a file: one line naming it, not the system's error about a
    temporary file or "File exists"."""
    _, _, workspace = shop
    (tmp_path / "taken").write_text("a file\n")
    target = tmp_path / out
    result = runner.invoke(app, [*command, "-w", str(workspace), "--out", str(target)])
    assert _one_line_error(result) == (
        f"error: {target}: cannot write {what}: {tmp_path / 'taken'} is a file, not a folder"
    )


def test_a_workspace_under_a_file_says_it_is_a_file_not_a_folder(shop, tmp_path):
    _, orders, _ = shop
    (tmp_path / "taken").write_text("a file\n")
    workspace = tmp_path / "taken" / "w.duckdb"
    result = runner.invoke(app, ["ingest", str(orders), "-w", str(workspace), "--map", MAPPING])
    assert _one_line_error(result) == (
        f"error: {workspace}: {tmp_path / 'taken'} is a file, not a folder"
    )


def test_a_negative_prediction_time_is_the_options_error_not_the_fits(tmp_path):
    summary = tmp_path / "summary.csv"
    summary.write_text("frequency,recency,T\n2,30,60\n0,0,40\n1,10,50\n3,45,70\n")
    result = runner.invoke(app, ["fit", str(summary), "--predict", "-3"])
    assert _one_line_error(result) == (
        "error: --predict -3: the time to predict over is a number of 0 or more (39: the next 39 "
        "time units of the data)"
    )


def test_an_orders_table_read_as_cdnow_says_to_leave_the_format_out(shop, tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,ordered_at,revenue\n1,a,2024-01-02,10.00\n")
    result = runner.invoke(
        app, ["ingest", str(orders), "--format", "cdnow", "-w", str(tmp_path / "w.duckdb")]
    )
    assert _one_line_error(result) == (
        f"error: {orders}, row 1: expected 4 fields separated by spaces (customer_id date "
        "quantity amount), found 1 (a comma-separated file is an orders table: leave --format "
        "out)"
    )


def test_a_named_model_is_scored_alone_and_the_report_says_no_choice_was_made(tmp_path):
    """``--model pnbd``: the report read "Pareto/NBD (chosen)" and "the model with the lowest
    mean absolute error ... is chosen" of a backtest that scored it alone."""
    from valuecast.datasets.demo_shop import generate_demo_shop

    export = tmp_path / "orders_export.csv"
    generate_demo_shop(export, customers=600, seed=3)
    out = tmp_path / "out"
    result = runner.invoke(app, ["analyze", str(export), "-w", str(tmp_path / "w.duckdb"),
                                 "-o", str(out), "--model", "pnbd"])  # fmt: skip
    assert result.exit_code == 0, result.output
    backtest = json.loads((out / "summary.json").read_text())["backtest"]
    assert backtest["named_model"] == "pnbd" and backtest["best"].startswith("pnbd")
    assert backtest["selection"].startswith("the model named (--model pnbd) is scored alone")
    report = " ".join((out / "report.html").read_text().split())
    assert "the model named with --model pnbd is scored alone, no other candidate" in report
    assert "(chosen)" not in report and "lowest mean absolute error" not in report


def test_an_export_at_the_last_analysis_margin_says_so(shop, tmp_path):
    """The audience's predicted CLV at the 40% margin `analyze` was last given read as revenue:
    neither the files nor the command said which."""
    _, _, workspace = shop
    copy = tmp_path / "w.duckdb"
    shutil.copy(workspace, copy)
    done = runner.invoke(app, ["analyze", "-w", str(copy), "-o", str(tmp_path / "o"),
                               "--margin", "0.4"])  # fmt: skip
    assert done.exit_code == 0, done.output
    result = runner.invoke(app, ["export", "-w", str(copy), "--segment", "champions", "--to",
                                 "klaviyo", "--include-non-consenting", "-o",
                                 str(tmp_path / "c.csv")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "its predicted CLV is at a 40% margin over the next 12 months (the last analysis'; "
        "--margin 1 for revenue)"
    ) in " ".join(result.output.split())


@pytest.mark.parametrize("from_file", [True, False])
def test_a_summary_as_of_before_the_first_order_is_refused_not_an_empty_file(
    shop, tmp_path, from_file
):
    """As analyze refuses it: an empty file and exit 0 left the merchant to guess why."""
    folder, orders, workspace = shop
    source = [str(orders), "--map", MAPPING] if from_file else ["-w", str(workspace)]
    out = tmp_path / "s.csv"
    result = runner.invoke(app, ["summary", *source, "--as-of", "2023-06-01", "-o", str(out)])
    assert _one_line_error(result) == (
        "error: the as-of date 2023-06-01 is before the first order (2024-01-01): nothing to "
        "summarise (give a later --as-of)"
    )
    assert not out.exists()
