"""The deliverer: in every process, a background task that delivers the audit outbox to the sinks.

A turn (:meth:`Deliverer.run_once`): read whether a sink has records waiting and may be delivered; if so, claim
the leases of the due sinks (:func:`gatehouse.store.audit_sinks.claim_due`: one process per sink, so its records
go out in order), and for each claimed sink send its oldest waiting records, a batch at a time, through its
transport (:mod:`gatehouse.streaming.transports`). After each batch, in one transaction, the delivered rows are
deleted and the sink's state moves (count, last sequence delivered, lease renewed). A record is deleted only
after its delivery, so a crash, a restart or a lost lease can only send it again: **at least once, never
lost, in order per sink**; receivers de-duplicate by the record's ``id``.

When a sink fails, the failure is recorded (the error, when, how many in a row) and the sink waits before the
next attempt: 1 s, then twice as long each time, up to ``GATEHOUSE_AUDIT_STREAM_MAX_BACKOFF_SECONDS``, with
±20 % jitter so that replicas do not retry in step. The records stay in the outbox meanwhile.
"""

from __future__ import annotations

import logging
import os
import random
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from gatehouse.iam.audit_sinks import secret_of
from gatehouse.iam.background import repeating
from gatehouse.secrets_box import LazySecretBox, SecretBox, SecretBoxError
from gatehouse.store import audit_outbox as outbox
from gatehouse.store import audit_sinks as sinks
from gatehouse.store.audit_sinks import Sink
from gatehouse.store.database import Connection, Database
from gatehouse.store.records import utcnow
from gatehouse.streaming.transports import DeliveryFailed, JsonLines, Syslog, Transport, Webhook

log = logging.getLogger("gatehouse.streaming")

BATCH: Final = 100


def backoff(failures: int, most: float) -> float:
    """Seconds to wait after ``failures`` failures in a row (see the module)."""
    base = min(most, 2.0 ** max(failures - 1, 0))
    return base * random.uniform(0.8, 1.2)


class Deliverer:
    """Delivers every sink's outbox (see the module); one per process."""

    def __init__(
        self,
        db: Database,
        secrets: LazySecretBox,
        file_dir: Path,
        *,
        deny_private: bool = False,
        max_backoff: float = 300.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.db = db
        self.secrets = secrets
        self.file_dir = file_dir
        self.deny_private = deny_private
        self.max_backoff = max_backoff
        self.environ = os.environ if environ is None else environ
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._transports: dict[str, tuple[int, Transport]] = {}

    def _box(self, sink: Sink) -> SecretBox | None:
        return self.secrets() if sink.secret_encrypted else None

    def _transport(self, sink: Sink) -> Transport:
        known = self._transports.get(sink.id)
        if known is not None and known[0] == sink.version:
            return known[1]
        if known is not None:
            known[1].close()
        transport: Transport
        if sink.kind == "webhook":
            key = secret_of(sink, self._box(sink), self.environ)
            transport = Webhook(sink.settings, key, deny_private=self.deny_private)
        elif sink.kind == "syslog":
            transport = Syslog(sink.settings)
        else:
            transport = JsonLines(sink.settings, self.file_dir)
        self._transports[sink.id] = (sink.version, transport)
        return transport

    def _forget(self, sink_id: str) -> None:
        known = self._transports.pop(sink_id, None)
        if known is not None:
            known[1].close()

    async def run_once(self) -> int:
        """One turn (see the module); how many records were delivered."""
        now = utcnow()
        if not await self.db.read(lambda c: sinks.any_due(c, self.owner, now)):
            return 0
        claimed = await self.db.write(lambda c: sinks.claim_due(c, self.owner, now))
        delivered = 0
        for sink in claimed:
            delivered += await self._deliver(sink)
        return delivered

    async def _deliver(self, sink: Sink) -> int:
        delivered = 0
        while True:
            batch = await self.db.read(lambda c: outbox.pending(c, sink.id, BATCH))
            if not batch:
                await self.db.write(lambda c: sinks.release(c, sink.id, self.owner))
                return delivered
            try:
                await self._transport(sink).send(batch)
                done, error = len(batch), None
            except DeliveryFailed as failure:
                done, error = failure.delivered, failure.reason
            except SecretBoxError as exc:
                done, error = 0, exc.detail
            if done:
                last, count = batch[done - 1], done
                kept = await self.db.write(
                    lambda c, last=last, count=count: self._record(c, sink.id, last.id, count, last.sequence)  # type: ignore[misc]
                )
                delivered += done
                if not kept:
                    log.warning("lost the lease of sink %s; another process goes on", sink.name)
                    return delivered
            if error is not None:
                await self._failed(sink, error)
                return delivered

    def _record(self, connection: Connection, sink_id: str, upto: int, count: int, sequence: int) -> bool:
        now = utcnow()
        outbox.remove_delivered(connection, sink_id, upto)
        moved = sinks.delivered(connection, sink_id, self.owner, count, sequence, now)
        return moved and sinks.renew(connection, sink_id, self.owner, now)

    async def _failed(self, sink: Sink, error: str) -> None:
        self._forget(sink.id)
        now = utcnow()
        wait = backoff(sink.failures + 1, self.max_backoff)
        retry: datetime = now + timedelta(seconds=wait)
        log.warning("audit sink %s: delivery failed (%s); next attempt in %.1f s", sink.name, error, wait)
        await self.db.write(lambda c: sinks.failed(c, sink.id, self.owner, error, now, retry))

    def close(self) -> None:
        for sink_id in list(self._transports):
            self._forget(sink_id)


@asynccontextmanager
async def delivering(deliverer: Deliverer, poll: float) -> AsyncIterator[None]:
    """Run the deliverer in the background while the block runs: a turn, then another at once while there was
    something to deliver, else after ``poll`` seconds. An error is logged and the next turn tries again."""

    async def turn() -> float:
        return 0 if await deliverer.run_once() else poll

    async with repeating(turn, poll, log, "audit streaming: a delivery turn failed; trying again"):
        try:
            yield
        finally:
            deliverer.close()
