"""Roles, role assignments, boundaries and group bindings: use cases, no HTTP, no commit (permission
policies are :mod:`gatehouse.iam.policies`).

Each function runs in the caller's transaction, takes the acting :class:`~gatehouse.iam.authorizer.Principal`,
checks the catalog action on the concrete resource itself (so the dashboard, the API and the CLI cannot
forget it) and raises :mod:`gatehouse.errors`:

- roles: ``iam:GetRole`` / ``CreateRole`` (on ``role/*``) / ``UpdateRole`` / ``DeleteRole`` on
  ``arn:gatehouse:iam:role/<id>``, with the role's labels as ``role_label`` (a change of labels is checked
  against the old and the new ones); attaching or detaching policies is ``iam:UpdateRole``;
- a user's roles: ``iam:UpdateUserRole``, boundaries ``iam:UpdateUserBoundary``, on ``user/<id>``;
- a group's roles: ``iam:GetGroupBinding`` / ``iam:UpdateGroupBinding`` on ``group/<id>``.

Rules beyond permissions:

- built-in roles and policies (Super Admin) cannot be edited or deleted (:class:`~gatehouse.errors.Protected`);
- the Super Admin role is held by Super Admin accounts only, computed from ``users.super_admin``: it can
  be neither assigned to a user nor bound to a group, and Super Admin accounts take no roles or boundaries;
- a role still assigned to a user or bound to a group cannot be deleted (:class:`Conflict` naming where it
  is used; the database's RESTRICT keys settle races).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from gatehouse.errors import Conflict, Forbidden, GatehouseError, Protected, existing
from gatehouse.iam.authorizer import (
    SUPER_ADMIN_ROLE_ID,
    HeldRole,
    Labels,
    Principal,
    allowed,
    held_roles,
    require,
)
from gatehouse.iam.catalog import ANY_ID, resource_name
from gatehouse.iam.grant_expiry import settle
from gatehouse.iam.policies import list_policies, load_policies, names_text
from gatehouse.iam.rbac_forms import (  # noqa: F401 - re-exported: the forms belong to these use cases
    MAX_IDS,
    PolicyInput,
    RoleInput,
    check_labels,
    checked_ids,
    policy_input,
    role_input,
)
from gatehouse.store import group_directory
from gatehouse.store import groups as group_store
from gatehouse.store import policies as policy_store
from gatehouse.store import roles as role_store
from gatehouse.store import users as user_store
from gatehouse.store.database import Connection
from gatehouse.store.group_directory import RoleCounts
from gatehouse.store.policies import StoredPolicy
from gatehouse.store.records import Reference, StoredUser, utcnow
from gatehouse.store.roles import MANUAL, StoredRole

# ------------------------------------------------------------------------------------------ views


@dataclass(frozen=True, slots=True)
class PolicySummary:
    """A policy as listed on a role."""

    id: str
    name: str
    built_in: bool


@dataclass(frozen=True, slots=True)
class RoleView:
    """A role with its attached policies."""

    role: StoredRole
    policies: tuple[PolicySummary, ...]


@dataclass(frozen=True, slots=True)
class AssignmentChange:
    """What a replace-the-set call changed; for a group's roles, also the roles now bound, by name."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    now: tuple[StoredRole, ...] = field(default=(), compare=False)


def _role_labels(role: StoredRole) -> Labels:
    return {"role_label": role.labels}


def _role_view(connection: Connection, role: StoredRole) -> RoleView:
    ids = role_store.policy_ids_of(connection, [role.id])[role.id]
    found = policy_store.get_many(connection, ids)
    summaries = sorted(
        (PolicySummary(p.id, p.name, p.built_in) for p in found.values()), key=lambda s: (s.name.lower(), s.id)
    )
    return RoleView(role, tuple(summaries))


def _refuse_built_in_role(role: StoredRole) -> None:
    if role.built_in:
        raise Protected(f"The built-in role '{role.name}' cannot be edited or deleted.")


def _refuse_super_admin_role(roles: Mapping[str, StoredRole], *, to: str) -> None:
    for role in roles.values():
        if role.id == SUPER_ADMIN_ROLE_ID or role.built_in:
            raise Protected(
                f"The built-in role '{role.name}' cannot be given {to}: it is held by Super Admin accounts only "
                "(create one with `gatehouse admin create`)."
            )


