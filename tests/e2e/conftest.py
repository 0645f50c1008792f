"""Browser fixtures: a real `streamlit run` on a free port, and Playwright on Debian's Chromium.

Nothing here downloads a browser: Playwright drives /usr/bin/chromium. Without it the browser
tests skip on a developer's machine, and fail under CI=true, where a skip would hide them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("SUMMIT_ATLAS_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO / "tests" / "e2e" / "screenshots"
READY = "[data-testid=stApp][data-test-script-state=notRunning]"
MAP_CANVAS = f"{READY} [data-testid=stDeckGlJsonChart] canvas#deckgl-overlay"


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `streamlit run streamlit_app.py` process."""

    def __init__(self, extra_args: list[str] | None = None, env: dict[str, str] | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO / "streamlit_app.py"),
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ]
        if extra_args:
            cmd += ["--", *extra_args]
        self.log = open(REPO / "tests" / "e2e" / f".server-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        self._wait()

    def _wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.25)
        raise TimeoutError(f"streamlit did not answer /_stcore/health within {timeout}s")

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium (see .ci/run)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def open_app(page, url: str):
    """Go to a URL and wait until the script has finished and the map canvas exists."""
    page.goto(url)
    page.wait_for_selector(MAP_CANVAS, timeout=60_000)
    return page


def wait_idle(page) -> None:
    page.wait_for_selector(READY, timeout=60_000)
    page.wait_for_timeout(300)


def deck_spec(params: dict[str, str] | None = None, env: dict[str, str] | None = None) -> dict:
    """The deck JSON the page sends for these URL parameters (the app run by AppTest), with
    `env` set as a server started with it would have it (e.g. SUMMIT_ATLAS_EVENTS)."""
    import json
    import os

    from streamlit.testing.v1 import AppTest

    saved = {key: os.environ.get(key) for key in env or {}}
    os.environ.update(env or {})
    try:
        at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=60)
        for key, value in (params or {}).items():
            at.query_params[key] = value
        at.run()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    (chart,) = at.get("deck_gl_json_chart")
    return json.loads(chart.proto.json)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
