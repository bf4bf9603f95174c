"""Revisions: automatic after a burst, saved by name, bounded by retention, exported, restored."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import httpx

from crdtpad.access import Principal
from tests.accounts.conftest import PASSWORD, Api, running
from tests.support import ServerProcess, YClient, wait_for


async def pad_with_owner(api: Api) -> tuple[Principal, str]:
    who = Principal(await api.services.accounts.create_user("owner", PASSWORD))
    pad = await api.services.pads.create(who, "essay", "private")
    return who, pad.id


async def test_save_list_export_and_restore(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        pads = api.services.pads
        who, pad = await pad_with_owner(api)
        await pads.write_text(who, pad, "First draft.\n")
        first = await pads.save_revision(who, pad, "draft 1")
        await pads.write_text(who, pad, "Second draft, much longer.\n")
        revs = await pads.revisions(who, pad)
        assert [(r.rev, r.name) for r in revs] == [(first, "draft 1")]
        body, media, name = await pads.export_revision(who, pad, first, "txt")
        assert body == b"First draft.\n" and name == "essay-r1.txt" and media.startswith("text/plain")
        made = await pads.restore(who, pad, first)
        assert await pads.read_text(who, pad) == "First draft.\n"
        assert [r.rev for r in await pads.revisions(who, pad)] == [first, made]


async def test_a_revision_is_kept_after_a_quiet_spell(tmp_path: Path) -> None:
    async with running(tmp_path, revision_idle_s=0.2, unload_grace_s=60) as api:
        pads = api.services.pads
        who, pad = await pad_with_owner(api)
        await pads.write_text(who, pad, "burst one\n")
        for _ in range(40):
            if await pads.revisions(who, pad):
                break
            await asyncio.sleep(0.1)
        revs = await pads.revisions(who, pad)
        assert len(revs) == 1 and revs[0].name is None
        body, _, _ = await pads.export_revision(who, pad, revs[0].rev, "txt")
        assert body == b"burst one\n"


async def test_retention_drops_old_automatic_revisions_never_saved_ones(tmp_path: Path) -> None:
    async with running(tmp_path, revisions_kept=2) as api:
        pads, rooms = api.services.pads, api.services.rooms
        who, pad = await pad_with_owner(api)
        await pads.write_text(who, pad, "v0\n")
        saved = await pads.save_revision(who, pad, "keep me")
        room = await rooms.open(pad)
        for i in range(4):
            await pads.write_text(who, pad, f"v{i + 1}\n")
            await rooms.revise(room)
        rooms.release(room)
        revs = await pads.revisions(who, pad)
        assert [r.rev for r in revs] == [saved, saved + 3, saved + 4]
        assert revs[0].name == "keep me"


async def test_viewers_read_history_but_cannot_restore(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        who, pad = await pad_with_owner(api)
        await api.services.pads.write_text(who, pad, "x\n")
        rev = await api.services.pads.save_revision(who, pad, "one")
        viewer = await api.services.accounts.create_user("viewer", PASSWORD)
        from crdtpad.permissions import Role

        await api.services.pads.set_member(who, "pad", pad, "viewer", Role.VIEWER)
        _, token = await api.services.accounts.create_api_token(viewer, "t")
        h = {"Authorization": f"Bearer {token}"}
        assert (await api.client.get(f"/api/v1/pads/{pad}/revisions", headers=h)).status_code == 200
        r = await api.client.get(f"/api/v1/pads/{pad}/revisions/{rev}/export/md", headers=h)
        assert r.status_code == 200 and r.text == "x\n"
        await api.services.pads.write_text(who, pad, "y\n")
        r = await api.client.get(f"/api/v1/pads/{pad}/text", params={"rev": rev}, headers=h)
        assert r.status_code == 200 and r.json()["text"] == "x\n"  # Etherpad's getText(padID, rev)
        assert (await api.client.get(f"/api/v1/pads/{pad}/text", headers=h)).json()["text"] == "y\n"
        r = await api.client.get(f"/api/v1/pads/{pad}/text", params={"rev": 99}, headers=h)
        assert r.status_code == 404
        assert (
            await api.client.post(f"/api/v1/pads/{pad}/revisions/{rev}/restore", headers=h)
        ).status_code == 403
        assert (await api.client.get(f"/api/v1/pads/{pad}/revisions")).status_code == 404
        assert (await api.client.get(f"/api/v1/pads/{pad}/text", params={"rev": rev})).status_code == 404
        assert (
            await api.client.get(f"/api/v1/pads/{pad}/revisions/99/export/md", headers=h)
        ).status_code == 404


async def test_restore_with_clients_connected_converges(server: ServerProcess) -> None:
    pad = server.create_pad()
    a, b = YClient(server.ws_url(pad)), YClient(server.ws_url(pad))
    await a.connect()
    await b.connect()
    a.type("The good version.")
    await wait_for(a.all_saved, what="the first text stored")
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        r = await c.post(f"/api/v1/pads/{pad}/revisions", json={"name": "good"})
        assert r.status_code == 201, r.text
        rev = r.json()["rev"]
        b.type(" Then vandalism!")
        await wait_for(b.all_saved, what="the vandalism stored")
        r = await c.post(f"/api/v1/pads/{pad}/revisions/{rev}/restore")
        assert r.status_code == 200, r.text
        await wait_for(
            lambda: str(a) == str(b) == "The good version.\n", what="both clients back at the revision"
        )
        assert a.close_code is None and b.close_code is None
        assert (await c.get(f"/api/v1/pads/{pad}/text")).json()["text"] == "The good version.\n"
    await a.close()
    await b.close()


async def test_deleting_a_pad_erases_its_history(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        who, pad = await pad_with_owner(api)
        await api.services.pads.write_text(who, pad, "secret\n")
        await api.services.pads.save_revision(who, pad, "one")
        await api.services.pads.delete(who, pad)
        with contextlib.closing(sqlite3.connect(api.services.settings.db_path)) as db:
            assert db.execute("SELECT count(*) FROM pad_revisions").fetchone() == (0,)
