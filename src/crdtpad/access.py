"""Who is calling and what they may do on a pad: decided at the door, and kept true on live sockets.

``Guard`` turns credentials (a session cookie, an API token, a share-link or unlock token) into a
``Principal``, and a principal and a pad into ``Rights`` (through ``permissions.pad_rights``).
Every access change runs inside ``Guard.changing(...)``: the affected sockets are *held* before
the change is written (an edit they send waits), re-checked against the stored state after it,
then closed (4401/4403/4410), narrowed to read-only or let go. So an edit racing a revocation is
either applied before the revocation began or not at all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from crdtpad.accounts import API_TOKEN_PREFIX, Accounts, User, token_hash
from crdtpad.errors import (
    AccessRevoked,
    CloseCode,
    CrdtpadError,
    Forbidden,
    NotAuthenticated,
    NotFound,
    PadDeleted,
    PadNotFound,
    PasswordRequired,
)
from crdtpad.pad_tokens import PAD_TOKEN_PREFIX, BadPadToken, derive_key, verify
from crdtpad.permissions import Action, Grant, PadAcl, Rights, pad_rights
from crdtpad.store.pads import PadRecord
from crdtpad.store.sharing import SqliteSharingStore
from crdtpad.sync.connection import Connection
from crdtpad.sync.rooms import Room, Rooms

log = logging.getLogger(__name__)

SHARE_LINK_PREFIX = "cpl_"
UNLOCK_PREFIX = "cpu_"


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller: maybe an account, maybe a share link or unlock token, maybe neither (anonymous)."""

    user: User | None = None
    grant: Grant | None = None
    session_id: int | None = None  # set when the account came by session cookie
    expires_at: int | None = None  # unix ms when the first of its credentials stops working

    @property
    def user_id(self) -> int | None:
        """The account's id, if any."""
        return self.user.id if self.user is not None else None

    @property
    def author_id(self) -> str | None:
        """Who the caller's chat messages must say wrote them (sync/chat.py); None: anonymous."""
        if self.user is not None:
            return f"user:{self.user.username}"
        if self.grant is not None and self.grant.kind == "app":
            return f"ext:{self.grant.subject}"
        return None


ANONYMOUS = Principal()


@dataclass(slots=True)
class SocketAuth:
    """What a live socket presented and was granted; kept to re-check it when access changes."""

    pad_id: str
    session_token: str | None
    token: str | None
    principal: Principal
    deadline: asyncio.TimerHandle | None = None


