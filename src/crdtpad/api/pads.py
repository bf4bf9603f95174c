"""Pads over HTTP: create, list, read, change, delete; unlock a password pad; read and write text."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field

from crdtpad.api.security import Caller, CurrentUser, client_address
from crdtpad.api.sharing import Strict, pad_token_routes, sharing_routes
from crdtpad.deps import ServicesDep
from crdtpad.errors import ImportTooLarge, InvalidValue
from crdtpad.pads import MAX_TITLE_CHARS, content_disposition, format_of
from crdtpad.permissions import Action, Rights, Role
from crdtpad.store.pads import PadRecord

router = APIRouter(prefix="/api/v1/pads", tags=["pads"])

Visibility = Literal["public", "private", "password"]
MAX_TEXT_CHARS = 1_000_000


class PadCreate(Strict):
    """A new pad. ``password`` goes with visibility ``password`` only."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"title": "Class 5B essay", "visibility": "private", "folder_id": None}]
        },
    )

    title: str = Field(default="", max_length=MAX_TITLE_CHARS)
    visibility: Visibility = "public"
    password: str | None = Field(default=None, max_length=1024)
    folder_id: str | None = Field(default=None, max_length=64)


class PadPatch(Strict):
    """Changes to a pad; absent fields stay. ``folder_id: null`` takes it out of its folder."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"title": "Essay (final)", "visibility": "password", "password": "tulips in spring"}]
        },
    )

    title: str | None = Field(default=None, max_length=MAX_TITLE_CHARS)
    visibility: Visibility | None = None
    password: str | None = Field(default=None, max_length=1024)
    folder_id: str | None = Field(default=None, max_length=64)
    chat: bool | None = None  # false turns the pad's chat off: messages are refused, the page hides it


class PadOut(BaseModel):
    """A pad's metadata, and the caller's role on it."""

    id: str
    title: str
    visibility: str
    owner_id: int | None
    folder_id: str | None
    role: Role
    read_only: bool  # the caller may not edit (a viewer, or an archived folder)
    chat: bool  # whether the pad's chat takes messages
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, r: PadRecord, rights: Rights) -> PadOut:
        """The HTTP shape of a pad for one caller."""
        return cls(
            id=r.id,
            title=r.title,
            visibility=r.visibility,
            owner_id=r.owner_id,
            folder_id=r.folder_id,
            role=rights.role,
            read_only=not rights.can(Action.EDIT),
            chat=bool(r.chat_enabled),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )


class PadText(BaseModel):
    """The plain text of a pad."""

    id: str
    text: str


class TextIn(Strict):
    """The whole new text of a pad."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"text": "Bonjour la classe"}]})

    text: str = Field(max_length=MAX_TEXT_CHARS)


class UnlockIn(Strict):
    """A password pad's password."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"password": "tulips in spring"}]}
    )

    password: str = Field(max_length=1024)


class Unlocked(BaseModel):
    """A token opening a password pad: ``Authorization: Bearer`` or ``?token=`` on the socket."""

    token: str
    expires_at: int


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_pad(body: PadCreate, who: Caller, services: ServicesDep) -> PadOut:
    """Create a pad owned by the caller (anonymous callers: public pads, if the instance allows)."""
    record = await services.pads.create(who, body.title, body.visibility, body.password, body.folder_id)
    _, rights = await services.pads.view(who, record.id)
    return PadOut.of(record, rights)


@router.get("")
async def list_pads(user: CurrentUser, services: ServicesDep) -> list[PadOut]:
    """Pads the caller owns and pads shared with the account (directly or through a folder)."""
    return [PadOut.of(r, rights) for r, rights in await services.pads.list_for(user)]


@router.get("/{pad_id}")
async def get_pad(pad_id: str, who: Caller, services: ServicesDep) -> PadOut:
    """A pad's metadata; a pad the caller may not see is a 404."""
    return PadOut.of(*await services.pads.view(who, pad_id))


@router.patch("/{pad_id}")
async def update_pad(pad_id: str, body: PadPatch, who: Caller, services: ServicesDep) -> PadOut:
    """Rename, change visibility or password, move to a folder, turn the chat off or on; open
    sockets follow at once."""
    sent = body.model_fields_set
    record = await services.pads.update(
        who,
        pad_id,
        title=body.title,
        visibility=body.visibility,
        password=body.password,
        folder_id=body.folder_id if "folder_id" in sent else False,
        chat=body.chat,
    )
    _, rights = await services.pads.view(who, record.id)
    return PadOut.of(record, rights)


