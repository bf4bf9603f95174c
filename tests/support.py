"""Real pieces for the tests: a crdtpad server process, a Python Yjs client, the JS provider."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Self

import httpx
import pycrdt
import websockets
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection

from crdtpad.sync import protocol as p
from crdtpad.sync.validate import UpdateLimits, validate_update

ROOT = Path(__file__).resolve().parent.parent
JS_DIR = ROOT / "tests" / "js"


def wait_until_healthy(url: str, proc: subprocess.Popen[Any], what: str, timeout: float = 20.0) -> None:
    """Poll ``url`` until it answers 200; fail naming ``what`` if ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not become healthy")
        time.sleep(0.05)


def run_crdtpad(
    *args: str, data_dir: Path | None = None, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``crdtpad`` command as an admin would (logs at warning unless ``env`` says otherwise)."""
    where = ["--data-dir", str(data_dir)] if data_dir is not None else []
    return subprocess.run(
        [sys.executable, "-m", "crdtpad", *args, *where],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "CRDTPAD_LOG_LEVEL": "warning", **(env or {})},
    )


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``python -m crdtpad serve`` on 127.0.0.1 with its own data dir."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.env = env
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, pad_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/sync/{pad_id}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 20.0) -> None:
        env = {
            **os.environ,
            "CRDTPAD_DATA_DIR": str(self.data_dir),
            "CRDTPAD_PORT": str(self.port),
            "CRDTPAD_HOST": "127.0.0.1",
            "CRDTPAD_LOG_LEVEL": "warning",
            **self.env,
        }
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "crdtpad", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_until_healthy(f"{self.url}/healthz", self.proc, "server", timeout)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}: {self.log()}") from None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def metric(self, name: str, **labels: str) -> float:
        """The sum of a series' samples on /metrics whose labels include ``labels`` (0 if none)."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def restart(self) -> None:
        self.terminate()
        self.start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def create_pad(self, title: str = "test") -> str:
        r = httpx.post(f"{self.url}/api/v1/pads", json={"title": title}, timeout=10)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def text(self, pad_id: str) -> str:
        r = httpx.get(f"{self.url}/api/v1/pads/{pad_id}/text", timeout=10)
        assert r.status_code == 200, r.text
        return str(r.json()["text"])


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it holds; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class YClient:
    """A Python Yjs client speaking y-websocket: a pycrdt Doc kept in sync over one socket."""

    def __init__(
        self, url: str, doc: pycrdt.Doc | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self.url = url
        self.headers = headers or {}
        self.doc = doc or pycrdt.Doc()
        self.text = self.doc.get("content", type=pycrdt.Text)
        self.ws: ClientConnection | None = None
        self.synced = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self.received: list[bytes] = []
        self.echoes = 0
        self._task: asyncio.Task[None] | None = None
        self._remote = False
        self._sub = self.doc.observe(self._on_change)
        self.awareness_seen: dict[int, str] = {}
        self.confirmed_clock = 0

    def all_saved(self) -> bool:
        """True once the server has echoed (so stored) every local edit."""
        own = p.read_state_vector(self.doc.get_state()).get(self.doc.client_id, 0)
        return self.confirmed_clock >= own

    def _on_change(self, event: pycrdt.TransactionEvent) -> None:
        if self._remote or self.ws is None:
            return
        update = event.update
        ws = self.ws
        # Edits may happen while the loop is paused (hypothesis rules): the task runs when it resumes.
        self._loop.create_task(self._safe_send(ws, p.sync_update(update)))

    async def _safe_send(self, ws: ClientConnection, frame: bytes) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(frame)

    async def connect(self, wait_synced: bool = True, timeout: float = 10.0) -> YClient:
        self.synced.clear()
        self.close_code = None
        self._loop = asyncio.get_running_loop()
        self.ws = await websockets.connect(
            self.url, max_size=None, open_timeout=timeout, additional_headers=self.headers
        )
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.ws.send(p.sync_step1(self.doc.get_state()))
        self._task = asyncio.get_running_loop().create_task(self._read())
        if wait_synced:
            await asyncio.wait_for(self.synced.wait(), timeout)
        return self

    async def _read(self) -> None:
        assert self.ws is not None
        ws = self.ws
        try:
            async for frame in ws:
                assert isinstance(frame, bytes)
                self.received.append(frame)
                msg = p.decode_message(frame)
                if isinstance(msg, p.SyncStep1):
                    # The server's SyncStep1 holds only committed state: what it covers is saved.
                    stored = p.read_state_vector(msg.state_vector).get(self.doc.client_id, 0)
                    self.confirmed_clock = max(self.confirmed_clock, stored)
                    await ws.send(p.sync_step2(self.doc.get_update(msg.state_vector)))
                elif isinstance(msg, p.SyncStep2 | p.SyncUpdate):
                    self._remote = True
                    try:
                        self.doc.apply_update(msg.update)
                    finally:
                        self._remote = False
                    if isinstance(msg, p.SyncStep2):
                        self.synced.set()
                    else:
                        self.echoes += 1
                    for block in validate_update(msg.update, UpdateLimits(max_bytes=1 << 30)).blocks:
                        if block.client == self.doc.client_id:
                            self.confirmed_clock = max(self.confirmed_clock, block.end)
                elif isinstance(msg, p.AwarenessUpdate):
                    for e in msg.entries:
                        self.awareness_seen[e.client] = e.state
        except websockets.ConnectionClosed:
            pass
        finally:
            if ws.close_code is not None:
                self.close_code = ws.close_code
                self.close_reason = ws.close_reason or ""

    async def send_raw(self, frame: bytes | str) -> None:
        assert self.ws is not None
        await self.ws.send(frame)

    async def wait_closed(self, timeout: float = 10.0) -> int | None:
        assert self._task is not None
        await asyncio.wait_for(asyncio.shield(self._task), timeout)
        return self.close_code

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)
        self.ws = None

    def type(self, s: str, index: int | None = None) -> None:
        self.text.insert(len(self.text) if index is None else index, s)

    def __str__(self) -> str:
        return str(self.text)


class NodeDriver:
    """A Node script driven over stdin/stdout: one JSON command per line in (``{"op", "id", ...}``),
    one JSON reply (with the command's ``id``) or event (``{"ev", ...}``) per line out."""

    def __init__(self, script: str, *argv: str) -> None:
        self.script = script
        self.argv = argv
        self.proc: asyncio.subprocess.Process | None = None
        self.events: list[dict[str, Any]] = []
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next = 0
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> Self:
        self.proc = await asyncio.create_subprocess_exec(
            "node",
            str(JS_DIR / self.script),
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            event = json.loads(line)
            self.events.append(event)
            fut = self._replies.pop(event.get("id", -1), None)
            if fut is not None and not fut.done():
                fut.set_result(event)

    async def call(self, op: str, **args: Any) -> dict[str, Any]:
        """Send one command; its reply."""
        assert self.proc is not None and self.proc.stdin is not None
        self._next += 1
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[self._next] = fut
        self.proc.stdin.write((json.dumps({"op": op, "id": self._next, **args}) + "\n").encode())
        await self.proc.stdin.drain()
        return await asyncio.wait_for(fut, 10)

    def _matching(self, ev: str, after: int, match: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events[after:]
            if e.get("ev") == ev and all(e.get(k) == v for k, v in match.items())
        ]

    async def first(self, ev: str, timeout: float = 10.0, after: int = 0, **match: Any) -> dict[str, Any]:
        """The first event ``ev`` (from event index ``after`` on) whose fields equal ``match``."""
        deadline = time.monotonic() + timeout
        while not (found := self._matching(ev, after, match)):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.script}: no {ev!r} event {match or ''}; last: {self.events[-8:]}"
                )
            await asyncio.sleep(0.02)
        return found[0]

    async def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.call("quit"), 5)
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


