"""Pad lifecycle and sharing: create, list, change, delete pads and folders; members, share links,
password pads, text over HTTP. Every access change goes through ``Guard.changing`` so it reaches
live sockets before the call returns.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal
from urllib.parse import quote

import pycrdt

from crdtpad import transfer
from crdtpad.access import SHARE_LINK_PREFIX, UNLOCK_PREFIX, Guard, Principal
from crdtpad.accounts import Accounts, User, token_hash
from crdtpad.config import Settings
from crdtpad.errors import (
    AccessChanged,
    ChatMessageNotFound,
    Conflict,
    FolderNotFound,
    Forbidden,
    ImportTooLarge,
    InvalidValue,
    NotAuthenticated,
    PadNotFound,
    RevisionNotFound,
    TokenNotFound,
    TooManyTokens,
)
from crdtpad.pad_tokens import PadClaims
from crdtpad.pad_tokens import sign as sign_pad_token
from crdtpad.permissions import Action, FolderAcl, PadAcl, Rights, Role, folder_rights
from crdtpad.store.pads import NewRevision, PadRecord, RevisionInfo, SqlitePadStore
from crdtpad.store.sharing import FolderRecord, LinkRecord, MemberRecord, PadTokenRecord, SqliteSharingStore
from crdtpad.sync.rooms import Room, Rooms
from crdtpad.transfer import delta as transfer_delta
from crdtpad.transfer import etherpad as transfer_etherpad
from crdtpad.transfer import html as transfer_html
from crdtpad.transfer import markdown as transfer_markdown
from crdtpad.transfer import text as transfer_text
from crdtpad.transfer import yjs as transfer_yjs
from crdtpad.transfer.delta import CHAT_FIELD, TEXT_FIELD

log = logging.getLogger(__name__)

Kind = Literal["pad", "folder"]
Visibility = Literal["public", "private", "password"]
MAX_TITLE_CHARS = 200
MIN_PAD_PASSWORD_CHARS = 4
MAX_PAD_PASSWORD_BYTES = 1024
EDIT_ATTEMPTS = 5
MAX_MARKDOWN_BYTES = 512 * 1024
MAX_LIVE_PAD_TOKENS = 10_000  # per pad: one per user of a big class, with room to spare


def new_id() -> str:
    """A random, URL-safe id carrying 128 bits (pads and folders)."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True)
class FolderView:
    """A folder as its viewer sees it: the record, their rights, the pads in it."""

    record: FolderRecord
    rights: Rights
    pads: list[tuple[PadRecord, Rights]]


def text_edit(doc: pycrdt.Doc[Any], text: str) -> bytes | None:
    """An update turning the doc's text into ``text`` with one minimal splice; None if equal.

    Built on a copy, so the room's own Doc changes only through its validated ingest path.
    """
    copy: pycrdt.Doc[Any] = pycrdt.Doc()
    copy.apply_update(doc.get_update())
    content = copy.get(TEXT_FIELD, type=pycrdt.Text)
    old = str(content)
    if old == text:
        return None
    start = 0
    limit = min(len(old), len(text))
    while start < limit and old[start] == text[start]:
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == text[-1 - end]:
        end += 1
    # Yrs counts Text offsets in UTF-8 bytes.
    a = len(old[:start].encode("utf-8"))
    b = len(old[: len(old) - end].encode("utf-8"))
    inserted = text[start : len(text) - end]
    before = copy.get_state()
    with copy.transaction():
        if b > a:
            del content[a:b]
        if inserted:
            content.insert(a, inserted)
    return copy.get_update(before)


def cut_chat(doc: pycrdt.Doc[Any], message_id: str | None) -> int:
    """Delete the chat messages with ``message_id`` (None: every message) in one transaction; how
    many."""
    chat = doc.get(CHAT_FIELD, type=pycrdt.Array)
    values = chat.to_py() or []
    doomed = [
        i
        for i, m in enumerate(values)
        if message_id is None or (isinstance(m, dict) and m.get("id") == message_id)
    ]
    if doomed:
        with doc.transaction():
            for i in reversed(doomed):
                del chat[i]
    return len(doomed)


