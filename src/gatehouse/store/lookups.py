"""The SCIM read path's hot look-ups, run on the driver connection directly.

Measured on SQLite: a SQLAlchemy Core execution costs 17–120 µs (cache-key generation, result
processing, date parsing), a plain DBAPI execution 3 µs; the SCIM budget for a whole GET is about
165 µs (``design-notes.md`` §1). So the few statements on every request — the token check (with the
SCIM switch), a user by id with its groups, and the ``userName eq`` existence check that every IdP
sends — are fixed SQL strings with bound parameters, one statement each.
Everything else goes through SQLAlchemy Core.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from gatehouse.store import driver
from gatehouse.store.records import Reference, StoredResource


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A live token and the SCIM switch, read together."""

    id: str
    name: str
    last_used_at: datetime | None
    scim_enabled: bool


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
    return {
        "token": f"SELECT {_TOKEN_COLUMNS} FROM scim_tokens t WHERE {live}",
        "user_by_id": f"SELECT {user} FROM users u WHERE u.id = {mark} AND u.source = 'scim'",
        "user_by_name": f"SELECT {user} FROM users u WHERE u.user_name_lower = {mark} AND u.source = 'scim'",
        "groups_of_user": "SELECT g.id, g.display_name FROM group_members m JOIN groups g ON g.id = m.group_id "
        f"WHERE m.user_id = {mark} ORDER BY g.display_name_lower, g.id",
    }


_STATEMENTS = {dialect: _statements(dialect) for dialect in ("sqlite", "postgresql")}


def _token(row: Any) -> TokenRow:
    return TokenRow(row[0], row[1], driver.from_db_time(row[2]) if row[2] is not None else None, row[3] == "true")


def _resource(row: Any, offset: int) -> tuple[StoredResource, list[Reference]]:
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


def user_by_id(connection: Connection, user_id: str) -> tuple[StoredResource, list[Reference]] | None:
    """A provisioned user with its groups, in one statement."""
    return _one_user(connection, "user_by_id", user_id)


def user_by_name(connection: Connection, user_name: str) -> tuple[StoredResource, list[Reference]] | None:
    """The provisioned user with this ``userName`` (case-insensitively), with its groups."""
    return _one_user(connection, "user_by_name", user_name.lower())


def _one_user(connection: Connection, statement: str, key: str) -> tuple[StoredResource, list[Reference]] | None:
    row = driver.fetch_one(connection, _STATEMENTS[connection.dialect.name][statement], (key,))
    return _resource(row, 0) if row else None


def groups_of_user(connection: Connection, user_id: str) -> list[Reference]:
    """A user's direct groups (RFC 7643 §4.1.2 ``groups``), ordered by display name."""
    handle = driver.execute(connection, _STATEMENTS[connection.dialect.name]["groups_of_user"], (user_id,))
    try:
        return [Reference(group_id, display) for group_id, display in handle.fetchall()]
    finally:
        handle.close()


def users_by_ids(connection: Connection, user_ids: list[str]) -> dict[str, tuple[StoredResource, list[Reference]]]:
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