class NodeClient(NodeDriver):
    """The stock JS ``WebsocketProvider`` in a Node process (tests/js/client.mjs)."""

    def __init__(self, server_url: str, pad_id: str, params: dict[str, str] | None = None) -> None:
        super().__init__("client.mjs", server_url, pad_id, json.dumps(params or {}))
        self.pad_id = pad_id

    async def text(self) -> str:
        return str((await self.call("text"))["text"])

    async def wait_event(self, ev: str, timeout: float = 10.0) -> dict[str, Any]:
        return await self.first(ev, timeout)


# -- accounts --------------------------------------------------------------------------------------

PASSWORD = "correct horse battery"


class Person:
    """A registered user with an API token, and an HTTP client speaking for them."""

    def __init__(self, server: ServerProcess, name: str, token: str, user_id: int) -> None:
        self.server = server
        self.name = name
        self.token = token
        self.id = user_id
        self.http = httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    def ws(self, pad_id: str, token: str | None = None) -> str:
        """The pad's /sync URL with this person's token (or ``token``)."""
        return f"{self.server.ws_url(pad_id)}?token={token or self.token}"

    async def call(self, method: str, path: str, expect: int, **kw: Any) -> Any:
        r = await self.http.request(method, f"/api/v1{path}", **kw)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    async def pad(self, visibility: str = "private") -> str:
        return str(
            (await self.call("POST", "/pads", 201, json={"title": "t", "visibility": visibility}))["id"]
        )

    async def link(self, pad: str, role: str) -> tuple[int, str]:
        made = await self.call("POST", f"/pads/{pad}/links", 201, json={"role": role})
        return int(made["id"]), str(made["token"])

    async def text(self, pad: str) -> str:
        return str((await self.call("GET", f"/pads/{pad}/text", 200))["text"])


