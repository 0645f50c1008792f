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
import pyarrow as pa
import pyarrow.compute as pc

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
    """Text in search form: compatibility-folded, case-folded, accents and other combining marks
    dropped (so "cafe" finds "café", "istanbul" finds "İstanbul", and marks never split a word),
    words separated by one space."""
    folded = unicodedata.normalize("NFKD", str(text).casefold().replace("ı", "i"))
    bare = "".join(c for c in folded if not unicodedata.category(c).startswith("M"))
    return " ".join(_NON_WORD.sub(" ", bare).split())


def query_words(query: str) -> list[str]:
    """The words a query asks for, each once."""
    return list(dict.fromkeys(normalise(query).split()))


def search_text(
    events: pd.DataFrame, columns: tuple[str, ...], country_names: Mapping[str, str]
) -> pd.Series:
    """Each row's searchable text: its text columns and its countries' codes, names and aliases.

    Padded with spaces so that "does a word start here" is a plain substring test. The search
    form of text joined by spaces is the search forms of its parts joined by spaces (`normalise`
    works character by character, then splits into words), so each column is put in search
    form once per distinct cell (`search_forms`) and the parts are joined in Arrow.
    """
    countries = (
        events["country_iso3"].fillna("").astype(str) + ";" + events["participants"].fillna("").astype(str)
    )
    words = {cell: _country_words(cell, country_names) for cell in pd.unique(countries.to_numpy())}
    parts = [search_forms(events[col]) for col in columns] + [search_forms(countries.map(words))]
    joined = pc.binary_join_element_wise(*parts, _SPACE)
    # Where a part is empty, its spaces go, as `normalise` drops them: those rows only.
    gaps = pc.equal(parts[0], _EMPTY)
    for part in parts[1:]:
        gaps = pc.or_(gaps, pc.equal(part, _EMPTY))
    if pc.any(gaps).as_py():
        fixed = pc.utf8_trim(pc.replace_substring_regex(joined.filter(gaps), " {2,}", " "), " ")
        joined = pc.replace_with_mask(joined, gaps, fixed)
    padded = pc.binary_join_element_wise(_SPACE, joined, _SPACE, _EMPTY)
    return pd.Series(padded, index=events.index, dtype=_ARROW_STR)


#: pandas' Arrow-backed text type: Arrow results become a column without a copy to Python.
_ARROW_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # "str"
_SPACE, _EMPTY = pa.scalar(" ", pa.large_string()), pa.scalar("", pa.large_string())


def search_forms(texts: pd.Series) -> pa.Array:
    """`normalise` of every cell, worked out once per distinct cell. ASCII cells (nearly all)
    go through Arrow's kernels, where `normalise` is lower case with every run of characters
    other than a-z and 0-9 made one space; the others through `normalise` itself."""
    try:
        values = pa.array(texts.fillna(""), pa.large_string())
    except (pa.ArrowException, UnicodeEncodeError):  # a lone surrogate: Python does it all
        return pa.array([normalise(t) for t in texts.fillna("")], pa.large_string())
    if isinstance(values, pa.ChunkedArray):  # a column joined from batches
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values)
    distinct = encoded.dictionary
    plain = pc.string_is_ascii(distinct)
    form = pc.utf8_trim(pc.replace_substring_regex(pc.ascii_lower(distinct), "[^a-z0-9]+", " "), " ")
    if not pc.all(plain).as_py():
        cells = distinct.to_pylist()
        mask = plain.to_numpy(zero_copy_only=False)
        forms = form.to_pylist()
        for i in np.flatnonzero(~mask):
            forms[i] = normalise(cells[i])
        form = pa.array(forms, pa.large_string())
    return form.take(encoded.indices)


def padded_search_form(texts: pd.Series) -> pd.Series:
    """`" " + normalise(t) + " "` of every cell."""
    form = pc.binary_join_element_wise(_SPACE, search_forms(texts), _SPACE, _EMPTY)
    return pd.Series(form.to_numpy(zero_copy_only=False), index=texts.index, dtype=object)


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
