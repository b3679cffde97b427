"""The SCIM read path's hot look-ups, run on the driver connection directly.

Measured on SQLite: a SQLAlchemy Core execution costs 17–120 µs (cache-key generation, result
processing, date parsing), a plain DBAPI execution 3 µs; the SCIM budget for a whole GET is about
165 µs (``design-notes.md`` §1). So the few statements on every request — the token check (with the
SCIM switch), a user by id with its groups, and the ``userName eq`` existence check that every IdP
sends — are fixed SQL strings with bound parameters, one statement each; and the two reads that make a
``GET /Users/{id}`` or a ``userName eq`` filter are one statement (:func:`token_with_user`: on SQLite 11 µs
against 7 + 8 µs apart, on PostgreSQL one round trip instead of two).
Everything else goes through SQLAlchemy Core.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy.engine import Connection

from gatehouse.store import driver
from gatehouse.store.database import Database
from gatehouse.store.records import Reference, StoredResource


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A live token and the SCIM switch, read together."""

    id: str
    name: str
    last_used_at: datetime | None
    scim_enabled: bool


UserFound = tuple[StoredResource, list[Reference]]
"""A provisioned user with its groups."""


@dataclass(frozen=True, slots=True)
class UserKey:
    """Which provisioned user to read with a token: by ``id``, or by ``name`` (``userName``, any case)."""

    by: Literal["id", "name"]
    value: str


_TOKEN_COLUMNS = "t.id, t.name, t.last_used_at, (SELECT s.value FROM app_settings s WHERE s.key = 'scim.enabled')"
_USER_COLUMNS = "u.id, u.data, u.version, u.created, u.last_modified"
_GROUPS = {
    "sqlite": "(SELECT json_group_array(json_array(g.id, g.display_name)) "
    "FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = u.id)",
    "postgresql": "(SELECT json_agg(json_build_array(g.id, g.display_name))::text "
    "FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = u.id)",
}


def _statements(dialect: str) -> dict[str, str]:
    mark = "?" if dialect == "sqlite" else "%s"
    live = f"t.token_hash = {mark} AND t.revoked_at IS NULL"
    user = f"{_USER_COLUMNS}, {_GROUPS[dialect]}"
    by_id, by_name = f"u.id = {mark} AND u.source = 'scim'", f"u.user_name_lower = {mark} AND u.source = 'scim'"
    with_user = f"SELECT {_TOKEN_COLUMNS}, {user} FROM scim_tokens t LEFT JOIN users u ON"
    return {
        "token": f"SELECT {_TOKEN_COLUMNS} FROM scim_tokens t WHERE {live}",
        "user_by_id": f"SELECT {user} FROM users u WHERE {by_id}",
        "user_by_name": f"SELECT {user} FROM users u WHERE {by_name}",
        "token_with_user_by_id": f"{with_user} {by_id} WHERE {live}",
        "token_with_user_by_name": f"{with_user} {by_name} WHERE {live}",
        "groups_of_user": "SELECT g.id, g.display_name FROM group_members m JOIN groups g ON g.id = m.group_id "
        f"WHERE m.user_id = {mark} ORDER BY g.display_name_lower, g.id",
    }


_STATEMENTS = {dialect: _statements(dialect) for dialect in ("sqlite", "postgresql")}
_WITH_USER = {
    by: {dialect: statements[f"token_with_user_by_{by}"] for dialect, statements in _STATEMENTS.items()}
    for by in ("id", "name")
}


def _token(row: Any) -> TokenRow:
    return TokenRow(row[0], row[1], driver.from_db_time(row[2]) if row[2] is not None else None, row[3] == "true")


def _resource(row: Any, offset: int) -> UserFound:
    stored = StoredResource(
        id=row[offset],
        data=row[offset + 1],
        version=row[offset + 2],
        created=driver.from_db_time(row[offset + 3]),
        last_modified=driver.from_db_time(row[offset + 4]),
    )
    raw_groups = row[offset + 5]
    pairs = orjson.loads(raw_groups) if raw_groups else []
    groups = sorted((Reference(gid, name) for gid, name in pairs), key=lambda r: ((r.display or "").lower(), r.id))
    return stored, groups


def token(connection: Connection, token_hash: str) -> TokenRow | None:
    """The live token with this digest, with the SCIM switch; ``None`` if there is none."""
    row = driver.fetch_one(connection, _STATEMENTS[connection.dialect.name]["token"], (token_hash,))
    return _token(row) if row else None


async def token_with_user(db: Database, token_hash: str, user: UserKey) -> tuple[TokenRow | None, UserFound | None]:
    """:func:`token` and :func:`user_by_id` (or :func:`user_by_name`) in one statement: the two reads of
    ``GET /Users/{id}`` and of the ``userName eq`` filter, one round trip (and on SQLite one read transaction)
    instead of two, which on PostgreSQL leaves the event loop free while it waits (:meth:`Database.fetch_row`).
    The user is ``None`` when there is no such user, and when the token is not live."""
    key = user.value.lower() if user.by == "name" else user.value
    row = await db.fetch_row(_WITH_USER[user.by], (key, token_hash))
    if not row:
        return None, None
    return _token(row), (_resource(row, 4) if row[4] is not None else None)


def user_by_id(connection: Connection, user_id: str) -> UserFound | None:
    """A provisioned user with its groups, in one statement."""
    return _one_user(connection, "user_by_id", user_id)


def user_by_name(connection: Connection, user_name: str) -> UserFound | None:
    """The provisioned user with this ``userName`` (case-insensitively), with its groups."""
    return _one_user(connection, "user_by_name", user_name.lower())


def _one_user(connection: Connection, statement: str, key: str) -> UserFound | None:
    row = driver.fetch_one(connection, _STATEMENTS[connection.dialect.name][statement], (key,))
    return _resource(row, 0) if row else None


def groups_of_user(connection: Connection, user_id: str) -> list[Reference]:
    """A user's direct groups (RFC 7643 §4.1.2 ``groups``), ordered by display name."""
    handle = driver.execute(connection, _STATEMENTS[connection.dialect.name]["groups_of_user"], (user_id,))
    try:
        return [Reference(group_id, display) for group_id, display in handle.fetchall()]
    finally:
        handle.close()


def users_by_ids(connection: Connection, user_ids: list[str]) -> dict[str, UserFound]:
    """Provisioned users with their groups, for a list page (one statement for the whole page)."""
    if not user_ids:
        return {}
    dialect = connection.dialect.name
    marks = ", ".join("?" if dialect == "sqlite" else "%s" for _ in user_ids)
    sql = f"SELECT {_USER_COLUMNS}, {_GROUPS[dialect]} FROM users u WHERE u.id IN ({marks}) AND u.source = 'scim'"
    handle = driver.execute(connection, sql, user_ids)
    try:
        found = [_resource(row, 0) for row in handle.fetchall()]
    finally:
        handle.close()
    return {stored.id: (stored, groups) for stored, groups in found}
