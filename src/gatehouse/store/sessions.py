"""Dashboard sessions, stored server-side: a deactivated or deleted user loses them at once.

The cookie carries a random 256-bit id; the table keeps only its SHA-256. Every look-up joins the
user, so a session whose user is inactive or gone is never returned (and is deleted).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.credentials import hash_token
from gatehouse.login.saml import SamlSubject
from gatehouse.store import driver
from gatehouse.store.records import as_utc
from gatehouse.store.tables import sessions, users

TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SessionUser:
    """The signed-in user behind a valid session."""

    session_hash: str
    csrf_token: str
    user_id: str
    user_name: str
    display_name: str | None
    super_admin: bool
    must_change_password: bool
    created: datetime
    last_seen: datetime
    expires_at: datetime
    login_option_id: str | None = None
    """The SSO login option the session was opened through (``None``: password sign-in)."""
    saml: SamlSubject | None = None
    """Whom the SAML sign-in of the session named (for Single Logout)."""


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session as shown on a user's page (never its id)."""

    created: datetime
    last_seen: datetime
    ip: str | None
    user_agent: str | None


def create(
    connection: Connection,
    user_id: str,
    now: datetime,
    lifetime: timedelta,
    ip: str | None,
    agent: str | None,
    login_option_id: str | None = None,
    saml: SamlSubject | None = None,
) -> tuple[str, str]:
    """Start a session (through ``login_option_id`` for an SSO sign-in, naming ``saml``'s subject for a SAML
    one); return the cookie value and the session's CSRF token."""
    raw = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    connection.execute(
        sessions.insert().values(
            id_hash=hash_token(raw),
            user_id=user_id,
            csrf_token=csrf,
            created=now,
            last_seen=now,
            expires_at=now + lifetime,
            ip=ip,
            user_agent=(agent or "")[:255] or None,
            login_option_id=login_option_id,
            saml_name_id=saml.name_id[:255] if saml else None,
            saml_name_id_format=(saml.name_id_format or "")[:255] or None if saml else None,
            saml_session_index=(saml.session_index or "")[:255] or None if saml else None,
        )
    )
    return raw, csrf


def lookup(connection: Connection, raw: str, now: datetime, idle: timedelta) -> SessionUser | None:
    """The live session for a cookie value: not expired, not idle too long, its user active."""
    row = connection.execute(
        sa.select(
            sessions.c.id_hash,
            sessions.c.csrf_token,
            sessions.c.created,
            sessions.c.last_seen,
            sessions.c.expires_at,
            sessions.c.login_option_id,
            sessions.c.saml_name_id,
            sessions.c.saml_name_id_format,
            sessions.c.saml_session_index,
            users.c.id,
            users.c.user_name,
            users.c.display_name,
            users.c.super_admin,
            users.c.must_change_password,
            users.c.active,
        )
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.id_hash == hash_token(raw))
    ).first()
    if row is None:
        return None
    last_seen, expires_at = as_utc(row.last_seen), as_utc(row.expires_at)
    if not row.active or now >= expires_at or now - last_seen >= idle:
        return None
    return SessionUser(
        session_hash=row.id_hash,
        csrf_token=row.csrf_token,
        user_id=row.id,
        user_name=row.user_name,
        display_name=row.display_name,
        super_admin=bool(row.super_admin),
        must_change_password=bool(row.must_change_password),
        created=as_utc(row.created),
        last_seen=last_seen,
        expires_at=expires_at,
        login_option_id=row.login_option_id,
        saml=SamlSubject(row.saml_name_id, row.saml_name_id_format, row.saml_session_index)
        if row.saml_name_id
        else None,
    )


def touch(connection: Connection, session_hash: str, now: datetime) -> None:
    """Record activity (callers do it at most once per :data:`TOUCH_INTERVAL`)."""
    connection.execute(sessions.update().where(sessions.c.id_hash == session_hash).values(last_seen=now))


def end(connection: Connection, session_hash: str) -> None:
    """End one session (sign-out)."""
    connection.execute(sessions.delete().where(sessions.c.id_hash == session_hash))


def end_for_user(connection: Connection, user_id: str) -> int:
    """End every session of a user (deactivation, password change, deletion)."""
    # On the driver: deactivation is on the SCIM hot path (Okta's PATCH active=false).
    return driver.run(
        connection, f"DELETE FROM sessions WHERE user_id = {driver.mark(connection, 'u')}", {"u": user_id}
    )


def end_for_saml_subject(connection: Connection, option_id: str, name_id: str, session_indexes: list[str]) -> list[str]:
    """End the sessions that a SAML sign-in through ``option_id`` opened for ``name_id`` (only those of
    ``session_indexes`` when any is given: SAML 2.0 Core §3.7.3.2); returns their users' ids."""
    where = sa.and_(sessions.c.login_option_id == option_id, sessions.c.saml_name_id == name_id[:255])
    if session_indexes:
        where = sa.and_(where, sessions.c.saml_session_index.in_([index[:255] for index in session_indexes]))
    ended = connection.execute(sessions.delete().where(where).returning(sessions.c.user_id)).all()
    return sorted({row.user_id for row in ended})


def purge(connection: Connection, now: datetime, idle: timedelta) -> int:
    """Delete expired and idle sessions."""
    result = connection.execute(
        sessions.delete().where(sa.or_(sessions.c.expires_at <= now, sessions.c.last_seen <= now - idle))
    )
    return int(result.rowcount)


def active_count(connection: Connection, now: datetime, idle: timedelta) -> int:
    """How many sessions are neither expired nor idle (on the ``expires_at`` index, then a filter)."""
    return int(
        connection.execute(
            sa.select(sa.func.count())
            .select_from(sessions)
            .where(sessions.c.expires_at > now, sessions.c.last_seen > now - idle)
        ).scalar_one()
    )


def of_user(connection: Connection, user_id: str) -> list[SessionInfo]:
    """A user's sessions, newest first."""
    rows = connection.execute(
        sa.select(sessions.c.created, sessions.c.last_seen, sessions.c.ip, sessions.c.user_agent)
        .where(sessions.c.user_id == user_id)
        .order_by(sessions.c.created.desc())
    )
    return [SessionInfo(as_utc(r.created), as_utc(r.last_seen), r.ip, r.user_agent) for r in rows]
