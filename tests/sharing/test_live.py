"""Access changes reach connected clients at once: a real server, real Python and JS Yjs clients.

Each change is made over HTTP; by the time the call answers, the server has closed (or narrowed)
the sockets it affects, so the client sees its close well within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import PASSWORD, NodeClient, Person, ServerProcess, YClient, register, wait_for

# "At once": the server closes the sockets before the HTTP call answers; this bounds only the
# close handshake reaching the client, generous for a loaded 2-core machine. (There is no
# periodic re-check that a longer wait could be confused with.)
REVOKED_WITHIN_S = 3.0


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for this module; every test makes its own users and pads."""
    with ServerProcess(tmp_path_factory.mktemp("live") / "data", CRDTPAD_UNLOAD_GRACE_S="0.5") as server:
        yield server


@contextlib.asynccontextmanager
async def clients(*ys: YClient) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for y in ys:
            await y.close()


def make_admin(server: ServerProcess, who: Person) -> None:
    with contextlib.closing(sqlite3.connect(server.data_dir / "crdtpad.sqlite3")) as db, db:
        db.execute("UPDATE users SET is_admin = 1 WHERE id = ?", (who.id,))


async def closed_within(y: YClient, seconds: float) -> int | None:
    return await y.wait_closed(timeout=seconds)


@pytest.fixture
async def class_pad(live: ServerProcess) -> AsyncIterator[tuple[Person, Person, str]]:
    """A teacher, a student who edits, and the teacher's private pad."""
    teacher, student = await register(live, "t"), await register(live, "s")
    pad = (await teacher.call("POST", "/pads", 201, json={"title": "essay", "visibility": "private"}))["id"]
    await teacher.call("PUT", f"/pads/{pad}/members/{student.name}", 200, json={"role": "editor"})
    try:
        yield teacher, student, pad
    finally:
        await teacher.http.aclose()
        await student.http.aclose()


async def test_removing_a_member_closes_their_socket_4403_and_others_carry_on(
    class_pad: tuple[Person, Person, str],
) -> None:
    teacher, student, pad = class_pad
    t, s = YClient(teacher.ws(pad)), YClient(student.ws(pad))
    async with clients(t, s):
        await t.connect()
        await s.connect()
        s.type("student was here. ")
        await wait_for(s.all_saved, what="the student's edit stored")
        await teacher.call("DELETE", f"/pads/{pad}/members/{student.name}", 204)
        assert await closed_within(s, REVOKED_WITHIN_S) == 4403
        t.type("teacher goes on.")
        await wait_for(t.all_saved, what="the teacher's edit stored")
        text = (await teacher.call("GET", f"/pads/{pad}/text", 200))["text"]
        assert text == "student was here. teacher goes on."
        # Reconnecting does not help: the pad is invisible to them now.
        again = YClient(student.ws(pad))
        await again.connect(wait_synced=False)
        assert await again.wait_closed() == 4404
        await again.close()


async def test_a_viewers_edits_are_never_applied_stored_or_relayed(
    class_pad: tuple[Person, Person, str],
) -> None:
    teacher, student, pad = class_pad
    await teacher.call("PUT", f"/pads/{pad}/members/{student.name}", 200, json={"role": "viewer"})
    t, s = YClient(teacher.ws(pad)), YClient(student.ws(pad))
    async with clients(t, s):
        await t.connect()
        await s.connect()
        s.type("graffiti")
        t.type("lesson")
        await wait_for(t.all_saved, what="the teacher's edit stored")
        await wait_for(lambda: "lesson" in str(s), what="the viewer receiving the teacher's edit")
        await asyncio.sleep(0.3)  # give a wrongly relayed edit time to arrive
        assert str(t) == "lesson"
        assert (await teacher.call("GET", f"/pads/{pad}/text", 200))["text"] == "lesson"
        assert s.close_code is None  # viewers stay connected and keep receiving


