"""Audit streaming sinks: their configuration, and their delivery state (which process delivers each, what was
delivered last, the last error, when to try again).

Functions take an open connection and never commit. A sink is delivered by one process at a time, the holder of
its *lease* (``lease_owner`` until ``lease_until``): :func:`claim_due` takes the leases of the sinks that are due
— on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so that processes claiming at once never wait for each other and
never take the same sink; on SQLite inside the one write transaction at a time — and the holder renews it as it
delivers. A process that dies leaves its lease to run out (:data:`LEASE_SECONDS`), and another takes over where
the outbox stands: what it had delivered but not yet removed is delivered again (at least once).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict
from gatehouse.store.governance_tables import audit_outbox, audit_sinks
from gatehouse.store.records import as_utc, optional_utc
from gatehouse.store.write_outcomes import read_back, refused_as

LEASE_SECONDS: Final = 30


@dataclass(frozen=True, slots=True)
class SinkWrite:
    """The editable fields of a sink, already checked (:mod:`gatehouse.iam.audit_sinks`)."""

    name: str
    kind: str
    enabled: bool
    settings: Mapping[str, Any]
    secret_encrypted: str | None = None
    secret_env: str | None = None


@dataclass(frozen=True, slots=True)
class Sink:
    """A sink as stored, with its delivery state."""

    id: str
    name: str
    kind: str
    enabled: bool
    settings: dict[str, Any]
    secret_encrypted: str | None
    secret_env: str | None
    created: datetime
    updated: datetime
    version: int
    lease_owner: str | None
    lease_until: datetime | None
    next_attempt_at: datetime | None
    failures: int
    delivered_total: int
    last_delivered_sequence: int | None
    last_delivered_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


def _sink(row: Any) -> Sink:
    return Sink(
        row.id,
        row.name,
        row.kind,
        bool(row.enabled),
        orjson.loads(row.settings),
        row.secret_encrypted,
        row.secret_env,
        as_utc(row.created),
        as_utc(row.updated),
        int(row.version),
        row.lease_owner,
        optional_utc(row.lease_until),
        optional_utc(row.next_attempt_at),
        int(row.failures),
        int(row.delivered_total),
        None if row.last_delivered_sequence is None else int(row.last_delivered_sequence),
        optional_utc(row.last_delivered_at),
        row.last_error,
        optional_utc(row.last_error_at),
    )


def _columns(write: SinkWrite) -> dict[str, Any]:
    return {
        "name": write.name,
        "name_lower": write.name.lower(),
        "kind": write.kind,
        "enabled": write.enabled,
        "settings": orjson.dumps(dict(write.settings)).decode(),
        "secret_encrypted": write.secret_encrypted,
        "secret_env": write.secret_env,
    }


def _taken(name: str) -> Conflict:
    return Conflict(f"A sink named '{name}' already exists (sink names ignore case).")


def insert(connection: Connection, sink_id: str, write: SinkWrite, now: datetime) -> Sink:
    """A new sink at version 1; a taken name (any case) is :class:`Conflict`."""
    values = {**_columns(write), "id": sink_id, "created": now, "updated": now, "version": 1}
    with refused_as(connection, _taken(write.name)):
        connection.execute(audit_sinks.insert().values(values))
    return read_back(get, connection, sink_id)


def update(connection: Connection, sink_id: str, write: SinkWrite, now: datetime) -> bool:
    """Replace a sink's fields (its delivery state kept); ``False`` if it is gone."""
    with refused_as(connection, _taken(write.name)):
        result = connection.execute(
            audit_sinks.update()
            .where(audit_sinks.c.id == sink_id)
            .values(**_columns(write), updated=now, version=audit_sinks.c.version + 1, next_attempt_at=None)
        )
    return bool(result.rowcount)


def delete(connection: Connection, sink_id: str) -> bool:
    """Delete a sink and what waits for it (its outbox rows go with it)."""
    return bool(connection.execute(audit_sinks.delete().where(audit_sinks.c.id == sink_id)).rowcount)


