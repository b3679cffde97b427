"""The users an SSO login could be (see :mod:`gatehouse.login.linking`), each found by an indexed look-up.

Functions take an open connection and never commit.
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.login.linking import Candidates, LoginIdentity, UserRef
from gatehouse.store.tables import sso_links, user_emails, users

MAX_EMAIL_MATCHES: Final = 5

_COLUMNS = (users.c.id, users.c.user_name, users.c.source, users.c.active, users.c.super_admin)


def _ref(row: Any) -> UserRef:
    return UserRef(row.id, row.user_name, row.source, bool(row.active), bool(row.super_admin))


def _one(connection: Connection, condition: sa.ColumnElement[bool]) -> UserRef | None:
    row = connection.execute(sa.select(*_COLUMNS).where(condition).order_by(users.c.id).limit(1)).first()
    return _ref(row) if row else None


def email_matches(connection: Connection, email: str) -> list[UserRef]:
    """Users whose userName, primary email or any email equals ``email`` (ignoring case): index look-ups on
    ``user_name_lower``, ``email_lower`` and ``user_emails.value_lower``; at most :data:`MAX_EMAIL_MATCHES`."""
    key = email.strip().lower()
    any_email = sa.select(user_emails.c.user_id).where(user_emails.c.value_lower == key)
    rows = connection.execute(
        sa.select(*_COLUMNS)
        .where(sa.or_(users.c.user_name_lower == key, users.c.email_lower == key, users.c.id.in_(any_email)))
        .order_by(users.c.id)
        .limit(MAX_EMAIL_MATCHES)
    )
    return [_ref(row) for row in rows]


def load(connection: Connection, login: LoginIdentity) -> tuple[Candidates, list[UserRef]]:
    """The candidates of ``login``, and every user its email matched (the caller refuses an ambiguous email)."""
    linked_id = sa.select(sso_links.c.user_id).where(
        sso_links.c.option_id == login.option_id, sso_links.c.subject == login.subject
    )
    linked = _one(connection, users.c.id == linked_id.scalar_subquery())
    by_external_id = _one(connection, sa.and_(users.c.external_id == login.subject, users.c.source == "scim"))
    name = (login.user_name or "").strip().lower()
    by_user_name = _one(connection, users.c.user_name_lower == name) if name else None
    matches = email_matches(connection, login.email) if login.email and login.email.strip() else []
    by_email = next((user for user in matches if user.source == "local" or user.super_admin), None)
    if by_email is None and matches:
        by_email = matches[0]
    return Candidates(linked, by_external_id, by_user_name, by_email), matches
