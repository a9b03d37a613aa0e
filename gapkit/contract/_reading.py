"""Reading a CSV file as the text it holds: encoding, delimiter, header and malformed lines.

Every record comes back as text (only an empty field is missing) with the file line it starts
on, so a reject can name the line a person finds in an editor even after blank lines or
values with line breaks. A line that is not a record of the table (more or fewer fields than
the header) is set aside with its line number instead of failing the whole file, and the
problems a person must fix by hand (an empty file, an encoding other than UTF-8/UTF-16, a
duplicated column name) are :class:`~gapkit.errors.InputError` naming the file and the fix.
"""

from __future__ import annotations

import codecs
import csv
import io
import mmap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from gapkit.errors import InputError

TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # what read_csv(dtype=str) gives in pandas 3
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True)
class TextTable:
    """A CSV file read as text: ``frame`` (one row per well-formed record), ``lines`` (the file
    line each record starts on), ``records`` (its 1-based position among all records),
    ``malformed`` (records with the wrong number of fields: record, line, text, fields) and notes."""

    frame: pd.DataFrame
    lines: np.ndarray
    records: np.ndarray
    malformed: tuple[tuple[int, int, str, int], ...] = ()
    notes: tuple[str, ...] = ()


def decode(file: Path) -> str:
    """The file's text: UTF-8 (with or without a byte-order mark) or UTF-16 with one."""
    raw = file.read_bytes()
    _refuse_archives(file, raw)
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        byte = raw[error.start]
        if b"\x00" in raw[:4096]:
            guess = "UTF-16 without a byte-order mark"
        else:
            guess = "Windows-1252 or Latin-1 (a Western European legacy encoding)"
        raise InputError(
            f"{file}: line {line} is not UTF-8 (byte 0x{byte:02x}); the file looks like {guess}. Save it as UTF-8 "
            f"(in Excel: Save As > CSV UTF-8) and run again.") from None


def _refuse_archives(file: Path, raw: bytes) -> None:
    """A compressed file or a workbook named .csv is not text in some other encoding: say what it is."""
    for magic, what, fix in ((b"\x1f\x8b", "gzip-compressed", "unpack it (gunzip) and point gapkit at the .csv"),
                             (b"PK\x03\x04", "a zip archive or an Excel workbook",
                              "unpack it, or open it in Excel and Save As > CSV UTF-8"),
                             (b"PAR1", "a Parquet file", "name it .parquet"),
                             (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls)", "Save As > CSV UTF-8")):
        if raw.startswith(magic):
            raise InputError(f"{file}: the file is {what}, not CSV text; {fix}.")


def _lines_of(text: str) -> tuple[str, str]:
    """The first line, and the text with classic Mac line ends (carriage returns only) read as
    line breaks; a CSV reader would otherwise see one line."""
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")
    return text.split("\n", 1)[0].rstrip("\r"), text


def _excel_separator(first: str) -> str | None:
    """The delimiter an Excel "sep=;" first line declares, or None."""
    line = first.rstrip("\r\n")  # not strip(): "sep=\t" declares tabs
    if line.lower().startswith("sep=") and len(line) == 5:
        return line[4]
    return None


def csv_header(file: Path) -> list[str]:
    """The column names of a CSV file, read as :func:`read_text_csv` reads them (UTF-8 with or
    without a byte-order mark, UTF-16 with one; commas, semicolons or tabs), from its first line.

    Every look at a file's columns goes through here, so a check before a run sees what the
    loader will see (a semicolon file is not "missing" its columns).
    """
    with open(file, "rb") as handle:
        head = handle.read(64 * 1024)
    if not head:
        return []
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head[len(codecs.BOM_UTF8):] if head.startswith(codecs.BOM_UTF8) else head
        text = text.decode("utf-8", errors="replace")
    first, text = _lines_of(text)
    declared = _excel_separator(first)
    if declared is not None:
        first = _lines_of(text.split("\n", 1)[1] if "\n" in text else "")[0]
    return next(csv.reader([first], delimiter=declared or _delimiter(first), strict=False)) if first else []


def read_text_csv(file: Path, needs: str = "") -> TextTable:
    """Read ``file`` as text records with their line numbers (see the module docstring).

    ``needs`` completes the message for an empty file (e.g. the columns the table requires).
    """
    if file.stat().st_size == 0:
        raise InputError(f"{file}: the file is empty (0 bytes). It needs at least a header row{needs}.")
    fast = _arrow_from_bytes(file, _mapped(file))
    if fast is not None:
        return fast
    text = decode(file)
    first, unified = _lines_of(text)
    notes = []
    if unified is not text:
        notes.append(f"{file.name}: lines end in carriage returns only (an old Mac format); read as line breaks")
        text = unified
    declared = _excel_separator(first)
    if declared is not None:  # Excel's "sep=;" line: a hint for Excel, not the header
        notes.append(f"{file.name}: the first line {first.strip()!r} (Excel's delimiter hint) was skipped")
        text = text.split("\n", 1)[1] if "\n" in text else ""
        first = text.split("\n", 1)[0].rstrip("\r")
    delimiter = declared or _delimiter(first)
    if delimiter != ",":
        notes.append(f"{file.name}: read with {DELIMITERS.get(delimiter, repr(delimiter))}s between the values")
    header = next(csv.reader([first], delimiter=delimiter, strict=False)) if first else []
    _check_header(file, header, delimiter)
    skipped = int(declared is not None)  # file lines above the header
    fast = _arrow(text.encode("utf-8"), 0, header, delimiter)
    if fast is not None:
        return TextTable(fast, np.arange(2, len(fast) + 2) + skipped, np.arange(1, len(fast) + 1), (), tuple(notes))
    table = _records(file, text, header, delimiter, notes)
    if not skipped:
        return table
    moved = tuple((m[0], m[1] + skipped, m[2], m[3], *[q + skipped for q in m[4:]]) for m in table.malformed)
    return TextTable(table.frame, table.lines + skipped, table.records, moved, table.notes)


def _mapped(file: Path) -> bytes | mmap.mmap:
    """The file's bytes, memory-mapped (a copy of a 100 MB file into a bytes object took 0.1-0.2 s
    and faulted in 100 MB more memory); read into memory where the file cannot be mapped."""
    with open(file, "rb") as handle:
        try:
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return handle.read()


def _arrow_from_bytes(file: Path, raw: bytes | mmap.mmap) -> TextTable | None:
    """The common case read straight from the file's bytes, without decoding them into one
    Python string and encoding that back (about a second per 100 MB). Arrow checks that the
    values are UTF-8; anything it cannot take (None) goes through :func:`decode` and the careful
    path, which names the problem."""
    if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return None
    start = len(codecs.BOM_UTF8) if raw[:3] == codecs.BOM_UTF8 else 0
    end = raw.find(b"\n", start)
    if end < 0 and b"\r" in raw:
        return None  # carriage returns only: the careful path reads them as line breaks
    try:
        first = raw[start:end if end >= 0 else len(raw)].decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        return None
    if _excel_separator(first) is not None:
        return None
    delimiter = _delimiter(first)
    header = next(csv.reader([first], delimiter=delimiter, strict=False)) if first else []
    if not header or len(set(header)) != len(header) or not all(h.strip() for h in header):
        return None
    frame = _arrow(raw, start, header, delimiter)
    if frame is None:
        return None
    notes = () if delimiter == "," else (
        f"{file.name}: read with {DELIMITERS.get(delimiter, repr(delimiter))}s between the values",)
    return TextTable(frame, np.arange(2, len(frame) + 2), np.arange(1, len(frame) + 1), (), notes)


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in DELIMITERS}
    if counts[","]:
        return ","
    best = max((";", "\t"), key=lambda d: counts[d])
    return best if counts[best] else ","


