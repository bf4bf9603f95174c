"""The instance admin's page: stats, users, pads, invites; a non-admin is told it is not for them."""

from __future__ import annotations

import contextlib
import re
import secrets
import sqlite3

from playwright.async_api import Browser, expect

from tests.browser.conftest import Screens, new_page
from tests.browser.test_teacher import call, register_and_login
from tests.support import ServerProcess


async def test_admin_disables_a_user_and_deletes_a_pad(
    browser: Browser, web: ServerProcess, screens: Screens
) -> None:
    (a_ctx, admin), (u_ctx, user) = await new_page(browser), await new_page(browser)
    admin.on("dialog", lambda d: d.accept())
    user_name, admin_name = f"pupil{secrets.token_hex(3)}", f"root{secrets.token_hex(3)}"
    await register_and_login(user, web, user_name)
    pad = await call(user, "POST", "/pads", {"title": f"Doodles {user_name}", "visibility": "private"})
    await register_and_login(admin, web, admin_name)
    await admin.goto(f"{web.url}/admin")
    await expect(admin.locator("#not-admin")).to_be_visible()
    with contextlib.closing(sqlite3.connect(web.data_dir / "crdtpad.sqlite3")) as db, db:
        db.execute("UPDATE users SET is_admin = 1 WHERE username = ?", (admin_name,))
    await admin.reload()
    await expect(admin.locator("#admin")).to_be_visible()
    await expect(admin.locator("#stats [data-stat=users] dd")).not_to_have_text("0")

    await admin.fill("#user-search input[name=q]", user_name)
    await admin.press("#user-search input[name=q]", "Enter")
    row = admin.locator(f"#user-table tr[data-username='{user_name}']")
    await row.locator("[data-action=disable]").click()
    await expect(row).to_have_attribute("data-disabled", "true")
    assert (await user.evaluate("fetch('/api/v1/me').then(r => r.status)")) == 401

    await admin.click("#new-invite")
    await expect(admin.locator("#invite-code")).to_have_value(re.compile(r"^cpi_"))

    await admin.fill("#pad-search input[name=q]", user_name)
    await admin.press("#pad-search input[name=q]", "Enter")
    pad_row = admin.locator(f"#pad-table tr[data-pad-id='{pad['id']}']")
    await screens.shot(admin, "admin")
    await pad_row.locator("[data-action=delete]").click()
    await expect(pad_row).to_have_count(0)
    status = await admin.evaluate(f"fetch('/api/v1/pads/{pad['id']}').then(r => r.status)")
    assert status == 410
    await a_ctx.close()
    await u_ctx.close()
