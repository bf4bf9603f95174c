"""The y-websocket endpoint, ``ws://HOST/sync/{pad_id}``, as plain ASGI.

It sits in front of the FastAPI router (no per-socket dependency injection, exception
middleware frames or task group), because an idle client's memory is most of what a loaded pad
costs. Refusals accept the socket and then close it with a 4xxx code: an HTTP rejection makes
the stock client retry forever, while 4400-4499 stop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from websockets.protocol import State

from crdtpad.access import SocketAuth
from crdtpad.api.security import SESSION_COOKIE
from crdtpad.errors import (
    CloseCode,
    CrdtpadError,
    Forbidden,
    FrameTooBig,
    NotAuthenticated,
    PadNotFound,
    ProtocolError,
    TextFrame,
)
from crdtpad.metrics import Metrics
from crdtpad.permissions import Action, Rights
from crdtpad.services import Services
from crdtpad.sync import protocol as p
from crdtpad.sync.connection import Connection
from crdtpad.sync.rooms import Room

log = logging.getLogger(__name__)

PREFIX = "/sync/"
_TYPE_NAMES = {0: "sync", 1: "awareness", 2: "auth", 3: "query_awareness"}
CLOSE_TIMEOUT_S = 5.0


def close_message(code: int, reason: str) -> Message:
    """The ASGI close message, its reason cut to the protocol's 123-byte limit."""
    return {
        "type": "websocket.close",
        "code": code,
        "reason": reason.encode("utf-8")[:120].decode("utf-8", errors="ignore"),
    }


async def send_close(send: Send, code: int, reason: str) -> bool:
    """Send the close frame; False when the client did not take it within ``CLOSE_TIMEOUT_S``
    (it stopped reading: the caller abandons the socket). A socket already gone counts as closed."""
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await send(close_message(code, reason))
    except TimeoutError:
        return False
    except (OSError, RuntimeError):
        pass
    return True


def frame_bytes(message: Message, metrics: Metrics, max_frame: int) -> bytes:
    """A received frame's bytes, counted; TextFrame or FrameTooBig if it is not one to read."""
    data: bytes | None = message.get("bytes")
    if data is None:
        raise TextFrame("text frames are not part of the protocol", "text_frame")
    metrics.bytes_in.inc(len(data))
    if len(data) > max_frame:
        raise FrameTooBig(f"frame of {len(data)} bytes exceeds {max_frame}", "frame_too_big")
    return data


def forget_own_cancel() -> None:
    """In the socket's task, after it cancelled itself (the client stopped reading and would not
    take our close frame): returning normally then lets uvicorn drop the transport."""
    current = asyncio.current_task()
    if current is not None:
        current.uncancel()


def direct_writer(send: Send) -> Callable[[bytes], bool] | None:
    """A fast path for uvicorn's sans-I/O WebSocket protocol: write a whole binary frame now.

    Sending through ASGI costs a task switch and a frame encoder per message, per client; a room
    fan-out sends one message to every client. Server frames are unmasked, so a binary frame
    is a fixed header plus the payload, written straight to the transport while the connection
    is open, not closing, uses no extension (no permessage-deflate) and is not paused by flow
    control. Any other case returns False and the frame takes the ASGI path, in order.
    """
    proto: Any = getattr(send, "__self__", None)
    if type(proto).__module__ != "uvicorn.protocols.websockets.websockets_sansio_impl":
        return None
    transport = getattr(proto, "transport", None)
    ws = getattr(proto, "conn", None)
    writable = getattr(proto, "writable", None)
    if transport is None or ws is None or not isinstance(writable, asyncio.Event):
        return None

    def write_now(frame: bytes) -> bool:
        if (
            ws.state is not State.OPEN
            or ws.extensions
            or proto.close_sent
            or not writable.is_set()
            or transport.is_closing()
        ):
            return False
        n = len(frame)
        if n < 126:
            header = bytes((0x82, n))
        elif n < 65536:
            header = b"\x82\x7e" + n.to_bytes(2, "big")
        else:
            header = b"\x82\x7f" + n.to_bytes(8, "big")
        transport.write(header + frame)
        return True

    return write_now


