"""Reading text tables: decoding bytes, CSV records with the line an editor shows, and `Problem`.

Every reader of the project (the events and sources tables in `data.py`, the reference files in
`reference.py`) reports what is wrong as a `Problem` named `file:line: column: reason`, and reads
bytes through `decode` (UTF-8, UTF-16/32 recognised, Windows-1252 as the last resort) and CSV text
through `read_rows` (physical line numbers; an unclosed quote reported and its lines read again).
This module imports only the schema, so both can use it without an import cycle.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from dashboard import schema

csv.field_size_limit(schema.MAX_FIELD_CHARS)

# A cell the CSV exporter neutralised: one added apostrophe before a formula trigger.
# Undone on read so that export -> load gives back exactly the same values (see export.py).
NEUTRALISED_RE = re.compile(r"^'+[=+\-@\t\r\n]")

#: Any of the bidirectional controls the loader removes (schema.BIDI_CONTROLS).
BIDI_RE = re.compile("[" + "".join(sorted(schema.BIDI_CONTROLS)) + "]")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input table. `error` rows are skipped; `warning` rows are kept."""

    file: str
    line: int
    column: str
    reason: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.column}: {self.reason}"


_WIDE_BOMS: tuple[tuple[bytes, str, str, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32", "little-endian"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32", "big-endian"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16", "little-endian"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16", "big-endian"),
)
#: Bytes sampled to recognise UTF-16 without a byte order mark by its zero bytes.
_SNIFF_BYTES = 4096


