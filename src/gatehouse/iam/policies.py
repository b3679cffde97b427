"""Permission policies: use cases, no HTTP, no commit (``iam:*PermissionPolicy`` on
``arn:gatehouse:iam:permissionpolicy/<id>``, with the policy's labels as ``permission_policy_label``).

Each function runs in the caller's transaction, takes the acting :class:`~gatehouse.iam.authorizer.Principal`
and checks its permission itself, so the dashboard, the API and the CLI cannot forget it. Built-in policies
cannot be edited or deleted (:class:`~gatehouse.errors.Protected`); a policy attached to a role or used as a
boundary cannot be deleted (:class:`~gatehouse.errors.Conflict` naming where). Documents are validated by
:func:`gatehouse.iam.policy.parse_policy` and stored in canonical form.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from gatehouse.errors import Conflict, Forbidden, GatehouseError, Protected
from gatehouse.iam.authorizer import Labels, Principal, allowed, require
from gatehouse.iam.catalog import ANY_ID, resource_name
from gatehouse.iam.rbac_forms import PolicyInput
from gatehouse.store import policies as policy_store
from gatehouse.store import roles as role_store
from gatehouse.store.database import Connection
from gatehouse.store.policies import StoredPolicy
from gatehouse.store.records import utcnow

GET = "iam:GetPermissionPolicy"


@dataclass(frozen=True, slots=True)
class PolicyUsage:
    """Where a policy is used."""

    roles: tuple[tuple[str, str], ...]
    """(id, name) of the roles it is attached to."""
    boundary_users: int
    boundary_user_names: tuple[str, ...]
    """The first few, by name."""

    @property
    def in_use(self) -> bool:
        return bool(self.roles) or self.boundary_users > 0


def policy_labels(policy: StoredPolicy) -> Labels:
    """The labels a policy is checked with (``permission_policy_label``)."""
    return {"permission_policy_label": policy.labels}


def load_policy(connection: Connection, policy_id: str, *, for_update: bool = False) -> StoredPolicy:
    """The policy, or :class:`NotFound`."""
    return policy_store.existing(connection, policy_id, for_update=for_update)


def load_policies(connection: Connection, policy_ids: Sequence[str]) -> dict[str, StoredPolicy]:
    """The policies by id; :class:`NotFound` naming any id that is none."""
    return policy_store.existing_many(connection, policy_ids)


def names_text(names: Sequence[str], total: int) -> str:
    """``a, b and 3 more``: the first ``names`` of ``total``."""
    shown = ", ".join(names)
    return f"{shown} and {total - len(names)} more" if total > len(names) else shown


def list_policies(connection: Connection, principal: Principal) -> list[StoredPolicy]:
    """The policies the principal may view (``iam:GetPermissionPolicy`` on each), by name."""
    return [
        policy
        for policy in policy_store.list_all(connection)
        if allowed(
            principal, "iam:GetPermissionPolicy", resource_name("permissionpolicy", policy.id), policy_labels(policy)
        )
    ]


def get_policy(connection: Connection, principal: Principal, policy_id: str) -> StoredPolicy:
    """A permission policy (its ``document`` is canonical JSON text)."""
    policy = load_policy(connection, policy_id)
    require(principal, "iam:GetPermissionPolicy", resource_name("permissionpolicy", policy.id), policy_labels(policy))
    return policy


def policy_usage(connection: Connection, principal: Principal, policy_id: str) -> PolicyUsage:
    """The roles a policy is attached to and the users it bounds."""
    policy = get_policy(connection, principal, policy_id)
    return _usage_of(connection, policy.id)


def _usage_of(connection: Connection, policy_id: str) -> PolicyUsage:
    count, names = policy_store.boundary_users(connection, policy_id)
    return PolicyUsage(tuple(policy_store.roles_using(connection, policy_id)), count, tuple(names))


def create_policy(connection: Connection, principal: Principal, form: PolicyInput) -> StoredPolicy:
    """Create a permission policy. A taken name (any case) is a Conflict."""
    labels = {"permission_policy_label": form.labels}
    require(principal, "iam:CreatePermissionPolicy", resource_name("permissionpolicy", ANY_ID), labels)
    return policy_store.insert(connection, str(uuid.uuid4()), form.write(), utcnow())


def update_policy(
    connection: Connection,
    principal: Principal,
    policy_id: str,
    form: PolicyInput,
    expected_version: int | None = None,
) -> StoredPolicy:
    """Replace a custom policy's name, description, labels and document. Its version moves, so every
    process's authorizer reads the new document on the next request."""
    policy = load_policy(connection, policy_id, for_update=True)
    resource = resource_name("permissionpolicy", policy.id)
    require(principal, "iam:UpdatePermissionPolicy", resource, policy_labels(policy))
    if form.labels != policy.labels:
        require(principal, "iam:UpdatePermissionPolicy", resource, {"permission_policy_label": form.labels})
    if policy.built_in:
        raise Protected(f"The built-in permission policy '{policy.name}' cannot be edited or deleted.")
    return policy_store.update(connection, policy.id, form.write(), utcnow(), expected_version)


