"""One AppTest per page: the app runs server-side without a browser, with URL state and selections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.dataset import ENV_EVENTS
from tests.conftest import row, table_bytes

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
PAGES = "dashboard/ui/pages"


def run(params: dict[str, str] | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(f"{PAGES}/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def deck_layers(at: AppTest) -> list[str]:
    (chart,) = at.get("deck_gl_json_chart")
    return [layer["id"] for layer in json.loads(chart.proto.json)["layers"]]


def deck_spec(at: AppTest) -> dict:
    (chart,) = at.get("deck_gl_json_chart")
    return json.loads(chart.proto.json)


def test_map_page_draws_markers_on_the_country_basemap():
    at = run()
    assert deck_layers(at) == ["countries", "places", "place-labels"]
    assert "events." in at.caption[0].value
    assert not at.warning
    # Nothing selected: the legend sits beside the map, with its scales.
    assert any(m.value == "**Legend**" for m in at.markdown)
    assert any("20 events" in m.value for m in at.markdown if "map-legend" in m.value)


@pytest.mark.parametrize(
    ("params", "layers"),
    [
        ({"view": "partnerships"}, ["countries"]),
        ({"view": "partnerships", "members": "ASEAN"}, ["countries"]),
        ({"view": "flows"}, ["countries", "arcs", "arc-labels"]),
    ],
)
def test_map_modes_from_the_url(params, layers):
    at = run(params)
    assert deck_layers(at) == layers
    assert at.query_params["view"] == params["view"]


def test_url_state_restores_filters_and_reports_bad_values():
    at = run({"country": "PRK,XXX", "category": "summit,meeting"})
    assert at.multiselect(key="w_country").value == ["PRK"]
    assert at.multiselect(key="w_category").value == ["summit", "meeting"]
    assert any("'XXX' is not a known country code" in w.value for w in at.warning)
    assert at.query_params["country"] == "PRK"


def test_changing_a_widget_updates_the_url():
    at = run()
    at.multiselect(key="w_category").set_value(["trade"]).run()
    assert at.query_params["category"] == "trade"


def chart_key(at: AppTest, view: str) -> str:
    """The map chart's key: the mode and a digest of the deck (see layers.chart_key)."""
    from dashboard.layers import key_for_json

    (chart,) = at.get("deck_gl_json_chart")
    return key_for_json(f"map-{view}", chart.proto.json)


def select(at: AppTest, view: str, layer: str, obj: dict) -> AppTest:
    at.session_state[chart_key(at, view)] = {
        "selection": {"indices": {layer: [0]}, "objects": {layer: [obj]}}
    }
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_selecting_a_marker_opens_its_detail_panel():
    at = select(run(), "summits", "places", {"place": "Vladivostok"})
    assert any(h.value.startswith("Vladivostok: 5 events") for h in at.subheader)
    assert len(at.expander) == 5
    # The legend moves under the map while the side column lists events.
    assert not any(m.value == "**Legend**" for m in at.markdown)


def test_a_marker_click_lists_compact_entries_and_says_a_shared_note_once():
    at = run()
    singapore = next(d for d in deck_spec(at)["layers"][1]["data"] if d["place"] == "Singapore")
    at = select(at, "summits", "places", singapore)
    heading = next(h.value for h in at.subheader)
    n = int(heading.split(": ")[1].split()[0])
    assert heading.startswith("Singapore") and n >= 13
    assert len(at.expander) == n
    first = at.expander[0].label
    assert first.count(" · ") >= 1  # date · title · participants
    captions = [c.value for c in at.caption]
    shared = [c for c in captions if c.startswith("Note A, shared by")]
    assert len(shared) == 1
    note = shared[0].split(": ", 1)[1]
    assert sum(note in c for c in captions) == 1  # said once, not once per event
    assert sum("see note A under the list" in c for c in captions) == int(shared[0].split()[4])


def test_selecting_a_country_offers_it_as_the_filter():
    at = select(run({"view": "partnerships"}), "partnerships", "countries", {"properties": {"iso3": "SGP"}})
    button = next(b for b in at.button if b.label == "Filter to Singapore")
    button.click().run()
    assert at.query_params["country"] == "SGP"


def test_timeline_page():
    at = run(page="timeline")
    assert at.title[0].value == "Timeline"
    assert (
        len(at.get("vega_lite_chart")) == 2
    )  # the timeline, and the USD figures (the one unit with a trend)


def test_data_page_offers_both_downloads_of_the_filtered_rows():
    at = run({"country": "SGP"}, page="data")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download CSV", "Download GeoJSON"]
    (table,) = [d for d in at.dataframe if "evidence" in d.value.columns]
    assert len(table.value) > 0
    assert "Singapore" in at.markdown[0].value
    assert any("How to cite" in h.value for h in at.subheader)


def test_data_page_builds_no_download_until_asked(monkeypatch):
    # Deferred downloads: a rerun of the Data page writes no file (the cost must not grow with
    # what could be downloaded); the registry's writers run only on a click.
    from dashboard import export

    calls = []
    for fmt in export.FORMATS.values():
        monkeypatch.setitem(
            export.FORMATS,
            fmt.key,
            export.ExportFormat(
                fmt.key, fmt.label, fmt.extension, fmt.mime, lambda r, c: calls.append(1) or b""
            ),
        )
    run(page="data")
    assert calls == []


