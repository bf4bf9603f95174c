"""The sharing store: who may reach which pad. Folders, members, share links, unlock tokens, pad
settings, invites, and the instance admin's queries, in SQLite.

It runs on the accounts' pair of connections (an access change never queues behind the pad
writer's batch). Pad deletion is not here: it goes through the pad store, after the room's
writes settle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from crdtpad.db import transaction
from crdtpad.permissions import FolderAcl, Grant, PadAcl, Role
from crdtpad.store.base import SqliteStore
from crdtpad.store.pads import PadRecord, pad_record
from crdtpad.store.users import USER_COLUMNS, UserRecord, user_record


@dataclass(frozen=True, slots=True)
class FolderRecord:
    """One row of ``folders``."""

    id: str
    name: str
    owner_id: int
    archived_at: int | None
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """A member of a pad or folder."""

    user_id: int
    username: str
    role: Role
    created_at: int


@dataclass(frozen=True, slots=True)
class PadTokenRecord:
    """A signed pad token's row: its claims, and whether it was revoked."""

    id: int
    pad_id: str
    role: Role
    subject: str
    name: str
    created_by: int | None
    created_at: int
    expires_at: int
    revoked_at: int | None


_PAD_TOKEN = "id, pad_id, role, subject, name, created_by, created_at, expires_at, revoked_at"


def _pad_token(row: Sequence[Any]) -> PadTokenRecord:
    return PadTokenRecord(
        int(row[0]),
        str(row[1]),
        Role(row[2]),
        str(row[3]),
        str(row[4]),
        row[5],
        int(row[6]),
        int(row[7]),
        row[8],
    )


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """A share link (its token is not stored, only its hash)."""

    id: int
    pad_id: str | None
    folder_id: str | None
    role: Role
    created_by: int | None
    created_at: int
    expires_at: int | None


@dataclass(frozen=True, slots=True)
class PadSecret:
    """A pad's access settings, password hash included: never leaves the domain layer."""

    visibility: str
    password_hash: str | None


@dataclass(frozen=True, slots=True)
class Stats:
    """Instance totals for the admin."""

    users: int
    disabled_users: int
    pads: int
    deleted_pads: int
    folders: int


_PAD = (
    "p.id, p.title, p.visibility, p.owner_id, p.folder_id, p.created_at, p.updated_at, p.deleted_at, "
    "p.chat_enabled"
)


_FOLDER = "id, name, owner_id, archived_at, created_at, updated_at"
_LINK = "id, pad_id, folder_id, role, created_by, created_at, expires_at"
_UNSET: Any = object()


def _link(row: Sequence[Any]) -> LinkRecord:
    return LinkRecord(row[0], row[1], row[2], Role(row[3]), row[4], row[5], row[6])