def _revision_without(message_id: str | None, data: bytes) -> bytes | None:
    """A stored revision without the chat messages ``cut_chat`` removes (None: it has none, or
    it does not load, and is left for the checksum and the history view to report)."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    try:
        doc.apply_update(data)
    except Exception:
        return None
    return doc.get_update() if cut_chat(doc, message_id) else None


class Pads:
    """Pads and folders, as the API and the CLI use them."""

    def __init__(
        self,
        settings: Settings,
        store: SqlitePadStore,
        sharing: SqliteSharingStore,
        rooms: Rooms,
        guard: Guard,
        accounts: Accounts,
    ) -> None:
        self.settings = settings
        self.store = store
        self.sharing = sharing
        self.rooms = rooms
        self.guard = guard
        self.accounts = accounts
        self._imports = asyncio.Semaphore(2)

    # -- pads ------------------------------------------------------------------------------------

    async def create(
        self,
        who: Principal,
        title: str,
        visibility: Visibility = "public",
        password: str | None = None,
        folder_id: str | None = None,
    ) -> PadRecord:
        """A new pad owned by the caller; anonymous callers may create public pads, if allowed."""
        title = _title(title)
        if who.user is None:
            if visibility != "public" or folder_id is not None:
                raise NotAuthenticated("Log in to create a private or password pad, or one in a folder.")
            if not self.settings.anonymous_pads:
                raise NotAuthenticated("Log in to create pads on this instance.")
        password_hash = await self._password_hash(visibility, password, None)
        if folder_id is not None:
            await self._folder_rights(who, folder_id, Action.EDIT)
        record = await self.store.create_pad(
            new_id(),
            title,
            visibility,
            owner_id=who.user_id,
            folder_id=folder_id,
            password_hash=password_hash,
        )
        owner = who.user.username if who.user else None
        log.info("Pad %s created (%s) by %s", record.id, visibility, owner or "anonymous")
        self.rooms.events.pad_created(record.id, owner=owner, title=record.title, visibility=visibility)
        return record

    async def view(
        self, who: Principal, pad_id: str, action: Action = Action.VIEW
    ) -> tuple[PadRecord, Rights]:
        """A pad and the caller's rights on it, if they allow ``action``."""
        record, _acl, rights = await self.guard.require(who, pad_id, action)
        return record, rights

    async def list_for(self, user: User) -> list[tuple[PadRecord, Rights]]:
        """Pads the user owns or that are shared with the account (directly or through a folder)."""
        found = []
        for record, acl in await self.sharing.pads_of(user.id):
            rights = self.guard.rights(Principal(user), acl)
            if rights is not None:
                found.append((record, rights))
        return found

    async def update(
        self,
        who: Principal,
        pad_id: str,
        *,
        title: str | None = None,
        visibility: Visibility | None = None,
        password: str | None = None,
        folder_id: str | Literal[False] | None = False,
        chat: bool | None = None,
    ) -> PadRecord:
        """Rename a pad, change its visibility or password, move it into or out of a folder, turn
        its chat off or on (a live room follows at once)."""
        record, _ = await self.view(who, pad_id, Action.MANAGE)
        changes: dict[str, object] = {}
        if title is not None:
            changes["title"] = _title(title)
        if chat is not None and chat != record.chat_enabled:
            await self.sharing.update_pad(pad_id, self.guard.now_ms(), chat_enabled=chat)
            room = self.rooms.loaded_room(pad_id)
            if room is not None:
                room.chat.enabled = chat
        if visibility is not None or password is not None:
            new_visibility = visibility or record.visibility
            secret = await self.sharing.pad_secret(pad_id)
            current = secret.password_hash if secret is not None else None
            new_hash = await self._password_hash(new_visibility, password, current)
            changes["visibility"] = new_visibility
            if new_hash != current:
                changes["password_hash"] = new_hash
        if folder_id is not False and folder_id != record.folder_id:
            new_folder = None
            if folder_id is not None:
                new_folder, _ = await self._folder_rights(who, folder_id, Action.EDIT)
            _, acl = await self.guard.pad(pad_id)
            moved = PadAcl(acl.id, acl.owner_id, acl.visibility, new_folder, acl.members)
            if self.guard.rights(who, moved) is None:
                raise Conflict(
                    f"Moving pad {pad_id} there would take away your own access to it; its owner can move it."
                )
            changes["folder_id"] = folder_id
        if changes:
            async with self.guard.changing(pads=[pad_id]):
                await self.sharing.update_pad(pad_id, self.guard.now_ms(), **changes)  # type: ignore[arg-type]
        updated, _ = await self.guard.pad(pad_id)
        return updated

    async def _password_hash(self, visibility: str, password: str | None, current: str | None) -> str | None:
        if visibility != "password":
            if password is not None:
                raise InvalidValue("Only a pad with visibility 'password' takes a password.")
            return None
        if password is None:
            if current is None:
                raise InvalidValue("A password pad needs a password.")
            return current
        if len(password) < MIN_PAD_PASSWORD_CHARS or len(password.encode("utf-8")) > MAX_PAD_PASSWORD_BYTES:
            raise InvalidValue(
                f"A pad password has {MIN_PAD_PASSWORD_CHARS} to {MAX_PAD_PASSWORD_BYTES} bytes of text."
            )
        return await self.accounts.hasher.hash(password)

    async def delete(self, who: Principal, pad_id: str) -> None:
        """Erase a pad for everyone (the caller may delete it)."""
        await self.view(who, pad_id, Action.DELETE)
        await self.erase(pad_id)

    async def erase(self, pad_id: str) -> None:
        """Erase a pad: clients closed with 4410, its log, snapshots, members and links gone."""
        async with self.rooms.deleting(pad_id):
            await self.store.delete_pad(pad_id)
        log.info("Pad %s deleted", pad_id)

    async def unlock(self, pad_id: str, password: str, address: str) -> tuple[str, int]:
        """An unlock token for a password pad, and when it expires; the wrong password is a 401."""
        limiter = self.accounts.limiter
        key = f"pad:{pad_id}"
        limiter.check(key, address)
        await self.guard.pad(pad_id)  # 404 unknown, 410 deleted
        secret = await self.sharing.pad_secret(pad_id)
        if secret is None or secret.visibility == "private":
            raise PadNotFound(f"No pad has the id {pad_id[:80]}.")
        if secret.password_hash is None:
            raise Conflict(f"Pad {pad_id} has no password: open it directly.")
        ok, rehash = await self.accounts.hasher.verify(password, secret.password_hash)
        if not ok:
            limiter.failed(key, address)
            raise NotAuthenticated("Wrong password for this pad.")
        limiter.succeeded(key)
        token = UNLOCK_PREFIX + secrets.token_urlsafe(32)
        now = self.guard.now_ms()
        expires = now + int(self.settings.unlock_ttl_s * 1000)
        # Only if the password did not change while we verified it.
        if not await self.sharing.create_unlock(
            pad_id, secret.password_hash, rehash, token_hash(token), now, expires
        ):
            raise NotAuthenticated("The pad's password changed just now; try again with the new one.")
        return token, expires

    # -- text --------------------------------------------------------------------------------------

    async def read_text(self, who: Principal, pad_id: str, rev: int | None = None) -> str:
        """The pad's text as stored, or as it was at revision ``rev``."""
        await self.view(who, pad_id, Action.VIEW)
        if rev is not None:
            return str((await self._revision_doc(pad_id, rev)).get(TEXT_FIELD, type=pycrdt.Text))
        room = await self.rooms.open(pad_id)
        try:
            await room.wait_committed(room.applied_seq)
            return str(room.doc.get(TEXT_FIELD, type=pycrdt.Text))
        finally:
            self.rooms.release(room)

    async def server_edit(
        self,
        who: Principal,
        pad_id: str,
        action: Action,
        make: Callable[[pycrdt.Doc[Any]], bytes | None],
        *,
        incremental: bool = True,
    ) -> Room:
        """Apply an edit the server makes for ``who`` (``make`` builds the update from the room's
        committed document, or None for no change) through the room, like any client's edit.

        Applied only if no access change began since the caller's right was checked; otherwise
        checked again, so an edit racing a revocation is not applied. Returns the room, released,
        once the edit is stored.
        """
        for _ in range(EDIT_ATTEMPTS):
            await self.guard.quiet()
            epoch = self.guard.epoch
            await self.view(who, pad_id, action)
            room = await self.rooms.open(pad_id)
            try:
                await room.wait_committed(room.applied_seq)
                update = make(room.doc)
                if update is not None:
                    unchanged = partial(self.guard.unchanged_since, epoch)
                    await room.ingest(None, update, incremental=incremental, admit=unchanged)
                await room.wait_committed(room.applied_seq)
                return room
            except AccessChanged:
                continue
            finally:
                self.rooms.release(room)
        raise AccessChanged(f"Access to pad {pad_id} kept changing; try again.")

    async def write_text(self, who: Principal, pad_id: str, text: str) -> None:
        """Replace the pad's text (one minimal splice, merged like any edit); returns once stored."""
        await self.server_edit(who, pad_id, Action.EDIT, lambda doc: text_edit(doc, text))

    async def append_text(self, who: Principal, pad_id: str, text: str) -> None:
        """Add text at the end of the pad (Etherpad's appendText), before the closing newline."""

        def append(doc: pycrdt.Doc[Any]) -> bytes | None:
            if not text:
                return None
            copy: pycrdt.Doc[Any] = pycrdt.Doc()
            copy.apply_update(doc.get_update())
            before = copy.get_state()
            content = copy.get(TEXT_FIELD, type=pycrdt.Text)
            current = str(content)
            at = len(current.encode("utf-8")) - (1 if current.endswith("\n") else 0)
            content.insert(at, text)
            return copy.get_update(before)

        await self.server_edit(who, pad_id, Action.EDIT, append)

    async def presence(self, who: Principal, pad_id: str) -> list[dict[str, Any]]:
        """Who is on the pad now: each connected client's ``user`` presence (name, colour)."""
        await self.view(who, pad_id, Action.VIEW)
        room = self.rooms.loaded_room(pad_id)
        if room is None:
            return []
        people = []
        for entry in room.awareness.current():
            try:
                state = json.loads(entry.state)
            except ValueError:
                continue
            user = state.get("user") if isinstance(state, dict) else None
            if isinstance(user, dict):
                people.append(
                    {
                        "client": entry.client,
                        "name": str(user.get("name", ""))[:80],
                        "color": str(user.get("color", ""))[:40],
                    }
                )
        return people

    async def stats(self, who: Principal, pad_id: str) -> dict[str, Any]:
        """Etherpad-style counts: characters, lines, revisions, people here, last edited (ms)."""
        record, _ = await self.view(who, pad_id, Action.VIEW)
        room = await self.rooms.open(pad_id)
        try:
            await room.wait_committed(room.applied_seq)
            text = str(room.doc.get(TEXT_FIELD, type=pycrdt.Text))
            edited = room.edited_at
            clients = len(room.conns)
        finally:
            self.rooms.release(room)
        revisions = await self.store.revisions(pad_id)
        return {
            "chars": len(text),
            "lines": text.count("\n") + (0 if text.endswith("\n") or not text else 1),
            "revisions": len(revisions),
            "connections": clients,
            "last_edited": edited if edited is not None else record.updated_at,
        }

    # -- export and import --------------------------------------------------------------------------

    async def export(self, who: Principal, pad_id: str, fmt: str) -> tuple[bytes, str, str]:
        """The pad in ``fmt`` (txt, md, html, yjs) as stored: the bytes, a media type, a file name."""
        if fmt not in EXPORT_FORMATS:
            raise InvalidValue(
                f"{fmt[:20]!r} is not an export format: use one of {', '.join(EXPORT_FORMATS)}."
            )
        record, _ = await self.view(who, pad_id, Action.VIEW)
        room = await self.rooms.open(pad_id)
        try:
            await room.wait_committed(room.applied_seq)
            # Nothing awaits here: the export is one consistent state of the document.
            title = record.title or pad_id
            body = export_doc(room.doc, fmt, title)
        finally:
            self.rooms.release(room)
        media_type, suffix = EXPORT_FORMATS[fmt]
        return body, media_type, f"{filename(title)}.{suffix}"

    async def import_into(self, who: Principal, pad_id: str, fmt: str, data: bytes) -> None:
        """Fill an empty pad from a file in ``fmt``, with the history it carries (an Etherpad
        file's key revisions); nothing changes if the file is refused."""
        if fmt not in IMPORT_FORMATS:
            raise InvalidValue(
                f"{fmt[:20]!r} is not an import format: use one of {', '.join(IMPORT_FORMATS)}."
            )
        if len(data) > self.settings.max_import_bytes:
            raise ImportTooLarge(
                f"The file has {len(data)} bytes; imports take at most {self.settings.max_import_bytes}."
            )
        await self.view(who, pad_id, Action.EDIT)
        if fmt == "md" and len(data) > MAX_MARKDOWN_BYTES:
            # markdown-it-py can spend ~10 µs per byte on crafted input: a tighter bound for Markdown.
            raise ImportTooLarge(
                f"A Markdown import takes at most {MAX_MARKDOWN_BYTES} bytes, not {len(data)}."
            )
        # Parsing is CPU work: off the event loop (the Doc lives and dies in that thread), and only
        # a couple at once, so imports never starve the rooms.
        async with self._imports:
            imported = await asyncio.to_thread(import_doc, fmt, data, self.settings.max_import_bytes)

        def fill(doc: pycrdt.Doc[Any]) -> bytes:
            if not _is_empty(doc):
                raise Conflict(f"Pad {pad_id} is not empty: import into a new pad.")
            return imported.update

        # Checked again after the parse; goes through the room, so whoever is there receives it.
        room = await self.server_edit(who, pad_id, Action.EDIT, fill, incremental=False)
        if imported.history:
            # Held (no await until then), so the room cannot unload and keep a revision of the
            # imported text before its own history is in.
            held = await self.rooms.open(pad_id)
            try:
                seq = room.committed_seq
                await self.store.add_revisions(pad_id, imported.revisions(seq), self.settings.revisions_kept)
                # The last of them is the imported text: no automatic revision repeats it.
                held.revision_seq = max(held.revision_seq, seq)
            finally:
                self.rooms.release(held)

    # -- history -----------------------------------------------------------------------------------

    async def revisions(self, who: Principal, pad_id: str) -> list[RevisionInfo]:
        """The pad's revisions, oldest first."""
        await self.view(who, pad_id, Action.VIEW)
        return await self.store.revisions(pad_id)

    async def save_revision(self, who: Principal, pad_id: str, name: str) -> int:
        """Keep the pad as it is now under a name (Etherpad's saved revision); its number."""
        await self.view(who, pad_id, Action.EDIT)
        name = name.strip()
        if not 1 <= len(name) <= MAX_TITLE_CHARS:
            raise InvalidValue(f"A revision name has 1 to {MAX_TITLE_CHARS} characters.")
        room = await self.rooms.open(pad_id)
        try:
            return await self.rooms.revise(room, name=name, author_id=who.user_id)
        finally:
            self.rooms.release(room)

    async def _revision_doc(self, pad_id: str, rev: int) -> pycrdt.Doc[Any]:
        data = await self.store.revision(pad_id, rev)
        if data is None:
            raise RevisionNotFound(f"Pad {pad_id} has no revision {rev}.")
        doc: pycrdt.Doc[Any] = pycrdt.Doc()
        doc.apply_update(data)
        return doc

    async def export_revision(
        self, who: Principal, pad_id: str, rev: int, fmt: str
    ) -> tuple[bytes, str, str]:
        """A past revision in an export format: the bytes, a media type, a file name."""
        if fmt not in EXPORT_FORMATS:
            raise InvalidValue(
                f"{fmt[:20]!r} is not an export format: use one of {', '.join(EXPORT_FORMATS)}."
            )
        record, _ = await self.view(who, pad_id, Action.VIEW)
        doc = await self._revision_doc(pad_id, rev)
        title = record.title or pad_id
        media_type, suffix = EXPORT_FORMATS[fmt]
        return export_doc(doc, fmt, title), media_type, f"{filename(title)}-r{rev}.{suffix}"

    async def restore(self, who: Principal, pad_id: str, rev: int) -> int:
        """Bring the pad's text back to a revision, as a new change on top of the current one
        (connected clients stay connected and converge); the number of the revision it makes."""
        await self.view(who, pad_id, Action.EDIT)
        old = await self._revision_doc(pad_id, rev)
        ops = transfer_delta.read_delta(old)

        def back(doc: pycrdt.Doc[Any]) -> bytes:
            copy: pycrdt.Doc[Any] = pycrdt.Doc()
            copy.apply_update(doc.get_update())
            before = copy.get_state()
            text = copy.get(TEXT_FIELD, type=pycrdt.Text)
            with copy.transaction():
                del text[0 : len(text)]
                transfer_delta.write_delta(copy, ops)
            return copy.get_update(before)

        room = await self.server_edit(who, pad_id, Action.EDIT, back)
        return await self.rooms.revise(room, name=None, author_id=who.user_id)

    # -- chat ----------------------------------------------------------------------------------------

    async def chat(self, who: Principal, pad_id: str) -> list[dict[str, Any]]:
        """The pad's chat messages, oldest first (well-formed ones; others are skipped)."""
        await self.view(who, pad_id, Action.VIEW)
        room = await self.rooms.open(pad_id)
        try:
            await room.wait_committed(room.applied_seq)
            messages = room.doc.get(CHAT_FIELD, type=pycrdt.Array).to_py() or []
        finally:
            self.rooms.release(room)
        return [m for m in messages if isinstance(m, dict)]

    async def delete_chat(self, who: Principal, pad_id: str, message_id: str | None) -> int:
        """Moderation (owners, folder admins): delete one chat message by id, or all of them (None).
        How many went. The text is erased, not only hidden: the pad's log is folded into a snapshot
        (which keeps deleted content only as lengths) and the stored revisions lose the message."""
        removed = 0

        def cut(doc: pycrdt.Doc[Any]) -> bytes | None:
            nonlocal removed
            copy: pycrdt.Doc[Any] = pycrdt.Doc()
            copy.apply_update(doc.get_update())
            before = copy.get_state()
            removed = cut_chat(copy, message_id)
            return copy.get_update(before) if removed else None

        room = await self.server_edit(who, pad_id, Action.MANAGE, cut)
        # Also when the live chat no longer has it (deleted by a client, or before this erased):
        # the log and the history may still hold it.
        self.rooms.compact(room)
        scrubbed = await self.rooms.store.rewrite_revisions(pad_id, partial(_revision_without, message_id))
        if message_id is not None and removed == 0 and scrubbed == 0:
            raise ChatMessageNotFound(f"Pad {pad_id} has no chat message with the id {message_id[:80]!r}.")
        return removed

    # -- folders -----------------------------------------------------------------------------------

    async def create_folder(self, user: User, name: str) -> FolderRecord:
        """A new folder owned by the user."""
        return await self.sharing.create_folder(new_id(), _name(name), user.id, self.guard.now_ms())

    async def _folder_rights(
        self, who: Principal, folder_id: str, action: Action
    ) -> tuple[FolderAcl, Rights]:
        acl = await self.sharing.folder_acl(folder_id)
        rights = folder_rights(who.user_id, who.grant, acl, self.guard.now_ms()) if acl else None
        if acl is None or rights is None:
            raise FolderNotFound(f"No folder has the id {folder_id[:80]}.")
        if not rights.can(action):
            if rights.read_only and action is Action.EDIT:
                raise Forbidden(f"Folder {folder_id} is archived: nothing is added to it.")
            raise Forbidden(f"Your role on folder {folder_id} ({rights.role}) may not {action} it.")
        return acl, rights

    async def folder(self, who: Principal, folder_id: str) -> FolderView:
        """A folder, the caller's rights on it and its pads."""
        _acl, rights = await self._folder_rights(who, folder_id, Action.VIEW)
        record = await self.sharing.get_folder(folder_id)
        if record is None:
            raise FolderNotFound(f"No folder has the id {folder_id[:80]}.")
        pads = []
        for pad in await self.sharing.pads_in(folder_id):
            found = await self.sharing.pad_acl(pad.id)
            pad_rights = self.guard.rights(who, found[1]) if found is not None else None
            if pad_rights is not None:
                pads.append((pad, pad_rights))
        return FolderView(record, rights, pads)

    async def folders_for(self, user: User) -> list[tuple[FolderRecord, Rights]]:
        """Folders the user owns or belongs to."""
        now = self.guard.now_ms()
        found = []
        for record, acl in await self.sharing.folders_of(user.id):
            rights = folder_rights(user.id, None, acl, now)
            if rights is not None:
                found.append((record, rights))
        return found

    async def update_folder(
        self, who: Principal, folder_id: str, *, name: str | None = None, archived: bool | None = None
    ) -> FolderView:
        """Rename a folder, archive it (its pads become read-only) or unarchive it."""
        await self._folder_rights(who, folder_id, Action.MANAGE)
        now = self.guard.now_ms()
        if name is not None:
            await self.sharing.update_folder(folder_id, now, name=_name(name))
        if archived is not None:
            async with self.guard.changing(folders=[folder_id]):
                await self.sharing.update_folder(folder_id, now, archived_at=now if archived else None)
        return await self.folder(who, folder_id)

    async def delete_folder(self, who: Principal, folder_id: str) -> None:
        """Delete a folder and every pad in it (as MyPads deletes a group's pads)."""
        await self._folder_rights(who, folder_id, Action.DELETE)
        await self.erase_folder(folder_id)

    async def erase_folder(self, folder_id: str) -> None:
        """Erase every pad in a folder, then the folder with its members and links.

        The folder is archived first, so no pad is added to it meanwhile (adding needs the edit
        right, which an archived folder refuses); a pad that slipped in is erased too.
        """
        now = self.guard.now_ms()
        async with self.guard.changing(folders=[folder_id]):
            await self.sharing.update_folder(folder_id, now, archived_at=now)
        while pads := await self.sharing.pads_in(folder_id):
            for record in pads:
                await self.erase(record.id)
        async with self.guard.changing(folders=[folder_id]):
            await self.sharing.delete_folder(folder_id)
        log.info("Folder %s deleted", folder_id)

    # -- members and links (of a pad or a folder) --------------------------------------------------

    async def _manage(self, who: Principal, kind: Kind, target: str) -> None:
        if kind == "pad":
            await self.view(who, target, Action.MANAGE)
        else:
            await self._folder_rights(who, target, Action.MANAGE)

    async def _owner_of(self, kind: Kind, target: str) -> int | None:
        if kind == "pad":
            record, _ = await self.guard.pad(target)
            return record.owner_id
        folder = await self.sharing.get_folder(target)
        return folder.owner_id if folder else None

    def _changing(self, kind: Kind, target: str) -> AbstractAsyncContextManager[None]:
        return self.guard.changing(pads=[target]) if kind == "pad" else self.guard.changing(folders=[target])

    async def members(self, who: Principal, kind: Kind, target: str) -> list[MemberRecord]:
        """The members of a pad or folder (managers only)."""
        await self._manage(who, kind, target)
        return await self.sharing.members(kind, target)

    async def set_member(
        self, who: Principal, kind: Kind, target: str, username: str, role: Role
    ) -> MemberRecord:
        """Give an account a role on a pad or folder (or change it)."""
        await self._manage(who, kind, target)
        user = await self.accounts.user_by_name(username)
        if user is None:
            raise TokenNotFound(f"No account is named {username[:40]!r}.")
        if user.id == await self._owner_of(kind, target):
            raise Conflict(f"{user.username} owns this {kind}: that role does not change.")
        now = self.guard.now_ms()
        async with self._changing(kind, target):
            await self.sharing.set_member(kind, target, user.id, role, now)
        return MemberRecord(user.id, user.username, role, now)

    async def remove_member(self, who: Principal, kind: Kind, target: str, username: str) -> None:
        """Take an account's role away (anyone may leave); its live sockets on the pad(s) close
        within the call."""
        leaving = who.user is not None and who.user.username == username.strip().lower()
        if leaving and kind == "pad":
            await self.view(who, target, Action.VIEW)
        elif leaving:
            await self._folder_rights(who, target, Action.VIEW)
        else:
            await self._manage(who, kind, target)
        user = await self.accounts.user_by_name(username)
        if user is None:
            raise TokenNotFound(f"{username[:40]!r} is not a member of this {kind}.")
        async with self._changing(kind, target):
            removed = await self.sharing.remove_member(kind, target, user.id)
        if not removed:
            raise TokenNotFound(f"{user.username} is not a member of this {kind}.")

    async def create_link(
        self, who: Principal, kind: Kind, target: str, role: Role, expires_in_s: int | None
    ) -> tuple[LinkRecord, str]:
        """A share link granting ``role`` on a pad or folder; the token is shown only here."""
        await self._manage(who, kind, target)
        if role is Role.OWNER:
            raise InvalidValue("A share link grants 'editor' or 'viewer', not 'owner'.")
        token = SHARE_LINK_PREFIX + secrets.token_urlsafe(32)
        now = self.guard.now_ms()
        expires = None if expires_in_s is None else now + expires_in_s * 1000
        record = await self.sharing.create_link(
            kind,
            target,
            token_hash(token),
            role,
            who.user_id,
            now,
            expires,
            self.settings.max_links_per_target,
        )
        if record is None:
            raise TooManyTokens(
                f"This {kind} already has {self.settings.max_links_per_target} share links; revoke one first."
            )
        return record, token

    async def links(self, who: Principal, kind: Kind, target: str) -> list[LinkRecord]:
        """The share links of a pad or folder (managers only)."""
        await self._manage(who, kind, target)
        return await self.sharing.links(kind, target)

    async def revoke_link(self, who: Principal, kind: Kind, target: str, link_id: int) -> None:
        """Revoke a share link; sockets that came with it are closed within the call."""
        await self._manage(who, kind, target)
        async with self._changing(kind, target):
            revoked = await self.sharing.delete_link(kind, target, link_id)
        if not revoked:
            raise TokenNotFound(f"This {kind} has no share link with id {link_id}.")

    # -- signed pad tokens (for apps with their own users) -------------------------------------------

    async def mint_pad_token(
        self, who: Principal, pad_id: str, role: Role, subject: str, name: str, expires_in_s: int
    ) -> tuple[PadTokenRecord, str]:
        """A signed token granting ``role`` on one pad to one of the embedding app's users."""
        await self.view(who, pad_id, Action.MANAGE)
        if role is Role.OWNER:
            raise InvalidValue("A signed pad token grants 'editor' or 'viewer', not 'owner'.")
        now = self.guard.now_ms()
        record = await self.sharing.create_pad_token(
            pad_id,
            role,
            subject,
            name,
            who.user_id,
            now,
            now + expires_in_s * 1000,
            MAX_LIVE_PAD_TOKENS,
        )
        if record is None:
            raise TooManyTokens(
                f"Pad {pad_id} already has {MAX_LIVE_PAD_TOKENS} live signed tokens; revoke some first."
            )
        claims = PadClaims(
            record.id, pad_id, "editor" if role is Role.EDITOR else "viewer", subject, name, record.expires_at
        )
        return record, sign_pad_token(self.guard.pad_token_key, claims)

    async def pad_tokens(self, who: Principal, pad_id: str) -> list[PadTokenRecord]:
        """A pad's live signed tokens (managers only; the tokens themselves are not kept)."""
        await self.view(who, pad_id, Action.MANAGE)
        return await self.sharing.pad_tokens(pad_id, self.guard.now_ms())

    async def revoke_pad_tokens(self, who: Principal, pad_id: str, token_id: int | None = None) -> int:
        """Revoke one signed token (by id) or every one of a pad; sockets that came with them close
        (4401) before this returns. How many were revoked."""
        await self.view(who, pad_id, Action.MANAGE)
        async with self.guard.changing(pads=[pad_id]):
            revoked = await self.sharing.revoke_pad_tokens(pad_id, self.guard.now_ms(), token_id)
        if token_id is not None and not revoked:
            raise TokenNotFound(f"Pad {pad_id} has no live signed token with id {token_id}.")
        return revoked

    # -- accounts going away -----------------------------------------------------------------------

    async def delete_account(self, user: User) -> None:
        """Delete an account. Its folders go with every pad in them; its other pads are erased,
        except those in another user's folder, which pass to that folder's owner."""
        for folder_id in await self.sharing.owned_folders(user.id):
            await self.erase_folder(folder_id)
        for record in await self.sharing.owned_pads(user.id):
            folder = await self.sharing.get_folder(record.folder_id) if record.folder_id else None
            if folder is not None and folder.owner_id != user.id:
                await self.sharing.hand_over(record.id, folder.owner_id, self.guard.now_ms())
            else:
                await self.erase(record.id)
        async with self.guard.changing(users=[user.id]):
            await self.accounts.delete_account(user)

    async def disable_account(self, admin: User, user_id: int, disabled: bool) -> bool:
        """Disable (or re-enable) an account; a disabled one's sockets close at once."""
        if disabled and user_id == admin.id:
            raise Conflict("An administrator cannot disable their own account.")
        async with self.guard.changing(users=[user_id]):
            return await self.sharing.set_disabled(user_id, self.guard.now_ms() if disabled else None)


