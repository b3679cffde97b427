"""The security headers every response carries, whichever surface answers (dashboard pages, redirects and
error pages, the admin API, SCIM, forward-auth): one ASGI middleware around the whole application.

- ``X-Content-Type-Options: nosniff`` on every response;
- ``Content-Security-Policy`` (only this origin's scripts, styles and images; no framing), ``X-Frame-Options:
  DENY`` and ``Referrer-Policy: same-origin`` on every response (a page may set a CSP of its own, as the API
  reference does; it is kept);
- ``Cache-Control: no-store`` on every response to a request that carried credentials (the session cookie,
  ``Authorization`` or ``X-API-KEY``) unless the response says otherwise, so no proxy or browser cache keeps
  what one user was shown;
- ``Strict-Transport-Security`` when the public URL is https (a year; browsers then never use http again).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Finished = Callable[[Scope, int, float], None]
"""Told of each HTTP request once answered: its scope, the status it was answered with (500 if the app raised
before answering) and the seconds it took."""

CSP: Final = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
HSTS: Final = "max-age=31536000"
_CREDENTIAL_HEADERS: Final = (b"authorization", b"x-api-key")


def carries_credentials(scope: Scope, session_cookie: str) -> bool:
    """Whether a request sent a credential: a bearer or API key header, or the session cookie."""
    cookie = session_cookie.encode("latin-1") + b"="
    for key, value in scope.get("headers", ()):
        name = key.lower()
        if name in _CREDENTIAL_HEADERS or (name == b"cookie" and cookie in value):
            return True
    return False


class ResponseHeaders:
    """Pure ASGI middleware adding the headers above to ``http.response.start``.

    Every response passes through it, so it also tells ``finished`` (the metrics) of each request: a second
    wrapper around every ``send`` only to see the status cost about 2 µs a request, two thirds of what the
    metrics cost (``bench/metrics_bench.py``)."""

    def __init__(self, app: ASGIApp, *, session_cookie: str, https: bool, finished: Finished | None = None) -> None:
        self.app = app
        self.session_cookie = session_cookie
        self.https = https
        self.finished = finished
        always = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"content-security-policy", CSP.encode()),
            *([(b"strict-transport-security", HSTS.encode())] if https else []),
        ]
        self._public: Final = tuple(always)
        self._private: Final = (*always, (b"cache-control", b"no-store"))
        """The headers a response gets unless it has them: without, and with, credentials in the request."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = self._private if carries_credentials(scope, self.session_cookie) else self._public
        status = 500

        async def with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                present = {key.lower() for key, _ in headers}
                headers.extend(header for header in wanted if header[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        if self.finished is None:
            await self.app(scope, receive, with_headers)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, with_headers)
        finally:
            self.finished(scope, status, time.perf_counter() - started)
