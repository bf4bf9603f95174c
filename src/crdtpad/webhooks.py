"""Webhooks: pad and presence events for embedders, signed, queued and sent in the background.

Rooms (and Pads) call the hooks (``pad_created``, ``pad_changed``, ``pad_deleted``, ``joined``,
``left``) synchronously. A hook only appends a small record to a bounded queue per endpoint, or,
for a change, notes the time (one timer per pad debounces changes), so the room loop never waits
on a receiver. One task per endpoint sends its queue in order: each event up to
``webhook_max_attempts`` times with exponential back-off, each attempt bounded by
``webhook_timeout_s``. A full queue drops its oldest event (counted, logged), so a slow or dead
endpoint costs a bounded amount of memory and nothing else.

Every POST is signed, in the manner of Stripe's and GitHub's webhooks::

    X-Crdtpad-Event: pad.changed
    X-Crdtpad-Event-Id: evt_...              the same on every attempt: deduplicate on it
    X-Crdtpad-Timestamp: 1718000000          unix seconds when this attempt was signed
    X-Crdtpad-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

``verify`` is the receiver's side of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import random
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pycrdt

from crdtpad.access import SocketAuth
from crdtpad.config import Settings
from crdtpad.metrics import Metrics
from crdtpad.sync.connection import Connection
from crdtpad.sync.rooms import Room
from crdtpad.transfer.delta import TEXT_FIELD

log = logging.getLogger(__name__)

USER_AGENT = "crdtpad-webhooks/0.1"
MAX_BACKOFF_S = 300.0
REPLAY_TOLERANCE_S = 300
_DROP_LOG_EVERY_S = 10.0
# Diff mode keeps each pad's last sent text to diff against, within these bounds (oldest go first).
_BASES_MAX_PADS = 10_000
_BASES_MAX_CHARS = 32 * 1024 * 1024


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Crdtpad-Signature`` value: HMAC-SHA256 over ``"<timestamp>.<body>"``."""
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: bytes,
    body: bytes,
    timestamp: str,
    signature_header: str,
    *,
    tolerance_s: int = REPLAY_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """Whether a received webhook is genuine and recent: what a receiver checks before trusting it."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, ts, body), signature_header)


def splice(old: str, new: str) -> dict[str, Any]:
    """One splice turning ``old`` into ``new``: delete ``delete`` code points at ``start``, insert
    ``insert`` there."""
    start = _common_prefix(old, new)
    end = _common_suffix(old[start:], new[start:])
    return {"start": start, "delete": len(old) - start - end, "insert": new[start : len(new) - end]}


def _common_prefix(a: str, b: str) -> int:
    # Bisection over slice comparisons (memcmp in C): fast on megabytes, unlike a loop per character.
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: str, b: str) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass(slots=True)
class Event:
    """One event, as every endpoint receives it."""

    id: str
    type: str
    pad_id: str
    created_at: int  # unix milliseconds
    data: dict[str, Any]
    _body: bytes | None = field(default=None, init=False, repr=False)

    def body(self) -> bytes:
        """The JSON body (encoded once, on first send)."""
        if self._body is None:
            payload = {
                "id": self.id,
                "type": self.type,
                "created_at": self.created_at,
                "pad_id": self.pad_id,
                "data": self.data,
            }
            self._body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return self._body


class _Endpoint:
    """One receiving URL: its queue and its sender's state."""

    __slots__ = ("dropped", "dropped_logged_at", "idle", "name", "queue", "url", "wake")

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = urlsplit(url).netloc  # for logs: never the path or query, which may hold a token
        self.queue: deque[Event] = deque()
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.dropped = 0  # since the last log line about it
        self.dropped_logged_at = 0.0


class _Change:
    """A pad's changes not yet announced."""

    __slots__ = ("first", "last", "room", "timer")

    def __init__(self, room: Room, now: float) -> None:
        self.room = room
        self.first = self.last = now
        self.timer: asyncio.TimerHandle | None = None


