"""Every event, end to end: a real server posting to a real receiver, driven by real Yjs clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.events.conftest import account_token, new_pad_id, served
from tests.events.receiver import Receiver
from tests.support import ServerProcess, YClient, wait_for


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as rx:
        yield rx


@pytest.fixture(scope="module")
def server(receiver: Receiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with served(tmp_path_factory.mktemp("events"), [receiver.url], CRDTPAD_WEBHOOK_INCLUDE="text") as s:
        yield s


async def test_an_opened_pad_is_created_then_joined_and_left(
    server: ServerProcess, receiver: Receiver
) -> None:
    pad = new_pad_id()
    first = await YClient(server.ws_url(pad)).connect()
    created = await receiver.wait_event(pad, "pad.created")
    assert created["data"] == {"owner": None, "title": pad, "visibility": "public"}
    joined = await receiver.wait_event(pad, "user.joined")
    assert joined["data"]["user"] is None and joined["data"]["connections"] == 1
    assert joined["data"]["read_only"] is False and joined["data"]["grant"] is None
    second = await YClient(server.ws_url(pad)).connect()
    await receiver.wait_event(pad, "user.joined", where=lambda e: e["data"]["connections"] == 2)
    await first.close()
    left = await receiver.wait_event(pad, "user.left")
    assert left["data"]["connection"] == joined["data"]["connection"]
    assert left["data"]["connections"] == 1
    await second.close()
    await receiver.wait_event(pad, "user.left", where=lambda e: e["data"]["connections"] == 0)
    kinds = [e["type"] for e in receiver.events(pad)]
    assert kinds == ["pad.created", "user.joined", "user.joined", "user.left", "user.left"]


async def test_joined_names_the_account_behind_a_token(server: ServerProcess, receiver: Receiver) -> None:
    token = account_token(server, "ada-" + new_pad_id()[-6:])
    pad = new_pad_id()
    y = await YClient(server.ws_url(pad) + f"?token={token}").connect()
    joined = await receiver.wait_event(pad, "user.joined")
    assert joined["data"]["user"].startswith("ada-")
    await y.close()
    left = await receiver.wait_event(pad, "user.left")
    assert left["data"]["user"] == joined["data"]["user"]


async def test_joined_names_the_app_user_of_a_signed_pad_token(
    server: ServerProcess, receiver: Receiver
) -> None:
    owner = account_token(server, "app-" + new_pad_id()[-6:])
    auth = {"authorization": f"Bearer {owner}"}
    r = httpx.post(
        f"{server.url}/api/v1/pads", json={"title": "embedded", "visibility": "private"}, headers=auth
    )
    assert r.status_code == 201, r.text
    pad = r.json()["id"]
    r = httpx.post(
        f"{server.url}/api/v1/pads/{pad}/tokens",
        json={"role": "viewer", "user_id": "u-42", "name": "Grace"},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    y = await YClient(server.ws_url(pad) + f"?token={r.json()['token']}").connect()
    joined = await receiver.wait_event(pad, "user.joined")
    assert joined["data"]["app_user"] == {"id": "u-42", "name": "Grace"}
    assert joined["data"]["grant"] == "app" and joined["data"]["user"] is None
    assert joined["data"]["read_only"] is True
    await y.close()


async def test_every_delivery_is_signed_and_a_tampered_one_is_not(
    server: ServerProcess, receiver: Receiver
) -> None:
    pad = new_pad_id()
    y = await YClient(server.ws_url(pad)).connect()
    await y.close()
    await receiver.wait_event(pad, "user.left")
    assert receiver.received
    for r in receiver.received:
        event = r.event
        assert r.signed()
        assert r.headers["x-crdtpad-event-id"] == event["id"]
        assert r.headers["x-crdtpad-event"] == event["type"]
        assert abs(int(r.headers["x-crdtpad-timestamp"]) - time.time()) < 120
        assert not r.signed(body=r.body.replace(b'"pad_id":"', b'"pad_id":"x'))
        assert not r.signed(secret="another-secret-0123456789")
    ids = [e["id"] for e in receiver.events()]
    assert len(ids) == len(set(ids)) and all(i.startswith("evt_") for i in ids)


async def test_a_burst_of_typing_is_one_change_with_the_final_text(
    server: ServerProcess, receiver: Receiver
) -> None:
    pad = new_pad_id()
    y = await YClient(server.ws_url(pad)).connect()
    for ch in "forty keystrokes make one change event!!":
        y.type(ch)
        await asyncio.sleep(0.002)
    await wait_for(y.all_saved, what="the typing stored")
    final = str(y)
    changed = await receiver.wait_event(pad, "pad.changed", where=lambda e: e["data"]["text"] == final)
    assert changed["data"]["chars"] == len(final) and changed["data"]["seq"] >= 1
    assert 1 <= len(receiver.events(pad, "pad.changed")) <= 3  # 40 edits
    await y.close()


async def test_typing_without_a_pause_is_still_announced_regularly(
    server: ServerProcess, receiver: Receiver
) -> None:
    pad = new_pad_id()
    y = await YClient(server.ws_url(pad)).connect()
    stop = time.time() + 1.6  # debounce 0.2 s of quiet never comes; the 0.6 s cap does
    while time.time() < stop:
        y.type("a")
        await asyncio.sleep(0.02)
    await wait_for(y.all_saved, what="the typing stored")
    final = str(y)
    await receiver.wait_event(pad, "pad.changed", where=lambda e: e["data"]["text"] == final)
    during = [e for e in receiver.events(pad, "pad.changed") if e["created_at"] < stop * 1000]
    assert len(during) >= 2
    assert all(final.startswith(e["data"]["text"]) for e in during)
    await y.close()


async def test_an_edit_over_http_is_a_change(server: ServerProcess, receiver: Receiver) -> None:
    pad = new_pad_id()
    y = await YClient(server.ws_url(pad)).connect()  # opening it creates the public pad
    await y.close()
    r = httpx.put(f"{server.url}/api/v1/pads/{pad}/text", json={"text": "written over HTTP\n"}, timeout=10)
    assert r.status_code == 200, r.text
    await receiver.wait_event(pad, "pad.changed", where=lambda e: e["data"]["text"] == "written over HTTP\n")


async def test_deleting_a_pad_announces_it_after_its_clients_leave(
    server: ServerProcess, receiver: Receiver
) -> None:
    token = account_token(server, "del-" + new_pad_id()[-6:])
    auth = {"authorization": f"Bearer {token}"}
    r = httpx.post(f"{server.url}/api/v1/pads", json={"title": "doomed"}, headers=auth, timeout=10)
    assert r.status_code == 201, r.text
    pad = r.json()["id"]
    y = await YClient(server.ws_url(pad) + f"?token={token}").connect()
    await receiver.wait_event(pad, "user.joined")
    r = httpx.delete(f"{server.url}/api/v1/pads/{pad}", headers=auth, timeout=10)
    assert r.status_code == 204, r.text
    assert await y.wait_closed() == 4410
    deleted = await receiver.wait_event(pad, "pad.deleted")
    assert deleted["data"] == {}
    await receiver.wait_event(pad, "user.left")


async def test_creating_a_pad_over_http_announces_it(server: ServerProcess, receiver: Receiver) -> None:
    token = account_token(server, "mk-" + new_pad_id()[-6:])
    r = httpx.post(
        f"{server.url}/api/v1/pads",
        json={"title": "Class notes", "visibility": "private"},
        headers={"authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    pad = r.json()["id"]
    y = await YClient(server.ws_url(pad) + f"?token={token}").connect()
    await receiver.wait_event(pad, "user.joined")  # one endpoint is sent in order: created came first
    await y.close()
    created = receiver.events(pad, "pad.created")
    assert [e["data"]["title"] for e in created] == ["Class notes"]
    assert created[0]["data"]["visibility"] == "private" and created[0]["data"]["owner"].startswith("mk-")


@pytest.fixture(scope="module")
def diff_receiver() -> Iterator[Receiver]:
    with Receiver() as rx:
        yield rx


@pytest.fixture(scope="module")
def diff_server(diff_receiver: Receiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with served(tmp_path_factory.mktemp("diff"), [diff_receiver.url], CRDTPAD_WEBHOOK_INCLUDE="diff") as s:
        yield s


async def test_diffs_rebuild_the_text_from_the_previous_event(
    diff_server: ServerProcess, diff_receiver: Receiver
) -> None:
    pad = new_pad_id()
    y = await YClient(diff_server.ws_url(pad)).connect()
    texts: list[str] = []
    seen: set[str] = set()

    async def change(edit: Callable[[], None]) -> dict[str, Any]:
        edit()
        await wait_for(y.all_saved, what="the edit stored")
        texts.append(str(y))
        event = await diff_receiver.wait_event(
            pad, "pad.changed", where=lambda e: e["id"] not in seen and e["data"]["chars"] == len(texts[-1])
        )
        seen.add(event["id"])
        return event

    def rewrite_start() -> None:
        del y.text[0:6]
        y.type("Hi! ", 0)

    first = await change(lambda: y.type("hello world"))
    assert first["data"]["diff"] is None and first["data"]["text"] == "hello world"  # nothing to diff against
    second = await change(lambda: y.type("big ", 6))
    assert second["data"]["diff"] == {"base": first["id"], "start": 6, "delete": 0, "insert": "big "}
    assert "text" not in second["data"]
    third = await change(rewrite_start)
    diff = third["data"]["diff"]
    assert diff["base"] == second["id"]
    rebuilt = texts[1][: diff["start"]] + diff["insert"] + texts[1][diff["start"] + diff["delete"] :]
    assert rebuilt == texts[2] == "Hi! big world"
    await y.close()
