"""Validator: each kind of problem is caught, named with line and column, and only that row skipped."""

from __future__ import annotations

import pytest

from dashboard.data import Problem, decode, load_events, read_rows
from dashboard.schema import EVENT_COLUMNS
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
    header, lines, records, problems = read_rows("a,b\n1,2\n\n3,4\n", "x.csv")
    assert header == ["a", "b"] and lines == [2, 4] and records == [["1", "2"], ["3", "4"]] and not problems


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
