"""Painting cost in a real browser: each map mode beside the floor app; every page at scale.

    python benchmarks/paint.py            # 5 runs per figure (about 8 minutes on 2 cores)
    python benchmarks/paint.py --runs 3   # quicker
    python benchmarks/paint.py --events PATH [--cache DIR] [--pages data,timeline] --runs 3

Starts the dashboard and `benchmarks/floor_app.py` (a bare pydeck page of the same countries and
points) on free ports, and drives headless Chromium (Debian's, `/usr/bin/chromium`) through
Playwright at 1400x900. For each map mode, and for the floor beside it, in alternation:

- **first paint**: from navigation start until the deck's final picture first shows (the page
  is fresh: a new browser context each run);
- **repaint**: from a filter change (the search box: "Singapore", Enter) until the final
  picture after it first shows.

The signal: an init script wraps the WebGL draw calls (`drawArrays`, `drawElements` and their
instanced forms), counts them, and after each frame's draws hashes a small copy of the canvas.
The map has settled when no draw has come for QUIET_MS and Streamlit's script has finished; the
time taken is that of the first frame whose picture equals the settled one. Redraws of an
unchanged picture (Streamlit re-renders the chart when later elements of the page arrive) are
not counted: nobody waits for them. deck.gl's `onAfterRender` is not reachable from outside
Streamlit's component. Figures are medians; the ratio is mode ÷ floor. Not a test: the figures
depend on the machine (software WebGL here, SwiftShader, is slow at filling pixels).

**Scale mode** (`--events PATH`): the dashboard alone over a large table
(`SUMMIT_ATLAS_EVENTS=PATH`, its Parquet cache in `--cache DIR`, default a fresh temporary
folder; one untimed warm-up page opens or builds it), and every page: the three map modes,
Timeline, Data and Sources. For each, in a fresh browser context:

- **(a) settled**: from navigation start until the page has settled: Streamlit's script has
  finished (the last switch of `stApp`'s `data-test-script-state` to `notRunning`) and the
  page's main element is visible and has stopped changing for QUIET_MS;
- **(b) after a filter change**: from the category change (sidebar "Kinds of event": summit,
  as the server-side figures of `run.py` change it) until the same holds again.

The main element and its "last change" per page: the maps, the deck's final picture (the draw
hash above); Timeline, the Altair chart (`stVegaLiteChart`); Data and Sources, the data grid
(`stDataFrame`). For the pages other than maps the last change is the last DOM mutation under
`stMain` or 2D canvas draw in it (Vega and the data grid paint on canvases). Settled is the
later of script end and last change; both are printed, so server time and painting can be
told apart. The server's peak RSS (`VmHWM` of the streamlit process; and the largest `VmRSS`
of the timed pages) and the load average before and after are recorded; the table is written to
`benchmarks/results/paint-scale.md` (one section per table, replaced on a new run). The run
lists any file of `--cache` it changed: a folder shared with others should be passed as a copy
(at the time of writing the app rebuilds a signed large entry on every server start: README,
"Painting in a real browser").
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CHROMIUM = os.environ.get("SUMMIT_ATLAS_CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 1400, "height": 900}
MODES = ("summits", "partnerships", "flows")
QUERY = "Singapore"
#: A frame has settled when no WebGL draw came for this long (and the script is not running).
QUIET_MS = 3000
READY = "[data-testid=stApp][data-test-script-state=notRunning]"
CANVAS = f"{READY} [data-testid=stDeckGlJsonChart] canvas"
TARGET = 1.3

#: Counts WebGL draw calls, and after each frame's draws takes a small hash of the canvas, so
#: a run can tell when the final picture first appeared (later redraws of the same picture,
#: which Streamlit sometimes causes, do not count). Times are ms since navigation start.
DRAW_COUNTER = """
(() => {
  window.__draws = 0; window.__lastDraw = 0; window.__frames = [];
  let pending = null;
  const snapshot = () => {
    const canvas = pending; pending = null;
    const g = document.createElement('canvas'); g.width = 170; g.height = 160;
    const ctx = g.getContext('2d'); ctx.drawImage(canvas, 0, 0, 170, 160);
    const d = ctx.getImageData(0, 0, 170, 160).data;
    let h = 2166136261;
    for (let i = 0; i < d.length; i++) { h ^= d[i]; h = Math.imul(h, 16777619) >>> 0; }
    window.__frames.push([window.__lastDraw, h]);
  };
  const names = ['drawArrays', 'drawElements', 'drawArraysInstanced', 'drawElementsInstanced',
                 'drawRangeElements'];
  for (const proto of [window.WebGLRenderingContext, window.WebGL2RenderingContext]) {
    if (!proto) continue;
    for (const name of names) {
      const original = proto.prototype[name];
      if (!original) continue;
      proto.prototype[name] = function (...args) {
        window.__draws += 1; window.__lastDraw = performance.now();
        const result = original.apply(this, args);
        if (!pending && this.canvas instanceof HTMLCanvasElement) {
          pending = this.canvas; setTimeout(snapshot, 0);
        }
        return result;
      };
    }
  }
})();
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run SCRIPT` on a free port, in its own process group."""

    def __init__(self, script: Path, env: dict[str, str] | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(self.port)),
                *("--server.address", "127.0.0.1", "--server.headless", "true"),
                *("--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"{script.name} did not start")

    def peak_rss_mib(self, field: str = "VmHWM") -> float | None:
        """The server process's peak resident memory so far (`VmHWM`; `VmRSS`: now), in MiB."""
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return None
        kib = next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith(f"{field}:")), None
        )
        return None if kib is None else kib / 1024

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)


class RssSampler(threading.Thread):
    """The largest `VmRSS` of a server seen every half second: the timed pages' peak, which
    `VmHWM` cannot give apart from the warm-up's (a first check of a table peaks higher)."""

    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server, self.peak, self.halt = server, 0.0, threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.5):
            self.peak = max(self.peak, self.server.peak_rss_mib("VmRSS") or 0.0)


def _settle(page, since: float, timeout_s: float = 90) -> tuple[float, int]:
    """Wait until a draw came after `since` and none for QUIET_MS; return when the final
    picture first appeared after `since` (ms since navigation start), and the draws so far."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.wait_for_timeout(250)
        now, last, draws, idle = page.evaluate(
            f"""() => [performance.now(), window.__lastDraw, window.__draws,
                      !!document.querySelector({READY!r})]"""
        )
        if last > since and idle and now - last >= QUIET_MS:
            frames = [f for f in page.evaluate("() => window.__frames") if f[0] > since]
            final = frames[-1][1] if frames else None
            first_final = next((t for t, h in frames if h == final), last)
            return first_final, draws
    raise TimeoutError("the map did not settle")


def measure(browser, url: str) -> dict:
    """First paint of `url` in a fresh context, then the repaint after a search."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(DRAW_COUNTER)
    page = context.new_page()
    page.set_default_timeout(90_000)
    try:
        page.goto(url)
        page.wait_for_selector(CANVAS)
        first, draws = _settle(page, 0.0)
        box = page.get_by_role("textbox", name="Search text")
        box.fill(QUERY)
        start = page.evaluate("() => { window.__mark = performance.now(); return window.__mark; }")
        box.press("Enter")
        last, total = _settle(page, start)
        return {"first": first, "first_draws": draws, "repaint": last - start, "repaint_draws": total - draws}
    finally:
        context.close()


def run(runs: int) -> str:
    from playwright.sync_api import sync_playwright

    app, floor = Server(REPO / "streamlit_app.py"), Server(HERE / "floor_app.py")
    results: dict[tuple[str, str], list[dict]] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            # One warm-up each: the servers' caches and the browser's disk cache start warm.
            measure(browser, app.url)
            measure(browser, floor.url)
            for i in range(runs):
                for mode in MODES:
                    for who, server in (("app", app), ("floor", floor)):
                        figures = measure(browser, f"{server.url}/?view={mode}")
                        results.setdefault((who, mode), []).append(figures)
                        print(f"  run {i + 1} {who:5} {mode:12} {_line(figures)}", flush=True)
            browser.close()
    finally:
        app.stop()
        floor.stop()
    return report(results, runs)


def _line(f: dict) -> str:
    return (
        f"first paint {f['first']:,.0f} ms ({f['first_draws']} draws), "
        f"repaint {f['repaint']:,.0f} ms ({f['repaint_draws']} draws)"
    )


def _median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def report(results: dict, runs: int) -> str:
    header = ["map mode", "first paint", "floor", "÷ floor", "repaint after a search", "floor", "÷ floor"]
    header += ["WebGL draws (first / repaint)", "floor"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for mode in MODES:
        a, f = results[("app", mode)], results[("floor", mode)]
        fa, ff = _median(a, "first"), _median(f, "first")
        ra, rf = _median(a, "repaint"), _median(f, "repaint")
        lines.append(
            f"| {mode} | {fa:,.0f} ms | {ff:,.0f} ms | {fa / ff:.2f}× | {ra:,.0f} ms | {rf:,.0f} ms | "
            f"{ra / rf:.2f}× | {_median(a, 'first_draws'):.0f} / {_median(a, 'repaint_draws'):.0f} | "
            f"{_median(f, 'first_draws'):.0f} / {_median(f, 'repaint_draws'):.0f} |"
        )
    lines.append("")
    lines.append(
        f"Headless Chromium ({CHROMIUM}, software WebGL) at {VIEWPORT['width']}x{VIEWPORT['height']}; "
        f"median of {runs} fresh pages per figure, app and floor alternating in one run. First paint: "
        "navigation start until the deck's final picture first shows; repaint: the search box "
        f"(“{QUERY}”, Enter) until the final picture after it first shows. Draws: WebGL draw calls "
        f"until the map settled. Target: ≤ {TARGET}× the floor."
    )
    return "\n".join(lines)


# ----- scale mode: every page over a large table -----------------------------------------------

#: Every page, as (name, address after the server's root, the main element's selector).
DECK = "[data-testid=stDeckGlJsonChart] canvas"
GRID = "[data-testid=stDataFrame] canvas"
CHART = "[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg"
SCALE_PAGES: tuple[tuple[str, str, str], ...] = (
    ("summits", "/", DECK),
    ("partnerships", "/?view=partnerships", DECK),
    ("flows", "/?view=flows", DECK),
    ("timeline", "/timeline", CHART),
    ("data", "/data", GRID),
    ("sources", "/sources", GRID),
)
SIGNALS = {
    DECK: "the deck's final picture (WebGL draw hash)",
    CHART: "the Altair chart (`stVegaLiteChart`): last DOM change or canvas draw in the page body",
    GRID: "the data grid (`stDataFrame`): last DOM change or canvas draw in the page body",
}
#: The filter change of (b): one category in the sidebar's "Kinds of event" multiselect.
CATEGORY_LABEL = "Kinds of event"
CATEGORY = "summit"
RESULTS = HERE / "results" / "paint-scale.md"
#: A page that has not settled by then is reported as such (with a screenshot), not waited for.
SCALE_TIMEOUT_S = 240

#: What changed last in the page body, and when the script's state switched: DOM mutations
#: under `stMain`, and 2D canvas draws in it (Vega's charts and the data grid paint on canvases,
#: which no mutation shows). Times are ms since navigation start.
ACTIVITY = """
(() => {
  window.__change = 0; window.__states = [];
  const inMain = (node) => {
    const el = node && (node.nodeType === 1 ? node : node.parentElement);
    return !!(el && el.closest && el.closest('[data-testid=stMain]'));
  };
  new MutationObserver((records) => {
    const now = performance.now();
    for (const r of records) {
      if (r.type === 'attributes' && r.attributeName === 'data-test-script-state') {
        window.__states.push([now, r.target.getAttribute('data-test-script-state')]);
      } else if (inMain(r.target)) {
        window.__change = now;
      }
    }
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  const proto = window.CanvasRenderingContext2D && window.CanvasRenderingContext2D.prototype;
  if (!proto) return;
  for (const name of ['fillRect', 'clearRect', 'strokeRect', 'fill', 'stroke', 'fillText',
                      'strokeText', 'drawImage', 'putImageData']) {
    const original = proto[name];
    if (!original) continue;
    proto[name] = function (...args) {
      const c = this.canvas;
      if (c && c.isConnected) {
        if (c.__inMain === undefined) c.__inMain = inMain(c);
        if (c.__inMain) window.__change = performance.now();
      }
      return original.apply(this, args);
    };
  }
})();
"""


def _script_done(page, since: float) -> float | None:
    """When the script last finished after `since` (ms since navigation), if it has."""
    states = [(t, s) for t, s in page.evaluate("() => window.__states") if t > since]
    done = None
    for t, state in states:
        done = t if state == "notRunning" else None
    return done


def _settle_scale(page, since: float, selector: str, timeout_s: float) -> dict:
    """Wait until the script finished after `since`, `selector` is visible and nothing changed
    for QUIET_MS; return script end, the main element's last change, and settled (the later)."""
    deck = selector == DECK
    deadline = time.monotonic() + timeout_s
    seen = "nothing"
    while time.monotonic() < deadline:
        page.wait_for_timeout(250)
        now, change, draw, idle, shown = page.evaluate(
            f"""() => [performance.now(), window.__change, window.__lastDraw,
                      !!document.querySelector({READY!r}), !!document.querySelector({selector!r})]"""
        )
        done = _script_done(page, since) if idle else None
        last = draw if deck else change
        seen = f"at {now - since:,.0f} ms: script end {done}, shown {shown}, last change {last - since:,.0f}"
        if done is None or not shown or last <= since or now - max(last, done) < QUIET_MS:
            continue
        if deck:
            frames = [f for f in page.evaluate("() => window.__frames") if f[0] > since]
            final = frames[-1][1] if frames else None
            last = next((t for t, h in frames if h == final), last)
        return {"script": done - since, "shown": last - since, "settled": max(done, last) - since}
    raise TimeoutError(f"did not settle within {timeout_s:.0f} s ({seen})")


def _change_category(page) -> float:
    """Pick CATEGORY in the sidebar's multiselect; return the moment it was picked."""
    box = page.locator("[data-testid=stSidebar] [data-testid=stMultiSelect]").filter(has_text=CATEGORY_LABEL)
    field = box.locator("input")
    field.click()
    field.fill(CATEGORY)
    page.get_by_role("option", name=CATEGORY, exact=True).wait_for()
    start = page.evaluate("() => performance.now()")
    field.press("Enter")
    field.press("Escape")
    return start


def measure_page(browser, url: str, selector: str, timeout_s: float, shot: Path | None = None) -> dict:
    """(a) and (b) of one page in a fresh context; a page that never settles is screenshotted."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(DRAW_COUNTER)
    context.add_init_script(ACTIVITY)
    page = context.new_page()
    page.set_default_timeout(timeout_s * 1000)
    step = "first load"
    try:
        page.goto(url)
        first = _settle_scale(page, 0.0, selector, timeout_s)
        step = "filter change"
        start = _change_category(page)
        after = _settle_scale(page, start, selector, timeout_s)
        return {"a": first, "b": after}
    except Exception as exc:  # a page that errors or never settles is a finding, not a crash
        if shot is not None:
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        return {"error": f"{step}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}", "shot": shot}
    finally:
        context.close()


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Name → (size, mtime) of a folder's files: what a run must leave as it found it."""
    if not folder.is_dir():
        return {}
    return {f.name: (f.stat().st_size, f.stat().st_mtime_ns) for f in folder.iterdir() if f.is_file()}


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def run_scale(events: Path, cache: Path | None, pages: list[str], runs: int) -> str:
    """Every page over `events`: (a) and (b), medians of `runs` fresh contexts; the report."""
    from playwright.sync_api import sync_playwright

    chosen = [p for p in SCALE_PAGES if p[0] in pages]
    own_cache = cache is None
    folder = Path(tempfile.mkdtemp(prefix="paint-cache-")) if own_cache else cache
    before_files = _files(folder)
    load_before = _load()
    label = events.name
    results: dict[str, list[dict]] = {}
    t0 = time.monotonic()
    server = Server(
        REPO / "streamlit_app.py", env={"SUMMIT_ATLAS_EVENTS": str(events), "SUMMIT_ATLAS_CACHE": str(folder)}
    )
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            # Untimed warm-up: the server opens (or checks and caches) the table, once per process.
            warm = time.monotonic()
            measure_page(browser, server.url + "/", DECK, timeout_s=1200)
            warm_s = time.monotonic() - warm
            rss_warm = server.peak_rss_mib()
            print(f"  warm-up {warm_s:.1f} s, server peak RSS {rss_warm:,.0f} MiB", flush=True)
            sampler = RssSampler(server)
            sampler.start()
            for i in range(runs):
                for name, path, selector in chosen:
                    shot = HERE / "results" / f"paint-{Path(label).stem}-{name}-run{i + 1}.png"
                    figures = measure_page(browser, server.url + path, selector, SCALE_TIMEOUT_S, shot)
                    results.setdefault(name, []).append(figures)
                    print(f"  run {i + 1} {name:12} {_scale_line(figures)}", flush=True)
            browser.close()
        sampler.halt.set()
        rss = server.peak_rss_mib()
    finally:
        server.stop()
        if own_cache:
            shutil.rmtree(folder, ignore_errors=True)
    after_files = _files(folder) if not own_cache else before_files
    names = set(before_files) | set(after_files)
    changed = sorted(n for n in names if before_files.get(n) != after_files.get(n))
    meta = {
        "label": label,
        "events": events,
        "cache": "a fresh temporary folder (built by the warm-up)" if own_cache else str(folder),
        "runs": runs,
        "load": (load_before, _load()),
        "rss": (rss_warm, rss, sampler.peak),
        "warm": warm_s,
        "minutes": (time.monotonic() - t0) / 60,
        "cache_changed": changed,
    }
    return scale_report(results, chosen, meta)


def _scale_line(f: dict) -> str:
    if "error" in f:
        return f"ERROR {f['error']} (screenshot {f['shot']})"
    a, b = f["a"], f["b"]
    return (
        f"(a) settled {a['settled']:,.0f} ms (script {a['script']:,.0f}, shown {a['shown']:,.0f}); "
        f"(b) settled {b['settled']:,.0f} ms (script {b['script']:,.0f}, shown {b['shown']:,.0f})"
    )


def _ms(rows: list[dict], phase: str, key: str) -> str:
    values = [r[phase][key] for r in rows if "error" not in r]
    return f"{statistics.median(values):,.0f} ms" if values else "n/a"


def scale_report(results: dict[str, list[dict]], chosen, meta: dict) -> str:
    header = ["page", "(a) settled", "script end", "main element"]
    header += ["(b) settled", "script end", "main element", "failed runs", "main element and its signal"]
    lines = [f"## {meta['label']}", "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for name, _path, selector in chosen:
        rows = results.get(name, [])
        failed = sum("error" in r for r in rows)
        cells = [_ms(rows, phase, key) for phase in "ab" for key in ("settled", "script", "shown")]
        lines.append(f"| {name} | {' | '.join(cells)} | {failed} of {len(rows)} | {SIGNALS[selector]} |")
    errors = [(n, r) for n, rows in results.items() for r in rows if "error" in r]
    lines.append("")
    rss_warm, rss, timed = meta["rss"]
    lines += [
        f"- Table: `{meta['events']}`; cache: {meta['cache']}; medians of {meta['runs']} fresh browser "
        f"contexts per page, pages in turn; run took {meta['minutes']:.1f} min after server start "
        f"(untimed warm-up page {meta['warm']:.1f} s).",
        f"- Load average (1 / 5 / 15 min) before: {meta['load'][0]}; after: {meta['load'][1]} "
        f"({os.cpu_count()} cores).",
        f"- Server peak RSS (`VmHWM` of the streamlit process): {rss_warm:,.0f} MiB after the warm-up, "
        f"{rss:,.0f} MiB at the end; largest `VmRSS` during the timed pages (sampled every 0.5 s): "
        f"{timed:,.0f} MiB (budget 1.5 GB = 1,431 MiB).",
        "- (a): navigation start until settled; (b): the category change (“Kinds of event”: "
        f"{CATEGORY}) until settled again. Settled: the later of the script's end (`stApp` "
        "`data-test-script-state` → `notRunning`) and the main element's last change, with nothing "
        f"changing for {QUIET_MS / 1000:.0f} s after it (not counted). Headless Chromium "
        f"({CHROMIUM}, software WebGL) at {VIEWPORT['width']}x{VIEWPORT['height']}.",
    ]
    if meta["cache_changed"]:
        changed = ", ".join(meta["cache_changed"])
        lines.append(f"- **Files in the cache folder changed during the run**: {changed}.")
    elif "temporary" not in meta["cache"]:
        lines.append("- The cache folder's files were unchanged by the run (names, sizes, mtimes).")
    for name, r in errors:
        lines.append(f"- **{name}** failed: {r['error']} (screenshot `{r['shot']}`).")
    return "\n".join(lines)


def write_section(text: str, path: Path = RESULTS) -> None:
    """Put `text` (a section opening `## NAME`) into `path`, replacing that section if present."""
    head = "# Painting every page at scale (`python benchmarks/paint.py --events PATH`)\n"
    old = path.read_text(encoding="utf-8") if path.exists() else head
    name = text.splitlines()[0]
    sections = [s.rstrip("\n") for s in re.split(r"(?m)^(?=## )", old) if s.strip()]
    new = text.rstrip("\n")
    at = next((i for i, s in enumerate(sections) if s.splitlines()[0] == name), None)
    if at is None:
        sections.append(new)
    else:
        sections[at] = new  # in place: the tables keep their order
    body = "\n\n".join(sections) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh pages per figure (default 5)")
    parser.add_argument("--events", type=Path, help="scale mode: every page over this events table")
    parser.add_argument("--cache", type=Path, help="scale mode: Parquet cache (default: a temp dir)")
    names = [p[0] for p in SCALE_PAGES]
    parser.add_argument("--pages", default=",".join(names), help=f"scale mode: comma-separated, of {names}")
    parser.add_argument("--out", type=Path, default=RESULTS, help="scale mode: the Markdown file to update")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 1
    if args.events is None:
        print(run(args.runs))
        return 0
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    unknown = sorted(set(pages) - set(names))
    if unknown or not args.events.is_file():
        problem = f"unknown pages {unknown}" if unknown else f"{args.events}: no such file"
        print(f"paint.py: {problem}", file=sys.stderr)
        return 2
    text = run_scale(args.events, args.cache, pages, args.runs)
    print(text)
    write_section(text, args.out)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
