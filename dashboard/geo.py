"""Reference geography: country shapes, the gazetteer, capitals and organisations, and the joins.

The committed files in `geodata/` are the only inputs (no network at run time). `load_reference`
reads them once, each checked against its contract (`dashboard.reference`): the `Reference`
carries the problems found, and unusable data raises `ReferenceDataError`. `enrich` does the one
spatial join of event points with country shapes, after which every view filters the enriched
frame instead of touching geometry again.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from dashboard.lists import join_list, split_list
from dashboard.reading import Problem
from dashboard.reference import CAPITALS_FILE, read_reference_tables
from dashboard.schema import SEARCH_COLUMNS
from dashboard.search import search_text

GEODATA_DIR = Path(__file__).resolve().parent.parent / "geodata"

#: Tolerance of the point-in-country check: coastal cities fall just outside simplified shapes.
SPATIAL_TOLERANCE_KM = 25.0
_KM_PER_DEGREE = 111.32

#: Russia's arcs start at its capital; the gazetteer supplies the point.
RUSSIA_ISO3 = "RUS"


@dataclass(frozen=True, eq=False)
class Reference:
    """The reference tables an events table is validated and joined against."""

    countries: gpd.GeoDataFrame
    places: pd.DataFrame
    capitals: pd.DataFrame
    organisations: pd.DataFrame
    members: pd.DataFrame
    #: What the contracts found wrong with the files (rows skipped, values left out, gaps).
    problems: tuple[Problem, ...] = ()
    #: The folder's name, as problems and notices name the files ("geodata/capitals.csv").
    label: str = "geodata"
    _cache: dict = field(default_factory=dict, repr=False)

    @cached_property
    def iso3_codes(self) -> frozenset[str]:
        return frozenset(self.countries["iso3"])

    @cached_property
    def org_codes(self) -> frozenset[str]:
        return frozenset(self.organisations["acronym"])

    @cached_property
    def country_names(self) -> dict[str, str]:
        return dict(zip(self.countries["iso3"], self.countries["name"], strict=True))

    @cached_property
    def continents(self) -> dict[str, str]:
        return dict(zip(self.countries["iso3"], self.countries["continent"], strict=True))

    @cached_property
    def geometry_by_iso3(self) -> dict[str, shapely.Geometry]:
        return dict(zip(self.countries["iso3"], self.countries.geometry, strict=True))

    @cached_property
    def capital_points(self) -> dict[str, tuple[float, float]]:
        caps = self.capitals
        return {
            iso3: (float(lon), float(lat))
            for iso3, lat, lon in zip(caps["country_iso3"], caps["lat"], caps["lon"], strict=True)
        }

    @property
    def flows_notice(self) -> str:
        """Why the Flows map cannot draw its arcs, or "" when it can: they all start at Moscow."""
        if RUSSIA_ISO3 in self.capital_points:
            return ""
        return f"no capital for {RUSSIA_ISO3} in {self.label}/{CAPITALS_FILE}: arcs cannot be drawn"

    @cached_property
    def org_seats(self) -> dict[str, tuple[float, float]]:
        orgs = self.organisations.dropna(subset=["seat_lat", "seat_lon"])
        return {
            a: (float(lon), float(lat))
            for a, lat, lon in zip(orgs["acronym"], orgs["seat_lat"], orgs["seat_lon"], strict=True)
        }

    @cached_property
    def org_names(self) -> dict[str, str]:
        return dict(zip(self.organisations["acronym"], self.organisations["name"], strict=True))

    def fingerprint(self) -> str:
        """A digest of every reference table: part of the key of cached, checked events tables."""
        if "fingerprint" not in self._cache:
            digest = hashlib.sha256()
            for frame in (self.places, self.capitals, self.organisations, self.members):
                digest.update(frame.to_csv(index=False).encode())
            digest.update("|".join(self.countries["iso3"]).encode())
            for wkb in shapely.to_wkb(self.countries.geometry.values):
                digest.update(wkb)
            self._cache["fingerprint"] = digest.hexdigest()
        return self._cache["fingerprint"]

    def members_of(self, acronym: str) -> frozenset[str]:
        """ISO3 codes of the member states of an organisation (empty if no list is held)."""
        members = self.members
        rows = members[(members["acronym"] == acronym) & (members["role"] == "member")]
        return frozenset(rows["member_iso3"])

    @cached_property
    def orgs_with_members(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.members.loc[self.members["role"] == "member", "acronym"]))


def load_reference(directory: Path | str = GEODATA_DIR) -> Reference:
    """Read the geodata files against their contracts.

    Bad rows are skipped and listed in `Reference.problems`; data that cannot be used at all
    (a file missing, unreadable or truncated, a column missing) raises `ReferenceDataError`.
    """
    directory = Path(directory)
    tables = read_reference_tables(directory)
    return Reference(
        countries=tables.countries.reset_index(drop=True),
        places=tables.places,
        capitals=tables.capitals,
        organisations=tables.organisations,
        members=tables.members,
        problems=tables.problems,
        label=directory.name or str(directory),
    )


def points_near_countries(
    lat: np.ndarray, lon: np.ndarray, iso3: np.ndarray, reference: Reference
) -> np.ndarray:
    """True where the point lies in, or within SPATIAL_TOLERANCE_KM of, its country's shape.

    Unknown codes give True: that problem is reported by the code check, not twice here.
    Works on distinct (lat, lon, iso3) triples, so a million rows over a few thousand places
    costs a few thousand geometry tests.
    """
    triples = pd.DataFrame({"lat": lat, "lon": lon, "iso3": iso3})
    distinct = triples.drop_duplicates().reset_index(drop=True)
    shapes = [reference.geometry_by_iso3.get(code) for code in distinct["iso3"]]
    known = np.array([s is not None for s in shapes])
    ok = np.ones(len(distinct), dtype=bool)
    if known.any():
        pts = shapely.points(distinct.loc[known, "lon"], distinct.loc[known, "lat"])
        geoms = np.array([s for s in shapes if s is not None], dtype=object)
        # Degrees of longitude shrink with latitude; use the wider one so the test never
        # rejects a point that is truly within the tolerance.
        cos_lat = np.clip(np.cos(np.radians(distinct.loc[known, "lat"].to_numpy())), 0.05, 1)
        tolerance = SPATIAL_TOLERANCE_KM / _KM_PER_DEGREE / cos_lat
        ok[known] = shapely.dwithin(geoms, pts, tolerance)
    distinct["ok"] = ok
    merged = triples.merge(distinct, on=["lat", "lon", "iso3"], how="left")
    return merged["ok"].to_numpy(dtype=bool)


def enrich(events: pd.DataFrame, reference: Reference, *, sort: bool = True) -> pd.DataFrame:
    """Add the derived columns every view needs, once, and put the rows in date order
    (`views_order`; `sort=False` leaves that to whoever joins batches of a table).

    The spatial join (which country's shape holds each point) happens here and nowhere else.
    """
    out = events.copy()
    out["year_start"] = _years(out["date_start"])
    out["year_end"] = _years(out["date_end"]).fillna(out["year_start"])
    out["country_name"] = out["country_iso3"].map(reference.country_names).fillna(out["country_iso3"])
    out["continent"] = out["country_iso3"].map(reference.continents).fillna("")
    has_point = out["lat"].notna() & out["lon"].notna()
    point_iso3 = pd.Series("", index=out.index, dtype=object)
    if has_point.any():
        # Join the distinct points only: a million events sit at a few thousand places.
        xy = pd.DataFrame({"lon": out.loc[has_point, "lon"], "lat": out.loc[has_point, "lat"]})
        distinct = xy.drop_duplicates().reset_index(drop=True)
        pts = gpd.GeoDataFrame(
            {"point": distinct.index},
            geometry=gpd.points_from_xy(distinct["lon"], distinct["lat"]),
            crs=4326,
        )
        joined = gpd.sjoin(pts, reference.countries[["iso3", "geometry"]], how="left")
        joined = joined.drop_duplicates("point").set_index("point")
        distinct["iso3"] = joined["iso3"].reindex(distinct.index).fillna("").to_numpy()
        found = xy.merge(distinct, on=["lon", "lat"], how="left")["iso3"].to_numpy()
        point_iso3.loc[has_point.to_numpy()] = found
    out["point_iso3"] = point_iso3.astype(str)
    # Distinct participant lists are few: split each once.
    codes, cells = pd.factorize(out["participants"].fillna(""))
    partners = np.array(
        [
            join_list(p for p in split_list(cell) if p != RUSSIA_ISO3)
            for cell in np.asarray(cells, dtype=object)
        ]
        or [""],
        dtype=object,
    )
    out["partners"] = pd.Series(partners[codes] if len(codes) else [], index=out.index, dtype=object)
    out["search_text"] = search_text(out, SEARCH_COLUMNS, reference.country_names)
    return out.iloc[views_order(out)].reset_index(drop=True) if sort else out


def _years(dates: pd.Series) -> pd.Series:
    """The year of each ISO date (its first four characters), worked out once per distinct date."""
    codes, distinct = pd.factorize(dates.fillna(""))
    years = pd.to_numeric(
        pd.Series(np.asarray(distinct, dtype=object), dtype=object).str.slice(0, 4), errors="coerce"
    )
    values = years.astype("Int64").array.take(codes) if len(distinct) else pd.array([], dtype="Int64")
    return pd.Series(values, index=dates.index, dtype="Int64")


#: `views_order` as SQL, for an engine that reads a checked table's Parquet file.
VIEWS_ORDER_SQL = "CASE WHEN date_start = '' THEN '~' ELSE date_start END, event_id"


def views_order(events: pd.DataFrame) -> np.ndarray:
    """One order for every view and every export: chronological, undated last, then by id
    (row positions). Text compares by code point, as SQL engines compare UTF-8 bytes."""
    when = events["date_start"].fillna("").replace("", "~").to_numpy(dtype=str)  # "~" sorts after digits
    return np.lexsort((events["event_id"].to_numpy(dtype=str), when))


def sea_polygon() -> list[list[float]]:
    """A rectangle covering the world, drawn under the countries as the sea."""
    return [[-540.0, -85.0], [540.0, -85.0], [540.0, 85.0], [-540.0, 85.0]]


def km_to_degrees(km: float, lat: float = 0.0) -> float:
    """Rough conversion used for tolerances and radii."""
    return km / (_KM_PER_DEGREE * max(math.cos(math.radians(lat)), 0.05))
