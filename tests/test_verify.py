"""`verify`: the page's identity and every evidence phrase, checked against a copy of the page."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from dashboard.cli import main
from dashboard.verify import split_articles, verify_page
from tests.conftest import REPO, SEED_DIR

PAGE = (
    "Menu\n\nFirst title\n\nLeaders met in\u00a0Singapore on Monday.\n\n"
    "Second title\n\nTrade grew to USD 7.4 billion.\n"
)
SOURCES = pd.DataFrame(
    {
        "article": [1, 2],
        "title": ["First title", "Second title"],
        "page_sha256": [hashlib.sha256(PAGE.encode()).hexdigest()] * 2,
    }
)


def events(*rows):
    return pd.DataFrame(rows, columns=["event_id", "article", "evidence"])


def test_split_articles_runs_from_title_to_title():
    articles, missing = split_articles(PAGE, ["First title", "Second title", "Third title"])
    assert missing == ["Third title"]
    assert "Singapore" in articles[1] and "Singapore" not in articles[2]


@pytest.mark.parametrize(
    ("rows", "ok", "last_lines"),
    [
        (
            [("a", 1, "Leaders met in Singapore"), ("b", 2, "USD 7.4 billion")],
            True,
            ["2 of 2 evidence phrases found verbatim in their article"],
        ),
        (
            [("a", 2, "Leaders met in Singapore"), ("b", 2, "USD 9 billion")],
            False,
            [
                "a: evidence not in article 2; found in article 1 instead: 'Leaders met in Singapore'",
                "b: evidence not in article 2: 'USD 9 billion'",
                "0 of 2 evidence phrases found verbatim in their article",
            ],
        ),
    ],
)
def test_report(rows, ok, last_lines):
    report = verify_page(PAGE.encode(), events(*rows), SOURCES)
    assert report.same_page and report.ok is ok
    assert report.lines()[0].endswith("the page the table was read from")
    assert report.lines()[-len(last_lines) :] == last_lines


def test_another_copy_of_the_page_is_named_but_still_checked():
    report = verify_page((PAGE + "footer\n").encode(), events(("a", 1, "met in Singapore")), SOURCES)
    assert not report.same_page and report.ok
    assert "differs from sources.csv" in report.lines()[0]


def test_cli_verify_of_the_real_page(capsys):
    pages = sorted(SEED_DIR.glob("*.txt")) if SEED_DIR.exists() else []
    if not pages:
        pytest.skip(f"source page not found in {SEED_DIR}")
    assert main(["verify", str(pages[0])]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].endswith("evidence phrases found verbatim in their article")


def test_cli_verify_names_an_unreadable_page(capsys):
    assert main(["verify", str(REPO / "no-such-page.txt")]) == 2
    assert "cannot read the page" in capsys.readouterr().err


ROWS = events(("a", 1, "Leaders met in Singapore"), ("b", 2, "USD 7.4 billion"))
TOC = "Contents\nFirst title\nSecond title\n\n"


@pytest.mark.parametrize(
    ("page", "ok", "notes"),
    [
        (PAGE.replace("\n", "\r\n").encode(), True, []),
        (b"\xef\xbb\xbf" + PAGE.encode(), True, []),
        (PAGE.encode("utf-16"), True, ["the page is UTF-16: read as such"]),
        (
            PAGE.replace("\u00a0", " ").replace("Monday", "Mönday").encode("latin-1"),
            True,
            ["the page is not UTF-8 (byte 0xF6 at offset 48): read as Windows-1252"],
        ),
        ((TOC + PAGE).encode(), True, ["article 1's title is on 2 lines", "article 2's title is on 2 lines"]),
        ((PAGE + "Related:\nSecond title\n").encode(), True, ["article 2's title is on 2 lines"]),
        (b"", False, ["the page is empty (0 bytes): no evidence phrase can be checked"]),
        (b" \n\r\n", False, ["the page is empty (4 bytes)"]),
    ],
)
def test_pages_saved_otherwise_are_read_or_named(page, ok, notes):
    report = verify_page(page, ROWS, SOURCES)
    assert report.ok is ok, report.lines()
    lines = report.lines()
    for note in notes:
        assert any(line.startswith(note) for line in lines), lines
    if not ok:
        assert len(lines) == 2  # the page's identity and why nothing was checked: no row-by-row noise


def test_a_report_of_batches_lists_the_first_misses_and_counts_the_rest(monkeypatch):
    """Rows may come in batches (a large table read from its engine); a report keeps at most
    MAX_LISTED quotes that were not found, and counts every row."""
    import dashboard.verify as verify

    monkeypatch.setattr(verify, "MAX_LISTED", 2)
    batches = [
        events(("a", 1, "Leaders met in Singapore"), ("b", 2, "nowhere")),
        events(("c", 2, "nowhere"), ("d", 2, "nowhere"), ("e", 2, "USD 7.4 billion")),
    ]
    report = verify_page(PAGE.encode(), iter(batches), SOURCES)
    assert (report.found, report.missed, len(report.not_found)) == (2, 3, 2)
    assert not report.ok
    assert report.lines()[-4:] == [
        "b: evidence not in article 2: 'nowhere'",
        "c: evidence not in article 2: 'nowhere'",
        "... and 1 more phrases not found (not listed)",
        "2 of 5 evidence phrases found verbatim in their article",
    ]
