"""Bad files: empty, header only, other delimiters and encodings, huge or multi-line cells, and a
missing column.  Each is generated here and run through the real ``valuecast`` command line."""

from __future__ import annotations

import codecs
import csv
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
    assert "export.csv: no rows after its header: nothing read from it" in report["notes"]
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


def _ingest_lines(corpus, folder, lines: list[str], fmt: str):
    """``lines`` written as folder/export.csv and ingested as ``fmt`` into folder/ws.duckdb:
    (file, workspace, result)."""
    path = folder / "export.csv"
    path.write_text("\n".join(lines) + "\n")
    workspace = folder / "ws.duckdb"
    return path, workspace, corpus.ingest(path, workspace, "--format", fmt)


def _open_quote(line: str) -> str:
    """The line with its last cell opened by a quote that nothing closes."""
    cut = line.rindex(",") + 1
    return line[:cut] + '"' + line[cut:]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unclosed_quote_is_one_error_not_lost_rows(corpus, tmp_path, fmt):
    # both parsers read everything after an unclosed quote as that one cell: the orders on the
    # lines after it would vanish from the count, the report and the analysis
    lines = corpus.render(fmt, corpus.shop(4)).splitlines()
    last_column = next(csv.reader([lines[0]]))[-1]
    lines[3] = _open_quote(lines[3])
    path, workspace, result = _ingest_lines(corpus, tmp_path, lines, fmt)
    corpus.one_error(result, path, 4, last_column, "is never closed, so the 5 lines after it")
    assert not workspace.exists()
    # on the last line: the file ends inside the cell (a download cut off mid-cell)
    lines = corpus.render(fmt, corpus.shop(4)).splitlines()
    lines[-1] = _open_quote(lines[-1])
    path.write_text("\n".join(lines))
    result = corpus.analyze(path, workspace, tmp_path / "out")
    corpus.one_error(result, path, len(lines), last_column, "the file ends inside it")
    assert not workspace.exists()


def test_a_quote_inside_an_unquoted_cell_is_text(corpus, tmp_path):
    # an odd number of quotes is not proof of an unclosed one: 12" is an inch mark here
    orders = corpus.shop(2)
    orders[1]["product"] = "Pizza stone 12 inch round"
    path = tmp_path / "export.csv"
    path.write_text(corpus.render("shopify", orders).replace("12 inch", '12"'))  # as written raw
    assert path.read_text().count('"') % 2 == 1
    workspace = tmp_path / "ws.duckdb"
    corpus.report(corpus.ingest(path, workspace, "--json"))
    assert corpus.stored_orders(workspace) == _expected(corpus, orders)
    products = {row[3] for row in corpus.state(workspace)["order_lines"]}
    assert 'Pizza stone 12" round' in products


def test_an_unclosed_quote_in_a_large_file_is_the_same_error(corpus, tmp_path):
    """Files over 1 MiB are parsed by DuckDB where they are clean: this one must not be."""
    lines = corpus.render("orders", corpus.large_shop()).splitlines()
    lines[20_001] = _open_quote(lines[20_001])
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 1 << 20
    fragment = f"so the {len(lines) - 20_002} lines after it"
    column = next(csv.reader([lines[0]]))[-1]
    result = corpus.ingest(path, tmp_path / "ws.duckdb", "--format", "orders")
    corpus.one_error(result, path, 20_002, column, fragment)
    result = corpus.invoke("summary", path, "--format", "orders", "--out", tmp_path / "s.csv")
    corpus.one_error(result, path, 20_002, column, fragment)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_cut_off_mid_row_is_read_with_a_note(corpus, tmp_path, fmt):
    # the last row lacks its last cells and the file its last line break: an interrupted
    # download; the row is read as it is (its cells may be whole) and the report says so
    orders = corpus.shop(2)
    text = corpus.render(fmt, orders).rstrip("\r\n")
    path = tmp_path / "export.csv"
    path.write_text(text[: text.rindex(",")])
    workspace = tmp_path / "ws.duckdb"
    report = corpus.report(corpus.ingest(path, workspace, "--format", fmt, "--json"))
    header = text.splitlines()[0].count(",") + 1
    note = f"the last row has {header - 1} of the header's {header} cells and no line break"
    assert any(note in line for line in report["files"][0]["notes"]), report["files"][0]
    assert corpus.stored_orders(workspace) == _expected(corpus, orders)
    # a whole last row without the line break is only a file written without one
    path.write_text(text)
    report = corpus.report(corpus.ingest(path, tmp_path / "ws2.duckdb", "--format", fmt, "--json"))
    assert not any("last row" in line for line in report["files"][0]["notes"])


