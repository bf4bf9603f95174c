"""No Hocuspocus socket can hurt another: bad input ends its pad or its socket, with a precise code.

Every test runs while two bystanders (a Hocuspocus provider and a y-websocket client) type on
another pad; afterwards they must have converged, still connected, on the same server process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from crdtpad.sync import protocol as p
from tests.hocuspocus.clients import HocuspocusNode, RawClient, auth, frame, hp_url, step1, update
from tests.support import (
    ServerProcess,
    YClient,
    flood_until_the_sleeper_leaves,
    person,
    socket_that_never_reads,
    wait_for,
)

pytestmark = [pytest.mark.node, pytest.mark.usefixtures("hocuspocus_provider")]

MAX_FRAME = 256 * 1024
AUTH_TIMEOUT_S = 1.5
PREAUTH_MESSAGES = 50
PREAUTH_BYTES = 64 * 1024
PENDING_PADS = 5
PADS_PER_SOCKET = 8
CLIENTS_PER_ROOM = 3

SYNC, AWARENESS, AUTH, CLOSE, SYNC_STATUS = 0, 1, 2, 7, 8


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(
        tmp_path_factory.mktemp("hp-strict") / "data",
        CRDTPAD_OPEN_PADS="true",
        CRDTPAD_MAX_FRAME_BYTES=str(MAX_FRAME),
        CRDTPAD_RATE_MESSAGES_PER_S="50",
        CRDTPAD_RATE_BURST="100",
        CRDTPAD_MAX_CLIENTS_PER_ROOM=str(CLIENTS_PER_ROOM),
        CRDTPAD_SEND_QUEUE_MESSAGES="64",
        CRDTPAD_SEND_QUEUE_BYTES=str(1024 * 1024),
        CRDTPAD_HOCUSPOCUS_AUTH_TIMEOUT_S=str(AUTH_TIMEOUT_S),
        CRDTPAD_HOCUSPOCUS_PREAUTH_MESSAGES=str(PREAUTH_MESSAGES),
        CRDTPAD_HOCUSPOCUS_PREAUTH_BYTES=str(PREAUTH_BYTES),
        CRDTPAD_HOCUSPOCUS_PENDING_PADS=str(PENDING_PADS),
        CRDTPAD_HOCUSPOCUS_PADS_PER_SOCKET=str(PADS_PER_SOCKET),
    ) as server:
        yield server


def pad() -> str:
    return "x-" + uuid.uuid4().hex[:12]


@contextlib.asynccontextmanager
async def bystanders(server: ServerProcess) -> AsyncIterator[None]:
    """A provider and a y-websocket client typing on another pad for the whole test."""
    pid = server.pid
    pad_id = pad()
    y = await YClient(server.ws_url(pad_id)).connect()
    try:
        async with HocuspocusNode(hp_url(server)) as hp:
            await hp.open(pad_id)
            stop = asyncio.Event()

            async def typing() -> None:
                i = 0
                while not stop.is_set():
                    if i % 2:
                        y.type(f"{i % 10}")
                    else:
                        await hp.insert(pad_id, f"{i % 10}")
                    i += 1
                    await asyncio.sleep(0.05)

            task = asyncio.create_task(typing())
            try:
                yield
            finally:
                stop.set()
                await task
            await hp.wait_saved(pad_id)
            await wait_for(y.all_saved, what="the y-websocket bystander's edits stored")
            expected = server.text(pad_id)
            assert len(expected) > 0
            await hp.wait_text(pad_id, expected)
            await wait_for(lambda: str(y) == expected, what="the bystanders to converge")
            assert y.close_code is None
            assert not hp.seen("socket-close") and not hp.seen("doc-close")
            assert server.pid == pid and server.alive()
    finally:
        await y.close()


async def closed_with(server: ServerProcess, *frames: bytes | str) -> tuple[int | None, str]:
    async with RawClient(hp_url(server)) as raw:
        for f in frames:
            await raw.send(f)
        return await raw.closed()


@pytest.mark.parametrize(
    ("frames", "code", "reason"),
    [
        ([b"\xff" * 9], 4400, "The document address length at byte 0 is longer than 5 bytes."),
        ([p.var_bytes(b"\xc3\x28") + b"\x00"], 4400, "The document address is not valid UTF-8"),
        (
            [p.var_bytes(b"a" * 257) + b"\x00"],
            4400,
            "The document address has 257 bytes, over the limit of 256.",
        ),
        ([frame("x-pad")], 4400, "Document 'x-pad': The message ends inside a message type (at byte 6)."),
        ([frame("x-pad", b"\x0b")], 4400, "Document 'x-pad': Unknown message type 11."),
        ([frame("x-pad", b"\x08\x01")], 4400, "Document 'x-pad': SyncStatus (8) goes from server to client"),
        ([auth("x-pad") + b"\x00"], 4400, "unexpected bytes follow the message"),
        (["a text frame"], 1003, "text frames are not part of the protocol"),
        ([b"\x00" * (MAX_FRAME + 1)], 1009, f"frame of {MAX_FRAME + 1} bytes exceeds {MAX_FRAME}"),
        ([b"\x09"] * 150, 4429, "More than 50 messages per second (burst 100)."),
    ],
    ids=[
        "address-varint",
        "address-utf8",
        "address-long",
        "no-type",
        "unknown-type",
        "sync-status-from-client",
        "auth-trailing",
        "text",
        "too-big",
        "ping-flood",
    ],
)
async def test_a_malformed_frame_closes_its_socket_with_a_precise_code(
    strict: ServerProcess, frames: list[bytes | str], code: int, reason: str
) -> None:
    async with bystanders(strict):
        got_code, got_reason = await closed_with(strict, *frames)
        assert got_code == code
        assert reason in got_reason


async def test_a_malformed_message_for_an_open_pad_ends_only_that_pad(strict: ServerProcess) -> None:
    a, b, c = pad(), pad(), pad()
    async with bystanders(strict), RawClient(hp_url(strict)) as raw:
        for x in (a, b, c):
            await raw.send(auth(x))
            await raw.send(step1(x))
            await raw.wait(x, SYNC)
        await raw.send(update(a, b"\x01\x02\x03"))
        (closed,) = await raw.wait(a, CLOSE)
        assert closed.string().startswith("4400: ")
        await raw.send(frame(b, b"\x06" + p.var_bytes(b"hello")))  # BroadcastStateless
        (closed,) = await raw.wait(b, CLOSE)
        assert (
            closed.string() == "4400: BroadcastStateless (6) is server-internal; clients send Stateless (5)."
        )
        assert not raw.of(a, AUTH)[1:] and not raw.of(b, AUTH)[1:]  # a Close, not a PermissionDenied
        # The socket and its third pad carry on; the ended pads' late frames are dropped.
        await raw.send(update(a, b"\x00\x00"))
        await raw.send(step1(c))
        await raw.wait(c, SYNC, count=3)  # our SyncStep1 on join, its SyncStep2, then ours again
        assert raw.close_code is None


async def test_frames_before_the_token_wait_for_it_then_come_in_order(strict: ServerProcess) -> None:
    x = pad()
    async with bystanders(strict), RawClient(hp_url(strict)) as raw:
        await raw.send(step1(x))
        await raw.send(frame(x, b"\x03"))  # QueryAwareness
        await asyncio.sleep(0.3)
        assert raw.received == []  # nothing for that pad is processed before its token
        await raw.send(auth(x))
        await raw.wait(x, AWARENESS)
        kinds = [(m.type, m.body[:1]) for m in raw.received if m.address == x]
        # Authenticated first, the room's SyncStep1 on join, then the answers to the held frames.
        assert kinds[:4] == [(AUTH, b"\x02"), (SYNC, b"\x00"), (SYNC, b"\x01"), (AWARENESS, b"\x01")]
        assert raw.of(x, AUTH)[0].string(skip=1) == "read-write"


async def test_too_many_messages_before_authentication_close_4205(strict: ServerProcess) -> None:
    async with bystanders(strict):
        code, reason = await closed_with(strict, *[step1("x-waiting")] * (PREAUTH_MESSAGES + 1))
        assert (code, reason) == (4205, f"more than {PREAUTH_MESSAGES} messages before authentication")


async def test_too_many_bytes_before_authentication_close_4205(strict: ServerProcess) -> None:
    big = frame("x-waiting", b"\x05" + p.var_bytes(b"z" * (PREAUTH_BYTES // 2)))  # Stateless
    async with bystanders(strict):
        code, reason = await closed_with(strict, big, big)
        assert (code, reason) == (4205, f"more than {PREAUTH_BYTES} bytes before authentication")


async def test_too_many_pads_waiting_for_authentication_close_4205(strict: ServerProcess) -> None:
    async with bystanders(strict):
        code, reason = await closed_with(strict, *[step1(f"x-waiting{i}") for i in range(PENDING_PADS + 1)])
        assert (code, reason) == (4205, f"more than {PENDING_PADS} pads waiting for authentication")


async def test_a_socket_that_authenticates_nothing_in_time_closes_4408(strict: ServerProcess) -> None:
    async with bystanders(strict), person(strict) as owner:
        private = await owner.pad("private")
        started = time.monotonic()  # before the sockets open: the server's timers start later
        async with RawClient(hp_url(strict)) as silent, RawClient(hp_url(strict)) as denied:
            await denied.send(auth(private))  # refused: a PermissionDenied does not count
            (refused,) = await denied.wait(private, AUTH)
            assert refused.string(skip=1) == f"4404: No pad has the id {private}."
            for raw in (silent, denied):
                code, reason = await raw.closed(timeout=AUTH_TIMEOUT_S + 5)
                assert (code, reason) == (4408, f"no document was authenticated within {AUTH_TIMEOUT_S:g} s")
            assert time.monotonic() - started >= AUTH_TIMEOUT_S


async def test_an_invalid_pad_id_or_one_pad_too_many_is_refused_and_the_socket_stays(
    strict: ServerProcess,
) -> None:
    pads = [pad() for _ in range(PADS_PER_SOCKET + 1)]
    async with bystanders(strict), RawClient(hp_url(strict)) as raw:
        await raw.send(auth("not a pad!"))
        (refused,) = await raw.wait("not a pad!", AUTH)
        assert refused.string(skip=1) == "4400: 'not a pad!' is not a valid pad id."
        for x in pads[:-1]:
            await raw.send(auth(x))
            await raw.wait(x, AUTH)
        await raw.send(auth(pads[-1]))
        (refused,) = await raw.wait(pads[-1], AUTH)
        assert refused.body[:1] == b"\x01"
        assert refused.string(skip=1) == f"1013: This socket already has {PADS_PER_SOCKET} pads open."
        assert all(raw.of(x, AUTH)[0].body[:1] == b"\x02" for x in pads[:-1])
        assert raw.close_code is None


async def test_a_viewer_cannot_write_through_a_sync_step2(strict: ServerProcess) -> None:
    async with bystanders(strict), person(strict) as owner:
        private = await owner.pad("private")
        await owner.call("PUT", f"/pads/{private}/text", 200, json={"text": "kept"})
        _, token = await owner.link(private, "viewer")
        import pycrdt

        doc = pycrdt.Doc()
        doc.get("content", type=pycrdt.Text).insert(0, "sneaky ")
        async with RawClient(hp_url(strict)) as raw:
            await raw.send(auth(private, token))
            await raw.send(frame(private, p.sync_step2(doc.get_update())))
            await raw.send(frame(private, p.sync_step2(b"\x00\x00")))
            statuses = await raw.wait(private, SYNC_STATUS, count=2)
            assert [s.body for s in statuses] == [b"\x00", b"\x01"]  # refused; nothing new: fine
            assert raw.of(private, AUTH)[0].string(skip=1) == "readonly"
        assert await owner.text(private) == "kept"


async def test_a_full_room_refuses_the_pad_and_the_socket_stays(strict: ServerProcess) -> None:
    full, other = pad(), pad()
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(bystanders(strict))
        for _ in range(CLIENTS_PER_ROOM):
            member = await stack.enter_async_context(RawClient(hp_url(strict)))
            await member.send(auth(full))
            await member.wait(full, SYNC)
        raw = await stack.enter_async_context(RawClient(hp_url(strict)))
        await raw.send(auth(full))
        await raw.send(auth(other))
        (refused,) = await raw.wait(full, AUTH)
        assert refused.string(skip=1) == f"1013: Pad {full} already has {CLIENTS_PER_ROOM} clients."
        await raw.wait(other, SYNC)
        assert raw.close_code is None and not raw.of(full, CLOSE)


async def test_a_socket_that_stops_reading_is_closed_1013_and_leaves(strict: ServerProcess) -> None:
    x = pad()
    async with bystanders(strict):
        baseline = strict.metric("crdtpad_connections_open")
        closed_before = strict.metric("crdtpad_closes_total", code="1013")
        sleeper = socket_that_never_reads(strict.port, "/hocuspocus", auth(x))
        writer = await YClient(strict.ws_url(x)).connect()
        try:
            await wait_for(
                lambda: strict.metric("crdtpad_connections_open") == baseline + 2,
                what="the sleeper to join",
            )
            await flood_until_the_sleeper_leaves(strict, writer, baseline, closed_before)
            assert writer.close_code is None
        finally:
            await writer.close()
            sleeper.close()
