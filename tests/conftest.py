"""Fixtures: real servers on 127.0.0.1 over real SQLite files."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.support import ServerProcess


def _serve(tmp: Path, **env: str) -> Iterator[ServerProcess]:
    with ServerProcess(tmp / "data", **env) as server:
        yield server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A fresh server of our own (tests that restart or kill it)."""
    yield from _serve(tmp_path, CRDTPAD_UNLOAD_GRACE_S="0.2")


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for tests that only talk to it; open pads so each test picks its own pad ids."""
    yield from _serve(tmp_path_factory.mktemp("shared"), CRDTPAD_OPEN_PADS="true", CRDTPAD_UNLOAD_GRACE_S="1")


@pytest.fixture(scope="session")
def node_available() -> None:
    """Skip nothing: the JS clients are part of the suite, so their absence is an error."""
    if shutil.which("node") is None:
        pytest.fail("node is required for the JS client tests")
    if not (Path(__file__).parent / "js" / "node_modules" / "y-websocket").exists():
        pytest.fail("tests/js/node_modules is missing: run `make test`, which installs it")


# Browser tests drive Debian's Chromium (`apt-get install chromium`, which `make test` does when it
# is missing); Playwright never downloads a browser here.
CHROMIUM = os.environ.get("CRDTPAD_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WEBAPP = Path(__file__).resolve().parents[1] / "src" / "crdtpad" / "webapp"


@pytest.fixture(scope="session")
def chromium_available() -> None:
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    if not (WEBAPP / "pad.html").exists():
        pytest.fail("the web app is not built: `make test` builds it (cd web && npm ci && npm run build)")


@pytest.fixture
async def browser(chromium_available: None) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            await b.close()
