"""crdtpad behind real reverse proxies (Debian's nginx and Caddy) on 127.0.0.1, under the path
prefix /pads/, with the configurations README shows: pages, API, share links, the web app and
the sync socket all work through them, and the client address, scheme and prefix come from the
trusted proxy's X-Forwarded-* headers."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.support import ServerProcess, YClient, free_port, wait_for, wait_until_healthy

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CADDY = shutil.which("caddy") or "/usr/bin/caddy"

NGINX_CONF = """
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

CADDYFILE = """
{{
  admin off
  auto_https off
  storage file_system {tmp}/caddy
}}
http://127.0.0.1:{port} {{
  # What README shows: handle_path strips the prefix; WebSocket upgrades pass by themselves.
  handle_path /pads/* {{
    reverse_proxy 127.0.0.1:{app} {{
      header_up X-Forwarded-Prefix /pads
    }}
  }}
  handle_path /tls/* {{
    reverse_proxy 127.0.0.1:{app} {{
      header_up X-Forwarded-Prefix /tls
      header_up X-Forwarded-Proto https
    }}
  }}
}}
"""


def start_proxy(kind: str, tmp: Path, port: int, app_port: int) -> subprocess.Popen[bytes]:
    if kind == "nginx":
        if not Path(NGINX).exists():
            pytest.fail("nginx is missing: `make test` installs Debian's nginx")
        conf = tmp / "nginx.conf"
        user = "user root root;" if os.geteuid() == 0 else ""
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, app=app_port, user=user))
        return subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp)], stderr=subprocess.DEVNULL)
    if not Path(CADDY).exists():
        pytest.fail("caddy is missing: `make test` installs Debian's caddy")
    conf = tmp / "Caddyfile"
    conf.write_text(CADDYFILE.format(tmp=tmp, port=port, app=app_port))
    env = {**os.environ, "XDG_DATA_HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp), "HOME": str(tmp)}
    return subprocess.Popen(
        [CADDY, "run", "--config", str(conf), "--adapter", "caddyfile"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module", params=["nginx", "caddy"])
def behind_proxy(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, str]]:
    kind: str = request.param
    tmp = tmp_path_factory.mktemp(kind)
    app = ServerProcess(
        tmp / "data",
        CRDTPAD_TRUSTED_PROXIES="127.0.0.1",
        CRDTPAD_LOGIN_MAX_FAILURES_PER_ADDRESS="3",
        CRDTPAD_UNLOAD_GRACE_S="1",
    )
    app.start()
    port = free_port()
    proc = start_proxy(kind, tmp, port, app.port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(f"{base}/pads/healthz", proc, kind)
        yield app, base
    finally:
        proc.terminate()
        proc.wait(10)
        app.kill()


def test_pages_and_links_carry_the_prefix(behind_proxy: tuple[ServerProcess, str]) -> None:
    _app, base = behind_proxy
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


def test_the_sync_socket_works_through_the_proxy(behind_proxy: tuple[ServerProcess, str]) -> None:
    _app, base = behind_proxy
    pad = httpx.post(f"{base}/pads/api/v1/pads", json={"title": "through the proxy"}, timeout=10).json()["id"]
    ws = base.replace("http://", "ws://") + f"/pads/sync/{pad}"

    async def run() -> None:
        a, b = YClient(ws), YClient(ws)
        await a.connect()
        await b.connect()
        a.type("hello through the proxy")
        await wait_for(lambda: str(b) == "hello through the proxy", what="b converging through the proxy")
        await wait_for(a.all_saved, what="a's edit stored")
        await a.close()
        await b.close()

    import asyncio

    asyncio.run(run())
    assert (
        httpx.get(f"{base}/pads/api/v1/pads/{pad}/text", timeout=10).json()["text"]
        == "hello through the proxy"
    )


def test_the_cookie_is_secure_when_the_proxy_says_https(behind_proxy: tuple[ServerProcess, str]) -> None:
    _app, base = behind_proxy
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
    behind_proxy: tuple[ServerProcess, str], browser: Browser
) -> None:
    _app, base = behind_proxy
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


# Last: it locks the test client's address out of logins for the rest of the module.
def test_rate_limits_count_the_client_address_the_proxy_vouches_for(
    behind_proxy: tuple[ServerProcess, str], request: pytest.FixtureRequest
) -> None:
    _app, base = behind_proxy

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
    if "nginx" in request.node.callspec.id:
        # nginx appends the peer to what the client sent ($proxy_add_x_forwarded_for), as a chain
        # behind a CDN would: another client behind the same proxy is not locked out.
        assert login("203.0.113.8", "u9") == 401
    else:
        # Caddy replaces a client's own X-Forwarded-For with the real peer: claiming another
        # address does not get round the limit.
        assert login("203.0.113.8", "u9") == 429
