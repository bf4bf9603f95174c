"""The instance admin's API: users (search, disable), pads (search, delete any), invites, stats.

Every route needs an account whose ``is_admin`` is exactly true (see ``security.current_admin``).
"""

from __future__ import annotations

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from crdtpad.api.security import CurrentAdmin
from crdtpad.api.sharing import Strict
from crdtpad.deps import ServicesDep
from crdtpad.errors import NotFound
from crdtpad.store.users import UserRecord

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])

Limit = Query(default=50, ge=1, le=500)
Offset = Query(default=0, ge=0)


class AdminUser(BaseModel):
    """An account as the admin sees it."""

    id: int
    username: str
    is_admin: bool
    created_at: int
    disabled: bool

    @classmethod
    def of(cls, record: UserRecord) -> AdminUser:
        """The admin's view of an account."""
        return cls(
            id=record.id,
            username=record.username,
            is_admin=record.is_admin,
            created_at=record.created_at,
            disabled=record.disabled_at is not None,
        )


class AdminUserPatch(Strict):
    """Disable or re-enable an account."""

    disabled: bool


class AdminPad(BaseModel):
    """A pad as the admin sees it."""

    id: str
    title: str
    visibility: str
    owner: str | None
    folder_id: str | None
    created_at: int
    updated_at: int


class Invite(BaseModel):
    """A single-use registration invite code (for ``CRDTPAD_REGISTRATION=invite``)."""

    code: str
    expires_at: int


class AdminStats(BaseModel):
    """Instance totals and what is live right now."""

    users: int
    disabled_users: int
    pads: int
    deleted_pads: int
    folders: int
    live_rooms: int
    connections: int


@router.get("/users")
async def list_users(
    admin: CurrentAdmin, services: ServicesDep, q: str = "", limit: int = Limit, offset: int = Offset
) -> list[AdminUser]:
    """Accounts whose username contains ``q``, by username."""
    return [AdminUser.of(r) for r in await services.sharing.search_users(q[:64], limit, offset)]


@router.patch("/users/{user_id}")
async def update_user(
    user_id: int, body: AdminUserPatch, admin: CurrentAdmin, services: ServicesDep
) -> AdminUser:
    """Disable an account (its sessions end, its tokens stop working, its sockets close) or re-enable it."""
    if not await services.pads.disable_account(admin, user_id, body.disabled):
        raise NotFound(f"No account has the id {user_id}.")
    record = await services.accounts.store.get_user(user_id)
    if record is None:
        raise NotFound(f"No account has the id {user_id}.")
    return AdminUser.of(record)


@router.get("/pads")
async def list_pads(
    admin: CurrentAdmin, services: ServicesDep, q: str = "", limit: int = Limit, offset: int = Offset
) -> list[AdminPad]:
    """Live pads whose id or title contains ``q``, newest first."""
    found = await services.sharing.search_pads(q[:200], limit, offset)
    return [
        AdminPad(
            id=r.id,
            title=r.title,
            visibility=r.visibility,
            owner=owner,
            folder_id=r.folder_id,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r, owner in found
    ]


@router.delete("/pads/{pad_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_pad(pad_id: str, admin: CurrentAdmin, services: ServicesDep) -> None:
    """Erase any pad (its sockets close with 4410)."""
    await services.guard.pad(pad_id)  # 404 / 410 first
    await services.pads.erase(pad_id)


@router.post("/invites", status_code=status.HTTP_201_CREATED)
async def create_invite(admin: CurrentAdmin, services: ServicesDep) -> Invite:
    """A single-use registration invite code."""
    code, expires = await services.accounts.create_invite(admin, services.sharing)
    return Invite(code=code, expires_at=expires)


@router.get("/stats")
async def stats(admin: CurrentAdmin, services: ServicesDep) -> AdminStats:
    """Totals: users, pads, folders; and live rooms and connections."""
    s = await services.sharing.stats()
    return AdminStats(
        users=s.users,
        disabled_users=s.disabled_users,
        pads=s.pads,
        deleted_pads=s.deleted_pads,
        folders=s.folders,
        live_rooms=services.rooms.loaded,
        connections=len(services.sockets),
    )