# ------------------------------------------------------------------------------------------ roles


def list_roles(connection: Connection, principal: Principal) -> list[StoredRole]:
    """The roles the principal may view (``iam:GetRole`` on each), by name."""
    return [
        role
        for role in role_store.list_all(connection)
        if allowed(principal, "iam:GetRole", resource_name("role", role.id), _role_labels(role))
    ]


def get_role(connection: Connection, principal: Principal, role_id: str) -> RoleView:
    """A role with its policies."""
    role = role_store.existing(connection, role_id)
    require(principal, "iam:GetRole", resource_name("role", role.id), _role_labels(role))
    return _role_view(connection, role)


def create_role(
    connection: Connection, principal: Principal, form: RoleInput, policy_ids: Sequence[str] = ()
) -> RoleView:
    """Create a custom role, optionally with policies attached. A taken name (any case) is a Conflict."""
    require(principal, "iam:CreateRole", resource_name("role", ANY_ID), {"role_label": form.labels})
    ids = checked_ids(policy_ids, "policies")
    load_policies(connection, ids)
    role = role_store.insert(connection, str(uuid.uuid4()), form.write(), utcnow())
    role_store.attach(connection, role.id, ids)
    return _role_view(connection, role)


def update_role(
    connection: Connection,
    principal: Principal,
    role_id: str,
    form: RoleInput,
    policy_ids: Sequence[str] | None = None,
    expected_version: int | None = None,
) -> RoleView:
    """Change a custom role's name, description and labels, and (unless ``policy_ids`` is ``None``) make its
    policies exactly ``policy_ids``. ``expected_version`` makes it fail if the role changed meanwhile."""
    role = role_store.existing(connection, role_id, for_update=True)
    resource = resource_name("role", role.id)
    require(principal, "iam:UpdateRole", resource, _role_labels(role))
    if form.labels != role.labels:
        require(principal, "iam:UpdateRole", resource, {"role_label": form.labels})
    _refuse_built_in_role(role)
    wanted = None if policy_ids is None else checked_ids(policy_ids, "policies")
    if wanted is not None:
        load_policies(connection, wanted)
    now = utcnow()
    updated = role_store.update(connection, role.id, form.write(), now, expected_version)
    if wanted is not None:
        current = role_store.policy_ids_of(connection, [role.id])[role.id]
        removed = role_store.detach(connection, role.id, [p for p in current if p not in wanted])
        added = role_store.attach(connection, role.id, wanted)
        if added or removed:
            role_store.touch(connection, role.id, now)
            updated = role_store.existing(connection, role.id)
    return _role_view(connection, updated)


def set_role_policies(
    connection: Connection, principal: Principal, role_id: str, policy_ids: Sequence[str]
) -> RoleView:
    """Make a custom role's policies exactly ``policy_ids``, its name, description and labels kept
    (:func:`update_role`)."""
    role = role_store.existing(connection, role_id)
    return update_role(connection, principal, role_id, RoleInput(role.name, role.description, role.labels), policy_ids)


def require_update(connection: Connection, principal: Principal, role_id: str) -> None:
    """``iam:UpdateRole`` on the role, or :class:`~gatehouse.errors.Forbidden` (before a change is confirmed)."""
    role = role_store.existing(connection, role_id)
    require(principal, "iam:UpdateRole", resource_name("role", role.id), _role_labels(role))


def attach_policies(connection: Connection, principal: Principal, role_id: str, policy_ids: Sequence[str]) -> RoleView:
    """Attach policies to a custom role (already attached ones are skipped)."""
    role = role_store.existing(connection, role_id, for_update=True)
    require(principal, "iam:UpdateRole", resource_name("role", role.id), _role_labels(role))
    _refuse_built_in_role(role)
    ids = checked_ids(policy_ids, "policies")
    load_policies(connection, ids)
    if role_store.attach(connection, role.id, ids):
        role_store.touch(connection, role.id, utcnow())
        role = role_store.existing(connection, role.id)
    return _role_view(connection, role)


