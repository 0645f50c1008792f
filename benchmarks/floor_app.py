"""The floor: the least any Streamlit page drawing this map must do, for comparison.

It reads the same files as the dashboard (the country shapes and the events table) and renders
one pydeck chart of the same countries and points, with no validation, join or aggregation.
The benchmark times it beside the dashboard (`benchmarks/run.py`); it is not part of the app.
Set SUMMIT_ATLAS_EVENTS to draw another events table, as for the dashboard, and
SUMMIT_ATLAS_FLOOR_COMPACT=1 for a stricter floor that sends compact JSON as the dashboard does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pydeck as pdk
import streamlit as st
from pydeck.bindings.json_tools import default_serialize

REPO = Path(__file__).resolve().parent.parent
EVENTS = Path(os.environ.get("SUMMIT_ATLAS_EVENTS") or REPO / "events.csv")

st.set_page_config(page_title="Floor", layout="wide")
countries = json.loads((REPO / "geodata" / "countries.geojson").read_text(encoding="utf-8"))
COLUMNS = ["lat", "lon", "title", "place"]
if EVENTS.suffix == ".parquet":
    events = pd.read_parquet(EVENTS, columns=COLUMNS)
else:
    events = pd.read_csv(EVENTS, usecols=COLUMNS)
category = st.multiselect("Kinds of event", ["summit", "meeting", "trade"], key="w_category")
# The same search box as the dashboard's sidebar, so the browser benchmark changes one filter
# in both apps (a plain substring match: the floor does the least work).
query = st.sidebar.text_input("Search text", key="w_q")
if query:
    text = (events["title"].fillna("") + " " + events["place"].fillna("")).str.lower()
    events = events[text.str.contains(query.lower(), regex=False)]
points = events[["lat", "lon"]].dropna()
view = st.segmented_control("Map mode", ["summits", "partnerships", "flows"], key="w_view")
deck = pdk.Deck(
    layers=[
        pdk.Layer("GeoJsonLayer", id="countries", data=countries, get_fill_color=[236, 234, 228]),
        pdk.Layer(
            "ScatterplotLayer",
            id="places",
            data=points,
            get_position=["lon", "lat"],
            get_radius=5,
            radius_units="pixels",
        ),
    ],
    initial_view_state=pdk.ViewState(longitude=75, latitude=18, zoom=1.25),
    map_provider=None,
)
if os.environ.get("SUMMIT_ATLAS_FLOOR_COMPACT"):
    # The stricter floor: the same deck, serialised without pydeck's indentation.
    deck.to_json = lambda: json.dumps(deck, default=default_serialize, separators=(",", ":"))
st.pydeck_chart(deck, height=560)
