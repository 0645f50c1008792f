"""Turn values from the data into text for people: figures, and Markdown that shows literally."""

from __future__ import annotations

import math
import re

import pandas as pd

# Streamlit renders Markdown in two stages. The parser honours backslash escapes, so every
# character that opens Markdown, HTML, an entity (&amp;), LaTeX ($) or a directive (:red[...])
# is escaped. Then plugins rewrite the parsed text itself: emoji and icon shortcodes (:smile:,
# :material/home:, :streamlit:), bare URLs and e-mail addresses (autolinked), arrows and dashes
# (" -> ", " -- ", " >= "). A backslash cannot stop those: the text they see is unescaped. An
# empty `:small[]` directive can: it renders as an empty <span> that cuts the text into pieces,
# none of which holds a whole shortcode, address or arrow, so the page shows exactly the
# characters typed (checked in Chromium, tests/e2e/test_security.py; Streamlit 1.67).
_CUT = ":small[]"
_TOKEN = re.compile(
    r"(?P<pair>[-<>~](?=[->=]))"  # the first character of "->", "--", ">=", "<=", "~=", "<-"
    r"|(?P<colon>:)"  # shortcodes, directives, "https://", "mailto:"
    r"|(?P<at>@)"  # e-mail addresses
    r"|(?P<www>(?<=[wW]{3})\.)"  # www.example.org
    r"|(?P<special>[\\`*_{}\[\]<>#|~$&])"
)
# List and heading markers matter only at the start (newlines are folded into spaces).
_LEADING_LIST = re.compile(r"^(\d+)([.)])")
_LEADING_MARK = re.compile(r"^([-+=])")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def mark_controls(text: str, pattern: re.Pattern = _BIDI) -> str:
    """Characters that are invisible or change how the text around them reads (by default the
    bidirectional controls), shown as visible `⟨U+202E⟩` marks."""
    return pattern.sub(lambda m: "".join(f"⟨U+{ord(c):04X}⟩" for c in m.group()), text)


def _escape_token(match: re.Match) -> str:
    char, kind = match.group(), match.lastgroup
    if kind == "pair":
        return ("\\" + char if char in "<>~" else char) + _CUT
    if kind == "colon":
        # Escaped, so no directive starts here; the cut after it may follow an escaped colon.
        return "\\:" + _CUT
    if kind == "at":
        return "@" + _CUT
    if kind == "www":
        return _CUT + "."
    return "\\" + char


def escape_markdown(text: str) -> str:
    """Markdown that Streamlit renders as exactly these characters, as plain text.

    Two exceptions, both deliberate. Line breaks become spaces and outer spaces go: a cell stays
    on one line, inside a heading or a label too. Bidirectional controls (U+202A-U+202E,
    U+2066-U+2069), which can make text display in another order, show as visible `⟨U+202E⟩`
    marks. For Markdown only: in a code span or a plain-text element the escapes would show.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    # Outer spaces would show nowhere (HTML collapses them) but stop `**` around the text working.
    text = re.sub(r"[\r\n]+", " ", text).strip()
    text = mark_controls(text)
    text = _TOKEN.sub(_escape_token, text)
    text = _LEADING_LIST.sub(r"\1\\\2", text)
    return _LEADING_MARK.sub(r"\\\1", text)


_COMMONMARK_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~$&])")


def escape_commonmark(text: str) -> str:
    """Markdown for a file (the data package's README): CommonMark backslash escapes only.

    `escape_markdown` is for Streamlit, whose renderer needs more (and its `:small[]` cuts would
    show as text anywhere else). Line breaks become spaces, as there.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = re.sub(r"[\r\n]+", " ", text).strip()
    text = mark_controls(text)
    text = _COMMONMARK_SPECIAL.sub(r"\\\1", text)
    text = _LEADING_LIST.sub(r"\1\\\2", text)
    return _LEADING_MARK.sub(r"\\\1", text)


def format_value(value, unit: str) -> str:
    """A figure as people read it: USD 7.4 billion, 35 percent, 690 companies."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    value = float(value)
    if str(unit).upper() == "USD":
        for size, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
            if abs(value) >= size:
                return f"USD {value / size:,.3g} {word}"
        return f"USD {value:,.0f}"
    number = f"{value:,.0f}" if value.is_integer() else f"{value:,}"
    return f"{number} {unit}"


def plural(n: int, word: str) -> str:
    """`1 event`, `2 events`, `12,000 events`: a count with its noun."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"
