"""Print figures: size and format, the text they carry, empty selections, the projection's seams."""

from __future__ import annotations

import datetime
import io
import re
from html import unescape

import numpy as np
import pytest
from PIL import Image
from shapely.geometry import box

from dashboard import dataset as ds
from dashboard import figures as fg
from dashboard.filters import FilterState
from dashboard.package import citation, cited_sources, source_line

DAY = datetime.date(2025, 3, 14)
LINK = "http://localhost:8501/?view=flows"


@pytest.fixture(scope="module")
def shipped():
    return ds.load_dataset()


def render(view, rows, dataset, state, fmt="svg"):
    return fg.figure_bytes(
        view, rows, dataset, state, fmt=fmt, version="test-1", generated=DAY, permalink=LINK
    )


def svg_text(payload: bytes) -> str:
    """Every <text> element's content, in order, joined by spaces: what a reader of the SVG sees."""
    return " ".join(unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", payload.decode("utf-8")))


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def shipped_svgs(shipped):
    state = FilterState()
    return {view: render(view, shipped.events, shipped, state) for view in fg.FIGURE_VIEWS}


@pytest.mark.parametrize("view", fg.FIGURE_VIEWS)
def test_svg_keeps_title_filters_source_and_citation_as_text(shipped, shipped_svgs, view):
    payload = shipped_svgs[view]
    assert payload.startswith(b"<?xml") and b"<svg" in payload
    text = words(svg_text(payload))
    assert fg.TITLES[view] in text
    n = len(shipped.events)
    assert f"All events. {n} of {n} events." in text
    source = source_line(cited_sources(shipped.events, shipped.sources))
    assert words(source) in text
    assert words("Cite as: " + citation("All events.", "test-1", DAY, LINK)) in text
    # No date anywhere in the file's metadata: the same figure gives the same bytes.
    assert b"<dc:date>" not in payload


LEGEND_ENTRIES = {
    "summits": ["Kind of event (most frequent at the place)", "summit", "meeting", "1 event", "Russia"],
    "partnerships": [
        "Events with Russia (participants or place)",
        "1 event",
        "2-3 events",
        "16+ events",
        "Russia",
    ],
    "flows": ["Diplomatic ties (width: number of events)", "Trade and investment figures", "USD 7.4 billion"],
    "timeline": ["Kind of event", "summit", "context", "Year (start of event)", "undated in the text"],
}


@pytest.mark.parametrize("view", fg.FIGURE_VIEWS)
def test_svg_carries_its_legend(shipped_svgs, view):
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", shipped_svgs[view].decode("utf-8"))
    joined = words(" ".join(unescape(t) for t in texts))
    for entry in LEGEND_ENTRIES[view]:
        assert entry in joined, entry


def test_map_credits_the_geodata(shipped_svgs):
    for view in ("summits", "partnerships", "flows"):
        assert "GeoNames (CC BY 4.0)" in words(svg_text(shipped_svgs[view]))


@pytest.mark.parametrize("view", ["summits", "timeline"])
def test_png_is_wide_enough_for_print_and_deterministic(shipped, view):
    state = FilterState(countries=("SGP",))
    rows = state.apply(shipped.events)
    payload = render(view, rows, shipped, state, fmt="png")
    image = Image.open(io.BytesIO(payload))
    assert image.format == "PNG"
    assert image.size[0] >= fg.MIN_PNG_WIDTH
    assert image.info["Title"] == fg.TITLES[view]
    assert render(view, rows, shipped, state, fmt="png") == payload


@pytest.mark.parametrize("view", fg.FIGURE_VIEWS)
def test_an_empty_selection_draws_a_clear_message(shipped, view):
    state = FilterState(q="no event says this")
    rows = state.apply(shipped.events)
    assert rows.empty
    text = words(svg_text(render(view, rows, shipped, state)))
    assert fg.EMPTY_MESSAGE in text
    assert f"0 of {len(shipped.events)} events." in text


def test_membership_figure_names_the_organisation(shipped):
    state = FilterState(view="partnerships", members="ASEAN")
    text = words(svg_text(render("partnerships", shipped.events, shipped, state)))
    assert "Member states of ASEAN (2018-2019)" in text and "member of ASEAN" in text


def test_text_from_the_data_is_not_mathtext(shipped):
    state = FilterState(q="$x$ costs $5")
    rows = state.apply(shipped.events)
    text = svg_text(render("timeline", rows, shipped, state))
    assert "“$x$ costs $5”" in text


@pytest.mark.parametrize(("view", "fmt"), [("globe", "png"), ("summits", "pdf")])
def test_unknown_views_and_formats_are_named(shipped, view, fmt):
    with pytest.raises(ValueError, match=re.escape(repr(view if view == "globe" else fmt))):
        render(view, shipped.events, shipped, FilterState(), fmt=fmt)


@pytest.mark.parametrize(
    ("lons", "centre", "width"),
    [
        ([10, 20, 30], 20, 20),
        ([170, -170], 180, 20),  # across the antimeridian: the short way round
        ([-170, 170, 175], 180, 20),
        ([37.6], 37.6, 0),
        ([-77, 37.6, 147], 35, 224),
    ],
)
def test_covering_arc_takes_the_short_way_round(lons, centre, width):
    got_centre, got_width = fg._covering_arc(lons)
    assert got_width == pytest.approx(width, abs=1e-6)
    assert (got_centre - centre + 180) % 360 - 180 == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize("lon_0", [40.0, 0.0, 180.0, -100.0])
def test_no_country_is_drawn_across_the_map(real_ref, lon_0):
    """Shapes are split at the seam: no projected part is wider than half the world."""
    countries, globe = fg._world(real_ref, lon_0)
    world_width = globe.bounds[2] - globe.bounds[0]
    widest = max(
        part.bounds[2] - part.bounds[0]
        for geom in countries.geometry
        for part in getattr(geom, "geoms", [geom])
    )
    assert widest < world_width / 2
    # Russia in one piece on the world map (Chukotka next to the rest, not on the far side).
    if lon_0 == fg.WORLD_CENTRAL_MERIDIAN:
        russia = countries.loc[countries["iso3"] == "RUS", "geometry"].iloc[0]
        assert russia.bounds[2] - russia.bounds[0] < world_width / 2


def test_arcs_are_great_circles_split_at_the_seam():
    lons, lats = fg._great_circle(37.62, 55.75, -77.04, 38.9)  # Moscow to Washington
    assert lats.max() > 60  # a great circle bends north, over the Atlantic's high latitudes
    rel = fg._relative(lons, 120.0)  # a map centred on 120°E puts the seam at 60°W, on the route
    assert (np.abs(np.diff(rel)) > 180).any()


def test_labels_never_overlap(shipped):
    """Fifty labels on one spot: those kept do not overlap each other or another mark."""
    with fg.matplotlib.rc_context(fg.RC):
        layout = fg._frame(fg.Words("t", "s", (), "src", "cite"), 7.0, 4.0, 1.0)
        ax = layout.plot
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 60)
        rng = np.random.default_rng(1)
        xs, ys = 50 + rng.normal(0, 6, 50), 30 + rng.normal(0, 4, 50)
        marks = fg._mark_boxes(ax, xs, ys, [4.0] * 50)
        items = [(x, y, f"Place number {i}", 4.0) for i, (x, y) in enumerate(zip(xs, ys, strict=True))]
        kept = fg._place_labels(ax, items, marks)
        renderer = layout.fig.canvas.get_renderer()
        boxes = [t.get_window_extent(renderer) for t in kept]
    assert 0 < len(kept) < 50
    for i, a in enumerate(boxes):
        assert not any(a.overlaps(b) for b in boxes[i + 1 :])
        assert layout.plot.get_window_extent(renderer).contains(a.x0, a.y0)


