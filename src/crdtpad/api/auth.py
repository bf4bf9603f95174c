"""Accounts over HTTP: register, log in and out, change password, delete the account, API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from crdtpad.accounts import Session, User
from crdtpad.api.security import (
    SESSION_COOKIE,
    CurrentAuth,
    CurrentUser,
    OptionalAuth,
    check_origin,
    clear_session_cookie,
    client_address,
    set_session_cookie,
)
from crdtpad.deps import ServicesDep
from crdtpad.store.users import ApiTokenRecord

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credentials(_Strict):
    """A username and password."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class Registration(Credentials):
    """A username and password, and the invite code when the instance asks for one."""

    invite: str | None = Field(default=None, max_length=100)


class PasswordChange(_Strict):
    """The current password and the new one."""

    old_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class UserOut(BaseModel):
    """An account."""

    id: int
    username: str
    is_admin: bool
    created_at: int

    @classmethod
    def of(cls, user: User) -> UserOut:
        """The HTTP shape of a user."""
        return cls(id=user.id, username=user.username, is_admin=user.is_admin, created_at=user.created_at)


class SessionOut(BaseModel):
    """The logged-in user and, for a cookie session, the CSRF token state-changing requests send back."""

    user: UserOut
    csrf_token: str | None = None


class TokenCreate(_Strict):
    """A new API token's name."""

    name: str = Field(max_length=100)


class TokenCreated(BaseModel):
    """A new API token; ``token`` is shown only this once."""

    id: int
    name: str
    token: str


class TokenOut(BaseModel):
    """An API token (its secret is not stored)."""

    id: int
    name: str
    created_at: int

    @classmethod
    def of(cls, record: ApiTokenRecord) -> TokenOut:
        """The HTTP shape of a token record."""
        return cls(id=record.id, name=record.name, created_at=record.created_at)


def _session_out(session: Session) -> SessionOut:
    return SessionOut(user=UserOut.of(session.user), csrf_token=session.csrf_token)


@router.post("/auth/register", status_code=status.HTTP_201_CREATED)
async def register(body: Registration, request: Request, services: ServicesDep) -> UserOut:
    """Create an account (when registration is open); log in next."""
    check_origin(request, services.settings)
    return UserOut.of(await services.accounts.register(body.username, body.password, body.invite))


@router.post("/auth/login")
async def login(body: Credentials, request: Request, response: Response, services: ServicesDep) -> SessionOut:
    """Check the password, start a new session (a new cookie every time) and return its CSRF token."""
    check_origin(request, services.settings)
    session = await services.accounts.login(
        body.username, body.password, client_address(request), replacing=request.cookies.get(SESSION_COOKIE)
    )
    set_session_cookie(response, request, services.settings, session)
    return _session_out(session)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(auth: OptionalAuth, request: Request, response: Response, services: ServicesDep) -> None:
    """End the cookie's session (a no-op without one) and drop the cookie; sockets opened with
    the session close (4401) before this answers."""
    if auth is not None and auth.session_token is not None:
        async with services.guard.changing(users=[auth.user.id]):
            await services.accounts.logout(auth.session_token)
    clear_session_cookie(response, request, services.settings)


@router.post("/auth/password")
async def change_password(
    body: PasswordChange, auth: CurrentAuth, request: Request, response: Response, services: ServicesDep
) -> SessionOut:
    """Set a new password; every session of the account ends, and a cookie caller gets a fresh one."""
    by_cookie = auth.session is not None
    async with services.guard.changing(users=[auth.user.id]):
        session = await services.accounts.change_password(
            auth.user, body.old_password, body.new_password, client_address(request), new_session=by_cookie
        )
    if session is None:
        return SessionOut(user=UserOut.of(auth.user))
    set_session_cookie(response, request, services.settings, session)
    return _session_out(session)


@router.get("/me")
async def me(auth: CurrentAuth) -> SessionOut:
    """The caller's account, and the session's CSRF token when logged in by cookie."""
    csrf = auth.session.record.csrf_token if auth.session else None
    return SessionOut(user=UserOut.of(auth.user), csrf_token=csrf)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT)
async def delete_me(user: CurrentUser, request: Request, response: Response, services: ServicesDep) -> None:
    """Delete the account, its sessions, tokens, folders (with their pads) and pads; a pad it owns
    in another user's folder passes to that folder's owner. Its sockets close before this answers."""
    await services.pads.delete_account(user)
    clear_session_cookie(response, request, services.settings)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
async def create_token(body: TokenCreate, user: CurrentUser, services: ServicesDep) -> TokenCreated:
    """Create an API token for scripts (``Authorization: Bearer``); the token is shown only here."""
    record, token = await services.accounts.create_api_token(user, body.name)
    return TokenCreated(id=record.id, name=record.name, token=token)


@router.get("/tokens")
async def list_tokens(user: CurrentUser, services: ServicesDep) -> list[TokenOut]:
    """The caller's API tokens, without secrets."""
    return [TokenOut.of(r) for r in await services.accounts.api_tokens(user)]


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(token_id: int, user: CurrentUser, services: ServicesDep) -> None:
    """Revoke one of the caller's API tokens (sockets opened with it close, 4401); another user's
    token id answers 404."""
    async with services.guard.changing(users=[user.id]):
        await services.accounts.revoke_api_token(user, token_id)
