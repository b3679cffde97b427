"""Requestable roles and access requests (the rules are :mod:`gatehouse.iam.access_requests`'s).

Functions take an open connection and never commit. What must not happen twice is decided by the database:
one pending request per user and role (a unique partial index: a second one is :class:`Conflict`), and a
request leaves ``pending`` once — every transition is an ``UPDATE … WHERE status = 'pending'`` whose row count
says whether this caller made it (two approvers at once: one wins, the other is told it was decided).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from gatehouse.errors import Conflict, NotFound
from gatehouse.store.governance_tables import access_requests, requestable_roles
from gatehouse.store.holdings import unexpired
from gatehouse.store.named import load_labels
from gatehouse.store.records import as_utc, optional_utc
from gatehouse.store.tables import roles, user_roles, users
from gatehouse.store.write_outcomes import refused_as

PENDING = "pending"
APPROVED = "approved"
DENIED = "denied"
CANCELLED = "cancelled"
EXPIRED = "expired"
STATUSES = (PENDING, APPROVED, DENIED, CANCELLED, EXPIRED)
REQUEST = "request"
"""``user_roles.source`` of a grant made by an approved request."""


@dataclass(frozen=True, slots=True)
class Requestable:
    """A role users may request: the longest grant and how long a request waits for an answer."""

    role_id: str
    role_name: str
    role_labels: dict[str, str]
    description: str
    max_minutes: int
    answer_within_minutes: int
    updated: datetime
    updated_by: str | None


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """A request, with the names of its user and role."""

    id: str
    user_id: str
    user_name: str
    role_id: str
    role_name: str
    role_labels: dict[str, str]
    reason: str
    minutes: int
    status: str
    created: datetime
    answer_by: datetime
    decided_at: datetime | None
    decided_by: str | None
    decided_by_id: str | None
    note: str | None
    granted_until: datetime | None

    def state(self, now: datetime) -> str:
        """The status as of ``now``: a pending request whose time to be answered is up is ``expired``, even
        before :mod:`gatehouse.iam.grant_expiry` has recorded it."""
        return EXPIRED if self.status == PENDING and self.answer_by <= now else self.status

    def waiting(self, now: datetime) -> bool:
        return self.state(now) == PENDING


@dataclass(frozen=True, slots=True)
class HeldForAWhile:
    """A role a user holds through an approved request, until ``until``."""

    role_id: str
    role_name: str
    granted_at: datetime
    granted_by: str | None
    until: datetime


# ------------------------------------------------------------------------------------------ requestable roles


def set_requestable(
    connection: Connection, role_id: str, max_minutes: int, answer_within: int, by: str | None, now: datetime
) -> None:
    """Make a role requestable (or change its limits). A missing role raises :class:`NotFound`."""
    insert_fn = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    values = {
        "role_id": role_id,
        "max_minutes": max_minutes,
        "answer_within_minutes": answer_within,
        "updated": now,
        "updated_by": by,
    }
    statement = insert_fn(requestable_roles).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["role_id"], set_={k: statement.excluded[k] for k in values if k != "role_id"}
    )
    with refused_as(connection, NotFound("There is no such role. It may have been deleted.")):
        connection.execute(statement)


def unset_requestable(connection: Connection, role_id: str) -> bool:
    """Roles no longer requestable; pending requests for it stay to be answered. ``False`` if it was not."""
    result = connection.execute(requestable_roles.delete().where(requestable_roles.c.role_id == role_id))
    return bool(result.rowcount)


def _requestable_select() -> sa.Select[Any]:
    return sa.select(
        requestable_roles, roles.c.name.label("role_name"), roles.c.labels.label("role_labels"), roles.c.description
    ).join(roles, roles.c.id == requestable_roles.c.role_id)


def _requestable(row: Any) -> Requestable:
    return Requestable(
        row.role_id, row.role_name, load_labels(row.role_labels), row.description, row.max_minutes,
        row.answer_within_minutes, as_utc(row.updated), row.updated_by,
    )  # fmt: skip


def requestable(connection: Connection) -> list[Requestable]:
    """Every requestable role, by name."""
    rows = connection.execute(_requestable_select().order_by(roles.c.name_lower, roles.c.id))
    return [_requestable(row) for row in rows]


def get_requestable(connection: Connection, role_id: str) -> Requestable | None:
    row = connection.execute(_requestable_select().where(requestable_roles.c.role_id == role_id)).first()
    return None if row is None else _requestable(row)


# ------------------------------------------------------------------------------------------ requests


def insert(
    connection: Connection,
    request_id: str,
    user_id: str,
    role_id: str,
    reason: str,
    minutes: int,
    now: datetime,
    answer_by: datetime,
) -> None:
    """A new pending request; another pending one of the user for the role raises :class:`Conflict`."""
    values = {
        "id": request_id, "user_id": user_id, "role_id": role_id, "reason": reason, "minutes": minutes,
        "status": PENDING, "created": now, "answer_by": answer_by,
    }  # fmt: skip
    pending = Conflict("You have asked for this role already: that request is still waiting for an answer.")
    with refused_as(connection, pending):
        connection.execute(access_requests.insert().values(values))


def _select() -> sa.Select[Any]:
    return sa.select(
        access_requests,
        users.c.user_name,
        roles.c.name.label("role_name"),
        roles.c.labels.label("role_labels"),
    ).select_from(
        access_requests.join(users, users.c.id == access_requests.c.user_id).join(
            roles, roles.c.id == access_requests.c.role_id
        )
    )


def _request(row: Any) -> AccessRequest:
    return AccessRequest(
        row.id, row.user_id, row.user_name, row.role_id, row.role_name, load_labels(row.role_labels), row.reason,
        row.minutes, row.status, as_utc(row.created), as_utc(row.answer_by), optional_utc(row.decided_at),
        row.decided_by, row.decided_by_id, row.note, optional_utc(row.granted_until),
    )  # fmt: skip


def get(connection: Connection, request_id: str) -> AccessRequest | None:
    row = connection.execute(_select().where(access_requests.c.id == request_id)).first()
    return None if row is None else _request(row)


def of_user(connection: Connection, user_id: str, limit: int = 50) -> list[AccessRequest]:
    """A user's requests, newest first."""
    statement = (
        _select()
        .where(access_requests.c.user_id == user_id)
        .order_by(access_requests.c.created.desc(), access_requests.c.id)
        .limit(limit)
    )
    return [_request(row) for row in connection.execute(statement)]


