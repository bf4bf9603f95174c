"""The Hocuspocus endpoint, ``ws://HOST/hocuspocus``, for the stock ``@hocuspocus/provider`` 4.x.

One socket carries several pads, each frame addressed to one (:mod:`crdtpad.sync.hocuspocus`).
A pad's first frame is the provider's token; until that pad is admitted nothing else of it is
processed, only held, within bounds. Once admitted, the pad on this socket is a ``Connection``
in the pad's ``Room``, admitted and enforced like a ``/sync/{pad_id}`` socket (``admit()``,
``Guard.enter``, rate limit, send queue); the room's y-websocket frames go out prefixed with the
pad's address.

What differs from ``/sync``: the client learns its scope (``Authenticated``), a refusal or a
revocation ends one pad (``PermissionDenied``, then ``Close`` for a pad that was open) and the
socket stays open for the others, and every update is acknowledged with ``SyncStatus`` once it
is committed (or at once, negatively, when it is refused), in order and without holding up the
socket's other pads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from typing import Any

import pycrdt
from starlette.types import Message, Receive, Scope, Send

from crdtpad.api.sync import admit, direct_writer, forget_own_cancel, frame_bytes, send_close
from crdtpad.config import Settings
from crdtpad.errors import (
    CloseCode,
    CrdtpadError,
    InvalidPadId,
    ProtocolError,
    RateLimited,
    StoreUnavailable,
)
from crdtpad.permissions import Action
from crdtpad.services import Services
from crdtpad.sync import hocuspocus as hp
from crdtpad.sync import protocol as p
from crdtpad.sync.connection import Connection, ConnectionLimits
from crdtpad.sync.rooms import PAD_ID_RE, Room
from crdtpad.sync.validate import validate_update

log = logging.getLogger(__name__)

PATHS = frozenset({"/hocuspocus", "/hocuspocus/"})

ENDED_REMEMBERED = 256  # addresses of pads we ended whose late frames are dropped, not held
CONTROL_FRAMES = 1024  # our own frames (Pong, PermissionDenied, Close) waiting to be sent

# A Connection closed with one of these ends only its pad; any other code closes the socket
# (1011 and 1001 so the provider reconnects and resends, 1013 and 4429 because the socket is the
# slow or noisy party).
_ACCESS_CODES = frozenset(
    {CloseCode.NOT_AUTHENTICATED, CloseCode.FORBIDDEN, CloseCode.PAD_NOT_FOUND, CloseCode.PAD_DELETED}
)
_PAD_CODES = _ACCESS_CODES | {CloseCode.MALFORMED}
_TYPE_NAMES: dict[type[hp.Frame], str] = {
    hp.Sync: "sync",
    hp.Awareness: "awareness",
    hp.Auth: "auth",
    hp.QueryAwareness: "query_awareness",
    hp.Stateless: "stateless",
    hp.Close: "close",
    hp.Ping: "ping",
    hp.Pong: "pong",
}


@dataclass(frozen=True, slots=True)
class HocuspocusLimits:
    """Per-socket bounds of the Hocuspocus endpoint (settings ``hocuspocus_*``, see config.py)."""

    auth_timeout_s: float
    preauth_messages: int
    preauth_bytes: int
    pending_pads: int
    pads_per_socket: int
    ping_idle_s: float

    @classmethod
    def of(cls, settings: Settings) -> HocuspocusLimits:
        """The bounds the settings give."""
        return cls(**{f.name: getattr(settings, f"hocuspocus_{f.name}") for f in fields(cls)})


class _TooManyPads(CrdtpadError):
    close_code = CloseCode.TRY_AGAIN_LATER


class _PadConnection(Connection):
    """A pad's Connection on a Hocuspocus socket (relays Stateless messages only to these)."""

    __slots__ = ("pad",)

    def __init__(
        self, limits: ConnectionLimits, pad: _Pad, socket: HocuspocusSocket, read_only: bool
    ) -> None:
        super().__init__(limits, lambda: socket._wake(pad), read_only=read_only)
        self.pad = pad


