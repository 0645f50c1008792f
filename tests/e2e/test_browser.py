"""End to end in headless Chromium: the page loads, the map paints, URL state, downloads, clicks."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from dashboard.layers import opening_view
from dashboard.viewport import project
from tests.e2e.conftest import MAP_CANVAS, deck_spec, open_app, screenshot, wait_idle


def _canvas_colours(page) -> int:
    """How many distinct colours a sample of the map canvas holds (1 means blank)."""
    return page.evaluate(
        """sel => {
            const c = document.querySelector(sel);
            const g = document.createElement('canvas');
            g.width = 200; g.height = 100;
            const ctx = g.getContext('2d');
            ctx.drawImage(c, 0, 0, 200, 100);
            const d = ctx.getImageData(0, 0, 200, 100).data;
            const seen = new Set();
            for (let i = 0; i < d.length; i += 16) seen.add(d[i] + ',' + d[i+1] + ',' + d[i+2]);
            return seen.size;
        }""",
        MAP_CANVAS,
    )


def _wait_painted(page) -> None:
    page.wait_for_function(
        """sel => { const c = document.querySelector(sel); return c && c.width > 100; }""", arg=MAP_CANVAS
    )
    for _ in range(40):
        if _canvas_colours(page) > 3:
            return
        page.wait_for_timeout(250)
    raise AssertionError("the map canvas stayed blank")


def _pixel(lon, lat, width, height, params: dict, env: dict | None = None) -> tuple[float, float]:
    """Where deck.gl's opening view (fitted to the filters) draws a point, relative to the canvas."""
    return project(lon, lat, opening_view(deck_spec(params, env)), width, height)


def test_page_loads_and_the_map_paints(server, page):
    open_app(page, server.url)
    _wait_painted(page)
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    expect(page.get_by_text("Legend").first).to_be_visible()
    screenshot(page, "map-summits")


@pytest.mark.parametrize("view", ["partnerships", "flows"])
def test_each_map_mode_paints(server, page, view):
    open_app(page, f"{server.url}/?view={view}")
    _wait_painted(page)
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    screenshot(page, f"map-{view}")


def test_country_in_url_filters_the_table_and_the_download(server, page):
    open_app(page, f"{server.url}/?country=PRK")
    page.get_by_role("link", name="Data").click()
    page.wait_for_url("**/data?country=PRK**")
    wait_idle(page)
    page.get_by_text("involving North Korea").first.wait_for()
    screenshot(page, "data-prk")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    raw = info.value.path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows
    assert all("PRK" in (r["participants"] + ";" + r["country_iso3"]) for r in rows)


def test_clicking_a_marker_opens_its_detail_panel(server, page):
    open_app(page, f"{server.url}/?article=4")
    _wait_painted(page)
    canvas = page.locator(MAP_CANVAS)
    box = canvas.bounding_box()
    x, y = _pixel(131.8735, 43.1056, box["width"], box["height"], {"article": "4"})  # Vladivostok
    # Software WebGL picking is slow, and deck.gl drops a click that lasts over 250 ms:
    # freeze the clock from pointerdown to pointerup.
    page.evaluate(
        """() => { const r = Date.now, t = r(); Date.now = () => t;
                  addEventListener('pointerup', () => setTimeout(() => Date.now = r), {once: true}); }"""
    )
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.get_by_role("heading", name="Vladivostok").first.wait_for(timeout=60_000)
    wait_idle(page)
    expect(page.get_by_text("Article 4").first).to_be_visible()
    screenshot(page, "detail-vladivostok")


@pytest.mark.parametrize("name", ["timeline", "sources"])
def test_other_pages_render(server, page, name):
    page.goto(f"{server.url}/{name}")
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning] h1")
    wait_idle(page)
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    screenshot(page, name)
