"""The authorization matrix over HTTP, in-process: every kind of caller against the pad, folder,
sharing and admin endpoints, on real SQLite files (the app's lifespan runs; httpx ASGITransport).

Callers authenticate with bearer tokens (API tokens, share-link and unlock tokens), so no CSRF
header is needed except in the one cookie test. The table tests build one world (accounts, a
folder, pads, share links), walk their table and collect every cell that answers otherwise into
one failure message, so a run names every wrong cell at once.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pycrdt
import pytest

from crdtpad.permissions import Action, Role, can, strongest
from crdtpad.store.pads import now_ms
from tests.accounts.conftest import PASSWORD, Api, running

V1 = "/api/v1"
ANON = "anonymous"
DEAD = "dead"  # an expired or revoked share link: 401 on every endpoint
PAD_PASSWORD = "open sesame 42"
ACCOUNTS = (
    "owner",  # creates the pads (was a folder editor when it did, then left the folder)
    "coowner",  # pad member, role owner
    "editor",  # pad member, role editor
    "viewer",  # pad member, role viewer
    "fowner",  # creates the folder
    "fadmin",  # folder member, role owner
    "feditor",  # folder member, role editor
    "fviewer",  # folder member, role viewer
    "other",  # no relation to anything of the others
    "spare",  # the account members are added and removed with
    "admin",  # the instance admin, no relation to the pads
)

Expected = Role | str | None  # a role, DEAD, or None (may not see it)


def expected(role: Expected, action: Action, ok: int) -> int:
    """The status a caller with ``role`` gets for ``action``."""
    if role == DEAD:
        return 401
    if role is None:
        return 404
    assert isinstance(role, Role)
    return ok if can(role, action) else 403


def allowed(role: Expected, action: Action) -> bool:
    return isinstance(role, Role) and can(role, action)


def has_account(actor: str) -> bool:
    return actor != ANON and "link" not in actor


class Cells:
    """Expected answers checked one by one; every mismatch is kept for one final assertion."""

    def __init__(self) -> None:
        self.count = 0
        self.failures: list[str] = []

    def status(self, label: str, r: httpx.Response, status: int) -> bool:
        self.count += 1
        if r.status_code != status:
            self.failures.append(f"{label}: expected {status}, got {r.status_code} {r.text[:200]}")
            return False
        return True

    def true(self, label: str, ok: bool, detail: object = "") -> None:
        self.count += 1
        if not ok:
            self.failures.append(f"{label}: {str(detail)[:300]}")

    def verify(self) -> None:
        assert not self.failures, f"{len(self.failures)} of {self.count} cells failed:\n" + "\n".join(
            self.failures
        )


@dataclass
class World:
    """Accounts with API tokens, the folder F (with members and links) and the tokens of each actor."""

    api: Api
    ids: dict[str, int]
    tokens: dict[str, str]
    folder: str = ""
    folder_victim: int = 0
    elsewhere: str = ""  # a private pad of "other"'s; "foreign_link" is a share link of it

    async def call(
        self,
        actor: str,
        method: str,
        path: str,
        body: Any = None,
        tokens: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """``actor`` calls ``/api/v1{path}`` with its bearer token (from ``tokens`` first)."""
        headers = {}
        if actor != ANON:
            token = (tokens or {}).get(actor) or self.tokens[actor]
            headers["Authorization"] = f"Bearer {token}"
        return await self.api.client.request(method, V1 + path, json=body, headers=headers)

    async def must(self, actor: str, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        """A setup call that has to succeed."""
        r = await self.call(actor, method, path, body)
        assert r.status_code == status, f"setup: {actor} {method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def sql(self, statement: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.api.services.settings.db_path, timeout=10)) as conn, conn:
            return conn.execute(statement, args).fetchall()

    async def links(self, actor: str, base: str, prefix: str) -> tuple[dict[str, str], int]:
        """Share links under ``base``: live editor and viewer, expired, revoked; and a spare link's id."""
        made: dict[str, Any] = {}
        for name, body in (
            ("editor", {"role": "editor"}),
            ("viewer", {"role": "viewer"}),
            ("expired", {"role": "editor", "expires_in": 60}),
            ("revoked", {"role": "editor"}),
            ("victim", {"role": "viewer"}),
        ):
            made[name] = await self.must(actor, "POST", f"{base}/links", body, 201)
        self.sql(
            "UPDATE share_links SET expires_at = ? WHERE id = ?", (now_ms() - 1000, made["expired"]["id"])
        )
        await self.must(actor, "DELETE", f"{base}/links/{made['revoked']['id']}", status=204)
        tokens = {f"{prefix}_{n}": made[n]["token"] for n in ("editor", "viewer", "expired", "revoked")}
        return tokens, int(made["victim"]["id"])


async def build_world(api: Api) -> World:
    accounts = api.services.accounts
    users = await asyncio.gather(
        *(accounts.create_user(name, PASSWORD, is_admin=name == "admin") for name in ACCOUNTS)
    )
    tokens = {u.username: (await accounts.create_api_token(u, "matrix"))[1] for u in users}
    w = World(api, {u.username: u.id for u in users}, tokens)
    w.folder = (await w.must("fowner", "POST", "/folders", {"name": "team"}, 201))["id"]
    for name, role in (("fadmin", "owner"), ("feditor", "editor"), ("fviewer", "viewer")):
        await w.must("fowner", "PUT", f"/folders/{w.folder}/members/{name}", {"role": role})
    folder_links, w.folder_victim = await w.links("fowner", f"/folders/{w.folder}", "flink")
    w.tokens.update(folder_links)
    w.elsewhere = (
        await w.must("other", "POST", "/pads", {"title": "elsewhere", "visibility": "private"}, 201)
    )["id"]
    link = await w.must("other", "POST", f"/pads/{w.elsewhere}/links", {"role": "editor"}, 201)
    w.tokens["foreign_link"] = link["token"]
    return w


@dataclass
class Pad:
    id: str
    tokens: dict[str, str] = field(default_factory=dict)  # this pad's share links
    victim: int = 0  # a share link of this pad nobody holds


async def make_pad(w: World, visibility: str = "private", password: str | None = None) -> Pad:
    """A pad in F by "owner" (a folder editor only while creating it), with members and links."""
    await w.must("fowner", "PUT", f"/folders/{w.folder}/members/owner", {"role": "editor"})
    body: dict[str, Any] = {"title": "plan", "visibility": visibility, "folder_id": w.folder}
    if password is not None:
        body["password"] = password
    pad = Pad((await w.must("owner", "POST", "/pads", body, 201))["id"])
    await w.must("fowner", "DELETE", f"/folders/{w.folder}/members/owner", status=204)
    for name, role in (("coowner", "owner"), ("editor", "editor"), ("viewer", "viewer")):
        await w.must("owner", "PUT", f"/pads/{pad.id}/members/{name}", {"role": role})
    pad.tokens, pad.victim = await w.links("owner", f"/pads/{pad.id}", "link")
    return pad


# Pads


PAD_ROLES: dict[str, Expected] = {
    ANON: None,
    "other": None,
    "admin": None,
    "foreign_link": None,  # a share link of another pad
    "viewer": Role.VIEWER,
    "editor": Role.EDITOR,
    "owner": Role.OWNER,
    "coowner": Role.OWNER,
    "fowner": Role.OWNER,
    "fadmin": Role.OWNER,
    "feditor": Role.EDITOR,
    "fviewer": Role.VIEWER,
    "link_editor": Role.EDITOR,
    "link_viewer": Role.VIEWER,
    "flink_editor": Role.EDITOR,
    "flink_viewer": Role.VIEWER,
    "link_expired": DEAD,
    "link_revoked": DEAD,
    "flink_expired": DEAD,
    "flink_revoked": DEAD,
}


