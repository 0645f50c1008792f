"""Print-quality figures of the map views and the timeline, as PNG or SVG bytes, drawn server-side.

matplotlib (Agg: no display, no browser, no network) draws the same tables the interactive map
and chart use: `aggregate.place_table` / `marker_table` for summits, `country_counts` for
partnerships, `flow_table` for flows, `charts.events_per_year` for the timeline, with the
colours of `layers.py` and `schema.CATEGORY_COLOURS`. Each figure carries a title, the filter
sentence, a legend whose sizes and widths are drawn with the same functions as the marks, the
source line and the citation (`package.source_line` / `package.citation`).

Maps are in the Equal Earth projection (equal-area, fit for print). A selection spanning most
of the globe is shown whole, centred on WORLD_CENTRAL_MERIDIAN so that Russia (Chukotka crosses
180°) is drawn in one piece, next to Alaska; a narrower one is centred on its own data and framed to
the drawn marks with a margin. Shapes are split at the projection's seam before projecting, so
no polygon is drawn as a band across the map. Arcs are great circles (`pyproj.Geod`).

Place and country labels are placed greedily, busiest first: each label tries four positions
around its mark and takes the first that stays on the map clear of other labels and marks;
on a crowded map, where that leaves out most labels, a second pass lets the rest lie over
other marks (on a white ground). Labels never overlap each other; one with no free position
is left out, and the figure says how many were.

Output is deterministic for given inputs: fixed fonts (DejaVu Sans, shipped with matplotlib),
no dates in the file's metadata, fixed SVG ids. SVG keeps text as text (`svg.fonttype: none`).
"""

from __future__ import annotations

import datetime
import io
import textwrap
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, PathPatch, Rectangle
from matplotlib.path import Path
from matplotlib.transforms import Bbox
from pyproj import Geod, Transformer
from shapely.geometry import LineString, box

from dashboard.aggregate import country_counts, flow_table, marker_table, place_table
from dashboard.charts import events_per_year
from dashboard.dataset import Dataset
from dashboard.engine import Selection
from dashboard.filters import FilterState
from dashboard.formatting import format_value, plural
from dashboard.geo import RUSSIA_ISO3, Reference
from dashboard.layers import (
    COUNT_BINS,
    COUNT_COLOURS,
    LAND_COLOUR,
    MEMBER_COLOUR,
    RUSSIA_COLOUR,
    SEA_COLOUR,
    TIE_COLOUR,
    TRADE_COLOUR,
    _label,
    arc_width,
    count_bin,
    marker_radius,
)
from dashboard.package import FIGURE_FORMATS, FIGURE_VIEWS, citation, cited_sources, source_line, tool_version
from dashboard.schema import CATEGORIES, CATEGORY_COLOURS

FORMATS = FIGURE_FORMATS  # format -> MIME type
#: Country borders in print (the app draws countries apart by tints, without border lines).
BORDER_COLOUR = (255, 255, 255)
#: Place names a printed map labels at the most, busiest first.
MAX_LABELS = 30

WIDTH_IN = 11.0
DPI = 200  # 11 in x 200 dpi = 2200 px: over MIN_PNG_WIDTH, sharp on paper
MIN_PNG_WIDTH = 2000
MARGIN_IN = 0.4
LEGEND_IN = 2.75
GAP_IN = 0.25
MAP_HEIGHT_IN = (3.4, 6.2)  # the map's height follows its frame within these bounds
#: Central meridian of world-wide maps: the seam (140°W) runs along the Alaska-Yukon border,
#: so Russia (across 180°) and Alaska are drawn whole, side by side at the right-hand edge.
WORLD_CENTRAL_MERIDIAN = 40.0
#: A selection whose marks span more than this many degrees of longitude is drawn world-wide.
WORLD_SPAN_DEGREES = 150.0
#: Share of the world's width beyond which a framed map is drawn world-wide instead.
WORLD_SHARE = 0.65
#: Smallest frame (width, height) in metres: a single place is shown with its region around it.
MIN_FRAME_M = (4_000_000, 2_800_000)
#: Countries labelled on the partnerships map, busiest first.
MAX_COUNTRY_LABELS = 20
ARC_POINTS = 96
PX_TO_PT = 0.75  # the app's widths and radii are CSS pixels (96 per inch); print uses points (72)

TITLE_PT, SUBTITLE_PT, BODY_PT, LABEL_PT, FOOT_PT = 15.0, 9.5, 8.5, 7.5, 7.0
TEXT_COLOUR = "#222222"
MUTED = "#555555"
RC = {
    # DejaVu Sans ships with matplotlib (the same glyphs everywhere); an SVG viewer without it
    # falls back to the next sans-serif.
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "svg.fonttype": "none",  # text stays text in SVG
    "svg.hashsalt": "summit-atlas",  # fixed element ids: the same figure gives the same bytes
    "text.parse_math": False,  # a '$' in the data is a dollar sign, not mathtext
    "axes.unicode_minus": False,
}

