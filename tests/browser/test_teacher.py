"""The teacher's flow: register, a folder, a private pad in it, a read-only link opened by a second
browser that cannot type; revoking the link, then deleting the pad, is said on the pages."""

from __future__ import annotations

import re
import secrets
from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import Screens, new_page
from tests.support import ServerProcess

PASSWORD = "correct horse battery"


async def call(page: Page, method: str, path: str, body: object = None) -> Any:
    """The page's own session calls the API (with its CSRF token), as the app does."""
    return await page.evaluate(
        """async ([method, path, body]) => {
            const me = await (await fetch('/api/v1/me')).json()
            const r = await fetch('/api/v1' + path, {
                method, headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token},
                body: body === null ? undefined : JSON.stringify(body)})
            if (!r.ok) throw new Error(method + ' ' + path + ': ' + r.status + ' ' + await r.text())
            return r.status === 204 ? null : await r.json()
        }""",
        [method, path, body],
    )


async def register_and_login(page: Page, server: ServerProcess, username: str) -> None:
    await page.goto(f"{server.url}/#login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[value=register]")
    await page.wait_for_url(f"{server.url}/dashboard")


async def test_teacher_shares_read_only_then_revokes_then_deletes(
    browser: Browser, web: ServerProcess, screens: Screens
) -> None:
    (t_ctx, teacher), (s_ctx, student) = await new_page(browser), await new_page(browser)
    teacher.on("dialog", lambda d: d.accept())  # the confirm() before deleting
    await register_and_login(teacher, web, f"teacher{secrets.token_hex(3)}")

    # On the dashboard: a folder for the class, and a private pad in it.
    await teacher.fill("#new-folder input[name=name]", "Class 5B")
    await teacher.click("#new-folder button[type=submit]")
    folder = teacher.locator("section.folder", has_text="Class 5B")
    await expect(folder).to_be_visible()
    folder_id = await folder.get_attribute("data-folder-id")
    await teacher.fill("#new-pad input[name=title]", "Essay")
    await teacher.select_option("#new-pad select[name=visibility]", "private")
    await teacher.select_option("#new-pad select[name=folder]", folder_id)
    await screens.shot(teacher, "dashboard")
    await teacher.click("#new-pad button[type=submit]")
    await teacher.wait_for_url(f"{web.url}/p/**")
    pad_id = teacher.url.rsplit("/", 1)[1]
    await expect(teacher.locator("#status")).to_have_attribute("data-status", "saved", timeout=15_000)
    await teacher.locator(".ql-editor").click()
    await teacher.keyboard.type("Write about your holidays.")
    await expect(teacher.locator("#status")).to_have_attribute("data-status", "saved", timeout=15_000)

    # A read-only link, made in the dashboard's share dialog.
    await teacher.goto(f"{web.url}/dashboard")
    row = teacher.locator(f"li[data-pad-id='{pad_id}']")
    await row.locator("[data-action=share]").click()
    await teacher.select_option("#new-link select[name=role]", "viewer")
    await teacher.click("#new-link button[type=submit]")
    await expect(teacher.locator("#new-link-url")).to_have_value(re.compile(r"#token=cpl_"))
    link_url = await teacher.locator("#new-link-url").input_value()
    await screens.shot(teacher, "share-dialog")

    # The student opens it: sees the text, cannot type, is told why.
    await student.goto(link_url)
    await expect(student.locator(".ql-editor")).to_contain_text("Write about your holidays.", timeout=15_000)
    await expect(student.locator("#read-only")).to_be_visible()
    assert await student.locator(".ql-editor").get_attribute("contenteditable") == "false"
    await student.locator(".ql-editor").click()
    await student.keyboard.type("graffiti")
    await expect(student.locator(".ql-editor")).not_to_contain_text("graffiti")
    assert "token=" not in student.url  # the token left the address bar
    await screens.shot(student, "read-only")

    # The teacher revokes the link: the student's page says access ended, and stops retrying.
    await teacher.locator("#link-list li [data-action=revoke]").click()
    await expect(teacher.locator("#link-list li[data-link-id]")).to_have_count(0)
    await expect(student.locator("#ended")).to_contain_text("access to this pad has ended", timeout=5_000)
    await screens.shot(student, "revoked")

    # The student opens the pad again (as a member's page would be), the teacher deletes it.
    await call(
        teacher, "PUT", f"/pads/{pad_id}/members/{await student_name(student, web)}", {"role": "editor"}
    )
    await student.goto(f"{web.url}/p/{pad_id}")
    await expect(student.locator("#status")).to_have_attribute("data-status", "saved", timeout=15_000)
    await teacher.click("#manage-close")
    await row.locator("[data-action=delete]").click()
    await expect(row).to_have_count(0)
    await expect(student.locator("#ended")).to_have_text("This pad was deleted.", timeout=5_000)
    await screens.shot(student, "deleted")
    await student.reload()
    await expect(student.locator("#ended")).to_have_text("This pad was deleted.", timeout=5_000)
    await t_ctx.close()
    await s_ctx.close()


