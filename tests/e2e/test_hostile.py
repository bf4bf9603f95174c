"""No client can hurt another: each bad input closes only its own socket, with its code.

Every test runs while two bystanders type on another pad; afterwards they must still converge,
and the server must be the same process.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pycrdt
import pytest
import websockets

from crdtpad.sync import protocol as p
from tests.support import (
    ServerProcess,
    YClient,
    flood_until_the_sleeper_leaves,
    socket_that_never_reads,
    wait_for,
)

MAX_FRAME = 256 * 1024


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(
        tmp_path_factory.mktemp("strict") / "data",
        CRDTPAD_OPEN_PADS="true",
        CRDTPAD_MAX_FRAME_BYTES=str(MAX_FRAME),
        CRDTPAD_RATE_MESSAGES_PER_S="50",
        CRDTPAD_RATE_BURST="100",
        CRDTPAD_SEND_QUEUE_MESSAGES="64",
        CRDTPAD_SEND_QUEUE_BYTES=str(1024 * 1024),
    ) as server:
        yield server


def pad() -> str:
    return "h-" + uuid.uuid4().hex[:12]


@contextlib.asynccontextmanager
async def bystanders(server: ServerProcess) -> AsyncIterator[None]:
    """Two clients typing on another pad for the whole test; they must converge at the end."""
    pid = server.pid
    pad_id = pad()
    a = await YClient(server.ws_url(pad_id)).connect()
    b = await YClient(server.ws_url(pad_id)).connect()
    stop = asyncio.Event()

    async def typing() -> None:
        i = 0
        while not stop.is_set():
            (a if i % 2 else b).type(f"{i % 10}")
            i += 1
            await asyncio.sleep(0.05)

    task = asyncio.create_task(typing())
    try:
        try:
            yield
        finally:
            stop.set()
            await task
        await wait_for(
            lambda: str(a) == str(b) and len(str(a)) > 0, timeout=15, what="bystanders to converge"
        )
        assert a.close_code is None and b.close_code is None
        assert server.pid == pid and server.alive()
    finally:  # a failed test must not leave its bystanders connected for the next one
        await a.close()
        await b.close()


async def refused(
    server: ServerProcess, frame: bytes | str, pad_id: str | None = None
) -> tuple[int | None, str]:
    """Send one bad frame after a normal handshake; the close code and reason the server answers with."""
    c = await YClient(server.ws_url(pad_id or pad())).connect()
    try:
        # A frame over the socket layer's limit is refused from its header: the server closes while
        # the rest is still being written, and the write fails with the server's close code.
        with contextlib.suppress(websockets.ConnectionClosed):
            await c.send_raw(frame)
        code = await c.wait_closed()
        return code, c.close_reason
    finally:
        await c.close()


def one_struct_update(client: int, clock: int, content: bytes, info: int = 0x08) -> bytes:
    """An update with a single item under the root type "a"; ``content`` follows the parent info."""
    return (
        b"\x01\x01"
        + p.var_uint(client)
        + p.var_uint(clock)
        + bytes([info])
        + b"\x01\x01a"
        + content
        + b"\x00"
    )


def nested_any(depth: int) -> bytes:
    """ContentAny holding one array nested ``depth`` deep (Yrs overflows its stack at ~26,000)."""
    return one_struct_update(9, 0, b"\x01" + b"\x75\x01" * depth + b"\x7e")


async def test_text_frame_closes_1003(strict: ServerProcess) -> None:
    async with bystanders(strict):
        code, _ = await refused(strict, "hello")
    assert code == 1003


async def test_oversized_frame_closes_1009(strict: ServerProcess) -> None:
    async with bystanders(strict):
        code, reason = await refused(strict, p.sync_update(b"\x00" * (MAX_FRAME + 10)))
        assert code == 1009 and "exceeds" in reason
        code, _ = await refused(strict, b"\x00" * (MAX_FRAME * 3))  # cut off by the socket layer
        assert code == 1009


@pytest.mark.parametrize(
    ("frame", "what"),
    [
        (b"\x07", "Unknown message type"),
        (b"\x00\x05\x00", "Unknown sync message type"),
        (b"\x00\x02\x05ab", "claims 5 bytes"),
        (b"\x00\x02\x02\x00\x00\xff", "unexpected bytes follow"),
        (b"\xff" * 200_000, "longer than 5 bytes"),
        (b"\x00\x80\x00", "not minimally encoded"),
        (b"\x02\x00\x00", "auth"),
        (b"\x01\x06\x01\x01\x01\x02{x", "JSON"),
    ],
)
async def test_malformed_message_closes_4400(strict: ServerProcess, frame: bytes, what: str) -> None:
    async with bystanders(strict):
        code, reason = await refused(strict, frame)
    assert code == 4400
    assert what in reason


@pytest.mark.parametrize(
    ("update", "kind"),
    [
        (nested_any(26_000), "nested"),
        (nested_any(65), "nested"),
        (one_struct_update(2**53, 0, b"\x01\x7e"), "client"),
        (one_struct_update(1, 2**32 - 1, b"\x02\x7e\x7e"), "clock"),
        (one_struct_update(1, 0, b"\x02\x7e"), "truncated"),
        (one_struct_update(1, 0, b"\x01\x7e") + b"\x00", "trailing"),
        (one_struct_update(1, 0, b"\x01\x02[1]", info=0x02), "JSON content"),
    ],
)
async def test_invalid_update_closes_4400_and_stores_nothing(
    strict: ServerProcess, update: bytes, kind: str
) -> None:
    async with bystanders(strict):
        pad_id = pad()
        keeper = await YClient(strict.ws_url(pad_id)).connect()
        keeper.type("kept")
        await wait_for(keeper.all_saved)
        code, _ = await refused(strict, p.sync_update(update), pad_id)
        assert code == 4400, kind
        assert strict.text(pad_id) == "kept"
        assert keeper.close_code is None
        await keeper.close()
    fresh = await YClient(strict.ws_url(pad_id)).connect()
    assert str(fresh) == "kept"
    await fresh.close()


async def test_deeply_nested_value_is_rejected_fast(strict: ServerProcess) -> None:
    """The ~52 KB update that segfaults Yrs never reaches it."""
    frame = p.sync_update(nested_any(26_000))
    assert 50_000 < len(frame) < 60_000
    async with bystanders(strict):
        loop = asyncio.get_running_loop()
        started = loop.time()
        code, reason = await refused(strict, frame)
        assert code == 4400 and "nest" in reason.lower()
        assert loop.time() - started < 5


async def test_shared_types_nested_one_level_per_update_stop_at_limit(strict: ServerProcess) -> None:
    async with bystanders(strict):
        pad_id = pad()
        c, watcher = YClient(strict.ws_url(pad_id)), YClient(strict.ws_url(pad_id))
        await c.connect()
        await watcher.connect()

        def relayed(clock: int) -> bool:
            return p.read_state_vector(watcher.doc.get_state()).get(doc.client_id, 0) >= clock

        doc = pycrdt.Doc()
        root = doc.get("a", type=pycrdt.Array)
        cur: pycrdt.Array[object] = root
        depth = 0
        while c.close_code is None and depth < 80:
            before = doc.get_state()
            cur.append(pycrdt.Array())
            cur = cur[len(cur) - 1]
            depth += 1
            await c.send_raw(p.sync_update(doc.get_update(before)))
            # In lockstep: the next level goes once this one reached the watcher, or was refused.
            clock = p.read_state_vector(doc.get_state())[doc.client_id]
            await wait_for(lambda clock=clock: c.close_code is not None or relayed(clock), what="the relay")
        await c.wait_closed()
        assert c.close_code == 4400
        assert "depth" in c.close_reason.lower() or "deep" in c.close_reason.lower()
        assert depth == 65, depth  # the first level past the limit (64) is the one refused
        assert watcher.close_code is None
        await watcher.close()


async def test_rate_limit_closes_4429(strict: ServerProcess) -> None:
    async with bystanders(strict):
        c = await YClient(strict.ws_url(pad())).connect()
        for _ in range(400):
            try:
                await c.send_raw(p.sync_step2(b"\x00\x00"))  # valid, and answered with nothing
            except Exception:
                break
        assert await c.wait_closed() == 4429


async def test_awareness_for_another_clients_id_is_dropped(strict: ServerProcess) -> None:
    pad_id = pad()
    a = await YClient(strict.ws_url(pad_id)).connect()
    b = await YClient(strict.ws_url(pad_id)).connect()
    mine = p.AwarenessEntry(1111, 1, '{"user":{"name":"A"}}')
    await a.send_raw(p.awareness_frame([mine]))
    await wait_for(lambda: b.awareness_seen.get(1111) == mine.state, what="b to see a's state")
    forged = p.AwarenessEntry(1111, 5, '{"user":{"name":"forged"}}')
    await b.send_raw(p.awareness_frame([forged]))
    await b.send_raw(p.awareness_frame([p.AwarenessEntry(2222, 1, '{"user":{"name":"B"}}')]))
    await wait_for(lambda: a.awareness_seen.get(2222) is not None, what="a to see b's own state")
    assert a.awareness_seen[1111] == mine.state  # the forgery never went out
    await a.close()
    await wait_for(lambda: b.awareness_seen.get(1111) == "null", what="a's state removed when a left")
    await b.close()


async def test_slow_consumer_is_closed_1013(strict: ServerProcess) -> None:
    """A client that stops reading is cut off; it does not make the server buffer forever."""
    pad_id = pad()
    async with bystanders(strict):
        baseline = strict.metric("crdtpad_connections_open")
        closed_before = strict.metric("crdtpad_closes_total", code="1013")
        sleeper = socket_that_never_reads(strict.port, f"/sync/{pad_id}")
        writer = await YClient(strict.ws_url(pad_id)).connect()
        try:
            await flood_until_the_sleeper_leaves(strict, writer, baseline, closed_before)
            assert writer.close_code is None
        finally:
            await writer.close()
            sleeper.close()


async def test_unknown_pad_and_bad_ids(strict: ServerProcess, tmp_path: Path) -> None:
    async with bystanders(strict):
        c = await YClient(strict.ws_url("a/b/c")).connect(wait_synced=False)
        assert await c.wait_closed() == 4400
        c = await YClient(strict.ws_url("x" * 65)).connect(wait_synced=False)
        assert await c.wait_closed() == 4400


async def test_structs_with_missing_dependencies_are_bounded(strict: ServerProcess) -> None:
    """Updates whose dependencies never arrive are held up to a limit, then refused with 4400."""
    async with bystanders(strict):
        pad_id = pad()
        c = await YClient(strict.ws_url(pad_id)).connect()
        # Each update holds 25 clients' inserts after items of client 77 that nobody ever sent.
        for i in range(80):
            blocks = b"".join(
                b"\x01"
                + p.var_uint(1_000_000 - (i * 25 + j))  # fresh clients, in descending order, clock 0
                + b"\x00"
                + b"\x84"  # origin + String
                + p.var_uint(77)
                + p.var_uint(10_000 + i * 25 + j)
                + b"\x01x"
                for j in range(25)
            )
            try:
                await c.send_raw(p.sync_step2(p.var_uint(25) + blocks + b"\x00"))
            except Exception:
                break
            if c.close_code is not None:
                break
            await asyncio.sleep(0.01)
        assert await c.wait_closed() == 4400
        assert "waiting for missing" in c.close_reason


async def test_a_peer_that_stops_answering_pings_is_dropped(tmp_path: Path) -> None:
    with ServerProcess(
        tmp_path / "data", CRDTPAD_WS_PING_INTERVAL_S="0.5", CRDTPAD_WS_PING_TIMEOUT_S="0.5"
    ) as server:
        pad_id = server.create_pad()
        silent = socket_that_never_reads(server.port, f"/sync/{pad_id}")

        await wait_for(
            lambda: server.metric("crdtpad_connections_open") == 1.0, what="the silent peer to join"
        )
        await wait_for(
            lambda: server.metric("crdtpad_connections_open") == 0.0,
            timeout=10,
            what="the silent peer to be dropped",
        )
        silent.close()


async def test_awareness_ids_per_connection_are_bounded(strict: ServerProcess) -> None:
    """Setting then removing fresh ids cannot grow the room's awareness without bound."""
    pad_id = pad()
    attacker = await YClient(strict.ws_url(pad_id)).connect()
    watcher = await YClient(strict.ws_url(pad_id)).connect()
    for i in range(50):
        entries = [p.AwarenessEntry(100_000 + i * 10 + j, 1, '{"x":1}') for j in range(10)]
        entries += [p.AwarenessEntry(e.client, 2, "null") for e in entries]
        await attacker.send_raw(p.awareness_frame(entries))
    await attacker.send_raw(p.awareness_frame([p.AwarenessEntry(1, 1, '{"last":true}')]))
    await asyncio.sleep(0.5)
    assert len(watcher.awareness_seen) <= 16
    assert attacker.close_code is None
    await attacker.close()
    await watcher.close()
