"""Personal API tokens (Organization → Tokens): use cases (the Tokens page's list and revocation among them),
authentication and last-use bookkeeping.

A token is ``gha_`` + 32 random bytes (URL-safe base64), shown once when created and stored only as its
SHA-256 (:mod:`gatehouse.credentials`). It acts for its user with the user's *current* permissions: a
request authenticated by a token gets the principal of :func:`gatehouse.iam.authorizer.load_principal`
like a dashboard session does. A token is refused at once, in every process, when it is revoked,
expired, or its user is deactivated or deleted (:func:`authenticate` checks all of them in one indexed
query). A deactivation also revokes the user's tokens for good (:func:`revoke_all_for_user`), so a
reactivation does not bring them back.

Permissions: creating is ``iam:CreateToken`` on ``token/*``; viewing and revoking one's own token is
``iam:GetToken`` / ``iam:DeleteToken`` on ``token/<id>``, someone else's ``iam:GetAnyToken`` /
``iam:DeleteAnyToken``.

Expiry: a number of days from :data:`EXPIRY_DAYS`, or a date (the token works through that day, UTC), at
most :data:`MAX_EXPIRY_DAYS` ahead. There is no token that never expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from gatehouse.credentials import bearer_of, generate_token, hash_token, token_hint
from gatehouse.errors import InvalidInput, NotFound, Unauthorized
from gatehouse.iam.audit import Change
from gatehouse.iam.authorizer import Principal, allowed, require
from gatehouse.iam.catalog import ANY_ID, resource_name
from gatehouse.store import api_tokens as store
from gatehouse.store import users as user_store
from gatehouse.store.api_tokens import TokenInfo, TokenStatus
from gatehouse.store.database import Connection
from gatehouse.store.records import utc_instant, utcnow

API_TOKEN_PREFIX: Final = "gha_"
EXPIRY_DAYS: Final = (7, 30, 60, 90, 180, 365)
"""The expiries offered, in days."""
MAX_EXPIRY_DAYS: Final = 366
"""The furthest expiry a date may set."""
MAX_NAME: Final = 100
_MAX_PRESENTED: Final = 200
ALL: Final = "all"
"""What the Tokens page asks for to list every user's tokens."""
ALL_LIMIT: Final = 500
"""The most tokens the list of every user's tokens holds (newest first); naming a user narrows it."""


class TokenUnauthorized(Unauthorized):
    """401: no token, or one that does not work (unknown, revoked, expired, its user inactive or deleted)."""

    default_detail = "Authentication is required: send 'X-API-KEY: <token>' or 'Authorization: Bearer <token>'."


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just created: ``token`` is shown once and never stored."""

    token: str
    info: TokenInfo


@dataclass(frozen=True, slots=True)
class TokenCaller:
    """Who a request's token acts for (build the principal with ``load_principal(user_id, token_name=...)``)."""

    token_id: str
    token_name: str
    user_id: str
    user_name: str
    last_used_at: datetime | None
    expires_at: datetime | None = None
    """When the token stops working (kept principals end then: :mod:`gatehouse.iam.principal_cache`)."""


# ------------------------------------------------------------------------------------------ inputs


def token_name(name: str) -> str:
    """Check and tidy a token's name."""
    clean = " ".join(name.split()) if isinstance(name, str) else ""
    if not clean or len(clean) > MAX_NAME or not clean.isprintable():
        raise InvalidInput(f"name: a token name is 1 to {MAX_NAME} printable characters.")
    return clean


