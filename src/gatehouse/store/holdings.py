"""Which roles users hold, and how: assigned to them (``user_roles``) or bound to a group they are members
of (``group_members`` ⋈ ``group_role_bindings``), each read in one statement through the ``user_id``
indexes of both tables.

- :func:`roles_of_users`: the roles of one page of users (the Users list's Roles column);
- :func:`grants_of`: everything one user holds, with each role's policies and the user's permission
  boundaries (what :mod:`gatehouse.iam.authorizer` decides with, on every request).

A time-bound grant (``user_roles.expires_at``, ``group_role_bindings.expires_at``) counts until that moment
and not after: both reads leave out the rows whose time has passed (:func:`unexpired`), whether or not
:mod:`gatehouse.iam.grant_expiry` has deleted them yet, so an expiry takes effect at once in every process.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store.policies import PolicyVersion
from gatehouse.store.records import optional_utc, utcnow
from gatehouse.store.tables import (
    group_members,
    group_role_bindings,
    groups,
    permission_policies,
    role_policies,
    roles,
    user_boundaries,
    user_roles,
)


@dataclass(frozen=True, slots=True)
class Holding:
    """One role of one user: ``via`` is the group's name when it comes through a group, else ``None``."""

    role_id: str
    role_name: str
    source: str
    via: str | None = None

    @property
    def label(self) -> str:
        """``Viewer``, ``Viewer (via SSO)``, ``Viewer (via group Ops)``."""
        if self.via is not None:
            return f"{self.role_name} (via group {self.via})"
        if self.source == "sso":
            return f"{self.role_name} (via SSO)"
        return self.role_name


def unexpired(column: sa.ColumnElement[Any], now: datetime | sa.BindParameter[Any]) -> sa.ColumnElement[bool]:
    """A grant's ``expires_at`` column: no expiry, or one still to come."""
    return sa.or_(column.is_(None), column > now)


def held_directly() -> sa.Join:
    """The roles users hold directly: ``user_roles`` joined to ``roles``."""
    return user_roles.join(roles, roles.c.id == user_roles.c.role_id)


def held_through_groups() -> sa.Join:
    """The roles users hold through groups: ``group_members`` joined to the groups' ``group_role_bindings``,
    ``groups`` and ``roles``."""
    return (
        group_members.join(group_role_bindings, group_role_bindings.c.group_id == group_members.c.group_id)
        .join(groups, groups.c.id == group_members.c.group_id)
        .join(roles, roles.c.id == group_role_bindings.c.role_id)
    )


def with_policies(held: sa.FromClause) -> sa.Join:
    """``held`` (``roles``, or a join of it) with each role's policies, or one row of ``NULL`` for a role
    without."""
    return held.outerjoin(role_policies, role_policies.c.role_id == roles.c.id).outerjoin(
        permission_policies, permission_policies.c.id == role_policies.c.policy_id
    )


def roles_of_users(
    connection: Connection, user_ids: Sequence[str], now: datetime | None = None
) -> dict[str, list[Holding]]:
    """Each user's roles (unexpired), direct ones first, then by role name."""
    found: dict[str, list[Holding]] = {user_id: [] for user_id in user_ids}
    if not user_ids:
        return found
    now = now or utcnow()
    direct = (
        sa.select(
            user_roles.c.user_id,
            roles.c.id.label("role_id"),
            roles.c.name.label("role_name"),
            user_roles.c.source,
            sa.cast(sa.null(), sa.String()).label("via"),
        )
        .select_from(held_directly())
        .where(user_roles.c.user_id.in_(list(user_ids)), unexpired(user_roles.c.expires_at, now))
    )
    through_groups = (
        sa.select(
            group_members.c.user_id,
            roles.c.id,
            roles.c.name,
            sa.literal_column("'group'", sa.String()),
            groups.c.display_name,
        )
        .select_from(held_through_groups())
        .where(group_members.c.user_id.in_(list(user_ids)), unexpired(group_role_bindings.c.expires_at, now))
    )
    rows = connection.execute(sa.union_all(direct, through_groups)).all()
    for row in sorted(rows, key=lambda r: (r.via is not None, r.role_name.lower(), (r.via or "").lower())):
        found[row.user_id].append(Holding(row.role_id, row.role_name, row.source, row.via))
    return found


