"""pydeck decks for the three map views, built from a filtered, enriched frame.

Each deck opens on what the filters leave (`viewport.fit_view` on the drawn markers, arc
ends and shaded countries), fitted to FIT_WIDTH x MAP_HEIGHT: the middle of any chart at least
MAP_WIDTH wide (680 px on a 1400x900 page); a narrower chart, as the browser measures it, is
fitted to its own width (`chart_size`).
At that view, markers that would overlap are merged into one that lists them, and labels
are kept only where they overlap nothing (`viewport.merge_circles`, `viewport.place_labels`):
the layout is computed here, in Python, so tests can check the very deck the page sends.

Few layers and no border lines, because software WebGL (SwiftShader, what a browser without a
GPU falls back to) is slow: the countries are one GeoJsonLayer (Russia and the choropleth are
colours of its features; the sea is the chart's CSS background, see `SEA_CSS`); markers,
labels and arcs one layer each. Country borders drawn as lines cost 1.5-2.5 s a frame there
whenever the view moves (0.4 s without): neighbours are told apart by tints instead
(`neighbour_classes`: no two touching countries share one).

Each layer has a fixed id, so Streamlit's selection survives reruns and tests compare decks as
JSON (golden files). Tooltip text is plain text: deck.gl renders the `text` tooltip with
innerText, so nothing from the data becomes live HTML. While anything is selected, Streamlit
fades every other object of every layer (to 40% opacity); it has no option to turn that off.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import pydeck as pdk
import shapely
from pydeck.bindings.json_tools import default_serialize

from dashboard import viewport
from dashboard.aggregate import (
    country_counts,
    flow_table,
    kinds_text,
    marker_table,
    place_table,
    top_kind,
)
from dashboard.formatting import format_value, plural
from dashboard.geo import RUSSIA_ISO3, Reference
from dashboard.schema import CATEGORIES, CATEGORY_COLOURS
from dashboard.viewport import Circle, View

# Layer ids: fixed, because pydeck's default id is random per run and breaks selection.
COUNTRIES, PLACES, LABELS, ARCS, ARC_LABELS = "countries", "places", "place-labels", "arcs", "arc-labels"

#: The chart's size on a 1400x900 page (wide layout, sidebar open).
MAP_WIDTH, MAP_HEIGHT = 680, 640
#: The width opening views are fitted to until the browser reports the chart's own (only charts
#: narrower than MAP_WIDTH are reported): deck.gl keeps the centre and zoom whatever the chart's
#: width, so a view fitted to this much is whole in any chart at least MAP_WIDTH wide.
FIT_WIDTH = 520
#: Room kept free around what a view fits: more than the largest marker's radius.
FIT_PADDING = 36.0
#: Closest a fitted view comes: a single place opens on its region, not its streets.
MAX_FIT_ZOOM = 5.5
#: Farthest out, for the fit and for the user: the world as wide as the chart at 1400x900.
MIN_ZOOM = round(math.log2(MAP_WIDTH / viewport.TILE), 3)
#: A chart narrower than MAP_WIDTH (an 800 px window with the sidebar open, 1000 px with it
#: closed) is fitted to its own width, as the browser measured it, and drawn at most as tall as
#: wide: deck.gl never lets the world be shorter than the chart, and at MIN_ZOOM the world is
#: MAP_WIDTH wide, so only such a chart can show a world-spanning selection whole (`chart_size`).
#: Narrowest chart width taken from the browser: below it the page is unusable anyway, and a
#: bogus report (0, negative, huge) cannot make a degenerate view.
MIN_CHART_WIDTH = 240
#: The size every view is fitted to until the browser reports a narrower chart.
BAND = (FIT_WIDTH, MAP_HEIGHT)


def chart_size(measured_width: float | None = None) -> tuple[float, float]:
    """The size opening views are fitted to, and the chart's height.

    The FIT_WIDTH band at MAP_HEIGHT, unless the browser reported a chart narrower than
    MAP_WIDTH: then that chart's width (whole pixels, at least MIN_CHART_WIDTH) and at most as
    tall as wide. Charts from MAP_WIDTH up need nothing: they add margin.
    """
    if measured_width is None or not math.isfinite(measured_width) or measured_width >= MAP_WIDTH:
        return BAND
    width = max(int(measured_width), MIN_CHART_WIDTH)
    return (width, min(width, MAP_HEIGHT))


def min_zoom(size: tuple[float, float]) -> float:
    """The deck's minimum zoom for a chart of this size: MIN_ZOOM in the band, or for a
    measured chart, the world as wide as that chart (it is never taller than wide)."""
    if tuple(size) == BAND:
        return MIN_ZOOM
    return round(math.log2(size[0] / viewport.TILE), 3)


SEA_COLOUR = (214, 228, 240)
LAND_COLOUR = (236, 234, 228)
#: Land tints by neighbour class (`neighbour_classes`): close enough to read as one land colour,
#: apart enough to show where one country ends.
LAND_TINTS: tuple[tuple[int, int, int], ...] = (
    LAND_COLOUR,
    (226, 223, 214),
    (244, 242, 237),
    (231, 226, 216),
    (240, 238, 230),
)
#: Shaded countries change lightness by neighbour class this much: far less than a step
#: between two bins of the choropleth, enough to separate two neighbours in the same bin.
SHADE_STEPS: tuple[float, ...] = (0.0, 0.07, -0.07, 0.13, -0.13)
#: Light enough that dark labels with a white halo stay readable on it.
RUSSIA_COLOUR = (196, 192, 214)
TRADE_COLOUR = (201, 60, 150)
TIE_COLOUR = (30, 110, 200)
LABEL_COLOUR = (29, 36, 48)
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
#: Marker sizes shown in the legend's scale, in events.
SIZE_SCALE: tuple[int, ...] = (1, 5, 20)
TIE_SCALE: tuple[int, ...] = (1, 4, 16)
USD_SCALE: tuple[float, ...] = (1e9, 1e10)
#: The chart's background is the sea: no polygon to draw (see the module docstring).
_SEA_RGB = ", ".join(str(c) for c in SEA_COLOUR)
SEA_CSS = f"[data-testid='stDeckGlJsonChart'] {{background: rgb({_SEA_RGB}); border-radius: 4px;}}"
#: deck.gl renders `text` with innerText: data never becomes HTML. deck.gl places the tooltip
#: at the pointer with a CSS transform and then applies this style, so `transform: none` pins
#: it to the map's lower-left corner: always inside the map, however wide the text.
TOOLTIP = {
    "text": "{tooltip}",
    "style": {
        "transform": "none",
        "top": "auto",
        "left": "8px",
        "bottom": "8px",
        "maxWidth": "min(340px, 70%)",
        "whiteSpace": "pre-wrap",
        "overflowWrap": "anywhere",
        "fontSize": "12px",
        "lineHeight": "1.35",
        "padding": "6px 8px",
        "borderRadius": "4px",
        "backgroundColor": "rgba(29, 36, 48, 0.92)",
        "color": "#ffffff",
    },
}
DEFAULT_VIEW = View(75.0, 18.0, 1.25)


class CompactDeck(pdk.Deck):
    """A Deck whose JSON has no indentation: a fifth of the bytes pydeck's pretty print sends.

    The JSON is made once (the page keys the chart by its digest, and Streamlit sends it).
    """

    def to_json(self) -> str:
        if getattr(self, "_compact_json", None) is None:
            self._compact_json = json.dumps(
                self, sort_keys=True, default=default_serialize, separators=(",", ":"), allow_nan=False
            )
        return self._compact_json


def chart_key(prefix: str, deck: pdk.Deck) -> str:
    """A chart key that changes exactly when the deck does: `prefix-<digest of its JSON>`.

    The deck depends on the filters and the mode, never on the selection, so a click, a pan or
    a zoom keep the key (Streamlit 1.67 keeps a chart's identity, view and selection by key);
    a filter change gives a new key, so the chart opens on its new fitted view with no stale
    selection (Streamlit would otherwise carry the selected index over to whatever object now
    has it). Remounting costs no more than updating here (see benchmarks/paint.py).
    """
    return key_for_json(prefix, deck.to_json())


def key_for_json(prefix: str, deck_json: str) -> str:
    """`chart_key` from the deck's JSON (what a test reads back from the page)."""
    return f"{prefix}-{hashlib.sha1(deck_json.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class LegendItem:
    """One entry of the legend: a swatch, a sized circle or line (`size` in pixels), or a note."""

    label: str
    colour: tuple[int, int, int]
    kind: str = "swatch"  # swatch | circle | line | note
    size: float = 0.0


@dataclass
class Overlay:
    """What a map view draws over the countries, and how it colours them."""

    layers: list[pdk.Layer]
    legend: list[LegendItem]
    view: View
    #: iso3 -> (fill colour, tooltip) for the countries this view shades.
    shading: dict[str, tuple[tuple[int, int, int], str]] = field(default_factory=dict)
    #: The names listed beside the legend (membership mode: the member states).
    names: list[str] = field(default_factory=list)


# ----- countries ---------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _country_geometries(reference: Reference) -> tuple[tuple[str, str, dict], ...]:
    """(iso3, name, GeoJSON geometry) of every country, built once per reference."""
    return tuple(
        (iso3, name, geom.__geo_interface__)
        for iso3, name, geom in zip(
            reference.countries["iso3"],
            reference.countries["name"],
            reference.countries.geometry,
            strict=True,
        )
    )


@lru_cache(maxsize=4)
def country_boxes(reference: Reference) -> dict[str, tuple[tuple[float, float, float, float], ...]]:
    """iso3 -> the bounding box of each of its polygons (a country across the antimeridian
    has parts on both sides, each within -180..180)."""
    boxes: dict[str, list] = {}
    for iso3, geom in zip(reference.countries["iso3"], reference.countries.geometry, strict=True):
        for poly in getattr(geom, "geoms", [geom]):
            boxes.setdefault(iso3, []).append(tuple(float(v) for v in poly.bounds))
    return {k: tuple(v) for k, v in boxes.items()}


@lru_cache(maxsize=4)
def neighbour_classes(reference: Reference) -> dict[str, int]:
    """iso3 -> a small class number, different for any two countries that touch.

    Greedy colouring, busiest borders first (five classes suffice for the world's countries);
    "touch" allows a fifth of a degree, as simplified shapes leave slivers between neighbours.
    """
    geoms = reference.countries.geometry.values
    codes = list(reference.countries["iso3"])
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=0.2)
    near: dict[int, set[int]] = {i: set() for i in range(len(codes))}
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a != b:
            near[a].add(b)
            near[b].add(a)
    classes: dict[int, int] = {}
    for i in sorted(near, key=lambda i: (-len(near[i]), codes[i])):
        used = {classes[j] for j in near[i] if j in classes}
        classes[i] = next(k for k in range(len(codes) + 1) if k not in used)
    return {codes[i]: k for i, k in classes.items()}