class _Pad:
    """One address on the socket: held frames until admitted, then its Connection in the room."""

    __slots__ = (
        "address",
        "admitting",
        "conn",
        "ended",
        "joined",
        "live",
        "pad_id",
        "pipeline",
        "pipeline_task",
        "prefix",
        "queue",
        "read_only",
        "ready",
        "room",
        "step1_credit",
    )

    def __init__(self, address: str) -> None:
        self.address = address
        self.pad_id = hp.document_name(address)
        self.prefix = hp.address_prefix(address)
        self.queue: deque[tuple[hp.Addressed, int]] = deque()  # held until admitted, with sizes
        self.admitting = False
        self.joined = False  # in its room: the provider was told Authenticated and got the room's state
        self.live = False  # admitted and its held frames handled: frames go straight to the room
        self.ended = False
        self.conn: _PadConnection | None = None
        self.room: Room | None = None
        self.read_only = False  # the scope the client was last told
        self.ready = False  # in the socket's list of pads with queued frames
        self.step1_credit = 0  # our SyncStep1s sent on join that a client SyncStep1 may pair with
        # Frames that wait for a commit, in order: (seq, frame); frame None is our SyncStep1.
        self.pipeline: deque[tuple[int, bytes | None]] = deque()
        self.pipeline_task: asyncio.Task[None] | None = None


