"""Counters of failed sign-ins per account and per client IP.

They are written in their own transaction by the caller, so they survive the rollback of the failed
request that they count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store.records import as_utc
from gatehouse.store.tables import login_throttle


def locked_until(connection: Connection, keys: list[str], now: datetime) -> datetime | None:
    """The latest lock among ``keys`` still in force, or ``None``."""
    rows = connection.execute(
        sa.select(login_throttle.c.locked_until).where(
            login_throttle.c.key.in_(keys), login_throttle.c.locked_until.is_not(None)
        )
    ).scalars()
    locks = [as_utc(value) for value in rows if as_utc(value) > now]
    return max(locks) if locks else None


def record_failure(connection: Connection, key: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Count one failure for ``key``; lock it for ``window`` when it reaches ``limit``. Returns whether
    the key is now locked."""
    row = connection.execute(
        sa.select(login_throttle.c.failures, login_throttle.c.window_start).where(login_throttle.c.key == key)
    ).first()
    if row is None or now - as_utc(row.window_start) >= window:
        failures = 1
        connection.execute(login_throttle.delete().where(login_throttle.c.key == key))
        connection.execute(login_throttle.insert().values(key=key, failures=1, window_start=now, locked_until=None))
    else:
        failures = row.failures + 1
        connection.execute(login_throttle.update().where(login_throttle.c.key == key).values(failures=failures))
    if failures >= limit:
        connection.execute(login_throttle.update().where(login_throttle.c.key == key).values(locked_until=now + window))
        return True
    return False


def clear(connection: Connection, key: str) -> None:
    """Forget the failures of ``key`` (after a successful sign-in)."""
    connection.execute(login_throttle.delete().where(login_throttle.c.key == key))
