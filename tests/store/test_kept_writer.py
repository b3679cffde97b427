"""``Database.keep_writer`` (the serving process's SQLite writes keep their one connection between transactions):
the same transactions as pooled writes (committed when the work returns, rolled back when it raises, seen by
another engine at once), on one connection, replaced once it can no longer serve. On PostgreSQL writes run in
the thread pool on pooled connections whatever the setting: the same outcomes."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict
from gatehouse.store import user_identity, users
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.coroutines import run_apart

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def kept(db: Database) -> Iterator[Database]:
    url = db.engine.url.render_as_string(hide_password=False)
    database = Database.from_url(url, pool_size=2)
    database.keep_readers = database.keep_writer = True
    yield database
    database.dispose()


def _write(name: str) -> users.UserWrite:
    return users.UserWrite(id=str(uuid.uuid4()), doc={"schemas": [USER], "userName": name, "active": True})


def _name(db: Database, user_id: str) -> str | None:
    with db.reader() as connection:
        found = user_identity.by_id(connection, user_id)
    return found.user_name if found else None


def test_kept_writes_commit_on_one_connection_and_another_engine_sees_them(db: Database, kept: Database) -> None:
    seen: list[Connection] = []

    def add(name: str) -> str:
        def work(connection: Connection) -> str:
            seen.append(connection)
            return users.insert(connection, _write(name), utcnow()).id

        return run_apart(kept.write(work))

    ann, bob = add("ann"), add("bob")
    assert _name(db, ann) == "ann" and _name(db, bob) == "bob"
    if kept.is_sqlite:
        assert seen[0] is seen[1]
        assert not seen[0].in_transaction()  # committed, nothing left open between writes


def test_a_failed_kept_write_rolls_back_and_the_writer_serves_on(db: Database, kept: Database) -> None:
    written = _write("ann")

    def failing(connection: Connection) -> None:
        users.insert(connection, written, utcnow())
        raise Conflict("changed my mind")

    with pytest.raises(Conflict):
        run_apart(kept.write(failing))
    assert _name(db, written.id) is None
    ann = run_apart(kept.write(lambda c: users.insert(c, written, utcnow()).id))
    assert _name(db, ann) == "ann"


def test_a_closed_kept_writer_is_replaced(db: Database, kept: Database) -> None:
    first = run_apart(kept.write(lambda connection: connection))
    first.close()  # as an invalidated or closed connection would be
    second = run_apart(kept.write(lambda connection: connection))
    ann = run_apart(kept.write(lambda c: users.insert(c, _write("ann"), utcnow()).id))
    assert _name(db, ann) == "ann"
    if kept.is_sqlite:
        assert first is not second and not second.closed


def test_dispose_closes_the_kept_writer(kept: Database) -> None:
    writer = run_apart(kept.write(lambda connection: connection))
    kept.dispose()
    assert writer.closed or not kept.is_sqlite


def test_a_transaction_of_another_thread_and_the_loops_writes_take_turns(db: Database, kept: Database) -> None:
    """The provisioning log's flush (a worker thread's ``transaction()``) and the event loop's writes: on SQLite
    the loop's write waits for the thread's commit on the process's writer lock, so with SQLite's own busy wait
    set to nothing it still succeeds, after the thread's write; on PostgreSQL both commit as they always did."""
    if kept.is_sqlite:
        run_apart(kept.write(lambda c: c.exec_driver_sql("PRAGMA busy_timeout=0")))  # no busy wait to hide in
    begun, release = threading.Event(), threading.Event()
    order: list[str] = []

    def flush() -> None:
        with kept.transaction() as connection:
            users.insert(connection, _write("thread"), utcnow())
            begun.set()
            release.wait(10)
            order.append("thread")

    worker = threading.Thread(target=flush)
    worker.start()
    assert begun.wait(10)
    threading.Timer(0.2, release.set).start()
    loop_id = run_apart(kept.write(lambda c: users.insert(c, _write("loop"), utcnow()).id))
    order.append("loop")
    worker.join(10)
    assert _name(db, loop_id) == "loop"
    if kept.is_sqlite:
        assert order == ["thread", "loop"]


def test_a_write_opened_inside_another_of_the_same_thread_is_refused_at_once(db: Database, kept: Database) -> None:
    """On SQLite the writer lock is the process's one writer: a transaction opened inside a write (or inside
    another transaction) of the same thread would wait for itself; it raises instead, and the outer write, its
    work failed, rolls back. On PostgreSQL the two are separate transactions and both commit."""
    inner_ids: list[str] = []

    def nested(connection: Connection) -> str:
        with kept.transaction() as inner:
            inner_ids.append(users.insert(inner, _write("inner"), utcnow()).id)
        return users.insert(connection, _write("outer"), utcnow()).id

    if kept.is_sqlite:
        with pytest.raises(RuntimeError, match="inside another"):
            run_apart(kept.write(nested))
        with pytest.raises(RuntimeError, match="inside another"), kept.transaction(), kept.transaction():
            pass
        assert inner_ids == []
        assert run_apart(kept.write(lambda c: users.insert(c, _write("after"), utcnow()).id))  # the lock was freed
    else:
        outer_id = run_apart(kept.write(nested))
        assert _name(db, outer_id) == "outer" and _name(db, inner_ids[0]) == "inner"