def _check_header(file: Path, header: list[str], delimiter: str) -> None:
    if not header or not any(h.strip() for h in header):
        raise InputError(f"{file}: the first line is empty; it must be the header row naming the columns.")
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if not name.strip():
            raise InputError(f"{file}: column {position} of the header has no name; name it or delete the column "
                             f"(a {DELIMITERS.get(delimiter, repr(delimiter))} at the end of the header line makes an "
                             f"empty one).")
        if name in seen:
            raise InputError(f"{file}: the header names {name!r} twice (columns {seen[name]} and {position}); "
                             f"rename one so it is clear which to read.")
        seen[name] = position


def _arrow(raw: bytes | mmap.mmap, start: int, header: list[str], delimiter: str) -> pd.DataFrame | None:
    """Arrow's reader, when every physical line after the header is exactly one record.

    ``raw`` is the file as UTF-8 bytes (or memory-mapped), its text beginning at ``start`` (after
    a byte-order mark).
    """
    end = len(raw)
    while end > start and raw[end - 1] in b"\r\n":  # the file's final line breaks
        end -= 1
    if raw.find(b"\r", start, end) >= 0:
        return _arrow_counted(bytes(raw[start:end]), header, delimiter)
    # without carriage returns, and with empty lines read as records (of missing values), Arrow
    # makes one record of every line unless a quoted value holds a line break, so the lines are
    # counted only in a file with quotes (a pass over every file took 0.25 s for 1M orders)
    table = _arrow_table(raw, start, end, header, delimiter, ignore_empty_lines=False)
    if table is None:
        return None
    if raw.find(b'"', start, end) >= 0 and table.num_rows != _line_feeds(raw, start, end):
        return None  # a quoted line break spans lines
    if table.num_rows and _some_row_all_missing(table) and raw.find(b"\n\n", start, end) >= 0:
        return None  # blank lines: records and lines part ways; the slow path keeps count
    return _as_text_frame(table)


def _line_feeds(raw: bytes | mmap.mmap, start: int, end: int, window: int = 1 << 24) -> int:
    """How many line feeds ``raw[start:end]`` holds (numpy, 16 MB at a time)."""
    view = np.frombuffer(raw, dtype=np.uint8)
    return sum(int(np.count_nonzero(view[at:min(at + window, end)] == 10)) for at in range(start, end, window))


