"""Roles and what each may do: one pure function, used by the HTTP API and the sync socket alike."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType


class Role(StrEnum):
    """A user's role on a pad or folder."""

    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"


class Action(StrEnum):
    """Something done to a pad or folder."""

    VIEW = "view"  # read the document, see others' presence, send awareness
    EDIT = "edit"  # change the document
    MANAGE = "manage"  # rename, change visibility, members and share links
    DELETE = "delete"  # erase it for everyone


_GRANTS = MappingProxyType(
    {
        Role.OWNER: frozenset(Action),
        Role.EDITOR: frozenset({Action.VIEW, Action.EDIT}),
        Role.VIEWER: frozenset({Action.VIEW}),
    }
)


def can(role: Role, action: Action) -> bool:
    """Whether ``role`` may do ``action``; anything but a ``Role`` and an ``Action`` is a bug."""
    if not isinstance(role, Role) or not isinstance(action, Action):
        raise TypeError(f"can() takes a Role and an Action, not {role!r} and {action!r}")
    return action in _GRANTS[role]
