"""Who is calling: a bearer API token or the session cookie (with CSRF checks), as FastAPI dependencies.

- ``Authorization: Bearer <token>`` authenticates a script: an API token (``cpt_``, an account), a
  share-link token (``cpl_``) or a password pad's unlock token (``cpu_``). No CSRF token is needed
  (a browser never adds that header by itself). A bad bearer token is a 401 even where login is
  optional.
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

from crdtpad.access import ANONYMOUS, Principal
from crdtpad.accounts import ActiveSession, Session, User
from crdtpad.api.proxy import PREFIX_KEY
from crdtpad.config import Settings
from crdtpad.deps import ServicesDep
from crdtpad.errors import CsrfRejected, Forbidden, NotAuthenticated

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


def public_base(request: Request, settings: Settings) -> str:
    """Where the app lives for browsers: the origin, and the path prefix a proxy serves it under."""
    prefix: str = request.scope.get(PREFIX_KEY, settings.path_prefix)
    return own_origin(request, settings) + prefix


def check_origin(request: Request, settings: Settings) -> None:
    """Refuse a request whose ``Origin`` header names another origin (absent is fine)."""
    origin = request.headers.get("origin")
    if origin is not None and origin != own_origin(request, settings):
        raise CsrfRejected(f"Requests from the origin {origin[:100]!r} are not accepted.")


def client_address(request: Request) -> str:
    """The peer address, for login rate limits."""
    return request.client.host if request.client else "unknown"


async def identify(request: Request, services: ServicesDep) -> tuple[Principal, Auth | None]:
    """The caller as a principal (maybe anonymous), and as an account when it has one.

    ``Authorization: Bearer`` takes any crdtpad token (an API token, a share-link or unlock
    token); a bad one is a 401 even where login is optional. Otherwise the session cookie.
    """
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("The Authorization header takes 'Bearer <token>'.")
        who = await services.guard.principal(None, token.strip())
        return who, (Auth(who.user) if who.user is not None else None)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return ANONYMOUS, None
    session = await services.accounts.session(cookie)
    if session is None:
        return ANONYMOUS, None
    if request.method not in SAFE_METHODS:
        check_origin(request, services.settings)
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.record.csrf_token.encode()):
            raise CsrfRejected(f"This request needs the header {CSRF_HEADER} with the session's CSRF token.")
    who = Principal(session.user, None, session.record.id, session.record.expires_at)
    return who, Auth(session.user, session, cookie)


Identity = Annotated[tuple[Principal, Auth | None], Depends(identify)]


async def caller(identity: Identity) -> Principal:
    """Whoever calls, anonymous included."""
    return identity[0]


async def optional_auth(identity: Identity) -> Auth | None:
    """The calling account, or None."""
    return identity[1]


async def current_auth(identity: Identity) -> Auth:
    """The calling account; 401 without one."""
    if identity[1] is None:
        raise NotAuthenticated("Log in or send an API token (Authorization: Bearer cpt_...).")
    return identity[1]


async def current_user(auth: Annotated[Auth, Depends(current_auth)]) -> User:
    """The calling user; 401 when anonymous."""
    return auth.user


async def current_admin(user: Annotated[User, Depends(current_user)]) -> User:
    """The calling user if an instance admin (exactly ``is_admin is True``); 403 otherwise."""
    if user.is_admin is not True:
        raise Forbidden("This needs an instance administrator.")
    return user


Caller = Annotated[Principal, Depends(caller)]
CurrentAdmin = Annotated[User, Depends(current_admin)]
CurrentAuth = Annotated[Auth, Depends(current_auth)]
OptionalAuth = Annotated[Auth | None, Depends(optional_auth)]
CurrentUser = Annotated[User, Depends(current_user)]


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
