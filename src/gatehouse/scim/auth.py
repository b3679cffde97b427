"""Bearer-token authentication of SCIM clients (RFC 7644 §2, RFC 6750).

Every request looks its token digest up together with the SCIM switch in one indexed query, so a
revoked token or a disabled SCIM setting is refused at once by every process sharing the database;
there is no cache to invalidate. The token's last use is recorded at most once a minute per token,
after the response, in its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gatehouse.credentials import bearer_of, hash_token
from gatehouse.errors import Forbidden, Unauthorized
from gatehouse.store import lookups
from gatehouse.store.database import Connection, Database


class ScimUnauthorized(Unauthorized):
    """401 with the ``WWW-Authenticate`` challenge of RFC 6750 §3."""

    def __init__(self, detail: str, error: str | None = None) -> None:
        super().__init__(detail)
        challenge = 'Bearer realm="gatehouse-scim"'
        if error:
            challenge += f', error="{error}"'
        self.challenge = challenge


class ScimDisabled(Forbidden):
    """403: the token is valid but SCIM provisioning is turned off."""

    def __init__(self, token_name: str) -> None:
        super().__init__()
        self.token_name = token_name

    default_detail = (
        "SCIM provisioning is disabled for this organization. An administrator can enable it in "
        "Organization → Settings → SCIM Provisioning."
    )


@dataclass(frozen=True, slots=True)
class ScimClient:
    """The authenticated caller: which token it used."""

    token_id: str
    token_name: str
    last_used_at: datetime | None


def bearer_token(header: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header; the scheme is case-insensitive."""
    if not header:
        raise ScimUnauthorized("Authentication is required: send 'Authorization: Bearer <token>'.")
    token = bearer_of(header)
    if token is None:
        raise ScimUnauthorized("Send the SCIM token as 'Authorization: Bearer <token>'.", "invalid_request")
    return token


def authenticate(connection: Connection, header: str | None) -> ScimClient:
    """The client behind an ``Authorization`` header, or 401/403."""
    return _client(lookups.token(connection, hash_token(bearer_token(header))))


async def authenticate_reading(
    db: Database, header: str | None, user: lookups.UserKey
) -> tuple[ScimClient, lookups.UserFound | None]:
    """:func:`authenticate`, and the provisioned ``user`` read in the same statement (``None`` if there is none);
    401/403 exactly as :func:`authenticate`, whatever the user."""
    check, found = await lookups.token_with_user(db, hash_token(bearer_token(header)), user)
    return _client(check), found


def _client(check: lookups.TokenRow | None) -> ScimClient:
    if check is None:
        raise ScimUnauthorized("The SCIM token is invalid or has been revoked.", "invalid_token")
    if not check.scim_enabled:
        raise ScimDisabled(check.name)
    return ScimClient(check.id, check.name, check.last_used_at)
