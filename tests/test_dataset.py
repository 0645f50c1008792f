"""The dataset seam: a large table is checked once, then read back from its Parquet cache, which
is verified on every read (each defect of issue 10 is a miss, rebuilt with a notice)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import dataset as ds
from dashboard import signing
from dashboard.data import DEFAULT_EVENTS, load_sources
from dashboard.export import to_geojson_bytes
from tests.conftest import REPO, row, table_bytes


@pytest.fixture
def table(tmp_path):
    rows = [row(event_id=f"e-{i}") for i in range(5)] + [row(event_id="bad", category="nonsense")]
    path = tmp_path / "events.csv"
    path.write_bytes(table_bytes(rows))
    return path


def test_large_tables_are_cached_as_parquet_and_read_back_the_same(table, tmp_path, tiny_ref, monkeypatch):
    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    sources, problems = load_sources()
    steps = []
    first = ds.build_dataset(table, tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    again = ds.build_dataset(
        table, tiny_ref, sources, problems, cache_dir=tmp_path / "c", progress=lambda f, t: steps.append(f)
    )
    assert not first.from_cache and again.from_cache
    # Prose comes back Arrow-backed (`str`), same values: compare values, not dtypes.
    pd.testing.assert_frame_equal(first.events, again.events, check_dtype=False)
    pd.testing.assert_frame_equal(first.result.frame, again.result.frame, check_dtype=False)
    assert again.result.problems == first.result.problems and len(first.result.problems) == 1
    assert again.result.rows_read == 6 and steps[-1] == 1.0
    assert list((tmp_path / "c").glob("*.parquet"))


def test_a_cached_table_lists_in_the_views_order_and_answers_as_a_frame(tmp_path, tiny_ref, monkeypatch):
    # Rows out of date order in the CSV stay so in the Parquet file (sorting 10M wide rows once
    # costs more than the pages do); the engine lists them in the views' order, as a frame.
    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    dates = ["2019-04-25", "", "2018", "2019-01", "2001-05-02", ""]
    rows = [row(event_id=f"e-{i}", date_start=d, date_end="") for i, d in enumerate(dates)]
    path = tmp_path / "events.csv"
    path.write_bytes(table_bytes(rows))
    sources, problems = load_sources()
    big = ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    small = ds.build_dataset(path.read_bytes(), tiny_ref, sources, problems, name="events.csv")
    assert big.parquet is not None and big.loaded is None and small.parquet is None
    order = ["e-4", "e-2", "e-3", "e-0", "e-1", "e-5"]
    assert small.events["event_id"].tolist() == order
    engine = big.engine()
    assert not engine.in_date_order()
    assert engine.rows()["event_id"].tolist() == order
    assert engine.rows(limit=2, offset=1)["event_id"].tolist() == order[1:3]
    assert [i for b in engine.batches(size=4) for i in b["event_id"]] == order
    a, b = big.vocabulary(), small.vocabulary()
    for name in ("year_min", "year_max", "year_counts", "orgs_in_use", "countries_in_use"):
        assert getattr(a, name) == getattr(b, name), name
    assert "e-3" in a.event_ids and "e-3" in b.event_ids and "nope" not in a.event_ids
    assert 1 not in a.event_ids  # only strings are ids
    assert big.loaded is None  # nothing above read the rows into memory


def test_an_edited_file_is_checked_again(table, tmp_path, tiny_ref, monkeypatch):
    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    sources, problems = load_sources()
    ds.build_dataset(table, tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    table.write_bytes(table_bytes([row(event_id="only-one")]))
    fresh = ds.build_dataset(table, tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    assert not fresh.from_cache and list(fresh.events["event_id"]) == ["only-one"]


def test_small_tables_and_uploads_are_not_cached(table, tmp_path, tiny_ref):
    sources, problems = load_sources()
    ds.build_dataset(table, tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    ds.build_dataset(table.read_bytes(), tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_an_unwritable_cache_is_skipped(table, tmp_path, tiny_ref, monkeypatch):
    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    sources, problems = load_sources()
    result = ds.build_dataset(table, tiny_ref, sources, problems, cache_dir=blocker / "c")
    assert len(result.events) == 5


def test_codes_in_use_are_distinct_and_sorted():
    dataset = ds.load_dataset()
    orgs = dataset.codes_in_use("organisations")
    assert orgs == tuple(sorted(set(orgs)))
    assert {"ASEAN", "EAS", "APEC", "BRICS"} <= set(orgs)
    assert "" not in dataset.codes_in_use("country_iso3")
    assert dataset.codes_in_use("participants") is dataset.codes_in_use("participants")  # memoised


# ----- the cache is untrusted: every defect is a miss, rebuilt from the CSV, with a notice ----------

MISS = "rebuilt from the CSV"


@pytest.fixture
def cached(table, tmp_path, tiny_ref, monkeypatch):
    """A table, its cache written once, and a `load` that builds the dataset again."""
    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    sources, problems = load_sources()
    folder = tmp_path / "c"

    def load():
        return ds.build_dataset(table, tiny_ref, sources, problems, cache_dir=folder)

    first = load()
    assert not first.from_cache and first.notices == ()
    # Its rows read now, as checked: a test then edits the file this dataset holds open.
    first.events  # noqa: B018
    (parquet,) = folder.glob("*.parquet")
    (sidecar,) = folder.glob("*.json")
    return first, load, parquet, sidecar


def resign(parquet, sidecar) -> None:
    """Make the sidecar vouch for the Parquet file as it now is: what a deliberate edit would do."""
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    meta["parquet_sha256"] = hashlib.sha256(parquet.read_bytes()).hexdigest()
    meta["sidecar_sha256"] = ds._sidecar_digest(meta)
    sidecar.write_bytes(ds._json_bytes(meta))


def edit_row(parquet, column, value) -> None:
    frame = pd.read_parquet(parquet)
    frame.loc[0, column] = value
    frame.to_parquet(parquet, index=False)


def assert_rebuilt(dataset, first, why: str) -> None:
    assert not dataset.from_cache
    (notice,) = dataset.notices
    assert notice.startswith("cache ") and f"was unreadable or inconsistent ({why}" in notice
    assert notice.endswith(f"); {MISS}")
    pd.testing.assert_frame_equal(dataset.events, first.events)
    assert dataset.result.problems == first.result.problems


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        ("lon", float("inf"), "lon inf is not finite"),
        ("lat", 91.0, "lat 91.0 is outside -90..90"),
        ("event_id", "Bad Id!", "event_id 'Bad Id!' is not a slug"),
        ("event_id", "e-1", "event_id 'e-1' occurs twice"),
        ("category", "party", "category 'party' is not a category"),
        ("date_start", "next year", "date_start 'next year' is not an ISO date"),
    ],
)
@pytest.mark.parametrize("lazy", [False, True], ids=["read in memory", "verified by DuckDB"])
def test_an_edited_row_in_the_cache_is_never_served(cached, column, value, why, lazy, monkeypatch):
    if lazy:  # a large table is verified where it lies, its invariants asked of DuckDB
        monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    first, load, parquet, sidecar = cached
    edit_row(parquet, column, value)
    # The sidecar's digest of the Parquet file catches the edit...
    assert_rebuilt(load(), first, "the Parquet file's SHA-256 differs")
    # ...and when the sidecar is made to vouch for it too, the table's own invariants do.
    edit_row(parquet, column, value)
    resign(parquet, sidecar)
    assert_rebuilt(load(), first, why)
    again = load()  # the rebuild replaced the bad entry
    assert again.from_cache and again.notices == ()


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        ("participants", "RUS;XXX", "participants 'RUS;XXX' holds a code that is not a known ISO3 code"),
        ("organisations", "NOPE", "organisations 'NOPE' holds an unknown organisation"),
        ("year_start", 1066, "year_start 1066 does not match the dates"),
        ("year_end", 2999, "year_end 2999 does not match the dates"),
        ("title", "x" * 301, "title of 'e-0' is longer than 300 characters"),
        ("evidence", " ", "evidence of 'e-0' is empty"),
        ("value", 5.0, "unit of 'e-0' is empty while a value is given"),
        ("date_inferred", True, "date_inference_note of 'e-0' is empty while date_inferred is true"),
        ("country_name", "Atlantis", "country_name 'Atlantis' / continent 'Asia' do not belong to 'SGP'"),
    ],
)
@pytest.mark.parametrize("lazy", [False, True], ids=["read in memory", "verified by DuckDB"])
def test_a_resigned_cache_breaking_a_rule_of_the_checker_is_never_served(
    cached, column, value, why, lazy, monkeypatch
):
    """List codes, derived years and names, and the checker's row rules, each a miss (issue 10)."""
    if lazy:
        monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    first, load, parquet, sidecar = cached
    edit_row(parquet, column, value)
    resign(parquet, sidecar)
    assert_rebuilt(load(), first, why)


