"""The HTTP server process (``gatehouse serve``): uvicorn with a request parser that always answers, and an
outermost guard around the app.

Every request gets an HTTP answer, never a connection closed under the client:

- **Limits, answered.** uvicorn's default parser (httptools) has no limit on header size, and fails a request
  target over 64 KiB with a bare 400. :class:`GatehouseHttpProtocol` refuses a request target over
  :data:`MAX_TARGET_BYTES` with 414, request headers over :data:`MAX_HEADER_BYTES` (or more than
  :data:`MAX_HEADERS` of them) with 431, and anything the parser cannot read (a malformed request line or
  header, raw non-ASCII bytes or NUL in the path, a broken chunked body, a bad ``Content-Length``) with 400.
- **In each surface's error shape.** Those answers come before any app sees the request, so the parser writes
  them itself, shaped by the path: a SCIM Error message (RFC 7644 §3.12) under ``/scim/``, the admin API's
  ``{"error": {...}}`` under ``/api/``, plain text elsewhere. The log line says why (never a traceback in a
  body).
- **Lingering close.** A server that closes a connection while request bytes are still arriving makes the
  kernel answer them with a TCP reset, which can discard the response before the client reads it: the
  measured cause of hostile requests "getting no answer" (an invalid header or chunk followed by body bytes,
  a 413 or a 500 sent before the body was read, ``Connection: close`` with an unread body). Whenever this
  protocol closes a connection whose request was not read to its end, it first shuts down its sending side
  (the client sees the whole response, then end of stream), then reads and discards for up to
  :data:`LINGER_SECONDS` or :data:`LINGER_BYTES` before closing, as nginx's ``lingering_close`` does.
- **No exception reaches uvicorn.** Starlette re-raises an unhandled exception after its error handler has
  answered, and uvicorn then closes the connection. :class:`Shield` (the outermost ASGI layer, see
  :func:`create_app`) answers a 500 in the surface's shape if nothing was sent yet, and otherwise ends the
  exception there (the handlers have logged it), so keep-alive connections survive an error.
"""

from __future__ import annotations

import asyncio
import gc
import http
import logging
import os
from typing import Any, Final
from urllib.parse import urlsplit

import httptools
import orjson
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gatehouse.access_log import AccessLog
from gatehouse.api.errors import CODES
from gatehouse.app import create_app as create_gatehouse_app
from gatehouse.config import load_settings
from gatehouse.launcher import WORKERS_ENV
from gatehouse.response_status import HttpMiddleware, StatusWatch
from gatehouse.scim.render import error as scim_error

log = logging.getLogger("gatehouse.server")

MAX_TARGET_BYTES: Final = 32 * 1024
"""The longest request target (path and query) accepted; longer is 414. RFC 9112 §3 asks for at least 8000."""

MAX_HEADER_BYTES: Final = 64 * 1024
"""The most bytes of header names and values accepted in one request; more is 431."""

MAX_HEADERS: Final = 256
"""The most header fields accepted in one request; more is 431."""

LINGER_SECONDS: Final = 2.0
"""How long a connection closed with request bytes unread keeps reading (and discarding) them."""

LINGER_BYTES: Final = 16 * 1024 * 1024
"""How many bytes it reads so at most."""

SCIM_PREFIX: Final = "/scim/"
API_PREFIX: Final = "/api"


# -- error bodies, in the shape of the surface the path belongs to -----------------------------------------


_PHRASES: Final = {413: "Content Too Large", 414: "URI Too Long"}
"""RFC 9110 §15's reason phrases where Python's ``http.HTTPStatus`` still has RFC 2616's."""


def _phrase(status: int) -> str:
    if status in _PHRASES:
        return _PHRASES[status]
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_response(path: str, status: int, detail: str) -> tuple[bytes, bytes]:
    """``(content type, body)`` of an error answered outside the app, for a request to ``path``."""
    if path.startswith(SCIM_PREFIX) or path == SCIM_PREFIX.rstrip("/"):
        return b"application/scim+json", scim_error(status, detail, "invalidSyntax" if status == 400 else None)
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        code = CODES.get(status) or _phrase(status).lower().replace(" ", "_").replace("-", "_")
        return b"application/json", orjson.dumps({"error": {"status": status, "code": code, "detail": detail}})
    return b"text/plain; charset=utf-8", f"{status} {_phrase(status)}: {detail}".encode()


def _path_of(target: bytes) -> str:
    """The path of a request target (maybe partial, maybe absolute-form), or of the request line that holds
    it when the parser failed before the target, for choosing an error shape."""
    text = target.decode("latin-1")
    if not text.startswith("/") and len(words := text.split()) > 1 and "/" in words[1]:
        text = words[1]  # a whole request line: "<method> <target> <version>"
    if not text.startswith("/"):
        try:
            text = urlsplit(text).path or "/"
        except ValueError:
            return ""
    return text.split("?", 1)[0]


def _shown(target: bytes, limit: int = 200) -> str:
    text = target[:limit].decode("ascii", "backslashreplace")
    return text + ("…" if len(target) > limit else "")


