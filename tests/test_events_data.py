"""The shipped data: it validates clean, every evidence phrase is in its article, verbatim, and
the conventions of docs/data-notes.md hold (ids, the two inference flags, countries, counts).

The source page is read from ../shared/seeds/ (override with SUMMIT_ATLAS_SEEDS=folder).
"""

from __future__ import annotations

import hashlib

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


def _page_path():
    pages = sorted(SEED_DIR.glob("*.txt")) if SEED_DIR.exists() else []
    if not pages:
        pytest.skip(f"source page not found in {SEED_DIR} (set SUMMIT_ATLAS_SEEDS)")
    return pages[0]


@pytest.fixture(scope="module")
def articles(sources):
    text = _page_path().read_text(encoding="utf-8")
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


def test_rows_per_article_match_the_data_notes(events):
    # docs/data-notes.md states these counts; change both together.
    assert events["article"].value_counts().sort_index().to_dict() == {1: 64, 2: 5, 3: 17, 4: 17}


def test_ids_start_with_the_date(events):
    wrong = [
        r.event_id
        for r in events.itertuples()
        if not r.event_id.startswith(f"{r.date_start}-" if r.date_start else "undated-")
    ]
    assert not wrong, wrong


def test_sources_fingerprint_the_page(sources):
    page = _page_path()
    assert sources["page_sha256"].nunique() == 1 and sources["page_title"].nunique() == 1
    assert hashlib.sha256(page.read_bytes()).hexdigest() == sources["page_sha256"].iloc[0]
    assert sources["page_title"].iloc[0] in page.read_text(encoding="utf-8").splitlines()


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


@pytest.mark.parametrize(
    ("flag", "note"), [("date_inferred", "date_inference_note"), ("place_inferred", "place_inference_note")]
)
def test_inferred_rows_say_how_and_only_they_have_notes(events, flag, note):
    assert (events.loc[events[flag], note].str.len() > 10).all()
    assert (events.loc[~events[flag], note] == "").all()


def test_undated_rows_are_not_date_inferred_and_placeless_rows_not_place_inferred(events):
    assert not events.loc[events["date_start"] == "", "date_inferred"].any()
    assert not events.loc[events["place"] == "", "place_inferred"].any()


def test_a_named_place_without_a_point_is_flagged(events):
    # Only Panmunjom: named by the text, absent from the gazetteer (geodata/README.md).
    pointless = events[(events["place"] != "") & events["lat"].isna()]
    assert pointless["place"].tolist() == ["Panmunjom"]
    assert pointless["place_inferred"].all()


def test_rows_without_a_country_are_the_six_organisation_rows(events):
    assert sorted(events.loc[events["country_iso3"] == "", "event_id"]) == [
        "1993-apec-summit-inception",
        "2005-arf-27-participants",
        "2005-east-asia-summit-created",
        "2012-asean-summit-without-communique",
        "2019-afreximbank-annual-shareholders-meeting",
        "undated-apec-bogor-goals",
    ]


def test_participants_are_sorted_codes(events):
    for r in events.itertuples():
        codes = r.participants.split(";") if r.participants else []
        assert codes == sorted(set(codes)), r.event_id


@pytest.mark.parametrize(
    ("event_id", "date_start", "participants"),
    [
        # Target years and reporting years are not dates; planned events are rows.
        ("undated-apec-bogor-goals", "", ""),
        ("undated-russia-vietnam-military-technical-cooperation", "", "RUS;VNM"),
        ("undated-russia-korea-railway-link", "", "KOR;PRK;RUS"),
        ("undated-third-us-north-korea-summit", "", "PRK;USA"),
        ("undated-russian-chinese-phased-plan", "", "CHN;RUS"),
        # The text names Russian, Ukrainian, Georgian "and other" circles.
        ("1991-collapse-of-soviet-union", "1991", "GEO;RUS;UKR"),
        # The anniversary events get the visit's month, like the side-line meetings.
        ("2018-11-singapore-russia-singapore-50th-anniversary", "2018-11", "RUS;SGP"),
    ],
)
def test_rows_fixed_in_the_second_pass(events, event_id, date_start, participants):
    row = events.set_index("event_id").loc[event_id]
    assert (row["date_start"], row["participants"]) == (date_start, participants)


def test_only_mentioned_bodies_are_not_tagged(events):
    row = events.set_index("event_id").loc["2018-11-port-moresby-apec-abridged-declaration"]
    assert row["organisations"] == "APEC"


def test_points_only_where_a_place_is_named(events, real_ref):
    has_point = events["lat"].notna()
    assert (events.loc[has_point, "place"] != "").all()
    gazetteer = real_ref.places.set_index("place")
    for r in events[has_point].itertuples():
        expected = tuple(gazetteer.loc[r.place, ["lat", "lon", "country_iso3"]])
        assert (r.lat, r.lon, r.country_iso3) == expected, r.event_id


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