@pytest.mark.parametrize("lazy", [False, True], ids=["read in memory", "verified by DuckDB"])
def test_an_extra_column_the_loader_would_refuse_is_never_served_from_the_cache(cached, lazy, monkeypatch):
    if lazy:
        monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    first, load, parquet, sidecar = cached
    frame = pd.read_parquet(parquet)
    frame["=cmd"] = "x"
    frame.to_parquet(parquet, index=False)
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    meta["columns"], meta["extra_columns"] = list(frame.columns), ["=cmd"]
    sidecar.write_bytes(ds._json_bytes(meta))
    resign(parquet, sidecar)
    assert_rebuilt(load(), first, "its extra column '=cmd' could not be loaded: name starts with '='")


def test_lon_inf_in_the_cache_never_reaches_a_geojson_export(cached):
    _first, load, parquet, sidecar = cached
    edit_row(parquet, "lon", float("inf"))
    resign(parquet, sidecar)
    dataset = load()
    assert not dataset.from_cache and np.isfinite(dataset.events["lon"].dropna()).all()
    text = to_geojson_bytes(dataset.events).decode("utf-8")
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the GeoJSON"))


def test_the_geojson_writer_refuses_infinities_naming_the_column(cached):
    frame = cached[0].events.copy()
    frame.loc[0, "lon"] = float("inf")
    with pytest.raises(ValueError, match=r"^GeoJSON export: column lon: inf is not a finite number$"):
        to_geojson_bytes(frame)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{}", "its sidecar lacks 'sidecar_sha256' or it is not a str"),
        (b"", "its sidecar is not JSON: Expecting value"),
        (b"[]", "its sidecar is not a JSON object"),
        (b'{"sidecar_sha256": "0"}', "its sidecar lacks 'key' or it is not a dict"),
    ],
)
def test_a_broken_sidecar_is_a_miss(cached, content, why):
    first, load, _parquet, sidecar = cached
    sidecar.write_bytes(content)
    assert_rebuilt(load(), first, why)


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("rows", 2, "it holds 5 rows; its sidecar says 2"),
        ("rows", True, "its sidecar lacks 'rows' or it is not a int"),
        ("problems", [{"file": "x"}], "its sidecar holds a malformed problem"),
        ("key", {"version": "0"}, "its sidecar was written for other content"),
        ("columns", ["event_id"], "its columns differ from those of a checked table"),
    ],
)
def test_a_sidecar_that_disagrees_with_its_parquet_is_a_miss(cached, key, value, why):
    first, load, _parquet, sidecar = cached
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    meta[key] = value
    meta["sidecar_sha256"] = ds._sidecar_digest(meta)
    sidecar.write_bytes(ds._json_bytes(meta))
    assert_rebuilt(load(), first, why)


def test_a_missing_sidecar_or_parquet_is_a_miss(cached):
    first, load, parquet, sidecar = cached
    sidecar.unlink()
    assert_rebuilt(load(), first, "its sidecar is missing")
    parquet.unlink()
    assert_rebuilt(load(), first, "its Parquet file is missing")