def detach_policies(connection: Connection, principal: Principal, role_id: str, policy_ids: Sequence[str]) -> RoleView:
    """Detach policies from a custom role (ids not attached are ignored)."""
    role = role_store.existing(connection, role_id, for_update=True)
    require(principal, "iam:UpdateRole", resource_name("role", role.id), _role_labels(role))
    _refuse_built_in_role(role)
    if role_store.detach(connection, role.id, checked_ids(policy_ids, "policies")):
        role_store.touch(connection, role.id, utcnow())
        role = role_store.existing(connection, role.id)
    return _role_view(connection, role)


def delete_role(connection: Connection, principal: Principal, role_id: str) -> StoredRole:
    """Delete a custom role that nobody holds directly and no group is bound to."""
    role = role_store.existing(connection, role_id, for_update=True)
    require(principal, "iam:DeleteRole", resource_name("role", role.id), _role_labels(role))
    _refuse_built_in_role(role)
    settle(connection)  # an expired grant, not yet recorded, holds nothing and keeps nothing from being deleted
    count, names = role_store.holders(connection, role.id)
    bound = role_store.groups_bound_to(connection, role.id)
    if count or bound:
        uses = []
        if count:
            uses.append(f"assigned to {count} user{'s' if count != 1 else ''} ({names_text(names, count)})")
        if bound:
            groups_text = ", ".join(str(group.display) for group in bound)
            uses.append(f"bound to group{'s' if len(bound) != 1 else ''} {groups_text}")
        raise Conflict(
            f"The role '{role.name}' cannot be deleted: it is {' and '.join(uses)}. "
            "Remove those assignments and bindings first."
        )
    role_store.delete(connection, role.id)
    return role


# ------------------------------------------------------------------------------------------ users


def _target_user(connection: Connection, user_id: str) -> StoredUser:
    return existing(user_store.get(connection, user_id), "There is no such user. They may have been deleted.")


def _user_to_change(connection: Connection, principal: Principal, user_id: str, action: str, what: str) -> StoredUser:
    """The user whose ``what`` (roles, permission boundaries) the principal changes by ``action``; never a Super
    Admin account (:class:`Protected`)."""
    user = _target_user(connection, user_id)
    require(principal, action, resource_name("user", user.id))
    if user.super_admin:
        raise Protected(
            f"{user.user_name} is a Super Admin account: it holds every permission, and {what} do not apply to it."
        )
    return user


def roles_of_user(connection: Connection, principal: Principal, user_id: str) -> tuple[HeldRole, ...]:
    """The roles a user holds, each with where it comes from (direct, via group X, Super Admin account)."""
    user = _target_user(connection, user_id)
    require(principal, "iam:GetUser", resource_name("user", user.id))
    return held_roles(connection, user.id)


def assign_role(connection: Connection, principal: Principal, user_id: str, role_id: str) -> bool:
    """Give a user a role directly; ``False`` if they held it directly already."""
    user = _user_to_change(connection, principal, user_id, "iam:UpdateUserRole", "roles")
    _refuse_super_admin_role(role_store.existing_many(connection, [role_id]), to="to a user")
    now = utcnow()
    settle(connection, now)  # a time-bound grant that has ended is recorded and gone: this one takes
    return role_store.assign(connection, user.id, role_id, MANUAL, principal.actor, now)


def unassign_role(connection: Connection, principal: Principal, user_id: str, role_id: str) -> bool:
    """Take a directly assigned role away (roles held through groups stay); ``False`` if not assigned."""
    user = _target_user(connection, user_id)
    require(principal, "iam:UpdateUserRole", resource_name("user", user.id))
    return role_store.unassign(connection, user.id, role_id, MANUAL)


def set_user_roles(
    connection: Connection, principal: Principal, user_id: str, role_ids: Sequence[str]
) -> AssignmentChange:
    """Make the user's directly assigned roles exactly ``role_ids`` (roles through groups and SSO stay)."""
    user = _user_to_change(connection, principal, user_id, "iam:UpdateUserRole", "roles")
    wanted = checked_ids(role_ids, "roles")
    _refuse_super_admin_role(role_store.existing_many(connection, wanted), to="to a user")
    settle(connection)  # ended time-bound grants recorded and gone first: they are neither kept nor "held"
    current = [a.role_id for a in role_store.assignments_of(connection, [user.id])[user.id] if a.source == MANUAL]
    removed = tuple(role_id for role_id in current if role_id not in wanted)
    for role_id in removed:
        role_store.unassign(connection, user.id, role_id, MANUAL)
    now = utcnow()
    added = tuple(
        role_id for role_id in wanted if role_store.assign(connection, user.id, role_id, MANUAL, principal.actor, now)
    )
    return AssignmentChange(added, removed)


