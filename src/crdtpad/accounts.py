"""Accounts: register, log in, hash passwords (argon2id), issue and check session and API tokens."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

from crdtpad.config import Settings
from crdtpad.errors import (
    InvalidValue,
    LoginFailed,
    RegistrationClosed,
    TokenNotFound,
    TooManyAttempts,
)
from crdtpad.store.users import ApiTokenRecord, NewSession, SessionRecord, UserRecord, UserStore

log = logging.getLogger(__name__)

USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 1024  # argon2 takes any length; this bounds the work an attacker can ask for
MAX_TOKEN_NAME_CHARS = 100
API_TOKEN_PREFIX = "cpt_"
INVITE_PREFIX = "cpi_"
MAX_API_TOKENS_PER_USER = 100
LOGIN_FAILED = "Unknown username or wrong password."
TOO_MANY_ATTEMPTS = "Too many failed logins; try again later."


def token_hash(token: str) -> bytes:
    """What the store keeps of a session or API token: its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: stored and looked up in lower case."""
    return username.strip().lower()


@dataclass(frozen=True, slots=True)
class User:
    """An account as the rest of crdtpad sees it (no password hash)."""

    id: int
    username: str
    is_admin: bool
    created_at: int

    @classmethod
    def of(cls, record: UserRecord) -> User:
        """The public part of a stored account."""
        return cls(record.id, record.username, record.is_admin, record.created_at)


@dataclass(frozen=True, slots=True)
class Session:
    """A browser session just issued: the cookie value is only ever in this object and the cookie."""

    token: str
    csrf_token: str
    expires_at: int
    user: User


@dataclass(frozen=True, slots=True)
class ActiveSession:
    """A session a request presented, looked up."""

    record: SessionRecord
    user: User


class InviteStore(Protocol):
    """Where invites are kept."""

    async def create_invite(self, code_hash: bytes, created_by: int, now: int, expires_at: int) -> int: ...


class PasswordHasher:
    """argon2id (p = 1) through pwdlib, with a bound on hashes computed at once."""

    def __init__(self, memory_kib: int, time_cost: int, max_concurrent: int) -> None:
        self._hash = PasswordHash((Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1),))
        self._slots = asyncio.Semaphore(max_concurrent)
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        """A PHC string of ``password`` with the current parameters."""
        async with self._slots:
            return await asyncio.to_thread(self._hash.hash, password)

    async def verify(self, password: str, stored: str) -> tuple[bool, str | None]:
        """Whether ``password`` matches; and a new hash when the stored parameters are not current."""
        async with self._slots:
            try:
                return await asyncio.to_thread(self._hash.verify_and_update, password, stored)
            except UnknownHashError:
                return False, None

    async def verify_dummy(self, password: str) -> None:
        """Do the work of one verification against nothing: unknown users cost what known ones do."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(16))
        await self.verify(password, self._dummy)


class LoginLimiter:
    """Failed logins per account and per address in a sliding window; memory bounded by ``max_keys``."""

    def __init__(
        self,
        max_per_account: int,
        max_per_address: int,
        window_s: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"account": max_per_account, "address": max_per_address}
        self._window = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def check(self, account: str, address: str) -> None:
        """Raise ``TooManyAttempts`` if either the account or the address is over its limit."""
        now = self._clock()
        wait = 0.0
        for key in (("account", account), ("address", address)):
            times = self._recent(key, now)
            if times is not None and len(times) >= self._limits[key[0]]:
                wait = max(wait, times[0] + self._window - now)
        if wait > 0:
            raise TooManyAttempts(TOO_MANY_ATTEMPTS, retry_after_s=max(1, math.ceil(wait)))

    def failed(self, account: str, address: str) -> None:
        """Count a failed login against both keys."""
        now = self._clock()
        for key in (("account", account), ("address", address)):
            times = self._recent(key, now)
            if times is None:
                times = self._failures[key] = deque(maxlen=self._limits[key[0]])
            times.append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, account: str) -> None:
        """Forget the account's failures (not the address's: one good account must not reset those)."""
        self._failures.pop(("account", account), None)


