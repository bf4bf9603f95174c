"""A real webhook receiver for the tests: an HTTP server on 127.0.0.1 in a thread."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = "test-webhook-secret-0123456789"


@dataclass(frozen=True)
class Received:
    """One POST as it arrived."""

    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()

    @property
    def event(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    def signed(self, secret: str = SECRET, body: bytes | None = None) -> bool:
        """Checked as a receiver would, with nothing from crdtpad: HMAC-SHA256 of "timestamp.body"."""
        material = self.headers["x-crdtpad-timestamp"].encode() + b"." + (self.body if body is None else body)
        expected = "sha256=" + hmac.new(secret.encode(), material, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers["x-crdtpad-signature"])


class Receiver:
    """Records every POST; answers from ``answers`` (then 200), or never while ``hang`` is set."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: deque[int] = deque()
        self.hang = False
        self._release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.received.append(Received(headers, body, time.monotonic()))
                    status = receiver.answers.popleft() if receiver.answers else 200
                if receiver.hang:
                    receiver._release.wait(60)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def release(self) -> None:
        """Stop hanging: requests held so far are answered, new ones at once."""
        self.hang = False
        self._release.set()

    def events(self, pad_id: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """Bodies received (each event once, however many attempts), oldest first."""
        seen: set[str] = set()
        found = []
        with self._lock:
            received = list(self.received)
        for r in received:
            e = r.event
            if e["id"] in seen or (pad_id is not None and e["pad_id"] != pad_id):
                continue
            if kind is None or e["type"] == kind:
                seen.add(e["id"])
                found.append(e)
        return found

    async def wait_event(
        self, pad_id: str, kind: str, timeout: float = 10.0, where: Any = None
    ) -> dict[str, Any]:
        """The first event of ``kind`` for the pad (matching ``where``), once it arrives."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events(pad_id, kind):
                if where is None or where(e):
                    return e
            if time.monotonic() > deadline:
                raise AssertionError(f"no {kind} for {pad_id} within {timeout}s; got {self.events(pad_id)}")
            await asyncio.sleep(0.02)
