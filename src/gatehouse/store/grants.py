"""Time-bound grants: a role held until a moment (``user_roles.expires_at``) or bound to a group until a moment
(``group_role_bindings.expires_at``), and the expired ones taken away, each exactly once.

Functions take an open connection and never commit. Reads elsewhere leave expired rows out already
(:func:`gatehouse.store.holdings.unexpired`); :func:`take_expired_grants` and :func:`take_expired_bindings`
delete them and say which, so that the caller records each expiry in the audit log in the same transaction.
Each row is deleted by a ``DELETE … WHERE <key> AND expires_at <= now`` of its own: when two processes settle at
once, the second one's statement finds the row gone (PostgreSQL re-checks a row it waited for), so no expiry is
reported twice, and none is lost while its row exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gatehouse.errors import NotFound
from gatehouse.store.holdings import unexpired
from gatehouse.store.records import as_utc, optional_utc
from gatehouse.store.tables import group_role_bindings, groups, roles, user_roles, users

SETTLE_BATCH = 500


@dataclass(frozen=True, slots=True)
class ExpiredGrant:
    """A time-bound grant taken away: a user's role (``group_id`` ``None``) or a group's binding."""

    role_id: str
    role_name: str
    expires_at: datetime
    granted_by: str | None
    user_id: str | None = None
    user_name: str | None = None
    source: str | None = None
    group_id: str | None = None
    group_name: str | None = None


@dataclass(frozen=True, slots=True)
class TimedGrant:
    """A grant of a role to a user, as stored."""

    user_id: str
    role_id: str
    source: str
    granted_at: datetime
    granted_by: str | None
    expires_at: datetime | None


def _upsert(connection: Connection, table: sa.Table, row: Mapping[str, Any], changed: Sequence[str]) -> None:
    insert_fn = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert_fn(table).values(dict(row))
    statement = statement.on_conflict_do_update(
        index_elements=list(table.primary_key), set_={name: statement.excluded[name] for name in changed}
    )
    with connection.begin_nested():
        connection.execute(statement)


def grant_role(
    connection: Connection,
    user_id: str,
    role_id: str,
    source: str,
    by: str | None,
    now: datetime,
    expires_at: datetime | None,
) -> None:
    """Give a user a role from ``source`` until ``expires_at`` (``None``: until taken away). Held already from
    that source, the grant is renewed: its grant time, grantor and expiry become these. A missing user or role
    raises :class:`NotFound`."""
    row = {
        "user_id": user_id,
        "role_id": role_id,
        "source": source,
        "granted_at": now,
        "granted_by": by,
        "expires_at": expires_at,
    }
    try:
        _upsert(connection, user_roles, row, ("granted_at", "granted_by", "expires_at"))
    except IntegrityError as exc:
        raise NotFound("The user or the role does not exist.") from exc


def bind_role(
    connection: Connection, group_id: str, role_id: str, by: str | None, now: datetime, expires_at: datetime | None
) -> None:
    """Bind a role to a group until ``expires_at`` (``None``: until unbound); bound already, the binding is
    renewed likewise. A missing group or role raises :class:`NotFound`."""
    row = {"group_id": group_id, "role_id": role_id, "created": now, "created_by": by, "expires_at": expires_at}
    try:
        _upsert(connection, group_role_bindings, row, ("created", "created_by", "expires_at"))
    except IntegrityError as exc:
        raise NotFound("The group or the role does not exist.") from exc


def grant_of(connection: Connection, user_id: str, role_id: str, source: str, now: datetime) -> TimedGrant | None:
    """The user's unexpired grant of the role from ``source``, or ``None``."""
    row = connection.execute(
        sa.select(user_roles).where(
            user_roles.c.user_id == user_id,
            user_roles.c.role_id == role_id,
            user_roles.c.source == source,
            unexpired(user_roles.c.expires_at, now),
        )
    ).first()
    return None if row is None else _timed(row)


def _timed(row: Any) -> TimedGrant:
    expires = optional_utc(row.expires_at)
    return TimedGrant(row.user_id, row.role_id, row.source, as_utc(row.granted_at), row.granted_by, expires)


def take_expired_grants(connection: Connection, now: datetime, limit: int = SETTLE_BATCH) -> list[ExpiredGrant]:
    """Delete up to ``limit`` grants of roles to users whose time is up (at ``now``); the ones this call deleted."""
    return _take_expired(
        connection,
        _Holding(user_roles, ("user_id", "role_id", "source"), "granted_by", users, users.c.user_name),
        now,
        limit,
        lambda row, expires_at, by: ExpiredGrant(
            row.role_id,
            row.role_name,
            expires_at,
            by,
            user_id=row.user_id,
            user_name=row.holder_name,
            source=row.source,
        ),
    )


def take_expired_bindings(connection: Connection, now: datetime, limit: int = SETTLE_BATCH) -> list[ExpiredGrant]:
    """Delete up to ``limit`` group → role bindings whose time is up; the ones this call deleted."""
    return _take_expired(
        connection,
        _Holding(group_role_bindings, ("group_id", "role_id"), "created_by", groups, groups.c.display_name),
        now,
        limit,
        lambda row, expires_at, by: ExpiredGrant(
            row.role_id, row.role_name, expires_at, by, group_id=row.group_id, group_name=row.holder_name
        ),
    )


@dataclass(frozen=True, slots=True)
class _Holding:
    """A table of time-bound holdings of roles: ``user_roles`` or ``group_role_bindings``."""

    table: sa.Table
    keys: tuple[str, ...]
    """The primary key's columns (the holder's id first)."""
    by: str
    """The column of who granted it."""
    holder: sa.Table
    holder_name: sa.ColumnElement[str]


def _take_expired(
    connection: Connection,
    holding: _Holding,
    now: datetime,
    limit: int,
    expired: Callable[[Any, datetime, str | None], ExpiredGrant],
) -> list[ExpiredGrant]:
    """Delete up to ``limit`` rows of ``holding`` whose time is up, each by a statement of its own (see the
    module); ``expired`` says each one this call deleted, from the row found (its keys, ``holder_name`` and
    ``role_name``), its expiry and its grantor."""
    table = holding.table
    found = connection.execute(
        sa.select(
            *(table.c[key] for key in holding.keys),
            holding.holder_name.label("holder_name"),
            roles.c.name.label("role_name"),
        )
        .select_from(
            table.join(holding.holder, holding.holder.c.id == table.c[holding.keys[0]]).join(
                roles, roles.c.id == table.c.role_id
            )
        )
        .where(table.c.expires_at <= now)
        .order_by(table.c.expires_at)
        .limit(limit)
    ).all()
    taken: list[ExpiredGrant] = []
    for row in found:
        gone = connection.execute(
            table.delete()
            .where(*(table.c[key] == getattr(row, key) for key in holding.keys), table.c.expires_at <= now)
            .returning(table.c.expires_at, table.c[holding.by])
        ).first()
        if gone is not None:
            taken.append(expired(row, as_utc(gone[0]), gone[1]))
    return taken


def next_expiry(connection: Connection, now: datetime) -> datetime | None:
    """The earliest ``expires_at`` still to come of any grant or binding (when the next settling is due)."""
    soonest = [
        connection.execute(sa.select(sa.func.min(column)).where(column > now)).scalar()
        for column in (user_roles.c.expires_at, group_role_bindings.c.expires_at)
    ]
    times = [as_utc(value) for value in soonest if value is not None]
    return min(times) if times else None
