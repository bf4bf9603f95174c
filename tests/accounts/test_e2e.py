"""Accounts against a real ``crdtpad serve`` process, and accounts made by the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ServerProcess, run_crdtpad

PASSWORD = "correct horse battery"


@pytest.fixture
def stopped(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server not started yet (the CLI writes to its data dir first); killed afterwards."""
    server = ServerProcess(tmp_path / "data")
    try:
        yield server
    finally:
        server.kill()


def cli(data_dir: Path, *args: str, stdin: str = "") -> str:
    done = run_crdtpad(*args, data_dir=data_dir, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_register_login_me_logout(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        r = browser.post("/api/v1/auth/register", json={"username": "alice", "password": PASSWORD})
        assert r.status_code == 201, r.text
        r = browser.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
        assert r.status_code == 200, r.text
        csrf = r.json()["csrf_token"]
        cookie = browser.cookies["crdtpad_session"]
        assert "httponly" in r.headers["set-cookie"].lower()
        me = browser.get("/api/v1/me")
        assert me.status_code == 200 and me.json()["user"]["username"] == "alice"
        assert browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert browser.get("/api/v1/me").status_code == 401
    with httpx.Client(base_url=server.url, timeout=10, cookies={"crdtpad_session": cookie}) as replay:
        assert replay.get("/api/v1/me").status_code == 401


def test_cli_user_create_then_login_and_token(stopped: ServerProcess) -> None:
    out = cli(stopped.data_dir, "user", "create", "Root", "--admin", stdin=PASSWORD + "\n")
    assert "root" in out
    token = cli(stopped.data_dir, "token", "create", "root", "--name", "deploy")
    assert token.startswith("cpt_")
    stopped.start()
    with httpx.Client(base_url=stopped.url, timeout=10) as browser:
        r = browser.post("/api/v1/auth/login", json={"username": "root", "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert r.json()["user"]["is_admin"] is True
    with httpx.Client(base_url=stopped.url, timeout=10, headers={"Authorization": f"Bearer {token}"}) as s:
        assert s.get("/api/v1/me").json()["user"]["username"] == "root"
        assert [t["name"] for t in s.get("/api/v1/tokens").json()] == ["deploy"]