def delete_policy(connection: Connection, principal: Principal, policy_id: str) -> StoredPolicy:
    """Delete a custom policy that no role uses and that bounds no user."""
    policy = load_policy(connection, policy_id, for_update=True)
    require(
        principal,
        "iam:DeletePermissionPolicy",
        resource_name("permissionpolicy", policy.id),
        policy_labels(policy),
    )
    if policy.built_in:
        raise Protected(f"The built-in permission policy '{policy.name}' cannot be edited or deleted.")
    usage = _usage_of(connection, policy.id)
    if usage.in_use:
        uses = []
        if usage.roles:
            names = ", ".join(name for _, name in usage.roles)
            uses.append(f"attached to role{'s' if len(usage.roles) != 1 else ''} {names}")
        if usage.boundary_users:
            count = usage.boundary_users
            users_text = names_text(list(usage.boundary_user_names), count)
            uses.append(f"the permission boundary of {count} user{'s' if count != 1 else ''} ({users_text})")
        raise Conflict(
            f"The permission policy '{policy.name}' cannot be deleted: it is {' and '.join(uses)}. Detach it first."
        )
    policy_store.delete(connection, policy.id)
    return policy


# ------------------------------------------------------------------------------------------ pages


def viewable_policies(connection: Connection, principal: Principal) -> list[StoredPolicy]:
    """:func:`list_policies`, refused (``iam:GetPermissionPolicy`` on ``permissionpolicy/*``) when the
    principal may view none: what the Permission Policies list shows, on every surface."""
    found = list_policies(connection, principal)
    if not found:
        require(principal, GET, resource_name("permissionpolicy", ANY_ID))
    return found


@dataclass(frozen=True, slots=True)
class PolicyLine:
    """One line of the Permission Policies table: the policy and how many roles it is attached to."""

    policy: StoredPolicy
    roles: int


def policy_lines(connection: Connection, principal: Principal) -> list[PolicyLine]:
    """The viewable policies, each with the number of roles using it (:func:`viewable_policies`)."""
    found = viewable_policies(connection, principal)
    using: dict[str, int] = {}
    attached = role_store.policy_ids_of(connection, [role.id for role in role_store.list_all(connection)])
    for policy_ids in attached.values():
        for policy_id in policy_ids:
            using[policy_id] = using.get(policy_id, 0) + 1
    return [PolicyLine(policy, using.get(policy.id, 0)) for policy in found]


@dataclass(frozen=True, slots=True)
class PolicyAbilities:
    """What the principal may do with a policy (with its labels); the changes check again."""

    update: bool
    delete: bool


def policy_abilities(principal: Principal, policy: StoredPolicy) -> PolicyAbilities:
    """Whether the principal may edit or delete ``policy`` (never a built-in one)."""
    resource = resource_name("permissionpolicy", policy.id)
    labels = policy_labels(policy)
    editable = not policy.built_in
    return PolicyAbilities(
        update=editable and allowed(principal, "iam:UpdatePermissionPolicy", resource, labels),
        delete=editable and allowed(principal, "iam:DeletePermissionPolicy", resource, labels),
    )


def refusal(principal: Principal, policy: StoredPolicy, verb: Literal["update", "delete"]) -> GatehouseError | None:
    """Why the principal may not open the edit or delete form of ``policy``, or ``None``."""
    if policy.built_in:
        return Protected(f"The built-in permission policy '{policy.name}' cannot be edited or deleted.")
    if not getattr(policy_abilities(principal, policy), verb):
        action = f"iam:{verb.title()}PermissionPolicy"
        return Forbidden(f"You are not allowed to {verb} the permission policy '{policy.name}' ({action}).")
    return None


def may_create(principal: Principal) -> bool:
    """Whether the principal may create permission policies at all."""
    return allowed(principal, "iam:CreatePermissionPolicy", resource_name("permissionpolicy", ANY_ID))


def require_create(principal: Principal) -> None:
    """Refuse (403) a principal who may not create permission policies: before showing the editor."""
    if not may_create(principal):
        raise Forbidden("You are not allowed to create permission policies (iam:CreatePermissionPolicy).")
