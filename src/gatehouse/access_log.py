"""The access log: one JSON line per request on standard error, cheap enough to leave on in production.

uvicorn's own access log formats a text line and writes it to the stream on the event loop, inside the request's
time: on a small machine it costs a large share of a fast endpoint's throughput. Here the request path pays for
one tuple appended to a deque (:meth:`AccessLog.finished`); a writer thread turns the tuples into JSON lines
and writes them in batches, ten times a second. A busy server's tenth of a second is a thousand lines and
milliseconds of rendering, while every request waits for the interpreter, so the writer gives it back every
:data:`CHUNK` lines (in process, ``GET /Users/{id}`` on one core, 60,000 requests: 43 waits over 3 ms before,
up to 20 ms; 1 to 4 after). Each line::

    {"time": "2026-12-06T01:02:03.456Z", "client": "127.0.0.1", "method": "GET", "path": "/scim/v2/Users/…",
     "status": 200, "duration_ms": 1.42}

What is left out, on purpose: the query string (it can carry an authorization ``code`` on an SSO callback, or a
SCIM ``filter`` naming a person), every header (so no ``Authorization`` or cookie) and bodies. The provisioning
log (:mod:`gatehouse.scim.activity`) keeps SCIM's own query parameters for the admin's eyes.

When the stream cannot keep up, the queue is bounded (:data:`QUEUE_LIMIT`): further lines are dropped and
counted, and the writer says how many when it catches up, rather than letting memory grow or a request wait.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Final, TextIO

import orjson
from starlette.types import ASGIApp, Scope

from gatehouse.response_status import AfterEachRequest

QUEUE_LIMIT: Final = 100_000
"""Lines waiting for the writer at most; more are dropped and counted."""
FLUSH_SECONDS: Final = 0.1
"""How often the writer writes what was kept meanwhile."""
CHUNK: Final = 64
"""Lines the writer renders before it lets the event loop have the interpreter (see the module)."""

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
    """ASGI middleware: keeps one line per HTTP request; a daemon thread writes them to ``stream`` every
    :data:`FLUSH_SECONDS`, all at once.

    The request's side is one ``deque.append`` (atomic, no lock, nobody woken): a writer woken per line would
    take the interpreter from the event loop once a request, which cost a fifth of a fast endpoint's
    throughput (``bench/scim_bench.py`` runs ``GET /Users/{id}`` with the log on and off)."""

    def __init__(self, app: ASGIApp, stream: TextIO | None = None, limit: int = QUEUE_LIMIT) -> None:
        super().__init__(app)
        self._stream = stream if stream is not None else sys.stderr
        self._lines: deque[Line] = deque()
        self._limit = limit
        self._kept = 0  # lines appended (event loop), and lines written or given up (writer): see drain
        self._done = 0
        self.dropped = 0
        self._writer = threading.Thread(target=self._write_forever, name="gatehouse-access-log", daemon=True)
        self._writer.start()

    def finished(self, scope: Scope, status: int, seconds: float) -> None:
        if len(self._lines) >= self._limit:
            self.dropped += 1
            return
        client = scope.get("client")
        self._lines.append(
            (time.time(), client[0] if client else None, scope["method"], scope["path"], status, seconds)
        )
        self._kept += 1

    def _write_forever(self) -> None:
        reported = 0
        while True:
            time.sleep(FLUSH_SECONDS)
            reported = self._write_pending(reported)

    def _write_pending(self, reported: int) -> int:
        """Write every line kept so far (and how many were dropped since the last report); the new report."""
        lines, pending, dropped = self._lines, len(self._lines), self.dropped
        if not pending and dropped == reported:
            return reported
        rendered: list[bytes] = []
        for start in range(0, pending, CHUNK):  # only the event loop appends meanwhile: never runs dry
            rendered.append(b"".join(render(lines.popleft()) for _ in range(min(CHUNK, pending - start))))
            time.sleep(0)  # lets the event loop take the interpreter back, if it waits for it
        text = b"".join(rendered).decode()
        if dropped != reported:
            text += orjson.dumps({"access_log_dropped": dropped - reported}).decode() + "\n"
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # a closed stream: nothing to log to, and nothing to stop for
            pass
        self._done += pending
        return dropped

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until every kept line is written (for tests), at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self._done < self._kept and time.monotonic() < deadline:
            time.sleep(0.005)
