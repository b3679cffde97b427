"""Permission policy repository: policies, and the permission boundaries of users.

Functions take an open connection and never commit. A policy's ``document`` is stored as the canonical
JSON of a document that :func:`gatehouse.iam.policy.parse_policy` accepted (the use cases validate it;
this module stores text). Every write of a policy increments ``version``: a parsed document is
immutable under (id, version), which is what lets the authorizer cache parsed documents in any process.

A policy attached to a role or used as a boundary cannot be deleted: RESTRICT foreign keys from
``role_policies`` and ``user_boundaries`` make the database refuse it (:class:`Conflict`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gatehouse.errors import Conflict, NotFound, PreconditionFailed
from gatehouse.store.records import as_utc
from gatehouse.store.roles import dump_labels, insert_if_absent, load_labels
from gatehouse.store.tables import permission_policies, role_policies, roles, user_boundaries, users

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    """A permission policy as stored; ``document`` is canonical JSON text."""

    id: str
    name: str
    description: str
    labels: Mapping[str, str]
    document: str
    built_in: bool
    created: datetime
    updated: datetime
    version: int


@dataclass(frozen=True, slots=True)
class PolicyWrite:
    """The editable fields of a policy, already checked; ``document`` is the canonical JSON text."""

    name: str
    document: str
    description: str = ""
    labels: Mapping[str, str] | None = None

    def columns(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "name_lower": self.name.lower(),
            "description": self.description,
            "labels": dump_labels(self.labels or {}),
            "document": self.document,
        }


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """A policy's identity and version, without its document (what the authorizer reads per request)."""

    id: str
    name: str
    version: int


@dataclass(frozen=True, slots=True)
class Boundary:
    """A permission boundary of a user."""

    policy_id: str
    source: str
    granted_at: datetime
    granted_by: str | None


_POLICY_COLUMNS = (
    permission_policies.c.id,
    permission_policies.c.name,
    permission_policies.c.description,
    permission_policies.c.labels,
    permission_policies.c.document,
    permission_policies.c.built_in,
    permission_policies.c.created,
    permission_policies.c.updated,
    permission_policies.c.version,
)


def _to_policy(row: Any) -> StoredPolicy:
    return StoredPolicy(
        id=row.id,
        name=row.name,
        description=row.description,
        labels=load_labels(row.labels),
        document=row.document,
        built_in=bool(row.built_in),
        created=as_utc(row.created),
        updated=as_utc(row.updated),
        version=row.version,
    )


def _name_taken(name: str) -> Conflict:
    return Conflict(f"A permission policy named '{name}' already exists (policy names ignore case).")


# ------------------------------------------------------------------------------------------ policies


def insert(
    connection: Connection, policy_id: str, write: PolicyWrite, now: datetime, *, built_in: bool = False
) -> StoredPolicy:
    """Insert a policy; a taken name (in any case) raises :class:`Conflict`, decided by the unique index."""
    values = {**write.columns(), "id": policy_id, "built_in": built_in, "created": now, "updated": now, "version": 1}
    try:
        with connection.begin_nested():
            connection.execute(permission_policies.insert().values(values))
    except IntegrityError as exc:
        raise _name_taken(write.name) from exc
    labels = dict(write.labels or {})
    return StoredPolicy(policy_id, write.name, write.description, labels, write.document, built_in, now, now, 1)


def get(connection: Connection, policy_id: str, *, for_update: bool = False) -> StoredPolicy | None:
    """The policy with this id, or ``None``; ``for_update`` locks its row (PostgreSQL)."""
    query = sa.select(*_POLICY_COLUMNS).where(permission_policies.c.id == policy_id)
    if for_update:
        query = query.with_for_update()
    row = connection.execute(query).first()
    return _to_policy(row) if row else None


def get_many(connection: Connection, policy_ids: Iterable[str]) -> dict[str, StoredPolicy]:
    """The policies with these ids, by id; missing ids are left out."""
    ids = list(dict.fromkeys(policy_ids))
    found: dict[str, StoredPolicy] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = connection.execute(
            sa.select(*_POLICY_COLUMNS).where(permission_policies.c.id.in_(ids[start : start + _CHUNK]))
        )
        found.update((row.id, _to_policy(row)) for row in rows)
    return found


def get_by_name(connection: Connection, name: str) -> StoredPolicy | None:
    """The policy with this name, case-insensitively, or ``None``."""
    row = connection.execute(
        sa.select(*_POLICY_COLUMNS).where(permission_policies.c.name_lower == name.lower())
    ).first()
    return _to_policy(row) if row else None


def list_all(connection: Connection) -> list[StoredPolicy]:
    """Every policy, by name."""
    rows = connection.execute(
        sa.select(*_POLICY_COLUMNS).order_by(permission_policies.c.name_lower, permission_policies.c.id)
    )
    return [_to_policy(row) for row in rows]


