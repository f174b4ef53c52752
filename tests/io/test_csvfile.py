"""Robust CSV reading: encodings, delimiters, quoting, row numbers, money and dates."""

from __future__ import annotations

import codecs
import re
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from valuecast.io import csvfile
from valuecast.io.csvfile import open_csv, open_header
from valuecast.io.schema import InputError

TEXT = 'Name,Amount,Note\n#1,"1,234.50",café\n#2,7,"two\nlines, quoted ""here"""\n'


@pytest.mark.parametrize(
    "encoded",
    [
        TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),
        TEXT.encode("utf-16"),  # with BOM, little-endian on this platform
        codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
        TEXT.encode("cp1252"),
        TEXT.replace("\n", "\r\n").encode("utf-8"),
    ],
    ids=["utf8", "utf8-bom", "utf16", "utf16-be", "cp1252", "crlf"],
)
def test_encodings(tmp_path, encoded):
    path = tmp_path / "f.csv"
    path.write_bytes(encoded)
    csv = open_csv(path)
    assert csv.header == ["Name", "Amount", "Note"]
    table = csv.read()
    assert table.text_series("Note").tolist()[0] == "café"
    assert (
        table.text_series("Note").tolist()[1].replace("\r\n", "\n") == 'two\nlines, quoted "here"'
    )
    assert table.money("Amount").tolist() == [1234.5, 7.0]


def test_a_byte_cp1252_leaves_undefined_is_another_code_page(tmp_path):
    """No Western Windows file holds the five bytes 1252 does not define: they were read as
    Latin-1 controls, but are Shift-JIS' lead bytes and Windows-1250's Ź, Ť and ť."""
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,x\x81y\n")
    with pytest.raises(InputError) as caught:
        open_csv(path).read()
    assert caught.value.row == 2
    assert "not UTF-8, and read as Windows-1252 (Western Europe) its text 'x\\x81y'" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("encoding", "name", "read_as"),
    [
        ("cp1250", "Małgorzata Żółkiewska", "Ma³gorzata ¯ó³kiewska"),
        ("cp1250", "Łukasz", "£ukasz"),
        ("cp1254", "Türk kahvesi Şekerli", "Türk kahvesi Þekerli"),
        ("cp1254", "Lokum İncir", "Lokum Ýncir"),
        ("shift_jis", "抹茶ラテ", "–•’ƒƒ‰ƒe"),
        ("shift_jis", "田中太郎", "“c’†‘¾˜Y"),  # kanji alone: its bytes as daggers and tildes
        ("gbk", "北京市", "±±¾©ÊÐ"),  # two bytes a character: two Latin-1 symbols in a row
        ("euc_kr", "서울 김민준", "¼\xad¿ï ±è¹ÎÁØ"),
    ],
)
def test_a_file_another_windows_code_page_wrote_is_refused_naming_its_text(
    tmp_path, encoding, name, read_as
):
    """Polish, Turkish and Japanese Excel save CSV in their own code page: read as Windows-1252
    the names were garbled in every output and audience file without a word."""
    path = tmp_path / "orders.csv"
    path.write_bytes(f"email,name,total\na@x.com,Ann,5\nb@x.com,{name},7\n".encode(encoding))
    with pytest.raises(InputError) as caught:
        open_csv(path).read()
    assert caught.value.row == 3
    assert str(caught.value).endswith(
        f"not UTF-8, and read as Windows-1252 (Western Europe) its text {read_as!r} is another "
        "encoding's (Polish, Turkish, Japanese, Chinese or Korean Windows write such files; an "
        "Icelandic or Faroese file's þ and ð read as Turkish): save the file as CSV UTF-8"
    )
    path.write_bytes(f"email,name,total\nb@x.com,{name},7\n".encode())
    assert open_csv(path).read().text_series("name").tolist() == [name]


def test_western_text_of_cp1252_is_read_whatever_its_symbols(tmp_path):
    """Symbols a Western file writes beside words (m³, 1½, £5, ¿Qué, Nº, O’Brien) and its own
    letters are no sign of another code page."""
    cells = ["2m³ box", "1½ cups", "£5 voucher", "¿Qué tal?", "Nº 5", "O’Brien", "Søren",
             "crème brûlée", "Škoda", "cœur", "señor", "Straße", "Lego™", "¥1,200", "ƒ25",
             "Oranjestad ƒ25", "Smith † 1990", "col·lecció", "1º piso", "«Bonjour»", "20°C",
             "©2024 Acme", "¡Hola!", "10 µm"]  # fmt: skip
    path = tmp_path / "f.csv"
    path.write_bytes(("a\n" + "".join(f'"{cell}"\n' for cell in cells)).encode("cp1252"))
    assert open_csv(path).read().text_series("a").tolist() == cells


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_sniffing(tmp_path, delimiter):
    path = tmp_path / "f.csv"
    path.write_text(
        delimiter.join(["a", "b", "c"]) + "\n" + delimiter.join(["1", "2,5", "x"]) + "\n"
    )
    csv = open_csv(path)
    assert csv.delimiter == delimiter if delimiter != "," else csv.delimiter == ","
    if delimiter != ",":
        assert csv.read().money("b").tolist() == [2.5]


