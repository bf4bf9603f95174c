"""Who may do what: roles, actions and the pure functions that decide them.

Used by the HTTP API and the sync socket alike, on data the stores return: nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Literal


class Role(StrEnum):
    """A user's role on a pad or folder (a folder's ``owner`` members are its admins)."""

    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"


class Action(StrEnum):
    """Something done to a pad or folder."""

    VIEW = "view"  # read the document, see others' presence, send awareness; list a folder
    EDIT = "edit"  # change the document; add a pad to a folder
    MANAGE = "manage"  # rename, change visibility or password, members, share links, archive
    DELETE = "delete"  # erase it for everyone


_GRANTS = MappingProxyType(
    {
        Role.OWNER: frozenset(Action),
        Role.EDITOR: frozenset({Action.VIEW, Action.EDIT}),
        Role.VIEWER: frozenset({Action.VIEW}),
    }
)
_RANK = MappingProxyType({Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3})


def can(role: Role, action: Action) -> bool:
    """Whether ``role`` may do ``action``; anything but a ``Role`` and an ``Action`` is a bug."""
    if not isinstance(role, Role) or not isinstance(action, Action):
        raise TypeError(f"can() takes a Role and an Action, not {role!r} and {action!r}")
    return action in _GRANTS[role]


def strongest(*roles: Role | None) -> Role | None:
    """The role that may do the most, of those given."""
    best: Role | None = None
    for role in roles:
        if role is not None and (best is None or _RANK[role] > _RANK[best]):
            best = role
    return best


@dataclass(frozen=True, slots=True)
class Rights:
    """A caller's standing on one pad or folder: a role, and whether its content is frozen."""

    role: Role
    read_only: bool = False  # in an archived folder: nothing is edited until it is unarchived

    def can(self, action: Action) -> bool:
        """Whether the caller may do ``action`` here."""
        if self.read_only and action is Action.EDIT:
            return False
        return can(self.role, action)


@dataclass(frozen=True, slots=True)
class Grant:
    """What a bearer token that is not an account grants: a share link, a pad's unlock token, or
    a signed pad token an embedding app minted for one of its users (``subject``, ``name``)."""

    kind: Literal["link", "unlock", "app"]
    id: int
    role: Role
    pad_id: str | None
    folder_id: str | None
    expires_at: int | None  # unix milliseconds
    subject: str | None = None  # "app": the embedding app's user id
    name: str | None = None  # "app": that user's display name

    def live(self, now_ms: int) -> bool:
        """Whether it has not expired."""
        return self.expires_at is None or self.expires_at > now_ms


@dataclass(frozen=True, slots=True)
class FolderAcl:
    """What decides access to a folder and the pads in it."""

    id: str
    owner_id: int
    archived: bool
    members: Mapping[int, Role] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PadAcl:
    """What decides access to a pad."""

    id: str
    owner_id: int | None
    visibility: Literal["public", "private", "password"]
    folder: FolderAcl | None = None
    members: Mapping[int, Role] = field(default_factory=dict)


def folder_rights(user_id: int | None, grant: Grant | None, folder: FolderAcl, now_ms: int) -> Rights | None:
    """The caller's rights on a folder, or None when it may not even see it."""
    roles: list[Role | None] = []
    if user_id is not None:
        if folder.owner_id == user_id:
            roles.append(Role.OWNER)
        roles.append(folder.members.get(user_id))
    if grant is not None and grant.kind == "link" and grant.folder_id == folder.id and grant.live(now_ms):
        roles.append(grant.role)
    role = strongest(*roles)
    return None if role is None else Rights(role, read_only=folder.archived)


def pad_rights(user_id: int | None, grant: Grant | None, pad: PadAcl, now_ms: int) -> Rights | None:
    """The caller's rights on a pad, or None when it may not even see it.

    The strongest of: anyone on a public pad (editor), the pad's owner, its members, the folder's
    rights (its owner, admins, members and links), a share link of the pad, and the unlock token
    of a password pad (editor). An archived folder makes its pads read-only for everyone.
    """
    roles: list[Role | None] = []
    if pad.visibility == "public":
        roles.append(Role.EDITOR)
    if user_id is not None:
        if pad.owner_id == user_id:
            roles.append(Role.OWNER)
        roles.append(pad.members.get(user_id))
    if grant is not None and grant.live(now_ms):
        if grant.kind in ("link", "app") and grant.pad_id == pad.id:
            roles.append(grant.role)
        elif grant.kind == "unlock" and grant.pad_id == pad.id and pad.visibility == "password":
            roles.append(Role.EDITOR)
    if pad.folder is not None:
        in_folder = folder_rights(user_id, grant, pad.folder, now_ms)
        if in_folder is not None:
            roles.append(in_folder.role)
    role = strongest(*roles)
    if role is None:
        return None
    return Rights(role, read_only=pad.folder is not None and pad.folder.archived)
