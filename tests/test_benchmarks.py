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


def _page_figures(settled: float) -> dict:
    phase = {"script": settled - 100, "shown": settled, "settled": settled}
    return {"a": phase, "b": {k: v / 10 for k, v in phase.items()}}


def test_paint_scale_report_has_a_row_per_page_and_names_failures(tmp_path):
    from benchmarks import paint

    chosen = [p for p in paint.SCALE_PAGES if p[0] in ("summits", "data")]
    results = {
        "summits": [_page_figures(3000), _page_figures(1000), _page_figures(2000)],
        "data": [_page_figures(4000), {"error": "first load: TimeoutError", "shot": tmp_path / "x.png"}],
    }
    meta = {
        "label": "events-toy.csv",
        "events": tmp_path / "events-toy.csv",
        "cache": str(tmp_path),
        "runs": 3,
        "load": ("1.00 / 1.00 / 1.00", "2.00 / 1.50 / 1.00"),
        "rss": (300.0, 512.0, 400.0),
        "warm": 1.5,
        "minutes": 2.0,
        "cache_changed": [],
    }
    text = paint.scale_report(results, chosen, meta)
    rows = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    assert "| 2,000 ms | 1,900 ms | 2,000 ms | 200 ms |" in rows["| summits"]
    assert "| 4,000 ms |" in rows["| data"] and "1 of 2" in rows["| data"]
    assert "**data** failed: first load: TimeoutError" in text
    assert (
        "512 MiB at the end" in text
        and "pages (sampled every 0.5 s): 400 MiB" in text
        and "unchanged by the run" in text
    )


def test_paint_scale_sections_are_replaced_not_repeated(tmp_path):
    from benchmarks import paint

    out = tmp_path / "paint-scale.md"
    paint.write_section("## a.csv\n\nfirst\n", out)
    paint.write_section("## b.csv\n\nother\n", out)
    paint.write_section("## a.csv\n\nsecond\n", out)
    text = out.read_text()
    assert text.startswith("# Painting every page at scale")
    assert text.count("## a.csv") == 1 and "second" in text and "first" not in text
    assert text.index("## a.csv") < text.index("## b.csv\n\nother")
