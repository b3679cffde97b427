"""Login-option helpers shared by the tests: a user who has signed in through an option (the way back in that
turning password sign-in off requires)."""

from __future__ import annotations

import uuid

from gatehouse.store import sso_links
from gatehouse.store import users as user_store
from gatehouse.store.database import Connection, Database
from gatehouse.store.records import utcnow


def signed_in_through(connection: Connection, option_id: str, user_id: str) -> None:
    """Record that ``user_id`` signed in through the option (a link to a subject, used once)."""
    subject = f"subject-{uuid.uuid4()}"
    sso_links.link(connection, option_id, subject, user_id, utcnow())
    sso_links.touch(connection, option_id, subject, utcnow())


def admin_signed_in_through(db: Database, option_id: str, user_name: str = "admin") -> None:
    """``user_name`` (the Super Admin by default) has signed in through the option."""
    with db.transaction() as connection:
        user = user_store.get_by_user_name(connection, user_name)
        assert user is not None
        signed_in_through(connection, option_id, user.id)
