"""Members, share links and signed pad tokens over HTTP: members and links under ``/pads/{id}`` and
``/folders/{id}``, signed tokens under ``/pads/{id}/tokens``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from crdtpad.api.security import Caller, public_base
from crdtpad.deps import ServicesDep
from crdtpad.pad_tokens import MAX_NAME_CHARS, MAX_SUBJECT_CHARS
from crdtpad.pads import Kind
from crdtpad.permissions import Role
from crdtpad.store.sharing import LinkRecord, MemberRecord, PadTokenRecord

MAX_LINK_LIFETIME_S = 366 * 24 * 3600


class Strict(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class MemberIn(Strict):
    """A member's role."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "editor"}]})

    role: Role


class MemberOut(BaseModel):
    """A member of a pad or folder (``owner`` on a folder: one of its admins)."""

    username: str
    role: Role
    created_at: int

    @classmethod
    def of(cls, m: MemberRecord) -> MemberOut:
        """The HTTP shape of a member."""
        return cls(username=m.username, role=m.role, created_at=m.created_at)


class LinkCreate(Strict):
    """A new share link: the role it grants, and optionally its lifetime in seconds."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"role": "viewer", "expires_in": 604800}]}
    )

    role: Literal["editor", "viewer"]
    expires_in: int | None = Field(default=None, ge=60, le=MAX_LINK_LIFETIME_S)


class LinkOut(BaseModel):
    """A share link (its token was shown once, at creation)."""

    id: int
    role: Role
    created_at: int
    expires_at: int | None

    @classmethod
    def of(cls, link: LinkRecord) -> LinkOut:
        """The HTTP shape of a link."""
        return cls(id=link.id, role=link.role, created_at=link.created_at, expires_at=link.expires_at)


class LinkCreated(LinkOut):
    """A new share link; ``token`` and ``url`` are shown only this once."""

    token: str
    url: str


def sharing_routes(router: APIRouter, kind: Kind) -> None:
    """Add ``/{id}/members`` and ``/{id}/links`` routes for pads or folders to ``router``."""
    page = "p" if kind == "pad" else "f"

    @router.get("/{target}/members", name=f"{kind}_members")
    async def list_members(target: str, who: Caller, services: ServicesDep) -> list[MemberOut]:
        """The members and their roles (managers only)."""
        return [MemberOut.of(m) for m in await services.pads.members(who, kind, target)]

    @router.put("/{target}/members/{username}", name=f"{kind}_set_member")
    async def set_member(
        target: str, username: str, body: MemberIn, who: Caller, services: ServicesDep
    ) -> MemberOut:
        """Give an account a role, or change it; its open sockets follow at once."""
        return MemberOut.of(await services.pads.set_member(who, kind, target, username, body.role))

    @router.delete(
        "/{target}/members/{username}", status_code=status.HTTP_204_NO_CONTENT, name=f"{kind}_remove_member"
    )
    async def remove_member(target: str, username: str, who: Caller, services: ServicesDep) -> None:
        """Take a member's role away; its open sockets close (4403) before this answers."""
        await services.pads.remove_member(who, kind, target, username)

    @router.post("/{target}/links", status_code=status.HTTP_201_CREATED, name=f"{kind}_create_link")
    async def create_link(
        target: str, body: LinkCreate, request: Request, who: Caller, services: ServicesDep
    ) -> LinkCreated:
        """A share link granting ``role``; the token sits in the URL's fragment, never sent to a server."""
        link, token = await services.pads.create_link(who, kind, target, Role(body.role), body.expires_in)
        url = f"{public_base(request, services.settings)}/{page}/{target}#token={token}"
        return LinkCreated(**LinkOut.of(link).model_dump(), token=token, url=url)

    @router.get("/{target}/links", name=f"{kind}_links")
    async def list_links(target: str, who: Caller, services: ServicesDep) -> list[LinkOut]:
        """The share links (managers only; without their tokens)."""
        return [LinkOut.of(link) for link in await services.pads.links(who, kind, target)]

    @router.delete(
        "/{target}/links/{link_id}", status_code=status.HTTP_204_NO_CONTENT, name=f"{kind}_revoke_link"
    )
    async def revoke_link(target: str, link_id: int, who: Caller, services: ServicesDep) -> None:
        """Revoke a share link; sockets that came with it close (4401) before this answers."""
        await services.pads.revoke_link(who, kind, target, link_id)


MAX_PAD_TOKEN_LIFETIME_S = 7 * 24 * 3600


class PadTokenCreate(Strict):
    """A signed pad token for one of the embedding app's users."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"role": "editor", "user_id": "app-user-42", "name": "Ada", "expires_in": 3600}]
        },
    )

    role: Literal["editor", "viewer"]
    user_id: str = Field(min_length=1, max_length=MAX_SUBJECT_CHARS)
    name: str = Field(default="", max_length=MAX_NAME_CHARS)
    expires_in: int = Field(default=3600, ge=1, le=MAX_PAD_TOKEN_LIFETIME_S)


class PadTokenOut(BaseModel):
    """A live signed pad token (the token itself was shown once, at creation)."""

    id: int
    role: Role
    user_id: str
    name: str
    created_at: int
    expires_at: int

    @classmethod
    def of(cls, r: PadTokenRecord) -> PadTokenOut:
        """The HTTP shape of a signed pad token's row."""
        return cls(
            id=r.id,
            role=r.role,
            user_id=r.subject,
            name=r.name,
            created_at=r.created_at,
            expires_at=r.expires_at,
        )


class PadTokenCreated(PadTokenOut):
    """A new signed pad token; ``token`` is shown only this once."""

    token: str


class Revoked(BaseModel):
    """How many tokens were revoked."""

    revoked: int


def pad_token_routes(router: APIRouter) -> None:
    """``/pads/{id}/tokens``: signed pad tokens for apps that have their own users."""

    @router.post("/{pad_id}/tokens", status_code=status.HTTP_201_CREATED, name="pad_create_token")
    async def create_pad_token(
        pad_id: str, body: PadTokenCreate, who: Caller, services: ServicesDep
    ) -> PadTokenCreated:
        """Mint a short-lived signed token granting ``role`` on this pad to one of your app's users
        (managers of the pad only, typically your backend with an API token). The browser passes it
        as ``?token=`` on the socket or in-band to the Hocuspocus provider, or as a bearer token."""
        record, token = await services.pads.mint_pad_token(
            who, pad_id, Role(body.role), body.user_id, body.name, body.expires_in
        )
        return PadTokenCreated(**PadTokenOut.of(record).model_dump(), token=token)

    @router.get("/{pad_id}/tokens", name="pad_tokens")
    async def list_pad_tokens(pad_id: str, who: Caller, services: ServicesDep) -> list[PadTokenOut]:
        """The pad's live signed tokens (managers only; without the tokens)."""
        return [PadTokenOut.of(r) for r in await services.pads.pad_tokens(who, pad_id)]

    @router.delete(
        "/{pad_id}/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, name="pad_revoke_token"
    )
    async def revoke_pad_token(pad_id: str, token_id: int, who: Caller, services: ServicesDep) -> None:
        """Revoke one signed token; sockets that came with it close (4401) before this answers."""
        await services.pads.revoke_pad_tokens(who, pad_id, token_id)

    @router.delete("/{pad_id}/tokens", name="pad_revoke_tokens")
    async def revoke_pad_tokens(pad_id: str, who: Caller, services: ServicesDep) -> Revoked:
        """Revoke every live signed token of the pad; their sockets close (4401) before this answers."""
        return Revoked(revoked=await services.pads.revoke_pad_tokens(who, pad_id))
