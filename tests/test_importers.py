"""ACLED and GDELT imports: every field's mapping, what is counted, what is reported, and that
`validate` accepts the output. Inputs are the hand-made files in tests/data/imports/."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from dashboard import schema
from dashboard.cli import main
from dashboard.data import DEFAULT_SOURCES, load_events, load_sources
from dashboard.dataset import ENV_EVENTS, load_dataset, sources_path
from dashboard.importers import acled, common, convert_bytes, gdelt, run_import, sniff
from tests.conftest import REPO

DATA = Path(__file__).resolve().parent / "data" / "imports"
ACLED_FILE = DATA / "acled_sample.csv"
GDELT_FILE = DATA / "gdelt_sample.export.CSV"


@pytest.fixture(scope="module")
def acled_run(real_ref, tmp_path_factory):
    out = tmp_path_factory.mktemp("acled")
    return run_import("acled", ACLED_FILE, out, reference=real_ref), out


@pytest.fixture(scope="module")
def gdelt_run(real_ref, tmp_path_factory):
    out = tmp_path_factory.mktemp("gdelt")
    return run_import("gdelt", GDELT_FILE, out, reference=real_ref), out


def loaded(out: Path, real_ref) -> pd.DataFrame:
    """The written table as the dashboard loads it (neutralised cells restored)."""
    result = load_events(out / "events.csv", real_ref, frozenset({common.ARTICLE}))
    assert result.ok, [str(p) for p in result.problems]
    return result.frame.set_index("event_id")


# ----- ACLED -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_id", "column", "expected"),
    [
        ("acled-rus1001", "category", "agreement"),  # Strategic developments: Agreement
        ("acled-rus1001", "date_start", "2019-04-25"),  # time_precision 1 keeps the day
        ("acled-rus1001", "date_end", ""),
        ("acled-rus1001", "date_inferred", False),
        ("acled-rus1001", "place", "Vladivostok"),  # location
        ("acled-rus1001", "country_iso3", "RUS"),  # iso 643
        ("acled-rus1001", "lat", 43.1155),
        ("acled-rus1001", "lon", 131.8855),
        ("acled-rus1001", "participants", "RUS;PRK"),  # from actor1 and actor2's names
        ("acled-rus1001", "organisations", ""),
        ("acled-rus1001", "article", 1),
        (
            "acled-rus1001",
            "evidence",
            "On 25 April 2019, the leaders of Russia and North Korea agreed to continue talks "
            "(synthetic test record).",
        ),
        (
            "acled-rus1001",
            "title",
            "Agreement: Government of Russia (2000-) and Government of North Korea (2011-)",
        ),
        ("acled-rus1002", "participants", "RUS"),  # "Wagner Group" names no country
        ("acled-rus1003", "date_start", "2019"),  # "20 December 2019", precision 3
        ("acled-rus1003", "place", "Moscow"),
        ("acled-sgp1", "country_iso3", "SGP"),
        ("acled-sgp1", "participants", "SGP;RUS"),
        ("acled-zaf1", "participants", "ZAF;RUS"),
        ("acled-xkx1", "country_iso3", "RUS"),  # iso 0: the country comes from the point
    ],
)
def test_acled_fields_map_to_the_schema(acled_run, real_ref, event_id, column, expected):
    _, out = acled_run
    assert loaded(out, real_ref).loc[event_id, column] == expected


def test_acled_summary_names_the_record_in_our_words(acled_run, real_ref):
    summary = loaded(acled_run[1], real_ref).loc["acled-rus1001", "summary"]
    assert summary == (
        "ACLED codes a Strategic developments event (Agreement) involving Government of Russia (2000-) "
        "and Government of North Korea (2011-), in Vladivostok, Russia, dated 2019-04-25; ACLED's "
        "sources: Synthetic Wire."
    )


@pytest.mark.parametrize(
    ("day", "precision", "start", "end"),
    [
        (date(2019, 4, 25), "1", "2019-04-25", ""),
        (date(2019, 4, 15), "2", "2019-04", ""),  # a week inside April
        (date(2019, 4, 30), "2", "2019-04", "2019-05"),  # the week may run into May
        (date(2019, 6, 15), "3", "2019", ""),
        (date(2019, 12, 20), "3", "2019", "2020"),
    ],
)
def test_time_precision_never_claims_more_than_acled(day, precision, start, end):
    got_start, got_end, note = acled._period(day, precision)
    assert (got_start, got_end) == (start, end)
    assert (note == "") == (precision == "1")
    if note:
        assert f"time_precision {precision}" in note and day.isoformat() in note


def test_reduced_precision_is_flagged_with_a_note(acled_run, real_ref):
    frame = loaded(acled_run[1], real_ref)
    row = frame.loc["acled-rus1002"]
    assert (row["date_start"], row["date_end"], row["date_inferred"]) == ("2019-04", "2019-05", True)
    assert "time_precision 2" in row["date_inference_note"] and "2019-04-30" in row["date_inference_note"]
    assert frame.loc["acled-rus1003", "date_end"] == "2020"


@pytest.mark.parametrize(
    ("event_id", "flag", "words"),
    [
        ("acled-rus1001", False, ""),
        ("acled-rus1002", True, "geo_precision 2"),
        ("acled-rus1003", True, "geo_precision 3"),
    ],
)
def test_geo_precision_sets_place_inferred(acled_run, real_ref, event_id, flag, words):
    row = loaded(acled_run[1], real_ref).loc[event_id]
    assert str(row["place_inferred"]).lower() == str(flag).lower()
    assert words in row["place_inference_note"]


def test_acled_notes_keep_quotes_tabs_and_line_breaks(acled_run, real_ref):
    evidence = loaded(acled_run[1], real_ref).loc["acled-sgp1", "evidence"]
    assert evidence == 'Officials said "the deal is done";\tthe text has a tab,\na line break and, "quotes".'


def test_long_notes_are_cut_at_a_word_with_an_ellipsis_and_the_summary_says_so(acled_run, real_ref):
    row = loaded(acled_run[1], real_ref).loc["acled-zaf1"]
    assert len(row["evidence"]) <= schema.MAX_LENGTH["evidence"]
    assert row["evidence"].endswith("agreed to meet again…")
    assert "cut to 200 characters (of 254)" in row["summary"]


def test_formula_looking_text_is_neutralised_in_the_file_and_restored_on_load(acled_run, gdelt_run, real_ref):
    raw = (acled_run[1] / "events.csv").read_text(encoding="utf-8-sig")
    assert '"\'=HYPERLINK(""http://example.invalid""' in raw
    assert loaded(acled_run[1], real_ref).loc["acled-sgp2", "evidence"].startswith("=HYPERLINK(")
    cells = next(
        r
        for r in csv.reader(io.StringIO((gdelt_run[1] / "events.csv").read_text("utf-8-sig")))
        if r[0] == "gdelt-900000015"
    )
    assert "'=1+2 Vladivostok" in cells
    assert loaded(gdelt_run[1], real_ref).loc["gdelt-900000015", "place"] == "=1+2 Vladivostok"


def test_acled_report_counts_and_lines(acled_run):
    report = acled_run[0].report
    assert (report.rows_read, report.rows_written) == (17, 7)
    assert report.uncovered == {"Battles: Armed clash": 2, "Protests: Peaceful protest": 1}
    assert [str(p) for p in report.problems] == [
        "acled_sample.csv:13: latitude,longitude: point (1.2897, 103.8501) is more than 25 km outside RUS "
        "(ACLED iso 643, country 'Russia')",
        "acled_sample.csv:14: event_date: '2019-13-45' is not a date (YYYY-MM-DD or 'DD Month YYYY')",
        "acled_sample.csv:15: latitude: 'abc' is not a latitude (-90..90)",
        "acled_sample.csv:16: -: empty line",
        "acled_sample.csv:17: -: expected 31 fields, found 4",
        "acled_sample.csv:18: event_id: duplicate id 'acled-rus1001': an earlier line has it",
        "acled_sample.csv:19: time_precision: '7' is not 1, 2 or 3",
    ]
    assert report.country_from_point == {"iso 0": 1}
    assert report.dropped_codes == {"Wagner Group": 1}
    assert report.rows_read == report.rows_written + report.rows_uncovered + report.rows_skipped


# ----- GDELT -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_id", "column", "expected"),
    [
        ("gdelt-900000001", "category", "meeting"),  # CAMEO 042
        ("gdelt-900000002", "category", "agreement"),  # 057
        ("gdelt-900000003", "category", "meeting"),  # 036
        ("gdelt-900000004", "category", "cooperation"),  # 061
        ("gdelt-900000001", "date_start", "2019-04-25"),  # SQLDATE
        ("gdelt-900000001", "date_inferred", False),
        ("gdelt-900000001", "place", "Vladivostok, Primor'ye, Russia"),  # ActionGeo_FullName
        ("gdelt-900000001", "lat", 43.1155),
        ("gdelt-900000001", "lon", 131.8855),
        ("gdelt-900000001", "country_iso3", "RUS"),  # FIPS RS: from the point
        ("gdelt-900000003", "country_iso3", "SGP"),  # FIPS SN, a coastal point
        ("gdelt-900000004", "country_iso3", "ZAF"),  # FIPS SF
        ("gdelt-900000001", "participants", "RUS;PRK"),  # Actor1/2CountryCode
        ("gdelt-900000004", "participants", "RUS"),  # AFR (regional) left out
        ("gdelt-900000008", "participants", "PRK"),  # EUR (regional) left out
        ("gdelt-900000001", "evidence", "CAMEO 042: https://news.example.org/2019/04/25/visit.html"),
        ("gdelt-900000001", "title", "Make a visit: RUSSIA and NORTH KOREA"),
        ("gdelt-900000001", "article", 1),
        ("gdelt-900000014", "evidence", "CAMEO 042: https://news.example.org/crlf.html"),  # CRLF line
    ],
)
def test_gdelt_fields_map_to_the_schema(gdelt_run, real_ref, event_id, column, expected):
    assert loaded(gdelt_run[1], real_ref).loc[event_id, column] == expected


def test_gdelt_long_url_is_cut_and_flagged(gdelt_run, real_ref):
    row = loaded(gdelt_run[1], real_ref).loc["gdelt-900000012"]
    assert len(row["evidence"]) == schema.MAX_LENGTH["evidence"] and row["evidence"].endswith("…")
    assert row["evidence"].startswith("CAMEO 042: https://news.example.org/a-very-long")
    assert "URL is cut" in row["summary"]


def test_gdelt_country_level_point_is_flagged_as_a_centroid(gdelt_run, real_ref):
    frame = loaded(gdelt_run[1], real_ref)
    assert str(frame.loc["gdelt-900000008", "place_inferred"]).lower() == "true"
    assert "ActionGeo_Type 1" in frame.loc["gdelt-900000008", "place_inference_note"]
    assert str(frame.loc["gdelt-900000001", "place_inferred"]).lower() == "false"


def test_gdelt_report_counts_and_lines(gdelt_run):
    report = gdelt_run[0].report
    assert (report.rows_read, report.rows_written) == (17, 8)
    assert report.uncovered == {"190": 2, "010": 1}
    assert report.dropped_codes == {"AFR": 1, "EUR": 1}
    assert [str(p) for p in report.problems] == [
        "gdelt_sample.export.CSV:9: ActionGeo_Lat,ActionGeo_Long: no coordinates: GDELT could not place "
        "the event, so it has no country",
        "gdelt_sample.export.CSV:10: ActionGeo_Lat,ActionGeo_Long: point (0.0, -30.0) lies in no country "
        "of the reference, nor within 25 km of one",
        "gdelt_sample.export.CSV:11: -: empty line",
        "gdelt_sample.export.CSV:12: -: expected 61 tab-separated fields, found 10",
        "gdelt_sample.export.CSV:14: SQLDATE: '20191340' is not a date YYYYMMDD",
        "gdelt_sample.export.CSV:15: event_id: duplicate id 'gdelt-900000001': an earlier line has it",
    ]
    assert report.rows_read == report.rows_written + report.rows_uncovered + report.rows_skipped


def test_bytes_that_are_not_utf8_are_counted(real_ref):
    raw = GDELT_FILE.read_bytes().replace(b"NORTH KOREA", b"NORTH KOR\xc9A", 1)
    events, result = convert_bytes("gdelt", raw, "latin.CSV", real_ref)
    assert result.report.notes["lines with bytes that are not UTF-8 (read as U+FFFD)"] == 1
    assert "NORTH KOR\ufffdA" in events.decode("utf-8")


# ----- both --------------------------------------------------------------------------------


@pytest.mark.parametrize("run", ["acled_run", "gdelt_run"])
def test_output_validates_with_its_sources_beside_it(run, request, capsys):
    _, out = request.getfixturevalue(run)
    assert main(["validate", str(out / "events.csv")]) == 0  # sources.csv found beside it
    assert capsys.readouterr().out.strip().endswith("rows valid")
    assert main(["validate", str(out / "events.csv"), "--sources", str(out / "sources.csv")]) == 0


@pytest.mark.parametrize(("run", "source"), [("acled_run", ACLED_FILE), ("gdelt_run", GDELT_FILE)])
def test_the_source_row_names_the_file_and_its_digest(run, source, request):
    result, out = request.getfixturevalue(run)
    frame, problems = load_sources(out / "sources.csv")
    assert not problems and frame["article"].tolist() == [1]
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert frame.loc[0, "title"].endswith(source.name)
    assert digest in frame.loc[0, "notes"] and result.report.sha256 == digest


@pytest.mark.parametrize(("run", "rows"), [("acled_run", 7), ("gdelt_run", 6)])
def test_every_skipped_row_is_in_skipped_csv(run, rows, request):
    result, out = request.getfixturevalue(run)
    table = pd.read_csv(out / "skipped.csv", dtype=str)
    assert list(table.columns) == ["file", "line", "column", "reason"]
    assert len(table) == rows == result.report.rows_skipped


@pytest.mark.parametrize(("kind", "path"), [("acled", ACLED_FILE), ("gdelt", GDELT_FILE)])
def test_tiny_batches_give_the_same_bytes(kind, path, real_ref, monkeypatch, acled_run, gdelt_run):
    """Streaming: batches of 2 rows / 300-byte blocks write exactly what one batch writes."""
    whole = (acled_run if kind == "acled" else gdelt_run)[1] / "events.csv"
    monkeypatch.setattr(acled, "BATCH_ROWS", 2)
    monkeypatch.setattr(gdelt, "BLOCK_BYTES", 300)
    events, result = convert_bytes(kind, path.read_bytes(), path.name, real_ref)
    assert events == whole.read_bytes()
    assert [p.line for p in result.report.problems] == sorted(p.line for p in result.report.problems)


@pytest.mark.parametrize(("kind", "path"), [("acled", ACLED_FILE), ("gdelt", GDELT_FILE)])
def test_a_last_line_without_a_line_break_is_read(kind, path, real_ref):
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    whole, _ = convert_bytes(kind, raw, path.name, real_ref)
    cut, result = convert_bytes(kind, raw[:-1], path.name, real_ref)
    assert cut == whole and result.report.rows_read == 17


def test_cli_import_prints_the_report(tmp_path, capsys):
    assert main(["import", "gdelt", str(GDELT_FILE), "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "17 rows read, 8 written" in out
    assert "not covered by the crosswalk crosswalk_cameo.csv: 3 rows, by code:" in out
    assert "    190: 2" in out
    assert "gdelt_sample.export.CSV:11: -: empty line" in out
    assert {p.name for p in tmp_path.iterdir()} == {"events.csv", "sources.csv", "skipped.csv"}


@pytest.mark.parametrize(
    ("kind", "content", "why"),
    [
        ("acled", b"", "the file is empty"),
        ("acled", b"event_id_cnty,event_date\nX1,2019-01-01\n", "not an ACLED export: header lacks"),
        ("gdelt", b"", "the file is empty"),
    ],
)
def test_a_file_in_another_format_is_refused_with_exit_1(kind, content, why, tmp_path, capsys):
    source = tmp_path / "in.csv"
    source.write_bytes(content)
    assert main(["import", kind, str(source), "-o", str(tmp_path / "out")]) == 1
    assert why in capsys.readouterr().out


def test_a_gdelt_file_of_garbage_writes_nothing_and_reports_each_line(real_ref):
    events, result = convert_bytes("gdelt", b"a,b,c\n\nd\te\n", "junk.txt", real_ref)
    assert result.report.rows_written == 0 and result.report.rows_skipped == 3
    assert events.decode("utf-8-sig").startswith("event_id,")


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (ACLED_FILE.read_bytes()[:2000], "acled"),
        (b"\xef\xbb\xbfEVENT_ID_CNTY,EVENT_DATE,SUB_EVENT_TYPE,NOTES\n", "acled"),
        (GDELT_FILE.read_bytes()[:2000], "gdelt"),
        (b"garbled first line\n" + GDELT_FILE.read_bytes()[:2000], "gdelt"),
        ((REPO / "events.csv").read_bytes()[:2000], None),
        (b"", None),
    ],
)
def test_sniff_tells_the_formats_apart(head, kind):
    assert sniff(head) == kind


# ----- helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, ("short", False)),
        ("one two three four", 12, ("one two…", True)),
        ("x" * 30, 10, ("x" * 9 + "…", True)),  # no space: cut inside the word
    ],
)
def test_cut(text, limit, expected):
    assert common.cut(text, limit) == expected
    assert len(common.cut(text, limit)[0]) <= limit


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("cameo_code,category,source\n036,party,CAMEO\n", "x.csv:2: category: 'party' is not one of"),
        ("cameo_code,category,source\n036,meeting,\n", "x.csv:2: source: every mapping names its source"),
        ("cameo_code,category,source\n036,meeting,A\n036,meeting,A\n", "x.csv:3: cameo_code:"),
        ("cameo_code,category\n036,meeting\n", "x.csv:1: source: required column missing"),
    ],
)
def test_a_bad_crosswalk_is_refused_naming_its_line(rows, message, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(rows, encoding="utf-8")
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        common.load_crosswalk(path, ("cameo_code",))


def test_shipped_crosswalks_map_only_to_known_categories_and_name_sources():
    for name, keys in (
        ("crosswalk_cameo.csv", ("cameo_code",)),
        ("crosswalk_acled.csv", ("event_type", "sub_event_type")),
    ):
        table = common.load_crosswalk(REPO / "geodata" / name, keys)
        assert set(table.values()) <= set(schema.CATEGORIES) and table


def test_regional_codes_are_not_in_the_reference(real_ref):
    assert not {"AFR", "ASA", "EUR", "MEA", "WST"} & real_ref.iso3_codes


def test_assemble_orders_columns_by_the_schema():
    frame = common.assemble(
        {"event_id": ["a"], "date_inference_note": ["why"], "place_inferred": ["true"]}, 1
    )
    assert list(frame.columns) == list(schema.EVENT_COLUMNS)
    assert frame.loc[0, "date_inference_note"] == "why"


def test_seen_ids_catch_repeats_within_and_across_batches():
    seen = common.SeenIds()
    assert seen.fresh(["a", "b", "a"]).tolist() == [True, True, False]
    assert seen.fresh(["c", "b"]).tolist() == [True, False]


def test_locator_takes_the_nearest_country_within_the_tolerance(real_ref):
    locator = common.CountryLocator(real_ref)
    # Inside Russia; just off Singapore's simplified coast; mid-Atlantic.
    got = locator.locate([55.75, 1.2655, 0.0], [37.62, 103.82, -30.0])
    assert got.tolist()[0] == "RUS" and got.tolist()[1] == "SGP" and got.tolist()[2] == ""


# ----- sources.csv beside an events table --------------------------------------------------


def test_sources_beside_a_table_are_its_default(tmp_path):
    events = tmp_path / "events.csv"
    events.write_text("x", encoding="utf-8")
    assert sources_path(events) == DEFAULT_SOURCES  # none beside it yet
    (tmp_path / "sources.csv").write_text("x", encoding="utf-8")
    assert sources_path(events) == tmp_path / "sources.csv"
    assert sources_path(events, tmp_path / "other.csv") == tmp_path / "other.csv"  # --sources wins
    assert sources_path(DEFAULT_SOURCES.parent / "events.csv") == DEFAULT_SOURCES  # the shipped table


def test_load_dataset_uses_the_imported_sources(gdelt_run, monkeypatch):
    _, out = gdelt_run
    dataset = load_dataset(out / "events.csv")
    assert dataset.sources["article"].tolist() == [1] and dataset.result.ok
    monkeypatch.setenv(ENV_EVENTS, str(out / "events.csv"))
    assert load_dataset().sources["outlet"].tolist() == [gdelt.DATASET]


def test_export_of_an_imported_table_reads_its_sources(gdelt_run, tmp_path):
    _, out = gdelt_run
    target = tmp_path / "x.csv"
    assert main(["export", "--events", str(out / "events.csv"), "--article", "1", "-o", str(target)]) == 0
    assert target.read_bytes().count(b"\r\n") == 9  # header and the 8 rows


# ----- the benchmark's generators, at toy size ---------------------------------------------


@pytest.mark.parametrize("kind", ["gdelt", "acled"])
def test_benchmark_files_import_and_validate(kind, tmp_path, real_ref):
    from benchmarks import imports as bench

    source = tmp_path / f"toy.{kind}"
    (bench.write_gdelt if kind == "gdelt" else bench.write_acled)(source, 400)
    result = run_import(kind, source, tmp_path / "out", reference=real_ref)
    report = result.report
    assert report.rows_read == 400 and report.rows_written > 40 and not report.fatal
    check = load_events(tmp_path / "out" / "events.csv", real_ref, frozenset({1}))
    assert check.ok and check.rows_loaded == report.rows_written
