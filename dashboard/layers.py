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

from dashboard.formatting import format_value
from dashboard.geo import RUSSIA_ISO3, Reference, sea_polygon, split_list
from dashboard.schema import CATEGORIES, CATEGORY_COLOURS, FIGURE_CATEGORIES

# Layer ids: fixed, because pydeck's default id is random per run and breaks selection.
SEA, COUNTRIES, CHOROPLETH, PLACES, LABELS, TRADE_ARCS, TIE_ARCS = (
    "sea",
    "countries",
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
MAX_TOOLTIP_LINES = 8
INITIAL_VIEW = {"longitude": 75.0, "latitude": 18.0, "zoom": 1.25, "min_zoom": 0.5, "max_zoom": 9}


class CompactDeck(pdk.Deck):
    """A Deck whose JSON has no indentation: a fifth of the bytes pydeck's pretty print sends."""

    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


@dataclass(frozen=True)
class LegendItem:
    """One entry of the legend drawn beside the map."""

    label: str
    colour: tuple[int, int, int]
    kind: str = "swatch"  # swatch | circle | line


# ----- tables behind the layers (pure, tested on their own) ---------------------------------


def place_table(events: pd.DataFrame) -> pd.DataFrame:
    """One row per mapped place: its events, their count and the dominant category."""
    located = events.dropna(subset=["lat", "lon"])
    located = located[located["place"].fillna("") != ""]
    columns = ["place", "country_name", "lat", "lon", "count", "category", "event_ids", "tooltip"]
    if located.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    order = {c: i for i, c in enumerate(CATEGORIES)}
    for (place, lat, lon), group in located.groupby(["place", "lat", "lon"], sort=True):
        counts = group["category"].value_counts()
        # Ties go to the category listed first in the vocabulary (summits before context).
        top = min(counts[counts == counts.max()].index, key=lambda c: order.get(c, 99))
        group = group.sort_values(["date_start", "event_id"])
        rows.append(
            {
                "place": place,
                "country_name": group["country_name"].iloc[0],
                "lat": float(lat),
                "lon": float(lon),
                "count": len(group),
                "category": top,
                "event_ids": ";".join(group["event_id"]),
                "tooltip": _tooltip(
                    f"{place}, {group['country_name'].iloc[0]}: {_plural(len(group), 'event')}",
                    [_event_line(r) for r in group.itertuples()],
                ),
            }
        )
    return pd.DataFrame(rows, columns=columns).sort_values(["count", "place"], ascending=[False, True])


def country_counts(events: pd.DataFrame) -> pd.Series:
    """Events per partner country (participants and the row's country, Russia itself left out)."""
    counts: dict[str, int] = {}
    for parts, iso3 in zip(events["participants"].fillna(""), events["country_iso3"], strict=True):
        involved = set(split_list(parts)) | {iso3}
        for code in involved - {RUSSIA_ISO3, ""}:
            counts[code] = counts.get(code, 0) + 1
    return pd.Series(counts, dtype="int64").sort_index()


def flow_table(events: pd.DataFrame, reference: Reference) -> pd.DataFrame:
    """Arcs from Russia: one per partner (state capital or organisation seat) and kind.

    `kind` is `figure` for trade/investment rows with a value and `tie` for the rest. A figure
    that names an organisation and no partner state goes to the organisation's seat, whole,
    and is labelled as an aggregate: it is never split across members.
    """
    source = reference.capital_points.get(RUSSIA_ISO3)
    columns = ["kind", "target", "target_name", "aggregate", "source_lon", "source_lat"]
    columns += ["target_lon", "target_lat", "count", "usd", "width", "event_ids", "tooltip"]
    if source is None or events.empty:
        return pd.DataFrame(columns=columns)
    groups: dict[tuple[str, str], list] = {}
    for row in events.itertuples():
        is_figure = row.category in FIGURE_CATEGORIES and not _missing(row.value)
        kind = "figure" if is_figure else "tie"
        partners = split_list(row.partners)
        targets = [("country", p) for p in partners]
        if not targets:
            targets = [("org", o) for o in split_list(row.organisations)]
        for target in targets:
            groups.setdefault((kind, *target), []).append(row)
    rows = []
    for (kind, target_type, code), members in sorted(groups.items()):
        if target_type == "country":
            point = reference.capital_points.get(code)
            name = reference.country_names.get(code, code)
        else:
            point = reference.org_seats.get(code)
            name = reference.org_names.get(code, code)
        if point is None or _same_point(point, source):
            continue
        aggregate = target_type == "org"
        usd = [m for m in members if str(m.unit).upper() == "USD" and not _missing(m.value)]
        latest_usd = max(usd, key=lambda m: (m.date_start or "", m.value)).value if usd else 0.0
        title = f"Russia → {name}"
        if aggregate:
            title += f" ({code}: organisation-level aggregate, not split across members)"
        members = sorted(members, key=lambda m: (m.date_start or "", m.event_id))
        lines = [_figure_line(m) if kind == "figure" else _event_line(m) for m in members]
        label = "figure" if kind == "figure" else "event"
        rows.append(
            {
                "kind": kind,
                "target": code,
                "target_name": name,
                "aggregate": aggregate,
                "source_lon": source[0],
                "source_lat": source[1],
                "target_lon": point[0],
                "target_lat": point[1],
                "count": len(members),
                "usd": float(latest_usd),
                "width": _arc_width(kind, len(members), latest_usd),
                "event_ids": ";".join(m.event_id for m in members),
                "tooltip": _tooltip(f"{title}: {_plural(len(members), label)}", lines),
            }
        )
    return pd.DataFrame(rows, columns=columns)


# ----- layers -----------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _countries_features(reference_id: int, reference: Reference) -> dict:
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
    base = _countries_features(id(reference), reference)
    if codes is None:
        return base
    wanted = set(codes)
    return {
        "type": "FeatureCollection",
        "features": [f for f in base["features"] if f["properties"]["iso3"] in wanted],
    }


def base_layers(reference: Reference, *, pickable: bool = True, land_alpha: int = 255) -> list[pdk.Layer]:
    """The sea and the land: the basemap that needs no tiles."""
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
        data=countries_collection(reference),
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
        id="russia",
        data=countries_collection(reference, [RUSSIA_ISO3]),
        get_fill_color=RUSSIA_COLOUR,
        get_line_color=BORDER_COLOUR,
        line_width_min_pixels=0.5,
        pickable=pickable,
    )
    return [sea, land, russia]