async def pad_row(w: World, cells: Cells, actor: str, role: Expected, pad: Pad) -> None:
    """One actor against every pad endpoint of a fresh pad, ending with DELETE."""
    p = f"/pads/{pad.id}"
    label = f"{actor} ({role or 'none'})"

    async def call(method: str, path: str, body: Any = None) -> httpx.Response:
        return await w.call(actor, method, p + path, body, pad.tokens)

    async def as_owner(method: str, path: str = "") -> Any:
        r = await w.call("owner", method, p + path)
        assert r.status_code == 200, r.text
        return r.json()

    r = await call("GET", "")
    if (
        cells.status(f"{label} GET /pads/{{id}}", r, expected(role, Action.VIEW, 200))
        and r.status_code == 200
    ):
        got = r.json()
        cells.true(
            f"{label} GET /pads/{{id}} role",
            got["role"] == role and got["read_only"] is not allowed(role, Action.EDIT),
            got,
        )
    r = await call("GET", "/text")
    cells.status(f"{label} GET /pads/{{id}}/text", r, expected(role, Action.VIEW, 200))

    text = f"written by {actor}"
    r = await call("PUT", "/text", {"text": text})
    cells.status(f"{label} PUT /pads/{{id}}/text", r, expected(role, Action.EDIT, 200))
    stored = (await as_owner("GET", "/text"))["text"]
    cells.true(f"{label} PUT text stored iff allowed", (stored == text) is allowed(role, Action.EDIT), stored)

    title = f"renamed by {actor}"
    r = await call("PATCH", "", {"title": title})
    cells.status(f"{label} PATCH /pads/{{id}}", r, expected(role, Action.MANAGE, 200))
    stored = (await as_owner("GET"))["title"]
    cells.true(
        f"{label} PATCH title stored iff allowed", (stored == title) is allowed(role, Action.MANAGE), stored
    )

    await chat_cells(w, cells, label, role, pad, call)

    r = await call("GET", "/members")
    if (
        cells.status(f"{label} GET /pads/{{id}}/members", r, expected(role, Action.MANAGE, 200))
        and r.is_success
    ):
        members = {m["username"]: m["role"] for m in r.json()}
        cells.true(
            f"{label} members listed",
            members == {"coowner": "owner", "editor": "editor", "viewer": "viewer"},
            members,
        )

    async def spare_is_member() -> bool:
        r = await w.call("owner", "GET", f"{p}/members")
        return any(m["username"] == "spare" for m in r.json())

    r = await call("PUT", "/members/spare", {"role": "viewer"})
    cells.status(f"{label} PUT /pads/{{id}}/members/spare", r, expected(role, Action.MANAGE, 200))
    cells.true(f"{label} member added iff allowed", await spare_is_member() is allowed(role, Action.MANAGE))
    if not await spare_is_member():  # so a refused DELETE below has a member to refuse to remove
        await w.must("owner", "PUT", f"{p}/members/spare", {"role": "viewer"})
    r = await call("DELETE", "/members/spare")
    cells.status(f"{label} DELETE /pads/{{id}}/members/spare", r, expected(role, Action.MANAGE, 204))
    cells.true(
        f"{label} member removed iff allowed", await spare_is_member() is not allowed(role, Action.MANAGE)
    )

    r = await call("GET", "/links")
    if (
        cells.status(f"{label} GET /pads/{{id}}/links", r, expected(role, Action.MANAGE, 200))
        and r.is_success
    ):
        listed = r.json()
        cells.true(
            f"{label} links listed without tokens", all("token" not in link for link in listed), listed
        )
        cells.true(f"{label} links listed", pad.victim in {link["id"] for link in listed}, listed)

    r = await call("POST", "/links", {"role": "viewer"})
    if (
        cells.status(f"{label} POST /pads/{{id}}/links", r, expected(role, Action.MANAGE, 201))
        and r.is_success
    ):
        made = r.json()
        cells.true(
            f"{label} new link token", made["token"].startswith("cpl_") and made["token"] in made["url"]
        )
        r = await w.call("new", "GET", p, tokens={"new": made["token"]})
        public = r.is_success and r.json()["visibility"] == "public"  # a public pad: editor anyway
        want = "editor" if public else "viewer"
        cells.true(f"{label} new link grants viewer", r.is_success and r.json()["role"] == want, r.text)

    r = await call("POST", "/tokens", {"role": "editor", "user_id": "app-user"})
    if (
        cells.status(f"{label} POST /pads/{{id}}/tokens", r, expected(role, Action.MANAGE, 201))
        and r.is_success
    ):
        made = r.json()
        r = await w.call("app", "GET", p, tokens={"app": made["token"]})
        cells.true(f"{label} signed token opens the pad", r.is_success, r.text)
    r = await call("GET", "/tokens")
    cells.status(f"{label} GET /pads/{{id}}/tokens", r, expected(role, Action.MANAGE, 200))
    r = await call("DELETE", "/tokens")
    cells.status(f"{label} DELETE /pads/{{id}}/tokens", r, expected(role, Action.MANAGE, 200))

    r = await call("DELETE", f"/links/{pad.victim}")
    cells.status(f"{label} DELETE /pads/{{id}}/links/{{link}}", r, expected(role, Action.MANAGE, 204))
    links = {link["id"] for link in await as_owner("GET", "/links")}
    cells.true(f"{label} link revoked iff allowed", (pad.victim not in links) is allowed(role, Action.MANAGE))

    r = await call("DELETE", "")
    cells.status(f"{label} DELETE /pads/{{id}}", r, expected(role, Action.DELETE, 204))
    after = 410 if allowed(role, Action.DELETE) else 200
    cells.status(f"{label} owner GET after DELETE", await w.call("owner", "GET", p), after)
    if after == 410:
        cells.status(f"{label} anonymous GET after DELETE", await w.call(ANON, "GET", p), 410)
        cells.status(f"{label} GET text after DELETE", await w.call("owner", "GET", p + "/text"), 410)


async def add_chat_message(w: World, pad_id: str, message_id: str) -> None:
    """A chat message in the pad, written through its room as a server edit."""
    rooms = w.api.services.rooms
    room = await rooms.open(pad_id)
    try:
        doc: pycrdt.Doc[Any] = pycrdt.Doc()
        doc.apply_update(room.doc.get_update())
        before = doc.get_state()
        message = {
            "id": message_id,
            "author_id": "anon:1",
            "author": "kid",
            "color": "#000",
            "text": "hi",
            "at": 1,
        }
        doc.get("chat", type=pycrdt.Array).append(message)
        await room.ingest(None, doc.get_update(before), incremental=True)
        await room.wait_committed(room.applied_seq)
    finally:
        rooms.release(room)


async def chat_cells(w: World, cells: Cells, label: str, role: Expected, pad: Pad, call: Any) -> None:
    """Reading the chat (viewers and up), deleting a message, clearing it, turning it off (owners)."""
    p = f"/pads/{pad.id}"

    async def owner_sees() -> list[str]:
        return [m["id"] for m in (await w.call("owner", "GET", p + "/chat")).json()]

    await add_chat_message(w, pad.id, "m1")
    await add_chat_message(w, pad.id, "m2")
    r = await call("GET", "/chat")
    if cells.status(f"{label} GET /pads/{{id}}/chat", r, expected(role, Action.VIEW, 200)) and r.is_success:
        cells.true(f"{label} chat read", [m["id"] for m in r.json()] == ["m1", "m2"], r.json())
    r = await call("DELETE", "/chat/m1")
    cells.status(f"{label} DELETE /pads/{{id}}/chat/{{message}}", r, expected(role, Action.MANAGE, 200))
    left = await owner_sees()
    cells.true(
        f"{label} message deleted iff allowed", ("m1" not in left) is allowed(role, Action.MANAGE), left
    )
    r = await call("DELETE", "/chat")
    cells.status(f"{label} DELETE /pads/{{id}}/chat", r, expected(role, Action.MANAGE, 200))
    left = await owner_sees()
    cells.true(f"{label} chat cleared iff allowed", (left == []) is allowed(role, Action.MANAGE), left)
    r = await call("PATCH", "", {"chat": False})
    cells.status(f"{label} PATCH /pads/{{id}} chat off", r, expected(role, Action.MANAGE, 200))
    on = (await w.call("owner", "GET", p)).json()["chat"]
    cells.true(f"{label} chat off iff allowed", (not on) is allowed(role, Action.MANAGE), on)
    await w.must("owner", "PATCH", p, {"chat": True})


