"""The embedder's endpoints: append text, who is here, Etherpad-style counts."""

from __future__ import annotations

import httpx

from crdtpad.sync import protocol as p
from crdtpad.sync.protocol import AwarenessEntry
from tests.support import ServerProcess, YClient, wait_for


async def test_append_users_and_stats(server: ServerProcess) -> None:
    pad = server.create_pad()
    y = YClient(server.ws_url(pad))
    await y.connect()
    y.type("Hello\n")
    await wait_for(y.all_saved, what="the first text stored")
    await y.send_raw(
        p.awareness_frame([AwarenessEntry(y.doc.client_id, 1, '{"user":{"name":"Ana","color":"#aa3344"}}')])
    )
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        r = await c.post(f"/api/v1/pads/{pad}/text/append", json={"text": "world ☀"})
        assert r.status_code == 204, r.text
        await wait_for(lambda: str(y) == "Helloworld ☀\n", what="the appended text reaching the client")
        people = (await c.get(f"/api/v1/pads/{pad}/users")).json()
        assert [(x["name"], x["color"]) for x in people] == [("Ana", "#aa3344")]
        stats = (await c.get(f"/api/v1/pads/{pad}/stats")).json()
        assert stats["chars"] == len("Helloworld ☀\n") and stats["lines"] == 1 and stats["connections"] == 1
        assert stats["last_edited"] > 0
        assert (await c.get("/api/v1/pads/unknown-pad-id-xyz/stats")).status_code == 404
    await y.close()