def tint(colour: tuple[int, int, int], step: float) -> tuple[int, int, int]:
    """The colour made lighter (step > 0, towards white) or darker (towards black)."""
    if step >= 0:
        return tuple(round(c + (255 - c) * step) for c in colour)
    return tuple(round(c * (1 + step)) for c in colour)


def countries_layer(
    reference: Reference,
    shading: dict[str, tuple[tuple[int, int, int], str]],
    *,
    pickable: bool,
    alpha: int = 255,
) -> pdk.Layer:
    """Every country once: a land tint, Russia's own colour, or the view's shading."""
    classes = neighbour_classes(reference)
    features = []
    for iso3, name, geometry in _country_geometries(reference):
        k = classes.get(iso3, 0)
        if iso3 in shading:
            colour, tooltip = shading[iso3]
            colour = tint(colour, SHADE_STEPS[k % len(SHADE_STEPS)])
        elif iso3 == RUSSIA_ISO3:
            colour, tooltip = RUSSIA_COLOUR, name
        else:
            colour, tooltip = LAND_TINTS[k % len(LAND_TINTS)], name
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {"iso3": iso3, "tooltip": tooltip, "fill": [*colour, alpha]},
            }
        )
    return pdk.Layer(
        "GeoJsonLayer",
        id=COUNTRIES,
        data={"type": "FeatureCollection", "features": features},
        get_fill_color="properties.fill",
        stroked=False,  # no border lines: see the module docstring
        filled=True,
        pickable=pickable,
        auto_highlight=pickable,
        highlight_color=[0, 0, 0, 30],
    )


