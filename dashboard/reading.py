"""Reading text tables: decoding bytes, CSV records with the line an editor shows, and `Problem`.

Every reader of the project (the events and sources tables in `data.py`, the reference files in
`reference.py`) reports what is wrong as a `Problem` named `file:line: column: reason`. This module
imports nothing else from the project, so both can use it without an import cycle.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

csv.field_size_limit(10_000_000)


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


def decode(raw: bytes, name: str) -> tuple[str, list[Problem]]:
    """Decode bytes as UTF-8 (a BOM is fine); fall back to Windows-1252 with a warning."""
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


def read_rows(text: str, name: str) -> tuple[list[str], list[int], list[list[str]], list[Problem]]:
    """Parse CSV text into header, the starting line of each record, and the records."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    problems: list[Problem] = []
    try:
        header = next(reader)
    except StopIteration:
        return [], [], [], [Problem(name, 1, "-", "file is empty: expected a header row")]
    except csv.Error as exc:
        return [], [], [], [Problem(name, 1, "-", f"unreadable header: {exc}")]
    header = [h.strip() for h in header]
    lines: list[int] = []
    records: list[list[str]] = []
    line = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(name, line, "-", f"unreadable CSV: {exc}"))
            line = reader.line_num + 1
            continue
        if record:  # blank lines carry no row
            lines.append(line)
            records.append(record)
        line = reader.line_num + 1
    return header, lines, records, problems


def show_value(value: str, limit: int = 40) -> str:
    """Quote a bad value for a message, shortened so a 5,000-character cell stays readable."""
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(text)
