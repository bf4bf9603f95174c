"""The Hocuspocus dialect's codec: several documents on one socket, each frame addressed.

Pure encode and decode, with the limits of :mod:`crdtpad.sync.protocol`. What the stock
``@hocuspocus/provider`` 4.x sends and understands (its ``MessageReceiver.ts``,
``OutgoingMessages/*.ts``, ``HocuspocusProviderWebsocket.ts``, and ``@hocuspocus/common``):

- every frame is ``varString(address) • varUint(type) • body``; the address is the document
  name, or ``name + "\\0" + sessionId`` when the provider multiplexes one document twice;
- types: 0 Sync and 1 Awareness and 3 QueryAwareness (bodies exactly as y-websocket's), 2 Auth
  (``0 Token • varString(token) • [varString(providerVersion)]`` from the client;
  ``1 PermissionDenied • varString(reason)`` or ``2 Authenticated • varString(scope)`` from the
  server), 4 SyncReply (a Sync that asks for no SyncStep1 back; the 4.x provider does not read
  it), 5 Stateless (``varString``), 6 BroadcastStateless (server-internal, refused from clients),
  7 Close (server: ``varString(reason)``; the provider sends it bare when it detaches),
  8 SyncStatus (``varUint`` 1 stored / 0 refused; the provider reads a varInt, the same bytes);
- connection-level keep-alive: a bare one-byte ``[9]`` Ping, answered with a bare ``[10]`` Pong.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import IntEnum

from crdtpad.errors import ProtocolError
from crdtpad.sync import protocol as p

MAX_ADDRESS_BYTES = 256  # a pad id is at most 64 bytes; the provider's session ids are ~11
MAX_TOKEN_BYTES = 4096
MAX_VERSION_BYTES = 64
SESSION_SEPARATOR = "\0"

# Close codes of @hocuspocus/common CloseEvents.ts that crdtpad's own CloseCode lacks.
RESET_CONNECTION = 4205  # "Reset Connection": too much before authentication
CONNECTION_TIMEOUT = 4408  # "Connection Timeout": no document authenticated in time

READ_WRITE = "read-write"
READ_ONLY = "readonly"


class MessageType(IntEnum):
    """Hocuspocus message types (``packages/server/src/types.ts``)."""

    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3
    SYNC_REPLY = 4
    STATELESS = 5
    BROADCAST_STATELESS = 6
    CLOSE = 7
    SYNC_STATUS = 8
    PING = 9
    PONG = 10


class AuthType(IntEnum):
    """Auth sub-message types (``packages/common/src/auth.ts``)."""

    TOKEN = 0
    PERMISSION_DENIED = 1
    AUTHENTICATED = 2


class FrameError(ProtocolError):
    """A frame the codec refuses; ``address`` is its document address when that much was readable,
    and ``detail`` what is wrong with the rest (the message without the address)."""

    def __init__(self, message: str, kind: str = "malformed", address: str | None = None) -> None:
        super().__init__(message if address is None else f"Document {address[:80]!r}: {message}", kind)
        self.address = address
        self.detail = message


# -- decoded frames ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ping:
    """A connection-level keep-alive; answer with a Pong."""


@dataclass(frozen=True, slots=True)
class Pong:
    """The answer to our Ping."""


@dataclass(frozen=True, slots=True)
class Auth:
    """The provider's token for one document, sent before anything else for it."""

    address: str
    token: str
    version: str | None  # the provider's version (4.x sends it)


@dataclass(frozen=True, slots=True)
class Sync:
    """A y-websocket sync message for one document (type 0, or 4 SyncReply)."""

    address: str
    message: p.SyncStep1 | p.SyncStep2 | p.SyncUpdate


@dataclass(frozen=True, slots=True)
class Awareness:
    """An awareness update for one document."""

    address: str
    update: p.AwarenessUpdate


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    """A request for every awareness state of one document."""

    address: str


