"""The contracts of the reference files in `geodata/`, and reading those files against them.

Each file's columns, types, ranges, keys and links to other files are declared once, as data
(`CONTRACTS`), and every load checks them. Nothing in `geodata/` is trusted: it is committed,
but a hand edit, a partial rebuild or a bad merge can break it, and the app must then say what
is wrong, where, instead of a traceback. What happens to each kind of problem:

* **the file cannot be used** (missing, unreadable, not JSON, no header, a declared column
  missing, no country shape at all): `ReferenceDataError`, which lists every such problem of
  every file. The app shows it as an error, `python -m dashboard validate` exits 1 with it, and
  no events table is checked against broken reference data.
* **a bad row** (a latitude `abc`, an unknown code, a duplicate key, fields shifted by a quote):
  the row is skipped, and an `error` Problem names file, line, column and value.
* **a bad optional value** (an organisation's seat latitude): the value is left out, the row is
  kept, and a `warning` Problem says so.
* **something the map needs is absent** (no capital for RUS, where every arc starts): a
  `warning` Problem on line 0 (the file as a whole), and the view that needs it says so.

CSVs go through the project's own reader (`reading.read_rows`), so line numbers are the ones an
editor shows. None of these tables has a multi-line field, so a record spanning several lines
is a stray quote: it is reported, and its lines are read again one by one
(`read_single_line_records`), so it costs one row at most, never the rest of the file.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from dashboard.reading import Problem, decode, read_rows, show_value
from dashboard.schema import DATE_RE, ISO3_RE

COUNTRIES_FILE = "countries.geojson"
PLACES_FILE = "places.csv"
CAPITALS_FILE = "capitals.csv"
ORGANISATIONS_FILE = "organisations.csv"
MEMBERS_FILE = "organisation_members.csv"

#: An organisation acronym: a cell of the events table's `;`-separated `organisations` column.
ACRONYM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
#: A decimal number as the build writes it ([0-9], not \d; no `nan`, `inf` or `1_000`).
NUMBER_RE = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
#: UN M49 regions, the `continent` property of every country.
CONTINENTS = ("Africa", "Americas", "Asia", "Europe", "Oceania")
#: Reason given when a file cannot be used at all.
UNUSABLE = "the reference data cannot be used"
#: How many codes one grouped problem lists before "and N more".
MAX_CODES_LISTED = 10


@dataclass(frozen=True)
class Field:
    """One column of a reference file and what its values must be.

    A `required` field's bad or empty value skips the row (an `error`); an optional field's bad
    value is left out and the row kept (a `warning`). `refers_to` names a (file, column) the
    value must occur in, checked against the rows of that file that passed their own checks.
    """

    name: str
    kind: str = "text"  # "text" (kept as written) | "code" (stripped) | "number" (finite float)
    required: bool = True
    pattern: re.Pattern | None = None
    pattern_means: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    refers_to: tuple[str, str] | None = None
    what: str = ""  # how a value is named in a reason: "ISO3 code", "organisation", ...


@dataclass(frozen=True)
class Contract:
    """What a reference file must hold.

    `key`: columns whose values are unique (a later duplicate is skipped). `pairs`: columns given
    both or neither. `must_have`: (column, value, consequence) rows without which a view cannot
    be drawn. `covers`: (column, file, column, consequence): every value there should have a row
    here.
    """

    file: str
    fields: tuple[Field, ...]
    key: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()
    must_have: tuple[tuple[str, str, str], ...] = ()
    covers: tuple[str, str, str, str] | None = None
    noun: str = "row"  # what one row is, for "no capital for RUS"

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def _iso3(name: str, refers: bool = True, **kw) -> Field:
    return Field(
        name,
        kind="code",
        pattern=ISO3_RE,
        pattern_means="an ISO3 code (three capital letters)",
        refers_to=(COUNTRIES_FILE, "iso3") if refers else None,
        what="ISO3 code",
        **kw,
    )


def _lat(name: str = "lat", **kw) -> Field:
    return Field(name, kind="number", low=-90, high=90, **kw)


def _lon(name: str = "lon", **kw) -> Field:
    return Field(name, kind="number", low=-180, high=180, **kw)


#: `countries.geojson`: one feature per country; `geometry` is checked apart (valid polygons).
COUNTRIES = Contract(
    COUNTRIES_FILE,
    (
        _iso3("iso3", refers=False),
        Field("name"),
        Field("continent", choices=CONTINENTS, what="continent"),
        Field("region"),
    ),
    key=("iso3",),
)
PLACES = Contract(
    PLACES_FILE,
    (Field("place"), _iso3("country_iso3"), _lat(), _lon(), Field("source")),
    key=("place",),
)
CAPITALS = Contract(
    CAPITALS_FILE,
    # `capital` may be empty: HMD is uninhabited, its point is the polygon's (geodata/README.md).
    (_iso3("country_iso3"), Field("capital", required=False), _lat(), _lon(), Field("source")),
    key=("country_iso3",),
    must_have=(("country_iso3", "RUS", "arcs cannot be drawn"),),
    covers=("country_iso3", COUNTRIES_FILE, "iso3", "no arc can end there"),
    noun="capital",
)
ORGANISATIONS = Contract(
    ORGANISATIONS_FILE,
    (
        Field(
            "acronym",
            kind="code",
            pattern=ACRONYM_RE,
            pattern_means="an acronym (letters, digits, hyphens)",
        ),
        Field("name"),
        Field(
            "type",
            kind="code",
            choices=("intergovernmental", "forum", "dialogue", "bank", "institution", "initiative"),
            what="type",
        ),
        Field("seat_city", required=False, refers_to=(PLACES_FILE, "place"), what="place"),
        _iso3("seat_iso3", required=False),
        _lat("seat_lat", required=False),
        _lon("seat_lon", required=False),
    ),
    key=("acronym",),
    pairs=(("seat_lat", "seat_lon"),),
)
MEMBERS = Contract(
    MEMBERS_FILE,
    (
        Field("acronym", kind="code", refers_to=(ORGANISATIONS_FILE, "acronym"), what="organisation"),
        _iso3("member_iso3"),
        Field("role", kind="code", choices=("member", "observer", "dialogue partner"), what="role"),
        Field(
            "as_of",
            kind="code",
            pattern=DATE_RE,
            pattern_means="an ISO date (YYYY, YYYY-MM or YYYY-MM-DD)",
        ),
        Field("source"),
    ),
    key=("acronym", "member_iso3"),
)
#: Every reference file, in the order they are read: a file is checked against those before it.
CONTRACTS: tuple[Contract, ...] = (COUNTRIES, PLACES, CAPITALS, ORGANISATIONS, MEMBERS)


class ReferenceDataError(ValueError):
    """The reference data cannot be used; `problems` lists why (every file's, in file order)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, eq=False)
class ReferenceTables:
    """The rows of every reference file that passed their contract, and what was wrong."""

    countries: gpd.GeoDataFrame
    places: pd.DataFrame
    capitals: pd.DataFrame
    organisations: pd.DataFrame
    members: pd.DataFrame
    problems: tuple[Problem, ...]


def read_reference_tables(directory: Path | str) -> ReferenceTables:
    """Read and check every file of a geodata folder; raise ReferenceDataError if one is unusable.

    Every file is read even after one proved unusable, so the error lists all that is wrong.
    """
    directory = Path(directory)
    label = directory.name or str(directory)
    problems: list[Problem] = []
    # The values each file's valid rows hold, for the files after it; None: that file is unusable.
    known: dict[tuple[str, str], frozenset | None] = {}
    tables: dict[str, pd.DataFrame | None] = {}
    usable = True
    for contract in CONTRACTS:
        report = _Report(f"{label}/{contract.file}", problems)
        read = _read_countries if contract is COUNTRIES else _read_csv
        frame = read(directory / contract.file, contract, known, report)
        usable = usable and not report.unusable_found
        tables[contract.file] = frame
        for col in contract.columns:
            known[(contract.file, col)] = None if frame is None else frozenset(frame[col].dropna())
    if not usable:
        raise ReferenceDataError(problems)
    return ReferenceTables(*(tables[c.file] for c in CONTRACTS), tuple(problems))


class _Report:
    """Collects one file's problems into the shared list; remembers whether the file is unusable."""

    def __init__(self, name: str, problems: list[Problem]) -> None:
        self.name, self.problems, self.unusable_found = name, problems, False

    def add(self, line: int, column: str, reason: str, severity: str = "error") -> None:
        self.problems.append(Problem(self.name, line, column, reason, severity))

    def unusable(self, line: int, column: str, reason: str) -> None:
        self.add(line, column, f"{reason}; {UNUSABLE}")
        self.unusable_found = True


def _read_bytes(path: Path, report: _Report) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        report.unusable(0, "-", f"cannot read file ({exc.strerror or exc})")
        return None


# ----- CSV files --------------------------------------------------------------------------------


def _read_csv(path: Path, contract: Contract, known, report: _Report) -> pd.DataFrame | None:
    raw = _read_bytes(path, report)
    if raw is None:
        return None
    text, decode_problems = decode(raw, report.name)
    report.problems.extend(decode_problems)
    header, lines, records, parse_problems = read_single_line_records(text, report.name)
    report.problems.extend(parse_problems)
    if not header:
        report.unusable(1, "-", "file is empty: expected a header row")
        return None
    duplicated = sorted({h for h in header if header.count(h) > 1})
    missing = [c for c in contract.columns if c not in header]
    if duplicated:
        report.unusable(1, ",".join(duplicated), "column named more than once")
    if missing:
        report.unusable(1, ",".join(missing), "required column missing")
    if duplicated or missing:
        return None

    physical = _NEWLINE_RE.split(text)
    rows, where = [], []
    for line, record in zip(lines, records, strict=True):
        if len(record) != len(header):
            # A stray quote that closes on the same line shifts the fields instead of lines.
            hint = " (check the quotes on this line)" if '"' in physical[line - 1] else ""
            report.add(line, "-", f"expected {len(header)} fields, found {len(record)}{hint}")
            continue
        row = _check_row(dict(zip(header, record, strict=True)), contract, known, report, line)
        if row is not None:
            rows.append(row)
            where.append((line, f"line {line}"))
    rows = _unique(rows, where, contract, report)
    frame = pd.DataFrame(rows, columns=header)
    for f in contract.fields:
        if f.kind == "number":
            frame[f.name] = frame[f.name].astype(float)
    _check_presence(frame, contract, known, report)
    return frame


def read_single_line_records(text: str, name: str):
    """`read_rows` for a table without multi-line fields, where a record spanning several lines
    is a stray quote. It is reported on its first line; that line is read again with the quote as
    a plain character (kept, with a warning, if it then has the header's number of fields; else
    skipped), and so are the lines it swallowed: one stray quote never costs the rest of the file.
    """
    header, lines, records, problems = read_rows(text, name)
    if not header:
        return header, lines, records, problems
    physical = _NEWLINE_RE.split(text)
    out_lines, out_records = [], []
    for line, record in zip(lines, records, strict=True):
        spans = [(i, cell) for i, cell in enumerate(record) if _NEWLINE_RE.search(cell)]
        if not spans:
            out_lines.append(line)
            out_records.append(record)
            continue
        column_index, cell = spans[0]
        last = min(line + sum(len(_NEWLINE_RE.findall(c)) for c in record), _last_line(physical))
        column = header[column_index] if column_index < len(header) else "-"
        as_plain = next(csv.reader([physical[line - 1]], quoting=csv.QUOTE_NONE), [])
        kept = len(as_plain) == len(header)
        if kept:
            out_lines.append(line)
            out_records.append(as_plain)
        outcome = "the quote kept as a plain character" if kept else f"line {line} skipped"
        if last > line:
            spread = f"lines {line}-{last} read as one field; read again line by line, {outcome}"
        else:
            spread = f"it runs to the end of the file; {outcome}"
        reason = f"unclosed quote before {show_value(_NEWLINE_RE.split(cell)[0])}: {spread}"
        problems.append(Problem(name, line, column, reason, "warning" if kept else "error"))
        if last > line:
            # Read the swallowed lines on their own, under the same header; renumber to the file's.
            again = "\n".join([physical[0], *physical[line:last]]) + "\n"
            _, sub_lines, sub_records, sub_problems = read_single_line_records(again, name)
            out_lines.extend(n + line - 1 for n in sub_lines)
            out_records.extend(sub_records)
            problems.extend(replace(p, line=p.line + line - 1) for p in sub_problems)
    return header, out_lines, out_records, problems


_NEWLINE_RE = re.compile(r"\r\n|\r|\n")


def _last_line(physical: list[str]) -> int:
    """The number of the last line with content (a final newline starts no line)."""
    return len(physical) - 1 if physical and physical[-1] == "" else len(physical)


def _check_row(row: dict, contract: Contract, known, report: _Report, line: int, prefix: str = ""):
    """The row with its values parsed, or None (problems reported) if a required value is bad.

    `prefix` locates the row inside a line (a GeoJSON feature: `features[3].properties.`).
    """
    ok = True
    for f in contract.fields:
        value, reason = check_value(f, row[f.name], known)
        if reason:
            report.add(line, prefix + f.name, reason, "error" if f.required else "warning")
            ok = ok and not f.required
            value = _EMPTY[f.kind]
        row[f.name] = value
    for a, b in contract.pairs:
        if _is_empty(row[a]) != _is_empty(row[b]):
            report.add(
                line, f"{prefix}{a},{b}", f"give both {a} and {b}, or neither; both left out", "warning"
            )
            row[a], row[b] = _EMPTY[contract.field(a).kind], _EMPTY[contract.field(b).kind]
    return row if ok else None


_EMPTY = {"text": "", "code": "", "number": math.nan}


def _is_empty(value) -> bool:
    return value == "" or (isinstance(value, float) and math.isnan(value))


def check_value(f: Field, raw: str, known) -> tuple[object, str]:
    """One cell against its field: the parsed value and "", or a reason it is wrong."""
    value = raw if f.kind == "text" else raw.strip()
    if value.strip() == "":
        return _EMPTY[f.kind], ("required value is empty" if f.required else "")
    if f.kind == "number":
        if not NUMBER_RE.match(value) or not math.isfinite(float(value)):
            return None, f"{show_value(value)} is not a finite number"
        number = float(value)
        if f.low is not None and not f.low <= number <= f.high:
            return None, f"{value} is outside {f.low}..{f.high}"
        return number, ""
    if f.pattern is not None and not f.pattern.match(value):
        return None, f"{show_value(value)} is not {f.pattern_means}"
    if f.choices and value not in f.choices:
        return None, f"unknown {f.what} {show_value(value)}; expected one of {', '.join(f.choices)}"
    if f.refers_to is not None:
        allowed = known.get(f.refers_to)
        if allowed is not None and value not in allowed:
            return None, f"unknown {f.what} {show_value(value)}: not in {f.refers_to[0]}"
    return value, ""


def _unique(rows: list[dict], where: list[tuple[int, str]], contract: Contract, report: _Report, prefix=None):
    """The rows with a key not seen before; each later duplicate is an error naming the first.

    `where` gives each row's line and how to name its place ("line 7", "features[3]").
    """
    first: dict[tuple, str] = {}
    kept = []
    for i, (row, (line, place)) in enumerate(zip(rows, where, strict=True)):
        key = tuple(row[c] for c in contract.key)
        if contract.key and key in first:
            shown = ", ".join(show_value(str(k)) for k in key)
            column = ",".join(contract.key)
            report.add(
                line, (prefix(i) if prefix else "") + column, f"duplicate {shown}, first in {first[key]}"
            )
            continue
        first.setdefault(key, place)
        kept.append(row)
    return kept


def _check_presence(frame: pd.DataFrame, contract: Contract, known, report: _Report) -> None:
    """Rows a view cannot do without, and values of another file that have no row here."""
    listed = set()
    for column, value, consequence in contract.must_have:
        listed.add(value)
        if value not in set(frame[column]):
            report.add(0, column, f"no {contract.noun} for {value}: {consequence}", "warning")
    if contract.covers is not None:
        column, other_file, other_column, consequence = contract.covers
        expected = known.get((other_file, other_column))
        absent = sorted((expected or set()) - set(frame[column]) - listed)
        if absent:
            shown = ", ".join(absent[:MAX_CODES_LISTED])
            if len(absent) > MAX_CODES_LISTED:
                shown += f" and {len(absent) - MAX_CODES_LISTED} more"
            reason = f"no {contract.noun} for {shown}, listed in {other_file}: {consequence}"
            report.add(0, column, reason, "warning")


# ----- countries.geojson ------------------------------------------------------------------------


def _read_countries(path: Path, contract: Contract, known, report: _Report) -> gpd.GeoDataFrame | None:
    """Country features checked like CSV rows, each problem on the line its feature starts and
    its column a JSON path (`features[3].properties.iso3`): the shipped file is one line."""
    raw = _read_bytes(path, report)
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.unusable(raw.count(b"\n", 0, exc.start) + 1, "-", f"not UTF-8 (byte offset {exc.start})")
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        report.unusable(exc.lineno, "-", f"not valid JSON, truncated? ({exc})")
        return None
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list) or document.get("type") != "FeatureCollection":
        report.unusable(1, "-", "not a GeoJSON FeatureCollection with a list of features")
        return None
    props = [f.get("properties") if isinstance(f, dict) else None for f in features]
    absent = [c for c in contract.columns if not any(isinstance(p, dict) and c in p for p in props)]
    if absent:
        report.unusable(1, ",".join(f"properties.{c}" for c in absent), "property missing from every feature")
        return None

    lines = _feature_lines(text, len(features))
    rows, where, index = [], [], []
    for i, (feature, properties, line) in enumerate(zip(features, props, lines, strict=True)):
        properties = properties if isinstance(properties, dict) else {}
        cells = {c: "" if properties.get(c) is None else str(properties[c]) for c in contract.columns}
        row = _check_row(cells, contract, known, report, line, f"features[{i}].properties.")
        geometry = _check_geometry(feature, report, line, f"features[{i}].geometry")
        if row is not None and geometry is not None:
            rows.append({**row, "geometry": geometry})
            where.append((line, f"features[{i}]"))
            index.append(i)
    rows = _unique(rows, where, contract, report, lambda k: f"features[{index[k]}].properties.")
    if not rows:
        report.unusable(1, "-", "no usable country shape")
        return None
    frame = pd.DataFrame(rows, columns=[*contract.columns, "geometry"])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)


