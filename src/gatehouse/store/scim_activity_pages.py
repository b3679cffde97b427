"""The provisioning log read page by page, filtered, and counted per hour (Organization → Settings →
Provisioning activity). Functions take an open connection and never commit; the log keeps its newest
:data:`~gatehouse.store.scim_activity.KEEP_ROWS` rows, so every read here is small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store.records import as_utc
from gatehouse.store.scim_activity import Activity
from gatehouse.store.tables import scim_activity


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    """What the page asks for: ``outcome`` ``failed`` (4xx/5xx), ``succeeded`` or any (``""``), a token name and
    an HTTP method (each ``""`` for any)."""

    outcome: str = ""
    token: str = ""
    method: str = ""


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
    clauses: list[Any] = []
    if wanted.outcome == "failed":
        clauses.append(scim_activity.c.status >= 400)
    elif wanted.outcome == "succeeded":
        clauses.append(scim_activity.c.status < 400)
    if wanted.token:
        clauses.append(scim_activity.c.token_name == wanted.token)
    if wanted.method:
        clauses.append(scim_activity.c.method == wanted.method)
    return clauses


def page(connection: Connection, wanted: ActivityFilter, offset: int, limit: int) -> ActivityPage:
    """One page of the matching requests, newest first, and how many match."""
    clauses = _where(wanted)
    total = connection.execute(sa.select(sa.func.count()).select_from(scim_activity).where(*clauses)).scalar_one()
    rows = connection.execute(
        sa.select(scim_activity)
        .where(*clauses)
        .order_by(scim_activity.c.at.desc(), scim_activity.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    items = [Activity(r.id, as_utc(r.at), r.token_name, r.method, r.path, r.status, r.detail, r.ip) for r in rows]
    return ActivityPage(items, int(total))


def token_names(connection: Connection) -> list[str]:
    """The token names the log mentions, for the filter."""
    rows = connection.execute(
        sa.select(scim_activity.c.token_name).where(scim_activity.c.token_name.is_not(None)).distinct()
    )
    return sorted({str(r.token_name) for r in rows}, key=str.lower)


def hourly(connection: Connection, now: datetime, hours: int = 24) -> list[Hour]:
    """Requests and errors per hour over the last ``hours`` hours (oldest first; the last is the current hour)."""
    current = now.replace(minute=0, second=0, microsecond=0)
    first = current - timedelta(hours=hours - 1)
    counts = {first + timedelta(hours=i): [0, 0] for i in range(hours)}
    rows = connection.execute(sa.select(scim_activity.c.at, scim_activity.c.status).where(scim_activity.c.at >= first))
    for row in rows:
        start = as_utc(row.at).replace(minute=0, second=0, microsecond=0)
        if start in counts:
            counts[start][0] += 1
            counts[start][1] += int(row.status >= 400)
    return [Hour(start, requests, errors) for start, (requests, errors) in counts.items()]
