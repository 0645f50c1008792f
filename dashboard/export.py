"""Safe CSV and GeoJSON bytes of exactly the rows on screen.

CSV follows RFC 4180 (CRLF, minimal quoting), starts with a UTF-8 byte order mark so that
spreadsheets pick the right encoding, and neutralises formula injection as OWASP's
CSV-injection guidance advises: a text cell that begins with `=`, `+`, `-`, `@`, tab, carriage
return or line feed gets one leading apostrophe. Numbers are written as numbers and never
touched. The loader strips that one apostrophe again from every text column, extra columns
included (`data._restore_neutralised`), so export -> load gives back the same values; cells that
already start with apostrophes before a trigger get one more, which keeps the mapping reversible.
(So a table typed by hand with `'=x` loads as `=x`: the apostrophe is read as this mark.)
The rule is the same for every cell of a text column; columns of numbers (`lat`, `lon`,
`value`, `article`) are written as numbers, so `-5.5` stays `-5.5`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from dashboard.schema import EVENT_COLUMNS, INTEGER_COLUMNS, NUMERIC_COLUMNS

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


def export_columns(frame: pd.DataFrame) -> list[str]:
    """The schema columns, then any extra columns the table came with (derived ones left out)."""
    extras = [c for c in frame.attrs.get("extra_columns", ()) if c in frame.columns]
    return list(EVENT_COLUMNS) + extras


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """The rows as a spreadsheet-safe CSV that re-imports to the same data."""
    columns = export_columns(frame)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in frame[columns].itertuples(index=False, name=None):
        writer.writerow([_cell(c, v) for c, v in zip(columns, row, strict=True)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _json_value(column: str, value):
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):  # JSON has no Infinity: refuse, name it
        raise ValueError(f"GeoJSON export: column {column}: {value!r} is not a finite number")
    return value


def to_geojson_bytes(frame: pd.DataFrame) -> bytes:
    """The rows as a GeoJSON FeatureCollection; rows without a place have a null geometry."""
    columns = export_columns(frame)
    features = []
    for row in frame[columns].itertuples(index=False, name=None):
        props = {c: _json_value(c, v) for c, v in zip(columns, row, strict=True)}
        has_point = props["lat"] is not None and props["lon"] is not None
        geometry = {"type": "Point", "coordinates": [props["lon"], props["lat"]]} if has_point else None
        features.append(
            {"type": "Feature", "id": props["event_id"], "geometry": geometry, "properties": props}
        )
    collection = {"type": "FeatureCollection", "features": features}
    return json.dumps(collection, ensure_ascii=False, indent=1, allow_nan=False).encode("utf-8")


@dataclass(frozen=True, eq=False)
class ExportContext:
    """What a self-describing export needs besides the rows: where they come from and how they
    were chosen. `permalink` is the URL of the view (empty from the command line)."""

    dataset: object  # dashboard.dataset.Dataset (not imported: it would import this module's users)
    state: object  # dashboard.filters.FilterState
    permalink: str = ""


def _data_package(rows: pd.DataFrame, context: ExportContext) -> bytes:
    from dashboard.package import write_package  # imported here: dashboard.package imports this module

    return write_package(rows, context)


@dataclass(frozen=True)
class ExportFormat:
    """One download: how to write it, what to call it, how browsers and the CLI name it.

    `write(rows, context)` gets exactly the rows on screen and a context (the dataset and the
    filter state, for formats that describe themselves); CSV and GeoJSON need only the rows.
    """

    key: str
    label: str
    extension: str
    mime: str
    write: Callable[[pd.DataFrame, ExportContext], bytes]
    help: str = ""

    def file_name(self, stem: str = "summit-atlas-events") -> str:
        return f"{stem}.{self.extension}"


#: Every export format, in the order the Data page offers them; the CLI's `--format` choices.
FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        ExportFormat(
            "csv",
            "CSV",
            "csv",
            "text/csv",
            lambda rows, context: to_csv_bytes(rows),
            "spreadsheet-safe, UTF-8 with BOM; re-imports to the same data",
        ),
        ExportFormat(
            "geojson",
            "GeoJSON",
            "geojson",
            "application/geo+json",
            lambda rows, context: to_geojson_bytes(rows),
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
        ),
    )
}
