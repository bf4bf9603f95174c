"""Import racing a revocation: the edit right is checked before parsing, never again."""

import asyncio
import threading
from pathlib import Path

import crdtpad.pads as padsmod
from crdtpad.access import Principal
from crdtpad.permissions import Role
from tests.accounts.conftest import PASSWORD, running


async def test_import_after_revocation_is_applied(tmp_path: Path, monkeypatch) -> None:
    parsing, go = threading.Event(), threading.Event()
    real = padsmod.import_doc

    def slow_import_doc(fmt, data, max_bytes):
        parsing.set()
        go.wait(10)
        return real(fmt, data, max_bytes)

    monkeypatch.setattr(padsmod, "import_doc", slow_import_doc)
    async with running(tmp_path) as api:
        pads, accounts = api.services.pads, api.services.accounts
        owner = Principal(await accounts.create_user("owner", PASSWORD))
        ed_user = await accounts.create_user("editor", PASSWORD)
        pad = (await pads.create(owner, "p", "private")).id
        await pads.set_member(owner, "pad", pad, "editor", Role.EDITOR)
        editor = Principal(ed_user)
        task = asyncio.create_task(pads.import_into(editor, pad, "txt", b"written after revocation\n"))
        assert await asyncio.to_thread(parsing.wait, 10)
        await pads.remove_member(owner, "pad", pad, "editor")  # revoked: editor can no longer see the pad
        go.set()
        try:
            await task
        except Exception as exc:  # the fix: NotFound/AccessChanged
            print("refused:", type(exc).__name__)
        text = await pads.read_text(owner, pad)
        assert text == "", f"a revoked editor's import landed: {text!r}"
