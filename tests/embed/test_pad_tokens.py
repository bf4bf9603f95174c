"""Signed pad tokens for apps with their own users: minted by the app's backend, used by its
users' browsers on the socket and over HTTP; they expire and are revoked live; forged, altered,
expired, revoked or misdirected tokens are refused everywhere."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pycrdt
import pytest

from crdtpad.pad_tokens import PadClaims, derive_key, sign
from tests.hocuspocus.clients import HocuspocusNode, hp_url
from tests.sharing.test_live import clients
from tests.support import NodeClient, Person, ServerProcess, YClient, register, wait_for


@pytest.fixture(scope="module")
def embed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("embed") / "data", CRDTPAD_UNLOAD_GRACE_S="0.5") as server:
        yield server


@pytest.fixture
async def owner(embed: ServerProcess) -> AsyncIterator[Person]:
    """An account of the embedding app (its backend holds this API token)."""
    who = await register(embed, "app")
    try:
        yield who
    finally:
        await who.http.aclose()


async def private_pad(owner: Person) -> str:
    return str((await owner.call("POST", "/pads", 201, json={"title": "app", "visibility": "private"}))["id"])


async def mint(
    owner: Person, pad: str, role: str = "editor", user: str = "u-1", **more: object
) -> dict[str, object]:
    body = {"role": role, "user_id": user, "name": f"User {user}", **more}
    made: dict[str, object] = await owner.call("POST", f"/pads/{pad}/tokens", 201, json=body)
    return made


def say(y: YClient, author_id: str) -> None:
    message = {
        "id": author_id[-8:],
        "author_id": author_id,
        "author": "x",
        "color": "#000",
        "text": "hi",
        "at": 1,
    }
    y.doc.get("chat", type=pycrdt.Array).append(message)


async def test_an_app_mints_tokens_its_users_edit_and_view_with(embed: ServerProcess, owner: Person) -> None:
    pad = await private_pad(owner)
    editor = await mint(owner, pad, "editor", "alice")
    viewer = await mint(owner, pad, "viewer", "bob")
    token = str(editor["token"])
    assert token.startswith("cps_") and editor["user_id"] == "alice" and editor["name"] == "User alice"
    listed = await owner.call("GET", f"/pads/{pad}/tokens", 200)
    assert [t["user_id"] for t in listed] == ["alice", "bob"] and all("token" not in t for t in listed)

    # Over HTTP: the token is a bearer token for this pad, with its role.
    async with httpx.AsyncClient(base_url=embed.url, timeout=10) as c:
        as_editor = {"Authorization": f"Bearer {token}"}
        as_viewer = {"Authorization": f"Bearer {viewer['token']}"}
        assert (
            await c.put(f"/api/v1/pads/{pad}/text", json={"text": "from the app\n"}, headers=as_editor)
        ).status_code == 200
        r = await c.get(f"/api/v1/pads/{pad}", headers=as_viewer)
        assert r.status_code == 200 and r.json()["role"] == "viewer" and r.json()["read_only"] is True
        assert (
            await c.put(f"/api/v1/pads/{pad}/text", json={"text": "no"}, headers=as_viewer)
        ).status_code == 403
        assert (
            await c.get(f"/api/v1/pads/{pad}/tokens", headers=as_editor)
        ).status_code == 403  # not a manager
        other = await private_pad(owner)
        assert (await c.get(f"/api/v1/pads/{other}", headers=as_editor)).status_code == 404  # one pad only

    # On the socket: the editor edits and chats as ext:alice; the viewer reads only.
    a = YClient(f"{embed.ws_url(pad)}?token={token}")
    b = YClient(f"{embed.ws_url(pad)}?token={viewer['token']}")
    async with clients(a, b):
        await a.connect()
        await b.connect()
        assert str(b) == "from the app\n"
        a.type("alice was here. ")
        say(a, "ext:alice")
        await wait_for(lambda: str(b).startswith("from the app\nalice was here"), what="the editor's edit")
        await wait_for(lambda: len(b.doc.get("chat", type=pycrdt.Array)) == 1, what="alice's message")
        b.type("bob cannot ")
        await asyncio.sleep(0.3)
        assert "bob" not in (await owner.call("GET", f"/pads/{pad}/text", 200))["text"]
        say(a, "user:" + owner.name)  # alice may not post as an account of the instance
        assert await a.wait_closed() == 4400
    # Nobody but a manager mints.
    stranger = await register(embed, "x")
    async with stranger.http:
        r = await stranger.http.post(f"/api/v1/pads/{pad}/tokens", json={"role": "editor", "user_id": "z"})
    assert r.status_code == 404
    r = await owner.http.post(f"/api/v1/pads/{pad}/tokens", json={"role": "owner", "user_id": "z"})
    assert r.status_code == 422


async def test_expiry_and_revocation_close_live_sockets(embed: ServerProcess, owner: Person) -> None:
    pad = await private_pad(owner)
    one = await mint(owner, pad, "editor", "one")
    two = await mint(owner, pad, "viewer", "two")
    three = await mint(owner, pad, "editor", "three")
    short = await mint(owner, pad, "editor", "short", expires_in=3)  # connected right away
    ys = {
        name: YClient(f"{embed.ws_url(pad)}?token={t['token']}")
        for name, t in (("short", short), ("one", one), ("two", two), ("three", three))
    }
    bystander = YClient(owner.ws(pad))
    async with clients(bystander, *ys.values()):
        for y in ys.values():
            await y.connect()
        await bystander.connect()
        # Expiry: closed by the server's timer, with 4401.
        assert await ys["short"].wait_closed(timeout=10) == 4401
        # Revoking one by id closes it before the call answers.
        await owner.call("DELETE", f"/pads/{pad}/tokens/{one['id']}", 204)
        await wait_for(lambda: ys["one"].close_code == 4401, timeout=3.0, what="the revoked token's socket")
        assert ys["two"].close_code is None and ys["three"].close_code is None
        # A revoked token cannot come back.
        again = YClient(f"{embed.ws_url(pad)}?token={one['token']}")
        await again.connect(wait_synced=False)
        assert await again.wait_closed() == 4401 and "revoked" in again.close_reason
        await again.close()
        await owner.call("DELETE", f"/pads/{pad}/tokens/{one['id']}", 404)
        # Revoking all of them closes the rest; the owner's own socket stays.
        assert (await owner.call("DELETE", f"/pads/{pad}/tokens", 200)) == {"revoked": 2}
        await wait_for(
            lambda: ys["two"].close_code == ys["three"].close_code == 4401,
            timeout=3.0,
            what="the rest closed",
        )
        assert bystander.close_code is None
        assert await owner.call("GET", f"/pads/{pad}/tokens", 200) == []


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, object]:
    payload = token[4:].split(".")[0]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


async def test_hostile_tokens_are_refused_everywhere(embed: ServerProcess, owner: Person) -> None:
    pad = await private_pad(owner)
    other_pad = await private_pad(owner)
    viewer = str((await mint(owner, pad, "viewer", "v"))["token"])
    revoked = await mint(owner, pad, "editor", "r")
    await owner.call("DELETE", f"/pads/{pad}/tokens/{revoked['id']}", 204)
    for_other_pad = str((await mint(owner, other_pad, "editor", "o"))["token"])
    claims = _claims(viewer)
    payload, signature = viewer[4:].split(".")
    real_key = derive_key((Path(embed.data_dir) / "secret_key").read_bytes())
    exp = int(claims["exp"])  # type: ignore[call-overload]

    def signed(key: bytes, **change: object) -> str:
        c = {**claims, **change}
        return sign(
            key,
            PadClaims(int(c["id"]), str(c["pad"]), c["role"], str(c["sub"]), str(c["name"]), int(c["exp"])),
        )  # type: ignore[arg-type,call-overload]

    def raw(body: object, sig: str = signature) -> str:
        return f"cps_{_b64(json.dumps(body).encode())}.{sig}"

    hostile = {
        "no signature": f"cps_{payload}",
        "empty signature": f"cps_{payload}.",
        "zero signature": f"cps_{payload}.{_b64(bytes(32))}",
        "alg none": raw({**claims, "alg": "none"}, ""),
        "role raised, old signature": raw({**claims, "role": "editor"}),
        "pad changed, old signature": raw({**claims, "pad": other_pad}),
        "signed with another key": signed(b"k" * 32, role="editor"),
        "right key, no such row": signed(real_key, id=999_999, role="editor"),
        "right key, claims not the row's": signed(real_key, role="editor"),
        "right key, later expiry": signed(real_key, exp=exp + 3_600_000),
        "right key, other subject": signed(real_key, sub="admin"),
        "revoked": str(revoked["token"]),
        "another pad's token": for_other_pad,
        "not base64": "cps_%%%.%%%",
        "huge": "cps_" + "A" * 100_000 + "." + signature,
        "prefix only": "cps_",
        "unknown prefix": "cpx_" + viewer[4:],
    }
    async with httpx.AsyncClient(base_url=embed.url, timeout=10) as c:
        for what, token in hostile.items():
            r = await c.get(f"/api/v1/pads/{pad}/text", headers={"Authorization": f"Bearer {token}"})
            want = 404 if what == "another pad's token" else 401
            assert r.status_code == want, (what, r.status_code, r.text)
            if what == "huge":
                continue  # no socket: a URL that long is refused by the HTTP layer before us
            y = YClient(f"{embed.ws_url(pad)}?token={token}")
            await y.connect(wait_synced=False)
            code = await y.wait_closed()
            await y.close()
            assert code in (4401, 4404), (what, code, y.close_reason)
    # The genuine token still works after all that.
    async with httpx.AsyncClient(base_url=embed.url, timeout=10) as c:
        r = await c.get(f"/api/v1/pads/{pad}/text", headers={"Authorization": f"Bearer {viewer}"})
        assert r.status_code == 200


async def test_an_expired_token_is_refused_with_its_reason(embed: ServerProcess, owner: Person) -> None:
    pad = await private_pad(owner)
    token = str((await mint(owner, pad, "editor", "e", expires_in=1))["token"])
    deadline = time.monotonic() + 5
    async with httpx.AsyncClient(base_url=embed.url, timeout=10) as c:
        while time.monotonic() < deadline:
            r = await c.get(f"/api/v1/pads/{pad}", headers={"Authorization": f"Bearer {token}"})
            if r.status_code == 401:
                break
            await asyncio.sleep(0.2)
        assert r.status_code == 401 and "expired" in r.json()["detail"]


async def test_socket_origins_limit_which_pages_may_connect(tmp_path: Path) -> None:
    with ServerProcess(
        tmp_path / "data", CRDTPAD_OPEN_PADS="true", CRDTPAD_SOCKET_ORIGINS="http://app.example"
    ) as server:
        url = server.ws_url("origins-pad")
        for origin, code in (
            ("http://app.example", None),  # listed
            (server.url, None),  # the instance's own pages
            (None, None),  # not a browser: no Origin to judge by
            ("http://evil.example", 4403),
        ):
            y = YClient(url, headers={"Origin": origin} if origin else {})
            await y.connect(wait_synced=code is None)
            if code is not None:
                assert await y.wait_closed() == code and "may not connect" in y.close_reason
            else:
                assert y.close_code is None
            await y.close()


async def test_both_stock_providers_with_signed_tokens(
    embed: ServerProcess, owner: Person, node_available: None
) -> None:
    """Under Node: the y-websocket provider (?token=) and the Hocuspocus provider (in-band) edit
    one pad with signed tokens; a viewer token gets readonly; expiry and revocation end each."""
    pad = await private_pad(owner)
    js_token = await mint(owner, pad, "editor", "js")
    hp_token = await mint(owner, pad, "editor", "hp", expires_in=4)
    viewer = await mint(owner, pad, "viewer", "hpv")
    js = await NodeClient(f"ws://127.0.0.1:{embed.port}/sync", pad, {"token": str(js_token["token"])}).start()
    try:
        async with HocuspocusNode(hp_url(embed)) as hp, HocuspocusNode(hp_url(embed)) as ro:
            await js.wait_event("synced")
            await hp.open(pad, str(hp_token["token"]))
            assert (await hp.wait("authenticated", pad))["scope"] == "read-write"
            await ro.open(pad, str(viewer["token"]))
            assert (await ro.wait("authenticated", pad))["scope"] == "readonly"
            await hp.insert(pad, "from hocuspocus. ")
            await hp.wait_saved(pad)  # acknowledged: stored
            await js.call("insert", text="from y-websocket.")
            await hp.wait_text(pad, "from hocuspocus. from y-websocket.")
            await ro.wait_text(pad, "from hocuspocus. from y-websocket.")
            mark = len(ro.events)
            await ro.insert(pad, "viewer scribble ")
            assert (await ro.wait("sync-status", pad, after=mark))["ok"] is False  # refused
            # Expiry ends the Hocuspocus pad (4401); revocation closes the y-websocket socket (4401).
            assert (await hp.wait("denied", pad, timeout=10))["reason"].startswith("4401: ")
            await owner.call("DELETE", f"/pads/{pad}/tokens/{js_token['id']}", 204)
            assert (await js.wait_event("close"))["code"] == 4401
            assert await owner.text(pad) == "from hocuspocus. from y-websocket."
            assert not ro.seen("denied")  # the viewer's token is still good
    finally:
        await js.stop()
