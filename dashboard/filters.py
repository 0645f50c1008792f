"""The one filter state of the dashboard, and the one table of filter fields that defines it.

Each filter is one row of `FIELDS` (as in Datasette's `filters.py`): the row knows its URL
parameter and CLI flag, how to parse an untrusted value (keeping what is valid and naming what
it ignored), how to write a value back, which rows it keeps (as a SQL clause the engine runs,
values always bound as parameters: `dashboard.engine`), and how it reads in the caption
sentence. The SQL clause is the one definition of a filter: `FilterState.where` joins the
clauses for the engine, and `FilterState.apply` runs the same clauses over a frame.
`FilterState`, the sidebar (`ui/state.py`) and the CLI (`cli.py`) all loop over this table;
adding a filter is adding a row here (and a field to `FilterState`).

`FilterState` is immutable. `from_query_params` never raises; `to_query_params` writes only
what differs from the default, so `from_query_params(to_query_params(s)) == s` for every valid
state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace

import pandas as pd

from dashboard import search
from dashboard.engine import Engine, Selection, of_frame
from dashboard.formatting import mark_controls
from dashboard.lists import split_list
from dashboard.schema import CATEGORIES, INFERENCE_FLAGS

#: A filter's rows as SQL: a clause over the engine's `events` relation and its parameters.
Clause = tuple[str, list]

VIEWS: tuple[str, ...] = ("summits", "partnerships", "flows")
VIEW_LABELS: dict[str, str] = {
    "summits": "Summits and meetings",
    "partnerships": "Partnerships",
    "flows": "Flows",
}
MAX_QUERY_LENGTH = 200
#: Invalid values named one by one in a parameter's notice; the rest are counted.
MAX_NAMED_INVALID = 3
_YEARS_RE = re.compile(r"^\s*([0-9]{1,4})\s*(?:[-–:]\s*([0-9]{1,4})\s*)?$")
_ARTICLE_RE = re.compile(r"^[0-9]{1,5}$")
_TRUE_FLAGS = frozenset({"1", "true", "yes", "on"})
_FALSE_FLAGS = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class Vocabulary:
    """The values a filter may take, from the loaded data and reference tables."""

    categories: frozenset[str] = frozenset(CATEGORIES)
    organisations: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    articles: frozenset[int] = frozenset()
    event_ids: Container[str] = frozenset()  # `in` only: a large table answers it by query
    member_orgs: frozenset[str] = frozenset()
    year_min: int = 1900
    year_max: int = 2100
    #: Dated events per start year: what the years control's presets are made from.
    year_counts: Mapping[int, int] = field(default_factory=dict)
    #: What the sidebar offers and how it names it (codes in use first; names for labels).
    orgs_in_use: tuple[str, ...] = ()
    countries_in_use: tuple[str, ...] = ()
    org_names: Mapping[str, str] = field(default_factory=dict)
    country_names: Mapping[str, str] = field(default_factory=dict)
    article_titles: Mapping[int, str] = field(default_factory=dict)


# ----- the fields ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One filter: its state attribute, URL parameter, CLI flag, widget, and how it behaves.

    `parse(raw, vocab)` gives (value, invalid items); `write(value)` the URL text; `sql(value,
    engine)` the rows it keeps as a clause and its parameters, or None for fields that do not
    select rows (view, selection, colouring);
    `phrase(value, vocab)` its words in the caption sentence.
    """

    name: str
    param: str
    label: str
    help: str
    parse: Callable[[str, Vocabulary], tuple[object, list[str]]]
    write: Callable[[object], str]
    sql: Callable[[object, Engine], Clause] | None = None
    phrase: Callable[[object, Vocabulary], str] | None = None
    #: sidebar widget: "years", "multiselect", "toggle", "text", or "" (drawn by a page)
    widget: str = ""
    options: Callable[[Vocabulary], list] | None = None
    option_label: Callable[[object, Vocabulary], str] | None = None
    placeholder: str = ""
    cli: bool = True


