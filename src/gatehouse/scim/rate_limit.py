"""Per-token rate limits of the SCIM endpoint: a token bucket per SCIM token, and one per client address for
requests that fail authentication; over the limit, ``429 Too Many Requests`` with ``Retry-After`` (RFC 6585
§4, RFC 9110 §10.2.3) and a SCIM Error body (RFC 7644 §3.12), which Okta and Entra ID both back off on.

- A request with a bearer token is charged to that token's bucket (keyed by the token's digest: the token
  itself is never kept). Its rate is ``GATEHOUSE_SCIM_RATE_PER_SECOND`` with bursts of ``GATEHOUSE_SCIM_BURST``
  (defaults 200/s, burst 400: a 100,000-user Okta import at 8 connections stays under it).
- A request answered 401 (no token, a wrong or revoked one) is also charged to its client address; once that
  address's bucket is empty, its requests are refused before any database lookup. Tokens that authenticate
  never touch the address buckets, so an IdP behind a shared egress address is not slowed by a stranger.

State is per process (see docs/reference/scim.md: with N replicas behind a balancer, a token may reach up to N times the
rate). The buckets are a bounded map: the least recently used key goes when it is full; a forgotten bucket
comes back full, which errs on the side of letting an IdP through.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatehouse.credentials import bearer_of, hash_token
from gatehouse.metrics import SCIM_REFUSALS
from gatehouse.network import client_ip
from gatehouse.scim.render import error

MAX_KEYS: Final = 10_000
SCIM_MEDIA_TYPE: Final = b"application/scim+json"


@dataclass(slots=True)
class Bucket:
    """Tokens available and when they were last counted."""

    tokens: float
    at: float


class Buckets:
    """Token buckets by key (pure: the clock is given)."""

    def __init__(self, rate: float, burst: int, max_keys: int = MAX_KEYS) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def _refilled(self, key: str, now: float) -> Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = Bucket(float(self.burst), now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        return bucket

    def take(self, key: str, now: float) -> float:
        """Take one token: 0 when granted, else the seconds until one is available."""
        bucket = self._refilled(key, now)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def wait(self, key: str, now: float) -> float:
        """Without taking: 0 when a token is available, else the seconds until one is."""
        if key not in self._buckets:
            return 0.0
        bucket = self._refilled(key, now)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def charge(self, key: str, now: float) -> None:
        """Take a token if there is one (an unauthenticated request already answered)."""
        bucket = self._refilled(key, now)
        bucket.tokens = max(0.0, bucket.tokens - 1)


def retry_after(wait: float) -> int:
    """``Retry-After`` in whole seconds (at least 1)."""
    return max(1, math.ceil(wait))


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bearer_of(value.decode("latin-1"))
    return None


class RateLimit:
    """Pure ASGI middleware in front of the SCIM application (see the module)."""

    def __init__(
        self,
        app: ASGIApp,
        rate: float,
        burst: int,
        trusted_proxies: list[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.enabled = rate > 0
        self.tokens = Buckets(rate, burst)
        self.addresses = Buckets(rate, burst)
        self.trusted_proxies = trusted_proxies
        self.clock = clock
        self.known: OrderedDict[str, None] = OrderedDict()
        """Token keys seen authenticated: exempt from their address's bucket (bounded like the buckets)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        now = self.clock()
        token = _bearer(scope)
        key = "t:" + hash_token(token) if token else None
        address = None if key in self.known else self._address(scope)  # a known token's address is not counted
        wait = self.addresses.wait(address, now) if address is not None else 0.0
        if wait:
            await self._refuse(send, wait, "unauthenticated requests from this address")
            return
        if key is not None and (wait := self.tokens.take(key, now)):
            await self._refuse(send, wait, "this SCIM token")
            return
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, capture)
        if status == 401:
            self.addresses.charge(address or self._address(scope), self.clock())
            if key is not None:
                self.known.pop(key, None)
        elif key is not None and key not in self.known:
            self.known[key] = None
            if len(self.known) > MAX_KEYS:
                self.known.popitem(last=False)

    def _address(self, scope: Scope) -> str:
        """The key of the client's address bucket."""
        return "ip:" + (client_ip(Request(scope), self.trusted_proxies) or "unknown")

    async def _refuse(self, send: Send, wait: float, whom: str) -> None:
        SCIM_REFUSALS.labels("rate_limit").inc()
        seconds = retry_after(wait)
        rate, burst = self.tokens.rate, self.tokens.burst
        body = error(
            429,
            f"Too many requests for {whom}: at most {rate:g} per second (bursts of {burst}). Retry after {seconds} s.",
        )
        headers = [
            (b"content-type", SCIM_MEDIA_TYPE),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(seconds).encode()),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
