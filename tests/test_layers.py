"""Layers: fixed layer ids, decks against golden JSON, and what the opening view shows.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended change, then review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dashboard.aggregate import MAX_MARKERS
from dashboard.dataset import load_dataset
from dashboard.filters import FilterState
from dashboard.layers import (
    FIT_WIDTH,
    LAND_TINTS,
    MAP_HEIGHT,
    MAP_WIDTH,
    MIN_ZOOM,
    SHADE_STEPS,
    SIZE_SCALE,
    arc_width,
    build_deck,
    build_deck_and_overlay,
    chart_size,
    count_bin,
    country_boxes,
    drawn_points,
    marker_radius,
    min_zoom,
    neighbour_classes,
    opening_view,
    shaded_countries,
    tint,
    whole_width,
)
from dashboard.schema import CATEGORY_COLOURS
from dashboard.viewport import overlaps, project, screen_shapes
from tests.conftest import enriched, figure_row, row

GOLDEN = Path(__file__).parent / "golden"
VIEWS = ("summits", "partnerships", "flows")


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


@pytest.fixture(scope="module")
def shipped():
    return load_dataset()


def spec_of(deck) -> dict:
    return json.loads(deck.to_json())


@pytest.mark.parametrize(("count", "index"), [(1, 0), (2, 1), (3, 1), (4, 2), (15, 3), (16, 4), (500, 4)])
def test_count_bins(count, index):
    assert count_bin(count) == index


@pytest.mark.parametrize(
    ("view", "members", "ids"),
    [
        ("summits", "", ["countries", "places", "place-labels"]),
        ("partnerships", "", ["countries"]),
        ("partnerships", "BRICS", ["countries"]),
        ("flows", "", ["countries", "arcs", "arc-labels"]),
    ],
)
def test_deck_matches_golden_json(frame, tiny_ref, view, members, ids):
    deck, legend = build_deck(view, frame, tiny_ref, members=members)
    spec = spec_of(deck)
    assert [layer["id"] for layer in spec["layers"]] == ids
    assert legend
    assert "mapProvider" not in spec or spec["mapProvider"] in (None, "")
    golden = GOLDEN / f"deck-{view}{'-' + members if members else ''}.json"
    text = json.dumps(spec, indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    # A missing golden file is a failure, not a pass: write it on purpose, then review it.
    assert golden.exists(), f"{golden.name} is missing: run with UPDATE_GOLDEN=1 and review the file"
    assert text == golden.read_text(encoding="utf-8")


def test_deck_json_is_compact_and_has_no_nan(frame, tiny_ref):
    deck, _ = build_deck("summits", frame, tiny_ref)
    raw = deck.to_json()
    assert "\n" not in raw and ": " not in raw.split('"tooltip"')[0][:200]
    assert "NaN" not in raw


@pytest.mark.parametrize("view", VIEWS)
def test_deck_for_empty_rows_still_draws_the_basemap(frame, tiny_ref, view):
    spec = spec_of(build_deck(view, frame.iloc[0:0], tiny_ref)[0])
    assert spec["layers"][0]["id"] == "countries"
    assert opening_view(spec).zoom == pytest.approx(1.25, abs=1e-4)  # the default view


def test_without_tiles_no_basemap_is_fetched(frame, tiny_ref):
    # A missing (or None) mapStyle makes Streamlit load CARTO's basemap: an outside request and
    # a second paint seconds later. pydeck's placeholder tells Streamlit there is none.
    spec = spec_of(build_deck("summits", frame, tiny_ref)[0])
    assert spec["mapStyle"] == "__MAP_STYLE__"
    assert spec["views"] == [{"@@type": "MapView", "controller": True, "repeat": True}]


def test_online_tiles_fetch_carto_and_thin_the_land(frame, tiny_ref):
    spec = spec_of(build_deck("summits", frame, tiny_ref, tiles=True)[0])
    assert spec["mapProvider"] == "carto" and "positron" in spec["mapStyle"]
    fills = {tuple(f["properties"]["fill"]) for f in spec["layers"][0]["data"]["features"]}
    assert all(fill[3] == 110 for fill in fills)


def test_tooltips_are_text_not_html_and_stay_in_the_map(frame, tiny_ref):
    deck, _ = build_deck("summits", frame, tiny_ref)
    assert deck._tooltip["text"] == "{tooltip}"
    assert "html" not in deck._tooltip
    style = deck._tooltip["style"]
    # deck.gl applies the style after its pointer transform: this pins the box inside the map.
    assert style["transform"] == "none" and style["bottom"] == "8px" and "maxWidth" in style


def test_unknown_view_is_named(frame, tiny_ref):
    with pytest.raises(ValueError, match="'globe'"):
        build_deck("globe", frame, tiny_ref)


@pytest.mark.parametrize("view", VIEWS)
def test_deck_sends_each_country_shape_once_without_border_lines(frame, tiny_ref, view):
    spec = spec_of(build_deck(view, frame, tiny_ref)[0])
    (countries,) = [layer for layer in spec["layers"] if layer["@@type"] == "GeoJsonLayer"]
    assert sorted(f["properties"]["iso3"] for f in countries["data"]["features"]) == [
        "PRK",
        "RUS",
        "SGP",
        "ZAF",
    ]
    # Border lines cost seconds a frame under software WebGL whenever the view moves.
    assert countries["stroked"] is False
    assert "event_ids" not in json.dumps(spec)


def test_touching_countries_get_different_tints(real_ref):
    classes = neighbour_classes(real_ref)
    assert set(classes) == set(real_ref.countries["iso3"])
    assert max(classes.values()) < len(LAND_TINTS) == len(SHADE_STEPS)
    for a, b in [
        ("RUS", "CHN"),
        ("MYS", "SGP"),
        ("MYS", "IDN"),
        ("VNM", "LAO"),
        ("USA", "CAN"),
        ("PRK", "KOR"),
    ]:
        assert classes[a] != classes[b], (a, b)


@pytest.mark.parametrize(
    ("colour", "step", "expected"),
    [((100, 100, 100), 0.1, (116, 116, 116)), ((100, 0, 50), -0.1, (90, 0, 45))],
)
def test_tint(colour, step, expected):
    assert tint(colour, step) == expected


def test_countries_are_pickable_except_under_the_arcs(frame, tiny_ref):
    for view, pickable in (("summits", True), ("partnerships", True), ("flows", False)):
        spec = spec_of(build_deck(view, frame, tiny_ref)[0])
        assert spec["layers"][0]["pickable"] is pickable, view


def test_deck_bytes_stay_bounded_with_many_places(tiny_ref):
    # 2,000 distinct places in Russia's box: markers are capped, so the deck stays small.
    rows = [
        row(
            event_id=f"e{i}",
            place=f"Town {i}",
            country_iso3="RUS",
            lat=f"{45 + (i % 40) * 0.7:.2f}",
            lon=f"{35 + (i // 40) * 2.8:.2f}",
            participants="RUS",
            organisations="",
        )
        for i in range(2000)
    ]
    frame = enriched(rows, tiny_ref)
    deck, legend = build_deck("summits", frame, tiny_ref)
    spec = spec_of(deck)
    markers = next(layer for layer in spec["layers"] if layer["id"] == "places")["data"]
    assert len(markers) <= MAX_MARKERS
    assert sum(m["count"] for m in markers) == 2000
    assert any("grid cells" in item.label for item in legend)
    # Crowded or not, the opening view has no marker inside another and no labels overlapping.
    assert overlaps(screen_shapes(spec, FIT_WIDTH, MAP_HEIGHT)) == []


@pytest.mark.parametrize("view", VIEWS)
def test_only_accessors_are_expressions(frame, tiny_ref, view):
    # pydeck reads an unquoted string as an expression: `radius_units="pixels"` once became
    # "@@=pixels" and deck.gl fell back to metres. Only get* accessors may be expressions.
    for layer in spec_of(build_deck(view, frame, tiny_ref)[0])["layers"]:
        for key, value in layer.items():
            if isinstance(value, str) and value.startswith("@@="):
                assert key.startswith("get"), (layer["id"], key, value)


def test_a_marker_shows_its_highest_ranking_kind_and_lists_every_kind(tiny_ref):
    # One summit and three meetings: coloured as a summit (the ranking), all four named.
    rows = [row(event_id="s")] + [row(event_id=f"m{i}", category="meeting") for i in range(3)]
    spec = spec_of(build_deck("summits", enriched(rows, tiny_ref), tiny_ref)[0])
    (marker,) = spec["layers"][1]["data"]
    assert marker["color"][:3] == list(CATEGORY_COLOURS["summit"])
    assert "Kinds: summit 1, meeting 3" in marker["tooltip"]


def test_close_places_merge_into_one_marker_that_lists_them(tiny_ref):
    rows = [row(event_id=f"s{i}") for i in range(3)] + [
        row(event_id="j", place="Jurong", lat="1.33", lon="103.72", category="meeting"),
        row(event_id="p", place="Pyongyang", country_iso3="PRK", lat="39.03", lon="125.75"),
    ]
    deck, overlay = build_deck_and_overlay("summits", enriched(rows, tiny_ref), tiny_ref)
    spec = spec_of(deck)
    markers = spec["layers"][1]["data"]
    assert [(m["place"], m["count"], m["places"]) for m in markers] == [
        ("Singapore", 4, 2),
        ("Pyongyang", 1, 1),
    ]
    assert markers[0]["members"] == [
        {"place": "Singapore", "position": [103.85, 1.29]},
        {"place": "Jurong", "position": [103.72, 1.33]},
    ]
    assert "Singapore and 1 place nearby: 4 events" in markers[0]["tooltip"]
    assert [d["text"] for d in spec["layers"][2]["data"]] == ["Singapore +1", "Pyongyang"]
    assert any("Name +N" in item.label for item in overlay.legend)


def test_legend_has_size_and_width_scales(frame, tiny_ref):
    _, legend = build_deck("summits", frame, tiny_ref)
    sizes = [(item.label, item.size) for item in legend if item.kind == "circle" and "event" in item.label]
    assert sizes == [(f"{n} event{'s' if n > 1 else ''}", 2 * marker_radius(n)) for n in SIZE_SCALE]
    _, legend = build_deck("flows", frame, tiny_ref)
    lines = {item.label: item.size for item in legend if item.kind == "line"}
    assert lines["4 events"] == arc_width("tie", 4, 0) and lines["USD 10 billion"] == arc_width(
        "figure", 1, 1e10
    )


def test_membership_lists_the_member_names(frame, tiny_ref):
    _, overlay = build_deck_and_overlay("partnerships", frame, tiny_ref, members="BRICS")
    assert overlay.names == ["Russia", "South Africa"]


def test_flows_are_great_circles_labelled_at_their_ends(frame, tiny_ref):
    spec = spec_of(build_deck("flows", frame, tiny_ref)[0])
    arcs, labels = spec["layers"][1], spec["layers"][2]
    assert arcs["greatCircle"] is True and arcs["getHeight"] == 0
    assert {d["kind"] for d in arcs["data"]} == {"tie", "figure"}
    texts = {d["text"]: d["position"] for d in labels["data"]}
    assert texts["Moscow"] == [37.62, 55.75]
    assert texts["North Korea"] == [125.75, 39.03]
    assert texts["Singapore, ASEAN"] == [103.85, 1.29]  # organisations by acronym, at their seat


# ----- the shipped table: what the opening view shows ---------------------------------------

FILTERS = [
    FilterState(),
    FilterState(orgs=("ASEAN",)),
    FilterState(years=(2018, 2018)),
    FilterState(articles=(4,)),
    FilterState(countries=("SGP",)),
    FilterState(countries=("USA",)),
    FilterState(categories=("summit",)),
    FilterState(q="putin kim"),
]


def _inside(spec: dict, lon: float, lat: float, margin: float = 0.0, size=(FIT_WIDTH, MAP_HEIGHT)) -> bool:
    view = opening_view(spec)
    width, height = whole_width(view, size), size[1]
    x, y = project(lon, lat, view, width, height)
    return margin <= x <= width - margin and margin <= y <= height - margin


#: Chart widths the browser reports: none (the band), a 1000 px window with the sidebar closed
#: and one with it open (the map above the side column), an 800 px window with the sidebar open,
#: and a phone-narrow column.
MEASURED = [None, 652, 580, 452, 300]


@pytest.mark.parametrize("measured", MEASURED, ids=lambda w: f"measured={w}")
@pytest.mark.parametrize("state", FILTERS, ids=lambda s: s.describe())
@pytest.mark.parametrize("view", VIEWS)
def test_the_opening_view_shows_everything_drawn_and_nothing_overlaps(shipped, state, view, measured):
    rows = state.apply(shipped.events)
    size = chart_size(measured)
    spec = spec_of(build_deck(view, rows, shipped.reference, size=size)[0])
    for lon, lat in drawn_points(spec):
        assert _inside(spec, lon, lat, margin=20, size=size), (lon, lat)
    boxes = country_boxes(shipped.reference)
    for code in shaded_countries(spec):
        for west, south, east, north in boxes[code]:
            for lon in (west, east):
                for lat in (south, north):
                    assert _inside(spec, lon, lat, size=size), (code, lon, lat)
    shapes = screen_shapes(spec, *size)
    assert overlaps(shapes) == []
    for box in shapes.boxes:
        assert box.inside(*size)


@pytest.mark.parametrize("chart_width", [272, 452, 580, 652, 680, 980, 1500])
@pytest.mark.parametrize("view", VIEWS)
def test_a_chart_of_any_width_shows_everything_drawn(shipped, view, chart_width):
    # The page reports widths below MAP_WIDTH (components.chart_width); the deck fitted to what
    # it reports must hold every marker, arc end and shaded country in a chart of that width.
    # The world-spanning partnerships view once left Brazil and South Africa off a 580 px chart.
    size = chart_size(chart_width if chart_width < MAP_WIDTH else None)
    spec = spec_of(build_deck(view, shipped.events, shipped.reference, size=size)[0])
    view_ = opening_view(spec)
    boxes = country_boxes(shipped.reference)
    corners = [
        (lon, lat)
        for code in shaded_countries(spec)
        for west, south, east, north in boxes[code]
        for lon in (west, east)
        for lat in (south, north)
    ]
    for lon, lat in drawn_points(spec) + corners:
        x, y = project(lon, lat, view_, chart_width, size[1])
        assert -0.5 <= x <= chart_width + 0.5 and -0.5 <= y <= size[1] + 0.5, (lon, lat, x, y)


@pytest.mark.parametrize(
    ("measured", "size", "zoom"),
    [
        (None, (FIT_WIDTH, MAP_HEIGHT), MIN_ZOOM),
        (680.0, (FIT_WIDTH, MAP_HEIGHT), MIN_ZOOM),
        (1e6, (FIT_WIDTH, MAP_HEIGHT), MIN_ZOOM),
        # From FIT_WIDTH to MAP_WIDTH the band's MIN_ZOOM world (MAP_WIDTH wide) would not fit.
        (676.0, (676, MAP_HEIGHT), 0.401),
        (580.0, (580, 580), 0.18),
        (FIT_WIDTH, (FIT_WIDTH, FIT_WIDTH), 0.022),
        (452.0, (452, 452), -0.18),
        (300.7, (300, 300), -0.771),
        (10.0, (240, 240), -1.093),
        (float("nan"), (FIT_WIDTH, MAP_HEIGHT), MIN_ZOOM),
        (float("inf"), (FIT_WIDTH, MAP_HEIGHT), MIN_ZOOM),
        (-5.0, (240, 240), -1.093),
    ],
)
def test_a_chart_narrower_than_the_band_is_fitted_to_its_own_width(measured, size, zoom):
    assert chart_size(measured) == size
    assert min_zoom(size) == zoom


@pytest.mark.parametrize("members", ["EAS", "ASEAN", "APEC", "BRICS"])
def test_membership_views_fit_every_member(shipped, members):
    # EAS includes the United States: Alaska, the Aleutians across the antimeridian, Hawaii.
    spec = spec_of(build_deck("partnerships", shipped.events, shipped.reference, members=members)[0])
    assert shaded_countries(spec) == shipped.reference.members_of(members) - {"RUS"}
    boxes = country_boxes(shipped.reference)
    for code in shaded_countries(spec):
        for west, south, east, north in boxes[code]:
            assert _inside(spec, west, south) and _inside(spec, east, north), code


def test_the_view_moves_with_the_filters_and_only_then(shipped):
    ref = shipped.reference
    world = opening_view(spec_of(build_deck("summits", shipped.events, ref)[0]))
    again = opening_view(spec_of(build_deck("summits", shipped.events, ref)[0]))
    asean = opening_view(
        spec_of(build_deck("summits", FilterState(orgs=("ASEAN",)).apply(shipped.events), ref)[0])
    )
    assert world == again
    assert asean.zoom > world.zoom
    assert asean.longitude != world.longitude and asean.latitude != world.latitude