def _fit(boxes: list[tuple[float, float, float, float]], size: tuple[float, float]) -> View:
    return viewport.fit_view(
        viewport.bounds_of(boxes),
        *size,
        padding=FIT_PADDING,
        max_zoom=MAX_FIT_ZOOM,
        min_zoom=min_zoom(size),
        default=DEFAULT_VIEW,
    )


# ----- summits and meetings ----------------------------------------------------------------


def marker_radius(count: float) -> float:
    """Pixels: area grows with the count; capped so one busy venue cannot hide its region."""
    return round(min(5 + 2.6 * math.sqrt(count), 28), 2)


def summits_overlay(events: pd.DataFrame, size: tuple[float, float]) -> Overlay:
    markers = marker_table(place_table(events))
    view = _fit([(lon, lat, lon, lat) for lon, lat in zip(markers["lon"], markers["lat"], strict=True)], size)
    width, height = size
    points = [
        viewport.project(lon, lat, view, width, height)
        for lon, lat in zip(markers["lon"], markers["lat"], strict=True)
    ]
    groups = viewport.merge_circles(points, markers["count"].tolist(), marker_radius)
    rows = markers.to_dict("records")
    data = [_marker(rows, group) for group in groups]
    data.sort(key=lambda d: (-d["count"], d["place"]))
    anchors = [
        (Circle(*viewport.project(*d["position"], view, width, height), d["radius"]), _label(d)) for d in data
    ]
    offsets = viewport.place_labels(anchors, width, height)
    labels = [
        {"position": d["position"], "text": text, "offset": list(offset)}
        for d, (_, text), offset in zip(data, anchors, offsets, strict=True)
        if offset is not None
    ]
    layers = [
        pdk.Layer(
            "ScatterplotLayer",
            id=PLACES,
            data=data,
            get_position="position",
            get_radius="radius",
            radius_units="'pixels'",  # quoted: a constant, not an expression
            get_fill_color="color",
            get_line_color=[255, 255, 255],
            line_width_min_pixels=1.5,
            stroked=True,
            pickable=True,
            auto_highlight=True,
        ),
        text_layer(LABELS, labels),
    ]
    return Overlay(layers, _summits_legend(markers, data), view)