def test_a_truncated_parquet_is_a_miss(cached):
    first, load, parquet, sidecar = cached
    parquet.write_bytes(parquet.read_bytes()[:-100])
    assert_rebuilt(load(), first, "the Parquet file's SHA-256 differs")
    parquet.write_bytes(parquet.read_bytes()[:-100])
    resign(parquet, sidecar)
    assert_rebuilt(load(), first, "")  # pyarrow's own error, whatever its words


@pytest.mark.parametrize("target", ["parquet", "sidecar"])
def test_random_byte_flips_are_caught_or_change_nothing(cached, target):
    """30 seeded flips per file: each is a miss with a notice, or provably changes nothing (the
    dataset served equals the one first built, problems and counts included)."""
    first, load, parquet, sidecar = cached
    path = parquet if target == "parquet" else sidecar
    original = path.read_bytes()
    rng = random.Random(20181113)
    outcomes = []
    for _ in range(30):
        flipped = bytearray(original)
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(flipped))
        dataset = load()
        if dataset.from_cache:
            outcomes.append("same")
            assert dataset.notices == ()
        else:
            outcomes.append("miss")
            assert dataset.notices and dataset.notices[0].endswith(MISS)
        pd.testing.assert_frame_equal(dataset.events, first.events, check_dtype=False)
        assert dataset.result.problems == first.result.problems
        assert dataset.result.rows_read == first.result.rows_read
        path.write_bytes(original)
    assert outcomes.count("miss") >= 25  # the digests catch (nearly) all of them


