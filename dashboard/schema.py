"""The events table's contract: column names, types, vocabularies and limits.

Everything that decides whether a row is acceptable is a constant here, so the validator in
`data.py`, the filters, the exports and the tests all read one definition.
"""

from __future__ import annotations

import re

#: Required columns of `events.csv`, in the order exports write them.
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "title",
    "summary",
    "category",
    "date_start",
    "date_end",
    "date_inferred",
    "date_inference_note",
    "place",
    "country_iso3",
    "lat",
    "lon",
    "place_inferred",
    "place_inference_note",
    "participants",
    "organisations",
    "value",
    "unit",
    "article",
    "evidence",
)

#: Columns that hold numbers once loaded; every other column is text.
NUMERIC_COLUMNS: frozenset[str] = frozenset({"lat", "lon", "value"})
INTEGER_COLUMNS: frozenset[str] = frozenset({"article"})
BOOLEAN_COLUMNS: frozenset[str] = frozenset({"date_inferred", "place_inferred"})

#: Each inference flag and the note that must say how the value was inferred when it is true.
#: The date and the place are inferred separately, so a user can keep stated dates while
#: allowing an inferred place, or the reverse.
INFERENCE_FLAGS: dict[str, str] = {
    "date_inferred": "date_inference_note",
    "place_inferred": "place_inference_note",
}

#: Columns of codes, dates and numbers: stray spaces around them are dropped on load.
CODED_COLUMNS: tuple[str, ...] = (
    "event_id",
    "category",
    "date_start",
    "date_end",
    "date_inferred",
    "place_inferred",
    "country_iso3",
    "lat",
    "lon",
    "participants",
    "organisations",
    "value",
    "unit",
    "article",
)
#: Columns of prose: kept exactly as written (only the exporter's formula mark is undone).
TEXT_COLUMNS: tuple[str, ...] = (
    "title",
    "summary",
    "date_inference_note",
    "place",
    "place_inference_note",
    "unit",
    "evidence",
)
#: Number columns and their allowed range (None: any finite number).
NUMBER_RANGES: dict[str, tuple[float | None, float | None]] = {
    "lat": (-90, 90),
    "lon": (-180, 180),
    "value": (None, None),
}

#: Columns that must not be empty. `country_iso3` is required too, except on a row that concerns
#: only organisations and names no place (the APEC Bogor Goals have no country to file under).
REQUIRED_VALUES: tuple[str, ...] = (
    "event_id",
    "title",
    "category",
    "article",
    "evidence",
)

#: Category vocabulary, in the order legends list it.
CATEGORIES: tuple[str, ...] = (
    "summit",
    "meeting",
    "forum",
    "membership",
    "partnership",
    "agreement",
    "cooperation",
    "project",
    "trade",
    "investment",
    "context",
)

#: One colour per category (RGB), chosen to stay distinguishable on the grey basemap.
CATEGORY_COLOURS: dict[str, tuple[int, int, int]] = {
    "summit": (214, 39, 40),
    "meeting": (255, 127, 14),
    "forum": (148, 103, 189),
    "membership": (31, 119, 180),
    "partnership": (23, 190, 207),
    "agreement": (44, 160, 44),
    "cooperation": (140, 86, 75),
    "project": (188, 189, 34),
    "trade": (227, 119, 194),
    "investment": (127, 127, 127),
    "context": (90, 90, 90),
}

#: Categories whose rows carry a stated figure in `value` / `unit`.
FIGURE_CATEGORIES: frozenset[str] = frozenset({"trade", "investment"})

#: Separator of multi-valued cells (`participants`, `organisations`).
LIST_SEPARATOR = ";"

#: Accepted spellings of the boolean column (case-insensitive); empty means false.
TRUE_VALUES: frozenset[str] = frozenset({"true", "1", "yes"})
FALSE_VALUES: frozenset[str] = frozenset({"false", "0", "no", ""})

#: Length limits: evidence is a short quote by rule; the others keep tooltips and tables usable.
MAX_LENGTH: dict[str, int] = {
    "event_id": 120,
    "title": 300,
    "summary": 2000,
    "date_inference_note": 1000,
    "place_inference_note": 1000,
    "place": 120,
    "unit": 40,
    "evidence": 200,
}

EVENT_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ISO3_RE = re.compile(r"^[A-Z]{3}$")
#: ISO 8601 calendar date at year, month or day precision.
# [0-9], not \d: \d also matches other scripts' digits, which int() and pandas disagree on.
DATE_RE = re.compile(r"^(?P<y>[0-9]{4})(?:-(?P<m>[0-9]{2})(?:-(?P<d>[0-9]{2}))?)?$")

#: Columns `geo.enrich` derives from the validated ones for the views; never written by exports.
#: A table may not bring its own column under one of these names (it would be overwritten).
DERIVED_COLUMNS: dict[str, str] = {
    "year_start": "year of date_start (the filters' and timeline's year)",
    "year_end": "year of date_end, else of date_start",
    "country_name": "country_iso3 as a name, from geodata/countries.geojson",
    "continent": "UN M49 region of country_iso3",
    "point_iso3": "country whose shape holds (lat, lon): the spatial join",
    "partners": "participants without Russia: the ends of the flow arcs",
    "search_text": "text columns and the countries' codes, names and aliases, in search form",
}