# -- the parser protocol ----------------------------------------------------------------------------------


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a request that is refused."""


class _Lingering:
    """The transport a request's response cycle writes to: closing it closes gracefully (see the module), and
    a response's head goes out with its body in one write.

    uvicorn writes the status line and headers as soon as the app starts the response, then the body: two
    ``send`` calls, two loopback packets, for every small response (a tenth of a fast request's cost). Here the
    head waits for the next write, which follows at once; a response whose body never comes, or comes later
    (a HEAD, a stream), still has its head sent on the event loop's next turn (:meth:`GatehouseHttpProtocol.hold`).
    """

    def __init__(self, protocol: GatehouseHttpProtocol, transport: asyncio.Transport) -> None:
        self._protocol = protocol
        self._transport = transport

    def write(self, data: bytes) -> None:
        protocol = self._protocol
        if protocol.held is None and data.startswith(b"HTTP/1.1 "):
            protocol.hold(data)  # a response's head
            return
        held = protocol.take_held()
        self._transport.write(held + data if held else data)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self._protocol.close_gracefully()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GatehouseHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with limits, answered refusals and lingering close (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_bytes = 0
        self._header_count = 0
        self._refusal: tuple[int, str] | None = None
        self._deferred: tuple[int, str, bytes] | None = None
        self._message_complete = True
        self._in_body = False
        self._lingering = False
        self._lingered = 0
        self._linger_timer: asyncio.TimerHandle | None = None
        self.held: bytes | None = None
        """A response's head waiting for its body (:class:`_Lingering`)."""

    # coalescing a response's head with its body

    def hold(self, head: bytes) -> None:
        """Keep ``head`` for the next write; send it on the loop's next turn if none comes first."""
        self.held = head
        self.loop.call_soon(self.flush_held)

    def take_held(self) -> bytes | None:
        held, self.held = self.held, None
        return held

    def flush_held(self) -> None:
        """Send a held head now (before anything this protocol writes or closes itself)."""
        held = self.take_held()
        if held and not self.transport.is_closing():
            self.transport.write(held)

    # parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._header_count = 0
        self._refusal = None
        self._message_complete = False
        self._in_body = False

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > MAX_TARGET_BYTES:
            self.url += url[: max(0, MAX_TARGET_BYTES - len(self.url))]
            self._refuse(414, f"The request target is longer than {MAX_TARGET_BYTES} bytes.")
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value)
        self._header_count += 1
        if self._header_bytes > MAX_HEADER_BYTES:
            self._refuse(431, f"The request headers are larger than {MAX_HEADER_BYTES} bytes.")
        if self._header_count > MAX_HEADERS:
            self._refuse(431, f"The request has more than {MAX_HEADERS} header fields.")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        # llhttp reads whatever follows the head of an Upgrade request as the new protocol, never as a body: a
        # body sent with an Upgrade this server does not perform could not reach the app.
        if self.parser.should_upgrade() and not self._should_upgrade() and self._has_body():
            self._refuse(400, "Protocol upgrades are not supported; send the request without 'Upgrade'.")
        try:
            super().on_headers_complete()
        except UnicodeDecodeError:
            self._refuse(400, "The request path holds bytes that are not ASCII; percent-encode them (RFC 3986).")
        except httptools.HttpParserInvalidURLError:
            self._refuse(400, "The request target is not a valid URL.")
        self._in_body = True
        if self.cycle is not None and not isinstance(self.cycle.transport, _Lingering):
            self.cycle.transport = _Lingering(self, self.transport)  # type: ignore[assignment]

    def _has_body(self) -> bool:
        return any(
            name == b"transfer-encoding" or (name == b"content-length" and value.strip(b" 0"))
            for name, value in self.headers
        )

    def on_message_complete(self) -> None:
        self._message_complete = True
        super().on_message_complete()

    def _refuse(self, status: int, reason: str) -> None:
        self._refusal = (status, reason)
        raise _Refused(reason)

    # data

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            self._lingered += len(data)
            if self._lingered > LINGER_BYTES:
                self._end_linger()
            return
        if self._deferred is not None:
            return  # a refused request waits for the response before it; nothing after it is read
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:  # answered as an ordinary request; what follows it is not HTTP/1.1 any more: close after it
                self._unsupported_upgrade_warning()
                self._message_complete = False
                if self.cycle is not None:
                    self.cycle.keep_alive = False
        except httptools.HttpParserError as exc:
            status, reason = self._refusal or (400, _parser_reason(exc))
            self._refused(status, reason, data)

    def _refused(self, status: int, reason: str, data: bytes) -> None:
        target = self.url or data.split(b"\r\n", 1)[0]
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "unknown client"
        log.warning("Refused a request from %s (%s): %d %s", client, _shown(target), status, reason)
        cycle = self.cycle
        if self._in_body and cycle is not None:  # the body of the request whose cycle this is cannot be read
            queued = [entry for entry in self.pipeline if entry[0] is cycle]
            if queued:  # not started yet (a request before it is being answered): refused in its turn
                self.pipeline.remove(queued[0])
                behind = True
            elif cycle.response_started:  # the app has answered (or is answering) it already
                cycle.keep_alive = False
                if cycle.response_complete:
                    self.close_gracefully()
                return
            else:  # the app waits for the body: it sees a disconnect, and the refusal answers
                cycle.disconnected = True
                cycle.message_event.set()
                self._answer(status, reason, target)
                return
        else:
            behind = bool(self.pipeline) or (cycle is not None and not cycle.response_complete)
        if behind:
            # A pipelined request behind one still being answered: its answer must come after that one.
            self._deferred = (status, reason, target)
            self.flow.pause_reading()
            return
        self._answer(status, reason, target)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._deferred is not None and not self.pipeline and not self.transport.is_closing():
            status, reason, target = self._deferred
            self._deferred = None
            self._answer(status, reason, target)

    def _answer(self, status: int, reason: str, target: bytes) -> None:
        if self.transport.is_closing():
            return
        content_type, body = error_response(_path_of(target), status, reason)
        head = [b"HTTP/1.1 %d %s\r\n" % (status, _phrase(status).encode())]
        for name, value in self.server_state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        head += [
            b"content-type: " + content_type + b"\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.flush_held()
        self.transport.write(b"".join(head) + body)
        self._message_complete = False  # what follows on this connection is never read as a request
        self.close_gracefully()

    # closing

    def close_gracefully(self) -> None:
        """Close the connection; if the request being answered was not read to its end, linger first."""
        self.flush_held()
        transport = self.transport
        if transport.is_closing() or self._lingering:
            return
        if self._message_complete or not transport.can_write_eof():
            transport.close()
            return
        self._lingering = True
        self._unset_keepalive_if_required()
        try:
            transport.write_eof()  # the response is flushed, then the client reads end of stream
        except OSError:
            transport.close()
            return
        self.flow.resume_reading()
        self._linger_timer = self.loop.call_later(LINGER_SECONDS, self._end_linger)

    def _end_linger(self) -> None:
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        self.flush_held()
        if not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        super().connection_lost(exc)

    def shutdown(self) -> None:
        self.flush_held()
        super().shutdown()

    def timeout_keep_alive_handler(self) -> None:
        if not self._lingering:
            super().timeout_keep_alive_handler()


def _parser_reason(exc: Exception) -> str:
    """What the parser could not read, in words (llhttp's own message, e.g. "Invalid header value char")."""
    message = str(exc.args[0] if exc.args else exc).strip().rstrip(".")
    return f"The request is not valid HTTP/1.1 ({message})." if message else "The request is not valid HTTP/1.1."


# -- the outermost ASGI guard -----------------------------------------------------------------------------


class Shield(HttpMiddleware):
    """Ends every exception of the app: a 500 in the surface's shape when nothing was sent yet (logged here),
    nothing more when an error handler already answered (it logged the error)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        watch = StatusWatch(send)
        try:
            await self.app(scope, receive, watch)
        except Exception:
            if watch.started:
                return
            log.exception("Unhandled error on %s %s", scope.get("method"), scope.get("path"))
            content_type, body = error_response(
                scope.get("path", ""), 500, "An internal error occurred; it has been logged."
            )
            headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": body})


def create_app() -> ASGIApp:
    """The app ``gatehouse serve`` runs (in each worker process): :func:`gatehouse.app.create_app` inside
    :class:`Shield`, inside the access log (:mod:`gatehouse.access_log`) unless ``GATEHOUSE_ACCESS_LOG=false``;
    then the garbage collector settled (:func:`settle_garbage_collector`)."""
    settings = load_settings()
    gatehouse = create_gatehouse_app(settings)
    gatehouse.state.db.keep_readers = True  # one process, one event loop: its reads keep their connection
    gatehouse.state.db.keep_writer = True  # and SQLite's writes theirs
    # SQLite's checkpoints in a thread of their own, with one worker. With several processes writing one file,
    # the thread's last pass cannot keep the other processes' writes out, and the tail grew (bench/README).
    gatehouse.state.db.checkpoint_thread = os.environ.get(WORKERS_ENV, "1") == "1"
    guarded = Shield(gatehouse)
    app = AccessLog(guarded) if settings.access_log else guarded
    settle_garbage_collector()
    return app


def settle_garbage_collector() -> None:
    """Keep the collector off what lives as long as the process: the modules, the app, its routes and schemas
    (``gc.freeze``), so that a full collection, which stalls every request waiting on the event loop, no longer
    walks them. Measured with ``make bench-authz`` at 100,000 users: the decision API's p99 at 8 connections
    from 14.4 to 11.6 ms, forward-auth's from 6.9 to 5.8 ms, the same resident memory. (Collecting the young
    generation less often gained a little more there but seemed to slow SCIM's creates; the machine's noise
    left it unproven, so the thresholds stay Python's.) For the serving process only: a test process builds
    many apps."""
    gc.collect()
    gc.freeze()
