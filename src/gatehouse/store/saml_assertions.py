"""SAML assertions already consumed, against replay: an assertion id is taken once, and kept until the
assertion expires, in the database so that every process and replica agrees.

Functions take an open connection and never commit. :func:`consume` inserts the (option, assertion id) row;
the primary key decides a race: of two processes consuming one assertion at once, one inserts it and the
other gets ``False``, like any later replay. :func:`purge_expired` deletes the rows of assertions that have
expired (they would be refused as expired anyway).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gatehouse.store.tables import saml_assertions

PURGE_BATCH: Final = 1000
MAX_ID_LENGTH: Final = 255


def consume(connection: Connection, option_id: str, assertion_id: str, expires_at: datetime) -> bool:
    """Record the assertion as used; ``False`` if it was used already (a replay)."""
    values = {"option_id": option_id, "assertion_id": assertion_id[:MAX_ID_LENGTH], "expires_at": expires_at}
    try:
        with connection.begin_nested():
            connection.execute(saml_assertions.insert().values(values))
    except IntegrityError:
        return False
    return True


def purge_expired(connection: Connection, now: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete the rows of assertions expired at ``now``, ``batch`` at a time; returns how many."""
    total = 0
    while True:
        expired = (
            sa.select(saml_assertions.c.option_id, saml_assertions.c.assertion_id)
            .where(saml_assertions.c.expires_at <= now)
            .limit(batch)
        )
        rows = connection.execute(expired).all()
        for option_id, assertion_id in rows:
            connection.execute(
                saml_assertions.delete().where(
                    saml_assertions.c.option_id == option_id, saml_assertions.c.assertion_id == assertion_id
                )
            )
        total += len(rows)
        if len(rows) < batch:
            return total
