"""SCIM bearer tokens: several may exist (one per IdP, named); only their SHA-256 digests are stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict, NotFound
from gatehouse.store.records import as_utc, optional_utc, utcnow
from gatehouse.store.tables import scim_tokens
from gatehouse.store.write_outcomes import refused_as


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown about a token (never the token itself)."""

    id: str
    name: str
    hint: str
    created: datetime
    last_used_at: datetime | None
    last_used_ip: str | None
    last_used_user_agent: str | None


def create(connection: Connection, name: str, token_hash: str, hint: str) -> TokenInfo:
    """Store a new token under a name that no live token has."""
    token_id = str(uuid.uuid4())
    now = utcnow()
    with refused_as(connection, Conflict(f"A SCIM token named '{name}' already exists.")):
        connection.execute(
            scim_tokens.insert().values(id=token_id, name=name, token_hash=token_hash, hint=hint, created=now)
        )
    return TokenInfo(token_id, name, hint, now, None, None, None)


def revoke(connection: Connection, name: str) -> None:
    """Revoke the live token with this name: it stops working at once, in every process."""
    result = connection.execute(
        scim_tokens.update()
        .where(scim_tokens.c.name == name, scim_tokens.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if result.rowcount == 0:
        raise NotFound(f"No live SCIM token is named '{name}'.")


def revoke_id(connection: Connection, token_id: str) -> bool:
    """Revoke the live token with this id; whether there was one."""
    result = connection.execute(
        scim_tokens.update()
        .where(scim_tokens.c.id == token_id, scim_tokens.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)


def live(connection: Connection) -> list[TokenInfo]:
    """The tokens that work, oldest first."""
    rows = connection.execute(
        sa.select(scim_tokens)
        .where(scim_tokens.c.revoked_at.is_(None))
        .order_by(scim_tokens.c.created, scim_tokens.c.id)
    )
    return [
        TokenInfo(
            row.id,
            row.name,
            row.hint,
            as_utc(row.created),
            optional_utc(row.last_used_at),
            row.last_used_ip,
            row.last_used_user_agent,
        )
        for row in rows
    ]


def record_use(connection: Connection, token_id: str, when: datetime, ip: str | None, agent: str | None) -> None:
    """Record a token's last use (called at most once a minute per token)."""
    connection.execute(
        scim_tokens.update()
        .where(scim_tokens.c.id == token_id)
        .values(last_used_at=when, last_used_ip=ip, last_used_user_agent=(agent or "")[:255] or None)
    )
