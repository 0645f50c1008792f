"""Map page: summits and meetings, partnerships, or flows; click anything for its events.

Layout, for a 1400x900 window: a one-line header (title, counts, mode control), then the map
with a side column that holds the legend, or the events of what was clicked. The row wraps
when narrow: the side column goes under the map, and the header's controls under the title.
The deck opens on what the filters leave and does not depend on the selection; the chart is
keyed by the deck, so a click reruns the page without moving the map, and a filter change
opens the new view with nothing selected.
"""

from __future__ import annotations

import streamlit as st

from dashboard.aggregate import (
    events_at_place,
    events_for_marker,
    events_in_cell,
    events_on_arc,
    events_with_country,
    kinds_text,
)
from dashboard.engine import Selection
from dashboard.filters import VIEW_LABELS, VIEWS
from dashboard.formatting import escape_markdown as esc
from dashboard.formatting import plural
from dashboard.layers import (
    ARCS,
    COUNTRIES,
    MAP_HEIGHT,
    MAP_WIDTH,
    PLACES,
    SEA_CSS,
    build_deck_and_overlay,
    chart_key,
    chart_size,
)
from dashboard.ui import components
from dashboard.ui.context import PageContext, current_context
from dashboard.ui.downloads import figure_buttons
from dashboard.ui.state import KEYS, clear_event, commit, filter_to_country, map_key

MEMBERS_NONE = "Events with Russia"
#: The side column's width; below about 800 px of main area the row wraps and it goes under the map.
SIDE_WIDTH = 340
#: Page styles: constants only, never data. A tighter top, a one-line header, the map row
#: wrapping when narrow, and the sea as the chart's background (see dashboard.layers).
CSS = (
    "<style>"
    "[data-testid='stMainBlockContainer'] {padding: 3.25rem 1.5rem 2rem;}"
    ".st-key-map-header h1 {font-size: 1.35rem; line-height: 1.3; padding: 0; margin: 0;}"
    ".st-key-map-header [data-testid='stMarkdownContainer'] {margin-bottom: 0;}"
    ".st-key-map-header p {margin-bottom: 0;}"
    # Streamlit wraps each child of a horizontal container in a flex item of its own: the
    # basis and minimum go on that wrapper, or the map shrinks beside the side column (280 px
    # at 1000 px with the sidebar open) instead of the row wrapping.
    ".st-key-map-row > :has(.st-key-map-area) {flex: 1 1 420px; min-width: min(420px, 100%);}"
    ".st-key-map-area {position: relative;}"
    # The width probe measures the column without taking a row of it.
    f".st-key-{KEYS.chart_width} {{position: absolute; top: 0; left: 0; right: 0; height: 0;}}"
    ".st-key-map-side h3 {font-size: 1.05rem; line-height: 1.35; padding: 0.25rem 0 0;}"
    ".st-key-map-side [data-testid='stExpander'] p, .st-key-map-side blockquote {font-size: 0.88rem;}"
    f"{SEA_CSS}"
    "</style>"
)


def render(ctx: PageContext) -> None:
    state, ref = ctx.state, ctx.dataset.reference
    st.html(CSS)
    with st.container(horizontal=True, vertical_alignment="center", gap="medium", key="map-header"):
        with st.container(width="stretch", gap=None):
            st.title("Russia's summits, partnerships and flows", anchor=False)
            st.caption(esc(ctx.caption()))
        st.session_state.setdefault(KEYS.view, state.view)
        view = (
            st.segmented_control(
                "Map mode", VIEWS, format_func=VIEW_LABELS.get, key=KEYS.view, label_visibility="collapsed"
            )
            or state.view
        )
        members = ""
        if view == "partnerships":
            options = [MEMBERS_NONE, *ref.orgs_with_members]
            st.session_state.setdefault(KEYS.members, state.members or MEMBERS_NONE)
            choice = st.selectbox(
                "Colour countries by",
                options,
                key=KEYS.members,
                format_func=lambda o: o if o == MEMBERS_NONE else f"Membership of {o} (2018-2019)",
                label_visibility="collapsed",
                width=280,
            )
            members = "" if choice == MEMBERS_NONE else choice
    state = state.replace(view=view, members=members)
    commit(state)

    if view == "flows" and ref.flows_notice:
        st.warning(esc(ref.flows_notice), icon=":material/warning:")
    with st.container(horizontal=True, gap="medium", key="map-row"):
        with st.container(key="map-area", gap="small"):
            # Fitted to the band every chart from a 1400x900 page up holds, or to this chart's
            # own width when the browser reports it narrower (an 800 px window).
            size = chart_size(components.chart_width(KEYS.chart_width, MAP_WIDTH))
            # The aggregates behind the deck run in the engine: only small tables reach the page.
            deck, overlay = build_deck_and_overlay(
                view, ctx.selection, ref, members=members, tiles=ctx.tiles, size=size
            )
            event = st.pydeck_chart(
                deck,
                on_select="rerun",
                selection_mode="single-object",
                key=chart_key(map_key(view), deck),
                height=int(size[1]),
            )
            selected = _selection(event)
            if selected is not None or state.event:
                # The side column lists events: the legend goes under the map.
                components.legend(overlay.legend, _notes(view, ctx, members), overlay.names)
                figure_buttons(ctx, view, state)
        with st.container(width=SIDE_WIDTH, height=MAP_HEIGHT, border=False, key="map-side"):
            if ctx.count == 0:
                st.info("No events match these filters. Widen the years or clear a filter (sidebar → Reset).")
            if state.event:
                _selected_event(ctx)
            if selected is not None:
                _detail(*selected, ctx)
            elif not state.event:
                st.markdown("**Legend**")
                components.legend(overlay.legend, _notes(view, ctx, members), overlay.names)
                st.caption(
                    "Click a marker, country or arc to list its events here, with the quotes behind them."
                )
                figure_buttons(ctx, view, state, stacked=True)