EXPORT_FORMATS = {
    "txt": ("text/plain; charset=utf-8", "txt"),
    "md": ("text/markdown; charset=utf-8", "md"),
    "html": ("text/html; charset=utf-8", "html"),
    "yjs": ("application/octet-stream", "yjs"),
}
IMPORT_FORMATS = ("txt", "md", "html", "yjs", "etherpad")
IMPORT_SUFFIXES = {
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".yjs": "yjs",
    ".etherpad": "etherpad",
}


def format_of(filename: str) -> str | None:
    """The import format a file name says, if any."""
    name = filename.lower()
    return next((fmt for suffix, fmt in IMPORT_SUFFIXES.items() if name.endswith(suffix)), None)


def export_doc(doc: pycrdt.Doc[Any], fmt: str, title: str) -> bytes:
    """A document in an export format."""
    if fmt == "txt":
        return transfer_text.export_text(doc).encode("utf-8")
    if fmt == "md":
        return transfer_markdown.export_markdown(doc).encode("utf-8")
    if fmt == "html":
        return transfer_html.export_html(doc, title).encode("utf-8")
    return transfer_yjs.export_yjs(doc)


@dataclass(frozen=True, slots=True)
class Imported:
    """A file in an import format: one Yjs update of a new document, and the history the file
    carries (an Etherpad file's key revisions then its head, oldest first; none in other formats)."""

    update: bytes
    history: tuple[transfer_etherpad.EtherpadRevision, ...] = ()

    def revisions(self, seq: int) -> list[NewRevision]:
        """The history as named revisions to store, once ``update`` is in the pad's log at
        ``seq``: the last (the imported text) shows ``seq``; the older ones no position of this
        pad's log (0)."""
        last = len(self.history) - 1
        return [
            NewRevision(seq if i == last else 0, past.update, past.name, past.created_at)
            for i, past in enumerate(self.history)
        ]