def test_a_large_file_cut_off_mid_row_gets_the_same_note(corpus, tmp_path):
    """Over 1 MiB an orders file is tried by DuckDB first: the note must not depend on it."""
    orders = corpus.large_shop()
    text = corpus.render("orders", orders).rstrip("\r\n")
    path = tmp_path / "orders.csv"
    path.write_text(text[: text.rindex(",")])
    assert path.stat().st_size > 1 << 20
    report = corpus.report(corpus.ingest(path, tmp_path / "ws.duckdb", "--json"))
    assert report["orders"] == len(orders)
    assert any("no line break after it" in note for note in report["files"][0]["notes"])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("given", [(), ("--format",)])
def test_a_reports_title_above_the_header_is_skipped_with_a_note(corpus, tmp_path, fmt, given):
    """An export saved as a report, with a title and its date above the header and a blank line,
    is read from the header on (detected, or as the format given), the title rows counted."""
    orders = corpus.shop(2)
    path = tmp_path / "export.csv"
    path.write_text("Sales report\nExported 2024-05-01\n\n" + corpus.render(fmt, orders))
    options = (*given, fmt) if given else ()
    report = corpus.report(corpus.ingest(path, tmp_path / "ws.duckdb", *options, "--json"))
    note = "2 rows above the header (row 4) read as a report's title, not data: skipped"
    assert note in report["files"][0]["notes"], report["files"][0]
    assert corpus.stored_orders(tmp_path / "ws.duckdb") == _expected(corpus, orders)


def test_a_large_report_with_a_title_gets_the_same_note(corpus, tmp_path):
    """Over 1 MiB an orders file is tried by DuckDB first: the title must not reach it."""
    orders = corpus.large_shop()
    path = tmp_path / "orders.csv"
    path.write_text("Sales report\n\n" + corpus.render("orders", orders))
    assert path.stat().st_size > 1 << 20
    report = corpus.report(corpus.ingest(path, tmp_path / "ws.duckdb", "--json"))
    assert report["orders"] == len(orders)
    assert (
        "row above the header (row 3) read as a report's title, not data: skipped"
        in (report["files"][0]["notes"])
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_column_named_twice_is_one_error_when_it_is_read(corpus, tmp_path, fmt):
    lines = corpus.render(fmt, corpus.shop(2)).splitlines()
    # a second amount column (the platform's own name) holding other numbers
    doubled = [lines[0] + "," + corpus.AMOUNT[fmt]] + [line + ",0" for line in lines[1:]]
    path = tmp_path / "export.csv"
    path.write_text("\n".join(doubled) + "\n")
    workspace = tmp_path / "ws.duckdb"
    result = corpus.ingest(path, workspace, "--format", fmt)
    header = next(csv.reader([lines[0]]))
    where = f"columns {header.index(corpus.AMOUNT[fmt]) + 1} and {len(header) + 1} share this name"
    corpus.one_error(result, path, 1, corpus.AMOUNT[fmt], where)
    assert not workspace.exists()
    # a name repeated on columns no importer reads is no one's concern
    unread = [lines[0] + ",Internal memo,internal memo"] + [line + ",a,b" for line in lines[1:]]
    path.write_text("\n".join(unread) + "\n")
    corpus.report(corpus.ingest(path, workspace, "--format", fmt, "--json"))
    assert corpus.stored_orders(workspace) == _expected(corpus, corpus.shop(2))


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
    path, workspace, result = _ingest_lines(corpus, tmp_path, kept, fmt)
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


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"PK\x03\x04" + bytes(64), "a zip archive (an .xlsx workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "an Excel 97-2003 workbook (.xls)"),
        (b"\x1f\x8b\x08" + bytes(64), "gzip-compressed"),
        (b"PAR1" + bytes(64), "a Parquet file: give it a .parquet name"),
        (b'\xef\xbb\xbf <?xml version="1.0"?>\n<Workbook>', "an XML document"),
        (b"<!DOCTYPE html><html><body>Log in</body></html>", "a web page (HTML)"),
    ],
)
@pytest.mark.parametrize("large", [False, True])  # over 1 MiB: the route DuckDB loads
def test_a_workbook_archive_or_document_given_as_an_export_says_what_it_is(
    corpus, tmp_path, content, fragment, large
):
    path = tmp_path / "orders.csv"
    path.write_bytes(content + (b"x" * (2 << 20) if large else b""))
    workspace = tmp_path / "ws.duckdb"
    corpus.one_error(corpus.ingest(path, workspace), path, None, None, fragment)
    mapped = corpus.analyze(path, workspace, tmp_path / "out", "--map",
                            "customer_id=a,ordered_at=b,revenue=c")  # fmt: skip
    corpus.one_error(mapped, path, None, None, "this is ")
    assert not workspace.exists()