@pytest.mark.parametrize("visibility", ["private", "public"])
async def test_pad_endpoints_by_actor(tmp_path: Path, visibility: str) -> None:
    """Each actor on a fresh pad in F: view, text, rename, members, links, delete.

    A public pad makes everyone at least an editor; dead links stay 401 even there.
    """
    cells = Cells()
    async with running(tmp_path) as api:
        w = await build_world(api)
        for actor, base in PAD_ROLES.items():
            role = base
            if visibility == "public" and base != DEAD:
                assert base is None or isinstance(base, Role)
                role = strongest(Role.EDITOR, base)
            await pad_row(w, cells, actor, role, await make_pad(w, visibility))
    cells.verify()


async def test_create_pad_by_actor(tmp_path: Path) -> None:
    """POST /pads: anonymous callers (and link holders, who have no account) only public pads
    outside folders; a folder needs the right to edit it; a password pad needs a password."""
    cells = Cells()
    async with running(tmp_path) as api:
        w = await build_world(api)
        f = w.folder
        cases: list[tuple[str, dict[str, Any], int]] = [
            (ANON, {"title": "hello"}, 201),
            (ANON, {"visibility": "public"}, 201),
            (ANON, {"visibility": "private"}, 401),
            (ANON, {"visibility": "password", "password": PAD_PASSWORD}, 401),
            (ANON, {"visibility": "public", "folder_id": f}, 401),
            ("flink_editor", {"visibility": "public"}, 201),
            ("flink_editor", {"visibility": "public", "folder_id": f}, 401),
            ("flink_editor", {"visibility": "private"}, 401),
            ("flink_expired", {}, 401),
            ("flink_revoked", {}, 401),
            ("other", {"visibility": "private"}, 201),
            ("other", {"visibility": "password", "password": PAD_PASSWORD}, 201),
            ("other", {"visibility": "password"}, 400),
            ("other", {"visibility": "password", "password": "abc"}, 400),
            ("other", {"visibility": "public", "password": PAD_PASSWORD}, 400),
            ("other", {"visibility": "private", "folder_id": f}, 404),
            ("admin", {"visibility": "private", "folder_id": f}, 404),
            ("other", {"visibility": "private", "folder_id": "no-such-folder"}, 404),
            ("fviewer", {"visibility": "private", "folder_id": f}, 403),
            ("feditor", {"visibility": "private", "folder_id": f}, 201),
            ("fadmin", {"visibility": "password", "password": PAD_PASSWORD, "folder_id": f}, 201),
            ("fowner", {"visibility": "public", "folder_id": f}, 201),
            ("other", {"visibility": "secret"}, 422),
            ("other", {"owner_id": 1}, 422),
        ]
        for actor, body, status in cases:
            label = f"{actor} POST /pads {body}"
            r = await w.call(actor, "POST", "/pads", body)
            cells.true(f"{label} leaks no password", PAD_PASSWORD not in r.text, r.text)
            if not cells.status(label, r, status) or status != 201:
                continue
            got = r.json()
            if has_account(actor):
                cells.true(f"{label} owner", got["owner_id"] == w.ids[actor] and got["role"] == "owner", got)
            else:
                cells.true(f"{label} no owner", got["owner_id"] is None and got["role"] == "editor", got)
            cells.true(f"{label} folder", got["folder_id"] == body.get("folder_id"), got)
            cells.true(f"{label} visibility", got["visibility"] == body.get("visibility", "public"), got)
            # The creator can read it back; a stranger cannot (unless it is public).
            r = await w.call(actor, "GET", f"/pads/{got['id']}")
            cells.status(f"{label} creator reads it", r, 200)
            stranger = {"public": 200, "private": 404, "password": 401}[got["visibility"]]
            cells.status(f"{label} stranger", await w.call("spare", "GET", f"/pads/{got['id']}"), stranger)
    async with running(tmp_path / "closed", anonymous_pads=False) as api:
        user = await api.services.accounts.create_user("bob", PASSWORD)
        token = (await api.services.accounts.create_api_token(user, "t"))[1]
        r = await api.client.post(f"{V1}/pads", json={"visibility": "public"})
        cells.status("anonymous_pads=False: anonymous POST /pads", r, 401)
        r = await api.client.post(
            f"{V1}/pads", json={"visibility": "public"}, headers={"Authorization": f"Bearer {token}"}
        )
        cells.status("anonymous_pads=False: user POST /pads", r, 201)
    cells.verify()


# Lists and account-only endpoints


async def test_lists_and_account_endpoints_by_actor(tmp_path: Path) -> None:
    """GET /pads lists the pads an account owns or reaches through membership or a folder (not
    public ones, not others'); GET /folders the folders it owns or belongs to. Callers without
    an account get 401 on every account endpoint."""
    cells = Cells()
    async with running(tmp_path) as api:
        w = await build_world(api)
        pad = await make_pad(w)
        all_tokens = {**w.tokens, **pad.tokens}
        p, f, e = pad.id, w.folder, w.elsewhere
        pads: dict[str, dict[str, str]] = {
            "owner": {p: "owner"},
            "coowner": {p: "owner"},
            "editor": {p: "editor"},
            "viewer": {p: "viewer"},
            "fowner": {p: "owner"},
            "fadmin": {p: "owner"},
            "feditor": {p: "editor"},
            "fviewer": {p: "viewer"},
            "other": {e: "owner"},
            "spare": {},
            "admin": {},
        }
        folders: dict[str, dict[str, str]] = {
            "fowner": {f: "owner"},
            "fadmin": {f: "owner"},
            "feditor": {f: "editor"},
            "fviewer": {f: "viewer"},
        }
        actors = [ANON, *ACCOUNTS, *(t for t in all_tokens if "link" in t)]
        for actor in actors:
            for path, want in (("/pads", pads.get(actor, {})), ("/folders", folders.get(actor, {}))):
                r = await w.call(actor, "GET", path, tokens=all_tokens)
                if (
                    cells.status(f"{actor} GET {path}", r, 200 if has_account(actor) else 401)
                    and r.is_success
                ):
                    got = {item["id"]: item["role"] for item in r.json()}
                    cells.true(f"{actor} GET {path} lists", got == want, f"{got} != {want}")
            for method, path, body, ok in (
                ("GET", "/me", None, 200),
                ("GET", "/tokens", None, 200),
                ("POST", "/tokens", {"name": "more"}, 201),
                ("POST", "/folders", {"name": "mine"}, 201),
                ("DELETE", "/tokens/999999", None, 404),
            ):
                r = await w.call(actor, method, path, body, all_tokens)
                cells.status(f"{actor} {method} {path}", r, ok if has_account(actor) else 401)
    cells.verify()


# Folders


FOLDER_ROLES: dict[str, Expected] = {
    ANON: None,
    "other": None,
    "admin": None,
    "viewer": None,  # a member of a pad in the folder, not of the folder
    "pad_link": None,  # a share link of a pad in the folder
    "fowner": Role.OWNER,
    "fadmin": Role.OWNER,
    "feditor": Role.EDITOR,
    "fviewer": Role.VIEWER,
    "flink_editor": Role.EDITOR,
    "flink_viewer": Role.VIEWER,
    "flink_expired": DEAD,
    "flink_revoked": DEAD,
}


