"""Search form of a whole column: Arrow's kernels for ASCII cells give exactly `normalise`."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.search import normalise, padded_search_form

CELLS = [
    "",
    " ",
    "Russia–Africa",
    "russia-africa_x__y",
    "ABC  def\t\n1_2",
    "café İstanbul ı",
    "ﬁ ½ Ⅻ",
    "a\u202eb",
    "__",
    "--a--",
    "Ça\u0301",
    "x\x00y",
    "\ud800z",
    "Kim Jong-un, DPRK's",
    "ΣΊΣΥΦΟΣ",
    "١٢٣ abc",
    "a\x1fb\x0bc\x7f",
]


@pytest.mark.parametrize("cell", CELLS, ids=[repr(c) for c in CELLS])
def test_the_column_form_is_normalise_padded(cell):
    assert padded_search_form(pd.Series([cell, "Plain ASCII"], dtype=object)).tolist() == [
        " " + normalise(cell) + " ",
        " plain ascii ",
    ]


def test_search_text_is_the_normal_form_of_the_joined_row():
    from dashboard.search import _country_words, search_text

    rows = pd.DataFrame(
        {
            "title": ["Summit — Café", "", "x"],
            "summary": ["", "", "A_B"],
            "country_iso3": ["PRK", "", ""],
            "participants": ["RUS;PRK", "", ""],
        }
    )
    names = {"PRK": "North Korea", "RUS": "Russia"}
    got = search_text(rows, ("title", "summary"), names).tolist()
    # The definition: the row's cells and its countries' words joined by spaces, normalised.
    countries = rows["country_iso3"] + ";" + rows["participants"]
    texts = [
        " ".join([t, s, _country_words(c, names)])
        for t, s, c in zip(rows["title"], rows["summary"], countries, strict=True)
    ]
    assert got == [" " + normalise(t) + " " for t in texts]
    assert got[1] == "  " and got[2] == " x a b "