TITLES: dict[str, str] = {
    "summits": "Where Russia's summits, meetings and other events took place",
    "partnerships": "Countries taking part in events with Russia",
    "flows": "Russia's diplomatic ties and trade flows, from Moscow",
    "timeline": "Russia's summits, partnerships and trade flows: events per year, by kind",
}
EMPTY_MESSAGE = "No events match these filters."
GEO_CREDIT = (
    "Map: Equal Earth projection; country shapes: Natural Earth (public domain); "
    "coordinates of places and capitals: GeoNames (CC BY 4.0)."
)

_GEOD = Geod(ellps="WGS84")
_DRAWING = threading.Lock()


def _rgb(colour: Sequence[int], alpha: float = 1.0) -> tuple[float, float, float, float]:
    r, g, b = colour[:3]
    return (r / 255, g / 255, b / 255, alpha)


# ----- what a figure says --------------------------------------------------------------------


@dataclass(frozen=True)
class Words:
    """The text around the drawing: title, filter sentence, notes, source and citation."""

    title: str
    subtitle: str
    notes: tuple[str, ...]
    source: str
    citation: str


@dataclass
class Legend:
    """Legend entries in order: (kind, label, style); kinds: head, circle, swatch, line, note."""

    entries: list[tuple[str, str, dict]]

    def head(self, text: str) -> None:
        self.entries.append(("head", text, {}))

    def add(self, kind: str, label: str, **style) -> None:
        self.entries.append((kind, label, style))


def marker_radius_pt(count: int) -> float:
    """A summits marker's radius in points: the app's pixel radius (layers.marker_radius) in print."""
    return marker_radius(count) * PX_TO_PT


def arc_width_pt(kind: str, count: int, usd: float) -> float:
    """An arc's width in points: the app's pixel width (layers.arc_width) in print."""
    return arc_width(kind, count, usd) * PX_TO_PT


# ----- public entry --------------------------------------------------------------------------


def figure_today(
    view: str,
    rows: pd.DataFrame | Selection,
    dataset: Dataset,
    state: FilterState,
    *,
    fmt: str,
    permalink: str = "",
) -> bytes:
    """`figure_bytes` cited as this version of the tool, generated today: what the CLI and the
    download buttons draw."""
    return figure_bytes(
        view,
        rows,
        dataset,
        state,
        fmt=fmt,
        version=tool_version(),
        generated=datetime.date.today(),
        permalink=permalink,
    )


def figure_bytes(
    view: str,
    rows: pd.DataFrame | Selection,
    dataset: Dataset,
    state: FilterState,
    *,
    fmt: str,
    version: str,
    generated: datetime.date,
    permalink: str,
) -> bytes:
    """One view of the filtered rows as a PNG (at least MIN_PNG_WIDTH px wide) or SVG."""
    if view not in FIGURE_VIEWS:
        raise ValueError(f"unknown figure view {view!r}; expected one of {', '.join(FIGURE_VIEWS)}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown figure format {fmt!r}; expected one of {', '.join(FORMATS)}")
    reference = dataset.reference
    sentence = state.describe(reference.country_names)
    members = state.members if view == "partnerships" else ""
    title = f"Member states of {members} (2018-2019)" if members else TITLES[view]
    # The selected events stay in the engine: the figure asks it for counts and aggregates, so
    # a figure of 10M rows never reads them into memory (a frame is opened as a selection).
    rows = Selection.of(rows)
    total = dataset.result.rows_loaded
    counts = f"{rows.count():,} of {total:,} event{'' if total == 1 else 's'}."
    words = Words(
        title=title,
        subtitle=f"{sentence} {counts}",
        notes=(),
        source=source_line(cited_sources(rows, dataset.sources)),
        citation="Cite as: " + citation(sentence, version, generated, permalink),
    )
    # rcParams are process-wide: one figure at a time, or two downloads built at once (each in
    # its own Streamlit thread) could swap settings halfway through a drawing.
    with _DRAWING, matplotlib.rc_context(RC):
        if view == "timeline":
            fig = _timeline_figure(rows, words)
        else:
            fig = _map_figure(view, rows, reference, words, members)
        return _save(fig, fmt, title, words.citation)