def set_boundaries(
    connection: Connection, principal: Principal, user_id: str, policy_ids: Sequence[str]
) -> AssignmentChange:
    """Make the user's permission boundaries exactly ``policy_ids`` (empty: no boundary)."""
    user = _user_to_change(connection, principal, user_id, "iam:UpdateUserBoundary", "permission boundaries")
    wanted = checked_ids(policy_ids, "boundaries")
    load_policies(connection, wanted)
    added, removed = policy_store.set_boundaries(connection, user.id, wanted, MANUAL, principal.actor, utcnow())
    return AssignmentChange(tuple(added), tuple(removed))


# ------------------------------------------------------------------------------------------ groups


def _target_group(connection: Connection, group_id: str) -> str:
    group = existing(
        group_store.get(connection, group_id),
        "There is no such group. It may have been deleted by the identity provider.",
    )
    return group.id


def roles_of_group(connection: Connection, principal: Principal, group_id: str) -> list[StoredRole]:
    """The roles bound to a group, by name."""
    group = _target_group(connection, group_id)
    require(principal, "iam:GetGroupBinding", resource_name("group", group))
    ids = [binding.role_id for binding in role_store.bindings_of(connection, [group])[group]]
    return sorted(role_store.get_many(connection, ids).values(), key=lambda role: (role.name.lower(), role.id))


def groups_of_role(connection: Connection, principal: Principal, role_id: str) -> list[Reference]:
    """The groups a role is bound to."""
    role = role_store.existing(connection, role_id)
    require(principal, "iam:GetRole", resource_name("role", role.id), _role_labels(role))
    return role_store.groups_bound_to(connection, role.id)


def bind_group_role(connection: Connection, principal: Principal, group_id: str, role_id: str) -> bool:
    """Bind a role to a group: its members hold the role while they are members. ``False`` if bound already."""
    group = _target_group(connection, group_id)
    require(principal, "iam:UpdateGroupBinding", resource_name("group", group))
    _refuse_super_admin_role(role_store.existing_many(connection, [role_id]), to="to a group")
    now = utcnow()
    settle(connection, now)  # a time-bound binding that has ended is recorded and gone: this one takes
    return role_store.bind(connection, group, role_id, principal.actor, now)


def unbind_group_role(connection: Connection, principal: Principal, group_id: str, role_id: str) -> bool:
    """Unbind a role from a group; its members lose it on their next request. ``False`` if it was not bound."""
    group = _target_group(connection, group_id)
    require(principal, "iam:UpdateGroupBinding", resource_name("group", group))
    return role_store.unbind(connection, group, role_id)


def set_group_roles(
    connection: Connection, principal: Principal, group_id: str, role_ids: Sequence[str]
) -> AssignmentChange:
    """Make the roles bound to a group exactly ``role_ids``."""
    group = _target_group(connection, group_id)
    require(principal, "iam:UpdateGroupBinding", resource_name("group", group))
    wanted = checked_ids(role_ids, "roles")
    _refuse_super_admin_role(role_store.existing_many(connection, wanted), to="to a group")
    settle(connection)  # ended time-bound bindings recorded and gone first
    current = [binding.role_id for binding in role_store.bindings_of(connection, [group])[group]]
    removed = tuple(role_id for role_id in current if role_id not in wanted)
    for role_id in removed:
        role_store.unbind(connection, group, role_id)
    now = utcnow()
    added = tuple(role_id for role_id in wanted if role_store.bind(connection, group, role_id, principal.actor, now))
    bound = sorted(role_store.existing_many(connection, wanted).values(), key=lambda role: (role.name.lower(), role.id))
    return AssignmentChange(added, removed, tuple(bound))


# ------------------------------------------------------------------------------------------ pages


