"""Import benchmark: `python -m dashboard import gdelt|acled` against `pandas.read_csv` of the same file.

    python benchmarks/imports.py                      # 1M-row GDELT file
    python benchmarks/imports.py --rows 10000000      # 10M rows (about 3.3 GB on disk)
    python benchmarks/imports.py --format acled --rows 1000000

Writes a synthetic file of N rows into a temporary folder (deleted afterwards unless `--keep`),
then runs, each in a fresh process and in the same run: the import (the CLI, exactly as a user
runs it) and the baseline, `pandas.read_csv` of the same file with every column as text (the
least a pandas-based converter would have to do before converting anything). For each it prints
the wall time and the peak resident memory (`ru_maxrss` of that child, from `os.wait4`).

The synthetic GDELT rows are realistic where it matters for speed: 61 tab-separated columns of
about 320 bytes a line, points at about 2,000 places inside real country shapes
(`benchmarks/synth.synth_places`), actor country codes drawn from the reference plus regional
CAMEO codes and blanks, and a CAMEO code mix in which about 41% of rows fall under the crosswalk.
The synthetic ACLED rows have ACLED's 31 columns, a notes field of 150-400 characters with
commas and quotes, and about 20% 'Strategic developments: Agreement' rows. Neither is real data.

This is not a test: figures depend on the machine. tests/test_importers.py runs the generators
at toy size.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

# Only the standard library at the top: the children measured are forked from this process, and
# Linux counts a child's memory before `exec` in its peak, so this process must stay small.

BLOCK_ROWS = 250_000
SEED = 20190425
#: CAMEO codes and their weights in the synthetic mix (covered: 036, 04x, 057, 06x).
CAMEO_MIX = {
    "010": 20, "020": 5, "036": 4, "040": 6, "042": 8, "043": 6, "044": 2, "046": 3,
    "051": 6, "057": 2, "061": 2, "062": 1, "0311": 2, "112": 8, "141": 5, "190": 3,
}  # fmt: skip
REGIONAL = ("AFR", "ASA", "EUR", "MEA", "WST", "")
#: ACLED's export columns, in its order (see /work/shared/STACK-NOTES.md).
ACLED_HEADER = [
    *("event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type"),
    *("sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2"),
    *("interaction", "civilian_targeting", "iso", "region", "country", "admin1", "admin2", "admin3"),
    *("location", "latitude", "longitude", "geo_precision", "source", "source_scale", "notes"),
    *("fatalities", "tags", "timestamp"),
]
ACLED_TYPES = (
    ("Strategic developments", "Agreement", 20),
    ("Battles", "Armed clash", 25),
    ("Protests", "Peaceful protest", 35),
    ("Riots", "Mob violence", 10),
    ("Violence against civilians", "Attack", 10),
)
WORDS = ("the", "delegation", "signed", "talks", "ministers", "agreed", "on", "a", "joint", "statement")


def _strings(values):
    import numpy as np
    import pyarrow as pa

    return pa.array(np.asarray(values).astype(str))


def write_gdelt(path: Path, rows: int, seed: int = SEED) -> None:
    """A synthetic GDELT 2.0 events file of `rows` lines (see the module docstring)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from benchmarks.synth import synth_places
    from dashboard.geo import load_reference
    from dashboard.importers import gdelt as gdelt_format

    rng = np.random.default_rng(seed)
    reference = load_reference()
    places = synth_places(reference)
    codes = np.array(sorted(reference.iso3_codes) + list(REGIONAL))
    cameo = np.array(list(CAMEO_MIX))
    weights = np.array(list(CAMEO_MIX.values()), dtype=float)
    weights /= weights.sum()
    options = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    with path.open("wb") as fh:
        for start in range(0, rows, BLOCK_ROWS):
            n = min(BLOCK_ROWS, rows - start)
            ids = np.arange(start, start + n) + 1_000_000_000
            year, month, day = rng.integers(2015, 2025, n), rng.integers(1, 13, n), rng.integers(1, 29, n)
            sqldate = year * 10000 + month * 100 + day
            at = rng.integers(len(places), size=n)
            a1, a2 = codes[rng.integers(len(codes), size=n)], codes[rng.integers(len(codes), size=n)]
            event = rng.choice(cameo, size=n, p=weights)
            empty = pa.array(np.full(n, ""))
            cols = {c: empty for c in gdelt_format.COLUMNS}
            cols.update(
                GLOBALEVENTID=_strings(ids),
                SQLDATE=_strings(sqldate),
                MonthYear=_strings(year * 100 + month),
                Year=_strings(year),
                FractionDate=_strings(np.round(year + month / 12, 4)),
                Actor1Code=_strings(a1),
                Actor1Name=_strings(np.char.add(a1, " ACTOR")),
                Actor1CountryCode=_strings(a1),
                Actor2Code=_strings(a2),
                Actor2Name=_strings(np.char.add(a2, " ACTOR")),
                Actor2CountryCode=_strings(a2),
                IsRootEvent=_strings(np.ones(n, int)),
                EventCode=_strings(event),
                EventBaseCode=_strings(np.array([e[:3] for e in event])),
                EventRootCode=_strings(np.array([e[:2] for e in event])),
                QuadClass=_strings(rng.integers(1, 5, n)),
                GoldsteinScale=_strings(np.round(rng.uniform(-10, 10, n), 1)),
                NumMentions=_strings(rng.integers(1, 50, n)),
                NumSources=_strings(rng.integers(1, 5, n)),
                NumArticles=_strings(rng.integers(1, 50, n)),
                AvgTone=_strings(np.round(rng.uniform(-8, 8, n), 4)),
                DATEADDED=_strings(sqldate * 1_000_000),
                SOURCEURL=_strings(
                    np.char.add("https://news.example.org/2019/04/world/story-", ids.astype(str))
                ),
            )
            # Real rows place both actors and the action; here all three at the event's place.
            for geo in ("Actor1Geo", "Actor2Geo", "ActionGeo"):
                cols.update(
                    {
                        f"{geo}_Type": _strings(np.full(n, 4)),
                        f"{geo}_FullName": _strings(places["place"].to_numpy()[at]),
                        f"{geo}_CountryCode": _strings(np.full(n, "XX")),
                        f"{geo}_ADM1Code": _strings(np.full(n, "XX00")),
                        f"{geo}_Lat": _strings(places["lat"].to_numpy()[at]),
                        f"{geo}_Long": _strings(places["lon"].to_numpy()[at]),
                        f"{geo}_FeatureID": _strings(-at - 1_000_000),
                    }
                )
            for actor, codes_ in (("Actor1", a1), ("Actor2", a2)):
                cols[f"{actor}Type1Code"] = _strings(np.where(codes_ == "", "", "GOV"))
            table = pa.table(list(cols.values()), names=list(gdelt_format.COLUMNS))
            pacsv.write_csv(table, fh, options)


