"""The guard's population (store/scim_guard.py, ``population``), on SQLite and PostgreSQL: the active SCIM users
plus the deprovisionings applied, counted once and reused for a while (a burst of deactivations does not walk the
users on each), counted again when this process adds a user or the count is old."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from unittest import mock

import sqlalchemy as sa

from gatehouse.store import scim_guard
from gatehouse.store import users as store
from gatehouse.store.database import Database

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def add(db: Database, count: int) -> None:
    with db.transaction() as connection:
        for _ in range(count):
            doc = {"schemas": [USER], "userName": f"{uuid.uuid4().hex}@example.com", "active": True}
            write = store.UserWrite(id=str(uuid.uuid4()), doc=doc, source="scim")
            store.insert(connection, write, datetime(2026, 1, 1, tzinfo=UTC))


def counted(db: Database, applied: int) -> tuple[int, int]:
    """The population, and how many statements counting users ran to get it."""
    seen: list[str] = []

    def keep(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", keep)
    try:
        with db.snapshot() as connection:
            found = scim_guard.population(connection, applied)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", keep)
    return found, sum("count(" in statement.lower() for statement in seen)


def test_the_population_is_counted_once_then_reused(db: Database) -> None:
    add(db, 30)
    assert counted(db, 0) == (30, 1)
    with db.transaction() as connection:  # a deactivation: one active user less, one applied more
        connection.execute(sa.text("UPDATE users SET active = false WHERE id = (SELECT min(id) FROM users)"))
    assert counted(db, 1) == (30, 0)  # reused: the sum is the same
    add(db, 5)  # this process added users: counted again
    assert counted(db, 1) == (35, 1)


def test_an_old_count_is_counted_again(db: Database) -> None:
    add(db, 3)
    assert counted(db, 0) == (3, 1)
    later = scim_guard.time.monotonic() + scim_guard.POPULATION_SECONDS + 1
    with mock.patch.object(scim_guard.time, "monotonic", return_value=later):
        assert counted(db, 2) == (5, 1)
