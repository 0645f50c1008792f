"""`python -m dashboard`: validate's report and exit code; export gives the download button's bytes."""

from __future__ import annotations

import csv
import io
import json
import shlex
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


@pytest.mark.parametrize(
    "command",
    [
        ["export", "--format", "zip", "-o", "{missing}/x.zip"],
        ["export", "-o", "{dir}"],
        ["figure", "--view", "timeline", "-o", "{missing}/x.svg"],
    ],
)
def test_an_output_that_cannot_be_written_is_named_not_a_traceback(tmp_path, capsys, command):
    args = [a.format(missing=tmp_path / "no" / "such", dir=tmp_path) for a in command]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{args[-1]}: cannot write:" in err


def test_repeated_filter_flags_add_up_as_repeated_url_keys_do(capsys):
    assert main(["export", "--country", "PRK", "--country", "SGP"]) == 0
    repeated = capsys.readouterr().out
    assert main(["export", "--country", "PRK,SGP"]) == 0
    assert repeated == capsys.readouterr().out
    main(["export", "--years", "2018", "--years", "2019"])
    assert "ignored: years: '2018,2019' is not a year" in capsys.readouterr().err


# ----- streaming export, and the command the Data page shows --------------------------------------


@pytest.fixture
def parquet_table(tmp_path, monkeypatch):
    """The shipped table served from its Parquet cache, whose rows must never be read whole."""
    import shutil

    import dashboard.dataset as dataset_module
    from dashboard.dataset import DEFAULT_EVENTS, ENV_CACHE

    shutil.copy(DEFAULT_EVENTS, tmp_path / "events.csv")
    monkeypatch.setenv(ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setattr(dataset_module, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(dataset_module, "LAZY_MIN_ROWS", 0)

    def never(self):
        raise AssertionError("the command line read every row of a Parquet-backed table into memory")

    monkeypatch.setattr(dataset_module._LazyLoad, "__call__", never)
    return tmp_path / "events.csv"


@pytest.mark.parametrize("fmt", ["csv", "geojson", "zip"])
@pytest.mark.parametrize(
    "params", [{}, {"country": "SGP"}, {"category": "summit,meeting", "years": "2018-2019", "stated": "1"}]
)
def test_export_streams_the_page_download_bytes_from_the_engine(parquet_table, tmp_path, fmt, params):
    """The file the CLI streams from a Parquet-backed table (its rows never read whole) is the
    download the Data page builds for the same filters from the table held in memory."""
    from dashboard.cli import export_command
    from dashboard.export import FORMATS, ExportContext

    shipped = load_dataset()
    state, _ = FilterState.from_query_params(params, shipped.vocabulary())
    page = FORMATS[fmt].write(state.selection(shipped.engine()), ExportContext(shipped, state, permalink=""))
    out = tmp_path / f"out.{fmt}"
    words = shlex.split(export_command(state, fmt, str(out)))
    assert words[:4] == ["python", "-m", "dashboard", "export"]
    assert main([*words[3:], "--events", str(parquet_table)]) == 0
    assert load_dataset(parquet_table).parquet is not None
    assert out.read_bytes() == page


def test_export_to_a_pipe_is_the_file_bytes(tmp_path):
    """Standard output that cannot seek gets the ZIP through a temporary file: the same bytes."""
    out = tmp_path / "sgp.zip"
    assert main(["export", "--country", "SGP", "--format", "zip", "-o", str(out)]) == 0
    piped = subprocess.run(
        [sys.executable, "-m", "dashboard", "export", "--country", "SGP", "--format", "zip"],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    assert piped.stdout == out.read_bytes()


def test_verify_reads_a_large_table_in_batches(parquet_table, tmp_path, capsys):
    """`verify` over the Parquet-backed table (rows never read whole) reports what it reports
    over the table in memory."""
    page = tmp_path / "page.txt"
    sources = load_dataset().sources
    titles = "\n".join(str(t) for t in sources.sort_values("article")["title"])
    page.write_text(titles + "\nThe two leaders met in Vladivostok.\n", encoding="utf-8")
    framed = main(["verify", str(page)]), sorted(capsys.readouterr().out.splitlines())
    cached = (
        main(["verify", str(page), "--events", str(parquet_table)]),
        sorted(capsys.readouterr().out.splitlines()),
    )
    assert load_dataset(parquet_table).parquet is not None
    assert cached == framed
    assert framed[0] == 1 and len(framed[1]) > 3


HOSTILE_QUERIES = ["-x", "--format zip", "it's", '"; rm -rf ~', "$(reboot)", "`id`", "a b\\c", "Ки́ев", "a*"]


@pytest.mark.parametrize("q", HOSTILE_QUERIES)
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"country": "SGP,PRK", "years": "2018-2019"},
        {"category": "trade", "org": "ASEAN", "article": "1,4", "stated": "1"},
    ],
)
def test_the_export_command_recreates_the_selection(q, params):
    """The command the Data page shows, split as a POSIX shell splits it and parsed by the CLI's
    own parser, gives back the same filters: values are arguments, never flags or shell syntax."""
    from dashboard.cli import _parser, export_command, filter_state

    vocabulary = load_dataset().vocabulary()
    state, notices = FilterState.from_query_params({**params, "q": q, "view": "flows"}, vocabulary)
    assert not notices
    for fmt in ("csv", "zip"):
        words = shlex.split(export_command(state, fmt))
        assert words[:3] == ["python", "-m", "dashboard"]
        args = _parser().parse_args(words[3:])
        assert (args.command, args.format, args.output) == ("export", fmt, f"summit-atlas-events.{fmt}")
        assert filter_state(args, vocabulary) == state.filters_only()


def test_the_export_command_of_no_filters_has_no_filter_flags():
    from dashboard.cli import export_command

    assert (
        export_command(FilterState()) == "python -m dashboard export --format csv -o summit-atlas-events.csv"
    )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False], ids=["a terminal", "a file or pipe"])
def test_long_steps_show_progress_on_a_terminal_only(monkeypatch, tmp_path, terminal):
    """A check or export of millions of rows takes minutes: a terminal sees what is happening;
    a log or a test sees only the outcome."""
    from dashboard import cli

    err = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(cli.sys, "stderr", err)
    clock = iter(range(0, 10_000, 1))
    monkeypatch.setattr(cli.time, "monotonic", lambda: float(next(clock)))
    assert main(["export", "--format", "csv", "-o", str(tmp_path / "out.csv")]) == 0
    shown = err.getvalue()
    assert shown.endswith(f"wrote 103 rows to {tmp_path / 'out.csv'}\n")
    if terminal:
        assert "Placing 103 events in their countries" in shown and "MB written…" in shown
        # Each progress line is cleared before the next message, so none runs into it.
        assert "\r\x1b[Kwrote 103 rows" in shown
    else:
        assert "\r" not in shown and "\x1b" not in shown
