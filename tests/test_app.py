"""One AppTest per page: the app runs server-side without a browser, with URL state and selections."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.dataset import ENV_EVENTS
from dashboard.formatting import escape_markdown
from dashboard.ui.state import KEYS, advance_play
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


def test_a_refused_url_value_shows_as_typed_with_its_invisible_characters_marked():
    """Markdown, HTML and a shortcode in the value render as text; a zero-width space, a C1
    control and a bidirectional override show as marks (tests/e2e/test_security.py: the page)."""
    at = run({"view": "**x**<b>:red[y]\u200b\x9b\u202e"})
    (warning,) = [w.value for w in at.warning if w.value.startswith("Ignored in the URL")]
    shown = escape_markdown("view: '**x**<b>:red[y]⟨U+200B⟩⟨U+009B⟩⟨U+202E⟩' is not one of")
    assert warning.startswith(f"Ignored in the URL: {shown}")


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
    assert any(h.value.startswith(escape_markdown("Vladivostok: 5 events")) for h in at.subheader)
    assert len(at.expander) == 5
    # The legend moves under the map while the side column lists events.
    assert not any(m.value == "**Legend**" for m in at.markdown)


def test_a_marker_click_lists_compact_entries_and_says_a_shared_note_once():
    at = run()
    singapore = next(d for d in deck_spec(at)["layers"][1]["data"] if d["place"] == "Singapore")
    at = select(at, "summits", "places", singapore)
    heading = next(h.value for h in at.subheader)
    n = int(re.search(r"([0-9]+) event", heading)[1])
    assert heading.startswith("Singapore") and n >= 13
    assert len(at.expander) == n
    first = at.expander[0].label
    assert first.count(" · ") >= 1  # date · title · participants
    captions = [c.value for c in at.caption]
    shared = [c for c in captions if c.startswith("Note A, shared by")]
    assert len(shared) == 1
    note = shared[0].split(escape_markdown(": "), 1)[1]
    assert sum(note in c for c in captions) == 1  # said once, not once per event
    assert sum("see note A under the list" in c for c in captions) == int(shared[0].split()[4])


def test_selecting_a_country_offers_it_as_the_filter():
    at = select(run({"view": "partnerships"}), "partnerships", "countries", {"properties": {"iso3": "SGP"}})
    button = next(b for b in at.button if b.label == "Filter to Singapore")
    button.click().run()
    assert at.query_params["country"] == "SGP"


def page_caption(at: AppTest) -> str:
    """The page's sentence and count ("... 21 of 94 events.")."""
    return next(c.value for c in at.caption if " events." in c.value and " of " in c.value)


def test_years_number_inputs_set_the_years():
    at = run()
    at.number_input(key=KEYS.years_from).set_value(2010).run()
    assert at.query_params["years"] == "2010-2019"
    assert at.slider(key="w_years").value == (2010, 2019)
    at.number_input(key=KEYS.years_to).set_value(2015).run()
    assert at.query_params["years"] == "2010-2015"
    assert "from 2010 to 2015" in page_caption(at)
    # Typed the wrong way round: read as the range it must mean.
    at.number_input(key=KEYS.years_from).set_value(2019).run()
    assert at.query_params["years"] == "2015-2019"


def test_a_year_preset_sets_the_years_and_the_slider_sets_the_inputs_and_presets():
    at = run()
    assert at.pills(key=KEYS.years_preset).options == ["All", "Before 2010", "2010s", "2018", "2019"]
    assert at.pills(key=KEYS.years_preset).value == "All"
    at.pills(key=KEYS.years_preset).set_value("2018").run()
    assert at.query_params["years"] == "2018-2018"
    assert at.slider(key="w_years").value == (2018, 2018)
    assert [at.number_input(key=k).value for k in (KEYS.years_from, KEYS.years_to)] == [2018, 2018]
    at.slider(key="w_years").set_value((2010, 2019)).run()
    assert at.pills(key=KEYS.years_preset).value == "2010s"
    assert at.number_input(key=KEYS.years_from).value == 2010
    at.slider(key="w_years").set_value((2011, 2019)).run()
    assert at.pills(key=KEYS.years_preset).value is None
    at.pills(key=KEYS.years_preset).set_value("All").run()
    assert "years" not in at.query_params


def test_a_years_url_fills_every_years_widget():
    at = run({"years": "2012-2016"})
    assert at.slider(key="w_years").value == (2012, 2016)
    assert [at.number_input(key=k).value for k in (KEYS.years_from, KEYS.years_to)] == [2012, 2016]


