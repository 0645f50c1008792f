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


def test_map_page_draws_markers_on_the_country_basemap():
    at = run()
    assert deck_layers(at) == ["sea", "countries", "russia", "places", "place-labels"]
    assert "events." in at.caption[0].value
    assert not at.warning


@pytest.mark.parametrize(
    ("params", "layers"),
    [
        ({"view": "partnerships"}, ["sea", "countries", "russia", "choropleth"]),
        ({"view": "partnerships", "members": "ASEAN"}, ["sea", "countries", "russia", "choropleth"]),
        ({"view": "flows"}, ["sea", "countries", "russia", "tie-arcs", "trade-arcs"]),
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


def test_selecting_a_marker_opens_its_detail_panel():
    at = run()
    at.session_state["map-summits"] = {
        "selection": {
            "indices": {"places": [0]},
            "objects": {
                "places": [{"place": "Vladivostok", "event_ids": "2019-04-25-vladivostok-putin-kim-summit"}]
            },
        }
    }
    at.run()
    assert any(h.value.startswith("Vladivostok") for h in at.subheader)


def test_selecting_a_country_offers_it_as_the_filter():
    at = run({"view": "partnerships"})
    at.session_state["map-partnerships"] = {
        "selection": {
            "indices": {"choropleth": [0]},
            "objects": {"choropleth": [{"properties": {"iso3": "SGP"}}]},
        }
    }
    at.run()
    button = next(b for b in at.button if b.label == "Filter to Singapore")
    button.click().run()
    assert at.query_params["country"] == "SGP"


def test_timeline_page():
    at = run(page="timeline")
    assert at.title[0].value == "Timeline"
    assert (
        len(at.get("vega_lite_chart")) == 2
    )  # the timeline, and the USD figures (the one unit with a trend)


def test_data_page_offers_every_download_of_the_filtered_rows():
    at = run({"country": "SGP"}, page="data")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download CSV", "Download GeoJSON", "Download data package (ZIP)"]
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
    assert any(h.value == "Selected event" for h in at.subheader)
    assert at.query_params["event"] == event_id
    next(b for b in at.button if b.label == "Clear selected event").click().run()
    assert "event" not in at.query_params


@pytest.mark.parametrize(
    ("layer", "obj", "heading"),
    [
        ("trade-arcs", {"target": "SGP"}, "Russia → Singapore: 4 figures"),
        (
            "trade-arcs",
            {"target": "ASEAN", "aggregate": True},
            "Russia → Association of Southeast Asian Nations: 2 figures (ASEAN: organisation-level aggregate",
        ),
        ("tie-arcs", {"target": "PRK"}, "Russia → North Korea:"),
    ],
)
def test_selecting_an_arc_lists_its_events(layer, obj, heading):
    at = run({"view": "flows"})
    at.session_state["map-flows"] = {"selection": {"indices": {layer: [0]}, "objects": {layer: [obj]}}}
    at.run()
    assert any(h.value.startswith(heading) for h in at.subheader), [h.value for h in at.subheader]


@pytest.mark.parametrize(
    ("params", "page"),
    [
        ({}, None),
        ({"view": "flows"}, None),
        ({"view": "partnerships", "members": "ASEAN"}, None),
        ({}, "timeline"),
    ],
)
def test_map_and_timeline_offer_figures_built_only_when_clicked(monkeypatch, params, page):
    from dashboard import figures

    calls = []
    monkeypatch.setattr(figures, "figure_bytes", lambda *a, **k: calls.append(1) or b"")
    at = run(params, page=page)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download figure (PNG)", "Download figure (SVG)"]
    assert calls == []  # a rerun draws no figure: the buttons' data are callables


IMPORTS = Path(__file__).resolve().parent / "data" / "imports"


@pytest.mark.parametrize(
    ("name", "loaded", "dataset", "rows"),
    [
        ("acled_sample.csv", "7 events loaded, 0 skipped.", "ACLED", "7 of 17 rows"),
        (
            "gdelt_sample.export.CSV",
            "8 events loaded, 0 skipped.",
            "GDELT 2.0 Event Database",
            "8 of 17 rows",
        ),
    ],
)
def test_an_acled_or_gdelt_upload_is_converted_with_its_own_sources(name, loaded, dataset, rows):
    at = run()
    at.file_uploader(key="upload").set_value((name, (IMPORTS / name).read_bytes(), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    # Labels are Markdown-escaped (names from a file never render), so match the plain parts.
    assert any(c.value.startswith("Using ") and c.value.endswith(loaded) for c in at.caption)
    (expander,) = [e for e in at.expander if e.label.startswith("Converted from")]
    assert dataset in expander.label and expander.label.endswith(rows)
    assert "not covered by the crosswalk" in expander.text[0].value
    at.switch_page(f"{PAGES}/sources.py").run()
    (table,) = at.dataframe
    assert table.value["article"].tolist() == [1]
    assert table.value["outlet"].tolist() == [dataset]


def test_an_imported_table_from_the_environment_cites_the_sources_beside_it(tmp_path, monkeypatch):
    from dashboard.importers import run_import

    run_import("gdelt", IMPORTS / "gdelt_sample.export.CSV", tmp_path)
    monkeypatch.setenv(ENV_EVENTS, str(tmp_path / "events.csv"))
    at = run(page="sources")
    assert not at.warning  # every row's article is in the sources.csv beside it
    (table,) = at.dataframe
    assert table.value["outlet"].tolist() == ["GDELT 2.0 Event Database"]