def test_a_same_size_edit_with_the_mtime_restored_is_not_served_stale(cached, table):
    _first, load, _parquet, _sidecar = cached
    before = table.stat()
    raw = table.read_bytes()
    edited = raw.replace(b"Summit in Singapore", b"Summit in Singap0re", 1)
    assert len(edited) == len(raw) and edited != raw
    table.write_bytes(edited)
    os.utime(table, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert table.stat().st_mtime_ns == before.st_mtime_ns and table.stat().st_size == before.st_size
    fresh = load()
    assert not fresh.from_cache and fresh.notices == ()  # another key: a plain miss, not a broken entry
    assert "Summit in Singap0re" in set(fresh.events["title"])


def test_a_failed_write_leaves_no_temporary_file(cached, monkeypatch):
    first, load, parquet, sidecar = cached
    sidecar.unlink()
    real = os.replace

    def crash_on_sidecar(src, dst):
        if str(dst).endswith(".json"):
            raise OSError("disk full")
        real(src, dst)

    monkeypatch.setattr(ds.os, "replace", crash_on_sidecar)
    dataset = load()
    assert any("not written (OSError: disk full)" in n for n in dataset.notices)
    assert not list(parquet.parent.glob("*.tmp")) and not list(parquet.parent.glob(".*.tmp"))
    monkeypatch.setattr(ds.os, "replace", real)
    # The new Parquet file has no sidecar: a miss, never paired with an old sidecar.
    assert_rebuilt(load(), first, "its sidecar is missing")


def test_an_interrupted_write_removes_its_temporary_files(cached, monkeypatch):
    _first, load, parquet, sidecar = cached
    sidecar.unlink()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(ds.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load()
    assert not list(parquet.parent.glob(".*.tmp"))


def test_stale_temporary_files_are_cleaned_on_the_next_write(cached):
    _first, load, parquet, sidecar = cached
    folder = parquet.parent
    stale, recent = folder / ".events-x.parquet.abc.tmp", folder / ".events-y.parquet.def.tmp"
    for path in (stale, recent):
        path.write_bytes(b"left by a crash")
    two_hours_ago = time.time() - 2 * ds.STALE_TMP_SECONDS
    os.utime(stale, (two_hours_ago, two_hours_ago))
    sidecar.unlink()  # force a rebuild, hence a write
    load()
    assert not stale.exists() and recent.exists()  # a recent one may be another process's write


def test_the_sidecar_is_strict_json():
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        ds._json_bytes({"rows": float("nan")})


def test_the_app_rebuilds_a_broken_cache_and_says_so(tmp_path, monkeypatch):
    """A `{}` sidecar once raised KeyError on every page: now the page loads, with a notice."""
    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    events = tmp_path / "events.csv"
    shutil.copyfile(DEFAULT_EVENTS, events)
    folder = tmp_path / "cache"
    reference, sources, problems = ds.load_reference_and_sources()
    ds.build_dataset(events, reference, sources, problems, cache_dir=folder)
    (sidecar,) = folder.glob("*.json")
    sidecar.write_text("{}", encoding="utf-8")
    monkeypatch.setenv(ds.ENV_EVENTS, str(events))
    monkeypatch.setenv(ds.ENV_CACHE, str(folder))
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (info,) = [i.value for i in at.info if "cache" in i.value]
    assert info.startswith("cache events-") and info.endswith(
        "was unreadable or inconsistent (its sidecar lacks 'sidecar\\_sha256' or it is not a str); "
        "rebuilt from the CSV"
    )
    assert at.get("deck_gl_json_chart")


def test_a_table_checked_in_batches_reads_back_as_one_checked_in_memory(tmp_path, tiny_ref, monkeypatch):
    """Batches of 1.5 kB: the Parquet file holds them in the CSV's order, each sorted; the rows
    served (lazily, from the file) are the in-memory check's, in the views' order."""
    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    monkeypatch.setattr("dashboard.data.BATCH_BYTES", 1500)
    rows = [row(event_id=f"b-{i:02d}", date_start=f"20{(i * 7) % 30:02d}", date_end="") for i in range(40)]
    rows += [row(event_id="b-03", date_start="2001"), row(event_id="no-date", date_start="", date_end="")]
    path = tmp_path / "events.csv"
    path.write_bytes(table_bytes(rows))
    sources, problems = load_sources()
    steps = []
    built = ds.build_dataset(
        path, tiny_ref, sources, problems, cache_dir=tmp_path / "c", progress=lambda f, t: steps.append(t)
    )
    memory = ds.build_dataset(path.read_bytes(), tiny_ref, sources, problems, name="events.csv")
    again = ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    assert built.parquet is not None and built.loaded is None and again.from_cache
    assert sum("Checked" in t for t in steps) > 3  # a progress step per batch
    for dataset in (built, again):
        assert dataset.result.problems == memory.result.problems
        assert dataset.result.rows_loaded == memory.result.rows_loaded == 41
        pd.testing.assert_frame_equal(dataset.events, memory.events, check_dtype=False)
        in_order = memory.events[
            list(memory.result.frame.columns)
        ]  # a cached table's frame is in the views' order
        pd.testing.assert_frame_equal(dataset.result.frame, in_order, check_dtype=False)
    (duplicate,) = [str(p) for p in memory.result.problems]
    assert duplicate == "events.csv:42: event_id: duplicate id 'b-03', first on line 5"


def test_a_bad_row_late_in_a_table_restarts_the_cache_build_with_the_exact_reader(
    tmp_path, tiny_ref, monkeypatch
):
    """Batches already written when pyarrow meets a row of the wrong width are thrown away."""
    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr("dashboard.data.BATCH_BYTES", 1500)
    path = tmp_path / "events.csv"
    path.write_bytes(table_bytes([row(event_id=f"w-{i}") for i in range(40)]) + b"a,b\n")
    sources, problems = load_sources()
    built = ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    assert built.notices == () and built.result.rows_loaded == len(built.events) == 40
    assert str(built.result.problems[0]) == "events.csv:42: -: expected 20 fields, found 2"
    assert not list((tmp_path / "c").glob(".*.tmp"))
    assert ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=tmp_path / "c").from_cache


def test_a_tables_digest_is_remembered_by_its_identity_and_forgotten_on_any_change(tmp_path, monkeypatch):
    path, folder = tmp_path / "events.csv", tmp_path / "cache"
    path.write_bytes(b"abc")
    # Just written: its ctime is within DIGEST_SETTLE_NS, so a write in the same tick could hide.
    assert ds._content_digest(path, folder) == hashlib.sha256(b"abc").hexdigest()
    assert not folder.exists() or not list(folder.glob("*.digest.json"))
    monkeypatch.setattr(ds, "DIGEST_SETTLE_NS", 0)
    assert ds._content_digest(path, folder) == hashlib.sha256(b"abc").hexdigest()
    (memo,) = folder.glob("*.digest.json")
    reads = []
    real = ds._sha256_file
    monkeypatch.setattr(ds, "_sha256_file", lambda p, progress=None: reads.append(p) or real(p, progress))
    assert ds._content_digest(path, folder) == hashlib.sha256(b"abc").hexdigest() and reads == []
    # A same-size edit with its mtime put back still changes the ctime: hashed again.
    before = path.stat()
    time.sleep(0.01)
    path.write_bytes(b"abd")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert ds._content_digest(path, folder) == hashlib.sha256(b"abd").hexdigest() and len(reads) == 1
    # A memo edited to vouch for other content no longer matches its own digest: ignored.
    record = json.loads(memo.read_text())
    record["sha256"] = "0" * 64
    memo.write_text(json.dumps(record))
    assert ds._content_digest(path, folder) == hashlib.sha256(b"abd").hexdigest() and len(reads) == 2


# ----- a signed sidecar: reopening checks the bytes, not the rows again (dashboard/signing.py) -----


def _count_checks(monkeypatch) -> list[str]:
    """Record each full check of a cached table (the in-memory one and DuckDB's)."""
    calls: list[str] = []
    for name in ("_check_frame", "_check_parquet"):
        real = getattr(ds, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(ds, name, counted)
    return calls


@pytest.mark.parametrize("lazy", [False, True], ids=["read in memory", "verified by DuckDB"])
def test_a_signed_entry_reopens_without_checking_its_rows_again(cached, lazy, monkeypatch):
    if lazy:
        monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    first, load, _parquet, sidecar = cached
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    assert signing.verifies(signing.cache_key(sidecar.parent), ds._signed_part(meta), meta["signature"])
    calls = _count_checks(monkeypatch)
    again = load()
    assert again.from_cache and again.notices == () and calls == []
    assert again.result.rows_loaded == first.result.rows_loaded
    assert again.result.problems == first.result.problems
    if not lazy:  # (a large table's rows are checked again when read: not asked here)
        pd.testing.assert_frame_equal(again.events, first.events)


@pytest.mark.parametrize("lazy", [False, True], ids=["read in memory", "verified by DuckDB"])
def test_an_entry_signed_under_another_key_is_checked_in_full_then_signed_under_ours(
    cached, lazy, monkeypatch
):
    if lazy:
        monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    _first, load, _parquet, sidecar = cached
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    sidecar.write_bytes(ds._json_bytes(ds._sealed(meta, b"another user's key, 32 bytes!!!")))
    calls = _count_checks(monkeypatch)
    assert load().from_cache and len(calls) == 1  # checked in full, served
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    assert signing.verifies(signing.cache_key(sidecar.parent), ds._signed_part(meta), meta["signature"])
    assert load().from_cache and len(calls) == 1  # and quick from then on


def test_a_signed_sidecar_never_vouches_for_other_bytes(cached, monkeypatch):
    """The signature covers the Parquet file's SHA-256: edited rows are a miss, signed or not."""
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    first, load, parquet, _sidecar = cached
    edit_row(parquet, "lat", 91.0)
    assert_rebuilt(load(), first, "the Parquet file's SHA-256 differs")


def test_without_a_usable_key_every_reopen_is_checked_in_full(table, tmp_path, tiny_ref, monkeypatch):
    """A key inside the cache folder protects nothing: it is never made nor used."""
    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    folder = tmp_path / "c"
    monkeypatch.setenv(signing.ENV_KEY, str(folder / "cache.key"))
    sources, problems = load_sources()
    ds.build_dataset(table, tiny_ref, sources, problems, cache_dir=folder)
    (sidecar,) = folder.glob("*.json")
    assert "signature" not in json.loads(sidecar.read_text(encoding="utf-8"))
    calls = _count_checks(monkeypatch)
    steps: list[str] = []
    for _ in range(2):
        again = ds.build_dataset(
            table, tiny_ref, sources, problems, cache_dir=folder, progress=lambda f, t: steps.append(t)
        )
        assert again.from_cache
    assert calls == ["_check_parquet", "_check_parquet"]
    assert not (folder / "cache.key").exists()
    # A full check of a large table says what it is doing (issue #12: a progress bar on every step).
    assert any(t.startswith("Checking the cached copy: ") for t in steps)


def test_a_sidecar_whose_signature_is_not_text_is_a_miss(cached):
    first, load, _parquet, sidecar = cached
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    meta["signature"] = 7
    meta["sidecar_sha256"] = ds._sidecar_digest(meta)
    sidecar.write_bytes(ds._json_bytes(meta))
    assert_rebuilt(load(), first, "its sidecar's signature is not text")


def _moved_signature(meta: dict, key: bytes) -> dict:
    """A valid signature of ours, for another entry (another table's key dict and digest)."""
    other = {**ds._signed_part(meta), "key": {**meta["key"], "content": "0" * 64}}
    return {**meta, "signature": signing.sign(key, other)}


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(_moved_signature, id="moved from another entry"),
        pytest.param(lambda m, k: {**m, "problems": []}, id="problems edited after signing"),
        pytest.param(lambda m, k: {**m, "rows_read": m["rows_read"] + 1}, id="counts edited after signing"),
        pytest.param(lambda m, k: {**m, "signature": "é" * 64}, id="non-ASCII"),
        pytest.param(lambda m, k: {**m, "signature": "f" * 10**6}, id="huge"),
    ],
)
def test_a_signature_that_does_not_vouch_for_its_sidecar_means_a_full_check(cached, spoil, monkeypatch):
    """Whatever the signature, the entry is checked in full (served when it passes) and signed
    again; a signature never makes an entry a miss, nor spares an unvouched one its check."""
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    _first, load, _parquet, sidecar = cached
    key = signing.cache_key(sidecar.parent)
    meta = spoil(json.loads(sidecar.read_text(encoding="utf-8")), key)
    meta["sidecar_sha256"] = ds._sidecar_digest(meta)
    sidecar.write_bytes(ds._json_bytes(meta))
    calls = _count_checks(monkeypatch)
    dataset = load()
    assert dataset.from_cache and dataset.notices == () and calls == ["_check_parquet"]
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    assert signing.verifies(key, ds._signed_part(meta), meta["signature"])