async def test_a_viewer_still_shares_presence(class_pad: tuple[Person, Person, str]) -> None:
    from crdtpad.sync import protocol as p
    from crdtpad.sync.protocol import AwarenessEntry

    teacher, student, pad = class_pad
    await teacher.call("PUT", f"/pads/{pad}/members/{student.name}", 200, json={"role": "viewer"})
    t, s = YClient(teacher.ws(pad)), YClient(student.ws(pad))
    async with clients(t, s):
        await t.connect()
        await s.connect()
        await s.send_raw(p.awareness_frame([AwarenessEntry(4242, 1, '{"user":{"name":"viewer"}}')]))
        await wait_for(lambda: 4242 in t.awareness_seen, what="the viewer's presence reaching the teacher")


async def test_narrowing_an_editor_to_viewer_takes_effect_on_the_open_socket(
    class_pad: tuple[Person, Person, str],
) -> None:
    teacher, student, pad = class_pad
    t, s = YClient(teacher.ws(pad)), YClient(student.ws(pad))
    async with clients(t, s):
        await t.connect()
        await s.connect()
        s.type("before ")
        await wait_for(s.all_saved, what="the editor's edit stored")
        await teacher.call("PUT", f"/pads/{pad}/members/{student.name}", 200, json={"role": "viewer"})
        s.type("after")
        t.type("end")
        await wait_for(t.all_saved, what="the teacher's edit stored")
        await asyncio.sleep(0.3)
        assert (await teacher.call("GET", f"/pads/{pad}/text", 200))["text"] == "before end"
        assert s.close_code is None
        # And back: an editor again, on the same socket.
        await teacher.call("PUT", f"/pads/{pad}/members/{student.name}", 200, json={"role": "editor"})
        s.type("!")
        await wait_for(lambda: "!" in str(t), what="the widened editor's edit relayed")


async def test_revoking_a_share_link_closes_its_sockets_4401(live: ServerProcess) -> None:
    teacher = await register(live, "t")
    pad = (await teacher.call("POST", "/pads", 201, json={"visibility": "private"}))["id"]
    link = await teacher.call("POST", f"/pads/{pad}/links", 201, json={"role": "editor"})
    assert link["url"].endswith(f"/p/{pad}#token={link['token']}")
    guest = YClient(f"{live.ws_url(pad)}?token={link['token']}")
    async with clients(guest):
        await guest.connect()
        guest.type("guest text")
        await wait_for(guest.all_saved, what="the link holder's edit stored")
        await teacher.call("DELETE", f"/pads/{pad}/links/{link['id']}", 204)
        assert await closed_within(guest, REVOKED_WITHIN_S) == 4401
    assert (await teacher.call("GET", f"/pads/{pad}/text", 200))["text"] == "guest text"
    await teacher.http.aclose()


async def test_making_a_public_pad_private_closes_anonymous_sockets_4403(live: ServerProcess) -> None:
    owner = await register(live, "o")
    pad = (await owner.call("POST", "/pads", 201, json={"title": "was public"}))["id"]
    anon, mine = YClient(live.ws_url(pad)), YClient(owner.ws(pad))
    async with clients(anon, mine):
        await anon.connect()
        await mine.connect()
        await owner.call("PATCH", f"/pads/{pad}", 200, json={"visibility": "private"})
        assert await closed_within(anon, REVOKED_WITHIN_S) == 4403
        await asyncio.sleep(0.1)
        assert mine.close_code is None
    await owner.http.aclose()