class HocuspocusSocket:
    """One provider socket's ASGI conversation."""

    def __init__(self, services: Services, scope: Scope, receive: Receive, send: Send) -> None:
        self.services = services
        self.scope = scope
        self.receive = receive
        self.send = send
        self.limits = HocuspocusLimits.of(services.settings)
        self.pads: dict[str, _Pad] = {}
        self.ended: OrderedDict[str, None] = OrderedDict()
        self.conns: set[_PadConnection] = set()  # registered in a room, the guard and the metrics
        self.preauth_messages = 0
        self.preauth_bytes = 0
        self.admitted_once = False
        self.version: str | None = None  # the provider's, from its first token (4.x sends one)
        self.outbox: deque[bytes] = deque()  # our own frames, sent before pads' queued frames
        self.ready: deque[_Pad] = deque()
        self.sender: asyncio.Task[None] | None = None
        self.children: set[asyncio.Task[None]] = set()
        self.group: asyncio.TaskGroup | None = None
        self.main: asyncio.Task[Any] | None = None
        self.direct: Any = None
        self.closing = False
        self.abandoned = False
        self.reaping = False
        self.sent_at = time.monotonic()
        self.deadline: asyncio.TimerHandle | None = None
        self.pinger: asyncio.TimerHandle | None = None
        limits = services.connection_limits
        self._rate, self._burst = limits.rate_per_s, limits.burst
        self._tokens = float(limits.burst)
        self._refilled = time.monotonic()

    # -- the socket's life ---------------------------------------------------------------------

    async def serve(self) -> None:
        """Accept, then receive until the peer leaves."""
        if (await self.receive())["type"] != "websocket.connect":
            return
        await self.send({"type": "websocket.accept"})
        self.services.metrics.connections_total.inc()
        loop = asyncio.get_running_loop()
        self.main = asyncio.current_task()
        self.direct = direct_writer(self.send)
        self.deadline = loop.call_later(self.limits.auth_timeout_s, self._auth_timeout)
        self.pinger = loop.call_later(self.limits.ping_idle_s, self._ping)
        try:
            async with asyncio.TaskGroup() as group:
                self.group = group
                try:
                    await self._receive_loop()
                finally:
                    self.group = None  # nothing new starts
                    for task in list(self.children):
                        task.cancel()
        except asyncio.CancelledError:
            if not self.abandoned:
                raise
            forget_own_cancel()
        finally:
            for timer in (self.deadline, self.pinger):
                if timer is not None:
                    timer.cancel()
            self.closing = True
            for pad in list(self.pads.values()):
                self._end(pad, CloseCode.NORMAL, "", "socket", notify=False)
            for conn in list(self.conns):
                self._release(conn)

    def _spawn(self, job: Callable[..., Awaitable[None]], *args: Any) -> asyncio.Task[None] | None:
        """Run ``job(*args)`` in the socket's task group (it ends with the socket)."""
        if self.group is None:
            return None
        coro = self._guarded(job, *args)
        try:
            task = self.group.create_task(coro)
        except RuntimeError:  # the group is shutting down: the socket is going anyway
            coro.close()
            return None
        self.children.add(task)
        task.add_done_callback(self.children.discard)
        return task

    async def _guarded(self, job: Callable[..., Awaitable[None]], *args: Any) -> None:
        try:
            await job(*args)
        except Exception:
            log.exception("Hocuspocus socket: unexpected error")
            self._close(CloseCode.INTERNAL_ERROR, "unexpected error; reconnect", "error")

    def _close(self, code: int, reason: str, kind: str) -> None:
        """Close the whole socket with ``code`` (every pad on it ends)."""
        if self.closing:
            return
        self.closing = True
        self.services.metrics.closes.labels(str(code), kind).inc()
        if code != CloseCode.GOING_AWAY:
            log.info("Closing a Hocuspocus socket with %d: %s", code, reason)
        for pad in list(self.pads.values()):
            self._end(pad, CloseCode.NORMAL, "", "socket", notify=False)
        if self.sender is not None:
            self.sender.cancel()  # it may be stuck on a client that stopped reading
        self._spawn(self._close_now, code, reason)

    async def _close_now(self, code: int, reason: str) -> None:
        if not await send_close(self.send, code, reason) and self.main is not None:
            self.abandoned = True
            self.main.cancel()

    def _auth_timeout(self) -> None:
        if not self.admitted_once:
            self._close(
                hp.CONNECTION_TIMEOUT,
                f"no document was authenticated within {self.limits.auth_timeout_s:g} s",
                "auth_timeout",
            )

    def _ping(self) -> None:
        if self.closing:
            return
        idle = time.monotonic() - self.sent_at
        delay = self.limits.ping_idle_s
        if self.version is not None and idle >= delay:
            self._control(hp.PING)  # only 4.x providers (they send their version) know it
        elif self.version is not None:
            delay -= idle
        self.pinger = asyncio.get_running_loop().call_later(max(delay, 0.05), self._ping)

    # -- receiving ------------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        metrics = self.services.metrics
        max_frame = self.services.settings.max_frame_bytes
        while True:
            message: Message = await self.receive()
            if message["type"] == "websocket.disconnect":
                return
            if self.closing:
                continue  # closing: wait for the peer's answer, ignore what it still sends
            try:
                data = frame_bytes(message, metrics, max_frame)
                frame = hp.decode_frame(data)
                metrics.messages_in.labels(_TYPE_NAMES[type(frame)]).inc()
                await self._dispatch(frame, len(data))
            except hp.FrameError as exc:
                metrics.rejected.labels(exc.kind).inc()
                pad = self.pads.get(exc.address) if exc.address is not None else None
                if pad is not None and pad.live:
                    log.info("Pad %s: ending it on a Hocuspocus socket: %s", pad.pad_id, exc.detail)
                    self._end(pad, exc.close_code, exc.detail, exc.kind)
                else:
                    self._close(exc.close_code, str(exc), exc.kind)
            except ProtocolError as exc:
                metrics.rejected.labels(exc.kind).inc()
                self._close(exc.close_code, str(exc), exc.kind)

    def _take_token(self) -> None:
        """Charge a frame that reaches no room (a held frame, a Ping) to the socket's own rate."""
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self._rate)
        self._refilled = now
        if self._tokens < 1.0:
            raise RateLimited(
                f"More than {self._rate:g} messages per second (burst {self._burst}).", "rate_limited"
            )
        self._tokens -= 1.0

    async def _dispatch(self, frame: hp.Frame, size: int) -> None:
        if isinstance(frame, hp.Ping | hp.Pong):
            self._take_token()
            if isinstance(frame, hp.Ping):
                self._control(hp.PONG)
            return
        pad = self.pads.get(frame.address)
        if pad is not None and pad.live:
            await self._handle(pad, frame)
            return
        self._take_token()
        if pad is None:
            if isinstance(frame, hp.Close):
                return  # nothing open under that address
            if not isinstance(frame, hp.Auth) and frame.address in self.ended:
                return  # we ended it: what the provider still sends is dropped until a new token
            pad = self._open(frame.address)
            if pad is None:
                return
        if isinstance(frame, hp.Auth) and not pad.admitting:
            pad.admitting = True
            self.ended.pop(frame.address, None)
            if self.version is None:
                self.version = frame.version
            self._spawn(self._admit, pad, frame.token or None)
            return
        if self.preauth_messages >= self.limits.preauth_messages:
            self._close(
                hp.RESET_CONNECTION,
                f"more than {self.limits.preauth_messages} messages before authentication",
                "preauth_messages",
            )
            return
        if self.preauth_bytes + size > self.limits.preauth_bytes:
            self._close(
                hp.RESET_CONNECTION,
                f"more than {self.limits.preauth_bytes} bytes before authentication",
                "preauth_bytes",
            )
            return
        pad.queue.append((frame, size))
        self.preauth_messages += 1
        self.preauth_bytes += size

    def _open(self, address: str) -> _Pad | None:
        pending = sum(1 for pad in self.pads.values() if not pad.live)
        if pending >= self.limits.pending_pads:
            self._close(
                hp.RESET_CONNECTION,
                f"more than {self.limits.pending_pads} pads waiting for authentication",
                "preauth_pads",
            )
            return None
        pad = self.pads[address] = _Pad(address)
        return pad

    # -- admission ------------------------------------------------------------------------------

    async def _admit(self, pad: _Pad, token: str | None) -> None:
        services = self.services
        guard = services.guard
        epoch = guard.epoch
        try:
            if not PAD_ID_RE.fullmatch(pad.pad_id):
                raise InvalidPadId(f"{pad.pad_id[:80]!r} is not a valid pad id.")
            if len(self.conns) >= self.limits.pads_per_socket:
                raise _TooManyPads(_too_many(self.limits))
            auth, rights = await admit(services, self.scope, pad.pad_id, token)
            room = await services.rooms.open(pad.pad_id)
        except CrdtpadError as exc:
            if exc.close_code == CloseCode.GOING_AWAY:
                self._close(exc.close_code, str(exc), type(exc).__name__)
            else:
                log.info("Refused pad %s on a Hocuspocus socket: %s", pad.pad_id[:80], exc)
                self._end(pad, exc.close_code, str(exc), type(exc).__name__)
            return
        except Exception:
            log.exception("Pad %s failed to load", pad.pad_id[:80])
            self._end(pad, CloseCode.INTERNAL_ERROR, "the pad failed to load", "load_error")
            return
        if pad.ended or self.closing or len(self.conns) >= self.limits.pads_per_socket:
            services.rooms.release(room)
            if not pad.ended and not self.closing:
                self._end(pad, CloseCode.TRY_AGAIN_LATER, _too_many(self.limits), "too_many_pads")
            return
        # What the room sends while the pad joins waits in its queue, after our Authenticated.
        conn = _PadConnection(services.connection_limits, pad, self, not rights.can(Action.EDIT))
        pad.conn, pad.room = conn, room
        self.conns.add(conn)
        services.sockets.add(conn)
        services.metrics.connections.inc()
        try:
            joined = await guard.enter(conn, auth, rights, epoch, room)
        except CrdtpadError as exc:  # the room is full, or failed or went while we joined
            self._end(pad, exc.close_code, str(exc), type(exc).__name__)
            joined = False
        if pad.ended:
            room.leave(conn)  # ended while it joined: make sure it is out
            return
        if not joined:
            return  # closed while it entered: the reaper ends the pad
        pad.joined = True
        self.admitted_once = True
        pad.read_only = conn.read_only  # as the Guard left it
        self._control(pad.prefix + hp.authenticated(hp.READ_ONLY if conn.read_only else hp.READ_WRITE))
        conn.write_now = lambda frame: self._write_now(pad, frame)
        if conn.queue:
            self._wake(pad)
        pad.step1_credit = 1  # the room sent its SyncStep1 on join
        while pad.queue and not pad.ended and conn.close_code is None:
            frame, size = pad.queue.popleft()
            self.preauth_messages -= 1
            self.preauth_bytes -= size
            await self._handle(pad, frame, charge=False)
        if not pad.ended and conn.close_code is None:
            pad.live = True

    # -- an admitted pad's messages -------------------------------------------------------------

    async def _handle(self, pad: _Pad, frame: hp.Addressed, *, charge: bool = True) -> None:
        conn, room = pad.conn, pad.room
        assert conn is not None and room is not None
        if charge:
            conn.take_token()  # RateLimited closes the socket
        if conn.held:
            await conn.released()  # an access change is deciding this pad's fate
        if conn.close_code is not None or pad.ended:
            return
        if room.turned_away(conn):
            return
        try:
            if isinstance(frame, hp.Sync):
                msg = frame.message
                if isinstance(msg, p.SyncStep1):
                    self._answer_step1(pad, room, msg.state_vector)
                else:
                    await self._ingest(pad, conn, room, msg)
            elif isinstance(frame, hp.Awareness):
                await room.handle(conn, frame.update)
            elif isinstance(frame, hp.QueryAwareness):
                await room.handle(conn, p.QueryAwareness())
            elif isinstance(frame, hp.Stateless):
                message = hp.stateless(frame.payload)
                for other in list(room.conns):
                    if other is not conn and isinstance(other, _PadConnection):
                        other.send(message)
            elif isinstance(frame, hp.Close):
                self._end(pad, CloseCode.NORMAL, "the provider detached", "detached", notify=False)
            # An Auth for an open pad refreshes a token: the pad keeps the access it was admitted
            # with, which the Guard keeps enforcing; nothing to do.
        except ProtocolError as exc:
            self.services.metrics.rejected.labels(exc.kind).inc()
            log.info("Pad %s: ending it on a Hocuspocus socket: %s", pad.pad_id, exc)
            self._end(pad, exc.close_code, str(exc), exc.kind)
        except CrdtpadError as exc:
            conn.close(exc.close_code, str(exc), type(exc).__name__)
        except Exception as exc:
            log.exception("Pad %s: unexpected error handling a message", pad.pad_id)
            room.fail("error", repr(exc))

    def _answer_step1(self, pad: _Pad, room: Room, state_vector: bytes) -> None:
        """SyncStep2 once what it holds is committed, then (as Hocuspocus does) our own SyncStep1,
        unless the one the room sent on join is still unanswered: each SyncStep1 the provider
        sends resets its count of unsynced changes to 1, and the acknowledgement of its answer to
        exactly one SyncStep1 of ours brings it back to 0."""
        self._push(pad, room.applied_seq, p.sync_step2(room.doc.get_update(state_vector)))
        if pad.step1_credit:
            pad.step1_credit -= 1
        else:
            self._push(pad, 0, None)

    async def _ingest(
        self, pad: _Pad, conn: _PadConnection, room: Room, msg: p.SyncStep2 | p.SyncUpdate
    ) -> None:
        if not conn.read_only:
            await room.handle(conn, msg)
            if conn.close_code is not None or pad.ended:
                return
            if not conn.read_only:
                self._push(pad, room.applied_seq, hp.sync_status(True))  # once committed
                return
        # Refused (a viewer's edits are never applied, stored or relayed). Like Hocuspocus, a
        # viewer's SyncStep2 that brings nothing new is acknowledged: it lost nothing.
        stored = isinstance(msg, p.SyncStep2) and _nothing_new(room, msg.update)
        self._push(pad, 0, hp.sync_status(stored))

    def _push(self, pad: _Pad, seq: int, frame: bytes | None) -> None:
        """Send ``frame`` to the pad's client once the room committed up to ``seq``, after every
        frame pushed before it; ``None`` is our SyncStep1, sent once nothing is uncommitted."""
        assert pad.conn is not None and pad.room is not None
        if not pad.pipeline:
            now = _due(pad.room, seq, frame)
            if now is not None:
                pad.conn.send(now)
                return
        pad.pipeline.append((seq, frame))
        if pad.pipeline_task is None:
            pad.pipeline_task = self._spawn(self._run_pipeline, pad)

    async def _run_pipeline(self, pad: _Pad) -> None:
        conn, room = pad.conn, pad.room
        assert conn is not None and room is not None
        try:
            while pad.pipeline and not pad.ended and conn.close_code is None:
                seq, frame = pad.pipeline[0]
                now = _due(room, seq, frame)
                if now is None:
                    await room.wait_committed(room.applied_seq if frame is None else seq)
                    continue
                pad.pipeline.popleft()
                conn.send(now)
        except StoreUnavailable:
            pass  # the room failed and closes its clients: nothing unstored is acknowledged
        finally:
            if pad.pipeline_task is asyncio.current_task():
                pad.pipeline_task = None

    # -- ending pads ----------------------------------------------------------------------------

    def _end(self, pad: _Pad, code: int, reason: str, kind: str, *, notify: bool = True) -> None:
        """End one pad on the socket; tell the provider why unless ``notify`` is False.

        Refused at the door: ``PermissionDenied(reason)`` (as Hocuspocus answers a failed
        authentication). Once joined: ``PermissionDenied`` for an access ending, then ``Close``.
        Reasons start with the close code a ``/sync`` socket would get, e.g. ``4403: ...``.
        """
        if pad.ended:
            return
        pad.ended = True
        if self.pads.get(pad.address) is pad:
            del self.pads[pad.address]
        for _, size in pad.queue:
            self.preauth_messages -= 1
            self.preauth_bytes -= size
        pad.queue.clear()
        pad.pipeline.clear()
        if pad.pipeline_task is not None:
            pad.pipeline_task.cancel()
        conn = pad.conn
        if conn is not None:
            conn.close(code, reason, kind)
            self._release(conn)
        if not notify:
            return
        self.services.metrics.closes.labels(str(code), kind).inc()
        self.ended[pad.address] = None
        while len(self.ended) > ENDED_REMEMBERED:
            self.ended.popitem(last=False)
        text = f"{int(code)}: {reason}"
        if not pad.joined or code in _ACCESS_CODES:
            self._control(pad.prefix + hp.permission_denied(text))
        if pad.joined:
            self._control(pad.prefix + hp.close(text))

    def _release(self, conn: _PadConnection) -> None:
        if conn not in self.conns:
            return
        self.conns.discard(conn)
        room = conn.pad.room
        if room is not None:
            room.leave(conn)
        self.services.guard.detach(conn)
        self.services.sockets.discard(conn)
        self.services.metrics.connections.dec()

    def _reap(self) -> None:
        """Act on Connections the room or the Guard closed: end their pad, or the socket."""
        self.reaping = False
        for pad in list(self.pads.values()):
            conn = pad.conn
            if conn is None or pad.ended or conn.close_code is None or conn.close_code == CloseCode.NORMAL:
                continue
            if conn.close_code in _PAD_CODES:
                self._end(pad, conn.close_code, conn.close_reason, conn.close_kind)
            else:
                self._close(conn.close_code, conn.close_reason, conn.close_kind)
                return

    # -- sending --------------------------------------------------------------------------------

    def _wake(self, pad: _Pad) -> None:
        """A pad's Connection queued a frame, or was closed."""
        conn = pad.conn
        if conn is None or pad.ended or self.closing:
            return
        if conn.close_code is not None:
            if conn.close_code != CloseCode.NORMAL and not self.reaping:
                self.reaping = True
                asyncio.get_running_loop().call_soon(self._reap)
            return
        if not pad.joined:
            return  # sent once it joined, after its Authenticated
        if not pad.ready:
            pad.ready = True
            self.ready.append(pad)
        self._kick()

    def _kick(self) -> None:
        if self.sender is None and not self.closing:
            self.sender = self._spawn(self._send_loop)

    def _frames(self, pad: _Pad, frame: bytes) -> list[bytes]:
        """The pad's frame with its address, after a new Authenticated if its scope changed
        (the Guard narrowed or widened it: the provider's ``authenticated`` event says so)."""
        assert pad.conn is not None
        out = [pad.prefix + frame]
        if pad.conn.read_only is not pad.read_only:
            scope = hp.READ_ONLY if pad.conn.read_only else hp.READ_WRITE
            out.insert(0, pad.prefix + hp.authenticated(scope))
        return out

    def _write_now(self, pad: _Pad, frame: bytes) -> bool:
        """A pad Connection's fast path: write at once when nothing of ours is waiting."""
        direct = self.direct
        if direct is None or self.closing or self.outbox or pad.ended or pad.conn is None:
            return False
        frames = self._frames(pad, frame)
        for i, data in enumerate(frames):
            if not direct(data):
                return False
            if i == 0 and len(frames) == 2:
                pad.read_only = pad.conn.read_only
        self.sent_at = time.monotonic()
        return True

    def _control(self, frame: bytes) -> None:
        """Send one of our own frames, after whatever the sender is working through."""
        if self.closing:
            return
        self.services.metrics.bytes_out.inc(len(frame))
        if not self.outbox and self.sender is None and self.direct is not None and self.direct(frame):
            self.sent_at = time.monotonic()
            return
        if len(self.outbox) >= CONTROL_FRAMES:
            self._close(CloseCode.TRY_AGAIN_LATER, "slow consumer: send queue full", "slow_consumer")
            return
        self.outbox.append(frame)
        self._kick()

    async def _send_bytes(self, data: bytes) -> None:
        await self.send({"type": "websocket.send", "bytes": data})
        self.sent_at = time.monotonic()

    async def _send_loop(self) -> None:
        try:
            while not self.closing:
                if self.outbox:
                    await self._send_bytes(self.outbox[0])
                    if self.outbox:
                        self.outbox.popleft()
                    continue
                if not self.ready:
                    break
                pad = self.ready.popleft()
                pad.ready = False
                conn = pad.conn
                if pad.ended or conn is None or conn.close_code is not None:
                    continue
                conn.draining = True
                try:
                    while conn.queue and conn.close_code is None and not self.closing:
                        for frame in conn.take():
                            for data in self._frames(pad, frame):
                                await self._send_bytes(data)
                            pad.read_only = conn.read_only
                finally:
                    conn.draining = False
        except (OSError, RuntimeError):
            self._gone()
        finally:
            if self.sender is asyncio.current_task():
                self.sender = None

    def _gone(self) -> None:
        """The peer closed or the socket broke: nothing more to send, every pad ends."""
        self.closing = True
        for pad in list(self.pads.values()):
            if pad.conn is not None:
                pad.conn.peer_gone()
            self._end(pad, CloseCode.NORMAL, "", "peer", notify=False)


def _too_many(limits: HocuspocusLimits) -> str:
    return f"This socket already has {limits.pads_per_socket} pads open."


def _due(room: Room, seq: int, frame: bytes | None) -> bytes | None:
    """The frame to send now, or None while the room has not committed what it waits for."""
    if frame is None:
        return p.sync_step1(room.doc.get_state()) if room.committed_seq >= room.applied_seq else None
    return frame if room.committed_seq >= seq else None


def _nothing_new(room: Room, update: bytes) -> bool:
    """Whether applying ``update`` would change nothing in the room's document (Yjs'
    ``snapshotContainsUpdate``): its structs are all known and its deletions all made."""
    shape = validate_update(update, room.limits.update)  # UpdateRejected: 4400
    if shape.empty:
        return True
    known = p.read_state_vector(room.doc.get_state())
    if any(block.end > known.get(block.client, 0) for block in shape.blocks):
        return False
    if not shape.delete_ranges:
        return True
    theirs = hp.delete_set(pycrdt.get_update(update, pycrdt.get_state(update)))
    ours = hp.delete_set(room.doc.get_update(room.doc.get_state()))
    return hp.covers(ours, theirs)
