"""The one filter state of the dashboard: parsed from the URL, applied to the events, described.

`FilterState` is immutable. `from_query_params` treats every parameter as untrusted: it never
raises, keeps what is valid and returns a notice naming each value it ignored.
`to_query_params` writes only what differs from the default, so a shared URL stays short and
`from_query_params(to_query_params(s)) == s` for every valid state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import pandas as pd

from dashboard.schema import CATEGORIES, SEARCH_COLUMNS

VIEWS: tuple[str, ...] = ("summits", "partnerships", "flows")
VIEW_LABELS: dict[str, str] = {
    "summits": "Summits and meetings",
    "partnerships": "Partnerships",
    "flows": "Flows",
}
#: Query parameters this app reads; anything else in the URL is left alone.
PARAMS: tuple[str, ...] = ("view", "years", "category", "org", "country", "article", "q", "event", "members")
MAX_QUERY_LENGTH = 200
_YEARS_RE = re.compile(r"^\s*([0-9]{4})\s*(?:[-–:]\s*([0-9]{4})\s*)?$")
_ARTICLE_RE = re.compile(r"^[0-9]{1,5}$")


@dataclass(frozen=True)
class Vocabulary:
    """The values a filter may take, from the loaded data and reference tables."""

    categories: frozenset[str] = frozenset(CATEGORIES)
    organisations: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    articles: frozenset[int] = frozenset()
    event_ids: frozenset[str] = frozenset()
    member_orgs: frozenset[str] = frozenset()
    year_min: int = 1900
    year_max: int = 2100


@dataclass(frozen=True)
class FilterState:
    """Everything that decides what the dashboard shows. Empty tuples mean "all"."""

    view: str = "summits"
    years: tuple[int, int] | None = None
    categories: tuple[str, ...] = ()
    orgs: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    articles: tuple[int, ...] = ()
    q: str = ""
    event: str = ""
    members: str = ""

    # ----- URL -----------------------------------------------------------------------------
    @classmethod
    def from_query_params(
        cls, params: Mapping[str, object], vocab: Vocabulary
    ) -> tuple[FilterState, tuple[str, ...]]:
        """Parse untrusted query parameters into a state and notices about ignored values."""
        notices: list[str] = []
        values: dict[str, object] = {}

        def get(key: str) -> str | None:
            raw = params.get(key)
            if raw is None:
                return None
            if isinstance(raw, (list, tuple)):
                # A key repeated in the URL (?category=a&category=b) counts as one list.
                raw = ",".join(str(r) for r in raw)
            return str(raw)

        view = get("view")
        if view is not None:
            if view.strip().lower() in VIEWS:
                values["view"] = view.strip().lower()
            else:
                notices.append(f"view: {_show(view)} is not one of {', '.join(VIEWS)}")

        years = get("years")
        if years is not None and years.strip():
            parsed = _parse_years(years, vocab)
            if isinstance(parsed, str):
                notices.append(f"years: {parsed}")
            else:
                values["years"] = parsed

        def codes(key: str, allowed: Iterable, normalise, label: str) -> tuple:
            raw = get(key)
            if raw is None:
                return ()
            kept: list = []
            allowed = set(allowed)
            for item in _split(raw):
                value = normalise(item)
                if value in allowed:
                    if value not in kept:
                        kept.append(value)
                else:
                    notices.append(f"{key}: {_show(item)} is not a known {label}")
            return tuple(kept)

        org_lookup = {o.lower(): o for o in vocab.organisations}
        values["categories"] = codes("category", vocab.categories, str.lower, "category")
        values["orgs"] = codes(
            "org", vocab.organisations, lambda s: org_lookup.get(s.lower(), s), "organisation"
        )
        values["countries"] = codes("country", vocab.countries, str.upper, "country code")
        values["articles"] = codes("article", vocab.articles, _to_int, "article")
        values["categories"] = tuple(c for c in CATEGORIES if c in values["categories"])
        values["articles"] = tuple(sorted(values["articles"]))

        q = get("q")
        if q is not None:
            clean = _clean_text(q)
            if len(clean) > MAX_QUERY_LENGTH:
                notices.append(f"q: search text cut to {MAX_QUERY_LENGTH} characters")
                clean = clean[:MAX_QUERY_LENGTH].strip()
            values["q"] = clean

        event = get("event")
        if event is not None and event.strip():
            if event.strip() in vocab.event_ids:
                values["event"] = event.strip()
            else:
                notices.append(f"event: {_show(event)} is not a known event id")

        members = get("members")
        if members is not None and members.strip():
            m = org_lookup.get(members.strip().lower())
            if m in vocab.member_orgs:
                values["members"] = m
            else:
                notices.append(f"members: {_show(members)} has no member list")

        return cls(**values), tuple(notices)

    def to_query_params(self) -> dict[str, str]:
        """The state as query parameters, defaults left out, lists comma-separated."""
        out: dict[str, str] = {}
        if self.view != "summits":
            out["view"] = self.view
        if self.years is not None:
            out["years"] = f"{self.years[0]}-{self.years[1]}"
        for key, values in (
            ("category", self.categories),
            ("org", self.orgs),
            ("country", self.countries),
            ("article", self.articles),
        ):
            if values:
                out[key] = ",".join(str(v) for v in values)
        if self.q:
            out["q"] = self.q
        if self.event:
            out["event"] = self.event
        if self.members:
            out["members"] = self.members
        return out

    def replace(self, **changes) -> FilterState:
        return replace(self, **changes)

    @property
    def is_default(self) -> bool:
        return self.filters_only() == FilterState()

    def filters_only(self) -> FilterState:
        """The state without view, selection and colouring: what decides the rows."""
        return replace(self, view="summits", event="", members="")

    # ----- rows ----------------------------------------------------------------------------
    def apply(self, events: pd.DataFrame) -> pd.DataFrame:
        """The rows of an enriched events frame that match; the input is left unchanged."""
        mask = pd.Series(True, index=events.index)
        if self.years is not None:
            lo, hi = self.years
            start = events["year_start"]
            end = events["year_end"]
            # An event matches when its span overlaps the range; undated events never do.
            mask &= start.notna() & (start <= hi).fillna(False) & (end >= lo).fillna(False)
        if self.categories:
            mask &= events["category"].isin(self.categories)
        if self.articles:
            mask &= events["article"].isin(self.articles)
        if self.orgs:
            mask &= _has_any(events["organisations"], self.orgs)
        if self.countries:
            mask &= events["country_iso3"].isin(self.countries) | _has_any(
                events["participants"], self.countries
            )
        if self.q:
            needle = self.q.casefold()
            hit = pd.Series(False, index=events.index)
            for col in SEARCH_COLUMNS:
                hit |= events[col].fillna("").str.casefold().str.contains(needle, regex=False)
            mask &= hit
        return events.loc[mask.to_numpy(dtype=bool)]

    # ----- words ---------------------------------------------------------------------------
    def describe(self, country_names: Mapping[str, str] | None = None) -> str:
        """The filters as one sentence, for captions and citations."""
        names = country_names or {}
        parts: list[str] = []
        if self.categories:
            parts.append(_join_words(self.categories) + " events")
        else:
            parts.append("All events")
        if self.years is not None:
            lo, hi = self.years
            parts.append(f"in {lo}" if lo == hi else f"from {lo} to {hi}")
        if self.countries:
            parts.append("involving " + _join_words([names.get(c, c) for c in self.countries], "or"))
        if self.orgs:
            parts.append("linked to " + _join_words(self.orgs, "or"))
        if self.articles:
            label = "article" if len(self.articles) == 1 else "articles"
            parts.append(f"from {label} " + _join_words([str(a) for a in self.articles]))
        if self.q:
            parts.append(f"mentioning “{self.q}”")
        sentence = " ".join(parts)
        return sentence[0].upper() + sentence[1:] + "."


def _has_any(cells: pd.Series, wanted: Iterable[str]) -> pd.Series:
    """True where a `;`-separated cell contains any of the wanted items."""
    pattern = "(?:^|;)\\s*(?:" + "|".join(re.escape(w) for w in wanted) + ")\\s*(?:;|$)"
    return cells.fillna("").str.contains(pattern, regex=True)


def _parse_years(raw: str, vocab: Vocabulary) -> tuple[int, int] | str:
    m = _YEARS_RE.match(raw)
    if not m:
        return f"{_show(raw)} is not a year or range like 2010-2019"
    lo = int(m[1])
    hi = int(m[2]) if m[2] else lo
    if lo > hi:
        lo, hi = hi, lo
    if hi < vocab.year_min or lo > vocab.year_max:
        return f"{lo}-{hi} lies outside the data ({vocab.year_min}-{vocab.year_max})"
    return max(lo, vocab.year_min), min(hi, vocab.year_max)


def _split(raw: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;]", raw) if part.strip()]


def _to_int(text: str) -> int | None:
    # str.isdigit() accepts '¹' and other digits int() rejects: match ASCII digits only.
    return int(text) if _ARTICLE_RE.match(text) else None


def _clean_text(text: str) -> str:
    # Control characters have no business in a search box; they would also garble the caption.
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()


def _show(value: str, limit: int = 40) -> str:
    value = _clean_text(str(value))
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


def _join_words(items, conj: str = "and") -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conj} " + items[-1]