def _marker(rows: list[dict], group: list[int]) -> dict:
    """One marker for a group of places (or grid cells) drawn together at the opening view."""
    members = [rows[i] for i in group]
    head = members[0]
    kinds: dict[str, int] = {}
    for m in members:
        for kind, n in m["kinds"].items():
            kinds[kind] = kinds.get(kind, 0) + n
    total = sum(int(m["count"]) for m in members)
    places = sum(int(m["places"]) for m in members)
    kind = top_kind(kinds)
    if len(members) == 1:
        tooltip = head["tooltip"]
    else:
        lines = [f"{m['place']}, {m['country_name']}: {plural(int(m['count']), 'event')}" for m in members]
        tooltip = "\n".join(
            [
                f"{head['place']} and {plural(places - 1, 'place')} nearby: {plural(total, 'event')}",
                f"Kinds: {kinds_text(kinds)}",
                *("• " + line for line in lines[:6]),
                *([f"… and {len(lines) - 6} more"] if len(lines) > 6 else []),
                "Click to list them; filter (e.g. by country) to draw them apart.",
            ]
        )
    return {
        "place": head["place"],
        "position": [round(float(head["lon"]), 4), round(float(head["lat"]), 4)],
        "count": total,
        "radius": marker_radius(total),
        "color": [*CATEGORY_COLOURS.get(kind, (0, 0, 0)), 225],
        "tooltip": tooltip,
        "places": places,
        # What a click looks up: places by name and position, grid cells by id.
        "members": [
            {"cell": m["cell"]}
            if m["cell"]
            else {"place": m["place"], "position": [round(float(m["lon"]), 4), round(float(m["lat"]), 4)]}
            for m in members
        ],
    }


def _label(marker: dict) -> str:
    """A marker's name on the map: its busiest place, and how many others it stands for."""
    extra = marker.get("places", 1) - 1
    return f"{marker['place']} +{extra}" if extra > 0 else marker["place"]


