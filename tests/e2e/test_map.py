"""The map in headless Chromium at 1400x900 and 800 px wide: fitted views, layout, clicks, tooltips.

The deck's geometry is checked against the deck the page sends (`deck_spec`, the same app run
by AppTest); here the browser confirms what Python cannot see: where the chart really is,
that deck.gl draws the markers where `viewport.project` says, that label text is no wider
than `viewport.text_width` assumes, and what a click, a hover and a narrow window do.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashboard.layers import FIT_WIDTH, MAP_HEIGHT, MAP_WIDTH, drawn_points, opening_view
from dashboard.viewport import project, text_width
from tests.e2e.conftest import MAP_CANVAS, READY, open_app, screenshot
from tests.e2e.conftest import deck_spec as _deck_spec

CHART = "[data-testid=stDeckGlJsonChart]"
FREEZE_CLOCK = """() => { const r = Date.now, t = r(); Date.now = () => t;
    addEventListener('pointerup', () => setTimeout(() => Date.now = r), {once: true}); }"""


_DECKS: dict[str, dict] = {}


def deck_spec(params: dict[str, str]) -> dict:
    """The page's deck for these parameters, run once per module (AppTest takes seconds)."""
    key = repr(sorted(params.items()))
    if key not in _DECKS:
        _DECKS[key] = _deck_spec(params)
    return _DECKS[key]


