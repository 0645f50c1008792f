"""The query side at scale: what a rerun after a filter change costs when the events live in a
Parquet file and every page asks the engine (`dashboard.engine`), at 10k to 10M rows.

    python benchmarks/engine.py                       # 10k, 100k, 1M
    python benchmarks/engine.py --sizes 10000,10000000

For each size, in a fresh process: open the engine on a checked, enriched Parquet table, then
for each of FILTER_STEPS (the categories multiselect, as `run.py` steps it) time what each page
does on a rerun: select the rows (the filters' SQL), then
- map (summits, partnerships, flows): the aggregates, the deck, its JSON;
- timeline: the year counts, the opening window, the chart specs, the counts under them, and
  (apart) the stated-figures table (at most the page's MAX_FIGURES rows, and their count);
- data: the count and one page of 1,000 rows, formatted as the page shows them.
Median over the steps; the deck's bytes for the unfiltered table; the process's peak memory.

The tables: up to 100k rows, the synthetic CSV (`synth.py`) checked and enriched by today's
loader; beyond, that 100k-row table repeated with fresh event ids, written to Parquet in row
groups (never all in memory). Cached in results/cache/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from benchmarks.run import FILTER_STEPS, _env, _table, machine, peak_mb, worker_process  # noqa: E402
from benchmarks.synth import CACHE, events_csv  # noqa: E402

BASE_ROWS = 100_000
VIEWS = ("summits", "partnerships", "flows")


def enriched_parquet(n: int) -> Path:
    """A checked, enriched table of about `n` rows as Parquet, in the dataset's order (by date,
    undated last, then id), as the app's cache keeps a table."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = CACHE / f"enriched-{n}.parquet"
    if path.exists():
        return path
    from dashboard.dataset import build_dataset, load_reference_and_sources

    reference, sources, problems = load_reference_and_sources()
    base = min(n, BASE_ROWS)
    dataset = build_dataset(events_csv(base), reference, sources, problems, cache_dir=CACHE / "checked")
    frame = dataset.events.copy()
    frame.attrs = {}
    table = pa.Table.from_pandas(frame, preserve_index=False)
    copies = max(1, round(n / len(frame)))
    id_index = table.schema.get_field_index("event_id")
    id_type = table.schema.field("event_id").type
    # Copies of each slice of the (sorted) base table, sorted together: copy k of event x is
    # "x-k", which sorts between x and the next id, so the whole file is in order.
    step = max(1, BASE_ROWS // copies)
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, table.schema) as writer:
        for start in range(0, len(frame), step):
            part = table.slice(start, step)
            ids = part.column("event_id").to_pylist()
            block = pa.concat_tables(
                [part]
                + [
                    part.set_column(id_index, "event_id", pa.array([f"{i}-{k}" for i in ids], id_type))
                    for k in range(1, copies)
                ]
            )
            dates = block.column("date_start").combine_chunks()
            undated = pc.fill_null(pc.equal(dates, ""), True)
            when = pc.if_else(undated, pa.scalar("~", dates.type), dates)
            keys = pa.table({"when": when, "id": block.column("event_id").combine_chunks()})
            order = pc.sort_indices(keys, sort_keys=[("when", "ascending"), ("id", "ascending")])
            writer.write_table(block.take(order), row_group_size=BASE_ROWS)
    tmp.replace(path)
    return path


def worker(n: int) -> dict:
    """Every page's rerun work over an n-row Parquet table, in this fresh process."""
    from dashboard.charts import MAX_FIGURES, STATED_FIGURES, figures_table, timeline_chart, timeline_span
    from dashboard.engine import Engine
    from dashboard.filters import FilterState
    from dashboard.formatting import format_value
    from dashboard.geo import load_reference
    from dashboard.layers import build_deck_and_overlay

    path = enriched_parquet(n)
    reference = load_reference()
    base_mb = peak_mb()
    t = time.perf_counter()
    engine = Engine.from_parquet(path)
    total = engine.total
    out: dict = {"n": n, "rows": total, "open": time.perf_counter() - t, "file_mb": path.stat().st_size / 1e6}

    for view in VIEWS:
        times = []
        for categories in FILTER_STEPS:
            t = time.perf_counter()
            sel = FilterState(view=view, categories=tuple(categories)).selection(engine)
            sel.count()
            deck, _ = build_deck_and_overlay(view, sel, reference)
            text = deck.to_json()
            times.append(time.perf_counter() - t)
            if not categories:
                out[f"{view}_bytes"] = len(text.encode())
        out[f"{view}_s"] = statistics.median(times)
        out[f"{view}_max_s"] = max(times)
    times, figure_times = [], []
    for categories in FILTER_STEPS:
        t = time.perf_counter()
        sel = FilterState(categories=tuple(categories)).selection(engine)
        sel.count()
        span = timeline_span(sel, None)
        if span is not None:
            timeline_chart(sel, (span.lo, span.hi)).to_dict()
        sel.narrowed("year_start IS NULL").count()
        sel.narrowed("coalesce(date_inferred, false)").count()
        times.append(time.perf_counter() - t)
        t = time.perf_counter()
        out["figure_rows"] = len(figures_table(sel, reference.country_names, limit=MAX_FIGURES))
        out["figures_stated"] = sel.narrowed(STATED_FIGURES).count()
        figure_times.append(time.perf_counter() - t)
    out["timeline_s"] = statistics.median(times)
    out["figures_s"] = statistics.median(figure_times)
    times = []
    for categories in FILTER_STEPS:
        t = time.perf_counter()
        sel = FilterState(categories=tuple(categories)).selection(engine)
        count = sel.count()
        page = sel.rows(limit=1000, offset=max(0, count // 2000) * 1000)
        [format_value(v, u) for v, u in zip(page["value"], page["unit"], strict=True)]
        times.append(time.perf_counter() - t)
    out["data_s"] = statistics.median(times)
    out["peak_mb"] = peak_mb()
    out["base_mb"] = base_mb
    return out


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return 0
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        print(f"  {n:,} rows: building the table…", flush=True)
        subprocess.run(
            [sys.executable, "-c", f"from benchmarks.engine import enriched_parquet; enriched_parquet({n})"],
            env=_env(),
            cwd=REPO,
            check=True,
        )
        r = worker_process(__file__, [str(n)], timeout=3600)
        print(f"  {n:,} rows: {r}", flush=True)
        rows.append(
            [
                f"{r['rows']:,}",
                f"{r['file_mb']:,.0f} MB",
                _ms(r["open"]),
                _ms(r["summits_s"]),
                _ms(r["partnerships_s"]),
                _ms(r["flows_s"]),
                _ms(r["timeline_s"]),
                _ms(r["data_s"]),
                f"{_ms(r['figures_s'])} ({r['figure_rows']:,} of {r['figures_stated']:,})",
                " / ".join(f"{r[f'{v}_bytes'] / 1000:,.0f}" for v in VIEWS),
                f"{r['peak_mb']:,.0f} MB",
            ]
        )
    header = ["rows", "Parquet", "open", "summits", "partnerships", "flows", "timeline", "data page"]
    header += ["stated figures", "deck KB (s/p/f)", "peak RSS"]
    print(f"\nMachine: {machine()}; load average {os.getloadavg()[0]:.1f} at the end.\n")
    print(_table(header, rows))
    print(
        "\nRerun after a filter change, median of the categories steps (run.py's FILTER_STEPS): "
        "the filters' SQL, the page's aggregates from the engine, and for the map the deck and its JSON."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
