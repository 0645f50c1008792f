"""What the ACLED and GDELT importers share: the report, the crosswalks, the country lookup and
the streaming writer.

An importer reads its file in batches and hands each batch to `Batch` as columns of our schema,
keyed by name; `Batch.finish` drops duplicate ids and writes the rows with the dashboard's own
spreadsheet-safe CSV writer (`dashboard.export.to_csv_bytes`), so no batch outlives its turn and
memory stays flat however long the file is. Every row that is not written is either counted
(not covered by the crosswalk) or reported with its line and reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np
import pandas as pd
import shapely

from dashboard import schema
from dashboard.export import neutralise, to_csv_bytes
from dashboard.geo import GEODATA_DIR, SPATIAL_TOLERANCE_KM, Reference
from dashboard.reading import Problem

#: Reports progress: a fraction between 0 and 1, and what is happening.
Progress = Callable[[float, str], None]

#: The one source row an imported table cites (sources.csv's `article` column).
ARTICLE = 1
#: Problems kept in memory for the report; all of them go to the problems stream when given.
KEPT_PROBLEMS = 200
ELLIPSIS = "…"
_KM_PER_DEGREE = 111.32


def max_length(column: str) -> int | None:
    """The schema's length limit of a column, if it has one."""
    return schema.MAX_LENGTH.get(column)


# ----- the report --------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did with every input row; printed by the CLI, shown by the uploader."""

    name: str
    dataset: str
    crosswalk: str
    rows_read: int = 0
    rows_written: int = 0
    uncovered: Counter = field(default_factory=Counter)  # crosswalk key -> rows
    skipped: Counter = field(default_factory=Counter)  # reason kind -> rows
    problems: list[Problem] = field(default_factory=list)  # the first KEPT_PROBLEMS
    dropped_codes: Counter = field(default_factory=Counter)  # actor code or name -> times
    dropped_what: str = "actor codes"
    country_from_point: Counter = field(default_factory=Counter)  # dataset code -> rows
    notes: Counter = field(default_factory=Counter)  # other counted facts (cut evidence, ...)
    sha256: str = ""
    size: int = 0
    fatal: str = ""
    problems_out: TextIO | None = field(default=None, repr=False)
    _writer: object = field(default=None, repr=False)
    _pending: list[Problem] = field(default_factory=list, repr=False)

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    @property
    def rows_uncovered(self) -> int:
        return sum(self.uncovered.values())

    def skip(self, line: int, column: str, reason: str, kind: str | None = None) -> None:
        """Report one input row that is not written, for a reason other than the crosswalk."""
        self.skipped[kind or column] += 1
        self._pending.append(Problem(self.name, int(line), column, reason))

    def flush(self) -> None:
        """Pass on the problems of the rows seen so far, in line order (called after each batch)."""
        pending, self._pending = sorted(self._pending, key=lambda p: (p.line, p.column)), []
        room = KEPT_PROBLEMS - len(self.problems)
        self.problems += pending[: max(room, 0)]
        if self.problems_out is None or not pending:
            return
        if self._writer is None:
            self._writer = csv.writer(self.problems_out, lineterminator="\n")
            self._writer.writerow(["file", "line", "column", "reason"])
        for p in pending:
            self._writer.writerow([neutralise(str(v)) for v in (p.file, p.line, p.column, p.reason)])

    def lines(self, shown: int = 20) -> list[str]:
        """The report as text lines: counts first, then the first `shown` problems."""
        out = [
            f"{self.dataset} {self.name}: {_rows(self.rows_read)} read, {self.rows_written:,} written"
            + (f" (SHA-256 {self.sha256})" if self.sha256 else "")
        ]
        if self.fatal:
            out.append(f"  not imported: {self.fatal}")
        if self.uncovered:
            out.append(
                f"  not covered by the crosswalk {self.crosswalk}: {_rows(self.rows_uncovered)}, by code:"
            )
            out += [f"    {code}: {n:,}" for code, n in sorted(self.uncovered.items(), key=_by_count)]
        if self.skipped:
            kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(self.skipped.items(), key=_by_count))
            out.append(f"  skipped for other reasons: {_rows(self.rows_skipped)} ({kinds})")
            out += [f"    {p}" for p in self.problems[:shown]]
            if self.rows_skipped > shown:
                out.append(f"    … and {self.rows_skipped - min(shown, len(self.problems)):,} more")
        if self.country_from_point:
            codes = ", ".join(
                f"{k}: {n:,}" for k, n in sorted(self.country_from_point.items(), key=_by_count)
            )
            out.append(
                f"  country taken from the coordinates: {_rows(sum(self.country_from_point.values()))} "
                f"({codes})"
            )
        if self.dropped_codes:
            top = sorted(self.dropped_codes.items(), key=_by_count)
            listed = ", ".join(f"{k} {n:,}" for k, n in top[:15])
            more = f", … {len(top) - 15:,} more" if len(top) > 15 else ""
            out.append(
                f"  {self.dropped_what} left out of participants: {sum(self.dropped_codes.values()):,} "
                f"({listed}{more})"
            )
        out += [f"  {what}: {_rows(n)}" for what, n in sorted(self.notes.items())]
        return out


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], str(item[0]))


