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

import numpy as np
import pandas as pd
import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from dashboard.formatting import format_value, plural
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
#: Place names drawn on the map, busiest first; every place keeps its marker and tooltip.
MAX_LABELS = 30
#: Beyond this many places, markers stand for grid cells: the deck stays under its byte budget
#: (about 600 bytes a marker beside ~520 KB of country shapes) however many places a table has.
MAX_MARKERS = 300
#: Grid sizes tried, in degrees, finest first.
CELL_SIZES: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 45.0)
#: deck.gl renders `text` with innerText: data never becomes HTML. The style keeps it readable.
TOOLTIP = {
    "text": "{tooltip}",
    "style": {"maxWidth": "360px", "fontSize": "12px", "lineHeight": "1.35", "whiteSpace": "pre-wrap"},
}
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
    """One row per mapped place: its count of events, the dominant category and a tooltip.

    Vectorised: the cost grows with the number of events only through group-bys, and the
    tooltip is built from at most MAX_TOOLTIP_LINES events per place, so a place holding
    100,000 events costs no more text than one holding nine.
    """
    columns = ["place", "country_name", "lat", "lon", "count", "category", "tooltip"]
    located = events[events["lat"].notna() & events["lon"].notna() & (events["place"].fillna("") != "")]
    if located.empty:
        return pd.DataFrame(columns=columns)
    keys = ["place", "lat", "lon"]
    # Events in tooltip order (date, then id); a stable sort keeps that order inside each group.
    ordered = located.sort_values(["date_start", "event_id"], kind="stable")
    grouped = ordered.groupby(keys, sort=True)
    places = grouped.agg(count=("event_id", "size"), country_name=("country_name", "first"))
    # Dominant category; ties go to the category listed first in the vocabulary.
    rank = {c: i for i, c in enumerate(CATEGORIES)}
    per_cat = located.groupby([*keys, "category"], sort=False).size().rename("n").reset_index()
    per_cat["rank"] = per_cat["category"].map(rank).fillna(99)
    per_cat = per_cat.sort_values(["n", "rank"], ascending=[False, True], kind="stable")
    top = per_cat.drop_duplicates(keys).set_index(keys)["category"]
    places["category"] = top.reindex(places.index).to_numpy()
    head = grouped.head(MAX_TOOLTIP_LINES)
    lines: dict[tuple, list[str]] = {}
    for key, line in zip(zip(*(head[k] for k in keys), strict=True), _event_lines(head), strict=True):
        lines.setdefault(key, []).append(line)
    places = places.reset_index()
    places["tooltip"] = [
        _tooltip(f"{p}, {name}: {plural(n, 'event')}", lines[(p, la, lo)], n)
        for p, la, lo, name, n in zip(
            places["place"],
            places["lat"],
            places["lon"],
            places["country_name"],
            places["count"],
            strict=True,
        )
    ]
    places["lat"] = places["lat"].astype(float)
    places["lon"] = places["lon"].astype(float)
    places["count"] = places["count"].astype(int)
    table = places[columns].reset_index(drop=True)
    return table.sort_values(["count", "place"], ascending=[False, True], kind="stable")


