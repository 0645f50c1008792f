"""The tables behind the maps: group-bys of a filtered, enriched events frame, and pick look-ups.

Pure pandas, no drawing: `layers.py` turns these tables into pydeck layers. Every cost here
grows with the rows passed in only through group-bys; text (tooltips) is built from at most
MAX_TOOLTIP_LINES events per group. Tooltips are short on purpose: a click lists the events
beside the map, so a tooltip names the place or arc, its count and its kinds, and a few titles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from dashboard.formatting import format_value, plural
from dashboard.geo import RUSSIA_ISO3, Reference
from dashboard.lists import cells_holding, split_list
from dashboard.schema import CATEGORIES, FIGURE_CATEGORIES

MAX_TOOLTIP_LINES = 3
#: A place's colour is the first kind it holds in this order: the vocabulary's (summit first).
KIND_RANK: dict[str, int] = {c: i for i, c in enumerate(CATEGORIES)}
#: Beyond this many places, markers stand for grid cells: the deck stays under its byte budget
#: (about 600 bytes a marker beside ~520 KB of country shapes) however many places a table has.
MAX_MARKERS = 300
#: Grid sizes tried, in degrees, finest first.
CELL_SIZES: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 45.0)


def top_kind(kinds: dict[str, int]) -> str:
    """The highest-ranking kind held (KIND_RANK), "" for none."""
    return min(kinds, key=lambda k: (KIND_RANK.get(k, len(KIND_RANK)), k)) if kinds else ""


def kinds_text(kinds: dict[str, int]) -> str:
    """Every kind held with its count, highest-ranking first: `summit 2, meeting 7`."""
    ordered = sorted(kinds.items(), key=lambda kv: (KIND_RANK.get(kv[0], len(KIND_RANK)), kv[0]))
    return ", ".join(f"{k} {n}" for k, n in ordered)


def place_table(events: pd.DataFrame) -> pd.DataFrame:
    """One row per mapped place: its count of events, every kind held there, and a tooltip.

    `kinds` maps each kind to its count; `category` is the highest-ranking one (KIND_RANK),
    the marker's colour. Vectorised: the cost grows with the number of events only through
    group-bys, and the tooltip is built from at most MAX_TOOLTIP_LINES events per place.
    """
    columns = ["place", "country_name", "lat", "lon", "count", "category", "kinds", "tooltip"]
    located = events[events["lat"].notna() & events["lon"].notna() & (events["place"].fillna("") != "")]
    if located.empty:
        return pd.DataFrame(columns=columns)
    keys = ["place", "lat", "lon"]
    # Events in tooltip order (date, then id); a stable sort keeps that order inside each group.
    ordered = located.sort_values(["date_start", "event_id"], kind="stable")
    grouped = ordered.groupby(keys, sort=True)
    places = grouped.agg(count=("event_id", "size"), country_name=("country_name", "first"))
    per_kind = located.groupby([*keys, "category"], sort=False).size()
    kinds: dict[tuple, dict[str, int]] = {}
    for (place, lat, lon, kind), n in per_kind.items():
        kinds.setdefault((place, lat, lon), {})[kind] = int(n)
    places["kinds"] = [kinds[key] for key in places.index]
    places["category"] = [top_kind(k) for k in places["kinds"]]
    head = grouped.head(MAX_TOOLTIP_LINES)
    lines: dict[tuple, list[str]] = {}
    for key, line in zip(zip(*(head[k] for k in keys), strict=True), _event_lines(head), strict=True):
        lines.setdefault(key, []).append(line)
    places = places.reset_index()
    places["tooltip"] = [
        _tooltip(
            [f"{p}, {name}: {plural(n, 'event')}", f"Kinds: {kinds_text(k)}"],
            lines[(p, la, lo)],
            n,
            "click the marker for the list",
        )
        for p, la, lo, name, n, k in zip(
            places["place"],
            places["lat"],
            places["lon"],
            places["country_name"],
            places["count"],
            places["kinds"],
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
    place and holds the kinds of all its places; its tooltip lists its busiest places.
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
        kinds: dict[str, int] = {}
        for held in group["kinds"]:
            for kind, n in held.items():
                kinds[kind] = kinds.get(kind, 0) + n
        out.append(
            {
                "place": top["place"],
                "country_name": top["country_name"],
                "lat": float(np.average(group["lat"], weights=weights)),
                "lon": float(np.average(group["lon"], weights=weights)),
                "count": total,
                "category": top_kind(kinds),
                "kinds": kinds,
                "tooltip": _tooltip(
                    [head + " (filter to see each)", f"Kinds: {kinds_text(kinds)}"], lines, len(lines)
                ),
                "cell": cell,
                "places": len(group),
            }
        )
    table = pd.DataFrame(out)
    return table.sort_values(["count", "place"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )


def events_for_marker(events: pd.DataFrame, members: Sequence[dict]) -> pd.DataFrame:
    """The events behind a marker that stands for several places or grid cells.

    `members` comes from the browser (the clicked object): each item is `{"place", "position"}`
    or `{"cell"}`; anything else is skipped. Rows keep the frame's order.
    """
    mask = np.zeros(len(events), dtype=bool)
    for member in list(members or [])[:1000]:
        if not isinstance(member, dict):
            continue
        if member.get("cell"):
            hit = events_in_cell(events, str(member["cell"]))
        elif member.get("place"):
            hit = events_at_place(events, str(member["place"]), member.get("position"))
        else:
            continue
        mask |= events.index.isin(hit.index)
    return events[mask]


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
    columns += ["target_lon", "target_lat", "count", "usd", "tooltip"]
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
                "tooltip": _tooltip(
                    [f"{title}: {plural(int(n), label)}"],
                    lines[(kind, target_type, code)],
                    int(n),
                    "click the arc for the list",
                ),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def events_at_place(
    events: pd.DataFrame, place: str, position: Sequence[float] | None = None
) -> pd.DataFrame:
    """The events behind one marker: the place, and its position when the picked object has one."""
    hit = events["place"] == place
    if isinstance(position, (list, tuple)) and len(position) == 2:
        try:
            lon, lat = float(position[0]), float(position[1])
        except (TypeError, ValueError):
            return events.iloc[0:0]  # a position from the browser that is no position
        hit &= (events["lon"].round(4) == round(lon, 4)) & (events["lat"].round(4) == round(lat, 4))
    return events[hit.fillna(False).to_numpy(dtype=bool)]


def events_with_country(events: pd.DataFrame, codes: Sequence[str]) -> pd.DataFrame:
    """The events a country takes part in or is the place of: what a click on it lists, and
    what the country filter and the choropleth count."""
    return events[country_mask(events, codes).to_numpy(dtype=bool)]


def country_mask(events: pd.DataFrame, codes: Sequence[str]) -> pd.Series:
    """True where the row's country or its participants hold any of `codes`."""
    return events["country_iso3"].isin(list(codes)) | cells_holding(events["participants"], codes)