def test_stated_toggle_keeps_only_what_the_text_states():
    at = run(page="data")
    total = len(at.session_state["page_context"].rows)
    at.toggle(key="w_stated").set_value(True).run()
    assert not at.exception
    rows = at.session_state["page_context"].rows
    assert 0 < len(rows) < total
    assert not rows["date_inferred"].any() and not rows["place_inferred"].any()
    assert at.query_params["stated"] == "1"
    assert "nothing inferred" in at.markdown[0].value


def test_sources_page_lists_the_four_articles():
    at = run(page="sources")
    (table,) = at.dataframe
    assert table.value["article"].tolist() == [1, 2, 3, 4]


def test_empty_result_gets_a_friendly_message():
    at = run({"q": "no such text anywhere"})
    assert any("No events match" in i.value for i in at.info)


def test_a_bad_table_from_the_environment_loads_its_valid_rows(tmp_path, monkeypatch):
    bad = tmp_path / "mine.csv"
    bad.write_bytes(
        table_bytes(
            [
                row(event_id="ok-row", country_iso3="SGP", lat="1.29", lon="103.85"),
                row(event_id="bad-row", lat="95"),
            ]
        )
    )
    monkeypatch.setenv(ENV_EVENTS, str(bad))
    at = run()
    assert any("loaded 1 of 2 rows; skipped 1" in w.value for w in at.warning)
    assert at.expander[0].label.startswith("Problems in mine.csv")


def test_event_in_the_url_opens_its_card_and_can_be_cleared():
    event_id = "2019-04-25-vladivostok-putin-kim-summit"
    at = run({"event": event_id})
    assert any(m.value == "**Selected event**" for m in at.markdown)
    assert len(at.expander) == 1
    assert at.query_params["event"] == event_id
    next(b for b in at.button if b.label == "Clear selected event").click().run()
    assert "event" not in at.query_params


@pytest.mark.parametrize(
    ("obj", "heading"),
    [
        ({"kind": "figure", "target": "SGP"}, "Russia → Singapore: 4 figures"),
        (
            {"kind": "figure", "target": "ASEAN", "aggregate": True},
            "Russia → Association of Southeast Asian Nations: 2 figures (ASEAN: organisation-level aggregate",
        ),
        ({"kind": "tie", "target": "PRK"}, "Russia → North Korea:"),
    ],
)
def test_selecting_an_arc_lists_its_events(obj, heading):
    at = select(run({"view": "flows"}), "flows", "arcs", obj)
    assert any(h.value.startswith(heading) for h in at.subheader), [h.value for h in at.subheader]


# ----- the opening view of the deck the page sends ------------------------------------------

OPENING_URLS = [
    {},
    {"org": "ASEAN"},
    {"years": "2018-2018"},
    {"article": "4"},
    {"country": "SGP"},
    {"q": "putin kim"},
    {"view": "flows"},
    {"view": "flows", "org": "ASEAN"},
    {"view": "partnerships"},
    {"view": "partnerships", "members": "EAS"},
]


@pytest.mark.parametrize(
    "params", OPENING_URLS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "/"
)
def test_at_the_opening_view_nothing_is_hidden_or_overlapping(params):
    from dashboard.layers import FIT_WIDTH, MAP_HEIGHT, drawn_points, opening_view, whole_width
    from dashboard.viewport import overlaps, project, screen_shapes

    spec = deck_spec(run(params))
    view = opening_view(spec)
    width = whole_width(view)  # FIT_WIDTH, or the 1400x900 chart for a world-spanning view
    for lon, lat in drawn_points(spec):
        x, y = project(lon, lat, view, width, MAP_HEIGHT)
        assert 0 <= x <= width and 0 <= y <= MAP_HEIGHT, (lon, lat, x, y)
    shapes = screen_shapes(spec, FIT_WIDTH, MAP_HEIGHT)
    assert overlaps(shapes) == []
    assert all(box.inside(FIT_WIDTH, MAP_HEIGHT) for box in shapes.boxes)  # labels: in the band


def test_the_view_is_kept_across_a_click_and_refitted_by_a_filter():
    at = run()
    before, key = deck_spec(at)["initialViewState"], chart_key(at, "summits")
    at = select(at, "summits", "places", {"place": "Vladivostok"})
    # The same deck under the same key: Streamlit keeps the user's pan, zoom and selection.
    assert deck_spec(at)["initialViewState"] == before and chart_key(at, "summits") == key
    at.multiselect(key="w_org").set_value(["ASEAN"]).run()
    # A new deck under a new key: the chart opens on the new view, with nothing selected.
    after = deck_spec(at)["initialViewState"]
    assert all(after[k] != before[k] for k in ("longitude", "latitude", "zoom"))
    assert chart_key(at, "summits") != key
    assert any(m.value == "**Legend**" for m in at.markdown)
