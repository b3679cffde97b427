"""PostgreSQL reads of the SCIM hot path that leave the event loop free while the database answers.

The serving process reads inline (:attr:`gatehouse.store.database.Database.keep_readers`): on SQLite a read is
CPU only, but on PostgreSQL the loop would then stand still for every round trip, and the requests of the other
connections with it. A worker thread per read cost more than it saved (the hand-off and the GIL). So the one
statement every ``GET /Users/{id}`` and ``userName eq`` filter runs (:func:`gatehouse.store.lookups.token_with_user`)
goes through psycopg's asyncio connections instead: while one request waits for its row, the loop parses, renders
and sends the others. Measured in-process on ``GET /Users/{id}`` at 20,000 users, the loop had waited a third of
its time (about 140 µs of CPU a request against 210 µs); ``bench/pg_bench.py`` (one worker, wrk ``-c8``) went
from 2,843 to 3,662 requests a second, 0.55 to 0.72 of SQLite's. An asyncio round trip costs more CPU than a
blocking one (the socket is registered with the loop and unregistered again), which shows where CPU is short:
two workers sharing this machine's two cores with wrk and PostgreSQL did about as much as before. With the
database on another host, the wait this spares is longer still.

Each event loop has its own connections (a connection belongs to the loop that opened it), at most ``size`` at
once, opened when needed and kept while the process runs; each reads outside any transaction (autocommit) and so
sees every commit at once, as the kept reader does. A connection the database dropped (a restart, a failover) is
replaced and the read run again once; a connection whose read was interrupted is closed, never reused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy.engine import Engine


@dataclass(frozen=True, slots=True)
class _Reader:
    """A connection with the cursor it reads with (kept: a cursor costs more to make than to reuse)."""

    connection: psycopg.AsyncConnection[Any]
    cursor: psycopg.AsyncCursor[Any]


@dataclass
class _LoopPool:
    """One event loop's connections: the idle ones, and how many may read at once."""

    slots: asyncio.Semaphore
    idle: list[_Reader] = field(default_factory=list)
    busy: int = 0


class LoopReaders:
    """Asyncio connections to PostgreSQL, per event loop, for single-row reads (see the module)."""

    def __init__(self, engine: Engine, size: int) -> None:
        args, options = engine.dialect.create_connect_args(engine.url)
        self._args: Sequence[Any] = args
        self._options: dict[str, Any] = dict(options)  # SQLAlchemy's adapters (``context``) included
        self._size = size
        self._pools: dict[asyncio.AbstractEventLoop, _LoopPool] = {}

    @property
    def in_use(self) -> int:
        """Connections reading now, in every loop."""
        return sum(pool.busy for pool in self._pools.values())

    async def fetch_one(self, sql: str, params: Sequence[Any]) -> Any:
        """The first row of ``sql`` with ``params`` (already checked), or ``None``."""
        pool = self._pool()
        async with pool.slots:
            pool.busy += 1
            try:
                return await self._fetch(pool, sql, params)
            finally:
                pool.busy -= 1

    async def _fetch(self, pool: _LoopPool, sql: str, params: Sequence[Any]) -> Any:
        for attempt in (1, 2):
            reader = pool.idle.pop() if pool.idle else await self._connect()
            try:
                await reader.cursor.execute(sql, params)
                row = await reader.cursor.fetchone()
            except psycopg.Error:
                if not reader.connection.broken and not reader.connection.closed:
                    pool.idle.append(reader)  # the statement failed, not the connection
                    raise
                await reader.connection.close()
                if attempt == 2:
                    raise
                continue  # the database dropped it: once more on a new one
            except BaseException:
                await reader.connection.close()  # interrupted mid-read (cancelled): its state is unknown
                raise
            pool.idle.append(reader)
            return row
        raise AssertionError("unreachable")  # pragma: no cover

    def _pool(self) -> _LoopPool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            self._forget_closed_loops()
            pool = self._pools[loop] = _LoopPool(asyncio.Semaphore(self._size))
        return pool

    async def _connect(self) -> _Reader:
        connection = await psycopg.AsyncConnection.connect(*self._args, autocommit=True, **self._options)
        return _Reader(connection, connection.cursor())

    def _forget_closed_loops(self) -> None:
        for loop in [loop for loop in self._pools if loop.is_closed()]:
            _finish(self._pools.pop(loop))

    def close(self) -> None:
        """Close every idle connection, of every loop (from any thread: nothing is awaited)."""
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            _finish(pool)


def _finish(pool: _LoopPool) -> None:
    """Close a pool's idle connections without their loop (libpq's own close: a terminate message, then the
    socket)."""
    while pool.idle:
        pool.idle.pop().connection.pgconn.finish()
