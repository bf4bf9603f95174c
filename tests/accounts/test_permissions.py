"""can(role, action): every cell of the matrix, and nothing but Roles and Actions."""

from __future__ import annotations

import pytest

from crdtpad.permissions import Action, Role, can

EXPECTED = {
    (Role.OWNER, Action.VIEW): True,
    (Role.OWNER, Action.EDIT): True,
    (Role.OWNER, Action.MANAGE): True,
    (Role.OWNER, Action.DELETE): True,
    (Role.EDITOR, Action.VIEW): True,
    (Role.EDITOR, Action.EDIT): True,
    (Role.EDITOR, Action.MANAGE): False,
    (Role.EDITOR, Action.DELETE): False,
    (Role.VIEWER, Action.VIEW): True,
    (Role.VIEWER, Action.EDIT): False,
    (Role.VIEWER, Action.MANAGE): False,
    (Role.VIEWER, Action.DELETE): False,
}


def test_the_matrix_covers_every_role_and_action() -> None:
    assert set(EXPECTED) == {(r, a) for r in Role for a in Action}


@pytest.mark.parametrize(("role", "action"), list(EXPECTED))
def test_can(role: Role, action: Action) -> None:
    assert can(role, action) is EXPECTED[(role, action)]


def test_roles_and_actions_are_exactly_these() -> None:
    assert [r.value for r in Role] == ["owner", "editor", "viewer"]
    assert [a.value for a in Action] == ["view", "edit", "manage", "delete"]


@pytest.mark.parametrize(
    ("role", "action"),
    [("owner", Action.VIEW), (Role.OWNER, "view"), ("OWNER", Action.VIEW), (None, Action.VIEW), (1, 1)],
)
def test_anything_but_a_role_and_an_action_is_refused(role: object, action: object) -> None:
    with pytest.raises(TypeError):
        can(role, action)  # type: ignore[arg-type]
