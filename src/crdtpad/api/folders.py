"""Folders over HTTP (MyPads' groups): create, list, read with their pads, rename, archive, delete."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from crdtpad.api.pads import PadOut
from crdtpad.api.security import Caller, CurrentUser
from crdtpad.api.sharing import Strict, sharing_routes
from crdtpad.deps import ServicesDep
from crdtpad.pads import MAX_TITLE_CHARS, FolderView
from crdtpad.permissions import Rights, Role
from crdtpad.store.sharing import FolderRecord

router = APIRouter(prefix="/api/v1/folders", tags=["folders"])


class FolderCreate(Strict):
    """A new folder."""

    name: str = Field(max_length=MAX_TITLE_CHARS)


class FolderPatch(Strict):
    """Changes to a folder; ``archived: true`` makes every pad in it read-only."""

    name: str | None = Field(default=None, max_length=MAX_TITLE_CHARS)
    archived: bool | None = None


class FolderOut(BaseModel):
    """A folder and the caller's role on it (``owner``: its owner or one of its admins)."""

    id: str
    name: str
    owner_id: int
    archived: bool
    role: Role
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, r: FolderRecord, rights: Rights) -> FolderOut:
        """The HTTP shape of a folder for one caller."""
        return cls(
            id=r.id,
            name=r.name,
            owner_id=r.owner_id,
            archived=r.archived_at is not None,
            role=rights.role,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )


class FolderDetail(FolderOut):
    """A folder with the pads in it, each with the caller's role on it."""

    pads: list[PadOut]

    @classmethod
    def of_view(cls, view: FolderView) -> FolderDetail:
        """The HTTP shape of a folder and its pads."""
        pads = [PadOut.of(p, rights) for p, rights in view.pads]
        return cls(**FolderOut.of(view.record, view.rights).model_dump(), pads=pads)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_folder(body: FolderCreate, user: CurrentUser, services: ServicesDep) -> FolderOut:
    """Create a folder owned by the caller."""
    record = await services.pads.create_folder(user, body.name)
    return FolderOut.of(record, Rights(Role.OWNER))


@router.get("")
async def list_folders(user: CurrentUser, services: ServicesDep) -> list[FolderOut]:
    """Folders the caller owns or belongs to."""
    return [FolderOut.of(r, rights) for r, rights in await services.pads.folders_for(user)]


@router.get("/{folder_id}")
async def get_folder(folder_id: str, who: Caller, services: ServicesDep) -> FolderDetail:
    """A folder and its pads; a folder the caller may not see is a 404."""
    return FolderDetail.of_view(await services.pads.folder(who, folder_id))


@router.patch("/{folder_id}")
async def update_folder(
    folder_id: str, body: FolderPatch, who: Caller, services: ServicesDep
) -> FolderDetail:
    """Rename, archive or unarchive; open sockets on its pads follow at once."""
    view = await services.pads.update_folder(who, folder_id, name=body.name, archived=body.archived)
    return FolderDetail.of_view(view)


@router.delete("/{folder_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_folder(folder_id: str, who: Caller, services: ServicesDep) -> None:
    """Delete the folder and erase every pad in it (their sockets close with 4410)."""
    await services.pads.delete_folder(who, folder_id)


sharing_routes(router, "folder")
