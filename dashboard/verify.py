"""Check every evidence phrase against a copy of the source page: `python -m dashboard verify PAGE`.

The repository does not ship the articles (they are Modern Diplomacy's text). `sources.csv`
records the page's SHA-256 and title, so anyone who obtains a copy can check that it is the same
text, and then that every row's evidence is in its own article, verbatim. Only runs of
whitespace (no-break spaces included) may differ between the page and a quote.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd


def squash(text: str) -> str:
    """Whitespace runs (no-break spaces included) as one space: the only liberty a quote takes."""
    return re.sub(r"\s+", " ", text).strip()


def split_articles(text: str, titles: list[str]) -> tuple[dict[int, str], list[str]]:
    """Article n runs from its title line to the next title line (the last one to the end).

    Returns the articles found, by number, and the titles not found as a line of the page. A
    title on several lines (a table of contents, a "related articles" list) starts article n at
    each of them: its text is every such stretch, so a contents list cannot hide the article.
    """
    lines = text.splitlines()
    starts, missing = [], []
    for n, title in enumerate(titles, start=1):
        hits = [i for i, line in enumerate(lines) if line.strip() == title.strip()]
        if hits:
            starts += [(i, n) for i in hits]
        else:
            missing.append(title)
    starts.sort()
    bounds = [line for line, _ in starts] + [len(lines)]
    stretches: dict[int, list[str]] = {}
    for i, (_, n) in enumerate(starts):
        stretches.setdefault(n, []).append("\n".join(lines[bounds[i] : bounds[i + 1]]))
    articles = {n: "\n".join(parts) for n, parts in sorted(stretches.items())}
    return articles, missing


def decode_page(page: bytes) -> tuple[str, str]:
    """The page's text, and a note when it was not UTF-8 (empty when it was).

    A page saved as UTF-16 (with its byte order mark) is read as such; bytes that are not UTF-8
    are read as Windows-1252, and the note names the first bad byte.
    """
    if page.startswith((b"\xff\xfe", b"\xfe\xff")):
        return page.decode("utf-16", errors="replace"), "the page is UTF-16: read as such"
    try:
        return page.decode("utf-8-sig"), ""
    except UnicodeDecodeError as exc:
        note = (
            f"the page is not UTF-8 (byte 0x{page[exc.start]:02X} at offset {exc.start}): read as "
            "Windows-1252; quotes with accented or typographic characters may not be found"
        )
        return page.decode("cp1252", errors="replace"), note


#: Phrases not found that a report lists one by one; the rest are counted, so that a large
#: table checked against the wrong page holds at most this many quotes in memory.
MAX_LISTED = 1000


@dataclass
class Report:
    """What a verification found: the page's identity, and each row's evidence."""

    sha256: str
    expected_sha256: tuple[str, ...]
    missing_titles: list[str] = field(default_factory=list)
    #: what a reader should know about how the page was read (encoding, repeated titles)
    notes: list[str] = field(default_factory=list)
    #: why no phrase could be checked at all (an empty page), or ""
    unusable: str = ""
    #: how many phrases were found in their own article
    found: int = 0
    #: (event_id, article, evidence, where it was found instead: another article, or ""), the
    #: first MAX_LISTED; `missed` counts them all
    not_found: list[tuple[str, int, str, str]] = field(default_factory=list)
    missed: int = 0

    @property
    def same_page(self) -> bool:
        return self.sha256 in self.expected_sha256

    @property
    def ok(self) -> bool:
        return not self.not_found and not self.missing_titles and not self.unusable

    def lines(self) -> list[str]:
        out = []
        if not self.expected_sha256:
            out.append("sources.csv records no page_sha256: the page's identity cannot be checked")
        elif self.same_page:
            out.append(f"page SHA-256 {self.sha256}: the page the table was read from")
        else:
            out.append(
                f"page SHA-256 {self.sha256} differs from sources.csv ({', '.join(self.expected_sha256)}): "
                "another copy or version of the page; checking the phrases anyway"
            )
        out += self.notes
        if self.unusable:
            return [*out, self.unusable]
        out += [f"article title not found as a line of the page: {t!r}" for t in self.missing_titles]
        for event_id, article, evidence, elsewhere in self.not_found:
            where = f"; found in article {elsewhere} instead" if elsewhere else ""
            out.append(f"{event_id}: evidence not in article {article}{where}: {evidence!r}")
        if self.missed > len(self.not_found):
            out.append(f"... and {self.missed - len(self.not_found):,} more phrases not found (not listed)")
        total = self.found + self.missed
        out.append(f"{self.found:,} of {total:,} evidence phrases found verbatim in their article")
        return out


def verify_page(page: bytes, events: pd.DataFrame | Iterable[pd.DataFrame], sources: pd.DataFrame) -> Report:
    """Check `events`' evidence against the page's articles (titles from `sources`).

    `events` is a frame, or frames in batches (a large table read from its engine a batch at a
    time); only `event_id`, `article` and `evidence` are read."""
    sha = hashlib.sha256(page).hexdigest()
    expected = ()
    if "page_sha256" in sources:
        expected = tuple(sorted({str(s).strip() for s in sources["page_sha256"] if str(s).strip()}))
    text, encoding_note = decode_page(page)
    report = Report(sha, expected, notes=[encoding_note] if encoding_note else [])
    if not text.strip():
        report.unusable = f"the page is empty ({len(page)} bytes): no evidence phrase can be checked"
        return report
    titled = sources.sort_values("article")
    titles = [str(t) for t in titled["title"]]
    articles, report.missing_titles = split_articles(text, titles)
    numbers = list(titled["article"].astype(int))
    lines = [line.strip() for line in text.splitlines()]
    for n, title in zip(numbers, titles, strict=True):
        count = lines.count(title.strip())
        if count > 1:
            report.notes.append(
                f"article {n}'s title is on {count} lines of the page: each starts a stretch of article {n}"
            )
    bodies = {numbers[n - 1]: squash(body) for n, body in articles.items()}
    for batch in [events] if isinstance(events, pd.DataFrame) else events:
        for event_id, article, evidence in zip(
            batch["event_id"], batch["article"], batch["evidence"], strict=True
        ):
            phrase = squash(str(evidence))
            if phrase and phrase in bodies.get(int(article), ""):
                report.found += 1
                continue
            report.missed += 1
            if len(report.not_found) < MAX_LISTED:
                elsewhere = next((str(n) for n, body in bodies.items() if phrase and phrase in body), "")
                report.not_found.append((event_id, int(article), str(evidence), elsewhere))
    return report
