"""``pad_rights`` and ``folder_rights``: pure decisions, checked case by case and by property."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crdtpad.permissions import (
    Action,
    FolderAcl,
    Grant,
    PadAcl,
    Rights,
    Role,
    folder_rights,
    pad_rights,
    strongest,
)

NOW = 1_000_000
OWNER, MEMBER, STRANGER, FOLDER_OWNER = 1, 2, 3, 4


def pad(visibility: str = "private", folder: FolderAcl | None = None) -> PadAcl:
    return PadAcl("p", OWNER, visibility, folder)  # type: ignore[arg-type]


def link(
    role: Role, *, pad_id: str | None = "p", folder_id: str | None = None, expires: int | None = None
) -> Grant:
    return Grant("link", 1, role, pad_id, folder_id, expires)


def test_private_pads_are_invisible_to_strangers_and_anonymous() -> None:
    assert pad_rights(None, None, pad(), NOW) is None
    assert pad_rights(STRANGER, None, pad(), NOW) is None


def test_public_pads_let_anyone_edit_but_only_the_owner_manage() -> None:
    anyone = pad_rights(None, None, pad("public"), NOW)
    assert anyone == Rights(Role.EDITOR)
    assert anyone.can(Action.EDIT) and not anyone.can(Action.MANAGE)
    assert pad_rights(OWNER, None, pad("public"), NOW) == Rights(Role.OWNER)


def test_a_password_pad_opens_with_its_unlock_token_only() -> None:
    unlock = Grant("unlock", 1, Role.EDITOR, "p", None, NOW + 1)
    assert pad_rights(None, None, pad("password"), NOW) is None
    assert pad_rights(None, unlock, pad("password"), NOW) == Rights(Role.EDITOR)
    assert (
        pad_rights(None, Grant("unlock", 1, Role.EDITOR, "other", None, None), pad("password"), NOW) is None
    )
    # An unlock token is worth nothing once the pad is no longer a password pad.
    assert pad_rights(None, unlock, pad("private"), NOW) is None


def test_links_grant_their_role_until_they_expire() -> None:
    assert pad_rights(None, link(Role.VIEWER), pad(), NOW) == Rights(Role.VIEWER)
    assert pad_rights(None, link(Role.EDITOR, expires=NOW + 1), pad(), NOW) == Rights(Role.EDITOR)
    assert pad_rights(None, link(Role.EDITOR, expires=NOW), pad(), NOW) is None
    assert pad_rights(None, link(Role.EDITOR, pad_id="other"), pad(), NOW) is None


def test_folder_access_reaches_its_pads_and_archiving_freezes_them() -> None:
    folder = FolderAcl("f", FOLDER_OWNER, False, {MEMBER: Role.VIEWER})
    assert pad_rights(FOLDER_OWNER, None, pad(folder=folder), NOW) == Rights(Role.OWNER)
    assert pad_rights(MEMBER, None, pad(folder=folder), NOW) == Rights(Role.VIEWER)
    assert pad_rights(None, link(Role.EDITOR, pad_id=None, folder_id="f"), pad(folder=folder), NOW) == Rights(
        Role.EDITOR
    )
    archived = FolderAcl("f", FOLDER_OWNER, True)
    frozen = pad_rights(OWNER, None, pad(folder=archived), NOW)
    assert frozen == Rights(Role.OWNER, read_only=True)
    assert not frozen.can(Action.EDIT) and frozen.can(Action.MANAGE) and frozen.can(Action.DELETE)


def test_folder_rights_ignore_pad_links() -> None:
    folder = FolderAcl("f", FOLDER_OWNER, False)
    assert folder_rights(None, link(Role.EDITOR), folder, NOW) is None
    assert folder_rights(STRANGER, None, folder, NOW) is None


roles = st.sampled_from(Role)
maybe_role = st.none() | roles
grants = st.none() | st.builds(
    Grant,
    kind=st.sampled_from(["link", "unlock"]),
    id=st.just(1),
    role=st.sampled_from([Role.EDITOR, Role.VIEWER]),
    pad_id=st.sampled_from(["p", "other", None]),
    folder_id=st.sampled_from(["f", None]),
    expires_at=st.none() | st.integers(NOW - 5, NOW + 5),
)
folders = st.none() | st.builds(
    FolderAcl,
    id=st.just("f"),
    owner_id=st.sampled_from([FOLDER_OWNER, MEMBER]),
    archived=st.booleans(),
    members=st.dictionaries(st.sampled_from([MEMBER, STRANGER]), roles, max_size=2),
)
pads = st.builds(
    PadAcl,
    id=st.just("p"),
    owner_id=st.sampled_from([OWNER, None]),
    visibility=st.sampled_from(["public", "private", "password"]),
    folder=folders,
    members=st.dictionaries(st.sampled_from([MEMBER, STRANGER]), roles, max_size=2),
)
users = st.sampled_from([None, OWNER, MEMBER, STRANGER, FOLDER_OWNER])


@given(users, grants, pads)
def test_adding_a_membership_never_takes_rights_away(
    user: int | None, grant: Grant | None, acl: PadAcl
) -> None:
    before = pad_rights(user, grant, acl, NOW)
    if user is None or user in acl.members:
        return
    for role in Role:
        widened = PadAcl(acl.id, acl.owner_id, acl.visibility, acl.folder, {**acl.members, user: role})
        after = pad_rights(user, grant, widened, NOW)
        assert after is not None
        if before is not None:
            assert strongest(before.role, after.role) == after.role


@given(users, grants, pads)
def test_an_archived_folder_never_lets_anyone_edit(
    user: int | None, grant: Grant | None, acl: PadAcl
) -> None:
    rights = pad_rights(user, grant, acl, NOW)
    if acl.folder is not None and acl.folder.archived and rights is not None:
        assert not rights.can(Action.EDIT)


@given(users, grants, pads)
def test_only_public_pads_admit_anonymous_callers_without_a_token(
    user: int | None, grant: Grant | None, acl: PadAcl
) -> None:
    if user is None and grant is None:
        assert (pad_rights(None, None, acl, NOW) is not None) == (acl.visibility == "public")


@given(maybe_role, maybe_role, maybe_role)
def test_strongest_is_order_free(a: Role | None, b: Role | None, c: Role | None) -> None:
    assert strongest(a, b, c) == strongest(c, a, b) == strongest(b, c, a)
