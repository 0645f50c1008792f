"""Data is never live HTML or Markdown, in the browser.

HTML: the server reads tests/data/hostile/html_in_text.csv. The test hovers the marker of a
title `<img src=x onerror=alert(1)>` at Vladivostok (deck.gl tooltip), clicks it (detail panel)
and opens the Data page, recording every JavaScript dialog. It asserts that no dialog fired, that
no `<img src=x>` element exists, and that the hostile title is visible as the literal text it is.

Markdown: the server reads tests/data/hostile/markdown_in_text.csv, and the URL carries the same
kind of text in `?q=` and an invalid `?country=`. Icon and emoji shortcodes, colour directives,
bare URLs, entities, arrows and list markers must show as exactly the characters typed, in the
event card, the caption and the URL notice (formatting.escape_markdown).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import MAP_CANVAS, REPO, Server, open_app, wait_idle
from tests.e2e.test_browser import _pixel, _wait_painted
from tests.test_hostile import MD_EVIDENCE, MD_MARKERS, MD_SUMMARY, MD_TITLE

HOSTILE_TITLE = "<img src=x onerror=alert(1)>"
VLADIVOSTOK = (131.8735, 43.1056)
HOSTILE_TABLE = REPO / "tests" / "data" / "hostile" / "html_in_text.csv"
INJECTED = "img[src=x], img[onerror], iframe[src=x], a[href^='javascript:']"


HOSTILE_ENV = {"SUMMIT_ATLAS_EVENTS": str(HOSTILE_TABLE)}


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[Server]:
    srv = Server(env=HOSTILE_ENV)
    yield srv
    srv.stop()


def _no_live_html(page, dialogs: list[str]) -> None:
    assert dialogs == [], f"a dialog fired: {dialogs}"
    expect(page.locator(INJECTED)).to_have_count(0)
    assert page.evaluate("() => window.__xss === undefined")
    expect(page.locator("[data-testid=stException]")).to_have_count(0)


def test_tooltip_detail_panel_and_table_show_html_as_text(hostile_server, page):
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    open_app(page, f"{hostile_server.url}/?article=4")
    _wait_painted(page)
    box = page.locator(MAP_CANVAS).bounding_box()
    x, y = _pixel(*VLADIVOSTOK, box["width"], box["height"], {"article": "4"}, HOSTILE_ENV)

    # Tooltip: deck.gl draws it into div.deck-tooltip with innerText.
    page.mouse.move(box["x"] + x - 3, box["y"] + y - 3)
    page.mouse.move(box["x"] + x, box["y"] + y)
    tooltip = page.locator(".deck-tooltip")
    page.wait_for_function(
        "t => [...document.querySelectorAll('.deck-tooltip')].some(e => e.innerText.includes(t))",
        arg=HOSTILE_TITLE,
        timeout=30_000,
    )
    assert HOSTILE_TITLE in tooltip.first.inner_text()
    expect(tooltip.first.locator("img")).to_have_count(0)
    _no_live_html(page, dialogs)

    # Detail panel: the card shows the title as text (freeze Date.now for the slow click).
    page.evaluate(
        """() => { const r = Date.now, t = r(); Date.now = () => t;
                  addEventListener('pointerup', () => setTimeout(() => Date.now = r), {once: true}); }"""
    )
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.get_by_role("heading", name="Vladivostok").first.wait_for(timeout=60_000)
    wait_idle(page)
    # The title is in its entry's line beside the map; opening the entry shows the summary.
    entry = page.locator("[data-testid=stExpander] summary").filter(has_text=HOSTILE_TITLE).first
    entry.wait_for()
    assert entry.is_visible()
    entry.click()
    summary = page.get_by_text("<script>alert('summary')</script> and <b>bold</b>").first
    summary.wait_for()
    assert summary.is_visible()
    _no_live_html(page, dialogs)

    # Data page: the table (a canvas grid) and the selected-event card.
    page.get_by_role("link", name="Data").click()
    page.wait_for_url("**/data**")
    wait_idle(page)
    page.get_by_role("heading", name="Data").first.wait_for()
    # Under load the grid can mount a moment after the heading: wait for it, don't race it.
    page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=60_000)
    page.wait_for_timeout(500)
    _no_live_html(page, dialogs)
    page.get_by_role("link", name="Map").click()
    wait_idle(page)
    _no_live_html(page, dialogs)


URL_QUERY = ":smile: :red[x] https://evil.example &amp; -> www.evil.example"
URL_COUNTRY = ":material/home:"
# What Streamlit would have made of them: icons, emoji, colours, links, the Streamlit logo.
RENDERED = (
    "a[href*='evil.example'], [role=img][aria-label='home icon'], .stMarkdownColoredText, "
    "img[alt='Streamlit logo'], [data-testid=stMain] li"
)


@pytest.fixture(scope="module")
def markdown_server() -> Iterator[Server]:
    srv = Server(
        env={"SUMMIT_ATLAS_EVENTS": str(REPO / "tests" / "data" / "hostile" / "markdown_in_text.csv")}
    )
    yield srv
    srv.stop()


def _texts(page, selector: str) -> list[str]:
    return page.locator(selector).evaluate_all(
        "els => els.map(e => e.textContent.replace(/\\s+/g, ' ').trim())"
    )


@pytest.mark.parametrize(
    ("event", "title", "summary", "evidence"),
    [
        ("h-md-shortcodes", MD_TITLE, MD_SUMMARY, MD_EVIDENCE),
        ("h-md-markers", "- not a list item", MD_MARKERS, "+ not a list either"),
    ],
)
def test_markdown_and_shortcodes_show_as_typed(markdown_server, page, event, title, summary, evidence):
    query = urlencode({"event": event, "q": URL_QUERY, "country": URL_COUNTRY})
    open_app(page, f"{markdown_server.url}/?{query}")
    page.get_by_role("heading", name="Selected event").wait_for()
    wait_idle(page)
    main = "[data-testid=stMain]"
    assert title in _texts(page, f"{main} [data-testid=stMarkdownContainer] strong")
    assert summary in _texts(page, f"{main} [data-testid=stMarkdownContainer] p")
    assert f"“{evidence}” — Article " in " ".join(_texts(page, f"{main} blockquote"))
    caption = f"All events mentioning “{URL_QUERY}”. 0 of 3 events."
    assert caption in _texts(page, f"{main} [data-testid=stCaptionContainer]")
    notice = f"Ignored in the URL: country: '{URL_COUNTRY}' is not a known country code"
    assert notice in _texts(page, "[data-testid=stAlert] [data-testid=stMarkdownContainer]")
    expect(page.locator(RENDERED)).to_have_count(0)
    assert "😄" not in page.locator(main).inner_text()
