"""FilterState: URL parsing (untrusted), round trip, applying to rows, and the caption sentence."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dashboard.filters import PARAMS, FilterState, Vocabulary
from dashboard.search import query_words
from tests.conftest import enriched, row

VOCAB = Vocabulary(
    organisations=frozenset({"ASEAN", "BRICS", "ADMM-Plus"}),
    countries=frozenset({"RUS", "SGP", "PRK", "ZAF"}),
    articles=frozenset({1, 2, 3, 4}),
    event_ids=frozenset({"a", "b"}),
    member_orgs=frozenset({"ASEAN", "BRICS"}),
    year_min=1996,
    year_max=2019,
)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, FilterState()),
        ({"view": "flows"}, FilterState(view="flows")),
        ({"years": "2010-2019"}, FilterState(years=(2010, 2019))),
        ({"years": "2018"}, FilterState(years=(2018, 2018))),
        ({"years": "2019-2010"}, FilterState(years=(2010, 2019))),
        ({"years": "1900-2100"}, FilterState(years=(1996, 2019))),
        ({"category": "summit,meeting"}, FilterState(categories=("summit", "meeting"))),
        ({"category": "meeting,summit"}, FilterState(categories=("summit", "meeting"))),
        ({"category": ["summit", "meeting"]}, FilterState(categories=("summit", "meeting"))),
        ({"org": "asean,EAS"}, FilterState(orgs=("ASEAN",))),
        ({"org": "admm-plus"}, FilterState(orgs=("ADMM-Plus",))),
        ({"country": "sgp,PRK"}, FilterState(countries=("SGP", "PRK"))),
        ({"article": "4,1"}, FilterState(articles=(1, 4))),
        ({"q": "  Vladivostok "}, FilterState(q="Vladivostok")),
        ({"event": "a"}, FilterState(event="a")),
        ({"members": "brics"}, FilterState(members="BRICS")),
        ({"stated": "1"}, FilterState(stated=True)),
        ({"stated": "0"}, FilterState()),
    ],
)
def test_from_query_params(params, expected):
    state, _ = FilterState.from_query_params(params, VOCAB)
    assert state == expected


@pytest.mark.parametrize(
    ("params", "notice"),
    [
        ({"view": "globe"}, "view: 'globe' is not one of"),
        ({"years": "recent"}, "years: 'recent' is not a year"),
        ({"years": "1800-1850"}, "lies outside the data"),
        ({"category": "summit,party"}, "category: 'party' is not a known category"),
        ({"org": "NATO"}, "org: 'NATO' is not a known organisation"),
        ({"country": "XXX"}, "country: 'XXX' is not a known country code"),
        ({"article": "7"}, "article: '7' is not a known article"),
        ({"event": "nope"}, "event: 'nope' is not a known event id"),
        ({"members": "UN"}, "members: 'UN' has no member list"),
        ({"q": "x" * 500}, "q: search text cut to 200 characters"),
        ({"stated": "perhaps"}, "stated: 'perhaps' is not 1 or 0"),
        # A control in the value shows as a mark: the notice never reads "'flows' is not a view".
        ({"view": "\u202eflows"}, "view: '⟨U+202E⟩flows' is not one of"),
        ({"view": "flows\x00\x01"}, "view: 'flows⟨U+0000⟩⟨U+0001⟩' is not one of"),
        ({"category": "\u2066meeting"}, "category: '⟨U+2066⟩meeting' is not a known category"),
        # Every invisible character shows the same way, not some as marks and some as escapes.
        ({"view": "flows\u200b"}, "view: 'flows⟨U+200B⟩' is not one of"),
        ({"view": "\ufeffflows"}, "view: '⟨U+FEFF⟩flows' is not one of"),
        ({"view": "a\x9bflows"}, "view: 'a⟨U+009B⟩flows' is not one of"),
        ({"view": "flo\u00adws"}, "view: 'flo⟨U+00AD⟩ws' is not one of"),
        ({"view": "flows\u2060x"}, "view: 'flows⟨U+2060⟩x' is not one of"),
        ({"view": "a\u2028b"}, "view: 'a⟨U+2028⟩b' is not one of"),
        ({"view": "\ud800flows"}, "view: '\ufffdflows' is not one of"),
    ],
)
def test_invalid_values_are_ignored_with_a_notice_naming_them(params, notice):
    state, notices = FilterState.from_query_params(params, VOCAB)
    assert any(notice in n for n in notices), notices
    key = next(iter(params))
    if key != "q":
        assert state.to_query_params().get(key) in (None, "summit"), state


def test_valid_values_survive_beside_invalid_ones():
    state, notices = FilterState.from_query_params({"country": "SGP,XXX,PRK"}, VOCAB)
    assert state.countries == ("SGP", "PRK")
    assert len(notices) == 1


def test_to_query_params_leaves_defaults_out():
    assert FilterState().to_query_params() == {}
    state = FilterState(
        view="partnerships",
        years=(2010, 2019),
        categories=("summit", "meeting"),
        orgs=("ASEAN",),
        countries=("SGP", "PRK"),
        articles=(1, 4),
        q="a b",
        members="ASEAN",
    )
    assert state.to_query_params() == {
        "view": "partnerships",
        "years": "2010-2019",
        "category": "summit,meeting",
        "org": "ASEAN",
        "country": "SGP,PRK",
        "article": "1,4",
        "q": "a b",
        "members": "ASEAN",
    }


text = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
param_maps = st.dictionaries(
    st.sampled_from([*PARAMS, "other"]),
    st.one_of(text, st.lists(text, max_size=3)),
    max_size=6,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(param_maps)
@example({"article": "¹"})  # str.isdigit() is true for it, int() is not
@example({"years": "٢٠١٨", "article": "٣"})  # other scripts' digits
def test_any_parameter_map_parses_without_raising_and_round_trips(params):
    state, notices = FilterState.from_query_params(params, VOCAB)
    assert isinstance(notices, tuple)
    again, more = FilterState.from_query_params(state.to_query_params(), VOCAB)
    assert again == state
    assert more == ()


valid_states = st.builds(
    FilterState,
    view=st.sampled_from(["summits", "partnerships", "flows"]),
    years=st.one_of(
        st.none(), st.tuples(st.integers(1996, 2019), st.integers(1996, 2019)).map(lambda t: tuple(sorted(t)))
    ),
    categories=st.lists(st.sampled_from(["summit", "meeting", "trade"]), unique=True).map(
        lambda cs: tuple(c for c in ("summit", "meeting", "trade") if c in cs)
    ),
    orgs=st.lists(st.sampled_from(sorted(VOCAB.organisations)), unique=True).map(tuple),
    countries=st.lists(st.sampled_from(sorted(VOCAB.countries)), unique=True).map(tuple),
    articles=st.lists(st.sampled_from([1, 2, 3, 4]), unique=True).map(lambda a: tuple(sorted(a))),
    # A valid query holds a word (punctuation alone is dropped with a notice).
    q=st.text(alphabet="abc xyz,é–“", max_size=20).map(
        lambda s: " ".join(s.split()) if query_words(s) else ""
    ),
    stated=st.booleans(),
    event=st.sampled_from(["", "a", "b"]),
    members=st.sampled_from(["", "ASEAN", "BRICS"]),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(valid_states)
def test_valid_states_round_trip_exactly(state):
    parsed, notices = FilterState.from_query_params(state.to_query_params(), VOCAB)
    assert parsed == state and notices == ()


@pytest.fixture
def frame(tiny_ref):
    return enriched(
        [
            row(event_id="sgp", date_start="2018-11-13", date_end="2018-11-15"),
            row(
                event_id="prk",
                title="Talks in Pyongyang",
                place="Pyongyang",
                country_iso3="PRK",
                lat="39.03",
                lon="125.75",
                participants="PRK;RUS",
                organisations="",
                date_start="2003",
                date_end="2008",
                category="meeting",
                article="4",
                evidence="talks",
            ),
            row(
                event_id="zaf",
                date_inferred="true",
                date_inference_note="month from context",
                title="BRICS summit",
                place="Johannesburg",
                country_iso3="ZAF",
                lat="-26.2",
                lon="28.04",
                participants="RUS",
                organisations="BRICS",
                date_start="2018-07",
                date_end="",
                summary="Initiative on Africa",
                article="3",
            ),
            row(
                event_id="undated",
                date_start="",
                date_end="",
                place="",
                lat="",
                lon="",
                article="4",
                category="project",
                organisations="",
            ),
        ],
        tiny_ref,
    )


@pytest.mark.parametrize(
    ("state", "ids"),
    [
        (FilterState(), ["prk", "zaf", "sgp", "undated"]),
        (FilterState(years=(2005, 2005)), ["prk"]),
        (FilterState(years=(2018, 2019)), ["zaf", "sgp"]),
        (FilterState(categories=("meeting",)), ["prk"]),
        (FilterState(orgs=("BRICS",)), ["zaf"]),
        (FilterState(orgs=("ASEAN", "BRICS")), ["zaf", "sgp"]),
        (FilterState(countries=("PRK",)), ["prk"]),
        (FilterState(countries=("RUS",)), ["prk", "zaf", "sgp", "undated"]),
        (FilterState(countries=("ZAF",)), ["zaf"]),
        (FilterState(articles=(3, 4)), ["prk", "zaf", "undated"]),
        (FilterState(q="AFRICA"), ["zaf"]),
        (FilterState(q="pyongyang"), ["prk"]),
        (FilterState(q="nothing matches"), []),
        (FilterState(stated=True), ["prk", "sgp", "undated"]),
        (FilterState(stated=True, countries=("ZAF",)), []),
        # Search as people type: case, dashes and quotes are equal; all words, any order.
        (FilterState(q="talks-in PYONGYANG"), ["prk"]),
        (FilterState(q="“Talks” – Pyongyang"), ["prk"]),
        (FilterState(q="pyongyang talks"), ["prk"]),
        (FilterState(q="talks johannesburg"), []),
        # Countries by code, name and alias, though the text names them otherwise.
        (FilterState(q="DPRK"), ["prk"]),
        (FilterState(q="north korea"), ["prk"]),
        (FilterState(q="South Africa brics"), ["zaf"]),
        # A word matches where a word starts, not inside one ("us" is not in "discuss").
        (FilterState(q="alks"), []),
    ],
)
def test_apply(frame, state, ids):
    before = frame.copy()
    assert list(state.apply(frame)["event_id"]) == ids
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize(
    ("state", "sentence"),
    [
        (FilterState(), "All events."),
        (FilterState(categories=("summit", "meeting")), "Summit and meeting events."),
        (
            FilterState(years=(2018, 2018), countries=("SGP", "PRK")),
            "All events in 2018 involving Singapore or North Korea.",
        ),
        (
            FilterState(years=(2010, 2019), orgs=("ASEAN",), articles=(1,), q="trade"),
            "All events from 2010 to 2019 linked to ASEAN from article 1 mentioning “trade”.",
        ),
    ],
)
def test_describe(state, sentence):
    assert state.describe({"SGP": "Singapore", "PRK": "North Korea"}) == sentence


def test_thousands_of_bad_values_give_one_notice_naming_a_few():
    raw = ",".join(f"X{i:02d}" for i in range(2000)) + ",SGP"
    state, notices = FilterState.from_query_params({"country": raw, "category": "a,b"}, VOCAB)
    assert state.countries == ("SGP",)
    assert notices == (
        "category: 2 values are not a known category: 'a', 'b'",
        "country: 2,000 values are not a known country code: 'X00', 'X01', 'X02' and 1,997 more",
    )


def test_years_before_1000_round_trip():
    vocab = Vocabulary(year_min=800, year_max=2019)
    state, notices = FilterState.from_query_params({"years": "0800-0950"}, vocab)
    assert state.years == (800, 950) and notices == ()
    assert state.to_query_params() == {"years": "0800-0950"}
    assert FilterState.from_query_params(state.to_query_params(), vocab)[0] == state


def test_stated_reads_in_the_caption_and_the_url():
    state = FilterState(stated=True)
    assert state.to_query_params() == {"stated": "1"}
    assert state.describe() == "All events with date and place as stated (nothing inferred)."


def test_a_reversed_range_is_read_the_right_way_round_and_says_so():
    state, notices = FilterState.from_query_params({"years": "2019-2010"}, VOCAB)
    assert state.years == (2010, 2019)
    assert notices == ("years: '2019-2010' read as 2010-2019",)


@pytest.mark.parametrize(
    ("raw", "q"),
    [
        ("\u202eabc", "abc"),  # right-to-left override: would reverse the caption after it
        ("a\u2066b\u2069c", "a b c"),  # isolates
        ("\u200fsummit\u200e", "summit"),  # marks
        ("x\udcffy", "x\ufffdy"),  # an undecodable command-line byte: UTF-8 writers refuse it
    ],
)
def test_search_text_loses_bidi_controls_and_lone_surrogates(raw, q):
    state, _ = FilterState.from_query_params({"q": raw}, VOCAB)
    assert state.q == q
    state.describe().encode("utf-8")
    assert FilterState.from_query_params(state.to_query_params(), VOCAB)[0] == state


@pytest.mark.parametrize(
    ("raw", "notice"),
    [
        ("XXX,XXX,XXX", "country: 'XXX' is not a known country code"),
        ("XXX,YYY,xxx,XXX", "country: 3 values are not a known country code: 'XXX', 'YYY', 'xxx'"),
    ],
)
def test_a_bad_value_repeated_is_named_once(raw, notice):
    assert FilterState.from_query_params({"country": raw}, VOCAB)[1] == (notice,)


@pytest.mark.parametrize(
    ("params", "state", "notices"),
    [
        ({"q": "!!!"}, FilterState(), ("q: '!!!' has no word to search for",)),
        (
            {"years": "1990-2000"},
            FilterState(years=(1996, 2000)),
            ("years: 1990-2000 read as 1996-2000, the years the data covers",),
        ),
    ],
)
def test_values_the_data_cannot_honour_say_so(params, state, notices):
    assert FilterState.from_query_params(params, VOCAB) == (state, notices)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("istanbul", "İstanbul summit"),
        ("ıstanbul", "İstanbul summit"),
        ("cafe", "Café talks"),
        ("modi", "मोदी Modi"),
    ],
)
def test_search_folds_accents_and_dotted_letters(query, text):
    from dashboard.search import matches, normalise

    texts = pd.Series([" " + normalise(text) + " "])
    assert matches(texts, query).tolist() == [True]


@pytest.mark.parametrize(
    "control", [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))], ids=lambda c: f"U+{ord(c):04X}"
)
def test_every_c0_and_c1_control_in_a_refused_value_shows_as_a_mark(control):
    _state, (notice,) = FilterState.from_query_params({"view": f"a{control}b"}, VOCAB)
    assert f"'a⟨U+{ord(control):04X}⟩b' is not one of" in notice


@pytest.mark.parametrize("at", range(34, 42))
def test_the_cut_of_a_long_refused_value_never_splits_a_mark(at):
    """A value is cut to 40 characters: the cut counts the value's own characters, so a control
    near it shows as a whole mark or not at all, never as a broken '⟨U+0…'."""
    value = "a" * at + "\u202e" + "b" * 20
    _state, (notice,) = FilterState.from_query_params({"view": value}, VOCAB)
    quoted = notice.split("'")[1]
    assert quoted.endswith("…") and quoted.count("⟨") == quoted.count("⟩") == quoted.count("⟨U+202E⟩")
    assert len(quoted.replace("⟨U+202E⟩", "!")) == 40
