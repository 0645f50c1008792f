"""Safe CSV and GeoJSON bytes of exactly the rows on screen.

CSV follows RFC 4180 (CRLF, minimal quoting), starts with a UTF-8 byte order mark so that
spreadsheets pick the right encoding, and neutralises formula injection as OWASP's
CSV-injection guidance advises: a text cell that begins with `=`, `+`, `-`, `@`, tab, carriage
return or line feed gets one leading apostrophe. Numbers are written as numbers and never
touched. The loader strips that one apostrophe again from every text column, extra columns
included (`data._restore_neutralised`), so export -> load gives back the same values; cells that
already start with apostrophes before a trigger get one more, which keeps the mapping reversible.
(So a table typed by hand with `'=x` loads as `=x`: the apostrophe is read as this mark.)
The rule is the same for every cell of a text column and for every header cell (the loader
refuses a column name that starts with a trigger, so this is defence in depth); columns of
numbers (`lat`, `lon`, `value`, `article`) are written as numbers, so `-5.5` stays `-5.5`.

The writers take a frame or an engine `Selection`; a selection is read in batches
(`Selection.batches`), so a download never holds every row as a frame. Each format has one
writer, `ExportFormat.stream(rows, context, out)`, which writes to a binary file object: the
command line streams it to a file (bounded memory at any size), and the Data page's bytes are
the same writer into memory (`ExportFormat.write`), so both give the same bytes.

The page serves bytes held in memory (`st.download_button`), so an in-browser download is
bounded: `DOWNLOAD_MAX_ROWS` per format, and `download_refusal` says whether a selection may be
downloaded and, if not, why. Larger selections are for `python -m dashboard export`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import pandas as pd

from dashboard.engine import Selection
from dashboard.schema import DERIVED_COLUMNS, EVENT_COLUMNS, INTEGER_COLUMNS, NUMERIC_COLUMNS

_TRIGGER_RE = re.compile(r"^'*[=+\-@\t\r\n]")


def neutralise(text: str) -> str:
    """Prefix one apostrophe to a cell a spreadsheet would read as a formula."""
    return "'" + text if _TRIGGER_RE.match(text) else text


def _cell(column: str, value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if column in NUMERIC_COLUMNS or column in INTEGER_COLUMNS:
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    if isinstance(value, bool):
        return "true" if value else "false"
    return neutralise(str(value))


def export_columns(frame: pd.DataFrame | Selection) -> list[str]:
    """The schema columns, then any extra columns the table came with (derived ones left out)."""
    if isinstance(frame, Selection):
        # A table read from the engine: its extra columns are those neither schema nor derived.
        known = set(EVENT_COLUMNS) | set(DERIVED_COLUMNS)
        return list(EVENT_COLUMNS) + [c for c in frame.engine.columns if c not in known]
    extras = [c for c in frame.attrs.get("extra_columns", ()) if c in frame.columns]
    return list(EVENT_COLUMNS) + extras


def _batches(rows: pd.DataFrame | Selection, columns: list[str]) -> Iterable[pd.DataFrame]:
    return rows.batches(columns=columns) if isinstance(rows, Selection) else [rows[columns]]


def csv_chunks(rows: pd.DataFrame | Selection) -> Iterator[bytes]:
    """The CSV's bytes, a header and then one chunk per batch of rows."""
    columns = export_columns(rows)
    # The header too: the loader refuses unsafe column names (data.column_name_problem), and a
    # frame built some other way is still written safely.
    yield _csv_text([[neutralise(c) for c in columns]], "\ufeff").encode("utf-8")
    for batch in _batches(rows, columns):
        lines = (
            [_cell(c, v) for c, v in zip(columns, row, strict=True)]
            for row in batch.itertuples(index=False, name=None)
        )
        yield _csv_text(lines).encode("utf-8")


def _csv_text(rows: Iterable[list[str]], start: str = "") -> str:
    buffer = io.StringIO(newline="")
    buffer.write(start)
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return buffer.getvalue()


