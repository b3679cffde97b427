"""``GET /authz/forward``: the forward-authentication endpoint a proxy asks before it lets a request through
(nginx ``auth_request``, Caddy ``forward_auth``, Traefik ``ForwardAuth``). A thin adapter over
:mod:`gatehouse.iam.forward_auth`, outside ``/api`` (a proxy asks it, not an API client).

Who: the dashboard session cookie (``gatehouse_session``) or an API token (``Authorization: Bearer`` /
``X-API-KEY``: a ``gha_`` token wins over the cookie), read for this request as the admin API reads them
(the token's hash is looked up, never compared in Python; a revoked, expired or deactivated user's credential
is refused at once, in every process). A state-changing request that a browser marks ``Sec-Fetch-Site:
cross-site`` is refused with the cookie (it is ambient; a token is not).

Answers:

- **200** with ``X-Gatehouse-User``, ``X-Gatehouse-User-Id``, ``X-Gatehouse-Email`` and ``X-Gatehouse-Roles``
  (comma-separated; non-ASCII percent-encoded), which the proxy copies onto the upstream request, replacing
  whatever the client sent under those names;
- **401** without credentials or with dead ones. A browser (``Accept: text/html``) also gets the sign-in URL
  with ``next`` set to the original path and query, in ``Location`` (nginx: ``error_page 401`` to a
  ``return 302`` of it; Caddy: ``handle_response`` with ``redir``) and in a small HTML body; others get the
  API's JSON error with ``WWW-Authenticate: Bearer``;
- **403** denied (the reason in the body); **400** when the proxy's headers do not say what the original
  request was. Never a 5xx for anything a client can send.

Every 401 and 403 is an audit record (source ``gateway``, event the action the request maps to), at most
:data:`DENIALS_PER_SECOND` a second per process (:class:`~gatehouse.iam.forward_auth.DenialLog`). The
record keeps the method and path, never the query string (it may carry secrets).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Final
from urllib.parse import urlencode

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from gatehouse.api.auth import last_use_task
from gatehouse.api.context import Api
from gatehouse.api.errors import error_response
from gatehouse.credentials import bearer_of
from gatehouse.errors import GatehouseError
from gatehouse.iam import api_tokens
from gatehouse.iam.api_tokens import TokenCaller, TokenUnauthorized
from gatehouse.iam.audit import Change, Origin, record_apart
from gatehouse.iam.authorizer import Principal
from gatehouse.iam.forward_auth import DenialLog, Verdict, decide_request, forwarded_target, identity_headers
from gatehouse.iam.gateway_access import active_rules
from gatehouse.iam.gateway_rules import AmbiguousRequest, Target, TargetError
from gatehouse.iam.signin import SESSION_COOKIE
from gatehouse.store import sessions, user_identity
from gatehouse.store.database import Connection
from gatehouse.store.records import utcnow

PATH: Final = "/authz/forward"
DENIALS_PER_SECOND: Final = 20
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_NO_STORE: Final = {"Cache-Control": "no-store"}


@dataclass(frozen=True, slots=True)
class _Seen:
    """What one request's read found: who (``None``: nobody), why not, the verdict and the user's e-mail."""

    principal: Principal | None
    why_not: str
    verdict: Verdict
    email: str | None = None
    token: TokenCaller | None = None
    session: sessions.SessionUser | None = None


class ForwardAuth:
    """The endpoint, bound to the admin API's services (one per app)."""

    def __init__(self, api: Api, denials: DenialLog | None = None) -> None:
        self.api = api
        self.denials = denials or DenialLog(DENIALS_PER_SECOND)

    # -- who --------------------------------------------------------------------------------------

    @staticmethod
    def _token(request: Request) -> str | None:
        key = request.headers.get("x-api-key", "").strip()
        presented = key or bearer_of(request.headers.get("authorization")) or ""
        if presented.startswith(api_tokens.API_TOKEN_PREFIX) or (presented and not request.cookies.get(SESSION_COOKIE)):
            return presented
        return None

    def _work(self, request: Request, target: Target) -> Callable[[Connection], _Seen]:
        """What one request reads, in one transaction: who, then the verdict (and the e-mail to pass on)."""
        presented = self._token(request)
        raw_cookie = request.cookies.get(SESSION_COOKIE)

        def read(connection: Connection) -> _Seen:
            view = self.api.principals.view(connection)  # the epoch first: tokens, principals, rules, labels
            principal: Principal | None = None
            token: TokenCaller | None = None
            session: sessions.SessionUser | None = None
            why_not = "no credentials: sign in, or send an API token"
            if presented is not None:
                try:
                    token = view.token(presented)
                    principal = view.token_principal(token)
                except TokenUnauthorized as exc:
                    why_not = exc.detail
            elif raw_cookie:
                session = sessions.lookup(connection, raw_cookie, utcnow(), self.api.idle)
                if session is None:
                    why_not = "the session has ended: sign in again"
                else:
                    principal = view.principal(session.user_id) or Principal.nobody(session.user_id)
            if principal is not None and not principal.active:
                principal, why_not = None, "the user is deactivated or deleted"
            table = view.whole("forward-auth rules", active_rules)
            verdict = decide_request(connection, principal, target, table, view.labels_of)
            if principal is not None and session is not None:
                refusal = _session_refusal(request, target, session)
                if refusal is not None:
                    verdict = Verdict(False, refusal, verdict.action, verdict.resource, verdict.rule)
            email = None
            if verdict.allowed and principal is not None and principal.user_id:
                found = user_identity.by_id(connection, principal.user_id)
                email = found.email if found else None
            return _Seen(principal, why_not, verdict, email, token, session)

        return read

    # -- the endpoint -----------------------------------------------------------------------------

    async def answer(self, request: Request) -> Response:
        """Decide the proxied request (see the module)."""
        try:
            target = forwarded_target(request.headers)
        except TargetError as exc:
            return error_response(400, exc.detail, headers=_NO_STORE)
        except AmbiguousRequest as exc:
            return await self._denied(request, None, Verdict(False, exc.detail), None, 403)
        try:
            seen = await self.api.db.read(self._work(request, target))
        except GatehouseError as exc:  # a value no rule can use, say: refused, never a 5xx
            return await self._denied(request, None, Verdict(False, exc.detail), target, 403)
        await self._touch(seen)
        if seen.principal is None:
            return await self._denied(request, None, seen.verdict, target, 401, seen.why_not)
        if not seen.verdict.allowed:
            return await self._denied(request, seen.principal, seen.verdict, target, 403)
        headers = {**identity_headers(seen.principal, seen.email), **_NO_STORE}
        return Response(status_code=200, headers=headers, background=self._last_use(request, seen))

    async def _touch(self, seen: _Seen) -> None:
        """A session's last activity, written at most once a minute (as the dashboard does)."""
        session = seen.session
        if session is not None and seen.principal is not None:
            now = utcnow()
            if now - session.last_seen >= sessions.TOUCH_INTERVAL:
                await self.api.db.write(lambda c: sessions.touch(c, session.session_hash, now))

    def _last_use(self, request: Request, seen: _Seen) -> BackgroundTask | None:
        record = None if seen.token is None else last_use_task(self.api, request, seen.token)
        return None if record is None else BackgroundTask(record)

    async def _denied(
        self,
        request: Request,
        principal: Principal | None,
        verdict: Verdict,
        target: Target | None,
        status: int,
        why_not: str | None = None,
    ) -> Response:
        """The refusal (:func:`_refusal`), with its audit record written after it is sent (unless too many
        denials come at once: then a later record counts those left out)."""
        reason = why_not if status == 401 and why_not else verdict.reason
        response = _refusal(request, status, reason, self._sign_in_url(target))
        left_out = self.denials.admit()
        if left_out is None:
            return response
        actor, actor_id = (principal.actor, principal.user_id) if principal is not None else ("anonymous", None)
        origin = Origin("gateway", actor, actor_id, self.api.client_ip(request), request.headers.get("user-agent"))
        summary: dict[str, object] = {"reason": reason[:500]}
        if target is not None:
            summary.update(method=target.method, path=target.path[:500])
            if target.query:
                summary["query_parameters"] = sorted(target.query)[:20]
        if verdict.rule is not None:
            summary["rule"] = verdict.rule.id or f"preset: {verdict.rule.path}"
        if left_out:
            summary["suppressed"] = left_out
        change = Change(verdict.event, "gateway", (verdict.resource or "")[:255] or None, summary)
        response.background = BackgroundTask(record_apart, self.api.db, origin, change, status, reason)
        return response

    def _sign_in_url(self, target: Target | None) -> str:
        base = f"{self.api.settings.public_url.rstrip('/')}/login"
        if target is None:
            return base
        return f"{base}?{urlencode({'next': target.uri})}"


