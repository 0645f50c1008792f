"""ACLED export (CSV with a header) -> events rows in our schema, streamed in batches.

Column by column (ACLED's name -> ours):

- `event_id_cnty` -> `event_id` as `acled-` + the id in lowercase ("RUS1234" -> "acled-rus1234").
- `event_date` (YYYY-MM-DD, or "25 April 2019" in older exports) with `time_precision` ->
  `date_start` / `date_end`, never more precise than ACLED claims: precision 1 keeps the day;
  2 (the source gives a week or a few days) keeps the month, and 3 (only the month, or less)
  the year. Because ACLED codes such an event at a middle date, the period is widened by 7
  (precision 2) or 31 days (precision 3) each side, so an event coded on 30 April with
  precision 2 becomes 2019-04 .. 2019-05. Whenever the day is dropped, `date_inferred` is true
  and the date note says how.
- `location` -> `place`; `latitude` / `longitude` -> `lat` / `lon`; `geo_precision` 2 (a nearby
  town or part of a region) or 3 (a larger region's capital) -> `place_inferred` true with a
  note saying the point stands in for the place.
- `iso` (ISO 3166-1 numeric) -> `country_iso3` through `geodata/iso3166.csv`; a code that is
  not in the reference shapes (ACLED gives Kosovo its own code) takes the country from the
  coordinates. `country` is named in the summary. A point more than 25 km outside its coded
  country is reported and skipped, never re-coded.
- `actor1`, `actor2`, `assoc_actor_1`, `assoc_actor_2` -> `title` and `summary`; the countries
  they name ("Military Forces of Russia (2000-)", "Civilians (Ukraine)") -> `participants`,
  matched against the reference country names and the ISO 3166 names; actors naming no known
  country are counted in the report.
- `event_type` / `sub_event_type` -> `category` through `geodata/crosswalk_acled.csv`; pairs it
  does not cover are counted by pair, not written.
- `source` (ACLED's outlets) -> named in `summary`.
- `notes` -> `evidence`, verbatim, cut at a word boundary to the schema's limit with an
  ellipsis (the summary then says so); a record without notes cites its own id and types.
- `organisations`, `value`, `unit` stay empty; `article` is the source row naming the file.

Rows go through Python's csv module (the reader `validate` uses, which gives the line every
problem is reported at) in batches of `BATCH_ROWS`, and are written as they are converted.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from dashboard.geo import GEODATA_DIR, Reference, points_near_countries
from dashboard.importers.common import (
    ARTICLE,
    Batch,
    CountryLocator,
    Crosswalk,
    EventsWriter,
    HashingReader,
    ImportReport,
    ImportResult,
    Progress,
    SeenIds,
    cut,
    finish,
    iso_names,
    iso_numeric,
    load_crosswalk,
    max_length,
    parse_numbers,
    slug,
)
from dashboard.lists import join_list
from dashboard.reading import show_value

DATASET = "ACLED"
PUBLISHER = "Armed Conflict Location & Event Data Project (ACLED)"
CROSSWALK = "crosswalk_acled.csv"
BATCH_ROWS = 20_000

#: Columns the importer reads; the first group must be in the header.
REQUIRED = (
    "event_id_cnty",
    "event_date",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "actor2",
    "iso",
    "country",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "notes",
)
OPTIONAL = ("assoc_actor_1", "assoc_actor_2", "source")
#: A header holding these is taken for an ACLED export (by the uploader's sniffing too).
SIGNATURE = ("event_id_cnty", "event_date", "sub_event_type")

#: time_precision -> (what is kept, days the period is widened each side, the note's wording).
TIME_PRECISION: dict[str, tuple[str, int, str]] = {
    "1": ("day", 0, ""),
    "2": ("month", 7, "the source gives a week or a few days"),
    "3": ("year", 31, "the source gives only the month, or less"),
}
#: geo_precision -> the place note ('' for 1: the point is the named town).
GEO_PRECISION: dict[str, str] = {
    "1": "",
    "2": "ACLED geo_precision 2: the source names a place near a town or part of a region; "
    "the point is that town or the region's main town, not the exact place",
    "3": "ACLED geo_precision 3: the source names only a larger region; the point is that "
    "region's capital or centre, not the place of the event",
}
#: Date spellings seen in ACLED exports, tried in order.
DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d-%B-%Y", "%d/%m/%Y", "%d-%b-%y")

# Country names inside actor names: "... of Russia (2000-)" and "Civilians (Ukraine)".
_OF_RE = re.compile(r"\bof (?:the )?([^()]+?)\s*(?:\(|$)")
_PAREN_RE = re.compile(r"\(([^()]+)\)")


def is_acled_header(first_line: str) -> bool:
    header = {h.strip().strip('"').lower() for h in first_line.split(",")}
    return all(col in header for col in SIGNATURE)


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
    command: str = "python -m dashboard import acled",
) -> ImportResult:
    """Convert one ACLED export read from `source`; write the events CSV to `events_out`."""
    report = ImportReport(name, DATASET, CROSSWALK, problems_out=problems_out)
    report.dropped_what = "actors naming no country of the reference"
    crosswalk = Crosswalk(load_crosswalk(Path(geodata) / CROSSWALK, ("event_type", "sub_event_type")))
    hashed = HashingReader(source)
    text = io.TextIOWrapper(io.BufferedReader(hashed), encoding="utf-8-sig", errors="replace", newline="")
    writer = EventsWriter(events_out)
    converter = _Converter(report, reference, crosswalk, Path(geodata), Batch(report, writer, SeenIds()))
    for batch in _read_batches(text, report):
        converter.convert(*batch)
        report.flush()
        if progress and size:
            progress(min(hashed.bytes_read / size, 1.0), f"{report.rows_read:,} ACLED rows read")
    writer.close()
    report.flush()
    while hashed.read(1 << 20):  # hash to the end even if the header was unusable
        pass
    return finish(
        report,
        hashed,
        file_name=name,
        dataset=DATASET,
        publisher=PUBLISHER,
        evidence="the record's own `notes` field, verbatim (cut to 200 characters at a word boundary "
        "where longer)",
        command=command,
    )


def _read_batches(text, report: ImportReport):
    """Yield (header, lines, records) in batches; report unreadable, empty and ragged lines."""
    reader = csv.reader(text, strict=False)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        report.fatal = "the file is empty: expected ACLED's header row"
        return
    except csv.Error as exc:
        report.fatal = f"unreadable header: {exc}"
        return
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        report.fatal = f"not an ACLED export: header lacks {', '.join(missing)}"
        return
    width = len(header)
    lines: list[int] = []
    records: list[list[str]] = []
    line = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.rows_read += 1
            report.skip(line, "-", f"unreadable CSV: {exc}", "unreadable line")
            line = reader.line_num + 1
            continue
        if not record:
            report.rows_read += 1
            report.skip(line, "-", "empty line", "empty line")
        elif len(record) != width:
            report.rows_read += 1
            report.skip(line, "-", f"expected {width} fields, found {len(record)}", "wrong number of fields")
        else:
            report.rows_read += 1
            lines.append(line)
            records.append(record)
            if len(records) >= BATCH_ROWS:
                yield header, lines, records
                lines, records = [], []
        line = reader.line_num + 1
    if records:
        yield header, lines, records


class _Converter:
    def __init__(self, report, reference: Reference, crosswalk, geodata: Path, batch: Batch) -> None:
        self.report, self.reference, self.crosswalk, self.batch = report, reference, crosswalk, batch
        self.locator = CountryLocator(reference)
        self.numeric = iso_numeric(geodata)
        self.names = {**iso_names(geodata), **{n.casefold(): c for c, n in reference.country_names.items()}}
        self.actor_countries: dict[str, tuple[str, ...]] = {}
        self.dates: dict[str, date | None] = {}

    def convert(self, header: list[str], lines: list[int], records: list[list[str]]) -> None:
        report = self.report
        # Category first, per record: most of a conflict dataset is not covered, and is only counted.
        kind_at, sub_at = header.index("event_type"), header.index("sub_event_type")
        category = [self.crosswalk.lookup(rec[kind_at], rec[sub_at]) for rec in records]
        covered = [i for i, cat in enumerate(category) if cat]
        if len(covered) < len(records):
            report.uncovered.update(
                f"{rec[kind_at]}: {rec[sub_at]}"
                for rec, cat in zip(records, category, strict=True)
                if not cat
            )
        records = [records[i] for i in covered]
        if not records:
            return
        category = np.array([category[i] for i in covered], dtype=object)
        line = np.asarray(lines)[covered]
        broken = sum("\ufffd" in "".join(rec) for rec in records)
        if broken:
            report.notes["lines with bytes that are not UTF-8 (read as U+FFFD)"] += broken

        wanted = [c for c in (*REQUIRED, *OPTIONAL) if c in header]
        index = [header.index(c) for c in wanted]
        df = pd.DataFrame([[rec[i] for i in index] for rec in records], columns=wanted, dtype=object)
        for col in OPTIONAL:
            if col not in df:
                df[col] = ""
        keep = np.ones(len(df), dtype=bool)

        def drop(mask: np.ndarray, column: str, reason, kind: str) -> None:
            """Skip the rows in `mask` that are still kept, each with its line and reason."""
            for i in np.flatnonzero(mask & keep):
                report.skip(line[i], column, reason(i) if callable(reason) else reason, kind)
            keep[mask] = False

        ids = df["event_id_cnty"].map(lambda v: f"acled-{slug(v)}" if slug(v) else "")
        drop((ids == "").to_numpy(), "event_id_cnty", "empty: the record has no id", "no id")
        too_long = (ids.str.len() > max_length("event_id")).to_numpy()
        drop(
            too_long,
            "event_id_cnty",
            lambda i: f"{show_value(df['event_id_cnty'].iat[i])} is too long",
            "no id",
        )

        when = df["event_date"].map(self._date)
        drop(
            when.isna().to_numpy(),
            "event_date",
            lambda i: f"{show_value(df['event_date'].iat[i])} is not a date (YYYY-MM-DD or 'DD Month YYYY')",
            "bad date",
        )
        for column, codes in (("time_precision", TIME_PRECISION), ("geo_precision", GEO_PRECISION)):
            values = df[column].str.strip()
            drop(
                ~values.isin(list(codes)).to_numpy(),
                column,
                lambda i, v=values: f"{show_value(v.iat[i])} is not 1, 2 or 3",
                "bad precision",
            )

        lat, lon = parse_numbers(df["latitude"]), parse_numbers(df["longitude"])
        bad_lat = ~((lat >= -90) & (lat <= 90))
        bad_lon = ~((lon >= -180) & (lon <= 180))
        drop(
            bad_lat,
            "latitude",
            lambda i: f"{show_value(df['latitude'].iat[i])} is not a latitude (-90..90)",
            "bad coordinates",
        )
        drop(
            bad_lon,
            "longitude",
            lambda i: f"{show_value(df['longitude'].iat[i])} is not a longitude (-180..180)",
            "bad coordinates",
        )

        # Country: ACLED's ISO numeric code where the reference has it, else the coordinates.
        iso = df["iso"].str.strip().map(lambda v: v.zfill(3) if v.isdigit() else v)
        coded = iso.map(lambda v: self.numeric.get(v, "")).where(
            lambda s: s.isin(self.reference.iso3_codes), ""
        )
        country = coded.to_numpy(dtype=object).copy()
        need = keep & (country == "")
        if need.any():
            country[need] = self.locator.locate(lat[need], lon[need])
            report.country_from_point.update(
                pd.Series([f"iso {v.strip() or '(empty)'}" for v in df["iso"][need & (country != "")]])
                .value_counts()
                .to_dict()
            )
        drop(
            country == "",
            "iso",
            lambda i: (
                f"{show_value(iso.iat[i])} is not an ISO 3166 code of a country in the reference, and the "
                f"point ({lat[i]}, {lon[i]}) lies in no country"
            ),
            "no country",
        )
        check = keep & (coded.to_numpy(dtype=object) != "")
        if check.any():
            near = np.ones(len(df), dtype=bool)
            near[check] = points_near_countries(lat[check], lon[check], country[check], self.reference)
            drop(
                ~near,
                "latitude,longitude",
                lambda i: (
                    f"point ({lat[i]}, {lon[i]}) is more than 25 km outside {country[i]} "
                    f"(ACLED iso {iso.iat[i]}, country {show_value(df['country'].iat[i])})"
                ),
                "point outside its country",
            )

        rows = np.flatnonzero(keep)
        if not len(rows):
            return
        sub = df.iloc[rows].reset_index(drop=True)
        self._write(
            sub,
            line[rows],
            ids.to_numpy()[rows],
            when.to_numpy()[rows],
            category[rows],
            lat[rows],
            lon[rows],
            country[rows],
        )

    def _write(self, sub, lines, ids, when, category, lat, lon, country) -> None:
        precision = sub["time_precision"].str.strip().to_numpy()
        starts, ends, date_notes = [], [], []
        for day, p in zip(when, precision, strict=True):
            start, end, note = _period(day, p)
            starts.append(start)
            ends.append(end)
            date_notes.append(note)
        inferred = ["true" if note else "false" for note in date_notes]

        geo_notes = [GEO_PRECISION[p] for p in sub["geo_precision"].str.strip()]
        place_inferred = ["true" if note else "false" for note in geo_notes]

        actors = sub[["actor1", "actor2", "assoc_actor_1", "assoc_actor_2"]].to_numpy(dtype=object)
        participants = [
            join_list(dict.fromkeys(c for a in row for c in self._countries(a))) for row in actors
        ]

        ev_limit = max_length("evidence")
        evidence, summary, title, place = [], [], [], []
        cut_count = 0
        for row, start, end in zip(sub.itertuples(index=False), starts, ends, strict=True):
            notes = row.notes.strip()
            if notes:
                ev, was_cut = cut(notes, ev_limit)
            else:
                ev, was_cut = cut(f"{row.event_id_cnty}: {row.event_type}: {row.sub_event_type}", ev_limit)
            cut_count += was_cut
            evidence.append(ev)
            who = " and ".join(a for a in (row.actor1.strip(), row.actor2.strip()) if a) or "unnamed actors"
            where = ", ".join(p for p in (row.location.strip(), row.country.strip()) if p)
            title.append(cut(f"{row.sub_event_type.strip()}: {who}", max_length("title"))[0])
            period = start if not end else f"{start} to {end}"
            text = (
                f"ACLED codes a {row.event_type.strip()} event ({row.sub_event_type.strip()}) involving {who}"
            )
            assoc = "; ".join(a for a in (row.assoc_actor_1.strip(), row.assoc_actor_2.strip()) if a)
            if assoc:
                text += f", with {assoc}"
            text += f", in {where or 'an unnamed place'}, dated {period}"
            if row.source.strip():
                text += f"; ACLED's sources: {row.source.strip()}"
            text += "."
            if was_cut:
                text += f" The evidence is ACLED's notes cut to {ev_limit} characters (of {len(notes):,})."
            summary.append(cut(text, max_length("summary"))[0])
            place.append(cut(row.location.strip(), max_length("place"))[0])
        if cut_count:
            self.report.notes["evidence cut to the schema's length (noted in the summary)"] += cut_count

        columns = {
            "event_id": ids,
            "title": title,
            "summary": summary,
            "category": category,
            "date_start": starts,
            "date_end": ends,
            "date_inferred": inferred,
            "date_inference_note": date_notes,
            "place": place,
            "country_iso3": country,
            "lat": lat,
            "lon": lon,
            "place_inferred": place_inferred,
            "place_inference_note": geo_notes,
            "participants": participants,
            "organisations": "",
            "value": np.full(len(sub), np.nan),
            "unit": "",
            "article": np.full(len(sub), ARTICLE),
            "evidence": evidence,
        }
        self.batch.finish(columns, lines)

    def _date(self, text: str) -> date | None:
        if text not in self.dates:
            self.dates[text] = _parse_date(text.strip())
        return self.dates[text]

    def _countries(self, actor: str) -> tuple[str, ...]:
        """ISO3 codes of the countries an actor's name names; unknown names are counted."""
        actor = actor.strip()
        if not actor:
            return ()
        if actor not in self.actor_countries:
            found = []
            for candidate in (*_OF_RE.findall(actor), *_PAREN_RE.findall(actor)):
                code = self.names.get(candidate.strip().casefold())
                if code and code in self.reference.iso3_codes:
                    found.append(code)
            self.actor_countries[actor] = tuple(dict.fromkeys(found))
        codes = self.actor_countries[actor]
        if not codes:
            self.report.dropped_codes[actor] += 1
        return codes


def _parse_date(text: str) -> date | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _period(day: date, precision: str) -> tuple[str, str, str]:
    """(date_start, date_end, note) at the precision ACLED claims for the coded day."""
    keep, slack, why = TIME_PRECISION[precision]
    if keep == "day":
        return day.isoformat(), "", ""
    first, last = day - timedelta(days=slack), day + timedelta(days=slack)
    width = 7 if keep == "month" else 4
    start, end = first.isoformat()[:width], last.isoformat()[:width]
    note = (
        f"ACLED codes this event on {day.isoformat()} with time_precision {precision} ({why}); "
        f"kept to the {keep}, widened by {slack} days each side of the coded day"
    )
    return start, (end if end != start else ""), note