def test_row_numbers_count_blank_lines_and_quoted_newlines(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text('a,b\n1,"x\ny"\n\n2,ok\n3,bad\n')
    table = open_csv(path).read()
    assert table.num_rows == 3
    assert [table.row(i) for i in range(3)] == [2, 4, 5]
    with pytest.raises(InputError) as info:
        table.money("b")
    assert info.value.row == 2  # 'x\ny' is the first bad amount
    path.write_text("\n\na,b\n1,2\nz,\n")
    table = open_csv(path).read()
    assert table.row(0) == 4
    with pytest.raises(InputError) as info:
        table.timestamps("a")
    assert info.value.row == 4


@pytest.mark.parametrize(
    ("title", "encoding", "delimiter"),
    [
        ("Sales report\nExported 2024-05-01\n\n", "utf-8", ","),
        # a spreadsheet writes a title's row with the header's empty cells
        ("Sales report,,,\r\nExported 2024-05-01,,,\r\n,,,\r\n", "utf-8-sig", ";"),
        ('"Umsätze, Mai 2024"\r\n\r\n', "cp1252", ";"),
        # a till's report: the shop, the report, its dates as label and value, a blank line
        ('"My Shop"\n"Sales report"\n"From:","2024-01-01"\nTo:,2024-05-31,,\n\n', "utf-8", ","),
    ],
)
def test_a_reports_title_above_the_header_is_skipped_and_counted(
    tmp_path, title, encoding, delimiter
):
    """A report saved with its title, date and a blank line above the header is read from the
    header on, the rows keeping the numbers a spreadsheet shows, and the title rows counted."""
    path = tmp_path / "report.csv"
    body = f"order{delimiter}email{delimiter}total\n1{delimiter}a@x.com{delimiter}5\n"
    body += f"2{delimiter}b@x.com{delimiter}oops\n"
    path.write_bytes((title + body).encode(encoding))
    csv = open_csv(path)
    lines = title.replace("\r\n", "\n").count("\n")
    assert csv.header == ["order", "email", "total"]
    assert csv.header_row == lines + 1
    assert csv.title_rows == sum(1 for line in title.splitlines() if line.strip(",\r"))
    table = csv.read()
    assert table.text_series("email").tolist() == ["a@x.com", "b@x.com"]
    with pytest.raises(InputError) as info:
        table.money("total")
    assert info.value.row == lines + 3
    rows = "row" if csv.title_rows == 1 else f"{csv.title_rows} rows"
    expected = f"{rows} above the header (row {lines + 1}) read as a report's title"
    assert csvfile.title_note(path).startswith(expected)
    assert csvfile.title_note(csv).startswith(expected)


@pytest.mark.parametrize(
    "text",
    [
        "email\na@x.com\nb@x.com\n",  # one column throughout: no title
        "a,b\n1,2\n",
        "\n\na,b\n1,2\n",  # blank lines alone are no title
        "From:,2024-01-01\na,b,c\n1,2,3\n",  # a first line of two cells is the header
    ],
)
def test_a_file_without_a_title_starts_at_its_first_line(tmp_path, text):
    path = tmp_path / "f.csv"
    path.write_text(text)
    csv = open_csv(path)
    assert csv.title_rows == 0
    assert csv.header == text.strip().splitlines()[0].split(",")
    assert csvfile.title_note(path) is None


@pytest.mark.parametrize(
    ("body", "blank"),
    [
        ("1,2\n3,4\n\n\n", False),  # trailing line ends are no blank line
        ("1,2\n\n3,4\n", True),
        ("1,2\r\n\r\n3,4\r\n", True),
        ("1,2\r\r3,4\r", True),
        ("1,2\r\n3,4\r\n", False),
        ("1,2\r3,4\n5,6\n", False),
    ],
)
def test_blank_lines_are_found_across_the_chunks_of_the_scan(tmp_path, monkeypatch, body, blank):
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n" + body.encode())
    csv = open_csv(path)
    for size in (1, 2, 3, 4, 5, 1 << 23):  # every split of a pattern between two chunks
        monkeypatch.setattr(csvfile, "_SCAN_BYTES", size)
        assert csv.has_blank_lines() is blank, size


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40).map(lambda raw: bytes(b"\n\ra"[x % 3] for x in raw)))
def test_a_blank_line_is_what_a_regular_expression_finds(chunk):
    found = re.search(rb"\n\r?\n|\r\r", chunk) is not None
    assert csvfile._blank_line_in(np.frombuffer(chunk, np.uint8)) is found


