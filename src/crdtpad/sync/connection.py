"""One client's side of a room: a bounded send queue, a rate limit, the awareness ids it owns."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
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
    """A client in a room. The transport drains ``next_frames`` and watches ``closed``."""

    def __init__(self, limits: ConnectionLimits, *, read_only: bool = False) -> None:
        self.id = next(_ids)
        self.limits = limits
        self.read_only = read_only
        self.awareness_ids: set[int] = set()
        self.close_code: int | None = None
        self.close_reason = ""
        self.close_kind = ""
        self.closed = asyncio.Event()
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._ready = asyncio.Event()
        self._tokens = float(limits.burst)
        self._refilled = time.monotonic()

    def __repr__(self) -> str:
        return f"<Connection {self.id}>"

    def send(self, frame: bytes) -> None:
        """Queue a frame; a client whose queue is full is closed with 1013 rather than buffered."""
        if self.close_code is not None:
            return
        if (
            len(self._queue) >= self.limits.queue_messages
            or self._queued_bytes + len(frame) > self.limits.queue_bytes
        ):
            self.close(CloseCode.TRY_AGAIN_LATER, "slow consumer: send queue full", "slow_consumer")
            return
        self._queue.append(frame)
        self._queued_bytes += len(frame)
        self._ready.set()

    async def next_frames(self) -> list[bytes]:
        """Wait for queued frames and take them all."""
        await self._ready.wait()
        frames = list(self._queue)
        self._queue.clear()
        self._queued_bytes = 0
        self._ready.clear()
        return frames

    def close(self, code: int, reason: str, kind: str = "server") -> None:
        """Ask the transport to close with ``code``; the first request wins."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
            self.close_kind = kind
            self._queue.clear()
            self._queued_bytes = 0
            self.closed.set()

    def peer_gone(self) -> None:
        """The peer closed or the socket broke."""
        if self.close_code is None:
            self.close_code = CloseCode.NORMAL
            self.closed.set()

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
