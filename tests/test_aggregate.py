"""Aggregation: the tables behind the maps, and the look-ups behind a click."""

from __future__ import annotations

import pytest

from dashboard.aggregate import (
    MAX_TOOLTIP_LINES,
    country_counts,
    events_at_place,
    events_for_marker,
    events_in_cell,
    events_on_arc,
    events_with_country,
    figure_text,
    flow_table,
    kinds_text,
    marker_table,
    place_table,
    top_kind,
)
from tests.conftest import enriched, figure_row, row


@pytest.fixture
def frame(tiny_ref):
    return enriched(
        [
            row(event_id="s1"),
            row(event_id="s2", category="meeting", participants="RUS;SGP", organisations=""),
            figure_row("t1", "2007", "1900000000", "USD"),
            figure_row("t2", "2017", "7400000000", "USD"),
            figure_row("a1", "2017", "35", "percent", participants="RUS", organisations="ASEAN"),
            row(
                event_id="p1",
                title="Talks",
                category="meeting",
                place="Pyongyang",
                country_iso3="PRK",
                lat="39.03",
                lon="125.75",
                participants="PRK;RUS",
                organisations="",
                date_start="2019-04-25",
                date_end="",
                date_inferred="true",
                date_inference_note="year from context",
            ),
        ],
        tiny_ref,
    )


def test_place_table_counts_every_kind_and_colours_by_the_highest_ranking(frame):
    table = place_table(frame)
    assert table[["place", "count", "category"]].values.tolist() == [
        ["Singapore", 2, "summit"],
        ["Pyongyang", 1, "meeting"],
    ]
    assert table.iloc[0]["kinds"] == {"summit": 1, "meeting": 1}
    assert "Kinds: summit 1, meeting 1" in table.iloc[0]["tooltip"]
    assert "2019-04-25 (date inferred): Talks" in table.iloc[1]["tooltip"]


@pytest.mark.parametrize(
    ("kinds", "top", "text"),
    [
        ({"meeting": 7, "summit": 2}, "summit", "summit 2, meeting 7"),
        ({"trade": 1, "forum": 3}, "forum", "forum 3, trade 1"),
        ({}, "", ""),
    ],
)
def test_kinds_rank_by_the_vocabulary_not_by_count(kinds, top, text):
    assert top_kind(kinds) == top
    assert kinds_text(kinds) == text


def test_tooltips_stay_short_and_point_to_the_list(tiny_ref):
    rows = [row(event_id=f"e{i}", title=f"Meeting {i}") for i in range(MAX_TOOLTIP_LINES + 4)]
    tooltip = place_table(enriched(rows, tiny_ref)).iloc[0]["tooltip"]
    assert tooltip.count("• ") == MAX_TOOLTIP_LINES
    assert tooltip.endswith("… and 4 more: click the marker for the list")


@pytest.mark.parametrize(
    ("title", "value", "unit", "text"),
    [
        (
            "Russia–Singapore trade: USD 1.9 billion (2007)",
            1.9e9,
            "USD",
            "Russia–Singapore trade: USD 1.9 billion (2007)",
        ),
        ("Russia–Singapore trade", 1.9e9, "USD", "Russia–Singapore trade: USD 1.9 billion"),
        (
            "690 Russian companies operating in Singapore",
            690,
            "companies",
            "690 Russian companies operating in Singapore: 690 companies",
        ),
        ("Share of trade", float("nan"), "", "Share of trade"),
    ],
)
def test_a_figure_is_said_once(title, value, unit, text):
    assert figure_text(title, value, unit) == text


def test_flow_tooltips_never_repeat_a_value(tiny_ref):
    rows = [
        figure_row("t1", "2007", "1900000000", "USD", title="Russia–Singapore trade: USD 1.9 billion (2007)")
    ]
    (tooltip,) = flow_table(enriched(rows, tiny_ref), tiny_ref)["tooltip"]
    assert tooltip.count("USD 1.9 billion") == 1, tooltip


def test_country_counts_leave_russia_out(frame):
    assert country_counts(frame).to_dict() == {"PRK": 1, "SGP": 5}


