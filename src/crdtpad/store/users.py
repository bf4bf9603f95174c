"""The user store: accounts, browser sessions and API tokens, in SQLite.

Session and API tokens are stored only as SHA-256 hashes: a copy of the database logs nobody in.
This store has its own pair of connections to the database file (the pad store's writer runs long
batch transactions on its connection; SQLite's busy timeout orders the two writers).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from crdtpad.db import transaction
from crdtpad.errors import RegistrationClosed, TooManyTokens, UsernameTaken
from crdtpad.store.base import SqliteStore


def admin_flag(value: object) -> bool:
    """A stored ``is_admin`` grants admin rights only when it is exactly the integer 1."""
    return type(value) is int and value == 1


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One row of ``users``."""

    id: int
    username: str
    password_hash: str
    is_admin: bool
    created_at: int
    disabled_at: int | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One row of ``sessions`` (without its token hash)."""

    id: int
    user_id: int
    csrf_token: str
    created_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class ApiTokenRecord:
    """One row of ``api_tokens`` (without its token hash)."""

    id: int
    user_id: int
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session row to insert."""

    token_hash: bytes
    user_id: int
    csrf_token: str
    created_at: int
    expires_at: int


class UserStore(Protocol):
    """The storage seam of ``accounts``."""

    async def create_user(
        self,
        username: str,
        password_hash: str,
        is_admin: bool,
        created_at: int,
        invite_hash: bytes | None = None,
    ) -> UserRecord: ...
    async def get_user(self, user_id: int) -> UserRecord | None: ...
    async def get_user_by_name(self, username: str) -> UserRecord | None: ...
    async def set_password_hash(self, user_id: int, password_hash: str) -> None: ...
    async def delete_user(self, user_id: int) -> None: ...
    async def create_session(self, session: NewSession, replacing: bytes | None) -> SessionRecord: ...
    async def set_password(
        self, user_id: int, password_hash: str, keep: NewSession | None
    ) -> SessionRecord | None: ...
    async def session(self, token_hash: bytes, now: int) -> tuple[SessionRecord, UserRecord] | None: ...
    async def delete_session(self, token_hash: bytes) -> None: ...
    async def create_api_token(
        self, user_id: int, name: str, token_hash: bytes, created_at: int, max_per_user: int
    ) -> ApiTokenRecord: ...
    async def api_tokens(self, user_id: int) -> list[ApiTokenRecord]: ...
    async def delete_api_token(self, user_id: int, token_id: int) -> bool: ...
    async def api_token_user(self, token_hash: bytes) -> UserRecord | None: ...


USER_COLUMNS = "id, username, password_hash, is_admin, created_at, disabled_at"
_SESSION_COLUMNS = "id, user_id, csrf_token, created_at, expires_at"
_TOKEN_COLUMNS = "id, user_id, name, created_at"


def user_record(row: Sequence[Any]) -> UserRecord:
    """A ``users`` row (``USER_COLUMNS``) as a record."""
    uid, username, password_hash, is_admin, created_at, disabled_at = row
    return UserRecord(
        id=int(uid),
        username=str(username),
        password_hash=str(password_hash),
        is_admin=admin_flag(is_admin),
        created_at=int(created_at),
        disabled_at=None if disabled_at is None else int(disabled_at),
    )