@pytest.mark.parametrize("signature", [None, [], {}], ids=["null", "list", "object"])
def test_a_signature_of_another_json_type_is_a_miss(cached, signature):
    first, load, _parquet, sidecar = cached
    meta = {**json.loads(sidecar.read_text(encoding="utf-8")), "signature": signature}
    meta["sidecar_sha256"] = ds._sidecar_digest(meta)
    sidecar.write_bytes(ds._json_bytes(meta))
    assert_rebuilt(load(), first, "its sidecar's signature is not text")


def test_a_sidecar_naming_its_signature_twice_is_read_one_way_only(cached, monkeypatch):
    """JSON with a key twice: the last one counts, for the digest and the signature alike, so a
    valid signature followed by a forged one vouches for nothing."""
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    _first, load, _parquet, sidecar = cached
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    forged = {**meta, "signature": "0" * 64}
    forged["sidecar_sha256"] = ds._sidecar_digest(forged)
    text = ds._json_bytes(forged).decode("utf-8")
    sidecar.write_text(text.replace('"signature":', f'"signature": "{meta["signature"]}", "signature":'))
    calls = _count_checks(monkeypatch)
    assert load().from_cache and calls == ["_check_parquet"]


# ----- a large entry is read through the very file that was checked (dataset._Pinned) ----------


def _swap_in_bad_rows(parquet) -> None:
    """What someone able to write the cache folder could do after the check: rename other bytes
    over the entry's name."""
    frame = pd.read_parquet(parquet)
    frame["lat"] = 89.0
    other = parquet.with_name("other.parquet")
    frame.to_parquet(other, index=False)
    os.replace(other, parquet)


@pytest.mark.parametrize("when", ["built", "reopened"])
def test_a_file_renamed_over_a_checked_entry_is_never_read(cached, when, monkeypatch):
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    first, load, parquet, _sidecar = cached
    dataset = load() if when == "reopened" else first
    if when == "reopened":
        assert dataset.from_cache
    lats = sorted(first.events["lat"].dropna())
    _swap_in_bad_rows(parquet)
    engine = dataset.engine()
    assert str(dataset.parquet).startswith("/proc/self/fd/") and engine.source == str(dataset.parquet)
    assert sorted(engine.frame_of("SELECT lat FROM events WHERE lat IS NOT NULL")["lat"]) == lats
    assert sorted(dataset.events["lat"].dropna()) == lats


@pytest.mark.parametrize(
    ("spoil", "why"),
    [
        (lambda p: p.chmod(0o664), "its Parquet file can be written by another user"),
        (lambda p: p.chmod(0o602), "its Parquet file can be written by another user"),
        (
            lambda p: (os.replace(p, p.with_name("real.parquet")), p.symlink_to(p.with_name("real.parquet"))),
            "its Parquet file cannot be opened",
        ),
    ],
    ids=["group-writable", "world-writable", "a link"],
)
def test_a_large_entry_others_could_change_is_a_miss(cached, spoil, why, monkeypatch):
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    first, load, parquet, _sidecar = cached
    spoil(parquet)
    assert_rebuilt(load(), first, why)
    assert load().from_cache  # the rebuilt entry is this user's own again