async def admit(
    services: Services, scope: Scope, pad_id: str, token: str | None
) -> tuple[SocketAuth, Rights]:
    """Who a socket's client is and what they may do on the pad; refuses (4401/4403/4404/4410) otherwise.

    The session cookie counts only when the socket's ``Origin`` is the instance's own (or absent:
    not a browser); a token (``?token=`` here, in-band on ``/hocuspocus``) works from anywhere,
    unless ``socket_origins`` lists the other origins whose pages may connect at all.
    """
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
    session_token = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE) or None
    origin = headers.get("origin")
    other_origin = origin is not None and origin != _own_origin(services, scope, headers)
    allowed = services.settings.socket_origins
    if other_origin and allowed and "*" not in allowed and origin not in allowed:
        raise Forbidden(f"Pages from the origin {(origin or '')[:80]!r} may not connect to this instance.")
    foreign = session_token is not None and other_origin
    if foreign:
        session_token = None
    who = await services.guard.principal(session_token, token)
    try:
        _record, acl = await services.guard.pad(pad_id)
    except PadNotFound:
        if not services.settings.open_pads:
            raise
        services.rooms.release(await services.rooms.open(pad_id))  # creates the public pad
        _record, acl = await services.guard.pad(pad_id)
    try:
        rights = services.guard.check(who, acl, Action.VIEW)
    except (PadNotFound, NotAuthenticated):
        if foreign:
            raise Forbidden(
                f"The session cookie is not accepted from the origin {(origin or '')[:80]!r}."
            ) from None
        raise
    return SocketAuth(pad_id, session_token, token, who), rights


def _own_origin(services: Services, scope: Scope, headers: dict[str, str]) -> str:
    configured = services.settings.public_origin
    if configured is not None:
        return configured
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    return f"{scheme}://{headers.get('host', '')}"


class SyncRouter:
    """ASGI middleware: ``/sync/...`` and ``/hocuspocus`` WebSockets are served here, everything
    else by ``app``."""

    def __init__(self, app: ASGIApp, services: Any) -> None:
        # Imported here: the Hocuspocus transport builds on this module's admit() and writers.
        from crdtpad.api.hocuspocus import PATHS, HocuspocusSocket

        self.app = app
        self._services = services  # a callable returning Services once the lifespan opened them
        self._hocuspocus_paths = PATHS
        self._hocuspocus = HocuspocusSocket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"].startswith(PREFIX):
            await _Socket(self._services(), scope, receive, send).serve()
        elif scope["type"] == "websocket" and scope["path"] in self._hocuspocus_paths:
            await self._hocuspocus(self._services(), scope, receive, send).serve()
        else:
            await self.app(scope, receive, send)


