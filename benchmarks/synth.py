"""Synthetic events tables in the dashboard's schema, for the scale benchmark.

Realistic in the ways that matter for speed: about 2,000 places (the capitals and the gazetteer,
plus points drawn inside real country shapes), 30 years of dates, a Zipf distribution so that a
few places hold most events, partners and organisations drawn from the reference lists, and
figures on trade and investment rows. Nearly every row is valid: a few gazetteer points lie
just outside a simplified country shape and are reported, as a real table's would be. Tables are
written once to `benchmarks/results/cache/` (git-ignored) and reused by later runs.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from dashboard.geo import RUSSIA_ISO3, Reference, load_reference
from dashboard.schema import CATEGORIES, EVENT_COLUMNS, FIGURE_CATEGORIES

CACHE = Path(__file__).resolve().parent / "results" / "cache"
N_PLACES = 2000
YEARS = (1990, 2019)
SEED = 20181113


def synth_places(reference: Reference, n: int = N_PLACES, seed: int = SEED) -> pd.DataFrame:
    """Capitals, gazetteer places, then random points inside country shapes up to `n` places."""
    rng = np.random.default_rng(seed)
    known = set(reference.iso3_codes)
    caps = reference.capitals.rename(columns={"capital": "place"})
    base = pd.concat([caps, reference.places], ignore_index=True)
    base = base[base["country_iso3"].isin(known)].drop_duplicates(["place", "country_iso3"])
    base = base[["place", "country_iso3", "lat", "lon"]]
    rows = []
    big = shapely.area(reference.countries.geometry.values) > 0.05
    countries = reference.countries[big].reset_index(drop=True)
    need = max(n - len(base), 0)
    while len(rows) < need:
        i = int(rng.integers(len(countries)))
        geom = countries.geometry[i]
        x0, y0, x1, y1 = geom.bounds
        xs, ys = rng.uniform(x0, x1, 32), rng.uniform(y0, y1, 32)
        inside = shapely.contains_xy(geom, xs, ys)
        if inside.any():
            k = int(np.flatnonzero(inside)[0])
            iso3 = countries["iso3"][i]
            rows.append((f"Site {len(rows) + 1} ({iso3})", iso3, round(ys[k], 4), round(xs[k], 4)))
    extra = pd.DataFrame(rows, columns=["place", "country_iso3", "lat", "lon"])
    return pd.concat([base, extra], ignore_index=True).head(n)


def synth_events(n: int, reference: Reference, seed: int = SEED, first: int = 0) -> pd.DataFrame:
    """`n` valid event rows as strings, exactly as a CSV would hold them; ids and titles count
    from `first` (a large table is written in chunks)."""
    rng = np.random.default_rng(seed + n + first)
    places = synth_places(reference)
    # Zipf over places: a few venues hold most events.
    weights = 1.0 / np.arange(1, len(places) + 1) ** 1.1
    pick = rng.choice(len(places), size=n, p=weights / weights.sum())
    at = places.iloc[pick].reset_index(drop=True)
    cats = np.array(CATEGORIES)[rng.integers(len(CATEGORIES), size=n)]
    year = rng.integers(YEARS[0], YEARS[1] + 1, size=n)
    month = rng.integers(1, 13, size=n)
    day = rng.integers(1, 29, size=n)
    start = pd.Series([f"{y}-{m:02d}-{d:02d}" for y, m, d in zip(year, month, day, strict=True)])
    end = start.where(rng.random(n) < 0.7, "")
    inferred = rng.random(n) < 0.1
    iso3 = at["country_iso3"].to_numpy()
    codes = np.array(sorted(reference.iso3_codes - {RUSSIA_ISO3}))
    other = codes[rng.integers(len(codes), size=n)]
    participants = np.where(
        iso3 == RUSSIA_ISO3,
        np.char.add("RUS;", other.astype(str)),
        np.char.add("RUS;", iso3.astype(str)),
    )
    orgs = np.array(sorted(reference.org_codes))
    org = np.where(rng.random(n) < 0.3, orgs[rng.integers(len(orgs), size=n)], "")
    figure = np.isin(cats, list(FIGURE_CATEGORIES))
    value = np.where(figure, np.round(rng.lognormal(20, 2, size=n), -6), np.nan)
    no_place = rng.random(n) < 0.05
    ids = [f"e{i:07d}" for i in range(first, first + n)]
    frame = pd.DataFrame(
        {
            "event_id": ids,
            "title": [f"Event {i} at {p}" for i, p in zip(range(first, first + n), at["place"], strict=True)],
            "summary": "A synthetic event for the scale benchmark.",
            "category": cats,
            "date_start": start,
            "date_end": end,
            "date_inferred": np.where(inferred, "true", "false"),
            "date_inference_note": np.where(inferred, "synthetic: inferred", ""),
            "place": np.where(no_place, "", at["place"]),
            "country_iso3": iso3,
            "lat": np.where(no_place, "", at["lat"].map("{:.4f}".format)),
            "lon": np.where(no_place, "", at["lon"].map("{:.4f}".format)),
            "place_inferred": "false",
            "place_inference_note": "",
            "participants": participants,
            "organisations": org,
            "value": [f"{v:.0f}" if np.isfinite(v) else "" for v in value],
            "unit": np.where(figure, "USD", ""),
            "article": rng.integers(1, 5, size=n).astype(str),
            "evidence": "synthetic evidence phrase",
        },
        columns=list(EVENT_COLUMNS),
    )
    return frame


def events_csv(n: int, reference: Reference | None = None, directory: Path = CACHE) -> Path:
    """Path of a cached synthetic table of `n` rows, written on first use."""
    path = directory / f"events-{n}.csv"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        reference = reference or load_reference()
        tmp = path.with_suffix(".tmp")
        # Chunks of a million rows: ten million rows never sit in memory at once.
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            for first in range(0, n, CHUNK_ROWS):
                frame = synth_events(min(CHUNK_ROWS, n - first), reference, first=first)
                buffer = io.StringIO()
                frame.to_csv(buffer, index=False, header=first == 0, quoting=csv.QUOTE_MINIMAL)
                out.write(buffer.getvalue())
        tmp.replace(path)
    return path


#: Rows generated at a time when writing a table.
CHUNK_ROWS = 1_000_000