def _layouts_by_hand(body: str, longest: int) -> set[str]:
    """What ``unusual_layout`` may answer, read one character at a time."""
    found = set()
    for at, char in enumerate(body):
        if char != '"':
            continue
        opens = body[:at].count('"') % 2 == 0  # else it closes a cell (or is doubled in one)
        left = at
        while left > 0 and body[left - 1] == " ":
            left -= 1
        right = at + 1
        while right < len(body) and body[right] == " ":
            right += 1
        if (opens and left < at and (left == 0 or body[left - 1] in ",\n\r")) or (
            not opens and right > at + 1 and (right == len(body) or body[right] in ",\n\r")
        ):
            found.add("a quote apart from its cell's edge by spaces")
    record, quoted = 0, False
    for char in body:
        if char == "\n" and not quoted:
            record = 0
            continue
        quoted ^= char == '"'
        record += 1
        if record > longest:
            found.add(f"a record longer than {longest:,} bytes")
    return found


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='ab, "\n', max_size=40), st.integers(1, 9))
@example('1, "x"\n2,y\n', 20)
@example('1,"x" \n2,y\n', 20)
@example('1,"Hi, ""Ann"" ,x"\n2,y\n', 30)  # inside a quoted cell: no spaced quote
@example('1,"x" "\n2,y\n', 30)  # a quote closing a cell, with a space before the next
def test_an_unusual_layout_is_found_across_the_chunks_of_the_scan(body, longest):
    expected = _layouts_by_hand(body, longest)
    data = ("a,b\n" + body).encode()
    csv = csvfile.CsvFile("t.csv", ["a", "b"], ",", "utf-8", 1, data, 4)
    with pytest.MonkeyPatch.context() as patch:
        for size in range(1, 12):  # every split of a pattern between two chunks
            patch.setattr(csvfile, "_SCAN_BYTES", size)
            found = csv.unusual_layout(longest)
            assert found in expected if expected else found is None, size


@pytest.mark.parametrize(
    ("header", "plain"),
    [
        ("a,b\n", True),
        ('"a","b ""x"" c"\r\n', True),
        ('"a, b","multi\nline",c\n', True),
        (",,\n", True),
        ('a,"b"x\n', False),
        ('a,"b" \n', False),
        ('a, "b"\n', False),
        ('a,b"c\n', False),
    ],
)
def test_a_plain_header_is_quoted_whole_or_not_at_all(tmp_path, header, plain):
    path = tmp_path / "f.csv"
    path.write_bytes(header.encode() + b"1,2\n")
    assert open_csv(path).plain_header() is plain


def test_ragged_rows(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a,b,c\n1,2\n3,4,5,,\n")
    table = open_csv(path).read()
    assert table.text_series("c").tolist() == [None, "5"] or table.text_series(
        "c"
    ).isna().tolist() == [True, False]
    path.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(InputError) as info:
        open_csv(path).read()
    assert info.value.row == 3 and "3 cells" in str(info.value)


def test_empty_and_header_only(tmp_path):
    path = tmp_path / "f.csv"
    for content in (b"", b"\n\n  \n"):
        path.write_bytes(content)
        with pytest.raises(InputError, match="empty"):
            open_csv(path)
    path.write_bytes(b"a,b\n")
    table = open_csv(path).read()
    assert table.num_rows == 0
    assert table.money("a").shape == (0,) and table.timestamps("b").shape == (0,)


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["1234.5", "", "-3", "+2", ".5"], [1234.5, np.nan, -3.0, 2.0, 0.5]),
        (["$1,234.50", "(12.00)", "$7", "3 $", "1'000.25"], [1234.5, -12.0, 7.0, 3.0, 1000.25]),
        (["USD 7", "3 usd", "-USD 2"], [7.0, 3.0, -2.0]),
        (["$5", "USD 3"], [5.0, 3.0]),  # a bare dollar agrees with one dollar code
        (["A$5", "$2", "AUD 1"], [5.0, 2.0, 1.0]),
        (["A$10.00", "-A$3", "(A$4)"], [10.0, -3.0, -4.0]),  # the dollars of a country
        (["CA$1,000.00", "CA$2"], [1000.0, 2.0]),  # ... as Magento writes them
        (["kr 10.00", "12 kr"], [10.0, 12.0]),
        (["10,00 zł", "5 zł"], [10.0, 5.0]),
        (["₺5", "₺1.250,50"], [5.0, 1250.5]),
        (["1.234,50", "12,5", "€ 3", "1 000,00"], [1234.5, 12.5, 3.0, 1000.0]),
        (["'12.50", " 4 ", "5-", "1,234,567"], [12.5, 4.0, -5.0, 1234567.0]),
        # Magento's four decimals as a German spreadsheet saves them: every amount alike
        (["38,0000", "0,0000", "-12,5000", ""], [38.0, 0.0, -12.5, np.nan]),
        # Turkey's TL, Japan's 円 and Japanese Excel's full-width yen, Windows' Swiss thousands
        # (a right quote) and a French thin space
        (["1.234,56 TL", "12,50 TL"], [1234.56, 12.5]),
        (["1,200円", "980円"], [1200.0, 980.0]),
        (["\uffe51,200", "\uffe5980"], [1200.0, 980.0]),
        (["1\u2019234.50", "12.00"], [1234.5, 12.0]),
        (["1\u2009234,50", "12,00"], [1234.5, 12.0]),
    ],
)
def test_money(tmp_path, cells, expected):
    path = tmp_path / "f.csv"
    pd.DataFrame({"x": cells}).to_csv(path, index=False)
    values = open_csv(path).read().money("x")
    np.testing.assert_allclose(values, expected)


