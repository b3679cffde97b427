"""The provisioning log's storage: the SCIM requests recorded by :mod:`gatehouse.scim.activity`.

Functions take an open connection and never commit. The table keeps the newest :data:`KEEP_ROWS` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store.database import Database
from gatehouse.store.parameters import clean_text
from gatehouse.store.records import as_utc
from gatehouse.store.tables import scim_activity

KEEP_ROWS = 1000
"""Rows the table keeps (the newest, by id); older ones are deleted by each flush."""

RECENT = 50
"""Requests the settings page shows."""


@dataclass(frozen=True, slots=True)
class Activity:
    """One recorded SCIM request, as the settings page shows it."""

    id: int
    at: datetime
    token_name: str | None
    method: str
    path: str
    status: int
    detail: str | None
    ip: str | None

    @property
    def failed(self) -> bool:
        return self.status >= 400


class Recorder(Protocol):
    """What a surface may ask of a process's request recorder: flush now, and how many records it dropped."""

    @property
    def dropped(self) -> int: ...

    async def flush_async(self, db: Database) -> int: ...


def write(connection: Connection, rows: list[dict[str, object]], keep: int = KEEP_ROWS) -> None:
    """Insert ``rows`` and delete all but the newest ``keep`` rows of the table (by id). Text that cannot be
    stored (a NUL from a ``%00`` in a path) is made storable, so a record never blocks the ones after it."""
    rows = [{key: clean_text(value) if isinstance(value, str) else value for key, value in row.items()} for row in rows]
    connection.execute(scim_activity.insert(), rows)
    newest = (
        sa.select(scim_activity.c.id).order_by(scim_activity.c.id.desc()).offset(keep - 1).limit(1).scalar_subquery()
    )
    connection.execute(scim_activity.delete().where(scim_activity.c.id < newest))


def recent(connection: Connection, limit: int = RECENT) -> list[Activity]:
    """The latest recorded requests, newest first."""
    rows = connection.execute(
        sa.select(scim_activity).order_by(scim_activity.c.at.desc(), scim_activity.c.id.desc()).limit(limit)
    )
    return [
        Activity(row.id, as_utc(row.at), row.token_name, row.method, row.path, row.status, row.detail, row.ip)
        for row in rows
    ]
