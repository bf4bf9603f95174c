"""Password pads: the password is hashed like an account's, traded for a token, and brute force stops."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from tests.accounts.conftest import Api, running

PAD_PASSWORD = "tulips in spring"


async def password_pad(api: Api) -> str:
    owner = await api.services.accounts.create_user("owner", "correct horse battery")
    _, token = await api.services.accounts.create_api_token(owner, "t")
    r = await api.client.post(
        "/api/v1/pads",
        json={"title": "quiz", "visibility": "password", "password": PAD_PASSWORD},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    assert PAD_PASSWORD not in r.text
    return str(r.json()["id"])


def stored_hash(api: Api, pad_id: str) -> str:
    path = api.services.settings.db_path
    with contextlib.closing(sqlite3.connect(path)) as db:
        return str(db.execute("SELECT password_hash FROM pads WHERE id = ?", (pad_id,)).fetchone()[0])


async def test_the_pad_password_is_stored_as_argon2id(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        pad_id = await password_pad(api)
        assert stored_hash(api, pad_id).startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_guessing_a_pad_password_is_rate_limited(tmp_path: Path) -> None:
    async with running(tmp_path, login_max_failures=3) as api:
        pad_id = await password_pad(api)
        for _ in range(3):
            r = await api.client.post(f"/api/v1/pads/{pad_id}/unlock", json={"password": "guess"})
            assert r.status_code == 401
        r = await api.client.post(f"/api/v1/pads/{pad_id}/unlock", json={"password": PAD_PASSWORD})
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1


async def test_an_unlock_token_opens_only_its_pad(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        first = await password_pad(api)
        owner = await api.services.accounts.user_by_name("owner")
        assert owner is not None
        _, token = await api.services.accounts.create_api_token(owner, "t2")
        r = await api.client.post(
            "/api/v1/pads",
            json={"visibility": "password", "password": "another one"},
            headers={"Authorization": f"Bearer {token}"},
        )
        second = r.json()["id"]
        r = await api.client.post(f"/api/v1/pads/{first}/unlock", json={"password": PAD_PASSWORD})
        unlock = {"Authorization": f"Bearer {r.json()['token']}"}
        assert (await api.client.get(f"/api/v1/pads/{first}/text", headers=unlock)).status_code == 200
        assert (await api.client.get(f"/api/v1/pads/{second}/text", headers=unlock)).status_code == 401
        # It edits, but does not manage.
        r = await api.client.put(f"/api/v1/pads/{first}/text", json={"text": "answer"}, headers=unlock)
        assert r.status_code == 200
        r = await api.client.patch(f"/api/v1/pads/{first}", json={"title": "mine now"}, headers=unlock)
        assert r.status_code == 403
