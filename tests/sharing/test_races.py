"""Access changes and deletions racing other work, in process. A slowed store call (a long log to
load, a busy writer) widens each race window; it does not change the order of operations."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pycrdt
import pytest
from pwdlib.hashers.argon2 import Argon2Hasher

from crdtpad.access import Principal, SocketAuth
from crdtpad.errors import Forbidden, NotAuthenticated, PadDeleted
from crdtpad.permissions import Action, Role
from crdtpad.sync.connection import Connection, ConnectionLimits
from tests.accounts.conftest import PASSWORD, Api, running


def typed(text: str) -> bytes:
    doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, text)
    return doc.get_update()


def slowed(obj: Any, name: str, delay: float = 0.5) -> asyncio.Event:
    """Make ``obj.name`` wait ``delay`` before it runs; the event is set when it is first called,
    so a test starts its racing step once the slowed call is under way, not after a guess."""
    real: Callable[..., Awaitable[Any]] = getattr(obj, name)
    entered = asyncio.Event()

    async def slow(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        await asyncio.sleep(delay)
        return await real(*args, **kwargs)

    setattr(obj, name, slow)
    return entered


def log_rows(api: Api, pad_id: str) -> int:
    with contextlib.closing(sqlite3.connect(api.services.settings.db_path)) as db:
        return int(db.execute("SELECT count(*) FROM pad_updates WHERE pad_id = ?", (pad_id,)).fetchone()[0])


async def owner_and_pad(api: Api, visibility: str = "private") -> tuple[Principal, str]:
    owner = Principal(await api.services.accounts.create_user("owner", PASSWORD))
    password = "sesame seeds" if visibility == "password" else None
    pad = await api.services.pads.create(owner, "pad", visibility, password)  # type: ignore[arg-type]
    return owner, pad.id


async def socket(api: Api, user: str, pad_id: str) -> tuple[Connection, SocketAuth, Any]:
    """What the socket endpoint resolves for a user's API token, before it enters the room."""
    s = api.services
    found = await s.accounts.user_by_name(user)
    assert found is not None
    _, token = await s.accounts.create_api_token(found, "socket")
    who = await s.guard.principal(None, token)
    _record, _acl, rights = await s.guard.require(who, pad_id, Action.VIEW)
    sent: list[bytes] = []
    conn = Connection(ConnectionLimits(), lambda: None)
    conn.write_now = lambda frame: sent.append(frame) is None
    return conn, SocketAuth(pad_id, None, token, who), rights


