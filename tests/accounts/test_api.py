"""The accounts API in-process: sessions, CSRF, fixation, brute force, hashes, tokens, deletion."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import argon2
import httpx
import pytest

from crdtpad.accounts import API_TOKEN_PREFIX, token_hash
from crdtpad.store.pads import now_ms
from tests.accounts.conftest import BASE, PASSWORD, Api, running
from tests.accounts.test_hashing import params

LOGIN = "/api/v1/auth/login"


def db(api: Api) -> sqlite3.Connection:
    conn = sqlite3.connect(api.services.settings.db_path, timeout=10)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def session_cookie(response: httpx.Response) -> str:
    header = response.headers["set-cookie"]
    assert header.startswith("crdtpad_session="), header
    return header.split(";", 1)[0].split("=", 1)[1]


# Registration


async def test_register_creates_an_ordinary_user(api: Api) -> None:
    user = await api.register("Alice")
    assert user["username"] == "alice"
    assert user["is_admin"] is False


async def test_register_cannot_ask_for_admin(api: Api) -> None:
    r = await api.client.post(
        "/api/v1/auth/register", json={"username": "mallory", "password": PASSWORD, "is_admin": True}
    )
    assert r.status_code == 422
    assert await api.services.accounts.user_by_name("mallory") is None


async def test_usernames_are_unique_whatever_their_case(api: Api) -> None:
    await api.register("alice")
    r = await api.client.post("/api/v1/auth/register", json={"username": "ALICE", "password": PASSWORD})
    assert r.status_code == 409


@pytest.mark.parametrize(("username", "password"), [("a b", PASSWORD), ("-x", PASSWORD), ("bob", "short")])
async def test_bad_usernames_and_short_passwords_are_refused(api: Api, username: str, password: str) -> None:
    r = await api.client.post("/api/v1/auth/register", json={"username": username, "password": password})
    assert r.status_code == 400, r.text


@pytest.mark.parametrize("mode", ["closed", "invite"])
async def test_registration_closed_answers_403(tmp_path: Path, mode: str) -> None:
    async with running(tmp_path, registration=mode) as api:
        r = await api.client.post("/api/v1/auth/register", json={"username": "bob", "password": PASSWORD})
        assert r.status_code == 403
        # An admin-made account still works.
        await api.services.accounts.create_user("bob", PASSWORD)
        await api.login("bob")


# Stored hashes


async def test_the_stored_hash_is_argon2id_m19456_t2_p1(api: Api) -> None:
    await api.register("alice")
    with db(api) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM users WHERE username = 'alice'").fetchone()
    assert stored.startswith("$argon2id$")
    m, t, p = params(stored)
    assert m >= 19456 and t >= 2 and p == 1


async def test_login_rehashes_a_hash_with_lower_parameters(api: Api) -> None:
    user = await api.register("alice")
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    await api.services.accounts.store.set_password_hash(user["id"], weak)
    await api.login("alice")
    record = await api.services.accounts.store.get_user(user["id"])
    assert record is not None and record.password_hash != weak
    assert params(record.password_hash) == (19456, 2, 1)
    await api.login("alice")  # and the new hash verifies


# Sessions


async def test_login_sets_an_httponly_samesite_lax_cookie(tmp_path: Path) -> None:
    async with running(tmp_path, session_ttl_s=3600) as api:
        await api.register("alice")
        r = await api.client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    cookie = r.headers["set-cookie"].lower()
    for attribute in ("httponly", "samesite=lax", "path=/", "max-age=3600"):
        assert attribute in cookie, cookie
    assert "secure" not in cookie
    assert r.json()["user"]["username"] == "alice" and r.json()["csrf_token"]


async def test_the_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    async with running(tmp_path, public_origin="https://pads.example.org") as api:
        await api.register("alice")
        r = await api.client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert "secure" in r.headers["set-cookie"].lower()


async def test_me_answers_401_without_login(api: Api) -> None:
    assert (await api.client.get("/api/v1/me")).status_code == 401


async def test_me_returns_the_user_and_csrf_token(api: Api) -> None:
    await api.register("alice")
    csrf = await api.login("alice")
    r = await api.client.get("/api/v1/me")
    assert r.status_code == 200
    assert r.json()["user"]["username"] == "alice" and r.json()["csrf_token"] == csrf


async def test_login_issues_a_new_cookie_and_a_planted_one_is_never_valid(api: Api) -> None:
    await api.register("alice")
    planted = "attacker-chosen-session-value"
    api.client.cookies.set("crdtpad_session", planted)
    r = await api.client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    first = session_cookie(r)
    assert first != planted
    async with api.new_client() as other:
        other.cookies.set("crdtpad_session", planted)
        assert (await other.get("/api/v1/me")).status_code == 401
    # Logging in again rotates: the previous session of this browser ends.
    api.client.cookies.set("crdtpad_session", first)
    second = session_cookie(await api.client.post(LOGIN, json={"username": "alice", "password": PASSWORD}))
    assert second != first
    async with api.new_client() as other:
        other.cookies.set("crdtpad_session", first)
        assert (await other.get("/api/v1/me")).status_code == 401


async def test_logout_makes_the_old_cookie_invalid(api: Api) -> None:
    await api.register("alice")
    r = await api.client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    cookie, csrf = session_cookie(r), r.json()["csrf_token"]
    r = await api.client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert 'crdtpad_session=""' in r.headers["set-cookie"]
    async with api.new_client() as replay:
        replay.cookies.set("crdtpad_session", cookie)
        assert (await replay.get("/api/v1/me")).status_code == 401


async def test_an_expired_session_is_rejected(tmp_path: Path) -> None:
    async with running(tmp_path, session_ttl_s=60) as api:
        await api.register("alice")
        await api.login("alice")
        assert (await api.client.get("/api/v1/me")).status_code == 200
        accounts = api.services.accounts
        real = accounts._clock
        accounts._clock = lambda: real() + 59  # a minute is not waited for: the clock moves on
        assert (await api.client.get("/api/v1/me")).status_code == 200
        accounts._clock = lambda: real() + 61
        assert (await api.client.get("/api/v1/me")).status_code == 401


# CSRF and origins


async def test_a_cookie_post_without_the_csrf_header_is_refused(api: Api) -> None:
    await api.register("alice")
    await api.login("alice")
    r = await api.client.post("/api/v1/tokens", json={"name": "ci"})
    assert r.status_code == 403
    r = await api.client.post("/api/v1/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": "guess"})
    assert r.status_code == 403
    assert (await api.client.get("/api/v1/tokens")).json() == []


async def test_a_cookie_post_with_the_csrf_header_is_accepted(api: Api) -> None:
    await api.register("alice")
    csrf = await api.login("alice")
    r = await api.client.post("/api/v1/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201


async def test_a_bearer_request_needs_no_csrf_token(api: Api) -> None:
    await api.register("alice")
    csrf = await api.login("alice")
    token = (
        await api.client.post("/api/v1/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": csrf})
    ).json()["token"]
    async with api.new_client(headers={"Authorization": f"Bearer {token}"}) as script:
        r = await script.post("/api/v1/tokens", json={"name": "another"})
        assert r.status_code == 201
        me = await script.get("/api/v1/me")
        assert me.json() == {"user": me.json()["user"], "csrf_token": None}


async def test_a_cross_origin_cookie_request_is_refused(api: Api) -> None:
    await api.register("alice")
    csrf = await api.login("alice")
    headers = {"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
    assert (await api.client.post("/api/v1/tokens", json={"name": "x"}, headers=headers)).status_code == 403
    headers["Origin"] = BASE
    assert (await api.client.post("/api/v1/tokens", json={"name": "x"}, headers=headers)).status_code == 201


async def test_a_cross_origin_login_is_refused(api: Api) -> None:
    await api.register("alice")
    r = await api.client.post(
        LOGIN, json={"username": "alice", "password": PASSWORD}, headers={"Origin": "https://evil.example"}
    )
    assert r.status_code == 403
    assert "set-cookie" not in r.headers


async def test_public_origin_is_the_origin_checked(tmp_path: Path) -> None:
    async with running(tmp_path, public_origin="https://pads.example.org") as api:
        await api.register("alice")
        for origin, status in ((BASE, 403), ("https://pads.example.org", 200)):
            r = await api.client.post(
                LOGIN, json={"username": "alice", "password": PASSWORD}, headers={"Origin": origin}
            )
            assert r.status_code == status


# Brute force


async def test_failures_lock_the_account_with_one_answer_for_unknown_and_wrong(tmp_path: Path) -> None:
    async with running(tmp_path, login_max_failures=3) as api:
        await api.register("alice")
        wrong = [await api.client.post(LOGIN, json={"username": "alice", "password": "nope" * 3})]
        unknown = [await api.client.post(LOGIN, json={"username": "ghost", "password": "nope" * 3})]
        assert wrong[0].status_code == unknown[0].status_code == 401
        assert wrong[0].content == unknown[0].content
        for _ in range(2):
            wrong.append(await api.client.post(LOGIN, json={"username": "alice", "password": "nope" * 3}))
            unknown.append(await api.client.post(LOGIN, json={"username": "ghost", "password": "nope" * 3}))
        # Locked now, even with the right password.
        r = await api.client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
        ghost = await api.client.post(LOGIN, json={"username": "ghost", "password": PASSWORD})
        assert r.status_code == ghost.status_code == 429
        assert r.content == ghost.content
        assert int(r.headers["retry-after"]) > 0
        # Another account is not affected.
        await api.register("bob")
        await api.login("bob")


async def test_failures_from_one_address_lock_it_for_every_account(tmp_path: Path) -> None:
    async with running(tmp_path, login_max_failures_per_address=4) as api:
        await api.register("alice")
        for name in ("a1", "a2", "a3", "a4"):
            r = await api.client.post(LOGIN, json={"username": name, "password": "wrong password"})
            assert r.status_code == 401
        r = await api.client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
        assert r.status_code == 429
        transport = httpx.ASGITransport(app=api.app, client=("192.0.2.7", 4000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as elsewhere:
            r = await elsewhere.post(LOGIN, json={"username": "alice", "password": PASSWORD})
            assert r.status_code == 200


# Password change


async def test_changing_the_password_rotates_the_session_and_ends_the_others(api: Api) -> None:
    await api.register("alice")
    csrf = await api.login("alice")
    async with api.new_client() as laptop:
        await api.login("alice", client=laptop)
        old_cookie = api.client.cookies["crdtpad_session"]
        r = await api.client.post(
            "/api/v1/auth/password",
            json={"old_password": PASSWORD, "new_password": "a brand new password"},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 200, r.text
        assert session_cookie(r) != old_cookie
        assert r.json()["csrf_token"] != csrf
        assert (await api.client.get("/api/v1/me")).status_code == 200
        assert (await laptop.get("/api/v1/me")).status_code == 401
    r = await api.client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 401
    await api.login("alice", "a brand new password")


async def test_changing_the_password_needs_the_old_one(api: Api) -> None:
    await api.register("alice")
    csrf = await api.login("alice")
    r = await api.client.post(
        "/api/v1/auth/password",
        json={"old_password": "not the password", "new_password": "a brand new password"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 401
    await api.login("alice")


# API tokens


async def test_an_api_token_is_shown_once_and_stored_hashed(api: Api) -> None:
    await api.register("alice")
    csrf = await api.login("alice")
    r = await api.client.post("/api/v1/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    created = r.json()
    assert created["token"].startswith(API_TOKEN_PREFIX) and created["name"] == "ci"
    listed = (await api.client.get("/api/v1/tokens")).json()
    assert listed == [{"id": created["id"], "name": "ci", "created_at": listed[0]["created_at"]}]
    with db(api) as conn:
        rows = conn.execute("SELECT token_hash FROM api_tokens").fetchall()
        sessions = conn.execute("SELECT token_hash FROM sessions").fetchall()
    assert rows == [(token_hash(created["token"]),)]
    assert sessions == [(token_hash(api.client.cookies["crdtpad_session"]),)]


async def test_a_revoked_api_token_is_rejected(api: Api) -> None:
    await api.register("alice")
    csrf = await api.login("alice")
    created = (
        await api.client.post("/api/v1/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": csrf})
    ).json()
    bearer = {"Authorization": f"Bearer {created['token']}"}
    async with api.new_client(headers=bearer) as script:
        assert (await script.get("/api/v1/me")).status_code == 200
        r = await api.client.delete(f"/api/v1/tokens/{created['id']}", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 204
        assert (await script.get("/api/v1/me")).status_code == 401


async def test_another_users_token_id_answers_404(api: Api) -> None:
    await api.register("alice")
    await api.register("bob")
    csrf = await api.login("alice")
    created = (
        await api.client.post("/api/v1/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": csrf})
    ).json()
    async with api.new_client() as bob:
        bob_csrf = await api.login("bob", client=bob)
        r = await bob.delete(f"/api/v1/tokens/{created['id']}", headers={"X-CSRF-Token": bob_csrf})
        assert r.status_code == 404
        r = await bob.delete("/api/v1/tokens/999999", headers={"X-CSRF-Token": bob_csrf})
        assert r.status_code == 404
    assert len((await api.client.get("/api/v1/tokens")).json()) == 1


@pytest.mark.parametrize("header", ["Bearer cpt_unknown", "Bearer nonsense", "Basic YWxpY2U6eA==", "Bearer"])
async def test_a_bad_authorization_header_is_401_even_with_a_cookie(api: Api, header: str) -> None:
    await api.register("alice")
    await api.login("alice")
    assert (await api.client.get("/api/v1/me", headers={"Authorization": header})).status_code == 401


# Account deletion


async def test_deleting_the_account_removes_sessions_tokens_and_owned_pads(api: Api) -> None:
    user = await api.register("alice")
    csrf = await api.login("alice")
    token = (
        await api.client.post("/api/v1/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": csrf})
    ).json()["token"]
    cookie = api.client.cookies["crdtpad_session"]
    r = await api.client.post("/api/v1/pads", json={"title": "mine"}, headers={"X-CSRF-Token": csrf})
    owned = r.json()["id"]
    assert r.json()["owner_id"] == user["id"]
    async with api.new_client() as anonymous:
        public = (await anonymous.post("/api/v1/pads", json={"title": "anyone's"})).json()["id"]
    with db(api) as conn:
        conn.execute("INSERT INTO pad_updates (pad_id, seq, data, crc) VALUES (?, 1, x'00', 0)", (owned,))
    assert (await api.client.delete("/api/v1/me")).status_code == 403  # CSRF applies
    r = await api.client.delete("/api/v1/me", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    with db(api) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM api_tokens").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM pad_updates WHERE pad_id = ?", (owned,)).fetchone() == (0,)
    assert (await api.client.get(f"/api/v1/pads/{owned}")).status_code == 410
    assert (await api.client.get(f"/api/v1/pads/{public}")).status_code == 200
    async with api.new_client(headers={"Authorization": f"Bearer {token}"}) as script:
        assert (await script.get("/api/v1/me")).status_code == 401
    async with api.new_client() as replay:
        replay.cookies.set("crdtpad_session", cookie)
        assert (await replay.get("/api/v1/me")).status_code == 401
    r = await api.client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 401


# Admin flag


async def test_only_an_admin_made_account_is_admin(api: Api) -> None:
    await api.services.accounts.create_user("root", PASSWORD, is_admin=True)
    await api.register("alice")
    for name, admin in (("root", True), ("alice", False)):
        async with api.new_client() as c:
            await api.login(name, client=c)
            assert (await c.get("/api/v1/me")).json()["user"]["is_admin"] is admin


@pytest.mark.parametrize("value", [2, -1, "true", "yes", 1.5, None])
async def test_the_database_refuses_an_admin_flag_other_than_0_or_1(api: Api, value: object) -> None:
    with db(api) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO users (username, password_hash, is_admin, created_at) VALUES ('x', 'h', ?, ?)",
            (value, now_ms()),
        )