class _Change:
    """One access change in progress: the sockets it holds (compared by identity)."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held: set[Connection] = set()

    def hold(self, conn: Connection) -> None:
        if conn not in self.held:
            self.held.add(conn)
            conn.hold_up()


class Guard:
    """Resolves callers, decides their rights on pads, and enforces access changes on live sockets."""

    def __init__(
        self,
        accounts: Accounts,
        sharing: SqliteSharingStore,
        rooms: Rooms,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.accounts = accounts
        self.sharing = sharing
        self.rooms = rooms
        self._clock = clock
        self.pad_token_key = derive_key(accounts.settings.secret_key())
        # Sockets are found by pad through their rooms, and while they enter, here (a set per
        # loaded pad would cost memory on every idle pad).
        self._entering: set[Connection] = set()
        self._by_user: dict[int, set[Connection]] = {}
        self._changes: list[_Change] = []  # in progress
        self._quiet = asyncio.Event()  # set while no change is in progress
        self._quiet.set()
        self.epoch = 0  # moves when a change starts and ends: a socket admitted across it is re-checked

    def now_ms(self) -> int:
        """Wall-clock milliseconds."""
        return int(self._clock() * 1000)

    # -- at the door ---------------------------------------------------------------------------

    async def principal(self, session_token: str | None, token: str | None) -> Principal:
        """Resolve credentials. A stale session cookie counts as none; a bad token is NotAuthenticated."""
        user: User | None = None
        session_id: int | None = None
        expires: list[int] = []
        grant: Grant | None = None
        if session_token:
            session = await self.accounts.session(session_token)
            if session is not None:
                user, session_id = session.user, session.record.id
                expires.append(session.record.expires_at)
        if token:
            if token.startswith(API_TOKEN_PREFIX):
                by_token = await self.accounts.api_token_user(token)
                if by_token is None:
                    raise NotAuthenticated("The API token is unknown or revoked.")
                if user is not None and user.id != by_token.id:
                    session_id, expires = None, []  # the token speaks for the caller, not the cookie
                user = by_token
            elif token.startswith((SHARE_LINK_PREFIX, UNLOCK_PREFIX)):
                grant = await self.sharing.grant(token_hash(token))
                if grant is None or not grant.live(self.now_ms()):
                    raise NotAuthenticated("The share link or unlock token is unknown, revoked or expired.")
                if grant.expires_at is not None:
                    expires.append(grant.expires_at)
            elif token.startswith(PAD_TOKEN_PREFIX):
                grant = await self._pad_token(token)
                expires.append(grant.expires_at or 0)
            else:
                raise NotAuthenticated("The token is not a crdtpad token (cpt_, cpl_, cpu_ or cps_).")
        return Principal(user, grant, session_id, min(expires) if expires else None)

    async def _pad_token(self, token: str) -> Grant:
        """The grant of a signed pad token: a valid signature, and a live row matching every claim."""
        try:
            claims = verify(self.pad_token_key, token)
        except BadPadToken as exc:
            raise NotAuthenticated(f"The signed pad token is not valid: {exc}.") from None
        row = await self.sharing.pad_token(claims.id)
        claimed = (claims.pad, claims.role, claims.sub, claims.name, claims.exp)
        if row is None or (row.pad_id, row.role.value, row.subject, row.name, row.expires_at) != claimed:
            raise NotAuthenticated("The signed pad token is unknown.")
        if row.revoked_at is not None:
            raise NotAuthenticated("The signed pad token was revoked.")
        if row.expires_at <= self.now_ms():
            raise NotAuthenticated("The signed pad token expired.")
        return Grant("app", row.id, row.role, row.pad_id, None, row.expires_at, row.subject, row.name)

    async def pad(self, pad_id: str) -> tuple[PadRecord, PadAcl]:
        """A live pad and its ACL; PadNotFound or PadDeleted otherwise."""
        found = await self.sharing.pad_acl(pad_id)
        if found is None:
            raise PadNotFound(f"No pad has the id {pad_id[:80]}.")
        if found[0].deleted_at is not None:
            raise PadDeleted(f"Pad {pad_id} was deleted.")
        return found

    def rights(self, who: Principal, acl: PadAcl) -> Rights | None:
        """The caller's rights on a pad."""
        return pad_rights(who.user_id, who.grant, acl, self.now_ms())

    def check(self, who: Principal, acl: PadAcl, action: Action) -> Rights:
        """The caller's rights if they allow ``action``; a pad they cannot see is not found."""
        rights = self.rights(who, acl)
        if rights is None:
            if acl.visibility == "password":
                raise PasswordRequired(
                    f"Pad {acl.id} is protected by a password: POST /api/v1/pads/{acl.id}/unlock with it."
                )
            raise PadNotFound(f"No pad has the id {acl.id}.")
        if not rights.can(action):
            if rights.read_only and action is Action.EDIT:
                raise Forbidden(f"Pad {acl.id} is in an archived folder: it is read-only.")
            raise Forbidden(f"Your role on pad {acl.id} ({rights.role}) may not {action} it.")
        return rights

    async def require(self, who: Principal, pad_id: str, action: Action) -> tuple[PadRecord, PadAcl, Rights]:
        """Load a pad and check the caller may do ``action`` on it."""
        record, acl = await self.pad(pad_id)
        return record, acl, self.check(who, acl, action)

    async def quiet(self) -> None:
        """Return once no access change is in progress."""
        await self._quiet.wait()

    def unchanged_since(self, epoch: int) -> bool:
        """Whether no access change began or ended since ``epoch`` was read."""
        return self.epoch == epoch

    # -- live sockets --------------------------------------------------------------------------

    def attach(self, conn: Connection, auth: SocketAuth, rights: Rights) -> None:
        """Track a socket about to join its pad; changes in progress will re-check it too."""
        self._track(conn, auth, rights)
        for change in self._changes:
            change.hold(conn)

    async def enter(self, conn: Connection, auth: SocketAuth, rights: Rights, epoch: int, room: Room) -> bool:
        """Attach a socket admitted while ``epoch`` was current and join it to its room; if access
        changed since, re-check it first (the room sends it nothing before). Whether it joined."""
        self.attach(conn, auth, rights)
        self._entering.add(conn)
        try:
            if self.epoch != epoch:
                await self.recheck([conn])
            if conn.close_code is not None:
                return False
            await room.join(conn)  # in room.conns from its first step on
            return True
        finally:
            self._entering.discard(conn)

    def _track(self, conn: Connection, auth: SocketAuth, rights: Rights) -> None:
        conn.auth = auth
        conn.read_only = not rights.can(Action.EDIT)
        conn.author_id = auth.principal.author_id
        uid = auth.principal.user_id
        if uid is not None:
            self._by_user.setdefault(uid, set()).add(conn)
        self._arm_deadline(conn, auth)

    def detach(self, conn: Connection) -> None:
        """Forget a socket that left."""
        auth = conn.auth
        if not isinstance(auth, SocketAuth):
            return
        if auth.deadline is not None:
            auth.deadline.cancel()
            auth.deadline = None
        self._entering.discard(conn)
        uid = auth.principal.user_id
        conns = self._by_user.get(uid) if uid is not None else None
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._by_user[uid]  # type: ignore[arg-type]

    def _arm_deadline(self, conn: Connection, auth: SocketAuth) -> None:
        if auth.deadline is not None:
            auth.deadline.cancel()
            auth.deadline = None
        expires = auth.principal.expires_at
        if expires is not None:
            delay = max(0.0, (expires - self.now_ms()) / 1000)
            auth.deadline = asyncio.get_running_loop().call_later(delay, self._expire, conn)

    @staticmethod
    def _expire(conn: Connection) -> None:
        conn.close(CloseCode.NOT_AUTHENTICATED, "your session or link expired", "expired")

    @asynccontextmanager
    async def changing(
        self,
        *,
        pads: Iterable[str] = (),
        folders: Iterable[str] = (),
        users: Iterable[int] = (),
    ) -> AsyncIterator[None]:
        """Hold the sockets an access change touches, then re-check them once it is written.

        From its start, the change also holds every socket that attaches meanwhile, and ``epoch``
        moves at its start and end: a socket admitted across it is re-checked before it joins.
        """
        change = _Change()
        self._changes.append(change)
        self._quiet.clear()
        self.epoch += 1
        try:
            pad_ids = set(pads)
            for folder_id in folders:
                pad_ids.update(r.id for r in await self.sharing.pads_in(folder_id))
            for conn in [*self._entering, *(c for p in pad_ids for c in self.rooms.clients(p))]:
                if isinstance(conn.auth, SocketAuth) and conn.auth.pad_id in pad_ids:
                    change.hold(conn)
            for uid in users:
                for conn in self._by_user.get(uid, ()):
                    change.hold(conn)
            yield
        finally:
            try:
                self._changes = [c for c in self._changes if c is not change]
                if not self._changes:
                    self._quiet.set()
                self.epoch += 1
                await self.recheck(change.held)
            finally:
                for conn in change.held:
                    conn.let_go()

    async def recheck(self, conns: Iterable[Connection]) -> None:
        """Re-resolve each socket's credentials and rights; close, narrow or widen it."""
        principals: dict[tuple[str | None, str | None], Principal | CrdtpadError] = {}
        pads: dict[str, tuple[PadRecord, PadAcl] | CrdtpadError] = {}
        for conn in list(conns):
            try:
                await self._recheck_one(conn, principals, pads)
            except Exception:
                log.exception("Connection %d: re-checking its access failed; closing it", conn.id)
                conn.close(CloseCode.INTERNAL_ERROR, "access check failed; reconnect", "recheck_error")

    async def _recheck_one(
        self,
        conn: Connection,
        principals: dict[tuple[str | None, str | None], Principal | CrdtpadError],
        pads: dict[str, tuple[PadRecord, PadAcl] | CrdtpadError],
    ) -> None:
        auth = conn.auth
        if conn.close_code is not None or not isinstance(auth, SocketAuth):
            return
        key = (auth.session_token, auth.token)
        if key not in principals:
            try:
                principals[key] = await self.principal(*key)
            except CrdtpadError as exc:
                principals[key] = exc
        if auth.pad_id not in pads:
            try:
                pads[auth.pad_id] = await self.pad(auth.pad_id)
            except CrdtpadError as exc:
                pads[auth.pad_id] = exc
        if conn.close_code is not None:
            return  # it closed while we read
        who, found = principals[key], pads[auth.pad_id]
        if not isinstance(who, CrdtpadError) and auth.principal.session_id not in (None, who.session_id):
            who = NotAuthenticated("Your session ended; log in again.")
        if isinstance(who, CrdtpadError):
            self._refuse(conn, who)
            return
        if isinstance(found, CrdtpadError):
            self._refuse(conn, found)
            return
        rights = self.rights(who, found[1])
        if rights is None:
            if found[1].visibility == "password" and who.grant is None:
                self._refuse(conn, PasswordRequired(f"Pad {auth.pad_id} now needs its password."))
            else:
                self._refuse(conn, AccessRevoked(f"You no longer have access to pad {auth.pad_id}."))
            return
        was_read_only = conn.read_only
        self.detach(conn)
        auth.principal = who
        self._track(conn, auth, rights)
        if was_read_only and not conn.read_only:
            await self.rooms.resync(auth.pad_id, conn)

    @staticmethod
    def _refuse(conn: Connection, exc: CrdtpadError) -> None:
        if isinstance(exc, NotFound):
            exc = AccessRevoked(str(exc))
        pad_id = conn.auth.pad_id if isinstance(conn.auth, SocketAuth) else "?"
        log.info("Pad %s: closing connection %d: %s", pad_id, conn.id, exc)
        conn.close(exc.close_code, str(exc), type(exc).__name__)