@router.delete("/{pad_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_pad(pad_id: str, who: Caller, services: ServicesDep) -> None:
    """Erase the pad for everyone: open sockets close with 4410, the id answers 410 from now on."""
    await services.pads.delete(who, pad_id)


@router.post("/{pad_id}/unlock")
async def unlock_pad(pad_id: str, body: UnlockIn, request: Request, services: ServicesDep) -> Unlocked:
    """Trade a password pad's password for a short-lived token (the password never goes in a URL)."""
    token, expires = await services.pads.unlock(pad_id, body.password, client_address(request))
    return Unlocked(token=token, expires_at=expires)


@router.get("/{pad_id}/text")
async def get_text(
    pad_id: str,
    who: Caller,
    services: ServicesDep,
    rev: Annotated[int | None, Query(ge=1, description="a revision number: the text as it was then")] = None,
) -> PadText:
    """The pad's text (the ``content`` Y.Text) as stored, or at a revision (Etherpad's getText)."""
    return PadText(id=pad_id, text=await services.pads.read_text(who, pad_id, rev))


@router.put("/{pad_id}/text")
async def put_text(pad_id: str, body: TextIn, who: Caller, services: ServicesDep) -> PadText:
    """Replace the text; merged like any edit (one minimal splice) and stored before this answers."""
    await services.pads.write_text(who, pad_id, body.text)
    return PadText(id=pad_id, text=body.text)


ExportFormat = Literal["txt", "md", "html", "yjs"]
ImportFormat = Literal["txt", "md", "html", "yjs", "etherpad"]


def _import_format(fmt: ImportFormat | None, file: UploadFile) -> str:
    found = fmt or format_of(file.filename or "")
    if found is None:
        raise InvalidValue(
            "Say the file's format (txt, md, html, yjs, etherpad): "
            f"{(file.filename or '')[:60]!r} does not tell it."
        )
    return found


def _attachment(body: bytes, media_type: str, filename: str) -> Response:
    return Response(
        body, media_type=media_type, headers={"Content-Disposition": content_disposition(filename)}
    )


async def _read_limited(file: UploadFile, limit: int) -> bytes:
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ImportTooLarge(f"The file is over {limit} bytes, the most an import takes.")
    return data


@router.get(
    "/{pad_id}/export/{fmt}",
    responses={
        200: {
            "content": {
                "text/plain": {},
                "text/markdown": {},
                "text/html": {},
                "application/octet-stream": {},
            }
        }
    },
)
async def export_pad(pad_id: str, fmt: ExportFormat, who: Caller, services: ServicesDep) -> Response:
    """The pad as plain text, Markdown, a standalone HTML page, or its Yjs update (a backup that
    another crdtpad or any Yjs app imports)."""
    return _attachment(*await services.pads.export(who, pad_id, fmt))


@router.post("/import", status_code=status.HTTP_201_CREATED)
async def import_new_pad(
    who: Caller,
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="txt, md, html, yjs or etherpad")],
    fmt: Annotated[ImportFormat | None, Form(alias="format")] = None,
    title: Annotated[str, Form(max_length=MAX_TITLE_CHARS)] = "",
    visibility: Annotated[Visibility, Form()] = "public",
    password: Annotated[str | None, Form(max_length=1024)] = None,
    folder_id: Annotated[str | None, Form(max_length=64)] = None,
) -> PadOut:
    """A new pad from a file (multipart): a bad file is a 400 naming what is wrong, and no pad."""
    kind = _import_format(fmt, file)
    data = await _read_limited(file, services.settings.max_import_bytes)
    record = await services.pads.create(who, title or (file.filename or ""), visibility, password, folder_id)
    try:
        await services.pads.import_into(who, record.id, kind, data)
    except BaseException:
        await services.pads.erase(record.id)  # a refused file leaves no half-made pad behind
        raise
    _, rights = await services.pads.view(who, record.id)
    return PadOut.of(record, rights)


@router.post("/{pad_id}/import", status_code=status.HTTP_204_NO_CONTENT)
async def import_into_pad(
    pad_id: str,
    who: Caller,
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="txt, md, html, yjs or etherpad")],
    fmt: Annotated[ImportFormat | None, Form(alias="format")] = None,
) -> None:
    """Fill an empty pad from a file (edit right); a pad with content answers 409."""
    kind = _import_format(fmt, file)
    data = await _read_limited(file, services.settings.max_import_bytes)
    await services.pads.import_into(who, pad_id, kind, data)


