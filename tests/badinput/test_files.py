"""Bad files: empty, header only, other delimiters and encodings, huge or multi-line cells, and a
missing column.  Each is generated here and run through the real ``valuecast`` command line."""

from __future__ import annotations

import codecs
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

FORMATS = ["shopify", "orders", "magento", "woocommerce"]


def rotate(values: list) -> list[tuple[str, object]]:
    """(format, value) pairs in which every format and every value occur at least once: each
    case runs on every format without the full cross product (each run is a real command line
    with a DuckDB workspace, so the corpus stays fast)."""
    count = max(len(values), len(FORMATS))
    return [(FORMATS[i % len(FORMATS)], values[i % len(values)]) for i in range(count)]


def _expected(corpus, orders) -> dict[str, tuple]:
    """What the clean comma/UTF-8 version of ``orders`` stores, by order number."""
    return {
        o["number"]: (
            o["email"].lower() if "@" in o["email"] else o["email"],
            o["date"][:10],
            float(o["amount"].replace(",", "")),
        )
        for o in orders
    }


@pytest.mark.parametrize("fmt, content", [(None, b""), (None, b"   \r\n\n  \t\n"), *rotate([b""])])
def test_an_empty_file_is_one_error_and_no_workspace(corpus, tmp_path, fmt, content):
    path = tmp_path / "orders_export.csv"
    path.write_bytes(content)
    workspace = tmp_path / "ws.duckdb"
    options = [] if fmt is None else ["--format", fmt]
    result = corpus.ingest(path, workspace, *options)
    corpus.one_error(result, path, None, None, "the file is empty (no header row)")
    assert not workspace.exists()
    if fmt is None:
        result = corpus.analyze(path, workspace, tmp_path / "out")
        corpus.one_error(result, path, None, None, "the file is empty (no header row)")
        assert not workspace.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt", ["shopify", "orders", "magento", "woocommerce"])
def test_a_header_only_file_ingests_zero_orders_and_analyze_says_why(corpus, tmp_path, fmt):
    path = corpus.write(tmp_path / "export.csv", fmt, [])
    workspace = tmp_path / "ws.duckdb"
    options = ["--format", fmt] if fmt == "orders" else []
    report = corpus.report(corpus.ingest(path, workspace, *options, "--json"))
    assert report["rows_read"] == 0 and report["orders"] == 0
    assert report["files"][0]["format"] == fmt
    assert report["excluded_rows"] == {}
    if fmt != "shopify":  # analyze sees the same empty workspace whatever the format was
        return
    # nothing to analyse: one line, and the failed analysis leaves the workspace as it was
    before = corpus.state(workspace)
    result = corpus.analyze(None, workspace, tmp_path / "out")
    corpus.no_traceback(result)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "nothing to" in lines[0]
    assert corpus.state(workspace) == before


@pytest.mark.parametrize("fmt, delimiter", rotate([";", "\t"]))
def test_semicolon_and_tab_files_read_like_comma_files(corpus, tmp_path, fmt, delimiter):
    orders = corpus.shop()
    path = corpus.write(tmp_path / "export.csv", fmt, orders, delimiter=delimiter)
    workspace = tmp_path / "ws.duckdb"
    report = corpus.report(corpus.ingest(path, workspace, "--json"))
    assert report["files"][0]["format"] == fmt
    assert corpus.stored_orders(workspace) == _expected(corpus, orders)


@pytest.mark.parametrize("fmt", ["shopify", "orders", "magento", "woocommerce"])
def test_european_excel_semicolons_with_decimal_commas(corpus, tmp_path, fmt):
    """A spreadsheet in a decimal-comma locale writes ``;`` between cells and ``1.234,50``."""
    orders = [corpus.order(1, "a@x.com", date(2024, 1, 2), "1.234,50"),
              corpus.order(2, "b@x.com", date(2024, 1, 3), "12,00")]  # fmt: skip
    path = corpus.write(tmp_path / "export.csv", fmt, orders, delimiter=";")
    workspace = tmp_path / "ws.duckdb"
    corpus.report(corpus.ingest(path, workspace, "--json"))
    stored = corpus.stored_orders(workspace)
    assert stored["1"][2] == 1234.5 and stored["2"][2] == 12.0


ENCODINGS = {
    "utf-8-bom": lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
    "utf-16": lambda text: text.encode("utf-16"),  # BOM and little-endian, as Excel writes it
    "utf-16-be": lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    "latin-1": lambda text: text.encode("latin-1"),
    "cp1252": lambda text: text.encode("cp1252"),
}