class SqliteUserStore(SqliteStore):
    """UserStore on SQLite: one transaction per method."""

    async def create_user(
        self,
        username: str,
        password_hash: str,
        is_admin: bool,
        created_at: int,
        invite_hash: bytes | None = None,
    ) -> UserRecord:
        """Insert an account; the username must be free, and the invite (if any) unused and unexpired."""
        async with self._write_lock:
            w = self._w
            async with transaction(w):
                if invite_hash is not None:
                    async with w.execute(
                        "DELETE FROM invites WHERE code_hash = ? AND expires_at > ?",
                        (invite_hash, created_at),
                    ) as cur:
                        if cur.rowcount == 0:
                            raise RegistrationClosed("The invite code is unknown, used or expired.")
                try:
                    async with w.execute(
                        "INSERT INTO users (username, password_hash, is_admin, created_at) "
                        "VALUES (?, ?, ?, ?) "
                        f"RETURNING {USER_COLUMNS}",
                        (username, password_hash, 1 if is_admin else 0, created_at),
                    ) as cur:
                        row = await cur.fetchone()
                except sqlite3.IntegrityError as exc:
                    raise UsernameTaken(f"The username {username!r} is taken.") from exc
        assert row is not None
        return user_record(tuple(row))

    async def get_user(self, user_id: int) -> UserRecord | None:
        """The account with this id."""
        row = await self._fetchone(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return user_record(row) if row else None

    async def get_user_by_name(self, username: str) -> UserRecord | None:
        """The account with this (normalised) username."""
        row = await self._fetchone(f"SELECT {USER_COLUMNS} FROM users WHERE username = ?", (username,))
        return user_record(row) if row else None

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        """Replace the stored hash (a rehash at login: sessions stay)."""
        async with self._write_lock:
            await self._w.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))

    async def delete_user(self, user_id: int) -> None:
        """Delete the account; its sessions, tokens, memberships and folders go by ON DELETE CASCADE
        (its pads are erased or handed over first, by the caller)."""
        async with self._write_lock:
            await self._w.execute("DELETE FROM users WHERE id = ?", (user_id,))

    async def create_session(self, session: NewSession, replacing: bytes | None) -> SessionRecord:
        """Insert a session, delete the one it replaces (if any) and every expired one."""
        async with self._write_lock:
            w = self._w
            async with transaction(w):
                if replacing is not None:
                    await w.execute("DELETE FROM sessions WHERE token_hash = ?", (replacing,))
                await w.execute("DELETE FROM sessions WHERE expires_at <= ?", (session.created_at,))
                record = await self._insert_session(session)
        return record

    async def set_password(
        self, user_id: int, password_hash: str, keep: NewSession | None
    ) -> SessionRecord | None:
        """Set a new password hash and end every session of the user; ``keep``, if given, becomes
        the only session."""
        async with self._write_lock:
            w = self._w
            async with transaction(w):
                await w.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
                await w.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
                return await self._insert_session(keep) if keep is not None else None

    async def _insert_session(self, s: NewSession) -> SessionRecord:
        async with self._w.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) "
            f"VALUES (?, ?, ?, ?, ?) RETURNING {_SESSION_COLUMNS}",
            (s.token_hash, s.user_id, s.csrf_token, s.created_at, s.expires_at),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return SessionRecord(*row)

    async def session(self, token_hash: bytes, now: int) -> tuple[SessionRecord, UserRecord] | None:
        """The unexpired session with this token hash and its (enabled) user."""
        row = await self._fetchone(
            f"SELECT {', '.join('s.' + c for c in _SESSION_COLUMNS.split(', '))}, "
            f"{', '.join('u.' + c for c in USER_COLUMNS.split(', '))} "
            "FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL",
            (token_hash, now),
        )
        if row is None:
            return None
        return SessionRecord(*row[:5]), user_record(row[5:])

    async def delete_session(self, token_hash: bytes) -> None:
        """End one session."""
        async with self._write_lock:
            await self._w.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    async def create_api_token(
        self, user_id: int, name: str, token_hash: bytes, created_at: int, max_per_user: int
    ) -> ApiTokenRecord:
        """Insert an API token, unless the user already holds ``max_per_user``."""
        async with self._write_lock:
            w = self._w
            async with transaction(w):
                async with w.execute("SELECT count(*) FROM api_tokens WHERE user_id = ?", (user_id,)) as cur:
                    row = await cur.fetchone()
                if row is not None and int(row[0]) >= max_per_user:
                    raise TooManyTokens(
                        f"The account already holds {max_per_user} API tokens; revoke one first."
                    )
                async with w.execute(
                    "INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES (?, ?, ?, ?) "
                    f"RETURNING {_TOKEN_COLUMNS}",
                    (token_hash, user_id, name, created_at),
                ) as cur:
                    inserted = await cur.fetchone()
        assert inserted is not None
        return ApiTokenRecord(*inserted)

    async def api_tokens(self, user_id: int) -> list[ApiTokenRecord]:
        """The user's API tokens, oldest first."""
        async with (
            self._read_lock,
            self._r.execute(
                f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE user_id = ? ORDER BY id", (user_id,)
            ) as cur,
        ):
            rows = await cur.fetchall()
        return [ApiTokenRecord(*r) for r in rows]

    async def delete_api_token(self, user_id: int, token_id: int) -> bool:
        """Revoke one of the user's tokens; False when the user has no token with this id."""
        async with (
            self._write_lock,
            self._w.execute(
                "DELETE FROM api_tokens WHERE id = ? AND user_id = ?", (token_id, user_id)
            ) as cur,
        ):
            return cur.rowcount > 0

    async def api_token_user(self, token_hash: bytes) -> UserRecord | None:
        """The (enabled) user holding the API token with this hash."""
        row = await self._fetchone(
            f"SELECT {', '.join('u.' + c for c in USER_COLUMNS.split(', '))} "
            "FROM api_tokens t JOIN users u ON u.id = t.user_id "
            "WHERE t.token_hash = ? AND u.disabled_at IS NULL",
            (token_hash,),
        )
        return user_record(row) if row else None
