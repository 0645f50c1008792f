"""The sidebar uploader in the browser: CSV only, the size limit stated, one session's data only.

Two browser contexts are two users on the same server: a table uploaded in context A must
never appear in context B, whether B was opened before or after the upload.
"""

from __future__ import annotations

import tomllib

from playwright.sync_api import expect

from tests.conftest import row, table_bytes
from tests.e2e.conftest import READY, REPO, open_app, wait_idle

SECRET = "Only in session A"
SECRET_URL_Q = "Only%20in%20session%20A"
UPLOAD_LIMIT_MB = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]


def _own_table() -> bytes:
    rows = [
        row(
            event_id="only-in-session-a",
            title=SECRET,
            place="Singapore",
            country_iso3="SGP",
            lat="1.2897",
            lon="103.8501",
            organisations="ASEAN",
            participants="RUS;SGP",
            evidence="the summit in Singapore",
        ),
        row(
            event_id="second-row",
            title="Second row",
            evidence="the summit in Singapore",
            lat="1.2897",
            lon="103.8501",
        ),
        row(event_id="bad-row", lat="95"),
    ]
    return table_bytes(rows)


def _upload(page, name: str, mime: str, data: bytes) -> None:
    uploader = page.locator("[data-testid=stFileUploader] input[type=file]")
    uploader.set_input_files({"name": name, "mimeType": mime, "buffer": data})


def _sidebar(page):
    return page.locator("[data-testid=stSidebar]")


def test_uploader_takes_csv_only_and_states_the_limit(server, page):
    assert UPLOAD_LIMIT_MB == 20
    open_app(page, server.url)
    sidebar = _sidebar(page)
    # The size limit and the file types, as Streamlit's drop zone and our caption state them.
    expect(sidebar.get_by_text(f"{UPLOAD_LIMIT_MB}MB per file")).to_have_count(1)
    expect(
        sidebar.get_by_text(f"Our CSV, ACLED CSV or GDELT events, up to {UPLOAD_LIMIT_MB} MB")
    ).to_have_count(1)
    accept = sidebar.locator("[data-testid=stFileUploader] input[type=file]").get_attribute("accept")
    # .tsv and .txt for GDELT files; nothing wider.
    assert {".csv", ".tsv", ".txt"} <= set(accept.split(","))
    assert not {"text/plain", "*", ".pdf"} & set(accept.split(","))

    _upload(page, "notes.pdf", "application/pdf", b"%PDF-1.4 not a table\n")
    sidebar.get_by_text("application/pdf files are not allowed.").wait_for(timeout=15_000)
    wait_idle(page)
    expect(sidebar.get_by_text("Using events.csv")).to_have_count(1)  # the shipped table stays in use

    _upload(page, "mine.csv", "text/csv", _own_table())
    sidebar.get_by_text("Using mine.csv: 2 events loaded, 1 skipped.").wait_for(timeout=60_000)
    page.get_by_text("loaded 2 of 3 rows; skipped 1.").first.wait_for()
    expect(page.locator("[data-testid=stException]")).to_have_count(0)


def _data_page_matches(page, url: str) -> str:
    """Open the Data page searching for the secret title; return its caption line."""
    page.goto(f"{url}/data?q={SECRET_URL_Q}")
    page.wait_for_selector(f"{READY} h1")
    wait_idle(page)
    return page.locator("[data-testid=stMarkdownContainer]").filter(has_text="mentioning").first.inner_text()


def test_an_upload_stays_in_its_own_session(server, browser):
    contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(2)]
    try:
        a, b = (c.new_page() for c in contexts)
        for p in (a, b):
            p.set_default_timeout(60_000)

        # B, opened before the upload: the secret is nowhere.
        before = _data_page_matches(b, server.url)
        assert " 0 of " in before, before
        expect(b.get_by_text("No events match these filters")).to_have_count(1)

        # A uploads its own table, then searches it through the sidebar on the Data page.
        open_app(a, server.url)
        _upload(a, "session-a.csv", "text/csv", _own_table())
        _sidebar(a).get_by_text("Using session-a.csv: 2 events loaded, 1 skipped.").wait_for()
        # At 1200 px the map's width probe reruns the page once after it first draws: let that
        # settle before navigating (a click during it can be lost under heavy load).
        wait_idle(a)
        a.get_by_role("link", name="Data").click()
        a.wait_for_url("**/data**")
        wait_idle(a)
        _sidebar(a).get_by_label("Search text").fill(SECRET)
        _sidebar(a).get_by_label("Search text").press("Enter")
        a.get_by_text(f"mentioning “{SECRET}”").first.wait_for()
        wait_idle(a)
        expect(a.get_by_text("1 of 2 events.").first).to_be_visible()

        # B again (a rerun of its session) and a brand-new session C: still nothing.
        after = _data_page_matches(b, server.url)
        assert " 0 of " in after, after
        expect(b.get_by_text("No events match these filters")).to_have_count(1)
        expect(_sidebar(b).get_by_text("Using events.csv")).to_have_count(1)
        c = contexts[0].browser.new_context(viewport={"width": 1200, "height": 900})
        contexts.append(c)
        fresh = c.new_page()
        fresh.set_default_timeout(60_000)
        assert " 0 of " in _data_page_matches(fresh, server.url)
        expect(_sidebar(fresh).get_by_text("Using events.csv")).to_have_count(1)
        expect(fresh.get_by_text("No events match these filters")).to_have_count(1)
    finally:
        for ctx in contexts:
            ctx.close()