async def folder_row(w: World, cells: Cells, actor: str, role: Expected) -> None:
    """One actor against every endpoint of a fresh folder (with one pad in it), ending with DELETE."""
    f = (await w.must("fowner", "POST", "/folders", {"name": "fresh"}, 201))["id"]
    base = f"/folders/{f}"
    for name, member_role in (("fadmin", "owner"), ("feditor", "editor"), ("fviewer", "viewer")):
        await w.must("fowner", "PUT", f"{base}/members/{name}", {"role": member_role})
    inside = (await w.must("fowner", "POST", "/pads", {"visibility": "private", "folder_id": f}, 201))["id"]
    await w.must("fowner", "PUT", f"/pads/{inside}/members/viewer", {"role": "viewer"})
    tokens, victim = await w.links("fowner", base, "flink")
    tokens["pad_link"] = (await w.must("fowner", "POST", f"/pads/{inside}/links", {"role": "editor"}, 201))[
        "token"
    ]
    label = f"{actor} ({role or 'none'})"

    async def call(method: str, path: str = "", body: Any = None) -> httpx.Response:
        return await w.call(actor, method, base + path, body, tokens)

    async def as_fowner(path: str = "") -> Any:
        return await w.must("fowner", "GET", base + path)

    r = await call("GET")
    if cells.status(f"{label} GET /folders/{{id}}", r, expected(role, Action.VIEW, 200)) and r.is_success:
        got = r.json()
        cells.true(f"{label} GET /folders/{{id}} role", got["role"] == role, got)
        cells.true(f"{label} GET /folders/{{id}} pads", [x["id"] for x in got["pads"]] == [inside], got)

    name = f"named by {actor}"
    r = await call("PATCH", "", {"name": name})
    cells.status(f"{label} PATCH /folders/{{id}} name", r, expected(role, Action.MANAGE, 200))
    stored = (await as_fowner())["name"]
    cells.true(f"{label} name stored iff allowed", (stored == name) is allowed(role, Action.MANAGE), stored)

    r = await call("GET", "/members")
    if (
        cells.status(f"{label} GET /folders/{{id}}/members", r, expected(role, Action.MANAGE, 200))
        and r.is_success
    ):
        members = {m["username"]: m["role"] for m in r.json()}
        want = {"fadmin": "owner", "feditor": "editor", "fviewer": "viewer"}
        cells.true(f"{label} folder members listed", members == want, members)

    async def spare_is_member() -> bool:
        return any(m["username"] == "spare" for m in await as_fowner("/members"))

    r = await call("PUT", "/members/spare", {"role": "viewer"})
    cells.status(f"{label} PUT /folders/{{id}}/members/spare", r, expected(role, Action.MANAGE, 200))
    cells.true(
        f"{label} folder member added iff allowed", await spare_is_member() is allowed(role, Action.MANAGE)
    )
    if not await spare_is_member():
        await w.must("fowner", "PUT", f"{base}/members/spare", {"role": "viewer"})
    r = await call("DELETE", "/members/spare")
    cells.status(f"{label} DELETE /folders/{{id}}/members/spare", r, expected(role, Action.MANAGE, 204))
    cells.true(
        f"{label} folder member removed iff allowed",
        await spare_is_member() is not allowed(role, Action.MANAGE),
    )

    r = await call("GET", "/links")
    if (
        cells.status(f"{label} GET /folders/{{id}}/links", r, expected(role, Action.MANAGE, 200))
        and r.is_success
    ):
        listed = r.json()
        cells.true(f"{label} folder links without tokens", all("token" not in x for x in listed), listed)
    r = await call("POST", "/links", {"role": "editor"})
    if (
        cells.status(f"{label} POST /folders/{{id}}/links", r, expected(role, Action.MANAGE, 201))
        and r.is_success
    ):
        r = await w.call("new", "GET", f"/pads/{inside}", tokens={"new": r.json()["token"]})
        cells.true(
            f"{label} new folder link reaches its pads", r.is_success and r.json()["role"] == "editor", r.text
        )
    r = await call("DELETE", f"/links/{victim}")
    cells.status(f"{label} DELETE /folders/{{id}}/links/{{link}}", r, expected(role, Action.MANAGE, 204))
    links = {x["id"] for x in await as_fowner("/links")}
    cells.true(
        f"{label} folder link revoked iff allowed", (victim not in links) is allowed(role, Action.MANAGE)
    )

    for archived in (True, False):
        r = await call("PATCH", "", {"archived": archived})
        cells.status(f"{label} PATCH archived={archived}", r, expected(role, Action.MANAGE, 200))
        if r.is_success:
            cells.true(f"{label} archived={archived} stored", (await as_fowner())["archived"] is archived)
        elif (await as_fowner())["archived"]:
            cells.true(f"{label} refused archive stored anyway", False)
            await w.must("fowner", "PATCH", base, {"archived": False})

    r = await w.call(actor, "POST", "/pads", {"visibility": "private", "folder_id": f}, tokens)
    want_status = expected(role, Action.EDIT, 201) if has_account(actor) else 401
    cells.status(f"{label} POST /pads into the folder", r, want_status)

    r = await call("DELETE")
    cells.status(f"{label} DELETE /folders/{{id}}", r, expected(role, Action.DELETE, 204))
    gone = allowed(role, Action.DELETE)
    cells.status(
        f"{label} fowner GET folder after DELETE", await w.call("fowner", "GET", base), 404 if gone else 200
    )
    r = await w.call("fowner", "GET", f"/pads/{inside}")
    cells.status(f"{label} its pad after DELETE", r, 410 if gone else 200)


async def test_folder_endpoints_by_actor(tmp_path: Path) -> None:
    """Each actor on a fresh folder: read with its pads, rename, members, links, archive, add a pad,
    delete. A folder the caller may not see is a 404; membership of a pad in it does not count."""
    cells = Cells()
    async with running(tmp_path) as api:
        w = await build_world(api)
        for actor, role in FOLDER_ROLES.items():
            await folder_row(w, cells, actor, role)
    cells.verify()


async def test_archived_folder_is_read_only(tmp_path: Path) -> None:
    """Archiving F makes its pads read-only for everyone, owners and public pads included; nothing
    is added to it; its owners still read, unarchive and delete."""
    cells = Cells()
    async with running(tmp_path) as api:
        w = await build_world(api)
        pad = await make_pad(w)
        public = await make_pad(w, "public")
        tokens = {**w.tokens, **pad.tokens}
        f = f"/folders/{w.folder}"
        r = await w.call("feditor", "PATCH", f, {"archived": True})
        cells.status("feditor archives", r, 403)
        r = await w.call("fadmin", "PATCH", f, {"archived": True})
        if cells.status("fadmin archives", r, 200):
            cells.true("archived in the answer", r.json()["archived"] is True, r.json())
        writers = ["owner", "coowner", "editor", "fowner", "fadmin", "feditor", "link_editor", "flink_editor"]
        for actor in writers:
            r = await w.call(actor, "PUT", f"/pads/{pad.id}/text", {"text": actor}, tokens)
            cells.status(f"{actor} PUT text in an archived folder", r, 403)
            r = await w.call(actor, "GET", f"/pads/{pad.id}/text", tokens=tokens)
            cells.status(f"{actor} GET text in an archived folder", r, 200)
            r = await w.call(actor, "GET", f"/pads/{pad.id}", tokens=tokens)
            if cells.status(f"{actor} GET pad in an archived folder", r, 200):
                cells.true(f"{actor} sees read_only", r.json()["read_only"] is True, r.json())
        for actor in (ANON, "other", "owner"):
            r = await w.call(actor, "PUT", f"/pads/{public.id}/text", {"text": "x"})
            cells.status(f"{actor} PUT text on a public pad in an archived folder", r, 403)
        body = {"visibility": "private", "folder_id": w.folder}
        for actor in ("fowner", "fadmin", "feditor"):
            cells.status(
                f"{actor} POST /pads into an archived folder", await w.call(actor, "POST", "/pads", body), 403
            )
        outside = (await w.must("fowner", "POST", "/pads", {"visibility": "private"}, 201))["id"]
        r = await w.call("fowner", "PATCH", f"/pads/{outside}", {"folder_id": w.folder})
        cells.status("fowner moves a pad into an archived folder", r, 403)
        # Owners still manage: rename a pad, unarchive.
        r = await w.call("owner", "PATCH", f"/pads/{pad.id}", {"title": "still mine"})
        cells.status("pad owner renames a pad in an archived folder", r, 200)
        r = await w.call("fowner", "PATCH", f, {"archived": False})
        cells.status("fowner unarchives", r, 200)
        for actor in ("owner", "feditor", "link_editor"):
            r = await w.call(actor, "PUT", f"/pads/{pad.id}/text", {"text": actor}, tokens)
            cells.status(f"{actor} PUT text after unarchive", r, 200)
        cells.status(
            "anonymous PUT public text after unarchive",
            await w.call(ANON, "PUT", f"/pads/{public.id}/text", {"text": "y"}),
            200,
        )
        # Archived again: the pad owner deletes its pad, the folder owner the folder.
        cells.status("fowner archives again", await w.call("fowner", "PATCH", f, {"archived": True}), 200)
        cells.status(
            "pad owner deletes its pad in an archived folder",
            await w.call("owner", "DELETE", f"/pads/{pad.id}"),
            204,
        )
        cells.status("fowner deletes the archived folder", await w.call("fowner", "DELETE", f), 204)
        cells.status("its public pad is gone", await w.call(ANON, "GET", f"/pads/{public.id}"), 410)
        cells.status("the folder is gone", await w.call("fowner", "GET", f), 404)
    cells.verify()


