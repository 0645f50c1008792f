"""Map page: summits and meetings, partnerships, or flows; click anything for its events."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.aggregate import events_at_place, events_in_cell, events_on_arc, events_with_country
from dashboard.filters import VIEW_LABELS, VIEWS
from dashboard.formatting import escape_markdown as esc
from dashboard.formatting import plural
from dashboard.layers import CHOROPLETH, COUNTRIES, PLACES, RUSSIA, TIE_ARCS, TRADE_ARCS, build_deck
from dashboard.ui import components
from dashboard.ui.context import PageContext, current_context
from dashboard.ui.downloads import figure_buttons
from dashboard.ui.state import KEYS, clear_event, commit, filter_to_country, map_key

MEMBERS_NONE = "Events with Russia"


def render(ctx: PageContext) -> None:
    state, rows, ref = ctx.state, ctx.rows, ctx.dataset.reference
    st.title("Russia's summits, partnerships and flows")
    st.caption(esc(ctx.caption()))

    controls = st.columns([3, 2])
    st.session_state.setdefault(KEYS.view, state.view)
    view = (
        controls[0].segmented_control(
            "Map mode", VIEWS, format_func=VIEW_LABELS.get, key=KEYS.view, label_visibility="collapsed"
        )
        or state.view
    )
    members = ""
    if view == "partnerships":
        options = [MEMBERS_NONE, *ref.orgs_with_members]
        st.session_state.setdefault(KEYS.members, state.members or MEMBERS_NONE)
        choice = controls[1].selectbox(
            "Colour countries by",
            options,
            key=KEYS.members,
            format_func=lambda o: o if o == MEMBERS_NONE else f"Membership of {o} (2018-2019)",
        )
        members = "" if choice == MEMBERS_NONE else choice
    state = state.replace(view=view, members=members)
    commit(state)

    if rows.empty:
        st.info("No events match these filters. Widen the years or clear a filter (sidebar → Reset filters).")
    if view == "flows" and ref.flows_notice:
        st.warning(esc(ref.flows_notice), icon=":material/warning:")
    deck, legend_items = build_deck(view, rows, ref, members=members, tiles=ctx.tiles)
    map_col, legend_col = st.columns([4, 1])
    with map_col:
        event = st.pydeck_chart(
            deck,
            on_select="rerun",
            selection_mode="single-object",
            key=map_key(view),
            height=560,
        )
    with legend_col:
        st.markdown("**Legend**")
        components.legend(legend_items, _notes(view, rows, members))
        figure_buttons(ctx, view, state, stacked=True)

    selected = _selection(event)
    if state.event:
        chosen = ctx.dataset.events[ctx.dataset.events["event_id"] == state.event]
        st.subheader("Selected event")
        st.button("Clear selected event", on_click=clear_event, key=KEYS.clear_event)
        components.event_cards(chosen, ctx.dataset)
    if selected is not None:
        layer, obj = selected
        _detail(layer, obj, ctx)
    elif not state.event:
        st.caption("Click a marker, country or arc to see its events and the quotes behind them.")


def _notes(view: str, rows: pd.DataFrame, members: str) -> list[str]:
    if view == "summits":
        notes = ["Marker size: number of events at the place. Colour: its most frequent kind of event."]
        hidden = int(rows["lat"].isna().sum())
        if hidden:
            notes.append(
                f"{hidden} of {len(rows)} events name no place in the text and are not drawn here (see Data)."
            )
        return notes
    if view == "partnerships":
        if members:
            return [f"Member states of {members} as of 2018-2019 (geodata/organisation_members.csv)."]
        return ["Count of filtered events each country takes part in with Russia (participants or place)."]
    return [
        "Arcs start in Moscow. Figures that concern an organisation end at its seat and are "
        "aggregates, never split across members.",
    ]


def _selection(event) -> tuple[str, dict] | None:
    try:
        objects = event["selection"]["objects"]
    except (KeyError, TypeError):
        return None
    for layer, items in (objects or {}).items():
        if items:
            return layer, items[0]
    return None


def _detail(layer: str, obj: dict, ctx: PageContext) -> None:
    events, ref = ctx.rows, ctx.dataset.reference
    if layer == PLACES:
        # The deck carries no event ids (they would grow with the table): look the rows up.
        if obj.get("cell"):
            chosen = events_in_cell(events, str(obj["cell"]))
            heading = f"Around {obj.get('place', '')}: {plural(len(chosen), 'event')}"
            heading += f" at {plural(int(obj.get('places', 0)), 'place')}"
        else:
            chosen = events_at_place(events, str(obj.get("place", "")), obj.get("position"))
            heading = f"{obj.get('place', '')}: {plural(len(chosen), 'event')}"
        st.subheader(esc(heading))
        components.event_cards(chosen, ctx.dataset)
        return
    if layer in (TRADE_ARCS, TIE_ARCS):
        kind, noun = ("figure", "figure") if layer == TRADE_ARCS else ("tie", "event")
        target = str(obj.get("target", ""))
        chosen = events_on_arc(events, kind, target)
        name = ref.country_names.get(target) or ref.org_names.get(target, target)
        heading = f"Russia → {name}: {plural(len(chosen), noun)}"
        if obj.get("aggregate"):
            heading += f" ({target}: organisation-level aggregate, not split across members)"
        st.subheader(esc(heading))
        components.event_cards(chosen, ctx.dataset)
        return
    if layer in (COUNTRIES, CHOROPLETH, RUSSIA):
        props = obj.get("properties", obj)
        iso3 = str(props.get("iso3", ""))
        if iso3 not in ref.iso3_codes:
            return
        name = ref.country_names.get(iso3, iso3)
        involved = events_with_country(events, [iso3])
        st.subheader(esc(f"{name}: {plural(len(involved), 'event')}"))
        if (iso3,) != ctx.state.countries:
            st.button(f"Filter to {name}", on_click=filter_to_country, args=(iso3,))
        components.event_cards(involved, ctx.dataset)


render(current_context())
