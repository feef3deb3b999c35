"""Browser fixtures: headless Chromium (Debian's package) driven by Playwright's async API on
the same event loop as the homeservers, so the servers keep serving while the test awaits.

Chromium is never downloaded (no ``playwright install``): Playwright drives /usr/bin/chromium.
Without Chromium or Playwright these tests are skipped with the reason, unless
``AUDIOROOMS_REQUIRE_BROWSER=1`` (as CI sets) turns that into a failure.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections import deque
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("AUDIOROOMS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
    # A fake microphone (a beeping tone) and an automatic "allow" for it.
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# The README's screenshots are refreshed only when asked (AUDIOROOMS_SCREENSHOTS=1, or a folder
# in AUDIOROOMS_SCREENSHOTS_DIR); otherwise they are taken into a temporary folder, so the phone
# layouts are still exercised and a test run leaves the work tree clean.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def screenshots_dir() -> Path:
    if os.environ.get("AUDIOROOMS_SCREENSHOTS_DIR"):
        return Path(os.environ["AUDIOROOMS_SCREENSHOTS_DIR"])
    if os.environ.get("AUDIOROOMS_SCREENSHOTS") == "1":
        return DOCS_SCREENSHOTS
    return Path(tempfile.gettempdir()) / "audiorooms-screenshots"


def _unavailable(reason: str):
    if os.environ.get("AUDIOROOMS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required but {reason}")
    pytest.skip(reason)


class ConsoleLog:
    """Every console error and uncaught exception on a page; the test fails on any that was
    not an expected HTTP error (Chromium logs 'Failed to load resource' for every 4xx/5xx)."""

    def __init__(self, name: str):
        self.name = name
        self.errors: list[str] = []
        self.warnings: deque[str] = deque(maxlen=20)  # shown when the test fails
        self.expected: list[tuple[int, str]] = []
        self.expected_network: list[re.Pattern] = []

    def expect_http_error(self, status: int, url_part: str) -> None:
        """A request the test makes fail on purpose (Chromium logs each such response)."""
        self.expected.append((status, url_part))

    def expect_network_failure(self, pattern: str) -> None:
        """A network-level failure the test causes (e.g. net::ERR_INTERNET_DISCONNECTED)."""
        self.expected_network.append(re.compile(pattern))

    def on_console(self, msg) -> None:
        if msg.type == "warning":
            self.warnings.append(msg.text[:300])
        if msg.type not in ("error", "assert"):
            return
        text = msg.text
        m = re.search(r"Failed to load resource: the server responded with a status of (\d+)", text)
        url = (msg.location or {}).get("url", "")
        if m and any(int(m.group(1)) == s and part in url for s, part in self.expected):
            return
        if text.startswith("Failed to load resource: net::") and any(
                p.search(text) for p in self.expected_network):
            return
        self.errors.append(f"[{self.name}] console.{msg.type}: {text} ({url})")

    def on_pageerror(self, err) -> None:
        self.errors.append(f"[{self.name}] uncaught: {err}")


class UserPage:
    """One user in one browser context (own storage, own fake mic)."""

    def __init__(self, context, page, base_url: str, name: str, log: ConsoleLog):
        self.context = context
        self.page = page
        self.base_url = base_url
        self.name = name
        self.log = log

    async def goto(self, route: str = "") -> None:
        await self.page.goto(f"{self.base_url}/{route}")

    async def screenshot(self, name: str, viewport: dict | None = None) -> Path:
        folder = screenshots_dir()
        folder.mkdir(parents=True, exist_ok=True)
        before = self.page.viewport_size
        if viewport and viewport != before:
            await self.page.set_viewport_size(viewport)
            await self.page.wait_for_timeout(250)  # layout and fonts settle
        path = folder / f"{name}.png"
        await self.page.screenshot(path=str(path), animations="disabled", caret="hide")
        if viewport and viewport != before:
            await self.page.set_viewport_size(before)
            await self.page.wait_for_timeout(100)
        return path


@pytest.fixture
async def browser():
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install playwright)")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium chromium-driver)")
    pw = await async_playwright().start()
    try:
        # launch() gives every run a fresh temporary user-data-dir.
        b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except Exception as e:  # noqa: BLE001 - report why Chromium did not start
        await pw.stop()
        _unavailable(f"Chromium did not start: {e}")
    try:
        yield b
    finally:
        await b.close()
        await pw.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_call_failed = report.failed
    return report


@pytest.fixture
async def open_page(browser, request):
    """``await open_page(server, "alice", viewport=DESKTOP)`` -> UserPage; console errors on
    any page fail the test at teardown."""
    pages: list[UserPage] = []

    async def open_(server, name: str, viewport: dict = DESKTOP) -> UserPage:
        context = await browser.new_context(viewport=viewport, base_url=server.url,
                                            permissions=["microphone"])
        context.set_default_timeout(15000)
        page = await context.new_page()
        log = ConsoleLog(name)
        page.on("console", log.on_console)
        page.on("pageerror", log.on_pageerror)
        up = UserPage(context, page, server.url, name, log)
        pages.append(up)
        return up

    yield open_
    if getattr(request.node, "browser_call_failed", False):
        # What each page showed when the test failed, for the person reading the failure.
        out = Path(os.environ.get("AUDIOROOMS_BROWSER_ARTIFACTS", tempfile.gettempdir()))
        out = out / "audiorooms-browser-failures"
        out.mkdir(parents=True, exist_ok=True)
        for p in pages:
            path = out / f"{request.node.name}-{p.name}.png"
            try:
                await p.page.screenshot(path=str(path), full_page=True)
                print(f"screenshot of {p.name}'s page at failure: {path}")
                # The screenshot stays on the machine that ran the test; CI's log keeps this.
                text = await p.page.evaluate("document.body.innerText.slice(0, 2000)")
                print(f"--- {p.name}'s page at failure ({p.page.url}) ---\n{text}")
                if p.log.warnings:
                    print(f"--- {p.name}'s last console warnings ---\n" + "\n".join(p.log.warnings))
            except Exception:  # noqa: BLE001 - a crashed page has no screenshot
                pass
    errors = [e for p in pages for e in p.log.errors]
    for p in pages:
        await p.context.close()
    assert not errors, "console errors in the web client:\n" + "\n".join(errors)