def test_a_pinned_file_closes_when_its_last_holder_is_gone(cached, monkeypatch):
    import gc

    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    _first, load, _parquet, _sidecar = cached
    dataset = load()
    closer = dataset._pin._closer
    engine = dataset.engine()
    del dataset
    gc.collect()
    assert closer.alive and engine.count() > 0  # the engine still holds the file
    del engine
    gc.collect()
    assert not closer.alive


@pytest.mark.parametrize("signed", [True, False, None], ids=["signed", "checked in full", "built"])
def test_progress_is_reported_from_the_loading_thread_only(cached, table, tiny_ref, signed, monkeypatch):
    """The UI's progress bar raises when updated from another thread: a report from the hashing
    thread made every reopen in the app a miss (rebuilt from the CSV, 2 minutes at 10M rows)."""
    import threading

    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    _first, _load, _parquet, sidecar = cached
    if signed is False:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        sidecar.write_bytes(ds._json_bytes(ds._sealed(meta, None)))
    if signed is None:  # built from the CSV again: batches are written on a second thread
        sidecar.unlink()
    caller = threading.current_thread()
    steps: list[str] = []

    def progress(fraction: float, text: str) -> None:
        if threading.current_thread() is not caller:
            raise RuntimeError("progress reported from another thread")
        steps.append(text)

    sources, problems = load_sources()
    again = ds.build_dataset(table, tiny_ref, sources, problems, cache_dir=sidecar.parent, progress=progress)
    if signed is None:
        assert not again.from_cache and again.result.rows_loaded == len(_first.events)
    else:
        assert again.from_cache and again.notices == (), again.notices
    assert steps


# ----- what the cache folder may hold instead of a file (FIFO, device, folder, other owner) -------


def _finishes(call, seconds: float = 10.0):
    """`call`'s result, or "blocked" when it has not returned after `seconds`."""
    import threading

    out: list = []
    worker = threading.Thread(target=lambda: out.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    return out[0] if out else "blocked"


def _unblock(path) -> None:
    """Open a FIFO for writing and close it: a reader blocked on it then sees its end."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.parametrize("which", ["sidecar", "parquet", "digest memo"])
@pytest.mark.parametrize("lazy", [False, True], ids=["read in memory", "verified by DuckDB"])
def test_a_fifo_in_place_of_a_cache_file_is_a_miss_and_never_blocks(cached, which, lazy, monkeypatch):
    """Opening a FIFO for reading waits for a writer: anyone able to write the cache folder
    could hang the app's first load for good."""
    if lazy:
        monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    first, load, parquet, sidecar = cached
    if which == "digest memo":  # written only for a table that settled before it was hashed
        monkeypatch.setattr(ds, "DIGEST_SETTLE_NS", -(10**18))
        load()
        (target,) = parquet.parent.glob("*.digest.json")
    else:
        target = sidecar if which == "sidecar" else parquet
    target.unlink()
    os.mkfifo(target, 0o600)
    try:
        dataset = _finishes(load)
    finally:
        _unblock(target)
    assert dataset != "blocked"
    if which == "digest memo":  # the memo is only a shortcut: the table is hashed again
        assert dataset.from_cache
    else:
        assert_rebuilt(
            dataset, first, f"its {'sidecar' if which == 'sidecar' else 'Parquet file'} is not a regular file"
        )


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "a folder"])
@pytest.mark.parametrize("which", ["sidecar", "parquet"])
def test_a_link_to_a_device_in_place_of_a_cache_file_is_a_miss(cached, which, device):
    """Read to its end, /dev/zero never ends: the small table's read (and the sidecar's) took
    memory until the process was killed."""
    first, load, parquet, sidecar = cached
    target = sidecar if which == "sidecar" else parquet
    target.unlink()
    if device == "a folder":
        target.mkdir()
    else:
        target.symlink_to(device)
    dataset = _finishes(load)
    why = f"its {'sidecar' if which == 'sidecar' else 'Parquet file'} is not a regular file"
    if device != "a folder":
        assert_rebuilt(dataset, first, why)
    else:  # a folder cannot be replaced by a file: served from the CSV, not cached, and said so
        assert not dataset.from_cache and f"was unreadable or inconsistent ({why})" in dataset.notices[0]
        assert "not written" in dataset.notices[1]
        assert list(dataset.events["event_id"]) == list(first.events["event_id"])


def test_a_large_entry_owned_by_another_user_is_a_miss(cached, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("giving a file away takes root")
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    first, load, parquet, _sidecar = cached
    os.chown(parquet, os.geteuid() + 4242, -1)
    assert_rebuilt(load(), first, "its Parquet file can be written by another user")


def test_a_pinned_file_deleted_after_the_check_is_still_read(cached, monkeypatch):
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    first, load, parquet, sidecar = cached
    dataset = load()
    assert dataset.from_cache
    parquet.unlink()
    sidecar.unlink()
    assert dataset.engine().count() == len(first.events)
    pd.testing.assert_frame_equal(dataset.events, first.events)


def test_reopening_a_large_entry_again_and_again_leaks_no_open_file(cached, monkeypatch):
    import gc

    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    _first, load, _parquet, _sidecar = cached
    load().engine()
    gc.collect()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(10):
        load().engine().count()
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) <= before


def test_an_engine_outliving_its_dataset_never_reads_a_file_that_took_its_number(cached, monkeypatch):
    """The engine reads `/proc/self/fd/N`: were N closed with the dataset, the next file opened
    would take that number and be read in its place."""
    import gc

    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    first, load, _parquet, _sidecar = cached
    dataset = load()
    engine = dataset.engine()
    fd = dataset._pin.fd
    del dataset
    gc.collect()
    with open(os.devnull, "rb") as other:
        assert other.fileno() != fd
        assert engine.count() == len(first.events)


# ----- a large table's file is put in the views' order (dataset.SORT_MIN_ROWS) ------------------


