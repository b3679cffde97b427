"""``Database.fetch_row``, the hot path's one-row read: on SQLite as every read runs, on PostgreSQL on asyncio
connections of the running event loop (``gatehouse.store.loop_readers``). Either way it sees every commit at
once, refuses what no database can bind with a 400, and answers as the synchronous driver does; on PostgreSQL
the loop serves other work while it waits, a dropped connection is replaced and the read run again once, a read
interrupted mid-way never leaves its connection to the next, and no more than ``size`` read at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from gatehouse.errors import InvalidInput
from gatehouse.store.database import Database
from gatehouse.store.loop_readers import LoopReaders
from support.coroutines import run_apart

PID = {"sqlite": "SELECT 1", "postgresql": "SELECT pg_backend_pid()"}
ECHO = {"sqlite": "SELECT ?", "postgresql": "SELECT %s::text"}


def test_a_row_or_none_with_every_commit_seen_and_bad_parameters_refused(db: Database) -> None:
    with db.transaction() as connection:
        connection.execute(sa.text("CREATE TABLE probe (id integer PRIMARY KEY, name text)"))
    lookup = {
        "sqlite": "SELECT name FROM probe WHERE id = ?",
        "postgresql": "SELECT name FROM probe WHERE id = %s",
    }

    async def scenario() -> None:
        assert await db.fetch_row(lookup, (1,)) is None
        with db.transaction() as connection:  # committed after the first read, as another process would
            connection.execute(sa.text("INSERT INTO probe VALUES (1, 'ann')"))
        assert tuple(await db.fetch_row(lookup, (1,))) == ("ann",)
        assert tuple(await db.fetch_row(ECHO, ("é ✓",))) == ("é ✓",)
        with pytest.raises(InvalidInput, match="NUL"):
            await db.fetch_row(ECHO, ("a\x00b",))
        with pytest.raises(InvalidInput, match="64 bits"):
            await db.fetch_row(lookup, (2**70,))

    try:
        run_apart(scenario())
    finally:
        with db.transaction() as connection:
            connection.execute(sa.text("DROP TABLE probe"))


@pytest.fixture
def readers(_postgres_url: str) -> Iterator[LoopReaders]:
    engine = sa.create_engine(_postgres_url)
    pool = LoopReaders(engine, size=2)
    yield pool
    pool.close()
    engine.dispose()


def _terminate(url: str, pid: int) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    engine.dispose()


def test_one_connection_is_reused_and_a_dropped_one_replaced(readers: LoopReaders, _postgres_url: str) -> None:
    async def scenario() -> None:
        first = (await readers.fetch_one(PID["postgresql"], ()))[0]
        assert (await readers.fetch_one(PID["postgresql"], ()))[0] == first  # kept between reads
        _terminate(_postgres_url, first)  # a restart, a failover: the server closed it
        await asyncio.sleep(0.2)
        replaced = (await readers.fetch_one(PID["postgresql"], ()))[0]
        assert replaced != first  # the read ran again, once, on a new connection

    run_apart(scenario())


def test_a_failed_statement_keeps_its_connection_and_an_interrupted_read_loses_it(readers: LoopReaders) -> None:
    import psycopg

    async def scenario() -> None:
        first = (await readers.fetch_one(PID["postgresql"], ()))[0]
        with pytest.raises(psycopg.errors.DivisionByZero):
            await readers.fetch_one("SELECT 1 / %s", (0,))
        assert (await readers.fetch_one(PID["postgresql"], ()))[0] == first  # the connection was fine
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(readers.fetch_one("SELECT pg_sleep(2)", ()), 0.2)
        assert readers.in_use == 0
        assert (await readers.fetch_one(PID["postgresql"], ()))[0] != first  # never the interrupted one

    run_apart(scenario())


def test_reads_overlap_on_the_loop_at_most_size_at_once(readers: LoopReaders) -> None:
    peak: list[int] = []

    async def watch() -> None:
        while True:
            peak.append(readers.in_use)
            await asyncio.sleep(0.01)

    async def scenario() -> None:
        watcher = asyncio.create_task(watch())
        loop = asyncio.get_running_loop()
        started = loop.time()
        sleepy = "SELECT pg_sleep(0.3), pg_backend_pid()"
        rows = await asyncio.gather(*(readers.fetch_one(sleepy, ()) for _ in range(4)))
        elapsed = loop.time() - started
        watcher.cancel()
        assert len({row[1] for row in rows}) == 2  # two connections (size 2) served the four reads
        assert 0.55 < elapsed < 1.1  # two at a time: two rounds of 0.3 s, not four, not one
        assert max(peak) == 2 and readers.in_use == 0

    run_apart(scenario())


def test_each_event_loop_has_its_own_connections_and_close_ends_them(readers: LoopReaders, _postgres_url: str) -> None:
    async def pid() -> int:
        return int((await readers.fetch_one(PID["postgresql"], ()))[0])

    one, two = run_apart(pid()), run_apart(pid())  # a second loop: the first's connection is not shared
    assert one != two
    readers.close()
    engine = sa.create_engine(_postgres_url)
    deadline = time.monotonic() + 5  # a closed connection's backend exits just after the client hangs up
    with engine.connect() as connection:
        while True:
            alive = connection.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid IN (:one, :two)"), {"one": one, "two": two}
            ).scalar_one()
            if alive == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    engine.dispose()
    assert alive == 0
