"""The provisioning log's storage: the SCIM requests recorded by :mod:`gatehouse.scim.activity`.

Functions take an open connection and never commit. Each write trims the table to its retention: the newest
``keep`` rows (:data:`KEEP_ROWS` by default) and none older than ``keep_days`` days (:data:`KEEP_DAYS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store import driver
from gatehouse.store.database import Database
from gatehouse.store.parameters import clean_text
from gatehouse.store.records import as_utc, utcnow
from gatehouse.store.tables import scim_activity

KEEP_ROWS: Final = 10_000
"""Rows the table keeps by default (the newest, by id); ``GATEHOUSE_SCIM_ACTIVITY_KEEP_ROWS``."""

KEEP_DAYS: Final = 30
"""Days a row is kept by default; ``GATEHOUSE_SCIM_ACTIVITY_KEEP_DAYS``."""

RECENT: Final = 50
"""Requests the settings page shows."""

RESOURCES: Final = ("Users", "Groups", "discovery", "other")
"""What a request was about, from its path: ``discovery`` is ServiceProviderConfig, Schemas and ResourceTypes."""


@dataclass(frozen=True, slots=True)
class Activity:
    """One recorded SCIM request. The bodies are kept for failed requests only (redacted, capped)."""

    id: int
    at: datetime
    token_name: str | None
    method: str
    path: str
    status: int
    detail: str | None
    ip: str | None
    resource: str = "other"
    user_agent: str | None = None
    request_body: str | None = None
    response_body: str | None = None
    repeats: int = 1
    """Requests the row stands for: more than one for the successful reads a token sent past its budget in one
    second (:data:`gatehouse.scim.activity.READS_PER_SECOND`), counted rather than listed one by one."""

    @property
    def failed(self) -> bool:
        return self.status >= 400

    def as_dict(self) -> dict[str, Any]:
        """The JSON the admin API and the CLI print."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "token_name": self.token_name,
            "method": self.method,
            "path": self.path,
            "resource": self.resource,
            "status": self.status,
            "detail": self.detail,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "request_body": self.request_body,
            "response_body": self.response_body,
            "repeats": self.repeats,
        }


def activity_of(row: Any) -> Activity:
    """A row of :data:`~gatehouse.store.tables.scim_activity` as an :class:`Activity`."""
    return Activity(
        row.id, as_utc(row.at), row.token_name, row.method, row.path, row.status, row.detail, row.ip,
        row.resource, row.user_agent, row.request_body, row.response_body, row.repeats,
    )  # fmt: skip


class Recorder(Protocol):
    """What a surface may ask of a process's request recorder: flush now, and how many records it dropped."""

    @property
    def dropped(self) -> int: ...

    async def flush_async(self, db: Database) -> int: ...


Prepared = list[tuple[object, ...]]
"""Rows as the insert binds them (:func:`prepare`)."""


def write(
    connection: Connection,
    rows: list[dict[str, object]],
    keep: int = KEEP_ROWS,
    keep_days: int = KEEP_DAYS,
    now: datetime | None = None,
) -> None:
    """Insert ``rows``, then delete all but the newest ``keep`` rows of the table (by id) and every row older than
    ``keep_days`` days. Text that cannot be stored (a NUL from a ``%00`` in a path) is made storable, so a record
    never blocks the ones after it."""
    write_prepared(connection, prepare(connection.dialect.name, rows), keep, keep_days, now)


def write_prepared(
    connection: Connection,
    prepared: Prepared,
    keep: int = KEEP_ROWS,
    keep_days: int = KEEP_DAYS,
    now: datetime | None = None,
) -> None:
    """:func:`write` of rows made ready by :func:`prepare` beforehand: the provisioning log's flush prepares a
    batch before its transaction, which on SQLite holds the process's writer lock (every write of the event loop
    waits meanwhile), so the transaction runs only the statements (a batch of 1,000: 5 ms of Python less)."""
    if prepared:
        _insert(connection, prepared)
    newest = (
        sa.select(scim_activity.c.id).order_by(scim_activity.c.id.desc()).offset(keep - 1).limit(1).scalar_subquery()
    )
    connection.execute(scim_activity.delete().where(scim_activity.c.id < newest))
    oldest = (now or utcnow()) - timedelta(days=keep_days)
    connection.execute(scim_activity.delete().where(scim_activity.c.at < oldest))


_COLUMNS: Final = (
    "at", "token_name", "method", "path", "resource", "status", "detail", "ip", "user_agent", "request_body",
    "response_body", "repeats",
)  # fmt: skip


def prepare(dialect: str, rows: list[dict[str, object]]) -> Prepared:
    """``rows`` as the insert binds them on ``dialect``: every text made storable (:func:`clean_text`), the only
    thing the parameter check (:mod:`gatehouse.store.parameters`) would refuse in these values, and the time in
    the driver's form."""

    def at(value: object) -> object:
        return driver.db_time(dialect, value) if isinstance(value, datetime) else value

    def text(value: object) -> object:
        return clean_text(value) if isinstance(value, str) else value

    return [
        (at(row["at"]), text(row.get("token_name")), row["method"], text(row["path"]),
         row.get("resource") or "other", row["status"], text(row.get("detail")), text(row.get("ip")),
         text(row.get("user_agent")), text(row.get("request_body")), text(row.get("response_body")),
         row.get("repeats") or 1)
        for row in rows
    ]  # fmt: skip


def _insert(connection: Connection, prepared: Prepared) -> None:
    """One ``executemany`` on the driver's cursor: about a third of what SQLAlchemy's costs per row, which counts
    here (a row per SCIM request)."""
    marks = ", ".join("?" if connection.dialect.name == "sqlite" else "%s" for _ in _COLUMNS)
    sql = f"INSERT INTO {scim_activity.name} ({', '.join(_COLUMNS)}) VALUES ({marks})"
    handle = driver.cursor(connection)
    try:
        handle.executemany(sql, prepared)
    finally:
        handle.close()


def recent(connection: Connection, limit: int = RECENT) -> list[Activity]:
    """The latest recorded requests, newest first."""
    rows = connection.execute(
        sa.select(scim_activity).order_by(scim_activity.c.at.desc(), scim_activity.c.id.desc()).limit(limit)
    )
    return [activity_of(row) for row in rows]