def _save(fig: Figure, fmt: str, title: str, cite: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "svg":
        metadata = {"Date": None, "Title": title, "Description": cite}
    else:
        metadata = {"Title": title, "Description": cite}  # Agg writes no timestamp
    fig.savefig(buffer, format=fmt, dpi=DPI, metadata=metadata, facecolor="white")
    return buffer.getvalue()


# ----- layout --------------------------------------------------------------------------------


def _wrap(text: str, width_in: float, size_pt: float) -> str:
    """Wrap to a width; DejaVu Sans averages about 0.55 em a character (0.6 keeps a margin)."""
    chars = max(20, int(width_in * 72 / (size_pt * 0.6)))
    return "\n".join(textwrap.fill(p, chars) for p in text.split("\n"))


def _lines(text: str) -> int:
    return text.count("\n") + 1 if text else 0


@dataclass
class _Frame:
    """A figure cut into header, body (plot + legend panel) and footer, in inches."""

    fig: Figure
    plot: object  # Axes
    legend: object  # Axes
    plot_in: tuple[float, float]  # width, height of the plot
    legend_in: tuple[float, float]


def _frame(
    words: Words, plot_w: float, plot_h: float, legend_h: float, inset: tuple[float, float] = (0.0, 0.0)
) -> _Frame:
    """Lay the figure out top to bottom; the figure grows to whatever its text needs.

    `inset` (left, bottom; inches) is room inside the plot area for axis labels and ticks.
    """
    inner = WIDTH_IN - 2 * MARGIN_IN
    title = _wrap(words.title, inner, TITLE_PT)
    subtitle = _wrap(words.subtitle, inner, SUBTITLE_PT)
    footer = "\n".join(_wrap(t, inner, FOOT_PT) for t in (*words.notes, words.source, words.citation) if t)
    line = 1.35 / 72
    title_h = _lines(title) * TITLE_PT * line
    header_h = title_h + 0.08 + _lines(subtitle) * SUBTITLE_PT * line + 0.18
    footer_h = 0.15 + _lines(footer) * FOOT_PT * line
    body_h = max(plot_h, legend_h)
    height = MARGIN_IN + header_h + body_h + footer_h + MARGIN_IN
    # A Figure with its own Agg canvas, not pyplot: no global state, safe in a server thread.
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.patch.set_facecolor("white")

    def at(x: float, y_from_top: float) -> tuple[float, float]:
        return x / WIDTH_IN, 1 - y_from_top / height

    fig.text(
        *at(MARGIN_IN, MARGIN_IN), title, fontsize=TITLE_PT, fontweight="bold", va="top", linespacing=1.35
    )
    fig.text(
        *at(MARGIN_IN, MARGIN_IN + title_h + 0.08),
        subtitle,
        fontsize=SUBTITLE_PT,
        va="top",
        color=TEXT_COLOUR,
        linespacing=1.35,
    )
    top = MARGIN_IN + header_h
    left_in, bottom_in = inset
    plot = fig.add_axes(
        (
            (MARGIN_IN + left_in) / WIDTH_IN,
            (height - top - plot_h + bottom_in) / height,
            (plot_w - left_in) / WIDTH_IN,
            (plot_h - bottom_in) / height,
        )
    )
    left = MARGIN_IN + plot_w + GAP_IN
    legend_w = WIDTH_IN - MARGIN_IN - left
    legend = fig.add_axes(
        (left / WIDTH_IN, (height - top - legend_h) / height, legend_w / WIDTH_IN, legend_h / height)
    )
    legend.set_axis_off()
    fig.text(
        *at(MARGIN_IN, top + body_h + 0.15), footer, fontsize=FOOT_PT, va="top", color=MUTED, linespacing=1.35
    )
    return _Frame(fig, plot, legend, (plot_w, plot_h), (legend_w, legend_h))


def _legend_height(legend: Legend, width_in: float) -> float:
    return (
        sum(_entry_height(kind, label, style, width_in)[0] for kind, label, style in legend.entries) / 72
        + 0.1
    )


def _entry_height(kind: str, label: str, style: dict, width_in: float) -> tuple[float, str]:
    """Height in points of one legend entry, and its label wrapped to the panel."""
    text_w = width_in - (0 if kind in ("head", "note") else 0.75)
    size = BODY_PT if kind != "note" else FOOT_PT
    wrapped = _wrap(label, text_w, size)
    text_h = _lines(wrapped) * size * 1.3
    mark_h = 2 * style.get("radius", 0) if kind == "circle" else 0
    gap = 7 if kind == "head" else 4
    return max(text_h, mark_h, size * 1.3) + gap, wrapped


def _draw_legend(ax, legend: Legend, width_in: float, height_in: float) -> None:
    """Entries top-down in point units; marks drawn at their true print size."""
    w, h = width_in * 72, height_in * 72
    ax.set_xlim(0, w)
    ax.set_ylim(-h, 0)
    y = 0.0
    # Keys share one column, as wide as the largest circle (drawn at its true size).
    key_x = max([13.0] + [style.get("radius", 0) + 1 for _, _, style in legend.entries])
    text_x = 2 * key_x + 8
    for kind, label, style in legend.entries:
        step, wrapped = _entry_height(kind, label, style, width_in)
        mid = y - (step - 4) / 2
        if kind == "head":
            ax.text(0, y - 2, wrapped, fontsize=BODY_PT, fontweight="bold", va="top", color=TEXT_COLOUR)
        elif kind == "note":
            ax.text(0, y - 2, wrapped, fontsize=FOOT_PT, va="top", color=MUTED, linespacing=1.3)
        else:
            if kind == "circle":
                r = style["radius"]
                ax.add_patch(Circle((key_x, mid), r, fc=style["colour"], ec="white", lw=0.6))
            elif kind == "swatch":
                ax.add_patch(Rectangle((key_x - 7, mid - 5), 14, 10, fc=style["colour"], ec="white", lw=0.5))
            elif kind == "line":
                ax.add_line(
                    Line2D(
                        [key_x - 11, key_x + 11],
                        [mid, mid],
                        lw=style["width"],
                        color=style["colour"],
                        solid_capstyle="butt",
                    )
                )
            ax.text(text_x, mid, wrapped, fontsize=BODY_PT, va="center", color=TEXT_COLOUR, linespacing=1.3)
        y -= step


def _message(ax, text: str) -> None:
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=13,
        color=TEXT_COLOUR,
        bbox={"boxstyle": "round,pad=0.6", "fc": (1, 1, 1, 0.92), "ec": "#999999", "lw": 0.8},
        zorder=20,
    )


