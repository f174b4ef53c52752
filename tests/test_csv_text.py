"""The CSV text made by Arrow is pandas' ``to_csv`` text, byte for byte."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valuecast.csvsafe import escape_frame
from valuecast.outputs import csvtext
from valuecast.outputs.files import rounded_for_csv, write_csv, written_cells

TEXT = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.sampled_from(["a,b", 'say "hi"', "two\nlines", "cr\rcell", "", " pad ", "=1+2", "é"]),
)
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1.0, -0.0, 1e-5, 1.5e-6, 1e13, 123456789012345.0, 9999999999999998.0,
                     1e16, 3.5e-7, 0.0001, 0.076748, 2.5]),
)  # fmt: skip

COLUMNS = st.sampled_from(["float", "int", "bool", "text", "Int64", "boolean", "string"])


@st.composite
def frames(draw) -> pd.DataFrame:
    rows = draw(st.integers(0, 12))
    kinds = draw(st.lists(COLUMNS, min_size=2, max_size=4))
    names = draw(st.lists(st.text(max_size=5), min_size=len(kinds), max_size=len(kinds)))
    data = {}
    for index, kind in enumerate(kinds):
        name = f"{names[index]}{index}"
        if kind == "float":
            data[name] = pd.Series(
                draw(st.lists(FLOATS, min_size=rows, max_size=rows)), dtype="float64"
            )
        elif kind == "int":
            values = draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=rows, max_size=rows))
            data[name] = pd.Series(values, dtype="int64")
        elif kind == "bool":
            data[name] = pd.Series(
                draw(st.lists(st.booleans(), min_size=rows, max_size=rows)), dtype=bool
            )
        elif kind == "text":
            data[name] = pd.Series(draw(st.lists(TEXT, min_size=rows, max_size=rows)), dtype=object)
        elif kind == "Int64":
            values = draw(
                st.lists(
                    st.one_of(st.none(), st.integers(-(10**12), 10**12)),
                    min_size=rows,
                    max_size=rows,
                )
            )
            data[name] = pd.Series(values, dtype="Int64")
        elif kind == "boolean":
            values = draw(
                st.lists(st.one_of(st.none(), st.booleans()), min_size=rows, max_size=rows)
            )
            data[name] = pd.Series(values, dtype="boolean")
        else:
            values = draw(
                st.lists(st.one_of(st.none(), st.text(max_size=6)), min_size=rows, max_size=rows)
            )
            data[name] = pd.Series(values, dtype="string")
    return pd.DataFrame(data)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(frames(), st.sampled_from([1, 3, 65_536]))
def test_the_text_is_pandas_to_csv(frame, rows_at_a_time):
    original = csvtext.ROWS_AT_A_TIME
    csvtext.ROWS_AT_A_TIME = rows_at_a_time  # chunks of every size join into the same text
    try:
        chunks = csvtext.csv_chunks(frame)
        assert chunks is not None
        text = b"".join(chunks)
    finally:
        csvtext.ROWS_AT_A_TIME = original
    assert text == frame.to_csv(index=False).encode("utf-8")


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"only": ["a", "", None]}),  # pandas quotes an empty cell alone on its line
        pd.DataFrame({"when": pd.to_datetime(["2024-01-01"]), "n": [1]}),
        pd.DataFrame({"mixed": ["a", 1], "n": [1, 2]}),
        pd.DataFrame({"small": np.array([1.5], np.float32), "n": [1]}),
        pd.DataFrame({1: ["a"], "n": [1]}),
    ],
)
def test_other_columns_are_left_to_pandas(frame, tmp_path):
    assert csvtext.csv_chunks(frame) is None
    write_csv(frame, tmp_path / "f.csv")
    # pandas writes the cells valuecast writes (a float32's number with its column's places)
    assert (tmp_path / "f.csv").read_text() == written_cells(frame).to_csv(index=False)


def test_write_csv_keeps_the_rounding_and_the_formula_rule(tmp_path):
    # a negative zero is written as 0.00: rounding takes the sign off a zero (-0.001 is 0.00)
    frame = pd.DataFrame(
        {"customer_id": ["=cmd", "a,b", None], "score": [0.12345678, np.nan, 2.0],
         "predicted_clv": [10.005, 3.333333, -0.0], "rank": [1, 2, 3]}
    )  # fmt: skip
    write_csv(frame, tmp_path / "f.csv")
    assert (tmp_path / "f.csv").read_text() == (
        'customer_id,score,predicted_clv,rank\n\'=cmd,0.123457,10.01,1\n"a,b",,3.33,2\n'
        ",2.000000,0.00,3\n"
    )


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.none(), st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31))
        ),
        max_size=12,
    ),
    unit=st.sampled_from(["s", "us", "ns"]),
)
def test_date_columns_are_written_as_strftime_writes_them(values, unit, tmp_path_factory):
    if unit == "ns":  # nanoseconds reach 1677-2262 only
        values = [v if v is None or 1678 <= v.year <= 2261 else None for v in values]
    dates = pd.Series(pd.array(values, dtype=f"datetime64[{unit}]"))
    frame = pd.DataFrame({"due_date": dates, "n": range(len(dates))})
    path = tmp_path_factory.mktemp("dates") / "f.csv"
    write_csv(frame, path)
    by_strftime = dates.dt.strftime("%Y-%m-%d").where(dates.notna(), None)
    assert path.read_text() == frame.assign(due_date=by_strftime).to_csv(index=False)


def test_downloads_are_the_files_text(tmp_path):
    from valuecast.outputs.files import csv_text

    frame = pd.DataFrame(
        {"Email": ["=a@x.com", "b@x.com", None], "predicted_clv": [1.005, 2.0, np.nan],
         "due_date": pd.to_datetime(["2024-01-05", None, "2024-02-01"]), "n": [1, 2, 3]}
    )  # fmt: skip
    write_csv(frame, tmp_path / "f.csv")
    assert csv_text(frame) == (tmp_path / "f.csv").read_text(encoding="utf-8")
    # the frame as csv_text writes it (dates made text) is made text by Arrow
    assert csvtext.csv_chunks(escape_frame(rounded_for_csv(frame))) is not None


def test_a_frame_filtered_or_sorted_keeps_its_cells(tmp_path):
    """The cells made text by Arrow (dates, numbers, booleans) stay in their rows whatever the
    frame's index: a frame filtered or sorted is not numbered 0, 1, ..."""
    frame = pd.DataFrame(
        {"due_date": pd.to_datetime(["2024-01-05", "2024-02-01"]), "score": [0.5, 2.0],
         "kept": [True, False], "n": [1, 2]},
        index=[7, 3],
    )  # fmt: skip
    write_csv(frame, tmp_path / "f.csv")
    assert (tmp_path / "f.csv").read_text() == (
        "due_date,score,kept,n\n2024-01-05,0.500000,true,1\n2024-02-01,2.000000,false,2\n"
    )
