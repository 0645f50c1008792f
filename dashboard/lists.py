"""The one way to read a list cell (`participants`, `organisations`): split, normalise, match.

A list cell holds codes separated by `;`. The loader normalises every list cell once
(`normalise_cell`): items trimmed, codes spelled as the reference spells them, duplicates
dropped, one separator, no spaces. After that every reader (filters, counts, clicks, charts)
asks the same two questions through this module: which items does a cell hold (`split_list`),
and which cells hold any of these codes (`cells_holding`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from dashboard.schema import LIST_SEPARATOR


def split_list(cell: object) -> list[str]:
    """The non-empty, stripped items of a `;`-separated cell, each once, in order."""
    if not isinstance(cell, str) or not cell:
        return []
    return list(dict.fromkeys(item.strip() for item in cell.split(LIST_SEPARATOR) if item.strip()))


def join_list(items: Iterable[str]) -> str:
    """Items as one cell, in the canonical spelling `A;B`."""
    return LIST_SEPARATOR.join(items)


def normalise_cell(cell: object, spelling: Callable[[str], str] = str.upper) -> str:
    """A cell in canonical form: items trimmed and re-spelled, duplicates dropped, `A;B`."""
    return join_list(dict.fromkeys(spelling(item) for item in split_list(cell)))


def normalise_column(cells: pd.Series, spelling: Callable[[str], str] = str.upper) -> pd.Series:
    """`normalise_cell` for a whole column, worked out once per distinct cell."""
    distinct = {cell: normalise_cell(cell, spelling) for cell in pd.unique(cells.to_numpy())}
    return pd.Series([distinct[cell] for cell in cells.to_numpy()], index=cells.index, dtype=object)


def spelling_from(known: Iterable[str]) -> Callable[[str], str]:
    """A case-insensitive re-speller: `asean` -> `ASEAN`; unknown items are left as typed."""
    lookup: Mapping[str, str] = {code.casefold(): code for code in known}
    return lambda item: lookup.get(item.casefold(), item)


def cells_holding(cells: pd.Series, wanted: Iterable[str]) -> pd.Series:
    """True where a list cell holds any of the wanted codes.

    Decided once per distinct cell: a million rows hold a few thousand distinct lists.
    """
    wanted = frozenset(wanted)
    values = cells.fillna("").to_numpy(dtype=object)
    codes, distinct = pd.factorize(values)
    hit = np.fromiter(
        (not wanted.isdisjoint(split_list(c)) for c in distinct), dtype=bool, count=len(distinct)
    )
    mask = hit[codes] if len(distinct) else np.zeros(len(values), dtype=bool)
    return pd.Series(mask, index=cells.index)