def _summits_legend(markers: pd.DataFrame, data: list[dict]) -> list[LegendItem]:
    drawn = {tuple(d["color"][:3]) for d in data}
    legend = [
        LegendItem(c, CATEGORY_COLOURS[c], "circle", 12) for c in CATEGORIES if CATEGORY_COLOURS[c] in drawn
    ]
    legend += [
        LegendItem(plural(n, "event"), (150, 150, 150), "circle", 2 * marker_radius(n)) for n in SIZE_SCALE
    ]
    if any(d["places"] > 1 for d in data):
        cells = markers["cell"].astype(bool).any()
        what = "grid cells" if cells else "places"
        legend.append(
            LegendItem(
                f"“Name +N”: one marker for {what} too close to draw apart at this view; "
                "click it to list them all, or filter to zoom in.",
                (0, 0, 0),
                "note",
            )
        )
    return legend


# ----- partnerships ------------------------------------------------------------------------


def count_bin(count: int) -> int:
    """Index of the choropleth bin a count falls in."""
    index = 0
    for i, lower in enumerate(COUNT_BINS):
        if count >= lower:
            index = i
    return index


def partnerships_overlay(
    events: pd.DataFrame, reference: Reference, members: str, size: tuple[float, float]
) -> Overlay:
    """Countries coloured by events with Russia, or by membership of one organisation."""
    shading: dict[str, tuple[tuple[int, int, int], str]] = {}
    names = reference.country_names
    if members:
        member_codes = reference.members_of(members)
        codes = sorted(member_codes - {RUSSIA_ISO3}, key=lambda c: names.get(c, c))
        for code in codes:
            shading[code] = (MEMBER_COLOUR, f"{names.get(code, code)}: member of {members} (2018-2019)")
        legend = [LegendItem(f"member of {members}", MEMBER_COLOUR)]
        if RUSSIA_ISO3 in member_codes:
            legend.append(LegendItem(f"Russia (member of {members})", RUSSIA_COLOUR))
        listed = [names.get(c, c) for c in codes]
        if RUSSIA_ISO3 in member_codes:
            listed = sorted([*listed, names.get(RUSSIA_ISO3, "Russia")])
    else:
        counts = country_counts(events)
        codes = [c for c in counts.index if c in names]
        for code in codes:
            n = int(counts[code])
            shading[code] = (COUNT_COLOURS[count_bin(n)], f"{names[code]}: {plural(n, 'event')} with Russia")
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
        legend.append(LegendItem("Russia", RUSSIA_COLOUR))
        listed = []
    boxes = country_boxes(reference)
    view = _fit([b for code in shading for b in boxes.get(code, ())], size)
    return Overlay([], legend, view, shading, listed)


# ----- flows -------------------------------------------------------------------------------


