"""The crdtpad error tree, and its one map to HTTP statuses and WebSocket close codes.

::

    CrdtpadError
     ├── PadNotFound            404 / 4404
     ├── PadDeleted             410 / 4410
     ├── PadCorrupt             500 / 1011  (a stored row failed its checksum or would not decode)
     ├── InvalidPadId           400 / 4400
     ├── StoreUnavailable       503 / 1011  (a commit failed; the room is dropped, clients reconnect)
     └── ProtocolError          400 / 4400  (a frame the sync codec refuses)
          ├── FrameTooBig              1009
          ├── RateLimited              4429
          └── UpdateRejected           4400  (a Yjs update the validator refuses)
"""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    """WebSocket close codes crdtpad sends (4400-4499 stop the stock y-websocket client retrying)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    UNSUPPORTED_DATA = 1003  # a text frame
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013  # slow consumer or overloaded
    MALFORMED = 4400
    NOT_AUTHENTICATED = 4401
    FORBIDDEN = 4403
    PAD_NOT_FOUND = 4404
    PAD_DELETED = 4410
    RATE_LIMITED = 4429


class CrdtpadError(Exception):
    """Base of every error crdtpad raises on purpose."""

    http_status: int = 500
    close_code: CloseCode = CloseCode.INTERNAL_ERROR


class PadNotFound(CrdtpadError):
    """No pad has this id."""

    http_status = 404
    close_code = CloseCode.PAD_NOT_FOUND


class PadDeleted(CrdtpadError):
    """The pad existed and was deleted."""

    http_status = 410
    close_code = CloseCode.PAD_DELETED


class PadCorrupt(CrdtpadError):
    """A stored row of the pad failed its checksum or would not decode; the pad refuses to load."""


class InvalidPadId(CrdtpadError):
    """The pad id is not a well-formed crdtpad id."""

    http_status = 400
    close_code = CloseCode.MALFORMED


class StoreUnavailable(CrdtpadError):
    """A write to the database failed."""

    http_status = 503


class ProtocolError(CrdtpadError):
    """A frame the sync codec refuses. ``kind`` names the class of fault for metrics."""

    http_status = 400
    close_code = CloseCode.MALFORMED

    def __init__(self, message: str, kind: str = "malformed") -> None:
        super().__init__(message)
        self.kind = kind


class FrameTooBig(ProtocolError):
    """A frame over the configured size limit."""

    close_code = CloseCode.MESSAGE_TOO_BIG


class RateLimited(ProtocolError):
    """A connection sent messages faster than its allowance."""

    close_code = CloseCode.RATE_LIMITED


class UpdateRejected(ProtocolError):
    """A Yjs update the validator refuses; nothing of it is applied or stored."""

    def __init__(self, message: str, kind: str, offset: int | None = None) -> None:
        super().__init__(message if offset is None else f"{message} (at byte {offset})", kind)
        self.offset = offset