def expires_at(expiry: int | date, now: datetime) -> datetime:
    """When a token created ``now`` expires: after ``expiry`` days (one of :data:`EXPIRY_DAYS`), or at the end
    of day ``expiry`` (UTC), which must be today or later and at most :data:`MAX_EXPIRY_DAYS` ahead."""
    if isinstance(expiry, datetime):  # a datetime is a date too: take its day
        moment = utc_instant(expiry)
        if moment is None:
            raise InvalidInput("expiry: a day between the years 1 and 9999 (UTC).")
        expiry = moment.date()
    if isinstance(expiry, date):
        if expiry >= date.max:  # the end of 9999-12-31 is past what a date holds, and far beyond the limit
            raise InvalidInput(f"expiry: a token expires at most {MAX_EXPIRY_DAYS} days ahead.")
        end = datetime.combine(expiry + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        if end <= now:
            raise InvalidInput(f"expiry: {expiry.isoformat()} is in the past; choose today or a later day.")
        if end - now > timedelta(days=MAX_EXPIRY_DAYS):
            raise InvalidInput(f"expiry: a token expires at most {MAX_EXPIRY_DAYS} days ahead.")
        return end
    if isinstance(expiry, bool) or not isinstance(expiry, int) or expiry not in EXPIRY_DAYS:
        choices = ", ".join(str(days) for days in EXPIRY_DAYS)
        raise InvalidInput(f"expiry: choose {choices} days, or a date.")
    return now + timedelta(days=expiry)


# ------------------------------------------------------------------------------------------ use cases


def create_token(connection: Connection, principal: Principal, name: str, expiry: int | date) -> NewToken:
    """Create a token for the principal's own user; the returned ``token`` is the only copy."""
    require(principal, "iam:CreateToken", resource_name("token", ANY_ID))
    assert principal.user_id is not None  # an active principal has a user
    now = utcnow()
    clean, until = token_name(name), expires_at(expiry, now)
    token = generate_token(API_TOKEN_PREFIX)
    info = store.create(connection, principal.user_id, clean, hash_token(token), token_hint(token), now, until)
    return NewToken(token, info)


def _may(principal: Principal, verb: str, token: TokenInfo) -> bool:
    own = token.user_id == principal.user_id
    action = f"iam:{verb}Token" if own else f"iam:{verb}AnyToken"
    return allowed(principal, action, resource_name("token", token.id))


def list_tokens(connection: Connection, principal: Principal, user_id: str | None = None) -> list[TokenInfo]:
    """A user's tokens (the principal's own by default), newest first, those the principal may view.

    Listing one's own tokens needs ``iam:GetToken`` (a :class:`~gatehouse.errors.Forbidden` otherwise)."""
    owner = user_id or principal.user_id
    if owner is None:
        return []
    if owner == principal.user_id:
        require(principal, "iam:GetToken", resource_name("token", ANY_ID))
    return [token for token in store.of_user(connection, owner) if _may(principal, "Get", token)]


def get_token(connection: Connection, principal: Principal, token_id: str) -> TokenInfo:
    """One token's metadata (never its secret). Someone else's token that the principal may not view is
    :class:`NotFound` (its existence is not disclosed); one's own without ``iam:GetToken`` is :class:`Forbidden`."""
    token = store.get(connection, token_id)
    if token is not None and token.user_id == principal.user_id:
        require(principal, "iam:GetToken", resource_name("token", token.id))
        return token
    if token is None or not _may(principal, "Get", token):
        raise NotFound("There is no such token.")
    return token


def may_revoke(principal: Principal, token: TokenInfo) -> bool:
    """Whether the principal may revoke this token (to offer the button, or its confirmation page)."""
    return _may(principal, "Delete", token)


def revoke_token(connection: Connection, principal: Principal, token_id: str) -> TokenInfo:
    """Revoke a token: it stops working at once, in every process. Revoking a revoked token changes nothing."""
    token = get_token(connection, principal, token_id)
    own = token.user_id == principal.user_id
    require(principal, "iam:DeleteToken" if own else "iam:DeleteAnyToken", resource_name("token", token.id))
    store.revoke(connection, token.id, utcnow())
    revoked = store.get(connection, token.id)
    assert revoked is not None
    return revoked


def revoke_all_for_user(connection: Connection, user_id: str) -> int:
    """Revoke every token of a user, for good: the deactivation paths call it in their transaction."""
    return store.revoke_all_for_user(connection, user_id, utcnow())


# ------------------------------------------------------------------------------------------ the page
# (Organization → Tokens: one's own tokens, someone else's, or everyone's)


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A token as listed: its metadata, its owner's name, its status and whether the principal may revoke it."""

    token: TokenInfo
    owner: str
    status: TokenStatus
    revocable: bool


@dataclass(frozen=True, slots=True)
class TokenListing:
    """The tokens listed: ``view`` is ``own``, ``all`` or ``user`` (one user's, ``user_filter`` naming them);
    ``truncated`` when everyone's are more than :data:`ALL_LIMIT`; and what the principal may do there."""

    view: str
    rows: list[TokenRow]
    user_filter: str = ""
    truncated: bool = False
    view_any: bool = False
    """Whether the principal may view other users' tokens (``iam:GetAnyToken``)."""
    may_create: bool = False


def may_view_any(principal: Principal) -> bool:
    """Whether the principal may view other users' tokens (``iam:GetAnyToken`` on ``token/*``)."""
    return allowed(principal, "iam:GetAnyToken", resource_name("token", ANY_ID))


def _row(principal: Principal, token: TokenInfo, owner: str, now: datetime) -> TokenRow:
    status = token.status(now)
    return TokenRow(token, owner, status, status == "active" and may_revoke(principal, token))


def _everyones(connection: Connection, principal: Principal, now: datetime) -> tuple[list[TokenRow], bool]:
    found = store.newest(connection, ALL_LIMIT + 1)
    rows = [_row(principal, token, owner, now) for token, owner in found[:ALL_LIMIT]]
    return [row for row in rows if _may(principal, "Get", row.token)], len(found) > ALL_LIMIT


def _user_named(connection: Connection, name: str) -> tuple[str, str] | None:
    """``(id, user_name)`` of the user with this username (any case) or id, or ``None``."""
    user = user_store.get_by_user_name(connection, name) or user_store.get(connection, name[:36])
    return (user.id, user.user_name) if user else None


def token_listing(connection: Connection, principal: Principal, wanted: str = "") -> TokenListing:
    """The Tokens page for ``wanted``: empty for one's own tokens (:func:`list_tokens`: ``iam:GetToken``),
    :data:`ALL` or a user's name or id for others' (only with ``iam:GetAnyToken``; else one's own)."""
    now, wanted, view_any = utcnow(), wanted.strip(), may_view_any(principal)
    may_create = allowed(principal, "iam:CreateToken", resource_name("token", ANY_ID))
    if wanted and view_any:
        if wanted == ALL:
            rows, truncated = _everyones(connection, principal, now)
            return TokenListing(ALL, rows, "", truncated, view_any, may_create)
        found = _user_named(connection, wanted)
        if found is None:
            return TokenListing("user", [], wanted, False, view_any, may_create)
        user_id, user_name = found
        rows = [_row(principal, t, user_name, now) for t in list_tokens(connection, principal, user_id)]
        return TokenListing("user", rows, user_name, False, view_any, may_create)
    rows = [_row(principal, t, principal.user_name or "", now) for t in list_tokens(connection, principal)]
    return TokenListing("own", rows, "", False, view_any, may_create)


@dataclass(frozen=True, slots=True)
class Revocation:
    """A token the principal may revoke, as its confirmation shows it: whether it is their own, and its
    owner's name (``None`` when the owner is gone)."""

    token: TokenInfo
    own: bool
    owner: str | None

    @property
    def active(self) -> bool:
        """Whether there is anything left to revoke (not revoked or expired yet)."""
        return self.token.status(utcnow()) == "active"


def revocation(connection: Connection, principal: Principal, token_id: str) -> Revocation:
    """The token to revoke, before asking: :func:`get_token` (someone else's that the principal may not view is
    :class:`NotFound`), then ``iam:DeleteToken`` on one's own or ``iam:DeleteAnyToken`` on someone else's."""
    token = get_token(connection, principal, token_id)
    own = token.user_id == principal.user_id
    require(principal, "iam:DeleteToken" if own else "iam:DeleteAnyToken", resource_name("token", token.id))
    if own:
        return Revocation(token, True, principal.user_name)
    owner = user_store.standing(connection, token.user_id)
    return Revocation(token, False, owner.user_name if owner else None)


def revoke_change(connection: Connection, principal: Principal, token_id: str) -> Change:
    """The audit record of revoking ``token_id``, whatever happens next: ``iam:DeleteToken`` on one's own token
    (or one that does not exist), ``iam:DeleteAnyToken`` with its owner on someone else's (the action
    :func:`revoke_token` checks), with the token's name. It discloses nothing: only the log sees it."""
    known = store.get(connection, token_id[:36])
    change = Change("iam:DeleteToken", "token", token_id[:64], {"name": known.name} if known else {})
    if known is None or known.user_id == principal.user_id:
        return change
    return Change("iam:DeleteAnyToken", "token", token_id[:64], change.summary).about(user_id=known.user_id)


# ------------------------------------------------------------------------------------------ requests


def presented_token(x_api_key: str | None, authorization: str | None) -> str:
    """The token a request presents: ``X-API-KEY: <token>`` or ``Authorization: Bearer <token>``."""
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    if authorization:
        token = bearer_of(authorization)
        if token is not None:
            return token
        raise TokenUnauthorized("Send the API token as 'X-API-KEY: <token>' or 'Authorization: Bearer <token>'.")
    raise TokenUnauthorized()


def check_presented(token: str) -> None:
    """Refuse what cannot be a Gatehouse API token (:class:`TokenUnauthorized`) before looking it up."""
    if not token.startswith(API_TOKEN_PREFIX) or len(token) > _MAX_PRESENTED:
        raise TokenUnauthorized("This is not a Gatehouse API token (they start with 'gha_').")


def authenticate(connection: Connection, token: str) -> TokenCaller:
    """Who a presented token acts for, or :class:`TokenUnauthorized` (one indexed query)."""
    check_presented(token)
    owner = store.lookup(connection, hash_token(token), utcnow())
    if owner is None:
        raise TokenUnauthorized("The API token is invalid, expired or revoked, or its user is deactivated.")
    return TokenCaller(
        owner.token_id, owner.token_name, owner.user_id, owner.user_name, owner.last_used_at, owner.expires_at
    )


def record_use(connection: Connection, caller: TokenCaller, ip: str | None, user_agent: str | None) -> None:
    """Write a token's last use (after the response, in its own transaction), when
    :meth:`gatehouse.credentials.LastUseRecorder.due` says so."""
    store.record_use(connection, caller.token_id, utcnow(), ip, user_agent)
