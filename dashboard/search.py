"""Free-text search as people type it: one normal form for the rows and for the query.

Dashes, quotes, punctuation and case do not matter ("Russia–Africa", "russia-africa" and
"Russia Africa" are the same query); every word of the query must start a word of the row, in
any order ("putin kim"); and a row's countries are searchable by code, name and common alias
("DPRK", "North Korea", "US"), so a query finds the rows a country takes part in even when
their text names it otherwise. `search_text` is worked out once per table (`geo.enrich`);
`matches` runs on every filter change.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

import numpy as np
import pandas as pd

from dashboard.lists import split_list

#: Common names of states beside their ISO 3166-1 alpha-3 code and reference name: the ones
#: the source articles and their readers use. Editorial list of this project (aliases are
#: spellings, not facts); add a line to teach search a new alias.
COUNTRY_ALIASES: dict[str, tuple[str, ...]] = {
    "PRK": ("DPRK", "North Korea", "Democratic People's Republic of Korea", "Pyongyang"),
    "KOR": ("ROK", "South Korea", "Republic of Korea"),
    "RUS": ("Russia", "Russian Federation", "RF"),
    "USA": ("US", "USA", "United States", "United States of America", "America"),
    "GBR": ("UK", "United Kingdom", "Britain"),
    "CHN": ("PRC", "China", "People's Republic of China"),
    "VNM": ("Vietnam", "Viet Nam"),
    "LAO": ("Laos", "Lao PDR"),
    "MMR": ("Myanmar", "Burma"),
    "COD": ("DRC", "DR Congo", "Democratic Republic of the Congo"),
    "ARE": ("UAE", "United Arab Emirates"),
}

# Letters and digits survive; everything else (dashes of every kind, quotes, punctuation) is
# a word break.
_NON_WORD = re.compile(r"[^\w]+|_+")


def normalise(text: str) -> str:
    """Text in search form: compatibility-folded, case-folded, words separated by one space."""
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    return " ".join(_NON_WORD.sub(" ", folded).split())


def query_words(query: str) -> list[str]:
    """The words a query asks for, each once."""
    return list(dict.fromkeys(normalise(query).split()))


def search_text(
    events: pd.DataFrame, columns: tuple[str, ...], country_names: Mapping[str, str]
) -> pd.Series:
    """Each row's searchable text: its text columns and its countries' codes, names and aliases.

    Padded with spaces so that "does a word start here" is a plain substring test.
    """
    text = pd.Series("", index=events.index, dtype=object)
    for col in columns:
        text = text + " " + events[col].fillna("").astype(str)
    countries = (
        events["country_iso3"].fillna("").astype(str) + ";" + events["participants"].fillna("").astype(str)
    )
    words = {cell: _country_words(cell, country_names) for cell in pd.unique(countries.to_numpy())}
    text = text + " " + countries.map(words)
    distinct = {t: " " + normalise(t) + " " for t in pd.unique(text.to_numpy())}
    return text.map(distinct).astype(object)


def _country_words(cell: str, names: Mapping[str, str]) -> str:
    parts = []
    for code in split_list(cell):
        parts += [code, names.get(code, ""), *COUNTRY_ALIASES.get(code, ())]
    return " ".join(parts)


def matches(texts: pd.Series, query: str) -> np.ndarray:
    """True where every word of the query starts a word of the row's search text."""
    hit = np.ones(len(texts), dtype=bool)
    values = texts.fillna("").astype(str)
    for word in query_words(query):
        hit &= values.str.contains(" " + word, regex=False).to_numpy(dtype=bool)
    return hit