# ----- maps ----------------------------------------------------------------------------------


def _crs(lon_0: float) -> str:
    return f"+proj=eqearth +lon_0={lon_0:g} +datum=WGS84 +units=m +no_defs"


@lru_cache(maxsize=8)
def _world(reference: Reference, lon_0: float) -> tuple[gpd.GeoDataFrame, shapely.Polygon]:
    """The countries, split at the seam of a map centred on lon_0 and projected; and the globe."""
    seam = (lon_0 % 360) - 180  # the antipodal meridian, in [-180, 180)
    eps = 1e-6
    west = box(-180, -90, seam - eps, 90)
    east = box(seam + eps, -90, 180, 90)
    strip = box(seam - eps, -90, seam + eps, 90)
    geoms = [
        shapely.union(g.intersection(west), g.intersection(east)) if g.intersects(strip) else g
        for g in reference.countries.geometry
    ]
    world = gpd.GeoDataFrame(
        {"iso3": reference.countries["iso3"].to_numpy(), "name": reference.countries["name"].to_numpy()},
        geometry=geoms,
        crs=4326,
    ).to_crs(_crs(lon_0))
    # Label anchors and frames use each country's largest part (France without its overseas parts).
    world["main"] = [max(getattr(g, "geoms", [g]), key=lambda p: p.area) for g in world.geometry]
    lats = np.linspace(-90, 90, 181)
    ring = [(seam + eps, la) for la in lats] + [(seam + 360 - eps, la) for la in lats[::-1]]
    xs, ys = _project(lon_0, [p[0] for p in ring], [p[1] for p in ring])
    return world, shapely.Polygon(zip(xs, ys, strict=True))


def _project(lon_0: float, lons, lats) -> tuple[np.ndarray, np.ndarray]:
    transformer = _transformer(lon_0)
    return transformer.transform(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))


@lru_cache(maxsize=16)
def _transformer(lon_0: float) -> Transformer:
    return Transformer.from_crs("EPSG:4326", _crs(lon_0), always_xy=True)


def _relative(lons, lon_0: float) -> np.ndarray:
    """Longitudes relative to the central meridian, in [-180, 180)."""
    return (np.asarray(lons, dtype=float) - lon_0 + 180) % 360 - 180


def _covering_arc(lons: Sequence[float]) -> tuple[float, float]:
    """Centre and width (degrees) of the shortest arc of longitude that holds every value."""
    points = np.unique(np.round(np.asarray(lons, dtype=float) % 360, 6))
    if len(points) == 1:
        return float((points[0] + 180) % 360 - 180), 0.0
    gaps = np.diff(np.append(points, points[0] + 360))
    i = int(np.argmax(gaps))
    start = points[(i + 1) % len(points)]
    width = 360 - gaps[i]
    centre = (start + width / 2 + 180) % 360 - 180
    return float(centre), float(width)


@dataclass
class _Marks:
    """What a map view draws, before projection: its key points, for the frame and the centre."""

    lons: list[float]
    lats: list[float]


def _map_figure(
    view: str, rows: pd.DataFrame | Selection, reference: Reference, words: Words, members: str
) -> Figure:
    builders: dict[str, Callable] = {
        "summits": _summits_plan,
        "partnerships": _partnerships_plan,
        "flows": _flows_plan,
    }
    plan = builders[view](rows, reference, members)
    marks: _Marks = plan["marks"]
    lon_0, world_wide = WORLD_CENTRAL_MERIDIAN, True
    if marks.lons:
        centre, span = _covering_arc(marks.lons)
        if span <= WORLD_SPAN_DEGREES:
            lon_0, world_wide = float(round(centre / 5) * 5), False
    countries, globe = _world(reference, lon_0)
    frame = None
    if not world_wide:
        xs, ys = _project(lon_0, marks.lons, marks.lats)
        frame = _framed(xs, ys)
        if frame[2] - frame[0] > WORLD_SHARE * (globe.bounds[2] - globe.bounds[0]):
            lon_0, frame = WORLD_CENTRAL_MERIDIAN, None
            countries, globe = _world(reference, lon_0)
    if frame is None:
        minx, miny, maxx, maxy = countries.total_bounds
        pad = 0.015 * (maxx - minx)
        frame = (minx - pad, miny - pad, maxx + pad, maxy + pad)

    plot_w = WIDTH_IN - 2 * MARGIN_IN - LEGEND_IN - GAP_IN
    frame, plot_h = _fit(frame, plot_w)
    legend: Legend = plan["legend"]
    russia = countries.loc[countries["iso3"] == RUSSIA_ISO3, "geometry"]
    if len(russia) and russia.iloc[0].intersects(box(*frame)):
        # Russia is drawn in its own colour wherever it is in the frame: say so where it is.
        entries = list(legend.entries)
        at = len(entries)
        while at and entries[at - 1][0] == "note":  # before the closing notes
            at -= 1
        entries.insert(at, ("swatch", plan.get("russia", "Russia"), {"colour": _rgb(RUSSIA_COLOUR)}))
        legend = Legend(entries)
    notes = tuple(plan.get("notes", ()))
    text = Words(words.title, words.subtitle, (*notes, GEO_CREDIT), words.source, words.citation)
    layout = _frame(text, plot_w, plot_h, _legend_height(legend, LEGEND_IN))
    ax = layout.plot
    ax.set_xlim(frame[0], frame[2])
    ax.set_ylim(frame[1], frame[3])
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.add_artist(_patch(globe, fc=_rgb(SEA_COLOUR), ec="#b0b8c0", lw=0.5, zorder=0))
    view_box = box(*frame)
    shown = countries[countries.geometry.intersects(view_box)]
    fills = plan.get("fills", {})
    shapes = [
        _patch(geom, fc=_rgb(fills.get(iso3, RUSSIA_COLOUR if iso3 == RUSSIA_ISO3 else LAND_COLOUR)))
        for iso3, geom in zip(shown["iso3"], shown.geometry, strict=True)
    ]
    # One collection, limits set by hand: add_patch would recompute the data limits per shape.
    land = PatchCollection(
        shapes, match_original=True, edgecolor=_rgb(BORDER_COLOUR), linewidth=0.35, zorder=1
    )
    ax.add_collection(land, autolim=False)
    per_pt = (frame[2] - frame[0]) / (plot_w * 72)  # map units per point
    skipped = plan["draw"](ax, lon_0, countries, per_pt)
    _draw_legend(layout.legend, legend, *layout.legend_in)
    if plan.get("message"):
        _message(ax, plan["message"])
    if skipped:
        ax.text(
            0.995,
            0.005,
            f"{plural(skipped, 'label')} left out where {'it' if skipped == 1 else 'they'} would overlap",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=FOOT_PT - 0.5,
            color=MUTED,
            zorder=15,
        )
    return layout.fig


