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

from gatehouse.store import users as user_store
from gatehouse.store.batches import in_chunks, records_by
from gatehouse.store.named import NamedRecord, NamedRecords, named_columns
from gatehouse.store.records import as_utc
from gatehouse.store.roles import insert_links
from gatehouse.store.tables import permission_policies, role_policies, roles, user_boundaries


@dataclass(frozen=True, slots=True)
class StoredPolicy(NamedRecord):
    """A permission policy as stored; ``document`` is canonical JSON text."""

    document: str


@dataclass(frozen=True, slots=True)
class PolicyWrite:
    """The editable fields of a policy, already checked; ``document`` is the canonical JSON text."""

    name: str
    document: str
    description: str = ""
    labels: Mapping[str, str] | None = None

    def columns(self) -> dict[str, Any]:
        return {**named_columns(self.name, self.description, self.labels), "document": self.document}


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


_POLICIES: NamedRecords[StoredPolicy, PolicyWrite] = NamedRecords(
    permission_policies,
    StoredPolicy,
    "permission policy",
    "policy",
    "The permission policy is still attached to roles or used as a boundary.",
)


# ------------------------------------------------------------------------------------------ policies
# (the methods of :class:`~gatehouse.store.named.NamedRecords`, which has their documentation)

insert = _POLICIES.insert
"""Insert a policy; a taken name (in any case) raises :class:`Conflict`, decided by the unique index."""
insert_if_new = _POLICIES.insert_if_new
"""Insert a policy unless its id or name is taken (seeding); whether it was inserted."""
get = _POLICIES.get
"""The policy with this id, or ``None``; ``for_update`` locks its row (PostgreSQL)."""
existing = _POLICIES.existing
"""The policy with this id, or :class:`NotFound`; ``for_update`` locks its row (PostgreSQL)."""
existing_many = _POLICIES.existing_many
"""The policies with these ids, by id; :class:`NotFound` naming any id that is none."""
get_many = _POLICIES.get_many
"""The policies with these ids, by id; missing ids are left out."""
get_by_name = _POLICIES.get_by_name
"""The policy with this name, case-insensitively, or ``None``."""
list_all = _POLICIES.list_all
"""Every policy, by name."""
update = _POLICIES.update
"""Replace a policy's fields (at ``expected_version`` if given, atomically); bumps the version."""
delete = _POLICIES.delete
"""Delete a policy. One attached to a role or used as a boundary is refused by the database
(:class:`Conflict`); callers check first to say where it is used."""


def documents(connection: Connection, policy_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
    """The current (version, document text) of each policy, by id (for the authorizer's cache misses)."""
    found: dict[str, tuple[int, str]] = {}
    for chunk in in_chunks(policy_ids):
        rows = connection.execute(
            sa.select(permission_policies.c.id, permission_policies.c.version, permission_policies.c.document).where(
                permission_policies.c.id.in_(chunk)
            )
        )
        found.update((policy_id, (version, document)) for policy_id, version, document in rows)
    return found


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
    """How many users have the policy as a boundary, and the user names of the first ``limit`` (by name)."""
    bounds = user_boundaries.c
    return user_store.named_in(connection, bounds.user_id, bounds.policy_id == policy_id, limit)


# ------------------------------------------------------------------------------------------ boundaries


def boundaries_of(connection: Connection, user_ids: Iterable[str]) -> dict[str, list[Boundary]]:
    """The permission boundaries of each user, oldest first."""
    bounds = user_boundaries.c
    return records_by(connection, bounds.user_id, user_ids, _boundary, bounds.granted_at, bounds.policy_id)


def _boundary(row: Any) -> Boundary:
    return Boundary(row.policy_id, row.source, as_utc(row.granted_at), row.granted_by)


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
    insert_links(connection, user_boundaries, rows, "The user or one of the policies does not exist.")
    return added, removed
