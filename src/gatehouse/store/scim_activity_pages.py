"""The provisioning log read page by page, filtered, and counted per hour (Organization → Settings →
Provisioning activity, ``GET /api/scim/activity``, ``gatehouse scim activity``). Functions take an open connection
and never commit; every filter is a SQL condition served by an index of the table (``status``, ``resource``,
``token_name`` and ``method``, each with ``at``), and the log is bounded by its retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store.records import as_utc
from gatehouse.store.scim_activity import Activity, activity_of
from gatehouse.store.tables import scim_activity

STATUSES: Final = ("", "failed", "succeeded", "2xx", "3xx", "4xx", "5xx")
"""Status filters: any, 4xx and 5xx, below 400, or one class."""


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    """What is asked for, each ``""`` or ``None`` for any: a status filter of :data:`STATUSES`, a token name, an
    HTTP method, a resource (:data:`~gatehouse.store.scim_activity.RESOURCES`), and a time range
    (``since`` included, ``until`` excluded)."""

    status: str = ""
    token: str = ""
    method: str = ""
    resource: str = ""
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ActivityPage:
    items: list[Activity]
    total: int


@dataclass(frozen=True, slots=True)
class Hour:
    """Requests and failed requests in the hour starting at ``start``."""

    start: datetime
    requests: int
    errors: int


def _where(wanted: ActivityFilter) -> list[Any]:
    column = scim_activity.c
    clauses: list[Any] = []
    if wanted.status == "failed":
        clauses.append(column.status >= 400)
    elif wanted.status == "succeeded":
        clauses.append(column.status < 400)
    elif wanted.status:
        low = int(wanted.status[0]) * 100
        clauses.extend([column.status >= low, column.status < low + 100])
    if wanted.token:
        clauses.append(column.token_name == wanted.token)
    if wanted.method:
        clauses.append(column.method == wanted.method)
    if wanted.resource:
        clauses.append(column.resource == wanted.resource)
    if wanted.since is not None:
        clauses.append(column.at >= wanted.since)
    if wanted.until is not None:
        clauses.append(column.at < wanted.until)
    return clauses


def count(connection: Connection, wanted: ActivityFilter) -> int:
    """How many recorded requests match."""
    query = sa.select(sa.func.count()).select_from(scim_activity).where(*_where(wanted))
    return int(connection.execute(query).scalar_one())


def page(
    connection: Connection, wanted: ActivityFilter, offset: int, limit: int, total: int | None = None
) -> ActivityPage:
    """One page of the matching requests, newest first, and how many match (``total``, when the caller counted
    them already: not counted again)."""
    rows = connection.execute(
        sa.select(scim_activity)
        .where(*_where(wanted))
        .order_by(scim_activity.c.at.desc(), scim_activity.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    items = [activity_of(row) for row in rows]
    return ActivityPage(items, count(connection, wanted) if total is None else total)


def token_names(connection: Connection) -> list[str]:
    """The token names the log mentions, for the filter: a loose index scan of ``(token_name, at)`` (each
    step seeks the next name greater than the last), so its cost grows with the number of names, not of
    requests."""
    name = scim_activity.c.token_name
    first = sa.select(sa.func.min(name).label("name")).where(name.is_not(None)).cte("names", recursive=True)
    following = sa.select(sa.func.min(name)).where(name > first.c.name).scalar_subquery()
    walk = first.union_all(sa.select(following).where(first.c.name.is_not(None)))
    rows = connection.execute(sa.select(walk.c.name).where(walk.c.name.is_not(None)))
    return sorted((str(row[0]) for row in rows), key=lambda found: (found.lower(), found))


def hourly(connection: Connection, now: datetime, hours: int = 24) -> list[Hour]:
    """Requests and errors per hour over the last ``hours`` hours, oldest first (the last is the current hour), a row
    of counted reads adding its ``repeats``: summed by the database (a ``GROUP BY`` over the ``at`` index's range),
    so at most ``hours`` rows come back, however many requests the log keeps."""
    current = as_utc(now).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = current - timedelta(hours=hours - 1)
    counts = {first + timedelta(hours=i): [0, 0] for i in range(hours)}
    bucket = _hour_of(connection, scim_activity.c.at).label("hour")
    repeats = scim_activity.c.repeats  # a row of counted reads stands for that many requests
    failed = sa.func.sum(sa.case((scim_activity.c.status >= 400, repeats), else_=0))
    query = sa.select(bucket, sa.func.sum(repeats), failed).where(scim_activity.c.at >= first).group_by(bucket)
    for hour, requests, errors in connection.execute(query):
        start = _hour_start(hour)
        if start in counts:
            counts[start] = [int(requests or 0), int(errors or 0)]
    return [Hour(start, requests, errors) for start, (requests, errors) in counts.items()]


def _hour_of(connection: Connection, column: Any) -> Any:
    """The UTC hour a stored time falls in: the first 13 characters of SQLite's text form (``2026-12-07 04``), or
    PostgreSQL's ``date_trunc`` of the time in UTC (not in the session's zone)."""
    if connection.dialect.name == "sqlite":
        return sa.func.substr(column, 1, 13)
    return sa.func.date_trunc("hour", sa.func.timezone("UTC", column))


def _hour_start(hour: Any) -> datetime:
    """A group's hour as an aware UTC datetime: SQLite's ``2026-12-07 04`` (the date and the hour read by position,
    so a ``T`` between them reads the same), PostgreSQL's naive UTC timestamp."""
    if isinstance(hour, str):
        return datetime(int(hour[0:4]), int(hour[5:7]), int(hour[8:10]), int(hour[11:13]), tzinfo=UTC)
    return as_utc(hour)
