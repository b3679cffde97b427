"""Group repository: the storage contract for groups (RFC 7643 §4.2) and their memberships.

A membership is one row of ``group_members``: adding or removing a member of a 100k-member group touches
one row, and a group's document never holds its member list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict, NotFound
from gatehouse.resources.search import search_text
from gatehouse.store.batches import CHUNK, in_chunks
from gatehouse.store.pages import filtered_page
from gatehouse.store.records import Reference, StoredResource, as_utc
from gatehouse.store.tables import group_members, groups, users
from gatehouse.store.users import serialize
from gatehouse.store.write_outcomes import not_written, read_back, refused_as


@dataclass(frozen=True, slots=True)
class GroupWrite:
    """Everything written for one group: its canonical document plus derived index columns."""

    id: str
    doc: dict[str, Any]

    @property
    def display_name(self) -> str:
        return str(self.doc["displayName"])

    def columns(self) -> dict[str, Any]:
        return {
            "display_name": self.display_name,
            "display_name_lower": self.display_name.lower(),
            "external_id": self.doc.get("externalId"),
            "data": serialize(self.id, self.doc),
            "search_text": search_text([self.display_name], []),
        }


_GROUP_COLUMNS = (groups.c.id, groups.c.data, groups.c.version, groups.c.created, groups.c.last_modified)


def to_group(row: Any) -> StoredResource:
    return StoredResource(
        id=row.id,
        data=row.data,
        version=row.version,
        created=as_utc(row.created),
        last_modified=as_utc(row.last_modified),
    )


def get(connection: Connection, group_id: str) -> StoredResource | None:
    """The group with this id, or ``None``."""
    row = connection.execute(sa.select(*_GROUP_COLUMNS).where(groups.c.id == group_id)).first()
    return to_group(row) if row else None


def lock(connection: Connection, group_id: str) -> bool:
    """Lock the group's row until the transaction ends (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write
    transaction already holds the only write lock); returns whether the group exists."""
    return (
        connection.execute(sa.select(groups.c.id).where(groups.c.id == group_id).with_for_update()).first() is not None
    )


def search(
    connection: Connection,
    condition: sa.ColumnElement[bool] | None,
    order: sa.ColumnElement[Any] | None,
    *,
    descending: bool,
    offset: int,
    limit: int,
) -> tuple[int, list[StoredResource]]:
    """How many groups meet ``condition`` (all of them when ``None``), and those from ``offset`` on, at most
    ``limit``: by ``order`` and then id (see :func:`~gatehouse.store.pages.filtered_page`)."""
    where = sa.true() if condition is None else condition
    total, rows = filtered_page(
        connection, groups, _GROUP_COLUMNS, where, order, descending=descending, offset=offset, limit=limit
    )
    return total, [to_group(row) for row in rows]


def _conflict(write: GroupWrite) -> Conflict:
    return Conflict(f"A group with displayName '{write.display_name}' already exists.")


def _gone(group_id: str) -> NotFound:
    return NotFound(f"Group {group_id} not found.")


def insert(connection: Connection, write: GroupWrite, now: datetime) -> StoredResource:
    """Insert a group; a taken ``displayName`` (in any case) raises :class:`Conflict`."""
    values = write.columns()
    values.update(id=write.id, created=now, last_modified=now, version=1)
    with refused_as(connection, _conflict(write)):
        connection.execute(groups.insert().values(**values))
    return read_back(get, connection, write.id)


def update(connection: Connection, write: GroupWrite, expected_version: int, now: datetime) -> StoredResource:
    """Replace a group's document if it is still at ``expected_version`` (RFC 7644 §3.14)."""
    values = write.columns()
    values.update(version=groups.c.version + 1, last_modified=now)
    with refused_as(connection, _conflict(write)):
        result = connection.execute(
            groups.update().where(groups.c.id == write.id, groups.c.version == expected_version).values(**values)
        )
    if result.rowcount != 1:
        raise not_written(get(connection, write.id), _gone(write.id))
    return read_back(get, connection, write.id)


def touch(connection: Connection, group_id: str, expected_version: int, now: datetime) -> None:
    """Bump a group's version after a membership-only change, checking the expected version."""
    result = connection.execute(
        groups.update()
        .where(groups.c.id == group_id, groups.c.version == expected_version)
        .values(version=groups.c.version + 1, last_modified=now)
    )
    if result.rowcount != 1:
        raise not_written(get(connection, group_id), _gone(group_id))


def delete(connection: Connection, group_id: str, expected_version: int | None = None) -> None:
    """Delete a group and its memberships."""
    condition = groups.c.id == group_id
    if expected_version is not None:
        condition = sa.and_(condition, groups.c.version == expected_version)
    connection.execute(group_members.delete().where(group_members.c.group_id == group_id))
    result = connection.execute(groups.delete().where(condition))
    if result.rowcount != 1:
        raise not_written(get(connection, group_id), _gone(group_id))


def add_members(
    connection: Connection, group_id: str, user_ids: Sequence[str], displays: Mapping[str, str] | None = None
) -> None:
    """Add members; adding an existing member is a no-op (JumpCloud repeats adds) except that a newly
    sent ``display`` replaces the stored one."""
    shown = displays or {}
    rows = [
        {"group_id": group_id, "user_id": user_id, "display": shown.get(user_id)} for user_id in dict.fromkeys(user_ids)
    ]
    if not rows:
        return
    insert_fn = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    for start in range(0, len(rows), CHUNK):
        statement = insert_fn(group_members)
        statement = statement.on_conflict_do_update(
            index_elements=[group_members.c.group_id, group_members.c.user_id],
            set_={"display": sa.func.coalesce(statement.excluded.display, group_members.c.display)},
        )
        connection.execute(statement, rows[start : start + CHUNK])


def remove_members(connection: Connection, group_id: str, user_ids: Sequence[str]) -> None:
    """Remove the listed members; ids that are not members are ignored."""
    for chunk in in_chunks(user_ids):
        connection.execute(
            group_members.delete().where(group_members.c.group_id == group_id, group_members.c.user_id.in_(chunk))
        )


def clear_members(connection: Connection, group_id: str) -> None:
    """Remove every member."""
    connection.execute(group_members.delete().where(group_members.c.group_id == group_id))


def replace_members(
    connection: Connection, group_id: str, user_ids: Sequence[str], displays: Mapping[str, str] | None = None
) -> None:
    """Make the member list exactly ``user_ids``: rows that stay are kept, the others removed or added."""
    wanted = set(user_ids)
    current = set(
        connection.execute(sa.select(group_members.c.user_id).where(group_members.c.group_id == group_id)).scalars()
    )
    remove_members(connection, group_id, sorted(current - wanted))
    shown = displays or {}
    refreshed = [user_id for user_id in user_ids if user_id not in current or user_id in shown]
    add_members(connection, group_id, refreshed, shown)


def members_of(connection: Connection, group_ids: Iterable[str]) -> dict[str, list[Reference]]:
    """The members of each group, with each member's display name, in a stable order."""
    ids = list(group_ids)
    found: dict[str, list[Reference]] = {group_id: [] for group_id in ids}
    if not ids:
        return found
    rows = connection.execute(
        sa.select(
            group_members.c.group_id, users.c.id, group_members.c.display, users.c.display_name, users.c.user_name
        )
        .join(users, users.c.id == group_members.c.user_id)
        .where(group_members.c.group_id.in_(ids))
        .order_by(group_members.c.group_id, users.c.id)
    )
    for group_id, user_id, sent, display, user_name in rows:
        found[group_id].append(Reference(user_id, sent or display or user_name))
    return found