def viewable_roles(connection: Connection, principal: Principal) -> list[StoredRole]:
    """:func:`list_roles`, refused (``iam:GetRole`` on ``role/*``) when the principal may view none: what
    the Roles list shows, on every surface."""
    found = list_roles(connection, principal)
    if not found:
        require(principal, "iam:GetRole", resource_name("role", ANY_ID))
    return found


@dataclass(frozen=True, slots=True)
class RoleLine:
    """One line of the Roles table: the role, how many policies it has, who holds it."""

    role: StoredRole
    policies: int
    counts: RoleCounts


def role_lines(connection: Connection, principal: Principal) -> list[RoleLine]:
    """The viewable roles with their policy count and their holders (:func:`viewable_roles`)."""
    found = viewable_roles(connection, principal)
    ids = [role.id for role in found]
    attached = role_store.policy_ids_of(connection, ids)
    counts = group_directory.role_counts(connection, ids)
    return [RoleLine(role, len(attached[role.id]), counts[role.id]) for role in found]


@dataclass(frozen=True, slots=True)
class RolePage:
    """Everything a role's page shows: the role and its policies, the groups bound to it, how many hold it
    and the first of them, and the viewable policies that could still be attached."""

    view: RoleView
    groups: list[Reference]
    counts: RoleCounts
    holders: list[Reference]
    attachable: list[StoredPolicy]


def role_page(connection: Connection, principal: Principal, role_id: str, holders_shown: int = 20) -> RolePage:
    """A role's page (``iam:GetRole``; the groups need ``iam:GetGroupBinding``)."""
    view = get_role(connection, principal, role_id)
    bound = groups_of_role(connection, principal, role_id)
    counts = group_directory.role_counts(connection, [role_id])[role_id]
    holders = group_directory.role_holders(connection, role_id, holders_shown)
    attachable: list[StoredPolicy] = []
    if not view.role.built_in:
        attached = {policy.id for policy in view.policies}
        attachable = [p for p in list_policies(connection, principal) if p.id not in attached]
    return RolePage(view, bound, counts, holders, attachable)


@dataclass(frozen=True, slots=True)
class RoleAbilities:
    """What the principal may do with a role (with its labels); the changes check again."""

    update: bool
    delete: bool
    bind: bool


def role_abilities(principal: Principal, role: StoredRole) -> RoleAbilities:
    """Whether the principal may edit, delete or bind groups to ``role`` (never a built-in one)."""
    resource = resource_name("role", role.id)
    editable = not role.built_in
    return RoleAbilities(
        update=editable and allowed(principal, "iam:UpdateRole", resource, _role_labels(role)),
        delete=editable and allowed(principal, "iam:DeleteRole", resource, _role_labels(role)),
        bind=role.id != SUPER_ADMIN_ROLE_ID
        and editable
        and allowed(principal, "iam:UpdateGroupBinding", resource_name("group", ANY_ID)),
    )


def refusal(principal: Principal, role: StoredRole, verb: Literal["update", "delete"]) -> GatehouseError | None:
    """Why the principal may not open the edit or delete form of ``role``, or ``None``."""
    if role.built_in:
        return Protected(f"The built-in role '{role.name}' cannot be edited or deleted.")
    if not getattr(role_abilities(principal, role), verb):
        return Forbidden(f"You are not allowed to {verb} the role '{role.name}' (iam:{verb.title()}Role).")
    return None


def new_role_choices(connection: Connection, principal: Principal) -> list[StoredPolicy]:
    """The policies a new role may start with; refused (403) unless the principal may create roles."""
    if not allowed(principal, "iam:CreateRole", resource_name("role", ANY_ID)):
        raise Forbidden("You are not allowed to create roles (iam:CreateRole).")
    return list_policies(connection, principal)


def bind_group_by_name(connection: Connection, principal: Principal, group_name: str, role_id: str) -> Reference:
    """Bind the group named ``group_name`` (its display name) to a role: :func:`bind_group_role`; the group."""
    name = group_name.strip()
    group = existing(
        group_directory.find_by_name(connection, name) if name else None,
        f"There is no group named '{name}'." if name else "Type the name of a group.",
    )
    bind_group_role(connection, principal, group.id, role_id)
    return group
