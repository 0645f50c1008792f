"""Turn values from the data into text for people: figures, and Markdown that shows literally."""

from __future__ import annotations

import math
import re

import pandas as pd

# Characters that start Markdown, HTML, LaTeX ($) or Streamlit directives (:red[...]) anywhere;
# `[` covers links, images and directives. List and heading markers matter only at the start.
# Characters that start Markdown, HTML, LaTeX ($) or Streamlit directives (:red[...]) anywhere;
# `[` covers links, images and directives. List and heading markers matter only at the start.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~$])")
_LEADING_LIST = re.compile(r"^(\s*)(\d+)\.")
_LEADING_MARK = re.compile(r"^(\s*)([-+=])")


def escape_markdown(text: str) -> str:
    """Backslash-escape what Markdown would interpret, so data renders as the plain text it is."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    # Newlines would start new Markdown blocks (lists, quotes): keep a cell on one line.
    text = re.sub(r"[\r\n]+", " ", text)
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = _LEADING_LIST.sub(r"\1\2\\.", text)
    return _LEADING_MARK.sub(r"\1\\\2", text)


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
    """`1 event`, `2 events`: a count with its noun."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
