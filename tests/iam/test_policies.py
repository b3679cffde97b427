"""The permission-policy use cases every surface calls (on SQLite and PostgreSQL): the list refused to
those who may view none, the list's role counts, what a principal may do with a policy and why a form is
refused, and the create check that comes before the editor."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Connection

from gatehouse.errors import Forbidden, Protected
from gatehouse.iam import policies
from gatehouse.iam import roles as rbac
from gatehouse.iam.authorizer import SUPER_ADMIN_POLICY_ID
from gatehouse.iam.rbac_forms import policy_input, role_input
from support.iam import People

READ_USERS = {"statement": [{"effect": "allow", "actions": ["iam:GetUser"], "resources": ["*"]}]}


def test_the_list_is_refused_to_someone_who_may_view_no_policy(people: People) -> None:
    with pytest.raises(Forbidden, match="iam:GetPermissionPolicy"):
        people.run(lambda c: policies.viewable_policies(c, people.nobody))
    with pytest.raises(Forbidden):
        people.run(lambda c: policies.policy_lines(c, people.nobody))
    names = [p.name for p in people.run(lambda c: policies.viewable_policies(c, people.viewer))]
    assert "super-admin-permission-policy" in names and names == sorted(names, key=str.lower)


def test_policy_lines_count_the_roles_using_each_policy(people: People) -> None:
    def setup(connection: Connection) -> Any:
        used = policies.create_policy(connection, people.root, policy_input("read users", READ_USERS))
        spare = policies.create_policy(connection, people.root, policy_input("spare", READ_USERS))
        rbac.create_role(connection, people.root, role_input("A", "", None), [used.id])
        rbac.create_role(connection, people.root, role_input("B", "", None), [used.id])
        return used.id, spare.id

    used, spare = people.run(setup)
    counts = {line.policy.id: line.roles for line in people.run(lambda c: policies.policy_lines(c, people.root))}
    assert counts[used] == 2 and counts[spare] == 0


def test_abilities_and_refusals(people: People) -> None:
    custom = people.run(lambda c: policies.create_policy(c, people.root, policy_input("custom", READ_USERS)))
    built_in = people.run(lambda c: policies.get_policy(c, people.root, SUPER_ADMIN_POLICY_ID))

    assert policies.policy_abilities(people.root, custom) == policies.PolicyAbilities(update=True, delete=True)
    assert policies.policy_abilities(people.root, built_in) == policies.PolicyAbilities(update=False, delete=False)
    assert policies.policy_abilities(people.viewer, custom) == policies.PolicyAbilities(update=False, delete=False)

    assert policies.refusal(people.root, custom, "delete") is None
    assert isinstance(policies.refusal(people.root, built_in, "update"), Protected)
    refused = policies.refusal(people.viewer, custom, "delete")
    assert isinstance(refused, Forbidden) and "iam:DeletePermissionPolicy" in refused.detail


def test_creating_needs_its_permission_before_the_editor_opens(people: People) -> None:
    assert policies.may_create(people.root) and not policies.may_create(people.viewer)
    policies.require_create(people.root)
    with pytest.raises(Forbidden, match="iam:CreatePermissionPolicy"):
        policies.require_create(people.viewer)
