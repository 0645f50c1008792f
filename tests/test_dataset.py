"""The dataset seam: a large table is checked once, then read back from its Parquet cache."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard import dataset as ds
from dashboard.data import load_sources
from tests.conftest import row, table_bytes


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