@pytest.mark.parametrize("fmt, encoding", [*rotate(list(ENCODINGS)), ("shopify", "utf-16")])
def test_encodings_give_the_same_orders_and_names(corpus, tmp_path, fmt, encoding):
    orders = corpus.shop(3)
    # a non-ASCII name every encoding here can write, in a cell the importer stores
    orders[0]["product"] = "Crème brûlée für Zoë"
    if fmt == "orders":
        orders[0]["email"] = orders[2]["email"] = "José Müller"  # a customer id, not an e-mail
    path = tmp_path / "export.csv"
    path.write_bytes(ENCODINGS[encoding](corpus.render(fmt, orders)))
    workspace = tmp_path / "ws.duckdb"
    report = corpus.report(corpus.ingest(path, workspace, "--json"))
    assert report["files"][0]["format"] == fmt  # the BOM did not hide the first column's name
    assert corpus.stored_orders(workspace) == _expected(corpus, orders)
    state = corpus.state(workspace)
    names = {row[3] for row in state["order_lines"]} | {row[15] for row in state["orders"]}
    if fmt in ("shopify", "woocommerce"):
        assert "Crème brûlée für Zoë" in names
    if fmt == "orders":
        assert "Crème brûlée für Zoë" in names  # the channel cell


@pytest.mark.parametrize("fmt", ["shopify", "orders"])
def test_a_10_mb_cell_is_read_whole(corpus, tmp_path, fmt):
    orders = corpus.shop(2)
    orders[1]["product"] = "x" * 10_000_000
    path = corpus.write(tmp_path / "export.csv", fmt, orders)
    workspace = tmp_path / "ws.duckdb"
    report = corpus.report(corpus.ingest(path, workspace, "--json"))
    assert report["orders"] == len(orders)
    assert corpus.stored_orders(workspace) == _expected(corpus, orders)
    state = corpus.state(workspace)
    cells = [row[3] for row in state["order_lines"]] + [row[15] for row in state["orders"]]
    assert 10_000_000 in {len(cell) for cell in cells if cell}


@pytest.mark.parametrize("fmt", ["shopify", "orders", "magento", "woocommerce"])
def test_quoted_newlines_stay_in_their_cell_and_rows_count_records(corpus, tmp_path, fmt):
    orders = corpus.shop(2)
    orders[0]["product"] = 'two\nlines, a comma and "quotes"'
    if fmt == "magento":  # no product cell: a multi-line note in a column the importer skips
        orders[0]["extra"] = {"shipping_description": "ring twice\nthen wait"}
    path = corpus.write(tmp_path / "export.csv", fmt, orders)
    workspace = tmp_path / "ws.duckdb"
    corpus.report(corpus.ingest(path, workspace, "--json"))
    assert corpus.stored_orders(workspace) == _expected(corpus, orders)
    if fmt in ("shopify", "woocommerce"):
        products = {row[3] for row in corpus.state(workspace)["order_lines"]}
        assert 'two\nlines, a comma and "quotes"' in products
    # an error after the multi-line cell names the row a spreadsheet shows (records, not lines)
    orders[2]["amount"] = "twelve"
    bad = corpus.write(tmp_path / "bad.csv", fmt, orders)
    before = corpus.state(workspace)
    result = corpus.ingest(bad, workspace)
    corpus.one_error(result, bad, 4, corpus.AMOUNT[fmt], "cannot read 'twelve' as an amount")
    assert corpus.state(workspace) == before


MISSING = {
    # format -> (column removed, the name the error gives it)
    "shopify": ("Subtotal", "Subtotal"),
    "orders": ("order_date", "ordered_at"),
    "magento": ("created_at", "created_at"),
    "woocommerce": ("order_total", "order_total"),
}


@pytest.mark.parametrize("fmt", ["shopify", "orders", "magento", "woocommerce"])
def test_a_missing_required_column_names_it(corpus, tmp_path, fmt):
    removed, named = MISSING[fmt]
    text = corpus.render(fmt, corpus.shop(2))
    lines = text.splitlines()
    header = lines[0].split(",")
    index = header.index(removed)
    kept = [",".join(c for i, c in enumerate(line.split(",")) if i != index) for line in lines]
    path = tmp_path / "export.csv"
    path.write_text("\n".join(kept) + "\n")
    workspace = tmp_path / "ws.duckdb"
    result = corpus.ingest(path, workspace, "--format", fmt)
    corpus.one_error(result, path, 1, named, "required column is missing")
    assert not workspace.exists()
    # detected instead of forced: either the format is still recognised (and the column named)
    # or the header matches no format, which says so and asks for --format
    result = corpus.ingest(path, workspace)
    corpus.no_traceback(result)
    assert result.exit_code == 2 and not workspace.exists()
    line = [line for line in result.output.splitlines() if line.strip()]
    assert len(line) == 1 and line[0].startswith(f"error: {path}, row 1")
    assert "required column is missing" in line[0] or "give --format" in line[0]


def test_a_bad_file_through_the_installed_command(corpus, tmp_path):
    """End to end in a real process: stderr has one line, exit code 2, nothing written."""
    orders = corpus.shop(2)
    orders[1]["date"] = "31/31/2024"
    path = corpus.write(tmp_path / "orders_export.csv", "shopify", orders)
    workspace = tmp_path / "ws.duckdb"
    script = Path(sys.executable).with_name("valuecast")  # the console script pip installed
    if not script.exists():
        pytest.skip("the valuecast console script is not installed next to this Python")
    command = [str(script), "ingest", str(path), "-w", str(workspace)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"error: {path}, row 3, column 'Created at': cannot read '31/31/2024' as a date "
        "(expected e.g. 2024-03-05 23:30:00 -0500)"
    ]
    assert not workspace.exists()
