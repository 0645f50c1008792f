"""The events check at scale against `pandas.read_csv` of the same file, in one run.

    python benchmarks/check.py                      # 1M rows
    python benchmarks/check.py --rows 1000000,10000000
    python benchmarks/check.py --readers            # also the candidate CSV readers (engine choice)

Each figure comes from a fresh process (imports and the reference data loaded before the clock
starts; peak memory is the process's ru_maxrss, imports included):

- baseline: `pandas.read_csv(path, dtype=str, keep_default_na=False)`, the file as text;
- check only: `data.load_events` into a sink that counts the valid rows and drops them: the
  byte scan, the batches read and every check, problems with their lines;
- first check: `dataset.build_dataset` with an empty cache folder: the check, and each batch
  enriched (spatial join, search text) and written to the Parquet cache, with its sidecar;
- reopen: `build_dataset` again in a new process: the cache entry verified and opened;
- reopen + rows: the same, then `Dataset.events` read into memory (no page or export asks
  for it any more; kept to show what holding the rows would cost).

Tables come from `benchmarks/synth.py` (results/cache/, git-ignored; 10M rows is about 2 GB).
Not a test: the figures depend on the machine. The results go to stdout and results/check.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from benchmarks.run import peak_mb, worker_process  # noqa: E402

#: What each worker measures, in the order the table shows them.
PHASES = ("baseline", "check only", "first check", "reopen", "reopen + rows")
READERS = ("pyarrow.csv", "duckdb read_csv", "polars read_csv", "csv.reader")


def worker(phase: str, path: str, cache: str) -> dict:
    """One measurement in this (fresh) process."""
    if phase in READERS:
        return _reader(phase, path)
    if phase == "baseline":
        import pandas as pd

        start = time.perf_counter()
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        return {"seconds": time.perf_counter() - start, "rows": len(frame), "peak_mb": peak_mb()}
    from dashboard import data, dataset

    reference, sources, problems = dataset.load_reference_and_sources()
    if phase == "check only":

        class Counting(data.Sink):
            def add(self, frame) -> None:
                pass

        articles = frozenset(int(a) for a in sources["article"])
        start = time.perf_counter()
        result = data.load_events(Path(path), reference, articles, sink=Counting())
        return {
            "seconds": time.perf_counter() - start,
            "rows": result.rows_loaded,
            "rows_read": result.rows_read,
            "problems": len(result.problems),
            "peak_mb": peak_mb(),
        }
    steps: list[float] = []
    start = time.perf_counter()
    built = dataset.build_dataset(
        Path(path), reference, sources, problems, cache_dir=cache, progress=lambda f, t: steps.append(f)
    )
    if phase == "reopen + rows":
        assert len(built.events) == built.result.rows_loaded
    seconds = time.perf_counter() - start
    expect_cached = phase != "first check"
    if built.from_cache != expect_cached or built.notices:
        raise RuntimeError(f"{phase}: from_cache={built.from_cache}, notices={built.notices}")
    return {
        "seconds": seconds,
        "rows": built.result.rows_loaded,
        "rows_read": built.result.rows_read,
        "problems": len(built.result.problems),
        "progress_steps": len(steps),
        "peak_mb": peak_mb(),
    }


def _reader(name: str, path: str) -> dict:
    start = time.perf_counter()
    if name == "pyarrow.csv":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        with open(path, encoding="utf-8") as handle:
            width = handle.readline().count(",") + 1  # the synthetic header has no quoted comma
        names = [f"f{i}" for i in range(width)]
        rows = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        ).num_rows
    elif name == "duckdb read_csv":
        import duckdb

        rows = duckdb.sql(f"SELECT * FROM read_csv('{path}', all_varchar = true)").to_arrow_table().num_rows
    elif name == "polars read_csv":
        import polars as pl

        rows = pl.read_csv(path, infer_schema=False).height
    else:
        import csv

        with open(path, encoding="utf-8", newline="") as handle:
            rows = sum(1 for _ in csv.reader(handle)) - 1
    return {"seconds": time.perf_counter() - start, "rows": rows, "peak_mb": peak_mb()}


def _run(phase: str, path: Path, cache: Path) -> dict:
    return worker_process(__file__, [phase, str(path), str(cache)], timeout=3600)


def measure(rows: int, readers: bool) -> list[list[str]]:
    from benchmarks import synth

    path = synth.events_csv(rows)
    mb = path.stat().st_size / 1e6
    cache = Path(tempfile.mkdtemp(prefix="engine-bench-"))
    try:
        figures = {phase: _run(phase, path, cache) for phase in PHASES}
        if readers:
            figures |= {name: _run(name, path, cache) for name in READERS}
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    base = figures["baseline"]["seconds"]
    table = []
    for phase, got in figures.items():
        note = ""
        if phase in ("check only", "first check"):
            note = f"{got['rows']:,} of {got['rows_read']:,} rows loaded, {got['problems']:,} problems"
        table.append(
            [
                f"{rows:,} ({mb:,.0f} MB)",
                phase,
                f"{got['seconds']:,.2f} s",
                f"{got['seconds'] / base:.2f}x",
                f"{got['peak_mb']:,.0f} MB",
                note,
            ]
        )
    return table


def machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1000000", help="comma-separated row counts")
    parser.add_argument("--readers", action="store_true", help="also time the candidate CSV readers")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return 0
    header = ["table", "what", "time", "vs baseline", "peak RSS", ""]
    rows = []
    for n in (int(r) for r in args.rows.split(",")):
        rows += measure(n, args.readers)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    text = f"Machine: {machine()}\n\n" + "\n".join(lines)
    print(text)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "check.md").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
