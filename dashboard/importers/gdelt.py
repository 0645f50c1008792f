"""GDELT 2.0 events (61 tab-separated columns, no header) -> events rows in our schema, streamed.

Column by column (GDELT's name -> ours):

- `GLOBALEVENTID` -> `event_id` as `gdelt-` + the number.
- `SQLDATE` (YYYYMMDD) -> `date_start` at day precision; `date_end` stays empty.
- `EventCode` (CAMEO) -> `category` through `geodata/crosswalk_cameo.csv`; codes it does not
  cover are counted by code, not written. The code's description (from the same file) words
  the title and summary.
- `Actor1CountryCode` / `Actor2CountryCode` (CAMEO country codes: ISO 3166 alpha-3 plus regional
  codes such as AFR, EUR, ASA) -> `participants`, keeping the codes that are ISO alpha-3 codes of
  a country in the reference; the others are left out and counted by code.
  `Actor1Name` / `Actor2Name` (or the actor codes) -> `title` and `summary`.
- `ActionGeo_FullName` -> `place`; `ActionGeo_Lat` / `ActionGeo_Long` -> `lat` / `lon`.
  `ActionGeo_CountryCode` is FIPS 10-4, not ISO, so `country_iso3` comes from the coordinates:
  the country whose shape holds the point, or the nearest within the validator's 25 km
  tolerance. A row without coordinates, or whose point lies in no country, is reported and
  skipped. `ActionGeo_Type` 1 (country), 2 (US state) and 5 (first-order division) mean the
  point is that area's centroid: `place_inferred` is true with a note saying so.
- `SOURCEURL` with the event code -> `evidence` ("CAMEO 042: https://..."), cut to the schema's
  limit with an ellipsis where the URL is very long (the summary then says so).
- `organisations`, `value`, `unit` stay empty; `date_inferred` is false; `article` is the source
  row naming the file.

The file is read in blocks of `BLOCK_BYTES` ending at a line break; each block is split into
lines and fields by Arrow's compute kernels, so a line's number is its index (GDELT has no
quoting, one record per line) and empty or garbled lines are reported with it. Only rows the
crosswalk covers become Python strings. Memory stays flat whatever the file's length.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dashboard.geo import GEODATA_DIR, Reference
from dashboard.importers.common import (
    ARTICLE,
    Batch,
    CountryLocator,
    EventsWriter,
    HashingReader,
    ImportReport,
    ImportResult,
    Progress,
    SeenIds,
    cut,
    finish,
    load_crosswalk,
    max_length,
    parse_numbers,
)
from dashboard.lists import join_list
from dashboard.reading import show_value

DATASET = "GDELT 2.0 Event Database"
PUBLISHER = "The GDELT Project"
CROSSWALK = "crosswalk_cameo.csv"
BLOCK_BYTES = 4 << 20

_ACTOR = "Code Name CountryCode KnownGroupCode EthnicCode Religion1Code Religion2Code Type1Code Type2Code "
_ACTOR += "Type3Code"
_EVENT = "IsRootEvent EventCode EventBaseCode EventRootCode QuadClass GoldsteinScale NumMentions NumSources "
_EVENT += "NumArticles AvgTone"
_GEO = "Type FullName CountryCode ADM1Code ADM2Code Lat Long FeatureID"
#: The 61 columns of a GDELT 2.0 events file (`*.export.CSV`), in order.
COLUMNS: tuple[str, ...] = (
    "GLOBALEVENTID",
    "SQLDATE",
    "MonthYear",
    "Year",
    "FractionDate",
    *(f"Actor1{c}" for c in _ACTOR.split()),
    *(f"Actor2{c}" for c in _ACTOR.split()),
    *_EVENT.split(),
    *(f"Actor1Geo_{c}" for c in _GEO.split()),
    *(f"Actor2Geo_{c}" for c in _GEO.split()),
    *(f"ActionGeo_{c}" for c in _GEO.split()),
    "DATEADDED",
    "SOURCEURL",
)
WIDTH = len(COLUMNS)
COL = {name: i for i, name in enumerate(COLUMNS)}
#: The columns read for rows the crosswalk covers.
USED = (
    "GLOBALEVENTID",
    "SQLDATE",
    "Actor1Code",
    "Actor1Name",
    "Actor1CountryCode",
    "Actor2Code",
    "Actor2Name",
    "Actor2CountryCode",
    "EventCode",
    "ActionGeo_Type",
    "ActionGeo_FullName",
    "ActionGeo_Lat",
    "ActionGeo_Long",
    "SOURCEURL",
)

#: ActionGeo_Type -> the place note ('' where the point is the named city).
GEO_TYPES: dict[str, str] = {
    "1": "GDELT ActionGeo_Type 1: the report names only the country; the point is its centroid",
    "2": "GDELT ActionGeo_Type 2: the report names only a US state; the point is its centroid",
    "3": "",
    "4": "",
    "5": "GDELT ActionGeo_Type 5: the report names only a first-order division (province, region); "
    "the point is its centroid",
}
FIPS_NOTE = "ActionGeo_CountryCode is FIPS 10-4, not ISO"
UNKNOWN_GEO_TYPE = "GDELT gives no ActionGeo_Type for this point: how precise it is is unknown"


def is_gdelt_line(first_line: str) -> bool:
    return len(first_line.rstrip("\r\n").split("\t")) == WIDTH


@lru_cache(maxsize=4)
def descriptions(path: Path) -> dict[str, str]:
    """CAMEO code -> its description, from the crosswalk file."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return dict(zip(frame["cameo_code"].str.strip(), frame["description"].str.strip(), strict=True))


