"""The status an ASGI app answered with, seen from a middleware around it; the base of middleware that handles
HTTP requests only; and the middleware that acts once each HTTP request is answered (the access log)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class StatusWatch:
    """A ``send`` that remembers the status of ``http.response.start``; 500 until one is sent (what the client
    sees when the app fails before answering: the server's own error). ``started``: whether one was sent (then an
    error can no longer be answered)."""

    __slots__ = ("send", "started", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 500
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.started = True
        await self.send(message)


class HttpMiddleware:
    """ASGI middleware around ``app`` that handles HTTP requests (:meth:`http`); other scopes (lifespan,
    websockets) pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request (calling ``self.app`` as it sees fit)."""
        raise NotImplementedError


class AfterEachRequest(HttpMiddleware):
    """ASGI middleware: runs the app, then :meth:`finished` with the request's scope, the status it was answered
    with and the seconds it took (also when the app raised: the status is then 500). Other scopes pass through."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        watch = StatusWatch(send)
        try:
            await self.app(scope, receive, watch)
        finally:
            self.finished(scope, watch.status, time.perf_counter() - started)

    def finished(self, scope: Scope, status: int, seconds: float) -> None:
        """What to do once a request is answered (on the event loop: keep it to microseconds)."""
        raise NotImplementedError
