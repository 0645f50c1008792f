"""The data package: exact contents, a README that cites, and Frictionless validation of every package.

The schema test runs the same cells through `load_events` (what `python -m dashboard validate`
does) and through Frictionless with the package's own Table Schemas: every value the validator
rejects for its type, vocabulary or form, the package schema rejects too.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import zipfile
from types import SimpleNamespace

import frictionless
import pytest

from dashboard import dataset as ds
from dashboard.data import load_events, load_sources
from dashboard.export import neutralise, to_csv_bytes, to_geojson_bytes
from dashboard.filters import FilterState
from dashboard.package import (
    DATE_PATTERN,
    GEODATA_LICENCES,
    PACKAGE_FILES,
    SAFE_TEXT_PATTERN,
    data_package_bytes,
    datapackage,
    events_table_schema,
    package_files,
    permalink,
    source_columns,
    sources_csv_bytes,
    sources_table_schema,
    tool_version,
    write_package,
)
from dashboard.schema import CATEGORIES, DATE_RE, EVENT_COLUMNS, SOURCE_COLUMNS
from tests.conftest import REPO, row, table_bytes

DAY = datetime.date(2025, 3, 14)
VERSION = "test-1"


@pytest.fixture(scope="module")
def shipped():
    return ds.load_dataset()


def build(rows, dataset, state, link="http://localhost:8501/data"):
    return data_package_bytes(
        rows, dataset, state, permalink=permalink(link, state.filters_only()), generated=DAY, version=VERSION
    )


def unzip(payload: bytes, into) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(payload))
    archive.extractall(into)
    return {name: archive.read(name) for name in archive.namelist()}


def frictionless_errors(folder) -> list:
    report = frictionless.validate(str(folder / "datapackage.json"))
    return report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])


STATES = {
    "unfiltered": {},
    "filtered": {"country": "SGP,PRK", "category": "summit,meeting,trade"},
    "search": {"q": "Vladivostok", "years": "2019"},
    "empty": {"q": "no event says this"},
}


@pytest.mark.parametrize("params", STATES.values(), ids=STATES.keys())
def test_every_package_holds_the_filtered_rows_and_validates(shipped, params, tmp_path):
    state, notices = FilterState.from_query_params(params, shipped.vocabulary())
    assert not notices
    rows = state.apply(shipped.events)
    files = unzip(build(rows, shipped, state), tmp_path)
    assert list(files) == list(PACKAGE_FILES)
    # The same bytes as the Data page's CSV and GeoJSON downloads.
    assert files["events.csv"] == to_csv_bytes(rows)
    assert files["events.geojson"] == to_geojson_bytes(rows)
    events = list(csv.DictReader(io.StringIO(files["events.csv"].decode("utf-8-sig"), newline="")))
    assert len(events) == len(rows)
    sources = list(csv.DictReader(io.StringIO(files["sources.csv"].decode("utf-8-sig"), newline="")))
    assert sorted(int(s["article"]) for s in sources) == sorted({int(a) for a in rows["article"]})
    assert frictionless_errors(tmp_path) == []


def test_package_bytes_are_the_same_for_the_same_inputs(shipped):
    state = FilterState(countries=("SGP",))
    rows = state.apply(shipped.events)
    assert build(rows, shipped, state) == build(rows, shipped, state)


def test_descriptor_declares_keys_types_and_the_files_hashes(shipped):
    state = FilterState(categories=("trade",))
    rows = state.apply(shipped.events)
    files = package_files(rows, shipped, state, permalink="http://x/data", generated=DAY, version=VERSION)
    descriptor = json.loads(files["datapackage.json"])
    resources = {r["name"]: r for r in descriptor["resources"]}
    assert set(resources) == {"events", "sources", "events-geojson"}
    events = resources["events"]
    assert events["schema"]["primaryKey"] == ["event_id"]
    assert events["schema"]["foreignKeys"] == [
        {"fields": ["article"], "reference": {"resource": "sources", "fields": ["article"]}}
    ]
    assert [f["name"] for f in events["schema"]["fields"]] == list(EVENT_COLUMNS)
    types = {f["name"]: f["type"] for f in events["schema"]["fields"]}
    assert (types["lat"], types["article"], types["date_inferred"], types["title"]) == (
        "number",
        "integer",
        "boolean",
        "string",
    )
    category = next(f for f in events["schema"]["fields"] if f["name"] == "category")
    assert category["constraints"] == {"required": True, "enum": list(CATEGORIES)}
    assert resources["sources"]["schema"]["primaryKey"] == ["article"]
    assert [f["name"] for f in resources["sources"]["schema"]["fields"]] == source_columns(shipped.sources)
    for resource in resources.values():
        payload = files[resource["path"]]
        assert resource["bytes"] == len(payload)
        assert resource["hash"].startswith("sha256:")
    assert descriptor["summit_atlas"] == {
        "tool": "Summit Atlas",
        "version": VERSION,
        "generated": "2025-03-14",
        "filters": "Trade events.",
        "query": {"category": "trade"},
        "permalink": "http://x/data",
    }


def test_readme_says_what_where_how_to_cite_every_column_and_the_licences(shipped):
    state = FilterState(countries=("SGP",), q="summit")
    rows = state.apply(shipped.events)
    link = permalink("http://localhost:8501/data", state)
    files = package_files(rows, shipped, state, permalink=link, generated=DAY, version=VERSION)
    readme = files["README.md"].decode("utf-8")
    assert "All events involving Singapore mentioning “summit”." in readme
    assert f"<{link}>" in readme and link == "http://localhost:8501/data?country=SGP&q=summit"
    assert "<http://localhost:8501/data?country=SGP&q=summit>" in readme.split("## How to cite")[1]
    assert f"Summit Atlas (version {VERSION})" in readme and "2025-03-14" in readme
    for column in (*EVENT_COLUMNS, *SOURCE_COLUMNS):
        assert f"| `{column}` |" in readme, column
    for title in shipped.sources.loc[shipped.sources["article"].isin(rows["article"]), "title"]:
        assert title in readme.replace("\\", "")
    for name, licence, _ in GEODATA_LICENCES:
        assert f"**{name}** ({licence})" in readme
    for flag in ("date_inferred", "place_inferred", "date_inference_note", "place_inference_note"):
        assert f"`{flag}`" in readme


def test_geodata_licences_match_geodata_readme():
    text = " ".join((REPO / "geodata" / "README.md").read_text(encoding="utf-8").replace("`", "").split())
    for name, licence, _ in GEODATA_LICENCES:
        assert name in text and licence in text, (name, licence)


def test_text_from_the_url_and_the_data_is_escaped_in_the_readme(shipped):
    state = FilterState(q="*bold* [link](http://evil) <b>x</b> | $x$")
    rows = shipped.events.iloc[0:0]
    readme = package_files(rows, shipped, state, permalink="/data?q=x", generated=DAY, version=VERSION)[
        "README.md"
    ].decode("utf-8")
    assert "*bold*" not in readme and "[link](" not in readme and "<b>" not in readme
    assert r"\*bold\* \[link\](http://evil) \<b\>x\</b\> \| \$x\$" in readme
    # A relative link is shown as text, not turned into a Markdown link.
    assert "/data?q=x" in readme and "</data" not in readme


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "\nx", "'=x", "''+x", "plain", "'plain", "a=b", "x"],
)
def test_safe_text_pattern_accepts_every_exported_cell(text):
    assert re.fullmatch(SAFE_TEXT_PATTERN, neutralise(text))


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-2", "@x", "\tx", "\rx", "\nx"])
def test_safe_text_pattern_rejects_a_bare_formula(text):
    assert not re.fullmatch(SAFE_TEXT_PATTERN, text)


# ----- the schema rejects what the validator rejects ------------------------------------------


def exported_file(cells: dict[str, str]) -> bytes:
    """One row as the exporter lays it out (BOM, CRLF), with the cells exactly as given."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EVENT_COLUMNS)
    writer.writerow([cells[c] for c in EVENT_COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def frictionless_on(events_csv: bytes, tiny_ref, tmp_path) -> list:
    """Frictionless errors for a package made of this events.csv and the shipped sources."""
    sources, _ = load_sources()
    files = {
        "events.csv": events_csv,
        "sources.csv": sources_csv_bytes(sources),
        "events.geojson": b'{"type":"FeatureCollection","features":[]}',
    }
    descriptor = datapackage(
        files,
        events_table_schema(EVENT_COLUMNS, tiny_ref),
        sources_table_schema(source_columns(sources)),
        sentence="All events.",
        link="",
        generated=DAY,
        version=VERSION,
        query={},
        cited=sources,
    )
    for name, payload in files.items():
        (tmp_path / name).write_bytes(payload)
    (tmp_path / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    return frictionless_errors(tmp_path)


BAD_CELLS = {
    "unknown category": {"category": "banquet"},
    "non-numeric lat": {"lat": "north"},
    "lat out of range": {"lat": "95"},
    "lon out of range": {"lon": "-181"},
    "non-boolean flag": {"date_inferred": "maybe"},
    "non-boolean place flag": {"place_inferred": "2"},
    "date not ISO": {"date_start": "2018/11/13", "date_end": ""},
    "date end not ISO": {"date_end": "13 Nov 2018"},
    "month 13": {"date_start": "2018-13", "date_end": ""},
    "day 32": {"date_start": "2018-01-32", "date_end": ""},
    "id not a slug": {"event_id": "Bad ID"},
    "unknown country": {"country_iso3": "XXX"},
    "lowercase country": {"country_iso3": "sgpx"},
    "unknown participant": {"participants": "RUS;XXX"},
    "unknown organisation": {"organisations": "NATO"},
    "article not whole": {"article": "1.5"},
    "article not in sources": {"article": "9"},
    "missing evidence": {"evidence": ""},
    "missing title": {"title": ""},
    "value not a number": {"value": "lots", "unit": "USD"},
    "evidence too long": {"evidence": "x" * 202},
}


@pytest.mark.parametrize("bad", BAD_CELLS.values(), ids=BAD_CELLS.keys())
def test_package_schema_rejects_what_validate_rejects(bad, tiny_ref, tmp_path):
    cells = row(**bad)
    result = load_events(exported_file(cells), tiny_ref, frozenset({1, 2, 3, 4}), name="events.csv")
    assert result.problems, "the validator should reject this row"
    assert frictionless_on(exported_file(cells), tiny_ref, tmp_path), (
        "the package schema should reject it too"
    )


def test_package_schema_accepts_a_valid_row_and_neutralised_cells_at_full_length(tiny_ref, tmp_path):
    # An evidence quote of the full 200 characters that starts with '-' is written with the
    # exporter's apostrophe (201 characters in the file): both readers accept it.
    quote = "-" + "q" * 199
    frame = load_events(table_bytes([row(evidence=quote, title="=1+1", place="@home")]), tiny_ref, None).frame
    exported = to_csv_bytes(frame)
    assert b"'-qqq" in exported and b"'=1+1" in exported
    assert load_events(exported, tiny_ref, frozenset({1, 2, 3, 4})).ok
    assert frictionless_on(exported, tiny_ref, tmp_path) == []


def test_duplicate_ids_break_the_primary_key(tiny_ref, tmp_path):
    exported = exported_file(row()) + exported_file(row()).split(b"\r\n", 1)[1]
    assert any("duplicate id" in p.reason for p in load_events(exported, tiny_ref, None).problems)
    assert any(e[3] == "primary-key" for e in frictionless_on(exported, tiny_ref, tmp_path))


def test_extra_columns_are_declared_as_safe_text(tiny_ref, tmp_path):
    table = table_bytes([row(notes="=secret")], columns=[*EVENT_COLUMNS, "notes"])
    dataset = ds.build_dataset(table, tiny_ref, load_sources()[0], name="extra.csv")
    state = FilterState()
    files = unzip(build(dataset.events, dataset, state), tmp_path)
    fields = json.loads(files["datapackage.json"])["resources"][0]["schema"]["fields"]
    assert fields[-1]["name"] == "notes" and fields[-1]["constraints"] == {"pattern": SAFE_TEXT_PATTERN}
    assert b"'=secret" in files["events.csv"]
    assert frictionless_errors(tmp_path) == []


def test_tool_version_is_a_short_token():
    version = tool_version()
    assert re.fullmatch(r"[A-Za-z0-9._+\-]{1,64}", version)


def test_permalink_writes_only_what_differs_from_the_default():
    assert permalink("http://h/data?old=1", FilterState()) == "http://h/data"
    state = FilterState(view="flows", countries=("SGP", "PRK"), q="a b&c")
    assert permalink("/", state) == "/?view=flows&country=SGP%2CPRK&q=a+b%26c"
    assert permalink("/data", state.filters_only()) == "/data?country=SGP%2CPRK&q=a+b%26c"


def test_the_export_registry_writer_dates_and_versions_the_package(shipped, tmp_path):
    """`write_package(rows, context, out)`: the writer `export.FORMATS["zip"]` calls; the command
    line gives no link, and the README says so."""
    state = FilterState(categories=("summit",))
    rows = state.apply(shipped.events)
    context = SimpleNamespace(dataset=shipped, state=state, permalink="")
    out = io.BytesIO()
    write_package(rows, context, out)
    files = unzip(out.getvalue(), tmp_path)
    readme = files["README.md"].decode("utf-8")
    assert "not recorded" in readme and datetime.date.today().isoformat() in readme
    assert f"version {tool_version()}" in readme
    assert frictionless_errors(tmp_path) == []


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2018", True),
        ("2018-11", True),
        ("2018-11-13", True),
        ("1904-12-31", True),
        ("2018-00", False),
        ("2018-13", False),
        ("2018-11-00", False),
        ("2018-11-32", False),
        ("18-11-13", False),
        ("2018/11/13", False),
        ("２０１８", False),  # full-width digits: DATE_RE takes [0-9] only
    ],
)
def test_date_pattern_is_date_re_with_calendar_ranges(text, valid):
    assert bool(re.fullmatch(DATE_PATTERN, text)) is valid
    if valid:
        assert DATE_RE.match(text)


@pytest.mark.parametrize("state", [FilterState(), FilterState(categories=("trade",))], ids=["all", "trade"])
def test_a_package_from_the_engine_is_the_package_of_the_frame(shipped, state, tmp_path):
    """The Data page hands the package its selection: counted, cited and read in batches from a
    Parquet file, never as one frame, it holds exactly the bytes the frame gives."""
    from dashboard.engine import Engine

    path = tmp_path / "events.parquet"
    frame = shipped.events.copy()
    frame.attrs = {}
    frame.to_parquet(path, index=False)
    engine = Engine.from_parquet(path)
    from_frame = build(state.apply(shipped.events), shipped, state)
    assert build(state.selection(engine), shipped, state) == from_frame


def test_a_package_spooled_to_disk_is_the_package_held_in_memory(shipped, monkeypatch, tmp_path):
    """Large members roll over to temporary files (`SPOOL_BYTES`) and are copied into the ZIP as
    `writestr` writes bytes: the same package, byte for byte."""
    from dashboard import package

    state = FilterState(categories=("summit", "trade"))
    rows = state.apply(shipped.events)
    in_memory = build(rows, shipped, state)
    monkeypatch.setattr(package, "SPOOL_BYTES", 1)
    spooled = []
    real = package.Spooled.__init__

    def spy(self, chunks):
        real(self, chunks)
        spooled.append(self.file._rolled)

    monkeypatch.setattr(package.Spooled, "__init__", spy)
    out = tmp_path / "p.zip"
    with out.open("wb") as file:
        package.write_data_package(
            rows,
            shipped,
            state,
            file,
            permalink=permalink("http://localhost:8501/data", state),
            generated=DAY,
            version=VERSION,
        )
    assert spooled == [True, True]  # events.csv and events.geojson went to disk
    assert out.read_bytes() == in_memory