def convert(
    source: BinaryIO,
    events_out: BinaryIO,
    *,
    name: str,
    reference: Reference,
    geodata: Path = GEODATA_DIR,
    size: int | None = None,
    problems_out=None,
    progress: Progress | None = None,
    command: str = "python -m dashboard import gdelt",
) -> ImportResult:
    """Convert one GDELT 2.0 events file read from `source`; write the events CSV to `events_out`."""
    report = ImportReport(name, DATASET, CROSSWALK, problems_out=problems_out)
    report.dropped_what = "actor country codes that are not ISO alpha-3 in the reference"
    path = Path(geodata) / CROSSWALK
    crosswalk = {code[0]: cat for code, cat in load_crosswalk(path, ("cameo_code",)).items()}
    converter = _Converter(report, reference, crosswalk, descriptions(path))
    writer = EventsWriter(events_out)
    batch = Batch(report, writer, SeenIds())
    hashed = HashingReader(source)
    first_line = 1
    for block in _blocks(hashed):
        first_line = converter.convert(block, first_line, batch)
        report.flush()
        if progress and size:
            progress(min(hashed.bytes_read / size, 1.0), f"{report.rows_read:,} GDELT rows read")
    writer.close()
    report.flush()
    if report.rows_written:
        report.country_from_point[FIPS_NOTE] = report.rows_written
    if report.rows_read == 0 and not report.fatal:
        report.fatal = "the file is empty"
    return finish(
        report,
        hashed,
        file_name=name,
        dataset=DATASET,
        publisher=PUBLISHER,
        evidence="the record's own SOURCEURL with its CAMEO event code",
        command=command,
    )


def _blocks(stream: HashingReader):
    """Chunks of about BLOCK_BYTES, each ending at a line break (the last one may not)."""
    rest = b""
    while True:
        chunk = stream.read(BLOCK_BYTES)
        if not chunk:
            if rest:
                yield rest
            return
        chunk = rest + chunk
        end = chunk.rfind(b"\n")
        if end < 0:
            rest = chunk
            continue
        yield chunk[: end + 1]
        rest = chunk[end + 1 :]


