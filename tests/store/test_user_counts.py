"""The user counts (migration 0017, store/user_counts.py) on SQLite and PostgreSQL: the database keeps them equal to
``count(*)`` over ``users`` through every write that changes a user's source or state, rolled-back writes and
concurrent creates included, and the migration counts the users already there."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from gatehouse.store import directory, migration, user_counts, users
from gatehouse.store.database import Database
from gatehouse.store.directory import SOURCE_FILTERS, STATUSES, DirectoryQuery
from gatehouse.store.records import utcnow
from gatehouse.store.tables import SOURCES
from gatehouse.store.tables import users as users_table

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def add(connection: Connection, name: str, source: str = "scim", *, active: bool = True) -> str:
    doc = {"schemas": [USER], "userName": name, "active": active}
    return users.insert(connection, users.UserWrite(id=str(uuid.uuid4()), doc=doc, source=source), utcnow()).id


def counted(db: Database) -> dict[tuple[str, bool], int]:
    """The kept counts of every source and state."""
    with db.reader() as connection:
        return {(s, a): user_counts.of_source(connection, s, active=a) for s in SOURCES for a in (True, False)}


def actual(db: Database) -> dict[tuple[str, bool], int]:
    """``count(*)`` of every source and state."""
    found = {(s, a): 0 for s in SOURCES for a in (True, False)}
    query = sa.select(users_table.c.source, users_table.c.active, sa.func.count()).group_by(
        users_table.c.source, users_table.c.active
    )
    with db.reader() as connection:
        for source, active, number in connection.execute(query):
            found[(source, bool(active))] = number
    return found


def test_every_write_to_a_users_source_or_state_moves_the_counts(db: Database) -> None:
    with db.transaction() as connection:
        ann = add(connection, "ann")
        bob = add(connection, "bob")
        add(connection, "cy", "local")
        add(connection, "dee", "sso", active=False)
    assert counted(db) == actual(db)
    assert counted(db)[("scim", True)] == 2

    with db.transaction() as connection:
        users.set_active(connection, ann, False, utcnow())
    assert counted(db)[("scim", True)] == 1
    assert counted(db)[("scim", False)] == 1

    with db.transaction() as connection:
        users.set_active(connection, ann, True, utcnow())
        users.set_source(connection, bob, "local", utcnow())
    assert counted(db)[("scim", True)] == 1
    assert counted(db)[("local", True)] == 2

    with db.transaction() as connection:
        users.delete(connection, ann)
    assert counted(db) == actual(db)
    assert counted(db)[("scim", True)] == 0
    with db.reader() as connection:
        assert user_counts.of_source(connection, "local") == 2
        assert user_counts.of_source(connection, "sso") == 1


def test_a_write_that_leaves_source_and_state_leaves_the_counts(db: Database) -> None:
    with db.transaction() as connection:
        ann = add(connection, "ann")
    before = counted(db)
    with db.transaction() as connection:
        stored = users.get(connection, ann)
        assert stored is not None
        doc = {"schemas": [USER], "userName": "ann.renamed", "active": True, "displayName": "Ann"}
        users.update(connection, users.UserWrite(id=ann, doc=doc), stored.version, utcnow())
        users.set_active(connection, ann, True, utcnow())  # already active
    assert counted(db) == before


def test_a_rolled_back_write_leaves_the_counts(db: Database) -> None:
    with db.transaction() as connection:
        ann = add(connection, "ann")
    before = counted(db)
    with pytest.raises(RuntimeError), db.transaction() as connection:
        add(connection, "bob")
        users.set_active(connection, ann, False, utcnow())
        raise RuntimeError("rolled back")
    assert counted(db) == before == actual(db)


def test_concurrent_creates_are_all_counted(db: Database) -> None:
    """Creates in parallel transactions (on PostgreSQL each moves a shard as it commits) lose no count."""

    def create(number: int) -> None:
        with db.transaction() as connection:
            add(connection, f"user{number}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(40)))
    assert counted(db)[("scim", True)] == 40 == actual(db)[("scim", True)]


def test_the_migration_counts_the_users_already_there(tmp_path: Path) -> None:
    """Users written at revision 0016 are counted by the upgrade to 0017 (SQLite; the statement is the same
    on PostgreSQL)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        command.upgrade(migration._config(connection), "0016")
        connection.commit()
    old = Database.from_url(url)
    try:
        with old.transaction() as connection:
            for number in range(3):
                add(connection, f"scim{number}")
            add(connection, "gone", active=False)
            add(connection, "admin", "local")
        assert migration.upgrade(engine) == migration.head_revision()
        assert counted(old) == actual(old)
        assert counted(old)[("scim", True)] == 3
    finally:
        old.dispose()
        engine.dispose()


@pytest.mark.parametrize("sort", ["username", "status", "source", "name"])
def test_the_users_pages_totals_are_the_kept_counts(db: Database, sort: str) -> None:
    """Organization → Users without a search: every filter's total, and the segments of a sort by status or
    source, come from the counts, and equal the users listed."""
    with db.transaction() as connection:
        for number in range(7):
            add(connection, f"scim{number}", active=number % 3 != 0)
        add(connection, "admin", "local")
        add(connection, "sso.user", "sso", active=False)
    for status in STATUSES:
        for source in SOURCE_FILTERS:
            query = DirectoryQuery(status=status, source=source, sort=sort, per_page=100)
            with db.reader() as connection:
                total = directory.count_users(connection, query)
                page = directory.search_users(connection, query)
            wanted = {
                (s, a): n
                for (s, a), n in actual(db).items()
                if source in ("all", s) and status in ("all", "active" if a else "deactivated")
            }
            assert total == page.total == len(page.rows) == sum(wanted.values()), (status, source)
            assert {(row.source, row.active) for row in page.rows} <= set(wanted)
