"""Shared fixtures: a tiny hand-made reference world, the real one, and table builders."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from dashboard.data import load_events
from dashboard.geo import Reference, enrich, load_reference
from dashboard.schema import EVENT_COLUMNS
from dashboard.signing import ENV_KEY

REPO = Path(__file__).resolve().parent.parent
SEED_DIR = Path(os.environ.get("SUMMIT_ATLAS_SEEDS", REPO.parent / "shared" / "seeds"))


@pytest.fixture(autouse=True, scope="session")
def _cache_key_of_the_session(tmp_path_factory):
    """The cache's signing key (dashboard/signing.py) lives in a folder of this run, never in
    the user's own config: tests (and the servers they start) never read or write that."""
    folder = tmp_path_factory.mktemp("key")
    folder.chmod(0o700)
    saved = os.environ.get(ENV_KEY)
    os.environ[ENV_KEY] = str(folder / "cache.key")
    yield
    if saved is None:
        os.environ.pop(ENV_KEY, None)
    else:
        os.environ[ENV_KEY] = saved


def tiny_reference() -> Reference:
    """Four boxy countries, their capitals, two organisations: enough to test every join."""
    countries = gpd.GeoDataFrame(
        {
            "iso3": ["PRK", "RUS", "SGP", "ZAF"],
            "name": ["North Korea", "Russia", "Singapore", "South Africa"],
            "continent": ["Asia", "Europe", "Asia", "Africa"],
            "region": ["Eastern Asia", "Eastern Europe", "South-eastern Asia", "Sub-Saharan Africa"],
        },
        geometry=[
            box(124, 38, 130, 43),
            box(30, 42, 180, 75),
            box(103.6, 1.2, 104.1, 1.5),
            box(16, -35, 33, -22),
        ],
        crs=4326,
    )
    places = pd.DataFrame(
        {
            "place": ["Moscow", "Singapore", "Pyongyang", "Johannesburg"],
            "country_iso3": ["RUS", "SGP", "PRK", "ZAF"],
            "lat": [55.75, 1.29, 39.03, -26.2],
            "lon": [37.62, 103.85, 125.75, 28.04],
            "source": ["test"] * 4,
        }
    )
    capitals = places.rename(columns={"place": "capital"})[
        ["country_iso3", "capital", "lat", "lon", "source"]
    ]
    capitals.loc[capitals["country_iso3"] == "ZAF", ["capital", "lat", "lon"]] = ["Pretoria", -25.75, 28.19]
    organisations = pd.DataFrame(
        {
            "acronym": ["ASEAN", "BRICS", "REC"],
            "name": ["Association of Southeast Asian Nations", "BRICS", "Russian Export Center"],
            "type": ["intergovernmental", "forum", "institution"],
            "seat_city": ["Singapore", "", "Moscow"],
            "seat_iso3": ["SGP", "", "RUS"],
            "seat_lat": [1.29, float("nan"), 55.75],
            "seat_lon": [103.85, float("nan"), 37.62],
        }
    )
    members = pd.DataFrame(
        {
            "acronym": ["ASEAN", "BRICS", "BRICS"],
            "member_iso3": ["SGP", "RUS", "ZAF"],
            "role": ["member"] * 3,
            "as_of": ["2019"] * 3,
            "source": ["test"] * 3,
        }
    )
    return Reference(countries, places, capitals, organisations, members)


@pytest.fixture(scope="session")
def tiny_ref() -> Reference:
    return tiny_reference()


@pytest.fixture(scope="session")
def real_ref() -> Reference:
    return load_reference()


def row(**values) -> dict[str, str]:
    """A valid events row in the tiny world; keyword arguments override its cells."""
    base = {
        "event_id": "2018-11-singapore-summit",
        "title": "Summit in Singapore",
        "summary": "Leaders met.",
        "category": "summit",
        "date_start": "2018-11-13",
        "date_end": "2018-11-15",
        "date_inferred": "false",
        "date_inference_note": "",
        "place_inferred": "false",
        "place_inference_note": "",
        "place": "Singapore",
        "country_iso3": "SGP",
        "lat": "1.29",
        "lon": "103.85",
        "participants": "RUS",
        "organisations": "ASEAN",
        "value": "",
        "unit": "",
        "article": "1",
        "evidence": "the summit in Singapore",
    }
    base.update({k: str(v) for k, v in values.items()})
    return base


def figure_row(event_id: str, year: str, value: str, unit: str, **values) -> dict[str, str]:
    """A stated trade figure with no place, Russia-Singapore unless overridden."""
    cells = {"participants": "RUS;SGP", "organisations": "", **values}
    return row(
        event_id=event_id,
        category="trade",
        value=value,
        unit=unit,
        date_start=year,
        date_end="",
        place="",
        lat="",
        lon="",
        **cells,
    )


def table_bytes(rows: list[dict[str, str]], columns=EVENT_COLUMNS, newline: str = "\n") -> bytes:
    buffer = io.StringIO(newline="")
    # QUOTE_ALL: with QUOTE_MINIMAL a lone carriage return inside a cell would go unquoted.
    writer = csv.DictWriter(
        buffer, fieldnames=list(columns), lineterminator=newline, extrasaction="ignore", quoting=csv.QUOTE_ALL
    )
    writer.writeheader()
    for r in rows:
        writer.writerow(r)
    return buffer.getvalue().encode("utf-8")


def load_rows(rows, ref, articles=frozenset({1, 2, 3, 4})):
    return load_events(table_bytes(rows), ref, articles, name="t.csv")


def enriched(rows, ref) -> pd.DataFrame:
    result = load_rows(rows, ref)
    assert result.ok, [str(p) for p in result.problems]
    return enrich(result.frame, ref)