def import_doc(fmt: str, data: bytes, max_bytes: int) -> Imported:
    """A file in an import format, as one Yjs update of a new document and the history it
    carries; ImportRejected if bad."""
    fresh: pycrdt.Doc[Any] = pycrdt.Doc()
    limits = transfer.Limits.for_bytes(max_bytes)
    history: list[transfer_etherpad.EtherpadRevision] = []
    if fmt == "yjs":
        transfer_yjs.import_yjs(fresh, data, limits)
    elif fmt == "etherpad":
        history = transfer_etherpad.import_etherpad(fresh, data, limits)
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise transfer.ImportRejected(f"The file is not UTF-8 text (byte {exc.start}).") from None
        if fmt == "txt":
            transfer_text.import_text(fresh, text, limits)
        elif fmt == "md":
            transfer_markdown.import_markdown(fresh, text, limits)
        else:
            transfer_html.import_html(fresh, text, limits)
    return Imported(fresh.get_update(), tuple(history))


def filename(title: str) -> str:
    """A file name from a pad title, in any script (see ``content_disposition`` for the header)."""
    name = "".join(c if c.isalnum() or c in " -_" else "_" for c in title).strip()
    return name[:80] or "pad"


def content_disposition(name: str) -> str:
    """An attachment header for ``name``: an ASCII fallback and the full UTF-8 name (RFC 6266)."""
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in " -_.") else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _is_empty(doc: pycrdt.Doc[Any]) -> bool:
    text = str(doc.get(TEXT_FIELD, type=pycrdt.Text))
    return text.strip() == "" and len(doc.get("chat", type=pycrdt.Array)) == 0


def _title(title: str) -> str:
    title = title.strip()
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidValue(f"A title has at most {MAX_TITLE_CHARS} characters, not {len(title)}.")
    return title


def _name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= MAX_TITLE_CHARS:
        raise InvalidValue(f"A folder name has 1 to {MAX_TITLE_CHARS} characters, not {len(name)}.")
    return name