def marker_table(places: pd.DataFrame, max_markers: int = MAX_MARKERS) -> pd.DataFrame:
    """The markers to draw: the places themselves, or grid cells when places are too many.

    A cell's marker sits at the count-weighted centre of its places, is named after its busiest
    place and coloured by that place's dominant kind; its tooltip lists its busiest places.
    `cell` is "" for a single place, else "size:row:col" (see `events_in_cell`).
    """
    if len(places) <= max_markers:
        return places.assign(cell="", places=1)
    for size in CELL_SIZES:
        rows = np.floor(places["lat"].to_numpy() / size).astype(int)
        cols = np.floor(places["lon"].to_numpy() / size).astype(int)
        if len(set(zip(rows, cols, strict=True))) <= max_markers:
            break
    grid = places.assign(cell=[f"{size:g}:{r}:{c}" for r, c in zip(rows, cols, strict=True)])
    grid = grid.sort_values(["count", "place"], ascending=[False, True], kind="stable")
    out = []
    for cell, group in grid.groupby("cell", sort=False):
        weights = group["count"].to_numpy(dtype=float)
        total = int(weights.sum())
        top = group.iloc[0]
        lines = [
            f"{p}, {c}: {plural(int(n), 'event')}"
            for p, c, n in zip(group["place"], group["country_name"], group["count"], strict=True)
        ]
        head = f"Around {top['place']}: {plural(total, 'event')} at {plural(len(group), 'place')}"
        out.append(
            {
                "place": top["place"],
                "country_name": top["country_name"],
                "lat": float(np.average(group["lat"], weights=weights)),
                "lon": float(np.average(group["lon"], weights=weights)),
                "count": total,
                "category": top["category"],
                "tooltip": _tooltip(head + " (zoom in, or filter, to see each)", lines),
                "cell": cell,
                "places": len(group),
            }
        )
    table = pd.DataFrame(out)
    return table.sort_values(["count", "place"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )


def events_in_cell(events: pd.DataFrame, cell: str) -> pd.DataFrame:
    """The events behind a grid-cell marker (`cell` as `marker_table` writes it)."""
    try:
        size_text, row_text, col_text = cell.split(":")
        size, row, col = float(size_text), int(row_text), int(col_text)
    except ValueError:
        return events.iloc[0:0]
    placed = events["place"].fillna("") != ""
    inside = (np.floor(events["lat"] / size) == row) & (np.floor(events["lon"] / size) == col)
    return events[(placed & inside.fillna(False)).to_numpy(dtype=bool)]


def country_counts(events: pd.DataFrame) -> pd.Series:
    """Events per partner country (participants and the row's country, Russia itself left out)."""
    counts: dict[str, int] = {}
    # Distinct (participants, country) pairs are few even in a million rows: count those.
    pairs = pd.DataFrame(
        {"parts": events["participants"].fillna("").to_numpy(), "iso3": events["country_iso3"].fillna("")}
    )
    for (parts, iso3), n in pairs.value_counts(sort=False).items():
        involved = set(split_list(parts)) | {iso3}
        for code in involved - {RUSSIA_ISO3, ""}:
            counts[code] = counts.get(code, 0) + int(n)
    return pd.Series(counts, dtype="int64").sort_index()


def flow_targets(events: pd.DataFrame) -> pd.DataFrame:
    """Each event's arc ends: one row per (event, kind, target type, code).

    `kind` is `figure` for trade/investment rows with a value and `tie` for the rest; the
    targets are the partner states, or the organisations when no partner state is named.
    Worked out once per distinct (kind, partners, organisations), not once per event.
    """
    figure = events["category"].isin(FIGURE_CATEGORIES) & events["value"].notna()
    keys = pd.DataFrame(
        {
            "kind": figure.map({True: "figure", False: "tie"}).to_numpy(dtype=object),
            "partners": events["partners"].fillna("").to_numpy(dtype=object),
            "organisations": events["organisations"].fillna("").to_numpy(dtype=object),
        }
    )
    codes, distinct = pd.factorize(pd.MultiIndex.from_frame(keys))
    ends = []
    for i, (kind, partners, orgs) in enumerate(distinct):
        targets = [("country", p) for p in split_list(partners)]
        if not targets:
            targets = [("org", o) for o in split_list(orgs)]
        ends.extend((i, kind, t, c) for t, c in targets)
    ends = pd.DataFrame(ends, columns=["combo", "kind", "target_type", "target"])
    rows = pd.DataFrame({"combo": codes, "row": np.arange(len(events))})
    return rows.merge(ends, on="combo").drop(columns="combo")


def flow_table(events: pd.DataFrame, reference: Reference) -> pd.DataFrame:
    """Arcs from Russia: one per partner (state capital or organisation seat) and kind.

    `kind` is `figure` for trade/investment rows with a value and `tie` for the rest. A figure
    that names an organisation and no partner state goes to the organisation's seat, whole,
    and is labelled as an aggregate: it is never split across members.
    """
    source = reference.capital_points.get(RUSSIA_ISO3)
    columns = ["kind", "target", "target_name", "aggregate", "source_lon", "source_lat"]
    columns += ["target_lon", "target_lat", "count", "usd", "width", "tooltip"]
    if source is None or events.empty:
        return pd.DataFrame(columns=columns)
    ends = flow_targets(events)
    if ends.empty:
        return pd.DataFrame(columns=columns)
    picked = events.iloc[ends["row"].to_numpy()]
    long = pd.DataFrame(
        {
            "kind": ends["kind"].to_numpy(),
            "target_type": ends["target_type"].to_numpy(),
            "target": ends["target"].to_numpy(),
            "date": picked["date_start"].fillna("").to_numpy(dtype=object),
            "event_id": picked["event_id"].to_numpy(dtype=object),
            "value": picked["value"].to_numpy(dtype=float),
            "usd": (picked["unit"].fillna("").str.upper() == "USD").to_numpy()
            & picked["value"].notna().to_numpy(),
            "row": ends["row"].to_numpy(),
        }
    )
    group = ["kind", "target_type", "target"]
    counts = long.groupby(group, sort=True).size().rename("count")
    usd = long[long["usd"]].sort_values(["date", "value"], kind="stable").groupby(group).last()["value"]
    ordered = long.sort_values([*group, "date", "event_id"], kind="stable")
    head = ordered.groupby(group, sort=False).head(MAX_TOOLTIP_LINES)
    head_rows = events.iloc[head["row"].to_numpy()]
    is_figure = (head["kind"] == "figure").to_numpy()
    lines: dict[tuple, list[str]] = {}
    for key, fig, ev, figline in zip(
        zip(head["kind"], head["target_type"], head["target"], strict=True),
        is_figure,
        _event_lines(head_rows),
        _figure_lines(head_rows),
        strict=True,
    ):
        lines.setdefault(key, []).append(figline if fig else ev)
    rows = []
    for (kind, target_type, code), n in counts.items():
        if target_type == "country":
            point = reference.capital_points.get(code)
            name = reference.country_names.get(code, code)
        else:
            point = reference.org_seats.get(code)
            name = reference.org_names.get(code, code)
        if point is None or _same_point(point, source):
            continue
        aggregate = target_type == "org"
        latest_usd = float(usd.get((kind, target_type, code), 0.0))
        title = f"Russia → {name}"
        if aggregate:
            title += f" ({code}: organisation-level aggregate, not split across members)"
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
                "count": int(n),
                "usd": latest_usd,
                "width": _arc_width(kind, int(n), latest_usd),
                "tooltip": _tooltip(
                    f"{title}: {plural(int(n), label)}", lines[(kind, target_type, code)], int(n)
                ),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def events_at_place(
    events: pd.DataFrame, place: str, position: Sequence[float] | None = None
) -> pd.DataFrame:
    """The events behind one marker: the place, and its position when the picked object has one."""
    hit = events["place"] == place
    if position is not None and len(position) == 2:
        lon, lat = float(position[0]), float(position[1])
        hit &= (events["lon"].round(4) == round(lon, 4)) & (events["lat"].round(4) == round(lat, 4))
    return events[hit.fillna(False).to_numpy(dtype=bool)]


def events_on_arc(events: pd.DataFrame, kind: str, target: str) -> pd.DataFrame:
    """The events behind one arc: `kind` is `figure` or `tie`, `target` an ISO3 or organisation code."""
    if events.empty:
        return events
    ends = flow_targets(events)
    rows = ends.loc[(ends["kind"] == kind) & (ends["target"] == target), "row"].unique()
    return events.iloc[sorted(rows)]


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


def _arc_width(kind: str, count: int, usd: float) -> float:
    if kind == "figure":
        # log scale: USD 1 bn -> 3 px, USD 25 bn -> ~7 px; figures without USD stay thin.
        return round(2 + max(0.0, math.log10(usd / 1e8)) * 1.6, 2) if usd > 0 else 2.0
    return round(min(1 + math.sqrt(count), 9), 2)


def _same_point(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return abs(a[0] - b[0]) < 1e-6 and abs(a[1] - b[1]) < 1e-6


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _event_lines(rows: pd.DataFrame) -> list[str]:
    """One tooltip line per event: its date (or "undated"), an inferred mark, its title."""
    return [
        f"{date or 'undated'}{' (date inferred)' if inferred else ''}: {title}"
        for date, inferred, title in zip(
            rows["date_start"].fillna(""), rows["date_inferred"], rows["title"], strict=True
        )
    ]


def _figure_lines(rows: pd.DataFrame) -> list[str]:
    """One tooltip line per stated figure: date, title and the figure as people read it."""
    return [
        f"{date or 'undated'}: {title}: {format_value(value, unit)}"
        for date, title, value, unit in zip(
            rows["date_start"].fillna(""), rows["title"], rows["value"], rows["unit"], strict=True
        )
    ]


def _tooltip(head: str, lines: list[str], total: int | None = None) -> str:
    """A header and at most MAX_TOOLTIP_LINES bullet lines; `total` counts all the lines there are."""
    shown = lines[:MAX_TOOLTIP_LINES]
    more = (len(lines) if total is None else total) - len(shown)
    tail = [f"… and {more} more"] if more > 0 else []
    return "\n".join([head, *("• " + line for line in shown), *tail])
