"""The byte scan that lets the columnar reader take a table: plain only when provably plain."""

from __future__ import annotations

import codecs

import numpy as np
import pytest

from dashboard import reading
from dashboard.reading import scan_plain

HEADER = b"a,b,c\n"

PLAIN = [
    (b"1,2,3\n4,5,6\n", "no quotes"),
    (b'"1","2","3"\n', "every field quoted"),
    (b'"x,y","he said ""hi""",""\n', "quoted comma, doubled quotes, quoted empty"),
    (b"1,2,3\r\n4,5,6\r\n", "CRLF"),
    (b"1,2,3\n\n\r\n4,5,6", "blank lines and no final newline"),
    ("é,ü,—\n".encode(), "UTF-8 text"),
]
NOT_PLAIN = [
    (b'1,"two\nlines",3\n', "a quote left open at the end of a line"),
    (b'1,ab"c,3\n', "a quote left open at the end of a line"),
    (b'1,a"b",3\n', "a quote inside an unquoted field"),
    (b'1,"b"x,3\n', "text after a closing quote"),
    (b'1, "b",3\n', "a quote inside an unquoted field"),
    (b"1,2,3\r4,5,6\n", "a carriage return that does not end a line"),
    (b"1,\x00,3\n", "a NUL byte"),
    ("1,caf\u00e9,3\n".encode("latin-1"), "not UTF-8"),
    ("1,a\u202eb,3\n".encode(), "bidirectional controls"),
    (b"1," + b"x" * 100_001 + b",3\n", "a line longer than a field may be"),
    (codecs.BOM_UTF8 + b"1,2,3\n", "a byte order mark at the start of the first record"),
    (codecs.BOM_UTF8 + b"1,2,3\r\n", "a byte order mark at the start of the first record"),
]


@pytest.mark.parametrize(("body", "what"), PLAIN, ids=[w for _, w in PLAIN])
def test_plain_tables_are_recognised(body, what):
    layout, why = scan_plain(HEADER + body, "x.csv")
    assert layout is not None, why
    assert layout.header == ["a", "b", "c"]


@pytest.mark.parametrize(("body", "why"), NOT_PLAIN, ids=[w for _, w in NOT_PLAIN])
def test_anything_else_is_left_to_the_exact_reader(body, why):
    assert scan_plain(HEADER + body, "x.csv") == (None, why)


def test_line_numbers_skip_blank_lines_and_a_bom(tmp_path):
    raw = codecs.BOM_UTF8 + b"\n\na,b\n1,2\n\n\n3,4\r\n\r\n5,6\n"
    layout, _ = scan_plain(raw, "x.csv")
    assert layout.header_line == 3
    assert layout.data_offset == raw.index(b"1,2")
    assert layout.line_of(np.arange(3)).tolist() == [4, 7, 9]
    assert layout.records == 3
    path = tmp_path / "x.csv"
    path.write_bytes(raw)
    assert scan_plain(path, "x.csv")[0].line_of(np.array([2])).tolist() == [9]


def test_the_scan_reads_in_pieces_of_whole_lines(monkeypatch):
    monkeypatch.setattr(reading, "SCAN_BYTES", 7)
    raw = HEADER + b'"1,1",2,3\n\n4,5,6\n7,8,"9"\n'
    layout, why = scan_plain(raw, "x.csv")
    assert why == ""
    assert layout.line_of(np.arange(3)).tolist() == [2, 4, 5]
    assert scan_plain(HEADER + b'1,"2\n",3\n', "x.csv")[0] is None


@pytest.mark.parametrize("scan_bytes", [7, 1 << 24])
def test_a_bom_opening_the_first_record_is_left_to_the_exact_reader(monkeypatch, scan_bytes):
    # pyarrow would drop it as the stream's byte order mark; csv keeps it as part of the cell.
    monkeypatch.setattr(reading, "SCAN_BYTES", scan_bytes)
    bom = codecs.BOM_UTF8
    assert scan_plain(bom + HEADER + bom + b"1,2,3\n", "x.csv")[0] is None
    assert scan_plain(HEADER + b"1,2,3\n" + bom + b"4,5,6\n", "x.csv")[0] is not None  # kept by both
