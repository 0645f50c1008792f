"""Reference contracts: each defect class of a geodata file, on a copy in tmp_path, with its exact
problem lines; the CLI's report and exit code; the app's error and notices instead of tracebacks.

Each case copies the shipped `geodata/` into `tmp_path/geodata` (so problems read
`geodata/<file>`), applies one edit, and loads it. The cases and their outcomes are listed in
`tests/data/hostile/README.md` ("Hostile reference data").
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import cli
from dashboard.dataset import ENV_GEODATA
from dashboard.geo import GEODATA_DIR, load_reference
from dashboard.reference import (
    CONTRACTS,
    ReferenceDataError,
    check_value,
    read_single_line_records,
)
from tests.conftest import REPO

APP = str(REPO / "streamlit_app.py")
UNUSABLE = "the reference data cannot be used"


def copy_geodata(tmp_path: Path) -> Path:
    target = tmp_path / "geodata"
    shutil.copytree(GEODATA_DIR, target, ignore=shutil.ignore_patterns("*.py", "*.md", "__pycache__"))
    return target


# ----- edits: each breaks one file the way the issue describes ----------------------------------


def drop_column(file: str, column: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        rows = list(csv.reader(io.StringIO((folder / file).read_text(encoding="utf-8"), newline="")))
        i = rows[0].index(column)
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(r[:i] + r[i + 1 :] for r in rows)
        (folder / file).write_text(out.getvalue(), encoding="utf-8")

    return edit


def replace_text(file: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        text = (folder / file).read_text(encoding="utf-8")
        assert text.count(old) == 1, old
        (folder / file).write_text(text.replace(old, new), encoding="utf-8")

    return edit


def drop_line(file: str, start: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        lines = (folder / file).read_text(encoding="utf-8").splitlines(keepends=True)
        (folder / file).write_text("".join(x for x in lines if not x.startswith(start)), encoding="utf-8")

    return edit


def truncate(file: str, size: int) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        (folder / file).write_bytes((folder / file).read_bytes()[:size])

    return edit


def duplicate_feature(iso3: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / "countries.geojson"
        document = json.loads(path.read_text(encoding="utf-8"))
        twin = next(f for f in document["features"] if f["properties"]["iso3"] == iso3)
        document["features"].append(twin)
        path.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")

    return edit


def remove(file: str) -> Callable[[Path], None]:
    return lambda folder: (folder / file).unlink()


@dataclass(frozen=True)
class Case:
    id: str
    edit: Callable[[Path], None]
    problems: tuple[str, ...]  # exactly what load_reference reports, in order
    fatal: bool = False
    warnings: int = 0  # how many of the problems are warnings (the rest skip a row)


APEC_MEMBERS = tuple(
    f"geodata/organisation_members.csv:{line}: acronym: unknown organisation 'APEC': not in organisations.csv"
    for line in range(26, 47)
)

CASES = [
    Case(
        "dropped-acronym-column",
        drop_column("organisations.csv", "acronym"),
        (f"geodata/organisations.csv:1: acronym: required column missing; {UNUSABLE}",),
        fatal=True,
    ),
    Case(
        "dropped-seat_lat-column",
        drop_column("organisations.csv", "seat_lat"),
        (f"geodata/organisations.csv:1: seat_lat: required column missing; {UNUSABLE}",),
        fatal=True,
    ),
    Case(
        "places-lat-not-a-number",
        replace_text("places.csv", "Sochi,RUS,43.597,", "Sochi,RUS,abc,"),
        ("geodata/places.csv:17: lat: 'abc' is not a finite number",),
    ),
    Case(
        "capitals-lat-not-a-number",
        replace_text("capitals.csv", "AFG,Kabul,34.5281,", "AFG,Kabul,abc,"),
        (
            "geodata/capitals.csv:3: lat: 'abc' is not a finite number",
            "geodata/capitals.csv:0: country_iso3: no capital for AFG, listed in countries.geojson: "
            "no arc can end there",
        ),
        warnings=1,
    ),
    Case(
        "unclosed-quote-swallowing-lines",
        replace_text("organisations.csv", "NARTT,Network", 'NARTT,"Network'),
        (
            "geodata/organisations.csv:17: name: unclosed quote before "
            "'Network of ASEAN-Russia Think Tanks,dia…': lines 17-22 read as one field; "
            "read again line by line, the quote kept as a plain character",
        ),
        warnings=1,
    ),
    Case(
        "unclosed-quote-to-end-of-file",
        replace_text("organisations.csv", "WTO,World", 'WTO,"World'),
        (
            "geodata/organisations.csv:26: name: unclosed quote before "
            "'World Trade Organization,intergovernmen…': it runs to the end of the file; "
            "the quote kept as a plain character",
        ),
        warnings=1,
    ),
    Case(
        "unclosed-quote-closed-by-a-later-one",
        replace_text("organisations.csv", "APEC,Asia-Pacific", 'APEC,"Asia-Pacific'),
        (
            "geodata/organisations.csv:5: -: expected 10 fields, found 4 (check the quotes on this line)",
            *APEC_MEMBERS,
        ),
    ),
    Case(
        "truncated-countries-geojson",
        truncate("countries.geojson", 300_000),
        (
            "geodata/countries.geojson:1: -: not valid JSON, truncated? "
            f"(Expecting value: line 1 column 299996 (char 299995)); {UNUSABLE}",
        ),
        fatal=True,
    ),
    Case(
        "missing-rus-capital",
        drop_line("capitals.csv", "RUS,"),
        ("geodata/capitals.csv:0: country_iso3: no capital for RUS: arcs cannot be drawn",),
        warnings=1,
    ),
    Case(
        "duplicate-iso3-in-countries",
        duplicate_feature("SGP"),
        (
            "geodata/countries.geojson:1: features[234].properties.iso3: "
            "duplicate 'SGP', first in features[183]",
        ),
    ),
    Case(
        "duplicate-iso3-in-capitals",
        replace_text("capitals.csv", "ABW,Oranjestad,", "AFG,Oranjestad,"),
        (
            "geodata/capitals.csv:3: country_iso3: duplicate 'AFG', first in line 2",
            "geodata/capitals.csv:0: country_iso3: no capital for ABW, listed in countries.geojson: "
            "no arc can end there",
        ),
        warnings=1,
    ),
    Case(
        "member-of-unknown-organisation",
        replace_text("organisation_members.csv", "6PT,CHN,", "6PX,CHN,"),
        (
            "geodata/organisation_members.csv:2: acronym: "
            "unknown organisation '6PX': not in organisations.csv",
        ),
    ),
    Case(
        "missing-file",
        remove("places.csv"),
        (f"geodata/places.csv:0: -: cannot read file (No such file or directory); {UNUSABLE}",),
        fatal=True,
    ),
]


@pytest.fixture(scope="module")
def shipped():
    return load_reference()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_defect_is_named_with_file_line_column_and_value(case, tmp_path, shipped):
    folder = copy_geodata(tmp_path)
    case.edit(folder)
    if case.fatal:
        with pytest.raises(ReferenceDataError) as raised:
            load_reference(folder)
        assert tuple(str(p) for p in raised.value.problems) == case.problems
        assert str(raised.value) == "\n".join(case.problems)
        return
    reference = load_reference(folder)
    assert tuple(str(p) for p in reference.problems) == case.problems
    assert sum(p.severity == "warning" for p in reference.problems) == case.warnings


def test_every_case_is_in_the_hostile_readme():
    readme = (REPO / "tests" / "data" / "hostile" / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Hostile reference data", 1)[1]
    for case in CASES:
        assert f"| `{case.id}` |" in section
        assert f"`{case.problems[0]}" in section  # the first problem line, verbatim


def test_the_shipped_geodata_meets_every_contract(shipped):
    assert shipped.problems == ()
    assert len(shipped.countries) == 234 and shipped.countries.crs.to_epsg() == 4326
    assert shipped.flows_notice == ""


def test_a_bad_row_is_skipped_and_the_rest_kept(tmp_path, shipped):
    folder = copy_geodata(tmp_path)
    replace_text("places.csv", "Sochi,RUS,43.597,", "Sochi,RUS,abc,")(folder)
    reference = load_reference(folder)
    assert set(shipped.places["place"]) - set(reference.places["place"]) == {"Sochi"}
    assert reference.places["lat"].dtype == float


def test_a_stray_quote_costs_no_row(tmp_path, shipped):
    folder = copy_geodata(tmp_path)
    replace_text("organisations.csv", "NARTT,Network", 'NARTT,"Network')(folder)
    reference = load_reference(folder)
    assert reference.org_codes == shipped.org_codes
    assert reference.org_names["NARTT"] == '"Network of ASEAN-Russia Think Tanks'  # the quote, as typed


def test_a_missing_rus_capital_is_a_notice_for_the_flows_map(tmp_path):
    folder = copy_geodata(tmp_path)
    drop_line("capitals.csv", "RUS,")(folder)
    reference = load_reference(folder)
    assert reference.flows_notice == "no capital for RUS in geodata/capitals.csv: arcs cannot be drawn"


def test_every_file_is_read_before_the_error_is_raised(tmp_path):
    folder = copy_geodata(tmp_path)
    truncate("countries.geojson", 1000)(folder)
    drop_column("organisation_members.csv", "role")(folder)
    with pytest.raises(ReferenceDataError) as raised:
        load_reference(folder)
    assert [p.file for p in raised.value.problems] == [
        "geodata/countries.geojson",
        "geodata/organisation_members.csv",
    ]


@pytest.mark.parametrize(
    ("text", "lines", "records", "problems"),
    [
        ("a,b\n1,2\n", [2], [["1", "2"]], []),
        # A stray quote on line 3 swallows lines 3-4; both are read again, the quote kept.
        (
            'a,b\n1,2\n3,"x\n5,6\n',
            [2, 3, 4],
            [["1", "2"], ["3", '"x'], ["5", "6"]],
            [
                "x.csv:3: b: unclosed quote before 'x': lines 3-4 read as one field; "
                "read again line by line, the quote kept as a plain character"
            ],
        ),
        # A line that stays wrong when read again is skipped; the swallowed lines are not.
        ('a,b\n"1,2,3\n4,5\n', [3], [["4", "5"]], ["x.csv:2: a: unclosed quote"]),
        # Line numbers stay the file's when the lines read again hold a stray quote of their own.
        (
            'a,b\n"1,2\n"3,4\n5,6\n',
            [2, 3, 4],
            [['"1', "2"], ['"3', "4"], ["5", "6"]],
            [
                "x.csv:2: a: unclosed quote before '1,2': lines 2-3",
                "x.csv:3: a: unclosed quote before '3,4': it runs",
            ],
        ),
    ],
)
def test_single_line_records_recover_from_stray_quotes(text, lines, records, problems):
    header, got_lines, got_records, got_problems = read_single_line_records(text, "x.csv")
    assert header == ["a", "b"] and got_lines == lines and got_records == records
    assert len(got_problems) == len(problems)
    assert all(str(p).startswith(prefix) for p, prefix in zip(got_problems, problems, strict=True))


FIELDS = {f"{c.file}:{f.name}": f for c in CONTRACTS for f in c.fields}


@pytest.mark.parametrize(
    ("field", "raw", "value", "reason"),
    [
        ("places.csv:lat", " 55.75 ", 55.75, ""),
        ("places.csv:lat", "95", None, "95 is outside -90..90"),
        ("places.csv:lon", "-180.5", None, "-180.5 is outside -180..180"),
        ("places.csv:lat", "nan", None, "'nan' is not a finite number"),
        ("places.csv:lat", "1_0", None, "'1_0' is not a finite number"),
        ("places.csv:lat", "", None, "required value is empty"),
        ("places.csv:country_iso3", "RU", None, "'RU' is not an ISO3 code (three capital letters)"),
        ("organisations.csv:seat_lat", "", None, ""),
        ("organisations.csv:acronym", "A;B", None, "'A;B' is not an acronym (letters, digits, hyphens)"),
        (
            "organisation_members.csv:role",
            "partner",
            None,
            "unknown role 'partner'; expected one of member, observer, dialogue partner",
        ),
        ("organisation_members.csv:as_of", "31/12/2019", None, "'31/12/2019' is not an ISO date"),
    ],
)
def test_check_value(field, raw, value, reason):
    got, why = check_value(FIELDS[field], raw, {})
    assert why.startswith(reason) and bool(why) == bool(reason)
    if not reason and value is not None:
        assert got == value


# ----- the command line -------------------------------------------------------------------------


def test_validate_lists_reference_problems_first_and_exits_1(tmp_path, capsys):
    folder = copy_geodata(tmp_path)
    drop_line("capitals.csv", "RUS,")(folder)
    replace_text("places.csv", "Sochi,RUS,43.597,", "Sochi,RUS,abc,")(folder)
    assert cli.main(["validate", "--geodata", str(folder)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "geodata/places.csv:17: lat: 'abc' is not a finite number",
        "geodata/capitals.csv:0: country_iso3: no capital for RUS: arcs cannot be drawn (warning)",
    ]
    # events.csv is not blamed: its own rows are all valid.
    reference_summary, events_summary = err.splitlines()
    assert reference_summary == "geodata: 2 problems in the reference data, 1 row skipped"
    assert re.fullmatch(r"events\.csv: [0-9]+ rows valid", events_summary)


def test_validate_with_unusable_reference_data_checks_no_events(tmp_path):
    """As an analyst runs it: `python -m dashboard validate --geodata DIR`, no traceback."""
    folder = copy_geodata(tmp_path)
    truncate("countries.geojson", 300_000)(folder)
    drop_column("organisations.csv", "acronym")(folder)
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "validate", "--geodata", str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        CASES[7].problems[0],
        f"geodata/organisations.csv:1: acronym: required column missing; {UNUSABLE}",
    ]
    assert done.stderr == "geodata: the reference data cannot be used; no events table was checked\n"


def test_export_with_unusable_reference_data_writes_nothing(tmp_path, capsys):
    folder = copy_geodata(tmp_path)
    remove("places.csv")(folder)
    assert cli.main(["export", "--geodata", str(folder)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "cannot read file" in err


# ----- the app ------------------------------------------------------------------------------------


def run_app(monkeypatch, folder: Path, params: dict[str, str] | None = None) -> AppTest:
    monkeypatch.setenv(ENV_GEODATA, str(folder))
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_app_shows_unusable_reference_data_as_an_error(tmp_path, monkeypatch):
    folder = copy_geodata(tmp_path)
    truncate("countries.geojson", 300_000)(folder)
    at = run_app(monkeypatch, folder)
    (error,) = at.error
    assert error.value.startswith("The reference data could not be loaded, so no events table was checked:")
    assert "\n\n- geodata/countries.geojson:1: -: not valid JSON, truncated? (Expecting value" in error.value
    assert not at.get("deck_gl_json_chart")


def test_app_flows_map_says_why_it_has_no_arcs(tmp_path, monkeypatch):
    folder = copy_geodata(tmp_path)
    drop_line("capitals.csv", "RUS,")(folder)
    at = run_app(monkeypatch, folder, {"view": "flows"})
    warnings = [w.value for w in at.warning]
    assert "no capital for RUS in geodata/capitals.csv: arcs cannot be drawn" in warnings
    assert any(
        w.startswith("Reference data (geodata/): 1 problem, 0 reference rows skipped") for w in warnings
    )
    (expander,) = at.expander
    assert expander.label == "Problems in the reference data (1)"
    table = expander.dataframe[0].value
    assert table.to_dict("records") == [
        {
            "file": "geodata/capitals.csv",
            "line": 0,
            "column": "country_iso3",
            "problem": "no capital for RUS: arcs cannot be drawn",
            "outcome": "-",
        }
    ]