class SqliteSharingStore(SqliteStore):
    """Folders, members, links, unlock tokens, pad settings, invites and admin queries."""

    async def _fetchall(self, sql: str, args: tuple[object, ...]) -> list[tuple[Any, ...]]:
        async with self._read_lock, self._r.execute(sql, args) as cur:
            return [tuple(r) for r in await cur.fetchall()]

    async def _write(self, sql: str, args: tuple[object, ...]) -> int:
        async with self._write_lock, self._w.execute(sql, args) as cur:
            return cur.rowcount

    # -- access decisions ---------------------------------------------------------------------

    async def folder_acl(self, folder_id: str) -> FolderAcl | None:
        """What decides access to a folder."""
        row = await self._fetchone("SELECT owner_id, archived_at FROM folders WHERE id = ?", (folder_id,))
        if row is None:
            return None
        members = await self._fetchall(
            "SELECT user_id, role FROM folder_members WHERE folder_id = ?", (folder_id,)
        )
        return FolderAcl(folder_id, row[0], row[1] is not None, {u: Role(r) for u, r in members})

    async def pad_acl(self, pad_id: str) -> tuple[PadRecord, PadAcl] | None:
        """A pad's record and what decides access to it (tombstones included, with no access)."""
        row = await self._fetchone(f"SELECT {_PAD} FROM pads p WHERE p.id = ?", (pad_id,))
        if row is None:
            return None
        record = pad_record(row)
        members = await self._fetchall("SELECT user_id, role FROM pad_members WHERE pad_id = ?", (pad_id,))
        folder = await self.folder_acl(record.folder_id) if record.folder_id is not None else None
        visibility = cast(Literal["public", "private", "password"], record.visibility)
        return record, PadAcl(
            record.id, record.owner_id, visibility, folder, {u: Role(r) for u, r in members}
        )

    async def grant(self, token_hash: bytes) -> Grant | None:
        """The share link or unlock token with this hash, if it exists (expired ones included)."""
        row = await self._fetchone(
            "SELECT id, role, pad_id, folder_id, expires_at FROM share_links WHERE token_hash = ?",
            (token_hash,),
        )
        if row is not None:
            return Grant("link", row[0], Role(row[1]), row[2], row[3], row[4])
        row = await self._fetchone(
            "SELECT id, pad_id, expires_at FROM pad_unlocks WHERE token_hash = ?", (token_hash,)
        )
        if row is not None:
            return Grant("unlock", row[0], Role.EDITOR, row[1], None, row[2])
        return None

    # -- pads -----------------------------------------------------------------------------------

    async def pad_secret(self, pad_id: str) -> PadSecret | None:
        """A live pad's visibility and password hash."""
        row = await self._fetchone(
            "SELECT visibility, password_hash FROM pads WHERE id = ? AND deleted_at IS NULL", (pad_id,)
        )
        return PadSecret(row[0], row[1]) if row else None

    async def update_pad(
        self,
        pad_id: str,
        now: int,
        *,
        title: str = _UNSET,
        visibility: str = _UNSET,
        password_hash: str | None = _UNSET,
        folder_id: str | None = _UNSET,
        chat_enabled: bool = _UNSET,
    ) -> None:
        """Change a pad's settings; a new password (or none) ends every unlock token of the pad."""
        changes: dict[str, object] = {}
        for column, value in (
            ("title", title),
            ("visibility", visibility),
            ("password_hash", password_hash),
            ("folder_id", folder_id),
            ("chat_enabled", _UNSET if chat_enabled is _UNSET else int(chat_enabled)),
        ):
            if value is not _UNSET:
                changes[column] = value
        if not changes:
            return
        assignments = ", ".join(f"{c} = ?" for c in changes)
        async with self._write_lock:
            w = self._w
            async with transaction(w):
                await w.execute(
                    f"UPDATE pads SET {assignments}, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
                    (*changes.values(), now, pad_id),
                )
                if "password_hash" in changes:
                    await w.execute("DELETE FROM pad_unlocks WHERE pad_id = ?", (pad_id,))

    async def pads_of(self, user_id: int) -> list[tuple[PadRecord, PadAcl]]:
        """Live pads the user owns, is a member of, or reaches through a folder; newest first.

        Each ACL holds only this user's memberships: enough to decide the user's rights.
        """
        rows = await self._fetchall(
            f"SELECT {_PAD}, pm.role, f.owner_id, f.archived_at, fm.role "
            "FROM pads p "
            "LEFT JOIN pad_members pm ON pm.pad_id = p.id AND pm.user_id = ?1 "
            "LEFT JOIN folders f ON f.id = p.folder_id "
            "LEFT JOIN folder_members fm ON fm.folder_id = p.folder_id AND fm.user_id = ?1 "
            "WHERE p.deleted_at IS NULL "
            "AND (p.owner_id = ?1 OR pm.user_id IS NOT NULL OR f.owner_id = ?1 OR fm.user_id IS NOT NULL) "
            "ORDER BY p.updated_at DESC, p.id LIMIT 10000",
            (user_id,),
        )
        found = []
        for row in rows:
            record = pad_record(row)
            pad_role, f_owner, f_archived, f_role = row[9:]
            folder = None
            if record.folder_id is not None:
                f_members = {user_id: Role(f_role)} if f_role else {}
                folder = FolderAcl(record.folder_id, f_owner, f_archived is not None, f_members)
            members = {user_id: Role(pad_role)} if pad_role else {}
            visibility = cast(Literal["public", "private", "password"], record.visibility)
            found.append((record, PadAcl(record.id, record.owner_id, visibility, folder, members)))
        return found

    async def pads_in(self, folder_id: str) -> list[PadRecord]:
        """The live pads in a folder, newest first."""
        rows = await self._fetchall(
            f"SELECT {_PAD} FROM pads p WHERE p.folder_id = ? AND p.deleted_at IS NULL "
            "ORDER BY p.updated_at DESC, p.id",
            (folder_id,),
        )
        return [pad_record(r) for r in rows]

    async def owned_pads(self, user_id: int) -> list[PadRecord]:
        """The live pads the user owns."""
        rows = await self._fetchall(
            f"SELECT {_PAD} FROM pads p WHERE p.owner_id = ? AND p.deleted_at IS NULL", (user_id,)
        )
        return [pad_record(r) for r in rows]

    async def hand_over(self, pad_id: str, owner_id: int, now: int) -> None:
        """Give a pad a new owner."""
        await self._write(
            "UPDATE pads SET owner_id = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
            (owner_id, now, pad_id),
        )

    # -- folders --------------------------------------------------------------------------------

    async def create_folder(self, folder_id: str, name: str, owner_id: int, now: int) -> FolderRecord:
        """Insert a folder."""
        await self._write(
            f"INSERT INTO folders ({_FOLDER}) VALUES (?, ?, ?, NULL, ?, ?)",
            (folder_id, name, owner_id, now, now),
        )
        return FolderRecord(folder_id, name, owner_id, None, now, now)

    async def get_folder(self, folder_id: str) -> FolderRecord | None:
        """One folder."""
        row = await self._fetchone(f"SELECT {_FOLDER} FROM folders WHERE id = ?", (folder_id,))
        return FolderRecord(*row) if row else None

    async def update_folder(
        self, folder_id: str, now: int, *, name: str = _UNSET, archived_at: int | None = _UNSET
    ) -> None:
        """Rename, archive or unarchive a folder."""
        changes = {c: v for c, v in (("name", name), ("archived_at", archived_at)) if v is not _UNSET}
        if changes:
            assignments = ", ".join(f"{c} = ?" for c in changes)
            await self._write(
                f"UPDATE folders SET {assignments}, updated_at = ? WHERE id = ?",
                (*changes.values(), now, folder_id),
            )

    async def delete_folder(self, folder_id: str) -> None:
        """Delete a folder row with its members and links (its pads are deleted first, by the caller)."""
        await self._write("DELETE FROM folders WHERE id = ?", (folder_id,))

    async def folders_of(self, user_id: int) -> list[tuple[FolderRecord, FolderAcl]]:
        """Folders the user owns or is a member of, by name; ACLs hold only this user's membership."""
        rows = await self._fetchall(
            f"SELECT {', '.join('f.' + c for c in _FOLDER.split(', '))}, fm.role FROM folders f "
            "LEFT JOIN folder_members fm ON fm.folder_id = f.id AND fm.user_id = ?1 "
            "WHERE f.owner_id = ?1 OR fm.user_id IS NOT NULL ORDER BY f.name, f.id LIMIT 10000",
            (user_id,),
        )
        found = []
        for row in rows:
            record = FolderRecord(*row[:6])
            members = {user_id: Role(row[6])} if row[6] else {}
            found.append(
                (record, FolderAcl(record.id, record.owner_id, record.archived_at is not None, members))
            )
        return found

    async def owned_folders(self, user_id: int) -> list[str]:
        """Ids of the folders the user owns."""
        return [r[0] for r in await self._fetchall("SELECT id FROM folders WHERE owner_id = ?", (user_id,))]

    # -- members --------------------------------------------------------------------------------

    async def members(self, kind: Literal["pad", "folder"], target: str) -> list[MemberRecord]:
        """The members of a pad or folder, by username."""
        rows = await self._fetchall(
            f"SELECT m.user_id, u.username, m.role, m.created_at FROM {kind}_members m "
            f"JOIN users u ON u.id = m.user_id WHERE m.{kind}_id = ? ORDER BY u.username",
            (target,),
        )
        return [MemberRecord(r[0], r[1], Role(r[2]), r[3]) for r in rows]

    async def set_member(
        self, kind: Literal["pad", "folder"], target: str, user_id: int, role: Role, now: int
    ) -> None:
        """Add a member or change a member's role."""
        await self._write(
            f"INSERT INTO {kind}_members ({kind}_id, user_id, role, created_at) VALUES (?, ?, ?, ?) "
            f"ON CONFLICT ({kind}_id, user_id) DO UPDATE SET role = excluded.role",
            (target, user_id, role.value, now),
        )

    async def remove_member(self, kind: Literal["pad", "folder"], target: str, user_id: int) -> bool:
        """Remove a member; False when the user was not one."""
        n = await self._write(
            f"DELETE FROM {kind}_members WHERE {kind}_id = ? AND user_id = ?",
            (target, user_id),
        )
        return n > 0

    # -- share links and unlock tokens -----------------------------------------------------------

    async def create_link(
        self,
        kind: Literal["pad", "folder"],
        target: str,
        token_hash: bytes,
        role: Role,
        created_by: int | None,
        now: int,
        expires_at: int | None,
        max_links: int,
    ) -> LinkRecord | None:
        """Insert a share link; None when the pad or folder already has ``max_links``."""
        async with self._write_lock:
            w = self._w
            async with transaction(w):
                async with w.execute(
                    f"SELECT count(*) FROM share_links WHERE {kind}_id = ?",
                    (target,),
                ) as cur:
                    row = await cur.fetchone()
                if row is not None and int(row[0]) >= max_links:
                    return None
                async with w.execute(
                    f"INSERT INTO share_links (token_hash, {kind}_id, role, created_by, created_at, "
                    "expires_at) "
                    f"VALUES (?, ?, ?, ?, ?, ?) RETURNING {_LINK}",
                    (token_hash, target, role.value, created_by, now, expires_at),
                ) as cur:
                    inserted = await cur.fetchone()
        assert inserted is not None
        return _link(tuple(inserted))

    async def links(self, kind: Literal["pad", "folder"], target: str) -> list[LinkRecord]:
        """The share links of a pad or folder, oldest first."""
        rows = await self._fetchall(
            f"SELECT {_LINK} FROM share_links WHERE {kind}_id = ? ORDER BY id",
            (target,),
        )
        return [_link(r) for r in rows]

    # -- signed pad tokens ------------------------------------------------------------------------

    async def create_pad_token(
        self,
        pad_id: str,
        role: Role,
        subject: str,
        name: str,
        created_by: int | None,
        now: int,
        expires_at: int,
        max_live: int,
    ) -> PadTokenRecord | None:
        """Record a new signed pad token (rows that ended a day ago go); None when the pad already
        has ``max_live`` live ones."""
        async with self._write_lock:
            w = self._w
            async with transaction(w):
                await w.execute(
                    "DELETE FROM pad_tokens WHERE pad_id = ? AND coalesce(revoked_at, expires_at) < ?",
                    (pad_id, now - 86_400_000),
                )
                async with w.execute(
                    "SELECT count(*) FROM pad_tokens "
                    "WHERE pad_id = ? AND revoked_at IS NULL AND expires_at > ?",
                    (pad_id, now),
                ) as cur:
                    row = await cur.fetchone()
                if row is not None and int(row[0]) >= max_live:
                    return None
                async with w.execute(
                    "INSERT INTO pad_tokens "
                    "(pad_id, role, subject, name, created_by, created_at, expires_at) "
                    f"VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {_PAD_TOKEN}",
                    (pad_id, role.value, subject, name, created_by, now, expires_at),
                ) as cur:
                    inserted = await cur.fetchone()
        assert inserted is not None
        return _pad_token(tuple(inserted))

    async def pad_token(self, token_id: int) -> PadTokenRecord | None:
        """A signed pad token's row, revoked and expired ones included."""
        row = await self._fetchone(f"SELECT {_PAD_TOKEN} FROM pad_tokens WHERE id = ?", (token_id,))
        return _pad_token(row) if row else None

    async def pad_tokens(self, pad_id: str, now: int) -> list[PadTokenRecord]:
        """A pad's live signed tokens, oldest first."""
        rows = await self._fetchall(
            f"SELECT {_PAD_TOKEN} FROM pad_tokens WHERE pad_id = ? AND revoked_at IS NULL AND expires_at > ? "
            "ORDER BY id",
            (pad_id, now),
        )
        return [_pad_token(r) for r in rows]

    async def revoke_pad_tokens(self, pad_id: str, now: int, token_id: int | None = None) -> int:
        """Revoke one live signed token of a pad (by id) or all of them; how many."""
        where = "" if token_id is None else " AND id = ?"
        args: tuple[object, ...] = (now, pad_id, now) + (() if token_id is None else (token_id,))
        return await self._write(
            "UPDATE pad_tokens SET revoked_at = ? WHERE pad_id = ? AND revoked_at IS NULL AND expires_at > ?"
            + where,
            args,
        )

    async def delete_link(self, kind: Literal["pad", "folder"], target: str, link_id: int) -> bool:
        """Revoke a share link; False when the pad or folder has no link with this id."""
        n = await self._write(
            f"DELETE FROM share_links WHERE id = ? AND {kind}_id = ?",
            (link_id, target),
        )
        return n > 0

    async def create_unlock(
        self,
        pad_id: str,
        verified_hash: str,
        rehash: str | None,
        token_hash: bytes,
        now: int,
        expires_at: int,
    ) -> bool:
        """Record an unlock token, only if the pad is still a live password pad whose hash is the
        one the password was verified against (else False: it changed meanwhile). ``rehash``
        replaces that hash (same password, current parameters) without ending other unlocks."""
        async with self._write_lock:
            w = self._w
            async with transaction(w):
                async with w.execute(
                    "SELECT 1 FROM pads WHERE id = ? AND visibility = 'password' AND deleted_at IS NULL "
                    "AND password_hash = ?",
                    (pad_id, verified_hash),
                ) as cur:
                    if await cur.fetchone() is None:
                        return False
                if rehash is not None:
                    await w.execute("UPDATE pads SET password_hash = ? WHERE id = ?", (rehash, pad_id))
                await w.execute("DELETE FROM pad_unlocks WHERE expires_at <= ?", (now,))
                await w.execute(
                    "INSERT INTO pad_unlocks (token_hash, pad_id, created_at, expires_at) "
                    "VALUES (?, ?, ?, ?)",
                    (token_hash, pad_id, now, expires_at),
                )
        return True

    # -- invites --------------------------------------------------------------------------------

    async def create_invite(self, code_hash: bytes, created_by: int, now: int, expires_at: int) -> int:
        """Record a registration invite; its id."""
        async with (
            self._write_lock,
            self._w.execute(
                "INSERT INTO invites (code_hash, created_by, created_at, expires_at) "
                "VALUES (?, ?, ?, ?) RETURNING id",
                (code_hash, created_by, now, expires_at),
            ) as cur,
        ):
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    # -- instance admin -------------------------------------------------------------------------

    async def search_users(self, query: str, limit: int, offset: int) -> list[UserRecord]:
        """Accounts whose username contains ``query``, by username."""
        rows = await self._fetchall(
            f"SELECT {USER_COLUMNS} FROM users WHERE instr(username, ?) > 0 "
            "ORDER BY username LIMIT ? OFFSET ?",
            (query.lower(), limit, offset),
        )
        return [user_record(r) for r in rows]

    async def search_pads(self, query: str, limit: int, offset: int) -> list[tuple[PadRecord, str | None]]:
        """Live pads whose id or title contains ``query``, newest first, with their owner's name."""
        rows = await self._fetchall(
            f"SELECT {_PAD}, u.username FROM pads p LEFT JOIN users u ON u.id = p.owner_id "
            "WHERE p.deleted_at IS NULL AND (instr(p.id, ?1) > 0 OR instr(lower(p.title), lower(?1)) > 0) "
            "ORDER BY p.updated_at DESC, p.id LIMIT ?2 OFFSET ?3",
            (query, limit, offset),
        )
        return [(pad_record(r), r[9]) for r in rows]

    async def set_disabled(self, user_id: int, disabled_at: int | None) -> bool:
        """Disable or enable an account; a disabled one loses its sessions. False if no such user."""
        async with self._write_lock:
            w = self._w
            async with transaction(w):
                async with w.execute(
                    "UPDATE users SET disabled_at = ? WHERE id = ?", (disabled_at, user_id)
                ) as cur:
                    found = cur.rowcount > 0
                if found and disabled_at is not None:
                    await w.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
        return found

    async def stats(self) -> Stats:
        """Totals for the admin dashboard."""
        row = await self._fetchone(
            "SELECT (SELECT count(*) FROM users), "
            "(SELECT count(*) FROM users WHERE disabled_at IS NOT NULL), "
            "(SELECT count(*) FROM pads WHERE deleted_at IS NULL), "
            "(SELECT count(*) FROM pads WHERE deleted_at IS NOT NULL), "
            "(SELECT count(*) FROM folders)",
            (),
        )
        assert row is not None
        return Stats(*row)
