"""The y-websocket endpoint: ``ws://HOST/sync/{pad_id}``.

Refusals accept the socket and then close it with a 4xxx code: an HTTP rejection makes the
stock client retry forever, while 4400-4499 stop it.
"""

from __future__ import annotations

import logging

import anyio
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from crdtpad.errors import CloseCode, CrdtpadError, ProtocolError
from crdtpad.services import Services
from crdtpad.sync import protocol as p
from crdtpad.sync.connection import Connection
from crdtpad.sync.rooms import Room

log = logging.getLogger(__name__)

router = APIRouter()

_TYPE_NAMES = {0: "sync", 1: "awareness", 2: "auth", 3: "query_awareness"}


def _reason(text: str) -> str:
    """A close reason within the protocol's 123-byte limit."""
    raw = text.encode("utf-8")[:120]
    return raw.decode("utf-8", errors="ignore")


async def _close(ws: WebSocket, services: Services, code: int, reason: str, kind: str) -> None:
    services.metrics.closes.labels(str(code), kind).inc()
    if ws.client_state != WebSocketState.CONNECTED:
        return
    with anyio.move_on_after(5):
        try:
            await ws.close(code, _reason(reason))
        except (RuntimeError, OSError, WebSocketDisconnect):
            pass


@router.websocket("/sync/{pad_id:path}")
async def sync_socket(ws: WebSocket, pad_id: str) -> None:
    """Serve one y-websocket client on one pad."""
    services: Services = ws.app.state.services
    await ws.accept()
    services.metrics.connections_total.inc()
    try:
        room = await services.rooms.open(pad_id)
    except CrdtpadError as exc:
        log.info("Refused a socket for pad %s: %s", pad_id[:80], exc)
        await _close(ws, services, exc.close_code, str(exc), type(exc).__name__)
        return
    except Exception:
        log.exception("Pad %s failed to load", pad_id[:80])
        await _close(ws, services, CloseCode.INTERNAL_ERROR, "the pad failed to load", "load_error")
        return
    conn = Connection(services.connection_limits)
    try:
        room.join(conn)
    except CrdtpadError as exc:
        services.rooms.release(room)
        await _close(ws, services, exc.close_code, str(exc), type(exc).__name__)
        return
    services.sockets.add(conn)
    services.metrics.connections.inc()
    kind = "normal"
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_send_loop, ws, conn, services)
            tg.start_soon(_receive_loop, ws, conn, room, services)
            await conn.closed.wait()
            tg.cancel_scope.cancel()
    finally:
        room.leave(conn)
        services.sockets.discard(conn)
        services.metrics.connections.dec()
    if conn.close_code is not None and conn.close_code != CloseCode.NORMAL:
        kind = conn.close_kind
        await _close(ws, services, conn.close_code, conn.close_reason, kind)


async def _send_loop(ws: WebSocket, conn: Connection, services: Services) -> None:
    try:
        while True:
            for frame in await conn.next_frames():
                await ws.send_bytes(frame)
    except (WebSocketDisconnect, RuntimeError, OSError):
        conn.peer_gone()


async def _receive_loop(ws: WebSocket, conn: Connection, room: Room, services: Services) -> None:
    metrics = services.metrics
    max_frame = services.settings.max_frame_bytes
    while True:
        try:
            message = await ws.receive()
        except (WebSocketDisconnect, RuntimeError, OSError):
            conn.peer_gone()
            return
        if message["type"] == "websocket.disconnect":
            conn.peer_gone()
            return
        data = message.get("bytes")
        if data is None:
            metrics.rejected.labels("text_frame").inc()
            conn.close(CloseCode.UNSUPPORTED_DATA, "text frames are not part of the protocol", "text_frame")
            return
        metrics.bytes_in.inc(len(data))
        if len(data) > max_frame:
            metrics.rejected.labels("frame_too_big").inc()
            conn.close(
                CloseCode.MESSAGE_TOO_BIG, f"frame of {len(data)} bytes exceeds {max_frame}", "frame_too_big"
            )
            return
        try:
            conn.take_token()
            msg = p.decode_message(data)
            metrics.messages_in.labels(_TYPE_NAMES.get(data[0], "other")).inc()
            await room.handle(conn, msg)
        except ProtocolError as exc:
            metrics.rejected.labels(exc.kind).inc()
            log.info("Pad %s: closing connection %d: %s", room.pad_id, conn.id, exc)
            conn.close(exc.close_code, str(exc), exc.kind)
            return
        except CrdtpadError as exc:
            conn.close(exc.close_code, str(exc), type(exc).__name__)
            return
        except Exception as exc:
            log.exception("Pad %s: unexpected error handling a message", room.pad_id)
            room.fail("error", repr(exc))
            return
