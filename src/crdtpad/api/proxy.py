"""Behind a reverse proxy: believe ``X-Forwarded-For``, ``-Proto`` and ``-Prefix`` from trusted
proxies only (``CRDTPAD_TRUSTED_PROXIES``), for both HTTP and the sync socket.

The client address (rate limits, logs), the scheme (Secure cookies, Origin checks, wss) and the
path prefix the proxy serves the app under (links, the pages' ``<base href>``) then follow what
the browser used. The prefix lives in ``scope["crdtpad.prefix"]``; the proxy strips it from paths.
"""

from __future__ import annotations

import ipaddress
import re

from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX_KEY = "crdtpad.prefix"
_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)*")


class TrustedProxies:
    """Which peers may speak for clients."""

    def __init__(self, entries: list[str]) -> None:
        self.any = "*" in entries
        self.networks = [ipaddress.ip_network(e, strict=False) for e in entries if e != "*"]

    def __contains__(self, host: str) -> bool:
        if self.any:
            return True
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)


class ProxyHeaders:
    """ASGI middleware in front of everything (the sync router included)."""

    def __init__(self, app: ASGIApp, trusted: list[str], prefix: str = "") -> None:
        self.app = app
        self.trusted = TrustedProxies(trusted)
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        # In place: uvicorn logs from this same scope, so its lines show the forwarded client.
        prefix = self.prefix
        peer = scope.get("client")
        if peer and peer[0] in self.trusted:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
            hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
            # The client is the last hop no trusted proxy of ours added.
            while hops and hops[-1] in self.trusted and len(hops) > 1:
                hops.pop()
            if hops:
                scope["client"] = (hops[-1], 0)
            proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
            if proto in ("http", "https"):
                secure = proto == "https"
                scope["scheme"] = ("wss" if secure else "ws") if scope["type"] == "websocket" else proto
            forwarded_prefix = headers.get("x-forwarded-prefix", "").strip().rstrip("/")
            if forwarded_prefix and _PREFIX.fullmatch(forwarded_prefix):
                prefix = forwarded_prefix
        scope[PREFIX_KEY] = prefix
        await self.app(scope, receive, send)
