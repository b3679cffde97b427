"""What "Gatehouse as code" reads in one go (:mod:`gatehouse.iam.config_export`, :mod:`gatehouse.iam.config_plan`):
the grants set by administrators (roles and boundaries of users, roles bound to groups) with the names they are
written by in a configuration file, the users and groups a file names, who else holds a role or a boundary, every
labelled gateway resource, and the lock that makes configuration applies take turns.

Functions take an open connection and never commit. Only grants set by hand (``source = 'manual'``) belong to a
configuration: roles and boundaries given by SSO role mapping or by access requests are the users' own data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store import users as user_store
from gatehouse.store.batches import in_chunks
from gatehouse.store.gateway_labels import StoredLabels
from gatehouse.store.holdings import unexpired
from gatehouse.store.named import load_labels
from gatehouse.store.records import as_utc, optional_utc, utcnow
from gatehouse.store.tables import gateway_labels, group_role_bindings, groups, user_boundaries, user_roles, users

MANUAL = "manual"
APPLY_LOCK_KEY = "gatehouse-config-apply"


@dataclass(frozen=True, slots=True)
class UserRef:
    """A user as a configuration file names them."""

    id: str
    user_name: str
    super_admin: bool


@dataclass(frozen=True, slots=True)
class GroupRef:
    """A group as a configuration file names it."""

    id: str
    display_name: str
    external_id: str | None


Grant = tuple[str, datetime | None]
"""A role's id and until when it is held (``None``: until taken away)."""


@dataclass(slots=True)
class UserGrants:
    """The roles (each until when) and boundaries an administrator gave a user directly (ids)."""

    user: UserRef
    roles: list[Grant] = field(default_factory=list)
    policy_ids: list[str] = field(default_factory=list)

    @property
    def role_ids(self) -> list[str]:
        return [role_id for role_id, _ in self.roles]


@dataclass(slots=True)
class GroupBindings:
    """The roles bound to a group (ids, each until when)."""

    group: GroupRef
    roles: list[Grant] = field(default_factory=list)

    @property
    def role_ids(self) -> list[str]:
        return [role_id for role_id, _ in self.roles]


_USER = (users.c.id, users.c.user_name, users.c.super_admin)
_GROUP = (groups.c.id, groups.c.display_name, groups.c.external_id)


def user_grants(connection: Connection, now: datetime | None = None) -> list[UserGrants]:
    """Every user with a role (unexpired at ``now``) or a boundary set by hand, by user name."""
    found: dict[str, UserGrants] = {}
    held = connection.execute(
        sa.select(*_USER, user_roles.c.role_id, user_roles.c.expires_at)
        .join(user_roles, user_roles.c.user_id == users.c.id)
        .where(user_roles.c.source == MANUAL, unexpired(user_roles.c.expires_at, now or utcnow()))
        .order_by(users.c.user_name_lower, users.c.id)
    )
    for row in held:
        grants = found.setdefault(row.id, UserGrants(UserRef(row.id, row.user_name, bool(row.super_admin))))
        grants.roles.append((row.role_id, optional_utc(row.expires_at)))
    bounded = connection.execute(
        sa.select(*_USER, user_boundaries.c.policy_id)
        .join(user_boundaries, user_boundaries.c.user_id == users.c.id)
        .where(user_boundaries.c.source == MANUAL)
    )
    for bound in bounded:
        user = UserRef(bound.id, bound.user_name, bool(bound.super_admin))
        found.setdefault(bound.id, UserGrants(user)).policy_ids.append(bound.policy_id)
    return sorted(found.values(), key=lambda grants: (grants.user.user_name.lower(), grants.user.id))


def group_bindings(connection: Connection, now: datetime | None = None) -> list[GroupBindings]:
    """Every group with roles bound to it (unexpired at ``now``), by display name."""
    found: dict[str, GroupBindings] = {}
    bindings = group_role_bindings.c
    rows = connection.execute(
        sa.select(*_GROUP, bindings.role_id, bindings.expires_at)
        .join(group_role_bindings, bindings.group_id == groups.c.id)
        .where(unexpired(bindings.expires_at, now or utcnow()))
        .order_by(groups.c.display_name_lower, groups.c.id)
    )
    for row in rows:
        ref = GroupRef(row.id, row.display_name, row.external_id)
        found.setdefault(row.id, GroupBindings(ref)).roles.append((row.role_id, optional_utc(row.expires_at)))
    return list(found.values())


