"""Members and share links over HTTP: the same routes under ``/pads/{id}`` and ``/folders/{id}``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from crdtpad.api.security import Caller, public_base
from crdtpad.deps import ServicesDep
from crdtpad.pads import Kind
from crdtpad.permissions import Role
from crdtpad.store.sharing import LinkRecord, MemberRecord

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
