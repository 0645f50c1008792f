"""Screen geometry of the map: fitted views, and markers and labels laid out at the opening view.

Pure maths, no pydeck: deck.gl's MapView draws Web Mercator with 512-pixel tiles, so where a
point lands at a given view is known in Python. That is what lets the deck open on what the
filters leave (`fit_view`), merge markers that would overlap at that view (`merge_circles`),
keep only labels that fit (`place_labels`), and what lets tests check the deck the page sends
(`screen_shapes`): no marker centre inside another marker, no two label boxes overlapping.

Longitudes are unwrapped around the view's centre (deck.gl repeats the world with
`repeat=True`), and a set of longitude intervals is covered by the shortest arc of the circle
(`lon_span`), so Russia, the Aleutians or Fiji do not turn a small selection into the world.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

TILE = 512.0  # deck.gl's world width in pixels at zoom 0
MAX_LAT = 85.051129
#: Label text: deck.gl measures each character with the browser's font. These widths (in em)
#: are at least those of DejaVu Sans Bold, a wide sans-serif (Chromium's default on Linux), so a
#: box computed here holds the label in any common sans-serif.
_NARROW = frozenset("fijlrtI!'.,:;|()[]/-`")
_WIDE = frozenset("mwMW@%")
LABEL_SIZE = 12  # px
LABEL_PAD = 3  # px around the text: the halo
LABEL_GAP = 3  # px between a marker's edge and its label


@dataclass(frozen=True)
class View:
    """A MapView's opening view: centre and zoom (deck.gl's initialViewState)."""

    longitude: float
    latitude: float
    zoom: float


@dataclass(frozen=True)
class Bounds:
    """A box on the map: `east` may exceed 180 when the box crosses the antimeridian."""

    west: float
    south: float
    east: float
    north: float


@dataclass(frozen=True)
class Circle:
    x: float
    y: float
    r: float


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box) -> bool:
        return (
            self.left < other.right
            and other.left < self.right
            and self.top < other.bottom
            and other.top < self.bottom
        )

    def inside(self, width: float, height: float, margin: float = 0.0) -> bool:
        return (
            self.left >= margin
            and self.top >= margin
            and self.right <= width - margin
            and self.bottom <= height - margin
        )

    def hits(self, c: Circle) -> bool:
        """True when the circle and the box share any point (touching is not hitting)."""
        nx = min(max(c.x, self.left), self.right)
        ny = min(max(c.y, self.top), self.bottom)
        return (c.x - nx) ** 2 + (c.y - ny) ** 2 < c.r**2


# ----- Web Mercator ------------------------------------------------------------------------


def mercator_x(lon: float) -> float:
    """World x in pixels at zoom 0 (0..512 for -180..180; beyond for unwrapped longitudes)."""
    return (lon + 180.0) / 360.0 * TILE


def mercator_y(lat: float) -> float:
    """World y in pixels at zoom 0, 0 at the north edge of the map."""
    phi = math.radians(max(-MAX_LAT, min(MAX_LAT, lat)))
    return (1 - math.log(math.tan(math.pi / 4 + phi / 2)) / math.pi) / 2 * TILE


def inverse_mercator_y(y: float) -> float:
    return math.degrees(2 * math.atan(math.exp(math.pi * (1 - 2 * y / TILE))) - math.pi / 2)


def unwrap(lon: float, centre: float) -> float:
    """The copy of `lon` nearest to `centre` (deck.gl draws the world repeated)."""
    return lon - 360.0 * round((lon - centre) / 360.0)


def project(lon: float, lat: float, view: View, width: float, height: float) -> tuple[float, float]:
    """Pixel position of a point at `view` in a `width` x `height` map (top-left origin)."""
    scale = 2.0**view.zoom
    x = (mercator_x(unwrap(lon, view.longitude)) - mercator_x(view.longitude)) * scale + width / 2
    y = (mercator_y(lat) - mercator_y(view.latitude)) * scale + height / 2
    return x, y


# ----- fitting -----------------------------------------------------------------------------


def lon_span(intervals: Iterable[tuple[float, float]]) -> tuple[float, float] | None:
    """The shortest arc of longitudes covering every (west, east) interval, as (west, east).

    Each interval lies within -180..180 with west <= east. The answer's east may exceed 180:
    the arc crosses the antimeridian. Found as the complement of the widest uncovered gap.
    """
    spans = sorted((float(w), float(e)) for w, e in intervals)
    if not spans:
        return None
    # Merge overlapping intervals, then look for the widest gap (including the wrap-around one).
    merged: list[list[float]] = []
    for w, e in spans:
        if merged and w <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([w, e])
    best_gap, best_west = merged[0][0] + 360 - merged[-1][1], merged[0][0]
    for (_, e1), (w2, _) in itertools.pairwise(merged):
        if w2 - e1 > best_gap:
            best_gap, best_west = w2 - e1, w2
    if best_gap <= 0:
        return (-180.0, 180.0)
    east = best_west + 360 - best_gap
    return (best_west, east)


def bounds_of(boxes: Iterable[Bounds | tuple[float, float, float, float]]) -> Bounds | None:
    """One box around many (each within -180..180), crossing the antimeridian when shorter."""
    boxes = [b if isinstance(b, Bounds) else Bounds(*b) for b in boxes]
    if not boxes:
        return None
    west, east = lon_span((b.west, b.east) for b in boxes)
    return Bounds(west, min(b.south for b in boxes), east, max(b.north for b in boxes))


def fit_view(
    bounds: Bounds | None,
    width: float,
    height: float,
    *,
    padding: float = 40.0,
    max_zoom: float = 6.0,
    min_zoom: float = 0.0,
    default: View = View(75.0, 18.0, 1.25),
) -> View:
    """The view that shows `bounds` with `padding` pixels to spare on every side.

    Centre and zoom come from Web Mercator: the box's pixel size at zoom 0 against the room
    left inside the padding. A point (or a tiny country) opens at `max_zoom`, not street level;
    the zoom never drops below `min_zoom` (the deck's own minimum: deck.gl would raise it) or
    below the zoom where the world is as tall as the map. Like deck.gl's map controller, the
    centre is then moved, if need be, so that the view does not reach past the world's top or
    bottom edge: otherwise deck.gl moves it, and the view drawn is not the view computed.
    """
    if bounds is None:
        return rounded(default)
    room_w, room_h = max(width - 2 * padding, 1.0), max(height - 2 * padding, 1.0)
    x0, x1 = mercator_x(bounds.west), mercator_x(bounds.east)
    y0, y1 = mercator_y(bounds.north), mercator_y(bounds.south)
    dx, dy = max(x1 - x0, 1e-9), max(y1 - y0, 1e-9)
    zoom = min(math.log2(room_w / dx), math.log2(room_h / dy), max_zoom)
    zoom = max(zoom, min_zoom, math.log2(height / TILE))
    half = height / 2 / 2.0**zoom  # half the view's height in world pixels at zoom 0
    centre_y = min(max((y0 + y1) / 2, half), TILE - half)
    centre_lon = (bounds.west + bounds.east) / 2
    centre_lon = (centre_lon + 180.0) % 360.0 - 180.0
    return rounded(View(centre_lon, inverse_mercator_y(centre_y), zoom))


def rounded(view: View) -> View:
    """The view as the deck sends it: centre to 4 decimals (about 10 m), zoom rounded up, so
    it never falls below a bound the fit respected (deck.gl would raise it)."""
    return View(round(view.longitude, 4), round(view.latitude, 4), math.ceil(view.zoom * 1e4) / 1e4)


# ----- layout at the opening view --------------------------------------------------------


def text_width(text: str, size: float = LABEL_SIZE) -> float:
    """A label's width in pixels: at least what a browser draws (see the widths above)."""
    em = 0.0
    for ch in text:
        if ch in _NARROW or ch == " ":
            em += 0.5
        elif ch in _WIDE:
            em += 1.11
        elif ord(ch) >= 0x2E80:  # CJK and other full-width scripts
            em += 1.0
        elif ch.isupper() or not ch.isascii():
            em += 0.86
        else:
            em += 0.72
    return em * size


def label_box(x: float, y: float, text: str, size: float = LABEL_SIZE) -> Box:
    """The box of a label centred on (x, y), halo included."""
    half_w = text_width(text, size) / 2 + LABEL_PAD
    half_h = size * 0.625 + LABEL_PAD
    return Box(x - half_w, y - half_h, x + half_w, y + half_h)


def merge_circles(
    points: Sequence[tuple[float, float]], weights: Sequence[float], radius: Callable[[float], float]
) -> list[list[int]]:
    """Groups of point indices such that no two groups' circles overlap.

    `points` are pixel positions, busiest first (`weights` are their counts); a group is drawn
    at its busiest member, with radius `radius(total weight)`. Each pass, biggest group first,
    a group swallows every other group its circle overlaps (centre distance below the sum of
    the radii); passes repeat until none overlap, since merged groups grow. Every merge
    removes a group, so it ends; deterministic for a given input.
    """
    groups = [[i] for i in range(len(points))]
    xy = np.asarray(points, dtype=float).reshape(-1, 2)
    w = np.asarray(weights, dtype=float)
    while len(groups) > 1:
        anchors = xy[[g[0] for g in groups]]
        totals = np.array([w[g].sum() for g in groups])
        radii = np.array([radius(t) for t in totals])
        dist = np.hypot(*(anchors[:, None, :] - anchors[None, :, :]).transpose(2, 0, 1))
        hit = dist < radii[:, None] + radii[None, :]
        np.fill_diagonal(hit, False)
        if not hit.any():
            break
        order = sorted(range(len(groups)), key=lambda i: (-totals[i], groups[i][0]))
        taken = np.zeros(len(groups), dtype=bool)
        merged = []
        for a in order:
            if taken[a]:
                continue
            taken[a] = True
            members = list(groups[a])
            for b in order:
                if not taken[b] and hit[a, b]:
                    taken[b] = True
                    members += groups[b]
            merged.append(sorted(members))  # inputs come busiest first: the anchor leads
        groups = sorted(merged, key=lambda g: g[0])
    return groups


def place_labels(
    anchors: Sequence[tuple[Circle, str]], width: float, height: float, margin: float = 2.0
) -> list[tuple[float, float] | None]:
    """An offset (dx, dy) from its anchor for each label that fits, else None.

    Anchors come in priority order (busiest first). Each label tries above, below, right and
    left of its circle, and keeps the first spot inside the map that overlaps no label already
    placed and no anchor circle; a label with no such spot is left out (its marker stays, with
    its tooltip and its list).
    """
    circles = [c for c, _ in anchors]
    placed: list[Box] = []
    out: list[tuple[float, float] | None] = []
    for c, text in anchors:
        half_w = text_width(text) / 2 + LABEL_PAD
        half_h = LABEL_SIZE * 0.625 + LABEL_PAD
        reach_y = c.r + LABEL_GAP + half_h
        reach_x = c.r + LABEL_GAP + half_w
        choice = None
        for dx, dy in ((0.0, -reach_y), (0.0, reach_y), (reach_x, 0.0), (-reach_x, 0.0)):
            box = label_box(c.x + dx, c.y + dy, text)
            if not box.inside(width, height, margin):
                continue
            if any(box.overlaps(p) for p in placed) or any(box.hits(o) for o in circles):
                continue
            choice = (round(dx, 1), round(dy, 1))
            placed.append(box)
            break
        out.append(choice)
    return out


# ----- what a deck shows at its opening view ------------------------------------------------


@dataclass(frozen=True)
class ScreenShapes:
    """Markers as circles and labels as boxes, in pixels, at a deck's opening view."""

    circles: list[Circle]
    boxes: list[Box]
    labels: list[str]


def screen_shapes(spec: dict, width: float, height: float) -> ScreenShapes:
    """The marker circles and label boxes a deck's JSON draws at its initial view.

    Reads every ScatterplotLayer (position and pixel radius) and TextLayer (position, pixel
    offset and text) the way the layers in `dashboard.layers` write them: `position`,
    `radius`, `offset`, `text` fields on each datum.
    """
    v = spec["initialViewState"]
    view = View(v["longitude"], v["latitude"], v["zoom"])
    circles: list[Circle] = []
    boxes: list[Box] = []
    labels: list[str] = []
    for layer in spec.get("layers", []):
        data = layer.get("data")
        if not isinstance(data, list):
            continue
        if layer.get("@@type") == "ScatterplotLayer":
            for d in data:
                x, y = project(*d["position"], view, width, height)
                circles.append(Circle(x, y, float(d["radius"])))
        elif layer.get("@@type") == "TextLayer":
            for d in data:
                x, y = project(*d["position"], view, width, height)
                dx, dy = d.get("offset", (0, 0))
                boxes.append(label_box(x + dx, y + dy, d["text"]))
                labels.append(d["text"])
    return ScreenShapes(circles, boxes, labels)


def overlaps(shapes: ScreenShapes) -> list[str]:
    """What a test should never see: a marker centre inside another marker, labels overlapping."""
    problems = []
    cs = shapes.circles
    for i, a in enumerate(cs):
        for j, b in enumerate(cs):
            if i != j and math.hypot(a.x - b.x, a.y - b.y) < b.r:
                problems.append(f"marker {i} at ({a.x:.0f}, {a.y:.0f}) lies inside marker {j}")
    bs = shapes.boxes
    for i in range(len(bs)):
        for j in range(i + 1, len(bs)):
            if bs[i].overlaps(bs[j]):
                problems.append(f"labels {shapes.labels[i]!r} and {shapes.labels[j]!r} overlap")
    return problems