def write_acled(path: Path, rows: int, seed: int = SEED) -> None:
    """A synthetic ACLED export of `rows` records (see the module docstring)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from benchmarks.synth import synth_places
    from dashboard.geo import load_reference
    from dashboard.importers.common import iso_numeric

    rng = np.random.default_rng(seed)
    reference = load_reference()
    places = synth_places(reference)
    numeric = {v: k for k, v in iso_numeric().items()}
    kinds = np.array([f"{t}|{s}" for t, s, _ in ACLED_TYPES])
    weights = np.array([w for *_, w in ACLED_TYPES], dtype=float)
    weights /= weights.sum()
    names = reference.country_names
    header = ACLED_HEADER
    words = np.array(WORDS)
    with path.open("wb") as fh:
        for start in range(0, rows, BLOCK_ROWS):
            n = min(BLOCK_ROWS, rows - start)
            at = rng.integers(len(places), size=n)
            iso3 = places["country_iso3"].to_numpy()[at]
            kind = rng.choice(kinds, size=n, p=weights)
            year, month, day = rng.integers(2015, 2025, n), rng.integers(1, 13, n), rng.integers(1, 29, n)
            length = rng.integers(25, 60, n)
            notes = [
                f'On {y}-{m:02d}-{d:02d}, "{names.get(c, c)}": '
                + " ".join(words[rng.integers(len(words), size=k)])
                for y, m, d, c, k in zip(year, month, day, iso3, length, strict=True)
            ]
            cols = {h: pa.array(np.full(n, "")) for h in header}
            cols.update(
                event_id_cnty=_strings(
                    np.char.add(iso3.astype(str), (np.arange(start, start + n)).astype(str))
                ),
                event_date=_strings(
                    [f"{y}-{m:02d}-{d:02d}" for y, m, d in zip(year, month, day, strict=True)]
                ),
                year=_strings(year),
                time_precision=_strings(rng.choice(["1", "1", "1", "2", "3"], size=n)),
                event_type=_strings([k.split("|")[0] for k in kind]),
                sub_event_type=_strings([k.split("|")[1] for k in kind]),
                actor1=_strings([f"Government of {names.get(c, c)} (2000-)" for c in iso3]),
                actor2=_strings([f"Civilians ({names.get(c, c)})" for c in iso3]),
                iso=_strings([numeric.get(c, "0") for c in iso3]),
                country=_strings([names.get(c, c) for c in iso3]),
                location=_strings(places["place"].to_numpy()[at]),
                latitude=_strings(places["lat"].to_numpy()[at]),
                longitude=_strings(places["lon"].to_numpy()[at]),
                geo_precision=_strings(rng.choice(["1", "1", "2", "3"], size=n)),
                source=_strings(np.full(n, "Synthetic Wire; Example News")),
                notes=pa.array(notes),
                fatalities=_strings(np.zeros(n, int)),
            )
            table = pa.table(list(cols.values()), names=header)
            options = pacsv.WriteOptions(include_header=start == 0, quoting_style="needed")
            pacsv.write_csv(table, fh, options)


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return 4096.0


def measure(command: list[str], cap_mb: float) -> tuple[float, float, str, bool]:
    """Wall seconds and peak RSS (MiB) of one child process, its output, and whether it was
    stopped for going over `cap_mb` (a baseline must not take the memory other work needs: the
    kernel's OOM killer would pick some other process)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        child = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, text=True)
        capped = False
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if not capped and _rss_mb(child.pid) > cap_mb:
                capped = True
                child.kill()
            time.sleep(0.2)
        seconds = time.perf_counter() - start
        log.seek(0)
        output = log.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0 and not capped:
        raise RuntimeError(f"{command} failed ({code}):\n{output[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, output, capped


BASELINE = {
    "gdelt": "import csv, pandas as pd; f = pd.read_csv({path!r}, sep='\\t', header=None, dtype=str, "
    "keep_default_na=False, quoting=csv.QUOTE_NONE); print(len(f), 'rows')",
    "acled": "import pandas as pd; f = pd.read_csv({path!r}, dtype=str, keep_default_na=False); "
    "print(len(f), 'rows')",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("gdelt", "acled"), default="gdelt")
    parser.add_argument("--dir", help="folder for the synthetic file and output (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic file and output")
    parser.add_argument("--skip-baseline", action="store_true", help="do not run pandas.read_csv")
    parser.add_argument(
        "--cap-mb",
        type=float,
        help="stop a step whose memory passes this (default: half the memory available at the start)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each step (median time)")
    parser.add_argument("--generate", help=argparse.SUPPRESS)  # child: write the synthetic file only
    args = parser.parse_args(argv)
    if args.generate:
        (write_gdelt if args.format == "gdelt" else write_acled)(Path(args.generate), args.rows)
        return 0

    work = Path(args.dir or tempfile.mkdtemp(prefix="summit-imports-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        suffix = ".export.CSV" if args.format == "gdelt" else ".csv"
        source = work / f"synthetic-{args.format}-{args.rows}{suffix}"
        if not source.exists():
            t = time.perf_counter()
            generate = [sys.executable, __file__, "--generate", str(source), "--rows", str(args.rows)]
            subprocess.run([*generate, "--format", args.format], check=True, cwd=REPO)
            took = time.perf_counter() - t
            print(f"generated {source.name}: {source.stat().st_size / 1e6:,.0f} MB in {took:.0f} s")
        size_mb = source.stat().st_size / 1e6
        out = work / "out"
        results = []
        cap = args.cap_mb or _available_mb() / 2
        steps = [
            (
                "import",
                [sys.executable, "-m", "dashboard", "import", args.format, str(source), "-o", str(out)],
            )
        ]
        if not args.skip_baseline:
            code = BASELINE[args.format].format(path=str(source))
            steps.append(("baseline", [sys.executable, "-c", code]))
        runs: dict[str, list] = {name: [] for name, _ in steps}
        loads = []
        for _ in range(args.repeat):  # interleaved, so both see the same machine
            for name, command in steps:
                loads.append(os.getloadavg()[0])
                runs[name].append(measure(command, cap))
        for name, measured in runs.items():
            seconds = statistics.median(m[0] for m in measured)
            peak = max(m[1] for m in measured)
            output, capped = measured[-1][2], any(m[3] for m in measured)
            if name == "import":
                line = next((x for x in output.splitlines() if " read, " in x), "").split(": ", 1)[-1]
                rows = line.split(" (SHA")[0]
                label = f"`python -m dashboard import {args.format}`"
            else:
                rows, label = output.strip(), "baseline: `pandas.read_csv`, all columns as text"
            if capped:
                rows = f"stopped over the {cap:,.0f} MiB cap"
            spread = (
                f" ({min(m[0] for m in measured):,.1f}-{max(m[0] for m in measured):,.1f})"
                if len(measured) > 1
                else ""
            )
            results.append((label, seconds, peak, rows, spread))
        events = out / "events.csv"
        events_mb = events.stat().st_size / 1e6 if events.exists() else 0.0
        print()
        print(
            f"{args.format.upper()} synthetic file: {args.rows:,} rows, {size_mb:,.0f} MB; events.csv "
            f"written: {events_mb:,.0f} MB. Machine: {os.cpu_count()} cores, "
            f"Python {platform.python_version()}; load average {min(loads):.1f}-{max(loads):.1f} "
            f"(other work on the machine); {args.repeat} run(s) each, median time (range), highest peak."
        )
        print("| step | time | peak memory | rows |")
        print("| --- | --- | --- | --- |")
        for label, secs, mib, rows, spread in results:
            print(f"| {label} | {secs:,.1f} s{spread} | {mib:,.0f} MiB | {rows} |")
        if len(results) == 2 and not any("stopped" in r[3] for r in results):
            (_, t1, m1, *_), (_, t0, m0, *_) = results
            print(f"\nimport / baseline: time {t1 / t0:.2f}x, peak memory {m1 / m0:.2f}x")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