def _check_geometry(feature, report: _Report, line: int, column: str) -> shapely.Geometry | None:
    """A feature's polygon(s), or None with an error; an invalid one is repaired (a warning)."""
    data = feature.get("geometry") if isinstance(feature, dict) else None
    if not data:
        report.add(line, column, "no geometry")
        return None
    try:
        geometry = shape(data)
    except Exception as exc:  # shapely raises several types on malformed coordinates
        report.add(line, column, f"cannot be read ({type(exc).__name__}: {exc})")
        return None
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        report.add(line, column, f"{geometry.geom_type} is not a Polygon or MultiPolygon")
        return None
    if geometry.is_empty:
        report.add(line, column, "empty geometry")
        return None
    xy = shapely.get_coordinates(geometry)
    if not np.isfinite(xy).all() or (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
        report.add(line, column, "coordinates outside lon -180..180, lat -90..90 (GeoJSON is WGS84 degrees)")
        return None
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        repaired = shapely.make_valid(geometry)
        parts = getattr(repaired, "geoms", [repaired])
        polygons = [g for g in parts if g.geom_type in ("Polygon", "MultiPolygon")]
        if not polygons:
            report.add(line, column, f"invalid geometry ({reason}) that make_valid cannot repair")
            return None
        geometry = shapely.union_all(polygons)
        report.add(line, column, f"invalid geometry ({reason}): repaired with make_valid", "warning")
    return geometry


def _feature_lines(text: str, count: int) -> list[int]:
    """The line each feature of a valid FeatureCollection starts on (1 for a one-line file).

    Walks the top-level object with the standard decoder, so a pretty-printed file gets each
    feature's own line; if the layout is unexpected, every feature is given line 1.
    """
    decoder, ws = json.JSONDecoder(), re.compile(r"[ \t\n\r]*")
    try:
        i = ws.match(text, 0).end() + 1  # past "{"
        while True:
            i = ws.match(text, i).end()
            key, i = decoder.raw_decode(text, i)
            i = ws.match(text, ws.match(text, i).end() + 1).end()  # past ":"
            if key == "features":
                break
            _, i = decoder.raw_decode(text, i)
            i = ws.match(text, i).end() + 1  # past ","
        starts, i = [], i + 1  # past "["
        for _ in range(count):
            i = ws.match(text, i).end()
            starts.append(i)
            _, i = decoder.raw_decode(text, i)
            i = ws.match(text, i).end() + 1  # past "," or "]"
    except (ValueError, IndexError):
        return [1] * count
    newlines = np.cumsum([0] + [text.count("\n", a, b) for a, b in zip([0, *starts], starts, strict=False)])
    return [int(n) + 1 for n in newlines[1:]]
