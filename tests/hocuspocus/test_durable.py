"""``SyncStatus`` means stored: it comes only once the update is committed, and what was
acknowledged survives a SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid

import pytest

from tests.hocuspocus.clients import HocuspocusNode, hp_url
from tests.support import ServerProcess, YClient

pytestmark = [pytest.mark.node, pytest.mark.usefixtures("hocuspocus_provider")]

LOCKED_S = 1.0


async def test_sync_status_waits_for_the_commit(own_server: ServerProcess) -> None:
    pad = "d-" + uuid.uuid4().hex[:10]
    async with HocuspocusNode(hp_url(own_server)) as hp:
        await hp.open(pad)
        watcher = await YClient(own_server.ws_url(pad)).connect()
        try:
            await hp.insert(pad, "first")
            await hp.wait_saved(pad)
            # Another process holds the database's write lock: the server cannot commit.
            db = sqlite3.connect(own_server.data_dir / "crdtpad.sqlite3", isolation_level=None)
            with contextlib.closing(db):
                db.execute("BEGIN IMMEDIATE")
                mark = len(hp.events)
                await hp.insert(pad, " second")
                await asyncio.sleep(LOCKED_S)
                early = [e for e in hp.events[mark:] if e.get("ev") == "sync-status"]
                assert not early, "acknowledged before it was stored"
                assert (await hp.state(pad))["unsynced"] == 1
                assert str(watcher) == "first"  # and relayed to nobody
                db.execute("ROLLBACK")
            ack = await hp.wait("sync-status", pad, after=mark)
            assert ack["ok"] is True
            await hp.wait_saved(pad)
            assert own_server.text(pad) == "first second"
        finally:
            await watcher.close()


async def test_acknowledged_edits_survive_sigkill(own_server: ServerProcess) -> None:
    pads = ["k-" + uuid.uuid4().hex[:10] for _ in range(2)]
    async with HocuspocusNode(hp_url(own_server)) as hp:
        for pad in pads:
            await hp.open(pad)
        for i in range(40):
            await hp.insert(pads[i % 2], f"{i},")
        for pad in pads:
            await hp.wait_saved(pad)
        own_server.kill()  # SIGKILL the moment the last acknowledgement arrived
    own_server.start()
    assert own_server.text(pads[0]) == "".join(f"{i}," for i in range(0, 40, 2))
    assert own_server.text(pads[1]) == "".join(f"{i}," for i in range(1, 40, 2))


async def test_sigterm_closes_hocuspocus_sockets_1001_and_exits_0(own_server: ServerProcess) -> None:
    pad = "t-" + uuid.uuid4().hex[:10]
    async with HocuspocusNode(hp_url(own_server)) as hp:
        await hp.open(pad)
        await hp.insert(pad, "kept")
        await hp.wait_saved(pad)
        assert own_server.terminate() == 0
        assert (await hp.wait("socket-close"))["code"] == 1001
    own_server.start()
    assert own_server.text(pad) == "kept"
