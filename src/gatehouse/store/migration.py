"""Schema migrations (Alembic), applied under a lock so that processes starting together migrate once.

PostgreSQL: a session-level advisory lock held for the whole upgrade. SQLite: an exclusive file lock
beside the database file. The second process waits, then finds nothing left to do.

A database already at the head revision is found so without Alembic (:mod:`gatehouse.store.schema_revision`) and
left as it is: Alembic and the migration scripts are imported only when there is something to migrate or to
report. Every CLI command and every ``gatehouse serve`` upgrades first; loading them cost a command about 0.1 s
and a PostgreSQL upgrade with nothing to do 40 ms.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gatehouse.store import schema_revision

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
ADVISORY_LOCK_KEY = 0x6761746568  # "gateh"


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision this code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (``None`` when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def at_head(connection: Connection) -> bool:
    """Whether the database answers a statement and is at the head revision (:func:`schema_revision.at_head`,
    which reads it without Alembic)."""
    return schema_revision.at_head(connection)


def is_current(engine: Engine) -> bool:
    """Whether the database is at the head revision."""
    with engine.connect() as connection:
        return current_revision(connection) == head_revision()


@contextmanager
def _sqlite_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(engine: Engine) -> str | None:
    """Apply every pending migration under the migration lock; return the revision reached (a database at the
    head revision is left as it is: see the module)."""
    with engine.connect() as connection:
        if schema_revision.at_head(connection):
            return schema_revision.HEAD
    from alembic import command

    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            connection.commit()
            try:
                command.upgrade(_config(connection), "head")
                connection.commit()
                return current_revision(connection)
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                connection.commit()
    with _sqlite_lock(engine), engine.connect() as connection:
        command.upgrade(_config(connection), "head")
        connection.commit()
        return current_revision(connection)