async def register(server: ServerProcess, prefix: str = "u") -> Person:
    """A new account (a random name starting with ``prefix``) with an API token."""
    name = f"{prefix}{secrets.token_hex(4)}"
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        r = await c.post("/api/v1/auth/register", json={"username": name, "password": PASSWORD})
        assert r.status_code == 201, r.text
        user_id = r.json()["id"]
        r = await c.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        csrf = r.json()["csrf_token"]
        r = await c.post("/api/v1/tokens", json={"name": "t"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 201, r.text
    return Person(server, name, r.json()["token"], user_id)


@contextlib.asynccontextmanager
async def person(server: ServerProcess, prefix: str = "u") -> AsyncIterator[Person]:
    """``register``, closing the person's HTTP client afterwards."""
    who = await register(server, prefix)
    try:
        yield who
    finally:
        await who.http.aclose()


def socket_that_never_reads(port: int, path: str, first: bytes | None = None) -> socket.socket:
    """A WebSocket to ``path`` with a tiny receive buffer that never reads (after sending ``first``,
    one binary frame, once the upgrade is answered): the slow consumer of the 1013 tests."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    if first is not None:
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += s.recv(1)
        assert answer.startswith(b"HTTP/1.1 101"), answer
        mask = os.urandom(4)
        assert len(first) < 126
        s.sendall(
            bytes((0x82, 0x80 | len(first))) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(first))
        )
    return s


async def flood_until_the_sleeper_leaves(
    server: ServerProcess, writer: YClient, baseline: float, closed_before: float
) -> None:
    """Type 9 MB on ``writer``'s pad (more than the kernel buffers and a 1 MiB send queue) until a
    client there that never reads is closed 1013; then it must leave the room within the close
    timeout (it never reads our close frame either). ``baseline``: connections open before both."""
    for i in range(90):
        writer.type(f"{i:04d}" + "x" * 100_000)
        await asyncio.sleep(0.02)
        if server.metric("crdtpad_closes_total", code="1013") > closed_before:
            break
    await wait_for(
        lambda: server.metric("crdtpad_closes_total", code="1013") > closed_before,
        timeout=20,
        what="the sleeper to be closed",
    )
    await wait_for(
        lambda: server.metric("crdtpad_connections_open") == baseline + 1,  # the writer
        timeout=15,
        what="it to leave",
    )