def summits_layers(events: pd.DataFrame) -> tuple[list[pdk.Layer], list[LegendItem]]:
    places = place_table(events)
    data = []
    for row in places.itertuples():
        colour = CATEGORY_COLOURS.get(row.category, (0, 0, 0))
        data.append(
            {
                "place": row.place,
                "position": [round(row.lon, 4), round(row.lat, 4)],
                "count": int(row.count),
                # Area grows with the count; capped so one busy venue cannot hide its region.
                "radius": round(min(4 + 2.2 * math.sqrt(row.count), 24), 2),
                "color": [*colour, 220],
                "event_ids": row.event_ids,
                "tooltip": row.tooltip,
            }
        )
    markers = pdk.Layer(
        "ScatterplotLayer",
        id=PLACES,
        data=data,
        get_position="position",
        get_radius="radius",
        radius_units="pixels",
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
        data=[{"position": d["position"], "text": d["place"], "radius": d["radius"]} for d in data],
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
    shown = [c for c in CATEGORIES if c in set(places["category"])]
    legend = [LegendItem(c, CATEGORY_COLOURS[c], "circle") for c in shown]
    return [markers, labels], legend


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
            label = f"{f['properties']['name']}: {_plural(n, 'event')} with Russia"
            features.append(_recolour(f, COUNT_COLOURS[count_bin(n)], label, count=n))
        legend = []
        for i, lower in enumerate(COUNT_BINS):
            upper = COUNT_BINS[i + 1] - 1 if i + 1 < len(COUNT_BINS) else None
            if upper is None:
                text = f"{lower}+ events"
            elif upper == lower:
                text = _plural(lower, "event")
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
                "event_ids": r.event_ids,
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
                width_units="pixels",
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
    base = base_layers(reference, land_alpha=90 if tiles else 255)
    if tiles:
        base = base[1:]  # the tiles draw the sea
    deck = CompactDeck(
        layers=base + overlay,
        initial_view_state=pdk.ViewState(**INITIAL_VIEW),
        views=[pdk.View(type="MapView", controller=True, repeat=True)],
        map_provider="carto" if tiles else None,
        map_style="light" if tiles else None,
        tooltip={"text": "{tooltip}"},
    )
    return deck, legend


# ----- helpers ----------------------------------------------------------------------------


def _recolour(feature: dict, colour, label: str, **extra) -> dict:
    return {
        "type": "Feature",
        "geometry": feature["geometry"],
        "properties": {**feature["properties"], "fill": [*colour, 230], "tooltip": label, **extra},
    }


def _arc_width(kind: str, count: int, usd: float) -> float:
    if kind == "figure":
        # log scale: USD 1 bn -> 3 px, USD 25 bn -> ~7 px; figures without USD stay thin.
        return round(2 + max(0.0, math.log10(usd / 1e8)) * 1.6, 2) if usd > 0 else 2.0
    return round(min(1 + math.sqrt(count), 9), 2)


def _same_point(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return abs(a[0] - b[0]) < 1e-6 and abs(a[1] - b[1]) < 1e-6


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _event_line(row) -> str:
    date = row.date_start or "undated"
    mark = " (date inferred)" if row.date_inferred else ""
    return f"{date}{mark}: {row.title}"


def _figure_line(row) -> str:
    return f"{row.date_start or 'undated'}: {row.title}: {format_value(row.value, row.unit)}"


def _tooltip(head: str, lines: list[str]) -> str:
    shown = lines[:MAX_TOOLTIP_LINES]
    more = len(lines) - len(shown)
    tail = [f"… and {more} more"] if more > 0 else []
    return "\n".join([head, *("• " + line for line in shown), *tail])
