"""The schema revision a database is at, read without Alembic: the serving process's readiness probe.

Alembic (with Mako and Pygments behind it) costs a server about 9 MiB it would hold only to answer
``/readyz``. Migrations run in ``gatehouse serve`` before the server process starts
(:mod:`gatehouse.store.migration`); the server only compares ``alembic_version`` with :data:`HEAD`, which a
test keeps equal to the newest migration's revision.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

HEAD: Final = "0018"
"""The newest revision under ``store/migrations/versions`` (``tests/store/test_migrations.py`` checks it)."""

VERSION_TABLE: Final = "alembic_version"


def current(connection: Connection) -> str | None:
    """The revision the database is at (``None`` when it was never migrated)."""
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def at_head(connection: Connection) -> bool:
    """Whether the database answers a statement (``SELECT 1``) and is at :data:`HEAD` (the readiness probe); a
    database that cannot be reached raises the driver's error."""
    connection.execute(sa.text("SELECT 1"))
    return current(connection) == HEAD