@pytest.mark.parametrize(("cell", "currency"), [("1.234,56 TL", "TRY"), ("1,200円", "JPY")])
def test_a_unit_written_after_the_amount_names_its_currency(tmp_path, cell, currency):
    path = tmp_path / "f.csv"
    pd.DataFrame({"x": [cell]}).to_csv(path, index=False)
    table = open_csv(path).read()
    table.money("x")
    assert table.written_currency(["x"]) == currency


@pytest.mark.parametrize(
    "cells", [["12.50", "12,50"], ["abc"], ["1,2345"], ["nan"], ["inf"], ["12..5"], ["1e999"]]
)
def test_money_is_never_guessed(tmp_path, cells):
    path = tmp_path / "f.csv"
    pd.DataFrame({"x": ["1", *cells]}).to_csv(path, index=False)
    with pytest.raises(InputError) as info:
        open_csv(path).read().money("x")
    assert info.value.column == "x" and info.value.row >= 3


@pytest.mark.parametrize(
    "cells",
    [
        ["$110.00", "€1,100.00"],
        ["USD 100", "EUR 100"],
        ["A$10", "R$10"],
        ["12 kr", "£3"],
        ["$5", "¥3"],
        ["CAD 3", "USD 1"],
    ],
)
def test_amounts_in_two_currencies_are_an_error(tmp_path, cells):
    """Added up as one, they would be a sum of different units."""
    path = tmp_path / "f.csv"
    pd.DataFrame({"x": ["5", *cells]}).to_csv(path, index=False)
    with pytest.raises(InputError) as info:
        open_csv(path).read().money("x")
    assert info.value.column == "x" and info.value.row == 4
    assert f"{cells[1]!r} is in another currency than {cells[0]!r} on row 3" in str(info.value)


def test_timestamps(tmp_path):
    path = tmp_path / "f.csv"
    cells = ["2024-03-05 23:30:00 -0500", "2024-03-05T23:30:00.250Z", "2024-03-05",
             "2024-03-05 23:30", "2024-02-29 01:00:00 +05:30", "", "'2024-01-01"]  # fmt: skip
    pd.DataFrame({"t": cells}).to_csv(path, index=False)
    stamps = open_csv(path).read().timestamps("t")
    assert stamps.dtype == np.dtype("datetime64[us]")
    assert pd.Timestamp(stamps[0]) == pd.Timestamp("2024-03-05 23:30:00")
    assert pd.Timestamp(stamps[1]) == pd.Timestamp("2024-03-05 23:30:00")
    assert pd.Timestamp(stamps[2]) == pd.Timestamp("2024-03-05")
    assert pd.Timestamp(stamps[3]) == pd.Timestamp("2024-03-05 23:30")
    assert pd.Timestamp(stamps[4]) == pd.Timestamp("2024-02-29 01:00")
    assert np.isnat(stamps[5])
    assert pd.Timestamp(stamps[6]) == pd.Timestamp("2024-01-01")


@pytest.mark.parametrize("cell", ["2023-02-29", "2024-13-01", "2024-01-01 25:00", "next week",
                                  "2024-1-1", "05/03/2024"])  # fmt: skip