class Accounts:
    """Everything about users, their sessions and their API tokens."""

    def __init__(
        self,
        store: UserStore,
        settings: Settings,
        hasher: PasswordHasher | None = None,
        limiter: LoginLimiter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.settings = settings
        self.hasher = hasher or PasswordHasher(
            settings.argon2_memory_kib, settings.argon2_time_cost, settings.max_concurrent_hashes
        )
        self.limiter = limiter or LoginLimiter(
            settings.login_max_failures, settings.login_max_failures_per_address, settings.login_window_s
        )
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # Users

    async def register(self, username: str, password: str, invite: str | None = None) -> User:
        """Self-registration, when the instance allows it (with an invite code, when it asks for one)."""
        mode = self.settings.registration
        if mode == "closed":
            raise RegistrationClosed(
                "Registration is closed on this instance; an administrator creates accounts."
            )
        if mode == "invite":
            if not invite:
                raise RegistrationClosed("Registration on this instance needs an invite code.")
            return await self.create_user(username, password, invite_hash=token_hash(invite))
        return await self.create_user(username, password)

    async def create_invite(self, by: User, sharing: InviteStore) -> tuple[str, int]:
        """A single-use registration invite code, and when it expires (unix ms)."""
        code = INVITE_PREFIX + secrets.token_urlsafe(24)
        now = self._now_ms()
        expires = now + int(self.settings.invite_ttl_s * 1000)
        await sharing.create_invite(token_hash(code), by.id, now, expires)
        return code, expires

    async def create_user(
        self, username: str, password: str, *, is_admin: bool = False, invite_hash: bytes | None = None
    ) -> User:
        """Create an account whatever the registration setting (the CLI, an admin)."""
        name = normalize_username(username)
        if not USERNAME_RE.fullmatch(name):
            raise InvalidValue(
                f"The username {username[:40]!r} is not allowed: use 1-32 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit."
            )
        _check_password(password)
        record = await self.store.create_user(
            name, await self.hasher.hash(password), is_admin, self._now_ms(), invite_hash
        )
        log.info("Account %s created (id %d, admin %s)", record.username, record.id, record.is_admin)
        return User.of(record)

    async def user_by_name(self, username: str) -> User | None:
        """The account with this username, if any."""
        record = await self.store.get_user_by_name(normalize_username(username))
        return User.of(record) if record else None

    async def authenticate(self, username: str, password: str, address: str) -> User:
        """The account if the password matches; one answer (401) for unknown user and wrong password."""
        name = normalize_username(username)
        self.limiter.check(name, address)
        record = await self.store.get_user_by_name(name)
        if record is None:
            await self.hasher.verify_dummy(password)
            ok, new_hash = False, None
        else:
            ok, new_hash = await self.hasher.verify(password, record.password_hash)
        if record is None or not ok or record.disabled_at is not None:
            self.limiter.failed(name, address)
            raise LoginFailed(LOGIN_FAILED)
        self.limiter.succeeded(name)
        if new_hash is not None:
            await self.store.set_password_hash(record.id, new_hash)
            log.info("Account %s: password rehashed with the current parameters", record.username)
        return User.of(record)

    async def change_password(
        self, user: User, old_password: str, new_password: str, address: str, *, new_session: bool
    ) -> Session | None:
        """Set a new password and end every session; with ``new_session``, issue the one that remains."""
        _check_password(new_password)
        await self.authenticate(user.username, old_password, address)
        new_hash = await self.hasher.hash(new_password)
        if not new_session:
            await self.store.set_password(user.id, new_hash, None)
            return None
        session, row = self._new_session(user)
        await self.store.set_password(user.id, new_hash, row)
        return session

    async def delete_account(self, user: User) -> None:
        """Delete the account with its sessions, tokens, memberships and folders (``Pads.delete_account``
        erases or hands over its pads first)."""
        await self.store.delete_user(user.id)
        log.info("Account %s (id %d) deleted", user.username, user.id)

    # Sessions

    def _new_session(self, user: User) -> tuple[Session, NewSession]:
        token = secrets.token_urlsafe(32)
        now = self._now_ms()
        expires = now + int(self.settings.session_ttl_s * 1000)
        csrf = secrets.token_urlsafe(32)
        return Session(token, csrf, expires, user), NewSession(token_hash(token), user.id, csrf, now, expires)

    async def login(self, username: str, password: str, address: str, replacing: str | None) -> Session:
        """Check the password and issue a new session; the session ``replacing`` (if any) ends."""
        user = await self.authenticate(username, password, address)
        session, row = self._new_session(user)
        await self.store.create_session(row, None if replacing is None else token_hash(replacing))
        return session

    async def session(self, token: str) -> ActiveSession | None:
        """The live session behind a cookie value; None when unknown or expired."""
        found = await self.store.session(token_hash(token), self._now_ms())
        if found is None:
            return None
        record, user = found
        return ActiveSession(record, User.of(user))

    async def logout(self, token: str) -> None:
        """End the session behind a cookie value."""
        await self.store.delete_session(token_hash(token))

    # API tokens

    async def create_api_token(self, user: User, name: str) -> tuple[ApiTokenRecord, str]:
        """A new API token for ``user``: the record, and the token itself (shown once)."""
        name = name.strip()
        if not 1 <= len(name) <= MAX_TOKEN_NAME_CHARS:
            raise InvalidValue(f"A token name has 1 to {MAX_TOKEN_NAME_CHARS} characters, not {len(name)}.")
        token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = await self.store.create_api_token(
            user.id, name, token_hash(token), self._now_ms(), MAX_API_TOKENS_PER_USER
        )
        return record, token

    async def api_tokens(self, user: User) -> list[ApiTokenRecord]:
        """The user's API tokens (no secrets: only their hashes are stored)."""
        return await self.store.api_tokens(user.id)

    async def revoke_api_token(self, user: User, token_id: int) -> None:
        """Revoke one of the user's tokens; another user's token id is not found."""
        if not await self.store.delete_api_token(user.id, token_id):
            raise TokenNotFound(f"You have no API token with id {token_id}.")

    async def api_token_user(self, token: str) -> User | None:
        """The user holding a bearer token; None when it is unknown or revoked."""
        if not token.startswith(API_TOKEN_PREFIX):
            return None
        record = await self.store.api_token_user(token_hash(token))
        return User.of(record) if record else None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidValue(f"A password has at least {MIN_PASSWORD_CHARS} characters.")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise InvalidValue(f"A password has at most {MAX_PASSWORD_BYTES} bytes.")