def _framed(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float, float, float]:
    """The marks' bounding box with a margin, at least MIN_FRAME_M across."""
    minx, maxx, miny, maxy = float(np.min(xs)), float(np.max(xs)), float(np.min(ys)), float(np.max(ys))
    w, h = maxx - minx, maxy - miny
    pad_x = max(0.12 * w, (MIN_FRAME_M[0] - w) / 2)
    pad_y = max(0.15 * h, (MIN_FRAME_M[1] - h) / 2)
    return minx - pad_x, miny - pad_y, maxx + pad_x, maxy + pad_y


def _fit(frame, plot_w: float) -> tuple[tuple[float, float, float, float], float]:
    """Widen or heighten the frame to the plot's shape (no distortion); return it and the height."""
    minx, miny, maxx, maxy = frame
    w, h = maxx - minx, maxy - miny
    plot_h = min(max(plot_w * h / w, MAP_HEIGHT_IN[0]), MAP_HEIGHT_IN[1])
    target = plot_h / plot_w
    if h / w < target:
        grow = (w * target - h) / 2
        miny, maxy = miny - grow, maxy + grow
    else:
        grow = (h / target - w) / 2
        minx, maxx = minx - grow, maxx + grow
    return (minx, miny, maxx, maxy), plot_h


def _patch(geom, **style):
    """A polygon or multipolygon as one matplotlib patch (holes kept)."""
    vertices, codes = [], []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        for ring in (poly.exterior, *poly.interiors):
            coords = np.asarray(ring.coords)
            vertices.append(coords)
            codes.append([Path.MOVETO] + [Path.LINETO] * (len(coords) - 2) + [Path.CLOSEPOLY])
    if not vertices:
        return Rectangle((0, 0), 0, 0, visible=False)
    path = Path(np.concatenate(vertices), np.concatenate(codes))
    return PathPatch(path, joinstyle="round", **style)


# ----- labels --------------------------------------------------------------------------------


def _place_labels(ax, items: list[tuple[float, float, str, float]], marks: list[Bbox]) -> list:
    """Label items (x, y, text, mark radius in points), busiest first; return the labels placed.

    A label tries above, below, right and left of its mark and is kept at the first position
    that stays on the map clear of the labels already placed and of the other marks. When
    that leaves out most labels (a crowded map), the ones left out get a second pass that lets
    a label lie over other marks (its white ground keeps it legible), never over a label.
    """
    renderer = ax.figure.canvas.get_renderer()
    area = ax.get_window_extent(renderer)
    placed: list[Bbox] = []
    kept: dict[int, object] = {}
    pad = 0.12 * LABEL_PT * ax.figure.dpi / 72

    def place(i: int, over_marks: bool) -> None:
        x, y, text, r = items[i]
        others = [m for j, m in enumerate(marks) if j != i]  # a label may touch its own mark only
        gap = r + 2.5
        for dx, dy, ha, va in (
            (0, gap, "center", "bottom"),
            (0, -gap, "center", "top"),
            (gap, 0, "left", "center"),
            (-gap, 0, "right", "center"),
        ):
            label = ax.annotate(
                text,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=LABEL_PT,
                color=TEXT_COLOUR,
                fontweight="bold",
                bbox={"boxstyle": "round,pad=0.12", "fc": (1, 1, 1, 0.72), "ec": "none"},
                zorder=12,
                annotation_clip=False,
            )
            # The text's box, padded like its white background (drawn only at save time).
            extent = label.get_window_extent(renderer).padded(pad)
            inside = area.containsx(extent.x0) and area.containsx(extent.x1)
            inside &= area.containsy(extent.y0) and area.containsy(extent.y1)
            clear = not any(extent.overlaps(p) for p in placed)
            if inside and clear and (over_marks or not any(extent.overlaps(m) for m in others)):
                placed.append(extent)
                kept[i] = label
                return
            label.remove()

    for i in range(len(items)):
        place(i, over_marks=False)
    if len(kept) < len(items) / 2:
        for i in range(len(items)):
            if i not in kept:
                place(i, over_marks=True)
    return [kept[i] for i in sorted(kept)]


