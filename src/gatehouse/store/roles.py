"""Role repository: roles, the policies attached to them, who holds them and which groups they are bound to.

Functions take an open connection and never commit. The database decides what must never happen twice
or disappear while in use: a unique index on the lower-cased name, and RESTRICT foreign keys from
``user_roles`` and ``group_role_bindings``, so deleting a role that an assignment races is refused by
the database (:class:`Conflict`), not by a prior SELECT alone. Statements that may violate a constraint
run in a savepoint, so the caller's transaction stays usable on PostgreSQL.

The built-in Super Admin role is a row (listed, shown, attached to its policy) but never assigned:
users with ``users.super_admin`` hold it (see :mod:`gatehouse.iam.authorizer`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gatehouse.errors import Conflict, NotFound, PreconditionFailed
from gatehouse.store.records import Reference, as_utc
from gatehouse.store.tables import group_role_bindings, groups, role_policies, roles, user_roles, users

MANUAL = "manual"
SSO = "sso"
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class StoredRole:
    """A role as stored (its policies: :func:`policy_ids_of`)."""

    id: str
    name: str
    description: str
    labels: Mapping[str, str]
    built_in: bool
    created: datetime
    updated: datetime
    version: int


@dataclass(frozen=True, slots=True)
class RoleWrite:
    """The editable fields of a role, already checked (see :mod:`gatehouse.iam.roles`)."""

    name: str
    description: str = ""
    labels: Mapping[str, str] | None = None

    def columns(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "name_lower": self.name.lower(),
            "description": self.description,
            "labels": dump_labels(self.labels or {}),
        }


@dataclass(frozen=True, slots=True)
class Assignment:
    """A role a user holds directly."""

    role_id: str
    source: str
    granted_at: datetime
    granted_by: str | None


@dataclass(frozen=True, slots=True)
class Binding:
    """A role bound to a group."""

    group_id: str
    role_id: str
    created: datetime
    created_by: str | None


# ------------------------------------------------------------------------------------------ helpers


def dump_labels(labels: Mapping[str, str]) -> str:
    """Labels as stored: a JSON object with sorted keys."""
    return orjson.dumps(dict(labels), option=orjson.OPT_SORT_KEYS).decode()


def load_labels(text: str) -> dict[str, str]:
    """Stored labels back as a dict."""
    loaded = orjson.loads(text)
    return {str(key): str(value) for key, value in loaded.items()} if isinstance(loaded, dict) else {}


def insert_if_absent(connection: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert rows, skipping those whose primary key exists; returns how many were inserted.

    A foreign key violation (a row naming a missing role, user, group or policy) raises
    :class:`IntegrityError` from a savepoint, leaving the caller's transaction usable.
    """
    if not rows:
        return 0
    insert_fn = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    inserted = 0
    with connection.begin_nested():
        for start in range(0, len(rows), _CHUNK):
            chunk = [dict(row) for row in rows[start : start + _CHUNK]]
            statement = insert_fn(table).values(chunk).on_conflict_do_nothing(index_elements=list(table.primary_key))
            result = connection.execute(statement.execution_options(preserve_rowcount=True))
            inserted += max(result.rowcount, 0)
    return inserted


def _to_role(row: Any) -> StoredRole:
    return StoredRole(
        id=row.id,
        name=row.name,
        description=row.description,
        labels=load_labels(row.labels),
        built_in=bool(row.built_in),
        created=as_utc(row.created),
        updated=as_utc(row.updated),
        version=row.version,
    )


_ROLE_COLUMNS = (
    roles.c.id,
    roles.c.name,
    roles.c.description,
    roles.c.labels,
    roles.c.built_in,
    roles.c.created,
    roles.c.updated,
    roles.c.version,
)


def _name_taken(name: str) -> Conflict:
    return Conflict(f"A role named '{name}' already exists (role names ignore case).")


# ------------------------------------------------------------------------------------------ roles


def insert(
    connection: Connection, role_id: str, write: RoleWrite, now: datetime, *, built_in: bool = False
) -> StoredRole:
    """Insert a role; a taken name (in any case) raises :class:`Conflict`, decided by the unique index."""
    values = {**write.columns(), "id": role_id, "built_in": built_in, "created": now, "updated": now, "version": 1}
    try:
        with connection.begin_nested():
            connection.execute(roles.insert().values(values))
    except IntegrityError as exc:
        raise _name_taken(write.name) from exc
    return StoredRole(role_id, write.name, write.description, dict(write.labels or {}), built_in, now, now, 1)


