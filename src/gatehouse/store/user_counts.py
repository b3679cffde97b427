"""How many users a source has (:data:`gatehouse.store.tables.user_counts`): the sum of a few rows.

The database keeps the counts (migration 0017's triggers, in the transaction of every write to ``users``), so
they are what ``count(*)`` over the source would say, without walking a million index entries: a SCIM
listing's ``totalResults`` and the total of Organization → Users (without a search) read them. On PostgreSQL
the triggers run as the writing transaction commits, so a transaction does not see its own writes in them: the
mass-deprovisioning guard, which counts inside the deactivating transaction (the user it deactivates no longer
active), keeps its own ``count(*)`` (:func:`gatehouse.store.scim_guard.population`). Functions take an open
connection and never commit.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store.tables import user_counts

_TALLY: Final = sa.func.coalesce(sa.func.sum(user_counts.c.tally), 0)


def of_source(connection: Connection, source: str | None = None, *, active: bool | None = None) -> int:
    """The users of ``source`` (of every source when ``None``): all of them, or only the active
    (``active=True``) or inactive ones."""
    query = sa.select(_TALLY)
    if source is not None:
        query = query.where(user_counts.c.source == source)
    if active is not None:
        query = query.where(user_counts.c.active.is_(active))
    return int(connection.execute(query).scalar_one())
