"""Chat moderation over HTTP: owners and folder admins delete a message or clear the chat; it
goes from every open page at once."""

from __future__ import annotations

import httpx
import pycrdt

from tests.support import ServerProcess, YClient, wait_for


def say(y: YClient, mid: str, text: str) -> None:
    y.doc.get("chat", type=pycrdt.Array).append(
        {"id": mid, "author": "kid", "color": "#123456", "text": text, "at": 1}
    )


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
