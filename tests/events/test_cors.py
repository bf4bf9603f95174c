"""CORS for embedders: listed origins may call /api/v1 with a bearer token; nobody else gets headers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.events.conftest import account_token
from tests.support import ServerProcess

APP = "https://app.example.org"
OTHER = "https://elsewhere.example.net"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(
        tmp_path_factory.mktemp("cors") / "data", CRDTPAD_CORS_ORIGINS=f"{APP}, http://localhost:5173"
    ) as server:
        yield server


def preflight(server: ServerProcess, origin: str, path: str = "/api/v1/pads") -> httpx.Response:
    return httpx.options(
        server.url + path,
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
        timeout=10,
    )


def test_a_listed_origin_passes_the_preflight_for_bearer_requests(server: ServerProcess) -> None:
    r = preflight(server, APP)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == APP
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in r.headers  # bearer tokens, never the cookie


def test_a_cross_origin_request_with_a_token_reads_the_answer(server: ServerProcess) -> None:
    token = account_token(server, "embedder")
    auth = {"origin": APP, "authorization": f"Bearer {token}"}
    r = httpx.post(f"{server.url}/api/v1/pads", json={"title": "Embedded"}, headers=auth, timeout=10)
    assert r.status_code == 201, r.text
    assert r.headers["access-control-allow-origin"] == APP
    assert "origin" in r.headers.get("vary", "").lower()
    pad = r.json()["id"]
    r = httpx.get(f"{server.url}/api/v1/pads/{pad}/export/txt", headers=auth, timeout=10)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == APP
    assert "content-disposition" in r.headers["access-control-expose-headers"].lower()
    r = httpx.get(f"{server.url}/api/v1/pads/nope-{pad}", headers=auth, timeout=10)
    assert r.status_code == 404 and r.headers["access-control-allow-origin"] == APP  # errors readable too


def test_an_unlisted_origin_gets_no_cors_headers(server: ServerProcess) -> None:
    r = preflight(server, OTHER)
    assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
    r = httpx.post(f"{server.url}/api/v1/pads", json={"title": "x"}, headers={"origin": OTHER}, timeout=10)
    assert "access-control-allow-origin" not in r.headers


def test_only_the_api_has_cors(server: ServerProcess) -> None:
    for path in ("/healthz", "/metrics", "/"):
        r = httpx.get(server.url + path, headers={"origin": APP}, timeout=10)
        assert "access-control-allow-origin" not in r.headers, path


def test_no_cors_headers_by_default(tmp_path_factory: pytest.TempPathFactory) -> None:
    with ServerProcess(tmp_path_factory.mktemp("nocors") / "data") as server:
        r = preflight(server, APP)
        assert "access-control-allow-origin" not in r.headers
        r = httpx.post(f"{server.url}/api/v1/pads", json={"title": "x"}, headers={"origin": APP}, timeout=10)
        assert r.status_code == 201 and "access-control-allow-origin" not in r.headers
