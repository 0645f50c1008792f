"""The benchmark's pieces at toy size: it imports, its synthetic tables validate. Not a timing."""

from __future__ import annotations

import pandas as pd

from benchmarks import run, synth
from dashboard.data import load_events
from tests.conftest import table_bytes


def test_synthetic_events_are_in_the_schema_and_load(real_ref):
    frame = synth.synth_events(300, real_ref)
    assert len(frame) == 300 and frame["event_id"].is_unique
    rows = frame.to_dict("records")
    result = load_events(table_bytes(rows), real_ref, frozenset({1, 2, 3, 4}), name="synth.csv")
    # A gazetteer point may lie just outside a simplified shape; nearly every row must load.
    assert result.rows_loaded >= 290, [str(p) for p in result.problems[:5]]


def test_places_follow_a_zipf_law(real_ref):
    frame = synth.synth_events(2000, real_ref)
    counts = frame.loc[frame["place"] != "", "place"].value_counts()
    assert counts.iloc[0] > 20 * counts.median()
    assert isinstance(counts, pd.Series)


def test_payload_section_prints_a_table():
    text, figures = run.payload()
    assert text.startswith("| map view")
    assert figures["summits"]["raw"] > figures["summits"]["zlib"] > 0


def test_check_workers_run_at_toy_size(real_ref, tmp_path, monkeypatch):
    from benchmarks import check as engine
    from dashboard import dataset

    monkeypatch.setattr(dataset, "CACHE_MIN_BYTES", 0)
    path = tmp_path / "events.csv"
    synth.synth_events(200, real_ref).to_csv(path, index=False)
    cache = str(tmp_path / "cache")
    figures = {phase: engine.worker(phase, str(path), cache) for phase in engine.PHASES}
    assert figures["baseline"]["rows"] == 200
    checked = {figures[phase]["rows"] for phase in ("check only", "first check", "reopen", "reopen + rows")}
    assert len(checked) == 1 and checked.pop() >= 190
