"""What a role's page asks before a dangerous change, and what it offers instead of free text: a policy that
grants every IAM action on every resource is attached only after a confirmation that says so; groups are
bound by choosing among those that exist; a role that cannot be deleted says why instead of offering Delete.
Read-only helpers over :mod:`gatehouse.iam.roles` and :mod:`gatehouse.iam.policies` (their use cases check
the permissions and make the changes)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from gatehouse.iam.authorizer import Principal
from gatehouse.iam.catalog import ACTIONS
from gatehouse.iam.policies import get_policy
from gatehouse.iam.policy_parse import parse_policy
from gatehouse.iam.roles import RolePage, bind_group_role, groups_of_role, require_update
from gatehouse.store import group_directory
from gatehouse.store.database import Connection
from gatehouse.store.policies import StoredPolicy
from gatehouse.store.records import Reference

_IAM_ACTIONS: Final = frozenset(action.name for action in ACTIONS if action.name.startswith("iam:"))
_PROBE: Final = "arn:gatehouse:iam:organization/*"
GROUP_CHOICES: Final = 500
"""At most this many groups are offered in the role page's select (by name); beyond, the name is typed."""


def grants_everything(policy: StoredPolicy) -> bool:
    """Whether the policy allows every IAM action on every resource, unconditionally, and denies nothing: a
    role holding it may do anything an administrator can (Super Admin's own policy is one)."""
    document = parse_policy(json.loads(policy.document))
    if any(statement.effect == "deny" for statement in document.statements):
        return False
    covered: set[str] = set()
    for statement in document.statements:
        if statement.conditions or not any(pattern.matches(_PROBE) for pattern in statement.resources):
            continue
        if any(pattern.matches("arn:gatehouse:iam:role/any") for pattern in statement.resources):
            covered |= statement.action_names
    return covered >= _IAM_ACTIONS


def sweeping_policies(
    connection: Connection, principal: Principal, role_id: str, policy_ids: Sequence[str]
) -> list[StoredPolicy]:
    """Those of ``policy_ids`` that grant everything, for attaching to the role (``iam:UpdateRole`` on the role,
    ``iam:GetPermissionPolicy`` on each policy)."""
    require_update(connection, principal, role_id)
    return [p for p in (get_policy(connection, principal, i) for i in policy_ids) if grants_everything(p)]


@dataclass(frozen=True, slots=True)
class GroupChoices:
    """The groups the role page offers to bind: by name, those not bound yet; ``more`` when there are more
    groups than the select holds (the name is then typed)."""

    groups: list[Reference]
    more: bool


def group_choices(connection: Connection, principal: Principal, role_id: str) -> GroupChoices:
    """The groups that could still be bound to the role (``iam:GetGroupBinding``)."""
    bound = {group.id for group in groups_of_role(connection, principal, role_id)}
    listed = group_directory.list_groups(connection, "", 1, GROUP_CHOICES)
    groups = [Reference(row.id, row.display_name) for row in listed.rows if row.id not in bound]
    return GroupChoices(groups, listed.total > GROUP_CHOICES)


def delete_blocker(page: RolePage) -> str | None:
    """Why the role cannot be deleted now (a sentence), or ``None``."""
    role = page.view.role
    if role.built_in:
        return f"The built-in role {role.name} cannot be deleted."
    uses = []
    if page.counts.users:
        uses.append(f"{page.counts.users} user{'' if page.counts.users == 1 else 's'} hold it")
    if page.groups:
        count = len(page.groups)
        uses.append(f"{count} group{'' if count == 1 else 's'} {'is' if count == 1 else 'are'} bound to it")
    if not uses:
        return None
    return f"It cannot be deleted while {' and '.join(uses)}: remove them first."


def bind_group_by_id(connection: Connection, principal: Principal, group_id: str, role_id: str) -> Reference:
    """Bind the group chosen in the role page's select to the role (:func:`~gatehouse.iam.roles.bind_group_role`
    checks the permission and that both exist); the group, named."""
    bind_group_role(connection, principal, group_id, role_id)
    summary = group_directory.group_summary(connection, group_id, 0)
    return Reference(group_id, summary.display_name if summary is not None else group_id)
