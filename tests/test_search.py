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
