"""Robust reading of merchants' CSV files, and vectorised parsing of their cells.

Its length (about 1,000 lines) is the reading rules of every merchant CSV: encodings, delimiters,
quoting, limits, money and timestamps, each with the row and column its error names.

Everything an importer needs from a file goes through :class:`Table`: columns looked up by name
(case, spaces and underscores ignored), cells cleaned, money and timestamps parsed column-wise with
pyarrow, and every error reported as an :class:`~valuecast.io.schema.InputError` naming the file,
the row *as a spreadsheet shows it* (the header is row 1, blank lines count as rows) and the column.

Reading rules
-------------
* The file must be a regular file: a directory, a device (``/dev/zero``) or a pipe is an error
  saying what it is.
* Encoding: a UTF-16 BOM (either byte order) decides; otherwise UTF-8 (with or without its BOM),
  and a file that is not valid UTF-8 is read as Windows-1252, which is what spreadsheet
  programs on Windows in Western Europe and the Americas write.  A file another Windows code
  page wrote (Polish 1250, Turkish 1254, Japanese Shift-JIS: a byte 1252 leaves undefined, or
  letters read as symbols inside a word, ``Ma³gorzata``) is an error naming its row and the
  text, which says to save it as CSV UTF-8: read as 1252 its names would be garbled without
  a word (an Icelandic file of 1252 is refused too: its þ and ð are Turkish ş and ğ read so).
  The encoding is decided
  for the whole file: a file that is not valid UTF-8 but also holds valid UTF-8 characters (other
  than ASCII) mixes two encodings, and reading it as either would garble some rows, so it is an
  error naming the first row that is not UTF-8 and a row that is.
* A NUL byte anywhere is an error naming its row and column (the header's row when it is in or
  before the header): no text export holds one, and it would reach the stored names.
* The header row is read whole, however long; a header of more than 10,000 columns is an error
  (no export has that many; a file that does is not an export). Cells have no size limit.
* Delimiter: the one of ``,`` ``;`` and tab that occurs most often (outside quotes) in the header
  line; a header without any of them is a one-column file read with ``,``.
* Quoted values may contain delimiters, doubled quotes and newlines.
* A report's title above the header (lines of one cell at most, such as ``Sales report``,
  ``Exported 2024-05-01`` and a blank line, then possibly lines of two such as ``From:,
  2024-01-01``, within the first 20 lines) is skipped, and its rows counted in a note
  (:func:`title_note`): the header is the first line of two or more cells (three, below lines
  of two).
* Blank lines are skipped (but still count for the row numbers). A row with fewer cells than the
  header is padded with empty cells; a row with more cells is an error unless the extra cells
  are empty (spreadsheets leave trailing delimiters).
* A zero-byte or whitespace-only file is an error ("no header row"). A header without data rows
  is a valid file with zero rows.
* Every cell is read as text; the parsers below turn it into typed values. A single leading
  apostrophe (which spreadsheets add to keep ``'02134`` or ``'1001`` as text) is removed from
  every cell an importer reads, as is surrounding whitespace. Empty cells are missing values.

Money (:meth:`Table.money`)
---------------------------
Accepted: ``1234.5``, ``1,234.50``, ``$1,234.50``, ``USD 12``, ``12 €``, ``A$12``, ``kr 12``,
``1.234,50``, ``1 234,50``, ``1'234.50``, ``-12``, ``12-``, ``(12.00)`` (negative). A column whose
amounts name two currencies (``$12`` and ``€12``) is an error: they cannot be added. The decimal separator is
decided per column: a column is read with a decimal comma when some value ends in a comma and one or
two digits (``12,50``) and none ends in a point and one or two digits; then ``.`` separates
thousands. A value that does not fit its column's convention (``12.50`` in a decimal-comma column,
``1,2345`` in a decimal-point one), ``nan``, ``inf`` or any other text is an error: nothing is guessed.
So is ``1.500`` in a column where no amount has a point only a decimal point fits (``12.5``,
``1500.25``): it is 1500 where a point separates thousands and 1.5 where it marks decimals.
An amount beyond :data:`MAX_AMOUNT` (10^12 in the shop's currency, either sign) is an error too: no
shop's order is that large, so it is a unit or a typo, and the engine keeps exact money sums only
for amounts in a bounded range.

Timestamps (:meth:`Table.timestamps`)
-------------------------------------
ISO-like dates are always accepted: ``2024-03-05``, ``2024-03-05 23:30``, ``2024-03-05 23:30:00``,
``2024-03-05T23:30:00.123``, each optionally followed by ``Z``, ``UTC``, ``GMT`` or an offset such as
``-0500`` / ``+01:00``. The result is the wall-clock time *as written*: the offset is not applied,
so an order placed at 23:30 New York time stays on its local calendar day (an orders table whose
times all carry their zone is read as instants where ``--map time_zone`` is given:
:func:`zone_offsets`). Importers of generic tables also accept ``YYYYMMDD`` and ``D/M/YYYY``
or ``M/D/YYYY`` (``/`` ``.`` or ``-``, optional ``H:MM[:SS]``): the day/month order is taken from a value whose first or second field exceeds 12;
when no value decides it, it is an error unless an explicit format is given. An explicit format
with a time (``%d/%m/%Y %H:%M``) also reads a cell of its date alone, which is how a spreadsheet
writes a date-time at midnight. An explicit format's ``%b`` and ``%B`` read month names in
English, French, German, Spanish, Italian, Dutch and Portuguese, full or abbreviated
(``31 mars 2024``, ``1. Dez. 2024``; :func:`english_month_names`). The WooCommerce importer
also reads the forms WordPress's date and time settings give (:meth:`Table._parse_wordpress`):
a month by its name (``March 5, 2024 11:30 pm``, ``5 March 2024``, ``Tuesday, March 5th, 2024``)
and a 12-hour clock.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import functools
import io
import itertools
import mmap
import re
import stat
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from valuecast.io.schema import MAX_AMOUNT, InputError, amount_text

__all__ = [
    "CsvFile",
    "NAMED_SYMBOLS",
    "Table",
    "currency_code",
    "currency_codes",
    "english_month_format",
    "english_month_names",
    "normalise_name",
    "open_csv",
    "open_header",
]


_HEAD_BYTES = 1 << 20
_TITLE_BYTES = 1 << 16
_DELIMITERS = (",", ";", "\t")
_MAX_COLUMNS = 10_000
_BLOCK_BYTES = 1 << 24  # Arrow's parse block: a row longer than this needs a larger one
_MAX_BLOCK_BYTES = (1 << 31) - 1  # Arrow's block size is a 32-bit integer
_FIELD_LIMIT = (1 << 31) - 1  # Python's csv module: a C long, 32-bit on Windows
_ASCII = bytes(range(128))
# a character of two to four bytes in valid UTF-8 (non-ASCII)
_UTF8_MULTIBYTE = re.compile(
    rb"[\xC2-\xDF][\x80-\xBF]|\xE0[\xA0-\xBF][\x80-\xBF]|[\xE1-\xEC\xEE\xEF][\x80-\xBF]{2}"
    rb"|\xED[\x80-\x9F][\x80-\xBF]|\xF0[\x90-\xBF][\x80-\xBF]{2}|[\xF1-\xF3][\x80-\xBF]{3}"
    rb"|\xF4[\x80-\x8F][\x80-\xBF]{2}"
)


def normalise_name(name: str) -> str:
    """Header name as compared: lower-case, BOM/quotes/outer spaces gone, runs of ``_``/space -> one space."""
    # NFC: a Mac's file names its columns with decomposed accents (e + U+0301), a typed --map
    # with composed ones, the same text
    text = unicodedata.normalize("NFC", str(name))
    text = text.replace("\ufeff", "").strip().strip('"').strip().lower()
    return re.sub(r"[\s_]+", " ", text)


# ------------------------------------------------------------------------------------------------
# decoding and sniffing
# ------------------------------------------------------------------------------------------------
def _decode_cp1252(data: bytes) -> str:
    """Windows-1252, with Latin-1 for the bytes 1252 leaves undefined (never fails)."""
    return data.decode("cp1252", errors="latin1_fallback")


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    return bad.decode("latin-1"), error.end


codecs.register_error("latin1_fallback", _latin1_fallback)


def _lift_field_limit() -> None:
    """No cell size limit in Python's csv module (its default, 128 KiB, is far below a 10 MB cell).

    The limit is process-wide; nothing in valuecast relies on the default.
    """
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)


PARQUET_SUFFIXES = (".parquet", ".pq")
"""A file with one of these suffixes is read as Parquet, anything else as CSV."""


def parquet_parts(path: str | Path) -> list[Path]:
    """The Parquet files of a folder, in path order; ``[]`` for a file or a folder without any.

    A table written in parts (Spark's and DuckDB's ``part-*.parquet``, Arrow's and Hive's
    partition folders ``year=2025/``) is one table: an order whose lines fall in two parts is
    one order. Names starting with ``.`` or ``_`` (``_SUCCESS``, ``.part-0.crc``) are the
    writers' bookkeeping, skipped as Spark and Arrow skip them.
    """
    folder = Path(path)
    if not folder.is_dir():
        return []
    return sorted(
        part
        for part in folder.rglob("*")
        if part.suffix.lower() in PARQUET_SUFFIXES
        and not any(name.startswith((".", "_")) for name in part.relative_to(folder).parts)
        and part.is_file()
    )


def _in_partitions(folder: Path, part: Path) -> bool:
    """Whether ``part`` lies in ``folder`` itself or in partition folders (``year=2025/``)."""
    return all("=" in name[1:] for name in part.relative_to(folder).parts[:-1])


def is_parquet(path: str | Path) -> bool:
    """Whether ``path`` is read as Parquet: a ``.parquet`` file or a folder of Parquet parts."""
    return Path(path).suffix.lower() in PARQUET_SUFFIXES or bool(parquet_parts(path))


def file_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be read as an export, or ``None`` when it is a regular file or a
    folder of Parquet files (:func:`parquet_parts`).

    Any other directory, a device such as ``/dev/zero`` or a pipe is named for what it is rather
    than read (a device may never end).
    """
    try:
        mode = Path(path).stat().st_mode
    except OSError as error:
        return f"cannot read the file: {error.strerror or error}"
    if stat.S_ISDIR(mode):
        parts = parquet_parts(path)
        if not parts:
            return "is a directory, not a file (a folder is read when it holds Parquet files)"
        stray = next((part for part in parts if not _in_partitions(Path(path), part)), None)
        if stray is not None:
            # a copy kept beside the table's parts (backup/, old/) would count its orders twice
            where = stray.parent.relative_to(path).as_posix()
            return (
                f"holds Parquet files in {where}/, which is not a partition folder (name=value): "
                "a table's parts are its folder's own files and partition folders; move other "
                "copies out of it"
            )
        return None
    if not stat.S_ISREG(mode):
        return "not a regular file (a device, pipe or socket): give the export file itself"
    return None


def _record_at(body: bytes | memoryview, offset: int, delimiter: str, first_row: int):
    """(spreadsheet row, cells) of the CSV record of ``body`` that holds byte ``offset``.

    ``first_row`` is the row of the first record of ``body``; blank lines count as rows, a quoted
    cell spanning lines is one row. The bytes are read as Latin-1, one character per byte, so
    character positions are byte positions (quotes, delimiters and newlines are ASCII either way).
    """
    _lift_field_limit()
    lines = _CountingLines(bytes(body).decode("latin-1"))
    row = first_row - 1
    try:
        for cells in csv.reader(lines, delimiter=delimiter):
            row += 1
            if lines.consumed > offset:
                return row, cells
    except csv.Error:
        pass
    return max(row, first_row), []


def _has_utf8_characters(body: bytes | memoryview) -> bool:
    """Whether ``body`` holds a valid UTF-8 character other than ASCII (counted at C speed).

    Decoding drops the bytes that are not UTF-8, so what it yields beyond the ASCII bytes are
    characters of two to four valid bytes.
    """
    ascii_bytes = len(body) - len(bytes(body).translate(None, _ASCII))
    return len(codecs.utf_8_decode(body, "ignore", True)[0]) > ascii_bytes


_LETTER = r"[^\W\d_]"
_SYMBOLS = "\u00b3\u00b9\u00b2\u00af\u00a3\u00a5\u00a6\u00a8\u00b8\u00bc\u00bd\u00be\u2030"
_TURKISH = "\u00fd\u00fe\u00f0\u00dd\u00de\u00d0"
_OTHER_CODE_PAGE = re.compile(
    # bytes Windows-1252 leaves undefined: no Western file holds them; Shift-JIS' lead bytes
    # and Windows-1250's Ź, Ť, ť are among them
    "[\x81\x8d\x8f\x90\x9d]"
    # Shift-JIS' katakana lead byte read as the florin sign before a letter (ƒ25 is a florin),
    # its kanji's bytes read as daggers and spacing accents inside a word
    "|\u0192(?=[^\\d\\s])"
    "|[\u2020\u2021\u02c6\u02dc](?:(?<=\\S.)|(?=\\S))"
    # Windows-1250's ł, ą, Ł, Ż, ż, ź read as symbols inside a word (Ma³gorzata, £ukasz,
    # ¯urawina, Mo¿e): a Western word never holds them there (m³ and 1½ end theirs)
    f"|[{_SYMBOLS}](?<={_LETTER}.)(?={_LETTER})"
    "|[\u00a3\u00a5\u00af](?<!\\w.)(?=[a-z\u00df-\u00ff]{2})"
    f"|\u00bf(?<={_LETTER}.)"
    # Windows-1254's ş, ı, ğ, İ, Ş, Ğ read as Icelandic letters inside a Turkish word
    # (Þekerli, bardaðý, Ýncir); an Icelandic or Faroese file is told to save as UTF-8 too
    f"|[{_TURKISH}](?<={_LETTER}.)(?={_LETTER})"
    "|[\u00dd\u00de\u00d0](?<!\\w.)(?=[a-z\u00df-\u00ff])"
    # Chinese (GBK) and Korean (EUC-KR) characters' two bytes read as two Latin-1 symbols in a
    # row (北京 as ±±¾©, 서울 as ¼ and a soft hyphen), which no Western word writes
    "|[\u00a1-\u00bf](?=[\u00a1-\u00bf])"
)
"""Text read as Windows-1252 that another Windows code page wrote: Excel saves a Polish
(1250), Turkish (1254), Japanese (Shift-JIS), Chinese (GBK) or Korean (EUC-KR) shop's CSV in
its own, and read as 1252 its
names and products would be garbled without a word (Łukasz as £ukasz in the audience files).
Each alternative starts with its character (:data:`_CANDIDATE` finds them first).  Letters
the code pages share in other places (Czech ř as ø, Hungarian ő as õ) read as Western
letters: no rule tells them from a Danish or Portuguese name."""
_CANDIDATE = re.compile(
    f"[\x81\x8d\x8f\x90\x9d\u0192\u2020\u2021\u02c6\u02dc\u2030\u00a1-\u00bf{_TURKISH}](?![\\d\\s,.;)]|$)"
)
"""The characters :data:`_OTHER_CODE_PAGE` starts with, but before a digit, a space or a
punctuation mark (£5, 2m³ box, 1½ cups): one search of a character class, which the regular
expression engine runs at the speed of a scan (0.13 s for 19 MB of Western text, where the
whole pattern tried at every character took 5 s for 34 MB)."""