# Members and links


async def test_member_and_link_management_errors(tmp_path: Path) -> None:
    """Unknown accounts and non-members are 404, the owner's own role does not change (409), a
    link never grants owner (422), and a link id of another pad or folder is not found here."""
    cells = Cells()
    async with running(tmp_path) as api:
        w = await build_world(api)
        pad = await make_pad(w)
        p, f = f"/pads/{pad.id}", f"/folders/{w.folder}"
        other_link = (await w.must("other", "GET", f"/pads/{w.elsewhere}/links"))[0]["id"]
        cases: list[tuple[str, str, str, Any, int]] = [
            ("owner", "PUT", f"{p}/members/ghost", {"role": "viewer"}, 404),
            ("owner", "PUT", f"{p}/members/owner", {"role": "viewer"}, 409),
            ("coowner", "PUT", f"{p}/members/owner", {"role": "viewer"}, 409),
            ("fadmin", "PUT", f"{p}/members/owner", {"role": "editor"}, 409),
            ("owner", "PUT", f"{p}/members/spare", {"role": "admin"}, 422),
            ("owner", "PUT", f"{p}/members/spare", {"role": "viewer", "extra": 1}, 422),
            ("owner", "DELETE", f"{p}/members/spare", None, 404),
            ("owner", "DELETE", f"{p}/members/ghost", None, 404),
            ("owner", "DELETE", f"{p}/members/owner", None, 404),
            ("owner", "POST", f"{p}/links", {"role": "owner"}, 422),
            ("owner", "POST", f"{p}/links", {"role": "editor", "expires_in": 59}, 422),
            ("owner", "POST", f"{p}/links", {}, 422),
            ("owner", "DELETE", f"{p}/links/{other_link}", None, 404),
            ("owner", "DELETE", f"{p}/links/{w.folder_victim}", None, 404),
            ("owner", "DELETE", f"{p}/links/999999", None, 404),
            ("fowner", "PUT", f"{f}/members/fowner", {"role": "viewer"}, 409),
            ("fadmin", "PUT", f"{f}/members/fowner", {"role": "viewer"}, 409),
            ("fowner", "PUT", f"{f}/members/ghost", {"role": "viewer"}, 404),
            ("fowner", "DELETE", f"{f}/members/spare", None, 404),
            ("fowner", "DELETE", f"{f}/members/fowner", None, 404),
            ("fowner", "POST", f"{f}/links", {"role": "owner"}, 422),
            ("fowner", "DELETE", f"{f}/links/{pad.victim}", None, 404),
            ("fowner", "DELETE", f"{f}/links/{other_link}", None, 404),
        ]
        for actor, method, path, body, status in cases:
            cells.status(f"{actor} {method} {path} {body}", await w.call(actor, method, path, body), status)
        # The links those refusals named are still alive.
        links = {x["id"] for x in await w.must("owner", "GET", f"{p}/links")}
        cells.true("the pad's spare link survived", pad.victim in links, links)
        r = await w.call("foreign_link", "GET", f"/pads/{w.elsewhere}")
        cells.status("another pad's link survived a revoke through this pad", r, 200)
        # A link with a lifetime says when it ends.
        r = await w.call("owner", "POST", f"{p}/links", {"role": "editor", "expires_in": 3600})
        if cells.status("a link with expires_in 3600", r, 201):
            ends = r.json()["expires_at"] - now_ms()
            cells.true("it expires in an hour", 3_590_000 < ends <= 3_600_000, ends)
        # Role changes take effect at once; a co-owner manages members too.
        await w.must("owner", "PUT", f"{p}/members/editor", {"role": "viewer"})
        r = await w.call("editor", "PUT", f"{p}/text", {"text": "no longer"})
        cells.status("an editor demoted to viewer writes", r, 403)
        await w.must("coowner", "DELETE", f"{p}/members/viewer", status=204)
        cells.status("a removed viewer reads", await w.call("viewer", "GET", p), 404)
        await w.must("coowner", "PUT", f"{p}/members/spare", {"role": "owner"})
        cells.status(
            "a member made owner by a co-owner renames",
            await w.call("spare", "PATCH", p, {"title": "t"}),
            200,
        )
        # The strongest role wins: a pad role never lowers a folder role, and raises it.
        await w.must("owner", "PUT", f"{p}/members/feditor", {"role": "viewer"})
        cells.status(
            "folder editor, pad viewer: writes",
            await w.call("feditor", "PUT", f"{p}/text", {"text": "f"}),
            200,
        )
        await w.must("owner", "PUT", f"{p}/members/fviewer", {"role": "editor"})
        cells.status(
            "folder viewer, pad editor: writes",
            await w.call("fviewer", "PUT", f"{p}/text", {"text": "v"}),
            200,
        )
        cells.status(
            "folder viewer, pad editor: manages", await w.call("fviewer", "GET", f"{p}/members"), 403
        )
        await w.must("fadmin", "PUT", f"{f}/members/spare", {"role": "owner"})
        cells.status(
            "a folder admin made by a folder admin", await w.call("spare", "GET", f"{f}/members"), 200
        )
    cells.verify()


async def test_link_tokens_expired_and_revoked(tmp_path: Path) -> None:
    """An expired or revoked share link (or an unknown one) used as a bearer token is a 401 on
    every endpoint, even on a public pad that anonymous callers may edit."""
    cells = Cells()
    async with running(tmp_path) as api:
        w = await build_world(api)
        private = await make_pad(w)
        public = await make_pad(w, "public")
        dead = {
            "pad link, expired": private.tokens["link_expired"],
            "pad link, revoked": private.tokens["link_revoked"],
            "public pad link, expired": public.tokens["link_expired"],
            "public pad link, revoked": public.tokens["link_revoked"],
            "folder link, expired": w.tokens["flink_expired"],
            "folder link, revoked": w.tokens["flink_revoked"],
            "unknown link": "cpl_" + "x" * 43,
            "unknown unlock": "cpu_" + "x" * 43,
        }
        endpoints: list[tuple[str, str, Any]] = [
            ("GET", f"/pads/{public.id}", None),
            ("GET", f"/pads/{public.id}/text", None),
            ("PUT", f"/pads/{public.id}/text", {"text": "x"}),
            ("GET", f"/pads/{private.id}", None),
            ("PUT", f"/pads/{private.id}/text", {"text": "x"}),
            ("GET", f"/pads/{w.elsewhere}", None),
            ("POST", "/pads", {"visibility": "public"}),
            ("GET", f"/folders/{w.folder}", None),
            ("GET", "/me", None),
            ("GET", "/admin/stats", None),
        ]
        for name, token in dead.items():
            for method, path, body in endpoints:
                r = await w.call("dead", method, path, body, {"dead": token})
                cells.status(f"{name}: {method} {path}", r, 401)
        # A live folder link reaches no pad outside its folder.
        r = await w.call("flink_editor", "GET", f"/pads/{w.elsewhere}")
        cells.status("a live folder link on a pad outside the folder", r, 404)
        # Anonymous callers still edit the public pad; live links still work.
        cells.status("anonymous GET public", await w.call(ANON, "GET", f"/pads/{public.id}"), 200)
        for name, pad, token in (
            ("pad link", private, private.tokens["link_editor"]),
            ("folder link", private, w.tokens["flink_editor"]),
            ("pad link on public", public, public.tokens["link_viewer"]),
        ):
            r = await w.call("live", "PUT", f"/pads/{pad.id}/text", {"text": name}, {"live": token})
            cells.status(f"live {name}: PUT text", r, 200)
        # A link expiring now stops working without anyone revoking it.
        r = await w.call("owner", "POST", f"/pads/{private.id}/links", {"role": "viewer", "expires_in": 60})
        made = r.json()
        cells.status(
            "fresh link works",
            await w.call("t", "GET", f"/pads/{private.id}", tokens={"t": made["token"]}),
            200,
        )
        w.sql("UPDATE share_links SET expires_at = ? WHERE id = ?", (now_ms() - 1, made["id"]))
        r = await w.call("t", "GET", f"/pads/{private.id}", tokens={"t": made["token"]})
        cells.status("the same link once expired", r, 401)
    cells.verify()


