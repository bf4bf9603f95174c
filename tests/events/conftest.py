"""Fixtures: real crdtpad servers whose webhooks go to real receivers on 127.0.0.1."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.events.receiver import SECRET
from tests.support import ServerProcess


@contextmanager
def served(tmp: Path, urls: list[str], **env: str) -> Iterator[ServerProcess]:
    """A server posting its webhooks to ``urls`` (fast timings unless ``env`` says otherwise)."""
    settings = {
        "CRDTPAD_OPEN_PADS": "true",
        "CRDTPAD_UNLOAD_GRACE_S": "0.5",
        "CRDTPAD_WEBHOOK_URLS": ",".join(urls),
        "CRDTPAD_WEBHOOK_SECRET": SECRET,
        "CRDTPAD_WEBHOOK_DEBOUNCE_S": "0.2",
        "CRDTPAD_WEBHOOK_DEBOUNCE_MAX_S": "0.6",
        "CRDTPAD_WEBHOOK_BACKOFF_S": "0.05",
        "CRDTPAD_WEBHOOK_TIMEOUT_S": "2",
        **env,
    }
    with ServerProcess(tmp / "data", **settings) as server:
        yield server


def new_pad_id() -> str:
    return "wh-" + secrets.token_hex(8)


def account_token(server: ServerProcess, username: str) -> str:
    """Register ``username`` and return an API token of theirs (as an embedder's backend would)."""
    with httpx.Client(base_url=server.url, timeout=10) as c:
        password = "correct horse battery"
        r = c.post("/api/v1/auth/register", json={"username": username, "password": password})
        assert r.status_code == 201, r.text
        r = c.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        csrf = r.json()["csrf_token"]
        r = c.post("/api/v1/tokens", json={"name": "embedder"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])


def metric(server: ServerProcess, name: str, **labels: str) -> float:
    """The sum of a series' samples on the server's /metrics whose labels include ``labels``."""
    return server.metric(name, **labels)
