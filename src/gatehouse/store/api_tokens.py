"""Personal API tokens: only their SHA-256 digests are stored, with the user each one acts for.

Functions take an open connection and never commit. A token works while it is not revoked, not expired
and its user is active: :func:`lookup` checks all three in one indexed query (the token digest's unique
index, then the user's primary key), so a revocation, an expiry or a deactivation is seen by every process
on the next request. A deleted user's tokens are deleted with it (foreign key cascade). A revoked token
keeps its row, so the user can still see it in their list.

Names are unique among a user's unrevoked tokens (a partial unique index); an expired token gives its name
up when a new token takes it (it is marked revoked at its expiry time, so it still reads as expired).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict
from gatehouse.store import driver
from gatehouse.store.records import as_utc, optional_utc
from gatehouse.store.tables import api_tokens, users
from gatehouse.store.write_outcomes import refused_as

TokenStatus = Literal["active", "expired", "revoked"]


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown about a token (never the token itself)."""

    id: str
    user_id: str
    name: str
    hint: str
    created: datetime
    expires_at: datetime
    last_used_at: datetime | None
    last_used_ip: str | None
    last_used_user_agent: str | None
    revoked_at: datetime | None

    def status(self, now: datetime) -> TokenStatus:
        """``revoked`` (before it expired), ``expired``, or ``active``."""
        if self.revoked_at is not None and self.revoked_at < self.expires_at:
            return "revoked"
        if self.expires_at <= now or self.revoked_at is not None:
            return "expired"
        return "active"


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """A working token and the active user it acts for (what a request authenticates as)."""

    token_id: str
    token_name: str
    user_id: str
    user_name: str
    expires_at: datetime
    last_used_at: datetime | None


def _to_info(row: Any) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        hint=row.hint,
        created=as_utc(row.created),
        expires_at=as_utc(row.expires_at),
        last_used_at=optional_utc(row.last_used_at),
        last_used_ip=row.last_used_ip,
        last_used_user_agent=row.last_used_user_agent,
        revoked_at=optional_utc(row.revoked_at),
    )


def create(
    connection: Connection, user_id: str, name: str, token_hash: str, hint: str, now: datetime, expires_at: datetime
) -> TokenInfo:
    """Store a new token of ``user_id`` under a name none of the user's unrevoked tokens has.

    Expired tokens with that name give it up first; a live one makes it a :class:`Conflict`.
    """
    connection.execute(
        api_tokens.update()
        .where(
            api_tokens.c.user_id == user_id,
            api_tokens.c.name == name,
            api_tokens.c.revoked_at.is_(None),
            api_tokens.c.expires_at <= now,
        )
        .values(revoked_at=api_tokens.c.expires_at)
    )
    token_id = str(uuid.uuid4())
    values = {
        "id": token_id,
        "user_id": user_id,
        "name": name,
        "token_hash": token_hash,
        "hint": hint,
        "created": now,
        "expires_at": expires_at,
    }
    taken = Conflict(f"You already have a token named '{name}'. Choose another name, or revoke it first.")
    with refused_as(connection, taken):
        connection.execute(api_tokens.insert().values(values))
    return TokenInfo(token_id, user_id, name, hint, now, expires_at, None, None, None, None)


def get(connection: Connection, token_id: str) -> TokenInfo | None:
    """The token with this id (whatever its status), or ``None``."""
    row = connection.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).first()
    return _to_info(row) if row else None


def newest(connection: Connection, limit: int) -> list[tuple[TokenInfo, str]]:
    """Every user's tokens with their owner's user name, newest first, at most ``limit`` (for admins)."""
    rows = connection.execute(
        sa.select(api_tokens, users.c.user_name.label("owner"))
        .join(users, users.c.id == api_tokens.c.user_id)
        .order_by(api_tokens.c.created.desc(), api_tokens.c.id)
        .limit(limit)
    )
    return [(_to_info(row), row.owner) for row in rows]


def of_user(connection: Connection, user_id: str) -> list[TokenInfo]:
    """Every token of a user, revoked and expired ones included, newest first."""
    rows = connection.execute(
        sa.select(api_tokens)
        .where(api_tokens.c.user_id == user_id)
        .order_by(api_tokens.c.created.desc(), api_tokens.c.id)
    )
    return [_to_info(row) for row in rows]


def revoke(connection: Connection, token_id: str, now: datetime) -> bool:
    """Revoke a token: it stops working at once, in every process. ``False`` if it already was revoked."""
    result = connection.execute(
        api_tokens.update().where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return bool(result.rowcount)


def revoke_all_for_user(connection: Connection, user_id: str, now: datetime) -> int:
    """Revoke every unrevoked token of a user (deactivation): reactivation does not bring them back."""
    # On the driver: deactivation is on the SCIM hot path (Okta's PATCH active=false).
    sql = (
        f"UPDATE api_tokens SET revoked_at = {driver.mark(connection, 'now')} "
        f"WHERE user_id = {driver.mark(connection, 'u')} AND revoked_at IS NULL"
    )
    return driver.run(connection, sql, {"now": driver.to_db_time(connection, now), "u": user_id})


_LOOKUP: Final = (
    sa.select(
        api_tokens.c.id,
        api_tokens.c.name,
        api_tokens.c.expires_at,
        api_tokens.c.last_used_at,
        users.c.id.label("user_id"),
        users.c.user_name,
        users.c.active,
    )
    .join(users, users.c.id == api_tokens.c.user_id)
    .where(api_tokens.c.token_hash == sa.bindparam("token_hash", type_=sa.String()), api_tokens.c.revoked_at.is_(None))
)
"""What :func:`lookup` runs, built once (every API request authenticates its token)."""


def lookup(connection: Connection, token_hash: str, now: datetime) -> TokenOwner | None:
    """The working token with this digest and its user: unrevoked, unexpired, the user active."""
    row = connection.execute(_LOOKUP, {"token_hash": token_hash}).first()
    if row is None or not row.active:
        return None
    expires_at = as_utc(row.expires_at)
    if expires_at <= now:
        return None
    return TokenOwner(row.id, row.name, row.user_id, row.user_name, expires_at, optional_utc(row.last_used_at))


def record_use(connection: Connection, token_id: str, when: datetime, ip: str | None, agent: str | None) -> None:
    """Record a token's last use (callers do it at most once a minute per token)."""
    connection.execute(
        api_tokens.update()
        .where(api_tokens.c.id == token_id)
        .values(
            last_used_at=when, last_used_ip=(ip or "")[:64] or None, last_used_user_agent=(agent or "")[:255] or None
        )
    )
