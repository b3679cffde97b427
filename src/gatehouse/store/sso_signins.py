"""Who has signed in through an enabled login option: the way back in when password sign-in is off.

Functions take an open connection and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store.tables import login_options, sso_links, users


@dataclass(frozen=True, slots=True)
class SignedInThrough:
    """An active user who has signed in through an enabled login option."""

    option_id: str
    option_name: str
    user_id: str
    user_name: str


def through_enabled_options(connection: Connection, limit: int = 500) -> list[SignedInThrough]:
    """Active users who signed in at least once through a login option that is enabled now, by option name
    then username (at most ``limit``)."""
    rows = connection.execute(
        sa.select(login_options.c.id, login_options.c.name, users.c.id.label("user_id"), users.c.user_name)
        .select_from(sso_links)
        .join(login_options, login_options.c.id == sso_links.c.option_id)
        .join(users, users.c.id == sso_links.c.user_id)
        .where(
            login_options.c.enabled.is_(True),
            sso_links.c.last_login_at.is_not(None),
            users.c.active.is_(True),
        )
        .order_by(login_options.c.name_lower, users.c.user_name)
        .limit(limit)
    )
    return [SignedInThrough(r.id, r.name, r.user_id, r.user_name) for r in rows]