def test_next_and_back_step_through_the_years_events_cover():
    at = run()
    at.button(key=KEYS.play_next).click().run()
    assert at.query_params["years"] == "1904-1904"
    at.button(key=KEYS.play_next).click().run()
    # The Russo-Japanese war is dated 1904-1905: it is present in 1905 too, and 1906 holds nothing.
    assert at.query_params["years"] == "1905-1905"
    assert page_caption(at).endswith("in 1905. 1 of 103 events.")
    at.button(key=KEYS.play_next).click().run()
    assert at.query_params["years"] == "1917-1917"
    at.button(key=KEYS.play_back).click().run()
    assert at.query_params["years"] == "1905-1905"
    assert at.slider(key="w_years").value == (1905, 1905)


def test_play_steps_the_years_and_the_url_and_any_other_change_pauses_it():
    at = run({"years": "2010-2019"})
    at.button(key=KEYS.play_button).click().run()
    assert at.query_params["years"] == "2010-2010"
    assert at.button(key=KEYS.play_button).label == "Pause"
    before = page_caption(at)
    # One tick of play's timer (the timer itself runs in the browser: tests/e2e/test_layout.py).
    assert advance_play(at.session_state)
    at.run()
    assert at.query_params["years"] == "2011-2011"
    assert at.slider(key="w_years").value == (2011, 2011)
    assert at.session_state[KEYS.playback].playing
    assert page_caption(at) != before and "in 2011" in page_caption(at)
    # Any other change pauses the play where it stands.
    at.multiselect(key="w_category").set_value(["summit"]).run()
    assert not at.session_state[KEYS.playback].playing
    assert at.button(key=KEYS.play_button).label == "Play"
    assert at.query_params["years"] == "2011-2011"
    assert not advance_play(at.session_state)
    # Play again resumes from the next year that still holds a summit (2012).
    at.button(key=KEYS.play_button).click().run()
    assert at.query_params["years"] == "2012-2012"


def test_a_step_queued_by_the_timer_gives_way_to_the_user():
    # The timer stepped (2011 waits for the app's rerun) just as the user acted.
    at = run({"years": "2010-2019"})
    at.button(key=KEYS.play_button).click().run()
    assert advance_play(at.session_state)
    at.button(key=KEYS.play_button).click().run()  # Pause: stops on the year the timer reached
    assert at.query_params["years"] == "2011-2011"
    assert not at.session_state[KEYS.playback].playing
    at.button(key=KEYS.play_button).click().run()
    assert advance_play(at.session_state)
    at.pills(key=KEYS.years_preset).set_value("2018").run()  # the user's years win
    assert at.query_params["years"] == "2018-2018"
    assert at.session_state[KEYS.playback] is None  # and the next play starts afresh


def _echo(at: AppTest, lo: int, hi: int) -> None:
    """What a browser that has not drawn the last step sends: the years it still shows, everywhere."""
    at.slider(key="w_years").set_value((lo, hi))
    at.number_input(key=KEYS.years_from).set_value(lo)
    at.number_input(key=KEYS.years_to).set_value(hi)


def test_a_browser_lagging_behind_play_does_not_undo_its_steps():
    at = run({"years": "2010-2019"})
    at.button(key=KEYS.play_button).click().run()
    assert advance_play(at.session_state)
    at.run()
    assert at.query_params["years"] == "2011-2011"
    # Pause, from a browser still showing 2010: the play pauses where it is, not back at 2010
    # and not on a new play from 1904.
    _echo(at, 2010, 2010)
    at.button(key=KEYS.play_button).click().run()
    assert at.query_params["years"] == "2011-2011"
    assert at.slider(key="w_years").value == (2011, 2011)
    assert not at.session_state[KEYS.playback].playing
    # Next twice, the second from a browser that has not drawn the first.
    at.button(key=KEYS.play_next).click().run()
    _echo(at, 2011, 2011)
    at.button(key=KEYS.play_next).click().run()
    assert at.query_params["years"] == "2013-2013"
    # A browser behind makes the timer wait a tick; one in step lets it go on.
    at.session_state[KEYS.browser_behind] = True
    at.button(key=KEYS.play_button).click().run()
    at.session_state[KEYS.browser_behind] = True
    assert not advance_play(at.session_state)
    assert advance_play(at.session_state)