def get(connection: Connection, sink_id: str, *, for_update: bool = False) -> Sink | None:
    statement = sa.select(audit_sinks).where(audit_sinks.c.id == sink_id)
    if for_update and connection.dialect.name == "postgresql":
        statement = statement.with_for_update()
    row = connection.execute(statement).first()
    return None if row is None else _sink(row)


def list_all(connection: Connection) -> list[Sink]:
    """Every sink, by name."""
    rows = connection.execute(sa.select(audit_sinks).order_by(audit_sinks.c.name_lower, audit_sinks.c.id))
    return [_sink(row) for row in rows]


# ------------------------------------------------------------------------------------------ delivery state


def _due(owner: str, now: datetime) -> list[sa.ColumnElement[bool]]:
    sinks = audit_sinks.c
    return [
        sinks.enabled.is_(True),
        sa.or_(sinks.lease_until.is_(None), sinks.lease_until < now, sinks.lease_owner == owner),
        sa.or_(sinks.next_attempt_at.is_(None), sinks.next_attempt_at <= now),
        sa.exists().where(audit_outbox.c.sink_id == sinks.id),
    ]


def any_due(connection: Connection, owner: str, now: datetime) -> bool:
    """Whether some enabled sink has records waiting and may be delivered now (a read, before claiming)."""
    return connection.execute(sa.select(audit_sinks.c.id).where(*_due(owner, now)).limit(1)).first() is not None


def claim_due(connection: Connection, owner: str, now: datetime, lease: float = LEASE_SECONDS) -> list[Sink]:
    """Take the lease of every enabled sink that is due (records waiting; no live lease of another process; not
    waiting to try again) for ``owner``; the sinks claimed."""
    sinks = audit_sinks.c
    statement = sa.select(audit_sinks).where(*_due(owner, now))
    if connection.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    due = [_sink(row) for row in connection.execute(statement)]
    if due:
        connection.execute(
            audit_sinks.update()
            .where(sinks.id.in_([sink.id for sink in due]))
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease))
        )
    return due


def renew(connection: Connection, sink_id: str, owner: str, now: datetime, lease: float = LEASE_SECONDS) -> bool:
    """Extend ``owner``'s lease of a sink; ``False`` if it is no longer theirs (then they must stop)."""
    result = connection.execute(
        audit_sinks.update()
        .where(audit_sinks.c.id == sink_id, audit_sinks.c.lease_owner == owner, audit_sinks.c.enabled.is_(True))
        .values(lease_until=now + timedelta(seconds=lease))
    )
    return bool(result.rowcount)


def delivered(connection: Connection, sink_id: str, owner: str, count: int, last_sequence: int, now: datetime) -> bool:
    """Record ``count`` more records delivered, the last one ``last_sequence`` (a success clears the failure
    count, keeps the last error for the page); ``False`` if the lease is no longer ``owner``'s."""
    result = connection.execute(
        audit_sinks.update()
        .where(audit_sinks.c.id == sink_id, audit_sinks.c.lease_owner == owner)
        .values(
            delivered_total=audit_sinks.c.delivered_total + count,
            last_delivered_sequence=last_sequence,
            last_delivered_at=now,
            failures=0,
            next_attempt_at=None,
        )
    )
    return bool(result.rowcount)


def failed(connection: Connection, sink_id: str, owner: str, error: str, now: datetime, retry_at: datetime) -> None:
    """Record a failed delivery: the error, one more failure, when to try again; the lease is given up."""
    connection.execute(
        audit_sinks.update()
        .where(audit_sinks.c.id == sink_id, audit_sinks.c.lease_owner == owner)
        .values(
            failures=audit_sinks.c.failures + 1,
            last_error=error[:1_000],
            last_error_at=now,
            next_attempt_at=retry_at,
            lease_owner=None,
            lease_until=None,
        )
    )


def release(connection: Connection, sink_id: str, owner: str) -> None:
    """Give up ``owner``'s lease (nothing left to deliver, or shutting down)."""
    connection.execute(
        audit_sinks.update()
        .where(audit_sinks.c.id == sink_id, audit_sinks.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )
