"""Many concurrent sessions against one running server: errors, isolation and memory over time.

Not a test: it prints figures. It starts `streamlit run streamlit_app.py` on 127.0.0.1 (a free
port), then opens N websocket sessions that speak Streamlit's own protocol (the protobuf
`BackMsg` / `ForwardMsg` the browser sends and receives): no browser, so 20+ sessions fit on
2 cores and the figures are the server's. Each session reruns the app again and again for a
bounded time, every time with a different filter in the URL query string that no other session
uses, and checks that the caption it gets back describes its own filter with the right count
("Summit events from 2012 to 2019 involving Singapore. 3 of 94 events."): a session that saw
another session's state or rows would get another sentence or count. Any exception element or
error box counts as an error. Meanwhile the server's resident memory is sampled every second.

    python benchmarks/load_sessions.py [--sessions 20] [--seconds 60]

Traffic stays on 127.0.0.1. Exit status 1 if any session saw an error or a wrong caption.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import websockets  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from dashboard.dataset import load_dataset  # noqa: E402
from dashboard.filters import FilterState  # noqa: E402
from dashboard.formatting import escape_markdown  # noqa: E402
from dashboard.schema import CATEGORIES  # noqa: E402
from tests.e2e.conftest import Server  # noqa: E402


def filters_for(session: int, dataset) -> list[dict[str, str]]:
    """Query strings only this session uses: its own year range, crossed with a few filters."""
    vocab = dataset.vocabulary()
    # Never the full range: the sidebar treats a full-range slider as "all years, undated too".
    lo = vocab.year_min + 1 + (session * 7) % max((vocab.year_max - vocab.year_min) // 2, 1)
    hi = vocab.year_max - 1 - (session * 3) % 5
    years = f"{lo}-{max(lo, hi)}"
    countries = sorted(set(dataset.events["country_iso3"].dropna()) - {""})
    country = countries[session % len(countries)]
    category = CATEGORIES[session % len(CATEGORIES)]
    return [
        {"years": years, "q": f"session {session} finds nothing"},
        {"years": years, "country": country},
        {"years": years, "category": category},
        {"years": years, "country": country, "category": category},
    ]


def expected_caption(params: dict[str, str], dataset) -> str:
    state, notices = FilterState.from_query_params(params, dataset.vocabulary())
    assert not notices, notices
    rows = state.apply(dataset.events)
    sentence = state.describe(dataset.reference.country_names)
    return escape_markdown(f"{sentence} {len(rows)} of {len(dataset.events)} events.")


@dataclass
class Stats:
    runs: int = 0
    errors: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    bytes_in: int = 0
    connections: int = 0


async def _rerun(ws, index: int, params, page: str, stats: Stats) -> list[str]:
    """Ask for a script run with this query string; return the Markdown texts it drew."""
    back = BackMsg()
    back.rerun_script.query_string = urlencode(params)
    back.rerun_script.page_name = "" if page == "map" else page
    started = time.monotonic()
    await ws.send(back.SerializeToString())
    texts: list[str] = []
    while True:
        raw = await asyncio.wait_for(ws.recv(), timeout=120)
        stats.bytes_in += len(raw)
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        kind = msg.WhichOneof("type")
        if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            el = msg.delta.new_element
            which = el.WhichOneof("type")
            if which == "exception":
                stats.errors.append(f"session {index}: {el.exception.type}: {el.exception.message}")
            elif which == "alert" and el.alert.format == 1:  # ERROR
                stats.errors.append(f"session {index}: error box: {el.alert.body}")
            elif which == "markdown":
                texts.append(el.markdown.body)
        elif kind == "script_finished" and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            break
    stats.latencies.append(time.monotonic() - started)
    stats.runs += 1
    return texts


async def session(index: int, url: str, plans, deadline: float, stats: Stats, page: str) -> None:
    """One simulated user: open its own URL, look, rerun (a widget change), and again with its next URL.

    The filter state is read from the URL on a session's first run only (after that the sidebar
    owns it), so each new filter is a new connection, as when a shared link is opened.
    """
    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    step = 0
    while time.monotonic() < deadline:
        params, want = plans[step % len(plans)]
        step += 1
        async with websockets.connect(
            ws_url, subprotocols=["streamlit"], origin=url, max_size=None, open_timeout=60
        ) as ws:
            stats.connections += 1
            for attempt in ("first run", "rerun"):
                texts = await _rerun(ws, index, params, page, stats)
                if not any(want in t for t in texts):
                    got = [t for t in texts if " events." in t and "loaded" not in t][:1]
                    stats.wrong.append(f"session {index} {attempt} {params}: wanted {want!r}, got {got!r}")


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children, from /proc (KiB)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    # The map page: its caption states the filter and the count, and it is the heaviest to build.
    parser.add_argument("--page", choices=("map",), default="map")
    args = parser.parse_args()

    dataset = load_dataset()
    plans = [
        [(p, expected_caption(p, dataset)) for p in filters_for(i, dataset)] for i in range(args.sessions)
    ]
    distinct = {want for plan in plans for _, want in plan}
    print(
        f"{args.sessions} sessions, {args.seconds:.0f} s, {args.page} page; {len(distinct)} distinct captions"
    )

    server = Server()
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    t0 = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.monotonic() - t0, rss_kib(server.proc.pid)))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stats = Stats()
    try:
        idle = rss_kib(server.proc.pid)
        deadline = time.monotonic() + args.seconds

        async def run_all() -> None:
            results = await asyncio.gather(
                *(session(i, server.url, plans[i], deadline, stats, args.page) for i in range(args.sessions)),
                return_exceptions=True,
            )
            for i, r in enumerate(results):
                if isinstance(r, BaseException):
                    stats.errors.append(f"session {i}: {type(r).__name__}: {r}")

        wall = time.monotonic()
        asyncio.run(run_all())
        wall = time.monotonic() - wall
        time.sleep(2)
        after = rss_kib(server.proc.pid)
    finally:
        stop.set()
        sampler.join()
        server.stop()

    lat = sorted(stats.latencies) or [0.0]
    peak = max(r for _, r in samples) if samples else 0
    rows = [
        ("sessions", f"{args.sessions}"),
        ("duration (s)", f"{wall:.1f}"),
        ("sessions opened", f"{stats.connections}"),
        ("script runs", f"{stats.runs}"),
        ("runs per second", f"{stats.runs / wall:.2f}"),
        ("latency median (s)", f"{statistics.median(lat):.2f}"),
        ("latency p95 (s)", f"{lat[int(0.95 * (len(lat) - 1))]:.2f}"),
        ("latency max (s)", f"{lat[-1]:.2f}"),
        ("received (MB)", f"{stats.bytes_in / 1e6:.1f}"),
        ("server RSS idle (MB)", f"{idle / 1024:.0f}"),
        ("server RSS peak (MB)", f"{peak / 1024:.0f}"),
        ("server RSS after (MB)", f"{after / 1024:.0f}"),
        ("errors", f"{len(stats.errors)}"),
        ("wrong captions (isolation)", f"{len(stats.wrong)}"),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for key, value in rows:
        print(f"{key:<{width}}  {value:>10}")
    print("\nRSS over time (s: MB)")
    step = max(1, len(samples) // 12)
    print("  ".join(f"{t:.0f}: {r / 1024:.0f}" for t, r in samples[::step]))
    for line in (stats.errors + stats.wrong)[:10]:
        print("!", line)
    return 1 if stats.errors or stats.wrong else 0


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main())
