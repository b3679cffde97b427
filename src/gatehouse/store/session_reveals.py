"""One secret per session waiting to be shown once (Post/Redirect/Get of a new token): put by the POST that
made it, taken (read and deleted) by the page the browser is redirected to. The value is sealed by the caller
(:mod:`gatehouse.web.reveals`) with a key the database never holds; a session's end deletes it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store.tables import session_reveals


def put(connection: Connection, session_hash: str, sealed: str, now: datetime) -> None:
    """Keep ``sealed`` for the session, replacing what it held."""
    connection.execute(session_reveals.delete().where(session_reveals.c.session_hash == session_hash))
    connection.execute(session_reveals.insert().values(session_hash=session_hash, sealed=sealed, created=now))


def take(connection: Connection, session_hash: str) -> str | None:
    """The session's sealed value, deleted as it is read (``None`` when there is none)."""
    row = connection.execute(
        sa.select(session_reveals.c.sealed).where(session_reveals.c.session_hash == session_hash)
    ).first()
    if row is None:
        return None
    connection.execute(session_reveals.delete().where(session_reveals.c.session_hash == session_hash))
    return str(row.sealed)
