"""First run: make sure a Super Admin exists, so that somebody can sign in."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.iam.accounts import create_super_admin
from gatehouse.store.tables import users

BOOTSTRAP_USER = "admin"


def has_super_admin(connection: Connection) -> bool:
    """Whether any Super Admin account exists."""
    return connection.execute(sa.select(users.c.id).where(users.c.super_admin.is_(True)).limit(1)).first() is not None


def ensure_super_admin(connection: Connection, password: str | None) -> str | None:
    """Create ``admin`` when no Super Admin exists. Returns the generated password (to be shown once)
    when none was configured; ``None`` when nothing was created or the password was configured."""
    if has_super_admin(connection):
        return None
    generated = None if password else secrets.token_urlsafe(15)
    create_super_admin(
        connection, BOOTSTRAP_USER, password or generated or "", must_change_password=generated is not None
    )
    return generated