def _shuffled_table(tmp_path, n: int = 40):
    """A table whose CSV is in no date order (as the synthetic benchmark tables are)."""
    rng = random.Random(5)
    rows = [
        row(event_id=f"e-{i:02d}", date_start=f"20{rng.randint(10, 19)}-0{rng.randint(1, 9)}-1{i % 10}")
        for i in range(n)
    ]
    path = tmp_path / "events.csv"
    path.write_bytes(table_bytes(rows))
    return path


@pytest.mark.parametrize("sort_from", [0, 10**9], ids=["sorted", "under the threshold"])
def test_a_large_tables_file_is_kept_in_the_views_order(tmp_path, tiny_ref, monkeypatch, sort_from):
    from dashboard.engine import Engine

    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    monkeypatch.setattr(ds, "SORT_MIN_ROWS", sort_from)
    path = _shuffled_table(tmp_path)
    sources, problems = load_sources()
    built = ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    (parquet,) = (tmp_path / "c").glob("*.parquet")
    assert Engine.from_parquet(parquet).in_date_order() is (sort_from == 0)
    assert [p.name for p in (tmp_path / "c").iterdir() if p.name.startswith(".")] == []
    again = ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    assert again.from_cache and again.notices == ()
    pd.testing.assert_frame_equal(again.events, built.events)
    assert (ds.views_order(again.events) == np.arange(len(again.events))).all()


def test_a_sort_that_fails_keeps_the_file_in_the_csvs_order(tmp_path, tiny_ref, monkeypatch):
    """Out of memory or disk, the sort gives up: the table is cached as read, never lost."""
    from dashboard import geo

    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    monkeypatch.setattr(ds, "SORT_MIN_ROWS", 0)
    monkeypatch.setattr(geo, "VIEWS_ORDER_SQL", "no_such_column")  # the sort's query fails
    path = _shuffled_table(tmp_path)
    sources, problems = load_sources()
    built = ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    monkeypatch.undo()
    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    (notice,) = built.notices  # said once, when the table is checked
    assert "could not be put in date order (BinderException" in notice and "views are slower" in notice
    assert [p.name for p in (tmp_path / "c").iterdir() if p.name.startswith(".")] == []
    again = ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    assert again.from_cache and again.notices == ()
    pd.testing.assert_frame_equal(again.events, built.events)


# ----- the sort, attacked: awkward tables, every reader of the sorted file, and its failures -------

#: Ids that tie on date and compare differently by case, digits and hyphens ("b-10" < "b-2" <
#: "b10" < "b2" byte by byte), dates of every precision, undated rows.
_TIES = [
    ("b-2", "2019-05-01"),
    ("b10", "2019-05-01"),
    ("b-10", "2019-05-01"),
    ("b2", "2019-05-01"),
    ("a1", "2019"),
    ("a-1", "2019"),
    ("a11", "2019"),
    ("0a", "2019-05"),
    ("9-z", "2019-05"),
    ("z9", ""),
    ("a", ""),
    ("a-1-1", "2018-12-31"),
]
_EXTRA = ["note", "empty", "n"]


def _awkward_rows(kind: str) -> tuple[list[dict], list[str]]:
    """Rows of one awkward kind, shuffled, and the CSV's columns."""
    from dashboard.schema import EVENT_COLUMNS

    if kind == "one row":
        return [row(event_id="x", date_start="2019", date_end="")], list(EVENT_COLUMNS)
    pairs = [(i, "") for i, _ in _TIES] if kind == "every row undated" else _TIES
    rows = [
        # Figures on some rows only (value NaN elsewhere), extra text columns, one of them empty.
        row(
            event_id=i,
            date_start=d,
            date_end="",
            value=str(k) if k % 2 else "",
            unit="USD bn" if k % 2 else "",
            note=f"n{k}" if k % 3 else "",
            empty="",
            n=str(k) if k % 2 else "",
        )
        for k, (i, d) in enumerate(pairs)
    ]
    random.Random(kind).shuffle(rows)
    return rows, [*EVENT_COLUMNS, *_EXTRA]


@pytest.mark.parametrize("kind", ["ties, precisions, extra columns", "every row undated", "one row"])
@pytest.mark.parametrize("at_threshold", [False, True], ids=["from 0 rows", "exactly SORT_MIN_ROWS"])
def test_a_sorted_cache_answers_as_the_frame_does(tmp_path, tiny_ref, monkeypatch, kind, at_threshold):
    """The sorted file's reopened events equal the unsorted build's and the in-memory one's; its
    engine knows it is in order; aggregates and every download give the frame's answers."""
    from dashboard.aggregate import flow_table, place_table
    from dashboard.engine import Engine, Selection
    from dashboard.export import FORMATS, ExportContext
    from dashboard.filters import FilterState
    from dashboard.timespan import year_counts

    rows, columns = _awkward_rows(kind)
    path = tmp_path / "events.csv"
    path.write_bytes(table_bytes(rows, columns=columns))
    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    sources, problems = load_sources()
    built = {}
    for name, sort_from in (("sorted", len(rows) if at_threshold else 0), ("unsorted", len(rows) + 1)):
        monkeypatch.setattr(ds, "SORT_MIN_ROWS", sort_from)
        folder = tmp_path / name
        ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=folder)
        built[name] = ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=folder)
        assert built[name].from_cache and built[name].notices == ()
        assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
    small = ds.build_dataset(path.read_bytes(), tiny_ref, sources, problems, name="events.csv")
    frame, sorted_, unsorted = small.events, built["sorted"], built["unsorted"]
    pd.testing.assert_frame_equal(sorted_.events, unsorted.events)
    pd.testing.assert_frame_equal(sorted_.events, frame, check_dtype=False)
    assert list(sorted_.result.extra_columns) == [c for c in columns if c in _EXTRA]
    engine = Engine.from_parquet(sorted_.parquet)
    assert engine.in_date_order()
    assert len(rows) == 1 or not Engine.from_parquet(unsorted.parquet).in_date_order()
    sel = Selection(engine)
    pd.testing.assert_frame_equal(place_table(sel), place_table(frame))
    pd.testing.assert_frame_equal(flow_table(sel, tiny_ref), flow_table(frame, tiny_ref))
    assert year_counts(sel) == year_counts(frame)
    for fmt in FORMATS:
        got = FORMATS[fmt].write(sel, ExportContext(sorted_, FilterState()))
        assert got == FORMATS[fmt].write(frame, ExportContext(small, FilterState())), fmt


