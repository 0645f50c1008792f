"""Layers: fixed layer ids, and whole decks against golden JSON files.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended change, then review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dashboard.aggregate import MAX_MARKERS
from dashboard.layers import build_deck, count_bin
from tests.conftest import enriched, figure_row, row

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def frame(tiny_ref):
    return enriched(
        [
            row(event_id="s1"),
            row(event_id="s2", category="meeting", participants="RUS;SGP", organisations=""),
            figure_row("t1", "2007", "1900000000", "USD"),
            figure_row("t2", "2017", "7400000000", "USD"),
            figure_row("a1", "2017", "35", "percent", participants="RUS", organisations="ASEAN"),
            row(
                event_id="p1",
                title="Talks",
                category="meeting",
                place="Pyongyang",
                country_iso3="PRK",
                lat="39.03",
                lon="125.75",
                participants="PRK;RUS",
                organisations="",
                date_start="2019-04-25",
                date_end="",
                date_inferred="true",
                date_inference_note="year from context",
            ),
        ],
        tiny_ref,
    )


@pytest.mark.parametrize(("count", "index"), [(1, 0), (2, 1), (3, 1), (4, 2), (15, 3), (16, 4), (500, 4)])
def test_count_bins(count, index):
    assert count_bin(count) == index


@pytest.mark.parametrize(
    ("view", "members", "ids"),
    [
        ("summits", "", ["sea", "countries", "russia", "places", "place-labels"]),
        ("partnerships", "", ["sea", "countries", "russia", "choropleth"]),
        ("partnerships", "BRICS", ["sea", "countries", "russia", "choropleth"]),
        ("flows", "", ["sea", "countries", "russia", "tie-arcs", "trade-arcs"]),
    ],
)
def test_deck_matches_golden_json(frame, tiny_ref, view, members, ids):
    deck, legend = build_deck(view, frame, tiny_ref, members=members)
    spec = json.loads(deck.to_json())
    assert [layer["id"] for layer in spec["layers"]] == ids
    assert legend
    assert "mapProvider" not in spec or spec["mapProvider"] in (None, "")
    golden = GOLDEN / f"deck-{view}{'-' + members if members else ''}.json"
    text = json.dumps(spec, indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    # A missing golden file is a failure, not a pass: write it on purpose, then review it.
    assert golden.exists(), f"{golden.name} is missing: run with UPDATE_GOLDEN=1 and review the file"
    assert text == golden.read_text(encoding="utf-8")


def test_deck_json_is_compact_and_has_no_nan(frame, tiny_ref):
    deck, _ = build_deck("summits", frame, tiny_ref)
    raw = deck.to_json()
    assert "\n" not in raw and ": " not in raw.split('"tooltip"')[0][:200]
    assert "NaN" not in raw


def test_deck_for_empty_rows_still_draws_the_basemap(frame, tiny_ref):
    for view in ("summits", "partnerships", "flows"):
        deck, _ = build_deck(view, frame.iloc[0:0], tiny_ref)
        spec = json.loads(deck.to_json())
        assert spec["layers"][1]["id"] == "countries"


def test_tooltips_are_text_not_html(frame, tiny_ref):
    deck, _ = build_deck("summits", frame, tiny_ref)
    assert deck._tooltip["text"] == "{tooltip}"
    assert "html" not in deck._tooltip


def test_unknown_view_is_named(frame, tiny_ref):
    with pytest.raises(ValueError, match="'globe'"):
        build_deck("globe", frame, tiny_ref)


def test_online_tiles_drop_the_sea(frame, tiny_ref):
    deck, _ = build_deck("summits", frame, tiny_ref, tiles=True)
    spec = json.loads(deck.to_json())
    assert spec["layers"][0]["id"] == "countries"
    assert spec["mapProvider"] == "carto"


def test_deck_sends_each_country_shape_once(frame, tiny_ref):
    deck, _ = build_deck("partnerships", frame, tiny_ref)
    spec = json.loads(deck.to_json())
    collections = [layer["data"] for layer in spec["layers"] if isinstance(layer.get("data"), dict)]
    shapes = [f["properties"]["iso3"] for c in collections for f in c["features"]]
    assert sorted(shapes) == ["PRK", "RUS", "SGP", "ZAF"]
    assert "event_ids" not in deck.to_json()


def test_deck_bytes_stay_bounded_with_many_places(tiny_ref):
    # 2,000 distinct places in Russia's box: markers are capped, so the deck stays small.
    rows = [
        row(
            event_id=f"e{i}",
            place=f"Town {i}",
            country_iso3="RUS",
            lat=f"{45 + (i % 40) * 0.7:.2f}",
            lon=f"{35 + (i // 40) * 2.8:.2f}",
            participants="RUS",
            organisations="",
        )
        for i in range(2000)
    ]
    frame = enriched(rows, tiny_ref)
    deck, legend = build_deck("summits", frame, tiny_ref)
    spec = json.loads(deck.to_json())
    markers = next(layer for layer in spec["layers"] if layer["id"] == "places")["data"]
    assert len(markers) <= MAX_MARKERS
    assert sum(m["count"] for m in markers) == 2000
    assert "grouped into" in legend[-1].label


@pytest.mark.parametrize("view", ["summits", "partnerships", "flows"])
def test_only_accessors_are_expressions(frame, tiny_ref, view):
    # pydeck reads an unquoted string as an expression: `radius_units="pixels"` once became
    # "@@=pixels" and deck.gl fell back to metres. Only get* accessors may be expressions.
    deck, _ = build_deck(view, frame, tiny_ref)
    for layer in json.loads(deck.to_json())["layers"]:
        for key, value in layer.items():
            if isinstance(value, str) and value.startswith("@@="):
                assert key.startswith("get"), (layer["id"], key, value)
