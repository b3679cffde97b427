"""Keyset paging under SCIM's index paging (store/page_anchors.py, through ``users.search_ids``), on SQLite and
PostgreSQL: deep pages served from an anchor equal the pages ``OFFSET`` gives, sequentially and when asked again;
the second request for a deep page seeks on the primary key; a write by this process drops the anchors; small positions
never use one; and two databases never share anchors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from gatehouse.store import page_anchors
from gatehouse.store import users as store
from gatehouse.store.database import Database
from gatehouse.store.tables import users

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
PEOPLE = page_anchors.SEEK_FROM + 250
PAGE = 100


def fill(db: Database, count: int, prefix: str = "p") -> None:
    """``count`` SCIM users, written as SCIM's create writes them."""
    with db.transaction() as connection:
        for n in range(count):
            doc = {"schemas": [USER], "userName": f"{prefix}{n:05d}@example.com", "active": True}
            store.insert(connection, store.UserWrite(id=str(uuid.uuid4()), doc=doc, source="scim"), T0)


def by_offset(db: Database, offset: int, limit: int) -> list[str]:
    """The page as OFFSET gives it: the reference."""
    with db.snapshot() as connection:
        query = sa.select(users.c.id).where(users.c.source == "scim").order_by(users.c.id).offset(offset).limit(limit)
        return [row.id for row in connection.execute(query)]


def listed(db: Database, offset: int, limit: int = PAGE) -> tuple[int, list[str]]:
    with db.snapshot() as connection:
        return store.search_ids(connection, "scim", None, None, descending=False, offset=offset, limit=limit)


def seeks(statement: str) -> bool:
    """Whether a statement seeks past an anchor (SQLite writes ``OFFSET ?`` even for none: the predicate tells)."""
    return "users.id >" in statement


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def keep(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", keep)


@pytest.fixture
def people(db: Database) -> Database:
    fill(db, PEOPLE)
    return db


def test_paging_through_equals_offset_paging(people: Database) -> None:
    for offset in range(0, PEOPLE + PAGE, PAGE):
        total, ids = listed(people, offset)
        assert total == PEOPLE
        assert ids == by_offset(people, offset, PAGE), offset


def test_a_deep_page_asked_again_seeks_instead_of_offset(people: Database) -> None:
    deep = PEOPLE - 150
    with statements(people) as first:
        served = listed(people, deep)[1]
    assert served == by_offset(people, deep, PAGE)
    assert not any(seeks(statement) for statement in first)
    for offset in (deep, deep + PAGE):  # the same page again, and the next one
        with statements(people) as again:
            served = listed(people, offset)[1]
        assert served == by_offset(people, offset, PAGE)
        assert any(seeks(statement) for statement in again), again


def test_a_write_drops_the_anchors(people: Database) -> None:
    deep = PEOPLE - 150
    listed(people, deep)
    fill(people, 40, prefix="later")  # new ids land everywhere, before the anchor too
    with statements(people) as after:
        total, ids = listed(people, deep)
    assert total == PEOPLE + 40 and ids == by_offset(people, deep, PAGE)
    assert not any(seeks(statement) for statement in after)
    [gone] = by_offset(people, deep + 1, 1)
    with people.transaction() as connection:
        store.delete(connection, gone)
    assert listed(people, deep)[1] == by_offset(people, deep, PAGE)


def test_small_positions_never_use_an_anchor(people: Database) -> None:
    listed(people, 100)
    assert page_anchors.find(people.engine, "scim", 100) is None
    assert page_anchors.find(people.engine, "scim", 200) is None


def test_two_databases_do_not_share_anchors(people: Database, tmp_path: Path) -> None:
    other = Database.from_url(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        from gatehouse.store import migration

        migration.upgrade(other.engine)  # as every database is made (the user counts are kept by its triggers)
        fill(other, PEOPLE, prefix="o")
        deep = PEOPLE - 150
        assert listed(people, deep)[1] == by_offset(people, deep, PAGE)
        assert listed(other, deep)[1] == by_offset(other, deep, PAGE)
        assert set(listed(other, deep)[1]).isdisjoint(listed(people, deep)[1])
    finally:
        other.dispose()


def test_a_position_without_its_own_anchor_seeks_past_the_nearest_below(people: Database) -> None:
    first = page_anchors.SEEK_FROM + 20
    listed(people, first)  # anchors first (inclusive) and first + PAGE (exclusive)
    # Past each of the two anchors by a gap (the first request leaves anchors at first + 37 and first + 87).
    for position, gap in ((first + 37, 37), (first + PAGE + 61, 61)):
        anchor = page_anchors.find(people.engine, "scim", position)
        assert anchor is not None and anchor[2] == gap, (position, anchor)
        with statements(people) as seen:
            total, served = listed(people, position, 50)
        assert total == PEOPLE and served == by_offset(people, position, 50), position
        assert any(seeks(statement) for statement in seen), seen
    assert page_anchors.find(people.engine, "scim", first - 1) is None  # nothing below it


def test_an_anchor_below_is_dropped_by_a_write_too(people: Database) -> None:
    first = page_anchors.SEEK_FROM + 20
    listed(people, first)
    fill(people, 10, prefix="later")
    assert page_anchors.find(people.engine, "scim", first + 50) is None
    assert listed(people, first + 50)[1] == by_offset(people, first + 50, PAGE)
