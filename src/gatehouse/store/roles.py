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

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gatehouse.errors import NotFound
from gatehouse.store import users as user_store
from gatehouse.store.batches import CHUNK, records_by
from gatehouse.store.named import NamedRecord, NamedRecords, named_columns
from gatehouse.store.named import load_labels as load_labels  # still public here, where it was
from gatehouse.store.records import Reference, as_utc
from gatehouse.store.tables import group_role_bindings, groups, role_policies, roles, user_roles

MANUAL = "manual"
SSO = "sso"


@dataclass(frozen=True, slots=True)
class StoredRole(NamedRecord):
    """A role as stored (its policies: :func:`policy_ids_of`)."""


@dataclass(frozen=True, slots=True)
class RoleWrite:
    """The editable fields of a role, already checked (see :mod:`gatehouse.iam.roles`)."""

    name: str
    description: str = ""
    labels: Mapping[str, str] | None = None

    def columns(self) -> dict[str, Any]:
        return named_columns(self.name, self.description, self.labels)


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
        for start in range(0, len(rows), CHUNK):
            chunk = [dict(row) for row in rows[start : start + CHUNK]]
            statement = insert_fn(table).values(chunk).on_conflict_do_nothing(index_elements=list(table.primary_key))
            result = connection.execute(statement.execution_options(preserve_rowcount=True))
            inserted += max(result.rowcount, 0)
    return inserted


def insert_links(connection: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], missing: str) -> int:
    """Insert rows of a link table (:func:`insert_if_absent`); how many were new. A row naming what does not
    exist raises :class:`NotFound` saying ``missing``."""
    try:
        return insert_if_absent(connection, table, rows)
    except IntegrityError as exc:
        raise NotFound(missing) from exc


def _unlink(connection: Connection, table: sa.Table, **key: str) -> bool:
    """Delete the row of a link table whose columns are ``key``; ``False`` if there was none."""
    result = connection.execute(table.delete().where(*(table.c[name] == value for name, value in key.items())))
    return bool(result.rowcount)


_ROLES: NamedRecords[StoredRole, RoleWrite] = NamedRecords(
    roles, StoredRole, "role", "role", "The role is still assigned to users or bound to groups."
)


# ------------------------------------------------------------------------------------------ roles
# (the methods of :class:`~gatehouse.store.named.NamedRecords`, which has their documentation)

insert = _ROLES.insert
"""Insert a role; a taken name (in any case) raises :class:`Conflict`, decided by the unique index."""
insert_if_new = _ROLES.insert_if_new
"""Insert a role unless its id or name is taken (seeding); whether it was inserted."""
get = _ROLES.get
"""The role with this id, or ``None``; ``for_update`` locks its row (PostgreSQL)."""
existing = _ROLES.existing
"""The role with this id, or :class:`NotFound`; ``for_update`` locks its row (PostgreSQL)."""
existing_many = _ROLES.existing_many
"""The roles with these ids, by id; :class:`NotFound` naming any id that is none."""
get_many = _ROLES.get_many
"""The roles with these ids, by id; missing ids are left out."""
get_by_name = _ROLES.get_by_name
"""The role with this name, case-insensitively, or ``None``."""
list_all = _ROLES.list_all
"""Every role, by name."""
update = _ROLES.update
"""Replace a role's editable fields (at ``expected_version`` if given, atomically); bumps the version."""
delete = _ROLES.delete
"""Delete a role and its policy attachments; one still held by a user or bound to a group is refused by
the database (:class:`Conflict`): callers check first to say who holds it."""


def touch(connection: Connection, role_id: str, now: datetime) -> None:
    """Record a change of the role's policies: ``updated`` and ``version`` move."""
    connection.execute(roles.update().where(roles.c.id == role_id).values(updated=now, version=roles.c.version + 1))


# ------------------------------------------------------------------------------------------ policies


def policy_ids_of(connection: Connection, role_ids: Iterable[str]) -> dict[str, list[str]]:
    """The ids of the policies attached to each role."""
    attached = role_policies.c
    return records_by(connection, attached.role_id, role_ids, _policy_id, attached.policy_id)


def _policy_id(row: Any) -> str:
    return str(row.policy_id)


def attach(connection: Connection, role_id: str, policy_ids: Sequence[str]) -> int:
    """Attach policies (already attached ones are skipped); returns how many were added.

    A missing role or policy raises :class:`NotFound`.
    """
    rows = [{"role_id": role_id, "policy_id": policy_id} for policy_id in dict.fromkeys(policy_ids)]
    return insert_links(connection, role_policies, rows, "The role or one of the policies does not exist.")


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
    return insert_links(connection, user_roles, [row], "The user or the role does not exist.") == 1


def unassign(connection: Connection, user_id: str, role_id: str, source: str) -> bool:
    """Take a role from ``source`` away from a user; ``False`` if the user did not hold it from there."""
    return _unlink(connection, user_roles, user_id=user_id, role_id=role_id, source=source)


def assignments_of(connection: Connection, user_ids: Iterable[str]) -> dict[str, list[Assignment]]:
    """The roles each user holds directly (not through groups), oldest grant first."""
    held = user_roles.c
    return records_by(connection, held.user_id, user_ids, _assignment, held.granted_at, held.role_id)


def _assignment(row: Any) -> Assignment:
    return Assignment(row.role_id, row.source, as_utc(row.granted_at), row.granted_by)


def holders(connection: Connection, role_id: str, limit: int = 5) -> tuple[int, list[str]]:
    """How many users hold the role directly, and the user names of the first ``limit`` (by name)."""
    return user_store.named_in(connection, user_roles.c.user_id, user_roles.c.role_id == role_id, limit)


# ------------------------------------------------------------------------------------------ groups


def bind(connection: Connection, group_id: str, role_id: str, by: str | None, now: datetime) -> bool:
    """Bind a role to a group; ``False`` if it was bound already. A missing group or role raises
    :class:`NotFound`."""
    row = {"group_id": group_id, "role_id": role_id, "created": now, "created_by": by}
    return insert_links(connection, group_role_bindings, [row], "The group or the role does not exist.") == 1


def unbind(connection: Connection, group_id: str, role_id: str) -> bool:
    """Unbind a role from a group; ``False`` if it was not bound."""
    return _unlink(connection, group_role_bindings, group_id=group_id, role_id=role_id)


def bindings_of(connection: Connection, group_ids: Iterable[str]) -> dict[str, list[Binding]]:
    """The roles bound to each group, oldest first."""
    bindings = group_role_bindings.c
    return records_by(connection, bindings.group_id, group_ids, _binding, bindings.created, bindings.role_id)


def _binding(row: Any) -> Binding:
    return Binding(row.group_id, row.role_id, as_utc(row.created), row.created_by)


def groups_bound_to(connection: Connection, role_id: str) -> list[Reference]:
    """The groups a role is bound to, by display name."""
    rows = connection.execute(
        sa.select(groups.c.id, groups.c.display_name)
        .join(group_role_bindings, group_role_bindings.c.group_id == groups.c.id)
        .where(group_role_bindings.c.role_id == role_id)
        .order_by(groups.c.display_name_lower, groups.c.id)
    )
    return [Reference(group_id, display) for group_id, display in rows]
