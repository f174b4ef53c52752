"""Files that used to change the numbers silently or hit a parser limit: mixed encodings, NUL
bytes, a header over 1 MiB, cells over Python's and Arrow's default limits, and paths that are
not regular files.  Each is generated here and run through the real ``valuecast`` command line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MIB = 1 << 20


def _expected(orders) -> dict[str, tuple]:
    """What the clean version of ``orders`` stores, by order number (plain amounts only)."""
    return {o["number"]: (o["email"].lower(), o["date"][:10], float(o["amount"])) for o in orders}


def _encoded_lines(text: str, encodings: dict[int, str]) -> bytes:
    """``text`` as UTF-8, except the lines (0 = header) given another encoding."""
    lines = text.splitlines(keepends=True)
    return b"".join(line.encode(encodings.get(i, "utf-8")) for i, line in enumerate(lines))


# -- paths that are not files ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind, fragment",
    [("directory", "is a directory, not a file"), ("device", "not a regular file")],
)
def test_a_directory_or_a_device_given_as_file_says_what_it_is(corpus, tmp_path, kind, fragment):
    if kind == "device" and not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero on this system")
    path = tmp_path if kind == "directory" else Path("/dev/zero")
    workspace = tmp_path / "ws.duckdb"
    corpus.one_error(corpus.ingest(path, workspace), path, None, None, fragment)
    assert not workspace.exists()


def test_a_folder_of_parquet_parts_is_ingested_as_one_table(corpus, tmp_path):
    import pandas as pd

    folder = tmp_path / "orders"
    for year, amounts in (("2024", [10.0, 5.0]), ("2025", [7.0])):
        (folder / f"year={year}").mkdir(parents=True)
        pd.DataFrame(
            {
                "order_id": [1, 1, 2][: len(amounts)] if year == "2024" else [2],
                "customer_id": ["a"] * len(amounts),
                "ordered_at": [f"{year}-03-01 10:00"] * len(amounts),
                "revenue": amounts,
            }
        ).to_parquet(folder / f"year={year}" / "part-0.parquet")
    found = corpus.report(corpus.ingest(folder, tmp_path / "ws.duckdb", "--json"))
    assert (found["rows_read"], found["orders"], found["net_revenue"]) == (3, 2, 22.0)
    empty = tmp_path / "empty"
    empty.mkdir()
    corpus.one_error(
        corpus.ingest(empty, tmp_path / "ws2.duckdb"), empty, None, None, "holds Parquet files"
    )
    # a copy kept in a subfolder that is no partition would count every order twice
    (folder / "backup").mkdir()
    (folder / "year=2024" / "part-0.parquet").rename(folder / "backup" / "part-0.parquet")
    corpus.one_error(
        corpus.ingest(folder, tmp_path / "ws3.duckdb"), folder, None, None,
        "Parquet files in backup/, which is not a partition folder",
    )  # fmt: skip


# -- encodings -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["shopify", "orders"])
@pytest.mark.parametrize("where", ["early", "past the first MiB"])
def test_a_utf8_file_with_a_windows_1252_row_is_an_error_naming_the_row(
    corpus, tmp_path, fmt, where
):
    orders = corpus.shop(3)
    if where != "early":  # the bad row after a head of pure UTF-8 that Arrow reads first
        orders += [
            corpus.order(5000 + k, f"x{k}@example.com", orders[0]["date"]) for k in range(30_000)
        ]
    for order in orders[:4]:
        order["product"] = "Crème brûlée"
    bad = len(orders) - 1 if where != "early" else 2  # the order written as Windows-1252
    orders[bad]["product"] = "Crème brûlée"
    text = corpus.render(fmt, orders)
    data = _encoded_lines(text, {bad + 1: "cp1252"})
    assert (data.index(b"\xe8") > MIB) == (where != "early")
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    workspace = tmp_path / "ws.duckdb"
    result = corpus.ingest(path, workspace)
    corpus.one_error(
        result, path, bad + 2, None, "not valid UTF-8 (byte 0xE8) while row 2 is UTF-8"
    )
    assert "save it as UTF-8" in result.output
    assert not workspace.exists()


# -- NUL bytes -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "place, row, column",
    [("before the header", 1, None), ("in the header", 1, None), ("in a cell", 4, "Email")],
)
def test_a_nul_byte_is_an_error_naming_its_row_and_column(corpus, tmp_path, place, row, column):
    text = corpus.render("shopify", corpus.shop(2))
    if place == "before the header":
        text = "\0" + text
    elif place == "in the header":
        text = text.replace("Financial Status", "Financial\0Status", 1)
    else:
        text = text.replace("c1@example.com", "c1@exam\0ple.com", 1)
    path = tmp_path / "orders_export.csv"
    path.write_text(text)
    workspace = tmp_path / "ws.duckdb"
    corpus.one_error(corpus.ingest(path, workspace), path, row, column, "NUL byte (0x00)")
    assert not workspace.exists()


# -- the header's and the cells' size ------------------------------------------------------------
def test_a_header_longer_than_1_mib_is_read_whole(corpus, tmp_path):
    """A header row whose first MiB ends just before text shaped like an order row (the extra
    column names are 120 characters each: under every cell and column limit)."""
    orders = corpus.shop(2)
    lines = corpus.render("orders", orders).splitlines(keepends=True)
    head = lines[0].rstrip("\r\n")
    while len(head) + 121 < MIB:
        head += "," + f"column {len(head)}".ljust(120, "x")
    head += "," + "x" * (MIB - len(head) - 2) + ","
    assert len(head) == MIB
    crafted = "9999,phantom@example.com,2024-01-05 10:00:00,999.00"
    lines[0] = head + crafted + "\r\n"
    path = tmp_path / "export.csv"
    path.write_text("".join(lines), newline="")
    workspace = tmp_path / "ws.duckdb"
    report = corpus.report(corpus.ingest(path, workspace, "--json"))
    assert report["orders"] == len(orders)
    assert corpus.stored_orders(workspace) == _expected(orders)


def test_a_million_columns_is_an_error_about_the_columns(corpus, tmp_path):
    names = ["order_id", "customer_id", "order_date", "revenue"]
    names += [f"c{i}" for i in range(1_000_000 - len(names))]
    row = ["1001", "a@example.com", "2024-01-01 10:00:00", "10.00"] + [""] * (len(names) - 4)
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n" + ",".join(row) + "\n")
    workspace = tmp_path / "ws.duckdb"
    result = corpus.ingest(path, workspace)
    corpus.one_error(result, path, 1, None, "the header has 1,000,000 columns (at most 10,000")
    assert not workspace.exists()


@pytest.mark.parametrize("fmt", ["shopify", "orders"])
def test_a_short_row_and_a_200_kb_cell_are_read_whole(corpus, tmp_path, fmt):
    """A row with fewer cells sends the file to Python's csv module, whose default cell limit
    is 131,072 characters."""
    orders = corpus.shop(2)
    orders[1]["product"] = "y" * 200_000
    lines = corpus.render(fmt, orders).splitlines(keepends=True)
    lines[1] = lines[1].rstrip("\r\n").rsplit(",", 1)[0] + "\r\n"  # one cell short
    path = tmp_path / "export.csv"
    path.write_text("".join(lines), newline="")
    workspace = tmp_path / "ws.duckdb"
    report = corpus.report(corpus.ingest(path, workspace, "--json"))
    assert report["orders"] == len(orders)
    assert corpus.stored_orders(workspace) == _expected(orders)
    state = corpus.state(workspace)
    cells = [row[3] for row in state["order_lines"]] + [row[15] for row in state["orders"]]
    assert 200_000 in {len(cell) for cell in cells if cell}


def test_a_cell_larger_than_the_16_mib_parse_block_is_read_whole(corpus, tmp_path):
    """17 MiB: past Arrow's 16 MiB parse block and Python's cell limit (a 100 MB cell takes the
    same route, only slower)."""
    orders = corpus.shop(2)
    size = 17 * MIB
    orders[1]["product"] = "z" * size
    path = corpus.write(tmp_path / "export.csv", "shopify", orders)
    assert os.path.getsize(path) > 17 * MIB
    workspace = tmp_path / "ws.duckdb"
    report = corpus.report(corpus.ingest(path, workspace, "--json"))
    assert report["orders"] == len(orders)
    assert corpus.stored_orders(workspace) == _expected(orders)
    state = corpus.state(workspace)
    cells = [row[3] for row in state["order_lines"]] + [row[15] for row in state["orders"]]
    assert size in {len(cell) for cell in cells if cell}
