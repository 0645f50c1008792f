"""Painting cost in a real browser: each map mode beside the floor app, in one run.

    python benchmarks/paint.py            # 5 runs per figure (about 8 minutes on 2 cores)
    python benchmarks/paint.py --runs 3   # quicker

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
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
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

    def __init__(self, script: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
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

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh pages per figure (default 5)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 1
    print(run(args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
