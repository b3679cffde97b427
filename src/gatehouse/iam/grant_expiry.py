"""The end of time-bound access, in the audit log: every grant of a role, group binding and unanswered access
request whose time is up gets exactly one record (``iam:GrantExpired``, ``iam:AccessRequestExpired``).

Expiry itself needs nothing from here: every read of grants leaves out the rows whose ``expires_at`` has passed
(:mod:`gatehouse.store.holdings`), so a grant stops counting at that instant, in every process. This module
*settles* what has expired: in one transaction it deletes the expired rows (each by a ``DELETE`` that names its
key and ``expires_at <= now``, so that of two processes settling at once only one deletes a given row) and
writes one audit record per row it deleted. The record commits with the deletion or not at all, so an expiry
can be neither recorded twice (its row is gone once recorded) nor lost (its row stays until recorded). A record
carries the moment the grant ended as its time (``occurred_at``), whenever it is settled.

Settling runs in every process (:func:`settling`): right after start-up, then at the next expiry (read from
the database) or every ``interval`` seconds, whichever is sooner; the use cases that show or change access
(a user's access page, approving, reviewing) settle first too, so what they show is never stale.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from gatehouse.iam.audit import Change, Origin, record
from gatehouse.iam.background import repeating
from gatehouse.store import access_requests as request_store
from gatehouse.store import grants as grant_store
from gatehouse.store.access_requests import AccessRequest
from gatehouse.store.database import Connection, Database
from gatehouse.store.grants import ExpiredGrant
from gatehouse.store.records import utcnow

log = logging.getLogger("gatehouse.audit")

SYSTEM: Final = Origin("system", "Gatehouse")
GRANT_EXPIRED: Final = "iam:GrantExpired"
REQUEST_EXPIRED: Final = "iam:AccessRequestExpired"
MIN_SLEEP: Final = 0.2


@dataclass(frozen=True, slots=True)
class Settled:
    """What one settling took away."""

    grants: list[ExpiredGrant] = field(default_factory=list)
    bindings: list[ExpiredGrant] = field(default_factory=list)
    requests: list[AccessRequest] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.grants) + len(self.bindings) + len(self.requests)


def grant_change(grant: ExpiredGrant) -> Change:
    """The audit record of an expired grant or binding."""
    summary = {
        "role_id": grant.role_id,
        "role": grant.role_name,
        "expired_at": grant.expires_at.isoformat(),
        "granted_by": grant.granted_by,
    }
    if grant.group_id is not None:
        return Change(GRANT_EXPIRED, "group", grant.group_id, {**summary, "group": grant.group_name})
    return Change(GRANT_EXPIRED, "user", grant.user_id, {**summary, "user": grant.user_name, "source": grant.source})


def request_change(request: AccessRequest) -> Change:
    """The audit record of a request that expired unanswered."""
    return Change(
        REQUEST_EXPIRED,
        "access_request",
        request.id,
        {"user": request.user_name, "user_id": request.user_id, "role": request.role_name, "role_id": request.role_id},
    )


def settle(connection: Connection, now: datetime | None = None) -> Settled:
    """Take away what has expired at ``now`` and record each in the audit log, in the caller's transaction."""
    now = now or utcnow()
    done = Settled(
        grant_store.take_expired_grants(connection, now),
        grant_store.take_expired_bindings(connection, now),
        request_store.take_unanswered(connection, now),
    )
    for grant in (*done.grants, *done.bindings):
        record(connection, SYSTEM, grant_change(grant), now=grant.expires_at)
    for request in done.requests:
        record(connection, SYSTEM, request_change(request), now=request.answer_by)
    return done


async def settle_all(db: Database) -> int:
    """Settle batch by batch until nothing is left; how many grants and requests were settled."""
    total = 0
    while True:
        done = await db.write(settle)
        total += len(done)
        if len(done) < grant_store.SETTLE_BATCH:
            return total


async def _pause(db: Database, interval: float) -> float:
    """How long to wait: until the next expiry, at most ``interval``."""
    now = utcnow()
    due = await db.read(lambda c: (grant_store.next_expiry(c, now), request_store.next_answer_due(c, now)))
    times = [moment for moment in due if moment is not None]
    if not times:
        return interval
    soonest = min(times)
    return max(MIN_SLEEP, min(interval, (soonest - now).total_seconds() + 0.05))


@asynccontextmanager
async def settling(db: Database, interval: float) -> AsyncIterator[None]:
    """Settle expired grants and requests in the background while the block runs (see the module). A database
    error is logged and retried at the next turn."""

    async def turn() -> float:
        settled = await settle_all(db)
        if settled:
            log.info("recorded the end of %d time-bound grant(s) or request(s)", settled)
        return await _pause(db, interval)

    async with repeating(turn, interval, log, "settling expired grants failed; retrying at the next turn"):
        yield