def users_named(connection: Connection, user_names: Iterable[str]) -> dict[str, UserRef]:
    """The users with these user names, by lower-cased user name (names not found are left out)."""
    found: dict[str, UserRef] = {}
    for chunk in in_chunks(name.lower() for name in user_names):
        rows = connection.execute(sa.select(*_USER, users.c.user_name_lower).where(users.c.user_name_lower.in_(chunk)))
        found.update((row.user_name_lower, UserRef(row.id, row.user_name, bool(row.super_admin))) for row in rows)
    return found


def groups_named(connection: Connection, display_names: Iterable[str]) -> dict[str, GroupRef]:
    """The groups with these display names, by lower-cased display name (names not found are left out)."""
    found: dict[str, GroupRef] = {}
    for chunk in in_chunks(name.lower() for name in display_names):
        rows = connection.execute(
            sa.select(*_GROUP, groups.c.display_name_lower).where(groups.c.display_name_lower.in_(chunk))
        )
        found.update((row.display_name_lower, GroupRef(row.id, row.display_name, row.external_id)) for row in rows)
    return found


def groups_with_external_ids(connection: Connection, external_ids: Iterable[str]) -> dict[str, list[GroupRef]]:
    """The groups with each of these externalIds (exactly; an externalId may be shared), by externalId."""
    found: dict[str, list[GroupRef]] = {}
    for chunk in in_chunks(external_ids):
        rows = connection.execute(
            sa.select(*_GROUP).where(groups.c.external_id.in_(chunk)).order_by(groups.c.display_name_lower)
        )
        for row in rows:
            found.setdefault(row.external_id, []).append(GroupRef(row.id, row.display_name, row.external_id))
    return found


def other_role_holders(
    connection: Connection, role_id: str, limit: int = 5, now: datetime | None = None
) -> tuple[int, list[str]]:
    """How many users hold the role otherwise than by hand (SSO role mapping, an access request), and the user
    names of the first ``limit``: assignments a configuration does not describe."""
    condition = sa.and_(
        user_roles.c.role_id == role_id,
        user_roles.c.source != MANUAL,
        unexpired(user_roles.c.expires_at, now or utcnow()),
    )
    return user_store.named_in(connection, user_roles.c.user_id, condition, limit)


def expired_rows(
    connection: Connection, role_id: str, now: datetime | None = None
) -> tuple[list[tuple[str, str]], list[str]]:
    """The grants of a role that have expired but are still stored (until the expiry job settles them): (user id,
    source) of each user's, and the ids of the groups. They grant nothing, yet keep the role from being deleted."""
    moment = now or utcnow()
    held = connection.execute(
        sa.select(user_roles.c.user_id, user_roles.c.source).where(
            user_roles.c.role_id == role_id, user_roles.c.expires_at <= moment
        )
    )
    bound = connection.execute(
        sa.select(group_role_bindings.c.group_id).where(
            group_role_bindings.c.role_id == role_id, group_role_bindings.c.expires_at <= moment
        )
    ).scalars()
    return [(str(row.user_id), str(row.source)) for row in held], list(bound)


def other_boundary_holders(connection: Connection, policy_id: str, limit: int = 5) -> tuple[int, list[str]]:
    """How many users have the policy as a boundary otherwise than by hand (SSO role mapping), and the first
    ``limit`` user names."""
    condition = sa.and_(user_boundaries.c.policy_id == policy_id, user_boundaries.c.source != MANUAL)
    return user_store.named_in(connection, user_boundaries.c.user_id, condition, limit)


def all_labels(connection: Connection) -> list[StoredLabels]:
    """Every labelled gateway resource, by name (no limit: a configuration holds them all)."""
    rows = connection.execute(sa.select(gateway_labels).order_by(gateway_labels.c.resource))
    return [StoredLabels(row.resource, load_labels(row.labels), as_utc(row.updated), row.updated_by) for row in rows]


def lock_apply(connection: Connection) -> None:
    """Make configuration applies take turns until the transaction ends: a PostgreSQL advisory transaction lock
    (on SQLite, the write transaction already holds the only write lock)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(APPLY_LOCK_KEY))))