def _codes(
    normalise: Callable[[str, Vocabulary], object], allowed: Callable[[Vocabulary], Iterable], what: str
):
    """Parser of a comma-separated list of codes, kept in the vocabulary's terms, each once."""

    def parse(raw: str, vocab: Vocabulary) -> tuple[tuple, list[str]]:
        known = set(allowed(vocab))
        kept, bad = [], []
        for item in _split(raw):
            value = normalise(item, vocab)
            if value in known:
                if value not in kept:
                    kept.append(value)
            else:
                bad.append(item)
        return tuple(kept), _unknown(bad, what)

    return parse


def _parse_categories(raw: str, vocab: Vocabulary) -> tuple[tuple, list[str]]:
    kept, bad = _codes(lambda s, v: s.lower(), lambda v: v.categories, "category")(raw, vocab)
    return tuple(c for c in CATEGORIES if c in kept), bad


def _parse_articles(raw: str, vocab: Vocabulary) -> tuple[tuple, list[str]]:
    kept, bad = _codes(lambda s, v: _to_int(s), lambda v: v.articles, "article")(raw, vocab)
    return tuple(sorted(kept)), bad


def _org_spelling(item: str, vocab: Vocabulary) -> str:
    return {o.lower(): o for o in vocab.organisations}.get(item.lower(), item)


def _parse_view(raw: str, vocab: Vocabulary):
    value = raw.strip().lower()
    return (value, []) if value in VIEWS else ("summits", [f"{_show(raw)} is not one of {', '.join(VIEWS)}"])


def _parse_years(raw: str, vocab: Vocabulary):
    """A year or a range, clipped to the data; a reversed range is read the right way round."""
    if not raw.strip():
        return None, []
    m = _YEARS_RE.match(raw)
    if not m:
        return None, [f"{_show(raw)} is not a year or range like 2010-2019"]
    lo = int(m[1])
    hi = int(m[2]) if m[2] else lo
    notes = []
    if lo > hi:
        lo, hi = hi, lo
        notes.append(f"{_show(raw)} read as {_year(lo)}-{_year(hi)}")
    if hi < vocab.year_min or lo > vocab.year_max:
        return None, [f"{_year(lo)}-{_year(hi)} lies outside the data ({vocab.year_min}-{vocab.year_max})"]
    clipped = (max(lo, vocab.year_min), min(hi, vocab.year_max))
    if clipped != (lo, hi):
        covered = f"{_year(clipped[0])}-{_year(clipped[1])}"
        notes.append(f"{_year(lo)}-{_year(hi)} read as {covered}, the years the data covers")
    return clipped, notes


def _parse_flag(raw: str, vocab: Vocabulary):
    value = raw.strip().lower()
    if value in _TRUE_FLAGS:
        return True, []
    if value in _FALSE_FLAGS:
        return False, []
    return False, [f"{_show(raw)} is not 1 or 0"]


def _parse_query(raw: str, vocab: Vocabulary):
    clean = " ".join(_clean_text(raw).split())
    if clean and not search.query_words(clean):
        # "!!!" would match every row while the caption says "mentioning “!!!”".
        return "", [f"{_show(raw)} has no word to search for"]
    if len(clean) > MAX_QUERY_LENGTH:
        return clean[:MAX_QUERY_LENGTH].strip(), [f"search text cut to {MAX_QUERY_LENGTH} characters"]
    return clean, []


def _parse_event(raw: str, vocab: Vocabulary):
    value = raw.strip()
    if not value:
        return "", []
    return (value, []) if value in vocab.event_ids else ("", _unknown([raw], "event id"))


def _parse_members(raw: str, vocab: Vocabulary):
    value = raw.strip()
    if not value:
        return "", []
    spelled = _org_spelling(value, vocab)
    return (spelled, []) if spelled in vocab.member_orgs else ("", [f"{_show(raw)} has no member list"])