@pytest.mark.parametrize("label", ["Total", "TOTALS:", ""])
def test_a_totals_row_at_the_end_is_named_as_one_in_the_error(corpus, tmp_path, label):
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,order_date,revenue\na@x.com,2024-01-01,10\nb@x.com,2024-01-02,\"$1,020.50\"\n"
        f"{label},,\"$1,030.50\"\n"
    )  # fmt: skip
    result = corpus.ingest(path, tmp_path / "ws.duckdb")
    corpus.one_error(result, path, 4, "order_date", "it looks like a totals row")
    # a last order missing its date is not one: it names a customer
    path.write_text("customer_id,order_date,revenue\na@x.com,2024-01-01,10\nb@x.com,,20\n")
    result = corpus.ingest(path, tmp_path / "ws.duckdb")
    corpus.one_error(result, path, 3, "order_date", "value is missing")
    assert "totals row" not in result.output


def test_a_header_row_pasted_again_is_named_in_the_error(corpus, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,order_date,revenue\na@x.com,2024-01-01,10\n"
        "customer_id,order_date,revenue\nb@x.com,2024-01-02,20\n"
    )  # fmt: skip
    result = corpus.ingest(path, tmp_path / "ws.duckdb")
    corpus.one_error(result, path, 3, "order_date", "the row repeats the header")


def test_a_tills_walk_in_customer_is_a_guest_not_the_best_customer(corpus, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text(
        "customer_id,order_date,revenue\nWALKIN,2024-01-01,10\nWALKIN,2024-01-02,20\n"
        "Walk-in,2024-01-03,5\na@x.com,2024-01-04,30\n"
    )  # fmt: skip
    report = corpus.report(corpus.ingest(path, tmp_path / "ws.duckdb", "--json"))
    assert report["guest_orders"] == 3 and report["customers"] == 1


def test_an_export_split_inside_an_order_names_the_file_the_order_begins_in(corpus, tmp_path):
    orders = [corpus.order("1001", "a@x.com", date(2024, 1, 5), product="Mug"),
              corpus.order("1002", "b@x.com", date(2024, 1, 6))]  # fmt: skip
    text = corpus.render("shopify", orders)
    lines = text.splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    first = tmp_path / "part1.csv"
    second = tmp_path / "part2.csv"
    # Shopify writes one row per line item: order 1002's second line, cut off into part 2
    first.write_text(header + "".join(rows))
    continued = rows[-1].rstrip("\n").split(",")
    continued[1:] = [""] * (len(continued) - 1)  # a later line: no order-level fields
    second.write_text(header + ",".join(continued) + "\n")
    result = corpus.ingest([first, second], tmp_path / "ws.duckdb")
    corpus.one_error(result, second, 2, "Created at", "order 1002 begins in part1.csv")
    assert "order 1002 begins in part1.csv: the export was split inside an order" in " ".join(
        result.output.split()
    )
