"""Who is calling the admin API: an API token or a dashboard session, checked on every request.

API7 parity (Tokens): a token is sent as ``X-API-KEY: <token>`` (or ``Authorization: Bearer <token>``) and
"has the same permissions" as its user. Here a token carries its user's *current* permissions: the token
and the principal are as the database has them for this request's security epoch (read first, on every
request: :mod:`gatehouse.iam.principal_cache`; named ``alice (token ci)`` in the audit log), so a revoked
or expired token, or one whose user is deactivated or deleted, is refused with 401 at once, in every
process (:func:`~gatehouse.iam.api_tokens.authenticate`). Its last use is
written after the response, at most once a minute (:class:`~gatehouse.credentials.LastUseRecorder`).

The dashboard's session cookie works too (the Swagger UI and the dashboard's own scripts use it). A
session is an ambient credential, so every state-changing request with it must carry the session's CSRF
token in ``X-CSRF-Token`` (403 otherwise). A session whose password must be changed first may only read
``/api/me`` and sign out, as in the dashboard.

No credentials: 401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, Final

from fastapi import BackgroundTasks, Depends, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPBearer
from starlette.requests import Request

from gatehouse.api.context import Api, Caller, api_of
from gatehouse.errors import Forbidden
from gatehouse.iam import api_tokens
from gatehouse.iam.api_tokens import TokenCaller, TokenUnauthorized
from gatehouse.iam.authorizer import Principal, load_principal
from gatehouse.iam.principal_cache import CacheView
from gatehouse.iam.signin import SESSION_COOKIE
from gatehouse.store import sessions
from gatehouse.store.records import utcnow
from gatehouse.store.sessions import SessionUser

CSRF_HEADER: Final = "X-CSRF-Token"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})

api_key_header = APIKeyHeader(
    name="X-API-KEY",
    scheme_name="ApiKey",
    description="A personal API token (`gha_…`, Organization → Tokens or `POST /api/tokens`).",
    auto_error=False,
)
bearer = HTTPBearer(
    scheme_name="Bearer",
    bearerFormat="gha_…",
    description="The same API token as `Authorization: Bearer <token>`.",
    auto_error=False,
)
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="Session",
    description="The dashboard session (`POST /api/auth/sign-in`); state-changing requests also need the "
    f"session's CSRF token in `{CSRF_HEADER}`.",
    auto_error=False,
)


class CsrfRequired(Forbidden):
    """A state-changing request authenticated by the session cookie without the session's CSRF token."""

    default_detail = (
        f"A request signed in with the session cookie must send the session's CSRF token in {CSRF_HEADER} "
        "(it is returned by POST /api/auth/sign-in and GET /api/me)."
    )


class PasswordChangeRequired(Forbidden):
    """The session's user signed in with a one-time password and must choose their own first."""

    default_detail = "Choose a new password first (the dashboard asks for it at /account/password)."


class SessionUnauthorized(TokenUnauthorized):
    """The session cookie is unknown, expired, idle too long, or its user is deactivated or deleted."""

    default_detail = "Your session has ended: sign in again, or send an API token."


def uses_token(request: Request) -> bool:
    """Whether the request presents an API token (then the session cookie, if any, is not read)."""
    return bool(request.headers.get("x-api-key", "").strip() or request.headers.get("authorization"))


def last_use_task(api: Api, request: Request, token: TokenCaller) -> Callable[[], Awaitable[None]] | None:
    """What writes the token's last use after the response, when one is due (at most once a minute)."""
    if not api.last_use.due(token.token_id, token.last_used_at):
        return None
    ip, agent = api.client_ip(request), request.headers.get("user-agent")

    async def record() -> None:
        await api.db.write(lambda c: api_tokens.record_use(c, token, ip, agent))

    return record


def token_caller(view: CacheView, presented: str) -> tuple[TokenCaller, Principal]:
    """The token and the principal it acts as, read through this request's view (one epoch for both); 401 for
    a dead token or a deactivated user."""
    token = view.token(presented)
    principal = view.token_principal(token)
    if not principal.active:  # deactivated between the two statements
        raise TokenUnauthorized("The API token's user is deactivated.")
    return token, principal


async def _by_token(api: Api, request: Request, background: BackgroundTasks) -> Caller:
    presented = api_tokens.presented_token(request.headers.get("x-api-key"), request.headers.get("authorization"))
    token, principal = await api.db.read(lambda c: token_caller(api.principals.view(c), presented))
    record = last_use_task(api, request, token)
    if record is not None:
        background.add_task(record)
    origin = api.origin(request, principal.actor, principal.user_id)
    return Caller(principal, origin, token=token)


async def by_session(api: Api, request: Request, raw: str, *, allow_password_change: bool) -> Caller:
    """The caller signed in with the session cookie ``raw``: 401 when it has ended, 403 without the CSRF
    token on a state-changing request (or before a required password change, unless allowed)."""
    now = utcnow()
    user: SessionUser | None = await api.db.read(lambda c: sessions.lookup(c, raw, now, api.idle))
    if user is None:
        raise SessionUnauthorized()
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent.encode(), user.csrf_token.encode()):
            raise CsrfRequired()
    if user.must_change_password and not allow_password_change:
        raise PasswordChangeRequired()
    if now - user.last_seen >= sessions.TOUCH_INTERVAL:
        await api.db.write(lambda c: sessions.touch(c, user.session_hash, now))
    principal = await api.db.read(lambda c: load_principal(c, user.user_id))
    if not principal.active:
        raise SessionUnauthorized()
    return Caller(principal, api.origin(request, principal.actor, principal.user_id), session=user)


def _caller(*, allow_password_change: bool) -> Callable[..., Awaitable[Caller]]:
    """The dependency that authenticates a request's caller by token or session (see the module); 401, or 403
    for CSRF. ``allow_password_change``: a session that must change its password first is accepted too."""

    async def caller(
        request: Request,
        background: BackgroundTasks,
        api: Annotated[Api, Depends(api_of)],
        _key: Annotated[str | None, Security(api_key_header)] = None,
        _bearer: Annotated[object, Security(bearer)] = None,
        _session: Annotated[str | None, Security(session_cookie)] = None,
    ) -> Caller:
        if uses_token(request):
            return await _by_token(api, request, background)
        raw = request.cookies.get(SESSION_COOKIE)
        if raw:
            return await by_session(api, request, raw, allow_password_change=allow_password_change)
        raise TokenUnauthorized()

    return caller


authenticated = _caller(allow_password_change=False)
"""The caller, authenticated by token or session (see the module); 401, or 403 for CSRF."""
signed_in = _caller(allow_password_change=True)
"""Like :func:`authenticated`, but a session that must change its password first is accepted."""

CallerDep = Annotated[Caller, Depends(authenticated)]
SignedInDep = Annotated[Caller, Depends(signed_in)]
