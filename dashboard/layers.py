"""pydeck layers and decks for the three map views, built from a filtered, enriched frame.

Each layer has a fixed id, so Streamlit's selection state survives reruns and tests can compare
decks as JSON (golden files). The country shapes are the basemap: no tiles, no outside request,
unless the caller asks for online tiles. Tooltip text is plain text: deck.gl renders the `text`
tooltip with innerText, so nothing from the data becomes live HTML.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from dashboard.aggregate import country_counts, flow_table, marker_table, place_table
from dashboard.formatting import plural
from dashboard.geo import RUSSIA_ISO3, Reference, sea_polygon
from dashboard.schema import CATEGORIES, CATEGORY_COLOURS

# Layer ids: fixed, because pydeck's default id is random per run and breaks selection.
SEA, COUNTRIES, RUSSIA, CHOROPLETH, PLACES, LABELS, TRADE_ARCS, TIE_ARCS = (
    "sea",
    "countries",
    "russia",
    "choropleth",
    "places",
    "place-labels",
    "trade-arcs",
    "tie-arcs",
)

SEA_COLOUR = [214, 228, 240]
LAND_COLOUR = [236, 234, 228]
BORDER_COLOUR = [255, 255, 255]
RUSSIA_COLOUR = [92, 92, 110]
TRADE_COLOUR = [201, 60, 150]
TIE_COLOUR = [30, 110, 200]
#: Choropleth bins (lower bounds of event counts) and their colours, light to dark.
COUNT_BINS: tuple[int, ...] = (1, 2, 4, 8, 16)
COUNT_COLOURS: tuple[tuple[int, int, int], ...] = (
    (254, 217, 142),
    (254, 178, 76),
    (253, 141, 60),
    (240, 59, 32),
    (189, 0, 38),
)
MEMBER_COLOUR = (49, 130, 189)
#: Place names drawn on the map, busiest first; every place keeps its marker and tooltip.
MAX_LABELS = 30
#: deck.gl renders `text` with innerText: data never becomes HTML. The style keeps it readable.
TOOLTIP = {
    "text": "{tooltip}",
    "style": {"maxWidth": "360px", "fontSize": "12px", "lineHeight": "1.35", "whiteSpace": "pre-wrap"},
}
INITIAL_VIEW = {"longitude": 75.0, "latitude": 18.0, "zoom": 1.25, "min_zoom": 0.5, "max_zoom": 9}


class CompactDeck(pdk.Deck):
    """A Deck whose JSON has no indentation: a fifth of the bytes pydeck's pretty print sends."""

    def to_json(self) -> str:
        return json.dumps(
            self, sort_keys=True, default=default_serialize, separators=(",", ":"), allow_nan=False
        )


@dataclass(frozen=True)
class LegendItem:
    """One entry of the legend drawn beside the map."""

    label: str
    colour: tuple[int, int, int]
    kind: str = "swatch"  # swatch | circle | line


