"""Engine factory and the unit of work: one transaction per request, committed at its boundary.

SQLite runs in WAL mode with a busy timeout, and every write transaction starts with ``BEGIN IMMEDIATE``
so that two writers never deadlock on a lock upgrade. On SQLite, reads and writes run inline (a few
microseconds to a fraction of a millisecond; writers of one process take a thread lock). On
PostgreSQL, writes run in the thread pool; reads run there too, or inline in the serving process
(:attr:`Database.keep_readers`), and the one statement of the SCIM hot path runs on asyncio connections
(:meth:`Database.fetch_row`), so that its round trip leaves the event loop free.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import sqlalchemy as sa
from anyio import to_thread
from sqlalchemy import event
from sqlalchemy.engine import Engine

from gatehouse.config import sqlite_file
from gatehouse.store import driver
from gatehouse.store.parameters import check as parameters_check
from gatehouse.store.wal_checkpoint import SAFETY_FRAMES, WalCheckpointer

if TYPE_CHECKING:
    from gatehouse.store.loop_readers import LoopReaders

T = TypeVar("T")

Connection: TypeAlias = sa.engine.Connection
"""The store's connection: what :class:`Database` hands out and every repository function takes. Code
outside the store names it from here and never imports SQLAlchemy (the import contract of ``pyproject.toml``)."""

SQLITE_BUSY_TIMEOUT_MS = 10_000
DEFAULT_AUTOCHECKPOINT = 1_000
"""SQLite's own ``wal_autocheckpoint`` (pages), which every connection keeps but a writer that leaves the
checkpoints to :mod:`gatehouse.store.wal_checkpoint`."""

_BEGIN = {mode: f"BEGIN {mode}" for mode in ("IMMEDIATE", "DEFERRED")}
"""The statements a transaction begins with on SQLite (see ``_configure_sqlite``)."""


def create_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Build an engine configured for Gatehouse's access pattern on either database."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=pool_size,
            max_overflow=pool_size * 2,
            pool_use_lifo=True,  # the most recently used connection has the warmest cache
        )
        _configure_sqlite(engine)
    else:
        engine = sa.create_engine(
            parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800
        )
    _check_parameters(engine)
    return engine


def _check_parameters(engine: Engine) -> None:
    """Refuse values no database can bind (NUL, lone surrogates, integers beyond 64 bits) with a 400, before
    any statement runs, on either database (:mod:`gatehouse.store.parameters`)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before(
        connection: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        parameters_check(parameters)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Manage transactions ourselves (pysqlite's implicit BEGIN is deferred and breaks IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Reads run without a transaction (each statement sees the latest commit, WAL never blocks);
        # writes and snapshots say which BEGIN they need.
        # Straight on the driver's connection: a BEGIN has no parameters to check, and SQLAlchemy's statement
        # machinery around it cost more than the statement (an empty write transaction: 39 µs, now 28 µs).
        mode = connection.info.get("begin_mode")
        if mode:
            connection.connection.driver_connection.execute(_BEGIN[mode])  # type: ignore[union-attr]


class WriterLock:
    """The lock SQLite's writers of one process take turns on (:meth:`Database.write`,
    :meth:`Database.transaction`, the WAL checkpoint's last pass). Not reentrant, and it says so: a write opened
    inside another of the same thread would wait for itself for ever (SQLite's write lock is the outer one's),
    so taking it again from the thread that holds it raises ``RuntimeError`` at once."""

    __slots__ = ("_holder", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holder: int | None = None

    def __enter__(self) -> None:
        me = threading.get_ident()
        if self._holder == me:
            raise RuntimeError("a write transaction was opened inside another one in the same thread")
        self._lock.acquire()
        self._holder = me

    def __exit__(self, *_: object) -> None:
        self._holder = None
        self._lock.release()


class Database:
    """The engine plus how each kind of work runs against it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.is_sqlite = self.dialect == "sqlite"
        # SQLite has one writer at a time; its busy handler waits by sleeping (up to 100 ms a step), so
        # writers of this process queue on a lock instead and only other processes meet the busy wait.
        self._sqlite_writer = WriterLock() if self.is_sqlite else None
        self._kept = threading.local()  # each thread's kept reader (see keep_readers)
        self._writer: Connection | None = None  # SQLite's kept writer (see keep_writer)
        self._pool_size: int = getattr(engine.pool, "size", lambda: 10)()
        self._loop_readers: LoopReaders | None = None  # PostgreSQL's, made on first use (see fetch_row)
        self._checkpointer: WalCheckpointer | None = None  # SQLite's checkpoint thread (see checkpointing)

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 10) -> Database:
        """Create the engine for ``url``."""
        return cls(create_engine(url, pool_size=pool_size))

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed when the block ends cleanly.

        On SQLite it holds the process's writer lock, as :meth:`write` does: a transaction of another thread (the
        provisioning log's flush, a dashboard form, the CLI) and the event loop's writes then take turns on the
        lock, rather than one of them sleeping in SQLite's busy handler (1, 2, 5, 10 ms… steps, on the event
        loop) until the other commits. Not reentrant: opened inside another write of the same thread, it raises
        ``RuntimeError`` rather than wait for itself."""
        with self._sqlite_writer or nullcontext(), self._begun("IMMEDIATE") as connection:
            yield connection

    def snapshot(self) -> AbstractContextManager[Connection]:
        """A read-only transaction: one consistent view of several statements."""
        return self._begun("DEFERRED")

    @contextmanager
    def _begun(self, begin_mode: str) -> Iterator[Connection]:
        """A transaction that SQLite begins with ``BEGIN <begin_mode>`` (see ``_configure_sqlite``)."""
        with self.engine.connect() as connection:
            connection.info["begin_mode"] = begin_mode
            try:
                with connection.begin():
                    yield connection
            finally:
                connection.info.pop("begin_mode", None)

    @contextmanager
    def reader(self) -> Iterator[Connection]:
        """A connection for reads outside any transaction (autocommit), the cheapest way to read."""
        with self._connect_reader() as connection:
            yield connection

    async def read(self, work: Callable[[Connection], T]) -> T:
        """Run read-only ``work`` on an autocommit reader: on the kept one inline (:attr:`keep_readers`), else a
        pooled one, inline on SQLite and in a worker thread on PostgreSQL."""
        if self.keep_readers:
            return self._read_kept(work)
        if self.is_sqlite:
            return self._read_sync(work)
        return await to_thread.run_sync(self._read_sync, work)

    async def fetch_row(self, statements: Mapping[str, str], params: Sequence[Any]) -> Any:
        """The first row (or ``None``) of one of the hot path's fixed statements, given as its text for each
        dialect (:mod:`gatehouse.store.lookups`): on SQLite as :meth:`read` runs it; on PostgreSQL on a
        connection of this event loop, which serves other requests meanwhile (:mod:`gatehouse.store.loop_readers`).
        ``params`` are checked first, as every statement's are."""
        sql = statements[self.dialect]
        if self.is_sqlite:
            return await self.read(lambda connection: driver.fetch_one(connection, sql, params))
        parameters_check(params)
        if self._loop_readers is None:
            from gatehouse.store.loop_readers import LoopReaders  # psycopg's asyncio side, PostgreSQL only

            self._loop_readers = LoopReaders(self.engine, self._pool_size)
        return await self._loop_readers.fetch_one(sql, params)

    keep_readers = False
    """Whether :meth:`read` keeps one reader per thread between calls and runs it inline, on either database
    (the serving process turns it on: :func:`gatehouse.server.create_app`).

    Keeping it saves the pool's checkout and check-in, a tenth of a cached ``GET /Users/{id}``; the reader sees
    every commit as a fresh one does (it reads outside any transaction: WAL on SQLite, autocommit on
    PostgreSQL), and what SQLAlchemy begins around a read is rolled back after it (nothing reaches the driver).
    Inline on PostgreSQL too: a read is a few indexed statements, and handing each to a worker thread cost more
    than the round trips it let overlap (``bench/pg_bench.py``: two workers did 0.97x one; inline, 1.77x). A
    reader the database dropped (a restart, a failover) is replaced and the read run again once."""

    def _read_kept(self, work: Callable[[Connection], T]) -> T:
        connection = self._kept_reader()
        try:
            return work(connection)
        except sa.exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            connection = self._kept_reader()  # the server dropped it: a read can run again on a new one
            return work(connection)
        finally:
            if not connection.closed and not connection.invalidated:
                connection.rollback()

    def _kept_reader(self) -> Connection:
        connection: Connection | None = getattr(self._kept, "reader", None)
        if connection is not None and not connection.closed and not connection.invalidated:
            return connection
        if connection is not None:
            connection.close()
        connection = self._kept.reader = self._connect_reader()
        return connection

    def _connect_reader(self) -> Connection:
        """A new connection that reads outside any transaction (autocommit; SQLite's reads need no option)."""
        connection = self.engine.connect()
        if not self.is_sqlite:
            connection.execution_options(isolation_level="AUTOCOMMIT")
        return connection

    async def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a write transaction in a worker thread; it commits only if ``work`` returns."""
        if self._sqlite_writer is None:
            return await to_thread.run_sync(self._write_sync, work)
        # Inline: one writer at a time in this process anyway, and a SQLite write transaction is a fraction of
        # a millisecond of CPU, less than the thread hand-off and GIL ping-pong it would cost. Nothing awaits
        # inside, so coroutines of one event loop never contend; the thread lock orders writers of other
        # threads (every transaction(): the provisioning log's flush, a dashboard form, a CLI or test calling in
        # from another loop; and the WAL checkpoint's last pass, which copies the few pages its passes outside
        # the lock left). Handing a write that finds it taken to a worker thread instead cost more than the wait
        # (bench/soak.py: p99 +15 %, and 25 MiB of resident memory for the threads' connections). Only another
        # process holding SQLite's write lock makes it wait longer (busy timeout).
        with self._sqlite_writer:
            return self._write_kept(work) if self.keep_writer else self._write_sync(work)

    keep_writer = False
    """Whether :meth:`write` on SQLite keeps its one connection between transactions (the serving process turns it
    on with :attr:`keep_readers`: :func:`gatehouse.server.create_app`).

    SQLite's writes of this process run one at a time under the writer lock, so one connection serves them all;
    keeping it saves the pool's checkout and check-in (and SQLAlchemy's connection set-up), about 45 µs of a SCIM
    create's CPU (in process, 100,000 users). The transaction is the same: begun, committed
    when ``work`` returns, rolled back when it raises. A writer that can no longer serve is replaced."""

    def _write_kept(self, work: Callable[[Connection], T]) -> T:
        connection = self._writer
        if connection is None or connection.closed or connection.invalidated:
            if connection is not None:
                connection.close()
            connection = self._writer = self.engine.connect()
            connection.info["begin_mode"] = "IMMEDIATE"
            if self._checkpointer is not None:  # the checkpoint thread copies the WAL back; this one only if it lags
                self._autocheckpoint(connection, SAFETY_FRAMES)
        with connection.begin():
            return work(connection)

    @staticmethod
    def _autocheckpoint(connection: Connection, frames: int) -> None:
        driver_connection = connection.connection.driver_connection
        assert driver_connection is not None
        driver_connection.execute(f"PRAGMA wal_autocheckpoint={int(frames)}")

    checkpoint_thread = False
    """Whether :meth:`checkpointing` runs SQLite's checkpoints in a thread (the serving process turns it on when it
    is the only worker: :func:`gatehouse.server.create_app`)."""

    @asynccontextmanager
    async def checkpointing(self) -> AsyncIterator[None]:
        """While the block runs (the serving app's lifespan), checkpoint a SQLite database file's WAL in a thread
        of its own (:mod:`gatehouse.store.wal_checkpoint`), and let the kept writer (:attr:`keep_writer`) leave
        the checkpoints to it, if :attr:`checkpoint_thread` says so. Nothing on PostgreSQL or for an in-memory
        database."""
        path = self.engine.url.database if self.is_sqlite and self.checkpoint_thread else None
        if not path or path == ":memory:" or self._sqlite_writer is None or self._checkpointer is not None:
            yield
            return
        checkpointer = WalCheckpointer(path, self._sqlite_writer)
        with self._sqlite_writer:
            self._checkpointer = checkpointer
            self._kept_writer_autocheckpoint(SAFETY_FRAMES)
        checkpointer.start()
        try:
            yield
        finally:
            await to_thread.run_sync(checkpointer.stop)
            with self._sqlite_writer:
                self._checkpointer = None
                self._kept_writer_autocheckpoint(DEFAULT_AUTOCHECKPOINT)

    def _kept_writer_autocheckpoint(self, frames: int) -> None:
        """Set the kept writer's ``wal_autocheckpoint``, if there is one that still serves (a new one gets it when
        it connects: :meth:`_write_kept`). Under the writer lock."""
        writer = self._writer
        if writer is not None and not writer.closed and not writer.invalidated:
            self._autocheckpoint(writer, frames)

    @property
    def checkpointer(self) -> WalCheckpointer | None:
        """The running checkpoint thread, if any (see :meth:`checkpointing`)."""
        return self._checkpointer

    def _read_sync(self, work: Callable[[Connection], T]) -> T:
        with self.reader() as connection:
            return work(connection)

    read_sync = _read_sync
    """Run read-only ``work`` on an autocommit reader, in the calling thread (for code off the event loop)."""

    def pool_in_use(self) -> int:
        """How many connections are checked out of the pool now (0 for a pool that does not count them)."""
        checkedout = getattr(self.engine.pool, "checkedout", None)
        loop_readers = self._loop_readers.in_use if self._loop_readers is not None else 0
        return (int(checkedout()) if callable(checkedout) else 0) + loop_readers

    def _write_sync(self, work: Callable[[Connection], T]) -> T:
        """``work`` in a write transaction (on SQLite the caller holds the writer lock)."""
        with self._begun("IMMEDIATE") as connection:
            return work(connection)

    def dispose(self) -> None:
        """Close every pooled connection (and this thread's kept reader, and the kept writer)."""
        kept: Connection | None = getattr(self._kept, "reader", None)
        if kept is not None:
            self._kept.reader = None
            kept.close()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        if self._loop_readers is not None:
            self._loop_readers.close()
        self.engine.dispose()