def great_circle(
    a: tuple[float, float], b: tuple[float, float], steps: int = 16
) -> list[tuple[float, float]]:
    """Points along the great circle from a to b (lon, lat), for fitting the view to an arc."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    p1 = np.array([math.cos(lat1) * math.cos(lon1), math.cos(lat1) * math.sin(lon1), math.sin(lat1)])
    p2 = np.array([math.cos(lat2) * math.cos(lon2), math.cos(lat2) * math.sin(lon2), math.sin(lat2)])
    omega = math.acos(max(-1.0, min(1.0, float(p1 @ p2))))
    if omega < 1e-9:
        return [a, b]
    out = []
    for t in np.linspace(0, 1, steps + 1):
        p = (math.sin((1 - t) * omega) * p1 + math.sin(t * omega) * p2) / math.sin(omega)
        out.append((math.degrees(math.atan2(p[1], p[0])), math.degrees(math.asin(max(-1, min(1, p[2]))))))
    return out


def arc_width(kind: str, count: int, usd: float) -> float:
    """Pixels: ties by the square root of their count, figures by the log of the latest USD value."""
    if kind == "figure":
        # USD 1 bn -> 3.6 px, USD 10 bn -> 5.2 px; figures without USD stay thin.
        return round(2 + max(0.0, math.log10(usd / 1e8)) * 1.6, 2) if usd > 0 else 2.0
    return round(min(1 + math.sqrt(count), 9), 2)


def flows_overlay(events: pd.DataFrame, reference: Reference, size: tuple[float, float]) -> Overlay:
    flows = flow_table(events, reference)
    data = [
        {
            "kind": r.kind,
            "target": r.target,
            "from": [round(r.source_lon, 4), round(r.source_lat, 4)],
            "to": [round(r.target_lon, 4), round(r.target_lat, 4)],
            "width": arc_width(r.kind, int(r.count), float(r.usd)),
            "color": [*(TRADE_COLOUR if r.kind == "figure" else TIE_COLOUR), 210],
            "count": int(r.count),
            "aggregate": bool(r.aggregate),
            "tooltip": r.tooltip,
        }
        for r in flows.itertuples()
    ]
    # Figures drawn last, over the ties they share a path with.
    data.sort(key=lambda d: (d["kind"] == "figure", -d["count"]))
    boxes = [
        (lon, lat, lon, lat) for d in data for lon, lat in great_circle(tuple(d["from"]), tuple(d["to"]))
    ]
    view = _fit(boxes, size)
    labels = _end_labels(data, reference, view, size)
    layers = [
        pdk.Layer(
            "ArcLayer",
            id=ARCS,
            data=data,
            get_source_position="from",
            get_target_position="to",
            get_source_color="color",
            get_target_color="color",
            get_width="width",
            width_units="'pixels'",  # quoted: a constant, not an expression
            get_height=0,  # flat: a great circle on the map, not a bridge above it
            great_circle=True,
            pickable=True,
            auto_highlight=True,
        ),
        text_layer(ARC_LABELS, labels),
    ]
    legend = [
        LegendItem("diplomatic ties, width by number of events:", (0, 0, 0), "note"),
        *(LegendItem(plural(n, "event"), TIE_COLOUR, "line", arc_width("tie", n, 0.0)) for n in TIE_SCALE),
        LegendItem("trade and investment figures, width by latest USD value:", (0, 0, 0), "note"),
        *(
            LegendItem(format_value(v, "USD"), TRADE_COLOUR, "line", arc_width("figure", 1, v))
            for v in USD_SCALE
        ),
        LegendItem("figures in other units", TRADE_COLOUR, "line", arc_width("figure", 1, 0.0)),
    ]
    return Overlay(layers, legend, view)


def _end_labels(data: list[dict], reference: Reference, view: View, size) -> list[dict]:
    """Names at the arcs' ends (Moscow, then partners by number of events), where they fit."""
    ends: dict[tuple[float, float], dict] = {}
    for d in data:
        end = ends.setdefault(tuple(d["to"]), {"names": set(), "count": 0})
        # Countries by name, then organisations by their acronym (short enough to label).
        country = reference.country_names.get(d["target"]) if not d["aggregate"] else None
        end["names"].add((0, country) if country else (1, d["target"]))
        end["count"] += d["count"]
    width, height = size
    anchors, positions = [], []
    if data:
        source = tuple(data[0]["from"])
        anchors.append(
            (Circle(*viewport.project(*source, view, width, height), 3.0), _capital_name(reference))
        )
        positions.append(list(source))
    for point, end in sorted(ends.items(), key=lambda kv: (-kv[1]["count"], sorted(kv[1]["names"]))):
        text = ", ".join(name for _, name in sorted(end["names"]))
        anchors.append((Circle(*viewport.project(*point, view, width, height), 3.0), text))
        positions.append(list(point))
    offsets = viewport.place_labels(anchors, width, height)
    return [
        {"position": pos, "text": text, "offset": list(off)}
        for pos, (_, text), off in zip(positions, anchors, offsets, strict=True)
        if off is not None
    ]


def _capital_name(reference: Reference) -> str:
    caps = reference.capitals
    hit = caps.loc[caps["country_iso3"] == RUSSIA_ISO3, "capital"]
    return str(hit.iloc[0]) if len(hit) else "Russia"


# ----- shared ------------------------------------------------------------------------------