def events_on_arc(events: pd.DataFrame, kind: str, target: str) -> pd.DataFrame:
    """The events behind one arc: `kind` is `figure` or `tie`, `target` an ISO3 or organisation code."""
    if events.empty:
        return events
    ends = flow_targets(events)
    rows = ends.loc[(ends["kind"] == kind) & (ends["target"] == target), "row"].unique()
    return events.iloc[sorted(rows)]


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


def figure_text(title: str, value, unit: str) -> str:
    """A figure's title with its value as people read it, unless the title already says it."""
    shown = format_value(value, unit)
    return title if not shown or shown.lower() in str(title).lower() else f"{title}: {shown}"


def _figure_lines(rows: pd.DataFrame) -> list[str]:
    """One tooltip line per stated figure: date, and the title with the figure (said once)."""
    return [
        f"{date or 'undated'}: {figure_text(title, value, unit)}"
        for date, title, value, unit in zip(
            rows["date_start"].fillna(""), rows["title"], rows["value"], rows["unit"], strict=True
        )
    ]


def _tooltip(head: list[str], lines: list[str], total: int, hint: str = "") -> str:
    """Header lines and at most MAX_TOOLTIP_LINES bullet lines; `total` counts all there are."""
    shown = lines[:MAX_TOOLTIP_LINES]
    more = total - len(shown)
    tail = [f"… and {more} more" + (f": {hint}" if hint else "")] if more > 0 else []
    return "\n".join([*head, *("• " + line for line in shown), *tail])


def _same_point(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return abs(a[0] - b[0]) < 1e-6 and abs(a[1] - b[1]) < 1e-6