# ------------------------------------------------------------------------------------------ the authorizer


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """A role a user holds, one way, with one of its policies (``None`` for a role without any)."""

    role_id: str
    role_name: str
    origin: str
    """The source of the user's assignment (``manual``, ``sso``), or ``group``."""
    group_id: str | None
    group_name: str | None
    """The group it is held through (``origin`` ``group``)."""
    policy: PolicyVersion | None
    expires_at: datetime | None = None
    """Until when the grant counts (``None``: until it is taken away)."""


@dataclass(frozen=True, slots=True)
class Grants:
    """Everything one user holds."""

    roles: list[RoleGrant]
    """Each role held directly or through a group, once per way it is held and per attached policy."""
    boundaries: list[PolicyVersion]
    """The user's permission boundaries."""


def grants_of(connection: Connection, user_id: str, now: datetime | None = None) -> Grants:
    """Everything the user holds at ``now`` (see :class:`Grants`), whatever the user's status, read in one
    statement (:func:`grants_statement`). In no particular order: callers sort."""
    grants = Grants([], [])
    for row in connection.execute(_grants_template(), {"user_id": user_id, "now": now or utcnow()}):
        policy = None if row.policy_id is None else PolicyVersion(row.policy_id, row.policy_name, row.policy_version)
        if row.kind == "boundary":
            assert policy is not None  # an inner join
            grants.boundaries.append(policy)
        else:
            until = optional_utc(row.expires_at)
            grants.roles.append(
                RoleGrant(row.role_id, row.role_name, row.origin, row.group_id, row.group_name, policy, until)
            )
    return grants


def grants_statement(user_id: str, now: datetime | None = None) -> sa.CompoundSelect[Any]:
    """The statement :func:`grants_of` runs, for ``user_id`` at ``now``: a ``UNION ALL`` of the roles held
    directly, those held through groups (each joined to its policies) and the boundaries, each reading its
    tables through indexes; grants whose ``expires_at`` is not after ``now`` are left out."""
    return _grants_template().params(user_id=user_id, now=now or utcnow())


@functools.cache
def _grants_template() -> sa.CompoundSelect[Any]:
    """:func:`grants_statement` with ``:user_id`` and ``:now`` unbound, built once: constructing it took about
    as long as running it, on every permission check."""
    user_id = sa.bindparam("user_id", type_=sa.String())
    now = sa.bindparam("now", type_=user_roles.c.expires_at.type)
    text = sa.String()
    no_text = sa.cast(sa.null(), text)
    no_time = sa.cast(sa.null(), user_roles.c.expires_at.type)
    direct = (
        sa.select(
            sa.literal_column("'role'", text).label("kind"),
            roles.c.id.label("role_id"),
            roles.c.name.label("role_name"),
            user_roles.c.source.label("origin"),
            no_text.label("group_id"),
            no_text.label("group_name"),
            permission_policies.c.id.label("policy_id"),
            permission_policies.c.name.label("policy_name"),
            permission_policies.c.version.label("policy_version"),
            user_roles.c.expires_at.label("expires_at"),
        )
        .select_from(with_policies(held_directly()))
        .where(user_roles.c.user_id == user_id, unexpired(user_roles.c.expires_at, now))
    )
    via_groups = (
        sa.select(
            sa.literal_column("'role'", text),
            roles.c.id,
            roles.c.name,
            sa.literal_column("'group'", text),
            groups.c.id,
            groups.c.display_name,
            permission_policies.c.id,
            permission_policies.c.name,
            permission_policies.c.version,
            group_role_bindings.c.expires_at,
        )
        .select_from(with_policies(held_through_groups()))
        .where(group_members.c.user_id == user_id, unexpired(group_role_bindings.c.expires_at, now))
    )
    bounds = (
        sa.select(
            sa.literal_column("'boundary'", text),
            no_text,
            no_text,
            user_boundaries.c.source,
            no_text,
            no_text,
            permission_policies.c.id,
            permission_policies.c.name,
            permission_policies.c.version,
            no_time,
        )
        .select_from(user_boundaries.join(permission_policies, permission_policies.c.id == user_boundaries.c.policy_id))
        .where(user_boundaries.c.user_id == user_id)
    )
    return sa.union_all(direct, via_groups, bounds)
