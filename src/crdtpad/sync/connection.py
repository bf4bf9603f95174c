"""One client's side of a room: a bounded send queue, a rate limit, the awareness ids it owns."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

from crdtpad.errors import CloseCode, RateLimited

_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Per-connection bounds."""

    queue_messages: int = 512
    queue_bytes: int = 8 * 1024 * 1024
    rate_per_s: float = 100.0
    burst: int = 500
    max_awareness_ids: int = 16


class Connection:
    """A client in a room: frames queue here, and ``wake`` tells the transport to drain them.

    The transport (api/sync.py) runs a sender task only while there is something to send, so an
    idle client costs no task.
    """

    __slots__ = (
        "_hold",
        "_holds",
        "_queued_bytes",
        "_refilled",
        "_tokens",
        "_wake",
        "auth",
        "author_id",
        "awareness_ids",
        "awareness_introduced",
        "close_code",
        "close_kind",
        "close_reason",
        "draining",
        "id",
        "limits",
        "queue",
        "read_only",
        "write_now",
    )

    def __init__(
        self, limits: ConnectionLimits, wake: Callable[[], None], *, read_only: bool = False
    ) -> None:
        self.id = next(_ids)
        self.limits = limits
        self.read_only = read_only
        self.awareness_ids: set[int] = set()
        self.awareness_introduced = 0
        self.close_code: int | None = None
        self.close_reason = ""
        self.close_kind = ""
        self.queue: list[bytes] = []
        self._queued_bytes = 0
        self._wake = wake
        # Set by the transport: writes a frame at once when the socket can take it, else False.
        self.write_now: Callable[[bytes], bool] | None = None
        self.draining = False  # the transport's sender is working through the queue
        self._tokens = float(limits.burst)
        self._refilled = time.monotonic()
        self.auth: object = None  # who the client is, for whoever enforces access (access.Guard)
        self.author_id: str | None = None  # whom its chat messages must name (sync/chat.py)
        self._hold: asyncio.Event | None = None
        self._holds = 0

    def __repr__(self) -> str:
        return f"<Connection {self.id}>"

    # -- holds: an access change in progress pauses the client's messages ---------------------------

    @property
    def held(self) -> bool:
        """Whether an access change is deciding this client's fate."""
        return self._hold is not None

    def hold_up(self) -> None:
        """Pause the client's messages until ``let_go`` (holds nest)."""
        self._holds += 1
        if self._hold is None:
            self._hold = asyncio.Event()

    def let_go(self) -> None:
        """Undo one ``hold_up``; the last one resumes the client."""
        self._holds -= 1
        if self._holds <= 0 and self._hold is not None:
            self._holds = 0
            hold, self._hold = self._hold, None
            hold.set()

    async def released(self) -> None:
        """Return once no hold is on the client."""
        while self._hold is not None:
            await self._hold.wait()

    def send(self, frame: bytes) -> None:
        """Queue a frame; a client whose queue is full is closed with 1013 rather than buffered."""
        if self.close_code is not None:
            return
        if not self.queue and not self.draining and self.write_now is not None and self.write_now(frame):
            return
        if (
            len(self.queue) >= self.limits.queue_messages
            or self._queued_bytes + len(frame) > self.limits.queue_bytes
        ):
            self.close(CloseCode.TRY_AGAIN_LATER, "slow consumer: send queue full", "slow_consumer")
            return
        self.queue.append(frame)
        self._queued_bytes += len(frame)
        self._wake()

    def take(self) -> list[bytes]:
        """Every queued frame, oldest first."""
        frames = list(self.queue)
        self.queue.clear()
        self._queued_bytes = 0
        return frames

    def close(self, code: int, reason: str, kind: str = "server") -> None:
        """Ask the transport to close with ``code``; the first request wins."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
            self.close_kind = kind
            self.queue.clear()
            self._queued_bytes = 0
            self._wake()

    def peer_gone(self) -> None:
        """The peer closed or the socket broke: nothing more to send."""
        if self.close_code is None:
            self.close_code = CloseCode.NORMAL
            self.close_kind = "peer"
            self.queue.clear()
            self._queued_bytes = 0

    def take_token(self) -> None:
        """Charge one message to the rate limit; raise RateLimited when it is spent."""
        now = time.monotonic()
        self._tokens = min(self.limits.burst, self._tokens + (now - self._refilled) * self.limits.rate_per_s)
        self._refilled = now
        if self._tokens < 1.0:
            raise RateLimited(
                f"More than {self.limits.rate_per_s:g} messages per second (burst {self.limits.burst}).",
                "rate_limited",
            )
        self._tokens -= 1.0
