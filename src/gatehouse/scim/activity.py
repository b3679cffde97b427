"""The provisioning log: what each SCIM request was, and why it failed, for the admin's eyes.

Organization → Settings → Provisioning activity (and ``GET /api/scim/activity``, ``gatehouse scim activity``)
shows the SCIM requests: time, token name, method, path, resource (``Users``, ``Groups``, ``discovery``,
``other``), status, the SCIM error detail, client IP and the IdP's User-Agent, so an admin can see why an IdP's
"Test API Credentials" failed. For a failed request (status 400 and above) the request body (as far as the SCIM
app read it: a request refused before, say for its token, has none) and the response body are kept too, with
every secret redacted and capped (:mod:`gatehouse.scim.activity_bodies`). Never kept: headers other than
User-Agent (so no ``Authorization``), tokens, passwords, the bodies of successful requests; query parameters
other than SCIM's own (``filter``, ``count``…) are stored as ``name=…`` without their value.

The SCIM hot path pays for one tuple appended to an in-memory queue (:meth:`ActivityRecorder.record`,
a few microseconds): :class:`ActivityMiddleware` wraps the SCIM sub-application, takes the status
from ``http.response.start`` and the token name and error detail from the ASGI scope, where the SCIM
routes leave them (:data:`TOKEN_KEY`, :data:`ERROR_KEY`); it wraps ``receive`` and ``send`` only to keep
references to the body chunks, up to :data:`~gatehouse.scim.activity_bodies.CAPTURE_LIMIT` bytes each, and
hands them on with the record only when the request failed (and while the bodies queued since the last flush
stay under :data:`BODY_BUDGET` bytes; a batch the database refused keeps its bodies within that budget too).
Decoding, redacting and capping wait for the flush.
A background task started with the app (:meth:`ActivityRecorder.running`) writes the queue in batches —
every second, or as soon as :data:`BATCH_SIZE` records wait — each batch in its own transaction, so the
records of failed requests are kept although their own transaction rolled back. The same transaction
trims the table to its retention: the newest ``keep`` rows (by id) and none older than ``keep_days``
(``GATEHOUSE_SCIM_ACTIVITY_KEEP_ROWS``, ``GATEHOUSE_SCIM_ACTIVITY_KEEP_DAYS``). The queue is bounded: when
it is full the oldest record goes and a counter says how many went. A database error is logged and the
batch retried on the next tick; the app never stops because of it.

**Counted reads.** Past :data:`READS_PER_SECOND` successful reads (``GET`` or ``HEAD`` answered below 400) of one
token in one second, the process counts the token's further successful reads of that second instead of queueing
them: one row per token, resource and status stands for them all (its ``repeats``; the hourly chart adds them up),
written with the next flush. Every failed request and every write (``POST``, ``PUT``, ``PATCH``, ``DELETE``) is
still listed one by one. An identity provider's import or a load test sends thousands of successful reads a
second; listing each would push the failures and changes an admin opens the log for out of its retention
(10,000 rows) within seconds, and writing them cost a read 16 % of its throughput (``bench/README.md``).
``GATEHOUSE_SCIM_ACTIVITY_READS_PER_SECOND=0`` lists every read.

Each process flushes its own queue into the shared table.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_to_bytes

import anyio
from anyio import to_thread
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatehouse.network import client_ip
from gatehouse.scim.activity_bodies import CAPTURE_LIMIT, stored_body
from gatehouse.store.database import Database
from gatehouse.store.scim_activity import KEEP_DAYS, KEEP_ROWS, Prepared, prepare, write_prepared

log = logging.getLogger("gatehouse.scim.activity")

TOKEN_KEY = "gatehouse.scim.token"
"""ASGI scope key: the name of the token that authenticated the request (set by the SCIM routes)."""

ERROR_KEY = "gatehouse.scim.error"
"""ASGI scope key: the ``detail`` of the SCIM Error the request ended with (set by the error handlers)."""

QUEUE_LIMIT = 10_000
"""Records kept in memory at most; beyond that the oldest is dropped (and counted)."""

BATCH_SIZE = 1000
"""Records that wake the flusher before its next tick. A flush costs a transaction and the trim's two deletes
besides its rows: at several thousand SCIM requests a second, batches of 1,000 rather than 200 gave
``GET /Users/{id}`` about 5 % more (``bench/scim_bench.py``)."""

FLUSH_INTERVAL = 1.0
"""Seconds between two flushes when little happens."""

CHUNK = 64
"""Records a flush prepares before it gives the event loop the interpreter (:meth:`ActivityRecorder._prepared`)."""

READS_PER_SECOND = 20
"""Successful reads of one token listed one by one each second in one process; the rest of that second's are
counted (``GATEHOUSE_SCIM_ACTIVITY_READS_PER_SECOND``; 0 lists all). An IdP's steady traffic stays far below it
(Okta's own rate limit for an app is 600 requests a minute)."""

READ_METHODS = frozenset({"GET", "HEAD"})

SCIM_PARAMETERS = frozenset(
    name.lower()
    for name in ("filter", "attributes", "excludedAttributes", "startIndex", "count", "sortBy", "sortOrder", "cursor")
)
"""Query parameters whose values are kept (RFC 7644 §3.4.2); any other keeps only its name."""

BODY_BUDGET = 16 * 1024 * 1024
"""Bytes of bodies the queue holds at most; past it, failed requests are recorded without their bodies."""

MAX_PATH = 500
MAX_QUERY = 200
MAX_DETAIL = 500
MAX_IP = 64
MAX_USER_AGENT = 300

SCIM_PREFIX = "/scim/v2"
DISCOVERY = frozenset({"serviceproviderconfig", "serviceproviderconfigs", "schemas", "resourcetypes"})

# The bodies of a failed request, raw: (request chunks, request size, response chunks, response size).
Bodies = tuple[list[bytes], int, list[bytes], int]

# What the hot path appends, raw; formatting waits for the flush: (time, method, path, query string, status,
# token name, error detail, peer address, X-Forwarded-For, User-Agent, requests the record stands for, bodies of
# a failed request).
Record = tuple[
    float, str, str, bytes, int, str | None, str | None, str | None, bytes | None, bytes | None, int, Bodies | None
]


@dataclass(slots=True)
class _Counted:
    """Successful reads of one token, resource and status counted since the last :meth:`ActivityRecorder.settle`,
    and the last one's scope and time (read for its client when settled, not on the hot path)."""

    repeats: int
    scope: Scope
    last: float


class ActivityRecorder:
    """The bounded in-memory queue of one process, and its flusher."""

    def __init__(
        self,
        *,
        limit: int = QUEUE_LIMIT,
        batch_size: int = BATCH_SIZE,
        interval: float = FLUSH_INTERVAL,
        keep: int = KEEP_ROWS,
        keep_days: int = KEEP_DAYS,
        trusted_proxies: Sequence[str] = (),
        reads_per_second: int = READS_PER_SECOND,
    ) -> None:
        self._queue: deque[Record] = deque(maxlen=limit)
        self._reads_per_second = reads_per_second
        self._second = 0  # the second the budgets below are for
        self._listed: dict[str | None, int] = {}  # successful reads listed this second, by token name
        self._counted: dict[tuple[str | None, str, int], _Counted] = {}
        self._limit = limit
        self._batch_size = batch_size
        self._interval = interval
        self._keep = keep
        self._keep_days = keep_days
        # Bytes of bodies queued since the last flush took the queue (a soft bound: the flush resets it).
        self._body_bytes = 0
        self._trusted_proxies = tuple(trusted_proxies)
        self._wake: anyio.Event | None = None
        self._retry: list[Record] = []
        self._flush_lock = threading.Lock()
        self._dropped_full = 0
        self._dropped_failed = 0
        # Records not written because newer ones filled the table's KEEP_ROWS in the same flush.
        self.superseded = 0

    # -- the hot path ---------------------------------------------------------------------------------

    def record(self, scope: Scope, started: float, status: int, bodies: Bodies | None = None) -> None:
        """Queue one finished request (runs on the event loop: a tuple append, nothing more), or count it with
        its second's other reads past the token's budget; ``bodies`` are kept for a failed request only."""
        if status < 400 and self._reads_per_second and scope["method"] in READ_METHODS:
            second = int(started)
            if second != self._second:
                self.settle()
                self._second, self._listed = second, {}
            token = scope.get(TOKEN_KEY)
            listed = self._listed.get(token, 0)
            if listed >= self._reads_per_second:
                self._count(scope, token, started, status)
                return
            self._listed[token] = listed + 1
        queue = self._queue
        if len(queue) == self._limit:
            self._dropped_full += 1
        agent, forwarded = self._client_headers(scope)
        if bodies is not None:
            size = _size(bodies)
            if status < 400 or self._body_bytes + size > BODY_BUDGET:
                bodies = None
            else:
                self._body_bytes += size
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
                agent,
                1,
                bodies,
            )
        )
        if len(queue) >= self._batch_size and self._wake is not None:
            self._wake.set()

    def _client_headers(self, scope: Scope) -> tuple[bytes | None, bytes | None]:
        """The request's User-Agent, and its X-Forwarded-For when a proxy is trusted."""
        agent = forwarded = None
        for name, value in scope["headers"]:
            if name == b"user-agent":
                agent = value
            elif name == b"x-forwarded-for" and self._trusted_proxies:
                forwarded = value if forwarded is None else forwarded + b", " + value
        return agent, forwarded

    def _count(self, scope: Scope, token: str | None, started: float, status: int) -> None:
        """One more successful read of ``token`` past its budget this second, counted; the row will keep the last
        one's time and client."""
        key = (token, resource_of(scope["path"]), status)
        counted = self._counted.get(key)
        if counted is None:
            self._counted[key] = _Counted(1, scope, started)
        else:
            counted.repeats += 1
            counted.scope, counted.last = scope, started

    def settle(self) -> None:
        """Queue one record for each count of reads since the last call (the counting goes on). Runs on the event
        loop, like :meth:`record`: the flusher calls it there before each flush, and the first read of a new
        second does."""
        if not self._counted:
            return
        counted, self._counted = self._counted, {}
        queue = self._queue
        for (token, resource, status), read in counted.items():
            if len(queue) == self._limit:
                self._dropped_full += 1
            agent, forwarded = self._client_headers(read.scope)
            client = read.scope.get("client")
            path = f"{SCIM_PREFIX}/{resource}" if resource in ("Users", "Groups") else SCIM_PREFIX
            queue.append(
                (read.last, read.scope["method"], path, b"", status, token, None, client[0] if client else None,
                 forwarded, agent, read.repeats, None)
            )  # fmt: skip
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

        Blocking (run it in a worker thread). At most the newest ``keep`` records are written: older
        ones would be trimmed by the same transaction (they count as superseded). A
        database error is logged and the batch kept for the next flush; it is never raised. Reads counted
        since the last :meth:`settle` wait for the next one (:meth:`flush_async` settles first).
        """
        with self._flush_lock:
            batch = self._retry
            self._retry = []
            queue = self._queue
            for _ in range(len(queue)):  # the event loop only appends meanwhile: never runs dry
                batch.append(queue.popleft())
            self._body_bytes = 0
            if len(batch) > self._keep:
                self.superseded += len(batch) - self._keep
                batch = batch[-self._keep :]
            if not batch:
                return 0
            try:  # everything but the statements before the transaction, which holds SQLite's writer lock
                rows = self._prepared(db.dialect, batch)
            except Exception:  # a bug, not the database: retrying would not help
                log.exception("Could not format %d SCIM activity records; they are dropped", len(batch))
                self._dropped_failed += len(batch)
                return 0
            try:
                with db.transaction() as connection:
                    write_prepared(connection, rows, self._keep, self._keep_days)
            except Exception:
                log.warning("Could not write %d SCIM activity records; retrying later", len(batch), exc_info=True)
                if sum(_size(r[-1]) for r in batch if r[-1] is not None) > BODY_BUDGET:
                    batch = [(*r[:-1], None) for r in batch]  # the records wait, not their bodies
                self._retry = batch
                return 0
            return len(batch)

    def _prepared(self, dialect: str, batch: list[Record]) -> Prepared:
        """The batch's rows as the insert binds them, :data:`CHUNK` records at a time, the interpreter given back
        to the event loop between chunks (``time.sleep(0)``): a batch of 1,000 is about 5 ms of Python, which
        the loop would otherwise wait out, every request with it, until the interpreter's switch interval."""
        rows: Prepared = []
        for start in range(0, len(batch), CHUNK):
            if start:
                time.sleep(0)
            rows += prepare(dialect, [self._row(record) for record in batch[start : start + CHUNK]])
        return rows

    async def flush_async(self, db: Database) -> int:
        """:meth:`settle`, then :meth:`flush` in a worker thread."""
        self.settle()
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
        self.settle()
        with anyio.CancelScope(shield=True):
            await to_thread.run_sync(self.flush, db)
        if failure is not None:
            raise failure

    def _row(self, record: Record) -> dict[str, object]:
        started, method, path, query, status, token_name, detail, peer, forwarded, agent, repeats, bodies = record
        request_body = response_body = None
        if bodies is not None:
            request_body, response_body = stored_body(bodies[0], bodies[1]), stored_body(bodies[2], bodies[3])
        return {
            "at": datetime.fromtimestamp(started, UTC),
            "token_name": token_name[:100] if token_name else None,
            "method": method[:10],
            "path": shown_path(path, query),
            "resource": resource_of(path),
            "status": status,
            "detail": _cut(detail, MAX_DETAIL) if detail else None,
            "ip": self._ip(peer, forwarded),
            "user_agent": _cut(agent.decode("latin-1"), MAX_USER_AGENT) if agent else None,
            "request_body": request_body,
            "response_body": response_body,
            "repeats": repeats,
        }

    def _ip(self, peer: str | None, forwarded: bytes | None) -> str | None:
        if peer is None or forwarded is None:
            return peer[:MAX_IP] if peer else None
        scope = {"type": "http", "client": (peer, 0), "headers": [(b"x-forwarded-for", forwarded)]}
        found = client_ip(Request(scope), self._trusted_proxies)
        return found[:MAX_IP] if found else None