def _arrow_counted(raw: bytes, header: list[str], delimiter: str) -> pd.DataFrame | None:
    """Arrow's reader for text with carriage returns (a line break to Arrow, alone or before a
    line feed): its records checked against the count of line feeds."""
    # Arrow skips blank lines and joins a quoted line break into its record, so either leaves fewer
    # records than line breaks (checked below); only a lone carriage return, a line break to Arrow,
    # could make up for one, so blank lines are searched for
    if raw.find(b"\n\n") >= 0 or raw.find(b"\n\r\n") >= 0:
        return None  # blank lines: records and lines part ways; the slow path keeps count
    table = _arrow_table(raw, 0, len(raw), header, delimiter, ignore_empty_lines=True)
    if table is None or table.num_rows != raw.count(b"\n"):  # a quoted line break spans lines
        return None
    return _as_text_frame(table)


def _arrow_table(raw: bytes | mmap.mmap, start: int, end: int, header: list[str], delimiter: str,
                 ignore_empty_lines: bool) -> pyarrow.Table | None:
    """Every value as text (an empty field missing), or None if Arrow cannot read the file or
    reads other column names than the header's."""
    body = pyarrow.py_buffer(raw)[start:end]
    try:
        # the text checked as UTF-8 in one pass rather than value by value (0.015 s against about
        # 0.08 s for the 1M-order folder): fields are cut at ASCII bytes, so they are UTF-8 if it is
        offsets = pyarrow.py_buffer(np.array([0, len(body)], dtype=np.int64))
        pyarrow.Array.from_buffers(pyarrow.large_binary(), 1, [None, offsets, body]).cast(pyarrow.large_string())
        table = pa_csv.read_csv(
            pyarrow.BufferReader(body),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, ignore_empty_lines=ignore_empty_lines),
            convert_options=pa_csv.ConvertOptions(
                column_types={c: pyarrow.large_string() for c in header}, null_values=[""], strings_can_be_null=True,
                quoted_strings_can_be_null=True, check_utf8=False),
        )
    except pyarrow.ArrowException:
        return None
    return table if table.column_names == header else None


def _some_row_all_missing(table: pyarrow.Table) -> bool:
    """Whether some record has no value at all (an empty line, or only delimiters)."""
    if any(column.null_count == 0 for column in table.columns):
        return False
    missing = table.column(0).is_null()
    for column in table.columns[1:]:
        missing = pc.and_(missing, column.is_null())
    return bool(pc.any(missing).as_py())


def _as_text_frame(table: pyarrow.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=lambda t: TEXT if pyarrow.types.is_large_string(t) else None)


def _records(file: Path, text: str, header: list[str], delimiter: str, notes: list[str]) -> TextTable:
    """Records and their lines by Python's csv reader, with the physical lines counted apart.

    A quote left open runs to the next quote, perhaps the end of the file, and the csv reader
    makes one value of every line on the way: eleven survey rows became one kept row, and the
    counts "added up" because they came from the same parser. So a record whose quoted value
    spans lines that are records of their own (as many fields as the header) is set aside with
    the line its quote opened on, and the lines after it are read again as records.
    """
    physical = io.StringIO(text, newline="").readlines()
    rows, lines, records, malformed = [], [], [], []
    record, blank, at = 0, 0, 1  # at: index in ``physical`` where the reader (re)starts
    while at < len(physical):
        reader = csv.reader(iter(physical[at:]), delimiter=delimiter, strict=False)
        start, restart = at + 1, None  # start: the file line of the record being read
        try:
            for fields in reader:
                end = at + reader.line_num  # the file line the record ends on
                if not fields or fields == [""]:
                    blank += 1
                else:
                    record += 1
                    if end > start and _swallows_records(physical[start:end], delimiter, len(header)):
                        malformed.append((record, start, physical[start - 1].rstrip("\r\n")[:200], len(fields), end))
                        restart = start  # the line after the one whose quote opened
                        break
                    if len(fields) == len(header):
                        rows.append(fields)
                        lines.append(start)
                        records.append(record)
                    else:
                        malformed.append((record, start, delimiter.join(fields)[:200], len(fields)))
                start = end + 1
        except csv.Error as error:
            raise InputError(f"{file}: line {at + reader.line_num} cannot be read as CSV ({error}); a quote that is "
                             f"opened must be closed on the same value.") from None
        if restart is None:
            break
        at = restart
    if blank:
        notes.append(f"{file.name}: {blank} blank line(s) skipped")
    frame = pd.DataFrame(rows, columns=header, dtype=TEXT) if rows else pd.DataFrame(
        {c: pd.Series(dtype=TEXT) for c in header})
    frame = frame.replace("", np.nan) if rows else frame
    return TextTable(frame.astype(TEXT), np.array(lines, dtype="int64"), np.array(records, dtype="int64"),
                     tuple(malformed), tuple(notes))


def _swallows_records(continued: list[str], delimiter: str, width: int) -> bool:
    """Whether a value's continuation lines look like records: a comment's second line rarely
    holds as many fields as the header; the rows an open quote swallowed do."""
    return any(len(next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter, strict=False), [])) == width
               for line in continued if line.strip())
