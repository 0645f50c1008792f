"""Layout at 800 px wide, and play in a real browser: labels whole, every sidebar control reachable,
and the years stepping on play's own timer with the map's count following."""

from __future__ import annotations

import re

import pytest

from dashboard.dataset import load_dataset
from dashboard.filters import FilterState
from tests.e2e.conftest import MAP_CANVAS, READY, screenshot, wait_idle

NARROW = {"width": 800, "height": 900}
SIDEBAR = "[data-testid=stSidebar]"
#: Elements a user operates in the sidebar.
CONTROLS = (
    f"{SIDEBAR} button, {SIDEBAR} input, {SIDEBAR} [role=slider], {SIDEBAR} [role=combobox],"
    f" {SIDEBAR} [role=switch], {SIDEBAR} [role=checkbox]"
)


def _page(browser, width: int):
    context = browser.new_context(viewport={**NARROW, "width": width})
    page = context.new_page()
    page.set_default_timeout(60_000)
    return context, page


@pytest.fixture
def narrow(browser):
    context, page = _page(browser, NARROW["width"])
    yield page
    context.close()


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(f"{READY} h1")
    wait_idle(page)


def _cut_labels(page) -> list[str]:
    """Labels wider than the box that shows them: buttons, widget labels, metric labels."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
                'button p, button [data-testid=stMarkdownContainer], [data-testid=stWidgetLabel] p,'
                + ' [data-testid=stMetricLabel] p')]
            .filter(e => e.offsetParent !== null && (e.innerText || '').trim())
            .filter(e => e.scrollWidth > e.clientWidth + 1)
            .map(e => `${e.innerText} (${e.scrollWidth} > ${e.clientWidth} px)`)"""
    )


def _buttons_outside(page) -> list[str]:
    """Buttons that stick out of the window, or out of the box that clips them."""
    return page.evaluate(
        """w => [...document.querySelectorAll('button')]
            .filter(b => b.offsetParent !== null && (b.innerText || '').trim())
            .filter(b => {
                const r = b.getBoundingClientRect();
                if (r.left < -1 || r.right > w + 1) return true;
                for (let p = b.parentElement; p; p = p.parentElement) {
                    const s = getComputedStyle(p);
                    if (s.overflowX !== 'visible') {
                        const q = p.getBoundingClientRect();
                        return r.left < q.left - 1 || r.right > q.right + 1;
                    }
                }
                return false;
            })
            .map(b => b.innerText.trim())""",
        NARROW["width"],
    )


@pytest.mark.parametrize("path", ["/timeline", "/data", "/sources", "/data?country=SGP"])
def test_no_label_is_cut_at_800_px(server, narrow, path):
    _open(narrow, server.url + path)
    assert _cut_labels(narrow) == []
    assert _buttons_outside(narrow) == []
    screenshot(narrow, "narrow-" + re.sub(r"\W+", "-", path.strip("/")))


# 800 px keeps the sidebar open beside the page; below 768 px Streamlit starts with it closed.
@pytest.mark.parametrize("width", [800, 640])
def test_every_sidebar_control_is_reachable_on_a_narrow_screen(server, browser, width):
    context, narrow = _page(browser, width)
    _open(narrow, server.url + "/timeline")
    expand = narrow.locator("[data-testid=stExpandSidebarButton]")
    if expand.count() and expand.is_visible():
        expand.click()
    narrow.wait_for_selector(f"{SIDEBAR}[data-collapsed=false]")
    narrow.wait_for_timeout(500)  # the sidebar slides in
    controls = narrow.locator(CONTROLS)
    count = controls.count()
    assert count >= 20  # filters, years inputs, presets, play buttons, uploader, tiles, reset
    unreachable = []
    for i in range(count):
        control = controls.nth(i)
        if not control.is_visible():
            # Hidden inputs behind a visible control (the uploader's file input, a toggle's box).
            continue
        control.scroll_into_view_if_needed()
        if not control.evaluate(_REACHED):
            unreachable.append(control.evaluate("e => e.outerHTML.slice(0, 120)"))
    assert unreachable == []
    narrow.locator(".st-key-play-button").scroll_into_view_if_needed()
    screenshot(narrow, f"narrow-{width}-sidebar-play")
    context.close()


#: Whether an element lies wholly in the window and a click at its centre lands on it. An input
#: hidden behind what the user operates (a slider's thumb) is checked through that element.
_REACHED = """e => {
    const small = (x, n) => { const r = x.getBoundingClientRect(); return r.width < n || r.height < n; };
    // An input in a 1 px box, or transparent, is the stand-in of a visible control around it.
    if (e.tagName === 'INPUT' && (small(e.parentElement, 3) || getComputedStyle(e).opacity === '0')) {
        do { e = e.parentElement; } while (small(e, 8));
    }
    // Scroll what the user operates into view, not only the input behind it.
    e.scrollIntoView({block: 'center'});
    const r = e.getBoundingClientRect();
    const inside = r.width > 0 && r.left >= 0 && r.right <= innerWidth
        && r.top >= 0 && r.bottom <= innerHeight;
    const hit = inside && document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return !!hit && (e.contains(hit) || hit.contains(e) || e.parentElement.contains(hit));
}"""


def _count(page, year: int | None = None) -> str:
    """The count in the map's caption, read when the caption speaks of `year` (play moves on)."""
    text = page.wait_for_function(
        """want => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stCaptionContainer]')]
            .map(c => c.innerText).find(t => / of 103 events/.test(t) && (!want || t.includes(want)))""",
        arg=f"in {year}." if year else "",
        timeout=30_000,
    ).json_value()
    return re.search(r"([0-9]+) of 103 events", text)[1]


def test_play_steps_the_years_on_its_timer_and_the_map_follows(server, page):
    page.goto(f"{server.url}/?years=2010-2019")
    page.wait_for_selector(MAP_CANVAS)
    wait_idle(page)
    expected = len(FilterState(years=(2010, 2019)).apply(load_dataset().events))
    assert _count(page) == str(expected)
    page.locator(".st-key-play-button button").click()
    page.wait_for_url(re.compile(r"years=2010-2010"))
    first = _count(page, 2010)
    # The next step comes from the timer alone, with no click; the URL follows.
    page.wait_for_url(re.compile(r"years=2011-2011"), timeout=30_000)
    second = _count(page, 2011)
    events = load_dataset().events
    assert (first, second) == tuple(str(len(FilterState(years=(y, y)).apply(events))) for y in (2010, 2011))
    screenshot(page, "play-2011")
    page.locator(".st-key-play-button button", has_text="Pause").click()
    # Paused where the play stood (the timer may have stepped once more meanwhile), and still.
    page.locator(".st-key-play-button button", has_text="Play").wait_for()
    wait_idle(page)
    stopped_at = page.url
    page.wait_for_timeout(5_000)
    assert page.url == stopped_at
    assert re.search(r"years=201[1-9]-201[1-9]", stopped_at)