def decode(raw: bytes, name: str) -> tuple[str, list[Problem]]:
    """Decode bytes as UTF-8 (a BOM is fine). UTF-16 and UTF-32 are recognised (by their byte
    order mark, or UTF-16 by its zero bytes) and read as such, with a warning that says so;
    anything else falls back to Windows-1252 with a warning."""
    wide = _wide_encoding(raw)
    if wide is not None:
        codec, family, how, skip = wide
        try:
            text, broken = raw[skip:].decode(codec), ""
        except UnicodeDecodeError as exc:
            text = raw[skip:].decode(codec, errors="replace")
            broken = f"; bytes at offset {skip + exc.start} are not valid {family} (read as U+FFFD)"
        reason = f"this file is {family} ({how}): read as {family}; save it as UTF-8{broken}"
        return text, [Problem(name, 1, "-", reason, "warning")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        text = raw.decode("cp1252", errors="replace")
        reason = (
            f"not UTF-8 (byte 0x{raw[exc.start]:02X} at offset {exc.start}); "
            "read as Windows-1252/Latin-1: check accented characters"
        )
        return text, [Problem(name, line, "-", reason, "warning")]


def _wide_encoding(raw: bytes) -> tuple[str, str, str, int] | None:
    """(codec, UTF-16 or UTF-32, how it was told, bytes to skip) for a wide encoding, else None.

    Without a byte order mark, UTF-16 shows itself by its zero bytes: the high byte of every
    ASCII character (the header, commas, digits) is zero, all on the same side of each pair.
    UTF-8 text never holds a zero byte.
    """
    for bom, codec, family, order in _WIDE_BOMS:
        if raw.startswith(bom):
            return codec, family, f"{order}, with a byte order mark", len(bom)
    sample = raw[: _SNIFF_BYTES - _SNIFF_BYTES % 2]
    if b"\x00" not in sample:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    pairs = len(sample) // 2
    if odd >= max(2, pairs // 10) and even * 20 <= odd:
        return "utf-16-le", "UTF-16", "little-endian, no byte order mark", 0
    if even >= max(2, pairs // 10) and odd * 20 <= even:
        return "utf-16-be", "UTF-16", "big-endian, no byte order mark", 0
    return None


class ParsedRows(NamedTuple):
    """A CSV text as records: the header, then each record with the physical line it starts on.

    `unreadable` counts the records reported and skipped while reading (an unclosed quote, a
    field over the size limit): they are rows of the file all the same, so `rows_read` is
    `len(records) + unreadable`, and "loaded N of M rows" never hides a line.
    """

    header: list[str]
    lines: list[int]
    records: list[list[str]]
    problems: list[Problem]
    unreadable: int = 0
    header_line: int = 1
    bidi_rows: tuple[int, ...] = ()  # records whose lines hold a bidirectional control

    @property
    def rows_read(self) -> int:
        return len(self.records) + self.unreadable


class _LineFeed:
    """The physical lines of a text for `csv.reader`, counted, remembering the current record's
    lines so that a record which swallowed the lines after it can have them read again."""

    def __init__(self, text: str) -> None:
        # newline="": lines keep their endings, so quoted CRLFs survive (as csv requires).
        self._source = iter(io.StringIO(text, newline=""))
        self._again: list[str] = []  # lines to read again, the next one last
        self.taken: list[str] = []  # the lines of the record being read
        self.count = 0  # lines handed out so far: the number of the last one

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        line = self._again.pop() if self._again else next(self._source)
        self.count += 1
        self.taken.append(line)
        return line

    def start_record(self) -> int:
        """Forget the last record's lines; the number of the line the next record starts on."""
        self.taken = []
        return self.count + 1

    def read_again(self, lines: list[str]) -> None:
        self._again.extend(reversed(lines))
        self.count -= len(lines)


def read_rows(text: str, name: str, *, single_line: bool = False) -> ParsedRows:
    """Parse CSV text into its header, the first physical line of each record, and the records.

    Line numbers are physical lines, as an editor shows them (quoted newlines counted); blank
    lines carry no row. An opening quote left unclosed makes `csv` read every following line into
    one field, until the next quote or the end of the file. Such a record (it spans several lines
    and is not a well-formed record of the header's width while the lines after its first read as
    rows, or it runs to the end of the file inside quotes) is reported on its first line and
    skipped, and the lines after it are read again as rows: a stray quote costs its own row, not
    the rest of the file. A legitimate multi-line quoted field is well-formed and loads.

    `single_line`: the table's contract has no multi-line fields (the reference files). Then the
    stray quote's own line is read again with the quote as a plain character and kept, with a
    warning, when that gives the header's number of fields: such a quote costs no row at all.
    """
    feed = _LineFeed(text)
    reader = csv.reader(feed, strict=False)
    problems: list[Problem] = []
    header: list[str] | None = None
    header_line = 1
    lines: list[int] = []
    records: list[list[str]] = []
    unreadable = 0
    # isascii() is a flag lookup: a plain-ASCII table pays nothing for finding bidi controls.
    bidi_possible = not text.isascii() and any(c in text for c in schema.BIDI_CONTROLS)
    bidi_rows: list[int] = []
    while True:
        first = feed.start_record()
        try:
            record, error = next(reader), None
        except StopIteration:
            break
        except csv.Error as exc:
            record, error = None, exc
        if record == []:  # a blank line
            continue
        taken = feed.taken
        width = len(header) if header else None
        if error is None and len(taken) == 1 and taken[0].count('"') % 2 == 0:
            verdict = ""  # the common case: one line, quotes balanced
        else:
            verdict = _suspect(taken, record, error, width)
            if single_line and not verdict and len(taken) > 1 and header is not None:
                verdict = "unclosed"  # no field of this table may span lines: a stray quote
        last = first + len(taken) - 1
        if header is None:
            header_line = first
            if verdict or error is not None:
                problems.append(Problem(name, first, "-", _header_reason(verdict, error, first, last)))
                header = []
                if verdict:
                    feed.read_again(taken[1:])
            else:
                header = [restore_neutralised(h.strip()) for h in record]
            continue
        if verdict or error is not None:
            plain = _as_plain(taken[0], width) if (verdict and single_line) else None
            if plain is not None:
                reason = _unreadable_reason(verdict, error, first, last).replace(
                    f"line {first} skipped", "the quote read as a plain character, row kept"
                )
                problems.append(Problem(name, first, "-", reason, "warning"))
                lines.append(first)
                records.append(plain)
            else:
                problems.append(Problem(name, first, "-", _unreadable_reason(verdict, error, first, last)))
                unreadable += 1
            if verdict:
                feed.read_again(taken[1:])
            continue
        if bidi_possible and any(not t.isascii() and BIDI_RE.search(t) for t in taken):
            bidi_rows.append(len(records))
        lines.append(first)
        records.append(record)
    if header is None:
        problems.append(Problem(name, 1, "-", "file is empty: expected a header row"))
        header = []
    return ParsedRows(header, lines, records, problems, unreadable, header_line, tuple(bidi_rows))


def _as_plain(line: str, width: int | None) -> list[str] | None:
    """A line read with quotes as plain characters, if that gives the header's number of fields."""
    fields = next(csv.reader([line.rstrip("\r\n")], quoting=csv.QUOTE_NONE), [])
    return fields if width is not None and len(fields) == width else None


def _suspect(taken: list[str], record: list[str] | None, error: csv.Error | None, width: int | None) -> str:
    """How a record looks: "eof" or "unclosed" if it is an unclosed quote's doing, else ""."""
    if error is not None:
        # A swallowing record often ends by outgrowing the field size limit.
        return "unclosed" if len(taken) > 1 and _rows_follow(taken, width) else ""
    try:
        list(csv.reader(taken, strict=True))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            return "eof"  # still inside quotes when the file ends: no closing quote at all
        malformed = True
    else:
        malformed = width is not None and len(record) != width
    if len(taken) > 1 and malformed and _rows_follow(taken, width):
        return "unclosed"
    return ""


def _rows_follow(taken: list[str], width: int | None) -> bool:
    """Whether the lines after a record's first read on their own as rows of the header's width."""
    if width is None:
        return True
    try:
        return any(len(row) == width for row in csv.reader(taken[1:], strict=False))
    except csv.Error:
        return False


def _unreadable_reason(verdict: str, error: csv.Error | None, first: int, last: int) -> str:
    """Why a record was skipped while reading, and what became of the lines it had swallowed."""
    if verdict:
        if last == first:
            return f"unclosed quote; the field runs to the end of the file: line {first} skipped"
        tail = ", to the end of the file" if verdict == "eof" else ""
        again = f"line {last}" if last == first + 1 else f"lines {first + 1}-{last}"
        return (
            f"unclosed quote; lines {first}-{last} read as one field{tail}: "
            f"line {first} skipped, {again} read again as rows"
        )
    if "field larger than field limit" in str(error):
        return f"a field is longer than {schema.MAX_FIELD_CHARS:,} characters: row skipped"
    return f"unreadable CSV: {error}: row skipped"


def _header_reason(verdict: str, error: csv.Error | None, first: int, last: int) -> str:
    if verdict:
        span = f"line {first}" if last == first else f"lines {first}-{last}"
        return f"unclosed quote in the header ({span} read as one field): no row can be loaded"
    if "field larger than field limit" in str(error):
        return f"a column name is longer than {schema.MAX_FIELD_CHARS:,} characters: no row can be loaded"
    return f"unreadable header: {error}: no row can be loaded"


def restore_neutralised(value: str) -> str:
    return value[1:] if NEUTRALISED_RE.match(value) else value


def show_value(value: str, limit: int = 40) -> str:
    """Quote a bad value for a message, shortened so a 5,000-character cell stays readable."""
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(text)


# ----- the byte scan that lets a columnar reader take a table ----------------------------------

#: The bidirectional controls as UTF-8 bytes: the scan looks for them without decoding.
BIDI_BYTES: tuple[bytes, ...] = tuple(c.encode("utf-8") for c in sorted(schema.BIDI_CONTROLS))
#: Bytes scanned at a time (whole lines): the scan's memory does not grow with the file.
SCAN_BYTES = 1 << 24
_NL, _CR, _QUOTE, _COMMA = 10, 13, 34, 44


@dataclass(frozen=True)
class PlainLayout:
    """Where the records of a provably plain CSV are: one record per non-blank physical line.

    `scan_plain` vouches for it; a columnar reader can then read the bytes from `data_offset`
    and `line_of` names the physical line of any record, computed for the records asked about
    only (the ones with a problem).
    """

    header: list[str]
    header_line: int
    data_offset: int  # the first byte after the header line
    blank_lines: np.ndarray  # physical numbers of the blank lines after the header, ascending
    data_bytes: int  # bytes from data_offset to the end
    lines: int  # physical lines in the file

    @property
    def records(self) -> int:
        """Records after the header: one per non-blank line."""
        return self.lines - self.header_line - len(self.blank_lines)

    def line_of(self, records: np.ndarray) -> np.ndarray:
        """Physical line numbers of records (0 = the first record after the header)."""
        records = np.asarray(records, dtype=np.int64)
        first = self.header_line + 1
        # Blank line k (0-based) has this many records before it.
        before = self.blank_lines - np.arange(len(self.blank_lines)) - first
        return first + records + np.searchsorted(before, records, side="right")


def scan_plain(source: Path | str | bytes, name: str) -> tuple[PlainLayout | None, str]:
    """Whether a CSV is provably plain, so that any RFC 4180 reader reads the records `read_rows`
    would: the layout, or None and why not.

    Plain means: UTF-8 (a BOM is fine, but not a second one opening the first record) without
    NUL bytes or bidirectional controls; lines end in
    LF or CRLF (no lone CR); no line is longer than a field may be; and every quote sits where
    RFC 4180 puts it: an opening quote starts a field, a closing quote ends one, and inside
    quotes a quote is doubled; so no field spans lines and `csv`'s lenient reading of a stray
    quote never comes into play. Anything else is left to the exact reader.
    Reads `SCAN_BYTES` at a time; numpy does the work, so 200 MB scan in well under a second.
    """
    try:
        handle = open(source, "rb") if not isinstance(source, bytes) else io.BytesIO(source)  # noqa: SIM115
    except OSError as exc:
        return None, f"cannot read: {exc}"
    with handle:
        state = _Scan(name)
        carry = b""
        offset = 0  # file offset of carry's first byte
        first = True
        while True:
            block = handle.read(SCAN_BYTES)
            buf = carry + block if carry else block
            if first:
                first = False
                if buf.startswith(codecs.BOM_UTF8):
                    buf, offset = buf[3:], 3
            if not block:
                if buf:
                    why = state.piece(buf, offset, final=True)
                    if why:
                        return None, why
                break
            cut = buf.rfind(b"\n") + 1
            if cut == 0:
                if len(buf) > schema.MAX_FIELD_CHARS:
                    return None, "a line longer than a field may be"
                carry = buf
                continue
            why = state.piece(buf[:cut], offset, final=False)
            if why:
                return None, why
            carry, offset = buf[cut:], offset + cut
        return state.layout(offset + len(carry))


class _Scan:
    """The running state of `scan_plain`: line count, header, blank lines."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines = 0  # lines before the current piece
        self.header: list[str] | None = None
        self.header_line = 0
        self.data_offset = 0
        self.blank: list[np.ndarray] = []

    def piece(self, buf: bytes, base: int, *, final: bool) -> str:
        """Check whole lines (the last one may lack its newline only at the end of the file)."""
        if b"\x00" in buf:
            return "a NUL byte"
        if not buf.isascii():
            try:
                buf.decode("utf-8")
            except UnicodeDecodeError:
                return "not UTF-8"
            if any(b in buf for b in BIDI_BYTES):
                return "bidirectional controls"
        arr = np.frombuffer(buf, dtype=np.uint8)
        nl = np.flatnonzero(arr == _NL)
        ends = nl if (not final or buf.endswith(b"\n")) else np.append(nl, len(arr))
        starts = np.concatenate(([0], nl + 1))[: len(ends)]
        if len(ends) and int((ends - starts).max()) > schema.MAX_FIELD_CHARS:
            return "a line longer than a field may be"
        if b"\r" in buf:
            cr = np.flatnonzero(arr == _CR)
            if cr[-1] + 1 >= len(arr) or (arr[cr + 1] != _NL).any():
                return "a carriage return that does not end a line"
        if b'"' in buf:
            why = _quotes_plain(arr, nl)
            if why:
                return why
        lengths = ends - starts
        blank = (lengths == 0) | ((lengths == 1) & (arr[np.maximum(ends - 1, 0)] == _CR))
        numbers = np.flatnonzero(blank) + self.lines + 1  # physical line numbers
        if self.header is None:
            filled = np.flatnonzero(~blank)
            if len(filled):
                i = int(filled[0])
                self.header_line = self.lines + i + 1
                text = buf[starts[i] : ends[i]].decode("utf-8")
                self.header = read_rows(text, self.name).header
                self.data_offset = base + int(ends[i]) + 1
                numbers = numbers[numbers > self.header_line]
            else:
                numbers = numbers[:0]
        if len(numbers):
            self.blank.append(numbers)
        self.lines += len(ends)
        # pyarrow drops a byte order mark at the start of the stream it reads, which begins
        # at the first record: a U+FEFF opening that record would vanish (csv keeps it).
        at = self.data_offset - base
        if self.header is not None and 0 <= at < len(buf) and buf.startswith(codecs.BOM_UTF8, at):
            return "a byte order mark at the start of the first record"
        return ""

    def layout(self, end: int) -> tuple[PlainLayout | None, str]:
        if self.header is None:
            return None, "no header"
        blank = np.concatenate(self.blank) if self.blank else np.zeros(0, dtype=np.int64)
        data = max(0, end - self.data_offset)
        return PlainLayout(self.header, self.header_line, self.data_offset, blank, data, self.lines), ""


def _quotes_plain(arr: np.ndarray, nl: np.ndarray) -> str:
    """ "" if every quote is where RFC 4180 puts it (see `scan_plain`), else why not."""
    q = np.flatnonzero(arr == _QUOTE)
    line = np.searchsorted(nl, q)  # the line (within this piece) each quote is on
    index = np.arange(len(q))
    starts = np.ones(len(q), dtype=bool)
    starts[1:] = line[1:] != line[:-1]
    rank = index - np.maximum.accumulate(np.where(starts, index, 0))  # 0, 1, ... within its line
    last = np.ones(len(q), dtype=bool)
    last[:-1] = starts[1:]
    if (rank[last] % 2 == 0).any():
        return "a quote left open at the end of a line"
    opening = q[rank % 2 == 0]  # opens a field, or is the second of a doubled quote
    before = arr[np.maximum(opening - 1, 0)]
    ok = (opening == 0) | (before == _COMMA) | (before == _NL) | (before == _QUOTE)
    if not ok.all():
        return "a quote inside an unquoted field"
    closing = q[rank % 2 == 1]  # closes a field, or is the first of a doubled quote
    after = arr[np.minimum(closing + 1, len(arr) - 1)]
    ok = (closing + 1 == len(arr)) | np.isin(after, (_COMMA, _NL, _CR, _QUOTE))
    if not ok.all():
        return "text after a closing quote"
    return ""
