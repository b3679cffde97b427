"""The mass-deprovisioning guard's storage: SCIM deactivations and deletions applied and held
(:data:`~gatehouse.store.governance_tables.scim_deprovisions`), and the guard's state (an ``app_settings`` value).

Functions take an open connection and never commit. :func:`lock` serialises the guard's decisions across
processes: a PostgreSQL transaction-scoped advisory lock (SQLite's write transactions are serialised anyway).
"""

from __future__ import annotations

import time
import weakref
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gatehouse.store import settings, user_writes
from gatehouse.store.governance_tables import scim_deprovisions
from gatehouse.store.records import as_utc, optional_utc
from gatehouse.store.tables import users

STATE_KEY: Final = "scim.guard"
"""The guard's state: ``{"tripped_at", "last_held_at", "allowed_until"}`` (ISO times or null)."""

LOCK_ID: Final = 0x5C1D_6A2D
"""The advisory lock taken by every guard decision on PostgreSQL."""

KEEP: Final = timedelta(days=1)
"""Applied rows older than this are deleted (the window is at most a day)."""


@dataclass(frozen=True, slots=True)
class Deprovision:
    """One SCIM deactivation or deletion of a user."""

    at: datetime
    token_id: str | None
    token_name: str | None
    user_id: str
    user_name: str
    kind: str
    """``deactivate`` or ``delete``."""


@dataclass(frozen=True, slots=True)
class State:
    """When the guard last tripped and held a request, and until when an administrator allowed deprovisioning."""

    tripped_at: datetime | None = None
    last_held_at: datetime | None = None
    allowed_until: datetime | None = None


def lock(connection: Connection) -> None:
    """Serialise guard decisions until the transaction ends (PostgreSQL; a no-op on SQLite)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_ID)))


def _time(value: Any) -> datetime | None:
    return None if value is None else as_utc(datetime.fromisoformat(value))


def state(connection: Connection) -> State:
    stored = settings.get(connection, STATE_KEY) or {}
    return State(_time(stored.get("tripped_at")), _time(stored.get("last_held_at")), _time(stored.get("allowed_until")))


def put_state(connection: Connection, value: State) -> None:
    settings.put(
        connection,
        STATE_KEY,
        {
            "tripped_at": value.tripped_at.isoformat() if value.tripped_at else None,
            "last_held_at": value.last_held_at.isoformat() if value.last_held_at else None,
            "allowed_until": value.allowed_until.isoformat() if value.allowed_until else None,
        },
    )


def applied_since(connection: Connection, since: datetime) -> int:
    """Deactivations and deletions applied since ``since`` (indexed by ``held``, ``at``)."""
    query = sa.select(sa.func.count()).where(scim_deprovisions.c.held.is_(False), scim_deprovisions.c.at > since)
    return int(connection.execute(query).scalar_one())


POPULATION_SECONDS: Final = 10.0
"""How long :func:`population` reuses a count (per process and database)."""

_populations: weakref.WeakKeyDictionary[Engine, tuple[float, int, int]] = weakref.WeakKeyDictionary()


def active_scim_users(connection: Connection) -> int:
    """The active SCIM users (an index walk: tens of milliseconds at a million)."""
    query = sa.select(sa.func.count()).where(users.c.source == "scim", users.c.active.is_(True))
    return int(connection.execute(query).scalar_one())


def population(connection: Connection, applied: int) -> int:
    """The SCIM users the guard's share is of: the active ones plus the ``applied`` deactivations and deletions
    of the window. Counted at most every :data:`POPULATION_SECONDS` per process, since a burst past the guard's
    floor asks on every deactivation: the deactivations since the count leave the sum as it was (each takes one
    from the active users and adds one to those applied). A user created by this process, or a count older than
    that, counts again."""
    now, written = time.monotonic(), user_writes.additions()
    kept = _populations.get(connection.engine)
    if kept is not None and now - kept[0] < POPULATION_SECONDS and kept[2] == written:
        return kept[1]
    counted = active_scim_users(connection) + applied
    _populations[connection.engine] = (now, counted, written)
    return counted


def insert(connection: Connection, row: Deprovision, *, held: bool) -> None:
    """Record a deprovisioning (its fields are the table's columns) and whether the guard held it."""
    connection.execute(scim_deprovisions.insert().values(**asdict(row), held=held))


def prune(connection: Connection, now: datetime) -> None:
    """Delete applied rows past :data:`KEEP`."""
    connection.execute(
        scim_deprovisions.delete().where(scim_deprovisions.c.held.is_(False), scim_deprovisions.c.at < now - KEEP)
    )


def held(connection: Connection, limit: int = 1000) -> list[Deprovision]:
    """The held requests, oldest first."""
    query = (
        sa.select(scim_deprovisions)
        .where(scim_deprovisions.c.held.is_(True))
        .order_by(scim_deprovisions.c.at, scim_deprovisions.c.id)
        .limit(limit)
    )
    return [
        Deprovision(as_utc(r.at), r.token_id, r.token_name, r.user_id, r.user_name, r.kind)
        for r in connection.execute(query)
    ]


def held_summary(connection: Connection) -> tuple[int, datetime | None]:
    """How many requests are held, and since when."""
    query = sa.select(sa.func.count(), sa.func.min(scim_deprovisions.c.at)).where(scim_deprovisions.c.held.is_(True))
    count, since = connection.execute(query).one()
    return int(count), optional_utc(since)


def clear_held(connection: Connection) -> int:
    """Forget the held requests; how many there were."""
    result = connection.execute(scim_deprovisions.delete().where(scim_deprovisions.c.held.is_(True)))
    return int(result.rowcount)