def _notes(view: str, ctx: PageContext, members: str) -> list[str]:
    if view == "summits":
        notes = [
            "Marker size: number of events at the place. Colour: the highest-ranking kind held "
            "there, in the order above (summit first); hover or click for every kind."
        ]
        hidden = ctx.selection.narrowed("lat IS NULL").count()
        if hidden:
            notes.append(
                f"{hidden:,} of {ctx.count:,} events name no place in the text and are not drawn here "
                "(see Data)."
            )
        return notes
    if view == "partnerships":
        if members:
            return [f"Member states of {members} as of 2018-2019 (geodata/organisation_members.csv)."]
        return ["Count of filtered events each country takes part in with Russia (participants or place)."]
    return [
        "Arcs start in Moscow and follow great circles; names label their ends where they fit "
        "(hover an arc for the rest). Figures that concern an organisation end at its seat and are "
        "aggregates, never split across members.",
    ]


def _selection(event) -> tuple[str, dict] | None:
    try:
        objects = event["selection"]["objects"]
    except (KeyError, TypeError):
        return None
    for layer, items in (objects or {}).items():
        if items and isinstance(items[0], dict):
            return layer, items[0]
    return None


def _selected_event(ctx: PageContext) -> None:
    every = Selection(ctx.selection.engine)  # the event is shown whatever the filters
    chosen = every.narrowed("event_id = ?", [ctx.state.event]).rows(limit=1)
    st.subheader("Selected event")
    st.button("Clear selected event", on_click=clear_event, key=KEYS.clear_event, width="stretch")
    # One event asked for by name (?event=, a Data-page row): shown whole, not as a list entry.
    components.event_cards(chosen, ctx.dataset)


def _detail(layer: str, obj: dict, ctx: PageContext) -> None:
    """The events behind what was clicked: a marker, an arc or a country."""
    events, ref = ctx.selection, ctx.dataset.reference
    if layer == PLACES:
        # The deck carries no event ids (they would grow with the table): look the rows up.
        if isinstance(obj.get("members"), list):
            chosen = events_for_marker(events, obj["members"])
        elif obj.get("cell"):
            chosen = events_in_cell(events, str(obj["cell"]))
        else:
            chosen = events_at_place(events, str(obj.get("place", "")), obj.get("position"))
        others = int(chosen.query("SELECT count(DISTINCT place) AS n FROM sel")["n"].iloc[0]) - 1
        name = str(obj.get("place", "")) + (f" and {plural(others, 'place')} nearby" if others > 0 else "")
        heading = f"{name}: {plural(chosen.count(), 'event')}"
        _list(heading, chosen, ctx)
        return
    if layer == ARCS:
        kind = "figure" if obj.get("kind") == "figure" else "tie"
        target = str(obj.get("target", ""))
        chosen = events_on_arc(events, kind, target)
        name = ref.country_names.get(target) or ref.org_names.get(target, target)
        heading = f"Russia → {name}: {plural(chosen.count(), kind if kind == 'figure' else 'event')}"
        if obj.get("aggregate"):
            heading += f" ({target}: organisation-level aggregate, not split across members)"
        _list(heading, chosen, ctx)
        return
    if layer == COUNTRIES:
        props = obj.get("properties", obj)
        iso3 = str(props.get("iso3", "")) if isinstance(props, dict) else ""
        if iso3 not in ref.iso3_codes:
            return
        name = ref.country_names.get(iso3, iso3)
        involved = events_with_country(events, [iso3])
        if (iso3,) != ctx.state.countries:
            st.button(f"Filter to {name}", on_click=filter_to_country, args=(iso3,), width="stretch")
        _list(f"{name}: {plural(involved.count(), 'event')}", involved, ctx)


def _list(heading: str, chosen: Selection, ctx: PageContext) -> None:
    st.subheader(esc(heading), anchor=False)
    if chosen.empty:
        st.caption("None under the current filters.")
        return
    per_kind = chosen.query("SELECT category, count(*) AS n FROM sel GROUP BY category")
    kinds = dict(zip(per_kind["category"], per_kind["n"], strict=True))
    st.caption(
        esc(f"Kinds: {kinds_text({k: int(v) for k, v in kinds.items()})}. Open one for its quote and source.")
    )
    # The first entries only: a busy place holds millions of events in a large table.
    limit = components.EVENT_LIST_LIMIT
    components.event_list(chosen.rows(limit=limit), ctx.dataset, limit, total=chosen.count())


render(current_context())