def text_layer(layer_id: str, labels: list[dict]) -> pdk.Layer:
    """Labels placed in Python: each datum's `offset` (pixels) puts it where nothing overlaps."""
    return pdk.Layer(
        "TextLayer",
        id=layer_id,
        data=labels,
        get_position="position",
        get_text="text",
        get_pixel_offset="offset",
        get_size=viewport.LABEL_SIZE,
        get_color=list(LABEL_COLOUR),
        # Quoted strings are constants for pydeck; unquoted they would be read as expressions.
        get_text_anchor="'middle'",
        get_alignment_baseline="'center'",
        font_family="'sans-serif'",
        font_weight=600,
        character_set="'auto'",  # every character the labels use, not only ASCII
        outline_width=2,
        outline_color=[255, 255, 255, 235],
        font_settings={"sdf": True},
        pickable=False,
    )


def build_deck(
    view: str,
    events: pd.DataFrame,
    reference: Reference,
    *,
    members: str = "",
    tiles: bool = False,
    size: tuple[float, float] = BAND,
) -> tuple[CompactDeck, list[LegendItem]]:
    """The whole deck for one map view, with its legend."""
    deck, overlay = build_deck_and_overlay(view, events, reference, members=members, tiles=tiles, size=size)
    return deck, overlay.legend


def build_deck_and_overlay(
    view: str,
    events: pd.DataFrame,
    reference: Reference,
    *,
    members: str = "",
    tiles: bool = False,
    size: tuple[float, float] = BAND,
) -> tuple[CompactDeck, Overlay]:
    """The deck, and what the page shows beside it (legend, names, the opening view)."""
    builders = {
        "summits": lambda: summits_overlay(events, size),
        "partnerships": lambda: partnerships_overlay(events, reference, members, size),
        "flows": lambda: flows_overlay(events, reference, size),
    }
    if view not in builders:
        raise ValueError(f"unknown map view {view!r}; expected one of {', '.join(builders)}")
    overlay = builders[view]()
    # Countries answer clicks where they are the subject; under the arcs they are the backdrop.
    base = countries_layer(reference, overlay.shading, pickable=view != "flows", alpha=110 if tiles else 255)
    opening = overlay.view
    deck = CompactDeck(
        layers=[base, *overlay.layers],
        initial_view_state=pdk.ViewState(
            longitude=opening.longitude,
            latitude=opening.latitude,
            zoom=opening.zoom,
            min_zoom=min_zoom(size),
            max_zoom=9,
        ),
        views=[pdk.View(type="MapView", controller=True, repeat=True)],
        map_provider="carto" if tiles else None,
        tooltip=TOOLTIP,
        # map_style stays pydeck's placeholder without tiles: a missing or None style makes
        # Streamlit fetch CARTO's basemap (an outside request, and a late second paint).
        **({"map_style": "light"} if tiles else {}),
    )
    return deck, overlay


def whole_width(view: View, size: tuple[float, float] = BAND) -> float:
    """The chart width a view fitted to `size` is whole in: that width, except a world-spanning
    selection in the band, which opens at MIN_ZOOM and is whole in the chart of a 1400x900 page
    (MAP_WIDTH)."""
    if tuple(size) == BAND and view.zoom < MIN_ZOOM + 1e-3:
        return MAP_WIDTH
    return size[0]


def opening_view(spec: dict) -> View:
    """The initial view of a deck's JSON."""
    v = spec["initialViewState"]
    return View(v["longitude"], v["latitude"], v["zoom"])


def drawn_points(spec: dict) -> list[tuple[float, float]]:
    """Every marker position and arc end a deck's JSON draws (for tests of the opening view)."""
    points: list[tuple[float, float]] = []
    for layer in spec.get("layers", []):
        data = layer.get("data")
        if not isinstance(data, list):
            continue
        if layer.get("@@type") == "ScatterplotLayer":
            points += [tuple(d["position"]) for d in data]
        elif layer.get("@@type") == "ArcLayer":
            points += [tuple(d["from"]) for d in data] + [tuple(d["to"]) for d in data]
    return points


def shaded_countries(spec: dict) -> set[str]:
    """Codes the deck colours other than land and Russia (the partnerships view's subject)."""
    plain = {*LAND_TINTS, RUSSIA_COLOUR}
    for layer in spec.get("layers", []):
        if layer.get("id") == COUNTRIES:
            features = layer["data"]["features"]
            return {
                f["properties"]["iso3"] for f in features if tuple(f["properties"]["fill"][:3]) not in plain
            }
    return set()
