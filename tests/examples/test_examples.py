"""examples/ as a developer runs it: crdtpad, the example app backend minting signed tokens, and
both example pages (stock y-websocket provider, stock Hocuspocus provider) in Chromium, on one
private pad; they converge with each other and with crdtpad's own view of the pad."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import new_page
from tests.support import ServerProcess, free_port, run_crdtpad, wait_until_healthy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str, str]]:
    """crdtpad, the app account's API token (made with the CLI), and the example backend's URL."""
    if not (EXAMPLES / "dist" / "hocuspocus.html").is_file():
        pytest.fail(
            "examples/dist is missing: `make test` builds it (cd examples && npm ci && npm run build)"
        )
    data = tmp_path_factory.mktemp("examples") / "data"
    run_crdtpad("user", "create", "app", data_dir=data, stdin="correct horse battery\n")
    api_token = run_crdtpad("token", "create", "app", data_dir=data).stdout.strip().splitlines()[-1]
    server = ServerProcess(data)
    server.start()
    port = free_port()
    env = {**os.environ, "CRDTPAD_URL": server.url, "CRDTPAD_API_TOKEN": api_token, "EXAMPLE_PORT": str(port)}
    backend = subprocess.Popen([sys.executable, str(EXAMPLES / "backend.py")], env=env)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/y-websocket.html", backend, "example backend", 15)
        yield server, api_token, f"http://127.0.0.1:{port}"
    finally:
        backend.kill()
        backend.wait()
        server.kill()


async def typed(page: Page, text: str) -> None:
    await page.locator(".ql-editor").click()
    await page.keyboard.press("End")
    await page.keyboard.type(text)


async def test_both_example_pages_converge_on_a_private_pad(
    browser: Browser, app: tuple[ServerProcess, str, str]
) -> None:
    server, api_token, backend = app
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {api_token}"}) as c:
        pad = (await c.post("/api/v1/pads", json={"title": "app pad", "visibility": "private"})).json()["id"]
        (a_ctx, alice), (b_ctx, bob) = await new_page(browser), await new_page(browser)
        try:
            await alice.goto(f"{backend}/y-websocket.html?pad={pad}&user=alice")
            await bob.goto(f"{backend}/hocuspocus.html?pad={pad}&user=bob")
            for page in (alice, bob):
                await expect(page.locator("#status")).to_have_attribute(
                    "data-state", "synced", timeout=15_000
                )
            await typed(alice, "Alice on y-websocket. ")
            await expect(bob.locator(".ql-editor")).to_contain_text("Alice on y-websocket.")
            await typed(bob, "Bob on Hocuspocus.")
            await expect(alice.locator(".ql-editor")).to_contain_text("Bob on Hocuspocus.")
            # Stored, as crdtpad's own API sees it; each user came with a signed token of its own.
            for _ in range(50):
                text = (await c.get(f"/api/v1/pads/{pad}/text")).json()["text"]
                if "Alice on y-websocket." in text and "Bob on Hocuspocus." in text:
                    break
                await alice.wait_for_timeout(100)
            assert "Alice on y-websocket." in text and "Bob on Hocuspocus." in text, text
            tokens = (await c.get(f"/api/v1/pads/{pad}/tokens")).json()
            assert sorted(t["user_id"] for t in tokens) == ["alice", "bob"]
            # The app's user without a token of this pad gets nowhere: the pad is private.
            r = await c.get(f"/api/v1/pads/{pad}", headers={"Authorization": ""})
            assert r.status_code in (401, 404)
        finally:
            await a_ctx.close()
            await b_ctx.close()