class _Converter:
    def __init__(self, report: ImportReport, reference: Reference, crosswalk, described) -> None:
        self.report, self.reference = report, reference
        self.crosswalk, self.described = crosswalk, described
        self.codes = pa.array(sorted(crosswalk))
        self.categories = np.array([crosswalk[c] for c in sorted(crosswalk)], dtype=object)
        self.locator = CountryLocator(reference)
        self.known = reference.iso3_codes
        self.dates: dict[str, str] = {}

    def convert(self, block: bytes, first_line: int, batch: Batch) -> int:
        """Convert one block whose first line is `first_line`; return the next block's first line."""
        report = self.report
        text = block.decode("utf-8", errors="replace")
        lines = pc.split_pattern(pa.array([text], pa.large_string()), "\n")[0].values
        if text.endswith("\n"):
            lines = lines.slice(0, len(lines) - 1)
        n = len(lines)
        number = np.arange(first_line, first_line + n)
        report.rows_read += n
        lines = pc.utf8_rtrim(lines, characters="\r")
        if "\ufffd" in text:
            broken = pc.match_substring(lines, "\ufffd").to_numpy(zero_copy_only=False)
            report.notes["lines with bytes that are not UTF-8 (read as U+FFFD)"] += int(broken.sum())

        fields = pc.split_pattern(lines, "\t")
        width = pc.list_value_length(fields).to_numpy(zero_copy_only=False)
        ragged = np.flatnonzero(width != WIDTH)
        if len(ragged):
            empty = pc.utf8_length(lines).to_numpy(zero_copy_only=False) == 0
            for i in ragged:
                if empty[i]:
                    report.skip(number[i], "-", "empty line", "empty line")
                else:
                    reason = f"expected {WIDTH} tab-separated fields, found {width[i]}"
                    report.skip(number[i], "-", reason, "wrong number of fields")
            ok = pa.array(width == WIDTH)
            fields, number = fields.filter(ok), number[width == WIDTH]

        # Category first: most GDELT rows are outside the crosswalk, and are only counted.
        code = pc.utf8_trim_whitespace(pc.list_element(fields, COL["EventCode"]))
        at = pc.index_in(code, value_set=self.codes).to_numpy(zero_copy_only=False)
        covered = ~np.isnan(at.astype(float))
        if not covered.all():
            counts = pc.value_counts(code.filter(pa.array(~covered))).to_pylist()
            report.uncovered.update({c["values"] or "(empty)": c["counts"] for c in counts})
        if covered.any():
            chosen = pa.array(covered)
            picked = {
                col: pc.list_element(fields.filter(chosen), COL[col]).to_numpy(zero_copy_only=False)
                for col in USED
            }
            category = self.categories[at[covered].astype(int)]
            self._rows(picked, category, number[covered], batch)
        return first_line + n

    def _rows(self, col: dict[str, np.ndarray], category, lines, batch: Batch) -> None:
        report = self.report
        n = len(lines)
        keep = np.ones(n, dtype=bool)

        def drop(mask, column: str, reason, kind: str) -> None:
            for i in np.flatnonzero(mask & keep):
                report.skip(lines[i], column, reason(i), kind)
            keep[mask] = False

        raw_id = pd.Series(col["GLOBALEVENTID"], dtype=object).str.strip()
        drop(
            ~raw_id.str.fullmatch(r"[0-9]{1,30}").to_numpy(dtype=bool),
            "GLOBALEVENTID",
            lambda i: f"{show_value(raw_id.iat[i])} is not a whole number",
            "no id",
        )
        day = np.array([self._date(v) for v in col["SQLDATE"]], dtype=object)
        drop(
            day == "",
            "SQLDATE",
            lambda i: f"{show_value(col['SQLDATE'][i])} is not a date YYYYMMDD",
            "bad date",
        )
        lat_text = pd.Series(col["ActionGeo_Lat"], dtype=object)
        lon_text = pd.Series(col["ActionGeo_Long"], dtype=object)
        no_point = ((lat_text.str.strip() == "") | (lon_text.str.strip() == "")).to_numpy()
        drop(
            no_point,
            "ActionGeo_Lat,ActionGeo_Long",
            lambda i: "no coordinates: GDELT could not place the event, so it has no country",
            "no location",
        )
        lat, lon = parse_numbers(lat_text), parse_numbers(lon_text)
        bad = ~((lat >= -90) & (lat <= 90) & (lon >= -180) & (lon <= 180))
        drop(
            bad,
            "ActionGeo_Lat,ActionGeo_Long",
            lambda i: (
                f"({show_value(lat_text.iat[i])}, {show_value(lon_text.iat[i])}) is not a point on the globe"
            ),
            "bad coordinates",
        )
        country = np.full(n, "", dtype=object)
        if keep.any():
            country[keep] = self.locator.locate(lat[keep], lon[keep])
        drop(
            country == "",
            "ActionGeo_Lat,ActionGeo_Long",
            lambda i: (
                f"point ({lat[i]}, {lon[i]}) lies in no country of the reference, nor within 25 km of one"
            ),
            "point in no country",
        )
        rows = np.flatnonzero(keep)
        if not len(rows):
            return
        col = {k: v[rows] for k, v in col.items()}
        self._write(col, category[rows], lines[rows], day[rows], lat[rows], lon[rows], country[rows], batch)

    def _write(self, col, category, lines, day, lat, lon, country, batch: Batch) -> None:
        n = len(lines)
        known, dropped = self.known, self.report.dropped_codes
        participants = []
        for a, b in zip(col["Actor1CountryCode"], col["Actor2CountryCode"], strict=True):
            codes = []
            for c in (a.strip(), b.strip()):
                if c in known:
                    if c not in codes:
                        codes.append(c)
                elif c:
                    dropped[c] += 1
            participants.append(join_list(codes))

        geo_notes = [GEO_TYPES.get(t.strip(), UNKNOWN_GEO_TYPE) for t in col["ActionGeo_Type"]]
        names = self.reference.country_names
        ev_limit, title_limit, place_limit = max_length("evidence"), max_length("title"), max_length("place")
        title, summary, evidence, place = [], [], [], []
        cuts = 0
        rows = zip(
            col["EventCode"], col["Actor1Name"], col["Actor1Code"], col["Actor2Name"], col["Actor2Code"],
            col["ActionGeo_FullName"], col["SOURCEURL"], day, country, strict=True,
        )  # fmt: skip
        for code, n1, c1, n2, c2, full, url, when, iso3 in rows:
            code = code.strip()
            what = self.described.get(code, f"CAMEO {code}")
            a1, a2 = (n1.strip() or c1.strip()), (n2.strip() or c2.strip())
            who = " and ".join(a for a in (a1, a2) if a) or "unnamed actors"
            where = full.strip() or names.get(iso3, iso3)
            title.append(cut(f"{what}: {who}", title_limit)[0])
            ev, was_cut = cut(f"CAMEO {code}: {url.strip()}", ev_limit)
            cuts += was_cut
            evidence.append(ev)
            text = (
                f"GDELT's machine coding of one news report: {who}, CAMEO {code} ({what.lower()}), "
                f"at {where}, on {when}."
            )
            if was_cut:
                text += f" The source URL is cut to fit the {ev_limit}-character evidence limit."
            summary.append(text)
            place.append(cut(where, place_limit)[0])
        if cuts:
            self.report.notes["evidence cut to the schema's length (noted in the summary)"] += cuts

        columns = {
            "event_id": np.char.add("gdelt-", np.char.strip(col["GLOBALEVENTID"].astype(str))).astype(object),
            "title": title,
            "summary": summary,
            "category": category,
            "date_start": day,
            "date_end": "",
            "date_inferred": "false",
            "date_inference_note": "",
            "place": place,
            "country_iso3": country,
            "lat": lat,
            "lon": lon,
            "place_inferred": ["true" if note else "false" for note in geo_notes],
            "place_inference_note": geo_notes,
            "participants": participants,
            "organisations": "",
            "value": np.full(n, np.nan),
            "unit": "",
            "article": np.full(n, ARTICLE),
            "evidence": evidence,
        }
        batch.finish(columns, lines)

    def _date(self, text: str) -> str:
        """YYYYMMDD -> YYYY-MM-DD, '' if it is not a calendar date; worked out once per value."""
        if text not in self.dates:
            value = text.strip()
            iso = ""
            if len(value) == 8 and value.isascii() and value.isdigit():
                try:
                    iso = date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
                except ValueError:
                    iso = ""
            self.dates[text] = iso
        return self.dates[text]
