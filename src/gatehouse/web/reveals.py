"""A secret shown once, across the redirect of Post/Redirect/Get: the POST that makes a token keeps it in the
server-side session (:mod:`gatehouse.store.session_reveals`), and the page it redirects to takes it (the row is
deleted as it is read), so a reload shows the page without it and re-sends nothing. Never in a URL or a cookie.

The value is sealed with AES-256-GCM under a key derived from the session cookie's random value, which the
database never holds (it keeps only its SHA-256): a copy of the database cannot open it, and it is bound to the
session (its hash is the associated data).
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.requests import Request

from gatehouse.iam.signin import SESSION_COOKIE
from gatehouse.store import session_reveals
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow
from gatehouse.store.sessions import SessionUser
from gatehouse.web.dashboard import dashboard_of

_CONTEXT = b"gatehouse reveal v1\x00"


def _key(cookie: str) -> bytes:
    return hashlib.sha256(_CONTEXT + cookie.encode()).digest()


def seal(cookie: str, session_hash: str, value: dict[str, Any]) -> str:
    """``value`` (JSON) sealed for the session whose cookie is ``cookie``."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key(cookie)).encrypt(nonce, orjson.dumps(value), session_hash.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(cookie: str, session_hash: str, text: str) -> dict[str, Any] | None:
    """The value sealed by :func:`seal`, or ``None`` when it does not open (another session, tampered)."""
    try:
        raw = base64.urlsafe_b64decode(text.encode())
        opened = AESGCM(_key(cookie)).decrypt(raw[:12], raw[12:], session_hash.encode())
        value = orjson.loads(opened)
    except (ValueError, InvalidTag, orjson.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _session(request: Request) -> tuple[str, SessionUser] | None:
    user: SessionUser | None = request.scope.get("gatehouse.user")
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, user) if user is not None and cookie else None


async def keep(request: Request, kind: str, value: dict[str, Any]) -> None:
    """Keep ``value`` (of ``kind``: ``scim_token``, ``api_token``) for the next page of this session."""
    found = _session(request)
    if found is None:
        return
    cookie, user = found
    sealed = seal(cookie, user.session_hash, {"kind": kind, "value": value})
    await dashboard_of(request).db.write(lambda c: session_reveals.put(c, user.session_hash, sealed, utcnow()))


async def take(request: Request, kind: str) -> dict[str, Any] | None:
    """The value kept for this page (``kind``), once: it is deleted as it is read. A value of another kind is
    left in place for its own page."""
    found = _session(request)
    if found is None:
        return None
    cookie, user = found

    def work(connection: Connection) -> dict[str, Any] | None:
        text = session_reveals.take(connection, user.session_hash)
        if text is None:
            return None
        opened = unseal(cookie, user.session_hash, text)
        if opened is None:
            return None
        if opened.get("kind") != kind:
            session_reveals.put(connection, user.session_hash, text, utcnow())
            return None
        value = opened.get("value")
        return value if isinstance(value, dict) else None

    return await dashboard_of(request).db.write(work)
