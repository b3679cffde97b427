"""Sign-ins in flight: what the OIDC callback needs, keyed by the SHA-256 of ``state``, used once.

Functions take an open connection and never commit. :func:`create` stores, under the digest of the
``state`` sent to the provider (the state itself is never stored, like a session id), the ``nonce`` the
ID token must carry (compared, not a credential) and the PKCE ``code_verifier`` (RFC 7636 §4.5) the token
request needs. :func:`take` deletes the row and returns it in one statement (``DELETE … RETURNING``,
SQLite ≥ 3.35 and PostgreSQL), so of two callbacks with one ``state`` (a replay, or a double submit) only
one finds it: on PostgreSQL the second waits for the first's row lock, then finds the row gone; SQLite has
one writer at a time. An expired state is refused (and deleted). :func:`purge_expired` deletes abandoned
ones in batches.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gatehouse.errors import Conflict, InvalidInput, NotFound
from gatehouse.login.urls import is_local_path
from gatehouse.store.records import as_utc
from gatehouse.store.tables import sso_login_states

DEFAULT_LIFETIME: Final = timedelta(minutes=10)
PURGE_BATCH: Final = 1000
_MAX = {"nonce": 128, "code_verifier": 128, "next_path": 500}


@dataclass(frozen=True, slots=True)
class LoginState:
    """A sign-in in flight (``repr`` hides the verifier and nonce)."""

    state_hash: str
    option_id: str
    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)
    next_path: str
    created: datetime
    expires_at: datetime


def state_hash(state: str) -> str:
    """The digest a state is stored under (hex SHA-256)."""
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def _to_state(row: Any) -> LoginState:
    return LoginState(
        row.state_hash,
        row.option_id,
        row.nonce,
        row.code_verifier,
        row.next_path,
        as_utc(row.created),
        as_utc(row.expires_at),
    )


def create(
    connection: Connection,
    state: str,
    option_id: str,
    nonce: str,
    code_verifier: str,
    next_path: str,
    now: datetime,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> LoginState:
    """Store a sign-in in flight, valid for ``lifetime``.

    ``next_path`` must be a local path (:func:`is_local_path`); :class:`InvalidInput` otherwise, or when a
    value is too long. :class:`NotFound` if the option does not exist.
    """
    values = {"nonce": nonce, "code_verifier": code_verifier, "next_path": next_path}
    for key, limit in _MAX.items():
        if not values[key] or len(values[key]) > limit:
            raise InvalidInput(f"The {key.replace('_', ' ')} must be 1 to {limit} characters.")
    if not is_local_path(next_path):
        raise InvalidInput("The page to return to must be a path on this server.")
    stored = LoginState(state_hash(state), option_id, nonce, code_verifier, next_path, now, now + lifetime)
    row = {name: getattr(stored, name) for name in LoginState.__dataclass_fields__}
    try:
        with connection.begin_nested():
            connection.execute(sso_login_states.insert().values(row))
    except IntegrityError as exc:
        exists = connection.execute(
            sa.select(sso_login_states.c.state_hash).where(sso_login_states.c.state_hash == stored.state_hash)
        ).first()
        if exists is not None:
            raise Conflict("This sign-in state is already in use.") from exc
        raise NotFound("There is no such login option. It may have been deleted.") from exc
    return stored


def take(connection: Connection, state: str, now: datetime) -> LoginState | None:
    """Delete the sign-in with this ``state`` and return it; ``None`` if there is none (never created, taken
    already, purged) or it has expired (it is deleted all the same)."""
    row = connection.execute(
        sso_login_states.delete()
        .where(sso_login_states.c.state_hash == state_hash(state))
        .returning(*sso_login_states.c)
    ).first()
    if row is None:
        return None
    taken = _to_state(row)
    return taken if taken.expires_at > now else None


def purge_expired(connection: Connection, now: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete the sign-ins that expired at ``now`` or before, ``batch`` rows per statement; returns how many."""
    total = 0
    while True:
        expired = (
            sa.select(sso_login_states.c.state_hash)
            .where(sso_login_states.c.expires_at <= now)
            .order_by(sso_login_states.c.expires_at)
            .limit(batch)
        )
        result = connection.execute(sso_login_states.delete().where(sso_login_states.c.state_hash.in_(expired)))
        total += max(result.rowcount, 0)
        if result.rowcount < batch:
            return total