def test_play_stops_on_its_last_year():
    at = run({"years": "2018-2019"})
    at.button(key=KEYS.play_button).click().run()
    assert at.query_params["years"] == "2018-2018"
    assert advance_play(at.session_state)
    at.run()
    assert at.query_params["years"] == "2019-2019"
    assert not at.session_state[KEYS.playback].playing
    assert at.button(key=KEYS.play_button).label == "Play"


def test_cumulative_play_keeps_the_start_of_the_range():
    at = run({"years": "2010-2019"})
    at.segmented_control(key=KEYS.play_mode).set_value("upto").run()
    at.button(key=KEYS.play_next).click().run()
    at.button(key=KEYS.play_next).click().run()
    assert at.query_params["years"] == "2010-2011"
    # Switching mode shows the same step the other way.
    at.segmented_control(key=KEYS.play_mode).set_value("year").run()
    assert at.query_params["years"] == "2011-2011"


def test_timeline_page():
    at = run(page="timeline")
    assert at.title[0].value == "Timeline"
    # The timeline, and the USD figures (the one unit with a trend).
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2
    spec = json.loads(charts[0].proto.spec)
    assert spec["encoding"]["x"]["scale"]["domain"] == list(range(2010, 2020))
    toggle = at.toggle(key=KEYS.timeline_context)
    assert toggle.label == "Show 13 earlier events (1904-2007)"
    toggle.set_value(True).run()
    assert len(at.get("vega_lite_chart")) == 3


def test_timeline_of_a_short_span_adds_months():
    at = run({"years": "2018-2019"}, page="timeline")
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert specs[0]["encoding"]["x"]["scale"]["domain"] == [2018, 2019]
    assert specs[1]["encoding"]["x"]["scale"]["domain"][:2] == ["2018-01", "2018-02"]
    assert any("dated to the year only" in c.value for c in at.caption)


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
                fmt.key, fmt.label, fmt.extension, fmt.mime, lambda r, c, out: calls.append(1)
            ),
        )
    run(page="data")
    assert calls == []


@pytest.mark.parametrize(
    ("bounds", "refused"),
    [
        ({"csv": 5, "geojson": 1000, "zip": 1000}, ["csv"]),
        ({"csv": 24, "geojson": 23, "zip": 3}, ["geojson", "zip"]),
        ({"csv": 24, "geojson": 24, "zip": 24}, []),
    ],
)
def test_a_selection_over_the_download_bound_gets_the_export_command_instead(monkeypatch, bounds, refused):
    """Over a format's bound its button is off, and beside the buttons the page says how many rows,
    the limit, and the two ways out; the command shown re-creates this very selection."""
    import shlex

    from dashboard import export
    from dashboard.cli import _parser, filter_state

    for key, limit in bounds.items():
        monkeypatch.setitem(export.DOWNLOAD_MAX_ROWS, key, limit)
    params = {"years": "2018-2019", "q": "summit", "view": "flows"}  # 24 rows
    at = run(params, page="data")
    buttons = {b.proto.label: b.proto.disabled for b in at.get("download_button")}
    assert buttons == {f"Download {f.label}": f.key in refused for f in export.FORMATS.values()}
    if not refused:
        assert not at.warning and not at.code
        return
    (warning,) = at.warning
    limits = " or ".join(f"as {export.FORMATS[k].label} (at most {bounds[k]:,} rows)" for k in refused)
    assert f"These filters select 24 rows, more than a download in the browser may hold {limits}:" in (
        warning.value
    )
    assert "narrow the filters, or run the command-line export" in warning.value
    (code,) = at.code
    commands = code.value.splitlines()
    assert len(commands) == len(refused)
    state = at.session_state[KEYS.page_context].state
    vocabulary = at.session_state[KEYS.page_context].dataset.vocabulary()
    for key, command in zip(refused, commands, strict=True):
        words = shlex.split(command)
        assert words[:4] == ["python", "-m", "dashboard", "export"]
        args = _parser().parse_args(words[3:])
        assert args.format == key
        assert filter_state(args, vocabulary) == state.filters_only() != type(state)()