def to_csv_bytes(frame: pd.DataFrame | Selection) -> bytes:
    """The rows as a spreadsheet-safe CSV that re-imports to the same data."""
    return b"".join(csv_chunks(frame))


def write_chunks(chunks: Iterable[bytes], out: BinaryIO) -> None:
    """Write a writer's chunks one by one: only one batch's bytes are held at a time."""
    for chunk in chunks:
        out.write(chunk)


def _json_value(column: str, value):
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):  # JSON has no Infinity: refuse, name it
        raise ValueError(f"GeoJSON export: column {column}: {value!r} is not a finite number")
    return value


#: Features written at a time: a GeoJSON feature is about 1 KB of text, so a chunk per batch
#: of rows (50,000) would hold some 40-50 MB of text twice (parts and joined) while it is written.
FEATURES_PER_CHUNK = 2_000


def geojson_chunks(rows: pd.DataFrame | Selection) -> Iterator[bytes]:
    """A GeoJSON FeatureCollection's bytes, feature by feature: the text `json.dumps(collection,
    indent=1)` writes (each feature is indented as it sits two levels down)."""
    columns = export_columns(rows)
    first = True
    for batch in _batches(rows, columns):
        parts = []
        for row in batch.itertuples(index=False, name=None):
            props = {c: _json_value(c, v) for c, v in zip(columns, row, strict=True)}
            has_point = props["lat"] is not None and props["lon"] is not None
            geometry = {"type": "Point", "coordinates": [props["lon"], props["lat"]]} if has_point else None
            feature = {"type": "Feature", "id": props["event_id"], "geometry": geometry, "properties": props}
            text = json.dumps(feature, ensure_ascii=False, indent=1, allow_nan=False)
            head = '{\n "type": "FeatureCollection",\n "features": [\n' if first else ",\n"
            parts.append(head + textwrap.indent(text, "  "))
            first = False
            if len(parts) == FEATURES_PER_CHUNK:
                yield "".join(parts).encode("utf-8")
                parts = []
        if parts:
            yield "".join(parts).encode("utf-8")
    yield ('{\n "type": "FeatureCollection",\n "features": []\n}' if first else "\n ]\n}").encode("utf-8")


def to_geojson_bytes(frame: pd.DataFrame | Selection) -> bytes:
    """The rows as a GeoJSON FeatureCollection; rows without a place have a null geometry."""
    return b"".join(geojson_chunks(frame))


@dataclass(frozen=True, eq=False)
class ExportContext:
    """What a self-describing export needs besides the rows: where they come from and how they
    were chosen. `permalink` is the URL of the view (empty from the command line)."""

    dataset: object  # dashboard.dataset.Dataset (not imported: it would import this module's users)
    state: object  # dashboard.filters.FilterState
    permalink: str = ""


@dataclass(frozen=True)
class ExportFormat:
    """One download: how to write it, what to call it, how browsers and the CLI name it.

    `stream(rows, context, out)` writes exactly the rows on screen to a binary file object `out`
    (seekable, for the ZIP); `context` holds the dataset and the filter state, for formats that
    describe themselves (CSV and GeoJSON need only the rows). It is the one writer of the
    format: the command line streams it to disk, the Data page gets its bytes (`write`).
    """

    key: str
    label: str
    extension: str
    mime: str
    stream: Callable[[pd.DataFrame | Selection, ExportContext, BinaryIO], None]
    help: str = ""
    #: How many times the writer reads the rows (the ZIP: its CSV, then its GeoJSON).
    reads: int = 1

    def write(self, rows: pd.DataFrame | Selection, context: ExportContext | None) -> bytes:
        """The file as bytes in memory: `stream` into a buffer (for a bounded selection)."""
        buffer = io.BytesIO()
        self.stream(rows, context, buffer)
        return buffer.getvalue()

    def file_name(self, stem: str = "summit-atlas-events") -> str:
        return f"{stem}.{self.extension}"


def _data_package(rows: pd.DataFrame | Selection, context: ExportContext, out: BinaryIO) -> None:
    from dashboard.package import write_package  # imported here: dashboard.package imports this module

    # A selection is asked for its counts and cited articles and read in batches for the CSV and
    # GeoJSON, which are spooled (to disk beyond a few MB) for their sizes and hashes: never as
    # one frame, and never whole in memory.
    write_package(rows, context, out)


