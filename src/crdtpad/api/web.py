"""The web app: built pages and assets (``make`` builds ``web/`` into ``crdtpad/webapp``).

Hashed assets are immutable, cached for a year; pages, the manifest and the service worker are
revalidated on every load. Responses are gzip-compressed by the app's middleware.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from crdtpad.api.proxy import PREFIX_KEY

router = APIRouter(include_in_schema=False)

PAGES = {"/": "index.html", "/dashboard": "dashboard.html", "/admin": "admin.html"}
ROOT_FILES = {
    "sw.js": "text/javascript",
    "manifest.webmanifest": "application/manifest+json",
    "icon.svg": "image/svg+xml",
    "icon-192.png": "image/png",
    "icon-512.png": "image/png",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>crdtpad</title>
<p>The web app is not built in this installation ({where}). Run <code>make run</code> (or
<code>cd web && npm ci && npm run build</code>) and reload. The HTTP API (<a href="/docs">/docs</a>)
and the sync endpoint work without it.</p>"""


def web_dir(request: Request) -> Path:
    """Where the built app lives: ``CRDTPAD_WEB_DIR``, else the package's ``webapp``."""
    configured: Path | None = request.app.state.services.settings.web_dir
    return configured if configured is not None else Path(__file__).resolve().parent.parent / "webapp"


def _page(request: Request, name: str) -> Response:
    path = web_dir(request) / name
    if not path.is_file():
        return HTMLResponse(NOT_BUILT.format(where=path.parent), status_code=503)
    # The app's URLs are relative to <base href>: it runs under a proxy's path prefix too.
    prefix = html.escape(request.scope.get(PREFIX_KEY, ""), quote=True)
    page = path.read_text(encoding="utf-8").replace("<head>", f'<head>\n  <base href="{prefix}/">', 1)
    return HTMLResponse(page, headers={"Cache-Control": REVALIDATE})


@router.get("/")
async def home(request: Request) -> Response:
    """Home: start a public pad, open one, log in."""
    return _page(request, "index.html")


@router.get("/dashboard")
async def dashboard(request: Request) -> Response:
    """My folders and pads."""
    return _page(request, "dashboard.html")


@router.get("/admin")
async def admin(request: Request) -> Response:
    """The instance admin's page."""
    return _page(request, "admin.html")


@router.get("/p/{pad_id}")
async def pad(pad_id: str, request: Request) -> Response:
    """The pad page (the address people share); access is checked by the API and the socket."""
    return _page(request, "pad.html")


@router.get("/assets/{name}")
async def asset(name: str, request: Request) -> Response:
    """A hashed, immutable asset."""
    base = web_dir(request) / "assets"
    path = (base / name).resolve()
    if path.parent != base.resolve() or not path.is_file():
        raise HTTPException(status_code=404, detail=f"No asset is named {name[:80]!r}.")
    return FileResponse(path, headers={"Cache-Control": IMMUTABLE})


@router.get("/{name}")
async def root_file(name: str, request: Request) -> Response:
    """The service worker, the manifest and the icon."""
    media_type = ROOT_FILES.get(name)
    path = web_dir(request) / name
    if media_type is None or not path.is_file():
        raise HTTPException(status_code=404, detail="Not found.")
    headers = {"Cache-Control": REVALIDATE}
    if name == "sw.js":
        headers["Service-Worker-Allowed"] = "/"
    return FileResponse(path, media_type=media_type, headers=headers)
