"""Browser tests (the ``browser`` fixture is in tests/conftest.py): a server per module, and
screenshots of each flow in tests/output/ (not committed)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.support import ServerProcess

OUTPUT = Path(__file__).resolve().parent.parent / "output"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server for this module's browsers."""
    with ServerProcess(tmp_path_factory.mktemp("web") / "data", CRDTPAD_UNLOAD_GRACE_S="1") as server:
        yield server


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
