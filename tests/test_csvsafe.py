"""The formula-safe cell rule of every CSV valuecast writes (csvsafe, outputs.files)."""

from __future__ import annotations

import csv
import io

import ibis
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valuecast.csvsafe import (
    escape_arrow,
    escape_cell,
    escape_frame,
    escape_ibis,
    unescape_cell,
    unescape_frame,
)
from valuecast.jobs.fit_file import read_summary
from valuecast.outputs.files import csv_text, write_arrow_csv, write_csv, write_ibis_csv


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil.example")', '\'=HYPERLINK("http://evil.example")'),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
        ("+1", "'+1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-john@x.com", "'-john@x.com"),  # a legitimate e-mail: escaped, read back as itself
        ("+4412345", "'+4412345"),  # a phone in a text column stays text
        ("'=x", "''=x"),  # already apostrophed: one more, so reading back is exact
        ("'abc", "'abc"),  # an apostrophe before ordinary text is the text itself
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_a_text_cell_is_escaped_and_read_back_as_written(value, written):
    assert escape_cell(value) == written
    assert unescape_cell(written) == value


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="'=+-@\t\rab1 ", max_size=6), min_size=1, max_size=8))
def test_every_writer_applies_the_same_rule_and_reading_undoes_it(values):
    """pandas, Arrow and DuckDB escape exactly as escape_cell does; unescape_cell inverts it."""
    expected = [escape_cell(v) for v in values]
    assert [unescape_cell(v) for v in expected] == values
    assert all(not e.startswith(("=", "+", "-", "@", "\t", "\r")) for e in expected)
    frame = pd.DataFrame({"text": values})
    assert escape_frame(frame)["text"].tolist() == expected
    assert unescape_frame(escape_frame(frame))["text"].tolist() == values
    assert escape_arrow(pa.table({"text": values}))["text"].to_pylist() == expected
    escaped = escape_ibis(ibis.memtable({"text": values})).to_pyarrow()
    assert escaped["text"].to_pylist() == expected


def test_numbers_stay_numbers_and_names_are_escaped(tmp_path):
    """Number columns are never prefixed (-12.5 stays -12.500000); column names follow the
    rule."""
    frame = pd.DataFrame(
        {
            "amount": [-12.5, 3.0],
            "count": pd.array([-1, None], dtype="Int64"),
            "=name": ["-john@x.com", None],
            "mixed": pd.Series([pd.Timestamp("2024-01-01"), "@x"], dtype=object),
            "channel": pd.Categorical(["=a", "b"]),
        }
    )
    table = pa.table({"amount": [-12.5, 3.0], "=name": ["-john@x.com", None]})
    write_csv(frame, tmp_path / "pandas.csv")
    write_arrow_csv(table, tmp_path / "arrow.csv")
    con = ibis.duckdb.connect()
    write_ibis_csv(con, ibis.memtable(table), tmp_path / "duckdb.csv")
    rows = {}
    for name in ("pandas", "arrow", "duckdb"):
        with (tmp_path / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
            rows[name] = list(csv.reader(handle))
    assert rows["pandas"] == [
        ["amount", "count", "'=name", "mixed", "channel"],
        ["-12.500000", "-1", "'-john@x.com", "2024-01-01 00:00:00", "'=a"],
        ["3.000000", "", "", "'@x", "b"],
    ]
    for name in ("arrow", "duckdb"):  # every writer writes a number with its column's places
        assert rows[name] == [
            ["amount", "'=name"], ["-12.500000", "'-john@x.com"], ["3.000000", ""]
        ]  # fmt: skip
    assert csv_text(frame) == (tmp_path / "pandas.csv").read_text(encoding="utf-8")


def test_fit_reads_back_the_ids_summary_wrote(tmp_path):
    """`valuecast fit` reads a summary CSV valuecast wrote with the values it was given."""
    frame = pd.DataFrame(
        {"customer_id": ["-john@x.com", "'=x", "a@x.com"], "frequency": [1, 0, 2],
         "recency": [10.0, 0.0, 20.0], "T": [30.0, 30.0, 40.0]}
    )  # fmt: skip
    write_csv(frame, tmp_path / "summary.csv")
    assert "'-john@x.com" in (tmp_path / "summary.csv").read_text()
    read = read_summary(tmp_path / "summary.csv")
    assert read["customer_id"].tolist() == ["-john@x.com", "'=x", "a@x.com"]
    assert read["frequency"].tolist() == [1, 0, 2]


def test_the_escaped_cell_is_one_quoted_field(tmp_path):
    """A payload with commas, quotes and a line break stays one cell (CSV quoting)."""
    payload = '=1+2";=HYPERLINK("http://evil.example"),\n=3'
    write_csv(pd.DataFrame({"a": [payload], "b": [1]}), tmp_path / "x.csv")
    text = (tmp_path / "x.csv").read_text(encoding="utf-8")
    assert list(csv.reader(io.StringIO(text))) == [["a", "b"], ["'" + payload, "1"]]


def test_arrow_csv_rounds_each_chunk_and_keeps_missing_values_empty(tmp_path):
    """Rounded as NumPy rounds (127.42999999999999 is 127.43), a missing value an empty cell
    wherever it lies, in a column of several chunks or without any missing value."""
    table = pa.table(
        {
            "predicted_clv": pa.chunked_array([[127.42999999999999, None], [None, 2.675, 1.0]]),
            "probability_alive": [0.1234567, 0.5, 1.0, 0.25, 0.9999996],
        }
    )
    write_arrow_csv(table, tmp_path / "customers.csv")
    with (tmp_path / "customers.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[1:] == [
        ["127.43", "0.123457"], ["", "0.500000"], ["", "1.000000"], ["2.68", "0.250000"],
        ["1.00", "1.000000"],
    ]  # fmt: skip