def listed(
    connection: Connection, statuses: Sequence[str], role_ids: Iterable[str] | None = None, limit: int = 200
) -> list[AccessRequest]:
    """Requests in these statuses (for these roles, if given): pending ones oldest first (the queue), the
    others newest first."""
    clauses = [access_requests.c.status.in_(list(statuses))]
    if role_ids is not None:
        clauses.append(access_requests.c.role_id.in_(list(role_ids)))
    order = access_requests.c.created if list(statuses) == [PENDING] else access_requests.c.created.desc()
    statement = _select().where(*clauses).order_by(order, access_requests.c.id).limit(limit)
    return [_request(row) for row in connection.execute(statement)]


def transition(
    connection: Connection,
    request_id: str,
    status: str,
    now: datetime,
    *,
    by: str | None = None,
    by_id: str | None = None,
    note: str | None = None,
    granted_until: datetime | None = None,
) -> bool:
    """Take a pending request to ``status`` (approved, denied, cancelled); ``False`` when it is no longer
    pending (decided, cancelled or expired by someone else first)."""
    result = connection.execute(
        access_requests.update()
        .where(access_requests.c.id == request_id, access_requests.c.status == PENDING)
        .values(
            status=status, decided_at=now, decided_by=by, decided_by_id=by_id, note=note, granted_until=granted_until
        )
    )
    return bool(result.rowcount)


def take_unanswered(connection: Connection, now: datetime, limit: int = 500) -> list[AccessRequest]:
    """Expire up to ``limit`` pending requests whose time to be answered is up; the ones this call expired."""
    due = connection.execute(
        _select()
        .where(access_requests.c.status == PENDING, access_requests.c.answer_by <= now)
        .order_by(access_requests.c.answer_by)
        .limit(limit)
    ).all()
    taken = []
    for row in due:
        if transition(connection, row.id, EXPIRED, now, by="Gatehouse"):
            taken.append(_request(row))
    return taken


# ------------------------------------------------------------------------------------------ grants by request


def held_for_a_while(connection: Connection, user_id: str, now: datetime) -> list[HeldForAWhile]:
    """The roles the user holds through approved requests now, soonest to end first."""
    rows = connection.execute(
        sa.select(user_roles, roles.c.name.label("role_name"))
        .join(roles, roles.c.id == user_roles.c.role_id)
        .where(
            user_roles.c.user_id == user_id,
            user_roles.c.source == REQUEST,
            user_roles.c.expires_at.is_not(None),
            unexpired(user_roles.c.expires_at, now),
        )
        .order_by(user_roles.c.expires_at, roles.c.name_lower)
    )
    return [
        HeldForAWhile(row.role_id, row.role_name, as_utc(row.granted_at), row.granted_by, as_utc(row.expires_at))
        for row in rows
    ]


def give_up(connection: Connection, user_id: str, role_id: str) -> bool:
    """End the user's grant of the role by request now; ``False`` if they held none."""
    result = connection.execute(
        user_roles.delete().where(
            user_roles.c.user_id == user_id, user_roles.c.role_id == role_id, user_roles.c.source == REQUEST
        )
    )
    return bool(result.rowcount)


def next_answer_due(connection: Connection, now: datetime) -> datetime | None:
    """When the next pending request runs out of time to be answered."""
    value = connection.execute(
        sa.select(sa.func.min(access_requests.c.answer_by)).where(
            access_requests.c.status == PENDING, access_requests.c.answer_by > now
        )
    ).scalar()
    return optional_utc(value)