def _sql_years(years, engine: Engine) -> Clause:
    # An event matches when its span overlaps the range; undated events never do.
    lo, hi = years
    return "(year_start IS NOT NULL AND year_start <= ? AND year_end >= ?)", [int(hi), int(lo)]


def _sql_in(column: str, kind: str = "VARCHAR") -> Callable[[object, Engine], Clause]:
    """Rows whose `column` is one of the values (a column name and type: constants of this module)."""
    return lambda values, engine: (f"{column} IN (SELECT unnest(?::{kind}[]))", [list(values)])


def _cells_holding(column: str, codes, engine: Engine) -> Clause:
    """Rows whose list cell holds any of the codes. Which cells do is decided in Python, once per
    distinct cell (`lists.split_list`, the one reading of a list cell); SQL matches those cells."""
    wanted = frozenset(codes)
    cells = [c for c in engine.distinct(column) if not wanted.isdisjoint(split_list(c))]
    return f"{column} IN (SELECT unnest(?::VARCHAR[]))", [cells]


def _sql_countries(codes, engine: Engine) -> Clause:
    held, params = _cells_holding("participants", codes, engine)
    return f"(country_iso3 IN (SELECT unnest(?::VARCHAR[])) OR {held})", [list(codes), *params]


def _sql_stated(stated: bool, engine: Engine) -> Clause:
    inferred = " OR ".join(f"coalesce({flag}, false)" for flag in INFERENCE_FLAGS)
    return f"NOT ({inferred})", []


def _sql_query(q: str, engine: Engine) -> Clause:
    # Every word must start a word of the padded search text (search.matches): a substring test.
    words = search.query_words(q)
    if not words:
        return "TRUE", []
    return " AND ".join("contains(coalesce(search_text, ''), ?)" for _ in words), [" " + w for w in words]


def _join_words(items, conj: str = "and") -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conj} " + items[-1]


def _year(y: int) -> str:
    return f"{y:04d}"


_list = ",".join

#: Every filter, in the order the sidebar draws them and the caption sentence reads.
FIELDS: tuple[Field, ...] = (
    Field(
        "view",
        "view",
        "Map mode",
        "which map to draw",
        _parse_view,
        str,
        cli=False,
    ),
    Field(
        "categories",
        "category",
        "Kinds of event",
        "kinds of event (categories, comma-separated)",
        _parse_categories,
        lambda v: _list(v),
        sql=_sql_in("category"),
        phrase=lambda v, vocab: _join_words(v) + " events",
        widget="multiselect",
        options=lambda vocab: list(CATEGORIES),
        placeholder="All kinds",
    ),
    Field(
        "years",
        "years",
        "Years",
        "year or range, e.g. 2010-2019",
        _parse_years,
        lambda v: f"{_year(v[0])}-{_year(v[1])}",
        sql=_sql_years,
        phrase=lambda v, vocab: f"in {v[0]}" if v[0] == v[1] else f"from {v[0]} to {v[1]}",
        widget="years",
    ),
    Field(
        "countries",
        "country",
        "Countries",
        "events a country takes part in or is the place of (ISO3 codes, comma-separated)",
        _codes(lambda s, v: s.upper(), lambda v: v.countries, "country code"),
        _list,
        sql=_sql_countries,
        phrase=lambda v, vocab: "involving " + _join_words([vocab.country_names.get(c, c) for c in v], "or"),
        widget="multiselect",
        options=lambda vocab: sorted(vocab.countries_in_use, key=lambda c: vocab.country_names.get(c, c)),
        option_label=lambda c, vocab: vocab.country_names.get(c, c),
        placeholder="All countries",
    ),
    Field(
        "orgs",
        "org",
        "Organisations and forums",
        "events linked to an organisation or forum (acronyms, comma-separated)",
        _codes(_org_spelling, lambda v: v.organisations, "organisation"),
        _list,
        sql=lambda v, engine: _cells_holding("organisations", v, engine),
        phrase=lambda v, vocab: "linked to " + _join_words(v, "or"),
        widget="multiselect",
        options=lambda vocab: sorted(vocab.orgs_in_use, key=str.lower),
        option_label=lambda a, vocab: f"{a} · {vocab.org_names[a]}" if vocab.org_names.get(a, a) != a else a,
        placeholder="All organisations",
    ),
    Field(
        "articles",
        "article",
        "Source article",
        "the article a row is cited to (numbers, comma-separated)",
        _parse_articles,
        lambda v: _list(str(a) for a in v),
        sql=_sql_in("article", "BIGINT"),
        phrase=lambda v, vocab: (
            ("from article " if len(v) == 1 else "from articles ") + _join_words([str(a) for a in v])
        ),
        widget="multiselect",
        options=lambda vocab: sorted(vocab.article_titles),
        option_label=lambda a, vocab: f"{a}. {vocab.article_titles.get(a, '')}",
        placeholder="All articles",
    ),
    Field(
        "stated",
        "stated",
        "Only what the text states",
        "keep only rows with no inferred date or place",
        _parse_flag,
        lambda v: "1",
        sql=_sql_stated,
        phrase=lambda v, vocab: "with date and place as stated (nothing inferred)",
        widget="toggle",
    ),
    Field(
        "q",
        "q",
        "Search text",
        "free-text search: every word must match, in any order",
        _parse_query,
        str,
        sql=_sql_query,
        phrase=lambda v, vocab: f"mentioning “{v}”",
        widget="text",
        placeholder="words in any order: title, place, country…",
    ),
    Field("event", "event", "Selected event", "", _parse_event, str, cli=False),
    Field(
        "members",
        "members",
        "Colour by membership",
        "",
        _parse_members,
        str,
        cli=False,
    ),
)
FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
#: Query parameters this app reads; anything else in the URL is left alone.
PARAMS: tuple[str, ...] = tuple(f.param for f in FIELDS)