class _FailingWriter:
    """pq.ParquetWriter whose `fail_at`-th file (the sink's is the first) raises once a batch is
    on disk: a disk that fills mid-sort, or a reader loop that breaks."""

    made = 0

    def __init__(self, error: Exception, fail_at: int):
        self.error, self.fail_at = error, fail_at

    def __call__(self, path, schema, **kwargs):
        _FailingWriter.made += 1
        writer = _REAL_WRITER(path, schema, **kwargs)
        if _FailingWriter.made < self.fail_at:
            return writer
        error, real_write = self.error, writer.write_table

        def write_table(table, *args, **kw):
            real_write(table, *args, **kw)
            raise error

        writer.write_table = write_table
        return writer


_REAL_WRITER = ds.pq.ParquetWriter


@pytest.mark.parametrize(
    "error",
    [OSError(28, "No space left on device"), RuntimeError("a batch the reader could not convert")],
    ids=["disk full", "reader loop"],
)
def test_a_sort_that_fails_mid_write_leaves_nothing_behind_at_once(tmp_path, monkeypatch, error):
    """The part of the sorted file written goes as soon as the sort gives up: on a full disk it
    would otherwise leave no room for the sidecar, and the table would not be cached at all."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    staged = tmp_path / "staged.parquet"
    table = pa.table({"event_id": ["b", "a"], "date_start": ["2019", "2019"]})
    pq.write_table(table, staged)
    _FailingWriter.made = 0
    monkeypatch.setattr(ds.pq, "ParquetWriter", _FailingWriter(error, fail_at=1))
    temporary: list = []
    kept, why = ds._in_views_order(staged, table.schema, tmp_path, "events-x.parquet", temporary)
    assert kept == staged and why.startswith(type(error).__name__ if isinstance(error, type) else "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["staged.parquet"]


@pytest.mark.parametrize(
    "error",
    [OSError(28, "No space left on device"), RuntimeError("a batch the reader could not convert")],
    ids=["disk full", "reader loop"],
)
def test_a_table_whose_sort_fails_is_served_with_its_problems(tmp_path, tiny_ref, monkeypatch, error):
    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    monkeypatch.setattr(ds, "SORT_MIN_ROWS", 0)
    rows, columns = _awkward_rows("ties, precisions, extra columns")
    rows.append(row(event_id="bad", category="nonsense"))
    path = tmp_path / "events.csv"
    path.write_bytes(table_bytes(rows, columns=columns))
    sources, problems = load_sources()
    frame = ds.build_dataset(path.read_bytes(), tiny_ref, sources, problems, name="events.csv")
    _FailingWriter.made = 0
    monkeypatch.setattr(ds.pq, "ParquetWriter", _FailingWriter(error, fail_at=2))
    built = ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    assert _FailingWriter.made == 2  # the sink's file, then the sort's
    assert built.parquet is not None and len(built.notices) == 1
    assert "could not be put in date order" in built.notices[0]
    assert built.result.problems == frame.result.problems and len(built.result.problems) == 1
    pd.testing.assert_frame_equal(built.events, frame.events, check_dtype=False)
    assert [p.name for p in (tmp_path / "c").iterdir() if p.name.startswith(".")] == []


def test_a_spill_folder_that_cannot_be_made_keeps_the_table_as_read(tmp_path, tiny_ref, monkeypatch):
    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(ds, "LAZY_MIN_ROWS", 0)
    monkeypatch.setattr(ds, "SORT_MIN_ROWS", 0)

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ds.tempfile, "TemporaryDirectory", refused)
    path = _shuffled_table(tmp_path)
    sources, problems = load_sources()
    built = ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=tmp_path / "c")
    assert built.parquet is not None and len(built.notices) == 1
    assert "could not be put in date order" in built.notices[0]
    assert [p.name for p in (tmp_path / "c").iterdir() if p.name.startswith(".")] == []
    assert (ds.views_order(built.events) == np.arange(len(built.events))).all()


def test_a_crashed_sorts_spill_folder_is_removed_by_the_next_check(tmp_path, tiny_ref, monkeypatch):
    """A sort killed mid-way (27 s at 10M rows) leaves its spill folder, gigabytes at 10M: the
    next check removes it once stale, as it does a crashed write's temporary file."""
    import tempfile

    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(ds, "SORT_MIN_ROWS", 0)
    folder = tmp_path / "c"
    folder.mkdir()
    spills = []

    class Crashed(tempfile.TemporaryDirectory):
        """The folder the sort makes, left as a killed process leaves it."""

        def __enter__(self):
            spills.append(Path(self.name))
            (Path(self.name) / "duckdb_temp_block").write_bytes(b"spilled rows")
            return super().__enter__()

        def __exit__(self, *exc):
            self._finalizer.detach()

    monkeypatch.setattr(ds.tempfile, "TemporaryDirectory", Crashed)
    path = _shuffled_table(tmp_path)
    sources, problems = load_sources()
    ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=folder)
    monkeypatch.undo()
    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    (spill,) = spills
    assert spill.parent == folder and spill.is_dir()
    old = time.time() - ds.STALE_TMP_SECONDS - 60
    os.utime(spill, (old, old))
    path.write_bytes(path.read_bytes() + table_bytes([row(event_id="one-more")]).split(b"\n", 1)[1])
    ds.build_dataset(path, tiny_ref, sources, problems, cache_dir=folder)
    assert not spill.exists()