# Password pads


async def test_password_pad_unlock(tmp_path: Path) -> None:
    """A password pad answers 401 (naming the password) to whoever has no role on it, instance
    admin included; unlocking trades the password for an editor token; a new password ends the
    old tokens; the password never comes back in any answer."""
    cells = Cells()
    responses: list[httpx.Response] = []
    async with running(tmp_path) as api:
        w = await build_world(api)
        pad = await make_pad(w, "password", PAD_PASSWORD)
        p = f"/pads/{pad.id}"

        async def call(actor: str, method: str, path: str, body: Any = None, **tokens: str) -> httpx.Response:
            r = await w.call(actor, method, path, body, {**pad.tokens, **tokens})
            responses.append(r)
            return r

        endpoints: list[tuple[str, str, Any]] = [
            ("GET", p, None),
            ("GET", f"{p}/text", None),
            ("PUT", f"{p}/text", {"text": "x"}),
            ("PATCH", p, {"title": "x"}),
            ("DELETE", p, None),
            ("GET", f"{p}/members", None),
            ("PUT", f"{p}/members/spare", {"role": "viewer"}),
            ("DELETE", f"{p}/members/spare", None),
            ("GET", f"{p}/links", None),
            ("POST", f"{p}/links", {"role": "editor"}),
            ("DELETE", f"{p}/links/{pad.victim}", None),
        ]
        for actor in (ANON, "other", "admin", "foreign_link"):
            for method, path, body in endpoints:
                r = await call(actor, method, path, body)
                if cells.status(f"{actor} {method} {path} (locked)", r, 401):
                    cells.true(
                        f"{actor} {method} {path} names the password",
                        "password" in r.json()["detail"],
                        r.text,
                    )
        # Roles on the pad need no password.
        for actor, role in (
            ("viewer", "viewer"),
            ("owner", "owner"),
            ("fviewer", "viewer"),
            ("link_editor", "editor"),
        ):
            r = await call(actor, "GET", p)
            if cells.status(f"{actor} GET a password pad", r, 200):
                cells.true(f"{actor} role", r.json()["role"] == role, r.json())
        # Unlocking.
        for password in ("wrong password", "", PAD_PASSWORD.upper()):
            r = await call(ANON, "POST", f"{p}/unlock", {"password": password})
            cells.status(f"unlock with {password!r}", r, 401)
        r = await call(ANON, "POST", f"{p}/unlock", {"password": PAD_PASSWORD})
        cells.status("unlock with the password", r, 200)
        unlocked = r.json()
        token = unlocked["token"]
        cells.true("an unlock token", token.startswith("cpu_"), unlocked)
        cells.true("it expires later", unlocked["expires_at"] > now_ms() + 3_600_000, unlocked)
        as_editor = {
            ("GET", p): 200,
            ("GET", f"{p}/text"): 200,
            ("PUT", f"{p}/text"): 200,
            ("PATCH", p): 403,
            ("DELETE", p): 403,
            ("GET", f"{p}/members"): 403,
            ("PUT", f"{p}/members/spare"): 403,
            ("DELETE", f"{p}/members/spare"): 403,
            ("GET", f"{p}/links"): 403,
            ("POST", f"{p}/links"): 403,
            ("DELETE", f"{p}/links/{pad.victim}"): 403,
        }
        for method, path, body in endpoints:
            r = await call("unlocked", method, path, body, unlocked=token)
            cells.status(f"unlock token {method} {path}", r, as_editor[method, path])
        r = await call("unlocked", "GET", p, unlocked=token)
        cells.true("unlocked role", r.json()["role"] == "editor" and r.json()["read_only"] is False, r.json())
        # The token opens this pad only.
        other_pad = await make_pad(w, "password", PAD_PASSWORD)
        r = await call("unlocked", "GET", f"/pads/{other_pad.id}", unlocked=token)
        cells.status("unlock token on another password pad", r, 401)
        r = await call("unlocked", "GET", f"/pads/{w.elsewhere}", unlocked=token)
        cells.status("unlock token on a private pad", r, 404)
        cells.status("unlock token on /me", await call("unlocked", "GET", "/me", unlocked=token), 401)
        # Unlock elsewhere: private and unknown pads are not found, a public pad has no password.
        private = await make_pad(w)
        public = await make_pad(w, "public")
        for label, path, status in (
            ("a private pad", f"/pads/{private.id}/unlock", 404),
            ("an unknown pad", "/pads/no-such-pad/unlock", 404),
            ("a public pad", f"/pads/{public.id}/unlock", 409),
        ):
            cells.status(
                f"unlock {label}", await call(ANON, "POST", path, {"password": PAD_PASSWORD}), status
            )
        # Only the owner sets a new password; the old unlock tokens then stop working.
        new_password = "a new pad password"
        for actor, status in (("unlocked", 403), ("editor", 403), ("other", 401)):
            r = await call(actor, "PATCH", p, {"password": new_password}, unlocked=token)
            cells.status(f"{actor} changes the password", r, status)
        r = await call("owner", "PATCH", p, {"password": new_password})
        cells.status("owner changes the password", r, 200)
        cells.status(
            "old unlock token after a new password", await call("unlocked", "GET", p, unlocked=token), 401
        )
        r = await call(ANON, "POST", f"{p}/unlock", {"password": PAD_PASSWORD})
        cells.status("unlock with the old password", r, 401)
        r = await call(ANON, "POST", f"{p}/unlock", {"password": new_password})
        cells.status("unlock with the new password", r, 200)
        token = r.json()["token"]
        cells.status("new unlock token", await call("unlocked", "GET", p, unlocked=token), 200)
        listed = {x["id"]: x["visibility"] for x in (await call("owner", "GET", "/pads")).json()}
        cells.true("the owner's list shows its password pads", listed.get(pad.id) == "password", listed)
        w.sql("UPDATE pad_unlocks SET expires_at = ? WHERE pad_id = ?", (now_ms() - 1, pad.id))
        cells.status("an expired unlock token", await call("unlocked", "GET", p, unlocked=token), 401)
        r = await call(ANON, "POST", f"{p}/unlock", {"password": new_password})
        token = r.json()["token"]
        # Making it private ends the unlock tokens too, and unlocking is then not found.
        cells.status(
            "owner makes it private", await call("owner", "PATCH", p, {"visibility": "private"}), 200
        )
        cells.status(
            "unlock token on a now private pad", await call("unlocked", "GET", p, unlocked=token), 401
        )
        r = await call(ANON, "POST", f"{p}/unlock", {"password": new_password})
        cells.status("unlock a now private pad", r, 404)
        cells.status("anonymous on the now private pad", await call(ANON, "GET", p), 404)
        # Back to password without a password: refused, there is none left.
        r = await call("owner", "PATCH", p, {"visibility": "password"})
        cells.status("password visibility without a password", r, 400)
        # The admin's listing does not show passwords either.
        responses.append(await w.call("admin", "GET", "/admin/pads"))
        responses.append(await w.call("owner", "GET", "/pads"))
        responses.append(await w.call("fowner", "GET", f"/folders/{w.folder}"))
        for r in responses:
            for secret in (PAD_PASSWORD, new_password):
                cells.true(
                    f"{r.request.method} {r.request.url.path} leaks no password", secret not in r.text, r.text
                )
        with closing(sqlite3.connect(api.services.settings.db_path)) as conn:
            (stored,) = conn.execute(
                "SELECT password_hash FROM pads WHERE id = ?", (other_pad.id,)
            ).fetchone()
        cells.true("the pad password is stored as an argon2id hash", stored.startswith("$argon2id$"), stored)
    cells.verify()


# Instance admin