def _mark_boxes(ax, xs, ys, radii_pt) -> list[Bbox]:
    """Display-space boxes of round marks (radius in points)."""
    to_px = ax.figure.dpi / 72
    centres = ax.transData.transform(np.column_stack([xs, ys])) if len(xs) else np.empty((0, 2))
    return [
        Bbox.from_extents(cx - r * to_px, cy - r * to_px, cx + r * to_px, cy + r * to_px)
        for (cx, cy), r in zip(centres, radii_pt, strict=True)
    ]


# ----- summits -------------------------------------------------------------------------------


def _size_samples(largest: int, size: Callable[[int], float]) -> list[tuple[int, str]]:
    """Counts for a size legend, labelled: 1, a round middle value, and the largest drawn.

    Marks stop growing at some count (a cap keeps one busy place from hiding its region); a
    legend entry at or past the cap reads "N+ events", so two equal marks never claim
    different counts.
    """
    cap = _cap(size)
    top = min(max(largest, 1), cap)
    steps = [2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000]
    middle = [s for s in steps if s * 2.5 <= top]
    counts = sorted({1, *middle[-1:], top})
    return [(n, f"{n:,}+ events" if n == cap and largest > cap else plural(n, "event")) for n in counts]


def _cap(size: Callable[[int], float], most: int = 10**9) -> int:
    """The smallest count whose mark is as big as marks get (`size` never shrinks as counts grow)."""
    lo, hi, biggest = 1, most, size(most)
    while lo < hi:
        mid = (lo + hi) // 2
        if size(mid) >= biggest:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _summits_plan(rows: pd.DataFrame | Selection, reference: Reference, members: str) -> dict:
    places = place_table(rows)
    markers = marker_table(places)
    legend = Legend([])
    notes: list[str] = []
    unplaced = rows.narrowed("lat IS NULL").count()
    if unplaced:
        notes.append(f"{unplaced:,} of {rows.count():,} events name no place in the text and are not drawn.")
    message = ""
    if rows.empty:
        message = EMPTY_MESSAGE
    elif markers.empty:
        message = f"None of these {plural(rows.count(), 'event')} names a place: nothing to map."
    if not markers.empty:
        legend.head("Kind of event (most frequent at the place)")
        for category in CATEGORIES:
            if category in set(markers["category"]):
                legend.add("circle", category, radius=5.0, colour=_rgb(CATEGORY_COLOURS[category], 0.9))
        legend.head("Events at the place (marker area)")
        for n, text in _size_samples(int(markers["count"].max()), marker_radius_pt):
            legend.add("circle", text, radius=marker_radius_pt(n), colour=(0.55, 0.55, 0.55, 0.6))
        if len(markers) < len(places):
            size = markers["cell"].iloc[0].split(":")[0]
            legend.add(
                "note",
                f"{len(places):,} places grouped into {len(markers):,} cells of {size}°; "
                "each marker is named after its busiest place (+ the others).",
            )

    def draw(ax, lon_0: float, countries, per_pt: float) -> int:
        if markers.empty:
            return 0
        ordered = markers.sort_values(["count", "place"], ascending=[False, True], kind="stable")
        xs, ys = _project(lon_0, ordered["lon"], ordered["lat"])
        radii = [marker_radius_pt(int(n)) for n in ordered["count"]]
        colours = [_rgb(CATEGORY_COLOURS.get(c, (0, 0, 0)), 0.86) for c in ordered["category"]]
        # Biggest first, so small markers stay visible on top of big ones.
        ax.scatter(
            xs, ys, s=[(2 * r) ** 2 for r in radii], c=colours, edgecolors="white", linewidths=0.7, zorder=10
        )
        boxes = _mark_boxes(ax, xs, ys, radii)
        records = ordered.to_dict("records")
        items = [
            (x, y, _label({"place": m["place"], "places": m.get("places", 1)}), r)
            for x, y, m, r in zip(xs, ys, records, radii, strict=True)
        ][:MAX_LABELS]
        return len(records) - len(_place_labels(ax, items, boxes))

    return {
        "marks": _Marks(list(markers["lon"]), list(markers["lat"])),
        "legend": legend,
        "notes": notes,
        "message": message,
        "draw": draw,
    }


# ----- partnerships --------------------------------------------------------------------------


