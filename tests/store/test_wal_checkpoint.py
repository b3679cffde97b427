"""SQLite's WAL checkpoints in a thread (:mod:`gatehouse.store.wal_checkpoint`): the log still starts over while
the serving writer leaves the checkpoints to the thread, nothing written is lost, and the thread takes the
writer lock only to finish a long log. On PostgreSQL there is nothing to do."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from functools import partial
from pathlib import Path

import anyio
import pytest

from gatehouse.launcher import WORKERS_ENV
from gatehouse.store import users, wal_checkpoint
from gatehouse.store.database import DEFAULT_AUTOCHECKPOINT, Connection, Database
from gatehouse.store.records import utcnow
from gatehouse.store.wal_checkpoint import RESTART_FRAMES, SAFETY_FRAMES, WalCheckpointer
from support.coroutines import run_apart
from support.servers import serving_probe

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def kept(tmp_path: Path, _sqlite_template: Path) -> Iterator[Database]:
    """A migrated SQLite file, written as the serving process writes (one kept writer)."""
    path = tmp_path / "gatehouse.db"
    shutil.copyfile(_sqlite_template, path)
    database = Database.from_url(f"sqlite:///{path}", pool_size=2)
    database.keep_readers = database.keep_writer = database.checkpoint_thread = True
    yield database
    database.dispose()


def _add(connection: Connection, name: str) -> str:
    doc = {"schemas": [USER], "userName": name, "active": True, "displayName": name * 8}
    return users.insert(connection, users.UserWrite(id=str(uuid.uuid4()), doc=doc), utcnow()).id


def _log_frames(path: str) -> int:
    """The pages in the log now (a passive checkpoint reports them; it copies, and never restarts the log)."""
    with closing(sqlite3.connect(path)) as connection:
        return int(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


def _autocheckpoint(database: Database) -> int:
    async def read() -> int:
        return await database.write(lambda c: c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())

    return int(run_apart(read()))


def _caught_up(checkpointer: WalCheckpointer, passes: int) -> bool:
    """Whether a pass after the ``passes``-th copied the whole log (the next write then starts it over)."""
    last = checkpointer.last
    return checkpointer.passes > passes + 1 and last is not None and not last.busy and last.copied == last.frames


def _path(database: Database) -> str:
    path = database.engine.url.database
    assert path
    return path


def test_the_thread_makes_a_long_log_start_over_and_keeps_every_write(kept: Database) -> None:
    path = _path(kept)
    written: list[str] = []

    async def scenario() -> tuple[int, int, int]:
        async with kept.checkpointing():
            checkpointer = kept.checkpointer
            assert checkpointer is not None and checkpointer.running
            during = await kept.write(lambda c: c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())
            for index in range(400):  # thousands of pages: more than the log may hold before it starts over
                written.append(await kept.write(partial(_add, name=f"user{index}")))
            passes, deadline = checkpointer.passes, time.monotonic() + 20
            while not _caught_up(checkpointer, passes) and time.monotonic() < deadline:
                await anyio.sleep(0.02)
            written.append(await kept.write(lambda c: _add(c, "after")))  # begins the new log
            restarts = checkpointer.restarts
        assert kept.checkpointer is None and not checkpointer.running
        return int(during), restarts, _log_frames(path)

    during, restarts, frames = run_apart(scenario())
    assert during == SAFETY_FRAMES  # the writer left the checkpoints to the thread
    assert restarts >= 1
    assert frames < RESTART_FRAMES  # without the thread the log would still hold every page written
    assert _autocheckpoint(kept) == DEFAULT_AUTOCHECKPOINT  # and takes them back once it stops
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in connection.execute("SELECT id FROM users")}
    assert set(written) <= stored and len(written) == 401


def test_without_the_thread_the_log_grows_past_the_point_it_would_start_over(kept: Database) -> None:
    """The check above can fail: the same writes with the writer's threshold raised and no thread."""
    _long_log(kept)


def _long_log(database: Database) -> str:
    """The database's file with a log longer than :data:`RESTART_FRAMES` (written with no thread)."""

    async def fill() -> None:
        await database.write(lambda c: c.exec_driver_sql(f"PRAGMA wal_autocheckpoint={SAFETY_FRAMES}"))
        for index in range(400):
            await database.write(partial(_add, name=f"user{index}"))

    run_apart(fill())
    path = _path(database)
    assert _log_frames(path) >= RESTART_FRAMES
    return path