#: Names the query engine gives columns of its own (`engine.ROW`, each event's position): a
#: table's column may not take them, in any letter case.
ENGINE_COLUMNS = ("_row",)

#: The widest table accepted: the schema's columns and this many in all (extra columns are kept
#: and exported). A wider file is refused before any frame is built, so a 10,000-column upload
#: costs no more than its bytes.
MAX_COLUMNS = 100
#: The longest column name accepted; longer names are not loaded (reported on line 1).
MAX_COLUMN_NAME = 100
#: The longest single field the reader accepts, in characters (the longest schema limit is 2,000).
#: A longer one is reported with its line and the row skipped; it also bounds how far an
#: unclosed quote can run before the reader notices.
MAX_FIELD_CHARS = 100_000

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "\n")

#: Bidirectional control characters: embeddings, overrides and isolates (U+202A-U+202E,
#: U+2066-U+2069). They make text display in another order than it is stored ("Trojan Source"),
#: so a title can read as something else; the loader removes them with a warning.
BIDI_CONTROLS: frozenset[str] = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
)

#: Columns of `sources.csv`.
SOURCE_COLUMNS: tuple[str, ...] = (
    "article",
    "title",
    "outlet",
    "original_publisher",
    "author",
    "published_year",
    "notes",
)
#: Optional columns of `sources.csv`: the fingerprint of the page the articles were read from,
#: so that anyone holding a copy can check it is the same text (`python -m dashboard verify`).
SOURCE_OPTIONAL_COLUMNS: tuple[str, ...] = ("page_sha256", "page_title")

#: Columns that free-text search looks in.
SEARCH_COLUMNS: tuple[str, ...] = ("title", "summary", "evidence", "place")

# ----- column dictionary: what each column means (the data package's README and Table Schema) -----
# Two dictionaries, not one: `article` and `title` name different things in the two tables.

#: What each column of `events.csv` holds, in words; one entry per EVENT_COLUMNS name.
EVENT_COLUMN_DESCRIPTIONS: dict[str, str] = {
    "event_id": "Stable identifier of the row: a slug that starts with date_start (undated rows start "
    "with `undated-`).",
    "title": "Short title of the event, in our words.",
    "summary": "What the article says about the event, paraphrased in our words (only `evidence` is quoted).",
    "category": "Kind of event: one of a fixed list of categories (given with the constraints).",
    "date_start": "Start date, ISO 8601 at the precision the text gives: YYYY, YYYY-MM or YYYY-MM-DD. "
    "Empty when the text gives no date and none can be worked out.",
    "date_end": "End date, same form as date_start; filled only when the text gives a range.",
    "date_inferred": "true when the date is implied by the text rather than stated; "
    "date_inference_note then says how it was worked out.",
    "date_inference_note": "How an inferred date was worked out from what the text says (empty when "
    "date_inferred is false).",
    "place": "City or venue as the text names it, in the project gazetteer's spelling "
    "(geodata/places.csv); empty when the text names no place.",
    "country_iso3": "ISO 3166-1 alpha-3 code of the country the row is filed under: the place's "
    "country, else the country the text makes central; empty only for organisation-level rows "
    "that name no place and no state.",
    "lat": "Latitude of the place in decimal degrees (WGS 84), copied from the gazetteer; empty "
    "when no place is named.",
    "lon": "Longitude of the place in decimal degrees (WGS 84), copied from the gazetteer; empty "
    "when no place is named.",
    "place_inferred": "true when the place is implied by the text rather than stated; "
    "place_inference_note then says how it was worked out.",
    "place_inference_note": "How an inferred place was worked out from what the text says (empty "
    "when place_inferred is false).",
    "participants": "ISO 3166-1 alpha-3 codes of the states the text names as taking part, "
    "separated by `;` (RUS whenever Russia does). Organisations are never expanded into members.",
    "organisations": "Acronyms of the organisations and forums involved, separated by `;` "
    "(geodata/organisations.csv).",
    "value": "A figure the text states (trade, investment, counts), as a plain number; empty when "
    "the row states none.",
    "unit": "Unit of `value` as stated (e.g. USD, percent, companies); required when value is given.",
    "article": "Number of the article the row comes from: the key of sources.csv.",
    "evidence": "A phrase copied character for character from that article (at most 200 "
    "characters) that supports the row.",
}

#: What each column of `sources.csv` holds; one entry per SOURCE_COLUMNS and optional column.
SOURCE_COLUMN_DESCRIPTIONS: dict[str, str] = {
    "article": "Number of the article: what events.csv's `article` refers to.",
    "title": "Title of the article as published.",
    "outlet": "Where the article was read (the publication whose page holds it).",
    "original_publisher": "Where the article was first published, as the page states it; empty if "
    "not stated.",
    "author": "Author named on the page; empty if none is named.",
    "published_year": "Year of publication where the page or the text supports one; empty "
    "otherwise (notes says why).",
    "notes": "How publisher, author and year were established from the page.",
    "page_sha256": "SHA-256 of the page text the articles were read from, to check a copy is the same.",
    "page_title": "Title of that page.",
}
