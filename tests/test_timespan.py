"""Time spans: the years events cover, the presets, play steps, and the timeline's opening window."""

from __future__ import annotations

import pytest

from dashboard.filters import FilterState
from dashboard.timespan import (
    Playback,
    densest_window,
    opening_window,
    presets,
    step_years,
    year_counts,
    years_present,
)
from tests.conftest import enriched, row


def spans(ref):
    """A year-precision event, a month-precision one, a day range, a 2003-2008 span, and an undated row."""
    return enriched(
        [
            row(event_id="year", date_start="2010", date_end=""),
            row(event_id="month", date_start="2018-11", date_end=""),
            row(event_id="days", date_start="2018-11-13", date_end="2018-11-15"),
            row(event_id="span", date_start="2003", date_end="2008"),
            row(event_id="undated", date_start="", date_end=""),
        ],
        ref,
    )


def test_year_counts_count_start_years_of_dated_events(tiny_ref):
    assert year_counts(spans(tiny_ref)) == {2003: 1, 2010: 1, 2018: 2}


def test_years_present_expands_each_span(tiny_ref):
    assert years_present(spans(tiny_ref)) == (2003, 2004, 2005, 2006, 2007, 2008, 2010, 2018)
    assert years_present(spans(tiny_ref).iloc[0:0]) == ()


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # Only that year: the span event is present in each year it covers, and in no other.
        (
            "year",
            {
                2003: {"span"},
                2004: {"span"},
                2005: {"span"},
                2006: {"span"},
                2007: {"span"},
                2008: {"span"},
                2010: {"year"},
                2018: {"month", "days"},
            },
        ),
        # Up to that year: everything from the start of the range.
        (
            "upto",
            {
                2003: {"span"},
                2008: {"span"},
                2010: {"span", "year"},
                2018: {"span", "year", "month", "days"},
            },
        ),
    ],
)
def test_each_play_step_shows_the_events_its_years_cover(tiny_ref, mode, expected):
    events = spans(tiny_ref)
    playback = Playback.over(years_present(events), 2000, 2020, mode)
    shown = {}
    while True:
        playback = playback.moved(1)
        rows = FilterState(years=playback.years()).apply(events)
        shown[playback.year] = set(rows["event_id"])
        if playback.at_end:
            break
    assert list(shown) == [2003, 2004, 2005, 2006, 2007, 2008, 2010, 2018]
    for year, ids in expected.items():
        assert shown[year] == ids, year
    # The undated row is never shown by a years filter.
    assert all("undated" not in ids for ids in shown.values())


@pytest.mark.parametrize(
    ("counts", "share", "window"),
    [
        ({}, 0.8, None),
        ({2018: 5}, 0.8, (2018, 2018)),
        ({1904: 1, 2010: 2, 2018: 4, 2019: 3}, 0.8, (2010, 2019)),
        ({1904: 1, 2010: 2, 2018: 4, 2019: 3}, 0.7, (2018, 2019)),
        # Ties go to the later window.
        ({2000: 2, 2001: 2, 2010: 2, 2011: 2}, 0.5, (2010, 2011)),
        # The real table: 86 dated events, 77 of them from 2010 on.
        (
            {1904: 1, 1917: 1, 1968: 1, 1991: 1, 1993: 1, 1996: 1, 2003: 1, 2005: 3, 2007: 2, 2010: 7}
            | {2011: 1, 2012: 2, 2013: 1, 2014: 3, 2015: 1, 2016: 4, 2017: 5, 2018: 30, 2019: 20},
            0.8,
            (2010, 2019),
        ),
    ],
)
def test_densest_window(counts, share, window):
    assert densest_window(counts, share) == window


def test_a_short_span_opens_whole():
    assert opening_window({2010: 1, 2019: 9}) == (2010, 2019)
    assert opening_window({1904: 1, 2018: 5, 2019: 4}) == (2018, 2019)
    assert opening_window({}) is None


@pytest.mark.parametrize(
    ("counts", "lo", "hi", "expected"),
    [
        (
            {1904: 1, 1991: 1, 2005: 1, 2010: 5, 2017: 5, 2018: 30, 2019: 20},
            1904,
            2020,
            {
                "All": (1904, 2020),
                "Before 2010": (1904, 2009),
                "2010s": (2010, 2019),
                "2018": (2018, 2018),
                "2019": (2019, 2019),
            },
        ),
        # One busy year in its own decade: the decade is offered, and what lies before it.
        (
            {1990: 1, 2018: 19},
            1990,
            2018,
            {"All": (1990, 2018), "Before 2010": (1990, 2009), "2010s": (2010, 2018), "2018": (2018, 2018)},
        ),
        # Nothing stands out: just "All".
        ({y: 1 for y in range(1900, 2000, 5)}, 1900, 1995, {"All": (1900, 1995)}),
        ({}, 2000, 2010, {"All": (2000, 2010)}),
    ],
)
def test_presets(counts, lo, hi, expected):
    assert presets(counts, lo, hi) == expected


def test_step_years():
    assert step_years("year", 2000, 2005) == (2005, 2005)
    assert step_years("upto", 2000, 2005) == (2000, 2005)
    with pytest.raises(ValueError, match="'sideways' is not one of year, upto"):
        step_years("sideways", 2000, 2005)


def test_playback_starts_steps_and_stops_at_the_end():
    playback = Playback.over((1904, 2010, 2018, 2019), 2000, 2020)
    assert playback.steps == (2010, 2018, 2019) and playback.year is None and playback.years() is None
    playing = playback.playing_from_here()
    assert (playing.year, playing.playing) == (2010, True)
    playing = playing.moved(1)
    assert (playing.years(), playing.playing) == ((2018, 2018), True)
    last = playing.moved(1)
    assert (last.year, last.playing, last.at_end) == (2019, False, True)
    assert last.moved(5).year == 2019 and last.moved(-9).year == 2010
    # Play again from the end starts over.
    assert playing.paused().playing_from_here().year == 2019
    assert last.playing_from_here().year == 2010
    assert last.with_mode("upto").years() == (2000, 2019)


def test_playback_steps_through_what_the_filters_keep_now():
    playback = Playback.over((2003, 2010, 2018, 2019), 2000, 2020).moved(2)  # at 2018
    assert playback.restepped((2003, 2019)).year == 2003  # 2018 gone: the step before it
    assert playback.restepped((2003, 2019)).playing_from_here().year == 2019
    assert playback.restepped((2019,)).index == -1
    assert playback.restepped((1990,)) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": ()}, "at least one year"),
        ({"steps": (2018,), "index": 1}, "step 1 is outside 0-0"),
        ({"steps": (2018,), "mode": "all"}, "play mode 'all'"),
    ],
)
def test_playback_checks_its_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Playback(start=2000, end=2020, **kwargs)


def test_no_present_year_no_playback():
    assert Playback.over((1904,), 2000, 2020) is None
