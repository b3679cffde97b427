"""What CLI commands share: a database for the configured settings, migrated, one transaction each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.engine import Connection

from gatehouse.config import Settings, load_settings
from gatehouse.store import migration
from gatehouse.store.database import Database

T = TypeVar("T")


@contextmanager
def open_database(settings: Settings) -> Iterator[Database]:
    """A database for one command, disposed afterwards."""
    db = Database.from_url(settings.database_url, pool_size=1)
    try:
        yield db
    finally:
        db.dispose()


def run_write(work: Callable[[Connection], T], settings: Settings | None = None) -> T:
    """Migrate if needed, then run ``work`` in one committed transaction."""
    with open_database(settings or load_settings()) as db:
        migration.upgrade(db.engine)
        with db.transaction() as connection:
            return work(connection)