def _partnerships_plan(rows: pd.DataFrame | Selection, reference: Reference, members: str) -> dict:
    legend = Legend([])
    russia = "Russia"
    fills: dict[str, tuple[int, int, int]] = {}
    labels: list[tuple[str, str]] = []  # (iso3, text), in label priority
    message = EMPTY_MESSAGE if rows.empty else ""
    if members:
        codes = sorted(reference.members_of(members) - {RUSSIA_ISO3})
        fills = {c: MEMBER_COLOUR for c in codes}
        labels = [(c, reference.country_names.get(c, c)) for c in codes]
        legend.head("Countries")
        legend.add("swatch", f"member of {members}", colour=_rgb(MEMBER_COLOUR))
        if RUSSIA_ISO3 in reference.members_of(members):
            russia = f"Russia (member of {members})"
        legend.add("note", "Member states as of 2018-2019 (geodata/organisation_members.csv).")
        message = ""  # membership does not depend on the filtered rows
    else:
        counts = country_counts(rows) if rows.count() else pd.Series(dtype="int64")
        counts = counts[counts.index.isin(list(reference.iso3_codes))]
        fills = {c: COUNT_COLOURS[count_bin(int(n))] for c, n in counts.items()}
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], reference.country_names.get(kv[0], kv[0])))
        labels = [
            (c, f"{reference.country_names.get(c, c)} {int(n)}") for c, n in ranked[:MAX_COUNTRY_LABELS]
        ]
        if not rows.empty and counts.empty:
            message = f"None of these {plural(rows.count(), 'event')} involves a country other than Russia."
        legend.head("Events with Russia (participants or place)")
        for i, lower in enumerate(COUNT_BINS):
            upper = COUNT_BINS[i + 1] - 1 if i + 1 < len(COUNT_BINS) else None
            if upper is None:
                text = f"{lower}+ events"
            elif upper == lower:
                text = plural(lower, "event")
            else:
                text = f"{lower}-{upper} events"
            legend.add("swatch", text, colour=_rgb(COUNT_COLOURS[i]))
        legend.add("note", "Labels: country and its number of events, busiest first.")
    shaded = [c for c in fills if c in reference.geometry_by_iso3]
    marks = _Marks([], [])
    for code in shaded:
        geom = reference.geometry_by_iso3[code]
        main = max(getattr(geom, "geoms", [geom]), key=lambda p: p.area)
        minx, miny, maxx, maxy = main.bounds
        marks.lons += [minx, maxx, (minx + maxx) / 2]
        marks.lats += [miny, maxy, (miny + maxy) / 2]

    def draw(ax, lon_0: float, countries, per_pt: float) -> int:
        anchors = dict(zip(countries["iso3"], countries["main"], strict=True))
        items = []
        for code, text in labels:
            if code in anchors:
                point = anchors[code].representative_point()
                items.append((point.x, point.y, text, 0.0))
        return len(items) - len(_place_labels(ax, items, []))

    return {
        "marks": marks,
        "legend": legend,
        "fills": fills,
        "message": message,
        "draw": draw,
        "russia": russia,
    }


# ----- flows ---------------------------------------------------------------------------------


def _great_circle(lon1: float, lat1: float, lon2: float, lat2: float) -> tuple[np.ndarray, np.ndarray]:
    inner = _GEOD.npts(lon1, lat1, lon2, lat2, ARC_POINTS)
    lons = np.array([lon1, *(p[0] for p in inner), lon2])
    lats = np.array([lat1, *(p[1] for p in inner), lat2])
    return lons, lats


