"""The chat: owners and folder admins delete a message, clear the chat or turn it off, and it
takes effect on every open page at once; the server refuses messages that name another author
or break the bounds, before any other client sees them."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import httpx
import pycrdt

from tests.support import ServerProcess, YClient, wait_for


def say(y: YClient, mid: str, text: str, author_id: str = "anon:kid", **more: object) -> None:
    y.doc.get("chat", type=pycrdt.Array).append(
        {
            "id": mid,
            "author_id": author_id,
            "author": "kid",
            "color": "#123456",
            "text": text,
            "at": 1,
            **more,
        }
    )


def ids(y: YClient) -> list[str]:
    return [m["id"] for m in y.doc.get("chat", type=pycrdt.Array).to_py() or []]


async def teacher(c: httpx.AsyncClient) -> dict[str, str]:
    """Register and log in "teacher" on ``c``; the CSRF header for its writes."""
    await c.post("/api/v1/auth/register", json={"username": "teacher", "password": "correct horse battery"})
    r = await c.post("/api/v1/auth/login", json={"username": "teacher", "password": "correct horse battery"})
    return {"X-CSRF-Token": r.json()["csrf_token"]}


async def test_an_owner_deletes_a_message_then_clears_the_chat(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        await c.post(
            "/api/v1/auth/register", json={"username": "teacher", "password": "correct horse battery"}
        )
        r = await c.post(
            "/api/v1/auth/login", json={"username": "teacher", "password": "correct horse battery"}
        )
        csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
        pad = (await c.post("/api/v1/pads", json={"title": "class"}, headers=csrf)).json()["id"]  # public
        a, b = YClient(server.ws_url(pad)), YClient(server.ws_url(pad))
        await a.connect()
        await b.connect()
        say(a, "m1", "hello")
        say(a, "m2", "something rude")
        # b answers after seeing them (concurrent appends would be ordered by client id instead).
        await wait_for(lambda: len(b.doc.get("chat", type=pycrdt.Array)) == 2, what="b seeing a's messages")
        say(b, "m3", "bye")
        await wait_for(lambda: len(b.doc.get("chat", type=pycrdt.Array)) == 3, what="chat relayed")
        await wait_for(a.all_saved, what="a's chat stored")
        await wait_for(b.all_saved, what="b's chat stored")
        assert [m["id"] for m in (await c.get(f"/api/v1/pads/{pad}/chat")).json()] == ["m1", "m2", "m3"]
        # Anyone may read; only the owner moderates (a public pad's visitors are editors).
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as visitor:
            assert (await visitor.delete(f"/api/v1/pads/{pad}/chat/m2")).status_code == 403
        r = await c.delete(f"/api/v1/pads/{pad}/chat/m2", headers=csrf)
        assert r.status_code == 200 and r.json() == {"removed": 1}
        await wait_for(
            lambda: [m["id"] for m in b.doc.get("chat", type=pycrdt.Array).to_py()] == ["m1", "m3"],
            what="the message gone from an open page",
        )
        assert (await c.delete(f"/api/v1/pads/{pad}/chat/m2", headers=csrf)).status_code == 404
        r = await c.delete(f"/api/v1/pads/{pad}/chat", headers=csrf)
        assert r.json() == {"removed": 2}
        await wait_for(
            lambda: len(a.doc.get("chat", type=pycrdt.Array)) == 0, what="the chat cleared everywhere"
        )
        assert (await c.get(f"/api/v1/pads/{pad}/chat")).json() == []
        assert a.close_code is None and b.close_code is None
        await a.close()
        await b.close()


async def test_a_message_must_name_its_sender(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        csrf = await teacher(c)
        pad = (await c.post("/api/v1/pads", json={"title": "class"}, headers=csrf)).json()["id"]  # public
        token = (await c.post("/api/v1/tokens", json={"name": "bot"}, headers=csrf)).json()["token"]
        me = YClient(server.ws_url(pad) + f"?token={token}")
        anon, watcher = YClient(server.ws_url(pad)), YClient(server.ws_url(pad))
        for y in (me, anon, watcher):
            await y.connect()
        shown: list[str] = []  # every message the watcher's chat ever showed, even for a moment
        kept = watcher.doc.get("chat", type=pycrdt.Array).observe(
            lambda e: shown.extend(v["id"] for op in e.delta for v in op.get("insert", ()))
        )
        say(me, "mine", "as myself", author_id="user:teacher")
        say(anon, "anon", "as a guest")
        await wait_for(lambda: sorted(ids(watcher)) == ["anon", "mine"], what="both allowed messages")

        cases = [
            (anon, {"author_id": "user:teacher"}, "may only post as anon:"),  # a guest posing as an account
            (me, {"author_id": "user:someone"}, "posts as 'user:teacher'"),  # an account posing as another
            (me, {"author_id": "anon:x"}, "posts as 'user:teacher'"),  # an account hiding behind anon:
            (anon, {"text": "x" * 2001}, "over 2000 characters"),
            (anon, {"extra": "field"}, "no field 'extra'"),
        ]
        for i, (y, change, reason) in enumerate(cases):
            y = y if y.close_code is None else await YClient(y.url).connect()
            fields = {"author_id": "user:teacher" if y.url.endswith(token) else "anon:kid", "text": "forged"}
            fields.update(change)
            author_id = str(fields.pop("author_id"))
            say(y, f"bad{i}", str(fields.pop("text")), author_id=author_id, **fields)
            assert await y.wait_closed() == 4400, change
            assert "Chat message refused" in y.close_reason and reason in y.close_reason, y.close_reason
            if y.url.endswith(token):
                me = y
            else:
                anon = y
        # Nobody else ever saw them, and they are not stored.
        say(watcher, "after", "still here")
        await wait_for(lambda: "after" in ids(watcher), what="the watcher's own message")
        await wait_for(watcher.all_saved, what="the watcher's message stored")
        assert sorted(ids(watcher)) == ["after", "anon", "mine"]
        assert sorted(shown) == ["after", "anon", "mine"], shown
        del kept
        stored = [m["id"] for m in (await c.get(f"/api/v1/pads/{pad}/chat")).json()]
        assert sorted(stored) == ["after", "anon", "mine"]
        fresh = await YClient(server.ws_url(pad)).connect()
        assert sorted(ids(fresh)) == ["after", "anon", "mine"]
        assert watcher.close_code is None
        for y in (fresh, watcher):
            await y.close()


async def test_the_owner_turns_the_chat_off_and_on(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        csrf = await teacher(c)
        pad = (await c.post("/api/v1/pads", json={"title": "class"}, headers=csrf)).json()["id"]
        r = await c.patch(f"/api/v1/pads/{pad}", json={"chat": False}, headers=csrf)
        assert r.status_code == 200 and r.json()["chat"] is False
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as visitor:
            r = await visitor.patch(f"/api/v1/pads/{pad}", json={"chat": True})
            assert r.status_code == 403  # a visitor of a public pad edits text, not settings
            assert (await visitor.get(f"/api/v1/pads/{pad}")).json()["chat"] is False
        # Loaded with the chat off: a message vanishes at once, nobody is closed (the page may not know).
        a, b = YClient(server.ws_url(pad)), YClient(server.ws_url(pad))
        await a.connect()
        await b.connect()
        say(a, "m1", "anyone there?")
        b.type("text still works")
        await wait_for(lambda: str(a) == "text still works", what="text relayed while chat is off")
        await wait_for(a.all_saved, what="a's update taken")
        await wait_for(lambda: ids(a) == [], what="the message undone on the sender")
        assert ids(b) == [] and (await c.get(f"/api/v1/pads/{pad}/chat")).json() == []
        assert a.close_code is None and b.close_code is None
        # Turned on again while the room is live: messages go through.
        assert (await c.patch(f"/api/v1/pads/{pad}", json={"chat": True}, headers=csrf)).json()["chat"]
        say(a, "m2", "now?")
        await wait_for(lambda: ids(b) == ["m2"], what="a message once the chat is back on")
        await a.close()
        await b.close()


def stored_blobs(data_dir: Path, pad_id: str) -> list[bytes]:
    """Every blob the database holds for the pad: log rows, snapshot, revisions."""
    with contextlib.closing(sqlite3.connect(data_dir / "crdtpad.sqlite3")) as db:
        return [
            bytes(row[0])
            for table in ("pad_updates", "pad_snapshots", "pad_revisions")
            for row in db.execute(f"SELECT data FROM {table} WHERE pad_id = ?", (pad_id,))
        ]


def anywhere(data_dir: Path, pad_id: str, secret: bytes) -> bool:
    return any(secret in blob for blob in stored_blobs(data_dir, pad_id))


async def test_a_deleted_message_leaves_no_trace_on_disk(server: ServerProcess) -> None:
    """A teacher deleting a derailed message erases it: not in the log, the snapshot, the history,
    nor (the server stopped) anywhere in the database file's bytes."""
    rude, kept = b"RUDE-0f3a9c-derailed", b"KEPT-77b1e2-fine"
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        csrf = await teacher(c)
        pad = (await c.post("/api/v1/pads", json={"title": "class"}, headers=csrf)).json()["id"]
        kid = await YClient(server.ws_url(pad)).connect()
        say(kid, "m1", kept.decode())
        say(kid, "m2", rude.decode())
        await wait_for(kid.all_saved, what="the chat stored")
        # A saved revision holds the whole document, chat included.
        assert (
            await c.post(f"/api/v1/pads/{pad}/revisions", json={"name": "before"}, headers=csrf)
        ).status_code == 201
        assert anywhere(server.data_dir, pad, rude)

        assert (await c.delete(f"/api/v1/pads/{pad}/chat/m2", headers=csrf)).json() == {"removed": 1}
        await wait_for(
            lambda: not anywhere(server.data_dir, pad, rude), what="the message erased from the store"
        )
        assert anywhere(server.data_dir, pad, kept)  # the other message stays, in the history too
        revs = (await c.get(f"/api/v1/pads/{pad}/revisions")).json()
        assert [r["name"] for r in revs] == ["before"]
        export = await c.get(f"/api/v1/pads/{pad}/revisions/{revs[0]['rev']}/export/yjs")
        assert export.status_code == 200 and rude not in export.content and kept in export.content
        assert ids(kid) == ["m1"] and kid.close_code is None
        await kid.close()
    assert server.terminate() == 0
    files = [p for p in server.data_dir.iterdir() if p.name.startswith("crdtpad.sqlite3")]
    assert files and not any(rude in p.read_bytes() for p in files), [p.name for p in files]
    assert any(kept in p.read_bytes() for p in files)


