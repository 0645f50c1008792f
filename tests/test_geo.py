"""Geo: reference loading, the point-in-country check and the one spatial join, on tiny shapes."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.geo import enrich, points_near_countries
from dashboard.lists import split_list
from tests.conftest import enriched, row


@pytest.mark.parametrize(
    ("lat", "lon", "iso3", "ok"),
    [
        (1.29, 103.85, "SGP", True),  # inside
        (1.29, 104.2, "SGP", True),  # ~11 km east of the box: within tolerance
        (1.29, 104.5, "SGP", False),  # ~44 km east: too far
        (55.75, 37.62, "SGP", False),  # Moscow is not in Singapore
        (55.75, 37.62, "XXX", True),  # unknown code: reported by the code check instead
    ],
)
def test_points_near_countries(tiny_ref, lat, lon, iso3, ok):
    result = points_near_countries(np.array([lat]), np.array([lon]), np.array([iso3]), tiny_ref)
    assert result.tolist() == [ok]


def test_points_near_countries_keeps_row_order_with_repeats(tiny_ref):
    lat = np.array([1.29, 55.75, 1.29])
    lon = np.array([103.85, 37.62, 103.85])
    iso3 = np.array(["SGP", "SGP", "SGP"])
    assert points_near_countries(lat, lon, iso3, tiny_ref).tolist() == [True, False, True]


def test_enrich_adds_years_names_partners_and_point_country(tiny_ref):
    frame = enriched(
        [
            row(),
            row(
                event_id="b",
                place="",
                lat="",
                lon="",
                country_iso3="PRK",
                participants="PRK;RUS",
                date_start="2003",
                date_end="2008",
            ),
        ],
        tiny_ref,
    )
    # Rows come back in date order: the 2003 talks first.
    assert frame["event_id"].tolist() == ["b", "2018-11-singapore-summit"]
    assert frame["year_start"].tolist() == [2003, 2018]
    assert frame["year_end"].tolist() == [2008, 2018]
    assert frame["country_name"].tolist() == ["North Korea", "Singapore"]
    assert frame["continent"].tolist() == ["Asia", "Asia"]
    assert frame["point_iso3"].tolist() == ["", "SGP"]
    assert frame["partners"].tolist() == ["PRK", ""]


def test_enrich_orders_by_date_with_undated_last(tiny_ref):
    frame = enriched(
        [
            row(event_id="z", date_start="", date_end=""),
            row(event_id="b", date_start="2018-11", date_end=""),
            row(event_id="a", date_start="2018-11", date_end=""),
            row(event_id="c", date_start="1996", date_end=""),
        ],
        tiny_ref,
    )
    assert frame["event_id"].tolist() == ["c", "a", "b", "z"]
    assert frame.index.tolist() == [0, 1, 2, 3]


def test_enrich_leaves_input_unchanged(tiny_ref):
    frame = enriched([row()], tiny_ref)
    base = frame[[c for c in frame.columns if c not in ("year_start",)]].copy()
    enrich(base, tiny_ref)
    assert "year_start" not in base.columns


@pytest.mark.parametrize(("cell", "items"), [("", []), ("RUS", ["RUS"]), (" RUS ; SGP;", ["RUS", "SGP"])])
def test_split_list(cell, items):
    assert split_list(cell) == items


def test_reference_lookups(tiny_ref):
    assert tiny_ref.members_of("BRICS") == {"RUS", "ZAF"}
    assert tiny_ref.members_of("REC") == frozenset()
    assert tiny_ref.orgs_with_members == ("ASEAN", "BRICS")
    assert tiny_ref.org_seats["ASEAN"] == (103.85, 1.29)
    assert "BRICS" not in tiny_ref.org_seats


def test_real_geodata_is_complete(real_ref):
    countries = real_ref.countries
    assert countries["iso3"].is_unique
    assert {"SGP", "RUS", "PRK", "KOR", "PNG", "ZAF"} <= set(countries["iso3"])
    assert countries.geometry.is_valid.all()
    for geom in countries.geometry:
        for poly in getattr(geom, "geoms", [geom]):
            xs = np.asarray(poly.exterior.coords)[:, 0]
            assert xs.max() - xs.min() <= 180.0001  # no ring jumps the antimeridian
    near = points_near_countries(
        real_ref.places["lat"].to_numpy(),
        real_ref.places["lon"].to_numpy(),
        real_ref.places["country_iso3"].to_numpy(),
        real_ref,
    )
    assert near.all()
    assert set(real_ref.members["member_iso3"]) <= set(countries["iso3"])
