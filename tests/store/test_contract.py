"""The storage contract, run against SQLite and PostgreSQL: copies out, NotFound, Conflict decided by
the database, PreconditionFailed on stale versions, O(1) memberships."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest

from gatehouse.errors import Conflict, NotFound, PreconditionFailed
from gatehouse.store import driver, groups, users
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def user_write(name: str, **extra: object) -> users.UserWrite:
    doc = {"schemas": [USER], "userName": name, "active": True, **extra}
    return users.UserWrite(id=str(uuid.uuid4()), doc=doc)


def test_insert_get_and_derived_columns(db: Database) -> None:
    """Inserted users come back with their document, version 1, and indexed email rows."""
    write = user_write("Jane@Example.com", emails=[{"value": "Jane@Example.com", "primary": True}], externalId="e1")
    with db.transaction() as connection:
        stored = users.insert(connection, write, utcnow())
    assert stored.version == 1 and stored.user_name == "Jane@Example.com" and stored.source == "scim"
    with db.snapshot() as connection:
        again = users.get_by_user_name(connection, "jane@example.COM")
        emails = connection.exec_driver_sql("SELECT value_lower FROM user_emails").scalars().all()
    assert again == stored
    assert emails == ["jane@example.com"]
    assert '"id":"' + write.id + '"' in stored.data


def test_unique_user_name_is_enforced_by_the_database(db: Database) -> None:
    """The unique index, not a prior SELECT, refuses a case variant."""
    with db.transaction() as connection:
        users.insert(connection, user_write("bob"), utcnow())
    with pytest.raises(Conflict), db.transaction() as connection:
        users.insert(connection, user_write("BOB"), utcnow())


def test_update_checks_the_version_atomically(db: Database) -> None:
    """An update at a stale version raises PreconditionFailed and changes nothing."""
    write = user_write("carol")
    with db.transaction() as connection:
        users.insert(connection, write, utcnow())
        users.update(connection, users.UserWrite(id=write.id, doc={**write.doc, "title": "A"}), 1, utcnow())
    with pytest.raises(PreconditionFailed), db.transaction() as connection:
        users.update(connection, users.UserWrite(id=write.id, doc={**write.doc, "title": "B"}), 1, utcnow())
    with db.snapshot() as connection:
        stored = users.get(connection, write.id)
    assert stored is not None and stored.version == 2 and '"title":"A"' in stored.data
    with pytest.raises(NotFound), db.transaction() as connection:
        users.update(connection, users.UserWrite(id="missing", doc=write.doc), 1, utcnow())


def test_group_writes_check_the_version_atomically(db: Database) -> None:
    """A group's update, membership touch and delete at a stale version raise PreconditionFailed and change
    nothing; on a group that is gone, NotFound (RFC 7644 §3.14)."""
    group_id = str(uuid.uuid4())
    doc = {"schemas": [], "displayName": "Ops"}
    with db.transaction() as connection:
        groups.insert(connection, groups.GroupWrite(group_id, doc), utcnow())
        groups.update(connection, groups.GroupWrite(group_id, {**doc, "displayName": "Ops A"}), 1, utcnow())
    stale = (
        lambda c: groups.update(c, groups.GroupWrite(group_id, {**doc, "displayName": "Ops B"}), 1, utcnow()),
        lambda c: groups.touch(c, group_id, 1, utcnow()),
        lambda c: groups.delete(c, group_id, 1),
    )
    for write in stale:
        with pytest.raises(PreconditionFailed), db.transaction() as connection:
            write(connection)
    with db.snapshot() as connection:
        stored = groups.get(connection, group_id)
    assert stored is not None and stored.version == 2 and '"displayName":"Ops A"' in stored.data
    with db.transaction() as connection:
        groups.touch(connection, group_id, 2, utcnow())
        groups.delete(connection, group_id, 3)
    for write in (*stale, lambda c: groups.delete(c, group_id)):
        with pytest.raises(NotFound), db.transaction() as connection:
            write(connection)


def test_memberships_are_rows_and_deleting_a_user_removes_them(db: Database) -> None:
    """Adding twice is idempotent; removal touches listed members only; deleting a user drops its rows."""
    alice, bob = user_write("alice"), user_write("bob")
    group_id = str(uuid.uuid4())
    with db.transaction() as connection:
        for write in (alice, bob):
            users.insert(connection, write, utcnow())
        groups.insert(connection, groups.GroupWrite(group_id, {"schemas": [], "displayName": "Ops"}), utcnow())
        groups.add_members(connection, group_id, [alice.id, bob.id])
        groups.add_members(connection, group_id, [alice.id])
    with db.snapshot() as connection:
        assert sorted(m.id for m in groups.members_of(connection, [group_id])[group_id]) == sorted([alice.id, bob.id])
        assert [g.display for g in users.groups_of(connection, [alice.id])[alice.id]] == ["Ops"]
    with db.transaction() as connection:
        groups.remove_members(connection, group_id, [bob.id, "not-a-member"])
        users.delete(connection, alice.id)
    with db.snapshot() as connection:
        assert groups.members_of(connection, [group_id])[group_id] == []


def test_group_display_name_is_unique_case_insensitively(db: Database) -> None:
    """Two groups cannot share a displayName in any case."""
    with db.transaction() as connection:
        groups.insert(connection, groups.GroupWrite(str(uuid.uuid4()), {"displayName": "Admins"}), utcnow())
    with pytest.raises(Conflict), db.transaction() as connection:
        groups.insert(connection, groups.GroupWrite(str(uuid.uuid4()), {"displayName": "ADMINS"}), utcnow())


def test_concurrent_creates_of_one_user_name_make_exactly_one_row(db: Database) -> None:
    """Eight writers race on one userName: exactly one wins, the rest get Conflict."""
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        try:
            with db.transaction() as connection:
                users.insert(connection, user_write("race@example.com"), utcnow())
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["created"]
    with db.snapshot() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM users").scalar() == 1


def test_timestamps_are_timezone_aware(db: Database) -> None:
    """created/lastModified come back as aware UTC datetimes on both backends."""
    before = utcnow() - timedelta(seconds=1)
    with db.transaction() as connection:
        stored = users.insert(connection, user_write("tz"), utcnow())
    assert stored.created.tzinfo is not None and stored.created >= before


def test_insert_statements_name_their_columns_in_each_drivers_paramstyle(db: Database) -> None:
    with db.reader() as connection:
        sql = driver.insert_sql(connection, "user_emails", {"user_id": 1, "primary": 2})
        again = driver.insert_sql(connection, "user_emails", ["user_id", "primary"])
    marks = ":user_id, :primary" if db.is_sqlite else "%(user_id)s, %(primary)s"
    assert sql == again == f'INSERT INTO user_emails (user_id, "primary") VALUES ({marks})'


def test_insert_unless_taken_inserts_a_free_name_and_returns_the_holder_of_a_taken_one(db: Database) -> None:
    """A free userName is inserted (with its e-mail rows); a taken one, in any case, writes nothing and
    returns the user holding it."""
    write = user_write("Ann@Example.com", emails=[{"value": "ann@example.com", "primary": True}])
    with db.transaction() as connection:
        made, new = users.insert_unless_taken(connection, write, utcnow())
    assert new and made.id == write.id and made.version == 1
    with db.transaction() as connection:
        holder, new = users.insert_unless_taken(connection, user_write("ann@EXAMPLE.com"), utcnow())
        assert not new and holder.id == write.id and holder.user_name == "Ann@Example.com"
    with db.snapshot() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM users").scalar() == 1
        assert connection.exec_driver_sql("SELECT count(*) FROM user_emails").scalar() == 1
        if db.is_sqlite:  # the search side table is filled by a trigger, which a conflict never fires
            assert connection.exec_driver_sql("SELECT count(*) FROM user_search").scalar() == 1


def test_insert_unless_taken_still_refuses_another_violation(db: Database) -> None:
    first = user_write("ann@example.com")
    with db.transaction() as connection:
        users.insert_unless_taken(connection, first, utcnow())
    same_id = users.UserWrite(id=first.id, doc={"schemas": [USER], "userName": "bob@example.com"})
    with pytest.raises(Conflict), db.transaction() as connection:
        users.insert_unless_taken(connection, same_id, utcnow())


def test_concurrent_inserts_unless_taken_make_exactly_one_row(db: Database) -> None:
    """Eight writers race on one userName: exactly one inserts, the seven others are told who holds it."""
    outcomes: list[tuple[bool, str]] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        with db.transaction() as connection:
            stored, new = users.insert_unless_taken(connection, user_write("race@example.com"), utcnow())
        outcomes.append((new, stored.id))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(new for new, _ in outcomes) == [False] * 7 + [True]
    assert len({user_id for _, user_id in outcomes}) == 1
    with db.snapshot() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM users").scalar() == 1
