"""Formatting: figures for people, and Markdown escaping that keeps data literal."""

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


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("Plain words. Fine.", "Plain words. Fine."),
        ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert(1)\\>"),
        ("<script>alert(1)</script>", "\\<script\\>alert(1)\\</script\\>"),
        ("[click](javascript:alert(1))", "\\[click\\](javascript:alert(1))"),
        ("**bold** _it_ `code` $x$", "\\*\\*bold\\*\\* \\_it\\_ \\`code\\` \\$x\\$"),
        (":red[alarm]", ":red\\[alarm\\]"),
        ("# heading", "\\# heading"),
        ("1. item", "1\\. item"),
        ("- item", "\\- item"),
        ("=SUM(A1)", "\\=SUM(A1)"),
        ("two\nlines", "two lines"),
        (None, ""),
    ],
)
def test_escape_markdown(text, escaped):
    assert escape_markdown(text) == escaped