async def test_changing_a_pad_password_closes_unlocked_sockets_4401(live: ServerProcess) -> None:
    owner = await register(live, "o")
    pad = (
        await owner.call("POST", "/pads", 201, json={"visibility": "password", "password": "open sesame"})
    )["id"]
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as anon_http:
        locked = YClient(live.ws_url(pad))
        await locked.connect(wait_synced=False)
        assert await locked.wait_closed() == 4401  # no unlock token: ask for the password
        await locked.close()
        r = await anon_http.post(f"/api/v1/pads/{pad}/unlock", json={"password": "open sesame"})
        assert r.status_code == 200, r.text
        unlocked = YClient(f"{live.ws_url(pad)}?token={r.json()['token']}")
        async with clients(unlocked):
            await unlocked.connect()
            unlocked.type("hi")
            await wait_for(unlocked.all_saved, what="the unlocked edit stored")
            await owner.call("PATCH", f"/pads/{pad}", 200, json={"password": "new sesame"})
            assert await closed_within(unlocked, REVOKED_WITHIN_S) == 4401
    await owner.http.aclose()


async def test_logging_out_closes_sockets_opened_with_the_session_4401(live: ServerProcess) -> None:
    user = await register(live, "u")
    pad = (await user.call("POST", "/pads", 201, json={"visibility": "private"}))["id"]
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as browser:
        r = await browser.post("/api/v1/auth/login", json={"username": user.name, "password": PASSWORD})
        csrf, cookie = r.json()["csrf_token"], browser.cookies["crdtpad_session"]
        y = YClient(live.ws_url(pad), headers={"Cookie": f"crdtpad_session={cookie}", "Origin": live.url})
        async with clients(y):
            await y.connect()
            r = await browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
            assert r.status_code == 204
            assert await closed_within(y, REVOKED_WITHIN_S) == 4401
    await user.http.aclose()


async def test_a_session_cookie_from_another_origin_is_refused_4403(live: ServerProcess) -> None:
    user = await register(live, "u")
    private = (await user.call("POST", "/pads", 201, json={"visibility": "private"}))["id"]
    public = (await user.call("POST", "/pads", 201, json={}))["id"]
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as browser:
        await browser.post("/api/v1/auth/login", json={"username": user.name, "password": PASSWORD})
        cookie = {"Cookie": f"crdtpad_session={browser.cookies['crdtpad_session']}"}
    evil = YClient(live.ws_url(private), headers={**cookie, "Origin": "http://evil.example"})
    async with clients(evil):
        await evil.connect(wait_synced=False)
        assert await evil.wait_closed() == 4403
        assert not [f for f in evil.received if f[:1] == b"\x00"]  # not one byte of the pad
    own = YClient(live.ws_url(private), headers={**cookie, "Origin": live.url})
    # On a public pad the foreign page is just another anonymous visitor.
    embedded = YClient(live.ws_url(public), headers={**cookie, "Origin": "http://evil.example"})
    async with clients(own, embedded):
        await own.connect()
        await embedded.connect()
    await user.http.aclose()


async def test_deleting_an_account_closes_its_sockets_4401(class_pad: tuple[Person, Person, str]) -> None:
    _teacher, student, pad = class_pad
    s = YClient(student.ws(pad))
    async with clients(s):
        await s.connect()
        await student.call("DELETE", "/me", 204)
        assert await closed_within(s, REVOKED_WITHIN_S) == 4401


async def test_removing_a_folder_member_closes_sockets_on_every_pad_in_it(live: ServerProcess) -> None:
    teacher, student = await register(live, "t"), await register(live, "s")
    folder = (await teacher.call("POST", "/folders", 201, json={"name": "5B"}))["id"]
    pads = [
        (await teacher.call("POST", "/pads", 201, json={"visibility": "private", "folder_id": folder}))["id"]
        for _ in range(2)
    ]
    await teacher.call("PUT", f"/folders/{folder}/members/{student.name}", 200, json={"role": "editor"})
    ys = [YClient(student.ws(pad)) for pad in pads]
    async with clients(*ys):
        for y in ys:
            await y.connect()
        await teacher.call("DELETE", f"/folders/{folder}/members/{student.name}", 204)
        for y in ys:
            assert await closed_within(y, REVOKED_WITHIN_S) == 4403
    await teacher.http.aclose()
    await student.http.aclose()


