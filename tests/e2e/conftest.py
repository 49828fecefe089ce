"""Browser fixtures: Debian's Chromium driven by Playwright, and a page server on another origin."""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import statuspage.db
from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent.parent
# `STATUSPAGE_SCREENSHOTS=docs/screenshots pytest tests/e2e/test_demo_pages.py` refreshes the README's pictures.
SCREENSHOTS = ROOT / os.environ.get("STATUSPAGE_SCREENSHOTS", "test-results/screenshots")


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the run (installed by `make test` from apt)."""
    from playwright.sync_api import sync_playwright

    assert shutil.which("chromium") or Path(CHROMIUM).exists(), "run `make test` to install Chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


def sign_in(tab, origin: str, email: str = "oncall@example.com") -> None:
    """Sign in through the real form (the user must exist with the test password)."""
    tab.goto(origin + "/login")
    tab.fill("input[name=email]", email)
    tab.fill("input[name=password]", PASSWORD)
    with tab.expect_navigation():  # signed in once the answer has loaded, before the next goto
        tab.click("button[type=submit]")


def screenshot(tab, name: str) -> Path:
    """Save a full-page screenshot under test-results/screenshots (or $STATUSPAGE_SCREENSHOTS)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


PREVIEWS_RENDERED = """() => [...document.querySelectorAll('textarea[data-preview]')]
    .filter(area => area.value.trim())
    .map(area => document.getElementById(area.dataset.preview))
    .every(preview => preview && preview.innerHTML.trim() && !preview.textContent.includes('Preview appears here'))"""


def wait_for_previews(tab) -> None:
    """Wait until admin.js has drawn the Markdown preview of every filled text area (it fetches them after
    load and after typing), so a screenshot shows them rather than empty boxes."""
    tab.wait_for_function(PREVIEWS_RENDERED, timeout=10_000)


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def other_origin(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain static web server on another port (another origin); yields (origin, its folder)."""
    handler = lambda *args, **kwargs: _Files(*args, directory=str(tmp_path), **kwargs)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", tmp_path
    server.shutdown()
    thread.join(5)


@dataclass
class SimulatedClock:
    """The one clock of a story: the app, its worker and the test all read it; only the test moves it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def simulated_clock(monkeypatch) -> SimulatedClock:
    """Every timestamp the app writes comes from `statuspage.db.utcnow()`; point it at a simulated clock
    (starting at the current minute) so that a story of an hour runs in seconds, in the web server's
    threads as in the test, without mixing wall-clock and simulated times."""
    clock = SimulatedClock(statuspage.db.utcnow().replace(second=0, microsecond=0))

    class Simulated(datetime):
        @classmethod
        def now(cls, tz=None):  # the only use of `datetime` in statuspage.db at run time
            return clock.now.astimezone(tz) if tz is not None else clock.now.replace(tzinfo=None)

    monkeypatch.setattr(statuspage.db, "datetime", Simulated)
    return clock


AXE = ROOT / "tests" / "clients" / "node_modules" / "axe-core" / "axe.min.js"


def accessibility_violations(tab, selector: str = "html") -> list[str]:
    """Every axe-core violation (all rules, any impact) inside `selector`, one line each. The context must
    bypass the CSP, which rightly refuses axe's injected script."""
    assert AXE.exists(), "run `make test` to install the npm test clients (axe-core)"
    tab.add_script_tag(path=str(AXE))
    found = tab.evaluate("""selector => axe.run(document.querySelector(selector))
        .then(result => result.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))""",
                         selector)
    return list(found)
