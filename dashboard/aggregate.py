"""The tables behind the maps: group-bys of the filtered events, and pick look-ups.

The group-bys run in the engine (`dashboard.engine.Selection`: SQL over a frame or a Parquet
file), which hands back small frames (one row per place and kind, per list cell, per arc end,
and at most MAX_TOOLTIP_LINES events per group); the rest is pure pandas on those, and no
drawing: `layers.py` turns these tables into pydeck layers. Every function takes a `Selection`
or, for tests and one-off callers, an enriched frame (read through an engine opened on it), so
94 rows and 10 million take the same path. Tooltips are short on purpose: a click lists the events
beside the map, so a tooltip names the place or arc, its count and its kinds, and a few titles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from dashboard.engine import Selection
from dashboard.formatting import format_value, plural
from dashboard.geo import RUSSIA_ISO3, Reference
from dashboard.lists import split_list
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


#: The events a place marker stands for: those with a position and a place name.
_LOCATED = "lat IS NOT NULL AND lon IS NOT NULL AND coalesce(place, '') <> ''"
#: What a tooltip line reads of an event, beside its position.
_LINE_COLUMNS = ["date_start", "event_id", "date_inferred", "title", "country_name", "value", "unit"]


#: In a table kept in date order, an order key is one integer: the date's class times this,
#: plus the position (tables stay far below 2**40 rows).
_CLASS_STEP = 1 << 40


def _order_key(selection: Selection, empty_first: bool = True) -> str:
    """SQL ordering a group's events as its tooltip lists them: by date (undated first; a
    missing date last unless `empty_first` is False, when it counts as undated), then event id,
    then position. In a table kept in the dataset's order (`Engine.in_date_order`) that is the
    date's class and the position, folded into one integer: compared over millions of rows far
    faster than text."""
    if selection.engine.in_date_order():
        missing = "0" if not empty_first else "2"
        date_class = f"CASE WHEN date_start = '' THEN 0 WHEN date_start IS NULL THEN {missing} ELSE 1 END"
        return f"({date_class} * {_CLASS_STEP} + _row)"
    if not empty_first:
        return "(coalesce(date_start, ''), event_id IS NULL, event_id, _row)"
    return "(date_start IS NULL, date_start, event_id IS NULL, event_id, _row)"


def _head_sql(selection: Selection, key: str) -> str:
    """A group's first MAX_TOOLTIP_LINES events (a `?` parameter): their integer keys, or
    {key, row} pairs when the key is text (see `_candidates`)."""
    if selection.engine.in_date_order():
        return f"min_by({key}, {key}, ?)"
    return f"min_by({{'key': {key}, 'row': _row}}, {key}, ?)"


def _key_and_row(item) -> tuple[tuple, int]:
    """An order key as Python compares it, and the event's position, from `_head_sql`'s items."""
    if isinstance(item, dict):
        return _sortable(item["key"]), int(item["row"])
    return (int(item),), int(item) % _CLASS_STEP


def _candidates(groups: pd.DataFrame, keys: list[str], column: str = "head") -> pd.DataFrame:
    """Each group's first MAX_TOOLTIP_LINES events by order key, from its parts' candidates
    (`column`: lists as `_head_sql` gives them): one row per (group, position).

    A place's first events are among the first events of its kinds (an arc's among those of
    its combinations): the keys decide which, so only those events are read whole."""
    picks = groups[[*keys, column]].explode(column).dropna(subset=[column])
    if picks.empty:
        return pd.DataFrame(columns=[*keys, "_row"])
    pairs = [_key_and_row(c) for c in picks[column]]
    order = [k for k, _ in pairs]
    picks = picks.assign(_row=[r for _, r in pairs]).drop(columns=column)
    picks = picks.iloc[sorted(range(len(order)), key=order.__getitem__)]
    picks = picks.drop_duplicates([*keys, "_row"])
    return picks.groupby(keys, sort=False).head(MAX_TOOLTIP_LINES)


def _first_events(
    selection: Selection, picks: pd.DataFrame, keys: list[str], *, empty_first: bool = True
) -> pd.DataFrame:
    """The picked events (`_candidates`) read whole, in tooltip order: one row per event with
    its group's keys. Only these few events leave the engine."""
    payload = selection.engine.fetch_rows(picks["_row"].unique().tolist(), _LINE_COLUMNS)
    lines = picks.merge(payload, on="_row")
    if not empty_first:
        lines["date_start"] = lines["date_start"].fillna("")
    lines = lines.sort_values(["date_start", "event_id", "_row"], kind="stable")
    return lines.groupby(keys, sort=False).head(MAX_TOOLTIP_LINES)


