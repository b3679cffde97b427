"""Bearer secrets: generation, hashing and constant-time comparison.

Tokens are 256-bit random values, shown once and stored only as SHA-256 digests. A fast digest is
right here (unlike passwords): the input is high-entropy, and the check runs on every request.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

SCIM_TOKEN_PREFIX = "ghs_"


def generate_token(prefix: str = SCIM_TOKEN_PREFIX) -> str:
    """A new random token; the prefix lets secret scanners recognise a leaked one."""
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def bearer_of(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (RFC 6750 §2.1: the scheme in any case, spaces around
    the token ignored), or ``None`` for no header, another scheme or no token. Every surface reads it here."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    return token if token and scheme.lower() == "bearer" else None


def token_hint(token: str) -> str:
    """A short, non-secret reminder of which token this is (its last four characters)."""
    return "…" + token[-4:]


LAST_USE_INTERVAL = timedelta(minutes=1)


class LastUseRecorder:
    """Decides when a token's last use is worth writing: at most once a minute per token in this process,
    and not when the stored time (written by any process) is that recent. Never a write per request."""

    def __init__(self, interval: timedelta = LAST_USE_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval.total_seconds()
        self._clock = clock
        self._written: dict[str, float] = {}

    def due(self, token_id: str, stored: datetime | None) -> bool:
        """Whether this use should be written (and, if so, remember that it will be)."""
        now = self._clock()
        if now - self._written.get(token_id, -1e18) < self.interval:
            return False
        self._written[token_id] = now
        return stored is None or (datetime.now(UTC) - stored).total_seconds() >= self.interval
