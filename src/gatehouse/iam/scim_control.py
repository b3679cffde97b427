"""Turning SCIM provisioning on and off, and managing its tokens: used by the CLI, the dashboard and
the admin API alike. No commit here: the caller's transaction decides."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from gatehouse.credentials import generate_token, hash_token, token_hint
from gatehouse.errors import InvalidInput, NotFound
from gatehouse.store import scim_tokens, settings
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow
from gatehouse.store.scim_tokens import TokenInfo

MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just created: the only moment its secret is known."""

    name: str
    token: str
    info: TokenInfo


def default_token_name(now: datetime | None = None) -> str:
    """A readable, unique-enough name for a token created without one."""
    return f"scim-{(now or utcnow()).strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def issue_token(connection: Connection, name: str) -> IssuedToken:
    """Create a named token and return its secret (shown once; only its SHA-256 is stored)."""
    clean = name.strip()
    if not clean or len(clean) > MAX_NAME:
        raise InvalidInput(f"A token name must be 1 to {MAX_NAME} characters.")
    token = generate_token()
    info = scim_tokens.create(connection, clean, hash_token(token), token_hint(token))
    return IssuedToken(clean, token, info)


def revoke_token(connection: Connection, name: str) -> None:
    """Revoke a token by name; it stops working at once."""
    scim_tokens.revoke(connection, name)


def list_tokens(connection: Connection) -> list[TokenInfo]:
    """The live tokens."""
    return scim_tokens.live(connection)


def live_token(connection: Connection, token_id: str) -> TokenInfo | None:
    """The live token with this id, or ``None`` (revoked, replaced or unknown)."""
    return next((info for info in scim_tokens.live(connection) if info.id == token_id), None)


def revoke_token_id(connection: Connection, token_id: str) -> str:
    """Revoke the live token with this id (it stops working at once); its name.

    By id, not by name, so that a form sent twice cannot revoke the token that replaced it.
    """
    info = live_token(connection, token_id)
    if info is None or not scim_tokens.revoke_id(connection, token_id):
        raise NotFound("This SCIM token was already revoked or replaced.")
    return info.name


def regenerate_token(connection: Connection, token_id: str) -> IssuedToken:
    """Replace a live token by a new one with the same name: the old one stops at once."""
    name = revoke_token_id(connection, token_id)
    return issue_token(connection, name)


def is_enabled(connection: Connection) -> bool:
    """Whether SCIM provisioning is on."""
    return bool(settings.get(connection, settings.SCIM_ENABLED, False))


def enable(connection: Connection) -> None:
    """Turn SCIM provisioning on."""
    settings.put(connection, settings.SCIM_ENABLED, True)


def disable(connection: Connection) -> None:
    """Turn SCIM provisioning off: every SCIM request is refused at once; tokens are kept."""
    settings.put(connection, settings.SCIM_ENABLED, False)


def password_sign_in(connection: Connection) -> bool:
    """Whether provisioned users may sign in with the password their IdP sends."""
    return bool(settings.get(connection, settings.SCIM_PASSWORD_SIGN_IN, False))


def set_password_sign_in(connection: Connection, allowed: bool) -> None:
    """Allow or forbid password sign-in for provisioned users. Off (the default) means the password an
    IdP sends is discarded, and provisioned users sign in through SSO."""
    settings.put(connection, settings.SCIM_PASSWORD_SIGN_IN, allowed)
