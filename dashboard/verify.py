"""Check every evidence phrase against a copy of the source page: `python -m dashboard verify PAGE`.

The repository does not ship the articles (they are Modern Diplomacy's text). `sources.csv`
records the page's SHA-256 and title, so anyone who obtains a copy can check that it is the same
text, and then that every row's evidence is in its own article, verbatim. Only runs of
whitespace (no-break spaces included) may differ between the page and a quote.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import pandas as pd


def squash(text: str) -> str:
    """Whitespace runs (no-break spaces included) as one space: the only liberty a quote takes."""
    return re.sub(r"\s+", " ", text).strip()


def split_articles(text: str, titles: list[str]) -> tuple[dict[int, str], list[str]]:
    """Article n runs from its title line to the next title line (the last one to the end).

    Returns the articles found, by number, and the titles not found as a line of the page.
    """
    lines = text.splitlines()
    starts, missing = [], []
    for n, title in enumerate(titles, start=1):
        hits = [i for i, line in enumerate(lines) if line.strip() == title.strip()]
        if hits:
            starts.append((hits[0], n))
        else:
            missing.append(title)
    starts.sort()
    bounds = [line for line, _ in starts] + [len(lines)]
    articles = {n: "\n".join(lines[bounds[i] : bounds[i + 1]]) for i, (_, n) in enumerate(starts)}
    return articles, missing


@dataclass
class Report:
    """What a verification found: the page's identity, and each row's evidence."""

    sha256: str
    expected_sha256: tuple[str, ...]
    missing_titles: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    #: (event_id, article, evidence, where it was found instead: another article, or "")
    not_found: list[tuple[str, int, str, str]] = field(default_factory=list)

    @property
    def same_page(self) -> bool:
        return self.sha256 in self.expected_sha256

    @property
    def ok(self) -> bool:
        return not self.not_found and not self.missing_titles

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
        out += [f"article title not found as a line of the page: {t!r}" for t in self.missing_titles]
        for event_id, article, evidence, elsewhere in self.not_found:
            where = f"; found in article {elsewhere} instead" if elsewhere else ""
            out.append(f"{event_id}: evidence not in article {article}{where}: {evidence!r}")
        total = len(self.found) + len(self.not_found)
        out.append(f"{len(self.found)} of {total} evidence phrases found verbatim in their article")
        return out


def verify_page(page: bytes, events: pd.DataFrame, sources: pd.DataFrame) -> Report:
    """Check `events`' evidence against the page's articles (titles from `sources`)."""
    sha = hashlib.sha256(page).hexdigest()
    expected = ()
    if "page_sha256" in sources:
        expected = tuple(sorted({str(s).strip() for s in sources["page_sha256"] if str(s).strip()}))
    text = page.decode("utf-8-sig", errors="replace")
    titled = sources.sort_values("article")
    articles, missing = split_articles(text, list(titled["title"]))
    numbers = list(titled["article"].astype(int))
    bodies = {numbers[n - 1]: squash(body) for n, body in articles.items()}
    report = Report(sha, expected, missing)
    for event_id, article, evidence in zip(
        events["event_id"], events["article"], events["evidence"], strict=True
    ):
        phrase = squash(str(evidence))
        if phrase and phrase in bodies.get(int(article), ""):
            report.found.append(event_id)
            continue
        elsewhere = next((str(n) for n, body in bodies.items() if phrase and phrase in body), "")
        report.not_found.append((event_id, int(article), str(evidence), elsewhere))
    return report
