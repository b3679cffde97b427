"""Run-time settings stored as JSON (store/settings.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from gatehouse.store import settings
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow


def test_put_if_absent_stores_once_and_never_overwrites(db: Database) -> None:
    with db.transaction() as connection:
        assert settings.put_if_absent(connection, "seeded.marker", {"at": 1}, utcnow()) is True
        assert settings.put_if_absent(connection, "seeded.marker", {"at": 2}, utcnow()) is False
        assert settings.get(connection, "seeded.marker") == {"at": 1}
        settings.put(connection, "other", True)
        assert settings.put_if_absent(connection, "other", False, utcnow()) is False
    with db.snapshot() as connection:
        assert settings.get(connection, "seeded.marker") == {"at": 1} and settings.get(connection, "other") is True