def _other_code_page(body: bytes | memoryview, text: str) -> re.Match | None:
    """The first :data:`_OTHER_CODE_PAGE` text of ``text`` (``body`` read as Windows-1252, one
    character a byte) on a line that is not UTF-8: a line of a file mixing encodings that is
    UTF-8 (Å¼ for ż) is the mixed file's, which its own error names."""
    for candidate in _CANDIDATE.finditer(text):
        found = _OTHER_CODE_PAGE.match(text, candidate.start())
        if found is None:
            continue
        start = text.rfind("\n", 0, found.start()) + 1
        end = text.find("\n", found.end())
        try:
            bytes(body[start : len(text) if end < 0 else end]).decode("utf-8")
        except UnicodeDecodeError:
            return found
    return None


def _not_utf8(name: str, body: bytes | memoryview, first_row: int) -> str:
    """``body``, which is not valid UTF-8, decoded as Windows-1252.

    An error when ``body`` also holds a valid UTF-8 character besides ASCII: it mixes two
    encodings, and either reading garbles some of its rows.
    """
    try:
        codecs.utf_8_decode(body, "strict", True)
        return bytes(body).decode("utf-8")  # valid: nothing to fall back from
    except UnicodeDecodeError as error:
        bad = error.start
    text = _decode_cp1252(bytes(body))
    misread = _other_code_page(body, text)
    if misread is not None:
        delimiter = _sniff_delimiter(text[:_HEAD_BYTES].lstrip("\r\n"))
        row, cells = _record_at(body, misread.start(), delimiter, first_row)
        read = (_decode_cp1252(cell.encode("latin-1")) for cell in cells)
        word = next((cell for cell in read if misread.group() in cell), misread.group())
        word = " ".join(word.split())  # one line, a cell of several as one
        word = word if len(word) <= 60 else word[:57] + "..."
        raise InputError(
            name,
            f"not UTF-8, and read as Windows-1252 (Western Europe) its text {word.strip()!r} is "
            "another encoding's (Polish, Turkish, Japanese, Chinese or Korean Windows write "
            "such files; an Icelandic or Faroese file's þ and ð read as Turkish): save the file "
            "as CSV UTF-8",
            row=row,
        )
    if not _has_utf8_characters(body):
        return text
    utf8 = _UTF8_MULTIBYTE.search(body)
    assert utf8 is not None
    first_line = bytes(body[:_HEAD_BYTES]).decode("latin-1").lstrip("\r\n")
    delimiter = _sniff_delimiter(first_line)
    row, _ = _record_at(body, bad, delimiter, first_row)
    utf8_row, _ = _record_at(body, utf8.start(), delimiter, first_row)
    raise InputError(
        name,
        f"not valid UTF-8 (byte 0x{body[bad]:02X}) while row {utf8_row} is UTF-8 "
        f"({bytes(body[utf8.start() : utf8.end()]).decode('utf-8')!r}): the file mixes two "
        "encodings; save it as UTF-8",
        row=row,
    )


def _check_no_nul(
    name: str, body: bytes, start: int, delimiter: str, header: list[str], header_row: int
) -> None:
    """Raise on the first NUL byte of ``body[start:]``, naming its row and (in a data row) column."""
    position = body.find(b"\x00", start)
    if position < 0:
        return
    row, record = _record_at(memoryview(body)[start:], position - start, delimiter, 1)
    if row <= header_row:
        raise InputError(
            name,
            "the header holds a NUL byte (0x00): the file is damaged, binary, or UTF-16 "
            "without its byte-order mark",
            row=row,
        )
    index = next((i for i, cell in enumerate(record) if "\x00" in cell), None)
    column = header[index] if index is not None and index < len(header) else None
    raise InputError(
        name,
        "the cell holds a NUL byte (0x00): the file is damaged; remove it or export again",
        row=row,
        column=column,
    )