async def test_admin_endpoints_by_actor(tmp_path: Path) -> None:
    """/admin/* is 401 without an account (link tokens included), 403 for any non-admin account
    however much it owns, and open to the instance admin, who sees and deletes private pads there
    while the ordinary pad endpoints treat it as a stranger."""
    cells = Cells()
    async with running(tmp_path) as api:
        w = await build_world(api)
        pad = await make_pad(w)
        tokens = {**w.tokens, **pad.tokens}
        spare = w.ids["spare"]
        actors = {
            ANON: 401,
            "link_editor": 401,
            "flink_editor": 401,
            "link_expired": 401,
            "other": 403,
            "owner": 403,
            "fowner": 403,
            "fadmin": 403,
            "admin": 0,
        }
        for actor, refused in actors.items():
            victim = (await w.must("other", "POST", "/pads", {"title": f"doomed {actor}"}, 201))["id"]
            for method, path, body, ok in (
                ("GET", "/admin/users", None, 200),
                ("GET", "/admin/users?q=own&limit=10", None, 200),
                ("PATCH", f"/admin/users/{spare}", {"disabled": False}, 200),
                ("GET", "/admin/pads", None, 200),
                ("GET", "/admin/stats", None, 200),
                ("POST", "/admin/invites", None, 201),
                ("DELETE", f"/admin/pads/{victim}", None, 204),
            ):
                r = await w.call(actor, method, path, body, tokens)
                cells.status(f"{actor} {method} {path}", r, refused or ok)
            r = await w.call("other", "GET", f"/pads/{victim}")
            cells.status(f"{actor}: the pad after DELETE /admin/pads", r, 200 if refused else 410)
        # What the admin sees.
        users = await w.must("admin", "GET", "/admin/users")
        cells.true("all accounts listed", {u["username"] for u in users} == set(ACCOUNTS), users)
        cells.true("admin flags", {u["username"] for u in users if u["is_admin"]} == {"admin"}, users)
        found = {x["id"]: x for x in await w.must("admin", "GET", f"/admin/pads?q={pad.id}")}
        cells.true("a private pad is listed", found.get(pad.id, {}).get("owner") == "owner", found)
        stats = await w.must("admin", "GET", "/admin/stats")
        cells.true("stats", stats["users"] == len(ACCOUNTS) and stats["folders"] == 1, stats)
        # The admin is a stranger on the pad endpoints.
        for method, path in (
            ("GET", f"/pads/{pad.id}"),
            ("GET", f"/pads/{pad.id}/members"),
            ("DELETE", f"/pads/{pad.id}"),
        ):
            cells.status(f"admin {method} {path}", await w.call("admin", method, path), 404)
        cells.status("admin GET /folders/F", await w.call("admin", "GET", f"/folders/{w.folder}"), 404)
        # Unknown and deleted pads and users.
        cells.status(
            "admin DELETE unknown pad", await w.call("admin", "DELETE", "/admin/pads/no-such-pad"), 404
        )
        cells.status("admin DELETE a pad", await w.call("admin", "DELETE", f"/admin/pads/{pad.id}"), 204)
        cells.status("admin DELETE it again", await w.call("admin", "DELETE", f"/admin/pads/{pad.id}"), 410)
        cells.status("owner GET it", await w.call("owner", "GET", f"/pads/{pad.id}"), 410)
        r = await w.call("admin", "PATCH", "/admin/users/999999", {"disabled": True})
        cells.status("admin disables an unknown user", r, 404)
        r = await w.call("admin", "PATCH", f"/admin/users/{spare}", {"disabled": "maybe"})
        cells.status("admin PATCH with a bad body", r, 422)
        # An account promoted in the database (is_admin = 1) is an admin.
        w.sql("UPDATE users SET is_admin = 1 WHERE id = ?", (w.ids["other"],))
        cells.status("other promoted in the database", await w.call("other", "GET", "/admin/stats"), 200)
        w.sql("UPDATE users SET is_admin = 0 WHERE id = ?", (w.ids["other"],))
        cells.status("other demoted in the database", await w.call("other", "GET", "/admin/stats"), 403)
    cells.verify()


async def test_admin_disables_an_account(tmp_path: Path) -> None:
    """A disabled account's API token and session cookie stop working and it cannot log in, while
    the share links it handed out live on; re-enabled, its token and password work again."""
    cells = Cells()
    async with running(tmp_path) as api:
        w = await build_world(api)
        pad = await make_pad(w)
        async with api.new_client() as browser:
            csrf = await api.login("owner", client=browser)
            cells.status("cookie before", await browser.get(f"{V1}/pads/{pad.id}"), 200)
            r = await w.call("admin", "PATCH", f"/admin/users/{w.ids['owner']}", {"disabled": True})
            if cells.status("admin disables owner", r, 200):
                cells.true("disabled in the answer", r.json()["disabled"] is True, r.json())
            cells.status("token after", await w.call("owner", "GET", "/me"), 401)
            cells.status("token on its pad after", await w.call("owner", "GET", f"/pads/{pad.id}"), 401)
            cells.status("cookie after", await browser.get(f"{V1}/me"), 401)
            r = await browser.put(
                f"{V1}/pads/{pad.id}/text", json={"text": "x"}, headers={"X-CSRF-Token": csrf}
            )
            cells.status("cookie write after (a dead cookie is no login: a private pad is not found)", r, 404)
            r = await api.client.post(f"{V1}/auth/login", json={"username": "owner", "password": PASSWORD})
            cells.status("login after", r, 401)
            r = await w.call("link_editor", "GET", f"/pads/{pad.id}", tokens=pad.tokens)
            cells.status("its share link after", r, 200)
            cells.status("a member of its pad after", await w.call("editor", "GET", f"/pads/{pad.id}"), 200)
            users = {u["username"]: u for u in await w.must("admin", "GET", "/admin/users?q=owner")}
            cells.true("listed as disabled", users["owner"]["disabled"] is True, users)
            cells.true(
                "stats count it", (await w.must("admin", "GET", "/admin/stats"))["disabled_users"] == 1
            )
            r = await w.call("admin", "PATCH", f"/admin/users/{w.ids['owner']}", {"disabled": False})
            cells.status("admin re-enables owner", r, 200)
            cells.status("token re-enabled", await w.call("owner", "GET", f"/pads/{pad.id}"), 200)
            cells.status("old cookie stays ended", await browser.get(f"{V1}/me"), 401)
            await api.login("owner", client=browser)
            cells.status("login re-enabled", await browser.get(f"{V1}/me"), 200)
    cells.verify()


# Cookies


async def test_cookie_callers_need_the_csrf_token_on_pad_writes(tmp_path: Path) -> None:
    """The same matrix holds for a browser session: reads as is, writes with X-CSRF-Token only."""
    cells = Cells()
    async with running(tmp_path) as api:
        w = await build_world(api)
        pad = await make_pad(w)
        p = f"{V1}/pads/{pad.id}"
        async with api.new_client() as owner, api.new_client() as viewer:
            owner_csrf = await api.login("owner", client=owner)
            viewer_csrf = await api.login("viewer", client=viewer)
            cells.status("owner cookie GET", await owner.get(p), 200)
            cells.status(
                "owner cookie PUT text without CSRF", await owner.put(f"{p}/text", json={"text": "a"}), 403
            )
            r = await owner.put(f"{p}/text", json={"text": "a"}, headers={"X-CSRF-Token": viewer_csrf})
            cells.status("owner cookie PUT text with another session's CSRF", r, 403)
            r = await owner.put(f"{p}/text", json={"text": "a"}, headers={"X-CSRF-Token": owner_csrf})
            cells.status("owner cookie PUT text with CSRF", r, 200)
            r = await owner.post(f"{p}/links", json={"role": "viewer"}, headers={"X-CSRF-Token": owner_csrf})
            cells.status("owner cookie POST link with CSRF", r, 201)
            cells.status("viewer cookie GET", await viewer.get(p), 200)
            r = await viewer.put(f"{p}/text", json={"text": "b"}, headers={"X-CSRF-Token": viewer_csrf})
            cells.status("viewer cookie PUT text with CSRF", r, 403)
            r = await viewer.get(f"{V1}/pads/{w.elsewhere}")
            cells.status("viewer cookie GET a stranger's private pad", r, 404)
            r = await viewer.get(p, headers={"Authorization": f"Bearer {w.tokens['other']}"})
            cells.status("a bearer token speaks instead of the cookie", r, 404)
    cells.verify()


# Registration