def get(connection: Connection, role_id: str, *, for_update: bool = False) -> StoredRole | None:
    """The role with this id, or ``None``; ``for_update`` locks its row until the transaction ends
    (PostgreSQL; SQLite's write transaction already holds the only write lock)."""
    query = sa.select(*_ROLE_COLUMNS).where(roles.c.id == role_id)
    if for_update:
        query = query.with_for_update()
    row = connection.execute(query).first()
    return _to_role(row) if row else None


def get_many(connection: Connection, role_ids: Iterable[str]) -> dict[str, StoredRole]:
    """The roles with these ids, by id; missing ids are left out."""
    ids = list(dict.fromkeys(role_ids))
    found: dict[str, StoredRole] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = connection.execute(sa.select(*_ROLE_COLUMNS).where(roles.c.id.in_(ids[start : start + _CHUNK])))
        found.update((row.id, _to_role(row)) for row in rows)
    return found


def get_by_name(connection: Connection, name: str) -> StoredRole | None:
    """The role with this name, case-insensitively, or ``None``."""
    row = connection.execute(sa.select(*_ROLE_COLUMNS).where(roles.c.name_lower == name.lower())).first()
    return _to_role(row) if row else None


def list_all(connection: Connection) -> list[StoredRole]:
    """Every role, by name."""
    rows = connection.execute(sa.select(*_ROLE_COLUMNS).order_by(roles.c.name_lower, roles.c.id))
    return [_to_role(row) for row in rows]


def update(
    connection: Connection, role_id: str, write: RoleWrite, now: datetime, expected_version: int | None = None
) -> StoredRole:
    """Replace a role's editable fields (at ``expected_version`` if given, atomically); bumps the version."""
    condition = roles.c.id == role_id
    if expected_version is not None:
        condition = sa.and_(condition, roles.c.version == expected_version)
    try:
        with connection.begin_nested():
            result = connection.execute(
                roles.update().where(condition).values(**write.columns(), updated=now, version=roles.c.version + 1)
            )
    except IntegrityError as exc:
        raise _name_taken(write.name) from exc
    if result.rowcount != 1:
        if get(connection, role_id) is None:
            raise NotFound("There is no such role. It may have been deleted.")
        raise PreconditionFailed("The role has changed since you loaded it: reload it and try again.")
    stored = get(connection, role_id)
    assert stored is not None
    return stored


def touch(connection: Connection, role_id: str, now: datetime) -> None:
    """Record a change of the role's policies: ``updated`` and ``version`` move."""
    connection.execute(roles.update().where(roles.c.id == role_id).values(updated=now, version=roles.c.version + 1))


def delete(connection: Connection, role_id: str) -> None:
    """Delete a role and its policy attachments. A role still held by a user or bound to a group is
    refused by the database (:class:`Conflict`); callers check first to say who holds it."""
    try:
        with connection.begin_nested():
            result = connection.execute(roles.delete().where(roles.c.id == role_id))
    except IntegrityError as exc:
        raise Conflict("The role is still assigned to users or bound to groups.") from exc
    if result.rowcount != 1:
        raise NotFound("There is no such role. It may have been deleted.")


# ------------------------------------------------------------------------------------------ policies


def policy_ids_of(connection: Connection, role_ids: Iterable[str]) -> dict[str, list[str]]:
    """The ids of the policies attached to each role."""
    ids = list(dict.fromkeys(role_ids))
    found: dict[str, list[str]] = {role_id: [] for role_id in ids}
    for start in range(0, len(ids), _CHUNK):
        rows = connection.execute(
            sa.select(role_policies.c.role_id, role_policies.c.policy_id)
            .where(role_policies.c.role_id.in_(ids[start : start + _CHUNK]))
            .order_by(role_policies.c.role_id, role_policies.c.policy_id)
        )
        for role_id, policy_id in rows:
            found[role_id].append(policy_id)
    return found


def attach(connection: Connection, role_id: str, policy_ids: Sequence[str]) -> int:
    """Attach policies (already attached ones are skipped); returns how many were added.

    A missing role or policy raises :class:`NotFound`.
    """
    rows = [{"role_id": role_id, "policy_id": policy_id} for policy_id in dict.fromkeys(policy_ids)]
    try:
        return insert_if_absent(connection, role_policies, rows)
    except IntegrityError as exc:
        raise NotFound("The role or one of the policies does not exist.") from exc


def detach(connection: Connection, role_id: str, policy_ids: Sequence[str]) -> int:
    """Detach policies (ids not attached are ignored); returns how many were removed."""
    ids = list(dict.fromkeys(policy_ids))
    if not ids:
        return 0
    result = connection.execute(
        role_policies.delete().where(role_policies.c.role_id == role_id, role_policies.c.policy_id.in_(ids))
    )
    return int(result.rowcount)