def documents(connection: Connection, policy_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
    """The current (version, document text) of each policy, by id (for the authorizer's cache misses)."""
    ids = list(dict.fromkeys(policy_ids))
    found: dict[str, tuple[int, str]] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = connection.execute(
            sa.select(permission_policies.c.id, permission_policies.c.version, permission_policies.c.document).where(
                permission_policies.c.id.in_(ids[start : start + _CHUNK])
            )
        )
        found.update((policy_id, (version, document)) for policy_id, version, document in rows)
    return found


def update(
    connection: Connection, policy_id: str, write: PolicyWrite, now: datetime, expected_version: int | None = None
) -> StoredPolicy:
    """Replace a policy's fields (at ``expected_version`` if given, atomically); bumps the version."""
    condition = permission_policies.c.id == policy_id
    if expected_version is not None:
        condition = sa.and_(condition, permission_policies.c.version == expected_version)
    try:
        with connection.begin_nested():
            result = connection.execute(
                permission_policies.update()
                .where(condition)
                .values(**write.columns(), updated=now, version=permission_policies.c.version + 1)
            )
    except IntegrityError as exc:
        raise _name_taken(write.name) from exc
    if result.rowcount != 1:
        if get(connection, policy_id) is None:
            raise NotFound("There is no such permission policy. It may have been deleted.")
        raise PreconditionFailed("The permission policy has changed since you loaded it: reload it and try again.")
    stored = get(connection, policy_id)
    assert stored is not None
    return stored


def delete(connection: Connection, policy_id: str) -> None:
    """Delete a policy. One attached to a role or used as a boundary is refused by the database
    (:class:`Conflict`); callers check first to say where it is used."""
    try:
        with connection.begin_nested():
            result = connection.execute(permission_policies.delete().where(permission_policies.c.id == policy_id))
    except IntegrityError as exc:
        raise Conflict("The permission policy is still attached to roles or used as a boundary.") from exc
    if result.rowcount != 1:
        raise NotFound("There is no such permission policy. It may have been deleted.")


def roles_using(connection: Connection, policy_id: str) -> list[tuple[str, str]]:
    """The roles (id, name) a policy is attached to, by name."""
    rows = connection.execute(
        sa.select(roles.c.id, roles.c.name)
        .join(role_policies, role_policies.c.role_id == roles.c.id)
        .where(role_policies.c.policy_id == policy_id)
        .order_by(roles.c.name_lower, roles.c.id)
    )
    return [(role_id, name) for role_id, name in rows]


def boundary_users(connection: Connection, policy_id: str, limit: int = 5) -> tuple[int, list[str]]:
    """How many users have the policy as a boundary, and the user names of the first ``limit``."""
    count = connection.execute(
        sa.select(sa.func.count(sa.distinct(user_boundaries.c.user_id))).where(user_boundaries.c.policy_id == policy_id)
    ).scalar_one()
    names = connection.execute(
        sa.select(users.c.user_name)
        .where(users.c.id.in_(sa.select(user_boundaries.c.user_id).where(user_boundaries.c.policy_id == policy_id)))
        .order_by(users.c.user_name_lower)
        .limit(limit)
    ).scalars()
    return int(count), list(names)


# ------------------------------------------------------------------------------------------ boundaries


def boundaries_of(connection: Connection, user_ids: Iterable[str]) -> dict[str, list[Boundary]]:
    """The permission boundaries of each user, oldest first."""
    ids = list(dict.fromkeys(user_ids))
    found: dict[str, list[Boundary]] = {user_id: [] for user_id in ids}
    for start in range(0, len(ids), _CHUNK):
        rows = connection.execute(
            sa.select(user_boundaries)
            .where(user_boundaries.c.user_id.in_(ids[start : start + _CHUNK]))
            .order_by(user_boundaries.c.user_id, user_boundaries.c.granted_at, user_boundaries.c.policy_id)
        )
        for row in rows:
            found[row.user_id].append(Boundary(row.policy_id, row.source, as_utc(row.granted_at), row.granted_by))
    return found


def set_boundaries(
    connection: Connection, user_id: str, policy_ids: Sequence[str], source: str, by: str | None, now: datetime
) -> tuple[list[str], list[str]]:
    """Make the user's boundaries from ``source`` exactly ``policy_ids``; returns (added, removed) ids.

    Boundaries that stay keep their grant time. A missing user or policy raises :class:`NotFound`.
    """
    wanted = list(dict.fromkeys(policy_ids))
    current = set(
        connection.execute(
            sa.select(user_boundaries.c.policy_id).where(
                user_boundaries.c.user_id == user_id, user_boundaries.c.source == source
            )
        ).scalars()
    )
    removed = sorted(current - set(wanted))
    if removed:
        connection.execute(
            user_boundaries.delete().where(
                user_boundaries.c.user_id == user_id,
                user_boundaries.c.source == source,
                user_boundaries.c.policy_id.in_(removed),
            )
        )
    added = [policy_id for policy_id in wanted if policy_id not in current]
    rows = [
        {"user_id": user_id, "policy_id": policy_id, "source": source, "granted_at": now, "granted_by": by}
        for policy_id in added
    ]
    try:
        insert_if_absent(connection, user_boundaries, rows)
    except IntegrityError as exc:
        raise NotFound("The user or one of the policies does not exist.") from exc
    return added, removed