# ----- layers -----------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _countries_features(reference: Reference) -> dict:
    features = []
    for iso3, name, geom in zip(
        reference.countries["iso3"],
        reference.countries["name"],
        reference.countries.geometry,
        strict=True,
    ):
        features.append(
            {
                "type": "Feature",
                "geometry": geom.__geo_interface__,
                "properties": {"iso3": iso3, "name": name, "tooltip": name},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def countries_collection(reference: Reference, codes: Sequence[str] | None = None) -> dict:
    """Country shapes as a GeoJSON dict; only `codes` if given. Built once per reference."""
    base = _countries_features(reference)
    if codes is None:
        return base
    wanted = set(codes)
    return {
        "type": "FeatureCollection",
        "features": [f for f in base["features"] if f["properties"]["iso3"] in wanted],
    }


def land_collection(reference: Reference, leave_out: frozenset[str]) -> dict:
    """Country shapes as a GeoJSON dict, without the `leave_out` codes."""
    base = countries_collection(reference)
    return {
        "type": "FeatureCollection",
        "features": [f for f in base["features"] if f["properties"]["iso3"] not in leave_out],
    }


def base_layers(
    reference: Reference, *, pickable: bool = True, land_alpha: int = 255, drawn_above: Sequence[str] = ()
) -> list[pdk.Layer]:
    """The sea and the land: the basemap that needs no tiles.

    Every country's shape is sent once: Russia (its own layer) and the countries in
    `drawn_above` (an overlay that redraws them, e.g. the choropleth) are left out of the land.
    """
    sea = pdk.Layer(
        "PolygonLayer",
        id=SEA,
        data=[{"polygon": sea_polygon()}],
        get_polygon="polygon",
        get_fill_color=SEA_COLOUR,
        stroked=False,
        pickable=False,
    )
    land = pdk.Layer(
        "GeoJsonLayer",
        id=COUNTRIES,
        data=land_collection(reference, frozenset(drawn_above) | {RUSSIA_ISO3}),
        get_fill_color=[*LAND_COLOUR, land_alpha],
        get_line_color=BORDER_COLOUR,
        line_width_min_pixels=0.5,
        stroked=True,
        filled=True,
        pickable=pickable,
        auto_highlight=pickable,
        highlight_color=[0, 0, 0, 30],
    )
    russia = pdk.Layer(
        "GeoJsonLayer",
        id=RUSSIA,
        data=countries_collection(reference, [RUSSIA_ISO3]),
        get_fill_color=RUSSIA_COLOUR,
        get_line_color=BORDER_COLOUR,
        line_width_min_pixels=0.5,
        pickable=pickable,
    )
    return [sea, land, russia]


def summits_layers(events: pd.DataFrame) -> tuple[list[pdk.Layer], list[LegendItem]]:
    places = place_table(events)
    markers_table = marker_table(places)
    data = []
    for row in markers_table.itertuples():
        colour = CATEGORY_COLOURS.get(row.category, (0, 0, 0))
        data.append(
            {
                "place": row.place,
                "position": [round(row.lon, 4), round(row.lat, 4)],
                "count": int(row.count),
                # Area grows with the count; capped so one busy venue cannot hide its region.
                "radius": round(min(5 + 2.6 * math.sqrt(row.count), 28), 2),
                "color": [*colour, 220],
                "tooltip": row.tooltip,
                **({"cell": row.cell, "places": int(row.places)} if row.cell else {}),
            }
        )
    markers = pdk.Layer(
        "ScatterplotLayer",
        id=PLACES,
        data=data,
        get_position="position",
        get_radius="radius",
        radius_units="'pixels'",  # quoted: a constant, not an expression
        get_fill_color="color",
        get_line_color=[255, 255, 255],
        line_width_min_pixels=1,
        stroked=True,
        pickable=True,
        auto_highlight=True,
    )
    labels = pdk.Layer(
        "TextLayer",
        id=LABELS,
        # Labels for the busiest places only: more would overlap, and cost bytes on every rerun.
        data=[
            {"position": d["position"], "text": _label(d), "radius": d["radius"]} for d in data[:MAX_LABELS]
        ],
        get_position="position",
        get_text="text",
        get_size=12,
        get_color=[40, 40, 40],
        get_pixel_offset="[0, -radius - 3]",
        get_text_anchor="'middle'",
        get_alignment_baseline="'bottom'",
        # A quoted string is a constant for pydeck; unquoted it would be read as an expression.
        font_family="'sans-serif'",
        font_weight=600,
        outline_width=2,
        outline_color=[255, 255, 255, 220],
        font_settings={"sdf": True},
        pickable=False,
    )
    shown = [c for c in CATEGORIES if c in set(markers_table["category"])]
    legend = [LegendItem(c, CATEGORY_COLOURS[c], "circle") for c in shown]
    if len(markers_table) < len(places):
        size = markers_table["cell"].iloc[0].split(":")[0]
        legend.append(
            LegendItem(
                f"{len(places):,} places grouped into {len(markers_table):,} cells of {size}°",
                (0, 0, 0),
                "note",
            )
        )
    return [markers, labels], legend


def _label(marker: dict) -> str:
    """A marker's name on the map: the place, or a cell's busiest place and how many others."""
    extra = marker.get("places", 1) - 1
    return f"{marker['place']} +{extra}" if extra > 0 else marker["place"]


def count_bin(count: int) -> int:
    """Index of the choropleth bin a count falls in."""
    index = 0
    for i, lower in enumerate(COUNT_BINS):
        if count >= lower:
            index = i
    return index


def partnerships_layers(
    events: pd.DataFrame, reference: Reference, members: str = ""
) -> tuple[list[pdk.Layer], list[LegendItem]]:
    """Countries coloured by events with Russia, or by membership of one organisation."""
    if members:
        codes = sorted(reference.members_of(members) - {RUSSIA_ISO3})
        collection = countries_collection(reference, codes)
        features = []
        for f in collection["features"]:
            props = f["properties"]
            label = f"{props['name']}: member of {members} (2018-2019)"
            features.append(_recolour(f, MEMBER_COLOUR, label))
        legend = [LegendItem(f"member of {members}", MEMBER_COLOUR)]
        if RUSSIA_ISO3 in reference.members_of(members):
            legend.append(LegendItem(f"Russia (member of {members})", tuple(RUSSIA_COLOUR)))
    else:
        counts = country_counts(events)
        collection = countries_collection(reference, list(counts.index))
        features = []
        for f in collection["features"]:
            n = int(counts[f["properties"]["iso3"]])
            label = f"{f['properties']['name']}: {plural(n, 'event')} with Russia"
            features.append(_recolour(f, COUNT_COLOURS[count_bin(n)], label, count=n))
        legend = []
        for i, lower in enumerate(COUNT_BINS):
            upper = COUNT_BINS[i + 1] - 1 if i + 1 < len(COUNT_BINS) else None
            if upper is None:
                text = f"{lower}+ events"
            elif upper == lower:
                text = plural(lower, "event")
            else:
                text = f"{lower}-{upper} events"
            legend.append(LegendItem(text, COUNT_COLOURS[i]))
        legend.append(LegendItem("Russia", tuple(RUSSIA_COLOUR)))
    layer = pdk.Layer(
        "GeoJsonLayer",
        id=CHOROPLETH,
        data={"type": "FeatureCollection", "features": features},
        get_fill_color="properties.fill",
        get_line_color=BORDER_COLOUR,
        line_width_min_pixels=0.5,
        pickable=True,
        auto_highlight=True,
        highlight_color=[0, 0, 0, 40],
    )
    return [layer], legend


def flows_layers(events: pd.DataFrame, reference: Reference) -> tuple[list[pdk.Layer], list[LegendItem]]:
    flows = flow_table(events, reference)
    layers = []
    for kind, layer_id, colour in (("tie", TIE_ARCS, TIE_COLOUR), ("figure", TRADE_ARCS, TRADE_COLOUR)):
        part = flows[flows["kind"] == kind]
        data = [
            {
                "target": r.target,
                "from": [round(r.source_lon, 4), round(r.source_lat, 4)],
                "to": [round(r.target_lon, 4), round(r.target_lat, 4)],
                "width": r.width,
                "count": int(r.count),
                "aggregate": bool(r.aggregate),
                "tooltip": r.tooltip,
            }
            for r in part.itertuples()
        ]
        layers.append(
            pdk.Layer(
                "ArcLayer",
                id=layer_id,
                data=data,
                get_source_position="from",
                get_target_position="to",
                get_source_color=[*colour, 200],
                get_target_color=[*colour, 200],
                get_width="width",
                width_units="'pixels'",  # quoted: a constant, not an expression
                get_height=0.5 if kind == "figure" else 0.3,
                great_circle=False,
                pickable=True,
                auto_highlight=True,
            )
        )
    legend = [
        LegendItem("diplomatic ties: width by number of events", tuple(TIE_COLOUR), "line"),
        LegendItem("trade and investment figures: width by latest USD value", tuple(TRADE_COLOUR), "line"),
    ]
    return layers, legend


def build_deck(
    view: str,
    events: pd.DataFrame,
    reference: Reference,
    *,
    members: str = "",
    tiles: bool = False,
) -> tuple[CompactDeck, list[LegendItem]]:
    """The whole deck for one map view, with its legend."""
    builders = {
        "summits": lambda: summits_layers(events),
        "partnerships": lambda: partnerships_layers(events, reference, members),
        "flows": lambda: flows_layers(events, reference),
    }
    if view not in builders:
        raise ValueError(f"unknown map view {view!r}; expected one of {', '.join(builders)}")
    overlay, legend = builders[view]()
    # The choropleth redraws its countries: the land layer leaves them out (each shape sent once).
    drawn = [f["properties"]["iso3"] for f in overlay[0].data["features"]] if view == "partnerships" else []
    base = base_layers(reference, land_alpha=90 if tiles else 255, drawn_above=drawn)
    if tiles:
        base = base[1:]  # the tiles draw the sea
    deck = CompactDeck(
        layers=base + overlay,
        initial_view_state=pdk.ViewState(**INITIAL_VIEW),
        views=[pdk.View(type="MapView", controller=True, repeat=True)],
        map_provider="carto" if tiles else None,
        map_style="light" if tiles else None,
        tooltip=TOOLTIP,
    )
    return deck, legend


# ----- helpers ----------------------------------------------------------------------------


def _recolour(feature: dict, colour, label: str, **extra) -> dict:
    return {
        "type": "Feature",
        "geometry": feature["geometry"],
        "properties": {**feature["properties"], "fill": [*colour, 230], "tooltip": label, **extra},
    }
