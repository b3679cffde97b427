"""The audit outbox: every audit record written while a sink is enabled is also queued for each enabled sink, in
the record's own transaction, and delivered from here (:mod:`gatehouse.streaming.deliverer`).

**Order.** A sink's rows are delivered by ``audit_outbox.id``, and ids are taken in commit order: on SQLite one
transaction writes at a time; on PostgreSQL, where sequence values are handed out before commit, the writer of a
record with an enabled sink first takes a transaction-level advisory lock (:data:`LOCK_KEY`), held until its
commit, so that no transaction can commit a smaller id after a larger one was seen. The lock is taken only when a
sink is enabled and only for the end of the transaction (the audit record is the last thing a change writes).

**Payload.** What is delivered is fixed when queued: the record as JSON with a stable ``id`` (a UUID drawn once
per record, the same for every sink and every retry: receivers de-duplicate by it) and its ``sequence`` (the
audit record's id, increasing in commit order). Retention purges the audit log, never the outbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store import driver
from gatehouse.store.governance_tables import audit_outbox
from gatehouse.store.records import as_utc, optional_utc

LOCK_KEY: Final = 0x6761746561756474  # "gateaudt"


@dataclass(frozen=True, slots=True)
class Queued:
    """One record waiting for one sink."""

    id: int
    sequence: int
    payload: str
    enqueued_at: datetime


def enabled_sinks(connection: Connection) -> list[str]:
    """The ids of the enabled sinks (a small table, read with every audit record)."""
    cursor = driver.execute(connection, "SELECT id FROM audit_sinks WHERE enabled = true ORDER BY id", {})
    try:
        return [row[0] for row in cursor.fetchall()]
    finally:
        cursor.close()


def payload(record: dict[str, Any], sequence: int) -> str:
    """The JSON delivered for a record (see the module)."""
    body = {"id": str(uuid.uuid4()), "sequence": sequence, **{k: v for k, v in record.items() if k != "id"}}
    return orjson.dumps(body, default=str).decode()


def append(connection: Connection, insert_sql: str, values: dict[str, Any], record: dict[str, Any]) -> None:
    """Insert an audit record (``insert_sql`` with ``values``) and queue it for every enabled sink (see the
    module); without an enabled sink, just the insert."""
    sinks = enabled_sinks(connection)
    if not sinks:
        driver.run(connection, insert_sql, values)
        return
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        driver.run(connection, "SELECT pg_advisory_xact_lock(%(key)s)", {"key": LOCK_KEY})
    cursor = driver.execute(connection, insert_sql + (" RETURNING id" if postgres else ""), values)
    try:
        sequence = int(cursor.fetchone()[0] if postgres else cursor.lastrowid)
    finally:
        cursor.close()
    body = payload(record, sequence)
    when = values["occurred_at"]
    marks = ", ".join(driver.mark(connection, name) for name in ("sink_id", "sequence", "payload", "enqueued_at"))
    driver.run_many(
        connection,
        f"INSERT INTO audit_outbox (sink_id, sequence, payload, enqueued_at) VALUES ({marks})",
        [{"sink_id": sink, "sequence": sequence, "payload": body, "enqueued_at": when} for sink in sinks],
    )


def pending(connection: Connection, sink_id: str, limit: int) -> list[Queued]:
    """The oldest ``limit`` records waiting for a sink, in order."""
    rows = connection.execute(
        sa.select(audit_outbox.c.id, audit_outbox.c.sequence, audit_outbox.c.payload, audit_outbox.c.enqueued_at)
        .where(audit_outbox.c.sink_id == sink_id)
        .order_by(audit_outbox.c.id)
        .limit(limit)
    )
    return [Queued(int(r.id), int(r.sequence), r.payload, as_utc(r.enqueued_at)) for r in rows]


def remove_delivered(connection: Connection, sink_id: str, upto_id: int) -> int:
    """Delete a sink's rows up to ``upto_id`` (delivered); how many."""
    result = connection.execute(
        audit_outbox.delete().where(audit_outbox.c.sink_id == sink_id, audit_outbox.c.id <= upto_id)
    )
    return int(result.rowcount)


@dataclass(frozen=True, slots=True)
class Backlog:
    """What waits for a sink: how many records, and since when."""

    waiting: int
    oldest: datetime | None


def backlogs(connection: Connection) -> dict[str, Backlog]:
    """Each sink's backlog (sinks with none are left out)."""
    rows = connection.execute(
        sa.select(audit_outbox.c.sink_id, sa.func.count(), sa.func.min(audit_outbox.c.enqueued_at)).group_by(
            audit_outbox.c.sink_id
        )
    )
    return {row[0]: Backlog(int(row[1]), optional_utc(row[2])) for row in rows}