def _sortable(key) -> tuple:
    # The key as DuckDB orders it: a struct, its fields in order, NULL after any value.
    values = key.values() if isinstance(key, dict) else key if isinstance(key, (list, tuple)) else [key]
    return tuple((v is None, v if v is not None else 0) for v in values)


def place_table(events: pd.DataFrame | Selection, max_markers: int | None = MAX_MARKERS) -> pd.DataFrame:
    """One row per mapped place: its count of events, every kind held there, and a tooltip.

    `kinds` maps each kind to its count; `category` is the highest-ranking one (KIND_RANK),
    the marker's colour. One pass of the engine counts per place and kind and names, for each,
    its first MAX_TOOLTIP_LINES events (date, then id) and its first country name; only those
    few events are then read whole, for the tooltips' lines. Beyond `max_markers` places the
    map draws grid cells with tooltips of their own (`marker_table`), so a place's tooltip then
    has its header lines only and no event is read (None: always read them).
    """
    columns = ["place", "country_name", "lat", "lon", "count", "category", "kinds", "tooltip"]
    selection = Selection.of(events)
    located = selection.narrowed(_LOCATED)
    key = _order_key(selection)
    per_kind = located.query(
        "SELECT place, lat, lon, category, count(*) AS n, min(_row) AS first, "
        f"{_head_sql(selection, key)} AS head, "
        f"min_by(country_name, {key}) FILTER (WHERE country_name IS NOT NULL) AS named, "
        f"min({key}) FILTER (WHERE country_name IS NOT NULL) AS named_key "
        "FROM sel GROUP BY place, lat, lon, category ORDER BY first",
        [MAX_TOOLTIP_LINES],
    )
    if per_kind.empty:
        return pd.DataFrame(columns=columns)
    keys = ["place", "lat", "lon"]
    kinds: dict[tuple, dict[str, int]] = {}
    # Each kind's first country name, with its order key; the place's is the first of those.
    named: dict[tuple, tuple] = {}
    for place, lat, lon, kind, n, name, name_key in zip(
        *(per_kind[k] for k in [*keys, "category", "n", "named", "named_key"]), strict=True
    ):
        held = kinds.setdefault((place, lat, lon), {})
        if isinstance(kind, str):
            held[kind] = int(n)
        if isinstance(name, str):
            ranked = (_sortable(name_key), name)
            if (place, lat, lon) not in named or ranked[0] < named[(place, lat, lon)][0]:
                named[(place, lat, lon)] = ranked
    places = per_kind.groupby(keys, sort=True)["n"].sum().rename("count").reset_index()
    country = {k: name for k, (_, name) in named.items()}
    head = per_kind.iloc[0:0].assign(date_start="", date_inferred=False, title="")
    if max_markers is None or len(places) <= max_markers:
        # The few events named above, read in one pass, for the tooltips' lines.
        head = _first_events(selection, _candidates(per_kind, keys), keys)
    places["country_name"] = [country.get(k) for k in zip(*(places[c] for c in keys), strict=True)]
    places["kinds"] = [kinds[key] for key in zip(*(places[k] for k in keys), strict=True)]
    places["category"] = [top_kind(k) for k in places["kinds"]]
    lines: dict[tuple, list[str]] = {}
    for key, line in zip(zip(*(head[k] for k in keys), strict=True), _event_lines(head), strict=True):
        lines.setdefault(key, []).append(line)
    places["tooltip"] = [
        _tooltip(
            [f"{p}, {name}: {plural(n, 'event')}", f"Kinds: {kinds_text(k)}"],
            lines.get((p, la, lo), []),
            n if (p, la, lo) in lines else 0,
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


def _picked(
    events: pd.DataFrame | Selection, clause: str, params: Sequence = (), selection: Selection | None = None
):
    """The selected events matching a look-up clause: a frame for a frame, a Selection for a
    Selection (a page then asks it for a count and the first few rows, never all of them)."""
    narrowed = (selection or Selection.of(events)).narrowed(clause, params)
    return narrowed if isinstance(events, Selection) else narrowed.rows()


def _marker_clause(members: Sequence[dict]) -> tuple[str, list]:
    """Rows behind any of a marker's members (`{"place", "position"}` or `{"cell"}`)."""
    clauses, params = [], []
    for member in list(members or [])[:1000]:
        if not isinstance(member, dict):
            continue
        if member.get("cell"):
            clause, args = _cell_clause(str(member["cell"]))
        elif member.get("place"):
            clause, args = _place_clause(str(member["place"]), member.get("position"))
        else:
            continue
        clauses.append(clause)
        params += args
    return ("(" + " OR ".join(clauses) + ")" if clauses else "FALSE"), params


def events_for_marker(events: pd.DataFrame | Selection, members: Sequence[dict]):
    """The events behind a marker that stands for several places or grid cells.

    `members` comes from the browser (the clicked object): each item is `{"place", "position"}`
    or `{"cell"}`; anything else is skipped. Rows keep the table's order.
    """
    return _picked(events, *_marker_clause(members))


def _cell_clause(cell: str) -> tuple[str, list]:
    try:
        size_text, row_text, col_text = cell.split(":")
        size, row, col = float(size_text), int(row_text), int(col_text)
    except ValueError:
        return "FALSE", []
    if not math.isfinite(size) or size <= 0:
        return "FALSE", []
    clause = "coalesce(place, '') <> '' AND floor(lat / ?) = ? AND floor(lon / ?) = ?"
    return clause, [size, row, size, col]


def events_in_cell(events: pd.DataFrame | Selection, cell: str):
    """The events behind a grid-cell marker (`cell` as `marker_table` writes it)."""
    return _picked(events, *_cell_clause(cell))


def country_counts(events: pd.DataFrame | Selection) -> pd.Series:
    """Events per partner country (participants and the row's country, Russia itself left out)."""
    counts: dict[str, int] = {}
    # Distinct (participants, country) pairs are few even in ten million rows: count those.
    pairs = Selection.of(events).query(
        "SELECT coalesce(participants, '') AS parts, coalesce(country_iso3, '') AS iso3, count(*) AS n "
        "FROM sel GROUP BY ALL"
    )
    for parts, iso3, n in zip(pairs["parts"], pairs["iso3"], pairs["n"], strict=True):
        involved = set(split_list(parts)) | {iso3}
        for code in involved - {RUSSIA_ISO3, ""}:
            counts[code] = counts.get(code, 0) + int(n)
    return pd.Series(counts, dtype="int64").sort_index()


#: Whether a row's arc is a figure (a trade or investment row with a value) or a tie.
_IS_FIGURE = "({t}category IN (SELECT unnest(?::VARCHAR[])) AND {t}value IS NOT NULL)"


def _flow_combos(selection: Selection) -> pd.DataFrame:
    """One row per distinct (figure, partners, organisations) of the selection: how many events
    hold it, its first MAX_TOOLTIP_LINES events (positions, in tooltip order) and its latest USD
    figure as (date, value, position): one pass over the events, whatever their number."""
    key = _order_key(selection, empty_first=False)
    return selection.query(
        f"SELECT {_IS_FIGURE.format(t='')} AS figure, coalesce(partners, '') AS partners, "
        "coalesce(organisations, '') AS organisations, count(*) AS n, "
        f"{_head_sql(selection, key)} AS head, "
        "max({'date': coalesce(date_start, ''), 'value': value, 'row': _row}) "
        "FILTER (WHERE upper(coalesce(unit, '')) = 'USD' AND value IS NOT NULL) AS usd "
        "FROM sel GROUP BY ALL",
        [sorted(FIGURE_CATEGORIES), MAX_TOOLTIP_LINES],
    )


def flow_ends(events: pd.DataFrame | Selection) -> pd.DataFrame:
    """Each distinct arc start of the selection and its ends: one row per (combination, target).

    A combination is (figure, partners, organisations); `kind` is `figure` for trade/investment
    rows with a value and `tie` for the rest; the targets are the partner states, or the
    organisations when no partner state is named. Worked out once per distinct combination
    (a few thousand in ten million rows), with the number of events `n` holding it, its first
    events `head` and its latest USD figure `usd`.
    """
    combos = _flow_combos(Selection.of(events))
    ends = []
    for figure, partners, orgs, n, head, usd in zip(*(combos[c] for c in combos.columns), strict=True):
        targets = [("country", p) for p in split_list(partners)]
        if not targets:
            targets = [("org", o) for o in split_list(orgs)]
        kind = "figure" if figure else "tie"
        ends.extend((bool(figure), partners, orgs, int(n), list(head), usd, kind, t, c) for t, c in targets)
    columns = ["figure", "partners", "organisations", "n", "head", "usd", "kind", "target_type", "target"]
    return pd.DataFrame(ends, columns=columns)


def _latest(figures) -> float:
    """The value of the latest of some (date, value, position) figures; 0.0 for none."""
    held = [f for f in figures if isinstance(f, dict)]
    if not held:
        return 0.0
    return float(max(held, key=lambda f: (f["date"], f["value"], f["row"]))["value"])


def flow_table(events: pd.DataFrame | Selection, reference: Reference) -> pd.DataFrame:
    """Arcs from Russia: one per partner (state capital or organisation seat) and kind.

    `kind` is `figure` for trade/investment rows with a value and `tie` for the rest. A figure
    that names an organisation and no partner state goes to the organisation's seat, whole,
    and is labelled as an aggregate: it is never split across members.
    """
    source = reference.capital_points.get(RUSSIA_ISO3)
    columns = ["kind", "target", "target_name", "aggregate", "source_lon", "source_lat"]
    columns += ["target_lon", "target_lat", "count", "usd", "tooltip"]
    selection = Selection.of(events)
    if source is None:
        return pd.DataFrame(columns=columns)
    ends = flow_ends(selection)
    if ends.empty:
        return pd.DataFrame(columns=columns)
    group = ["kind", "target_type", "target"]
    counts = ends.groupby(group, sort=True)["n"].sum().rename("count")
    # The latest USD figure per arc: by date, then value, then table order (the last wins).
    usd = ends.groupby(group, sort=False)["usd"].agg(_latest)
    head = _first_events(selection, _candidates(ends, group), group, empty_first=False)
    is_figure = (head["kind"] == "figure").to_numpy()
    lines: dict[tuple, list[str]] = {}
    for key, fig, ev, figline in zip(
        zip(head["kind"], head["target_type"], head["target"], strict=True),
        is_figure,
        _event_lines(head),
        _figure_lines(head),
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


def _place_clause(place: str, position: Sequence[float] | None = None) -> tuple[str, list]:
    clause, params = "place = ?", [place]
    if isinstance(position, (list, tuple)) and len(position) == 2:
        try:
            lon, lat = float(position[0]), float(position[1])
        except (TypeError, ValueError):
            return "FALSE", []  # a position from the browser that is no position
        clause += " AND round(lon, 4) = ? AND round(lat, 4) = ?"
        params += [round(lon, 4), round(lat, 4)]
    return clause, params


def events_at_place(events: pd.DataFrame | Selection, place: str, position: Sequence[float] | None = None):
    """The events behind one marker: the place, and its position when the picked object has one."""
    return _picked(events, *_place_clause(place, position))


def country_clause(codes: Sequence[str], engine) -> tuple[str, list]:
    """Rows whose country or participants hold any of `codes`: the country filter's own clause."""
    from dashboard.filters import FIELD_BY_NAME  # filters imports this module's neighbours

    return FIELD_BY_NAME["countries"].sql(tuple(codes), engine)


def events_with_country(events: pd.DataFrame | Selection, codes: Sequence[str]):
    """The events a country takes part in or is the place of: what a click on it lists, and
    what the country filter and the choropleth count."""
    selection = Selection.of(events)
    return _picked(events, *country_clause(codes, selection.engine), selection=selection)


def events_on_arc(events: pd.DataFrame | Selection, kind: str, target: str):
    """The events behind one arc: `kind` is `figure` or `tie`, `target` an ISO3 or organisation code."""
    selection = Selection.of(events)
    ends = flow_ends(selection)
    ends = ends[(ends["kind"] == kind) & (ends["target"] == target)]
    clause = (
        "EXISTS (SELECT 1 FROM (SELECT unnest(?::BOOLEAN[]) AS f, unnest(?::VARCHAR[]) AS p, "
        f"unnest(?::VARCHAR[]) AS o) AS e WHERE e.f = {_IS_FIGURE.format(t='')} "
        "AND e.p = coalesce(partners, '') AND e.o = coalesce(organisations, ''))"
    )
    params = [ends["figure"].tolist(), ends["partners"].tolist(), ends["organisations"].tolist()]
    return _picked(events, clause, [*params, sorted(FIGURE_CATEGORIES)], selection=selection)


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