async def test_archiving_a_folder_makes_open_sockets_read_only(live: ServerProcess) -> None:
    teacher = await register(live, "t")
    folder = (await teacher.call("POST", "/folders", 201, json={"name": "last year"}))["id"]
    pad = (await teacher.call("POST", "/pads", 201, json={"visibility": "private", "folder_id": folder}))[
        "id"
    ]
    y = YClient(teacher.ws(pad))
    async with clients(y):
        await y.connect()
        y.type("kept ")
        await wait_for(y.all_saved, what="the edit stored")
        await teacher.call("PATCH", f"/folders/{folder}", 200, json={"archived": True})
        y.type("dropped")
        await asyncio.sleep(0.3)
        assert (await teacher.call("GET", f"/pads/{pad}/text", 200))["text"] == "kept "
        assert y.close_code is None
    await teacher.http.aclose()


async def test_an_admin_disabling_a_user_closes_their_sockets(live: ServerProcess) -> None:
    admin, user = await register(live, "a"), await register(live, "u")
    make_admin(live, admin)
    pad = (await user.call("POST", "/pads", 201, json={"visibility": "private"}))["id"]
    y = YClient(user.ws(pad))
    async with clients(y):
        await y.connect()
        await admin.call("PATCH", f"/admin/users/{user.id}", 200, json={"disabled": True})
        assert await closed_within(y, REVOKED_WITHIN_S) == 4401
    await admin.http.aclose()
    await user.http.aclose()


# -- deletion -------------------------------------------------------------------------------------


def stored_rows(server: ServerProcess, pad_id: str) -> tuple[int, ...]:
    with contextlib.closing(sqlite3.connect(server.data_dir / "crdtpad.sqlite3")) as db:
        return tuple(
            db.execute(f"SELECT count(*) FROM {table} WHERE pad_id = ?", (pad_id,)).fetchone()[0]
            for table in ("pad_updates", "pad_snapshots", "pad_members", "share_links")
        )


async def test_deleting_a_pad_closes_everyone_4410_and_erases_it(
    class_pad: tuple[Person, Person, str],
) -> None:
    teacher, student, pad = class_pad
    await teacher.call("POST", f"/pads/{pad}/links", 201, json={"role": "viewer"})
    t, s = YClient(teacher.ws(pad)), YClient(student.ws(pad))
    async with clients(t, s):
        await t.connect()
        await s.connect()
        s.type("derailed chat")
        await wait_for(s.all_saved, what="the edit stored")
        await teacher.call("DELETE", f"/pads/{pad}", 204)
        assert await closed_within(t, REVOKED_WITHIN_S) == 4410
        assert await closed_within(s, REVOKED_WITHIN_S) == 4410
    assert stored_rows(teacher.server, pad) == (0, 0, 0, 0)
    await teacher.call("GET", f"/pads/{pad}", 410)
    await teacher.call("GET", f"/pads/{pad}/text", 410)
    # A stale client holding the whole document reconnects and pushes it: refused, nothing stored.
    stale = YClient(student.ws(pad), doc=s.doc)
    await stale.connect(wait_synced=False)
    assert await stale.wait_closed() == 4410
    await stale.close()
    assert stored_rows(teacher.server, pad) == (0, 0, 0, 0)


async def test_a_deleted_pad_stays_deleted_on_an_open_pads_instance(server: ServerProcess) -> None:
    server.terminate()
    server.env["CRDTPAD_OPEN_PADS"] = "true"
    server.start()
    pad = "the-class-pad"
    y = YClient(server.ws_url(pad))
    await y.connect()
    y.type("to be erased")
    await wait_for(y.all_saved, what="the edit stored")
    admin = await register(server, "a")
    make_admin(server, admin)
    await admin.call("DELETE", f"/admin/pads/{pad}", 204)
    assert await closed_within(y, REVOKED_WITHIN_S) == 4410
    await y.close()
    again = YClient(server.ws_url(pad), doc=y.doc)
    await again.connect(wait_synced=False)
    assert await again.wait_closed() == 4410
    await again.close()
    assert stored_rows(server, pad) == (0, 0, 0, 0)
    await admin.http.aclose()


