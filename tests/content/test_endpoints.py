"""Export and import over HTTP: formats, permissions, limits, and imports that go live."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from crdtpad.access import Principal
from crdtpad.permissions import Role
from tests.accounts.conftest import PASSWORD, Api, running
from tests.support import ServerProcess, YClient, wait_for

MD = "# Plan\n\nSome **bold** and *italic* text with a [link](https://example.org).\n\n- one\n- two\n"


async def owner(api: Api) -> tuple[Principal, dict[str, str]]:
    user = await api.services.accounts.create_user("owner", PASSWORD)
    _, token = await api.services.accounts.create_api_token(user, "t")
    return Principal(user), {"Authorization": f"Bearer {token}"}


async def test_markdown_in_then_every_format_out(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        _, auth = await owner(api)
        r = await api.client.post(
            "/api/v1/pads/import",
            files={"file": ("plan.md", MD.encode(), "text/markdown")},
            data={"visibility": "private"},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        pad = r.json()
        assert pad["title"] == "plan.md" and pad["visibility"] == "private"
        txt = await api.client.get(f"/api/v1/pads/{pad['id']}/export/txt", headers=auth)
        assert txt.status_code == 200 and txt.headers["content-type"].startswith("text/plain")
        assert "Some bold and italic text with a link." in txt.text and "one\ntwo" in txt.text
        md = (await api.client.get(f"/api/v1/pads/{pad['id']}/export/md", headers=auth)).text
        assert "**bold**" in md and "[link](https://example.org)" in md and "- one" in md
        html = await api.client.get(f"/api/v1/pads/{pad['id']}/export/html", headers=auth)
        assert (
            "<strong>bold</strong>" in html.text
            and 'attachment; filename="plan_md.html"' in html.headers["content-disposition"]
        )
        yjs = (await api.client.get(f"/api/v1/pads/{pad['id']}/export/yjs", headers=auth)).content
        # The Yjs export imports into another pad with the same text and formatting.
        r = await api.client.post(
            "/api/v1/pads/import", files={"file": ("copy.yjs", yjs, "application/octet-stream")}, headers=auth
        )
        assert r.status_code == 201, r.text
        again = (await api.client.get(f"/api/v1/pads/{r.json()['id']}/export/md", headers=auth)).text
        assert again == md
        assert (await api.client.get(f"/api/v1/pads/{pad['id']}/export/pdf", headers=auth)).status_code == 422


async def test_a_bad_file_is_a_precise_400_and_leaves_no_pad(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        _, auth = await owner(api)
        before = (await api.client.get("/api/v1/pads", headers=auth)).json()
        for name, data in (
            ("x.yjs", b"\x00\x01garbage"),
            ("x.txt", b"\xff\xfe not utf-8"),
            ("x.bin", b"hello"),
        ):
            r = await api.client.post("/api/v1/pads/import", files={"file": (name, data)}, headers=auth)
            assert r.status_code == 400, (name, r.text)
            assert r.json()["detail"]
        assert (await api.client.get("/api/v1/pads", headers=auth)).json() == before


async def test_an_oversized_file_is_413(tmp_path: Path) -> None:
    async with running(tmp_path, max_import_bytes=2048) as api:
        _, auth = await owner(api)
        r = await api.client.post(
            "/api/v1/pads/import", files={"file": ("big.txt", b"x" * 5000)}, headers=auth
        )
        assert r.status_code == 413


async def test_import_into_an_empty_pad_needs_edit_and_an_empty_pad(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        who, auth = await owner(api)
        pad = await api.services.pads.create(who, "p", "private")
        viewer = await api.services.accounts.create_user("viewer", PASSWORD)
        await api.services.pads.set_member(who, "pad", pad.id, "viewer", Role.VIEWER)
        _, vtoken = await api.services.accounts.create_api_token(viewer, "t")
        vauth = {"Authorization": f"Bearer {vtoken}"}
        files = {"file": ("a.txt", b"hello class\n")}
        assert (
            await api.client.post(f"/api/v1/pads/{pad.id}/import", files=files, headers=vauth)
        ).status_code == 403
        assert (await api.client.get(f"/api/v1/pads/{pad.id}/export/txt", headers=vauth)).status_code == 200
        assert (await api.client.post(f"/api/v1/pads/{pad.id}/import", files=files)).status_code == 404
        assert (
            await api.client.post(f"/api/v1/pads/{pad.id}/import", files=files, headers=auth)
        ).status_code == 204
        assert (
            await api.client.post(f"/api/v1/pads/{pad.id}/import", files=files, headers=auth)
        ).status_code == 409
        assert await api.services.pads.read_text(who, pad.id) == "hello class\n"


@pytest.mark.usefixtures("server")
async def test_an_import_reaches_connected_clients(server: ServerProcess) -> None:
    import httpx

    pad = server.create_pad()
    y = YClient(server.ws_url(pad))
    await y.connect()
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        r = await c.post(f"/api/v1/pads/{pad}/import", files={"file": ("n.md", MD.encode())})
        assert r.status_code == 204, r.text
    await wait_for(lambda: "Some bold and italic" in str(y), what="the import relayed to a live client")
    assert any(attrs and attrs.get("bold") for _, attrs in y.text.diff())
    await y.close()


FIXTURE = Path(__file__).resolve().parents[1] / "transfer" / "fixtures" / "two_authors.etherpad"


async def test_an_etherpad_file_imports_over_http(tmp_path: Path) -> None:
    fixture = FIXTURE
    async with running(tmp_path) as api:
        _, auth = await owner(api)
        r = await api.client.post(
            "/api/v1/pads/import",
            files={"file": (fixture.name, await asyncio.to_thread(fixture.read_bytes))},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        chat = (await api.client.get(f"/api/v1/pads/{r.json()['id']}/chat", headers=auth)).json()
        assert len(chat) == 3
        bad = await api.client.post(
            "/api/v1/pads/import", files={"file": ("x.etherpad", b'{"pad:a": {}, "pad:b": {}}')}, headers=auth
        )
        assert bad.status_code == 400 and bad.json()["detail"]
