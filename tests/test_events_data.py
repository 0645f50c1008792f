"""The shipped data: it validates clean, and every evidence phrase is in its article, verbatim.

The source page is read from ../shared/seeds/ (override with SUMMIT_ATLAS_SEEDS=folder).
"""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.data import DEFAULT_EVENTS, DEFAULT_SOURCES, load_events, load_sources
from dashboard.schema import CATEGORIES
from dashboard.verify import split_articles, squash
from tests.conftest import SEED_DIR


@pytest.fixture(scope="module")
def sources():
    frame, problems = load_sources(DEFAULT_SOURCES)
    assert not problems, [str(p) for p in problems]
    return frame


@pytest.fixture(scope="module")
def events(real_ref, sources):
    result = load_events(DEFAULT_EVENTS, real_ref, frozenset(sources["article"]))
    assert result.ok, "\n".join(str(p) for p in result.problems)
    return result.frame


@pytest.fixture(scope="module")
def articles(sources):
    pages = sorted(SEED_DIR.glob("*.txt")) if SEED_DIR.exists() else []
    if not pages:
        pytest.skip(f"source page not found in {SEED_DIR} (set SUMMIT_ATLAS_SEEDS)")
    text = pages[0].read_text(encoding="utf-8")
    articles, missing = split_articles(text, list(sources["title"]))
    assert not missing, missing
    return {n: squash(body) for n, body in articles.items()}


def test_sources_name_the_four_articles(sources):
    assert sources["article"].tolist() == [1, 2, 3, 4]
    assert (sources["outlet"] == "Modern Diplomacy").all()


def test_shipped_table_is_complete_enough(events):
    assert 80 <= len(events) <= 140
    assert set(events["category"]) <= set(CATEGORIES)
    assert events["event_id"].is_unique


def test_every_evidence_phrase_is_in_its_article(events, articles):
    missing = [
        f"{r.event_id} (article {r.article}): {r.evidence!r}"
        for r in events.itertuples()
        if squash(r.evidence) not in articles[int(r.article)]
    ]
    assert not missing, "\n".join(missing)


def test_summaries_are_our_own_words(events, articles):
    # A summary that shares a run of 10 words with the page was copied, not written.
    copied = []
    for r in events.itertuples():
        words = squash(r.summary).split()
        for i in range(len(words) - 9):
            if " ".join(words[i : i + 10]) in articles[int(r.article)]:
                copied.append(r.event_id)
                break
    assert not copied, copied


def test_inferred_rows_say_how(events):
    inferred = events[events["date_inferred"]]
    assert (inferred["date_inference_note"].str.len() > 10).all()


def test_points_only_where_a_place_is_named(events, real_ref):
    has_point = events["lat"].notna()
    assert (events.loc[has_point, "place"] != "").all()
    gazetteer = real_ref.places.set_index("place")
    for r in events[has_point].itertuples():
        assert (r.lat, r.lon) == (gazetteer.loc[r.place, "lat"], gazetteer.loc[r.place, "lon"]), r.event_id


@pytest.mark.parametrize(
    ("event_id_part", "value", "unit"),
    [("2007-russia-singapore-trade", 1.9e9, "USD"), ("2017-russia-singapore-trade", 7.4e9, "USD")],
)
def test_stated_figures(events, event_id_part, value, unit):
    rows = events[events["event_id"].str.startswith(event_id_part)]
    assert len(rows) == 1
    assert rows.iloc[0]["value"] == value and rows.iloc[0]["unit"] == unit


def test_no_exact_day_where_the_text_gives_a_month(events):
    # The sideline meetings in Singapore: the text gives the visit's days, not the meetings'.
    sidelines = events[events["title"].str.contains("side-line|sideline", case=False, regex=True)]
    assert len(sidelines) == 6
    assert not pd.Series(sidelines["date_start"]).str.fullmatch(r"\d{4}-\d{2}-\d{2}").any()