@dataclass(frozen=True, slots=True)
class Stateless:
    """An application message for the document's other clients."""

    address: str
    payload: str


@dataclass(frozen=True, slots=True)
class Close:
    """The provider detached from the document."""

    address: str


Frame = Ping | Pong | Auth | Sync | Awareness | QueryAwareness | Stateless | Close
Addressed = Auth | Sync | Awareness | QueryAwareness | Stateless | Close


def document_name(address: str) -> str:
    """The document (pad id) an address names: the part before a session separator."""
    return address.split(SESSION_SEPARATOR, 1)[0]


def decode_frame(frame: bytes) -> Frame:
    """Decode one binary frame, or raise FrameError naming what is wrong (and the address, if read)."""
    if len(frame) == 1 and frame[0] in (MessageType.PING, MessageType.PONG):
        return Ping() if frame[0] == MessageType.PING else Pong()
    r = p.Reader(frame)
    try:
        raw = r.var_bytes("document address")
    except ProtocolError as exc:
        raise FrameError(str(exc), exc.kind) from None
    if len(raw) > MAX_ADDRESS_BYTES:
        raise FrameError(
            f"The document address has {len(raw)} bytes, over the limit of {MAX_ADDRESS_BYTES}.", "address"
        )
    try:
        address = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrameError(f"The document address is not valid UTF-8 ({exc.reason}).", "utf8") from None
    try:
        return _decode_body(r, address)
    except FrameError:
        raise
    except ProtocolError as exc:
        raise FrameError(str(exc), exc.kind, address) from None


def _decode_body(r: p.Reader, address: str) -> Addressed:
    start = r.pos
    kind = r.var_uint(p.MAX_U32, "message type")
    if kind in (MessageType.SYNC, MessageType.SYNC_REPLY, MessageType.AWARENESS, MessageType.QUERY_AWARENESS):
        # These bodies are y-websocket messages; a SyncReply is read as the Sync it carries.
        body = r.data[start:]
        if kind == MessageType.SYNC_REPLY:
            body = bytes((MessageType.SYNC,)) + r.data[r.pos :]
        msg = p.decode_message(body)
        if isinstance(msg, p.AwarenessUpdate):
            return Awareness(address, msg)
        if isinstance(msg, p.QueryAwareness):
            return QueryAwareness(address)
        return Sync(address, msg)
    if kind == MessageType.AUTH:
        sub = r.var_uint(p.MAX_U32, "auth message type")
        if sub != AuthType.TOKEN:
            raise ProtocolError(f"Clients may only send auth messages of type 0 (token), not {sub}.", "auth")
        token = _bounded_string(r, "token", MAX_TOKEN_BYTES)
        version = _bounded_string(r, "provider version", MAX_VERSION_BYTES) if r.remaining() else None
        r.end()
        return Auth(address, token, version)
    if kind == MessageType.STATELESS:
        payload = r.var_string("stateless payload")
        r.end()
        return Stateless(address, payload)
    if kind == MessageType.CLOSE:
        if r.remaining():
            r.var_string("close reason")  # the stock provider sends none; accept one, ignore it
        r.end()
        return Close(address)
    if kind == MessageType.BROADCAST_STATELESS:
        raise ProtocolError(
            "BroadcastStateless (6) is server-internal; clients send Stateless (5).", "message_type"
        )
    if kind == MessageType.SYNC_STATUS:
        raise ProtocolError("SyncStatus (8) goes from server to client only.", "message_type")
    if kind in (MessageType.PING, MessageType.PONG):
        raise ProtocolError(f"A {MessageType(kind).name.title()} is a bare one-byte frame.", "message_type")
    raise ProtocolError(f"Unknown message type {kind}.", "message_type")


def _bounded_string(r: p.Reader, what: str, max_bytes: int) -> str:
    text = r.var_string(what)
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise ProtocolError(f"The {what} has {size} bytes, over the limit of {max_bytes}.", "too_large")
    return text


