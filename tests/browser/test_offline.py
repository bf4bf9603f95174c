"""Poor links: offline edits survive a reload and merge; the first load fits the byte budget."""

from __future__ import annotations

import time

import httpx
from playwright.async_api import Browser, expect

from tests.browser.conftest import Screens, new_page
from tests.browser.test_pad import open_pad, public_pad
from tests.support import ServerProcess

BUDGET_BYTES = 200 * 1024


async def test_offline_edits_survive_a_reload_and_merge(
    browser: Browser, web: ServerProcess, screens: Screens
) -> None:
    pad_id = public_pad(web, "Field notes")
    (ctx_a, a), (ctx_b, b) = await new_page(browser), await new_page(browser)
    await open_pad(a, web, pad_id)
    await a.evaluate("navigator.serviceWorker.ready")
    await a.reload()  # now controlled by the service worker, which keeps the page
    await expect(a.locator("#status")).to_have_attribute("data-status", "saved", timeout=15_000)
    await open_pad(b, web, pad_id)
    await a.locator(".ql-editor").click()
    await a.keyboard.type("Online first. ")

    await ctx_a.set_offline(True)
    await expect(a.locator("#status")).to_have_text("Offline — changes kept on this device", timeout=5_000)
    await a.keyboard.type("Typed offline, ")
    # y-indexeddb writes each update as it happens, in a read-write transaction on "updates";
    # one made after them finishes after them (IndexedDB runs overlapping ones in order).
    await a.evaluate(
        """async (name) => {
            const db = await new Promise((ok, fail) => {
                const req = indexedDB.open(name);
                req.onsuccess = () => ok(req.result);
                req.onerror = () => fail(req.error);
            });
            await new Promise((ok, fail) => {
                const tx = db.transaction(["updates"], "readwrite");
                tx.oncomplete = ok;
                tx.onerror = () => fail(tx.error);
                tx.objectStore("updates").count();
            });
            db.close();
        }""",
        f"crdtpad-{pad_id}",
    )
    await a.reload()  # still offline: the service worker serves the page, IndexedDB the text
    await expect(a.locator(".ql-editor")).to_contain_text("Online first. Typed offline,", timeout=15_000)
    await expect(a.locator("#status")).to_have_text("Offline — changes kept on this device", timeout=10_000)
    await a.locator(".ql-editor").click()
    await a.keyboard.press("Control+End")
    await a.keyboard.type(" and after the reload.")
    await screens.shot(a, "offline")
    await expect(b.locator(".ql-editor")).not_to_contain_text("Typed offline")

    await ctx_a.set_offline(False)
    expected = "Online first. Typed offline,  and after the reload."
    await expect(b.locator(".ql-editor")).to_contain_text(expected, timeout=20_000)
    await expect(a.locator("#status")).to_have_attribute("data-status", "saved", timeout=20_000)
    await screens.shot(b, "merged")
    text = httpx.get(f"{web.url}/api/v1/pads/{pad_id}/text", timeout=10).json()["text"]
    assert expected in text
    await ctx_a.close()
    await ctx_b.close()


async def test_first_load_on_a_slow_link_fits_the_byte_budget(
    browser: Browser, web: ServerProcess, screens: Screens
) -> None:
    pad_id = public_pad(web, "Rural school")
    ctx, page = await new_page(browser)
    cdp = await ctx.new_cdp_session(page)
    await cdp.send("Network.enable")
    # A poor rural link: 400 ms round trips, ~400 kbit/s down, ~150 kbit/s up.
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 400, "downloadThroughput": 50_000, "uploadThroughput": 19_000},
    )
    received: dict[str, float] = {}
    cdp.on("Network.loadingFinished", lambda e: received.__setitem__(e["requestId"], e["encodedDataLength"]))
    started = time.monotonic()
    await page.goto(f"{web.url}/p/{pad_id}")
    await expect(page.locator("#status")).to_have_attribute("data-status", "saved", timeout=60_000)
    elapsed = time.monotonic() - started
    await page.wait_for_timeout(500)
    total = sum(received.values())
    await screens.shot(page, "slow-link")
    kb = total / 1024
    print(f"first load on the emulated link: {kb:.1f} KB in {len(received)} responses, {elapsed:.1f} s")
    assert total <= BUDGET_BYTES, f"{total / 1024:.1f} KB on the wire, over {BUDGET_BYTES // 1024} KB"
    await ctx.close()
