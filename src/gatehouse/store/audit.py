"""The audit log's storage: append a record, search it page by page, purge what retention lets go.

Every query is indexed: the newest-first listing walks ``(occurred_at, id)`` with a keyset cursor (no
``OFFSET``, no count of the whole table), and each filter column (event, actor, resource id) has an index
that leads with it and ends with ``occurred_at``. The purge deletes in bounded batches so that it never
holds the write lock for long.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.errors import InvalidInput
from gatehouse.store import audit_outbox, driver
from gatehouse.store.parameters import clean_text
from gatehouse.store.tables import audit_events

OUTCOMES = ("success", "refused", "failed")
MAX_PAGE_SIZE = 500
PURGE_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One record of the audit log, as stored (``summary`` is already masked)."""

    occurred_at: datetime
    source: str
    event: str
    actor: str
    actor_id: str | None
    resource_type: str | None
    resource_id: str | None
    ip: str | None
    user_agent: str | None
    outcome: str
    status: int
    error: str | None
    summary: dict[str, Any]
    id: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (API and export)."""
        return {
            "id": self.id,
            "occurred_at": self.occurred_at.isoformat(),
            "source": self.source,
            "event": self.event,
            "actor": self.actor,
            "actor_id": self.actor_id,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "outcome": self.outcome,
            "status": self.status,
            "error": self.error,
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of a search; empty strings and ``None`` mean "any"."""

    event: str = ""
    """An exact event name (``iam:UpdateUserStatus``) or a prefix ending in ``*`` (``scim:*``)."""
    actor: str = ""
    """Exact actor name, or actor id."""
    resource_id: str = ""
    source: str = ""
    outcome: str = ""
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page, newest first, and the cursor of the next (older) page if there is one."""

    records: list[AuditRecord]
    next_cursor: str | None


def insert(connection: Connection, record: AuditRecord) -> None:
    """Append one record (in the caller's transaction)."""
    values = {
        "occurred_at": driver.to_db_time(connection, record.occurred_at),
        "source": record.source,
        "event": clean_text(record.event[:64]),
        "actor_id": clean_text(record.actor_id),
        "actor": clean_text(record.actor[:255]),
        "resource_type": clean_text(record.resource_type),
        "resource_id": clean_text((record.resource_id or None) and record.resource_id[:255]),
        "ip": clean_text(record.ip),
        "user_agent": clean_text((record.user_agent or None) and record.user_agent[:255]),
        "outcome": record.outcome,
        "status": record.status,
        "error": clean_text(record.error),
        "summary": _summary(record.summary),
    }
    # queued for the enabled streaming sinks too, in this transaction (gatehouse.store.audit_outbox)
    audit_outbox.append(connection, driver.insert_sql(connection, "audit_events", values), values, record.as_dict())


def _summary(summary: dict[str, Any]) -> str:
    """The summary as JSON text; a record of a request is never lost to what the request held (a lone
    surrogate, which JSON cannot encode, is written as U+FFFD)."""
    try:
        return orjson.dumps(summary, default=str).decode()
    except orjson.JSONEncodeError:
        text = json.dumps(summary, default=str, ensure_ascii=False)
        return clean_text(text) or "{}"


def encode_cursor(occurred_at: datetime, record_id: int) -> str:
    raw = orjson.dumps([occurred_at.isoformat(), record_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """A cursor from :func:`search` back to its position; anything else is :class:`InvalidInput`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, record_id = orjson.loads(raw)
        return datetime.fromisoformat(when), int(record_id)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise InvalidInput("The page cursor is not valid; start again from the first page.") from exc


def _where(connection: Connection, query: AuditQuery) -> list[sa.ColumnElement[bool]]:
    table = audit_events.c
    clauses: list[sa.ColumnElement[bool]] = []
    if query.event:
        if query.event.endswith("*"):
            prefix = query.event[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append(table.event.like(prefix + "%", escape="\\"))
        else:
            clauses.append(table.event == query.event)
    if query.actor:
        clauses.append(sa.or_(table.actor == query.actor, table.actor_id == query.actor))
    if query.resource_id:
        clauses.append(table.resource_id == query.resource_id)
    if query.source:
        clauses.append(table.source == query.source)
    if query.outcome:
        clauses.append(table.outcome == query.outcome)
    if query.since is not None:
        clauses.append(table.occurred_at >= driver.to_db_time(connection, query.since))
    if query.until is not None:
        clauses.append(table.occurred_at < driver.to_db_time(connection, query.until))
    return clauses


def search(connection: Connection, query: AuditQuery, limit: int = 50, cursor: str | None = None) -> AuditPage:
    """A page of records matching ``query``, newest first, after ``cursor`` (from a previous page)."""
    limit = min(max(limit, 1), MAX_PAGE_SIZE)
    table = audit_events.c
    clauses = _where(connection, query)
    if cursor:
        when, record_id = decode_cursor(cursor)
        at = driver.to_db_time(connection, when)
        clauses.append(sa.or_(table.occurred_at < at, sa.and_(table.occurred_at == at, table.id < record_id)))
    statement = (
        sa.select(audit_events).where(*clauses).order_by(table.occurred_at.desc(), table.id.desc()).limit(limit + 1)
    )
    rows = connection.execute(statement).all()
    records = [_record(row) for row in rows[:limit]]
    more = len(rows) > limit
    next_cursor = encode_cursor(records[-1].occurred_at, records[-1].id) if more and records else None
    return AuditPage(records, next_cursor)


def iterate(
    connection: Connection, query: AuditQuery, *, limit: int, batch: int = MAX_PAGE_SIZE
) -> Iterator[AuditRecord]:
    """Up to ``limit`` matching records, newest first, read page by page (for exports)."""
    cursor: str | None = None
    left = limit
    while left > 0:
        page = search(connection, query, min(batch, left), cursor)
        yield from page.records
        left -= len(page.records)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def purge(connection: Connection, before: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete up to ``batch`` records older than ``before`` (the oldest first); how many went."""
    table = audit_events.c
    oldest = (
        sa.select(table.id)
        .where(table.occurred_at < driver.to_db_time(connection, before))
        .order_by(table.occurred_at, table.id)
        .limit(batch)
    )
    ids = [row.id for row in connection.execute(oldest)]
    if not ids:
        return 0
    connection.execute(audit_events.delete().where(table.id.in_(ids)))
    return len(ids)


def _record(row: Any) -> AuditRecord:
    try:
        summary = orjson.loads(row.summary)
    except orjson.JSONDecodeError:
        summary = {}
    return AuditRecord(
        occurred_at=driver.from_db_time(row.occurred_at),
        source=row.source,
        event=row.event,
        actor=row.actor,
        actor_id=row.actor_id,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        ip=row.ip,
        user_agent=row.user_agent,
        outcome=row.outcome,
        status=row.status,
        error=row.error,
        summary=summary if isinstance(summary, dict) else {"value": summary},
        id=int(row.id),
    )
