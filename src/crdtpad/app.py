"""create_app(settings) -> FastAPI; the lifespan opens and closes Services."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from crdtpad.access import Guard
from crdtpad.accounts import Accounts
from crdtpad.api import admin, auth, folders, pads, sync, system, web
from crdtpad.api.proxy import ProxyHeaders
from crdtpad.config import Settings
from crdtpad.db import open_db
from crdtpad.errors import CrdtpadError
from crdtpad.metrics import Metrics
from crdtpad.pads import Pads
from crdtpad.services import Services
from crdtpad.store.pads import SqlitePadStore
from crdtpad.store.sharing import SqliteSharingStore
from crdtpad.store.users import SqliteUserStore
from crdtpad.sync.connection import ConnectionLimits
from crdtpad.sync.rooms import RoomLimits, Rooms
from crdtpad.sync.validate import UpdateLimits
from crdtpad.webhooks import Webhooks

log = logging.getLogger(__name__)


def room_limits(settings: Settings) -> RoomLimits:
    """Room bounds from settings."""
    return RoomLimits(
        update=UpdateLimits(max_bytes=settings.max_frame_bytes),
        max_type_depth=settings.max_type_depth,
        max_pending_structs=settings.max_pending_structs,
        max_awareness_bytes=settings.max_awareness_bytes,
        max_clients=settings.max_clients_per_room,
        unload_grace_s=settings.unload_grace_s,
        compact_after_updates=settings.compact_after_updates,
        compact_after_bytes=settings.compact_after_bytes,
        compact_interval_s=settings.compact_interval_s,
        max_batch_updates=settings.max_batch_updates,
        open_pads=settings.open_pads,
        revision_idle_s=settings.revision_idle_s,
        revisions_kept=settings.revisions_kept,
    )


def create_app(settings: Settings) -> FastAPI:
    """Build the HTTP app (serve it through create_asgi for /sync); nothing opens before its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics = Metrics()
        db_args = (settings.db_path, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms)
        # Accounts get their own connections: the pad writer's batch transactions never block a login.
        async with open_db(*db_args) as (writer, reader), open_db(*db_args) as (users_writer, users_reader):
            store = SqlitePadStore(writer, reader)
            users = SqliteUserStore(users_writer, users_reader)
            accounts = Accounts(users, settings)
            sharing = SqliteSharingStore(users_writer, users_reader, share_with=users)
            # Webhooks close after Rooms: the last leaves and changes are still sent.
            async with (
                Webhooks(settings, metrics) as webhooks,
                Rooms(store, room_limits(settings), metrics, webhooks) as rooms,
            ):
                guard = Guard(accounts, sharing, rooms)
                app.state.services = Services(
                    settings=settings,
                    store=store,
                    rooms=rooms,
                    metrics=metrics,
                    connection_limits=ConnectionLimits(
                        queue_messages=settings.send_queue_messages,
                        queue_bytes=settings.send_queue_bytes,
                        rate_per_s=settings.rate_messages_per_s,
                        burst=settings.rate_burst,
                    ),
                    accounts=accounts,
                    sharing=sharing,
                    guard=guard,
                    pads=Pads(settings, store, sharing, rooms, guard, accounts),
                    webhooks=webhooks,
                )
                log.info("crdtpad ready: data in %s", settings.data_dir)
                yield

    app = FastAPI(
        title="crdtpad",
        version="0.1.0",
        summary="Real-time collaborative pads: Yjs documents over WebSocket, stored in SQLite.",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default answer echoes each bad value back ("input"): a password, a token.
        errors = [{k: e[k] for k in ("type", "loc", "msg") if k in e} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(CrdtpadError)
    async def _crdtpad_error(request: Request, exc: CrdtpadError) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc), "error": type(exc).__name__},
            status_code=exc.http_status,
            headers=exc.headers,
        )

    app.include_router(system.router)
    app.include_router(pads.router)
    app.include_router(folders.router)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(web.router)  # last: its /{name} route takes what is left
    app.add_middleware(GZipMiddleware, minimum_size=512, compresslevel=6)
    if settings.cors_origins:
        app.add_middleware(ApiCors, origins=settings.cors_origins)
    return app


class ApiCors:
    """CORS for the HTTP API (``/api/...``) only, for the origins in ``CRDTPAD_CORS_ORIGINS``.

    Without credentials: a page elsewhere calls the API with ``Authorization: Bearer`` and any
    crdtpad token. The session cookie stays the instance's own pages' (its writes are refused
    from other origins anyway); letting listed sites send it would let them read a signed-in
    visitor's private pads.
    """

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Content-Disposition", "Retry-After"],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def create_asgi(settings: Settings) -> tuple[FastAPI, ASGIApp]:
    """The whole server: ``/sync/...`` sockets served in front of the FastAPI app.

    The sync endpoint sits outside FastAPI and Starlette entirely, so a long-lived socket keeps
    none of their per-request frames alive: an idle client's memory is most of a loaded pad's.
    """
    app = create_app(settings)
    router = sync.SyncRouter(app, services=lambda: app.state.services)
    return app, ProxyHeaders(router, settings.trusted_proxies, settings.path_prefix)