@pytest.fixture
def page_at(browser):
    """A page factory: page_at(width, height) in its own context, closed afterwards."""
    contexts = []

    def make(width: int = 1400, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        return pg

    yield make
    for context in contexts:
        context.close()


def _painted(page) -> None:
    """Wait until the deck has drawn markers or shapes (more than a few colours on the canvas)."""
    page.wait_for_function(
        """sel => { const c = document.querySelector(sel); if (!c || c.width < 100) return false;
            const g = document.createElement('canvas'); g.width = 100; g.height = 60;
            const x = g.getContext('2d'); x.drawImage(c, 0, 0, 100, 60);
            const d = x.getImageData(0, 0, 100, 60).data, seen = new Set();
            for (let i = 0; i < d.length; i += 16) seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
            return seen.size > 3; }""",
        arg=MAP_CANVAS,
        timeout=60_000,
    )
    page.wait_for_timeout(500)


def _pixel_rgb(page, x: float, y: float) -> list[int]:
    """The canvas colour at CSS pixel (x, y) of the chart."""
    return page.evaluate(
        """([sel, x, y]) => { const c = document.querySelector(sel);
            const k = c.width / c.getBoundingClientRect().width;
            const g = document.createElement('canvas'); g.width = c.width; g.height = c.height;
            const ctx = g.getContext('2d'); ctx.drawImage(c, 0, 0);
            return Array.from(ctx.getImageData(Math.round(x * k), Math.round(y * k), 1, 1).data); }""",
        [MAP_CANVAS, x, y],
    )


def test_layout_at_1400x900_gives_the_map_the_screen(server, page_at):
    page = open_app(page_at(), server.url)
    _painted(page)
    chart = page.locator(CHART).bounding_box()
    assert chart["y"] <= 200, chart
    # The views are fitted to FIT_WIDTH x MAP_HEIGHT: a wider chart only adds margin.
    assert chart["width"] >= MAP_WIDTH - 2 >= FIT_WIDTH and round(chart["height"]) == MAP_HEIGHT, chart
    side = page.locator(".st-key-map-side").bounding_box()
    assert side["x"] >= chart["x"] + chart["width"] and side["y"] < 900
    screenshot(page, "map-1400-summits")


@pytest.mark.parametrize("params", [{}, {"org": "ASEAN"}, {"view": "flows"}])
def test_the_opening_view_contains_every_drawn_marker_where_deck_gl_draws_it(server, page_at, params):
    spec = deck_spec(params)
    query = "&".join(f"{k}={v}" for k, v in params.items())
    page = open_app(page_at(), f"{server.url}/?{query}")
    _painted(page)
    chart = page.locator(CHART).bounding_box()
    view = opening_view(spec)
    for lon, lat in drawn_points(spec):
        x, y = project(lon, lat, view, chart["width"], chart["height"])
        assert 0 <= x <= chart["width"] and 0 <= y <= chart["height"], (lon, lat, x, y)
    markers = next((layer["data"] for layer in spec["layers"] if layer["id"] == "places"), [])
    for marker in markers:
        # deck.gl drew the marker where Python projects it: its colour is at the centre.
        x, y = project(*marker["position"], view, chart["width"], chart["height"])
        r, g, b, _ = _pixel_rgb(page, x, y)
        want = marker["color"][:3]
        assert max(abs(r - want[0]), abs(g - want[1]), abs(b - want[2])) < 60, (
            marker["place"],
            (r, g, b),
            want,
        )


def _assert_all_drawn_inside(spec: dict, box: dict) -> None:
    """Every point the deck draws lies inside the chart's box at the opening view."""
    view = opening_view(spec)
    for lon, lat in drawn_points(spec):
        x, y = project(lon, lat, view, box["width"], box["height"])
        assert 0 <= x <= box["width"] and 0 <= y <= box["height"], (lon, lat, x, y)


def _narrow_spec(params: dict[str, str], chart_width: float) -> tuple[dict, tuple[float, float]]:
    """The deck the page builds once the browser has reported this chart width (the width
    probe rounds down to 4 px), made by the same pure functions the page calls."""
    import json

    from dashboard.dataset import load_dataset
    from dashboard.filters import FilterState
    from dashboard.layers import build_deck_and_overlay, chart_size

    dataset = load_dataset()
    state, _ = FilterState.from_query_params(params, dataset.vocabulary())
    size = chart_size(chart_width // 4 * 4)
    deck, _ = build_deck_and_overlay(state.view, state.apply(dataset.events), dataset.reference, size=size)
    return json.loads(deck.to_json()), size


@pytest.mark.parametrize("params", [{}, {"org": "ASEAN"}, {"view": "flows"}, {"view": "partnerships"}])
def test_at_800_px_with_the_sidebar_open_the_opening_view_is_whole(server, page_at, params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    page = open_app(page_at(800, 900), f"{server.url}/?{query}")
    page.locator(".st-key-map-width").wait_for(state="attached")
    chart = page.locator(CHART)
    # The page reruns once the probe reports the column narrower than the band: the chart is
    # then square, as wide as its column.
    page.wait_for_function(
        "sel => { const r = document.querySelector(sel).getBoundingClientRect();"
        " return r.width > 100 && Math.abs(r.width - r.height) < 8; }",
        arg=CHART,
        timeout=60_000,
    )
    _painted(page)
    box = chart.bounding_box()
    assert box["width"] < FIT_WIDTH, box  # narrower than the band: the case this is about
    spec, size = _narrow_spec(params, box["width"])
    assert round(box["height"]) == size[1], (box, size)
    _assert_all_drawn_inside(spec, box)
    for marker in next((layer["data"] for layer in spec["layers"] if layer["id"] == "places"), []):
        x, y = project(*marker["position"], opening_view(spec), box["width"], box["height"])
        r, g, b, _ = _pixel_rgb(page, x, y)
        want = marker["color"][:3]
        assert max(abs(r - want[0]), abs(g - want[1]), abs(b - want[2])) < 60, (marker["place"], (r, g, b))
    screenshot(page, "map-800-whole-" + ("-".join(params.values()) or "all"))


def test_label_boxes_hold_the_text_the_browser_draws(server, page_at):
    # The overlap checks use viewport.text_width; the browser's own font must be no wider.
    texts = [
        d["text"]
        for layer in deck_spec({"view": "flows"})["layers"]
        if layer["id"] == "arc-labels"
        for d in layer["data"]
    ]
    texts += [
        d["text"] for layer in deck_spec({})["layers"] if layer["id"] == "place-labels" for d in layer["data"]
    ]
    page = open_app(page_at(), server.url)
    widths = page.evaluate(
        """texts => { const c = document.createElement('canvas').getContext('2d');
            c.font = '600 12px sans-serif'; return texts.map(t => c.measureText(t).width); }""",
        texts,
    )
    for text, width in zip(texts, widths, strict=True):
        assert width <= text_width(text), (text, width, text_width(text))


def test_clicking_singapore_lists_its_events_beside_the_map(server, page_at):
    spec = deck_spec({})
    singapore = next(d for d in spec["layers"][1]["data"] if d["place"] == "Singapore")
    page = open_app(page_at(), server.url)
    _painted(page)
    chart = page.locator(CHART).bounding_box()
    x, y = project(*singapore["position"], opening_view(spec), chart["width"], chart["height"])
    page.evaluate(FREEZE_CLOCK)  # software picking is slow; deck.gl drops clicks over 250 ms
    page.mouse.click(chart["x"] + x, chart["y"] + y)
    heading = page.locator(".st-key-map-side h3").filter(has_text="Singapore")
    heading.wait_for(timeout=60_000)
    page.wait_for_selector(READY)
    listed = page.locator(".st-key-map-side [data-testid=stExpander]")
    expect(listed.first).to_be_visible()
    assert listed.count() >= 13
    top = listed.first.bounding_box()
    assert top["y"] < 900 and top["x"] >= chart["x"] + chart["width"], top
    # The map kept its place: the click did not push anything down.
    assert page.locator(CHART).bounding_box()["y"] == chart["y"]
    listed.first.locator("summary").click()
    expect(page.locator(".st-key-map-side blockquote").first).to_be_visible()
    page.mouse.move(5, 5)
    screenshot(page, "map-1400-singapore")


def test_the_tooltip_stays_inside_the_map(server, page_at):
    spec = deck_spec({})
    rightmost = max(spec["layers"][1]["data"], key=lambda d: d["position"][0])
    page = open_app(page_at(), server.url)
    _painted(page)
    chart = page.locator(CHART).bounding_box()
    x, y = project(*rightmost["position"], opening_view(spec), chart["width"], chart["height"])
    page.mouse.move(chart["x"] + x - 2, chart["y"] + y)
    page.mouse.move(chart["x"] + x, chart["y"] + y)
    tip = page.locator(".deck-tooltip")
    expect(tip).to_be_visible(timeout=30_000)
    box = tip.bounding_box()
    assert box["x"] >= chart["x"] and box["x"] + box["width"] <= chart["x"] + chart["width"], (box, chart)
    assert box["y"] >= chart["y"] and box["y"] + box["height"] <= chart["y"] + chart["height"], (box, chart)


def _cut(page, selector: str) -> list[str]:
    """Texts of visible elements whose content is wider than their box (cut or ellipsised)."""
    return page.evaluate(
        """sel => Array.from(document.querySelectorAll(sel))
            .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
            .map(e => e.textContent)""",
        selector,
    )


@pytest.mark.parametrize("view", ["summits", "partnerships", "flows"])
def test_at_800_px_every_map_control_is_reachable_and_uncut(server, page_at, view):
    page = open_app(page_at(800, 900), f"{server.url}/?view={view}")
    _painted(page)
    width = page.evaluate("() => document.documentElement.clientWidth")
    for label in ("Summits and meetings", "Partnerships", "Flows"):
        button = page.get_by_role("radio", name=label, exact=True)
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (label, box)
    if view == "partnerships":
        expect(page.locator(".st-key-map-header [data-testid=stSelectbox]")).to_be_visible()
    assert (
        _cut(page, ".st-key-map-header button, .st-key-map-header button *, .st-key-map-side button *") == []
    )
    screenshot(page, f"map-800-{view}")


def test_at_800_px_the_list_follows_the_map_and_its_buttons_are_uncut(server, page_at):
    page = open_app(page_at(800, 900), f"{server.url}/?event=2019-04-25-vladivostok-putin-kim-summit")
    _painted(page)
    button = page.get_by_role("button", name="Clear selected event")
    expect(button).to_be_visible()
    chart = page.locator(CHART).bounding_box()
    side = page.locator(".st-key-map-side").bounding_box()
    assert side["y"] >= chart["y"] + chart["height"] or side["x"] >= chart["x"] + chart["width"]
    assert _cut(page, "button, button *") == []
    screenshot(page, "map-800-event")


@pytest.mark.parametrize(("width", "params"), [(1000, {}), (1000, {"view": "partnerships"}), (600, {})])
def test_the_map_row_wraps_rather_than_squeezing_the_map(server, page_at, width, params):
    # Streamlit wraps each child of a horizontal container in its own flex item: the map's
    # minimum width has to sit on that wrapper, or at 1000 px with the sidebar open the map
    # shrank to 280 px beside the 340 px side column (180 px at 600 px, fitted to 240).
    query = "&".join(f"{k}={v}" for k, v in params.items())
    page = open_app(page_at(width, 900), f"{server.url}/?{query}")
    _painted(page)
    row = page.locator(".st-key-map-row").bounding_box()
    box = page.locator(CHART).bounding_box()
    assert box["width"] >= min(420, row["width"]) - 1, (box, row)
    if box["width"] < MAP_WIDTH:
        # Reported by the width probe: the deck is fitted to this very chart, drawn whole.
        page.wait_for_function(
            "sel => { const r = document.querySelector(sel).getBoundingClientRect();"
            " return r.height <= r.width + 4; }",
            arg=CHART,
            timeout=60_000,
        )
        _painted(page)
        box = page.locator(CHART).bounding_box()
        spec, size = _narrow_spec(params, box["width"])
        assert round(box["height"]) == size[1], (box, size)
        _assert_all_drawn_inside(spec, box)
    screenshot(page, f"map-{width}-row-" + ("-".join(params.values()) or "all"))
