"""Screen geometry: Web Mercator, fitted views across the antimeridian, merging and labels."""

from __future__ import annotations

import math

import pytest

from dashboard.viewport import (
    Bounds,
    Box,
    Circle,
    ScreenShapes,
    View,
    bounds_of,
    fit_view,
    label_box,
    lon_span,
    merge_circles,
    overlaps,
    place_labels,
    project,
    rounded,
    screen_shapes,
    text_width,
)


@pytest.mark.parametrize(
    ("intervals", "expected"),
    [
        ([], None),
        ([(10, 20)], (10, 20)),
        ([(10, 20), (30, 40)], (10, 40)),
        # Russia's main body and Chukotka: across the antimeridian, not round the world.
        ([(27, 180), (-180, -169)], (27, 191)),
        # The widest gap decides: Japan and the US west coast are closer over the Pacific.
        ([(129, 146), (-125, -66)], (129, 294)),
        ([(-10, 0), (100, 110)], (-10, 110)),
        # Covering (nearly) everything: the answer still spans at most 360 degrees.
        ([(-180, 180)], (-180, 180)),
    ],
)
def test_lon_span_is_the_shortest_covering_arc(intervals, expected):
    assert lon_span(intervals) == expected


def test_bounds_of_crosses_the_antimeridian_when_shorter():
    # Fiji's parts at both edges of the map, and Samoa: a few degrees, not the world.
    fiji = [(177.0, -19.0, 180.0, -16.0), (-180.0, -17.0, -178.0, -16.0)]
    b = bounds_of([*fiji, (-172.8, -14.1, -171.4, -13.4)])
    assert (b.west, b.east) == pytest.approx((177.0, 188.6))
    assert (b.south, b.north) == (-19.0, -13.4)


@pytest.mark.parametrize(
    ("bounds", "width", "height"),
    [
        (Bounds(100.0, 0.0, 110.0, 10.0), 680, 640),  # South-east Asia
        (Bounds(27.0, 41.0, 191.0, 82.0), 680, 640),  # Russia, across the antimeridian
        (Bounds(-77.0, -26.0, 147.0, 60.0), 680, 640),  # Washington to Port Moresby
        (Bounds(30.0, -35.0, 40.0, 60.0), 400, 900),  # tall and narrow
    ],
)
def test_fit_view_puts_every_corner_inside_the_padding(bounds, width, height):
    view = fit_view(bounds, width, height, padding=30)
    for lon in (bounds.west, bounds.east):
        for lat in (bounds.south, bounds.north):
            x, y = project(lon, lat, view, width, height)
            assert 29 <= x <= width - 29 and 29 <= y <= height - 29, (lon, lat, x, y)
    # Fitted: one side touches the padding (within a pixel), not lost in sea.
    xs = [project(lon, bounds.south, view, width, height)[0] for lon in (bounds.west, bounds.east)]
    ys = [project(bounds.west, lat, view, width, height)[1] for lat in (bounds.south, bounds.north)]
    assert min(xs) < 31 or min(ys) < 31


def test_fit_view_of_a_point_stops_at_the_max_zoom_and_centres_it():
    view = fit_view(Bounds(103.85, 1.29, 103.85, 1.29), 680, 640, max_zoom=5.5)
    assert view.zoom == pytest.approx(5.5, abs=1e-4)
    assert project(103.85, 1.29, view, 680, 640) == pytest.approx((340, 320), abs=0.01)


def test_fit_view_respects_the_minimum_zoom():
    view = fit_view(Bounds(-180.0, -60.0, 180.0, 80.0), 520, 640, min_zoom=0.409)
    assert view.zoom == pytest.approx(0.409, abs=1e-4)
    # Never less than the zoom where the world is as tall as the map (deck.gl would raise it).
    assert fit_view(Bounds(-180.0, -60.0, 180.0, 80.0), 520, 640).zoom >= math.log2(640 / 512)


@pytest.mark.parametrize("lat", [80.0, -75.0, 20.0])
def test_fit_view_keeps_the_view_inside_the_world_as_deck_gl_does(lat):
    # Near the poles at a low zoom, deck.gl's controller moves a view that reaches past the
    # world's edge: the fitted view must be the moved one, or markers land off where computed.
    view = fit_view(Bounds(-100.0, lat - 5, 100.0, lat), 520, 640, min_zoom=0.409)
    _, top = project(0.0, 85.051129, view, 520, 640)
    _, bottom = project(0.0, -85.051129, view, 520, 640)
    assert top <= 1e-6 and bottom >= 640 - 1e-6