# ------------------------------------------------------------------------------------------ users


def assign(connection: Connection, user_id: str, role_id: str, source: str, by: str | None, now: datetime) -> bool:
    """Give a user a role from ``source`` (``manual`` or ``sso``); ``False`` if already held from it.

    A missing user or role raises :class:`NotFound`.
    """
    row = {"user_id": user_id, "role_id": role_id, "source": source, "granted_at": now, "granted_by": by}
    try:
        return insert_if_absent(connection, user_roles, [row]) == 1
    except IntegrityError as exc:
        raise NotFound("The user or the role does not exist.") from exc


def unassign(connection: Connection, user_id: str, role_id: str, source: str) -> bool:
    """Take a role from ``source`` away from a user; ``False`` if the user did not hold it from there."""
    result = connection.execute(
        user_roles.delete().where(
            user_roles.c.user_id == user_id, user_roles.c.role_id == role_id, user_roles.c.source == source
        )
    )
    return bool(result.rowcount)


def assignments_of(connection: Connection, user_ids: Iterable[str]) -> dict[str, list[Assignment]]:
    """The roles each user holds directly (not through groups), oldest grant first."""
    ids = list(dict.fromkeys(user_ids))
    found: dict[str, list[Assignment]] = {user_id: [] for user_id in ids}
    for start in range(0, len(ids), _CHUNK):
        rows = connection.execute(
            sa.select(user_roles)
            .where(user_roles.c.user_id.in_(ids[start : start + _CHUNK]))
            .order_by(user_roles.c.user_id, user_roles.c.granted_at, user_roles.c.role_id)
        )
        for row in rows:
            found[row.user_id].append(Assignment(row.role_id, row.source, as_utc(row.granted_at), row.granted_by))
    return found


def holders(connection: Connection, role_id: str, limit: int = 5) -> tuple[int, list[str]]:
    """How many users hold the role directly, and the user names of the first ``limit`` (by name)."""
    count = connection.execute(
        sa.select(sa.func.count(sa.distinct(user_roles.c.user_id))).where(user_roles.c.role_id == role_id)
    ).scalar_one()
    names = connection.execute(
        sa.select(users.c.user_name)
        .where(users.c.id.in_(sa.select(user_roles.c.user_id).where(user_roles.c.role_id == role_id)))
        .order_by(users.c.user_name_lower)
        .limit(limit)
    ).scalars()
    return int(count), list(names)


# ------------------------------------------------------------------------------------------ groups


def bind(connection: Connection, group_id: str, role_id: str, by: str | None, now: datetime) -> bool:
    """Bind a role to a group; ``False`` if it was bound already. A missing group or role raises
    :class:`NotFound`."""
    row = {"group_id": group_id, "role_id": role_id, "created": now, "created_by": by}
    try:
        return insert_if_absent(connection, group_role_bindings, [row]) == 1
    except IntegrityError as exc:
        raise NotFound("The group or the role does not exist.") from exc


def unbind(connection: Connection, group_id: str, role_id: str) -> bool:
    """Unbind a role from a group; ``False`` if it was not bound."""
    result = connection.execute(
        group_role_bindings.delete().where(
            group_role_bindings.c.group_id == group_id, group_role_bindings.c.role_id == role_id
        )
    )
    return bool(result.rowcount)


def bindings_of(connection: Connection, group_ids: Iterable[str]) -> dict[str, list[Binding]]:
    """The roles bound to each group, oldest first."""
    ids = list(dict.fromkeys(group_ids))
    found: dict[str, list[Binding]] = {group_id: [] for group_id in ids}
    for start in range(0, len(ids), _CHUNK):
        rows = connection.execute(
            sa.select(group_role_bindings)
            .where(group_role_bindings.c.group_id.in_(ids[start : start + _CHUNK]))
            .order_by(group_role_bindings.c.group_id, group_role_bindings.c.created, group_role_bindings.c.role_id)
        )
        for row in rows:
            found[row.group_id].append(Binding(row.group_id, row.role_id, as_utc(row.created), row.created_by))
    return found


def groups_bound_to(connection: Connection, role_id: str) -> list[Reference]:
    """The groups a role is bound to, by display name."""
    rows = connection.execute(
        sa.select(groups.c.id, groups.c.display_name)
        .join(group_role_bindings, group_role_bindings.c.group_id == groups.c.id)
        .where(group_role_bindings.c.role_id == role_id)
        .order_by(groups.c.display_name_lower, groups.c.id)
    )
    return [Reference(group_id, display) for group_id, display in rows]