def test_bad_timestamps_name_row_and_column(tmp_path, cell):
    path = tmp_path / "f.csv"
    pd.DataFrame({"t": ["2024-01-01", cell]}).to_csv(path, index=False)
    with pytest.raises(InputError) as info:
        open_csv(path).read().timestamps("t")
    assert (info.value.row, info.value.column) == (3, "t")
    assert str(info.value).startswith(f"{path}, row 3, column 't': ")


def test_extra_formats(tmp_path):
    path = tmp_path / "f.csv"
    pd.DataFrame({"t": ["20240305", "13.03.2024", "1/3/2024 9:05"]}).to_csv(path, index=False)
    stamps = open_csv(path).read().timestamps("t", extra_formats=True)
    assert [pd.Timestamp(s) for s in stamps] == [
        pd.Timestamp("2024-03-05"), pd.Timestamp("2024-03-13"), pd.Timestamp("2024-03-01 09:05"),
    ]  # fmt: skip
    pd.DataFrame({"t": ["13/03/2024", "03/13/2024"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="mix"):
        open_csv(path).read().timestamps("t", extra_formats=True)


def test_a_given_date_and_time_format_reads_a_midnight_written_as_its_date(tmp_path):
    """A spreadsheet writes a date-time at midnight as the date alone (``06/01/2024`` beside
    ``05/01/2024 10:00``): the format the merchant gives reads both; other text is an error."""
    path = tmp_path / "f.csv"
    pd.DataFrame({"t": ["05/01/2024 10:00", "06/01/2024", "07/01/2024 00:30"]}).to_csv(
        path, index=False
    )
    stamps = open_csv(path).read().timestamps("t", fmt="%d/%m/%Y %H:%M")
    assert [pd.Timestamp(s) for s in stamps] == [
        pd.Timestamp("2024-01-05 10:00"), pd.Timestamp("2024-01-06"),
        pd.Timestamp("2024-01-07 00:30"),
    ]  # fmt: skip
    pd.DataFrame({"t": ["05/01/2024 10:00", "06/01/24"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="cannot read '06/01/24' as a date in format") as info:
        open_csv(path).read().timestamps("t", fmt="%d/%m/%Y %H:%M")
    assert info.value.row == 3


def test_flags(tmp_path):
    path = tmp_path / "f.csv"
    pd.DataFrame({"f": ["yes", "No", "TRUE", "", "maybe"]}).to_csv(path, index=False)
    flags, unknown = open_csv(path).read().flags("f")
    assert flags.tolist()[:3] == [True, False, True]
    assert flags.isna().tolist()[3:] == [True, True] and unknown == 1


_MONEY_PIECES = ["1", "2", "5", "0", ",", ".", "'", " ", "$", "€", "(", ")", "-", "+", "USD",
                 "EUR", "kr", "zł", "A$", "1,234", "12.50", "1.500", "\u2212", "\xa0", "e3"]  # fmt: skip


def _money_or_error(path, monkeypatch, per_distinct_from: int):
    monkeypatch.setattr(csvfile, "_MONEY_PER_DISTINCT_FROM", per_distinct_from)
    table = open_csv(path).read()
    try:
        return table.money("x"), table.written_currency(["x"])
    except InputError as error:
        return str(error), error.row, error.column


_WRITTEN_AMOUNT = st.builds(
    "{}{}{}{}".format,
    st.sampled_from(["", "-", "(", "\u2212"]),
    st.sampled_from(["", "$", "€", "USD ", "A$", "kr "]),
    st.sampled_from(["1,234.50", "12.5", "7", "1.500", "1.234,50", "0.99", "1'000.25", ""]),
    st.sampled_from(["", ")", " zł", " EUR"]),
)
"""Amounts as shops write them, most of them readable."""


@settings(max_examples=150, deadline=None)
@given(
    pool=st.lists(
        st.one_of(
            _WRITTEN_AMOUNT, st.lists(st.sampled_from(_MONEY_PIECES), max_size=4).map("".join)
        ),
        min_size=1,
        max_size=4,
    ),
    picks=st.lists(st.integers(0, 3), min_size=1, max_size=40),
)
def test_amounts_read_per_distinct_cell_are_read_as_row_by_row(tmp_path_factory, pool, picks):
    # the same amounts, currency and first error (its row and message) either way
    cells = [pool[pick % len(pool)] for pick in picks]
    path = tmp_path_factory.mktemp("money") / "f.csv"
    pd.DataFrame({"x": cells, "y": 1}).to_csv(path, index=False)
    with pytest.MonkeyPatch.context() as monkeypatch:
        by_row = _money_or_error(path, monkeypatch, 10**9)
        per_distinct = _money_or_error(path, monkeypatch, 1)
    if isinstance(by_row[0], str):
        assert per_distinct == by_row
    else:
        np.testing.assert_array_equal(per_distinct[0], by_row[0])
        assert per_distinct[1] == by_row[1]


def test_a_repeated_amounts_currency_is_named_at_its_first_row(tmp_path, monkeypatch):
    monkeypatch.setattr(csvfile, "_MONEY_PER_DISTINCT_FROM", 1)
    path = tmp_path / "f.csv"
    cells = ["5", "7", "5", "7", "$1.00", "5", "5", "$1.00", "€2.00", "5"]
    pd.DataFrame({"x": cells}).to_csv(path, index=False)
    table = open_csv(path).read()
    with pytest.raises(InputError) as info:
        table.money("x")
    assert (info.value.row, info.value.column) == (10, "x")
    assert "'€2.00' is in another currency than '$1.00' on row 6" in str(info.value)
    # two distinct cells in ten rows: read per distinct cell
    cells = ["5", "5", "€1", "€1"] + ["5"] * 6
    path.write_text("x,y\n" + "".join(f"{c},1\n" for c in cells))
    table = open_csv(path).read()
    table.money("x")
    assert table._currencies["x"] == ("EUR", 2)


def test_whitespace_is_pythons():
    # what the Arrow routes match and trim as whitespace is what Python's \\s and strip() take
    assert csvfile.WHITESPACE == "".join(
        chr(code) for code in range(0x110000) if chr(code).isspace()
    )


def test_released_columns_are_gone_and_kept_ones_read_as_before(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a,b,c\n x ,1,'y\n,2,z\n")
    table = open_csv(path).read()
    before = table.text("c").to_pylist(), table.nonempty("a").tolist()
    table.release_columns(["c", "a", None])
    assert table.arrow.column_names == ["a", "c"]
    assert (table.text("c").to_pylist(), table.nonempty("a").tolist()) == before
    assert all(name in ("a", "c") for name, _ in table._text_cache)
    with pytest.raises(InputError) as info:
        raise table.error("bad", 1, "c")
    assert info.value.row == 3


def _clean_by_copies(values: pa.ChunkedArray, strip_apostrophe: bool) -> pa.ChunkedArray:
    """The cleaning rule written plainly: every cell trimmed, then empty cells null."""
    values = pc.utf8_trim_whitespace(values)
    if strip_apostrophe and pc.any(pc.starts_with(values, "'")).as_py():
        values = pc.utf8_trim_whitespace(pc.replace_substring_regex(values, r"^'", ""))
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)


# whitespace of one, two and three bytes, and characters that share a first or last byte with
# wide whitespace without being whitespace (the euro sign, a zero-width space, U+3001, U+0100)
CELL = st.one_of(
    st.none(),
    st.text(
        alphabet=" \t\n\r\x1c\x85\xa0\u1680\u3000\u2028'ab\u00e9\u20ac\u200b\u3001\u0100\xa2",
        max_size=5,
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    chunks=st.lists(st.lists(CELL, max_size=6), min_size=1, max_size=3),
    start=st.integers(0, 2),
    large=st.booleans(),
    strip=st.booleans(),
)
def test_cleaning_without_copies_is_the_plain_rule(chunks, start, large, strip):
    kind = pa.large_string() if large else pa.string()
    arrays = [pa.array(cells, kind) for cells in chunks]
    arrays[0] = arrays[0].slice(
        min(start, len(arrays[0]))
    )  # a chunk that starts inside its buffers
    values = pa.chunked_array(arrays, kind)
    cleaned = csvfile._clean(values, strip)
    assert cleaned.type == kind
    assert cleaned.to_pylist() == _clean_by_copies(values, strip).to_pylist()


@pytest.mark.parametrize("large", [False, True])
def test_padding_is_told_from_the_edges_as_arrows_trim_tells_it(large):
    kind = pa.large_string() if large else pa.string()
    lookalikes = "\u20ac\u200b\u3001\u0100\xa2\u2010\u00e9x"
    for character in csvfile.WHITESPACE + lookalikes:
        for cells in ([f"{character}ab", "cd"], ["ab", f"cd{character}"], [None, character]):
            values = pa.chunked_array([pa.array(["x", *cells], kind).slice(1)], kind)
            trimmed = pc.utf8_trim_whitespace(values)
            expected = not pc.all(pc.fill_null(pc.equal(trimmed, values), True)).as_py()
            assert csvfile._padded(values) is expected, (repr(character), cells)
    assert not csvfile._padded(pa.chunked_array([pa.array(["a", None, ""], kind)], kind))
    assert not csvfile._padded(pa.chunked_array([], kind))


def test_padding_of_a_cell_made_missing_over_its_text_is_not_counted():
    # a missing cell may keep its bytes under the validity bitmap (as _empty_as_null makes them)
    text = pa.array([" a", "b"])
    hidden = pa.Array.from_buffers(
        pa.string(), 2, [pa.array([False, True]).buffers()[1], *text.buffers()[1:]]
    )
    assert hidden.to_pylist() == [None, "b"]
    assert not csvfile._padded(pa.chunked_array([hidden]))
    assert csvfile._padded(pa.chunked_array([text]))


@pytest.mark.parametrize(
    ("cell", "hint"),
    [
        # the hint names a format that reads the cell (quoted where it holds a comma)
        ("Dec 5, 2024", ", or give the column's format in Python's strptime codes: "
         "--map 'date_format=\"%b %d, %Y\"')"),
        ("12/30/24", ", or give the column's format in Python's strptime codes: "
         "--map 'date_format=%m/%d/%y')"),
        ("01/01/2024 10:44 CET", ", or give the column's format in Python's strptime codes: "
         "--map 'date_format=%m/%d/%Y %H:%M CET')"),
        # WordPress's date and time settings Y-m-d and g:i a, as WooCommerce exporters use them
        ("2024-03-05 11:30 pm", ", or give the column's format in Python's strptime codes: "
         "--map 'date_format=%Y-%m-%d %I:%M %p')"),
        ("2024/03/05 23:30", ", or give the column's format in Python's strptime codes: "
         "--map 'date_format=%Y/%m/%d %H:%M')"),
        # WordPress's d/m/Y and g:i a: day first where the day cannot be a month
        ("13/03/2024 11:30 pm", ", or give the column's format in Python's strptime codes: "
         "--map 'date_format=%d/%m/%Y %I:%M %p')"),
        # no format reads it: an example, said to be one by the date it reads
        ("yesterday", ", or give the column's format in Python's strptime codes, as --map "
         "'date_format=%d.%m.%Y %H:%M' reads 31.01.2024 14:30)"),
        ("45296", "; it looks like a spreadsheet's day number: format the column as dates in the "
         "spreadsheet and save the file again)"),
        # month names of other languages: the format that reads them, not an unrelated example
        ("31 mars 2024", ", or give the column's format in Python's strptime codes: "
         "--map 'date_format=%d %b %Y')"),
        ("31. März 2024, 23:30", ", or give the column's format in Python's strptime codes: "
         "--map 'date_format=\"%d. %b %Y, %H:%M\"')"),
        # a long form with its weekday, as some admin exports and e-mail headers write dates
        ("Tuesday, March 5, 2024", ", or give the column's format in Python's strptime codes: "
         "--map 'date_format=\"%A, %b %d, %Y\"')"),
        ("Tue, 05 Mar 2024 10:00:00", ", or give the column's format in Python's strptime "
         "codes: --map 'date_format=\"%a, %d %b %Y %H:%M:%S\"')"),
    ],
)  # fmt: skip
def test_an_unread_date_says_what_would_read_it(tmp_path, cell, hint):
    from valuecast.io import generic
    from valuecast.io.schema import InputError

    path = tmp_path / "orders.csv"
    path.write_text(f'customer_id,order_date,revenue\na,"{cell}",1\nb,2024-01-01,2\n')
    with pytest.raises(InputError) as info:
        generic.read_orders(path)
    assert str(info.value).endswith(
        f"cannot read {cell!r} as a date (expected e.g. 2024-03-05{hint}"
    )


def test_an_attributes_file_repeating_customers_names_the_first_repeated_ones_rows(tmp_path):
    from valuecast.io.attributes import read_attributes
    from valuecast.io.schema import InputError

    path = tmp_path / "attributes.csv"
    rows = [f"u{i}@x.com,{i}" for i in range(10)] + ["u1@x.com,5", "u0@x.com,7"]
    path.write_text("email,tickets\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as info:
        read_attributes(path)
    assert "u1@x.com is on rows 3 and 12" in str(info.value)
    assert (info.value.row, info.value.column) == (12, "email")


@pytest.mark.parametrize(
    ("cells", "fmt"),
    [
        (["31 mars 2024", "1 févr. 2025", "15 août 2024", "2 déc. 2024"], "%d %b %Y"),
        (["31 mars 2024", "1 février 2025", "15 août 2024", "2 décembre 2024"], "%d %B %Y"),
        (["31. März 2024", "1. Februar 2025", "15. Aug. 2024", "2. Dez. 2024"], "%d. %b %Y"),
        # German Excel's own abbreviation of März
        (["31. Mrz. 2024", "1. Feb. 2025", "15. Aug. 2024", "2. Dez. 2024"], "%d. %b %Y"),
        (["31 marzo 2024", "1 feb 2025", "15 ago 2024", "2 dic 2024"], "%d %b %Y"),
        (["31 de março de 2024", "1 de fev. de 2025", "15 de ago. de 2024", "2 de dez. de 2024"],
         "%d de %b de %Y"),
        (["31 maart 2024", "1 feb 2025", "15 aug 2024", "2 dec 2024"], "%d %b %Y"),
        (["March 31, 2024", "Feb 1, 2025", "August 15, 2024", "Dec 2, 2024"], "%B %d, %Y"),
    ],
)  # fmt: skip
def test_a_date_format_reads_the_month_names_of_other_languages(tmp_path, cells, fmt):
    from valuecast.io import generic

    path = tmp_path / "orders.csv"
    rows = "".join(f'c{i},"{cell}",1\n' for i, cell in enumerate(cells))
    path.write_text("customer_id,order_date,revenue\n" + rows, encoding="utf-8")
    result = generic.read_orders(path, {"date_format": fmt})
    assert result.orders["order_date"].tolist() == [
        pd.Timestamp(day) for day in ("2024-03-31", "2025-02-01", "2024-08-15", "2024-12-02")
    ]


def test_austrian_januaries_and_a_header_of_decomposed_accents_are_read(tmp_path):
    """Austria writes Jänner (Jän.); a Mac writes a header's é as e and an accent (NFD), where
    the typed --map has it composed: the column was "not in the file (did you mean 'Date de
    création'?)" naming the same text back."""
    from valuecast.io import generic

    header = unicodedata.normalize("NFD", "client;Date de création;montant\n")
    path = tmp_path / "orders.csv"
    path.write_text(header + "a;5. Jän. 2024;1\nb;6. Jänner 2024;2\n", encoding="utf-8")
    mapping = "customer_id=client,ordered_at=Date de création,revenue=montant,date_format=%d. %b %Y"
    result = generic.read_orders(path, mapping)
    assert result.orders["order_date"].tolist() == [
        pd.Timestamp("2024-01-05"),
        pd.Timestamp("2024-01-06"),
    ]


def test_a_month_word_of_no_language_is_still_an_error(tmp_path):
    from valuecast.io import generic
    from valuecast.io.schema import InputError

    path = tmp_path / "orders.csv"
    path.write_text("customer_id,order_date,revenue\na,31 mars 2024,1\nb,1 brumaire 2024,1\n")
    with pytest.raises(InputError, match="cannot read '1 brumaire 2024' as a date in format"):
        generic.read_orders(path, {"date_format": "%d %b %Y"})


def test_the_format_a_weekday_dates_hint_names_reads_the_column(tmp_path):
    """The format the error names for ``Tuesday, March 5, 2024`` reads the column, its month
    names full or abbreviated."""
    from valuecast.io import generic
    from valuecast.io.schema import InputError

    path = tmp_path / "orders.csv"
    path.write_text(
        'customer_id,order_date,revenue\na,"Tuesday, March 5, 2024",1\nb,"Friday, Apr 12, 2024",2\n'
    )
    with pytest.raises(InputError) as info:
        generic.read_orders(path)
    named = re.search(r"date_format=\"([^\"]+)\"", str(info.value))
    assert named is not None, str(info.value)
    result = generic.read_orders(path, {"date_format": named.group(1)})
    assert result.orders["ordered_at"].tolist() == [
        pd.Timestamp("2024-03-05"),
        pd.Timestamp("2024-04-12"),
    ]


def test_the_header_read_alone_is_the_whole_file_read_s_with_its_errors(tmp_path):
    # a file past the head read: its header from the head, its errors as the whole file's
    rows = "".join(f"{n},2024-01-0{n % 9 + 1},{n}.00\n" for n in range(400_000))
    good = tmp_path / "good.csv"
    good.write_text("customer;x,date,amount\n" + rows)
    opened, looked = open_csv(good), open_header(good)
    assert (looked.name, looked.header, looked.delimiter, looked.header_row) == (
        opened.name, opened.header, opened.delimiter, opened.header_row,
    )  # fmt: skip
    assert looked.with_body().read(["amount"]).num_rows == 400_000  # read again from its path
    damaged = tmp_path / "damaged.csv"
    damaged.write_text("customer,date,amount\n" + rows + "7,2024-01-02,1\x00.00\n")
    with pytest.raises(InputError) as whole:
        open_csv(damaged)
    with pytest.raises(InputError) as head:
        open_header(damaged)
    assert str(head.value) == str(whole.value) and whole.value.row == 400_002
