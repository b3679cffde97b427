"""Housekeeping: a background task that purges audit records older than the retention period, SSO
sign-ins abandoned in flight (:mod:`gatehouse.store.sso_states`), consumed SAML assertions that have expired
(:mod:`gatehouse.store.saml_assertions`) and dashboard sessions that have expired
(lookups ignore them already; this keeps the tables small).

Every process runs it (the purge is idempotent and batched, so several replicas purging at once only
delete the same old rows once); it runs at start-up and then every ``interval``. A database error is
logged and retried at the next run: the app never stops because of it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from gatehouse.iam.audit import purge_expired
from gatehouse.iam.background import repeating
from gatehouse.store import saml_assertions, sessions, sso_states
from gatehouse.store.database import Database
from gatehouse.store.records import utcnow

log = logging.getLogger("gatehouse.audit")


async def purge_stale(db: Database, idle: timedelta) -> tuple[int, int]:
    """Delete expired sign-in states and expired or idle sessions; returns how many of each."""
    now = utcnow()
    states = await db.write(lambda c: sso_states.purge_expired(c, now) + saml_assertions.purge_expired(c, now))
    ended = await db.write(lambda c: sessions.purge(c, now, idle))
    return states, ended


@asynccontextmanager
async def purging(
    db: Database, retention: timedelta, interval: float, idle: timedelta | None = None
) -> AsyncIterator[None]:
    """Run the purges in the background while the block runs (sessions too when ``idle`` is given)."""

    async def turn() -> float:
        gone = await purge_expired(db, retention)
        if gone:
            log.info("audit log: purged %d record(s) older than %s", gone, retention)
        if idle is not None:
            states, ended = await purge_stale(db, idle)
            if states or ended:
                log.info("purged %d abandoned SSO sign-in(s) and %d expired session(s)", states, ended)
        return interval

    async with repeating(turn, interval, log, "purge failed; retrying at the next run"):
        yield