@dataclass(frozen=True, eq=False)
class ImportResult:
    """An import's report and the one-row sources table its events cite."""

    report: ImportReport
    sources: pd.DataFrame


# ----- reading -----------------------------------------------------------------------------


class HashingReader(io.RawIOBase):
    """A read-only stream that hashes (SHA-256) and counts the bytes that pass through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.digest.update(data)
        self.bytes_read += n
        return n

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.digest.update(data)
        self.bytes_read += len(data)
        return data


# ----- crosswalks --------------------------------------------------------------------------


def _key(text: str) -> str:
    """How crosswalk keys are compared: case and runs of spaces do not matter."""
    return " ".join(str(text).split()).casefold()


@lru_cache(maxsize=8)
def load_crosswalk(path: Path, key_columns: tuple[str, ...]) -> dict[tuple[str, ...], str]:
    """Read a crosswalk file: key columns -> our category. Raise ValueError naming a bad line."""
    name = path.name
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in (*key_columns, "category", "source") if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}:1: {','.join(missing)}: required column missing")
    table: dict[tuple[str, ...], str] = {}
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        cells = row._asdict()
        key = tuple(_key(cells[c]) for c in key_columns)
        if cells["category"] not in schema.CATEGORIES:
            raise ValueError(f"{name}:{i}: category: {cells['category']!r} is not one of {schema.CATEGORIES}")
        if not cells["source"].strip():
            raise ValueError(f"{name}:{i}: source: every mapping names its source")
        if key in table:
            raise ValueError(f"{name}:{i}: {','.join(key_columns)}: {key} mapped twice")
        table[key] = cells["category"]
    return table


class Crosswalk:
    """A loaded crosswalk with its answers remembered per raw key (a file repeats few keys)."""

    def __init__(self, table: dict[tuple[str, ...], str]) -> None:
        self._table = table
        self._seen: dict[tuple[str, ...], str] = {}

    def lookup(self, *values: str) -> str:
        """Our category for the dataset's key, '' where the crosswalk has no entry."""
        found = self._seen.get(values)
        if found is None:
            found = self._seen[values] = self._table.get(tuple(_key(v) for v in values), "")
        return found


# ----- countries ---------------------------------------------------------------------------


@lru_cache(maxsize=4)
def iso_numeric(geodata: Path = GEODATA_DIR) -> dict[str, str]:
    """ISO 3166-1 numeric code ('643') -> alpha-3 ('RUS'), from geodata/iso3166.csv."""
    frame = pd.read_csv(Path(geodata) / "iso3166.csv", dtype=str, keep_default_na=False)
    return dict(zip(frame["numeric"], frame["alpha3"], strict=True))


@lru_cache(maxsize=4)
def iso_names(geodata: Path = GEODATA_DIR) -> dict[str, str]:
    """Casefolded ISO 3166 names ('russian federation') -> alpha-3."""
    frame = pd.read_csv(Path(geodata) / "iso3166.csv", dtype=str, keep_default_na=False)
    return {name.casefold(): code for name, code in zip(frame["name"], frame["alpha3"], strict=True)}