class _CountingLines:
    """Iterates the lines of a text while counting the characters handed out."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self.consumed = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.consumed += len(line)
        return line


def _sniff_delimiter(text: str) -> str:
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted:
            if char in "\r\n":
                break
            if char in counts:
                counts[char] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


_SCAN_BYTES = 1 << 23
"""Bytes of a file scanned at once for blank lines (the scan's arrays stay this small)."""


def _blank_line_in(chunk: np.ndarray, returns: bool = True) -> bool:
    """Whether the bytes hold ``\\n\\n``, ``\\n\\r\\n`` or ``\\r\\r`` (``returns``: whether
    they may hold a carriage return at all).

    Told from the positions of the line feeds and carriage returns: ``bytes.find`` of such a
    pattern stops at every line end of a file, which makes it six times slower, and comparing
    shifted copies of the chunk reads it more often (a 631 MB export: 0.26-0.33 s, 0.12 s so).
    """
    feeds = np.flatnonzero(chunk == 10)
    gaps = np.diff(feeds)
    if np.any(gaps == 1):
        return True
    if not returns:
        return False
    if np.any(np.diff(np.flatnonzero(chunk == 13)) == 1):
        return True
    apart = feeds[:-1][gaps == 2]  # a feed two bytes after another: is a return between them?
    return bool(np.any(chunk[apart + 1] == 13))


SAMPLE_BYTES = 1 << 16
"""Bytes of a file's body :meth:`CsvFile.first_values` reads."""


def _first_filled(cells: Iterable[str], limit: int) -> list[str]:
    """The first ``limit`` of ``cells`` that are not empty once trimmed, trimmed."""
    filled = (cell.strip() for cell in cells)
    return list(itertools.islice((cell for cell in filled if cell), limit))


@dataclass
class CsvFile:
    """A CSV file decoded and sniffed, ready to read columns from.

    ``header`` is the list of column names as written; ``header_row`` the spreadsheet row of the
    header (1 unless the file starts with blank lines).
    """

    name: str
    header: list[str]
    delimiter: str
    encoding: str
    header_row: int
    _data: bytes = field(repr=False)
    _offset: int = field(repr=False)
    _text: str | None = field(default=None, repr=False)
    path: Path | None = field(default=None, repr=False)  # the file read, when it is one
    _quotes_checked: bool = field(default=False, repr=False)
    # a strptime format the merchant gave (--map date_format=...), which every table read from
    # the file tries first for its dates (:meth:`Table.timestamps`)
    date_format: str | None = field(default=None, repr=False)
    # the non-blank rows of a report's title above the header, skipped (:func:`title_note`)
    title_rows: int = field(default=0, repr=False)

    @property
    def _body(self) -> memoryview:
        return memoryview(self._data)[self._offset :]

    # -- lookups --------------------------------------------------------------------------------
    def find(self, *aliases: str) -> str | None:
        found = find_column(self.header, aliases)
        check_unique(self.name, self.header, found, self.header_row)
        return found

    def require(self, *aliases: str) -> str:
        found = self.find(*aliases)
        if found is None:
            raise InputError(
                self.name, "required column is missing", row=self.header_row, column=aliases[0]
            )
        return found

    # -- reading --------------------------------------------------------------------------------
    def read(self, columns: Iterable[str] | None = None, dictionary: Iterable[str] = ()) -> Table:
        """Read the given header columns (all when ``None``) as text into a :class:`Table`.

        Columns named in ``dictionary`` are read dictionary-encoded (each distinct cell once):
        worth it for columns with few distinct values that are parsed (dates, amounts), which
        the parsers of :class:`Table` then parse once per distinct value.
        """
        table = self._read(columns, dictionary)
        table.date_format = self.date_format
        release_arrow_pages()  # the parse's blocks, freed: the columns read are what is held
        return table

    def _read(self, columns: Iterable[str] | None, dictionary: Iterable[str]) -> Table:
        self.check_quotes_closed()
        wanted = list(dict.fromkeys(self.header if columns is None else columns))
        positions = {}
        for name in wanted:
            positions[name] = self.header.index(name)
        synthetic = [f"c{i}" for i in range(len(self.header))]
        include = [synthetic[positions[name]] for name in wanted]
        encoded = {synthetic[positions[name]] for name in dictionary if name in positions}
        try:
            arrow = self._read_arrow(synthetic, include, encoded)
            table = pa.table(
                {name: arrow.column(syn) for name, syn in zip(wanted, include, strict=True)}
            )
            return Table(
                self.name,
                list(self.header),
                table,
                # the bytes (the file's size) are read again for row numbers, on the error path
                self.without_body() if self.path is not None else self,
                first_row=self.header_row + 1,
                row_map=_LAZY,
            )
        except pa.ArrowInvalid as error:
            if "UTF8" in str(error) and self.encoding == "utf-8":
                self._reencode_cp1252()
                return self.read(wanted, dictionary)
        return self._read_python(wanted, positions)

    def _read_arrow(
        self, names: list[str], include: list[str], encoded: set[str] | None = None
    ) -> pa.Table:
        """Parse the body with Arrow, in blocks large enough for its longest row."""
        if len(self._body) == 0:
            return pa.table({name: pa.array([], pa.string()) for name in include})
        largest = min(len(self._body) + 1, _MAX_BLOCK_BYTES)
        block = min(_BLOCK_BYTES, largest)
        while True:
            try:
                return self._parse_arrow(names, include, encoded, block)
            except pa.ArrowInvalid as error:
                # a row (a huge cell) longer than a block: retry with larger blocks
                if "straddl" not in str(error) or block >= largest:
                    raise
                block = min(block * 8, largest)

    def _parse_arrow(
        self, names: list[str], include: list[str], encoded: set[str] | None, block: int
    ) -> pa.Table:
        types = {name: _DICTIONARY if name in (encoded or ()) else pa.string() for name in names}
        return pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(self._body)),
            read_options=pacsv.ReadOptions(column_names=names, block_size=block),
            parse_options=pacsv.ParseOptions(
                delimiter=self.delimiter, newlines_in_values=True, ignore_empty_lines=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=include,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    def without_body(self) -> CsvFile:
        """The file's name, header and path without its bytes (:meth:`with_body` reads them
        again)."""
        return replace(self, _data=b"", _offset=0, _text=None)

    def with_body(self) -> CsvFile:
        """This file with its bytes: read again from its path after :meth:`without_body`."""
        if self.path and not self._data:
            return open_csv(self.path, self.name)
        return self

    def has_blank_lines(self) -> bool:
        """Whether the body holds an empty line before its trailing line ends (row numbers then
        differ from record positions)."""
        end = len(self._data)
        while end > self._offset and self._data[end - 1 : end] in (b"\n", b"\r"):
            end -= 1
        body = memoryview(self._data)[self._offset : end]
        returns = self._data.find(b"\r", self._offset, end) >= 0  # one memchr: most files hold none
        # chunks overlapping by the longest pattern's length less one: every match lies whole in one
        return any(
            _blank_line_in(np.frombuffer(body[start : start + _SCAN_BYTES + 2], np.uint8), returns)
            for start in range(0, len(body), _SCAN_BYTES)
        )

    def plain_header(self) -> bool:
        """Whether the header record is cells, quoted whole (``"a ""b"" c"``) or holding no
        quote, between delimiters and nothing else: where it is not (``"note"x`` or ``a, "b``),
        readers disagree on where it ends, and DuckDB's reader takes data rows for it without a
        word.
        """
        delimiter = re.escape(self.delimiter.encode())
        cell = rb'"(?:[^"]|"")*"|[^"' + delimiter + rb"\r\n]*"
        record = rb"(?:" + cell + rb")(?:" + delimiter + rb"(?:" + cell + rb"))*(?:\r?\n)?"
        return re.fullmatch(record, self._data[: self._offset]) is not None

    def unusual_layout(self, longest: int) -> str | None:
        """What sets the body apart from a plain layout, read alike by every CSV reader: a record
        longer than ``longest`` bytes, or a quote apart from its cell's edge by spaces.

        A record's line feeds are those after an even number of quotes (a stray quote in an
        unquoted cell makes the rest of the file look like one record, which is then long), and
        so are the quotes that open a cell; the others close one or are doubled inside one.  On a
        spaced quote (``a, "b"`` or ``"b" ,c``) readers disagree: the importer keeps the spaces
        and the quotes as text, DuckDB's reader drops both and reads a line end between them as
        part of the cell.  Inside a quoted cell (``"Hi, ""Ann"" x"``) the text is the same to
        both.
        """
        from concurrent.futures import ThreadPoolExecutor

        body = np.frombuffer(memoryview(self._data)[self._offset :], np.uint8)
        starts = range(0, len(body), _SCAN_BYTES)
        # the quotes before each chunk, modulo 2, so that the chunks are read in two threads
        # (NumPy lets go of the GIL): 1 where they leave a cell open
        counts = [np.count_nonzero(body[start : start + _SCAN_BYTES] == 34) for start in starts]
        carried = (np.cumsum([0, *counts]) % 2).tolist()[: len(counts)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            chunks = list(
                pool.map(lambda at: self._layout_of_chunk(body, at[1], at[0], longest),
                         zip(carried, starts, strict=True))
            )  # fmt: skip
        previous = -1  # the position of the last record end seen
        for problem, ends in chunks:
            if problem is not None:
                return problem
            if ends is None:
                continue
            if ends[0] - previous - 1 > longest:
                return f"a record longer than {longest:,} bytes"
            previous = ends[1]
        if len(body) - previous - 1 > longest:
            return f"a record longer than {longest:,} bytes"
        return None

    def _layout_of_chunk(
        self, body: np.ndarray, start: int, quoted: int, longest: int
    ) -> tuple[str | None, tuple[int, int] | None]:
        """:meth:`unusual_layout` of the chunk of the body from ``start`` on (``quoted``: 1 when
        the quotes before it leave a cell open): the problem found within it, and its first and
        last record ends (None: none)."""
        chunk = body[start : start + _SCAN_BYTES]
        ends = np.flatnonzero(chunk == 10)
        # with the byte before the chunk, to see a quote and a space on either side of its edge
        behind = min(start, 1)
        is_quote = body[start - behind : start + len(chunk)] == 34
        quotes = np.flatnonzero(is_quote[behind:])
        if is_quote.any() and self._spaced_quote(body, start, behind, is_quote, quotes, quoted):
            return "a quote apart from its cell's edge by spaces", None
        if quoted or len(quotes):
            ends = ends[(np.searchsorted(quotes, ends) + quoted) % 2 == 0]
        if len(ends) == 0:
            return None, None
        if np.any(np.diff(ends) - 1 > longest):
            return f"a record longer than {longest:,} bytes", None
        return None, (start + int(ends[0]), start + int(ends[-1]))

    def _spaced_quote(
        self, body: np.ndarray, start: int, behind: int, is_quote: np.ndarray,
        quotes: np.ndarray, quoted: int,
    ) -> bool:  # fmt: skip
        """Whether a quote opening or closing a cell of the chunk from ``start`` on has only
        spaces between it and the cell's edge (``is_quote``: the chunk's quotes and the
        ``behind`` bytes before it; ``quotes``: their positions in the chunk; ``quoted``: 1 when
        the quotes before the chunk leave a cell open)."""
        window = start - behind
        is_space = body[window : window + len(is_quote)] == 32
        if not is_space.any():
            return False
        space_quote, quote_space = is_space[:-1] & is_quote[1:], is_quote[:-1] & is_space[1:]
        if not (space_quote.any() or quote_space.any()):
            return False  # no quote beside a space: the usual file, told in a few passes

        def quotes_before(at: int) -> int:  # modulo 2, counted from the file's start
            if at < start:  # the byte before the chunk: the last quote counted before it
                return quoted ^ 1
            return (quoted + int(np.searchsorted(quotes, at - start))) % 2

        edges = (self.delimiter.encode()[0], 10, 13)
        for at in np.flatnonzero(space_quote) + window + 1:
            if quotes_before(at) == 1:  # inside a cell: a doubled quote
                continue
            while at > 0 and body[at - 1] == 32:
                at -= 1
            if at == 0 or body[at - 1] in edges:
                return True
        for at in np.flatnonzero(quote_space) + window:
            if quotes_before(at) == 0:  # it opens a cell (or reopens one: a doubled quote)
                continue
            at += 1
            while at < len(body) and body[at] == 32:
                at += 1
            if at == len(body) or body[at] in edges:
                return True
        return False

    def _reencode_cp1252(self) -> None:
        """Read the body, found not to be UTF-8 past the header, as Windows-1252 (or fail)."""
        self._text = _not_utf8(self.name, self._body, self.header_row + 1)
        self._data, self._offset = self._text.encode("utf-8"), 0
        self.encoding = "cp1252"

    def text(self) -> str:
        if self._text is None:
            try:
                self._text = bytes(self._body).decode("utf-8")
            except UnicodeDecodeError:
                self._reencode_cp1252()
        assert self._text is not None
        return self._text

    def check_quotes_closed(self) -> None:
        """Raise when a quoted cell is never closed: both parsers would read the rest of the file
        into that one cell, and its rows would vanish without a trace.

        Closed quotes come in pairs (a quote inside a quoted cell is doubled), so only a file with
        an odd number of quote characters is parsed here, by Python's csv module: a stray quote
        inside an unquoted cell (``12" pizza``) is literal and makes the count odd too.
        """
        if self._quotes_checked:
            return
        if self._data.count(b'"', self._offset) % 2 == 1:
            found = _unclosed_quote(self.text(), self.delimiter)
            if found is not None:
                record, cell, lines = found
                column = self.header[cell] if cell < len(self.header) else None
                if lines > 1:
                    problem = (
                        f"a quoted cell opens here and is never closed, so the {lines - 1} lines "
                        "after it would be read as its text: close it, or double a quote meant "
                        'as text ("")'
                    )
                else:
                    problem = "a quoted cell opens here and the file ends inside it: cut off?"
                raise InputError(self.name, problem, row=self.header_row + record, column=column)
        self._quotes_checked = True

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(spreadsheet row, cells) of every non-blank data record, parsed by Python's csv module."""
        self.check_quotes_closed()
        _lift_field_limit()
        reader = csv.reader(io.StringIO(self.text(), newline=""), delimiter=self.delimiter)
        row = self.header_row
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise InputError(self.name, f"malformed CSV: {error}", row=row + 1) from None
            row += 1
            if record:
                yield row, record

    def first_values(self, column: str, limit: int = 200) -> list[str]:
        """The first ``limit`` non-empty cells of ``column`` (trimmed), parsed from the start of
        the file's body alone: a look at what a column holds, at no cost for a large file."""
        position = self.header.index(column)
        head = bytes(self._body[:SAMPLE_BYTES]).decode(self.encoding, errors="replace")
        if len(self._body) > SAMPLE_BYTES:
            head = head[: head.rfind("\n") + 1]  # whole records only
        records = csv.reader(io.StringIO(head, newline=""), delimiter=self.delimiter)
        return _first_filled(
            (record[position] if position < len(record) else "" for record in records), limit
        )

    def _read_python(self, wanted: list[str], positions: dict[str, int]) -> Table:
        width = len(self.header)
        columns: list[list[str]] = [[] for _ in wanted]
        rows: list[int] = []
        for row, record in self.records():
            if len(record) > width and any(cell.strip() for cell in record[width:]):
                raise InputError(
                    self.name,
                    f"row has {len(record)} cells but the header has {width} columns",
                    row=row,
                )
            rows.append(row)
            for out, name in zip(columns, wanted, strict=True):
                position = positions[name]
                out.append(record[position] if position < len(record) else "")
        table = pa.table(
            {
                name: pa.array(values, pa.string())
                for name, values in zip(wanted, columns, strict=True)
            }
        )
        return Table(self.name, list(self.header), table, self, row_map=np.asarray(rows, np.int64))


def title_note(source: CsvFile | Path) -> str | None:
    """A note when rows of a report's title above the header were skipped (a CSV file's
    ``title_rows``), naming them and the header's row."""
    if isinstance(source, Path):
        with open(source, "rb") as handle:
            head = handle.read(_TITLE_BYTES)
        utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        text = head.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="replace")
        if not utf16 and _title_lines(text) is None:
            return None  # the usual file is not read whole for this
        source = open_csv(source)
    if not source.title_rows:
        return None
    rows = "row" if source.title_rows == 1 else f"{source.title_rows} rows"
    return (
        f"{rows} above the header (row {source.header_row}) read as a report's title, not "
        "data: skipped"
    )


def cut_off_note(source: CsvFile | Path) -> str | None:
    """A note when the file ends inside its last row: no line break after it and fewer cells
    than the header has, as a download cut off mid-row leaves it.  The row is read as it is (its
    cells may be whole), so this is a note for the ingest report, not an error."""
    if isinstance(source, Path):
        with open(source, "rb") as handle:
            if handle.seek(0, io.SEEK_END) == 0:
                return None
            handle.seek(-1, io.SEEK_END)
            if handle.read(1) in (b"\n", b"\r"):
                return None
        source = open_csv(source)
    data = source._data
    start = data.rfind(b"\n") + 1
    if start <= source._offset or data.endswith(b"\r"):
        return None  # a header alone, or the last row ends with a line break
    line = data[start:].decode("utf-8", errors="replace")
    if '"' in line:
        return None  # possibly the end of a multi-line cell: cells not countable from one line
    cells = next(csv.reader([line], delimiter=source.delimiter), [])
    if not cells or len(cells) >= len(source.header):
        return None
    return (
        f"the last row has {len(cells)} of the header's {len(source.header)} "
        "cells and no line break after it, as a file cut off mid-row has; it was read as it is "
        "(if the download was interrupted, export the file again)"
    )


def _unclosed_quote(text: str, delimiter: str) -> tuple[int, int, int] | None:
    """(record, cell, lines) of a quoted cell that ``text`` (a body after its header) never
    closes: the record's number (1 for the first), the cell's position in it and the physical
    lines from the record's start to the end of the text; ``None`` when every quote is closed."""
    _lift_field_limit()
    starts: list[int] = []

    def lines() -> Iterator[str]:
        offset = 0
        for line in io.StringIO(text, newline=""):
            starts.append(offset)
            offset += len(line)
            yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    record, first_line, lines_before = 0, 0, 0
    try:
        for _ in reader:
            record += 1
            first_line, lines_before = lines_before, reader.line_num
    except csv.Error:
        return None  # a malformed record: the parsers report it where they meet it
    if record == 0:
        return None
    tail = text[starts[first_line] :]  # the last record's text, to the end
    try:
        for _ in csv.reader(io.StringIO(tail, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as error:
        if "unexpected end of data" not in str(error):
            return None
        cells = next(csv.reader(io.StringIO(tail, newline=""), delimiter=delimiter))
        return record, len(cells) - 1, len(starts) - first_line
    return None


_LAZY = object()
_DICTIONARY = pa.dictionary(pa.int32(), pa.string())


def _date_part(fmt: str) -> str | None:
    """The date of a format whose time follows it (``%d/%m/%Y %H:%M`` -> ``%d/%m/%Y``), else
    None: a spreadsheet writes a date-time at midnight as its date alone."""
    match = re.search(r"[ T]%[HI]", fmt)
    return fmt[: match.start()] if match and match.start() else None


def _day_first(cell: str) -> str:
    """The day-first ``strptime`` format of a :data:`_DMY_SHAPE` cell (``05.01.2026 10:30``)."""
    separator = next(c for c in cell if not c.isdigit())
    shape = re.match(_DMY_SHAPE, cell.strip())
    clock = ""
    if shape is not None and shape.group(4) is not None:
        between = cell.strip()[shape.end(3)]  # a space or T
        clock = f"{between}%H:%M" + (":%S" if shape.group(6) is not None else "")
    return f"%d{separator}%m{separator}%Y{clock}"


def _either_order(cell: str, written: str) -> str:
    """The two ``--map date_format`` options of a cell whose day and month no other cell tells
    apart (``03/01/2024``): the merchant knows their shop's order, the file does not say it,
    and a US shop following a day-first example alone would swap every date.  A dotted date
    (``05.01.2024``, as German and most of Europe write it) is day first: its one option."""
    day_first = _as_written(_day_first(cell), written)
    if "%d.%m" in day_first:
        return f"give its format, e.g. {_date_format_option(day_first)}"
    month_first = day_first.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
    return (
        f"give its format: {_date_format_option(day_first)} if the day comes first, "
        f"{_date_format_option(month_first)} if the month does"
    )


_TWELVE_HOUR = (
    r"^(?P<head>(?:.*?[^\d])?)(?P<hour>\d{1,2})(?P<rest>:\d{2}(?::\d{2})?)"
    r"\s*(?P<half>[AaPp])\.?\s?[Mm]\.?$"
)
"""A cell ending in a 12-hour clock (``11:30 pm``, ``9:05 AM``, ``11:30:00 p.m.``), as
WordPress's time formats ``g:i a`` and ``g:i A`` write it; RE2 and Python alike."""

_CLOCK_JOINER = r"(?i),?\s+(?:at|um|à|a las|alle|om|às)\s+(\d{1,2}:\d{2})|,\s*(\d{1,2}:\d{2})"
"""The word or comma a date written in words puts before its time (``March 5, 2024 at 23:30``,
``5. März 2024 um 23:30``, ``5 mars 2024 à 23:30``, ``5 March 2024, 23:30``)."""

_WORDPRESS_FORMATS = tuple(
    date + clock
    for date in ("%b %d, %Y", "%b %d %Y", "%d %b %Y", "%d. %b %Y", "%d %b, %Y", "%d de %b de %Y")
    for clock in ("", " %H:%M", " %H:%M:%S")
)
"""The forms of WordPress's date settings that name the month (``F j, Y``, ``j F Y``, ``j. F
Y``, ``j \\d\\e F \\d\\e Y``; ``M`` for ``F`` alike), its month names made English
(:func:`english_month_names`) and its clock 24-hour (:func:`_twenty_four_hour`)."""


_WEEKDAY_WORDS = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonnabend", "sonntag",
    "lunes", "martes", "miércoles", "miercoles", "jueves", "viernes", "sábado", "sabado",
    "domingo", "lunedì", "lunedi", "martedì", "martedi", "mercoledì", "mercoledi", "giovedì",
    "giovedi", "venerdì", "venerdi", "sabato", "maandag", "dinsdag", "woensdag", "donderdag",
    "vrijdag", "zaterdag", "zondag", "segunda-feira", "terça-feira", "terca-feira",
    "quarta-feira", "quinta-feira", "sexta-feira",
)  # fmt: skip
"""Weekday names a date written in words may start with (WordPress's ``l, F j, Y``: ``Tuesday,
March 5, 2024``), in the languages of :data:`_MONTH_WORDS`: whole names, and English's
abbreviations, none of which is a month's (French ``mar.`` is March's too, so it is not here)."""

_WEEKDAY_AND_ORDINAL = (
    r"(?i)^\s*(?:" + "|".join(sorted(_WEEKDAY_WORDS, key=len, reverse=True)) + r")\.?,?\s+"
    r"|\b(\d{1,2})(?:st|nd|rd|th)\b"
)
"""A leading weekday name, or an English ordinal's suffix on a day (WordPress's ``jS``:
``March 5th, 2024``), which :func:`without_weekday` drops."""


def without_weekday(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``values`` (dates written in words) without a leading weekday name and with a day's
    ordinal as its number (``Tuesday, March 5th, 2024`` -> ``March 5, 2024``): the month's name
    says which number is the day, and the weekday adds nothing to read."""
    return pc.replace_substring_regex(values, pattern=_WEEKDAY_AND_ORDINAL, replacement=r"\1")


def _twenty_four_hour(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """``values`` with a 12-hour clock at their end written as a 24-hour one (``2024-03-05
    11:30 pm`` -> ``2024-03-05 23:30``, ``12:10 am`` -> ``00:10``); an hour no 12-hour clock
    has (``13:00 pm``, ``0:30 am``) is written ``99`` so that no date reads it."""
    found = pc.extract_regex(values, _TWELVE_HOUR)
    if pc.all(pc.is_null(found)).as_py() is not False:
        return values
    hour = pc.cast(pc.struct_field(found, "hour"), pa.int64())
    afternoon = pc.match_substring_regex(pc.struct_field(found, "half"), "^[Pp]$")
    twelve = pc.equal(hour, 12)
    hour = pc.if_else(afternoon, pc.if_else(twelve, 12, pc.add(hour, 12)),
                      pc.if_else(twelve, 0, hour))  # fmt: skip
    written = pc.cast(pc.struct_field(found, "hour"), pa.int64())
    impossible = pc.or_(pc.less(written, 1), pc.greater(written, 12))
    hour = pc.if_else(impossible, 99, hour)
    clock = pc.utf8_lpad(pc.cast(hour, pa.string()), width=2, padding="0")
    joined = pc.binary_join_element_wise(
        pc.struct_field(found, "head"), clock, pc.struct_field(found, "rest"), ""
    )
    return pc.if_else(pc.is_valid(found), joined, values)


def _as_written(fmt: str, cell: str) -> str:
    """``fmt`` (a 24-hour ``%H``) with the 12-hour clock ``cell`` is written with, if so."""
    if re.search(_TWELVE_HOUR, cell.strip()) and "%H" in fmt:
        return fmt.replace("%H", "%I") + " %p"
    return fmt


def _date_format_option(fmt: str) -> str:
    """The ``--map`` option giving ``fmt``, quoted for the shell where it holds a space or
    another character a shell reads (``%d/%m/%Y %H:%M`` unquoted is two arguments, the second
    taken for a file), and a comma in double quotes inside (the map's own separator)."""
    if re.fullmatch(r"[\w%/.:-]+", fmt):
        return f"--map date_format={fmt}"
    return f"--map 'date_format=\"{fmt}\"'" if "," in fmt else f"--map 'date_format={fmt}'"


def _unread_date_hint(cell: str) -> str:
    """What to do about a date cell no rule reads, as the end of the error's parenthesis."""
    text = cell.strip()
    if re.fullmatch(r"\d{5}(\.\d+)?", text) and 20_000 <= float(text) < 80_000:
        return (
            "; it looks like a spreadsheet's day number: format the column as dates in the "
            "spreadsheet and save the file again"
        )
    guessed = _guessed_format(text)
    if guessed is not None:
        # a format holding a comma goes in double quotes, the whole option in single ones
        given = f"'date_format=\"{guessed}\"'" if "," in guessed else f"'date_format={guessed}'"
        return f", or give the column's format in Python's strptime codes: --map {given}"
    return (
        ", or give the column's format in Python's strptime codes, as --map "
        "'date_format=%d.%m.%Y %H:%M' reads 31.01.2024 14:30"
    )


_MONTH_WORDS: dict[str, tuple[str, ...]] = {
    "Jan": ("jan", "january", "janvier", "janv", "januar", "jänner", "jän", "enero", "ene",
            "gennaio", "gen", "januari", "janeiro"),
    "Feb": ("feb", "february", "février", "fevrier", "févr", "fevr", "fév", "fev", "februar",
            "febrero", "febbraio", "februari", "fevereiro"),
    "Mar": ("mar", "march", "mars", "märz", "maerz", "mär", "mrz", "marzo", "maart", "mrt",
            "março", "marco"),
    "Apr": ("apr", "april", "avril", "avr", "abril", "abr", "aprile"),
    "May": ("may", "mayo", "maggio", "mag", "mai", "mei", "maio"),
    "Jun": ("jun", "june", "juin", "juni", "junio", "giugno", "giu", "junho"),
    "Jul": ("jul", "july", "juillet", "juil", "juli", "julio", "luglio", "lug", "julho"),
    "Aug": ("aug", "august", "augustus", "août", "aout", "agosto", "ago"),
    "Sep": ("sep", "september", "septembre", "septiembre", "settembre", "setembro", "sept",
            "set"),
    "Oct": ("oct", "october", "octobre", "oktober", "octubre", "ottobre", "outubro", "okt", "ott",
            "out"),
    "Nov": ("nov", "november", "novembre", "noviembre", "novembro"),
    "Dec": ("dec", "december", "décembre", "decembre", "dezember", "diciembre", "dicembre",
            "dezembro", "déc", "dez", "dic"),
}  # fmt: skip
"""Month names and abbreviations (with or without their dot) that exports written in English,
French, German, Spanish, Italian, Dutch and Portuguese hold, by the English abbreviation that
``strptime``'s ``%b`` reads: its month names are English whatever the machine's language."""

_MONTH_PATTERNS = tuple(
    (r"(?i)\b(?:" + "|".join(sorted(words, key=len, reverse=True)) + r")\b\.?", english)
    for english, words in _MONTH_WORDS.items()
)


def english_month_names(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``values`` with every month name of :data:`_MONTH_WORDS` written as its English
    abbreviation (``31 mars 2024`` -> ``31 Mar 2024``, ``1. März 2024`` -> ``1. Mar 2024``),
    so that a ``%b`` format reads the dates of an export written in another language."""
    for pattern, english in _MONTH_PATTERNS:
        values = pc.replace_substring_regex(values, pattern=pattern, replacement=english)
    return values


def english_month_format(fmt: str) -> str:
    """``fmt`` reading month names as :func:`english_month_names` writes them (``%B`` -> ``%b``)."""
    return fmt.replace("%B", "%b")


_GUESSED_FORMATS = (
    "%m/%d/%y", "%d/%m/%y", "%m/%d/%y %H:%M", "%d/%m/%y %H:%M",
    "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%d/%m/%Y %I:%M %p", "%d/%m/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M",
    "%B %d, %Y %I:%M %p", "%B %d, %Y %H:%M", "%B %d, %Y", "%b %d, %Y %I:%M %p", "%b %d, %Y",
    "%d %B %Y %H:%M", "%d %B %Y", "%d %b %Y %H:%M", "%d %b %Y", "%d. %b %Y, %H:%M",
    "%d. %b %Y %H:%M", "%d. %b %Y", "%d de %b de %Y", "%d.%m.%y", "%d.%m.%y %H:%M",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y-%m-%d %I:%M:%S %p",
    "%Y-%m-%d %I:%M %p", "%Y/%m/%d %I:%M %p", "%m-%d-%Y", "%d-%m-%Y", "%d-%b-%Y", "%d-%b-%y",
    "%A, %b %d, %Y", "%A, %b %d, %Y %I:%M %p", "%A, %b %d, %Y %H:%M", "%a, %b %d, %Y",
    "%A, %d %b %Y", "%A, %d %b %Y %H:%M", "%a, %d %b %Y", "%a, %d %b %Y %H:%M:%S", "%A %d %b %Y",
)  # fmt: skip
"""Date forms exports write that the readers leave to ``--map date_format``, tried in turn
for the hint of an unread cell (Etsy's 12/30/24, WordPress's January 1, 2023 9:28 pm and its
2023-01-01 9:28 pm, a German shop's 31. März 2024, an admin's Tuesday, March 5, 2024 with its
weekday in English, as ``%A`` reads it) once its month names are English
(:func:`english_month_names`)."""


def _guessed_format(cell: str) -> str | None:
    """A ``strptime`` format that reads ``cell``, a time-zone word at its end kept as written
    (``01/01/2024 10:44 CET``); None when no usual form does."""
    zone = re.search(r"\s([A-Z]{3,4})$", cell)
    body, suffix = (cell[: zone.start()], f" {zone.group(1)}") if zone else (cell, "")
    body = english_month_names(pa.array([body]))[0].as_py()  # what the format will read
    for fmt in _GUESSED_FORMATS:
        try:
            datetime.strptime(body, fmt)
        except ValueError:
            continue
        return fmt + suffix
    return None


def _reading_format(cell: str) -> str | None:
    """The ``strptime`` format, day first or else month first, that reads a
    :data:`_DMY_SHAPE` cell as a real date (``05.01.2026 10:00``); None when neither does."""
    if not re.match(_DMY_SHAPE, cell.strip()):
        return None
    day_first = _day_first(cell)
    for fmt in (day_first, day_first.replace("%d", "#").replace("%m", "%d").replace("#", "%m")):
        try:
            datetime.strptime(cell.strip(), fmt)
        except ValueError:
            continue
        return fmt
    return None


AMBIGUOUS_POINT = r"^[+-]?[1-9]\d{0,2}\.\d{3}$"
"""An amount whose point may separate thousands or mark decimals (``1.500``, ``-12.250``)."""


def _check_range(table: Table, amounts: np.ndarray, column: str) -> None:
    """Refuse the first amount beyond :data:`MAX_AMOUNT` in absolute value, naming its row."""
    beyond = np.abs(amounts) > MAX_AMOUNT  # NaN (an empty cell) compares False
    if beyond.any():
        position = int(np.flatnonzero(beyond)[0])
        raise table.error(
            f"amount {amount_text(amounts[position])} is out of range "
            f"(more than {MAX_AMOUNT:,.0f} either way): not a plausible amount",
            position,
            column,
        )


def release_arrow_pages() -> None:
    """Return the pages Arrow's allocator holds freed to the system.

    Arrow's allocator keeps freed pages for its own reuse, where NumPy and pandas, which
    allocate apart from it, cannot have them: an importer that lets go of a file's columns
    before it builds its frames calls this to keep its peak to what it holds (a few
    milliseconds)."""
    pa.default_memory_pool().release_unused()


def open_csv(path: str | Path, name: str | None = None) -> CsvFile:
    """Read ``path`` into memory, decide its encoding and delimiter and parse its header row.

    The rules are the module docstring's; every problem is an :class:`InputError`.
    """
    display = str(path) if name is None else name
    problem = file_problem(path)
    if problem is None and Path(path).is_dir():
        problem = "is a folder of Parquet files, read as an orders table (--format orders)"
    if problem is not None:
        raise InputError(display, problem)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise InputError(display, f"cannot read the file: {error.strerror or error}") from None
    return _opened(display, data, Path(path))


def _opened(display: str, data: bytes, path: Path) -> CsvFile:
    """:func:`open_csv` of the bytes ``data`` read from ``path``."""
    other = other_kind_of_file(data)
    if other is not None:
        raise InputError(display, other)
    body, encoding, start = _marked_encoding(display, data)
    try:
        header_row, header, delimiter, consumed, titles = _parse_header(display, body, start)
    except UnicodeDecodeError:
        body = _not_utf8(display, memoryview(body)[start:], 1).encode("utf-8")
        encoding, start = "cp1252", 0
        header_row, header, delimiter, consumed, titles = _parse_header(display, body, start)
    if len(header) > _MAX_COLUMNS:
        raise InputError(
            display,
            f"the header has {len(header):,} columns (at most {_MAX_COLUMNS:,} are read): "
            "not an order export",
            row=header_row,
        )
    _check_no_nul(display, body, start, delimiter, header, header_row)
    return CsvFile(
        display, header, delimiter, encoding, header_row, body, start + consumed,
        path=path if body is data else None, title_rows=titles,
    )  # fmt: skip


_HEADER_HEAD_BYTES = _HEAD_BYTES + 2 * _TITLE_BYTES
"""The head :func:`open_header` reads: past the header parse's first read (:data:`_HEAD_BYTES`)
below a report's title (:data:`_TITLE_BYTES`), and no larger: a block read raises the size the C
heap serves from its own pages, not the system's, for the rest of the process."""


class _HeadTooShort(Exception):
    """The header parse of a file's head needs bytes past it."""


def open_header(path: str | Path, name: str | None = None) -> CsvFile:
    """:func:`open_csv`'s file without its bytes (as :meth:`CsvFile.without_body` leaves it),
    its header parsed from the file's head: for a look at the header (which export it is), where
    the importer reads the file after.

    The errors are :func:`open_csv`'s: a file the head does not settle (UTF-16, a header that
    is not UTF-8 or longer than the head, a NUL byte anywhere) is read by it whole.
    The rest of the file is looked through mapped, only to find a NUL byte.
    """
    display = str(path) if name is None else name
    problem = file_problem(path)
    if problem is not None or Path(path).is_dir():
        return open_csv(path, name).without_body()
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEADER_HEAD_BYTES)
    except OSError:
        return open_csv(path, name).without_body()
    if len(head) < _HEADER_HEAD_BYTES:  # the whole file
        return _opened(display, head, Path(path)).without_body()
    if other_kind_of_file(head) is not None or head.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        return open_csv(path, name).without_body()
    _, encoding, start = _marked_encoding(display, head)
    try:
        header_row, header, delimiter, _, titles = _parse_header(
            display, head, start, whole_file=False
        )
    except (UnicodeDecodeError, _HeadTooShort):
        return open_csv(path, name).without_body()
    if len(header) > _MAX_COLUMNS or _holds_nul(Path(path)):
        return open_csv(path, name).without_body()
    return CsvFile(
        display, header, delimiter, encoding, header_row, b"", 0, path=Path(path),
        title_rows=titles,
    )  # fmt: skip


def _holds_nul(path: Path) -> bool:
    """Whether the file may hold a NUL byte, looked for in the file mapped (the system's cache
    of its pages), not read into the process's heap; a file that cannot be mapped may."""
    try:
        with (
            open(path, "rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped,
        ):
            return mapped.find(b"\x00") >= 0
    except (OSError, ValueError):
        return True


_OTHER_KINDS = (
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook, or a zipped export): save the sheet as "
     "CSV in the spreadsheet, or unzip the export, and give that file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls): save the sheet "
     "as CSV in the spreadsheet and give that file"),
    (b"\x1f\x8b", "gzip-compressed: decompress it (gunzip) and give the CSV file"),
    (b"PAR1", "a Parquet file: give it a .parquet name to read it as one"),
    (b"%PDF", "a PDF document, not an export: export the orders as CSV"),
)  # fmt: skip
"""The first bytes of files merchants give in place of a CSV export, and what to do instead."""


def other_kind_of_file(data: bytes) -> str | None:
    """What ``data`` is when it is plainly no CSV text (a workbook, an archive, an XML or HTML
    document), with what to give instead; None for anything else."""
    for magic, what in _OTHER_KINDS:
        if data.startswith(magic):
            return f"this is {what}"
    start = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<?xml", b"<workbook", b"<ss:workbook")):
        return (
            "this is an XML document (a spreadsheet's XML, or Magento's Excel XML export), not "
            "CSV: export the orders as CSV instead"
        )
    if start.startswith((b"<!doctype html", b"<html")):
        return "this is a web page (HTML), not an export: download the CSV file itself"
    return None


def _marked_encoding(name: str, data: bytes) -> tuple[bytes, str, int]:
    """(UTF-8 body, encoding, where the text starts) as a byte-order mark says; UTF-8 without one."""
    if data.startswith(codecs.BOM_UTF8):
        return data, "utf-8", 3
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").encode("utf-8"), "utf-16", 0
        except UnicodeDecodeError:
            raise InputError(name, "the file starts with a UTF-16 mark but is not UTF-16") from None
    return data, "utf-8", 0


TITLE_ROWS = 20
"""Lines of a report's title (:func:`_title_lines`) looked through for the header below them."""


def _parse_header(
    name: str, body: bytes, start: int, *, whole_file: bool = True
) -> tuple[int, list[str], str, int, int]:
    """(row, names, delimiter, bytes up to the end of the header, title rows) of
    ``body[start:]``: the header is the first record, or the first of two or more cells below a
    report's title (:func:`_title_lines`), whose lines with a cell are the title rows.

    ``whole_file=False``: ``body`` is the file's head; :class:`_HeadTooShort` where the parse
    needs bytes past it."""
    header_row, header, delimiter, consumed = _first_record(name, body, start, whole_file)
    if sum(1 for cell in header if cell) > 1:
        return header_row, header, delimiter, consumed, 0
    head = codecs.getincrementaldecoder("utf-8")().decode(
        bytes(memoryview(body)[start : start + _TITLE_BYTES]), final=False
    )
    title = _title_lines(head)
    if title is None:
        return header_row, header, delimiter, consumed, 0
    skipped = len("".join(title).encode("utf-8"))
    header_row, header, delimiter, consumed = _first_record(name, body, start + skipped, whole_file)
    titles = sum(1 for line in title if _filled_cells(line))
    return len(title) + header_row, header, delimiter, skipped + consumed, titles


def _title_lines(head: str) -> list[str] | None:
    """The lines of a report's title above the header at the start of ``head``, or None.

    Reports saved from a shop's admin or a till often start with a title or the shop's name on a
    line of one cell, then lines such as ``From:,2024-01-01`` and a blank line: the header is
    the first line of two or more cells within :data:`TITLE_ROWS` lines when every line above
    it holds one cell at most, or, where that line holds two, the first line of three or more
    below it when none between holds more than two (an orders table has three columns at least).
    Each line's cells are counted with its own delimiter (a title saved by a spreadsheet ends in
    empty cells). A file whose first line holds two cells or more has no title, nor one of one
    column throughout, nor one whose lines above the header are empty.
    """
    lines: list[str] = []
    counts: list[int] = []
    for line in io.StringIO(head, newline=""):
        cells = _filled_cells(line)
        if len(lines) > TITLE_ROWS or not line.endswith(("\n", "\r")) or cells is None:
            break
        lines.append(line)
        counts.append(cells)
    start = next((at for at, cells in enumerate(counts) if cells > 1), None)
    if not start:  # no line of two cells, or the first line is the header
        return None
    header = start
    if counts[start] == 2:
        wider = next((at for at in range(start, len(counts)) if counts[at] > 2), None)
        if wider is not None and max(counts[start:wider]) <= 2:
            header = wider
    return lines[:header] if any(counts[:header]) else None


def _filled_cells(line: str) -> int | None:
    """The non-empty cells of one line, split at its own delimiter; None where it is no
    record (a quote left open)."""
    try:
        cells = next(csv.reader([line], delimiter=_sniff_delimiter(line)), [])
    except csv.Error:
        return None
    return sum(1 for cell in cells if cell.strip())


def _first_record(
    name: str, body: bytes, start: int, whole_file: bool = True
) -> tuple[int, list[str], str, int]:
    """(row, names, delimiter, bytes up to the end of the header) of ``body[start:]``.

    The header is read whole however long it is: the head read grows until the header row ends
    inside it. Raises ``UnicodeDecodeError`` when the head (at least 1 MiB, or the whole file)
    is not UTF-8, and :class:`_HeadTooShort` when ``body`` is a head (``whole_file=False``)
    the read grows to its end.
    """
    _lift_field_limit()
    size = _HEAD_BYTES
    while True:
        whole = start + size >= len(body)
        if whole and not whole_file:
            raise _HeadTooShort
        chunk = bytes(memoryview(body)[start : start + size])
        head_text = codecs.getincrementaldecoder("utf-8")().decode(chunk, final=whole)
        if whole and not head_text.strip():
            raise InputError(name, "the file is empty (no header row)")
        delimiter = _sniff_delimiter(head_text.lstrip("\r\n"))
        lines = _CountingLines(head_text)
        reader = csv.reader(lines, delimiter=delimiter)
        header_row, header = 0, []
        try:
            while not header:
                header_row += 1
                header = next(reader)
        except StopIteration:
            if whole:
                raise InputError(name, "the file has no header row") from None
        except csv.Error as error:
            raise InputError(name, f"malformed header: {error}", row=header_row) from None
        if whole or lines.consumed < len(head_text):
            break
        size *= 4
    header = [cell.replace("\ufeff", "").strip() for cell in header]
    consumed = len(head_text[: lines.consumed].encode("utf-8"))
    return header_row, header, delimiter, consumed


def bare_name(name: str) -> str:
    """A header name without its punctuation: :func:`normalise_name` with every run of
    characters other than letters and digits one space (``Order #`` -> ``order``, ``order-id``
    -> ``order id``, ``Total (incl. VAT)`` -> ``total incl vat``)."""
    return re.sub(r"[\W_]+", " ", normalise_name(name)).strip()


def find_column(header: Sequence[str], aliases: Iterable[str]) -> str | None:
    """The first column of ``header`` named as one of ``aliases`` (in the aliases' order) by
    :func:`normalise_name`, else as one of them without punctuation (:func:`bare_name`): an
    admin export's ``Order #`` or ``order-id`` is the ``order`` or ``order_id`` it means."""
    aliases = list(aliases)
    for normalise in (normalise_name, bare_name):
        lookup: dict[str, str] = {}
        for name in header:
            lookup.setdefault(normalise(name), name)
        for alias in aliases:
            found = lookup.get(normalise(alias))
            if found is not None:
                return found
    return None


def check_unique(file: str, header: Sequence[str], found: str | None, header_row: int) -> None:
    """Raise when the column ``found`` for a field shares its name with another: which one the
    merchant meant is unknown, and reading the first would silently ignore the other."""
    if found is None:
        return
    key = normalise_name(found)
    positions = [i + 1 for i, name in enumerate(header) if normalise_name(name) == key]
    if len(positions) > 1:
        listed = ", ".join(map(str, positions[:-1])) + f" and {positions[-1]}"
        raise InputError(
            file,
            f"columns {listed} share this name, so which one to read is unclear: "
            "rename or remove all but one",
            row=max(header_row, 1),
            column=found,
        )


def clean_text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text cells as :meth:`Table.text` cleans them (whitespace trimmed, a leading apostrophe
    removed, empty -> null): each cell alike, whatever the others hold."""
    return _clean(values, True)


def _clean(values: pa.ChunkedArray, strip_apostrophe: bool) -> pa.ChunkedArray:
    """Cells as text: whitespace trimmed, a leading apostrophe removed, empty -> null."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        if pa.types.is_timestamp(values.type) or pa.types.is_date(values.type):
            # formatted once per distinct value (formatting is slow, dates repeat a lot)
            encoded = pc.dictionary_encode(values.combine_chunks())
            text = pc.strftime(encoded.dictionary, format="%Y-%m-%d %H:%M:%S")
            values = pa.chunked_array([text.take(encoded.indices)])
        elif _is_uuid(values.type):
            values = _uuid_text(values)
        elif pa.types.is_floating(values.type):
            values = _float_text(values)
        else:
            values = pc.cast(values, pa.string())
    if _padded(values):
        values = pc.utf8_trim_whitespace(values)
    if strip_apostrophe and pc.any(pc.starts_with(values, "'")).as_py():
        values = pc.utf8_trim_whitespace(pc.replace_substring_regex(values, r"^'", ""))
    return pa.chunked_array([_empty_as_null(chunk) for chunk in values.chunks], values.type)


def _float_text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Float cells as text, a whole number as its digits: a warehouse's id column stored as a
    float (pandas' integer column with gaps) is ``9000000000000`` as its CSV export's ids are
    read (:func:`~valuecast.io._build.whole_number_ids`), not Arrow's ``9e+12``."""
    values = values.combine_chunks()
    if pa.types.is_float16(values.type):
        values = pc.cast(values, pa.float32())
    numbers = np.asarray(values.to_numpy(zero_copy_only=False), float)
    whole = np.isfinite(numbers) & (np.abs(numbers) < 2.0**53) & (numbers == np.round(numbers))
    text = pc.cast(values, pa.string())
    if not whole.any():
        return pa.chunked_array([text])
    digits = pc.cast(pa.array(np.where(whole, numbers, 0).astype(np.int64)), pa.string())
    return pa.chunked_array([pc.if_else(pa.array(whole), digits, text)])


def _is_uuid(kind: pa.DataType) -> bool:
    """Arrow's UUID type, as DuckDB, PostgreSQL (through Ibis) and Parquet's UUID columns give it."""
    return getattr(kind, "extension_name", None) == "arrow.uuid"


_HEX_PAIRS = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), np.uint8).reshape(
    256, 2
)
_UUID_DASHES = (8, 12, 16, 20)  # the positions among the 32 hex digits where dashes go


def _uuid_text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """UUID cells as their usual text (``0f8fad5b-d9cb-469f-a165-70867728950e``), as a CSV export
    of the same table writes them; Arrow casts no UUID to text, and its 16 bytes are no UTF-8.
    Written with NumPy (no Python per cell): a table of UUID order ids has one per row."""
    array = values.combine_chunks()
    storage = array.storage
    raw = np.frombuffer(storage.buffers()[1], np.uint8)
    raw = raw[storage.offset * 16 : (storage.offset + len(storage)) * 16].reshape(-1, 16)
    digits = _HEX_PAIRS[raw].reshape(-1, 32)
    text = np.insert(digits, _UUID_DASHES, ord("-"), axis=1)
    cells = pa.array(np.ascontiguousarray(text).view("S36").ravel(), pa.binary())
    return pa.chunked_array([pc.if_else(storage.is_valid(), cells.cast(pa.string()), None)])


def _padded(values: pa.ChunkedArray) -> bool:
    """Whether a cell begins or ends with whitespace (as Arrow's trim reads it), so that a
    column without any is not copied trimmed (most are: a million orders' columns were held
    twice, raw and trimmed, ~0.5 GB).

    Told from each cell's first and last bytes (:func:`_edge_bytes`): an ASCII space is one;
    a byte that may begin or end a wider space (``\\xa0`` is two bytes, ``\\u3000`` three)
    sends the chunk to :func:`_padded_by_characters`.  ``values``: text (``string`` or
    ``large_string``, as :func:`_clean` casts any other column)."""
    for chunk in values.chunks:
        first, last = _edge_bytes(chunk)
        if _ASCII_SPACE[first].any() or _ASCII_SPACE[last].any():
            return True
        wide = _BEGINS_WIDE_SPACE[first].any() or _ENDS_WIDE_SPACE[last].any()
        if wide and _padded_by_characters(chunk):
            return True
    return False


def _padded_by_characters(values: pa.Array | pa.ChunkedArray) -> bool:
    """:func:`_padded` told from each cell's first and last characters, trimmed by Arrow."""
    for edge in (pc.utf8_slice_codeunits(values, 0, 1), pc.utf8_slice_codeunits(values, -1)):
        if pc.any(pc.not_equal(pc.utf8_trim_whitespace(edge), edge)).as_py():
            return True
    return False


def _edge_bytes(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The first and the last byte of each non-empty cell of a ``string`` or ``large_string``
    ``chunk``, read from its buffers: two gathers, where slicing each cell's first and last
    character makes two arrays of text (~50 ms a column of 1.4M cells, against ~5 ms)."""
    offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    _, offsets, data = chunk.buffers()
    if data is None or len(chunk) == 0:  # no text at all
        return np.empty(0, np.uint8), np.empty(0, np.uint8)
    bounds = np.frombuffer(offsets, offset_type)[chunk.offset : chunk.offset + len(chunk) + 1]
    starts, ends = bounds[:-1], bounds[1:]
    cells = ends > starts
    if chunk.null_count:
        cells &= np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False), bool)
    text = np.frombuffer(data, np.uint8)
    return text[starts[cells]], text[ends[cells] - 1]


def _byte_set(values: Iterable[int]) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[list(values)] = True
    return table


def _empty_as_null(chunk: pa.Array) -> pa.Array:
    """``chunk`` with its empty strings null: the same text buffers under a new validity
    bitmap, instead of a copy of every cell."""
    kept = pc.fill_null(pc.not_equal(pc.binary_length(chunk), 0), False)
    if pc.all(kept).as_py():
        return chunk
    if chunk.offset or kept.offset:  # the bitmap would not line up with the buffers
        return pc.if_else(kept, chunk, pa.scalar(None, chunk.type))
    buffers = chunk.buffers()
    return pa.Array.from_buffers(chunk.type, len(chunk), [kept.buffers()[1], *buffers[1:]])


WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""Python's whitespace (``str.isspace``: what a text pattern's ``\\s`` matches), which Arrow's
regular expressions (RE2: ASCII ``\\s``) do not share; Arrow's trims do."""
WHITESPACE_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"
""":data:`WHITESPACE` as a character class of Arrow's regular expressions, so that they match
what Python's ``\\s`` does."""

_SPACES = "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE)
""":data:`WHITESPACE` inside a character class of Arrow's regular expressions: the spaces an
amount's thousands are grouped with (a French one's narrow or thin space) or its currency set
apart by."""

_ASCII_SPACE = _byte_set(ord(c) for c in WHITESPACE if ord(c) < 0x80)
"""The bytes that are whitespace by themselves."""
_BEGINS_WIDE_SPACE = _byte_set(c.encode()[0] for c in WHITESPACE if ord(c) >= 0x80)
_ENDS_WIDE_SPACE = _byte_set(c.encode()[-1] for c in WHITESPACE if ord(c) >= 0x80)
"""The first and last bytes of whitespace written in two or three bytes (other characters
share them: the euro sign begins as U+2000, the en quad, does)."""

_MONEY_PER_DISTINCT_FROM = 10_000
"""Rows from which a text column of amounts is parsed per distinct cell (below, one pass over
the rows costs less than finding the distinct cells)."""


# ------------------------------------------------------------------------------------------------
# the table and its parsers
# ------------------------------------------------------------------------------------------------
_CURRENCY = r"[A-Za-z]{1,3}\$|[A-Za-z]{3}|(?i:kr\.?|zł|kč|ft|tl)|[$€£¥₹₺₩₽₪₫฿₱₴₦円]"
"""A currency written with an amount: a code (``USD``), a symbol, a dollar with its country
(``A$``, ``CA$``, ``R$``) or a Nordic, Polish, Czech or Hungarian unit (``kr``, ``zł``)."""
_CURRENCY_CODES = {
    "€": "EUR", "£": "GBP", "₹": "INR", "₺": "TRY", "₩": "KRW", "₽": "RUB", "₪": "ILS",
    "₫": "VND", "฿": "THB", "₱": "PHP", "₴": "UAH", "₦": "NGN", "ZŁ": "PLN", "KČ": "CZK",
    "FT": "HUF", "A$": "AUD", "AU$": "AUD", "CA$": "CAD", "C$": "CAD", "US$": "USD",
    "NZ$": "NZD", "HK$": "HKD", "S$": "SGD", "R$": "BRL", "MX$": "MXN", "NT$": "TWD",
    "KR.": "KR", "TL": "TRY", "円": "JPY",
}  # fmt: skip
"""The currency of a symbol or unit written with amounts (upper-cased), where it names one."""
_ANY_OF = {
    "$": ("USD", "CAD", "AUD", "NZD", "HKD", "SGD", "BRL", "MXN", "TWD",
          # the pesos written with $, and the other dollars
          "ARS", "CLP", "COP", "UYU", "DOP", "CUP", "BSD", "BBD", "BZD", "BMD", "BND", "FJD",
          "GYD", "JMD", "KYD", "LRD", "NAD", "SBD", "SRD", "TTD", "XCD"),
    "KR": ("SEK", "NOK", "DKK", "ISK"),
    "¥": ("JPY", "CNY"),
}  # fmt: skip
"""Symbols several currencies write: a column may mix one with the code of any of these."""
_MARKER_PART = re.compile(r"[A-Z]{1,3}\$|[A-Z]{3}|KR\.?|ZŁ|KČ|FT|TL|[$€£¥₹₺₩₽₪₫฿₱₴₦円]")


@functools.cache
def _iso_currencies() -> frozenset[str]:
    """The ISO 4217 codes (``pycountry``'s list) but those that name no money: ``XXX`` (no
    currency) and ``XTS`` (kept for testing)."""
    import pycountry

    return frozenset(currency.alpha_3 for currency in pycountry.currencies) - {"XXX", "XTS"}


def _marker_currency(marker: str) -> str | None:
    """The currency an amount's upper-cased marker names: its code, or a symbol of several
    currencies (``$``); a symbol and a code agreeing are the code (``$12.00 USD``, ``€12 EUR``).
    None when its parts name two currencies (``€12 USD``).  A marker of unknown parts is itself.
    """
    parts = _MARKER_PART.findall(marker)
    if "".join(parts) != marker:
        return marker
    codes = {_CURRENCY_CODES.get(part, part) for part in parts}
    explicit = codes - _ANY_OF.keys()
    if len(explicit) > 1:
        return None
    if not explicit:
        return codes.pop() if len(codes) == 1 else None
    (code,) = explicit
    return code if all(code in _ANY_OF[symbol] for symbol in codes & _ANY_OF.keys()) else None


_AMOUNT_LIKE = re.compile(r"^[-+(]?\s*[^\d\s]{0,3}\s*[\d.,' ]*\d\s*[^\d\s]{0,3}\)?$")
"""A cell that reads as an amount, whatever its currency sign or grouping (a totals row's)."""

ANY_OF_SYMBOLS = frozenset(_ANY_OF)
"""Symbols of several currencies (``$``, ``kr``), which name none."""


def symbol_currencies(symbol: str) -> tuple[str, ...]:
    """The currencies a symbol of several (:data:`ANY_OF_SYMBOLS`) may be written for, the
    most used first."""
    return _ANY_OF[symbol]


def refused_symbol(symbol: str, clash: str, fix: str, stored: str = "") -> str:
    """The message refusing amounts written in ``symbol`` (one of several currencies) that
    would be taken to be in a currency it cannot be (``clash`` says which), advising a currency
    column and then ``fix``; ``stored`` says where stored orders came from."""
    examples = ", ".join(symbol_currencies(symbol)[:3])
    return (
        f"amounts written in {symbol}{stored} name no currency, {clash}: add a currency column "
        f"to this file ({examples}, ...) {fix}"
    )


NAMED_SYMBOLS = frozenset(_CURRENCY_CODES)
"""Upper-cased symbols that name one currency, which :func:`currency_code` reads as its code."""


_CURRENCY_WORDS = {
    "EURO": "EUR", "EUROS": "EUR", "ZLOTY": "PLN", "ZŁOTY": "PLN", "ZŁOTYCH": "PLN",
    "ZLOTYCH": "PLN", "TL": "TRY", "LIRA": "TRY", "TÜRK LIRASI": "TRY", "YEN": "JPY", "円": "JPY",
    "元": "CNY", "RMB": "CNY", "YUAN": "CNY", "REAL": "BRL", "REAIS": "BRL", "KORUNA": "CZK",
    "FORINT": "HUF", "LEI": "RON", "LEU": "RON", "FRANKEN": "CHF", "FRANC SUISSE": "CHF",
    "STERLING": "GBP", "POUND STERLING": "GBP", "US DOLLAR": "USD", "US DOLLARS": "USD",
}  # fmt: skip
"""A currency named in words, as admin exports and spreadsheets write it in a currency column
(``Euro``, ``Złoty``, Turkey's ``TL``), where the word names one currency (``dollar`` names
many: it is left as written, and no rate file's code matches it)."""


def currency_code(written: str) -> str:
    """A currency column's cell as a code: upper-cased, a symbol of one currency as its code
    (``€`` -> ``EUR``, ``CA$`` -> ``CAD``), a name of one as its code (``Euro`` -> ``EUR``,
    :data:`_CURRENCY_WORDS`); a symbol of several (``$``) as written."""
    upper = " ".join(written.split()).upper()
    return _CURRENCY_CODES.get(upper) or _CURRENCY_WORDS.get(upper, upper)


def currency_codes(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """:func:`currency_code` of every cell (once per distinct one; empty cells stay empty)."""
    distinct = pc.unique(values)
    codes = pa.array([None if v is None else currency_code(v) for v in distinct.to_pylist()])
    return pc.take(codes.cast(pa.string()), pc.index_in(values, value_set=distinct))


_CURRENCY_AT_ENDS = rf"^(?:{_CURRENCY})\s*|\s*(?:{_CURRENCY})$"
_MONEY_SHAPE = r"^(?:\d{1,3}(?:[.,' ]\d{3})+|\d+)(?:[.,]\d+)?$|^[.,]\d+$"
_ISO_SHAPE = (
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
    r"\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$"
)
_ZONED_ISO = (
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
    r"\s*(?P<zone>Z|UTC|GMT|[+-](?:0\d|1[0-4])(?::?[0-5]\d)?)$"
)
_UTC_DESIGNATORS = r"^(?:Z|UTC|GMT|[+-]00(?::?00)?)$"


def zone_offsets(cells: pa.ChunkedArray | pa.Array) -> np.ndarray | None:
    """Minutes east of UTC of each cell's ISO time as its zone designator writes it (``Z``,
    ``UTC``, ``+01:00``, ``-0500``; NaN for an empty cell), where every filled cell is an ISO
    time written with one (the instants of an API's or a database's export); else None."""
    zones = pc.extract_regex(cells, _ZONED_ISO)
    present = pc.is_valid(cells)
    if pc.any(pc.and_(present, pc.is_null(zones))).as_py() or not pc.any(present).as_py():
        return None
    written = pc.struct_field(zones, "zone")
    distinct = pc.unique(written).to_pylist()
    minutes = []
    for zone in distinct:
        if zone is None or zone in ("Z", "UTC", "GMT"):
            minutes.append(np.nan if zone is None else 0.0)
            continue
        digits = zone[1:].replace(":", "")
        sign = -1.0 if zone[0] == "-" else 1.0
        minutes.append(sign * (int(digits[:2]) * 60 + int(digits[2:] or 0)))
    at = pc.index_in(written, value_set=pa.array(distinct, pa.string()))
    return np.asarray(minutes, float)[
        np.asarray(pc.fill_null(at, 0).to_numpy(zero_copy_only=False))
    ]


def written_in_utc(cells: Iterable[str | None] | pa.ChunkedArray | pa.Array) -> bool:
    """Whether any cell is an ISO time written in UTC (``2024-03-05T23:30:00Z``, ``+00:00``):
    read as written, its day is the UTC day, not the shop's."""
    if not isinstance(cells, pa.ChunkedArray | pa.Array):
        cells = pa.array([cell for cell in cells if cell], pa.string())
    zones = pc.struct_field(pc.extract_regex(cells, _ZONED_ISO), "zone")
    return bool(pc.any(pc.match_substring_regex(zones, _UTC_DESIGNATORS)).as_py())


_DMY_SHAPE = r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
TRUE_WORDS = {"yes", "y", "true", "t", "1", "subscribed", "confirmed_opt_in", "opted in"}
FALSE_WORDS = {"no", "n", "false", "f", "0", "not_subscribed", "unsubscribed", "not subscribed", ""}


class Table:
    """The columns an importer read from one input, with spreadsheet row numbers for errors.

    Built by :meth:`CsvFile.read` or :meth:`Table.from_frame` (a DataFrame read from a database
    or Parquet file; there row ``i`` is reported as ``i + 1``).
    """

    date_format: str | None = None
    """A ``strptime`` format :meth:`timestamps` tries first (its file's, see :class:`CsvFile`)."""

    def __init__(
        self,
        name: str,
        header: list[str],
        table: pa.Table,
        source: CsvFile | None = None,
        first_row: int = 2,
        row_map: object = None,
    ) -> None:
        self.name = name
        self.header = header
        self.arrow = table
        self.num_rows = table.num_rows
        self._source = source
        self._first_row = first_row
        self._row_map = row_map
        self.parts: list[tuple[str, int]] = []
        """Of a table read from several files (a folder of Parquet parts): each file's name and
        its first row's position, so that a row is named by its file and its row there."""
        self._text_cache: dict[tuple[str, bool], pa.ChunkedArray] = {}
        self.unordered = False
        """Whether its rows have no order of their own (a database table's): an error names a
        row by its order id as well (:meth:`name_rows_by`)."""
        self._row_keys: tuple[str, pa.ChunkedArray] | None = None
        # a money column's currency, where it names one, and the first row that names it
        self._currencies: dict[str, tuple[str, int]] = {}
        self.decimal_commas: set[str] = set()
        """The money columns read with a decimal comma (``12,50``): a quantity column of the
        same file reads its commas so too (:meth:`number`)."""

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, name: str) -> Table:
        frame = frame.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            table = pa.Table.from_pandas(frame.astype("string"), preserve_index=False)
        return cls(name, list(frame.columns), table, None, first_row=1)

    def read(self, columns: Iterable[str] | None = None, dictionary: Iterable[str] = ()) -> Table:
        """The table itself (so importers take a Table wherever they take a CsvFile)."""
        return self

    @classmethod
    def from_arrow(cls, table: pa.Table, name: str) -> Table:
        return cls(name, list(table.column_names), table, None, first_row=1)

    # -- rows -----------------------------------------------------------------------------------
    def _part(self, position: int) -> tuple[str, int]:
        """(file name, position in that file) of the data row at ``position``."""
        if not self.parts:
            return self.name, position
        index = bisect.bisect_right([start for _, start in self.parts], position) - 1
        name, start = self.parts[max(index, 0)]
        return name, position - start

    def row(self, position: int) -> int:
        """Spreadsheet row number of the data row at ``position`` (0-based); of a table read
        from several files, its row number in its file (:attr:`parts`)."""
        if self.parts:
            return self._first_row + self._part(position)[1]
        if self._row_map is _LAZY:
            # only on the error path: blank lines shift rows, so count records exactly if any
            assert self._source is not None
            source = self._source.with_body()
            if source.has_blank_lines():
                self._row_map = np.asarray([row for row, _ in source.records()], np.int64)
            else:
                self._row_map = None
        if isinstance(self._row_map, np.ndarray) and position < len(self._row_map):
            return int(self._row_map[position])
        return self._first_row + int(position)

    def name_rows_by(self, column: str | None) -> None:
        """Name a row in errors by its cell of ``column`` (its order id) as well, where the rows
        have no order of their own: a database table's row 2 finds no row in the table."""
        if column is not None and self.unordered and column in self.arrow.column_names:
            self._row_keys = (column, self.text(column))

    def _row_key(self, position: int) -> str | None:
        """``"column value"`` of the row's order id (:meth:`name_rows_by`), if it has one."""
        if self._row_keys is None:
            return None
        column, keys = self._row_keys
        value = keys[position].as_py() if position < len(keys) else None
        return None if value is None else f"{column} {value}"

    def error(
        self, message: str, position: int | None = None, column: str | None = None
    ) -> InputError:
        # a database table's rows are written by no spreadsheet: a totals row or a header
        # pasted again is a file's
        spreadsheet = position is not None and not self.unordered
        if spreadsheet and self._totals_row(position):
            message += ": it looks like a totals row a spreadsheet added; delete it and try again"
        elif spreadsheet and self._header_again(position):
            message += ": the row repeats the header (files pasted together); delete it"
        name = self.name if position is None else self._part(position)[0]
        if position is None:
            return InputError(name, message, column=column)
        return InputError(
            name, message, row=self.row(position), column=column, key=self._row_key(position)
        )

    _TOTAL_WORDS = frozenset({"total", "totals", "grand total", "sum", "summe", "gesamt", "totaal"})

    def _cells(self, position: int) -> list:
        """Row ``position``'s cells of the columns read, as Python values (None: empty)."""
        return [self.arrow.column(name)[position].as_py() for name in self.arrow.column_names]

    def _header_again(self, position: int) -> bool:
        """Whether row ``position`` writes the column names again (two exports pasted into one
        file): every read column's cell is its own name."""
        names = self.arrow.column_names
        cells = self._cells(position)
        return (
            bool(names)
            and all(
                str(cell).strip().lower() == name.strip().lower()
                for cell, name in zip(cells, names, strict=True)
                if cell is not None
            )
            and any(cell is not None for cell in cells)
        )

    def _totals_row(self, position: int) -> bool:
        """Whether row ``position`` is the file's last and holds nothing but amounts and at most
        a word such as ``Total``: a spreadsheet's totals row, not an order."""
        if position != self.num_rows - 1 or self.num_rows < 2:
            return False
        texts = [str(c).strip() for c in self._cells(position) if c is not None and str(c).strip()]
        words = [text for text in texts if not _AMOUNT_LIKE.match(text)]
        amounts = len(texts) - len(words)
        return amounts > 0 and all(word.lower().rstrip(":") in self._TOTAL_WORDS for word in words)

    # -- columns --------------------------------------------------------------------------------
    def find(self, *aliases: str) -> str | None:
        found = find_column(self.header, aliases)
        check_unique(self.name, self.header, found, self._first_row - 1)
        return found if found is not None and found in self.arrow.column_names else None

    def require(self, *aliases: str) -> str:
        found = self.find(*aliases)
        if found is None:
            raise InputError(self.name, "required column is missing", column=aliases[0])
        return found

    def raw(self, column: str) -> pa.ChunkedArray:
        return self.arrow.column(column)

    def first_values(self, column: str, limit: int = 200) -> list[str]:
        """The first ``limit`` non-empty cells of ``column`` as text (trimmed)."""
        cells = self.arrow.column(column).slice(0, 10 * limit).to_pylist()
        return _first_filled(("" if value is None else str(value) for value in cells), limit)

    def text(self, column: str | None, strip_apostrophe: bool = True) -> pa.ChunkedArray:
        """Cleaned text: whitespace trimmed, a leading apostrophe removed, empty -> null."""
        if column is None:
            return pa.chunked_array([pa.nulls(self.num_rows, pa.string())])
        key = (column, strip_apostrophe)
        if key not in self._text_cache:
            self._text_cache[key] = self._clean_text(column, strip_apostrophe)
        return self._text_cache[key]

    def _clean_text(self, column: str, strip_apostrophe: bool) -> pa.ChunkedArray:
        encoded = self._dictionary(column)
        if encoded is not None:  # clean each distinct value once, then spread
            values, indices = encoded
            cleaned = _clean(pa.chunked_array([values]), strip_apostrophe)
            return pa.chunked_array([cleaned.combine_chunks().take(pa.array(indices))])
        return _clean(self.arrow.column(column), strip_apostrophe)

    def _dictionary(self, column: str) -> tuple[pa.Array, np.ndarray] | None:
        """(distinct values, index of each row's value) of a dictionary-encoded column."""
        raw = self.arrow.column(column)
        if not pa.types.is_dictionary(raw.type) or raw.num_chunks == 0 or raw.null_count:
            return None
        unified = raw.unify_dictionaries()
        indices = np.concatenate(
            [np.asarray(chunk.indices.to_numpy(zero_copy_only=False)) for chunk in unified.chunks]
        )
        values = unified.chunk(0).dictionary
        used = np.bincount(indices, minlength=len(values)) > 0
        if not used.all():  # a Parquet category no row has: no cell, nothing to read
            kept = np.flatnonzero(used)
            values = values.take(pa.array(kept))
            indices = np.cumsum(used)[indices] - 1
        return values, indices

    def _decode(self, column: str) -> None:
        """Replace a dictionary-encoded column by its plain values."""
        position = self.arrow.column_names.index(column)
        raw = self.arrow.column(column)
        plain = pc.cast(raw, raw.type.value_type)
        self.arrow = self.arrow.set_column(position, column, plain)
        self._text_cache = {k: v for k, v in self._text_cache.items() if k[0] != column}

    def _per_value(self, column: str, parse) -> np.ndarray | None:
        """``parse`` run on the distinct values of a dictionary-encoded column, spread to rows.

        ``None`` when the column is not dictionary-encoded, or when ``parse`` rejects a value:
        then the column is decoded and the caller parses every row, which reports the first
        offending row exactly as it would without the encoding.
        """
        encoded = self._dictionary(column)
        if encoded is None:
            return None
        spread = self._spread(column, *encoded, parse)
        if spread is None:
            self._decode(column)
        return spread

    def _spread(
        self, column: str, values: pa.Array, indices: np.ndarray, parse
    ) -> np.ndarray | None:
        """``parse`` of a table of ``column``'s distinct ``values``, given to the rows by their
        ``indices`` (and the currency it names, at its first row here); None when ``parse``
        rejects a value."""
        distinct = Table(self.name, [column], pa.table({column: values}), None, self._first_row)
        try:
            parsed = parse(distinct)
        except InputError:
            return None
        for named, (currency, at) in distinct._currencies.items():
            self._currencies[named] = (currency, int(np.flatnonzero(indices == at)[0]))
        self.decimal_commas |= distinct.decimal_commas
        return np.asarray(parsed)[indices]

    def empty_words(self, words: Collection[str]) -> None:
        """Make every text cell that is one of ``words`` (surrounding whitespace aside) empty:
        a database dump's NULL markers, which would otherwise read as values."""
        markers = pa.array(sorted(words), pa.string())
        for position, column in enumerate(self.arrow.column_names):
            raw = self.arrow.column(column)
            if pa.types.is_dictionary(raw.type):
                raw = pc.cast(raw, raw.type.value_type)
            if not (pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type)):
                continue
            marked = pc.is_in(pc.utf8_trim_whitespace(raw), value_set=markers)
            if pc.any(marked).as_py():
                emptied = pc.if_else(marked, pa.scalar(None, raw.type), raw)
                self.arrow = self.arrow.set_column(position, column, emptied)
        self._text_cache = {}

    def release_columns(self, keep: Iterable[str | None]) -> None:
        """Let go of every column but ``keep`` (their cells and cleaned text): for an importer
        done with the order-level columns before it reads the line items."""
        kept = {name for name in keep if name is not None}
        dropped = [name for name in self.arrow.column_names if name not in kept]
        self.arrow = self.arrow.drop_columns(dropped)
        self._text_cache = {k: v for k, v in self._text_cache.items() if k[0] in kept}
        release_arrow_pages()

    def text_series(self, column: str | None, strip_apostrophe: bool = True) -> pd.Series:
        return pd.Series(
            self.text(column, strip_apostrophe).to_pandas(), dtype="string"
        ).reset_index(drop=True)

    def nonempty(self, column: str | None) -> np.ndarray:
        if column is None:
            return np.zeros(self.num_rows, dtype=bool)
        return np.asarray(pc.is_valid(self.text(column)).to_numpy(zero_copy_only=False), bool)

    def _first_bad(self, bad: pa.ChunkedArray | np.ndarray) -> int:
        mask = np.asarray(
            bad.to_numpy(zero_copy_only=False) if not isinstance(bad, np.ndarray) else bad
        )
        mask = np.where(pd.isna(mask), False, mask).astype(bool)
        return int(np.flatnonzero(mask)[0])

    # -- money ----------------------------------------------------------------------------------
    def money(self, column: str | None, decimal_comma: bool = False) -> np.ndarray:
        """Amounts as float64, NaN where the cell is empty (or the column absent).

        ``decimal_comma``: a comma is a decimal one unless a point is (``1,500`` is 1.5), as
        where the file's amounts are written ``12,50``."""
        if column is None:
            return np.full(self.num_rows, np.nan)
        spread = self._per_value(column, lambda distinct: distinct.money(column, decimal_comma))
        if spread is not None:
            return spread
        raw = self.arrow.column(column)
        if pa.types.is_decimal(raw.type) or (
            pa.types.is_floating(raw.type) and raw.type.bit_width < 64
        ):
            # through its (shortest) text: Arrow's own cast misses the nearest double of one
            # decimal in seven (49.96 -> 49.960000000000001), and a float32 239.58 is
            # 239.5800018310547 as a double, where the same amount written in a CSV file or cast
            # by DuckDB is the nearest
            exact = pc.cast(pc.cast(raw, pa.string()), pa.float64())
            out = np.asarray(exact.to_numpy(zero_copy_only=False), float)
        elif pa.types.is_integer(raw.type) or pa.types.is_floating(raw.type):
            out = np.asarray(pc.cast(raw, pa.float64()).to_numpy(zero_copy_only=False), float)
        elif pa.types.is_null(raw.type):
            return np.full(self.num_rows, np.nan)
        else:
            text = self.text(column)
            out = self._money_per_distinct(text, column, decimal_comma)
            if out is None:
                out = self._parse_money_text(text, column, decimal_comma)
        bad = ~np.isfinite(out) & ~np.isnan(out)
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            raise self.error("amount is not a finite number", position, column)
        _check_range(self, out, column)
        return out

    def _money_per_distinct(
        self, text: pa.ChunkedArray, column: str, decimal_comma: bool = False
    ) -> np.ndarray | None:
        """:meth:`_parse_money_text` of ``text`` (the column's cleaned cells) run once per
        distinct cell and spread to the rows, where the cells repeat (an order grid's million
        totals written ``$1,234.56`` hold ~50,000 values, each parsed by a dozen regular
        expressions); the column's checks see the same set of values either way.

        ``None`` when the cells hardly repeat, or when a value is rejected: the caller's parse
        of every row then reports the first offending row.
        """
        if len(text) < _MONEY_PER_DISTINCT_FROM:
            return None
        encoded = pc.dictionary_encode(text.combine_chunks(), null_encoding="encode")
        values = encoded.dictionary
        if len(values) * 4 > len(text):
            return None
        indices = np.asarray(encoded.indices.to_numpy(zero_copy_only=False))

        def parse(distinct: Table) -> np.ndarray:  # the cells are cleaned already
            return distinct._parse_money_text(pa.chunked_array([values]), column, decimal_comma)

        return self._spread(column, values, indices, parse)

    def written_currency(self, columns: Iterable[str | None]) -> str | None:
        """The currency that the amounts read from ``columns`` (by :meth:`money`) name, None
        where they name none that is certain (only a bare ``$``).  Columns naming two different
        ones are an error, as within a column: their amounts are added to and taken from each
        other."""
        named = {
            column: self._currencies[column] for column in columns if column in self._currencies
        }
        written = list(dict.fromkeys(currency for currency, _ in named.values()))
        codes = [currency for currency in written if currency not in _ANY_OF]
        symbols = [currency for currency in written if currency in _ANY_OF]
        if len(codes) > 1:
            clash = codes[:2]
        elif codes:
            clash = next(([codes[0], s] for s in symbols if codes[0] not in _ANY_OF[s]), None)
        else:
            clash = symbols[:2] if len(symbols) > 1 else None
        if clash is not None:
            first, second = (next(c for c, (v, _) in named.items() if v == w) for w in clash)
            raise self.error(
                f"amounts in {clash[1]} while those of column {first!r} are in {clash[0]}: "
                "give every amount in the shop's one currency",
                named[second][1],
                second,
            )
        return codes[0] if codes else None

    def written_symbol(self, columns: Iterable[str | None]) -> str | None:
        """The symbol of several currencies (``$``, ``kr``, ``¥``) the amounts read from
        ``columns`` are written with, where they name no certain currency (:meth:`written_currency`
        is None); None otherwise.  Such amounts are in *some* dollar: never in euros."""
        named = [self._currencies[column][0] for column in columns if column in self._currencies]
        if not named or any(currency not in _ANY_OF for currency in named):
            return None
        return named[0]

    def _parse_money_text(
        self, values: pa.ChunkedArray, column: str, decimal_comma: bool = False
    ) -> np.ndarray:
        present = pc.is_valid(values)
        try:
            out = pc.cast(values, pa.float64())
            plain = pc.match_substring_regex(values, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
            if pc.all(pc.or_kleene(plain, pc.invert(present))).as_py():
                self._check_point_told(values, column)
                return np.asarray(out.to_numpy(zero_copy_only=False), float)
        except pa.ArrowInvalid:
            pass
        signed = pc.replace_substring(values, "\u2212", "-")  # a typeset minus sign: −12,50 €
        # Japanese Excel's full-width yen, and Windows' Swiss thousands, a right quote: 1’234.50
        signed = pc.replace_substring(signed, "\uffe5", "¥")
        signed = pc.replace_substring(signed, "\u2019", "'")
        text = pc.replace_substring_regex(signed, _CURRENCY_AT_ENDS, "")
        text = pc.replace_substring_regex(text, rf"[A-Za-z]{{1,3}}\$|[$€£¥₹{_SPACES}]", "")
        negative = pc.match_substring_regex(text, r"^\(.*\)$|^-|-$|^\(-")
        text = pc.replace_substring_regex(text, r"^\(|\)$", "")
        text = pc.replace_substring_regex(text, r"^[-+]|-$", "")
        text = pc.replace_substring_regex(text, _CURRENCY_AT_ENDS, "")  # -A$12, (kr 5)
        shape_ok = pc.match_substring_regex(text, _MONEY_SHAPE)
        bad = pc.and_(present, pc.invert(pc.fill_null(shape_ok, False)))
        if pc.any(bad).as_py():
            position = self._first_bad(bad)
            value = values[position].as_py()
            raise self.error(f"cannot read {value!r} as an amount", position, column)
        currency = self._one_currency(signed, column)
        if currency is not None:
            self._currencies[column] = currency
        # a comma after a lone 0 (0,250) separates no thousands
        comma_decimal = pc.any(pc.match_substring_regex(text, r",\d{1,2}$|^0,\d+$")).as_py()
        point_decimal = pc.any(pc.match_substring_regex(text, r"\.\d{1,2}$")).as_py()
        comma_decimal = comma_decimal or decimal_comma
        if not comma_decimal and not point_decimal:
            # a column every amount of which has four decimals after a comma is a database's
            # fixed-scale decimal (Magento's 38.0000) a German spreadsheet saved: no thousands
            four = pc.match_substring_regex(text, r"^\d+,\d{4}$")
            comma_decimal = pc.all(pc.or_kleene(four, pc.invert(present))).as_py() and bool(
                pc.any(present).as_py()
            )
        if comma_decimal and not point_decimal:
            fits = r"^(?:\d{1,3}(?:[.' ]\d{3})+|\d+)(?:,\d+)?$|^,\d+$"
            thousands, decimal = r"[.' ]", ","
            self.decimal_commas.add(column)
        else:
            fits = r"^(?:\d{1,3}(?:[,' ]\d{3})+|\d+)(?:\.\d+)?$|^\.\d+$"
            thousands, decimal = r"[,' ]", "."
        misfit = pc.and_(
            present, pc.invert(pc.fill_null(pc.match_substring_regex(text, fits), False))
        )
        if pc.any(misfit).as_py():
            position = self._first_bad(misfit)
            value = values[position].as_py()
            raise self.error(
                f"ambiguous amount {value!r}: the column mixes decimal separators", position, column
            )
        if decimal == ".":
            self._check_point_told(text, column, values)
        text = pc.replace_substring_regex(text, thousands, "")
        if decimal == ",":
            text = pc.replace_substring(text, ",", ".")
        amounts = np.asarray(pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False), float)
        sign = np.where(
            np.asarray(pc.fill_null(negative, False).to_numpy(zero_copy_only=False), bool),
            -1.0,
            1.0,
        )
        return amounts * sign

    def _one_currency(self, values: pa.ChunkedArray, column: str) -> tuple[str, int] | None:
        """The currency the column's amounts name (``EUR`` for ``€12``, ``CAD`` for ``CA$5``, or
        ``$`` for a symbol several currencies write) and the first row naming it; None where
        they name none.

        Raise when they name two (``$110.00`` and ``€1,100.00``, or ``€12 USD`` in one cell):
        added up as one, they would be a sum of different units.  A bare ``$``, ``kr`` or ``¥``
        agrees with any one currency written that way (``$12`` and ``USD 5``)."""
        written = pc.replace_substring_regex(values, rf"[\d.,'’{_SPACES}()+-]", "")
        written = pc.replace_substring(written, "\uffe5", "¥")
        marker = pc.utf8_upper(written)
        named = pc.and_(pc.is_valid(marker), pc.not_equal(marker, ""))
        if not pc.any(named).as_py():
            return None
        codes = {m: _marker_currency(m) for m in pc.unique(marker.filter(named)).to_pylist()}
        two = [m for m, code in codes.items() if code is None]
        if two:
            position = self._first_bad(pc.is_in(marker, value_set=pa.array(two, marker.type)))
            raise self.error(
                f"{values[position].as_py()!r} names two currencies: write each amount in one",
                position,
                column,
            )
        explicit = [m for m, code in codes.items() if code not in _ANY_OF]
        reference = explicit[0] if explicit else next(iter(codes))
        wanted = codes[reference]

        def agrees(code: str) -> bool:
            if code == wanted:
                return True
            if wanted in _ANY_OF:  # two bare symbols agree only when they are the same
                return code not in _ANY_OF and code in _ANY_OF[wanted]
            return code in _ANY_OF and wanted in _ANY_OF[code]

        clashing = [m for m, code in codes.items() if not agrees(code)]
        if not clashing:
            if wanted not in _ANY_OF and wanted not in _iso_currencies():
                return None  # letters no currency has (12 pcs): the amount, but no currency
            return wanted, self._first_bad(pc.equal(marker, reference))
        first = self._first_bad(pc.equal(marker, reference))
        position = self._first_bad(pc.is_in(marker, value_set=pa.array(clashing, marker.type)))
        first, position = min(first, position), max(first, position)  # name the later row
        raise self.error(
            f"{values[position].as_py()!r} is in another currency than "
            f"{values[first].as_py()!r} on row {self.row(first)}: amounts in two currencies "
            "cannot be added up; export each currency's orders to a file of its own, or give "
            "a currency column and --fx RATES.csv",
            position,
            column,
        )

    def _check_point_told(
        self, text: pa.ChunkedArray, column: str, values: pa.ChunkedArray | None = None
    ) -> None:
        """Raise when a point in ``text`` (the amounts without symbols or sign; ``values``: as
        written) could be a thousands separator as well as a decimal point: ``1.500`` in a
        column where no amount has a point that only a decimal point can be (``12.5``,
        ``1500.25``).  Read as 1.5 it would be a thousand times too low for a shop that writes
        1,500 as ``1.500``."""
        either = pc.fill_null(pc.match_substring_regex(text, AMBIGUOUS_POINT), False)
        if not pc.any(either).as_py():
            return
        pointed = pc.fill_null(pc.match_substring(text, "."), False)
        if pc.any(pc.and_(pointed, pc.invert(either))).as_py():
            return
        position = self._first_bad(either)
        value = (values if values is not None else text)[position].as_py()
        raise self.error(
            f"ambiguous amount {value!r}: 1.500 is 1500 where a point separates thousands and "
            "1.5 where it marks decimals, and no amount in the column tells which; write the "
            "amounts with their decimals (1500.00 or 1.500,00)",
            position,
            column,
        )

    def number(self, column: str | None, decimal_comma: bool = False) -> np.ndarray:
        """A plain quantity (no currency symbols needed, but the money rules apply);
        ``decimal_comma`` as :meth:`money`'s."""
        return self.money(column, decimal_comma)

    # -- timestamps -----------------------------------------------------------------------------
    def timestamps(
        self,
        column: str | None,
        extra_formats: bool = False,
        fmt: str | None = None,
        wordpress: bool = False,
    ) -> np.ndarray:
        """Wall-clock timestamps as written (``datetime64[us]``), NaT where the cell is empty.

        ``extra_formats`` also accepts ``YYYYMMDD`` and day/month/year orders (see the module
        docstring); ``fmt`` is an explicit ``strptime`` format tried first (by default the
        table's :attr:`date_format`); ``wordpress`` (with ``extra_formats``) also reads the
        forms of WordPress's date and time settings (:meth:`_parse_wordpress`).
        """
        if column is None:
            return np.full(self.num_rows, np.datetime64("NaT"), "datetime64[us]")
        fmt = fmt if fmt is not None else self.date_format
        spread = self._per_value(
            column, lambda distinct: distinct.timestamps(column, extra_formats, fmt, wordpress)
        )
        if spread is not None:
            return spread
        raw = self.arrow.column(column)
        if pa.types.is_timestamp(raw.type):
            if raw.type.tz is not None:
                raw = pc.local_timestamp(raw)
            return np.asarray(
                pc.cast(raw, pa.timestamp("us")).to_numpy(zero_copy_only=False)
            ).astype("datetime64[us]")
        if pa.types.is_date(raw.type):
            return np.asarray(
                pc.cast(pc.cast(raw, pa.date32()), pa.timestamp("us")).to_numpy(
                    zero_copy_only=False
                )
            ).astype("datetime64[us]")
        if pa.types.is_integer(raw.type) and extra_formats:
            raw = pc.cast(raw, pa.string())
        elif pa.types.is_null(raw.type):
            return np.full(self.num_rows, np.datetime64("NaT"), "datetime64[us]")
        values = self.text(column)
        present = np.asarray(pc.is_valid(values).to_numpy(zero_copy_only=False), bool)
        out = np.full(self.num_rows, np.datetime64("NaT"), "datetime64[us]")
        todo = present.copy()
        if fmt is not None:
            cells = pd.Series(values.to_pandas())
            for written in (fmt, _date_part(fmt)):
                if written is None or not todo.any():
                    continue
                parsed = pd.to_datetime(
                    cells.where(todo), format=written, errors="coerce"
                ).to_numpy("datetime64[us]")
                done = ~np.isnat(parsed)
                out[done] = parsed[done]
                todo &= ~done
            if todo.any() and ("%b" in fmt or "%B" in fmt):
                out[todo] = self._month_names_in_format(values, todo, fmt)
                todo &= np.isnat(out)
            if todo.any():
                position = int(np.flatnonzero(todo)[0])
                value = values[position].as_py()
                raise self.error(
                    f"cannot read {value!r} as a date in format {fmt!r}", position, column
                )
            return out
        iso = np.asarray(
            pc.fill_null(pc.match_substring_regex(values, _ISO_SHAPE), False).to_numpy(
                zero_copy_only=False
            ),
            bool,
        )
        if iso.all():
            return self._parse_iso(values, np.arange(len(iso)), column)
        if iso.any():
            out[iso] = self._parse_iso(values.filter(pa.array(iso)), np.flatnonzero(iso), column)
            todo &= ~iso
        if todo.any() and extra_formats:
            parse = self._parse_wordpress if wordpress else self._parse_other
            out[todo] = parse(values.filter(pa.array(todo)), np.flatnonzero(todo), column)
            todo[:] = False
        if todo.any():
            position = int(np.flatnonzero(todo)[0])
            value = values[position].as_py()
            # a day/month-shaped cell no order reads is no format's: only an impossible date
            shaped = re.match(_DMY_SHAPE, str(value).strip()) is not None
            hint = "" if shaped else _unread_date_hint(str(value))
            reading = _reading_format(str(value))
            if reading is not None:
                hint = f", or give its format, e.g. {_date_format_option(reading)}"
            raise self.error(
                f"cannot read {value!r} as a date (expected e.g. 2024-03-05 23:30:00 -0500{hint})",
                position,
                column,
            )
        return out

    @staticmethod
    def _month_names_in_format(values: pa.ChunkedArray, todo: np.ndarray, fmt: str) -> np.ndarray:
        """The cells ``todo`` marks read by ``fmt`` with their month names in English (NaT
        where that does not read them either): a format's ``%b`` and ``%B`` read English names
        only, and a French or German export writes its own."""
        english = english_month_names(values.filter(pa.array(todo)))
        return pd.to_datetime(
            pd.Series(english.to_pandas()), format=english_month_format(fmt), errors="coerce"
        ).to_numpy("datetime64[us]")

    def _parse_iso(
        self,
        values: pa.ChunkedArray,
        positions: np.ndarray,
        column: str,
        shown: pa.ChunkedArray | None = None,
    ) -> np.ndarray:
        """ISO dates (:data:`_ISO_SHAPE`); ``shown``: the cells as written, for the errors."""
        written = values if shown is None else shown
        # the shape check made these ASCII, so byte slices are character slices (and much faster)
        data = pc.cast(values, pa.large_binary())

        def cut(start: int, stop: int) -> pa.ChunkedArray:
            return pc.cast(pc.binary_slice(data, start, stop), pa.large_string())

        if pc.any(pc.equal(cut(10, 11), "T")).as_py():
            values = pc.replace_substring(values, "T", " ", max_replacements=1)
            data = pc.cast(values, pa.large_binary())
        has_seconds = pc.equal(cut(16, 17), ":")
        has_time = pc.greater(pc.binary_length(data), 10)
        shapes = (
            (has_seconds, 19, "%Y-%m-%d %H:%M:%S"),
            (pc.and_(has_time, pc.invert(has_seconds)), 16, "%Y-%m-%d %H:%M"),
            (pc.invert(has_time), 10, "%Y-%m-%d"),
        )
        stamps = None
        for mask, width, fmt in shapes:
            count = pc.sum(pc.cast(mask, pa.int64())).as_py() or 0
            if count == 0:
                continue
            parsed = pc.strptime(cut(0, width), format=fmt, unit="us", error_is_null=True)
            if count == len(values):
                stamps = parsed
                break
            stamps = parsed if stamps is None else pc.if_else(mask, parsed, stamps)
        if stamps is None:  # no values at all
            return np.zeros(0, "datetime64[us]")
        written_day = pc.cast(cut(8, 10), pa.int64())
        ok = pc.and_(pc.is_valid(stamps), pc.equal(pc.fill_null(pc.day(stamps), -1), written_day))
        ok = np.asarray(pc.fill_null(ok, False).to_numpy(zero_copy_only=False), bool)
        if not ok.all():
            index = int(np.flatnonzero(~ok)[0])
            raise self.error(
                f"{written[index].as_py()!r} is not a valid date", int(positions[index]), column
            )
        return np.asarray(
            pc.cast(stamps, pa.timestamp("us")).to_numpy(zero_copy_only=False)
        ).astype("datetime64[us]")

    def _parse_wordpress(
        self, values: pa.ChunkedArray, positions: np.ndarray, column: str
    ) -> np.ndarray:
        """The cells of the forms WordPress's date and time settings give, as a WooCommerce
        exporter writes its dates with them: a month by its name in any of the languages of
        :data:`_MONTH_WORDS` (``March 5, 2024 11:30 pm``, ``5 March 2024``, ``5. März 2024 um
        23:30``; no day and month to confuse), after a weekday's name or with an ordinal day
        (``Tuesday, March 5th, 2024``: :func:`without_weekday`), a 12-hour clock (``2024-03-05 11:30 pm``,
        ``13/03/2024 9:05 AM``), and the others as :meth:`_parse_other` reads them (a
        ``05/03/2024`` that no cell of the column tells the order of is an error)."""
        converted = pc.replace_substring_regex(
            _twenty_four_hour(values), pattern=_CLOCK_JOINER, replacement=r" \1\2"
        )

        def matches(pattern: str) -> np.ndarray:
            found = pc.match_substring_regex(converted, pattern)
            return np.asarray(pc.fill_null(found, False).to_numpy(zero_copy_only=False), bool)

        out = np.full(len(values), np.datetime64("NaT"), "datetime64[us]")
        iso = matches(_ISO_SHAPE)
        if iso.any():
            keep = pa.array(iso)
            out[iso] = self._parse_iso(
                converted.filter(keep), positions[iso], column, shown=values.filter(keep)
            )
        named = matches(r"\pL{3}") & ~iso  # a month's name (RE2's \w is ASCII only)
        if named.any():
            english = english_month_names(without_weekday(converted.filter(pa.array(named))))
            cells = pd.Series(english.to_pandas(), dtype=object)
            parsed = np.full(len(cells), np.datetime64("NaT"), "datetime64[us]")
            for fmt in _WORDPRESS_FORMATS:
                todo = np.isnat(parsed)
                if not todo.any():
                    break
                parsed[todo] = pd.to_datetime(cells[todo], format=fmt, errors="coerce").to_numpy(
                    "datetime64[us]"
                )
            out[named] = parsed
            named[named] = ~np.isnat(parsed)
        rest = ~iso & ~named
        if rest.any():
            keep = pa.array(rest)
            out[rest] = self._parse_other(
                converted.filter(keep), positions[rest], column, shown=values.filter(keep)
            )
        return out

    def _parse_other(
        self,
        values: pa.ChunkedArray,
        positions: np.ndarray,
        column: str,
        shown: pa.ChunkedArray | None = None,
    ) -> np.ndarray:
        """``YYYYMMDD`` and day/month/year cells, the order decided by the column (see the
        module docstring); ``shown``: the cells as written, where ``values`` are them with a
        12-hour clock as a 24-hour one (:func:`_twenty_four_hour`), for the errors."""
        parsed_text = pd.Series(values.to_pandas(), dtype=object).reset_index(drop=True)
        series = (
            parsed_text
            if shown is None
            else pd.Series(shown.to_pandas(), dtype=object).reset_index(drop=True)
        )
        out = np.full(len(series), np.datetime64("NaT"), "datetime64[us]")
        compact = parsed_text.str.fullmatch(r"\d{8}").fillna(False).to_numpy(bool)
        if compact.any():
            out[compact] = pd.to_datetime(
                parsed_text[compact], format="%Y%m%d", errors="coerce"
            ).to_numpy("datetime64[us]")
        rest = ~compact
        if rest.any():
            parts = parsed_text[rest].str.extract(_DMY_SHAPE)
            unmatched = parts[0].isna().to_numpy()
            if unmatched.any():
                index = int(np.flatnonzero(rest)[np.flatnonzero(unmatched)[0]])
                raise self.error(
                    f"cannot read {series[index]!r} as a date (expected e.g. 2024-03-05"
                    f"{_unread_date_hint(str(series[index]))})",
                    int(positions[index]),
                    column,
                )
            first, second = parts[0].astype(int), parts[1].astype(int)
            neither = ((first > 12) & (second > 12)).to_numpy()
            if neither.any():  # no month either way round (31/31/2024): no date at all
                index = int(np.flatnonzero(rest)[int(np.flatnonzero(neither)[0])])
                raise self.error(
                    f"cannot read {series[index]!r} as a date (expected e.g. 2024-03-05 "
                    "23:30:00 -0500)",
                    int(positions[index]),
                    column,
                )
            day_first = bool((first > 12).any())
            month_first = bool((second > 12).any())
            if day_first and month_first:
                # at the first cell contradicting an earlier one, both named
                cells = np.flatnonzero(rest)
                days = int(cells[np.argmax((first > 12).to_numpy())])
                months = int(cells[np.argmax((second > 12).to_numpy())])
                earlier, index = sorted((days, months))
                orders = {days: "the day first", months: "the month first"}
                raise self.error(
                    f"dates mix day/month and month/day order: {series[earlier]!r} on row "
                    f"{self.row(int(positions[earlier]))} has {orders[earlier]}, "
                    f"{series[index]!r} {orders[index]}",
                    int(positions[index]),
                    column,
                )
            if not day_first and not month_first and ((first != second).any()):
                index = int(
                    np.flatnonzero(rest)[int(np.flatnonzero((first != second).to_numpy())[0])]
                )
                raise self.error(
                    f"ambiguous date {series[index]!r}: cannot tell day/month from month/day "
                    f"({_either_order(parsed_text[index], series[index])})",
                    int(positions[index]),
                    column,
                )
            day, month = (first, second) if day_first else (second, first)
            stamp = pd.DataFrame(
                {
                    "year": parts[2].astype(int),
                    "month": month,
                    "day": day,
                    "hour": parts[3].fillna("0").astype(int),
                    "minute": parts[4].fillna("0").astype(int),
                    "second": parts[5].fillna("0").astype(int),
                }
            )
            parsed = pd.to_datetime(stamp, errors="coerce").to_numpy("datetime64[us]")
            out[rest] = parsed
        bad = np.isnat(out)
        if bad.any():
            index = int(np.flatnonzero(bad)[0])
            raise self.error(
                f"{series[index]!r} is not a valid date", int(positions[index]), column
            )
        return out

    # -- flags ----------------------------------------------------------------------------------
    def flags(self, column: str | None) -> tuple[pd.Series, int]:
        """yes/no/true/false/1/0 (and Shopify's subscribed states) as nullable booleans.

        Returns the flags and the number of non-empty cells that were none of these (left <NA>).
        """
        if column is None:
            return pd.Series(pd.NA, index=range(self.num_rows), dtype="boolean"), 0
        lowered = self.text_series(column).str.lower()
        result = pd.Series(pd.NA, index=lowered.index, dtype="boolean")
        result[lowered.isin(TRUE_WORDS).fillna(False).to_numpy(bool)] = True
        result[lowered.isin(FALSE_WORDS - {""}).fillna(False).to_numpy(bool)] = False
        unknown = int((lowered.notna() & result.isna()).sum())
        return result, unknown
