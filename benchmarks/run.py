"""Summit Atlas performance benchmark: one command, tables on stdout and in results/latest.md.

    python benchmarks/run.py            # full run (about 5-8 minutes on 2 cores)
    python benchmarks/run.py --quick    # fewer samples, no 1M-row table (about 1-2 minutes)

1. Server side (AppTest, no browser): the first run in a fresh process (one subprocess per
   sample) and a rerun after a filter change, for each view, beside the same two figures for
   `benchmarks/floor_app.py` (a minimal page drawing the same countries and points).
2. Payload: bytes of the deck JSON each map view sends, raw and zlib-compressed.
3. Scale: synthetic tables of 10k, 100k and 1M rows (cached in results/cache/): check time,
   cached (Parquet) load, filter, deck build, deck bytes, peak memory, and the app's runs.
4. Peer: the same world map with markers built with folium: HTML bytes and build time.
5. App at scale (`--only app --sizes 10000,1000000,10000000`): the whole app over a checked
   table, as issue #12 measures it, beside `pandas.read_csv` of the same file: reopening the
   table in a fresh process (the Parquet cache already built, by a first run it does not time),
   the first run and the rerun after a filter change of each map mode, the timeline and the
   Data page (AppTest, a fresh process each), their peak RSS, and the summits deck's bytes.

The browser's side (painting each map mode in headless Chromium, beside the floor app) is
`benchmarks/paint.py`, run on its own: it needs Chromium and takes several minutes.

This is not a test: figures depend on the machine. Tests stay fast (tests/test_benchmarks.py
only runs the pieces at toy size).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

APP = REPO / "streamlit_app.py"
FLOOR = HERE / "floor_app.py"
RESULTS = HERE / "results"
PAGES = "dashboard/ui/pages"
#: (label, query params, page script or None)
VIEWS: tuple[tuple[str, dict, str | None], ...] = (
    ("map: summits", {}, None),
    ("map: partnerships", {"view": "partnerships"}, None),
    ("map: flows", {"view": "flows"}, None),
    ("timeline", {}, "timeline"),
    ("data", {}, "data"),
    ("sources", {}, "sources"),
)
#: Pages timed at scale (label, page script or "" for the map).
SCALE_PAGES: tuple[tuple[str, str], ...] = (
    ("map", ""),
    ("timeline", "timeline"),
    ("data", "data"),
    ("sources", "sources"),
)
#: Filter changes applied one after another for the rerun figure (the multiselect `w_category`).
FILTER_STEPS = (["summit", "meeting"], ["summit"], ["summit", "meeting", "trade"], [])


# ----- helpers -----------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    # A forced OpenBLAS core type slows a current numpy (see the machine notes): not for timing.
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def worker_process(script: str, args: list[str], *, timeout: float = 900, **env: str) -> dict:
    """Run a benchmark script as a worker (`script --worker ARGS`) in a fresh process; it
    prints one JSON line last, which is returned. Every benchmark measures through this."""
    out = subprocess.run(
        [sys.executable, str(Path(script).resolve()), "--worker", *args],
        capture_output=True,
        text=True,
        env=_env(**env),
        cwd=REPO,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"worker {args} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    return json.loads(lines[-1])


def _worker(args: list[str], **env: str) -> dict:
    """This file as a worker in a fresh process."""
    return worker_process(__file__, args, **env)


def peak_mb() -> float:
    """This process's peak resident memory so far, in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _kb(n: float) -> str:
    return f"{n / 1000:,.0f} KB"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ----- workers (each runs in its own process) ---------------------------------------------