def test_the_database_file_is_synced_outside_the_writer_lock_before_the_last_pass(
    kept: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite syncs the file at the end of the last pass, under the lock: what the passes before it copied is
    synced first, without the lock, so that the last pass has only its own pages to sync."""
    path = _long_log(kept)
    lock = threading.Lock()
    checkpointer = WalCheckpointer(path, lock)
    synced: list[tuple[bool, int]] = []

    def datasync(descriptor: int) -> None:
        synced.append((lock.locked(), checkpointer.passes))
        os.fsync(descriptor)

    monkeypatch.setattr(wal_checkpoint, "_datasync", datasync)
    done = checkpointer.step()
    checkpointer.stop()
    assert len(synced) == 1
    locked, passes_before = synced[0]
    assert not locked
    assert checkpointer.passes == passes_before + 1  # the last pass came after the sync
    assert checkpointer.restarts == 1 and not done.busy and done.copied == done.frames


def test_a_failing_sync_is_a_failed_round_and_the_thread_carries_on(
    kept: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = _long_log(kept)

    def datasync(descriptor: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(wal_checkpoint, "_datasync", datasync)
    checkpointer = WalCheckpointer(path, threading.Lock(), interval=0.01)
    with caplog.at_level("WARNING", logger="gatehouse.store.wal_checkpoint"):
        checkpointer.start()
        deadline = time.monotonic() + 10
        while not checkpointer.failed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert checkpointer.running
        checkpointer.stop()
    assert checkpointer.failed >= 1 and checkpointer.restarts == 0
    assert any("WAL checkpoint failed" in r.getMessage() for r in caplog.records)


def test_a_short_log_is_checkpointed_without_the_writer_lock(kept: Database) -> None:
    path = _path(kept)
    run_apart(kept.write(lambda c: _add(c, "ann")))
    lock = threading.Lock()
    checkpointer = WalCheckpointer(path, lock)
    with lock:  # held elsewhere: a step on a short log must not wait for it
        done = checkpointer.step()
    checkpointer.stop()
    assert not done.busy and done.frames < RESTART_FRAMES and done.copied == done.frames
    assert checkpointer.restarts == 0


def test_each_database_has_a_checkpoint_thread_only_on_sqlite_and_when_asked(db: Database) -> None:
    async def scenario() -> bool:
        async with db.checkpointing():
            return db.checkpointer is not None and db.checkpointer.running

    assert run_apart(scenario()) is False  # not asked (a test's app, a CLI)
    db.checkpoint_thread = True
    assert run_apart(scenario()) is db.is_sqlite
    assert db.checkpointer is None


@pytest.mark.parametrize(("workers", "thread"), [(None, True), ("1", True), ("2", False)])
def test_the_serving_process_asks_for_the_thread_only_as_the_one_worker(
    tmp_path: Path, workers: str | None, thread: bool
) -> None:
    """Several processes writing one file: the thread's last pass cannot keep the others' writes out."""
    probe = (
        "import json, gatehouse.server as s; made = []; build = s.create_gatehouse_app; "
        "s.create_gatehouse_app = lambda settings: made.append(build(settings)) or made[-1]; s.create_app(); "
        "print(json.dumps(made[0].state.db.checkpoint_thread))"
    )
    assert serving_probe(tmp_path, probe, **{WORKERS_ENV: workers}) is thread


def test_failing_checkpoints_are_logged_once_and_tried_less_often(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "not-a-database.db"
    broken.write_bytes(b"this is not an SQLite file" * 200)
    checkpointer = WalCheckpointer(str(broken), threading.Lock(), interval=0.01)
    with caplog.at_level("WARNING", logger="gatehouse.store.wal_checkpoint"):
        checkpointer.start()
        time.sleep(0.5)
        assert checkpointer.running  # it carries on
        checkpointer.stop()
    failures = [r for r in caplog.records if "WAL checkpoint failed" in r.getMessage()]
    assert len(failures) == 1
    assert checkpointer.passes == 0
    assert 2 <= checkpointer.failed <= 8  # the waits doubled: every 0.01 s would have been about 50 tries
