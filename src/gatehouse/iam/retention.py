"""The audit log's retention: a background task that purges records older than the retention period.

Every process runs it (the purge is idempotent and batched, so several replicas purging at once only
delete the same old rows once); it runs at start-up and then every ``interval``. A database error is
logged and retried at the next run: the app never stops because of it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio

from gatehouse.iam.audit import purge_expired
from gatehouse.store.database import Database

log = logging.getLogger("gatehouse.audit")


@asynccontextmanager
async def purging(db: Database, retention: timedelta, interval: float) -> AsyncIterator[None]:
    """Run the purge in the background while the block runs."""

    async def loop() -> None:
        while True:
            try:
                gone = await purge_expired(db, retention)
                if gone:
                    log.info("audit log: purged %d record(s) older than %s", gone, retention)
            except Exception:
                log.exception("audit log purge failed; retrying at the next run")
            await anyio.sleep(interval)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(loop)
        try:
            yield
        finally:
            tasks.cancel_scope.cancel()
