"""ProxyHeaders believes X-Forwarded-* from trusted peers only."""

from __future__ import annotations

from typing import Any

import pytest

from crdtpad.api.proxy import PREFIX_KEY, ProxyHeaders

HEADERS = [
    (b"x-forwarded-for", b"198.51.100.9, 10.0.0.2"),
    (b"x-forwarded-proto", b"https"),
    (b"x-forwarded-prefix", b"/pads"),
]


async def seen(trusted: list[str], peer: str, kind: str = "http", prefix: str = "") -> dict[str, Any]:
    got: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        got.update(client=scope["client"][0], scheme=scope["scheme"], prefix=scope[PREFIX_KEY])

    scope = {
        "type": kind,
        "client": (peer, 1234),
        "scheme": "ws" if kind == "websocket" else "http",
        "headers": HEADERS,
    }
    await ProxyHeaders(app, trusted, prefix)(scope, None, None)  # type: ignore[arg-type]
    return got


async def test_an_untrusted_peer_cannot_claim_another_address_scheme_or_prefix() -> None:
    assert await seen([], "10.0.0.5") == {"client": "10.0.0.5", "scheme": "http", "prefix": ""}
    assert await seen(["10.0.0.2"], "10.0.0.5", prefix="/fixed") == {
        "client": "10.0.0.5",
        "scheme": "http",
        "prefix": "/fixed",
    }


@pytest.mark.parametrize("trusted", [["10.0.0.0/8"], ["*"], ["10.0.0.5", "10.0.0.2"]])
async def test_a_trusted_chain_yields_the_client(trusted: list[str]) -> None:
    assert await seen(trusted, "10.0.0.5") == {"client": "198.51.100.9", "scheme": "https", "prefix": "/pads"}


async def test_websockets_get_wss() -> None:
    assert (await seen(["10.0.0.5"], "10.0.0.5", kind="websocket"))["scheme"] == "wss"


async def test_only_the_last_untrusted_hop_counts() -> None:
    # 10.0.0.2 is not trusted here: a client cannot hide behind a hop it wrote itself.
    assert (await seen(["10.0.0.5"], "10.0.0.5"))["client"] == "10.0.0.2"