async def student_name(page: Page, server: ServerProcess) -> str:
    """Give the student's browser an account (registered and logged in) and return its name."""
    name = f"student{secrets.token_hex(3)}"
    await register_and_login(page, server, name)
    return name


async def test_a_password_pad_asks_for_its_password(
    browser: Browser, web: ServerProcess, screens: Screens
) -> None:
    (o_ctx, owner), (g_ctx, guest) = await new_page(browser), await new_page(browser)
    await register_and_login(owner, web, f"owner{secrets.token_hex(3)}")
    pad = await call(
        owner, "POST", "/pads", {"title": "Quiz", "visibility": "password", "password": "tulips"}
    )
    await guest.goto(f"{web.url}/p/{pad['id']}")
    await expect(guest.locator("#password-form")).to_be_visible(timeout=10_000)
    await guest.fill("#pad-password", "wrong")
    await guest.click("#password-form button[type=submit]")
    await expect(guest.locator("#password-error")).to_have_text("Wrong password.")
    await guest.fill("#pad-password", "tulips")
    await guest.click("#password-form button[type=submit]")
    await expect(guest.locator("#status")).to_have_attribute("data-status", "saved", timeout=15_000)
    assert "tulips" not in guest.url
    await screens.shot(guest, "unlocked")
    await o_ctx.close()
    await g_ctx.close()


async def test_the_owner_moderates_the_chat_and_saves_with_ctrl_s(
    browser: Browser, web: ServerProcess, screens: Screens
) -> None:
    (o_ctx, owner), (v_ctx, visitor) = await new_page(browser), await new_page(browser)
    owner.on("dialog", lambda d: d.accept())
    name = f"owner{secrets.token_hex(3)}"
    await register_and_login(owner, web, name)
    pad = await call(owner, "POST", "/pads", {"title": "Chatty"})  # public: the visitor chats too
    await owner.goto(f"{web.url}/p/{pad['id']}")
    await visitor.goto(f"{web.url}/p/{pad['id']}")
    for page in (owner, visitor):
        await expect(page.locator("#status")).to_have_attribute("data-status", "saved", timeout=15_000)
    await visitor.fill("#chat input", "something rude")
    await visitor.press("#chat input", "Enter")
    await visitor.fill("#chat input", "a fair question")
    await visitor.press("#chat input", "Enter")
    await expect(owner.locator("#chat li")).to_have_count(2)
    assert await visitor.locator("#chat .chat-delete").count() == 0  # visitors do not moderate
    await owner.locator("#chat li", has_text="something rude").locator(".chat-delete").click()
    await expect(visitor.locator("#chat li")).to_have_count(1)
    await expect(visitor.locator("#chat li")).to_contain_text("a fair question")
    await screens.shot(owner, "moderated")
    await owner.click("#chat-clear")
    await expect(visitor.locator("#chat li")).to_have_count(0)
    # The owner posts as its account (the server checks the author), then turns the chat off.
    await owner.fill("#chat input", "chat closes now")
    await owner.press("#chat input", "Enter")
    await expect(visitor.locator("#chat li")).to_have_count(1)
    messages = await call(owner, "GET", f"/pads/{pad['id']}/chat")
    assert [m["author_id"] for m in messages] == [f"user:{name}"]
    await owner.click("#chat-toggle")
    await expect(owner.locator("#chat-off")).to_be_visible()
    await visitor.reload()
    await expect(visitor.locator("#chat-off")).to_be_visible()
    await expect(visitor.locator("#chat form")).to_be_hidden()

    await owner.locator(".ql-editor").click()
    await owner.keyboard.type("Worth keeping.")
    await expect(owner.locator("#status")).to_have_attribute("data-status", "saved", timeout=10_000)
    await owner.keyboard.press("Control+s")
    for _ in range(50):
        revisions = await call(owner, "GET", f"/pads/{pad['id']}/revisions")
        if revisions:
            break
        await owner.wait_for_timeout(100)
    assert [r["name"] is not None for r in revisions] == [True]  # a saved (named) revision
    await o_ctx.close()
    await v_ctx.close()
