"""The guard in process: an access change holds the sockets it touches until it is decided."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pycrdt

from crdtpad.access import Principal, SocketAuth
from crdtpad.permissions import Action, Role
from crdtpad.sync.connection import Connection, ConnectionLimits
from tests.accounts.conftest import PASSWORD, running


def typed(text: str) -> bytes:
    doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, text)
    return doc.get_update()


async def edit_during_change(tmp_path: Path, *, revoke: bool) -> tuple[str, int | None]:
    """A member's edit arrives while an access change is being written; return the pad text and
    the member's close code once the change is over."""
    async with running(tmp_path) as api:
        s = api.services
        teacher = await s.accounts.create_user("teacher", PASSWORD)
        student = await s.accounts.create_user("student", PASSWORD)
        pad = await s.pads.create(Principal(teacher), "essay", "private")
        await s.pads.set_member(Principal(teacher), "pad", pad.id, "student", Role.EDITOR)
        _, token = await s.accounts.create_api_token(student, "socket")
        who = await s.guard.principal(None, token)
        _record, _acl, rights = await s.guard.require(who, pad.id, Action.VIEW)
        room = await s.rooms.open(pad.id)
        conn = Connection(ConnectionLimits(), lambda: None)
        s.guard.attach(conn, SocketAuth(pad.id, None, token, who), rights)
        await room.join(conn)
        async with s.guard.changing(pads=[pad.id]):
            ingest = asyncio.create_task(room.ingest(conn, typed("late edit"), incremental=True))
            await asyncio.sleep(0.05)
            assert not ingest.done(), "the edit went through while the change was being written"
            if revoke:
                await s.sharing.remove_member("pad", pad.id, student.id)
        await ingest
        await room.wait_committed(room.applied_seq)
        text = str(room.doc.get("content", type=pycrdt.Text))
        room.leave(conn)
        s.guard.detach(conn)
        s.rooms.release(room)
        return text, conn.close_code


async def test_an_edit_held_by_a_revocation_is_dropped(tmp_path: Path) -> None:
    assert await edit_during_change(tmp_path, revoke=True) == ("", 4403)


async def test_an_edit_held_by_a_change_that_keeps_access_goes_through(tmp_path: Path) -> None:
    assert await edit_during_change(tmp_path, revoke=False) == ("late edit", None)
