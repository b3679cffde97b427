"""Recent provisioning activity: what each SCIM request was, and why it failed, for the admin's eyes.

Organization → Settings shows the last SCIM requests (time, token name, method, path, status and the
SCIM error detail), so an admin can see why an IdP's "Test API Credentials" failed. Nothing secret is
kept: no bodies, no headers (so no ``Authorization``), no tokens; query parameters other than SCIM's
own (``filter``, ``count``…) are stored as ``name=…`` without their value.

The SCIM hot path pays for one tuple appended to an in-memory queue (:meth:`ActivityRecorder.record`,
a few microseconds): :class:`ActivityMiddleware` wraps the SCIM sub-application, takes the status
from ``http.response.start`` and the token name and error detail from the ASGI scope, where the SCIM
routes leave them (:data:`TOKEN_KEY`, :data:`ERROR_KEY`). A background task started with the app
(:meth:`ActivityRecorder.running`) writes the queue in batches — every second, or as soon as
:data:`BATCH_SIZE` records wait — each batch in its own transaction, so the records of failed
requests are kept although their own transaction rolled back. The same transaction trims the table
to the newest :data:`KEEP_ROWS` rows (by id). The queue is bounded: when it is full the oldest
record goes and a counter says how many went. A database error is logged and the batch retried on
the next tick; the app never stops because of it.

Each process flushes its own queue into the shared table.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import unquote_to_bytes

import anyio
from anyio import to_thread
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatehouse.network import client_ip
from gatehouse.store.database import Database
from gatehouse.store.scim_activity import KEEP_ROWS, write

log = logging.getLogger("gatehouse.scim.activity")

TOKEN_KEY = "gatehouse.scim.token"
"""ASGI scope key: the name of the token that authenticated the request (set by the SCIM routes)."""

ERROR_KEY = "gatehouse.scim.error"
"""ASGI scope key: the ``detail`` of the SCIM Error the request ended with (set by the error handlers)."""

QUEUE_LIMIT = 10_000
"""Records kept in memory at most; beyond that the oldest is dropped (and counted)."""

BATCH_SIZE = 200
"""Records that wake the flusher before its next tick."""

FLUSH_INTERVAL = 1.0
"""Seconds between two flushes when little happens."""

SCIM_PARAMETERS = frozenset(
    name.lower()
    for name in ("filter", "attributes", "excludedAttributes", "startIndex", "count", "sortBy", "sortOrder", "cursor")
)
"""Query parameters whose values are kept (RFC 7644 §3.4.2); any other keeps only its name."""

MAX_PATH = 500
MAX_QUERY = 200
MAX_DETAIL = 500
MAX_IP = 64

# What the hot path appends, raw; formatting waits for the flush:
# (time, method, path, query string, status, token name, error detail, peer address, X-Forwarded-For).
Record = tuple[float, str, str, bytes, int, str | None, str | None, str | None, bytes | None]


class ActivityRecorder:
    """The bounded in-memory queue of one process, and its flusher."""

    def __init__(
        self,
        *,
        limit: int = QUEUE_LIMIT,
        batch_size: int = BATCH_SIZE,
        interval: float = FLUSH_INTERVAL,
        keep: int = KEEP_ROWS,
        trusted_proxies: Sequence[str] = (),
    ) -> None:
        self._queue: deque[Record] = deque(maxlen=limit)
        self._limit = limit
        self._batch_size = batch_size
        self._interval = interval
        self._keep = keep
        self._trusted_proxies = tuple(trusted_proxies)
        self._wake: anyio.Event | None = None
        self._retry: list[Record] = []
        self._flush_lock = threading.Lock()
        self._dropped_full = 0
        self._dropped_failed = 0
        # Records not written because newer ones filled the table's KEEP_ROWS in the same flush.
        self.superseded = 0

    # -- the hot path ---------------------------------------------------------------------------------

    def record(self, scope: Scope, started: float, status: int) -> None:
        """Queue one finished request (runs on the event loop: a tuple append, nothing more)."""
        queue = self._queue
        if len(queue) == self._limit:
            self._dropped_full += 1
        forwarded = None
        if self._trusted_proxies:
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    forwarded = value if forwarded is None else forwarded + b", " + value
        client = scope.get("client")
        queue.append(
            (
                started,
                scope["method"],
                scope["path"],
                scope["query_string"],
                status,
                scope.get(TOKEN_KEY),
                scope.get(ERROR_KEY),
                client[0] if client else None,
                forwarded,
            )
        )
        if len(queue) >= self._batch_size and self._wake is not None:
            self._wake.set()

    # -- what the page and the tests see --------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Records waiting to be written."""
        return len(self._queue) + len(self._retry)

    @property
    def dropped(self) -> int:
        """Records lost since start: the queue was full (say, while the database was unreachable)."""
        return self._dropped_full + self._dropped_failed

    # -- writing --------------------------------------------------------------------------------------

    def flush(self, db: Database) -> int:
        """Write what is queued in one transaction, with the trim; the number of rows written.

        Blocking (run it in a worker thread). At most the newest :data:`KEEP_ROWS` records are
        written: older ones would be trimmed by the same transaction (they count as superseded). A
        database error is logged and the batch kept for the next flush; it is never raised.
        """
        with self._flush_lock:
            batch = self._retry
            self._retry = []
            queue = self._queue
            for _ in range(len(queue)):  # the event loop only appends meanwhile: never runs dry
                batch.append(queue.popleft())
            if len(batch) > self._keep:
                self.superseded += len(batch) - self._keep
                batch = batch[-self._keep :]
            if not batch:
                return 0
            try:
                rows = [self._row(record) for record in batch]
            except Exception:  # a bug, not the database: retrying would not help
                log.exception("Could not format %d SCIM activity records; they are dropped", len(batch))
                self._dropped_failed += len(batch)
                return 0
            try:
                with db.transaction() as connection:
                    write(connection, rows, self._keep)
            except Exception:
                log.warning("Could not write %d SCIM activity records; retrying later", len(batch), exc_info=True)
                self._retry = batch
                return 0
            return len(batch)

    async def flush_async(self, db: Database) -> int:
        """:meth:`flush` in a worker thread."""
        if not self.pending:
            return 0
        return await to_thread.run_sync(self.flush, db)

    async def _run(self, db: Database) -> None:
        while True:
            self._wake = anyio.Event()
            if len(self._queue) < self._batch_size:
                with anyio.move_on_after(self._interval):
                    await self._wake.wait()
            try:
                await self.flush_async(db)
            except Exception:  # flush never raises; this guards the loop against the unforeseen
                log.exception("The SCIM activity flusher failed; it carries on")

    @asynccontextmanager
    async def running(self, db: Database) -> AsyncIterator[None]:
        """Run the flusher while the block runs (the app's lifespan); flush what is left at the end."""
        failure: Exception | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(self._run, db)
            try:
                yield
            except Exception as exc:  # raised again below, not wrapped in the task group's ExceptionGroup
                failure = exc
            finally:
                group.cancel_scope.cancel()
        self._wake = None
        with anyio.CancelScope(shield=True):
            await to_thread.run_sync(self.flush, db)
        if failure is not None:
            raise failure

    def _row(self, record: Record) -> dict[str, object]:
        started, method, path, query, status, token_name, detail, peer, forwarded = record
        return {
            "at": datetime.fromtimestamp(started, UTC),
            "token_name": token_name[:100] if token_name else None,
            "method": method[:10],
            "path": shown_path(path, query),
            "status": status,
            "detail": _cut(detail, MAX_DETAIL) if detail else None,
            "ip": self._ip(peer, forwarded),
        }

    def _ip(self, peer: str | None, forwarded: bytes | None) -> str | None:
        if peer is None or forwarded is None:
            return peer[:MAX_IP] if peer else None
        scope = {"type": "http", "client": (peer, 0), "headers": [(b"x-forwarded-for", forwarded)]}
        found = client_ip(Request(scope), self._trusted_proxies)
        return found[:MAX_IP] if found else None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_path(path: str, query: bytes) -> str:
    """The path as stored: SCIM's own query parameters with their values, any other by name only."""
    if not query:
        return _cut(path, MAX_PATH)
    parts = []
    for pair in query.split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        key = _unquote(name)
        parts.append(f"{key}={_unquote(value)}" if key.lower() in SCIM_PARAMETERS else f"{key}=…")
    shown = _cut("&".join(parts), MAX_QUERY) if parts else ""
    return _cut(f"{path}?{shown}" if shown else path, MAX_PATH)


def _unquote(raw: bytes) -> str:
    if b"%" in raw or b"+" in raw:
        raw = unquote_to_bytes(raw.replace(b"+", b" "))
    return raw.decode("utf-8", "replace")


# -- the middleware -----------------------------------------------------------------------------------


class ActivityMiddleware:
    """Pure ASGI middleware around the SCIM sub-application: one record per HTTP request."""

    def __init__(self, app: ASGIApp, recorder: ActivityRecorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.time()
        status = 500  # if the app fails before it answers

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self.recorder.record(scope, started, status)
