"""Who is calling: a bearer API token or the session cookie (with CSRF checks), as FastAPI dependencies.

- ``Authorization: Bearer cpt_...`` authenticates a script; no CSRF token is needed (a browser never
  adds that header by itself). A bad bearer token is a 401 even where login is optional.
- Otherwise the ``crdtpad_session`` cookie: on a state-changing method the request must carry
  ``X-CSRF-Token`` equal to the session's CSRF token, and an ``Origin`` header, if any, must be
  the instance's own origin. An unknown or expired cookie counts as no login.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from crdtpad.accounts import ActiveSession, Session, User
from crdtpad.config import Settings
from crdtpad.deps import ServicesDep
from crdtpad.errors import CsrfRejected, NotAuthenticated

SESSION_COOKIE = "crdtpad_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Auth:
    """An authenticated caller: the user, and the session when it came by cookie."""

    user: User
    session: ActiveSession | None = None
    session_token: str | None = None


def own_origin(request: Request, settings: Settings) -> str:
    """The origin browsers use for this instance."""
    if settings.public_origin is not None:
        return settings.public_origin
    return f"{request.url.scheme}://{request.url.netloc}"


def check_origin(request: Request, settings: Settings) -> None:
    """Refuse a request whose ``Origin`` header names another origin (absent is fine)."""
    origin = request.headers.get("origin")
    if origin is not None and origin != own_origin(request, settings):
        raise CsrfRejected(f"Requests from the origin {origin[:100]!r} are not accepted.")


def client_address(request: Request) -> str:
    """The peer address, for login rate limits."""
    return request.client.host if request.client else "unknown"


async def _authenticate(request: Request, services: ServicesDep) -> Auth | None:
    accounts = services.accounts
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        user = await accounts.api_token_user(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise NotAuthenticated("The bearer token is unknown or revoked.")
        return Auth(user)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    session = await accounts.session(cookie)
    if session is None:
        return None
    if request.method not in SAFE_METHODS:
        check_origin(request, services.settings)
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.record.csrf_token.encode()):
            raise CsrfRejected(f"This request needs the header {CSRF_HEADER} with the session's CSRF token.")
    return Auth(session.user, session, cookie)


async def optional_auth(request: Request, services: ServicesDep) -> Auth | None:
    """The caller, or None for an anonymous one."""
    return await _authenticate(request, services)


async def current_auth(request: Request, services: ServicesDep) -> Auth:
    """The caller; 401 when anonymous."""
    auth = await _authenticate(request, services)
    if auth is None:
        raise NotAuthenticated("Log in or send an API token (Authorization: Bearer ...).")
    return auth


async def current_user(auth: Annotated[Auth, Depends(current_auth)]) -> User:
    """The calling user; 401 when anonymous."""
    return auth.user


async def optional_user(auth: Annotated[Auth | None, Depends(optional_auth)]) -> User | None:
    """The calling user, or None."""
    return auth.user if auth else None


CurrentAuth = Annotated[Auth, Depends(current_auth)]
OptionalAuth = Annotated[Auth | None, Depends(optional_auth)]
CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


def set_session_cookie(response: Response, request: Request, settings: Settings, session: Session) -> None:
    """Hand the browser its session: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=max(1, math.ceil(settings.session_ttl_s)),
        path="/",
        secure=own_origin(request, settings).startswith("https:"),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    """Tell the browser to drop its session cookie."""
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=own_origin(request, settings).startswith("https:"),
        httponly=True,
        samesite="lax",
    )
