"""Keep-alive: the 4.x provider drops a socket that is silent for 30 s, so an idle one gets our Ping
(a bare ``[9]``; older providers, which send no version, would misread it and get none)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from tests.hocuspocus.clients import HocuspocusNode, RawClient, auth, hp_url
from tests.support import ServerProcess, wait_for

pytestmark = [pytest.mark.node, pytest.mark.usefixtures("hocuspocus_provider")]

PING_IDLE_S = 0.5
PING, PONG = 9, 10


@pytest.fixture(scope="module")
def pinging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(
        tmp_path_factory.mktemp("hp-ping") / "data",
        CRDTPAD_OPEN_PADS="true",
        CRDTPAD_HOCUSPOCUS_PING_IDLE_S=str(PING_IDLE_S),
    ) as server:
        yield server


def pad() -> str:
    return "k-" + uuid.uuid4().hex[:12]


def pongs(server: ServerProcess) -> float:
    return server.metric("crdtpad_messages_received_total", type="pong")


async def test_an_idle_provider_gets_pings_and_answers_them(pinging: ServerProcess) -> None:
    before = pongs(pinging)
    async with HocuspocusNode(hp_url(pinging)) as hp:
        await hp.open(pad())
        await wait_for(lambda: pongs(pinging) >= before + 2, timeout=10, what="the provider's pongs")
        assert not hp.seen("socket-close")


async def test_only_providers_that_sent_a_version_get_pings(pinging: ServerProcess) -> None:
    async with RawClient(hp_url(pinging)) as v4, RawClient(hp_url(pinging)) as v3:
        await v4.send(auth(pad(), version="4.8.0"))
        await v3.send(auth(pad(), version=None))
        await v4.wait(None, PING, timeout=PING_IDLE_S + 3)
        await v3.send(b"\x09")  # a Ping of the client's own is answered
        await v3.wait(None, PONG)
        await asyncio.sleep(2 * PING_IDLE_S)
        assert not v3.of(None, PING)
        assert v4.close_code is None and v3.close_code is None