@dataclass(frozen=True)
class FilterState:
    """Everything that decides what the dashboard shows. Empty tuples mean "all"."""

    view: str = "summits"
    years: tuple[int, int] | None = None
    categories: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    orgs: tuple[str, ...] = ()
    articles: tuple[int, ...] = ()
    stated: bool = False
    q: str = ""
    event: str = ""
    members: str = ""

    # ----- URL -----------------------------------------------------------------------------
    @classmethod
    def from_query_params(
        cls, params: Mapping[str, object], vocab: Vocabulary
    ) -> tuple[FilterState, tuple[str, ...]]:
        """Parse untrusted query parameters into a state and notices about ignored values.

        One notice per parameter at most: a URL with thousands of bad values says how many,
        naming the first few.
        """
        notices: list[str] = []
        values: dict[str, object] = {}
        for f in FIELDS:
            raw = params.get(f.param)
            if raw is None:
                continue
            if isinstance(raw, (list, tuple)):
                # A key repeated in the URL (?category=a&category=b) counts as one list.
                raw = ",".join(str(r) for r in raw)
            value, problems = f.parse(str(raw), vocab)
            values[f.name] = value
            notices += [f"{f.param}: {problem}" for problem in problems]
        return cls(**values), tuple(notices)

    def to_query_params(self) -> dict[str, str]:
        """The state as query parameters, defaults left out, lists comma-separated."""
        return {
            f.param: f.write(getattr(self, f.name))
            for f in FIELDS
            if getattr(self, f.name) != _DEFAULTS[f.name]
        }

    def replace(self, **changes) -> FilterState:
        return replace(self, **changes)

    @property
    def is_default(self) -> bool:
        return self.filters_only() == FilterState()

    def filters_only(self) -> FilterState:
        """The state without view, selection and colouring: what decides the rows."""
        return replace(self, view="summits", event="", members="")

    # ----- rows ----------------------------------------------------------------------------
    def where(self, engine: Engine) -> Clause:
        """The rows that match, as one WHERE clause over the engine's events and its parameters."""
        clauses, params = [], []
        for f in FIELDS:
            value = getattr(self, f.name)
            if f.sql is None or value == _DEFAULTS[f.name]:
                continue
            clause, args = f.sql(value, engine)
            clauses.append(clause)
            params += args
        return (" AND ".join(clauses) or "TRUE"), params

    def selection(self, engine: Engine) -> Selection:
        """The events these filters keep, as a selection in `engine` (a dataset's: its
        `engine()`): what the pages show and what the downloads and the CLI's export write."""
        where, params = self.where(engine)
        return Selection(engine, where, tuple(params))

    def apply(self, events: pd.DataFrame, engine: Engine | None = None) -> pd.DataFrame:
        """The rows of an enriched events frame that match, in order; the input is left unchanged.

        The same SQL as every page runs (`where`), over `engine` when given (it must hold
        `events`), else over an engine opened on the frame for this call.
        """
        if self.filters_only() == FilterState():
            return events
        engine = engine or of_frame(events)
        return engine.rows(*self.where(engine))

    # ----- words ---------------------------------------------------------------------------
    def describe(self, country_names: Mapping[str, str] | None = None) -> str:
        """The filters as one sentence, for captions and citations."""
        vocab = Vocabulary(country_names=country_names or {})
        parts: list[str] = []
        for f in FIELDS:
            value = getattr(self, f.name)
            if f.phrase is not None and value != _DEFAULTS[f.name]:
                parts.append(f.phrase(value, vocab))
        if not self.categories:
            parts.insert(0, "All events")
        sentence = " ".join(parts)
        return sentence[0].upper() + sentence[1:] + "."


