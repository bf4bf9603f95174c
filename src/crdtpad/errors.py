"""The crdtpad error tree, and its one map to HTTP statuses and WebSocket close codes.

::

    CrdtpadError
     ├── InvalidValue           400 / 4400  (a username, password or name that breaks the rules)
     │    └── InvalidPadId             (the pad id is not a well-formed crdtpad id)
     ├── NotAuthenticated       401 / 4401  (no valid session or token; a presented one was revoked)
     │    ├── LoginFailed              401  (one answer for unknown user and wrong password)
     │    └── PasswordRequired  401 / 4401  (a password pad, and no unlock token for it)
     ├── Forbidden              403 / 4403
     │    ├── CsrfRejected             403  (a cookie request without the CSRF token, or cross-origin)
     │    ├── RegistrationClosed       403  (or a missing, used or expired invite)
     │    └── AccessRevoked            4403 (a live socket's access to its pad was taken away)
     ├── NotFound               404 / 4404  (also what a pad or folder the caller may not see answers)
     │    ├── PadNotFound
     │    ├── FolderNotFound
     │    ├── RevisionNotFound
     │    ├── ChatMessageNotFound
     │    └── TokenNotFound            (no API token, member or link with this id here)
     ├── Conflict               409
     │    ├── UsernameTaken
     │    ├── TooManyTokens            (API tokens or share links over the cap)
     │    └── AccessChanged            (access changed while an HTTP edit waited; retry)
     ├── ImportTooLarge         413         (an import file over CRDTPAD_MAX_IMPORT_BYTES)
     ├── TooManyAttempts        429 / 4429  (login failures over the limit; Retry-After says when)
     ├── PadDeleted             410 / 4410
     ├── PadCorrupt             500 / 1011  (a stored row failed its checksum or would not decode)
     ├── StoreUnavailable       503 / 1011  (a commit failed; the room is dropped, clients reconnect)
     └── ProtocolError          400 / 4400  (a frame the sync codec refuses)
          ├── TextFrame                1003
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

    @property
    def headers(self) -> dict[str, str]:
        """Extra HTTP headers for the answer."""
        return {}


class InvalidValue(CrdtpadError):
    """A value the domain refuses (a malformed username, a short password)."""

    http_status = 400
    close_code = CloseCode.MALFORMED


class NotAuthenticated(CrdtpadError):
    """No valid session cookie or API token came with the request."""

    http_status = 401
    close_code = CloseCode.NOT_AUTHENTICATED


class LoginFailed(NotAuthenticated):
    """Unknown username or wrong password: one answer for both."""


class PasswordRequired(NotAuthenticated):
    """A password pad, and the caller brought no unlock token for it."""


class Forbidden(CrdtpadError):
    """The caller is known but may not do this."""

    http_status = 403
    close_code = CloseCode.FORBIDDEN


class CsrfRejected(Forbidden):
    """A state-changing cookie request without the session's CSRF token, or from another origin."""


class RegistrationClosed(Forbidden):
    """Self-registration is not open on this instance."""


class AccessRevoked(Forbidden):
    """A connected client lost its access to the pad (a member removed, the pad made private)."""


class NotFound(CrdtpadError):
    """The thing asked for does not exist (or is not the caller's to see)."""

    http_status = 404
    close_code = CloseCode.PAD_NOT_FOUND


class TokenNotFound(NotFound):
    """No API token with this id belongs to the caller."""


class ChatMessageNotFound(NotFound):
    """The pad's chat has no message with this id."""


class RevisionNotFound(NotFound):
    """The pad has no revision with this number."""


class FolderNotFound(NotFound):
    """No folder has this id (or the caller may not see it)."""


class Conflict(CrdtpadError):
    """The request clashes with what is stored."""

    http_status = 409


class UsernameTaken(Conflict):
    """Another account has this username."""


class AccessChanged(Conflict):
    """Access to the pad changed while an HTTP edit waited to be applied; it was not applied."""


class TooManyTokens(Conflict):
    """The account holds as many API tokens as allowed."""


class ImportTooLarge(CrdtpadError):
    """An import file over the configured size limit."""

    http_status = 413


class TooManyAttempts(CrdtpadError):
    """Too many failed logins for an account or from an address; ``retry_after_s`` says when to retry."""

    http_status = 429
    close_code = CloseCode.RATE_LIMITED

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        """``Retry-After`` for the HTTP answer."""
        return {"Retry-After": str(self.retry_after_s)}


class PadNotFound(NotFound):
    """No pad has this id."""


class PadDeleted(CrdtpadError):
    """The pad existed and was deleted."""

    http_status = 410
    close_code = CloseCode.PAD_DELETED


class PadCorrupt(CrdtpadError):
    """A stored row of the pad failed its checksum or would not decode; the pad refuses to load."""


class InvalidPadId(InvalidValue):
    """The pad id is not a well-formed crdtpad id."""


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


class TextFrame(ProtocolError):
    """A text frame: the protocol is binary."""

    close_code = CloseCode.UNSUPPORTED_DATA


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
