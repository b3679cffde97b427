"""The role use cases behind the Roles pages and the API (on SQLite and PostgreSQL): the list refused to
those who may view none, with policy and holder counts; a role's page; what a principal may do with a
role and why a form is refused; the choices of a new role; binding a group by its name; and replacing a
role's policies while keeping the rest."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Connection

from gatehouse.errors import Forbidden, NotFound, Protected
from gatehouse.iam import policies
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import SUPER_ADMIN_ROLE_ID
from gatehouse.iam.rbac_forms import policy_input, role_input
from gatehouse.store.policies import StoredPolicy
from gatehouse.store.roles import StoredRole
from support.iam import People, add_group, add_user

READ_USERS = {"statement": [{"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]}]}


def _sre(people: People) -> tuple[StoredRole, StoredPolicy, str]:
    """A role "SRE" with one policy, held by two users and bound to one group."""

    def setup(connection: Connection) -> Any:
        policy = policies.create_policy(connection, people.root, policy_input("read users", READ_USERS))
        role = rbac.create_role(connection, people.root, role_input("SRE", "", {"team": "sre"}), [policy.id]).role
        for name in ("ann", "bob"):
            rbac.assign_role(connection, people.root, add_user(connection, name), role.id)
        group = add_group(connection, "Ops")
        rbac.bind_group_role(connection, people.root, group, role.id)
        return role, policy, group

    return people.run(setup)


def test_the_list_is_refused_to_someone_who_may_view_no_role(people: People) -> None:
    with pytest.raises(Forbidden, match="iam:GetRole"):
        people.run(lambda c: rbac.role_lines(c, people.nobody))
    assert people.run(lambda c: rbac.viewable_roles(c, people.viewer))


def test_role_lines_count_policies_users_and_groups(people: People) -> None:
    role, _, _ = _sre(people)
    line = next(line for line in people.run(lambda c: rbac.role_lines(c, people.root)) if line.role.id == role.id)
    assert line.policies == 1 and line.counts.users == 2 and line.counts.groups == 1


def test_a_role_page_shows_policies_holders_groups_and_what_may_be_attached(people: People) -> None:
    role, policy, group = _sre(people)
    shown = people.run(lambda c: rbac.role_page(c, people.root, role.id, holders_shown=1))
    assert [p.id for p in shown.view.policies] == [policy.id]
    assert [g.id for g in shown.groups] == [group]
    assert shown.counts.users == 2 and [h.display for h in shown.holders] == ["ann"]
    assert policy.id not in {p.id for p in shown.attachable} and shown.attachable
    with pytest.raises(NotFound):
        people.run(lambda c: rbac.role_page(c, people.root, "no-such-role"))
    with pytest.raises(Forbidden):
        people.run(lambda c: rbac.role_page(c, people.nobody, role.id))


def test_abilities_and_refusals(people: People) -> None:
    role, _, _ = _sre(people)
    super_admin = people.run(lambda c: rbac.get_role(c, people.root, SUPER_ADMIN_ROLE_ID)).role
    assert rbac.role_abilities(people.root, role) == rbac.RoleAbilities(update=True, delete=True, bind=True)
    assert rbac.role_abilities(people.root, super_admin) == rbac.RoleAbilities(False, False, False)
    assert rbac.role_abilities(people.viewer, role) == rbac.RoleAbilities(False, False, False)
    assert rbac.refusal(people.root, role, "update") is None
    assert isinstance(rbac.refusal(people.root, super_admin, "delete"), Protected)
    refused = rbac.refusal(people.viewer, role, "update")
    assert isinstance(refused, Forbidden) and "iam:UpdateRole" in refused.detail


def test_a_new_role_starts_from_the_viewable_policies_if_roles_may_be_created(people: People) -> None:
    choices = people.run(lambda c: rbac.new_role_choices(c, people.root))
    assert {p.name for p in choices} >= {"super-admin-permission-policy"}
    with pytest.raises(Forbidden, match="iam:CreateRole"):
        people.run(lambda c: rbac.new_role_choices(c, people.viewer))


def test_bind_a_group_by_its_name(people: People) -> None:
    role, _, _ = _sre(people)
    group = people.run(lambda c: add_group(c, "Platform Team"))
    bound = people.run(lambda c: rbac.bind_group_by_name(c, people.root, "  Platform Team ", role.id))
    assert bound.id == group
    assert group in {g.id for g in people.run(lambda c: rbac.groups_of_role(c, people.root, role.id))}
    with pytest.raises(NotFound, match="no group named 'Nope'"):
        people.run(lambda c: rbac.bind_group_by_name(c, people.root, "Nope", role.id))
    with pytest.raises(NotFound, match="Type the name"):
        people.run(lambda c: rbac.bind_group_by_name(c, people.root, " ", role.id))
    with pytest.raises(Forbidden):
        people.run(lambda c: rbac.bind_group_by_name(c, people.viewer, "Platform Team", role.id))


def test_set_role_policies_keeps_name_description_and_labels(people: People) -> None:
    role, policy, _ = _sre(people)
    other = people.run(lambda c: policies.create_policy(c, people.root, policy_input("other", READ_USERS)))
    view = people.run(lambda c: rbac.set_role_policies(c, people.root, role.id, [other.id]))
    assert [p.id for p in view.policies] == [other.id]
    assert (view.role.name, view.role.labels) == ("SRE", {"team": "sre"}) and view.role.version > role.version
    with pytest.raises(NotFound):
        people.run(lambda c: rbac.set_role_policies(c, people.root, role.id, ["missing"]))
    assert policy.id not in {p.id for p in people.run(lambda c: rbac.get_role(c, people.root, role.id)).policies}


def test_set_group_roles_tells_the_roles_now_bound(people: People) -> None:
    role, _, group = _sre(people)
    viewer_role = people.run(lambda c: rbac.viewable_roles(c, people.root))
    viewer = next(r for r in viewer_role if r.name == "Viewer")
    done = people.run(lambda c: rbac.set_group_roles(c, people.root, group, [viewer.id]))
    assert done.added == (viewer.id,) and done.removed == (role.id,)
    assert [r.name for r in done.now] == ["Viewer"]