async def test_overlapping_changes_release_every_socket(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        guard = api.services.guard
        owner, pad_id = await owner_and_pad(api, "public")
        first, second = guard.changing(pads=["a"]), guard.changing(pads=["b"])
        await first.__aenter__()
        await second.__aenter__()
        await second.__aexit__(None, None, None)  # the last to start ends first
        conn, auth, rights = await socket(api, "owner", pad_id)
        guard.attach(conn, auth, rights)
        assert conn.held  # the first change, still deciding, holds newcomers
        await first.__aexit__(None, None, None)
        assert not conn.held and conn.close_code is None
        guard.detach(conn)
        late, auth, rights = await socket(api, "owner", pad_id)
        guard.attach(late, auth, rights)
        assert not late.held
        guard.detach(late)
        del owner


async def test_a_socket_admitted_across_a_removal_gets_nothing_before_its_4403(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        s = api.services
        owner, pad_id = await owner_and_pad(api)
        await s.accounts.create_user("ex", PASSWORD)
        await s.pads.set_member(owner, "pad", pad_id, "ex", Role.EDITOR)
        epoch = s.guard.epoch
        conn, auth, rights = await socket(api, "ex", pad_id)  # admitted...
        await s.pads.remove_member(owner, "pad", pad_id, "ex")  # ...then removed, before it enters
        room = await s.rooms.open(pad_id)
        assert not await s.guard.enter(conn, auth, rights, epoch, room)
        assert conn.close_code == 4403 and conn not in room.conns
        s.guard.detach(conn)
        s.rooms.release(room)


async def test_an_http_edit_racing_a_removal_is_not_applied(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        s = api.services
        owner, pad_id = await owner_and_pad(api)
        mallory = Principal(await s.accounts.create_user("mallory", PASSWORD))
        await s.pads.set_member(owner, "pad", pad_id, "mallory", Role.EDITOR)
        loading = slowed(s.store, "load")
        put = asyncio.create_task(s.pads.write_text(mallory, pad_id, "vandalised"))
        await loading.wait()  # checked, now loading the room
        await s.pads.remove_member(owner, "pad", pad_id, "mallory")
        with pytest.raises(Exception) as refused:
            await put
        assert refused.value.__class__.__name__ in ("PadNotFound", "AccessChanged")
        assert await s.pads.read_text(owner, pad_id) == ""


async def test_an_http_edit_racing_a_deletion_answers_410_and_stores_nothing(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        s = api.services
        owner, pad_id = await owner_and_pad(api)
        loading = slowed(s.store, "load")
        put = asyncio.create_task(s.pads.write_text(owner, pad_id, "I am back"))
        await loading.wait()
        await s.pads.delete(owner, pad_id)
        with pytest.raises(PadDeleted):
            await put
        assert log_rows(api, pad_id) == 0
        assert pad_id not in s.rooms._rooms


async def test_a_room_loading_during_a_deletion_never_goes_live(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        s = api.services
        owner, pad_id = await owner_and_pad(api)
        loading = slowed(s.store, "load")
        opening = asyncio.create_task(s.rooms.open(pad_id))
        await loading.wait()
        await s.pads.delete(owner, pad_id)
        with pytest.raises(PadDeleted):
            await opening
        with pytest.raises(PadDeleted):
            await s.rooms.open(pad_id)


async def test_a_socket_holding_a_room_that_gets_deleted_is_refused_4410(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        s = api.services
        owner, pad_id = await owner_and_pad(api)
        conn, _auth, _rights = await socket(api, "owner", pad_id)
        room = await s.rooms.open(pad_id)
        await s.pads.delete(owner, pad_id)
        with pytest.raises(PadDeleted):
            await room.join(conn)
        with pytest.raises(PadDeleted):
            await room.ingest(None, typed("stale"), incremental=False)
        assert log_rows(api, pad_id) == 0


async def test_a_pad_created_while_its_folder_is_deleted_does_not_survive(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        s = api.services
        owner = Principal(await s.accounts.create_user("owner", PASSWORD))
        student = Principal(await s.accounts.create_user("student", PASSWORD))
        folder = await s.pads.create_folder(owner.user, "5B")  # type: ignore[arg-type]
        await s.pads.set_member(owner, "folder", folder.id, "student", Role.EDITOR)
        first = await s.pads.create(student, "first", "private", folder_id=folder.id)
        emptying = slowed(s.store, "delete_pad")
        deleting = asyncio.create_task(s.pads.delete_folder(owner, folder.id))
        await emptying.wait()  # archived (committed), now erasing its pads
        with pytest.raises(Forbidden):  # the folder is archived while it is emptied
            await s.pads.create(student, "late", "private", folder_id=folder.id)
        await deleting
        assert (await s.store.get_pad(first.id)).deleted_at is not None  # type: ignore[union-attr]
        assert await s.sharing.get_folder(folder.id) is None
        assert await s.sharing.pads_of(student.user.id) == []  # type: ignore[union-attr]


async def test_an_unlock_racing_a_password_change_does_not_open_the_pad(tmp_path: Path) -> None:
    async with running(tmp_path, argon2_time_cost=3) as api:
        s = api.services
        owner, pad_id = await owner_and_pad(api, "password")
        # A stored hash with lower parameters: the racing unlock would rehash the old password.
        with contextlib.closing(sqlite3.connect(s.settings.db_path)) as db, db:
            db.execute(
                "UPDATE pads SET password_hash = ? WHERE id = ?",
                (Argon2Hasher(time_cost=2, memory_cost=19456, parallelism=1).hash("sesame seeds"), pad_id),
            )
        verifying = slowed(s.accounts.hasher, "verify")
        unlocking = asyncio.create_task(s.pads.unlock(pad_id, "sesame seeds", "1.2.3.4"))
        await verifying.wait()
        await s.pads.update(owner, pad_id, password="new sesame")
        with pytest.raises(NotAuthenticated):
            await unlocking
        token, _ = await s.pads.unlock(pad_id, "new sesame", "1.2.3.4")
        assert token.startswith("cpu_")
        with pytest.raises(NotAuthenticated):
            await s.pads.unlock(pad_id, "sesame seeds", "1.2.3.4")