def _size(bodies: Bodies) -> int:
    return min(bodies[1], CAPTURE_LIMIT) + min(bodies[3], CAPTURE_LIMIT)


def resource_of(path: str) -> str:
    """What a request was about, from its path: ``Users``, ``Groups``, ``discovery`` (ServiceProviderConfig,
    Schemas, ResourceTypes) or ``other``."""
    rest = path[len(SCIM_PREFIX) :] if path.startswith(SCIM_PREFIX) else path
    first = rest.lstrip("/").split("/", 1)[0].lower()
    if first == "users":
        return "Users"
    if first == "groups":
        return "Groups"
    return "discovery" if first in DISCOVERY else "other"


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
        received: list[bytes] = []
        sent: list[bytes] = []
        sizes = [0, 0]  # bytes received, sent

        async def tap() -> Message:
            message = await receive()
            body = message.get("body")
            if body:
                kept = sizes[0]
                if kept < CAPTURE_LIMIT:  # a reference, or a slice of what fits
                    received.append(body if kept + len(body) <= CAPTURE_LIMIT else body[: CAPTURE_LIMIT - kept])
                sizes[0] = kept + len(body)
            return message

        async def capture(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
            elif kind == "http.response.body":
                body = message.get("body")
                if body:
                    kept = sizes[1]
                    if kept < CAPTURE_LIMIT:
                        sent.append(body if kept + len(body) <= CAPTURE_LIMIT else body[: CAPTURE_LIMIT - kept])
                    sizes[1] = kept + len(body)
            await send(message)

        try:
            await self.app(scope, tap, capture)
        finally:
            bodies = (received, sizes[0], sent, sizes[1]) if status >= 400 else None
            self.recorder.record(scope, started, status, bodies)
