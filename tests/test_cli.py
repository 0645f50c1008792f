"""`python -m dashboard`: validate's report and exit code; export gives the download button's bytes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from dashboard.cli import main
from dashboard.dataset import load_dataset
from dashboard.export import to_csv_bytes, to_geojson_bytes
from dashboard.filters import FilterState
from tests.conftest import REPO, row, table_bytes


def test_validate_shipped_data_passes(capsys):
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("rows valid")


def test_validate_names_every_problem_and_exits_1(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        table_bytes(
            [
                row(event_id="ok", country_iso3="SGP"),
                row(event_id="two", lat="95"),
                row(event_id="three", category="party", date_start="2018-13-40"),
            ]
        )
    )
    assert main(["validate", str(bad)]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert "bad.csv:3: lat: 95 is outside -90..90" in lines
    assert any(line.startswith("bad.csv:4: category: unknown category 'party'") for line in lines)
    assert any(line.startswith("bad.csv:4: date_start: '2018-13-40' has month 13") for line in lines)
    assert "1 of 3 rows loaded, 2 skipped" in captured.err


@pytest.mark.parametrize(
    ("args", "params"),
    [
        ([], {}),
        (["--country", "SGP,PRK"], {"country": "SGP,PRK"}),
        (
            ["--category", "summit,meeting", "--years", "2010-2019"],
            {"category": "summit,meeting", "years": "2010-2019"},
        ),
        (["--org", "ASEAN", "--q", "summit"], {"org": "ASEAN", "q": "summit"}),
        (["--article", "4"], {"article": "4"}),
    ],
)
def test_export_gives_the_download_buttons_bytes(tmp_path, args, params):
    dataset = load_dataset()
    state, _ = FilterState.from_query_params(params, dataset.vocabulary())
    rows = state.apply(dataset.events)
    out = tmp_path / "x.csv"
    assert main(["export", *args, "-o", str(out)]) == 0
    assert out.read_bytes() == to_csv_bytes(rows)
    geo = tmp_path / "x.geojson"
    assert main(["export", *args, "--format", "geojson", "-o", str(geo)]) == 0
    assert geo.read_bytes() == to_geojson_bytes(rows)
    assert len(json.loads(geo.read_bytes())["features"]) == len(rows)


def test_export_reports_ignored_filters(capsys):
    assert main(["export", "--country", "XXX", "-o", "/dev/null"]) == 0
    assert "ignored: country: 'XXX' is not a known country code" in capsys.readouterr().err


def test_module_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "dashboard", "validate"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_export_stated_flag_keeps_only_stated_rows(tmp_path):
    out = tmp_path / "stated.csv"
    assert main(["export", "--stated", "-o", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows and all(r["date_inferred"] == "false" and r["place_inferred"] == "false" for r in rows)


def test_export_formats_come_from_the_registry(capsys):
    from dashboard.export import FORMATS

    with pytest.raises(SystemExit):
        main(["export", "--format", "nope"])
    err = capsys.readouterr().err
    assert all(key in err for key in FORMATS)


def test_export_zip_is_the_data_package_of_the_filtered_rows(tmp_path):
    import zipfile

    from dashboard.package import PACKAGE_FILES

    out = tmp_path / "sgp.zip"
    assert main(["export", "--country", "SGP", "--format", "zip", "--url", "http://h:1", "-o", str(out)]) == 0
    archive = zipfile.ZipFile(out)
    assert archive.namelist() == list(PACKAGE_FILES)
    dataset = load_dataset()
    state, _ = FilterState.from_query_params({"country": "SGP"}, dataset.vocabulary())
    assert archive.read("events.csv") == to_csv_bytes(state.apply(dataset.events))
    assert "<http://h:1/data?country=SGP>" in archive.read("README.md").decode("utf-8")


@pytest.mark.parametrize(
    ("args", "suffix", "head"),
    [
        (["--view", "summits", "--country", "SGP"], "png", b"\x89PNG"),
        (["--view", "partnerships", "--members", "ASEAN"], "svg", b"<?xml"),
        (["--view", "flows", "--url", "http://h:1"], "svg", b"<?xml"),
        (["--view", "timeline", "--category", "summit"], "svg", b"<?xml"),
    ],
)
def test_figure_writes_the_view_in_the_format_its_name_asks(tmp_path, args, suffix, head):
    out = tmp_path / f"figure.{suffix}"
    assert main(["figure", *args, "-o", str(out)]) == 0
    assert out.read_bytes().startswith(head)


def test_figure_names_a_bad_file_suffix(tmp_path, capsys):
    assert main(["figure", "-o", str(tmp_path / "figure.pdf")]) == 2
    assert "figure.pdf: a figure file name ends in .png or .svg" in capsys.readouterr().err
