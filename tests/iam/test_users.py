"""The user use cases behind the Users pages and the admin API (on SQLite and PostgreSQL): the checks that run
before a change's transaction (an invitation, a password reset), the user a form or confirmation is about,
the list with each user's roles, what a principal may do on a user, and a user's page with its grants apart
by where they come from; every one refused to those who may not."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict, Forbidden, InvalidInput, NotFound
from gatehouse.iam import policies
from gatehouse.iam import users as admin
from gatehouse.iam.authorizer import SUPER_ADMIN_ROLE_ID
from gatehouse.iam.rbac_forms import policy_input
from gatehouse.store import policies as policy_store
from gatehouse.store import roles as role_store
from gatehouse.store.directory import DirectoryQuery
from gatehouse.store.records import utcnow
from support.iam import People

STRONG = "a strong one time password"
HASHED = admin.OneTimePassword("not a real hash: these tests never sign in")
READ_USERS = {"statement": [{"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]}]}


def _local(people: People, name: str) -> str:
    """A local user, invited by the Super Admin."""
    new = admin.new_local_user(name)
    return people.run(lambda c: admin.create_local_user(c, people.root, new, HASHED)).id


def _profile(people: People, user_id: str) -> Any:
    return people.run(lambda c: admin.view_user(c, people.root, user_id)).profile


# ------------------------------------------------------------------------------------------ before a change


def test_an_invitation_is_checked_permission_first_then_fields_then_password(people: People) -> None:
    with pytest.raises(Forbidden, match="iam:InviteUser"):
        admin.invitation(people.viewer, "two words", "weak")  # refused before anything else is looked at
    with pytest.raises(Forbidden, match="iam:InviteUser"):
        admin.require_invite(people.nobody)
    admin.require_invite(people.root)
    with pytest.raises(InvalidInput, match="without spaces"):
        admin.invitation(people.root, "two words", STRONG)
    with pytest.raises(InvalidInput, match="at least 12"):
        admin.invitation(people.root, "ann", "weak")
    invited = admin.invitation(people.root, " ann ", STRONG, "Ann@Example.com", "  Ann   Lee ")
    assert invited.user == admin.NewLocalUser("ann", "Ann@Example.com", "Ann Lee")
    assert invited.password.password_hash.startswith("$argon2")


def test_an_invited_user_is_created_once_and_a_taken_username_is_a_conflict(people: People) -> None:
    invited = admin.invitation(people.root, "ann", STRONG)
    created = people.run(lambda c: admin.create_local_user(c, people.root, invited.user, invited.password))
    assert (created.user_name, created.source) == ("ann", admin.LOCAL)
    again = admin.invitation(people.root, "ANN", STRONG)  # the invitation does not read the directory
    with pytest.raises(Conflict, match="already taken"):
        people.run(lambda c: admin.create_local_user(c, people.root, again.user, again.password))


def test_a_password_reset_is_checked_permission_first(people: People) -> None:
    target = _local(people, "ann")
    with pytest.raises(Forbidden, match="iam:ResetPassword"):
        admin.password_reset(people.viewer, target, "weak")
    with pytest.raises(InvalidInput, match="at least 12"):
        admin.password_reset(people.root, target, "weak")
    chosen = admin.password_reset(people.root, target, STRONG)
    people.run(lambda c: admin.reset_password(c, people.root, target, chosen))
    assert people.run(lambda c: admin.view_user(c, people.root, target)).profile.must_change_password


def test_the_user_a_form_is_about_is_refused_before_it_is_looked_up(people: People) -> None:
    target = _local(people, "ann")
    assert people.run(lambda c: admin.user_to_change(c, people.root, "iam:DeleteUser", target)).user_name == "ann"
    with pytest.raises(Forbidden, match="iam:DeleteUser"):
        people.run(lambda c: admin.user_to_change(c, people.viewer, "iam:DeleteUser", target))
    with pytest.raises(Forbidden):  # an unknown id says nothing to someone who may not act
        people.run(lambda c: admin.user_to_change(c, people.viewer, "iam:DeleteUser", "no-such-user"))
    with pytest.raises(NotFound, match="no user with this id"):
        people.run(lambda c: admin.user_to_change(c, people.root, "iam:DeleteUser", "no-such-user"))


# ------------------------------------------------------------------------------------------ the list


def test_the_list_shows_each_users_roles_and_is_refused_to_a_user_without_a_role(people: People) -> None:
    with pytest.raises(Forbidden, match="iam:GetUser"):
        people.run(lambda c: admin.user_lines(c, people.nobody, DirectoryQuery()))
    seen = people.run(lambda c: admin.user_lines(c, people.viewer, DirectoryQuery()))
    assert [row.user_name for row in seen.result.rows] == ["nora", "root", "vera"]
    assert [holding.role_name for holding in seen.held[people.viewer_id]] == ["Viewer"]
    assert seen.held.get(people.nobody.user_id or "", []) == [] and not seen.may_invite
    searched = people.run(lambda c: admin.user_lines(c, people.root, DirectoryQuery(search="ve")))
    assert [row.user_name for row in searched.result.rows] == ["vera"] and searched.may_invite


# ------------------------------------------------------------------------------------------ abilities


def test_what_a_principal_may_do_on_a_user(people: People) -> None:
    ann = _profile(people, _local(people, "ann"))
    everything = admin.user_abilities(people.root, ann)
    assert everything == admin.UserAbilities(True, True, True, False, True, True, True, True, False)
    assert admin.user_abilities(people.viewer, ann) == admin.UserAbilities(*[False] * 9)
    root = _profile(people, people.root.user_id or "")
    own = admin.user_abilities(people.root, root)  # oneself, and the protected Super Admin
    assert own.is_self and not own.manage and not own.deactivate and not own.assign_roles
    scim = admin.user_abilities(people.root, _profile(people, people.viewer_id))  # the IdP owns the account
    assert scim.deactivate and not scim.reset_password and not scim.delete and not scim.hand_over
    people.run(lambda c: admin.set_status(c, people.root, people.viewer_id, False))
    back = admin.user_abilities(people.root, _profile(people, people.viewer_id))
    assert back.reactivate and not back.deactivate and back.manage


# ------------------------------------------------------------------------------------------ a user's page


def test_a_users_page_is_the_apis_view_and_is_refused_without_get_user(people: People) -> None:
    nora = people.nobody.user_id or ""
    own = people.run(lambda c: admin.user_page(c, people.nobody, nora))
    assert own.profile.user_name == "nora" and own.may.is_self and own.held == [] and own.all_roles == []
    with pytest.raises(Forbidden, match="iam:GetUser"):
        people.run(lambda c: admin.user_page(c, people.nobody, people.viewer_id))
    with pytest.raises(NotFound, match="no user with this id"):
        people.run(lambda c: admin.user_page(c, people.root, "no-such-user"))
    shown = people.run(lambda c: admin.user_page(c, people.root, people.viewer_id))
    assert shown.view == people.run(lambda c: admin.view_user(c, people.root, people.viewer_id))


def test_a_users_page_keeps_grants_mapped_at_sso_sign_in_apart(people: People) -> None:
    def setup(connection: Connection) -> tuple[str, str, str]:
        by_hand = policies.create_policy(connection, people.root, policy_input("by hand", READ_USERS)).id
        mapped = policies.create_policy(connection, people.root, policy_input("mapped", READ_USERS)).id
        org_admin = role_store.get_by_name(connection, "Organization Admin")
        assert org_admin is not None
        user, now = people.viewer_id, utcnow()
        role_store.assign(connection, user, org_admin.id, role_store.SSO, "sso", now)
        policy_store.set_boundaries(connection, user, [by_hand], role_store.MANUAL, "root", now)
        policy_store.set_boundaries(connection, user, [mapped], role_store.SSO, "sso", now)
        return by_hand, mapped, org_admin.id

    by_hand, mapped, org_admin = people.run(setup)
    shown = people.run(lambda c: admin.user_page(c, people.root, people.viewer_id))
    assert [role.name for role in shown.held] == ["Viewer"] and [role.id for role in shown.mapped] == [org_admin]
    assert [p.id for p in shown.boundaries] == [by_hand] and [p.id for p in shown.mapped_boundaries] == [mapped]
    viewer_role = next(role.id for role in shown.held)
    assert shown.direct == {viewer_role} and shown.sso_links == []
    assert SUPER_ADMIN_ROLE_ID not in {role.id for role in shown.all_roles} and org_admin in {
        r.id for r in shown.all_roles
    }
    assert {by_hand, mapped} <= {policy.id for policy in shown.all_policies}
    as_viewer = people.run(lambda c: admin.user_page(c, people.viewer, people.viewer_id))
    assert as_viewer.may.is_self and as_viewer.all_roles == [] and as_viewer.all_policies == []