def _refusal(request: Request, status: int, reason: str, sign_in: str) -> Response:
    """A 401 (not signed in: a browser is sent to ``sign_in``) or a 403, as a page for a browser, else as the
    API's error envelope; never stored."""
    browser = "text/html" in request.headers.get("accept", "")
    if status == 401:
        if browser:
            page = (
                f"<!doctype html><title>Sign in</title><p>{escape(_sentence(reason))}</p>"
                f'<p><a href="{escape(sign_in)}">Sign in to continue</a></p>'
            )
            headers = {"Location": sign_in, "WWW-Authenticate": 'Bearer realm="gatehouse"', **_NO_STORE}
            return HTMLResponse(page, status_code=401, headers=headers)
        return error_response(401, f"Not signed in: {_sentence(reason)}", headers=_NO_STORE)
    if browser:
        page = f"<!doctype html><title>Not allowed</title><p>Not allowed: {escape(_sentence(reason))}</p>"
        return HTMLResponse(page, status_code=status, headers=_NO_STORE)
    return error_response(status, f"Not allowed: {_sentence(reason)}", headers=_NO_STORE)


def _session_refusal(request: Request, target: Target, session: sessions.SessionUser) -> str | None:
    """Why a request may not go through on the session cookie alone, if it may not."""
    if session.must_change_password:
        return "the user must choose a new password first (sign in to the dashboard)"
    if target.method not in SAFE_METHODS and request.headers.get("sec-fetch-site", "") == "cross-site":
        return "a cross-site request may not change anything with the session cookie"
    return None


def routes(api: Api) -> list[Route]:
    """The forward-auth route, bound to the admin API's services."""
    endpoint = ForwardAuth(api)
    return [Route(PATH, endpoint.answer, methods=["GET"], name="forward_auth")]


def _sentence(reason: str) -> str:
    """A reason ending in exactly one full stop (some already end in one)."""
    return reason if reason.endswith(".") else reason + "."