async def test_a_refused_message_leaves_the_store_soon(server: ServerProcess) -> None:
    forged = b"FORGED-5d2c81-as-the-teacher"
    pad = server.create_pad()
    watcher = await YClient(server.ws_url(pad)).connect()  # keeps the room loaded (unloading compacts)
    kid = await YClient(server.ws_url(pad)).connect()
    say(kid, "x", forged.decode(), author_id="user:teacher")
    assert await kid.wait_closed() == 4400

    # The update is logged with its refusal (deleted in the same step); the room then folds its
    # log into a snapshot although a client keeps it loaded (unloading would compact anyway).
    def compacted() -> bool:
        with contextlib.closing(sqlite3.connect(server.data_dir / "crdtpad.sqlite3")) as db:
            rows = db.execute("SELECT count(*) FROM pad_snapshots WHERE pad_id = ?", (pad,)).fetchone()[0]
        return rows > 0 and not anywhere(server.data_dir, pad, forged)

    await wait_for(compacted, what="the refused text compacted away")
    fresh = await YClient(server.ws_url(pad)).connect()
    assert ids(fresh) == [] and ids(watcher) == [] and watcher.close_code is None
    for y in (fresh, watcher):
        await y.close()


async def test_a_message_a_client_already_deleted_is_still_erased_from_the_history(
    server: ServerProcess,
) -> None:
    rude = b"RUDE-a41f07-already-gone-live"
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        csrf = await teacher(c)
        pad = (await c.post("/api/v1/pads", json={"title": "class"}, headers=csrf)).json()["id"]
        kid = await YClient(server.ws_url(pad)).connect()
        say(kid, "m1", rude.decode())
        await wait_for(kid.all_saved, what="the chat stored")
        r = await c.post(f"/api/v1/pads/{pad}/revisions", json={"name": "with it"}, headers=csrf)
        assert r.status_code == 201
        del kid.doc.get("chat", type=pycrdt.Array)[0]  # any editor may delete a message live
        await wait_for(kid.all_saved, what="the deletion stored")
        assert anywhere(server.data_dir, pad, rude)  # the saved revision still holds it
        r = await c.delete(f"/api/v1/pads/{pad}/chat/m1", headers=csrf)
        assert r.status_code == 200 and r.json() == {"removed": 0}  # not live, but erased all the same
        await wait_for(lambda: not anywhere(server.data_dir, pad, rude), what="the message erased")
        assert (await c.delete(f"/api/v1/pads/{pad}/chat/m1", headers=csrf)).status_code == 404
        await kid.close()
