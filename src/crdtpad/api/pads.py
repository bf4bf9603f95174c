"""Pads over HTTP: create, read metadata, read text."""

from __future__ import annotations

import secrets

import pycrdt
from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from crdtpad.deps import ServicesDep
from crdtpad.errors import PadDeleted, PadNotFound
from crdtpad.store.pads import PadRecord

router = APIRouter(prefix="/api/v1/pads", tags=["pads"])


class PadCreate(BaseModel):
    """A new pad."""

    title: str = Field(default="", max_length=200)


class PadCreated(BaseModel):
    """The id of a pad just created."""

    id: str


class PadOut(BaseModel):
    """A pad's metadata."""

    id: str
    title: str
    visibility: str
    created_at: int
    updated_at: int


class PadText(BaseModel):
    """The plain text of a pad."""

    id: str
    text: str


def new_pad_id() -> str:
    """A random, URL-safe id carrying 128 bits."""
    return secrets.token_urlsafe(16)


async def _live_pad(services: ServicesDep, pad_id: str) -> PadRecord:
    record = await services.store.get_pad(pad_id)
    if record is None:
        raise PadNotFound(f"No pad has the id {pad_id}.")
    if record.deleted_at is not None:
        raise PadDeleted(f"Pad {pad_id} was deleted.")
    return record


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_pad(body: PadCreate, services: ServicesDep) -> PadCreated:
    """Create a public pad."""
    record = await services.store.create_pad(new_pad_id(), body.title)
    return PadCreated(id=record.id)


@router.get("/{pad_id}")
async def get_pad(pad_id: str, services: ServicesDep) -> PadOut:
    """A pad's metadata."""
    r = await _live_pad(services, pad_id)
    return PadOut(
        id=r.id, title=r.title, visibility=r.visibility, created_at=r.created_at, updated_at=r.updated_at
    )


@router.get("/{pad_id}/text")
async def get_text(pad_id: str, services: ServicesDep) -> PadText:
    """The pad's text (the ``content`` Y.Text) as stored."""
    await _live_pad(services, pad_id)
    room = await services.rooms.open(pad_id)
    try:
        await room.wait_committed(room.applied_seq)
        text = str(room.doc.get("content", type=pycrdt.Text))
    finally:
        services.rooms.release(room)
    return PadText(id=pad_id, text=text)