class RevisionOut(BaseModel):
    """A revision: its number, the log position it shows, a name if saved, when, how big."""

    rev: int
    seq: int
    name: str | None
    created_at: int
    size: int


class RevisionIn(Strict):
    """A name for the pad as it is now."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "before the test"}]})

    name: str = Field(max_length=MAX_TITLE_CHARS)


class Restored(BaseModel):
    """The revision made by restoring an older one."""

    rev: int


@router.get("/{pad_id}/revisions")
async def list_revisions(pad_id: str, who: Caller, services: ServicesDep) -> list[RevisionOut]:
    """The pad's revisions, oldest first: one per burst of activity (kept up to
    ``CRDTPAD_REVISIONS_KEPT``) and every saved one."""
    return [
        RevisionOut(rev=r.rev, seq=r.seq, name=r.name, created_at=r.created_at, size=r.size)
        for r in await services.pads.revisions(who, pad_id)
    ]


@router.post("/{pad_id}/revisions", status_code=status.HTTP_201_CREATED)
async def save_revision(pad_id: str, body: RevisionIn, who: Caller, services: ServicesDep) -> Restored:
    """Keep the pad as it is now under a name (Etherpad's saved revision)."""
    return Restored(rev=await services.pads.save_revision(who, pad_id, body.name))


@router.get("/{pad_id}/revisions/{rev}/export/{fmt}")
async def export_revision(
    pad_id: str, rev: int, fmt: ExportFormat, who: Caller, services: ServicesDep
) -> Response:
    """The pad as it was at a revision, in an export format."""
    return _attachment(*await services.pads.export_revision(who, pad_id, rev, fmt))


@router.post("/{pad_id}/revisions/{rev}/restore")
async def restore_revision(pad_id: str, rev: int, who: Caller, services: ServicesDep) -> Restored:
    """Bring the text back to a revision as a new change: open clients converge, nothing is lost
    from the history."""
    return Restored(rev=await services.pads.restore(who, pad_id, rev))


class Person(BaseModel):
    """Someone on the pad now, as their client presents itself."""

    client: int
    name: str
    color: str


class PadStats(BaseModel):
    """Etherpad-style counts."""

    chars: int
    lines: int
    revisions: int
    connections: int
    last_edited: int


@router.post("/{pad_id}/text/append", status_code=status.HTTP_204_NO_CONTENT)
async def append_text(pad_id: str, body: TextIn, who: Caller, services: ServicesDep) -> None:
    """Add text at the end of the pad (Etherpad's appendText); stored and relayed before this answers."""
    await services.pads.append_text(who, pad_id, body.text)


@router.get("/{pad_id}/users")
async def pad_users(pad_id: str, who: Caller, services: ServicesDep) -> list[Person]:
    """Who is connected to the pad now (their presence: name and colour)."""
    return [Person.model_validate(p) for p in await services.pads.presence(who, pad_id)]


@router.get("/{pad_id}/stats")
async def pad_stats(pad_id: str, who: Caller, services: ServicesDep) -> PadStats:
    """Characters, lines, revisions, connections and when it was last edited (unix ms)."""
    return PadStats.model_validate(await services.pads.stats(who, pad_id))


class ChatMessage(BaseModel):
    """A chat message as the pad holds it (fields as the sending client wrote them)."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    author: str | None = None
    text: str | None = None
    at: float | None = None


class Removed(BaseModel):
    """How many chat messages went."""

    removed: int


@router.get("/{pad_id}/chat")
async def chat_history(pad_id: str, who: Caller, services: ServicesDep) -> list[ChatMessage]:
    """The pad's chat, oldest first."""
    return [ChatMessage.model_validate(m) for m in await services.pads.chat(who, pad_id)]


@router.delete("/{pad_id}/chat/{message_id}")
async def delete_chat_message(pad_id: str, message_id: str, who: Caller, services: ServicesDep) -> Removed:
    """Moderation by the pad's owners and folder admins: delete one message (it goes from every
    open page at once, as any edit)."""
    return Removed(removed=await services.pads.delete_chat(who, pad_id, message_id))


@router.delete("/{pad_id}/chat")
async def clear_chat(pad_id: str, who: Caller, services: ServicesDep) -> Removed:
    """Moderation by the pad's owners and folder admins: clear the chat."""
    return Removed(removed=await services.pads.delete_chat(who, pad_id, None))


sharing_routes(router, "pad")
pad_token_routes(router)