def tolerance_degrees(lat: np.ndarray) -> np.ndarray:
    """The validator's 25 km tolerance in degrees at each latitude (as `points_near_countries`)."""
    cos_lat = np.clip(np.cos(np.radians(lat)), 0.05, 1)
    return SPATIAL_TOLERANCE_KM / _KM_PER_DEGREE / cos_lat


class CountryLocator:
    """Which country's shape holds a point: the spatial join on distinct points.

    A point inside a shape takes that country; a point just outside every shape (a coastal city
    outside a simplified coastline) takes the nearest country within the validator's 25 km
    tolerance, so the row passes the same point-in-country check `validate` runs. Answers are
    kept per point: a long file revisits the same few thousand places.
    """

    MAX_CACHED = 2_000_000

    def __init__(self, reference: Reference) -> None:
        self._iso3 = reference.countries["iso3"].to_numpy(dtype=object)
        self._tree = shapely.STRtree(np.asarray(reference.countries.geometry.values))
        self._cache: dict[tuple[float, float], str] = {}

    def locate(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """ISO3 code per point, '' where no country is within the tolerance."""
        points = pd.DataFrame({"lat": lat, "lon": lon})
        distinct = points.drop_duplicates().reset_index(drop=True)
        keys = list(zip(distinct["lat"].to_numpy(), distinct["lon"].to_numpy(), strict=True))
        found = np.array([self._cache.get(k) for k in keys], dtype=object)
        todo = np.flatnonzero(pd.isna(found))
        if len(todo):
            found[todo] = self._join(distinct["lat"].to_numpy()[todo], distinct["lon"].to_numpy()[todo])
            if len(self._cache) > self.MAX_CACHED:
                self._cache.clear()
            self._cache.update(zip([keys[i] for i in todo], found[todo], strict=True))
        distinct["iso3"] = found
        return points.merge(distinct, on=["lat", "lon"], how="left")["iso3"].to_numpy(dtype=object)

    def _join(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        out = np.full(len(lat), "", dtype=object)
        pts = shapely.points(lon, lat)
        inside, shape = self._tree.query(pts, predicate="intersects")
        first = np.unique(inside, return_index=True)[1]  # a point on a border: the first shape
        out[inside[first]] = self._iso3[shape[first]]
        rest = np.flatnonzero(out == "")
        if len(rest):
            tol = tolerance_degrees(lat[rest])
            (which, shape), dist = self._tree.query_nearest(
                pts[rest], max_distance=float(tol.max()), return_distance=True, all_matches=False
            )
            close = dist <= tol[which]
            out[rest[which[close]]] = self._iso3[shape[close]]
        return out


# ----- cells -------------------------------------------------------------------------------

_SLUG_RE = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """Lowercase letters and digits joined by single hyphens: the schema's event_id form."""
    return _SLUG_RE.sub("-", text.lower()).strip("-")


def cut(text: str, limit: int | None) -> tuple[str, bool]:
    """Shorten text to `limit` characters at a word boundary, ending in an ellipsis."""
    if limit is None or len(text) <= limit:
        return text, False
    head = text[: limit - len(ELLIPSIS)]
    space = head.rfind(" ")
    if space > limit // 2:  # a word boundary not too far back; else cut inside the word
        head = head[:space]
    return head.rstrip() + ELLIPSIS, True


def parse_numbers(values: pd.Series) -> np.ndarray:
    """Floats from text; NaN where empty or not a finite number."""
    num = pd.to_numeric(values.str.strip(), errors="coerce").to_numpy(dtype=float, copy=True)
    num[~np.isfinite(num)] = np.nan
    return num


# ----- writing -----------------------------------------------------------------------------


def assemble(columns: dict[str, object], n: int) -> pd.DataFrame:
    """A frame of our schema, in EVENT_COLUMNS order, from cells keyed by column name (a column
    the importer does not fill is empty: the schema, not the importer, lists the columns)."""
    data = {}
    for col in schema.EVENT_COLUMNS:
        value = columns.get(col, "")
        if isinstance(value, str):
            value = [value] * n
        numeric = col in schema.NUMERIC_COLUMNS or col in schema.INTEGER_COLUMNS
        # Text as `object`: the writer walks every cell, and Arrow-backed `str` cells cost more to visit.
        data[col] = value if numeric else pd.Series(np.asarray(value, dtype=object), dtype=object)
    return pd.DataFrame(data)


class SeenIds:
    """Event ids already written, as sorted 64-bit hashes: 10M ids in 80 MB, not 1 GB of str."""

    def __init__(self) -> None:
        self._seen = np.empty(0, dtype=np.uint64)

    def fresh(self, ids: np.ndarray) -> np.ndarray:
        """True for each id not seen before (in earlier batches or earlier in this one)."""
        hashed = pd.util.hash_array(np.asarray(ids, dtype=object))
        first = ~pd.Series(hashed).duplicated().to_numpy()
        if len(self._seen):
            pos = np.minimum(np.searchsorted(self._seen, hashed), len(self._seen) - 1)
            first &= self._seen[pos] != hashed
        new = np.sort(hashed[first])
        self._seen = np.insert(self._seen, np.searchsorted(self._seen, new), new)
        return first


class EventsWriter:
    """Appends batches to one events CSV with `dashboard.export`'s writer (BOM and header once)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._header = to_csv_bytes(pd.DataFrame(columns=list(schema.EVENT_COLUMNS)))
        self._started = False

    def write(self, frame: pd.DataFrame) -> None:
        data = to_csv_bytes(frame)
        if not data.startswith(self._header):  # the exporter's layout changed: fail loudly
            raise RuntimeError("dashboard.export.to_csv_bytes no longer starts with the header")
        self._stream.write(data if not self._started else data[len(self._header) :])
        self._started = True

    def close(self) -> None:
        if not self._started:
            self._stream.write(self._header)
            self._started = True


class Batch:
    """The last steps every importer's batch goes through: duplicate ids, then the writer."""

    def __init__(self, report: ImportReport, writer: EventsWriter, seen: SeenIds) -> None:
        self.report, self.writer, self.seen = report, writer, seen

    def finish(self, columns: dict[str, object], lines: np.ndarray) -> None:
        n = len(lines)
        if n == 0:
            return
        frame = assemble(columns, n)
        fresh = self.seen.fresh(frame["event_id"].to_numpy())
        for i in np.flatnonzero(~fresh):
            self.report.skip(
                lines[i],
                "event_id",
                f"duplicate id {frame['event_id'].iat[i]!r}: an earlier line has it",
                "duplicate id",
            )
        if not fresh.all():
            frame = frame[fresh].reset_index(drop=True)
        if len(frame):
            self.writer.write(frame)
            self.report.rows_written += len(frame)


def sources_frame(
    *, file_name: str, dataset: str, publisher: str, sha256: str, size: int, evidence: str, command: str
) -> pd.DataFrame:
    """The one sources.csv row an imported table cites: the dataset file, by name and digest."""
    row = {
        "article": ARTICLE,
        "title": f"{dataset} file {file_name}",
        "outlet": dataset,
        "original_publisher": publisher,
        "author": "",
        "published_year": "",
        "notes": (
            f"Dataset file {file_name}, {size:,} bytes, SHA-256 {sha256}. Converted to this schema by "
            f"`{command}`; each row's evidence is {evidence}; titles and summaries are worded by the "
            "importer from the record's coded fields."
        ),
    }
    return pd.DataFrame([row], columns=list(schema.SOURCE_COLUMNS))


def finish(report: ImportReport, hashed: HashingReader, **source: str) -> ImportResult:
    """The end of every import: the file's digest and size on the report, and its sources row
    (`sources_frame`'s fields other than the digest and size)."""
    report.sha256, report.size = hashed.digest.hexdigest(), hashed.bytes_read
    return ImportResult(report, sources_frame(sha256=report.sha256, size=report.size, **source))


def sources_bytes(frame: pd.DataFrame) -> bytes:
    """sources.csv as `load_sources` reads it; text cells neutralised as exports are."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(list(schema.SOURCE_COLUMNS))
    for row in frame[list(schema.SOURCE_COLUMNS)].itertuples(index=False, name=None):
        writer.writerow([str(v) if isinstance(v, int) else neutralise(str(v)) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def iso_date(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> list[str]:
    return [f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in zip(year, month, day, strict=True)]
