"""Small look-ups of who a user is, for answers about them (the decision API's subject, forward-auth headers).

Each is one read through an index (the primary key, or the lower-cased user name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store.tables import users


@dataclass(frozen=True, slots=True)
class Identity:
    """A user's id, name, primary e-mail (lower-cased, as stored for look-ups) and status."""

    id: str
    user_name: str
    email: str | None
    active: bool


def _select() -> sa.Select[tuple[str, str, str | None, bool]]:
    return sa.select(users.c.id, users.c.user_name, users.c.email_lower, users.c.active)


_BY_ID: Final = _select().where(users.c.id == sa.bindparam("user_id", type_=sa.String()))
"""What :func:`by_id` runs, built once (the decision API reads a subject per request)."""


def by_id(connection: Connection, user_id: str) -> Identity | None:
    """The user with this id, or ``None``."""
    row = connection.execute(_BY_ID, {"user_id": user_id}).first()
    return None if row is None else Identity(row.id, row.user_name, row.email_lower, bool(row.active))


def by_user_name(connection: Connection, user_name: str) -> Identity | None:
    """The user with this user name (in any case), or ``None``."""
    row = connection.execute(_select().where(users.c.user_name_lower == user_name.lower())).first()
    return None if row is None else Identity(row.id, row.user_name, row.email_lower, bool(row.active))