def _flows_plan(rows: pd.DataFrame | Selection, reference: Reference, members: str) -> dict:
    flows = flow_table(rows, reference)
    legend = Legend([])
    message = ""
    if rows.empty:
        message = EMPTY_MESSAGE
    elif flows.empty:
        message = f"None of these {plural(rows.count(), 'event')} names a partner to draw an arc to."
    marks = _Marks([], [])
    arcs = []
    for r in flows.itertuples():
        lons, lats = _great_circle(r.source_lon, r.source_lat, r.target_lon, r.target_lat)
        arcs.append((r, lons, lats))
        marks.lons += list(lons[:: ARC_POINTS // 8])
        marks.lats += list(lats[:: ARC_POINTS // 8])
        marks.lons.append(r.target_lon)
        marks.lats.append(r.target_lat)
    ties = flows[flows["kind"] == "tie"]
    figures = flows[flows["kind"] == "figure"]
    if not ties.empty:
        legend.head("Diplomatic ties (width: number of events)")
        for n, text in _size_samples(int(ties["count"].max()), lambda k: arc_width_pt("tie", k, 0)):
            legend.add("line", text, width=arc_width_pt("tie", n, 0), colour=_rgb(TIE_COLOUR, 0.85))
    if not figures.empty:
        legend.head("Trade and investment figures (width: latest stated USD value)")
        usd = sorted({float(v) for v in figures["usd"] if v > 0})
        for value in sorted({usd[0], usd[-1]}) if usd else []:
            legend.add(
                "line",
                format_value(value, "USD"),
                width=arc_width_pt("figure", 1, value),
                colour=_rgb(TRADE_COLOUR, 0.85),
            )
        if (figures["usd"] <= 0).any():
            legend.add(
                "line",
                "figure in another unit",
                width=arc_width_pt("figure", 1, 0),
                colour=_rgb(TRADE_COLOUR, 0.85),
            )
    if not flows.empty:
        note = "Arcs are great circles from Moscow to the partner state's capital."
        if flows["aggregate"].any():
            note += (
                " An arc to an organisation ends at its seat and is marked “(aggregate)”: its "
                "figures are never split across members."
            )
        legend.add("note", note)

    def draw(ax, lon_0: float, countries, per_pt: float) -> int:
        tie_targets = set(ties["target"])
        for r, lons, lats in sorted(
            arcs, key=lambda a: (a[0].kind != "tie", -arc_width(a[0].kind, int(a[0].count), float(a[0].usd)))
        ):
            xs, ys = _project(lon_0, lons, lats)
            width = arc_width_pt(r.kind, int(r.count), float(r.usd))
            colour = _rgb(TIE_COLOUR if r.kind == "tie" else TRADE_COLOUR, 0.85)
            rel = _relative(lons, lon_0)
            # Split where the arc crosses the map's seam, so it never streaks across the map.
            cuts = np.flatnonzero(np.abs(np.diff(rel)) > 180) + 1
            for part_x, part_y in zip(np.split(xs, cuts), np.split(ys, cuts), strict=True):
                if len(part_x) < 2:
                    continue
                line = LineString(np.column_stack([part_x, part_y]))
                if r.kind == "figure" and r.target in tie_targets:
                    # Same route as a tie arc: drawn alongside it, like parallel transit lines.
                    line = line.offset_curve((width / 2 + 1.2 + 2.5) * per_pt)
                    if line.is_empty or line.geom_type != "LineString":
                        continue
                coords = np.asarray(line.coords)
                ax.plot(
                    coords[:, 0],
                    coords[:, 1],
                    lw=width,
                    color=colour,
                    solid_capstyle="round",
                    zorder=6 if r.kind == "tie" else 7,
                )
        ends = flows.drop_duplicates("target").sort_values(["count", "target_name"], ascending=[False, True])
        source = reference.capital_points.get(RUSSIA_ISO3)
        points = [(source[0], source[1], "Moscow")] if source and not flows.empty else []
        points += [
            (r.target_lon, r.target_lat, f"{r.target} (aggregate)" if r.aggregate else r.target_name)
            for r in ends.itertuples()
        ]
        if not points:
            return 0
        xs, ys = _project(lon_0, [p[0] for p in points], [p[1] for p in points])
        ax.scatter(xs, ys, s=16, c="#333333", edgecolors="white", linewidths=0.6, zorder=9)
        boxes = _mark_boxes(ax, xs, ys, [2.0] * len(points))
        items = [(x, y, p[2], 2.0) for x, y, p in zip(xs, ys, points, strict=True)][: MAX_LABELS + 1]
        return len(points) - len(_place_labels(ax, items, boxes))

    return {"marks": marks, "legend": legend, "message": message, "draw": draw}


# ----- timeline ------------------------------------------------------------------------------


def _timeline_figure(rows: pd.DataFrame | Selection, words: Words) -> Figure:
    table = events_per_year(rows) if rows.count() else pd.DataFrame(columns=["year", "category", "events"])
    legend = Legend([])
    notes = []
    undated = rows.narrowed("year_start IS NULL").count()
    inferred = rows.narrowed("coalesce(date_inferred, false)").count()
    if undated:
        notes.append(f"{undated:,} of {rows.count():,} events are undated in the text and not on this chart.")
    if inferred:
        notes.append(f"{inferred:,} of these dates are inferred from context, not stated (date_inferred).")
    present = [c for c in CATEGORIES if c in set(table["category"])]
    if present:
        legend.head("Kind of event")
        for c in present:
            legend.add("swatch", c, colour=_rgb(CATEGORY_COLOURS[c]))
    plot_w = WIDTH_IN - 2 * MARGIN_IN - LEGEND_IN - GAP_IN
    text = Words(words.title, words.subtitle, tuple(notes), words.source, words.citation)
    layout = _frame(text, plot_w, 3.8, _legend_height(legend, LEGEND_IN), inset=(0.55, 0.5))
    ax = layout.plot
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("Year (start of event)", fontsize=BODY_PT)
    ax.set_ylabel("Events", fontsize=BODY_PT)
    ax.tick_params(labelsize=BODY_PT)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.xaxis.get_major_locator().set_params(integer=True)
    if table.empty:
        ax.set_axis_off()
        message = EMPTY_MESSAGE if rows.empty else f"None of these {plural(rows.count(), 'event')} is dated."
        _message(ax, message)
    else:
        wide = table.pivot_table(
            index="year", columns="category", values="events", aggfunc="sum", fill_value=0
        )
        years = wide.index.to_numpy(dtype=int)
        bottom = np.zeros(len(years))
        span = years.max() - years.min() + 2
        width = 0.8 if span <= 40 else max(0.8, span / 120)
        for c in present:
            values = wide[c].to_numpy(dtype=float)
            ax.bar(
                years,
                values,
                bottom=bottom,
                width=width,
                color=_rgb(CATEGORY_COLOURS[c]),
                linewidth=0,
                zorder=3,
            )
            bottom += values
        ax.set_xlim(years.min() - 1, years.max() + 1)
        ax.set_ylim(0, max(bottom.max() * 1.08, 1))
        ax.grid(axis="y", color="#dddddd", lw=0.6, zorder=0)
    _draw_legend(layout.legend, legend, *layout.legend_in)
    return layout.fig