# -- encoding ------------------------------------------------------------------------------------

PING = bytes((MessageType.PING,))
PONG = bytes((MessageType.PONG,))


def address_prefix(address: str) -> bytes:
    """What every frame for ``address`` starts with."""
    return p.var_bytes(address.encode("utf-8"))


def _string(text: str) -> bytes:
    return p.var_bytes(text.encode("utf-8"))


# Bodies (what follows the address). Sync, Awareness and QueryAwareness bodies are y-websocket
# frames as the room makes them (crdtpad.sync.protocol).


def authenticated(scope: str) -> bytes:
    """``Authenticated(scope)``: the document is open, ``read-write`` or ``readonly``."""
    return bytes((MessageType.AUTH, AuthType.AUTHENTICATED)) + _string(scope)


def permission_denied(reason: str) -> bytes:
    """``PermissionDenied(reason)``: the provider emits ``authenticationFailed`` with the reason."""
    return bytes((MessageType.AUTH, AuthType.PERMISSION_DENIED)) + _string(reason)


def sync_status(stored: bool) -> bytes:
    """``SyncStatus``: 1 when the client's update is stored, 0 when it was refused."""
    return bytes((MessageType.SYNC_STATUS, 1 if stored else 0))


def close(reason: str) -> bytes:
    """``Close(reason)``: the server ended this document (the socket stays open)."""
    return bytes((MessageType.CLOSE,)) + _string(reason)


def stateless(payload: str) -> bytes:
    """``Stateless(payload)``."""
    return bytes((MessageType.STATELESS,)) + _string(payload)


def auth_frame(address: str, token: str, version: str | None = None) -> bytes:
    """A client's whole Auth frame (for clients and tests)."""
    body = bytes((MessageType.AUTH, AuthType.TOKEN)) + _string(token)
    if version is not None:
        body += _string(version)
    return address_prefix(address) + body


# -- delete sets ---------------------------------------------------------------------------------


def delete_set(update: bytes) -> dict[int, list[tuple[int, int]]]:
    """The delete set of a v1 update without structs (what ``get_update(update, its own state)``
    gives): client -> [(clock, length)], or ProtocolError."""
    r = p.Reader(update)
    if r.var_uint(p.MAX_U32, "struct client count") != 0:
        raise ProtocolError("The update still holds structs.", "delete_set")
    ranges: dict[int, list[tuple[int, int]]] = {}
    clients = r.var_uint(p.MAX_U32, "delete set client count")
    if clients * 2 > r.remaining():
        raise ProtocolError(f"The delete set claims {clients} clients in {r.remaining()} bytes.", "count")
    for _ in range(clients):
        client = r.var_uint(p.MAX_SAFE_INTEGER, "client id")
        n = r.var_uint(p.MAX_U32, "delete range count")
        if n * 2 > r.remaining():
            raise ProtocolError(f"The delete set claims {n} ranges in {r.remaining()} bytes.", "count")
        mine = ranges.setdefault(client, [])
        for _ in range(n):
            mine.append((r.var_uint(p.MAX_U32, "clock"), r.var_uint(p.MAX_U32, "length")))
    r.end()
    return ranges


def covers(known: dict[int, list[tuple[int, int]]], ranges: dict[int, list[tuple[int, int]]]) -> bool:
    """Whether every range of ``ranges`` lies inside the union of ``known``'s ranges."""
    for client, wanted in ranges.items():
        starts: list[int] = []  # merged, disjoint ranges [starts[i], ends[i]), sorted
        ends: list[int] = []
        for clock, length in sorted(known.get(client, ())):
            if ends and clock <= ends[-1]:
                ends[-1] = max(ends[-1], clock + length)
            else:
                starts.append(clock)
                ends.append(clock + length)
        for clock, length in wanted:
            i = bisect.bisect_right(starts, clock) - 1
            if length and (i < 0 or clock + length > ends[i]):
                return False
    return True
