"""crdtpad behind a real nginx (Debian's package) on 127.0.0.1, under the path prefix /pads/:
pages, API, share links and the sync socket all work through it, and the client address,
scheme and prefix come from the trusted proxy's X-Forwarded-* headers."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.support import ServerProcess, YClient, free_port, wait_for

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONF = """
worker_processes 1;
daemon off;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log {tmp}/access.log;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  server {{
    listen 127.0.0.1:{port};
    # What README shows: the app under /pads/, WebSocket upgrade included.
    location /pads/ {{
      proxy_pass http://127.0.0.1:{app}/;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Prefix /pads;
      proxy_read_timeout 1h;
      proxy_buffering off;
    }}
    # As if TLS ended here: the app must mark its cookie Secure.
    location /tls/ {{
      proxy_pass http://127.0.0.1:{app}/;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-Prefix /tls;
    }}
  }}
}}
"""


@pytest.fixture(scope="module")
def behind_nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: `make test` installs Debian's nginx")
    tmp = tmp_path_factory.mktemp("nginx")
    app = ServerProcess(
        tmp / "data",
        CRDTPAD_TRUSTED_PROXIES="127.0.0.1",
        CRDTPAD_LOGIN_MAX_FAILURES_PER_ADDRESS="3",
        CRDTPAD_UNLOAD_GRACE_S="1",
    )
    app.start()
    port = free_port()
    conf = tmp / "nginx.conf"
    user = "user root root;" if os.geteuid() == 0 else ""
    conf.write_text(CONF.format(tmp=tmp, port=port, app=app.port, user=user))
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp)], stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(f"{base}/pads/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not come up"
            time.sleep(0.1)
        yield app, base
    finally:
        proc.terminate()
        proc.wait(10)
        app.kill()


def test_pages_and_links_carry_the_prefix(behind_nginx: tuple[ServerProcess, str]) -> None:
    _app, base = behind_nginx
    page = httpx.get(f"{base}/pads/", timeout=10)
    assert page.status_code == 200
    assert '<base href="/pads/">' in page.text
    asset = page.text.split('src="./assets/')[1].split('"')[0]
    r = httpx.get(f"{base}/pads/assets/{asset}", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    with httpx.Client(base_url=f"{base}/pads", timeout=10) as c:
        r = c.post("/api/v1/auth/register", json={"username": "teacher", "password": "correct horse battery"})
        assert r.status_code == 201, r.text
        r = c.post("/api/v1/auth/login", json={"username": "teacher", "password": "correct horse battery"})
        csrf = r.json()["csrf_token"]
        assert "secure" not in r.headers["set-cookie"].lower()  # plain http here
        pad = c.post("/api/v1/pads", json={"visibility": "private"}, headers={"X-CSRF-Token": csrf}).json()
        link = c.post(
            f"/api/v1/pads/{pad['id']}/links", json={"role": "viewer"}, headers={"X-CSRF-Token": csrf}
        )
        assert link.json()["url"].startswith(f"{base}/pads/p/{pad['id']}#token=cpl_")


def test_the_sync_socket_works_through_nginx(behind_nginx: tuple[ServerProcess, str]) -> None:
    _app, base = behind_nginx
    pad = httpx.post(f"{base}/pads/api/v1/pads", json={"title": "through nginx"}, timeout=10).json()["id"]
    ws = base.replace("http://", "ws://") + f"/pads/sync/{pad}"

    async def run() -> None:
        a, b = YClient(ws), YClient(ws)
        await a.connect()
        await b.connect()
        a.type("hello through the proxy")
        await wait_for(lambda: str(b) == "hello through the proxy", what="b converging through nginx")
        await wait_for(a.all_saved, what="a's edit stored")
        await a.close()
        await b.close()

    import asyncio

    asyncio.run(run())
    assert (
        httpx.get(f"{base}/pads/api/v1/pads/{pad}/text", timeout=10).json()["text"]
        == "hello through the proxy"
    )


def test_rate_limits_count_the_forwarded_client_address(behind_nginx: tuple[ServerProcess, str]) -> None:
    _app, base = behind_nginx

    def login(address: str, user: str) -> int:
        r = httpx.post(
            f"{base}/pads/api/v1/auth/login",
            json={"username": user, "password": "wrong password!"},
            headers={"X-Forwarded-For": address},
            timeout=10,
        )
        return r.status_code

    assert [login("203.0.113.7", f"u{i}") for i in range(3)] == [401, 401, 401]
    assert login("203.0.113.7", "u9") == 429  # that address is over its limit...
    assert login("203.0.113.8", "u9") == 401  # ...another one behind the same proxy is not


def test_the_cookie_is_secure_when_the_proxy_says_https(behind_nginx: tuple[ServerProcess, str]) -> None:
    _app, base = behind_nginx
    httpx.post(
        f"{base}/tls/api/v1/auth/register", json={"username": "tls", "password": "correct horse battery"}
    )
    r = httpx.post(
        f"{base}/tls/api/v1/auth/login",
        json={"username": "tls", "password": "correct horse battery"},
        headers={"Origin": f"https://127.0.0.1:{base.rsplit(':', 1)[1]}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert "secure" in r.headers["set-cookie"].lower()


async def test_the_web_app_runs_under_the_prefix(
    behind_nginx: tuple[ServerProcess, str], browser: Browser
) -> None:
    _app, base = behind_nginx
    pad = httpx.post(f"{base}/pads/api/v1/pads", json={"title": "Prefixed"}, timeout=10).json()["id"]
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await page.goto(f"{base}/pads/p/{pad}")
    await expect(page.locator("#status")).to_have_attribute("data-status", "saved", timeout=15_000)
    await page.locator(".ql-editor").click()
    await page.keyboard.type("typed under /pads/")
    await expect(page.locator("#status")).to_have_attribute("data-status", "saved", timeout=15_000)
    scope = await page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{base}/pads/"
    await page.click("a.brand")
    await page.wait_for_url(f"{base}/pads/")
    await ctx.close()
    text = httpx.get(f"{base}/pads/api/v1/pads/{pad}/text", timeout=10).json()["text"]
    assert "typed under /pads/" in text
