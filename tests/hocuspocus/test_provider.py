"""The stock ``@hocuspocus/provider`` 4.8.0 against a real server, beside y-websocket clients."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.hocuspocus.clients import HocuspocusNode, RawClient, auth, hp_url
from tests.support import PASSWORD, NodeClient, Person, ServerProcess, YClient, person, wait_for

pytestmark = [pytest.mark.node, pytest.mark.usefixtures("hocuspocus_provider")]


def pad_id() -> str:
    return "hp-" + uuid.uuid4().hex[:12]


async def test_provider_edits_are_stored_and_reach_another_provider(hp_server: ServerProcess) -> None:
    pad = pad_id()
    async with HocuspocusNode(hp_url(hp_server)) as a, HocuspocusNode(hp_url(hp_server)) as b:
        await a.open(pad, own=True)  # new HocuspocusProvider({url, name, token, WebSocketPolyfill})
        await b.open(pad, own=True)
        assert (await a.wait("authenticated", pad))["scope"] == "read-write"
        await a.insert(pad, "hello from hocuspocus")
        await b.wait_text(pad, "hello from hocuspocus")
        await a.wait_saved(pad)
        assert hp_server.text(pad) == "hello from hocuspocus"
        await b.insert(pad, "! ", 0)
        await a.wait_text(pad, "! hello from hocuspocus")
        await b.wait_saved(pad)
        assert hp_server.text(pad) == "! hello from hocuspocus"
        assert not a.seen("socket-close") and not b.seen("socket-close")


async def test_hocuspocus_and_y_websocket_clients_converge(hp_server: ServerProcess) -> None:
    pad = pad_id()
    js = await NodeClient(f"ws://127.0.0.1:{hp_server.port}/sync", pad).start()
    py = await YClient(hp_server.ws_url(pad)).connect()
    try:
        async with HocuspocusNode(hp_url(hp_server)) as hp:
            await hp.open(pad)
            await js.wait_event("synced")
            await hp.call("awareness", pad=pad, state={"name": "hocus"})
            for i in range(10):  # all three type at once
                await hp.insert(pad, f"h{i} ")
                await js.call("insert", index=0, text=f"j{i} ")
                py.type(f"p{i} ")
            await hp.wait_saved(pad)
            await wait_for(py.all_saved, what="the Python client's edits stored")
            expected = hp_server.text(pad)
            assert len(expected) == 3 * 10 * 3
            await hp.wait_text(pad, expected)
            await wait_for(lambda: str(py) == expected, what="the Python client to converge")
            assert await js.text() == expected
            # Presence crosses the dialects too.
            peers = (await js.call("peers"))["states"]
            assert {"name": "hocus"} in [s.get("user") for s in peers.values()]
    finally:
        await js.stop()
        await py.close()


async def test_several_pads_share_one_socket(hp_server: ServerProcess) -> None:
    pads = [pad_id() for _ in range(4)]
    async with HocuspocusNode(hp_url(hp_server)) as hp:
        for pad in pads:
            await hp.open(pad)
        for i, pad in enumerate(pads):
            await hp.insert(pad, f"pad {i} only")
        for pad in pads:
            await hp.wait_saved(pad)
        assert [hp_server.text(pad) for pad in pads] == [f"pad {i} only" for i in range(4)]
        # Edits from elsewhere reach the right pad on the shared socket, and only it.
        readers = [await YClient(hp_server.ws_url(pad)).connect() for pad in pads]
        try:
            readers[2].type("+", 0)
            await hp.wait_text(pads[2], "+pad 2 only")
            assert [await hp.text(pad) for pad in pads] == [
                "pad 0 only",
                "pad 1 only",
                "+pad 2 only",
                "pad 3 only",
            ]
        finally:
            for r in readers:
                await r.close()
        assert (await hp.call("sockets"))["opened"] == 1
        assert not hp.seen("socket-close")


async def test_session_aware_providers_share_one_document_on_one_socket(hp_server: ServerProcess) -> None:
    pad = pad_id()
    async with HocuspocusNode(hp_url(hp_server)) as hp:
        await hp.open("left", name=pad)  # addresses "pad\0sessionId"
        await hp.open("right", name=pad)
        await hp.insert("left", "left ")
        await hp.wait_text("right", "left ")
        await hp.insert("right", "right", 5)
        await hp.wait_text("left", "left right")
        await hp.wait_saved("left")
        await hp.wait_saved("right")
        assert hp_server.text(pad) == "left right"
        assert (await hp.call("sockets"))["opened"] == 1


async def test_offline_edits_come_in_when_the_shared_socket_reconnects(hp_server: ServerProcess) -> None:
    a, b = pad_id(), pad_id()
    async with HocuspocusNode(hp_url(hp_server)) as hp:
        await hp.open(a)
        await hp.open(b)
        await hp.insert(a, "online ")
        await hp.wait_saved(a)
        await hp.call("disconnect")
        await hp.wait("socket-close")
        await hp.insert(a, "offline a")
        await hp.insert(b, "offline b")
        assert hp_server.text(a) == "online "
        mark = len(hp.events)
        await hp.call("connect")
        await hp.wait("synced", a, after=mark)
        await hp.wait_saved(a)
        await hp.wait_saved(b)
        assert (hp_server.text(a), hp_server.text(b)) == ("online offline a", "offline b")


async def test_forced_resyncs_are_answered_so_nothing_stays_unsynced(hp_server: ServerProcess) -> None:
    pad = pad_id()
    async with HocuspocusNode(hp_url(hp_server)) as hp:
        await hp.open(pad, force_sync_ms=150)  # a SyncStep1 every 150 ms resets the count to 1
        await hp.insert(pad, "forced")
        await wait_for(
            lambda: len([e for e in hp.seen("unsynced", pad) if e["number"] == 1]) >= 3,
            what="three forced resyncs",
        )
        await hp.wait_saved(pad)  # ... and each came back to 0
        assert hp_server.text(pad) == "forced"


async def test_a_viewer_gets_readonly_and_its_edits_are_refused_never_stored_or_relayed(
    hp_server: ServerProcess,
) -> None:
    async with person(hp_server, "owner") as owner:
        pad = await owner.pad("private")
        await owner.call("PUT", f"/pads/{pad}/text", 200, json={"text": "base"})
        _, viewer_token = await owner.link(pad, "viewer")
        async with HocuspocusNode(hp_url(hp_server)) as editor, HocuspocusNode(hp_url(hp_server)) as viewer:
            await editor.open(pad, owner.token)
            await viewer.open(pad, viewer_token)
            assert (await editor.wait("authenticated", pad))["scope"] == "read-write"
            assert (await viewer.wait("authenticated", pad))["scope"] == "readonly"
            await viewer.wait_text(pad, "base")
            await viewer.wait_saved(pad)  # its (empty) SyncStep2 brought nothing new: acknowledged
            mark = len(viewer.events)
            await viewer.insert(pad, "VIEWER ", 0)
            refused = await viewer.wait("sync-status", pad, after=mark)
            assert refused["ok"] is False
            assert (await viewer.state(pad))["unsynced"] == 1  # the provider knows it is not saved
            # The editor's next edit is stored and reaches the viewer; the viewer's never did.
            await editor.insert(pad, "editor ", 0)
            await editor.wait_saved(pad)
            for _ in range(200):
                if "editor " in (seen := await viewer.text(pad)):
                    break
                await asyncio.sleep(0.05)
            assert sorted(seen.split(" ")) == ["VIEWER", "base", "editor"]  # its own edit stays local
            assert await editor.text(pad) == "editor base"
            assert await owner.text(pad) == "editor base"


async def test_a_private_pad_without_token_is_denied_and_the_socket_serves_other_pads(
    hp_server: ServerProcess,
) -> None:
    public = pad_id()
    async with person(hp_server, "owner") as owner:
        private = await owner.pad("private")
        async with HocuspocusNode(hp_url(hp_server)) as hp:
            await hp.open(private, synced=False)
            denied = await hp.wait("denied", private)
            assert denied["reason"] == f"4404: No pad has the id {private}."
            await hp.open("bogus-token-pad", "cpt_not-a-real-token", synced=False)
            assert (await hp.wait("denied", "bogus-token-pad"))["reason"].startswith("4401: ")
            await hp.open(public)
            await hp.insert(public, "still fine")
            await hp.wait_saved(public)
            assert hp_server.text(public) == "still fine"
            assert await owner.text(private) == ""
            state = await hp.state(private)
            assert state["authenticated"] is False and state["synced"] is False
            assert (await hp.call("sockets"))["opened"] == 1
            assert not hp.seen("socket-close")


async def test_revoking_access_ends_only_that_pad_on_a_shared_socket(hp_server: ServerProcess) -> None:
    async with person(hp_server, "owner") as owner:
        a, b, c = await owner.pad("private"), await owner.pad("private"), await owner.pad("private")
        link_a, token_a = await owner.link(a, "editor")
        _, token_b = await owner.link(b, "editor")
        _, token_c = await owner.link(c, "editor")
        async with HocuspocusNode(hp_url(hp_server)) as hp:
            for pad, token in ((a, token_a), (b, token_b), (c, token_c)):
                await hp.open(pad, token)
            await hp.insert(a, "a before")
            await hp.wait_saved(a)
            await owner.call("DELETE", f"/pads/{a}/links/{link_a}", 204)
            assert (await hp.wait("denied", a, timeout=5))["reason"] == (
                "4401: The share link or unlock token is unknown, revoked or expired."
            )
            assert (await hp.wait("doc-close", a, timeout=5))["reason"].startswith("4401: ")
            await owner.call("DELETE", f"/pads/{c}", 204)
            assert (await hp.wait("denied", c, timeout=5))["reason"] == "4410: the pad was deleted"
            # The other pad on the socket carries on; the ended one's edits go nowhere.
            await hp.insert(a, " after")
            await hp.insert(b, "b goes on")
            await hp.wait_saved(b)
            assert await owner.text(b) == "b goes on"
            assert await owner.text(a) == "a before"
            assert not hp.seen("socket-close") and (await hp.call("sockets"))["opened"] == 1


async def test_narrowing_a_member_to_viewer_is_announced_and_refuses_its_edits(
    hp_server: ServerProcess,
) -> None:
    async with person(hp_server, "owner") as owner, person(hp_server, "member") as member:
        pad = await owner.pad("private")
        await owner.call("PUT", f"/pads/{pad}/members/{member.name}", 200, json={"role": "editor"})
        async with HocuspocusNode(hp_url(hp_server)) as hp:
            await hp.open(pad, member.token)
            await hp.insert(pad, "as editor")
            await hp.wait_saved(pad)
            mark = len(hp.events)
            await owner.call("PUT", f"/pads/{pad}/members/{member.name}", 200, json={"role": "viewer"})
            await hp.insert(pad, ", as viewer")
            assert (await hp.wait("authenticated", pad, after=mark))["scope"] == "readonly"
            assert (await hp.wait("sync-status", pad, after=mark))["ok"] is False
            assert await owner.text(pad) == "as editor"
            mark = len(hp.events)
            # Widened again: announced, and the refused edit comes in like an offline one.
            await owner.call("PUT", f"/pads/{pad}/members/{member.name}", 200, json={"role": "editor"})
            assert (await hp.wait("authenticated", pad, after=mark))["scope"] == "read-write"
            await wait_for_text(owner, pad, "as editor, as viewer")


async def wait_for_text(owner: Person, pad: str, text: str) -> None:
    for _ in range(200):
        if await owner.text(pad) == text:
            return
        await asyncio.sleep(0.05)
    assert await owner.text(pad) == text


async def test_stateless_messages_reach_the_pads_other_providers(hp_server: ServerProcess) -> None:
    pad = pad_id()
    async with HocuspocusNode(hp_url(hp_server)) as a, HocuspocusNode(hp_url(hp_server)) as b:
        await a.open(pad)
        await b.open(pad)
        await a.call("stateless", pad=pad, payload='{"comment": "hi"}')
        assert (await b.wait("stateless", pad))["payload"] == '{"comment": "hi"}'
        await b.insert(pad, "x")  # round trip: anything a would have got back has arrived by then
        await a.wait_text(pad, "x")
        assert not a.seen("stateless")


async def test_a_detached_provider_leaves_the_room(hp_server: ServerProcess) -> None:
    async with person(hp_server, "owner") as owner:
        pad = await owner.pad("public")
        async with HocuspocusNode(hp_url(hp_server)) as hp:
            await hp.open(pad)
            await hp.open(other := pad_id())
            assert (await owner.call("GET", f"/pads/{pad}/stats", 200))["connections"] == 1
            await hp.call("detach", pad=pad)
            for _ in range(100):
                if (await owner.call("GET", f"/pads/{pad}/stats", 200))["connections"] == 0:
                    break
                await asyncio.sleep(0.05)
            assert (await owner.call("GET", f"/pads/{pad}/stats", 200))["connections"] == 0
            await hp.insert(other, "the socket stays")
            await hp.wait_saved(other)


async def test_the_session_cookie_counts_only_from_our_own_origin(hp_server: ServerProcess) -> None:
    async with person(hp_server, "owner") as owner:
        pad = await owner.pad("private")
        async with httpx.AsyncClient(base_url=hp_server.url, timeout=10) as browser:
            r = await browser.post("/api/v1/auth/login", json={"username": owner.name, "password": PASSWORD})
            assert r.status_code == 200, r.text
            cookie = f"crdtpad_session={browser.cookies['crdtpad_session']}"
        own = RawClient(hp_url(hp_server), {"Cookie": cookie, "Origin": hp_server.url})
        foreign = RawClient(hp_url(hp_server), {"Cookie": cookie, "Origin": "https://evil.example"})
        async with own, foreign:
            await own.send(auth(pad))  # the provider's token is empty: the cookie speaks
            await foreign.send(auth(pad))
            (admitted,) = await own.wait(pad, 2)
            (refused,) = await foreign.wait(pad, 2)
            assert admitted.body[:1] == b"\x02" and admitted.string(skip=1) == "read-write"
            assert refused.body[:1] == b"\x01"
            assert refused.string(skip=1) == (
                "4403: The session cookie is not accepted from the origin 'https://evil.example'."
            )
