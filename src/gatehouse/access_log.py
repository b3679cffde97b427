"""The access log: one JSON line per request on standard error, cheap enough to leave on in production.

uvicorn's own access log formats a text line and writes it to the stream on the event loop, inside the request's
time: on a small machine it costs a large share of a fast endpoint's throughput. Here the request path pays for
one tuple put on a queue (:meth:`AccessLog.__call__`); a writer thread turns the tuples into JSON lines and
writes them in batches. Each line::

    {"time": "2026-12-06T01:02:03.456Z", "client": "127.0.0.1", "method": "GET", "path": "/scim/v2/Users/…",
     "status": 200, "duration_ms": 1.42}

What is left out, on purpose: the query string (it can carry an authorization ``code`` on an SSO callback, or a
SCIM ``filter`` naming a person), every header (so no ``Authorization`` or cookie) and bodies. The provisioning
log (:mod:`gatehouse.scim.activity`) keeps SCIM's own query parameters for the admin's eyes.

When the stream cannot keep up, the queue is bounded (:data:`QUEUE_LIMIT`): further lines are dropped and
counted, and the writer says how many when it catches up, rather than letting memory grow or a request wait.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Final, TextIO

import orjson
from starlette.types import ASGIApp, Scope

from gatehouse.response_status import AfterEachRequest

QUEUE_LIMIT: Final = 100_000
"""Lines waiting for the writer at most; more are dropped and counted."""

Line = tuple[float, str | None, str, str, int, float]
"""(time, client address, method, path, status, duration in seconds): what a request leaves for the writer."""


def render(line: Line) -> bytes:
    """One JSON line (with its newline)."""
    at, client, method, path, status, duration = line
    stamp = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    document = {
        "time": stamp,
        "client": client,
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(duration * 1000, 2),
    }
    return orjson.dumps(document) + b"\n"


class AccessLog(AfterEachRequest):
    """ASGI middleware: queues one line per HTTP request; a daemon thread writes them to ``stream``."""

    def __init__(self, app: ASGIApp, stream: TextIO | None = None, limit: int = QUEUE_LIMIT) -> None:
        super().__init__(app)
        self._stream = stream if stream is not None else sys.stderr
        self._queue: queue.Queue[Line] = queue.Queue(maxsize=limit)
        self.dropped = 0
        self._writer = threading.Thread(target=self._write_forever, name="gatehouse-access-log", daemon=True)
        self._writer.start()

    def finished(self, scope: Scope, status: int, seconds: float) -> None:
        client = scope.get("client")
        line = (time.time(), client[0] if client else None, scope["method"], scope["path"], status, seconds)
        try:
            self._queue.put_nowait(line)
        except queue.Full:
            self.dropped += 1

    def _write_forever(self) -> None:
        reported = 0
        while True:
            batch = [self._queue.get()]
            while len(batch) < 512:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            text = b"".join(render(line) for line in batch).decode()
            if self.dropped != reported:
                text += orjson.dumps({"access_log_dropped": self.dropped - reported}).decode() + "\n"
                reported = self.dropped
            try:
                self._stream.write(text)
                self._stream.flush()
            except (OSError, ValueError):  # a closed stream: nothing to log to, and nothing to stop for
                pass
            for _ in batch:
                self._queue.task_done()

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until every queued line is written (for tests), at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)