def test_frame_fits_the_marks_and_keeps_the_plot_shape():
    frame = fg._framed(np.array([0.0, 1_000_000.0]), np.array([0.0, 500_000.0]))
    assert frame[0] < 0 and frame[2] > 1_000_000 and frame[1] < 0 and frame[3] > 500_000
    fitted, height = fg._fit(frame, 7.0)
    assert fg.MAP_HEIGHT_IN[0] <= height <= fg.MAP_HEIGHT_IN[1]
    assert (fitted[3] - fitted[1]) / (fitted[2] - fitted[0]) == pytest.approx(height / 7.0)
    assert box(*fitted).contains(box(*frame))


def test_marker_sizes_are_the_maps_own(shipped):
    """A print marker has the interactive map's radius for its count, in points."""
    from dashboard.layers import marker_radius

    for count in (1, 2, 5, 13, 79, 500):
        assert fg.marker_radius_pt(count) == pytest.approx(marker_radius(count) * fg.PX_TO_PT, abs=0.01)


@pytest.mark.parametrize(
    ("largest", "expected"),
    [
        (1, ["1 event"]),
        (2, ["1 event", "2 events"]),
        (13, ["1 event", "5 events", "13 events"]),
        (100_000, ["1 event", "20 events", "79+ events"]),  # markers stop growing at 79 events
    ],
)
def test_size_legend_never_shows_two_equal_marks_for_different_counts(largest, expected):
    samples = fg._size_samples(largest, fg.marker_radius_pt)
    assert [text for _, text in samples] == expected
    sizes = [fg.marker_radius_pt(n) for n, _ in samples]
    assert sizes == sorted(set(sizes))


@pytest.fixture(scope="module")
def parquet_engine(shipped, tmp_path_factory):
    """The shipped table in a Parquet file, behind its own engine, as a large table is."""
    from dashboard.engine import Engine

    path = tmp_path_factory.mktemp("figures") / "events.parquet"
    frame = shipped.events.copy()
    frame.attrs = {}
    frame.to_parquet(path, index=False)
    return Engine.from_parquet(path)


@pytest.mark.parametrize("view", fg.FIGURE_VIEWS)
@pytest.mark.parametrize("state", [FilterState()], ids=["all"])
def test_a_figure_from_the_engine_is_the_figure_of_the_frame(shipped, parquet_engine, view, state):
    """The download buttons hand the figure the page's selection: it asks the engine for counts
    and aggregates and never reads the rows, and draws exactly what the frame gives."""
    from dashboard.engine import Selection

    where, params = state.where(parquet_engine)
    selection = Selection(parquet_engine, where, tuple(params))
    from_engine = svg_text(render(view, selection, shipped, state))
    assert from_engine == svg_text(render(view, state.apply(shipped.events), shipped, state))