class _Socket:
    """One client's ASGI conversation."""

    __slots__ = (
        "abandoned",
        "closed",
        "conn",
        "main",
        "receive",
        "scope",
        "send",
        "sender",
        "services",
    )

    def __init__(self, services: Services, scope: Scope, receive: Receive, send: Send) -> None:
        self.services = services
        self.scope = scope
        self.receive = receive
        self.send = send
        self.conn: Connection | None = None
        self.sender: asyncio.Task[None] | None = None
        self.main: asyncio.Task[Any] | None = None
        self.abandoned = False
        self.closed = False

    async def serve(self) -> None:
        services = self.services
        if (await self.receive())["type"] != "websocket.connect":
            return
        await self.send({"type": "websocket.accept"})
        services.metrics.connections_total.inc()
        pad_id = self.scope["path"][len(PREFIX) :]
        guard = services.guard
        epoch = guard.epoch
        try:
            auth, rights = await self._admit(pad_id)
            room = await services.rooms.open(pad_id)
        except Exception as exc:
            if isinstance(exc, CrdtpadError):
                log.info("Refused a socket for pad %s: %s", pad_id[:80], exc)
                code, reason, kind = exc.close_code, str(exc), type(exc).__name__
            else:
                log.exception("Pad %s failed to load", pad_id[:80])
                code, reason, kind = CloseCode.INTERNAL_ERROR, "the pad failed to load", "load_error"
            await self._close_now(code, reason, kind)
            await self._drain_until_disconnect()
            return
        conn = self.conn = Connection(services.connection_limits, self._wake)
        conn.write_now = direct_writer(self.send)
        self.main = asyncio.current_task()
        services.sockets.add(conn)
        services.metrics.connections.inc()
        try:
            if await guard.enter(conn, auth, rights, epoch, room):
                await self._receive_loop(room, conn)
            elif self.sender is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await self.sender  # the close frame
        except CrdtpadError as exc:
            conn.close(exc.close_code, str(exc), type(exc).__name__)
            if self.sender is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await self.sender
        except asyncio.CancelledError:
            if not self.abandoned:
                raise
            forget_own_cancel()
        finally:
            room.leave(conn)
            guard.detach(conn)
            services.sockets.discard(conn)
            services.metrics.connections.dec()
            if self.sender is not None and not self.sender.done():
                self.sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.sender

    async def _admit(self, pad_id: str) -> tuple[SocketAuth, Rights]:
        """Who connects (session cookie and/or ``?token=``) and what they may do on the pad."""
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [None])[0] or None
        return await admit(self.services, self.scope, pad_id, token)

    # -- sending: a task only while there is something to send ---------------------------------

    def _wake(self) -> None:
        conn = self.conn
        if conn is None or self.closed:
            return
        if self.sender is None or self.sender.done():
            self.sender = asyncio.get_running_loop().create_task(self._send_loop(conn))
        elif conn.close_code is not None and conn.close_code != CloseCode.NORMAL:
            # The sender may be stuck on a client that stopped reading: stop it and close instead.
            self.sender.cancel()
            self.sender = asyncio.get_running_loop().create_task(self._send_loop(conn))

    async def _send_loop(self, conn: Connection) -> None:
        conn.draining = True
        try:
            while conn.queue and conn.close_code is None:
                for frame in conn.take():
                    await self.send({"type": "websocket.send", "bytes": frame})
            if conn.close_code is not None and conn.close_code != CloseCode.NORMAL:
                await self._close_now(conn.close_code, conn.close_reason, conn.close_kind)
        except (OSError, RuntimeError):
            conn.peer_gone()
        finally:
            conn.draining = False
            if self.sender is asyncio.current_task():
                self.sender = None  # an idle client keeps no finished task around

    async def _close_now(self, code: int, reason: str, kind: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.services.metrics.closes.labels(str(code), kind).inc()
        if not await send_close(self.send, code, reason):
            if self.main is not None and self.main is not asyncio.current_task():
                self.abandoned = True
                self.main.cancel()

    async def _drain_until_disconnect(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                while (await self.receive())["type"] != "websocket.disconnect":
                    pass

    # -- receiving ------------------------------------------------------------------------------

    async def _receive_loop(self, room: Room, conn: Connection) -> None:
        metrics = self.services.metrics
        max_frame = self.services.settings.max_frame_bytes
        while True:
            message: Message = await self.receive()
            if message["type"] == "websocket.disconnect":
                conn.peer_gone()
                return
            if conn.close_code is not None:
                continue  # closing: wait for the peer's answer, ignore what it still sends
            try:
                data = frame_bytes(message, metrics, max_frame)
                conn.take_token()
                msg = p.decode_message(data)
                metrics.messages_in.labels(_TYPE_NAMES.get(data[0], "other")).inc()
                if conn.held:
                    await conn.released()  # an access change is deciding this client's fate
                    if conn.close_code is not None:
                        continue
                await room.handle(conn, msg)
            except ProtocolError as exc:
                metrics.rejected.labels(exc.kind).inc()
                log.info("Pad %s: closing connection %d: %s", room.pad_id, conn.id, exc)
                conn.close(exc.close_code, str(exc), exc.kind)
            except CrdtpadError as exc:
                conn.close(exc.close_code, str(exc), type(exc).__name__)
            except Exception as exc:
                log.exception("Pad %s: unexpected error handling a message", room.pad_id)
                room.fail("error", repr(exc))