def test_no_bounds_give_the_default_view():
    view = fit_view(None, 680, 640, default=View(75.0, 18.0, 1.25))
    assert (round(view.longitude, 3), round(view.latitude, 3), round(view.zoom, 3)) == (75.0, 18.0, 1.25)


def test_rounded_views_never_zoom_out_past_the_fit():
    assert rounded(View(75.123456, 18.987654, 1.23451)) == View(75.1235, 18.9877, 1.2346)


def test_project_unwraps_longitudes_around_the_centre():
    view = View(170.0, 0.0, 2.0)
    x_east, _ = project(-175.0, 0.0, view, 680, 640)  # 185 degrees east: right of the centre
    assert x_east > 340
    assert project(185.0, 0.0, view, 680, 640) == pytest.approx(project(-175.0, 0.0, view, 680, 640))


def test_merge_circles_joins_overlapping_markers_into_the_busiest():
    points = [(100.0, 100.0), (110.0, 100.0), (300.0, 300.0)]
    groups = merge_circles(points, [5, 1, 1], lambda total: 8 + total)
    assert groups == [[0, 1], [2]]


def test_merge_circles_repeats_until_grown_markers_no_longer_overlap():
    # Two pairs that each merge; the merged markers are bigger and then overlap each other.
    points = [(100.0, 100.0), (112.0, 100.0), (150.0, 100.0), (162.0, 100.0)]
    groups = merge_circles(points, [1, 1, 1, 1], lambda total: 13 * total)
    assert groups == [[0, 1, 2, 3]]


def test_merge_circles_leaves_apart_markers_alone():
    assert merge_circles([(0.0, 0.0), (50.0, 0.0)], [1, 1], lambda t: 10.0) == [[0], [1]]
    assert merge_circles([], [], lambda t: 10.0) == []


def test_text_width_is_at_least_dejavu_sans_bold():
    # DejaVu Sans Bold advance widths at 12 px (measured with PIL): the estimate must not be less.
    measured = {"Vladivostok": 79.4, "Kuala Lumpur": 93.9, "St. Petersburg": 98.6, "Singapore +1": 91.5}
    for text, width in measured.items():
        assert width <= text_width(text) <= width * 1.25, text


def test_labels_avoid_each_other_markers_and_edges():
    anchors = [
        (Circle(100, 100, 10), "Singapore"),
        (Circle(100, 125, 8), "Kuala Lumpur"),
        (Circle(670, 300, 8), "East edge"),
        (Circle(100, 112, 5), "Squeezed"),
    ]
    offsets = place_labels(anchors, 680, 640)
    assert offsets[0] == (0.0, -23.5)  # above its marker: the first choice
    boxes = [
        label_box(c.x + o[0], c.y + o[1], text) for (c, text), o in zip(anchors, offsets, strict=True) if o
    ]
    for i, a in enumerate(boxes):
        assert a.inside(680, 640)
        assert not any(a.overlaps(b) for b in boxes[i + 1 :])
        assert not any(a.hits(c) for c, _ in anchors)
    assert offsets[2] is not None and offsets[2][0] < 0  # pushed left of a marker at the edge
    assert offsets[3] is None  # no room anywhere: left out, its marker stays


def test_box_and_circle_geometry():
    box = Box(0, 0, 10, 10)
    assert box.overlaps(Box(5, 5, 15, 15)) and not box.overlaps(Box(10, 0, 20, 10))
    assert box.hits(Circle(12, 5, 3)) and not box.hits(Circle(13, 5, 3))


def test_screen_shapes_read_a_deck_and_overlaps_report_problems():
    spec = {
        "initialViewState": {"longitude": 0.0, "latitude": 0.0, "zoom": 2.0},
        "layers": [
            {
                "@@type": "ScatterplotLayer",
                "data": [{"position": [0, 0], "radius": 10}, {"position": [0.5, 0], "radius": 5}],
            },
            {
                "@@type": "TextLayer",
                "data": [
                    {"position": [0, 0], "text": "A", "offset": [0, -20]},
                    {"position": [0, 0], "text": "B", "offset": [2, -20]},
                ],
            },
        ],
    }
    shapes = screen_shapes(spec, 680, 640)
    assert shapes.circles[0] == Circle(340, 320, 10)
    assert math.isclose(shapes.circles[1].x, 340 + 0.5 / 360 * 512 * 4)
    problems = overlaps(shapes)
    assert any("inside marker 0" in p for p in problems)
    assert any("'A' and 'B' overlap" in p for p in problems)
    assert overlaps(ScreenShapes([Circle(0, 0, 5), Circle(20, 0, 5)], [], [])) == []
