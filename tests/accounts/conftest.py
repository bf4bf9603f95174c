"""In-process apps over real SQLite files, with their lifespan run, and httpx clients on them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crdtpad.app import create_app
from crdtpad.config import Settings
from crdtpad.services import Services

BASE = "http://testserver"
PASSWORD = "correct horse battery"


class Api:
    """An app whose lifespan is running, and a cookie-keeping client for it."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def new_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """Another browser: its own cookie jar (close it with ``async with``)."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE, **kwargs)

    async def register(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        r = await self.client.post("/api/v1/auth/register", json={"username": username, "password": password})
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    async def login(
        self, username: str, password: str = PASSWORD, client: httpx.AsyncClient | None = None
    ) -> str:
        """Log ``client`` in; the CSRF token."""
        r = await (client or self.client).post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["csrf_token"])


@asynccontextmanager
async def running(tmp_path: Path, **settings: Any) -> AsyncIterator[Api]:
    """``create_app(Settings(...))`` with its lifespan running."""
    app = create_app(Settings(data_dir=tmp_path / "data", **settings))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client,
    ):
        yield Api(app, client)


ApiFactory = Callable[..., Awaitable[Api]]


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    """A fresh app with default settings."""
    async with running(tmp_path) as a:
        yield a