@pytest.mark.parametrize("key", ["csv", "geojson", "zip"])
def test_a_large_download_is_prepared_under_a_progress_bar_then_offered(monkeypatch, key):
    """From PREPARE_MIN_ROWS rows a file takes seconds to write: its button prepares it in the
    page's run under a progress bar, then the download holds exactly the file the deferred
    button would have built; other filters drop it."""
    import io
    import zipfile

    from dashboard import export
    from dashboard.export import FORMATS

    monkeypatch.setattr(export, "PREPARE_MIN_ROWS", 0)
    at = run({"country": "SGP"}, page="data")
    labels = [b.proto.label for b in at.button if b.key and b.key.startswith("prepare-")]
    assert labels == [f"Prepare {f.label}" for f in FORMATS.values()]
    assert not at.get("download_button")
    at.button(key=f"prepare-{key}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    fmt = FORMATS[key]
    assert [b.proto.label for b in at.get("download_button")] == [f"Download {fmt.label}"]
    held = at.session_state[KEYS.prepared_download]
    assert held["format"] == key
    ctx = at.session_state[KEYS.page_context]
    if key == "zip":  # its README holds the page's address, which AppTest does not have
        names = zipfile.ZipFile(io.BytesIO(held["data"])).namelist()
        assert {"events.csv", "events.geojson", "sources.csv", "README.md", "datapackage.json"} <= set(names)
    else:
        assert held["data"] == fmt.write(ctx.selection, None)
    # Another filter: the prepared file is dropped, every format is to be prepared again.
    at.multiselect(key="w_category").set_value(["summit"]).run()
    assert KEYS.prepared_download not in at.session_state
    assert not at.get("download_button")


def test_a_prepared_download_reports_its_progress_as_rows_are_written(monkeypatch):
    from dashboard.dataset import load_dataset
    from dashboard.export import FORMATS, reporting
    from dashboard.filters import FilterState

    dataset = load_dataset()
    selection = FilterState().selection(dataset.engine())
    for fmt in FORMATS.values():
        seen: list[tuple[int, int]] = []
        counted = reporting(selection, fmt, lambda done, total, seen=seen: seen.append((done, total)))
        object.__setattr__(counted, "size", 10)  # batches of 10 rows: a bar that moves
        assert fmt.write(counted, None if fmt.key != "zip" else _zip_context(dataset)) == fmt.write(
            selection, None if fmt.key != "zip" else _zip_context(dataset)
        )
        total = selection.count() * fmt.reads
        assert seen[-1] == (total, total) and len(seen) >= fmt.reads * 10
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def _zip_context(dataset):
    from dashboard.export import ExportContext
    from dashboard.filters import FilterState

    return ExportContext(dataset, FilterState(), permalink="")


def test_the_export_command_shows_hostile_search_text_as_code_only(monkeypatch):
    """Search text from the URL reaches the page only inside the command, shown as code: the
    message beside the buttons holds counts and our own labels alone."""
    import shlex

    from dashboard import export

    monkeypatch.setitem(export.DOWNLOAD_MAX_ROWS, "csv", 0)
    hostile = "`summit` $(summit) **summit** <b>summit</b>'"  # every word is "summit": rows match
    at = run({"q": hostile}, page="data")
    (code,) = at.code
    assert shlex.split(code.value)[-2:] == ["--q", hostile]
    (warning,) = at.warning
    assert "summit" not in warning.value and "<b>" not in warning.value


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
    # One event asked for by name is shown whole: its title and its quote, not a list entry.
    assert any("Putin" in m.value and m.value.startswith("**") for m in at.markdown)
    assert any(m.value.startswith("> “") for m in at.markdown)
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
    # Headings hold data, so they are escaped Markdown (formatting.escape_markdown).
    assert any(h.value.startswith(escape_markdown(heading)) for h in at.subheader), [
        h.value for h in at.subheader
    ]


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


def test_a_table_spanning_other_years_brings_the_years_widgets_into_its_range(tmp_path, monkeypatch):
    at = run()
    at.slider(key="w_years").set_value((1990, 2020)).run()
    small = tmp_path / "small.csv"
    small.write_bytes(table_bytes([row(event_id="a"), row(event_id="b", date_start="2019", date_end="")]))
    monkeypatch.setenv(ENV_EVENTS, str(small))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.slider(key="w_years").value == (2018, 2019)
    assert at.number_input(key=KEYS.years_from).value == 2018
    assert "years" not in at.query_params


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


@pytest.mark.parametrize(
    ("sent", "width"),
    [
        (452, 452.0),
        (579.5, 579.5),
        (None, None),
        ("452", None),
        (-10, None),
        (0, None),
        (float("nan"), None),
        (float("inf"), None),
        (10**400, None),
        (680, None),
        (True, None),
        ([452], None),
        ({"width": 452}, None),
    ],
)
def test_the_chart_width_from_the_browser_is_taken_only_as_a_finite_narrow_width(monkeypatch, sent, width):
    # The width probe's state is client input: a crafted setStateValue must not reach the fit.
    from types import SimpleNamespace

    from dashboard.layers import MAP_WIDTH, chart_size, min_zoom
    from dashboard.ui import components

    monkeypatch.setattr(components, "_chart_width", lambda **_: SimpleNamespace(width=sent))
    got = components.chart_width("probe", MAP_WIDTH)
    assert got == width
    size = chart_size(got)
    assert min(size) >= 240 and math.isfinite(min_zoom(size))


# ----- a table held in its Parquet cache (the large-table path) at toy size ------------------

#: Every page and map mode, and an event asked for in the URL: the query params of the first
#: run, then the views and pages visited one after another in the same session.
PARQUET_VISITS = [
    ({"event": "2019-04-25-vladivostok-putin-kim-summit"}, ["partnerships", "flows"]),
    ({"categories": "summit"}, ["timeline", "data", "sources"]),
]


def _counts(at: AppTest) -> list[str]:
    """What a page says about how many events it shows: every count in its captions, text and metrics."""
    texts = [e.value for e in (*at.caption, *at.markdown, *at.subheader)] + [str(m.value) for m in at.metric]
    return [t for t in texts if re.search(r"\d", t)]


def _visit(params: dict, visits: list[str]) -> list[list[str]]:
    """The counts each view shows, in turn: map modes by their control, pages by switching."""
    at = run(params)
    seen = [_counts(at)]
    for visit in visits:
        if visit in ("partnerships", "flows"):
            at.segmented_control(key=KEYS.view).set_value(visit).run()
        else:
            at.switch_page(f"{PAGES}/{visit}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        seen.append(_counts(at))
    seen.append(at.session_state[KEYS.page_context].dataset)
    return seen


@pytest.mark.parametrize(("params", "visits"), PARQUET_VISITS)
def test_a_table_in_its_parquet_cache_serves_every_page_without_reading_its_rows(
    tmp_path, monkeypatch, params, visits
):
    import shutil

    import dashboard.dataset as dataset_module
    from dashboard.dataset import DEFAULT_EVENTS, ENV_CACHE

    # The same table twice: first under the cache threshold (held in memory), then cached.
    for name in ("framed", "parquet"):
        (tmp_path / name).mkdir()
        shutil.copy(DEFAULT_EVENTS, tmp_path / name / "events.csv")
    monkeypatch.setenv(ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setenv(ENV_EVENTS, str(tmp_path / "framed" / "events.csv"))
    *framed, in_memory = _visit(params, visits)
    assert in_memory.parquet is None and all(framed)

    monkeypatch.setattr(dataset_module, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(dataset_module, "LAZY_MIN_ROWS", 0)

    def never(self):
        raise AssertionError("a page read every row of a Parquet-backed table into memory")

    monkeypatch.setattr(dataset_module._LazyLoad, "__call__", never)
    monkeypatch.setenv(ENV_EVENTS, str(tmp_path / "parquet" / "events.csv"))
    *cached, dataset = _visit(params, visits)
    assert dataset.parquet is not None and dataset.loaded is None
    assert cached == framed


def test_the_app_reopens_a_large_checked_table_from_its_cache_under_its_progress_bar(tmp_path, monkeypatch):
    """A new server process reopens a checked table from its (signed) cache: no rebuild, no
    notice, under the progress bar a large table gets (at toy size, its thresholds patched)."""
    import shutil

    import dashboard.dataset as dataset_module
    from dashboard.dataset import DEFAULT_EVENTS, ENV_CACHE
    from dashboard.ui import loaders

    shutil.copy(DEFAULT_EVENTS, tmp_path / "events.csv")
    monkeypatch.setenv(ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setenv(ENV_EVENTS, str(tmp_path / "events.csv"))
    monkeypatch.setattr(dataset_module, "CACHE_MIN_BYTES", 0)
    monkeypatch.setattr(dataset_module, "LAZY_MIN_ROWS", 0)
    monkeypatch.setattr(loaders, "PROGRESS_MIN_BYTES", 0)
    opened = []
    for _ in range(2):
        loaders._dataset_slot.clear()  # as a new server process would start
        at = AppTest.from_file(APP, default_timeout=60).run()
        assert not at.exception, [e.value for e in at.exception]
        opened.append(at.session_state[KEYS.page_context].dataset)
    built, reopened = opened
    assert not built.from_cache and reopened.from_cache and reopened.notices == ()
    assert reopened.result.rows_loaded == built.result.rows_loaded