# -- races ----------------------------------------------------------------------------------------


async def race_typing_against_removal(teacher: Person, student: Person, warmup: int) -> None:
    pad = (await teacher.call("POST", "/pads", 201, json={"visibility": "private"}))["id"]
    await teacher.call("PUT", f"/pads/{pad}/members/{student.name}", 200, json={"role": "editor"})
    s = YClient(student.ws(pad))
    await s.connect()
    typed = 0
    stop = asyncio.Event()

    async def type_on() -> None:
        nonlocal typed
        while not stop.is_set() and s.close_code is None:
            s.type(f"<{typed}>")
            typed += 1
            await asyncio.sleep(0.012)  # under the rate limit (100 messages/s)

    typist = asyncio.create_task(type_on())
    await wait_for(lambda: typed > warmup, what="typing under way")
    await teacher.call("DELETE", f"/pads/{pad}/members/{student.name}", 204)
    at_revocation = (await teacher.call("GET", f"/pads/{pad}/text", 200))["text"]
    assert await closed_within(s, REVOKED_WITHIN_S) == 4403
    stop.set()
    await typist
    await asyncio.sleep(0.3)
    after = (await teacher.call("GET", f"/pads/{pad}/text", 200))["text"]
    assert after == at_revocation
    # What was applied is a prefix of what was typed: nothing skipped, nothing reordered.
    assert after == "".join(f"<{i}>" for i in range(after.count("<")))
    await s.close()


async def test_an_edit_racing_a_revocation_is_applied_before_it_or_not_at_all(live: ServerProcess) -> None:
    """The student types while the teacher removes them. Whatever the server applied, it applied
    before the removal answered: the text never changes after."""
    teacher, student = await register(live, "t"), await register(live, "s")
    for round_ in range(5):
        await race_typing_against_removal(teacher, student, warmup=5 + round_ * 5)
    await teacher.http.aclose()
    await student.http.aclose()


async def test_a_socket_admitted_while_its_access_is_revoked_is_rechecked(live: ServerProcess) -> None:
    """Many connects race one removal: every socket that outlives the removal was re-checked."""
    teacher, student = await register(live, "t"), await register(live, "s")
    pad = (await teacher.call("POST", "/pads", 201, json={"visibility": "private"}))["id"]
    await teacher.call("PUT", f"/pads/{pad}/members/{student.name}", 200, json={"role": "editor"})
    ys = [YClient(student.ws(pad)) for _ in range(20)]
    connecting = [asyncio.create_task(y.connect(wait_synced=False)) for y in ys]
    await asyncio.sleep(0.01)
    await teacher.call("DELETE", f"/pads/{pad}/members/{student.name}", 204)
    await asyncio.gather(*connecting)
    for y in ys:
        assert await y.wait_closed() in (4403, 4404)
        await y.close()
    await teacher.http.aclose()
    await student.http.aclose()


# -- the stock JS provider ------------------------------------------------------------------------


async def test_js_provider_with_a_link_token_then_revoked(live: ServerProcess, node_available: None) -> None:
    teacher = await register(live, "t")
    pad = (await teacher.call("POST", "/pads", 201, json={"visibility": "private"}))["id"]
    link = await teacher.call("POST", f"/pads/{pad}/links", 201, json={"role": "editor"})
    node = await NodeClient(f"ws://127.0.0.1:{live.port}/sync", pad, {"token": link["token"]}).start()
    try:
        await node.wait_event("synced")
        await node.call("insert", index=0, text="from the JS provider")
        await wait_for_text(teacher, pad, "from the JS provider")
        started = time.monotonic()
        await teacher.call("DELETE", f"/pads/{pad}/links/{link['id']}", 204)
        close = await node.wait_event("close", timeout=REVOKED_WITHIN_S + 1)
        assert close["code"] == 4401
        assert time.monotonic() - started < REVOKED_WITHIN_S + 0.5
    finally:
        await node.stop()
    await teacher.http.aclose()


