"""Clients for the Hocuspocus endpoint: the stock provider in Node, and a raw socket for what no
provider would send."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from crdtpad.sync import protocol as p
from tests.support import NodeDriver, ServerProcess


def hp_url(server: ServerProcess) -> str:
    return f"ws://127.0.0.1:{server.port}/hocuspocus"


class HocuspocusNode(NodeDriver):
    """Stock ``HocuspocusProvider``s in a Node process (tests/js/hocuspocus_client.mjs); pads opened
    without ``own`` share one ``HocuspocusProviderWebsocket``."""

    def __init__(self, url: str) -> None:
        super().__init__("hocuspocus_client.mjs", url)
        self.url = url

    async def call(self, op: str, **args: Any) -> dict[str, Any]:
        reply = await super().call(op, **args)
        assert reply["ev"] != "error", reply
        return reply

    async def open(
        self,
        pad: str,
        token: str | None = None,
        *,
        own: bool = False,
        synced: bool = True,
        name: str | None = None,
        force_sync_ms: int | None = None,
    ) -> None:
        """Attach a provider for ``pad`` (or, with ``name``, a session-aware one for the document ``name``,
        known here as ``pad``); wait until it is authenticated and synced."""
        await self.call("open", pad=pad, token=token, own=own, name=name, forceSync=force_sync_ms)
        if synced:
            await self.wait("synced", pad)

    async def insert(self, pad: str, text: str, index: int | None = None) -> None:
        await self.call("insert", pad=pad, text=text, index=index)

    async def text(self, pad: str) -> str:
        return str((await self.call("text", pad=pad))["text"])

    async def state(self, pad: str) -> dict[str, Any]:
        return await self.call("state", pad=pad)

    def seen(self, ev: str, pad: str | None = None) -> list[dict[str, Any]]:
        return self._matching(ev, 0, {} if pad is None else {"pad": pad})

    async def wait(
        self, ev: str, pad: str | None = None, timeout: float = 10.0, after: int = 0
    ) -> dict[str, Any]:
        """The first ``ev`` event (of ``pad``) at or after event index ``after``."""
        return await self.first(ev, timeout, after, **({} if pad is None else {"pad": pad}))

    async def wait_text(self, pad: str, text: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while (got := await self.text(pad)) != text:
            if time.monotonic() > deadline:
                raise AssertionError(f"pad {pad}: {got!r} != {text!r}")
            await asyncio.sleep(0.05)

    async def wait_saved(self, pad: str, timeout: float = 10.0) -> None:
        """Until the provider counts no unsynced change (every edit acknowledged as stored)."""
        deadline = time.monotonic() + timeout
        while (state := await self.state(pad))["unsynced"] != 0:
            if time.monotonic() > deadline:
                raise AssertionError(f"pad {pad}: still {state['unsynced']} unsynced changes")
            await asyncio.sleep(0.05)


# -- a raw client: exact frames out, every server frame in ----------------------------------------


@dataclass(frozen=True)
class Received:
    """One server frame: its address (None for a bare Ping), type and the rest of its bytes."""

    address: str | None
    type: int
    body: bytes

    def string(self, skip: int = 0) -> str:
        """The varString ``skip`` varUints into the body (a reason, a scope, a payload)."""
        r = p.Reader(self.body)
        for _ in range(skip):
            r.var_uint()
        return r.var_string()


def frame(address: str, *parts: bytes) -> bytes:
    return p.var_bytes(address.encode()) + b"".join(parts)


def auth(address: str, token: str = "", version: str | None = "4.8.0") -> bytes:
    body = b"\x02\x00" + p.var_bytes(token.encode())
    if version is not None:
        body += p.var_bytes(version.encode())
    return frame(address, body)


def step1(address: str, state_vector: bytes = b"\x00") -> bytes:
    return frame(address, p.sync_step1(state_vector))


def update(address: str, data: bytes) -> bytes:
    return frame(address, p.sync_update(data))


class RawClient:
    """A WebSocket speaking the dialect byte by byte."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = headers or {}
        self.ws: ClientConnection | None = None
        self.received: list[Received] = []
        self.close_code: int | None = None
        self.close_reason = ""
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RawClient:
        self.ws = await websockets.connect(
            self.url, max_size=None, open_timeout=10, additional_headers=self.headers
        )
        self._task = asyncio.get_running_loop().create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)

    async def _read(self) -> None:
        assert self.ws is not None
        ws = self.ws
        try:
            async for data in ws:
                assert isinstance(data, bytes)
                if data in (b"\x09", b"\x0a"):  # a bare Ping or Pong
                    self.received.append(Received(None, data[0], b""))
                    continue
                r = p.Reader(data)
                address = r.var_string()
                kind = r.var_uint()
                self.received.append(Received(address, kind, data[r.pos :]))
        except websockets.ConnectionClosed:
            pass
        finally:
            if ws.close_code is not None:
                self.close_code = ws.close_code
                self.close_reason = ws.close_reason or ""

    async def send(self, data: bytes | str) -> None:
        assert self.ws is not None
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.ws.send(data)

    def of(self, address: str | None, kind: int) -> list[Received]:
        return [m for m in self.received if m.address == address and m.type == kind]

    async def wait(
        self, address: str | None, kind: int, count: int = 1, timeout: float = 10.0
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(found := self.of(address, kind)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {count} frame(s) of type {kind} for {address!r}: {self.received[-6:]}"
                )
            await asyncio.sleep(0.01)
        return found

    async def closed(self, timeout: float = 10.0) -> tuple[int | None, str]:
        assert self._task is not None
        await asyncio.wait_for(asyncio.shield(self._task), timeout)
        return self.close_code, self.close_reason
