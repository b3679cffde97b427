"""A user's history: one row per event of :class:`UserEventKind` (created, deactivated, reactivated, password
reset, handed to the identity provider)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gatehouse.store import driver
from gatehouse.store.tables import user_events


class UserEventKind(StrEnum):
    """What happened to a user: the closed set of the ``event`` column's values."""

    CREATED = "created"
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"
    PASSWORD_RESET = "password_reset"
    HANDED_TO_IDP = "handed_to_idp"


@dataclass(frozen=True, slots=True)
class UserEvent:
    """One entry of a user's history."""

    at: datetime
    event: str
    actor: str | None


def record(connection: Connection, user_id: str, event: UserEventKind, actor: str | None, now: datetime) -> None:
    """Append an event to a user's history (in the caller's transaction)."""
    values = {"user_id": user_id, "at": driver.to_db_time(connection, now), "event": event, "actor": actor}
    driver.run(connection, driver.insert_sql(connection, "user_events", values), values)


def status_change(active_before: bool, active_after: bool) -> UserEventKind | None:
    """The event a change of ``active`` is, if any."""
    if active_before == active_after:
        return None
    return UserEventKind.REACTIVATED if active_after else UserEventKind.DEACTIVATED


def history(connection: Connection, user_id: str, limit: int = 100) -> list[UserEvent]:
    """A user's newest events first."""
    rows = connection.execute(
        sa.select(user_events.c.at, user_events.c.event, user_events.c.actor)
        .where(user_events.c.user_id == user_id)
        .order_by(user_events.c.at.desc(), user_events.c.id.desc())
        .limit(limit)
    )
    return [UserEvent(driver.from_db_time(r.at), r.event, r.actor) for r in rows]
