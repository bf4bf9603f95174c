"""The y-websocket message codec: one message per binary frame, decoded with hard limits.

Our own decoder rather than pycrdt's: varints are read in bounded time, every length is checked
against the bytes left, and nothing may follow a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from crdtpad.errors import ProtocolError
from crdtpad.sync.validate import json_problem

MAX_SAFE_INTEGER = 2**53 - 1
MAX_U32 = 2**32 - 1
MAX_JSON_DEPTH = 64


class MessageType(IntEnum):
    """Top-level y-websocket message types."""

    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3


class SyncType(IntEnum):
    """Sync sub-message types."""

    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


@dataclass(frozen=True, slots=True)
class SyncStep1:
    """A peer's state vector: "send me what I lack"."""

    state_vector: bytes


@dataclass(frozen=True, slots=True)
class SyncStep2:
    """The answer to a SyncStep1: a v1 update."""

    update: bytes


@dataclass(frozen=True, slots=True)
class SyncUpdate:
    """An incremental v1 update."""

    update: bytes


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    """One client's awareness state; ``state`` is JSON text, ``"null"`` when the client left."""

    client: int
    clock: int
    state: str

    @property
    def removed(self) -> bool:
        """True when this entry says the client left."""
        return self.state == "null"


@dataclass(frozen=True, slots=True)
class AwarenessUpdate:
    """An awareness message."""

    entries: tuple[AwarenessEntry, ...]


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    """A request for every known awareness state."""


Message = SyncStep1 | SyncStep2 | SyncUpdate | AwarenessUpdate | QueryAwareness


class Reader:
    """A bounds-checked cursor over a byte string."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        """Bytes not yet read."""
        return len(self.data) - self.pos

    def var_uint(self, max_value: int = MAX_SAFE_INTEGER, what: str = "integer") -> int:
        """Read a minimal unsigned LEB128 integer of at most ``max_value``."""
        data, pos = self.data, self.pos
        max_bytes = 5 if max_value <= MAX_U32 else 8
        value = 0
        shift = 0
        for i in range(max_bytes):
            if pos + i >= len(data):
                raise ProtocolError(f"The message ends inside a {what} (at byte {pos + i}).", "truncated")
            byte = data[pos + i]
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                if byte == 0 and i > 0:
                    raise ProtocolError(f"The {what} at byte {pos} is not minimally encoded.", "varint")
                if value > max_value:
                    raise ProtocolError(f"The {what} {value} at byte {pos} exceeds {max_value}.", "varint")
                self.pos = pos + i + 1
                return value
            shift += 7
        raise ProtocolError(f"The {what} at byte {pos} is longer than {max_bytes} bytes.", "varint")

    def var_bytes(self, what: str = "payload") -> bytes:
        """Read a length-prefixed byte string."""
        n = self.var_uint(MAX_U32, f"{what} length")
        if n > self.remaining():
            raise ProtocolError(
                f"The {what} claims {n} bytes but only {self.remaining()} remain.", "truncated"
            )
        start = self.pos
        self.pos += n
        return self.data[start : self.pos]

    def var_string(self, what: str = "string") -> str:
        """Read a length-prefixed strict UTF-8 string."""
        raw = self.var_bytes(what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"The {what} is not valid UTF-8 ({exc.reason}).", "utf8") from None

    def end(self) -> None:
        """Require that nothing follows."""
        if self.pos != len(self.data):
            raise ProtocolError(
                f"{len(self.data) - self.pos} unexpected bytes follow the message.", "trailing_bytes"
            )


def check_json(text: str, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Accept only strict JSON nested at most ``max_depth`` deep (the update validator's own check)."""
    problem = json_problem(text, max_depth)
    if problem is not None:
        raise ProtocolError(problem[0], "json")


def read_state_vector(data: bytes) -> dict[int, int]:
    """Decode and bound a state vector (client id -> clock)."""
    r = Reader(data)
    n = r.var_uint(MAX_U32, "state vector length")
    if n * 2 > r.remaining():
        raise ProtocolError(f"The state vector claims {n} entries in {r.remaining()} bytes.", "count")
    sv: dict[int, int] = {}
    for _ in range(n):
        client = r.var_uint(MAX_SAFE_INTEGER, "client id")
        clock = r.var_uint(MAX_U32, "clock")
        if client in sv:
            raise ProtocolError(f"Client {client} appears twice in the state vector.", "state_vector")
        sv[client] = clock
    r.end()
    return sv


def decode_awareness(payload: bytes) -> AwarenessUpdate:
    """Decode an awareness update, checking every state is strict JSON."""
    r = Reader(payload)
    n = r.var_uint(MAX_U32, "awareness entry count")
    if n * 3 > r.remaining():
        raise ProtocolError(f"The awareness update claims {n} entries in {r.remaining()} bytes.", "count")
    entries = []
    for _ in range(n):
        client = r.var_uint(MAX_SAFE_INTEGER, "awareness client id")
        clock = r.var_uint(MAX_SAFE_INTEGER, "awareness clock")
        state = r.var_string("awareness state")
        if state != "null":
            check_json(state)
        entries.append(AwarenessEntry(client, clock, state))
    r.end()
    return AwarenessUpdate(tuple(entries))


def decode_message(frame: bytes) -> Message:
    """Decode one frame into one message, or raise ProtocolError naming what is wrong."""
    r = Reader(frame)
    kind = r.var_uint(MAX_U32, "message type")
    if kind == MessageType.SYNC:
        sub = r.var_uint(MAX_U32, "sync message type")
        payload = r.var_bytes("sync payload")
        r.end()
        if sub == SyncType.STEP1:
            read_state_vector(payload)
            return SyncStep1(payload)
        if sub == SyncType.STEP2:
            return SyncStep2(payload)
        if sub == SyncType.UPDATE:
            return SyncUpdate(payload)
        raise ProtocolError(f"Unknown sync message type {sub}.", "message_type")
    if kind == MessageType.AWARENESS:
        payload = r.var_bytes("awareness payload")
        r.end()
        return decode_awareness(payload)
    if kind == MessageType.QUERY_AWARENESS:
        r.end()
        return QueryAwareness()
    if kind == MessageType.AUTH:
        raise ProtocolError("Clients may not send auth messages on this endpoint.", "message_type")
    raise ProtocolError(f"Unknown message type {kind}.", "message_type")


def var_uint(n: int) -> bytes:
    """Encode an unsigned LEB128 integer."""
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def var_bytes(data: bytes) -> bytes:
    """Encode a length-prefixed byte string."""
    return var_uint(len(data)) + data


def sync_step1(state_vector: bytes) -> bytes:
    """Encode a SyncStep1 frame."""
    return b"\x00\x00" + var_bytes(state_vector)


def sync_step2(update: bytes) -> bytes:
    """Encode a SyncStep2 frame."""
    return b"\x00\x01" + var_bytes(update)


def sync_update(update: bytes) -> bytes:
    """Encode an Update frame."""
    return b"\x00\x02" + var_bytes(update)


def awareness_frame(entries: list[AwarenessEntry]) -> bytes:
    """Encode an awareness frame holding ``entries``."""
    body = bytearray(var_uint(len(entries)))
    for e in entries:
        body += var_uint(e.client)
        body += var_uint(e.clock)
        body += var_bytes(e.state.encode("utf-8"))
    return b"\x01" + var_bytes(bytes(body))