#: Every export format, in the order the Data page offers them; the CLI's `--format` choices.
FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        ExportFormat(
            "csv",
            "CSV",
            "csv",
            "text/csv",
            lambda rows, context, out: write_chunks(csv_chunks(rows), out),
            "spreadsheet-safe, UTF-8 with BOM; re-imports to the same data",
        ),
        ExportFormat(
            "geojson",
            "GeoJSON",
            "geojson",
            "application/geo+json",
            lambda rows, context, out: write_chunks(geojson_chunks(rows), out),
            "points for GIS tools; rows with no place have a null geometry",
        ),
        ExportFormat(
            "zip",
            "data package (ZIP)",
            "zip",
            "application/zip",
            _data_package,
            "the CSV and GeoJSON, the sources they cite, a README (how to cite, column dictionary, "
            "licences) and a Frictionless datapackage.json",
            reads=2,
        ),
    )
}

# ----- the bound on in-browser downloads ---------------------------------------------------------

#: The most rows the Data page offers as a download in each format. A download button serves
#: bytes held in the server's memory (Streamlit keeps the built file in its media store while it
#: is sent), so these bound the file: measured per row on the shipped table (the longest rows:
#: CSV 508 bytes, GeoJSON 1,059 bytes) and on the 10M-row synthetic table (196 and 760 bytes),
#: the largest CSV or GeoJSON allowed is about 127 MB, so the file, a copy or two of it while it
#: is served, and the server's ~600 MiB stay well under the 1.5 GB budget (issue 12). The ZIP
#: holds the GeoJSON of every row (and the CSV; both spooled while it is built, its own bytes
#: compressed to about a tenth), so it gets the GeoJSON's bound. Larger selections:
#: `python -m dashboard export`, which streams to disk (README: Scale).
DOWNLOAD_MAX_ROWS: dict[str, int] = {"csv": 250_000, "geojson": 120_000, "zip": 120_000}
assert set(DOWNLOAD_MAX_ROWS) == set(FORMATS), "every export format has its bound"


#: From this many rows a download takes more than about a second to build (measured on the
#: 10M-row table: CSV about 40,000 rows a second, GeoJSON 17,000, the ZIP 10,000): the Data page
#: builds it in the page's run under a progress bar first, then offers the file.
PREPARE_MIN_ROWS = 10_000


@dataclass(frozen=True, eq=False)
class Reporting(Selection):
    """A selection that says how far a writer has read it: `report(done, total)` after each
    batch, `total` being its rows times `reads` (a writer reading them more than once)."""

    report: Callable[[int, int], None] = field(default=lambda done, total: None)
    reads: int = 1
    #: Batches a tenth of the engine's: a bar that moves about every quarter second.
    size: int = 5_000

    #: Rows read so far, over every read (the one thing that changes).
    done: list[int] = field(default_factory=lambda: [0])

    def batches(self, columns=None, size=None):
        total = self.count() * self.reads
        for batch in super().batches(columns, self.size):
            yield batch
            self.done[0] += len(batch)
            self.report(min(self.done[0], total), total)


def reporting(selection: Selection, fmt: ExportFormat, report: Callable[[int, int], None]) -> Reporting:
    """`selection` reporting `fmt`'s progress in writing it."""
    return Reporting(selection.engine, selection.where, selection.params, report=report, reads=fmt.reads)


def download_refusal(key: str, rows: int) -> str:
    """Why a selection of `rows` events may not be downloaded in the browser as format `key`,
    in a sentence; "" when it may. Unknown formats are refused by name."""
    if key not in FORMATS:
        raise ValueError(f"download format {key!r}: not one of {', '.join(FORMATS)}")
    limit = DOWNLOAD_MAX_ROWS[key]
    if rows <= limit:
        return ""
    return (
        f"{FORMATS[key].label} downloads in the browser are limited to {limit:,} rows, and these "
        f"filters select {rows:,}."
    )