def _first_run(app: str, params: str, page: str):
    """An AppTest of `app` at these URL parameters (JSON) and page, run once: (it, seconds)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(app, default_timeout=600)
    for key, value in json.loads(params).items():
        at.query_params[key] = value
    if page:
        at.switch_page(f"{PAGES}/{page}.py")
    t = time.perf_counter()
    at.run()
    first = time.perf_counter() - t
    if at.exception:
        raise RuntimeError([e.value for e in at.exception])
    return at, first


def worker_apptest(app: str, params: str, page: str, steps: int) -> dict:
    """First run and reruns after filter changes of one app and view, in this fresh process."""
    at, first = _first_run(app, params, page)
    reruns = []
    for value in FILTER_STEPS[:steps]:
        t = time.perf_counter()
        at.multiselect(key="w_category").set_value(value).run()
        reruns.append(time.perf_counter() - t)
        if at.exception:
            raise RuntimeError([e.value for e in at.exception])
    return {"first": first, "rerun": statistics.median(reruns), "reruns": reruns, "peak_mb": peak_mb()}


def worker_scale(n: int, phase: str, cache: str) -> dict:
    """Load an n-row synthetic table (phase `cold`: CSV check + enrich; `warm`: the Parquet
    cache) and time a filter and each deck; report peak memory of this process."""
    from benchmarks.synth import events_csv
    from dashboard.dataset import build_dataset, load_reference_and_sources
    from dashboard.filters import FilterState
    from dashboard.layers import build_deck

    path = events_csv(n)
    reference, sources, problems = load_reference_and_sources()
    base_mb = peak_mb()
    t = time.perf_counter()
    dataset = build_dataset(path, reference, sources, problems, cache_dir=cache)
    load = time.perf_counter() - t
    out = {
        "n": n,
        "phase": phase,
        "load": load,
        "from_cache": dataset.from_cache,
        "rows": len(dataset.events),
    }
    out["problems"] = len(dataset.result.problems)
    if phase == "warm":
        state = FilterState(categories=("summit", "meeting", "trade"), years=(2000, 2019))
        t = time.perf_counter()
        rows = state.apply(dataset.events)
        out["filter"] = time.perf_counter() - t
        out["filtered"] = len(rows)
        for view in ("summits", "partnerships", "flows"):
            t = time.perf_counter()
            deck, _ = build_deck(view, rows, reference)
            text = deck.to_json()
            out[f"deck_{view}_s"] = time.perf_counter() - t
            out[f"deck_{view}_bytes"] = len(text.encode())
            out[f"deck_{view}_zlib"] = len(zlib.compress(text.encode()))
        # A download of every row: the registry's CSV writer against pandas alone writing the
        # same columns (the baseline).
        from dashboard.export import FORMATS, export_columns

        t = time.perf_counter()
        FORMATS["csv"].write(dataset.events, None)
        out["csv_s"] = time.perf_counter() - t
        t = time.perf_counter()
        dataset.events[export_columns(dataset.events)].to_csv(index=False)
        out["pandas_csv_s"] = time.perf_counter() - t
    out["peak_mb"] = peak_mb()
    out["base_mb"] = base_mb
    return out


#: The app at scale: (label, query params, page script or "").
APP_VIEWS: tuple[tuple[str, dict, str], ...] = (
    ("map: summits", {}, ""),
    ("map: partnerships", {"view": "partnerships"}, ""),
    ("map: flows", {"view": "flows"}, ""),
    ("timeline", {}, "timeline"),
    ("data", {}, "data"),
)


def worker_reopen(path: str, cache: str) -> dict:
    """Open a checked table again (its Parquet cache warm), as the app does, in this fresh process."""
    from dashboard.dataset import build_dataset, load_reference_and_sources, sources_path

    reference, sources, problems = load_reference_and_sources(sources=sources_path(Path(path)))
    base_mb = peak_mb()
    t = time.perf_counter()
    dataset = build_dataset(path, reference, sources, problems, cache_dir=cache)
    took = time.perf_counter() - t
    return {
        "reopen": took,
        "from_cache": dataset.from_cache,
        "lazy": dataset.loaded is None,
        "rows": dataset.result.rows_loaded,
        "peak_mb": peak_mb(),
        "base_mb": base_mb,
    }


def worker_read_csv(path: str) -> dict:
    """The baseline: pandas.read_csv of the same file as text (as benchmarks/check.py reads it),
    in this fresh process."""
    import pandas as pd

    t = time.perf_counter()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {"read_csv": time.perf_counter() - t, "rows": len(frame), "peak_mb": peak_mb()}


def worker_app(path: str, cache: str, params: str, page: str) -> dict:
    """The app over `path` in this fresh process: first run, reruns after filter changes, the
    deck's bytes (a map view), peak RSS; the dataset's rows must never be read into memory."""
    os.environ["SUMMIT_ATLAS_EVENTS"] = path
    os.environ["SUMMIT_ATLAS_CACHE"] = cache
    at, first = _first_run(str(APP), params, page)
    decks = at.get("deck_gl_json_chart")
    deck_bytes = len(decks[0].proto.json.encode()) if decks else 0
    reruns = []
    for value in FILTER_STEPS:
        t = time.perf_counter()
        at.multiselect(key="w_category").set_value(value).run()
        reruns.append(time.perf_counter() - t)
        if at.exception:
            raise RuntimeError([e.value for e in at.exception])
    from dashboard.ui.state import KEYS

    ctx = at.session_state[KEYS.page_context]
    return {
        "first": first,
        "rerun": statistics.median(reruns),
        "rerun_max": max(reruns),
        "deck_bytes": deck_bytes,
        "lazy": ctx.dataset.loaded is None and ctx.dataset.parquet is not None,
        "peak_mb": peak_mb(),
    }


def app_at_scale(sizes: list[int], samples: int, cache: str) -> tuple[str, dict]:
    """Issue #12's targets for the whole app, per table size (see the module docstring)."""
    from benchmarks.synth import events_csv

    results: dict[int, dict] = {}
    for n in sizes:
        path = str(events_csv(n))
        # The first check, not timed here (benchmarks/check.py measures it): the cache is warm after.
        _worker(["reopen", path, cache])
        entry: dict = {
            "reopen": [_worker(["reopen", path, cache]) for _ in range(samples)],
            "read_csv": _worker(["read_csv", path]),
        }
        for label, params, page in APP_VIEWS:
            entry[label] = [_worker(["app", path, cache, json.dumps(params), page]) for _ in range(samples)]
        results[n] = entry
        reopen = statistics.median(r["reopen"] for r in entry["reopen"])
        baseline = entry["read_csv"]["read_csv"]
        print(f"  {n:,} rows: reopen {_ms(reopen)}, read_csv {_ms(baseline)}", flush=True)

    def med(runs: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    header = ["events"] + [f"{n:,}" for n in sizes]

    def row(label, fn):
        return [label] + [fn(results[n]) for n in sizes]

    rows = [
        row("pandas.read_csv of the CSV, as text (baseline)", lambda e: _ms(e["read_csv"]["read_csv"])),
        row("  its peak RSS", lambda e: f"{e['read_csv']['peak_mb']:,.0f} MiB"),
        row(
            "(a) open the checked table again (target ≤ 2 s)",
            lambda e: (
                _ms(med(e["reopen"], "reopen"))
                + (
                    ""
                    if all(r["from_cache"] for r in e["reopen"])
                    else " (checked again: under the cache threshold)"
                )
            ),
        ),
        row("  its peak RSS", lambda e: f"{max(r['peak_mb'] for r in e['reopen']):,.0f} MiB"),
    ]
    for label, _params, _page in APP_VIEWS:
        rows.append(row(f"app first run, {label}", lambda e, v=label: _ms(med(e[v], "first"))))
    for label, _params, _page in APP_VIEWS:
        rows.append(
            row(
                f"(b) rerun after a filter change, {label} (≤ 1 s)",
                lambda e, v=label: (
                    f"{_ms(med(e[v], 'rerun'))} (max {_ms(max(r['rerun_max'] for r in e[v]))})"
                ),
            )
        )
    rows.append(
        row(
            "(c) peak RSS of the app process, one session (≤ 1.5 GB)",
            lambda e: f"{max(r['peak_mb'] for v, *_ in APP_VIEWS for r in e[v]):,.0f} MiB",
        )
    )
    for label in ("map: summits", "map: partnerships", "map: flows"):
        rows.append(row(f"(d) deck bytes, {label}", lambda e, v=label: _kb(med(e[v], "deck_bytes"))))
    rows.append(
        row(
            "rows never read into memory (Dataset.loaded is None)",
            lambda e: (
                "yes"
                if all(r["lazy"] for v, *_ in APP_VIEWS for r in e[v])
                else "no (frame-backed: under the cache threshold)"
            ),
        )
    )
    text = _table(header, rows)
    text += (
        f"\n\nMedian of {samples} fresh processes per figure; each rerun figure is the median of the "
        f"{len(FILTER_STEPS)} category filter changes in a process (its max in brackets). The Parquet "
        "cache is built before the timed runs (a first check of the same file). Peak RSS is the "
        "process's maximum resident set (AppTest runs the app in the measuring process)."
    )
    return text, results


# ----- sections ---------------------------------------------------------------------------


def server_side(samples: int, steps: int) -> tuple[str, dict]:
    cache = tempfile.mkdtemp(prefix="summit-atlas-bench-")
    runs: dict[str, dict] = {}
    configs = [
        ("floor app", str(FLOOR), {}, None, ""),
        ("floor app, compact JSON", str(FLOOR), {}, None, "1"),
    ]
    configs += [(label, str(APP), params, page, "") for label, params, page in VIEWS]
    for label, app, params, page, compact in configs:
        firsts, reruns = [], []
        for _ in range(samples):
            r = _worker(
                ["apptest", app, json.dumps(params), page or "", str(steps)],
                SUMMIT_ATLAS_CACHE=cache,
                SUMMIT_ATLAS_FLOOR_COMPACT=compact,
            )
            firsts.append(r["first"])
            reruns.append(r["rerun"])
        runs[label] = {"first": statistics.median(firsts), "rerun": statistics.median(reruns)}
        print(f"  {label}: first {_ms(runs[label]['first'])}, rerun {_ms(runs[label]['rerun'])}", flush=True)
    floor = runs["floor app"]
    rows = []
    for label, r in runs.items():
        rows.append(
            [
                label,
                _ms(r["first"]),
                f"{r['first'] / floor['first']:.2f}×",
                _ms(r["rerun"]),
                f"{r['rerun'] / floor['rerun']:.2f}×",
            ]
        )
    text = _table(
        ["view", "first run (fresh process)", "÷ floor", "rerun after filter change", "÷ floor"], rows
    )
    text += (
        f"\n\nMedian of {samples} fresh processes; the rerun is the median of {steps} filter changes "
        "(multiselect `w_category`) in each. Targets: rerun ≤ 1.3× floor, first run ≤ 1.5× floor. "
        "The floor app uses pydeck as it comes (indented JSON); the compact floor sends the same "
        "deck as compact JSON, like the dashboard, and is the stricter comparison."
    )
    return text, runs


def payload() -> tuple[str, dict]:
    from dashboard.dataset import load_dataset
    from dashboard.layers import build_deck

    dataset = load_dataset()
    rows, out = [], {}
    for view, members in (("summits", ""), ("partnerships", ""), ("partnerships", "ASEAN"), ("flows", "")):
        t = time.perf_counter()
        deck, _ = build_deck(view, dataset.events, dataset.reference, members=members)
        raw = deck.to_json().encode()
        took = time.perf_counter() - t
        packed = len(zlib.compress(raw))
        label = view + (f" ({members} members)" if members else "")
        out[label] = {"raw": len(raw), "zlib": packed, "build": took}
        rows.append([label, _kb(len(raw)), _kb(packed), _ms(took)])
    text = _table(["map view (shipped events.csv)", "deck JSON", "zlib", "build + serialise"], rows)
    text += "\n\nTargets: the world view ≤ 700 KB raw and ≤ 250 KB zlib (1 KB = 1,000 bytes)."
    return text, out


def scale(sizes: list[int], app_sizes: list[int], samples: int) -> tuple[str, dict]:
    from benchmarks.synth import events_csv

    results: dict[int, dict] = {}
    for n in sizes:
        t = time.perf_counter()
        path = events_csv(n)
        made = time.perf_counter() - t
        # Cold: a fresh cache folder each time, so the CSV is really checked (and the Parquet
        # file written there). Warm: read back that Parquet file in another fresh process.
        with tempfile.TemporaryDirectory(prefix="summit-atlas-bench-") as cold_dir:
            cold = _worker(["scale", str(n), "cold", cold_dir])
            warm = _worker(["scale", str(n), "warm", cold_dir])
            entry = {"cold": cold, "warm": warm, "generate": made, "csv_mb": path.stat().st_size / 1e6}
            if n in app_sizes:
                # Every page, not only the map: a page whose cost grows with the table shows here.
                for label, page in SCALE_PAGES:
                    firsts, reruns = [], []
                    for _ in range(samples):
                        r = _worker(
                            ["apptest", str(APP), "{}", page, str(len(FILTER_STEPS))],
                            SUMMIT_ATLAS_EVENTS=str(path),
                            SUMMIT_ATLAS_CACHE=cold_dir,
                        )
                        firsts.append(r["first"])
                        reruns.append(r["rerun"])
                        entry["app_peak_mb"] = max(entry.get("app_peak_mb", 0), r["peak_mb"])
                    entry[f"app_first_{label}"] = statistics.median(firsts)
                    entry[f"app_rerun_{label}"] = statistics.median(reruns)
        results[n] = entry
        print(f"  {n:,} rows: cold {_ms(cold['load'])}, cached {_ms(warm['load'])}", flush=True)
    header = ["events"] + [f"{n:,}" for n in sizes]

    def row(label, fn):
        return [label] + [fn(results[n]) for n in sizes]

    def opt(key, fmt):
        return lambda e: fmt(e[key]) if key in e else "–"

    rows = [
        row("CSV size", lambda e: f"{e['csv_mb']:,.0f} MB"),
        row("rows loaded (problems)", lambda e: f"{e['warm']['rows']:,} ({e['warm']['problems']:,})"),
        row("check + enrich CSV, first time", lambda e: _ms(e["cold"]["load"])),
        row("  peak memory", lambda e: f"{e['cold']['peak_mb']:,.0f} MiB"),
        row("load from Parquet cache", lambda e: _ms(e["warm"]["load"])),
        row("  peak memory (incl. decks)", lambda e: f"{e['warm']['peak_mb']:,.0f} MiB"),
        row("filter (3 kinds, 2000-2019)", lambda e: _ms(e["warm"]["filter"])),
        row("  rows after filter", lambda e: f"{e['warm']['filtered']:,}"),
    ]
    for view in ("summits", "partnerships", "flows"):
        rows.append(row(f"deck {view}: build", lambda e, v=view: _ms(e["warm"][f"deck_{v}_s"])))
        rows.append(
            row(
                f"deck {view}: bytes (zlib)",
                lambda e, v=view: f"{_kb(e['warm'][f'deck_{v}_bytes'])} ({_kb(e['warm'][f'deck_{v}_zlib'])})",
            )
        )
    rows.append(row("download CSV, all rows (registry writer)", lambda e: _ms(e["warm"]["csv_s"])))
    rows.append(row("  pandas to_csv of the same rows (baseline)", lambda e: _ms(e["warm"]["pandas_csv_s"])))
    rows.append(
        row("  ÷ baseline (target ≤ 3×)", lambda e: f"{e['warm']['csv_s'] / e['warm']['pandas_csv_s']:.2f}×")
    )
    for label, _page in SCALE_PAGES:
        rows.append(row(f"app first run, {label}", opt(f"app_first_{label}", _ms)))
        rows.append(row(f"app rerun after filter change, {label}", opt(f"app_rerun_{label}", _ms)))
    rows.append(row("app peak memory", opt("app_peak_mb", lambda v: f"{v:,.0f} MiB")))
    text = _table(header, rows)
    if len(sizes) > 1:
        growth = []
        for a, b in itertools.pairwise(sizes):
            ea, eb = results[a], results[b]
            growth.append(
                [
                    f"{a:,} → {b:,} (×{b // a})",
                    f"×{eb['cold']['load'] / ea['cold']['load']:.1f}",
                    f"×{eb['warm']['load'] / ea['warm']['load']:.1f}",
                    f"×{eb['warm']['filter'] / max(ea['warm']['filter'], 1e-9):.1f}",
                    f"×{eb['warm']['deck_summits_s'] / ea['warm']['deck_summits_s']:.1f}",
                    f"×{eb['warm']['deck_summits_bytes'] / ea['warm']['deck_summits_bytes']:.2f}",
                    f"×{eb['warm']['peak_mb'] / ea['warm']['peak_mb']:.1f}",
                ]
            )
        text += "\n\nGrowth per step:\n\n" + _table(
            [
                "rows",
                "check CSV",
                "Parquet load",
                "filter",
                "summits deck build",
                "deck bytes",
                "peak memory",
            ],
            growth,
        )
    text += (
        "\n\nSynthetic tables: about 2,000 places (capitals, the gazetteer, points inside real "
        "country shapes), 1990-2019, Zipf weights so a few places hold most events "
        "(benchmarks/synth.py). Each column is measured in fresh processes; peak memory is the "
        "process's maximum RSS."
    )
    return text, results


def peer() -> tuple[str, dict]:
    import folium

    from dashboard.aggregate import place_table
    from dashboard.dataset import load_dataset
    from dashboard.layers import build_deck

    dataset = load_dataset()
    countries = json.loads((REPO / "geodata" / "countries.geojson").read_text(encoding="utf-8"))
    t = time.perf_counter()
    places = place_table(dataset.events)
    fmap = folium.Map(location=[18, 75], zoom_start=2, tiles=None)
    folium.GeoJson(countries, name="countries", tooltip=folium.GeoJsonTooltip(fields=["name"])).add_to(fmap)
    for r in places.itertuples():
        folium.CircleMarker(
            [r.lat, r.lon], radius=4 + 2.2 * r.count**0.5, tooltip=r.tooltip, fill=True
        ).add_to(fmap)
    html = fmap.get_root().render().encode()
    folium_s = time.perf_counter() - t
    t = time.perf_counter()
    deck, _ = build_deck("summits", dataset.events, dataset.reference)
    ours = deck.to_json().encode()
    ours_s = time.perf_counter() - t
    out = {
        "folium": {"raw": len(html), "zlib": len(zlib.compress(html)), "build": folium_s},
        "ours": {"raw": len(ours), "zlib": len(zlib.compress(ours)), "build": ours_s},
    }
    rows = [
        [
            "Summit Atlas (pydeck, CompactDeck)",
            _kb(len(ours)),
            _kb(out["ours"]["zlib"]),
            _ms(ours_s),
        ],
        [
            f"folium {folium.__version__} (Leaflet HTML)",
            _kb(len(html)),
            _kb(out["folium"]["zlib"]),
            _ms(folium_s),
        ],
    ]
    text = _table(["same world map + place markers", "page / deck bytes", "zlib", "build"], rows)
    text += (
        "\n\nBoth draw geodata/countries.geojson and one marker per place of the shipped events "
        "with its tooltip; folium's figure is its whole HTML page (its scripts load from a CDN on top)."
    )
    return text, out


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import pandas
    import pydeck
    import streamlit

    return (
        f"{os.cpu_count()} cores, {mem:.0f} GiB memory, Python {platform.python_version()}, "
        f"streamlit {streamlit.__version__}, pydeck {pydeck.__version__}, pandas {pandas.__version__}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, no 1M-row table")
    parser.add_argument("--samples", type=int, help="fresh processes per figure (default 5; quick 3)")
    parser.add_argument("--sizes", help="comma-separated row counts for the scale table")
    parser.add_argument("--only", help="comma-separated sections: server,payload,scale,peer,app")
    parser.add_argument("--cache", help="cache folder for the app section (default: a new temporary one)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, *rest = args.worker
        if kind == "apptest":
            result = worker_apptest(rest[0], rest[1], rest[2], int(rest[3]))
        elif kind == "reopen":
            result = worker_reopen(rest[0], rest[1])
        elif kind == "read_csv":
            result = worker_read_csv(rest[0])
        elif kind == "app":
            result = worker_app(rest[0], rest[1], rest[2], rest[3])
        else:
            result = worker_scale(int(rest[0]), rest[1], rest[2])
        print(json.dumps(result))
        return 0

    samples = args.samples or (3 if args.quick else 5)
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])
    )
    sections = set((args.only or "server,payload,scale,peer").split(","))
    started = time.perf_counter()
    parts = [f"# Summit Atlas benchmark\n\nMachine: {machine()}.\n"]
    data: dict = {}
    if "server" in sections:
        print("Server side (AppTest)…", flush=True)
        text, data["server"] = server_side(samples, 2 if args.quick else 3)
        parts.append("## 1. Server side: first run and rerun, against the floor app\n\n" + text)
    if "payload" in sections:
        print("Payload…", flush=True)
        text, data["payload"] = payload()
        parts.append("## 2. Payload: deck JSON per map view\n\n" + text)
    if "scale" in sections:
        print("Scale…", flush=True)
        app_sizes = [n for n in sizes if n <= 100_000] if args.quick else sizes
        text, data["scale"] = scale(sizes, app_sizes, 1 if args.quick else 3)
        parts.append("## 3. Scale: synthetic events tables\n\n" + text)
    if "peer" in sections:
        print("Peer (folium)…", flush=True)
        text, data["peer"] = peer()
        parts.append("## 4. Peer: folium\n\n" + text)
    if "app" in sections and args.only:  # long (a first check of each table): asked for by name
        print("App at scale…", flush=True)
        cache = args.cache or tempfile.mkdtemp(prefix="summit-atlas-bench-")
        text, data["app"] = app_at_scale(sizes, args.samples or 1, cache)
        parts.append("## 5. App at scale: issue #12's targets\n\n" + text)
    parts.append(
        f"Whole run: {time.perf_counter() - started:,.0f} s "
        f"(`python benchmarks/run.py{' --quick' if args.quick else ''}`)."
    )
    report = "\n\n".join(parts) + "\n"
    print()
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(report, encoding="utf-8")
    (RESULTS / "latest.json").write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
