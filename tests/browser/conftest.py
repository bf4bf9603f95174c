"""Browser tests: Debian's Chromium driven by Playwright against a real server.

Chromium comes from Debian (`apt-get install chromium`, which `make test` does when it is
missing); Playwright never downloads a browser here. Screenshots of each flow go to
tests/output/ (not committed).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.support import ServerProcess

CHROMIUM = os.environ.get("CRDTPAD_CHROMIUM", "/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parent.parent / "output"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WEBAPP = Path(__file__).resolve().parents[2] / "src" / "crdtpad" / "webapp"


@pytest.fixture(scope="session")
def chromium_available() -> None:
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    if not (WEBAPP / "pad.html").exists():
        pytest.fail("the web app is not built: `make test` builds it (cd web && npm ci && npm run build)")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server for this module's browsers."""
    server = ServerProcess(tmp_path_factory.mktemp("web") / "data", CRDTPAD_UNLOAD_GRACE_S="1")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
async def browser(chromium_available: None) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            await b.close()


class Screens:
    """Numbered screenshots of one test's flow."""

    def __init__(self, name: str) -> None:
        self.dir = OUTPUT / name
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.n = 0

    async def shot(self, page: Page, what: str) -> None:
        self.n += 1
        await page.screenshot(path=str(self.dir / f"{self.n:02d}-{what}.png"), full_page=True)


@pytest.fixture
def screens(request: pytest.FixtureRequest) -> Screens:
    return Screens(request.node.name)


async def new_page(browser: Browser, **context: object) -> tuple[BrowserContext, Page]:
    ctx = await browser.new_context(**context)  # type: ignore[arg-type]
    page = await ctx.new_page()
    return ctx, page