_DEFAULTS: dict[str, object] = {f.name: f.default for f in fields(FilterState)}
assert set(_DEFAULTS) == set(FIELD_BY_NAME), "every FilterState field is one row of FIELDS"


def _unknown(bad: list[str], what: str) -> list[str]:
    """At most one notice for a parameter's unknown values: named, or counted with a few named."""
    bad = list(dict.fromkeys(bad))  # a value repeated is one bad value
    if not bad:
        return []
    if len(bad) == 1:
        return [f"{_show(bad[0])} is not a known {what}"]
    shown = ", ".join(_show(b) for b in bad[:MAX_NAMED_INVALID])
    more = f" and {len(bad) - MAX_NAMED_INVALID:,} more" if len(bad) > MAX_NAMED_INVALID else ""
    return [f"{len(bad):,} values are not a known {what}: {shown}{more}"]


def _split(raw: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;]", raw) if part.strip()]


def _to_int(text: str) -> int | None:
    # str.isdigit() accepts '¹' and other digits int() rejects: match ASCII digits only.
    return int(text) if _ARTICLE_RE.match(text) else None


#: Control characters, and bidirectional controls (embeddings, overrides, isolates, marks) that
#: would reorder the caption around them (issue 10: spoofed text).
_CONTROL_RE = re.compile("[\x00-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
#: Lone surrogates (a command line's undecodable bytes): no UTF-8 writer can encode them.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _clean_text(text: str) -> str:
    # Control characters have no business in a search box; they would also garble the caption.
    return _CONTROL_RE.sub(" ", _SURROGATE_RE.sub("\ufffd", text)).strip()


#: What a refused value's notice shows as a mark: every control and invisible character (C0,
#: C1, the soft hyphen, zero-width and joiners, bidirectional controls, line and paragraph
#: separators, the byte-order mark), so none reads as an escape like `\u200b` beside the marks.
_INVISIBLE_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
)


def _show(value: str, limit: int = 40) -> str:
    """A refused value as the notice quotes it: controls shown as marks, not dropped (a notice
    that `'\u202eflows'` is not a view must not read as if `'flows'` were not one). The cut to
    `limit` counts the value's own characters, so it never splits a mark."""
    value = _SURROGATE_RE.sub("\ufffd", str(value)).strip()
    long = len(value) > limit
    shown = mark_controls(value[: limit - 1] if long else value, _INVISIBLE_RE)
    return repr(shown + "…" if long else shown)