async def test_js_provider_as_viewer_changes_nothing(live: ServerProcess, node_available: None) -> None:
    teacher = await register(live, "t")
    pad = (await teacher.call("POST", "/pads", 201, json={"visibility": "private"}))["id"]
    await teacher.call("PUT", f"/pads/{pad}/text", 200, json={"text": "read me"})
    link = await teacher.call("POST", f"/pads/{pad}/links", 201, json={"role": "viewer"})
    node = await NodeClient(f"ws://127.0.0.1:{live.port}/sync", pad, {"token": link["token"]}).start()
    try:
        await node.wait_event("synced")
        assert await node.text() == "read me"
        await node.call("insert", index=0, text="scribble ")
        await asyncio.sleep(0.5)
        assert (await teacher.call("GET", f"/pads/{pad}/text", 200))["text"] == "read me"
        stats = await node.call("stats")
        assert stats["closes"] == [] and stats["wsconnected"]
    finally:
        await node.stop()
    await teacher.http.aclose()


async def test_js_provider_sees_4410_when_the_pad_is_deleted(
    live: ServerProcess, node_available: None
) -> None:
    owner = await register(live, "o")
    pad = (await owner.call("POST", "/pads", 201, json={}))["id"]
    node = await NodeClient(f"ws://127.0.0.1:{live.port}/sync", pad).start()
    try:
        await node.wait_event("synced")
        await owner.call("DELETE", f"/pads/{pad}", 204)
        assert (await node.wait_event("close", timeout=REVOKED_WITHIN_S + 1))["code"] == 4410
    finally:
        await node.stop()
    await owner.call("GET", f"/pads/{pad}", 410)
    await owner.http.aclose()


async def wait_for_text(who: Person, pad: str, expected: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        text = (await who.call("GET", f"/pads/{pad}/text", 200))["text"]
        if text == expected:
            return
        assert time.monotonic() < deadline, f"pad text is {text!r}, not {expected!r}"
        await asyncio.sleep(0.05)


# -- expiry ---------------------------------------------------------------------------------------


async def test_a_session_that_expires_closes_its_socket_4401(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "data", CRDTPAD_SESSION_TTL_S="2") as server:
        user = await register(server, "u")
        pad = (await user.call("POST", "/pads", 201, json={"visibility": "private"}))["id"]
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as browser:
            await browser.post("/api/v1/auth/login", json={"username": user.name, "password": PASSWORD})
            cookie = browser.cookies["crdtpad_session"]
        started = time.monotonic()
        y = YClient(server.ws_url(pad), headers={"Cookie": f"crdtpad_session={cookie}", "Origin": server.url})
        async with clients(y):
            await y.connect()
            assert await y.wait_closed(timeout=2 + REVOKED_WITHIN_S) == 4401
            assert time.monotonic() - started >= 1.0  # not before its time
        await user.http.aclose()


async def test_a_link_that_expires_closes_its_socket_4401(live: ServerProcess) -> None:
    owner = await register(live, "o")
    pad = (await owner.call("POST", "/pads", 201, json={"visibility": "private"}))["id"]
    link = await owner.call("POST", f"/pads/{pad}/links", 201, json={"role": "viewer", "expires_in": 60})
    soon = int(time.time() * 1000) + 1500
    with contextlib.closing(sqlite3.connect(live.data_dir / "crdtpad.sqlite3")) as db, db:
        db.execute("UPDATE share_links SET expires_at = ? WHERE id = ?", (soon, link["id"]))
    y = YClient(f"{live.ws_url(pad)}?token={link['token']}")
    async with clients(y):
        await y.connect()
        assert await y.wait_closed(timeout=1.5 + REVOKED_WITHIN_S) == 4401
        assert time.time() * 1000 >= soon - 50
    await owner.http.aclose()
