"""Clients converge through a real server, and what they typed survives restarts and SIGKILL."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import uuid
from pathlib import Path

import httpx
import pycrdt
import pytest
import websockets

from crdtpad.sync import protocol as p
from tests.support import NodeClient, ServerProcess, YClient, wait_for


def pad() -> str:
    return "t-" + uuid.uuid4().hex[:12]


async def test_two_clients_converge(shared_server: ServerProcess) -> None:
    pad_id = pad()
    a = await YClient(shared_server.ws_url(pad_id)).connect()
    b = await YClient(shared_server.ws_url(pad_id)).connect()
    a.type("hello ")
    b.type("world")
    await wait_for(lambda: str(a) == str(b) and len(str(a)) == 11, what="convergence")
    assert "hello " in str(a) and "world" in str(a)
    await a.close()
    await b.close()


async def test_fifty_clients_converge(shared_server: ServerProcess) -> None:
    pad_id = pad()
    clients = await asyncio.gather(*(YClient(shared_server.ws_url(pad_id)).connect() for _ in range(50)))
    for i, c in enumerate(clients):
        c.type(f"<{i}>")
    expected = sum(len(f"<{i}>") for i in range(50))
    await wait_for(
        lambda: all(len(str(c)) == expected for c in clients) and len({str(c) for c in clients}) == 1,
        timeout=30,
        what="50 clients to converge",
    )
    assert all(f"<{i}>" in str(clients[0]) for i in range(50))
    await asyncio.gather(*(c.close() for c in clients))
    assert shared_server.text(pad_id) == str(clients[0])


async def test_sender_gets_its_update_back_once_stored(shared_server: ServerProcess) -> None:
    pad_id = pad()
    a = await YClient(shared_server.ws_url(pad_id)).connect()
    a.type("saved?")
    await wait_for(a.all_saved, what="the echo that says the edit is stored")
    # The echo came after the commit, so a fresh load from the store has it.
    assert shared_server.text(pad_id) == "saved?"
    await a.close()


@pytest.mark.node
async def test_js_provider_and_python_client_converge(
    shared_server: ServerProcess, node_available: None
) -> None:
    pad_id = pad()
    js = await NodeClient(f"ws://127.0.0.1:{shared_server.port}/sync", pad_id).start()
    try:
        await js.wait_event("synced")
        py = await YClient(shared_server.ws_url(pad_id)).connect()
        await js.call("insert", index=0, text="from js. ")
        py.type("from python.")
        await wait_for(lambda: "from js." in str(py) and "from python." in str(py), what="python to see both")
        for _ in range(200):
            if await js.text() == str(py):
                break
            await asyncio.sleep(0.05)
        assert await js.text() == str(py)
        await py.close()
    finally:
        await js.stop()


@pytest.mark.node
async def test_js_provider_refused_pad_stops_reconnecting(
    server: ServerProcess, node_available: None
) -> None:
    js = await NodeClient(f"ws://127.0.0.1:{server.port}/sync", "no-such-pad").start()
    try:
        closed = await js.wait_event("close")
        assert closed["code"] == 4404
        await js.wait_event("closed")  # the provider gave up: 4400-4499 are permanent
        await asyncio.sleep(1.0)
        assert len([e for e in js.events if e.get("ev") == "close"]) == 1
    finally:
        await js.stop()


async def test_unknown_pad_is_refused_with_4404(server: ServerProcess) -> None:
    c = await YClient(server.ws_url("nobody-made-this")).connect(wait_synced=False)
    assert await c.wait_closed() == 4404


async def test_open_pads_creates_on_connect(shared_server: ServerProcess) -> None:
    pad_id = pad()
    c = await YClient(shared_server.ws_url(pad_id)).connect()
    c.type("x")
    await wait_for(c.all_saved)
    r = httpx.get(f"{shared_server.url}/api/v1/pads/{pad_id}")
    assert r.status_code == 200
    await c.close()


async def test_restart_keeps_everything(server: ServerProcess) -> None:
    pad_id = server.create_pad()
    a = await YClient(server.ws_url(pad_id)).connect()
    for word in ["alpha ", "beta ", "gamma"]:
        a.type(word)
    await wait_for(a.all_saved, what="three stored edits")
    await a.close()
    server.restart()
    b = await YClient(server.ws_url(pad_id)).connect()
    assert str(b) == "alpha beta gamma"
    await b.close()


async def test_sigkill_after_relay_keeps_edit(server: ServerProcess) -> None:
    """An edit another client has seen survives SIGKILL, at random kill points."""
    pad_id = server.create_pad()
    rng = random.Random(1234)
    typed = ""
    for round_ in range(5):
        writer = await YClient(server.ws_url(pad_id)).connect()
        reader = await YClient(server.ws_url(pad_id)).connect()
        assert str(writer) == typed
        for i in range(rng.randint(1, 40)):
            ch = chr(ord("a") + (round_ * 7 + i) % 26)
            writer.type(ch)
            typed += ch
            if rng.random() < 0.3:
                await asyncio.sleep(rng.random() * 0.01)
        # Kill as soon as the reader has seen everything: nothing may be lost after that.
        await wait_for(lambda: str(reader) == typed, what="the reader to see the edits")  # noqa: B023
        server.kill()
        await writer.close()
        await reader.close()
        server.start()
    check = await YClient(server.ws_url(pad_id)).connect()
    assert str(check) == typed
    await check.close()


async def test_offline_edits_merge_on_reconnect(server: ServerProcess) -> None:
    pad_id = server.create_pad()
    a = await YClient(server.ws_url(pad_id)).connect()
    b = await YClient(server.ws_url(pad_id)).connect()
    a.type("shared ")
    await wait_for(lambda: str(b) == "shared ")
    await b.close()  # b goes offline and keeps typing
    b.type("offline-b ")
    a.type("online-a ")
    await b.connect()
    await wait_for(lambda: str(a) == str(b) and "offline-b" in str(a) and "online-a" in str(b))
    await a.close()
    await b.close()


async def test_corrupt_row_fails_loudly_never_empty(server: ServerProcess) -> None:
    pad_id = server.create_pad()
    a = await YClient(server.ws_url(pad_id)).connect()
    a.type("precious")
    await wait_for(a.all_saved)
    await a.close()
    server.terminate()
    db = sqlite3.connect(server.data_dir / "crdtpad.sqlite3")
    rows = db.execute(
        "SELECT 'u', seq FROM pad_updates WHERE pad_id = ? UNION ALL SELECT 's', upto_seq FROM pad_snapshots "
        "WHERE pad_id = ?",
        (pad_id, pad_id),
    ).fetchall()
    assert rows
    db.execute("UPDATE pad_updates SET data = zeroblob(length(data)) WHERE pad_id = ?", (pad_id,))
    db.execute("UPDATE pad_snapshots SET data = zeroblob(length(data)) WHERE pad_id = ?", (pad_id,))
    db.commit()
    db.close()
    server.start()
    c = await YClient(server.ws_url(pad_id)).connect(wait_synced=False)
    assert await c.wait_closed() == 1011
    assert not c.synced.is_set()
    r = httpx.get(f"{server.url}/api/v1/pads/{pad_id}/text")
    assert r.status_code == 500
    assert "checksum" in r.json()["detail"]


async def test_sigterm_closes_with_1001_and_exits_0(server: ServerProcess) -> None:
    pad_id = server.create_pad()
    a = await YClient(server.ws_url(pad_id)).connect()
    a.type("before shutdown")
    await wait_for(a.all_saved)
    assert server.terminate() == 0
    assert await a.wait_closed() == 1001
    server.start()
    assert server.text(pad_id) == "before shutdown"


async def test_idle_room_unloads_and_reloads(server: ServerProcess) -> None:
    pad_id = server.create_pad()
    a = await YClient(server.ws_url(pad_id)).connect()
    a.type("persisted across unload")
    await wait_for(a.all_saved)
    await a.close()

    def loaded() -> int:
        return int(httpx.get(f"{server.url}/healthz").json()["rooms_loaded"])

    await wait_for(lambda: loaded() == 0, timeout=10, what="the room to unload")
    b = await YClient(server.ws_url(pad_id)).connect()
    assert str(b) == "persisted across unload"
    await b.close()


async def test_healthz_and_metrics(shared_server: ServerProcess) -> None:
    assert httpx.get(f"{shared_server.url}/healthz").json()["status"] == "ok"
    text = httpx.get(f"{shared_server.url}/metrics").text
    for series in [
        "crdtpad_connections_open",
        "crdtpad_rooms_loaded",
        "crdtpad_updates_applied_total",
        "crdtpad_bytes_received_total",
        "crdtpad_bytes_sent_total",
        "crdtpad_commit_seconds_bucket",
    ]:
        assert series in text


@pytest.mark.node
@pytest.mark.slow
async def test_js_provider_stays_connected_while_idle(
    shared_server: ServerProcess, node_available: None
) -> None:
    """The stock client reconnects after 30 s without a message; our awareness echo keeps it alive."""
    pad_id = pad()
    js = await NodeClient(f"ws://127.0.0.1:{shared_server.port}/sync", pad_id).start()
    try:
        await js.wait_event("synced")
        await js.call("awareness", state={"user": {"name": "idle"}})
        await asyncio.sleep(36)
        stats = await js.call("stats")
        assert stats["closes"] == [], stats
        assert stats["wsconnected"] is True
        await js.call("insert", index=0, text="still here")
        py = await YClient(shared_server.ws_url(pad_id)).connect()
        await wait_for(lambda: str(py) == "still here")
        await py.close()
    finally:
        await js.stop()


async def test_sigkill_during_compaction_loses_nothing(tmp_path: Path) -> None:
    """With the compactor running constantly, SIGKILL at random points never loses a stored edit."""
    with ServerProcess(
        tmp_path / "data",
        CRDTPAD_COMPACT_AFTER_UPDATES="2",
        CRDTPAD_COMPACT_INTERVAL_S="0.05",
        CRDTPAD_UNLOAD_GRACE_S="0.05",
    ) as server:
        pad_id = server.create_pad()
        rng = random.Random(99)
        typed = ""
        for _ in range(6):
            c = await YClient(server.ws_url(pad_id)).connect()
            assert str(c) == typed
            for _ in range(rng.randint(5, 60)):
                ch = rng.choice("abcdefghij")
                c.type(ch)
                typed += ch
                await asyncio.sleep(rng.random() * 0.004)
            await wait_for(c.all_saved, what="every edit stored")
            await asyncio.sleep(rng.random() * 0.2)  # kill somewhere in the compactor's cycle
            server.kill()
            await c.close()
            server.start()
        check = await YClient(server.ws_url(pad_id)).connect()
        assert str(check) == typed
        await check.close()


async def test_failed_commit_closes_the_pad_1011_and_reconnect_loses_nothing(tmp_path: Path) -> None:
    """A commit that fails drops the room; clients reconnect and resend what was not stored."""
    with ServerProcess(tmp_path / "data", CRDTPAD_SQLITE_BUSY_TIMEOUT_MS="200") as server:
        pad_id = server.create_pad()
        a = await YClient(server.ws_url(pad_id)).connect()
        b = await YClient(server.ws_url(pad_id)).connect()
        a.type("stored. ")
        await wait_for(a.all_saved)
        blocker = sqlite3.connect(server.data_dir / "crdtpad.sqlite3", timeout=5)
        blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock: our commit fails
        a.type("not yet stored.")
        assert await a.wait_closed() == 1011
        assert await b.wait_closed() == 1011
        blocker.rollback()
        blocker.close()
        await a.connect()  # the client still has its edit and sends it again on reconnect
        await wait_for(a.all_saved, what="the unstored edit to be stored after reconnect")
        await a.close()
        assert server.text(pad_id) == "stored. not yet stored."
        assert server.alive()


async def test_saved_is_learnt_on_reconnect_when_the_echo_was_lost(shared_server: ServerProcess) -> None:
    pad_id = pad()
    doc = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    text += "typed just before the link dropped"
    async with websockets.connect(shared_server.ws_url(pad_id)) as ws:
        await ws.send(p.sync_update(doc.get_update()))
        # Gone before reading anything, the echo included.
    await wait_for(lambda: shared_server.text(pad_id) == str(text), what="the edit to be stored")
    again = YClient(shared_server.ws_url(pad_id), doc=doc)
    await again.connect()
    assert again.all_saved()  # the server's SyncStep1 covers it
    await again.close()


async def test_compressed_sockets_converge(tmp_path: Path) -> None:
    """With permessage-deflate negotiated, frames take the encoder's path and still converge."""
    with ServerProcess(
        tmp_path / "data", CRDTPAD_OPEN_PADS="true", CRDTPAD_WS_PER_MESSAGE_DEFLATE="true"
    ) as server:
        a = await YClient(server.ws_url("deflate")).connect()
        b = await YClient(server.ws_url("deflate")).connect()
        assert a.ws is not None and a.ws.protocol.extensions  # compression really negotiated
        a.type("compressed " * 50)
        b.type("both ways")
        await wait_for(lambda: str(a) == str(b) and "both ways" in str(a) and "compressed" in str(b))
        await a.close()
        await b.close()
