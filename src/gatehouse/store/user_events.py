"""A user's status history: one row per created / deactivated / reactivated / handed-over event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store import driver
from gatehouse.store.tables import user_events

CREATED = "created"
DEACTIVATED = "deactivated"
REACTIVATED = "reactivated"


@dataclass(frozen=True, slots=True)
class UserEvent:
    """One entry of a user's history."""

    at: datetime
    event: str
    actor: str | None


def record(connection: Connection, user_id: str, event: str, actor: str | None, now: datetime) -> None:
    """Append an event to a user's history (in the caller's transaction)."""
    values = {"user_id": user_id, "at": driver.to_db_time(connection, now), "event": event, "actor": actor}
    driver.run(connection, driver.insert_sql(connection, "user_events", values), values)


def status_change(active_before: bool, active_after: bool) -> str | None:
    """The event a change of ``active`` is, if any."""
    if active_before == active_after:
        return None
    return REACTIVATED if active_after else DEACTIVATED


def history(connection: Connection, user_id: str, limit: int = 100) -> list[UserEvent]:
    """A user's newest events first."""
    rows = connection.execute(
        sa.select(user_events.c.at, user_events.c.event, user_events.c.actor)
        .where(user_events.c.user_id == user_id)
        .order_by(user_events.c.at.desc(), user_events.c.id.desc())
        .limit(limit)
    )
    return [UserEvent(driver.from_db_time(r.at), r.event, r.actor) for r in rows]
