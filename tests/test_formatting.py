"""Formatting: figures for people, and Markdown escaping that keeps data literal."""

import re

import pytest

from dashboard.formatting import escape_markdown, format_value


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (7.4e9, "USD", "USD 7.4 billion"),
        (25e9, "USD", "USD 25 billion"),
        (1.9e9, "usd", "USD 1.9 billion"),
        (5e6, "USD", "USD 5 million"),
        (900, "USD", "USD 900"),
        (35, "percent", "35 percent"),
        (690, "companies", "690 companies"),
        (2.5, "percent", "2.5 percent"),
        (float("nan"), "USD", ""),
    ],
)
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


CUT = ":small[]"  # an empty directive that splits the text (see formatting.py)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("Plain words. Fine.", "Plain words. Fine."),
        ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert(1)\\>"),
        ("<script>alert(1)</script>", "\\<script\\>alert(1)\\</script\\>"),
        ("[click](javascript:alert(1))", f"\\[click\\](javascript\\:{CUT}alert(1))"),
        ("**bold** _it_ `code` $x$", "\\*\\*bold\\*\\* \\_it\\_ \\`code\\` \\$x\\$"),
        (":red[alarm]", f"\\:{CUT}red\\[alarm\\]"),
        (":smile: :material/home:", f"\\:{CUT}smile\\:{CUT} \\:{CUT}material/home\\:{CUT}"),
        ("https://x.org www.x.org a@b.org", f"https\\:{CUT}//x.org www{CUT}.x.org a@{CUT}b.org"),
        ("&amp; &copy;", "\\&amp; \\&copy;"),
        ("a -> b <- c -- d >= e", f"a -{CUT}\\> b \\<{CUT}- c -{CUT}- d \\>{CUT}= e"),
        ("<->", f"\\<{CUT}-{CUT}\\>"),
        ("# heading", "\\# heading"),
        ("1. item", "1\\. item"),
        ("1) item", "1\\) item"),
        ("- item", "\\- item"),
        ("  + item", "\\+ item"),
        ("> quote", "\\> quote"),
        ("=SUM(A1)", "\\=SUM(A1)"),
        ("two\nlines\r\nthree", "two lines three"),
        ("a\u202eb\u2066c", "a⟨U+202E⟩b⟨U+2066⟩c"),
        ("café – “quoted” 2018-11-14", "café – “quoted” 2018-11-14"),
        (None, ""),
    ],
)
def test_escape_markdown(text, escaped):
    assert escape_markdown(text) == escaped


@pytest.mark.parametrize(
    "text", [":smile:", "www.x.org", "a -- b", "x@y.org", "http://x", ":red[x]", "&amp;"]
)
def test_escaped_text_keeps_no_shortcode_url_or_entity_whole(text):
    """What Streamlit's plugins look for never survives in one piece (checked in Chromium by
    tests/e2e/test_security.py): each piece between cuts, unescaped, is harmless."""
    pieces = [p.replace("\\", "") for p in escape_markdown(text).split(CUT)]
    assert "".join(pieces) == text
    for piece in pieces:
        assert not re.search(r":[\w+-]+:|https?://|www\.|\w@\w| -- |:\w+\[", piece), piece