async def test_registration_modes(tmp_path: Path) -> None:
    """invite: no code or a wrong one is 403, an admin's code registers once; closed: 403 always;
    open: anyone. Only an admin hands out invites."""
    cells = Cells()

    def reg(username: str, invite: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"username": username, "password": PASSWORD}
        if invite is not None:
            body["invite"] = invite
        return body

    register = f"{V1}/auth/register"
    async with running(tmp_path / "invite", registration="invite") as api:
        admin = await api.services.accounts.create_user("root", PASSWORD, is_admin=True)
        user = await api.services.accounts.create_user("taken", PASSWORD)
        admin_token = (await api.services.accounts.create_api_token(admin, "t"))[1]
        user_token = (await api.services.accounts.create_api_token(user, "t"))[1]
        cells.status("invite mode: no code", await api.client.post(register, json=reg("bob")), 403)
        cells.status(
            "invite mode: a made-up code", await api.client.post(register, json=reg("bob", "cpi_nope")), 403
        )
        r = await api.client.post(f"{V1}/admin/invites", headers={"Authorization": f"Bearer {user_token}"})
        cells.status("a non-admin asks for an invite", r, 403)
        cells.status("anonymous asks for an invite", await api.client.post(f"{V1}/admin/invites"), 401)
        r = await api.client.post(f"{V1}/admin/invites", headers={"Authorization": f"Bearer {admin_token}"})
        cells.status("the admin asks for an invite", r, 201)
        code = r.json()["code"]
        r = await api.client.post(register, json={**reg("short", code), "password": "short"})
        cells.status("invite mode: a short password with a good code", r, 400)
        r = await api.client.post(register, json=reg("taken", code))
        cells.status("invite mode: a taken username with a good code", r, 409)
        r = await api.client.post(register, json=reg("bob", code))
        if cells.status("invite mode: the code (still unused after the 409)", r, 201):
            cells.true("registered as a plain user", r.json()["is_admin"] is False, r.json())
        cells.status(
            "invite mode: the code again", await api.client.post(register, json=reg("carol", code)), 403
        )
        cells.status(
            "the invited account logs in",
            await api.client.post(f"{V1}/auth/login", json={"username": "bob", "password": PASSWORD}),
            200,
        )
        r = await api.client.post(f"{V1}/admin/invites", headers={"Authorization": f"Bearer {admin_token}"})
        expired = r.json()["code"]
        with closing(sqlite3.connect(api.services.settings.db_path)) as conn, conn:
            conn.execute("UPDATE invites SET expires_at = ?", (now_ms() - 1,))
        cells.status(
            "invite mode: an expired code", await api.client.post(register, json=reg("dave", expired)), 403
        )
    async with running(tmp_path / "closed", registration="closed") as api:
        admin = await api.services.accounts.create_user("root", PASSWORD, is_admin=True)
        admin_token = (await api.services.accounts.create_api_token(admin, "t"))[1]
        r = await api.client.post(f"{V1}/admin/invites", headers={"Authorization": f"Bearer {admin_token}"})
        cells.status("closed mode: the admin makes an invite", r, 201)
        cells.status("closed mode: no code", await api.client.post(register, json=reg("bob")), 403)
        r = await api.client.post(register, json=reg("bob", r.json()["code"]))
        cells.status("closed mode: even with an invite", r, 403)
    async with running(tmp_path / "open") as api:
        cells.status("open mode", await api.client.post(register, json=reg("bob")), 201)
        cells.status(
            "open mode, a code is ignored", await api.client.post(register, json=reg("carol", "x")), 201
        )
    cells.verify()


# Moving pads between folders


async def test_moving_pads_into_and_out_of_folders(tmp_path: Path) -> None:
    """PATCH folder_id needs the right to manage the pad and to edit the target folder (one the
    caller cannot see is a 404); a pad leaving a folder leaves the folder's roles and links behind."""
    cells = Cells()
    async with running(tmp_path) as api:
        w = await build_world(api)
        pad = await make_pad(w)
        p, f = f"/pads/{pad.id}", w.folder
        tokens = {**w.tokens, **pad.tokens}
        mine = {}
        for name in ("owner", "feditor", "fviewer", "other"):
            mine[name] = (await w.must(name, "POST", "/pads", {"visibility": "private"}, 201))["id"]
        for actor, status in (("owner", 404), ("feditor", 200), ("fviewer", 403), ("other", 404)):
            r = await w.call(actor, "PATCH", f"/pads/{mine[actor]}", {"folder_id": f})
            cells.status(f"{actor} moves its own pad into F", r, status)
        r = await w.call("owner", "PATCH", f"/pads/{mine['owner']}", {"folder_id": "no-such-folder"})
        cells.status("owner moves its pad into an unknown folder", r, 404)
        r = await w.call("fowner", "GET", f"/pads/{mine['feditor']}")
        if cells.status("the folder owner reaches a pad moved into F", r, 200):
            cells.true("as its owner", r.json()["role"] == "owner", r.json())
        for actor in ("editor", "link_editor", "feditor", "flink_editor", "viewer"):
            r = await w.call(actor, "PATCH", p, {"folder_id": None}, tokens)
            cells.status(f"{actor} moves the pad out of F", r, 403)
        for actor in ("other", ANON, "admin"):
            cells.status(
                f"{actor} moves the pad out of F", await w.call(actor, "PATCH", p, {"folder_id": None}), 404
            )
        r = await w.call("coowner", "PATCH", p, {"folder_id": None})
        if cells.status("the co-owner moves the pad out of F", r, 200):
            cells.true("out of F", r.json()["folder_id"] is None, r.json())
        for actor, status in (
            ("fowner", 404),
            ("fadmin", 404),
            ("fviewer", 404),
            ("flink_editor", 404),
            ("owner", 200),
            ("viewer", 200),
            ("link_viewer", 200),
        ):
            cells.status(
                f"{actor} GET the pad once out of F", await w.call(actor, "GET", p, tokens=tokens), status
            )
    cells.verify()


async def test_a_move_that_would_end_the_callers_own_access_is_refused(tmp_path: Path) -> None:
    """A folder admin may not take a pad out of its folder: they would lose it (409, nothing moves)."""
    async with running(tmp_path) as api:
        w = await build_world(api)
        pad = await make_pad(w)
        r = await w.call("fadmin", "PATCH", f"/pads/{pad.id}", {"folder_id": None})
        moved = (await w.must("owner", "GET", f"/pads/{pad.id}"))["folder_id"] is None
        assert (r.status_code, moved) == (409, False), r.text


async def test_a_member_may_leave_a_pad_or_folder_on_their_own(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        w = await build_world(api)
        pad = await make_pad(w)
        await w.must("viewer", "DELETE", f"/pads/{pad.id}/members/viewer", status=204)
        assert (await w.call("viewer", "GET", f"/pads/{pad.id}")).status_code == 404
        # Leaving is not removing others.
        assert (await w.call("editor", "DELETE", f"/pads/{pad.id}/members/coowner")).status_code == 403
        await w.must("fviewer", "DELETE", f"/folders/{w.folder}/members/fviewer", status=204)
        assert (await w.call("fviewer", "GET", f"/folders/{w.folder}")).status_code == 404


async def test_an_admin_cannot_disable_their_own_account(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        w = await build_world(api)
        r = await w.call("admin", "PATCH", f"/admin/users/{w.ids['admin']}", {"disabled": True})
        assert r.status_code == 409
        assert (await w.call("admin", "GET", "/admin/stats")).status_code == 200


async def test_unlocking_a_deleted_password_pad_answers_410(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        w = await build_world(api)
        pad = await make_pad(w, "password", "sesame seeds")
        await w.must("owner", "DELETE", f"/pads/{pad.id}", status=204)
        r = await w.call(ANON, "POST", f"/pads/{pad.id}/unlock", {"password": "sesame seeds"})
        assert r.status_code == 410


async def test_a_refused_body_is_not_echoed_back(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        w = await build_world(api)
        secret = "s3cret-" + "x" * 1100
        r = await w.call(ANON, "POST", "/auth/login", {"username": "owner", "password": secret})
        assert r.status_code == 422
        assert "s3cret" not in r.text
        assert r.json()["detail"][0]["loc"] == ["body", "password"]
