"""A tiny "app backend" for the example pages: it serves them and mints crdtpad tokens for its users.

Your app has its own users; crdtpad does not need to know them. The backend holds a crdtpad API
token of an account that manages the pads (never shown to browsers) and, for each of its own
logged-in users, asks crdtpad for a short-lived signed token granting that user a role on one
pad (``POST /api/v1/pads/{id}/tokens``). The page passes the token to the provider.

Standard library only. Settings from the environment:

    CRDTPAD_URL        crdtpad's address                       (default http://127.0.0.1:8000)
    CRDTPAD_API_TOKEN  an API token (cpt_...) of the pads' owner (required)
    EXAMPLE_ROLE       the role tokens grant: editor or viewer (default editor)
    EXAMPLE_PORT       where this backend listens, on 127.0.0.1 (default 8080)

    GET /new                      make a private pad, then open the y-websocket page on it
    GET /token?pad=ID&user=NAME   {"token": "cps_...", "server": "ws://..."} for that user and pad
    GET /y-websocket.html?pad=ID&user=NAME, /hocuspocus.html?...   the example pages (from dist/)

The ``user`` parameter stands in for your app's own login: here anyone may claim any name.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CRDTPAD_URL = os.environ.get("CRDTPAD_URL", "http://127.0.0.1:8000").rstrip("/")
API_TOKEN = os.environ.get("CRDTPAD_API_TOKEN", "")
ROLE = os.environ.get("EXAMPLE_ROLE", "editor")
PORT = int(os.environ.get("EXAMPLE_PORT", "8080"))
DIST = Path(__file__).resolve().parent / "dist"
TOKEN_LIFETIME_S = 3600


def crdtpad(method: str, path: str, body: object | None = None) -> object:
    """Call crdtpad's API with the backend's API token."""
    request = urllib.request.Request(
        f"{CRDTPAD_URL}/api/v1{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        result: object = json.load(response)
        return result


class Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, directory=str(DIST), **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/token":
            self.token(query.get("pad", [""])[0], query.get("user", [""])[0])
        elif url.path == "/new":
            pad = crdtpad("POST", "/pads", {"title": "Example pad", "visibility": "private"})
            assert isinstance(pad, dict)
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", f"/y-websocket.html?pad={pad['id']}")
            self.end_headers()
        else:
            super().do_GET()

    def token(self, pad: str, user: str) -> None:
        if not pad or not user:
            self.answer(HTTPStatus.BAD_REQUEST, {"detail": "pad and user are required"})
            return
        try:
            made = crdtpad(
                "POST",
                f"/pads/{urllib.parse.quote(pad, safe='')}/tokens",
                {"role": ROLE, "user_id": user, "name": user, "expires_in": TOKEN_LIFETIME_S},
            )
        except urllib.error.HTTPError as exc:
            self.answer(
                HTTPStatus.BAD_GATEWAY, {"detail": f"crdtpad answered {exc.code}: {exc.read()[:300]!r}"}
            )
            return
        assert isinstance(made, dict)
        server = "ws" + CRDTPAD_URL[len("http") :]  # http -> ws, https -> wss
        self.answer(HTTPStatus.OK, {"token": made["token"], "server": server})

    def answer(self, status: HTTPStatus, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    if not API_TOKEN:
        raise SystemExit("Set CRDTPAD_API_TOKEN to an API token (crdtpad token create NAME).")
    if not DIST.is_dir():
        raise SystemExit(f"Build the pages first: cd {DIST.parent} && npm ci && npm run build")
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    print(f"Example backend on http://127.0.0.1:{PORT}/new (crdtpad at {CRDTPAD_URL})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