def test_flow_table_sends_organisation_figures_to_the_seat_whole(frame, tiny_ref):
    flows = flow_table(frame, tiny_ref).set_index(["kind", "target"])
    assert flows.loc[("figure", "ASEAN"), "aggregate"]
    assert "organisation-level aggregate" in flows.loc[("figure", "ASEAN"), "tooltip"]
    assert (flows.loc[("figure", "ASEAN"), ["target_lon", "target_lat"]].tolist()) == [103.85, 1.29]
    assert flows.loc[("figure", "SGP"), "usd"] == 7.4e9  # the latest USD figure sets the width
    assert flows.loc[("figure", "SGP"), "count"] == 2
    assert flows.loc[("tie", "PRK"), "count"] == 1
    assert not flows.index.get_level_values("target").isin(["RUS", "REC"]).any()


def test_picked_objects_resolve_to_their_events(frame, tiny_ref):
    assert sorted(events_at_place(frame, "Singapore", [103.85, 1.29])["event_id"]) == ["s1", "s2"]
    assert sorted(events_at_place(frame, "Singapore")["event_id"]) == ["s1", "s2"]
    assert events_at_place(frame, "Singapore", [0, 0]).empty
    assert sorted(events_on_arc(frame, "figure", "SGP")["event_id"]) == ["t1", "t2"]
    assert list(events_on_arc(frame, "figure", "ASEAN")["event_id"]) == ["a1"]
    assert list(events_on_arc(frame, "tie", "PRK")["event_id"]) == ["p1"]


def test_a_merged_marker_finds_the_events_of_every_place_it_stands_for(frame, tiny_ref):
    members = [
        {"place": "Singapore", "position": [103.85, 1.29]},
        {"place": "Pyongyang", "position": [125.75, 39.03]},
    ]
    assert sorted(events_for_marker(frame, members)["event_id"]) == ["p1", "s1", "s2"]
    # What the browser sends back is untrusted: odd members are skipped, not fatal.
    odd = [{"place": "Singapore", "position": ["x", None]}, "text", {"nothing": 1}, {"cell": "bad"}]
    assert events_for_marker(frame, odd).empty
    assert events_for_marker(frame, None).empty


def test_marker_table_keeps_places_when_they_are_few(frame):
    places = place_table(frame)
    markers = marker_table(places)
    assert markers["place"].tolist() == places["place"].tolist()
    assert (markers["cell"] == "").all()


def test_marker_table_groups_places_into_cells_beyond_the_cap(tiny_ref):
    rows = [
        row(event_id="a", place="Singapore", lat="1.29", lon="103.85"),
        row(event_id="b", place="Singapore", lat="1.29", lon="103.85"),
        row(event_id="c", place="Jurong", lat="1.33", lon="103.72"),
        row(event_id="p", place="Pyongyang", country_iso3="PRK", lat="39.03", lon="125.75"),
    ]
    frame = enriched(rows, tiny_ref)
    markers = marker_table(place_table(frame), max_markers=2)
    assert markers[["place", "count", "places"]].values.tolist() == [["Singapore", 3, 2], ["Pyongyang", 1, 1]]
    cell = markers.iloc[0]["cell"]
    assert cell.startswith("0.5:")
    assert "Around Singapore: 3 events at 2 places" in markers.iloc[0]["tooltip"]
    assert sorted(events_in_cell(frame, cell)["event_id"]) == ["a", "b", "c"]
    assert events_in_cell(frame, "nonsense").empty


def test_a_country_click_finds_what_the_filter_and_the_choropleth_count(tiny_ref):
    # `RUS; PRK` (a space after the separator) is valid: every reader must see PRK in it.
    frame = enriched(
        [row(event_id="k1", participants="RUS; PRK", place="", lat="", lon="", country_iso3="RUS")], tiny_ref
    )
    assert frame["participants"].tolist() == ["RUS;PRK"]
    assert list(events_with_country(frame, ["PRK"])["event_id"]) == ["k1"]
    assert int(country_counts(frame)["PRK"]) == 1
