"""``Database.keep_readers`` (the serving process's reads keep their connection between requests, on SQLite and
PostgreSQL): a kept reader is one connection per thread, sees every commit another engine makes (as another
process would), and is replaced once it can no longer serve, the read run again when the server dropped it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.errors import NotFound
from gatehouse.store import user_identity, users
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow
from support.coroutines import run_apart

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def kept(db: Database) -> Iterator[Database]:
    url = db.engine.url.render_as_string(hide_password=False)
    database = Database.from_url(url, pool_size=2)
    database.keep_readers = True
    yield database
    database.dispose()


def _add(db: Database, name: str) -> str:
    write = users.UserWrite(id=str(uuid.uuid4()), doc={"schemas": [USER], "userName": name, "active": True})
    with db.transaction() as connection:
        return users.insert(connection, write, utcnow()).id


def test_a_kept_reader_sees_what_another_engine_commits(db: Database, kept: Database) -> None:
    seen: list[Connection] = []

    async def found(user_id: str) -> tuple[str, bool] | None:
        def work(connection: Connection) -> tuple[str, bool] | None:
            seen.append(connection)
            identity = user_identity.by_id(connection, user_id)
            return None if identity is None else (identity.user_name, identity.active)

        return await kept.read(work)

    async def scenario() -> None:  # one thread: one kept reader throughout
        ann = _add(db, "ann")
        assert await found(ann) == ("ann", True)
        with db.transaction() as connection:  # another process deactivates her
            users.set_active(connection, ann, False, utcnow())
        assert await found(ann) == ("ann", False)
        assert await found(_add(db, "bob")) == ("bob", True)  # a row committed after the reader was kept

    run_apart(scenario())
    assert len(seen) == 3 and seen[0] is seen[1] is seen[2]


def test_one_reader_is_kept_per_thread(kept: Database) -> None:
    async def twice() -> tuple[Connection, Connection]:
        return await kept.read(lambda c: c), await kept.read(lambda c: c)

    first, again = run_apart(twice())
    assert first is again
    other, _ = run_apart(twice())  # run_apart: another thread
    assert other is not first


def test_a_read_that_fails_leaves_the_kept_reader_usable(db: Database, kept: Database) -> None:
    ann = _add(db, "ann")

    async def scenario() -> str | None:
        def failing(connection: Connection) -> None:
            user_identity.by_id(connection, ann)
            raise NotFound("gone")

        with pytest.raises(NotFound):
            await kept.read(failing)

        def name(connection: Connection) -> str | None:
            assert not connection.in_transaction()  # what SQLAlchemy began was rolled back
            found = user_identity.by_id(connection, ann)
            return found.user_name if found else None

        return await kept.read(name)

    assert run_apart(scenario()) == "ann"


def test_a_closed_kept_reader_is_replaced(db: Database, kept: Database) -> None:
    async def scenario() -> tuple[Connection, Connection]:
        first = await kept.read(lambda connection: connection)
        first.close()  # as an invalidated or closed connection would be
        second = await kept.read(lambda connection: connection)
        assert await kept.read(lambda connection: user_identity.by_id(connection, "nobody")) is None
        return first, second

    first, second = run_apart(scenario())
    assert first is not second and not second.closed


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_reader_the_server_dropped_is_replaced_and_the_read_run_again(db: Database, kept: Database) -> None:
    ann = _add(db, "ann")

    def name(connection: Connection) -> str | None:
        found = user_identity.by_id(connection, ann)
        return found.user_name if found else None

    async def scenario() -> tuple[str | None, int, int]:
        first = await kept.read(lambda c: c.execute(sa.text("select pg_backend_pid()")).scalar_one())
        with db.transaction() as connection:  # as a restart or a failover would
            connection.execute(sa.text("select pg_terminate_backend(:pid)"), {"pid": first})
        found = await kept.read(name)
        second = await kept.read(lambda c: c.execute(sa.text("select pg_backend_pid()")).scalar_one())
        return found, first, second

    found, first, second = run_apart(scenario())
    assert found == "ann" and first != second