class Webhooks:
    """The RoomEvents that POST to ``webhook_urls``; inert (no task, no client) when there are none."""

    def __init__(self, settings: Settings, metrics: Metrics, clock: Callable[[], float] = time.time) -> None:
        self.metrics = metrics
        self.events = frozenset(settings.webhook_events) if settings.webhook_urls else frozenset()
        self.include = settings.webhook_include
        self.debounce_s = settings.webhook_debounce_s
        self.debounce_max_s = settings.webhook_debounce_max_s
        self.timeout_s = settings.webhook_timeout_s
        self.max_attempts = settings.webhook_max_attempts
        self.backoff_s = settings.webhook_backoff_s
        self.queue_size = settings.webhook_queue_size
        self._key = settings.webhook_key() or b""
        self._clock = clock
        self._endpoints = [_Endpoint(url) for url in settings.webhook_urls]
        self._changes: dict[str, _Change] = {}
        self._bases: OrderedDict[str, tuple[str, str]] = OrderedDict()  # pad id -> (event id, text)
        self._bases_chars = 0
        self._boot = secrets.token_hex(6)  # event ids stay unique across restarts
        self._serial = itertools.count(1)
        self._client: httpx.AsyncClient | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._open = False

    async def __aenter__(self) -> Webhooks:
        if self._endpoints:
            # Per-attempt time is bounded by asyncio.timeout below; httpx's own timeouts are per phase.
            self._client = httpx.AsyncClient(
                timeout=self.timeout_s, follow_redirects=False, headers={"user-agent": USER_AGENT}
            )
            self._tasks = [
                asyncio.create_task(self._run(e), name=f"crdtpad-webhooks-{i}")
                for i, e in enumerate(self._endpoints)
            ]
        self._open = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- hooks: synchronous, O(1), never raise ----------------------------------------------------

    def pad_created(
        self, pad_id: str, *, owner: str | None = None, title: str | None = None, visibility: str = "public"
    ) -> None:
        """A pad was created (``owner``: the account's username, None for an anonymous pad)."""
        if "pad.created" in self.events:
            self._emit("pad.created", pad_id, {"owner": owner, "title": title, "visibility": visibility})

    def pad_deleted(self, pad_id: str) -> None:
        """A pad was erased; a change not yet announced is dropped with it."""
        change = self._changes.pop(pad_id, None)
        if change is not None and change.timer is not None:
            change.timer.cancel()
        self._forget_base(pad_id)
        if "pad.deleted" in self.events:
            self._emit("pad.deleted", pad_id, {})

    def pad_changed(self, room: Room) -> None:
        """The room committed changes: announce them once the pad is quiet (debounced per pad)."""
        if "pad.changed" not in self.events:
            return
        try:
            now = time.monotonic()
            change = self._changes.get(room.pad_id)
            if change is None:
                change = self._changes[room.pad_id] = _Change(room, now)
                change.timer = asyncio.get_running_loop().call_later(self.debounce_s, self._due, room.pad_id)
            else:
                change.room = room  # the newest load of the pad, if it was unloaded and loaded again
                change.last = now
        except Exception:
            log.exception("Pad %s: webhook change not recorded", room.pad_id)

    def joined(self, room: Room, conn: Connection) -> None:
        """A client joined the pad's room."""
        if "user.joined" in self.events:
            self._presence("user.joined", room, conn)

    def left(self, room: Room, conn: Connection) -> None:
        """A client left the pad's room."""
        if "user.left" in self.events:
            self._presence("user.left", room, conn)

    def _presence(self, kind: str, room: Room, conn: Connection) -> None:
        try:
            auth = conn.auth
            principal = auth.principal if isinstance(auth, SocketAuth) else None
            user = principal.user if principal is not None else None
            grant = principal.grant if principal is not None else None
            app_user = None
            if grant is not None and grant.kind == "app":  # a signed pad token: the embedding app's user
                app_user = {"id": grant.subject, "name": grant.name}
            data = {
                "connection": conn.id,
                "user": user.username if user is not None else None,
                "grant": grant.kind if grant is not None else None,
                "app_user": app_user,
                "read_only": conn.read_only,
                "connections": len(room.conns),
            }
            self._emit(kind, room.pad_id, data)
        except Exception:
            log.exception("Pad %s: webhook %s not recorded", room.pad_id, kind)

    # -- changes, debounced ------------------------------------------------------------------------

    def _due(self, pad_id: str) -> None:
        change = self._changes.get(pad_id)
        if change is None:
            return
        now = time.monotonic()
        wait = min(change.last + self.debounce_s, change.first + self.debounce_max_s) - now
        if wait > 0.001:  # changed again since: wait for quiet, but not past the longest delay
            change.timer = asyncio.get_running_loop().call_later(wait, self._due, pad_id)
            return
        del self._changes[pad_id]
        self._announce(change)

    def _announce(self, change: _Change) -> None:
        room = change.room
        if room.deleted:
            return
        try:
            event_id = self._new_id()
            data: dict[str, Any] = {"seq": room.committed_seq, "edited_at": room.edited_at}
            if self.include != "none":
                text = None if room.failed else str(room.doc.get(TEXT_FIELD, type=pycrdt.Text))
                data["chars"] = len(text) if text is not None else None
                if self.include == "text" or text is None:
                    data["text"] = text
                else:
                    base = self._bases.get(room.pad_id)
                    if base is None:
                        data["diff"], data["text"] = None, text
                    else:
                        data["diff"] = {"base": base[0], **splice(base[1], text)}
                    self._remember(room.pad_id, event_id, text)
            self._emit("pad.changed", room.pad_id, data, event_id)
        except Exception:
            log.exception("Pad %s: webhook pad.changed not sent", room.pad_id)

    def _remember(self, pad_id: str, event_id: str, text: str) -> None:
        self._forget_base(pad_id)
        self._bases[pad_id] = (event_id, text)
        self._bases_chars += len(text)
        while self._bases and (len(self._bases) > _BASES_MAX_PADS or self._bases_chars > _BASES_MAX_CHARS):
            _, (_, old) = self._bases.popitem(last=False)
            self._bases_chars -= len(old)

    def _forget_base(self, pad_id: str) -> None:
        base = self._bases.pop(pad_id, None)
        if base is not None:
            self._bases_chars -= len(base[1])

    # -- queues --------------------------------------------------------------------------------------

    def _new_id(self) -> str:
        return f"evt_{self._boot}{next(self._serial):08x}"

    def _emit(self, kind: str, pad_id: str, data: dict[str, Any], event_id: str | None = None) -> None:
        if not self._open:
            self.metrics.webhooks_dropped.labels(kind, "stopped").inc()
            return
        event = Event(event_id or self._new_id(), kind, pad_id, int(self._clock() * 1000), data)
        for endpoint in self._endpoints:
            queue = endpoint.queue
            if len(queue) >= self.queue_size:
                dropped = queue.popleft()
                self.metrics.webhooks_dropped.labels(dropped.type, "queue_full").inc()
                self.metrics.webhook_queue.dec()
                self._note_drop(endpoint)
            queue.append(event)
            self.metrics.webhooks_queued.labels(kind).inc()
            self.metrics.webhook_queue.inc()
            endpoint.idle.clear()
            endpoint.wake.set()

    def _note_drop(self, endpoint: _Endpoint) -> None:
        endpoint.dropped += 1
        now = time.monotonic()
        if now - endpoint.dropped_logged_at >= _DROP_LOG_EVERY_S:
            log.warning(
                "Webhook queue for %s is full (%d events): dropped %d oldest since the last report",
                endpoint.name,
                self.queue_size,
                endpoint.dropped,
            )
            endpoint.dropped = 0
            endpoint.dropped_logged_at = now

    # -- sending -------------------------------------------------------------------------------------

    async def _run(self, endpoint: _Endpoint) -> None:
        while True:
            if not endpoint.queue:
                endpoint.idle.set()
                endpoint.wake.clear()
                await endpoint.wake.wait()
                continue
            event = endpoint.queue.popleft()
            self.metrics.webhook_queue.dec()
            try:
                await self._deliver(endpoint, event)
            except Exception:
                log.exception("Webhook %s to %s failed unexpectedly", event.type, endpoint.name)
                self.metrics.webhooks_failed.labels(event.type).inc()

    async def _deliver(self, endpoint: _Endpoint, event: Event) -> None:
        body = event.body()
        outcome = ""
        for attempt in range(1, self.max_attempts + 1):
            outcome, status = await self._attempt(endpoint, event, body, attempt)
            if outcome == "2xx":
                self.metrics.webhooks_delivered.labels(event.type).inc()
                return
            if status is not None and not _retryable(status):
                log.warning(
                    "Webhook %s %s refused by %s with HTTP %d; not retried",
                    event.type,
                    event.id,
                    endpoint.name,
                    status,
                )
                self.metrics.webhooks_failed.labels(event.type).inc()
                return
            if attempt < self.max_attempts:
                delay = min(self.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S)
                await asyncio.sleep(delay * (1 + random.random() / 4))
        log.warning(
            "Webhook %s %s to %s given up after %d attempts (last: %s)",
            event.type,
            event.id,
            endpoint.name,
            self.max_attempts,
            outcome,
        )
        self.metrics.webhooks_failed.labels(event.type).inc()

    async def _attempt(
        self, endpoint: _Endpoint, event: Event, body: bytes, attempt: int
    ) -> tuple[str, int | None]:
        assert self._client is not None
        timestamp = int(self._clock())
        headers = {
            "content-type": "application/json",
            "x-crdtpad-event": event.type,
            "x-crdtpad-event-id": event.id,
            "x-crdtpad-timestamp": str(timestamp),
            "x-crdtpad-signature": signature(self._key, timestamp, body),
            "x-crdtpad-attempt": str(attempt),
        }
        started = time.perf_counter()
        status: int | None = None
        try:
            async with asyncio.timeout(self.timeout_s):
                # Streamed and never read: only the status matters, and a huge answer costs nothing.
                async with self._client.stream("POST", endpoint.url, content=body, headers=headers) as r:
                    status = r.status_code
            outcome = f"{status // 100}xx"
        except (TimeoutError, httpx.TimeoutException):
            outcome = "timeout"
        except httpx.HTTPError as exc:
            outcome = "error"
            log.debug("Webhook %s to %s: %s", event.id, endpoint.name, exc)
        self.metrics.webhook_seconds.observe(time.perf_counter() - started)
        self.metrics.webhook_attempts.labels(outcome).inc()
        return outcome, status

    # -- shutdown ------------------------------------------------------------------------------------

    async def close(self) -> None:
        """Announce pending changes, give the queues ``webhook_timeout_s`` to drain, then stop;
        what is left is counted as dropped. Safe to call twice."""
        if not self._open:
            return
        for pad_id in list(self._changes):
            change = self._changes.pop(pad_id)
            if change.timer is not None:
                change.timer.cancel()
            self._announce(change)
        self._open = False
        if self._tasks:
            try:
                async with asyncio.timeout(self.timeout_s):
                    for endpoint in self._endpoints:
                        await endpoint.idle.wait()
            except TimeoutError:
                log.warning("Shutdown: webhook queues did not drain in %gs", self.timeout_s)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for endpoint in self._endpoints:
            while endpoint.queue:
                event = endpoint.queue.popleft()
                self.metrics.webhook_queue.dec()
                self.metrics.webhooks_dropped.labels(event.type, "shutdown").inc()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _retryable(status: int) -> bool:
    """Server errors, timeouts and rate limits are retried; other refusals (and redirects) are final."""
    return status >= 500 or status in (408, 425, 429)
